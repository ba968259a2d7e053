//! `nn convert`: a model's weights from one file format to another. The model comes from a
//! `.keras` archive (the input's own, or `--model`'s), and the weights are read and written by
//! the loaders and writers compiled models use (nn-core's `WeightFiles`), over a table of the
//! model's weights: so every weight must be in the input with its shape and nothing else be,
//! in the same words as `load_keras` and friends.

use nn_core::weights::{TableWeight, WeightFiles, WeightTable, keras::archive_with_member};
use nn_core::{Float, LayerInfo, Sublayer};
use nn_dsl::inspect::{Inspection, LayerVariables};
use std::path::Path;

/// A weight file's format, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A Keras 3 archive: the model's config and its weights.
    Keras,
    /// Keras 3's `.weights.h5`.
    KerasWeights,
    /// safetensors, tensors named `<layer>/<weight>`.
    Safetensors,
    /// nn's raw format (`to_bytes`, `include_bytes!`).
    Raw,
}

impl Format {
    /// The format a file's name says, if it names one.
    pub fn of(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        let formats = [
            (".keras", Format::Keras),
            (".weights.h5", Format::KerasWeights),
            (".safetensors", Format::Safetensors),
            (".nnw", Format::Raw),
        ];
        formats.into_iter().find(|(suffix, _)| name.ends_with(suffix)).map(|(_, format)| format)
    }

    /// Bytes per value in a file of this format: Keras's files hold `f32`; nn's raw format and
    /// safetensors say theirs, so an `f64` file converts without rounding.
    fn width(self, bytes: &[u8]) -> usize {
        let wide = match self {
            Format::Raw => nn_core::weights::bytes::width(bytes) == Some(8),
            Format::Safetensors => header_says_f64(bytes),
            Format::Keras | Format::KerasWeights => false,
        };
        if wide { 8 } else { 4 }
    }
}

/// Whether a safetensors file holds an `F64` tensor; its header is JSON after an 8-byte
/// length, read here with its whitespace left out (writers differ in how they space it).
fn header_says_f64(bytes: &[u8]) -> bool {
    let len = bytes.get(..8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let header = usize::try_from(len).ok().and_then(|len| bytes.get(8..8usize.checked_add(len)?));
    header.is_some_and(|h| {
        let compact: String = String::from_utf8_lossy(h).chars().filter(|c| !c.is_whitespace()).collect();
        compact.contains(r#""dtype":"F64""#)
    })
}

/// Converts `input` (of `from`'s format) into the bytes of a `to` file, for the model of
/// `report` (checked by `nn inspect`'s reading) whose archive is `archive`.
pub fn convert(
    report: &Inspection,
    archive: &[u8],
    (from, input): (Format, &[u8]),
    to: Format,
) -> Result<Vec<u8>, String> {
    match from.width(input) {
        8 => through::<f64>(report, archive, (from, input), to),
        _ => through::<f32>(report, archive, (from, input), to),
    }
}

fn through<T: Float>(
    report: &Inspection,
    archive: &[u8],
    (from, input): (Format, &[u8]),
    to: Format,
) -> Result<Vec<u8>, String> {
    let mut table = table::<T>(report);
    let read = match from {
        Format::Keras => table.load_keras(input),
        Format::KerasWeights => table.load_keras_weights(input),
        Format::Safetensors => table.load_safetensors(input),
        Format::Raw => {
            table.load_bytes(input).map_err(|e| nn_core::weights::WeightsError::Format(e.to_string()))
        }
    };
    read.map_err(|e| e.to_string())?;
    let written = match to {
        Format::Keras => {
            table.to_keras_weights().and_then(|h5| archive_with_member(archive, "model.weights.h5", &h5))
        }
        Format::KerasWeights => table.to_keras_weights(),
        Format::Safetensors => table.to_safetensors(),
        Format::Raw => Ok(table.to_bytes()),
    };
    written.map_err(|e| e.to_string())
}

/// The model's weights as nn-core's table, every value zero. A table holds `&'static` names and
/// shapes, as a compiled model's constants are; these are leaked, once per command, for the
/// life of the process.
fn table<T: Float>(report: &Inspection) -> WeightTable<T> {
    let mut weights = Vec::new();
    collect_weights(&report.variables, &mut weights);
    let layers: Vec<LayerInfo> = report.variables.iter().map(layer_info).collect();
    WeightTable::zeros(leak(&report.name), layers.leak(), &weights)
}

fn leak(s: &str) -> &'static str {
    s.to_owned().leak()
}

/// Each weight in the model's order: a nested model's layers', or a layer's group by group.
fn collect_weights(layers: &[LayerVariables], out: &mut Vec<TableWeight>) {
    for layer in layers {
        collect_weights(layer.layers(), out);
        for group in layer.groups() {
            let label = leak(&group.label);
            for (name, shape) in &group.variables {
                out.push(TableWeight { layer: label, name, shape: shape.clone().leak() });
            }
        }
    }
}

/// What the weight files need of a layer: its name and class (Keras's key), where its
/// variables are, and a nested model's layers.
fn layer_info(layer: &LayerVariables) -> LayerInfo {
    let (h5_group, sublayers): (&'static str, &'static [Sublayer]) = match layer.groups() {
        [] => ("vars", &[]),
        [own] if own.label == layer.name() => (leak(&own.h5_group), &[]),
        groups => (
            "vars",
            groups
                .iter()
                .map(|g| Sublayer { name: leak(&g.label), h5_group: leak(&g.h5_group) })
                .collect::<Vec<_>>()
                .leak(),
        ),
    };
    LayerInfo {
        name: leak(layer.name()),
        class: leak(layer.class()),
        output_shape: &[],
        further_outputs: &[],
        params: layer.params(),
        non_trainable: layer.non_trainable(),
        h5_group,
        sublayers,
        inbound: &[],
        calls: 1,
        layers: layer.layers().iter().map(layer_info).collect::<Vec<_>>().leak(),
    }
}
