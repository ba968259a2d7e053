//! `Bidirectional` and `TimeDistributed`, the layers that wrap another (nn-core's
//! `layers/wrappers.rs`). The wrapped layer is written as an argument, `Bidirectional<GRU<8>>`,
//! and read by its own entry of the catalog; the model holds it as a sublayer, so its weights
//! keep Keras's names (`bidirectional/forward_gru/gru_cell/kernel`).

use super::params::{self, Args, Kind, Param, param, positional};
use super::{Entry, LayerSpec, Spec, Sublayer, resolve, snake_case};
use crate::ast::{Arg, LayerCall};
use crate::ctxt::Ctxt;
use crate::shape::{MAX_RANK, Shape};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use std::rc::Rc;

const MODES: &[&str] = &["concat", "sum", "mul", "ave"];

const BIDIRECTIONAL_PARAMS: &[Param] = &[
    positional("layer", Kind::Layer),
    param("merge_mode", Kind::Choice(MODES)),
    // What Keras's config holds: the mirror of `layer`, checked to be exactly that.
    param("backward_layer", Kind::Layer),
];

const TIME_DISTRIBUTED_PARAMS: &[Param] = &[positional("layer", Kind::Layer)];

pub const BIDIRECTIONAL: Entry =
    Entry { name: "Bidirectional", params: BIDIRECTIONAL_PARAMS, read: bidirectional };

pub const TIME_DISTRIBUTED: Entry =
    Entry { name: "TimeDistributed", params: TIME_DISTRIBUTED_PARAMS, read: time_distributed };

/// The wrapped layer's spec, or an error at it if it is not one the wrapper can hold.
fn inner(call: &LayerCall, owner: &str, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    match resolve(call, cx)? {
        Spec::Layer(layer) => Some(layer),
        _ => {
            cx.error(
                call.kind.span(),
                format!("`{owner}` wraps a layer with its own weights or shape, not `{}`", call.kind),
            );
            None
        }
    }
}

/// The wrapped layer's Keras name: its label, or its class in snake case as Keras names it.
fn name_of(call: &LayerCall) -> String {
    call.label.as_ref().map_or_else(|| snake_case(&call.kind.to_string()), ToString::to_string)
}

/// The `go_backwards` written in `call` (false if none).
fn go_backwards(call: &LayerCall) -> bool {
    call.args.iter().any(|a| {
        matches!(a, Arg::Named { name, value } if name == "go_backwards" && matches!(&**value, Arg::Bool(b) if b.value))
    })
}

/// `call` with `go_backwards` flipped: Keras's backward half of a `Bidirectional`.
fn mirrored(call: &LayerCall) -> LayerCall {
    let flipped = !go_backwards(call);
    let mut args: Vec<Arg> = call
        .args
        .iter()
        .filter(|a| !matches!(a, Arg::Named { name, .. } if name == "go_backwards"))
        .cloned()
        .collect();
    let span = call.kind.span();
    args.push(Arg::Named {
        name: syn::Ident::new("go_backwards", span),
        value: Box::new(Arg::Bool(syn::LitBool::new(flipped, span))),
    });
    LayerCall { label: None, args, ..call.clone() }
}

fn bidirectional(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args: Args = params::read(call, BIDIRECTIONAL_PARAMS, &["layer"], cx)?;
    let layer = args.layer(args.at("layer"))?;
    let forward = inner(layer, "Bidirectional", cx)?;
    if !matches!(forward.class(), "SimpleRNN" | "GRU" | "LSTM") {
        cx.error(
            layer.kind.span(),
            format!(
                "`Bidirectional` wraps a recurrent layer (`SimpleRNN`, `GRU`, `LSTM`), not `{}`",
                layer.kind
            ),
        );
        return None;
    }
    if !forward.states(&Shape(vec![1, 1])).is_empty() {
        cx.error(
            layer.kind.span(),
            "`Bidirectional` over a layer with `return_state = true` is not supported yet",
        );
        return None;
    }
    // The mirror always reads: it is `layer` with one option changed.
    let backward = resolve(&mirrored(layer), &mut Ctxt::default()).and_then(|s| match s {
        Spec::Layer(l) => Some(l),
        _ => None,
    })?;
    let base = name_of(layer);
    let base = base.strip_prefix("forward_").unwrap_or(&base).to_string();
    let mut backward_name = format!("backward_{base}");
    if let Some(given) = args.layer(args.at("backward_layer")) {
        let same = |c: &LayerCall| {
            let mut opts: Vec<String> = mirrored(c).args.iter().map(ToString::to_string).collect();
            opts.sort();
            (c.kind.to_string(), opts)
        };
        if same(given) != same(&mirrored(layer)) {
            cx.error(
                given.kind.span(),
                "a `backward_layer` other than the mirror of `layer` (the same layer with `go_backwards` flipped) \
                 is not supported",
            );
            return None;
        }
        backward_name = name_of(given);
    }
    Some(Rc::new(Bidirectional {
        forward,
        backward,
        forward_name: format!("forward_{base}"),
        backward_name,
        mode: args.choice(args.at("merge_mode"), "concat"),
    }))
}

