//! The recurrent cells' gates with Keras's default activations (`sigmoid` gates, `tanh`
//! candidate), after the projections: activation and state update in one pass over the units.
//!
//! The portable cells activate each gate with a loop over its units, which LLVM unrolls at the
//! small constant sizes of a cell (8 to 16 units) before its loop vectorizer sees it, and the
//! SLP vectorizer leaves the `exp` and `tanh` approximations scalar. The `f32` kernels here
//! (x86-64, in `super::x86`) compute the same `tanh` (`crate::approx`) a register of units at a
//! time, and the gates' sigmoid as half a `tanh` (`approx::SIGMOID_CLAMP`): results agree with
//! the portable path to 2e-6 and with exact activations to 4e-7.

use super::cpu::Level;

/// Which cell's gates: the layout of the projections `x` (the input's, bias included) and `s`
/// (the state's), `gates · n` values each in Keras's gate order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gates {
    /// `SimpleRNN`: `h = tanh(x + s)`.
    Simple,
    /// `GRU` with `reset_after`, gates `z, r, h̃`: `z = σ(x_z + s_z)`, `r = σ(x_r + s_r)`,
    /// `h̃ = tanh(x_h + r · s_h)`, `h = z · h + (1 - z) · h̃`.
    Gru,
    /// `LSTM`, gates `i, f, c̃, o`: `c = σ(f) · c + σ(i) · tanh(c̃)`, `h = σ(o) · tanh(c)`,
    /// each gate `x + s`.
    Lstm,
}

impl Gates {
    /// Gates per unit: the projections hold `gates() · n` values.
    pub const fn gates(self) -> usize {
        match self {
            Gates::Simple => 1,
            Gates::Gru => 3,
            Gates::Lstm => 4,
        }
    }
}

