//! The layers that wrap another: `Bidirectional` runs a recurrent layer both ways over a
//! sequence, `TimeDistributed` runs any layer on each step (Keras 3's
//! `keras/src/layers/rnn/bidirectional.py` and `time_distributed.py`).
//!
//! A wrapper's weights are its inner layers', under their own names: Keras's
//! `bidirectional/forward_gru/gru_cell/kernel`, `time_distributed/dense/kernel`. The macros
//! visit and read each inner layer as a sublayer of the model's field, so nothing here names
//! them.

use crate::Float;
use crate::init::{Initializers, Rng};
use crate::kernels::cpu::Level;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Tensor, cast_slice, cast_slice_mut};
use core::marker::PhantomData;

/// How `Bidirectional` joins its two halves, Keras's `merge_mode`.
pub trait MergeMode: Copy + core::fmt::Debug + PartialEq + 'static {
    /// Keras's name (`"concat"`).
    const NAME: &'static str;
    /// Output values per `units` values of each half: 2 for `concat`, else 1.
    const WIDTH: usize;
    /// Joins one step of the forward half, `a`, and of the backward half, `b`, into `y`
    /// (`WIDTH · a.len()` values).
    fn merge<T: Float>(a: &[T], b: &[T], y: &mut [T]);
}

/// `merge_mode="concat"` (Keras's default): the forward units, then the backward ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Concat;
/// `merge_mode="sum"`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sum;
/// `merge_mode="mul"`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mul;
/// `merge_mode="ave"`: the mean of the halves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ave;

impl MergeMode for Concat {
    const NAME: &'static str = "concat";
    const WIDTH: usize = 2;
    #[inline(always)]
    fn merge<T: Float>(a: &[T], b: &[T], y: &mut [T]) {
        let (ya, yb) = y.split_at_mut(a.len());
        ya.copy_from_slice(a);
        yb.copy_from_slice(b);
    }
}

/// The modes that combine the halves value by value.
macro_rules! elementwise_merge {
    ($($mode:ident $name:literal |$a:ident, $b:ident| $e:expr;)*) => {$(
        impl MergeMode for $mode {
            const NAME: &'static str = $name;
            const WIDTH: usize = 1;
            #[inline(always)]
            fn merge<T: Float>(a: &[T], b: &[T], y: &mut [T]) {
                for ((y, $a), $b) in y.iter_mut().zip(a).zip(b) {
                    let ($a, $b) = (*$a, *$b);
                    *y = $e;
                }
            }
        }
    )*};
}

elementwise_merge! {
    Sum "sum" |a, b| a + b;
    Mul "mul" |a, b| a * b;
    Ave "ave" |a, b| (a + b) * T::of(0.5);
}

/// Keras's `Bidirectional`: a recurrent layer `F` over the sequence and its mirror `B`, the same
/// layer with `go_backwards` flipped and weights of its own, joined by `M` into `Y`.
///
/// Keras flips the backward half's returned sequence back into time order before merging, so
/// step `t` of the output joins both halves' states at input step `t`; a half that returns only
/// its last state is merged as it is.
///
/// ```
/// use nn_core::layers::{Bidirectional, Concat, GruCell, Last, Rnn};
/// use nn_core::tensor::Tensor2;
/// use nn_core::Layer;
/// use nalgebra::SVector;
/// type Gru<const BACK: bool> = Rnn<f32, GruCell, 3, 1, 2, 6, Last, BACK>;
/// // Zero weights: both halves end at zero, and `concat` gives four zeros.
/// let layer = Bidirectional::<Gru<false>, Gru<true>, Concat, SVector<f32, 4>>::new(Gru::ZEROS, Gru::ZEROS);
/// let y = layer.forward(&Tensor2::from_rows([[1.0], [2.0], [3.0]]));
/// assert_eq!(y.as_slice(), &[0.0; 4]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Bidirectional<F, B, M, Y> {
    /// The half that reads the sequence as the wrapped layer does (Keras's `forward_layer`).
    pub forward: F,
    /// The half that reads it the other way (Keras's `backward_layer`).
    pub backward: B,
    _merge: PhantomData<(M, Y)>,
}

