//! Compute kernels and the CPU dispatch that picks them.
//!
//! Models are compiled once per instruction-set level (see `nn::Model::predict`'s generated
//! code) and pick one at each call from [`cpu::level`]; the batched dense product has
//! hand-written AVX-512 and AVX2 micro-kernels beside a portable one. Every level computes the
//! same sums in the same order per output, so results agree to rounding (tested to 1e-6).

pub mod cpu;
pub mod dispatch;
pub mod gemm;
#[cfg(target_arch = "x86_64")]
mod x86;

use nalgebra::SVector;

/// A value aligned to a cache line. The batch pass keeps its stack buffers in these, so that a
/// row of 16 `f32`s is one load or store rather than two halves of neighbouring lines.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
pub struct Aligned<T>(pub T);

/// A slice of vectors as one row-major slice of their elements.
#[inline(always)]
pub(crate) fn flat<T, const N: usize>(v: &[SVector<T, N>]) -> &[T] {
    const { assert!(core::mem::size_of::<SVector<T, N>>() == N * core::mem::size_of::<T>()) };
    // SAFETY: `SVector<T, N>` is a `repr(C)` matrix over a `repr(transparent)` `[[T; N]; 1]`,
    // so a slice of them is `len * N` contiguous `T`s (the size is checked above).
    unsafe { core::slice::from_raw_parts(v.as_ptr().cast::<T>(), v.len() * N) }
}

/// As [`flat`], writable.
#[inline(always)]
pub(crate) fn flat_mut<T, const N: usize>(v: &mut [SVector<T, N>]) -> &mut [T] {
    const { assert!(core::mem::size_of::<SVector<T, N>>() == N * core::mem::size_of::<T>()) };
    // SAFETY: as in `flat`.
    unsafe { core::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<T>(), v.len() * N) }
}
