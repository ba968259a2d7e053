//! The backward pass of a batched product `y = x · w`: a Dense layer's over its rows, a
//! convolution's over the patches it gathers from its input, a separable convolution's over
//! its depthwise pixels. Shared so that every such layer's weight and input gradients run on
//! the batched kernels of `kernels::gemm`.
//!
//! Both gradients are products the kernels take as they stand: the weight gradient
//! `g += xᵀ · dy` reads `x` through a transpose's strides (the kernels broadcast `A` one value
//! at a time, so its strides cost nothing) and adds into `g` in Keras's layout; the rows'
//! gradient `dy · wᵀ` needs `wᵀ` in rows, which is transposed once per call onto the stack.

use crate::Float;
use crate::kernels::cpu::Level;
use crate::kernels::gemm::{self, Product, Start};
use crate::train::Write;
use core::mem::MaybeUninit;

/// Values of the kernel's transpose that the rows' gradient holds at a time on the stack (32
/// KiB of `f32`): all of a 3×3 convolution's from 32 to 56 channels, so that it is transposed
/// once per call rather than once per block of rows (a fifth of a KWS training step when it
/// held half as many).
const WT_VALUES: usize = 8192;

/// Where a product writing a gradient as `write` says starts: over the destination (zero),
/// or from its values.
#[inline(always)]
fn start<'a, T>(write: Write) -> Start<'a, T> {
    match write {
        Write::Set => Start::Zero,
        Write::Add => Start::Add,
    }
}

/// `g (k × f) = xᵀ · dy`, or `+=` (`write`), over the rows `dy` holds, with `x` row-major (`k`
/// values a row).
#[inline(always)]
fn weight_gradient<T: Float>(level: Level, x: &[T], dy: &[T], g: &mut [T], k: usize, f: usize, write: Write) {
    let rows = dy.len() / f;
    let p = Product { m: k, k: rows, n: f, a_row: 1, a_col: k, ldb: f, ldc: f, ..Product::default() };
    gemm::product(level, &p, x, dy, g, start(write));
}

/// Outputs fewer than this fill too little of a register for [`weight_gradient`]'s tiles,
/// whose registers lie along them: a 10-class Dense layer's used 10 lanes of 16.
const NARROW: usize = 16;

/// [`weight_gradient`] for `f` below [`NARROW`]: `gᵀ` (`f × k`) computed into `t`, whose
/// registers lie along the `k` inputs, then written or added into `g` transposed. On the digits MLP's
/// 10-class layer (`k` 64), the product ran 1.6× (AVX-512) to 2.3× (AVX2) faster.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn narrow_weight_gradient<T: Float>(
    level: Level,
    x: &[T],
    dy: &[T],
    g: &mut [T],
    k: usize,
    f: usize,
    t: &mut Transpose<T>,
    write: Write,
) {
    let rows = dy.len() / f;
    let p = Product { m: f, k: rows, n: k, a_row: 1, a_col: f, ldb: k, ldc: k, ..Product::default() };
    let t = t.zeroed(f * k);
    gemm::product(level, &p, dy, x, t, Start::Zero);
    crate::kernels::transpose::transpose(level, t, k, f, k, g, f, write == Write::Add);
}

/// `g = Σ rows of dy`, or `+=` (`write`), `g.len()` wide: a bias's gradient. Summed a block of up to 64 values
/// at a time in a local array, which stays in registers: summed in `g`'s memory, every row
/// waited on the store of the last (a seventh of a convolution's backward pass).
#[inline(always)]
pub(super) fn bias_gradient<T: Float>(dy: &[T], g: &mut [T], write: Write) {
    const BLOCK: usize = 64;
    let n = g.len();
    for c0 in (0..n).step_by(BLOCK) {
        let w = BLOCK.min(n - c0);
        let mut sum = [T::ZERO; BLOCK];
        if write == Write::Add {
            sum[..w].copy_from_slice(&g[c0..c0 + w]);
        }
        for row in dy.chunks_exact(n) {
            for (s, d) in sum.iter_mut().zip(&row[c0..c0 + w]) {
                *s += *d;
            }
        }
        g[c0..c0 + w].copy_from_slice(&sum[..w]);
    }
}

