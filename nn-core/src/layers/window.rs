//! The sliding window that the convolutions and transposed convolutions share: which input
//! pixels each output pixel reads, for any rank (a sequence is one row of steps, a volume
//! slices of images, see [`crate::tensor::space`]).

use crate::Float;
use crate::tensor::{Tensor, space};
use core::ops::Range;

/// A window of taps `dh`/`dw` apart (dilation), moved `sh`/`sw` per output pixel
/// (strides) over an input padded with `ph`/`pw` before each axis.
///
/// Over a volume (`Conv3D`), the depth has its own `sd`, `dd` and `pd`, and its slices are
/// stacked: output row `oy` is row `oy % ohs` of slice `oy / ohs`, and kernel row `i` is row
/// `i % kh` of kernel slice `i / kh`, so that the callers walk rows and kernel rows as over an
/// image. Below rank 4, `d = od = 1` and every depth term folds away.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    /// Input depth, height (of one slice), width and channels.
    pub d: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    /// Output depth, rows (of every slice, stacked), rows of one slice, and width.
    pub od: usize,
    pub oh: usize,
    pub ohs: usize,
    pub ow: usize,
    /// Kernel slices, and kernel rows per slice.
    pub kd: usize,
    pub kh: usize,
    pub sd: usize,
    pub sh: usize,
    pub sw: usize,
    pub dd: usize,
    pub dh: usize,
    pub dw: usize,
    pub pd: usize,
    pub ph: usize,
    pub pw: usize,
}

impl Window {
    /// The window of a layer from `X` to `Y` with `kd` kernel slices of `kh` rows, strides,
    /// dilation and padding given as `[depth, height, width]`: every field is a constant once
    /// inlined.
    #[inline(always)]
    pub const fn of<X: Tensor, Y: Tensor>(
        kernel: [usize; 2],
        strides: [usize; 3],
        dilation: [usize; 3],
        padding: [usize; 3],
    ) -> Window {
        Window::of_shapes(X::SHAPE, Y::SHAPE, kernel, strides, dilation, padding)
    }

    /// As [`Window::of`], from the input's and the output's shapes.
    #[inline(always)]
    pub const fn of_shapes(
        x: &[usize],
        y: &[usize],
        [kd, kh]: [usize; 2],
        [sd, sh, sw]: [usize; 3],
        [dd, dh, dw]: [usize; 3],
        [pd, ph, pw]: [usize; 3],
    ) -> Window {
        let [d, h, w, c] = space(x);
        let [od, ohs, ow, _] = space(y);
        Window { d, h, w, c, od, oh: od * ohs, ohs, ow, kd, kh, sd, sh, sw, dd, dh, dw, pd, ph, pw }
    }

    /// Adds the convolution of `x` by `kernel` (Keras's layout, `[kd · kh][kw][c / groups][f]`)
    /// onto `y`, `F` values per output pixel: the direct loop over taps, channels and filters,
    /// for any number of groups (`CG` channels each).
    #[inline(always)]
    pub fn convolve_add<T: Float, const KH: usize, const KW: usize, const CG: usize, const F: usize>(
        &self,
        kernel: &[[[[T; F]; CG]; KW]; KH],
        x: &[T],
        y: &mut [T],
    ) {
        let groups = (self.c / CG).max(1);
        let per_group = F / groups;
        for oy in 0..self.oh {
            for ox in 0..self.ow {
                let at = (oy * self.ow + ox) * F;
                let mut acc = [T::ZERO; F];
                acc.copy_from_slice(&y[at..at + F]);
                for (i, taps) in kernel.iter().enumerate() {
                    for (j, tap) in taps.iter().enumerate() {
                        let Some(p) = self.tap(oy, ox, i, j) else { continue };
                        let pixel = &x[p * self.c..(p + 1) * self.c];
                        for g in 0..groups {
                            let out = &mut acc[g * per_group..(g + 1) * per_group];
                            for (ci, weights) in tap.iter().enumerate() {
                                let v = pixel[g * CG + ci];
                                for (a, w) in out.iter_mut().zip(&weights[g * per_group..]) {
                                    *a += v * *w;
                                }
                            }
                        }
                    }
                }
                y[at..at + F].copy_from_slice(&acc);
            }
        }
    }

    /// Number of output pixels.
    #[inline(always)]
    pub const fn positions(&self) -> usize {
        self.oh * self.ow
    }

    /// Output row `oy` as `(slice, row in it)`, and the input slice under the window's first
    /// tap of that slice (before padding).
    #[inline(always)]
    fn split(&self, oy: usize) -> (usize, usize) {
        if self.od == 1 { (0, oy) } else { (oy / self.ohs, oy % self.ohs) }
    }

    /// Kernel row `i` as `(kernel slice, row in it)`.
    #[inline(always)]
    fn kernel_row(&self, i: usize) -> (usize, usize) {
        if self.kd == 1 { (0, i) } else { (i / self.kh, i % self.kh) }
    }

