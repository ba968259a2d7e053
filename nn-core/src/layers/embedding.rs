//! `Embedding`: token ids in, one learned row of the table per id out.

use crate::Float;
use crate::init::{Initializers, Rng};
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Ids, Tensor, Tensor2};
use crate::weights::bytes;

/// Keras's `Embedding(V, D)` over `S` ids: step `s` of the output is row `ids[s]` of the
/// `V × D` table (Keras's `embeddings`). An id at or past `V` gives a row of zeros: ids are
/// checked where they enter a model (`Ids::new`, `predict_flat`), and the pass itself never
/// panics or reads out of bounds.
///
/// ```
/// use nn_core::layers::Embedding;
/// use nn_core::tensor::{Ids, Tensor};
/// use nn_core::Layer;
/// let mut e = Embedding::<f32, 2, 3, 2>::ZEROS;
/// e.embeddings = [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]];
/// let y = e.forward(&Ids::new([2, 0]).unwrap());
/// assert_eq!(y.as_slice(), &[4.0, 5.0, 0.0, 1.0]);
/// // Past the table: zeros.
/// assert_eq!(e.forward(&Ids([1, 7])).as_slice(), &[2.0, 3.0, 0.0, 0.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Embedding<T, const S: usize, const V: usize, const D: usize> {
    /// The table, one row of `D` per id.
    pub embeddings: [[T; D]; V],
}

impl<T: Float, const S: usize, const V: usize, const D: usize> Embedding<T, S, V, D> {
    /// Every weight zero.
    pub const ZEROS: Self = Embedding { embeddings: [[T::ZERO; D]; V] };
    const SHAPE: &'static [usize] = &[V, D];

    /// Reads the table from raw weight bytes.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        bytes::read(bytes, at, self.embeddings.as_flattened_mut())
    }
}

impl<T: Float, const S: usize, const V: usize, const D: usize> Layer for Embedding<T, S, V, D> {
    type Scalar = T;
    type Input = Ids<S, V>;
    type Output = Tensor2<T, S, D>;
    const CLASS: &'static str = "Embedding";
    const PARAMS: usize = V * D;

    #[inline(always)]
    fn forward(&self, x: &Ids<S, V>) -> Tensor2<T, S, D> {
        let mut y = <Tensor2<T, S, D> as Tensor>::ZEROS;
        for (row, id) in y.as_mut_slice().chunks_exact_mut(D).zip(&x.0) {
            if let Some(e) = self.embeddings.get(*id as usize) {
                row.copy_from_slice(e);
            }
        }
        y
    }

    /// Keras's default: uniform in [-0.05, 0.05].
    fn init_keras(&mut self, rng: &mut Rng) {
        // Keras's defaults directly, not through `Initializer::fill`: a model that names no
        // initializer links none of them (mnist_mlp's binary grew 19 KB otherwise).
        crate::init::uniform(self.embeddings.as_flattened_mut(), 0.05, rng);
    }

    fn init_with(&mut self, rng: &mut Rng, init: &Initializers) {
        init.embeddings.fill(self.embeddings.as_flattened_mut(), V, D, rng);
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, T>)) {
        f(WeightRef { name: "embeddings", shape: Self::SHAPE, data: self.embeddings.as_flattened() });
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, T>)) {
        f(WeightMut { name: "embeddings", shape: Self::SHAPE, data: self.embeddings.as_flattened_mut() });
    }
}

/// Keeps nothing: the ids say which rows each step read. Ids have no gradient, so there is no
/// `dx` (the layer always reads a model input, and the sweep passes `None`).
impl<T: Float, const S: usize, const V: usize, const D: usize> crate::train::Train for Embedding<T, S, V, D> {
    type Kept = ();
    const KEPT: () = ();

    fn forward_train(
        &mut self,
        _level: crate::kernels::cpu::Level,
        xs: &[Ids<S, V>],
        ys: &mut [Tensor2<T, S, D>],
        _kept: &mut [()],
        _ctx: &mut crate::train::Ctx<'_>,
    ) {
        for (x, y) in xs.iter().zip(ys) {
            *y = self.forward(x);
        }
    }

    /// Adds each step's output gradient into the row its id read: an id read several times,
    /// in one sample or across the batch, gathers every one (JAX's gradient of a gather, a
    /// scatter-add). An id past the table read nothing and gets nothing.
    fn backward(
        &self,
        _level: crate::kernels::cpu::Level,
        xs: &[Ids<S, V>],
        _ys: &[Tensor2<T, S, D>],
        _kept: &[()],
        dys: &mut [Tensor2<T, S, D>],
        _dxs: Option<&mut [Ids<S, V>]>,
        grads: Option<&mut Self>,
    ) {
        let Some(grads) = grads else { return };
        for (x, dy) in xs.iter().zip(dys.iter()) {
            for (id, dy) in x.0.iter().zip(dy.as_slice().chunks_exact(D.max(1))) {
                if let Some(row) = grads.embeddings.get_mut(*id as usize) {
                    for (g, d) in row.iter_mut().zip(dy) {
                        *g += *d;
                    }
                }
            }
        }
    }
}

// SAFETY: a float array.
unsafe impl<T: Float, const S: usize, const V: usize, const D: usize> Zeroable for Embedding<T, S, V, D> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::cpu::Level;
    use crate::train::{Ctx, Train};

    #[test]
    fn each_occurrence_of_an_id_adds_into_its_row() {
        let mut e = Embedding::<f64, 3, 3, 2>::ZEROS;
        e.embeddings = [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]];
        // Id 2 twice in the first sample, 0 in both; 7 is past the table.
        let xs = [Ids([2, 0, 2]), Ids([0, 7, 1])];
        let mut ys = [Tensor2::ZEROS; 2];
        e.forward_train(
            Level::Portable,
            &xs,
            &mut ys,
            &mut [(); 2],
            &mut Ctx { trainable: true, rng: &mut Rng::new(1), penalty: &mut 0.0 },
        );
        assert_eq!(ys[0].as_slice(), &[4.0, 5.0, 0.0, 1.0, 4.0, 5.0]);
        let mut dys = [
            Tensor2::from_rows([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
            Tensor2::from_rows([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]]),
        ];
        let mut grads = Embedding::ZEROS;
        grads.embeddings[1] = [0.5, 0.5];
        e.backward(Level::Portable, &xs, &ys, &[(); 2], &mut dys, None, Some(&mut grads));
        assert_eq!(grads.embeddings, [[13.0, 24.0], [50.5, 60.5], [6.0, 8.0]]);
    }
}
