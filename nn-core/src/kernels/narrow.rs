//! A dense layer's batched product `y = x · w + bias` for fewer than [`NARROW`] outputs, other
//! than eight (a classifier's last layer), at AVX2, with its registers along the inputs rather
//! than the outputs.
//!
//! The batched product's registers lie along the outputs: ten classes fill ten lanes of AVX2's
//! two registers (sixteen). Here a tile of four samples × two outputs keeps eight running sums,
//! each a register along the inputs (`x`'s row, and the output's column of `w`, which is
//! transposed once per call onto the stack); the eight registers are then summed across their
//! lanes together, in one tree of horizontal adds. Every multiply-add is useful. At AVX-512,
//! where ten outputs fill ten lanes of one register, the batched product stays: the same tiles
//! in 512-bit registers made the digits MLP's step slower (BENCHMARKS.md has both levels).
//!
//! The sums are taken in another order than the batched product's (lane by lane, then across
//! the lanes in a tree), so the two agree to rounding, not bit for bit.

use super::cpu::{self, Level};
use core::mem::MaybeUninit;

/// Outputs below this take the narrow product (from 16 on, the batched product's registers
/// are full).
pub(crate) const NARROW: usize = 16;

/// Values of `wᵀ` the product holds on the stack (16 KiB).
const WT_VALUES: usize = 4096;

/// Inputs below this leave too few multiply-adds per tile for its sums across lanes.
const MIN_INPUTS: usize = 32;

