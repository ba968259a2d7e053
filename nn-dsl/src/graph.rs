//! Meaning, for `functional!`: resolves every name in the graph, orders the nodes, finds cycles,
//! unused inputs and dead nodes, infers every shape, and names the layers as Keras would. Every
//! mistake is recorded in the context; nothing here generates code.

use crate::ast::{GraphDef, LayerCall, Stmt};
use crate::catalog::{self, Merge, ShapeError, Spec};
use crate::check::{keras_names, scalar};
use crate::ctxt::Ctxt;
use crate::ir::{Class, LayerNode, Model, Step, Value};
use crate::shape::Shape;
use crate::spelling;
use proc_macro2::Ident;
use std::collections::HashMap;

/// What a statement binds.
enum Binding {
    /// `x = Input<N>;`: a model input.
    Input(Spec),
    /// `shared = Dense<N>;`: a layer, to be called by name.
    Layer(Spec),
    /// `y = Dense<N>(x);`: a node computed by a layer of its own.
    Apply(Spec, Vec<usize>),
    /// `y = shared(x);`: a node computed by the layer bound in statement `.0`.
    Call(usize, Vec<usize>),
    /// `h` in `(y, h) = GRU<..>(x);`: output `.1` (from 1) of the node of statement `.0`.
    State(usize, usize),
    /// A statement whose mistakes were reported, with the nodes it did name (so that they do
    /// not also read as unused).
    Invalid(Vec<usize>),
}

impl Binding {
    fn is_node(&self) -> bool {
        matches!(self, Binding::Input(_) | Binding::Apply(..) | Binding::Call(..) | Binding::State(..))
    }

    fn args(&self) -> &[usize] {
        match self {
            Binding::Apply(_, args) | Binding::Call(_, args) | Binding::Invalid(args) => args,
            Binding::State(node, _) => std::slice::from_ref(node),
            _ => &[],
        }
    }
}

pub fn functional(def: &GraphDef, cx: &mut Ctxt) -> Option<Model> {
    if def.stmts.is_empty() {
        cx.error(def.span, "a model needs an input and a layer, e.g. `x = Input<2>; y = Dense<1>(x);`");
        return None;
    }
    // `(y, h) = GRU<..>(x);` is the statement `y = GRU<..>(x);` and, for `h`, a node of its own
    // taking the statement's second output.
    let mut stmts: Vec<Stmt> = Vec::new();
    let mut state_of: HashMap<usize, (usize, usize)> = HashMap::new();
    for stmt in &def.stmts {
        let source = stmts.len();
        stmts.push(Stmt { more: Vec::new(), ..stmt.clone() });
        for (k, name) in stmt.more.iter().enumerate() {
            let Some(name) = name else { continue };
            state_of.insert(stmts.len(), (source, k + 1));
            let call = LayerCall {
                label: None,
                kind: Ident::new("return_state", name.span()),
                model: None,
                args: Vec::new(),
            };
            stmts.push(Stmt {
                name: name.clone(),
                more: Vec::new(),
                call,
                inputs: Some(vec![stmt.name.clone()]),
            });
        }
    }
    let stmts = &stmts[..];
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (i, stmt) in stmts.iter().enumerate() {
        if by_name.insert(stmt.name.to_string(), i).is_some() {
            cx.error(stmt.name.span(), format!("`{}` is bound twice", stmt.name));
        }
    }
    // A later duplicate would shadow the first binding; resolve names to the first one.
    for (i, stmt) in stmts.iter().enumerate().rev() {
        by_name.insert(stmt.name.to_string(), i);
    }
    let bindings: Vec<Binding> = stmts
        .iter()
        .enumerate()
        .map(|(i, s)| match state_of.get(&i) {
            Some(&(source, k)) => Binding::State(source, k),
            None => bind(s, stmts, &by_name, cx),
        })
        .collect();

    let outputs = outputs(def, stmts, &state_of, &by_name, cx);
    let order = topological_order(stmts, &bindings, cx)?;
    report_unused(stmts, &bindings, &outputs, cx);

    // Each node's shape, from its own inputs.
    let mut sizes: Vec<Option<Shape>> = vec![None; stmts.len()];
    for &i in &order {
        sizes[i] = node_size(i, stmts, &bindings, &sizes, cx);
    }
    let layer_inputs = layer_input_sizes(stmts, &bindings, &sizes, cx);

    // Layers in creation (source) order, which is the order Keras names them in.
    let creators: Vec<usize> = (0..stmts.len())
        .filter(|&i| matches!(bindings[i], Binding::Input(_) | Binding::Layer(_) | Binding::Apply(..)))
        .collect();
    let wanted: Vec<_> = creators
        .iter()
        .map(|&i| {
            let stmt = &stmts[i];
            let label = match bindings[i] {
                Binding::Layer(_) => stmt.call.label.as_ref().or(Some(&stmt.name)),
                _ => stmt.call.label.as_ref(),
            };
            let spec = match &bindings[i] {
                Binding::Input(s) | Binding::Layer(s) | Binding::Apply(s, _) => Some(s),
                _ => None,
            };
            (label, spec)
        })
        .collect();
    let names = keras_names(&wanted, cx);
    let scalar = scalar(def.item.as_ref(), cx);
    let outputs = outputs?;
    if cx.has_errors() {
        return None;
    }
    let model = build(stmts, bindings, &sizes, &layer_inputs, creators, names, outputs, scalar?)?;
    model.check_ids(cx);
    crate::mask::check(&model, cx);
    Some(model)
}

