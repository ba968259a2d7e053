//! The training API in Keras's words: what `compile` refuses, what bad data returns, and the
//! callbacks, validation split, seeds, checkpoints and memory report of `fit`.

use nn::prelude::*;
use nn::train::loss::{BinaryCrossentropy, MeanSquaredError, SparseCategoricalCrossentropy};
use nn::train::optimizer::{Adam, SGD};
use nn::train::{
    Compile, CompileError, Control, DataError, EarlyStopping, Fit, Logs, ModelCheckpoint, Verbosity,
};

sequential! { struct Xor { Input<2>, Dense<8, tanh>, Dense<1, sigmoid> } }
sequential! { struct Classes { Input<2>, Dense<3, softmax> } }
functional! {
    struct TwoHeads {
        x = Input<2>;
        h = Dense<4, relu>(x);
        a = Dense<1>(h);
        b = Dense<1, sigmoid>(h);
        -> (a, b);
    }
}

fn xor() -> ([Vector2<f32>; 4], [Vector1<f32>; 4]) {
    (
        [Vector2::new(0.0, 0.0), Vector2::new(0.0, 1.0), Vector2::new(1.0, 0.0), Vector2::new(1.0, 1.0)],
        [Vector1::new(0.0), Vector1::new(1.0), Vector1::new(1.0), Vector1::new(0.0)],
    )
}

fn silent(epochs: usize, batch_size: usize) -> Fit {
    Fit { epochs, batch_size, verbose: Verbosity::Silent, ..Fit::default() }
}

#[test]
fn compile_refuses_losses_weights_and_metrics_that_do_not_fit_the_outputs() {
    let mut model = TwoHeads::seeded(1);
    let three = [MeanSquaredError.into(), MeanSquaredError.into(), MeanSquaredError.into()];
    let err = model.compile(SGD::default(), three).err();
    assert_eq!(err, Some(CompileError::Outputs { what: "losses", expected: 2, found: 3 }));
    let err = model.compile(SGD::default(), MeanSquaredError).unwrap().loss_weights(&[1.0]).err();
    assert_eq!(err, Some(CompileError::Outputs { what: "loss weights", expected: 2, found: 1 }));
    let err = model.compile(SGD::default(), MeanSquaredError).unwrap().metrics(&["acuracy"]).err();
    assert_eq!(err, Some(CompileError::Metric("acuracy".into())));
    let clips = SGD::default().clipnorm(1.0).clipvalue(0.5);
    assert!(matches!(model.compile(clips, MeanSquaredError).err(), Some(CompileError::Optimizer(_))));
}

#[test]
fn bad_data_is_an_error_and_trains_nothing() {
    let mut model = Classes::seeded(2);
    let before = model.clone();
    let mut trainer = model.compile(SGD::new(0.1), SparseCategoricalCrossentropy::DEFAULT).unwrap();
    let x = [0.5f32, 1.0, -1.0, 0.25];
    // Class 3 of a 3-class output.
    assert_eq!(
        trainer.train_on_batch_flat(&[&x], &[&[0.0, 3.0]]),
        Err(DataError::Target { output: 0, sample: 1 })
    );
    // Three values for two samples of ids.
    assert!(matches!(
        trainer.train_on_batch_flat(&[&x], &[&[0.0, 1.0, 2.0]]),
        Err(DataError::Samples { .. })
    ));
    assert!(matches!(trainer.train_on_batch_flat(&[&x[..3]], &[&[0.0]]), Err(DataError::Samples { .. })));
    assert_eq!(trainer.train_on_batch(&[], &[]), Err(DataError::Empty));
    assert_eq!(trainer.iterations(), 0);
    assert_eq!(*trainer.model(), before);
    // Whole class ids train.
    assert!(trainer.train_on_batch_flat(&[&x], &[&[0.0, 2.0]]).is_ok());
    assert_eq!(trainer.iterations(), 1);
    // Shuffled batches name the data's sample, not the batch's: sample 3 of 4 is class 5 (the
    // batches before it train, as in Keras).
    let (x4, ids) = ([0.5f32, 1.0, -1.0, 0.25, 0.0, 0.5, 1.0, 2.0], [0.0f32, 1.0, 2.0, 5.0]);
    for batch_size in [1, 3, 4] {
        assert_eq!(
            trainer.fit_flat(&[&x4], &[&ids], silent(1, batch_size), &mut []).err(),
            Some(DataError::Target { output: 0, sample: 3 })
        );
    }
}

