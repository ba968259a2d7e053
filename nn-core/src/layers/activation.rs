//! Activations as layers: `Activation` (any activation by name), Keras's activation layers
//! `ReLU`, `LeakyReLU` and `ELU` (the same layer under their own class), `Softmax` over any
//! axis, and `PReLU`, whose negative slopes are weights.

use crate::Float;
use crate::activations::{ActivationFn, Elu, LeakyRelu, ReluOptions};
use crate::init::Rng;
use crate::kernels::cpu::Level;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Lead, One, Tensor, grid};
use crate::train::Train;
use crate::weights::bytes;
use core::marker::PhantomData;

/// The Keras class an [`Activation`] layer shows in a summary: `Activation` for
/// `layers.Activation("relu")`, `ReLU` for `layers.ReLU()`, and so on.
pub trait Class: 'static {
    /// Keras's class name.
    const NAME: &'static str;
}

/// The classes of the activation layers.
pub mod class {
    macro_rules! classes {
        ($($(#[$doc:meta])* $name:ident),*) => {$(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, PartialEq)]
            pub struct $name;
            impl super::Class for $name {
                const NAME: &'static str = stringify!($name);
            }
        )*};
    }
    classes!(
        /// `layers.Activation`.
        Activation,
        /// `layers.ReLU`.
        ReLU,
        /// `layers.LeakyReLU`.
        LeakyReLU,
        /// `layers.ELU`.
        ELU
    );
}

/// Keras's `ReLU` layer (`max_value`, `negative_slope`, `threshold`).
pub type ReLU<T, const N: usize, L = One> = Activation<T, N, ReluOptions, L, class::ReLU>;
/// Keras's `LeakyReLU` layer; its `negative_slope` defaults to 0.3 (the function's to 0.2):
/// the macros write the layer's default.
pub type LeakyReLU<T, const N: usize, L = One> = Activation<T, N, LeakyRelu, L, class::LeakyReLU>;
/// Keras's `ELU` layer (`alpha`).
pub type ELU<T, const N: usize, L = One> = Activation<T, N, Elu, L, class::ELU>;

/// Applies `A` to a tensor whose last axis holds `N` values, with leading axes `L` (a vector by
/// default; softmax acts on each run of the last axis, as Keras's `axis=-1`); it has no weights.
///
/// ```
/// use nn_core::activations::Relu;
/// use nn_core::layers::Activation;
/// use nn_core::{Layer, nalgebra::Vector2};
/// let relu = Activation::<f32, 2, Relu>::new(Relu);
/// assert_eq!(relu.forward(&Vector2::new(-1.0, 2.0)), Vector2::new(0.0, 2.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Activation<T, const N: usize, A, L = One, K = class::Activation> {
    /// The activation and its options.
    pub activation: A,
    _scalar: PhantomData<(T, L, K)>,
}

impl<T: Float, const N: usize, A: ActivationFn, L: Lead, K: Class> Activation<T, N, A, L, K> {
    /// The layer with Keras's default options for `A`.
    pub const ZEROS: Self = Self::new(A::DEFAULT);

    /// The layer applying `activation`.
    pub const fn new(activation: A) -> Self {
        Activation { activation, _scalar: PhantomData }
    }

    /// Reads nothing: the layer has no weights. Kept so the macros treat every layer alike.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, _bytes: &[u8], at: usize) -> usize {
        at
    }
}

