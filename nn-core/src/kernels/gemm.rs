//! The batched dense product `Y = X · W + b`, the hot loop of a Dense layer over a batch.
//!
//! Shapes are row-major as Keras lays them out: `x` is `rows × k` (one sample per row), `w` is
//! `k × n` (Keras's kernel), `y` is `rows × n`. Each output is `b[o]`, then `+ x[r][i]·w[i][o]`
//! for `i` in order, at every level, so levels differ only by FMA rounding.
//!
//! `f32` and `f64` have x86-64 kernels (AVX-512 and AVX2, in `super::x86`), for batches and for
//! single samples; everything else runs the portable loop here.

use super::Element;
use super::cpu::Level;

/// `y = x · w + bias` over as many whole rows as `x` and `y` both hold, with the kernel for
/// `level`. Slices too short for `k` and `n` leave `y` untouched rather than read out of bounds.
pub fn dense<T: Element>(
    level: Level,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    k: usize,
    n: usize,
) {
    dense_strided(level, x, k, w, bias, y, k, n);
}

/// [`dense`] for one sample (`x` holds `k` values): the one-sample kernel keeps several running
/// sums per output register, where the batched kernel's one-row tile waits on a single FMA chain
/// per register (a GRU(64) step spent 40% of its time there). `backwards` reads the columns'
/// blocks from the last (see [`Element::accumulate_one_ordered`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn dense_one<T: Element>(
    level: Level,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    k: usize,
    n: usize,
    backwards: bool,
) {
    if y.len() < n || bias.is_some_and(|b| b.len() < n) {
        return;
    }
    match bias {
        Some(b) => y[..n].copy_from_slice(&b[..n]),
        None => y[..n].fill(T::default()),
    }
    if !T::accumulate_one_ordered(level, x, w, y, k, n, backwards) {
        portable(x, k, w, bias, y, k, n);
    }
}

/// [`dense`] over rows of `x` that start `stride` values apart and may overlap: row `r` is
/// `x[r * stride..r * stride + k]`. A stride-1 convolution reads its patches this way straight
/// from its input, with nothing gathered.
#[allow(clippy::too_many_arguments)]
pub fn dense_strided<T: Element>(
    level: Level,
    x: &[T],
    stride: usize,
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    k: usize,
    n: usize,
) {
    if k == 0 || n == 0 || stride == 0 || w.len() < k * n || bias.is_some_and(|b| b.len() < n) {
        return;
    }
    if !T::dense_rows(level, x, stride, w, bias, y, k, n) {
        portable(x, stride, w, bias, y, k, n);
    }
}

/// How many rows of `k` values, `stride` apart, `x` holds whole.
#[inline(always)]
fn rows_in(x: usize, stride: usize, k: usize) -> usize {
    if x < k { 0 } else { (x - k) / stride + 1 }
}

