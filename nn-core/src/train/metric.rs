//! Keras's metrics, computed per sample, and the running [`Mean`] that Keras averages them with.
//!
//! Keras wraps each of these metrics in a `MeanMetricWrapper`
//! (`keras/src/metrics/reduction_metrics.py`). Per batch, the metric function gives one value
//! per *position*, and `Mean.update_state` first averages each sample's positions (so that
//! every sample counts once, whatever its shape), then adds the batch's sum of those averages to
//! a `total` and the batch size to a `count`, both variables of the metric's dtype (`float32`
//! for `f32` models). The logged value is `total / count`. A trainer reproduces this with
//!
//! ```text
//! batch_sum = Σ_samples metric.sample_value(y_true, y_pred, last)   // = sum / positions
//! mean.update(batch_sum, batch)                                     // once per batch
//! mean.result()                                                     // the logged value
//! ```
//!
//! where [`Metric::value`] gives each sample's sum over positions and their number. Positions
//! are the last axis's rows (`len / last` of them) for every metric here but
//! [`BinaryAccuracy`], which scores each value (`len` positions).
//!
//! # Names
//!
//! Keras logs a metric under the identifier it was compiled with when that is a string, and
//! under the metric object's `name` otherwise (`keras/src/trainers/compile_utils.py`,
//! `get_metric`): `metrics=["mae"]` logs `"mae"`, `metrics=["mean_absolute_error"]` logs
//! `"mean_absolute_error"`, `metrics=[keras.metrics.MeanAbsoluteError()]` logs
//! `"mean_absolute_error"`, `metrics=["accuracy"]` logs `"accuracy"` (and `["acc"]` logs
//! `"acc"`) whichever accuracy it resolves to, while `metrics=[keras.metrics.BinaryAccuracy()]`
//! logs `"binary_accuracy"`. [`Metric::NAME`] is the object's default name; a trainer given a
//! string should log the string.

use crate::Float;
use crate::train::loss::{self, Loss};

/// A Keras metric of one output, for one sample at a time.
pub trait Metric: Copy + core::fmt::Debug {
    /// The `name` a Keras metric object of this class has by default (see the
    /// [module docs](self#names) for what Keras logs).
    const NAME: &'static str;

    /// Target values per sample for a prediction of `len` values whose last axis is `last`:
    /// `len` for dense targets, `len / last` for class ids.
    fn target_len(&self, len: usize, last: usize) -> usize {
        let _ = last;
        len
    }

    /// One sample's metric: the sum of the values Keras's metric function gives at each of
    /// its positions, and the number of positions.
    ///
    /// # Panics
    ///
    /// If `last` is zero or does not divide `y_pred.len()`, or `y_true` has the wrong length.
    fn value<T: Float>(&self, y_true: &[T], y_pred: &[T], last: usize) -> (T, usize);

    /// The sample's value as Keras's `Mean` adds it up: the mean over its positions,
    /// `sum / positions` in `T` (`ops.mean` over every axis but the batch).
    fn sample_value<T: Float>(&self, y_true: &[T], y_pred: &[T], last: usize) -> T {
        let (sum, positions) = self.value(y_true, y_pred, last);
        sum / T::of(positions as f64)
    }
}

/// Keras's `Mean` metric: a running `total` and `count` in `T`, as Keras keeps them in its
/// float dtype (so a `f32` count stops counting exactly past 2²⁴ samples, as Keras's does).
///
/// A [`Metric`] is averaged by adding, per batch, the sum of its samples'
/// [`sample_value`](Metric::sample_value)s with the batch size as `count`. Keras's logged
/// `"loss"` is such a mean too, updated per batch with the batch's loss times the batch size
/// and the batch size (`loss_tracker.update_state(loss, sample_weight=batch_size)`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mean<T> {
    total: T,
    count: T,
}

impl<T: Float> Mean<T> {
    /// An empty mean, as after Keras's `reset_state`.
    pub const fn new() -> Self {
        Mean { total: T::ZERO, count: T::ZERO }
    }

    /// Adds `sum` to the total and `count` to the count, each rounded to `T` as Keras's
    /// `assign_add` does.
    pub fn update(&mut self, sum: T, count: usize) {
        self.total += sum;
        self.count += T::of(count as f64);
    }

    /// `total / count`, or zero before any count (Keras's `divide_no_nan`).
    pub fn result(&self) -> T {
        if self.count == T::ZERO { T::ZERO } else { self.total / self.count }
    }

    /// The running total.
    pub fn total(&self) -> T {
        self.total
    }

