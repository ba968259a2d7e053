//! Compute kernels: the dense products and the CPU detection that picks them.
//!
//! Nothing here knows models or layers (`crate::dispatch` compiles a model's pass once per
//! instruction-set level and picks one at each call from [`cpu::level`]); the element types
//! choose their kernels through [`Element`]. The batched dense product has
//! hand-written AVX-512 and AVX2 micro-kernels beside a portable one. Every level computes the
//! same sums in the same order per output, so results agree to rounding (tested to 1e-6); the
//! one exception, AVX2's product for fewer outputs than a register holds (`narrow.rs`), sums
//! across lanes in a tree and agrees to rounding of another order.

pub mod adam;
pub mod cpu;
mod crossentropy;
pub mod gates;
pub mod gemm;
mod narrow;
pub(crate) mod softmax;
pub mod transpose;
#[cfg(target_arch = "x86_64")]
mod x86;

use cpu::Level;
use nalgebra::SVector;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// An element type the kernels compute in: the arithmetic of the portable loop, and the SIMD
/// kernels `f32` and `f64` have on x86-64. Sealed; [`crate::Float`] requires it.
pub trait Element:
    Copy
    + Default
    + PartialEq
    + core::ops::Add<Output = Self>
    + core::ops::Mul<Output = Self>
    + core::ops::AddAssign
    + sealed::Sealed
{
    /// The batched product with this type's register-blocked kernel for `level`, on operands
    /// [`gemm::Product::fits`] accepted, or `false` where it has none; see [`gemm::product`].
    fn product(
        level: Level,
        p: &gemm::Product,
        a: &[Self],
        b: &[Self],
        c: &mut [Self],
        start: gemm::Start<'_, Self>,
    ) -> bool;

    /// `y += x · w` for one sample with this type's kernel for `level`, or `false` where it has
    /// none.
    #[inline(always)]
    fn accumulate_one(level: Level, x: &[Self], w: &[Self], y: &mut [Self], k: usize, n: usize) -> bool {
        Self::accumulate_one_ordered(level, x, w, y, k, n, false)
    }

    /// As [`Element::accumulate_one`], reading the columns of `w` a block at a time from the last
    /// block if `backwards`: the same sums, for a caller that alternates directions so that
    /// what one product read last is what the next reads first, still in L1.
    #[allow(clippy::too_many_arguments)]
    fn accumulate_one_ordered(
        level: Level,
        x: &[Self],
        w: &[Self],
        y: &mut [Self],
        k: usize,
        n: usize,
        backwards: bool,
    ) -> bool;

    /// `y = x · w + bias` over rows of `y` narrower than a register's worth of outputs, with
    /// this type's kernel for `level` (see `narrow.rs`), or `false` where it has none; the
    /// arguments as [`gemm::dense_strided`]'s.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn narrow_rows(
        level: Level,
        x: &[Self],
        stride: usize,
        w: &[Self],
        bias: Option<&[Self]>,
        y: &mut [Self],
        k: usize,
        n: usize,
    ) -> bool {
        let _ = (level, x, stride, w, bias, y, k, n);
        false
    }

    /// The sparse categorical cross-entropy over probabilities for the first rows of `p` (as
    /// `train::loss` computes it, with its clip bounds `lo` and `hi`) with this type's kernel
    /// for `level`: writes their gradient (times `ct`) into `g`, returns how many rows it did
    /// and the sum of their losses; `None` where it has none.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn sparse_crossentropy(
        level: Level,
        ids: &[Self],
        p: &[Self],
        last: usize,
        g: &mut [Self],
        ct: Self,
        lo: Self,
        hi: Self,
    ) -> Option<(usize, Self)> {
        let _ = (level, ids, p, last, g, ct, lo, hi);
        None
    }

    /// A recurrent cell's gates with Keras's default activations over `h.len()` units with
    /// this type's kernel for `level`, or `false` where it has none; see [`gates::Gates`].
    #[inline(always)]
    fn cell_gates(
        level: Level,
        kind: gates::Gates,
        x: &[Self],
        s: &[Self],
        h: &mut [Self],
        c: &mut [Self],
    ) -> bool {
        let _ = (level, kind, x, s, h, c);
        false
    }

    /// Adam's update of `w` from `g` with moments `m` and `v`, with this type's kernel for
    /// `level`, or `false` where it has none; see [`adam::AdamStep`].
    #[inline(always)]
    fn adam(
        level: Level,
        k: &adam::AdamStep<Self>,
        w: &mut [Self],
        g: &[Self],
        m: &mut [Self],
        v: &mut [Self],
    ) -> bool {
        let _ = (level, k, w, g, m, v);
        false
    }

    /// The softmax (Keras's `axis=-1`) of the rows of `last` values of `x` (of `y` itself where
    /// `x` is `None`) into `y`, with the kernel for `level`; `false`, touching nothing, where
    /// there is none.
    #[inline(always)]
    fn softmax_rows(level: Level, x: Option<&[Self]>, y: &mut [Self], last: usize) -> bool {
        let _ = (level, x, y, last);
        false
    }

    /// [`transpose::transpose`] with the kernel for `level`, on a shape it checked; `false`,
    /// touching nothing, where there is none.
    #[inline(always)]
    fn transpose(level: Level, src: &[Self], dst: &mut [Self], shape: &transpose::Shape) -> bool {
        let _ = (level, src, dst, shape);
        false
    }

    /// The softmax's backward pass over rows of `last` values, `dy ← y ⊙ (dy - Σ dy ⊙ y)`,
    /// with the kernel for `level`; `false`, touching nothing, where there is none.
    #[inline(always)]
    fn softmax_backward_rows(level: Level, y: &[Self], dy: &mut [Self], last: usize) -> bool {
        let _ = (level, y, dy, last);
        false
    }
}

