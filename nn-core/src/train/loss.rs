//! Keras's losses, each with the exact gradient JAX's autodiff takes of Keras's formula.
//!
//! A model output is a tensor of Keras shape `(d1, ..., dk)` per sample, flattened row-major;
//! `last = dk`. Keras's losses reduce the last axis, leaving one loss value per *position*
//! (`d1 * ... * d(k-1)` of them per sample, one for a rank-1 output), and the default reduction
//! `sum_over_batch_size` divides the sum of all of them by their count `batch * positions`
//! (`keras/src/losses/loss.py`, `reduce_values`). So a trainer computes
//!
//! ```text
//! loss = Σ_samples forward_backward(y_true, y_pred, last, grad) / (batch * positions)
//! ```
//!
//! and gets `d loss / d y_pred` by passing `grad = Some((g, 1 / (batch * positions)))` (times
//! the output's loss weight).
//!
//! Every formula, constant and clip follows Keras 3.15.1 (`keras/src/losses/losses.py`) and its
//! JAX backend (`keras/src/backend/jax/nn.py`), computed in `T` as Keras computes in its
//! `floatx` (`float32` for `f32`). The gradients are those `jax.grad` takes of that code, which
//! matters where the formula is not smooth:
//!
//! - `jnp.clip(x, lo, hi)` is `minimum(hi, maximum(lo, x))`, and `lax.max`/`lax.min` split the
//!   gradient of a tie evenly between their operands: a value clipped away passes no gradient,
//!   a value *exactly at* a bound passes half (a softmax that saturates to exactly `1.0` in
//!   [`KLDivergence`], a probability of exactly `1e-7` or `1 - 1e-7` in the crossentropies).
//! - `abs` differentiates to `+1` at `0` (`select(x >= 0, g, -g)`), so [`MeanAbsoluteError`]'s
//!   gradient at a zero error is `-1` (its error is `y_true - y_pred`).
//! - Label smoothing changes the targets, not the formula; a categorical crossentropy of
//!   probabilities differentiates through Keras's normalisation `p / Σ p` as well as the clip.

use crate::Float;

/// Keras's fuzz factor `keras.backend.epsilon()`: the probability losses clip to
/// `[EPSILON, 1 - EPSILON]` (`1 - EPSILON` rounded once from `f64`, as Python computes it).
pub const EPSILON: f64 = 1e-7;

/// A Keras loss over one output, for one sample at a time.
///
/// The trainer sums [`Loss::forward_backward`] over the batch and divides by
/// `batch * positions` (Keras's `sum_over_batch_size`); see the [module docs](self).
pub trait Loss: Copy + core::fmt::Debug {
    /// The `name` Keras gives the loss object by default (`keras.losses.Huber().name` is
    /// `"huber_loss"`). Keras's training logs show the total as `"loss"` whatever this is.
    const NAME: &'static str;

    /// Target values per sample for a prediction of `len` values whose last axis is `last`:
    /// `len` for dense targets, `len / last` for class ids.
    fn target_len(&self, len: usize, last: usize) -> usize {
        let _ = last;
        len
    }

    /// Checks one sample's targets, returning the position of the first one Keras would not
    /// take as meant (a class id that is not a whole number in `[0, last)`). Dense targets are
    /// not checked, as Keras does not check them.
    fn check_target<T: Float>(&self, y_true: &[T], last: usize) -> Result<(), usize> {
        let _ = (y_true, last);
        Ok(())
    }

    /// One sample's loss: the sum over its `y_pred.len() / last` positions of the value Keras
    /// computes for each.
    ///
    /// With `grad = Some((g, scale))`, also *overwrites* `g` (as long as `y_pred`) with
    /// `scale * d(that sum) / d(y_pred)`, the derivative `jax.grad` takes of Keras's formula.
    ///
    /// # Panics
    ///
    /// If `last` is zero or does not divide `y_pred.len()`, or `y_true` or `g` has the wrong
    /// length.
    fn forward_backward<T: Float>(
        &self,
        y_true: &[T],
        y_pred: &[T],
        last: usize,
        grad: Option<(&mut [T], T)>,
    ) -> T;

    /// [`Loss::forward_backward`] without the gradient.
    fn forward<T: Float>(&self, y_true: &[T], y_pred: &[T], last: usize) -> T {
        self.forward_backward(y_true, y_pred, last, None)
    }
}

/// `MeanSquaredError`: `mean((y_true - y_pred)²)` over the last axis.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanSquaredError;

/// `MeanAbsoluteError`: `mean(|y_true - y_pred|)` over the last axis.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanAbsoluteError;

/// `Huber`: with `e = y_pred - y_true`, `e² / 2` where `|e| <= delta`, else
/// `delta * |e| - delta² / 2`, averaged over the last axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    /// Where the loss turns from quadratic to linear; Keras's default is 1.
    pub delta: f64,
}

/// `LogCosh`: `mean(log(cosh(e)))` over the last axis, `e = y_pred - y_true`, computed as Keras
/// does, `e + softplus(-2e) - log(2)`, which cannot overflow.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LogCosh;

/// `BinaryCrossentropy` (Keras's `axis=-1`): the crossentropy of each value as an independent
/// probability, averaged over the last axis.
///
/// Probabilities are clipped to `[1e-7, 1 - 1e-7]` first; with `from_logits` the loss is
/// computed from log-sigmoids instead, with no clip.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BinaryCrossentropy {
    /// Whether `y_pred` holds logits rather than probabilities; Keras's default is `false`.
    pub from_logits: bool,
    /// Moves the targets towards 0.5: `y * (1 - label_smoothing) + 0.5 * label_smoothing`;
    /// Keras's default is 0.
    pub label_smoothing: f64,
}

/// `CategoricalCrossentropy` over one-hot (or soft) targets: `-Σ y_true * log(p)` over the last
/// axis (a sum, not a mean).
///
/// Without `from_logits`, Keras first divides the predictions by their sum, then clips to
/// `[1e-7, 1 - 1e-7]`; with it, `log(p)` is a log-softmax.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CategoricalCrossentropy {
    /// Whether `y_pred` holds logits rather than probabilities; Keras's default is `false`.
    pub from_logits: bool,
    /// Moves the targets towards uniform: `y * (1 - label_smoothing) + label_smoothing / last`;
    /// Keras's default is 0.
    pub label_smoothing: f64,
}

/// `SparseCategoricalCrossentropy`: [`CategoricalCrossentropy`] with targets given as class ids,
/// one per position, stored as floats holding whole numbers.
///
/// Keras's `ignore_class` is not supported. As in Keras, an id is truncated towards zero and an
/// id outside `[0, last)` contributes a zero loss and gradient;
/// [`check_target`](Loss::check_target) rejects both cases.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SparseCategoricalCrossentropy {
    /// Whether `y_pred` holds logits rather than probabilities; Keras's default is `false`.
    pub from_logits: bool,
}

/// `KLDivergence`: `Σ y_true * log(y_true / y_pred)` over the last axis (a sum), with both
/// clipped to `[1e-7, 1]` first.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KLDivergence;

impl Huber {
    /// Keras's default, `delta = 1`.
    pub const DEFAULT: Self = Huber { delta: 1.0 };

    /// The loss with this `delta`.
    pub const fn delta(self, delta: f64) -> Self {
        Huber { delta }
    }
}

impl Default for Huber {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl BinaryCrossentropy {
    /// Keras's defaults: probabilities, no label smoothing.
    pub const DEFAULT: Self = BinaryCrossentropy { from_logits: false, label_smoothing: 0.0 };

    /// The loss taking logits (`true`) or probabilities (`false`).
    pub const fn from_logits(self, from_logits: bool) -> Self {
        BinaryCrossentropy { from_logits, ..self }
    }

    /// The loss smoothing its targets by `label_smoothing` (in `[0, 1]`).
    pub const fn label_smoothing(self, label_smoothing: f64) -> Self {
        BinaryCrossentropy { label_smoothing, ..self }
    }
}

impl CategoricalCrossentropy {
    /// Keras's defaults: probabilities, no label smoothing.
    pub const DEFAULT: Self = CategoricalCrossentropy { from_logits: false, label_smoothing: 0.0 };

    /// The loss taking logits (`true`) or probabilities (`false`).
    pub const fn from_logits(self, from_logits: bool) -> Self {
        CategoricalCrossentropy { from_logits, ..self }
    }

    /// The loss smoothing its targets by `label_smoothing` (in `[0, 1]`).
    pub const fn label_smoothing(self, label_smoothing: f64) -> Self {
        CategoricalCrossentropy { label_smoothing, ..self }
    }
}

impl SparseCategoricalCrossentropy {
    /// Keras's default: probabilities.
    pub const DEFAULT: Self = SparseCategoricalCrossentropy { from_logits: false };

