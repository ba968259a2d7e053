//! `Activation`: an activation function as a layer of its own (Keras's `layers.Activation`).

use crate::Float;
use crate::activations::ActivationFn;
use crate::init::Rng;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use core::marker::PhantomData;
use nalgebra::SVector;

/// Applies `A` to an `N`-feature vector; it has no weights.
///
/// ```
/// use nn_core::activations::Relu;
/// use nn_core::layers::Activation;
/// use nn_core::{Layer, nalgebra::Vector2};
/// let relu = Activation::<f32, 2, Relu>::new(Relu);
/// assert_eq!(relu.forward(&Vector2::new(-1.0, 2.0)), Vector2::new(0.0, 2.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Activation<T, const N: usize, A> {
    /// The activation and its options.
    pub activation: A,
    _scalar: PhantomData<T>,
}

impl<T: Float, const N: usize, A: ActivationFn> Activation<T, N, A> {
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

impl<T: Float, const N: usize, A: ActivationFn> Layer for Activation<T, N, A> {
    type Scalar = T;
    type Input = SVector<T, N>;
    type Output = SVector<T, N>;
    const CLASS: &'static str = "Activation";
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &SVector<T, N>) -> SVector<T, N> {
        let mut y = *x;
        self.activation.apply(&mut y);
        y
    }

    fn init_keras(&mut self, _rng: &mut Rng) {}

    fn visit_weights(&self, _f: &mut dyn FnMut(WeightRef<'_, T>)) {}

    fn visit_weights_mut(&mut self, _f: &mut dyn FnMut(WeightMut<'_, T>)) {}
}

// SAFETY: the only field with a size is an activation that is itself `Zeroable`.
unsafe impl<T: Float, const N: usize, A: Zeroable> Zeroable for Activation<T, N, A> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activations::{Elu, Softmax};
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
}