impl<T: Float, const N: usize, A: ActivationFn, L: Lead, K: Class> Layer for Activation<T, N, A, L, K> {
    type Scalar = T;
    type Input = L::Of<T, N>;
    type Output = L::Of<T, N>;
    const CLASS: &'static str = K::NAME;
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &Self::Input) -> Self::Output {
        let mut y = *x;
        self.activation.apply(&mut y);
        y
    }

    fn init_keras(&mut self, _rng: &mut Rng) {}

    fn visit_weights(&self, _f: &mut dyn FnMut(WeightRef<'_, T>)) {}

    fn visit_weights_mut(&mut self, _f: &mut dyn FnMut(WeightMut<'_, T>)) {}
}

/// Keeps nothing: the input is the activation's argument.
impl<T: Float, const N: usize, A: ActivationFn, L: Lead, K: Class> crate::train::Train
    for Activation<T, N, A, L, K>
{
    type Kept = ();
    const KEPT: () = ();

    fn backward(
        &self,
        _level: crate::kernels::cpu::Level,
        xs: &[Self::Input],
        ys: &[Self::Output],
        _kept: &[()],
        dys: &mut [Self::Output],
        dxs: Option<&mut [Self::Input]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        for (((x, y), dy), dx) in xs.iter().zip(ys).zip(dys.iter_mut()).zip(dxs) {
            self.activation.backward_rows(x.as_slice(), y.as_slice(), dy.as_mut_slice(), N);
            for (d, g) in dx.as_mut_slice().iter_mut().zip(dy.as_slice()) {
                *d += *g;
            }
        }
    }
}

// SAFETY: the only field with a size is an activation that is itself `Zeroable`.
unsafe impl<T: Float, const N: usize, A: Zeroable, L, K> Zeroable for Activation<T, N, A, L, K> {}

/// An activation over a sequence steps on one step's vector.
impl<T: Float, const N: usize, A: ActivationFn, const S: usize, K: Class> crate::stream::Stream<()>
    for Activation<T, N, A, crate::tensor::Steps<S>, K>
{
    type StepIn = nalgebra::SVector<T, N>;
    type StepOut = nalgebra::SVector<T, N>;

    #[inline(always)]
    fn step(&self, _: crate::kernels::cpu::Level, _: &mut (), x: &Self::StepIn) -> Self::StepOut {
        let mut y = *x;
        self.activation.apply(&mut y);
        y
    }
}

/// Keras's `Softmax` layer over data axis `AXIS` (0-based, without the batch axis; Keras's
/// `axis=-1` is the last): `e^(x - max) / sum` along that axis, for every position of the
/// others.
///
/// ```
/// use nn_core::layers::Softmax;
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// // Over the steps (axis 0) of two steps of two channels: each channel sums to one.
/// let y = Softmax::<Tensor2<f64, 2, 2>, 0>::ZEROS.forward(&Tensor2::from_rows([[0.0, 5.0], [0.0, 5.0]]));
/// assert_eq!(y.as_slice(), &[0.5; 4]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softmax<X, const AXIS: usize> {
    _shapes: PhantomData<fn(X) -> X>,
}

impl<X, const AXIS: usize> Softmax<X, AXIS> {
    super::no_weights!();
}

impl<X: Tensor, const AXIS: usize> Layer for Softmax<X, AXIS> {
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "Softmax";
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        let mut y = *x;
        if Self::LAST_AXIS {
            crate::activations::Softmax.apply(&mut y);
            return y;
        }
        let v = y.as_mut_slice();
        Self::runs(|n, start, stride| {
            let at = |k: usize| start + k * stride;
            let max = (1..n).fold(v[at(0)], |m, k| if v[at(k)] > m { v[at(k)] } else { m });
            let mut sum = X::Scalar::ZERO;
            for k in 0..n {
                v[at(k)] = (v[at(k)] - max).fast_exp();
                sum += v[at(k)];
            }
            let inv = X::Scalar::ONE / sum;
            for k in 0..n {
                v[at(k)] *= inv;
            }
        });
        y
    }
}

impl<X: Tensor, const AXIS: usize> Softmax<X, AXIS> {
    /// Whether the axis is the last, where the softmax acts on contiguous runs.
    const LAST_AXIS: bool = {
        assert!(AXIS < X::SHAPE.len(), "Softmax: no such axis");
        AXIS + 1 == X::SHAPE.len()
    };

    /// Calls `f(n, start, stride)` for every run of `n` elements along the axis, one for each
    /// position of the other axes: its `k`-th element is at `start + k · stride`.
    #[inline(always)]
    fn runs(mut f: impl FnMut(usize, usize, usize)) {
        // Elements `stride` apart along the axis, `n` of them, from each start below.
        let n = X::SHAPE[AXIS];
        let stride: usize = X::SHAPE[AXIS + 1..].iter().product();
        for outer in 0..X::LEN / (n * stride).max(1) {
            for inner in 0..stride {
                let start = outer * n * stride + inner;
                f(n, start, stride);
            }
        }
    }
}

/// Keeps nothing: the gradient is `y (dy - Σ y dy)` along the axis (JAX's softmax rule), which
/// reads only the output.
impl<X: Tensor, const AXIS: usize> Train for Softmax<X, AXIS> {
    type Kept = ();
    const KEPT: () = ();

    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        ys: &[X],
        _kept: &[()],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        for (((x, y), dy), dx) in xs.iter().zip(ys).zip(dys.iter_mut()).zip(dxs) {
            let (y, g) = (y.as_slice(), dy.as_mut_slice());
            if Self::LAST_AXIS {
                crate::activations::Softmax.backward_rows(x.as_slice(), y, g, X::LAST);
            } else {
                Self::runs(|n, start, stride| {
                    let at = |k: usize| start + k * stride;
                    let dot = (0..n).fold(X::Scalar::ZERO, |acc, k| acc + y[at(k)] * g[at(k)]);
                    for k in 0..n {
                        g[at(k)] = y[at(k)] * (g[at(k)] - dot);
                    }
                });
            }
            for (d, g) in dx.as_mut_slice().iter_mut().zip(g.iter()) {
                *d += *g;
            }
        }
    }
}

