//! Keras's training loop: `compile`, then `fit`, `evaluate`, `train_on_batch` and
//! `test_on_batch`, over any model the macros made [`Trainable`].
//!
//! Everything a step needs (the values of the pass, the gradients, the optimizer's state, the
//! batch's staging) is allocated when the first batch of a size arrives; every later step of
//! that size allocates nothing.

use super::loss::LossFunction;
use super::metric::{Mean, MetricFunction};
use super::optimizer::{self, Optimizer, OptimizerError};
use super::{Trainable, Update, Write};
use crate::init::Rng;
use crate::tensor::Tensors;
use crate::{Float, Model};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// What a model output is trained on: its loss, the loss's weight in the total and the metrics
/// logged for it.
#[derive(Clone, Debug)]
struct Head {
    loss: LossFunction,
    weight: f64,
    metrics: Vec<MetricFunction>,
    /// Values per sample of the output, and its last axis.
    len: usize,
    last: usize,
    /// Target values per sample.
    target_len: usize,
}

/// `model.compile(optimizer, loss)`, as a method of every trainable model.
pub trait Compile: Trainable + crate::Zeroable {
    /// Keras's `model.compile(optimizer=..., loss=...)`: a [`Trainer`] borrowing the model,
    /// with one loss for every output (`loss.into()`), or one per output ([`Losses`]).
    /// Metrics and `loss_weights` are set on the trainer.
    fn compile<O: Optimizer>(
        &mut self,
        optimizer: O,
        loss: impl Into<Losses>,
    ) -> Result<Trainer<'_, Self, O>, CompileError> {
        Trainer::new(self, optimizer, loss.into())
    }
}

impl<M: Trainable + crate::Zeroable> Compile for M {}

/// The losses of `compile`: one for every output, or one per output in order.
#[derive(Clone, Debug)]
pub struct Losses(Vec<LossFunction>);

impl<L: Into<LossFunction>> From<L> for Losses {
    fn from(loss: L) -> Self {
        Losses(vec![loss.into()])
    }
}

impl<const N: usize> From<[LossFunction; N]> for Losses {
    fn from(losses: [LossFunction; N]) -> Self {
        Losses(losses.to_vec())
    }
}

/// A `compile` that does not fit the model.
#[derive(Clone, Debug, PartialEq)]
pub enum CompileError {
    /// As many losses, loss weights or metric lists are needed as the model has outputs.
    Outputs {
        /// What was counted.
        what: &'static str,
        /// The model's outputs.
        expected: usize,
        /// How many were given.
        found: usize,
    },
    /// A metric name Keras does not know.
    Metric(String),
    /// The optimizer's options contradict each other.
    Optimizer(OptimizerError),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Outputs { what, expected, found } => {
                write!(f, "the model has {expected} outputs but {found} {what} were given")
            }
            CompileError::Metric(name) => write!(f, "unknown metric `{name}`"),
            CompileError::Optimizer(e) => write!(f, "optimizer: {e}"),
        }
    }
}

impl core::error::Error for CompileError {}

/// Data that does not fit the model.
#[derive(Clone, Debug, PartialEq)]
pub enum DataError {
    /// Inputs and targets hold different numbers of samples, or a flat slice is not a whole
    /// number of samples.
    Samples {
        /// What was counted (`"input 0"`, `"targets 1"`).
        what: String,
        /// Samples expected.
        expected: usize,
        /// Values found.
        found: usize,
    },
    /// A target Keras would not take as meant (a class id out of range), at `sample`.
    Target {
        /// The output.
        output: usize,
        /// The sample.
        sample: usize,
    },
    /// Targets of the wrong size for their output's loss: typed targets are shaped like the
    /// output, while a sparse loss takes one class id per row (pass those through the flat
    /// API, as Keras takes them from numpy).
    TargetSize {
        /// The output.
        output: usize,
        /// Values per sample the loss takes.
        expected: usize,
        /// Values per sample the targets hold.
        found: usize,
    },
    /// An input value that is not a valid token id.
    Id {
        /// The input.
        input: usize,
        /// The sample.
        sample: usize,
    },
    /// A batch size of zero, or no data.
    Empty,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Samples { what, expected, found } => {
                write!(f, "{what}: expected {expected} samples, found {found}")
            }
            DataError::Target { output, sample } => {
                write!(f, "targets of output {output}: sample {sample} is not a class of the output")
            }
            DataError::TargetSize { output, expected, found } => write!(
                f,
                "targets of output {output}: its loss takes {expected} values a sample, the targets \
                 hold {found} (a sparse loss takes class ids: pass them through the flat API)"
            ),
            DataError::Id { input, sample } => {
                write!(f, "input {input}: sample {sample} holds an invalid id")
            }
            DataError::Empty => f.write_str("no samples, or a batch size of zero"),
        }
    }
}

