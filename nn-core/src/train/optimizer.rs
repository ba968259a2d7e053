//! Keras's optimizers ([`SGD`], [`Adam`], [`AdamW`], [`RMSprop`], [`Adagrad`]) with what Keras's
//! base optimizer does around them: the learning rate or schedule, gradient clipping
//! (`clipnorm`, `clipvalue`, `global_clipnorm`) and weight decay.
//!
//! One training step is Keras's `optimizer.apply(grads)`, with `iterations` the number of steps
//! done before it:
//!
//! 1. [`begin_step`]`(&opt, iterations, global_grad_norm_sq)` reads the learning rate at
//!    `iterations` and, with `global_clipnorm`, the scale of every gradient;
//! 2. [`apply`] to each trainable variable with its gradient and its optimizer state (initialised
//!    once by [`Optimizer::init_state`]): clipping, then weight decay, then the optimizer's own
//!    [`Optimizer::update_step`];
//! 3. then `iterations += 1`.
//!
//! Keras runs the same arithmetic in the variable's dtype, each Python constant rounded to it
//! (`1 - beta_1` is computed in double precision, then rounded); the code here copies Keras's
//! order of operations, so `f32` results agree with Keras's to float32 rounding, and `f64` ones
//! model Keras with `floatx` `float64`. Keras's reductions (gradient norms) are XLA's, whose
//! summation order may differ from the sequential sums here by an ulp.
//!
//! ```
//! use nn_core::train::optimizer::{Adam, Optimizer, apply, begin_step};
//!
//! let opt = Adam::new(0.1).clipnorm(1.0);
//! opt.validate().unwrap();
//! let mut w = [1.0f32, -1.0];
//! let mut state = [0.0f32; 4]; // opt.slots() * w.len()
//! opt.init_state(&mut state);
//! for iterations in 0..3 {
//!     let mut grad = w; // the gradient of (w0^2 + w1^2) / 2
//!     let s = begin_step(&opt, iterations, 0.0); // no global_clipnorm: no global norm needed
//!     apply(&opt, &s, iterations, &mut w, &mut grad, &mut state);
//! }
//! assert!(w[0] < 0.8 && w[1] > -0.8);
//! ```
//!
//! Not supported: Keras's `use_ema` (with `ema_momentum` and `ema_overwrite_frequency`),
//! `loss_scale_factor`, `gradient_accumulation_steps`, `exclude_from_weight_decay`, callables as
//! learning rates, and variables with `overwrite_with_gradient`. Keras also applies each
//! variable's `constraint` after the update; that belongs to the layer, not to these functions.

use super::schedule::{LearningRate, ScheduleError};
use crate::Float;
use crate::kernels::adam::AdamStep;
use core::cmp::Ordering;
use core::fmt;

/// The options every Keras optimizer takes from its base class and that change its updates.
///
/// Keras allows at most one of `clipnorm`, `global_clipnorm` and `clipvalue`
/// ([`Common::validate`] checks it); should several be set anyway, [`apply`] uses the first that
/// is above zero in that order, as Keras's `_clip_gradients` would.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Common {
    /// The learning rate: a constant or a schedule of the step.
    pub learning_rate: LearningRate,
    /// If set, every variable decays before its update: `w -= w * weight_decay * lr`.
    pub weight_decay: Option<f64>,
    /// If set (and > 0), each variable's gradient is rescaled so its L2 norm is at most this.
    pub clipnorm: Option<f64>,
    /// If set (and > 0), each gradient entry is clipped to `[-clipvalue, clipvalue]`.
    pub clipvalue: Option<f64>,
    /// If set (and > 0), all gradients are rescaled together so their joint L2 norm is at most
    /// this.
    pub global_clipnorm: Option<f64>,
}

impl Common {
    /// The given learning rate, without weight decay or clipping (Keras's defaults).
    pub const fn new(learning_rate: LearningRate) -> Self {
        Self { learning_rate, weight_decay: None, clipnorm: None, clipvalue: None, global_clipnorm: None }
    }

    /// Keras's checks: at most one of the three clipping options, and a valid schedule.
    pub const fn validate(&self) -> Result<(), OptimizerError> {
        let set = self.clipnorm.is_some() as u8
            + self.clipvalue.is_some() as u8
            + self.global_clipnorm.is_some() as u8;
        if set > 1 {
            return Err(OptimizerError::Clipping {
                clipnorm: self.clipnorm,
                clipvalue: self.clipvalue,
                global_clipnorm: self.global_clipnorm,
            });
        }
        match self.learning_rate.validate() {
            Ok(()) => Ok(()),
            Err(e) => Err(OptimizerError::LearningRate(e)),
        }
    }

    /// The clipping Keras's `_clip_gradients` does: the first option that is set and > 0, in
    /// its order.
    fn clipping(&self) -> Clipping {
        match (self.clipnorm, self.global_clipnorm, self.clipvalue) {
            (Some(c), _, _) if c > 0.0 => Clipping::Norm(c),
            (_, Some(c), _) if c > 0.0 => Clipping::Global(c),
            (_, _, Some(c)) if c > 0.0 => Clipping::Value(c),
            _ => Clipping::None,
        }
    }
}

impl Default for Common {
    /// A constant learning rate of 0.001 (the default of every Keras optimizer but SGD).
    fn default() -> Self {
        Self::new(LearningRate::Constant(0.001))
    }
}

/// Which clipping applies.
#[derive(Clone, Copy)]
enum Clipping {
    None,
    Norm(f64),
    Global(f64),
    Value(f64),
}

/// Optimizer options that Keras refuses (its `ValueError`s).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerError {
    /// More than one of `clipnorm`, `clipvalue` and `global_clipnorm` was set.
    Clipping {
        /// The `clipnorm` given.
        clipnorm: Option<f64>,
        /// The `clipvalue` given.
        clipvalue: Option<f64>,
        /// The `global_clipnorm` given.
        global_clipnorm: Option<f64>,
    },
    /// The learning-rate schedule's arguments were invalid.
    LearningRate(ScheduleError),
    /// SGD's `momentum` was outside `[0, 1]`.
    Momentum(f64),
    /// AdamW's `weight_decay` was `None`.
    WeightDecay,
}

impl fmt::Display for OptimizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Clipping { clipnorm, clipvalue, global_clipnorm } => write!(
                f,
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: \
                 clipnorm={clipnorm:?}, clipvalue={clipvalue:?}, global_clipnorm={global_clipnorm:?}"
            ),
            Self::LearningRate(e) => write!(f, "invalid learning rate: {e}"),
            Self::Momentum(m) => write!(f, "`momentum` must be a float between [0, 1]. Received: {m}"),
            Self::WeightDecay => {
                f.write_str("Argument `weight_decay` must be a float. Received: weight_decay=None")
            }
        }
    }
}

impl core::error::Error for OptimizerError {}

/// A Keras optimizer: its options, its per-variable state and its `update_step`.
///
/// The state of a trainable variable of `n` values is `slots() * n` values, slot `k` at
/// `state[k * n..(k + 1) * n]`, in the order Keras creates its optimizer variables.
pub trait Optimizer {
    /// The options of Keras's base optimizer.
    fn common(&self) -> &Common;

    /// How many state values the optimizer keeps per trainable value.
    fn slots(&self) -> usize;

    /// Writes the initial state of one variable into `state` (`slots() * n` values): zeros,
    /// unless the optimizer says otherwise.
    fn init_state<T: Float>(&self, state: &mut [T]) {
        state.fill(T::ZERO);
    }

