//! `Attention`, `AdditiveAttention`, `MultiHeadAttention` and `GroupQueryAttention` (nn-core's
//! `layers/attention.rs`):
//! a query sequence attends over a value sequence, called as Keras calls them on `[query,
//! value]` or `[query, value, key]`: `out = Attention<use_scale = true>(query, value)`,
//! `out = MultiHeadAttention<4, 16>(query, value)`. Keras's `use_causal_mask` call argument is
//! a layer option here (a `.keras` file's is read from the call); `dropout` drops attention
//! weights in training, as Keras's does (with nn's seeded draws).

use super::params::{self, Kind, Param, param, positional};
use super::{Arity, Entry, LayerSpec, Sublayer};
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
    param("return_attention_scores", Kind::Bool),
];
const ADDITIVE_PARAMS: &[Param] = &[
    param("use_scale", Kind::Bool),
    param("dropout", Kind::Number),
    param("seed", Kind::Int { min: 0 }),
    param("use_causal_mask", Kind::Bool),
    param("return_attention_scores", Kind::Bool),
];

const MULTI_HEAD_PARAMS: &[Param] = &[
    positional("num_heads", Kind::Int { min: 1 }),
    positional("key_dim", Kind::Int { min: 1 }),
    param("value_dim", Kind::Int { min: 1 }),
    param("dropout", Kind::Number),
    param("use_bias", Kind::Bool),
    param("output_shape", Kind::Dims),
    param("attention_axes", Kind::Axes),
    param("sliding_window", Kind::Int { min: 1 }),
    param("flash_attention", Kind::Bool),
    param("use_gate", Kind::Bool),
    param("kernel_initializer", Kind::Initializer),
    param("bias_initializer", Kind::Initializer),
    param("seed", Kind::Int { min: 0 }),
    param("use_causal_mask", Kind::Bool),
    param("return_attention_scores", Kind::Bool),
    // Set by a call `(query, value, attention_mask = mask)`: the last input is Keras's
    // `attention_mask`.
    param("attention_mask", Kind::Bool),
];

const GROUPED_PARAMS: &[Param] = &[
    positional("head_dim", Kind::Int { min: 1 }),
    positional("num_query_heads", Kind::Int { min: 1 }),
    positional("num_key_value_heads", Kind::Int { min: 1 }),
    param("dropout", Kind::Number),
    param("use_bias", Kind::Bool),
    param("sliding_window", Kind::Int { min: 1 }),
    param("flash_attention", Kind::Bool),
    param("use_gate", Kind::Bool),
    param("kernel_initializer", Kind::Initializer),
    param("bias_initializer", Kind::Initializer),
    param("seed", Kind::Int { min: 0 }),
    param("use_causal_mask", Kind::Bool),
    param("return_attention_scores", Kind::Bool),
    param("attention_mask", Kind::Bool),
];

pub const ATTENTION: Entry = Entry {
    name: "Attention",
    params: ATTENTION_PARAMS,
    read: |c, cx| {
        let args = params::read(c, ATTENTION_PARAMS, &[], cx)?;
        let mode = if args.choice(1, "dot") == "concat" { Mode::Concat } else { Mode::Dot };
        let flags = (args.bool(4, false), args.bool(5, false));
        read(c, mode, args.bool(0, false), args.number(2, 0.0), flags, cx)
    },
};

pub const ADDITIVE_ATTENTION: Entry = Entry {
    name: "AdditiveAttention",
    params: ADDITIVE_PARAMS,
    read: |c, cx| {
        let args = params::read(c, ADDITIVE_PARAMS, &[], cx)?;
        let flags = (args.bool(3, false), args.bool(4, false));
        read(c, Mode::Additive, args.bool(0, true), args.number(1, 0.0), flags, cx)
    },
};

/// `flags`: `use_causal_mask` and `return_attention_scores`.
fn read(
    call: &LayerCall,
    mode: Mode,
    use_scale: bool,
    dropout: f64,
    (causal, scores): (bool, bool),
    cx: &mut Ctxt,
) -> Option<Rc<dyn LayerSpec>> {
    if !(0.0..1.0).contains(&dropout) {
        cx.error(
            call.option_span("dropout"),
            format!("`{}` takes a `dropout` from 0 to below 1", mode.class()),
        );
        return None;
    }
    Some(Rc::new(Attention { mode, use_scale, dropout, causal, scores, inputs: Vec::new() }))
}

