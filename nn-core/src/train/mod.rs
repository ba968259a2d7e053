//! Training: the backward passes the macros chain into a model's reverse sweep, and Keras's
//! losses, metrics, optimizers and learning-rate schedules.
//!
//! A layer trains through [`Train`], implemented in the layer's own file beside its forward
//! pass: a forward pass over a batch that keeps what the gradient needs ([`Train::Kept`]: a
//! pre-activation, a pooling arg-max, batch statistics), and a backward pass that adds the
//! gradient of each weight into a value of the layer's own type and the gradient of each input
//! into the caller's buffer. The macros write the model's sweep ([`Trainable`]) over the same
//! named values as `predict`, in reverse: no tape, nothing discovered at run time.

use crate::Float;
use crate::init::Rng;
use crate::kernels::cpu::Level;
use crate::layer::Layer;

#[cfg(feature = "alloc")]
mod callbacks;
#[cfg(feature = "alloc")]
mod fit;
pub mod loss;
pub mod metric;
pub mod optimizer;
pub mod schedule;

#[cfg(feature = "alloc")]
pub use callbacks::EarlyStopping;
#[cfg(feature = "std")]
pub use callbacks::ModelCheckpoint;
#[cfg(feature = "alloc")]
pub use fit::{
    Callback, Compile, CompileError, Control, Data, DataError, Fit, Flat, FlatSet, History, Logs, Losses,
    Memory, Trainer, TrainingSummary, Typed, Verbosity,
};

/// What a training forward pass may draw on.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Whether the layer is trained: a frozen layer (Keras's `trainable = False`) runs as at
    /// inference (a frozen BatchNormalization uses its moving statistics, as in Keras 3).
    pub trainable: bool,
    /// The random draws of the dropout and noise layers.
    pub rng: &'a mut Rng,
    /// What the layers add to the batch's loss (Keras's `layer.losses`: ActivityRegularization's
    /// penalty), which the step's logged loss includes as Keras's does.
    pub penalty: &'a mut f64,
}

/// A layer's training passes over a batch. Neither allocates.
///
/// Gradients are values of the layer's own type: the gradient of a `Dense` is a `Dense` whose
/// kernel and bias hold the gradients of the kernel and bias, so a model's gradients are a
/// model, fixed in size and typed like its weights.
pub trait Train: Layer + Sized {
    /// What the forward pass keeps for the backward pass, per sample, beyond the layer's input
    /// and output (`()` when those suffice).
    type Kept: Copy;
    /// A `Kept` to fill buffers with before the first pass.
    const KEPT: Self::Kept;

    /// The forward pass in training mode: `ys[i]` from `xs[i]`, keeping in `kept[i]` what
    /// [`Train::backward`] needs. The slices have one length, the batch's; a layer computing
    /// batch statistics (BatchNormalization) takes them over the whole slice, and may update
    /// its non-trained weights (moving averages), which is why it takes `&mut self`. By default,
    /// for a layer that keeps nothing, its inference pass on each sample.
    #[inline(always)]
    fn forward_train(
        &mut self,
        level: Level,
        xs: &[Self::Input],
        ys: &mut [Self::Output],
        kept: &mut [Self::Kept],
        ctx: &mut Ctx<'_>,
    ) {
        let _ = (kept, ctx);
        for (x, y) in xs.iter().zip(ys) {
            *y = self.forward_at(level, x);
        }
    }

    /// The backward pass: from `dys`, the gradient of the loss with respect to `ys` (scratch:
    /// the layer may overwrite it), **adds** the gradient with respect to each weight into
    /// `grads` and, when given, with respect to each input into `dxs`. `grads` is `None` for a
    /// frozen layer, `dxs` for a layer that reads only model inputs.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        level: Level,
        xs: &[Self::Input],
        ys: &[Self::Output],
        kept: &[Self::Kept],
        dys: &mut [Self::Output],
        dxs: Option<&mut [Self::Input]>,
        grads: Option<&mut Self>,
    );

    /// [`Train::backward`], writing each gradient as `writes` says: the model's sweep **sets**
    /// the first gradient a weight or a value gets in a step, so that nothing is zeroed for
    /// the backward pass to add into. By default, zeroes what is to be set, then adds; a layer
    /// whose kernels can write over their destination overrides it (Dense).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn backward_with(
        &self,
        level: Level,
        xs: &[Self::Input],
        ys: &[Self::Output],
        kept: &[Self::Kept],
        dys: &mut [Self::Output],
        mut dxs: Option<&mut [Self::Input]>,
        mut grads: Option<&mut Self>,
        writes: Writes,
    ) where
        Self::Input: crate::tensor::Tensors<Self::Scalar>,
    {
        if let (Write::Set, Some(g)) = (writes.grads, grads.as_deref_mut()) {
            g.visit_weights_mut(&mut |w| w.data.fill(Self::Scalar::ZERO));
        }
        if let (Write::Set, Some(d)) = (writes.dxs, dxs.as_deref_mut()) {
            crate::tensor::Tensors::zero_all(d);
        }
        self.backward(level, xs, ys, kept, dys, dxs, grads);
    }
}

/// How a backward pass writes a gradient into its destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// Over what the destination holds: the first gradient it gets in a step.
    Set,
    /// Added to it: a value used twice, a layer called twice, a model nested in another.
    Add,
}

