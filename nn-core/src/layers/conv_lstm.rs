//! Keras's `ConvLSTM1D`, `ConvLSTM2D` and `ConvLSTM3D`: an LSTM over the steps of a sequence
//! of rows, images or volumes whose gates are convolutions of the step's input (Keras's
//! `kernel`, with the layer's `strides`, `padding` and `dilation_rate`, plus the bias) and of
//! the state (`recurrent_kernel`: stride 1, `same` padding), over the window that the
//! convolutions share ([`super::window`]). The gates are Keras's LSTM's, in its order
//! `i, f, c, o` along the filters: `c = f·c + i·act(zc)`, `h = o·act(c)`.

use super::window::Window;
use crate::Float;
use crate::activations::{ActivationFn, Sigmoid, Tanh};
use crate::init::{Rng, glorot_uniform};
use crate::kernels::cpu::Level;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::Tensor;
use crate::weights::bytes;
use core::marker::PhantomData;

/// Keras's `ConvLSTM1D/2D/3D` over `X`, the steps of `C`-channel rows, images or volumes, with
/// `F` filters (`F4 = 4F`, the kernels' width): the state `H` is one step's output, `P`
/// positions of `F`. The input's kernel has `KH × KW` taps with strides `SH`, `SW`, dilation
/// `DH`, `DW` and padding `PH`, `PW` before each axis, as [`Conv`](super::Conv)'s (a sequence of
/// rows is a sequence of one-row images, `KH = 1`; over volumes `KH` counts the rows of the
/// `KD` kernel slices, and `SD`, `DD`, `PD` are the depth's). `Y` is the output: the last state,
/// or with `SEQ` every step's; `BACK` is `go_backwards` (a returned sequence in the order read,
/// as Keras's).
///
/// ```
/// use nn_core::layers::ConvLstm;
/// use nn_core::tensor::{Tensor, Tensor2, Tensor3};
/// use nn_core::Layer;
/// // ConvLSTM1D with one filter of one tap over 3 steps of 2 rows: with zero weights and a
/// // bias of 0 the gates are one half, and `c = c/2 + tanh(0)/2 = 0`: the state stays zero.
/// type L = ConvLstm<f32, Tensor3<f32, 3, 2, 1>, Tensor2<f32, 2, 1>, Tensor2<f32, 2, 1>, 2, 1, 1, 4, 1, 1, 1, 1, 1, 1, 0, 0>;
/// let y = L::ZEROS.forward(&Tensor3::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
/// assert_eq!(y.as_slice(), &[0.0, 0.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ConvLstm<
    T,
    X,
    Y,
    H,
    const P: usize,
    const C: usize,
    const F: usize,
    const F4: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const DH: usize,
    const DW: usize,
    const PH: usize,
    const PW: usize,
    A = Tanh,
    RA = Sigmoid,
    const SEQ: bool = false,
    const BACK: bool = false,
    const USE_BIAS: bool = true,
    const KD: usize = 1,
    const SD: usize = 1,
    const DD: usize = 1,
    const PD: usize = 0,
> {
    /// Keras's `kernel`, `(kh, kw, channels, 4 · filters)` (`(k, ...)` for ConvLSTM1D,
    /// `(kd · kh, ...)` for ConvLSTM3D).
    pub kernel: [[[[T; F4]; C]; KW]; KH],
    /// Keras's `recurrent_kernel`, `(kh, kw, filters, 4 · filters)`, as the kernel.
    pub recurrent_kernel: [[[[T; F4]; F]; KW]; KH],
    /// Keras's `bias` (zeros, and unused, without `USE_BIAS`).
    pub bias: [T; F4],
    /// The candidate's and the output's activation (Keras's default `tanh`).
    pub activation: A,
    /// The gates' activation (Keras's default `sigmoid`).
    pub recurrent_activation: RA,
    _shapes: PhantomData<fn(X) -> (Y, H)>,
}

