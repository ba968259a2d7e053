//! The batched dense product `Y = X · W + b`, the hot loop of a Dense layer over a batch.
//!
//! Shapes are row-major as Keras lays them out: `x` is `rows × k` (one sample per row), `w` is
//! `k × n` (Keras's kernel), `y` is `rows × n`. Each output is `b[o]`, then `+ x[r][i]·w[i][o]`
//! for `i` in order, at every level, so levels differ only by FMA rounding.
//!
//! The x86-64 micro-kernels keep a tile of `MR` samples × `NR` outputs in registers and stream
//! the kernel row by row: each `w[i][o..o+NR]` is loaded once per tile and multiplied by a
//! broadcast `x[r][i]` for every sample of the tile.

use super::cpu::Level;
use crate::Float;

/// `y = x · w + bias` over as many whole rows as `x` and `y` both hold, with the kernel for
/// `level`. Slices too short for `k` and `n` leave `y` untouched rather than read out of bounds.
pub fn dense<T: Float>(level: Level, x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T], k: usize, n: usize) {
    if k == 0 || n == 0 || w.len() < k * n || bias.is_some_and(|b| b.len() < n) {
        return;
    }
    T::dense_rows(level, x, w, bias, y, k, n);
}

/// Whether [`dense_f32`] has a register-blocked kernel for `level` on this CPU.
#[inline(always)]
pub(crate) fn has_kernel_f32(level: Level) -> bool {
    cfg!(target_arch = "x86_64") && level >= Level::Avx2 && super::cpu::supports(Level::Avx2)
}

/// `y += x · w` for one sample (`x` holds `k` floats, `w` `k × n`, `y` `n`) with the `f32`
/// kernel for `level`. Returns `false`, touching nothing, where `level` has no such kernel on
/// this CPU or the slices are too short: the caller then runs its portable loop.
#[inline(always)]
pub(crate) fn accumulate_one_f32(
    level: Level,
    x: &[f32],
    w: &[f32],
    y: &mut [f32],
    k: usize,
    n: usize,
) -> bool {
    if k == 0 || n == 0 || x.len() < k || w.len() < k * n || y.len() < n {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if level >= Level::Avx512 && super::cpu::supports(Level::Avx512) {
            // SAFETY: the CPU has AVX-512F; the lengths were checked above.
            unsafe { x86::gemv512(x.as_ptr(), w.as_ptr(), y.as_mut_ptr(), k, n) };
            return true;
        }
        if level >= Level::Avx2 && super::cpu::supports(Level::Avx2) {
            // SAFETY: as above, with AVX2 and FMA.
            unsafe { x86::gemv256(x.as_ptr(), w.as_ptr(), y.as_mut_ptr(), k, n) };
            return true;
        }
    }
    let _ = level;
    false
}

/// The portable kernel, for every element type and target.
pub(crate) fn portable<T: Float>(x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T], k: usize, n: usize) {
    for (xr, yr) in x.chunks_exact(k).zip(y.chunks_exact_mut(n)) {
        match bias {
            Some(b) => yr.copy_from_slice(&b[..n]),
            None => yr.fill(T::ZERO),
        }
        for (xi, wr) in xr.iter().zip(w.chunks_exact(n)) {
            for (a, wv) in yr.iter_mut().zip(wr) {
                *a += *xi * *wv;
            }
        }
    }
}

/// The `f32` kernel for `level`; the caller has checked `k`, `n`, `w` and `bias`.
pub(crate) fn dense_f32(
    level: Level,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    k: usize,
    n: usize,
) {
    let rows = (x.len() / k).min(y.len() / n);
    #[cfg(target_arch = "x86_64")]
    {
        let bias = bias.map(<[f32]>::as_ptr);
        if level >= Level::Avx512 && super::cpu::supports(Level::Avx512) {
            // SAFETY: the CPU has AVX-512F; `rows`, `k` and `n` fit the slices (checked above).
            unsafe { x86::avx512(x.as_ptr(), w.as_ptr(), bias, y.as_mut_ptr(), rows, k, n) };
            return;
        }
        if level >= Level::Avx2 && super::cpu::supports(Level::Avx2) {
            // SAFETY: as above, with AVX2 and FMA.
            unsafe { x86::avx2(x.as_ptr(), w.as_ptr(), bias, y.as_mut_ptr(), rows, k, n) };
            return;
        }
    }
    let _ = level;
    portable(&x[..rows * k], w, bias, &mut y[..rows * n], k, n);
}