/// Resolves one statement's layer and the nodes it is called on.
fn bind(stmt: &Stmt, stmts: &[Stmt], by_name: &HashMap<String, usize>, cx: &mut Ctxt) -> Binding {
    let resolved: Option<Vec<Option<usize>>> = stmt
        .inputs
        .as_ref()
        .map(|inputs| inputs.iter().map(|arg| resolve_node(arg, stmts, by_name, cx)).collect());
    let named: Vec<usize> = resolved.iter().flatten().flatten().copied().collect();
    let args = resolved.map(|args| args.into_iter().collect::<Option<Vec<usize>>>());
    // Calling a layer bound by name: `shared(x)`.
    if let Some(&target) = by_name.get(&stmt.call.kind.to_string())
        && !catalog::names().contains(&stmt.call.kind.to_string().as_str())
    {
        let is_layer = stmts[target].inputs.is_none() && stmts[target].call.kind != "Input";
        if !is_layer {
            cx.error(
                stmt.call.kind.span(),
                format!(
                    "`{}` is a node, not a layer: only a layer bound without inputs can be called",
                    stmt.call.kind
                ),
            );
            return Binding::Invalid(named);
        }
        if !stmt.call.args.is_empty() || stmt.call.label.is_some() {
            cx.error(
                stmt.call.kind.span(),
                format!("`{}` is already configured; call it as `{}(x)`", stmt.call.kind, stmt.call.kind),
            );
        }
        return match args {
            Some(Some(args)) => Binding::Call(target, args),
            Some(None) => Binding::Invalid(named),
            None => {
                cx.error(
                    stmt.call.kind.span(),
                    format!(
                        "`{}` is already a layer; call it on a node: `{}(x)`",
                        stmt.call.kind, stmt.call.kind
                    ),
                );
                Binding::Invalid(named)
            }
        };
    }
    let Some(spec) = catalog::resolve(&stmt.call, cx) else { return Binding::Invalid(named) };
    match (spec, args) {
        (spec @ Spec::Input { .. }, None) => Binding::Input(spec),
        (Spec::Input { .. }, Some(_)) => {
            cx.error(stmt.call.kind.span(), "`Input` takes no inputs: write `x = Input<N>;`");
            Binding::Invalid(named)
        }
        (spec, None) => Binding::Layer(spec),
        (spec, Some(Some(args))) => Binding::Apply(spec, args),
        (_, Some(None)) => Binding::Invalid(named),
    }
}

