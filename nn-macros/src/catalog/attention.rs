//! `Attention` and `AdditiveAttention` (nn-core's `layers/attention.rs`): a query sequence
//! attends over a value sequence, called as Keras calls them on `[query, value]` or
//! `[query, value, key]`: `out = Attention<use_scale = true>(query, value)`. Keras's
//! `use_causal_mask` call argument is a layer option here (a `.keras` file's is read from the
//! call); its `dropout`, on the attention weights in training, is read and leaves the layer
//! untrained.

use super::params::{self, Kind, Param, param};
use super::{Arity, Entry, LayerSpec};
use crate::ast::LayerCall;
use crate::ctxt::Ctxt;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use std::rc::Rc;

const ATTENTION_PARAMS: &[Param] = &[
    param("use_scale", Kind::Bool),
    param("score_mode", Kind::Choice(&["dot", "concat"])),
    param("dropout", Kind::Number),
    param("seed", Kind::Int { min: 0 }),
    param("use_causal_mask", Kind::Bool),
];
const ADDITIVE_PARAMS: &[Param] = &[
    param("use_scale", Kind::Bool),
    param("dropout", Kind::Number),
    param("seed", Kind::Int { min: 0 }),
    param("use_causal_mask", Kind::Bool),
];

pub const ATTENTION: Entry = Entry {
    name: "Attention",
    params: ATTENTION_PARAMS,
    read: |c, cx| {
        let args = params::read(c, ATTENTION_PARAMS, &[], cx)?;
        let mode = if args.choice(1, "dot") == "concat" { Mode::Concat } else { Mode::Dot };
        read(c, mode, args.bool(0, false), args.number(2, 0.0), args.bool(4, false), cx)
    },
};

pub const ADDITIVE_ATTENTION: Entry = Entry {
    name: "AdditiveAttention",
    params: ADDITIVE_PARAMS,
    read: |c, cx| {
        let args = params::read(c, ADDITIVE_PARAMS, &[], cx)?;
        read(c, Mode::Additive, args.bool(0, true), args.number(1, 0.0), args.bool(3, false), cx)
    },
};

fn read(
    call: &LayerCall,
    mode: Mode,
    use_scale: bool,
    dropout: f64,
    causal: bool,
    cx: &mut Ctxt,
) -> Option<Rc<dyn LayerSpec>> {
    if !(0.0..1.0).contains(&dropout) {
        cx.error(call.kind.span(), format!("`{}` takes a `dropout` from 0 to below 1", mode.class()));
        return None;
    }
    Some(Rc::new(Attention { mode, use_scale, dropout, causal, inputs: Vec::new() }))
}

/// How the scores are computed: nn-core's `DOT`, `CONCAT` or `ADDITIVE`.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Dot,
    Concat,
    Additive,
}

impl Mode {
    fn class(self) -> &'static str {
        match self {
            Mode::Additive => "AdditiveAttention",
            _ => "Attention",
        }
    }
}

#[derive(Clone)]
struct Attention {
    mode: Mode,
    use_scale: bool,
    dropout: f64,
    causal: bool,
    /// The shapes it is called on (query, value and perhaps key), once known.
    inputs: Vec<Shape>,
}

impl Attention {
    /// `(TQ, TV, D, DV)` of the inputs it is bound to.
    fn sizes(&self) -> (usize, usize, usize, usize) {
        match self.inputs.as_slice() {
            [q, v, ..] if q.rank() == 2 && v.rank() == 2 => (q.0[0], v.0[0], q.0[1], v.0[1]),
            _ => (0, 0, 0, 0),
        }
    }

    /// `scale`'s values: one for `Attention` with `use_scale`, one per query feature for
    /// `AdditiveAttention`, else none.
    fn scales(&self, d: usize) -> usize {
        match (self.use_scale, self.mode) {
            (false, _) => 0,
            (true, Mode::Additive) => d,
            (true, _) => 1,
        }
    }
}

impl LayerSpec for Attention {
    fn class(&self) -> &'static str {
        self.mode.class()
    }

    fn arity(&self) -> Arity {
        Arity::Between(2, 3)
    }

    fn trains(&self) -> bool {
        self.dropout == 0.0
    }

    fn untrained(&self) -> &'static str {
        "drops attention weights in training (`dropout`), which nn does not implement"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        Err(format!("takes [query, value] or [query, value, key], not one input {}", input.keras()))
    }

    fn output_of(&self, inputs: &[Shape]) -> Result<Shape, String> {
        let names = ["query", "value", "key"];
        if let Some((k, s)) = inputs.iter().enumerate().find(|(_, s)| s.rank() != 2) {
            return Err(format!("takes sequences (steps, features), but its {} is {}", names[k], s.keras()));
        }
        let (q, v) = (&inputs[0], &inputs[1]);
        let k = inputs.get(2).unwrap_or(v);
        let key = if inputs.len() > 2 { "key" } else { "key (the value)" };
        if k.0[1] != q.0[1] {
            return Err(format!(
                "scores each query step against each key step, which must have as many features: its \
                 query is {} and its {key} is {}",
                q.keras(),
                k.keras()
            ));
        }
        if k.0[0] != v.0[0] {
            return Err(format!(
                "takes a key with one step per value step: its value is {} and its key {}",
                v.keras(),
                k.keras()
            ));
        }
        Ok(Shape(vec![q.0[0], v.0[1]]))
    }

    fn bind(&self, inputs: &[Shape]) -> Option<Rc<dyn LayerSpec>> {
        Some(Rc::new(Attention { inputs: inputs.to_vec(), ..self.clone() }))
    }

    fn ty(&self, _input: &Shape, t: &TokenStream) -> TokenStream {
        let (tq, tv, d, dv) = self.sizes();
        let x: Vec<TokenStream> = self.inputs.iter().map(|s| s.ty(t)).collect();
        let mode = match self.mode {
            Mode::Dot => quote!({ ::nn::layers::DOT }),
            Mode::Concat => quote!({ ::nn::layers::CONCAT }),
            Mode::Additive => quote!({ ::nn::layers::ADDITIVE }),
        };
        let (sc, cw, causal) = (self.scales(d), usize::from(self.mode == Mode::Concat), self.causal);
        quote!(::nn::layers::Attention<#t, (#(#x),*), #tq, #tv, #d, #dv, #mode, #sc, #cw, #causal>)
    }

    fn variables(&self, input: &Shape) -> Vec<Vec<usize>> {
        let d = input.last();
        let scale = match self.scales(d) {
            0 => None,
            _ if self.mode == Mode::Additive => Some(vec![d]),
            _ => Some(Vec::new()),
        };
        let weight = (self.mode == Mode::Concat).then(Vec::new);
        scale.into_iter().chain(weight).collect()
    }
}