impl core::error::Error for DataError {}

/// Flat inputs and targets, as [`Flat`] holds them: `(x, y)`.
pub type FlatSet<'a, T> = (&'a [&'a [T]], &'a [&'a [T]]);

/// Samples for training or evaluation: the model's inputs and each output's targets.
pub trait Data<M: Model> {
    /// How many samples.
    fn samples(&self) -> usize;
    /// Writes sample `i`'s input into `x`.
    fn input(&self, i: usize, x: &mut M::Input) -> Result<(), DataError>;
    /// Writes sample `i`'s targets for output `k` into `y`.
    fn target(&self, i: usize, k: usize, y: &mut [M::Scalar]);
    /// Writes the targets for output `k` of consecutive samples from `first` on into `y`, `len`
    /// values a sample: one copy where the data holds them in a row.
    fn targets(&self, first: usize, k: usize, len: usize, y: &mut [M::Scalar]) {
        if len > 0 {
            for (s, sample) in y.chunks_exact_mut(len).enumerate() {
                self.target(first + s, k, sample);
            }
        }
    }
    /// How many target values a sample holds for output `k`, if the data fixes it (typed
    /// targets are shaped like the output); the trainer refuses data whose count is not the
    /// loss's.
    fn target_len(&self, k: usize) -> Option<usize> {
        let _ = k;
        None
    }
    /// The inputs of `n` consecutive samples from `first` on, if the data holds them as the
    /// model takes them: a step then reads them where they are instead of copying them.
    fn inputs(&self, first: usize, n: usize) -> Option<&[M::Input]> {
        let _ = (first, n);
        None
    }
}

/// Typed data: one model input per sample, one target per sample shaped like the output.
#[derive(Clone, Copy, Debug)]
pub struct Typed<'a, M: Model> {
    /// The inputs.
    pub x: &'a [M::Input],
    /// The targets.
    pub y: &'a [M::Output],
}

impl<M: Model> Data<M> for Typed<'_, M> {
    fn samples(&self) -> usize {
        self.x.len().min(self.y.len())
    }
    fn input(&self, i: usize, x: &mut M::Input) -> Result<(), DataError> {
        *x = self.x[i];
        Ok(())
    }
    fn target(&self, i: usize, k: usize, y: &mut [M::Scalar]) {
        self.y[i].write_flat(k, y);
    }
    fn target_len(&self, k: usize) -> Option<usize> {
        Some(M::Output::len_of(k))
    }
    fn inputs(&self, first: usize, n: usize) -> Option<&[M::Input]> {
        self.x.get(first..first + n)
    }
}

/// Flat data as numpy holds it: `x[i]` every sample of input `i`, row-major, one after another;
/// `y[k]` every sample's targets for output `k` (class ids as floats for a sparse loss).
#[derive(Clone, Copy, Debug)]
pub struct Flat<'a, T> {
    /// The inputs.
    pub x: &'a [&'a [T]],
    /// The targets.
    pub y: &'a [&'a [T]],
    samples: usize,
    target_lens: &'a [usize],
}

impl<M: Model> Data<M> for Flat<'_, M::Scalar> {
    fn samples(&self) -> usize {
        self.samples
    }
    fn input(&self, i: usize, x: &mut M::Input) -> Result<(), DataError> {
        for (k, part) in self.x.iter().enumerate() {
            let len = M::Input::len_of(k);
            x.read_flat(k, &part[i * len..(i + 1) * len])
                .map_err(|_| DataError::Id { input: k, sample: i })?;
        }
        Ok(())
    }
    fn target(&self, i: usize, k: usize, y: &mut [M::Scalar]) {
        let len = self.target_lens[k];
        y.copy_from_slice(&self.y[k][i * len..(i + 1) * len]);
    }
    fn targets(&self, first: usize, k: usize, len: usize, y: &mut [M::Scalar]) {
        y.copy_from_slice(&self.y[k][first * len..first * len + y.len()]);
    }
    fn inputs(&self, first: usize, n: usize) -> Option<&[M::Input]> {
        let [x] = self.x else { return None };
        let len = M::Input::len_of(0);
        M::Input::view_flat(x.get(first * len..(first + n) * len)?)
    }
}

/// What one batch needs, allocated once for batches of up to `capacity` samples.
struct Staging<M: Trainable> {
    capacity: usize,
    buffers: M::Buffers,
    xs: Vec<M::Input>,
    /// Per output, the batch's targets, flat.
    targets: Vec<Vec<M::Scalar>>,
    /// The loss's gradient for the batch, one output at a time.
    grad: Vec<M::Scalar>,
    /// The batch's outputs in inference mode (`test_on_batch`).
    ys: Vec<M::Output>,
}

