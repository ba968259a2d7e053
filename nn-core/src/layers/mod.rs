//! Layers, one file per family.

mod activation;
mod attention;
mod augmentation;
mod axes;
mod conv;
mod conv_lstm;
mod conv_transpose;
mod dense;
mod embedding;
mod encoding;
mod identity;
pub mod masking;
mod normalization;
mod pooling;
mod preprocessing;
mod product;
mod recurrent;
mod regularization;
mod reshaping;
mod resizing;
mod window;
mod wrappers;

pub use activation::{Activation, Class, ELU, LeakyReLU, MaskedSoftmax, PReLU, ReLU, Softmax, class};
pub use attention::{
    ADDITIVE, Attention, AttentionInputs, CONCAT, DOT, HeadsJoin, HeadsKept, HeadsProjection,
    MultiHeadAttention,
};
pub use augmentation::{
    AugMix, CutMix, Equalization, MixUp, RandAugment, RandomBrightness, RandomColorDegeneration,
    RandomColorJitter, RandomContrast, RandomElasticTransform, RandomErasing, RandomFlip, RandomGaussianBlur,
    RandomGrayscale, RandomHue, RandomInvert, RandomPerspective, RandomPosterization, RandomRotation,
    RandomSaturation, RandomSharpness, RandomShear, RandomTranslation, RandomZoom, Solarization,
};
pub use conv::{Conv, DepthwiseConv, SeparableConv};
pub use conv_lstm::ConvLstm;
pub use conv_transpose::ConvTranspose;
pub use dense::{Dense, EinsumDense};
pub use embedding::Embedding;
pub use encoding::{COUNT, CategoryEncoding, MULTI_HOT, ONE_HOT};
pub use identity::Identity;
pub use masking::{Masked, MaskedInputs, Masking};
pub use normalization::{
    BatchNormalization, GroupNormalization, LayerNormalization, RMSNormalization, UnitNormalization,
};
pub use pooling::{AdaptivePool, Average, GlobalPool, Max, Pool, PoolOp};
pub use preprocessing::{Normalization, Rescaling};
pub use recurrent::{Bare, Cell, GruCell, Last, LstmCell, Returns, Rnn, Sequence, SimpleCell, Stacked};
pub use regularization::{
    ActivityRegularization, AlphaDropout, Dropout, GaussianDropout, GaussianNoise, SpatialDropout,
};
pub use reshaping::{Cropping, Flatten, Permute, RepeatVector, Reshape, UpSampling, ZeroPadding};
pub use resizing::{
    CENTER_CROP, RESIZING, RESIZING_CROPPED, RESIZING_PADDED, Resize, UP_SAMPLING_2D, aspect_crop,
    aspect_pad, resize_box,
};
pub use wrappers::{Ave, Bidirectional, Concat, MergeMode, Mul, Sum, TimeDistributed};

/// The inherent items every layer has, for a layer without weights: `ZEROS` and the raw-weight
/// reader the macros' `from_bytes` calls on every field.
macro_rules! no_weights {
    () => {
        /// The layer (it has no weights).
        pub const ZEROS: Self = Self { _shapes: core::marker::PhantomData };

        /// Reads nothing: the layer has no weights. Kept so the macros treat every layer alike.
        #[doc(hidden)]
        pub const fn read_le_bytes(&mut self, _bytes: &[u8], at: usize) -> usize {
            at
        }
    };
}
use no_weights;

/// The weight walks of a layer that holds two layers in the fields `$a` and `$b` (each
/// initialized, visited and read in that order), inside its `impl Layer`: `Bidirectional`'s
/// halves, a stack's cells.
macro_rules! two_layers_weights {
    ($a:ident, $b:ident, $t:ty) => {
        fn init_keras(&mut self, rng: &mut crate::init::Rng) {
            self.$a.init_keras(rng);
            self.$b.init_keras(rng);
        }

        fn init_with(&mut self, rng: &mut crate::init::Rng, init: &crate::init::Initializers) {
            self.$a.init_with(rng, init);
            self.$b.init_with(rng, init);
        }

        fn visit_weights(&self, f: &mut dyn FnMut(crate::layer::WeightRef<'_, $t>)) {
            self.$a.visit_weights(f);
            self.$b.visit_weights(f);
        }

        fn visit_weights_mut(&mut self, f: &mut dyn FnMut(crate::layer::WeightMut<'_, $t>)) {
            self.$a.visit_weights_mut(f);
            self.$b.visit_weights_mut(f);
        }
    };
}
use two_layers_weights;

/// One sample through a layer's training passes: its output and the gradient of its input for
/// output gradient `dy`, which the backward pass adds to `dx0` (so a test sees that it adds).
/// Weight gradients are added into `grads`.
#[cfg(test)]
fn backprop<L: crate::train::Train>(
    layer: &mut L,
    x: L::Input,
    dy: L::Output,
    dx0: L::Input,
    grads: &mut L,
) -> (L::Output, L::Input)
where
    L::Input: Copy,
    L::Output: Copy,
{
    let level = crate::kernels::cpu::Level::Portable;
    let mut rng = crate::init::Rng::new(0);
    let mut ctx = crate::train::Ctx { trainable: true, rng: &mut rng, penalty: &mut 0.0 };
    let (mut y, mut kept, mut dy, mut dx) = ([dy], [L::KEPT], [dy], [dx0]);
    layer.forward_train(level, &[x], &mut y, &mut kept, &mut ctx);
    layer.backward(level, &[x], &y, &kept, &mut dy, Some(&mut dx), Some(grads));
    (y[0], dx[0])
}

/// The gradient of one sample's input through a layer without weights, from output gradient
/// `dy`; the backward pass adds it to a buffer holding 100s, taken off after (so a layer that
/// overwrote the buffer rather than adding fails).
#[cfg(test)]
fn input_grad<L: crate::train::Train + Copy>(layer: L, x: L::Input, dy: L::Output) -> L::Input
where
    L::Input: crate::tensor::Tensor<Scalar = f64>,
    L::Output: Copy,
{
    use crate::tensor::Tensor;
    let mut dx0 = L::Input::ZEROS;
    dx0.as_mut_slice().fill(100.0);
    let (mut layer, mut grads) = (layer, layer);
    let mut dx = backprop(&mut layer, x, dy, dx0, &mut grads).1;
    dx.as_mut_slice().iter_mut().for_each(|d| *d -= 100.0);
    dx
}
