//! Hand-written training steps of the digits MLP, the baselines of `benches/train.rs` (and the
//! reference that `peers/` checks its training steps against):
//!
//! Input 64 → Dense 64 relu → Dense 10 softmax, sparse categorical cross-entropy (class ids),
//! Keras's `Adam(0.001)` (`beta_1` 0.9, `beta_2` 0.999, `epsilon` 1e-7 added to the
//! uncorrected `sqrt(v)`, the bias correction folded into the step size, as Keras 3 does), one
//! step over a batch of samples: forward, loss, gradient of the softmax cross-entropy
//! (`p - onehot`, over the batch size), backward, update.
//!
//! Two versions, each what a competent user writes by hand:
//!
//! - [`HandNalgebra`]: nalgebra's `DMatrix` with its operators (one column per sample, weights
//!   as `out × in`), so every product is a `gemm` that nalgebra hands to `matrixmultiply`; the
//!   products and transposes allocate their results, as nalgebra's operators do.
//! - [`HandArrays`]: plain loops over flat `f32` slices in Keras's layouts, one sample at a
//!   time (its forward pass, then its share of every gradient), then one Adam loop over all
//!   the weights; nothing allocated in a step.
//!
//! Both start from [`glorot`]'s weights and compute the same numbers as `nn`'s
//! `train_on_batch` (checked in `benches/train.rs` before anything is timed). No `nn` types,
//! no `unsafe`, no SIMD intrinsics; the only dependency is nalgebra, which this file reaches as
//! `crate::nalgebra` (`nn::nalgebra` in the benches, the crate itself in `peers/`).

use crate::nalgebra::{DMatrix, DVector};

/// Features per sample (an 8×8 digit).
pub const IN: usize = 64;
/// Units of the hidden layer.
pub const HIDDEN: usize = 64;
/// Classes.
pub const OUT: usize = 10;
/// Weights in Keras's `model.weights` order: kernel `(64, 64)`, bias, kernel `(64, 10)`, bias.
pub const PARAMS: usize = IN * HIDDEN + HIDDEN + HIDDEN * OUT + OUT;
/// Samples per training step in the benchmarks.
pub const BATCH: usize = 32;
/// Steps of one training run in the benchmarks (30 epochs of the 44 full batches of the digits
/// train split, as `examples/digits_train.rs` trains), after which the benchmarks start again
/// from the first weights: a step's cost then does not drift as the model fits its data.
pub const RUN: u64 = 30 * 44;

// Offsets of the four tensors in the flat weights.
const W1: usize = 0;
const B1: usize = W1 + IN * HIDDEN;
const W2: usize = B1 + HIDDEN;
const B2: usize = W2 + HIDDEN * OUT;

/// The train split of scikit-learn's digits (`examples/data/digits.bin`), cut into its full
/// batches of [`BATCH`]: per batch, the pixels (scaled by 1/16, row-major `[batch, 64]`) and
/// the class ids.
pub fn digits_batches() -> Vec<(Vec<f32>, Vec<u32>)> {
    let bytes = include_bytes!("../../examples/data/digits.bin");
    assert_eq!(&bytes[..8], b"DIGITS1\n", "examples/data/digits.bin: not a digits file");
    let train = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let samples: Vec<&[u8]> = bytes[16..].chunks_exact(65).take(train).collect();
    samples
        .chunks_exact(BATCH)
        .map(|rows| {
            let x = rows.iter().flat_map(|r| r[1..].iter().map(|p| f32::from(*p) / 16.0)).collect();
            let y = rows.iter().map(|r| u32::from(r[0])).collect();
            (x, y)
        })
        .collect()
}