/// An attention layer called on one input.
fn one_input(input: &Shape) -> Result<Shape, String> {
    Err(format!("takes [query, value] or [query, value, key], not one input {}", input.keras()))
}

/// The query, value and key (the value for a pair) of an attention layer's inputs, if they are
/// sequences and the key has the value's steps.
fn sequences(inputs: &[Shape]) -> Result<(&Shape, &Shape, &Shape), String> {
    let names = ["query", "value", "key"];
    if let Some((k, s)) = inputs.iter().enumerate().find(|(_, s)| s.rank() != 2) {
        return Err(format!("takes sequences (steps, features), but its {} is {}", names[k], s.keras()));
    }
    let (q, v) = (&inputs[0], &inputs[1]);
    let k = inputs.get(2).unwrap_or(v);
    if k.0[0] != v.0[0] {
        return Err(format!(
            "takes a key with one step per value step: its value is {} and its key {}",
            v.keras(),
            k.keras()
        ));
    }
    Ok((q, v, k))
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
    /// Keras's `return_attention_scores`: the weights as a further output.
    scores: bool,
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
    fn mask(&self) -> super::Mask {
        // Its scores masked by its inputs' masks; its output keeps the query's.
        super::Mask::Reads { keeps: true }
    }

    fn class(&self) -> &'static str {
        self.mode.class()
    }

    fn arity(&self) -> Arity {
        Arity::Between(2, 3)
    }

    fn trains(&self) -> bool {
        true
    }

    /// Keras's `dropout`, which the layer applies to its attention weights in training.
    fn options(&self, _input: &Shape, _t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        let rate = self.dropout;
        if rate > 0.0 { vec![("dropout", quote!(#rate))] } else { Vec::new() }
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        one_input(input)
    }

    fn output_of(&self, inputs: &[Shape]) -> Result<Shape, String> {
        let (q, v, k) = sequences(inputs)?;
        let key = if inputs.len() > 2 { "key" } else { "key (the value)" };
        if k.0[1] != q.0[1] {
            return Err(format!(
                "scores each query step against each key step, which must have as many features: its \
                 query is {} and its {key} is {}",
                q.keras(),
                k.keras()
            ));
        }
        Ok(Shape(vec![q.0[0], v.0[1]]))
    }

    fn bind(&self, inputs: &[Shape]) -> Option<Rc<dyn LayerSpec>> {
        Some(Rc::new(Attention { inputs: inputs.to_vec(), ..self.clone() }))
    }

    fn macs(&self, _input: &Shape) -> usize {
        // The scores (each query against each value) and their weighted sum of the values.
        let (tq, tv, d, dv) = self.sizes();
        tq.saturating_mul(tv).saturating_mul(d + dv)
    }

    /// With `return_attention_scores`, the weights: query steps by value steps.
    fn states(&self, _input: &Shape) -> Vec<Shape> {
        let (tq, tv, _, _) = self.sizes();
        if self.scores { vec![Shape(vec![tq, tv])] } else { Vec::new() }
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

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        let d = input.last();
        let scale = match self.scales(d) {
            0 => None,
            _ if self.mode == Mode::Additive => Some(("scale", vec![d])),
            _ => Some(("scale", Vec::new())),
        };
        let weight = (self.mode == Mode::Concat).then(|| ("concat_score_weight", Vec::new()));
        scale.into_iter().chain(weight).collect()
    }
}

pub const MULTI_HEAD_ATTENTION: Entry =
    Entry { name: "MultiHeadAttention", params: MULTI_HEAD_PARAMS, read: multi_head };

pub const GROUPED_QUERY_ATTENTION: Entry =
    Entry { name: "GroupQueryAttention", params: GROUPED_PARAMS, read: grouped };

fn multi_head(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args = params::read(call, MULTI_HEAD_PARAMS, &["num_heads", "key_dim"], cx)?;
    let at = |name| args.at(name);
    // Keras counts the batch axis: a sequence's steps are axis 1 (or -2).
    if let Some(axes) =
        args.axes(at("attention_axes")).filter(|a| a.as_slice() != [1] && a.as_slice() != [-2])
    {
        let why =
            format!("over `attention_axes` {axes:?} is not supported: nn attends over a sequence's steps");
        cx.error(call.option_span("attention_axes"), format!("`MultiHeadAttention` {why}"));
        return None;
    }
    let output = match args.given_dims(at("output_shape")).as_deref() {
        None => None,
        Some(dims @ ([_] | [_, _])) if dims.iter().all(|&o| o > 0) => {
            Some(dims.iter().map(|&o| o as usize).collect())
        }
        Some(other) => {
            let dims: Vec<String> = other.iter().map(i64::to_string).collect();
            let why = format!(
                "with `output_shape` ({}) is not supported: nn gives one or two axes of features (each at least 1)",
                dims.join(", ")
            );
            cx.error(call.option_span("output_shape"), format!("`MultiHeadAttention` {why}"));
            return None;
        }
    };
    let (heads, key_dim) = (args.int(0, 1), args.int(1, 1));
    let value_dim = args.int(at("value_dim"), key_dim);
    let spec = MultiHead {
        heads,
        kv_heads: heads,
        grouped: false,
        key_dim,
        value_dim,
        output,
        ..common(call, &args, cx)?
    };
    Some(Rc::new(spec))
}

fn grouped(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args =
        params::read(call, GROUPED_PARAMS, &["head_dim", "num_query_heads", "num_key_value_heads"], cx)?;
    let (head, heads, kv_heads) = (args.int(0, 1), args.int(1, 1), args.int(2, 1));
    if !heads.is_multiple_of(kv_heads) {
        cx.error(
            call.option_span("num_key_value_heads"),
            format!(
                "`GroupQueryAttention` shares each key and value head among a run of query heads: \
                 `num_query_heads` {heads} is not a multiple of `num_key_value_heads` {kv_heads}"
            ),
        );
        return None;
    }
    let spec = MultiHead {
        heads,
        kv_heads,
        grouped: true,
        key_dim: head,
        value_dim: head,
        ..common(call, &args, cx)?
    };
    Some(Rc::new(spec))
}

/// What `MultiHeadAttention` and `GroupedQueryAttention` share: the options they refuse and
/// the dropout, biases, mask and initializers, with one head of one size.
fn common(call: &LayerCall, args: &params::Args, cx: &mut Ctxt) -> Option<MultiHead> {
    let class = call.kind.to_string();
    let refuse = |option: &str, why: &str, cx: &mut Ctxt| {
        cx.error(call.option_span(option), format!("`{class}` {why}"));
    };
    if args.given_ints(args.at("sliding_window")).is_some() {
        refuse("sliding_window", "with a `sliding_window` is not supported", cx);
        return None;
    }
    if args.bool(args.at("use_gate"), false) {
        refuse("use_gate", "with `use_gate` is not supported", cx);
        return None;
    }
    let dropout = args.number(args.at("dropout"), 0.0);
    if !(0.0..1.0).contains(&dropout) {
        refuse("dropout", "takes a `dropout` from 0 to below 1", cx);
        return None;
    }
    Some(MultiHead {
        heads: 1,
        kv_heads: 1,
        grouped: false,
        key_dim: 1,
        value_dim: 1,
        dropout,
        bias: args.bool(args.at("use_bias"), true),
        output: None,
        causal: args.bool(args.at("use_causal_mask"), false),
        scores: args.bool(args.at("return_attention_scores"), false),
        attention_mask: args.bool(args.at("attention_mask"), false),
        initializers: args.initializers().expr(),
        inputs: Vec::new(),
    })
}

#[derive(Clone)]
struct MultiHead {
    /// Query heads, and key and value heads (as many for `MultiHeadAttention`).
    heads: usize,
    kv_heads: usize,
    /// Whether it is Keras's `GroupedQueryAttention`.
    grouped: bool,
    key_dim: usize,
    value_dim: usize,
    dropout: f64,
    bias: bool,
    /// Keras's `output_shape`, when given: the features out, one or two axes of them (else the
    /// query's).
    output: Option<Vec<usize>>,
    causal: bool,
    /// Keras's `return_attention_scores`: the weights as a further output.
    scores: bool,
    /// Whether it is called with Keras's `attention_mask`, its last input, after the key (the
    /// value again when no key is given: `(query, value, value, mask)`).
    attention_mask: bool,
    initializers: Option<TokenStream>,
    /// The shapes it is called on (query, value and perhaps key), once known.
    inputs: Vec<Shape>,
}

impl MultiHead {
    /// The query, value and key shapes it is bound to (the key the value's for a pair).
    fn shapes(&self) -> Option<(&Shape, &Shape, &Shape)> {
        match self.inputs.as_slice() {
            [q, v] => Some((q, v, v)),
            [q, v, k] | [q, v, k, _] => Some((q, v, k)),
            _ => None,
        }
    }

    /// The query, value and key of `inputs`, without the attention mask if it takes one (whose
    /// shape must be `(query steps, value steps)`), or why they do not fit.
    fn split<'a>(&self, inputs: &'a [Shape]) -> Result<&'a [Shape], String> {
        if !self.attention_mask {
            return Ok(inputs);
        }
        let (Some((mask, rest)), true) = (inputs.split_last(), inputs.len() == 4) else {
            return Err("takes `(query, value, attention_mask = mask)` or `(query, value, key, attention_mask =                         mask)`"
                .into());
        };
        let (q, v) = (&rest[0], &rest[1]);
        if q.rank() == 2 && v.rank() == 2 && mask.0 != [q.0[0], v.0[0]] {
            return Err(format!(
                "takes an attention mask of one value per query step and value step, {}, but its mask is {}",
                Shape(vec![q.0[0], v.0[0]]).keras(),
                mask.keras()
            ));
        }
        Ok(rest)
    }

    /// The projections and the join, as Keras builds them (its names, its `.weights.h5`
    /// groups), each fed what it projects.
    fn projections(&self) -> Vec<Sublayer> {
        let Some((q, v, k)) = self.shapes() else { return Vec::new() };
        let (n, g) = (self.heads as i64, self.kv_heads as i64);
        let (kd, vd) = (self.key_dim as i64, self.value_dim as i64);
        let out: Vec<i64> = self.output.clone().unwrap_or(vec![q.last()]).iter().map(|&o| o as i64).collect();
        let heads = Shape(vec![q.0[0], self.heads, self.value_dim]);
        let einsum = |equation, shape: Vec<i64>| {
            super::dense::einsum(equation, shape, self.bias, self.initializers.clone())
        };
        let project = ("abc", "cde", "abde");
        let sub = |field, name: &str, h5: &str, input: &Shape, spec| Sublayer {
            path: vec![field],
            name: name.into(),
            h5: h5.into(),
            spec,
            input: input.clone(),
        };
        // Keras saves MultiHeadAttention's projections under their properties' names, and
        // GroupedQueryAttention's (which has no such properties) under their attributes'.
        let h5 = if self.grouped {
            ["_query_dense", "_key_dense", "_value_dense", "_output_dense"]
        } else {
            ["query_dense", "key_dense", "value_dense", "output_dense"]
        };
        let join = match out[..] {
            [o1, o2] => einsum(("abcd", "cdef", "abef"), vec![-1, o1, o2]),
            _ => einsum(("abcd", "cde", "abe"), [vec![-1], out].concat()),
        };
        vec![
            sub("query", "query", h5[0], q, einsum(project, vec![-1, n, kd])),
            sub("key", "key", h5[1], k, einsum(project, vec![-1, g, kd])),
            sub("value", "value", h5[2], v, einsum(project, vec![-1, g, vd])),
            sub("output", "attention_output", h5[3], &heads, join),
        ]
    }
}

impl LayerSpec for MultiHead {
    fn mask(&self) -> super::Mask {
        // Its scores masked by its inputs' masks; its output keeps the query's.
        super::Mask::Reads { keeps: true }
    }

    fn class(&self) -> &'static str {
        // Keras exports `GroupQueryAttention`; its class, which names it, is this.
        if self.grouped { "GroupedQueryAttention" } else { "MultiHeadAttention" }
    }

    /// Keras exports `GroupQueryAttention`, whose class (in summaries and configs) is
    /// `GroupedQueryAttention`.
    fn keras_class(&self) -> Option<&'static str> {
        self.grouped.then_some("GroupedQueryAttention")
    }

    fn arity(&self) -> Arity {
        if self.attention_mask { Arity::Exactly(4) } else { Arity::Between(2, 3) }
    }

    fn trains(&self) -> bool {
        true
    }

    /// Keras's `dropout`, which the layer applies to its attention weights in training.
    fn options(&self, _input: &Shape, _t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        let rate = self.dropout;
        if rate > 0.0 { vec![("dropout", quote!(#rate))] } else { Vec::new() }
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        one_input(input)
    }

    fn output_of(&self, inputs: &[Shape]) -> Result<Shape, String> {
        let (q, v, _) = sequences(self.split(inputs)?)?;
        if self.grouped && v.0[1] != q.0[1] {
            return Err(format!(
                "takes a value with the query's features (its output has them): its query is {} and its \
                 value {}",
                q.keras(),
                v.keras()
            ));
        }
        Ok(Shape([vec![q.0[0]], self.output.clone().unwrap_or(vec![q.0[1]])].concat()))
    }

    fn bind(&self, inputs: &[Shape]) -> Option<Rc<dyn LayerSpec>> {
        Some(Rc::new(MultiHead { inputs: inputs.to_vec(), ..self.clone() }))
    }

    fn macs(&self, _input: &Shape) -> usize {
        // The projections of the query, key and value, each head's scores and weighted values,
        // and the output's projection.
        let Some((q, v, k)) = self.shapes() else { return 0 };
        let (tq, tv) = (q.len() / q.last().max(1), v.len() / v.last().max(1));
        let (kd, vd) = (self.key_dim, self.value_dim);
        let out: usize = self.output.as_ref().map_or(q.last(), |o| o.iter().product());
        let tk = k.len() / k.last().max(1);
        let product = |factors: &[usize]| factors.iter().fold(1usize, |p, &f| p.saturating_mul(f));
        [
            product(&[tq, q.last(), self.heads, kd]),
            product(&[tk, k.last(), self.kv_heads, kd]),
            product(&[tv, v.last(), self.kv_heads, vd]),
            product(&[self.heads, tq, tv, kd.saturating_add(vd)]),
            product(&[tq, self.heads, vd, out]),
        ]
        .iter()
        .fold(0usize, |sum, &m| sum.saturating_add(m))
    }

    /// With `return_attention_scores`, each query head's weights: heads by query steps by
    /// value steps.
    fn states(&self, _input: &Shape) -> Vec<Shape> {
        match self.shapes() {
            Some((q, v, _)) if self.scores => vec![Shape(vec![self.heads, q.0[0], v.0[0]])],
            _ => Vec::new(),
        }
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let Some((q, v, k)) = self.shapes() else { return quote!(()) };
        let x: Vec<TokenStream> = self.inputs.iter().map(|s| s.ty(t)).collect();
        let (tq, tv, dq, dv, dk) = (q.0[0], v.0[0], q.0[1], v.0[1], k.0[1]);
        let (n, g, kd, vd) = (self.heads, self.kv_heads, self.key_dim, self.value_dim);
        let out = self.output.clone().unwrap_or(vec![input.last()]);
        let (o, o1, o2) = (out.iter().product::<usize>(), out[0], out.get(1).copied().unwrap_or(0));
        let (nk, gk, gv, nv) = (n * kd, g * kd, g * vd, n * vd);
        let (bias, causal) = (self.bias, self.causal);
        let y = Shape([vec![tq], out].concat()).ty(t);
        quote!(::nn::layers::MultiHeadAttention<
            #t, (#(#x),*), #tq, #tv, #dq, #dv, #dk, #n, #g, #kd, #vd, #nk, #gk, #gv, #nv, #o, #bias, #causal, #y, #o1, #o2
        >)
    }

    fn variables(&self, _input: &Shape) -> Vec<super::Variable> {
        self.projections().iter().flat_map(|p| p.spec.variables(&p.input)).collect()
    }

    fn initializers(&self) -> Option<TokenStream> {
        self.initializers.clone()
    }

    fn sublayers(&self, _input: &Shape) -> Vec<Sublayer> {
        self.projections()
    }
}
