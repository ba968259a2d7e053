//! Keras 3's random image augmentation layers (`keras/src/layers/preprocessing/
//! image_preprocessing/`): `RandomFlip`, `RandomRotation`, `RandomZoom`, `RandomTranslation`,
//! `RandomContrast`, `RandomBrightness`, the other `Random*` layers, and `AugMix`, `CutMix`,
//! `MixUp`, `RandAugment`, `Solarization` and `Equalization`: every layer of that folder whose
//! inference call returns its input (checked one by one against Keras 3.15.1 with
//! `training=False`; RandomCrop, which resizes at inference, and AutoContrast are not). At inference (`training=False`, what `model.predict` runs) each is the
//! identity: Keras's `transform_images` only casts to the compute dtype (float32 stays float32)
//! unless `training`, so in a model each is a view of its input that costs nothing.
//!
//! In training Keras augments; nn does not implement the augmentations, so these layers have no
//! `Train` impl and a model holding one predicts but does not train (no `compile`, and
//! `#[compile]` names the layer), rather than silently training on unaugmented images.

use crate::layer::{Layer, Zeroable};
use crate::tensor::Tensor;
use core::marker::PhantomData;

macro_rules! augmentation {
    ($( $(#[$doc:meta])* $name:ident ),* $(,)?) => {$(
        $(#[$doc])*
        ///
        /// The identity at inference (no weights); augments only in Keras's training, which nn
        /// does not implement.
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
            const CLASS: &'static str = stringify!($name);
            const PARAMS: usize = 0;

            #[inline(always)]
            fn forward(&self, x: &X) -> X {
                *x
            }
        }

        // SAFETY: no fields but a marker.
        unsafe impl<X> Zeroable for $name<X> {}
    )*};
}

augmentation! {
    /// `RandomFlip`: flips images horizontally and/or vertically in training.
    RandomFlip,
    /// `RandomRotation`: rotates images by a random angle in training.
    RandomRotation,
    /// `RandomZoom`: zooms images in or out in training.
    RandomZoom,
    /// `RandomTranslation`: shifts images in training.
    RandomTranslation,
    /// `RandomContrast`: scales each image's deviation from its mean in training.
    RandomContrast,
    /// `RandomBrightness`: adds a random delta to images in training.
    RandomBrightness,
    /// `RandomColorDegeneration`: blends images with their grayscale in training.
    RandomColorDegeneration,
    /// `RandomColorJitter`: brightness, contrast, saturation and hue jitter in training.
    RandomColorJitter,
    /// `RandomElasticTransform`: displaces pixels along a smoothed random field in training.
    RandomElasticTransform,
    /// `RandomErasing`: fills random rectangles in training.
    RandomErasing,
    /// `RandomGaussianBlur`: blurs images with a random Gaussian kernel in training.
    RandomGaussianBlur,
    /// `RandomGrayscale`: turns images to grayscale with a probability in training.
    RandomGrayscale,
    /// `RandomHue`: shifts images' hue in training.
    RandomHue,
    /// `RandomInvert`: inverts images with a probability in training.
    RandomInvert,
    /// `RandomPerspective`: applies a random perspective warp in training.
    RandomPerspective,
    /// `RandomPosterization`: reduces the bits per channel in training.
    RandomPosterization,
    /// `RandomSaturation`: scales images' saturation in training.
    RandomSaturation,
    /// `RandomSharpness`: sharpens or blurs images in training.
    RandomSharpness,
    /// `RandomShear`: shears images in training.
    RandomShear,
    /// `AugMix`: mixes chains of random augmentations in training.
    AugMix,
    /// `CutMix`: pastes a patch of another image of the batch in training.
    CutMix,
    /// `MixUp`: blends pairs of images of the batch in training.
    MixUp,
    /// `RandAugment`: applies random operations of random strength in training.
    RandAugment,
    /// `Solarization`: inverts the values above a random threshold in training.
    Solarization,
    /// `Equalization`: equalizes each channel's histogram in training (Keras 3's
    /// `transform_images` returns its input unless `training`).
    Equalization,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor3;

    #[test]
    fn each_is_its_input_at_inference_and_named_as_keras() {
        let x = Tensor3::<f32, 2, 2, 3>::from_slice(&core::array::from_fn::<f32, 12, _>(|i| i as f32 - 5.5));
        assert_eq!(RandomFlip::ZEROS.forward(&x), x);
        assert_eq!(RandomRotation::ZEROS.forward(&x), x);
        assert_eq!(RandomShear::ZEROS.forward(&x), x);
        assert_eq!(Equalization::ZEROS.forward(&x), x);
        assert_eq!(<MixUp<Tensor3<f32, 2, 2, 3>> as Layer>::CLASS, "MixUp");
        assert_eq!(<RandomBrightness<Tensor3<f32, 2, 2, 3>> as Layer>::CLASS, "RandomBrightness");
        assert_eq!(
            <RandomColorDegeneration<Tensor3<f64, 1, 1, 1>> as Layer>::CLASS,
            "RandomColorDegeneration"
        );
        assert_eq!(<RandomZoom<Tensor3<f32, 2, 2, 3>> as Layer>::PARAMS, 0);
    }
}