/// Declares the impl headers of [`ConvLstm`], whose parameters every impl repeats.
macro_rules! conv_lstm_impl {
    ({$($prefix:tt)*} [$($bounds:tt)*] {$($trait_for:tt)*} { $($body:tt)* }) => {
        $($prefix)* impl<
            T: Float,
            X: Tensor<Scalar = T>,
            Y: Tensor<Scalar = T>,
            H: Tensor<Scalar = T>,
            const P: usize,
            const C: usize,
            const F: usize,
            const F4: usize,
            const KH: usize,
            const KW: usize,
            const SH: usize,
            const SW: usize,
            const DH: usize,
            const DW: usize,
            const PH: usize,
            const PW: usize,
            A: $($bounds)*,
            RA: $($bounds)*,
            const SEQ: bool,
            const BACK: bool,
            const USE_BIAS: bool,
            const KD: usize,
            const SD: usize,
            const DD: usize,
            const PD: usize,
        > $($trait_for)* ConvLstm<
            T, X, Y, H, P, C, F, F4, KH, KW, SH, SW, DH, DW, PH, PW, A, RA, SEQ, BACK, USE_BIAS, KD, SD, DD, PD
        > {
            $($body)*
        }
    };
}

conv_lstm_impl! {
    {} [ActivationFn] {} {
    /// Every weight zero, Keras's default activations.
    pub const ZEROS: Self = ConvLstm {
        kernel: [[[[T::ZERO; F4]; C]; KW]; KH],
        recurrent_kernel: [[[[T::ZERO; F4]; F]; KW]; KH],
        bias: [T::ZERO; F4],
        activation: A::DEFAULT,
        recurrent_activation: RA::DEFAULT,
        _shapes: PhantomData,
    };
    /// Keras's kernel shapes: `(k, channels, 4f)` for ConvLSTM1D, `(kh, kw, channels, 4f)` for
    /// ConvLSTM2D, `(kd, kh, kw, channels, 4f)` for ConvLSTM3D; the recurrent kernel's over
    /// the `f` channels of the state.
    const KERNEL_SHAPE: &'static [usize] = match X::SHAPE.len() {
        3 => &[KW, C, F4],
        4 => &[KH, KW, C, F4],
        _ => &[KD, KH / KD, KW, C, F4],
    };
    const RECURRENT_SHAPE: &'static [usize] = match X::SHAPE.len() {
        3 => &[KW, F, F4],
        4 => &[KH, KW, F, F4],
        _ => &[KD, KH / KD, KW, F, F4],
    };
    const BIAS_SHAPE: &'static [usize] = &[F4];
    /// The steps of the input.
    const STEPS: usize = if X::SHAPE.is_empty() { 0 } else { X::SHAPE[0] };
    /// The input's window, from one step to the state.
    const INPUT: Window = match X::SHAPE.split_first() {
        Some((_, step)) => Window::of_shapes(step, H::SHAPE, [KD, KH / KD], [SD, SH, SW], [DD, DH, DW], [PD, PH, PW]),
        None => Window::of_shapes(&[], &[], [1, 1], [1; 3], [1; 3], [0; 3]),
    };
    /// The state's window onto itself: stride 1, `same` padding (before each axis, half the
    /// kernel rounded down, as XLA's `SAME`).
    const RECURRENT: Window =
        Window::of_shapes(H::SHAPE, H::SHAPE, [KD, KH / KD], [1; 3], [1; 3], [(KD - 1) / 2, (KH / KD - 1) / 2, (KW - 1) / 2]);

    /// Reads the kernel, the recurrent kernel and the bias from raw weight bytes.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        let at = bytes::read(bytes, at, self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        let recurrent = self.recurrent_kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        let at = bytes::read(bytes, at, recurrent);
        if USE_BIAS { bytes::read(bytes, at, &mut self.bias) } else { at }
    }

    /// One step: the state `h` and cell state `c` (`P` positions of `F`) after the step's
    /// input `x`, the gates' pre-activations in `z`.
    #[inline(always)]
    fn step(&self, x: &[T], h: &mut [T], c: &mut [T], z: &mut [[T; F4]; P]) {
        for zr in z.iter_mut() {
            *zr = if USE_BIAS { self.bias } else { [T::ZERO; F4] };
        }
        let z = z.as_flattened_mut();
        Self::INPUT.convolve_add(&self.kernel, x, z);
        Self::RECURRENT.convolve_add(&self.recurrent_kernel, h, z);
        for (p, zr) in z.chunks_exact_mut(F4).enumerate() {
            let (ifg, o) = zr.split_at_mut(3 * F);
            let (i, fg) = ifg.split_at_mut(F);
            let (f, g) = fg.split_at_mut(F);
            self.recurrent_activation.apply_rows(i, F);
            self.recurrent_activation.apply_rows(f, F);
            self.activation.apply_rows(g, F);
            self.recurrent_activation.apply_rows(o, F);
            let cp = &mut c[p * F..(p + 1) * F];
            for (((cv, fv), iv), gv) in cp.iter_mut().zip(f.iter()).zip(i.iter()).zip(g.iter()) {
                *cv = *fv * *cv + *iv * *gv;
            }
            let hp = &mut h[p * F..(p + 1) * F];
            hp.copy_from_slice(cp);
            self.activation.apply_rows(hp, F);
            for (hv, ov) in hp.iter_mut().zip(o.iter()) {
                *hv = *ov * *hv;
            }
        }
    }
    }
}

