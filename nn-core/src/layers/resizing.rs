//! Keras's image resizing: `Resizing` (nearest or bilinear, `crop_to_aspect_ratio`,
//! `pad_to_aspect_ratio`),
//! `CenterCrop` and `UpSampling2D` with `interpolation="bilinear"`, as one [`Resize`]: a box
//! of the input, resized to the output's size as `jax.image.resize` does without antialiasing.

use crate::Float;
use crate::kernels::cpu::Level;
use crate::layer::{Layer, Zeroable};
use crate::tensor::{Tensor, grid};
use crate::train::Train;
use core::marker::PhantomData;

/// Which Keras layer a [`Resize`] is, and which box of its input it resizes: `Resizing` of the
/// whole image.
pub const RESIZING: usize = 0;
/// `Resizing` with `crop_to_aspect_ratio=True`: the centred box of the output's aspect ratio
/// ([`aspect_crop`]).
pub const RESIZING_CROPPED: usize = 1;
/// `CenterCrop`: the centred box of the output's size, or where the input is smaller, Keras's
/// `smart_resize` (the box of [`aspect_crop`], resized bilinearly).
pub const CENTER_CROP: usize = 2;
/// `UpSampling2D` with `interpolation="bilinear"`: the whole image.
pub const UP_SAMPLING_2D: usize = 3;
/// `Resizing` with `pad_to_aspect_ratio=True`: the image padded with zeros (Keras's default
/// `fill_value`) on both sides of one axis to the output's aspect ratio ([`aspect_pad`]).
pub const RESIZING_PADDED: usize = 4;

/// Up to two input positions along an axis, and their weights, that make one output position.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Taps {
    at: [usize; 2],
    weight: [f32; 2],
    count: usize,
}

/// The taps of output `o` of `n` along an axis of `m` input positions, as
/// `jax.image.resize` computes them in `float32`: nearest takes input `⌊(o + ½)·m/n⌋`;
/// bilinear samples at `(o + ½)·m/n − ½` with the triangle kernel, its weights normalized over
/// the taps inside the input (so an edge repeats). An axis whose size does not change is copied.
fn taps(o: usize, m: usize, n: usize, bilinear: bool) -> Taps {
    if m == n {
        return Taps { at: [o, 0], weight: [1.0, 0.0], count: 1 };
    }
    if !bilinear {
        let offset = (o as f32 + 0.5) * m as f32 / n as f32;
        return Taps { at: [(offset as usize).min(m - 1), 0], weight: [1.0, 0.0], count: 1 };
    }
    // jax: `inv_scale = 1. / scale` in Python (double), then the samples in float32.
    let inv_scale = (1.0 / (n as f64 / m as f64)) as f32;
    let sample = (o as f32 + 0.5) * inv_scale - 0.5;
    // `floor` without std: truncation rounds up below zero.
    let truncated = sample as i64 as f32;
    let first = if truncated > sample { truncated - 1.0 } else { truncated };
    let mut taps = Taps { at: [0; 2], weight: [0.0; 2], count: 0 };
    for j in [first, first + 1.0] {
        let weight = (1.0 - (sample - j).abs()).max(0.0);
        if j >= 0.0 && j < m as f32 && weight > 0.0 {
            taps.at[taps.count] = j as usize;
            taps.weight[taps.count] = weight;
            taps.count += 1;
        }
    }
    let total = taps.weight[0] + taps.weight[1];
    if total.abs() > 1000.0 * f32::EPSILON && (-0.5..=m as f32 - 0.5).contains(&sample) {
        taps.weight = [taps.weight[0] / total, taps.weight[1] / total];
    } else {
        taps.count = 0;
    }
    taps
}

/// The box `(top, left, height, width)` of an `h × w` image with the aspect ratio of `th × tw`,
/// centred, as Keras's `crop_to_aspect_ratio` (and `smart_resize`) cut it.
pub const fn aspect_crop(h: usize, w: usize, th: usize, tw: usize) -> (usize, usize, usize, usize) {
    let ch = clamp(w * th / tw, h);
    let cw = clamp(h * tw / th, w);
    ((h - ch) / 2, (w - cw) / 2, ch, cw)
}

