//! The x86-64 dense kernels, written once over a SIMD register ([`Vector`]) and compiled for
//! four of them: `f32` and `f64` in AVX-512 (`zmm`) and in AVX2 (`ymm`) registers.
//!
//! Two kernels: the batched product (a tile of `MR` samples × two registers of outputs in
//! accumulators, the kernel streamed row by row, each row loaded once per tile and multiplied by
//! a broadcast input of every sample) and the one-sample product (blocks of up to eight
//! registers of outputs, each in several running sums so that enough FMA chains are in flight).
//!
//! Every function here is `unsafe`: it must run on a CPU with the instruction set of its
//! registers, and its pointers must hold the sizes its caller in `gemm` checked.

// The tile loops index accumulators and input rows by the same `r`: that is the tile.
#![allow(clippy::needless_range_loop)]

use super::gates::Gates;
use super::gemm::Product;
use core::arch::x86_64::*;

/// One SIMD register of `T`s, as the kernels use it. Each method is one or two intrinsics of
/// the register's instruction set, inlined into the kernels' `#[target_feature]` functions.
pub(crate) trait Vector: Copy {
    /// The element type.
    type T: Copy + core::ops::Add<Output = Self::T>;
    /// Which lanes a masked load or store touches.
    type Mask: Copy;
    /// Lanes per register.
    const LANES: usize;
    /// A 512-bit register, of which there are 32 (else 256-bit, of which there are 16): it sets
    /// how many accumulators a tile or block can keep.
    const WIDE: bool;

    unsafe fn zero() -> Self;
    /// `*p` in every lane.
    unsafe fn splat(p: *const Self::T) -> Self;
    /// Lanes `0..count` (all of them from `LANES` on).
    unsafe fn mask(count: usize) -> Self::Mask;
    unsafe fn load(p: *const Self::T) -> Self;
    /// The lanes of `m` from `p`, zero elsewhere; lanes outside `m` are not read.
    unsafe fn load_masked(p: *const Self::T, m: Self::Mask) -> Self;
    unsafe fn store(p: *mut Self::T, v: Self);
    /// The lanes of `m` to `p`; lanes outside `m` are not written.
    unsafe fn store_masked(p: *mut Self::T, m: Self::Mask, v: Self);
    /// `a · b + c`, one rounding.
    unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self;
    unsafe fn add(a: Self, b: Self) -> Self;
    /// The sum of the lanes.
    unsafe fn sum(v: Self) -> Self::T;
    /// `then` in the lanes of `m`, `otherwise` elsewhere.
    unsafe fn blend(m: Self::Mask, then: Self, otherwise: Self) -> Self;
}

