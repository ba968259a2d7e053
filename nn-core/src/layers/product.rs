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
use core::mem::MaybeUninit;

/// Values of the kernel's transpose that the rows' gradient holds at a time on the stack (32
/// KiB of `f32`): all of a 3×3 convolution's from 32 to 56 channels, so that it is transposed
/// once per call rather than once per block of rows (a fifth of a KWS training step when it
/// held half as many).
const WT_VALUES: usize = 8192;

/// `g (k × f) += xᵀ · dy` over the rows `dy` holds, with `x` row-major (`k` values a row).
#[inline(always)]
fn weight_gradient<T: Float>(level: Level, x: &[T], dy: &[T], g: &mut [T], k: usize, f: usize) {
    let rows = dy.len() / f;
    let p = Product { m: k, k: rows, n: f, a_row: 1, a_col: k, ldb: f, ldc: f };
    gemm::product(level, &p, x, dy, g, Start::Add);
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
/// gains `xᵀ · dy`, `dx` (`x`'s shape) gains `dy · wᵀ`. Returns `false`, touching nothing,
/// where `F` is too wide for a column of `wᵀ` on the stack.
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
) -> bool {
    let (k, f) = (K, F);
    if k == 0 || f == 0 || f > WT_VALUES || w.len() < k * f {
        return false;
    }
    if let Some(g) = g {
        weight_gradient(level, x, dy, g, k, f);
    }
    if let Some(dx) = dx {
        let rows = dy.len() / f;
        let qb = (WT_VALUES / f).min(k);
        let mut wt = Transpose::new();
        for q0 in (0..k).step_by(qb) {
            // Columns `q0..q0 + qs` of `wᵀ`, as `f` rows of `qs`.
            let qs = qb.min(k - q0);
            wt.fill(f, qs, |j, q| w[(q0 + q) * f + j]);
            let p = Product { m: rows, k: f, n: qs, a_row: f, a_col: 1, ldb: qs, ldc: k };
            gemm::product(level, &p, dy, wt.filled(), dx.get_mut(q0..).unwrap_or_default(), Start::Add);
        }
    }
    true
}

/// The backward pass of `y = x · w` over the `total` rows whose gradient `dy` holds (`F`
/// values each), `ROWS` at a time, where each row of `x` is gathered from the layer's input as
/// a patch `[kh][kw][c]` (a convolution's; for a separable convolution's pointwise step, a
/// pixel of the depthwise output). `gather(q, row)` writes row `q` of `x`; `scatter(q, row)`
/// takes row `q`'s gradient, `dy · wᵀ`, back to where it came from (possibly in several
/// parts, which add up); `g` (`w`'s shape) gains `xᵀ · dy`. Returns `false`, touching
/// nothing, for a patch too wide for a row of `wᵀ` on the stack.
///
/// Each block of rows is gathered once: its weight gradient added into `g`, then the same
/// buffer overwritten with the rows' gradient, `wᵀ`'s filters a block at a time (transposed
/// once for the whole call when all of them fit). On 64 samples in `f32` (KWS's and Sensor's
/// convolutions, a 3×3 one of 32 to 32 channels), the two took 2.5 to 6 times the forward
/// pass, and 3 to 13 times less than the direct loop.
// Inlined where optimized, as `rows_backward`: the closures' divisions by the window's sizes
// then become multiplications by constants.
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
    mut gather: impl FnMut(usize, &mut [[[T; C]; KW]; KH]),
    mut scatter: Option<impl FnMut(usize, &[[[T; C]; KW]; KH])>,
) -> bool {
    let k = KH * KW * C;
    let fb = (WT_VALUES / k.max(1)).min(F);
    if k == 0 || F == 0 || fb == 0 || w.len() < k * F || g.as_ref().is_some_and(|g| g.len() < k * F) {
        return false;
    }
    let total = dy.len() / F;
    let mut rows = [[[[T::ZERO; C]; KW]; KH]; ROWS];
    let mut wt = Transpose::new();
    // Which block of filters `wt` holds: with all of them (the usual case), it is transposed
    // once for the call.
    let mut held = None;
    for start in (0..total).step_by(ROWS) {
        let n = ROWS.min(total - start);
        let dy = &dy[start * F..(start + n) * F];
        if g.is_some() || scatter.is_some() {
            for (r, row) in rows[..n].iter_mut().enumerate() {
                gather(start + r, row);
            }
        }
        let x = rows[..n].as_flattened_mut().as_flattened_mut().as_flattened_mut();
        if let Some(g) = g.as_deref_mut() {
            weight_gradient(level, x, dy, g, k, F);
        }
        let Some(scatter) = scatter.as_mut() else { continue };
        // `x`'s rows become their gradient, `dy · wᵀ`, `fb` filters at a time.
        for f0 in (0..F).step_by(fb) {
            let fs = fb.min(F - f0);
            if held != Some(f0) {
                wt.fill(fs, k, |j, q| w[q * F + f0 + j]);
                held = Some(f0);
            }
            let p = Product { m: n, k: fs, n: k, a_row: F, a_col: 1, ldb: k, ldc: k };
            let start = if f0 == 0 { Start::Zero } else { Start::Add };
            gemm::product(level, &p, &dy[f0..], wt.filled(), x, start);
        }
        for (r, row) in rows[..n].iter().enumerate() {
            scatter(start + r, row);
        }
    }
    true
}
