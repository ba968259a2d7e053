//! `SimpleRNN`, `GRU` and `LSTM`: one recurrent layer, [`Rnn`], over a [`Cell`] that holds each
//! kind's gate arithmetic (Keras 3's `keras/src/layers/rnn/`).
//!
//! A pass projects the whole input sequence at once, `x · kernel + bias` for every step as one
//! matrix product, then walks the steps: the state times the recurrent kernel, then the gates,
//! each a vectorized loop over the units. Keras's gate order is kept in the weights: `z, r, h`
//! for GRU, `i, f, c, o` for LSTM.

use crate::Float;
use crate::activations::{ActivationFn, GateFn, Sigmoid, Tanh};
use crate::init::{Rng, glorot_uniform};
use crate::kernels::cpu::Level;
use crate::kernels::gates::Gates;
use crate::kernels::gemm;
use crate::layer::{Layer, WeightMut, WeightRef, Zeroable};
use crate::tensor::{Tensor, Tensor2};
use crate::weights::bytes;
use core::marker::PhantomData;
use nalgebra::SVector;

/// The gate arithmetic of one kind of recurrent layer.
pub trait Cell: Copy + core::fmt::Debug + PartialEq {
    /// Keras's class of the layer (`"GRU"`).
    const CLASS: &'static str;
    /// Gates per unit: the kernels have `GATES · units` columns.
    const GATES: usize;
    /// Rows of the bias: 2 for Keras's GRU with `reset_after` (input and recurrent biases).
    const BIAS_ROWS: usize;
    /// The cell with Keras's default activations.
    const DEFAULT: Self;
    /// Keras's names of the kernel, recurrent kernel and bias below the layer: the cell's
    /// (`gru_cell/kernel`).
    const NAMES: [&'static str; 3];

    /// The state's projection into `scratch` (`GATES · H` values): `h · rk + rb`, with `rk` the
    /// recurrent kernel (`H` rows of `GATES · H`) and `rb` the recurrent bias, if any, reading
    /// `rk`'s columns from the last block if `backwards` (the same sums). It does not depend on
    /// the step's input, so a step may run it before or after the input's.
    #[inline(always)]
    fn project<T: Float>(
        &self,
        level: Level,
        h: &[T],
        rk: &[T],
        rb: Option<&[T]>,
        scratch: &mut [T],
        backwards: bool,
    ) {
        project(level, h, rk, rb, scratch, backwards);
    }

    /// The rest of a step after both projections: `x` is this step's input projection
    /// (`x · kernel + bias`, `GATES · H` values) and `scratch` the state's, `h` the state to
    /// update and `c` LSTM's cell state (unused by the others).
    fn gates<T: Float>(&self, level: Level, x: &[T], rk: &[T], h: &mut [T], c: &mut [T], scratch: &mut [T]);

    /// One step: [`Cell::project`], then [`Cell::gates`].
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn step<T: Float>(
        &self,
        level: Level,
        x: &[T],
        rk: &[T],
        rb: Option<&[T]>,
        h: &mut [T],
        c: &mut [T],
        scratch: &mut [T],
    ) {
        self.project(level, h, rk, rb, scratch, false);
        self.gates(level, x, rk, h, c, scratch);
    }
}

/// `scratch = h · rk (+ rb)`, the recurrent projection of the state.
#[inline(always)]
fn project<T: Float>(level: Level, h: &[T], rk: &[T], rb: Option<&[T]>, scratch: &mut [T], backwards: bool) {
    match rb {
        Some(b) => scratch.copy_from_slice(b),
        None => scratch.fill(T::ZERO),
    }
    if !T::accumulate_one_ordered(level, h, rk, scratch, h.len(), scratch.len(), backwards) {
        for (hi, row) in h.iter().zip(rk.chunks_exact(scratch.len())) {
            for (s, w) in scratch.iter_mut().zip(row) {
                *s += *hi * *w;
            }
        }
    }
}

/// Whether a cell's activations are Keras's defaults, `tanh` (`A`) and `sigmoid` (`R`), which
/// the gate kernels compute ([`Gates`]).
const fn default_activations<A: ActivationFn, R: ActivationFn>() -> bool {
    matches!((A::GATE, R::GATE), (Some(GateFn::Tanh), Some(GateFn::Sigmoid)))
}

/// `SimpleRNN`: `h = activation(x · kernel + h · recurrent_kernel + bias)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimpleCell<A = Tanh> {
    /// The activation (Keras's default `tanh`).
    pub activation: A,
}