/// Room on the stack for a block of a kernel's transpose, initialised only as far as a block
/// writes it: zeroing 32 KiB for a 10-class Dense layer's 640 values cost more than its
/// transpose.
struct Transpose<T> {
    values: [MaybeUninit<T>; WT_VALUES],
    /// How many values the last [`Transpose::fill`] wrote: `values[..len]` are initialised.
    len: usize,
}

impl<T: Float> Transpose<T> {
    #[inline(always)]
    fn new() -> Self {
        Transpose { values: [MaybeUninit::uninit(); WT_VALUES], len: 0 }
    }

    /// Writes `rows × cols` values (at most [`WT_VALUES`]), `at(r, c)` at `r * cols + c`, in
    /// order (the strided reads are `at`'s: cheaper than strided writes).
    #[inline(always)]
    fn fill(&mut self, rows: usize, cols: usize, at: impl Fn(usize, usize) -> T) {
        let len = (rows * cols).min(WT_VALUES);
        for (r, row) in self.values[..len].chunks_exact_mut(cols.max(1)).enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                v.write(at(r, c));
            }
        }
        self.len = len / cols.max(1) * cols;
    }

    /// The first `len` values (at most [`WT_VALUES`]), zeroed, for a product to write.
    #[inline(always)]
    fn zeroed(&mut self, len: usize) -> &mut [T] {
        self.fill(1, len.min(WT_VALUES), |_, _| T::ZERO);
        let len = self.len;
        // SAFETY: `fill` wrote the first `len` values, and `MaybeUninit<T>` has `T`'s layout.
        unsafe { core::slice::from_raw_parts_mut(self.values.as_mut_ptr().cast::<T>(), len) }
    }

    /// Columns `c0..c0 + cols` of the `rows` rows of `w` (`ld` apart), transposed: `cols`
    /// rows of `rows` values (at most [`WT_VALUES`] in all).
    #[inline(always)]
    fn transpose_of(&mut self, level: Level, w: &[T], ld: usize, c0: usize, rows: usize, cols: usize) {
        let len = rows * cols;
        let dst = self.zeroed(len);
        crate::kernels::transpose::transpose(
            level,
            w.get(c0..).unwrap_or_default(),
            ld,
            rows,
            cols,
            dst,
            rows,
            false,
        );
    }

    /// What the last [`Transpose::fill`] wrote.
    #[inline(always)]
    fn filled(&self) -> &[T] {
        // SAFETY: `fill` wrote every value of `values[..len]` (whole rows of `cols`, which is
        // what `len` counts), and `MaybeUninit<T>` has `T`'s layout.
        unsafe { core::slice::from_raw_parts(self.values.as_ptr().cast::<T>(), self.len) }
    }
}

/// The backward pass of `y = x · w` over contiguous rows: `x` holds rows of `K` values, `dy`
/// their gradients (`F` values each), `w` is `K × F` in Keras's layout. `g` (`w`'s shape)
/// gets `xᵀ · dy`, `dx` (`x`'s shape) gets `dy · wᵀ`, each set or added as `writes` says.
/// Returns `false`, touching nothing, where `F` is too wide for a column of `wᵀ` on the stack.
// Inlined where optimized (the frames' buffers then share one slot, and the layer's sizes fold
// into the loops); never in unoptimized builds, where each inlined copy keeps its own room for
// a transpose and a model of many layers overflowed a test thread's stack.
#[cfg_attr(debug_assertions, inline(never))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(super) fn rows_backward<T: Float, const K: usize, const F: usize>(
    level: Level,
    x: &[T],
    dy: &[T],
    w: &[T],
    g: Option<&mut [T]>,
    dx: Option<&mut [T]>,
    writes: crate::train::Writes,
) -> bool {
    let (k, f) = (K, F);
    if k == 0 || f == 0 || f > WT_VALUES || w.len() < k * f {
        return false;
    }
    let mut wt = Transpose::new();
    if let Some(g) = g {
        if f < NARROW && k > f && k * f <= WT_VALUES {
            narrow_weight_gradient(level, x, dy, g, k, f, &mut wt, writes.grads);
        } else {
            weight_gradient(level, x, dy, g, k, f, writes.grads);
        }
    }
    if let Some(dx) = dx {
        let rows = dy.len() / f;
        let qb = (WT_VALUES / f).min(k);
        for q0 in (0..k).step_by(qb) {
            // Columns `q0..q0 + qs` of `wᵀ`, as `f` rows of `qs`.
            let qs = qb.min(k - q0);
            wt.transpose_of(level, &w[q0 * f..], f, 0, qs, f);
            let p =
                Product { m: rows, k: f, n: qs, a_row: f, a_col: 1, ldb: qs, ldc: k, ..Product::default() };
            gemm::product(
                level,
                &p,
                dy,
                wt.filled(),
                dx.get_mut(q0..).unwrap_or_default(),
                start(writes.dxs),
            );
        }
    }
    true
}

