//! `BatchNormalization`, `LayerNormalization` and `GroupNormalization`, over the last axis (the
//! channels) of a vector, sequence or image, with Keras 3's formulas
//! (`keras/src/layers/normalization/`): each ends as `y = x · inv + res` per channel, with
//! `inv = gamma / sqrt(variance + epsilon)` and `res = beta - mean · inv`, in that order, so the
//! rounding matches Keras's.

use crate::Float;
use crate::float::{constant, sqrt, to_f64};
use crate::init::Rng;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::Tensor;
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
pub struct BatchNormalization<X, const C: usize, const CENTER: bool = true, const SCALE: bool = true>
where
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
    /// `gamma / sqrt(moving_variance + epsilon)`, from [`prepare`](Self::prepare).
    scale: [X::Scalar; C],
    /// `beta - moving_mean · scale`, from [`prepare`](Self::prepare).
    shift: [X::Scalar; C],
    _shape: PhantomData<fn(X) -> X>,
}

impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool>
    BatchNormalization<X, C, CENTER, SCALE>
{
    /// Keras's initial state: `gamma` ones, `beta` and the mean zeros, the variance ones.
    pub const ZEROS: Self = {
        let mut bn = BatchNormalization {
            gamma: [X::Scalar::ONE; C],
            beta: [X::Scalar::ZERO; C],
            moving_mean: [X::Scalar::ZERO; C],
            moving_variance: [X::Scalar::ONE; C],
            epsilon: 1e-3,
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
fn apply_rows<T: Float, const C: usize>(x: &mut [T], inv: &[T; C], res: &[T; C]) {
    for row in x.chunks_exact_mut(C) {
        for ((v, i), r) in row.iter_mut().zip(inv).zip(res) {
            *v = *v * *i + *r;
        }
    }
}

impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool> Layer
    for BatchNormalization<X, C, CENTER, SCALE>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "BatchNormalization";
    const PARAMS: usize = C * (2 + CENTER as usize + SCALE as usize);
    const NON_TRAINABLE: usize = 2 * C;

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        const { assert!(X::LAST == C, "BatchNormalization: C must be the input's last axis") };
        let mut y = *x;
        apply_rows(y.as_mut_slice(), &self.scale, &self.shift);
        y
    }

    fn init_keras(&mut self, _rng: &mut Rng) {
        *self = Self { epsilon: self.epsilon, ..Self::ZEROS };
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

/// `LayerNormalization` over the last axis: each row of `C` values (a vector, each step, each
/// pixel) normalized by its own mean and variance, then scaled by `gamma` (with `SCALE`) and
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

impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool, const RMS: bool>
    LayerNormalization<X, C, CENTER, SCALE, RMS>
{
    /// Keras's initial state: `gamma` ones, `beta` zeros.
    pub const ZEROS: Self = LayerNormalization {
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
}

impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool, const RMS: bool> Layer
    for LayerNormalization<X, C, CENTER, SCALE, RMS>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "LayerNormalization";
    const PARAMS: usize = C * (CENTER as usize + SCALE as usize);

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        const { assert!(X::LAST == C, "LayerNormalization: C must be the input's last axis") };
        let mut y = *x;
        for row in y.as_mut_slice().chunks_exact_mut(C) {
            let (mean, variance) = moments(row.iter(), C);
            let rstd = rstd(variance, self.epsilon);
            if RMS {
                for (v, g) in row.iter_mut().zip(&self.gamma) {
                    *v = if SCALE { *v * rstd * *g } else { *v * rstd };
                }
                continue;
            }
            for (c, v) in row.iter_mut().enumerate() {
                let (inv, res) =
                    affine(mean, rstd, SCALE.then_some(self.gamma[c]), CENTER.then_some(self.beta[c]));
                *v = *v * inv + res;
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

impl<X: Tensor, const C: usize, const G: usize, const CENTER: bool, const SCALE: bool>
    GroupNormalization<X, C, G, CENTER, SCALE>
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
}

impl<X: Tensor, const C: usize, const G: usize, const CENTER: bool, const SCALE: bool> Layer
    for GroupNormalization<X, C, G, CENTER, SCALE>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "GroupNormalization";
    const PARAMS: usize = C * (CENTER as usize + SCALE as usize);

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        const { assert!(X::LAST == C && G > 0 && C.is_multiple_of(G), "GroupNormalization: G must divide C") };
        let width = C / G;
        let rows = X::LEN / C;
        let mut inv = [X::Scalar::ZERO; C];
        let mut res = [X::Scalar::ZERO; C];
        let xs = x.as_slice();
        for g in 0..G {
            let group = xs.chunks_exact(C).flat_map(|row| &row[g * width..(g + 1) * width]);
            let (mean, variance) = moments(group, rows * width);
            let rstd = rstd(variance, self.epsilon);
            for c in g * width..(g + 1) * width {
                (inv[c], res[c]) =
                    affine(mean, rstd, SCALE.then_some(self.gamma[c]), CENTER.then_some(self.beta[c]));
            }
        }
        let mut y = *x;
        apply_rows(y.as_mut_slice(), &inv, &res);
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

// SAFETY: float arrays and an `f64`; all zero is a valid (if degenerate) layer.
unsafe impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool> Zeroable
    for BatchNormalization<X, C, CENTER, SCALE>
{
}
// SAFETY: as above.
unsafe impl<X: Tensor, const C: usize, const CENTER: bool, const SCALE: bool, const RMS: bool> Zeroable
    for LayerNormalization<X, C, CENTER, SCALE, RMS>
{
}
// SAFETY: as above.
unsafe impl<X: Tensor, const C: usize, const G: usize, const CENTER: bool, const SCALE: bool> Zeroable
    for GroupNormalization<X, C, G, CENTER, SCALE>
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
}
