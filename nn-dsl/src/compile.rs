//! `#[compile(optimizer = Adam(learning_rate = 0.01), loss = binary_crossentropy, metrics =
//! [accuracy])]` on a model: Keras's `model.compile(...)` written where the model is, checked
//! against the model's outputs while compiling (a loss or metric that cannot fit an output, an
//! unknown optimizer or option, lists that do not match the outputs are spanned errors), and
//! expanded into `fn compiled(&mut self) -> nn::train::Trainer<..>`.

use crate::ctxt::Ctxt;
use crate::ir::Model;
use crate::spelling;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Ident, Token, bracketed, parenthesized};

/// The options of a call: `name = value`, or a value alone.
type Options = [(Option<Ident>, Value)];

/// Options a name takes, and the kind of value of each.
type Known = &'static [(&'static str, Kind)];

/// A value in the attribute: `0.5`, `true`, `name`, `name(option = value, ...)`, `[a, b]`.
#[derive(Clone)]
enum Value {
    Number(f64, Span),
    Bool(bool, Span),
    Name(Ident),
    Call(Ident, Vec<(Option<Ident>, Value)>),
    List(Vec<Value>, Span),
}

impl Value {
    fn span(&self) -> Span {
        match self {
            Value::Number(_, s) | Value::Bool(_, s) | Value::List(_, s) => *s,
            Value::Name(i) | Value::Call(i, _) => i.span(),
        }
    }

    /// The name and options of a `name` or `name(options)`.
    fn called(&self) -> Option<(&Ident, &Options)> {
        match self {
            Value::Name(i) => Some((i, &[])),
            Value::Call(i, args) => Some((i, args)),
            _ => None,
        }
    }
}

impl Parse for Value {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(syn::token::Bracket) {
            let content;
            let bracket = bracketed!(content in input);
            let items = content.parse_terminated(Value::parse, Token![,])?;
            return Ok(Value::List(items.into_iter().collect(), bracket.span.join()));
        }
        if input.peek(syn::LitBool) {
            let b: syn::LitBool = input.parse()?;
            return Ok(Value::Bool(b.value, b.span));
        }
        if input.peek(Ident) {
            let name: Ident = input.parse()?;
            if !input.peek(syn::token::Paren) {
                return Ok(Value::Name(name));
            }
            let content;
            parenthesized!(content in input);
            let mut args = Vec::new();
            while !content.is_empty() {
                let key = if content.peek(Ident) && content.peek2(Token![=]) {
                    let key: Ident = content.parse()?;
                    content.parse::<Token![=]>()?;
                    Some(key)
                } else {
                    None
                };
                args.push((key, content.parse()?));
                if !content.is_empty() {
                    content.parse::<Token![,]>()?;
                }
            }
            return Ok(Value::Call(name, args));
        }
        let negative = input.parse::<Option<Token![-]>>()?.is_some();
        let lit: syn::Lit = input.parse()?;
        let (v, span) = match &lit {
            syn::Lit::Int(i) => (i.base10_parse::<f64>()?, i.span()),
            syn::Lit::Float(f) => (f.base10_parse::<f64>()?, f.span()),
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "expected a number, `true`, `false`, a name or a list",
                ));
            }
        };
        Ok(Value::Number(if negative { -v } else { v }, span))
    }
}

/// The attribute's `key = value` pairs.
struct Args(Vec<(Ident, Value)>);

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = Vec::new();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            args.push((key, input.parse()?));
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(Args(args))
    }
}

/// What kind of value an option takes.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Number,
    Bool,
}

/// Keras's optimizers by class (and the lower-case strings `compile` accepts), with their
/// options beyond the common ones.
const OPTIMIZERS: &[(&str, &str, Known)] = &[
    ("SGD", "sgd", &[("momentum", Kind::Number), ("nesterov", Kind::Bool)]),
    ("Adam", "adam", ADAM),
    ("AdamW", "adamw", ADAM),
    (
        "RMSprop",
        "rmsprop",
        &[
            ("rho", Kind::Number),
            ("momentum", Kind::Number),
            ("epsilon", Kind::Number),
            ("centered", Kind::Bool),
        ],
    ),
    ("Adagrad", "adagrad", &[("initial_accumulator_value", Kind::Number), ("epsilon", Kind::Number)]),
];
const ADAM: Known =
    &[("beta_1", Kind::Number), ("beta_2", Kind::Number), ("epsilon", Kind::Number), ("amsgrad", Kind::Bool)];
