//! The [`Layer`] trait every layer implements, and the weight views layers hand out.

use crate::Float;
use crate::init::{Initializers, Rng};
use crate::kernels::cpu::Level;

/// One layer: a typed function from `Input` to `Output` with its own weights.
///
/// Shapes live in the types (the tensors of [`crate::tensor`]), so a hand-composed stack that
/// does not fit fails to type-check. The
/// `sequential!` macro checks the same shapes earlier and reports them in Keras's terms.
///
/// Training is a second trait over the same types, [`crate::train::Train`]: a layer's forward
/// pass over a batch keeping what its gradient needs, and its backward pass.
pub trait Layer {
    /// The element type.
    type Scalar: Float;
    /// What the layer takes.
    type Input;
    /// What the layer returns.
    type Output;
    /// Keras's class name, shown by `summary()` (`"Dense"`).
    const CLASS: &'static str;
    /// Number of weights (Keras's "Param #").
    const PARAMS: usize;
    /// How many of `PARAMS` are not trained (BatchNormalization's moving statistics): Keras
    /// counts them apart in its summary and lists them after the trainable ones.
    const NON_TRAINABLE: usize = 0;
    /// Where a `.weights.h5` file keeps the layer's variables under `layers/<key>/`: its own
    /// `vars`, or its cell's, `cell/vars`, for a recurrent layer (Keras saves a layer's
    /// sublayers by attribute name).
    const H5_GROUP: &'static str = "vars";

    /// The forward pass. Never allocates.
    fn forward(&self, x: &Self::Input) -> Self::Output;

    /// The forward pass with the kernels for `level` (layers with such kernels override it; a
    /// model's generated pass calls this with its dispatch level). Never allocates.
    #[inline(always)]
    fn forward_at(&self, level: Level, x: &Self::Input) -> Self::Output {
        let _ = level;
        self.forward(x)
    }

    /// The forward pass into `y`, every value of it written, with the kernels for `level`. A
    /// model's generated pass calls this: a layer whose kernels write through a slice
    /// (the convolutions) then writes where the model keeps its output, instead of into a
    /// value the model copies there (11.7 KB a sample for KWS's first convolution). Never
    /// allocates.
    #[inline(always)]
    fn forward_into(&self, level: Level, x: &Self::Input, y: &mut Self::Output) {
        *y = self.forward_at(level, x);
    }

    /// The forward pass over a batch, `ys[i] = forward(xs[i])` for as many as both hold, with the
    /// kernels for `level` (layers with a batched kernel override it). Never allocates.
    #[inline(always)]
    fn forward_batch(&self, level: Level, xs: &[Self::Input], ys: &mut [Self::Output]) {
        for (x, y) in xs.iter().zip(ys) {
            self.forward_into(level, x, y);
        }
    }

    /// Re-initialises the weights with Keras's default initializers (glorot_uniform kernels, zero
    /// biases), drawing from `rng`. Layers without weights keep the default, which does nothing.
    fn init_keras(&mut self, rng: &mut Rng) {
        let _ = rng;
    }

    /// Re-initialises the weights with the given initializers, drawing from `rng`: each weight
    /// reads the field of `init` for its Keras argument (a Dense kernel `init.kernel`, its bias
    /// `init.bias`) with Keras's fans for its shape, and ignores the others. A model calls this
    /// for a layer given initializers (`Dense<8, kernel_initializer = he_normal>`), and
    /// [`Layer::init_keras`] for the others.
    ///
    /// Layers that take no initializers keep the default, which is `init_keras`; a layer that
    /// takes them implements `init_keras` as `init_with(rng, &Initializers::KERAS)`.
    fn init_with(&mut self, rng: &mut Rng, init: &Initializers) {
        let _ = init;
        self.init_keras(rng);
    }

    /// Calls `f` once per weight tensor, in Keras's `layer.weights` order, with Keras's weight
    /// name, its Keras shape and its values in Keras's row-major layout. Layers without weights
    /// keep the default, which calls nothing.
    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, Self::Scalar>)) {
        let _ = f;
    }

    /// As [`Layer::visit_weights`], with the values writable.
    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, Self::Scalar>)) {
        let _ = f;
    }
}

/// A read-only view of one weight tensor.
#[derive(Debug)]
pub struct WeightRef<'a, T> {
    /// Keras's name for the weight within its layer (`"kernel"`, `"bias"`).
    pub name: &'static str,
    /// Keras's shape for it (`[in, out]` for a Dense kernel).
    pub shape: &'static [usize],
    /// The values, row-major in Keras's shape.
    pub data: &'a [T],
}

/// A writable view of one weight tensor.
#[derive(Debug)]
pub struct WeightMut<'a, T> {
    /// Keras's name for the weight within its layer (`"kernel"`, `"bias"`).
    pub name: &'static str,
    /// Keras's shape for it (`[in, out]` for a Dense kernel).
    pub shape: &'static [usize],
    /// The values, row-major in Keras's shape.
    pub data: &'a mut [T],
}

/// Types for which the all-zero bit pattern is a valid value, so they can be built directly in
/// zeroed heap memory (a large model never passes through the stack).
///
/// # Safety
/// Every field must be a [`Float`], an array or nalgebra matrix of them, or a type that is itself
/// `Zeroable`; any value that needs more than zeroing (an activation's options) must be restored
/// by the model's `configure` before the value is used.
pub unsafe trait Zeroable {}

/// A value with every byte zero, in a `const` context: how the macros build a model's `ZEROS`.
///
/// Building the value field by field from each layer's own `ZEROS` makes the compiler's const
/// evaluator copy every weight several times over (about 32 bytes of compiler memory per `f32`
/// weight: a 20000×20000 Dense needed 12 GiB in `cargo check`); zeroing it whole costs nothing
/// until the value is actually placed in a `static`.
#[doc(hidden)]
pub const fn zeroed<M: Zeroable>() -> M {
    // SAFETY: `M: Zeroable` promises that the all-zero bit pattern is a valid `M`.
    unsafe { core::mem::zeroed() }
}
