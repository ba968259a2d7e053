//! # nn: Keras-style models compiled into typed, allocation-free nalgebra code
//!
//! A model is written once, in a macro that reads like Keras, and becomes a Rust type whose
//! shapes are const generics: a layer that does not fit is a compile error at the offending
//! token, and `predict` allocates nothing.
//!
//! ```
//! use nn::prelude::*;
//!
//! sequential! {
//!     /// Solves XOR once trained (or loaded).
//!     pub struct Xor { Input<2>, Dense<8, relu>, Dense<1, sigmoid> }
//! }
//!
//! let model = Xor::seeded(42);
//! let y = model.predict(&Vector2::new(0.0, 1.0));
//! assert!(y[0] > 0.0 && y[0] < 1.0);
//! assert_eq!(Xor::PARAMS, 2 * 8 + 8 + 8 + 1);
//! ```
//!
//! ## The DSL
//!
//! `sequential![...]` is an expression returning a model initialised as Keras would (glorot
//! uniform kernels, zero biases, seed 0); `sequential! { pub struct Name { ... } }` declares a
//! named model type instead, with a `ZEROS` constant, `from_layers`, and the [`Model`] trait's
//! constructors. Its element type is `f32`; `struct Name<f64> { ... }` picks `f64`, and
//! `struct Name<T> { ... }` makes the model generic over every [`Float`].
//!
//! Layers, separated by commas:
//! - `Input<N>`: the model takes `N` features (first layer only); `Input<S, C>` and
//!   `Input<H, W, C>` take sequences and images (see below).
//! - `Dense<UNITS>`, `Dense<UNITS, activation>`, `Dense<INPUTS, UNITS, activation>`, with the
//!   option `use_bias = false`. Its input size is inferred from the layer before it; the first
//!   layer of a model without `Input` states it (`Dense<1, 2>` is Keras's `Dense(2, input_dim=1)`).
//! - `Activation<activation>`.
//! - Any layer can be named: `hidden: Dense<8, relu>`; others are named as Keras would
//!   (`dense`, `dense_1`, ...). The name is the layer's field in the model struct.
//!
//! Activations: `linear`, `relu` (options `negative_slope`, `max_value`, `threshold`), `relu6`,
//! `leaky_relu(negative_slope)`, `elu(alpha)`, `selu`, `gelu` (`gelu(approximate = true)` for the
//! tanh form), `sigmoid`, `hard_sigmoid`, `tanh`, `softmax`, `log_softmax`, `silu`/`swish`,
//! `hard_silu`/`hard_swish`, `softplus`, `softsign`, `exponential`, `mish`, `celu(alpha)`,
//! `hard_tanh`, `log_sigmoid`, `sparse_plus`, `squareplus(b)`, `tanh_shrink`,
//! `hard_shrink(threshold)`, `soft_shrink(threshold)`, `threshold(threshold, default_value)` (both
//! required: Keras defaults neither). Options are positional or named: `leaky_relu(0.1)`,
//! `leaky_relu(negative_slope = 0.1)`.
//!
//! Initializers: `Dense<8, relu, kernel_initializer = he_normal, bias_initializer = zeros>`
//! picks the initializers [`Model::seeded`] and `init_keras` draw the layer's weights from, by
//! Keras's names: `glorot_uniform` (the kernels' default), `glorot_normal`, `he_uniform`,
//! `he_normal`, `lecun_uniform`, `lecun_normal`, `orthogonal(gain = 1.0)`, `zeros` (the biases'
//! default), `ones`, `constant(value = 0.0)`, `random_normal(mean = 0.0, stddev = 0.05)`,
//! `random_uniform(minval = -0.05, maxval = 0.05)`, `truncated_normal(mean = 0.0, stddev =
//! 0.05)` (Keras's defaults shown; options positional or named), and Keras's aliases `zero`,
//! `one`, `normal`, `uniform`. The distributions are Keras's ([`init::Initializer`]); the draws
//! come from nn's own seeded generator, so the same seed gives the same weights, but not
//! Keras's: Keras's `seed` option is not taken, and `keras_model!` ignores it in a file's
//! config.
//!
//! Rust macros are invoked with `()`, `[]` or `{}`; Keras-like `sequential!< ... >` is not Rust.
//!
//! ## Images and sequences
//!
//! Tensors are channels last, in Keras's order, without the batch axis: `Input<N>` is a vector
//! (`SVector<T, N>`), `Input<STEPS, CHANNELS>` a sequence ([`tensor::Tensor2`]) and
//! `Input<HEIGHT, WIDTH, CHANNELS>` an image ([`tensor::Tensor3`]), `Input<DEPTH, HEIGHT, WIDTH,
//! CHANNELS>` a volume or steps of images ([`tensor::Tensor4`]) and a fifth axis frames of
//! volumes ([`tensor::Tensor5`]). Each is a flat run of
//! numbers in numpy's `x.flatten()` order, so `Flatten` and `Reshape` are free, and
//! [`Model::predict_flat`] takes data from numpy, ndarray or a buffer as plain slices.
//!
//! ```
//! use nn::prelude::*;
//!
//! sequential! {
//!     pub struct Digits {
//!         Input<8, 8, 1>,
//!         Conv2D<4, 3, activation = relu>,          // filters, kernel_size: (None, 6, 6, 4)
//!         MaxPooling2D<2>,                          // (None, 3, 3, 4)
//!         Flatten,                                  // (None, 36), a view: no copy
//!         Dense<10, softmax>,
//!     }
//! }
//!
//! let model = Digits::seeded(7);
//! let image = Tensor3::<f32, 8, 8, 1>::from_slice(&[0.5; 64]);
//! let p: SVector<f32, 10> = model.predict(&image);
//! assert!((p.sum() - 1.0).abs() < 1e-5);
//!
//! // The same through flat slices, lengths checked, nothing allocated.
//! let mut flat = [0.0f32; 10];
//! model.predict_flat(&[&[0.5; 64]], &mut [&mut flat]).unwrap();
//! assert_eq!(flat, *p.as_slice());
//! assert!(model.predict_flat(&[&[0.5; 63]], &mut [&mut flat]).is_err());
//! ```
//!
//! Layers on sequences and images (Keras 3's options, by Keras's names; tuples are written
//! `(5, 3)`, choices bare: `padding = same`):
//! - `Conv1D<filters, kernel_size>` and `Conv2D<filters, kernel_size>` with `strides`,
//!   `padding` (`valid`, `same`, and `causal` for Conv1D), `dilation_rate`, `groups`,
//!   `activation`, `use_bias`; `DepthwiseConv2D<kernel_size>` with `depth_multiplier`;
//!   `SeparableConv2D<filters, kernel_size>` with `depth_multiplier`.
//! - `MaxPooling1D/2D<pool_size>` and `AveragePooling1D/2D<pool_size>` with `strides` and
//!   `padding` (`same` averages leave the padding out, as Keras); `GlobalMaxPooling1D/2D` and
//!   `GlobalAveragePooling1D/2D` with `keepdims`.
//! - `Flatten`, `Reshape<(3, -1)>`, `Permute<(2, 1)>`, `RepeatVector<n>`,
//!   `ZeroPadding1D/2D<padding>`, `Cropping1D/2D<cropping>` (`1`, `(1, 2)` or `((1, 0), (2, 1))`),
//!   `UpSampling1D/2D<size>` (nearest).
//! - `Dense` and `Activation` act on the last axis, merges elementwise (`Concatenate` on the
//!   last axis).
//!
//! Shape mistakes are compile errors in Keras's terms, on the layer:
//! `` `Conv2D<8, 3>` needs 3×3 positions but its input is 2×5×4 ``.
//!
//! ## Functional models
//!
//! `functional!` takes Keras's functional API: one statement per node, `name = Layer(inputs);`,
//! in any order (the macro sorts the graph). The same item and expression forms apply.
//!
//! ```
//! use nn::prelude::*;
//!
//! functional! {
//!     pub struct Siamese {
//!         left = Input<4>;
//!         right = Input<4>;
//!         encoder = Dense<8, relu>;         // a layer bound by name: shared by its calls
//!         a = encoder(left);
//!         b = encoder(right);
//!         d = Subtract(a, b);
//!         score = Dense<1, sigmoid>(d);
//!         cosine = Dot<normalize = true>(a, b);
//!         -> (score, cosine);               // outputs; by default the last node bound
//!     }
//! }
//!
//! let model = Siamese::seeded(1);
//! let x = Vector4::new(1.0, 0.0, 0.5, -1.0);
//! let (score, cosine) = model.predict(&(x, x));
//! assert!((cosine[0] - 1.0).abs() < 1e-6 || cosine[0] == 0.0);
//! assert!(score[0] > 0.0 && score[0] < 1.0);
//! assert_eq!(Siamese::PARAMS, 4 * 8 + 8 + 8 + 1); // the shared encoder counts once
//! ```
//!
//! - Nodes: `x = Input<N>;` declares an input; `y = Dense<8>(x);` applies a new layer;
//!   `shared = Dense<8>;` binds a layer (named after the binding) and `y = shared(x);` calls it,
//!   reusing its weights. A shared layer's input size comes from its first call; every call must
//!   agree.
//! - Merges: `Add`, `Multiply`, `Average`, `Maximum`, `Minimum` (two or more inputs of one size),
//!   `Subtract` (exactly two), `Concatenate` (two or more, sizes summed), `Dot` (two, giving one
//!   feature; `Dot<normalize = true>` for the cosine).
//! - A model as a layer: `encoder = Model<Encoder, 8, 16>;` then `a = encoder(x);`, where
//!   `Encoder` is a model type from `sequential!` or `functional!` (one input, one output) and
//!   the sizes are its input and output features, a tensor's shape as a tuple
//!   (`Model<ImageEncoder, (28, 28, 1), 16>`); rustc checks them against the type.
//! - Outputs: `-> y;` or `-> (a, b);`, else the last node bound by a layer call.
//! - Several inputs or outputs are tuples, in the order of the `Input` statements and of `->`:
//!   `let (class, estimate) = model.predict(&(sensor, settings));`. Tuples rather than generated
//!   structs keep one calling convention for every model, need no extra type names, and
//!   destructure in place; a single input or output is the bare vector, so a one-input
//!   functional model and a Sequential one are interchangeable.
//! - Compile errors: a cycle (`cycle: a -> b -> a`), an unknown name (with a suggestion), a name
//!   bound twice, a layer called on the wrong number of inputs, merged inputs of different sizes,
//!   a shared layer called on different sizes. An input no output uses, a node no output
//!   depends on and a layer never called are errors too, not warnings: a fixed model would carry
//!   them for nothing, and they usually mean the wrong node was returned.
//!
//! ## Keras files
//!
//! `keras_model! { pub struct Name = "path/model.keras"; }` (feature `keras`, on by default)
//! reads a Keras 3 archive while compiling, relative to the crate's `Cargo.toml`, and declares
//! the model it holds as `sequential!`/`functional!` would, with `Name::KERAS`, a constant
//! holding Keras's weights. `, check [inputs] => [outputs]` after the path embeds one input and
//! Keras's output for it, which `self_test()` re-runs. The layers' initializers in the config
//! (`"kernel_initializer": {"class_name": "HeNormal", ...}`) become the DSL's
//! (`kernel_initializer = he_normal`), for `Name::seeded`; their `seed` is ignored. A model used
//! as a layer in the file (an encoder inside an autoencoder) is declared as a model of its own,
//! `Name` followed by the layer's name in camel case (`NameEncoder`), and is the field of that
//! name: `Name::KERAS.encoder.predict(&x)` runs the encoder alone. It takes one vector and gives
//! one, as the DSL's `Model<Type, IN, OUT>` does.
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
pub use nn_core::PlotModel;
pub use nn_core::{
    FlatError, Float, Layer, LayerInfo, LengthError, Model, Sublayer, Summary, SummaryRow, WeightMut,
    WeightRef, Zeroable, activations, dispatch, float, init, kernels, layers, merge, nalgebra, stream,
    tensor, train, weights, zeroed,
};
#[cfg(feature = "keras")]
pub use nn_macros::keras_model;
pub use nn_macros::{functional, sequential};

/// Everything an example needs: `use nn::prelude::*;`.
pub mod prelude {
    pub use crate::layers::{Activation, Dense};
    pub use crate::nalgebra::{SMatrix, SVector, Vector1, Vector2, Vector3, Vector4, Vector5, Vector6};
    pub use crate::tensor::{Tensor, Tensor2, Tensor3, Tensor4, Tensor5};
    pub use crate::weights::WeightFiles;
    pub use crate::{Float, Layer, Model, functional, sequential};
}