/// The running means a step adds to: the loss (weighted by batch size, as Keras's loss
/// tracker), each output's loss when there are several, and each metric.
#[derive(Clone, Debug)]
pub struct Tracker<T> {
    loss: Mean<T>,
    output_losses: Vec<Mean<T>>,
    metrics: Vec<Vec<Mean<T>>>,
}

impl<T: Float> Tracker<T> {
    fn reset(&mut self) {
        self.loss.reset();
        self.output_losses.iter_mut().for_each(Mean::reset);
        self.metrics.iter_mut().flatten().for_each(Mean::reset);
    }
}

/// Keras's logs: each logged value by its name, `"loss"` first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs(pub Vec<(String, f64)>);

impl Logs {
    /// The value logged as `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

impl fmt::Display for Logs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" - ")?;
            }
            write!(f, "{name}: {value:.4}")?;
        }
        Ok(())
    }
}

/// A model compiled for training: the model, its optimizer and its state, the losses and
/// metrics of each output.
pub struct Trainer<'m, M: Trainable, O> {
    pub(super) model: &'m mut M,
    optimizer: O,
    heads: Vec<Head>,
    /// Each head's target values per sample, as flat data's checks take them.
    target_lens: Vec<usize>,
    /// Output layer names, prefixing per-output logs of a model with several outputs.
    names: Vec<String>,
    grads: Box<M>,
    /// The optimizer's slots for every trained value, tensor after tensor.
    state: Vec<M::Scalar>,
    iteration: u64,
    pub(super) rng: Rng,
    staging: Option<Staging<M>>,
    tracker: Tracker<M::Scalar>,
}

impl<'m, M: Trainable + crate::Zeroable, O: Optimizer> Trainer<'m, M, O> {
    fn new(model: &'m mut M, optimizer: O, losses: Losses) -> Result<Self, CompileError> {
        optimizer.validate().map_err(CompileError::Optimizer)?;
        let outputs = M::Output::COUNT;
        let losses = match losses.0.len() {
            1 => vec![losses.0[0]; outputs],
            n if n == outputs => losses.0,
            found => return Err(CompileError::Outputs { what: "losses", expected: outputs, found }),
        };
        let heads: Vec<Head> = losses
            .into_iter()
            .enumerate()
            .map(|(k, loss)| {
                let shape = M::OUTPUT_SHAPES[k];
                let (len, last) = (M::Output::len_of(k), shape.last().copied().unwrap_or(1));
                Head {
                    loss,
                    weight: 1.0,
                    metrics: Vec::new(),
                    len,
                    last,
                    target_len: loss.target_len(len, last),
                }
            })
            .collect();
        let names = (0..outputs)
            .map(|k| String::from(M::OUTPUT_LAYERS.get(k).copied().unwrap_or("output")))
            .collect();
        let mut state = Vec::new();
        let mut grads = crate::boxed::zeroed_box::<M>();
        grads.configure();
        let slots = optimizer.slots();
        model.zip_trained(&mut grads, &mut |p, _| {
            let start = state.len();
            state.resize(start + slots * p.len(), M::Scalar::ZERO);
            optimizer.init_state(&mut state[start..]);
        });
        let tracker = Tracker {
            loss: Mean::new(),
            output_losses: vec![Mean::new(); outputs],
            metrics: vec![Vec::new(); outputs],
        };
        Ok(Trainer {
            model,
            optimizer,
            target_lens: heads.iter().map(|h| h.target_len).collect(),
            heads,
            names,
            grads,
            state,
            iteration: 0,
            rng: Rng::new(0),
            staging: None,
            tracker,
        })
    }

    /// Keras's `metrics=[...]` for every output: `"accuracy"`, `"mae"`, ... (see
    /// [`MetricFunction::named`]).
    pub fn metrics(mut self, names: &[&str]) -> Result<Self, CompileError> {
        for k in 0..self.heads.len() {
            self = self.output_metrics(k, names)?;
        }
        Ok(self)
    }

    /// The metrics of output `k` alone, as Keras's `metrics=[[...], [...]]`.
    pub fn output_metrics(mut self, k: usize, names: &[&str]) -> Result<Self, CompileError> {
        let outputs = self.heads.len();
        let head = self.heads.get_mut(k).ok_or(CompileError::Outputs {
            what: "metric lists",
            expected: outputs,
            found: k + 1,
        })?;
        head.metrics = names
            .iter()
            .map(|n| MetricFunction::named(n).ok_or_else(|| CompileError::Metric(String::from(*n))))
            .collect::<Result<_, _>>()?;
        self.tracker.metrics[k] = vec![Mean::new(); head.metrics.len()];
        Ok(self)
    }

