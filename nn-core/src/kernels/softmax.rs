//! Softmax over short rows (a classifier's ten classes), a row per register.
//!
//! The portable softmax reduces each row through an array of sixteen lanes folded by halves.
//! LLVM vectorized that across the rows around it instead, a lane per row, so each of a row's
//! values took a gather and, in the backward pass, a scatter: the digits MLP's ten-class
//! softmax, forward and back, cost 0.5 µs of an 11 µs training step. The `f32` kernels here
//! load a row of up to sixteen values into one 512-bit register (two 256-bit ones), fold it
//! in the same pairwise order, and give the portable loop's results bit for bit.

use super::cpu::Level;

/// The longest row the kernels take: the portable fold's sixteen lanes.
pub(crate) const SHORT_ROW: usize = 16;

/// The softmax of `x`'s rows of `last` values into `y` with the `f32` kernel for `level`: each
/// row shifted by its maximum, exponentiated (`approx::exp_f32`) and scaled by the reciprocal
/// of its sum, in registers from load to store. Returns `false`, touching nothing, where
/// `level` has no kernel on this CPU, the rows are longer than [`SHORT_ROW`] or the slices
/// differ in length.
#[inline(always)]
pub(crate) fn softmax_f32(level: Level, x: &[f32], y: &mut [f32], last: usize) -> bool {
    if last == 0 || last > SHORT_ROW || x.len() != y.len() {
        return false;
    }
    // SAFETY: `x` and `y` are two slices of the same length; the kernel reads each row of `x`
    // before it writes that row of `y`, so it also runs in place (`in_place_f32`).
    unsafe { softmax_raw(level, x.as_ptr(), y.as_mut_ptr(), x.len() / last, last) }
}

/// [`softmax_f32`] in place.
#[inline(always)]
pub(crate) fn in_place_f32(level: Level, x: &mut [f32], last: usize) -> bool {
    if last == 0 || last > SHORT_ROW {
        return false;
    }
    let p = x.as_mut_ptr();
    // SAFETY: as in `softmax_f32`, with `x` both source and destination.
    unsafe { softmax_raw(level, p, p, x.len() / last, last) }
}

/// # Safety
/// `x` and `y` hold `rows · last` values each, `last <= SHORT_ROW`; they are the same or apart.
#[inline(always)]
unsafe fn softmax_raw(level: Level, x: *const f32, y: *mut f32, rows: usize, last: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if level >= Level::Avx512 && super::cpu::supports(Level::Avx512) {
            // SAFETY: the CPU has AVX-512F, AVX2 and FMA; sizes as the caller promised.
            unsafe { x86::softmax512(x, y, rows, last) };
            return true;
        }
        if level >= Level::Avx2 && super::cpu::supports(Level::Avx2) {
            // SAFETY: as above, with AVX2 and FMA.
            unsafe { x86::softmax256(x, y, rows, last) };
            return true;
        }
    }
    let _ = (level, x, y, rows, last);
    false
}

/// The softmax's backward pass over rows of `last` values with the `f32` kernel for `level`:
/// `dy ← y ⊙ (dy - Σ dy ⊙ y)` on each row. Returns `false`, touching nothing, as
/// [`softmax_f32`] does, or where `y` and `dy` differ in length.
#[inline(always)]
pub(crate) fn softmax_backward_f32(level: Level, y: &[f32], dy: &mut [f32], last: usize) -> bool {
    if last == 0 || last > SHORT_ROW || y.len() != dy.len() {
        return false;
    }
    let rows = y.len() / last;
    #[cfg(target_arch = "x86_64")]
    {
        let (y, dy) = (y.as_ptr(), dy.as_mut_ptr());
        if level >= Level::Avx512 && super::cpu::supports(Level::Avx512) {
            // SAFETY: the CPU has AVX-512F, AVX2 and FMA; both slices hold `rows · last` values.
            unsafe { x86::backward512(y, dy, rows, last) };
            return true;
        }
        if level >= Level::Avx2 && super::cpu::supports(Level::Avx2) {
            // SAFETY: as above, with AVX2 and FMA.
            unsafe { x86::backward256(y, dy, rows, last) };
            return true;
        }
    }
    let _ = (level, y, dy, rows);
    false
}

