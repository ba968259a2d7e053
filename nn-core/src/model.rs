//! The [`Model`] trait that `sequential!` implements, and its Keras-style [`Summary`].

use crate::Float;
use crate::layer::{WeightMut, WeightRef};
use crate::tensor::Tensors;
use core::fmt;

/// A whole network with fixed input and output shapes.
///
/// `sequential!` implements it; every method that runs the network takes `&self` and allocates
/// nothing. The constants describe the architecture, so they are available without a value.
///
/// See the `nn` crate for examples: the trait is meant to be implemented by its macros.
pub trait Model: Sized {
    /// The element type (`f32` unless the model type says otherwise).
    type Scalar: Float;
    /// What `predict` takes: a tensor ([`crate::tensor`]: `SVector<Scalar, N>` for `Input<N>`,
    /// `Tensor2<Scalar, S, C>` for `Input<S, C>`, `Tensor3<Scalar, H, W, C>` for
    /// `Input<H, W, C>`), or a tuple of them for a model with several inputs.
    type Input: Tensors<Self::Scalar>;
    /// What `predict` returns: a tensor, or a tuple of them for several outputs.
    type Output: Tensors<Self::Scalar>;

    /// The model's name in `summary()` (`"sequential"` unless the model is a named type).
    const NAME: &'static str;
    /// Keras's class for the model, `"Sequential"` or `"Functional"`, as a summary shows a model
    /// nested in another.
    const CLASS: &'static str;
    /// Keras's input shapes without the batch axis, one per model input (`[[2]]` for `Input<2>`).
    const INPUT_SHAPES: &'static [&'static [usize]];
    /// Keras's output shapes without the batch axis, one per model output.
    const OUTPUT_SHAPES: &'static [&'static [usize]];
    /// Total number of weights.
    const PARAMS: usize;
    /// How many of `PARAMS` are not trained (BatchNormalization's moving statistics).
    const NON_TRAINABLE: usize = 0;
    /// Whether `summary()` draws Keras's "Connected to" column, as Keras does for a functional
    /// model that is not a plain chain.
    const SUMMARY_CONNECTIONS: bool = false;
    /// One entry per layer, in order, as `summary()` shows them (a shared layer once).
    const LAYERS: &'static [LayerInfo];
    /// The name of the layer computing each output, in order: the prefix of Keras's
    /// per-output training logs (`classify_loss`).
    const OUTPUT_LAYERS: &'static [&'static str] = &[];
    /// Which of its layer's outputs each model output is: 0 for the layer's output, `k` for its
    /// `k`-th further output (a recurrent layer's final state), as Keras's `[layer, 0, k]`.
    const OUTPUT_TENSORS: &'static [usize] = &[];

    /// Runs the network on one sample. Never allocates.
    ///
    /// The forward pass is compiled once per instruction-set level; this picks the best one the
    /// CPU supports (AVX-512, AVX2 or the portable build), so a plain `cargo build` is fast.
    #[inline]
    fn predict(&self, x: &Self::Input) -> Self::Output {
        crate::dispatch::predict(self, x)
    }

    /// The forward pass of one sample with the kernels for `level`, as the macros write it, to
    /// be inlined into one copy per instruction-set level. Call [`Model::predict`] instead.
    #[doc(hidden)]
    fn run(&self, level: crate::kernels::cpu::Level, x: &Self::Input) -> Self::Output;

    /// The forward pass over a batch with the dense kernels for `level`, as the macros write it.
    /// Call [`Model::predict_batch`] instead.
    #[doc(hidden)]
    fn run_batch(&self, level: crate::kernels::cpu::Level, xs: &[Self::Input], ys: &mut [Self::Output]);

    /// The model with every weight zero (built on the stack: see [`Model::boxed_zeros`] for
    /// models too large for it, and the model type's `ZEROS` constant for a `static`).
    fn zeros() -> Self;

    /// Restores what zeroing a model does not give: the options of its activations.
    #[doc(hidden)]
    fn configure(&mut self);

    /// Re-initialises every weight in place with Keras's default initializers (glorot_uniform
    /// kernels, zero biases), from a generator seeded with `seed`.
    fn init_keras(&mut self, seed: u64);

    /// Calls `f(layer_name, weight)` for every weight tensor, in Keras's `model.weights` order.
    fn visit_weights(&self, f: &mut dyn FnMut(&'static str, WeightRef<'_, Self::Scalar>));

    /// As [`Model::visit_weights`], with the values writable.
    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(&'static str, WeightMut<'_, Self::Scalar>));

    /// A model initialised as Keras would (glorot_uniform kernels, zero biases), reproducibly.
    fn seeded(seed: u64) -> Self {
        let mut model = Self::zeros();
        model.init_keras(seed);
        model
    }

    /// [`Model::zeros`] built directly on the heap, never on the stack: for models whose weights
    /// exceed a thread's stack (a 784→128→64→10 MLP holds 430 KB of `f32`).
    #[cfg(feature = "alloc")]
    fn boxed_zeros() -> alloc::boxed::Box<Self>
    where
        Self: crate::Zeroable,
    {
        let mut model = crate::boxed::zeroed_box::<Self>();
        model.configure();
        model
    }

    /// [`Model::seeded`] built directly on the heap.
    #[cfg(feature = "alloc")]
    fn boxed_seeded(seed: u64) -> alloc::boxed::Box<Self>
    where
        Self: crate::Zeroable,
    {
        let mut model = Self::boxed_zeros();
        model.init_keras(seed);
        model
    }

    /// Overwrites every weight from one flat slice, tensor after tensor in Keras's
    /// `model.weights` order, each row-major: the concatenation of Keras's
    /// `[w.flatten() for w in model.get_weights()]`.
    ///
    /// On a length mismatch nothing is written.
    fn load_params(&mut self, params: &[Self::Scalar]) -> Result<(), LengthError> {
        if params.len() != Self::PARAMS {
            return Err(LengthError { what: "parameters", expected: Self::PARAMS, found: params.len() });
        }
        let mut rest = params;
        self.visit_weights_mut(&mut |_, w| {
            let (head, tail) = rest.split_at(w.data.len());
            w.data.copy_from_slice(head);
            rest = tail;
        });
        Ok(())
    }

    /// Writes every weight into `out`, in the order [`Model::load_params`] reads them.
    fn save_params(&self, out: &mut [Self::Scalar]) -> Result<(), LengthError> {
        if out.len() != Self::PARAMS {
            return Err(LengthError { what: "parameters", expected: Self::PARAMS, found: out.len() });
        }
        let mut rest = out;
        self.visit_weights(&mut |_, w| {
            let (head, tail) = core::mem::take(&mut rest).split_at_mut(w.data.len());
            head.copy_from_slice(w.data);
            rest = tail;
        });
        Ok(())
    }

    /// Runs the network on each of `inputs`, writing into the caller's `outputs`. Allocates
    /// nothing; fails if the two slices differ in length. The batch runs in chunks of up to 64
    /// samples, step by step: each Dense layer is one matrix product over the chunk
    /// (register-blocked AVX-512 or AVX2 micro-kernels where the CPU has them) and each merge one
    /// loop over it. A model that nests another model runs sample by sample.
    fn predict_batch(&self, inputs: &[Self::Input], outputs: &mut [Self::Output]) -> Result<(), LengthError> {
        if inputs.len() != outputs.len() {
            return Err(LengthError { what: "batch outputs", expected: inputs.len(), found: outputs.len() });
        }
        crate::dispatch::predict_batch(self, inputs, outputs);
        Ok(())
    }

    /// Runs the network on one sample given as flat slices, for data from numpy, ndarray or a
    /// buffer: `inputs[i]` is model input `i` row-major in Keras's shape without the batch axis
    /// (numpy's `x.flatten()`), and `outputs[i]` receives output `i` the same way. Allocates
    /// nothing; a wrong number of slices or a wrong length is an error, and then nothing is
    /// written. (The `nn` crate's documentation has an example.)
    fn predict_flat(
        &self,
        inputs: &[&[Self::Scalar]],
        outputs: &mut [&mut [Self::Scalar]],
    ) -> Result<(), FlatError> {
        check_flat::<Self::Scalar, Self::Input>("input", inputs.iter().map(|s| s.len()), inputs.len(), 1)?;
        check_flat::<Self::Scalar, Self::Output>(
            "output",
            outputs.iter().map(|s| s.len()),
            outputs.len(),
            1,
        )?;
        let mut x = Self::Input::ZEROED;
        for (i, part) in inputs.iter().enumerate() {
            x.read_flat(i, part).map_err(|at| FlatError::Id { input: i, at })?;
        }
        let y = self.predict(&x);
        for (i, part) in outputs.iter_mut().enumerate() {
            y.write_flat(i, part);
        }
        Ok(())
    }

    /// Runs the network on a batch given as flat slices laid out as Keras's `(batch, ...)`
    /// arrays: `inputs[i]` holds every sample of input `i`, one after another, each row-major
    /// in Keras's shape, and `outputs[i]` receives output `i` the same way. The batch size is
    /// read from `inputs[0]`; every slice must hold that many whole samples. Allocates nothing:
    /// samples are gathered into small stack chunks and run through [`Model::predict_batch`].
    fn predict_flat_batch(
        &self,
        inputs: &[&[Self::Scalar]],
        outputs: &mut [&mut [Self::Scalar]],
    ) -> Result<(), FlatError> {
        let first = Self::Input::len_of(0);
        let found = inputs.first().map_or(0, |s| s.len());
        let batch = found / first.max(1);
        if inputs.is_empty() || found != batch * first {
            check_flat::<Self::Scalar, Self::Input>(
                "input",
                inputs.iter().map(|s| s.len()),
                inputs.len(),
                0,
            )?;
            return Err(FlatError::Batch { what: "input", index: 0, sample: first, found });
        }
        check_flat::<Self::Scalar, Self::Input>(
            "input",
            inputs.iter().map(|s| s.len()),
            inputs.len(),
            batch,
        )?;
        check_flat::<Self::Scalar, Self::Output>(
            "output",
            outputs.iter().map(|s| s.len()),
            outputs.len(),
            batch,
        )?;
        // Every id is checked before anything runs, so an error leaves the outputs untouched.
        let mut x = Self::Input::ZEROED;
        for (i, part) in inputs.iter().enumerate() {
            let len = Self::Input::len_of(i);
            for (s, sample) in part.chunks_exact(len.max(1)).enumerate() {
                x.read_flat(i, sample).map_err(|at| FlatError::Id { input: i, at: s * len + at })?;
            }
        }
        if core::mem::size_of::<(Self::Input, Self::Output)>() <= 16 * 1024 {
            flat_batch_chunks::<Self, 16>(self, inputs, outputs, batch);
        } else {
            flat_batch_chunks::<Self, 1>(self, inputs, outputs, batch);
        }
        Ok(())
    }

    /// The model drawn as Keras's `plot_model(show_shapes=True)` draws it, as an SVG document:
    /// a box per layer with its name, class, input and output shapes, an arrow per connection,
    /// one box for a shared layer with all its calls' arrows, and an end for each output
    /// ([`PlotModel`] draws it). Write it to a file and open it in a browser.
    #[cfg(feature = "alloc")]
    fn plot_svg(&self) -> alloc::string::String {
        let layers: alloc::vec::Vec<SummaryRow<'_>> = Self::LAYERS.iter().map(SummaryRow::from).collect();
        let tensors = Self::OUTPUT_TENSORS.iter().copied().chain(core::iter::repeat(0));
        let outputs: alloc::vec::Vec<(&str, usize)> =
            Self::OUTPUT_LAYERS.iter().copied().zip(tensors).collect();
        PlotModel { name: Self::NAME, layers: &layers, inputs: Self::INPUT_SHAPES, outputs: &outputs }.svg()
    }

    /// Keras's `model.summary()` table; print it with `{}`.
    fn summary(&self) -> Summary {
        Summary {
            name: Self::NAME,
            connections: Self::SUMMARY_CONNECTIONS,
            layers: Self::LAYERS,
            params: Self::PARAMS,
            non_trainable: Self::NON_TRAINABLE,
            bytes_per_param: core::mem::size_of::<Self::Scalar>(),
        }
    }
}

