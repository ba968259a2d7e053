//! SimpleRNN, GRU and LSTM against Keras 3 (fixtures from `scripts/make_rnn_fixtures.py`),
//! each written in the DSL and compiled from its `.keras` file, through the harness in
//! `parity/`.

mod parity;

use nn::prelude::*;
use parity::case;

#[allow(clippy::approx_constant, clippy::excessive_precision, dead_code)]
mod fx {
    include!("fixtures/rnn_layers.rs");
}

/// Where `case!` and `fixture!` find the fixture files: `tests/fixtures/keras/<DIR>/`.
const DIR: &str = "rnn";

case!(simple_rnn, "tests/fixtures/keras/rnn/simple_rnn.keras", Input<6, 3>, SimpleRNN<5>);
case!(
    simple_rnn_seq_relu,
    "tests/fixtures/keras/rnn/simple_rnn_seq_relu.keras",
    Input<6, 3>,
    SimpleRNN<4, relu, return_sequences = true>
);
case!(gru, "tests/fixtures/keras/rnn/gru.keras", Input<6, 3>, GRU<5>);
case!(gru_reset_before, "tests/fixtures/keras/rnn/gru_reset_before.keras", Input<6, 3>, GRU<4, reset_after = false>);
case!(
    gru_backwards_seq,
    "tests/fixtures/keras/rnn/gru_backwards_seq.keras",
    Input<6, 3>,
    GRU<4, go_backwards = true, return_sequences = true>
);
case!(gru_no_bias, "tests/fixtures/keras/rnn/gru_no_bias.keras", Input<6, 3>, GRU<3, use_bias = false>);
case!(
    gru_activations,
    "tests/fixtures/keras/rnn/gru_activations.keras",
    Input<6, 3>,
    GRU<4, relu, recurrent_activation = hard_sigmoid>
);
case!(lstm, "tests/fixtures/keras/rnn/lstm.keras", Input<6, 3>, LSTM<5>);
case!(
    lstm_stacked,
    "tests/fixtures/keras/rnn/lstm_stacked.keras",
    Input<6, 3>,
    LSTM<6, return_sequences = true>,
    LSTM<3>
);
case!(
    lstm_activations,
    "tests/fixtures/keras/rnn/lstm_activations.keras",
    Input<6, 3>,
    LSTM<4, relu, recurrent_activation = hard_sigmoid>
);
case!(lstm_backwards, "tests/fixtures/keras/rnn/lstm_backwards.keras", Input<6, 3>, LSTM<4, go_backwards = true>);
// Keras's generic `RNN(GRUCell(4), ...)`: the same layers, under Keras's class `RNN`.
case!(
    rnn_over_cells,
    "tests/fixtures/keras/rnn/rnn_over_cells.keras",
    Input<6, 3>,
    RNN<GRUCell<4>, return_sequences = true>,
    RNN<LSTMCell<3>, go_backwards = true>
);
// Keras's `RNN(StackedRNNCells([...]))`: each cell's layer feeding the next; the cells keep
// Keras's names (a stack's weights are `rnn/stacked_rnn_cells/gru_cell_1/kernel`).
case!(
    stacked_cells,
    "tests/fixtures/keras/rnn/stacked_cells.keras",
    Input<6, 3>,
    RNN<StackedRNNCells<GRUCell<4>, LSTMCell<2>, GRUCell<3>>, return_sequences = true>,
    RNN<stacked_rnn_cells_1: StackedRNNCells<SimpleRNNCell<3>, gru_cell_2: GRUCell<2>>, go_backwards = true>
);
// ConvLSTM1D: an LSTM over steps of rows whose gates are convolutions over the rows.
case!(
    conv_lstm1d,
    "tests/fixtures/keras/rnn/conv_lstm1d.keras",
    Input<4, 7, 2>,
    ConvLSTM1D<3, 3, padding = same, return_sequences = true>,
    ConvLSTM1D<2, 2, strides = 2, go_backwards = true, recurrent_activation = hard_sigmoid>
);
// ConvLSTM2D over steps of images, and ConvLSTM3D over steps of volumes.
case!(
    conv_lstm2d,
    "tests/fixtures/keras/rnn/conv_lstm2d.keras",
    Input<3, 5, 6, 2>,
    ConvLSTM2D<3, (3, 2), padding = same, return_sequences = true>,
    ConvLSTM2D<2, 2, dilation_rate = (1, 2), go_backwards = true, use_bias = false, activation = relu>
);
case!(
    conv_lstm3d,
    "tests/fixtures/keras/rnn/conv_lstm3d.keras",
    Input<3, 4, 5, 4, 2>,
    ConvLSTM3D<2, (2, 3, 2), strides = (2, 1, 2), padding = same>
);
case!(
    lstm_no_bias_seq,
    "tests/fixtures/keras/rnn/lstm_no_bias_seq.keras",
    Input<6, 3>,
    LSTM<3, use_bias = false, return_sequences = true>
);
case!(
    bidirectional_concat,
    "tests/fixtures/keras/rnn/bidirectional_concat.keras",
    Input<6, 3>,
    Bidirectional<GRU<4, return_sequences = true>>
);
case!(
    bidirectional_sum,
    "tests/fixtures/keras/rnn/bidirectional_sum.keras",
    Input<6, 3>,
    Bidirectional<GRU<4, return_sequences = true>, merge_mode = sum>
);
case!(
    bidirectional_mul,
    "tests/fixtures/keras/rnn/bidirectional_mul.keras",
    Input<6, 3>,
    Bidirectional<GRU<4, return_sequences = true>, merge_mode = mul>
);
case!(
    bidirectional_ave,
    "tests/fixtures/keras/rnn/bidirectional_ave.keras",
    Input<6, 3>,
    Bidirectional<GRU<4, return_sequences = true>, merge_mode = ave>
);
case!(bidirectional_lstm, "tests/fixtures/keras/rnn/bidirectional_lstm.keras", Input<6, 3>, Bidirectional<LSTM<3>>);
case!(
    time_distributed_dense,
    "tests/fixtures/keras/rnn/time_distributed_dense.keras",
    Input<5, 4>,
    TimeDistributed<Dense<3, tanh>>
);
case!(
    time_distributed_conv1d,
    "tests/fixtures/keras/rnn/time_distributed_conv1d.keras",
    Input<4, 10, 2>,
    TimeDistributed<Conv1D<3, 3, relu>>,
    TimeDistributed<GlobalAveragePooling1D>,
    GRU<5>
);
case!(
    bidirectional_stacked,
    "tests/fixtures/keras/rnn/bidirectional_stacked.keras",
    Input<6, 3>,
    Bidirectional<SimpleRNN<4, return_sequences = true>, merge_mode = sum>,
    Bidirectional<LSTM<2>>
);
case!(gru_bench, "tests/fixtures/keras/rnn/gru_bench.keras", Input<16, 8>, GRU<32>, Dense<1>);
case!(
    stream_model,
    "tests/fixtures/keras/rnn/stream_model.keras",
    Input<20, 1>,
    Dense<8, tanh>,
    Conv1D<4, 3, padding = causal, dilation_rate = 2, tanh>,
    GRU<8, return_sequences = true>,
    Dense<1>
);