    /// Keras's `update_step` for one variable, whose (clipped) gradient is `grad`, after weight
    /// decay, with `iteration` the optimizer's `iterations` before this step increments it and
    /// `lr` the step's learning rate. Use [`apply`], which does the clipping and weight decay
    /// first.
    ///
    /// # Panics
    ///
    /// If `grad` is not as long as `param` or `state` not `slots()` times as long.
    fn update_step<T: Float>(&self, iteration: u64, lr: T, param: &mut [T], grad: &[T], state: &mut [T]);

    /// Keras's checks on the options (its constructors' `ValueError`s).
    fn validate(&self) -> Result<(), OptimizerError> {
        self.common().validate()
    }
}

/// What one training step shares across variables, from [`begin_step`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepScalars<T> {
    /// The learning rate of this step, in `T` (Keras casts it to each variable's dtype).
    pub lr: T,
    /// The factor every gradient is multiplied by under `global_clipnorm` (1 otherwise, and
    /// then unused).
    pub global_scale: T,
}

/// Starts the training step made when the optimizer's `iterations` is `iteration`: its learning
/// rate, and with `global_clipnorm` the scale Keras's `clip_by_global_norm` gives every gradient.
///
/// `global_grad_norm_sq` is the sum of the squares of every entry of every trainable variable's
/// gradient (see [`squared_norm`]); it is read only under `global_clipnorm`. Keras's scale is
/// `clip_norm * min(1 / norm, 1 / clip_norm)` plus `norm - norm`, which makes it NaN when the
/// norm is infinite or NaN, and which need not be exactly 1 when the norm is below `clip_norm`.
pub fn begin_step<T: Float>(opt: &impl Optimizer, iteration: u64, global_grad_norm_sq: T) -> StepScalars<T> {
    let common = opt.common();
    let lr = T::of(common.learning_rate.at(iteration));
    let global_scale = match common.clipping() {
        Clipping::Global(clip_norm) => {
            let use_norm = global_grad_norm_sq.sqrt();
            // `1.0 / clip_norm` is Python arithmetic, in double precision, then rounded to T.
            let scale_for_finite = T::of(clip_norm) * minimum(T::ONE / use_norm, T::of(1.0 / clip_norm));
            // Keras's own trick: zero for a finite norm, NaN for an infinite or NaN one.
            #[allow(clippy::eq_op)]
            let nan_unless_finite = use_norm - use_norm;
            scale_for_finite + nan_unless_finite
        }
        _ => T::ONE,
    };
    StepScalars { lr, global_scale }
}

/// Applies one training step to one trainable variable, as Keras's `apply` does: clips `grad`
/// (Keras's `clip_by_norm` with `clipnorm`, the global scale with `global_clipnorm`, or
/// `clip(grad, -clipvalue, clipvalue)`), applies weight decay (`param -= param * weight_decay *
/// lr`, for every optimizer that has `weight_decay` set, AdamW by default), then the
/// optimizer's [`Optimizer::update_step`]. `grad` is scratch: it is left clipped.
///
/// Keras decays all variables before it updates any, but each variable's decay and update touch
/// only that variable, so doing both per variable gives the same values.
///
/// # Panics
///
/// If `grad` is not as long as `param` or `state` not `opt.slots()` times as long.
pub fn apply<T: Float, O: Optimizer>(
    opt: &O,
    s: &StepScalars<T>,
    iteration: u64,
    param: &mut [T],
    grad: &mut [T],
    state: &mut [T],
) {
    // The loops (a division and a square root per value for Adam) compiled for the CPU's
    // widest registers, as a model's passes are: a third of a digits MLP's step otherwise.
    #[cfg(target_arch = "x86_64")]
    {
        use crate::kernels::cpu::{self, Level};
        match cpu::level() {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA.
            Level::Avx512 => return unsafe { x86::apply_avx512(opt, s, iteration, param, grad, state) },
            // SAFETY: the CPU supports AVX2 and FMA.
            Level::Avx2 => return unsafe { x86::apply_avx2(opt, s, iteration, param, grad, state) },
            Level::Portable => {}
        }
    }
    apply_at(opt, s, iteration, param, grad, state);
}

/// One copy of [`apply`] per instruction-set level.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Float, Optimizer, StepScalars, apply_at};

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn apply_avx512<T: Float, O: Optimizer>(
        opt: &O,
        s: &StepScalars<T>,
        iteration: u64,
        param: &mut [T],
        grad: &mut [T],
        state: &mut [T],
    ) {
        apply_at(opt, s, iteration, param, grad, state);
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn apply_avx2<T: Float, O: Optimizer>(
        opt: &O,
        s: &StepScalars<T>,
        iteration: u64,
        param: &mut [T],
        grad: &mut [T],
        state: &mut [T],
    ) {
        apply_at(opt, s, iteration, param, grad, state);
    }
}

/// The body of [`apply`], inlined into each level's copy.
#[inline(always)]
fn apply_at<T: Float, O: Optimizer>(
    opt: &O,
    s: &StepScalars<T>,
    iteration: u64,
    param: &mut [T],
    grad: &mut [T],
    state: &mut [T],
) {
    let common = opt.common();
    match common.clipping() {
        Clipping::None => {}
        Clipping::Norm(clipnorm) => clip_by_norm(grad, T::of(clipnorm)),
        Clipping::Global(_) => grad.iter_mut().for_each(|g| *g *= s.global_scale),
        Clipping::Value(v) => {
            let (lo, hi) = (T::of(-v), T::of(v));
            // jnp.clip: maximum with the lower bound, then minimum with the upper, so NaN stays.
            grad.iter_mut().for_each(|g| *g = minimum(hi, maximum(lo, *g)));
        }
    }
    if let Some(wd) = common.weight_decay {
        let wd = T::of(wd);
        param.iter_mut().for_each(|p| *p -= *p * wd * s.lr);
    }
    opt.update_step(iteration, s.lr, param, grad, state);
}

/// The sum of the squares of `x`'s entries, in order: a variable's share of the
/// `global_grad_norm_sq` that [`begin_step`] takes.
pub fn squared_norm<T: Float>(x: &[T]) -> T {
    x.iter().fold(T::ZERO, |acc, &v| acc + v * v)
}

/// Keras's `_clip_by_norm`: `g * clipnorm / max(norm, clipnorm)`, applied even when the norm is
/// below `clipnorm` (where it may move a value by an ulp), and NaN everywhere if any entry is.
fn clip_by_norm<T: Float>(grad: &mut [T], clipnorm: T) {
    let l2sum = squared_norm(grad);
    // Keras's "two-tap where" keeps sqrt away from 0 (for its gradient); the value is the same.
    let l2norm = if l2sum > T::ZERO { l2sum.sqrt() } else { l2sum };
    let denominator = maximum(l2norm, clipnorm);
    grad.iter_mut().for_each(|g| *g = *g * clipnorm / denominator);
}

/// Adam's first moment `x`, or zero where smaller than 2⁻¹⁰⁰ in magnitude (why: see
/// `kernels::adam::FLUSH`).
#[inline(always)]
fn flush<T: Float>(x: T) -> T {
    if x.abs() < T::of(crate::kernels::adam::FLUSH) { T::ZERO } else { x }
}

/// `jnp.maximum`: NaN if either is (RealField's `max` would drop it).
fn maximum<T: Float>(a: T, b: T) -> T {
    match a.partial_cmp(&b) {
        None => a + b,
        Some(Ordering::Less) => b,
        Some(_) => a,
    }
}