/// Runs `kind`'s gates over `h.len()` units with the `f32` kernel for `level`, updating `h` (and
/// `c` for LSTM). Returns `false`, touching nothing, where `level` has no kernel on this CPU or
/// the slices are too short: the caller then runs its portable loops.
#[inline(always)]
pub(crate) fn cell_f32(
    level: Level,
    kind: Gates,
    x: &[f32],
    s: &[f32],
    h: &mut [f32],
    c: &mut [f32],
) -> bool {
    let n = h.len();
    let width = kind.gates() * n;
    if n == 0 || x.len() < width || s.len() < width || (kind == Gates::Lstm && c.len() < n) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let (x, s, h, c) = (x.as_ptr(), s.as_ptr(), h.as_mut_ptr(), c.as_mut_ptr());
        if level >= Level::Avx512 && super::cpu::supports(Level::Avx512) {
            // SAFETY: the CPU has AVX-512F; the lengths were checked above.
            unsafe { super::x86::cell512(kind, n, x, s, h, c) };
            return true;
        }
        if level >= Level::Avx2 && super::cpu::supports(Level::Avx2) {
            // SAFETY: as above, with AVX2 and FMA.
            unsafe { super::x86::cell256(kind, n, x, s, h, c) };
            return true;
        }
    }
    let _ = (level, c);
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activations::{ActivationFn, Sigmoid, Tanh};
    use crate::kernels::cpu;

    /// Deterministic values over `-span..span`, with a few exact zeros.
    fn fill(out: &mut [f32], seed: u32, span: f32) {
        let mut s = seed;
        for (i, v) in out.iter_mut().enumerate() {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = if i % 29 == 3 { 0.0 } else { ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 2.0 * span };
        }
    }

    /// The portable cells' arithmetic, as `layers::recurrent` runs it.
    fn portable(kind: Gates, x: &[f32], s: &[f32], h: &mut [f32], c: &mut [f32]) {
        let n = h.len();
        let mut pre: [f32; 4 * 70] = [0.0; 4 * 70];
        let pre = &mut pre[..kind.gates() * n];
        for ((p, xv), sv) in pre.iter_mut().zip(x).zip(s) {
            *p = *sv + *xv;
        }
        match kind {
            Gates::Simple => {
                Tanh.apply_rows(pre, n);
                h.copy_from_slice(pre);
            }
            Gates::Gru => {
                Sigmoid.apply_rows(&mut pre[..2 * n], n);
                for j in 0..n {
                    pre[2 * n + j] = x[2 * n + j] + pre[n + j] * s[2 * n + j];
                }
                Tanh.apply_rows(&mut pre[2 * n..], n);
                for j in 0..n {
                    let z = pre[j];
                    h[j] = z * h[j] + (1.0 - z) * pre[2 * n + j];
                }
            }
            Gates::Lstm => {
                Sigmoid.apply_rows(pre, n);
                let mut g = [0.0f32; 70];
                for j in 0..n {
                    g[j] = x[2 * n + j] + s[2 * n + j];
                }
                Tanh.apply_rows(&mut g[..n], n);
                for j in 0..n {
                    c[j] = pre[n + j] * c[j] + pre[j] * g[j];
                }
                let mut t = [0.0f32; 70];
                t[..n].copy_from_slice(&c[..n]);
                Tanh.apply_rows(&mut t[..n], n);
                for j in 0..n {
                    h[j] = pre[3 * n + j] * t[j];
                }
            }
        }
    }

    fn close(got: f32, want: f32) -> bool {
        (got.is_nan() && want.is_nan()) || (got - want).abs() <= 2e-6 * want.abs().max(1.0)
    }

    #[test]
    fn every_level_agrees_with_the_portable_cells_at_every_length() {
        for kind in [Gates::Simple, Gates::Gru, Gates::Lstm] {
            for n in 1..=70 {
                // Small and saturating pre-activations: past the exp and tanh clamps too.
                for (seed, span) in [(1, 3.0), (2, 40.0), (3, 300.0)] {
                    let (mut x, mut s) = ([0.0f32; 4 * 70 + 1], [0.0f32; 4 * 70 + 1]);
                    fill(&mut x, seed, span);
                    fill(&mut s, seed + 10, span);
                    let (mut h0, mut c0) = ([0.0f32; 71], [0.0f32; 71]);
                    fill(&mut h0, seed + 20, 1.0);
                    fill(&mut c0, seed + 30, 5.0);
                    let w = kind.gates() * n;
                    let (mut want_h, mut want_c) = (h0, c0);
                    portable(kind, &x[..w], &s[..w], &mut want_h[..n], &mut want_c[..n]);
                    for level in [Level::Avx2, Level::Avx512] {
                        if !cpu::supports(level) {
                            continue;
                        }
                        let (mut h, mut c) = (h0, c0);
                        assert!(cell_f32(level, kind, &x[..w], &s[..w], &mut h[..n], &mut c[..n]));
                        for j in 0..n {
                            assert!(
                                close(h[j], want_h[j]),
                                "{level:?} {kind:?} n={n} h[{j}]: {} vs {}",
                                h[j],
                                want_h[j]
                            );
                            assert!(
                                close(c[j], want_c[j]),
                                "{level:?} {kind:?} n={n} c[{j}]: {} vs {}",
                                c[j],
                                want_c[j]
                            );
                        }
                        // Nothing past the units is written.
                        assert_eq!((h[n], c[n]), (h0[n], c0[n]), "{level:?} {kind:?} n={n}");
                    }
                }
            }
        }
    }

    /// The kernels' activations against `f64`'s, read through the cells: `Simple` with `s = 0`
    /// is `tanh(x)`, and `GRU` with the candidate's pre-activations and `s` zero and `h = 1` is
    /// `σ(x_z)` (`z · 1 + (1 - z) · tanh(0)`).
    #[test]
    fn the_kernels_activations_are_as_close_to_exact_as_the_scalar_tanh() {
        for level in [Level::Avx2, Level::Avx512] {
            if !cpu::supports(level) {
                continue;
            }
            let (mut worst_sigmoid, mut worst_tanh) = (0.0f64, 0.0f64);
            for i in -40_000..=40_000 {
                let v = i as f32 * 5e-4;
                // Past the rational's range too (±15.8 for the sigmoid, ±7.9 for tanh).
                let x = [v * 1e-3, v, v * 0.3, 4.0 * v, 0.0, 0.0, 0.0, 0.0];
                let mut h = [1.0f32; 8];
                let (mut xg, s) = ([0.0f32; 24], [0.0f32; 24]);
                xg[..8].copy_from_slice(&x);
                assert!(cell_f32(level, Gates::Gru, &xg, &s, &mut h, &mut []));
                let mut t = [0.0f32; 8];
                assert!(cell_f32(level, Gates::Simple, &x, &s[..8], &mut t, &mut []));
                for j in 0..4 {
                    let exact = 1.0 / (1.0 + (-(x[j] as f64)).exp());
                    worst_sigmoid = worst_sigmoid.max((h[j] as f64 - exact).abs());
                    let exact = (x[j] as f64).tanh();
                    let err = (t[j] as f64 - exact).abs();
                    worst_tanh = worst_tanh.max(err);
                    // Near zero, tanh keeps its relative accuracy.
                    assert!(
                        err <= 4.0 * f32::EPSILON as f64 * exact.abs().max(1e-30),
                        "{level:?} tanh({})",
                        x[j]
                    );
                }
            }
            // `approx::tanh_f32` itself is 3.5e-7 off at |x| ≈ 5.75; the sigmoid is half of a
            // tanh.
            assert!(worst_sigmoid <= 2.5e-7, "{level:?} sigmoid off by {worst_sigmoid:e}");
            assert!(worst_tanh <= 4e-7, "{level:?} tanh off by {worst_tanh:e}");
        }
    }

    #[test]
    fn nan_and_infinite_inputs_behave_as_the_portable_cells() {
        for kind in [Gates::Simple, Gates::Gru, Gates::Lstm] {
            let n = 19;
            let w = kind.gates() * n;
            let mut x = [0.5f32; 4 * 19];
            let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1e-30, -1e-30, 1e30, -1e30];
            for (j, v) in x.iter_mut().enumerate() {
                if j % 3 == 0 {
                    *v = specials[(j / 3) % specials.len()];
                }
            }
            let s = [0.25f32; 4 * 19];
            let (h0, c0) = ([0.3f32; 19], [-0.7f32; 19]);
            let (mut want_h, mut want_c) = (h0, c0);
            portable(kind, &x[..w], &s[..w], &mut want_h, &mut want_c);
            for level in [Level::Avx2, Level::Avx512] {
                if !cpu::supports(level) {
                    continue;
                }
                let (mut h, mut c) = (h0, c0);
                assert!(cell_f32(level, kind, &x[..w], &s[..w], &mut h, &mut c));
                for j in 0..n {
                    assert!(close(h[j], want_h[j]), "{level:?} {kind:?} h[{j}]: {} vs {}", h[j], want_h[j]);
                    assert!(close(c[j], want_c[j]), "{level:?} {kind:?} c[{j}]: {} vs {}", c[j], want_c[j]);
                }
            }
        }
    }

    #[test]
    fn the_portable_level_and_short_slices_fall_back() {
        let (x, s) = ([0.0f32; 6], [0.0f32; 6]);
        let (mut h, mut c) = ([1.0f32; 2], [1.0f32; 2]);
        assert!(!cell_f32(Level::Portable, Gates::Gru, &x, &s, &mut h, &mut c));
        assert!(!cell_f32(cpu::level(), Gates::Lstm, &x, &s, &mut h, &mut c));
        assert_eq!((h, c), ([1.0; 2], [1.0; 2]));
    }
}
