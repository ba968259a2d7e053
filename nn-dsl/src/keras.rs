//! `keras_model!`: a Keras 3 `.keras` file, read while compiling, becomes the same typed model
//! the DSL would give, with Keras's weights compiled in.
//!
//! The archive's `config.json` is turned into the DSL's own syntax tree (a `sequential!` layer
//! list or `functional!` statements), so it goes through the same checks and code generation;
//! its `model.weights.h5` is read into the raw weight format and embedded as a byte string for
//! the model's `const fn from_bytes`.

use crate::ast::{Arg, GraphDef, ItemHeader, LayerCall, ModelDef, Number, Stmt};
use crate::catalog::params::Kind;
use crate::json::Json;
use crate::shape::MAX_RANK;
use crate::{catalog, check, ctxt::Ctxt, expand, graph, initializer, ir};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitStr, Token, Visibility, bracketed};

mod mask_ops;

/// `pub struct Name = "path.keras", check [inputs] => [outputs];`
pub struct KerasDef {
    header: ItemHeader,
    path: LitStr,
    check: Option<(Vec<f64>, Vec<f64>)>,
}

impl Parse for KerasDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let ident: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let path: LitStr = input.parse()?;
        let mut check = None;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            let kw: Ident = input.parse()?;
            if kw != "check" {
                return Err(syn::Error::new(kw.span(), "expected `check [inputs] => [outputs]`"));
            }
            let numbers = |input: ParseStream| -> syn::Result<Vec<f64>> {
                let content;
                bracketed!(content in input);
                let list = syn::punctuated::Punctuated::<Number, Token![,]>::parse_terminated(&content)?;
                Ok(list.into_iter().map(|n| n.value).collect())
            };
            let inputs = numbers(input)?;
            input.parse::<Token![=>]>()?;
            check = Some((inputs, numbers(input)?));
        }
        input.parse::<Option<Token![;]>>()?;
        Ok(KerasDef { header: ItemHeader { attrs, vis, ident, scalar: None }, path, check })
    }
}

pub fn expand(def: KerasDef) -> TokenStream {
    match model(&def) {
        Ok(tokens) => tokens,
        Err(errors) => errors,
    }
}

fn model(def: &KerasDef) -> Result<TokenStream, TokenStream> {
    let span = def.path.span();
    let fail = |message: String| syn::Error::new(span, message).to_compile_error();
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let path = std::path::Path::new(&dir).join(def.path.value());
    let archive = std::fs::read(&path).map_err(|e| fail(format!("cannot read `{}`: {e}", path.display())))?;
    let header = ItemHeader {
        attrs: def.header.attrs.clone(),
        vis: def.header.vis.clone(),
        ident: def.header.ident.clone(),
        scalar: None,
    };
    let mut cx = Ctxt::default();
    let read = read(&archive, header, span, &mut cx).map_err(fail)?;
    crate::streams(read.compiled.as_ref().map(|c| &c.model), Some(&def.header), &mut cx);
    if let Err(errors) = cx.finish() {
        return Err(quote!(#(#errors)*));
    }
    let (Some(Compiled { model, .. }), Some(values)) = (read.compiled, read.values) else {
        return Err(fail("the model in the file could not be checked".into()));
    };
    let nested_items = read.nested_items;

    // The weights, in the model's order, as the raw format's bytes.
    let mut bytes = nn_core::weights::bytes::header(values.len(), 4).to_vec();
    for v in &values {
        bytes.extend_from_slice(&(*v as f32).to_le_bytes());
    }
    let bytes = syn::LitByteStr::new(&bytes, span);

    let item = expand::item(&model, &def.header);
    let ident = &def.header.ident;
    let file = path.display().to_string();
    let file_doc = format!("Keras's weights from `{}`, compiled in: usable in a `static`.", def.path.value());
    let self_test = self_test(&model, def.check.as_ref(), span)?;
    Ok(quote! {
        #(#nested_items)*

        #item

        impl #ident {
            #[doc = #file_doc]
            pub const KERAS: Self = Self::from_bytes(#bytes);

            #self_test
        }

        // Rebuild when the file changes.
        const _: &[u8] = include_bytes!(#file);
    })
}

/// A `.keras` archive read as `keras_model!` reads it: its config checked as the DSL's model
/// named by `header` (every mistake into `cx`), and its weights in the model's order.
pub(crate) struct Read {
    /// The model, unless a mistake stopped its checking.
    pub compiled: Option<Compiled>,
    /// The weights, when the model was checked and its weight file holds them.
    pub values: Option<Vec<f64>>,
    /// The items of the models nested in it.
    pub nested_items: Vec<TokenStream>,
    /// Each model's DSL source, the nested ones first.
    pub sources: Vec<String>,
    /// The model's name in its config.
    pub name: String,
}

/// Reads `archive` (see [`Read`]); `Err` for a file that is no Keras model at all. A weight
/// file that does not fit the checked model is a mistake in `cx`.
pub(crate) fn read(archive: &[u8], header: ItemHeader, span: Span, cx: &mut Ctxt) -> Result<Read, String> {
    let member = |name| nn_core::weights::keras::archive_member(archive, name).map_err(|e| e.to_string());
    let config = std::str::from_utf8(member("config.json")?).map_err(|e| format!("config.json: {e}"))?;
    let config = Json::parse(config).map_err(|e| format!("config.json: {e}"))?;
    let name = config.get("config").and_then(|c| c.get("name")).and_then(Json::as_str).unwrap_or("model");
    let name = name.to_string();
    let h5 = member("model.weights.h5")?;
    let mut emitted = Emitted::default();
    let compiled = compile(&config, header, span, cx, &mut emitted)?;
    let mut values = None;
    if let Some(compiled) = compiled.as_ref().filter(|_| !cx.has_errors()) {
        let borrowed: Vec<nn_core::weights::keras::Variables<'_>> =
            compiled.variables.iter().map(LayerVariables::borrow).collect();
        match nn_core::weights::keras::read_variables(h5, &borrowed) {
            Ok(read) => values = Some(read),
            Err(why) => cx.error(span, why),
        }
    }
    Ok(Read { compiled, values, nested_items: emitted.items, sources: emitted.sources, name })
}

/// What compiling a config gives beside its model: the items of the models nested in it, and
/// every model's DSL source (the nested ones first).
#[derive(Default)]
pub(crate) struct Emitted {
    pub items: Vec<TokenStream>,
    pub sources: Vec<String>,
}

/// A model read from its config, with its layers' variables as its weight file keeps them.
pub(crate) struct Compiled {
    pub model: ir::Model,
    pub variables: Vec<LayerVariables>,
}

/// What one sample costs a model's `predict`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Costs {
    /// Multiply-accumulates (see `LayerSpec::macs`).
    pub macs: usize,
    /// Values its pass keeps: every step's outputs but a view's, each in a local of its own
    /// (the generated `run` binds them all in one scope), a nested model's own included.
    pub values: usize,
}

impl Compiled {
    /// What one sample costs: each call of a layer once (a shared layer's every call).
    pub fn costs(&self) -> Costs {
        let model = &self.model;
        let mut costs = Costs::default();
        for step in &model.steps {
            let (layer, own) = (&model.layers[step.layer], &self.variables[step.layer].costs);
            let outputs = if layer.spec.is_view() {
                0
            } else {
                step.states.iter().chain([&step.output]).map(crate::shape::Shape::len).sum()
            };
            costs.macs = costs.macs.saturating_add(own.macs);
            costs.values = costs.values.saturating_add(outputs).saturating_add(own.values);
        }
        costs
    }
}

/// [`nn_core::weights::keras::Variables`], owned, with each variable's name and how many of
/// them are not trained: a layer as the weight files see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerVariables {
    name: String,
    class: String,
    groups: Vec<VariableGroup>,
    layers: Vec<LayerVariables>,
    non_trainable: usize,
    /// One call's multiply-accumulates, and a nested model's own values (its outputs are the
    /// step's).
    costs: Costs,
}

/// The variables of a layer or of a wrapper's sublayer, kept in one group of a `.weights.h5`
/// file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableGroup {
    /// The group below the layer's key (`vars`, `cell/vars`, `forward_layer/cell/vars`).
    pub h5_group: String,
    /// The name the model visits its weights under: the layer's, or a sublayer's below it
    /// (`bidirectional/forward_gru`).
    pub label: String,
    /// Each variable's name in nn-core's layer (`kernel`) and Keras's shape, in order.
    pub variables: Vec<crate::catalog::Variable>,
}

