//! Keras's masks through a model: which values carry the mask an `Embedding` with
//! `mask_zero` or a `Masking` layer made, and which layers read it (each layer's
//! [`Mask`]). A mask is a value of the pass like any other: the step that makes it computes it
//! from its input (`mask3`, one `bool` a step), and each layer reading it is called with it.

use crate::catalog::{Mask, Spec};
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

/// The step whose mask `value` carries.
fn of(origins: &[Option<usize>], value: &Value) -> Option<usize> {
    match value {
        Value::Step(k) => origins[*k],
        Value::Input(_) | Value::State(..) => None,
    }
}

/// [`origins`], reporting each layer that refuses a mask it is given (its index and why).
fn walk(model: &Model, refuse: &mut dyn FnMut(usize, &str)) -> Vec<Option<usize>> {
    let mut origins: Vec<Option<usize>> = Vec::with_capacity(model.steps.len());
    for (k, step) in model.steps.iter().enumerate() {
        let masks: Vec<Option<usize>> = step.args.iter().map(|v| of(&origins, v)).collect();
        let given = masks.iter().flatten().next().copied();
        let spec = &model.layers[step.layer].spec;
        let mask = match spec {
            // Keras's merges combine their operands' masks, and Maximum and Minimum let them
            // pick the values: nn does neither yet.
            Spec::Merge { .. } => Mask::Refuses("merges masked values, which nn does not yet"),
            _ => spec.mask(),
        };
        // A layer of several inputs reads the first one's mask (a recurrent layer's states
        // carry none).
        let first = masks.first().copied().flatten();
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
