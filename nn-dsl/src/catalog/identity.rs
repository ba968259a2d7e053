//! `Identity` (nn-core's `layers/identity.rs`): its input unchanged, a view in the model and in
//! the training sweep alike. Keras's layer takes no options of its own.

use super::params;
use super::{Entry, LayerSpec};
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

pub const IDENTITY: Entry = Entry {
    name: "Identity",
    params: &[],
    read: |c, cx| {
        params::read(c, &[], &[], cx)?;
        Some(Rc::new(Identity))
    },
};

struct Identity;

impl LayerSpec for Identity {
    fn mask(&self) -> super::Mask {
        super::Mask::Keeps
    }

    fn trains(&self) -> bool {
        true
    }

    fn stream(&self, _input: &Shape, _t: &TokenStream) -> Result<Option<TokenStream>, String> {
        Ok(None)
    }

    fn class(&self) -> &'static str {
        "Identity"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        Ok(input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let x = input.ty(t);
        quote!(::nn::layers::Identity<#x>)
    }

    fn is_view(&self) -> bool {
        true
    }
}