// A group's loops index several arrays of registers by the same row and register.
#[allow(clippy::needless_range_loop)]
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::SHORT_ROW;
    use crate::kernels::x86::{F32Math, F32x8, F32x16, Pieces, exp};

    /// A row of at most [`SHORT_ROW`] values in `SHORT_ROW / LANES` registers, at `p`: `len`
    /// values of it are the row's, and the buffer it lies in runs `room` values from `p`.
    #[derive(Clone, Copy)]
    struct Row {
        p: *mut f32,
        len: usize,
        room: usize,
    }

    impl Row {
        /// Register `j` of the row, `pad` in the lanes past its end.
        ///
        /// # Safety
        /// The row's `len` values are readable.
        #[inline(always)]
        unsafe fn load<V: F32Math>(self, j: usize, pad: V) -> V {
            let at = j * V::LANES;
            if at >= self.len {
                return pad;
            }
            // SAFETY: whole registers where the row holds them, else a mask within it.
            unsafe {
                let p = self.p.add(at);
                if self.len - at >= V::LANES {
                    return V::load(p);
                }
                let m = V::mask(self.len - at);
                V::blend(m, V::load_masked(p, m), pad)
            }
        }

        /// `v` in the lanes of register `j` that hold the row, `pad` in the others.
        #[inline(always)]
        unsafe fn keep<V: F32Math>(self, j: usize, v: V, pad: V) -> V {
            let at = j * V::LANES;
            // SAFETY: the caller runs under the registers' instruction set.
            unsafe {
                if at >= self.len {
                    pad
                } else if self.len - at >= V::LANES {
                    v
                } else {
                    V::blend(V::mask(self.len - at), v, pad)
                }
            }
        }

        /// Register `j` of the row written back over its `len` values.
        ///
        /// # Safety
        /// The row's `len` values are writable, and the `room - len` after them are readable and
        /// not being written by anyone else.
        #[inline(always)]
        unsafe fn store<V: F32Math>(self, j: usize, v: V) {
            let at = j * V::LANES;
            if at >= self.len {
                return;
            }
            // SAFETY: whole registers only where the row (or the buffer after it) holds them;
            // the lanes past the row get back the values they held.
            unsafe {
                let p = self.p.add(at);
                let m = V::mask(self.len - at);
                if self.len - at >= V::LANES {
                    V::store(p, v);
                } else if !V::WIDE && at + V::LANES <= self.room {
                    // AVX2's masked store is microcoded on AMD's cores: blend into what is there.
                    V::store(p, V::blend(m, v, V::load(p)));
                } else {
                    V::store_masked(p, m, v);
                }
            }
        }
    }

    /// `f` over the row's registers, folded into one `f32` as the portable sixteen lanes are:
    /// the registers onto the first, then its lanes by halves.
    #[inline(always)]
    unsafe fn fold<V: F32Math>(regs: &[V], max: bool) -> f32 {
        // SAFETY: the caller runs under the registers' instruction set.
        unsafe {
            let mut v = regs[0];
            for &r in &regs[1..] {
                v = if max { V::max(r, v) } else { V::add(v, r) };
            }
            V::fold(v, max)
        }
    }

    /// Rows processed side by side (`G` in the kernels below): each row is one long chain of
    /// dependent operations (reductions, then `exp`, then another reduction), and a row at a
    /// time left the FMA units waiting on them. Eight rows in AVX-512's 32 registers, four in
    /// AVX2's 16: 32 rows of ten took 420 ns (AVX-512) and 690 ns (AVX2) in groups of eight,
    /// 464 and 596 ns in groups of four.
    const WIDE_GROUP: usize = 8;
    const GROUP: usize = 4;

    /// A pass over the rows, [`in_groups`] of `G` at a time.
    trait Pass {
        /// Rows `first..first + G`, `first + G` at most the pass's rows.
        ///
        /// # Safety
        /// The registers' instruction set is available; the pass's pointers hold its rows.
        unsafe fn group<V: Pieces, const R: usize, const G: usize>(&self, first: usize);
    }

    /// `pass` over `rows` rows, `G` side by side, then the rest one at a time. (A trait, not a
    /// closure: a closure does not inherit the caller's target features, and its intrinsics
    /// were calls.)
    #[inline(always)]
    unsafe fn in_groups<P: Pass, V: Pieces, const R: usize, const G: usize>(pass: &P, rows: usize) {
        let whole = rows / G * G;
        // SAFETY: passed on from the caller; the groups cover `0..rows`.
        unsafe {
            for r in (0..whole).step_by(G) {
                pass.group::<V, R, G>(r);
            }
            for r in whole..rows {
                pass.group::<V, R, 1>(r);
            }
        }
    }

    /// The rows' softmax from `x` into `y` (see `softmax_f32`): a row is loaded, shifted,
    /// exponentiated, summed, scaled and stored without leaving registers. (A pass per step
    /// stored each row and read it back: a row's load then spanned stores still in flight and
    /// waited for them.)
    struct Forward {
        x: *const f32,
        y: *mut f32,
        rows: usize,
        last: usize,
    }

    impl Pass for Forward {
        #[inline(always)]
        unsafe fn group<V: Pieces, const R: usize, const G: usize>(&self, first: usize) {
            let Forward { x, y, rows, last } = *self;
            let total = rows * last;
            // SAFETY: `x` and `y` hold `rows · last` values (the caller's contract) and
            // `first + G <= rows`; the group's rows of `y` are written after its rows of `x` are
            // read, and before the next group's are. (Loops, not closures: a closure does not
            // inherit the caller's target features, and its intrinsics were calls.)
            unsafe {
                let neg = V::set(f32::NEG_INFINITY);
                let mut at = [Row { p: y, len: last, room: 0 }; G];
                let mut regs = [[V::zero(); R]; G];
                for g in 0..G {
                    let r = first + g;
                    at[g] = Row { p: x.add(r * last).cast_mut(), len: last, room: total - r * last };
                    for j in 0..R {
                        regs[g][j] = at[g].load(j, neg);
                    }
                }
                for g in 0..G {
                    let max = V::set(fold(&regs[g], true));
                    for j in 0..R {
                        // The padding's `e^-∞` would be a subnormal (`exp_f32` clamps
                        // first), which AMD's cores compute in microcode, many times slower:
                        // it takes `e^0`, and then zero.
                        regs[g][j] = at[g].keep(j, V::sub(regs[g][j], max), V::zero());
                    }
                }
                exps(&mut regs, &at, last);
                for g in 0..G {
                    let inv = V::set(1.0 / fold(&regs[g], false));
                    let dst = Row { p: y.add((first + g) * last), ..at[g] };
                    for j in 0..R {
                        dst.store(j, V::mul(regs[g][j], inv));
                    }
                }
            }
        }
    }

    /// `e^x` in the lanes of each row's registers (`regs`, shifted, zero in the padding), zero
    /// in the padding. Where a row's values past its first register are few (up to two of four
    /// rows', up to four of two rows': ten or twelve classes in AVX2 registers), they are
    /// gathered into one register for one `exp` rather than one each (`Pieces`).
    #[inline(always)]
    unsafe fn exps<V: Pieces, const R: usize, const G: usize>(
        regs: &mut [[V; R]; G],
        at: &[Row; G],
        last: usize,
    ) {
        let past = last.saturating_sub(V::LANES);
        let quarters = R == 2 && G == 4 && (1..=2).contains(&past);
        let halves = R == 2 && G >= 2 && G.is_multiple_of(2) && (3..=4).contains(&past);
        // `R - 1`, not 1, and rows `% G`: every index must be in bounds for every `R` and `G`,
        // also where the packed paths are never reached (one register a row, one row a group).
        let tail = R - 1;
        // SAFETY: the caller runs under the registers' instruction set.
        unsafe {
            for g in 0..G {
                for j in 0..R {
                    if !(j == tail && (quarters || halves)) {
                        regs[g][j] = at[g].keep(j, exp(regs[g][j]), V::zero());
                    }
                }
            }
            if quarters {
                let e = exp(V::quarters([
                    regs[0][tail],
                    regs[1 % G][tail],
                    regs[2 % G][tail],
                    regs[3 % G][tail],
                ]));
                for g in 0..G {
                    regs[g][tail] = at[g].keep(tail, V::quarter(e, g), V::zero());
                }
            } else if halves {
                for g in (0..G).step_by(2) {
                    let e = exp(V::halves(regs[g][tail], regs[(g + 1) % G][tail]));
                    regs[g][tail] = at[g].keep(tail, V::half(e, 0), V::zero());
                    regs[(g + 1) % G][tail] = at[(g + 1) % G].keep(tail, V::half(e, 1), V::zero());
                }
            }
        }
    }

    /// The softmax's backward pass in place over `dy` (see `softmax_backward_f32`).
    struct Backward {
        y: *const f32,
        dy: *mut f32,
        rows: usize,
        last: usize,
    }

    impl Pass for Backward {
        #[inline(always)]
        unsafe fn group<V: Pieces, const R: usize, const G: usize>(&self, first: usize) {
            let Backward { y, dy, rows, last } = *self;
            let total = rows * last;
            // SAFETY: both hold `rows · last` values (the caller's contract) and `first + G <= rows`;
            // `y` is only read, and the group's rows of `dy` are all read before any is written.
            unsafe {
                let (mut yv, mut dv) = ([[V::zero(); R]; G], [[V::zero(); R]; G]);
                let mut ds = [Row { p: dy, len: last, room: 0 }; G];
                for g in 0..G {
                    let r = first + g;
                    let ys = Row { p: y.add(r * last).cast_mut(), len: last, room: total - r * last };
                    ds[g] = Row { p: dy.add(r * last), ..ys };
                    for j in 0..R {
                        yv[g][j] = ys.load(j, V::zero());
                        dv[g][j] = ds[g].load(j, V::zero());
                    }
                }
                for g in 0..G {
                    let mut products = [V::zero(); R];
                    for j in 0..R {
                        products[j] = V::mul(yv[g][j], dv[g][j]);
                    }
                    let dot = V::set(fold(&products, false));
                    for j in 0..R {
                        dv[g][j] = V::mul(yv[g][j], V::sub(dv[g][j], dot));
                    }
                }
                for g in 0..G {
                    for j in 0..R {
                        ds[g].store(j, dv[g][j]);
                    }
                }
            }
        }
    }

    /// [`Forward`] in one AVX-512 register a row.
    ///
    /// # Safety
    /// AVX-512F, AVX2 and FMA must be available; `x` and `y` hold `rows · last` values, the same
    /// or apart, `last <= 16`.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn softmax512(x: *const f32, y: *mut f32, rows: usize, last: usize) {
        // SAFETY: passed on from the caller.
        unsafe { in_groups::<_, F32x16, { SHORT_ROW / 16 }, WIDE_GROUP>(&Forward { x, y, rows, last }, rows) }
    }

    /// [`Forward`] in two AVX2 registers a row.
    ///
    /// # Safety
    /// AVX2 and FMA must be available; sizes as for [`softmax512`].
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn softmax256(x: *const f32, y: *mut f32, rows: usize, last: usize) {
        // SAFETY: passed on from the caller.
        unsafe { in_groups::<_, F32x8, { SHORT_ROW / 8 }, GROUP>(&Forward { x, y, rows, last }, rows) }
    }

    /// [`Backward`] in one AVX-512 register a row.
    ///
    /// # Safety
    /// AVX-512F, AVX2 and FMA must be available; `y` and `dy` hold `rows · last` values,
    /// `last <= 16`.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn backward512(y: *const f32, dy: *mut f32, rows: usize, last: usize) {
        // SAFETY: passed on from the caller.
        unsafe {
            in_groups::<_, F32x16, { SHORT_ROW / 16 }, WIDE_GROUP>(&Backward { y, dy, rows, last }, rows)
        }
    }

    /// [`Backward`] in two AVX2 registers a row.
    ///
    /// # Safety
    /// AVX2 and FMA must be available; sizes as for [`backward512`].
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn backward256(y: *const f32, dy: *mut f32, rows: usize, last: usize) {
        // SAFETY: passed on from the caller.
        unsafe { in_groups::<_, F32x8, { SHORT_ROW / 8 }, GROUP>(&Backward { y, dy, rows, last }, rows) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activations::{softmax_backward_portable, softmax_portable};
    use crate::kernels::cpu;
    use alloc::vec::Vec;

    fn values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((state >> 8) as f32 / 16_777_216.0 - 0.5) * scale
            })
            .collect()
    }

    /// Each level's kernel against the portable softmax, bit for bit, for every row length it
    /// takes, a few row counts (none, fewer than a group, and groups with rows left over), out
    /// of place and in place, with values far apart (so that some exponentials underflow),
    /// infinities and a NaN; and nothing written past the rows.
    #[test]
    fn the_kernels_give_the_portable_softmax_bit_for_bit() {
        for level in [Level::Avx512, Level::Avx2] {
            if !cpu::supports(level) {
                continue;
            }
            for last in 1..=SHORT_ROW {
                for rows in [0, 1, 3, 4, 9] {
                    let n = rows * last;
                    let mut x = values(n, (last * 31 + rows) as u32, 250.0);
                    if n > 5 {
                        x[2] = f32::INFINITY;
                        x[n - 1] = f32::NEG_INFINITY;
                        x[n / 2] = f32::NAN;
                    }
                    let mut want = x.clone();
                    softmax_portable(&mut want, last);
                    let mut y = values(n + 7, 5, 1.0);
                    let tail = y[n..].to_vec();
                    assert!(softmax_f32(level, &x, &mut y[..n], last));
                    // Any NaN is NaN: which one an operation returns differs between CPUs' instructions.
                    let bits = |v: &[f32]| {
                        v.iter().map(|v| if v.is_nan() { 0 } else { v.to_bits() }).collect::<Vec<_>>()
                    };
                    assert_eq!(bits(&y[..n]), bits(&want), "{level:?} last {last} rows {rows}");
                    assert_eq!(&y[n..], &tail[..]);
                    let mut z = x.clone();
                    assert!(in_place_f32(level, &mut z, last));
                    assert_eq!(bits(&z), bits(&want), "{level:?} in place, last {last} rows {rows}");

                    let mut d = values(n + 7, 9, 2.0);
                    let mut want_d = d.clone();
                    softmax_backward_portable(&want[..n], &mut want_d[..n], last);
                    assert!(softmax_backward_f32(level, &want, &mut d[..n], last));
                    assert_eq!(bits(&d), bits(&want_d), "{level:?} backward, last {last} rows {rows}");
                }
            }
        }
    }

    #[test]
    fn rows_longer_than_a_register_or_slices_apart_in_length_take_no_kernel() {
        let mut y = [0.0f32; 34];
        assert!(!softmax_f32(Level::Avx512, &[0.0; 34], &mut y, 17));
        assert!(!softmax_f32(Level::Avx512, &[0.0; 30], &mut y, 10));
        assert!(!in_place_f32(Level::Avx2, &mut y, 0));
        assert!(!softmax_backward_f32(Level::Avx2, &[0.0; 30], &mut y, 10));
        assert!(!softmax_f32(Level::Portable, &[0.0; 34], &mut y, 2));
        assert_eq!(y, [0.0; 34]);
    }
}
