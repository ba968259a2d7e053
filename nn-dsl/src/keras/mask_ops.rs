//! The masks Keras 3 writes into a functional config. `Embedding(mask_zero=True)`'s mask is an
//! operation `NotEqual(ids, 0)` and `Masking`'s is `Any(NotEqual(x, mask_value), axis=-1)`, a
//! merge's `LogicalOr` of its operands' (a concatenation's through `ExpandDims`, `ZerosLike`,
//! `OnesLike` and an operation `Concatenate`), each handed to the layers that read it as their
//! call's `mask`. nn computes the same masks by its own rules ([`crate::mask`]), so these
//! operations are read, checked against those rules, and not compiled.

use super::{Json, histories, history_of};
use crate::catalog::Mask;
use crate::ir::{Model, Value};
use std::collections::BTreeSet;

/// Whether a layer of the config is one of the operations computing a mask: Keras's
/// operations (module `keras.src.ops...`, not a layer's `keras.layers`) of these classes.
pub(super) fn is_mask_op(layer: &Json) -> bool {
    let op = layer.get("module").and_then(Json::as_str).is_some_and(|m| m.starts_with("keras.src.ops"));
    let class = layer.get("class_name").and_then(Json::as_str).unwrap_or("");
    op && matches!(
        class,
        "NotEqual"
            | "Any"
            | "LogicalOr"
            | "LogicalAnd"
            | "ExpandDims"
            | "ZerosLike"
            | "OnesLike"
            | "Concatenate"
    )
}

/// Whether `layer` is a `Softmax` called with a mask given as an input (`Softmax()(x,
/// mask=m)`): a tensor no mask operation made, which is the layer's second input.
pub(super) fn is_explicit_mask(layer: &Json, layers: &[Json]) -> bool {
    let (class, _) = class_and_name(layer);
    let node = layer.get("inbound_nodes").and_then(Json::as_array).and_then(|n| n.first());
    let mask = node.and_then(|n| n.get("kwargs")).and_then(|k| k.get("mask"));
    let history = mask.and_then(|m| m.get("config")).and_then(|c| c.get("keras_history"));
    let made_by = history.and_then(|h| history_of(h).ok()).and_then(|(l, ..)| find(layers, l));
    class == "Softmax" && history.is_some() && !made_by.is_some_and(is_mask_op)
}

/// A layer's name and the masks Keras recorded for it: (input, the layers whose masks make it,
/// or `None` for a mask that keeps every step).
pub(super) type Recorded = (String, Vec<(usize, Option<Makers>)>);

/// The layers whose masks a mask is the union of (one for most).
pub(super) type Makers = BTreeSet<String>;