// SAFETY: zero-sized.
unsafe impl<X, const AXIS: usize> Zeroable for Softmax<X, AXIS> {}

/// Keras's `Softmax` called with a `mask` (`Softmax(axis)(x, mask=m)`): the input is `(x, m)`,
/// `M` broadcasting to `X` as numpy broadcasts (its axes aligned with `X`'s last ones, each of
/// `X`'s size or 1). Where the mask is not above one half, the input counts as `-1e9` and the
/// output is 0, as Keras's `where`s make them; the mask gets no gradient.
///
/// ```
/// use nn_core::layers::MaskedSoftmax;
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// // Over the last axis of two rows, the third column masked in both (a mask of one row).
/// let x = Tensor2::<f64, 2, 3>::from_rows([[0.0, 0.0, 9.0], [1.0, 1.0, 1.0]]);
/// let m = Tensor2::<f64, 1, 3>::from_rows([[1.0, 1.0, 0.0]]);
/// let y = MaskedSoftmax::<_, _, 1>::ZEROS.forward(&(x, m));
/// assert_eq!(y.as_slice(), &[0.5, 0.5, 0.0, 0.5, 0.5, 0.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaskedSoftmax<X, M, const AXIS: usize> {
    _shapes: PhantomData<fn(X, M) -> X>,
}

impl<X, M, const AXIS: usize> MaskedSoftmax<X, M, AXIS> {
    super::no_weights!();
}

impl<X: Tensor, M: Tensor<Scalar = X::Scalar>, const AXIS: usize> MaskedSoftmax<X, M, AXIS> {
    /// Whether element `i` of `X` is kept by `mask` (broadcast to `X`).
    #[inline(always)]
    fn keeps(mask: &[X::Scalar], i: usize) -> bool {
        let (xs, ms) = (X::SHAPE, M::SHAPE);
        const { assert!(M::SHAPE.len() <= X::SHAPE.len(), "MaskedSoftmax: the mask has more axes than the input") };
        let (mut rest, mut at, mut stride) = (i, 0, 1);
        for k in (0..ms.len()).rev() {
            let n = xs[xs.len() - ms.len() + k].max(1);
            if ms[k] != 1 {
                at += rest % n * stride;
            }
            (rest, stride) = (rest / n, stride * ms[k]);
        }
        mask[at] > X::Scalar::of(0.5)
    }
}

