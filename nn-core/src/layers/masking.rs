//! Keras's masks: which steps of a sequence are padding. `Masking` and `Embedding` with
//! `mask_zero` make one ([`of_steps`], [`of_ids`]); the layers that read it ([`Masked`]: the
//! recurrent layers skip masked steps, `GlobalAveragePooling1D` leaves them out of its mean)
//! take it beside their input. A mask is one `bool` per step, `true` where the step is kept.

use crate::kernels::cpu::Level;
use crate::layer::{Layer, Zeroable};
use crate::tensor::{Ids, Tensor, Tensor2};
use crate::{Float, WeightMut, WeightRef};

/// A layer that reads the mask of its input's steps, as Keras's layers whose `call` takes
/// `mask` do.
pub trait Masked: Layer {
    /// The pass over `x` with `mask[t]` false for each step `t` that Keras masks; `mask` has one
    /// value per step of `x`.
    fn forward_masked(&self, level: Level, x: &Self::Input, mask: &[bool]) -> Self::Output;

    /// As [`Masked::forward_masked`], a returned sequence with zeros at the masked steps: what
    /// `Bidirectional` asks of its halves (Keras's `zero_output_for_mask`).
    #[inline(always)]
    fn forward_masked_zeroed(&self, level: Level, x: &Self::Input, mask: &[bool]) -> Self::Output {
        self.forward_masked(level, x, mask)
    }
}

/// A layer of several inputs that reads each one's mask: the attention layers (Keras's
/// `query_mask`, `value_mask` and `key_mask`, or `Attention`'s `mask=[query, value]`).
pub trait MaskedInputs: Layer {
    /// The pass over `x` with each input's mask in the inputs' order, `None` for an input
    /// without one (missing ones count as `None`).
    fn forward_masks(&self, level: Level, x: &Self::Input, masks: &[Option<&[bool]>]) -> Self::Output;
}

/// Keras's mask of an `Embedding` with `mask_zero`: every id but 0.
#[inline]
pub fn of_ids<const N: usize, const V: usize>(ids: &Ids<N, V>) -> [bool; N] {
    ids.0.map(|id| id != 0)
}

/// The steps any of `masks` keeps: Keras's mask of a merge of values masked by different layers
/// (`LogicalOr` of theirs).
#[inline]
pub fn union<const S: usize>(masks: &[&[bool; S]]) -> [bool; S] {
    core::array::from_fn(|t| masks.iter().any(|m| m[t]))
}

/// `Masking`'s mask: the steps with any feature other than `value` (Keras's
/// `ops.any(ops.not_equal(inputs, mask_value), axis=-1)`).
#[inline]
pub fn of_steps<T: Float, const S: usize, const C: usize>(x: &Tensor2<T, S, C>, value: T) -> [bool; S] {
    let mut mask = [false; S];
    for (m, step) in mask.iter_mut().zip(x.as_slice().chunks_exact(C.max(1))) {
        *m = step.iter().any(|v| *v != value);
    }
    mask
}

/// Keras's `Masking`: each step whose features all equal `mask_value` becomes zeros (Keras
/// multiplies it by 0), and the layers after it that read masks skip it.
///
/// ```
/// use nn_core::layers::Masking;
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// let layer = Masking::<f32, 3, 2>::new(-1.0);
/// let y = layer.forward(&Tensor2::from_rows([[1.0, -1.0], [-1.0, -1.0], [0.0, 2.0]]));
/// assert_eq!(y.as_slice(), &[1.0, -1.0, 0.0, 0.0, 0.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Masking<T, const S: usize, const C: usize> {
    /// Keras's `mask_value`, compared in the element type as Keras compares it in the input's.
    pub mask_value: f64,
    _element: core::marker::PhantomData<T>,
}

impl<T: Float, const S: usize, const C: usize> Masking<T, S, C> {
    /// Keras's default `mask_value`, 0.
    pub const ZEROS: Self = Masking::new(0.0);

    /// The layer masking the steps equal to `mask_value`.
    pub const fn new(mask_value: f64) -> Self {
        Masking { mask_value, _element: core::marker::PhantomData }
    }

    /// The mask of `x`'s steps, `false` where every feature is `mask_value`.
    #[inline(always)]
    pub fn mask(&self, x: &Tensor2<T, S, C>) -> [bool; S] {
        of_steps(x, T::of(self.mask_value))
    }

    /// Reads nothing: `mask_value` is an option, set with the model's others.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, _bytes: &[u8], at: usize) -> usize {
        at
    }
}

