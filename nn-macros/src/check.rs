//! Meaning: resolves each layer, infers every shape, names the layers. Every mistake is recorded
//! in the context; nothing here generates code.

use crate::ast::ModelDef;
use crate::catalog::{self, Spec};
use crate::ctxt::Ctxt;
use proc_macro2::{Ident, Span};
use std::collections::{HashMap, HashSet};

/// A model whose every layer and shape checked out.
pub struct Checked {
    pub scalar: Scalar,
    pub input: usize,
    pub output: usize,
    /// The layers after `Input`, in order.
    pub layers: Vec<Node>,
}

/// The model's element type.
pub enum Scalar {
    /// `f32` (the default) or `f64`.
    Concrete(Ident),
    /// A type parameter: the model is generic over every `nn::Float`.
    Generic(Ident),
}

pub struct Node {
    /// The layer's name, also its field in the model struct.
    pub name: Ident,
    pub spec: Spec,
    pub input: usize,
    pub output: usize,
}

pub fn sequential(def: &ModelDef, cx: &mut Ctxt) -> Option<Checked> {
    if def.layers.is_empty() {
        cx.error(
            def.span,
            "a model needs at least one layer, e.g. `sequential![Input<2>, Dense<1>]`",
        );
        return None;
    }
    let specs: Vec<Option<Spec>> = def
        .layers
        .iter()
        .map(|call| catalog::resolve(call, cx))
        .collect();

    // Shapes flow front to back. After a layer that failed to resolve the size is unknown, and
    // checks that need it are skipped rather than reported twice.
    let mut model_input = None;
    let mut current: Option<usize> = None;
    let mut sizes = Vec::with_capacity(specs.len());
    for (i, (call, spec)) in def.layers.iter().zip(&specs).enumerate() {
        let Some(spec) = spec else {
            current = None;
            sizes.push(None);
            continue;
        };
        if let Spec::Input { size } = spec {
            if i == 0 {
                model_input = Some(*size);
            } else {
                cx.error(call.kind.span(), "`Input` can only be the first layer");
            }
            current = Some(*size);
            sizes.push(None);
            continue;
        }
        let input = match (spec.declared_input(), current) {
            (Some(declared), Some(previous)) if declared.value != previous => {
                cx.error(
                    declared.span,
                    format!(
                        "`{call}` expects {} inputs but the previous layer outputs {previous}",
                        declared.value
                    ),
                );
                Some(declared.value)
            }
            (Some(declared), _) => Some(declared.value),
            (None, Some(previous)) => Some(previous),
            (None, None) if i == 0 => {
                let how = spec
                    .input_hint()
                    .map_or(String::new(), |h| format!(", or write it as {h}"));
                cx.error(
                    call.kind.span(),
                    format!(
                        "the first layer needs its input size: start the model with `Input<N>`{how}"
                    ),
                );
                None
            }
            (None, None) => None,
        };
        if i == 0 {
            model_input = input;
        }
        sizes.push(input.map(|n| (n, spec.output(n))));
        current = input.map(|n| spec.output(n));
    }
    if specs.len() == 1 && matches!(specs[0], Some(Spec::Input { .. })) {
        cx.error(
            def.layers[0].kind.span(),
            "a model needs at least one layer after `Input`",
        );
    }

    let names = names(def, &specs, cx);
    let mut layers = Vec::new();
    for ((spec, size), name) in specs.into_iter().zip(sizes).zip(names) {
        if let (Some(spec), Some((input, output))) = (spec, size) {
            layers.push(Node {
                name,
                spec,
                input,
                output,
            });
        }
    }
    let scalar = scalar(def, cx);
    Some(Checked {
        scalar: scalar?,
        input: model_input?,
        output: current?,
        layers,
    })
}

/// `struct Name` is over `f32`; `struct Name<f64>` over `f64`; `struct Name<T>` generic.
fn scalar(def: &ModelDef, cx: &mut Ctxt) -> Option<Scalar> {
    let Some(ident) = def.item.as_ref().and_then(|h| h.scalar.as_ref()) else {
        return Some(Scalar::Concrete(Ident::new("f32", Span::call_site())));
    };
    let name = ident.to_string();
    if name == "f32" || name == "f64" {
        Some(Scalar::Concrete(ident.clone()))
    } else if name.starts_with(char::is_uppercase) {
        Some(Scalar::Generic(ident.clone()))
    } else {
        cx.error(
            ident.span(),
            format!(
                "unknown element type `{name}`: write `f32`, `f64`, or a type parameter such as `T`"
            ),
        );
        None
    }
}

/// Keras's layer names: an explicit `name: Layer` wins; the rest count up per kind (`dense`,
/// `dense_1`, ...), skipping names already taken.
fn names(def: &ModelDef, specs: &[Option<Spec>], cx: &mut Ctxt) -> Vec<Ident> {
    let mut taken = HashSet::new();
    for call in &def.layers {
        if let Some(label) = &call.label
            && !taken.insert(label.to_string())
        {
            cx.error(label.span(), format!("layer name `{label}` is used twice"));
        }
    }
    let mut counters: HashMap<&str, usize> = HashMap::new();
    def.layers
        .iter()
        .zip(specs)
        .map(|(call, spec)| {
            if let Some(label) = &call.label {
                return label.clone();
            }
            let prefix = spec.as_ref().map_or("layer", Spec::prefix);
            loop {
                let n = counters.entry(prefix).or_insert(0);
                let name = if *n == 0 {
                    prefix.to_string()
                } else {
                    format!("{prefix}_{n}")
                };
                *n += 1;
                if taken.insert(name.clone()) {
                    return Ident::new(&name, Span::call_site());
                }
            }
        })
        .collect()
}
