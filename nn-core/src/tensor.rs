//! Tensors of rank 1 to 5 (without the batch axis), channels last, in Keras's row-major order.
//!
//! | rank | Keras shape | type |
//! |---|---|---|
//! | 1 | `(features,)` | [`SVector<T, N>`](nalgebra::SVector) |
//! | 2 | `(steps, channels)` | [`Tensor2<T, S, C>`] |
//! | 3 | `(height, width, channels)` | [`Tensor3<T, H, W, C>`] |
//! | 4 | `(depth, height, width, channels)` | [`Tensor4<T, D, H, W, C>`] |
//! | 5 | `(frames, depth, height, width, channels)` | [`Tensor5<T, F, D, H, W, C>`] |
//!
//! Every one is a flat run of `T`s in Keras's order (the last axis varies fastest), so a
//! tensor's [`Tensor::as_slice`] is what numpy's `x.flatten()` gives, `Flatten` and `Reshape`
//! are views of the same memory ([`view`]), and a layer acting on the last axis (Dense,
//! activations) sees a tensor as a slice of rows ([`rows`]).
//!
//! ```
//! use nn_core::tensor::{Tensor, Tensor2, Tensor3};
//! // Keras `x` of shape (2, 3): two steps of three channels.
//! let x = Tensor2::<f32, 2, 3>::from_rows([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
//! assert_eq!(x.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
//! assert_eq!(x.step(1).as_slice(), &[4.0, 5.0, 6.0]);
//! // A 2×2 image with one channel, from numpy's flat `x.flatten()`.
//! let img = Tensor3::<f32, 2, 2, 1>::from_slice(&[1.0, 2.0, 3.0, 4.0]);
//! assert_eq!(img.pixel(1, 0)[0], 3.0);
//! assert_eq!(<Tensor3<f32, 2, 2, 1> as Tensor>::SHAPE, &[2, 2, 1]);
//! ```

use crate::Float;
use core::fmt::Debug;
use nalgebra::{ArrayStorage, SMatrix, SVector};

/// A fixed-shape tensor: a contiguous run of [`Tensor::LEN`] scalars in Keras's row-major order.
///
/// # Safety
/// The type must be exactly `LEN` contiguous `Scalar`s with no padding, aligned as `Scalar`, so
/// that [`view`], [`rows`] and [`cast_slice`] may reinterpret it.
pub unsafe trait Tensor: Copy + Debug + PartialEq {
    /// The element type.
    type Scalar: Float;
    /// Keras's shape without the batch axis.
    const SHAPE: &'static [usize];
    /// Number of elements, the product of the shape.
    const LEN: usize;
    /// Size of the last axis: the features of a vector, the channels of a sequence or image.
    const LAST: usize;
    /// Every element zero.
    const ZEROS: Self;

    /// The elements in Keras's row-major order.
    #[inline(always)]
    fn as_slice(&self) -> &[Self::Scalar] {
        // SAFETY: the trait's contract: `LEN` contiguous scalars.
        unsafe { core::slice::from_raw_parts((self as *const Self).cast(), Self::LEN) }
    }

    /// As [`Tensor::as_slice`], writable.
    #[inline(always)]
    fn as_mut_slice(&mut self) -> &mut [Self::Scalar] {
        // SAFETY: the trait's contract: `LEN` contiguous scalars.
        unsafe { core::slice::from_raw_parts_mut((self as *mut Self).cast(), Self::LEN) }
    }

    /// The tensor holding `values`, row-major in Keras's shape (numpy's `x.flatten()`); `None`
    /// unless there are exactly [`Tensor::LEN`] of them.
    #[inline]
    fn try_from_slice(values: &[Self::Scalar]) -> Option<Self> {
        if values.len() != Self::LEN {
            return None;
        }
        let mut t = Self::ZEROS;
        t.as_mut_slice().copy_from_slice(values);
        Some(t)
    }
}

