//! Keras's `ConvLSTM1D`: an LSTM over the steps of a sequence of rows whose gates are 1-D
//! convolutions over the rows, of the step's input (Keras's `kernel`, with the layer's
//! `strides`, `padding` and `dilation_rate`, plus the bias) and of the state
//! (`recurrent_kernel`: stride 1, `same` padding). The gates are Keras's LSTM's, in its order
//! `i, f, c, o` along the filters: `c = f·c + i·act(zc)`, `h = o·act(c)`.

use crate::Float;
use crate::activations::{ActivationFn, Sigmoid, Tanh};
use crate::init::{Rng, glorot_uniform};
use crate::kernels::cpu::Level;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Tensor, Tensor3};
use crate::weights::bytes;
use core::marker::PhantomData;

/// Keras's `ConvLSTM1D` over `S` steps of `R` rows of `C` channels, `F` filters (`F4 = 4F`, the
/// kernels' width), a kernel of `K` taps with stride `ST`, dilation `DL` and `PL` rows of
/// padding before the first (`same`'s; 0 for `valid`), giving `RO` rows. `Y` is the output:
/// the last state, `(RO, F)`, or with `SEQ` every step's, `(S, RO, F)`; `BACK` is
/// `go_backwards` (a returned sequence in the order read, as Keras's).
///
/// ```
/// use nn_core::layers::ConvLstm1D;
/// use nn_core::tensor::{Tensor, Tensor2, Tensor3};
/// use nn_core::Layer;
/// // One filter, one tap: with zero weights and a bias of 0 the gates are one half, and
/// // `c = c/2 + tanh(0)/2 = 0`: the state stays zero.
/// type L = ConvLstm1D<f32, Tensor2<f32, 2, 1>, 3, 2, 1, 2, 1, 4, 1, 1, 1, 0>;
/// let y = L::ZEROS.forward(&Tensor3::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
/// assert_eq!(y.as_slice(), &[0.0, 0.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ConvLstm1D<
    T,
    Y,
    const S: usize,
    const R: usize,
    const C: usize,
    const RO: usize,
    const F: usize,
    const F4: usize,
    const K: usize,
    const ST: usize,
    const DL: usize,
    const PL: usize,
    A = Tanh,
    RA = Sigmoid,
    const SEQ: bool = false,
    const BACK: bool = false,
    const USE_BIAS: bool = true,
> {
    /// Keras's `kernel`, `(k, channels, 4 · filters)`.
    pub kernel: [[[T; F4]; C]; K],
    /// Keras's `recurrent_kernel`, `(k, filters, 4 · filters)`.
    pub recurrent_kernel: [[[T; F4]; F]; K],
    /// Keras's `bias` (zeros, and unused, without `USE_BIAS`).
    pub bias: [T; F4],
    /// The candidate's and the output's activation (Keras's default `tanh`).
    pub activation: A,
    /// The gates' activation (Keras's default `sigmoid`).
    pub recurrent_activation: RA,
    _output: PhantomData<fn() -> Y>,
}

/// `out[ro] += Σ_k x[ro·stride + k·dilation - pad] · w[k]` over the rows of `x` (`CIN` values
/// each) that exist: a 1-D convolution of `x` into `out` (`F4` values a row), added.
#[inline(always)]
fn conv_into<T: Float, const CIN: usize, const F4: usize, const K: usize>(
    x: &[T],
    w: &[[[T; F4]; CIN]; K],
    (stride, dilation, pad): (usize, usize, usize),
    out: &mut [T],
) {
    let rows = x.len() / CIN.max(1);
    for (ro, o) in out.chunks_exact_mut(F4).enumerate() {
        for (k, tap) in w.iter().enumerate() {
            let Some(r) = (ro * stride + k * dilation).checked_sub(pad).filter(|r| *r < rows) else {
                continue;
            };
            for (xv, row) in x[r * CIN..(r + 1) * CIN].iter().zip(tap) {
                for (v, wv) in o.iter_mut().zip(row) {
                    *v += *xv * *wv;
                }
            }
        }
    }
}