impl<F, B, M, Y> Bidirectional<F, B, M, Y> {
    /// The layer from its two halves.
    pub const fn new(forward: F, backward: B) -> Self {
        Bidirectional { forward, backward, _merge: PhantomData }
    }
}

impl<F, B, M, Y> Bidirectional<F, B, M, Y>
where
    F: Layer,
    F::Output: Tensor<Scalar = F::Scalar>,
    M: MergeMode,
    Y: Tensor<Scalar = F::Scalar>,
{
    /// The halves' outputs merged, the backward half's steps flipped back.
    #[inline(always)]
    fn join(a: &F::Output, b: &F::Output) -> Y {
        let units = <F::Output as Tensor>::LAST;
        let steps = <F::Output as Tensor>::LEN / units;
        const { assert!(Y::LEN == M::WIDTH * <F::Output as Tensor>::LEN, "Bidirectional: Y does not fit") };
        let (a, b) = (a.as_slice(), b.as_slice());
        let mut y = Y::ZEROS;
        for (t, out) in y.as_mut_slice().chunks_exact_mut(M::WIDTH * units).enumerate() {
            let back = steps - 1 - t;
            M::merge(&a[t * units..(t + 1) * units], &b[back * units..(back + 1) * units], out);
        }
        y
    }
}

/// Both halves skip the masked steps; a returned sequence has zeros there (Keras's
/// `Bidirectional` sets its halves' `zero_output_for_mask` to `return_sequences`).
impl<F, B, M, Y> super::Masked for Bidirectional<F, B, M, Y>
where
    F: super::Masked,
    F::Output: Tensor<Scalar = F::Scalar>,
    B: super::Masked<Scalar = F::Scalar, Input = F::Input, Output = F::Output>,
    M: MergeMode,
    Y: Tensor<Scalar = F::Scalar>,
{
    #[inline(always)]
    fn forward_masked(&self, level: Level, x: &F::Input, mask: &[bool]) -> Y {
        if <F::Output as Tensor>::SHAPE.len() == 2 {
            let a = self.forward.forward_masked_zeroed(level, x, mask);
            Self::join(&a, &self.backward.forward_masked_zeroed(level, x, mask))
        } else {
            Self::join(
                &self.forward.forward_masked(level, x, mask),
                &self.backward.forward_masked(level, x, mask),
            )
        }
    }
}

impl<F, B, M, Y> Layer for Bidirectional<F, B, M, Y>
where
    F: Layer,
    F::Output: Tensor<Scalar = F::Scalar>,
    B: Layer<Scalar = F::Scalar, Input = F::Input, Output = F::Output>,
    M: MergeMode,
    Y: Tensor<Scalar = F::Scalar>,
{
    type Scalar = F::Scalar;
    type Input = F::Input;
    type Output = Y;
    const CLASS: &'static str = "Bidirectional";
    const PARAMS: usize = F::PARAMS + B::PARAMS;
    const NON_TRAINABLE: usize = F::NON_TRAINABLE + B::NON_TRAINABLE;

    #[inline(always)]
    fn forward(&self, x: &F::Input) -> Y {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    #[inline(always)]
    fn forward_at(&self, level: Level, x: &F::Input) -> Y {
        Self::join(&self.forward.forward_at(level, x), &self.backward.forward_at(level, x))
    }

    super::two_layers_weights!(forward, backward, F::Scalar);
}

// SAFETY: two `Zeroable` layers and markers.
unsafe impl<F: Zeroable, B: Zeroable, M, Y> Zeroable for Bidirectional<F, B, M, Y> {}

/// Keras's `TimeDistributed`: the layer `L` on each step of `X`, a sequence of `L`'s inputs,
/// giving `Y`, the sequence of its outputs. The steps run as one batch, so a wrapped `Dense` is
/// one matrix product over every step.
///
/// ```
/// use nn_core::layers::{Dense, TimeDistributed};
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// let dense = Dense::<f32, 2, 1>::from_arrays([[1.0], [10.0]], [0.5]);
/// let layer = TimeDistributed::<_, Tensor2<f32, 2, 2>, Tensor2<f32, 2, 1>>::new(dense);
/// let y = layer.forward(&Tensor2::from_rows([[1.0, 2.0], [3.0, 4.0]]));
/// assert_eq!(y.as_slice(), &[21.5, 43.5]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TimeDistributed<L, X, Y> {
    /// The layer run on each step.
    pub layer: L,
    _shapes: PhantomData<(X, Y)>,
}