/// `Tensor2<T, S, C>`: a sequence of `S` steps of `C` channels, Keras's `(steps, channels)`.
///
/// Held as an nalgebra `C × S` matrix, one column per step: nalgebra is column-major, so its
/// memory is Keras's row-major `(S, C)` array. What a model with `Input<S, C>` takes.
///
/// ```
/// use nn_core::tensor::{Tensor, Tensor2};
/// // Three steps of two channels, as numpy's `x[s][c]`.
/// let x = Tensor2::<f32, 3, 2>::from_rows([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
/// assert_eq!(x.step(2).as_slice(), &[5.0, 6.0]);
/// assert_eq!(x.0[(1, 0)], 2.0); // the matrix: channel 1 of step 0
/// assert_eq!(<Tensor2<f32, 3, 2> as Tensor>::SHAPE, &[3, 2]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
pub struct Tensor2<T, const S: usize, const C: usize>(pub SMatrix<T, C, S>);

/// `Tensor3<T, H, W, C>`: an image of `H` rows of `W` pixels of `C` channels, Keras's
/// `(height, width, channels)`.
///
/// Held as `H` nalgebra `C × W` matrices, one column per pixel, so its memory is Keras's
/// row-major `(H, W, C)` array. What a model with `Input<H, W, C>` takes.
///
/// ```
/// use nn_core::tensor::{Tensor, Tensor3};
/// // A 2×2 RGB image, as numpy's `x[h][w][c]`.
/// let x = Tensor3::<f32, 2, 2, 3>::from_pixels([
///     [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
///     [[0.0, 0.0, 1.0], [0.5, 0.5, 0.5]],
/// ]);
/// assert_eq!(x.pixel(1, 0).as_slice(), &[0.0, 0.0, 1.0]);
/// assert_eq!(x.as_slice()[9..], [0.5, 0.5, 0.5]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
pub struct Tensor3<T, const H: usize, const W: usize, const C: usize>(pub [SMatrix<T, C, W>; H]);

/// `Tensor4<T, D, H, W, C>`: a volume of `D` images of `H` rows of `W` pixels of `C` channels,
/// Keras's `(depth, height, width, channels)` (what `Conv3D` takes), or a sequence of `D`
/// images (what `ConvLSTM2D` takes).
///
/// Held as `D` [`Tensor3`]s, so its memory is Keras's row-major `(D, H, W, C)` array. What a
/// model with `Input<D, H, W, C>` takes.
///
/// ```
/// use nn_core::tensor::{Tensor, Tensor4};
/// let x = Tensor4::<f32, 2, 1, 2, 1>::from_slice(&[1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(x.0[1].pixel(0, 1)[0], 4.0);
/// assert_eq!(<Tensor4<f32, 2, 1, 2, 1> as Tensor>::SHAPE, &[2, 1, 2, 1]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
pub struct Tensor4<T, const D: usize, const H: usize, const W: usize, const C: usize>(
    pub [Tensor3<T, H, W, C>; D],
);

/// `Tensor5<T, F, D, H, W, C>`: `F` volumes of `D × H × W` pixels of `C` channels, Keras's
/// `(frames, depth, height, width, channels)` (what `ConvLSTM3D` takes).
///
/// Held as `F` [`Tensor4`]s, Keras's row-major `(F, D, H, W, C)` array.
///
/// ```
/// use nn_core::tensor::{Tensor, Tensor5};
/// let x = Tensor5::<f32, 2, 1, 1, 1, 2>::from_slice(&[1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(x.0[1].0[0].pixel(0, 0).as_slice(), &[3.0, 4.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
pub struct Tensor5<T, const F: usize, const D: usize, const H: usize, const W: usize, const C: usize>(
    pub [Tensor4<T, D, H, W, C>; F],
);

// SAFETY: an `SVector` is `repr(C)` over `ArrayStorage`, a `repr(transparent)` `[[T; N]; 1]`.
unsafe impl<T: Float, const N: usize> Tensor for SVector<T, N> {
    type Scalar = T;
    const SHAPE: &'static [usize] = &[N];
    const LEN: usize = N;
    const LAST: usize = N;
    const ZEROS: Self = SVector::from_array_storage(ArrayStorage([[T::ZERO; N]; 1]));
}