/// The statement binding the node `name`, or an error naming what it is instead.
fn resolve_node(
    name: &Ident,
    stmts: &[Stmt],
    by_name: &HashMap<String, usize>,
    cx: &mut Ctxt,
) -> Option<usize> {
    match by_name.get(&name.to_string()) {
        Some(&i) if stmts[i].inputs.is_none() && stmts[i].call.kind != "Input" => {
            cx.error(
                name.span(),
                format!("`{name}` is a layer, not a node: call it first, e.g. `y = {name}(x);`"),
            );
            None
        }
        Some(&i) => Some(i),
        None => {
            let nodes: Vec<String> = stmts
                .iter()
                .filter(|s| s.inputs.is_some() || s.call.kind == "Input")
                .map(|s| s.name.to_string())
                .collect();
            let hint = match spelling::closest(&name.to_string(), nodes.iter().map(String::as_str)) {
                Some(c) => format!("; did you mean `{c}`?"),
                None => String::new(),
            };
            cx.error(name.span(), format!("cannot find node `{name}` in this model{hint}"));
            None
        }
    }
}

/// The statements `predict` returns: the `->` list, or else the last node a layer call binds.
fn outputs(
    def: &GraphDef,
    stmts: &[Stmt],
    state_of: &HashMap<usize, (usize, usize)>,
    by_name: &HashMap<String, usize>,
    cx: &mut Ctxt,
) -> Option<Vec<usize>> {
    match &def.outputs {
        Some(names) => names.iter().map(|n| resolve_node(n, stmts, by_name, cx)).collect(),
        None => {
            // The last node a layer computes (its first output): a model returning its own
            // input is no default.
            let computed = |i: &usize| stmts[*i].inputs.is_some() && !state_of.contains_key(i);
            match (0..stmts.len()).rev().find(computed) {
                Some(last) => Some(vec![last]),
                None => {
                    cx.error(
                        def.span,
                        "the model computes nothing: call a layer on an input, e.g. `y = Dense<1>(x);`",
                    );
                    None
                }
            }
        }
    }
}

/// Every node after the nodes it is called on, otherwise in source order; `None` after
/// reporting a cycle.
fn topological_order(stmts: &[Stmt], bindings: &[Binding], cx: &mut Ctxt) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks = vec![Mark::New; stmts.len()];
    let mut order = Vec::with_capacity(stmts.len());
    let mut acyclic = true;
    for root in 0..stmts.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // Depth-first, with an explicit stack of (node, next argument to visit).
        let mut stack = vec![(root, 0)];
        marks[root] = Mark::Open;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let args = bindings[node].args();
            if *next == args.len() {
                marks[node] = Mark::Done;
                order.push(node);
                stack.pop();
                continue;
            }
            let (arg, position) = (args[*next], *next);
            *next += 1;
            match marks[arg] {
                Mark::New => {
                    marks[arg] = Mark::Open;
                    stack.push((arg, 0));
                }
                Mark::Open => {
                    // `arg` is on the stack: data flows from it, up through the stack, back to it.
                    let from = stack.iter().position(|(n, _)| *n == arg).unwrap_or(0);
                    let mut path: Vec<String> = vec![stmts[arg].name.to_string()];
                    path.extend(stack[from..].iter().rev().map(|(n, _)| stmts[*n].name.to_string()));
                    let token = &stmts[node].inputs.as_ref().map_or(&stmts[node].name, |i| &i[position]);
                    cx.error(token.span(), format!("cycle: {}", path.join(" -> ")));
                    acyclic = false;
                }
                Mark::Done => {}
            }
        }
    }
    acyclic.then_some(order)
}

