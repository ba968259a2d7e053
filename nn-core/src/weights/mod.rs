//! Weight files: loading and saving a model's weights by Keras's names and shapes.
//!
//! - [`safetensors`](crate::Model::load_safetensors) (feature `safetensors`): tensors named
//!   `<layer>/<weight>` (`dense_1/kernel`) with Keras's shapes (`[in, out]` for a Dense kernel).
//! - [`bytes`]: a raw format that a `const fn` can read, so a model's weights can be compiled
//!   into a `static` with `include_bytes!`.
//!
//! A file that does not fit the model is a [`WeightsError`] naming the layer, the expected and
//! the found shape; a truncated or hostile file is an error, never a panic or an out-of-bounds
//! read. Loading checks everything before writing anything, so a failed load leaves the model
//! as it was.

pub mod bytes;
#[cfg(feature = "keras")]
pub mod keras;
#[cfg(feature = "safetensors")]
pub(crate) mod safetensors;

#[cfg(feature = "alloc")]
pub use self::error::WeightsError;

#[cfg(feature = "alloc")]
mod error {
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::fmt;

    /// Why a weight file does not fit a model.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum WeightsError {
        /// The bytes are not a well-formed file of the format (truncated, corrupt, hostile).
        Format(String),
        /// The model has a weight the file lacks.
        Missing {
            /// The layer's name.
            layer: &'static str,
            /// The weight's name within the layer (`kernel`).
            weight: &'static str,
            /// The shape the model expects.
            expected: &'static [usize],
        },
        /// The file has a tensor the model has no weight for.
        Extra {
            /// The tensor's name in the file.
            name: String,
        },
        /// A tensor has another shape than the model's weight.
        Shape {
            /// The layer's name.
            layer: &'static str,
            /// The weight's name within the layer.
            weight: &'static str,
            /// The shape the model expects.
            expected: &'static [usize],
            /// The shape in the file.
            found: Vec<usize>,
        },
        /// A tensor holds numbers of a type the loader does not convert (only f32 and f64 are read).
        Dtype {
            /// The layer's name.
            layer: &'static str,
            /// The weight's name within the layer.
            weight: &'static str,
            /// The type in the file.
            found: String,
        },
    }

    impl fmt::Display for WeightsError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                WeightsError::Format(why) => write!(f, "not a valid weight file: {why}"),
                WeightsError::Missing { layer, weight, expected } => {
                    write!(
                        f,
                        "layer `{layer}`: the file has no `{layer}/{weight}` (expected shape {expected:?})"
                    )
                }
                WeightsError::Extra { name } => {
                    write!(f, "the file has a tensor `{name}` that no layer of the model has")
                }
                WeightsError::Shape { layer, weight, expected, found } => {
                    write!(
                        f,
                        "layer `{layer}`: `{weight}` has shape {found:?} in the file, the model expects {expected:?}"
                    )
                }
                WeightsError::Dtype { layer, weight, found } => {
                    write!(f, "layer `{layer}`: `{weight}` is {found} in the file; only F32 and F64 are read")
                }
            }
        }
    }

    impl core::error::Error for WeightsError {}
}