impl<A: ActivationFn> Cell for SimpleCell<A> {
    const CLASS: &'static str = "SimpleRNN";
    const GATES: usize = 1;
    const BIAS_ROWS: usize = 1;
    const DEFAULT: Self = SimpleCell { activation: A::DEFAULT };
    const NAMES: [&'static str; 3] =
        ["simple_rnn_cell/kernel", "simple_rnn_cell/recurrent_kernel", "simple_rnn_cell/bias"];

    #[inline(always)]
    fn gates<T: Float>(&self, level: Level, x: &[T], _: &[T], h: &mut [T], _: &mut [T], s: &mut [T]) {
        if matches!(A::GATE, Some(GateFn::Tanh)) && T::cell_gates(level, Gates::Simple, x, s, h, &mut []) {
            return;
        }
        for ((hv, xv), sv) in h.iter_mut().zip(x).zip(s.iter()) {
            *hv = *xv + *sv;
        }
        self.activation.apply_rows(h, h.len());
    }
}

/// `GRU`, gates `z` (update), `r` (reset) and the candidate `h̃`:
/// `h = z · h + (1 - z) · h̃`. With `RESET_AFTER` (Keras 3's default) the reset gate scales the
/// recurrent projection, `h̃ = activation(x_h + r · (h · R_h + b_h))`, and the bias has an input
/// and a recurrent row; without, it scales the state first, `h̃ = activation(x_h + (r · h) · R_h)`,
/// and the bias is one row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GruCell<A = Tanh, R = Sigmoid, const RESET_AFTER: bool = true> {
    /// The candidate's activation (Keras's default `tanh`).
    pub activation: A,
    /// The gates' activation (Keras's default `sigmoid`).
    pub recurrent_activation: R,
}

impl<A: ActivationFn, R: ActivationFn, const RESET_AFTER: bool> Cell for GruCell<A, R, RESET_AFTER> {
    const CLASS: &'static str = "GRU";
    const GATES: usize = 3;
    const BIAS_ROWS: usize = if RESET_AFTER { 2 } else { 1 };
    const DEFAULT: Self = GruCell { activation: A::DEFAULT, recurrent_activation: R::DEFAULT };
    const NAMES: [&'static str; 3] = ["gru_cell/kernel", "gru_cell/recurrent_kernel", "gru_cell/bias"];

    #[inline(always)]
    fn project<T: Float>(
        &self,
        level: Level,
        h: &[T],
        rk: &[T],
        rb: Option<&[T]>,
        s: &mut [T],
        backwards: bool,
    ) {
        let n = h.len();
        if RESET_AFTER {
            project(level, h, rk, rb, s, backwards);
        } else {
            // Only z and r take the whole state; h̃ takes the reset state, in `gates`.
            let (zr, _) = s.split_at_mut(2 * n);
            zr.fill(T::ZERO);
            for (hi, row) in h.iter().zip(rk.chunks_exact(3 * n)) {
                for (v, w) in zr.iter_mut().zip(&row[..2 * n]) {
                    *v += *hi * *w;
                }
            }
        }
    }

    #[inline(always)]
    fn gates<T: Float>(&self, level: Level, x: &[T], rk: &[T], h: &mut [T], _: &mut [T], s: &mut [T]) {
        let n = h.len();
        if RESET_AFTER && default_activations::<A, R>() && T::cell_gates(level, Gates::Gru, x, s, h, &mut [])
        {
            return;
        }
        let (zr, cand) = s.split_at_mut(2 * n);
        for (v, xv) in zr.iter_mut().zip(&x[..2 * n]) {
            *v += *xv;
        }
        self.recurrent_activation.apply_rows(zr, 2 * n);
        let (z, r) = zr.split_at(n);
        if RESET_AFTER {
            for ((cv, rv), xv) in cand.iter_mut().zip(r).zip(&x[2 * n..]) {
                *cv = *xv + *rv * *cv;
            }
        } else {
            // (r · h) · R_h: the reset state through the candidate's columns.
            cand.copy_from_slice(&x[2 * n..]);
            for ((hi, ri), row) in h.iter().zip(r).zip(rk.chunks_exact(3 * n)) {
                let v = *ri * *hi;
                for (cv, w) in cand.iter_mut().zip(&row[2 * n..]) {
                    *cv += v * *w;
                }
            }
        }
        self.activation.apply_rows(cand, n);
        for ((hv, zv), cv) in h.iter_mut().zip(z).zip(cand.iter()) {
            *hv = *zv * *hv + (T::ONE - *zv) * *cv;
        }
    }
}

/// `LSTM`, gates `i` (input), `f` (forget), `c̃` (candidate) and `o` (output):
/// `c = f · c + i · activation(c̃)`, `h = o · activation(c)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LstmCell<A = Tanh, R = Sigmoid> {
    /// The candidate's and the output's activation (Keras's default `tanh`).
    pub activation: A,
    /// The gates' activation (Keras's default `sigmoid`).
    pub recurrent_activation: R,
}

