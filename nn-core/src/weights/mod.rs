//! Weight files: loading and saving a model's weights by Keras's names and shapes.
//!
//! - safetensors (feature `safetensors`): tensors named `<layer>/<weight>` (`dense_1/kernel`)
//!   with Keras's shapes (`[in, out]` for a Dense kernel), or PyTorch's through an explicit
//!   mapping; see `WeightFiles::load_safetensors` and `WeightFiles::load_torch_safetensors`.
//! - Keras 3 files (feature `keras`): `.weights.h5` and `.keras` archives, see `weights::keras`.
//! - [`bytes`]: a raw format that a `const fn` can read, so a model's weights can be compiled
//!   into a `static` with `include_bytes!`.
//!
//! A file that does not fit the model is a [`WeightsError`] naming the layer, the expected and
//! the found shape; a truncated or hostile file is an error, never a panic or an out-of-bounds
//! read. Loading checks everything before writing anything, so a failed load leaves the model
//! as it was.

#[cfg(feature = "keras")]
mod archive;
pub mod bytes;
#[cfg(feature = "alloc")]
mod error;
mod files;
#[cfg(feature = "keras")]
pub mod keras;
#[cfg(feature = "safetensors")]
pub(crate) mod safetensors;
mod set;

#[cfg(feature = "alloc")]
pub use error::WeightsError;
pub use files::WeightFiles;
#[cfg(feature = "alloc")]
pub use set::WeightTable;
pub use set::{TableWeight, WeightSet};

/// The first `<layer>/<weight>` name two of `model`'s weights share, which a file keying weights
/// by name cannot tell apart: a nested model's layer named as one of the model's own.
#[cfg(any(feature = "safetensors", feature = "keras"))]
pub(crate) fn shared_name<W: WeightSet + ?Sized>(model: &W) -> Result<(), WeightsError> {
    use alloc::format;
    use alloc::string::String;
    let mut names: alloc::vec::Vec<String> = alloc::vec::Vec::new();
    let mut shared = None;
    model.for_each_weight(&mut |layer, w| {
        let name = format!("{layer}/{}", w.name);
        if shared.is_none() && names.contains(&name) {
            shared = Some(name);
        } else {
            names.push(name);
        }
    });
    shared.map_or(Ok(()), |name| Err(WeightsError::SharedName { name }))
}
