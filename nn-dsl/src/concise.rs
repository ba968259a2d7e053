//! A model's DSL source with only the options that make it what it is: `nn dsl` reads a Keras
//! config, which states every option, Keras's defaults included, and keeps an option only if
//! leaving it out would change the code the macro generates. The test is the expansion itself,
//! not a table of defaults, so it holds for every layer in the catalog as it is today: an option
//! is dropped only when the model without it expands to the same tokens.

use crate::ast::{Arg, GraphDef, LayerCall, ModelDef};
use proc_macro2::TokenStream;

/// `source` (one `sequential! { ... }` or `functional! { ... }` item, as `nn dsl` prints it)
/// written as a person would: options at their defaults left out, leading options written
/// positionally (`Dense<8, relu>`), a layer called once bound to its own name, and labels the
/// macro would give anyway left out; each only where the expansion stays the same. `source`
/// itself if it cannot be read.
pub fn without_defaults(source: &str) -> String {
    let Some(mut def) = Def::parse(source) else { return source.to_string() };
    let Some(whole) = def.expand() else { return source.to_string() };
    let same = |trial: &Def| trial.expand().as_ref() == Some(&whole);
    drop_defaults(&mut def, &same);
    positional(&mut def, &same);
    if let Def::Functional(_) = def {
        own_names(&mut def, &same);
    }
    // Calls are counted afresh each time: leaving out a wrapper's option can remove its layers.
    let mut c = 0;
    while c < def.calls().len() {
        if let Some(trial) = def.edit(c, |call| call.label = None).filter(|t| same(t)) {
            def = trial;
        }
        c += 1;
    }
    def.to_string()
}

/// Leaves out every named option the expansion does not depend on: all of a call's at once
/// first (most are Keras's defaults), else one by one.
fn drop_defaults(def: &mut Def, same: &dyn Fn(&Def) -> bool) {
    let mut c = 0;
    while let Some(call) = def.calls().get(c) {
        let named: Vec<usize> =
            (0..call.args.len()).filter(|&i| matches!(call.args[i], Arg::Named { .. })).collect();
        let without = |def: &Def, drop: &[usize]| def.edit(c, |call| remove(&mut call.args, drop));
        match without(def, &named).filter(|t| same(t)) {
            Some(trial) => *def = trial,
            None => {
                for &i in named.iter().rev() {
                    if let Some(trial) = without(def, &[i]).filter(|t| same(t)) {
                        *def = trial;
                    }
                }
            }
        }
        c += 1;
    }
}

/// Writes a call's leading named options as plain values (`units = 8` as `8`) while the
/// expansion stays the same.
fn positional(def: &mut Def, same: &dyn Fn(&Def) -> bool) {
    let mut c = 0;
    while let Some(call) = def.calls().get(c) {
        // A flag stays named: `Dot<normalize = true>` says what `Dot<true>` does not.
        let leading = call
            .args
            .iter()
            .take_while(|a| !matches!(a, Arg::Named { value, .. } if matches!(**value, Arg::Bool(_))))
            .count();
        for i in 0..leading {
            let plain = def.edit(c, |call| {
                if let Some(Arg::Named { value, .. }) = call.args.get(i) {
                    call.args[i] = (**value).clone();
                }
            });
            match plain.filter(|t| same(t)) {
                Some(trial) => *def = trial,
                None => break,
            }
        }
        c += 1;
    }
}

/// Binds the value of a layer called once to the layer's name (`dense = dense: Dense<8>(x)`
/// rather than `dense__0 = ...`), where no other binding has that name.
fn own_names(def: &mut Def, same: &dyn Fn(&Def) -> bool) {
    let Def::Functional(graph) = &*def else { return };
    let renames: Vec<(syn::Ident, syn::Ident)> = graph
        .stmts
        .iter()
        .filter_map(|s| Some((s.name.clone(), s.call.label.clone()?)))
        .filter(|(name, label)| {
            name != label
                && !graph
                    .stmts
                    .iter()
                    .any(|s| s.name == *label || s.more.iter().flatten().any(|m| m == label))
        })
        .collect();
    for (from, to) in renames {
        let Def::Functional(graph) = &*def else { return };
        let mut trial = graph.clone();
        let rename = |ident: &mut syn::Ident| {
            if *ident == from {
                *ident = to.clone();
            }
        };
        for stmt in &mut trial.stmts {
            rename(&mut stmt.name);
            stmt.inputs.iter_mut().flatten().for_each(rename);
        }
        trial.outputs.iter_mut().flatten().for_each(rename);
        let trial = Def::Functional(trial);
        if same(&trial) {
            *def = trial;
        }
    }
}

