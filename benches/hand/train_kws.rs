//! Hand-written training steps of the KWS CNN of `benches/conv.rs`, the baselines of the
//! `train_kws` group of `benches/train.rs` (and the reference that `peers/` checks its KWS
//! training steps against):
//!
//! Input (49, 10, 1) → Conv2D 16 (5, 3) strides (2, 1) valid relu → (23, 8, 16) → MaxPooling2D 2
//! → (11, 4, 16) → Conv2D 32 3×3 same relu → (11, 4, 32) → GlobalAveragePooling2D → Dense 12
//! softmax, sparse categorical cross-entropy over 12 class ids, Keras's `Adam(0.001)` (the
//! [`Adam`] of `hand/train.rs`: `epsilon` on the uncorrected `sqrt(v)`), one step over a batch:
//! forward, loss, gradient of the softmax cross-entropy (`(p - onehot) / n`), backward, update.
//!
//! Keras's semantics, which nn follows: "same" padding for a 3×3 kernel at stride 1 is one row
//! and column of zeros on each side (TF pads `k - 1` in all, the extra one after); the pooling
//! window is 2×2 at strides 2, so row 22 of the first convolution's output is read by no window;
//! the pooling's gradient goes to the first tap (in row-major window order) holding the
//! window's maximum, as nn (`nn-core/src/layers/pooling.rs`) and JAX's select-and-scatter give
//! it: a tie, which random floats only give among relu zeros, keeps the earlier tap. relu's
//! derivative at 0 is 0.
//!
//! Two versions, each what a competent user writes by hand:
//!
//! - [`KwsHandNalgebra`]: im2col. Each convolution copies its input's patches into a nalgebra
//!   `DMatrix` (one column per output pixel of every sample, the taps in the kernel's order),
//!   so that the convolution, its kernel's gradient and the second one's input gradient are
//!   each one product through `matrixmultiply`; col2im sums the patches' gradients back into
//!   the pooled map (the first convolution needs no input gradient). Matrices and scratch are
//!   allocated per step, as nalgebra's operators allocate their results.
//! - [`KwsHandArrays`]: plain loops over flat `f32` slices in Keras's layouts, one sample at a
//!   time (its forward pass with direct convolution loops, then its share of every gradient),
//!   then one Adam loop over all the weights; each sample's maps are arrays on the stack, so
//!   nothing is allocated in a step.
//!
//! Both start from [`glorot`]'s weights, flat in Keras's `model.weights` order and layouts
//! (conv kernels `(kh, kw, c_in, filters)` row-major, then their bias; the dense kernel
//! `(in, out)`, then its bias), train on [`batches`] (synthetic: inputs and labels from an
//! LCG), and compute the same numbers as nn's `train_on_batch` (checked in `benches/train.rs`
//! before anything is timed). No `nn` types, no `unsafe`, no SIMD intrinsics; the dependencies
//! are nalgebra and `hand/train.rs`, which this file reaches as `crate::nalgebra` and
//! `crate::hand_train`.

use crate::hand_train::{Adam, BATCH};
use crate::nalgebra::{DMatrix, DVector};

// Input (h, w), one channel.
const H0: usize = 49;
const W0: usize = 10;
/// Values per sample: a 49×10 map of one channel, row-major.
pub const IN: usize = H0 * W0;
// Conv2D 16, kernel (5, 3), strides (2, 1), valid.
const K1H: usize = 5;
const K1W: usize = 3;
const S1H: usize = 2;
const F1: usize = 16;
const H1: usize = (H0 - K1H) / S1H + 1; // 23
const W1: usize = W0 - K1W + 1; // 8
/// Taps of the first kernel (one input channel): the rows of its patch matrix.
const T1: usize = K1H * K1W;
// MaxPooling2D 2 (strides 2, valid).
const H2: usize = (H1 - 2) / 2 + 1; // 11
const W2: usize = (W1 - 2) / 2 + 1; // 4
/// Pixels of the pooled map, and of the second convolution's output ("same").
const P2: usize = H2 * W2; // 44
// Conv2D 32, 3×3, strides 1, same: one row/column of zeros before and after.
const K2: usize = 3;
const PAD: usize = (K2 - 1) / 2;
const F2: usize = 32;
/// Taps × input channels of the second kernel: the rows of its patch matrix.
const T2: usize = K2 * K2 * F1; // 144
/// Classes.
pub const OUT: usize = 12;