/// `jnp.minimum`: NaN if either is.
fn minimum<T: Float>(a: T, b: T) -> T {
    match a.partial_cmp(&b) {
        None => a + b,
        Some(Ordering::Greater) => b,
        Some(_) => a,
    }
}

/// Panics unless the slices fit an optimizer with `slots` slots.
fn check_lengths<T>(slots: usize, param: &[T], grad: &[T], state: &[T]) {
    assert_eq!(grad.len(), param.len(), "gradient and variable lengths differ");
    assert_eq!(state.len(), slots * param.len(), "optimizer state must be slots() * variable length");
}

/// Builder methods for the options of [`Common`], on each optimizer.
/// Builder methods setting Keras's options by name: `.momentum(0.9)`.
macro_rules! setters {
    ($name:ident { $($field:ident: $ty:ty),* }) => {
        impl $name {
            $(
                #[doc = concat!("Sets Keras's `", stringify!($field), "`.")]
                pub const fn $field(mut self, $field: $ty) -> Self {
                    self.$field = $field;
                    self
                }
            )*
        }
    };
}

macro_rules! common_options {
    ($name:ident) => {
        impl $name {
            /// Sets the learning rate: a constant or a schedule.
            pub fn learning_rate(mut self, learning_rate: impl Into<LearningRate>) -> Self {
                self.common.learning_rate = learning_rate.into();
                self
            }

            /// Sets Keras's `weight_decay`: `w -= w * weight_decay * lr` before each update.
            pub const fn weight_decay(mut self, weight_decay: f64) -> Self {
                self.common.weight_decay = Some(weight_decay);
                self
            }

            /// Sets Keras's `clipnorm`: each variable's gradient is rescaled to an L2 norm of at
            /// most this.
            pub const fn clipnorm(mut self, clipnorm: f64) -> Self {
                self.common.clipnorm = Some(clipnorm);
                self
            }

            /// Sets Keras's `clipvalue`: each gradient entry is clipped to `[-clipvalue,
            /// clipvalue]`.
            pub const fn clipvalue(mut self, clipvalue: f64) -> Self {
                self.common.clipvalue = Some(clipvalue);
                self
            }

            /// Sets Keras's `global_clipnorm`: all gradients are rescaled together to a joint L2
            /// norm of at most this.
            pub const fn global_clipnorm(mut self, global_clipnorm: f64) -> Self {
                self.common.global_clipnorm = Some(global_clipnorm);
                self
            }
        }
    };
}

/// Keras's `SGD`: gradient descent, with optional momentum and Nesterov momentum.
///
/// Without momentum, `w -= lr * g`. With it, `velocity = momentum * velocity - lr * g`, then
/// `w += velocity`, or with `nesterov`, `w += momentum * velocity - lr * g` (the new velocity).
/// State: one slot, the velocity, only when `momentum != 0`.
// Keras's class name.
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SGD {
    /// Velocity decay, in `[0, 1]` (Keras's default: 0, plain gradient descent).
    pub momentum: f64,
    /// Whether to use Nesterov momentum (Keras's default: `false`).
    pub nesterov: bool,
    /// Learning rate (Keras's default for SGD: 0.01), weight decay and clipping.
    pub common: Common,
}

impl Default for SGD {
    /// Keras's `SGD()`: learning rate 0.01, no momentum.
    fn default() -> Self {
        Self { momentum: 0.0, nesterov: false, common: Common::new(LearningRate::Constant(0.01)) }
    }
}

impl SGD {
    /// Keras's `SGD(learning_rate)`, other options at their defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Self::default().learning_rate(learning_rate)
    }
}

setters!(SGD { momentum: f64, nesterov: bool });

common_options!(SGD);

impl Optimizer for SGD {
    fn common(&self) -> &Common {
        &self.common
    }

    fn slots(&self) -> usize {
        usize::from(self.momentum != 0.0)
    }

    #[inline(always)]
    fn update_step<T: Float>(&self, _iteration: u64, lr: T, param: &mut [T], grad: &[T], state: &mut [T]) {
        check_lengths(self.slots(), param, grad, state);
        if self.momentum != 0.0 {
            let momentum = T::of(self.momentum);
            for ((w, &g), m) in param.iter_mut().zip(grad).zip(state) {
                *m = *m * momentum - g * lr;
                if self.nesterov {
                    *w += *m * momentum - g * lr;
                } else {
                    *w += *m;
                }
            }
        } else {
            for (w, &g) in param.iter_mut().zip(grad) {
                *w -= g * lr;
            }
        }
    }

    /// Keras's checks, and SGD's own: `momentum` in `[0, 1]`.
    fn validate(&self) -> Result<(), OptimizerError> {
        self.common.validate()?;
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(OptimizerError::Momentum(self.momentum));
        }
        Ok(())
    }
}

/// Keras's `Adam`, with its optional AMSGrad variant.
///
/// At step `t = iterations + 1`: `m += (g - m) * (1 - beta_1)`, `v += (g^2 - v) * (1 - beta_2)`,
/// then `w -= m * alpha / (sqrt(v) + epsilon)` with `alpha = lr * sqrt(1 - beta_2^t) / (1 -
/// beta_1^t)`: the bias correction is folded into the step size, so `epsilon` is added to the
/// uncorrected `sqrt(v)` (the "epsilon hat" of Kingma and Ba). With `amsgrad`, the update divides
/// by the running maximum of `v` instead.
///
/// State: `m`, `v`, and with `amsgrad` the maximum of `v`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    /// Decay of the first-moment estimate (Keras's default: 0.9).
    pub beta_1: f64,
    /// Decay of the second-moment estimate (Keras's default: 0.999).
    pub beta_2: f64,
    /// Added to `sqrt(v)` for numerical stability (Keras's default: 1e-7).
    pub epsilon: f64,
    /// Whether to use AMSGrad (Keras's default: `false`).
    pub amsgrad: bool,
    /// Learning rate (Keras's default: 0.001), weight decay and clipping.
    pub common: Common,
}

impl Default for Adam {
    /// Keras's `Adam()`.
    fn default() -> Self {
        Self { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false, common: Common::default() }
    }
}

impl Adam {
    /// Keras's `Adam(learning_rate)`, other options at their defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Self::default().learning_rate(learning_rate)
    }
}

setters!(Adam { beta_1: f64, beta_2: f64, epsilon: f64, amsgrad: bool });

common_options!(Adam);

impl Optimizer for Adam {
    fn common(&self) -> &Common {
        &self.common
    }

    fn slots(&self) -> usize {
        2 + usize::from(self.amsgrad)
    }

