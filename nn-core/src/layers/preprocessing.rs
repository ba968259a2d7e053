//! `Rescaling` and `Normalization`: fixed affine maps of the input that Keras keeps in the model
//! so that raw data can go in (`keras/src/layers/preprocessing/`).

use crate::Float;
use crate::kernels::cpu::Level;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Tensor, flatten, flatten_mut};
use crate::train::Ctx;
use crate::weights::bytes;
use core::marker::PhantomData;

/// `Rescaling`: `y = x · scale + offset`, as Keras computes it (in the element type, scale and
/// offset rounded to it first).
///
/// ```
/// use nn_core::layers::Rescaling;
/// use nn_core::{Layer, nalgebra::Vector2};
/// let mut pixels = Rescaling::<Vector2<f32>>::ZEROS;
/// (pixels.scale, pixels.offset) = (1.0 / 127.5, -1.0);
/// assert_eq!(pixels.forward(&Vector2::new(0.0, 255.0)), Vector2::new(-1.0, 1.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rescaling<X> {
    /// The factor.
    pub scale: f64,
    /// Added after scaling.
    pub offset: f64,
    _shapes: PhantomData<fn(X) -> X>,
}

impl<X> Rescaling<X> {
    /// The identity (scale 1, offset 0); the macros set the options from the model.
    pub const ZEROS: Self = Rescaling { scale: 1.0, offset: 0.0, _shapes: PhantomData };

    /// Reads nothing: the layer has no weights. Kept so the macros treat every layer alike.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, _bytes: &[u8], at: usize) -> usize {
        at
    }
}

impl<X: Tensor> Layer for Rescaling<X> {
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "Rescaling";
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        let (scale, offset) = (X::Scalar::of(self.scale), X::Scalar::of(self.offset));
        let mut y = *x;
        for v in y.as_mut_slice() {
            *v = *v * scale + offset;
        }
        y
    }
}

/// Keeps nothing: `dx = scale · dy`, JAX's derivative of `x · scale + offset`.
impl<X: Tensor> crate::train::Train for Rescaling<X> {
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
        _xs: &[X],
        _ys: &[X],
        _kept: &[()],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let scale = X::Scalar::of(self.scale);
        add_grad(dys, dxs, |_| 0, |dy, _| dy * scale);
    }
}

/// `dx += grad(dy, channel)` over a batch, if there is a `dx` to add into; a value's channel is
/// its position modulo `channels`.
#[inline(always)]
fn add_grad<X: Tensor>(
    dys: &[X],
    dxs: Option<&mut [X]>,
    channel: impl Fn(usize) -> usize,
    grad: impl Fn(X::Scalar, usize) -> X::Scalar,
) {
    let Some(dxs) = dxs else { return };
    for (i, (dx, dy)) in flatten_mut(dxs).iter_mut().zip(flatten(dys)).enumerate() {
        *dx += grad(*dy, channel(i % X::LEN.max(1)));
    }
}

// SAFETY: two `f64`s.
unsafe impl<X> Zeroable for Rescaling<X> {}

/// Keras's `backend.epsilon()`: Normalization never divides by a deviation below it.
const EPSILON: f64 = 1e-7;

/// `max(sqrt(variance), 1e-7)`.
#[inline(always)]
fn deviation<T: Float>(variance: T) -> T {
    let (d, floor) = (variance.sqrt(), T::of(EPSILON));
    if d > floor { d } else { floor }
}

/// `Normalization` over the last axis: `y = (x - mean) / max(sqrt(variance), 1e-7)` per channel
/// of `C`, or with `INVERT` `y = mean + x · max(sqrt(variance), 1e-7)`. Keras's `axis` names the
/// axes that keep their own statistics, `KEEP` a mask of them (bit 0 the last axis, bit 1 the
/// one before: `axis=(-2, -1)` is `0b11`, `axis=1` of a sequence `0b10`), `C` values
/// together, or none (`axis=None`: `KEEP = 0`, `C = 1`, one mean and variance for every
/// value).
///
/// Keras has two forms, and so does this type. Given `mean` and `variance` in its config, the
/// layer has no weights (`ADAPTED = false`): the macros write the values into the model as
/// constants. Adapted to data (`layer.adapt(...)`), the layer stores them as weights that are
/// not trained, `mean`, `variance` and the sample `count` (`ADAPTED = true`), and the weight
/// files carry them.
///
/// ```
/// use nn_core::layers::Normalization;
/// use nn_core::{Layer, nalgebra::Vector2};
/// let mut norm = Normalization::<Vector2<f32>, 2>::ZEROS;
/// norm.mean = [1.0, -1.0];
/// norm.variance = [4.0, 0.25];
/// assert_eq!(norm.forward(&Vector2::new(5.0, 0.0)), Vector2::new(2.0, 2.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Normalization<
    X,
    const C: usize,
    const ADAPTED: bool = false,
    const INVERT: bool = false,
    const KEEP: usize = 1,
