//! [`WeightsError`]: why a weight file does not fit a model.

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
        /// The tensor looked for (`dense/kernel`, or `0.weight` for PyTorch).
        tensor: String,
        /// The shape the file should have it in.
        expected: Vec<usize>,
    },
    /// A layer with weights that the caller's name mapping (PyTorch's) does not cover.
    Unmapped {
        /// The layer's name.
        layer: &'static str,
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
        /// The shape the file should have it in.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// Two of the model's weights have one name (a nested model's layer named as one of the
    /// model's own), which a file keying weights by name cannot tell apart.
    SharedName {
        /// The name, `<layer>/<weight>`.
        name: String,
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
            WeightsError::Missing { layer, weight, tensor, expected } => {
                write!(
                    f,
                    "layer `{layer}`: the file has no `{tensor}` for its `{weight}` (expected shape {expected:?})"
                )
            }
            WeightsError::Unmapped { layer } => {
                write!(f, "layer `{layer}` has weights, but no tensor name was given for it")
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
            WeightsError::SharedName { name } => write!(
                f,
                "two weights of the model are named `{name}` (a nested model's layer named as one of the \
                 model's own): label the layers apart to read or write files by name"
            ),
            WeightsError::Dtype { layer, weight, found } => {
                write!(f, "layer `{layer}`: `{weight}` is {found} in the file; only F32 and F64 are read")
            }
        }
    }
}

impl core::error::Error for WeightsError {}
