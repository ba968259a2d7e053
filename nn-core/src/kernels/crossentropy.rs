//! The sparse categorical cross-entropy over probabilities (`train::loss`'s
//! `sparse_probabilities`) eight rows at a time in AVX2 registers, a row per lane.
//!
//! A row's loss and gradient take four divisions and a logarithm; one row at a time they were
//! scalar divisions and a library call each. Here each lane does what the scalar loop does for
//! its row, operation for operation: the gradient is the loop's bit for bit. The logarithm,
//! which only the loss value takes, is a polynomial ([`x86::ln`], Cephes's `logf`), within
//! two units in the last place of the library's (tested).

use super::cpu::{self, Level};

/// Rows of `last` probabilities `p` (`ids.len()` of them, one class id each, as a float),
/// from the first on, eight at a time: writes the gradient of `ct ×` the loss into `g` and
/// returns how many rows it did and the sum of their losses, added row after row. `lo` and
/// `hi` are the clip's bounds. `None`, touching nothing, where `level` has no AVX2 on this
/// CPU or the slices do not fit.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn sparse_probabilities_f32(
    level: Level,
    ids: &[f32],
    p: &[f32],
    last: usize,
    g: &mut [f32],
    ct: f32,
    lo: f32,
    hi: f32,
) -> Option<(usize, f32)> {
    let rows = ids.len() / 8 * 8;
    let fits = rows > 0
        && last > 0
        && p.len() == ids.len() * last
        && g.len() == p.len()
        && i32::try_from(p.len()).is_ok();
    if !fits || level < Level::Avx2 || !cpu::supports(Level::Avx2) {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let bounds = x86::Rows { last, ct, lo, hi };
        // SAFETY: the CPU has AVX2 and FMA; `ids` holds `rows` ids, `p` and `g` `rows · last`
        // values (checked above), and every index a gather forms is below `p.len()`, which
        // fits an `i32`.
        let loss = unsafe { x86::rows(ids.as_ptr(), p.as_ptr(), g.as_mut_ptr(), rows, &bounds) };
        Some((rows, loss))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (p, g, ct, lo, hi);
        None
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    /// The rows' shape and the loss's scalars.
    pub(super) struct Rows {
        pub last: usize,
        pub ct: f32,
        pub lo: f32,
        pub hi: f32,
    }

    /// `ln x` for `x` from the smallest normal value up (NaN stays NaN): Cephes's `logf`,
    /// `x = m · 2^e` with `m` in `[√½, √2)`, then `ln m` from a polynomial in `m - 1`.
    #[inline(always)]
    pub(crate) unsafe fn ln(x: __m256) -> __m256 {
        const POLY: [f32; 9] = [
            7.037_683_6e-2,
            -1.151_461e-1,
            1.167_699_9e-1,
            -1.242_014_1e-1,
            1.424_932_3e-1,
            -1.666_805_8e-1,
            2.000_071_4e-1,
            -2.499_999_4e-1,
            3.333_333e-1,
        ];
        // SAFETY: the caller runs under AVX2 and FMA.
        unsafe {
            let c = |v: f32| _mm256_set1_ps(v);
            let bits = _mm256_castps_si256(x);
            let exponent = _mm256_sub_epi32(_mm256_srli_epi32::<23>(bits), _mm256_set1_epi32(127));
            let mut e = _mm256_cvtepi32_ps(exponent);
            // The mantissa in [0.5, 1): the exponent's bits of 0.5.
            let mantissa = _mm256_or_si256(
                _mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff)),
                _mm256_set1_epi32(0x3f00_0000),
            );
            let m = _mm256_castsi256_ps(mantissa);
            e = _mm256_add_ps(e, c(1.0));
            // Below √½, take 2m and one less in the exponent.
            let small = _mm256_cmp_ps::<_CMP_LT_OQ>(m, c(core::f32::consts::FRAC_1_SQRT_2));
            let m = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(small, m)), c(1.0));
            e = _mm256_sub_ps(e, _mm256_and_ps(small, c(1.0)));
            let z = _mm256_mul_ps(m, m);
            let mut y = c(POLY[0]);
            for &k in &POLY[1..] {
                y = _mm256_fmadd_ps(y, m, c(k));
            }
            y = _mm256_mul_ps(_mm256_mul_ps(y, m), z);
            y = _mm256_fmadd_ps(e, c(-2.121_944_4e-4), y);
            y = _mm256_fnmadd_ps(z, c(0.5), y);
            let r = _mm256_fmadd_ps(e, c(0.693_359_4), _mm256_add_ps(m, y));
            let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
            _mm256_blendv_ps(r, x, nan)
        }
    }

    /// `jnp.clip(q, lo, hi)` and the factor its gradient passes, as `loss::clip` computes them
    /// lane by lane (ordered comparisons: NaN passes through with factor one).
    #[inline(always)]
    unsafe fn clip(q: __m256, lo: __m256, hi: __m256) -> (__m256, __m256) {
        // SAFETY: the caller runs under AVX2.
        unsafe {
            let (half, one) = (_mm256_set1_ps(0.5), _mm256_set1_ps(1.0));
            let below = _mm256_cmp_ps::<_CMP_LT_OQ>(q, lo);
            let at_lo = _mm256_cmp_ps::<_CMP_EQ_OQ>(q, lo);
            let x = _mm256_blendv_ps(q, lo, _mm256_or_ps(below, at_lo));
            let low = _mm256_blendv_ps(_mm256_blendv_ps(one, half, at_lo), _mm256_setzero_ps(), below);
            let above = _mm256_cmp_ps::<_CMP_GT_OQ>(x, hi);
            let at_hi = _mm256_cmp_ps::<_CMP_EQ_OQ>(x, hi);
            let x = _mm256_blendv_ps(x, hi, _mm256_or_ps(above, at_hi));
            let high = _mm256_blendv_ps(_mm256_blendv_ps(one, half, at_hi), _mm256_setzero_ps(), above);
            (x, _mm256_mul_ps(low, high))
        }
    }

    /// The first `rows` rows (a multiple of eight): see [`super::sparse_probabilities_f32`].
    ///
    /// # Safety
    /// AVX2 and FMA must be available; `ids` holds `rows` values, `p` and `g` `rows · last`,
    /// and `rows · last` fits an `i32`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn rows(ids: *const f32, p: *const f32, g: *mut f32, rows: usize, s: &Rows) -> f32 {
        use crate::kernels::transpose::x86::eight;
        let last = s.last;
        let mut loss = 0.0f32;
        // SAFETY: every access below is within the rows the caller vouches for; a gather reads
        // `p[(r0 + j) · last + c]` for `c < last`, and only the lanes of a valid class.
        unsafe {
            let zero = _mm256_setzero_ps();
            let (lo, hi) = (_mm256_set1_ps(s.lo), _mm256_set1_ps(s.hi));
            let step = last as i32;
            let starts =
                _mm256_setr_epi32(0, step, 2 * step, 3 * step, 4 * step, 5 * step, 6 * step, 7 * step);
            for r0 in (0..rows).step_by(8) {
                let base = p.add(r0 * last);
                // The total in the scalar loop's order, from zero.
                let mut total = zero;
                // The first eight columns through a transpose of the rows' first registers, the
                // rest gathered.
                let mut first = 0;
                if last >= 8 {
                    let mut heads = [zero; 8];
                    for (j, h) in heads.iter_mut().enumerate() {
                        *h = _mm256_loadu_ps(base.add(j * last));
                    }
                    for column in eight(heads) {
                        total = _mm256_add_ps(total, column);
                    }
                    first = 8;
                }
                for c in first..last {
                    total = _mm256_add_ps(total, _mm256_i32gather_ps::<4>(base.add(c), starts));
                }
                let inv_total_sq = _mm256_div_ps(_mm256_set1_ps(1.0), _mm256_mul_ps(total, total));
                // `class_of`: `-1 < id < last`, truncated towards zero.
                let id = _mm256_loadu_ps(ids.add(r0));
                let valid = _mm256_and_ps(
                    _mm256_cmp_ps::<_CMP_GT_OQ>(id, _mm256_set1_ps(-1.0)),
                    _mm256_cmp_ps::<_CMP_LT_OQ>(id, _mm256_set1_ps(last as f32)),
                );
                let class = _mm256_and_si256(_mm256_cvttps_epi32(id), _mm256_castps_si256(valid));
                let x = _mm256_mask_i32gather_ps::<4>(zero, base, _mm256_add_epi32(starts, class), valid);
                let (c, pass) = clip(_mm256_div_ps(x, total), lo, hi);
                let ct_p = _mm256_mul_ps(_mm256_div_ps(_mm256_set1_ps(-s.ct * 1.0), c), pass);
                let minus =
                    _mm256_xor_ps(_mm256_mul_ps(_mm256_mul_ps(ct_p, inv_total_sq), x), _mm256_set1_ps(-0.0));
                let ct_total = _mm256_and_ps(_mm256_add_ps(zero, minus), valid);
                let own = _mm256_and_ps(_mm256_div_ps(ct_p, total), valid);
                let logs = _mm256_and_ps(ln(c), valid);
                let mut lanes = [[0.0f32; 8]; 3];
                _mm256_storeu_ps(lanes[0].as_mut_ptr(), ct_total);
                _mm256_storeu_ps(lanes[1].as_mut_ptr(), own);
                _mm256_storeu_ps(lanes[2].as_mut_ptr(), logs);
                let mut classes = [0i32; 8];
                _mm256_storeu_si256(classes.as_mut_ptr().cast(), class);
                let valid = _mm256_movemask_ps(valid);
                for j in 0..8 {
                    let row = g.add((r0 + j) * last);
                    let total = 0.0 + lanes[0][j];
                    let whole = last / 8 * 8;
                    for i in (0..whole).step_by(8) {
                        _mm256_storeu_ps(row.add(i), _mm256_set1_ps(total));
                    }
                    for i in whole..last {
                        *row.add(i) = total;
                    }
                    if valid & (1 << j) != 0 {
                        *row.add(classes[j] as usize) = lanes[1][j] + lanes[0][j];
                    }
                    // The scalar loop's `sum = 0 + 1 · ln c` (zero without a class), then `-sum`.
                    loss += -(0.0 + 1.0 * lanes[2][j]);
                }
            }
        }
        loss
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn the_logarithm_is_within_two_ulps_of_the_library_s() {
        if !cpu::supports(Level::Avx2) {
            return;
        }
        let mut xs: Vec<f32> =
            (0..20_000).map(|i| 1e-7f32 * 1.0009f32.powi(i)).filter(|&x| x <= 1.0).collect();
        // Both sides of the mantissa's split at √½, and the clip's bounds.
        let split = core::f32::consts::FRAC_1_SQRT_2;
        let below = f32::from_bits(split.to_bits() - 1);
        xs.extend([f32::MIN_POSITIVE, 0.5, below, split, 1.0 - 1e-7, 1.0, 2.0, 1e30]);
        for chunk in xs.chunks(8) {
            let mut v = [1.0f32; 8];
            v[..chunk.len()].copy_from_slice(chunk);
            let mut out = [0.0f32; 8];
            // SAFETY: the CPU has AVX2 (checked above).
            unsafe { ln_avx2(&v, &mut out) };
            for (x, got) in v.iter().zip(out) {
                let want = x.ln();
                let ulps = (got.to_bits() as i64 - want.to_bits() as i64).abs();
                assert!(
                    ulps <= 2 || (got - want).abs() <= 1e-7 * want.abs().max(f32::MIN_POSITIVE),
                    "ln {x}: {got} against {want}"
                );
            }
        }
        let mut out = [0.0f32; 8];
        // SAFETY: as above.
        unsafe { ln_avx2(&[f32::NAN; 8], &mut out) };
        assert!(out.iter().all(|v| v.is_nan()));
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn ln_avx2(x: &[f32; 8], out: &mut [f32; 8]) {
        use core::arch::x86_64::*;
        // SAFETY: AVX2 and FMA are enabled; both arrays hold eight values.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), x86::ln(_mm256_loadu_ps(x.as_ptr()))) };
    }
}