/// Inputs no output depends on, nodes no output depends on, and layers never called: all errors,
/// since a fixed model would carry them for nothing (and a dead node usually means the wrong
/// node was returned).
fn report_unused(stmts: &[Stmt], bindings: &[Binding], outputs: &Option<Vec<usize>>, cx: &mut Ctxt) {
    let Some(outputs) = outputs else { return };
    // A statement that failed to resolve may be what would have used the rest: stay quiet
    // rather than report its consequences as mistakes of their own.
    if bindings.iter().any(|b| matches!(b, Binding::Invalid(_))) {
        return;
    }
    let mut used = vec![false; stmts.len()];
    let mut todo = outputs.clone();
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut used[i], true) {
            continue;
        }
        todo.extend_from_slice(bindings[i].args());
        if let Binding::Call(layer, _) = bindings[i] {
            used[layer] = true;
        }
    }
    for (i, stmt) in stmts.iter().enumerate() {
        if used[i] {
            continue;
        }
        let name = &stmt.name;
        match bindings[i] {
            Binding::Input(_) => cx.error(name.span(), format!("input `{name}` is not used by any output")),
            Binding::Layer(_) => cx.error(name.span(), format!("layer `{name}` is never called")),
            Binding::Apply(..) | Binding::Call(..) => cx.error(
                name.span(),
                format!("no output depends on `{name}`: return it (`-> ({name}, ...)`) or remove it"),
            ),
            Binding::State(..) => cx.error(
                name.span(),
                format!("no output depends on `{name}`: return it (`-> ({name}, ...)`) or bind it as `_`"),
            ),
            Binding::Invalid(_) => {}
        }
    }
}

/// The shape of node `i`, from the shapes of the nodes it is called on.
fn node_size(
    i: usize,
    stmts: &[Stmt],
    bindings: &[Binding],
    sizes: &[Option<Shape>],
    cx: &mut Ctxt,
) -> Option<Shape> {
    let (spec, args, name) = match &bindings[i] {
        Binding::Input(Spec::Input { shape }) => return Some(shape.clone()),
        Binding::State(node, k) => return state_size(i, *node, *k, stmts, bindings, sizes, cx),
        Binding::Apply(..) => {
            let (spec, args, _) = layer_call(i, stmts, bindings)?;
            (spec, args, stmts[i].call.to_string())
        }
        Binding::Call(layer, _) => {
            let (spec, args, _) = layer_call(i, stmts, bindings)?;
            (spec, args, stmts[*layer].name.to_string())
        }
        _ => return None,
    };
    if !spec.arity().accepts(args.len()) {
        let kind = match &bindings[i] {
            Binding::Apply(..) => stmts[i].call.kind.to_string(),
            _ => name,
        };
        cx.error(stmts[i].call.kind.span(), format!("`{kind}` takes {}, found {}", spec.arity(), args.len()));
        return None;
    }
    let inputs: Vec<Shape> = args.iter().map(|&a| sizes[a].clone()).collect::<Option<_>>()?;
    match spec.output(&inputs) {
        Ok(shape) => Some(shape),
        Err(ShapeError::Operand(k)) => {
            let operand = |j: usize| format!("`{}` {}", stmts[args[j]].name, inputs[j]);
            let token = &stmts[i].inputs.as_ref().map_or(&stmts[i].name, |a| &a[k]);
            let kind = stmts.get(i).map(|s| s.call.kind.to_string()).unwrap_or_default();
            let kind = if matches!(bindings[i], Binding::Call(..)) { name } else { kind };
            let what = if matches!(spec, Spec::Merge { op: Merge::Concatenate, .. }) {
                "its inputs must differ only on the axis it joins"
            } else {
                "its inputs' shapes must broadcast (equal sizes, or 1, on their last axes)"
            };
            cx.error(token.span(), format!("`{kind}` of {} and {}: {what}", operand(0), operand(k)));
            None
        }
        Err(ShapeError::Message(why)) => {
            cx.error(stmts[i].call.kind.span(), format!("`{name}` {why}"));
            None
        }
    }
}

/// The layer computing node `i`, the nodes it is called on and the call that made the layer.
fn layer_call<'a>(
    i: usize,
    stmts: &'a [Stmt],
    bindings: &'a [Binding],
) -> Option<(&'a Spec, &'a [usize], &'a LayerCall)> {
    match &bindings[i] {
        Binding::Apply(spec, args) => Some((spec, args, &stmts[i].call)),
        Binding::Call(layer, args) => match &bindings[*layer] {
            Binding::Layer(spec) => Some((spec, args, &stmts[*layer].call)),
            _ => None,
        },
        _ => None,
    }
}