macro_rules! vector {
    ($name:ident($reg:ty) of $t:ty, lanes: $lanes:literal, wide: $wide:literal, mask: $mask:ty,
     make_mask: |$count:ident| $make:expr, zero: $zero:ident, splat: $splat:ident,
     load: $load:ident, load_masked: |$lp:ident, $lm:ident| $load_masked:expr, store: $store:ident,
     store_masked: |$sp:ident, $sm:ident, $sv:ident| $store_masked:expr, fmadd: $fmadd:ident,
     add: $add:ident, sum: |$hv:ident| $sum:expr, blend: |$bm:ident, $bt:ident, $bo:ident| $blend:expr) => {
        #[derive(Clone, Copy)]
        pub(crate) struct $name($reg);

        impl Vector for $name {
            type T = $t;
            type Mask = $mask;
            const LANES: usize = $lanes;
            const WIDE: bool = $wide;

            #[inline(always)]
            unsafe fn zero() -> Self {
                unsafe { Self($zero()) }
            }
            #[inline(always)]
            unsafe fn splat(p: *const $t) -> Self {
                unsafe { Self($splat(*p)) }
            }
            #[inline(always)]
            // AVX-512's masks are plain integers; AVX2's take intrinsics.
            #[allow(unused_unsafe)]
            unsafe fn mask($count: usize) -> $mask {
                unsafe { $make }
            }
            #[inline(always)]
            unsafe fn load(p: *const $t) -> Self {
                unsafe { Self($load(p)) }
            }
            #[inline(always)]
            unsafe fn load_masked($lp: *const $t, $lm: $mask) -> Self {
                unsafe { Self($load_masked) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut $t, v: Self) {
                unsafe { $store(p, v.0) }
            }
            #[inline(always)]
            unsafe fn store_masked($sp: *mut $t, $sm: $mask, $sv: Self) {
                unsafe { $store_masked }
            }
            #[inline(always)]
            unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self {
                unsafe { Self($fmadd(a.0, b.0, c.0)) }
            }
            #[inline(always)]
            unsafe fn add(a: Self, b: Self) -> Self {
                unsafe { Self($add(a.0, b.0)) }
            }
            #[inline(always)]
            // AVX-512 reduces in one intrinsic; AVX2 sums the lanes of the register's array.
            #[allow(unused_unsafe)]
            unsafe fn sum($hv: Self) -> $t {
                unsafe { $sum }
            }
            #[inline(always)]
            unsafe fn blend($bm: $mask, $bt: Self, $bo: Self) -> Self {
                unsafe { Self($blend) }
            }
        }
    };
}

vector!(F32x16(__m512) of f32, lanes: 16, wide: true, mask: __mmask16,
    make_mask: |count| if count >= 16 { 0xFFFF } else { ((1u32 << count) - 1) as __mmask16 },
    zero: _mm512_setzero_ps, splat: _mm512_set1_ps, load: _mm512_loadu_ps,
    load_masked: |p, m| _mm512_maskz_loadu_ps(m, p), store: _mm512_storeu_ps,
    store_masked: |p, m, v| _mm512_mask_storeu_ps(p, m, v.0), fmadd: _mm512_fmadd_ps, add: _mm512_add_ps,
    sum: |v| _mm512_reduce_add_ps(v.0), blend: |m, t, o| _mm512_mask_blend_ps(m, o.0, t.0));

vector!(F64x8(__m512d) of f64, lanes: 8, wide: true, mask: __mmask8,
    make_mask: |count| if count >= 8 { 0xFF } else { ((1u32 << count) - 1) as __mmask8 },
    zero: _mm512_setzero_pd, splat: _mm512_set1_pd, load: _mm512_loadu_pd,
    load_masked: |p, m| _mm512_maskz_loadu_pd(m, p), store: _mm512_storeu_pd,
    store_masked: |p, m, v| _mm512_mask_storeu_pd(p, m, v.0), fmadd: _mm512_fmadd_pd, add: _mm512_add_pd,
    sum: |v| _mm512_reduce_add_pd(v.0), blend: |m, t, o| _mm512_mask_blend_pd(m, o.0, t.0));

// AVX2 masks are registers with the sign bit set in each lane to touch.
vector!(F32x8(__m256) of f32, lanes: 8, wide: false, mask: __m256i,
    make_mask: |count| _mm256_cmpgt_epi32(_mm256_set1_epi32(count as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
    zero: _mm256_setzero_ps, splat: _mm256_set1_ps, load: _mm256_loadu_ps,
    load_masked: |p, m| _mm256_maskload_ps(p, m), store: _mm256_storeu_ps,
    store_masked: |p, m, v| _mm256_maskstore_ps(p, m, v.0), fmadd: _mm256_fmadd_ps, add: _mm256_add_ps,
    sum: |v| core::mem::transmute::<__m256, [f32; 8]>(v.0).iter().sum(),
    blend: |m, t, o| _mm256_blendv_ps(o.0, t.0, _mm256_castsi256_ps(m)));

vector!(F64x4(__m256d) of f64, lanes: 4, wide: false, mask: __m256i,
    make_mask: |count| _mm256_cmpgt_epi64(_mm256_set1_epi64x(count as i64), _mm256_setr_epi64x(0, 1, 2, 3)),
    zero: _mm256_setzero_pd, splat: _mm256_set1_pd, load: _mm256_loadu_pd,
    load_masked: |p, m| _mm256_maskload_pd(p, m), store: _mm256_storeu_pd,
    store_masked: |p, m, v| _mm256_maskstore_pd(p, m, v.0), fmadd: _mm256_fmadd_pd, add: _mm256_add_pd,
    sum: |v| core::mem::transmute::<__m256d, [f64; 4]>(v.0).iter().sum(),
    blend: |m, t, o| _mm256_blendv_pd(o.0, t.0, _mm256_castsi256_pd(m)));

/// Where the accumulators of a tile of [`gemm`] start, as raw pointers: [`Start`] once its
/// slices were checked.
#[derive(Clone, Copy)]
pub(crate) enum Init<T> {
    /// A bias of `n` values, the same for every row.
    Bias(*const T),
    /// Zero.
    Zero,
    /// The outputs' own values: the product adds into them.
    Add,
}

impl<T> Init<T> {
    /// The start of the columns from `o` on.
    ///
    /// # Safety
    /// A bias holds more than `o` values.
    #[inline(always)]
    unsafe fn at(self, o: usize) -> Self {
        match self {
            // SAFETY: passed on from the caller.
            Init::Bias(bias) => Init::Bias(unsafe { bias.add(o) }),
            other => other,
        }
    }
}

/// Products of at most this many rows run in 256-bit registers in [`wide_tile`]s (the
/// regions of a padded convolution: KWS's second has regions of 18, 9, 2 and 1 pixels).
const SHORT: usize = 12;

/// The batched product `C = init + A · B` of a [`Product`]'s shape and strides (`A[i][p]` at
/// `a[i * a_row + p * a_col]`, row `p` of `B` at `b[p * ldb]`, row `i` of `C` at
/// `c[i * ldc]`), in tiles two registers wide and up to 12 rows high in 512-bit registers (24
/// accumulators of 32, each load of `B` feeding 24 FMAs; 14 rows measured slower: the
/// compiler spills), 6 in 256-bit ones (12 of 16). `A`'s elements are broadcast one at a
/// time, so its strides are free: a backward pass multiplies by `xᵀ` without transposing `x`.
///
/// A product of one column (`n` = 1: a Dense layer or convolution with one output, a
/// regression head) whose rows of `A` and column of `B` are contiguous runs, in no groups, as [`dots`]: in
/// tiles, each FMA would fill one lane of sixteen.
#[inline(always)]
unsafe fn gemm<V: Vector>(p: &Product, a: *const V::T, b: *const V::T, init: Init<V::T>, c: *mut V::T) {
    if p.n == 1 && p.a_col == 1 && p.rows.every == 0 && p.cols.every == 0 && p.ldb == 1 && p.k >= V::LANES {
        // SAFETY: passed on from the caller.
        unsafe { dots::<V>(p, a, b, init, c) };
        return;
    }
    let mr_max = if V::WIDE { 12 } else { 6 };
    let mut o = 0;
    if !V::WIDE && p.m <= SHORT {
        // A few rows in 256-bit registers: tiles four registers wide, so that even a tile of
        // one or two rows has four or eight FMA chains in flight.
        while o + 4 * V::LANES <= p.n {
            let mut r = 0;
            while r < p.m {
                let mr = (p.m - r).min(3);
                // SAFETY: `r + mr <= m` and `o + 4 * LANES <= n`: in bounds of every operand.
                unsafe {
                    let t =
                        Tile { a, row: r, b: b.add(o), c: c.add(o), init: init.at(o), width: 4 * V::LANES };
                    match mr {
                        3 => wide_tile::<V, 3>(p, t),
                        2 => wide_tile::<V, 2>(p, t),
                        _ => wide_tile::<V, 1>(p, t),
                    }
                }
                r += mr;
            }
            o += 4 * V::LANES;
        }
    }
    let heights = Heights::new(p.m, mr_max);
    while o < p.n {
        let width = (p.n - o).min(2 * V::LANES);
        let mut r = 0;
        for index in 0..heights.tiles {
            let mr = heights.of(index);
            // SAFETY: `r + mr <= m` and `o + width <= n`: in bounds of every operand.
            unsafe {
                let t = Tile { a, row: r, b: b.add(o), c: c.add(o), init: init.at(o), width };
                match mr {
                    12 => tile::<V, 12>(p, t),
                    11 => tile::<V, 11>(p, t),
                    10 => tile::<V, 10>(p, t),
                    9 => tile::<V, 9>(p, t),
                    8 => tile::<V, 8>(p, t),
                    7 => tile::<V, 7>(p, t),
                    6 => tile::<V, 6>(p, t),
                    5 => tile::<V, 5>(p, t),
                    4 => tile::<V, 4>(p, t),
                    3 => tile::<V, 3>(p, t),
                    2 => tile::<V, 2>(p, t),
                    _ => tile::<V, 1>(p, t),
                }
            }
            r += mr;
        }
        o += 2 * V::LANES;
    }
}

/// [`gemm`] of one column: each output the dot product of its row of `A` with `B`, over the
/// `k` values in four registers of running sums, then its start added.
#[inline(always)]
unsafe fn dots<V: Vector>(p: &Product, a: *const V::T, b: *const V::T, init: Init<V::T>, c: *mut V::T) {
    let lanes = V::LANES;
    // SAFETY: row `i` of `A` is `k` values from `a + i * a_row`, `B` is `k` values and `C`'s
    // rows are `ldc` apart, all in bounds (the caller's contract); the tail's mask covers the
    // `k % lanes` values past the last whole register only.
    unsafe {
        let tail = V::mask(p.k % lanes);
        for i in 0..p.m {
            let row = a.add(i * p.a_row);
            let mut acc = [V::zero(); 4];
            let mut q = 0;
            while q + 4 * lanes <= p.k {
                for (u, acc) in acc.iter_mut().enumerate() {
                    let at = q + u * lanes;
                    *acc = V::fmadd(V::load(row.add(at)), V::load(b.add(at)), *acc);
                }
                q += 4 * lanes;
            }
            while q + lanes <= p.k {
                acc[0] = V::fmadd(V::load(row.add(q)), V::load(b.add(q)), acc[0]);
                q += lanes;
            }
            if q < p.k {
                acc[1] = V::fmadd(V::load_masked(row.add(q), tail), V::load_masked(b.add(q), tail), acc[1]);
            }
            let sum = V::sum(V::add(V::add(acc[0], acc[1]), V::add(acc[2], acc[3])));
            let out = c.add(i * p.ldc);
            *out = match init {
                Init::Bias(bias) => *bias + sum,
                Init::Zero => sum,
                Init::Add => *out + sum,
            };
        }
    }
}

/// The heights of the tiles over `rows` rows: as even a split into tiles of at most `max` rows
/// as possible, the taller ones first (64 rows in tiles of 12 become 11, 11, 11, 11, 10, 10
/// rather than five full tiles and a thin one). One division for the whole product, not one
/// per tile, whose rows would wait on it.
#[derive(Clone, Copy)]
struct Heights {
    tiles: usize,
    base: usize,
    taller: usize,
}

impl Heights {
    #[inline(always)]
    fn new(rows: usize, max: usize) -> Self {
        let tiles = rows.div_ceil(max);
        match rows.checked_div(tiles) {
            Some(base) => Heights { tiles, base, taller: rows % tiles },
            None => Heights { tiles: 0, base: 0, taller: 0 },
        }
    }

    /// The height of tile `t` (`t < tiles`): `base + 1` for the first `taller`, else `base`.
    #[inline(always)]
    fn of(&self, t: usize) -> usize {
        self.base + usize::from(t < self.taller)
    }
}

/// Where one tile of [`gemm`] reads and writes: `A`, the first columns of `B` and `C`, the
/// index of its first row, how its accumulators start, and how many columns (at most two
/// registers).
#[derive(Clone, Copy)]
struct Tile<T> {
    a: *const T,
    row: usize,
    b: *const T,
    c: *mut T,
    init: Init<T>,
    width: usize,
}

/// One tile of [`gemm`]: `MR` rows × `width` columns.
#[inline(always)]
unsafe fn tile<V: Vector, const MR: usize>(p: &Product, t: Tile<V::T>) {
    let lanes = V::LANES;
    let two = t.width > lanes;
    let (a, b, c) = (t.a, t.b, t.c);
    // SAFETY: the caller keeps `MR` rows of `A`, `k` rows of `B` and `MR` rows of `C` at
    // these strides, `width` columns of each from here; masks keep every access within
    // `width`.
    unsafe {
        let rows: [usize; MR] = p.rows.run(t.row, p.a_row, p.rows.a_step);
        let outs: [usize; MR] = p.rows.run(t.row, p.ldc, p.rows.other_step);
        let (m0, m1) = (V::mask(t.width.min(lanes)), V::mask(t.width.saturating_sub(lanes)));
        let second = |v: *const V::T| if two { V::load_masked(v.add(lanes), m1) } else { V::zero() };
        let (mut acc0, mut acc1) = ([V::zero(); MR], [V::zero(); MR]);
        match t.init {
            Init::Bias(bias) => {
                acc0 = [V::load_masked(bias, m0); MR];
                acc1 = [second(bias); MR];
            }
            Init::Zero => {}
            Init::Add => {
                for r in 0..MR {
                    acc0[r] = V::load_masked(c.add(outs[r]), m0);
                    acc1[r] = second(c.add(outs[r]));
                }
            }
        }
        if two && t.width == 2 * lanes {
            // Whole registers: no mask held across the loop (in AVX2, where masks are
            // registers, one more live register made the compiler spill an accumulator to the
            // stack inside the loop, a third of M1's time at batch 64).
            two_columns::<V, MR, true>(p, a, &rows, b, m1, &mut acc0, &mut acc1);
        } else if two {
            two_columns::<V, MR, false>(p, a, &rows, b, m1, &mut acc0, &mut acc1);
        } else {
            // A tile one register wide or less: half the multiplies.
            if t.width == lanes {
                one_column::<V, MR, true>(p, a, &rows, b, m0, &mut acc0);
            } else {
                one_column::<V, MR, false>(p, a, &rows, b, m0, &mut acc0);
            }
        }
        // Whole registers are stored plainly: AVX2's masked store is slow on AMD's cores.
        for r in 0..MR {
            let row = c.add(outs[r]);
            if t.width >= lanes {
                V::store(row, acc0[r]);
            } else {
                V::store_masked(row, m0, acc0[r]);
            }
            if t.width == 2 * lanes {
                V::store(row.add(lanes), acc1[r]);
            } else if two {
                V::store_masked(row.add(lanes), m1, acc1[r]);
            }
        }
    }
}

/// One tile of [`gemm`] four whole registers wide and `MR` rows high (at most 3, 12
/// accumulators of 16).
#[inline(always)]
unsafe fn wide_tile<V: Vector, const MR: usize>(p: &Product, t: Tile<V::T>) {
    let lanes = V::LANES;
    let (a, b, c) = (t.a, t.b, t.c);
    // SAFETY: the caller keeps `MR` rows of `A` and `C` and `k` rows of `B` at these strides,
    // four registers of columns of `B` and `C` from here.
    unsafe {
        let rows: [usize; MR] = p.rows.run(t.row, p.a_row, p.rows.a_step);
        let outs: [usize; MR] = p.rows.run(t.row, p.ldc, p.rows.other_step);
        let mut acc = [[V::zero(); 4]; MR];
        match t.init {
            Init::Bias(bias) => acc = [core::array::from_fn(|j| V::load(bias.add(j * lanes))); MR],
            Init::Zero => {}
            Init::Add => {
                for (acc, &out) in acc.iter_mut().zip(&outs) {
                    *acc = core::array::from_fn(|j| V::load(c.add(out + j * lanes)));
                }
            }
        }
        // The rows' values first, then `B` a register at a time: 12 accumulators, 3 values and
        // 1 register of `B` are the 16 registers there are (all four of `B` at once spilled).
        columns(p, a, b, |ai, bi| {
            let x: [V; MR] = core::array::from_fn(|r| V::splat(ai.add(rows[r])));
            for j in 0..4 {
                let w = V::load(bi.add(j * lanes));
                for r in 0..MR {
                    acc[r][j] = V::fmadd(x[r], w, acc[r][j]);
                }
            }
        });
        for (acc, &out) in acc.iter().zip(&outs) {
            for (j, &v) in acc.iter().enumerate() {
                V::store(c.add(out + j * lanes), v);
            }
        }
    }
}

/// The `k` loop of a [`tile`] one register wide: `B`'s register whole (`FULL`) or masked by
/// `m0`.
#[inline(always)]
unsafe fn one_column<V: Vector, const MR: usize, const FULL: bool>(
    p: &Product,
    a: *const V::T,
    rows: &[usize; MR],
    b: *const V::T,
    m0: V::Mask,
    acc0: &mut [V; MR],
) {
    // SAFETY: as in `tile`, whose bounds these are.
    unsafe {
        columns(p, a, b, |ai, bi| {
            let w0 = if FULL { V::load(bi) } else { V::load_masked(bi, m0) };
            for r in 0..MR {
                acc0[r] = V::fmadd(V::splat(ai.add(rows[r])), w0, acc0[r]);
            }
        });
    }
}

/// Calls `f` with each column of `A` (from its row 0) and the matching row of `B`, in order:
/// group after group of `cols`.
#[inline(always)]
unsafe fn columns<T>(p: &Product, a: *const T, b: *const T, mut f: impl FnMut(*const T, *const T)) {
    let (groups, every) = p.cols.split(p.k);
    // SAFETY: `Product::fits` checked every column of `A` and row of `B` these reach.
    unsafe {
        for g in 0..groups {
            let (ag, bg) = (a.add(g * p.cols.a_step), b.add(g * p.cols.other_step));
            for i in 0..every {
                f(ag.add(i * p.a_col), bg.add(i * p.ldb));
            }
        }
    }
}

/// The `k` loop of a [`tile`] two registers wide: `B`'s second register whole (`FULL`) or
/// masked by `m1`.
#[inline(always)]
unsafe fn two_columns<V: Vector, const MR: usize, const FULL: bool>(
    p: &Product,
    a: *const V::T,
    rows: &[usize; MR],
    b: *const V::T,
    m1: V::Mask,
    acc0: &mut [V; MR],
    acc1: &mut [V; MR],
) {
    let lanes = V::LANES;
    // SAFETY: as in `tile`, whose bounds these are.
    unsafe {
        columns(p, a, b, |ai, bi| {
            let w0 = V::load(bi);
            let w1 = if FULL { V::load(bi.add(lanes)) } else { V::load_masked(bi.add(lanes), m1) };
            for r in 0..MR {
                let x = V::splat(ai.add(rows[r]));
                acc0[r] = V::fmadd(x, w0, acc0[r]);
                acc1[r] = V::fmadd(x, w1, acc1[r]);
            }
        });
    }
}

/// The one-sample product `y += x · w` (`x` holds `k`, `w` `k × n` and `y` `n` values): the
/// outputs in blocks of up to eight 512-bit (four 256-bit) registers, each block kept in `S`
/// running sums over consecutive rows so that at least eight FMA chains are in flight; one
/// chain per output would leave a narrow layer waiting on FMA latency. Rows of `w` stream
/// through once per block, in order.
///
/// Only the block kernels carry the target feature: this function inlines into the model's
/// pass, where the sizes are constants, so it folds to one block kernel call that LLVM can
/// inline in turn (M1 went from ~140 to ~110 ns once whole layers inlined).
#[inline(always)]
unsafe fn gemv<V: Vector>(x: *const V::T, w: *const V::T, y: *mut V::T, k: usize, n: usize, backwards: bool) {
    let block = if V::WIDE { 8 } else { 4 } * V::LANES;
    let count = n.div_ceil(block);
    for j in 0..count {
        let o = block * if backwards { count - 1 - j } else { j };
        let width = (n - o).min(block);
        let blocks = width.div_ceil(V::LANES);
        let last = width - V::LANES * (blocks - 1);
        // SAFETY: `o + width <= n`, so every block is inside `w`'s rows and `y`.
        unsafe {
            let (w, y) = (w.add(o), y.add(o));
            if V::WIDE {
                match blocks {
                    1 => block512::<V, 1, 8>(x, w, y, k, n, last),
                    2 => block512::<V, 2, 4>(x, w, y, k, n, last),
                    3 => block512::<V, 3, 3>(x, w, y, k, n, last),
                    4 => block512::<V, 4, 2>(x, w, y, k, n, last),
                    5 => block512::<V, 5, 2>(x, w, y, k, n, last),
                    6 => block512::<V, 6, 2>(x, w, y, k, n, last),
                    7 => block512::<V, 7, 2>(x, w, y, k, n, last),
                    _ => block512::<V, 8, 2>(x, w, y, k, n, last),
                }
            } else {
                match blocks {
                    1 => block256::<V, 1, 8>(x, w, y, k, n, last),
                    2 => block256::<V, 2, 4>(x, w, y, k, n, last),
                    3 => block256::<V, 3, 3>(x, w, y, k, n, last),
                    _ => block256::<V, 4, 2>(x, w, y, k, n, last),
                }
            }
        }
    }
}

/// [`block`] compiled for AVX-512.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn block512<V: Vector, const NB: usize, const S: usize>(
    x: *const V::T,
    w: *const V::T,
    y: *mut V::T,
    k: usize,
    n: usize,
    last: usize,
) {
    // SAFETY: passed on from the caller.
    unsafe { block::<V, NB, S>(x, w, y, k, n, last) }
}

/// [`block`] compiled for AVX2.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn block256<V: Vector, const NB: usize, const S: usize>(
    x: *const V::T,
    w: *const V::T,
    y: *mut V::T,
    k: usize,
    n: usize,
    last: usize,
) {
    // SAFETY: passed on from the caller.
    unsafe { block::<V, NB, S>(x, w, y, k, n, last) }
}

/// One block of [`gemv`]: `NB` registers of outputs (`last` lanes real in the last one), `S`
/// running sums each.
#[inline(always)]
unsafe fn block<V: Vector, const NB: usize, const S: usize>(
    x: *const V::T,
    w: *const V::T,
    y: *mut V::T,
    k: usize,
    n: usize,
    last: usize,
) {
    // SAFETY: the caller keeps `k` rows of `n` values in `w` and `NB` registers of outputs
    // from here, the last of them masked to `last` lanes.
    unsafe {
        let lm = V::mask(last);
        let load = |p: *const V::T, b: usize| if b + 1 == NB { V::load_masked(p, lm) } else { V::load(p) };
        // The outputs' current values start the first running sums, so no add follows the
        // last FMA (a recurrent step waits on it).
        let mut acc = [[V::zero(); NB]; S];
        for b in 0..NB {
            acc[0][b] = load(y.add(V::LANES * b), b);
        }
        let mut i = 0;
        while i + S <= k {
            for s in 0..S {
                let a = V::splat(x.add(i + s));
                let row = w.add((i + s) * n);
                for b in 0..NB {
                    acc[s][b] = V::fmadd(a, load(row.add(V::LANES * b), b), acc[s][b]);
                }
            }
            i += S;
        }
        while i < k {
            let a = V::splat(x.add(i));
            let row = w.add(i * n);
            for b in 0..NB {
                acc[0][b] = V::fmadd(a, load(row.add(V::LANES * b), b), acc[0][b]);
            }
            i += 1;
        }
        for b in 0..NB {
            let out = fold(&mut acc, b);
            let yb = y.add(V::LANES * b);
            if b + 1 == NB { V::store_masked(yb, lm, out) } else { V::store(yb, out) }
        }
    }
}

/// The sum of the `S` running sums of register `b`, added as a tree: a chain of `S - 1` adds
/// would put their latency after the last FMA of a layer the next one waits for.
#[inline(always)]
unsafe fn fold<V: Vector, const NB: usize, const S: usize>(acc: &mut [[V; NB]; S], b: usize) -> V {
    let mut live = S;
    while live > 1 {
        let half = live / 2;
        for s in 0..half {
            // SAFETY: the caller runs under the registers' instruction set.
            acc[s][b] = unsafe { V::add(acc[s][b], acc[s + live - half][b]) };
        }
        live -= half;
    }
    acc[0][b]
}

/// The element types with kernels here, and their registers.
pub(crate) trait Simd: Copy {
    /// A 512-bit register of them.
    type Zmm: Vector<T = Self>;
    /// A 256-bit register of them.
    type Ymm: Vector<T = Self>;
}

impl Simd for f32 {
    type Zmm = F32x16;
    type Ymm = F32x8;
}

impl Simd for f64 {
    type Zmm = F64x8;
    type Ymm = F64x4;
}

/// [`gemm`] in AVX-512 registers.
///
/// # Safety
/// AVX-512F must be available; the operands hold every element `p` reads and writes.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn gemm512<T: Simd>(p: &Product, a: *const T, b: *const T, init: Init<T>, c: *mut T) {
    // SAFETY: passed on from the caller.
    unsafe { gemm::<T::Zmm>(p, a, b, init, c) }
}