/// The kernels of an element type that has them on x86-64: `dense_rows` and `accumulate_one`
/// for its `Float` impl.
macro_rules! simd_kernels {
    ($t:ty, $dense:ident, $one:ident) => {
        /// The register-blocked batched product for `level` over as many whole rows as `x` and
        /// `y` both hold. Returns `false`, touching nothing, where `level` has no kernel on this
        /// CPU or the slices do not fit `k` and `n`.
        #[allow(clippy::too_many_arguments)]
        pub(crate) fn $dense(
            level: Level,
            x: &[$t],
            stride: usize,
            w: &[$t],
            bias: Option<&[$t]>,
            y: &mut [$t],
            k: usize,
            n: usize,
        ) -> bool {
            if k == 0 || n == 0 || stride == 0 || w.len() < k * n || bias.is_some_and(|b| b.len() < n) {
                return false;
            }
            let rows = rows_in(x.len(), stride, k).min(y.len() / n);
            #[cfg(target_arch = "x86_64")]
            {
                let bias = bias.map(<[$t]>::as_ptr);
                if level >= Level::Avx512 && super::cpu::supports(Level::Avx512) {
                    // SAFETY: the CPU has AVX-512F; `rows`, `stride`, `k` and `n` fit the slices.
                    unsafe {
                        super::x86::gemm512(x.as_ptr(), stride, w.as_ptr(), bias, y.as_mut_ptr(), rows, k, n)
                    };
                    return true;
                }
                if level >= Level::Avx2 && super::cpu::supports(Level::Avx2) {
                    // SAFETY: as above, with AVX2 and FMA.
                    unsafe {
                        super::x86::gemm256(x.as_ptr(), stride, w.as_ptr(), bias, y.as_mut_ptr(), rows, k, n)
                    };
                    return true;
                }
            }
            let _ = (level, rows, bias);
            false
        }

        /// `y += x · w` for one sample (`x` holds `k` values, `w` `k × n`, `y` `n`) with the
        /// kernel for `level`, its blocks of columns from the last one if `backwards` (the
        /// same sums). Returns `false`, touching nothing, where `level` has no kernel on this
        /// CPU or the slices are too short: the caller then runs its portable loop.
        #[inline(always)]
        pub(crate) fn $one(
            level: Level,
            x: &[$t],
            w: &[$t],
            y: &mut [$t],
            k: usize,
            n: usize,
            backwards: bool,
        ) -> bool {
            if k == 0 || n == 0 || x.len() < k || w.len() < k * n || y.len() < n {
                return false;
            }
            #[cfg(target_arch = "x86_64")]
            {
                // Outputs that fill 256-bit registers but not 512-bit ones (24 floats of a
                // GRU(8) step) run in the former: whole registers need no masked store, which a
                // following load of the outputs cannot take forwarded.
                let lanes = |bytes: usize| bytes / core::mem::size_of::<$t>();
                let wide = n.is_multiple_of(lanes(64)) || !n.is_multiple_of(lanes(32));
                if wide && level >= Level::Avx512 && super::cpu::supports(Level::Avx512) {
                    // SAFETY: the CPU has AVX-512F; the lengths were checked above.
                    unsafe { super::x86::gemv512(x.as_ptr(), w.as_ptr(), y.as_mut_ptr(), k, n, backwards) };
                    return true;
                }
                if level >= Level::Avx2 && super::cpu::supports(Level::Avx2) {
                    // SAFETY: as above, with AVX2 and FMA.
                    unsafe { super::x86::gemv256(x.as_ptr(), w.as_ptr(), y.as_mut_ptr(), k, n, backwards) };
                    return true;
                }
            }
            let _ = (level, backwards);
            false
        }
    };
}

simd_kernels!(f32, dense_f32, accumulate_one_f32);
simd_kernels!(f64, dense_f64, accumulate_one_f64);

