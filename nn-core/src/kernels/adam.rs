//! Adam's update of `f32` weights, a register at a time.
//!
//! Per weight, Adam takes one square root and one division (`m · α / (√v + ε)`). Both run on
//! the one divider, which a 512-bit register occupies for several cycles: in the digits MLP's
//! step the update waited on it for 1.3 µs of 11.5. The kernel here leaves the divider the
//! square root only (correctly rounded) and takes the quotient from the FMA units'
//! approximate reciprocal, refined by one Newton step: `q = n · rcp(d)` corrected by
//! `(n - q · d) · rcp(d)`, so the two units work side by side. For the MLP's 4,810 weights,
//! 1.5 µs became 1.2 µs; with the square root also from the FMA units (`v · rsqrt(v)`, refined)
//! the update was one chain so long that it waited on its latency, at 1.5 µs. The result is
//! within a few units in the last place of the correctly rounded one (tested to 4: the
//! approximate reciprocal's tables differ between CPU makers); `m` and `v` are rounded exactly
//! as Keras's operations round them, so they are the portable loop's bit for bit.
//!
//! AVX2 keeps the portable loop (compiled for AVX2 by the optimizer's caller): in 256-bit
//! registers the same kernel was slower than it (BENCHMARKS.md).

use super::cpu::Level;

/// Adam's first moments smaller than this (2⁻¹⁰⁰) in magnitude are zero, in the kernel and in
/// the portable loop alike. The first moment of a weight whose gradient stopped (a dead ReLU
/// unit's) decays by β₁ a step, into values whose products with `α` and then with `1 - β₁`
/// are subnormal: x86 cores take those in microcode, and an instruction with one subnormal
/// lane takes the slow path for all of them (the digits MLP's step: BENCHMARKS.md). A moment
/// below 2⁻¹⁰⁰ moves its weight by less than 2⁻⁷⁶ times the learning rate a step (for Keras's
/// ε = 1e-7), and 2⁻¹⁰⁰ keeps `m · α` normal for any `α` from 2⁻²⁶ (1.5e-8) up. The second
/// moment is left alone: it decays by β₂ = 0.999, slowly enough that flushing it too cost
/// more than it saved.
pub(crate) const FLUSH: f64 = 7.888_609_052_210_118e-31;

/// One Adam step's scalars, as Keras's `update_step` computes them.
#[derive(Clone, Copy, Debug)]
pub struct AdamStep<T> {
    /// `lr · √(1 - β₂ᵗ) / (1 - β₁ᵗ)`.
    pub alpha: T,
    /// `1 - β₁`.
    pub one_minus_beta_1: T,
    /// `1 - β₂`.
    pub one_minus_beta_2: T,
    /// `ε`.
    pub epsilon: T,
}

