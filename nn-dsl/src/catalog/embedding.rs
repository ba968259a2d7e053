//! `Embedding` (nn-core's `layers/embedding.rs`).

use super::params::{self, Kind, Param, param, positional};
use super::{Entry, LayerSpec};
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const PARAMS: &[Param] = &[
    positional("input_dim", Kind::Int { min: 1 }),
    positional("output_dim", Kind::Int { min: 1 }),
    param("mask_zero", Kind::Bool),
    param("embeddings_initializer", Kind::Initializer),
];

pub const EMBEDDING: Entry = Entry {
    name: "Embedding",
    params: PARAMS,
    read: |c, cx| {
        let args = params::read(c, PARAMS, &["input_dim", "output_dim"], cx)?;
        Some(Rc::new(Embedding {
            vocabulary: args.int(0, 1),
            dim: args.int(1, 1),
            mask_zero: args.bool(2, false),
            initializers: args.initializers().expr(),
        }))
    },
};

struct Embedding {
    vocabulary: usize,
    dim: usize,
    /// Keras's `mask_zero`: id 0 is padding, masked for the layers after.
    mask_zero: bool,
    initializers: Option<TokenStream>,
}

impl LayerSpec for Embedding {
    fn trains(&self) -> bool {
        !self.mask_zero
    }

    fn untrained(&self) -> &'static str {
        "makes a mask (`mask_zero = true`), which nn does not train through yet"
    }

    fn mask(&self) -> super::Mask {
        if self.mask_zero { super::Mask::Makes } else { super::Mask::Drops }
    }

    fn mask_of(&self, _layer: &TokenStream, input: &TokenStream) -> Option<TokenStream> {
        self.mask_zero.then(|| quote!(::nn::layers::masking::of_ids(#input)))
    }

    fn initializers(&self) -> Option<TokenStream> {
        self.initializers.clone()
    }

    fn class(&self) -> &'static str {
        "Embedding"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        if input.rank() != 1 {
            return Err(format!(
                "takes a sequence of token ids, shape (None, steps), but its input is {}",
                input.keras()
            ));
        }
        Ok(Shape(vec![input.last(), self.dim]))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (s, v, d) = (input.last(), self.vocabulary, self.dim);
        quote!(::nn::layers::Embedding<#t, #s, #v, #d>)
    }

    fn variables(&self, _input: &Shape) -> Vec<super::Variable> {
        vec![("embeddings", vec![self.vocabulary, self.dim])]
    }

    fn takes_ids(&self) -> Option<usize> {
        Some(self.vocabulary)
    }
}