impl Element for f32 {
    #[inline(always)]
    fn product(
        level: Level,
        p: &gemm::Product,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        start: gemm::Start<'_, f32>,
    ) -> bool {
        gemm::product_f32(level, p, a, b, c, start)
    }
    #[inline(always)]
    fn sparse_crossentropy(
        level: Level,
        ids: &[f32],
        p: &[f32],
        last: usize,
        g: &mut [f32],
        ct: f32,
        lo: f32,
        hi: f32,
    ) -> Option<(usize, f32)> {
        crossentropy::sparse_probabilities_f32(level, ids, p, last, g, ct, lo, hi)
    }
    #[inline(always)]
    fn narrow_rows(
        level: Level,
        x: &[f32],
        stride: usize,
        w: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        k: usize,
        n: usize,
    ) -> bool {
        narrow::product_f32(level, x, stride, w, bias, y, k, n)
    }
    #[inline(always)]
    fn accumulate_one_ordered(
        level: Level,
        x: &[f32],
        w: &[f32],
        y: &mut [f32],
        k: usize,
        n: usize,
        backwards: bool,
    ) -> bool {
        gemm::accumulate_one_f32(level, x, w, y, k, n, backwards)
    }
    #[inline(always)]
    fn cell_gates(
        level: Level,
        kind: gates::Gates,
        x: &[f32],
        s: &[f32],
        h: &mut [f32],
        c: &mut [f32],
    ) -> bool {
        gates::cell_f32(level, kind, x, s, h, c)
    }
    #[inline(always)]
    fn adam(
        level: Level,
        k: &adam::AdamStep<f32>,
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) -> bool {
        adam::adam_f32(level, k, w, g, m, v)
    }
    #[inline(always)]
    fn softmax_rows(level: Level, x: Option<&[f32]>, y: &mut [f32], last: usize) -> bool {
        match x {
            Some(x) => softmax::softmax_f32(level, x, y, last),
            None => softmax::in_place_f32(level, y, last),
        }
    }
    #[inline(always)]
    fn softmax_backward_rows(level: Level, y: &[f32], dy: &mut [f32], last: usize) -> bool {
        softmax::softmax_backward_f32(level, y, dy, last)
    }
    #[inline(always)]
    fn transpose(level: Level, src: &[f32], dst: &mut [f32], shape: &transpose::Shape) -> bool {
        transpose::transpose_f32(level, src, dst, shape)
    }
}

impl Element for f64 {
    #[inline(always)]
    fn product(
        level: Level,
        p: &gemm::Product,
        a: &[f64],
        b: &[f64],
        c: &mut [f64],
        start: gemm::Start<'_, f64>,
    ) -> bool {
        gemm::product_f64(level, p, a, b, c, start)
    }
    #[inline(always)]
    fn accumulate_one_ordered(
        level: Level,
        x: &[f64],
        w: &[f64],
        y: &mut [f64],
        k: usize,
        n: usize,
        backwards: bool,
    ) -> bool {
        gemm::accumulate_one_f64(level, x, w, y, k, n, backwards)
    }
}

/// `a · b` in eight running sums, which LLVM keeps in one vector register: one running sum
/// waits on every add, and a loop around it vectorizes across its calls instead, gathering
/// (a softmax's backward pass over rows of ten did).
#[inline(always)]
pub(crate) fn dot<T: Element>(a: &[T], b: &[T]) -> T {
    let zero = T::default();
    let mut sums = [zero; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            sums[k] += x[k] * y[k];
        }
    }
    let mut tail = zero;
    for (x, y) in ra.iter().zip(rb) {
        tail += *x * *y;
    }
    ((sums[0] + sums[4]) + (sums[1] + sums[5])) + ((sums[2] + sums[6]) + (sums[3] + sums[7])) + tail
}

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