    /// The running count.
    pub fn count(&self) -> T {
        self.count
    }

    /// Empties the mean (Keras's `reset_state`, at the start of each epoch).
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

/// Checks the lengths of one sample and returns its number of rows.
fn rows<T>(y_true: &[T], y_pred: &[T], last: usize, true_width: usize) -> usize {
    assert!(
        last > 0 && y_pred.len().is_multiple_of(last),
        "last axis {last} must divide {} values",
        y_pred.len()
    );
    let rows = y_pred.len() / last;
    assert_eq!(y_true.len(), rows * true_width, "targets for {rows} positions");
    rows
}

/// The index of the largest value, the first on a tie, as `ops.argmax` (XLA's) finds it; a NaN
/// counts as larger than any number, so the first NaN wins.
fn argmax<T: Float>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate().skip(1) {
        let b = row[best];
        if x > b || (x.as_f64().is_nan() && !b.as_f64().is_nan()) {
            best = i;
        }
    }
    best
}

/// `BinaryAccuracy`: whether `y_pred > threshold` (as 0 or 1) equals `y_true`, for every value
/// (each value is a position, so a sample's score is the fraction of its values right).
///
/// A target that is neither 0 nor 1 never matches, as in Keras.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BinaryAccuracy {
    /// Predictions strictly above it count as 1; Keras's default is 0.5. Compared in `T`, as
    /// Keras converts it to a float32 tensor.
    pub threshold: f64,
}

impl BinaryAccuracy {
    /// Keras's default, `threshold = 0.5`.
    pub const DEFAULT: Self = BinaryAccuracy { threshold: 0.5 };

    /// The metric with this `threshold`.
    pub const fn threshold(self, threshold: f64) -> Self {
        BinaryAccuracy { threshold }
    }
}

impl Default for BinaryAccuracy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Metric for BinaryAccuracy {
    const NAME: &'static str = "binary_accuracy";

    fn value<T: Float>(&self, y_true: &[T], y_pred: &[T], last: usize) -> (T, usize) {
        rows(y_true, y_pred, last, last);
        let threshold = T::of(self.threshold);
        let mut sum = T::ZERO;
        for (&t, &p) in y_true.iter().zip(y_pred) {
            let class = if p > threshold { T::ONE } else { T::ZERO };
            if t == class {
                sum += T::ONE;
            }
        }
        (sum, y_pred.len())
    }
}

/// `CategoricalAccuracy`: whether the largest prediction of each row of the last axis is at
/// the largest target (one-hot targets; the first index wins a tie on either side).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CategoricalAccuracy;

impl Metric for CategoricalAccuracy {
    const NAME: &'static str = "categorical_accuracy";

    fn value<T: Float>(&self, y_true: &[T], y_pred: &[T], last: usize) -> (T, usize) {
        let n = rows(y_true, y_pred, last, last);
        let mut sum = T::ZERO;
        for (t, p) in y_true.chunks_exact(last).zip(y_pred.chunks_exact(last)) {
            if argmax(t) == argmax(p) {
                sum += T::ONE;
            }
        }
        (sum, n)
    }
}

/// `SparseCategoricalAccuracy`: whether the largest prediction of each row of the last axis is
/// at the class id `y_true` (one id per row; Keras compares the id as a float with the index,
/// so an id that is not a whole number never matches).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SparseCategoricalAccuracy;

impl Metric for SparseCategoricalAccuracy {
    const NAME: &'static str = "sparse_categorical_accuracy";

    fn target_len(&self, len: usize, last: usize) -> usize {
        len / last
    }

    fn value<T: Float>(&self, y_true: &[T], y_pred: &[T], last: usize) -> (T, usize) {
        let n = rows(y_true, y_pred, last, 1);
        let mut sum = T::ZERO;
        for (&t, p) in y_true.iter().zip(y_pred.chunks_exact(last)) {
            if t == T::of(argmax(p) as f64) {
                sum += T::ONE;
            }
        }
        (sum, n)
    }
}

/// The `MeanAbsoluteError` metric: the loss's per-position values,
/// `mean(|y_true - y_pred|)` over the last axis.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanAbsoluteError;

impl Metric for MeanAbsoluteError {
    const NAME: &'static str = "mean_absolute_error";

    fn value<T: Float>(&self, y_true: &[T], y_pred: &[T], last: usize) -> (T, usize) {
        let n = rows(y_true, y_pred, last, last);
        (loss::MeanAbsoluteError.forward(y_true, y_pred, last), n)
    }
}