    /// Keras's `loss_weights`: output `k`'s loss counts `weights[k]` times in the total.
    pub fn loss_weights(mut self, weights: &[f64]) -> Result<Self, CompileError> {
        if weights.len() != self.heads.len() {
            return Err(CompileError::Outputs {
                what: "loss weights",
                expected: self.heads.len(),
                found: weights.len(),
            });
        }
        for (head, w) in self.heads.iter_mut().zip(weights) {
            head.weight = *w;
        }
        Ok(self)
    }

    /// Seeds the draws of shuffling, dropout and noise.
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = Rng::new(seed);
        self
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        self.model
    }

    /// The optimizer's step count, Keras's `optimizer.iterations`.
    pub fn iterations(&self) -> u64 {
        self.iteration
    }

    /// Keras's `model.summary()` followed by what a training step over `batch` samples holds
    /// ([`Trainer::memory`]).
    pub fn summary(&self, batch: usize) -> TrainingSummary {
        TrainingSummary { model: self.model.summary(), memory: self.memory(batch) }
    }

    /// The memory a training step over `batch` samples holds, a constant of the model and
    /// optimizer: the values of the pass and their gradients, the weights' gradients and the
    /// optimizer's state.
    pub fn memory(&self, batch: usize) -> Memory {
        Memory {
            batch,
            values: batch * M::BYTES_PER_SAMPLE,
            gradients: core::mem::size_of::<M>(),
            optimizer_state: self.state.len() * core::mem::size_of::<M::Scalar>(),
        }
    }

    /// Stages `n` samples of `data`, sample `s` of the batch being `pick(s)`, and checks the
    /// targets. The inputs are copied into the staging unless the data holds the batch as the
    /// model takes it ([`Data::inputs`]); then they are returned, for the step to read in place.
    fn load<'d>(
        &mut self,
        data: &'d dyn Data<M>,
        n: usize,
        batch: Batch<'_>,
    ) -> Result<Option<&'d [M::Input]>, DataError> {
        let heads = &self.heads;
        let staging = match &mut self.staging {
            Some(s) if s.capacity >= n => s,
            _ => {
                self.staging = Some(Staging::new(heads, n));
                self.staging.as_mut().expect("staged above")
            }
        };
        let inputs = match batch {
            Batch::From(first) => data.inputs(first, n),
            Batch::Order(_) => None,
        };
        if inputs.is_none() {
            for s in 0..n {
                data.input(batch.pick(s), &mut staging.xs[s])?;
            }
        }
        for (k, head) in heads.iter().enumerate() {
            let len = head.target_len;
            if let Some(found) = data.target_len(k).filter(|&found| found != len) {
                return Err(DataError::TargetSize { output: k, expected: len, found });
            }
            let y = &mut staging.targets[k][..n * len];
            match batch {
                Batch::From(first) => data.targets(first, k, len, y),
                Batch::Order(_) => {
                    for (s, sample) in y.chunks_exact_mut(len.max(1)).enumerate() {
                        data.target(batch.pick(s), k, sample);
                    }
                }
            }
            // The whole batch at once: the position of a bad target names its sample.
            head.loss
                .check_target(y, head.last)
                .map_err(|at| DataError::Target { output: k, sample: batch.pick(at / len.max(1)) })?;
        }
        Ok(inputs)
    }
}

/// Which samples of the data a batch holds.
#[derive(Clone, Copy)]
enum Batch<'a> {
    /// Consecutive ones, from this one on.
    From(usize),
    /// These ones, in this order (a shuffled epoch's).
    Order(&'a [usize]),
}

impl Batch<'_> {
    /// The data's index of the batch's `s`th sample.
    fn pick(self, s: usize) -> usize {
        match self {
            Batch::From(first) => first + s,
            Batch::Order(order) => order[s],
        }
    }
}

impl<M: Trainable> Staging<M> {
    fn new(heads: &[Head], n: usize) -> Self {
        let widest = heads.iter().map(|h| h.len).max().unwrap_or(0) * n;
        Staging {
            capacity: n,
            buffers: M::buffers(n),
            xs: vec![M::Input::ZEROED; n],
            targets: heads.iter().map(|h| vec![M::Scalar::ZERO; n * h.target_len]).collect(),
            grad: vec![M::Scalar::ZERO; widest],
            ys: vec![M::Output::ZEROED; n],
        }
    }
}

