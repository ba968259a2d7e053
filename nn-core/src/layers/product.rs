//! The backward pass of a batched product `y = x · w` whose rows are gathered from a layer's
//! input: a convolution's patches, a separable convolution's depthwise pixels, a Dense layer's
//! rows. Shared so that every such layer's weight and input gradients run on the batched
//! kernels of `kernels::gemm`.

use crate::Float;
use crate::kernels::cpu::Level;
use crate::kernels::gemm;

/// Values of the kernel's transpose, or of its gradient's, that the backward products hold at a
/// time on the stack (32 KiB of `f32`, twice: the gradient's product goes through a buffer of
/// its own, since the batched kernel overwrites its output).
const KT_VALUES: usize = 8192;
/// Values of a block's output gradient transposed, for the filters in hand.
const DYT_VALUES: usize = 2048;

/// The backward pass of the product `y = x · w` over the `total` rows whose gradient `dy`
/// holds (`F` values each), `ROWS` at a time, where each row of `x` is gathered from the
/// layer's input as a patch `[kh][kw][c]` (a convolution's; for a separable convolution's
/// pointwise step, a pixel of the depthwise output). `gather(q, row)` writes row `q` of `x`;
/// `scatter(q, row)` takes row `q`'s gradient, `dy · wᵀ`, back to where it came from
/// (possibly in several parts, which add up); `g` (`w`'s shape) gains `xᵀ · dy`. Returns
/// `false`, touching nothing, for a row too wide for the stack's transposes.
///
/// Both run on the batched kernels and neither transposes `x` (a patch is usually wider than
/// the filters): the weight gradient is taken as its transpose, `dyᵀ · x` for each block of
/// rows, summed in a buffer and added into `g` at the end; the rows' gradient is `dy · wᵀ`,
/// with `wᵀ` transposed once. Both transposes are held `fc` filters at a time (as many as
/// [`KT_VALUES`] and [`DYT_VALUES`] hold), the rows gathered and scattered again for each such
/// group of filters. Against the `F`-long products of the forward pass, the weight gradient's
/// are `ROWS` long and the rows' `fc` long, with wide outputs: on 64 samples in `f32` (KWS's
/// and Sensor's convolutions, a 3×3 one of 32 to 32 channels), the two together took 2.5 to 6
/// times the forward pass, and 3 to 13 times less than the direct loop.
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
    let most = (KT_VALUES / k.max(1)).min(DYT_VALUES / ROWS).min(F);
    if most == 0 || w.len() < k * F || g.as_ref().is_some_and(|g| g.len() < k * F) {
        return false;
    }
    // Groups of filters as even as they come: 32 filters that fit 28 at a time run as 16 and
    // 16, not 28 and 4 (a narrow product, and the patches gathered again for it).
    let fc = F.div_ceil(F.div_ceil(most));
    let total = dy.len() / F;
    let mut rows = [[[[T::ZERO; C]; KW]; KH]; ROWS];
    let mut kt = [T::ZERO; KT_VALUES];
    let mut tmp = [T::ZERO; KT_VALUES];
    let mut dyt = [T::ZERO; DYT_VALUES];
    for f0 in (0..F).step_by(fc) {
        let fs = fc.min(F - f0);
        let kt = &mut kt[..fs * k];
        if let Some(g) = g.as_deref_mut() {
            kt.fill(T::ZERO);
            for start in (0..total).step_by(ROWS) {
                let n = ROWS.min(total - start);
                for (r, row) in rows[..n].iter_mut().enumerate() {
                    gather(start + r, row);
                }
                let x = rows[..n].as_flattened().as_flattened().as_flattened();
                let dyt = &mut dyt[..fs * n];
                for (r, d) in dy[start * F..(start + n) * F].chunks_exact(F).enumerate() {
                    for (f, &v) in d[f0..f0 + fs].iter().enumerate() {
                        dyt[f * n + r] = v;
                    }
                }
                let tmp = &mut tmp[..fs * k];
                gemm::dense(level, dyt, x, None, tmp, n, k);
                for (a, t) in kt.iter_mut().zip(tmp.iter()) {
                    *a += *t;
                }
            }
            for (f, acc) in kt.chunks_exact(k).enumerate() {
                for (gi, v) in g.chunks_exact_mut(F).zip(acc) {
                    gi[f0 + f] += *v;
                }
            }
        }
        if let Some(scatter) = scatter.as_mut() {
            for (f, col) in kt.chunks_exact_mut(k).enumerate() {
                for (v, wi) in col.iter_mut().zip(w.chunks_exact(F)) {
                    *v = wi[f0 + f];
                }
            }
            for start in (0..total).step_by(ROWS) {
                let n = ROWS.min(total - start);
                let x = rows[..n].as_flattened_mut().as_flattened_mut().as_flattened_mut();
                // The filters in hand of each row of `dy`, `F` apart, times their rows of `wᵀ`.
                gemm::dense_strided(level, &dy[start * F + f0..], F, kt, None, x, fs, k);
                for (r, row) in rows[..n].iter().enumerate() {
                    scatter(start + r, row);
                }
            }
        }
    }
    true
}