/// The rows and columns of zeros `(top, left)` that Keras's `pad_to_aspect_ratio` puts on each
/// side of an `h × w` image for the aspect ratio of `th × tw` (the same number after as before,
/// as Keras concatenates them).
pub const fn aspect_pad(h: usize, w: usize, th: usize, tw: usize) -> (usize, usize) {
    let (ph, pw) = (w * th / tw, h * tw / th);
    let (ph, pw) = (if ph > h { ph } else { h }, if pw > w { pw } else { w });
    ((ph - h) / 2, (pw - w) / 2)
}

/// The box `[top, left, height, width]` of an `h × w` input that a [`Resize`] of mode `mode`
/// resizes to `th × tw` (see [`RESIZING`]).
pub const fn resize_box(h: usize, w: usize, th: usize, tw: usize, mode: usize) -> [usize; 4] {
    let (top, left, bh, bw) = match mode {
        CENTER_CROP if h >= th && w >= tw => ((h - th) / 2, (w - tw) / 2, th, tw),
        RESIZING_CROPPED | CENTER_CROP => aspect_crop(h, w, th, tw),
        _ => (0, 0, h, w),
    };
    [top, left, bh, bw]
}

/// `max(min(v, limit), 1)`.
const fn clamp(v: usize, limit: usize) -> usize {
    let v = if v < limit { v } else { limit };
    if v < 1 { 1 } else { v }
}

/// A box of `X` ([`resize_box`] of `MODE`: [`RESIZING`], [`RESIZING_CROPPED`],
/// [`CENTER_CROP`], [`UP_SAMPLING_2D`]; with [`RESIZING_PADDED`], the image padded), resized to `Y`'s height and width by nearest
/// (`BILINEAR` false) or bilinear interpolation, channel by channel.
///
/// ```
/// use nn_core::layers::{Resize, RESIZING};
/// use nn_core::tensor::{Tensor, Tensor3};
/// use nn_core::Layer;
/// // Resizing(1, 4) of a 1×2 image, bilinear: samples at -0.25, 0.25, 0.75, 1.25.
/// let up = Resize::<Tensor3<f32, 1, 2, 1>, Tensor3<f32, 1, 4, 1>, true, RESIZING>::ZEROS;
/// let y = up.forward(&Tensor3::from_slice(&[0.0, 4.0]));
/// assert_eq!(y.as_slice(), &[0.0, 1.0, 3.0, 4.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resize<X, Y, const BILINEAR: bool, const MODE: usize> {
    _shapes: PhantomData<fn(X) -> Y>,
}

impl<X, Y, const BILINEAR: bool, const MODE: usize> Resize<X, Y, BILINEAR, MODE> {
    super::no_weights!();
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const BILINEAR: bool, const MODE: usize>
    Resize<X, Y, BILINEAR, MODE>
{
    /// Every output pixel, with the input values (offsets into a sample) and weights it takes.
    #[inline(always)]
    fn each(mut f: impl FnMut(usize, usize, X::Scalar)) {
        const { assert!(X::LAST == Y::LAST, "Resize: channel by channel") };
        let ([h, w, _], [oh, ow, _]) = (grid(X::SHAPE), grid(Y::SHAPE));
        let [top, left, bh, bw] = resize_box(h, w, oh, ow, MODE);
        // With `pad_to_aspect_ratio`, the box is the padded image, whose padding (zeros) adds
        // nothing: taps there are left out.
        let (pt, pl) = if MODE == RESIZING_PADDED { aspect_pad(h, w, oh, ow) } else { (0, 0) };
        let (bh, bw) = (bh + 2 * pt, bw + 2 * pl);
        for oy in 0..oh {
            let rows = taps(oy, bh, oh, BILINEAR);
            for ox in 0..ow {
                let cols = taps(ox, bw, ow, BILINEAR);
                for a in 0..rows.count {
                    for b in 0..cols.count {
                        let (Some(r), Some(c)) = (rows.at[a].checked_sub(pt), cols.at[b].checked_sub(pl))
                        else {
                            continue;
                        };
                        if r >= h || c >= w {
                            continue;
                        }
                        let weight = X::Scalar::of(f64::from(rows.weight[a]) * f64::from(cols.weight[b]));
                        f(oy * ow + ox, (top + r) * w + left + c, weight);
                    }
                }
            }
        }
    }
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const BILINEAR: bool, const MODE: usize> Layer
    for Resize<X, Y, BILINEAR, MODE>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = ["Resizing", "Resizing", "CenterCrop", "UpSampling2D", "Resizing"][MODE];
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        let c = X::LAST;
        let (x, mut y) = (x.as_slice(), Y::ZEROS);
        let out = y.as_mut_slice();
        Self::each(|to, from, weight| {
            for (o, v) in out[to * c..(to + 1) * c].iter_mut().zip(&x[from * c..(from + 1) * c]) {
                *o += weight * *v;
            }
        });
        y
    }
}