/// Checks that `found` lengths match `X`'s tensors, `batch` samples each.
fn check_flat<T: Float, X: Tensors<T>>(
    what: &'static str,
    found: impl Iterator<Item = usize>,
    count: usize,
    batch: usize,
) -> Result<(), FlatError> {
    if count != X::COUNT {
        return Err(FlatError::Count { what, expected: X::COUNT, found: count });
    }
    for (index, found) in found.enumerate() {
        let expected = X::len_of(index) * batch;
        if found != expected {
            return Err(FlatError::Length { what, index, expected, found });
        }
    }
    Ok(())
}

/// The body of [`Model::predict_flat_batch`], `CHUNK` samples at a time through stack buffers.
#[inline(never)]
fn flat_batch_chunks<M: Model, const CHUNK: usize>(
    model: &M,
    inputs: &[&[M::Scalar]],
    outputs: &mut [&mut [M::Scalar]],
    batch: usize,
) {
    let mut xs = [M::Input::ZEROED; CHUNK];
    let mut ys = [M::Output::ZEROED; CHUNK];
    let mut start = 0;
    while start < batch {
        let n = CHUNK.min(batch - start);
        for (i, part) in inputs.iter().enumerate() {
            let len = M::Input::len_of(i);
            for (s, x) in xs[..n].iter_mut().enumerate() {
                // Checked by the caller.
                let _ = x.read_flat(i, &part[(start + s) * len..(start + s + 1) * len]);
            }
        }
        crate::dispatch::predict_batch(model, &xs[..n], &mut ys[..n]);
        for (i, part) in outputs.iter_mut().enumerate() {
            let len = M::Output::len_of(i);
            for (s, y) in ys[..n].iter().enumerate() {
                y.write_flat(i, &mut part[(start + s) * len..(start + s + 1) * len]);
            }
        }
        start += n;
    }
}