/// The `MeanSquaredError` metric: the loss's per-position values,
/// `mean((y_true - y_pred)²)` over the last axis.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanSquaredError;

impl Metric for MeanSquaredError {
    const NAME: &'static str = "mean_squared_error";

    fn value<T: Float>(&self, y_true: &[T], y_pred: &[T], last: usize) -> (T, usize) {
        let n = rows(y_true, y_pred, last, last);
        (loss::MeanSquaredError.forward(y_true, y_pred, last), n)
    }
}

/// The metric Keras compiles `metrics=["accuracy"]` (or `"acc"`) into: one of the three
/// accuracies, chosen by [`resolve_accuracy`]. Its [`NAME`](Metric::NAME) is `"accuracy"`, the
/// name Keras logs it under (`"acc"` when compiled as `"acc"`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Accuracy {
    /// [`BinaryAccuracy`] at Keras's default threshold.
    Binary(BinaryAccuracy),
    /// [`CategoricalAccuracy`].
    Categorical(CategoricalAccuracy),
    /// [`SparseCategoricalAccuracy`].
    SparseCategorical(SparseCategoricalAccuracy),
}

/// The accuracy Keras 3 resolves `"accuracy"` to for an output whose last axis is
/// `output_last`, given whether the targets have as many values as the output
/// (`keras/src/trainers/compile_utils.py`, `get_metric` and `is_binary_or_sparse_categorical`).
///
/// Keras 3 looks at shapes only, never at the loss (unlike `tf.keras` 2, which picked by the
/// loss function):
///
/// - an output whose last axis is 1 gets [`BinaryAccuracy`];
/// - otherwise targets of lower rank than the output, or whose last axis is 1, that is, one
///   class id per row ([`SparseCategoricalCrossentropy`](loss::SparseCategoricalCrossentropy)'s
///   layout, `target_len_equals_output == false`), get [`SparseCategoricalAccuracy`];
/// - otherwise targets shaped like the output get [`CategoricalAccuracy`], even under a
///   `binary_crossentropy` loss: a multi-label output of 4 sigmoids compiled with
///   `metrics=["accuracy"]` logs the categorical accuracy, not the binary one.
pub const fn resolve_accuracy(output_last: usize, target_len_equals_output: bool) -> Accuracy {
    if output_last == 1 {
        Accuracy::Binary(BinaryAccuracy::DEFAULT)
    } else if !target_len_equals_output {
        Accuracy::SparseCategorical(SparseCategoricalAccuracy)
    } else {
        Accuracy::Categorical(CategoricalAccuracy)
    }
}

impl Metric for Accuracy {
    const NAME: &'static str = "accuracy";

    fn target_len(&self, len: usize, last: usize) -> usize {
        match self {
            Accuracy::Binary(m) => m.target_len(len, last),
            Accuracy::Categorical(m) => m.target_len(len, last),
            Accuracy::SparseCategorical(m) => m.target_len(len, last),
        }
    }

    fn value<T: Float>(&self, y_true: &[T], y_pred: &[T], last: usize) -> (T, usize) {
        match self {
            Accuracy::Binary(m) => m.value(y_true, y_pred, last),
            Accuracy::Categorical(m) => m.value(y_true, y_pred, last),
            Accuracy::SparseCategorical(m) => m.value(y_true, y_pred, last),
        }
    }
}