/// The options of Keras's base `Optimizer`.
const COMMON: Known = &[
    ("learning_rate", Kind::Number),
    ("weight_decay", Kind::Number),
    ("clipnorm", Kind::Number),
    ("clipvalue", Kind::Number),
    ("global_clipnorm", Kind::Number),
];

/// Keras's losses by the names `compile` accepts, nn's type, their options, and whether they
/// compare class probabilities along the last axis (so need more than one class).
const LOSSES: &[(&[&str], &str, Known, bool)] = &[
    (&["mse", "mean_squared_error"], "MeanSquaredError", &[], false),
    (&["mae", "mean_absolute_error"], "MeanAbsoluteError", &[], false),
    (&["huber", "huber_loss"], "Huber", &[("delta", Kind::Number)], false),
    (&["log_cosh", "logcosh"], "LogCosh", &[], false),
    (&["binary_crossentropy"], "BinaryCrossentropy", CROSSENTROPY, false),
    (&["categorical_crossentropy"], "CategoricalCrossentropy", CROSSENTROPY, true),
    (
        &["sparse_categorical_crossentropy"],
        "SparseCategoricalCrossentropy",
        &[("from_logits", Kind::Bool)],
        true,
    ),
    (&["kld", "kl_divergence"], "KLDivergence", &[], true),
];
const CROSSENTROPY: Known = &[("from_logits", Kind::Bool), ("label_smoothing", Kind::Number)];

/// Keras's metric names, and whether they compare classes (so need more than one).
const METRICS: &[(&str, bool)] = &[
    ("accuracy", false),
    ("acc", false),
    ("binary_accuracy", false),
    ("categorical_accuracy", true),
    ("sparse_categorical_accuracy", true),
    ("mae", false),
    ("mean_absolute_error", false),
    ("mse", false),
    ("mean_squared_error", false),
];

/// `fn compiled` for the `#[compile(...)]` attribute of `model`, or nothing without one; every
/// mistake goes into `cx`.
pub fn compiled(model: &Model, attrs: &[syn::Attribute], cx: &mut Ctxt) -> TokenStream {
    let Some(attr) = attrs.iter().find(|a| a.path().is_ident("compile")) else { return quote!() };
    let args = match attr.parse_args::<Args>() {
        Ok(args) => args,
        Err(e) => {
            cx.error(e.span(), e);
            return quote!();
        }
    };
    let outputs = Outputs::of(model);
    let (mut optimizer, mut losses, mut metrics, mut weights) = (None, None, None, None);
    for (key, value) in &args.0 {
        match key.to_string().as_str() {
            "optimizer" => optimizer = self::optimizer(value, cx),
            "loss" => losses = self::losses(value, &outputs, cx),
            "metrics" => metrics = self::metrics(value, &outputs, cx),
            "loss_weights" => weights = self::loss_weights(value, &outputs, cx),
            other => cx.error(
                key.span(),
                format!(
                    "`#[compile]` takes no `{other}`; {}",
                    spelling::hint(other, &["optimizer", "loss", "metrics", "loss_weights"])
                ),
            ),
        }
    }
    let Some(losses) = losses else {
        if !args.0.iter().any(|(k, _)| k == "loss") {
            cx.error(
                attr.path().segments[0].ident.span(),
                "`#[compile]` needs a `loss`, as Keras's `compile` does to train",
            );
        }
        return quote!();
    };
    // Keras's default optimizer.
    let optimizer = optimizer.unwrap_or_else(|| {
        (quote!(::nn::train::optimizer::RMSprop), quote!(::nn::train::optimizer::RMSprop::default()))
    });
    expand(&optimizer, &losses, metrics.as_deref(), weights.as_deref())
}

