//! Keras's convolutions: `Conv1D` and `Conv2D` ([`Conv`]), `DepthwiseConv2D`
//! ([`DepthwiseConv`]) and `SeparableConv2D` ([`SeparableConv`]), channels last, with strides,
//! `valid`/`same`/`causal` padding (as the padding before each axis; the output shape gives the
//! rest), dilation and groups.
//!
//! A sequence is a one-row image (`Conv1D`'s kernel `(k, c, f)` is `Conv2D`'s `(1, k, c, f)` in
//! the same memory), so one implementation serves both ranks.

use super::window::Window;
use crate::Float;
use crate::activations::{ActivationFn, Linear};
use crate::init::{Rng, glorot_uniform};
use crate::kernels::cpu::Level;
use crate::kernels::gemm;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::Tensor;
use crate::weights::bytes;
use core::marker::PhantomData;
use core::ops::Range;

/// Output pixels gathered per matrix product: two 12-row tiles of the AVX-512 kernel, when
/// their patches fit in L1 beside the kernel (`L1_BYTES`). Four tiles ran KWS 11% slower,
/// measured side by side (6.9 against 6.1 µs): a larger block is more stack to zero and to
/// keep in L1 for the same products.
const BLOCK: usize = 24;
const L1_BYTES: usize = 32 * 1024;
/// For wider patches, one tile, up to `BLOCK_BYTES` of stack; wider still run the direct loop.
const SMALL_BLOCK: usize = 12;
const BLOCK_BYTES: usize = 96 * 1024;
/// The edge pixels of a one-row kernel (those with padding under their window) are few: a
/// small block of them costs less stack to zero.
const EDGE: usize = 4;

/// `Conv1D` (`X`, `Y` are [`Tensor2`](crate::tensor::Tensor2), `KH = SH = DH = 1`, `PH = 0`)
/// and `Conv2D` ([`Tensor3`](crate::tensor::Tensor3)): `F` filters of `KH × KW` taps over `CG`
/// channels each (`CG` is the input's channels over the groups), strides `SH`, `SW`, dilation
/// `DH`, `DW` and padding `PH`, `PW` before each axis, then `A`.
///
/// The kernel is Keras's `(kh, kw, c / groups, f)` array. The macros compute the output shape and
/// the padding from Keras's `padding` option; by hand, `Y` must be the shape Keras gives.
///
/// With one group, a block of output pixels is gathered into patch rows and multiplied by the
/// kernel with the Dense layer's register-blocked product; with several, a direct loop runs.
///
/// ```
/// use nn_core::layers::Conv;
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// // Conv1D(1, 2) over 3 steps of 1 channel: kernel (2, 1, 1), valid padding.
/// let conv = Conv::<Tensor2<f32, 3, 1>, Tensor2<f32, 2, 1>, 1, 2, 1, 1, 1, 1, 1, 1, 0, 0>::from_arrays(
///     [[[[1.0]], [[10.0]]]],
///     [0.5],
/// );
/// let y = conv.forward(&Tensor2::from_rows([[1.0], [2.0], [3.0]]));
/// assert_eq!(y.as_slice(), &[21.5, 32.5]);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(C, align(64)))]
pub struct Conv<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const CG: usize,
    const F: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A = Linear,
    const USE_BIAS: bool = true,
> {
    /// Keras's kernel, `[kh][kw][c / groups][f]`.
    pub kernel: [[[[X::Scalar; F]; CG]; KW]; KH],
    /// The bias (kept at zero and ignored when `USE_BIAS` is false).
    pub bias: [X::Scalar; F],
    /// The activation applied to the output.
    pub activation: A,
    _shapes: PhantomData<fn(X) -> Y>,
}

impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const CG: usize,
    const F: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A: ActivationFn,
    const USE_BIAS: bool,