/// Any of Keras's metrics, chosen at run time, with the name Keras logs it under: what
/// [`Trainer::metrics`](crate::train::Trainer::metrics) takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricFunction {
    /// `"accuracy"` (or `"acc"`): resolved per output by [`resolve_accuracy`] once the output
    /// and target shapes are known.
    Accuracy(&'static str),
    /// `"binary_accuracy"`.
    BinaryAccuracy(BinaryAccuracy),
    /// `"categorical_accuracy"`.
    CategoricalAccuracy,
    /// `"sparse_categorical_accuracy"`.
    SparseCategoricalAccuracy,
    /// `"mae"` or `"mean_absolute_error"`.
    MeanAbsoluteError(&'static str),
    /// `"mse"` or `"mean_squared_error"`.
    MeanSquaredError(&'static str),
}

impl MetricFunction {
    /// The metric Keras compiles `metrics=[name]` into.
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "accuracy" => MetricFunction::Accuracy("accuracy"),
            "acc" => MetricFunction::Accuracy("acc"),
            "binary_accuracy" => MetricFunction::BinaryAccuracy(BinaryAccuracy::DEFAULT),
            "categorical_accuracy" => MetricFunction::CategoricalAccuracy,
            "sparse_categorical_accuracy" => MetricFunction::SparseCategoricalAccuracy,
            "mae" => MetricFunction::MeanAbsoluteError("mae"),
            "mean_absolute_error" => MetricFunction::MeanAbsoluteError("mean_absolute_error"),
            "mse" => MetricFunction::MeanSquaredError("mse"),
            "mean_squared_error" => MetricFunction::MeanSquaredError("mean_squared_error"),
            _ => return None,
        })
    }

    /// The name Keras logs it under.
    pub fn name(&self) -> &'static str {
        match self {
            MetricFunction::Accuracy(name)
            | MetricFunction::MeanAbsoluteError(name)
            | MetricFunction::MeanSquaredError(name) => name,
            MetricFunction::BinaryAccuracy(_) => BinaryAccuracy::NAME,
            MetricFunction::CategoricalAccuracy => CategoricalAccuracy::NAME,
            MetricFunction::SparseCategoricalAccuracy => SparseCategoricalAccuracy::NAME,
        }
    }

    /// One sample's value, Keras's mean over its positions, for an output whose last axis is
    /// `last` and whose targets hold `target_len` values per sample (which `"accuracy"`
    /// resolves by).
    pub fn sample_value<T: Float>(&self, y_true: &[T], y_pred: &[T], last: usize) -> T {
        match self {
            MetricFunction::Accuracy(_) => {
                resolve_accuracy(last, y_true.len() == y_pred.len()).sample_value(y_true, y_pred, last)
            }
            MetricFunction::BinaryAccuracy(m) => m.sample_value(y_true, y_pred, last),
            MetricFunction::CategoricalAccuracy => CategoricalAccuracy.sample_value(y_true, y_pred, last),
            MetricFunction::SparseCategoricalAccuracy => {
                SparseCategoricalAccuracy.sample_value(y_true, y_pred, last)
            }
            MetricFunction::MeanAbsoluteError(_) => MeanAbsoluteError.sample_value(y_true, y_pred, last),
            MetricFunction::MeanSquaredError(_) => MeanSquaredError.sample_value(y_true, y_pred, last),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_accuracy_by_hand() {
        let m = BinaryAccuracy::DEFAULT;
        // Strictly above the threshold is 1; a target of 0.3 matches neither class.
        assert_eq!(m.value(&[0.0, 1.0, 1.0, 0.3], &[0.5f32, 0.51, 0.2, 0.0], 4), (2.0, 4));
        // Every value is a position, whatever the last axis.
        assert_eq!(m.value(&[0.0, 1.0, 1.0, 0.3], &[0.5f32, 0.51, 0.2, 0.0], 2), (2.0, 4));
        assert_eq!(m.sample_value(&[0.0, 1.0, 1.0], &[0.5f32, 0.51, 0.2], 3), 2.0 / 3.0);
        let m = m.threshold(0.7);
        assert_eq!(m.value(&[0.0, 1.0], &[0.7f32, 0.71], 2), (2.0, 2));
        assert_eq!(BinaryAccuracy::default(), BinaryAccuracy { threshold: 0.5 });
    }

    #[test]
    fn categorical_accuracies_by_hand() {
        let y_pred = [0.1f32, 0.7, 0.2, 0.5, 0.5, 0.0];
        // Two positions of three classes; the tie in the second goes to the first index.
        assert_eq!(CategoricalAccuracy.value(&[0.0, 1.0, 0.0, 0.0, 1.0, 0.0], &y_pred, 3), (1.0, 2));
        assert_eq!(CategoricalAccuracy.value(&[0.0, 1.0, 0.0, 1.0, 0.0, 0.0], &y_pred, 3), (2.0, 2));
        assert_eq!(SparseCategoricalAccuracy.value(&[1.0, 0.0], &y_pred, 3), (2.0, 2));
        assert_eq!(SparseCategoricalAccuracy.value(&[1.0, 1.0], &y_pred, 3), (1.0, 2));
        // Ids are compared as floats: 1.5 is no class.
        assert_eq!(SparseCategoricalAccuracy.value(&[1.5, 0.0], &y_pred, 3), (1.0, 2));
        assert_eq!(SparseCategoricalAccuracy.target_len(6, 3), 2);
        assert_eq!(CategoricalAccuracy.target_len(6, 3), 6);
        // A NaN is the largest, the first one winning (`jnp.argmax([1, nan, 3, nan])` is 1).
        assert_eq!(argmax(&[1.0f32, f32::NAN, 3.0, f32::NAN]), 1);
        assert_eq!(argmax(&[3.0f64, 3.0, 1.0]), 0);
    }

    #[test]
    fn regression_metrics_by_hand() {
        // Per position the mean over the last axis, as the losses.
        assert_eq!(MeanAbsoluteError.value(&[1.0, 2.0, 0.0, 0.0], &[2.0f64, 0.0, 1.0, 1.0], 2), (2.5, 2));
        assert_eq!(MeanSquaredError.value(&[1.0, 2.0, 0.0, 0.0], &[2.0f64, 0.0, 1.0, 1.0], 2), (3.5, 2));
        assert_eq!(MeanSquaredError.sample_value(&[1.0, 2.0, 0.0, 0.0], &[2.0f64, 0.0, 1.0, 1.0], 2), 1.75);
    }

    #[test]
    fn mean_accumulates_in_t() {
        let mut m = Mean::<f32>::new();
        assert_eq!(m.result(), 0.0);
        m.update(2.0, 3);
        m.update(1.0, 1);
        assert_eq!((m.total(), m.count(), m.result()), (3.0, 4.0, 0.75));
        m.reset();
        assert_eq!(m, Mean::default());
        // A float32 count stops at 2^24 as Keras's does.
        m.update(0.0, 1 << 24);
        m.update(0.0, 1);
        assert_eq!(m.count(), 16_777_216.0);
    }

    /// What Keras 3.15.1 compiles `metrics=["accuracy"]` into, by the shapes of `y_true` and
    /// `y_pred` (printed by the end of the script in [`keras_parity`]'s docs):
    ///
    /// ```text
    /// y_true (3, 4), y_pred (3, 4): CategoricalAccuracy, logged as 'accuracy'
    /// y_true (3, 1), y_pred (3, 1): BinaryAccuracy, logged as 'accuracy'
    /// y_true (3,), y_pred (3, 1): BinaryAccuracy, logged as 'accuracy'
    /// y_true (3,), y_pred (3, 4): SparseCategoricalAccuracy, logged as 'accuracy'
    /// y_true (3, 1), y_pred (3, 4): SparseCategoricalAccuracy, logged as 'accuracy'
    /// y_true (3, 2), y_pred (3, 2, 3): SparseCategoricalAccuracy, logged as 'accuracy'
    /// y_true (3, 2, 1), y_pred (3, 2, 3): SparseCategoricalAccuracy, logged as 'accuracy'
    /// y_true (3, 2, 3), y_pred (3, 2, 3): CategoricalAccuracy, logged as 'accuracy'
    /// ```
    #[test]
    fn accuracy_resolution() {
        use Accuracy::*;
        assert_eq!(resolve_accuracy(4, true), Categorical(CategoricalAccuracy));
        assert_eq!(resolve_accuracy(1, true), Binary(BinaryAccuracy::DEFAULT));
        assert_eq!(resolve_accuracy(4, false), SparseCategorical(SparseCategoricalAccuracy));
        assert_eq!(resolve_accuracy(3, false), SparseCategorical(SparseCategoricalAccuracy));
        assert_eq!(resolve_accuracy(3, true), Categorical(CategoricalAccuracy));
        assert_eq!(Accuracy::NAME, "accuracy");
        // The resolved metric takes the targets the loss's layout gives.
        let len = 6;
        let sparse = resolve_accuracy(3, false);
        assert_eq!(
            sparse.target_len(len, 3),
            loss::SparseCategoricalCrossentropy::DEFAULT.target_len(len, 3)
        );
        assert_eq!(sparse.value(&[1.0, 0.0], &[0.1f32, 0.7, 0.2, 0.5, 0.5, 0.0], 3), (2.0, 2));
        assert_eq!(resolve_accuracy(1, true).value(&[1.0, 0.0], &[0.6f32, 0.6], 1), (1.0, 2));
    }

    /// Two batches of 3 through a [`Mean`] as a trainer would, against Keras's
    /// `update_state` twice then `result()`; within 1e-6 relative.
    #[track_caller]
    fn check<M: Metric>(metric: M, last: usize, y_true: &[f32], y_pred: &[f32], keras: f32) {
        let (samples, batch) = (6, 3);
        let len = y_pred.len() / samples;
        let targets = metric.target_len(len, last);
        assert_eq!(y_true.len(), samples * targets);
        let mut mean = Mean::new();
        for (t, p) in y_true.chunks(batch * targets).zip(y_pred.chunks(batch * len)) {
            let mut sum = 0.0;
            for (t, p) in t.chunks(targets).zip(p.chunks(len)) {
                sum += metric.sample_value(t, p, last);
            }
            mean.update(sum, batch);
        }
        let got = mean.result();
        assert!((got - keras).abs() <= 1e-6 * keras.abs(), "{metric:?}, last {last}: {got} != {keras}");
    }

    /// Generated by this script (Python 3.11, keras 3.15.1, jax 0.10.2, numpy 2.4.6; the
    /// packages of `scripts/requirements.txt`):
    ///
    /// ```python
    /// import os; os.environ["KERAS_BACKEND"] = "jax"
    /// import numpy as np, keras
    /// from keras import metrics as M
    /// from keras.src.trainers.compile_utils import get_metric
    /// f32 = np.float32
    /// i4 = np.arange(24, dtype=f32).reshape(6, 4)  # two batches of 3 samples, output (4,)
    /// i23 = np.arange(36, dtype=f32).reshape(6, 2, 3)  # two batches of 3 samples, output (2, 3)
    /// B4_T = np.where(i4 % 5 == 4, f32(0.3), (i4 % 3 == 0).astype(f32))  # 0.3 matches nothing
    /// B4_P = np.array([0.5, 0.7, 0.2, 0.9, 0.0, 1.0, 0.69, 0.71, 0.5, 0.3, 0.8, 0.1,
    ///                  0.7, 0.6, 0.4, 0.5, 0.9, 0.2, 0.7, 0.75, 0.1, 0.5, 0.6, 0.0], f32).reshape(6, 4)
    /// B23_T = (i23 % 2).astype(f32)
    /// B23_P = ((np.sin(i23) + 1) / 2).astype(f32)
    /// C4_T = np.eye(4, dtype=f32)[[1, 0, 3, 2, 2, 0]]
    /// C4_P = (np.round(np.sin(i4 * 1.7) * 2) / 2).astype(f32)  # many ties: the first index wins
    /// S4_T = np.array([1, 0, 3, 2, 2, 0], f32)
    /// S23_T = np.array([[0, 2], [1, 1], [2, 0], [1, 2], [0, 0], [2, 1]], f32)
    /// C23_T = np.eye(3, dtype=f32)[S23_T.astype(int)]
    /// C23_P = (np.round(np.cos(i23 * 0.9) * 2) / 2).astype(f32)
    /// R4_T = (np.sin(i4) * 3).astype(f32)
    /// R4_P = (np.cos(i4 * 0.7) * 2).astype(f32)
    /// R23_T = (np.sin(i23) * 3).astype(f32)
    /// R23_P = (np.cos(i23 * 0.7) * 2).astype(f32)
    /// CASES = [  # (Rust metric, Keras metric, last, y_true, y_pred)
    ///     ("BinaryAccuracy::DEFAULT", M.BinaryAccuracy(), 4, B4_T, B4_P),
    ///     ("BinaryAccuracy::DEFAULT.threshold(0.7)", M.BinaryAccuracy(threshold=0.7), 4, B4_T, B4_P),
    ///     ("BinaryAccuracy::DEFAULT", M.BinaryAccuracy(), 3, B23_T, B23_P),
    ///     ("CategoricalAccuracy", M.CategoricalAccuracy(), 4, C4_T, C4_P),
    ///     ("CategoricalAccuracy", M.CategoricalAccuracy(), 3, C23_T, C23_P),
    ///     ("SparseCategoricalAccuracy", M.SparseCategoricalAccuracy(), 4, S4_T, C4_P),
    ///     ("SparseCategoricalAccuracy", M.SparseCategoricalAccuracy(), 3, S23_T, C23_P),
    ///     ("MeanAbsoluteError", M.MeanAbsoluteError(), 4, R4_T, R4_P),
    ///     ("MeanAbsoluteError", M.MeanAbsoluteError(), 3, R23_T, R23_P),
    ///     ("MeanSquaredError", M.MeanSquaredError(), 4, R4_T, R4_P),
    ///     ("MeanSquaredError", M.MeanSquaredError(), 3, R23_T, R23_P),
    /// ]
    /// def lit(v): return "&[" + ", ".join(str(f32(x)) for x in np.ravel(v)) + "]"
    /// for rust, metric, last, y_true, y_pred in CASES:
    ///     metric.update_state(y_true[:3], y_pred[:3])
    ///     metric.update_state(y_true[3:], y_pred[3:])
    ///     result = metric.result()
    ///     print(f"check({rust}, {last}, {lit(y_true)}, {lit(y_pred)}, {str(f32(result))});")
    /// # What "accuracy" compiles into, by the shapes of y_true and y_pred (batch 3).
    /// for t, p in [((3, 4), (3, 4)), ((3, 1), (3, 1)), ((3,), (3, 1)), ((3,), (3, 4)), ((3, 1), (3, 4)),
    ///              ((3, 2), (3, 2, 3)), ((3, 2, 1), (3, 2, 3)), ((3, 2, 3), (3, 2, 3))]:
    ///     m = get_metric("accuracy", np.zeros(t, f32), np.zeros(p, f32))
    ///     print(f"// y_true {t}, y_pred {p}: {type(m).__name__}, logged as {m.name!r}")
    /// ```
    #[test]
    #[rustfmt::skip]
    fn keras_parity() {
        check(BinaryAccuracy::DEFAULT, 4, &[1.0, 0.0, 0.0, 1.0, 0.3, 0.0, 1.0, 0.0, 0.0, 0.3, 0.0, 0.0, 1.0, 0.0, 0.3, 1.0, 0.0, 0.0, 1.0, 0.3, 0.0, 1.0, 0.0, 0.0], &[0.5, 0.7, 0.2, 0.9, 0.0, 1.0, 0.69, 0.71, 0.5, 0.3, 0.8, 0.1, 0.7, 0.6, 0.4, 0.5, 0.9, 0.2, 0.7, 0.75, 0.1, 0.5, 0.6, 0.0], 0.41666666);
        check(BinaryAccuracy::DEFAULT.threshold(0.7), 4, &[1.0, 0.0, 0.0, 1.0, 0.3, 0.0, 1.0, 0.0, 0.0, 0.3, 0.0, 0.0, 1.0, 0.0, 0.3, 1.0, 0.0, 0.0, 1.0, 0.3, 0.0, 1.0, 0.0, 0.0], &[0.5, 0.7, 0.2, 0.9, 0.0, 1.0, 0.69, 0.71, 0.5, 0.3, 0.8, 0.1, 0.7, 0.6, 0.4, 0.5, 0.9, 0.2, 0.7, 0.75, 0.1, 0.5, 0.6, 0.0], 0.41666666);
        check(BinaryAccuracy::DEFAULT, 3, &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0], &[0.5, 0.9207355, 0.95464873, 0.57056, 0.12159875, 0.020537853, 0.36029226, 0.8284933, 0.9946791, 0.7060592, 0.22798946, 4.887581e-06, 0.23171353, 0.71008354, 0.9953037, 0.82514393, 0.35604835, 0.019301265, 0.124506384, 0.5749386, 0.95647264, 0.9183278, 0.49557436, 0.07688981, 0.047210813, 0.43382412, 0.88127923, 0.978188, 0.63545287, 0.16818306, 0.005984187, 0.29798117, 0.7757133, 0.9999559, 0.7645414, 0.28590867], 0.5555556);
        check(CategoricalAccuracy, 4, &[0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0], &[0.0, 1.0, -0.5, -1.0, 0.5, 1.0, -0.5, -0.5, 1.0, 0.5, -1.0, -0.0, 1.0, -0.0, -1.0, 0.5, 1.0, -0.5, -0.5, 1.0, 0.5, -1.0, -0.5, 1.0], 0.16666667);
        check(CategoricalAccuracy, 3, &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0], &[1.0, 0.5, -0.0, -1.0, -1.0, -0.0, 0.5, 1.0, 0.5, -0.0, -1.0, -1.0, -0.0, 0.5, 1.0, 0.5, -0.5, -1.0, -1.0, -0.0, 0.5, 1.0, 0.5, -0.5, -1.0, -1.0, -0.0, 0.5, 1.0, 0.5, -0.5, -1.0, -1.0, -0.0, 0.5, 1.0], 0.41666666);
        check(SparseCategoricalAccuracy, 4, &[1.0, 0.0, 3.0, 2.0, 2.0, 0.0], &[0.0, 1.0, -0.5, -1.0, 0.5, 1.0, -0.5, -0.5, 1.0, 0.5, -1.0, -0.0, 1.0, -0.0, -1.0, 0.5, 1.0, -0.5, -0.5, 1.0, 0.5, -1.0, -0.5, 1.0], 0.16666667);
        check(SparseCategoricalAccuracy, 3, &[0.0, 2.0, 1.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 0.0, 2.0, 1.0], &[1.0, 0.5, -0.0, -1.0, -1.0, -0.0, 0.5, 1.0, 0.5, -0.0, -1.0, -1.0, -0.0, 0.5, 1.0, 0.5, -0.5, -1.0, -1.0, -0.0, 0.5, 1.0, 0.5, -0.5, -1.0, -1.0, -0.0, 0.5, 1.0, 0.5, -0.5, -1.0, -1.0, -0.0, 0.5, 1.0], 0.41666666);
        check(MeanAbsoluteError, 4, &[0.0, 2.524413, 2.7278922, 0.42336, -2.2704074, -2.8767729, -0.83824646, 1.9709598, 2.9680748, 1.2363554, -1.6320632, -2.9999707, -1.6097188, 1.2605011, 2.9718223, 1.9508636, -0.86371005, -2.8841925, -2.2529616, 0.44963163, 2.7388358, 2.5099669, -0.026553929, -2.538661], &[2.0, 1.5296844, 0.33993432, -1.0096921, -1.8844446, -1.8729134, -0.980522, 0.37302494, 1.5511316, 1.9997172, 1.5078045, 0.3067481, -1.0385767, -1.8954428, -1.8608524, -0.9510739, 0.40600938, 1.5721401, 1.9988692, 1.4854981, 0.27347445, -1.0671685, -1.9059056, -1.8482653], 2.0691814);
        check(MeanAbsoluteError, 3, &[0.0, 2.524413, 2.7278922, 0.42336, -2.2704074, -2.8767729, -0.83824646, 1.9709598, 2.9680748, 1.2363554, -1.6320632, -2.9999707, -1.6097188, 1.2605011, 2.9718223, 1.9508636, -0.86371005, -2.8841925, -2.2529616, 0.44963163, 2.7388358, 2.5099669, -0.026553929, -2.538661, -2.7167351, -0.39705527, 2.2876751, 2.8691278, 0.8127174, -1.9909017, -2.9640949, -1.2121129, 1.6542802, 2.9997356, 1.5872481, -1.284548], &[2.0, 1.5296844, 0.33993432, -1.0096921, -1.8844446, -1.8729134, -0.980522, 0.37302494, 1.5511316, 1.9997172, 1.5078045, 0.3067481, -1.0385767, -1.8954428, -1.8608524, -0.9510739, 0.40600938, 1.5721401, 1.9988692, 1.4854981, 0.27347445, -1.0671685, -1.9059056, -1.8482653, -0.9213585, 0.4388799, 1.5927036, 1.997456, 1.4627717, 0.24012534, -1.0954585, -1.915829, -1.8351564, -0.8913793, 0.47162455, 1.612819], 1.9640356);
        check(MeanSquaredError, 4, &[0.0, 2.524413, 2.7278922, 0.42336, -2.2704074, -2.8767729, -0.83824646, 1.9709598, 2.9680748, 1.2363554, -1.6320632, -2.9999707, -1.6097188, 1.2605011, 2.9718223, 1.9508636, -0.86371005, -2.8841925, -2.2529616, 0.44963163, 2.7388358, 2.5099669, -0.026553929, -2.538661], &[2.0, 1.5296844, 0.33993432, -1.0096921, -1.8844446, -1.8729134, -0.980522, 0.37302494, 1.5511316, 1.9997172, 1.5078045, 0.3067481, -1.0385767, -1.8954428, -1.8608524, -0.9510739, 0.40600938, 1.5721401, 1.9988692, 1.4854981, 0.27347445, -1.0671685, -1.9059056, -1.8482653], 6.0594277);
        check(MeanSquaredError, 3, &[0.0, 2.524413, 2.7278922, 0.42336, -2.2704074, -2.8767729, -0.83824646, 1.9709598, 2.9680748, 1.2363554, -1.6320632, -2.9999707, -1.6097188, 1.2605011, 2.9718223, 1.9508636, -0.86371005, -2.8841925, -2.2529616, 0.44963163, 2.7388358, 2.5099669, -0.026553929, -2.538661, -2.7167351, -0.39705527, 2.2876751, 2.8691278, 0.8127174, -1.9909017, -2.9640949, -1.2121129, 1.6542802, 2.9997356, 1.5872481, -1.284548], &[2.0, 1.5296844, 0.33993432, -1.0096921, -1.8844446, -1.8729134, -0.980522, 0.37302494, 1.5511316, 1.9997172, 1.5078045, 0.3067481, -1.0385767, -1.8954428, -1.8608524, -0.9510739, 0.40600938, 1.5721401, 1.9988692, 1.4854981, 0.27347445, -1.0671685, -1.9059056, -1.8482653, -0.9213585, 0.4388799, 1.5927036, 1.997456, 1.4627717, 0.24012534, -1.0954585, -1.915829, -1.8351564, -0.8913793, 0.47162455, 1.612819], 5.4704056);
    }
}
