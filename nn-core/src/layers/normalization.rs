//! `BatchNormalization`, `LayerNormalization`, `GroupNormalization`, `UnitNormalization` and
//! `RMSNormalization`, over the last axis (the channels) of a vector, sequence or image, with
//! Keras 3's formulas (`keras/src/layers/normalization/`): the first three end as
//! `y = x · inv + res` per channel, with `inv = gamma / sqrt(variance + epsilon)` and
//! `res = beta - mean · inv`, in that order, so the rounding matches Keras's; the last two scale
//! each row by its inverse L2 norm or root mean square.

use super::axes;
use crate::Float;
use crate::float::{constant, sqrt, to_f64};
use crate::init::Rng;
use crate::kernels::cpu::Level;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Tensor, flatten, flatten_mut};
use crate::train::{Ctx, Train};
use crate::weights::bytes;
use core::marker::PhantomData;

/// `1 / sqrt(variance + epsilon)`.
#[inline(always)]
fn rstd<T: Float>(variance: T, epsilon: f64) -> T {
    T::ONE / (variance + T::of(epsilon)).sqrt()
}

/// `inv` and `res` of one channel from its mean and `rstd`, with `gamma` and `beta` where
/// present.
#[inline(always)]
fn affine<T: Float>(mean: T, rstd: T, gamma: Option<T>, beta: Option<T>) -> (T, T) {
    let inv = gamma.map_or(rstd, |g| rstd * g);
    (inv, beta.map_or(-mean * inv, |b| -mean * inv + b))
}

/// Reads `gamma` and `beta`, those the layer has, from raw weight bytes.
const fn read_affine<T: Float, const C: usize>(
    bytes: &[u8],
    mut at: usize,
    (gamma, scale): (&mut [T; C], bool),
    (beta, center): (&mut [T; C], bool),
) -> usize {
    if scale {
        at = bytes::read(bytes, at, gamma);
    }
    if center {
        at = bytes::read(bytes, at, beta);
    }
    at
}

/// Visits `gamma` and `beta`, those the layer has, in Keras's order.
fn visit_affine<T>(
    shape: &'static [usize],
    (gamma, scale): (&[T], bool),
    (beta, center): (&[T], bool),
    f: &mut dyn FnMut(WeightRef<'_, T>),
) {
    if scale {
        f(WeightRef { name: "gamma", shape, data: gamma });
    }
    if center {
        f(WeightRef { name: "beta", shape, data: beta });
    }
}

/// [`visit_affine`], writable.
fn visit_affine_mut<T>(
    shape: &'static [usize],
    (gamma, scale): (&mut [T], bool),
    (beta, center): (&mut [T], bool),
    f: &mut dyn FnMut(WeightMut<'_, T>),
) {
    if scale {
        f(WeightMut { name: "gamma", shape, data: gamma });
    }
    if center {
        f(WeightMut { name: "beta", shape, data: beta });
    }
}

/// Mean and (biased) variance of `values`, two passes as `jnp.var`.
#[inline(always)]
fn moments<'a, T: Float>(values: impl Iterator<Item = &'a T> + Clone, n: usize) -> (T, T) {
    let count = T::of(n as f64);
    let mean = values.clone().fold(T::ZERO, |s, v| s + *v) / count;
    let variance = values.fold(T::ZERO, |s, v| s + (*v - mean) * (*v - mean)) / count;
    (mean, variance)
}

/// How a group of values is normalized, for [`group_backward`].
#[derive(Clone, Copy)]
enum Form {
    /// `y = (x - mean) · rstd · gamma + beta`.
    Centered,
    /// Keras's `rms_scaling`: `y = x · rstd · gamma`, `rstd` still from the variance.
    Rms,
}

/// The gradients a group's backward pass adds into: `gamma`'s and `beta`'s, those the layer
/// trains.
struct AffineGrads<'a, T, const C: usize> {
    gamma: Option<&'a mut [T; C]>,
    beta: Option<&'a mut [T; C]>,
}

impl<'a, T, const C: usize> AffineGrads<'a, T, C> {
    /// The gradient fields of `grads` (`None` for a frozen layer) that `scale` and `center` say
    /// exist.
    fn of(grads: Option<(&'a mut [T; C], &'a mut [T; C])>, scale: bool, center: bool) -> Self {
        match grads {
            Some((gamma, beta)) => {
                AffineGrads { gamma: scale.then_some(gamma), beta: center.then_some(beta) }
            }
            None => AffineGrads { gamma: None, beta: None },
        }
    }
}

/// The backward pass of one group of `count` values normalized together, at the flat
/// positions `at` of `x` (and of `dy`, `dx`; a position's channel is `position / inner % C`,
/// `inner` being the values after the channel axis: 1 where it is the last), with the group's
/// `mean` and `rstd = 1 / sqrt(variance + epsilon)`.
///
/// JAX's derivative of Keras's formula, the mean and variance being functions of every value of
/// the group: with `g = dy · gamma`, `x̂ = (x - mean) · rstd` and `z` the value before `gamma`
/// (`x̂`, or `x · rstd` with [`Form::Rms`]),
/// `dx = rstd · (g - mean(g) - x̂ · mean(g · z))` (no `mean(g)` term with `Rms`, which subtracts
/// no mean), `dgamma += dy · z`, `dbeta += dy`. Adds into `dx` and `grads`.
#[allow(clippy::too_many_arguments)]
fn group_backward<T: Float, const C: usize>(
    at: impl Iterator<Item = usize> + Clone,
    channel: impl Fn(usize) -> usize,
    count: usize,
    (mean, rstd): (T, T),
    form: Form,
    gamma: Option<&[T; C]>,
    (x, dy): (&[T], &[T]),
    dx: Option<&mut [T]>,
    grads: &mut AffineGrads<'_, T, C>,
) {
    let rms = matches!(form, Form::Rms);
    let (mut sum_g, mut sum_gz) = (T::ZERO, T::ZERO);
    for p in at.clone() {
        let (c, dy) = (channel(p), dy[p]);
        let z = if rms { x[p] * rstd } else { (x[p] - mean) * rstd };
        let g = gamma.map_or(dy, |gamma| dy * gamma[c]);
        sum_g += g;
        sum_gz += g * z;
        if let Some(dgamma) = grads.gamma.as_deref_mut() {
            dgamma[c] += dy * z;
        }
        if let Some(dbeta) = grads.beta.as_deref_mut() {
            dbeta[c] += dy;
        }
    }
    let Some(dx) = dx else { return };
    let n = T::of(count as f64);
    let (mean_g, mean_gz) = (if rms { T::ZERO } else { sum_g / n }, sum_gz / n);
    for p in at {
        let xhat = (x[p] - mean) * rstd;
        let g = gamma.map_or(dy[p], |gamma| dy[p] * gamma[channel(p)]);
        dx[p] += rstd * (g - mean_g - xhat * mean_gz);
    }
}

/// The batch's length, as long as every slice a pass reads (the contract makes them equal; a
/// shorter one shortens the batch rather than panicking).
#[inline(always)]
fn batch_len(lens: &[usize]) -> usize {
    lens.iter().copied().min().unwrap_or(0)
}