    /// The loss taking logits (`true`) or probabilities (`false`).
    pub const fn from_logits(self, from_logits: bool) -> Self {
        SparseCategoricalCrossentropy { from_logits }
    }
}

/// `jnp.clip(x, lo, hi)` and the factor its gradient passes: `minimum(hi, maximum(lo, x))`,
/// where each of `lax.max` and `lax.min` passes the whole gradient to an operand that is the
/// result alone and half of it on a tie. NaN passes through, as in XLA.
#[inline(always)]
fn clip<T: Float>(x: T, lo: T, hi: T) -> (T, T) {
    let half = T::of(0.5);
    let (x, low) = if x < lo {
        (lo, T::ZERO)
    } else if x == lo {
        (lo, half)
    } else {
        (x, T::ONE)
    };
    let (x, high) = if x > hi {
        (hi, T::ZERO)
    } else if x == hi {
        (hi, half)
    } else {
        (x, T::ONE)
    };
    (x, low * high)
}

/// `jax.nn.softplus(z) = logaddexp(z, 0)`, in JAX's form `max(z, 0) + log1p(exp(-|z|))`.
#[inline(always)]
fn softplus<T: Float>(z: T) -> T {
    z.max(T::ZERO) + (-z.abs()).exp().ln_1p()
}

/// The derivative of [`softplus`] at `z` given `sp = softplus(z)`, as `logaddexp`'s custom JVP
/// computes it: `exp(z - sp)` (the sigmoid, without forming it).
#[inline(always)]
fn softplus_slope<T: Float>(z: T, sp: T) -> T {
    (z - sp).exp()
}

/// Checks the lengths of one sample and returns its number of positions.
fn positions<T>(y_true: &[T], y_pred: &[T], last: usize, true_width: usize) -> usize {
    assert!(
        last > 0 && y_pred.len().is_multiple_of(last),
        "last axis {last} must divide {} values",
        y_pred.len()
    );
    let positions = y_pred.len() / last;
    assert_eq!(y_true.len(), positions * true_width, "targets for {positions} positions");
    positions
}

/// Runs `row(y_true_row, y_pred_row, grad_row, scale)` over one sample's positions (the rows
/// of its last axis; `true_width` targets per row) and sums what it returns. Without a
/// gradient, `row` gets `None` and a zero scale.
fn per_row<T: Float>(
    y_true: &[T],
    y_pred: &[T],
    last: usize,
    true_width: usize,
    grad: Option<(&mut [T], T)>,
    mut row: impl FnMut(&[T], &[T], Option<&mut [T]>, T) -> T,
) -> T {
    positions(y_true, y_pred, last, true_width);
    let rows = y_true.chunks_exact(true_width).zip(y_pred.chunks_exact(last));
    let mut total = T::ZERO;
    match grad {
        Some((g, scale)) => {
            assert_eq!(g.len(), y_pred.len(), "gradient length");
            for ((t, p), g) in rows.zip(g.chunks_exact_mut(last)) {
                total += row(t, p, Some(g), scale);
            }
        }
        None => {
            for (t, p) in rows {
                total += row(t, p, None, T::ZERO);
            }
        }
    }
    total
}

/// A loss that is a function `f` of each value, reduced over the last axis by a mean
/// (`mean = true`, as `ops.mean(..., axis=-1)`: the sum divided by `last`) or a sum.
///
/// `f(y_true, y_pred, ct)` returns the value and the cotangent of `y_pred` given the value's
/// cotangent `ct`, in the order of JAX's reverse sweep.
#[inline(always)]
fn elementwise<T: Float>(
    y_true: &[T],
    y_pred: &[T],
    last: usize,
    grad: Option<(&mut [T], T)>,
    mean: bool,
    f: impl Fn(T, T, T) -> (T, T),
) -> T {
    let n = T::of(last as f64);
    per_row(y_true, y_pred, last, last, grad, |t, p, g, scale| {
        let mut sum = T::ZERO;
        match g {
            Some(g) => {
                // The mean's transpose divides the cotangent by the count.
                let ct = if mean { scale / n } else { scale };
                for ((&t, &p), g) in t.iter().zip(p).zip(g) {
                    let (v, d) = f(t, p, ct);
                    sum += v;
                    *g = d;
                }
            }
            None => {
                for (&t, &p) in t.iter().zip(p) {
                    sum += f(t, p, T::ZERO).0;
                }
            }
        }
        if mean { sum / n } else { sum }
    })
}

impl Loss for MeanSquaredError {
    const NAME: &'static str = "mean_squared_error";

    fn forward_backward<T: Float>(
        &self,
        y_true: &[T],
        y_pred: &[T],
        last: usize,
        grad: Option<(&mut [T], T)>,
    ) -> T {
        let two = T::of(2.0);
        elementwise(y_true, y_pred, last, grad, true, |t, p, ct| {
            let x = t - p;
            (x * x, -(ct * (two * x)))
        })
    }
}

impl Loss for MeanAbsoluteError {
    const NAME: &'static str = "mean_absolute_error";

    fn forward_backward<T: Float>(
        &self,
        y_true: &[T],
        y_pred: &[T],
        last: usize,
        grad: Option<(&mut [T], T)>,
    ) -> T {
        elementwise(y_true, y_pred, last, grad, true, |t, p, ct| {
            let x = t - p;
            // `abs`'s JVP is `select(x >= 0, g, -g)`: slope +1 at zero.
            (x.abs(), if x >= T::ZERO { -ct } else { ct })
        })
    }
}

impl Loss for Huber {
    const NAME: &'static str = "huber_loss";

    fn forward_backward<T: Float>(
        &self,
        y_true: &[T],
        y_pred: &[T],
        last: usize,
        grad: Option<(&mut [T], T)>,
    ) -> T {
        let delta = T::of(self.delta);
        let half = T::of(0.5);
        let two = T::of(2.0);
        // Keras's `half * ops.square(delta)`, in `T`.
        let linear_offset = half * (delta * delta);
        elementwise(y_true, y_pred, last, grad, true, |t, p, ct| {
            let e = p - t;
            let a = e.abs();
            // `ops.where(abs_error <= delta, ...)`: the quadratic branch includes the boundary.
            if a <= delta {
                (half * (e * e), ct * half * (two * e))
            } else {
                let ct_a = ct * delta;
                (delta * a - linear_offset, if e >= T::ZERO { ct_a } else { -ct_a })
            }
        })
    }
}

impl Loss for LogCosh {
    const NAME: &'static str = "log_cosh";

    fn forward_backward<T: Float>(
        &self,
        y_true: &[T],
        y_pred: &[T],
        last: usize,
        grad: Option<(&mut [T], T)>,
    ) -> T {
        let log2 = T::of(core::f64::consts::LN_2);
        let minus_two = T::of(-2.0);
        elementwise(y_true, y_pred, last, grad, true, |t, p, ct| {
            let x = p - t;
            let z = x * minus_two;
            let sp = softplus(z);
            (x + sp - log2, ct + ct * softplus_slope(z, sp) * minus_two)
        })
    }
}

impl Loss for BinaryCrossentropy {
    const NAME: &'static str = "binary_crossentropy";

