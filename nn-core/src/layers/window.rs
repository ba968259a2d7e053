//! The sliding window that convolutions, pooling and their relatives share: which input pixels
//! each output pixel reads, for any rank (a sequence is one row of steps, see
//! [`crate::tensor::grid`]).

use crate::Float;
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

    /// Copies the input `x` under the `KH × KW` taps of output pixel `(oy, ox)` into `patch`
    /// (zeros where a tap falls on padding): one row of the patch matrix a convolution
    /// multiplies by its kernel. `C` is the input's channels.
    #[inline(always)]
    pub fn gather<T: Float, const KH: usize, const KW: usize, const C: usize>(
        &self,
        x: &[T],
        oy: usize,
        ox: usize,
        patch: &mut [[[T; C]; KW]; KH],
    ) {
        // Inside the input and undilated along the row (most pixels), each kernel row is one
        // run of memory: KH copies and no per-tap test.
        if self.dw == 1
            && let Some(p0) = self.inside(oy, ox, KH, KW)
        {
            for (i, row) in patch.iter_mut().enumerate() {
                let p = p0 + i * self.dh * self.w;
                row.as_flattened_mut().copy_from_slice(&x[p * C..(p + KW) * C]);
            }
            return;
        }
        for (i, row) in patch.iter_mut().enumerate() {
            for (j, taps) in row.iter_mut().enumerate() {
                match self.tap(oy, ox, i, j) {
                    Some(p) => taps.copy_from_slice(&x[p * C..(p + 1) * C]),
                    None => taps.fill(T::ZERO),
                }
            }
        }
    }

    /// The transpose of [`Window::gather`]: adds `patch`, the gradient of the patch of output
    /// pixel `(oy, ox)`, into `dx` at the input pixels under its taps; taps on padding have no
    /// input to reach.
    #[inline(always)]
    pub fn scatter_add<T: Float, const KH: usize, const KW: usize, const C: usize>(
        &self,
        patch: &[[[T; C]; KW]; KH],
        oy: usize,
        ox: usize,
        dx: &mut [T],
    ) {
        if self.dw == 1
            && let Some(p0) = self.inside(oy, ox, KH, KW)
        {
            for (i, row) in patch.iter().enumerate() {
                let p = p0 + i * self.dh * self.w;
                for (d, g) in dx[p * C..(p + KW) * C].iter_mut().zip(row.as_flattened()) {
                    *d += *g;
                }
            }
            return;
        }
        for (i, row) in patch.iter().enumerate() {
            for (j, taps) in row.iter().enumerate() {
                if let Some(p) = self.tap(oy, ox, i, j) {
                    for (d, g) in dx[p * C..(p + 1) * C].iter_mut().zip(taps) {
                        *d += *g;
                    }
                }
            }
        }
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

/// A batch's patches as the rows of a convolution's backward product: row `q` is the patch of
/// output pixel `q % pixels` of sample `q / pixels`, gathered from `x` and its gradient added
/// into `dx`; every sample holds `len` input values.
pub(crate) struct Patches<'a, T> {
    pub win: Window,
    pub len: usize,
    pub x: &'a [T],
    pub dx: Option<&'a mut [T]>,
}

impl<T> Patches<'_, T> {
    /// Row `q`'s sample (its values in `x`) and output pixel.
    #[inline(always)]
    fn at(&self, q: usize) -> (core::ops::Range<usize>, usize, usize) {
        let pixels = self.win.positions();
        let (s, p) = (q / pixels, q % pixels);
        (s * self.len..(s + 1) * self.len, p / self.win.ow, p % self.win.ow)
    }
}

impl<T: Float, const KH: usize, const KW: usize, const C: usize> super::product::Rows<T, KH, KW, C>
    for Patches<'_, T>
{
    #[inline(always)]
    fn gather(&mut self, q: usize, row: &mut [[[T; C]; KW]; KH]) {
        let (sample, oy, ox) = self.at(q);
        self.win.gather(&self.x[sample], oy, ox, row);
    }
    #[inline(always)]
    fn scatters(&self) -> bool {
        self.dx.is_some()
    }
    #[inline(always)]
    fn scatter(&mut self, q: usize, row: &[[[T; C]; KW]; KH]) {
        let (sample, oy, ox) = self.at(q);
        if let Some(dx) = self.dx.as_deref_mut() {
            self.win.scatter_add(row, oy, ox, &mut dx[sample]);
        }
    }
}