/// [`gemm`] in AVX2 registers.
///
/// # Safety
/// AVX2 and FMA must be available; operands as for [`gemm512`].
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn gemm256<T: Simd>(p: &Product, a: *const T, b: *const T, init: Init<T>, c: *mut T) {
    // SAFETY: passed on from the caller.
    unsafe { gemm::<T::Ymm>(p, a, b, init, c) }
}

/// [`gemv`] in AVX-512 registers.
///
/// # Safety
/// AVX-512F must be available; `x` holds `k`, `w` `k × n` and `y` `n` values.
#[inline(always)]
pub(crate) unsafe fn gemv512<T: Simd>(
    x: *const T,
    w: *const T,
    y: *mut T,
    k: usize,
    n: usize,
    backwards: bool,
) {
    // SAFETY: passed on from the caller.
    unsafe { gemv::<T::Zmm>(x, w, y, k, n, backwards) }
}

/// [`gemv`] in AVX2 registers.
///
/// # Safety
/// AVX2 and FMA must be available; sizes as for [`gemv512`].
#[inline(always)]
pub(crate) unsafe fn gemv256<T: Simd>(
    x: *const T,
    w: *const T,
    y: *mut T,
    k: usize,
    n: usize,
    backwards: bool,
) {
    // SAFETY: passed on from the caller.
    unsafe { gemv::<T::Ymm>(x, w, y, k, n, backwards) }
}

