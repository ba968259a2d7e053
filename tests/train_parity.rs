//! Keras parity of training: from Keras's initial weights and batches (`fit` with
//! `shuffle=False`), the weights after every step of two epochs, the running logs after every
//! step, each epoch's logs (validation included), `evaluate` and `predict` afterwards all
//! match Keras 3 to 1e-5 in f32. Fixtures: `scripts/make_train_fixtures.py`.

use nn::prelude::*;
use nn::train::loss::{
    BinaryCrossentropy, CategoricalCrossentropy, Huber, KLDivergence, LogCosh, LossFunction,
    MeanAbsoluteError, MeanSquaredError, SparseCategoricalCrossentropy,
};
use nn::train::optimizer::{Adagrad, Adam, AdamW, Optimizer, RMSprop, SGD};
use nn::train::schedule::LearningRate;
use nn::train::{Callback, Compile, Control, Fit, Logs, Losses, Trainable, Verbosity};

#[allow(dead_code, clippy::approx_constant, clippy::excessive_precision)]
mod fx {
    include!("fixtures/train.rs");
}

const TOLERANCE: f64 = 1e-5;

/// One fixture's data.
struct Case {
    name: &'static str,
    weights: &'static [(&'static str, &'static [usize])],
    flat_weights: &'static [f64],
    x: &'static [&'static [f64]],
    y: &'static [&'static [f64]],
    x_val: &'static [&'static [f64]],
    y_val: &'static [&'static [f64]],
    batch_size: usize,
    epochs: usize,
    step_weights: &'static [&'static [f64]],
    batch_logs: &'static [&'static [(&'static str, f64)]],
    epoch_logs: &'static [&'static [(&'static str, f64)]],
    evaluate: &'static [(&'static str, f64)],
    predict: &'static [&'static [f64]],
}

macro_rules! case {
    ($m:ident) => {
        Case {
            name: stringify!($m),
            weights: fx::$m::WEIGHTS,
            flat_weights: fx::$m::FLAT_WEIGHTS,
            x: fx::$m::X,
            y: fx::$m::Y,
            x_val: fx::$m::X_VAL,
            y_val: fx::$m::Y_VAL,
            batch_size: fx::$m::BATCH_SIZE,
            epochs: fx::$m::EPOCHS,
            step_weights: fx::$m::STEP_WEIGHTS,
            batch_logs: fx::$m::BATCH_LOGS,
            epoch_logs: fx::$m::EPOCH_LOGS,
            evaluate: fx::$m::EVALUATE,
            predict: fx::$m::PREDICT,
        }
    };
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|x| *x as f32).collect()
}

/// Keeps the weights and the running logs after every step.
struct Recorder {
    weights: Vec<Vec<f32>>,
    logs: Vec<Logs>,
}

impl<M: Model<Scalar = f32>> Callback<M> for Recorder {
    fn on_epoch_end(&mut self, _: usize, _: &Logs, _: &mut M) -> Control {
        Control::Continue
    }
    fn on_train_batch_end(&mut self, _: usize, logs: &dyn Fn() -> Logs, model: &M) {
        let mut w = vec![0.0; M::PARAMS];
        model.save_params(&mut w).unwrap();
        self.weights.push(w);
        self.logs.push(logs());
    }
}

/// Every logged value of `want` is in `got`, within tolerance (relative above 1).
fn compare_logs(what: &str, got: &Logs, want: &[(&str, f64)]) {
    for (name, value) in want {
        let found = got.get(name).unwrap_or_else(|| panic!("{what}: `{name}` not logged; logged {got}"));
        assert!(
            (found - value).abs() <= TOLERANCE * value.abs().max(1.0),
            "{what}: `{name}` is {found}, Keras {value}"
        );
    }
    assert_eq!(got.0.len(), want.len(), "{what}: logged {got}, Keras {want:?}");
}

fn max_error(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter().zip(want).map(|(g, w)| (*g as f64 - w).abs()).fold(0.0, f64::max)
}

