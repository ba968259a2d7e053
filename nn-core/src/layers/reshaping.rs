//! Keras's reshaping layers: `Flatten` and `Reshape` (free: the model sees the same memory in
//! another shape), `Permute`, `RepeatVector`, `ZeroPadding1D/2D`, `Cropping1D/2D` and
//! `UpSampling1D/2D` (nearest). None has weights; each maps output positions to input ones on the
//! grid of [`crate::tensor::grid`], so one type serves sequences and images.

use crate::kernels::cpu::Level;
use crate::layer::{Layer, Zeroable};
use crate::tensor::{Tensor, grid, view};
use crate::train::Train;
use core::marker::PhantomData;

/// Declares a weightless layer type over `X` and `Y` with the given const parameters: its doc,
/// `ZEROS`, raw-weight reader and `Zeroable`.
macro_rules! shaping_layer {
    ($(#[$doc:meta])* $name:ident $(, $p:ident)*) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name<X, Y $(, const $p: usize)*> {
            _shapes: PhantomData<fn(X) -> Y>,
        }

        impl<X, Y $(, const $p: usize)*> $name<X, Y $(, $p)*> {
            super::no_weights!();
        }

        // SAFETY: zero-sized.
        unsafe impl<X, Y $(, const $p: usize)*> Zeroable for $name<X, Y $(, $p)*> {}
    };
}

shaping_layer! {
    /// `Flatten`: the tensor as a vector in Keras's (h, w, c) order. Inside a model it is a view
    /// of its input and costs nothing.
    Flatten
}

shaping_layer! {
    /// `Reshape`: the same elements in another shape (Keras's row-major order). Inside a model it
    /// is a view of its input and costs nothing.
    Reshape
}

shaping_layer! {
    /// `Permute`: axis `k` of the output is axis `Pk` of the input (1-based, as Keras's `dims`;
    /// `P2` unused for a sequence).
    Permute, P0, P1, P2
}

shaping_layer! {
    /// `RepeatVector`: a vector of `N` features repeated into a sequence of `R` steps.
    RepeatVector
}

shaping_layer! {
    /// `ZeroPadding1D/2D`: the input placed `PT` rows down and `PL` columns (steps) in, zeros
    /// around; the output shape gives the padding after.
    ZeroPadding, PT, PL
}

shaping_layer! {
    /// `Cropping1D/2D`: the output window of the input starting `CT` rows down and `CL` columns
    /// (steps) in.
    Cropping, CT, CL
}

shaping_layer! {
    /// `UpSampling1D/2D`: every row repeated `SH` times and every column (step) `SW` times.
    UpSampling, SH, SW
}