/// `BatchNormalization` at inference: each channel of the last axis (`C` values) normalized
/// with the moving statistics Keras learned, then scaled by `gamma` (with `SCALE`) and shifted
/// by `beta` (with `CENTER`). The moving mean and variance are weights that are not trained, so
/// a model's summary counts them apart, as Keras does.
///
/// **Folded when the weights are set.** The four vectors and `epsilon` reduce to one scale and
/// one shift per channel, computed by [`prepare`](Self::prepare) whenever the layer's weights
/// are read or set (`read_le_bytes`, the weight visitors, `init_keras`, `ZEROS`; a model's
/// `configure` after setting `epsilon`), so the pass is one multiply-add per value: after a
/// Dense layer or a convolution, whose output is still in cache, that is what the
/// normalization costs. The kernel before it is not rescaled, so the weights a model saves stay
/// Keras's, bit for bit. After changing a field by hand, call `prepare`.
///
/// ```
/// use nn_core::layers::BatchNormalization;
/// use nn_core::{Layer, nalgebra::Vector2};
/// let mut bn = BatchNormalization::<Vector2<f32>, 2>::ZEROS;
/// bn.moving_mean = [1.0, 0.0];
/// bn.moving_variance = [4.0, 1.0];
/// bn.epsilon = 0.0;
/// bn.prepare();
/// assert_eq!(bn.forward(&Vector2::new(5.0, 3.0)), Vector2::new(2.0, 3.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormalization<
    X,
    const C: usize,
    const CENTER: bool = true,
    const SCALE: bool = true,
    const INNER: usize = 1,
> where
    X: Tensor,
{
    /// The scale (ones, and unused, without `SCALE`).
    pub gamma: [X::Scalar; C],
    /// The shift (zeros, and unused, without `CENTER`).
    pub beta: [X::Scalar; C],
    /// The mean subtracted from each channel.
    pub moving_mean: [X::Scalar; C],
    /// The variance each channel is divided by (its square root, after adding `epsilon`).
    pub moving_variance: [X::Scalar; C],
    /// Added to the variance; Keras's default is 1e-3.
    pub epsilon: f64,
    /// How much of the moving statistics a training step keeps:
    /// `moving = moving · momentum + batch · (1 - momentum)`; Keras's default is 0.99.
    pub momentum: f64,
    /// `gamma / sqrt(moving_variance + epsilon)`, from [`prepare`](Self::prepare).
    scale: [X::Scalar; C],
    /// `beta - moving_mean · scale`, from [`prepare`](Self::prepare).
    shift: [X::Scalar; C],
    _shape: PhantomData<fn(X) -> X>,
}

impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool, const INNER: usize>
    BatchNormalization<X, C, CENTER, SCALE, INNER>
{
    /// Keras's initial state: `gamma` ones, `beta` and the mean zeros, the variance ones.
    pub const ZEROS: Self = {
        let mut bn = BatchNormalization {
            gamma: [X::Scalar::ONE; C],
            beta: [X::Scalar::ZERO; C],
            moving_mean: [X::Scalar::ZERO; C],
            moving_variance: [X::Scalar::ONE; C],
            epsilon: 1e-3,
            momentum: 0.99,
            scale: [X::Scalar::ZERO; C],
            shift: [X::Scalar::ZERO; C],
            _shape: PhantomData,
        };
        bn.prepare();
        bn
    };
    const SHAPE: &'static [usize] = &[C];

    /// Folds the weights and `epsilon` into each channel's scale and shift, as Keras's
    /// `batch_normalization` computes them (`inv = rsqrt(variance + epsilon) · gamma`,
    /// `res = beta - mean · inv`), in `f64` and rounded once. A `const fn`, so a model built
    /// at compile time (`from_bytes`, `ZEROS`) is folded then too.
    pub const fn prepare(&mut self) {
        let mut c = 0;
        while c < C {
            let rstd = 1.0 / sqrt(to_f64(&self.moving_variance[c]) + self.epsilon);
            let inv = if SCALE { rstd * to_f64(&self.gamma[c]) } else { rstd };
            let res = -to_f64(&self.moving_mean[c]) * inv;
            self.scale[c] = constant(inv);
            self.shift[c] = constant(if CENTER { res + to_f64(&self.beta[c]) } else { res });
            c += 1;
        }
    }

    /// Reads `gamma`, `beta` (those present), the moving mean and variance from raw bytes, then
    /// folds them.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        let mut at = read_affine(bytes, at, (&mut self.gamma, SCALE), (&mut self.beta, CENTER));
        at = bytes::read(bytes, at, &mut self.moving_mean);
        at = bytes::read(bytes, at, &mut self.moving_variance);
        self.prepare();
        at
    }
}

/// `y = x · inv + res` on every row of `C` values.
#[inline(always)]
fn apply_rows<T: Float, const C: usize, const INNER: usize>(x: &mut [T], inv: &[T; C], res: &[T; C]) {
    if INNER == 1 {
        for row in x.chunks_exact_mut(C) {
            for ((v, i), r) in row.iter_mut().zip(inv).zip(res) {
                *v = *v * *i + *r;
            }
        }
        return;
    }
    // The channel axis before others: each channel a run of `INNER` values.
    for row in x.chunks_exact_mut(C * INNER) {
        for ((run, i), r) in row.chunks_exact_mut(INNER).zip(inv).zip(res) {
            for v in run {
                *v = *v * *i + *r;
            }
        }
    }
}

/// The flat positions of channel `c` in `len` values whose channel axis, of `channels`, is
/// followed by `inner` values: runs of `inner`, one per block of `channels · inner`.
#[inline(always)]
fn channel_positions(
    c: usize,
    channels: usize,
    inner: usize,
    len: usize,
) -> impl Iterator<Item = usize> + Clone {
    let block = channels * inner;
    (0..len / block.max(1)).flat_map(move |b| b * block + c * inner..b * block + (c + 1) * inner)
}

impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool, const INNER: usize> Layer
    for BatchNormalization<X, C, CENTER, SCALE, INNER>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "BatchNormalization";
    const PARAMS: usize = C * (2 + CENTER as usize + SCALE as usize);
    const NON_TRAINABLE: usize = 2 * C;

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        const { assert!(X::LEN % (C * INNER) == 0, "BatchNormalization: C channels, INNER values after each") };
        let mut y = *x;
        apply_rows::<_, C, INNER>(y.as_mut_slice(), &self.scale, &self.shift);
        y
    }

    fn init_keras(&mut self, _rng: &mut Rng) {
        *self = Self { epsilon: self.epsilon, momentum: self.momentum, ..Self::ZEROS };
        self.prepare();
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, X::Scalar>)) {
        visit_affine(Self::SHAPE, (&self.gamma, SCALE), (&self.beta, CENTER), f);
        f(WeightRef { name: "moving_mean", shape: Self::SHAPE, data: &self.moving_mean });
        f(WeightRef { name: "moving_variance", shape: Self::SHAPE, data: &self.moving_variance });
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, X::Scalar>)) {
        visit_affine_mut(Self::SHAPE, (&mut self.gamma, SCALE), (&mut self.beta, CENTER), f);
        f(WeightMut { name: "moving_mean", shape: Self::SHAPE, data: &mut self.moving_mean });
        f(WeightMut { name: "moving_variance", shape: Self::SHAPE, data: &mut self.moving_variance });
        // Every path that sets weights comes through here (or `read_le_bytes`, `init_keras`).
        self.prepare();
    }
}