/// The shape of output `k` (from 1) of node `node`, bound by statement `i`: a final state.
fn state_size(
    i: usize,
    node: usize,
    k: usize,
    stmts: &[Stmt],
    bindings: &[Binding],
    sizes: &[Option<Shape>],
    cx: &mut Ctxt,
) -> Option<Shape> {
    let (spec, args, call) = layer_call(node, stmts, bindings)?;
    // A layer of several inputs knows its further outputs' shapes from all of them.
    let inputs: Vec<Shape> = args.iter().map(|&a| sizes[a].clone()).collect::<Option<_>>()?;
    let states = spec.clone().bound(&inputs).states(inputs.first()?);
    match states.get(k - 1) {
        Some(shape) => Some(shape.clone()),
        None => {
            let has = match states.len() {
                0 => "has one output; `return_state = true` makes its final state the next".to_string(),
                n => format!(
                    "has {} outputs, the output and {n} final state{}",
                    n + 1,
                    if n > 1 { "s" } else { "" }
                ),
            };
            cx.error(
                stmts[i].name.span(),
                format!("`{}` binds output {} of `{call}`, which {has}", stmts[i].name, k + 1),
            );
            None
        }
    }
}

/// The input sizes of each layer (indexed by the statement creating it): its first call's in
/// source order, the first of which must be what it declares. Every call must agree with them:
/// on the first input, and on all for a layer taking them as a tuple.
fn layer_input_sizes(
    stmts: &[Stmt],
    bindings: &[Binding],
    sizes: &[Option<Shape>],
    cx: &mut Ctxt,
) -> Vec<Option<Vec<Shape>>> {
    let mut inputs: Vec<Option<Vec<Shape>>> = vec![None; stmts.len()];
    let mut first_call: Vec<Option<usize>> = vec![None; stmts.len()];
    for (i, binding) in bindings.iter().enumerate() {
        let (layer, spec, args) = match binding {
            Binding::Apply(spec, args) => (i, spec, args),
            Binding::Call(layer, args) => match &bindings[*layer] {
                Binding::Layer(spec) => (*layer, spec, args),
                _ => continue,
            },
            _ => continue,
        };
        let Some(all) = args.iter().map(|&a| sizes[a].clone()).collect::<Option<Vec<Shape>>>() else {
            continue;
        };
        let Some(&arg) = args.first() else { continue };
        let size = all[0].clone();
        let arg_token = stmts[i].inputs.as_ref().map_or(&stmts[i].name, |a| &a[0]);
        if let (true, Some(expected)) = (spec.takes_tuple(), &inputs[layer])
            && !same_further_inputs(i, layer, args, &all, expected, stmts, cx)
        {
            continue;
        }
        match (spec.declared_input(), inputs[layer].as_ref().map(|v| &v[0])) {
            (Some(declared), _) if declared.value != size.last() => cx.error(
                arg_token.span(),
                format!(
                    "`{}` expects {} inputs but `{}` has {size}",
                    stmts[layer].call, declared.value, stmts[arg].name
                ),
            ),
            (_, Some(expected)) if *expected != size => {
                let first = first_call[layer].map_or(String::new(), |c: usize| {
                    format!(
                        " (from its first call, on `{}`)",
                        stmts[c].inputs.as_ref().map_or(&stmts[c].name, |a| &a[0])
                    )
                });
                let takes = if expected.rank() == 1 {
                    format!("{expected} inputs")
                } else {
                    format!("inputs of {expected}")
                };
                cx.error(
                    arg_token.span(),
                    format!(
                        "shared layer `{}` takes {takes}{first} but `{}` has {size}",
                        stmts[layer].name, stmts[arg].name
                    ),
                )
            }
            (_, None) => {
                inputs[layer] = Some(all);
                first_call[layer] = Some(i);
            }
            _ => {}
        }
    }
    inputs
}