// SAFETY: `repr(transparent)` over a matrix whose storage is `[[T; C]; S]`.
unsafe impl<T: Float, const S: usize, const C: usize> Tensor for Tensor2<T, S, C> {
    type Scalar = T;
    const SHAPE: &'static [usize] = &[S, C];
    const LEN: usize = S * C;
    const LAST: usize = C;
    const ZEROS: Self = Tensor2(SMatrix::from_array_storage(ArrayStorage([[T::ZERO; C]; S])));
}

// SAFETY: `repr(transparent)` over `[[[T; C]; W]; H]` in nalgebra's storage.
unsafe impl<T: Float, const H: usize, const W: usize, const C: usize> Tensor for Tensor3<T, H, W, C> {
    type Scalar = T;
    const SHAPE: &'static [usize] = &[H, W, C];
    const LEN: usize = H * W * C;
    const LAST: usize = C;
    const ZEROS: Self = Tensor3([SMatrix::from_array_storage(ArrayStorage([[T::ZERO; C]; W])); H]);
}

// SAFETY: `repr(transparent)` over `[Tensor3; D]`, each of which is contiguous scalars with
// no padding (its own impl), so the array is too.
unsafe impl<T: Float, const D: usize, const H: usize, const W: usize, const C: usize> Tensor
    for Tensor4<T, D, H, W, C>
{
    type Scalar = T;
    const SHAPE: &'static [usize] = &[D, H, W, C];
    const LEN: usize = D * H * W * C;
    const LAST: usize = C;
    const ZEROS: Self = Tensor4([Tensor3::ZEROS; D]);
}

// SAFETY: `repr(transparent)` over `[Tensor4; F]`, contiguous as above.
unsafe impl<T: Float, const F: usize, const D: usize, const H: usize, const W: usize, const C: usize> Tensor
    for Tensor5<T, F, D, H, W, C>
{
    type Scalar = T;
    const SHAPE: &'static [usize] = &[F, D, H, W, C];
    const LEN: usize = F * D * H * W * C;
    const LAST: usize = C;
    const ZEROS: Self = Tensor5([Tensor4::ZEROS; F]);
}

impl<T: Float, const D: usize, const H: usize, const W: usize, const C: usize> Tensor4<T, D, H, W, C> {
    /// The volume from numpy's flat `x.flatten()`.
    ///
    /// # Panics
    /// If `values` does not hold `D * H * W * C` elements (see [`Tensor::try_from_slice`]).
    pub fn from_slice(values: &[T]) -> Self {
        Self::try_from_slice(values).expect("Tensor4::from_slice: wrong number of values")
    }
}

impl<T: Float, const F: usize, const D: usize, const H: usize, const W: usize, const C: usize>
    Tensor5<T, F, D, H, W, C>
{
    /// The frames from numpy's flat `x.flatten()`.
    ///
    /// # Panics
    /// If `values` does not hold `F * D * H * W * C` elements (see [`Tensor::try_from_slice`]).
    pub fn from_slice(values: &[T]) -> Self {
        Self::try_from_slice(values).expect("Tensor5::from_slice: wrong number of values")
    }
}

impl<T: Float, const S: usize, const C: usize> Tensor2<T, S, C> {
    /// The sequence from Keras-layout rows: `rows[s][c]` is channel `c` of step `s`.
    pub const fn from_rows(rows: [[T; C]; S]) -> Self {
        Tensor2(SMatrix::from_array_storage(ArrayStorage(rows)))
    }

    /// The sequence from numpy's flat `x.flatten()`.
    ///
    /// # Panics
    /// If `values` does not hold `S * C` elements (see [`Tensor::try_from_slice`]).
    pub fn from_slice(values: &[T]) -> Self {
        Self::try_from_slice(values).expect("Tensor2::from_slice: wrong number of values")
    }

    /// The `C` channels of step `s`.
    #[inline(always)]
    pub fn step(&self, s: usize) -> &SVector<T, C> {
        &rows(self)[s]
    }

    /// The steps as rows of channels.
    #[inline(always)]
    pub fn steps(&self) -> &[SVector<T, C>] {
        rows(self)
    }
}

