//! The masks Keras 3 writes into a functional config. `Embedding(mask_zero=True)`'s mask is an
//! operation `NotEqual(ids, 0)` and `Masking`'s is `Any(NotEqual(x, mask_value), axis=-1)`,
//! each handed to the layers that read it as their call's `mask`. nn computes the same masks
//! by its own rules ([`crate::mask`]), so these operations are read, checked against those
//! rules, and not compiled.

use super::{Json, histories, history_of};
use crate::catalog::Mask;
use crate::ir::{Model, Value};

/// Whether a layer of the config is one of the operations computing a mask.
pub(super) fn is_mask_op(class: &str) -> bool {
    matches!(class, "NotEqual" | "Any")
}

/// For each layer (not an operation) of a functional config, its name and the layer whose mask
/// Keras hands its first call (`None` for none); an error for a mask nn does not compute, or
/// an operation read as data.
pub(super) fn expected(layers: &[Json]) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    for layer in layers {
        let (class, name) = class_and_name(layer);
        let nodes = layer.get("inbound_nodes").and_then(Json::as_array).unwrap_or(&[]);
        if is_mask_op(class) {
            continue;
        }
        for node in nodes {
            let mut read = Vec::new();
            histories(node.get("args").unwrap_or(&Json::Null), &mut read);
            if let Some((op, ..)) = read.iter().find(|(l, ..)| op_class(layers, l).is_some()) {
                return Err(format!(
                    "layer `{name}`: it reads the operation `{op}`, which nn reads only as the mask of \
                     `Masking` or of `Embedding` with `mask_zero`"
                ));
            }
        }
        let mask = nodes.first().and_then(|n| n.get("kwargs")).and_then(|k| k.get("mask"));
        let producer = match mask.and_then(|m| m.get("config")).and_then(|c| c.get("keras_history")) {
            Some(history) => Some(producer(layers, history).ok_or_else(|| {
                format!(
                    "layer `{name}`: its `mask` is not one nn computes (the mask of `Masking` or of \
                     `Embedding` with `mask_zero`)"
                )
            })?),
            None => None,
        };
        out.push((name.to_string(), producer));
    }
    Ok(out)
}

/// Every layer nn gives a mask to, or Keras does, gets the same one: nn's rules agree with
/// Keras's for this model.
pub(super) fn check(model: &Model, expected: &[(String, Option<String>)]) -> Result<(), String> {
    let origins = crate::mask::origins(model);
    for step in &model.steps {
        let layer = &model.layers[step.layer];
        let name = layer.name.to_string();
        let nn = match step.args.first() {
            Some(Value::Step(k)) => origins[*k].map(|o| model.layers[model.steps[o].layer].name.to_string()),
            _ => None,
        };
        let nn = nn.filter(|_| matches!(layer.spec.mask(), Mask::Reads { .. }));
        let keras = expected.iter().find(|(n, _)| *n == name).and_then(|(_, p)| p.clone());
        if nn != keras {
            let says = |p: &Option<String>| {
                p.as_ref().map_or("no mask".to_string(), |p| format!("the mask of `{p}`"))
            };
            return Err(format!(
                "layer `{name}`: Keras gives it {}, but nn would give it {}",
                says(&keras),
                says(&nn)
            ));
        }
    }
    Ok(())
}

fn class_and_name(layer: &Json) -> (&str, &str) {
    let class = layer.get("class_name").and_then(Json::as_str).unwrap_or("?");
    let name = layer.get("config").and_then(|c| c.get("name")).and_then(Json::as_str).unwrap_or("?");
    (class, name)
}

/// The layer named `name`, if it is a mask operation: its class.
fn op_class<'a>(layers: &'a [Json], name: &str) -> Option<&'a str> {
    let layer = find(layers, name)?;
    Some(class_and_name(layer).0).filter(|c| is_mask_op(c))
}

fn find<'a>(layers: &'a [Json], name: &str) -> Option<&'a Json> {
    layers.iter().find(|l| class_and_name(l).1 == name)
}

/// The arguments of a layer's first call: its tensors' `[layer, node, tensor]` and its numbers.
fn first_call(layer: &Json) -> (Vec<(String, usize, usize)>, Vec<f64>) {
    let node = layer.get("inbound_nodes").and_then(Json::as_array).and_then(|n| n.first());
    let args = node.and_then(|n| n.get("args")).and_then(Json::as_array).unwrap_or(&[]);
    let mut tensors = Vec::new();
    histories(&Json::Array(args.to_vec()), &mut tensors);
    (tensors, args.iter().filter_map(Json::as_f64).collect())
}

/// The layer making the mask whose tensor has this `keras_history`: `NotEqual(ids, 0)` is the
/// mask of the `Embedding` with `mask_zero` reading those ids, `Any(NotEqual(x, v), axis=-1)`
/// the mask of the `Masking` with `mask_value` `v` reading `x`.
fn producer(layers: &[Json], history: &Json) -> Option<String> {
    let (op, ..) = history_of(history).ok()?;
    let op = find(layers, op)?;
    let (class, _) = class_and_name(op);
    let (not_equal, masking) = match class {
        "Any" => {
            let config = op.get("config")?;
            let axis = config.get("axis").and_then(Json::as_f64);
            let keepdims = config.get("keepdims").and_then(Json::as_bool).unwrap_or(false);
            if axis != Some(-1.0) || keepdims {
                return None;
            }
            let (tensors, _) = first_call(op);
            (find(layers, &tensors.first()?.0)?, true)
        }
        "NotEqual" => (op, false),
        _ => return None,
    };
    if class_and_name(not_equal).0 != "NotEqual" {
        return None;
    }
    let (tensors, numbers) = first_call(not_equal);
    let (input, value) = (tensors.first()?, *numbers.first()?);
    layers.iter().find_map(|layer| {
        let (class, name) = class_and_name(layer);
        let config = layer.get("config")?;
        let makes = match (class, masking) {
            ("Masking", true) => config.get("mask_value").and_then(Json::as_f64) == Some(value),
            ("Embedding", false) => config.get("mask_zero") == Some(&Json::Bool(true)) && value == 0.0,
            _ => false,
        };
        let (reads, _) = first_call(layer);
        (makes && reads.first() == Some(input)).then(|| name.to_string())
    })
}
