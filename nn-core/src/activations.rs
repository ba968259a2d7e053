//! Activation functions, with Keras 3's formulas and defaults (`keras/src/activations/activations.py`,
//! backed by `jax.nn` for the jax backend).
//!
//! Each activation is a small `Copy` type. Those without options are zero-sized; options are stored
//! as `f64` so that a model can be built in a `const` context whatever its element type. An
//! activation is used either as the `A` parameter of [`Dense`](crate::layers::Dense) or on its own
//! in an [`Activation`](crate::layers::Activation) layer.
//!
//! ```
//! use nn_core::activations::{ActivationFn, Elementwise, LeakyRelu, Softmax};
//! use nn_core::nalgebra::Vector3;
//!
//! assert_eq!(LeakyRelu { negative_slope: 0.1 }.eval(-2.0f32), -0.2);
//! let mut v = Vector3::new(1000.0f32, 0.0, -1000.0);
//! Softmax.apply(&mut v); // stable for large |x|
//! assert_eq!(v, Vector3::new(1.0, 0.0, 0.0));
//! ```

use crate::Float;
use crate::layer::Zeroable;
use crate::tensor::Tensor;
use core::fmt::Debug;

/// What every activation declares: Keras's name for it and its Keras defaults.
pub trait ActivationMeta: Copy + Debug + PartialEq {
    /// Keras's name for it (`"relu"`, `"softmax"`, ...).
    const NAME: &'static str;
    /// The activation with Keras's default options.
    const DEFAULT: Self;
    /// Which gate function of the recurrent cells' SIMD kernels this is, if one
    /// ([`crate::kernels::gates`]): a cell whose activations are all such runs its gates there.
    #[doc(hidden)]
    const GATE: Option<GateFn> = None;
}

/// The activations the recurrent cells' gate kernels compute.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateFn {
    /// [`Sigmoid`].
    Sigmoid,
    /// [`Tanh`].
    Tanh,
}

/// An activation over a tensor of any rank; those that are not elementwise (softmax) act on
/// each run of the last axis, as Keras's `axis=-1`.
pub trait ActivationFn: ActivationMeta {
    /// Applies the activation in place to `x`, rows of `last` values each.
    fn apply_rows<T: Float>(&self, x: &mut [T], last: usize);

    /// Applies the activation in place.
    #[inline(always)]
    fn apply<X: Tensor>(&self, x: &mut X) {
        self.apply_rows(x.as_mut_slice(), X::LAST);
    }

    /// [`ActivationFn::apply_rows`] over a training batch, inlined into the caller's pass so
    /// that it compiles for its level; `apply_rows` itself may stay out of line (softmax's,
    /// inlined into every level of an inference pass, grew `examples/mnist_mlp.rs` by 31 KB).
    #[inline(always)]
    fn apply_batch<T: Float>(&self, x: &mut [T], last: usize) {
        self.apply_rows(x, last);
    }

    /// [`ActivationFn::apply_batch`] of `x` into `y` (as long as `x`): a training pass keeps
    /// the pre-activation and writes the activation beside it, in one pass where the
    /// activation allows.
    #[inline(always)]
    fn apply_batch_from<T: Float>(&self, x: &[T], y: &mut [T], last: usize) {
        let y = &mut y[..x.len()];
        y.copy_from_slice(x);
        self.apply_batch(y, last);
    }

    /// The backward pass: turns `dy`, the gradient with respect to the activation's output
    /// `y`, into the gradient with respect to its input `x`, in place, rows of `last` values.
    /// The derivative is the one JAX's autodiff takes of Keras's formula (at a kink, the side
    /// `jax.nn` picks: `relu'(0) = 0`, `leaky_relu'(0) = 1`).
    fn backward_rows<T: Float>(&self, x: &[T], y: &[T], dy: &mut [T], last: usize);
}

/// An activation that acts on each element on its own; every such type is an [`ActivationFn`].
pub trait Elementwise: ActivationMeta {
    /// The activation of one value.
    fn eval<T: Float>(&self, x: T) -> T;

    /// Its derivative at `x`, where it is `y` (whichever is cheaper to use).
    fn derivative<T: Float>(&self, x: T, y: T) -> T;
}

