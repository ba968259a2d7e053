//! Keras's reshaping layers: `Flatten` and `Reshape` (free: the model sees the same memory in
//! another shape), `Permute`, `RepeatVector`, `ZeroPadding1D/2D/3D`, `Cropping1D/2D/3D` and
//! `UpSampling1D/2D/3D` (nearest). None has weights; each maps output positions to input ones in
//! the space of [`crate::tensor::space`], so one type serves sequences, images and volumes.

use crate::kernels::cpu::Level;
use crate::layer::{Layer, Zeroable};
use crate::tensor::{Tensor, space, view};
use crate::train::Train;
use core::marker::PhantomData;

/// Declares a weightless layer type over `X` and `Y` with the given const parameters: its doc,
/// `ZEROS`, raw-weight reader and `Zeroable`.
/// Parameters after a `;` take defaults (a 3-D layer's depth, which 1-D and 2-D uses leave out).
macro_rules! shaping_layer {
    ($(#[$doc:meta])* $name:ident $(, $p:ident)* $(; $($q:ident = $d:literal),*)?) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name<X, Y $(, const $p: usize)* $($(, const $q: usize = $d)*)?> {
            _shapes: PhantomData<fn(X) -> Y>,
        }

        impl<X, Y $(, const $p: usize)* $($(, const $q: usize)*)?> $name<X, Y $(, $p)* $($(, $q)*)?> {
            super::no_weights!();
        }

        // SAFETY: zero-sized.
        unsafe impl<X, Y $(, const $p: usize)* $($(, const $q: usize)*)?> Zeroable
            for $name<X, Y $(, $p)* $($(, $q)*)?>
        {
        }
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
    /// those past the input's rank unused).
    Permute, P0, P1, P2; P3 = 0, P4 = 0
}

shaping_layer! {
    /// `RepeatVector`: a vector of `N` features repeated into a sequence of `R` steps.
    RepeatVector
}

shaping_layer! {
    /// `ZeroPadding1D/2D/3D`: the input placed `PT` rows down and `PL` columns (steps) in, and
    /// `PF` slices deep in a volume, zeros around; the output shape gives the padding after.
    ZeroPadding, PT, PL; PF = 0
}

shaping_layer! {
    /// `Cropping1D/2D/3D`: the output window of the input starting `CT` rows down and `CL`
    /// columns (steps) in, and `CF` slices deep in a volume.
    Cropping, CT, CL; CF = 0
}

shaping_layer! {
    /// `UpSampling1D/2D/3D`: every row repeated `SH` times, every column (step) `SW` times and
    /// every slice of a volume `SD` times.
    UpSampling, SH, SW; SD = 1
}

/// An impl block of `Permute` (of the trait in brackets, if any), over its five axes.
macro_rules! permute_impl {
    ([$($tr:ident)?] $($body:tt)*) => {
        impl<
            X: Tensor,
            Y: Tensor<Scalar = X::Scalar>,
            const P0: usize,
            const P1: usize,
            const P2: usize,
            const P3: usize,
            const P4: usize,
        > $($tr for)? Permute<X, Y, P0, P1, P2, P3, P4>
        {
            $($body)*
        }
    };
}

/// The rank-dependent class names: sequence, image, volume.
const fn by_rank(shape: &[usize], classes: [&'static str; 3]) -> &'static str {
    match shape.len() {
        2 => classes[0],
        3 => classes[1],
        _ => classes[2],
    }
}

/// An output pixel's place `[slice, row, column]` from its index, in an output of
/// `[depth, height, width, channels]`.
#[inline(always)]
fn place(at: usize, [_, oh, ow, _]: [usize; 4]) -> [usize; 3] {
    [at / (oh * ow), at / ow % oh, at % ow]
}

/// Every output pixel copied from the input pixel `source([oz, oy, ox])` gives, or zeros.
#[inline(always)]
fn gather<X: Tensor, Y: Tensor<Scalar = X::Scalar>>(
    x: &X,
    source: impl Fn([usize; 3]) -> Option<usize>,
) -> Y {
    let [d, h, w, c] = space(X::SHAPE);
    let (x, mut y) = (x.as_slice(), Y::ZEROS);
    for (at, out) in y.as_mut_slice().chunks_exact_mut(c).enumerate() {
        if let Some(p) = source(place(at, space(Y::SHAPE))).filter(|&p| p < d * h * w) {
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
    source: impl Fn([usize; 3]) -> Option<usize>,
) {
    let [d, h, w, c] = space(X::SHAPE);
    let dx = dx.as_mut_slice();
    for (at, g) in dy.as_slice().chunks_exact(c).enumerate() {
        if let Some(p) = source(place(at, space(Y::SHAPE))).filter(|&p| p < d * h * w) {
            for (d, g) in dx[p * c..(p + 1) * c].iter_mut().zip(g) {
                *d += *g;
            }
        }
    }
}

/// `Train` for a layer that moves whole pixels, from its `source` (see [`gather`]): it keeps
/// nothing, and each input pixel's gradient gathers those of the output pixels copied from it.
macro_rules! moves_pixels {
    ($name:ident, $p:ident, $q:ident, $r:ident) => {
        /// Keeps nothing: the layer only moves pixels.
        impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const $p: usize, const $q: usize, const $r: usize>
            Train for $name<X, Y, $p, $q, $r>
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

permute_impl! { [Layer]
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

permute_impl! { []
    /// Calls `f(o, i)` for every output element `o`, in order, with the input element `i` it
    /// is.
    #[inline(always)]
    fn each(mut f: impl FnMut(usize, usize)) {
        const { assert!(X::LEN == Y::LEN && X::SHAPE.len() == Y::SHAPE.len()) };
        let rank = X::SHAPE.len();
        // Row-major strides of the input, then the input stride of each output axis; axes past
        // the rank are one long.
        let mut strides = [0usize; 5];
        let mut s = 1;
        for axis in (0..rank).rev() {
            strides[axis] = s;
            s *= X::SHAPE[axis];
        }
        let perm = [P0, P1, P2, P3, P4];
        let by_output: [usize; 5] = core::array::from_fn(|k| if k < rank { strides[perm[k] - 1] } else { 0 });
        let dims: [usize; 5] = core::array::from_fn(|k| if k < rank { Y::SHAPE[k] } else { 1 });
        let mut o = 0;
        for a in 0..dims[0] {
            for b in 0..dims[1] {
                for c in 0..dims[2] {
                    let at = a * by_output[0] + b * by_output[1] + c * by_output[2];
                    for d in 0..dims[3] {
                        for e in 0..dims[4] {
                            f(o, at + d * by_output[3] + e * by_output[4]);
                            o += 1;
                        }
                    }
                }
            }
        }
    }
}

// Keeps nothing: each input element's gradient is that of the output element it became.
permute_impl! { [Train]
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

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const PT: usize, const PL: usize, const PF: usize> Layer
    for ZeroPadding<X, Y, PT, PL, PF>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = by_rank(X::SHAPE, ["ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"]);
    const PARAMS: usize = 0;
    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        gather(x, Self::source)
    }
}

impl<X: Tensor, Y, const PT: usize, const PL: usize, const PF: usize> ZeroPadding<X, Y, PT, PL, PF> {
    /// The input pixel output pixel `[oz, oy, ox]` copies, `None` on the padding.
    #[inline(always)]
    fn source([oz, oy, ox]: [usize; 3]) -> Option<usize> {
        let [d, h, w, _] = space(X::SHAPE);
        let (z, y, x) = (oz.checked_sub(PF)?, oy.checked_sub(PT)?, ox.checked_sub(PL)?);
        (z < d && y < h && x < w).then_some((z * h + y) * w + x)
    }
}

moves_pixels!(ZeroPadding, PT, PL, PF);

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const CT: usize, const CL: usize, const CF: usize> Layer
    for Cropping<X, Y, CT, CL, CF>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = by_rank(X::SHAPE, ["Cropping1D", "Cropping2D", "Cropping3D"]);
    const PARAMS: usize = 0;
    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        gather(x, Self::source)
    }
}

impl<X: Tensor, Y, const CT: usize, const CL: usize, const CF: usize> Cropping<X, Y, CT, CL, CF> {
    /// The input pixel output pixel `[oz, oy, ox]` copies.
    #[inline(always)]
    fn source([oz, oy, ox]: [usize; 3]) -> Option<usize> {
        let [_, h, w, _] = space(X::SHAPE);
        Some(((oz + CF) * h + oy + CT) * w + ox + CL)
    }
}

moves_pixels!(Cropping, CT, CL, CF);

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const SH: usize, const SW: usize, const SD: usize> Layer
    for UpSampling<X, Y, SH, SW, SD>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = by_rank(X::SHAPE, ["UpSampling1D", "UpSampling2D", "UpSampling3D"]);
    const PARAMS: usize = 0;
    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        gather(x, Self::source)
    }
}

impl<X: Tensor, Y, const SH: usize, const SW: usize, const SD: usize> UpSampling<X, Y, SH, SW, SD> {
    /// The input pixel output pixel `[oz, oy, ox]` repeats.
    #[inline(always)]
    fn source([oz, oy, ox]: [usize; 3]) -> Option<usize> {
        let [_, h, w, _] = space(X::SHAPE);
        Some((oz.checked_div(SD)? * h + oy.checked_div(SH)?) * w + ox.checked_div(SW)?)
    }
}

moves_pixels!(UpSampling, SH, SW, SD);

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
    fn volumes_pad_crop_and_repeat_along_their_depth() {
        use crate::tensor::Tensor4;
        let x = Tensor4::<f32, 2, 1, 1, 1>::from_slice(&[1.0, 2.0]);
        let padded: Tensor4<f32, 3, 1, 1, 1> = ZeroPadding::<_, _, 0, 0, 1>::ZEROS.forward(&x);
        assert_eq!(padded.as_slice(), &[0.0, 1.0, 2.0]);
        let cropped: Tensor4<f32, 1, 1, 1, 1> = Cropping::<_, _, 0, 0, 1>::ZEROS.forward(&x);
        assert_eq!(cropped.as_slice(), &[2.0]);
        let up: Tensor4<f32, 4, 1, 2, 1> = UpSampling::<_, _, 1, 2, 2>::ZEROS.forward(&x);
        assert_eq!(up.as_slice(), &[1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]);
        assert_eq!(
            <UpSampling<Tensor4<f32, 2, 1, 1, 1>, Tensor4<f32, 4, 1, 2, 1>, 1, 2, 2> as Layer>::CLASS,
            "UpSampling3D"
        );
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