impl<X: Tensor, M: Tensor<Scalar = X::Scalar>, const AXIS: usize> Layer for MaskedSoftmax<X, M, AXIS> {
    type Scalar = X::Scalar;
    type Input = (X, M);
    type Output = X;
    const CLASS: &'static str = "Softmax";
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, (x, m): &(X, M)) -> X {
        let (mut v, m) = (*x, m.as_slice());
        let barred = X::Scalar::of(-1.0e9);
        for (i, v) in v.as_mut_slice().iter_mut().enumerate() {
            if !Self::keeps(m, i) {
                *v = barred;
            }
        }
        let mut y = Softmax::<X, AXIS>::ZEROS.forward(&v);
        // A run masked whole would be uniform: Keras zeroes every masked output.
        for (i, y) in y.as_mut_slice().iter_mut().enumerate() {
            if !Self::keeps(m, i) {
                *y = X::Scalar::ZERO;
            }
        }
        y
    }
}

/// Keeps nothing: the softmax's gradient over the kept values (the output is 0, and the
/// softmax's own output underflows to 0, at the masked ones), which pass it on; the masked
/// inputs and the mask get none.
impl<X: Tensor, M: Tensor<Scalar = X::Scalar>, const AXIS: usize> Train for MaskedSoftmax<X, M, AXIS> {
    type Kept = ();
    const KEPT: () = ();

    fn backward(
        &self,
        level: Level,
        xs: &[(X, M)],
        ys: &[X],
        _kept: &[()],
        dys: &mut [X],
        dxs: Option<&mut [(X, M)]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        for (((x, y), dy), dx) in xs.iter().zip(ys).zip(dys.iter_mut()).zip(dxs) {
            let m = x.1.as_slice();
            for (i, g) in dy.as_mut_slice().iter_mut().enumerate() {
                if !Self::keeps(m, i) {
                    *g = X::Scalar::ZERO;
                }
            }
            let mut dv = X::ZEROS;
            let softmax = Softmax::<X, AXIS>::ZEROS;
            softmax.backward(
                level,
                core::slice::from_ref(&x.0),
                core::slice::from_ref(y),
                &[()],
                core::slice::from_mut(dy),
                Some(core::slice::from_mut(&mut dv)),
                None,
            );
            for (i, (d, g)) in dx.0.as_mut_slice().iter_mut().zip(dv.as_slice()).enumerate() {
                if Self::keeps(m, i) {
                    *d += *g;
                }
            }
        }
    }
}

// SAFETY: zero-sized.
unsafe impl<X, M, const AXIS: usize> Zeroable for MaskedSoftmax<X, M, AXIS> {}

/// Keras's `PReLU`: `x` where `x >= 0`, else `alpha · x`, with `alpha` a weight of the input's
/// shape in which Keras's `shared_axes` have size 1. `AH`, `AW`, `AC` are its sizes over the
/// (height, width, channels) of an image, the (steps, channels) of a sequence (`AH = 1`) or the
/// features of a vector (`AH = AW = 1`); each is the input's size there, or 1 where shared.
///
/// ```
/// use nn_core::layers::PReLU;
/// use nn_core::{Layer, nalgebra::Vector2};
/// let mut prelu = PReLU::<Vector2<f32>, 1, 1, 2>::ZEROS;
/// prelu.alpha = [[[0.5, 0.25]]];
/// assert_eq!(prelu.forward(&Vector2::new(-2.0, -2.0)), Vector2::new(-1.0, -0.5));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PReLU<X: Tensor, const AH: usize, const AW: usize, const AC: usize, const SHARED: usize = 0> {
    /// The slopes for negative inputs, Keras's `alpha` (zeros at first, as Keras's).
    pub alpha: [[[X::Scalar; AC]; AW]; AH],
    _shapes: PhantomData<fn(X) -> X>,
}