impl<M: Trainable + crate::Zeroable, O: Optimizer> Trainer<'_, M, O> {
    /// One step on the staged batch of `n` (its inputs `xs` where [`Trainer::load`] left them
    /// in place): forward, losses, backward, update. Returns the batch's total loss.
    fn step(&mut self, n: usize, xs: Option<&[M::Input]>) -> M::Scalar {
        let level = crate::kernels::cpu::level();
        let staging = self.staging.as_mut().expect("staged");
        let xs = xs.unwrap_or(&staging.xs[..n]);
        let penalty =
            crate::dispatch::forward_train(level, self.model, &mut staging.buffers, xs, &mut self.rng);
        // Keras's total loss: the compiled losses, then what the layers added (`model.losses`).
        let mut total = M::Scalar::ZERO;
        for (k, head) in self.heads.iter().enumerate() {
            let positions = (head.len / head.last.max(1)).max(1);
            let scale = M::Scalar::of(head.weight) / M::Scalar::of((n * positions) as f64);
            // The whole batch in one call: the loss sums its rows in order, as sample after
            // sample would.
            let (len, target_len) = (n * head.len, head.target_len);
            let y_true = &staging.targets[k][..n * target_len];
            let y_pred = &M::output(&staging.buffers, k, n)[..len];
            let grad = &mut staging.grad[..len];
            let sum = head.loss.forward_backward(y_true, y_pred, head.last, Some((&mut *grad, scale)));
            for (m, metric) in self.tracker.metrics[k].iter_mut().zip(&head.metrics) {
                let samples =
                    y_true.chunks_exact(target_len.max(1)).zip(y_pred.chunks_exact(head.len.max(1)));
                for (t, p) in samples {
                    m.update(metric.sample_value(t, p, head.last), 1);
                }
            }
            let dy = &mut M::output_grad(&mut staging.buffers, k, n)[..len];
            for (d, g) in dy.iter_mut().zip(grad.iter()) {
                *d += *g;
            }
            let loss = sum / M::Scalar::of((n * positions) as f64);
            self.tracker.output_losses[k].update(loss * M::Scalar::of(n as f64), n);
            total += M::Scalar::of(head.weight) * loss;
        }
        total += M::Scalar::of(penalty);
        self.tracker.loss.update(total * M::Scalar::of(n as f64), n);
        // The sweep sets every trained weight's gradient: nothing to zero first.
        crate::dispatch::backward(level, self.model, &mut staging.buffers, xs, &mut self.grads, Write::Set);
        self.apply_gradients();
        // Values layers derive from their weights (BatchNormalization's folded scale and
        // shift) follow the update.
        self.model.configure();
        total
    }

    /// Keras's `optimizer.apply_gradients`: the global norm first (for `global_clipnorm`),
    /// then each trained tensor clipped, decayed and updated.
    fn apply_gradients(&mut self) {
        // The global norm costs a pass over every gradient: only `global_clipnorm` reads it.
        let mut norm_sq = M::Scalar::ZERO;
        if self.optimizer.common().global_clipnorm.is_some() {
            self.model.zip_trained(&mut self.grads, &mut |_, g| norm_sq += optimizer::squared_norm(g));
        }
        let scalars = optimizer::begin_step(&self.optimizer, self.iteration, norm_sq);
        let (opt, iteration, slots) = (&self.optimizer, self.iteration, self.optimizer.slots());
        let mut state = &mut self.state[..];
        let update: &mut Update<'_, M::Scalar> = &mut |p, g| {
            let (mine, rest) = core::mem::take(&mut state).split_at_mut(slots * p.len());
            state = rest;
            // `apply` clips the gradient in place.
            optimizer::apply(opt, &scalars, iteration, p, g, mine);
        };
        self.model.zip_trained(&mut self.grads, update);
        self.iteration += 1;
    }
}

/// The bytes a training step holds (see [`Trainer::memory`]); `Display` writes them in a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    /// The batch size.
    pub batch: usize,
    /// Every value of the pass over the batch, what layers keep for their gradients, and the
    /// gradient of each value.
    pub values: usize,
    /// The gradient of every weight (a copy of the model's shape).
    pub gradients: usize,
    /// The optimizer's slots.
    pub optimizer_state: usize,
}

impl Memory {
    /// Every byte a step holds.
    pub fn total(&self) -> usize {
        self.values + self.gradients + self.optimizer_state
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kb = |b: usize| b as f64 / 1024.0;
        write!(
            f,
            "Training step at batch {}: {:.1} KB (values and their gradients {:.1} KB, weight gradients {:.1} KB, \
             optimizer state {:.1} KB)",
            self.batch,
            kb(self.total()),
            kb(self.values),
            kb(self.gradients),
            kb(self.optimizer_state)
        )
    }
}

/// A model's summary and the memory of its training step, as [`Trainer::summary`] prints them.
#[derive(Clone, Copy, Debug)]
pub struct TrainingSummary {
    /// The model's summary table.
    pub model: crate::Summary,
    /// What a step holds.
    pub memory: Memory,
}

impl fmt::Display for TrainingSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.model, self.memory)
    }
}

