//! Keras 3's own files: `.weights.h5` (HDF5) and `.keras` archives (a zip of `config.json`,
//! `metadata.json` and `model.weights.h5`).
//!
//! Keras 3 (`keras/src/saving/saving_lib.py`) stores a layer's variables as datasets
//! `layers/<key>/vars/<i>`, where `<key>` is the layer's class in snake case with a per-class
//! counter over the model's layers in order (`dense`, `dense_1`, ...), not the layer's name: in
//! a model whose layers are named `shared` and `dense`, those are `layers/dense` and
//! `layers/dense_1`. `i` counts the layer's variables (Dense: kernel, then bias). Sequential
//! models list no `InputLayer`; functional ones do, with empty `vars`. The model's `LAYERS` are
//! in Keras's `model.layers` order, so the keys follow from them.

use super::WeightSet;
use super::WeightsError;
pub use super::archive::{archive_member, archive_with_member};
use crate::{Float, LayerInfo};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Reads every weight of `model` from a Keras 3 `.weights.h5` file, or changes nothing.
pub(crate) fn load_h5<W: WeightSet + ?Sized>(model: &mut W, bytes: &[u8]) -> Result<(), WeightsError> {
    super::shared_name(model)?;
    let file =
        hdf5_pure::File::from_bytes(bytes.to_vec()).map_err(|e| WeightsError::Format(e.to_string()))?;
    let owners = owners(model.layer_infos());
    let path_of = |layer: &'static str, index: usize| match owners.iter().find(|(name, _)| *name == layer) {
        Some((_, group)) => format!("{group}/{index}"),
        None => format!("layers/{layer}/vars/{index}"),
    };

    // First pass: every variable is there with the model's shape and a numeric type.
    let mut error = None;
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    model.for_each_weight(&mut |layer, w| {
        let index = next_index(&mut counts, layer);
        if error.is_some() {
            return;
        }
        let path = path_of(layer, index);
        error = check_dataset(&file, &path, layer, w.name, w.shape).err();
    });
    if let Some(error) = error {
        return Err(error);
    }
    // Nothing in the file that the model lacks: no other layer with variables, no extra ones.
    extra(&file, "", model.layer_infos(), &counts)?;
    // Second pass: copy.
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    model.for_each_weight_mut(&mut |layer, w| {
        let index = next_index(&mut counts, layer);
        let path = path_of(layer, index);
        if let Ok(values) = file.dataset(&path).and_then(|d| d.read_f64()) {
            for (o, v) in w.data.iter_mut().zip(values) {
                *o = W::Element::of(v);
            }
        }
    });
    Ok(())
}