/// The layer an argument gives (`layer = GRU<4>`, or `GRU<4>` written in place), if any.
fn layer_in(arg: &Arg) -> Option<&LayerCall> {
    match arg {
        Arg::Named { value, .. } => layer_in(value),
        Arg::Layer(call) => Some(call),
        _ => None,
    }
}

/// `args` without the ones at the indices `drop`.
fn remove(args: &mut Vec<Arg>, drop: &[usize]) {
    let mut i = 0;
    args.retain(|_| {
        i += 1;
        !drop.contains(&(i - 1))
    });
}

/// A model's source, read.
#[derive(Clone)]
enum Def {
    Sequential(ModelDef),
    Functional(GraphDef),
}

impl Def {
    fn parse(source: &str) -> Option<Def> {
        let (name, body) = source.trim().split_once('!')?;
        let body = body.trim().strip_prefix('{')?.strip_suffix('}')?;
        let tokens: TokenStream = body.parse().ok()?;
        match name.trim() {
            "sequential" => syn::parse2(tokens).ok().map(Def::Sequential),
            "functional" => syn::parse2(tokens).ok().map(Def::Functional),
            _ => None,
        }
    }

    /// The macro's expansion of the source as printed (so what is compared is what a user
    /// pastes); `None` if it does not read.
    fn expand(&self) -> Option<String> {
        let printed = self.to_string();
        let (_, body) = printed.split_once('!')?;
        let tokens: TokenStream = body.trim().strip_prefix('{')?.strip_suffix('}')?.parse().ok()?;
        let expansion = match self {
            Def::Sequential(_) => crate::sequential(tokens),
            Def::Functional(_) => crate::functional(tokens),
        };
        Some(expansion.to_string())
    }

    /// Every layer call, a wrapper's layers after it.
    fn calls(&self) -> Vec<&LayerCall> {
        fn with_inner<'a>(call: &'a LayerCall, out: &mut Vec<&'a LayerCall>) {
            out.push(call);
            for arg in &call.args {
                if let Some(inner) = layer_in(arg) {
                    with_inner(inner, out);
                }
            }
        }
        let mut out = Vec::new();
        match self {
            Def::Sequential(def) => def.layers.iter().for_each(|c| with_inner(c, &mut out)),
            Def::Functional(def) => def.stmts.iter().for_each(|s| with_inner(&s.call, &mut out)),
        }
        out
    }

    /// The source with call `c` (in [`Def::calls`]'s order) changed by `change`.
    fn edit(&self, c: usize, change: impl FnOnce(&mut LayerCall)) -> Option<Def> {
        fn find<'a>(call: &'a mut LayerCall, c: &mut usize) -> Option<&'a mut LayerCall> {
            if *c == 0 {
                return Some(call);
            }
            *c -= 1;
            for arg in &mut call.args {
                let inner = match arg {
                    Arg::Named { value, .. } => &mut **value,
                    arg => arg,
                };
                if let Arg::Layer(inner) = inner
                    && let Some(found) = find(inner, c)
                {
                    return Some(found);
                }
            }
            None
        }
        let mut def = self.clone();
        let mut left = c;
        let call = match &mut def {
            Def::Sequential(d) => d.layers.iter_mut().find_map(|call| find(call, &mut left)),
            Def::Functional(d) => d.stmts.iter_mut().find_map(|s| find(&mut s.call, &mut left)),
        }?;
        change(call);
        Some(def)
    }
}

impl std::fmt::Display for Def {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Def::Sequential(def) => write!(f, "{def}"),
            Def::Functional(def) => write!(f, "{def}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::without_defaults;

    #[test]
    fn defaults_go_and_what_matters_stays() {
        let source = "sequential! {\n    pub struct M {\n        input_layer: Input<4>,\n        dense: Dense<units = 8, activation = linear, use_bias = false, kernel_initializer = glorot_uniform>,\n        dense_1: Dense<units = 2, activation = softmax>,\n    }\n}\n";
        let short = without_defaults(source);
        assert!(short.contains("        Dense<8, use_bias = false>,\n"), "{short}");
        assert!(short.contains("        Dense<2, softmax>,\n"), "{short}");
        assert!(short.contains("        Input<4>,\n"), "{short}");
    }

    #[test]
    fn a_name_keras_would_not_give_stays() {
        let source = "functional! {\n    pub struct M {\n        x__0 = x: Input<4>;\n        encode__0 = encode: Dense<units = 8>(x__0);\n        -> encode__0;\n    }\n}\n";
        let short = without_defaults(source);
        assert!(short.contains("        encode = encode: Dense<8>(x);\n"), "{short}");
        assert!(short.contains("-> encode;"), "{short}");
    }

    #[test]
    fn what_does_not_read_is_left_as_it_is() {
        assert_eq!(without_defaults("sequential! { nonsense }"), "sequential! { nonsense }");
        assert_eq!(without_defaults("not a model"), "not a model");
    }
}