impl<T: Float, const H: usize, const W: usize, const C: usize> Tensor3<T, H, W, C> {
    /// The image from Keras-layout pixels: `pixels[h][w][c]`.
    pub const fn from_pixels(pixels: [[[T; C]; W]; H]) -> Self {
        let mut rows = [SMatrix::from_array_storage(ArrayStorage([[T::ZERO; C]; W])); H];
        let mut h = 0;
        while h < H {
            rows[h] = SMatrix::from_array_storage(ArrayStorage(pixels[h]));
            h += 1;
        }
        Tensor3(rows)
    }

    /// The image from numpy's flat `x.flatten()`.
    ///
    /// # Panics
    /// If `values` does not hold `H * W * C` elements (see [`Tensor::try_from_slice`]).
    pub fn from_slice(values: &[T]) -> Self {
        Self::try_from_slice(values).expect("Tensor3::from_slice: wrong number of values")
    }

    /// The `C` channels of the pixel at row `h`, column `w`.
    #[inline(always)]
    pub fn pixel(&self, h: usize, w: usize) -> &SVector<T, C> {
        &rows(self)[h * W + w]
    }
}

/// A tensor as rows of its last axis: `LEN / C` vectors of `C` elements.
///
/// A compile-time error (when monomorphized) unless `C` is `X::LAST`.
#[inline(always)]
pub fn rows<X: Tensor, const C: usize>(x: &X) -> &[SVector<X::Scalar, C>] {
    const { assert!(X::LAST == C, "rows: C must be the tensor's last axis") };
    cast_slice(core::slice::from_ref(x))
}

/// As [`rows`], writable.
#[inline(always)]
pub fn rows_mut<X: Tensor, const C: usize>(x: &mut X) -> &mut [SVector<X::Scalar, C>] {
    const { assert!(X::LAST == C, "rows_mut: C must be the tensor's last axis") };
    cast_slice_mut(core::slice::from_mut(x))
}

/// `x` seen as a tensor of another shape with the same elements in the same order: Keras's
/// `Flatten` and `Reshape`, free. A compile-time error (when monomorphized) unless both have as
/// many elements.
#[inline(always)]
pub fn view<X: Tensor, Y: Tensor<Scalar = X::Scalar>>(x: &X) -> &Y {
    const { assert!(X::LEN == Y::LEN, "view: the shapes hold different numbers of elements") };
    // SAFETY: both are `LEN` contiguous scalars aligned as the scalar (the trait's contract).
    unsafe { &*(x as *const X).cast::<Y>() }
}

/// A slice of tensors as a slice of tensors of another shape over the same elements: a batch
/// seen as rows, or as another shape. Elements that do not fill a whole `Y` at the end are left
/// out.
#[inline(always)]
pub fn cast_slice<X: Tensor, Y: Tensor<Scalar = X::Scalar>>(xs: &[X]) -> &[Y] {
    const { assert!(Y::LEN > 0 || X::LEN == 0) };
    let len = (xs.len() * X::LEN).checked_div(Y::LEN).unwrap_or(0);
    // SAFETY: `xs` is `len(xs) * X::LEN` contiguous scalars (the trait's contract), of which
    // `len` whole `Y`s fit; `Y` is aligned as the scalar.
    unsafe { core::slice::from_raw_parts(xs.as_ptr().cast::<Y>(), len) }
}

/// As [`cast_slice`], writable.
#[inline(always)]
pub fn cast_slice_mut<X: Tensor, Y: Tensor<Scalar = X::Scalar>>(xs: &mut [X]) -> &mut [Y] {
    const { assert!(Y::LEN > 0 || X::LEN == 0) };
    let len = (xs.len() * X::LEN).checked_div(Y::LEN).unwrap_or(0);
    // SAFETY: as in `cast_slice`, and `xs` is borrowed mutably for the result's lifetime.
    unsafe { core::slice::from_raw_parts_mut(xs.as_mut_ptr().cast::<Y>(), len) }
}

/// A slice of tensors as one run of their scalars, sample after sample: Keras's `(batch, ...)`
/// array flattened.
#[inline(always)]
pub fn flatten<X: Tensor>(xs: &[X]) -> &[X::Scalar] {
    // SAFETY: `xs` is `len(xs) * X::LEN` contiguous scalars (the trait's contract).
    unsafe { core::slice::from_raw_parts(xs.as_ptr().cast::<X::Scalar>(), xs.len() * X::LEN) }
}

