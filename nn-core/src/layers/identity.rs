//! `Identity` (Keras's `keras.layers.Identity`): its input unchanged, at inference and in
//! training. Inside a model it is a view of its input, in the training sweep too, so it costs
//! nothing; its `Train` impl is for a layer composed by hand, passing the gradient through.

use crate::kernels::cpu::Level;
use crate::layer::{Layer, Zeroable};
use crate::tensor::Tensor;
use crate::train::{Ctx, Train};
use core::marker::PhantomData;

/// `Identity`: `y = x` (Keras's `Identity.call` returns its inputs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Identity<X> {
    _shapes: PhantomData<fn(X) -> X>,
}

impl<X> Identity<X> {
    super::no_weights!();
}

impl<X: Tensor> Layer for Identity<X> {
    type Scalar = X::Scalar;
    type Input = X;
    type Output = X;
    const CLASS: &'static str = "Identity";
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &X) -> X {
        *x
    }
}

// SAFETY: no fields but a marker.
unsafe impl<X> Zeroable for Identity<X> {}

/// Keeps nothing: `y = x`, so `dx = dy`.
impl<X: Tensor> Train for Identity<X> {
    type Kept = ();
    const KEPT: () = ();

    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [X], _kept: &mut [()], _ctx: &mut Ctx<'_>) {
        ys.copy_from_slice(xs);
    }

    fn backward(
        &self,
        _level: Level,
        _xs: &[X],
        _ys: &[X],
        _kept: &[()],
        dys: &mut [X],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        for (dx, dy) in dxs.iter_mut().zip(dys.iter()) {
            for (d, g) in dx.as_mut_slice().iter_mut().zip(dy.as_slice()) {
                *d += *g;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor2, Tensor3};

    #[test]
    fn is_its_input_and_passes_the_gradient_through() {
        let x = Tensor2::<f64, 2, 3>::from_slice(&[1.0, -2.0, 3.0, 4.0, 5.0, -6.0]);
        assert_eq!(Identity::ZEROS.forward(&x), x);
        assert_eq!(<Identity<Tensor3<f32, 1, 2, 3>> as Layer>::CLASS, "Identity");
        let dy = Tensor2::from_slice(&[0.5, 1.0, -1.5, 2.0, 0.0, 3.0]);
        // The backward pass adds `dy` to the 100s already there.
        let dx = super::super::input_grad(Identity::ZEROS, x, dy);
        assert_eq!(dx, dy);
        let (mut layer, mut grads) = (Identity::ZEROS, Identity::ZEROS);
        let (y, dx) = super::super::backprop(&mut layer, x, dy, Tensor2::from_slice(&[1.0; 6]), &mut grads);
        assert_eq!(y, x);
        assert_eq!(dx.as_slice(), &[1.5, 2.0, -0.5, 3.0, 1.0, 4.0]);
    }
}
