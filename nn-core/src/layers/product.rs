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

/// Values of the kernel's transpose that the rows' gradient holds at a time on the stack
/// (16 KiB of `f32`; zeroing it costs a tenth of a 64 × 64 layer's products at batch 32).
const WT_VALUES: usize = 4096;

/// `g (k × f) += xᵀ · dy` over the rows `dy` holds, with `x` row-major (`k` values a row).
#[inline(always)]
fn weight_gradient<T: Float>(level: Level, x: &[T], dy: &[T], g: &mut [T], k: usize, f: usize) {
    let rows = dy.len() / f;
    let p = Product { m: k, k: rows, n: f, a_row: 1, a_col: k, ldb: f, ldc: f };
    gemm::product(level, &p, x, dy, g, Start::Add);
}

/// Columns `q0..q0 + qs` of `wᵀ` (`f × k`, `w` being `k × f` row-major) as `f` rows of `qs`,
/// written in order (strided loads are cheaper than strided stores).
#[inline(always)]
fn transpose<T: Float>(w: &[T], f: usize, q0: usize, qs: usize, wt: &mut [T]) {
    let w = &w[q0 * f..(q0 + qs) * f];
    for (j, row) in wt[..f * qs].chunks_exact_mut(qs).enumerate() {
        for (q, v) in row.iter_mut().enumerate() {
            *v = w[q * f + j];
        }
    }
}

/// The backward pass of `y = x · w` over contiguous rows: `x` holds rows of `K` values, `dy`
/// their gradients (`F` values each), `w` is `K × F` in Keras's layout. `g` (`w`'s shape)
/// gains `xᵀ · dy`, `dx` (`x`'s shape) gains `dy · wᵀ`. Returns `false`, touching nothing,
/// where `F` is too wide for a column of `wᵀ` on the stack.
#[inline(always)]
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
        let mut wt = [T::ZERO; WT_VALUES];
        for q0 in (0..k).step_by(qb) {
            let qs = qb.min(k - q0);
            transpose(w, f, q0, qs, &mut wt);
            let p = Product { m: rows, k: f, n: qs, a_row: f, a_col: 1, ldb: qs, ldc: k };
            gemm::product(level, &p, dy, &wt[..f * qs], dx.get_mut(q0..).unwrap_or_default(), Start::Add);
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
#[inline(always)]
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
    let mut wt = [T::ZERO; WT_VALUES];
    let whole = fb == F;
    if whole && scatter.is_some() {
        transpose(w, F, 0, k, &mut wt);
    }
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
            if !whole {
                // Rows `f0..f0 + fs` of `wᵀ`: the transpose of `w`'s columns `f0..`, as `fs`
                // rows of `k`.
                for (q, wrow) in w.chunks_exact(F).enumerate() {
                    for (j, &v) in wrow[f0..f0 + fs].iter().enumerate() {
                        wt[j * k + q] = v;
                    }
                }
            }
            let wt = if whole { &wt[f0 * k..(f0 + fs) * k] } else { &wt[..fs * k] };
            let p = Product { m: n, k: fs, n: k, a_row: F, a_col: 1, ldb: k, ldc: k };
            let start = if f0 == 0 { Start::Zero } else { Start::Add };
            gemm::product(level, &p, &dy[f0..], wt, x, start);
        }
        for (r, row) in rows[..n].iter().enumerate() {
            scatter(start + r, row);
        }
    }
    true
}