impl<T: Float, const S: usize, const C: usize> Layer for Masking<T, S, C> {
    type Scalar = T;
    type Input = Tensor2<T, S, C>;
    type Output = Tensor2<T, S, C>;
    const CLASS: &'static str = "Masking";
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &Tensor2<T, S, C>) -> Tensor2<T, S, C> {
        let mut y = *x;
        let mask = self.mask(x);
        for (step, keep) in y.as_mut_slice().chunks_exact_mut(C.max(1)).zip(mask) {
            if !keep {
                step.iter_mut().for_each(|v| *v *= T::ZERO);
            }
        }
        y
    }

    fn visit_weights(&self, _f: &mut dyn FnMut(WeightRef<'_, T>)) {}

    fn visit_weights_mut(&mut self, _f: &mut dyn FnMut(WeightMut<'_, T>)) {}
}

// SAFETY: one float and a marker.
unsafe impl<T: Float, const S: usize, const C: usize> Zeroable for Masking<T, S, C> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Average, Bidirectional, Concat, GlobalPool, GruCell, Last, LstmCell, Rnn, Sequence};
    use nalgebra::SVector;

    type Lstm<O, const BACK: bool> = Rnn<f64, LstmCell, 4, 2, 3, 12, O, BACK>;

    /// An LSTM with weights from a counter, so every gate is used.
    fn lstm<O: crate::layers::Returns, const BACK: bool>() -> Lstm<O, BACK> {
        let mut layer = Lstm::<O, BACK>::ZEROS;
        let mut k = 0.0;
        layer.visit_weights_mut(&mut |w| {
            for v in w.data.iter_mut() {
                k += 1.0;
                *v = ((k * 0.37_f64).sin()) * 0.5;
            }
        });
        layer
    }

    const X: [[f64; 2]; 4] = [[0.5, -1.0], [9.0, 9.0], [0.25, 0.75], [-0.5, 0.125]];

    #[test]
    fn a_recurrent_layer_skips_masked_steps_as_if_they_were_not_there() {
        let level = crate::kernels::cpu::level();
        let mask = [true, false, true, true];
        let x = Tensor2::<f64, 4, 2>::from_rows(X);
        let kept = Tensor2::<f64, 3, 2>::from_rows([X[0], X[2], X[3]]);
        // The last state is the state over the kept steps alone.
        let masked = lstm::<Last, false>().forward_masked(level, &x, &mask);
        let mut short = Rnn::<f64, LstmCell, 3, 2, 3, 12, Last>::ZEROS;
        let mut weights = alloc::vec::Vec::new();
        lstm::<Last, false>().visit_weights(&mut |w| weights.extend_from_slice(w.data));
        let mut at = 0;
        short.visit_weights_mut(&mut |w| {
            w.data.copy_from_slice(&weights[at..at + w.data.len()]);
            at += w.data.len();
        });
        assert_eq!(masked, short.forward(&kept));
        // A masked step repeats the state (Keras's output `h` at `t - 1`), or is zeros.
        let seq = lstm::<Sequence, false>().forward_masked(level, &x, &mask);
        let rows: alloc::vec::Vec<&[f64]> = seq.as_slice().chunks(3).collect();
        assert_eq!(rows[1], rows[0]);
        assert_eq!(rows[3], masked.as_slice());
        let zeroed = lstm::<Sequence, false>().forward_masked_zeroed(level, &x, &mask);
        assert_eq!(&zeroed.as_slice()[3..6], &[0.0; 3]);
        assert_eq!(&zeroed.as_slice()[..3], rows[0]);
        // Backwards, the mask follows its steps.
        let back = lstm::<Last, true>().forward_masked(level, &x, &[true, true, false, true]);
        let flipped = Tensor2::<f64, 3, 2>::from_rows([X[0], X[1], X[3]]);
        let mut short_back = Rnn::<f64, LstmCell, 3, 2, 3, 12, Last, true>::ZEROS;
        let mut at = 0;
        short_back.visit_weights_mut(&mut |w| {
            w.data.copy_from_slice(&weights[at..at + w.data.len()]);
            at += w.data.len();
        });
        assert_eq!(back, short_back.forward(&flipped));
        // Every step kept is the plain pass.
        assert_eq!(
            lstm::<Sequence, true>().forward_masked(level, &x, &[true; 4]),
            lstm::<Sequence, true>().forward(&x)
        );
    }

    #[test]
    fn bidirectional_zeroes_masked_steps_of_a_returned_sequence() {
        type Gru<const B: bool> = Rnn<f64, GruCell, 4, 2, 2, 6, Sequence, B>;
        let mut layer =
            Bidirectional::<Gru<false>, Gru<true>, Concat, Tensor2<f64, 4, 4>>::new(Gru::ZEROS, Gru::ZEROS);
        layer.forward.bias[0] = [0.5; 6];
        layer.backward.bias[0] = [-0.5; 6];
        let x = Tensor2::<f64, 4, 2>::from_rows(X);
        let y = layer.forward_masked(crate::kernels::cpu::level(), &x, &[true, false, true, false]);
        assert_eq!(&y.as_slice()[4..8], &[0.0; 4]);
        assert_eq!(&y.as_slice()[12..16], &[0.0; 4]);
        assert!(y.as_slice()[..4].iter().all(|v| *v != 0.0));
    }

    #[test]
    fn the_masked_mean_leaves_masked_steps_out() {
        let pool = GlobalPool::<Tensor2<f64, 4, 2>, SVector<f64, 2>, Average>::ZEROS;
        let x = Tensor2::<f64, 4, 2>::from_rows(X);
        let level = crate::kernels::cpu::level();
        let y = pool.forward_masked(level, &x, &[true, false, true, false]);
        assert_eq!(y.as_slice(), &[0.375, -0.125]);
        assert!(pool.forward_masked(level, &x, &[false; 4])[0].is_nan());
    }

    #[test]
    fn masks_are_the_steps_keras_keeps() {
        assert_eq!(of_ids(&Ids::<5, 4>([3, 0, 1, 0, 2])), [true, false, true, false, true]);
        let x = Tensor2::<f32, 3, 2>::from_rows([[0.0, 0.0], [0.0, 0.5], [-0.0, 0.0]]);
        assert_eq!(of_steps(&x, 0.0), [false, true, false]);
        assert_eq!(of_steps(&x, 0.5), [true, true, true]);
    }

    #[test]
    fn masking_zeroes_the_masked_steps_as_keras_multiplies_them() {
        let layer = Masking::<f32, 2, 2>::new(2.0);
        let y = layer.forward(&Tensor2::from_rows([[2.0, 2.0], [2.0, 1.0]]));
        assert_eq!(y.as_slice(), &[0.0, 0.0, 2.0, 1.0]);
        // NaN never equals the mask value: the step is kept.
        let layer = Masking::<f32, 1, 1>::new(f64::NAN);
        assert!(layer.forward(&Tensor2::from_rows([[f32::NAN]])).as_slice()[0].is_nan());
    }
}
