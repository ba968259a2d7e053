//! What `keras_model!` makes of a Keras model, at run time: the `nn inspect` command's findings,
//! from the same reading and checking the macro does, so the two give the same reasons in the
//! same words.

use crate::ast::ItemHeader;
use crate::ctxt::Ctxt;
use crate::keras::{self, Compiled};
pub use crate::keras::{Costs, LayerVariables, VariableGroup};
use proc_macro2::Span;

/// The verdict on a `.keras` archive: every reason `keras_model!` would refuse it (none when it
/// compiles), and what the model's summary shows of it when it could be checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// The model's name in its config.
    pub name: String,
    /// Every mistake `keras_model!` would report, in its words; empty when the model compiles.
    pub errors: Vec<String>,
    /// Its layers as Keras's summary lists them; empty when it could not be checked.
    pub layers: Vec<LayerRow>,
    /// Whether Keras draws the summary's "Connected to" column (a graph rather than a chain).
    pub connections: bool,
    /// What one sample costs `predict`, when the model could be checked.
    pub costs: Option<Costs>,
    /// The model's input shapes, without the batch axis.
    pub inputs: Vec<Vec<usize>>,
    /// The layer computing each model output, and which of its outputs it is (0, or `k` for
    /// its `k`-th further output).
    pub outputs: Vec<(String, usize)>,
    /// Each layer as the weight files see it, in the model's order: every variable's group,
    /// name and shape; empty when the model could not be checked.
    pub variables: Vec<LayerVariables>,
}

/// One layer of an [`Inspection`]: the columns of Keras's summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRow {
    pub name: String,
    /// Keras's class name.
    pub class: String,
    /// The output shape, without the batch axis.
    pub output_shape: Vec<usize>,
    /// The shapes of its further outputs (final states, attention scores).
    pub further_outputs: Vec<Vec<usize>>,
    /// How many weights it holds.
    pub params: usize,
    /// Multiply-accumulates per sample, over all its calls.
    pub macs: usize,
    /// How many of them are not trained.
    pub non_trainable: usize,
    /// Keras's "Connected to" entries.
    pub inbound: Vec<String>,
    /// How many times the model calls it.
    pub calls: usize,
}

