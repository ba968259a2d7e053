//! The layer table: for each layer the DSL knows, how its arguments read, its output shape and
//! the nn-core type it becomes. Each layer family has its file here, beside its nn-core file;
//! adding a layer means its `LayerSpec` and one entry in [`LAYERS`].

mod activation;
mod attention;
mod augmentation;
mod conv;
mod conv_lstm;
mod conv_transpose;
mod dense;
mod embedding;
mod encoding;
mod identity;
mod masking;
mod normalization;
pub mod params;
mod pooling;
mod preprocessing;
mod recurrent;
mod regularization;
mod reshaping;
mod resizing;
mod wrappers;

use crate::ast::{Arg, LayerCall};
use crate::ctxt::Ctxt;
use crate::options::{self, Kind, Opt};
use crate::shape::{MAX_RANK, Shape};
use crate::spelling;
use params::Param;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use std::rc::Rc;

/// What a layer of the catalog knows about itself once its arguments are read.
pub trait LayerSpec {
    /// Keras's class name (`"Conv2D"`).
    fn class(&self) -> &'static str;

    /// A Keras class other than its nn-core type's `Layer::CLASS` (`RNN` for a GRU read from
    /// Keras's `RNN(GRUCell(...))`), which the model's summary and weight keys then use.
    fn keras_class(&self) -> Option<&'static str> {
        None
    }

    /// The size of the input's last axis the layer declares itself (`Dense<IN, OUT>`), if any.
    fn declared_input(&self) -> Option<Size> {
        None
    }

    /// How the user could give the layer its input size, if it can take one.
    fn input_hint(&self) -> Option<String> {
        None
    }

    /// The output shape for `input`, or what is wrong with the input, in Keras's terms and
    /// without the layer's name (`"needs 3×3 positions but its input is (None, 2, 5, 4)"`).
    fn output(&self, input: &Shape) -> Result<Shape, String>;

    /// The nn-core type holding the layer, over element type `t`, fed `input`.
    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream;

    /// How many inputs it is called on. A layer of several (`Attention`'s query, value and key)
    /// takes them as a tuple, and knows their shapes once [`LayerSpec::bind`] gave them.
    fn arity(&self) -> Arity {
        Arity::One
    }

    /// The output shape for the inputs of a layer of several ([`LayerSpec::arity`]), or what
    /// is wrong with them.
    fn output_of(&self, inputs: &[Shape]) -> Result<Shape, String> {
        match inputs {
            [input] => self.output(input),
            _ => Err(format!("takes one input, not {}", inputs.len())),
        }
    }

    /// The layer as called on `inputs`, for a layer of several whose type depends on all of
    /// their shapes; the methods taking `input` then get the first.
    fn bind(&self, inputs: &[Shape]) -> Option<Rc<dyn LayerSpec>> {
        let _ = inputs;
        None
    }

    /// The layer's variables, in order, fed `input`: each one's name in nn-core's layer (what
    /// its `visit_weights` calls it: `kernel`) and Keras's shape.
    fn variables(&self, input: &Shape) -> Vec<Variable> {
        let _ = input;
        Vec::new()
    }

    /// Multiply-accumulates per sample, fed `input`: a product's (a kernel over every
    /// position, a recurrent step over every step); 0 for a layer without one (elementwise
    /// layers, lookups, reshapes, pooling), as the usual counts of a model's cost go.
    fn macs(&self, input: &Shape) -> usize {
        let _ = input;
        0
    }

    /// How many of its weights are not trained (Keras's non-trainable params, nn-core's
    /// `Layer::NON_TRAINABLE`: BatchNormalization's moving statistics), fed `input`; for a
    /// wrapper, its own only (its sublayers count theirs).
    fn non_trainable(&self, input: &Shape) -> usize {
        let _ = input;
        0
    }

    /// The const value of the layer's activation, when it has options to set after zeroing.
    fn activation_value(&self) -> Option<&TokenStream> {
        None
    }

    /// The expression of the `::nn::init::Initializers` the layer was given
    /// (`kernel_initializer = he_normal`), which the model's `init_keras` hands to its
    /// `Layer::init_with`; `None` for a layer given none, or only Keras's defaults, which the
    /// model initializes with its `Layer::init_keras`. A layer taking initializers declares
    /// `<field>_initializer` parameters of kind `params::Kind::Initializer` and returns its
    /// `Args::initializers().expr()`.
    fn initializers(&self) -> Option<TokenStream> {
        None
    }

    /// The options a zeroed layer lacks, as (field, const value) pairs the model writes after
    /// zeroing: its activation's options, an `epsilon`, Normalization's mean and variance. A
    /// field may be a path (`dense.activation`).
    fn options(&self, input: &Shape, t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        let _ = (input, t);
        self.activation_value().map(|v| vec![("activation", v.clone())]).unwrap_or_default()
    }

    /// How the layer runs one step of a sequence (`#[stream]`): `Ok(Some(state))`, the type of
    /// what it keeps between steps (`()` for none), with nn-core's `Stream<state>` implemented
    /// for it; `Ok(None)` if a step passes through it unchanged; or why it cannot, in Keras's
    /// terms (`"reads the sequence from its end (go_backwards)"`).
    fn stream(&self, input: &Shape, t: &TokenStream) -> Result<Option<TokenStream>, String> {
        let _ = (input, t);
        Err("cannot run one step at a time".into())
    }

    /// Where a `.weights.h5` file keeps the layer's variables under `layers/<key>/` (nn-core's
    /// `Layer::H5_GROUP`).
    fn h5_group(&self) -> &'static str {
        "vars"
    }

    /// Whether the nn-core layer derives values from its weights and options (its const
    /// `prepare`, as BatchNormalization folds its statistics), which the model redoes after
    /// writing the options.
    fn prepares(&self) -> bool {
        false
    }

    /// The size of the id table, for a layer that takes token ids (`Embedding`) rather than
    /// floats: its input must be a model input, which then holds ids below that size.
    fn takes_ids(&self) -> Option<usize> {
        None
    }

    /// Whether the nn-core layer implements `nn::train::Train`, its training passes: a model
    /// trains only if all its layers do.
    fn trains(&self) -> bool {
        false
    }

    /// Why the layer has no training passes, when [`LayerSpec::trains`] is false, as the end of
    /// a sentence naming it.
    fn untrained(&self) -> &'static str {
        "has no backward pass yet"
    }

    /// Whether the layer is frozen (`trainable = false`): it gets no gradient and no optimizer
    /// state, and runs as at inference in training (see [`Frozen`]).
    fn frozen(&self) -> bool {
        false
    }

    /// Whether the training sweep too sees the output as the input's memory (`Flatten`,
    /// `Reshape`); a layer that is a view only at inference (Dropout, the identity there) says
    /// `false` and trains through its `Train` impl.
    fn trains_as_view(&self) -> bool {
        self.is_view()
    }

    /// Whether the output is the input's memory seen in another shape (`Flatten`, `Reshape`):
    /// the model then binds a reference to it, and the layer costs nothing.
    fn is_view(&self) -> bool {
        false
    }

    /// The shapes of the outputs after the first, Keras's `return_state=True` (the last `h`, and
    /// LSTM's `c`): a functional model binds them as `(y, h, c) = LSTM<..>(x);`. The generated
    /// call is then the nn-core layer's `forward_with_state`, giving the output and two states.
    fn states(&self, input: &Shape) -> Vec<Shape> {
        let _ = input;
        Vec::new()
    }

    /// The states the layer can start from instead of zeros, Keras's `initial_state`: a
    /// functional model calls it on them after its input, `LSTM<8>(x, h, c)`. The generated
    /// call is then the nn-core layer's `forward_from_state`.
    fn initial_states(&self) -> Vec<Shape> {
        Vec::new()
    }

    /// The layers a wrapper holds (`Bidirectional`'s halves, `TimeDistributed`'s layer), fed
    /// `input`: the model reads, visits and configures each as a layer of its own, so that
    /// its weights keep their Keras names. Empty for any other layer.
    fn sublayers(&self, input: &Shape) -> Vec<Sublayer> {
        let _ = input;
        Vec::new()
    }

    /// What the layer does with a mask on its input, as Keras's layer does (see [`Mask`]).
    fn mask(&self) -> Mask {
        Mask::Drops
    }

    /// Whether a layer reading a mask outputs zeros at masked steps (Keras's
    /// `zero_output_for_mask`): nn-core's `Masked::forward_masked_zeroed`.
    fn zeroes_masked(&self) -> bool {
        false
    }

    /// For a layer that makes a mask ([`Mask::Makes`]), the expression computing it, one
    /// `bool` a step, from `input`, a reference to the layer's input, and `layer`, the layer
    /// itself (`self.masking`).
    fn mask_of(&self, layer: &TokenStream, input: &TokenStream) -> Option<TokenStream> {
        let _ = (layer, input);
        None
    }
}