/// A flat slice given to [`Model::predict_flat`] or [`Model::predict_flat_batch`] that does not
/// fit the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlatError {
    /// The wrong number of slices.
    Count {
        /// `"input"` or `"output"`.
        what: &'static str,
        /// The model's number of inputs or outputs.
        expected: usize,
        /// The number of slices given.
        found: usize,
    },
    /// A slice of the wrong length.
    Length {
        /// `"input"` or `"output"`.
        what: &'static str,
        /// Which input or output.
        index: usize,
        /// The number of values the model needs there.
        expected: usize,
        /// The number given.
        found: usize,
    },
    /// A batch's first input that does not hold a whole number of samples.
    Batch {
        /// `"input"`.
        what: &'static str,
        /// Which input.
        index: usize,
        /// The number of values in one sample.
        sample: usize,
        /// The number given.
        found: usize,
    },
    /// A value given for token ids (an input feeding `Embedding`) that is not a whole number
    /// from 0 to the table's size less one.
    Id {
        /// Which input.
        input: usize,
        /// The value's position in that input's slice.
        at: usize,
    },
}

impl fmt::Display for FlatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FlatError::Count { what, expected, found } => {
                write!(f, "the model has {expected} {what}s, but {found} slices were given")
            }
            FlatError::Length { what, index, expected, found } => {
                write!(f, "{what} {index} needs {expected} values, found {found}")
            }
            FlatError::Batch { what, index, sample, found } => write!(
                f,
                "{what} {index} holds {found} values, not a whole number of samples of {sample} values"
            ),
            FlatError::Id { input, at } => {
                write!(f, "input {input} holds token ids, but its value {at} is not an id of the table")
            }
        }
    }
}

