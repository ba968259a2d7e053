//! The layer table: for each layer the DSL knows, how its arguments read, its output shape and
//! the nn-core type it becomes. Adding a layer means adding a variant here and its type in nn-core.

use crate::activation::{self, Act};
use crate::ast::{Arg, LayerCall};
use crate::ctxt::Ctxt;
use crate::options::{self, Kind, Opt};
use crate::spelling;
use proc_macro2::{Span, TokenStream};
use quote::quote;

/// Every layer name accepted.
pub const NAMES: &[&str] = &["Input", "Dense", "Activation"];

/// A layer whose arguments made sense.
pub enum Spec {
    Input {
        size: usize,
    },
    Dense {
        input: Option<Size>,
        units: usize,
        activation: Act,
        use_bias: bool,
    },
    Activation {
        activation: Act,
    },
}

/// A size as written, kept with its span for mismatch errors.
#[derive(Clone, Copy)]
pub struct Size {
    pub value: usize,
    pub span: Span,
}

impl Spec {
    /// The input size the layer itself declares (`Dense<IN, OUT>`), if any.
    pub fn declared_input(&self) -> Option<Size> {
        match self {
            Spec::Dense { input, .. } => *input,
            Spec::Input { .. } | Spec::Activation { .. } => None,
        }
    }

    /// How the user could give this layer its input size, if it can take one.
    pub fn input_hint(&self) -> Option<String> {
        match self {
            Spec::Dense { units, .. } => Some(format!("`Dense<N, {units}>`")),
            Spec::Input { .. } | Spec::Activation { .. } => None,
        }
    }

    /// Output features for `input` input features.
    pub fn output(&self, input: usize) -> usize {
        match self {
            Spec::Input { size } => *size,
            Spec::Dense { units, .. } => *units,
            Spec::Activation { .. } => input,
        }
    }

    /// Keras's automatic name prefix (`dense`, `dense_1`, ...).
    pub fn prefix(&self) -> &'static str {
        match self {
            Spec::Input { .. } => "input_layer",
            Spec::Dense { .. } => "dense",
            Spec::Activation { .. } => "activation",
        }
    }

    /// The nn-core type of the layer over element type `t`, fed `input` features.
    pub fn ty(&self, input: usize, t: &TokenStream) -> TokenStream {
        match self {
            Spec::Input { .. } => quote!(()),
            Spec::Dense {
                units,
                activation,
                use_bias,
                ..
            } => {
                let act = &activation.ty;
                quote!(::nn::layers::Dense<#t, #input, #units, #act, #use_bias>)
            }
            Spec::Activation { activation } => {
                let act = &activation.ty;
                quote!(::nn::layers::Activation<#t, #input, #act>)
            }
        }
    }

    /// The const value of the layer's activation, when it has options to set after zeroing.
    pub fn activation_value(&self) -> Option<&TokenStream> {
        match self {
            Spec::Dense { activation, .. } | Spec::Activation { activation } => {
                activation.value.as_ref()
            }
            Spec::Input { .. } => None,
        }
    }
}

/// Reads one layer call, recording every mistake in `cx`.
pub fn resolve(call: &LayerCall, cx: &mut Ctxt) -> Option<Spec> {
    let kind = call.kind.to_string();
    match kind.as_str() {
        "Input" => input(call, cx),
        "Dense" => dense(call, cx),
        "Activation" => activation_layer(call, cx),
        _ => {
            let hint = if activation::NAMES.contains(&kind.as_str()) {
                format!("an activation on its own is written `Activation<{kind}>`")
            } else {
                spelling::hint(&kind, NAMES)
            };
            cx.error(call.kind.span(), format!("unknown layer `{kind}`; {hint}"));
            None
        }
    }
}

fn input(call: &LayerCall, cx: &mut Ctxt) -> Option<Spec> {
    let Some(first) = call.args.first() else {
        cx.error(
            call.kind.span(),
            "`Input` needs its number of features: `Input<2>`",
        );
        return None;
    };
    for extra in &call.args[1..] {
        cx.error(
            extra.span(),
            format!("`Input` takes one size, `Input<N>`; unexpected `{extra}`"),
        );
    }
    size("Input", first, cx).map(|s| Spec::Input { size: s.value })
}

fn dense(call: &LayerCall, cx: &mut Ctxt) -> Option<Spec> {
    const FORMS: &str =
        "`Dense<UNITS>`, `Dense<UNITS, activation>` or `Dense<INPUTS, UNITS, activation>`";
    let (mut sizes, mut act, mut named) = (Vec::new(), None, Vec::new());
    for arg in &call.args {
        match arg {
            Arg::Number(_) if act.is_none() => sizes.push(arg),
            Arg::Name(_) | Arg::Call { .. } if act.is_none() => act = Some(arg),
            Arg::Named { .. } => named.push(arg),
            other => cx.error(
                other.span(),
                format!("unexpected `{other}` in `{call}`; write {FORMS}"),
            ),
        }
    }
    let use_bias = options::resolve(
        "Dense",
        &named,
        &[Opt {
            name: "use_bias",
            kind: Kind::Bool,
        }],
        cx,
    )[0]
    .is_none_or(|(v, _)| v.bool());
    let activation = match act {
        Some(arg) => activation::resolve(arg, cx),
        None => Some(Act::linear()),
    };
    let sizes_args = &sizes;
    let sizes: Vec<Option<Size>> = sizes.iter().map(|a| size("Dense", a, cx)).collect();
    let (input, units) = match sizes.as_slice() {
        [] => {
            cx.error(
                call.kind.span(),
                format!("`Dense` needs its number of units; write {FORMS}"),
            );
            return None;
        }
        [units] => (None, (*units)?),
        [input, units] => (Some((*input)?), (*units)?),
        [_, _, ..] => {
            cx.error(
                sizes_args[2].span(),
                format!("`Dense` takes at most two sizes, inputs and units; write {FORMS}"),
            );
            return None;
        }
    };
    Some(Spec::Dense {
        input,
        units: units.value,
        activation: activation?,
        use_bias,
    })
}

fn activation_layer(call: &LayerCall, cx: &mut Ctxt) -> Option<Spec> {
    let Some(first) = call.args.first() else {
        cx.error(
            call.kind.span(),
            "`Activation` needs an activation: `Activation<relu>`",
        );
        return None;
    };
    for extra in &call.args[1..] {
        cx.error(
            extra.span(),
            format!("`Activation` takes one activation; unexpected `{extra}`"),
        );
    }
    activation::resolve(first, cx).map(|activation| Spec::Activation { activation })
}

/// A positive whole number of features.
fn size(layer: &str, arg: &Arg, cx: &mut Ctxt) -> Option<Size> {
    match arg {
        Arg::Number(n) => match n.integer {
            Some(0) => cx.error(
                n.span,
                format!("`{layer}` sizes must be at least 1, found 0"),
            ),
            Some(v) => match usize::try_from(v) {
                Ok(value) => {
                    return Some(Size {
                        value,
                        span: n.span,
                    });
                }
                Err(_) => cx.error(n.span, format!("`{layer}` size {v} does not fit in usize")),
            },
            None => cx.error(
                n.span,
                format!("`{layer}` sizes are whole numbers of features, found `{arg}`"),
            ),
        },
        other => cx.error(
            other.span(),
            format!("expected a size for `{layer}`, found `{other}`"),
        ),
    }
    None
}