/// The inverse of [`flatten`]: a run of scalars, sample after sample, as a slice of tensors.
/// Scalars that do not fill a whole tensor at the end are left out.
#[inline(always)]
pub fn unflatten<X: Tensor>(flat: &[X::Scalar]) -> &[X] {
    let len = flat.len().checked_div(X::LEN).unwrap_or(0);
    // SAFETY: `len` whole tensors of `X::LEN` contiguous scalars fit in `flat`, and `X` is
    // exactly that, aligned as the scalar (the trait's contract).
    unsafe { core::slice::from_raw_parts(flat.as_ptr().cast::<X>(), len) }
}

/// As [`flatten`], writable.
#[inline(always)]
pub fn flatten_mut<X: Tensor>(xs: &mut [X]) -> &mut [X::Scalar] {
    // SAFETY: as in `flatten`, and `xs` is borrowed mutably for the result's lifetime.
    unsafe { core::slice::from_raw_parts_mut(xs.as_mut_ptr().cast::<X::Scalar>(), xs.len() * X::LEN) }
}

/// A shape of rank 1 to 5 as `[height, width, channels]`: a sequence is one row of steps, a
/// vector one pixel, and the slices of a volume (and the frames of volumes) are stacked rows
/// (see [`space`] for a volume's depth). Convolutions, pooling and padding walk every rank
/// through this one grid.
#[inline(always)]
pub const fn grid(shape: &[usize]) -> [usize; 3] {
    match shape {
        [n] => [1, 1, *n],
        [s, c] => [1, *s, *c],
        [h, w, c] => [*h, *w, *c],
        [d, h, w, c] => [*d * *h, *w, *c],
        [f, d, h, w, c] => [*f * *d * *h, *w, *c],
        _ => [0, 0, 0],
    }
}

/// A shape of rank 1 to 4 as `[depth, height, width, channels]`: every rank below 4 is one
/// slice deep. What the layers with a 3-D form (`Conv3D`, `MaxPooling3D`, `ZeroPadding3D`)
/// walk.
#[inline(always)]
pub const fn space(shape: &[usize]) -> [usize; 4] {
    match shape {
        [d, h, w, c] => [*d, *h, *w, *c],
        _ => {
            let [h, w, c] = grid(shape);
            [1, h, w, c]
        }
    }
}

/// The leading axes of a tensor whose last axis a layer acts on (Dense, activations): `One` for
/// a vector, `Steps<S>` for a sequence, `Grid<H, W>` for an image, `Volume<D, H, W>` and
/// `Frames<F, D, H, W>` for ranks 4 and 5. `L::Of<T, C>` is the tensor
/// with these leading axes and `C` on the last.
pub trait Lead: Copy + Debug + PartialEq + 'static {
    /// The tensor with these leading axes and `C` elements on the last axis.
    type Of<T: Float, const C: usize>: Tensor<Scalar = T>;
    /// Number of rows: the product of the leading axes.
    const ROWS: usize;
}

/// No leading axis: the tensor is a vector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct One;

/// One leading axis of `S` steps: a sequence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Steps<const S: usize>;

/// Two leading axes, `H` rows of `W` pixels: an image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid<const H: usize, const W: usize>;

impl Lead for One {
    type Of<T: Float, const C: usize> = SVector<T, C>;
    const ROWS: usize = 1;
}

impl<const S: usize> Lead for Steps<S> {
    type Of<T: Float, const C: usize> = Tensor2<T, S, C>;
    const ROWS: usize = S;
}

impl<const H: usize, const W: usize> Lead for Grid<H, W> {
    type Of<T: Float, const C: usize> = Tensor3<T, H, W, C>;
    const ROWS: usize = H * W;
}

/// Three leading axes, `D` images of `H × W`: a volume.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Volume<const D: usize, const H: usize, const W: usize>;

/// Four leading axes, `F` volumes of `D × H × W`: frames of volumes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frames<const F: usize, const D: usize, const H: usize, const W: usize>;