// Offsets of the six tensors in the flat weights, in Keras's order.
const CONV1_W: usize = 0;
const CONV1_B: usize = CONV1_W + T1 * F1;
const CONV2_W: usize = CONV1_B + F1;
const CONV2_B: usize = CONV2_W + T2 * F2;
const DENSE_W: usize = CONV2_B + F2;
const DENSE_B: usize = DENSE_W + F2 * OUT;
/// Weights in all: 240 + 16 + 4608 + 32 + 384 + 12 = 5292.
pub const PARAMS: usize = DENSE_B + OUT;
/// Batches of [`BATCH`] samples in [`batches`] (as many as the digits train split has).
pub const BATCHES: usize = 44;

/// A 32-bit LCG's next value, uniform in `[-1, 1)`.
fn next(state: &mut u32) -> f32 {
    *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    (*state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
}

/// Keras's initial weights for this model, from a 32-bit LCG: glorot-uniform kernels
/// (`±sqrt(6 / (fan_in + fan_out))`, a convolution's fans being `kh · kw · c_in` and
/// `kh · kw · filters` as Keras computes them), zero biases; flat, in Keras's order and layouts.
pub fn glorot(seed: u32) -> Vec<f32> {
    let mut state = seed;
    let mut w = vec![0.0f32; PARAMS];
    for (at, end, fan_in, fan_out) in [
        (CONV1_W, CONV1_B, T1, K1H * K1W * F1),
        (CONV2_W, CONV2_B, T2, K2 * K2 * F2),
        (DENSE_W, DENSE_B, F2, OUT),
    ] {
        let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
        w[at..end].iter_mut().for_each(|v| *v = next(&mut state) * limit);
    }
    w
}

/// [`BATCHES`] synthetic batches of [`BATCH`] samples, the same every call: per batch, the
/// inputs (row-major `[32, 49, 10, 1]`, uniform in `[-1, 1)`) and the class ids (in `0..12`),
/// from a 32-bit LCG.
pub fn batches() -> Vec<(Vec<f32>, Vec<u32>)> {
    let mut state = 0x6b77_7321;
    (0..BATCHES)
        .map(|_| {
            let x = (0..BATCH * IN).map(|_| next(&mut state)).collect();
            let y = (0..BATCH)
                .map(|_| ((next(&mut state) + 1.0) / 2.0 * OUT as f32) as u32 % OUT as u32)
                .collect();
            (x, y)
        })
        .collect()
}

/// `-ln p`, with `p` clipped to `[1e-7, 1 - 1e-7]` as Keras clips probabilities.
fn cross_entropy(p: f32) -> f32 {
    -p.clamp(1e-7, 1.0 - 1e-7).ln()
}

/// The 3×3 "same" window of the second convolution at output pixel `(oy, ox)`: each tap's
/// index `ky · 3 + kx` with the input pixel under it, the taps over padding left out.
fn same_taps(oy: usize, ox: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..K2).flat_map(move |ky| {
        (0..K2).filter_map(move |kx| {
            let iy = (oy + ky).checked_sub(PAD).filter(|&iy| iy < H2)?;
            let ix = (ox + kx).checked_sub(PAD).filter(|&ix| ix < W2)?;
            Some((ky * K2 + kx, iy, ix))
        })
    })
}

// ---------------------------------------------------------------------------------------------
// nalgebra
// ---------------------------------------------------------------------------------------------

/// One weight tensor with its Adam slots.
#[derive(Clone, Debug)]
struct Param<T> {
    w: T,
    m: T,
    v: T,
}

