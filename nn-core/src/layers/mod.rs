//! Layers, one file per family.

mod activation;
mod conv;
mod dense;
mod embedding;
mod normalization;
mod pooling;
mod preprocessing;
mod recurrent;
mod regularization;
mod reshaping;
mod window;
mod wrappers;

pub use activation::{Activation, Class, ELU, LeakyReLU, PReLU, ReLU, Softmax, class};
pub use conv::{Conv, DepthwiseConv, SeparableConv};
pub use dense::Dense;
pub use embedding::Embedding;
pub use normalization::{BatchNormalization, GroupNormalization, LayerNormalization};
pub use pooling::{Average, GlobalPool, Max, Pool, PoolOp};
pub use preprocessing::{Normalization, Rescaling};
pub use recurrent::{Cell, GruCell, Last, LstmCell, Returns, Rnn, Sequence, SimpleCell};
pub use regularization::{
    ActivityRegularization, AlphaDropout, Dropout, GaussianDropout, GaussianNoise, SpatialDropout,
};
pub use reshaping::{Cropping, Flatten, Permute, RepeatVector, Reshape, UpSampling, ZeroPadding};
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
