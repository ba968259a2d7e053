//! `Masking` (nn-core's `layers/masking.rs`): the steps whose features all equal `mask_value`
//! become zeros, and the layers after it that read masks skip them (see [`super::Mask`]).

use super::params::{self, Kind, Param, param};
use super::{Entry, LayerSpec, Mask};
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const PARAMS: &[Param] = &[param("mask_value", Kind::Number)];

pub const MASKING: Entry = Entry {
    name: "Masking",
    params: PARAMS,
    read: |c, cx| {
        let args = params::read(c, PARAMS, &[], cx)?;
        Some(Rc::new(Masking { value: args.number(0, 0.0) }))
    },
};

struct Masking {
    value: f64,
}

impl LayerSpec for Masking {
    fn class(&self) -> &'static str {
        "Masking"
    }

    fn untrained(&self) -> &'static str {
        "makes a mask, which nn does not train through yet"
    }

    fn stream(&self, _input: &Shape, _t: &TokenStream) -> Result<Option<TokenStream>, String> {
        Err("makes a mask, which a stream of steps does not carry yet".into())
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        if input.rank() != 2 {
            return Err(format!("masks the steps of a sequence, but its input is {}", input.keras()));
        }
        Ok(input.clone())
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (s, c) = (input.0[0], input.last());
        quote!(::nn::layers::Masking<#t, #s, #c>)
    }

    fn options(&self, _input: &Shape, _t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        let value = self.value;
        vec![("mask_value", quote!(#value))]
    }

    fn mask(&self) -> Mask {
        Mask::Makes
    }

    fn mask_of(&self, layer: &TokenStream, input: &TokenStream) -> Option<TokenStream> {
        Some(quote!(#layer.mask(#input)))
    }
}
