//! `Dropout`, `SpatialDropout1D/2D`, `GaussianNoise`, `GaussianDropout`, `AlphaDropout` and
//! `ActivityRegularization`: layers that only act while training, so at inference each is its
//! input unchanged. Inside a model they are views of their input and cost nothing; their options
//! (rates, noise, penalties) are read and checked but change nothing here.

use crate::layer::{Layer, Zeroable};
use crate::tensor::Tensor;
use core::marker::PhantomData;

macro_rules! identity_layer {
    ($(#[$doc:meta])* $name:ident, $classes:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name<X> {
            _shapes: PhantomData<fn(X) -> X>,
        }

        impl<X> $name<X> {
            super::no_weights!();
        }

        impl<X: Tensor> Layer for $name<X> {
            type Scalar = X::Scalar;
            type Input = X;
            type Output = X;
            const CLASS: &'static str = {
                let classes: [&str; 2] = $classes;
                if X::SHAPE.len() == 3 { classes[1] } else { classes[0] }
            };
            const PARAMS: usize = 0;

            #[inline(always)]
            fn forward(&self, x: &X) -> X {
                *x
            }
        }

        // SAFETY: zero-sized.
        unsafe impl<X> Zeroable for $name<X> {}
    };
}

identity_layer! {
    /// `Dropout`: zeroes a random `rate` of its inputs while training; the identity here.
    Dropout, ["Dropout"; 2]
}

identity_layer! {
    /// `SpatialDropout1D` over a sequence, `SpatialDropout2D` over an image: drops whole
    /// channels while training; the identity here.
    SpatialDropout, ["SpatialDropout1D", "SpatialDropout2D"]
}

identity_layer! {
    /// `GaussianNoise`: adds noise of deviation `stddev` while training; the identity here.
    GaussianNoise, ["GaussianNoise"; 2]
}

identity_layer! {
    /// `GaussianDropout`: multiplies by noise of mean 1 while training; the identity here.
    GaussianDropout, ["GaussianDropout"; 2]
}

identity_layer! {
    /// `AlphaDropout`: dropout that keeps SELU's mean and variance while training; the
    /// identity here.
    AlphaDropout, ["AlphaDropout"; 2]
}

identity_layer! {
    /// `ActivityRegularization`: adds an L1/L2 penalty on its input to the training loss; the
    /// identity here.
    ActivityRegularization, ["ActivityRegularization"; 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor2, Tensor3};

    #[test]
    fn every_one_is_its_input_and_named_by_rank() {
        let x = Tensor2::<f32, 2, 3>::from_slice(&[1.0, -2.0, 3.0, 4.0, 5.0, -6.0]);
        assert_eq!(Dropout::ZEROS.forward(&x), x);
        assert_eq!(AlphaDropout::ZEROS.forward(&x), x);
        assert_eq!(<SpatialDropout<Tensor2<f32, 2, 3>> as Layer>::CLASS, "SpatialDropout1D");
        assert_eq!(<SpatialDropout<Tensor3<f32, 1, 2, 3>> as Layer>::CLASS, "SpatialDropout2D");
        assert_eq!(<GaussianNoise<Tensor3<f32, 1, 2, 3>> as Layer>::CLASS, "GaussianNoise");
    }
}