#[test]
fn the_same_seed_trains_the_same_weights_with_shuffling() {
    let (x, y) = xor();
    let run = |seed| {
        let mut model = Xor::seeded(3);
        let mut trainer = model.compile(Adam::new(0.05), BinaryCrossentropy::DEFAULT).unwrap().seed(seed);
        trainer.fit(&x, &y, silent(20, 2), &mut []).unwrap();
        model
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn a_closure_callback_stops_training_and_history_keeps_each_epoch() {
    let (x, y) = xor();
    let mut model = Xor::seeded(4);
    let mut trainer = model.compile(SGD::new(0.1), BinaryCrossentropy::DEFAULT).unwrap();
    let mut stop_at_three =
        |epoch: usize, _: &Logs| if epoch == 2 { Control::Stop } else { Control::Continue };
    let history = trainer.fit(&x, &y, silent(10, 4), &mut [&mut stop_at_three]).unwrap();
    assert_eq!(history.epochs.len(), 3);
    assert_eq!(history.get("loss").len(), 3);
    assert_eq!(trainer.iterations(), 3);
}

#[test]
fn validation_split_holds_out_the_last_samples() {
    let x: Vec<Vector2<f32>> = (0..10).map(|i| Vector2::new(i as f32 / 10.0, 1.0)).collect();
    let y: Vec<Vector1<f32>> = (0..10).map(|i| Vector1::new((i % 2) as f32)).collect();
    let mut model = Xor::seeded(5);
    let mut trainer =
        model.compile(SGD::new(0.1), BinaryCrossentropy::DEFAULT).unwrap().metrics(&["accuracy"]).unwrap();
    let options = Fit { validation_split: 0.2, ..silent(1, 4) };
    let history = trainer.fit(&x, &y, options, &mut []).unwrap();
    // 8 samples train in 2 steps; the last 2 are evaluated.
    assert_eq!(trainer.iterations(), 2);
    let logs = &history.epochs[0];
    let names: Vec<&str> = logs.0.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["accuracy", "loss", "val_accuracy", "val_loss"]);
    let held = trainer.evaluate(&x[8..], &y[8..], 4).unwrap();
    // The model did not change after the epoch, so evaluating the held-out samples again agrees.
    assert_eq!(held.get("loss"), logs.get("val_loss"));
}

/// Keeps the weights after every epoch.
struct EpochWeights(Vec<Vec<f32>>);

impl<M: Model<Scalar = f32>> nn::train::Callback<M> for EpochWeights {
    fn on_epoch_end(&mut self, _: usize, _: &Logs, model: &mut M) -> Control {
        let mut w = vec![0.0; M::PARAMS];
        model.save_params(&mut w).unwrap();
        self.0.push(w);
        Control::Continue
    }
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let (x, y) = xor();
    let mut model = Xor::seeded(6);
    // A learning rate so large the loss cannot keep falling.
    let mut trainer = model.compile(SGD::new(40.0), BinaryCrossentropy::DEFAULT).unwrap();
    let mut early = EarlyStopping::new("loss").patience(2).restore_best_weights(true);
    let mut weights = EpochWeights(Vec::new());
    let history = trainer.fit(&x, &y, silent(50, 4), &mut [&mut weights, &mut early]).unwrap();
    let stopped = early.stopped_epoch().expect("the loss stops improving");
    assert_eq!(history.epochs.len(), stopped + 1);
    let (losses, best) = (history.get("loss"), early.best_epoch);
    assert!(losses.iter().all(|l| *l >= losses[best]));
    assert_eq!(stopped - best, 2);
    assert_ne!(best, stopped);
    let mut now = vec![0.0; 33];
    model.save_params(&mut now).unwrap();
    assert_eq!(now, weights.0[best]);
}

#[test]
fn model_checkpoint_writes_the_best_weights_in_the_format_its_extension_names() {
    let (x, y) = xor();
    let dir = std::env::temp_dir().join(format!("nn-checkpoint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["best.weights.h5", "best.safetensors", "best.nnw"] {
        let path = dir.join(file);
        let mut model = Xor::seeded(7);
        let mut trainer = model.compile(Adam::new(0.05), BinaryCrossentropy::DEFAULT).unwrap();
        let mut checkpoint = ModelCheckpoint::new(&path, "loss");
        trainer.fit(&x, &y, silent(5, 4), &mut [&mut checkpoint]).unwrap();
        assert_eq!(checkpoint.error, None);
        assert_eq!(checkpoint.saved.last(), Some(&4), "{file}: the loss falls every epoch");
        let bytes = std::fs::read(&path).unwrap();
        let mut loaded = Xor::zeros();
        match file {
            "best.weights.h5" => loaded.load_keras_weights(&bytes).unwrap(),
            "best.safetensors" => loaded.load_safetensors(&bytes).unwrap(),
            _ => loaded.load_bytes(&bytes).unwrap(),
        }
        assert_eq!(loaded, model, "{file}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_memory_of_a_step_is_a_constant_of_the_model_and_optimizer() {
    let mut model = Xor::seeded(8);
    let sgd = model.compile(SGD::new(0.1), BinaryCrossentropy::DEFAULT).unwrap().memory(32);
    let adam = Xor::seeded(8).compile(Adam::new(0.1), BinaryCrossentropy::DEFAULT).unwrap().memory(32);
    // Per sample: Dense(8)'s output, gradient and pre-activation, Dense(1)'s the same.
    assert_eq!(sgd.values, 32 * 4 * (3 * 8 + 3));
    assert_eq!(sgd.optimizer_state, 0);
    // Adam keeps m and v for each of the 33 weights.
    assert_eq!(adam.optimizer_state, 2 * 33 * 4);
    assert!(adam.to_string().starts_with("Training step at batch 32: "));
}

sequential! {
    #[compile(optimizer = Adam(learning_rate = 0.05, amsgrad = true), loss = binary_crossentropy, metrics = [accuracy])]
    struct CompiledXor { Input<2>, Dense<8, tanh>, Dense<1, sigmoid> }
}

#[test]
fn a_compile_attribute_gives_the_trainer_compile_would() {
    let (x, y) = xor();
    let mut attribute = CompiledXor::seeded(9);
    let mut by_hand = CompiledXor::seeded(9);
    let a = attribute.compiled().fit(&x, &y, silent(3, 2), &mut []).unwrap();
    let adam = Adam::new(0.05).amsgrad(true);
    let mut trainer =
        by_hand.compile(adam, BinaryCrossentropy::DEFAULT).unwrap().metrics(&["accuracy"]).unwrap();
    let b = trainer.fit(&x, &y, silent(3, 2), &mut []).unwrap();
    assert_eq!(a, b);
    assert_eq!(attribute, by_hand);
}

sequential! {
    struct Penalized { Input<2>, Dense<2, use_bias = false>, ActivityRegularization<l1 = 0.5, l2 = 0.25>, Dense<1, use_bias = false> }
}

#[test]
fn the_logged_loss_includes_activity_regularization_as_keras_total_loss_does() {
    // h = x · [[1, 0], [0, 2]] = [1, -4] and [3, 2]; y = h · [1, 1] = -3 and 5.
    let mut model = Penalized::zeros();
    model.load_params(&[1.0, 0.0, 0.0, 2.0, 1.0, 1.0]).unwrap();
    let x = [Vector2::new(1.0, -2.0), Vector2::new(3.0, 1.0)];
    let y = [Vector1::new(-3.0), Vector1::new(4.0)];
    let mut trainer = model.compile(SGD::new(0.0), MeanSquaredError).unwrap();
    let loss = trainer.train_on_batch(&x, &y).unwrap();
    // MSE (0 + 1) / 2, then the penalty (0.5 · Σ|h| + 0.25 · Σh²) / 2 = (0.5 · 10 + 0.25 · 30) / 2.
    let expected = 0.5 + (0.5 * 10.0 + 0.25 * 30.0) / 2.0;
    assert!((loss - expected).abs() < 1e-5, "{loss} against {expected}");
}

#[test]
fn typed_targets_for_a_sparse_loss_are_an_error_not_a_panic() {
    let mut model = Classes::seeded(1);
    let mut trainer = model.compile(SGD::default(), SparseCategoricalCrossentropy::DEFAULT).unwrap();
    let err = trainer.train_on_batch(&[Vector2::new(1.0, 2.0)], &[Vector3::new(0.0, 1.0, 0.0)]).err();
    assert_eq!(err, Some(DataError::TargetSize { output: 0, expected: 1, found: 3 }));
    assert!(err.unwrap().to_string().contains("flat API"));
    // The same batch as class ids trains.
    assert!(trainer.train_on_batch_flat(&[&[1.0, 2.0]], &[&[1.0]]).is_ok());
}