> Conv<X, Y, KH, KW, CG, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
    /// All weights zero, the activation with Keras's default options.
    pub const ZEROS: Self = Self::from_arrays([[[[X::Scalar::ZERO; F]; CG]; KW]; KH], [X::Scalar::ZERO; F]);

    /// Keras's kernel shape: `(k, c / groups, f)` for a sequence, `(kh, kw, c / groups, f)` for
    /// an image.
    const KERNEL_SHAPE: &'static [usize] = if X::SHAPE.len() == 2 { &[KW, CG, F] } else { &[KH, KW, CG, F] };
    const BIAS_SHAPE: &'static [usize] = &[F];
    const WINDOW: Window = Window::of::<X, Y>([SH, SW], [DH, DW], [PH, PW]);

    /// The layer from Keras-layout arrays; the activation takes Keras's default options.
    pub const fn from_arrays(kernel: [[[[X::Scalar; F]; CG]; KW]; KH], bias: [X::Scalar; F]) -> Self {
        Conv { kernel, bias, activation: A::DEFAULT, _shapes: PhantomData }
    }

    /// Reads the kernel, then the bias, from raw weight bytes at `at`.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        let at = bytes::read(bytes, at, self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        if USE_BIAS { bytes::read(bytes, at, &mut self.bias) } else { at }
    }

    fn kernel_flat(&self) -> &[X::Scalar] {
        self.kernel.as_flattened().as_flattened().as_flattened()
    }

    /// One group, as a matrix product of patch rows by the kernel. An undilated one-row kernel
    /// (every Conv1D) reads the patches of the pixels whose window lies inside the input in place:
    /// consecutive patches are runs of `KW · CG` values `SW · CG` apart in the input, which the
    /// product takes as overlapping rows. The rest are gathered into blocks of `ROWS` patch rows.
    #[inline(always)]
    fn by_patches<const ROWS: usize>(&self, level: Level, x: &[X::Scalar], y: &mut [X::Scalar]) {
        let win = Self::WINDOW;
        if !(KH == 1 && DW == 1) {
            self.gathered::<ROWS>(level, x, y, 0..win.positions());
            return;
        }
        for oy in 0..win.oh {
            let row = oy * win.ow;
            let Some((lo, hi, p)) = win.interior(oy, KW) else {
                self.gathered::<EDGE>(level, x, y, row..row + win.ow);
                continue;
            };
            self.gathered::<EDGE>(level, x, y, row..row + lo);
            gemm::dense_strided(
                level,
                &x[p * CG..],
                SW * CG,
                self.kernel_flat(),
                self.bias(),
                &mut y[(row + lo) * F..(row + hi) * F],
                KW * CG,
                F,
            );
            self.gathered::<EDGE>(level, x, y, row + hi..row + win.ow);
        }
    }

    /// The output pixels `pixels`, their patches gathered `ROWS` at a time (zeros where a tap
    /// falls on padding) and multiplied by the kernel.
    #[inline(always)]
    fn gathered<const ROWS: usize>(
        &self,
        level: Level,
        x: &[X::Scalar],
        y: &mut [X::Scalar],
        pixels: Range<usize>,
    ) {
        if pixels.is_empty() {
            return;
        }
        let win = Self::WINDOW;
        let mut patches = [[[[X::Scalar::ZERO; CG]; KW]; KH]; ROWS];
        let mut start = pixels.start;
        while start < pixels.end {
            let n = ROWS.min(pixels.end - start);
            for (r, patch) in patches[..n].iter_mut().enumerate() {
                let (oy, ox) = ((start + r) / win.ow, (start + r) % win.ow);
                // Inside the input and undilated along the row (most pixels), each kernel row
                // is one run of memory: KH copies and no per-tap test.
                if DW == 1
                    && let Some(p0) = win.inside(oy, ox, KH, KW)
                {
                    for (i, row) in patch.iter_mut().enumerate() {
                        let p = p0 + i * DH * win.w;
                        row.as_flattened_mut().copy_from_slice(&x[p * CG..(p + KW) * CG]);
                    }
                    continue;
                }
                for (i, row) in patch.iter_mut().enumerate() {
                    for (j, taps) in row.iter_mut().enumerate() {
                        match win.tap(oy, ox, i, j) {
                            Some(p) => taps.copy_from_slice(&x[p * CG..(p + 1) * CG]),
                            None => taps.fill(X::Scalar::ZERO),
                        }
                    }
                }
            }
            let rows = patches[..n].as_flattened().as_flattened().as_flattened();
            gemm::dense(
                level,
                rows,
                self.kernel_flat(),
                self.bias(),
                &mut y[start * F..(start + n) * F],
                KH * KW * CG,
                F,
            );
            start += n;
        }
    }

    #[inline(always)]
    fn bias(&self) -> Option<&[X::Scalar]> {
        if USE_BIAS { Some(&self.bias[..]) } else { None }
    }

    /// Any number of groups: the direct loop over taps, channels and filters.
    #[inline(always)]
    fn direct(&self, x: &[X::Scalar], y: &mut [X::Scalar]) {
        let win = Self::WINDOW;
        let groups = (win.c / CG).max(1);
        let per_group = F / groups;
        for oy in 0..win.oh {
            for ox in 0..win.ow {
                let mut acc = if USE_BIAS { self.bias } else { [X::Scalar::ZERO; F] };
                for i in 0..KH {
                    for j in 0..KW {
                        let Some(p) = win.tap(oy, ox, i, j) else { continue };
                        let pixel = &x[p * win.c..(p + 1) * win.c];
                        for g in 0..groups {
                            let out = &mut acc[g * per_group..(g + 1) * per_group];
                            for (ci, weights) in self.kernel[i][j].iter().enumerate() {
                                let v = pixel[g * CG + ci];
                                for (a, w) in out.iter_mut().zip(&weights[g * per_group..]) {
                                    *a += v * *w;
                                }
                            }
                        }
                    }
                }
                let at = (oy * win.ow + ox) * F;
                y[at..at + F].copy_from_slice(&acc);
            }
        }
    }
}

impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const CG: usize,
    const F: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A: ActivationFn,
    const USE_BIAS: bool,
> Layer for Conv<X, Y, KH, KW, CG, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = if X::SHAPE.len() == 2 { "Conv1D" } else { "Conv2D" };
    const PARAMS: usize = KH * KW * CG * F + if USE_BIAS { F } else { 0 };

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    #[inline(always)]
    fn forward_at(&self, level: Level, x: &X) -> Y {
        const { assert!(Y::LAST == F, "Conv: the output must have F channels") };
        let mut y = Y::ZEROS;
        let size = core::mem::size_of::<X::Scalar>();
        let patch = KH * KW * CG * size;
        if Self::WINDOW.c == CG && BLOCK * patch <= L1_BYTES {
            self.by_patches::<BLOCK>(level, x.as_slice(), y.as_mut_slice());
        } else if Self::WINDOW.c == CG && SMALL_BLOCK * patch <= BLOCK_BYTES {
            self.by_patches::<SMALL_BLOCK>(level, x.as_slice(), y.as_mut_slice());
        } else {
            self.direct(x.as_slice(), y.as_mut_slice());
        }
        self.activation.apply(&mut y);
        y
    }

    fn init_keras(&mut self, rng: &mut Rng) {
        let field = KH * KW;
        glorot_uniform(
            self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
            CG * field,
            F * field,
            rng,
        );
        self.bias = [X::Scalar::ZERO; F];
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, X::Scalar>)) {
        f(WeightRef { name: "kernel", shape: Self::KERNEL_SHAPE, data: self.kernel_flat() });
        if USE_BIAS {
            f(WeightRef { name: "bias", shape: Self::BIAS_SHAPE, data: &self.bias });
        }
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, X::Scalar>)) {
        let kernel = self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        f(WeightMut { name: "kernel", shape: Self::KERNEL_SHAPE, data: kernel });
        if USE_BIAS {
            f(WeightMut { name: "bias", shape: Self::BIAS_SHAPE, data: &mut self.bias });
        }
    }
}

// SAFETY: the fields are float arrays and an activation that is itself `Zeroable`.
unsafe impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const CG: usize,
    const F: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A: Zeroable,
    const USE_BIAS: bool,
> Zeroable for Conv<X, Y, KH, KW, CG, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
}