impl<const D: usize, const H: usize, const W: usize> Lead for Volume<D, H, W> {
    type Of<T: Float, const C: usize> = Tensor4<T, D, H, W, C>;
    const ROWS: usize = D * H * W;
}

impl<const F: usize, const D: usize, const H: usize, const W: usize> Lead for Frames<F, D, H, W> {
    type Of<T: Float, const C: usize> = Tensor5<T, F, D, H, W, C>;
    const ROWS: usize = F * D * H * W;
}

/// Token ids, what an `Embedding` layer takes: `N` of them (a sequence), each below `V`, the
/// size of the embedding table. A model whose input feeds an `Embedding` takes `Ids` there
/// (`Input<12>, Embedding<50, 8>` takes `Ids<12, 50>`).
///
/// [`Ids::new`] checks the ids; the field is public for speed, and an id at or past `V` that
/// reaches `predict` anyway embeds as a row of zeros (never a panic or a read out of bounds).
/// `predict_flat` takes ids as scalars holding whole numbers, as Keras accepts them, and
/// returns [`crate::FlatError::Id`] for any other value.
///
/// ```
/// use nn_core::tensor::Ids;
/// let ids = Ids::<3, 10>::new([4, 0, 9]).unwrap();
/// assert_eq!(ids.0, [4, 0, 9]);
/// assert_eq!(Ids::<3, 10>::new([4, 10, 9]), Err(1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Ids<const N: usize, const V: usize>(pub [u32; N]);

impl<const N: usize, const V: usize> Ids<N, V> {
    /// Every id 0.
    pub const ZEROS: Self = Ids([0; N]);

    /// The ids, or the position of the first one at or past `V`.
    pub const fn new(ids: [u32; N]) -> Result<Self, usize> {
        let mut i = 0;
        while i < N {
            if ids[i] as usize >= V {
                return Err(i);
            }
            i += 1;
        }
        Ok(Ids(ids))
    }
}

/// One model input or output as flat Keras-ordered scalars: a tensor is copied as it is, token
/// [`Ids`] are read from scalars holding whole numbers.
pub trait Part<T: Float>: Copy {
    /// All zeros.
    const ZERO: Self;
    /// How many scalars.
    const LEN: usize;
    /// Reads the values from `src` (`LEN` of them), or gives the position of the first that is
    /// not a valid id, leaving `self` unspecified but valid.
    fn read_flat(&mut self, src: &[T]) -> Result<(), usize>;
    /// Writes the values to `dst` (`LEN` of them).
    fn write_flat(&self, dst: &mut [T]);
}

impl<X: Tensor> Part<X::Scalar> for X {
    const ZERO: Self = X::ZEROS;
    const LEN: usize = X::LEN;
    #[inline(always)]
    fn read_flat(&mut self, src: &[X::Scalar]) -> Result<(), usize> {
        self.as_mut_slice().copy_from_slice(src);
        Ok(())
    }
    #[inline(always)]
    fn write_flat(&self, dst: &mut [X::Scalar]) {
        dst.copy_from_slice(self.as_slice());
    }
}

impl<T: Float, const N: usize, const V: usize> Part<T> for Ids<N, V> {
    const ZERO: Self = Ids::ZEROS;
    const LEN: usize = N;
    fn read_flat(&mut self, src: &[T]) -> Result<(), usize> {
        for (i, (id, v)) in self.0.iter_mut().zip(src).enumerate() {
            let v = v.as_f64();
            // Whole, at least 0 and below V (NaN fails every test).
            if !(v >= 0.0 && v < V as f64 && v == libm::floor(v)) {
                return Err(i);
            }
            *id = v as u32;
        }
        Ok(())
    }
    fn write_flat(&self, dst: &mut [T]) {
        for (d, id) in dst.iter_mut().zip(&self.0) {
            *d = T::of(f64::from(*id));
        }
    }
}