impl<
    T: Float,
    Y: Tensor<Scalar = T>,
    const S: usize,
    const R: usize,
    const C: usize,
    const RO: usize,
    const F: usize,
    const F4: usize,
    const K: usize,
    const ST: usize,
    const DL: usize,
    const PL: usize,
    A: ActivationFn,
    RA: ActivationFn,
    const SEQ: bool,
    const BACK: bool,
    const USE_BIAS: bool,
> ConvLstm1D<T, Y, S, R, C, RO, F, F4, K, ST, DL, PL, A, RA, SEQ, BACK, USE_BIAS>
{
    /// Every weight zero, Keras's default activations.
    pub const ZEROS: Self = ConvLstm1D {
        kernel: [[[T::ZERO; F4]; C]; K],
        recurrent_kernel: [[[T::ZERO; F4]; F]; K],
        bias: [T::ZERO; F4],
        activation: A::DEFAULT,
        recurrent_activation: RA::DEFAULT,
        _output: PhantomData,
    };
    const KERNEL_SHAPE: &'static [usize] = &[K, C, F4];
    const RECURRENT_SHAPE: &'static [usize] = &[K, F, F4];
    const BIAS_SHAPE: &'static [usize] = &[F4];

    /// Reads the kernel, the recurrent kernel and the bias from raw weight bytes.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        let at = bytes::read(bytes, at, self.kernel.as_flattened_mut().as_flattened_mut());
        let at = bytes::read(bytes, at, self.recurrent_kernel.as_flattened_mut().as_flattened_mut());
        if USE_BIAS { bytes::read(bytes, at, &mut self.bias) } else { at }
    }

    /// One step: the state `h` and cell state `c` (`RO` rows of `F`) after the step's input `x`
    /// (`R` rows of `C`), the gates' pre-activations in `z`.
    #[inline(always)]
    fn step(&self, x: &[T], h: &mut [T], c: &mut [T], z: &mut [[T; F4]; RO]) {
        for zr in z.iter_mut() {
            *zr = if USE_BIAS { self.bias } else { [T::ZERO; F4] };
        }
        let z = z.as_flattened_mut();
        conv_into::<T, C, F4, K>(x, &self.kernel, (ST, DL, PL), z);
        conv_into::<T, F, F4, K>(h, &self.recurrent_kernel, (1, 1, (K - 1) / 2), z);
        for (ro, zr) in z.chunks_exact_mut(F4).enumerate() {
            let (ifg, o) = zr.split_at_mut(3 * F);
            let (i, fg) = ifg.split_at_mut(F);
            let (f, g) = fg.split_at_mut(F);
            self.recurrent_activation.apply_rows(i, F);
            self.recurrent_activation.apply_rows(f, F);
            self.activation.apply_rows(g, F);
            self.recurrent_activation.apply_rows(o, F);
            let cr = &mut c[ro * F..(ro + 1) * F];
            for (((cv, fv), iv), gv) in cr.iter_mut().zip(f.iter()).zip(i.iter()).zip(g.iter()) {
                *cv = *fv * *cv + *iv * *gv;
            }
            let hr = &mut h[ro * F..(ro + 1) * F];
            hr.copy_from_slice(cr);
            self.activation.apply_rows(hr, F);
            for (hv, ov) in hr.iter_mut().zip(o.iter()) {
                *hv = *ov * *hv;
            }
        }
    }
}

impl<
    T: Float,
    Y: Tensor<Scalar = T>,
    const S: usize,
    const R: usize,
    const C: usize,
    const RO: usize,
    const F: usize,
    const F4: usize,
    const K: usize,
    const ST: usize,
    const DL: usize,
    const PL: usize,
    A: ActivationFn,
    RA: ActivationFn,
    const SEQ: bool,
    const BACK: bool,
    const USE_BIAS: bool,