/// `DepthwiseConv2D`: each of the input's `C` channels convolved with its own `M` filters
/// (`depth_multiplier`), giving `C × M` channels, channel `c` then its filters; strides,
/// dilation and padding as [`Conv`]. The kernel is Keras's `(kh, kw, c, m)` array.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseConv<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const M: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A = Linear,
    const USE_BIAS: bool = true,
> {
    /// Keras's kernel, `[kh][kw][c][m]`.
    pub kernel: [[[[X::Scalar; M]; C]; KW]; KH],
    /// The bias, `[c][m]` (Keras's `(c * m,)`).
    pub bias: [[X::Scalar; M]; C],
    /// The activation applied to the output.
    pub activation: A,
    _shapes: PhantomData<fn(X) -> Y>,
}

impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const M: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A: ActivationFn,
    const USE_BIAS: bool,
> DepthwiseConv<X, Y, KH, KW, C, M, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
    /// All weights zero, the activation with Keras's default options.
    pub const ZEROS: Self = DepthwiseConv {
        kernel: [[[[X::Scalar::ZERO; M]; C]; KW]; KH],
        bias: [[X::Scalar::ZERO; M]; C],
        activation: A::DEFAULT,
        _shapes: PhantomData,
    };
    const KERNEL_SHAPE: &'static [usize] = &[KH, KW, C, M];
    const BIAS_SHAPE: &'static [usize] = &[C * M];
    const WINDOW: Window = Window::of::<X, Y>([SH, SW], [DH, DW], [PH, PW]);

    /// Reads the kernel, then the bias, from raw weight bytes at `at`.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        let at = bytes::read(bytes, at, self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        if USE_BIAS { bytes::read(bytes, at, self.bias.as_flattened_mut()) } else { at }
    }

    /// The convolution without the activation, into `y` (`C × M` channels per pixel).
    #[inline(always)]
    fn convolve(&self, x: &[X::Scalar], y: &mut [X::Scalar]) {
        let win = Self::WINDOW;
        for oy in 0..win.oh {
            for ox in 0..win.ow {
                let mut acc = if USE_BIAS { self.bias } else { [[X::Scalar::ZERO; M]; C] };
                for i in 0..KH {
                    for j in 0..KW {
                        let Some(p) = win.tap(oy, ox, i, j) else { continue };
                        let pixel = &x[p * C..(p + 1) * C];
                        for ((a, w), v) in acc.iter_mut().zip(&self.kernel[i][j]).zip(pixel) {
                            for (a, w) in a.iter_mut().zip(w) {
                                *a += *v * *w;
                            }
                        }
                    }
                }
                let at = (oy * win.ow + ox) * C * M;
                y[at..at + C * M].copy_from_slice(acc.as_flattened());
            }
        }
    }
}

impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const M: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A: ActivationFn,
    const USE_BIAS: bool,
> Layer for DepthwiseConv<X, Y, KH, KW, C, M, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = "DepthwiseConv2D";
    const PARAMS: usize = KH * KW * C * M + if USE_BIAS { C * M } else { 0 };

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        const { assert!(X::LAST == C && Y::LAST == C * M, "DepthwiseConv: channels must be C in, C * M out") };
        let mut y = Y::ZEROS;
        self.convolve(x.as_slice(), y.as_mut_slice());
        self.activation.apply(&mut y);
        y
    }

    fn init_keras(&mut self, rng: &mut Rng) {
        let field = KH * KW;
        glorot_uniform(
            self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
            C * field,
            M * field,
            rng,
        );
        self.bias = [[X::Scalar::ZERO; M]; C];
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, X::Scalar>)) {
        let kernel = self.kernel.as_flattened().as_flattened().as_flattened();
        f(WeightRef { name: "kernel", shape: Self::KERNEL_SHAPE, data: kernel });
        if USE_BIAS {
            f(WeightRef { name: "bias", shape: Self::BIAS_SHAPE, data: self.bias.as_flattened() });
        }
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, X::Scalar>)) {
        let kernel = self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        f(WeightMut { name: "kernel", shape: Self::KERNEL_SHAPE, data: kernel });
        if USE_BIAS {
            f(WeightMut { name: "bias", shape: Self::BIAS_SHAPE, data: self.bias.as_flattened_mut() });
        }
    }
}