impl<T: Clone> Param<T> {
    fn new(w: T, zeros: T) -> Self {
        Param { w, m: zeros.clone(), v: zeros }
    }
}

/// The KWS CNN over nalgebra's `DMatrix`: kernels as `filters × (taps · c_in)` matrices (the
/// dense one `12 × 32`), each map as one column per pixel (channels down the column, pixels
/// sample by sample in row-major order: channels last, as Keras lays them out), every
/// convolution an im2col product through `matrixmultiply`.
#[derive(Clone, Debug)]
pub struct KwsHandNalgebra {
    conv1_w: Param<DMatrix<f32>>,
    conv1_b: Param<DVector<f32>>,
    conv2_w: Param<DMatrix<f32>>,
    conv2_b: Param<DVector<f32>>,
    dense_w: Param<DMatrix<f32>>,
    dense_b: Param<DVector<f32>>,
    adam: Adam,
}

impl KwsHandNalgebra {
    /// From flat weights in Keras's order and layouts (a kernel `(kh, kw, c_in, filters)`
    /// row-major is a `filters × (kh · kw · c_in)` column-major matrix as it stands).
    pub fn from_flat(flat: &[f32], adam: Adam) -> Self {
        let matrix = |at: usize, rows: usize, cols: usize| {
            Param::new(
                DMatrix::from_column_slice(rows, cols, &flat[at..at + rows * cols]),
                DMatrix::zeros(rows, cols),
            )
        };
        let vector = |at: usize, len: usize| {
            Param::new(DVector::from_column_slice(&flat[at..at + len]), DVector::zeros(len))
        };
        KwsHandNalgebra {
            conv1_w: matrix(CONV1_W, F1, T1),
            conv1_b: vector(CONV1_B, F1),
            conv2_w: matrix(CONV2_W, F2, T2),
            conv2_b: vector(CONV2_B, F2),
            dense_w: matrix(DENSE_W, OUT, F2),
            dense_b: vector(DENSE_B, OUT),
            adam,
        }
    }

    /// The weights, flat, in Keras's order and layouts.
    pub fn to_flat(&self) -> Vec<f32> {
        [
            self.conv1_w.w.as_slice(),
            self.conv1_b.w.as_slice(),
            self.conv2_w.w.as_slice(),
            self.conv2_b.w.as_slice(),
            self.dense_w.w.as_slice(),
            self.dense_b.w.as_slice(),
        ]
        .concat()
    }