impl<X: Tensor, const AH: usize, const AW: usize, const AC: usize, const SHARED: usize>
    PReLU<X, AH, AW, AC, SHARED>
{
    /// `alpha` zero, as Keras initializes it.
    pub const ZEROS: Self = PReLU { alpha: [[[X::Scalar::ZERO; AC]; AW]; AH], _shapes: PhantomData };
    /// Keras's shape of `alpha`: the input's rank, shared axes 1.
    ///
    /// Over ranks 4 and 5 the leading axes stack into `AH` as [`grid`] stacks them, and
    /// `SHARED` names the shared axes (a mask, bit 0 the last axis; see `layers/axes.rs`).
    const SHAPE: &'static [usize] = match X::SHAPE.len() {
        1 => &[AC],
        2 => &[AW, AC],
        3 => &[AH, AW, AC],
        rank => Self::ALPHA_DIMS.split_at(if rank < 5 { rank } else { 5 }).0,
    };
    /// `alpha`'s shape over ranks 4 and 5: the input's with its shared axes 1.
    const ALPHA_DIMS: &'static [usize; 5] = &{
        let (mut dims, mut axis, rank) = ([0; 5], 0, X::SHAPE.len());
        while axis < rank && axis < 5 {
            dims[axis] = if SHARED >> (rank - 1 - axis) & 1 == 1 { 1 } else { X::SHAPE[axis] };
            axis += 1;
        }
        dims
    };

    /// Calls `f(value, at)` for every value of a tensor of the input's shape, with `at` the
    /// index of its `alpha` (shared axes at 0).
    #[inline(always)]
    fn each<V>(values: &mut [V], mut f: impl FnMut(&mut V, [usize; 3])) {
        let [_, w, c] = grid(X::SHAPE);
        const {
            let [h, w, c] = grid(X::SHAPE);
            assert!(
                (AH == h || AH == 1 || X::SHAPE.len() > 3) && (AW == w || AW == 1) && (AC == c || AC == 1),
                "PReLU: alpha's shape"
            );
        };
        if X::SHAPE.len() > 3 {
            // Any sharing of the leading axes: alpha's index over the axes it keeps.
            let rank = X::SHAPE.len();
            let kept = !SHARED & ((1 << rank) - 1);
            for (p, v) in values.iter_mut().enumerate() {
                let a = super::axes::index(X::SHAPE, kept, p);
                f(v, [a / (AW * AC), a / AC % AW, a % AC]);
            }
            return;
        }
        for (p, pixel) in values.chunks_exact_mut(c).enumerate() {
            let (i, j) = (if AH == 1 { 0 } else { p / w }, if AW == 1 { 0 } else { p % w });
            for (k, v) in pixel.iter_mut().enumerate() {
                f(v, [i, j, if AC == 1 { 0 } else { k }]);
            }
        }
    }

    /// Reads `alpha` from raw weight bytes.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        bytes::read(bytes, at, self.alpha.as_flattened_mut().as_flattened_mut())
    }
}

impl<X: Tensor, const AH: usize, const AW: usize, const AC: usize, const SHARED: usize> Layer
    for PReLU<X, AH, AW, AC, SHARED>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "PReLU";
    const PARAMS: usize = AH * AW * AC;

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        let mut y = *x;
        let zero = X::Scalar::ZERO;
        Self::each(y.as_mut_slice(), |v, [i, j, k]| {
            let alpha = self.alpha[i][j][k];
            // Keras: relu(x) - alpha · relu(-x).
            let (pos, neg) = (if *v > zero { *v } else { zero }, if *v < zero { -*v } else { zero });
            *v = pos + -alpha * neg;
        });
        y
    }

    fn init_keras(&mut self, _rng: &mut Rng) {
        *self = Self::ZEROS;
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, X::Scalar>)) {
        f(WeightRef { name: "alpha", shape: Self::SHAPE, data: self.alpha.as_flattened().as_flattened() });
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, X::Scalar>)) {
        let data = self.alpha.as_flattened_mut().as_flattened_mut();
        f(WeightMut { name: "alpha", shape: Self::SHAPE, data });
    }
}

