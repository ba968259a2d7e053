//! A layer's arguments, declared once per layer by their Keras config names: the DSL reads them
//! from `Layer<positional, name = value>`, and `keras_model!` from a `.keras` config, through the
//! same declaration.

use crate::activation::{self, Act};
use crate::ast::{Arg, LayerCall};
use crate::ctxt::Ctxt;
use crate::initializer::{self, Given, Init};
use crate::spelling;

/// What a parameter accepts.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A whole number, at least `min`.
    Int {
        min: usize,
    },
    /// One whole number (at least 1) for each of `n` axes, or a single one for all of them:
    /// `kernel_size = 3` or `(5, 3)`.
    Ints(usize),
    /// As [`Kind::Ints`], zero allowed: `output_padding = (1, 0)`.
    Offsets(usize),
    /// Padding or cropping of `n` axes, each `(before, after)`: `1`, `(1, 2)` (a pair for one
    /// axis, or one number per axis for several), or `((1, 0), (2, 1))`.
    Pads(usize),
    /// A tuple of whole numbers of any length, `-1` allowed once: Reshape's target shape.
    /// `None`, Keras's unknown size (Dropout's `noise_shape = (None, 1, 8)`), reads as `-1`.
    Dims,
    /// One of these names, written bare: `padding = same`.
    Choice(&'static [&'static str]),
    Bool,
    /// Any number: `epsilon = 1e-3`, `rate = 0.5`.
    Number,
    /// A string, or a bare name: EinsumDense's `"abc,cde->abde"`, `bias_axes = "de"`.
    Text,
    /// A number, or a tuple of numbers: Normalization's `mean = (0.5, 1.0, 2.0)`.
    Numbers,
    /// An axis of the input with its batch axis counted, as Keras numbers them: negative ones
    /// count from the end (`axis = -1`).
    Axis,
    /// One axis or a tuple of them: PReLU's `shared_axes = (1, 2)`.
    Axes,
    /// An activation, written as in `Dense<8, relu>`.
    Activation,
    /// A layer, as a wrapper's argument: `TimeDistributed<Dense<8>>`, `TimeDistributed<Flatten>`.
    Layer,
    /// A weight initializer, by Keras's snake-case name with its options: `he_normal`,
    /// `orthogonal(gain = 2.0)`. The parameter is named `<field>_initializer` after the field of
    /// nn-core's `Initializers` it sets (`kernel_initializer`), and read with
    /// [`Args::initializers`].
    Initializer,
}

/// One parameter, named as in Keras's layer config.
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    /// Whether it may be given without its name, in declaration order among the positional ones.
    pub positional: bool,
}

pub const fn param(name: &'static str, kind: Kind) -> Param {
    Param { name, kind, positional: false }
}

pub const fn positional(name: &'static str, kind: Kind) -> Param {
    Param { name, kind, positional: true }
}

/// A value read for a parameter.
#[derive(Clone)]
pub enum Value {
    Ints(Vec<usize>),
    Pads(Vec<(usize, usize)>),
    Dims(Vec<i64>),
    Choice(String),
    Text(String),
    Bool(bool),
    Numbers(Vec<f64>),
    Axes(Vec<i64>),
    Activation(Act),
    Layer(Box<LayerCall>),
    Initializer(Init),
}

/// The values read for a layer's parameters, by position in its declaration.
pub struct Args {
    names: Vec<&'static str>,
    values: Vec<Option<Value>>,
}

impl Args {
    /// The position of parameter `name` in the layer's declaration.
    ///
    /// # Panics
    /// If the layer declares no such parameter: a mistake in the catalog, not in the user's
    /// model, caught by any test of the layer.
    pub fn at(&self, name: &str) -> usize {
        self.names.iter().position(|n| *n == name).unwrap_or_else(|| panic!("no parameter `{name}`"))
    }

    /// The whole number given for parameter `i`, or `default`.
    pub fn int(&self, i: usize, default: usize) -> usize {
        match &self.values[i] {
            Some(Value::Ints(v)) => v[0],
            _ => default,
        }
    }

    /// The per-axis numbers given for parameter `i`, or `default` on every axis.
    pub fn ints(&self, i: usize, axes: usize, default: usize) -> Vec<usize> {
        match &self.values[i] {
            Some(Value::Ints(v)) => v.clone(),
            _ => vec![default; axes],
        }
    }