    fn forward_backward<T: Float>(
        &self,
        y_true: &[T],
        y_pred: &[T],
        last: usize,
        grad: Option<(&mut [T], T)>,
    ) -> T {
        // Python computes `1 - ls` and `0.5 * ls` in double precision; they meet the float32
        // targets as weakly typed scalars, rounded once.
        let smoothing = self.label_smoothing != 0.0;
        let keep = T::of(1.0 - self.label_smoothing);
        let shift = T::of(0.5 * self.label_smoothing);
        let smooth = move |t: T| if smoothing { t * keep + shift } else { t };
        if self.from_logits {
            // `-t * log_sigmoid(x) - (1 - t) * log_sigmoid(-x)`, `log_sigmoid(x) = -softplus(-x)`.
            elementwise(y_true, y_pred, last, grad, true, |t, x, ct| {
                let t = smooth(t);
                let u = T::ONE - t;
                let (sp_neg, sp_pos) = (softplus(-x), softplus(x));
                let value = -t * -sp_neg - u * -sp_pos;
                // Cotangents of the two log-sigmoids, then back through `-softplus(∓x)`.
                let ct_first = ct * -t;
                let ct_second = -ct * u;
                let d = -(-ct_first * softplus_slope(-x, sp_neg)) + -ct_second * softplus_slope(x, sp_pos);
                (value, d)
            })
        } else {
            let lo = T::of(EPSILON);
            let hi = T::of(1.0 - EPSILON);
            elementwise(y_true, y_pred, last, grad, true, |t, p, ct| {
                let t = smooth(t);
                let u = T::ONE - t;
                let (p, pass) = clip(p, lo, hi);
                let q = T::ONE - p;
                let value = -(t * p.ln() + u * q.ln());
                let ct_bce = -ct;
                let d = (ct_bce * t / p + -(ct_bce * u / q)) * pass;
                (value, d)
            })
        }
    }
}

/// `-Σ target_i * log(p_i)` over one row, `log(p)` being a log-softmax of the logits or the log
/// of the normalised, clipped probabilities (`keras/src/backend/jax/nn.py`), with its gradient
/// for a cotangent `ct` written into `g`. `target(i)` is the (smoothed or one-hot) target.
#[inline(always)]
fn crossentropy_row<T: Float>(
    from_logits: bool,
    target: impl Fn(usize) -> T,
    p: &[T],
    g: Option<&mut [T]>,
    ct: T,
) -> T {
    let mut sum = T::ZERO;
    if from_logits {
        // `jax.nn.log_softmax`: shift by the (gradient-stopped) maximum, subtract the log of
        // the sum of exponentials.
        let max = p.iter().fold(p[0], |m, &x| if x > m { x } else { m });
        let mut exp_sum = T::ZERO;
        for &x in p {
            exp_sum += (x - max).exp();
        }
        let lse = exp_sum.ln();
        // The cotangent of the log-sum-exp: minus the sum of the log-probabilities' cotangents.
        let mut ct_lse = T::ZERO;
        for (i, &x) in p.iter().enumerate() {
            let t = target(i);
            sum += t * ((x - max) - lse);
            ct_lse -= -ct * t;
        }
        if let Some(g) = g {
            let ct_exp = ct_lse / exp_sum;
            for (i, (g, &x)) in g.iter_mut().zip(p).enumerate() {
                *g = -ct * target(i) + ct_exp * (x - max).exp();
            }
        }
    } else {
        // `output / sum(output)`, clipped to `[eps, 1 - eps]`, then `log`.
        let (lo, hi) = (T::of(EPSILON), T::of(1.0 - EPSILON));
        let mut total = T::ZERO;
        for &x in p {
            total += x;
        }
        // A zero target adds nothing to the sum and its probability gets only the sum's
        // cotangent: no logarithm, no division (a one-hot row of ten classes needs one of each).
        match g {
            None => {
                for (i, &x) in p.iter().enumerate() {
                    let t = target(i);
                    if t != T::ZERO {
                        sum += t * clip(x / total, lo, hi).0.ln();
                    }
                }
            }
            Some(g) => {
                // First the cotangent of the sum (the quotient's denominator), from each
                // normalised probability's; then each prediction gets its own (over the sum)
                // plus the sum's, written once. (Written, then added to in a second loop, `g`
                // was read back in 16-byte loads over the 4-byte stores just made, which the
                // CPU cannot forward: two fifths of a 10-class loss's time.)
                let inv_total_sq = T::ONE / (total * total);
                let ct_p = |t: T, x: T| {
                    let (c, pass) = clip(x / total, lo, hi);
                    (c, -ct * t / c * pass)
                };
                let mut ct_total = T::ZERO;
                for (i, &x) in p.iter().enumerate() {
                    let t = target(i);
                    if t != T::ZERO {
                        let (c, ct_p) = ct_p(t, x);
                        sum += t * c.ln();
                        ct_total += -(ct_p * inv_total_sq * x);
                    }
                }
                for (i, (g, &x)) in g.iter_mut().zip(p).enumerate() {
                    let t = target(i);
                    let own = if t != T::ZERO { ct_p(t, x).1 / total } else { T::ZERO };
                    *g = own + ct_total;
                }
            }
        }
    }
    -sum
}

/// Keras's categorical label smoothing, `y * (1 - ls) + ls / num_classes`: Python computes
/// `1 - ls` in double precision, while `ls / num_classes` divides two float32 values.
#[inline(always)]
fn smoothing<T: Float>(label_smoothing: f64, last: usize) -> impl Fn(T) -> T {
    let on = label_smoothing != 0.0;
    let keep = T::of(1.0 - label_smoothing);
    let share = T::of(label_smoothing) / T::of(last as f64);
    move |t| if on { t * keep + share } else { t }
}

impl Loss for CategoricalCrossentropy {
    const NAME: &'static str = "categorical_crossentropy";

    fn forward_backward<T: Float>(
        &self,
        y_true: &[T],
        y_pred: &[T],
        last: usize,
        grad: Option<(&mut [T], T)>,
    ) -> T {
        let smooth = smoothing::<T>(self.label_smoothing, last);
        per_row(y_true, y_pred, last, last, grad, |t, p, g, ct| {
            crossentropy_row(self.from_logits, |i| smooth(t[i]), p, g, ct)
        })
    }
}

/// The class a float id selects as `jnp.array(id, dtype="int32")` then `one_hot` do: truncated
/// towards zero, none outside `[0, last)` (nor for NaN).
#[inline(always)]
fn class_of<T: Float>(id: T, last: usize) -> Option<usize> {
    let id = id.as_f64();
    (id > -1.0 && id < last as f64).then_some(id as usize)
}

impl Loss for SparseCategoricalCrossentropy {
    const NAME: &'static str = "sparse_categorical_crossentropy";

    fn target_len(&self, len: usize, last: usize) -> usize {
        len / last
    }

    fn check_target<T: Float>(&self, y_true: &[T], last: usize) -> Result<(), usize> {
        match y_true.iter().position(|&id| {
            let id = id.as_f64();
            !(id >= 0.0 && id < last as f64 && (id as usize) as f64 == id)
        }) {
            Some(bad) => Err(bad),
            None => Ok(()),
        }
    }

    fn forward_backward<T: Float>(
        &self,
        y_true: &[T],
        y_pred: &[T],
        last: usize,
        grad: Option<(&mut [T], T)>,
    ) -> T {
        match grad {
            Some((g, ct)) if !self.from_logits => sparse_probabilities(y_true, y_pred, last, g, ct),
            grad => per_row(y_true, y_pred, last, 1, grad, |t, p, g, ct| {
                let class = class_of(t[0], last);
                crossentropy_row(
                    self.from_logits,
                    |i| if class == Some(i) { T::ONE } else { T::ZERO },
                    p,
                    g,
                    ct,
                )
            }),
        }
    }
}

/// [`crossentropy_row`] over probabilities with its gradient, for class ids: the same
/// operations in the same order, with the one class's terms alone (a zero target adds nothing
/// but the sum's cotangent). Written out, because through the general row's closures the
/// compiler kept its values on the stack: 0.45 µs for 32 rows of 10 classes, most of it
/// reloading them.
fn sparse_probabilities<T: Float>(ids: &[T], p: &[T], last: usize, g: &mut [T], ct: T) -> T {
    positions(ids, p, last, 1);
    assert_eq!(g.len(), p.len(), "gradient length");
    let (lo, hi) = (T::of(EPSILON), T::of(1.0 - EPSILON));
    // The kernel takes the rows it can, eight at a time, the same operations in each lane;
    // the loop goes on from where it stopped.
    let level = crate::kernels::cpu::level();
    let (done, mut loss) = T::sparse_crossentropy(level, ids, p, last, g, ct, lo, hi).unwrap_or((0, T::ZERO));
    let rows = ids.iter().zip(p.chunks_exact(last)).zip(g.chunks_exact_mut(last)).skip(done);
    for ((&id, p), g) in rows {
        let mut total = T::ZERO;
        for &x in p {
            total += x;
        }
        let inv_total_sq = T::ONE / (total * total);
        let class = class_of(id, last);
        let (mut sum, mut ct_total, mut own) = (T::ZERO, T::ZERO, T::ZERO);
        if let Some(x) = class.and_then(|l| p.get(l).copied()) {
            let (c, pass) = clip(x / total, lo, hi);
            sum += T::ONE * c.ln();
            let ct_p = -ct * T::ONE / c * pass;
            ct_total += -(ct_p * inv_total_sq * x);
            own = ct_p / total;
        }
        for (i, g) in g.iter_mut().enumerate() {
            *g = if class == Some(i) { own } else { T::ZERO } + ct_total;
        }
        loss += -sum;
    }
    loss
}

impl Loss for KLDivergence {
    const NAME: &'static str = "kl_divergence";

