//! `CategoryEncoding` (Keras's `keras.layers.CategoryEncoding`, dense output): token ids in,
//! their one-hot rows, which ids occur (multi-hot) or how often (count) out.

use crate::Float;
use crate::kernels::cpu::Level;
use crate::layer::{Layer, Zeroable};
use crate::tensor::{Ids, Tensor};
use crate::train::{Ctx, Train};
use core::marker::PhantomData;

/// Keras's `output_mode = "one_hot"`, as `CategoryEncoding`'s `MODE`.
pub const ONE_HOT: u8 = 0;
/// Keras's `output_mode = "multi_hot"` (and its old name `"binary"`).
pub const MULTI_HOT: u8 = 1;
/// Keras's `output_mode = "count"`.
pub const COUNT: u8 = 2;

/// Keras's `CategoryEncoding(num_tokens = V, output_mode)` over `N` ids (Keras's input
/// `(batch, N)`), as `encode_categorical_inputs` computes it:
///
/// - [`ONE_HOT`]: `one_hot(ids, V)`, one row of `V` per id, `Y` of shape `(N, V)`; for `N = 1`
///   Keras first drops the last axis, so `Y` is the one row, `(V,)`;
/// - [`MULTI_HOT`]: the max of those rows over the ids, 1 where an id occurs, `(V,)`;
/// - [`COUNT`]: their sum, how often each id occurs, `(V,)`.
///
/// An id at or past `V` adds nothing (JAX's `one_hot` gives it a row of zeros): ids are checked
/// where they enter a model (`Ids::new`, `predict_flat`). No weights; the ids have no gradient.
///
/// ```
/// use nn_core::layers::{CategoryEncoding, COUNT};
/// use nn_core::tensor::{Ids, Tensor};
/// use nn_core::Layer;
/// let count = CategoryEncoding::<f32, 4, 3, nalgebra::SVector<f32, 3>, COUNT>::ZEROS;
/// assert_eq!(count.forward(&Ids([2, 0, 2, 2])).as_slice(), &[1.0, 0.0, 3.0]);
/// ```
pub struct CategoryEncoding<T, const N: usize, const V: usize, Y, const MODE: u8> {
    _shapes: PhantomData<fn(T) -> Y>,
}

impl<T, const N: usize, const V: usize, Y, const MODE: u8> Clone for CategoryEncoding<T, N, V, Y, MODE> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, const N: usize, const V: usize, Y, const MODE: u8> Copy for CategoryEncoding<T, N, V, Y, MODE> {}
impl<T, const N: usize, const V: usize, Y, const MODE: u8> PartialEq for CategoryEncoding<T, N, V, Y, MODE> {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}
impl<T, const N: usize, const V: usize, Y, const MODE: u8> core::fmt::Debug
    for CategoryEncoding<T, N, V, Y, MODE>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "CategoryEncoding<{N}, {V}, {MODE}>")
    }
}

impl<T, const N: usize, const V: usize, Y, const MODE: u8> CategoryEncoding<T, N, V, Y, MODE> {
    super::no_weights!();
}

impl<T: Float, const N: usize, const V: usize, Y: Tensor<Scalar = T>, const MODE: u8> Layer
    for CategoryEncoding<T, N, V, Y, MODE>
{
    type Scalar = T;
    type Input = Ids<N, V>;
    type Output = Y;
    const CLASS: &'static str = "CategoryEncoding";
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &Ids<N, V>) -> Y {
        let mut y = Y::ZEROS;
        let out = y.as_mut_slice();
        for (s, &id) in x.0.iter().enumerate() {
            let id = id as usize;
            if id >= V {
                continue;
            }
            match MODE {
                ONE_HOT => out[s * V + id] = T::ONE,
                MULTI_HOT => out[id] = T::ONE,
                _ => out[id] += T::ONE,
            }
        }
        y
    }
}

// SAFETY: no fields but a marker.
unsafe impl<T, const N: usize, const V: usize, Y, const MODE: u8> Zeroable
    for CategoryEncoding<T, N, V, Y, MODE>
{
}

/// Keeps nothing: no weights, and ids have no gradient (the layer reads a model input, and the
/// sweep passes no `dx`), so the backward pass has nothing to do.
impl<T: Float, const N: usize, const V: usize, Y: Tensor<Scalar = T>, const MODE: u8> Train
    for CategoryEncoding<T, N, V, Y, MODE>
{
    type Kept = ();
    const KEPT: () = ();

    fn forward_train(
        &mut self,
        _level: Level,
        xs: &[Ids<N, V>],
        ys: &mut [Y],
        _kept: &mut [()],
        _ctx: &mut Ctx<'_>,
    ) {
        for (x, y) in xs.iter().zip(ys) {
            *y = self.forward(x);
        }
    }

    fn backward(
        &self,
        _level: Level,
        _xs: &[Ids<N, V>],
        _ys: &[Y],
        _kept: &[()],
        _dys: &mut [Y],
        _dxs: Option<&mut [Ids<N, V>]>,
        _grads: Option<&mut Self>,
    ) {
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor2;
    use nalgebra::SVector;

    #[test]
    fn one_hot_rows_multi_hot_and_counts_as_keras() {
        let ids = Ids::<4, 5>([3, 0, 3, 9]);
        let one_hot = CategoryEncoding::<f64, 4, 5, Tensor2<f64, 4, 5>, ONE_HOT>::ZEROS.forward(&ids);
        #[rustfmt::skip]
        let want = [
            0.0, 0.0, 0.0, 1.0, 0.0,
            1.0, 0.0, 0.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 1.0, 0.0,
            // 9 is past the 5 tokens: zeros, as JAX's one_hot.
            0.0, 0.0, 0.0, 0.0, 0.0,
        ];
        assert_eq!(one_hot.as_slice(), &want);
        let multi = CategoryEncoding::<f64, 4, 5, SVector<f64, 5>, MULTI_HOT>::ZEROS.forward(&ids);
        assert_eq!(multi.as_slice(), &[1.0, 0.0, 0.0, 1.0, 0.0]);
        let count = CategoryEncoding::<f64, 4, 5, SVector<f64, 5>, COUNT>::ZEROS.forward(&ids);
        assert_eq!(count.as_slice(), &[1.0, 0.0, 0.0, 2.0, 0.0]);
        // One id: Keras drops the axis of 1, so one_hot gives the row itself.
        let one = CategoryEncoding::<f32, 1, 3, SVector<f32, 3>, ONE_HOT>::ZEROS.forward(&Ids([1]));
        assert_eq!(one.as_slice(), &[0.0, 1.0, 0.0]);
        assert_eq!(<CategoryEncoding<f32, 1, 3, SVector<f32, 3>, ONE_HOT> as Layer>::PARAMS, 0);
    }
}