/// The rank-dependent class names: sequence, then image.
const fn by_rank(shape: &[usize], classes: [&'static str; 2]) -> &'static str {
    if shape.len() == 2 { classes[0] } else { classes[1] }
}

/// Every output pixel copied from the input pixel `source(oy, ox)` gives, or zeros.
#[inline(always)]
fn gather<X: Tensor, Y: Tensor<Scalar = X::Scalar>>(
    x: &X,
    source: impl Fn(usize, usize) -> Option<usize>,
) -> Y {
    let [h, w, c] = grid(X::SHAPE);
    let [_, ow, _] = grid(Y::SHAPE);
    let (x, mut y) = (x.as_slice(), Y::ZEROS);
    for (at, out) in y.as_mut_slice().chunks_exact_mut(c).enumerate() {
        if let Some(p) = source(at / ow, at % ow).filter(|&p| p < h * w) {
            out.copy_from_slice(&x[p * c..(p + 1) * c]);
        }
    }
    y
}

/// The backward pass of [`gather`]: each output pixel's gradient added into the gradient of
/// the input pixel it was copied from (several, for UpSampling's repeats, sum).
#[inline(always)]
fn scatter<X: Tensor, Y: Tensor<Scalar = X::Scalar>>(
    dy: &Y,
    dx: &mut X,
    source: impl Fn(usize, usize) -> Option<usize>,
) {
    let [h, w, c] = grid(X::SHAPE);
    let [_, ow, _] = grid(Y::SHAPE);
    let dx = dx.as_mut_slice();
    for (at, g) in dy.as_slice().chunks_exact(c).enumerate() {
        if let Some(p) = source(at / ow, at % ow).filter(|&p| p < h * w) {
            for (d, g) in dx[p * c..(p + 1) * c].iter_mut().zip(g) {
                *d += *g;
            }
        }
    }
}

/// `Train` for a layer that moves whole pixels, from its `source` (see [`gather`]): it keeps
/// nothing, and each input pixel's gradient gathers those of the output pixels copied from it.
macro_rules! moves_pixels {
    ($name:ident, $p:ident, $q:ident) => {
        /// Keeps nothing: the layer only moves pixels.
        impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const $p: usize, const $q: usize> Train
            for $name<X, Y, $p, $q>
        {
            type Kept = ();
            const KEPT: () = ();

            fn backward(
                &self,
                _level: Level,
                _xs: &[X],
                _ys: &[Y],
                _kept: &[()],
                dys: &mut [Y],
                dxs: Option<&mut [X]>,
                _grads: Option<&mut Self>,
            ) {
                let Some(dxs) = dxs else { return };
                for (dy, dx) in dys.iter().zip(dxs) {
                    scatter(dy, dx, Self::source);
                }
            }
        }
    };
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>> Layer for Flatten<X, Y> {
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = "Flatten";
    const PARAMS: usize = 0;
    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        *view(x)
    }
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>> Layer for Reshape<X, Y> {
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = "Reshape";
    const PARAMS: usize = 0;
    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        *view(x)
    }
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const P0: usize, const P1: usize, const P2: usize> Layer
    for Permute<X, Y, P0, P1, P2>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = "Permute";
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        let mut y = Y::ZEROS;
        let (x, out) = (x.as_slice(), y.as_mut_slice());
        Self::each(|o, i| out[o] = x[i]);
        y
    }
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const P0: usize, const P1: usize, const P2: usize>
    Permute<X, Y, P0, P1, P2>
{
    /// Calls `f(o, i)` for every output element `o`, in order, with the input element `i` it
    /// is.
    #[inline(always)]
    fn each(mut f: impl FnMut(usize, usize)) {
        const { assert!(X::LEN == Y::LEN && X::SHAPE.len() == Y::SHAPE.len()) };
        let rank = X::SHAPE.len();
        // Row-major strides of the input, then the input stride of each output axis.
        let mut strides = [0usize; 3];
        let mut s = 1;
        for axis in (0..rank).rev() {
            strides[axis] = s;
            s *= X::SHAPE[axis];
        }
        let perm = [P0, P1, P2];
        let by_output: [usize; 3] = core::array::from_fn(|k| if k < rank { strides[perm[k] - 1] } else { 0 });
        let dims: [usize; 3] = core::array::from_fn(|k| if k < rank { Y::SHAPE[k] } else { 1 });
        let mut o = 0;
        for i in 0..dims[0] {
            for j in 0..dims[1] {
                for k in 0..dims[2] {
                    f(o, i * by_output[0] + j * by_output[1] + k * by_output[2]);
                    o += 1;
                }
            }
        }
    }
}

/// Keeps nothing: each input element's gradient is that of the output element it became.
impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const P0: usize, const P1: usize, const P2: usize> Train
    for Permute<X, Y, P0, P1, P2>
{
    type Kept = ();
    const KEPT: () = ();

    fn backward(
        &self,
        _level: Level,
        _xs: &[X],
        _ys: &[Y],
        _kept: &[()],
        dys: &mut [Y],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        for (dy, dx) in dys.iter().zip(dxs) {
            let (dy, dx) = (dy.as_slice(), dx.as_mut_slice());
            Self::each(|o, i| dx[i] += dy[o]);
        }
    }
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>> Layer for RepeatVector<X, Y> {
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = "RepeatVector";
    const PARAMS: usize = 0;
    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        const { assert!(Y::LAST == X::LEN) };
        let mut y = Y::ZEROS;
        for step in y.as_mut_slice().chunks_exact_mut(X::LEN) {
            step.copy_from_slice(x.as_slice());
        }
        y
    }
}

/// Keeps nothing: the input's gradient is the sum of its copies'.
impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>> Train for RepeatVector<X, Y> {
    type Kept = ();
    const KEPT: () = ();

    fn backward(
        &self,
        _level: Level,
        _xs: &[X],
        _ys: &[Y],
        _kept: &[()],
        dys: &mut [Y],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        for (dy, dx) in dys.iter().zip(dxs) {
            for step in dy.as_slice().chunks_exact(X::LEN) {
                for (d, g) in dx.as_mut_slice().iter_mut().zip(step) {
                    *d += *g;
                }
            }
        }
    }
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const PT: usize, const PL: usize> Layer
    for ZeroPadding<X, Y, PT, PL>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = by_rank(X::SHAPE, ["ZeroPadding1D", "ZeroPadding2D"]);
    const PARAMS: usize = 0;
    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        gather(x, Self::source)
    }
}

impl<X: Tensor, Y, const PT: usize, const PL: usize> ZeroPadding<X, Y, PT, PL> {
    /// The input pixel output pixel `(oy, ox)` copies, `None` on the padding.
    #[inline(always)]
    fn source(oy: usize, ox: usize) -> Option<usize> {
        let [h, w, _] = grid(X::SHAPE);
        let (y, x) = (oy.checked_sub(PT)?, ox.checked_sub(PL)?);
        (y < h && x < w).then_some(y * w + x)
    }
}

moves_pixels!(ZeroPadding, PT, PL);

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const CT: usize, const CL: usize> Layer
    for Cropping<X, Y, CT, CL>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = by_rank(X::SHAPE, ["Cropping1D", "Cropping2D"]);
    const PARAMS: usize = 0;
    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        gather(x, Self::source)
    }
}