    fn forward_backward<T: Float>(
        &self,
        y_true: &[T],
        y_pred: &[T],
        last: usize,
        grad: Option<(&mut [T], T)>,
    ) -> T {
        let (lo, hi) = (T::of(EPSILON), T::ONE);
        elementwise(y_true, y_pred, last, grad, false, |t, p, ct| {
            let t = clip(t, lo, hi).0;
            let (p, pass) = clip(p, lo, hi);
            let q = t / p;
            // `log(q)`'s cotangent over `q`, then the quotient's rule for its denominator,
            // `-g * t * p^-2`.
            let ct_q = ct * t / q;
            (t * q.ln(), -(ct_q * (T::ONE / (p * p)) * t) * pass)
        })
    }
}

/// Any of Keras's losses, chosen at run time: what [`compile`](crate::train::Compile::compile)
/// takes for each output (every loss type converts into it with `.into()`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum LossFunction {
    MeanSquaredError(MeanSquaredError),
    MeanAbsoluteError(MeanAbsoluteError),
    Huber(Huber),
    LogCosh(LogCosh),
    BinaryCrossentropy(BinaryCrossentropy),
    CategoricalCrossentropy(CategoricalCrossentropy),
    SparseCategoricalCrossentropy(SparseCategoricalCrossentropy),
    KLDivergence(KLDivergence),
}

macro_rules! dispatch {
    ($self:ident, $l:ident => $e:expr) => {
        match $self {
            LossFunction::MeanSquaredError($l) => $e,
            LossFunction::MeanAbsoluteError($l) => $e,
            LossFunction::Huber($l) => $e,
            LossFunction::LogCosh($l) => $e,
            LossFunction::BinaryCrossentropy($l) => $e,
            LossFunction::CategoricalCrossentropy($l) => $e,
            LossFunction::SparseCategoricalCrossentropy($l) => $e,
            LossFunction::KLDivergence($l) => $e,
        }
    };
}

impl LossFunction {
    /// The loss Keras names `name` in `compile(loss=name)` (`"mse"`, `"binary_crossentropy"`,
    /// `"huber"`...), with its default options.
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "mse" | "mean_squared_error" => MeanSquaredError.into(),
            "mae" | "mean_absolute_error" => MeanAbsoluteError.into(),
            "huber" | "huber_loss" => Huber::DEFAULT.into(),
            "log_cosh" | "logcosh" => LogCosh.into(),
            "binary_crossentropy" => BinaryCrossentropy::DEFAULT.into(),
            "categorical_crossentropy" => CategoricalCrossentropy::DEFAULT.into(),
            "sparse_categorical_crossentropy" => SparseCategoricalCrossentropy::DEFAULT.into(),
            "kld" | "kl_divergence" => KLDivergence.into(),
            _ => return None,
        })
    }

    /// Keras's name of the loss object.
    pub fn name(&self) -> &'static str {
        fn name<L: Loss>(_: &L) -> &'static str {
            L::NAME
        }
        dispatch!(self, l => name(l))
    }

    /// See [`Loss::target_len`].
    pub fn target_len(&self, len: usize, last: usize) -> usize {
        dispatch!(self, l => l.target_len(len, last))
    }

    /// See [`Loss::check_target`].
    pub fn check_target<T: Float>(&self, y_true: &[T], last: usize) -> Result<(), usize> {
        dispatch!(self, l => l.check_target(y_true, last))
    }

    /// See [`Loss::forward_backward`].
    pub fn forward_backward<T: Float>(
        &self,
        y_true: &[T],
        y_pred: &[T],
        last: usize,
        grad: Option<(&mut [T], T)>,
    ) -> T {
        dispatch!(self, l => l.forward_backward(y_true, y_pred, last, grad))
    }
}