    /// One training step on row-major `[n, 49, 10, 1]` inputs `x` and class ids `y`; returns
    /// the batch's mean loss.
    pub fn step(&mut self, x: &[f32], y: &[u32]) -> f32 {
        let n = y.len();
        // Conv2D 1: im2col (one column of 5×3 taps per output pixel), one product, bias, relu.
        let mut p1 = DMatrix::<f32>::zeros(T1, n * H1 * W1);
        for (patches, x) in p1.as_mut_slice().chunks_exact_mut(T1 * H1 * W1).zip(x.chunks_exact(IN)) {
            for (pixel, patch) in patches.chunks_exact_mut(T1).enumerate() {
                let (oy, ox) = (pixel / W1, pixel % W1);
                for (ky, row) in patch.chunks_exact_mut(K1W).enumerate() {
                    let at = (oy * S1H + ky) * W0 + ox;
                    row.copy_from_slice(&x[at..at + K1W]);
                }
            }
        }
        let mut a1 = &self.conv1_w.w * &p1;
        for mut col in a1.column_iter_mut() {
            col += &self.conv1_b.w;
            col.apply(|v| *v = v.max(0.0));
        }
        // MaxPooling2D 2: each window's maximum, and where it was (an index into `a1`).
        let mut a2 = DMatrix::<f32>::zeros(F1, n * P2);
        let mut arg = vec![0usize; F1 * n * P2];
        let a1s = a1.as_slice();
        for ((out, arg), pixel) in
            a2.as_mut_slice().chunks_exact_mut(F1).zip(arg.chunks_exact_mut(F1)).zip(0..)
        {
            let (s, oy, ox) = (pixel / P2, pixel % P2 / W2, pixel % W2);
            let at = |dy: usize, dx: usize| ((s * H1 + 2 * oy + dy) * W1 + 2 * ox + dx) * F1;
            let first = at(0, 0);
            out.copy_from_slice(&a1s[first..first + F1]);
            arg.iter_mut().enumerate().for_each(|(c, a)| *a = first + c);
            for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                let tap = at(dy, dx);
                for (c, (o, a)) in out.iter_mut().zip(arg.iter_mut()).enumerate() {
                    // `>`: a tie keeps the earlier tap.
                    if a1s[tap + c] > *o {
                        *o = a1s[tap + c];
                        *a = tap + c;
                    }
                }
            }
        }
        // Conv2D 2: im2col over the zero-padded pooled map (9 taps × 16 channels per column).
        let mut p2 = DMatrix::<f32>::zeros(T2, n * P2);
        let a2s = a2.as_slice();
        for (pixel, patch) in p2.as_mut_slice().chunks_exact_mut(T2).enumerate() {
            let (s, oy, ox) = (pixel / P2, pixel % P2 / W2, pixel % W2);
            for (tap, iy, ix) in same_taps(oy, ox) {
                let from = ((s * H2 + iy) * W2 + ix) * F1;
                patch[tap * F1..(tap + 1) * F1].copy_from_slice(&a2s[from..from + F1]);
            }
        }
        let mut a3 = &self.conv2_w.w * &p2;
        for mut col in a3.column_iter_mut() {
            col += &self.conv2_b.w;
            col.apply(|v| *v = v.max(0.0));
        }
        // GlobalAveragePooling2D, Dense, softmax.
        let mut g = DMatrix::<f32>::zeros(F2, n);
        for (s, mut col) in g.column_iter_mut().enumerate() {
            col.copy_from(&a3.columns(s * P2, P2).column_mean());
        }
        let mut p = &self.dense_w.w * &g;
        let mut loss = 0.0;
        for (mut col, &label) in p.column_iter_mut().zip(y) {
            col += &self.dense_b.w;
            let max = col.max();
            col.apply(|v| *v = (*v - max).exp());
            let sum = col.sum();
            col /= sum;
            loss += cross_entropy(col[label as usize]);
        }

        // Backward: the gradient of the mean loss with respect to the logits is (p - onehot) / n.
        let mut dz = p;
        for (mut col, &label) in dz.column_iter_mut().zip(y) {
            col[label as usize] -= 1.0;
        }
        dz /= n as f32;
        let d_dense_w = &dz * g.transpose();
        let d_dense_b = dz.column_sum();
        let dg = self.dense_w.w.transpose() * &dz;
        // Through the average (each of a sample's 44 pixels gets 1/44 of its gradient) and relu.
        let mut dz2 = a3;
        for (j, mut col) in dz2.column_iter_mut().enumerate() {
            col.zip_apply(&dg.column(j / P2), |d, g| *d = if *d > 0.0 { g / P2 as f32 } else { 0.0 });
        }
        let d_conv2_w = &dz2 * p2.transpose();
        let d_conv2_b = dz2.column_sum();
        // col2im: every patch's gradient back onto the pooled pixels under it.
        let dp2 = self.conv2_w.w.transpose() * &dz2;
        let mut da2 = DMatrix::<f32>::zeros(F1, n * P2);
        let da2s = da2.as_mut_slice();
        for (pixel, patch) in dp2.as_slice().chunks_exact(T2).enumerate() {
            let (s, oy, ox) = (pixel / P2, pixel % P2 / W2, pixel % W2);
            for (tap, iy, ix) in same_taps(oy, ox) {
                let to = ((s * H2 + iy) * W2 + ix) * F1;
                for (d, v) in da2s[to..to + F1].iter_mut().zip(&patch[tap * F1..(tap + 1) * F1]) {
                    *d += v;
                }
            }
        }
        // Through the pooling (to each window's maximum) and relu.
        let mut dz1 = DMatrix::<f32>::zeros(F1, n * H1 * W1);
        let dz1s = dz1.as_mut_slice();
        for (&at, &d) in arg.iter().zip(da2s.iter()) {
            dz1s[at] += d;
        }
        dz1.zip_apply(&a1, |d, a| {
            if a <= 0.0 {
                *d = 0.0;
            }
        });
        let d_conv1_w = &dz1 * p1.transpose();
        let d_conv1_b = dz1.column_sum();