impl<E: Elementwise> ActivationFn for E {
    #[inline(always)]
    fn apply_rows<T: Float>(&self, x: &mut [T], _last: usize) {
        // Over the plain slice: nalgebra's element iterator is strided and does not vectorize.
        for v in x {
            *v = self.eval(*v);
        }
    }

    #[inline(always)]
    fn apply_batch_from<T: Float>(&self, x: &[T], y: &mut [T], _last: usize) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = self.eval(*x);
        }
    }

    #[inline(always)]
    fn backward_rows<T: Float>(&self, x: &[T], y: &[T], dy: &mut [T], _last: usize) {
        for ((d, x), y) in dy.iter_mut().zip(x).zip(y) {
            *d *= self.derivative(*x, *y);
        }
    }
}

#[inline(always)]
fn c<T: Float>(v: f64) -> T {
    T::of(v)
}

/// `max(x, 0)` (0 for NaN, as the comparison gave it). A `max`, not `if x > 0 { x } else { 0 }`:
/// LLVM saw that select's store of `x` back into itself as no store, and vectorized the rest
/// as a masked store of the zeros, which is microcoded on AMD's AVX2 cores (a third of M1's
/// time at batch 64 there, measured with `perf`).
#[inline(always)]
fn relu<T: Float>(x: T) -> T {
    x.max(T::ZERO)
}

/// The largest element (zero for none), over the plain slice so that it vectorizes.
#[inline(always)]
fn max_of<T: Float>(values: &[T]) -> T {
    let first = values.first().copied().unwrap_or(T::ZERO);
    values.iter().fold(first, |m, v| if *v > m { *v } else { m })
}

/// `1 / (1 + e^-x)` through `e^-|x|`, which never overflows; branch-free so it vectorizes.
#[inline(always)]
fn sigmoid<T: Float>(x: T) -> T {
    let e = (-x.abs()).fast_exp();
    (if x >= T::ZERO { T::ONE } else { e }) / (T::ONE + e)
}

/// `ln(1 + e^x)` as `max(x, 0) + ln(1 + e^-|x|)` (jax's `logaddexp(x, 0)`), exact for large `|x|`.
#[inline(always)]
fn softplus<T: Float>(x: T) -> T {
    relu(x) + (-x.abs()).exp().ln_1p()
}

/// `relu6(x + 3) / 6`, Keras 3's hard sigmoid.
#[inline(always)]
fn hard_sigmoid<T: Float>(x: T) -> T {
    (x + c(3.0)).clamp(T::ZERO, c(6.0)) / c(6.0)
}

/// `1` where `on`, else `0`: the slope of a piecewise-linear activation.
#[inline(always)]
fn step<T: Float>(on: bool) -> T {
    if on { T::ONE } else { T::ZERO }
}

/// The slope of [`hard_sigmoid`]: `1/6` strictly inside `(-3, 3)`, as `jax.nn.relu6`'s.
#[inline(always)]
fn hard_sigmoid_grad<T: Float>(x: T) -> T {
    step::<T>(x > c(-3.0) && x < c(3.0)) / c(6.0)
}

macro_rules! unit_activation {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $(gate: $gate:ident,)? |$x:ident| $body:expr,
     grad |$gx:ident, $gy:ident| $grad:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $ty;

        // SAFETY: zero-sized.
        unsafe impl Zeroable for $ty {}

        impl ActivationMeta for $ty {
            const NAME: &'static str = $name;
            const DEFAULT: Self = $ty;
            $(const GATE: Option<GateFn> = Some(GateFn::$gate);)?
        }

        impl Elementwise for $ty {
            #[inline(always)]
            fn eval<T: Float>(&self, $x: T) -> T {
                $body
            }

            #[inline(always)]
            #[allow(unused_variables)]
            fn derivative<T: Float>(&self, $gx: T, $gy: T) -> T {
                $grad
            }
        }
    };
}