/// Training mode as Keras 3's `BatchNormalization.call(training=True)` on a trainable layer:
/// each channel normalized by the batch's mean and biased variance (`jnp.var`) over every
/// sample and every row, the moving statistics then updated as
/// `moving · momentum + batch · (1 - momentum)` and the folded scale and shift redone
/// ([`BatchNormalization::prepare`]). A frozen layer (`ctx.trainable` false) runs in inference
/// mode, moving statistics and no update, as Keras 3 does.
///
/// Keeps whether the pass used the batch's statistics (`true`) or the moving ones, so the
/// backward pass differentiates the map that ran. The batch's mean and variance are not kept:
/// they are a whole batch's, not a sample's, so the backward pass takes them again from the
/// inputs, with the same sums and so the same values.
impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool, const INNER: usize> Train
    for BatchNormalization<X, C, CENTER, SCALE, INNER>
{
    type Kept = bool;
    const KEPT: bool = false;

    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [X], kept: &mut [bool], ctx: &mut Ctx<'_>) {
        const { assert!(X::LEN % (C * INNER) == 0, "BatchNormalization: C channels, INNER values after each") };
        let n = batch_len(&[xs.len(), ys.len(), kept.len()]);
        kept[..n].fill(ctx.trainable);
        if !ctx.trainable || n == 0 {
            // An empty batch has no statistics: the moving ones stay as they are.
            for (x, y) in xs.iter().zip(ys.iter_mut()) {
                *y = self.forward(x);
            }
            return;
        }
        let x = flatten(&xs[..n]);
        let count = n * (X::LEN / C);
        let (momentum, rest) = (X::Scalar::of(self.momentum), X::Scalar::of(1.0 - self.momentum));
        let (mut inv, mut res) = ([X::Scalar::ZERO; C], [X::Scalar::ZERO; C]);
        for c in 0..C {
            let (mean, variance) = moments(channel_positions(c, C, INNER, x.len()).map(|p| &x[p]), count);
            let gamma = SCALE.then_some(self.gamma[c]);
            (inv[c], res[c]) =
                affine(mean, rstd(variance, self.epsilon), gamma, CENTER.then_some(self.beta[c]));
            self.moving_mean[c] = self.moving_mean[c] * momentum + mean * rest;
            self.moving_variance[c] = self.moving_variance[c] * momentum + variance * rest;
        }
        self.prepare();
        for (x, y) in xs[..n].iter().zip(ys.iter_mut()) {
            *y = *x;
            apply_rows::<_, C, INNER>(y.as_mut_slice(), &inv, &res);
        }
    }

    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        _ys: &[X],
        kept: &[bool],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        grads: Option<&mut Self>,
    ) {
        let n = batch_len(&[xs.len(), kept.len(), dys.len(), dxs.as_ref().map_or(usize::MAX, |d| d.len())]);
        let Some(&training) = kept.first() else { return };
        let (x, dy) = (flatten(&xs[..n]), flatten(&dys[..n]));
        let mut dx = dxs.map(|d| flatten_mut(&mut d[..n]));
        let mut grads = AffineGrads::of(grads.map(|g| (&mut g.gamma, &mut g.beta)), SCALE, CENTER);
        let gamma = SCALE.then_some(&self.gamma);
        for c in 0..C {
            let at = channel_positions(c, C, INNER, x.len());
            if training {
                let (mean, variance) = moments(at.clone().map(|p| &x[p]), n * (X::LEN / C));
                let stats = (mean, rstd(variance, self.epsilon));
                group_backward(
                    at,
                    |p| p / INNER % C,
                    n * (X::LEN / C),
                    stats,
                    Form::Centered,
                    gamma,
                    (x, dy),
                    dx.as_deref_mut(),
                    &mut grads,
                );
                continue;
            }
            // Inference mode: `y = x · scale + shift`, the moving statistics constants.
            let rstd = rstd(self.moving_variance[c], self.epsilon);
            for p in at {
                if let Some(dx) = dx.as_deref_mut() {
                    dx[p] += dy[p] * self.scale[c];
                }
                if let Some(dgamma) = grads.gamma.as_deref_mut() {
                    dgamma[c] += dy[p] * (x[p] - self.moving_mean[c]) * rstd;
                }
                if let Some(dbeta) = grads.beta.as_deref_mut() {
                    dbeta[c] += dy[p];
                }
            }
        }
    }
}

/// Keras's shape of a weight over the axes of `shape` that `mask` names, as a slice of `dims`
/// (see [`axes::dims`]).
pub(super) const fn weight_shape(dims: &'static ([usize; 5], usize)) -> &'static [usize] {
    dims.0.split_at(if dims.1 < 5 { dims.1 } else { 5 }).0
}

/// `LayerNormalization` over the axes `AXES` names, a mask of them (bit 0 the last axis, bit 1
/// the one before: Keras's default `axis=-1` is `1`, `axis=[-2, -1]` `0b11`, `axis=1` of a
/// sequence, over its steps per channel, `0b10`; see `layers/axes.rs`): each row of `C` values
/// (a vector, each step, each pixel) normalized by its own mean and variance, then scaled by `gamma` (with `SCALE`) and
/// shifted by `beta` (with `CENTER`). Keras's `rms_scaling` is `RMS`: the row is divided by
/// the root of its variance plus `epsilon` (Keras 3 takes the variance, not the mean square) and
/// scaled by `gamma`, with no mean subtracted and no `beta`; the macros then set `SCALE` and
/// clear `CENTER`, as Keras creates the weights.
///
/// ```
/// use nn_core::layers::LayerNormalization;
/// use nn_core::{Layer, nalgebra::Vector2};
/// let mut ln = LayerNormalization::<Vector2<f64>, 2>::ZEROS;
/// ln.epsilon = 0.0;
/// assert_eq!(ln.forward(&Vector2::new(1.0, 3.0)), Vector2::new(-1.0, 1.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormalization<
    X,
    const C: usize,
    const CENTER: bool = true,
    const SCALE: bool = true,
    const RMS: bool = false,
    const AXES: usize = 1,
> where
    X: Tensor,
{
    /// The scale (ones, and unused, without `SCALE`).
    pub gamma: [X::Scalar; C],
    /// The shift (zeros, and unused, without `CENTER`).
    pub beta: [X::Scalar; C],
    /// Added to the variance; Keras's default is 1e-3.
    pub epsilon: f64,
    _shape: PhantomData<fn(X) -> X>,
}

impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool, const RMS: bool, const AXES: usize>
    LayerNormalization<X, C, CENTER, SCALE, RMS, AXES>
{
    /// Keras's initial state: `gamma` ones, `beta` zeros.
    pub const ZEROS: Self = LayerNormalization {
        gamma: [X::Scalar::ONE; C],
        beta: [X::Scalar::ZERO; C],
        epsilon: 1e-3,
        _shape: PhantomData,
    };
    const DIMS: ([usize; 5], usize) = axes::dims(X::SHAPE, AXES);
    const SHAPE: &'static [usize] = weight_shape(&Self::DIMS);

    /// Reads `gamma` and `beta`, those present, from raw bytes.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        read_affine(bytes, at, (&mut self.gamma, SCALE), (&mut self.beta, CENTER))
    }
}

impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool, const RMS: bool, const AXES: usize>
    Layer for LayerNormalization<X, C, CENTER, SCALE, RMS, AXES>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "LayerNormalization";
    const PARAMS: usize = C * (CENTER as usize + SCALE as usize);

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        const {
            assert!(
                axes::fits(X::SHAPE, AXES) && axes::size(X::SHAPE, AXES) == C,
                "LayerNormalization: C must be its axes' size"
            )
        };
        let mut y = *x;
        let normalize = |c: usize, v: X::Scalar, (mean, rstd): (X::Scalar, X::Scalar)| {
            if RMS {
                return if SCALE { v * rstd * self.gamma[c] } else { v * rstd };
            }
            let (inv, res) =
                affine(mean, rstd, SCALE.then_some(self.gamma[c]), CENTER.then_some(self.beta[c]));
            v * inv + res
        };
        if axes::trailing(AXES) {
            for row in y.as_mut_slice().chunks_exact_mut(C) {
                let (mean, variance) = moments(row.iter(), C);
                let stats = (mean, rstd(variance, self.epsilon));
                for (c, v) in row.iter_mut().enumerate() {
                    *v = normalize(c, *v, stats);
                }
            }
            return y;
        }
        let v = y.as_mut_slice();
        for row in axes::rows(X::SHAPE, AXES) {
            let (mean, variance) = moments(row.clone().map(|p| &x.as_slice()[p]), C);
            let stats = (mean, rstd(variance, self.epsilon));
            for (c, p) in row.enumerate() {
                v[p] = normalize(c, v[p], stats);
            }
        }
        y
    }

    fn init_keras(&mut self, _rng: &mut Rng) {
        *self = Self { epsilon: self.epsilon, ..Self::ZEROS };
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, X::Scalar>)) {
        visit_affine(Self::SHAPE, (&self.gamma, SCALE), (&self.beta, CENTER), f);
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, X::Scalar>)) {
        visit_affine_mut(Self::SHAPE, (&mut self.gamma, SCALE), (&mut self.beta, CENTER), f);
    }
}

/// Keeps nothing: the statistics of each row are the input's, taken again by the backward pass
/// (a row's count, `LEN / C`, is no const parameter of the layer, so a fixed-size `Kept` could
/// not hold them), with the same sums and so the same values.
impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool, const RMS: bool, const AXES: usize>
    Train for LayerNormalization<X, C, CENTER, SCALE, RMS, AXES>
{
    type Kept = ();
    const KEPT: () = ();

    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [X], _kept: &mut [()], _ctx: &mut Ctx<'_>) {
        for (x, y) in xs.iter().zip(ys) {
            *y = self.forward(x);
        }
    }

    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        _ys: &[X],
        _kept: &[()],
        dys: &mut [X],
        mut dxs: Option<&mut [X]>,
        grads: Option<&mut Self>,
    ) {
        let n = batch_len(&[xs.len(), dys.len(), dxs.as_ref().map_or(usize::MAX, |d| d.len())]);
        let mut grads = AffineGrads::of(grads.map(|g| (&mut g.gamma, &mut g.beta)), SCALE, CENTER && !RMS);
        let gamma = SCALE.then_some(&self.gamma);
        let form = if RMS { Form::Rms } else { Form::Centered };
        for s in 0..n {
            let (x, dy) = (xs[s].as_slice(), dys[s].as_slice());
            let mut dx = dxs.as_deref_mut().map(|d| d[s].as_mut_slice());
            for row in axes::rows(X::SHAPE, AXES) {
                let (mean, variance) = moments(row.clone().map(|p| &x[p]), C);
                let stats = (mean, rstd(variance, self.epsilon));
                group_backward(
                    row,
                    |p| axes::index(X::SHAPE, AXES, p),
                    C,
                    stats,
                    form,
                    gamma,
                    (x, dy),
                    dx.as_deref_mut(),
                    &mut grads,
                );
            }
        }
    }
}

/// `1 / sqrt(Σ x² / n + epsilon)` over `row`, as Keras's `rsqrt(mean(square(x)) + epsilon)`
/// (`n` the row's length) for RMSNormalization, and `rsqrt(sum(square(x)))` (`n = 1`, no
/// epsilon) for UnitNormalization.
#[inline(always)]
fn rsqrt_mean_square<'a, T: Float>(row: impl Iterator<Item = &'a T>, n: usize, epsilon: f64) -> T {
    let sum = row.fold(T::ZERO, |s, v| s + *v * *v);
    rstd(sum / T::of(n as f64), epsilon)
}

/// UnitNormalization's bound on `1 / ‖x‖`: Keras's `ops.normalize(x, order=2, epsilon=1e-12)`
/// takes `minimum(rsqrt(sum(square(x))), 1 / epsilon)`.
const UNIT_EPSILON: f64 = 1e-12;

/// Keras's `UnitNormalization` over the last axis (or the axes the mask `AXES` names, as
/// [`LayerNormalization`]'s): each row of `C` values (a vector, each step, each pixel) divided
/// by its L2 norm, `y = x · min(1 / sqrt(Σ x²), 1e12)`
/// (`keras.ops.normalize`, whose `epsilon` the layer fixes at 1e-12 and which bounds the inverse
/// norm rather than the norm). No weights.
///
/// ```
/// use nn_core::layers::UnitNormalization;
/// use nn_core::{Layer, nalgebra::Vector2};
/// let un = UnitNormalization::<Vector2<f64>, 2>::ZEROS;
/// assert_eq!(un.forward(&Vector2::new(0.0, -4.0)), Vector2::new(0.0, -1.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UnitNormalization<X, const C: usize, const AXES: usize = 1> {
    _shapes: PhantomData<fn(X) -> X>,
}

impl<X, const C: usize, const AXES: usize> UnitNormalization<X, C, AXES> {
    super::no_weights!();

    /// `min(1 / ‖row‖, 1e12)`, and whether the norm's branch was taken: 1 where
    /// `1 / ‖row‖` is below the bound, 0 where above, and 2 for a tie (where JAX's `minimum`
    /// hands each side half the gradient).
    #[inline(always)]
    fn inverse_norm<'a, T: Float>(row: impl Iterator<Item = &'a T>) -> (T, T, usize) {
        let (rsqrt, bound) = (rsqrt_mean_square(row, 1, 0.0), T::of(1.0 / UNIT_EPSILON));
        match rsqrt.partial_cmp(&bound) {
            Some(core::cmp::Ordering::Less) => (rsqrt, rsqrt, 1),
            Some(core::cmp::Ordering::Equal) => (rsqrt, bound, 2),
            _ => (rsqrt, bound, 0),
        }
    }
}

impl<X: Tensor, const C: usize, const AXES: usize> Layer for UnitNormalization<X, C, AXES> {
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "UnitNormalization";
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        const {
            assert!(
                axes::fits(X::SHAPE, AXES) && axes::size(X::SHAPE, AXES) == C,
                "UnitNormalization: C must be its axes' size"
            )
        };
        let mut y = *x;
        let v = y.as_mut_slice();
        for row in axes::rows(X::SHAPE, AXES) {
            let (_, inv, _) = Self::inverse_norm(row.clone().map(|p| &x.as_slice()[p]));
            for p in row {
                v[p] *= inv;
            }
        }
        y
    }
}