    /// The numbers given for parameter `i`, if any.
    pub fn given_ints(&self, i: usize) -> Option<Vec<usize>> {
        match &self.values[i] {
            Some(Value::Ints(v)) => Some(v.clone()),
            _ => None,
        }
    }

    pub fn pads(&self, i: usize, axes: usize) -> Vec<(usize, usize)> {
        match &self.values[i] {
            Some(Value::Pads(v)) => v.clone(),
            _ => vec![(0, 0); axes],
        }
    }

    pub fn dims(&self, i: usize) -> Vec<i64> {
        match &self.values[i] {
            Some(Value::Dims(v)) => v.clone(),
            _ => Vec::new(),
        }
    }

    /// The sizes given for parameter `i`, if it was given.
    pub fn given_dims(&self, i: usize) -> Option<Vec<i64>> {
        match &self.values[i] {
            Some(Value::Dims(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// The text given for parameter `i`, if any.
    pub fn text(&self, i: usize) -> Option<String> {
        match &self.values[i] {
            Some(Value::Text(t)) => Some(t.clone()),
            _ => None,
        }
    }

    pub fn choice(&self, i: usize, default: &str) -> String {
        match &self.values[i] {
            Some(Value::Choice(c)) => c.clone(),
            _ => default.to_string(),
        }
    }

    pub fn bool(&self, i: usize, default: bool) -> bool {
        match &self.values[i] {
            Some(Value::Bool(b)) => *b,
            _ => default,
        }
    }

    /// The number given for parameter `i`, or `default`.
    pub fn number(&self, i: usize, default: f64) -> f64 {
        match &self.values[i] {
            Some(Value::Numbers(v)) => v[0],
            _ => default,
        }
    }

    /// The numbers given for parameter `i`, if any (one for a bare number).
    pub fn numbers(&self, i: usize) -> Option<Vec<f64>> {
        match &self.values[i] {
            Some(Value::Numbers(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// The axes given for parameter `i` (one for a bare axis), if any.
    pub fn axes(&self, i: usize) -> Option<Vec<i64>> {
        match &self.values[i] {
            Some(Value::Axes(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// The layer given for parameter `i`, if any.
    pub fn layer(&self, i: usize) -> Option<&LayerCall> {
        match &self.values[i] {
            Some(Value::Layer(call)) => Some(call),
            _ => None,
        }
    }

    /// Every initializer given (the parameters of kind [`Kind::Initializer`]), for the layer's
    /// [`LayerSpec::initializers`](super::LayerSpec::initializers).
    pub fn initializers(&self) -> Given {
        let mut given = Given::default();
        for (name, value) in self.names.iter().zip(&self.values) {
            if let Some(Value::Initializer(init)) = value {
                given.add(name, init.clone());
            }
        }
        given
    }

    pub fn activation(&self, i: usize) -> Act {
        self.activation_or(i, Act::linear())
    }

    /// The activation given for parameter `i`, or `default`.
    pub fn activation_or(&self, i: usize, default: Act) -> Act {
        match &self.values[i] {
            Some(Value::Activation(a)) => a.clone(),
            _ => default,
        }
    }
}

/// Reads `call`'s arguments against `params`: positional ones in order (a bare activation goes
/// to the `Activation` parameter wherever it stands), then `name = value`. Parameters marked
/// `required` must be given. Every mistake is recorded in `cx`; `None` if there was one.
pub fn read(call: &LayerCall, params: &[Param], required: &[&str], cx: &mut Ctxt) -> Option<Args> {
    let owner = call.kind.to_string();
    let mut values: Vec<Option<Value>> = vec![None; params.len()];
    let mut given = vec![false; params.len()];
    let mut ok = true;
    let mut next_positional = params.iter().enumerate().filter(|(_, p)| p.positional).map(|(i, _)| i);
    let activation_slot = params.iter().position(|p| matches!(p.kind, Kind::Activation));
    for arg in &call.args {
        let (index, value) = match arg {
            Arg::Named { name, value } => {
                let key = name.to_string();
                match params.iter().position(|p| p.name == key) {
                    Some(i) => (i, &**value),
                    None => {
                        // Every layer of the table also takes `trainable` (see `catalog::resolve`).
                        let names: Vec<&str> = params.iter().map(|p| p.name).chain(["trainable"]).collect();
                        cx.error(
                            name.span(),
                            format!("unknown option `{key}` for `{owner}`; {}", spelling::hint(&key, &names)),
                        );
                        ok = false;
                        continue;
                    }
                }
            }
            Arg::Name(_) | Arg::Call { .. } if activation_slot.is_some() => {
                (activation_slot.unwrap_or(0), arg)
            }
            positional => match next_positional.next() {
                Some(i) => (i, positional),
                None => {
                    cx.error(
                        positional.span(),
                        format!("unexpected `{positional}` in `{call}`; write options as `name = value`"),
                    );
                    ok = false;
                    continue;
                }
            },
        };
        let param = &params[index];
        if std::mem::replace(&mut given[index], true) {
            cx.error(arg.span(), format!("option `{}` of `{owner}` is given twice", param.name));
            ok = false;
            continue;
        }
        match value_of(&owner, param, value, cx) {
            Some(v) => values[index] = Some(v),
            None => ok = false,
        }
    }
    for name in required {
        if let Some(i) = params.iter().position(|p| p.name == *name)
            && !given[i]
        {
            cx.error(call.kind.span(), format!("`{owner}` needs its `{name}`: {}", usage(&owner, params)));
            ok = false;
        }
    }
    ok.then_some(Args { names: params.iter().map(|p| p.name).collect(), values })
}

/// The layer's form, for errors: `Conv2D<filters, kernel_size, strides = .., ..>`.
fn usage(owner: &str, params: &[Param]) -> String {
    let mut parts: Vec<String> = params.iter().filter(|p| p.positional).map(|p| p.name.to_string()).collect();
    parts.extend(params.iter().filter(|p| !p.positional).map(|p| format!("{} = ..", p.name)));
    format!("write `{owner}<{}>`", parts.join(", "))
}

fn value_of(owner: &str, param: &Param, arg: &Arg, cx: &mut Ctxt) -> Option<Value> {
    let name = param.name;
    let whole = |arg: &Arg, min: usize, cx: &mut Ctxt| -> Option<usize> {
        match arg {
            Arg::Number(n) => match n.integer.and_then(|v| usize::try_from(v).ok()) {
                Some(v) if v >= min => Some(v),
                _ => {
                    let at_least = if min == 0 { String::new() } else { format!(" of at least {min}") };
                    cx.error(
                        n.span,
                        format!("`{name}` of `{owner}` must be a whole number{at_least}, found `{arg}`"),
                    );
                    None
                }
            },
            other => {
                cx.error(
                    other.span(),
                    format!("option `{name}` of `{owner}` takes a number, found `{other}`"),
                );
                None
            }
        }
    };
    let least = usize::from(!matches!(param.kind, Kind::Offsets(_)));
    match param.kind {
        Kind::Int { min } => whole(arg, min, cx).map(|v| Value::Ints(vec![v])),
        Kind::Ints(axes) | Kind::Offsets(axes) => match arg {
            Arg::Tuple { items, span } => {
                if items.len() != axes {
                    cx.error(
                        *span,
                        format!(
                            "option `{name}` of `{owner}` takes {axes} numbers, one per axis, found {}",
                            items.len()
                        ),
                    );
                    return None;
                }
                items.iter().map(|a| whole(a, least, cx)).collect::<Option<Vec<_>>>().map(Value::Ints)
            }
            other => whole(other, least, cx).map(|v| Value::Ints(vec![v; axes])),
        },
        Kind::Pads(axes) => {
            let pair = |arg: &Arg, cx: &mut Ctxt| -> Option<(usize, usize)> {
                match arg {
                    Arg::Tuple { items, .. } if items.len() == 2 => {
                        Some((whole(&items[0], 0, cx)?, whole(&items[1], 0, cx)?))
                    }
                    Arg::Tuple { span, .. } => {
                        cx.error(
                            *span,
                            format!("option `{name}` of `{owner}` takes `(before, after)` pairs"),
                        );
                        None
                    }
                    other => whole(other, 0, cx).map(|v| (v, v)),
                }
            };
            match arg {
                Arg::Tuple { items, .. } if axes == 1 && items.len() == 2 => {
                    pair(arg, cx).map(|p| Value::Pads(vec![p]))
                }
                Arg::Tuple { items, span } if axes > 1 => {
                    if items.len() != axes {
                        cx.error(
                            *span,
                            format!(
                                "option `{name}` of `{owner}` takes {axes} entries, one per axis, found {}",
                                items.len()
                            ),
                        );
                        return None;
                    }
                    items.iter().map(|a| pair(a, cx)).collect::<Option<Vec<_>>>().map(Value::Pads)
                }
                other => pair(other, cx).map(|p| Value::Pads(vec![p; axes])),
            }
        }
        Kind::Dims => {
            let items: Vec<&Arg> = match arg {
                Arg::Tuple { items, .. } => items.iter().collect(),
                other => vec![other],
            };
            let mut dims = Vec::new();
            for item in items {
                match item {
                    Arg::Number(n) if n.value == -1.0 => dims.push(-1),
                    Arg::Name(n) if n == "None" => dims.push(-1),
                    other => match i64::try_from(whole(other, 1, cx)?) {
                        Ok(size) => dims.push(size),
                        Err(_) => {
                            cx.error(
                                other.span(),
                                format!("`{name}` of `{owner}` has a size too large for nn, `{other}`"),
                            );
                            return None;
                        }
                    },
                }
            }
            Some(Value::Dims(dims))
        }
        Kind::Choice(choices) => match arg {
            Arg::Name(n) if choices.contains(&n.to_string().as_str()) => Some(Value::Choice(n.to_string())),
            other => {
                let list: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
                cx.error(
                    other.span(),
                    format!("option `{name}` of `{owner}` is one of {}, found `{other}`", list.join(", ")),
                );
                None
            }
        },
        Kind::Bool => match arg {
            Arg::Bool(b) => Some(Value::Bool(b.value)),
            other => {
                cx.error(
                    other.span(),
                    format!("option `{name}` of `{owner}` takes `true` or `false`, found `{other}`"),
                );
                None
            }
        },
        Kind::Text => match arg {
            Arg::Str(text) => Some(Value::Text(text.value())),
            Arg::Name(text) => Some(Value::Text(text.to_string())),
            other => {
                cx.error(
                    other.span(),
                    format!("option `{name}` of `{owner}` takes a string, found `{other}`"),
                );
                None
            }
        },
        Kind::Number => match arg {
            Arg::Number(n) => Some(Value::Numbers(vec![n.value])),
            other => {
                cx.error(
                    other.span(),
                    format!("option `{name}` of `{owner}` takes a number, found `{other}`"),
                );
                None
            }
        },
        // `axis = None` (Keras's `axis=None`, saved as `()`): no axes.
        Kind::Axes if matches!(arg, Arg::Name(n) if n == "None") => Some(Value::Axes(Vec::new())),
        Kind::Numbers | Kind::Axis | Kind::Axes => {
            let items = if matches!(param.kind, Kind::Axis) { vec![arg] } else { arg_items(arg) };
            let (mut numbers, mut axes) = (Vec::new(), Vec::new());
            for item in items {
                match item {
                    Arg::Number(n) if matches!(param.kind, Kind::Numbers) => numbers.push(n.value),
                    Arg::Number(n) if n.value.fract() == 0.0 => axes.push(n.value as i64),
                    other => {
                        let what = if matches!(param.kind, Kind::Numbers) { "numbers" } else { "whole axes" };
                        cx.error(
                            other.span(),
                            format!("option `{name}` of `{owner}` takes {what}, found `{other}`"),
                        );
                        return None;
                    }
                }
            }
            Some(if matches!(param.kind, Kind::Numbers) {
                Value::Numbers(numbers)
            } else {
                Value::Axes(axes)
            })
        }
        Kind::Activation => activation::resolve(arg, cx).map(Value::Activation),
        Kind::Initializer => initializer::resolve(owner, name, arg, cx).map(Value::Initializer),
        Kind::Layer => match arg {
            Arg::Layer(call) => Some(Value::Layer(call.clone())),
            Arg::Name(kind) => Some(Value::Layer(Box::new(LayerCall {
                label: None,
                kind: kind.clone(),
                model: None,
                args: Vec::new(),
            }))),
            other => {
                cx.error(
                    other.span(),
                    format!("option `{name}` of `{owner}` takes a layer, such as `GRU<8>`, found `{other}`"),
                );
                None
            }
        },
    }
}

/// The items of a tuple argument, or the argument itself.
fn arg_items(arg: &Arg) -> Vec<&Arg> {
    match arg {
        Arg::Tuple { items, .. } => items.iter().collect(),
        other => vec![other],
    }
}