/// Trains `model` on the case as Keras did and checks everything Keras recorded.
fn check<M, O>(
    case: Case,
    model: &mut M,
    optimizer: O,
    losses: Losses,
    metrics: &[&[&str]],
    loss_weights: &[f64],
) where
    M: Trainable<Scalar = f32> + nn::Zeroable,
    O: Optimizer,
{
    let mut names = Vec::new();
    model.visit_weights(&mut |layer, w| names.push(format!("{layer}/{}", w.name)));
    let keras: Vec<String> = case.weights.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(names, keras, "{}: weight order", case.name);
    model.load_params(&f32s(case.flat_weights)).unwrap();

    let mut trainer = model.compile(optimizer, losses).unwrap();
    for (k, m) in metrics.iter().enumerate() {
        trainer = trainer.output_metrics(k, m).unwrap();
    }
    if !loss_weights.is_empty() {
        trainer = trainer.loss_weights(loss_weights).unwrap();
    }
    let (x, y): (Vec<Vec<f32>>, Vec<Vec<f32>>) =
        (case.x.iter().map(|v| f32s(v)).collect(), case.y.iter().map(|v| f32s(v)).collect());
    let (x, y): (Vec<&[f32]>, Vec<&[f32]>) =
        (x.iter().map(Vec::as_slice).collect(), y.iter().map(Vec::as_slice).collect());
    let options = Fit {
        epochs: case.epochs,
        batch_size: case.batch_size,
        shuffle: false,
        verbose: Verbosity::Silent,
        ..Fit::default()
    };
    let mut recorder = Recorder { weights: Vec::new(), logs: Vec::new() };
    let validated = !case.x_val.is_empty() && !case.x_val[0].is_empty();
    let history = if validated {
        let vx: Vec<Vec<f32>> = case.x_val.iter().map(|v| f32s(v)).collect();
        let vy: Vec<Vec<f32>> = case.y_val.iter().map(|v| f32s(v)).collect();
        let (vx, vy): (Vec<&[f32]>, Vec<&[f32]>) =
            (vx.iter().map(Vec::as_slice).collect(), vy.iter().map(Vec::as_slice).collect());
        trainer.fit_flat_validated((&x, &y), (&vx, &vy), options, &mut [&mut recorder]).unwrap()
    } else {
        trainer.fit_flat(&x, &y, options, &mut [&mut recorder]).unwrap()
    };

    assert_eq!(recorder.weights.len(), case.step_weights.len(), "{}: steps", case.name);
    for (step, (got, want)) in recorder.weights.iter().zip(case.step_weights).enumerate() {
        let error = max_error(got, want);
        assert!(error <= TOLERANCE, "{}: weights after step {step} are {error:e} from Keras's", case.name);
    }
    for (step, (got, want)) in recorder.logs.iter().zip(case.batch_logs).enumerate() {
        compare_logs(&format!("{}: step {step}", case.name), got, want);
    }
    for (epoch, (got, want)) in history.epochs.iter().zip(case.epoch_logs).enumerate() {
        compare_logs(&format!("{}: epoch {epoch}", case.name), got, want);
    }
    let evaluated = trainer.evaluate_flat(&x, &y, case.batch_size).unwrap();
    compare_logs(&format!("{}: evaluate", case.name), &evaluated, case.evaluate);

    let mut outputs: Vec<Vec<f32>> = case.predict.iter().map(|p| vec![0.0; p.len()]).collect();
    let mut outs: Vec<&mut [f32]> = outputs.iter_mut().map(Vec::as_mut_slice).collect();
    trainer.model().predict_flat_batch(&x, &mut outs).unwrap();
    for (got, want) in outputs.iter().zip(case.predict) {
        let error = max_error(got, want);
        assert!(error <= TOLERANCE, "{}: predict is {error:e} from Keras's", case.name);
    }
}

fn loss(l: impl Into<LossFunction>) -> Losses {
    l.into().into()
}

sequential! { struct ReluSoftmax { Input<4>, Dense<8, relu>, Dense<3, softmax> } }
sequential! { struct ReluLogits { Input<4>, Dense<8, relu>, Dense<3> } }
sequential! { struct TanhSigmoid { Input<4>, Dense<8, tanh>, Dense<1, sigmoid> } }
sequential! { struct GeluLinear { Input<4>, Dense<8, gelu>, Dense<2> } }
sequential! { struct EluLinear { Input<4>, Dense<8, elu>, Dense<2> } }
sequential! { struct SiluSoftmax { Input<4>, Dense<8, silu>, Dense<3, softmax> } }
sequential! { struct ReluLinear { Input<4>, Dense<8, relu>, Dense<2> } }
sequential! { struct Frozen { Input<4>, frozen: Dense<8, relu, trainable = false>, Dense<1> } }
sequential! { struct Softmax3 { Input<4>, Dense<3, softmax> } }
sequential! { struct Linear2 { Input<4>, Dense<2> } }

