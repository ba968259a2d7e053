//! Running a sequence model one step at a time: each layer that can keeps what it needs from
//! the steps before in a state of fixed size, and a model declared with `#[stream]` gets a
//! `step` method and a state type built from them. Nothing is allocated.
//!
//! A step of a recurrent layer is one step of its cell ([`RnnState`]); a causal Conv1D keeps
//! its last inputs in a [`Ring`] as long as its dilated kernel; Dense layers and activations
//! act on the step alone (`()`).

use crate::Float;
use crate::kernels::cpu::Level;
use crate::layer::Layer;

/// A layer that can run one step of a sequence, keeping what it needs in a state `S`.
pub trait Stream<S>: Layer {
    /// One step's input.
    type StepIn;
    /// One step's output.
    type StepOut;
    /// Runs one step, updating `state`, with the kernels for `level`.
    fn step(&self, level: Level, state: &mut S, x: &Self::StepIn) -> Self::StepOut;
}

/// A recurrent layer's state between steps: `h`, and LSTM's cell state `c` (zeros, as Keras
/// starts).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RnnState<T, const H: usize> {
    /// The output state.
    pub h: [T; H],
    /// LSTM's cell state (unused by the others).
    pub c: [T; H],
    /// Which of the step's two products runs first (they alternate, to reuse L1).
    pub flip: bool,
}

impl<T: Float, const H: usize> RnnState<T, H> {
    /// The state before the first step.
    pub const ZEROS: Self = RnnState { h: [T::ZERO; H], c: [T::ZERO; H], flip: false };
}

/// The last `R` steps of `C` channels a causal convolution reads, oldest overwritten first;
/// zeros before the first step, as Keras's causal padding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ring<T, const R: usize, const C: usize> {
    /// The steps, `next` being where the coming one goes.
    pub rows: [[T; C]; R],
    /// Where the coming step goes.
    pub next: usize,
}

impl<T: Float, const R: usize, const C: usize> Ring<T, R, C> {
    /// No step seen yet.
    pub const ZEROS: Self = Ring { rows: [[T::ZERO; C]; R], next: 0 };

    /// Stores `x` as the newest step.
    #[inline(always)]
    pub fn push(&mut self, x: &[T]) {
        self.rows[self.next % R].copy_from_slice(x);
        self.next = (self.next + 1) % R;
    }

    /// The step `back` steps before the newest (0 is the newest).
    #[inline(always)]
    pub fn back(&self, back: usize) -> &[T; C] {
        &self.rows[(self.next + R - 1 - back % R) % R]
    }
}

/// A model that runs one step at a time (declared with `#[stream]`): the macros implement it,
/// and the model's `step` runs `run_step` compiled for the CPU's best level
/// ([`crate::dispatch::step`]).
pub trait Streaming: crate::Model {
    /// What the layers keep between steps.
    type State: StreamState;
    /// One step's input.
    type StepIn;
    /// One step's output.
    type StepOut;
    /// One step with the kernels for `level`.
    #[doc(hidden)]
    fn run_step(&self, level: Level, state: &mut Self::State, x: &Self::StepIn) -> Self::StepOut;
}

/// A whole model's streaming state: every layer's, zeroed before the first step and by
/// `reset`.
pub trait StreamState: Copy {
    /// The state before the first step.
    const ZEROS: Self;

    /// Back to the state before the first step.
    fn reset(&mut self) {
        *self = Self::ZEROS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_gives_the_steps_back_newest_first() {
        let mut ring = Ring::<f32, 3, 1>::ZEROS;
        ring.push(&[1.0]);
        assert_eq!((ring.back(0), ring.back(1), ring.back(2)), (&[1.0], &[0.0], &[0.0]));
        for v in [2.0, 3.0, 4.0] {
            ring.push(&[v]);
        }
        assert_eq!((ring.back(0), ring.back(1), ring.back(2)), (&[4.0], &[3.0], &[2.0]));
    }
}