/// What a layer does with Keras's mask of its input's steps (`Embedding`'s `mask_zero`,
/// `Masking`), as Keras's `supports_masking`, `compute_mask` and a `mask` argument of `call`
/// decide it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mask {
    /// Ignores it and passes none on (a layer without `supports_masking`, which Keras warns
    /// "will destroy the mask").
    Drops,
    /// Passes it on unchanged (`supports_masking`, acting on each step alone).
    Keeps,
    /// Reads it in its pass (nn-core's `Masked`), and passes it on if `keeps` (a recurrent
    /// layer returning its sequence).
    Reads { keeps: bool },
    /// Would read it in Keras, which nn does not yet: why, as the end of a sentence naming the
    /// layer.
    Refuses(&'static str),
    /// Makes one from its input ([`LayerSpec::mask_of`]).
    Makes,
}

/// A layer inside a wrapper (see [`LayerSpec::sublayers`]).
pub struct Sublayer {
    /// The fields from the wrapper down to it (`[forward]`; a stack's third cell
    /// `[then, then]`).
    pub path: Vec<&'static str>,
    /// Keras's name of the layer (`forward_gru`), below the wrapper's in its weights' names.
    pub name: String,
    /// The group a `.weights.h5` file keeps it in, below the wrapper's (`forward_layer`).
    pub h5: String,
    pub spec: Rc<dyn LayerSpec>,
    /// What it is fed.
    pub input: Shape,
}

