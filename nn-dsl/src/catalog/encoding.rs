//! `CategoryEncoding` (nn-core's `layers/encoding.rs`): token ids in, as `Embedding` takes
//! them (straight from an `Input`, which then holds `Ids`), one-hot rows, multi-hot or counts
//! out. No weights; in training it is the same pass, with no gradient to give its ids.

use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const PARAMS: &[Param] = &[
    positional("num_tokens", Kind::Int { min: 1 }),
    // `binary` is Keras's old name for `multi_hot`.
    param("output_mode", Kind::Choice(&["multi_hot", "one_hot", "count", "binary"])),
    param("sparse", Kind::Bool),
];

pub const CATEGORY_ENCODING: Entry = Entry {
    name: "CategoryEncoding",
    params: PARAMS,
    read: |c, cx| {
        let args = params::read(c, PARAMS, &["num_tokens"], cx)?;
        if args.bool(2, false) {
            cx.error(
                c.kind.span(),
                "`CategoryEncoding` with `sparse = true` is not supported: nn's tensors are dense",
            );
            return None;
        }
        let mode = match args.choice(1, "multi_hot").as_str() {
            "one_hot" => Mode::OneHot,
            "count" => Mode::Count,
            _ => Mode::MultiHot,
        };
        Some(Rc::new(CategoryEncoding { tokens: args.int(0, 1), mode }))
    },
};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    OneHot,
    MultiHot,
    Count,
}

struct CategoryEncoding {
    tokens: usize,
    mode: Mode,
}

impl LayerSpec for CategoryEncoding {
    fn trains(&self) -> bool {
        true
    }

    fn class(&self) -> &'static str {
        "CategoryEncoding"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        // Keras reduces multi-hot and counts over axis 1 but declares the last axis replaced,
        // which agree only for ids of shape (batch, ids): the one shape nn takes.
        if input.rank() != 1 {
            return Err(format!("takes token ids of shape (None, ids), but its input is {}", input.keras()));
        }
        let n = input.last();
        Ok(match self.mode {
            // Keras drops a last axis of 1 before `one_hot`.
            Mode::OneHot if n > 1 => Shape(vec![n, self.tokens]),
            _ => Shape::vector(self.tokens),
        })
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (n, v) = (input.last(), self.tokens);
        let y = self.output(input).unwrap_or_else(|_| Shape::vector(v)).ty(t);
        let mode = match self.mode {
            Mode::OneHot => quote!(::nn::layers::ONE_HOT),
            Mode::MultiHot => quote!(::nn::layers::MULTI_HOT),
            Mode::Count => quote!(::nn::layers::COUNT),
        };
        quote!(::nn::layers::CategoryEncoding<#t, #n, #v, #y, { #mode }>)
    }

    fn takes_ids(&self) -> Option<usize> {
        Some(self.tokens)
    }
}