/// Where the rows of a product's `x` come from, and where their gradient goes back to: each
/// row a patch `[kh][kw][c]` of the layer's input (a convolution's, [`super::window`]'s
/// `Patches`; for a separable convolution's pointwise step, a pixel of the depthwise output).
/// A trait rather than closures: its methods inline into the pass, so the arithmetic that
/// finds a row's sample and pixel divides by constants (called as closures, they stayed out
/// of line and divided at run time, a seventh of a KWS training step).
pub(super) trait Rows<T, const KH: usize, const KW: usize, const C: usize> {
    /// Writes row `q` of `x`.
    fn gather(&mut self, q: usize, row: &mut [[[T; C]; KW]; KH]);
    /// Whether the rows' gradient goes anywhere.
    fn scatters(&self) -> bool;
    /// Takes row `q`'s gradient, `dy · wᵀ`, back to where the row came from (possibly in
    /// several parts, which add up).
    fn scatter(&mut self, q: usize, row: &[[[T; C]; KW]; KH]);
}

/// [`Rows`] from two closures, for a layer whose rows are few enough not to matter.
pub(super) struct ByClosures<G, S> {
    pub gather: G,
    pub scatter: Option<S>,
}

impl<T, const KH: usize, const KW: usize, const C: usize, G, S> Rows<T, KH, KW, C> for ByClosures<G, S>
where
    G: FnMut(usize, &mut [[[T; C]; KW]; KH]),
    S: FnMut(usize, &[[[T; C]; KW]; KH]),
{
    #[inline(always)]
    fn gather(&mut self, q: usize, row: &mut [[[T; C]; KW]; KH]) {
        (self.gather)(q, row);
    }
    #[inline(always)]
    fn scatters(&self) -> bool {
        self.scatter.is_some()
    }
    #[inline(always)]
    fn scatter(&mut self, q: usize, row: &[[[T; C]; KW]; KH]) {
        if let Some(scatter) = self.scatter.as_mut() {
            scatter(q, row);
        }
    }
}

/// The backward pass of `y = x · w` over the `total` rows whose gradient `dy` holds (`F`
/// values each), `ROWS` at a time, each row of `x` gathered by `rows` (which takes the rows'
/// gradient, `dy · wᵀ`, back if it [scatters](Rows::scatters)); `g` (`w`'s shape) gains
/// `xᵀ · dy`. Returns `false`, touching nothing, for a patch too wide for a row of `wᵀ` on
/// the stack.
///
/// Each block of rows is gathered once: its weight gradient added into `g`, then the same
/// buffer overwritten with the rows' gradient, `wᵀ`'s filters a block at a time (transposed
/// once for the whole call when all of them fit). On 64 samples in `f32` (KWS's and Sensor's
/// convolutions, a 3×3 one of 32 to 32 channels), the two took 2.5 to 6 times the forward
/// pass, and 3 to 13 times less than the direct loop.
// Inlined where optimized, as `rows_backward`: the rows' divisions by the window's sizes then
// become multiplications by constants.
#[cfg_attr(debug_assertions, inline(never))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(super) fn product_backward<
    T: Float,
    const ROWS: usize,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const F: usize,