/// Keeps nothing: the input says which side of zero each value was on. The gradient follows
/// JAX through Keras's `relu(x) - alpha · relu(-x)`: `dy` for `x > 0`, `alpha · dy` for `x < 0`
/// and 0 at `x = 0` (JAX's `relu` has derivative 0 there, on both terms); `alpha` gathers
/// `x · dy` over the negative values it scales (summed over the shared axes and the batch).
impl<X: Tensor, const AH: usize, const AW: usize, const AC: usize, const SHARED: usize> Train
    for PReLU<X, AH, AW, AC, SHARED>
{
    type Kept = ();
    const KEPT: () = ();

    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        _ys: &[X],
        _kept: &[()],
        dys: &mut [X],
        mut dxs: Option<&mut [X]>,
        mut grads: Option<&mut Self>,
    ) {
        let zero = X::Scalar::ZERO;
        for (s, (x, dy)) in xs.iter().zip(dys.iter_mut()).enumerate() {
            let x = x.as_slice();
            // `dy` becomes `dx` in place, one value at a time, `alpha`'s share taken first.
            let mut at = 0;
            Self::each(dy.as_mut_slice(), |g, [i, j, k]| {
                let v = x[at];
                at += 1;
                *g = if v > zero {
                    *g
                } else if v < zero {
                    if let Some(grads) = grads.as_deref_mut() {
                        grads.alpha[i][j][k] += v * *g;
                    }
                    self.alpha[i][j][k] * *g
                } else {
                    zero
                };
            });
            if let Some(dx) = dxs.as_deref_mut().and_then(|dxs| dxs.get_mut(s)) {
                for (d, g) in dx.as_mut_slice().iter_mut().zip(dy.as_slice()) {
                    *d += *g;
                }
            }
        }
    }
}

