//! `nn_dsl::inspect`, the run-time reading behind `nn inspect`, against the models
//! `keras_model!` compiles from the same files: the same summary table, character for character
//! (layer classes, output shapes, further outputs, parameter counts, non-trainable weights,
//! connections), over chains, graphs, shared and nested models, frozen statistics and states;
//! and the same picture (`nn plot`'s against `plot_svg()`).

use nn::Model;

/// `model`'s summary, compiled by `keras_model!` from `path`, against `nn_dsl::inspect`'s.
fn same_summary<M: Model>(model: &M, path: &str) {
    let bytes = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    let report = nn_dsl::inspect::keras_archive(&bytes).unwrap();
    assert!(report.supported(), "{:?}", report.errors);
    // The compiled model's summary names it by its Rust type's name.
    let want = model.summary().to_string().replacen(M::NAME, &report.name, 1);
    assert_eq!(report.summary(4), want);
    let title = |name: &str| format!("<title>{name}</title>");
    let picture = model.plot_svg().replacen(&title(M::NAME), &title(&report.name), 1);
    assert_eq!(report.plot_svg().as_deref(), Some(picture.as_str()));
}

mod xor {
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/xor.keras"; }

    #[test]
    fn same_summary() {
        super::same_summary(&Keras::KERAS, "tests/fixtures/keras/xor.keras");
    }
}

mod residual {
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/residual.keras"; }

    #[test]
    fn same_summary() {
        super::same_summary(&Keras::KERAS, "tests/fixtures/keras/residual.keras");
    }
}

mod siamese {
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/siamese.keras"; }

    #[test]
    fn same_summary() {
        super::same_summary(&Keras::KERAS, "tests/fixtures/keras/siamese.keras");
    }
}

mod multi_io {
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/multi_io.keras"; }

    #[test]
    fn same_summary() {
        super::same_summary(&Keras::KERAS, "tests/fixtures/keras/multi_io.keras");
    }
}

mod batch_norm {
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/norm/dense_bn_mlp.keras"; }

    #[test]
    fn same_summary() {
        super::same_summary(&Keras::KERAS, "tests/fixtures/keras/norm/dense_bn_mlp.keras");
    }
}

mod normalization_adapted {
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/norm/normalization_adapted.keras"; }

    #[test]
    fn same_summary() {
        super::same_summary(&Keras::KERAS, "tests/fixtures/keras/norm/normalization_adapted.keras");
    }
}

mod nested_autoencoder {
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/nested_autoencoder.keras"; }

    #[test]
    fn same_summary() {
        super::same_summary(&Keras::KERAS, "tests/fixtures/keras/tensor/nested_autoencoder.keras");
    }
}

mod nested_siamese {
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/nested_siamese.keras"; }

    #[test]
    fn same_summary() {
        super::same_summary(&Keras::KERAS, "tests/fixtures/keras/tensor/nested_siamese.keras");
    }
}

mod lstm_return_state {
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/rnn/lstm_return_state.keras"; }

    #[test]
    fn same_summary() {
        super::same_summary(&Keras::KERAS, "tests/fixtures/keras/rnn/lstm_return_state.keras");
    }
}

mod bidirectional {
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/rnn/bidirectional_lstm.keras"; }

    #[test]
    fn same_summary() {
        super::same_summary(&Keras::KERAS, "tests/fixtures/keras/rnn/bidirectional_lstm.keras");
    }
}

mod attention_scores {
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/attention_scores.keras"; }

    #[test]
    fn same_summary() {
        super::same_summary(&Keras::KERAS, "tests/fixtures/keras/tensor/attention_scores.keras");
    }
}

#[test]
fn an_unsupported_layer_is_reported_in_the_macros_words() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keras/unsupported.keras"))
        .unwrap();
    let report = nn_dsl::inspect::keras_archive(&bytes).unwrap();
    assert_eq!(
        report.errors,
        ["layer `spectral_normalization`: Keras layer `SpectralNormalization` is not supported by nn yet"]
    );
}

#[test]
fn bytes_that_are_no_archive_are_an_error() {
    let why = nn_dsl::inspect::keras_archive(b"not a zip archive").unwrap_err();
    assert!(why.contains("not a zip file"), "{why}");
}

/// Multiply-accumulates and activation values per sample, counted by hand.
#[test]
fn costs_match_a_hand_count() {
    let costs = |path: &str| {
        let bytes = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
        let report = nn_dsl::inspect::keras_archive(&bytes).unwrap();
        let costs = report.costs.unwrap();
        // The rows' counts add up to the model's.
        assert_eq!(report.layers.iter().map(|l| l.macs).sum::<usize>(), costs.macs, "{path}");
        (costs.macs, costs.values)
    };
    // Dense 2 → 8 → 1: 2·8 + 8·1; values 8 + 1.
    assert_eq!(costs("tests/fixtures/keras/xor.keras"), (24, 9));
    // Dense 4 → 8 → 4, Add, Dense 2: 32 + 32 + 8; values 8 + 4 + 4 + 2.
    assert_eq!(costs("tests/fixtures/keras/residual.keras"), (72, 18));
    // Conv2D 4 3×3 valid over 5×6×2 (3×4×4 outputs, 9 taps of 2 channels each), then
    // BatchNormalization (no product); values 48 + 48.
    assert_eq!(costs("tests/fixtures/keras/norm/batch_norm_conv2d.keras"), (864, 96));
    // A tower (Dense 4 → 3) called on two inputs, Concatenate, Dense 6 → 1: 2·12 + 6; values
    // per call the tower's own Dense output and the call's (6 each), 6 concatenated, 1.
    assert_eq!(costs("tests/fixtures/keras/tensor/nested_siamese.keras"), (30, 19));
    // LSTM(4) over 6 steps of 3 with its states: 6·(3 + 4)·16; values h, h and c.
    assert_eq!(costs("tests/fixtures/keras/rnn/lstm_return_state.keras"), (672, 12));
    // Dot attention of 3 queries over 5 values of 4 features: 3·5·(4 + 4); values 3·4.
    assert_eq!(costs("tests/fixtures/keras/tensor/attention_dot.keras"), (120, 12));
}
