//! The batched product `C = start + A · B`: the hot loop of a Dense layer over a batch, of a
//! convolution over its patches, and of both layers' backward passes.
//!
//! Shapes are row-major as Keras lays them out: in the forward pass `x` is `rows × k` (one
//! sample per row), `w` is `k × n` (Keras's kernel), `y` is `rows × n`. Each output is its
//! start (`b[o]`, zero, or its own value), then `+ x[r][i]·w[i][o]` for `i` in order, at every
//! level, so levels differ only by FMA rounding. [`Product`] also gives `A` arbitrary strides,
//! so a backward pass multiplies by a transpose (`xᵀ · dy`) without writing it out.
//!
//! `f32` and `f64` have x86-64 kernels (AVX-512 and AVX2, in `super::x86`), for batches and for
//! single samples; everything else runs the portable loop here.

use super::Element;
use super::cpu::Level;

/// The shape and strides of a product `C = start + A · B`: `A` is `m × k` with `A[i][p]` at
/// `a[i * a_row + p * a_col]`, `B` is `k × n` with row `p` at `b[p * ldb..]`, and `C` is
/// `m × n` with row `i` at `c[i * ldc..]`.
///
/// A convolution's patches can also be read in place from its input ([`Groups`]): `A`'s rows
/// (and `C`'s) in groups, the output pixels of one image row, and each row's values (and
/// `B`'s rows) in groups, the kernel's rows, each a run of the input.
///
/// ```
/// use nn_core::kernels::{cpu, gemm::{self, Product, Start}};
///
/// // C += Aᵀ · B, with A = [[1, 2], [3, 4]] stored row-major: Aᵀ[i][p] = a[p * 2 + i].
/// let (a, b) = ([1.0f32, 2.0, 3.0, 4.0], [1.0f32, 0.0, 0.0, 1.0]);
/// let mut c = [10.0f32; 4];
/// let p = Product { m: 2, k: 2, n: 2, a_row: 1, a_col: 2, ldb: 2, ldc: 2, ..Product::default() };
/// gemm::product(cpu::level(), &p, &a, &b, &mut c, Start::Add);
/// assert_eq!(c, [11.0, 13.0, 12.0, 14.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Product {
    /// Rows of `A` and `C`.
    pub m: usize,
    /// Columns of `A`, rows of `B`.
    pub k: usize,
    /// Columns of `B` and `C`.
    pub n: usize,
    /// How far apart consecutive rows of `A` start (within a group of `rows`).
    pub a_row: usize,
    /// How far apart consecutive elements of a row of `A` are (within a group of
    /// `cols`).
    pub a_col: usize,
    /// How far apart consecutive rows of `B` start (within a group of `cols`).
    pub ldb: usize,
    /// How far apart consecutive rows of `C` start (at least `n`; within a group of
    /// `rows`).
    pub ldc: usize,
    /// The rows of `A` and `C` in groups; `other_step` is `C`'s.
    pub rows: Groups,
    /// The columns of `A` and rows of `B` in groups (`every` must divide `k`);
    /// `other_step` is `B`'s.
    pub cols: Groups,
}

/// Indices in groups of `every` (0: one group of all): index `i` of an operand is at
/// `(i / every) * step + (i % every) * stride`, for the operand's stride within a group and
/// its step between groups, `a_step` in `A` and `other_step` in the other operand it indexes.
/// How a convolution's patches lie in its input: a group of rows is the output pixels of one
/// image row, a group of columns one kernel row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Groups {
    /// Indices per group; 0 for a single group.
    pub every: usize,
    /// How far apart consecutive groups start in `A`.
    pub a_step: usize,
    /// How far apart consecutive groups start in `C` (rows) or `B` (columns).
    pub other_step: usize,
}

impl Groups {
    /// Where index `i` is, for an operand's `stride` within a group and `step` between them.
    #[inline(always)]
    pub fn at(&self, i: usize, stride: usize, step: usize) -> usize {
        match i.checked_div(self.every) {
            Some(group) => group * step + (i % self.every) * stride,
            None => i * stride,
        }
    }

    /// Where indices `first..first + N` are ([`Groups::at`]): one division for all of them (a
    /// tile's rows; a division per row was a tenth of KWS's first convolution).
    #[inline(always)]
    pub fn run<const N: usize>(&self, first: usize, stride: usize, step: usize) -> [usize; N] {
        if self.every == 0 {
            return core::array::from_fn(|r| (first + r) * stride);
        }
        let (mut group, mut within) = (first / self.every, first % self.every);
        core::array::from_fn(|_| {
            let at = group * step + within * stride;
            within += 1;
            if within == self.every {
                (group, within) = (group + 1, 0);
            }
            at
        })
    }

