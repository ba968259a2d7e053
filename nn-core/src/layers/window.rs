//! The sliding window that convolutions, pooling and their relatives share: which input pixels
//! each output pixel reads, for any rank (a sequence is one row of steps, see
//! [`crate::tensor::grid`]).

use crate::tensor::{Tensor, grid};

/// A window of taps `dh`/`dw` apart (dilation), moved `sh`/`sw` per output pixel
/// (strides) over an input padded with `ph`/`pw` before each axis.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    /// Input height, width and channels.
    pub h: usize,
    pub w: usize,
    pub c: usize,
    /// Output height and width.
    pub oh: usize,
    pub ow: usize,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
    pub ph: usize,
    pub pw: usize,
}

impl Window {
    /// The window of a layer from `X` to `Y`: every field is a constant once inlined.
    #[inline(always)]
    pub const fn of<X: Tensor, Y: Tensor>(
        [sh, sw]: [usize; 2],
        [dh, dw]: [usize; 2],
        [ph, pw]: [usize; 2],
    ) -> Window {
        let [h, w, c] = grid(X::SHAPE);
        let [oh, ow, _] = grid(Y::SHAPE);
        Window { h, w, c, oh, ow, sh, sw, dh, dw, ph, pw }
    }

    /// Number of output pixels.
    #[inline(always)]
    pub const fn positions(&self) -> usize {
        self.oh * self.ow
    }

    /// The input pixel (as an index into the `h × w` grid) under tap `(i, j)` of output pixel
    /// `(oy, ox)`, or `None` where the tap falls on padding.
    #[inline(always)]
    pub fn tap(&self, oy: usize, ox: usize, i: usize, j: usize) -> Option<usize> {
        let y = (oy * self.sh + i * self.dh).checked_sub(self.ph)?;
        let x = (ox * self.sw + j * self.dw).checked_sub(self.pw)?;
        (y < self.h && x < self.w).then_some(y * self.w + x)
    }

    /// The input pixel under the first tap of output pixel `(oy, ox)` when every tap of a
    /// `kh × kw` window falls inside the input (no padding under it), else `None`.
    #[inline(always)]
    pub fn inside(&self, oy: usize, ox: usize, kh: usize, kw: usize) -> Option<usize> {
        let y = (oy * self.sh).checked_sub(self.ph)?;
        let x = (ox * self.sw).checked_sub(self.pw)?;
        (y + (kh - 1) * self.dh < self.h && x + (kw - 1) * self.dw < self.w).then_some(y * self.w + x)
    }

    /// The output pixels `lo..hi` of row `oy` whose undilated one-row `1 × kw` windows all fall
    /// inside the input, with the input pixel under the first tap of `lo`: `Some((lo, hi, p))`
    /// unless there is none.
    #[inline(always)]
    pub fn interior(&self, oy: usize, kw: usize) -> Option<(usize, usize, usize)> {
        let y = (oy * self.sh).checked_sub(self.ph).filter(|&y| y < self.h)?;
        let lo = self.pw.div_ceil(self.sw);
        let hi = ((self.w + self.pw).checked_sub(kw)? / self.sw + 1).min(self.ow);
        (lo < hi).then(|| (lo, hi, y * self.w + lo * self.sw - self.pw))
    }
}