/// A layer that holds weights itself (not a wrapper), found inside a layer: the layer itself,
/// or the layers a wrapper holds, at any depth.
/// A variable of a layer: its name in nn-core's layer (`kernel`) and Keras's shape.
pub type Variable = (&'static str, Vec<usize>);

pub struct Leaf {
    /// The fields from the layer down to it (`[forward]`; empty for the layer itself).
    pub path: Vec<&'static str>,
    /// Its Keras name below the layer's (`forward_gru`; empty for the layer itself).
    pub name: String,
    /// Where a `.weights.h5` file keeps its variables below the layer's key (`vars`,
    /// `forward_layer/cell/vars`).
    pub h5_group: String,
    pub spec: Rc<dyn LayerSpec>,
    pub input: Shape,
}

/// The leaves of `spec` fed `input`, in weight order.
pub fn leaves(spec: &Rc<dyn LayerSpec>, input: &Shape) -> Vec<Leaf> {
    let subs = spec.sublayers(input);
    if subs.is_empty() {
        let h5_group = spec.h5_group().to_string();
        return vec![Leaf {
            path: Vec::new(),
            name: String::new(),
            h5_group,
            spec: spec.clone(),
            input: input.clone(),
        }];
    }
    let mut out = Vec::new();
    for sub in subs {
        for leaf in leaves(&sub.spec, &sub.input) {
            let mut path = sub.path.clone();
            path.extend(leaf.path);
            let name =
                if leaf.name.is_empty() { sub.name.clone() } else { format!("{}/{}", sub.name, leaf.name) };
            let h5_group = format!("{}/{}", sub.h5, leaf.h5_group);
            out.push(Leaf { path, name, h5_group, ..leaf });
        }
    }
    out
}

/// One entry of the layer table.
pub struct Entry {
    /// The DSL's name, which is Keras's class name.
    pub name: &'static str,
    /// Its parameters, by their Keras config names, for the DSL and for `keras_model!`.
    pub params: &'static [Param],
    /// Reads a call's arguments into the layer's spec.
    pub read: fn(&LayerCall, &mut Ctxt) -> Option<Rc<dyn LayerSpec>>,
}

/// Every layer with weights or a shape of its own (merges, `Input` and `Model` are below).
pub const LAYERS: &[Entry] = &[
    dense::DENSE,
    dense::EINSUM_DENSE,
    attention::ATTENTION,
    attention::ADDITIVE_ATTENTION,
    attention::MULTI_HEAD_ATTENTION,
    attention::GROUPED_QUERY_ATTENTION,
    embedding::EMBEDDING,
    encoding::CATEGORY_ENCODING,
    activation::ACTIVATION,
    activation::RELU,
    activation::LEAKY_RELU,
    activation::ELU,
    activation::SOFTMAX,
    activation::PRELU,
    normalization::BATCH_NORMALIZATION,
    normalization::LAYER_NORMALIZATION,
    normalization::GROUP_NORMALIZATION,
    normalization::UNIT_NORMALIZATION,
    normalization::RMS_NORMALIZATION,
    regularization::DROPOUT,
    regularization::SPATIAL_DROPOUT1D,
    regularization::SPATIAL_DROPOUT2D,
    regularization::SPATIAL_DROPOUT3D,
    regularization::GAUSSIAN_NOISE,
    regularization::GAUSSIAN_DROPOUT,
    regularization::ALPHA_DROPOUT,
    regularization::ACTIVITY_REGULARIZATION,
    identity::IDENTITY,
    masking::MASKING,
    augmentation::RANDOM_FLIP,
    augmentation::RANDOM_ROTATION,
    augmentation::RANDOM_ZOOM,
    augmentation::RANDOM_TRANSLATION,
    augmentation::RANDOM_CONTRAST,
    augmentation::RANDOM_BRIGHTNESS,
    augmentation::RANDOM_COLOR_DEGENERATION,
    augmentation::RANDOM_COLOR_JITTER,
    augmentation::RANDOM_ELASTIC_TRANSFORM,
    augmentation::RANDOM_ERASING,
    augmentation::RANDOM_GAUSSIAN_BLUR,
    augmentation::RANDOM_GRAYSCALE,
    augmentation::RANDOM_HUE,
    augmentation::RANDOM_INVERT,
    augmentation::RANDOM_PERSPECTIVE,
    augmentation::RANDOM_POSTERIZATION,
    augmentation::RANDOM_SATURATION,
    augmentation::RANDOM_SHARPNESS,
    augmentation::RANDOM_SHEAR,
    augmentation::AUG_MIX,
    augmentation::CUT_MIX,
    augmentation::MIX_UP,
    augmentation::RAND_AUGMENT,
    augmentation::SOLARIZATION,
    augmentation::EQUALIZATION,
    preprocessing::RESCALING,
    preprocessing::NORMALIZATION,
    resizing::RESIZING,
    resizing::CENTER_CROP,
    recurrent::SIMPLE_RNN,
    recurrent::GRU,
    recurrent::LSTM,
    recurrent::RNN,
    wrappers::BIDIRECTIONAL,
    wrappers::TIME_DISTRIBUTED,
    conv::CONV1D,
    conv::CONV2D,
    conv::CONV3D,
    conv::DEPTHWISE_CONV1D,
    conv::DEPTHWISE_CONV2D,
    conv::SEPARABLE_CONV1D,
    conv::SEPARABLE_CONV2D,
    conv_lstm::CONV_LSTM1D,
    conv_lstm::CONV_LSTM2D,
    conv_lstm::CONV_LSTM3D,
    conv_transpose::CONV1D_TRANSPOSE,
    conv_transpose::CONV2D_TRANSPOSE,
    conv_transpose::CONV3D_TRANSPOSE,
    pooling::MAX_POOLING1D,
    pooling::MAX_POOLING2D,
    pooling::AVERAGE_POOLING1D,
    pooling::AVERAGE_POOLING2D,
    pooling::MAX_POOLING3D,
    pooling::AVERAGE_POOLING3D,
    pooling::GLOBAL_MAX_POOLING1D,
    pooling::GLOBAL_MAX_POOLING2D,
    pooling::GLOBAL_AVERAGE_POOLING1D,
    pooling::GLOBAL_AVERAGE_POOLING2D,
    pooling::GLOBAL_MAX_POOLING3D,
    pooling::GLOBAL_AVERAGE_POOLING3D,
    pooling::ADAPTIVE_MAX_POOLING1D,
    pooling::ADAPTIVE_MAX_POOLING2D,
    pooling::ADAPTIVE_AVERAGE_POOLING1D,
    pooling::ADAPTIVE_AVERAGE_POOLING2D,
    pooling::ADAPTIVE_MAX_POOLING3D,
    pooling::ADAPTIVE_AVERAGE_POOLING3D,
    reshaping::FLATTEN,
    reshaping::RESHAPE,
    reshaping::PERMUTE,
    reshaping::REPEAT_VECTOR,
    reshaping::ZERO_PADDING1D,
    reshaping::ZERO_PADDING2D,
    reshaping::ZERO_PADDING3D,
    reshaping::CROPPING1D,
    reshaping::CROPPING2D,
    reshaping::CROPPING3D,
    reshaping::UP_SAMPLING1D,
    reshaping::UP_SAMPLING2D,
    reshaping::UP_SAMPLING3D,
];

/// The merging layers, which have no entry in [`LAYERS`].
const MERGES: &[&str] =
    &["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"];

/// Every layer name accepted.
pub fn names() -> Vec<&'static str> {
    let table = LAYERS.iter().map(|e| e.name);
    ["Input"].into_iter().chain(table).chain(MERGES.iter().copied()).chain(["Model"]).collect()
}

/// A layer whose arguments made sense.
#[derive(Clone)]
pub enum Spec {
    Input {
        shape: Shape,
    },
    Merge {
        op: Merge,
        normalize: bool,
        /// Concatenate's `axis`, as Keras numbers it (the batch axis 0, negative from the end).
        axis: i64,
    },
    /// A model type used as a layer: `Model<Encoder, 4, 8>`, `Model<Encoder, (8, 8, 1), 16>`.
    Nested {
        ty: Box<syn::Type>,
        input: Shape,
        output: Shape,
        /// Where the input's and the output's shapes are written.
        spans: (Span, Span),
    },
    /// A layer of the table.
    Layer(Rc<dyn LayerSpec>),
}

