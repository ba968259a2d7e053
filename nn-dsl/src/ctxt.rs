//! Collects every user mistake found in one expansion, so a compile shows them all (the pattern
//! of serde_derive's `Ctxt`).

use proc_macro2::{Span, TokenStream};
use std::fmt::Display;

#[derive(Default)]
pub struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records a mistake at `span`.
    pub fn error(&mut self, span: Span, message: impl Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// The mistakes recorded so far, as their messages (for a report outside a macro).
    pub fn messages(&self) -> Vec<String> {
        self.errors.iter().map(ToString::to_string).collect()
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// One `compile_error!` per recorded mistake, or `Ok` if there were none.
    pub fn finish(self) -> Result<(), Vec<TokenStream>> {
        if self.errors.is_empty() {
            return Ok(());
        }
        Err(self.errors.iter().map(syn::Error::to_compile_error).collect())
    }
}