/// `fn compiled`.
fn expand(
    (opt_ty, opt): &(TokenStream, TokenStream),
    losses: &[TokenStream],
    metrics: Option<&[Vec<String>]>,
    weights: Option<&[f64]>,
) -> TokenStream {
    let metrics = metrics.unwrap_or(&[]).iter().enumerate().map(|(k, names)| {
        quote!(let trainer = trainer.output_metrics(#k, &[#(#names),*]).expect("checked by the macro");)
    });
    let weights = weights
        .map(|w| quote!(let trainer = trainer.loss_weights(&[#(#w),*]).expect("checked by the macro");));
    quote! {
        /// The trainer the model's `#[compile(...)]` describes (Keras's `model.compile`),
        /// borrowing the model: then `fit`, `evaluate`, `train_on_batch`.
        pub fn compiled(&mut self) -> ::nn::train::Trainer<'_, Self, #opt_ty> {
            let losses: ::nn::train::Losses = [#( ::nn::train::loss::LossFunction::from(#losses) ),*].into();
            // The macro checked every option, name and count against the model.
            let trainer = ::nn::train::Compile::compile(self, #opt, losses).expect("checked by the macro");
            #( #metrics )*
            #weights
            trainer
        }
    }
}

/// What `#[compile]` checks against: each output's last axis, layer name and Keras shape.
struct Outputs(Vec<(usize, String, String)>);

impl Outputs {
    fn of(model: &Model) -> Self {
        let names = model.outputs.iter().map(|v| match v {
            crate::ir::Value::Step(k) | crate::ir::Value::State(k, _) => {
                model.layers[model.steps[*k].layer].name.to_string()
            }
            crate::ir::Value::Input(i) => format!("input {i}"),
        });
        Outputs(model.output_shapes().iter().zip(names).map(|(s, n)| (s.last(), n, s.keras())).collect())
    }
}

/// Checks `options` against `known` (each `name = value` of the right kind); `None` if any is
/// wrong. Returns the options as (name, tokens).
fn options(
    owner: &str,
    options: &Options,
    known: &[(&str, Kind)],
    cx: &mut Ctxt,
) -> Option<Vec<(Ident, TokenStream)>> {
    let mut out = Vec::new();
    let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
    let mut ok = true;
    for (key, value) in options {
        let Some(key) = key else {
            cx.error(value.span(), format!("`{owner}`'s options are written `name = value`"));
            ok = false;
            continue;
        };
        let Some((_, kind)) = known.iter().find(|(n, _)| key == n) else {
            cx.error(
                key.span(),
                format!("unknown option `{key}` for `{owner}`; {}", spelling::hint(&key.to_string(), &names)),
            );
            ok = false;
            continue;
        };
        match (kind, value) {
            (Kind::Number, Value::Number(v, _)) => out.push((key.clone(), quote!(#v))),
            (Kind::Bool, Value::Bool(b, _)) => out.push((key.clone(), quote!(#b))),
            (Kind::Number, other) => {
                cx.error(other.span(), format!("`{key}` of `{owner}` is a number"));
                ok = false;
            }
            (Kind::Bool, other) => {
                cx.error(other.span(), format!("`{key}` of `{owner}` is `true` or `false`"));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// The optimizer's type and the expression building it.
fn optimizer(value: &Value, cx: &mut Ctxt) -> Option<(TokenStream, TokenStream)> {
    let Some((name, args)) = value.called() else {
        cx.error(value.span(), "`optimizer` is an optimizer, `Adam(learning_rate = 0.001)` or `sgd`");
        return None;
    };
    let written = name.to_string();
    let Some((class, _, own)) = OPTIMIZERS.iter().find(|(c, s, _)| written == *c || written == *s) else {
        let names: Vec<&str> = OPTIMIZERS.iter().map(|(c, _, _)| *c).collect();
        cx.error(name.span(), format!("unknown optimizer `{written}`; {}", spelling::hint(&written, &names)));
        return None;
    };
    let known: Vec<(&str, Kind)> = COMMON.iter().chain(own.iter()).copied().collect();
    let set = options(class, args, &known, cx)?;
    let clips: Vec<&Ident> = set
        .iter()
        .map(|(k, _)| k)
        .filter(|k| *k == "clipnorm" || *k == "clipvalue" || *k == "global_clipnorm")
        .collect();
    if clips.len() > 1 {
        cx.error(clips[1].span(), format!("`{class}` takes one of `clipnorm`, `clipvalue` and `global_clipnorm`, as Keras's optimizers do"));
        return None;
    }
    let ty = format_ident!("{class}");
    let calls = set.iter().map(|(k, v)| quote!(.#k(#v)));
    Some((quote!(::nn::train::optimizer::#ty), quote!(::nn::train::optimizer::#ty::default() #(#calls)*)))
}

/// One loss per output (a single one applies to every output, as in Keras).
fn losses(value: &Value, outputs: &Outputs, cx: &mut Ctxt) -> Option<Vec<TokenStream>> {
    let items: Vec<&Value> = match value {
        Value::List(items, span) => {
            if items.len() != outputs.0.len() {
                cx.error(
                    *span,
                    format!(
                        "the model has {} outputs but {} given",
                        outputs.0.len(),
                        counted(items.len(), "loss is", "losses are")
                    ),
                );
                return None;
            }
            items.iter().collect()
        }
        one => vec![one; outputs.0.len()],
    };
    let mut out = Vec::new();
    for (item, (last, name, shape)) in items.into_iter().zip(&outputs.0) {
        out.push(loss(item, *last, name, shape, cx)?);
    }
    Some(out)
}

fn loss(value: &Value, last: usize, output: &str, shape: &str, cx: &mut Ctxt) -> Option<TokenStream> {
    let Some((name, args)) = value.called() else {
        cx.error(value.span(), "a loss is a name, `mse`, or a name with options, `huber(delta = 0.5)`");
        return None;
    };
    let written = name.to_string();
    let Some((_, ty, known, classes)) = LOSSES.iter().find(|(names, ..)| names.contains(&written.as_str()))
    else {
        let names: Vec<&str> = LOSSES.iter().flat_map(|(n, ..)| n.iter().copied()).collect();
        cx.error(name.span(), format!("unknown loss `{written}`; {}", spelling::hint(&written, &names)));
        return None;
    };
    if *classes && last < 2 {
        cx.error(
            name.span(),
            format!(
                "`{written}` compares classes along the last axis, but output `{output}` has shape {shape}, \
                 one value per row: use `binary_crossentropy` for one probability"
            ),
        );
        return None;
    }
    let set = options(&written, args, known, cx)?;
    let ty = format_ident!("{ty}");
    let calls = set.iter().map(|(k, v)| quote!(.#k(#v)));
    Some(quote!(::nn::train::loss::#ty::default() #(#calls)*))
}

/// The metrics of each output: one list for all, or a list per output.
fn metrics(value: &Value, outputs: &Outputs, cx: &mut Ctxt) -> Option<Vec<Vec<String>>> {
    let Value::List(items, span) = value else {
        cx.error(value.span(), "`metrics` is a list, `[accuracy]`, or a list per output, `[[], [accuracy]]`");
        return None;
    };
    let per_output: Vec<&[Value]> = if items.iter().all(|i| matches!(i, Value::List(..))) && !items.is_empty()
    {
        if items.len() != outputs.0.len() {
            cx.error(
                *span,
                format!(
                    "the model has {} outputs but {} given",
                    outputs.0.len(),
                    counted(items.len(), "metric list is", "metric lists are")
                ),
            );
            return None;
        }
        items.iter().map(|i| if let Value::List(v, _) = i { v.as_slice() } else { &[] }).collect()
    } else {
        vec![items.as_slice(); outputs.0.len()]
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (list, (last, output, shape)) in per_output.into_iter().zip(&outputs.0) {
        let mut names = Vec::new();
        for item in list {
            let Value::Name(name) = item else {
                cx.error(item.span(), "a metric is a name, `accuracy`");
                ok = false;
                continue;
            };
            let written = name.to_string();
            match METRICS.iter().find(|(n, _)| *n == written) {
                None => {
                    let known: Vec<&str> = METRICS.iter().map(|(n, _)| *n).collect();
                    cx.error(
                        name.span(),
                        format!("unknown metric `{written}`; {}", spelling::hint(&written, &known)),
                    );
                    ok = false;
                }
                Some((_, true)) if *last < 2 => {
                    cx.error(
                        name.span(),
                        format!("`{written}` compares classes, but output `{output}` has shape {shape}, one value per row: use `binary_accuracy`"),
                    );
                    ok = false;
                }
                Some(_) => names.push(written),
            }
        }
        out.push(names);
    }
    ok.then_some(out)
}

/// One weight per output.
fn loss_weights(value: &Value, outputs: &Outputs, cx: &mut Ctxt) -> Option<Vec<f64>> {
    let Value::List(items, span) = value else {
        cx.error(value.span(), "`loss_weights` is a list of numbers, one per output");
        return None;
    };
    if items.len() != outputs.0.len() {
        cx.error(
            *span,
            format!(
                "the model has {} outputs but {} given",
                outputs.0.len(),
                counted(items.len(), "loss weight is", "loss weights are")
            ),
        );
        return None;
    }
    items
        .iter()
        .map(|v| match v {
            Value::Number(w, _) => Some(*w),
            other => {
                cx.error(other.span(), "a loss weight is a number");
                None
            }
        })
        .collect()
}

/// `1 loss is`, `3 losses are`.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
