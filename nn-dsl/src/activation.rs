//! The activations the DSL knows: their names, options and the nn-core types they become.

use crate::ast::Arg;
use crate::ctxt::Ctxt;
use crate::options::{self, Kind, Opt};
use crate::spelling;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// Every name accepted, Keras's aliases included.
pub const NAMES: &[&str] = &[
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "silu",
    "swish",
    "hard_silu",
    "hard_swish",
    "softplus",
    "softsign",
    "exponential",
    "mish",
    "celu",
    "hard_tanh",
    "log_sigmoid",
    "sparse_plus",
    "squareplus",
    "tanh_shrink",
    "hard_shrink",
    "soft_shrink",
    "threshold",
];

/// A resolved activation.
#[derive(Clone)]
pub struct Act {
    /// Its type in nn-core, e.g. `::nn::activations::Relu`.
    pub ty: TokenStream,
    /// A const expression for its value, when it has options to set (`None` if zero-sized).
    pub value: Option<TokenStream>,
}

impl Act {
    pub fn linear() -> Act {
        unit("Linear")
    }

    /// nn-core's activation type `ty` without options (`"Tanh"`).
    pub fn named(ty: &str) -> Act {
        unit(ty)
    }

    /// A const expression for its value: its options, or the type's only value.
    pub fn value_expr(&self) -> TokenStream {
        let ty = &self.ty;
        self.value.clone().unwrap_or_else(|| quote!(<#ty as ::nn::activations::ActivationMeta>::DEFAULT))
    }
}

fn unit(ty: &str) -> Act {
    let ty = format_ident!("{ty}");
    Act { ty: quote!(::nn::activations::#ty), value: None }
}

/// Reads an activation argument (`relu`, `leaky_relu(0.1)`, `gelu(approximate = true)`).
pub fn resolve(arg: &Arg, cx: &mut Ctxt) -> Option<Act> {
    let (name, args): (_, Vec<&Arg>) = match arg {
        Arg::Name(name) => (name, Vec::new()),
        Arg::Call { name, args } => (name, args.iter().collect()),
        other => {
            cx.error(other.span(), format!("expected an activation such as `relu`, found `{other}`"));
            return None;
        }
    };
    let key = name.to_string();
    let number = |name| Opt { name, kind: Kind::Number };
    let mut opts = |spec: &[Opt]| options::resolve(&key, &args, spec, cx);
    Some(match key.as_str() {
        "relu" => {
            let v = opts(&[number("negative_slope"), number("max_value"), number("threshold")]);
            if v.iter().all(Option::is_none) {
                unit("Relu")
            } else {
                let get = |i: usize, default: f64| v[i].map_or(default, |(v, _)| v.number());
                let (slope, max, threshold) = (get(0, 0.0), get(1, f64::INFINITY), get(2, 0.0));
                let max = if max.is_infinite() { quote!(f64::INFINITY) } else { quote!(#max) };
                Act {
                    ty: quote!(::nn::activations::ReluOptions),
                    value: Some(quote!(::nn::activations::ReluOptions {
                        negative_slope: #slope, max_value: #max, threshold: #threshold
                    })),
                }
            }
        }
        "leaky_relu" => numbers(&key, "LeakyRelu", &[("negative_slope", 0.2)], &args, cx),
        "elu" => numbers(&key, "Elu", &[("alpha", 1.0)], &args, cx),
        "celu" => numbers(&key, "Celu", &[("alpha", 1.0)], &args, cx),
        "squareplus" => numbers(&key, "Squareplus", &[("b", 4.0)], &args, cx),
        "hard_shrink" => numbers(&key, "HardShrink", &[("threshold", 0.5)], &args, cx),
        "soft_shrink" => numbers(&key, "SoftShrink", &[("threshold", 0.5)], &args, cx),
        "threshold" => {
            // Keras's `threshold(x, threshold, default_value)` defaults neither option.
            let spec = [number("threshold"), number("default_value")];
            let given = options::resolve(&key, &args, &spec, cx);
            let missing = missing(&args, &spec);
            if !missing.is_empty() {
                let missing = missing.join("` and `");
                cx.error(
                    name.span(),
                    format!(
                        "`threshold` needs its `{missing}`, which Keras does not default: write \
                         `threshold(THRESHOLD, DEFAULT_VALUE)`"
                    ),
                );
                return None;
            }
            let [threshold, default_value] = [0, 1].map(|i| given[i].map_or(0.0, |(v, _)| v.number()));
            Act {
                ty: quote!(::nn::activations::Threshold),
                value: Some(quote!(::nn::activations::Threshold {
                    threshold: #threshold, default_value: #default_value
                })),
            }
        }
        "gelu" => {
            let v = opts(&[Opt { name: "approximate", kind: Kind::Bool }]);
            if v[0].is_some_and(|(v, _)| v.bool()) { unit("GeluTanh") } else { unit("Gelu") }
        }
        _ => {
            let ty = match key.as_str() {
                "linear" => "Linear",
                "relu6" => "Relu6",
                "selu" => "Selu",
                "sigmoid" => "Sigmoid",
                "hard_sigmoid" => "HardSigmoid",
                "tanh" => "Tanh",
                "softmax" => "Softmax",
                "log_softmax" => "LogSoftmax",
                "silu" | "swish" => "Silu",
                "hard_silu" | "hard_swish" => "HardSilu",
                "softplus" => "Softplus",
                "softsign" => "Softsign",
                "exponential" => "Exponential",
                "mish" => "Mish",
                "hard_tanh" => "HardTanh",
                "log_sigmoid" => "LogSigmoid",
                "sparse_plus" => "SparsePlus",
                "tanh_shrink" => "TanhShrink",
                _ => {
                    let hint = spelling::hint(&key, NAMES);
                    cx.error(name.span(), format!("unknown activation `{key}`; {hint}"));
                    return None;
                }
            };
            opts(&[]);
            unit(ty)
        }
    })
}

/// nn-core's activation `ty` with one `f64` field per option, each Keras's default (`defaults`,
/// by Keras's argument names) unless `args` gives it.
fn numbers(key: &str, ty: &str, defaults: &[(&'static str, f64)], args: &[&Arg], cx: &mut Ctxt) -> Act {
    let spec: Vec<Opt> = defaults.iter().map(|&(name, _)| Opt { name, kind: Kind::Number }).collect();
    let given = options::resolve(key, args, &spec, cx);
    let fields = defaults.iter().zip(given).map(|(&(name, default), v)| {
        let (field, value) = (format_ident!("{name}"), v.map_or(default, |(v, _)| v.number()));
        quote!(#field: #value)
    });
    let ty = format_ident!("{ty}");
    Act { ty: quote!(::nn::activations::#ty), value: Some(quote!(::nn::activations::#ty { #(#fields),* })) }
}

/// The options of `spec` that `args` does not mention, neither by position nor by name (one
/// given with a wrong value has its own error already).
fn missing(args: &[&Arg], spec: &[Opt]) -> Vec<&'static str> {
    let positional = args.iter().filter(|a| !matches!(a, Arg::Named { .. })).count();
    let named = |o: &Opt| args.iter().any(|a| matches!(a, Arg::Named { name, .. } if name == o.name));
    spec.iter().enumerate().filter(|&(i, o)| i >= positional && !named(o)).map(|(_, o)| o.name).collect()
}
