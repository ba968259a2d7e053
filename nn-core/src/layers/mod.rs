//! Layers, one file per family.

mod activation;
mod dense;

pub use activation::Activation;
pub use dense::Dense;
