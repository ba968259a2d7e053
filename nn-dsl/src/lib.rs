//! The model pipeline of [`nn`](https://docs.rs/nn)'s macros, as a plain library: the DSL's
//! tokens (or a Keras config) in, the typed code or every mistake out. `nn-macros` wraps it as
//! `sequential!`, `functional!` and `keras_model!`; the `nn` command line calls it at run time
//! ([`inspect`]), so the two report the same errors in the same words.
//!
//! Three stages, each in its own modules: `ast` reads the tokens; `check` (Sequential) and
//! `graph` (functional) resolve names and infer every shape, with the layer table in `catalog`
//! and the activations in `activation`, collecting every mistake in a `Ctxt`; both produce the
//! same checked `ir::Model`, from which `expand` writes the typed code.

mod activation;
mod ast;
mod catalog;
mod check;
mod compile;
#[cfg(feature = "keras")]
mod concise;
mod ctxt;
mod expand;
mod graph;
mod initializer;
#[cfg(feature = "keras")]
pub mod inspect;
mod ir;
#[cfg(feature = "keras")]
mod json;
#[cfg(feature = "keras")]
mod keras;
mod mask;
mod options;
mod shape;
mod spelling;
mod sweep;

use proc_macro2::TokenStream as TokenStream2;

/// `sequential!`'s expansion: a Keras-style Sequential model, `Input<2>, Dense<8, relu>,
/// Dense<1>` for a value, `pub struct Name { ... }` for a named model type (the syntax is
/// documented on the `nn` crate), or a `compile_error!` for each mistake.
pub fn sequential(input: TokenStream2) -> TokenStream2 {
    let def = match syn::parse2::<ast::ModelDef>(input) {
        Ok(def) => def,
        Err(e) => return e.to_compile_error(),
    };
    let mut cx = ctxt::Ctxt::default();
    let model = check::sequential(&def, &mut cx);
    fits_the_stack(model.as_ref(), def.item.as_ref(), def.span, &mut cx);
    streams(model.as_ref(), def.item.as_ref(), &mut cx);
    let compiled = compiles(model.as_ref(), def.item.as_ref(), &mut cx);
    finish(cx, model, def.item.as_ref(), compiled)
}

/// `functional!`'s expansion: a Keras-style functional model, any acyclic graph of layers
/// (`x = Input<2>; y = Dense<1>(x);`), or a `compile_error!` for each mistake.
pub fn functional(input: TokenStream2) -> TokenStream2 {
    let def = match syn::parse2::<ast::GraphDef>(input) {
        Ok(def) => def,
        Err(e) => return e.to_compile_error(),
    };
    let mut cx = ctxt::Ctxt::default();
    let model = graph::functional(&def, &mut cx);
    fits_the_stack(model.as_ref(), def.item.as_ref(), def.span, &mut cx);
    streams(model.as_ref(), def.item.as_ref(), &mut cx);
    let compiled = compiles(model.as_ref(), def.item.as_ref(), &mut cx);
    finish(cx, model, def.item.as_ref(), compiled)
}

/// `keras_model!`'s expansion: a Keras 3 `.keras` file (`pub struct Xor = "models/xor.keras";`,
/// the path from `CARGO_MANIFEST_DIR`) as a typed model with Keras's weights compiled in, or a
/// `compile_error!` for each mistake.
#[cfg(feature = "keras")]
pub fn keras_model(input: TokenStream2) -> TokenStream2 {
    match syn::parse2::<keras::KerasDef>(input) {
        Ok(def) => keras::expand(def),
        Err(e) => e.to_compile_error(),
    }
}

/// The most weights the expression form may hold: it returns the model by value, built on the
/// stack, and a thread's stack is 2 to 8 MiB.
const EXPRESSION_WEIGHTS: usize = 1 << 20;

/// The expression form of a model too large for the stack is an error stating its size, rather
/// than a program that overflows its stack when run: such a model is declared as a type and built
/// on the heap (`boxed_seeded`).
fn fits_the_stack(
    model: Option<&ir::Model>,
    item: Option<&ast::ItemHeader>,
    span: proc_macro2::Span,
    cx: &mut ctxt::Ctxt,
) {
    let Some(model) = model.filter(|_| item.is_none()) else { return };
    let weights = model.weights();
    if weights > EXPRESSION_WEIGHTS {
        cx.error(
            span,
            format!(
                "this model holds {weights} weights ({:.1} MiB of f32), too many to return on the stack \
                 (at most {EXPRESSION_WEIGHTS}): declare it as a type, `sequential! {{ pub struct Name {{ ... }} }}`, \
                 and build it on the heap with `Name::boxed_seeded(seed)`",
                weights as f64 * 4.0 / (1024.0 * 1024.0)
            ),
        );
    }
}

/// The `#[stream]` attribute of a model type, which asks for `step`.
fn stream_attr(item: Option<&ast::ItemHeader>) -> Option<&syn::Attribute> {
    item?.attrs.iter().find(|a| a.path().is_ident("stream"))
}

/// A model asked to stream (`#[stream]`) must be able to: see `ir::Model::check_stream`.
fn streams(model: Option<&ir::Model>, item: Option<&ast::ItemHeader>, cx: &mut ctxt::Ctxt) {
    if let (Some(model), Some(attr)) = (model, stream_attr(item)) {
        model.check_stream(syn::spanned::Spanned::span(attr), cx);
    }
}

/// The model's code, or every mistake recorded.
/// `#[compile(...)]`: checked against the model; `fn compiled` for the model's inherent impl.
fn compiles(model: Option<&ir::Model>, item: Option<&ast::ItemHeader>, cx: &mut ctxt::Ctxt) -> TokenStream2 {
    let (Some(model), Some(item)) = (model, item) else { return TokenStream2::new() };
    let Some(attr) = item.attrs.iter().find(|a| a.path().is_ident("compile")) else {
        return TokenStream2::new();
    };
    let span = syn::spanned::Spanned::span(attr);
    if let ir::Scalar::Generic(t) = &model.scalar {
        cx.error(
            t.span(),
            "`#[compile]` needs a concrete element type (`f32` or `f64`): call `compile` on a value instead",
        );
        return TokenStream2::new();
    }
    if let Some(why) = sweep::untrainable(model) {
        cx.error(span, format!("`#[compile]`: {why}, so this model cannot train"));
        return TokenStream2::new();
    }
    let method = compile::compiled(model, &item.attrs, cx);
    let ident = &item.ident;
    quote::quote!(impl #ident { #method })
}

fn finish(
    cx: ctxt::Ctxt,
    model: Option<ir::Model>,
    item: Option<&ast::ItemHeader>,
    compiled: TokenStream2,
) -> TokenStream2 {
    if let Err(errors) = cx.finish() {
        return match item {
            Some(_) => quote::quote!(#(#errors)*),
            // In expression position the errors become statements of a block whose value is the
            // last error: its type is rustc's error type, which silences follow-on errors (a
            // `let` of a `()` would report every later use of the model).
            None => match errors.split_last() {
                Some((last, rest)) => quote::quote!({ #(#rest;)* #last }),
                None => TokenStream2::new(),
            },
        };
    }
    match (model, item) {
        (None, _) => quote::quote!(::core::compile_error!("the model could not be checked")),
        (Some(model), None) => expand::expression(&model),
        (Some(model), Some(header)) => {
            let mut tokens = expand::item(&model, header);
            tokens.extend(compiled);
            tokens
        }
    }
}