/// How `fit` shows its progress on standard error, as Keras's `verbose`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Nothing (`verbose=0`).
    Silent,
    /// A progress bar through each epoch, then its line (`verbose=1`, Keras's default).
    #[default]
    Bar,
    /// One line per epoch (`verbose=2`).
    Line,
}

/// The options of `fit`, Keras's keyword arguments, with Keras's defaults.
#[derive(Clone, Copy, Debug)]
pub struct Fit {
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per step; the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Whether each epoch visits the samples in a new random order (drawn from the trainer's
    /// seed, [`Trainer::seed`]).
    pub shuffle: bool,
    /// The fraction of the samples, taken from the end before any shuffling, held out to
    /// evaluate after each epoch (`val_` logs), as Keras's `validation_split`.
    pub validation_split: f64,
    /// Progress on standard error.
    pub verbose: Verbosity,
}

impl Default for Fit {
    fn default() -> Self {
        Fit { epochs: 1, batch_size: 32, shuffle: true, validation_split: 0.0, verbose: Verbosity::Bar }
    }
}

/// What `fit` logged, epoch by epoch (Keras's `History.history`, by epoch rather than by key).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Each epoch's logs.
    pub epochs: Vec<Logs>,
}

impl History {
    /// The values logged as `name`, epoch by epoch (`history.history["loss"]`).
    pub fn get(&self, name: &str) -> Vec<f64> {
        self.epochs.iter().filter_map(|l| l.get(name)).collect()
    }
}

/// Whether training goes on after a callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop after this epoch (Keras's `model.stop_training = True`).
    Stop,
}

/// Called by `fit` after every epoch (Keras's `Callback.on_epoch_end`), with the epoch's logs
/// and the model; a closure `|epoch, logs| Control::Continue` is one.
pub trait Callback<M> {
    /// After epoch `epoch` (from 0).
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut M) -> Control;
    /// After step `batch` (from 0) of an epoch, with the running logs (Keras's
    /// `on_train_batch_end`): `logs()` builds them, so a callback that does not read them
    /// costs the step nothing.
    fn on_train_batch_end(&mut self, batch: usize, logs: &dyn Fn() -> Logs, model: &M) {
        let _ = (batch, logs, model);
    }
    /// After the last epoch.
    fn on_train_end(&mut self, model: &mut M) {
        let _ = model;
    }
}

impl<M, F: FnMut(usize, &Logs) -> Control> Callback<M> for F {
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _: &mut M) -> Control {
        self(epoch, logs)
    }
}