/// The `f32` arithmetic the gate and optimizer kernels need beyond [`Vector`]: the lane
/// operations of the rational `tanh` and sigmoid and of Adam's quotient.
pub(crate) trait F32Math: Vector<T = f32> {
    unsafe fn set(v: f32) -> Self;
    unsafe fn mul(a: Self, b: Self) -> Self;
    unsafe fn sub(a: Self, b: Self) -> Self;
    unsafe fn div(a: Self, b: Self) -> Self;
    /// `√a`, correctly rounded.
    unsafe fn sqrt(a: Self) -> Self;
    /// `c - a · b`, one rounding.
    unsafe fn fnmadd(a: Self, b: Self, c: Self) -> Self;
    /// The larger lane (`b` where either is NaN).
    unsafe fn max(a: Self, b: Self) -> Self;
    /// `1 / a`, approximate: relative error below 2⁻¹¹ (AVX2's `rcpps`; AVX-512's is 2⁻¹⁴).
    unsafe fn rcp(a: Self) -> Self;
    unsafe fn abs(a: Self) -> Self;
    /// `a < b ? then : otherwise` per lane (false where either is NaN).
    unsafe fn select_lt(a: Self, b: Self, then: Self, otherwise: Self) -> Self;
    /// The lanes folded pairwise by halves, as sixteen lanes would be with the second eight (or
    /// the last eight of sixteen) first folded onto the first: `f(v[i], v[i + 8])`, then
    /// `f(·[i], ·[i + 4])`, `f(·[i], ·[i + 2])` and `f(·[0], ·[1])`. `max` picks as
    /// `if b > a { b } else { a }` (the first where either is NaN).
    unsafe fn fold(v: Self, max: bool) -> f32;
    /// `e · 2^n`, applied in two halves (`2^(n/2)`, then `2^(n - n/2)`), with `n` read from the
    /// low bits of `shifted` less those of `round` (`approx::exp_f32`'s power of two).
    unsafe fn times_pow2(e: Self, shifted: Self, round: Self) -> Self;
}

