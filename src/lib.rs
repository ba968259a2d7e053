//! # nn: Keras-style models compiled into typed, allocation-free nalgebra code
//!
//! A model is written once, in a macro that reads like Keras, and becomes a Rust type whose
//! shapes are const generics: a layer that does not fit is a compile error at the offending
//! token, and `predict` allocates nothing.
//!
//! ```
//! use nn::prelude::*;
//!
//! sequential! {
//!     /// Solves XOR once trained (or loaded).
//!     pub struct Xor { Input<2>, Dense<8, relu>, Dense<1, sigmoid> }
//! }
//!
//! let model = Xor::seeded(42);
//! let y = model.predict(&Vector2::new(0.0, 1.0));
//! assert!(y[0] > 0.0 && y[0] < 1.0);
//! assert_eq!(Xor::PARAMS, 2 * 8 + 8 + 8 + 1);
//! ```
//!
//! ## The DSL
//!
//! `sequential![...]` is an expression returning a model initialised as Keras would (glorot
//! uniform kernels, zero biases, seed 0); `sequential! { pub struct Name { ... } }` declares a
//! named model type instead, with a `ZEROS` constant, `from_layers`, and the [`Model`] trait's
//! constructors. Its element type is `f32`; `struct Name<f64> { ... }` picks `f64`, and
//! `struct Name<T> { ... }` makes the model generic over every [`Float`].
//!
//! Layers, separated by commas:
//! - `Input<N>`: the model takes `N` features (first layer only).
//! - `Dense<UNITS>`, `Dense<UNITS, activation>`, `Dense<INPUTS, UNITS, activation>`, with the
//!   option `use_bias = false`. Its input size is inferred from the layer before it; the first
//!   layer of a model without `Input` states it (`Dense<1, 2>` is Keras's `Dense(2, input_dim=1)`).
//! - `Activation<activation>`.
//! - Any layer can be named: `hidden: Dense<8, relu>`; others are named as Keras would
//!   (`dense`, `dense_1`, ...). The name is the layer's field in the model struct.
//!
//! Activations: `linear`, `relu` (options `negative_slope`, `max_value`, `threshold`), `relu6`,
//! `leaky_relu(negative_slope)`, `elu(alpha)`, `selu`, `gelu` (`gelu(approximate = true)` for the
//! tanh form), `sigmoid`, `hard_sigmoid`, `tanh`, `softmax`, `log_softmax`, `silu`/`swish`,
//! `hard_silu`/`hard_swish`, `softplus`, `softsign`, `exponential`, `mish`. Options are positional
//! or named: `leaky_relu(0.1)`, `leaky_relu(negative_slope = 0.1)`.
//!
//! Rust macros are invoked with `()`, `[]` or `{}`; Keras-like `sequential!< ... >` is not Rust.
#![no_std]
#![warn(missing_docs)]

pub use nn_core::{
    Float, Layer, LayerInfo, LengthError, Model, Summary, WeightMut, WeightRef, Zeroable, activations, init,
    layers, merge, nalgebra,
};
pub use nn_macros::{functional, sequential};

/// Everything an example needs: `use nn::prelude::*;`.
pub mod prelude {
    pub use crate::layers::{Activation, Dense};
    pub use crate::nalgebra::{SMatrix, SVector, Vector1, Vector2, Vector3, Vector4, Vector5, Vector6};
    pub use crate::{Float, Layer, Model, functional, sequential};
}