impl<L, X, Y> TimeDistributed<L, X, Y> {
    /// The wrapper around `layer`.
    pub const fn new(layer: L) -> Self {
        TimeDistributed { layer, _shapes: PhantomData }
    }
}

impl<L, X, Y> Layer for TimeDistributed<L, X, Y>
where
    L: Layer,
    L::Input: Tensor<Scalar = L::Scalar>,
    L::Output: Tensor<Scalar = L::Scalar>,
    X: Tensor<Scalar = L::Scalar>,
    Y: Tensor<Scalar = L::Scalar>,
{
    type Scalar = L::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = "TimeDistributed";
    const PARAMS: usize = L::PARAMS;
    const NON_TRAINABLE: usize = L::NON_TRAINABLE;

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    #[inline(always)]
    fn forward_at(&self, level: Level, x: &X) -> Y {
        const {
            let (i, o) = (<L::Input as Tensor>::LEN, <L::Output as Tensor>::LEN);
            assert!(
                X::LEN % i == 0 && Y::LEN % o == 0 && X::LEN / i == Y::LEN / o,
                "TimeDistributed: X and Y do not fit"
            );
        };
        let mut y = Y::ZEROS;
        let steps: &[L::Input] = cast_slice(core::slice::from_ref(x));
        let outs: &mut [L::Output] = cast_slice_mut(core::slice::from_mut(&mut y));
        self.layer.forward_batch(level, steps, outs);
        y
    }

    fn init_keras(&mut self, rng: &mut Rng) {
        self.layer.init_keras(rng);
    }

    fn init_with(&mut self, rng: &mut Rng, init: &Initializers) {
        self.layer.init_with(rng, init);
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, L::Scalar>)) {
        self.layer.visit_weights(f);
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, L::Scalar>)) {
        self.layer.visit_weights_mut(f);
    }
}

// SAFETY: a `Zeroable` layer and markers.
unsafe impl<L: Zeroable, X, Y> Zeroable for TimeDistributed<L, X, Y> {}