> where
    X: Tensor,
{
    /// The mean of each channel.
    pub mean: [X::Scalar; C],
    /// The variance of each channel.
    pub variance: [X::Scalar; C],
    /// How many samples `adapt` saw (Keras's `count`; kept for the weight files only).
    pub count: [X::Scalar; 1],
    _shapes: PhantomData<fn(X) -> X>,
}

impl<X: Tensor, const C: usize, const ADAPTED: bool, const INVERT: bool, const KEEP: usize>
    Normalization<X, C, ADAPTED, INVERT, KEEP>
{
    /// Keras's initial state: mean zeros, variance ones, count zero.
    pub const ZEROS: Self = Normalization {
        mean: [X::Scalar::ZERO; C],
        variance: [X::Scalar::ONE; C],
        count: [X::Scalar::ZERO],
        _shapes: PhantomData,
    };
    const DIMS: ([usize; 5], usize) = super::axes::dims(X::SHAPE, KEEP);
    const SHAPE: &'static [usize] = super::normalization::weight_shape(&Self::DIMS);

    /// The channel (the kept axes' index) of value `p` of a sample.
    #[inline(always)]
    fn channel(p: usize) -> usize {
        super::axes::index(X::SHAPE, KEEP, p)
    }

    /// Reads the mean, variance and count of an adapted layer from raw bytes.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        if !ADAPTED {
            return at;
        }
        let at = bytes::read(bytes, at, &mut self.mean);
        let at = bytes::read(bytes, at, &mut self.variance);
        bytes::read(bytes, at, &mut self.count)
    }
}

impl<X: Tensor, const C: usize, const ADAPTED: bool, const INVERT: bool, const KEEP: usize> Layer
    for Normalization<X, C, ADAPTED, INVERT, KEEP>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "Normalization";
    const PARAMS: usize = if ADAPTED { 2 * C + 1 } else { 0 };
    const NON_TRAINABLE: usize = Self::PARAMS;

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        const {
            assert!(
                super::axes::fits(X::SHAPE, KEEP) && super::axes::size(X::SHAPE, KEEP) == C,
                "Normalization: C must be its kept axes' size"
            )
        };
        let deviation: [X::Scalar; C] = core::array::from_fn(|c| deviation(self.variance[c]));
        let mut y = *x;
        for (p, v) in y.as_mut_slice().iter_mut().enumerate() {
            let c = Self::channel(p);
            let (m, d) = (self.mean[c], deviation[c]);
            *v = if INVERT { m + *v * d } else { (*v - m) / d };
        }
        y
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, X::Scalar>)) {
        if ADAPTED {
            f(WeightRef { name: "mean", shape: Self::SHAPE, data: &self.mean });
            f(WeightRef { name: "variance", shape: Self::SHAPE, data: &self.variance });
            f(WeightRef { name: "count", shape: &[], data: &self.count });
        }
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, X::Scalar>)) {
        if ADAPTED {
            f(WeightMut { name: "mean", shape: Self::SHAPE, data: &mut self.mean });
            f(WeightMut { name: "variance", shape: Self::SHAPE, data: &mut self.variance });
            f(WeightMut { name: "count", shape: &[], data: &mut self.count });
        }
    }
}

