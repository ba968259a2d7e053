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
pub const NAMES: &[&str] = &[
    "Input",
    "Dense",
    "Activation",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "Dot",
    "Model",
];

/// A layer whose arguments made sense.
#[derive(Clone)]
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
    Merge {
        op: Merge,
        normalize: bool,
    },
    /// A model type used as a layer: `Model<Encoder, 4, 8>`.
    Nested {
        ty: syn::Type,
        input: Size,
        output: Size,
    },
}

/// Keras's merging layers.
#[derive(Clone, Copy, PartialEq)]
pub enum Merge {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
    Concatenate,
    Dot,
}

/// How many inputs a layer is called on.
#[derive(Clone, Copy)]
pub enum Arity {
    One,
    Exactly(usize),
    AtLeast(usize),
}

impl Arity {
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::One => n == 1,
            Arity::Exactly(k) => n == k,
            Arity::AtLeast(k) => n >= k,
        }
    }
}

impl std::fmt::Display for Arity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arity::One => f.write_str("one input"),
            Arity::Exactly(k) => write!(f, "exactly {k} inputs"),
            Arity::AtLeast(k) => write!(f, "at least {k} inputs"),
        }
    }
}

/// How a model holds a layer.
pub enum Holder {
    /// No field: the layer has no weights (merges).
    Nothing,
    /// A field of this nn-core `Layer` type.
    Layer(TokenStream),
    /// A field of this `Model` type.
    Model(TokenStream),
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
            Spec::Nested { input, .. } => Some(*input),
            Spec::Input { .. } | Spec::Activation { .. } | Spec::Merge { .. } => None,
        }
    }

    /// How the user could give this layer its input size, if it can take one.
    pub fn input_hint(&self) -> Option<String> {
        match self {
            Spec::Dense { units, .. } => Some(format!("`Dense<N, {units}>`")),
            _ => None,
        }
    }

    /// The number of inputs the layer takes (zero for `Input`).
    pub fn arity(&self) -> Arity {
        match self {
            Spec::Input { .. } => Arity::Exactly(0),
            Spec::Dense { .. } | Spec::Activation { .. } | Spec::Nested { .. } => Arity::One,
            Spec::Merge { op: Merge::Subtract | Merge::Dot, .. } => Arity::Exactly(2),
            Spec::Merge { .. } => Arity::AtLeast(2),
        }
    }

    /// Output features for the given input sizes, or the index of the first input whose size
    /// differs from the first's where the layer needs them equal.
    pub fn output(&self, inputs: &[usize]) -> Result<usize, usize> {
        let first = inputs.first().copied().unwrap_or(0);
        match self {
            Spec::Input { size } => Ok(*size),
            Spec::Dense { units, .. } => Ok(*units),
            Spec::Activation { .. } => Ok(first),
            Spec::Nested { output, .. } => Ok(output.value),
            Spec::Merge { op: Merge::Concatenate, .. } => Ok(inputs.iter().sum()),
            Spec::Merge { op, .. } => match inputs.iter().position(|n| *n != first) {
                Some(i) => Err(i),
                None if *op == Merge::Dot => Ok(1),
                None => Ok(first),
            },
        }
    }

    /// Keras's class name.
    pub fn class(&self) -> &'static str {
        match self {
            Spec::Input { .. } => "InputLayer",
            Spec::Dense { .. } => "Dense",
            Spec::Activation { .. } => "Activation",
            Spec::Nested { .. } => "Model",
            Spec::Merge { op, .. } => match op {
                Merge::Add => "Add",
                Merge::Subtract => "Subtract",
                Merge::Multiply => "Multiply",
                Merge::Average => "Average",
                Merge::Maximum => "Maximum",
                Merge::Minimum => "Minimum",
                Merge::Concatenate => "Concatenate",
                Merge::Dot => "Dot",
            },
        }
    }

    /// Keras's automatic name prefix (`dense`, `dense_1`, ...): the class in snake case.
    pub fn prefix(&self) -> String {
        match self {
            Spec::Input { .. } => "input_layer".to_string(),
            Spec::Nested { .. } => "functional".to_string(),
            other => other.class().to_ascii_lowercase(),
        }
    }

    /// How a model holds the layer, over element type `t`, fed `input` features.
    pub fn holder(&self, input: usize, t: &TokenStream) -> Holder {
        match self {
            Spec::Input { .. } | Spec::Merge { .. } => Holder::Nothing,
            Spec::Dense { units, activation, use_bias, .. } => {
                let act = &activation.ty;
                Holder::Layer(quote!(::nn::layers::Dense<#t, #input, #units, #act, #use_bias>))
            }
            Spec::Activation { activation } => {
                let act = &activation.ty;
                Holder::Layer(quote!(::nn::layers::Activation<#t, #input, #act>))
            }
            Spec::Nested { ty, .. } => Holder::Model(quote!(#ty)),
        }
    }

    /// The expression applying a weightless layer to `args` (references to the inputs), giving
    /// `output` features; `None` for layers held in a field.
    pub fn merge_call(&self, args: &[TokenStream], output: usize) -> Option<TokenStream> {
        let Spec::Merge { op, normalize } = self else { return None };
        Some(match op {
            Merge::Add => quote!(::nn::merge::add([#(#args),*])),
            Merge::Subtract => quote!(::nn::merge::subtract(#(#args),*)),
            Merge::Multiply => quote!(::nn::merge::multiply([#(#args),*])),
            Merge::Average => quote!(::nn::merge::average([#(#args),*])),
            Merge::Maximum => quote!(::nn::merge::maximum([#(#args),*])),
            Merge::Minimum => quote!(::nn::merge::minimum([#(#args),*])),
            Merge::Concatenate => {
                quote!(::nn::merge::concatenate::<_, #output>(&[#((#args).as_slice()),*]))
            }
            Merge::Dot => quote!(::nn::merge::dot(#(#args,)* #normalize)),
        })
    }

    /// Keras's shapes of the layer's variables, in order, fed `input` features; `None` for a
    /// nested model, whose variables are its own layers'.
    pub fn variable_shapes(&self, input: usize) -> Option<Vec<Vec<usize>>> {
        match self {
            Spec::Dense { units, use_bias: true, .. } => Some(vec![vec![input, *units], vec![*units]]),
            Spec::Dense { units, use_bias: false, .. } => Some(vec![vec![input, *units]]),
            Spec::Input { .. } | Spec::Activation { .. } | Spec::Merge { .. } => Some(Vec::new()),
            Spec::Nested { .. } => None,
        }
    }

    /// Where the user wrote the layer's input and output sizes, for rustc's own type errors on
    /// what the macro cannot check itself (a nested model's real sizes).
    pub fn size_spans(&self) -> Option<(Span, Span)> {
        match self {
            Spec::Nested { input, output, .. } => Some((input.span, output.span)),
            _ => None,
        }
    }

    /// The const value of the layer's activation, when it has options to set after zeroing.
    pub fn activation_value(&self) -> Option<&TokenStream> {
        match self {
            Spec::Dense { activation, .. } | Spec::Activation { activation } => activation.value.as_ref(),
            _ => None,
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
        "Add" => merge(call, Merge::Add, cx),
        "Subtract" => merge(call, Merge::Subtract, cx),
        "Multiply" => merge(call, Merge::Multiply, cx),
        "Average" => merge(call, Merge::Average, cx),
        "Maximum" => merge(call, Merge::Maximum, cx),
        "Minimum" => merge(call, Merge::Minimum, cx),
        "Concatenate" => merge(call, Merge::Concatenate, cx),
        "Dot" => merge(call, Merge::Dot, cx),
        "Model" => nested(call, cx),
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
        cx.error(call.kind.span(), "`Input` needs its number of features: `Input<2>`");
        return None;
    };
    for extra in &call.args[1..] {
        cx.error(extra.span(), format!("`Input` takes one size, `Input<N>`; unexpected `{extra}`"));
    }
    size("Input", first, cx).map(|s| Spec::Input { size: s.value })
}

fn dense(call: &LayerCall, cx: &mut Ctxt) -> Option<Spec> {
    const FORMS: &str = "`Dense<UNITS>`, `Dense<UNITS, activation>` or `Dense<INPUTS, UNITS, activation>`";
    let (mut sizes, mut act, mut named) = (Vec::new(), None, Vec::new());
    for arg in &call.args {
        match arg {
            Arg::Number(_) if act.is_none() => sizes.push(arg),
            Arg::Name(_) | Arg::Call { .. } if act.is_none() => act = Some(arg),
            Arg::Named { .. } => named.push(arg),
            other => cx.error(other.span(), format!("unexpected `{other}` in `{call}`; write {FORMS}")),
        }
    }
    let use_bias = options::resolve("Dense", &named, &[Opt { name: "use_bias", kind: Kind::Bool }], cx)[0]
        .is_none_or(|(v, _)| v.bool());
    let activation = match act {
        Some(arg) => activation::resolve(arg, cx),
        None => Some(Act::linear()),
    };
    let sizes_args = &sizes;
    let sizes: Vec<Option<Size>> = sizes.iter().map(|a| size("Dense", a, cx)).collect();
    let (input, units) = match sizes.as_slice() {
        [] => {
            cx.error(call.kind.span(), format!("`Dense` needs its number of units; write {FORMS}"));
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
    Some(Spec::Dense { input, units: units.value, activation: activation?, use_bias })
}

fn activation_layer(call: &LayerCall, cx: &mut Ctxt) -> Option<Spec> {
    let Some(first) = call.args.first() else {
        cx.error(call.kind.span(), "`Activation` needs an activation: `Activation<relu>`");
        return None;
    };
    for extra in &call.args[1..] {
        cx.error(extra.span(), format!("`Activation` takes one activation; unexpected `{extra}`"));
    }
    activation::resolve(first, cx).map(|activation| Spec::Activation { activation })
}

fn merge(call: &LayerCall, op: Merge, cx: &mut Ctxt) -> Option<Spec> {
    let owner = call.kind.to_string();
    let args: Vec<&Arg> = call.args.iter().collect();
    let opts: &[Opt] = match op {
        Merge::Dot => &[Opt { name: "normalize", kind: Kind::Bool }],
        // Keras's `axis`/`axes` options only matter for tensors of rank > 1.
        _ => &[],
    };
    let values = options::resolve(&owner, &args, opts, cx);
    let normalize = values.first().and_then(|v| *v).is_some_and(|(v, _)| v.bool());
    Some(Spec::Merge { op, normalize })
}

fn nested(call: &LayerCall, cx: &mut Ctxt) -> Option<Spec> {
    const FORM: &str = "write `Model<Type, INPUTS, OUTPUTS>`, e.g. `Model<Encoder, 4, 8>`";
    let Some(ty) = call.model.clone() else {
        cx.error(call.kind.span(), format!("`Model` needs the model type and its sizes; {FORM}"));
        return None;
    };
    match call.args.as_slice() {
        [input, output] => {
            let (input, output) = (size("Model", input, cx), size("Model", output, cx));
            Some(Spec::Nested { ty, input: input?, output: output? })
        }
        _ => {
            cx.error(call.kind.span(), format!("`Model` takes the model's input and output sizes; {FORM}"));
            None
        }
    }
}

/// A positive whole number of features.
fn size(layer: &str, arg: &Arg, cx: &mut Ctxt) -> Option<Size> {
    match arg {
        Arg::Number(n) => match n.integer {
            Some(0) => cx.error(n.span, format!("`{layer}` sizes must be at least 1, found 0")),
            Some(v) => match usize::try_from(v) {
                Ok(value) => {
                    return Some(Size { value, span: n.span });
                }
                Err(_) => cx.error(n.span, format!("`{layer}` size {v} does not fit in usize")),
            },
            None => cx.error(n.span, format!("`{layer}` sizes are whole numbers of features, found `{arg}`")),
        },
        other => cx.error(other.span(), format!("expected a size for `{layer}`, found `{other}`")),
    }
    None
}