unit_activation!(
    /// `x`: Keras's default when a layer names no activation.
    Linear, "linear", |x| x,
    grad |x, y| T::ONE
);
unit_activation!(
    /// `max(x, 0)`. For Keras's `negative_slope`, `max_value` and `threshold` see [`ReluOptions`].
    Relu, "relu", |x| relu(x),
    grad |x, y| step(x > T::ZERO)
);
unit_activation!(
    /// `min(max(x, 0), 6)`.
    Relu6, "relu6", |x| x.clamp(T::ZERO, c(6.0)),
    grad |x, y| step(x > T::ZERO && x < c(6.0))
);
unit_activation!(
    /// The logistic function `1 / (1 + e^-x)`, stable for large `|x|`.
    Sigmoid, "sigmoid", gate: Sigmoid, |x| sigmoid(x),
    grad |x, y| y * (T::ONE - y)
);
unit_activation!(
    /// The hyperbolic tangent.
    Tanh, "tanh", gate: Tanh, |x| x.fast_tanh(),
    grad |x, y| T::ONE - y * y
);
unit_activation!(
    /// `scale * elu(x, alpha)` with jax's constants `alpha = 1.6732632423543772`,
    /// `scale = 1.0507009873554805`.
    Selu, "selu", |x| {
        let elu = if x > T::ZERO { x } else { c::<T>(1.6732632423543772) * x.exp_m1() };
        c::<T>(1.0507009873554805) * elu
    },
    grad |x, y| if x > T::ZERO { c(1.0507009873554805) } else { c::<T>(1.0507009873554805 * 1.6732632423543772) * x.exp() }
);
unit_activation!(
    /// The exact GELU, `x/2 * (1 + erf(x / sqrt 2))`: Keras's default (`approximate=False`),
    /// computed as jax does, `x/2 * erfc(-x / sqrt 2)`, which keeps precision for negative `x`.
    Gelu, "gelu", |x| c::<T>(0.5) * x * (-x * c(core::f64::consts::FRAC_1_SQRT_2)).erfc_(),
    grad |x, y| {
        let cdf = c::<T>(0.5) * (-x * c(core::f64::consts::FRAC_1_SQRT_2)).erfc_();
        cdf + x * (-c::<T>(0.5) * x * x).exp() * c(0.3989422804014327)
    }
);
unit_activation!(
    /// The tanh approximation of GELU, Keras's `gelu(x, approximate=True)`:
    /// `x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`.
    GeluTanh, "gelu", |x| {
        let inner = c::<T>(0.7978845608028654) * (x + c::<T>(0.044715) * x * x * x);
        c::<T>(0.5) * x * (T::ONE + inner.fast_tanh())
    },
    grad |x, y| {
        let k = c::<T>(0.7978845608028654);
        let t = (k * (x + c::<T>(0.044715) * x * x * x)).fast_tanh();
        c::<T>(0.5) * (T::ONE + t) + c::<T>(0.5) * x * (T::ONE - t * t) * k * (T::ONE + c::<T>(3.0 * 0.044715) * x * x)
    }
);
unit_activation!(
    /// `x * sigmoid(x)`, also known as swish.
    Silu, "silu", |x| x * sigmoid(x),
    grad |x, y| {
        let s = sigmoid(x);
        s + x * s * (T::ONE - s)
    }
);
unit_activation!(
    /// `ln(1 + e^x)`, stable for large `|x|`.
    Softplus, "softplus", |x| softplus(x),
    grad |x, y| sigmoid(x)
);
unit_activation!(
    /// `x / (|x| + 1)`.
    Softsign, "softsign", |x| x / (x.abs() + T::ONE),
    grad |x, y| {
        let d = x.abs() + T::ONE;
        T::ONE / (d * d)
    }
);
unit_activation!(
    /// Keras 3's `relu6(x + 3) / 6` (Keras 2 used `0.2 x + 0.5`).
    HardSigmoid, "hard_sigmoid", |x| hard_sigmoid(x),
    grad |x, y| hard_sigmoid_grad(x)
);
unit_activation!(
    /// `x * relu6(x + 3) / 6`, also known as hard swish.
    HardSilu, "hard_silu", |x| x * hard_sigmoid(x),
    grad |x, y| hard_sigmoid(x) + x * hard_sigmoid_grad(x)
);
unit_activation!(
    /// `e^x`.
    Exponential, "exponential", |x| x.fast_exp(),
    grad |x, y| y
);
unit_activation!(
    /// `x * tanh(softplus(x))`.
    Mish, "mish", |x| x * softplus(x).tanh(),
    grad |x, y| {
        let t = softplus(x).tanh();
        t + x * (T::ONE - t * t) * sigmoid(x)
    }
);
unit_activation!(
    /// `-1` below -1, `1` above 1, `x` between.
    HardTanh, "hard_tanh", |x| x.clamp(-T::ONE, T::ONE),
    // jax.grad of Keras's `where(x > 1, 1, where(x < -1, -1, x))`: 1 at `x == ±1` (where
    // `relu6`'s clip gives 0).
    grad |x, y| step(x >= -T::ONE && x <= T::ONE)
);
unit_activation!(
    /// `ln(sigmoid(x))`, computed as jax does, `-softplus(-x)`: exact for large `|x|`.
    LogSigmoid, "log_sigmoid", |x| -softplus(-x),
    grad |x, y| sigmoid(-x)
);
unit_activation!(
    /// `0` for `x <= -1`, `(x + 1)^2 / 4` between, `x` for `x >= 1`: a softplus made of
    /// pieces, its slope continuous.
    SparsePlus, "sparse_plus", |x| {
        let square = (x + T::ONE) * (x + T::ONE) * c(0.25);
        if x <= -T::ONE { T::ZERO } else if x >= T::ONE { x } else { square }
    },
    grad |x, y| {
        let slope = (x + T::ONE) * c(0.5);
        if x <= -T::ONE { T::ZERO } else if x >= T::ONE { T::ONE } else { slope }
    }
);
unit_activation!(
    /// `x - tanh(x)`.
    TanhShrink, "tanh_shrink", |x| x - x.fast_tanh(),
    // `tanh(x)^2`: jax's `1 - (1 - tanh(x)^2)` without its cancellation near 0.
    grad |x, y| {
        let t = x.fast_tanh();
        t * t
    }
);