/// Whether call `i` of shared layer `layer`, which takes its inputs as a tuple, has as many as
/// its first call (`expected`), of the same shapes after the first (which the caller checks);
/// reports each difference.
fn same_further_inputs(
    i: usize,
    layer: usize,
    args: &[usize],
    all: &[Shape],
    expected: &[Shape],
    stmts: &[Stmt],
    cx: &mut Ctxt,
) -> bool {
    let name = &stmts[layer].name;
    if all.len() != expected.len() {
        let msg = format!(
            "shared layer `{name}` takes {} inputs (from its first call), not {}",
            expected.len(),
            all.len()
        );
        cx.error(stmts[i].call.kind.span(), msg);
        return false;
    }
    let mut same = true;
    for (k, (found, want)) in all.iter().zip(expected).enumerate().skip(1) {
        if found != want {
            let token = stmts[i].inputs.as_ref().map_or(&stmts[i].name, |a| &a[k]);
            let arg = &stmts[args[k]].name;
            let msg = format!(
                "shared layer `{name}` takes {want} as input {} (from its first call) but `{arg}` has {found}",
                k + 1
            );
            cx.error(token.span(), msg);
            same = false;
        }
    }
    same
}

/// Assembles the checked model once every check has passed, ordering the layers as Keras's
/// `map_graph` does so that `summary()` and the weight order match Keras's.
#[allow(clippy::too_many_arguments)]
fn build(
    stmts: &[Stmt],
    bindings: Vec<Binding>,
    sizes: &[Option<Shape>],
    layer_inputs: &[Option<Vec<Shape>>],
    creators: Vec<usize>,
    names: Vec<Ident>,
    outputs: Vec<usize>,
    scalar: crate::ir::Scalar,
) -> Option<Model> {
    let n = stmts.len();
    // The statement creating the layer that computes node `i`.
    let op_of = |i: usize| match bindings[i] {
        Binding::Call(layer, _) => layer,
        _ => i,
    };
    // A final state is its node's: the layer graph only has the nodes computing them.
    let node_of = |i: usize| match bindings[i] {
        Binding::State(node, _) => node,
        _ => i,
    };
    let args = |i: usize| -> Vec<usize> { bindings[i].args().iter().map(|&a| node_of(a)).collect() };

    // Keras's `_build_map`: nodes in post-order from the outputs, and each layer's first visit.
    let mut post = Vec::new();
    let mut op_index: HashMap<usize, usize> = HashMap::new();
    let mut done = vec![false; n];
    let mut stack: Vec<(usize, usize)> = outputs.iter().rev().map(|&o| (node_of(o), 0)).collect();
    while let Some((node, next)) = stack.pop() {
        if next == 0 {
            if done[node] {
                continue;
            }
            let len = op_index.len();
            op_index.entry(op_of(node)).or_insert(len);
        }
        match args(node).get(next) {
            Some(&arg) => {
                stack.push((node, next + 1));
                if !done[arg] {
                    stack.push((arg, 0));
                }
            }
            None => {
                if !done[node] {
                    done[node] = true;
                    post.push(node);
                }
            }
        }
    }

    // Keras's depths: a node sits above everything it feeds; a layer at its deepest node.
    let mut node_depth = vec![0usize; n];
    let mut op_depth: HashMap<usize, usize> = HashMap::new();
    for &node in post.iter().rev() {
        let depth = node_depth[node].max(op_depth.get(&op_of(node)).copied().unwrap_or(0));
        op_depth.insert(op_of(node), depth);
        node_depth[node] = depth;
        for arg in args(node) {
            node_depth[arg] = node_depth[arg].max(depth + 1);
        }
    }
    let mut rows: Vec<usize> = op_depth.keys().copied().collect();
    rows.sort_by_key(|op| (std::cmp::Reverse(op_depth[op]), op_index[op]));

    // Keras draws a plain chain (one node per depth, one input per node, no shared layer) as it
    // draws a Sequential model, without the "Connected to" column.
    let mut per_depth: HashMap<usize, usize> = HashMap::new();
    let mut per_op: HashMap<usize, usize> = HashMap::new();
    for &node in &post {
        *per_depth.entry(node_depth[node]).or_insert(0) += 1;
        *per_op.entry(op_of(node)).or_insert(0) += 1;
    }
    let chain = per_depth.values().all(|&c| c == 1)
        && post.iter().all(|&node| args(node).len() <= 1)
        && per_op.values().all(|&c| c == 1);

    // Keras's node index: the how-manyth call of its layer, in source order.
    let mut node_index = vec![0usize; n];
    let mut calls_so_far: HashMap<usize, usize> = HashMap::new();
    for (i, index) in node_index.iter_mut().enumerate() {
        if bindings[i].is_node() && !matches!(bindings[i], Binding::State(..)) {
            let count = calls_so_far.entry(op_of(i)).or_insert(0);
            *index = *count;
            *count += 1;
        }
    }

    let name_of: HashMap<usize, Ident> = creators.into_iter().zip(names).collect();
    let mut specs: Vec<Option<Spec>> = bindings
        .iter()
        .map(|b| match b {
            Binding::Input(s) | Binding::Layer(s) | Binding::Apply(s, _) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let mut model = Model {
        scalar,
        class: Class::Functional,
        chain,
        inputs: Vec::new(),
        layers: Vec::new(),
        steps: Vec::new(),
        outputs: Vec::new(),
    };
    let mut row_of: HashMap<usize, usize> = HashMap::new();
    for &op in &rows {
        row_of.insert(op, model.layers.len());
        let calls: Vec<usize> =
            (0..n).filter(|&i| bindings[i].is_node() && op_of(i) == op && done[i]).collect();
        let tensor = |a: usize| match bindings[a] {
            Binding::State(_, k) => k,
            _ => 0,
        };
        let inbound = calls
            .iter()
            .flat_map(|&call| bindings[call].args().iter())
            .map(|&a| {
                let node = node_of(a);
                name_of.get(&op_of(node)).map(|name| format!("{name}[{}][{}]", node_index[node], tensor(a)))
            })
            .collect::<Option<Vec<String>>>()?;
        let last = *calls.last()?;
        let mut spec = specs[op].take()?;
        let input = if matches!(spec, Spec::Input { .. }) {
            sizes[op].clone()?
        } else {
            let inputs = layer_inputs[op].clone()?;
            spec = spec.bound(&inputs);
            inputs.first()?.clone()
        };
        model.layers.push(LayerNode {
            name: name_of.get(&op)?.clone(),
            span: stmts[op].call.kind.span(),
            spec,
            input,
            output: sizes[last].clone()?,
            inbound,
        });
    }

    // Inputs in the order they are declared; then every other node in post-order.
    let mut value_of: HashMap<usize, Value> = HashMap::new();
    for (i, binding) in bindings.iter().enumerate() {
        if matches!(binding, Binding::Input(_)) {
            value_of.insert(i, Value::Input(model.inputs.len()));
            model.inputs.push(sizes[i].clone()?);
        }
    }
    for &node in &post {
        if matches!(bindings[node], Binding::Input(_)) {
            continue;
        }
        let values =
            bindings[node].args().iter().map(|a| value_of.get(a).copied()).collect::<Option<Vec<_>>>()?;
        let layer = &model.layers[row_of[&op_of(node)]];
        let states = layer.spec.states(&layer.input);
        let step = Step { layer: row_of[&op_of(node)], args: values, output: sizes[node].clone()?, states };
        model.steps.push(step);
        let value = model.steps.len() - 1;
        value_of.insert(node, Value::Step(value));
        for (i, binding) in bindings.iter().enumerate() {
            if let Binding::State(source, k) = binding
                && *source == node
            {
                value_of.insert(i, Value::State(value, *k));
            }
        }
    }
    model.outputs = outputs.iter().map(|o| value_of.get(o).copied()).collect::<Option<_>>()?;
    Some(model)
}
