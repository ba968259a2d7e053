//! Runtime of [`nn`](https://docs.rs/nn): layers, activations and the [`Model`] trait, over
//! nalgebra's fixed-size types so that every shape is a const generic.
//!
//! This crate is `#![no_std]`. The default `std` feature adds nothing to inference; `alloc`
//! (implied by `std`) adds heap constructors for models too large for the stack.
//!
//! Users normally depend on the `nn` facade, whose `sequential!` macro writes the model types;
//! everything here can also be composed by hand.
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod activations;
mod approx;
#[cfg(feature = "alloc")]
mod boxed;
pub mod dispatch;
pub mod float;
pub mod init;
pub mod kernels;
mod layer;
pub mod layers;
pub mod merge;
mod model;
pub mod stream;
pub mod tensor;
pub mod train;
pub mod weights;

pub use float::Float;
pub use layer::{Layer, WeightMut, WeightRef, Zeroable, zeroed};
#[cfg(feature = "alloc")]
pub use model::PlotModel;
pub use model::{
    Bytes, FlatError, LayerInfo, LengthError, Model, Sublayer, Summary, SummaryRow, SummaryTotals, Thousands,
    summary_table,
};
pub use nalgebra;