// The tile loops index accumulators and input rows by the same `r`: that is the tile.
#[allow(clippy::needless_range_loop)]
#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    /// Rows per AVX-512 tile: 12 samples × 32 outputs is 24 accumulators, which with the two
    /// kernel vectors and a broadcast fits AVX-512's 32 registers; each kernel load feeds 24 FMAs.
    /// (14 rows measured slower: the compiler spills.)
    const MR512: usize = 12;
    /// Rows per AVX2 tile: 6 samples × 16 outputs is 12 accumulators of 16 registers.
    const MR256: usize = 6;

    /// # Safety
    /// AVX-512F must be available; `x` holds `rows × k`, `w` `k × n`, `bias` `n` and `y`
    /// `rows × n` floats.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn avx512(
        x: *const f32,
        w: *const f32,
        bias: Option<*const f32>,
        y: *mut f32,
        rows: usize,
        k: usize,
        n: usize,
    ) {
        tiles(rows, n, 32, MR512, |r, o, mr, width| {
            let (m0, m1) = (lanes(width.min(16)), lanes(width.saturating_sub(16)));
            // SAFETY: `tiles` keeps `r + mr <= rows` and `o < n`: in bounds of every slice.
            unsafe {
                let (x, w, y, bias) = (x.add(r * k), w.add(o), y.add(r * n + o), bias.map(|b| b.add(o)));
                match mr {
                    12 => tile512::<12>(x, w, bias, y, k, n, m0, m1),
                    11 => tile512::<11>(x, w, bias, y, k, n, m0, m1),
                    10 => tile512::<10>(x, w, bias, y, k, n, m0, m1),
                    9 => tile512::<9>(x, w, bias, y, k, n, m0, m1),
                    8 => tile512::<8>(x, w, bias, y, k, n, m0, m1),
                    7 => tile512::<7>(x, w, bias, y, k, n, m0, m1),
                    6 => tile512::<6>(x, w, bias, y, k, n, m0, m1),
                    5 => tile512::<5>(x, w, bias, y, k, n, m0, m1),
                    4 => tile512::<4>(x, w, bias, y, k, n, m0, m1),
                    3 => tile512::<3>(x, w, bias, y, k, n, m0, m1),
                    2 => tile512::<2>(x, w, bias, y, k, n, m0, m1),
                    _ => tile512::<1>(x, w, bias, y, k, n, m0, m1),
                }
            }
        });
    }

    /// Calls `tile(r, o, mr, width)` over the output in tiles `nr` outputs wide (`width` of them
    /// real at the right edge) and at most `mr_max` rows high, rows split evenly.
    #[inline(always)]
    fn tiles(
        rows: usize,
        n: usize,
        nr: usize,
        mr_max: usize,
        mut tile: impl FnMut(usize, usize, usize, usize),
    ) {
        let mut o = 0;
        while o < n {
            let mut r = 0;
            while r < rows {
                let mr = balanced(rows - r, mr_max);
                tile(r, o, mr, (n - o).min(nr));
                r += mr;
            }
            o += nr;
        }
    }

    /// The height of the next tile over `rows` remaining rows: as even a split into tiles of at
    /// most `max` rows as possible (64 rows in tiles of 12 become 11, 11, 11, 11, 10, 10 rather
    /// than five full tiles and a thin one).
    #[inline(always)]
    fn balanced(rows: usize, max: usize) -> usize {
        let tiles = rows.div_ceil(max);
        rows.div_ceil(tiles)
    }

    /// A mask of the low `count` lanes of sixteen.
    #[inline(always)]
    fn lanes(count: usize) -> __mmask16 {
        if count >= 16 { 0xFFFF } else { ((1u32 << count) - 1) as __mmask16 }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile512<const MR: usize>(
        x: *const f32,
        w: *const f32,
        bias: Option<*const f32>,
        y: *mut f32,
        k: usize,
        n: usize,
        m0: __mmask16,
        m1: __mmask16,
    ) {
        unsafe {
            let (b0, b1) = match bias {
                Some(b) => (_mm512_maskz_loadu_ps(m0, b), _mm512_maskz_loadu_ps(m1, b.add(16))),
                None => (_mm512_setzero_ps(), _mm512_setzero_ps()),
            };
            let mut acc0 = [b0; MR];
            let mut acc1 = [b1; MR];
            if m1 == 0 {
                // A tile 16 wide or less: half the multiplies.
                for i in 0..k {
                    let w0 = _mm512_maskz_loadu_ps(m0, w.add(i * n));
                    for r in 0..MR {
                        let a = _mm512_set1_ps(*x.add(r * k + i));
                        acc0[r] = _mm512_fmadd_ps(a, w0, acc0[r]);
                    }
                }
            } else {
                for i in 0..k {
                    let w0 = _mm512_loadu_ps(w.add(i * n));
                    let w1 = _mm512_maskz_loadu_ps(m1, w.add(i * n + 16));
                    for r in 0..MR {
                        let a = _mm512_set1_ps(*x.add(r * k + i));
                        acc0[r] = _mm512_fmadd_ps(a, w0, acc0[r]);
                        acc1[r] = _mm512_fmadd_ps(a, w1, acc1[r]);
                    }
                }
            }
            for r in 0..MR {
                _mm512_mask_storeu_ps(y.add(r * n), m0, acc0[r]);
                if m1 != 0 {
                    _mm512_mask_storeu_ps(y.add(r * n + 16), m1, acc1[r]);
                }
            }
        }
    }

    /// # Safety
    /// AVX2 and FMA must be available; sizes as for [`avx512`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn avx2(
        x: *const f32,
        w: *const f32,
        bias: Option<*const f32>,
        y: *mut f32,
        rows: usize,
        k: usize,
        n: usize,
    ) {
        tiles(rows, n, 16, MR256, |r, o, mr, width| {
            let (m0, m1) = (mask256(width.min(8)), mask256(width.saturating_sub(8)));
            // SAFETY: as in `avx512`.
            unsafe {
                let (x, w, y, bias) = (x.add(r * k), w.add(o), y.add(r * n + o), bias.map(|b| b.add(o)));
                match mr {
                    6 => tile256::<6>(x, w, bias, y, k, n, m0, m1),
                    5 => tile256::<5>(x, w, bias, y, k, n, m0, m1),
                    4 => tile256::<4>(x, w, bias, y, k, n, m0, m1),
                    3 => tile256::<3>(x, w, bias, y, k, n, m0, m1),
                    2 => tile256::<2>(x, w, bias, y, k, n, m0, m1),
                    _ => tile256::<1>(x, w, bias, y, k, n, m0, m1),
                }
            }
        });
    }

    /// `y += x · w` for one sample, AVX-512: the outputs in blocks of up to 128 (eight
    /// registers), each kept in `S` running sums over consecutive rows so that at least eight
    /// FMA chains are in flight; one chain per output would leave a narrow layer waiting on FMA
    /// latency. Rows of `w` stream through once per block, in order.
    ///
    /// Only the block kernels carry the target feature: this entry point inlines into the
    /// model's pass, where the sizes are constants, so it folds to one block kernel call that
    /// LLVM can inline in turn (M1 went from ~140 to ~110 ns once whole layers inlined).
    ///
    /// # Safety
    /// AVX-512F must be available; `x` holds `k`, `w` `k × n` and `y` `n` floats.
    #[inline(always)]
    pub unsafe fn gemv512(x: *const f32, w: *const f32, y: *mut f32, k: usize, n: usize) {
        let mut o = 0;
        while o < n {
            let width = (n - o).min(128);
            let blocks = width.div_ceil(16);
            let last = lanes(width - 16 * (blocks - 1));
            // SAFETY: `o + width <= n`, so every block is inside `w`'s rows and `y`.
            unsafe {
                let (w, y) = (w.add(o), y.add(o));
                match blocks {
                    1 => vec512::<1, 8>(x, w, y, k, n, last),
                    2 => vec512::<2, 4>(x, w, y, k, n, last),
                    3 => vec512::<3, 3>(x, w, y, k, n, last),
                    4 => vec512::<4, 2>(x, w, y, k, n, last),
                    5 => vec512::<5, 2>(x, w, y, k, n, last),
                    6 => vec512::<6, 2>(x, w, y, k, n, last),
                    7 => vec512::<7, 2>(x, w, y, k, n, last),
                    _ => vec512::<8, 2>(x, w, y, k, n, last),
                }
            }
            o += 128;
        }
    }

    /// The sum of the `S` running sums of register `b`, added as a tree: a chain of `S - 1` adds
    /// would put their latency after the last FMA of a layer the next one waits for.
    #[inline(always)]
    fn fold<V: Copy, const NB: usize, const S: usize>(
        acc: &mut [[V; NB]; S],
        b: usize,
        add: impl Fn(V, V) -> V,
    ) -> V {
        let mut live = S;
        while live > 1 {
            let half = live / 2;
            for s in 0..half {
                acc[s][b] = add(acc[s][b], acc[s + live - half][b]);
            }
            live -= half;
        }
        acc[0][b]
    }

    /// One block of [`gemv512`]: `NB` registers of outputs (the last `last`-masked), `S` sums.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn vec512<const NB: usize, const S: usize>(
        x: *const f32,
        w: *const f32,
        y: *mut f32,
        k: usize,
        n: usize,
        last: __mmask16,
    ) {
        let mask = |b: usize| if b + 1 == NB { last } else { 0xFFFF };
        // SAFETY: the caller keeps `k` rows of `n` floats in `w`, `NB` masked blocks in range.
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); NB]; S];
            let mut i = 0;
            while i + S <= k {
                for s in 0..S {
                    let a = _mm512_set1_ps(*x.add(i + s));
                    let row = w.add((i + s) * n);
                    for b in 0..NB {
                        let wv = _mm512_maskz_loadu_ps(mask(b), row.add(16 * b));
                        acc[s][b] = _mm512_fmadd_ps(a, wv, acc[s][b]);
                    }
                }
                i += S;
            }
            while i < k {
                let a = _mm512_set1_ps(*x.add(i));
                let row = w.add(i * n);
                for b in 0..NB {
                    acc[0][b] =
                        _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(mask(b), row.add(16 * b)), acc[0][b]);
                }
                i += 1;
            }
            for b in 0..NB {
                let sum = fold(&mut acc, b, |a, c| _mm512_add_ps(a, c));
                let yb = y.add(16 * b);
                _mm512_mask_storeu_ps(yb, mask(b), _mm512_add_ps(_mm512_maskz_loadu_ps(mask(b), yb), sum));
            }
        }
    }

    /// `y += x · w` for one sample, AVX2: as [`gemv512`] with blocks of up to 32 outputs (four
    /// registers of AVX2's sixteen).
    ///
    /// # Safety
    /// AVX2 and FMA must be available; sizes as for [`gemv512`].
    #[inline(always)]
    pub unsafe fn gemv256(x: *const f32, w: *const f32, y: *mut f32, k: usize, n: usize) {
        let mut o = 0;
        while o < n {
            let width = (n - o).min(32);
            let blocks = width.div_ceil(8);
            let last = width - 8 * (blocks - 1);
            // SAFETY: as in `gemv512`.
            unsafe {
                let (w, y) = (w.add(o), y.add(o));
                match blocks {
                    1 => vec256::<1, 8>(x, w, y, k, n, last),
                    2 => vec256::<2, 4>(x, w, y, k, n, last),
                    3 => vec256::<3, 3>(x, w, y, k, n, last),
                    _ => vec256::<4, 2>(x, w, y, k, n, last),
                }
            }
            o += 32;
        }
    }

    /// One block of [`gemv256`]: `NB` registers of outputs (`last` lanes real in the last), `S` sums.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn vec256<const NB: usize, const S: usize>(
        x: *const f32,
        w: *const f32,
        y: *mut f32,
        k: usize,
        n: usize,
        last: usize,
    ) {
        // Made here, under the target feature: `gemv256` has none, and its intrinsics would be
        // calls there.
        let last = mask256(last);
        // SAFETY: as in `vec512`; full blocks load whole, the last through its mask.
        unsafe {
            let load = |p: *const f32, b: usize| {
                if b + 1 == NB { _mm256_maskload_ps(p, last) } else { _mm256_loadu_ps(p) }
            };
            let mut acc = [[_mm256_setzero_ps(); NB]; S];
            let mut i = 0;
            while i + S <= k {
                for s in 0..S {
                    let a = _mm256_set1_ps(*x.add(i + s));
                    let row = w.add((i + s) * n);
                    for b in 0..NB {
                        acc[s][b] = _mm256_fmadd_ps(a, load(row.add(8 * b), b), acc[s][b]);
                    }
                }
                i += S;
            }
            while i < k {
                let a = _mm256_set1_ps(*x.add(i));
                let row = w.add(i * n);
                for b in 0..NB {
                    acc[0][b] = _mm256_fmadd_ps(a, load(row.add(8 * b), b), acc[0][b]);
                }
                i += 1;
            }
            for b in 0..NB {
                let sum = fold(&mut acc, b, |a, c| _mm256_add_ps(a, c));
                let yb = y.add(8 * b);
                let out = _mm256_add_ps(load(yb, b), sum);
                if b + 1 == NB { _mm256_maskstore_ps(yb, last, out) } else { _mm256_storeu_ps(yb, out) }
            }
        }
    }

    /// Lanes `0..count` of eight set, as `_mm256_maskload_ps` wants them (sign bits).
    #[inline(always)]
    fn mask256(count: usize) -> __m256i {
        // SAFETY: plain AVX register arithmetic, inside functions compiled with AVX2.
        unsafe {
            _mm256_cmpgt_epi32(_mm256_set1_epi32(count as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile256<const MR: usize>(
        x: *const f32,
        w: *const f32,
        bias: Option<*const f32>,
        y: *mut f32,
        k: usize,
        n: usize,
        m0: __m256i,
        m1: __m256i,
    ) {
        unsafe {
            let (b0, b1) = match bias {
                Some(b) => (_mm256_maskload_ps(b, m0), _mm256_maskload_ps(b.add(8), m1)),
                None => (_mm256_setzero_ps(), _mm256_setzero_ps()),
            };
            let mut acc0 = [b0; MR];
            let mut acc1 = [b1; MR];
            for i in 0..k {
                let w0 = _mm256_maskload_ps(w.add(i * n), m0);
                let w1 = _mm256_maskload_ps(w.add(i * n + 8), m1);
                for r in 0..MR {
                    let a = _mm256_set1_ps(*x.add(r * k + i));
                    acc0[r] = _mm256_fmadd_ps(a, w0, acc0[r]);
                    acc1[r] = _mm256_fmadd_ps(a, w1, acc1[r]);
                }
            }
            for r in 0..MR {
                _mm256_maskstore_ps(y.add(r * n), m0, acc0[r]);
                _mm256_maskstore_ps(y.add(r * n + 8), m1, acc1[r]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::cpu;

    /// A deterministic pseudo-random matrix.
    fn fill(len: usize, seed: u32) -> [f32; 4096] {
        let mut out = [0.0; 4096];
        let mut s = seed;
        for v in out.iter_mut().take(len) {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
        }
        out
    }

    #[test]
    fn every_level_agrees_with_the_portable_kernel_on_ragged_shapes() {
        for &(rows, k, n) in
            &[(1, 1, 1), (3, 5, 7), (8, 16, 32), (9, 17, 33), (13, 40, 10), (6, 3, 16), (17, 20, 50)]
        {
            let (x, w, b) = (fill(rows * k, 1), fill(k * n, 2), fill(n, 3));
            let mut want = [0.0f32; 4096];
            portable(&x[..rows * k], &w[..k * n], Some(&b[..n]), &mut want[..rows * n], k, n);
            for level in [Level::Portable, Level::Avx2, Level::Avx512] {
                if !cpu::supports(level) {
                    continue;
                }
                let mut got = [7.0f32; 4096];
                dense(level, &x[..rows * k], &w[..k * n], Some(&b[..n]), &mut got[..rows * n], k, n);
                for i in 0..rows * n {
                    assert!(
                        (got[i] - want[i]).abs() <= 1e-6 * want[i].abs().max(1.0),
                        "{level:?} {rows}x{k}x{n} [{i}]"
                    );
                }
                assert_eq!(got[rows * n], 7.0, "{level:?} wrote past the output");
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