impl<A: ActivationFn, R: ActivationFn> Cell for LstmCell<A, R> {
    const CLASS: &'static str = "LSTM";
    const GATES: usize = 4;
    const BIAS_ROWS: usize = 1;
    const DEFAULT: Self = LstmCell { activation: A::DEFAULT, recurrent_activation: R::DEFAULT };
    const NAMES: [&'static str; 3] = ["lstm_cell/kernel", "lstm_cell/recurrent_kernel", "lstm_cell/bias"];

    #[inline(always)]
    fn gates<T: Float>(&self, level: Level, x: &[T], _: &[T], h: &mut [T], c: &mut [T], s: &mut [T]) {
        let n = h.len();
        if default_activations::<A, R>() && T::cell_gates(level, Gates::Lstm, x, s, h, c) {
            return;
        }
        for (v, xv) in s.iter_mut().zip(x) {
            *v += *xv;
        }
        let (ifg, rest) = s.split_at_mut(2 * n);
        let (cand, o) = rest.split_at_mut(n);
        self.recurrent_activation.apply_rows(ifg, 2 * n);
        self.recurrent_activation.apply_rows(o, n);
        self.activation.apply_rows(cand, n);
        let (i, f) = ifg.split_at(n);
        for (((cv, iv), fv), gv) in c.iter_mut().zip(i).zip(f).zip(cand.iter()) {
            *cv = *fv * *cv + *iv * *gv;
        }
        h.copy_from_slice(c);
        self.activation.apply_rows(h, n);
        for (hv, ov) in h.iter_mut().zip(o.iter()) {
            *hv *= *ov;
        }
    }
}

/// What a recurrent layer returns: its last state ([`Last`]) or every step's ([`Sequence`],
/// Keras's `return_sequences=True`).
pub trait Returns: Copy + core::fmt::Debug + PartialEq + 'static {
    /// The output over `S` steps of `H` units.
    type Of<T: Float, const S: usize, const H: usize>: Tensor<Scalar = T>;
    /// Whether every step is returned.
    const SEQUENCES: bool;
}

/// The last step's state, a vector of the units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Last;

/// Every step's state, a sequence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sequence;

impl Returns for Last {
    type Of<T: Float, const S: usize, const H: usize> = SVector<T, H>;
    const SEQUENCES: bool = false;
}

impl Returns for Sequence {
    type Of<T: Float, const S: usize, const H: usize> = Tensor2<T, S, H>;
    const SEQUENCES: bool = true;
}

/// A recurrent layer over `S` steps of `I` features with `H` units: Keras's `SimpleRNN`
/// ([`SimpleCell`]), `GRU` ([`GruCell`]) or `LSTM` ([`LstmCell`]). `GH` is the kernels' width,
/// `C::GATES · H` (a separate parameter only because a const expression cannot size an array
/// here). `O` picks the output ([`Last`] or [`Sequence`]); `BACK` is Keras's `go_backwards`
/// (the steps are read last first, and a returned sequence is in that order, as Keras's).
///
/// ```
/// use nn_core::layers::{GruCell, Last, Rnn};
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// // GRU(2) over 3 steps of 1 feature, every weight zero: z = r = 0.5 and h̃ = 0, so the state
/// // stays zero.
/// let gru = Rnn::<f32, GruCell, 3, 1, 2, 6, Last>::ZEROS;
/// assert_eq!(gru.forward(&Tensor2::from_rows([[1.0], [2.0], [3.0]])).as_slice(), &[0.0, 0.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(C, align(64)))]
pub struct Rnn<
    T,
    C,
    const S: usize,
    const I: usize,
    const H: usize,
    const GH: usize,
    O = Last,
    const BACK: bool = false,
    const USE_BIAS: bool = true,
