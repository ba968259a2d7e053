//! Meaning, for `sequential!`: resolves each layer, infers every shape front to back, names the
//! layers. Every mistake is recorded in the context; nothing here generates code. The naming and
//! element-type rules are shared with `graph`, which does the same for `functional!`.

use crate::ast::{ItemHeader, ModelDef};
use crate::catalog::{self, ShapeError, Spec};
use crate::ctxt::Ctxt;
use crate::ir::{Class, LayerNode, Model, Scalar, Step, Value};
use crate::shape::Shape;
use proc_macro2::{Ident, Span};
use std::collections::{HashMap, HashSet};

pub fn sequential(def: &ModelDef, cx: &mut Ctxt) -> Option<Model> {
    if def.layers.is_empty() {
        cx.error(def.span, "a model needs at least one layer, e.g. `sequential![Input<2>, Dense<1>]`");
        return None;
    }
    let specs: Vec<Option<Spec>> = def.layers.iter().map(|call| catalog::resolve(call, cx)).collect();

    // Shapes flow front to back. After a layer that failed to resolve the shape is unknown, and
    // checks that need it are skipped rather than reported twice.
    let mut model_input = None;
    let mut current: Option<Shape> = None;
    let mut shapes: Vec<Option<(Shape, Shape)>> = Vec::with_capacity(specs.len());
    for (i, (call, spec)) in def.layers.iter().zip(&specs).enumerate() {
        let Some(spec) = spec else {
            current = None;
            shapes.push(None);
            continue;
        };
        if let Spec::Input { shape } = spec {
            if i == 0 {
                model_input = Some(shape.clone());
            } else {
                cx.error(call.kind.span(), "`Input` can only be the first layer");
            }
            current = Some(shape.clone());
            shapes.push(None);
            continue;
        }
        if !spec.arity().accepts(1) {
            cx.error(
                call.kind.span(),
                format!(
                    "`{}` takes {}, which a Sequential model cannot give it; use `functional!`",
                    call.kind,
                    spec.arity()
                ),
            );
            current = None;
            shapes.push(None);
            continue;
        }
        let input = match (spec.declared_input(), current.take()) {
            (Some(declared), Some(previous)) if declared.value != previous.last() => {
                let outputs = if previous.rank() == 1 {
                    previous.last().to_string()
                } else {
                    format!("{previous} (last axis {})", previous.last())
                };
                cx.error(
                    declared.span,
                    format!(
                        "`{call}` expects {} inputs but the previous layer outputs {outputs}",
                        declared.value
                    ),
                );
                Some(previous.with_last(declared.value))
            }
            (_, Some(previous)) => Some(previous),
            (Some(declared), None) => Some(Shape::vector(declared.value)),
            (None, None) if i == 0 => {
                let how = spec.input_hint().map_or(String::new(), |h| format!(", or write it as {h}"));
                cx.error(
                    call.kind.span(),
                    format!("the first layer needs its input size: start the model with `Input<N>`{how}"),
                );
                None
            }
            (None, None) => None,
        };
        if i == 0 {
            model_input.clone_from(&input);
        }
        let output = input.as_ref().and_then(|shape| match spec.output(std::slice::from_ref(shape)) {
            Ok(out) => Some(out),
            Err(ShapeError::Message(why)) => {
                cx.error(call.kind.span(), format!("`{call}` {why}"));
                None
            }
            Err(ShapeError::Operand(_)) => None,
        });
        if let Some(shape) = &input
            && !spec.states(shape).is_empty()
        {
            cx.error(
                call.kind.span(),
                format!(
                    "`{call}` returns its final state as further outputs (`return_state`), which a Sequential \
                     model cannot pass on; use `functional!` and bind them: `(y, h) = {}<..>(x);`",
                    call.kind
                ),
            );
        }
        shapes.push(input.zip(output.clone()));
        current = output;
    }
    if specs.len() == 1 && matches!(specs[0], Some(Spec::Input { .. })) {
        cx.error(def.layers[0].kind.span(), "a model needs at least one layer after `Input`");
    }

    let wanted: Vec<_> = def.layers.iter().zip(&specs).map(|(c, s)| (c.label.as_ref(), s.as_ref())).collect();
    let names = keras_names(&wanted, cx);
    let scalar = scalar(def.item.as_ref(), cx);
    // Both shapes are known unless a mistake was reported.
    let (input, _output) = (model_input?, current?);
    if cx.has_errors() {
        return None;
    }

    let mut model = Model {
        scalar: scalar?,
        class: Class::Sequential,
        chain: true,
        inputs: vec![input],
        layers: Vec::new(),
        steps: Vec::new(),
        outputs: Vec::new(),
    };
    let mut previous = Value::Input(0);
    for (((spec, shape), name), call) in specs.into_iter().zip(shapes).zip(names).zip(&def.layers) {
        // `None` only for `Input` here: any other failure was reported and returns above.
        let (Some(spec), Some((input, output))) = (spec, shape) else { continue };
        model.steps.push(Step {
            layer: model.layers.len(),
            args: vec![previous],
            output: output.clone(),
            states: Vec::new(),
        });
        previous = Value::Step(model.steps.len() - 1);
        let span = call.kind.span();
        model.layers.push(LayerNode { name, span, spec, input, output, inbound: Vec::new() });
    }
    model.outputs.push(previous);
    model.check_ids(cx);
    crate::mask::check(&model, cx);
    Some(model)
}

/// `struct Name` is over `f32`; `struct Name<f64>` over `f64`; `struct Name<T>` generic.
pub fn scalar(item: Option<&ItemHeader>, cx: &mut Ctxt) -> Option<Scalar> {
    let Some(ident) = item.and_then(|h| h.scalar.as_ref()) else {
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
            format!("unknown element type `{name}`: write `f32`, `f64`, or a type parameter such as `T`"),
        );
        None
    }
}

/// Keras's layer names, one per `(explicit name, layer)` in creation order: an explicit name wins;
/// the rest count up per kind (`dense`, `dense_1`, ...), skipping names already taken.
pub fn keras_names(layers: &[(Option<&Ident>, Option<&Spec>)], cx: &mut Ctxt) -> Vec<Ident> {
    let mut taken = HashSet::new();
    for (label, _) in layers {
        if let Some(label) = label
            && !taken.insert(label.to_string())
        {
            cx.error(label.span(), format!("layer name `{label}` is used twice"));
        }
    }
    let mut counters: HashMap<String, usize> = HashMap::new();
    layers
        .iter()
        .map(|(label, spec)| {
            if let Some(label) = label {
                return (*label).clone();
            }
            let prefix = spec.map_or_else(|| "layer".to_string(), Spec::prefix);
            loop {
                let n = counters.entry(prefix.clone()).or_insert(0);
                let name = if *n == 0 { prefix.clone() } else { format!("{prefix}_{n}") };
                *n += 1;
                if taken.insert(name.clone()) {
                    return Ident::new(&name, Span::call_site());
                }
            }
        })
        .collect()
}