conv_lstm_impl! {
    {} [ActivationFn] {Layer for} {
    type Scalar = T;
    type Input = X;
    type Output = Y;
    const CLASS: &'static str = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"][X::SHAPE.len().saturating_sub(3) % 3];
    const PARAMS: usize = KH * KW * (C + F) * F4 + if USE_BIAS { F4 } else { 0 };
    const H5_GROUP: &'static str = "cell/vars";

    #[inline]
    fn forward(&self, x: &X) -> Y {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    fn forward_at(&self, _level: Level, x: &X) -> Y {
        const {
            assert!(F4 == 4 * F && H::LEN == P * F && H::LAST == F, "ConvLstm: F4 = 4 · F, H = P positions of F");
            assert!(Y::LEN == if SEQ { Self::STEPS * H::LEN } else { H::LEN }, "ConvLstm: Y does not fit");
        };
        let per_step = X::LEN / Self::STEPS.max(1);
        let (mut h, mut c, mut z) = (H::ZEROS, H::ZEROS, [[T::ZERO; F4]; P]);
        let mut y = Y::ZEROS;
        for k in 0..Self::STEPS {
            let t = if BACK { Self::STEPS - 1 - k } else { k };
            let xt = &x.as_slice()[t * per_step..(t + 1) * per_step];
            self.step(xt, h.as_mut_slice(), c.as_mut_slice(), &mut z);
            if SEQ {
                y.as_mut_slice()[k * H::LEN..(k + 1) * H::LEN].copy_from_slice(h.as_slice());
            }
        }
        if !SEQ {
            y.as_mut_slice().copy_from_slice(h.as_slice());
        }
        y
    }

    fn init_keras(&mut self, rng: &mut Rng) {
        let taps = KH * KW;
        glorot_uniform(self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut(), taps * C, taps * F4, rng);
        // Keras's recurrent kernel is orthogonal; a glorot draw, as the recurrent layers take.
        let recurrent = self.recurrent_kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        glorot_uniform(recurrent, taps * F, taps * F4, rng);
        self.bias = [T::ZERO; F4];
        // `unit_forget_bias`: the forget gate's bias starts at one.
        self.bias[F..2 * F].fill(T::ONE);
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, T>)) {
        let kernel = self.kernel.as_flattened().as_flattened().as_flattened();
        f(WeightRef { name: "conv_lstm_cell/kernel", shape: Self::KERNEL_SHAPE, data: kernel });
        let recurrent = self.recurrent_kernel.as_flattened().as_flattened().as_flattened();
        f(WeightRef { name: "conv_lstm_cell/recurrent_kernel", shape: Self::RECURRENT_SHAPE, data: recurrent });
        if USE_BIAS {
            f(WeightRef { name: "conv_lstm_cell/bias", shape: Self::BIAS_SHAPE, data: &self.bias });
        }
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, T>)) {
        let kernel = self.kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        f(WeightMut { name: "conv_lstm_cell/kernel", shape: Self::KERNEL_SHAPE, data: kernel });
        let recurrent = self.recurrent_kernel.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        f(WeightMut { name: "conv_lstm_cell/recurrent_kernel", shape: Self::RECURRENT_SHAPE, data: recurrent });
        if USE_BIAS {
            f(WeightMut { name: "conv_lstm_cell/bias", shape: Self::BIAS_SHAPE, data: &mut self.bias });
        }
    }
    }
}

// SAFETY: float arrays and two activations, which are `Zeroable`.
conv_lstm_impl! { {unsafe} [Zeroable] {Zeroable for} {} }