> Layer for ConvLstm1D<T, Y, S, R, C, RO, F, F4, K, ST, DL, PL, A, RA, SEQ, BACK, USE_BIAS>
{
    type Scalar = T;
    type Input = Tensor3<T, S, R, C>;
    type Output = Y;
    const CLASS: &'static str = "ConvLSTM1D";
    const PARAMS: usize = K * (C + F) * F4 + if USE_BIAS { F4 } else { 0 };
    const H5_GROUP: &'static str = "cell/vars";

    #[inline]
    fn forward(&self, x: &Tensor3<T, S, R, C>) -> Y {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    fn forward_at(&self, _level: Level, x: &Tensor3<T, S, R, C>) -> Y {
        const { assert!(F4 == 4 * F, "ConvLstm1D: F4 must be 4 · F") };
        assert!(Y::LEN == if SEQ { S * RO * F } else { RO * F }, "ConvLstm1D: Y does not fit");
        // `h` and `c`, `RO` rows of `F`, in the first `RO · F` values of arrays of `RO · F4` (a
        // const expression cannot size them `RO · F`).
        let (mut h, mut c, mut z) = ([[T::ZERO; F4]; RO], [[T::ZERO; F4]; RO], [[T::ZERO; F4]; RO]);
        let mut y = Y::ZEROS;
        for k in 0..S {
            let t = if BACK { S - 1 - k } else { k };
            let xt = &x.as_slice()[t * R * C..(t + 1) * R * C];
            let (hs, cs) = (&mut h.as_flattened_mut()[..RO * F], &mut c.as_flattened_mut()[..RO * F]);
            self.step(xt, hs, cs, &mut z);
            if SEQ {
                y.as_mut_slice()[k * RO * F..(k + 1) * RO * F].copy_from_slice(hs);
            }
        }
        if !SEQ {
            y.as_mut_slice().copy_from_slice(&h.as_flattened()[..RO * F]);
        }
        y
    }

    fn init_keras(&mut self, rng: &mut Rng) {
        glorot_uniform(self.kernel.as_flattened_mut().as_flattened_mut(), K * C, K * F4, rng);
        // Keras's recurrent kernel is orthogonal; a glorot draw, as the recurrent layers take.
        glorot_uniform(self.recurrent_kernel.as_flattened_mut().as_flattened_mut(), K * F, K * F4, rng);
        self.bias = [T::ZERO; F4];
        // `unit_forget_bias`: the forget gate's bias starts at one.
        self.bias[F..2 * F].fill(T::ONE);
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, T>)) {
        let (kernel, recurrent) =
            (self.kernel.as_flattened().as_flattened(), self.recurrent_kernel.as_flattened());
        f(WeightRef { name: "conv_lstm_cell/kernel", shape: Self::KERNEL_SHAPE, data: kernel });
        let recurrent = recurrent.as_flattened();
        f(WeightRef {
            name: "conv_lstm_cell/recurrent_kernel",
            shape: Self::RECURRENT_SHAPE,
            data: recurrent,
        });
        if USE_BIAS {
            f(WeightRef { name: "conv_lstm_cell/bias", shape: Self::BIAS_SHAPE, data: &self.bias });
        }
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, T>)) {
        let kernel = self.kernel.as_flattened_mut().as_flattened_mut();
        f(WeightMut { name: "conv_lstm_cell/kernel", shape: Self::KERNEL_SHAPE, data: kernel });
        let recurrent = self.recurrent_kernel.as_flattened_mut().as_flattened_mut();
        f(WeightMut {
            name: "conv_lstm_cell/recurrent_kernel",
            shape: Self::RECURRENT_SHAPE,
            data: recurrent,
        });
        if USE_BIAS {
            f(WeightMut { name: "conv_lstm_cell/bias", shape: Self::BIAS_SHAPE, data: &mut self.bias });
        }
    }
}

// SAFETY: float arrays and two activations, which are `Zeroable`.
unsafe impl<
    T: Float,
    Y,
    const S: usize,
    const R: usize,
    const C: usize,
    const RO: usize,
    const F: usize,
    const F4: usize,
    const K: usize,
    const ST: usize,
    const DL: usize,
    const PL: usize,
    A: Zeroable,
    RA: Zeroable,
    const SEQ: bool,
    const BACK: bool,
    const USE_BIAS: bool,
> Zeroable for ConvLstm1D<T, Y, S, R, C, RO, F, F4, K, ST, DL, PL, A, RA, SEQ, BACK, USE_BIAS>
{
}