// Each register's intrinsics for `F32Math`, by name.
macro_rules! f32_math {
    ($name:ident, set: $set:ident, mul: $mul:ident, sub: $sub:ident, div: $div:ident, sqrt: $sqrt:ident,
     fnmadd: $fnmadd:ident, max: $max:ident, rcp: $rcp:ident, abs: |$aa:ident| $abs:expr, select_lt: |$la:ident, $lb:ident, $lt:ident, $lo:ident| $select:expr,
     eight: |$fv:ident, $fm:ident| $eight:expr,
     ints: $tobits:ident, $frombits:ident, $iset:ident, $iadd:ident, $isub:ident, $srai:ident, $slli:ident) => {
        impl F32Math for $name {
            #[inline(always)]
            unsafe fn set(v: f32) -> Self {
                unsafe { Self($set(v)) }
            }
            #[inline(always)]
            unsafe fn mul(a: Self, b: Self) -> Self {
                unsafe { Self($mul(a.0, b.0)) }
            }
            #[inline(always)]
            unsafe fn sub(a: Self, b: Self) -> Self {
                unsafe { Self($sub(a.0, b.0)) }
            }
            #[inline(always)]
            unsafe fn div(a: Self, b: Self) -> Self {
                unsafe { Self($div(a.0, b.0)) }
            }
            #[inline(always)]
            unsafe fn sqrt(a: Self) -> Self {
                unsafe { Self($sqrt(a.0)) }
            }
            #[inline(always)]
            unsafe fn fnmadd(a: Self, b: Self, c: Self) -> Self {
                unsafe { Self($fnmadd(a.0, b.0, c.0)) }
            }
            #[inline(always)]
            unsafe fn max(a: Self, b: Self) -> Self {
                unsafe { Self($max(a.0, b.0)) }
            }
            #[inline(always)]
            unsafe fn rcp(a: Self) -> Self {
                unsafe { Self($rcp(a.0)) }
            }
            #[inline(always)]
            unsafe fn abs($aa: Self) -> Self {
                unsafe { Self($abs) }
            }
            #[inline(always)]
            unsafe fn select_lt($la: Self, $lb: Self, $lt: Self, $lo: Self) -> Self {
                unsafe { Self($select) }
            }
            #[inline(always)]
            unsafe fn fold($fv: Self, $fm: bool) -> f32 {
                unsafe { fold8($eight, $fm) }
            }
            #[inline(always)]
            unsafe fn times_pow2(e: Self, shifted: Self, round: Self) -> Self {
                // SAFETY: the caller runs under the register's instruction set.
                unsafe {
                    let n = $isub($tobits(shifted.0), $tobits(round.0));
                    let half = $srai::<1>(n);
                    let first = $frombits($slli::<23>($iadd(half, $iset(127))));
                    let second = $frombits($slli::<23>($iadd($isub(n, half), $iset(127))));
                    Self($mul($mul(e.0, first), second))
                }
            }
        }
    };
}