mod gru_return_state {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<6, 3>;
            (sequence, h) = gru: GRU<4, return_sequences = true, return_state = true>(x);
            -> (sequence, h);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/rnn/gru_return_state.keras"; }

    #[test]
    fn matches_keras() {
        parity::check::<Dsl, Keras>(&Keras::KERAS, &parity::fixture!(gru_return_state, [X0], [Y0, Y1]));
    }

    #[test]
    fn the_final_state_is_the_last_step_of_the_sequence() {
        let model = Dsl::boxed_seeded(4);
        let x = Tensor2::<f32, 6, 3>::from_slice(&[0.5; 18]);
        let (sequence, h) = model.predict(&x);
        assert_eq!(sequence.step(5).as_slice(), h.as_slice());
    }
}

mod lstm_return_state {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<6, 3>;
            (out, h, c) = lstm: LSTM<4, return_state = true>(x);
            -> (out, h, c);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/rnn/lstm_return_state.keras"; }

    #[test]
    fn matches_keras() {
        parity::check::<Dsl, Keras>(&Keras::KERAS, &parity::fixture!(lstm_return_state, [X0], [Y0, Y1, Y2]));
    }
}

mod lstm_seq2seq {
    use super::*;
    functional! {
        /// An encoder's final states as the decoder's initial state.
        pub struct Dsl {
            encoder_input = Input<6, 3>;
            decoder_input = Input<4, 2>;
            (_sequence, h, c) = lstm: LSTM<5, return_state = true>(encoder_input);
            decoded = lstm_1: LSTM<5, return_sequences = true>(decoder_input, h, c);
            y = dense: Dense<2>(decoded);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/rnn/lstm_seq2seq.keras"; }

    #[test]
    fn matches_keras() {
        parity::check::<Dsl, Keras>(&Keras::KERAS, &parity::fixture!(lstm_seq2seq, [X0, X1]));
    }
}

mod gru_initial_state {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<6, 3>;
            (_sequence, h) = gru: GRU<4, return_state = true>(x);
            y = gru_1: GRU<4, go_backwards = true>(x, h);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/rnn/gru_initial_state.keras"; }

    #[test]
    fn matches_keras() {
        parity::check::<Dsl, Keras>(&Keras::KERAS, &parity::fixture!(gru_initial_state, [X0]));
    }
}

/// Keras's stateful GRU fed three chunks of 5 steps without a reset (the state carried from one
/// call to the next) gives what one pass over the 15 steps gives.
#[test]
fn a_stateful_keras_gru_fed_in_chunks_is_one_pass_over_the_whole_sequence() {
    sequential! { struct Whole { Input<15, 3>, GRU<6, return_sequences = true>, Dense<2> } }
    let mut model = Whole::boxed_zeros();
    let weights: Vec<f32> = fx::gru_stateful::FLAT_WEIGHTS.iter().map(|v| *v as f32).collect();
    model.load_params(&weights).unwrap();
    for (x, want) in fx::gru_stateful::X0.iter().zip(fx::gru_stateful::Y) {
        let x: Vec<f32> = x.iter().map(|v| *v as f32).collect();
        let mut y = [0.0f32; 30];
        model.predict_flat(&[&x], &mut [&mut y]).unwrap();
        let worst = y.iter().zip(*want).map(|(g, w)| (*g as f64 - w).abs()).fold(0.0, f64::max);
        assert!(worst <= 1e-5, "{worst}");
    }
}

sequential! {
    /// The streaming model of the fixtures, stepped.
    #[stream]
    struct Streamed {
        Input<20, 1>,
        Dense<8, tanh>,
        Conv1D<4, 3, padding = causal, dilation_rate = 2, tanh>,
        GRU<8, return_sequences = true>,
        Dense<1>,
    }
}

#[test]
fn stepping_gives_what_predict_gives_for_the_whole_sequence() {
    let mut model = Streamed::boxed_zeros();
    let weights: Vec<f32> = fx::stream_model::FLAT_WEIGHTS.iter().map(|v| *v as f32).collect();
    model.load_params(&weights).unwrap();
    let mut state = StreamedState::ZEROS;
    for (x, want) in fx::stream_model::X0.iter().zip(fx::stream_model::Y) {
        state.reset();
        let x = Tensor2::<f32, 20, 1>::from_slice(&x.iter().map(|v| *v as f32).collect::<Vec<_>>());
        let whole = model.predict(&x);
        for t in 0..20 {
            let y = model.step(&mut state, &SVector::from([x.as_slice()[t]]));
            assert!((y[0] as f64 - want[t]).abs() <= 1e-5, "step {t}: {} vs Keras {}", y[0], want[t]);
            assert!((y[0] - whole.as_slice()[t]).abs() <= 1e-6, "step {t}: step and predict differ");
        }
    }
}

sequential! {
    /// The stateful GRU's model, stepped.
    #[stream]
    struct StatefulGru { Input<15, 3>, GRU<6, return_sequences = true>, Dense<2> }
}

/// Keras's `stateful=True` GRU fed in chunks of 5 steps, reproduced step by step.
#[test]
fn stepping_reproduces_a_stateful_keras_gru_fed_in_chunks() {
    let mut model = StatefulGru::boxed_zeros();
    let weights: Vec<f32> = fx::gru_stateful::FLAT_WEIGHTS.iter().map(|v| *v as f32).collect();
    model.load_params(&weights).unwrap();
    for (x, want) in fx::gru_stateful::X0.iter().zip(fx::gru_stateful::Y) {
        let mut state = StatefulGruState::ZEROS;
        for t in 0..15 {
            let step = SVector::<f32, 3>::from_fn(|i, _| x[t * 3 + i] as f32);
            let y = model.step(&mut state, &step);
            for (g, w) in y.iter().zip(&want[t * 2..t * 2 + 2]) {
                assert!((*g as f64 - w).abs() <= 1e-5, "step {t}: {g} vs {w}");
            }
        }
    }
}

sequential! {
    /// The TimeDistributed fixture's model, stepped: each step is one call of its Dense.
    #[stream]
    struct SteppedTimeDistributed { Input<5, 4>, TimeDistributed<Dense<3, tanh>> }
}

#[test]
fn a_time_distributed_layer_steps_as_its_layer() {
    let mut model = SteppedTimeDistributed::boxed_zeros();
    let weights: Vec<f32> = fx::time_distributed_dense::FLAT_WEIGHTS.iter().map(|v| *v as f32).collect();
    model.load_params(&weights).unwrap();
    for (x, want) in fx::time_distributed_dense::X0.iter().zip(fx::time_distributed_dense::Y) {
        let mut state = SteppedTimeDistributedState::ZEROS;
        for t in 0..5 {
            let y = model.step(&mut state, &SVector::<f32, 4>::from_fn(|i, _| x[t * 4 + i] as f32));
            for (g, w) in y.iter().zip(&want[t * 3..t * 3 + 3]) {
                assert!((*g as f64 - w).abs() <= 1e-5, "step {t}: {g} vs Keras {w}");
            }
        }
    }
}

functional! {
    /// The final states of an encoder as inputs of other layers; the cell state unused.
    struct Encoder {
        x = Input<5, 2>;
        (sequence, h, _) = encoder: LSTM<3, return_sequences = true, return_state = true>(x);
        last = GlobalAveragePooling1D(sequence);
        both = Concatenate(last, h);
        y = Dense<1>(both);
    }
}

#[test]
fn final_states_feed_other_layers_and_show_their_tensor_in_the_summary() {
    let model = Encoder::boxed_seeded(5);
    let x = Tensor2::<f32, 5, 2>::from_slice(&[0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 1.0]);
    let sequence = model.encoder.forward(&x);
    let mut mean = [0.0f32; 3];
    for t in 0..5 {
        for (m, v) in mean.iter_mut().zip(sequence.step(t).iter()) {
            *m += v / 5.0;
        }
    }
    let h = sequence.step(4);
    let both: Vec<f32> = mean.iter().chain(h.iter()).copied().collect();
    let want = model.dense.kernel * SVector::<f32, 6>::from_column_slice(&both) + model.dense.bias;
    assert!((model.predict(&x) - want).amax() < 1e-6);
    let concatenate = Encoder::LAYERS.iter().find(|l| l.class == "Concatenate").unwrap();
    assert_eq!(concatenate.inbound, ["global_average_pooling1d[0][0]", "encoder[0][1]"]);
}

sequential! {
    /// Kernels too large for L1 together: `step` alternates the order of its products.
    #[stream]
    struct WideGru { Input<12, 64>, GRU<64, return_sequences = true> }
}

#[test]
fn stepping_a_wide_gru_gives_what_predict_gives() {
    let model = WideGru::boxed_seeded(6);
    let x = Tensor2::<f32, 12, 64>::from_slice(&std::array::from_fn::<f32, 768, _>(|i| {
        ((i * 29) % 23) as f32 / 23.0 - 0.5
    }));
    let whole = model.predict(&x);
    let mut state = WideGruState::ZEROS;
    for t in 0..12 {
        let y = model.step(&mut state, &x.step(t).into_owned());
        let want = whole.step(t);
        assert!((y - want).amax() <= 1e-6, "step {t}: {}", (y - want).amax());
    }
}
