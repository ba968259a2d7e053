//! Keras's convolutions: `Conv1D`, `Conv2D` and `Conv3D` ([`Conv`]), `DepthwiseConv1D` and
//! `DepthwiseConv2D` ([`DepthwiseConv`]), `SeparableConv1D` and `SeparableConv2D`
//! ([`SeparableConv`]), channels last, with strides,
//! `valid`/`same`/`causal` padding (as the padding before each axis; the output shape gives the
//! rest), dilation and groups.
//!
//! A sequence is a one-row image (`Conv1D`'s kernel `(k, c, f)` is `Conv2D`'s `(1, k, c, f)` in
//! the same memory), so one implementation serves both ranks.

use super::product::{ByClosures, bias_gradient, product_backward};
use super::window::{Patches, Window};
use crate::Float;
use crate::activations::{ActivationFn, Linear};
use crate::init::{Initializers, Rng, compute_fans};
use crate::kernels::cpu::Level;
use crate::kernels::gemm;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Tensor, flatten, flatten_mut};
use crate::weights::bytes;
use core::marker::PhantomData;
use core::ops::Range;

/// Output pixels gathered per matrix product: two 12-row tiles of the AVX-512 kernel, when
/// their patches fit in L1 beside the kernel (`L1_BYTES`). Four tiles ran KWS 11% slower,
/// measured side by side (6.9 against 6.1 µs): a larger block is more stack to zero and to
/// keep in L1 for the same products.
pub(super) const BLOCK: usize = 24;
pub(super) const L1_BYTES: usize = 32 * 1024;
/// [`Conv::by_regions`] runs a product per region (up to nine for a padded kernel), each with
/// a setup of some 25 ns at AVX2: below this many multiply-adds a sample, or below 8 filters
/// (part of a register's lanes), the gathered blocks run faster. The autoencoder's three
/// convolutions (1,152 to 4,608 multiply-adds, 1 to 8 filters) took twice as long by regions.
const REGIONS_MACS: usize = 16 * 1024;
/// For wider patches, one tile, up to `BLOCK_BYTES` of stack; wider still run the direct loop.
pub(super) const SMALL_BLOCK: usize = 12;
pub(super) const BLOCK_BYTES: usize = 96 * 1024;
/// The edge pixels of a one-row kernel (those with padding under their window) are few: a
/// small block of them costs less stack to zero.
const EDGE: usize = 4;

/// The weights of a layer that has a kernel and a bias (Keras's `use_bias`), as the
/// convolutions and transposed convolutions keep them: one place for their initializers and
/// visitors.
pub(super) struct KernelBias<'a, T> {
    pub kernel: &'a mut [T],
    /// Keras's kernel shape, whose fans the initializers take.
    pub shape: &'static [usize],
    pub bias: &'a mut [T],
    /// Keras's bias shape, or `None` without a bias (which stays zero).
    pub bias_shape: Option<&'static [usize]>,
}

impl<T: Float> KernelBias<'_, T> {
    /// Keras's initializers: `init`'s, or without, Keras's defaults directly (glorot-uniform and
    /// zeros, not through `Initializer::fill`: a model that names no initializer then links none
    /// of them; mnist_mlp's binary grew 19 KB otherwise). Without a bias, it is zero.
    pub fn init(self, rng: &mut Rng, init: Option<&Initializers>) {
        let (fan_in, fan_out) = compute_fans(self.shape);
        let units = self.bias.len();
        match init {
            None => crate::init::glorot_uniform(self.kernel, fan_in, fan_out, rng),
            Some(init) => init.kernel.fill(self.kernel, fan_in, fan_out, rng),
        }
        match init {
            Some(init) if self.bias_shape.is_some() => init.bias.fill(self.bias, units, units, rng),
            _ => self.bias.fill(T::ZERO),
        }
    }

    /// [`Layer::visit_weights_mut`]'s weights: `kernel`, then `bias` if used.
    pub fn visit_mut(self, f: &mut dyn FnMut(WeightMut<'_, T>)) {
        f(WeightMut { name: "kernel", shape: self.shape, data: self.kernel });
        if let Some(shape) = self.bias_shape {
            f(WeightMut { name: "bias", shape, data: self.bias });
        }
    }
}