impl Inspection {
    /// Whether `keras_model!` compiles the model.
    pub fn supported(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many weights the model holds.
    pub fn params(&self) -> usize {
        self.layers.iter().map(|l| l.params).sum()
    }

    /// How many of them are not trained.
    pub fn non_trainable(&self) -> usize {
        self.layers.iter().map(|l| l.non_trainable).sum()
    }

    /// Keras's `model.summary()` table for weights of `bytes_per_param` bytes (4 for `f32`), as
    /// the compiled model's `summary()` prints it.
    pub fn summary(&self, bytes_per_param: usize) -> String {
        let totals = nn_core::SummaryTotals {
            params: self.params(),
            non_trainable: self.non_trainable(),
            bytes_per_param,
        };
        let mut text = String::new();
        self.with_rows(|rows| {
            // Writing into a `String` cannot fail.
            let _ =
                nn_core::summary_table(&mut text, &self.name, self.connections, rows.iter().copied(), totals);
        });
        text
    }

    /// The model drawn as the compiled model's `plot_svg()` draws it; `None` when it could not
    /// be checked.
    pub fn plot_svg(&self) -> Option<String> {
        if self.layers.is_empty() {
            return None;
        }
        let inputs: Vec<&[usize]> = self.inputs.iter().map(Vec::as_slice).collect();
        let outputs: Vec<(&str, usize)> = self.outputs.iter().map(|(name, k)| (name.as_str(), *k)).collect();
        let mut svg = String::new();
        self.with_rows(|layers| {
            svg = nn_core::PlotModel { name: &self.name, layers, inputs: &inputs, outputs: &outputs }.svg();
        });
        Some(svg)
    }

    /// Calls `f` with the layers as nn-core's borrowed rows.
    fn with_rows(&self, f: impl FnOnce(&[nn_core::SummaryRow<'_>])) {
        let further: Vec<Vec<&[usize]>> =
            self.layers.iter().map(|l| l.further_outputs.iter().map(Vec::as_slice).collect()).collect();
        let inbound: Vec<Vec<&str>> =
            self.layers.iter().map(|l| l.inbound.iter().map(String::as_str).collect()).collect();
        let rows: Vec<nn_core::SummaryRow<'_>> = self
            .layers
            .iter()
            .zip(&further)
            .zip(&inbound)
            .map(|((l, further), inbound)| nn_core::SummaryRow {
                name: &l.name,
                class: &l.class,
                output_shape: &l.output_shape,
                further_outputs: further,
                params: l.params,
                inbound,
                calls: l.calls,
            })
            .collect();
        f(&rows);
    }
}

/// Inspects a `.keras` archive's bytes as `keras_model!` would compile it; `Err` with the
/// reason when they are no Keras model at all (not an archive, or no model config in it).
pub fn keras_archive(archive: &[u8]) -> Result<Inspection, String> {
    let span = Span::call_site();
    let header = ItemHeader {
        attrs: Vec::new(),
        vis: syn::Visibility::Inherited,
        ident: syn::Ident::new("Model", span),
        scalar: None,
    };
    let mut cx = Ctxt::default();
    let read = keras::read(archive, header, span, &mut cx)?;
    let layers = read.compiled.as_ref().map(rows).unwrap_or_default();
    let connections = read.compiled.as_ref().is_some_and(|c| !c.model.chain);
    let mut errors = cx.messages();
    if read.compiled.is_none() && errors.is_empty() {
        errors.push("the model in the file could not be checked".to_string());
    }
    let costs = read.compiled.as_ref().map(Compiled::costs);
    let inputs = read.compiled.as_ref().map(|c| c.model.inputs.iter().map(|s| s.0.clone()).collect());
    let outputs = read
        .compiled
        .as_ref()
        .map(|c| c.model.output_layers().into_iter().zip(c.model.output_tensors()).collect());
    Ok(Inspection {
        name: read.name,
        errors,
        layers,
        connections,
        costs,
        inputs: inputs.unwrap_or_default(),
        outputs: outputs.unwrap_or_default(),
        variables: read.compiled.map(|c| c.variables).unwrap_or_default(),
    })
}

/// The summary's rows of a checked model.
fn rows(compiled: &Compiled) -> Vec<LayerRow> {
    let model = &compiled.model;
    model
        .layers
        .iter()
        .zip(&compiled.variables)
        .enumerate()
        .map(|(i, (layer, variables))| LayerRow {
            name: layer.name.to_string(),
            class: match &layer.spec {
                // A nested model's class is its own: `Sequential` or `Functional`.
                crate::catalog::Spec::Nested { .. } => variables.class().to_string(),
                spec => spec.keras_class().unwrap_or_else(|| spec.class()).to_string(),
            },
            output_shape: layer.output.0.clone(),
            further_outputs: layer.spec.states(&layer.input).into_iter().map(|s| s.0).collect(),
            params: variables.params(),
            macs: variables.macs().saturating_mul(model.calls(i)),
            non_trainable: variables.non_trainable(),
            inbound: layer.inbound.clone(),
            calls: model.calls(i).max(1),
        })
        .collect()
}

/// The DSL source of a `.keras` archive's model, named `name`: `sequential!` or `functional!`
/// code to paste and edit, which compiles to the model `keras_model!` makes of the file (the
/// models nested in it first, as models of their own, `<Name><Layer>`). The weights stay in
/// the file (`load_keras`). `Err` with every reason when `keras_model!` would refuse it.
pub fn keras_source(archive: &[u8], name: &str) -> Result<String, Vec<String>> {
    let span = Span::call_site();
    let ident =
        syn::parse_str::<syn::Ident>(name).map_err(|_| vec![format!("`{name}` is not a Rust type name")])?;
    let header = ItemHeader { attrs: Vec::new(), vis: syn::parse_quote!(pub), ident, scalar: None };
    let mut cx = Ctxt::default();
    let read = keras::read(archive, header, span, &mut cx).map_err(|why| vec![why])?;
    let errors = cx.messages();
    if !errors.is_empty() || read.compiled.is_none() {
        return Err(if errors.is_empty() {
            vec!["the model in the file could not be checked".into()]
        } else {
            errors
        });
    }
    let mut source = String::from("use nn::prelude::*;\n");
    for model in &read.sources {
        source.push('\n');
        source.push_str(&crate::concise::without_defaults(model));
    }
    Ok(source)
}

/// The model type's name for a file named `stem`: `xor` → `Xor`, `kws_cnn` → `KwsCnn`
/// (`Model…` if it would not start with a letter).
pub fn type_name(stem: &str) -> String {
    let name = keras::camel_case(stem);
    if name.starts_with(|c: char| c.is_ascii_alphabetic()) { name } else { format!("Model{name}") }
}