/// A model's inputs or outputs over element type `T`: one [`Part`], or a tuple of them. Reads
/// and writes them as flat slices in Keras's order, for [`crate::Model::predict_flat`].
pub trait Tensors<T: Float>: Copy {
    /// How many tensors.
    const COUNT: usize;
    /// Every tensor zero.
    const ZEROED: Self;
    /// Number of elements of tensor `i`.
    fn len_of(i: usize) -> usize;
    /// Reads tensor `i` from `src`, or gives the position of the first value that is not a
    /// valid id.
    fn read_flat(&mut self, i: usize, src: &[T]) -> Result<(), usize>;
    /// Writes tensor `i` to `dst`.
    fn write_flat(&self, i: usize, dst: &mut [T]);
    /// Flat samples of a single tensor, `src`, as samples of `Self` without a copy, where
    /// `Self` is exactly such a tensor; `None` for ids (which [`Tensors::read_flat`] checks)
    /// and for several tensors (which flat data holds apart).
    fn view_flat(src: &[T]) -> Option<&[Self]> {
        let _ = src;
        None
    }
    /// Sets every sample of `xs` to zero: as scalars (one `memset`) where `Self` is a single
    /// tensor, since filling with [`Tensors::ZEROED`] copies it into each sample.
    fn zero_all(xs: &mut [Self]) {
        xs.fill(Self::ZEROED);
    }
}

/// `Tensors` for a single [`Part`]: a tensor, or token ids. (Two impls rather than one over
/// every `Part`, which the tuples' impls would overlap.)
macro_rules! single_part {
    ([$($g:tt)*] $ty:ty, $t:ty $(, $view:ident, $flat:ident)?) => {
        impl<$($g)*> Tensors<$t> for $ty {
            const COUNT: usize = 1;
            const ZEROED: Self = <Self as Part<$t>>::ZERO;
            #[inline(always)]
            fn len_of(_: usize) -> usize {
                <Self as Part<$t>>::LEN
            }
            #[inline(always)]
            fn read_flat(&mut self, _: usize, src: &[$t]) -> Result<(), usize> {
                Part::read_flat(self, src)
            }
            #[inline(always)]
            fn write_flat(&self, _: usize, dst: &mut [$t]) {
                Part::write_flat(self, dst);
            }
            $(
                #[inline(always)]
                fn view_flat(src: &[$t]) -> Option<&[Self]> {
                    Some($view(src))
                }
                #[inline(always)]
                fn zero_all(xs: &mut [Self]) {
                    $flat(xs).fill(<$t as crate::Float>::ZERO);
                }
            )?
        }
    };
}

single_part!([X: Tensor] X, X::Scalar, unflatten, flatten_mut);
single_part!([T: Float, const N: usize, const V: usize] Ids<N, V>, T);

macro_rules! tuple_tensors {
    ($count:literal: $($x:ident $i:tt),*) => {
        impl<T: Float, $($x: Part<T>),*> Tensors<T> for ($($x,)*) {
            const COUNT: usize = $count;
            const ZEROED: Self = ($($x::ZERO,)*);
            #[inline(always)]
            fn len_of(i: usize) -> usize {
                [$($x::LEN),*][i]
            }
            #[inline(always)]
            fn read_flat(&mut self, i: usize, src: &[T]) -> Result<(), usize> {
                match i { $($i => self.$i.read_flat(src),)* _ => Ok(()) }
            }
            #[inline(always)]
            fn write_flat(&self, i: usize, dst: &mut [T]) {
                match i { $($i => self.$i.write_flat(dst),)* _ => {} }
            }
        }
    };
}