/// Keeps nothing: each row's norm is taken again from the input.
///
/// JAX's derivative of Keras's formula: below the bound, `dx = (dy - z · Σ dy · z) / ‖x‖` with
/// `z = x / ‖x‖` (RMSNormalization's with a count of one); where the bound `1e12` is taken (a
/// norm under 1e-12, zero included), `dx = dy · 1e12`, the norm's branch getting no gradient
/// from `minimum`; at a tie, half of the norm's term, as `jnp.minimum` splits it. (JAX itself
/// gives NaN where the bound is taken and `‖x‖⁻³` overflows, zero included, from `0 · ∞`; the
/// finite value here is its limit.)
impl<X: Tensor, const C: usize, const AXES: usize> Train for UnitNormalization<X, C, AXES> {
    type Kept = ();
    const KEPT: () = ();

    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [X], _kept: &mut [()], _ctx: &mut Ctx<'_>) {
        for (x, y) in xs.iter().zip(ys) {
            *y = self.forward(x);
        }
    }

    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        _ys: &[X],
        _kept: &[()],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        let n = batch_len(&[xs.len(), dys.len(), dxs.len()]);
        let mut none = AffineGrads::<X::Scalar, C> { gamma: None, beta: None };
        for s in 0..n {
            let (x, dy, dx) = (xs[s].as_slice(), dys[s].as_slice(), dxs[s].as_mut_slice());
            for row in axes::rows(X::SHAPE, AXES) {
                let (rsqrt, bound, branch) = Self::inverse_norm(row.clone().map(|p| &x[p]));
                if branch == 0 {
                    for p in row {
                        dx[p] += dy[p] * bound;
                    }
                    continue;
                }
                // A count of two halves the norm's term: `rsqrt` is the bound at a tie.
                let stats = (X::Scalar::ZERO, rsqrt);
                group_backward(
                    row,
                    |p| axes::index(X::SHAPE, AXES, p),
                    branch,
                    stats,
                    Form::Rms,
                    None,
                    (x, dy),
                    Some(&mut *dx),
                    &mut none,
                );
            }
        }
    }
}

/// Keras 3's `RMSNormalization` over the last axis (or the axes the mask `AXES` names, as
/// [`LayerNormalization`]'s): each row of `C` values divided by its root mean square and
/// scaled per channel, `y = x · rsqrt(mean(x²) + epsilon) · scale`
/// (`keras.ops.rms_normalization`). Unlike LayerNormalization's `rms_scaling`, which takes the
/// variance, this takes the mean of the squares. Its one weight is `scale` (ones at first).
///
/// ```
/// use nn_core::layers::RMSNormalization;
/// use nn_core::{Layer, nalgebra::Vector2};
/// let mut rms = RMSNormalization::<Vector2<f64>, 2>::ZEROS;
/// rms.epsilon = 0.0;
/// rms.scale = [1.0, 0.5];
/// // The mean of (1, 49) is 25 (the variance would be 9): divided by 5.
/// let y = rms.forward(&Vector2::new(1.0, 7.0));
/// assert!((y - Vector2::new(0.2, 0.7)).abs().max() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RMSNormalization<X, const C: usize, const AXES: usize = 1>
where
    X: Tensor,
{
    /// The scale per channel.
    pub scale: [X::Scalar; C],
    /// Added to the mean square; Keras's default is 1e-6.
    pub epsilon: f64,
    _shape: PhantomData<fn(X) -> X>,
}

impl<X: Tensor, const C: usize, const AXES: usize> RMSNormalization<X, C, AXES> {
    /// Keras's initial state: `scale` ones.
    pub const ZEROS: Self =
        RMSNormalization { scale: [X::Scalar::ONE; C], epsilon: 1e-6, _shape: PhantomData };
    const DIMS: ([usize; 5], usize) = axes::dims(X::SHAPE, AXES);
    const SHAPE: &'static [usize] = weight_shape(&Self::DIMS);

    /// Reads `scale` from raw bytes.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        bytes::read(bytes, at, &mut self.scale)
    }
}

impl<X: Tensor, const C: usize, const AXES: usize> Layer for RMSNormalization<X, C, AXES> {
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "RMSNormalization";
    const PARAMS: usize = C;

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        const {
            assert!(
                axes::fits(X::SHAPE, AXES) && axes::size(X::SHAPE, AXES) == C,
                "RMSNormalization: C must be its axes' size"
            )
        };
        let mut y = *x;
        let v = y.as_mut_slice();
        for row in axes::rows(X::SHAPE, AXES) {
            let rrms = rsqrt_mean_square(row.clone().map(|p| &x.as_slice()[p]), C, self.epsilon);
            for (p, s) in row.zip(&self.scale) {
                v[p] = v[p] * rrms * *s;
            }
        }
        y
    }

    fn init_keras(&mut self, _rng: &mut Rng) {
        *self = Self { epsilon: self.epsilon, ..Self::ZEROS };
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, X::Scalar>)) {
        f(WeightRef { name: "scale", shape: Self::SHAPE, data: &self.scale });
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, X::Scalar>)) {
        f(WeightMut { name: "scale", shape: Self::SHAPE, data: &mut self.scale });
    }
}

/// Keeps nothing: each row's mean square is taken again from the input. JAX's derivative is
/// LayerNormalization's `rms_scaling` one with no mean: with `z = x · rrms` and
/// `g = dy · scale`, `dx = rrms · (g - z · mean(g · z))`, `dscale += dy · z`.
impl<X: Tensor, const C: usize, const AXES: usize> Train for RMSNormalization<X, C, AXES> {
    type Kept = ();
    const KEPT: () = ();

    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [X], _kept: &mut [()], _ctx: &mut Ctx<'_>) {
        for (x, y) in xs.iter().zip(ys) {
            *y = self.forward(x);
        }
    }

    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        _ys: &[X],
        _kept: &[()],
        dys: &mut [X],
        mut dxs: Option<&mut [X]>,
        grads: Option<&mut Self>,
    ) {
        let n = batch_len(&[xs.len(), dys.len(), dxs.as_ref().map_or(usize::MAX, |d| d.len())]);
        let mut grads = AffineGrads { gamma: grads.map(|g| &mut g.scale), beta: None };
        for s in 0..n {
            let (x, dy) = (xs[s].as_slice(), dys[s].as_slice());
            let mut dx = dxs.as_deref_mut().map(|d| d[s].as_mut_slice());
            for row in axes::rows(X::SHAPE, AXES) {
                let stats = (X::Scalar::ZERO, rsqrt_mean_square(row.clone().map(|p| &x[p]), C, self.epsilon));
                let (scale, dx) = (Some(&self.scale), dx.as_deref_mut());
                let channel = |p| axes::index(X::SHAPE, AXES, p);
                group_backward(row, channel, C, stats, Form::Rms, scale, (x, dy), dx, &mut grads);
            }
        }
    }
}

/// `GroupNormalization` over the last axis: its `C` channels split into `G` groups of
/// consecutive channels, each group normalized by the mean and variance of all its values over
/// every step or pixel, then scaled by `gamma` (with `SCALE`) and shifted by `beta` (with
/// `CENTER`) per channel. Keras's `groups=-1` (instance normalization) is `G = C`.
///
/// ```
/// use nn_core::layers::GroupNormalization;
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// // Two steps of two channels, one group: all four values share one mean (2.5).
/// let mut gn = GroupNormalization::<Tensor2<f64, 2, 2>, 2, 1>::ZEROS;
/// gn.epsilon = 0.0;
/// let y = gn.forward(&Tensor2::from_rows([[1.0, 2.0], [3.0, 4.0]]));
/// assert!((y.as_slice()[0] + 1.3416407864998738).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GroupNormalization<
    X,
    const C: usize,
    const G: usize,
    const CENTER: bool = true,
    const SCALE: bool = true,
    const INNER: usize = 1,
> where
    X: Tensor,
{
    /// The scale per channel (ones, and unused, without `SCALE`).
    pub gamma: [X::Scalar; C],
    /// The shift per channel (zeros, and unused, without `CENTER`).
    pub beta: [X::Scalar; C],
    /// Added to the variance; Keras's default is 1e-3.
    pub epsilon: f64,
    _shape: PhantomData<fn(X) -> X>,
}