// SAFETY: zero-sized.
unsafe impl<X, Y, const BILINEAR: bool, const MODE: usize> Zeroable for Resize<X, Y, BILINEAR, MODE> {}

/// Keeps nothing: each output's gradient goes back to the inputs it was made of, by their
/// weights (a crop's cut-off pixels get none).
impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, const BILINEAR: bool, const MODE: usize> Train
    for Resize<X, Y, BILINEAR, MODE>
{
    type Kept = ();
    const KEPT: () = ();

    fn backward(
        &self,
        _level: Level,
        _xs: &[X],
        _ys: &[Y],
        _kept: &[()],
        dys: &mut [Y],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        let c = X::LAST;
        for (dy, dx) in dys.iter().zip(dxs) {
            let (dy, dx) = (dy.as_slice(), dx.as_mut_slice());
            Self::each(|to, from, weight| {
                for (d, g) in dx[from * c..(from + 1) * c].iter_mut().zip(&dy[to * c..(to + 1) * c]) {
                    *d += weight * *g;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor3;

    #[test]
    fn nearest_takes_the_input_under_each_output_centre() {
        // 3 → 5: centres at 0.3, 0.9, 1.5, 2.1, 2.7 of the input.
        let at: [usize; 5] = core::array::from_fn(|o| taps(o, 3, 5, false).at[0]);
        assert_eq!(at, [0, 0, 1, 2, 2]);
        // 5 → 2: centres at 1.25 and 3.75.
        assert_eq!([taps(0, 5, 2, false).at[0], taps(1, 5, 2, false).at[0]], [1, 3]);
    }

    #[test]
    fn bilinear_interpolates_between_the_two_nearest_and_repeats_the_edges() {
        // 2 → 3: samples at -1/6, 0.5, 7/6.
        let t = [taps(0, 2, 3, true), taps(1, 2, 3, true), taps(2, 2, 3, true)];
        assert_eq!((t[0].count, t[0].at[0], t[0].weight[0]), (1, 0, 1.0));
        assert_eq!((t[1].count, t[1].at, t[1].weight), (2, [0, 1], [0.5, 0.5]));
        assert_eq!((t[2].count, t[2].at[0], t[2].weight[0]), (1, 1, 1.0));
        // 4 → 2 without antialiasing: samples at 0.5 and 2.5.
        assert_eq!((taps(1, 4, 2, true).at, taps(1, 4, 2, true).weight), ([2, 3], [0.5, 0.5]));
    }

    #[test]
    fn crops_to_the_aspect_ratio_as_keras() {
        // A 6×4 image to 2×2: the centred 4×4 box.
        assert_eq!(aspect_crop(6, 4, 2, 2), (1, 0, 4, 4));
        // 5×8 to 3×3: a 5×5 box, starting at column 1 (int(3 / 2)).
        assert_eq!(aspect_crop(5, 8, 3, 3), (0, 1, 5, 5));
    }

    #[test]
    fn a_centre_crop_copies_its_box() {
        type L = Resize<Tensor3<f64, 3, 4, 1>, Tensor3<f64, 1, 2, 1>, true, CENTER_CROP>;
        let x = Tensor3::<f64, 3, 4, 1>::from_slice(&(0..12).map(f64::from).collect::<alloc::vec::Vec<_>>());
        assert_eq!(L::ZEROS.forward(&x).as_slice(), &[5.0, 6.0]);
        // Larger than the input: the 3×3 box of a 1×1 aspect ratio, from column 0, resized.
        assert_eq!(resize_box(3, 4, 5, 5, CENTER_CROP), [0, 0, 3, 3]);
        assert_eq!(resize_box(3, 4, 5, 5, RESIZING), [0, 0, 3, 4]);
    }
}