    /// How many groups `count` indices make, and how many each holds.
    #[inline(always)]
    pub fn split(&self, count: usize) -> (usize, usize) {
        count.checked_div(self.every).map_or((1, count), |groups| (groups, self.every))
    }

    /// The farthest of the first `count` (at least 1) indices, with checked arithmetic: the
    /// last index, or the last of the group before it, whichever lies farther.
    #[inline(always)]
    fn last(&self, count: usize, stride: usize, step: usize) -> Option<usize> {
        let i = count - 1;
        if self.every == 0 || i < self.every {
            return i.checked_mul(stride);
        }
        let (group, within) = (i / self.every, i % self.every);
        let at = |g: usize, w: usize| g.checked_mul(step)?.checked_add(w.checked_mul(stride)?);
        Some(at(group, within)?.max(at(group - 1, self.every - 1)?))
    }
}

/// Where the outputs of a [`product`] start before `A · B` is added.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Start<'a, T> {
    /// A bias of `n` values, the same for every row.
    Bias(&'a [T]),
    /// Zero: `C = A · B`.
    Zero,
    /// The outputs' own values: `C += A · B`.
    Add,
}

impl<'a, T> Start<'a, T> {
    /// A bias if there is one, else zero.
    #[inline(always)]
    pub fn bias(bias: Option<&'a [T]>) -> Self {
        bias.map_or(Start::Zero, Start::Bias)
    }
}

impl Product {
    /// Whether operands of these lengths hold every element the product reads and writes (and
    /// the product has anything to compute): the arithmetic is checked, so no stride can
    /// wrap an index around.
    #[inline(always)]
    pub fn fits(&self, a: usize, b: usize, c: usize, bias: Option<usize>) -> bool {
        if self.m == 0
            || self.k == 0
            || self.n == 0
            || self.ldc < self.n
            || bias.is_some_and(|l| l < self.n)
            || (self.cols.every != 0 && !self.k.is_multiple_of(self.cols.every))
        {
            return false;
        }
        let (rows, cols) = (self.rows, self.cols);
        let a_end = rows
            .last(self.m, self.a_row, rows.a_step)
            .zip(cols.last(self.k, self.a_col, cols.a_step))
            .and_then(|(r, c)| r.checked_add(c));
        let b_end = cols.last(self.k, self.ldb, cols.other_step).and_then(|r| r.checked_add(self.n - 1));
        let c_end = rows.last(self.m, self.ldc, rows.other_step).and_then(|r| r.checked_add(self.n - 1));
        a_end.is_some_and(|e| e < a) && b_end.is_some_and(|e| e < b) && c_end.is_some_and(|e| e < c)
    }

    /// Row-major rows of `k` values `stride` apart times a row-major `k × n` matrix, into
    /// row-major outputs: as many rows as `x` values and `y` values hold.
    #[inline(always)]
    fn rows(x: usize, stride: usize, y: usize, k: usize, n: usize) -> Self {
        let m = if stride == 0 || n == 0 { 0 } else { rows_in(x, stride, k).min(y / n) };
        Product { m, k, n, a_row: stride, a_col: 1, ldb: n, ldc: n, ..Product::default() }
    }
}

/// `c = start + A · B` (see [`Product`]) with the kernel for `level`. Operands too short for
/// `p` leave `c` untouched rather than read or write out of bounds.
#[inline(always)]
pub fn product<T: Element>(level: Level, p: &Product, a: &[T], b: &[T], c: &mut [T], start: Start<'_, T>) {
    let bias = match start {
        Start::Bias(b) => Some(b.len()),
        _ => None,
    };
    if p.fits(a.len(), b.len(), c.len(), bias) && !T::product(level, p, a, b, c, start) {
        portable(p, a, b, c, start);
    }
}

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
    if y.len() < n || bias.is_some_and(|b| b.len() < n) || x.len() < k {
        return;
    }
    match bias {
        Some(b) => y[..n].copy_from_slice(&b[..n]),
        None => y[..n].fill(T::default()),
    }
    if !T::accumulate_one_ordered(level, x, w, y, k, n, backwards) {
        product(Level::Portable, &Product::rows(k, k, n, k, n), x, w, y, Start::Add);
    }
}

/// [`dense`] over rows of `x` that start `stride` values apart and may overlap: row `r` is
/// `x[r * stride..r * stride + k]`. A stride-1 convolution reads its patches this way straight
/// from its input, with nothing gathered.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
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
    product(level, &Product::rows(x.len(), stride, y.len(), k, n), x, w, y, Start::bias(bias));
}

