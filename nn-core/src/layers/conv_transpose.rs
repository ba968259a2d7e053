//! Keras's transposed convolutions, `Conv1DTranspose`, `Conv2DTranspose` and `Conv3DTranspose`
//! ([`ConvTranspose`]), channels last, with strides, `valid`/`same` padding, `output_padding`
//! and dilation.
//!
//! A transposed convolution is the adjoint of a convolution: each input pixel, times the
//! kernel, is added onto the patch of output pixels a convolution from the output back to the
//! input would have read for it. Its forward pass is therefore a convolution's input gradient
//! and its backward pass a convolution's forward pass and kernel gradient; all three run on
//! the shared products of [`super::product`] over the window of [`super::window`], read from
//! the output's side.

use super::conv::{BLOCK, BLOCK_BYTES, KernelBias, L1_BYTES, SMALL_BLOCK, visit_kernel_bias};
use super::product::{bias_gradient, product_backward, scattered_backward};
use super::window::{Patches, Window};
use crate::Float;
use crate::activations::{ActivationFn, Linear};
use crate::init::{Initializers, Rng};
use crate::kernels::cpu::Level;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Tensor, flatten, flatten_mut};
use crate::weights::bytes;
use core::marker::PhantomData;

/// `Conv1DTranspose` (`X`, `Y` are [`Tensor2`](crate::tensor::Tensor2), `KH = SH = DH = 1`,
/// `PH = 0`) and `Conv2DTranspose` ([`Tensor3`](crate::tensor::Tensor3)): `C` input channels
/// spread over `F` filters by `KH × KW` taps, strides `SH`, `SW`, dilation `DH`, `DW`, then `A`.
/// `Conv3DTranspose` ([`Tensor4`](crate::tensor::Tensor4)) adds the depth's `KD` kernel
/// slices, stride `SD`, dilation `DD` and crop `PD`; `KH` then counts the rows of every
/// kernel slice, `KD × kh`.
///
/// Input pixel `(y, x)`'s tap `(i, j)` lands on output pixel `(y·SH + i·DH − PH, x·SW + j·DW −
/// PW)` when that is inside the output: `PH`, `PW` are what Keras's `padding` crops from the
/// start of each axis (zero for `valid`), and the output's shape sets the end (where
/// `output_padding` adds pixels that only the bias reaches). The macros compute both from
/// Keras's options; by hand, `Y` must be the shape Keras gives.
///
/// The kernel is Keras's `(kh, kw, filters, channels)` array: filters before the input's
/// channels, the other way round from a convolution's.
///
/// ```
/// use nn_core::layers::ConvTranspose;
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// // Conv1DTranspose(1, 2, strides=2) over 2 steps of 1 channel: kernel (2, 1, 1).
/// let up = ConvTranspose::<Tensor2<f32, 2, 1>, Tensor2<f32, 4, 1>, 1, 2, 1, 1, 1, 2, 1, 1, 0, 0>::from_arrays(
///     [[[[1.0]], [[10.0]]]],
///     [0.5],
/// );
/// let y = up.forward(&Tensor2::from_rows([[1.0], [2.0]]));
/// assert_eq!(y.as_slice(), &[1.5, 10.5, 2.5, 20.5]);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(C, align(64)))]
pub struct ConvTranspose<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const F: usize,
    const C: usize,
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
    /// Keras's kernel, `[kh][kw][filters][channels]` (over a volume `[kd · kh][kw][filters]
    /// [channels]`, the same memory as Keras's `(kd, kh, kw, filters, channels)`).
    pub kernel: [[[[X::Scalar; C]; F]; KW]; KH],
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
    const F: usize,
    const C: usize,
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
> ConvTranspose<X, Y, KH, KW, F, C, SH, SW, DH, DW, PH, PW, A, USE_BIAS, KD, SD, DD, PD>
{
    /// All weights zero, the activation with Keras's default options.
    pub const ZEROS: Self = Self::from_arrays([[[[X::Scalar::ZERO; C]; F]; KW]; KH], [X::Scalar::ZERO; F]);

    /// Keras's kernel shape: `(k, f, c)` for a sequence, `(kh, kw, f, c)` for an image,
    /// `(kd, kh, kw, f, c)` for a volume.
    const KERNEL_SHAPE: &'static [usize] = match X::SHAPE.len() {
        2 => &[KW, F, C],
        3 => &[KH, KW, F, C],
        _ => &[KD, KH / KD, KW, F, C],
    };
    /// Keras's bias shape, if the layer has a bias.
    const USED_BIAS: Option<&'static [usize]> = if USE_BIAS { Some(&[F]) } else { None };
    /// The window of the convolution this layer is the transpose of: from the output (its
    /// input) to the input (its output).
    const WINDOW: Window = Window::of::<Y, X>([KD, KH / KD], [SD, SH, SW], [DD, DH, DW], [PD, PH, PW]);
    /// Bytes of one output patch, `KH × KW × F`: the rows the products gather or scatter.
    const PATCH: usize = KH * KW * F * core::mem::size_of::<X::Scalar>();

    /// The layer from Keras-layout arrays; the activation takes Keras's default options.
    pub const fn from_arrays(kernel: [[[[X::Scalar; C]; F]; KW]; KH], bias: [X::Scalar; F]) -> Self {
        ConvTranspose { kernel, bias, activation: A::DEFAULT, _shapes: PhantomData }
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

    /// The transposed convolution of the samples in `x` into `y` (sample after sample), without
    /// the activation: every output starts at the bias, then each input pixel's product with
    /// the kernel is added onto the patch it reaches, a block of pixels of any samples at a time.
    #[inline(always)]
    fn spread(&self, level: Level, x: &[X::Scalar], y: &mut [X::Scalar]) {
        const { assert!(Y::LAST == F && X::LAST == C, "ConvTranspose: channels must be C in, F out") };
        let samples = (x.len() / X::LEN.max(1)).min(y.len() / Y::LEN.max(1));
        let (x, y) = (&x[..samples * X::LEN], &mut y[..samples * Y::LEN]);
        let start = if USE_BIAS { self.bias } else { [X::Scalar::ZERO; F] };
        for pixel in y.chunks_exact_mut(F.max(1)) {
            pixel.copy_from_slice(&start);
        }
        let done = {
            let mut outputs = Patches { win: Self::WINDOW, len: Y::LEN, x: &[], dx: Some(&mut *y) };
            if BLOCK * Self::PATCH <= L1_BYTES {
                product_backward::<_, BLOCK, KH, KW, F, C>(level, x, self.kernel_flat(), None, &mut outputs)
            } else if SMALL_BLOCK * Self::PATCH <= BLOCK_BYTES {
                product_backward::<_, SMALL_BLOCK, KH, KW, F, C>(
                    level,
                    x,
                    self.kernel_flat(),
                    None,
                    &mut outputs,
                )
            } else {
                false
            }
        };
        if !done {
            self.spread_direct(x, y);
        }
    }

    /// [`ConvTranspose::spread`]'s products as loops, for patches too wide for the stack.
    fn spread_direct(&self, x: &[X::Scalar], y: &mut [X::Scalar]) {
        let win = Self::WINDOW;
        for (xs, ys) in x.chunks_exact(X::LEN.max(1)).zip(y.chunks_exact_mut(Y::LEN.max(1))) {
            for (q, pixel) in xs.chunks_exact(C.max(1)).enumerate() {
                let (oy, ox) = (q / win.ow, q % win.ow);
                for (i, row) in self.kernel.iter().enumerate() {
                    for (j, taps) in row.iter().enumerate() {
                        let Some(p) = win.tap(oy, ox, i, j) else { continue };
                        for (out, weights) in ys[p * F..(p + 1) * F].iter_mut().zip(taps) {
                            *out += weights.iter().zip(pixel).fold(X::Scalar::ZERO, |a, (w, v)| a + *w * *v);
                        }
                    }
                }
            }
        }
    }

    /// The kernel's and the input's gradients over a batch (`x` its inputs, `dz` its
    /// pre-activation gradients, sample after sample): the output gradient's patches, gathered
    /// where the forward pass added, times the input (the kernel's) and times the kernel (the
    /// input's).
    #[inline(always)]
    fn backward_products(
        &self,
        level: Level,
        x: &[X::Scalar],
        dz: &[X::Scalar],
        dx: Option<&mut [X::Scalar]>,
        gk: Option<&mut [X::Scalar]>,
    ) {
        let mut patches = Patches { win: Self::WINDOW, len: Y::LEN, x: dz, dx: None };
        let w = self.kernel_flat();
        if BLOCK * Self::PATCH <= L1_BYTES {
            scattered_backward::<_, BLOCK, KH, KW, F, C>(level, x, w, gk, dx, &mut patches);
        } else if SMALL_BLOCK * Self::PATCH <= BLOCK_BYTES {
            scattered_backward::<_, SMALL_BLOCK, KH, KW, F, C>(level, x, w, gk, dx, &mut patches);
        } else {
            self.backward_direct(x, dz, dx, gk);
        }
    }

    /// [`ConvTranspose::backward_products`] as loops, for patches too wide for the stack.
    fn backward_direct(
        &self,
        x: &[X::Scalar],
        dz: &[X::Scalar],
        mut dx: Option<&mut [X::Scalar]>,
        mut gk: Option<&mut [X::Scalar]>,
    ) {
        let win = Self::WINDOW;
        let samples = x.chunks_exact(X::LEN.max(1)).zip(dz.chunks_exact(Y::LEN.max(1)));
        for (s, (xs, dzs)) in samples.enumerate() {
            for (q, pixel) in xs.chunks_exact(C.max(1)).enumerate() {
                let (oy, ox) = (q / win.ow, q % win.ow);
                let at = s * X::LEN + q * C;
                for i in 0..KH {
                    for j in 0..KW {
                        let Some(p) = win.tap(oy, ox, i, j) else { continue };
                        for (f, &d) in dzs[p * F..(p + 1) * F].iter().enumerate() {
                            let tap = ((i * KW + j) * F + f) * C;
                            if let Some(gk) = gk.as_deref_mut() {
                                for (g, v) in gk[tap..tap + C].iter_mut().zip(pixel) {
                                    *g += d * *v;
                                }
                            }
                            if let Some(dx) = dx.as_deref_mut() {
                                for (g, w) in dx[at..at + C].iter_mut().zip(&self.kernel[i][j][f]) {
                                    *g += d * *w;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const F: usize,
    const C: usize,
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
> Layer for ConvTranspose<X, Y, KH, KW, F, C, SH, SW, DH, DW, PH, PW, A, USE_BIAS, KD, SD, DD, PD>
{
    type Scalar = X::Scalar;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str =
        ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"][X::SHAPE.len().saturating_sub(2)];
    const PARAMS: usize = KH * KW * F * C + if USE_BIAS { F } else { 0 };

    #[inline(always)]
    fn forward(&self, x: &X) -> Y {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    #[inline(always)]
    fn forward_at(&self, level: Level, x: &X) -> Y {
        let mut y = Y::ZEROS;
        self.spread(level, x.as_slice(), y.as_mut_slice());
        self.activation.apply(&mut y);
        y
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
    const F: usize,
    const C: usize,
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
> Zeroable for ConvTranspose<X, Y, KH, KW, F, C, SH, SW, DH, DW, PH, PW, A, USE_BIAS, KD, SD, DD, PD>
{
}

/// Keeps the pre-activation, which the activation's derivative reads.
impl<
    X: Tensor,
    Y: Tensor<Scalar = X::Scalar>,
    const KH: usize,
    const KW: usize,
    const F: usize,
    const C: usize,
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
> crate::train::Train
    for ConvTranspose<X, Y, KH, KW, F, C, SH, SW, DH, DW, PH, PW, A, USE_BIAS, KD, SD, DD, PD>
{
    type Kept = Y;
    const KEPT: Y = Y::ZEROS;

    #[inline(always)]
    fn forward_train(
        &mut self,
        level: Level,
        xs: &[X],
        ys: &mut [Y],
        kept: &mut [Y],
        _ctx: &mut crate::train::Ctx<'_>,
    ) {
        // The whole batch's pixels in the same products; `spread` writes every output.
        let rows = xs.len().min(ys.len()).min(kept.len());
        self.spread(level, flatten(&xs[..rows]), flatten_mut(&mut kept[..rows]));
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
        let mut n = xs.len().min(ys.len()).min(kept.len()).min(dys.len());
        n = dxs.as_ref().map_or(n, |d| n.min(d.len()));
        self.activation.backward_rows(flatten(&kept[..n]), flatten(&ys[..n]), flatten_mut(&mut dys[..n]), F);
        let (x, dz) = (flatten(&xs[..n]), flatten(&dys[..n]));
        let dx = dxs.map(|d| flatten_mut(&mut d[..n]));
        let gk = grads.map(|g| {
            if USE_BIAS {
                bias_gradient(dz, &mut g.bias, crate::train::Write::Add);
            }
            g.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut()
        });
        self.backward_products(level, x, dz, dx, gk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor2, Tensor3};
    use crate::train::Train;
    use alloc::vec;
    use alloc::vec::Vec;

    fn noise(n: usize, seed: u32) -> impl Iterator<Item = f64> {
        let mut s = seed;
        (0..n).map(move |_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            f64::from(s >> 8) / f64::from(1u32 << 24) * 2.0 - 1.0
        })
    }

    /// The layer's output by the definition: every input pixel's tap lands on
    /// `(y·SH + i·DH − PH, x·SW + j·DW − PW)` when that is inside the output.
    fn by_definition(
        kernel: &[f64],
        bias: &[f64],
        x: &[f64],
        [h, w, c]: [usize; 3],
        [oh, ow, f]: [usize; 3],
        [kh, kw]: [usize; 2],
        [sh, sw, dh, dw, ph, pw]: [usize; 6],
    ) -> Vec<f64> {
        let mut y: Vec<f64> = (0..oh * ow * f).map(|i| bias[i % f]).collect();
        for (yy, xx, i, j) in (0..h).flat_map(|a| {
            (0..w).flat_map(move |b| (0..kh).flat_map(move |i| (0..kw).map(move |j| (a, b, i, j))))
        }) {
            let (Some(oy), Some(ox)) =
                ((yy * sh + i * dh).checked_sub(ph), (xx * sw + j * dw).checked_sub(pw))
            else {
                continue;
            };
            if oy >= oh || ox >= ow {
                continue;
            }
            for o in 0..f {
                for ci in 0..c {
                    y[(oy * ow + ox) * f + o] +=
                        kernel[((i * kw + j) * f + o) * c + ci] * x[(yy * w + xx) * c + ci];
                }
            }
        }
        y
    }

    #[test]
    fn conv1d_transpose_by_hand() {
        // Conv1DTranspose(1, 3, strides=2, padding="same") over 2 steps: Keras's output is
        // 4 steps, the first 4 of the full spread [x0, 10·x0, 100·x0 + x1, 10·x1, 100·x1].
        let up = ConvTranspose::<Tensor2<f64, 2, 1>, Tensor2<f64, 4, 1>, 1, 3, 1, 1, 1, 2, 1, 1, 0, 0>::from_arrays(
            [[[[1.0]], [[10.0]], [[100.0]]]],
            [0.5],
        );
        let y = up.forward(&Tensor2::from_rows([[1.0], [2.0]]));
        assert_eq!(y.as_slice(), &[1.5, 10.5, 102.5, 20.5]);
        // padding="same" with kernel 4 and stride 1 crops one step from the start (`PW` 1).
        let same = ConvTranspose::<Tensor2<f64, 2, 1>, Tensor2<f64, 2, 1>, 1, 4, 1, 1, 1, 1, 1, 1, 0, 1>::from_arrays(
            [[[[1.0]], [[10.0]], [[100.0]], [[1000.0]]]],
            [0.0],
        );
        // Full: [x0, 10·x0 + x1, 100·x0 + 10·x1, ...] from step 1 on, 2 steps.
        let y = same.forward(&Tensor2::from_rows([[1.0], [2.0]]));
        assert_eq!(y.as_slice(), &[12.0, 120.0]);
    }

    #[test]
    fn every_path_agrees_with_the_definition() {
        type X = Tensor3<f64, 3, 4, 2>;
        // Conv2DTranspose(3, (3, 2), strides=(2, 3), dilation (1, 2)), cropping (1, 0), with
        // the output one pixel short of the full spread in height and one longer in width
        // (output_padding's pixels, reached by the bias only).
        type Y = Tensor3<f64, 6, 13, 3>;
        type L = ConvTranspose<X, Y, 3, 2, 3, 2, 2, 3, 1, 2, 1, 0>;
        let mut layer = L::ZEROS;
        let mut values = noise(L::PARAMS, 7);
        layer.visit_weights_mut(&mut |w| w.data.iter_mut().for_each(|v| *v = values.next().unwrap_or(0.0)));
        let x = X::from_slice(&noise(X::LEN, 8).collect::<Vec<_>>());
        let want = by_definition(
            layer.kernel_flat(),
            &layer.bias,
            x.as_slice(),
            [3, 4, 2],
            [6, 13, 3],
            [3, 2],
            [2, 3, 1, 2, 1, 0],
        );
        let mut direct = vec![0.0; Y::LEN];
        direct.iter_mut().zip(layer.bias.iter().cycle()).for_each(|(d, b)| *d = *b);
        layer.spread_direct(x.as_slice(), &mut direct);
        for (level, got) in [("products", layer.forward(&x).as_slice().to_vec()), ("direct", direct)] {
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!((g - w).abs() < 1e-12, "{level}: output {i}: {g} against {w}");
            }
        }
    }

    /// The backward pass's gradients of `Σ ct · y` for a random `ct`, against central
    /// differences of the forward pass, for the kernel, the bias and the input; both paths.
    #[test]
    #[allow(clippy::needless_range_loop)]
    fn backward_matches_finite_differences_on_every_path() {
        type X = Tensor3<f64, 3, 2, 2>;
        type Y = Tensor3<f64, 6, 5, 3>;
        type L = ConvTranspose<X, Y, 3, 2, 3, 2, 2, 2, 1, 1, 1, 0, crate::activations::Tanh>;
        let mut layer = L::ZEROS;
        let mut values = noise(L::PARAMS, 11);
        layer.visit_weights_mut(&mut |w| w.data.iter_mut().for_each(|v| *v = values.next().unwrap_or(0.0)));
        let xs: Vec<X> = (0..3).map(|s| X::from_slice(&noise(X::LEN, 20 + s).collect::<Vec<_>>())).collect();
        let ct: Vec<f64> = noise(3 * Y::LEN, 30).collect();
        let loss = |l: &L, xs: &[X]| -> f64 {
            xs.iter().flat_map(|x| l.forward(x).as_slice().to_vec()).zip(&ct).map(|(y, c)| y * c).sum()
        };
        let (mut ys, mut kept) = (vec![Y::ZEROS; 3], vec![Y::ZEROS; 3]);
        let mut train = layer.clone();
        let mut rng = Rng::new(0);
        let mut ctx = crate::train::Ctx { trainable: true, rng: &mut rng, penalty: &mut 0.0 };
        train.forward_train(Level::Portable, &xs, &mut ys, &mut kept, &mut ctx);
        let mut dys: Vec<Y> = ct.chunks_exact(Y::LEN).map(Y::from_slice).collect();
        let (mut grads, mut dxs) = (L::ZEROS, vec![X::ZEROS; 3]);
        let dys_copy = dys.clone();
        layer.backward(
            crate::kernels::cpu::level(),
            &xs,
            &ys,
            &kept,
            &mut dys,
            Some(&mut dxs),
            Some(&mut grads),
        );
        // The direct loops on the same pre-activation gradient.
        let dz: Vec<f64> = {
            let mut d = dys_copy.clone();
            for ((z, y), dy) in kept.iter().zip(&ys).zip(d.iter_mut()) {
                layer.activation.backward_rows(z.as_slice(), y.as_slice(), dy.as_mut_slice(), 3);
            }
            flatten(&d).to_vec()
        };
        let (mut gk_direct, mut dx_direct) = (vec![0.0; 3 * 2 * 3 * 2], vec![0.0; 3 * X::LEN]);
        layer.backward_direct(flatten(&xs), &dz, Some(&mut dx_direct), Some(&mut gk_direct));
        let h = 1e-6;
        let check = |what: &str, analytic: f64, plus: f64, minus: f64| {
            let numeric = (plus - minus) / (2.0 * h);
            assert!(
                (analytic - numeric).abs() <= 1e-6 * numeric.abs().max(1.0),
                "{what}: {analytic} against {numeric}"
            );
        };
        for k in 0..L::PARAMS {
            let nudged = |d: f64| {
                let mut l = layer.clone();
                let mut i = 0;
                l.visit_weights_mut(&mut |w| {
                    for v in w.data.iter_mut() {
                        if i == k {
                            *v += d;
                        }
                        i += 1;
                    }
                });
                loss(&l, &xs)
            };
            let analytic = if k < 36 { grads.kernel_flat()[k] } else { grads.bias[k - 36] };
            check(&alloc::format!("weight {k}"), analytic, nudged(h), nudged(-h));
            if k < 36 {
                assert!((gk_direct[k] - analytic).abs() < 1e-12, "direct kernel gradient {k}");
            }
        }
        for i in 0..3 * X::LEN {
            let nudged = |d: f64| {
                let mut xs = xs.clone();
                xs[i / X::LEN].as_mut_slice()[i % X::LEN] += d;
                loss(&layer, &xs)
            };
            let analytic = flatten(&dxs)[i];
            check(&alloc::format!("input {i}"), analytic, nudged(h), nudged(-h));
            assert!((dx_direct[i] - analytic).abs() < 1e-12, "direct input gradient {i}");
        }
    }
}