> {
    /// Keras's `kernel`, `(features, gates · units)`.
    pub kernel: [[T; GH]; I],
    /// Keras's `recurrent_kernel`, `(units, gates · units)`.
    pub recurrent_kernel: [[T; GH]; H],
    /// Keras's `bias`: one row, or for GRU with `reset_after` the input row then the recurrent
    /// one (zeros, and unused, without `USE_BIAS`).
    pub bias: [[T; GH]; 2],
    /// The gate arithmetic and its activations.
    pub cell: C,
    _returns: PhantomData<O>,
}

impl<
    T: Float,
    C: Cell,
    const S: usize,
    const I: usize,
    const H: usize,
    const GH: usize,
    O: Returns,
    const BACK: bool,
    const USE_BIAS: bool,
> Rnn<T, C, S, I, H, GH, O, BACK, USE_BIAS>
{
    /// Every weight zero, the cell with Keras's default activations.
    pub const ZEROS: Self = Rnn {
        kernel: [[T::ZERO; GH]; I],
        recurrent_kernel: [[T::ZERO; GH]; H],
        bias: [[T::ZERO; GH]; 2],
        cell: C::DEFAULT,
        _returns: PhantomData,
    };
    const KERNEL_SHAPE: &'static [usize] = &[I, GH];
    const RECURRENT_SHAPE: &'static [usize] = &[H, GH];
    const BIAS_SHAPE: &'static [usize] = if C::BIAS_ROWS == 2 { &[2, GH] } else { &[GH] };

    /// Reads the kernel, the recurrent kernel and the bias from raw weight bytes.
    #[doc(hidden)]
    pub const fn read_le_bytes(&mut self, bytes: &[u8], at: usize) -> usize {
        let at = bytes::read(bytes, at, self.kernel.as_flattened_mut());
        let at = bytes::read(bytes, at, self.recurrent_kernel.as_flattened_mut());
        if !USE_BIAS {
            return at;
        }
        let (rows, _) = self.bias.as_flattened_mut().split_at_mut(C::BIAS_ROWS * GH);
        bytes::read(bytes, at, rows)
    }

    fn bias_flat(&self) -> &[T] {
        &self.bias.as_flattened()[..C::BIAS_ROWS * GH]
    }

    /// The pass with the final states, Keras's `return_state=True`: the output, then the last
    /// `h`, then LSTM's last cell state `c` (zeros for the other cells, which Keras does not
    /// return).
    #[inline(always)]
    pub fn forward_with_state(
        &self,
        level: Level,
        x: &Tensor2<T, S, I>,
    ) -> (O::Of<T, S, H>, SVector<T, H>, SVector<T, H>) {
        let zeros = SVector::<T, H>::from([T::ZERO; H]);
        self.forward_from_state(level, x, &zeros, &zeros)
    }

    /// As [`Rnn::forward_with_state`], starting from the state `h0` (and LSTM's cell state `c0`,
    /// unused by the other cells) instead of zeros: Keras's `initial_state`.
    #[inline(always)]
    pub fn forward_from_state(
        &self,
        level: Level,
        x: &Tensor2<T, S, I>,
        h0: &SVector<T, H>,
        c0: &SVector<T, H>,
    ) -> (O::Of<T, S, H>, SVector<T, H>, SVector<T, H>) {
        self.pass(level, x, h0, c0, None)
    }

    /// As [`Rnn::forward_from_state`] over the steps `mask` keeps (see [`super::Masked`]): at a
    /// masked step the states stay as they are and the output is the state `h` (Keras's
    /// `zero_output_for_mask = False`), or zeros if `zero_masked` (as `Bidirectional` sets it
    /// for a returned sequence).
    #[inline(always)]
    pub fn forward_masked_from_state(
        &self,
        level: Level,
        x: &Tensor2<T, S, I>,
        h0: &SVector<T, H>,
        c0: &SVector<T, H>,
        mask: &[bool],
        zero_masked: bool,
    ) -> (O::Of<T, S, H>, SVector<T, H>, SVector<T, H>) {
        self.pass(level, x, h0, c0, Some((mask, zero_masked)))
    }

    #[inline(always)]
    fn pass(
        &self,
        level: Level,
        x: &Tensor2<T, S, I>,
        h0: &SVector<T, H>,
        c0: &SVector<T, H>,
        mask: Option<(&[bool], bool)>,
    ) -> (O::Of<T, S, H>, SVector<T, H>, SVector<T, H>) {
        const { assert!(GH == C::GATES * H, "Rnn: GH must be the cell's gates times H") };
        // Every step's input projection at once.
        let mut xs = <Tensor2<T, S, GH> as Tensor>::ZEROS;
        let input_bias = if USE_BIAS { Some(&self.bias[0][..]) } else { None };
        gemm::dense(level, x.as_slice(), self.kernel.as_flattened(), input_bias, xs.as_mut_slice(), I, GH);
        let recurrent_bias = if USE_BIAS && C::BIAS_ROWS == 2 { Some(&self.bias[1][..]) } else { None };
        let (mut h, mut c, mut scratch) = (h0.data.0[0], c0.data.0[0], [T::ZERO; GH]);
        let mut y = <O::Of<T, S, H> as Tensor>::ZEROS;
        let rk = self.recurrent_kernel.as_flattened();
        let mut zeroed = false;
        for k in 0..S {
            let t = if BACK { S - 1 - k } else { k };
            // A step the mask drops leaves the states as they are.
            let kept = mask.is_none_or(|(m, _)| m.get(t).copied().unwrap_or(true));
            if kept {
                let xt = &xs.as_slice()[t * GH..(t + 1) * GH];
                self.cell.step(level, xt, rk, recurrent_bias, &mut h, &mut c, &mut scratch);
            }
            zeroed = !kept && mask.is_some_and(|(_, zero)| zero);
            if O::SEQUENCES && !zeroed {
                y.as_mut_slice()[k * H..(k + 1) * H].copy_from_slice(&h);
            }
        }
        if !O::SEQUENCES && !zeroed {
            y.as_mut_slice().copy_from_slice(&h);
        }
        (y, SVector::from(h), SVector::from(c))
    }
}