        // Adam.
        let alpha = self.adam.next_step();
        let adam = &self.adam;
        for (p, g) in [
            (&mut self.conv1_w, d_conv1_w.as_slice()),
            (&mut self.conv2_w, d_conv2_w.as_slice()),
            (&mut self.dense_w, d_dense_w.as_slice()),
        ] {
            adam.update(alpha, p.w.as_mut_slice(), g, p.m.as_mut_slice(), p.v.as_mut_slice());
        }
        for (p, g) in [
            (&mut self.conv1_b, d_conv1_b.as_slice()),
            (&mut self.conv2_b, d_conv2_b.as_slice()),
            (&mut self.dense_b, d_dense_b.as_slice()),
        ] {
            adam.update(alpha, p.w.as_mut_slice(), g, p.m.as_mut_slice(), p.v.as_mut_slice());
        }
        loss / n as f32
    }
}

// ---------------------------------------------------------------------------------------------
// Plain loops
// ---------------------------------------------------------------------------------------------

/// The KWS CNN over flat `f32` slices in Keras's layouts: each sample's forward pass (direct
/// convolution loops, `acc[f] += x · w[.., ci, f]` contiguous in `f`, as `hand/conv.rs`) and
/// its share of the gradients in turn, then one Adam loop over all the weights.
#[derive(Clone, Debug)]
pub struct KwsHandArrays {
    w: Vec<f32>,
    /// The second kernel with its channel axes swapped, `(kh, kw, filters, c_in)`, refreshed
    /// every step: its input gradient `dx[ci] += Σ_f w[.., ci, f] · dy[f]` then runs as
    /// `dx[..] += dy[f] · wt[.., f, ..]`, contiguous in `ci`, instead of a dot product over
    /// `f` per `ci` (a chain of dependent adds that the compiler may not reorder).
    conv2_wt: Vec<f32>,
    g: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    adam: Adam,
}

impl KwsHandArrays {
    /// From flat weights in Keras's order and layouts.
    pub fn from_flat(flat: &[f32], adam: Adam) -> Self {
        let zeros = vec![0.0; PARAMS];
        KwsHandArrays {
            w: flat[..PARAMS].to_vec(),
            conv2_wt: vec![0.0; T2 * F2],
            g: zeros.clone(),
            m: zeros.clone(),
            v: zeros,
            adam,
        }
    }

    /// The weights, flat, in Keras's order and layouts.
    pub fn to_flat(&self) -> Vec<f32> {
        self.w.clone()
    }