/// Why a layer cannot take its inputs.
pub enum ShapeError {
    /// Operand `.0` of a merge differs from the first.
    Operand(usize),
    /// The layer's own complaint, without its name.
    Message(String),
}
/// Keras's merging layers.
#[derive(Clone, Copy, PartialEq)]
pub enum Merge {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
    Concatenate,
    Dot,
}

/// How many inputs a layer is called on.
#[derive(Clone, Copy)]
pub enum Arity {
    One,
    /// One input, or one and the `n` states it starts from (a recurrent layer's
    /// `initial_state`).
    OneOrWithStates(usize),
    Exactly(usize),
    AtLeast(usize),
    /// From the first to the second, both included.
    Between(usize, usize),
}

impl Arity {
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::One => n == 1,
            Arity::OneOrWithStates(k) => n == 1 || n == 1 + k,
            Arity::Exactly(k) => n == k,
            Arity::AtLeast(k) => n >= k,
            Arity::Between(lo, hi) => (lo..=hi).contains(&n),
        }
    }

    /// Whether the layer takes its inputs as a tuple (one value for several inputs).
    pub fn tuple(self) -> bool {
        matches!(self, Arity::Exactly(2..) | Arity::AtLeast(2..) | Arity::Between(2.., _))
    }
}

impl std::fmt::Display for Arity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arity::One => f.write_str("one input"),
            Arity::OneOrWithStates(1) => f.write_str("one input, or its input and initial state"),
            Arity::OneOrWithStates(k) => write!(f, "one input, or its input and {k} initial states"),
            Arity::Exactly(k) => write!(f, "exactly {k} inputs"),
            Arity::AtLeast(k) => write!(f, "at least {k} inputs"),
            Arity::Between(lo, hi) => write!(f, "{lo} to {hi} inputs"),
        }
    }
}

/// How a model holds a layer.
pub enum Holder {
    /// No field: the layer has no weights (merges).
    Nothing,
    /// A field of this nn-core `Layer` type.
    Layer(TokenStream),
    /// A field of this `Model` type.
    Model(TokenStream),
}

/// A size as written, kept with its span for mismatch errors.
#[derive(Clone, Copy)]
pub struct Size {
    pub value: usize,
    pub span: Span,
}

impl Spec {
    /// The size of the input's last axis the layer declares (`Dense<IN, OUT>`), if any.
    pub fn declared_input(&self) -> Option<Size> {
        match self {
            Spec::Layer(layer) => layer.declared_input(),
            Spec::Nested { input, spans, .. } if input.rank() == 1 => {
                Some(Size { value: input.last(), span: spans.0 })
            }
            Spec::Nested { .. } => None,
            Spec::Input { .. } | Spec::Merge { .. } => None,
        }
    }

    /// How the user could give this layer its input size, if it can take one.
    pub fn input_hint(&self) -> Option<String> {
        match self {
            Spec::Layer(layer) => layer.input_hint(),
            _ => None,
        }
    }

    /// The number of inputs the layer takes (zero for `Input`).
    pub fn arity(&self) -> Arity {
        match self {
            Spec::Input { .. } => Arity::Exactly(0),
            Spec::Layer(layer) if !layer.initial_states().is_empty() => {
                Arity::OneOrWithStates(layer.initial_states().len())
            }
            Spec::Layer(layer) => layer.arity(),
            Spec::Nested { .. } => Arity::One,
            Spec::Merge { op: Merge::Subtract | Merge::Dot, .. } => Arity::Exactly(2),
            Spec::Merge { .. } => Arity::AtLeast(2),
        }
    }

    /// The output shape for the given input shapes.
    pub fn output(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        let output = self.shape_rule(inputs)?;
        if let Some(why) = output.too_large() {
            return Err(ShapeError::Message(format!("gives an output of shape {output}, {why}")));
        }
        // Its weights too: each variable, and all of them, an array nn can hold.
        let variables = inputs.first().and_then(|input| self.variable_shapes(input)).unwrap_or_default();
        let total = variables.iter().try_fold(0usize, |sum, v| sum.checked_add(Shape(v.clone()).len()));
        match total {
            Some(n) if n <= Shape::MAX_VALUES => Ok(output),
            Some(n) => Err(ShapeError::Message(format!(
                "has {n} weights, more than an array can hold (at most {})",
                Shape::MAX_VALUES
            ))),
            None => Err(ShapeError::Message("has more weights than fit in a `usize`".into())),
        }
    }

    /// [`Spec::output`] before the output's size is checked.
    fn shape_rule(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        let Some(first) = inputs.first() else {
            return match self {
                Spec::Input { shape } => Ok(shape.clone()),
                _ => Err(ShapeError::Message("has no input".into())),
            };
        };
        match self {
            Spec::Input { shape } => Ok(shape.clone()),
            Spec::Layer(layer) => {
                for (k, (state, want)) in inputs[1..].iter().zip(layer.initial_states()).enumerate() {
                    if *state != want {
                        return Err(ShapeError::Message(format!(
                            "starts from states of shape {}, but its input {} is {}",
                            want.keras(),
                            k + 2,
                            state.keras()
                        )));
                    }
                }
                if layer.arity().tuple() {
                    return layer.output_of(inputs).map_err(ShapeError::Message);
                }
                layer.output(first).map_err(ShapeError::Message)
            }
            // A vector's size is compared as any layer's declared input is; rustc checks the
            // shapes against the model's own type.
            Spec::Nested { input, output, .. }
                if input == first || input.rank() == 1 && first.rank() == 1 =>
            {
                Ok(output.clone())
            }
            Spec::Nested { input, .. } => Err(ShapeError::Message(format!(
                "takes inputs of shape {}, but its input is {}",
                input.keras(),
                first.keras()
            ))),
            Spec::Merge { op: Merge::Concatenate, axis, .. } => {
                let k = concat_axis(*axis, first).map_err(ShapeError::Message)?;
                let differs = |s: &Shape| {
                    s.rank() != first.rank() || (0..s.rank()).any(|a| a != k && s.0[a] != first.0[a])
                };
                match inputs.iter().position(differs) {
                    Some(i) => Err(ShapeError::Operand(i)),
                    None => {
                        let mut dims = first.0.clone();
                        dims[k] = inputs
                            .iter()
                            .try_fold(0usize, |n, s| n.checked_add(s.0[k]))
                            .unwrap_or(usize::MAX);
                        Ok(Shape(dims))
                    }
                }
            }
            Spec::Merge { op: Merge::Dot, .. } => match inputs.iter().position(|s| s != first) {
                Some(i) => Err(ShapeError::Operand(i)),
                None if first.rank() > 1 => Err(ShapeError::Message(format!(
                    "takes vectors; on inputs of shape {first} it is not supported yet"
                ))),
                None => Ok(Shape::vector(1)),
            },
            Spec::Merge { .. } => broadcast_shape(inputs).map_err(ShapeError::Operand),
        }
    }

