//! Keras's masks through a model: which values carry the mask an `Embedding` with
//! `mask_zero` or a `Masking` layer made, and which layers read it (each layer's
//! [`Mask`]). A mask is a value of the pass like any other: the step that makes it computes it
//! from its input (`mask3`, one `bool` a step), and each layer reading it is called with it.

use crate::catalog::{Mask, Merge, Spec};
use crate::ctxt::Ctxt;
use crate::ir::{Model, Value};

/// For each step of `model`, the step whose mask its output carries, if any.
pub fn origins(model: &Model) -> Vec<Option<usize>> {
    walk(model, &mut |_, _| {})
}

/// Every layer a mask reaches that nn cannot give it to, as a spanned error.
pub fn check(model: &Model, cx: &mut Ctxt) {
    walk(model, &mut |layer, why| {
        let node = &model.layers[layer];
        cx.error(node.span, format!("`{}` is given the mask of its input's steps, but it {why}", node.name));
    });
}

/// The layers whose masks make the mask step `origin` gives (`origins`' value): the layer
/// itself, or for a merge's union the makers of its operands'.
pub fn makers(model: &Model, origins: &[Option<usize>], origin: usize) -> std::collections::BTreeSet<String> {
    let step = &model.steps[origin];
    match &model.layers[step.layer].spec {
        Spec::Merge { .. } => {
            step.args.iter().filter_map(|v| of(origins, v)).flat_map(|o| makers(model, origins, o)).collect()
        }
        _ => [model.layers[step.layer].name.to_string()].into(),
    }
}

/// The step whose mask `value` carries.
fn of(origins: &[Option<usize>], value: &Value) -> Option<usize> {
    match value {
        Value::Step(k) => origins[*k],
        Value::Input(_) | Value::State(..) => None,
    }
}

/// What a merge does with its operands' masks: Keras's `Add`, `Subtract`, `Multiply` and
/// `Average` pass on the union of their masks if every operand has one (none otherwise), and
/// `Concatenate` on its last axis the steps any operand keeps (an operand without a mask keeps
/// every step, so then none is masked): one layer's mask, kept, or the union of several, made
/// by the merge. `Maximum` and `Minimum` let the masks pick their values, `Dot` drops them.
fn merged(op: Merge, axis: i64, input: &crate::shape::Shape, masks: &[Option<usize>]) -> Mask {
    let origins: Vec<usize> = masks.iter().flatten().copied().collect();
    let one = origins.windows(2).all(|w| w[0] == w[1]);
    match op {
        _ if origins.is_empty() => Mask::Drops,
        Merge::Dot => Mask::Drops,
        Merge::Maximum | Merge::Minimum => {
            Mask::Refuses("lets its operands' masks pick its values, which nn does not yet")
        }
        Merge::Concatenate if crate::catalog::concat_axis(axis, input).ok() != Some(input.rank() - 1) => {
            Mask::Refuses("joins masked values on an axis other than the last, which nn does not yet")
        }
        _ if origins.len() < masks.len() => Mask::Drops,
        // The union of two layers' masks: a mask of its own (`masking::union`).
        _ if !one => Mask::Makes,
        _ => Mask::Reads { keeps: true },
    }
}

/// [`origins`], reporting each layer that refuses a mask it is given (its index and why).
fn walk(model: &Model, refuse: &mut dyn FnMut(usize, &str)) -> Vec<Option<usize>> {
    let mut origins: Vec<Option<usize>> = Vec::with_capacity(model.steps.len());
    for (k, step) in model.steps.iter().enumerate() {
        let masks: Vec<Option<usize>> = step.args.iter().map(|v| of(&origins, v)).collect();
        let given = masks.iter().flatten().next().copied();
        let layer = &model.layers[step.layer];
        let mask = match &layer.spec {
            Spec::Merge { op, axis, .. } => merged(*op, *axis, &layer.input, &masks),
            spec => spec.mask(),
        };
        // A layer of several inputs passes the first one's mask on (a recurrent layer's states
        // carry none), a merge its operands' one mask.
        let first = match &layer.spec {
            Spec::Merge { .. } => masks.iter().flatten().next().copied(),
            _ => masks.first().copied().flatten(),
        };
        origins.push(match mask {
            Mask::Makes => Some(k),
            Mask::Keeps => first,
            Mask::Drops => None,
            Mask::Reads { keeps } => first.filter(|_| keeps),
            Mask::Refuses(why) => {
                if given.is_some() {
                    refuse(step.layer, why);
                }
                None
            }
        });
    }
    origins
}
