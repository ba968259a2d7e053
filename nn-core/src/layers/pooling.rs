//! Keras's pooling layers: `MaxPooling1D/2D` and `AveragePooling1D/2D` ([`Pool`]), and the
//! global ones ([`GlobalPool`]), for sequences and images alike.

use super::window::Window;
use crate::Float;
use crate::layer::{Layer, Zeroable};
use crate::tensor::{Tensor, grid};
use core::marker::PhantomData;

/// How a pool combines the values under its window.
pub trait PoolOp: Copy + core::fmt::Debug + PartialEq + 'static {
    /// Keras's class for a 1-D and a 2-D window.
    const CLASS: [&'static str; 2];
    /// Keras's class for the global pool over a sequence and over an image.
    const GLOBAL_CLASS: [&'static str; 2];
    /// The value every fold starts from (`-∞` for the maximum, `0` for the mean).
    fn start<T: Float>() -> T;
    /// Folds another value in.
    fn fold<T: Float>(acc: T, x: T) -> T;
    /// The result from the fold over `count` values.
    fn finish<T: Float>(acc: T, count: usize) -> T;
}

/// The largest value (Keras's `MaxPooling`); padding never wins.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Max;

/// The mean (Keras's `AveragePooling`); padding is left out of the mean, as Keras does for
/// `same`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Average;

impl PoolOp for Max {
    const CLASS: [&'static str; 2] = ["MaxPooling1D", "MaxPooling2D"];
    const GLOBAL_CLASS: [&'static str; 2] = ["GlobalMaxPooling1D", "GlobalMaxPooling2D"];
    #[inline(always)]
    fn start<T: Float>() -> T {
        T::of(f64::NEG_INFINITY)
    }
    #[inline(always)]
    fn fold<T: Float>(acc: T, x: T) -> T {
        if x > acc { x } else { acc }
    }
    #[inline(always)]
    fn finish<T: Float>(acc: T, _count: usize) -> T {
        acc
    }
}

impl PoolOp for Average {
    const CLASS: [&'static str; 2] = ["AveragePooling1D", "AveragePooling2D"];
    const GLOBAL_CLASS: [&'static str; 2] = ["GlobalAveragePooling1D", "GlobalAveragePooling2D"];
    #[inline(always)]
    fn start<T: Float>() -> T {
        T::ZERO
    }
    #[inline(always)]
    fn fold<T: Float>(acc: T, x: T) -> T {
        acc + x
    }
    #[inline(always)]
    fn finish<T: Float>(acc: T, count: usize) -> T {
        acc / T::of(count as f64)
    }
}

/// A pool of `KH × KW` positions (`KH = 1` over a sequence), moved `SH`, `SW`, over an input
/// padded with `PH`, `PW` before each axis (`same`); from `X` to `Y`, channel by channel.
///
/// ```
/// use nn_core::layers::{Max, Pool};
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// // MaxPooling1D(2) over 4 steps of 1 channel.
/// let pool = Pool::<Tensor2<f32, 4, 1>, Tensor2<f32, 2, 1>, Max, 1, 2, 1, 2, 0, 0>::ZEROS;
/// let y = pool.forward(&Tensor2::from_rows([[1.0], [3.0], [2.0], [0.0]]));
/// assert_eq!(y.as_slice(), &[3.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pool<
    X,
    Y,
    Op,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
> {
    _shapes: PhantomData<fn(X, Op) -> Y>,
}

impl<
    X,
    Y,
    Op,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
> Pool<X, Y, Op, KH, KW, SH, SW, PH, PW>
{
    super::no_weights!();
}

impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    Op: PoolOp,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
> Layer for Pool<X, Y, Op, KH, KW, SH, SW, PH, PW>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = Op::CLASS[if X::SHAPE.len() == 2 { 0 } else { 1 }];
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        const { assert!(X::LAST == Y::LAST, "Pool: the channels must not change") };
        let win = const { Window::of::<X, Y>([SH, SW], [1, 1], [PH, PW]) };
        let (x, mut y) = (x.as_slice(), Y::ZEROS);
        let c = X::LAST;
        // The step along a row hidden from the optimizer: with every size known, LLVM unrolls
        // the window and channel loops and vectorizes across output pixels instead, with
        // gathers and scatters (the sensor model's pool then cost more than its second
        // convolution). An unknown step keeps the pixel loop scalar and the channels in
        // registers.
        let step = core::hint::black_box(1);
        // The window's rows and columns inside the input: no per-tap padding test.
        let span = |o: usize, s: usize, p: usize, k: usize, n: usize| {
            ((o * s).saturating_sub(p).min(n), (o * s + k).saturating_sub(p).min(n))
        };
        for oy in 0..win.oh {
            let (y0, y1) = span(oy, SH, PH, KH, win.h);
            let mut ox = 0;
            while ox < win.ow {
                let (x0, x1) = span(ox, SW, PW, KW, win.w);
                let at = (oy * win.ow + ox) * c;
                let out = &mut y.as_mut_slice()[at..at + c];
                out.fill(Op::start());
                for iy in y0..y1 {
                    for pixel in x[(iy * win.w + x0) * c..(iy * win.w + x1) * c].chunks_exact(c) {
                        for (o, v) in out.iter_mut().zip(pixel) {
                            *o = Op::fold(*o, *v);
                        }
                    }
                }
                let count = (y1 - y0) * (x1 - x0);
                for o in out {
                    *o = Op::finish(*o, count);
                }
                ox += step;
            }
        }
        y
    }
}

// SAFETY: zero-sized.
unsafe impl<
    X,
    Y,
    Op,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
> Zeroable for Pool<X, Y, Op, KH, KW, SH, SW, PH, PW>
{
}

/// `GlobalMaxPooling1D/2D` and `GlobalAveragePooling1D/2D`: every step or pixel pooled into one
/// per channel; `Y` is a vector, or with Keras's `keepdims` a one-step sequence or a one-pixel
/// image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GlobalPool<X, Y, Op> {
    _shapes: PhantomData<fn(X, Op) -> Y>,
}

impl<X, Y, Op> GlobalPool<X, Y, Op> {
    super::no_weights!();
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, Op: PoolOp> Layer for GlobalPool<X, Y, Op> {
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = Op::GLOBAL_CLASS[if X::SHAPE.len() == 2 { 0 } else { 1 }];
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        const { assert!(Y::LEN == X::LAST, "GlobalPool: one value per channel") };
        let mut y = Y::ZEROS;
        let out = y.as_mut_slice();
        out.fill(Op::start());
        for pixel in x.as_slice().chunks_exact(X::LAST) {
            for (o, v) in out.iter_mut().zip(pixel) {
                *o = Op::fold(*o, *v);
            }
        }
        let [h, w, _] = grid(X::SHAPE);
        for o in out {
            *o = Op::finish(*o, h * w);
        }
        y
    }
}

// SAFETY: zero-sized.
unsafe impl<X, Y, Op> Zeroable for GlobalPool<X, Y, Op> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor2, Tensor3};
    use nalgebra::SVector;

    #[test]
    fn same_average_leaves_the_padding_out_of_the_mean() {
        // AveragePooling1D(3, strides=2, padding="same") over 4 steps: out 2, pad 1 after.
        let pool = Pool::<Tensor2<f64, 4, 1>, Tensor2<f64, 2, 1>, Average, 1, 3, 1, 2, 0, 0>::ZEROS;
        let y = pool.forward(&Tensor2::from_rows([[1.0], [2.0], [3.0], [6.0]]));
        assert_eq!(y.as_slice(), &[2.0, 4.5]);
    }

    #[test]
    fn max_pooling2d_takes_each_channels_maximum() {
        let pool = Pool::<Tensor3<f32, 2, 2, 2>, Tensor3<f32, 1, 1, 2>, Max, 2, 2, 2, 2, 0, 0>::ZEROS;
        let x = Tensor3::from_slice(&[1.0, -1.0, 4.0, -2.0, 3.0, -3.0, 2.0, -0.5]);
        assert_eq!(pool.forward(&x).as_slice(), &[4.0, -0.5]);
        assert_eq!(
            <Pool<Tensor3<f32, 2, 2, 2>, Tensor3<f32, 1, 1, 2>, Max, 2, 2, 2, 2, 0, 0> as Layer>::CLASS,
            "MaxPooling2D"
        );
    }

    #[test]
    fn global_pools_reduce_every_position() {
        let x = Tensor2::<f32, 3, 2>::from_rows([[1.0, 5.0], [2.0, 4.0], [6.0, 0.0]]);
        let avg = GlobalPool::<_, SVector<f32, 2>, Average>::ZEROS.forward(&x);
        assert_eq!(avg.as_slice(), &[3.0, 3.0]);
        let max = GlobalPool::<_, Tensor2<f32, 1, 2>, Max>::ZEROS.forward(&x);
        assert_eq!(max.as_slice(), &[6.0, 5.0]);
    }
}
