//! One copy of a model's forward pass per instruction-set level, and the choice between them at
//! each call.
//!
//! The macros implement [`Model::run`] and [`Model::run_batch`] with `#[inline(always)]` bodies;
//! the functions here wrap
//! those bodies in `#[target_feature]` functions, so each level gets the whole pass (every layer,
//! every activation) compiled for its registers, and a plain `cargo build` runs AVX-512 or AVX2
//! code where the CPU has it. The `unsafe` this takes stays here, not in users' crates. It sits
//! above `kernels/`, which knows nothing of models.

use crate::Model;
use crate::kernels::cpu::{self, Level};
use crate::train::{Trainable, Write};

/// [`Model::run`] compiled for the best level this CPU supports.
#[inline]
pub fn predict<M: Model>(model: &M, x: &M::Input) -> M::Output {
    predict_at(cpu::level(), model, x)
}

/// [`Model::run`] compiled for `level`, or for the best level below it this CPU supports.
#[inline]
pub fn predict_at<M: Model>(level: Level, model: &M, x: &M::Input) -> M::Output {
    #[cfg(target_arch = "x86_64")]
    {
        let level = level.min(cpu::level());
        if level == Level::Avx512 {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA.
            return unsafe { x86::run_avx512(model, x) };
        }
        if level == Level::Avx2 {
            // SAFETY: the CPU supports AVX2 and FMA.
            return unsafe { x86::run_avx2(model, x) };
        }
    }
    model.run(level.min(cpu::level()), x)
}

/// [`Model::run_batch`] compiled for the best level this CPU supports.
#[inline]
pub fn predict_batch<M: Model>(model: &M, xs: &[M::Input], ys: &mut [M::Output]) {
    predict_batch_at(cpu::level(), model, xs, ys);
}

/// [`Model::run_batch`] compiled for `level`, or the best level below it this CPU supports.
#[inline]
pub fn predict_batch_at<M: Model>(level: Level, model: &M, xs: &[M::Input], ys: &mut [M::Output]) {
    #[cfg(target_arch = "x86_64")]
    {
        let level = level.min(cpu::level());
        if level == Level::Avx512 {
            // SAFETY: as in `predict_at`.
            return unsafe { x86::run_batch_avx512(model, xs, ys) };
        }
        if level == Level::Avx2 {
            // SAFETY: as in `predict_at`.
            return unsafe { x86::run_batch_avx2(model, xs, ys) };
        }
    }
    model.run_batch(level.min(cpu::level()), xs, ys)
}

/// One step of a streaming model (`#[stream]`), compiled for the best instruction-set level
/// this CPU supports, as [`predict`] runs a whole pass.
#[inline]
pub fn step<M: crate::stream::Streaming>(model: &M, state: &mut M::State, x: &M::StepIn) -> M::StepOut {
    #[cfg(target_arch = "x86_64")]
    {
        let level = cpu::level();
        if level == Level::Avx512 {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA.
            return unsafe { x86::step_avx512(model, state, x) };
        }
        if level == Level::Avx2 {
            // SAFETY: the CPU supports AVX2 and FMA.
            return unsafe { x86::step_avx2(model, state, x) };
        }
    }
    model.run_step(cpu::level(), state, x)
}

/// A training step's forward pass ([`Trainable::forward_train`]), compiled for `level` or the
/// best level below it this CPU supports.
#[inline]
pub fn forward_train<M: Trainable>(
    level: Level,
    model: &mut M,
    b: &mut M::Buffers,
    xs: &[M::Input],
    rng: &mut crate::init::Rng,
) -> f64 {
    let level = level.min(cpu::level());
    #[cfg(target_arch = "x86_64")]
    {
        if level == Level::Avx512 {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA.
            return unsafe { x86::forward_train_avx512(model, b, xs, rng) };
        }
        if level == Level::Avx2 {
            // SAFETY: the CPU supports AVX2 and FMA.
            return unsafe { x86::forward_train_avx2(model, b, xs, rng) };
        }
    }
    model.forward_train(level, b, xs, rng)
}

/// A training step's backward pass ([`Trainable::backward`]), compiled as [`forward_train`].
#[inline]
pub fn backward<M: Trainable>(
    level: Level,
    model: &M,
    b: &mut M::Buffers,
    xs: &[M::Input],
    grads: &mut M,
    write: Write,
) {
    let level = level.min(cpu::level());
    #[cfg(target_arch = "x86_64")]
    {
        if level == Level::Avx512 {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA.
            return unsafe { x86::backward_avx512(model, b, xs, None, grads, write) };
        }
        if level == Level::Avx2 {
            // SAFETY: the CPU supports AVX2 and FMA.
            return unsafe { x86::backward_avx2(model, b, xs, None, grads, write) };
        }
    }
    model.backward(level, b, xs, None, grads, write)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Level;
    use crate::Model;

    use crate::stream::Streaming;
    use crate::train::{Trainable, Write};

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn forward_train_avx512<M: Trainable>(
        model: &mut M,
        b: &mut M::Buffers,
        xs: &[M::Input],
        rng: &mut crate::init::Rng,
    ) -> f64 {
        model.forward_train(Level::Avx512, b, xs, rng)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn forward_train_avx2<M: Trainable>(
        model: &mut M,
        b: &mut M::Buffers,
        xs: &[M::Input],
        rng: &mut crate::init::Rng,
    ) -> f64 {
        model.forward_train(Level::Avx2, b, xs, rng)
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn backward_avx512<M: Trainable>(
        model: &M,
        b: &mut M::Buffers,
        xs: &[M::Input],
        dxs: Option<&mut [M::Input]>,
        grads: &mut M,
        write: Write,
    ) {
        model.backward(Level::Avx512, b, xs, dxs, grads, write)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn backward_avx2<M: Trainable>(
        model: &M,
        b: &mut M::Buffers,
        xs: &[M::Input],
        dxs: Option<&mut [M::Input]>,
        grads: &mut M,
        write: Write,
    ) {
        model.backward(Level::Avx2, b, xs, dxs, grads, write)
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn step_avx512<M: Streaming>(model: &M, state: &mut M::State, x: &M::StepIn) -> M::StepOut {
        model.run_step(Level::Avx512, state, x)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn step_avx2<M: Streaming>(model: &M, state: &mut M::State, x: &M::StepIn) -> M::StepOut {
        model.run_step(Level::Avx2, state, x)
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn run_avx512<M: Model>(model: &M, x: &M::Input) -> M::Output {
        model.run(Level::Avx512, x)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn run_avx2<M: Model>(model: &M, x: &M::Input) -> M::Output {
        model.run(Level::Avx2, x)
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn run_batch_avx512<M: Model>(model: &M, xs: &[M::Input], ys: &mut [M::Output]) {
        model.run_batch(Level::Avx512, xs, ys)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn run_batch_avx2<M: Model>(model: &M, xs: &[M::Input], ys: &mut [M::Output]) {
        model.run_batch(Level::Avx2, xs, ys)
    }
}