/// `y = x · w + bias` over the rows of `y` (`n` values each): `x` holds a row of `k` values
/// every `stride`, `w` is `k × n` in Keras's layout. Returns `false`, touching nothing, where
/// the shape is not narrow (`n` from [`NARROW`] on, or 8, which fills an AVX2 register; `k`
/// below [`MIN_INPUTS`] or not a whole number of AVX2 registers; `wᵀ` too big for the stack),
/// the slices are too short, or `level` is not AVX2 on this CPU.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn product_f32(
    level: Level,
    x: &[f32],
    stride: usize,
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    k: usize,
    n: usize,
) -> bool {
    if n.is_multiple_of(8) || n >= NARROW || k < MIN_INPUTS || !k.is_multiple_of(8) || k * n > WT_VALUES {
        return false;
    }
    let rows = y.len() / n;
    let fits = rows > 0
        && (rows - 1).checked_mul(stride).and_then(|s| s.checked_add(k)).is_some_and(|end| end <= x.len())
        && w.len() >= k * n
        && bias.is_none_or(|b| b.len() >= n);
    if !fits {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = level >= Level::Avx2
            && cpu::supports(Level::Avx2)
            && !(level >= Level::Avx512 && cpu::supports(Level::Avx512));
        if !avx2 {
            return false;
        }
        // `wᵀ`, `n` rows of `k`, through the 8 × 8 block transposes, which write into
        // initialised memory: zeroing it first costs less than transposing element by element
        // into the uninitialised room.
        let mut room = [MaybeUninit::<f32>::uninit(); WT_VALUES];
        for v in &mut room[..k * n] {
            v.write(0.0);
        }
        // SAFETY: the first `k · n` values were written just above.
        let wt = unsafe { core::slice::from_raw_parts_mut(room.as_mut_ptr().cast::<f32>(), k * n) };
        super::transpose::transpose(level, w, n, k, n, wt, k, false);
        let ops = x86::Operands {
            x: x.as_ptr(),
            wt: wt.as_ptr(),
            bias: bias.map(<[f32]>::as_ptr),
            y: y.as_mut_ptr(),
            rows,
            stride,
            k,
            n,
        };
        // SAFETY: the CPU has AVX2 and FMA (checked above); `x` holds `rows` rows of `k` values
        // `stride` apart, `wt` the `k · n` values written above, `y` `rows · n` values and
        // `bias`, when given, `n` (all checked above).
        unsafe { x86::product256(&ops) };
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (level, x, w, bias, y);
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    // The tile loops index accumulators and rows by the same `r`: that is the tile.
    #![allow(clippy::needless_range_loop)]

    use core::arch::x86_64::*;

    /// The product's operands and sizes (see [`super::product_f32`]): `x`'s rows, `wᵀ`, the
    /// bias if any, and `y`.
    pub(super) struct Operands {
        pub x: *const f32,
        pub wt: *const f32,
        pub bias: Option<*const f32>,
        pub y: *mut f32,
        pub rows: usize,
        pub stride: usize,
        pub k: usize,
        pub n: usize,
    }

    /// Lane `i` of the result: the sum of `a[i]`'s eight lanes. Three rounds of horizontal
    /// adds and one across the halves, for all eight together.
    #[inline(always)]
    unsafe fn sums(a: [__m256; 8]) -> __m256 {
        unsafe {
            let h01 = _mm256_hadd_ps(a[0], a[1]);
            let h23 = _mm256_hadd_ps(a[2], a[3]);
            let h45 = _mm256_hadd_ps(a[4], a[5]);
            let h67 = _mm256_hadd_ps(a[6], a[7]);
            // Each 128-bit half: the four sums of a[0..4] (then a[4..8]) over that half's lanes.
            let h0123 = _mm256_hadd_ps(h01, h23);
            let h4567 = _mm256_hadd_ps(h45, h67);
            let lo = _mm256_permute2f128_ps(h0123, h4567, 0x20);
            let hi = _mm256_permute2f128_ps(h0123, h4567, 0x31);
            _mm256_add_ps(lo, hi)
        }
    }

    /// Rows `r0..r0 + R` × outputs `c0..c0 + C` of `y` (`R · C` at most 8).
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(s: &Operands, r0: usize, c0: usize) {
        let Operands { x, wt, bias, y, .. } = *s;
        // SAFETY: the caller's bounds: rows `r0..r0 + R` and outputs `c0..c0 + C` exist, and
        // `k` is a whole number of registers.
        unsafe {
            let mut acc = [_mm256_setzero_ps(); 8];
            for i in (0..s.k).step_by(8) {
                let mut w = [_mm256_setzero_ps(); C];
                for c in 0..C {
                    w[c] = _mm256_loadu_ps(wt.add((c0 + c) * s.k + i));
                }
                for r in 0..R {
                    let xv = _mm256_loadu_ps(x.add((r0 + r) * s.stride + i));
                    for c in 0..C {
                        acc[r * C + c] = _mm256_fmadd_ps(xv, w[c], acc[r * C + c]);
                    }
                }
            }
            let mut out = [0.0f32; 8];
            _mm256_storeu_ps(out.as_mut_ptr(), sums(acc));
            for r in 0..R {
                for c in 0..C {
                    let b = bias.map_or(0.0, |b| *b.add(c0 + c));
                    *y.add((r0 + r) * s.n + c0 + c) = out[r * C + c] + b;
                }
            }
        }
    }

    /// Every tile: four rows at a time (then one), each over the outputs two at a time (then
    /// one). (Two rows × four outputs, as many sums and fewer loads, was no faster.)
    #[inline(always)]
    unsafe fn product(s: &Operands) {
        let whole = s.rows / 4 * 4;
        // SAFETY: passed on from the caller; the tiles cover the rows exactly.
        unsafe {
            for r0 in (0..whole).step_by(4) {
                outputs::<4>(s, r0);
            }
            for r0 in whole..s.rows {
                outputs::<1>(s, r0);
            }
        }
    }

    /// Rows `r0..r0 + R` of `y`, every output.
    #[inline(always)]
    unsafe fn outputs<const R: usize>(s: &Operands, r0: usize) {
        let pairs = s.n / 2 * 2;
        // SAFETY: passed on from the caller; the tiles cover the outputs exactly.
        unsafe {
            for c0 in (0..pairs).step_by(2) {
                tile::<R, 2>(s, r0, c0);
            }
            if pairs < s.n {
                tile::<R, 1>(s, r0, pairs);
            }
        }
    }

    /// [`product`] in AVX2 registers.
    ///
    /// # Safety
    /// AVX2 and FMA must be available; in `s`, `x` holds `rows` rows of `k` values (a multiple
    /// of 8) `stride` apart, `wt` `n · k` values, `y` `rows · n`, `bias` (if given) `n`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn product256(s: &Operands) {
        // SAFETY: passed on from the caller.
        unsafe { product(s) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / 16_777_216.0 - 0.5
            })
            .collect()
    }

    /// Every output within rounding of the sum in `f64`, for every tail of rows and outputs,
    /// with and without a bias, rows strided or overlapping; nothing written past `y`'s rows.
    #[test]
    fn the_kernel_matches_the_sums_in_f64_over_every_tail() {
        if let Some(level) = Some(Level::Avx2).filter(|&l| cpu::supports(l)) {
            for (k, stride) in [(32, 32), (64, 64), (48, 56), (128, 130), (40, 3)] {
                for n in (1..NARROW).filter(|n| *n != 8) {
                    for rows in [1, 3, 4, 7, 32] {
                        let x = values((rows - 1) * stride + k, 1);
                        let w = values(k * n, 2);
                        let b = values(n, 3);
                        for bias in [None, Some(&b[..])] {
                            let mut y = values(rows * n + 5, 4);
                            let after = y[rows * n..].to_vec();
                            assert!(product_f32(level, &x, stride, &w, bias, &mut y[..rows * n], k, n));
                            assert_eq!(&y[rows * n..], &after[..]);
                            for r in 0..rows {
                                for c in 0..n {
                                    let want = bias.map_or(0.0, |b| f64::from(b[c]))
                                        + (0..k)
                                            .map(|i| f64::from(x[r * stride + i]) * f64::from(w[i * n + c]))
                                            .sum::<f64>();
                                    let got = f64::from(y[r * n + c]);
                                    assert!(
                                        (got - want).abs() <= 1e-5,
                                        "{level:?} k {k} n {n} rows {rows} ({r}, {c}): {got} vs {want}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn shapes_it_does_not_fit_and_avx512_take_no_kernel() {
        let level = Level::Avx2;
        let (x, w) = (values(64 * 4, 1), values(64 * 16, 2));
        let mut y = vec![0.0; 64];
        if cpu::supports(Level::Avx512) {
            assert!(!product_f32(Level::Avx512, &x, 64, &w, None, &mut y[..40], 64, 10));
        }
        // Sixteen or eight outputs, too few inputs, inputs not a whole register, `x` too short.
        assert!(!product_f32(level, &x, 64, &w, None, &mut y[..64], 64, 16));
        assert!(!product_f32(level, &x, 64, &w, None, &mut y[..32], 64, 8));
        assert!(!product_f32(level, &x, 16, &w, None, &mut y[..40], 16, 10));
        assert!(!product_f32(level, &x, 60, &w, None, &mut y[..40], 60, 10));
        assert!(!product_f32(level, &x[..200], 64, &w, None, &mut y[..40], 64, 10));
        assert!(y.iter().all(|&v| v == 0.0));
    }
}