// SAFETY: a float array.
unsafe impl<X: Tensor, const AH: usize, const AW: usize, const AC: usize, const SHARED: usize> Zeroable
    for PReLU<X, AH, AW, AC, SHARED>
{
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activations::Elu;
    use crate::activations::Softmax as SoftmaxFn;
    use crate::tensor::Tensor;
    use nalgebra::Vector3;

    #[test]
    fn applies_the_activation_with_its_options() {
        let elu = Activation::<f64, 3, Elu>::new(Elu { alpha: 2.0 });
        let y = elu.forward(&Vector3::new(-1.0, 0.0, 1.0));
        assert!((y[0] - 2.0 * (libm::exp(-1.0) - 1.0)).abs() < 1e-15);
        assert_eq!((y[1], y[2]), (0.0, 1.0));
    }

    #[test]
    fn softmax_layer_sums_to_one_and_has_no_params() {
        let s = Activation::<f32, 3, SoftmaxFn>::ZEROS;
        let y = s.forward(&Vector3::new(1.0, 2.0, 3.0));
        assert!((y.sum() - 1.0).abs() < 1e-6);
        assert!(y[2] > y[1] && y[1] > y[0]);
        assert_eq!(<Activation<f32, 3, SoftmaxFn> as Layer>::PARAMS, 0);
    }

    #[test]
    fn activation_layers_carry_their_keras_class() {
        use crate::activations::Relu;
        assert_eq!(<Activation<f32, 3, Relu> as Layer>::CLASS, "Activation");
        assert_eq!(<ReLU<f32, 3> as Layer>::CLASS, "ReLU");
        assert_eq!(<LeakyReLU<f32, 3> as Layer>::CLASS, "LeakyReLU");
        assert_eq!(<ELU<f32, 3> as Layer>::CLASS, "ELU");
    }

    #[test]
    fn prelu_shares_alpha_over_shared_axes() {
        use crate::tensor::Tensor3;
        // A 1×2 image of 2 channels, alpha shared over height and width: one per channel.
        let mut p = PReLU::<Tensor3<f64, 1, 2, 2>, 1, 1, 2>::ZEROS;
        p.alpha = [[[0.5, 2.0]]];
        let y = p.forward(&Tensor3::from_slice(&[-1.0, -1.0, 3.0, -2.0]));
        assert_eq!(y.as_slice(), &[-0.5, -2.0, 3.0, -4.0]);
        assert_eq!(<PReLU<Tensor3<f64, 1, 2, 2>, 1, 1, 2> as Layer>::PARAMS, 2);
    }

    #[test]
    fn softmax_over_the_middle_axis_of_an_image() {
        use crate::tensor::Tensor3;
        // 1×2×2: over the width (axis 1), each channel of the row sums to one.
        let y =
            Softmax::<Tensor3<f64, 1, 2, 2>, 1>::ZEROS.forward(&Tensor3::from_slice(&[0.0, 1.0, 0.0, 1.0]));
        assert_eq!(y.as_slice(), &[0.5; 4]);
    }

    #[test]
    fn prelu_gradient_is_zero_at_zero_as_jax_gives() {
        // Keras 3 on JAX, alpha = 0.5, x = [0, 1, -1], dy = 1: dx = [0, 1, 0.5] and
        // d alpha = [0, 0, -1].
        let mut p = PReLU::<Vector3<f64>, 1, 1, 3>::ZEROS;
        p.alpha = [[[0.5; 3]]];
        let mut grads = PReLU::ZEROS;
        grads.alpha = [[[10.0; 3]]];
        let x = Vector3::new(0.0, 1.0, -1.0);
        let (y, dx) =
            super::super::backprop(&mut p, x, Vector3::repeat(1.0), Vector3::repeat(100.0), &mut grads);
        assert_eq!(y.as_slice(), &[0.0, 1.0, -0.5]);
        assert_eq!(dx.as_slice(), &[100.0, 101.0, 100.5]);
        assert_eq!(grads.alpha, [[[10.0, 10.0, 9.0]]]);
    }

    #[test]
    fn prelu_alpha_gathers_its_gradient_over_the_shared_axes() {
        use crate::tensor::Tensor3;
        // 1×2 image of 2 channels, alpha shared over height and width: one per channel.
        let mut p = PReLU::<Tensor3<f64, 1, 2, 2>, 1, 1, 2>::ZEROS;
        p.alpha = [[[0.5, 2.0]]];
        let mut grads = PReLU::ZEROS;
        let x = Tensor3::from_slice(&[-1.0, -1.0, -3.0, 2.0]);
        let dy = Tensor3::from_slice(&[1.0, 10.0, 100.0, 1000.0]);
        let (_, dx) = super::super::backprop(&mut p, x, dy, Tensor3::ZEROS, &mut grads);
        assert_eq!(dx.as_slice(), &[0.5, 20.0, 50.0, 1000.0]);
        // Channel 0: -1·1 - 3·100; channel 1: -1·10 (the positive value adds nothing).
        assert_eq!(grads.alpha, [[[-301.0, -10.0]]]);
    }

    #[test]
    fn softmax_gradient_runs_along_its_axis() {
        use crate::tensor::Tensor2;
        // Over the steps (axis 0) of 2 steps × 2 channels, all outputs 1/2: channel 0 gets
        // y (dy - Σ y dy) = 0.5 · ([1, 0] - 0.5), channel 1 nothing.
        let x = Tensor2::<f64, 2, 2>::ZEROS;
        let dy = Tensor2::from_rows([[1.0, 0.0], [0.0, 0.0]]);
        let dx = super::super::input_grad(Softmax::<Tensor2<f64, 2, 2>, 0>::ZEROS, x, dy);
        assert_eq!(dx.as_slice(), &[0.25, 0.0, -0.25, 0.0]);
        // Over the last axis, the same along each step.
        let dx = super::super::input_grad(Softmax::<Tensor2<f64, 2, 2>, 1>::ZEROS, x, dy);
        assert_eq!(dx.as_slice(), &[0.25, -0.25, 0.0, 0.0]);
    }

    #[test]
    fn softmax_on_a_sequence_acts_on_each_step() {
        use crate::tensor::{Steps, Tensor2};
        let s = Activation::<f64, 2, SoftmaxFn, Steps<2>>::ZEROS;
        let y = s.forward(&Tensor2::from_rows([[0.0, 0.0], [1.0, 1.0]]));
        assert_eq!(y.as_slice(), &[0.5; 4]);
    }
}