/// [`F32Math::fold`] of eight lanes: halves, then quarters, then the last pair.
#[inline(always)]
unsafe fn fold8(v: __m256, max: bool) -> f32 {
    // SAFETY: the caller runs under AVX2.
    unsafe {
        // `f(a, b)` is `if b > a { b } else { a }`, which is `maxps(b, a)`.
        let f = |a: __m128, b: __m128| if max { _mm_max_ps(b, a) } else { _mm_add_ps(a, b) };
        let h = f(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let h = f(h, _mm_movehl_ps(h, h));
        _mm_cvtss_f32(f(h, _mm_shuffle_ps::<1>(h, h)))
    }
}

f32_math!(F32x16, set: _mm512_set1_ps, mul: _mm512_mul_ps, sub: _mm512_sub_ps, div: _mm512_div_ps, sqrt: _mm512_sqrt_ps,
    fnmadd: _mm512_fnmadd_ps, max: _mm512_max_ps, rcp: _mm512_rcp14_ps, abs: |a| _mm512_abs_ps(a.0),
    select_lt: |a, b, t, o| _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(a.0, b.0), o.0, t.0),
    eight: |v, max| {
        let (lo, hi) = (_mm512_castps512_ps256(v.0), _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v.0))));
        if max { _mm256_max_ps(hi, lo) } else { _mm256_add_ps(lo, hi) }
    },
    ints: _mm512_castps_si512, _mm512_castsi512_ps, _mm512_set1_epi32, _mm512_add_epi32, _mm512_sub_epi32,
    _mm512_srai_epi32, _mm512_slli_epi32);

f32_math!(F32x8, set: _mm256_set1_ps, mul: _mm256_mul_ps, sub: _mm256_sub_ps, div: _mm256_div_ps, sqrt: _mm256_sqrt_ps,
    fnmadd: _mm256_fnmadd_ps, max: _mm256_max_ps, rcp: _mm256_rcp_ps, abs: |a| _mm256_andnot_ps(_mm256_set1_ps(-0.0), a.0),
    select_lt: |a, b, t, o| _mm256_blendv_ps(o.0, t.0, _mm256_cmp_ps::<_CMP_LT_OQ>(a.0, b.0)),
    eight: |v, _max| v.0,
    ints: _mm256_castps_si256, _mm256_castsi256_ps, _mm256_set1_epi32, _mm256_add_epi32, _mm256_sub_epi32,
    _mm256_srai_epi32, _mm256_slli_epi32);

/// A few values of several registers gathered into one and back: the values past its first
/// register of four rows (at most two each) or of two rows (at most four), exponentiated in
/// one register rather than in two or four mostly empty ones.
pub(crate) trait Pieces: F32Math {
    /// The low 64 bits of each of `v`, in the four 64-bit quarters of the low 256 bits; zero
    /// above.
    unsafe fn quarters(v: [Self; 4]) -> Self;
    /// The low 128 bits of `a` and of `b`, in the two halves of the low 256 bits; zero above.
    unsafe fn halves(a: Self, b: Self) -> Self;
    /// Quarter `i` (below 4) of the low 256 bits of `p` in the low 64 bits; zero elsewhere.
    unsafe fn quarter(p: Self, i: usize) -> Self;
    /// Half `i` (below 2) of the low 256 bits of `p` in the low 128 bits; zero elsewhere.
    unsafe fn half(p: Self, i: usize) -> Self;
}

/// [`Pieces`] over 256 bits, which both registers' impls use.
mod pieces {
    use core::arch::x86_64::*;

    #[inline(always)]
    pub(super) unsafe fn quarters(v: [__m256; 4]) -> __m256 {
        // SAFETY: the caller runs under AVX.
        // (No closures: a closure does not inherit its caller's target features.)
        unsafe {
            let [a, b, c, d] = v;
            let (a, b) = (_mm_castps_pd(_mm256_castps256_ps128(a)), _mm_castps_pd(_mm256_castps256_ps128(b)));
            let (c, d) = (_mm_castps_pd(_mm256_castps256_ps128(c)), _mm_castps_pd(_mm256_castps256_ps128(d)));
            let ab = _mm_unpacklo_pd(a, b);
            let cd = _mm_unpacklo_pd(c, d);
            _mm256_insertf128_ps::<1>(_mm256_castps128_ps256(_mm_castpd_ps(ab)), _mm_castpd_ps(cd))
        }
    }

    #[inline(always)]
    pub(super) unsafe fn halves(a: __m256, b: __m256) -> __m256 {
        // SAFETY: the caller runs under AVX.
        unsafe { _mm256_insertf128_ps::<1>(a, _mm256_castps256_ps128(b)) }
    }

    #[inline(always)]
    pub(super) unsafe fn half(p: __m256, i: usize) -> __m128 {
        // SAFETY: the caller runs under AVX.
        unsafe { if i == 0 { _mm256_castps256_ps128(p) } else { _mm256_extractf128_ps::<1>(p) } }
    }

    #[inline(always)]
    pub(super) unsafe fn quarter(p: __m256, i: usize) -> __m128 {
        // SAFETY: the caller runs under AVX.
        unsafe {
            let h = _mm_castps_pd(half(p, i / 2));
            let q = if i.is_multiple_of(2) {
                _mm_move_sd(_mm_setzero_pd(), h)
            } else {
                _mm_unpackhi_pd(h, _mm_setzero_pd())
            };
            _mm_castpd_ps(q)
        }
    }
}

