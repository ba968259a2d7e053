//! The `sequential!` macro of [`nn`](https://docs.rs/nn). Users depend on `nn`, which re-exports
//! it with its documentation.
//!
//! Three stages, each in its own module: `ast` reads the tokens, `check` (with the layer table in
//! `catalog` and the activations in `activation`) resolves names and infers every shape, collecting
//! every mistake in a `Ctxt`, and `expand` writes the typed code.

mod activation;
mod ast;
mod catalog;
mod check;
mod ctxt;
mod expand;
mod options;
mod spelling;

use proc_macro::TokenStream;

/// Builds a Keras-style Sequential model: `sequential![Input<2>, Dense<8, relu>, Dense<1>]` for a
/// value, `sequential! { pub struct Name { ... } }` for a named model type. The syntax is
/// documented on the `nn` crate, which re-exports this macro.
#[proc_macro]
pub fn sequential(input: TokenStream) -> TokenStream {
    let def = match syn::parse::<ast::ModelDef>(input) {
        Ok(def) => def,
        Err(e) => return e.to_compile_error().into(),
    };
    let mut cx = ctxt::Ctxt::default();
    let checked = check::sequential(&def, &mut cx);
    if let Err(errors) = cx.finish() {
        return match def.item {
            Some(_) => quote::quote!(#(#errors)*),
            // In expression position the errors become statements of a block whose value is the
            // last error: its type is rustc's error type, which silences follow-on errors (a
            // `let` of a `()` would report every later use of the model).
            None => match errors.split_last() {
                Some((last, rest)) => quote::quote!({ #(#rest;)* #last }),
                None => proc_macro2::TokenStream::new(),
            },
        }
        .into();
    }
    let Some(model) = checked else {
        return syn::Error::new(def.span, "the model could not be checked")
            .to_compile_error()
            .into();
    };
    match &def.item {
        None => expand::expression(&model),
        Some(header) => expand::item(&model, header),
    }
    .into()
}