impl<X: Tensor, Y, const CT: usize, const CL: usize> Cropping<X, Y, CT, CL> {
    /// The input pixel output pixel `(oy, ox)` copies.
    #[inline(always)]
    fn source(oy: usize, ox: usize) -> Option<usize> {
        let [_, w, _] = grid(X::SHAPE);
        Some((oy + CT) * w + ox + CL)
    }
}

moves_pixels!(Cropping, CT, CL);

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const SH: usize, const SW: usize> Layer
    for UpSampling<X, Y, SH, SW>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = by_rank(X::SHAPE, ["UpSampling1D", "UpSampling2D"]);
    const PARAMS: usize = 0;
    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        gather(x, Self::source)
    }
}

impl<X: Tensor, Y, const SH: usize, const SW: usize> UpSampling<X, Y, SH, SW> {
    /// The input pixel output pixel `(oy, ox)` repeats.
    #[inline(always)]
    fn source(oy: usize, ox: usize) -> Option<usize> {
        let [_, w, _] = grid(X::SHAPE);
        Some(oy.checked_div(SH)? * w + ox.checked_div(SW)?)
    }
}

moves_pixels!(UpSampling, SH, SW);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor2, Tensor3};
    use nalgebra::SVector;

    #[test]
    fn permute_swaps_axes_as_keras_dims_say() {
        let x = Tensor2::<f32, 2, 3>::from_rows([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        let y: Tensor2<f32, 3, 2> = Permute::<_, _, 2, 1, 0>::ZEROS.forward(&x);
        assert_eq!(y.as_slice(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    use super::super::input_grad;

    #[test]
    fn permute_sends_each_gradient_back_to_its_element() {
        // y = xᵀ: y[j][i] = x[i][j], so dx[i][j] = dy[j][i].
        let dy = Tensor2::<f64, 3, 2>::from_rows([[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]);
        let dx = input_grad(Permute::<Tensor2<f64, 2, 3>, _, 2, 1, 0>::ZEROS, Tensor2::ZEROS, dy);
        assert_eq!(dx.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        // An image's (2, 3, 1): y[w][c][h] = x[h][w][c] for x of 2×1×2.
        let dy = Tensor3::<f64, 1, 2, 2>::from_slice(&[1.0, 2.0, 3.0, 4.0]);
        let dx = input_grad(Permute::<Tensor3<f64, 2, 1, 2>, _, 2, 3, 1>::ZEROS, Tensor3::ZEROS, dy);
        assert_eq!(dx.as_slice(), &[1.0, 3.0, 2.0, 4.0]);
    }

    #[test]
    fn repeat_vector_sums_the_gradients_of_its_copies() {
        let dy = Tensor2::<f64, 3, 2>::from_rows([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]]);
        let dx = input_grad(RepeatVector::<SVector<f64, 2>, _>::ZEROS, SVector::zeros(), dy);
        assert_eq!(dx.as_slice(), &[111.0, 222.0]);
    }

    #[test]
    fn padding_drops_the_gradient_of_the_zeros_and_cropping_gives_zeros() {
        let dy = Tensor2::<f64, 5, 1>::from_rows([[1.0], [2.0], [3.0], [4.0], [5.0]]);
        let dx = input_grad(ZeroPadding::<Tensor2<f64, 2, 1>, _, 0, 1>::ZEROS, Tensor2::ZEROS, dy);
        assert_eq!(dx.as_slice(), &[2.0, 3.0]);
        // Cropping2D(((1, 0), (0, 1))) of a 2×2 image keeps its bottom-left pixel.
        let dy = Tensor3::<f64, 1, 1, 1>::from_slice(&[7.0]);
        let dx = input_grad(Cropping::<Tensor3<f64, 2, 2, 1>, _, 1, 0>::ZEROS, Tensor3::ZEROS, dy);
        assert_eq!(dx.as_slice(), &[0.0, 0.0, 7.0, 0.0]);
    }

    #[test]
    fn upsampling_sums_the_gradients_of_the_repeated_cells() {
        // A 1×2 image up by (2, 2): each input pixel fills a 2×2 block.
        let dy = Tensor3::<f64, 2, 4, 1>::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let dx = input_grad(UpSampling::<Tensor3<f64, 1, 2, 1>, _, 2, 2>::ZEROS, Tensor3::ZEROS, dy);
        assert_eq!(dx.as_slice(), &[1.0 + 2.0 + 5.0 + 6.0, 3.0 + 4.0 + 7.0 + 8.0]);
    }

    #[test]
    fn padding_cropping_and_upsampling_move_whole_pixels() {
        let x = Tensor2::<f32, 2, 1>::from_rows([[1.0], [2.0]]);
        let padded: Tensor2<f32, 5, 1> = ZeroPadding::<_, _, 0, 1>::ZEROS.forward(&x);
        assert_eq!(padded.as_slice(), &[0.0, 1.0, 2.0, 0.0, 0.0]);
        let cropped: Tensor2<f32, 1, 1> = Cropping::<_, _, 0, 1>::ZEROS.forward(&x);
        assert_eq!(cropped.as_slice(), &[2.0]);
        let img = Tensor3::<f32, 1, 2, 1>::from_slice(&[1.0, 2.0]);
        let up: Tensor3<f32, 2, 4, 1> = UpSampling::<_, _, 2, 2>::ZEROS.forward(&img);
        assert_eq!(up.as_slice(), &[1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
        let rep: Tensor2<f32, 2, 2> = RepeatVector::<_, _>::ZEROS.forward(&SVector::<f32, 2>::new(1.0, 2.0));
        assert_eq!(rep.as_slice(), &[1.0, 2.0, 1.0, 2.0]);
        assert_eq!(<Cropping<Tensor2<f32, 2, 1>, Tensor2<f32, 1, 1>, 0, 1> as Layer>::CLASS, "Cropping1D");
    }
}