/// [`Layer::visit_weights`]'s weights of a [`KernelBias`] layer: `kernel`, then `bias` if given.
pub(super) fn visit_kernel_bias<T>(
    (kernel, shape): (&[T], &'static [usize]),
    bias: Option<(&[T], &'static [usize])>,
    f: &mut dyn FnMut(WeightRef<'_, T>),
) {
    f(WeightRef { name: "kernel", shape, data: kernel });
    if let Some((data, shape)) = bias {
        f(WeightRef { name: "bias", shape, data });
    }
}

/// `Conv1D` (`X`, `Y` are [`Tensor2`](crate::tensor::Tensor2), `KH = SH = DH = 1`, `PH = 0`)
/// and `Conv2D` ([`Tensor3`](crate::tensor::Tensor3)): `F` filters of `KH × KW` taps over `CG`
/// channels each (`CG` is the input's channels over the groups), strides `SH`, `SW`, dilation
/// `DH`, `DW` and padding `PH`, `PW` before each axis, then `A`.
/// `Conv3D` ([`Tensor4`](crate::tensor::Tensor4)) adds the depth's `KD` kernel slices, stride
/// `SD`, dilation `DD` and padding `PD`; `KH` then counts the rows of every kernel slice,
/// `KD × kh`, so that the kernel is Keras's memory and a volume is walked as stacked images.
///
/// The kernel is Keras's `(kh, kw, c / groups, f)` array. The macros compute the output shape and
/// the padding from Keras's `padding` option; by hand, `Y` must be the shape Keras gives.
///
/// With one group, a block of output pixels is gathered into patch rows and multiplied by the
/// kernel with the Dense layer's register-blocked product; with several, a direct loop runs.
/// Training keeps the pre-activation; the backward pass multiplies the same patches, gathered
/// from any samples of the batch, by the output's gradient (the kernel's gradient) and the
/// output's gradient by the kernel's transpose (the patches', added back onto the input).
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
    const KD: usize = 1,
    const SD: usize = 1,
    const DD: usize = 1,
    const PD: usize = 0,
> {
    /// Keras's kernel, `[kh][kw][c / groups][f]` (over a volume `[kd · kh][kw][c / groups][f]`,
    /// the same memory as Keras's `(kd, kh, kw, c / groups, f)`).
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
    const KD: usize,
    const SD: usize,
    const DD: usize,
    const PD: usize,
> Conv<X, Y, KH, KW, CG, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS, KD, SD, DD, PD>
{
    /// All weights zero, the activation with Keras's default options.
    pub const ZEROS: Self = Self::from_arrays([[[[X::Scalar::ZERO; F]; CG]; KW]; KH], [X::Scalar::ZERO; F]);

    /// Keras's kernel shape: `(k, c / groups, f)` for a sequence, `(kh, kw, c / groups, f)` for
    /// an image, `(kd, kh, kw, c / groups, f)` for a volume.
    const KERNEL_SHAPE: &'static [usize] = match X::SHAPE.len() {
        2 => &[KW, CG, F],
        3 => &[KH, KW, CG, F],
        _ => &[KD, KH / KD, KW, CG, F],
    };
    /// Keras's bias shape, if the layer has a bias.
    const USED_BIAS: Option<&'static [usize]> = if USE_BIAS { Some(&[F]) } else { None };
    const WINDOW: Window = Window::of::<X, Y>([KD, KH / KD], [SD, SH, SW], [DD, DH, DW], [PD, PH, PW]);

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

    /// The kernel and bias as [`KernelBias`] initializes and visits them.
    fn kernel_bias(&mut self) -> KernelBias<'_, X::Scalar> {
        let kernel = self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        KernelBias { kernel, shape: Self::KERNEL_SHAPE, bias: &mut self.bias, bias_shape: Self::USED_BIAS }
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
                win.gather(x, oy, ox, patch);
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

    /// The convolution without the activation, into `y` (every value written).
    #[inline(always)]
    fn convolve(&self, level: Level, x: &[X::Scalar], y: &mut [X::Scalar]) {
        const { assert!(Y::LAST == F, "Conv: the output must have F channels") };
        let patch = KH * KW * CG * core::mem::size_of::<X::Scalar>();
        let macs = Self::WINDOW.positions() * KH * KW * CG * F;
        if Self::WINDOW.c == CG && KH > 1 && F >= 8 && macs >= REGIONS_MACS && Self::WINDOW.flat() {
            self.by_regions(level, x, y);
        } else if Self::WINDOW.c == CG && BLOCK * patch <= L1_BYTES {
            // A block no taller than the output: its stack is zeroed on every call (a third of
            // the autoencoder's 4-pixel convolution had gone to zeroing a 24-pixel block).
            let positions = Self::WINDOW.positions();
            if positions <= EDGE {
                self.by_patches::<EDGE>(level, x, y);
            } else if positions <= SMALL_BLOCK {
                self.by_patches::<SMALL_BLOCK>(level, x, y);
            } else {
                self.by_patches::<BLOCK>(level, x, y);
            }
        } else if Self::WINDOW.c == CG && SMALL_BLOCK * patch <= BLOCK_BYTES {
            self.by_patches::<SMALL_BLOCK>(level, x, y);
        } else {
            self.direct(x, y);
        }
    }

    /// One group over one image, undilated along the row: the product reads the patches in
    /// place, a rectangle of output pixels with the same taps inside the input at a time
    /// ([`Window::regions`]), so that nothing is gathered and no zero of the padding is
    /// multiplied. Kernel row `i` of output pixel `(oy, ox)` is a run of the input from pixel
    /// `(oy · SH + i · DH, ox · SW)` (less the padding), so `A`'s rows come in image rows and
    /// each row's values in kernel rows ([`gemm::Groups`]), and so do `C`'s rows and `B`'s.
    /// KWS's first convolution (15 values a patch) had spent as long gathering as multiplying.
    #[inline(always)]
    fn by_regions(&self, level: Level, x: &[X::Scalar], y: &mut [X::Scalar]) {
        let win = Self::WINDOW;
        win.regions(KW, |r| {
            let (m, k) = (r.oy.len() * r.ox.len(), r.i.len() * r.j.len() * CG);
            let out = (r.oy.start * win.ow + r.ox.start) * F;
            if k == 0 {
                // Every tap on padding: the bias alone.
                let start = if USE_BIAS { self.bias } else { [X::Scalar::ZERO; F] };
                for oy in r.oy.clone() {
                    for ox in r.ox.clone() {
                        let at = (oy * win.ow + ox) * F;
                        y[at..at + F].copy_from_slice(&start);
                    }
                }
                return;
            }
            let p = gemm::Product {
                m,
                k,
                n: F,
                a_row: SW * CG,
                a_col: 1,
                ldb: F,
                ldc: F,
                rows: gemm::Groups { every: r.ox.len(), a_step: SH * win.w * CG, other_step: win.ow * F },
                cols: gemm::Groups {
                    every: r.j.len() * CG,
                    a_step: DH * win.w * CG,
                    other_step: KW * CG * F,
                },
            };
            // The input pixel under the region's first pixel's first tap inside the input.
            let (iy, ix) = (r.oy.start * SH + r.i.start * DH - PH, r.ox.start * SW + r.j.start - PW);
            let (a, b) = ((iy * win.w + ix) * CG, (r.i.start * KW + r.j.start) * CG * F);
            gemm::product(
                level,
                &p,
                &x[a..],
                &self.kernel_flat()[b..],
                &mut y[out..],
                gemm::Start::bias(self.bias()),
            );
        });
    }

    /// Any number of groups: the direct loop over taps, channels and filters
    /// ([`Window::convolve_add`]) onto the bias.
    #[inline(always)]
    fn direct(&self, x: &[X::Scalar], y: &mut [X::Scalar]) {
        let start = if USE_BIAS { self.bias } else { [X::Scalar::ZERO; F] };
        for pixel in y.chunks_exact_mut(F) {
            pixel.copy_from_slice(&start);
        }
        Self::WINDOW.convolve_add(&self.kernel, x, y);
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
    const KD: usize,
    const SD: usize,
    const DD: usize,
    const PD: usize,
> Layer for Conv<X, Y, KH, KW, CG, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS, KD, SD, DD, PD>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = ["Conv1D", "Conv2D", "Conv3D"][X::SHAPE.len().saturating_sub(2)];
    const PARAMS: usize = KH * KW * CG * F + if USE_BIAS { F } else { 0 };

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    #[inline(always)]
    fn forward_at(&self, level: Level, x: &X) -> Y {
        let mut y = Y::ZEROS;
        self.forward_into(level, x, &mut y);
        y
    }

    #[inline(always)]
    fn forward_into(&self, level: Level, x: &X, y: &mut Y) {
        self.convolve(level, x.as_slice(), y.as_mut_slice());
        self.activation.apply(y);
    }

    fn init_keras(&mut self, rng: &mut Rng) {
        self.kernel_bias().init(rng, None);
    }

    fn init_with(&mut self, rng: &mut Rng, init: &Initializers) {
        self.kernel_bias().init(rng, Some(init));
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, X::Scalar>)) {
        let bias = Self::USED_BIAS.map(|shape| (&self.bias[..], shape));
        visit_kernel_bias((self.kernel_flat(), Self::KERNEL_SHAPE), bias, f);
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, X::Scalar>)) {
        self.kernel_bias().visit_mut(f);
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
    const KD: usize,
    const SD: usize,
    const DD: usize,
    const PD: usize,
> Zeroable for Conv<X, Y, KH, KW, CG, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS, KD, SD, DD, PD>
{
}

/// `DepthwiseConv2D` (and `DepthwiseConv1D`, over a one-row image as [`Conv`]): each of the
/// input's `C` channels convolved with its own `M` filters (`depth_multiplier`), giving `C × M`
/// channels, channel `c` then its filters; strides, dilation and padding as [`Conv`]. The
/// kernel is Keras's `(kh, kw, c, m)` array (`(k, c, m)` for a sequence).
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
    const KERNEL_SHAPE: &'static [usize] = if X::SHAPE.len() == 2 { &[KW, C, M] } else { &[KH, KW, C, M] };
    const BIAS_SHAPE: &'static [usize] = &[C * M];
    const WINDOW: Window = Window::of::<X, Y>([1, KH], [1, SH, SW], [1, DH, DW], [0, PH, PW]);

    /// Reads the kernel, then the bias, from raw weight bytes at `at`.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        let at = bytes::read(bytes, at, self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        if USE_BIAS { bytes::read(bytes, at, self.bias.as_flattened_mut()) } else { at }
    }

    /// The convolution without the activation, into `y` (`C × M` channels per pixel).
    #[inline(always)]
    fn convolve(&self, x: &[X::Scalar], y: &mut [X::Scalar]) {
        const { assert!(X::LAST == C && Y::LAST == C * M, "DepthwiseConv: channels must be C in, C * M out") };
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
    const CLASS: &'static str = if X::SHAPE.len() == 2 { "DepthwiseConv1D" } else { "DepthwiseConv2D" };
    const PARAMS: usize = KH * KW * C * M + if USE_BIAS { C * M } else { 0 };

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        let mut y = Y::ZEROS;
        self.convolve(x.as_slice(), y.as_mut_slice());
        self.activation.apply(&mut y);
        y
    }

    fn init_keras(&mut self, rng: &mut Rng) {
        // Keras's defaults directly, not through `Initializer::fill`: a model that names no
        // initializer links none of them (mnist_mlp's binary grew 19 KB otherwise).
        let (fan_in, fan_out) = compute_fans(Self::KERNEL_SHAPE);
        let kernel = self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        crate::init::glorot_uniform(kernel, fan_in, fan_out, rng);
        self.bias = [[X::Scalar::ZERO; M]; C];
    }

    fn init_with(&mut self, rng: &mut Rng, init: &Initializers) {
        let (fan_in, fan_out) = compute_fans(Self::KERNEL_SHAPE);
        let kernel = self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        init.depthwise.fill(kernel, fan_in, fan_out, rng);
        if USE_BIAS {
            init.bias.fill(self.bias.as_flattened_mut(), C * M, C * M, rng);
        } else {
            self.bias = [[X::Scalar::ZERO; M]; C];
        }
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

/// `SeparableConv2D` (and `SeparableConv1D`): a [`DepthwiseConv`] without bias or activation
/// into `Z` (`CM = C × M` channels), then a 1×1 convolution to `F` filters with the bias and
/// `A`. Keras's weights are `depthwise_kernel` `(kh, kw, c, m)`, `pointwise_kernel` `(1, 1,
/// c × m, f)` and `bias` (`(k, c, m)` and `(1, c × m, f)` for a sequence).
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
    const POINTWISE_SHAPE: &'static [usize] = if X::SHAPE.len() == 2 { &[1, CM, F] } else { &[1, 1, CM, F] };

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
    const CLASS: &'static str = if X::SHAPE.len() == 2 { "SeparableConv1D" } else { "SeparableConv2D" };
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
        // Keras's defaults directly, not through `Initializer::fill`: a model that names no
        // initializer links none of them (mnist_mlp's binary grew 19 KB otherwise).
        self.depthwise.init_keras(rng);
        crate::init::glorot_uniform(self.pointwise.as_flattened_mut(), CM, F, rng);
        self.bias = [X::Scalar::ZERO; F];
    }

    /// Keras's order: the depthwise kernel, the pointwise kernel, the bias.
    fn init_with(&mut self, rng: &mut Rng, init: &Initializers) {
        self.depthwise.init_with(rng, init);
        init.pointwise.fill(self.pointwise.as_flattened_mut(), CM, F, rng);
        if USE_BIAS {
            init.bias.fill(&mut self.bias, F, F, rng);
        } else {
            self.bias = [X::Scalar::ZERO; F];
        }
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

/// Keras's kernel array `(kh, kw, c, f)`.
type Kernel<T, const KH: usize, const KW: usize, const C: usize, const F: usize> = [[[[T; F]; C]; KW]; KH];

/// A kernel array as one run of its values.
#[inline(always)]
fn flat4<T, const A: usize, const B: usize, const C: usize, const D: usize>(
    k: &mut [[[[T; D]; C]; B]; A],
) -> &mut [T] {
    k.as_flattened_mut().as_flattened_mut().as_flattened_mut()
}

/// How many samples a backward pass may read: the batch, or less if some slice is shorter.
#[inline(always)]
fn batch_len<I, O, K>(xs: &[I], ys: &[O], kept: &[K], dys: &[O], dxs: &Option<&mut [I]>) -> usize {
    let n = xs.len().min(ys.len()).min(kept.len()).min(dys.len());
    dxs.as_ref().map_or(n, |d| n.min(d.len()))
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
    const KD: usize,
    const SD: usize,
    const DD: usize,
    const PD: usize,
> Conv<X, Y, KH, KW, CG, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS, KD, SD, DD, PD>
{
    /// The kernel's and the input's gradients of one group over a batch (`x`, `dz` its inputs
    /// and pre-activation gradients, sample after sample) as products over the patches the
    /// forward pass gathers, `ROWS` output pixels at a time from any samples (see
    /// [`product_backward`]); `false` if the patches are too wide.
    #[inline(always)]
    fn backward_by_patches<const ROWS: usize>(
        &self,
        level: Level,
        x: &[X::Scalar],
        dz: &[X::Scalar],
        dx: Option<&mut [X::Scalar]>,
        gk: Option<&mut [X::Scalar]>,
    ) -> bool {
        let samples = (dz.len() / Y::LEN.max(1)).min(x.len() / X::LEN.max(1));
        let dz = &dz[..samples * Y::LEN];
        let mut patches = Patches { win: Self::WINDOW, len: X::LEN, x, dx };
        product_backward::<_, ROWS, KH, KW, CG, F>(level, dz, self.kernel_flat(), gk, &mut patches)
    }

    /// The backward pass of any number of groups as the direct loop: for every output pixel and
    /// tap, the kernel's gradient gathers `x · dz` and the input's `kernel · dz`.
    fn backward_direct(
        &self,
        x: &[X::Scalar],
        dz: &[X::Scalar],
        mut dx: Option<&mut [X::Scalar]>,
        mut gk: Option<&mut Kernel<X::Scalar, KH, KW, CG, F>>,
    ) {
        let win = Self::WINDOW;
        let groups = (win.c / CG).max(1);
        let per_group = F / groups;
        if Y::LEN == 0 || per_group == 0 {
            return;
        }
        for ((s, dzs), xs) in dz.chunks_exact(Y::LEN).enumerate().zip(x.chunks_exact(X::LEN)) {
            let mut dxs = dx.as_deref_mut().map(|d| &mut d[s * X::LEN..(s + 1) * X::LEN]);
            for (q, d) in dzs.chunks_exact(F).enumerate() {
                let (oy, ox) = (q / win.ow, q % win.ow);
                for i in 0..KH {
                    for j in 0..KW {
                        let Some(p) = win.tap(oy, ox, i, j) else { continue };
                        for (g, dg) in d.chunks_exact(per_group).enumerate() {
                            for ci in 0..CG {
                                let c = p * win.c + g * CG + ci;
                                if let Some(gk) = gk.as_deref_mut() {
                                    let v = xs[c];
                                    for (a, dv) in gk[i][j][ci][g * per_group..].iter_mut().zip(dg) {
                                        *a += v * *dv;
                                    }
                                }
                                if let Some(dxs) = dxs.as_deref_mut() {
                                    let w = &self.kernel[i][j][ci][g * per_group..];
                                    dxs[c] += w.iter().zip(dg).fold(X::Scalar::ZERO, |a, (w, g)| a + *w * *g);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Keeps the pre-activation, which the activation's derivative reads.
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
    const KD: usize,
    const SD: usize,
    const DD: usize,
    const PD: usize,
> crate::train::Train for Conv<X, Y, KH, KW, CG, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS, KD, SD, DD, PD>
{
    type Kept = Y;
    const KEPT: Y = Y::ZEROS;

    // Both passes inline into each level's copy of the model's, so that the activation's
    // loops and the patches' gathers compile for that level, as the inference pass does.
    #[inline(always)]
    fn forward_train(
        &mut self,
        level: Level,
        xs: &[X],
        ys: &mut [Y],
        kept: &mut [Y],
        _ctx: &mut crate::train::Ctx<'_>,
    ) {
        // Every path of `convolve` writes every output (from the bias, or zero), so the kept
        // pre-activations need no zeroing; the activation then runs over the whole batch.
        for (x, z) in xs.iter().zip(kept.iter_mut()) {
            self.convolve(level, x.as_slice(), z.as_mut_slice());
        }
        let rows = ys.len().min(kept.len());
        self.activation.apply_batch_from(flatten(&kept[..rows]), flatten_mut(&mut ys[..rows]), F);
    }

    #[inline(always)]
    fn backward(
        &self,
        level: Level,
        xs: &[X],
        ys: &[Y],
        kept: &[Y],
        dys: &mut [Y],
        dxs: Option<&mut [X]>,
        grads: Option<&mut Self>,
    ) {
        let n = batch_len(xs, ys, kept, dys, &dxs);
        self.activation.backward_rows(flatten(&kept[..n]), flatten(&ys[..n]), flatten_mut(&mut dys[..n]), F);
        let (x, dz) = (flatten(&xs[..n]), flatten(&dys[..n]));
        let mut dx = dxs.map(|d| flatten_mut(&mut d[..n]));
        let mut gk = grads.map(|g| {
            if USE_BIAS {
                bias_gradient(dz, &mut g.bias, crate::train::Write::Add);
            }
            &mut g.kernel
        });
        // The patches' products where the forward pass gathers patches.
        let patch = KH * KW * CG * core::mem::size_of::<X::Scalar>();
        let done = if Self::WINDOW.c == CG && BLOCK * patch <= L1_BYTES {
            self.backward_by_patches::<BLOCK>(level, x, dz, dx.as_deref_mut(), gk.as_deref_mut().map(flat4))
        } else if Self::WINDOW.c == CG && SMALL_BLOCK * patch <= BLOCK_BYTES {
            self.backward_by_patches::<SMALL_BLOCK>(
                level,
                x,
                dz,
                dx.as_deref_mut(),
                gk.as_deref_mut().map(flat4),
            )
        } else {
            false
        };
        if !done {
            self.backward_direct(x, dz, dx, gk);
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
> DepthwiseConv<X, Y, KH, KW, C, M, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
    /// The gradients reaching back through output pixel `q` of one sample, `d` its
    /// pre-activation gradient (`C × M`): adds `x · d` into the kernel's gradient `gk` and
    /// `kernel · d` into the sample's input gradient `dx`, channel by channel.
    #[inline(always)]
    fn pixel_backward(
        &self,
        x: &[X::Scalar],
        q: usize,
        d: &[X::Scalar],
        mut dx: Option<&mut [X::Scalar]>,
        mut gk: Option<&mut Kernel<X::Scalar, KH, KW, C, M>>,
    ) {
        let win = Self::WINDOW;
        let (oy, ox) = (q / win.ow, q % win.ow);
        for i in 0..KH {
            for j in 0..KW {
                let Some(p) = win.tap(oy, ox, i, j) else { continue };
                let taps = p * C..(p + 1) * C;
                if let Some(gk) = gk.as_deref_mut() {
                    for ((g, dc), v) in gk[i][j].iter_mut().zip(d.chunks_exact(M)).zip(&x[taps.clone()]) {
                        for (a, dv) in g.iter_mut().zip(dc) {
                            *a += *v * *dv;
                        }
                    }
                }
                if let Some(dx) = dx.as_deref_mut() {
                    for ((o, w), dc) in dx[taps].iter_mut().zip(&self.kernel[i][j]).zip(d.chunks_exact(M)) {
                        *o += w.iter().zip(dc).fold(X::Scalar::ZERO, |a, (w, g)| a + *w * *g);
                    }
                }
            }
        }
    }
}

/// Keeps the pre-activation, which the activation's derivative reads.
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
> crate::train::Train for DepthwiseConv<X, Y, KH, KW, C, M, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
    type Kept = Y;
    const KEPT: Y = Y::ZEROS;

    fn forward_train(
        &mut self,
        _level: Level,
        xs: &[X],
        ys: &mut [Y],
        kept: &mut [Y],
        _ctx: &mut crate::train::Ctx<'_>,
    ) {
        for ((x, y), z) in xs.iter().zip(ys.iter_mut()).zip(kept.iter_mut()) {
            *z = Y::ZEROS;
            self.convolve(x.as_slice(), z.as_mut_slice());
            *y = *z;
            self.activation.apply(y);
        }
    }

    fn backward(
        &self,
        _level: Level,
        xs: &[X],
        ys: &[Y],
        kept: &[Y],
        dys: &mut [Y],
        mut dxs: Option<&mut [X]>,
        grads: Option<&mut Self>,
    ) {
        let n = batch_len(xs, ys, kept, dys, &dxs);
        self.activation.backward_rows(
            flatten(&kept[..n]),
            flatten(&ys[..n]),
            flatten_mut(&mut dys[..n]),
            C * M,
        );
        let mut gk = grads.map(|g| {
            if USE_BIAS {
                bias_gradient(flatten(&dys[..n]), g.bias.as_flattened_mut(), crate::train::Write::Add);
            }
            &mut g.kernel
        });
        for (s, (x, dz)) in xs[..n].iter().zip(&dys[..n]).enumerate() {
            let mut dx = dxs.as_deref_mut().map(|d| d[s].as_mut_slice());
            for (q, d) in dz.as_slice().chunks_exact(C * M).enumerate() {
                self.pixel_backward(x.as_slice(), q, d, dx.as_deref_mut(), gk.as_deref_mut());
            }
        }
    }
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
    /// The backward pass after the activation's, as products `ROWS` output pixels of the batch
    /// at a time (see [`product_backward`]): the pointwise kernel's gradient is `zᵀ · dz` over
    /// the kept depthwise outputs, and their gradient `dz · pointwiseᵀ` goes back through the
    /// depthwise step pixel by pixel. `false` if a pixel's `CM` channels are too many for it.
    #[inline(always)]
    fn backward_by_rows<const ROWS: usize>(
        &self,
        level: Level,
        xs: &[X],
        kept: &[(Z, Y)],
        dz: &[X::Scalar],
        mut dxs: Option<&mut [X]>,
        grads: Option<&mut Self>,
    ) -> bool {
        let pixels = Z::LEN / CM;
        let (mut gd, gp) = match grads {
            Some(g) => (Some(&mut g.depthwise.kernel), Some(g.pointwise.as_flattened_mut())),
            None => (None, None),
        };
        let gather = |q: usize, row: &mut [[[X::Scalar; CM]; 1]; 1]| {
            let (s, p) = (q / pixels, q % pixels);
            row[0][0].copy_from_slice(&kept[s].0.as_slice()[p * CM..(p + 1) * CM]);
        };
        let through = gd.is_some() || dxs.is_some();
        let scatter = through.then_some(|q: usize, row: &[[[X::Scalar; CM]; 1]; 1]| {
            let (s, p) = (q / pixels, q % pixels);
            let dx = dxs.as_deref_mut().map(|d| d[s].as_mut_slice());
            self.depthwise.pixel_backward(xs[s].as_slice(), p, &row[0][0], dx, gd.as_deref_mut());
        });
        let mut rows = ByClosures { gather, scatter };
        product_backward::<_, ROWS, 1, 1, CM, F>(level, dz, self.pointwise.as_flattened(), gp, &mut rows)
    }

    /// [`SeparableConv::backward_by_rows`] one pixel at a time, for pixels of too many channels.
    fn backward_direct(
        &self,
        xs: &[X],
        kept: &[(Z, Y)],
        dz: &[X::Scalar],
        mut dxs: Option<&mut [X]>,
        grads: Option<&mut Self>,
    ) {
        let (mut gd, mut gp) = match grads {
            Some(g) => (Some(&mut g.depthwise.kernel), Some(&mut g.pointwise)),
            None => (None, None),
        };
        let mut dzs = [X::Scalar::ZERO; CM];
        for (s, (x, (z, _))) in xs.iter().zip(kept).enumerate() {
            let dys = dz.chunks_exact(F).skip(s * (Y::LEN / F)).take(Y::LEN / F);
            for (p, (d, zp)) in dys.zip(z.as_slice().chunks_exact(CM)).enumerate() {
                if let Some(gp) = gp.as_deref_mut() {
                    for (row, &v) in gp.iter_mut().zip(zp) {
                        for (a, &g) in row.iter_mut().zip(d) {
                            *a += v * g;
                        }
                    }
                }
                for (o, row) in dzs.iter_mut().zip(&self.pointwise) {
                    *o = row.iter().zip(d).fold(X::Scalar::ZERO, |a, (w, g)| a + *w * *g);
                }
                let dx = dxs.as_deref_mut().map(|d| d[s].as_mut_slice());
                self.depthwise.pixel_backward(x.as_slice(), p, &dzs, dx, gd.as_deref_mut());
            }
        }
    }
}

/// Keeps the depthwise step's output, which the pointwise kernel's gradient reads, and the
/// pre-activation, which the activation's derivative reads.
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
> crate::train::Train for SeparableConv<X, Z, Y, KH, KW, C, M, CM, F, SH, SW, DH, DW, PH, PW, A, USE_BIAS>
{
    type Kept = (Z, Y);
    const KEPT: (Z, Y) = (Z::ZEROS, Y::ZEROS);

    fn forward_train(
        &mut self,
        level: Level,
        xs: &[X],
        ys: &mut [Y],
        kept: &mut [(Z, Y)],
        _ctx: &mut crate::train::Ctx<'_>,
    ) {
        const { assert!(Z::LAST == CM && Y::LAST == F, "SeparableConv: Z has C * M channels, Y has F") };
        let bias = if USE_BIAS { Some(&self.bias[..]) } else { None };
        for ((x, y), (z, pre)) in xs.iter().zip(ys.iter_mut()).zip(kept.iter_mut()) {
            *z = Z::ZEROS;
            self.depthwise.convolve(x.as_slice(), z.as_mut_slice());
            *pre = Y::ZEROS;
            gemm::dense(level, z.as_slice(), self.pointwise.as_flattened(), bias, pre.as_mut_slice(), CM, F);
            *y = *pre;
            self.activation.apply(y);
        }
    }

    fn backward(
        &self,
        level: Level,
        xs: &[X],
        ys: &[Y],
        kept: &[(Z, Y)],
        dys: &mut [Y],
        dxs: Option<&mut [X]>,
        mut grads: Option<&mut Self>,
    ) {
        let n = batch_len(xs, ys, kept, dys, &dxs);
        for ((k, y), dy) in kept[..n].iter().zip(&ys[..n]).zip(dys[..n].iter_mut()) {
            self.activation.backward_rows(k.1.as_slice(), y.as_slice(), dy.as_mut_slice(), F);
        }
        let dz = flatten(&dys[..n]);
        if USE_BIAS && let Some(g) = grads.as_deref_mut() {
            bias_gradient(dz, &mut g.bias, crate::train::Write::Add);
        }
        let mut dxs = dxs.map(|d| &mut d[..n]);
        let (xs, kept) = (&xs[..n], &kept[..n]);
        let row = CM * core::mem::size_of::<X::Scalar>();
        let done = if BLOCK * row <= L1_BYTES {
            self.backward_by_rows::<BLOCK>(level, xs, kept, dz, dxs.as_deref_mut(), grads.as_deref_mut())
        } else if SMALL_BLOCK * row <= BLOCK_BYTES {
            let (dxs, grads) = (dxs.as_deref_mut(), grads.as_deref_mut());
            self.backward_by_rows::<SMALL_BLOCK>(level, xs, kept, dz, dxs, grads)
        } else {
            false
        };
        if !done {
            self.backward_direct(xs, kept, dz, dxs, grads);
        }
    }
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
    use crate::tensor::{self, Tensor2, Tensor3};

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
    fn padded_kernels_skip_the_padding_and_agree_with_the_direct_loop() {
        // KWS's two convolutions (5 × 3 stride (2, 1) valid; 3 × 3 `same`), a strided `same`,
        // rows dilated, and padding so deep that the first and last output rows have no tap
        // inside the input (the bias alone).
        type Kws1 = Conv<Tensor3<f32, 49, 10, 1>, Tensor3<f32, 23, 8, 16>, 5, 3, 1, 16, 2, 1, 1, 1, 0, 0>;
        type Kws2 = Conv<Tensor3<f32, 11, 4, 16>, Tensor3<f32, 11, 4, 32>, 3, 3, 16, 32, 1, 1, 1, 1, 1, 1>;
        type Strided = Conv<Tensor3<f32, 9, 7, 3>, Tensor3<f32, 5, 4, 5>, 3, 3, 3, 5, 2, 2, 1, 1, 1, 1>;
        type Dilated = Conv<Tensor3<f32, 10, 6, 2>, Tensor3<f32, 6, 5, 3>, 3, 2, 2, 3, 1, 1, 2, 1, 0, 0>;
        type Deep = Conv<Tensor3<f32, 2, 3, 1>, Tensor3<f32, 5, 3, 2>, 2, 1, 1, 2, 1, 1, 1, 1, 2, 0>;
        every_path_agrees(Kws1::ZEROS, |c, x, y| c.direct(x, y));
        every_path_agrees(Kws2::ZEROS, |c, x, y| c.direct(x, y));
        every_path_agrees(Strided::ZEROS, |c, x, y| c.direct(x, y));
        every_path_agrees(Dilated::ZEROS, |c, x, y| c.direct(x, y));
        every_path_agrees(Deep::ZEROS, |c, x, y| c.direct(x, y));
    }

    #[test]
    fn conv3d_sums_over_kernel_slices_by_hand() {
        use crate::tensor::Tensor4;
        // Conv3D(1, (2, 1, 1)) over 2 slices of 1×2: y[w] = 10·x[0][w] + 100·x[1][w] + 0.5.
        type V = Conv<
            Tensor4<f64, 2, 1, 2, 1>,
            Tensor4<f64, 1, 1, 2, 1>,
            2,
            1,
            1,
            1,
            1,
            1,
            1,
            1,
            0,
            0,
            Linear,
            true,
            2,
        >;
        let conv = V::from_arrays([[[[10.0]]], [[[100.0]]]], [0.5]);
        let y = conv.forward(&Tensor4::from_slice(&[1.0, 2.0, 3.0, 4.0]));
        assert_eq!(y.as_slice(), &[310.5, 420.5]);
        // (3, 1, 1) with `same` padding over 2 slices: one slice of padding before.
        type S = Conv<
            Tensor4<f64, 2, 1, 1, 1>,
            Tensor4<f64, 2, 1, 1, 1>,
            3,
            1,
            1,
            1,
            1,
            1,
            1,
            1,
            0,
            0,
            Linear,
            false,
            3,
            1,
            1,
            1,
        >;
        let conv = S::from_arrays([[[[1.0]]], [[[10.0]]], [[[100.0]]]], [0.0]);
        let y = conv.forward(&Tensor4::from_slice(&[1.0, 2.0]));
        assert_eq!(y.as_slice(), &[210.0, 21.0]);
        assert_eq!(<S as Layer>::CLASS, "Conv3D");
    }

    #[test]
    fn groups_only_mix_their_own_channels() {
        // Conv1D(2, 1, groups=2) over 2 channels: each filter sees one channel.
        type G = Conv<Tensor2<f32, 1, 2>, Tensor2<f32, 1, 2>, 1, 1, 1, 2, 1, 1, 1, 1, 0, 0>;
        let conv = G::from_arrays([[[[10.0, 100.0]]]], [0.0, 0.0]);
        assert_eq!(conv.forward(&Tensor2::from_rows([[1.0, 2.0]])).as_slice(), &[10.0, 200.0]);
        assert_eq!(<G as Layer>::PARAMS, 4);
    }

    /// `n` pseudo-random values in `[-0.5, 0.5)`.
    fn noise(n: usize, seed: u32) -> impl Iterator<Item = f64> {
        let mut seed = seed;
        core::iter::repeat_with(move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f64 / (1u32 << 24) as f64 - 0.5
        })
        .take(n)
    }

    /// The gradients of `layer` for inputs `xs` and output gradients `dys` at `level`: the
    /// layer's weight gradients and the inputs'.
    fn gradients<L: crate::train::Train<Scalar = f64> + Clone, const N: usize>(
        layer: &L,
        level: Level,
        xs: &[L::Input; N],
        dys: &[L::Output; N],
    ) -> (L, [L::Input; N])
    where
        L::Input: Tensor,
        L::Output: Tensor,
    {
        let mut layer = layer.clone();
        let (mut ys, mut kept) = ([L::Output::ZEROS; N], [L::KEPT; N]);
        let mut rng = Rng::new(1);
        let mut ctx = crate::train::Ctx { trainable: true, rng: &mut rng, penalty: &mut 0.0 };
        layer.forward_train(level, xs, &mut ys, &mut kept, &mut ctx);
        let mut grads = layer.clone();
        grads.visit_weights_mut(&mut |w| w.data.fill(0.0));
        let (mut dxs, mut dys) = ([L::Input::ZEROS; N], *dys);
        layer.backward(level, xs, &ys, &kept, &mut dys, Some(&mut dxs), Some(&mut grads));
        (grads, dxs)
    }

    #[test]
    fn conv1d_backward_by_hand() {
        // The doc example: kernel (1, 10), bias 0.5, x = (1, 2, 3), y = (21.5, 32.5). With
        // dy = (1, 2): dk0 = 1·1 + 2·2, dk1 = 2·1 + 3·2, db = 3, dx = (1, 10 + 2, 20).
        type C1 = Conv<Tensor2<f64, 3, 1>, Tensor2<f64, 2, 1>, 1, 2, 1, 1, 1, 1, 1, 1, 0, 0>;
        let conv = C1::from_arrays([[[[1.0]], [[10.0]]]], [0.5]);
        let x = Tensor2::from_rows([[1.0], [2.0], [3.0]]);
        for level in [Level::Portable, Level::Avx2, Level::Avx512] {
            let (g, dx) = gradients(&conv, level, &[x], &[Tensor2::from_rows([[1.0], [2.0]])]);
            assert_eq!(g.kernel, [[[[5.0]], [[8.0]]]]);
            assert_eq!(g.bias, [3.0]);
            assert_eq!(dx[0].as_slice(), &[1.0, 12.0, 20.0]);
        }
    }

    #[test]
    fn same_strided_conv2d_backward_by_hand_on_every_path() {
        // The forward test's layer, dy = (1, 2, 3, 4) over the 2×2 output. Each input pixel
        // gets the dy of the one window over it; each tap gathers dy · x over the windows
        // where it falls inside the input (padding is after, on the right and bottom).
        type C2 = Conv<Tensor3<f64, 3, 3, 1>, Tensor3<f64, 2, 2, 1>, 2, 2, 1, 1, 2, 2, 1, 1, 0, 0>;
        let conv = C2::from_arrays([[[[1.0]], [[1.0]]], [[[1.0]], [[1.0]]]], [0.0]);
        let x = Tensor3::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        let dy = Tensor3::from_slice(&[1.0, 2.0, 3.0, 4.0]);
        let kernel = [[[[1.0 + 6.0 + 21.0 + 36.0]], [[2.0 + 24.0]]], [[[4.0 + 12.0]], [[5.0]]]];
        let want_dx = [1.0, 1.0, 2.0, 1.0, 1.0, 2.0, 3.0, 3.0, 4.0];
        for level in [Level::Portable, Level::Avx2, Level::Avx512] {
            let (g, dx) = gradients(&conv, level, &[x], &[dy]);
            assert_eq!(g.kernel, kernel);
            assert_eq!(g.bias, [10.0]);
            assert_eq!(dx[0].as_slice(), &want_dx);
        }
        let (mut gk, mut dx) = ([[[[0.0]; 1]; 2]; 2], [0.0; 9]);
        conv.backward_direct(x.as_slice(), dy.as_slice(), Some(&mut dx), Some(&mut gk));
        assert_eq!((gk, dx), (kernel, want_dx));
    }

    #[test]
    fn grouped_backward_keeps_groups_apart() {
        // The forward test's layer: filter 0 reads channel 0 with weight 10, filter 1 channel
        // 1 with 100. With dy = (1, 1): dk = (x0, x1), dx = (10, 100).
        type G = Conv<Tensor2<f64, 1, 2>, Tensor2<f64, 1, 2>, 1, 1, 1, 2, 1, 1, 1, 1, 0, 0>;
        let conv = G::from_arrays([[[[10.0, 100.0]]]], [0.0, 0.0]);
        let (g, dx) = gradients(
            &conv,
            Level::Portable,
            &[Tensor2::from_rows([[1.0, 2.0]])],
            &[Tensor2::from_rows([[1.0, 1.0]])],
        );
        assert_eq!(g.kernel, [[[[1.0, 2.0]]]]);
        assert_eq!(dx[0].as_slice(), &[10.0, 100.0]);
    }

    #[test]
    fn depthwise_backward_by_hand() {
        // The forward test's layer under relu, with the first output negative so that its
        // gradient stops: kernel ((1, 2), (3, 4)), x = (-1, 10): y = relu(-1 + 0.5, -2, 30, 40).
        type D = DepthwiseConv<
            Tensor3<f64, 1, 1, 2>,
            Tensor3<f64, 1, 1, 4>,
            1,
            1,
            2,
            2,
            1,
            1,
            1,
            1,
            0,
            0,
            crate::activations::Relu,
        >;
        let mut d = D::ZEROS;
        d.kernel = [[[[1.0, 2.0], [3.0, 4.0]]]];
        d.bias = [[0.5, 0.0], [0.0, 0.0]];
        let (g, dx) = gradients(
            &d,
            Level::Portable,
            &[Tensor3::from_slice(&[-1.0, 10.0])],
            &[Tensor3::from_slice(&[1.0, 1.0, 1.0, 2.0])],
        );
        assert_eq!(g.kernel, [[[[0.0, 0.0], [10.0, 20.0]]]]);
        assert_eq!(g.bias, [[0.0, 0.0], [1.0, 2.0]]);
        assert_eq!(dx[0].as_slice(), &[0.0, 3.0 + 8.0]);
    }

    #[test]
    fn separable_backward_by_hand() {
        // One pixel, one channel, multiplier 2, 1×1 kernels: z = x · (2, 3), y = z · (1, 10) + 1.
        // With dy = 1: d pointwise = z = (2x, 3x), dz = (1, 10), d depthwise = x · dz, dx = 2 + 30.
        type S = SeparableConv<
            Tensor3<f64, 1, 1, 1>,
            Tensor3<f64, 1, 1, 2>,
            Tensor3<f64, 1, 1, 1>,
            1,
            1,
            1,
            2,
            2,
            1,
            1,
            1,
            1,
            1,
            0,
            0,
        >;
        let mut s = S::ZEROS;
        s.depthwise.kernel = [[[[2.0, 3.0]]]];
        s.pointwise = [[1.0], [10.0]];
        s.bias = [1.0];
        let x = Tensor3::from_slice(&[0.5]);
        assert_eq!(s.forward(&x).as_slice(), &[1.0 + 1.0 + 15.0]);
        let (g, dx) = gradients(&s, Level::Portable, &[x], &[Tensor3::from_slice(&[1.0])]);
        assert_eq!(g.pointwise, [[1.0], [1.5]]);
        assert_eq!(g.bias, [1.0]);
        assert_eq!(g.depthwise.kernel, [[[[0.5, 5.0]]]]);
        assert_eq!(dx[0].as_slice(), &[32.0]);
    }

    #[test]
    fn separable_products_agree_with_the_pixel_loop() {
        // 5×4 pixels, 3 channels, multiplier 2, 4 filters, `same` with stride (2, 1).
        type S = SeparableConv<
            Tensor3<f64, 5, 4, 3>,
            Tensor3<f64, 3, 4, 6>,
            Tensor3<f64, 3, 4, 4>,
            3,
            2,
            3,
            2,
            6,
            4,
            2,
            1,
            1,
            1,
            1,
            0,
            crate::activations::Tanh,
        >;
        let mut sep = S::ZEROS;
        let mut values = noise(usize::MAX, 5);
        sep.visit_weights_mut(&mut |w| w.data.iter_mut().for_each(|v| *v = values.next().unwrap()));
        let (mut xs, mut dz) = ([Tensor3::ZEROS; 2], [Tensor3::<f64, 3, 4, 4>::ZEROS; 2]);
        for (v, r) in tensor::flatten_mut(&mut xs).iter_mut().chain(tensor::flatten_mut(&mut dz)).zip(values)
        {
            *v = r;
        }
        let (mut ys, mut kept) = ([Tensor3::ZEROS; 2], [<S as crate::train::Train>::KEPT; 2]);
        let mut rng = Rng::new(1);
        let mut ctx = crate::train::Ctx { trainable: true, rng: &mut rng, penalty: &mut 0.0 };
        crate::train::Train::forward_train(&mut sep, Level::Portable, &xs, &mut ys, &mut kept, &mut ctx);
        let (mut want, mut want_dx) = (S::ZEROS, [Tensor3::ZEROS; 2]);
        sep.backward_direct(&xs, &kept, flatten(&dz), Some(&mut want_dx), Some(&mut want));
        for level in [Level::Portable, Level::Avx2, Level::Avx512] {
            let (mut got, mut dx) = (S::ZEROS, [Tensor3::ZEROS; 2]);
            assert!(sep.backward_by_rows::<BLOCK>(
                level,
                &xs,
                &kept,
                flatten(&dz),
                Some(&mut dx),
                Some(&mut got)
            ));
            let pairs = flat4(&mut got.depthwise.kernel).iter().zip(flat4(&mut want.depthwise.kernel).iter());
            let pairs = pairs.chain(got.pointwise.as_flattened().iter().zip(want.pointwise.as_flattened()));
            for (a, b) in pairs.chain(flatten(&dx).iter().zip(flatten(&want_dx))) {
                assert!((a - b).abs() < 1e-12, "{level:?}: {a} vs {b}");
            }
        }
    }

    /// The products over gathered patches, at every level, against the direct loop, for
    /// `layer` with pseudo-random weights over two samples (blocks straddle them).
    macro_rules! backward_paths_agree {
        ($ty:ty) => {
            backward_paths_agree!($ty, BLOCK)
        };
        ($ty:ty, $rows:expr) => {{
            type L = $ty;
            type X = <L as Layer>::Input;
            type Y = <L as Layer>::Output;
            let mut conv = L::ZEROS;
            let mut values = noise(usize::MAX, 7);
            conv.visit_weights_mut(&mut |w| w.data.iter_mut().for_each(|v| *v = values.next().unwrap()));
            let (mut xs, mut dz) = ([X::ZEROS; 2], [Y::ZEROS; 2]);
            for (v, r) in tensor::flatten_mut(&mut xs)
                .iter_mut()
                .chain(tensor::flatten_mut(&mut dz))
                .zip(noise(usize::MAX, 11))
            {
                *v = r;
            }
            let dz = flatten(&dz);
            let mut want_gk = L::ZEROS.kernel;
            let mut want_dx = [X::ZEROS; 2];
            conv.backward_direct(
                flatten(&xs),
                dz,
                Some(tensor::flatten_mut(&mut want_dx)),
                Some(&mut want_gk),
            );
            let (want_gk, want_dx) = (flat4(&mut want_gk), flatten(&want_dx));
            for level in [Level::Portable, Level::Avx2, Level::Avx512] {
                let mut gk = L::ZEROS.kernel;
                let mut dx = [X::ZEROS; 2];
                let done = conv.backward_by_patches::<{ $rows }>(
                    level,
                    flatten(&xs),
                    dz,
                    Some(tensor::flatten_mut(&mut dx)),
                    Some(flat4(&mut gk)),
                );
                assert!(done);
                for (a, b) in
                    flat4(&mut gk).iter().zip(want_gk.iter()).chain(flatten(&dx).iter().zip(want_dx))
                {
                    assert!((a - b).abs() < 1e-12, "{level:?} {}: {a} vs {b}", stringify!($ty));
                }
            }
        }};
    }

    #[test]
    fn backward_products_agree_with_the_direct_loop() {
        backward_paths_agree!(Conv<Tensor2<f64, 20, 3>, Tensor2<f64, 20, 5>, 1, 3, 3, 5, 1, 1, 1, 1, 0, 2>);
        backward_paths_agree!(Conv<Tensor2<f64, 17, 2>, Tensor2<f64, 5, 33>, 1, 4, 2, 33, 1, 3, 1, 1, 0, 0>);
        backward_paths_agree!(
            Conv<Tensor3<f64, 5, 7, 2>, Tensor3<f64, 3, 4, 3>, 1, 3, 2, 3, 2, 2, 1, 1, 0, 1>
        );
        // Conv2D (3, 2) dilated (2, 2), `same`: padding 2 above and 1 left.
        backward_paths_agree!(
            Conv<Tensor3<f64, 6, 5, 2>, Tensor3<f64, 6, 5, 4>, 3, 2, 2, 4, 1, 1, 2, 2, 2, 1>
        );
        // A kernel of 9216 values, more than the transposes hold: two groups of filters.
        backward_paths_agree!(
            Conv<Tensor3<f64, 4, 4, 64>, Tensor3<f64, 4, 4, 16>, 3, 3, 64, 16, 1, 1, 1, 1, 1, 1>,
            SMALL_BLOCK
        );
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