impl<M: Trainable + crate::Zeroable, O: Optimizer> Trainer<'_, M, O> {
    /// Keras's `train_on_batch(x, y)`: one step on the batch, returning its loss (the metrics
    /// are in [`Trainer::logs`]). Allocates nothing once a batch this large was seen.
    pub fn train_on_batch(&mut self, x: &[M::Input], y: &[M::Output]) -> Result<f64, DataError> {
        self.train_batch(&Typed::<M> { x, y })
    }

    /// [`Trainer::train_on_batch`] on flat data as numpy holds it (see [`Flat`]).
    pub fn train_on_batch_flat(&mut self, x: &[&[M::Scalar]], y: &[&[M::Scalar]]) -> Result<f64, DataError> {
        // Borrowed out of the trainer for the step, so that a step allocates nothing.
        let lens = core::mem::take(&mut self.target_lens);
        let result = self.flat(x, y, &lens).and_then(|data| self.train_batch(&data));
        self.target_lens = lens;
        result
    }

    fn train_batch(&mut self, data: &dyn Data<M>) -> Result<f64, DataError> {
        let n = data.samples();
        if n == 0 {
            return Err(DataError::Empty);
        }
        self.tracker.reset();
        let xs = self.load(data, n, Batch::From(0))?;
        Ok(self.step(n, xs).as_f64())
    }

    /// Keras's `test_on_batch(x, y)`: the batch's loss in inference mode, without training
    /// (the metrics are in [`Trainer::logs`]).
    pub fn test_on_batch(&mut self, x: &[M::Input], y: &[M::Output]) -> Result<f64, DataError> {
        self.tracker.reset();
        let n = x.len().min(y.len());
        if n == 0 {
            return Err(DataError::Empty);
        }
        let data = Typed::<M> { x, y };
        let xs = self.load(&data, n, Batch::From(0))?;
        Ok(self.test_step(n, xs).as_f64())
    }

    /// The running means since the last reset: `"loss"`, each output's loss when there are
    /// several (`"<output layer>_loss"`), each metric; sorted by name as Keras shows them.
    pub fn logs(&self) -> Logs {
        let several = self.heads.len() > 1;
        let mut logs = vec![(String::from("loss"), self.tracker.loss.result().as_f64())];
        for (k, head) in self.heads.iter().enumerate() {
            let prefix = if several { alloc::format!("{}_", self.names[k]) } else { String::new() };
            if several {
                logs.push((alloc::format!("{prefix}loss"), self.tracker.output_losses[k].result().as_f64()));
            }
            for (metric, mean) in head.metrics.iter().zip(&self.tracker.metrics[k]) {
                logs.push((alloc::format!("{prefix}{}", metric.name()), mean.result().as_f64()));
            }
        }
        logs.sort_by(|a, b| a.0.cmp(&b.0));
        Logs(logs)
    }

    /// Keras's `model.evaluate(x, y, batch_size)`: the loss and metrics over the data in
    /// inference mode.
    pub fn evaluate(
        &mut self,
        x: &[M::Input],
        y: &[M::Output],
        batch_size: usize,
    ) -> Result<Logs, DataError> {
        self.evaluate_data(&Typed::<M> { x, y }, 0..x.len().min(y.len()), batch_size)
    }

    /// [`Trainer::evaluate`] on flat data.
    pub fn evaluate_flat(
        &mut self,
        x: &[&[M::Scalar]],
        y: &[&[M::Scalar]],
        batch_size: usize,
    ) -> Result<Logs, DataError> {
        let lens = self.target_lens();
        let data = self.flat(x, y, &lens)?;
        let n = Data::<M>::samples(&data);
        self.evaluate_data(&data, 0..n, batch_size)
    }

    fn evaluate_data(
        &mut self,
        data: &dyn Data<M>,
        range: core::ops::Range<usize>,
        batch_size: usize,
    ) -> Result<Logs, DataError> {
        if batch_size == 0 || range.is_empty() {
            return Err(DataError::Empty);
        }
        self.tracker.reset();
        let mut start = range.start;
        while start < range.end {
            let n = batch_size.min(range.end - start);
            let xs = self.load(data, n, Batch::From(start))?;
            self.test_step(n, xs);
            start += n;
        }
        Ok(self.logs())
    }

    /// Losses and metrics of the staged batch of `n` (inputs as for [`Trainer::step`]) in
    /// inference mode.
    fn test_step(&mut self, n: usize, xs: Option<&[M::Input]>) -> M::Scalar {
        let staging = self.staging.as_mut().expect("staged");
        let xs = xs.unwrap_or(&staging.xs[..n]);
        crate::dispatch::predict_batch(&*self.model, xs, &mut staging.ys[..n]);
        let mut total = M::Scalar::ZERO;
        for (k, head) in self.heads.iter().enumerate() {
            let positions = (head.len / head.last.max(1)).max(1);
            let mut sum = M::Scalar::ZERO;
            for s in 0..n {
                let y_true = &staging.targets[k][s * head.target_len..(s + 1) * head.target_len];
                let y_pred = &mut staging.grad[..head.len];
                staging.ys[s].write_flat(k, y_pred);
                let y_pred = &*y_pred;
                sum += head.loss.forward_backward(y_true, y_pred, head.last, None);
                for (m, metric) in self.tracker.metrics[k].iter_mut().zip(&head.metrics) {
                    m.update(metric.sample_value(y_true, y_pred, head.last), 1);
                }
            }
            let loss = sum / M::Scalar::of((n * positions) as f64);
            self.tracker.output_losses[k].update(loss * M::Scalar::of(n as f64), n);
            total += M::Scalar::of(head.weight) * loss;
        }
        self.tracker.loss.update(total * M::Scalar::of(n as f64), n);
        total
    }

    /// Keras's `model.fit(x, y, epochs=..., batch_size=..., ...)` on typed data.
    pub fn fit(
        &mut self,
        x: &[M::Input],
        y: &[M::Output],
        options: Fit,
        callbacks: &mut [&mut dyn Callback<M>],
    ) -> Result<History, DataError> {
        if x.len() != y.len() {
            return Err(DataError::Samples { what: "targets".into(), expected: x.len(), found: y.len() });
        }
        self.fit_data(&Typed::<M> { x, y }, None, options, callbacks)
    }

    /// [`Trainer::fit`] with validation data evaluated after every epoch (Keras's
    /// `validation_data=(vx, vy)`), logged with a `val_` prefix.
    pub fn fit_validated(
        &mut self,
        (x, y): (&[M::Input], &[M::Output]),
        (vx, vy): (&[M::Input], &[M::Output]),
        options: Fit,
        callbacks: &mut [&mut dyn Callback<M>],
    ) -> Result<History, DataError> {
        let val = Typed::<M> { x: vx, y: vy };
        self.fit_data(&Typed::<M> { x, y }, Some(&val), options, callbacks)
    }

    /// [`Trainer::fit`] on flat data as numpy holds it (see [`Flat`]).
    pub fn fit_flat(
        &mut self,
        x: &[&[M::Scalar]],
        y: &[&[M::Scalar]],
        options: Fit,
        callbacks: &mut [&mut dyn Callback<M>],
    ) -> Result<History, DataError> {
        let lens = self.target_lens();
        let data = self.flat(x, y, &lens)?;
        self.fit_data(&data, None, options, callbacks)
    }

    /// [`Trainer::fit_flat`] with flat validation data evaluated after every epoch.
    pub fn fit_flat_validated(
        &mut self,
        (x, y): FlatSet<'_, M::Scalar>,
        (vx, vy): FlatSet<'_, M::Scalar>,
        options: Fit,
        callbacks: &mut [&mut dyn Callback<M>],
    ) -> Result<History, DataError> {
        let lens = self.target_lens();
        let (data, val) = (self.flat(x, y, &lens)?, self.flat(vx, vy, &lens)?);
        self.fit_data(&data, Some(&val), options, callbacks)
    }

    fn fit_data(
        &mut self,
        data: &dyn Data<M>,
        validation: Option<&dyn Data<M>>,
        options: Fit,
        callbacks: &mut [&mut dyn Callback<M>],
    ) -> Result<History, DataError> {
        let total = data.samples();
        // Keras holds out the last samples, before shuffling.
        let held = if validation.is_none() && options.validation_split > 0.0 {
            total - (total as f64 * (1.0 - options.validation_split)) as usize
        } else {
            0
        };
        let train = total - held;
        if options.batch_size == 0 || train == 0 {
            return Err(DataError::Empty);
        }
        let mut history = History::default();
        let mut order: Vec<usize> = (0..train).collect();
        let steps = train.div_ceil(options.batch_size);
        for epoch in 0..options.epochs {
            if options.shuffle {
                shuffle(&mut order, &mut self.rng);
            }
            self.tracker.reset();
            let mut bar = progress::Bar::start(options.verbose, epoch, options.epochs, steps);
            for step in 0..steps {
                let start = step * options.batch_size;
                let n = options.batch_size.min(train - start);
                // Unshuffled, the batch is consecutive samples, which the data may hold in place.
                let batch =
                    if options.shuffle { Batch::Order(&order[start..start + n]) } else { Batch::From(start) };
                let xs = self.load(data, n, batch)?;
                self.step(n, xs);
                // Logs are drawn only when shown: the step itself allocates nothing.
                bar.step(step + 1, &|| self.logs());
                for callback in callbacks.iter_mut() {
                    callback.on_train_batch_end(step, &|| self.logs(), &*self.model);
                }
            }
            let mut logs = self.logs();
            let val = match validation {
                Some(v) => Some(self.evaluate_data(v, 0..v.samples(), options.batch_size)?),
                None if held > 0 => Some(self.evaluate_data(data, train..total, options.batch_size)?),
                None => None,
            };
            if let Some(val) = val {
                logs.0.extend(val.0.into_iter().map(|(k, v)| (alloc::format!("val_{k}"), v)));
            }
            bar.finish(&logs);
            let mut stop = false;
            for callback in callbacks.iter_mut() {
                stop |= callback.on_epoch_end(epoch, &logs, self.model) == Control::Stop;
            }
            history.epochs.push(logs);
            if stop {
                break;
            }
        }
        for callback in callbacks.iter_mut() {
            callback.on_train_end(self.model);
        }
        Ok(history)
    }

    /// Target values per sample, per output.
    fn target_lens(&self) -> Vec<usize> {
        self.target_lens.clone()
    }

    /// Checks flat data's slices against the model and each other.
    fn flat<'d>(
        &self,
        x: &'d [&'d [M::Scalar]],
        y: &'d [&'d [M::Scalar]],
        target_lens: &'d [usize],
    ) -> Result<Flat<'d, M::Scalar>, DataError> {
        let count = |what: &str, k: usize, expected: usize, found: usize| DataError::Samples {
            what: alloc::format!("{what} {k}"),
            expected,
            found,
        };
        if x.len() != M::Input::COUNT {
            return Err(count("inputs", x.len(), M::Input::COUNT, x.len()));
        }
        if y.len() != self.heads.len() {
            return Err(count("targets", y.len(), self.heads.len(), y.len()));
        }
        let samples = x[0].len() / M::Input::len_of(0).max(1);
        for (k, part) in x.iter().enumerate() {
            if part.len() != samples * M::Input::len_of(k) {
                return Err(count("input", k, samples, part.len()));
            }
        }
        for (k, part) in y.iter().enumerate() {
            if part.len() != samples * target_lens[k] {
                return Err(count("targets", k, samples, part.len()));
            }
        }
        Ok(Flat { x, y, samples, target_lens })
    }
}

/// Fisher–Yates with the trainer's generator.
fn shuffle(order: &mut [usize], rng: &mut Rng) {
    for i in (1..order.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

mod progress;