impl Pieces for F32x8 {
    #[inline(always)]
    unsafe fn quarters(v: [Self; 4]) -> Self {
        // SAFETY: the caller runs under AVX2.
        unsafe { F32x8(pieces::quarters([v[0].0, v[1].0, v[2].0, v[3].0])) }
    }
    #[inline(always)]
    unsafe fn halves(a: Self, b: Self) -> Self {
        // SAFETY: as above.
        unsafe { F32x8(pieces::halves(a.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn quarter(p: Self, i: usize) -> Self {
        // SAFETY: as above.
        unsafe { F32x8(_mm256_zextps128_ps256(pieces::quarter(p.0, i))) }
    }
    #[inline(always)]
    unsafe fn half(p: Self, i: usize) -> Self {
        // SAFETY: as above.
        unsafe { F32x8(_mm256_zextps128_ps256(pieces::half(p.0, i))) }
    }
}

impl Pieces for F32x16 {
    #[inline(always)]
    unsafe fn quarters(v: [Self; 4]) -> Self {
        // SAFETY: the caller runs under AVX-512F.
        unsafe {
            let [a, b, c, d] = [v[0].0, v[1].0, v[2].0, v[3].0];
            let low = [
                _mm512_castps512_ps256(a),
                _mm512_castps512_ps256(b),
                _mm512_castps512_ps256(c),
                _mm512_castps512_ps256(d),
            ];
            F32x16(_mm512_zextps256_ps512(pieces::quarters(low)))
        }
    }
    #[inline(always)]
    unsafe fn halves(a: Self, b: Self) -> Self {
        // SAFETY: as above.
        unsafe {
            let h = pieces::halves(_mm512_castps512_ps256(a.0), _mm512_castps512_ps256(b.0));
            F32x16(_mm512_zextps256_ps512(h))
        }
    }
    #[inline(always)]
    unsafe fn quarter(p: Self, i: usize) -> Self {
        // SAFETY: as above.
        unsafe { F32x16(_mm512_zextps128_ps512(pieces::quarter(_mm512_castps512_ps256(p.0), i))) }
    }
    #[inline(always)]
    unsafe fn half(p: Self, i: usize) -> Self {
        // SAFETY: as above.
        unsafe { F32x16(_mm512_zextps128_ps512(pieces::half(_mm512_castps512_ps256(p.0), i))) }
    }
}

/// `approx::exp_f32` over a register, operation for operation (no fused multiply-adds), so
/// each lane is the scalar function's result bit for bit (a NaN stays NaN).
#[inline(always)]
pub(crate) unsafe fn exp<V: F32Math>(x: V) -> V {
    use crate::approx::{EXP_CLAMP, EXP_OVERFLOW, EXP_POLY, LN2, ROUND};
    // SAFETY: the caller runs under the registers' instruction set.
    unsafe {
        let c = |v: f32| V::set(v);
        // `x.clamp(lo, hi)`: NaN passes through both comparisons.
        let lo = V::select_lt(x, c(EXP_CLAMP.0), c(EXP_CLAMP.0), x);
        let clamped = V::select_lt(c(EXP_CLAMP.1), lo, c(EXP_CLAMP.1), lo);
        let shifted = V::add(V::mul(clamped, c(core::f32::consts::LOG2_E)), c(ROUND));
        let n = V::sub(shifted, c(ROUND));
        let r = V::sub(V::sub(clamped, V::mul(n, c(LN2.0))), V::mul(n, c(LN2.1)));
        let mut p = c(EXP_POLY[0]);
        for &k in &EXP_POLY[1..] {
            p = V::add(V::mul(p, r), c(k));
        }
        let e = V::add(V::add(V::mul(V::mul(p, r), r), r), c(1.0));
        let y = V::times_pow2(e, shifted, c(ROUND));
        V::select_lt(c(EXP_OVERFLOW), x, c(f32::INFINITY), y)
    }
}

/// The polynomial `k[0] t^(N-1) + ... + k[N-1]` by Estrin's scheme (`t2 = t²`): pairs of
/// coefficients in parallel, then joined by powers of `t²`, so that its latency is about `log2 N`
/// fused multiply-adds rather than Horner's `N - 1`. The gates are one dependent chain per step,
/// so their latency is the step's.
#[inline(always)]
unsafe fn estrin<V: F32Math, const N: usize>(t: V, t2: V, k: &[f32; N]) -> V {
    // SAFETY: the caller runs under the registers' instruction set.
    unsafe {
        // Pairs from the constant term up: `k[N-1] + k[N-2] t`, then `k[N-3] + k[N-4] t`, ...
        let mut terms = [V::zero(); N];
        let mut len = 0;
        let mut i = N;
        while i >= 2 {
            terms[len] = V::fmadd(V::set(k[i - 2]), t, V::set(k[i - 1]));
            len += 1;
            i -= 2;
        }
        if i == 1 {
            terms[len] = V::set(k[0]);
            len += 1;
        }
        // Join neighbours with the next power: `a + t^(2^j) b`.
        let mut power = t2;
        while len > 1 {
            let mut joined = 0;
            let mut j = 0;
            while j < len {
                terms[joined] = if j + 1 < len { V::fmadd(terms[j + 1], power, terms[j]) } else { terms[j] };
                joined += 1;
                j += 2;
            }
            len = joined;
            if len > 1 {
                power = V::mul(power, power);
            }
        }
        terms[0]
    }
}

/// The gates' sigmoid over a register: `1/2 + tanh(x/2)/2` as `tanh_f32`'s rational, its
/// halvings folded into the coefficients (see `approx::SIGMOID_CLAMP`). No range reduction and
/// no power of two: about half the latency of `1 / (1 + e^-x)`, and GRU's `σ(r)` sits on the
/// step's one dependent chain. Past the rational's range the sigmoid is 0 or 1, chosen beside
/// the chain and blended in last (a NaN `x` stays NaN).
#[inline(always)]
unsafe fn sigmoid<V: F32Math>(x: V) -> V {
    use crate::approx::{SIGMOID_CLAMP, SIGMOID_P, SIGMOID_Q};
    // SAFETY: the caller runs under the registers' instruction set.
    unsafe {
        let x2 = V::mul(x, x);
        let x4 = V::mul(x2, x2);
        let (p, q) = (estrin(x2, x4, &SIGMOID_P), estrin(x2, x4, &SIGMOID_Q));
        // `x · P + Q/2` in one rounding: for negative `x` the two nearly cancel. `Q` has
        // fewer terms than `P`, so halving it (exactly) is done before `P` is.
        let s = V::div(V::fmadd(p, x, V::mul(q, V::set(0.5))), q);
        let saturated = V::select_lt(x, V::zero(), V::zero(), V::set(1.0));
        V::select_lt(V::set(SIGMOID_CLAMP), V::abs(x), saturated, s)
    }
}

/// `approx::tanh_f32` over a register: the same rational approximation, its polynomials in
/// fused multiply-adds, the numerator one polynomial in `x` (see `approx::TANH_NUMERATOR`).
/// Rather than clamping `x` first, which would put a min and a max at the head of the chain,
/// the rational runs on `x` as it is and lanes past the clamp take its value there, chosen
/// beside the chain and blended in last.
#[inline(always)]
unsafe fn tanh<V: F32Math>(x: V) -> V {
    use crate::approx::{TANH_CLAMP, TANH_LINEAR, TANH_NUMERATOR, TANH_Q, tanh_f32};
    // SAFETY: the caller runs under the registers' instruction set.
    unsafe {
        let c = |v: f32| V::set(v);
        let x2 = V::mul(x, x);
        let t = V::div(estrin(x, x2, &TANH_NUMERATOR), estrin(x2, V::mul(x2, x2), &TANH_Q));
        let edge = tanh_f32(TANH_CLAMP);
        let ax = V::abs(x);
        let t = V::select_lt(c(TANH_CLAMP), ax, V::select_lt(x, V::zero(), c(-edge), c(edge)), t);
        V::select_lt(ax, c(TANH_LINEAR), x, t)
    }
}

/// One register of units of [`cell`] at unit `o`: lanes `0..count` real.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn cell_lanes<V: F32Math>(
    kind: Gates,
    n: usize,
    o: usize,
    count: usize,
    x: *const f32,
    s: *const f32,
    h: *mut f32,
    c: *mut f32,
) {
    // SAFETY: the caller keeps `gates · n` values in `x` and `s`, `n` in `h` and `c`, and
    // `o + count <= n`; masks keep every access within `count`.
    unsafe {
        let m = V::mask(count);
        let whole = count >= V::LANES;
        let ld = |p: *const f32, g: usize| {
            let p = p.add(g * n + o);
            if whole { V::load(p) } else { V::load_masked(p, m) }
        };
        let st =
            |p: *mut f32, v: V| if whole { V::store(p.add(o), v) } else { V::store_masked(p.add(o), m, v) };
        match kind {
            Gates::Simple => st(h, tanh(V::add(ld(x, 0), ld(s, 0)))),
            Gates::Gru => {
                let z = sigmoid(V::add(ld(s, 0), ld(x, 0)));
                let r = sigmoid(V::add(ld(s, 1), ld(x, 1)));
                // Rounded as the portable cell rounds it: a fused multiply-add would differ where
                // `x_h` and `r · s_h` nearly cancel, which `tanh` passes on near zero.
                let cand = tanh(V::add(ld(x, 2), V::mul(r, ld(s, 2))));
                // `z · h` is ready long before `h̃`, so one FMA follows `tanh`.
                st(h, V::fmadd(V::sub(V::set(1.0), z), cand, V::mul(z, ld(h, 0))));
            }
            Gates::Lstm => {
                let pre = |g| V::add(ld(s, g), ld(x, g));
                let (i, f, g, out) = (sigmoid(pre(0)), sigmoid(pre(1)), tanh(pre(2)), sigmoid(pre(3)));
                let cv = V::fmadd(f, ld(c, 0), V::mul(i, g));
                st(c, cv);
                st(h, V::mul(out, tanh(cv)));
            }
        }
    }
}

/// The gates and state update of a recurrent cell with Keras's default activations, after its
/// projections (see [`Gates`]), one register of units at a time: every gate of those units is
/// computed, activated and folded into the state without leaving registers.
#[inline(always)]
unsafe fn cell<V: F32Math>(kind: Gates, n: usize, x: *const f32, s: *const f32, h: *mut f32, c: *mut f32) {
    let mut o = 0;
    while o < n {
        // SAFETY: passed on from the caller, `o < n`.
        unsafe { cell_lanes::<V>(kind, n, o, (n - o).min(V::LANES), x, s, h, c) };
        o += V::LANES;
    }
}

/// [`cell`] in AVX-512 registers.
///
/// # Safety
/// AVX-512F, AVX2 and FMA must be available; `x` and `s` hold `kind.gates() · n` values, `h`
/// `n` and, for LSTM, `c` `n`.
///
/// Units that are not a whole number of 512-bit registers (8 of a GRU(8)) run in 256-bit ones
/// (the level has AVX2 and FMA too): whole registers need no masks, and a masked load of a
/// gate the projection just stored waits for the store to retire rather than being forwarded.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn cell512(kind: Gates, n: usize, x: *const f32, s: *const f32, h: *mut f32, c: *mut f32) {
    // SAFETY: passed on from the caller.
    unsafe {
        if n.is_multiple_of(F32x16::LANES) {
            cell::<F32x16>(kind, n, x, s, h, c)
        } else {
            cell::<F32x8>(kind, n, x, s, h, c)
        }
    }
}

/// [`cell`] in AVX2 registers.
///
/// # Safety
/// AVX2 and FMA must be available; sizes as for [`cell512`].
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn cell256(kind: Gates, n: usize, x: *const f32, s: *const f32, h: *mut f32, c: *mut f32) {
    // SAFETY: passed on from the caller.
    unsafe { cell::<F32x8>(kind, n, x, s, h, c) }
}

#[cfg(test)]
mod tests {
    use super::{F32x8, F32x16, Heights, Pieces, Vector};
    use crate::kernels::cpu::{self, Level};
    use alloc::vec::Vec;

    /// # Safety
    /// `V`'s instruction set is available.
    unsafe fn check_pieces<V: Pieces + Vector<T = f32>>() {
        let lanes = V::LANES;
        // SAFETY: as the caller promised; every array holds a register's lanes.
        unsafe {
            let reg = |k: usize| {
                let values: Vec<f32> = (0..lanes).map(|i| (k * 100 + i) as f32).collect();
                V::load(values.as_ptr())
            };
            let lanes_of = |v: V| {
                let mut out = alloc::vec![0.0f32; lanes];
                V::store(out.as_mut_ptr(), v);
                out
            };
            let padded = |head: &[f32]| {
                let mut out = alloc::vec![0.0f32; lanes];
                out[..head.len()].copy_from_slice(head);
                out
            };
            let q = V::quarters([reg(0), reg(1), reg(2), reg(3)]);
            assert_eq!(lanes_of(q), padded(&[0.0, 1.0, 100.0, 101.0, 200.0, 201.0, 300.0, 301.0]));
            for i in 0..4 {
                let k = (100 * i) as f32;
                assert_eq!(lanes_of(V::quarter(q, i)), padded(&[k, k + 1.0]));
            }
            let h = V::halves(reg(0), reg(1));
            assert_eq!(lanes_of(h), padded(&[0.0, 1.0, 2.0, 3.0, 100.0, 101.0, 102.0, 103.0]));
            assert_eq!(lanes_of(V::half(h, 0)), padded(&[0.0, 1.0, 2.0, 3.0]));
            assert_eq!(lanes_of(V::half(h, 1)), padded(&[100.0, 101.0, 102.0, 103.0]));
        }
    }

    #[test]
    fn pieces_gather_the_low_quarters_and_halves_of_registers_and_give_them_back() {
        if cpu::supports(Level::Avx2) {
            // SAFETY: the CPU has AVX2.
            unsafe { check_pieces::<F32x8>() };
        }
        if cpu::supports(Level::Avx512) {
            // SAFETY: the CPU has AVX-512F.
            unsafe { check_pieces::<F32x16>() };
        }
    }

    /// The tiles the greedy split makes: each as tall as the rows left over the tiles left.
    fn greedy(rows: usize, max: usize) -> Vec<usize> {
        let (mut out, mut left) = (Vec::new(), rows);
        while left > 0 {
            let h = left.div_ceil(left.div_ceil(max));
            out.push(h);
            left -= h;
        }
        out
    }

    #[test]
    fn heights_split_rows_as_evenly_as_tiles_of_at_most_max_allow_taller_first() {
        let of = |rows, max| {
            let h = Heights::new(rows, max);
            (0..h.tiles).map(|t| h.of(t)).collect::<Vec<_>>()
        };
        assert_eq!(of(64, 12), [11, 11, 11, 11, 10, 10]);
        assert_eq!(of(32, 6), [6, 6, 5, 5, 5, 5]);
        assert!(of(0, 6).is_empty());
        for max in [1, 2, 3, 6, 12] {
            for rows in 1..500 {
                assert_eq!(of(rows, max), greedy(rows, max), "{rows} rows, at most {max}");
            }
        }
    }
}
