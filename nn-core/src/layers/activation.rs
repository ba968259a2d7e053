//! `Activation`: an activation function as a layer of its own (Keras's `layers.Activation`).

use crate::Float;
use crate::activations::ActivationFn;
use crate::init::Rng;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Lead, One};
use core::marker::PhantomData;

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
pub struct Activation<T, const N: usize, A, L = One> {
    /// The activation and its options.
    pub activation: A,
    _scalar: PhantomData<(T, L)>,
}

impl<T: Float, const N: usize, A: ActivationFn, L: Lead> Activation<T, N, A, L> {
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

impl<T: Float, const N: usize, A: ActivationFn, L: Lead> Layer for Activation<T, N, A, L> {
    type Scalar = T;
    type Input = L::Of<T, N>;
    type Output = L::Of<T, N>;
    const CLASS: &'static str = "Activation";
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

// SAFETY: the only field with a size is an activation that is itself `Zeroable`.
unsafe impl<T: Float, const N: usize, A: Zeroable, L> Zeroable for Activation<T, N, A, L> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activations::{Elu, Softmax};
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
        let s = Activation::<f32, 3, Softmax>::ZEROS;
        let y = s.forward(&Vector3::new(1.0, 2.0, 3.0));
        assert!((y.sum() - 1.0).abs() < 1e-6);
        assert!(y[2] > y[1] && y[1] > y[0]);
        assert_eq!(<Activation<f32, 3, Softmax> as Layer>::PARAMS, 0);
    }

    #[test]
    fn softmax_on_a_sequence_acts_on_each_step() {
        use crate::tensor::{Steps, Tensor2};
        let s = Activation::<f64, 2, Softmax, Steps<2>>::ZEROS;
        let y = s.forward(&Tensor2::from_rows([[0.0, 0.0], [1.0, 1.0]]));
        assert_eq!(y.as_slice(), &[0.5; 4]);
    }
}