/// [`dense_strided`] with `T`'s kernels for `level` only (the narrow product for fewer outputs
/// than a register holds, else the register-blocked one): `false`, touching nothing, where it
/// has none (a layer then runs a loop of its own).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn dense_rows<T: Element>(
    level: Level,
    x: &[T],
    stride: usize,
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    k: usize,
    n: usize,
) -> bool {
    if T::narrow_rows(level, x, stride, w, bias, y, k, n) {
        return true;
    }
    let p = Product::rows(x.len(), stride, y.len(), k, n);
    p.fits(x.len(), w.len(), y.len(), bias.map(<[T]>::len))
        && T::product(level, &p, x, w, y, Start::bias(bias))
}

/// How many rows of `k` values, `stride` apart, `x` holds whole.
#[inline(always)]
fn rows_in(x: usize, stride: usize, k: usize) -> usize {
    if x < k { 0 } else { (x - k) / stride + 1 }
}

/// The kernels of an element type that has them on x86-64: `product` and `accumulate_one`
/// for its `Element` impl.
macro_rules! simd_kernels {
    ($t:ty, $product:ident, $one:ident) => {
        /// The register-blocked product for `level`, on operands [`Product::fits`] accepted.
        /// Returns `false`, touching nothing, where `level` has no kernel on this CPU.
        #[inline(always)]
        pub(crate) fn $product(
            level: Level,
            p: &Product,
            a: &[$t],
            b: &[$t],
            c: &mut [$t],
            start: Start<'_, $t>,
        ) -> bool {
            #[cfg(target_arch = "x86_64")]
            {
                use super::x86::Init;
                let init = match start {
                    Start::Bias(bias) => Init::Bias(bias.as_ptr()),
                    Start::Zero => Init::Zero,
                    Start::Add => Init::Add,
                };
                if level >= Level::Avx512 && super::cpu::supports(Level::Avx512) {
                    // SAFETY: the CPU has AVX-512F; the caller checked that `p` fits the slices.
                    unsafe { super::x86::gemm512(p, a.as_ptr(), b.as_ptr(), init, c.as_mut_ptr()) };
                    return true;
                }
                if level >= Level::Avx2 && super::cpu::supports(Level::Avx2) {
                    // SAFETY: as above, with AVX2 and FMA.
                    unsafe { super::x86::gemm256(p, a.as_ptr(), b.as_ptr(), init, c.as_mut_ptr()) };
                    return true;
                }
            }
            let _ = (level, p, a, b, c, start);
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

simd_kernels!(f32, product_f32, accumulate_one_f32);
simd_kernels!(f64, product_f64, accumulate_one_f64);

/// The portable kernel, for every element type and target, on operands [`Product::fits`]
/// accepted.
pub(crate) fn portable<T: Element>(p: &Product, a: &[T], b: &[T], c: &mut [T], start: Start<'_, T>) {
    let (rows, cols) = (p.rows, p.cols);
    for i in 0..p.m {
        let at = rows.at(i, p.ldc, rows.other_step);
        let row = &mut c[at..at + p.n];
        match start {
            Start::Bias(bias) => row.copy_from_slice(&bias[..p.n]),
            Start::Zero => row.fill(T::default()),
            Start::Add => {}
        }
        let a_at = rows.at(i, p.a_row, rows.a_step);
        for q in 0..p.k {
            let x = a[a_at + cols.at(q, p.a_col, cols.a_step)];
            let b_at = cols.at(q, p.ldb, cols.other_step);
            for (acc, w) in row.iter_mut().zip(&b[b_at..b_at + p.n]) {
                *acc += x * *w;
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
            // One column: the dot products, with and without a masked tail.
            (13, 72, 1),
            (5, 64, 1),
            (3, 17, 1),
        ] {
            let (x, w, b) = (fill::<T>(rows * k, 1), fill::<T>(k * n, 2), fill::<T>(n, 3));
            let mut want = [T::ZERO; 4096];
            let p = Product::rows(rows * k, k, rows * n, k, n);
            portable(&p, &x[..rows * k], &w[..k * n], &mut want[..rows * n], Start::Bias(&b[..n]));
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

    /// A product over [`Groups`] (a convolution's patches read in place: 3 output rows of 4
    /// pixels, 2 kernel rows of 3 taps, from a 9-wide input, a kernel 5 taps wide and an output
    /// 6 pixels wide) against the sums written out, at every level.
    fn groups_read_and_write_in_place<T: Float>() {
        for n in [3, 16, 33] {
            let (x, w, b) = (fill::<T>(7 * 9, 1), fill::<T>(10 * n, 2), fill::<T>(n, 3));
            let p = Product {
                m: 12,
                k: 6,
                n,
                a_row: 1,
                a_col: 1,
                ldb: n,
                ldc: n,
                rows: Groups { every: 4, a_step: 9, other_step: 6 * n },
                cols: Groups { every: 3, a_step: 9, other_step: 5 * n },
            };
            let mut want = [T::of(7.0); 4096];
            for (gy, gx) in (0..3).flat_map(|gy| (0..4).map(move |gx| (gy, gx))) {
                for o in 0..n {
                    let mut acc = b[o];
                    for (ky, kx) in (0..2).flat_map(|ky| (0..3).map(move |kx| (ky, kx))) {
                        acc += x[(gy + ky) * 9 + gx + kx] * w[(ky * 5 + kx) * n + o];
                    }
                    want[(gy * 6 + gx) * n + o] = acc;
                }
            }
            let len = 2 * 6 * n + 4 * n;
            assert!(p.fits(7 * 9, 10 * n, len, Some(n)));
            assert!(!p.fits(7 * 9, 10 * n, len - 1, Some(n)));
            for level in [Level::Portable, Level::Avx2, Level::Avx512] {
                let mut got = [T::of(7.0); 4096];
                product(level, &p, &x[..63], &w[..10 * n], &mut got[..len], Start::Bias(&b[..n]));
                for i in 0..len + 1 {
                    assert!(
                        (got[i] - want[i]).abs() <= T::of(1e-6) * want[i].abs().max(T::ONE),
                        "{level:?} n = {n} [{i}]: {:?} vs {:?}",
                        got[i],
                        want[i]
                    );
                }
            }
        }
    }

    #[test]
    fn groups_reach_as_far_as_their_farthest_index() {
        // Groups of 4 that start 2 apart: index 3 (at 3) lies past index 4 (at 2).
        let g = Groups { every: 4, a_step: 2, other_step: 0 };
        assert_eq!(g.last(5, 1, g.a_step), Some(3));
        assert_eq!(g.last(8, 1, g.a_step), Some(5));
        assert_eq!(g.run::<3>(3, 1, 2), [3, 2, 3]);
        assert_eq!(g.last(9, usize::MAX, 1), None);
    }

    #[test]
    fn groups_read_and_write_in_place_f32_f64() {
        groups_read_and_write_in_place::<f32>();
        groups_read_and_write_in_place::<f64>();
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

    /// `A` read through a transpose's strides, added into `C` with a row stride past `n`: every
    /// level computes what the plain triple loop does, and writes nothing between the rows.
    fn strided_products_add_as_the_loop_does<T: Float>() {
        for &(m, k, n) in &[(40, 32, 64), (13, 7, 33), (1, 5, 17), (30, 1, 10), (9, 24, 2)] {
            let ldc = n + 3;
            // A is the transpose of a row-major `k × m` matrix: A[i][p] = x[p * m + i].
            let (x, b) = (fill::<T>(k * m, 7), fill::<T>(k * n, 8));
            let start = fill::<T>(m * ldc, 9);
            let mut want = start;
            for i in 0..m {
                for j in 0..n {
                    for q in 0..k {
                        want[i * ldc + j] += x[q * m + i] * b[q * n + j];
                    }
                }
            }
            let p = Product { m, k, n, a_row: 1, a_col: m, ldb: n, ldc, ..Product::default() };
            for level in [Level::Portable, Level::Avx2, Level::Avx512] {
                if !cpu::supports(level) {
                    continue;
                }
                let mut got = start;
                product(level, &p, &x[..k * m], &b[..k * n], &mut got[..m * ldc], Start::Add);
                for i in 0..m * ldc {
                    let tol = T::of(1e-5) * want[i].abs().max(T::ONE);
                    assert!((got[i] - want[i]).abs() <= tol, "{level:?} {m}x{k}x{n} [{i}]");
                }
            }
        }
    }

    #[test]
    fn strided_products_add_as_the_loop_does_f32() {
        strided_products_add_as_the_loop_does::<f32>();
    }

    #[test]
    fn strided_products_add_as_the_loop_does_f64() {
        strided_products_add_as_the_loop_does::<f64>();
    }

    #[test]
    fn strides_that_overflow_do_not_fit() {
        let p =
            Product { m: 2, k: 2, n: 1, a_row: usize::MAX, a_col: 1, ldb: 1, ldc: 1, ..Product::default() };
        assert!(!p.fits(usize::MAX, 4, 4, None));
        let mut c = [5.0f32; 2];
        product(cpu::level(), &p, &[1.0; 4], &[1.0; 2], &mut c, Start::Add);
        assert_eq!(c, [5.0; 2]);
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