/// How [`Train::backward_with`] writes the gradient of the layer's weights and of its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Writes {
    /// The weights' gradient.
    pub grads: Write,
    /// The inputs' gradient.
    pub dxs: Write,
}

impl Writes {
    /// Both added, as [`Train::backward`] does.
    pub const ADD: Writes = Writes { grads: Write::Add, dxs: Write::Add };
}

/// What an optimizer does to one weight tensor: `f(param, grad)`. The gradient is writable so
/// that clipping happens in place; the next step writes over it anyway.
pub type Update<'a, T> = dyn FnMut(&mut [T], &mut [T]) + 'a;

/// Calls `f(param, grad)` for each of `layer`'s trained weight tensors, in `visit_weights`
/// order, with the matching tensor of `grads` (the tensors after the first
/// `PARAMS - NON_TRAINABLE` values, BatchNormalization's moving statistics, are not trained).
pub fn zip_trained<L: Layer>(layer: &mut L, grads: &mut L, f: &mut Update<'_, L::Scalar>) {
    let trained = L::PARAMS - L::NON_TRAINABLE;
    let (mut index, mut seen) = (0usize, 0usize);
    layer.visit_weights_mut(&mut |w| {
        if seen < trained {
            // Tensors are few (at most a handful a layer): finding the k-th of `grads` by
            // visiting it again costs nothing next to the update.
            let mut k = 0;
            grads.visit_weights_mut(&mut |g| {
                if k == index {
                    f(w.data, g.data);
                }
                k += 1;
            });
        }
        seen += w.data.len();
        index += 1;
    });
}

/// A model's training sweep, written by the macros: the forward pass over a batch keeping
/// every value, then the backward pass in reverse order over the same values.
pub trait Trainable: crate::Model {
    /// Every value of a batch's pass and its gradient: one buffer per layer call, allocated
    /// once for a batch size ([`Trainable::buffers`]) and reused by every step.
    type Buffers;

    /// Buffers for batches of up to `batch` samples (allocated on the heap; without the
    /// `alloc` feature they hold nothing and the model cannot train).
    fn buffers(batch: usize) -> Self::Buffers;

    /// The training forward pass over `xs` (at most the buffers' batch), keeping every value in
    /// `b` and zeroing the outputs' gradients ([`Trainable::output_grad`], which the losses add
    /// into); the outputs are then [`Trainable::output`].
    /// Returns what the layers add to the batch's loss ([`Ctx::penalty`]).
    fn forward_train(
        &mut self,
        level: Level,
        b: &mut Self::Buffers,
        xs: &[Self::Input],
        rng: &mut Rng,
    ) -> f64;

    /// Output `k` of the last forward pass, every sample's values one after another (Keras's
    /// `(batch, ...)` array flattened).
    fn output(b: &Self::Buffers, k: usize, n: usize) -> &[Self::Scalar];

    /// The gradient of the loss with respect to output `k`, laid out as [`Trainable::output`],
    /// for the loss to add into before [`Trainable::backward`].
    fn output_grad(b: &mut Self::Buffers, k: usize, n: usize) -> &mut [Self::Scalar];

    /// The backward pass over the batch of the last forward pass: writes every trained weight's
    /// gradient into `grads` as `write` says (set, or added for a model nested in another and
    /// called again) and, when given (a nested model), adds the gradient with respect to each
    /// input sample into `dxs`. A frozen layer's gradient is left as it is.
    fn backward(
        &self,
        level: Level,
        b: &mut Self::Buffers,
        xs: &[Self::Input],
        dxs: Option<&mut [Self::Input]>,
        grads: &mut Self,
        write: Write,
    );

    /// Calls `f(param, grad)` for every trained weight tensor, in `visit_weights` order,
    /// skipping frozen layers and weights that are not trained.
    fn zip_trained(&mut self, grads: &mut Self, f: &mut Update<'_, Self::Scalar>);

    /// The bytes one sample takes in [`Trainable::Buffers`]: the values a step keeps and their
    /// gradients.
    const BYTES_PER_SAMPLE: usize;
}

/// One value of a training pass for a whole batch: heap memory allocated once, when a model's
/// [`Trainable::buffers`] are made, and reused by every step. Without the `alloc` feature it is
/// empty.
#[derive(Debug)]
pub struct Buffer<X> {
    #[cfg(feature = "alloc")]
    values: alloc::vec::Vec<X>,
    #[cfg(not(feature = "alloc"))]
    values: core::marker::PhantomData<X>,
}

impl<X: Copy> Buffer<X> {
    /// `len` copies of `zero` (none without `alloc`).
    pub fn new(len: usize, zero: X) -> Self {
        #[cfg(feature = "alloc")]
        {
            Buffer { values: alloc::vec![zero; len] }
        }
        #[cfg(not(feature = "alloc"))]
        {
            let _ = (len, zero);
            Buffer { values: core::marker::PhantomData }
        }
    }
}

impl<X> core::ops::Deref for Buffer<X> {
    type Target = [X];
    #[inline(always)]
    fn deref(&self) -> &[X] {
        #[cfg(feature = "alloc")]
        return &self.values;
        #[cfg(not(feature = "alloc"))]
        return &[];
    }
}

impl<X> core::ops::DerefMut for Buffer<X> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [X] {
        #[cfg(feature = "alloc")]
        return &mut self.values;
        #[cfg(not(feature = "alloc"))]
        return &mut [];
    }
}
