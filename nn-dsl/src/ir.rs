//! The checked model that `check` (Sequential) and `graph` (functional) both hand to `expand`:
//! every layer with its shapes, and the order to evaluate them in.

use crate::catalog::Spec;
use crate::shape::Shape;
use proc_macro2::Ident;

pub struct Model {
    pub scalar: Scalar,
    pub class: Class,
    /// Whether Keras would draw the summary without its "Connected to" column: a Sequential
    /// model, or a functional one that is a plain chain.
    pub chain: bool,
    /// Shapes of the model's inputs, in order.
    pub inputs: Vec<Shape>,
    /// Every layer once (a shared layer once), in the order `summary()` lists them.
    pub layers: Vec<LayerNode>,
    /// Layer calls in evaluation order: each input of a step is computed before it.
    pub steps: Vec<Step>,
    /// What `predict` returns, in order.
    pub outputs: Vec<Value>,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Class {
    Sequential,
    Functional,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Sequential => "Sequential",
            Class::Functional => "Functional",
        }
    }
}

/// The model's element type.
pub enum Scalar {
    /// `f32` (the default) or `f64`.
    Concrete(Ident),
    /// A type parameter: the model is generic over every `nn::Float`.
    Generic(Ident),
}

pub struct LayerNode {
    /// The layer's name, also its field in the model struct.
    pub name: Ident,
    /// Where the user wrote the layer, for errors found once the model is built.
    pub span: proc_macro2::Span,
    pub spec: Spec,
    /// The shape fed to each input of the layer (its first input's, for merges).
    pub input: Shape,
    pub output: Shape,
    /// Keras's "Connected to" entries: `node_name[0][0]` for each input of each call.
    pub inbound: Vec<String>,
}

pub struct Step {
    /// Index into `Model::layers`.
    pub layer: usize,
    pub args: Vec<Value>,
    pub output: Shape,
    /// The shapes of the layer's further outputs, its final states (`return_state`).
    pub states: Vec<Shape>,
}

impl Model {
    /// How many steps call layer `i`.
    pub fn calls(&self, i: usize) -> usize {
        self.steps.iter().filter(|s| s.layer == i).count()
    }

    /// The name of the layer computing each output: the prefix of Keras's per-output logs.
    pub fn output_layers(&self) -> Vec<String> {
        self.outputs
            .iter()
            .map(|v| match v {
                Value::Step(k) | Value::State(k, _) => self.layers[self.steps[*k].layer].name.to_string(),
                Value::Input(i) => format!("input_layer_{i}"),
            })
            .collect()
    }

    /// Which of its layer's outputs each model output is: 0 for the layer's output, `k` for
    /// its `k`-th further output (a final state).
    pub fn output_tensors(&self) -> Vec<usize> {
        self.outputs.iter().map(|v| if let Value::State(_, k) = v { *k } else { 0 }).collect()
    }

    /// For each model input, the size of the id table when it holds token ids (it feeds an
    /// `Embedding`; the smallest table if several).
    pub fn ids(&self) -> Vec<Option<usize>> {
        let mut ids = vec![None; self.inputs.len()];
        for step in &self.steps {
            if let (Some(v), [Value::Input(i)]) = (self.layers[step.layer].spec.takes_ids(), &step.args[..]) {
                ids[*i] = Some(ids[*i].map_or(v, |w: usize| w.min(v)));
            }
        }
        ids
    }

    /// Token ids go from a model input straight into `Embedding` layers and nowhere else.
    pub fn check_ids(&self, cx: &mut crate::ctxt::Ctxt) {
        let ids = self.ids();
        for step in &self.steps {
            let layer = &self.layers[step.layer];
            let name = &layer.name;
            if layer.spec.takes_ids().is_some() {
                if !matches!(step.args[..], [Value::Input(_)]) {
                    cx.error(
                        layer.span,
                        format!("`{name}` takes token ids straight from an `Input`, not the output of another layer"),
                    );
                }
                continue;
            }
            for arg in &step.args {
                if let Value::Input(i) = arg
                    && ids[*i].is_some()
                {
                    cx.error(
                        layer.span,
                        format!(
                            "`{name}` takes numbers, but its input holds token ids for an `Embedding`: \
                             give it the embedding's output"
                        ),
                    );
                }
            }
        }
        let returns_ids = self.outputs.iter().any(|o| matches!(o, Value::Input(i) if ids[*i].is_some()));
        if let Some(layer) = self.layers.first().filter(|_| returns_ids) {
            cx.error(layer.span, "a model's output cannot be its input of token ids");
        }
    }

    /// `#[stream]` (at `span`): a chain over a sequence whose every layer can run one step at a
    /// time; each layer that cannot is an error naming why.
    pub fn check_stream(&self, span: proc_macro2::Span, cx: &mut crate::ctxt::Ctxt) {
        let chain = self.inputs.len() == 1
            && self.outputs == [Value::Step(self.steps.len().wrapping_sub(1))]
            && self
                .steps
                .iter()
                .enumerate()
                .all(|(k, s)| s.args == [if k == 0 { Value::Input(0) } else { Value::Step(k - 1) }]);
        if !chain {
            cx.error(span, "`#[stream]` steps a chain of layers, one input to one output, without merges");
            return;
        }
        if self.inputs[0].rank() != 2 || self.ids()[0].is_some() {
            cx.error(
                span,
                format!(
                    "`#[stream]` steps through a sequence, an `Input<steps, features>`; this model's input is {}",
                    self.inputs[0].keras()
                ),
            );
            return;
        }
        let t = quote::quote!(f32);
        for step in &self.steps {
            let layer = &self.layers[step.layer];
            if let Err(why) = layer.spec.stream(&layer.input, &t) {
                cx.error(
                    layer.span,
                    format!("`{}` {why}, so this model cannot `step` (`#[stream]`)", layer.name),
                );
            }
        }
    }

    /// The shape of a value.
    pub fn shape_of(&self, v: &Value) -> &Shape {
        match v {
            Value::Input(i) => &self.inputs[*i],
            Value::Step(i) => &self.steps[*i].output,
            Value::State(i, k) => &self.steps[*i].states[k - 1],
        }
    }

    /// The number of weights of the layers the macro knows (a nested model counts none).
    pub fn weights(&self) -> usize {
        let layer = |l: &LayerNode| -> usize {
            l.spec
                .variable_shapes(&l.input)
                .unwrap_or_default()
                .iter()
                .map(|s| crate::shape::Shape(s.clone()).len())
                .fold(0usize, usize::saturating_add)
        };
        self.layers.iter().map(layer).fold(0, usize::saturating_add)
    }

    /// Shapes of `predict`'s outputs, in order.
    pub fn output_shapes(&self) -> Vec<Shape> {
        self.outputs.iter().map(|v| self.shape_of(v).clone()).collect()
    }
}

/// A value inside `predict`.
#[derive(Clone, Copy, PartialEq)]
pub enum Value {
    /// The model's `i`-th input.
    Input(usize),
    /// The result of the `i`-th step.
    Step(usize),
    /// Output `k` (from 1, Keras's tensor index) after the first of the `i`-th step: a final
    /// state of a recurrent layer with `return_state`.
    State(usize, usize),
}