/// Keeps nothing. The mean and variance are constants, or weights that are not trained: the
/// backward pass gives `dx` only, `dy / deviation` (with `INVERT`, `dy · deviation`), JAX's
/// derivative of the forward formula.
impl<X: Tensor, const C: usize, const ADAPTED: bool, const INVERT: bool, const KEEP: usize>
    crate::train::Train for Normalization<X, C, ADAPTED, INVERT, KEEP>
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
        _xs: &[X],
        _ys: &[X],
        _kept: &[()],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        const {
            assert!(
                super::axes::fits(X::SHAPE, KEEP) && super::axes::size(X::SHAPE, KEEP) == C,
                "Normalization: C must be its kept axes' size"
            )
        };
        let deviation: [X::Scalar; C] = core::array::from_fn(|c| deviation(self.variance[c]));
        // As the forward pass: a division, not a multiplication by the reciprocal.
        add_grad(dys, dxs, Self::channel, |dy, c| if INVERT { dy * deviation[c] } else { dy / deviation[c] });
    }
}

// SAFETY: float arrays.
unsafe impl<X: Tensor, const C: usize, const ADAPTED: bool, const INVERT: bool, const KEEP: usize> Zeroable
    for Normalization<X, C, ADAPTED, INVERT, KEEP>
{
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor2;

    #[test]
    fn normalization_divides_by_the_deviation_with_a_floor_and_inverts() {
        let mut norm = Normalization::<Tensor2<f64, 1, 2>, 2>::ZEROS;
        norm.mean = [1.0, 2.0];
        norm.variance = [4.0, 0.0];
        assert_eq!(norm.forward(&Tensor2::from_rows([[3.0, 2.5]])).as_slice(), &[1.0, 0.5e7]);
        let mut inverse = Normalization::<Tensor2<f64, 1, 2>, 2, false, true>::ZEROS;
        inverse.mean = norm.mean;
        inverse.variance = [4.0, 1.0];
        assert_eq!(inverse.forward(&Tensor2::from_rows([[1.0, 1.0]])).as_slice(), &[3.0, 3.0]);
        assert_eq!(<Normalization<Tensor2<f64, 1, 2>, 2> as Layer>::PARAMS, 0);
        assert_eq!(<Normalization<Tensor2<f64, 1, 2>, 2, true> as Layer>::NON_TRAINABLE, 5);
    }

    #[test]
    fn rescaling_scales_then_offsets() {
        let r = Rescaling::<Tensor2<f64, 1, 2>> { scale: 2.0, offset: -1.0, ..Rescaling::ZEROS };
        assert_eq!(r.forward(&Tensor2::from_rows([[0.0, 3.0]])).as_slice(), &[-1.0, 5.0]);
    }

    #[test]
    fn rescaling_and_normalization_scale_the_gradient() {
        use crate::train::Train;
        type Row = [Tensor2<f64, 1, 2>];
        let xs = [Tensor2::<f64, 1, 2>::from_rows([[1.0, 2.0]])];
        let ys = xs;
        let grad = |layer: &dyn Fn(&mut Row, &mut Row)| {
            let (mut dys, mut dxs) =
                ([Tensor2::from_rows([[1.0, -3.0]])], [Tensor2::from_rows([[0.5, 0.5]])]);
            layer(&mut dys, &mut dxs);
            dxs[0]
        };
        let r = Rescaling::<Tensor2<f64, 1, 2>> { scale: 2.0, offset: -1.0, ..Rescaling::ZEROS };
        let dx = grad(&|dys, dxs| r.backward(Level::Portable, &xs, &ys, &[()], dys, Some(dxs), None));
        assert_eq!(dx.as_slice(), &[2.5, -5.5]);
        let mut norm = Normalization::<Tensor2<f64, 1, 2>, 2>::ZEROS;
        norm.variance = [4.0, 0.25];
        let dx = grad(&|dys, dxs| norm.backward(Level::Portable, &xs, &ys, &[()], dys, Some(dxs), None));
        assert_eq!(dx.as_slice(), &[1.0, -5.5]);
        let mut inverse = Normalization::<Tensor2<f64, 1, 2>, 2, true, true>::ZEROS;
        inverse.variance = [4.0, 0.25];
        let mut grads = inverse.clone();
        let (mut dys, mut dxs) = ([Tensor2::from_rows([[1.0, -3.0]])], [Tensor2::from_rows([[0.5, 0.5]])]);
        inverse.backward(Level::Portable, &xs, &ys, &[()], &mut dys, Some(&mut dxs), Some(&mut grads));
        assert_eq!(dxs[0].as_slice(), &[2.5, -1.0]);
        assert_eq!(grads, inverse, "the mean and variance are not trained");
    }
}