/// A type per activation with options: public `f64` fields named as Keras's arguments, `DEFAULT`
/// holding Keras's defaults, and each field bound as a `T` for the formula and its derivative.
macro_rules! activation_with_options {
    ($(#[$doc:meta])* $ty:ident, $name:literal,
     { $($(#[$fdoc:meta])* $field:ident = $default:literal),+ $(,)? },
     |$x:ident| $body:expr, grad |$gx:ident, $gy:ident| $grad:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $ty {
            $($(#[$fdoc])* pub $field: f64,)+
        }

        // SAFETY: plain `f64` options, which a model's `configure` restores after zeroing.
        unsafe impl Zeroable for $ty {}

        impl ActivationMeta for $ty {
            const NAME: &'static str = $name;
            const DEFAULT: Self = $ty { $($field: $default),+ };
        }

        impl Elementwise for $ty {
            #[inline(always)]
            fn eval<T: Float>(&self, $x: T) -> T {
                $(let $field = c::<T>(self.$field);)+
                $body
            }

            #[inline(always)]
            #[allow(unused_variables)]
            fn derivative<T: Float>(&self, $gx: T, $gy: T) -> T {
                $(let $field = c::<T>(self.$field);)+
                $grad
            }
        }
    };
}

activation_with_options!(
    /// `x` for `x >= 0`, `negative_slope * x` otherwise. Keras's activation defaults the slope to
    /// 0.2 (its `LeakyReLU` layer to 0.3).
    LeakyRelu, "leaky_relu", {
        /// The slope for negative inputs.
        negative_slope = 0.2,
    },
    |x| if x >= T::ZERO { x } else { negative_slope * x },
    grad |x, y| if x >= T::ZERO { T::ONE } else { negative_slope }
);
activation_with_options!(
    /// `x` for `x > 0`, `alpha * (e^x - 1)` otherwise; Keras's default `alpha` is 1.
    Elu, "elu", {
        /// The scale of the negative part.
        alpha = 1.0,
    },
    |x| if x > T::ZERO { x } else { alpha * x.exp_m1() },
    grad |x, y| if x > T::ZERO { T::ONE } else { alpha * x.exp() }
);
activation_with_options!(
    /// `x` for `x > 0`, `alpha * (e^(x / alpha) - 1)` otherwise (jax's `max(x, 0) + alpha *
    /// expm1(min(x, 0) / alpha)`, the same values); Keras's default `alpha` is 1. Its slope is
    /// 1 on both sides of 0 whatever `alpha` (unlike [`Elu`]'s), so it has no kink.
    Celu, "celu", {
        /// The scale of the negative part, and of its input.
        alpha = 1.0,
    },
    |x| if x > T::ZERO { x } else { alpha * (x / alpha).exp_m1() },
    grad |x, y| if x > T::ZERO { T::ONE } else { (x / alpha).exp() }
);
activation_with_options!(
    /// `(x + sqrt(x^2 + b)) / 2`, a smooth relu; Keras's default `b` is 4. Computed as Keras
    /// writes it, so for large negative `x` it rounds to 0 as Keras's does.
    Squareplus, "squareplus", {
        /// The smoothness: the curve's value at 0 is `sqrt(b) / 2`.
        b = 4.0,
    },
    |x| (x + (x * x + b).sqrt()) * c(0.5),
    // With b = 0, 0/0 at x = 0: NaN, as jax's gradient.
    grad |x, y| (T::ONE + x / (x * x + b).sqrt()) * c(0.5)
);
activation_with_options!(
    /// `x` where `|x| > threshold`, else 0; Keras's default `threshold` is 0.5.
    HardShrink, "hard_shrink", {
        /// Values with `|x|` at or below it become 0.
        threshold = 0.5,
    },
    |x| if x.abs() > threshold { x } else { T::ZERO },
    // jax.grad of Keras's `where(|x| > threshold, x, 0)`: 0 at `|x| == threshold`.
    grad |x, y| step(x.abs() > threshold)
);
activation_with_options!(
    /// `x - threshold` above `threshold`, `x + threshold` below `-threshold`, else 0; Keras's
    /// default `threshold` is 0.5.
    SoftShrink, "soft_shrink", {
        /// How far every value moves towards 0 (values within it become 0).
        threshold = 0.5,
    },
    |x| if x > threshold { x - threshold } else if x < -threshold { x + threshold } else { T::ZERO },
    // jax.grad of Keras's nested `where`: 0 at `x == ±threshold`.
    grad |x, y| step(x > threshold || x < -threshold)
);
activation_with_options!(
    /// `x` where `x > threshold`, else `default_value`. Keras gives neither option a default, and
    /// the DSL requires both: `DEFAULT` (both 0, which is `relu`) is only what a zeroed layer
    /// holds until its model sets the options.
    Threshold, "threshold", {
        /// Values at or below it are replaced.
        threshold = 0.0,
        /// What replaces them.
        default_value = 0.0,
    },
    |x| if x > threshold { x } else { default_value },
    // jax.grad of Keras's `where(x > threshold, x, default_value)`: 0 at `x == threshold`.
    grad |x, y| step(x > threshold)
);

/// Keras's `relu(x, negative_slope, max_value, threshold)` with every option.
///
/// Following `keras.layers.ReLU.static_call`: `y = x if x > threshold else 0`, clipped to
/// `[0, max_value]` when a maximum is given, minus `negative_slope * max(threshold - x, 0)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReluOptions {
    /// Slope below the threshold.
    pub negative_slope: f64,
    /// Upper clip; `f64::INFINITY` for none (Keras's `max_value=None`). A plain `f64` rather
    /// than an `Option` keeps the type [`Zeroable`].
    pub max_value: f64,
    /// Values at or below it are cut to zero (before the negative slope applies).
    pub threshold: f64,
}

impl ActivationMeta for ReluOptions {
    const NAME: &'static str = "relu";
    const DEFAULT: Self = ReluOptions { negative_slope: 0.0, max_value: f64::INFINITY, threshold: 0.0 };
}

impl Elementwise for ReluOptions {
    #[inline(always)]
    fn eval<T: Float>(&self, x: T) -> T {
        let threshold = c::<T>(self.threshold);
        let mut y = if self.threshold != 0.0 { if x > threshold { x } else { T::ZERO } } else { relu(x) };
        if self.max_value != f64::INFINITY {
            y = y.clamp(T::ZERO, c(self.max_value));
        }
        if self.negative_slope != 0.0 {
            y -= c::<T>(self.negative_slope) * relu(threshold - x);
        }
        y
    }

    /// Piece by piece, as Keras's `ReLU.static_call` composes them (`leaky_relu` when only a
    /// slope is set, so a slope of 1 at 0).
    #[inline(always)]
    fn derivative<T: Float>(&self, x: T, _y: T) -> T {
        let threshold = c::<T>(self.threshold);
        if self.negative_slope != 0.0 && self.max_value == f64::INFINITY && self.threshold == 0.0 {
            return if x >= T::ZERO { T::ONE } else { c(self.negative_slope) };
        }
        let mut d = step::<T>(x > threshold);
        if self.max_value != f64::INFINITY && x >= c(self.max_value) {
            d = T::ZERO;
        }
        if self.negative_slope != 0.0 && threshold > x {
            d += c(self.negative_slope);
        }
        d
    }
}

/// `e^x / sum(e^x)` over the last axis, computed as `e^(x - max x)` so it never overflows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Softmax;

impl ActivationMeta for Softmax {
    const NAME: &'static str = "softmax";
    const DEFAULT: Self = Softmax;
}

impl ActivationFn for Softmax {
    /// Rows of up to 16 `f32`s a register each where the CPU has a kernel
    /// (`kernels::softmax`), otherwise `softmax_portable`.
    #[inline]
    fn apply_rows<T: Float>(&self, x: &mut [T], last: usize) {
        self.apply_batch(x, last);
    }

    #[inline(always)]
    fn apply_batch<T: Float>(&self, x: &mut [T], last: usize) {
        if !T::softmax_rows(crate::kernels::cpu::level(), None, x, last.max(1)) {
            softmax_portable(x, last);
        }
    }

    #[inline(always)]
    fn apply_batch_from<T: Float>(&self, x: &[T], y: &mut [T], last: usize) {
        if !T::softmax_rows(crate::kernels::cpu::level(), Some(x), y, last.max(1)) {
            let y = &mut y[..x.len()];
            y.copy_from_slice(x);
            softmax_portable(y, last);
        }
    }

    /// `dx = y ⊙ (dy - Σ dy ⊙ y)` on each row: a register a row where the CPU has a kernel,
    /// otherwise `softmax_backward_portable`.
    #[inline(always)]
    fn backward_rows<T: Float>(&self, _x: &[T], y: &[T], dy: &mut [T], last: usize) {
        if !T::softmax_backward_rows(crate::kernels::cpu::level(), y, dy, last.max(1)) {
            softmax_backward_portable(y, dy, last);
        }
    }
}

/// The softmax of each row of `last` values in place: each row shifted by its maximum, then
/// every value exponentiated in one loop (a row of ten classes is too short to vectorize on its
/// own; a batch of them is not), then each row divided by its sum; rows of up to `SHORT_ROW`
/// (16) values reduce in a register's worth of lanes (`fold_row`), in the order the kernels
/// reduce them.
#[inline(always)]
pub(crate) fn softmax_portable<T: Float>(x: &mut [T], last: usize) {
    let last = last.max(1);
    for row in x.chunks_exact_mut(last) {
        let max = if last <= SHORT_ROW {
            fold_row(row, T::of(f64::NEG_INFINITY), |m, v| if v > m { v } else { m })
        } else {
            max_of(row)
        };
        for v in row.iter_mut() {
            *v -= max;
        }
    }
    let whole = x.len() / last * last;
    for v in x[..whole].iter_mut() {
        *v = v.fast_exp();
    }
    for row in x.chunks_exact_mut(last) {
        let sum = if last <= SHORT_ROW {
            fold_row(row, T::ZERO, |a, b| a + b)
        } else {
            row.iter().fold(T::ZERO, |a, b| a + *b)
        };
        let inv = T::ONE / sum;
        for v in row {
            *v *= inv;
        }
    }
}

/// The softmax's backward pass over rows of `last` values, `dy ← y ⊙ (dy - Σ dy ⊙ y)`.
#[inline(always)]
pub(crate) fn softmax_backward_portable<T: Float>(y: &[T], dy: &mut [T], last: usize) {
    let last = last.max(1);
    for (y, d) in y.chunks_exact(last).zip(dy.chunks_exact_mut(last)) {
        let dot = if last <= SHORT_ROW {
            let (mut yd, mut dd) = ([T::ZERO; SHORT_ROW], [T::ZERO; SHORT_ROW]);
            yd[..last].copy_from_slice(y);
            dd[..last].copy_from_slice(d);
            for (a, b) in yd.iter_mut().zip(&dd) {
                *a *= *b;
            }
            fold_lanes(yd, |a, b| a + b)
        } else {
            crate::kernels::dot(y, d)
        };
        for (d, y) in d.iter_mut().zip(y) {
            *d = *y * (*d - dot);
        }
    }
}

/// The longest row a softmax reduces in one array of lanes: a 512-bit register of `f32`.
const SHORT_ROW: usize = crate::kernels::softmax::SHORT_ROW;

/// `f` folded over `lanes` pairwise (halves, then quarters...), which LLVM keeps in one or two
/// registers and reduces with shuffles: a plain loop over a short row vectorized across the
/// rows around it instead, through gathers and scatters (most of a digits MLP's softmax).
#[inline(always)]
fn fold_lanes<T: Float>(mut lanes: [T; SHORT_ROW], f: impl Fn(T, T) -> T) -> T {
    let mut half = SHORT_ROW / 2;
    while half > 0 {
        for i in 0..half {
            lanes[i] = f(lanes[i], lanes[i + half]);
        }
        half /= 2;
    }
    lanes[0]
}

/// [`fold_lanes`] over a row of at most [`SHORT_ROW`] values, the other lanes `pad` (which
/// must leave `f`'s result as it is).
#[inline(always)]
fn fold_row<T: Float>(row: &[T], pad: T, f: impl Fn(T, T) -> T) -> T {
    let mut lanes = [pad; SHORT_ROW];
    lanes[..row.len()].copy_from_slice(row);
    fold_lanes(lanes, f)
}

/// `x - ln(sum(e^x))` over the last axis, computed around `max x` so it never overflows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LogSoftmax;

impl ActivationMeta for LogSoftmax {
    const NAME: &'static str = "log_softmax";
    const DEFAULT: Self = LogSoftmax;
}

impl ActivationFn for LogSoftmax {
    #[inline]
    fn apply_rows<T: Float>(&self, x: &mut [T], last: usize) {
        for x in x.chunks_exact_mut(last.max(1)) {
            let max = max_of(x);
            let mut sum = T::ZERO;
            for v in x.iter() {
                sum += (*v - max).fast_exp();
            }
            // Subtract `max` and `ln(sum)` separately, as jax does: folding them into one shift
            // first loses the small `ln(sum)` against a large `max`.
            let log_sum = sum.ln();
            for v in x {
                *v = (*v - max) - log_sum;
            }
        }
    }

    /// `dx = dy - softmax(x) Σ dy` on each row, the softmax being `e^y`.
    #[inline]
    fn backward_rows<T: Float>(&self, _x: &[T], y: &[T], dy: &mut [T], last: usize) {
        for (y, d) in y.chunks_exact(last.max(1)).zip(dy.chunks_exact_mut(last.max(1))) {
            let sum = d.iter().fold(T::ZERO, |acc, d| acc + *d);
            for (d, y) in d.iter_mut().zip(y) {
                *d -= y.exp() * sum;
            }
        }
    }
}

// SAFETY: plain `f64` options that a model's `configure` restores after zeroing, or zero-sized.
unsafe impl Zeroable for ReluOptions {}
// SAFETY: as above.
unsafe impl Zeroable for Softmax {}
// SAFETY: as above.
unsafe impl Zeroable for LogSoftmax {}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector2;

    #[test]
    fn relu_options_follow_keras_order_of_operations() {
        let r = ReluOptions { negative_slope: 0.1, max_value: 6.0, threshold: 0.5 };
        // Below the threshold: 0 - 0.1 * (0.5 - x).
        assert!((r.eval(0.0f64) - -0.05).abs() < 1e-15);
        assert!((r.eval(-1.0f64) - -0.15).abs() < 1e-15);
        // Above: x, clipped at 6.
        assert_eq!(r.eval(2.0f64), 2.0);
        assert_eq!(r.eval(10.0f64), 6.0);
    }

    #[test]
    fn sigmoid_saturates_without_nan_for_huge_inputs() {
        assert_eq!(Sigmoid.eval(-1000.0f32), 0.0);
        assert_eq!(Sigmoid.eval(1000.0f32), 1.0);
        assert_eq!(Sigmoid.eval(0.0f32), 0.5);
    }

    #[test]
    fn softplus_is_exact_for_large_inputs() {
        assert_eq!(Softplus.eval(100.0f64), 100.0);
        assert!((Softplus.eval(0.0f64) - core::f64::consts::LN_2).abs() < 1e-15);
    }

    #[test]
    fn hard_sigmoid_is_keras3_relu6_form() {
        assert_eq!(HardSigmoid.eval(0.0f32), 0.5);
        assert_eq!(HardSigmoid.eval(-3.0f32), 0.0);
        assert_eq!(HardSigmoid.eval(1.5f32), 0.75);
        assert_eq!(HardSilu.eval(1.5f32), 1.125);
    }

    /// Each value is `jax.grad` of Keras's function there (jax 0.10.2, float64): the side
    /// jax's `where` and `clip` pick at every kink.
    #[test]
    fn derivatives_at_kinks_are_jax_grads() {
        let hard_tanh = |x: f64| HardTanh.derivative(x, HardTanh.eval(x));
        assert_eq!([-1.5, -1.0, 1.0, 1.5].map(hard_tanh), [0.0, 1.0, 1.0, 0.0]);
        let sparse_plus = |x: f64| SparsePlus.derivative(x, SparsePlus.eval(x));
        assert_eq!([-1.0, 0.0, 0.5, 1.0].map(sparse_plus), [0.0, 0.5, 0.75, 1.0]);
        let hard_shrink = |x: f64| HardShrink::DEFAULT.derivative(x, 0.0);
        assert_eq!([-0.5, 0.0, 0.5, 0.7, -0.7].map(hard_shrink), [0.0, 0.0, 0.0, 1.0, 1.0]);
        let soft_shrink = |x: f64| SoftShrink::DEFAULT.derivative(x, 0.0);
        assert_eq!([-0.5, 0.0, 0.5, 0.7, -0.7].map(soft_shrink), [0.0, 0.0, 0.0, 1.0, 1.0]);
        // A negative threshold keeps every value on one of the outer pieces, as Keras's `where`.
        let wide = SoftShrink { threshold: -1.0 };
        assert_eq!([-1.0f64, 0.0, 1.0].map(|x| wide.eval(x)), [-2.0, 1.0, 2.0]);
        assert_eq!(HardShrink { threshold: -1.0 }.derivative(0.0f64, 0.0), 1.0);
        let threshold = Threshold { threshold: 0.5, default_value: -2.0 };
        assert_eq!([0.0f64, 0.5, 1.0].map(|x| threshold.eval(x)), [-2.0, -2.0, 1.0]);
        assert_eq!([0.0f64, 0.5, 1.0].map(|x| threshold.derivative(x, 0.0)), [0.0, 0.0, 1.0]);
        let celu = Celu { alpha: 0.5 };
        assert_eq!([0.0f64, -0.0, 1.0].map(|x| celu.derivative(x, 0.0)), [1.0, 1.0, 1.0]);
        assert!((celu.derivative(-1.0f64, 0.0) - 0.1353352832366127).abs() < 1e-16);
        assert_eq!(LogSigmoid.derivative(0.0f64, 0.0), 0.5);
        assert_eq!(TanhShrink.derivative(0.0f64, 0.0), 0.0);
        assert_eq!(Squareplus::DEFAULT.derivative(0.0f64, 1.0), 0.5);
        assert!(Squareplus { b: 0.0 }.derivative(0.0f64, 0.0).is_nan());
    }

    #[test]
    fn log_softmax_stays_finite_for_huge_gaps() {
        let mut v = Vector2::new(1000.0f64, -1000.0);
        LogSoftmax.apply(&mut v);
        assert_eq!(v, Vector2::new(0.0, -2000.0));
    }

    #[test]
    fn softmax_of_equal_inputs_is_uniform() {
        let mut v = Vector2::new(3.0f32, 3.0);
        Softmax.apply(&mut v);
        assert_eq!(v, Vector2::new(0.5, 0.5));
    }
}