functional! {
    struct SharedTwoOutputs {
        a = Input<4>;
        b = Input<4>;
        shared = Dense<6, relu>;
        ha = shared(a);
        hb = shared(b);
        s = Subtract(ha, hb);
        m = Multiply(ha, hb);
        c = Concatenate(s, m);
        regress = Dense<1>;
        out1 = regress(c);
        sum = Add(ha, hb);
        classify = Dense<1, sigmoid>;
        out2 = classify(sum);
        -> (out1, out2);
    }
}

functional! {
    struct Residual {
        x = Input<6>;
        h = Dense<6, relu>(x);
        r = Add(x, h);
        dense_2 = Dense<6>;
        inner = dense_2(r);
        avg = Average(r, inner);
        dense_1 = Dense<2, softmax>;
        y = dense_1(avg);
    }
}

#[test]
fn sgd_with_momentum_on_an_mlp_with_categorical_crossentropy() {
    let sgd = SGD::new(0.1).momentum(0.9);
    check(
        case!(mlp_sgd_momentum),
        &mut *ReluSoftmax::boxed_zeros(),
        sgd,
        loss(CategoricalCrossentropy::DEFAULT),
        &[&["accuracy"]],
        &[],
    );
}

#[test]
fn sgd_with_nesterov_and_smoothed_crossentropy_from_logits() {
    let sgd = SGD::new(0.05).momentum(0.9).nesterov(true);
    let cce = CategoricalCrossentropy::DEFAULT.from_logits(true).label_smoothing(0.1);
    check(case!(mlp_sgd_nesterov), &mut *ReluLogits::boxed_zeros(), sgd, loss(cce), &[&["accuracy"]], &[]);
}

#[test]
fn adam_with_binary_crossentropy() {
    check(
        case!(mlp_adam_binary),
        &mut *TanhSigmoid::boxed_zeros(),
        Adam::new(0.01),
        loss(BinaryCrossentropy::DEFAULT),
        &[&["accuracy"]],
        &[],
    );
}

#[test]
fn adamw_with_squared_error_and_mae() {
    let adamw = AdamW::new(0.01).weight_decay(0.01);
    check(
        case!(mlp_adamw_mse),
        &mut *GeluLinear::boxed_zeros(),
        adamw,
        loss(MeanSquaredError),
        &[&["mae"]],
        &[],
    );
}

#[test]
fn centered_rmsprop_with_momentum_and_huber() {
    let rms = RMSprop::new(0.005).momentum(0.5).centered(true);
    check(
        case!(mlp_rmsprop_huber),
        &mut *EluLinear::boxed_zeros(),
        rms,
        loss(Huber::DEFAULT.delta(0.5)),
        &[],
        &[],
    );
}

#[test]
fn amsgrad_with_sparse_categorical_crossentropy() {
    let adam = Adam::new(0.01).amsgrad(true);
    check(
        case!(mlp_adam_amsgrad_sparse),
        &mut *SiluSoftmax::boxed_zeros(),
        adam,
        loss(SparseCategoricalCrossentropy::DEFAULT),
        &[&["accuracy"]],
        &[],
    );
}

#[test]
fn an_exponential_decay_schedule_with_global_clipnorm() {
    let sgd = SGD::new(LearningRate::exponential_decay(0.1, 2.0, 0.5)).global_clipnorm(0.5);
    check(
        case!(mlp_schedule_global_clipnorm),
        &mut *ReluLinear::boxed_zeros(),
        sgd,
        loss(MeanSquaredError),
        &[],
        &[],
    );
}

#[test]
fn a_cosine_decay_schedule_with_clipnorm_and_absolute_error() {
    let adam = Adam::new(LearningRate::cosine_decay(0.01, 6.0)).clipnorm(0.1);
    check(
        case!(mlp_cosine_clipnorm),
        &mut *ReluLinear::boxed_zeros(),
        adam,
        loss(MeanAbsoluteError),
        &[],
        &[],
    );
}