/// `m += (g - m)(1 - β₁)`, `v += (g² - v)(1 - β₂)`, `w -= m · α / (√v + ε)` over the slices
/// with the `f32` kernel for `level`. Returns `false`, touching nothing, where `level` has no
/// kernel on this CPU or the slices differ in length: the caller then runs its own loop.
#[inline(always)]
pub(crate) fn adam_f32(
    level: Level,
    k: &AdamStep<f32>,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) -> bool {
    let n = w.len();
    if g.len() != n || m.len() != n || v.len() != n {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let (w, g, m, v) = (w.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr(), v.as_mut_ptr());
        if level >= Level::Avx512 && super::cpu::supports(Level::Avx512) {
            // SAFETY: the CPU has AVX-512F, AVX2 and FMA; the four slices hold `n` values.
            unsafe { x86::adam512(k, n, w, g, m, v) };
            return true;
        }
    }
    let _ = (level, k, w, g, m, v);
    false
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::AdamStep;
    use crate::kernels::x86::{F32Math, F32x16};

    /// `x`, or zero where smaller than [`super::FLUSH`] in magnitude (NaN stays).
    #[inline(always)]
    unsafe fn flush<V: F32Math>(x: V) -> V {
        // SAFETY: the caller runs under the registers' instruction set.
        unsafe { V::select_lt(V::abs(x), V::set(super::FLUSH as f32), V::set(0.0), x) }
    }

    /// `n / d` from the approximate reciprocal, refined once; where `d` is infinite or NaN, the
    /// reciprocal's own `n · 0` or NaN.
    #[inline(always)]
    unsafe fn quotient<V: F32Math>(n: V, d: V) -> V {
        // SAFETY: the caller runs under the registers' instruction set.
        unsafe {
            let r = V::rcp(d);
            let q = V::mul(n, r);
            V::select_lt(d, V::set(f32::INFINITY), V::fmadd(V::fnmadd(q, d, n), r, q), q)
        }
    }

    /// The update of weights `i..i + count`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn lanes<V: F32Math>(
        k: &AdamStep<f32>,
        i: usize,
        count: usize,
        w: *mut f32,
        g: *const f32,
        m: *mut f32,
        v: *mut f32,
    ) {
        // SAFETY: the caller keeps `i + count` values in each slice; masks keep every access
        // within `count`.
        unsafe {
            let mask = V::mask(count);
            let whole = count >= V::LANES;
            let ld = |p: *const f32| if whole { V::load(p.add(i)) } else { V::load_masked(p.add(i), mask) };
            let st = |p: *mut f32, x: V| {
                if whole { V::store(p.add(i), x) } else { V::store_masked(p.add(i), mask, x) }
            };
            let gi = ld(g);
            // Keras's order of operations, each rounded: `m + (g - m) · (1 - β₁)`.
            let mi = ld(m);
            let mi = flush(V::add(mi, V::mul(V::sub(gi, mi), V::set(k.one_minus_beta_1))));
            let vi = ld(v);
            let vi = V::add(vi, V::mul(V::sub(V::mul(gi, gi), vi), V::set(k.one_minus_beta_2)));
            st(m, mi);
            st(v, vi);
            let step = quotient(V::mul(mi, V::set(k.alpha)), V::add(V::sqrt(vi), V::set(k.epsilon)));
            st(w, V::sub(ld(w), step));
        }
    }

    #[inline(always)]
    unsafe fn adam<V: F32Math>(
        k: &AdamStep<f32>,
        n: usize,
        w: *mut f32,
        g: *const f32,
        m: *mut f32,
        v: *mut f32,
    ) {
        let mut i = 0;
        while i < n {
            // SAFETY: passed on from the caller, `i < n`.
            unsafe { lanes::<V>(k, i, (n - i).min(V::LANES), w, g, m, v) };
            i += V::LANES;
        }
    }

    /// [`adam`] in AVX-512 registers.
    ///
    /// # Safety
    /// AVX-512F, AVX2 and FMA must be available; `w`, `g`, `m` and `v` hold `n` values.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn adam512(
        k: &AdamStep<f32>,
        n: usize,
        w: *mut f32,
        g: *const f32,
        m: *mut f32,
        v: *mut f32,
    ) {
        // SAFETY: passed on from the caller.
        unsafe { adam::<F32x16>(k, n, w, g, m, v) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::cpu;
    use alloc::vec::Vec;

    /// Keras's update in `f64`, rounded once to `f32` per operation as Keras's `f32` ops are
    /// (except the quotient, which is the one the kernel approximates).
    fn reference(k: &AdamStep<f32>, w: f32, g: f32, m: f32, v: f32) -> (f32, f32, f32) {
        let flush = |x: f32| if x.abs() < FLUSH as f32 { 0.0 } else { x };
        let m = flush(m + (g - m) * k.one_minus_beta_1);
        let v = v + (g * g - v) * k.one_minus_beta_2;
        (w - m * k.alpha / (v.sqrt() + k.epsilon), m, v)
    }

    fn ulps(a: f32, b: f32) -> u32 {
        if a == b || (a.is_nan() && b.is_nan()) {
            return 0;
        }
        if a.is_sign_negative() != b.is_sign_negative() || !a.is_finite() || !b.is_finite() {
            return u32::MAX;
        }
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn the_avx512_kernel_matches_the_exact_update_to_a_few_ulps_and_writes_nothing_past_the_end() {
        let k = AdamStep { alpha: 1.3e-3, one_minus_beta_1: 0.1, one_minus_beta_2: 1e-3, epsilon: 1e-7 };
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / 16_777_216.0 - 0.5
        };
        // Gradients and moments over many magnitudes, with the edge values the square root and
        // the quotient handle apart: zero (a first step), subnormals, infinity and NaN.
        let edges = [0.0, -0.0, 1e-40, f32::MIN_POSITIVE, 3e19, f32::INFINITY, f32::NAN];
        let n = 300;
        let g0: Vec<f32> = (0..n)
            .map(|i| {
                if i % 11 == 3 { edges[i / 11 % edges.len()] } else { next() * 10f32.powi(i as i32 % 9 - 6) }
            })
            .collect();
        // First moments that decay onto either side of `FLUSH` under a zero gradient.
        let g0: Vec<f32> = g0.iter().enumerate().map(|(i, &g)| if i % 17 == 8 { 0.0 } else { g }).collect();
        let tiny = [1e-30, -1e-30, 8e-31, 1e-31, -1e-31, f32::MIN_POSITIVE];
        let m0: Vec<f32> = (0..n)
            .map(|i| match i {
                _ if i % 17 == 8 => tiny[i / 17 % tiny.len()],
                _ if i % 13 == 5 => 0.0,
                _ => next() * 1e-2,
            })
            .collect();
        let v0: Vec<f32> = (0..n).map(|i| if i % 7 == 2 { 0.0 } else { (next() * 1e-2).abs() }).collect();
        // Zero weights: the new weight is then minus the step, exactly.
        let w0 = alloc::vec![0.0f32; n];
        if cpu::supports(Level::Avx512) {
            check(Level::Avx512, &k, &w0, &g0, &m0, &v0);
        }
        // The reference flushes what it should: `m · 0.9` from 1e-30 stays, from 8e-31 does not.
        assert!(reference(&k, 0.0, 0.0, 1e-30, 1.0).1 > 8e-31);
        assert_eq!(reference(&k, 0.0, 0.0, 8e-31, 1.0).1.to_bits(), 0);
    }

    fn check(level: Level, k: &AdamStep<f32>, w0: &[f32], g0: &[f32], m0: &[f32], v0: &[f32]) {
        let n = w0.len();
        for len in (0..40).chain([n - 1]) {
            let (mut w, mut m, mut v) = (w0.to_vec(), m0.to_vec(), v0.to_vec());
            assert!(adam_f32(level, k, &mut w[..len], &g0[..len], &mut m[..len], &mut v[..len]));
            for i in 0..len {
                let (want_w, want_m, want_v) = reference(k, w0[i], g0[i], m0[i], v0[i]);
                assert_eq!(
                    (m[i].to_bits(), v[i].to_bits()),
                    (want_m.to_bits(), want_v.to_bits()),
                    "{level:?} {i}"
                );
                assert!(
                    ulps(w[i], want_w) <= 4,
                    "{level:?} len {len} [{i}]: g {} m {} v {}: {} vs {}",
                    g0[i],
                    m0[i],
                    v0[i],
                    w[i],
                    want_w
                );
            }
            assert_eq!((&w[len..], &m[len..], &v[len..]), (&w0[len..], &m0[len..], &v0[len..]));
        }
    }

    #[test]
    fn no_kernel_below_avx512_or_for_slices_of_different_lengths() {
        let k = AdamStep { alpha: 1.0, one_minus_beta_1: 0.1, one_minus_beta_2: 1e-3, epsilon: 1e-7 };
        let (mut w, mut m, mut v) = ([1.0f32; 4], [0.0f32; 4], [0.0f32; 4]);
        assert!(!adam_f32(Level::Portable, &k, &mut w, &[1.0; 4], &mut m, &mut v));
        assert!(!adam_f32(Level::Avx2, &k, &mut w, &[1.0; 4], &mut m, &mut v));
        assert!(!adam_f32(Level::Avx512, &k, &mut w, &[1.0; 3], &mut m, &mut v));
        assert_eq!(w, [1.0; 4]);
    }
}