>(
    level: Level,
    dy: &[T],
    w: &[T],
    mut g: Option<&mut [T]>,
    rows: &mut impl Rows<T, KH, KW, C>,
) -> bool {
    let k = KH * KW * C;
    let fb = (WT_VALUES / k.max(1)).min(F);
    if k == 0 || F == 0 || fb == 0 || w.len() < k * F || g.as_ref().is_some_and(|g| g.len() < k * F) {
        return false;
    }
    let total = dy.len() / F;
    let scatters = rows.scatters();
    let mut block = [[[[T::ZERO; C]; KW]; KH]; ROWS];
    let mut wt = Transpose::new();
    // Which block of filters `wt` holds: with all of them (the usual case), it is transposed
    // once for the call.
    let mut held = None;
    for start in (0..total).step_by(ROWS) {
        let n = ROWS.min(total - start);
        let dy = &dy[start * F..(start + n) * F];
        // Without a weight gradient the rows are not read: their gradient overwrites them.
        if g.is_some() {
            for (r, row) in block[..n].iter_mut().enumerate() {
                rows.gather(start + r, row);
            }
        }
        let x = block[..n].as_flattened_mut().as_flattened_mut().as_flattened_mut();
        if let Some(g) = g.as_deref_mut() {
            weight_gradient(level, x, dy, g, k, F, Write::Add);
        }
        if !scatters {
            continue;
        }
        // `x`'s rows become their gradient, `dy · wᵀ`, `fb` filters at a time.
        for f0 in (0..F).step_by(fb) {
            let fs = fb.min(F - f0);
            if held != Some(f0) {
                wt.transpose_of(level, w, F, f0, k, fs);
                held = Some(f0);
            }
            let p = Product { m: n, k: fs, n: k, a_row: F, a_col: 1, ldb: k, ldc: k, ..Product::default() };
            let start = if f0 == 0 { Start::Zero } else { Start::Add };
            gemm::product(level, &p, &dy[f0..], wt.filled(), x, start);
        }
        for (r, row) in block[..n].iter().enumerate() {
            rows.scatter(start + r, row);
        }
    }
    true
}

/// The backward pass of a product whose *outputs* are scattered: a transposed convolution's,
/// whose forward pass is [`product_backward`]'s rows' gradient (each input row times `wᵀ`,
/// added onto the patch of outputs it reaches). `rows` gathers the patch of output gradients
/// each input row reached (`KH × KW × C` values); over `ROWS` of them at a time, `g` (`w`'s
/// shape) gains `patchesᵀ · x` and `dx` (`x`'s shape, `F` values a row) gains `patches · w`,
/// `w` being `(KH · KW · C) × F`: a convolution's forward pass over the output gradient.
#[cfg_attr(debug_assertions, inline(never))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(super) fn scattered_backward<
    T: Float,
    const ROWS: usize,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const F: usize,
>(
    level: Level,
    x: &[T],
    w: &[T],
    mut g: Option<&mut [T]>,
    mut dx: Option<&mut [T]>,
    rows: &mut impl Rows<T, KH, KW, C>,
) {
    let k = KH * KW * C;
    if F == 0 || (g.is_none() && dx.is_none()) {
        return;
    }
    let total = x.len() / F;
    let mut block = [[[[T::ZERO; C]; KW]; KH]; ROWS];
    for start in (0..total).step_by(ROWS) {
        let n = ROWS.min(total - start);
        for (r, row) in block[..n].iter_mut().enumerate() {
            rows.gather(start + r, row);
        }
        let patches = block[..n].as_flattened().as_flattened().as_flattened();
        let x = &x[start * F..(start + n) * F];
        if let Some(g) = g.as_deref_mut() {
            weight_gradient(level, patches, x, g, k, F, Write::Add);
        }
        if let Some(dx) = dx.as_deref_mut() {
            let p = Product { m: n, k, n: F, a_row: k, a_col: 1, ldb: F, ldc: F, ..Product::default() };
            gemm::product(level, &p, patches, w, &mut dx[start * F..(start + n) * F], Start::Add);
        }
    }
}