tuple_tensors!(2: A 0, B 1);
tuple_tensors!(3: A 0, B 1, C 2);
tuple_tensors!(4: A 0, B 1, C 2, D 3);
tuple_tensors!(5: A 0, B 1, C 2, D 3, E 4);
tuple_tensors!(6: A 0, B 1, C 2, D 3, E 4, F 5);
tuple_tensors!(7: A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_tensors!(8: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_keras_row_major() {
        let x = Tensor3::<f64, 2, 3, 2>::from_pixels([
            [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]],
            [[6.0, 7.0], [8.0, 9.0], [10.0, 11.0]],
        ]);
        let flat: [f64; 12] = core::array::from_fn(|i| i as f64);
        assert_eq!(x.as_slice(), &flat);
        assert_eq!(x.pixel(1, 2).as_slice(), &[10.0, 11.0]);
        assert_eq!(rows::<_, 2>(&x).len(), 6);
        let v: &SVector<f64, 12> = view(&x);
        assert_eq!(v[7], 7.0);
        let s: &Tensor2<f64, 4, 3> = view(&x);
        assert_eq!(s.step(3).as_slice(), &[9.0, 10.0, 11.0]);
        assert_eq!(core::mem::size_of::<Tensor3<f32, 2, 3, 5>>(), 2 * 3 * 5 * 4);
    }

    #[test]
    fn batches_cast_to_rows_and_back() {
        let mut batch = [Tensor2::<f32, 2, 2>::ZEROS; 3];
        let r: &mut [SVector<f32, 2>] = cast_slice_mut(&mut batch);
        assert_eq!(r.len(), 6);
        r[5][1] = 7.0;
        assert_eq!(batch[2].as_slice(), &[0.0, 0.0, 0.0, 7.0]);
        assert!(Tensor2::<f32, 2, 2>::try_from_slice(&[1.0; 3]).is_none());
    }

    #[test]
    fn flat_samples_view_as_tensors_unless_ids_or_several() {
        let flat: [f32; 9] = core::array::from_fn(|i| i as f32);
        let xs: &[Tensor2<f32, 2, 2>] = unflatten(&flat);
        assert_eq!((xs.len(), xs[1].as_slice()), (2, &[4.0, 5.0, 6.0, 7.0][..]));
        assert_eq!(flatten(xs), &flat[..8]);
        let viewed = <SVector<f32, 3> as Tensors<f32>>::view_flat(&flat).unwrap();
        assert_eq!((viewed.len(), viewed[2][0]), (3, 6.0));
        assert!(<Ids<3, 9> as Tensors<f32>>::view_flat(&flat).is_none());
        assert!(<(SVector<f32, 3>, SVector<f32, 3>) as Tensors<f32>>::view_flat(&flat).is_none());
        let mut xs = [Tensor2::<f32, 2, 2>::try_from_slice(&[1.0, 2.0, 3.0, 4.0]).unwrap(); 3];
        Tensors::zero_all(&mut xs);
        assert!(flatten(&xs).iter().all(|&v| v == 0.0));
        let mut pairs = [(SVector::<f32, 1>::new(1.0), SVector::<f32, 2>::new(2.0, 3.0)); 2];
        Tensors::zero_all(&mut pairs);
        assert!(pairs.iter().all(|(a, b)| a[0] == 0.0 && b.iter().all(|&v| v == 0.0)));
    }

    #[test]
    fn tuples_give_each_tensor_flat() {
        type Pair = (SVector<f32, 2>, Tensor2<f32, 2, 3>);
        let mut t = <Pair as Tensors<f32>>::ZEROED;
        t.read_flat(1, &[0.0, 0.0, 0.0, 0.0, 2.0, 0.0]).unwrap();
        assert_eq!(t.1.step(1)[1], 2.0);
        let mut out = [9.0f32; 2];
        t.write_flat(0, &mut out);
        assert_eq!((<Pair as Tensors<f32>>::len_of(1), out), (6, [0.0; 2]));
    }

    #[test]
    fn ids_read_whole_numbers_inside_the_table_only() {
        type Mixed = (Ids<3, 5>, SVector<f32, 1>);
        let mut t = <Mixed as Tensors<f32>>::ZEROED;
        assert_eq!(t.read_flat(0, &[4.0, 0.0, 2.0]), Ok(()));
        assert_eq!(t.0, Ids([4, 0, 2]));
        assert_eq!(t.read_flat(0, &[1.0, 5.0, 0.0]), Err(1));
        assert_eq!(t.read_flat(0, &[1.0, 2.0, 0.5]), Err(2));
        assert_eq!(t.read_flat(0, &[-1.0, 2.0, 0.0]), Err(0));
        assert_eq!(t.read_flat(0, &[f32::NAN, 2.0, 0.0]), Err(0));
        let mut back = [0.0f32; 3];
        Part::write_flat(&Ids::<3, 5>([1, 2, 3]), &mut back);
        assert_eq!(back, [1.0, 2.0, 3.0]);
    }
}