/// Keras's initial weights for this model, from a 32-bit LCG: glorot-uniform kernels
/// (`±sqrt(6 / (fan_in + fan_out))`), zero biases; flat, in Keras's order and layouts.
pub fn glorot(seed: u32) -> Vec<f32> {
    let mut state = seed;
    let mut uniform = |limit: f32| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        ((state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * limit
    };
    let mut w = vec![0.0f32; PARAMS];
    let l1 = (6.0 / (IN + HIDDEN) as f32).sqrt();
    w[W1..B1].iter_mut().for_each(|v| *v = uniform(l1));
    let l2 = (6.0 / (HIDDEN + OUT) as f32).sqrt();
    w[W2..B2].iter_mut().for_each(|v| *v = uniform(l2));
    w
}

/// Keras's Adam: the step size of the coming step, then the update of one tensor.
#[derive(Clone, Debug)]
pub struct Adam {
    pub learning_rate: f32,
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    /// Whether `epsilon` is added to `sqrt(v̂)` (PyTorch, candle, burn) rather than to the
    /// uncorrected `sqrt(v)` (Keras, nn).
    pub epsilon_on_v_hat: bool,
    /// Steps taken.
    pub iterations: i32,
    /// What the update adds to `sqrt(v)` in the current step.
    step_epsilon: f32,
}

impl Adam {
    /// Keras's `Adam(learning_rate)`.
    pub fn new(learning_rate: f32) -> Self {
        Adam {
            learning_rate,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            epsilon_on_v_hat: false,
            iterations: 0,
            step_epsilon: 1e-7,
        }
    }

    /// The same with `epsilon` added to `sqrt(v̂)`, as candle's and burn's Adam add it (the
    /// reference `peers/` checks them against).
    pub fn on_v_hat(learning_rate: f32) -> Self {
        Adam { epsilon_on_v_hat: true, ..Adam::new(learning_rate) }
    }

    /// Counts a step and returns its step size, `lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`.
    pub fn next_step(&mut self) -> f32 {
        self.iterations += 1;
        let t = self.iterations;
        let correction_2 = (1.0 - self.beta_2.powi(t)).sqrt();
        // `m̂ / (sqrt(v̂) + eps)` is `m / (sqrt(v) + eps · sqrt(1 - beta_2^t))` times the step size.
        self.step_epsilon = if self.epsilon_on_v_hat { self.epsilon * correction_2 } else { self.epsilon };
        self.learning_rate * correction_2 / (1.0 - self.beta_1.powi(t))
    }

    /// `m = beta_1 m + (1 - beta_1) g`, `v = beta_2 v + (1 - beta_2) g²`,
    /// `w -= alpha m / (sqrt(v) + epsilon)`.
    pub fn update(&self, alpha: f32, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let (b1, b2, eps) = (self.beta_1, self.beta_2, self.step_epsilon);
        for (((w, g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *w -= alpha * *m / (v.sqrt() + eps);
        }
    }
}

/// The time of `iters` training steps taken as the benchmarks take them: runs of at most
/// [`RUN`] steps, each from the first weights. `run(k)` builds a fresh model and optimizer, takes
/// one step untimed (the allocations of a first step), then returns the time of the next `k`
/// steps, batch after batch of the data.
pub fn timed_runs(iters: u64, mut run: impl FnMut(u64) -> std::time::Duration) -> std::time::Duration {
    let (mut total, mut done) = (std::time::Duration::ZERO, 0);
    while done < iters {
        let k = (iters - done).min(RUN);
        total += run(k);
        done += k;
    }
    total
}

/// `-ln p`, with `p` clipped to `[1e-7, 1 - 1e-7]` as Keras clips probabilities.
fn cross_entropy(p: f32) -> f32 {
    -p.clamp(1e-7, 1.0 - 1e-7).ln()
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

/// The MLP over nalgebra's `DMatrix`: weights `out × in` (`W1` 64×64, `W2` 10×64), a batch as
/// one column per sample (`64 × n`), every product a `gemm` through `matrixmultiply`.
#[derive(Clone, Debug)]
pub struct HandNalgebra {
    w1: Param<DMatrix<f32>>,
    b1: Param<DVector<f32>>,
    w2: Param<DMatrix<f32>>,
    b2: Param<DVector<f32>>,
    adam: Adam,
}

impl HandNalgebra {
    /// From flat weights in Keras's order and layouts (a kernel `(in, out)` row-major is an
    /// `out × in` column-major matrix as it stands).
    pub fn from_flat(flat: &[f32], adam: Adam) -> Self {
        let matrix = |at: usize, rows: usize, cols: usize| {
            DMatrix::from_column_slice(rows, cols, &flat[at..at + rows * cols])
        };
        let vector = |at: usize, len: usize| DVector::from_column_slice(&flat[at..at + len]);
        HandNalgebra {
            w1: Param::new(matrix(W1, HIDDEN, IN), DMatrix::zeros(HIDDEN, IN)),
            b1: Param::new(vector(B1, HIDDEN), DVector::zeros(HIDDEN)),
            w2: Param::new(matrix(W2, OUT, HIDDEN), DMatrix::zeros(OUT, HIDDEN)),
            b2: Param::new(vector(B2, OUT), DVector::zeros(OUT)),
            adam,
        }
    }

    /// The weights, flat, in Keras's order and layouts.
    pub fn to_flat(&self) -> Vec<f32> {
        [self.w1.w.as_slice(), self.b1.w.as_slice(), self.w2.w.as_slice(), self.b2.w.as_slice()].concat()
    }

    /// A batch as this model takes it: row-major `[n, 64]` pixels are the `64 × n` matrix with
    /// one column per sample.
    pub fn batch(x: &[f32]) -> DMatrix<f32> {
        DMatrix::from_column_slice(IN, x.len() / IN, x)
    }

    /// One training step on `x` (`64 × n`) and class ids `y`; returns the batch's mean loss.
    pub fn step(&mut self, x: &DMatrix<f32>, y: &[u32]) -> f32 {
        let n = x.ncols();
        // Forward.
        let mut h = &self.w1.w * x;
        for mut col in h.column_iter_mut() {
            col += &self.b1.w;
            col.apply(|v| *v = v.max(0.0));
        }
        let mut p = &self.w2.w * &h;
        let mut loss = 0.0;
        for (mut col, &label) in p.column_iter_mut().zip(y) {
            col += &self.b2.w;
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
        let dw2 = &dz * h.transpose();
        let db2 = dz.column_sum();
        let mut dh = self.w2.w.transpose() * &dz;
        dh.zip_apply(&h, |d, h| {
            if h <= 0.0 {
                *d = 0.0;
            }
        });
        let dw1 = &dh * x.transpose();
        let db1 = dh.column_sum();
        // Adam.
        let alpha = self.adam.next_step();
        let adam = &self.adam;
        for (p, g) in [(&mut self.w1, dw1.as_slice()), (&mut self.w2, dw2.as_slice())] {
            adam.update(alpha, p.w.as_mut_slice(), g, p.m.as_mut_slice(), p.v.as_mut_slice());
        }
        for (p, g) in [(&mut self.b1, db1.as_slice()), (&mut self.b2, db2.as_slice())] {
            adam.update(alpha, p.w.as_mut_slice(), g, p.m.as_mut_slice(), p.v.as_mut_slice());
        }
        loss / n as f32
    }
}

// ---------------------------------------------------------------------------------------------
// Plain loops
// ---------------------------------------------------------------------------------------------

/// The MLP over flat `f32` slices in Keras's layouts (kernels `(in, out)` row-major): each
/// sample's forward pass and its share of the gradients in turn, then one Adam loop over all
/// the weights.
#[derive(Clone, Debug)]
pub struct HandArrays {
    w: Vec<f32>,
    g: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    adam: Adam,
}

impl HandArrays {
    /// From flat weights in Keras's order and layouts.
    pub fn from_flat(flat: &[f32], adam: Adam) -> Self {
        let zeros = vec![0.0; PARAMS];
        HandArrays { w: flat[..PARAMS].to_vec(), g: zeros.clone(), m: zeros.clone(), v: zeros, adam }
    }

    /// The weights, flat, in Keras's order and layouts.
    pub fn to_flat(&self) -> Vec<f32> {
        self.w.clone()
    }

    /// One training step on row-major `[n, 64]` pixels `x` and class ids `y`; returns the
    /// batch's mean loss.
    pub fn step(&mut self, x: &[f32], y: &[u32]) -> f32 {
        let n = y.len();
        let scale = 1.0 / n as f32;
        self.g.fill(0.0);
        let (w1, rest) = self.w.split_at(B1);
        let (b1, rest) = rest.split_at(HIDDEN);
        let (w2, b2) = rest.split_at(HIDDEN * OUT);
        let (g1, rest) = self.g.split_at_mut(B1);
        let (gb1, rest) = rest.split_at_mut(HIDDEN);
        let (g2, gb2) = rest.split_at_mut(HIDDEN * OUT);
        let mut loss = 0.0;
        for (x, &label) in x.chunks_exact(IN).zip(y) {
            // Forward: h = relu(x W1 + b1), p = softmax(h W2 + b2).
            let mut h = [0.0f32; HIDDEN];
            h.copy_from_slice(b1);
            for (xi, row) in x.iter().zip(w1.chunks_exact(HIDDEN)) {
                for (a, w) in h.iter_mut().zip(row) {
                    *a += xi * w;
                }
            }
            h.iter_mut().for_each(|v| *v = v.max(0.0));
            let mut p = [0.0f32; OUT];
            p.copy_from_slice(b2);
            for (hj, row) in h.iter().zip(w2.chunks_exact(OUT)) {
                for (a, w) in p.iter_mut().zip(row) {
                    *a += hj * w;
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
            let mut dh = [0.0f32; HIDDEN];
            for (((d, hj), grow), wrow) in
                dh.iter_mut().zip(&h).zip(g2.chunks_exact_mut(OUT)).zip(w2.chunks_exact(OUT))
            {
                for ((g, dzk), wk) in grow.iter_mut().zip(&dz).zip(wrow) {
                    *g += hj * dzk;
                    *d += dzk * wk;
                }
                if *hj <= 0.0 {
                    *d = 0.0;
                }
            }
            gb2.iter_mut().zip(&dz).for_each(|(g, d)| *g += d);
            for (xi, grow) in x.iter().zip(g1.chunks_exact_mut(HIDDEN)) {
                for (g, d) in grow.iter_mut().zip(&dh) {
                    *g += xi * d;
                }
            }
            gb1.iter_mut().zip(&dh).for_each(|(g, d)| *g += d);
        }
        let alpha = self.adam.next_step();
        self.adam.update(alpha, &mut self.w, &self.g, &mut self.m, &mut self.v);
        loss * scale
    }
}