impl LayerVariables {
    /// The layer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its variables, group by group; empty for a nested model.
    pub fn groups(&self) -> &[VariableGroup] {
        &self.groups
    }

    /// A nested model's layers; empty for any other layer.
    pub fn layers(&self) -> &[LayerVariables] {
        &self.layers
    }

    /// How many values its variables hold, a nested model's included.
    pub fn params(&self) -> usize {
        let own = self.groups.iter().flat_map(|g| &g.variables).map(|(_, s)| s.iter().product::<usize>());
        own.sum::<usize>() + self.layers.iter().map(LayerVariables::params).sum::<usize>()
    }

    /// How many of them are not trained.
    pub fn non_trainable(&self) -> usize {
        self.non_trainable
    }

    /// One call's multiply-accumulates per sample.
    pub fn macs(&self) -> usize {
        self.costs.macs
    }

    /// Keras's class of the layer (a nested model's: `Sequential` or `Functional`).
    pub fn class(&self) -> &str {
        &self.class
    }

    fn borrow(&self) -> nn_core::weights::keras::Variables<'_> {
        nn_core::weights::keras::Variables {
            name: &self.name,
            class: &self.class,
            groups: self
                .groups
                .iter()
                .map(|g| (g.h5_group.as_str(), g.variables.iter().map(|(_, shape)| shape.clone()).collect()))
                .collect(),
            layers: self.layers.iter().map(LayerVariables::borrow).collect(),
        }
    }
}

/// A model nested in another (a Sequential or Functional model used as a layer), declared as a
/// model of its own: the DSL's `Model<Type, IN, OUT>`.
struct Inner {
    /// Its layer name in the outer model.
    name: String,
    ty: Ident,
    input: crate::shape::Shape,
    output: crate::shape::Shape,
    /// `Sequential` or `Functional`, which names its key in the weight file.
    class: String,
    /// Its multiply-accumulates and activation values per sample.
    costs: Costs,
    variables: Vec<LayerVariables>,
}

/// Whether a layer's Keras class is a model's.
fn is_model(class: &str) -> bool {
    matches!(class, "Sequential" | "Functional" | "Model")
}