impl<X: Tensor, const C: usize, const G: usize, const CENTER: bool, const SCALE: bool, const INNER: usize>
    GroupNormalization<X, C, G, CENTER, SCALE, INNER>
{
    /// Keras's initial state: `gamma` ones, `beta` zeros.
    pub const ZEROS: Self = GroupNormalization {
        gamma: [X::Scalar::ONE; C],
        beta: [X::Scalar::ZERO; C],
        epsilon: 1e-3,
        _shape: PhantomData,
    };
    const SHAPE: &'static [usize] = &[C];

    /// Reads `gamma` and `beta`, those present, from raw bytes.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        read_affine(bytes, at, (&mut self.gamma, SCALE), (&mut self.beta, CENTER))
    }

    /// Channels per group.
    const WIDTH: usize = {
        assert!(
            X::LEN.is_multiple_of(C * INNER) && G > 0 && C.is_multiple_of(G),
            "GroupNormalization: G must divide C, and C channels of INNER values the input"
        );
        C / G
    };

    /// The flat positions of group `g`'s values in a sample: its channels of every row.
    #[inline(always)]
    fn group(g: usize) -> impl Iterator<Item = usize> + Clone {
        // A run of `width` channels of `INNER` values each, in every block of them all.
        let (run, block) = (Self::WIDTH * INNER, C * INNER);
        (0..X::LEN / block).flat_map(move |b| b * block + g * run..b * block + (g + 1) * run)
    }

    /// Each group's mean and `rstd`.
    #[inline(always)]
    fn statistics(&self, x: &X) -> [(X::Scalar, X::Scalar); G] {
        let (xs, count) = (x.as_slice(), X::LEN / C * Self::WIDTH);
        core::array::from_fn(|g| {
            let (mean, variance) = moments(Self::group(g).map(|p| &xs[p]), count);
            (mean, rstd(variance, self.epsilon))
        })
    }

    /// `x` normalized with its groups' `statistics`, then scaled and shifted.
    #[inline(always)]
    fn normalize(&self, x: &X, statistics: &[(X::Scalar, X::Scalar); G]) -> X {
        let mut inv = [X::Scalar::ZERO; C];
        let mut res = [X::Scalar::ZERO; C];
        for (c, (inv, res)) in inv.iter_mut().zip(&mut res).enumerate() {
            let (mean, rstd) = statistics[c / Self::WIDTH];
            (*inv, *res) = affine(mean, rstd, SCALE.then_some(self.gamma[c]), CENTER.then_some(self.beta[c]));
        }
        let mut y = *x;
        apply_rows::<_, C, INNER>(y.as_mut_slice(), &inv, &res);
        y
    }
}

impl<X: Tensor, const C: usize, const G: usize, const CENTER: bool, const SCALE: bool, const INNER: usize>
    Layer for GroupNormalization<X, C, G, CENTER, SCALE, INNER>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "GroupNormalization";
    const PARAMS: usize = C * (CENTER as usize + SCALE as usize);

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        self.normalize(x, &self.statistics(x))
    }

    fn init_keras(&mut self, _rng: &mut Rng) {
        *self = Self { epsilon: self.epsilon, ..Self::ZEROS };
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, X::Scalar>)) {
        visit_affine(Self::SHAPE, (&self.gamma, SCALE), (&self.beta, CENTER), f);
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, X::Scalar>)) {
        visit_affine_mut(Self::SHAPE, (&mut self.gamma, SCALE), (&mut self.beta, CENTER), f);
    }
}

/// Keeps each group's mean and `rstd`, what the backward pass needs beyond the input.
impl<X: Tensor, const C: usize, const G: usize, const CENTER: bool, const SCALE: bool, const INNER: usize>
    Train for GroupNormalization<X, C, G, CENTER, SCALE, INNER>
{
    type Kept = [(X::Scalar, X::Scalar); G];
    const KEPT: Self::Kept = [(X::Scalar::ZERO, X::Scalar::ZERO); G];

    fn forward_train(
        &mut self,
        _level: Level,
        xs: &[X],
        ys: &mut [X],
        kept: &mut [Self::Kept],
        _ctx: &mut Ctx<'_>,
    ) {
        for ((x, y), k) in xs.iter().zip(ys).zip(kept) {
            *k = self.statistics(x);
            *y = self.normalize(x, k);
        }
    }

    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        _ys: &[X],
        kept: &[Self::Kept],
        dys: &mut [X],
        mut dxs: Option<&mut [X]>,
        grads: Option<&mut Self>,
    ) {
        let n = batch_len(&[xs.len(), kept.len(), dys.len(), dxs.as_ref().map_or(usize::MAX, |d| d.len())]);
        let mut grads = AffineGrads::of(grads.map(|g| (&mut g.gamma, &mut g.beta)), SCALE, CENTER);
        let gamma = SCALE.then_some(&self.gamma);
        let count = X::LEN / C * Self::WIDTH;
        for s in 0..n {
            let (x, dy) = (xs[s].as_slice(), dys[s].as_slice());
            let mut dx = dxs.as_deref_mut().map(|d| d[s].as_mut_slice());
            for (g, stats) in kept[s].iter().enumerate() {
                group_backward(
                    Self::group(g),
                    |p| p / INNER % C,
                    count,
                    *stats,
                    Form::Centered,
                    gamma,
                    (x, dy),
                    dx.as_deref_mut(),
                    &mut grads,
                );
            }
        }
    }
}

// SAFETY: float arrays and an `f64`; all zero is a valid (if degenerate) layer.
unsafe impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool, const INNER: usize> Zeroable
    for BatchNormalization<X, C, CENTER, SCALE, INNER>
{
}
// SAFETY: as above.
unsafe impl<
    X: Tensor,
    const C: usize,
    const CENTER: bool,
    const SCALE: bool,
    const RMS: bool,
    const AXES: usize,
> Zeroable for LayerNormalization<X, C, CENTER, SCALE, RMS, AXES>
{
}
// SAFETY: zero-sized.
unsafe impl<X, const C: usize, const AXES: usize> Zeroable for UnitNormalization<X, C, AXES> {}
// SAFETY: a float array and an `f64`.
unsafe impl<X: Tensor, const C: usize, const AXES: usize> Zeroable for RMSNormalization<X, C, AXES> {}
// SAFETY: as above.
unsafe impl<
    X: Tensor,
    const C: usize,
    const G: usize,
    const CENTER: bool,
    const SCALE: bool,
    const INNER: usize,