/// `model`'s weights as a Keras 3 `.weights.h5` file that `model.load_weights(...)` reads:
/// `layers/<key>/vars/<i>` for every layer (weightless ones with an empty `vars`, as Keras writes
/// them), each `vars` group with Keras's `name` attribute, and the model's own empty `vars`.
pub(crate) fn save_h5<W: WeightSet + ?Sized>(model: &W) -> Result<Vec<u8>, WeightsError> {
    super::shared_name(model)?;
    use hdf5_pure::{AttrValue, FileBuilder};
    let mut values: Vec<(&'static str, &'static [usize], &'static str, Vec<f32>)> = Vec::new();
    model.for_each_weight(&mut |layer, w| {
        values.push((layer, w.shape, w.name, w.data.iter().map(|v| v.as_f64() as f32).collect()));
    });
    let mut file = FileBuilder::new();
    let layers = layers_group(&mut file, model.layer_infos(), &values);
    file.add_group(layers);
    let mut root_vars = file.create_group("vars");
    root_vars.set_attr("name", AttrValue::String(model.model_name().to_string()));
    file.add_group(root_vars.finish());
    file.finish().map_err(|e| WeightsError::Format(e.to_string()))
}

/// The `layers` group of a model's layers (below the file's root, or a nested model's group):
/// each layer's key with its `vars` and sublayers' groups, a nested model's with its own
/// `layers` and an empty `vars`, as Keras writes them.
fn layers_group(
    parent: &mut impl Groups,
    layers: &'static [LayerInfo],
    values: &[(&'static str, &'static [usize], &'static str, Vec<f32>)],
) -> hdf5_pure::FinishedGroup {
    use hdf5_pure::AttrValue;
    let mut group_of_layers = parent.group("layers");
    for (layer, key) in keras_keys(layers) {
        let mut group = group_of_layers.create_group(&key);
        let mut own = group.create_group("vars");
        own.set_attr("name", AttrValue::String(layer.name.to_string()));
        if layer.layers.is_empty() {
            // Each group of variables (`vars`, `cell/vars`, `forward_layer/cell/vars`) with the
            // values of the layer or sublayer it holds.
            let mut nested: Vec<(&str, Vec<Dataset<'_>>)> = Vec::new();
            for (scoped, path) in groups_of(layer) {
                let mine: Vec<Dataset<'_>> =
                    values.iter().filter(|v| v.0 == scoped).map(|v| (v.1, &v.3[..])).collect();
                if path == "vars" {
                    fill_vars(&mut own, &mine);
                } else {
                    nested.push((path, mine));
                }
            }
            build_groups(&mut group, &nested);
        } else {
            let inner = layers_group(&mut group, layer.layers, values);
            group.add_group(inner);
        }
        group.add_group(own.finish());
        group_of_layers.add_group(group.finish());
    }
    group_of_layers.finish()
}

/// What can hold a group: the file or a group.
trait Groups {
    fn group(&mut self, name: &str) -> hdf5_pure::GroupBuilder;
}

impl Groups for hdf5_pure::FileBuilder {
    fn group(&mut self, name: &str) -> hdf5_pure::GroupBuilder {
        self.create_group(name)
    }
}

impl Groups for hdf5_pure::GroupBuilder {
    fn group(&mut self, name: &str) -> hdf5_pure::GroupBuilder {
        self.create_group(name)
    }
}

/// One variable to write: its shape and values.
type Dataset<'a> = (&'a [usize], &'a [f32]);

/// Writes `vars` datasets `0`, `1`, ... with these shapes and values.
fn fill_vars(vars: &mut hdf5_pure::GroupBuilder, values: &[Dataset<'_>]) {
    for (i, (shape, data)) in values.iter().enumerate() {
        let dims: Vec<u64> = shape.iter().map(|d| *d as u64).collect();
        vars.create_dataset(&format!("{i}")).with_f32_data(data).with_shape(&dims);
    }
}

/// Creates the groups along each path below `parent` (`cell/vars`: a `cell` group holding a
/// `vars` group with the values), sharing common prefixes, each group with an empty `vars` of its
/// own as Keras writes for every layer.
fn build_groups(parent: &mut hdf5_pure::GroupBuilder, paths: &[(&str, Vec<Dataset<'_>>)]) {
    use hdf5_pure::AttrValue;
    let mut heads: Vec<&str> = Vec::new();
    for (path, _) in paths {
        let head = path.split('/').next().unwrap_or(path);
        if !heads.contains(&head) {
            heads.push(head);
        }
    }
    for head in heads {
        let mut child = parent.create_group(head);
        let below: Vec<(&str, Vec<Dataset<'_>>)> = paths
            .iter()
            .filter_map(|(p, v)| p.strip_prefix(head)?.strip_prefix('/').map(|rest| (rest, v.clone())))
            .collect();
        let mut vars = child.create_group("vars");
        vars.set_attr("name", AttrValue::String(head.to_string()));
        let (leaves, deeper): (Vec<_>, Vec<_>) = below.into_iter().partition(|(p, _)| *p == "vars");
        for (_, values) in &leaves {
            fill_vars(&mut vars, values);
        }
        build_groups(&mut child, &deeper);
        child.add_group(vars.finish());
        parent.add_group(child.finish());
    }
}

/// One layer's variables as `keras_model!` reads them: the layer's name and Keras class, and
/// each group holding them under its key (`vars`, `cell/vars`, a wrapper's
/// `forward_layer/cell/vars`) with the shapes of its variables; for a model used as a layer, its
/// own layers' instead.
pub struct Variables<'a> {
    /// The layer's name.
    pub name: &'a str,
    /// Keras's class.
    pub class: &'a str,
    /// Each group (see [`crate::LayerInfo::sublayers`]) and its variables' shapes, in order.
    pub groups: Vec<(&'a str, Vec<Vec<usize>>)>,
    /// A nested model's layers, kept under the layer's `layers/<key>/layers/`.
    pub layers: Vec<Variables<'a>>,
}

/// Every variable of `layers` (in Keras's model order) from a `.weights.h5` file, flattened in
/// that order: what `keras_model!` compiles into a model at build time. Errors are messages
/// naming the layer.
pub fn read_variables(h5: &[u8], layers: &[Variables<'_>]) -> Result<Vec<f64>, String> {
    let file = hdf5_pure::File::from_bytes(h5.to_vec()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    read_layers(&file, "", layers, &mut out)?;
    Ok(out)
}

/// [`read_variables`] for the layers under `prefix` (`""`, or a nested model's `layers/<key>/`).
fn read_layers(
    file: &hdf5_pure::File,
    prefix: &str,
    layers: &[Variables<'_>],
    out: &mut Vec<f64>,
) -> Result<(), String> {
    let classes: Vec<&str> = layers.iter().map(|l| l.class).collect();
    for (Variables { name, groups, layers: inner, .. }, key) in layers.iter().zip(keys_for(&classes)) {
        if !inner.is_empty() {
            read_layers(file, &format!("{prefix}layers/{key}/"), inner, out)?;
        }
        for (group, shapes) in groups {
            for (i, shape) in shapes.iter().enumerate() {
                let path = format!("{prefix}layers/{key}/{group}/{i}");
                let dataset =
                    file.dataset(&path).map_err(|_| format!("layer `{name}`: no `{path}` in the weights"))?;
                let found: Vec<usize> =
                    dataset.shape().map_err(|e| e.to_string())?.iter().map(|d| *d as usize).collect();
                if &found != shape {
                    return Err(format!(
                        "layer `{name}`: `{path}` has shape {found:?}, the model expects {shape:?}"
                    ));
                }
                out.extend(dataset.read_f64().map_err(|e| e.to_string())?);
            }
        }
    }
    Ok(())
}

/// The index of the next variable of `layer`, counting calls per layer.
fn next_index(counts: &mut Vec<(&'static str, usize)>, layer: &'static str) -> usize {
    match counts.iter_mut().find(|(l, _)| *l == layer) {
        Some((_, n)) => {
            *n += 1;
            *n - 1
        }
        None => {
            counts.push((layer, 1));
            0
        }
    }
}

fn check_dataset(
    file: &hdf5_pure::File,
    path: &str,
    layer: &'static str,
    weight: &'static str,
    expected: &'static [usize],
) -> Result<(), WeightsError> {
    let missing =
        || WeightsError::Missing { layer, weight, tensor: path.to_string(), expected: expected.to_vec() };
    let dataset = file.dataset(path).map_err(|_| missing())?;
    let shape = dataset.shape().map_err(|e| WeightsError::Format(e.to_string()))?;
    let found: Vec<usize> = shape.iter().map(|d| usize::try_from(*d).unwrap_or(usize::MAX)).collect();
    if found != expected {
        return Err(WeightsError::Shape { layer, weight, expected: expected.to_vec(), found });
    }
    // Integers too: Normalization's `count` is an `int32` variable.
    use hdf5_pure::DType;
    match dataset.dtype().map_err(|e| WeightsError::Format(e.to_string()))? {
        DType::F32 | DType::F64 | DType::I8 | DType::I16 | DType::I32 | DType::I64 => Ok(()),
        DType::U8 | DType::U16 | DType::U32 | DType::U64 => Ok(()),
        other => Err(WeightsError::Dtype { layer, weight, found: format!("{other:?}") }),
    }
}

/// The layer `name` of `layers`, if it is one.
/// Each name the model visits a layer's weights under, with the group holding them below the
/// layer's key: the layer's own (`vars`, `cell/vars`), or each sublayer's
/// (`bidirectional/forward_gru` in `forward_layer/cell/vars`).
fn groups_of(layer: &LayerInfo) -> Vec<(&'static str, &'static str)> {
    if layer.sublayers.is_empty() {
        return alloc::vec![(layer.name, layer.h5_group)];
    }
    layer.sublayers.iter().map(|s| (s.name, s.h5_group)).collect()
}

/// Every name the model visits weights under, with the path of the group holding them:
/// `layers/dense_1/vars`, a nested model's layer's `layers/functional/layers/dense/vars`.
fn owners(layers: &'static [LayerInfo]) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    owners_below("", layers, &mut out);
    out
}

fn owners_below(prefix: &str, layers: &'static [LayerInfo], out: &mut Vec<(&'static str, String)>) {
    for (layer, key) in keras_keys(layers) {
        if layer.layers.is_empty() {
            out.extend(
                groups_of(layer)
                    .into_iter()
                    .map(|(name, group)| (name, format!("{prefix}layers/{key}/{group}"))),
            );
        } else {
            owners_below(&format!("{prefix}layers/{key}/"), layer.layers, out);
        }
    }
}

/// An error for the first group under `prefix` holding more variables than the model visits
/// (`counts`, per name): another layer's, or extra ones of a layer of the model.
fn extra(
    file: &hdf5_pure::File,
    prefix: &str,
    layers: &'static [LayerInfo],
    counts: &[(&'static str, usize)],
) -> Result<(), WeightsError> {
    let Ok(group) = file.group(&format!("{prefix}layers")) else { return Ok(()) };
    let keys = keras_keys(layers);
    for key in group.groups().map_err(|e| WeightsError::Format(e.to_string()))? {
        let ours = keys.iter().find(|(_, k)| *k == key).map(|(layer, _)| *layer);
        let below = format!("{prefix}layers/{key}/");
        let groups = match ours {
            Some(layer) if !layer.layers.is_empty() => {
                extra(file, &below, layer.layers, counts)?;
                // The nested model's own `vars` holds nothing.
                alloc::vec![("", "vars")]
            }
            Some(layer) => groups_of(layer),
            None => alloc::vec![("", "vars")],
        };
        for (name, group) in groups {
            let have = counts.iter().find(|(l, _)| *l == name).map_or(0, |(_, n)| *n);
            let vars = format!("{below}{group}");
            let stored = file.group(&vars).and_then(|g| g.datasets()).map(|d| d.len()).unwrap_or(0);
            if stored > have {
                return Err(WeightsError::Extra { name: format!("{vars}/{have}") });
            }
        }
    }
    Ok(())
}

/// Keras's `layers/<key>` for each layer, in order: the class in snake case with a per-class
/// counter (`_get_unique_name` in `saving_lib.py`).
fn keras_keys(layers: &[LayerInfo]) -> Vec<(&LayerInfo, String)> {
    let classes: Vec<&str> = layers.iter().map(|l| l.class).collect();
    layers.iter().zip(keys_for(&classes)).collect()
}

/// The keys for layers of these classes, in order.
fn keys_for(classes: &[&str]) -> Vec<String> {
    let mut used: Vec<(String, usize)> = Vec::new();
    classes
        .iter()
        .map(|class| {
            let base = snake_case(class);
            match used.iter_mut().find(|(b, _)| *b == base) {
                Some((_, n)) => {
                    *n += 1;
                    format!("{base}_{n}")
                }
                None => {
                    used.push((base.clone(), 0));
                    base
                }
            }
        })
        .collect()
}

/// Keras's `naming.to_snake_case`: `InputLayer` → `input_layer`, `Conv2D` → `conv2d`,
/// `ReLU` → `re_lu`.
fn snake_case(class: &str) -> String {
    let chars: Vec<char> = class.chars().filter(|c| c.is_alphanumeric() || *c == '_').collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        // "(.)([A-Z][a-z]+)" then "([a-z])([A-Z])": a capital starting a word, or after a lower.
        let starts_word = c.is_uppercase()
            && prev.is_some()
            && (next.is_some_and(|n| n.is_lowercase()) || prev.is_some_and(|p| p.is_lowercase()));
        if starts_word {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_follows_keras() {
        for (class, snake) in [
            ("InputLayer", "input_layer"),
            ("Dense", "dense"),
            ("Conv2D", "conv2d"),
            ("BatchNormalization", "batch_normalization"),
            ("LSTM", "lstm"),
            ("ReLU", "re_lu"),
            ("UpSampling2D", "up_sampling2d"),
        ] {
            assert_eq!(snake_case(class), snake, "{class}");
        }
    }

    #[test]
    fn keys_count_per_class_in_layer_order() {
        let info = |name, class| LayerInfo {
            name,
            class,
            output_shape: &[1],
            further_outputs: &[],
            params: 0,
            non_trainable: 0,
            h5_group: "vars",
            sublayers: &[],
            inbound: &[],
            calls: 1,
            layers: &[],
        };
        let layers = [
            info("input_layer", "InputLayer"),
            info("shared", "Dense"),
            info("add", "Add"),
            info("dense", "Dense"),
        ];
        let keys: Vec<_> = keras_keys(&layers).into_iter().map(|(_, k)| k).collect();
        assert_eq!(keys, ["input_layer", "dense", "add", "dense_1"]);
    }
}