    /// Whether the layer takes its several inputs as one tuple (`Attention`'s).
    pub fn takes_tuple(&self) -> bool {
        matches!(self, Spec::Layer(layer) if layer.arity().tuple())
    }

    /// The layer as called on `inputs` (see [`LayerSpec::bind`]).
    pub fn bound(self, inputs: &[Shape]) -> Spec {
        match &self {
            Spec::Layer(layer) if layer.arity().tuple() => layer.bind(inputs).map_or(self, Spec::Layer),
            _ => self,
        }
    }

    /// Keras's class name.
    pub fn class(&self) -> &'static str {
        match self {
            Spec::Input { .. } => "InputLayer",
            Spec::Layer(layer) => layer.class(),
            Spec::Nested { .. } => "Model",
            Spec::Merge { op, .. } => match op {
                Merge::Add => "Add",
                Merge::Subtract => "Subtract",
                Merge::Multiply => "Multiply",
                Merge::Average => "Average",
                Merge::Maximum => "Maximum",
                Merge::Minimum => "Minimum",
                Merge::Concatenate => "Concatenate",
                Merge::Dot => "Dot",
            },
        }
    }

    /// Keras's automatic name prefix (`dense`, `max_pooling2d`, ...): the class in snake case,
    /// as Keras's `to_snake_case` writes it.
    pub fn prefix(&self) -> String {
        match self {
            Spec::Nested { .. } => "functional".to_string(),
            other => snake_case(other.class()),
        }
    }

    /// How a model holds the layer, over element type `t`, fed `input`.
    pub fn holder(&self, input: &Shape, t: &TokenStream) -> Holder {
        match self {
            Spec::Input { .. } | Spec::Merge { .. } => Holder::Nothing,
            Spec::Layer(layer) => Holder::Layer(layer.ty(input, t)),
            Spec::Nested { ty, .. } => Holder::Model(quote!(#ty)),
        }
    }

    /// The expression applying a weightless layer to `args` (references to the inputs, of
    /// shapes `inputs`), giving `output`; `None` for layers held in a field.
    pub fn merge_call(&self, args: &[TokenStream], inputs: &[Shape], output: &Shape) -> Option<TokenStream> {
        let Spec::Merge { op, normalize, axis } = self else { return None };
        if let Some(op) = op.elementwise().filter(|_| inputs.iter().any(|s| s != output)) {
            let dims = inputs.iter().map(|s| &s.0);
            let ty = output.ty(&quote!(_));
            return Some(quote!(::nn::merge::broadcast::<#ty>(
                #op, &[#((::nn::tensor::Tensor::as_slice(#args), &[#(#dims),*] as &[usize])),*]
            )));
        }
        Some(match op {
            Merge::Add => quote!(::nn::merge::add([#(#args),*])),
            Merge::Subtract => quote!(::nn::merge::subtract(#(#args),*)),
            Merge::Multiply => quote!(::nn::merge::multiply([#(#args),*])),
            Merge::Average => quote!(::nn::merge::average([#(#args),*])),
            Merge::Maximum => quote!(::nn::merge::maximum([#(#args),*])),
            Merge::Minimum => quote!(::nn::merge::minimum([#(#args),*])),
            Merge::Concatenate => {
                let ty = output.ty(&quote!(_));
                let widths = concat_widths(*axis, inputs);
                quote!(::nn::merge::concatenate::<#ty>(&[#((::nn::tensor::Tensor::as_slice(#args), #widths)),*]))
            }
            Merge::Dot => quote!(::nn::merge::dot(#(#args,)* #normalize)),
        })
    }

    /// The statement adding the gradient with respect to operand `k` of a merge into `dx`, over
    /// a batch as flat slices: `vals` are the operands, `dy` the gradient of the output;
    /// `None` for layers held in a field.
    pub fn merge_grad(
        &self,
        k: usize,
        vals: &[TokenStream],
        inputs: &[Shape],
        dy: &TokenStream,
        dx: &TokenStream,
    ) -> Option<TokenStream> {
        let Spec::Merge { op, normalize, axis } = self else { return None };
        let count = vals.len();
        if let Some(op) = op.elementwise().filter(|_| inputs.iter().any(|s| *s != inputs[0])) {
            let out = broadcast_shape(inputs).unwrap_or_else(|_| inputs[0].clone()).0;
            let dims = inputs.iter().map(|s| &s.0);
            return Some(quote!(::nn::merge::grad::broadcast(
                #op, #k, &[#(#out),*], &[#(&[#(#dims),*]),*], &[#(#vals),*], #dy, #dx
            );));
        }
        Some(match op {
            Merge::Add => quote!(::nn::merge::grad::add(#dy, #dx);),
            Merge::Subtract => quote!(::nn::merge::grad::subtract(#k, #dy, #dx);),
            Merge::Average => quote!(::nn::merge::grad::average(#count, #dy, #dx);),
            Merge::Multiply => quote!(::nn::merge::grad::multiply(#k, &[#(#vals),*], #dy, #dx);),
            Merge::Maximum => quote!(::nn::merge::grad::extremum(true, #k, &[#(#vals),*], #dy, #dx);),
            Merge::Minimum => quote!(::nn::merge::grad::extremum(false, #k, &[#(#vals),*], #dy, #dx);),
            Merge::Concatenate => {
                let widths = concat_widths(*axis, inputs);
                quote!(::nn::merge::grad::concatenate(#k, &[#(#widths),*], #dy, #dx);)
            }
            Merge::Dot => {
                let n = inputs[0].last();
                quote!(::nn::merge::grad::dot(#k, #n, #normalize, #(#vals,)* #dy, #dx);)
            }
        })
    }

    /// See [`LayerSpec::keras_class`].
    pub fn keras_class(&self) -> Option<&'static str> {
        match self {
            Spec::Layer(layer) => layer.keras_class(),
            _ => None,
        }
    }

    /// What the layer does with a mask on its input (see [`LayerSpec::mask`]); merges are
    /// [`crate::mask`]'s own case, and a nested model, which Keras would hand the mask to its
    /// layers, refuses it.
    pub fn mask(&self) -> Mask {
        match self {
            Spec::Layer(layer) => layer.mask(),
            Spec::Nested { .. } => Mask::Refuses("is a model, which nn does not hand masks to yet"),
            Spec::Input { .. } | Spec::Merge { .. } => Mask::Drops,
        }
    }

    /// Whether the layer is frozen (see [`LayerSpec::frozen`]).
    pub fn frozen(&self) -> bool {
        matches!(self, Spec::Layer(layer) if layer.frozen())
    }

    /// Whether the layer has training passes (see [`LayerSpec::trains`]); merges do.
    pub fn trains(&self) -> bool {
        match self {
            Spec::Layer(layer) => layer.trains(),
            // A nested model trains if its own type is `Trainable`, which the sweep requires in
            // a bound rather than here.
            Spec::Input { .. } | Spec::Merge { .. } | Spec::Nested { .. } => true,
        }
    }

    /// Why the layer has no training passes (see [`LayerSpec::untrained`]).
    pub fn untrained(&self) -> &'static str {
        match self {
            Spec::Layer(layer) => layer.untrained(),
            _ => "has no backward pass yet",
        }
    }

    /// Multiply-accumulates per sample fed `input` (see [`LayerSpec::macs`]); `None` for a
    /// nested model, whose are its own layers'.
    pub fn macs(&self, input: &Shape) -> Option<usize> {
        match self {
            Spec::Layer(layer) => Some(layer.macs(input)),
            Spec::Input { .. } | Spec::Merge { .. } => Some(0),
            Spec::Nested { .. } => None,
        }
    }

    /// Keras's shapes of the layer's variables, in order, fed `input`; `None` for a nested
    /// model, whose variables are its own layers'.
    pub fn variable_shapes(&self, input: &Shape) -> Option<Vec<Vec<usize>>> {
        match self {
            Spec::Layer(layer) => Some(layer.variables(input).into_iter().map(|(_, shape)| shape).collect()),
            Spec::Input { .. } | Spec::Merge { .. } => Some(Vec::new()),
            Spec::Nested { .. } => None,
        }
    }

    /// Where the user wrote the layer's input and output sizes, for rustc's own type errors on
    /// what the macro cannot check itself (a nested model's real sizes).
    pub fn size_spans(&self) -> Option<(Span, Span)> {
        match self {
            Spec::Nested { spans, .. } => Some(*spans),
            _ => None,
        }
    }

    /// How it runs one step of a sequence (see [`LayerSpec::stream`]).
    pub fn stream(&self, input: &Shape, t: &TokenStream) -> Result<Option<TokenStream>, String> {
        match self {
            Spec::Layer(layer) => layer.stream(input, t),
            _ => Err("cannot run one step at a time".into()),
        }
    }

    /// The id table's size, for a layer that takes token ids (see [`LayerSpec::takes_ids`]).
    pub fn takes_ids(&self) -> Option<usize> {
        match self {
            Spec::Layer(layer) => layer.takes_ids(),
            _ => None,
        }
    }

    /// Whether the training sweep sees the output as a view (see [`LayerSpec::trains_as_view`]).
    pub fn trains_as_view(&self) -> bool {
        matches!(self, Spec::Layer(layer) if layer.trains_as_view())
    }

    /// Whether the layer's output is a view of its input (see [`LayerSpec::is_view`]).
    pub fn is_view(&self) -> bool {
        matches!(self, Spec::Layer(layer) if layer.is_view())
    }

    /// The shapes of its outputs after the first (see [`LayerSpec::states`]).
    pub fn states(&self, input: &Shape) -> Vec<Shape> {
        match self {
            Spec::Layer(layer) => layer.states(input),
            _ => Vec::new(),
        }
    }

    /// The layers holding weights in it (see [`leaves`]); none for a merge, an input or a
    /// nested model.
    pub fn leaves(&self, input: &Shape) -> Vec<Leaf> {
        match self {
            Spec::Layer(layer) => leaves(layer, input),
            _ => Vec::new(),
        }
    }
}

/// Keras's `to_snake_case`: `MaxPooling2D` → `max_pooling2d`, `InputLayer` → `input_layer`.
pub fn snake_case(class: &str) -> String {
    let chars: Vec<char> = class.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        // `(.)([A-Z][a-z]+)` → `\1_\2`, then `([a-z])([A-Z])` → `\1_\2`.
        let starts_word =
            i > 0 && c.is_ascii_uppercase() && chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
        let after_lower = i > 0 && c.is_ascii_uppercase() && chars[i - 1].is_ascii_lowercase();
        if (starts_word || after_lower) && !out.ends_with('_') {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Reads one layer call, recording every mistake in `cx`.
pub fn resolve(call: &LayerCall, cx: &mut Ctxt) -> Option<Spec> {
    let kind = call.kind.to_string();
    if let Some(entry) = LAYERS.iter().find(|e| e.name == kind) {
        let (call, trainable) = trainable(call, cx);
        let layer = (entry.read)(&call, cx)?;
        return Some(Spec::Layer(if trainable {
            layer
        } else {
            Rc::new(Dressed { layer, frozen: true, class: None })
        }));
    }
    match kind.as_str() {
        "Input" => input(call, cx),
        "Add" => merge(call, Merge::Add, cx),
        "Subtract" => merge(call, Merge::Subtract, cx),
        "Multiply" => merge(call, Merge::Multiply, cx),
        "Average" => merge(call, Merge::Average, cx),
        "Maximum" => merge(call, Merge::Maximum, cx),
        "Minimum" => merge(call, Merge::Minimum, cx),
        "Concatenate" => merge(call, Merge::Concatenate, cx),
        "Dot" => merge(call, Merge::Dot, cx),
        "Model" => nested(call, cx),
        _ => {
            let hint = if crate::activation::NAMES.contains(&kind.as_str()) {
                format!("an activation on its own is written `Activation<{kind}>`")
            } else {
                spelling::hint(&kind, &names())
            };
            cx.error(call.kind.span(), format!("unknown layer `{kind}`; {hint}"));
            None
        }
    }
}

/// The call without its `trainable = ..` option, which every layer with weights or a shape
/// takes (Keras's base `Layer` argument), and the option's value.
fn trainable(call: &LayerCall, cx: &mut Ctxt) -> (LayerCall, bool) {
    let mut trainable = true;
    let mut args = Vec::with_capacity(call.args.len());
    for arg in &call.args {
        match arg {
            Arg::Named { name, value } if name == "trainable" => match &**value {
                Arg::Bool(b) => trainable = b.value,
                _ => cx.error(name.span(), "`trainable` is `true` or `false`"),
            },
            other => args.push(other.clone()),
        }
    }
    (
        LayerCall { label: call.label.clone(), kind: call.kind.clone(), model: call.model.clone(), args },
        trainable,
    )
}

/// A layer of the table as another made it: frozen (`trainable = false`: the layer itself in
/// every respect but training), or under another Keras class (a `GRU` as Keras's `RNN` over a
/// `GRUCell`, its summary and weight keys Keras's).
pub(crate) struct Dressed {
    pub layer: Rc<dyn LayerSpec>,
    pub frozen: bool,
    pub class: Option<&'static str>,
}

impl LayerSpec for Dressed {
    fn class(&self) -> &'static str {
        self.class.unwrap_or_else(|| self.layer.class())
    }
    fn keras_class(&self) -> Option<&'static str> {
        self.class.or_else(|| self.layer.keras_class())
    }
    fn declared_input(&self) -> Option<Size> {
        self.layer.declared_input()
    }
    fn input_hint(&self) -> Option<String> {
        self.layer.input_hint()
    }
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        self.layer.output(input)
    }
    fn ty(&self, input: &Shape, t: &TokenStream) -> TokenStream {
        self.layer.ty(input, t)
    }
    fn variables(&self, input: &Shape) -> Vec<Variable> {
        self.layer.variables(input)
    }
    fn non_trainable(&self, input: &Shape) -> usize {
        self.layer.non_trainable(input)
    }
    fn macs(&self, input: &Shape) -> usize {
        self.layer.macs(input)
    }
    fn activation_value(&self) -> Option<&TokenStream> {
        self.layer.activation_value()
    }
    fn options(&self, input: &Shape, t: &TokenStream) -> Vec<(&'static str, TokenStream)> {
        self.layer.options(input, t)
    }
    fn initializers(&self) -> Option<TokenStream> {
        self.layer.initializers()
    }
    fn stream(&self, input: &Shape, t: &TokenStream) -> Result<Option<TokenStream>, String> {
        self.layer.stream(input, t)
    }
    fn h5_group(&self) -> &'static str {
        self.layer.h5_group()
    }
    fn prepares(&self) -> bool {
        self.layer.prepares()
    }
    fn takes_ids(&self) -> Option<usize> {
        self.layer.takes_ids()
    }
    fn trains(&self) -> bool {
        self.layer.trains()
    }
    fn untrained(&self) -> &'static str {
        self.layer.untrained()
    }
    fn frozen(&self) -> bool {
        self.frozen || self.layer.frozen()
    }
    fn trains_as_view(&self) -> bool {
        self.layer.trains_as_view()
    }
    fn is_view(&self) -> bool {
        self.layer.is_view()
    }
    fn states(&self, input: &Shape) -> Vec<Shape> {
        self.layer.states(input)
    }
    fn initial_states(&self) -> Vec<Shape> {
        self.layer.initial_states()
    }
    fn sublayers(&self, input: &Shape) -> Vec<Sublayer> {
        self.layer.sublayers(input)
    }
    fn mask(&self) -> Mask {
        self.layer.mask()
    }
    fn zeroes_masked(&self) -> bool {
        self.layer.zeroes_masked()
    }
    fn mask_of(&self, layer: &TokenStream, input: &TokenStream) -> Option<TokenStream> {
        self.layer.mask_of(layer, input)
    }
}

fn input(call: &LayerCall, cx: &mut Ctxt) -> Option<Spec> {
    const FORMS: &str = "`Input<FEATURES>`, `Input<STEPS, CHANNELS>`, `Input<HEIGHT, WIDTH, CHANNELS>`, \
                         `Input<DEPTH, HEIGHT, WIDTH, CHANNELS>` or `Input<FRAMES, DEPTH, HEIGHT, WIDTH, CHANNELS>`";
    let Some(_) = call.args.first() else {
        cx.error(call.kind.span(), format!("`Input` needs its shape: {FORMS}"));
        return None;
    };
    for extra in call.args.iter().skip(MAX_RANK) {
        cx.error(
            extra.span(),
            format!("`Input` takes at most {MAX_RANK} sizes, {FORMS}; unexpected `{extra}`"),
        );
    }
    let dims: Vec<Option<Size>> = call.args.iter().take(MAX_RANK).map(|a| size("Input", a, cx)).collect();
    let dims: Vec<usize> = dims.into_iter().map(|d| d.map(|s| s.value)).collect::<Option<_>>()?;
    let shape = Shape(dims);
    if let Some(why) = shape.too_large() {
        cx.error(call.kind.span(), format!("`{call}` has shape {shape}, {why}"));
        return None;
    }
    (call.args.len() <= MAX_RANK).then_some(Spec::Input { shape })
}

fn merge(call: &LayerCall, op: Merge, cx: &mut Ctxt) -> Option<Spec> {
    let owner = call.kind.to_string();
    let args: Vec<&Arg> = call.args.iter().collect();
    let opts: &[Opt] = match op {
        Merge::Dot => &[Opt { name: "normalize", kind: Kind::Bool }],
        Merge::Concatenate => &[Opt { name: "axis", kind: Kind::Number }],
        _ => &[],
    };
    let values = options::resolve(&owner, &args, opts, cx);
    let given = values.first().and_then(|v| *v);
    let normalize = op == Merge::Dot && given.is_some_and(|(v, _)| v.bool());
    let axis = match (op, given) {
        (Merge::Concatenate, Some((v, span))) if v.number().fract() != 0.0 => {
            cx.error(span, format!("`axis` of `Concatenate` is a whole number, found {}", v.number()));
            return None;
        }
        (Merge::Concatenate, Some((v, _))) => v.number() as i64,
        _ => -1,
    };
    Some(Spec::Merge { op, normalize, axis })
}

impl Merge {
    /// nn-core's `merge::Elementwise` for the merges that broadcast.
    fn elementwise(self) -> Option<TokenStream> {
        let op = match self {
            Merge::Add => quote!(Add),
            Merge::Subtract => quote!(Subtract),
            Merge::Multiply => quote!(Multiply),
            Merge::Average => quote!(Average),
            Merge::Maximum => quote!(Maximum),
            Merge::Minimum => quote!(Minimum),
            Merge::Concatenate | Merge::Dot => return None,
        };
        Some(quote!(::nn::merge::Elementwise::#op))
    }
}

/// The shape elementwise merges give `inputs`, as Keras broadcasts them: shapes lined up at
/// their last axes, an axis of size 1 taking the others' size; `Err(k)` for the first operand
/// that does not fit the ones before it.
fn broadcast_shape(inputs: &[Shape]) -> Result<Shape, usize> {
    let mut out = inputs.first().cloned().unwrap_or(Shape(Vec::new()));
    for (k, shape) in inputs.iter().enumerate().skip(1) {
        let rank = out.rank().max(shape.rank());
        let dim = |s: &Shape, d: usize| (d + s.rank()).checked_sub(rank).map_or(1, |i| s.0[i]);
        let mut dims = Vec::with_capacity(rank);
        for d in 0..rank {
            dims.push(match (dim(&out, d), dim(shape, d)) {
                (a, b) if a == b || b == 1 => a,
                (1, b) => b,
                _ => return Err(k),
            });
        }
        out = Shape(dims);
    }
    Ok(out)
}

/// Concatenate's axis in nn's shape (no batch axis) for inputs like `first`, from Keras's.
pub(crate) fn concat_axis(axis: i64, first: &Shape) -> Result<usize, String> {
    let rank = first.rank() as i64;
    let k = if axis < 0 { rank + axis } else { axis - 1 };
    if (0..rank).contains(&k) {
        Ok(k as usize)
    } else {
        Err(format!(
            "joins its inputs on axis {axis}, which inputs of shape {first} do not have (axes 1 to {rank}, or -1 to \
             -{rank})"
        ))
    }
}

/// The values each operand of a Concatenate puts in a row of the output: its axes from the
/// joined one on, the rest of its shape being the output's rows.
fn concat_widths(axis: i64, inputs: &[Shape]) -> Vec<usize> {
    let k = inputs.first().and_then(|f| concat_axis(axis, f).ok()).unwrap_or(0);
    inputs.iter().map(|s| s.0[k.min(s.rank())..].iter().product()).collect()
}

fn nested(call: &LayerCall, cx: &mut Ctxt) -> Option<Spec> {
    const FORM: &str = "write `Model<Type, INPUTS, OUTPUTS>`, e.g. `Model<Encoder, 4, 8>` or `Model<Encoder, (28, 28, 1), 8>`";
    let Some(ty) = call.model.clone() else {
        cx.error(call.kind.span(), format!("`Model` needs the model type and its sizes; {FORM}"));
        return None;
    };
    match call.args.as_slice() {
        [input, output] => {
            let spans = (input.span(), output.span());
            let (input, output) = (shape("Model", input, cx), shape("Model", output, cx));
            Some(Spec::Nested { ty: Box::new(ty), input: input?, output: output?, spans })
        }
        _ => {
            cx.error(call.kind.span(), format!("`Model` takes the model's input and output sizes; {FORM}"));
            None
        }
    }
}

/// A size, or a tuple of up to [`MAX_RANK`] sizes (`(8, 8, 1)`): a tensor's shape.
fn shape(layer: &str, arg: &Arg, cx: &mut Ctxt) -> Option<Shape> {
    match arg {
        Arg::Tuple { span, items } if items.is_empty() || items.len() > MAX_RANK => {
            cx.error(*span, format!("`{layer}` shapes have 1 to {MAX_RANK} axes, found {}", items.len()));
            None
        }
        Arg::Tuple { items, .. } => {
            let dims: Vec<Option<Size>> = items.iter().map(|item| size(layer, item, cx)).collect();
            dims.into_iter().map(|d| d.map(|d| d.value)).collect::<Option<Vec<_>>>().map(Shape)
        }
        other => size(layer, other, cx).map(|s| Shape::vector(s.value)),
    }
}

/// A positive whole number of features.
fn size(layer: &str, arg: &Arg, cx: &mut Ctxt) -> Option<Size> {
    match arg {
        Arg::Number(n) => match n.integer {
            Some(0) => cx.error(n.span, format!("`{layer}` sizes must be at least 1, found 0")),
            Some(v) => match usize::try_from(v) {
                Ok(value) => {
                    return Some(Size { value, span: n.span });
                }
                Err(_) => cx.error(n.span, format!("`{layer}` size {v} does not fit in usize")),
            },
            None => cx.error(n.span, format!("`{layer}` sizes are whole numbers of features, found `{arg}`")),
        },
        other => cx.error(other.span(), format!("expected a size for `{layer}`, found `{other}`")),
    }
    None
}

/// The state of a layer that acts on each step of a sequence alone (Dense, activations):
/// nothing, or why not for an input that is not a sequence.
pub fn per_step(input: &Shape) -> Result<Option<TokenStream>, String> {
    if input.rank() == 2 {
        Ok(Some(quote!(())))
    } else {
        Err(format!("runs one step at a time only over a sequence, and its input is {}", input.keras()))
    }
}