struct Bidirectional {
    forward: Rc<dyn LayerSpec>,
    backward: Rc<dyn LayerSpec>,
    forward_name: String,
    backward_name: String,
    mode: String,
}

impl LayerSpec for Bidirectional {
    fn mask(&self) -> super::Mask {
        self.forward.mask()
    }

    fn class(&self) -> &'static str {
        "Bidirectional"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let half = self.forward.output(input)?;
        Ok(if self.mode == "concat" { half.with_last(2 * half.last()) } else { half })
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let (f, b) = (self.forward.ty(input, t), self.backward.ty(input, t));
        let mode = format_ident!("{}", self.mode[..1].to_uppercase() + &self.mode[1..]);
        let y = self.output(input).map(|s| s.ty(t)).unwrap_or_else(|_| quote!(()));
        quote!(::nn::layers::Bidirectional<#f, #b, ::nn::layers::#mode, #y>)
    }

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        [self.forward.variables(input), self.backward.variables(input)].concat()
    }

    fn macs(&self, input: &Shape) -> usize {
        self.forward.macs(input).saturating_add(self.backward.macs(input))
    }

    fn stream(&self, _input: &Shape, _t: &TokenStream) -> Result<Option<TokenStream>, String> {
        Err("runs its backward half from the sequence's end, which a stream has not seen".into())
    }

    fn sublayers(&self, input: &Shape) -> Vec<Sublayer> {
        vec![
            Sublayer {
                path: vec!["forward"],
                name: self.forward_name.clone(),
                h5: "forward_layer".into(),
                spec: self.forward.clone(),
                input: input.clone(),
            },
            Sublayer {
                path: vec!["backward"],
                name: self.backward_name.clone(),
                h5: "backward_layer".into(),
                spec: self.backward.clone(),
                input: input.clone(),
            },
        ]
    }
}

fn time_distributed(call: &LayerCall, cx: &mut Ctxt) -> Option<Rc<dyn LayerSpec>> {
    let args: Args = params::read(call, TIME_DISTRIBUTED_PARAMS, &["layer"], cx)?;
    let layer = args.layer(args.at("layer"))?;
    let spec = inner(layer, "TimeDistributed", cx)?;
    if spec.takes_ids().is_some() {
        cx.error(
            layer.kind.span(),
            "`TimeDistributed` over an `Embedding` is not supported: embed the ids directly",
        );
        return None;
    }
    Some(Rc::new(TimeDistributed { layer: spec, name: name_of(layer) }))
}

struct TimeDistributed {
    layer: Rc<dyn LayerSpec>,
    name: String,
}

impl TimeDistributed {
    /// One step of `input`: the wrapped layer's input.
    fn step(input: &Shape) -> Result<Shape, String> {
        if input.rank() < 2 {
            return Err(format!(
                "runs its layer on each step of a sequence, but its input is {}",
                input.keras()
            ));
        }
        Ok(Shape(input.0[1..].to_vec()))
    }
}

impl LayerSpec for TimeDistributed {
    fn mask(&self) -> super::Mask {
        // Keras's keeps the mask and hands each step's to a layer whose call takes one.
        match self.layer.mask() {
            super::Mask::Reads { .. } => {
                super::Mask::Refuses("hands the mask of each step to its layer, which nn does not yet")
            }
            _ => super::Mask::Keeps,
        }
    }

    fn class(&self) -> &'static str {
        "TimeDistributed"
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let step = Self::step(input)?;
        let class = self.layer.class();
        if let Some(declared) = self.layer.declared_input()
            && declared.value != step.last()
        {
            return Err(format!(
                "wraps a `{class}` that expects {} inputs, but each step has {}",
                declared.value,
                step.last()
            ));
        }
        let out = self.layer.output(&step).map_err(|e| format!("its `{class}` {e}"))?;
        if out.rank() + 1 > MAX_RANK {
            return Err(format!(
                "would give steps of shape {}, and tensors of rank above {MAX_RANK} are not supported",
                out.keras()
            ));
        }
        Ok(Shape([&[input.0[0]][..], &out.0].concat()))
    }

    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        let step = Self::step(input).unwrap_or_else(|_| input.clone());
        let inner = self.layer.ty(&step, t);
        let (x, y) = (input.ty(t), self.output(input).map(|s| s.ty(t)).unwrap_or_else(|_| quote!(())));
        quote!(::nn::layers::TimeDistributed<#inner, #x, #y>)
    }

    fn variables(&self, input: &Shape) -> Vec<super::Variable> {
        Self::step(input).map(|step| self.layer.variables(&step)).unwrap_or_default()
    }

    fn macs(&self, input: &Shape) -> usize {
        Self::step(input).map_or(0, |step| self.layer.macs(&step).saturating_mul(input.0[0]))
    }

    fn stream(&self, input: &Shape, _t: &TokenStream) -> Result<Option<TokenStream>, String> {
        super::per_step(input)
    }

    fn sublayers(&self, input: &Shape) -> Vec<Sublayer> {
        let step = Self::step(input).unwrap_or_else(|_| input.clone());
        vec![Sublayer {
            path: vec!["layer"],
            name: self.name.clone(),
            h5: "layer".into(),
            spec: self.layer.clone(),
            input: step,
        }]
    }
}