/// Keras's masked steps: skipped, the states carried past them.
impl<
    T: Float,
    C: Cell,
    const S: usize,
    const I: usize,
    const H: usize,
    const GH: usize,
    O: Returns,
    const BACK: bool,
    const USE_BIAS: bool,
> super::Masked for Rnn<T, C, S, I, H, GH, O, BACK, USE_BIAS>
{
    #[inline(always)]
    fn forward_masked(&self, level: Level, x: &Tensor2<T, S, I>, mask: &[bool]) -> Self::Output {
        let zeros = SVector::<T, H>::from([T::ZERO; H]);
        self.forward_masked_from_state(level, x, &zeros, &zeros, mask, false).0
    }

    #[inline(always)]
    fn forward_masked_zeroed(&self, level: Level, x: &Tensor2<T, S, I>, mask: &[bool]) -> Self::Output {
        let zeros = SVector::<T, H>::from([T::ZERO; H]);
        self.forward_masked_from_state(level, x, &zeros, &zeros, mask, true).0
    }
}

impl<
    T: Float,
    C: Cell,
    const S: usize,
    const I: usize,
    const H: usize,
    const GH: usize,
    O: Returns,
    const BACK: bool,
    const USE_BIAS: bool,
> Layer for Rnn<T, C, S, I, H, GH, O, BACK, USE_BIAS>
{
    type Scalar = T;
    type Input = Tensor2<T, S, I>;
    type Output = O::Of<T, S, H>;
    const CLASS: &'static str = C::CLASS;
    const PARAMS: usize = (I + H) * GH + if USE_BIAS { C::BIAS_ROWS * GH } else { 0 };
    const H5_GROUP: &'static str = "cell/vars";

    #[inline(always)]
    fn forward(&self, x: &Tensor2<T, S, I>) -> Self::Output {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    #[inline(always)]
    fn forward_at(&self, level: Level, x: &Tensor2<T, S, I>) -> Self::Output {
        self.forward_with_state(level, x).0
    }

    fn init_keras(&mut self, rng: &mut Rng) {
        glorot_uniform(self.kernel.as_flattened_mut(), I, GH, rng);
        // Keras's recurrent kernels are orthogonal; a glorot draw keeps the seeded models
        // reproducible without a QR decomposition (weights loaded from Keras are Keras's).
        glorot_uniform(self.recurrent_kernel.as_flattened_mut(), H, GH, rng);
        self.bias = [[T::ZERO; GH]; 2];
        if C::GATES == 4 {
            // LSTM's `unit_forget_bias`: the forget gate's bias starts at one.
            self.bias[0][H..2 * H].fill(T::ONE);
        }
    }

    fn visit_weights(&self, f: &mut dyn FnMut(WeightRef<'_, T>)) {
        let [kernel, recurrent_kernel, bias] = C::NAMES;
        f(WeightRef { name: kernel, shape: Self::KERNEL_SHAPE, data: self.kernel.as_flattened() });
        let recurrent = self.recurrent_kernel.as_flattened();
        f(WeightRef { name: recurrent_kernel, shape: Self::RECURRENT_SHAPE, data: recurrent });
        if USE_BIAS {
            f(WeightRef { name: bias, shape: Self::BIAS_SHAPE, data: self.bias_flat() });
        }
    }

    fn visit_weights_mut(&mut self, f: &mut dyn FnMut(WeightMut<'_, T>)) {
        let [kernel, recurrent_kernel, bias] = C::NAMES;
        f(WeightMut { name: kernel, shape: Self::KERNEL_SHAPE, data: self.kernel.as_flattened_mut() });
        let recurrent = self.recurrent_kernel.as_flattened_mut();
        f(WeightMut { name: recurrent_kernel, shape: Self::RECURRENT_SHAPE, data: recurrent });
        if USE_BIAS {
            let data = &mut self.bias.as_flattened_mut()[..C::BIAS_ROWS * GH];
            f(WeightMut { name: bias, shape: Self::BIAS_SHAPE, data });
        }
    }
}

// SAFETY: float arrays and a cell of activations, which are `Zeroable` (a model's `configure`
// restores their options after zeroing).
unsafe impl<
    T: Float,
    C: Cell + Zeroable,
    const S: usize,
    const I: usize,
    const H: usize,
    const GH: usize,
    O,
    const BACK: bool,
    const USE_BIAS: bool,
> Zeroable for Rnn<T, C, S, I, H, GH, O, BACK, USE_BIAS>
{
}

// SAFETY: activations, each `Zeroable`.
unsafe impl<A: Zeroable> Zeroable for SimpleCell<A> {}

// SAFETY: a `Zeroable` cell.
unsafe impl<C: Zeroable> Zeroable for Bare<C> {}

/// A cell of Keras's `StackedRNNCells`: the cell `C`, its weights named bare (`kernel`,
/// `recurrent_kernel`, `bias`), since a stack names them after each cell (`gru_cell_1/kernel`),
/// which the model gives as the weights' layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bare<C>(pub C);

impl<C: Cell> Cell for Bare<C> {
    const CLASS: &'static str = C::CLASS;
    const GATES: usize = C::GATES;
    const BIAS_ROWS: usize = C::BIAS_ROWS;
    const DEFAULT: Self = Bare(C::DEFAULT);
    const NAMES: [&'static str; 3] = ["kernel", "recurrent_kernel", "bias"];

    #[inline(always)]
    fn project<T: Float>(
        &self,
        level: Level,
        h: &[T],
        rk: &[T],
        rb: Option<&[T]>,
        s: &mut [T],
        backwards: bool,
    ) {
        self.0.project(level, h, rk, rb, s, backwards);
    }

    #[inline(always)]
    fn gates<T: Float>(&self, level: Level, x: &[T], rk: &[T], h: &mut [T], c: &mut [T], s: &mut [T]) {
        self.0.gates(level, x, rk, h, c, s);
    }

    #[inline(always)]
    fn step<T: Float>(
        &self,
        level: Level,
        x: &[T],
        rk: &[T],
        rb: Option<&[T]>,
        h: &mut [T],
        c: &mut [T],
        s: &mut [T],
    ) {
        self.0.step(level, x, rk, rb, h, c, s);
    }
}

/// Keras's `RNN` over `StackedRNNCells`: each step runs the cells in turn, each on the state the
/// one before gave, which is the layer `first` returning its sequence, read by `then` (another
/// `Stacked` for more cells). With `go_backwards` only the first reads backwards: the others read
/// its outputs in the order it gave them, as Keras's cells see them.
///
/// ```
/// use nn_core::layers::{Bare, GruCell, Last, Rnn, Sequence, Stacked};
/// use nn_core::tensor::{Tensor, Tensor2};
/// use nn_core::Layer;
/// type First = Rnn<f32, Bare<GruCell>, 3, 1, 2, 6, Sequence>;
/// type Then = Rnn<f32, Bare<GruCell>, 3, 2, 2, 6, Last>;
/// let layer = Stacked { first: First::ZEROS, then: Then::ZEROS };
/// assert_eq!(layer.forward(&Tensor2::from_rows([[1.0], [2.0], [3.0]])).as_slice(), &[0.0, 0.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Stacked<A, B> {
    /// The first cell's layer, returning its sequence.
    pub first: A,
    /// The other cells.
    pub then: B,
}

impl<A: Layer, B: Layer<Scalar = A::Scalar, Input = A::Output>> Layer for Stacked<A, B> {
    type Scalar = A::Scalar;
    type Input = A::Input;
    type Output = B::Output;
    const CLASS: &'static str = "RNN";
    const PARAMS: usize = A::PARAMS + B::PARAMS;

    #[inline(always)]
    fn forward(&self, x: &A::Input) -> B::Output {
        self.forward_at(crate::kernels::cpu::level(), x)
    }

    #[inline(always)]
    fn forward_at(&self, level: Level, x: &A::Input) -> B::Output {
        self.then.forward_at(level, &self.first.forward_at(level, x))
    }

    super::two_layers_weights!(first, then, A::Scalar);
}

// SAFETY: two `Zeroable` layers.
unsafe impl<A: Zeroable, B: Zeroable> Zeroable for Stacked<A, B> {}
// SAFETY: as above.
unsafe impl<A: Zeroable, R: Zeroable, const RESET_AFTER: bool> Zeroable for GruCell<A, R, RESET_AFTER> {}
// SAFETY: as above.
unsafe impl<A: Zeroable, R: Zeroable> Zeroable for LstmCell<A, R> {}

/// One step of the cell: this step's input projection, then the recurrent step. Only forwards
/// (`go_backwards` reads the sequence from its end, which a stream has not seen).
impl<
    T: Float,
    C: Cell,
    const S: usize,
    const I: usize,
    const H: usize,
    const GH: usize,
    O: Returns,
    const USE_BIAS: bool,
> crate::stream::Stream<crate::stream::RnnState<T, H>> for Rnn<T, C, S, I, H, GH, O, false, USE_BIAS>
{
    type StepIn = SVector<T, I>;
    type StepOut = SVector<T, H>;

    #[inline(always)]
    fn step(
        &self,
        level: Level,
        state: &mut crate::stream::RnnState<T, H>,
        x: &SVector<T, I>,
    ) -> SVector<T, H> {
        let (mut xp, mut scratch) = ([T::ZERO; GH], [T::ZERO; GH]);
        let input_bias = if USE_BIAS { Some(&self.bias[0][..]) } else { None };
        let recurrent_bias = if USE_BIAS && C::BIAS_ROWS == 2 { Some(&self.bias[1][..]) } else { None };
        let (kernel, rk) = (self.kernel.as_flattened(), self.recurrent_kernel.as_flattened());
        // The two products are independent, and so are their blocks of columns: every other
        // step runs them in the reverse order, so that what one step read last, still in L1,
        // is what the next reads first. Only kernels too large for L1 together gain (GRU(64)'s
        // are 48 KB each).
        if const { (I + H) * GH * core::mem::size_of::<T>() > 32 * 1024 } && state.flip {
            self.cell.project(level, &state.h, rk, recurrent_bias, &mut scratch, true);
            gemm::dense_one(level, x.as_slice(), kernel, input_bias, &mut xp, I, GH, true);
            state.flip = false;
        } else {
            gemm::dense_one(level, x.as_slice(), kernel, input_bias, &mut xp, I, GH, false);
            self.cell.project(level, &state.h, rk, recurrent_bias, &mut scratch, false);
            state.flip = true;
        }
        self.cell.gates(level, &xp, rk, &mut state.h, &mut state.c, &mut scratch);
        SVector::from_column_slice(&state.h)
    }
}