    /// One training step on row-major `[n, 49, 10, 1]` inputs `x` and class ids `y`; returns
    /// the batch's mean loss.
    pub fn step(&mut self, x: &[f32], y: &[u32]) -> f32 {
        let n = y.len();
        let scale = 1.0 / n as f32;
        self.g.fill(0.0);
        // The tensors as rows of their last axis (`[f32; filters]` per tap and input channel).
        let (conv1_w, rest) = self.w.split_at(CONV1_B);
        let (conv1_b, rest) = rest.split_at(F1);
        let (conv2_w, rest) = rest.split_at(T2 * F2);
        let (conv2_b, rest) = rest.split_at(F2);
        let (dense_w, dense_b) = rest.split_at(F2 * OUT);
        let (conv1_w, conv1_b) = (conv1_w.as_chunks::<F1>().0, <[f32; F1]>::try_from(conv1_b).unwrap());
        let (conv2_w, conv2_b) = (conv2_w.as_chunks::<F2>().0, <[f32; F2]>::try_from(conv2_b).unwrap());
        let (dense_w, dense_b) = (dense_w.as_chunks::<OUT>().0, <[f32; OUT]>::try_from(dense_b).unwrap());
        let (conv2_wt, _) = self.conv2_wt.as_chunks_mut::<F1>();
        for (w, wt) in conv2_w.chunks_exact(F1).zip(conv2_wt.chunks_exact_mut(F2)) {
            for (ci, row) in w.iter().enumerate() {
                for (wt, v) in wt.iter_mut().zip(row) {
                    wt[ci] = *v;
                }
            }
        }
        let conv2_wt = &*conv2_wt;
        let (g_conv1_w, rest) = self.g.split_at_mut(CONV1_B);
        let (g_conv1_b, rest) = rest.split_at_mut(F1);
        let (g_conv2_w, rest) = rest.split_at_mut(T2 * F2);
        let (g_conv2_b, rest) = rest.split_at_mut(F2);
        let (g_dense_w, g_dense_b) = rest.split_at_mut(F2 * OUT);
        let (g_conv1_w, g_conv2_w, g_dense_w) = (
            g_conv1_w.as_chunks_mut::<F1>().0,
            g_conv2_w.as_chunks_mut::<F2>().0,
            g_dense_w.as_chunks_mut::<OUT>().0,
        );
        let mut loss = 0.0;
        for (x, &label) in x.chunks_exact(IN).zip(y) {
            // Conv2D 1, valid, strides (2, 1), relu.
            let mut a1 = [[[0.0f32; F1]; W1]; H1];
            for (oy, row) in a1.iter_mut().enumerate() {
                for (ox, out) in row.iter_mut().enumerate() {
                    let mut acc = conv1_b;
                    for (tap, w) in conv1_w.iter().enumerate() {
                        let xv = x[(oy * S1H + tap / K1W) * W0 + ox + tap % K1W];
                        for (a, w) in acc.iter_mut().zip(w) {
                            *a += xv * w;
                        }
                    }
                    *out = acc.map(|a| a.max(0.0));
                }
            }
            // MaxPooling2D 2, and which tap of its window (row-major) gave each maximum.
            let mut a2 = [[[0.0f32; F1]; W2]; H2];
            let mut arg = [[[0u8; F1]; W2]; H2];
            for oy in 0..H2 {
                for ox in 0..W2 {
                    let (out, arg) = (&mut a2[oy][ox], &mut arg[oy][ox]);
                    *out = a1[2 * oy][2 * ox];
                    for (tap, (dy, dx)) in [(0, 1), (1, 0), (1, 1)].into_iter().enumerate() {
                        for ((o, a), v) in
                            out.iter_mut().zip(arg.iter_mut()).zip(&a1[2 * oy + dy][2 * ox + dx])
                        {
                            // `>`: a tie keeps the earlier tap.
                            if *v > *o {
                                *o = *v;
                                *a = tap as u8 + 1;
                            }
                        }
                    }
                }
            }
            // Conv2D 2, 3×3 same, relu; GlobalAveragePooling2D.
            let mut a3 = [[[0.0f32; F2]; W2]; H2];
            let mut gap = [0.0f32; F2];
            for (oy, row) in a3.iter_mut().enumerate() {
                for (ox, out) in row.iter_mut().enumerate() {
                    let mut acc = conv2_b;
                    for (tap, iy, ix) in same_taps(oy, ox) {
                        for (xv, w) in a2[iy][ix].iter().zip(&conv2_w[tap * F1..(tap + 1) * F1]) {
                            for (a, w) in acc.iter_mut().zip(w) {
                                *a += xv * w;
                            }
                        }
                    }
                    let acc = acc.map(|a| a.max(0.0));
                    gap.iter_mut().zip(&acc).for_each(|(g, a)| *g += a);
                    *out = acc;
                }
            }
            gap.iter_mut().for_each(|g| *g /= P2 as f32);
            // Dense 12, softmax.
            let mut p = dense_b;
            for (g, row) in gap.iter().zip(dense_w) {
                for (a, w) in p.iter_mut().zip(row) {
                    *a += g * w;
                }
            }
            let max = p.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            p.iter_mut().for_each(|v| *v = (*v - max).exp());
            let sum: f32 = p.iter().sum();
            p.iter_mut().for_each(|v| *v /= sum);
            loss += cross_entropy(p[label as usize]);

            // Backward: dz = (p - onehot) / n, then this sample's share of every gradient.
            let mut dz = p;
            dz[label as usize] -= 1.0;
            dz.iter_mut().for_each(|v| *v *= scale);
            let mut dgap = [0.0f32; F2];
            for (((d, g), grow), wrow) in dgap.iter_mut().zip(&gap).zip(g_dense_w.iter_mut()).zip(dense_w) {
                for ((gw, dzk), wk) in grow.iter_mut().zip(&dz).zip(wrow) {
                    *gw += g * dzk;
                    *d += dzk * wk;
                }
                // The average's share of it, for each of the 44 pixels.
                *d /= P2 as f32;
            }
            g_dense_b.iter_mut().zip(&dz).for_each(|(g, d)| *g += d);
            // Conv2D 2: through relu, then the kernel's, the bias's and the input's gradients.
            let mut da2 = [[[0.0f32; F1]; W2]; H2];
            for (oy, row) in a3.iter().enumerate() {
                for (ox, a3) in row.iter().enumerate() {
                    let mut dz2 = [0.0f32; F2];
                    for ((d, a), g) in dz2.iter_mut().zip(a3).zip(&dgap) {
                        if *a > 0.0 {
                            *d = *g;
                        }
                    }
                    g_conv2_b.iter_mut().zip(&dz2).for_each(|(g, d)| *g += d);
                    for (tap, iy, ix) in same_taps(oy, ox) {
                        for (xv, gw) in a2[iy][ix].iter().zip(&mut g_conv2_w[tap * F1..(tap + 1) * F1]) {
                            for (gw, d) in gw.iter_mut().zip(&dz2) {
                                *gw += xv * d;
                            }
                        }
                        let mut dx = da2[iy][ix];
                        for (d, wt) in dz2.iter().zip(&conv2_wt[tap * F2..(tap + 1) * F2]) {
                            for (dx, w) in dx.iter_mut().zip(wt) {
                                *dx += d * w;
                            }
                        }
                        da2[iy][ix] = dx;
                    }
                }
            }
            // MaxPooling2D: each window's gradient to its maximum; relu.
            let mut dz1 = [[[0.0f32; F1]; W1]; H1];
            for oy in 0..H2 {
                for ox in 0..W2 {
                    for (c, (&tap, &d)) in arg[oy][ox].iter().zip(&da2[oy][ox]).enumerate() {
                        let (iy, ix) = (2 * oy + usize::from(tap / 2), 2 * ox + usize::from(tap % 2));
                        if a1[iy][ix][c] > 0.0 {
                            dz1[iy][ix][c] += d;
                        }
                    }
                }
            }
            // Conv2D 1: the kernel's and the bias's gradients (the input needs none).
            for (oy, row) in dz1.iter().enumerate() {
                for (ox, d) in row.iter().enumerate() {
                    g_conv1_b.iter_mut().zip(d).for_each(|(g, d)| *g += d);
                    for (tap, gw) in g_conv1_w.iter_mut().enumerate() {
                        let xv = x[(oy * S1H + tap / K1W) * W0 + ox + tap % K1W];
                        for (g, d) in gw.iter_mut().zip(d) {
                            *g += xv * d;
                        }
                    }
                }
            }
        }
        let alpha = self.adam.next_step();
        self.adam.update(alpha, &mut self.w, &self.g, &mut self.m, &mut self.v);
        loss * scale
    }
}
