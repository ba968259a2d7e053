//! Keras's pooling layers: `MaxPooling1D/2D/3D` and `AveragePooling1D/2D/3D` ([`Pool`]), the
//! global ones ([`GlobalPool`]) and the adaptive ones ([`AdaptivePool`]), for sequences, images
//! and volumes alike.

use crate::Float;
use crate::kernels::cpu::Level;
use crate::layer::{Layer, Zeroable};
use crate::tensor::{Tensor, space};
use crate::train::{Ctx, Train, Write, Writes};
use core::marker::PhantomData;
use core::ops::Range;

/// How a pool combines the values under its window.
pub trait PoolOp: Copy + core::fmt::Debug + PartialEq + 'static {
    /// Keras's class for a 1-D, a 2-D and a 3-D window.
    const CLASS: [&'static str; 3];
    /// Keras's class for the global pool over a sequence, an image and a volume.
    const GLOBAL_CLASS: [&'static str; 3];
    /// Keras's class for the adaptive pool over a sequence, an image and a volume.
    const ADAPTIVE_CLASS: [&'static str; 3];
    /// The value every fold starts from (`-∞` for the maximum, `0` for the mean).
    fn start<T: Float>() -> T;
    /// Folds another value in.
    fn fold<T: Float>(acc: T, x: T) -> T;
    /// The result from the fold over `count` values.
    fn finish<T: Float>(acc: T, count: usize) -> T;
}

/// The largest value (Keras's `MaxPooling`); padding never wins.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Max;

/// The mean (Keras's `AveragePooling`); padding is left out of the mean, as Keras does for
/// `same`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Average;

impl PoolOp for Max {
    const CLASS: [&'static str; 3] = ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D"];
    const GLOBAL_CLASS: [&'static str; 3] =
        ["GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D"];
    const ADAPTIVE_CLASS: [&'static str; 3] =
        ["AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D"];
    #[inline(always)]
    fn start<T: Float>() -> T {
        T::of(f64::NEG_INFINITY)
    }
    #[inline(always)]
    fn fold<T: Float>(acc: T, x: T) -> T {
        if x > acc { x } else { acc }
    }
    #[inline(always)]
    fn finish<T: Float>(acc: T, _count: usize) -> T {
        acc
    }
}

impl PoolOp for Average {
    const CLASS: [&'static str; 3] = ["AveragePooling1D", "AveragePooling2D", "AveragePooling3D"];
    const GLOBAL_CLASS: [&'static str; 3] =
        ["GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D"];
    const ADAPTIVE_CLASS: [&'static str; 3] =
        ["AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D"];
    #[inline(always)]
    fn start<T: Float>() -> T {
        T::ZERO
    }
    #[inline(always)]
    fn fold<T: Float>(acc: T, x: T) -> T {
        acc + x
    }
    #[inline(always)]
    fn finish<T: Float>(acc: T, count: usize) -> T {
        acc / T::of(count as f64)
    }
}

/// The rows (or columns) `lo..hi` of the input under the window of output `o`, for a window of
/// `k` moved `s` over an axis of `n` padded with `p` before it: only taps inside the input, so
/// that `same` padding costs no test per tap.
#[inline(always)]
fn span(o: usize, s: usize, p: usize, k: usize, n: usize) -> (usize, usize) {
    ((o * s).saturating_sub(p).min(n), (o * s + k).saturating_sub(p).min(n))
}

/// A pool of `KH × KW` positions (`KH = 1` over a sequence), moved `SH`, `SW`, over an input
/// padded with `PH`, `PW` before each axis (`same`); from `X` to `Y`, channel by channel. Over
/// a volume, `KD`, `SD` and `PD` are the window, stride and padding of its depth.
///
/// ```
/// use nn_core::layers::{Max, Pool};
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// // MaxPooling1D(2) over 4 steps of 1 channel.
/// let pool = Pool::<Tensor2<f32, 4, 1>, Tensor2<f32, 2, 1>, Max, 1, 2, 1, 2, 0, 0>::ZEROS;
/// let y = pool.forward(&Tensor2::from_rows([[1.0], [3.0], [2.0], [0.0]]));
/// assert_eq!(y.as_slice(), &[3.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pool<
    X,
    Y,
    Op,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const KD: usize = 1,
    const SD: usize = 1,
    const PD: usize = 0,
> {
    _shapes: PhantomData<fn(X, Op) -> Y>,
}

impl<
    X,
    Y,
    Op,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const KD: usize,
    const SD: usize,
    const PD: usize,
> Pool<X, Y, Op, KH, KW, SH, SW, PH, PW, KD, SD, PD>
{
    super::no_weights!();
}

impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    Op: PoolOp,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const KD: usize,
    const SD: usize,
    const PD: usize,
> Layer for Pool<X, Y, Op, KH, KW, SH, SW, PH, PW, KD, SD, PD>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = Op::CLASS[X::SHAPE.len().saturating_sub(2)];
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        const { assert!(X::LAST == Y::LAST, "Pool: the channels must not change") };
        let ([d, h, w, c], [od, oh, ow, _]) = (space(X::SHAPE), space(Y::SHAPE));
        let (x, mut y) = (x.as_slice(), Y::ZEROS);
        // The step along a row hidden from the optimizer: with every size known, LLVM unrolls
        // the window and channel loops and vectorizes across output pixels instead, with
        // gathers and scatters (the sensor model's pool then cost more than its second
        // convolution). An unknown step keeps the pixel loop scalar and the channels in
        // registers.
        let step = core::hint::black_box(1);
        for oz in 0..od {
            let (z0, z1) = span(oz, SD, PD, KD, d);
            for oy in 0..oh {
                let (y0, y1) = span(oy, SH, PH, KH, h);
                let mut ox = 0;
                while ox < ow {
                    let (x0, x1) = span(ox, SW, PW, KW, w);
                    let at = ((oz * oh + oy) * ow + ox) * c;
                    let out = &mut y.as_mut_slice()[at..at + c];
                    out.fill(Op::start());
                    for iz in z0..z1 {
                        for iy in y0..y1 {
                            let row = (iz * h + iy) * w;
                            for pixel in x[(row + x0) * c..(row + x1) * c].chunks_exact(c) {
                                for (o, v) in out.iter_mut().zip(pixel) {
                                    *o = Op::fold(*o, *v);
                                }
                            }
                        }
                    }
                    let count = (z1 - z0) * (y1 - y0) * (x1 - x0);
                    for o in out {
                        *o = Op::finish(*o, count);
                    }
                    ox += step;
                }
            }
        }
        y
    }
}

// SAFETY: zero-sized.
unsafe impl<
    X,
    Y,
    Op,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const KD: usize,
    const SD: usize,
    const PD: usize,
> Zeroable for Pool<X, Y, Op, KH, KW, SH, SW, PH, PW, KD, SD, PD>
{
}

impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    Op,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const KD: usize,
    const SD: usize,
    const PD: usize,
> Pool<X, Y, Op, KH, KW, SH, SW, PH, PW, KD, SD, PD>
{
    /// Every output pixel as `(at, corner, [slices, rows, cols])`: `at` is the index of its
    /// first channel in the output, `corner` where its window's first tap falls on the padded
    /// input (`[oz · SD, oy · SH, ox · SW]`), then the input slices, rows and columns under the
    /// window. An iterator rather than a callback, so that each caller's loop body inlines into
    /// the level's pass (a callback stayed a call, compiled for no level).
    #[inline(always)]
    fn windows() -> impl Iterator<Item = (usize, [usize; 3], [Range<usize>; 3])> {
        const { assert!(X::LAST == Y::LAST && KH > 0 && KW > 0 && KD > 0, "Pool: the channels or the window") };
        let ([d, h, w, c], [od, oh, ow, _]) = (space(X::SHAPE), space(Y::SHAPE));
        (0..od).flat_map(move |oz| {
            let (z0, z1) = span(oz, SD, PD, KD, d);
            (0..oh).flat_map(move |oy| {
                let (y0, y1) = span(oy, SH, PH, KH, h);
                (0..ow).map(move |ox| {
                    let (x0, x1) = span(ox, SW, PW, KW, w);
                    let at = ((oz * oh + oy) * ow + ox) * c;
                    (at, [oz * SD, oy * SH, ox * SW], [z0..z1, y0..y1, x0..x1])
                })
            })
        })
    }

    /// The tap of the window with its first tap at `corner` over input pixel `[iz, iy, ix]`,
    /// in window (row-major) order, as a float: what a max-pool keeps of its maximum.
    #[inline(always)]
    fn tap<T: Float>([front, top, left]: [usize; 3], [iz, iy, ix]: [usize; 3]) -> T {
        T::of((((iz + PD - front) * KH + iy + PH - top) * KW + ix + PW - left) as f64)
    }
}

/// Channels a max-pool's training pass holds at a time: a 512-bit register of `f32`, two
/// 256-bit ones.
const LANES: usize = 16;

/// Keeps, for every output value, which tap of its window gave the maximum, `i · KW + j` for
/// the tap `i` rows and `j` columns into the window (a small whole number, exact in any float):
/// the backward pass routes the output's gradient to that one input value. Keras 3 on JAX
/// differentiates `reduce_window(max)` by select-and-scatter, which picks the first tap in
/// window (row-major) order holding the maximum, so a tie gives the whole gradient to the
/// first; padding counts there as a `-∞` tap, so a window whose first tap is padding and whose
/// inputs are all `-∞` gives its gradient to nobody.
impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const KD: usize,
    const SD: usize,
    const PD: usize,
> Train for Pool<X, Y, Max, KH, KW, SH, SW, PH, PW, KD, SD, PD>
{
    type Kept = Y;
    const KEPT: Y = Y::ZEROS;

    // Inlined into each level's pass, so the selects below compile to its vector blends.
    #[inline(always)]
    fn forward_train(&mut self, _level: Level, xs: &[X], ys: &mut [Y], kept: &mut [Y], _ctx: &mut Ctx<'_>) {
        let [_, h, w, c] = space(X::SHAPE);
        let minus_inf = X::Scalar::of(f64::NEG_INFINITY);
        for ((x, y), arg) in xs.iter().zip(ys).zip(kept) {
            let (x, y, arg) = (x.as_slice(), y.as_mut_slice(), arg.as_mut_slice());
            for (at, corner, [slices, rows, cols]) in Self::windows() {
                // A block of channels at a time in local arrays, written out once: in the
                // output's own memory LLVM could not prove the selects free of the input and
                // turned them into branches, which real data mispredicts (a fifth of a KWS
                // training step).
                for c0 in (0..c).step_by(LANES) {
                    let lanes = LANES.min(c - c0);
                    let (mut out, mut best) = ([minus_inf; LANES], [X::Scalar::ZERO; LANES]);
                    // Until a value beats `-∞`, the first tap wins, padding or not (the
                    // backward pass sends nothing to padding).
                    for iz in slices.clone() {
                        for iy in rows.clone() {
                            for ix in cols.clone() {
                                let tap = Self::tap(corner, [iz, iy, ix]);
                                let at_x = ((iz * h + iy) * w + ix) * c + c0;
                                let pixel = &x[at_x..at_x + lanes];
                                // `>`, not `>=`: a tie keeps the earlier tap, as the forward
                                // pass keeps the earlier value.
                                for ((o, b), v) in out.iter_mut().zip(best.iter_mut()).zip(pixel) {
                                    let wins = *v > *o;
                                    *o = if wins { *v } else { *o };
                                    *b = if wins { tap } else { *b };
                                }
                            }
                        }
                    }
                    y[at + c0..at + c0 + lanes].copy_from_slice(&out[..lanes]);
                    arg[at + c0..at + c0 + lanes].copy_from_slice(&best[..lanes]);
                }
            }
        }
    }

    #[inline(always)]
    fn backward(
        &self,
        _level: Level,
        _xs: &[X],
        _ys: &[Y],
        kept: &[Y],
        dys: &mut [Y],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        let [_, h, w, c] = space(X::SHAPE);
        for ((dy, arg), dx) in dys.iter().zip(kept).zip(dxs) {
            let (dy, arg, dx) = (dy.as_slice(), arg.as_slice(), dx.as_mut_slice());
            for (at, corner, [slices, rows, cols]) in Self::windows() {
                let (dy, arg) = (&dy[at..at + c], &arg[at..at + c]);
                // Each input pixel under the window takes the gradient of the channels whose
                // maximum it held: selects over a block of channels in a local array (which
                // vectorize, as in the forward pass) rather than a scattered add per channel.
                // Taps on padding have no input to reach.
                for iz in slices {
                    for iy in rows.clone() {
                        for ix in cols.clone() {
                            let tap = Self::tap(corner, [iz, iy, ix]);
                            let p = (iz * h + iy) * w + ix;
                            let d = &mut dx[p * c..(p + 1) * c];
                            for c0 in (0..c).step_by(LANES) {
                                let lanes = LANES.min(c - c0);
                                let zero = X::Scalar::ZERO;
                                let (mut sum, mut g, mut a) = ([zero; LANES], [zero; LANES], [tap; LANES]);
                                sum[..lanes].copy_from_slice(&d[c0..c0 + lanes]);
                                g[..lanes].copy_from_slice(&dy[c0..c0 + lanes]);
                                a[..lanes].copy_from_slice(&arg[c0..c0 + lanes]);
                                for k in 0..LANES {
                                    sum[k] += if a[k] == tap { g[k] } else { zero };
                                }
                                d[c0..c0 + lanes].copy_from_slice(&sum[..lanes]);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Keeps nothing: each output's gradient is shared equally by the inputs under its window, and
/// with `same` padding by those inside the input only, as Keras divides by their number.
impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
    const KD: usize,
    const SD: usize,
    const PD: usize,
> Train for Pool<X, Y, Average, KH, KW, SH, SW, PH, PW, KD, SD, PD>
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
        let [_, h, w, c] = space(X::SHAPE);
        for (dy, dx) in dys.iter().zip(dxs) {
            let (dy, dx) = (dy.as_slice(), dx.as_mut_slice());
            for (at, _, [slices, rows, cols]) in Self::windows() {
                let count = slices.len() * rows.len() * cols.len();
                let share = X::Scalar::ONE / X::Scalar::of(count as f64);
                let dy = &dy[at..at + c];
                for iz in slices {
                    for iy in rows.clone() {
                        for ix in cols.clone() {
                            let p = (iz * h + iy) * w + ix;
                            for (d, g) in dx[p * c..(p + 1) * c].iter_mut().zip(dy) {
                                *d += *g * share;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GlobalMaxPooling1D/2D/3D` and `GlobalAveragePooling1D/2D/3D`: every step or pixel pooled into one
/// per channel; `Y` is a vector, or with Keras's `keepdims` a one-step sequence or a one-pixel
/// image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GlobalPool<X, Y, Op> {
    _shapes: PhantomData<fn(X, Op) -> Y>,
}

impl<X, Y, Op> GlobalPool<X, Y, Op> {
    super::no_weights!();
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, Op: PoolOp> Layer for GlobalPool<X, Y, Op> {
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = Op::GLOBAL_CLASS[X::SHAPE.len().saturating_sub(2)];
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        const { assert!(Y::LEN == X::LAST, "GlobalPool: one value per channel") };
        let mut y = Y::ZEROS;
        let out = y.as_mut_slice();
        out.fill(Op::start());
        for pixel in x.as_slice().chunks_exact(X::LAST) {
            for (o, v) in out.iter_mut().zip(pixel) {
                *o = Op::fold(*o, *v);
            }
        }
        for o in out {
            *o = Op::finish(*o, X::LEN / X::LAST);
        }
        y
    }
}

/// Keras's `GlobalAveragePooling1D` with a mask: the mean of the kept steps (`NaN` if none is,
/// as Keras's `0 / 0`).
impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>> super::Masked for GlobalPool<X, Y, Average> {
    #[inline(always)]
    fn forward_masked(&self, _level: Level, x: &X, mask: &[bool]) -> Y {
        let mut y = Y::ZEROS;
        let out = y.as_mut_slice();
        let mut kept = 0usize;
        for (step, keep) in x.as_slice().chunks_exact(X::LAST).zip(mask) {
            if *keep {
                kept += 1;
                for (o, v) in out.iter_mut().zip(step) {
                    *o += *v;
                }
            }
        }
        let count = X::Scalar::of(kept as f64);
        for o in out {
            *o /= count;
        }
        y
    }
}

// SAFETY: zero-sized.
unsafe impl<X, Y, Op> Zeroable for GlobalPool<X, Y, Op> {}

/// Keeps nothing: Keras's global max pool is `ops.max` over the positions, whose JAX
/// gradient splits each channel's gradient equally among every position holding the maximum
/// (not select-and-scatter's first one), which the backward pass finds again by comparing
/// the input with the output.
impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>> Train for GlobalPool<X, Y, Max> {
    type Kept = ();
    const KEPT: () = ();

    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        ys: &[Y],
        _kept: &[()],
        dys: &mut [Y],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        for (((x, y), dy), dx) in xs.iter().zip(ys).zip(dys.iter_mut()).zip(dxs) {
            let (x, y, dy) = (x.as_slice(), y.as_slice(), dy.as_mut_slice());
            // The ties per channel, in an output-shaped scratch (one value per channel).
            let mut ties = Y::ZEROS;
            let ties = ties.as_mut_slice();
            for pixel in x.chunks_exact(X::LAST) {
                for ((t, v), m) in ties.iter_mut().zip(pixel).zip(y) {
                    if v == m {
                        *t += X::Scalar::ONE;
                    }
                }
            }
            // A channel without a match (NaN) has ties 0; its quotient is never added.
            for (g, t) in dy.iter_mut().zip(ties.iter()) {
                *g /= *t;
            }
            for (pixel, d) in x.chunks_exact(X::LAST).zip(dx.as_mut_slice().chunks_exact_mut(X::LAST)) {
                for (((d, v), m), g) in d.iter_mut().zip(pixel).zip(y).zip(dy.iter()) {
                    if v == m {
                        *d += *g;
                    }
                }
            }
        }
    }
}

/// Keeps nothing: every position gets an equal share of its channel's gradient.
impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>> Train for GlobalPool<X, Y, Average> {
    type Kept = ();
    const KEPT: () = ();

    fn backward(
        &self,
        level: Level,
        xs: &[X],
        ys: &[Y],
        kept: &[()],
        dys: &mut [Y],
        dxs: Option<&mut [X]>,
        grads: Option<&mut Self>,
    ) {
        self.backward_with(level, xs, ys, kept, dys, dxs, grads, Writes::ADD);
    }

    /// Every position's gradient is its channel's share, so a set gradient is written over.
    fn backward_with(
        &self,
        _level: Level,
        _xs: &[X],
        _ys: &[Y],
        _kept: &[()],
        dys: &mut [Y],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
        writes: Writes,
    ) {
        let Some(dxs) = dxs else { return };
        let share = X::Scalar::ONE / X::Scalar::of((X::LEN / X::LAST) as f64);
        for (dy, dx) in dys.iter().zip(dxs) {
            for d in dx.as_mut_slice().chunks_exact_mut(X::LAST) {
                for (d, g) in d.iter_mut().zip(dy.as_slice()) {
                    *d = match writes.dxs {
                        Write::Set => *g * share,
                        Write::Add => *d + *g * share,
                    };
                }
            }
        }
    }
}

/// Bin `o` of `m` over an axis of `n`: the positions `⌊o·n/m⌋..⌈(o+1)·n/m⌉`, as Keras's (and
/// PyTorch's) adaptive pools cut an axis; neighbouring bins may share a position.
#[inline(always)]
const fn bin(o: usize, n: usize, m: usize) -> Range<usize> {
    o * n / m..((o + 1) * n).div_ceil(m)
}

/// `AdaptiveMaxPooling1D/2D/3D` and `AdaptiveAveragePooling1D/2D/3D`: `Y`'s positions from
/// `X`'s by bins of the input (see `bin` in this file) rather than a fixed window, channel by
/// channel.
///
/// Keras pools slices first, then rows, then columns, so over an image the mean is the mean
/// of the columns' means, and the maximum's gradient goes to the first column holding it,
/// within that column to the first row (and over a volume, that row's first slice):
/// select-and-scatter, in each of Keras's steps.
///
/// ```
/// use nn_core::layers::{AdaptivePool, Average};
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// // AdaptiveAveragePooling1D(2) over 3 steps: bins 0..2 and 1..3.
/// let pool = AdaptivePool::<Tensor2<f32, 3, 1>, Tensor2<f32, 2, 1>, Average>::ZEROS;
/// let y = pool.forward(&Tensor2::from_rows([[1.0], [3.0], [8.0]]));
/// assert_eq!(y.as_slice(), &[2.0, 5.5]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptivePool<X, Y, Op> {
    _shapes: PhantomData<fn(X, Op) -> Y>,
}

impl<X, Y, Op> AdaptivePool<X, Y, Op> {
    super::no_weights!();
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, Op: PoolOp> AdaptivePool<X, Y, Op> {
    /// Every output pixel with its bins of slices, rows and columns.
    #[inline(always)]
    fn bins() -> impl Iterator<Item = (usize, [Range<usize>; 3])> {
        let ([d, h, w, _], [od, oh, ow, _]) = (space(X::SHAPE), space(Y::SHAPE));
        (0..od * oh * ow).map(move |q| {
            let (oz, oy, ox) = (q / (oh * ow), q / ow % oh, q % ow);
            (q, [bin(oz, d, od), bin(oy, h, oh), bin(ox, w, ow)])
        })
    }

    /// The input index of channel `ch` at slice `z`, row `y`, column `x`.
    #[inline(always)]
    fn at(z: usize, y: usize, x: usize, ch: usize) -> usize {
        let [_, h, w, c] = space(X::SHAPE);
        ((z * h + y) * w + x) * c + ch
    }
}

impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>, Op: PoolOp> Layer for AdaptivePool<X, Y, Op> {
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = Op::ADAPTIVE_CLASS[X::SHAPE.len().saturating_sub(2)];
    const PARAMS: usize = 0;

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        const { assert!(Y::LAST == X::LAST, "AdaptivePool: channel by channel") };
        let c = X::LAST;
        let (x, mut y) = (x.as_slice(), Y::ZEROS);
        let out = y.as_mut_slice();
        for (q, [zs, rows, cols]) in Self::bins() {
            let o = &mut out[q * c..(q + 1) * c];
            o.fill(Op::start());
            // Keras pools the slices, then the rows, then the columns.
            for j in cols.clone() {
                for (ch, o) in o.iter_mut().enumerate() {
                    let column = rows.clone().fold(Op::start(), |a, i| {
                        let cell = zs.clone().fold(Op::start(), |b, z| Op::fold(b, x[Self::at(z, i, j, ch)]));
                        Op::fold(a, Op::finish(cell, zs.len()))
                    });
                    *o = Op::fold(*o, Op::finish(column, rows.len()));
                }
            }
            for o in o.iter_mut() {
                *o = Op::finish(*o, cols.len());
            }
        }
        y
    }
}

// SAFETY: zero-sized.
unsafe impl<X, Y, Op> Zeroable for AdaptivePool<X, Y, Op> {}

/// Keeps nothing: the backward pass finds each bin's maximum again in the input, in Keras's
/// order (see [`AdaptivePool`]).
impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>> Train for AdaptivePool<X, Y, Max> {
    type Kept = ();
    const KEPT: () = ();

    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        _ys: &[Y],
        _kept: &[()],
        dys: &mut [Y],
        dxs: Option<&mut [X]>,
        _grads: Option<&mut Self>,
    ) {
        let Some(dxs) = dxs else { return };
        let c = X::LAST;
        for ((x, dy), dx) in xs.iter().zip(dys.iter()).zip(dxs) {
            let (x, dy, dx) = (x.as_slice(), dy.as_slice(), dx.as_mut_slice());
            for (q, [zs, rows, cols]) in Self::bins() {
                for ch in 0..c {
                    // The first column whose maximum beats every earlier one, its first row
                    // so, and that row's first slice holding it.
                    let first_max = |ats: &mut dyn Iterator<Item = (X::Scalar, usize)>| {
                        ats.fold(None, |best: Option<(X::Scalar, usize)>, (m, at)| match best {
                            Some((b, _)) if m <= b => best,
                            _ => Some((m, at)),
                        })
                    };
                    let best = first_max(&mut cols.clone().filter_map(|j| {
                        first_max(&mut rows.clone().filter_map(|i| {
                            first_max(
                                &mut zs.clone().map(|z| (x[Self::at(z, i, j, ch)], Self::at(z, i, j, ch))),
                            )
                        }))
                    }));
                    if let Some((_, at)) = best {
                        dx[at] += dy[q * c + ch];
                    }
                }
            }
        }
    }
}

/// Keeps nothing: each bin's gradient is shared by its inputs, over its columns and then its
/// rows, as the derivative of Keras's mean of means.
impl<X: Tensor, Y: Tensor<Scalar = X::Scalar>> Train for AdaptivePool<X, Y, Average> {
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
            for (q, [zs, rows, cols]) in Self::bins() {
                let count = |r: &Range<usize>| X::Scalar::of(r.len() as f64);
                for ch in 0..c {
                    let g = dy[q * c + ch] / count(&cols) / count(&rows) / count(&zs);
                    for z in zs.clone() {
                        for i in rows.clone() {
                            for j in cols.clone() {
                                dx[Self::at(z, i, j, ch)] += g;
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor2, Tensor3};
    use nalgebra::SVector;

    #[test]
    fn adaptive_bins_overlap_and_cover_the_axis_as_keras_s() {
        // 5 positions into 3 bins: 0..2, 1..4, 3..5; into 7 bins, each of one or two.
        let bins: [Range<usize>; 3] = [bin(0, 5, 3), bin(1, 5, 3), bin(2, 5, 3)];
        assert_eq!(bins, [0..2, 1..4, 3..5]);
        assert!((0..7).all(|o| (1..=2).contains(&bin(o, 5, 7).len())));
        assert_eq!(bin(6, 5, 7), 4..5);
    }

    #[test]
    fn adaptive_pools_over_an_image_by_bins() {
        // A 3×2 image of one channel into 2×1: rows 0..2 and 1..3, both columns.
        let x = Tensor3::<f64, 3, 2, 1>::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 9.0]);
        let avg = AdaptivePool::<Tensor3<f64, 3, 2, 1>, Tensor3<f64, 2, 1, 1>, Average>::ZEROS;
        assert_eq!(avg.forward(&x).as_slice(), &[2.5, 5.25]);
        let max = AdaptivePool::<Tensor3<f64, 3, 2, 1>, Tensor3<f64, 2, 1, 1>, Max>::ZEROS;
        assert_eq!(max.forward(&x).as_slice(), &[4.0, 9.0]);
    }

    #[test]
    fn adaptive_max_gives_a_tie_to_the_first_column_then_its_first_row() {
        // One 2×2 bin holding 5 at (0, 1) and (1, 0): Keras pools rows first, so the columns'
        // maxima are 5 (row 1) and 5 (row 0); the first column wins, at row 1.
        type L = AdaptivePool<Tensor3<f64, 2, 2, 1>, Tensor3<f64, 1, 1, 1>, Max>;
        let xs = [Tensor3::<f64, 2, 2, 1>::from_slice(&[0.0, 5.0, 5.0, 1.0])];
        let (mut dys, mut dxs) = ([Tensor3::from_slice(&[1.0])], [Tensor3::ZEROS]);
        L::ZEROS.backward(Level::Portable, &xs, &[Tensor3::ZEROS], &[()], &mut dys, Some(&mut dxs), None);
        assert_eq!(dxs[0].as_slice(), &[0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn pools_over_volumes_take_every_slice_under_the_window() {
        use crate::tensor::Tensor4;
        // A 2×2×2 cube of one channel holding 1..=8, pooled whole.
        let x = Tensor4::<f64, 2, 2, 2, 1>::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        type Cube<Op> =
            Pool<Tensor4<f64, 2, 2, 2, 1>, Tensor4<f64, 1, 1, 1, 1>, Op, 2, 2, 2, 2, 0, 0, 2, 2, 0>;
        assert_eq!(Cube::<Max>::ZEROS.forward(&x).as_slice(), &[8.0]);
        assert_eq!(Cube::<Average>::ZEROS.forward(&x).as_slice(), &[4.5]);
        assert_eq!(<Cube<Max> as Layer>::CLASS, "MaxPooling3D");
        // Slices only, `same` with one slice of padding after: the last window holds one.
        type Slices =
            Pool<Tensor4<f64, 2, 2, 2, 1>, Tensor4<f64, 1, 2, 2, 1>, Average, 1, 1, 1, 1, 0, 0, 2, 2, 0>;
        assert_eq!(Slices::ZEROS.forward(&x).as_slice(), &[3.0, 4.0, 5.0, 6.0]);
        let global = GlobalPool::<Tensor4<f64, 2, 2, 2, 1>, SVector<f64, 1>, Average>::ZEROS;
        assert_eq!(global.forward(&x).as_slice(), &[4.5]);
    }

    #[test]
    fn same_average_leaves_the_padding_out_of_the_mean() {
        // AveragePooling1D(3, strides=2, padding="same") over 4 steps: out 2, pad 1 after.
        let pool = Pool::<Tensor2<f64, 4, 1>, Tensor2<f64, 2, 1>, Average, 1, 3, 1, 2, 0, 0>::ZEROS;
        let y = pool.forward(&Tensor2::from_rows([[1.0], [2.0], [3.0], [6.0]]));
        assert_eq!(y.as_slice(), &[2.0, 4.5]);
    }

    #[test]
    fn max_pooling2d_takes_each_channels_maximum() {
        let pool = Pool::<Tensor3<f32, 2, 2, 2>, Tensor3<f32, 1, 1, 2>, Max, 2, 2, 2, 2, 0, 0>::ZEROS;
        let x = Tensor3::from_slice(&[1.0, -1.0, 4.0, -2.0, 3.0, -3.0, 2.0, -0.5]);
        assert_eq!(pool.forward(&x).as_slice(), &[4.0, -0.5]);
        assert_eq!(
            <Pool<Tensor3<f32, 2, 2, 2>, Tensor3<f32, 1, 1, 2>, Max, 2, 2, 2, 2, 0, 0> as Layer>::CLASS,
            "MaxPooling2D"
        );
    }

    type Seq<const S: usize> = Tensor2<f64, S, 1>;

    #[test]
    fn max_pooling_gives_a_tie_to_the_first_tap_in_window_order() {
        // MaxPooling1D(3, strides=1, padding="same") over [1, 3, 3, 0, 2, 2]: one step of
        // padding before and after. Keras 3 on JAX gives [0, 3, 1, 0, 2, 0] for dy = 1.
        let pool = Pool::<Seq<6>, Seq<6>, Max, 1, 3, 1, 1, 0, 1>::ZEROS;
        let dy = Seq::<6>::from_slice(&[1.0; 6]);
        let dx = super::super::input_grad(pool, Seq::<6>::from_slice(&[1.0, 3.0, 3.0, 0.0, 2.0, 2.0]), dy);
        assert_eq!(dx.as_slice(), &[0.0, 3.0, 1.0, 0.0, 2.0, 0.0]);
        // Two channels, 2×2 windows: each channel's own maximum, the first of a tie.
        let pool = Pool::<Tensor3<f64, 2, 2, 2>, Tensor3<f64, 1, 1, 2>, Max, 2, 2, 2, 2, 0, 0>::ZEROS;
        let x = Tensor3::from_slice(&[0.0, 1.0, 5.0, 1.0, 5.0, -1.0, 5.0, 0.0]);
        let dx = super::super::input_grad(pool, x, Tensor3::from_slice(&[2.0, 3.0]));
        assert_eq!(dx.as_slice(), &[0.0, 3.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn max_pooling_counts_padding_as_a_minus_infinity_tap() {
        // All inputs -∞, MaxPooling1D(3, strides=1, padding="same"): the first window starts on
        // padding, which wins the tie and takes its gradient; the others start on an input.
        // Keras 3 on JAX: dy = [1, 10, 100] gives [10, 100, 0].
        let pool = Pool::<Seq<3>, Seq<3>, Max, 1, 3, 1, 1, 0, 1>::ZEROS;
        let x = Seq::<3>::from_slice(&[f64::NEG_INFINITY; 3]);
        let dx = super::super::input_grad(pool, x, Seq::<3>::from_slice(&[1.0, 10.0, 100.0]));
        assert_eq!(dx.as_slice(), &[10.0, 100.0, 0.0]);
        // MaxPooling2D(3, strides=1, padding="same") on a 2×2 image of -∞: only the last window
        // starts on an input (JAX: [1000, 0, 0, 0]).
        let pool = Pool::<Tensor3<f64, 2, 2, 1>, Tensor3<f64, 2, 2, 1>, Max, 3, 3, 1, 1, 1, 1>::ZEROS;
        let x = Tensor3::from_slice(&[f64::NEG_INFINITY; 4]);
        let dx = super::super::input_grad(pool, x, Tensor3::from_slice(&[1.0, 10.0, 100.0, 1000.0]));
        assert_eq!(dx.as_slice(), &[1000.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn max_pooling_keeps_the_forward_pass_output() {
        let pool = Pool::<Tensor3<f64, 3, 3, 1>, Tensor3<f64, 2, 2, 1>, Max, 2, 2, 2, 2, 0, 0>::ZEROS;
        let x = Tensor3::from_slice(&[1.0, -2.0, 3.0, 4.0, 0.5, -6.0, 7.0, 8.0, 9.0]);
        let (y, _) = super::super::backprop(&mut { pool }, x, Tensor3::ZEROS, Tensor3::ZEROS, &mut { pool });
        assert_eq!(y, pool.forward(&x));
        assert_eq!(y.as_slice(), &[4.0, 3.0, 8.0, 9.0]);
    }

    #[test]
    fn same_average_shares_the_gradient_among_the_inputs_only() {
        // AveragePooling1D(3, strides=2, padding="same") over 4 steps: windows [x0, x1, x2] and
        // [x2, x3, pad], the second a mean of 2. Keras 3 on JAX: dy = [1, 10] gives
        // [1/3, 1/3, 1/3 + 5, 5].
        let pool = Pool::<Seq<4>, Seq<2>, Average, 1, 3, 1, 2, 0, 0>::ZEROS;
        let dx = super::super::input_grad(
            pool,
            Seq::<4>::from_slice(&[1.0, 2.0, 3.0, 6.0]),
            Seq::<2>::from_slice(&[1.0, 10.0]),
        );
        let want = [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0 + 5.0, 5.0];
        for (d, w) in dx.as_slice().iter().zip(want) {
            assert!((d - w).abs() < 1e-12, "{dx:?}");
        }
    }

    #[test]
    fn global_max_splits_a_tie_equally() {
        // ops.max's JAX gradient: [1, 3, 3, 0] gives [0, 0.5, 0.5, 0].
        let x = Tensor2::<f64, 4, 2>::from_rows([[1.0, 0.0], [3.0, 2.0], [3.0, 1.0], [0.0, 0.0]]);
        let dx = super::super::input_grad(
            GlobalPool::<_, SVector<f64, 2>, Max>::ZEROS,
            x,
            SVector::from([1.0, 4.0]),
        );
        assert_eq!(dx.as_slice(), &[0.0, 0.0, 0.5, 4.0, 0.5, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn global_average_shares_the_gradient_equally() {
        let x = Tensor3::<f64, 2, 2, 1>::from_slice(&[1.0, 2.0, 3.0, 4.0]);
        let dx = super::super::input_grad(
            GlobalPool::<_, Tensor3<f64, 1, 1, 1>, Average>::ZEROS,
            x,
            Tensor3::from_slice(&[2.0]),
        );
        assert_eq!(dx.as_slice(), &[0.5; 4]);
    }

    #[test]
    fn global_pools_reduce_every_position() {
        let x = Tensor2::<f32, 3, 2>::from_rows([[1.0, 5.0], [2.0, 4.0], [6.0, 0.0]]);
        let avg = GlobalPool::<_, SVector<f32, 2>, Average>::ZEROS.forward(&x);
        assert_eq!(avg.as_slice(), &[3.0, 3.0]);
        let max = GlobalPool::<_, Tensor2<f32, 1, 2>, Max>::ZEROS.forward(&x);
        assert_eq!(max.as_slice(), &[6.0, 5.0]);
    }
}