> Zeroable for GroupNormalization<X, C, G, CENTER, SCALE, INNER>
{
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor2;
    use nalgebra::Vector3;

    #[test]
    fn batch_norm_uses_the_moving_statistics_gamma_and_beta() {
        let mut bn = BatchNormalization::<Vector3<f64>, 3>::ZEROS;
        bn.gamma = [2.0, 1.0, 0.5];
        bn.beta = [1.0, 0.0, -1.0];
        bn.moving_mean = [1.0, 2.0, 3.0];
        bn.moving_variance = [4.0, 16.0, 0.25];
        bn.epsilon = 0.0;
        bn.prepare();
        let y = bn.forward(&Vector3::new(3.0, 5.0, 4.0));
        // (3-1)/2*2+1, (5-2)/4, (4-3)/0.5*0.5-1
        assert_eq!(y, Vector3::new(3.0, 0.75, 0.0));
        assert_eq!(<BatchNormalization<Vector3<f64>, 3> as Layer>::PARAMS, 12);
        assert_eq!(<BatchNormalization<Vector3<f64>, 3> as Layer>::NON_TRAINABLE, 6);
        assert_eq!(<BatchNormalization<Vector3<f64>, 3, false, false> as Layer>::PARAMS, 6);
    }

    #[test]
    fn layer_norm_normalizes_each_step_and_rms_only_scales() {
        let mut ln = LayerNormalization::<Tensor2<f64, 2, 2>, 2>::ZEROS;
        ln.epsilon = 0.0;
        ln.beta = [0.5, 0.5];
        let y = ln.forward(&Tensor2::from_rows([[1.0, 3.0], [10.0, 0.0]]));
        assert_eq!(y.as_slice(), &[-0.5, 1.5, 1.5, -0.5]);
        let mut rms = LayerNormalization::<Tensor2<f64, 1, 2>, 2, false, true, true>::ZEROS;
        rms.epsilon = 0.0;
        rms.gamma = [1.0, 2.0];
        // Variance of (1, 3) is 1: the values only get gamma.
        assert_eq!(rms.forward(&Tensor2::from_rows([[1.0, 3.0]])).as_slice(), &[1.0, 6.0]);
    }

    #[test]
    fn group_norm_pools_each_group_over_every_step() {
        let mut gn = GroupNormalization::<Tensor2<f64, 2, 4>, 4, 2>::ZEROS;
        gn.epsilon = 0.0;
        // Group 0 holds 1, 3, 1, 3 (mean 2, variance 1); group 1 holds 0, 0, 4, 4 (2, 4).
        let y = gn.forward(&Tensor2::from_rows([[1.0, 3.0, 0.0, 0.0], [1.0, 3.0, 4.0, 4.0]]));
        assert_eq!(y.as_slice(), &[-1.0, 1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0]);
    }

    /// Runs `layer`'s training passes on `xs` with output gradient `dys`: the outputs, the
    /// input gradients and the weight gradients (from a zeroed copy).
    fn train<L: Train + Zeroable, const N: usize>(
        layer: &mut L,
        xs: &[L::Input; N],
        dys: &[L::Output; N],
        trainable: bool,
    ) -> ([L::Output; N], [L::Input; N], L)
    where
        L::Input: Tensor,
        L::Output: Tensor,
    {
        let mut ys = [L::Output::ZEROS; N];
        let mut kept = [L::KEPT; N];
        layer.forward_train(
            Level::Portable,
            xs,
            &mut ys,
            &mut kept,
            &mut Ctx { trainable, rng: &mut Rng::new(1), penalty: &mut 0.0 },
        );
        let (mut dys, mut dxs) = (*dys, [L::Input::ZEROS; N]);
        let mut grads: L = crate::zeroed();
        layer.backward(Level::Portable, xs, &ys, &kept, &mut dys, Some(&mut dxs), Some(&mut grads));
        (ys, dxs, grads)
    }

    fn close(got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() <= 2e-6 * w.abs().max(1.0), "{got:?}\n vs {want:?}");
        }
    }

    #[test]
    fn batch_norm_training_on_two_values_has_no_input_gradient() {
        // One channel, x = 1 and 3, no epsilon: mean 2, variance 1, y = -1 and 1 whatever x
        // is, so dx = 0; dgamma = Σ dy · x̂ = -1, dbeta = Σ dy = 1; the moving statistics
        // move a tenth of the way to (2, 1).
        let mut bn = BatchNormalization::<nalgebra::Vector1<f64>, 1>::ZEROS;
        (bn.epsilon, bn.momentum, bn.moving_mean, bn.moving_variance) = (0.0, 0.9, [0.0], [3.0]);
        let xs = [nalgebra::Vector1::new(1.0), nalgebra::Vector1::new(3.0)];
        let dys = [nalgebra::Vector1::new(1.0), nalgebra::Vector1::new(0.0)];
        let (ys, dxs, grads) = train(&mut bn, &xs, &dys, true);
        assert_eq!((ys[0][0], ys[1][0]), (-1.0, 1.0));
        assert_eq!((dxs[0][0], dxs[1][0]), (0.0, 0.0));
        assert_eq!((grads.gamma, grads.beta), ([-1.0], [1.0]));
        assert_eq!((grads.moving_mean, grads.moving_variance), ([0.0], [0.0]), "untrained");
        assert!((bn.moving_mean[0] - 0.2).abs() < 1e-15 && (bn.moving_variance[0] - 2.8).abs() < 1e-15);
        // Folded again: inference now uses the new statistics.
        let y = bn.forward(&nalgebra::Vector1::new(0.2));
        assert!(y[0].abs() < 1e-15, "{y}");
    }

    // Keras 3 (JAX, float32): a BatchNormalization(momentum=0.9) with gamma (1.5, -0.5, 2),
    // beta (0.25, 0, -1), moving mean (0.5, -1, 0.25) and variance (2, 0.5, 1.5), called on
    // `X` with training=True, and JAX's gradients of `Σ R · y`.
    const X: [[f32; 3]; 4] = [[1.0, -2.0, 0.5], [3.0, 0.0, -1.5], [-0.5, 1.0, 2.0], [2.0, 4.0, 0.25]];
    const R: [[f32; 3]; 4] = [[0.3, -1.0, 0.7], [1.2, 0.4, -0.6], [-0.8, 0.9, 0.1], [0.5, -0.2, 1.1]];

    fn keras_bn() -> BatchNormalization<Vector3<f32>, 3> {
        let mut bn = BatchNormalization::<Vector3<f32>, 3>::ZEROS;
        bn.gamma = [1.5, -0.5, 2.0];
        bn.beta = [0.25, 0.0, -1.0];
        bn.moving_mean = [0.5, -1.0, 0.25];
        bn.moving_variance = [2.0, 0.5, 1.5];
        bn.momentum = 0.9;
        bn.prepare();
        bn
    }

    #[test]
    fn batch_norm_training_matches_keras() {
        let mut bn = keras_bn();
        let (xs, dys) = (X.map(Vector3::from), R.map(Vector3::from));
        let (ys, dxs, grads) = train(&mut bn, &xs, &dys, true);
        close(
            flatten(&ys),
            &[
                -0.18490135669708252,
                0.6350175142288208,
                -0.6982051134109497,
                2.1345725059509277,
                0.17318660020828247,
                -3.917351245880127,
                -1.9245069026947021,
                -0.05772887170314789,
                1.7161545753479004,
                0.9748356342315674,
                -0.750475287437439,
                -1.1005983352661133,
            ],
        );
        close(&bn.moving_mean, &[0.5874999761581421, -0.824999988079071, 0.2562499940395355]);
        close(&bn.moving_variance, &[1.9671874046325684, 0.918749988079071, 1.5042967796325684]);
        close(
            flatten(&dxs),
            &[
                0.23722484707832336,
                0.1681210994720459,
                0.539146900177002,
                0.015788942575454712,
                -0.10529347509145737,
                -0.8659058213233948,
                -0.0895865261554718,
                -0.19581763446331024,
                -0.9421411752700806,
                -0.16342735290527344,
                0.1329900324344635,
                1.2689002752304077,
            ],
        );
        close(&grads.gamma, &[2.8220267295837402, 0.935207724571228, 1.0613123178482056]);
        close(&grads.beta, &[1.2000000476837158, 0.09999994933605194, 1.2999999523162842]);
    }

    #[test]
    fn frozen_batch_norm_matches_keras_inference_gradients() {
        let mut bn = keras_bn();
        let before = bn.clone();
        let (xs, dys) = (X.map(Vector3::from), R.map(Vector3::from));
        let (ys, dxs, grads) = train(&mut bn, &xs, &dys, false);
        assert_eq!(bn, before, "no update when frozen");
        assert_eq!(ys, xs.map(|x| bn.forward(&x)));
        close(
            flatten(&dxs),
            &[
                0.31811851263046265,
                0.7064007520675659,
                1.142714262008667,
                1.2724740505218506,
                -0.2825603187084198,
                -0.9794694781303406,
                -0.8483160138130188,
                -0.6357606649398804,
                0.16324490308761597,
                0.5301975011825562,
                0.1412801593542099,
                1.7956939935684204,
            ],
        );
        close(&grads.gamma, &[3.322571277618408, 3.108163356781006, 1.1427143812179565]);
        close(&grads.beta, &[1.2000000476837158, 0.09999994933605194, 1.2999999523162842]);
    }

    #[test]
    fn layer_norm_rms_scaling_gradients_match_keras() {
        // Keras 3 (JAX, float32): LayerNormalization(rms_scaling=True), gamma (1.5, -0.5, 2).
        let mut ln = LayerNormalization::<Vector3<f32>, 3, false, true, true>::ZEROS;
        ln.gamma = [1.5, -0.5, 2.0];
        let (xs, dys) = (X.map(Vector3::from), R.map(Vector3::from));
        let (_, dxs, grads) = train(&mut ln, &xs, &dys, true);
        close(
            flatten(&dxs),
            &[
                0.31701359152793884,
                0.4214126169681549,
                1.0517559051513672,
                0.04607135057449341,
                0.07629711180925369,
                0.09140998125076294,
                -0.9423589110374451,
                -0.46592578291893005,
                -0.002373605966567993,
                0.5083439946174622,
                -0.3697358965873718,
                1.85174560546875,
            ],
        );
        close(&grads.gamma, &[3.1942620277404785, 1.8770800828933716, 1.121656060218811]);
    }

    #[test]
    fn unit_norm_divides_each_row_by_its_norm_bounded_at_1e12() {
        let un = UnitNormalization::<Tensor2<f64, 3, 4>, 4>::ZEROS;
        let y = un.forward(&Tensor2::from_rows([[1.0, -1.0, 1.0, 1.0], [0.0; 4], [5e-13, 0.0, 0.0, 0.0]]));
        // Norms 2, 0 (the bound: 0 · 1e12) and 5e-13 (under 1e-12: times 1e12, not 1 / 5e-13).
        assert_eq!(y.as_slice(), &[0.5, -0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0]);
        assert_eq!(<UnitNormalization<Tensor2<f64, 3, 4>, 4> as Layer>::PARAMS, 0);
    }

    #[test]
    fn unit_norm_gradients_match_jax_on_each_side_of_the_bound() {
        // JAX (float32) of `Σ (0.3, -1, 0.7) · keras.ops.normalize(x, order=2, epsilon=1e-12)`:
        // the norm's branch for (1, 2, -2), the bound for 5e-13, a tie at 1e-12 (rsqrt(1e-24)
        // is 1e12 exactly in f32), where `minimum` gives the norm's term half.
        type U = UnitNormalization<nalgebra::Vector3<f32>, 3>;
        let r = nalgebra::Vector3::new(0.3f32, -1.0, 0.7);
        let cases: [([f32; 3], [f64; 3]); 3] = [
            ([1.0, 2.0, -2.0], [0.21481481, -0.10370372, 0.00370371]),
            ([5e-13, 0.0, 0.0], [3.0000002e11, -1e12, 6.9999998e11]),
            ([1e-12, 0.0, 0.0], [1.5000001e11, -1e12, 6.9999998e11]),
        ];
        let mut un = U::ZEROS;
        for (x, want) in cases {
            let (_, dxs, _) = train(&mut un, &[nalgebra::Vector3::from(x)], &[r], true);
            close(dxs[0].as_slice(), &want);
        }
    }

    #[test]
    fn rms_norm_divides_each_row_by_its_root_mean_square() {
        let mut rms = RMSNormalization::<Tensor2<f64, 2, 2>, 2>::ZEROS;
        rms.epsilon = 0.0;
        rms.scale = [2.0, -1.0];
        // mean(9, 16) = 12.5 (not the variance, 12.25); mean(4, 4) = 4.
        let y = rms.forward(&Tensor2::from_rows([[3.0, -4.0], [2.0, 2.0]]));
        let r = 1.0 / 12.5f64.sqrt();
        assert_eq!(y.as_slice(), &[3.0 * r * 2.0, 4.0 * r, 2.0, -1.0]);
        assert_eq!(<RMSNormalization<Tensor2<f64, 2, 2>, 2> as Layer>::PARAMS, 2);
    }

    #[test]
    fn rms_norm_gradients_match_keras() {
        // Keras 3 (JAX, float32): `keras.ops.rms_normalization(x, scale, axis=[-1],
        // epsilon=1e-6)` with scale (1.5, -0.5, 2), and JAX's gradients of `Σ R · y`.
        let mut rms = RMSNormalization::<Vector3<f32>, 3>::ZEROS;
        rms.scale = [1.5, -0.5, 2.0];
        let (xs, dys) = (X.map(Vector3::from), R.map(Vector3::from));
        let (_, dxs, grads) = train(&mut rms, &xs, &dys, true);
        close(
            flatten(&dxs),
            &[
                0.31856998801231384,
                0.4211602807044983,
                1.0475013256072998,
                -0.061967551708221436,
                -0.10327954590320587,
                -0.12393558025360107,
                -0.8675183057785034,
                -0.4193604588508606,
                -0.0071992576122283936,
                0.19557589292526245,
                -0.1502205729484558,
                0.838922381401062,
            ],
        );
        close(&grads.scale, &[2.774876594543457, 1.8828378915786743, 0.9868597984313965]);
    }

    #[test]
    fn group_norm_keeps_each_groups_statistics() {
        let mut gn = GroupNormalization::<Tensor2<f64, 2, 4>, 4, 2>::ZEROS;
        gn.epsilon = 0.0;
        let xs = [Tensor2::from_rows([[1.0, 3.0, 0.0, 0.0], [1.0, 3.0, 4.0, 4.0]])];
        let mut ys = [Tensor2::ZEROS];
        let mut kept = [<GroupNormalization<Tensor2<f64, 2, 4>, 4, 2> as Train>::KEPT];
        gn.forward_train(
            Level::Portable,
            &xs,
            &mut ys,
            &mut kept,
            &mut Ctx { trainable: true, rng: &mut Rng::new(1), penalty: &mut 0.0 },
        );
        // Group 0: mean 2, variance 1; group 1: mean 2, variance 4.
        assert_eq!(kept[0], [(2.0, 1.0), (2.0, 0.5)]);
        assert_eq!(ys[0], gn.forward(&xs[0]));
        // A gradient equal to the output (of `Σ y² / 2`) on a group whose output is ±1 only:
        // Σ g = 0 and mean(g · x̂) = 1, so dx = rstd · (x̂ - x̂) = 0; per channel, over the two
        // steps, dgamma = Σ x̂² and dbeta = Σ x̂.
        let (_, dxs, grads) = train(&mut gn, &xs, &ys, true);
        assert!(dxs[0].as_slice().iter().all(|d| d.abs() < 1e-15), "{:?}", dxs[0]);
        assert_eq!(grads.gamma, [2.0, 2.0, 2.0, 2.0]);
        assert_eq!(grads.beta, [-2.0, 2.0, 0.0, 0.0]);
    }
}