    /// The input pixel (as an index into the `d × h × w` grid) under tap `(i, j)` of output
    /// pixel `(oy, ox)`, or `None` where the tap falls on padding.
    #[inline(always)]
    pub fn tap(&self, oy: usize, ox: usize, i: usize, j: usize) -> Option<usize> {
        let ((oz, oy), (kz, i)) = (self.split(oy), self.kernel_row(i));
        let z = (oz * self.sd + kz * self.dd).checked_sub(self.pd)?;
        let y = (oy * self.sh + i * self.dh).checked_sub(self.ph)?;
        let x = (ox * self.sw + j * self.dw).checked_sub(self.pw)?;
        (z < self.d && y < self.h && x < self.w).then_some((z * self.h + y) * self.w + x)
    }

    /// How many pixels kernel row `i` starts past kernel row 0, in the input.
    #[inline(always)]
    fn row_offset(&self, i: usize) -> usize {
        let (kz, i) = self.kernel_row(i);
        (kz * self.dd * self.h + i * self.dh) * self.w
    }

    /// The input pixel under the first tap of output pixel `(oy, ox)` when every tap of the
    /// window, `kw` wide, falls inside the input (no padding under it), else `None`.
    #[inline(always)]
    pub fn inside(&self, oy: usize, ox: usize, kw: usize) -> Option<usize> {
        let (oz, oy) = self.split(oy);
        let z = (oz * self.sd).checked_sub(self.pd)?;
        let y = (oy * self.sh).checked_sub(self.ph)?;
        let x = (ox * self.sw).checked_sub(self.pw)?;
        let fits = z + (self.kd - 1) * self.dd < self.d
            && y + (self.kh - 1) * self.dh < self.h
            && x + (kw - 1) * self.dw < self.w;
        fits.then_some((z * self.h + y) * self.w + x)
    }

    /// Whether the padding is skipped by [`Window::regions`]: one image (no depth), the taps
    /// along a row adjacent.
    #[inline(always)]
    pub fn flat(&self) -> bool {
        self.d == 1 && self.od == 1 && self.kd == 1 && self.dw == 1
    }

    /// The output pixels of a [`Window::flat`] window in rectangles whose pixels all have the
    /// same taps inside the input (kernel rows `i` and columns `j`, the rest falling on
    /// padding), for a kernel `kw` wide: the interior, then the edges and corners a padded
    /// convolution has, so that a product over each skips the padding instead of multiplying
    /// zeros (a third of the taps of KWS's second convolution, 3 × 3 `same` over 11 × 4).
    #[inline(always)]
    pub fn regions(&self, kw: usize, mut f: impl FnMut(Region)) {
        bands(self.oh, self.sh, self.dh, self.ph, self.h, self.kh, |oy, i| {
            bands(self.ow, self.sw, 1, self.pw, self.w, kw, |ox, j| {
                f(Region { oy: oy.clone(), ox, i: i.clone(), j });
            });
        });
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
            && let Some(p0) = self.inside(oy, ox, KW)
        {
            for (i, row) in patch.iter_mut().enumerate() {
                let p = p0 + self.row_offset(i);
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
            && let Some(p0) = self.inside(oy, ox, KW)
        {
            for (i, row) in patch.iter().enumerate() {
                let p = p0 + self.row_offset(i);
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
        let (oz, oy) = self.split(oy);
        let z = (oz * self.sd).checked_sub(self.pd).filter(|&z| z < self.d)?;
        let y = (oy * self.sh).checked_sub(self.ph).filter(|&y| y < self.h)?;
        let lo = self.pw.div_ceil(self.sw);
        let hi = ((self.w + self.pw).checked_sub(kw)? / self.sw + 1).min(self.ow);
        (lo < hi).then(|| (lo, hi, (z * self.h + y) * self.w + lo * self.sw - self.pw))
    }
}

/// Output pixels `oy × ox` of a [`Window::regions`] rectangle, each with kernel rows `i` and
/// columns `j` inside the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Region {
    pub oy: Range<usize>,
    pub ox: Range<usize>,
    pub i: Range<usize>,
    pub j: Range<usize>,
}

/// Splits `outputs` positions along one axis (`stride` apart, taps `dilation` apart, `pad`
/// before an input of `size`) into runs whose taps inside the input are the same, calling
/// `f(positions, taps)` for each in order; taps is empty where every tap falls on padding.
#[inline(always)]
fn bands(
    outputs: usize,
    stride: usize,
    dilation: usize,
    pad: usize,
    size: usize,
    taps: usize,
    mut f: impl FnMut(Range<usize>, Range<usize>),
) {
    let inside = |o: usize| {
        let at = o * stride;
        let first = pad.saturating_sub(at).div_ceil(dilation).min(taps);
        let end = (size + pad).saturating_sub(at).div_ceil(dilation).min(taps).max(first);
        first..end
    };
    let mut start = 0;
    while start < outputs {
        let taps = inside(start);
        let mut end = start + 1;
        while end < outputs && inside(end) == taps {
            end += 1;
        }
        f(start..end, taps);
        start = end;
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