    #[inline(always)]
    fn update_step<T: Float>(&self, iteration: u64, lr: T, param: &mut [T], grad: &[T], state: &mut [T]) {
        check_lengths(self.slots(), param, grad, state);
        // Keras: `local_step = cast(iterations + 1, dtype)`, then the powers in the dtype.
        let local_step = T::of(iteration as f64 + 1.0);
        let beta_1_power = T::of(self.beta_1).powf(local_step);
        let beta_2_power = T::of(self.beta_2).powf(local_step);
        let alpha = lr * (T::ONE - beta_2_power).sqrt() / (T::ONE - beta_1_power);
        // `1 - self.beta_1` is Python arithmetic: rounded once, not `1 - (beta_1 as T)`.
        let one_minus_beta_1 = T::of(1.0 - self.beta_1);
        let one_minus_beta_2 = T::of(1.0 - self.beta_2);
        let epsilon = T::of(self.epsilon);
        let n = param.len();
        let (m, rest) = state.split_at_mut(n);
        let (v, v_hat) = rest.split_at_mut(n);
        // Two loops rather than a test per value: the plain one vectorizes.
        if self.amsgrad {
            for (i, ((w, &g), (m, v))) in param.iter_mut().zip(grad).zip(m.iter_mut().zip(v)).enumerate() {
                *m = flush(*m + (g - *m) * one_minus_beta_1);
                *v += (g * g - *v) * one_minus_beta_2;
                v_hat[i] = maximum(v_hat[i], *v);
                *w -= *m * alpha / (v_hat[i].sqrt() + epsilon);
            }
        } else {
            let k = AdamStep { alpha, one_minus_beta_1, one_minus_beta_2, epsilon };
            if T::adam(crate::kernels::cpu::level(), &k, param, grad, m, v) {
                return;
            }
            for ((w, &g), (m, v)) in param.iter_mut().zip(grad).zip(m.iter_mut().zip(v)) {
                // Both moments read before either is written: they lie `n` values apart, for a
                // 64 × 64 kernel 16 KiB, and a load from the same offset in another 4 KiB page
                // as a store just before it waits on that store.
                let (m0, v0) = (*m, *v);
                let m1 = flush(m0 + (g - m0) * one_minus_beta_1);
                let v1 = v0 + (g * g - v0) * one_minus_beta_2;
                *m = m1;
                *v = v1;
                *w -= m1 * alpha / (v1.sqrt() + epsilon);
            }
        }
    }
}

/// Keras's `AdamW`: [`Adam`] with weight decay, which Keras's AdamW only gives a default
/// (0.004) and requires: the decay itself is the base optimizer's, `w -= w * weight_decay * lr`
/// before the Adam update (decoupled from the gradient, as Loshchilov and Hutter propose).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamW {
    /// Decay of the first-moment estimate (Keras's default: 0.9).
    pub beta_1: f64,
    /// Decay of the second-moment estimate (Keras's default: 0.999).
    pub beta_2: f64,
    /// Added to `sqrt(v)` for numerical stability (Keras's default: 1e-7).
    pub epsilon: f64,
    /// Whether to use AMSGrad (Keras's default: `false`).
    pub amsgrad: bool,
    /// Learning rate (Keras's default: 0.001), weight decay (Keras's default here: 0.004; `None`
    /// is refused by [`Optimizer::validate`]) and clipping.
    pub common: Common,
}

impl Default for AdamW {
    /// Keras's `AdamW()`: Adam's defaults and `weight_decay=0.004`.
    fn default() -> Self {
        let Adam { beta_1, beta_2, epsilon, amsgrad, common } = Adam::default();
        Self { beta_1, beta_2, epsilon, amsgrad, common: Common { weight_decay: Some(0.004), ..common } }
    }
}

impl AdamW {
    /// Keras's `AdamW(learning_rate)`, other options at their defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Self::default().learning_rate(learning_rate)
    }

    /// The Adam optimizer with the same options, which AdamW is.
    pub const fn adam(&self) -> Adam {
        Adam {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            amsgrad: self.amsgrad,
            common: self.common,
        }
    }
}

setters!(AdamW { beta_1: f64, beta_2: f64, epsilon: f64, amsgrad: bool });

common_options!(AdamW);

impl Optimizer for AdamW {
    fn common(&self) -> &Common {
        &self.common
    }

    fn slots(&self) -> usize {
        self.adam().slots()
    }

    #[inline(always)]
    fn update_step<T: Float>(&self, iteration: u64, lr: T, param: &mut [T], grad: &[T], state: &mut [T]) {
        self.adam().update_step(iteration, lr, param, grad, state);
    }

    /// Keras's checks, and AdamW's own: `weight_decay` must be set.
    fn validate(&self) -> Result<(), OptimizerError> {
        self.common.validate()?;
        if self.common.weight_decay.is_none() {
            return Err(OptimizerError::WeightDecay);
        }
        Ok(())
    }
}

/// Keras's `RMSprop`: divides the gradient by the root of a moving average of its square.
///
/// `velocity = rho * velocity + (1 - rho) * g^2`; the increment is `lr * g / sqrt(velocity +
/// epsilon)`, or when `centered`, with `average_grad = rho * average_grad + (1 - rho) * g`,
/// `lr * g / sqrt(velocity - average_grad^2 + epsilon)` (the variance instead of the second
/// moment). Then `w -= increment`, or with `momentum > 0`, `momentum_slot = momentum *
/// momentum_slot + increment` and `w -= momentum_slot` (plain momentum, not Nesterov's).
///
/// State, in Keras's order: the velocity; the momentum when `momentum > 0`; the average
/// gradient when `centered`.
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RMSprop {
    /// Decay of the moving averages (Keras's default: 0.9).
    pub rho: f64,
    /// Momentum of the increments (Keras's default: 0, none).
    pub momentum: f64,
    /// Added under the square root for numerical stability (Keras's default: 1e-7).
    pub epsilon: f64,
    /// Whether to divide by the estimated variance rather than the second moment (Keras's
    /// default: `false`).
    pub centered: bool,
    /// Learning rate (Keras's default: 0.001), weight decay and clipping.
    pub common: Common,
}

impl Default for RMSprop {
    /// Keras's `RMSprop()`.
    fn default() -> Self {
        Self { rho: 0.9, momentum: 0.0, epsilon: 1e-7, centered: false, common: Common::default() }
    }
}

impl RMSprop {
    /// Keras's `RMSprop(learning_rate)`, other options at their defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Self::default().learning_rate(learning_rate)
    }
}

setters!(RMSprop { rho: f64, momentum: f64, epsilon: f64, centered: bool });

common_options!(RMSprop);

impl Optimizer for RMSprop {
    fn common(&self) -> &Common {
        &self.common
    }

    fn slots(&self) -> usize {
        1 + usize::from(self.momentum > 0.0) + usize::from(self.centered)
    }

    #[inline(always)]
    fn update_step<T: Float>(&self, _iteration: u64, lr: T, param: &mut [T], grad: &[T], state: &mut [T]) {
        check_lengths(self.slots(), param, grad, state);
        let n = param.len();
        let (velocity, rest) = state.split_at_mut(n);
        let has_momentum = self.momentum > 0.0;
        let (momentum_slot, average_grad) = rest.split_at_mut(if has_momentum { n } else { 0 });
        let rho = T::of(self.rho);
        let one_minus_rho = T::of(1.0 - self.rho);
        let momentum = T::of(self.momentum);
        let epsilon = T::of(self.epsilon);
        for (i, ((w, &g), velocity)) in param.iter_mut().zip(grad).zip(velocity).enumerate() {
            *velocity = rho * *velocity + one_minus_rho * (g * g);
            let denominator = if self.centered {
                let a = &mut average_grad[i];
                *a = rho * *a + one_minus_rho * g;
                *velocity - *a * *a + epsilon
            } else {
                *velocity + epsilon
            };
            let increment = lr * g / denominator.sqrt();
            if has_momentum {
                let m = &mut momentum_slot[i];
                *m = momentum * *m + increment;
                *w -= *m;
            } else {
                *w -= increment;
            }
        }
    }
}

/// Keras's `Adagrad`: divides the gradient by the root of the sum of its squares so far.
///
/// `accumulator += g^2`, then `w -= lr * g / sqrt(accumulator + epsilon)`. State: the
/// accumulator, which starts at `initial_accumulator_value`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adagrad {
    /// The accumulator's starting value, non-negative (Keras's default: 0.1).
    pub initial_accumulator_value: f64,
    /// Added under the square root for numerical stability (Keras's default: 1e-7).
    pub epsilon: f64,
    /// Learning rate (Keras's default: 0.001), weight decay and clipping.
    pub common: Common,
}

