//! The `sequential!`, `functional!` and `keras_model!` macros of [`nn`](https://docs.rs/nn).
//! Users depend on `nn`, which re-exports them with their documentation. The pipeline behind
//! them (parse, check with every mistake collected, expand) is the plain library `nn-dsl`,
//! which the `nn` command line shares; this crate only hands it the tokens.

use proc_macro::TokenStream;

/// Builds a Keras-style Sequential model: `sequential![Input<2>, Dense<8, relu>, Dense<1>]` for a
/// value, `sequential! { pub struct Name { ... } }` for a named model type. The syntax is
/// documented on the `nn` crate, which re-exports this macro.
#[proc_macro]
pub fn sequential(input: TokenStream) -> TokenStream {
    nn_dsl::sequential(input.into()).into()
}

/// Builds a Keras-style functional model, any acyclic graph of layers:
/// `functional! { x = Input<2>; y = Dense<1>(x); }`. The syntax is documented on the `nn` crate,
/// which re-exports this macro.
#[proc_macro]
pub fn functional(input: TokenStream) -> TokenStream {
    nn_dsl::functional(input.into()).into()
}

/// A Keras 3 `.keras` file, read while compiling, as a typed model with Keras's weights
/// compiled in: `keras_model! { pub struct Xor = "models/xor.keras"; }`. The syntax is
/// documented on the `nn` crate, which re-exports this macro.
#[cfg(feature = "keras")]
#[proc_macro]
pub fn keras_model(input: TokenStream) -> TokenStream {
    nn_dsl::keras_model(input.into()).into()
}
