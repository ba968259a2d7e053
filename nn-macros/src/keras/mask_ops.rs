//! The masks Keras 3 writes into a functional config. `Embedding(mask_zero=True)`'s mask is an
//! operation `NotEqual(ids, 0)` and `Masking`'s is `Any(NotEqual(x, mask_value), axis=-1)`,
//! each handed to the layers that read it as their call's `mask` (a merge's as `LogicalOr` of
//! its operands'). nn computes the same masks
//! by its own rules ([`crate::mask`]), so these operations are read, checked against those
//! rules, and not compiled.

use super::{Json, histories, history_of};
use crate::catalog::Mask;
use crate::ir::{Model, Value};

/// Whether a layer of the config is one of the operations computing a mask.
pub(super) fn is_mask_op(class: &str) -> bool {
    matches!(class, "NotEqual" | "Any" | "LogicalOr" | "LogicalAnd")
}

/// A layer's name and the masks Keras recorded for it: (input, the layer whose mask it is).
pub(super) type Recorded = (String, Vec<(usize, String)>);

/// For each layer (not an operation) of a functional config, its name and the masks Keras
/// recorded for its first call: (input, the layer whose mask it is). Keras records a layer's
/// `mask` argument (a recurrent layer's, a pooling's), not the ones it fills in itself
/// (attention's `query_mask`, ...), which follow the rules nn follows. An error for a mask nn
/// does not compute, or an operation read as data.
pub(super) fn expected(layers: &[Json]) -> Result<Vec<Recorded>, String> {
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
        let kwargs = nodes.first().and_then(|n| n.get("kwargs"));
        let mut per_input: Vec<(usize, &Json)> = Vec::new();
        match kwargs.and_then(|k| k.get("mask")) {
            // `Attention`'s `[query_mask, value_mask]`.
            Some(Json::Array(list)) => per_input.extend(list.iter().enumerate()),
            Some(mask) => per_input.push((0, mask)),
            None => {}
        }
        for (at, key) in ["query_mask", "value_mask", "key_mask"].iter().enumerate() {
            per_input.extend(kwargs.and_then(|k| k.get(key)).map(|m| (at, m)));
        }
        let mut recorded = Vec::new();
        for (at, mask) in per_input {
            let Some(history) = mask.get("config").and_then(|c| c.get("keras_history")) else { continue };
            let made = producer(layers, history).ok_or_else(|| {
                format!(
                    "layer `{name}`: the mask of its input {at} is not one nn computes (the mask of `Masking` \
                     or of `Embedding` with `mask_zero`)"
                )
            })?;
            recorded.push((at, made));
        }
        out.push((name.to_string(), recorded));
    }
    Ok(out)
}

/// Each mask Keras recorded is the one nn's rules give the layer.
pub(super) fn check(model: &Model, expected: &[Recorded]) -> Result<(), String> {
    let origins = crate::mask::origins(model);
    for step in &model.steps {
        let layer = &model.layers[step.layer];
        let name = layer.name.to_string();
        let reads = matches!(layer.spec.mask(), Mask::Reads { .. });
        let recorded =
            expected.iter().find(|(n, _)| *n == name).map(|(_, r)| r.as_slice()).unwrap_or_default();
        for (at, keras) in recorded {
            let nn = match step.args.get(*at) {
                Some(Value::Step(k)) if reads => {
                    origins[*k].map(|o| model.layers[model.steps[o].layer].name.to_string())
                }
                _ => None,
            };
            if nn.as_ref() != Some(keras) {
                let nn = nn.map_or("no mask".to_string(), |p| format!("the mask of `{p}`"));
                return Err(format!(
                    "layer `{name}`: Keras gives its input {at} the mask of `{keras}`, but nn would give it {nn}"
                ));
            }
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
        // A merge's mask: its operands', when they are one layer's.
        "LogicalOr" | "LogicalAnd" => {
            let node = op.get("inbound_nodes").and_then(Json::as_array).and_then(|n| n.first())?;
            let mut operands = Vec::new();
            histories(node.get("args").unwrap_or(&Json::Null), &mut operands);
            let mut made = operands.iter().map(|(l, n, t)| {
                let history = Json::Array(vec![
                    Json::String(l.clone()),
                    Json::Number(*n as f64),
                    Json::Number(*t as f64),
                ]);
                producer(layers, &history)
            });
            let first = made.next()??;
            return made.all(|m| m.as_ref() == Some(&first)).then_some(first);
        }
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