/// The portable kernel, for every element type and target.
#[allow(clippy::too_many_arguments)]
pub(crate) fn portable<T: Element>(
    x: &[T],
    stride: usize,
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    k: usize,
    n: usize,
) {
    let rows = rows_in(x.len(), stride, k);
    for (r, yr) in y.chunks_exact_mut(n).take(rows).enumerate() {
        match bias {
            Some(b) => yr.copy_from_slice(&b[..n]),
            None => yr.fill(T::default()),
        }
        for (xi, wr) in x[r * stride..r * stride + k].iter().zip(w.chunks_exact(n)) {
            for (a, wv) in yr.iter_mut().zip(wr) {
                *a += *xi * *wv;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Float;
    use crate::kernels::cpu;

    /// A deterministic pseudo-random matrix.
    fn fill<T: Float>(len: usize, seed: u32) -> [T; 4096] {
        let mut out = [T::ZERO; 4096];
        let mut s = seed;
        for v in out.iter_mut().take(len) {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = T::of((s >> 8) as f64 / (1u32 << 24) as f64 - 0.5);
        }
        out
    }

    /// The one-sample kernel's columns read from the last block give the same sums, bit for
    /// bit: each output's sum runs over the rows in the same order either way.
    fn backwards_blocks_give_the_same_sums<T: Float>() {
        for &(k, n) in &[(8, 24), (12, 300), (5, 129), (16, 256), (3, 1)] {
            let (x, w, b) = (fill::<T>(k, 4), fill::<T>(k * n, 5), fill::<T>(n, 6));
            for level in [Level::Avx2, Level::Avx512] {
                if !cpu::supports(level) {
                    continue;
                }
                let (mut forwards, mut backwards) = ([T::ZERO; 4096], [T::ZERO; 4096]);
                dense_one(level, &x[..k], &w[..k * n], Some(&b[..n]), &mut forwards[..n], k, n, false);
                dense_one(level, &x[..k], &w[..k * n], Some(&b[..n]), &mut backwards[..n], k, n, true);
                assert!(forwards[..n] == backwards[..n], "{level:?} {k}x{n}");
                assert!(forwards[..n] != [T::ZERO; 4096][..n], "{level:?} {k}x{n}: nothing computed");
            }
        }
    }

    #[test]
    fn backwards_blocks_give_the_same_sums_f32() {
        backwards_blocks_give_the_same_sums::<f32>();
    }

    #[test]
    fn backwards_blocks_give_the_same_sums_f64() {
        backwards_blocks_give_the_same_sums::<f64>();
    }

    fn agrees_on_ragged_shapes<T: Float>() {
        // Shapes on both sides of one and two registers of f32 and f64, and of the tile heights.
        for &(rows, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (8, 16, 32),
            (9, 17, 33),
            (13, 40, 10),
            (6, 3, 16),
            (17, 20, 50),
            (25, 9, 9),
            (7, 4, 17),
        ] {
            let (x, w, b) = (fill::<T>(rows * k, 1), fill::<T>(k * n, 2), fill::<T>(n, 3));
            let mut want = [T::ZERO; 4096];
            portable(&x[..rows * k], k, &w[..k * n], Some(&b[..n]), &mut want[..rows * n], k, n);
            for level in [Level::Portable, Level::Avx2, Level::Avx512] {
                if !cpu::supports(level) {
                    continue;
                }
                let mut got = [T::of(7.0); 4096];
                dense(level, &x[..rows * k], &w[..k * n], Some(&b[..n]), &mut got[..rows * n], k, n);
                for i in 0..rows * n {
                    assert!(
                        (got[i] - want[i]).abs() <= T::of(1e-6) * want[i].abs().max(T::ONE),
                        "{level:?} {rows}x{k}x{n} [{i}]"
                    );
                }
                assert_eq!(got[rows * n], T::of(7.0), "{level:?} wrote past the output");
            }
        }
    }

    #[test]
    fn every_level_agrees_with_the_portable_kernel_on_ragged_shapes() {
        agrees_on_ragged_shapes::<f32>();
        agrees_on_ragged_shapes::<f64>();
    }

    #[test]
    fn overlapping_strided_rows_read_as_if_copied_out() {
        // Rows of 30 starting 12 apart, as a Conv1D of kernel 5 and stride 2 over 6 channels
        // reads them, and rows that do not overlap (stride past k).
        for &(rows, stride, k, n) in &[(13, 12, 30, 16), (7, 3, 9, 33), (5, 11, 4, 8)] {
            let (x, w) = (fill::<f32>((rows - 1) * stride + k, 4), fill::<f32>(k * n, 5));
            let mut want = [0.0f32; 4096];
            for r in 0..rows {
                dense(
                    Level::Portable,
                    &x[r * stride..r * stride + k],
                    &w[..k * n],
                    None,
                    &mut want[r * n..],
                    k,
                    n,
                );
            }
            for level in [Level::Portable, Level::Avx2, Level::Avx512] {
                if !cpu::supports(level) {
                    continue;
                }
                let mut got = [7.0f32; 4096];
                let x = &x[..(rows - 1) * stride + k];
                dense_strided(level, x, stride, &w[..k * n], None, &mut got[..4096], k, n);
                for i in 0..rows * n {
                    assert!((got[i] - want[i]).abs() <= 1e-6 * want[i].abs().max(1.0), "{level:?} [{i}]");
                }
                assert_eq!(got[rows * n], 7.0, "{level:?} read a row past the input");
            }
        }
    }

    #[test]
    fn short_slices_leave_the_output_untouched() {
        let mut y = [1.0f32; 4];
        dense(cpu::level(), &[1.0; 4], &[1.0; 3], None, &mut y, 2, 2);
        assert_eq!(y, [1.0; 4]);
        dense(cpu::level(), &[1.0; 4], &[1.0; 4], Some(&[0.0]), &mut y, 2, 2);
        assert_eq!(y, [1.0; 4]);
    }

    #[test]
    fn without_bias_starts_from_zero() {
        let mut y = [9.0f32; 2];
        dense(cpu::level(), &[1.0, 2.0], &[1.0, 10.0, 100.0, 1000.0], None, &mut y, 2, 2);
        assert_eq!(y, [201.0, 2010.0]);
    }
}