/// A step of a sequence is one call of the wrapped layer, which keeps nothing between steps.
impl<L, X, Y> crate::stream::Stream<()> for TimeDistributed<L, X, Y>
where
    Self: Layer,
    L: Layer,
{
    type StepIn = L::Input;
    type StepOut = L::Output;

    #[inline(always)]
    fn step(&self, level: Level, _: &mut (), x: &L::Input) -> L::Output {
        self.layer.forward_at(level, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{GruCell, Last, Rnn, Sequence};
    use crate::tensor::Tensor2;
    use nalgebra::SVector;

    /// Stand-ins for the halves, to test the flip and the merge alone: row `k` holds input step
    /// `t` (and ten times it for the backward half), where the backward half reads `t = 2 - k`.
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Steps<const BACK: bool>;

    impl<const BACK: bool> Layer for Steps<BACK> {
        type Scalar = f32;
        type Input = Tensor2<f32, 3, 1>;
        type Output = Tensor2<f32, 3, 2>;
        const CLASS: &'static str = "Steps";
        const PARAMS: usize = 0;
        fn forward(&self, x: &Self::Input) -> Self::Output {
            let mut y = Tensor2::<f32, 3, 2>::ZEROS;
            for k in 0..3 {
                let t = if BACK { 2 - k } else { k };
                let v = x.as_slice()[t];
                y.as_mut_slice()[2 * k..2 * k + 2].copy_from_slice(&[v, if BACK { 10.0 * v } else { v }]);
            }
            y
        }
    }

    #[test]
    fn the_backward_sequence_is_flipped_back_before_merging() {
        let x = Tensor2::<f32, 3, 1>::from_rows([[1.0], [2.0], [3.0]]);
        let concat = Bidirectional::<_, _, Concat, Tensor2<f32, 3, 4>>::new(Steps::<false>, Steps::<true>);
        assert_eq!(
            concat.forward(&x).as_slice(),
            &[1.0, 1.0, 1.0, 10.0, 2.0, 2.0, 2.0, 20.0, 3.0, 3.0, 3.0, 30.0]
        );
        let sum = Bidirectional::<_, _, Sum, Tensor2<f32, 3, 2>>::new(Steps::<false>, Steps::<true>);
        assert_eq!(sum.forward(&x).as_slice(), &[2.0, 11.0, 4.0, 22.0, 6.0, 33.0]);
        let mul = Bidirectional::<_, _, Mul, Tensor2<f32, 3, 2>>::new(Steps::<false>, Steps::<true>);
        assert_eq!(mul.forward(&x).as_slice(), &[1.0, 10.0, 4.0, 40.0, 9.0, 90.0]);
        let ave = Bidirectional::<_, _, Ave, Tensor2<f32, 3, 2>>::new(Steps::<false>, Steps::<true>);
        assert_eq!(ave.forward(&x).as_slice(), &[1.0, 5.5, 2.0, 11.0, 3.0, 16.5]);
    }

    #[test]
    fn halves_are_independent_layers() {
        type Fwd = Rnn<f32, GruCell, 4, 2, 3, 9, Sequence, false>;
        type Bwd = Rnn<f32, GruCell, 4, 2, 3, 9, Sequence, true>;
        let mut layer = Bidirectional::<Fwd, Bwd, Concat, Tensor2<f32, 4, 6>>::new(Fwd::ZEROS, Bwd::ZEROS);
        layer.init_keras(&mut Rng::new(7));
        let x = Tensor2::<f32, 4, 2>::from_slice(&[0.5, -1.0, 0.25, 2.0, -0.5, 1.0, 1.5, 0.0]);
        let (a, b) = (layer.forward.forward(&x), layer.backward.forward(&x));
        let y = layer.forward(&x);
        for t in 0..4 {
            assert_eq!(&y.as_slice()[6 * t..6 * t + 3], &a.as_slice()[3 * t..3 * t + 3]);
            assert_eq!(&y.as_slice()[6 * t + 3..6 * t + 6], &b.as_slice()[3 * (3 - t)..3 * (3 - t) + 3]);
        }
        let mut weights = 0;
        layer.visit_weights(&mut |_| weights += 1);
        assert_eq!(weights, 6);
        assert_eq!(<Bidirectional<Fwd, Bwd, Concat, Tensor2<f32, 4, 6>> as Layer>::PARAMS, 2 * Fwd::PARAMS);
        let last = Bidirectional::<
            Rnn<f32, GruCell, 4, 2, 3, 9, Last, false>,
            Rnn<f32, GruCell, 4, 2, 3, 9, Last, true>,
            Sum,
            SVector<f32, 3>,
        >::new(Rnn::ZEROS, Rnn::ZEROS);
        assert_eq!(last.forward(&x), SVector::<f32, 3>::zeros());
    }

    #[test]
    fn time_distributed_runs_the_layer_on_every_step() {
        use crate::layers::Dense;
        let dense = Dense::<f32, 3, 2>::from_arrays([[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]], [0.5, 0.0]);
        let layer = TimeDistributed::<_, Tensor2<f32, 2, 3>, Tensor2<f32, 2, 2>>::new(dense);
        let x = Tensor2::<f32, 2, 3>::from_rows([[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]]);
        assert_eq!(layer.forward(&x).as_slice(), &[7.5, -1.0, 1.5, -1.0]);
        let mut step = ();
        let y = crate::stream::Stream::step(
            &layer,
            crate::kernels::cpu::level(),
            &mut step,
            &x.step(1).into_owned(),
        );
        assert_eq!(y.as_slice(), &[1.5, -1.0]);
    }
}