/// A model's config (`{"class_name": "Functional", "config": {...}}`) checked as the DSL's
/// model named by `header`, errors into `cx` (`None` then). The models nested in it are
/// compiled first, each into an item of its own (`<Outer><Layer>`: `AutoencoderEncoder`)
/// pushed onto `out`, with each model's DSL source.
fn compile(
    config: &Json,
    header: ItemHeader,
    span: Span,
    cx: &mut Ctxt,
    out: &mut Emitted,
) -> Result<Option<Compiled>, String> {
    let class = config.get("class_name").and_then(Json::as_str).unwrap_or("");
    let body = config.get("config").ok_or("config.json has no `config`")?;
    let layers = body.get("layers").and_then(Json::as_array).ok_or("config.json has no layers")?;
    let mut inner = Vec::new();
    let mut refused = false;
    for layer in layers.iter().filter(|l| l.get("class_name").and_then(Json::as_str).is_some_and(is_model)) {
        let name = layer.get("config").and_then(|c| c.get("name")).and_then(Json::as_str).unwrap_or("?");
        let ty = ident(&format!("{}{}", header.ident, camel_case(name)), span)?;
        let doc = format!("The model `{name}` used as a layer of [`{}`], from the same file.", header.ident);
        let attrs = vec![syn::parse_quote!(#[doc = #doc])];
        let sub = ItemHeader { attrs, vis: header.vis.clone(), ident: ty.clone(), scalar: None };
        // A refused nested model's reasons are in `cx`; the others' are still wanted.
        let Some(compiled) = compile(layer, sub.clone(), span, cx, out)? else {
            refused = true;
            continue;
        };
        let m = &compiled.model;
        let outputs = m.output_shapes();
        match (m.inputs.as_slice(), outputs.as_slice()) {
            ([input], [output]) => inner.push(Inner {
                name: name.to_string(),
                ty,
                input: input.clone(),
                output: output.clone(),
                class: m.class.name().to_string(),
                costs: compiled.costs(),
                variables: compiled.variables.clone(),
            }),
            _ => {
                return Err(format!(
                    "layer `{name}`: a model used as a layer is supported with one input and one output; \
                     `{name}` takes {} and gives {}",
                    keras_list(&m.inputs),
                    keras_list(&outputs)
                ));
            }
        }
        out.items.push(expand::item(&compiled.model, &sub));
    }
    if refused {
        // Without its nested models' types the model cannot be checked; every one of its own
        // layers that nn cannot read is still reported, as `nn inspect` lists them all.
        let own = layers.iter().filter(|l| !l.get("class_name").and_then(Json::as_str).is_some_and(is_model));
        own.filter_map(|layer| layer_call(layer, &inner, span).err()).for_each(|why| cx.error(span, why));
        return Ok(None);
    }
    let model = match class {
        "Sequential" => {
            // Every layer nn refuses, not the first only: `nn inspect` lists them all.
            let mut calls = Vec::new();
            for layer in layers {
                match layer_call(layer, &inner, span) {
                    Ok(call) => calls.push(call),
                    Err(why) => cx.error(span, why),
                }
            }
            if cx.has_errors() {
                return Ok(None);
            }
            let def = ModelDef { item: Some(header), layers: calls, span };
            out.sources.push(def.to_string());
            check::sequential(&def, cx)
        }
        "Functional" | "Model" => {
            let expected = mask_ops::expected(layers)?;
            let def = match graph_def(body, layers, &inner, header, span) {
                Ok(def) => def,
                Err(errors) => {
                    errors.into_iter().for_each(|why| cx.error(span, why));
                    return Ok(None);
                }
            };
            out.sources.push(def.to_string());
            let model = graph::functional(&def, cx);
            if let Some(model) = &model {
                mask_ops::check(model, &expected)?;
            }
            model
        }
        other => {
            return Err(format!("a Keras `{other}` model is not supported: only Sequential and Functional"));
        }
    };
    let Some(model) = model else { return Ok(None) };
    let variables = model.layers.iter().map(|layer| layer_variables(layer, &inner)).collect();
    Ok(Some(Compiled { model, variables }))
}

/// A layer's variables in the weight file: each group's shapes, or a nested model's layers'.
fn layer_variables(layer: &ir::LayerNode, inner: &[Inner]) -> LayerVariables {
    let name = layer.name.to_string();
    if let Some(nested) = inner.iter().find(|i| i.name == name) {
        return LayerVariables {
            name,
            class: nested.class.clone(),
            groups: Vec::new(),
            non_trainable: nested.variables.iter().map(LayerVariables::non_trainable).sum(),
            layers: nested.variables.clone(),
            costs: nested.costs,
        };
    }
    let leaves = layer.spec.leaves(&layer.input);
    let groups = leaves
        .iter()
        .map(|leaf| VariableGroup {
            h5_group: leaf.h5_group.clone(),
            label: if leaf.name.is_empty() { name.clone() } else { format!("{name}/{}", leaf.name) },
            variables: leaf.spec.variables(&leaf.input),
        })
        .collect();
    let mut variables = LayerVariables {
        name,
        class: layer.spec.class().to_string(),
        groups,
        layers: Vec::new(),
        non_trainable: 0,
        costs: Costs { macs: layer.spec.macs(&layer.input).unwrap_or(0), values: 0 },
    };
    // As the model's summary counts them: all of a frozen layer's.
    variables.non_trainable = if layer.spec.frozen() {
        variables.params()
    } else {
        leaves.iter().map(|leaf| leaf.spec.non_trainable(&leaf.input)).sum()
    };
    variables
}

/// Shapes as Keras prints a list of them: `[(None, 4), (None, 2, 3)]`, one without brackets.
fn keras_list(shapes: &[crate::shape::Shape]) -> String {
    let each: Vec<String> = shapes.iter().map(crate::shape::Shape::keras).collect();
    if each.len() == 1 { each[0].clone() } else { format!("[{}]", each.join(", ")) }
}

/// `encoder` → `Encoder`, `conv_block_1` → `ConvBlock1`.
pub(crate) fn camel_case(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

/// `self_test()`: re-runs the input given with `check` and compares with Keras's output.
fn self_test(
    model: &ir::Model,
    check: Option<&(Vec<f64>, Vec<f64>)>,
    span: Span,
) -> Result<TokenStream, TokenStream> {
    let Some((inputs, outputs)) = check else { return Ok(quote!()) };
    let fail = |message: String| syn::Error::new(span, message).to_compile_error();
    if model.inputs.len() != 1 || model.outputs.len() != 1 {
        return Err(fail("`check` takes one input and one output; this model has several".into()));
    }
    let (n_in, n_out) = (model.inputs[0].len(), model.output_shapes()[0].len());
    if inputs.len() != n_in {
        return Err(fail(format!("`check` gives {} inputs; the model takes {n_in}", inputs.len())));
    }
    if outputs.len() != n_out {
        return Err(fail(format!("`check` gives {} outputs; the model gives {n_out}", outputs.len())));
    }
    let inputs = inputs.iter().map(|v| *v as f32);
    let outputs = outputs.iter().map(|v| *v as f32);
    Ok(quote! {
        /// Runs the input given to `keras_model!`'s `check` (flat, in Keras's order) and compares
        /// with the output Keras gave for it: the largest absolute difference if within 1e-5,
        /// else an error with it.
        pub fn self_test(&self) -> Result<f32, f32> {
            let x: [f32; #n_in] = [#(#inputs),*];
            let want: [f32; #n_out] = [#(#outputs),*];
            let mut got = [0.0f32; #n_out];
            // The lengths are the model's own, so this cannot fail.
            let _ = ::nn::Model::predict_flat(self, &[&x], &mut [&mut got]);
            let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0f32, f32::max);
            if worst <= 1e-5 { Ok(worst) } else { Err(worst) }
        }
    })
}

fn ident(name: &str, span: Span) -> Result<Ident, String> {
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    syn::parse_str::<Ident>(&clean)
        .map(|mut i| {
            i.set_span(span);
            i
        })
        .map_err(|_| format!("layer name `{name}` cannot be a Rust field name"))
}

fn number(value: f64, span: Span) -> Arg {
    Arg::Number(Number::new(value, span))
}

/// One Keras layer config as a DSL layer call: `name: Kind<args>`.
fn layer_call(layer: &Json, inner: &[Inner], span: Span) -> Result<LayerCall, String> {
    let class = layer.get("class_name").and_then(Json::as_str).unwrap_or("?");
    let config = layer.get("config").ok_or("a layer without config")?;
    let name = config.get("name").and_then(Json::as_str).ok_or("a layer without a name")?;
    let label = Some(ident(name, span)?);
    let kind = |k: &str| Ident::new(k, span);
    Ok(match class {
        "InputLayer" => {
            let shape = config.get("batch_shape").and_then(Json::as_array).unwrap_or(&[]);
            let dims = shape.get(1..).filter(|d| !d.is_empty() && d.len() <= MAX_RANK).ok_or_else(|| {
                format!("layer `{name}`: inputs of rank 1 to {MAX_RANK} are supported, found shape {shape:?}")
            })?;
            let args = dims
                .iter()
                .map(|d| {
                    d.as_f64().map(|v| number(v, span)).ok_or(format!("layer `{name}`: unknown input size"))
                })
                .collect::<Result<_, _>>()?;
            LayerCall { label, kind: kind("Input"), model: None, args }
        }
        model if is_model(model) => {
            let nested =
                inner.iter().find(|i| i.name == name).ok_or(format!("layer `{name}`: a model not read"))?;
            let ty = &nested.ty;
            let shape = |s: &crate::shape::Shape| match s.0.as_slice() {
                [n] => number(*n as f64, span),
                dims => Arg::Tuple { span, items: dims.iter().map(|d| number(*d as f64, span)).collect() },
            };
            let args = vec![shape(&nested.input), shape(&nested.output)];
            LayerCall { label, kind: kind("Model"), model: Some(syn::parse_quote!(#ty)), args }
        }
        "Add" | "Subtract" | "Multiply" | "Average" | "Maximum" | "Minimum" => {
            LayerCall { label, kind: kind(class), model: None, args: Vec::new() }
        }
        "Concatenate" => {
            // Keras's axis as it numbers it, the batch axis 0: the DSL's `axis` is the same.
            let axis = config.get("axis").and_then(Json::as_f64).unwrap_or(-1.0);
            let arg = Arg::Named { name: kind("axis"), value: Box::new(number(axis, span)) };
            LayerCall { label, kind: kind(class), model: None, args: vec![arg] }
        }
        "Dot" => {
            let normalize = config.get("normalize").and_then(Json::as_bool).unwrap_or(false);
            let arg = Arg::Named {
                name: kind("normalize"),
                value: Box::new(Arg::Bool(syn::LitBool::new(normalize, span))),
            };
            LayerCall { label, kind: kind("Dot"), model: None, args: vec![arg] }
        }
        op if activation_op(op).is_some() => activation_op_call(op, config, name, label, span)?,
        // Keras's generic recurrent layer's cells, read as the layers over them: `RNN(GRUCell(4))`
        // is the DSL's `RNN<GRU<4>>`.
        "SimpleRNNCell" => catalogued("SimpleRNN", name, label, &[config], span)?,
        "GRUCell" => catalogued("GRU", name, label, &[config], span)?,
        "LSTMCell" => catalogued("LSTM", name, label, &[config], span)?,
        // `RNN(StackedRNNCells([...]))`'s cells, each read as its layer is: `StackedRNNCells<gru_cell:
        // GRU<4>, lstm_cell: LSTM<2>>`.
        "StackedRNNCells" => {
            let cells = config.get("cells").and_then(Json::as_array).unwrap_or(&[]);
            let args = cells
                .iter()
                .map(|c| layer_call(c, inner, span).map(|call| Arg::Layer(Box::new(call))))
                .collect::<Result<_, _>>()?;
            LayerCall { label, kind: kind("StackedRNNCells"), model: None, args }
        }
        "Attention"
        | "AdditiveAttention"
        | "MultiHeadAttention"
        | "GroupQueryAttention"
        | "GroupedQueryAttention" => {
            let kwargs = call_options(layer, name)?;
            // Keras saves `GroupQueryAttention` under that name; its Python class is
            // `GroupedQueryAttention`.
            let class = if class == "GroupedQueryAttention" { "GroupQueryAttention" } else { class };
            catalogued(class, name, label, &[config, &kwargs], span)?
        }
        other => catalogued(other, name, label, &[config], span)?,
    })
}

/// A `keras.activations` function applied to a tensor: Keras saves the operation (`Gelu`,
/// `LeakyRelu`, ...) with its options, which is `Activation<gelu(...)>`.
fn activation_op_call(
    op: &str,
    config: &Json,
    name: &str,
    label: Option<Ident>,
    span: Span,
) -> Result<LayerCall, String> {
    let kind = |k: &str| Ident::new(k, span);
    let key = activation_op(op).unwrap_or_default();
    let mut options = Vec::new();
    let entries = match config {
        Json::Object(entries) => entries.as_slice(),
        _ => &[],
    };
    for (option, value) in entries {
        match (option.as_str(), value) {
            ("name", _) => {}
            // Softmax and LogSoftmax's axis: the Activation layer's is the last.
            ("axis", Json::Number(a)) if *a == -1.0 => {}
            ("axis", other) => {
                return Err(format!("layer `{name}`: `{op}` is supported on the last axis, not {other:?}"));
            }
            (option, value) => options.push(Arg::Named {
                name: kind(option),
                value: Box::new(arg_of(value, span).map_err(|e| format!("layer `{name}`: {e}"))?),
            }),
        }
    }
    let activation =
        if options.is_empty() { Arg::Name(kind(key)) } else { Arg::Call { name: kind(key), args: options } };
    Ok(LayerCall { label, kind: kind("Activation"), model: None, args: vec![activation] })
}

/// The options an attention layer was called with (`use_causal_mask`,
/// `return_attention_scores`), which nn fixes per layer: every call's must be the same. An
/// attention mask given as an input becomes the option `attention_mask = true` (the input is
/// the layer's last, `node_inputs`).
fn call_options(layer: &Json, name: &str) -> Result<Json, String> {
    let nodes = layer.get("inbound_nodes").and_then(Json::as_array).unwrap_or(&[]);
    let kwargs: Vec<&Json> = nodes.iter().filter_map(|n| n.get("kwargs")).collect();
    let first = kwargs.first().copied().cloned().unwrap_or(Json::Null);
    for option in ["use_causal_mask", "return_attention_scores"] {
        let value = |k: &Json| k.get(option).cloned().unwrap_or(Json::Bool(false));
        if kwargs.iter().any(|k| value(k) != value(&first)) {
            return Err(format!("layer `{name}`: its calls differ in `{option}`, which nn fixes per layer"));
        }
    }
    // The inputs' own masks (`mask`, `query_mask`, ...) are read as the masks nn computes
    // (`mask_ops`); an attention mask given as an input is the layer's last input
    // (`node_inputs`), which the option `attention_mask` says.
    let masked =
        |k: &Json| k.get("attention_mask").is_some_and(|v| !matches!(v, Json::Null | Json::Bool(false)));
    if kwargs.iter().any(|k| masked(k) != masked(&first)) {
        return Err(format!("layer `{name}`: some of its calls take an `attention_mask` and some do not"));
    }
    let mut first = first;
    if masked(&first)
        && let Json::Object(fields) = &mut first
    {
        for (key, value) in fields.iter_mut() {
            if key == "attention_mask" {
                *value = Json::Bool(true);
            }
        }
    }
    Ok(first)
}

/// A catalogued layer's call from its config, read by the parameters the layer declares, each
/// from the first of `configs` that has it.
fn catalogued(
    class: &str,
    name: &str,
    label: Option<Ident>,
    configs: &[&Json],
    span: Span,
) -> Result<LayerCall, String> {
    let kind = |k: &str| Ident::new(k, span);
    let get = |key: &str| configs.iter().find_map(|c| c.get(key));
    let entry = catalog::LAYERS
        .iter()
        .find(|e| e.name == class)
        .ok_or_else(|| format!("layer `{name}`: Keras layer `{class}` is not supported by nn yet"))?;
    if class == "Bidirectional" && get("merge_mode") == Some(&Json::Null) {
        return Err(format!(
            "layer `{name}`: `Bidirectional` with `merge_mode=None` (two outputs) is not supported"
        ));
    }
    let mut args = Vec::new();
    for param in entry.params {
        let Some(value) = get(param.name).filter(|v| **v != Json::Null) else { continue };
        let value = match param.kind {
            Kind::Initializer => initializer_arg(value, span),
            _ => arg_of(value, span),
        }
        .map_err(|e| format!("layer `{name}`: option `{}`: {e}", param.name))?;
        args.push(Arg::Named { name: kind(param.name), value: Box::new(value) });
    }
    if get("trainable") == Some(&Json::Bool(false)) {
        let frozen = Arg::Bool(syn::LitBool::new(false, span));
        args.push(Arg::Named { name: kind("trainable"), value: Box::new(frozen) });
    }
    Ok(LayerCall { label, kind: kind(class), model: None, args })
}

/// The activation a Keras operation class applies (`Gelu` is `keras.activations.gelu` applied to
/// a tensor in a functional model), for the operations that are activations; `ReLU` and
/// `Softmax` are saved as those layers' classes, which the catalogue reads.
fn activation_op(class: &str) -> Option<&'static str> {
    Some(match class {
        "Relu6" => "relu6",
        "Sigmoid" => "sigmoid",
        "Tanh" => "tanh",
        "Softplus" => "softplus",
        "Softsign" => "softsign",
        "Silu" => "silu",
        "LogSigmoid" => "log_sigmoid",
        "LeakyRelu" => "leaky_relu",
        "HardSigmoid" => "hard_sigmoid",
        "Elu" => "elu",
        "Selu" => "selu",
        "Gelu" => "gelu",
        "Celu" => "celu",
        "TanhShrink" => "tanh_shrink",
        "HardTanh" => "hard_tanh",
        "SoftShrink" => "soft_shrink",
        "HardShrink" => "hard_shrink",
        "Threshold" => "threshold",
        "Squareplus" => "squareplus",
        "SparsePlus" => "sparse_plus",
        "LogSoftmax" => "log_softmax",
        "Exp" => "exponential",
        _ => return None,
    })
}

/// A config value as the DSL's argument: numbers, `true`/`false`, names (`"same"`, `"relu"`)
/// and lists as tuples.
fn arg_of(value: &Json, span: Span) -> Result<Arg, String> {
    Ok(match value {
        Json::Number(v) => number(*v, span),
        Json::Bool(b) => Arg::Bool(syn::LitBool::new(*b, span)),
        // A name where it is one (`"same"`, `"relu"`), else a string (`"abc,cde->abde"`).
        Json::String(s) if syn::parse_str::<Ident>(s).is_ok() => Arg::Name(ident(s, span)?),
        Json::String(s) => Arg::Str(syn::LitStr::new(s, span)),
        Json::Array(items) => {
            Arg::Tuple { span, items: items.iter().map(|v| arg_of(v, span)).collect::<Result<_, _>>()? }
        }
        // A wrapped layer's config (`Bidirectional`'s `layer`).
        Json::Object(_) if value.get("class_name").is_some() => {
            Arg::Layer(Box::new(layer_call(value, &[], span)?))
        }
        // Inside a list (a top-level `null` is an option left at its default): Keras's unknown
        // size, `noise_shape = [null, 1, 8]`.
        Json::Null => Arg::Name(ident("None", span)?),
        Json::Object(_) => {
            return Err("only numbers, names, lists and layers are supported".into());
        }
    })
}

/// A Keras initializer's config as the DSL's argument: `{"class_name": "HeNormal", "config":
/// {"seed": null}, ...}` becomes `he_normal`, `{"class_name": "Orthogonal", "config": {"gain":
/// 2.0, "seed": null}}` becomes `orthogonal(gain = 2.0)` (the class in snake case, its numbers
/// as options; a bare name, as older configs write it, is read the same way).
///
/// `seed` is dropped: it names a stream of Keras's backend, which nn cannot reproduce; nn draws
/// from the seed given to `Model::seeded` instead. `input_axes` and `output_axes` (how
/// VarianceScaling computes fans for unusual kernels) are supported only unset.
fn initializer_arg(value: &Json, span: Span) -> Result<Arg, String> {
    let (class, config) = match value {
        Json::String(s) => (s.as_str(), None),
        Json::Object(_) => {
            let class =
                value.get("class_name").and_then(Json::as_str).ok_or("an initializer without a class")?;
            (class, value.get("config"))
        }
        _ => return Err("expected an initializer's config".into()),
    };
    // `OrthogonalInitializer` is Keras's alias kept for compatibility.
    let class = if class == "OrthogonalInitializer" { "Orthogonal" } else { class };
    let snake = catalog::snake_case(class);
    if !initializer::names().contains(&snake.as_str()) {
        return Err(format!(
            "Keras initializer `{class}` is not supported by nn; supported: {}",
            initializer::names().join(", ")
        ));
    }
    let mut args = Vec::new();
    if let Some(Json::Object(fields)) = config {
        for (key, v) in fields {
            match v {
                _ if key == "seed" => {}
                Json::Null => {}
                Json::Number(n) => {
                    args.push(Arg::Named { name: ident(key, span)?, value: Box::new(number(*n, span)) })
                }
                _ => return Err(format!("initializer `{class}`: option `{key}` is supported only unset")),
            }
        }
    }
    let name = Ident::new(&snake, span);
    Ok(if args.is_empty() { Arg::Name(name) } else { Arg::Call { name, args } })
}

/// The statement name of a tensor, from its `[layer, node, tensor]` history: `gru__0`, or
/// `gru__0__1` for a layer's further output (`return_state`).
fn node_ident(history: &Json, span: Span) -> Result<Ident, String> {
    let (layer, node, tensor) = history_of(history)?;
    match tensor {
        0 => ident(&format!("{layer}__{node}"), span),
        k => ident(&format!("{layer}__{node}__{k}"), span),
    }
}

/// A tensor's `[layer, node index, tensor index]`.
fn history_of(history: &Json) -> Result<(&str, usize, usize), String> {
    let triple = history.as_array().unwrap_or(&[]);
    let layer = triple.first().and_then(Json::as_str).ok_or("a tensor without keras_history")?;
    let at = |i: usize| triple.get(i).and_then(Json::as_f64).unwrap_or(0.0) as usize;
    Ok((layer, at(1), at(2)))
}

/// Every `[layer, node, tensor]` a config refers to, in its inbound nodes and outputs.
fn histories(value: &Json, out: &mut Vec<(String, usize, usize)>) {
    match value {
        Json::Object(_) => {
            if let Some(Ok((layer, node, tensor))) = value.get("keras_history").map(history_of) {
                out.push((layer.to_string(), node, tensor));
            }
            if let Json::Object(fields) = value {
                for (_, v) in fields {
                    histories(v, out);
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|v| histories(v, out)),
        _ => {}
    }
}

/// The tensors a node is called on: one tensor, a list of them (merges, `Attention`) or several
/// (`MultiHeadAttention`'s query and value, its `value` and `key` perhaps given by name), then
/// a recurrent layer's `initial_state` (one tensor or a list).
fn node_inputs(node: &Json, named_mask: bool, span: Span) -> Result<Vec<Ident>, String> {
    let args = node.get("args").and_then(Json::as_array).unwrap_or(&[]);
    let is_tensor = |t: &&Json| t.get("config").and_then(|c| c.get("keras_history")).is_some();
    let mut tensors: Vec<&Json> = match args.first() {
        Some(Json::Array(list)) => list.iter().collect(),
        Some(_) => args.iter().filter(is_tensor).collect(),
        None => Vec::new(),
    };
    for name in ["value", "key"] {
        tensors.extend(node.get("kwargs").and_then(|k| k.get(name)).filter(is_tensor));
    }
    // The multi-head layers' `attention_mask`: their last input, after the key (the value again
    // without one), as the DSL's `attention_mask = node` makes it.
    if let Some(mask) = node.get("kwargs").and_then(|k| k.get("attention_mask")).filter(is_tensor) {
        if let [_, value] = tensors[..] {
            tensors.push(value);
        }
        tensors.push(mask);
    }
    // Softmax's `mask` given as an input: its second (`mask_ops::is_explicit_mask`).
    if named_mask {
        tensors.extend(node.get("kwargs").and_then(|k| k.get("mask")).filter(is_tensor));
    }
    match node.get("kwargs").and_then(|k| k.get("initial_state")) {
        Some(Json::Array(states)) => tensors.extend(states),
        Some(Json::Null) | None => {}
        Some(state) => tensors.push(state),
    }
    tensors
        .iter()
        .map(|t| {
            node_ident(t.get("config").and_then(|c| c.get("keras_history")).unwrap_or(&Json::Null), span)
        })
        .collect()
}

/// The names of a call's further outputs (`return_state`), up to the last one a tensor of the
/// config reads.
struct Further<'a> {
    used: &'a [(String, usize, usize)],
    span: Span,
}

impl Further<'_> {
    fn of(&self, layer: &str, node: usize) -> Result<Vec<Option<Ident>>, String> {
        let used = self.used;
        let last = used.iter().filter(|(l, n, _)| l == layer && *n == node).map(|u| u.2).max().unwrap_or(0);
        (1..=last)
            .map(|k| {
                let name = used.iter().any(|u| (u.0.as_str(), u.1, u.2) == (layer, node, k));
                name.then(|| ident(&format!("{layer}__{node}__{k}"), self.span)).transpose()
            })
            .collect()
    }
}

/// A layer's statements: `name__0 = name: Kind<..>(inputs)` for a layer called once, or bound
/// as `name = Kind<..>;` and called as `name__i = name(inputs)` per inbound node.
fn layer_stmts(
    layer: &Json,
    name: &str,
    call: LayerCall,
    more: &Further<'_>,
    named_mask: bool,
    span: Span,
) -> Result<Vec<Stmt>, String> {
    let nodes = layer.get("inbound_nodes").and_then(Json::as_array).unwrap_or(&[]);
    // Tensors name a call by its node: a Functional model's first is the one linking its own
    // inputs to its outputs, which the config leaves out (Keras's `node_reindexing_map` starts
    // it at 1).
    let first = usize::from(layer.get("class_name").and_then(Json::as_str) == Some("Functional"));
    if nodes.len() == 1 {
        return Ok(vec![Stmt {
            name: ident(&format!("{name}__{first}"), span)?,
            more: more.of(name, first)?,
            call,
            inputs: Some(node_inputs(&nodes[0], named_mask, span)?),
        }]);
    }
    let layer_ident = ident(name, span)?;
    let LayerCall { kind, model, args, .. } = call;
    let mut stmts = vec![Stmt {
        name: layer_ident.clone(),
        more: Vec::new(),
        call: LayerCall { label: None, kind, model, args },
        inputs: None,
    }];
    for (i, node) in (first..).zip(nodes) {
        let call = LayerCall { label: None, kind: layer_ident.clone(), model: None, args: Vec::new() };
        stmts.push(Stmt {
            name: ident(&format!("{name}__{i}"), span)?,
            more: more.of(name, i)?,
            call,
            inputs: Some(node_inputs(node, named_mask, span)?),
        });
    }
    Ok(stmts)
}

/// A functional config as `functional!` statements: inputs first in Keras's input order, a
/// layer called once as `name__0 = name: Kind<..>(inputs)`, a shared layer bound as
/// `name = Kind<..>;` and called as `name__i = name(inputs)`.
fn graph_def(
    body: &Json,
    layers: &[Json],
    inner: &[Inner],
    header: ItemHeader,
    span: Span,
) -> Result<GraphDef, Vec<String>> {
    let triples = |key: &str| -> Vec<Json> {
        match body.get(key) {
            Some(Json::Array(items)) if items.first().is_some_and(|i| matches!(i, Json::Array(_))) => {
                items.clone()
            }
            Some(triple @ Json::Array(_)) => vec![triple.clone()],
            _ => Vec::new(),
        }
    };
    let input_order: Vec<String> = triples("input_layers")
        .iter()
        .filter_map(|t| t.as_array()?.first()?.as_str().map(str::to_string))
        .collect();
    let mut used = Vec::new();
    for layer in layers {
        histories(layer.get("inbound_nodes").unwrap_or(&Json::Null), &mut used);
    }
    for t in triples("output_layers") {
        if let Ok((layer, node, tensor)) = history_of(&t) {
            used.push((layer.to_string(), node, tensor));
        }
    }
    let more = Further { used: &used, span };
    let mut inputs = Vec::new();
    let mut stmts = Vec::new();
    let ops = |l: &&Json| mask_ops::is_mask_op(l);
    let mut errors = Vec::new();
    for layer in layers.iter().filter(|l| !ops(l)) {
        let mut call = match layer_call(layer, inner, span) {
            Ok(call) => call,
            Err(why) => {
                errors.push(why);
                continue;
            }
        };
        let name = layer.get("config").and_then(|c| c.get("name")).and_then(Json::as_str).unwrap_or("?");
        // Softmax's `mask` given as an input: the option saying its second input is one.
        let named_mask = mask_ops::is_explicit_mask(layer, layers);
        if named_mask {
            let name = Ident::new("mask", span);
            call.args.push(Arg::Named { name, value: Box::new(Arg::Bool(syn::LitBool::new(true, span))) });
        }
        if call.kind == "Input" {
            let position = input_order.iter().position(|n| n == name).unwrap_or(usize::MAX);
            inputs.push((
                position,
                Stmt {
                    name: ident(&format!("{name}__0"), span).map_err(|e| vec![e])?,
                    more: Vec::new(),
                    call,
                    inputs: None,
                },
            ));
        } else {
            match layer_stmts(layer, name, call, &more, named_mask, span) {
                Ok(more) => stmts.extend(more),
                Err(why) => errors.push(why),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    inputs.sort_by_key(|(position, _)| *position);
    let outputs = triples("output_layers")
        .iter()
        .map(|t| node_ident(t, span))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| vec![e])?;
    Ok(GraphDef {
        item: Some(header),
        stmts: inputs.into_iter().map(|(_, s)| s).chain(stmts).collect(),
        outputs: Some(outputs),
        span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(config: &str) -> Result<String, String> {
        let json = Json::parse(config)?;
        initializer_arg(&json, Span::call_site()).map(|a| a.to_string())
    }

    /// A `Concatenate` layer config as Keras 3 saves it, as the DSL's call.
    fn concatenate(axis: i64) -> Result<String, String> {
        let layer = format!(
            r#"{{"class_name": "Concatenate", "config": {{"name": "concatenate", "axis": {axis}}}}}"#
        );
        layer_call(&Json::parse(&layer)?, &[], Span::call_site()).map(|call| call.to_string())
    }

    /// An `Attention` layer as Keras 3 saves it, called with `kwargs`, as the DSL's call.
    fn attention(kwargs: &[&str]) -> Result<String, String> {
        let nodes: Vec<String> =
            kwargs.iter().map(|k| format!(r#"{{"args": [[]], "kwargs": {{{k}}}}}"#)).collect();
        let layer = format!(
            r#"{{"class_name": "Attention", "config": {{"name": "attention", "use_scale": true,
                "score_mode": "dot", "dropout": 0.0, "seed": null}}, "inbound_nodes": [{}]}}"#,
            nodes.join(", ")
        );
        layer_call(&Json::parse(&layer)?, &[], Span::call_site()).map(|call| call.to_string())
    }

    #[test]
    fn attention_takes_its_causal_mask_from_the_call_and_refuses_what_it_cannot_run() {
        assert_eq!(attention(&[""]).unwrap(), "Attention<use_scale = true, score_mode = dot, dropout = 0>");
        let causal = r#""use_causal_mask": true"#;
        assert!(attention(&[causal, causal]).unwrap().ends_with("use_causal_mask = true>"));
        assert!(attention(&[causal, ""]).unwrap_err().contains("its calls differ in `use_causal_mask`"));
        let scores = r#""return_attention_scores": true"#;
        assert!(attention(&[scores]).unwrap().ends_with("return_attention_scores = true>"));
        // Keras saves a mask given to the call as a tensor: the inputs' own masks are read by
        // `mask_ops`, an attention mask is an input, which every call must give.
        let mask = r#""attention_mask": {"class_name": "__keras_tensor__"}"#;
        assert!(attention(&[mask, ""]).unwrap_err().contains("some of its calls take an `attention_mask`"));
        let read = attention(&[r#""mask": [null, {"class_name": "__keras_tensor__"}]"#]);
        assert!(read.is_ok(), "{read:?}");
        assert!(attention(&[r#""mask": [null, null], "return_attention_scores": false"#]).is_ok());
    }

    /// A config of `class` over `layers` (JSON objects), as Keras saves a model.
    fn model_config(class: &str, name: &str, layers: &[String]) -> String {
        format!(
            r#"{{"class_name": "{class}", "config": {{"name": "{name}", "layers": [{}]}}}}"#,
            layers.join(", ")
        )
    }

    fn input(shape: &str) -> String {
        format!(
            r#"{{"class_name": "InputLayer", "config": {{"name": "in_{}", "batch_shape": [null, {shape}]}}}}"#,
            shape.len()
        )
    }

    fn compiled(config: &str) -> (Result<Option<Compiled>, String>, Vec<TokenStream>) {
        let header = ItemHeader {
            attrs: Vec::new(),
            vis: Visibility::Inherited,
            ident: Ident::new("Outer", Span::call_site()),
            scalar: None,
        };
        let (mut cx, mut out) = (Ctxt::default(), Emitted::default());
        let result = compile(&Json::parse(config).unwrap(), header, Span::call_site(), &mut cx, &mut out);
        let errors = cx.finish().err().map(|e| e.iter().map(|t| t.to_string()).collect::<Vec<_>>());
        assert!(errors.is_none(), "{errors:?}");
        (result, out.items)
    }

    #[test]
    fn a_model_used_as_a_layer_is_declared_as_a_model_of_its_own() {
        let dense = r#"{"class_name": "Dense", "config": {"name": "dense", "units": 2}}"#.to_string();
        let inner = model_config("Sequential", "tower_1", &[input("3"), dense]);
        let outer = model_config("Sequential", "outer", &[input("3"), inner]);
        let (result, items) = compiled(&outer);
        let model = result.unwrap().unwrap();
        assert_eq!(items.len(), 1);
        assert!(items[0].to_string().contains("struct OuterTower1"), "{}", items[0]);
        assert_eq!(model.model.output_shapes()[0].len(), 2);
    }

    #[test]
    fn a_refused_nested_model_does_not_hide_the_outer_models_refusals() {
        let refused = |name: &str| {
            format!(r#"{{"class_name": "SpectralNormalization", "config": {{"name": "{name}"}}}}"#)
        };
        let first = model_config("Sequential", "first", &[input("3"), refused("inner_norm")]);
        let dense = r#"{"class_name": "Dense", "config": {"name": "dense", "units": 3}}"#.to_string();
        let second = model_config("Sequential", "second", &[input("3"), dense]);
        let outer = model_config("Sequential", "outer", &[input("3"), first, second, refused("outer_norm")]);
        let header = ItemHeader {
            attrs: Vec::new(),
            vis: Visibility::Inherited,
            ident: Ident::new("Outer", Span::call_site()),
            scalar: None,
        };
        let (mut cx, mut out) = (Ctxt::default(), Emitted::default());
        let result = compile(&Json::parse(&outer).unwrap(), header, Span::call_site(), &mut cx, &mut out);
        assert!(matches!(result, Ok(None)));
        let errors = cx.messages();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].contains("layer `inner_norm`") && errors[1].contains("layer `outer_norm`"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_model_used_as_a_layer_takes_one_tensor_and_gives_one() {
        let flatten = r#"{"class_name": "Flatten", "config": {"name": "flatten"}}"#.to_string();
        let inner = model_config("Sequential", "encoder", &[input("4, 3"), flatten]);
        let outer = model_config("Sequential", "outer", &[input("4, 3"), inner]);
        let (result, items) = compiled(&outer);
        assert_eq!(result.unwrap().unwrap().model.output_shapes()[0].len(), 12);
        assert!(items[0].to_string().contains("struct OuterEncoder"));
        // Two inputs: the DSL's `Model<Type, IN, OUT>` takes one.
        let pair = r#"{"class_name": "Functional", "config": {"name": "pair", "layers": [
            {"class_name": "InputLayer", "config": {"name": "a", "batch_shape": [null, 2]}, "inbound_nodes": []},
            {"class_name": "InputLayer", "config": {"name": "b", "batch_shape": [null, 2]}, "inbound_nodes": []},
            {"class_name": "Add", "config": {"name": "add"}, "inbound_nodes": [{"args": [[
                {"class_name": "__keras_tensor__", "config": {"keras_history": ["a", 0, 0]}},
                {"class_name": "__keras_tensor__", "config": {"keras_history": ["b", 0, 0]}}]]}]}],
            "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["add", 0, 0]]}}"#;
        let outer = model_config("Sequential", "outer", &[input("2"), pair.to_string()]);
        let error = compiled(&outer).0.err().unwrap();
        assert!(
            error
                .contains("layer `pair`: a model used as a layer is supported with one input and one output")
                && error.contains("takes [(None, 2), (None, 2)] and gives (None, 2)"),
            "{error}"
        );
    }

    /// A functional config over ids: an Embedding, then an LSTM given as `mask` the operation
    /// `NotEqual(ids, value)`.
    fn masked_lstm(mask_zero: bool, value: f64) -> String {
        let tensor = |layer: &str| {
            format!(
                r#"{{"class_name": "__keras_tensor__", "config": {{"keras_history": ["{layer}", 0, 0]}}}}"#
            )
        };
        format!(
            r#"{{"class_name": "Functional", "config": {{"name": "m", "layers": [
            {{"class_name": "InputLayer", "config": {{"name": "ids", "batch_shape": [null, 4]}}, "inbound_nodes": []}},
            {{"class_name": "Embedding", "config": {{"name": "embedding", "input_dim": 3, "output_dim": 2,
                "mask_zero": {mask_zero}}}, "inbound_nodes": [{{"args": [{ids}], "kwargs": {{}}}}]}},
            {{"class_name": "NotEqual", "module": "keras.src.ops.numpy", "config": {{"name": "not_equal"}},
                "inbound_nodes": [{{"args": [{ids}, {value}], "kwargs": {{}}}}]}},
            {{"class_name": "LSTM", "config": {{"name": "lstm", "units": 2}},
                "inbound_nodes": [{{"args": [{e}], "kwargs": {{"mask": {m}}}}}]}}],
            "input_layers": [["ids", 0, 0]], "output_layers": [["lstm", 0, 0]]}}}}"#,
            ids = tensor("ids"),
            e = tensor("embedding"),
            m = tensor("not_equal"),
        )
    }

    #[test]
    fn keras_s_mask_operations_are_read_as_the_masks_nn_computes() {
        assert!(compiled(&masked_lstm(true, 0.0)).0.unwrap().is_some());
        // Ids other than 0, or an Embedding without `mask_zero`: a mask nn does not compute.
        for config in [masked_lstm(true, 1.0), masked_lstm(false, 0.0)] {
            let error = compiled(&config).0.err().unwrap();
            assert!(
                error.contains("layer `lstm`: the mask of its input 0 is not one nn computes"),
                "{error}"
            );
        }
    }

    #[test]
    fn concatenate_keeps_keras_s_axis() {
        // Keras counts the batch axis, as the DSL's `axis` does; negative ones from the end.
        assert_eq!(concatenate(-1).unwrap(), "Concatenate<axis = -1>");
        assert_eq!(concatenate(1).unwrap(), "Concatenate<axis = 1>");
    }

    #[test]
    fn keras_initializer_configs_become_dsl_arguments() {
        // As Keras 3 writes them: the seed is dropped, unset axes too.
        let he = r#"{"module": "keras.initializers", "class_name": "HeNormal",
            "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}"#;
        assert_eq!(arg(he).unwrap(), "he_normal");
        let seeded = r#"{"module": "keras.initializers", "class_name": "GlorotNormal",
            "config": {"seed": 42}, "registered_name": null}"#;
        assert_eq!(arg(seeded).unwrap(), "glorot_normal");
        let orthogonal = r#"{"module": "keras.initializers", "class_name": "Orthogonal",
            "config": {"seed": null, "gain": 2.0}, "registered_name": null}"#;
        assert_eq!(arg(orthogonal).unwrap(), "orthogonal(gain = 2)");
        let normal = r#"{"module": "keras.initializers", "class_name": "RandomNormal",
            "config": {"seed": null, "mean": 0.5, "stddev": 0.1}, "registered_name": null}"#;
        assert_eq!(arg(normal).unwrap(), "random_normal(mean = 0.5, stddev = 0.1)");
        let constant = r#"{"module": "keras.initializers", "class_name": "Constant",
            "config": {"value": 0.1}, "registered_name": null}"#;
        assert_eq!(arg(constant).unwrap(), "constant(value = 0.1)");
        let zeros = r#"{"module": "keras.initializers", "class_name": "Zeros", "config": {},
            "registered_name": null}"#;
        assert_eq!(arg(zeros).unwrap(), "zeros");
        // A bare name, and Keras's compatibility alias.
        assert_eq!(arg(r#""he_uniform""#).unwrap(), "he_uniform");
        assert_eq!(arg(r#"{"class_name": "OrthogonalInitializer", "config": {}}"#).unwrap(), "orthogonal");
    }

    #[test]
    fn unsupported_initializers_are_named() {
        let vs = r#"{"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_out"}}"#;
        assert!(arg(vs).unwrap_err().contains("`VarianceScaling` is not supported"));
        let axes = r#"{"class_name": "HeNormal", "config": {"input_axes": [0, 1]}}"#;
        assert!(arg(axes).unwrap_err().contains("`input_axes` is supported only unset"));
    }
}