// SAFETY: the fields are float arrays and an activation that is itself `Zeroable`.
unsafe impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const M: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A: Zeroable,
    const USE_BIAS: bool,
> Zeroable for DepthwiseConv<X, Y, KH, KW, C, M, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
}

/// `SeparableConv2D`: a [`DepthwiseConv`] without bias or activation into `Z` (`CM = C × M`
/// channels), then a 1×1 convolution to `F` filters with the bias and `A`. Keras's weights are
/// `depthwise_kernel` `(kh, kw, c, m)`, `pointwise_kernel` `(1, 1, c × m, f)` and `bias`.
#[derive(Clone, Debug, PartialEq)]
pub struct SeparableConv<
    X: Tensor,
    Z: Tensor<Scalar = X::Scalar>,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const M: usize,
    const CM: usize,
    const F: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A = Linear,
    const USE_BIAS: bool = true,
> {
    /// The depthwise step.
    pub depthwise: DepthwiseConv<X, Z, KH, KW, C, M, SH, SW, DH, DW, PH, PW, Linear, false>,
    /// Keras's pointwise kernel, `[c × m][f]`.
    pub pointwise: [[X::Scalar; F]; CM],
    /// The bias (kept at zero and ignored when `USE_BIAS` is false).
    pub bias: [X::Scalar; F],
    /// The activation applied to the output.
    pub activation: A,
    _shapes: PhantomData<fn(Z) -> Y>,
}

impl<
    X: Tensor,
    Z: Tensor<Scalar = X::Scalar>,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const M: usize,
    const CM: usize,
    const F: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A: ActivationFn,
    const USE_BIAS: bool,
> SeparableConv<X, Z, Y, KH, KW, C, M, CM, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
    /// All weights zero, the activation with Keras's default options.
    pub const ZEROS: Self = SeparableConv {
        depthwise: DepthwiseConv::ZEROS,
        pointwise: [[X::Scalar::ZERO; F]; CM],
        bias: [X::Scalar::ZERO; F],
        activation: A::DEFAULT,
        _shapes: PhantomData,
    };
    const POINTWISE_SHAPE: &'static [usize] = &[1, 1, CM, F];

    /// Reads the depthwise kernel, the pointwise kernel, then the bias.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        let at = self.depthwise.read_le_bytes(bytes, at);
        let at = bytes::read(bytes, at, self.pointwise.as_flattened_mut());
        if USE_BIAS { bytes::read(bytes, at, &mut self.bias) } else { at }
    }
    const BIAS_SHAPE: &'static [usize] = &[F];
}

impl<
    X: Tensor,
    Z: Tensor<Scalar = X::Scalar>,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const M: usize,
    const CM: usize,
    const F: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A: ActivationFn,
    const USE_BIAS: bool,
> Layer for SeparableConv<X, Z, Y, KH, KW, C, M, CM, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = "SeparableConv2D";
    const PARAMS: usize = KH * KW * C * M + CM * F + if USE_BIAS { F } else { 0 };

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    #[inline(always)]
    fn forward_at(&self, level: Level, x: &X) -> Y {
        const { assert!(Z::LAST == CM && Y::LAST == F, "SeparableConv: Z has C * M channels, Y has F") };
        let z = self.depthwise.forward(x);
        let mut y = Y::ZEROS;
        let bias = if USE_BIAS { Some(&self.bias[..]) } else { None };
        gemm::dense(level, z.as_slice(), self.pointwise.as_flattened(), bias, y.as_mut_slice(), CM, F);
        self.activation.apply(&mut y);
        y
    }

    fn init_keras(&mut self, rng: &mut Rng) {
        self.depthwise.init_keras(rng);
        glorot_uniform(self.pointwise.as_flattened_mut(), CM, F, rng);
        self.bias = [X::Scalar::ZERO; F];
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, X::Scalar>)) {
        self.depthwise.visit_weights(&mut |w| f(WeightRef { name: "depthwise_kernel", ..w }));
        f(WeightRef {
            name: "pointwise_kernel",
            shape: Self::POINTWISE_SHAPE,
            data: self.pointwise.as_flattened(),
        });
        if USE_BIAS {
            f(WeightRef { name: "bias", shape: Self::BIAS_SHAPE, data: &self.bias });
        }
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, X::Scalar>)) {
        self.depthwise.visit_weights_mut(&mut |w| f(WeightMut { name: "depthwise_kernel", ..w }));
        let pointwise = self.pointwise.as_flattened_mut();
        f(WeightMut { name: "pointwise_kernel", shape: Self::POINTWISE_SHAPE, data: pointwise });
        if USE_BIAS {
            f(WeightMut { name: "bias", shape: Self::BIAS_SHAPE, data: &mut self.bias });
        }
    }
}