#[test]
fn a_frozen_layer_counts_as_not_trainable_in_the_summary() {
    assert_eq!(<Frozen as Model>::NON_TRAINABLE, 40);
    let summary = Frozen::zeros().summary().to_string();
    assert!(summary.contains("Trainable params: 9 (36.00 B)"), "{summary}");
    assert!(summary.contains("Non-trainable params: 40 (160.00 B)"), "{summary}");
}

#[test]
fn a_frozen_layer_keeps_its_weights() {
    check(case!(mlp_frozen), &mut *Frozen::boxed_zeros(), Adam::new(0.01), loss(MeanSquaredError), &[], &[]);
}

#[test]
fn a_shared_layer_and_two_weighted_outputs() {
    let losses: Losses = [MeanSquaredError.into(), BinaryCrossentropy::DEFAULT.into()].into();
    check(
        case!(functional_shared_two_outputs),
        &mut *SharedTwoOutputs::boxed_zeros(),
        Adam::new(0.01),
        losses,
        &[&[], &["accuracy"]],
        &[1.0, 0.5],
    );
}

#[test]
fn a_residual_graph_with_validation_data() {
    check(
        case!(residual_rmsprop),
        &mut *Residual::boxed_zeros(),
        RMSprop::new(0.01),
        loss(CategoricalCrossentropy::DEFAULT),
        &[&["accuracy"]],
        &[],
    );
}

#[test]
fn kl_divergence_with_plain_sgd() {
    check(case!(kld_sgd), &mut *Softmax3::boxed_zeros(), SGD::new(0.1), loss(KLDivergence), &[], &[]);
}

#[test]
fn log_cosh_with_adagrad() {
    check(case!(logcosh_adagrad), &mut *Linear2::boxed_zeros(), Adagrad::new(0.1), loss(LogCosh), &[], &[]);
}

#[test]
fn a_last_batch_smaller_than_the_others_weighs_by_its_size() {
    check(
        case!(mlp_partial_batch),
        &mut *ReluSoftmax::boxed_zeros(),
        Adam::new(0.01),
        loss(CategoricalCrossentropy::DEFAULT),
        &[&["accuracy"]],
        &[],
    );
}

sequential! { struct EmbeddingText { Input<6>, Embedding<20, 4>, GlobalAveragePooling1D, Dense<1, sigmoid> } }

#[test]
fn an_embedding_model_with_repeated_ids() {
    check(
        case!(embedding_text),
        &mut *EmbeddingText::boxed_zeros(),
        Adam::new(0.01),
        loss(BinaryCrossentropy::DEFAULT),
        &[&["accuracy"]],
        &[],
    );
}

sequential! {
    struct CnnBnPool {
        Input<8, 8, 1>, Conv2D<4, 3, padding = same>, BatchNormalization, ReLU, MaxPooling2D<2>, Conv2D<6, 3>,
        GlobalAveragePooling2D, Dense<3, softmax>
    }
}

sequential! {
    struct CausalDilated {
        Input<16, 2>, Conv1D<4, 3, padding = causal, dilation_rate = 2, relu>,
        Conv1D<4, 3, padding = causal, dilation_rate = 4>, Flatten, Dense<1>
    }
}

#[test]
fn a_cnn_with_batch_normalization_and_pooling_moving_statistics_included() {
    let sgd = SGD::new(0.05).momentum(0.9);
    check(
        case!(cnn_bn_pool),
        &mut *CnnBnPool::boxed_zeros(),
        sgd,
        loss(CategoricalCrossentropy::DEFAULT),
        &[&["accuracy"]],
        &[],
    );
}

#[test]
fn a_causal_dilated_conv1d() {
    check(
        case!(conv1d_causal_dilated),
        &mut *CausalDilated::boxed_zeros(),
        Adam::new(0.005),
        loss(MeanSquaredError),
        &[],
        &[],
    );
}

sequential! {
    struct RmsUnitNorm {
        Input<4>, Dense<6>, RMSNormalization, Dense<6, tanh>, UnitNormalization, Dense<2>
    }
}

#[test]
fn rms_and_unit_normalization_train_as_keras() {
    check(
        case!(rms_unit_norm),
        &mut *RmsUnitNorm::boxed_zeros(),
        Adam::new(0.01),
        loss(MeanSquaredError),
        &[],
        &[],
    );
}