impl Default for Adagrad {
    /// Keras's `Adagrad()`.
    fn default() -> Self {
        Self { initial_accumulator_value: 0.1, epsilon: 1e-7, common: Common::default() }
    }
}

impl Adagrad {
    /// Keras's `Adagrad(learning_rate)`, other options at their defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Self::default().learning_rate(learning_rate)
    }
}

setters!(Adagrad { initial_accumulator_value: f64, epsilon: f64 });

common_options!(Adagrad);

impl Optimizer for Adagrad {
    fn common(&self) -> &Common {
        &self.common
    }

    fn slots(&self) -> usize {
        1
    }

    /// The accumulator starts at `initial_accumulator_value` (rounded to `T`, as Keras's
    /// `Constant` initializer does).
    fn init_state<T: Float>(&self, state: &mut [T]) {
        state.fill(T::of(self.initial_accumulator_value));
    }

    #[inline(always)]
    fn update_step<T: Float>(&self, _iteration: u64, lr: T, param: &mut [T], grad: &[T], state: &mut [T]) {
        check_lengths(self.slots(), param, grad, state);
        let epsilon = T::of(self.epsilon);
        for ((w, &g), accumulator) in param.iter_mut().zip(grad).zip(state) {
            *accumulator += g * g;
            *w -= lr * g / (*accumulator + epsilon).sqrt();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `steps` updates of one variable in f64 with a constant gradient per step.
    fn run(opt: &impl Optimizer, param: &mut [f64], grads: &[&[f64]], state: &mut [f64]) {
        opt.init_state(state);
        for (iteration, g) in grads.iter().enumerate() {
            let mut grad = [0.0; 8];
            let grad = &mut grad[..g.len()];
            grad.copy_from_slice(g);
            let s = begin_step(opt, iteration as u64, squared_norm(grad));
            apply(opt, &s, iteration as u64, param, grad, state);
        }
    }

    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-14 * w.abs().max(1.0), "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn defaults_are_keras_3s() {
        assert_eq!(SGD::default(), SGD::new(0.01));
        assert_eq!((SGD::default().momentum, SGD::default().nesterov), (0.0, false));
        let adam = Adam::default();
        assert_eq!((adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad), (0.9, 0.999, 1e-7, false));
        assert_eq!(adam.common, Common::new(LearningRate::Constant(0.001)));
        let adamw = AdamW::default();
        assert_eq!(
            adamw.adam(),
            Adam { common: Common { weight_decay: Some(0.004), ..adam.common }, ..adam }
        );
        let rms = RMSprop::default();
        assert_eq!((rms.rho, rms.momentum, rms.epsilon, rms.centered), (0.9, 0.0, 1e-7, false));
        assert_eq!(rms.common.learning_rate, LearningRate::Constant(0.001));
        let ada = Adagrad::default();
        assert_eq!((ada.initial_accumulator_value, ada.epsilon), (0.1, 1e-7));
        assert_eq!(ada.common.learning_rate, LearningRate::Constant(0.001));
        for common in [SGD::default().common, adam.common, rms.common, ada.common] {
            assert_eq!(
                (common.weight_decay, common.clipnorm, common.clipvalue, common.global_clipnorm),
                (None, None, None, None)
            );
        }
    }

    #[test]
    fn new_sets_only_the_learning_rate_and_keeps_adamws_weight_decay() {
        assert_eq!(AdamW::new(0.1).common.weight_decay, Some(0.004));
        assert_eq!(Adam::new(0.1).common, Common::new(LearningRate::Constant(0.1)));
        let schedule = LearningRate::cosine_decay(0.1, 10.0);
        assert_eq!(RMSprop::new(schedule).common.learning_rate, schedule);
    }

    #[test]
    fn slots_count_the_state_keras_creates() {
        assert_eq!(SGD::default().slots(), 0);
        assert_eq!(SGD::default().momentum(0.9).slots(), 1);
        assert_eq!(Adam::default().slots(), 2);
        assert_eq!(Adam::default().amsgrad(true).slots(), 3);
        assert_eq!(AdamW::default().amsgrad(true).slots(), 3);
        assert_eq!(RMSprop::default().slots(), 1);
        assert_eq!(RMSprop::default().momentum(0.5).slots(), 2);
        assert_eq!(RMSprop::default().momentum(0.5).centered(true).slots(), 3);
        assert_eq!(Adagrad::default().slots(), 1);
    }

    #[test]
    fn adagrad_state_starts_at_the_initial_accumulator_value_and_others_at_zero() {
        let mut state = [7.0f32; 3];
        Adagrad::default().initial_accumulator_value(0.25).init_state(&mut state);
        assert_eq!(state, [0.25; 3]);
        let mut state = [7.0f32; 6];
        Adam::default().init_state(&mut state);
        assert_eq!(state, [0.0; 6]);
    }

    #[test]
    fn sgd_steps_against_the_gradient() {
        let mut w = [1.0, -2.0];
        run(&SGD::new(0.1), &mut w, &[&[0.5, 0.25]], &mut []);
        assert_close(&w, &[0.95, -2.025]);
    }

    #[test]
    fn sgd_momentum_accumulates_a_velocity() {
        // velocity: -0.05, then 0.9 * -0.05 - 0.05 = -0.095.
        let (mut w, mut v) = ([1.0], [0.0]);
        run(&SGD::new(0.1).momentum(0.9), &mut w, &[&[0.5], &[0.5]], &mut v);
        assert_close(&v, &[-0.095]);
        assert_close(&w, &[1.0 - 0.05 - 0.095]);
    }

    #[test]
    fn nesterov_steps_by_momentum_times_the_new_velocity_minus_lr_times_the_gradient() {
        // Step 1: v = -0.05, w += 0.9 * -0.05 - 0.05. Step 2: v = -0.095, w += 0.9 * -0.095 - 0.05.
        let (mut w, mut v) = ([1.0], [0.0]);
        run(&SGD::new(0.1).momentum(0.9).nesterov(true), &mut w, &[&[0.5], &[0.5]], &mut v);
        assert_close(&w, &[1.0 - 0.095 - 0.1355]);
    }

    #[test]
    fn adam_with_a_constant_gradient_and_no_epsilon_steps_by_lr() {
        // Bias-corrected m / sqrt(v) is exactly sign(g) for a constant g.
        let (mut w, mut s) = ([1.0, 1.0], [0.0; 4]);
        run(&Adam::new(0.1).epsilon(0.0), &mut w, &[&[0.5, -3.0], &[0.5, -3.0]], &mut s);
        assert_close(&w, &[0.8, 1.2]);
        // m = 0.05 then 0.095; v = 0.00025 then 0.00049975.
        assert_close(&s[..4], &[0.095, -0.57, 0.00049975, 0.00049975 * 36.0]);
    }

    #[test]
    fn adam_zeroes_a_first_moment_smaller_than_2_to_the_minus_100_and_nothing_else() {
        // A zero gradient: m decays by 0.9 a step, v by 0.999.
        let opt = Adam::new(0.1);
        // Zero weights, so that the tiny steps show.
        let (mut w, mut s) = ([0.0; 3], [1e-30, 8e-31, -8e-31, 1e-40, 1e-40, 1e-40]);
        let mut grad = [0.0; 3];
        apply(&opt, &begin_step(&opt, 5, 0.0), 5, &mut w, &mut grad, &mut s);
        assert_eq!(s[..3], [1e-30 + (0.0 - 1e-30) * (1.0 - 0.9), 0.0, 0.0]);
        // The second moment is not flushed, even where subnormal.
        assert_eq!(s[3..], [1e-40 + (0.0 - 1e-40) * (1.0 - 0.999); 3]);
        assert!(w[0] < 0.0 && w[1..] == [0.0; 2], "{w:?}");
        // The same in `f32`, where the kernels run.
        let (mut w, mut s) = ([1.0f32; 17], [0.0f32; 34]);
        // Seventeen: a whole AVX-512 register and one lane past it.
        s[..17].fill(1e-30);
        for i in [1, 2, 3, 16] {
            s[i] = if i == 2 { -8e-31 } else { 8e-31 };
        }
        let mut grad = [0.0f32; 17];
        apply(&opt, &begin_step(&opt, 5, 0.0), 5, &mut w, &mut grad, &mut s);
        let zeroed: alloc::vec::Vec<usize> = (0..17).filter(|&i| s[i] == 0.0).collect();
        assert_eq!(zeroed, [1, 2, 3, 16]);
    }

    #[test]
    fn amsgrad_divides_by_the_largest_second_moment_seen() {
        let opt = Adam::new(0.1).epsilon(0.0).amsgrad(true);
        let (mut w, mut s) = ([0.0], [0.0; 3]);
        run(&opt, &mut w, &[&[1.0], &[0.0]], &mut s);
        // Step 2: m = 0.09, v = 0.000999 but v_hat stays 0.001.
        let alpha_2 = 0.1 * (1.0 - 0.999f64 * 0.999).sqrt() / (1.0 - 0.81);
        assert_close(&s, &[0.09, 0.000999, 0.001]);
        assert_close(&w, &[-0.1 - 0.09 * alpha_2 / 0.001f64.sqrt()]);
    }

    #[test]
    fn adamw_decays_the_weights_by_lr_times_weight_decay_before_the_adam_step() {
        let (mut w, mut s) = ([1.0], [0.0; 2]);
        run(&AdamW::new(0.1).weight_decay(0.1).epsilon(0.0), &mut w, &[&[0.5]], &mut s);
        assert_close(&w, &[1.0 - 0.01 - 0.1]);
    }

    #[test]
    fn weight_decay_applies_to_any_optimizer_with_the_steps_learning_rate() {
        // lr at step 0 is 0.2, at step 1 it is 0.1: w = (1 - 0.5 * 0.2) then * (1 - 0.5 * 0.1).
        let lr = LearningRate::piecewise_constant_decay(&[0.0], &[0.2, 0.1]).unwrap();
        let mut w = [1.0];
        run(&SGD::new(lr).weight_decay(0.5), &mut w, &[&[0.0], &[0.0]], &mut []);
        assert_close(&w, &[0.9 * 0.95]);
    }

    #[test]
    fn rmsprop_divides_by_the_root_of_the_mean_square() {
        let (mut w, mut s) = ([0.0], [0.0]);
        run(&RMSprop::new(0.01).epsilon(0.0), &mut w, &[&[1.0]], &mut s);
        assert_close(&s, &[0.1]);
        assert_close(&w, &[-0.01 / 0.1f64.sqrt()]);
    }

    #[test]
    fn centered_rmsprop_divides_by_the_root_of_the_variance_and_momentum_carries_increments() {
        let opt = RMSprop::new(0.01).epsilon(0.0).momentum(0.5).centered(true);
        let (mut w, mut s) = ([0.0], [0.0; 3]);
        run(&opt, &mut w, &[&[1.0], &[1.0]], &mut s);
        // Step 1: velocity 0.1, average 0.1, increment 0.01 / sqrt(0.1 - 0.01).
        // Step 2: velocity 0.19, average 0.19, increment 0.01 / sqrt(0.19 - 0.0361).
        let inc_1 = 0.01 / 0.09f64.sqrt();
        let inc_2 = 0.01 / (0.19 - 0.19f64 * 0.19).sqrt();
        assert_close(&s, &[0.19, 0.5 * inc_1 + inc_2, 0.19]);
        assert_close(&w, &[-inc_1 - (0.5 * inc_1 + inc_2)]);
    }

    #[test]
    fn adagrad_divides_by_the_root_of_the_accumulated_squares() {
        let opt = Adagrad::new(0.1).epsilon(0.0);
        let (mut w, mut s) = ([0.0], [0.0]);
        run(&opt, &mut w, &[&[1.0], &[-2.0]], &mut s);
        assert_close(&s, &[5.1]);
        assert_close(&w, &[-0.1 / 1.1f64.sqrt() + 0.2 / 5.1f64.sqrt()]);
    }

    #[test]
    fn clipnorm_rescales_each_gradient_to_the_norm_and_leaves_smaller_ones() {
        let mut g = [3.0, 4.0];
        clip_by_norm(&mut g, 1.0);
        assert_close(&g, &[0.6, 0.8]);
        let mut g = [3.0, 4.0];
        clip_by_norm(&mut g, 10.0);
        assert_close(&g, &[3.0, 4.0]);
        let mut g = [0.0, 0.0];
        clip_by_norm(&mut g, 1.0);
        assert_eq!(g, [0.0, 0.0]);
        let mut g = [f64::NAN, 1.0];
        clip_by_norm(&mut g, 1.0);
        assert!(g.iter().all(|g| g.is_nan()), "Keras's maximum propagates NaN to every entry");
    }

    #[test]
    fn clipvalue_clips_each_entry_and_keeps_nan() {
        let opt = SGD::new(1.0).clipvalue(1.0);
        let (mut w, mut g) = ([0.0; 4], [-2.0, 0.3, 2.0, f64::NAN]);
        apply(&opt, &begin_step(&opt, 0, 0.0), 0, &mut w, &mut g, &mut []);
        assert_eq!(g[..3], [-1.0, 0.3, 1.0]);
        assert!(g[3].is_nan());
    }

    #[test]
    fn global_clipnorm_scales_all_gradients_by_their_joint_norm() {
        let opt = SGD::new(1.0).global_clipnorm(2.5);
        // Norms 3 and 4: joint norm 5, scale 0.5.
        let (g0, g1) = ([3.0f64], [0.0, 4.0]);
        let s = begin_step(&opt, 0, squared_norm(&g0) + squared_norm(&g1));
        assert_eq!(s.global_scale, 0.5);
        let (mut w, mut g) = ([0.0, 0.0], g1);
        apply(&opt, &s, 0, &mut w, &mut g, &mut []);
        assert_eq!(w, [0.0, -2.0]);
        // Below the limit, the scale is clip_norm * (1 / clip_norm), here exactly 1.
        assert_eq!(begin_step(&opt, 0, 1.0f64).global_scale, 1.0);
        assert!(begin_step(&opt, 0, f64::INFINITY).global_scale.is_nan());
        assert_eq!(begin_step(&opt, 0, 0.0f64).global_scale, 1.0);
        // Without global_clipnorm the norm is not read.
        assert_eq!(begin_step(&SGD::new(1.0), 0, f64::NAN).global_scale, 1.0);
    }

    #[test]
    fn clipping_options_are_tried_in_keras_order_and_only_when_positive() {
        let both = Common { clipnorm: Some(1.0), clipvalue: Some(0.1), ..Common::default() };
        assert!(matches!(both.clipping(), Clipping::Norm(1.0)));
        let zero_norm = Common { clipnorm: Some(0.0), clipvalue: Some(0.1), ..Common::default() };
        assert!(matches!(zero_norm.clipping(), Clipping::Value(0.1)));
        let global = Common { global_clipnorm: Some(2.0), clipvalue: Some(0.1), ..Common::default() };
        assert!(matches!(global.clipping(), Clipping::Global(2.0)));
    }

    #[test]
    fn validation_refuses_what_keras_refuses() {
        assert_eq!(SGD::default().validate(), Ok(()));
        assert_eq!(AdamW::default().validate(), Ok(()));
        assert_eq!(
            Adam::default().clipnorm(1.0).global_clipnorm(2.0).validate(),
            Err(OptimizerError::Clipping {
                clipnorm: Some(1.0),
                clipvalue: None,
                global_clipnorm: Some(2.0)
            })
        );
        assert_eq!(SGD::default().momentum(1.5).validate(), Err(OptimizerError::Momentum(1.5)));
        assert_eq!(SGD::default().momentum(-0.1).validate(), Err(OptimizerError::Momentum(-0.1)));
        let no_decay =
            AdamW { common: Common { weight_decay: None, ..Common::default() }, ..AdamW::default() };
        assert_eq!(no_decay.validate(), Err(OptimizerError::WeightDecay));
        assert_eq!(
            RMSprop::new(LearningRate::cosine_decay(0.1, 0.0)).validate(),
            Err(OptimizerError::LearningRate(ScheduleError::DecaySteps(0.0)))
        );
    }

    #[test]
    #[should_panic(expected = "slots()")]
    fn a_state_of_the_wrong_length_panics() {
        Adam::default().update_step(0, 0.1f32, &mut [0.0; 2], &[0.0; 2], &mut [0.0; 3]);
    }

    // Keras parity. Each expected table was printed by Keras 3.15.1 (JAX 0.10.2 backend, CPU):
    //
    //     import os; os.environ["KERAS_BACKEND"] = "jax"
    //     import numpy as np, keras
    //     from keras import optimizers as O
    //     from keras.optimizers import schedules as S
    //     W = [[0.5, -1.25, 2.0, 0.0, -0.75], [1.0, -2.0, 0.5]]
    //     G = [[[0.1, -0.2, 0.3, -0.4, 0.5], [0.3, 0.1, -0.2]],
    //          [[1.5, -0.5, 0.25, 2.0, -1.0], [-2.0, 0.4, 1.0]],
    //          [[-0.3, 0.8, -1.2, 0.05, 0.6], [0.5, -0.5, 0.0]],
    //          [[0.7, 0.0, -0.9, 1.1, -0.2], [1.2, 0.9, -0.7]]]
    //     def run(opt, nvars=1):
    //         vs = [keras.Variable(np.array(w, "float32")) for w in W[:nvars]]
    //         for g in G:
    //             opt.apply_gradients([(np.array(gi, "float32"), v) for gi, v in zip(g, vs)])
    //             print("[" + ", ".join(", ".join(str(x) for x in v.numpy()) for v in vs) + "],")
    //
    // with the call in each test's comment: the variables (concatenated) after each of the 4
    // steps. The same steps run here in f32, with the same 1 or 2 variables. When this was
    // written every value was bit-identical to Keras's but one, an ulp off in the last step of
    // the warmup test (its learning rate comes from an f64 schedule here, a float32 one in
    // Keras); the tolerance leaves room for XLA's pow and reductions.

    const W: [f32; 8] = [0.5, -1.25, 2.0, 0.0, -0.75, 1.0, -2.0, 0.5];
    const G: [[f32; 8]; 4] = [
        [0.1, -0.2, 0.3, -0.4, 0.5, 0.3, 0.1, -0.2],
        [1.5, -0.5, 0.25, 2.0, -1.0, -2.0, 0.4, 1.0],
        [-0.3, 0.8, -1.2, 0.05, 0.6, 0.5, -0.5, 0.0],
        [0.7, 0.0, -0.9, 1.1, -0.2, 1.2, 0.9, -0.7],
    ];

    /// Runs Keras's 4 steps on the first variable of `W` (5 values), or on both when the rows of
    /// `keras` have 8 values, and checks each step within 1e-6 relative of Keras's values.
    fn assert_keras<const N: usize>(opt: &impl Optimizer, keras: [[f32; N]; 4]) {
        let sizes: &[usize] = if N == 8 { &[5, 3] } else { &[5] };
        let k = opt.slots();
        let mut param = W;
        let mut state = [0.0f32; 3 * 8];
        let (mut at, mut at_state) = (0, 0);
        for &n in sizes {
            opt.init_state(&mut state[at_state..at_state + k * n]);
            (at, at_state) = (at + n, at_state + k * n);
        }
        for (iteration, want) in keras.iter().enumerate() {
            let mut grad = G[iteration];
            let sq = squared_norm(&grad[..5]) + if N == 8 { squared_norm(&grad[5..]) } else { 0.0 };
            let s = begin_step(opt, iteration as u64, sq);
            let (mut at, mut at_state) = (0, 0);
            for &n in sizes {
                let (p, g) = (&mut param[at..at + n], &mut grad[at..at + n]);
                apply(opt, &s, iteration as u64, p, g, &mut state[at_state..at_state + k * n]);
                (at, at_state) = (at + n, at_state + k * n);
            }
            for (i, (&got, &want)) in param.iter().zip(want).enumerate() {
                assert!(
                    (got - want).abs() <= 1e-6 * want.abs(),
                    "step {iteration}, value {i}: {got} vs Keras's {want}"
                );
            }
        }
    }

    #[test]
    fn sgd_matches_keras() {
        // run(O.SGD(0.1))
        assert_keras(
            &SGD::new(0.1),
            [
                [0.49, -1.23, 1.97, 0.040000003, -0.8],
                [0.34, -1.1800001, 1.945, -0.16, -0.7],
                [0.37, -1.2600001, 2.065, -0.16499999, -0.76],
                [0.3, -1.2600001, 2.155, -0.275, -0.74],
            ],
        );
    }

    #[test]
    fn sgd_momentum_matches_keras() {
        // run(O.SGD(0.1, momentum=0.9))
        assert_keras(
            &SGD::new(0.1).momentum(0.9),
            [
                [0.49, -1.23, 1.97, 0.040000003, -0.8],
                [0.331, -1.1620001, 1.918, -0.124, -0.745],
                [0.2179, -1.1808001, 1.9912, -0.2766, -0.7555],
                [0.04610999, -1.19772, 2.14708, -0.52393997, -0.74495],
            ],
        );
    }

    #[test]
    fn sgd_nesterov_matches_keras() {
        // run(O.SGD(0.1, momentum=0.9, nesterov=True))
        assert_keras(
            &SGD::new(0.1).momentum(0.9).nesterov(true),
            [
                [0.481, -1.212, 1.943, 0.076000005, -0.845],
                [0.1879, -1.1008, 1.8712, -0.27159998, -0.6955],
                [0.116110004, -1.19772, 2.05708, -0.41393995, -0.76495004],
                [-0.10850101, -1.2129481, 2.287372, -0.7465459, -0.73545504],
            ],
        );
    }

    #[test]
    fn sgd_weight_decay_matches_keras() {
        // run(O.SGD(0.1, weight_decay=0.05))
        assert_keras(
            &SGD::new(0.1).weight_decay(0.05),
            [
                [0.4875, -1.22375, 1.96, 0.040000003, -0.79625],
                [0.3350625, -1.1676313, 1.9252001, -0.1602, -0.6922687],
                [0.3633872, -1.2417932, 2.035574, -0.164399, -0.7488074],
                [0.29157028, -1.2355841, 2.115396, -0.273577, -0.7250633],
            ],
        );
    }

    #[test]
    fn adam_matches_keras() {
        // run(O.Adam(0.01))
        assert_keras(
            &Adam::new(0.01),
            [
                [0.4900004, -1.2400002, 1.9900001, 0.0099998545, -0.7599999],
                [0.4821301, -1.2306033, 1.9800886, 0.004016382, -0.7563389],
                [0.4774148, -1.231849, 1.9837943, -0.0007641334, -0.75686777],
                [0.4714861, -1.2328693, 1.9896408, -0.006970199, -0.75639004],
            ],
        );
    }

    #[test]
    fn adam_amsgrad_matches_keras() {
        // run(O.Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-3, amsgrad=True))
        assert_keras(
            &Adam::new(0.01).beta_1(0.8).beta_2(0.99).epsilon(1e-3).amsgrad(true),
            [
                [0.4909091, -1.2404763, 1.9903226, 0.009756095, -0.7598039],
                [0.48272657, -1.23104, 1.9807068, 0.0033310633, -0.7556312],
                [0.47829244, -1.2330152, 1.9851971, -0.0014736862, -0.75629705],
                [0.47240916, -1.2345196, 1.9918883, -0.007923264, -0.7557517],
            ],
        );
    }

    #[test]
    fn adamw_matches_keras() {
        // run(O.AdamW(0.01, weight_decay=0.1))
        assert_keras(
            &AdamW::new(0.01).weight_decay(0.1),
            [
                [0.4895004, -1.2387502, 1.9880002, 0.0099998545, -0.75924987],
                [0.4811406, -1.2281146, 1.9761006, 0.0040063825, -0.75482965],
                [0.47594416, -1.2281321, 1.9778302, -0.00077813957, -0.7546037],
                [0.46953952, -1.2279243, 1.9816989, -0.006983427, -0.75337136],
            ],
        );
    }

    #[test]
    fn rmsprop_matches_keras() {
        // run(O.RMSprop(0.01))
        assert_keras(
            &RMSprop::new(0.01),
            [
                [0.4683788, -1.2183776, 1.9683774, 0.031622678, -0.7816227],
                [0.4368191, -1.188812, 1.9475079, 0.0005541947, -0.7530513],
                [0.44332993, -1.2155173, 1.9778013, -0.00026425754, -0.7687406],
                [0.4290436, -1.2155173, 1.9968932, -0.016537994, -0.76330984],
            ],
        );
    }

    #[test]
    fn rmsprop_centered_with_momentum_matches_keras() {
        // run(O.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True))
        assert_keras(
            &RMSprop::new(0.01).rho(0.8).momentum(0.5).centered(true),
            [
                [0.47500077, -1.2250001, 1.9750001, 0.02499995, -0.775],
                [0.43720946, -1.187174, 1.9434909, 0.013809364, -0.7664462],
                [0.4234429, -1.1876546, 1.9502774, 0.007559371, -0.7738595],
                [0.40408438, -1.1878949, 1.9697329, -0.01007831, -0.77329016],
            ],
        );
    }

    #[test]
    fn adagrad_matches_keras() {
        // run(O.Adagrad(0.1, initial_accumulator_value=0.2, epsilon=1e-6))
        assert_keras(
            &Adagrad::new(0.1).initial_accumulator_value(0.2).epsilon(1e-6),
            [
                [0.47817826, -1.2091752, 1.9442915, 0.06666657, -0.8245355],
                [0.38254178, -1.1377467, 1.9021839, -0.029116042, -0.74149],
                [0.4013285, -1.2130044, 1.9918135, -0.03150992, -0.78608763],
                [0.36118075, -1.2130044, 2.0476024, -0.07810796, -0.77138335],
            ],
        );
    }

    #[test]
    fn clipnorm_matches_keras() {
        // run(O.SGD(0.1, clipnorm=1.0))
        assert_keras(
            &SGD::new(0.1).clipnorm(1.0),
            [
                [0.49, -1.23, 1.97, 0.040000003, -0.8],
                [0.43545455, -1.2118182, 1.9609091, -0.032727275, -0.76363635],
                [0.45430607, -1.262089, 2.0363152, -0.035869196, -0.8013394],
                [0.41047037, -1.262089, 2.0926754, -0.10475387, -0.7888149],
            ],
        );
    }

    #[test]
    fn clipvalue_matches_keras() {
        // run(O.SGD(0.1, clipvalue=0.5))
        assert_keras(
            &SGD::new(0.1).clipvalue(0.5),
            [
                [0.49, -1.23, 1.97, 0.040000003, -0.8],
                [0.44, -1.1800001, 1.945, -0.009999998, -0.75],
                [0.47, -1.23, 1.995, -0.014999999, -0.8],
                [0.42, -1.23, 2.045, -0.065, -0.78000003],
            ],
        );
    }

    #[test]
    fn global_clipnorm_over_two_variables_matches_keras() {
        // run(O.SGD(0.1, global_clipnorm=1.5), 2)
        assert_keras(
            &SGD::new(0.1).global_clipnorm(1.5),
            [
                [0.49, -1.23, 1.97, 0.040000003, -0.8, 0.97, -2.01, 0.52],
                [
                    0.42691934,
                    -1.2089732,
                    1.9594866,
                    -0.044107553,
                    -0.75794625,
                    1.0541075,
                    -2.0268216,
                    0.4779462,
                ],
                [
                    0.45276052,
                    -1.2778829,
                    2.0628512,
                    -0.048414413,
                    -0.8096286,
                    1.0110389,
                    -1.983753,
                    0.4779462,
                ],
                [
                    0.40710834,
                    -1.2778829,
                    2.1215467,
                    -0.12015355,
                    -0.79658514,
                    0.932778,
                    -2.0424485,
                    0.5235984,
                ],
            ],
        );
    }

    #[test]
    fn a_schedule_is_read_at_iterations_before_the_increment_as_keras_does() {
        // run(O.SGD(S.PiecewiseConstantDecay([1, 2], [0.1, 0.05, 0.01])))
        assert_keras(
            &SGD::new(LearningRate::piecewise_constant_decay(&[1.0, 2.0], &[0.1, 0.05, 0.01]).unwrap()),
            [
                [0.49, -1.23, 1.97, 0.040000003, -0.8],
                [0.34, -1.1800001, 1.945, -0.16, -0.7],
                [0.35500002, -1.22, 2.005, -0.1625, -0.73],
                [0.34800002, -1.22, 2.0140002, -0.1735, -0.72800004],
            ],
        );
    }

    #[test]
    fn adam_with_warmup_weight_decay_and_clipnorm_matches_keras() {
        // run(O.Adam(S.CosineDecay(0.0, 2, warmup_target=0.05, warmup_steps=2),
        //            weight_decay=0.2, clipnorm=0.5))
        // The first step's rate is 0, so it moves nothing (Adam's moments still update).
        let lr = LearningRate::CosineDecay {
            initial_learning_rate: 0.0,
            decay_steps: 2.0,
            alpha: 0.0,
            warmup_target: Some(0.05),
            warmup_steps: 2.0,
        };
        assert_keras(
            &Adam::new(lr).weight_decay(0.2).clipnorm(0.5),
            [
                [0.5, -1.25, 2.0, 0.0, -0.75],
                [0.47542202, -1.2194601, 1.9695761, -0.004969853, -0.75215715],
                [0.44847396, -1.2137021, 1.9626732, -0.013707416, -0.7669431],
                [0.43028143, -1.2102698, 1.9652059, -0.025302136, -0.7700367],
            ],
        );
    }
}