impl core::error::Error for FlatError {}

/// What `summary()` shows of one layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// The layer's name (`"dense_1"`), which is also its field in the model struct.
    pub name: &'static str,
    /// Keras's class name (`"Dense"`).
    pub class: &'static str,
    /// Output shape without the batch axis.
    pub output_shape: &'static [usize],
    /// The shapes of its further outputs (a recurrent layer's final states, attention scores),
    /// which Keras's summary lists after the output's.
    pub further_outputs: &'static [&'static [usize]],
    /// Number of weights.
    pub params: usize,
    /// How many of them are not trained.
    pub non_trainable: usize,
    /// Where a `.weights.h5` file keeps its variables under `layers/<key>/` (see
    /// [`crate::Layer::H5_GROUP`]).
    pub h5_group: &'static str,
    /// The layers a wrapper holds (`Bidirectional`'s halves, `TimeDistributed`'s layer), whose
    /// weights the model visits under their own names; empty for any other layer.
    pub sublayers: &'static [Sublayer],
    /// Keras's "Connected to" entries (`dense_1[0][0]`), one per input of each call of the layer;
    /// empty in a Sequential model.
    pub inbound: &'static [&'static str],
    /// How many times the model calls it: more than once for a shared layer.
    pub calls: usize,
    /// A model used as a layer: its own layers (whose weights a `.weights.h5` file keeps under
    /// this layer's `layers/<key>/layers/`); empty for any other layer.
    pub layers: &'static [LayerInfo],
}

/// A layer inside a wrapper layer, as its weights are found in files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sublayer {
    /// The name its weights are visited under: the wrapper's and its own, Keras's path
    /// (`bidirectional/forward_gru`, so that a weight is `bidirectional/forward_gru/gru_cell/kernel`).
    pub name: &'static str,
    /// Where a `.weights.h5` file keeps its variables under the wrapper's `layers/<key>/`
    /// (`forward_layer/cell/vars`, `layer/vars`).
    pub h5_group: &'static str,
}

/// A slice or count that had the wrong length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthError {
    /// What was being counted.
    pub what: &'static str,
    /// The length the model needs.
    pub expected: usize,
    /// The length it was given.
    pub found: usize,
}

impl fmt::Display for LengthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wrong number of {}: expected {}, found {}", self.what, self.expected, self.found)
    }
}

impl core::error::Error for LengthError {}

/// Keras's model summary, rendered by `Display` with Keras 3's box-drawing table.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    /// The model's name.
    pub name: &'static str,
    /// Whether to draw Keras's "Connected to" column.
    pub connections: bool,
    /// Its layers, in order.
    pub layers: &'static [LayerInfo],
    /// Total number of weights.
    pub params: usize,
    /// How many of them are not trained.
    pub non_trainable: usize,
    /// `size_of` the element type, for the byte totals.
    pub bytes_per_param: usize,
}

#[cfg(feature = "alloc")]
mod plot;
#[cfg(feature = "alloc")]
pub use plot::PlotModel;
mod render;
pub use render::{Bytes, SummaryRow, SummaryTotals, Thousands, summary_table};
