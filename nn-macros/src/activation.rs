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
        "leaky_relu" => {
            let v = opts(&[number("negative_slope")]);
            let slope = v[0].map_or(0.2, |(v, _)| v.number());
            Act {
                ty: quote!(::nn::activations::LeakyRelu),
                value: Some(quote!(::nn::activations::LeakyRelu { negative_slope: #slope })),
            }
        }
        "elu" => {
            let v = opts(&[number("alpha")]);
            let alpha = v[0].map_or(1.0, |(v, _)| v.number());
            Act {
                ty: quote!(::nn::activations::Elu),
                value: Some(quote!(::nn::activations::Elu { alpha: #alpha })),
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