macro_rules! into_loss {
    ($($ty:ident),*) => {$(
        impl From<$ty> for LossFunction {
            fn from(loss: $ty) -> Self {
                LossFunction::$ty(loss)
            }
        }
    )*};
}
into_loss!(
    MeanSquaredError,
    MeanAbsoluteError,
    Huber,
    LogCosh,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    KLDivergence
);

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// In `f32`, a batch of rows (eight at a time through the kernel where the CPU has one, the
    /// rest in the loop) gives each row's gradient bit for bit as the row alone does (always the
    /// loop), and the loss to rounding: ids valid, fractional, out of range and NaN; rows
    /// normalised, not, and with probabilities at the clip's bounds.
    #[test]
    fn a_batch_of_class_ids_gives_each_row_s_gradient_as_the_row_alone() {
        let loss = SparseCategoricalCrossentropy::default();
        for last in [3, 10, 12, 17] {
            let rows = 21;
            let mut seed = 5u32;
            let mut next = || {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / 16_777_216.0
            };
            let mut p: Vec<f32> = (0..rows * last).map(|_| next()).collect();
            for row in p.chunks_exact_mut(last).step_by(2) {
                let total: f32 = row.iter().sum();
                row.iter_mut().for_each(|v| *v /= total);
            }
            p[last + 1] = 1e-9;
            p[2 * last] = 1.0;
            let ids: Vec<f32> = (0..rows)
                .map(|r| match r % 7 {
                    3 => 1.5,
                    4 => -3.0,
                    5 => last as f32 + 2.0,
                    6 if r == 13 => f32::NAN,
                    _ => (r % last) as f32,
                })
                .collect();
            let ct = 0.37f32;
            let mut g = vec![f32::NAN; rows * last];
            let total = loss.forward_backward(&ids, &p, last, Some((&mut g, ct)));
            let mut sum = 0.0f32;
            for r in 0..rows {
                let mut row_g = vec![f32::NAN; last];
                let row = &p[r * last..(r + 1) * last];
                sum += loss.forward_backward(&ids[r..=r], row, last, Some((&mut row_g, ct)));
                for (a, b) in g[r * last..(r + 1) * last].iter().zip(&row_g) {
                    assert_eq!(a.to_bits(), b.to_bits(), "last {last} row {r}: {a} against {b}");
                }
            }
            assert!((total - sum).abs() <= 1e-6 * sum.abs(), "last {last}: {total} against {sum}");
        }
    }

    /// One sample's loss and gradient (scale 1) in `f64`, the gradient slice pre-filled with NaN
    /// to check it is overwritten.
    fn one<L: Loss>(loss: L, y_true: &[f64], y_pred: &[f64], last: usize) -> (f64, [f64; 4]) {
        let mut g = [f64::NAN; 4];
        let v = loss.forward_backward(y_true, y_pred, last, Some((&mut g[..y_pred.len()], 1.0)));
        assert_eq!(
            v,
            loss.forward(y_true, y_pred, last),
            "{loss:?}: the value must not depend on the gradient"
        );
        (v, g)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[track_caller]
    fn assert_close(got: (f64, [f64; 4]), value: f64, grad: &[f64]) {
        assert!(close(got.0, value), "value {} != {value}", got.0);
        for (i, (&g, &w)) in got.1.iter().zip(grad).enumerate() {
            assert!(close(g, w), "grad[{i}] {g} != {w} in {:?}", got.1);
        }
    }

    #[test]
    fn regression_losses_by_hand() {
        // Per position: the mean over the last axis; the gradient carries its 1 / last.
        assert_close(one(MeanSquaredError, &[1.0, 2.0], &[2.0, 4.0], 2), 2.5, &[1.0, 2.0]);
        // Two positions of one value each: their sum.
        assert_close(one(MeanSquaredError, &[1.0, 2.0], &[2.0, 4.0], 1), 5.0, &[2.0, 4.0]);
        assert_close(one(MeanAbsoluteError, &[1.0, 2.0], &[2.0, 0.0], 2), 1.5, &[0.5, -0.5]);
        // At a zero error the slope of |y_true - y_pred| is taken as +1, so -1 for y_pred.
        assert_close(one(MeanAbsoluteError, &[1.0], &[1.0], 1), 0.0, &[-1.0]);
        // Huber: quadratic up to and including delta, linear beyond.
        assert_close(one(Huber::DEFAULT, &[0.0, 0.0], &[0.5, -2.0], 2), (0.125 + 1.5) / 2.0, &[0.25, -0.5]);
        assert_close(one(Huber::DEFAULT.delta(0.5), &[0.0], &[0.5], 1), 0.125, &[0.5]);
        assert_close(one(Huber::DEFAULT.delta(0.5), &[0.0], &[-0.75], 1), 0.375 - 0.125, &[-0.5]);
        let x: f64 = 1.5;
        assert_close(one(LogCosh, &[0.5], &[0.5 + x], 1), x.cosh().ln(), &[x.tanh()]);
        assert_close(one(LogCosh, &[0.0], &[-40.0], 1), 40.0 - core::f64::consts::LN_2, &[-1.0]);
        assert_close(one(LogCosh, &[0.0], &[0.0], 1), 0.0, &[0.0]);
    }

    #[test]
    fn binary_crossentropy_by_hand() {
        let ln2 = core::f64::consts::LN_2;
        let bce = BinaryCrossentropy::DEFAULT;
        assert_close(one(bce, &[1.0, 0.0], &[0.5, 0.75], 2), (ln2 + 4f64.ln()) / 2.0, &[-1.0, 2.0]);
        // Clipped to [1e-7, 1 - 1e-7]: no gradient beyond, half of it exactly at a bound.
        assert_close(one(bce, &[1.0], &[0.0], 1), -(1e-7f64).ln(), &[0.0]);
        assert_close(one(bce, &[0.0], &[1.0], 1), -(1.0 - (1.0 - 1e-7f64)).ln(), &[0.0]);
        assert_close(one(bce, &[1.0], &[1e-7], 1), -(1e-7f64).ln(), &[-0.5e7]);
        // Label smoothing 0.2 makes a 1 into 0.9 and a 0 into 0.1.
        let (v, g) = one(bce.label_smoothing(0.2), &[1.0], &[0.5], 1);
        assert_close((v, g), ln2, &[-0.9 / 0.5 + 0.1 / 0.5]);
        let logits = bce.from_logits(true);
        assert_close(one(logits, &[1.0, 0.0], &[0.0, 0.0], 2), ln2, &[-0.25, 0.25]);
        let s = 1.0 / (1.0 + (-2f64).exp());
        assert_close(one(logits, &[1.0], &[2.0], 1), -s.ln(), &[s - 1.0]);
        assert_close(
            one(logits.label_smoothing(0.2), &[1.0], &[2.0], 1),
            -0.9 * s.ln() - 0.1 * (1.0 - s).ln(),
            &[s - 0.9],
        );
        // Logits never clip: a huge logit gives the linear tail.
        assert_close(one(logits, &[0.0], &[100.0], 1), 100.0, &[1.0]);
    }

    #[test]
    fn categorical_crossentropy_by_hand() {
        let cce = CategoricalCrossentropy::DEFAULT;
        // Normalised by their sum: [1, 3] is [0.25, 0.75]; the gradient goes through the sum.
        assert_close(one(cce, &[0.0, 1.0], &[1.0, 3.0], 2), -(0.75f64).ln(), &[0.25, -1.0 / 3.0 + 0.25]);
        // Label smoothing 0.2 over 2 classes: [0, 1] becomes [0.1, 0.9].
        let v = -(0.1 * 0.25f64.ln() + 0.9 * 0.75f64.ln());
        assert_close(
            one(cce.label_smoothing(0.2), &[0.0, 1.0], &[1.0, 3.0], 2),
            v,
            &[-0.1 + 0.25, -0.3 + 0.25],
        );
        // A class of probability 0 is clipped to 1e-7: no gradient, and none through the sum.
        assert_close(one(cce, &[1.0, 0.0], &[0.0, 1.0], 2), -(1e-7f64).ln(), &[0.0, 0.0]);
        let logits = cce.from_logits(true);
        assert_close(one(logits, &[1.0, 0.0], &[0.0, 0.0], 2), core::f64::consts::LN_2, &[-0.5, 0.5]);
        let e = (2f64).exp();
        let sm = [1.0 / (1.0 + e), e / (1.0 + e)];
        assert_close(one(logits, &[0.0, 1.0], &[1.0, 3.0], 2), -sm[1].ln(), &[sm[0], sm[1] - 1.0]);
        // Two positions (rank-2 output): summed.
        let (v, _) = one(logits, &[1.0, 0.0, 1.0, 0.0], &[0.0, 0.0, 0.0, 0.0], 2);
        assert!(close(v, 2.0 * core::f64::consts::LN_2));
    }

    #[test]
    fn sparse_probabilities_is_the_general_row_bit_for_bit() {
        use alloc::{vec, vec::Vec};
        // Rows of 10 classes, some far from normalised, one clipped near 1, one near 0, and ids
        // on every class and out of range (no target: the sum's cotangent alone).
        let last = 10;
        let mut seed = 3u32;
        let mut p: Vec<f32> = (0..8 * last)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / 16_777_216.0
            })
            .collect();
        p[10..20].copy_from_slice(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1e-9]);
        p[20..30].copy_from_slice(&[1e-12, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let ids = [3.0f32, 0.0, 0.0, 9.0, 10.0, -1.0, 4.7, 7.0];
        let ct = 0.125f32;
        let mut fast = vec![f32::NAN; p.len()];
        let v = sparse_probabilities(&ids, &p, last, &mut fast, ct);
        let mut general = vec![f32::NAN; p.len()];
        let w = per_row(&ids, &p, last, 1, Some((&mut general, ct)), |t, p, g, ct| {
            let class = class_of(t[0], last);
            crossentropy_row(false, |i| if class == Some(i) { 1.0 } else { 0.0 }, p, g, ct)
        });
        assert_eq!(v.to_bits(), w.to_bits());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fast), bits(&general));
    }

    #[test]
    fn sparse_categorical_crossentropy_by_hand() {
        let scce = SparseCategoricalCrossentropy::DEFAULT;
        assert_eq!(scce.target_len(12, 3), 4);
        assert_eq!(CategoricalCrossentropy::DEFAULT.target_len(12, 3), 12);
        assert_eq!(scce.check_target(&[0.0, 2.0, 1.0], 3), Ok(()));
        assert_eq!(scce.check_target(&[0.0, 1.5], 3), Err(1));
        assert_eq!(scce.check_target(&[3.0], 3), Err(0));
        assert_eq!(scce.check_target(&[1.0, -1.0], 3), Err(1));
        assert_eq!(scce.check_target(&[-0.0, f32::NAN], 3), Err(1));
        assert_eq!(MeanSquaredError.check_target(&[f32::NAN], 3), Ok(()));

        assert_close(one(scce, &[1.0], &[1.0, 3.0], 2), -(0.75f64).ln(), &[0.25, -1.0 / 3.0 + 0.25]);
        let (v, g) = one(scce.from_logits(true), &[0.0, 1.0], &[0.0, 0.0, 5.0, 5.0], 2);
        assert!(close(v, 2.0 * core::f64::consts::LN_2));
        assert_eq!(g, [-0.5, 0.5, 0.5, -0.5]);
        // Unchecked ids behave as in Keras: truncated, and outside the classes worth nothing.
        assert_close(one(scce, &[1.7], &[1.0, 3.0], 2), -(0.75f64).ln(), &[0.25, -1.0 / 3.0 + 0.25]);
        assert_close(one(scce, &[2.0], &[1.0, 3.0], 2), 0.0, &[0.0, 0.0]);
        assert_close(one(scce, &[-1.0], &[1.0, 3.0], 2), 0.0, &[0.0, 0.0]);
    }

    #[test]
    fn kl_divergence_by_hand() {
        // Σ t log(t / p), both clipped to [1e-7, 1]; y_pred exactly 1 is a tie with the bound.
        let v = 0.5 * 2f64.ln() + 0.5 * 0.5f64.ln();
        assert_close(one(KLDivergence, &[0.5, 0.5], &[0.25, 1.0], 2), v, &[-2.0, -0.25]);
        assert_close(
            one(KLDivergence, &[0.5, 0.5], &[0.0, 2.0], 2),
            0.5 * 5e6f64.ln() + 0.5 * 0.5f64.ln(),
            &[0.0, 0.0],
        );
        // A zero target is 1e-7: a tiny term, not zero.
        let (v, g) = one(KLDivergence, &[0.0], &[0.5], 1);
        assert!(close(v, 1e-7 * (2e-7f64).ln()) && close(g[0], -2e-7));
    }

    #[test]
    fn gradient_is_scaled() {
        let mut g = [0.0f32; 2];
        MeanSquaredError.forward_backward(&[1.0, 2.0], &[2.0, 4.0], 2, Some((&mut g, 0.25)));
        assert_eq!(g, [0.25, 0.5]);
    }

    #[test]
    fn names_and_defaults() {
        assert_eq!(Huber::NAME, "huber_loss");
        assert_eq!(KLDivergence::NAME, "kl_divergence");
        assert_eq!(Huber::default().delta, 1.0);
        assert_eq!(BinaryCrossentropy::default(), BinaryCrossentropy::DEFAULT);
        assert_eq!(CategoricalCrossentropy::default(), CategoricalCrossentropy::DEFAULT);
        assert_eq!(SparseCategoricalCrossentropy::default(), SparseCategoricalCrossentropy::DEFAULT);
        let bce = BinaryCrossentropy::DEFAULT.label_smoothing(0.1).from_logits(true);
        assert_eq!(bce, BinaryCrossentropy { from_logits: true, label_smoothing: 0.1 });
    }

    /// Keras's mean over a batch of 3 (`sum_over_batch_size`) and its gradient, rebuilt as a
    /// trainer would from per-sample calls, against the values Keras 3.15.1 and `jax.grad`
    /// give. The loss must agree within 1e-6 relative, the gradient within 1e-6 absolute (1e-6
    /// relative where it exceeds 1: a probability exactly at the clip's bound).
    #[track_caller]
    fn check<L: Loss>(loss: L, last: usize, y_true: &[f32], y_pred: &[f32], keras: f32, keras_grad: &[f32]) {
        let batch = 3;
        let len = y_pred.len() / batch;
        let targets = loss.target_len(len, last);
        assert_eq!(y_true.len(), batch * targets);
        let count = (batch * (len / last)) as f32;
        let mut grad = [f32::NAN; 18];
        let grad = &mut grad[..y_pred.len()];
        let mut total = 0.0;
        for ((t, p), g) in y_true.chunks(targets).zip(y_pred.chunks(len)).zip(grad.chunks_mut(len)) {
            assert_eq!(loss.check_target(t, last), Ok(()));
            total += loss.forward_backward(t, p, last, Some((g, 1.0 / count)));
        }
        let mean = total / count;
        assert!((mean - keras).abs() <= 1e-6 * keras.abs(), "{loss:?}, last {last}: {mean} != {keras}");
        for (i, (&g, &k)) in grad.iter().zip(keras_grad).enumerate() {
            assert!((g - k).abs() <= 1e-6 * k.abs().max(1.0), "{loss:?}, last {last}: grad[{i}] {g} != {k}");
        }
    }

    /// Generated by this script (Python 3.11, keras 3.15.1, jax 0.10.2, numpy 2.4.6; the
    /// packages of `scripts/requirements.txt`):
    ///
    /// ```python
    /// import os; os.environ["KERAS_BACKEND"] = "jax"
    /// import numpy as np, jax, keras
    /// from keras import losses as L
    /// f32 = np.float32
    /// def a(*rows): return np.array(rows, f32)
    /// # Rank 1, shape (4,): regression, binary, categorical, KL inputs; batch 3.
    /// R4_T = a([0.5, -1.0, 2.0, 0.0], [1.5, 0.25, -0.75, 3.0], [0.0, 0.0, 1.0, -2.0])
    /// R4_P = a([0.3, -1.0, 2.5, 1.2], [-0.5, 0.75, -0.25, 1.0], [1.0, -0.4, 1.0, -3.5])
    /// B4_T = a([1, 0, 1, 0], [1, 1, 0, 0.3], [0, 1, 0.5, 1])
    /// B4_P = a([0.0, 1.0, 1e-7, 0.2], [0.9, 1 - 1e-7, 0.6, 0.3], [0.5, 0.999, 1e-8, 1.0])
    /// B4_X = a([-3, 0, 2.5, 10], [-20, 1, -0.5, 0.1], [30, -1.5, 4, -8])
    /// C4_T = a([0, 1, 0, 0], [0.1, 0.6, 0.3, 0], [1, 0, 0, 0])
    /// C4_P = a([0.2, 0.5, 0.3, 0.0], [2.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0])
    /// C4_X = a([1, 2, 0.5, -1], [0, 0, 0, 0], [10, -10, 3, 2])
    /// S4 = a(1, 3, 0)
    /// K4_T = a([0.2, 0.8, 0, 0], [0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0])
    /// K4_P = a([0.0, 1.0, 0.5, 0.1], [0.1, 0.2, 0.3, 0.4], [1.2, 0.3, 0.0, 0.5])
    /// # Rank 2, shape (2, 3); batch 3.
    /// i = np.arange(18, dtype=f32).reshape(3, 2, 3)
    /// R23_T = (i % 5 - 2) * f32(0.5)
    /// R23_P = (np.sin(i) * 2).astype(f32)
    /// B23_T = i % 2
    /// B23_P = ((i + 0.5) / 18).astype(f32)
    /// B23_X = (np.cos(i) * 3).astype(f32)
    /// S23 = a([0, 2], [1, 1], [2, 0])
    /// C23_T = np.eye(3, dtype=f32)[S23.astype(int)]
    /// C23_P = (1.5 + np.sin(i)).astype(f32)
    /// K23_T = (C23_P / C23_P.sum(-1, keepdims=True)).astype(f32)
    /// K23_P = np.where(i % 7 == 0, f32(1.0), (np.cos(i) + 1) / 2).astype(f32)
    /// CASES = [  # (Rust loss, Keras loss, last, y_true, y_pred)
    ///     ("MeanSquaredError", L.MeanSquaredError(), 4, R4_T, R4_P),
    ///     ("MeanSquaredError", L.MeanSquaredError(), 3, R23_T, R23_P),
    ///     ("MeanAbsoluteError", L.MeanAbsoluteError(), 4, R4_T, R4_P),
    ///     ("MeanAbsoluteError", L.MeanAbsoluteError(), 3, R23_T, R23_P),
    ///     ("Huber::DEFAULT", L.Huber(), 4, R4_T, R4_P),
    ///     ("Huber::DEFAULT.delta(0.5)", L.Huber(delta=0.5), 4, R4_T, R4_P),
    ///     ("Huber::DEFAULT.delta(0.7)", L.Huber(delta=0.7), 3, R23_T, R23_P),
    ///     ("LogCosh", L.LogCosh(), 4, R4_T, R4_P),
    ///     ("LogCosh", L.LogCosh(), 3, R23_T, R23_P),
    ///     ("BinaryCrossentropy::DEFAULT", L.BinaryCrossentropy(), 4, B4_T, B4_P),
    ///     ("BinaryCrossentropy::DEFAULT.label_smoothing(0.1)", L.BinaryCrossentropy(label_smoothing=0.1), 4, B4_T, B4_P),
    ///     ("BinaryCrossentropy::DEFAULT.from_logits(true)", L.BinaryCrossentropy(from_logits=True), 4, B4_T, B4_X),
    ///     ("BinaryCrossentropy::DEFAULT.from_logits(true).label_smoothing(0.2)",
    ///      L.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), 4, B4_T, B4_X),
    ///     ("BinaryCrossentropy::DEFAULT", L.BinaryCrossentropy(), 3, B23_T, B23_P),
    ///     ("BinaryCrossentropy::DEFAULT.from_logits(true).label_smoothing(0.1)",
    ///      L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), 3, B23_T, B23_X),
    ///     ("CategoricalCrossentropy::DEFAULT", L.CategoricalCrossentropy(), 4, C4_T, C4_P),
    ///     ("CategoricalCrossentropy::DEFAULT.label_smoothing(0.1)",
    ///      L.CategoricalCrossentropy(label_smoothing=0.1), 4, C4_T, C4_P),
    ///     ("CategoricalCrossentropy::DEFAULT.from_logits(true)", L.CategoricalCrossentropy(from_logits=True), 4, C4_T, C4_X),
    ///     ("CategoricalCrossentropy::DEFAULT.from_logits(true).label_smoothing(0.1)",
    ///      L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), 4, C4_T, C4_X),
    ///     ("CategoricalCrossentropy::DEFAULT", L.CategoricalCrossentropy(), 3, C23_T, C23_P),
    ///     ("CategoricalCrossentropy::DEFAULT.from_logits(true).label_smoothing(0.2)",
    ///      L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2), 3, C23_T, B23_X),
    ///     ("SparseCategoricalCrossentropy::DEFAULT", L.SparseCategoricalCrossentropy(), 4, S4, C4_P),
    ///     ("SparseCategoricalCrossentropy::DEFAULT.from_logits(true)",
    ///      L.SparseCategoricalCrossentropy(from_logits=True), 4, S4, C4_X),
    ///     ("SparseCategoricalCrossentropy::DEFAULT", L.SparseCategoricalCrossentropy(), 3, S23, C23_P),
    ///     ("SparseCategoricalCrossentropy::DEFAULT.from_logits(true)",
    ///      L.SparseCategoricalCrossentropy(from_logits=True), 3, S23, B23_X),
    ///     ("KLDivergence", L.KLDivergence(), 4, K4_T, K4_P),
    ///     ("KLDivergence", L.KLDivergence(), 3, K23_T, K23_P),
    /// ]
    /// def lit(v): return "&[" + ", ".join(str(f32(x)) for x in np.ravel(v)) + "]"
    /// for rust, loss, last, y_true, y_pred in CASES:
    ///     value = loss(y_true, y_pred)
    ///     grad = jax.grad(lambda p: loss(y_true, p))(y_pred)
    ///     print(f"check({rust}, {last}, {lit(y_true)}, {lit(y_pred)}, {str(f32(value))}, {lit(grad)});")
    /// ```
    #[test]
    #[rustfmt::skip]
    fn keras_parity() {
        check(MeanSquaredError, 4, &[0.5, -1.0, 2.0, 0.0, 1.5, 0.25, -0.75, 3.0, 0.0, 0.0, 1.0, -2.0], &[0.3, -1.0, 2.5, 1.2, -0.5, 0.75, -0.25, 1.0, 1.0, -0.4, 1.0, -3.5], 1.1366667, &[-0.03333333, -0.0, 0.083333336, 0.20000002, -0.33333334, 0.083333336, 0.083333336, -0.33333334, 0.16666667, -0.06666667, -0.0, -0.25]);
        check(MeanSquaredError, 3, &[-1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0], &[0.0, 1.682942, 1.8185948, 0.28224, -1.513605, -1.9178486, -0.558831, 1.3139732, 1.9787165, 0.8242369, -1.0880421, -1.9999804, -1.0731459, 0.8403341, 1.9812148, 1.3005757, -0.5758067, -1.9227949], 1.8728646, &[0.11111112, 0.24254912, 0.20206611, -0.024195557, -0.27928948, -0.10198318, -0.0065367757, 0.14599703, 0.16430184, -0.01952923, -0.0097824605, -0.16666451, -0.119238436, 0.037814904, 0.10902387, 0.25561956, -0.008422965, -0.2136439]);
        check(MeanAbsoluteError, 4, &[0.5, -1.0, 2.0, 0.0, 1.5, 0.25, -0.75, 3.0, 0.0, 0.0, 1.0, -2.0], &[0.3, -1.0, 2.5, 1.2, -0.5, 0.75, -0.25, 1.0, 1.0, -0.4, 1.0, -3.5], 0.81666666, &[-0.083333336, -0.083333336, 0.083333336, 0.083333336, -0.083333336, 0.083333336, 0.083333336, -0.083333336, 0.083333336, -0.083333336, -0.083333336, -0.083333336]);
        check(MeanAbsoluteError, 3, &[-1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0], &[0.0, 1.682942, 1.8185948, 0.28224, -1.513605, -1.9178486, -0.558831, 1.3139732, 1.9787165, 0.8242369, -1.0880421, -1.9999804, -1.0731459, 0.8403341, 1.9812148, 1.3005757, -0.5758067, -1.9227949], 1.1088849, &[0.05555556, 0.05555556, 0.05555556, -0.05555556, -0.05555556, -0.05555556, -0.05555556, 0.05555556, 0.05555556, -0.05555556, -0.05555556, -0.05555556, -0.05555556, 0.05555556, 0.05555556, 0.05555556, -0.05555556, -0.05555556]);
        check(Huber::DEFAULT, 4, &[0.5, -1.0, 2.0, 0.0, 1.5, 0.25, -0.75, 3.0, 0.0, 0.0, 1.0, -2.0], &[0.3, -1.0, 2.5, 1.2, -0.5, 0.75, -0.25, 1.0, 1.0, -0.4, 1.0, -3.5], 0.4729167, &[-0.016666666, 0.0, 0.041666668, 0.083333336, -0.083333336, 0.041666668, 0.041666668, -0.083333336, 0.083333336, -0.033333335, 0.0, -0.083333336]);
        check(Huber::DEFAULT.delta(0.5), 4, &[0.5, -1.0, 2.0, 0.0, 1.5, 0.25, -0.75, 3.0, 0.0, 0.0, 1.0, -2.0], &[0.3, -1.0, 2.5, 1.2, -0.5, 0.75, -0.25, 1.0, 1.0, -0.4, 1.0, -3.5], 0.3083333, &[-0.016666666, 0.0, 0.041666668, 0.041666668, -0.041666668, 0.041666668, 0.041666668, -0.041666668, 0.041666668, -0.033333335, 0.0, -0.041666668]);
        check(Huber::DEFAULT.delta(0.7), 3, &[-1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0], &[0.0, 1.682942, 1.8185948, 0.28224, -1.513605, -1.9178486, -0.558831, 1.3139732, 1.9787165, 0.8242369, -1.0880421, -1.9999804, -1.0731459, 0.8403341, 1.9812148, 1.3005757, -0.5758067, -1.9227949], 0.5815513, &[0.03888889, 0.03888889, 0.03888889, -0.012097779, -0.03888889, -0.03888889, -0.0032683879, 0.03888889, 0.03888889, -0.009764615, -0.0048912303, -0.03888889, -0.03888889, 0.018907452, 0.03888889, 0.03888889, -0.0042114826, -0.03888889]);
        check(LogCosh, 4, &[0.5, -1.0, 2.0, 0.0, 1.5, 0.25, -0.75, 3.0, 0.0, 0.0, 1.0, -2.0], &[0.3, -1.0, 2.5, 1.2, -0.5, 0.75, -0.25, 1.0, 1.0, -0.4, 1.0, -3.5], 0.41592336, &[-0.016447939, 0.0, 0.038509768, 0.06947122, -0.080335654, 0.038509768, 0.038509768, -0.080335654, 0.063466184, -0.031662427, 0.0, -0.07542903]);
        check(LogCosh, 3, &[-1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0], &[0.0, 1.682942, 1.8185948, 0.28224, -1.513605, -1.9178486, -0.558831, 1.3139732, 1.9787165, 0.8242369, -1.0880421, -1.9999804, -1.0731459, 0.8403341, 1.9812148, 1.3005757, -0.5758067, -1.9227949], 0.64178044, &[0.04231079, 0.054161772, 0.052705456, -0.011910118, -0.05483176, -0.040271007, -0.003264621, 0.048070963, 0.050068185, -0.009665288, -0.0048786327, -0.050285824, -0.043924645, 0.01820976, 0.041866187, 0.054451063, -0.0042034313, -0.053230383]);
        check(BinaryCrossentropy::DEFAULT, 4, &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.3, 0.0, 1.0, 0.5, 1.0], &[0.0, 1.0, 1e-07, 0.2, 0.9, 0.9999999, 0.6, 0.3, 0.5, 0.999, 1e-08, 1.0], 4.8989525, &[-0.0, 0.0, -416666.7, 0.10416667, -0.0925926, -0.04166667, 0.20833336, 0.0, 0.16666667, -0.08341675, -0.0, -0.0]);
        check(BinaryCrossentropy::DEFAULT.label_smoothing(0.1), 4, &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.3, 0.0, 1.0, 0.5, 1.0], &[0.0, 1.0, 1e-07, 0.2, 0.9, 0.9999999, 0.6, 0.3, 0.5, 0.999, 1e-08, 1.0], 4.874494, &[-0.0, 0.0, -395833.3, 0.07812499, -0.046296295, 17476.232, 0.19097222, -0.007936515, 0.14999999, 4.0874753, -0.0, 0.0]);
        check(BinaryCrossentropy::DEFAULT.from_logits(true), 4, &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.3, 0.0, 1.0, 0.5, 1.0], &[-3.0, 0.0, 2.5, 10.0, -20.0, 1.0, -0.5, 0.1, 30.0, -1.5, 4.0, -8.0], 6.4201922, &[-0.07938118, 0.041666668, -0.006321514, 0.08332952, -0.083333336, -0.022411784, 0.031461723, 0.018748265, 0.083333336, -0.06813121, 0.040167823, -0.08330537]);
        check(BinaryCrossentropy::DEFAULT.from_logits(true).label_smoothing(0.2), 4, &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.3, 0.0, 1.0, 0.5, 1.0], &[-3.0, 0.0, 2.5, 10.0, -20.0, 1.0, -0.5, 0.1, 30.0, -1.5, 4.0, -8.0], 5.8490252, &[-0.07104785, 0.033333335, 0.0020118156, 0.07499619, -0.075, -0.014078454, 0.02312839, 0.015414932, 0.075, -0.059797876, 0.040167823, -0.07497203]);
        check(BinaryCrossentropy::DEFAULT, 3, &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0], &[0.027777778, 0.083333336, 0.1388889, 0.19444445, 0.25, 0.30555555, 0.3611111, 0.41666666, 0.4722222, 0.5277778, 0.5833333, 0.6388889, 0.6944444, 0.75, 0.8055556, 0.8611111, 0.9166667, 0.9722222], 0.8595664, &[0.05714286, -0.6666667, 0.064516135, -0.2857143, 0.07407408, -0.1818182, 0.08695653, -0.13333334, 0.105263166, -0.105263166, 0.13333334, -0.08695653, 0.18181817, -0.07407408, 0.28571436, -0.064516135, 0.66666687, -0.05714286]);
        check(BinaryCrossentropy::DEFAULT.from_logits(true).label_smoothing(0.1), 3, &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0], &[3.0, 1.6209068, -1.2484405, -2.9699774, -1.9609308, 0.8509865, 2.8805108, 2.2617068, -0.4365001, -2.7333908, -2.5172145, 0.013277094, 2.5315619, 2.7223403, 0.41021168, -2.2790637, -2.8729784, -0.82549006], 1.1798146, &[0.05014301, -0.0063933246, 0.009609455, -0.050066628, 0.004075908, -0.013845887, 0.049826376, -0.0024635787, 0.01903196, -0.04938714, 0.0013700083, -0.024815599, 0.04868472, -0.0006482161, 0.030618815, -0.04761824, 0.00019475608, -0.035855584]);
        check(CategoricalCrossentropy::DEFAULT, 4, &[0.0, 1.0, 0.0, 0.0, 0.1, 0.6, 0.3, 0.0, 1.0, 0.0, 0.0, 0.0], &[0.2, 0.5, 0.3, 0.0, 2.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0], 6.0427413, &[0.33333334, -0.33333334, 0.33333334, 0.33333334, 0.06666668, -0.116666675, -0.016666666, 0.08333334, -0.0, -0.0, -0.0, -0.0]);
        check(CategoricalCrossentropy::DEFAULT.label_smoothing(0.1), 4, &[0.0, 1.0, 0.0, 0.0, 0.1, 0.6, 0.3, 0.0, 1.0, 0.0, 0.0, 0.0], &[0.2, 0.5, 0.3, 0.0, 2.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0], 6.168156, &[0.28333333, -0.2916667, 0.2972222, 0.325, 0.06208333, -0.107083336, -0.017083347, 0.08125, -0.0, -0.0, -0.0, -0.0]);
        check(CategoricalCrossentropy::DEFAULT.from_logits(true), 4, &[0.0, 1.0, 0.0, 0.0, 0.1, 0.6, 0.3, 0.0, 1.0, 0.0, 0.0, 0.0], &[1.0, 2.0, 0.5, -1.0, 0.0, 0.0, 0.0, 0.0, 10.0, -10.0, 3.0, 2.0], 0.62757427, &[0.07473595, -0.13017999, 0.04532964, 0.01011441, 0.05000001, -0.116666675, -0.016666666, 0.08333334, -0.00041523576, 6.861954e-10, 0.00030358203, 0.000111681584]);
        check(CategoricalCrossentropy::DEFAULT.from_logits(true).label_smoothing(0.1), 4, &[0.0, 1.0, 0.0, 0.0, 0.1, 0.6, 0.3, 0.0, 1.0, 0.0, 0.0, 0.0], &[1.0, 2.0, 0.5, -1.0, 0.0, 0.0, 0.0, 0.0, 10.0, -10.0, 3.0, 2.0], 0.96507424, &[0.06640261, -0.105179995, 0.036996305, 0.0017810753, 0.044999994, -0.105000004, -0.0150000155, 0.074999996, 0.02458474, -0.008333333, -0.0080297515, -0.008221652]);
        check(CategoricalCrossentropy::DEFAULT, 3, &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0], &[1.5, 2.341471, 2.4092975, 1.64112, 0.7431975, 0.5410757, 1.2205845, 2.1569867, 2.4893582, 1.9121184, 0.95597893, 0.5000098, 0.96342707, 1.9201671, 2.4906073, 2.1502879, 1.2120967, 0.53860253], 1.1232609, &[-0.084447734, 0.026663387, 0.026663387, 0.0569724, 0.0569724, -0.25105596, 0.028407823, -0.04886047, 0.028407823, 0.04948378, -0.124857605, 0.04948378, 0.03101236, 0.03101236, -0.035905723, -0.034784768, 0.042724233, 0.042724233]);
        check(CategoricalCrossentropy::DEFAULT.from_logits(true).label_smoothing(0.2), 3, &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0], &[3.0, 1.6209068, -1.2484405, -2.9699774, -1.9609308, 0.8509865, 2.8805108, 2.2617068, -0.4365001, -2.7333908, -2.5172145, 0.013277094, 2.5315619, 2.7223403, 0.41021168, -2.2790637, -2.8729784, -0.82549006], 1.5386167, &[-0.012805909, 0.022036366, -0.009230459, -0.00773669, -0.0018551238, 0.009591818, 0.09471912, -0.087445535, -0.0072735962, -0.0017645753, -0.13284239, 0.13460696, 0.06041777, 0.07545253, -0.13587031, -0.11585932, 0.0046724924, 0.11118683]);
        check(SparseCategoricalCrossentropy::DEFAULT, 4, &[1.0, 3.0, 0.0], &[0.2, 0.5, 0.3, 0.0, 2.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0], 10.976445, &[0.33333334, -0.33333334, 0.33333334, 0.33333334, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0]);
        check(SparseCategoricalCrossentropy::DEFAULT.from_logits(true), 4, &[1.0, 3.0, 0.0], &[1.0, 2.0, 0.5, -1.0, 0.0, 0.0, 0.0, 0.0, 10.0, -10.0, 3.0, 2.0], 0.62757427, &[0.07473595, -0.13017999, 0.04532964, 0.01011441, 0.083333336, 0.083333336, 0.083333336, -0.25, -0.00041523576, 6.861954e-10, 0.00030358203, 0.000111681584]);
        check(SparseCategoricalCrossentropy::DEFAULT, 3, &[0.0, 2.0, 1.0, 1.0, 2.0, 0.0], &[1.5, 2.341471, 2.4092975, 1.64112, 0.7431975, 0.5410757, 1.2205845, 2.1569867, 2.4893582, 1.9121184, 0.95597893, 0.5000098, 0.96342707, 1.9201671, 2.4906073, 2.1502879, 1.2120967, 0.53860253], 1.1232609, &[-0.084447734, 0.026663387, 0.026663387, 0.0569724, 0.0569724, -0.25105596, 0.028407823, -0.04886047, 0.028407823, 0.04948378, -0.124857605, 0.04948378, 0.03101236, 0.03101236, -0.035905723, -0.034784768, 0.042724233, 0.042724233]);
        check(SparseCategoricalCrossentropy::DEFAULT.from_logits(true), 3, &[0.0, 2.0, 1.0, 1.0, 2.0, 0.0], &[3.0, 1.6209068, -1.2484405, -2.9699774, -1.9609308, 0.8509865, 2.8805108, 2.2617068, -0.4365001, -2.7333908, -2.5172145, 0.013277094, 2.5315619, 2.7223403, 0.41021168, -2.2790637, -2.8729784, -0.82549006], 1.4638125, &[-0.03502813, 0.03314748, 0.0018806531, 0.0033744227, 0.0092559885, -0.012630403, 0.10583023, -0.109667756, 0.0038375163, 0.009346537, -0.15506461, 0.14571807, 0.07152888, 0.08656364, -0.15809253, -0.13808155, 0.015783604, 0.12229794]);
        check(KLDivergence, 4, &[0.2, 0.8, 0.0, 0.0, 0.25, 0.25, 0.25, 0.25, 1.0, 0.0, 0.0, 0.0], &[0.0, 1.0, 0.5, 0.1, 0.1, 0.2, 0.3, 0.4, 1.2, 0.3, 0.0, 0.5], 0.9483294, &[-0.0, -0.13333334, -6.666667e-08, -3.3333333e-07, -0.8333333, -0.41666666, -0.2777778, -0.20833333, -0.0, -1.1111112e-07, -0.0, -6.666667e-08]);
        check(KLDivergence, 3, &[0.23997049, 0.3745893, 0.3854402, 0.5609913, 0.25405046, 0.1849583, 0.20804487, 0.36765176, 0.42430344, 0.5677131, 0.2838327, 0.14845423, 0.17926888, 0.3572935, 0.46343765, 0.55121636, 0.31071538, 0.13806826], &[1.0, 0.77015114, 0.2919266, 0.0050037503, 0.1731782, 0.6418311, 0.98008513, 1.0, 0.42724997, 0.044434875, 0.080464244, 0.5022128, 0.921927, 0.95372343, 1.0, 0.12015605, 0.021170259, 0.36241832], 0.5799491, &[-0.01999754, -0.081064016, -0.22005545, -18.685694, -0.24449815, -0.048028808, -0.035378713, -0.030637648, -0.16551727, -2.1293826, -0.5879065, -0.049266715, -0.032408368, -0.062438346, -0.038619805, -0.76458406, -2.4461627, -0.06349396]);
    }
}