// SAFETY: the fields are float arrays, a `Zeroable` depthwise layer and a `Zeroable` activation.
unsafe impl<
    X: Tensor,
    Z: Tensor<Scalar = X::Scalar>,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const C: usize,
    const M: usize,
    const CM: usize,
    const F: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A: Zeroable,
    const USE_BIAS: bool,
> Zeroable for SeparableConv<X, Z, Y, KH, KW, C, M, CM, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
}

/// A causal Conv1D (stride 1, one group) steps on the newest input with the last `R` in a
/// ring, `R = (KW - 1) · DW + 1`: tap `j` reads the input `(KW - 1 - j) · DW` steps back, zeros
/// before the first, as Keras's causal padding.
impl<
    T: Float,
    const S: usize,
    const KW: usize,
    const C: usize,
    const F: usize,
    const DW: usize,
    const PW: usize,
    A: ActivationFn,
    const USE_BIAS: bool,
    const R: usize,
> crate::stream::Stream<crate::stream::Ring<T, R, C>>
    for Conv<
        crate::tensor::Tensor2<T, S, C>,
        crate::tensor::Tensor2<T, S, F>,
        1,
        KW,
        C,
        F,
        1,
        1,
        1,
        DW,
        0,
        PW,
        A,
        USE_BIAS,
    >
{
    type StepIn = nalgebra::SVector<T, C>;
    type StepOut = nalgebra::SVector<T, F>;

    #[inline(always)]
    fn step(&self, level: Level, ring: &mut crate::stream::Ring<T, R, C>, x: &Self::StepIn) -> Self::StepOut {
        const {
            assert!(
                PW == (KW - 1) * DW && R == PW + 1,
                "Conv: steps only causally, with a ring of the kernel's span"
            )
        };
        ring.push(x.as_slice());
        let mut y = if USE_BIAS { self.bias } else { [T::ZERO; F] };
        for j in 0..KW {
            let taps = self.kernel[0][j].as_flattened();
            let row = ring.back((KW - 1 - j) * DW);
            if !T::accumulate_one(level, row, taps, &mut y, C, F) {
                for (v, w) in row.iter().zip(taps.chunks_exact(F)) {
                    for (o, k) in y.iter_mut().zip(w) {
                        *o += *v * *k;
                    }
                }
            }
        }
        let mut y = nalgebra::SVector::from_column_slice(&y);
        self.activation.apply(&mut y);
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor2, Tensor3};

    #[test]
    fn same_strided_conv2d_pads_as_keras_and_every_path_agrees() {
        // 3×3 input, one channel, 2×2 kernel of ones, stride 2, `same`: output 2×2, padding
        // (0 before, 1 after) on each axis.
        type C2 = Conv<Tensor3<f64, 3, 3, 1>, Tensor3<f64, 2, 2, 1>, 2, 2, 1, 1, 2, 2, 1, 1, 0, 0>;
        let conv = C2::from_arrays([[[[1.0]], [[1.0]]], [[[1.0]], [[1.0]]]], [0.0]);
        let x = Tensor3::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        let want = [1.0 + 2.0 + 4.0 + 5.0, 3.0 + 6.0, 7.0 + 8.0, 9.0];
        assert_eq!(conv.forward(&x).as_slice(), &want);
        let mut direct = Tensor3::<f64, 2, 2, 1>::ZEROS;
        conv.direct(x.as_slice(), direct.as_mut_slice());
        assert_eq!(direct.as_slice(), &want);
        for level in [Level::Portable, Level::Avx2, Level::Avx512] {
            assert_eq!(conv.forward_at(level, &x).as_slice(), &want);
        }
    }

    /// `conv` with pseudo-random weights, at every level, against its direct loop on `x`.
    fn every_path_agrees<
        X: Tensor<Scalar = f32>,
        Y: Tensor<Scalar = f32>,
        L: Layer<Scalar = f32, Input = X, Output = Y>,
    >(
        mut conv: L,
        direct: impl Fn(&L, &[f32], &mut [f32]),
    ) {
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        conv.visit_weights_mut(&mut |w| w.data.iter_mut().for_each(|v| *v = next()));
        let mut x = X::ZEROS;
        x.as_mut_slice().iter_mut().for_each(|v| *v = next());
        let mut want = Y::ZEROS;
        direct(&conv, x.as_slice(), want.as_mut_slice());
        for level in [Level::Portable, Level::Avx2, Level::Avx512] {
            let got = conv.forward_at(level, &x);
            for (g, w) in got.as_slice().iter().zip(want.as_slice()) {
                assert!((g - w).abs() < 1e-5, "{level:?}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn one_row_kernels_read_in_place_and_gather_only_their_edges() {
        // Conv1D k3 causal (two pixels of padding before), k5 stride 2 `same` (one after),
        // k4 stride 3 valid, and a Conv2D (1, 3) kernel stride (2, 2) `same`.
        type Causal = Conv<Tensor2<f32, 20, 3>, Tensor2<f32, 20, 5>, 1, 3, 3, 5, 1, 1, 1, 1, 0, 2>;
        type Same = Conv<Tensor2<f32, 128, 6>, Tensor2<f32, 64, 16>, 1, 5, 6, 16, 1, 2, 1, 1, 0, 1>;
        type Valid = Conv<Tensor2<f32, 17, 2>, Tensor2<f32, 5, 33>, 1, 4, 2, 33, 1, 3, 1, 1, 0, 0>;
        type Wide = Conv<Tensor3<f32, 5, 7, 2>, Tensor3<f32, 3, 4, 3>, 1, 3, 2, 3, 2, 2, 1, 1, 0, 1>;
        every_path_agrees(Causal::ZEROS, |c, x, y| c.direct(x, y));
        every_path_agrees(Same::ZEROS, |c, x, y| c.direct(x, y));
        every_path_agrees(Valid::ZEROS, |c, x, y| c.direct(x, y));
        every_path_agrees(Wide::ZEROS, |c, x, y| c.direct(x, y));
    }

    #[test]
    fn groups_only_mix_their_own_channels() {
        // Conv1D(2, 1, groups=2) over 2 channels: each filter sees one channel.
        type G = Conv<Tensor2<f32, 1, 2>, Tensor2<f32, 1, 2>, 1, 1, 1, 2, 1, 1, 1, 1, 0, 0>;
        let conv = G::from_arrays([[[[10.0, 100.0]]]], [0.0, 0.0]);
        assert_eq!(conv.forward(&Tensor2::from_rows([[1.0, 2.0]])).as_slice(), &[10.0, 200.0]);
        assert_eq!(<G as Layer>::PARAMS, 4);
    }

    #[test]
    fn depthwise_keeps_channels_apart_and_multiplies_them() {
        // One pixel, two channels, depth multiplier 2, 1×1 kernel.
        type D = DepthwiseConv<Tensor3<f32, 1, 1, 2>, Tensor3<f32, 1, 1, 4>, 1, 1, 2, 2, 1, 1, 1, 1, 0, 0>;
        let mut d = D::ZEROS;
        d.kernel = [[[[1.0, 2.0], [3.0, 4.0]]]];
        d.bias = [[0.5, 0.0], [0.0, 0.0]];
        let y = d.forward(&Tensor3::from_slice(&[1.0, 10.0]));
        assert_eq!(y.as_slice(), &[1.5, 2.0, 30.0, 40.0]);
    }
}