/// For each layer (not an operation) of a functional config, its name and the masks Keras
/// recorded for its first call (see [`Recorded`]). Keras records a layer's
/// `mask` argument (a recurrent layer's, a pooling's), not the ones it fills in itself
/// (attention's `query_mask`, ...), which follow the rules nn follows. An error for a mask nn
/// does not compute, or an operation read as data.
pub(super) fn expected(layers: &[Json]) -> Result<Vec<Recorded>, String> {
    let mut out = Vec::new();
    for layer in layers {
        let (_, name) = class_and_name(layer);
        let nodes = layer.get("inbound_nodes").and_then(Json::as_array).unwrap_or(&[]);
        if is_mask_op(layer) {
            continue;
        }
        for node in nodes {
            let mut read = Vec::new();
            histories(node.get("args").unwrap_or(&Json::Null), &mut read);
            if let Some((op, ..)) = read.iter().find(|(l, ..)| find(layers, l).is_some_and(is_mask_op)) {
                return Err(format!(
                    "layer `{name}`: it reads the operation `{op}`, which nn reads only as the mask of \
                     `Masking` or of `Embedding` with `mask_zero`"
                ));
            }
        }
        let kwargs = nodes.first().and_then(|n| n.get("kwargs"));
        let mut per_input: Vec<(usize, &Json)> = Vec::new();
        // A mask given as an input is an input, not a mask Keras computed.
        let computed = kwargs.and_then(|k| k.get("mask")).filter(|_| !is_explicit_mask(layer, layers));
        match computed {
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
            let made = keeps(layers, history).ok_or_else(|| {
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
        // A layer that passes its mask on without reading it (`TimeDistributed` over a Dense
        // layer) computes the same with or without it.
        if !matches!(layer.spec.mask(), Mask::Reads { .. }) {
            continue;
        }
        let recorded =
            expected.iter().find(|(n, _)| *n == name).map(|(_, r)| r.as_slice()).unwrap_or_default();
        for (at, keras) in recorded {
            let nn = match step.args.get(*at) {
                Some(Value::Step(k)) => origins[*k].map(|o| crate::mask::makers(model, &origins, o)),
                _ => None,
            };
            if nn != *keras {
                let says = |p: &Option<Makers>| {
                    p.as_ref().map_or("no mask".to_string(), |p| {
                        let names: Vec<String> = p.iter().map(|n| format!("`{n}`")).collect();
                        format!("the mask of {}", names.join(" and "))
                    })
                };
                return Err(format!(
                    "layer `{name}`: Keras gives its input {at} {}, but nn would give it {}",
                    says(keras),
                    says(&nn)
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

/// What a mask tensor of the config is made of: the mask of one layer, no step kept (the
/// `ZerosLike` a merge ORs an operand's mask with), or every step (`OnesLike`, an operand
/// without a mask).
#[derive(Clone, PartialEq)]
enum Part {
    Of(Makers),
    Nothing,
    All,
}

/// The steps the mask tensor with this `keras_history` keeps: a layer's mask (`Some`), or every
/// step (`None`). `NotEqual(ids, 0)` is the mask of the `Embedding` with `mask_zero` reading
/// those ids, `Any(NotEqual(x, v), axis=-1)` the mask of the `Masking` with `mask_value` `v`
/// reading `x`; a merge's is its operands' (`LogicalOr`, or for `Concatenate` `Any` over the
/// operands' `ExpandDims(mask) | ZerosLike` and an unmasked operand's `OnesLike`), when one
/// layer made them all.
fn keeps(layers: &[Json], history: &Json) -> Option<Option<Makers>> {
    match part(layers, history)? {
        Part::Of(name) => Some(Some(name)),
        Part::All => Some(None),
        Part::Nothing => None,
    }
}

fn part(layers: &[Json], history: &Json) -> Option<Part> {
    let (op, ..) = history_of(history).ok()?;
    let op = find(layers, op)?;
    let (tensors, _) = first_call(op);
    let operand = |k: usize| {
        let (l, n, t) = tensors.get(k)?;
        part(
            layers,
            &Json::Array(vec![Json::String(l.clone()), Json::Number(*n as f64), Json::Number(*t as f64)]),
        )
    };
    match class_and_name(op).0 {
        "NotEqual" => made_by(layers, op, false).map(|n| Part::Of([n].into())),
        "Any" => {
            let config = op.get("config")?;
            let axis = config.get("axis").and_then(Json::as_f64);
            let keepdims = config.get("keepdims").and_then(Json::as_bool).unwrap_or(false);
            if axis != Some(-1.0) || keepdims {
                return None;
            }
            let inner = find(layers, &tensors.first()?.0)?;
            if class_and_name(inner).0 == "NotEqual" {
                return made_by(layers, inner, true).map(|n| Part::Of([n].into()));
            }
            operand(0)
        }
        "ExpandDims" => operand(0),
        "ZerosLike" => Some(Part::Nothing),
        "OnesLike" => Some(Part::All),
        // The union of the operands' masks (an intersection only of one mask with itself).
        class @ ("LogicalOr" | "LogicalAnd" | "Concatenate") => {
            let parts: Option<Vec<Part>> = (0..tensors.len()).map(operand).collect();
            let made: Vec<Part> = parts?.into_iter().filter(|p| *p != Part::Nothing).collect();
            match made.first() {
                None => Some(Part::Nothing),
                // Any step kept by an operand without a mask: every step.
                Some(_) if made.contains(&Part::All) => Some(Part::All),
                Some(first) if class == "LogicalAnd" => {
                    made.iter().all(|p| p == first).then(|| first.clone())
                }
                Some(_) => Some(Part::Of(
                    made.into_iter()
                        .flat_map(|p| if let Part::Of(m) = p { m } else { Makers::new() })
                        .collect(),
                )),
            }
        }
        _ => None,
    }
}

/// The layer whose mask a `NotEqual(x, value)` operation is: the `Masking` of that value
/// reading `x` (under an `Any`), or the `Embedding` with `mask_zero` reading `x` (value 0).
fn made_by(layers: &[Json], not_equal: &Json, masking: bool) -> Option<String> {
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
