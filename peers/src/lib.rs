//! Benchmarks of peer frameworks on nn's benchmark models; see `benches/peers.rs`,
//! `src/bin/alloc_count.rs` and `README.md`.
//!
//! Each peer gets the same two relu MLPs with the same deterministic weights:
//!
//! - M1: 16→64→64→8,
//! - M2: 784→128→64→10,
//!
//! relu after the first two layers, the last layer linear, all `f32`. Weights and biases are
//! uniform in ±0.1 from a tiny LCG ([`Spec::seeded`]). Each peer builds its model once
//! (`new`: weights loaded, graph optimized) and runs it on an input prepared once
//! ([`Peer::prepare`]); only [`Peer::run`] is timed. [`reference`] is a plain-Rust forward
//! pass that every peer is checked against before it is timed.
//!
//! And the same two CNNs ([`Cnn`]), channels last, Keras 3 semantics:
//!
//! - kws: (49, 10, 1) → Conv2D 16 (5, 3) strides (2, 1) valid relu → MaxPooling2D 2 →
//!   Conv2D 32 3×3 same relu → GlobalAveragePooling2D → Dense 12 softmax,
//! - sensor: (128, 6) → Conv1D 16 k5 strides 2 same relu → MaxPooling1D 2 → Conv1D 32 k3
//!   valid relu → GlobalAveragePooling1D → Dense 8,
//!
//! with weights from the same LCG in Keras's layouts, checked against the hand-written
//! direct loops of `benches/hand/conv.rs` ([`hand`]). ndarray has no convolution, so it has
//! no CNN peer.
//!
//! And the GRU model of `benches/rnn.rs` ([`Gru`]): 16 steps of 8 features → Keras 3 GRU(32)
//! (`reset_after = true`, the last output) → Dense(1), in tract only (as an ONNX `GRU` node),
//! checked against a plain-Rust step-by-step loop. candle-core and burn-tensor have no GRU.
#![allow(deprecated)] // burn's ndarray device is deprecated in favour of its flex backend.

use std::error::Error;

/// A boxed error: each framework has its own.
pub type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// One dense layer: `y = x · w + b`, `w` row-major `[input, output]`.
#[derive(Clone, Debug)]
pub struct Layer {
    pub input: usize,
    pub output: usize,
    /// Row-major `[input, output]`.
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub relu: bool,
}

impl Layer {
    /// A layer with its weights, then its bias, drawn from `rng`.
    pub fn seeded(rng: &mut Lcg, input: usize, output: usize, relu: bool) -> Layer {
        let w = (0..input * output).map(|_| rng.next_weight()).collect();
        let b = (0..output).map(|_| rng.next_weight()).collect();
        Layer { input, output, w, b, relu }
    }
}

/// A model: its name and its layers.
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: &'static str,
    pub layers: Vec<Layer>,
}

/// A tiny 32-bit LCG (Numerical Recipes constants): deterministic on every platform.
pub struct Lcg(u32);

impl Lcg {
    pub fn new(seed: u32) -> Self {
        Lcg(seed)
    }
    /// Uniform in `[-0.1, 0.1)`.
    pub fn next_weight(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        ((self.0 >> 8) as f32 / (1u32 << 24) as f32) * 0.2 - 0.1
    }
}

impl Spec {
    /// A relu MLP with the given widths (relu after all but the last layer), weights then bias
    /// of each layer in turn drawn from one [`Lcg`] seeded with `seed`.
    pub fn seeded(name: &'static str, widths: &[usize], seed: u32) -> Spec {
        let mut rng = Lcg::new(seed);
        let n = widths.len() - 1;
        let layers = (0..n).map(|l| Layer::seeded(&mut rng, widths[l], widths[l + 1], l + 1 < n)).collect();
        Spec { name, layers }
    }
    /// M1: 16→64→64→8.
    pub fn m1() -> Spec {
        Spec::seeded("M1", &[16, 64, 64, 8], 1)
    }
    /// M2: 784→128→64→10.
    pub fn m2() -> Spec {
        Spec::seeded("M2", &[784, 128, 64, 10], 2)
    }
    pub fn input(&self) -> usize {
        self.layers[0].input
    }
    pub fn output(&self) -> usize {
        self.layers.last().unwrap().output
    }
    /// A deterministic input batch, row-major `[batch, input]`, values in [-0.5, 0.5).
    pub fn batch(&self, batch: usize) -> Vec<f32> {
        let n = self.input();
        (0..batch * n).map(|k| (((k % n + k / n) * 37) % 17) as f32 / 17.0 - 0.5).collect()
    }
}

/// Plain-Rust forward pass, row-major `[batch, input]` in, `[batch, output]` out.
pub fn reference(spec: &Spec, x: &[f32], batch: usize) -> Vec<f32> {
    let mut a = x.to_vec();
    for l in &spec.layers {
        let mut y = vec![0.0f32; batch * l.output];
        for s in 0..batch {
            let ys = &mut y[s * l.output..(s + 1) * l.output];
            ys.copy_from_slice(&l.b);
            for (i, xi) in a[s * l.input..(s + 1) * l.input].iter().enumerate() {
                for (yj, wij) in ys.iter_mut().zip(&l.w[i * l.output..(i + 1) * l.output]) {
                    *yj += xi * wij;
                }
            }
            if l.relu {
                ys.iter_mut().for_each(|v| *v = v.max(0.0));
            }
        }
        a = y;
    }
    a
}

/// A benchmark model as [`check`] and the benches see it: [`Spec`] (the MLPs) or [`Cnn`].
pub trait Model {
    /// The name in benchmark ids (`M1`, `kws`, ...).
    fn name(&self) -> &'static str;
    /// A deterministic input batch, row-major `[batch, ..one sample's shape]`.
    fn batch(&self, batch: usize) -> Vec<f32>;
    /// The plain-Rust forward pass, row-major `[batch, output]` out.
    fn reference(&self, x: &[f32], batch: usize) -> Vec<f32>;
}

impl Model for Spec {
    fn name(&self) -> &'static str {
        self.name
    }
    fn batch(&self, batch: usize) -> Vec<f32> {
        Spec::batch(self, batch)
    }
    fn reference(&self, x: &[f32], batch: usize) -> Vec<f32> {
        reference(self, x, batch)
    }
}

// ---------------------------------------------------------------------------------------------
// The CNNs
// ---------------------------------------------------------------------------------------------

/// The hand-written direct loops of `benches/hand/conv.rs`: [`Cnn`]'s reference.
#[path = "../../benches/hand/conv.rs"]
pub mod hand;

/// The hand-written training steps of `benches/hand/train.rs`: the reference of [`train`].
#[path = "../../benches/hand/train.rs"]
pub mod hand_train;

/// The hand-written KWS training steps of `benches/hand/train_kws.rs`: the reference of the
/// KWS peers of [`train`].
#[path = "../../benches/hand/train_kws.rs"]
pub mod hand_train_kws;

/// nalgebra, as `benches/hand/train.rs` reaches it (`crate::nalgebra`).
pub use nalgebra;

pub mod train;

/// A convolution followed by relu, its kernel in Keras's layout `(k.., c_in, filters)`.
#[derive(Clone, Debug)]
pub struct Conv {
    /// Kernel size on each spatial axis.
    pub kernel: Vec<usize>,
    /// Stride on each spatial axis.
    pub strides: Vec<usize>,
    /// Keras's "same" padding if true, "valid" if false.
    pub same: bool,
    pub c_in: usize,
    pub filters: usize,
    /// Row-major `(k.., c_in, filters)`.
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

impl Conv {
    /// A convolution with its kernel, then its bias, drawn from `rng`.
    pub fn seeded(
        rng: &mut Lcg,
        kernel: &[usize],
        strides: &[usize],
        same: bool,
        c_in: usize,
        filters: usize,
    ) -> Conv {
        let taps: usize = kernel.iter().product();
        let w = (0..taps * c_in * filters).map(|_| rng.next_weight()).collect();
        let b = (0..filters).map(|_| rng.next_weight()).collect();
        Conv { kernel: kernel.to_vec(), strides: strides.to_vec(), same, c_in, filters, w, b }
    }
    /// The output's spatial shape and the `(before, after)` zero padding of each spatial axis,
    /// for an input of spatial shape `input`. "same" as in Keras/TF: `out = ceil(in / stride)`,
    /// `pad_total = max((out - 1) · stride + k - in, 0)`, `pad_total / 2` before.
    pub fn geometry(&self, input: &[usize]) -> (Vec<usize>, Vec<(usize, usize)>) {
        input
            .iter()
            .zip(&self.kernel)
            .zip(&self.strides)
            .map(|((&n, &k), &s)| {
                if self.same {
                    let out = n.div_ceil(s);
                    let total = ((out - 1) * s + k).saturating_sub(n);
                    (out, (total / 2, total - total / 2))
                } else {
                    ((n - k) / s + 1, (0, 0))
                }
            })
            .unzip()
    }
    /// The kernel in ONNX's (and candle's and burn's) layout, row-major `(filters, c_in, k..)`.
    pub fn w_oik(&self) -> Vec<f32> {
        let taps: usize = self.kernel.iter().product();
        let mut out = vec![0.0; self.w.len()];
        for t in 0..taps {
            for ci in 0..self.c_in {
                for f in 0..self.filters {
                    out[(f * self.c_in + ci) * taps + t] = self.w[(t * self.c_in + ci) * self.filters + f];
                }
            }
        }
        out
    }
    /// The shape of [`Conv::w_oik`]: `[filters, c_in, k..]`.
    pub fn oik_dims(&self) -> Vec<usize> {
        [&[self.filters, self.c_in][..], &self.kernel].concat()
    }
}

/// A CNN of the benchmarks' shape, channels last: Conv + relu → MaxPooling → Conv + relu →
/// GlobalAveragePooling → Dense (→ softmax), in 1 or 2 spatial dimensions.
#[derive(Clone, Debug)]
pub struct Cnn {
    /// The name in benchmark ids: `kws` or `sensor`.
    pub name: &'static str,
    /// One sample's shape, channels last: `[h, w, c]` or `[steps, c]`.
    pub input: Vec<usize>,
    pub conv1: Conv,
    /// MaxPooling's window and stride on every spatial axis (valid).
    pub pool: usize,
    pub conv2: Conv,
    /// The Dense layer after the global average pooling (`relu` false).
    pub dense: Layer,
    /// Softmax after the Dense layer if true, linear if false.
    pub softmax: bool,
}

impl Cnn {
    /// kws: (49, 10, 1) → Conv2D 16 (5, 3) strides (2, 1) valid relu → MaxPooling2D 2 → Conv2D
    /// 32 3×3 same relu → GlobalAveragePooling2D → Dense 12 softmax. Weights in Keras's
    /// `model.weights` order from one [`Lcg`] seeded with 3.
    pub fn kws() -> Cnn {
        let mut rng = Lcg::new(3);
        let conv1 = Conv::seeded(&mut rng, &[5, 3], &[2, 1], false, 1, 16);
        let conv2 = Conv::seeded(&mut rng, &[3, 3], &[1, 1], true, 16, 32);
        let dense = Layer::seeded(&mut rng, 32, 12, false);
        Cnn { name: "kws", input: vec![49, 10, 1], conv1, pool: 2, conv2, dense, softmax: true }
    }
    /// sensor: (128, 6) → Conv1D 16 k5 strides 2 same relu → MaxPooling1D 2 → Conv1D 32 k3
    /// valid relu → GlobalAveragePooling1D → Dense 8. Weights in Keras's `model.weights` order
    /// from one [`Lcg`] seeded with 4.
    pub fn sensor() -> Cnn {
        let mut rng = Lcg::new(4);
        let conv1 = Conv::seeded(&mut rng, &[5], &[2], true, 6, 16);
        let conv2 = Conv::seeded(&mut rng, &[3], &[1], false, 16, 32);
        let dense = Layer::seeded(&mut rng, 32, 8, false);
        Cnn { name: "sensor", input: vec![128, 6], conv1, pool: 2, conv2, dense, softmax: false }
    }
    /// Input values per sample.
    pub fn input_len(&self) -> usize {
        self.input.iter().product()
    }
    /// Output values per sample.
    pub fn output(&self) -> usize {
        self.dense.output
    }
    /// The input's spatial shape (without channels).
    pub fn spatial(&self) -> &[usize] {
        &self.input[..self.input.len() - 1]
    }
    /// The spatial shape after the max pooling (conv2's input).
    pub fn pooled(&self) -> Vec<usize> {
        let (out1, _) = self.conv1.geometry(self.spatial());
        out1.iter().map(|&n| (n - self.pool) / self.pool + 1).collect()
    }
    /// Every weight in Keras's `model.weights` order (conv1 kernel, conv1 bias, conv2 kernel,
    /// conv2 bias, dense kernel, dense bias), each flattened row-major.
    pub fn flat(&self) -> Vec<f32> {
        [&self.conv1.w, &self.conv1.b, &self.conv2.w, &self.conv2.b, &self.dense.w, &self.dense.b]
            .into_iter()
            .flatten()
            .copied()
            .collect()
    }
}

impl Model for Cnn {
    fn name(&self) -> &'static str {
        self.name
    }
    /// As [`Spec::batch`]: values in [-0.5, 0.5).
    fn batch(&self, batch: usize) -> Vec<f32> {
        let n = self.input_len();
        (0..batch * n).map(|k| (((k % n + k / n) * 37) % 17) as f32 / 17.0 - 0.5).collect()
    }
    /// [`hand::KwsHand`] or [`hand::SensorHand`], sample by sample.
    fn reference(&self, x: &[f32], batch: usize) -> Vec<f32> {
        let n = self.input_len();
        assert_eq!(x.len(), batch * n);
        let chunks = x.chunks_exact(n);
        match self.name {
            "kws" => {
                let m = hand::KwsHand::from_flat(&self.flat());
                chunks.flat_map(|s| m.forward(s.try_into().unwrap())).collect()
            }
            "sensor" => {
                let m = hand::SensorHand::from_flat(&self.flat());
                chunks.flat_map(|s| m.forward(s.try_into().unwrap())).collect()
            }
            other => panic!("no reference for CNN {other}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The GRU model
// ---------------------------------------------------------------------------------------------

/// `benches/rnn.rs`'s `GruModel`: `[batch, steps, input]` → Keras 3 `GRU(units)` with its
/// defaults (tanh, recurrent sigmoid, bias, `reset_after = true`, the last output only) →
/// `Dense(1)` linear. Weights in Keras's layouts, gates in Keras's (and ONNX's) order z, r, h.
#[derive(Clone, Debug)]
pub struct Gru {
    /// The name in benchmark ids: `gru32`.
    pub name: &'static str,
    /// Time steps per sample.
    pub steps: usize,
    /// Features per time step.
    pub input: usize,
    pub units: usize,
    /// Row-major `[input, 3 · units]`, columns z, r, h.
    pub kernel: Vec<f32>,
    /// Row-major `[units, 3 · units]`, columns z, r, h.
    pub recurrent_kernel: Vec<f32>,
    /// Row-major `[2, 3 · units]`: row 0 the input bias, row 1 the recurrent bias.
    pub bias: Vec<f32>,
    /// The Dense layer on the last output (`relu` false).
    pub dense: Layer,
}

impl Gru {
    /// gru32: 16 steps of 8 features → GRU(32) → Dense(1). Weights in Keras's `model.weights`
    /// order (kernel, recurrent kernel, bias, dense kernel, dense bias) from one [`Lcg`] seeded
    /// with 5.
    pub fn gru32() -> Gru {
        let (name, steps, input, units) = ("gru32", 16, 8, 32);
        let mut rng = Lcg::new(5);
        let mut draw = |n: usize| (0..n).map(|_| rng.next_weight()).collect::<Vec<f32>>();
        let kernel = draw(input * 3 * units);
        let recurrent_kernel = draw(units * 3 * units);
        let bias = draw(2 * 3 * units);
        let dense = Layer::seeded(&mut rng, units, 1, false);
        Gru { name, steps, input, units, kernel, recurrent_kernel, bias, dense }
    }
    /// Input values per sample.
    pub fn input_len(&self) -> usize {
        self.steps * self.input
    }
    /// A Keras `[rows, 3 · units]` matrix in ONNX's layout, row-major `[1, 3 · units, rows]`.
    fn onnx_gates(&self, keras: &[f32]) -> Vec<f32> {
        let (cols, rows) = (3 * self.units, keras.len() / (3 * self.units));
        (0..cols).flat_map(|j| (0..rows).map(move |i| keras[i * cols + j])).collect()
    }
}

impl Model for Gru {
    fn name(&self) -> &'static str {
        self.name
    }
    /// As [`Spec::batch`]: values in [-0.5, 0.5), row-major `[batch, steps, input]`.
    fn batch(&self, batch: usize) -> Vec<f32> {
        let n = self.input_len();
        (0..batch * n).map(|k| (((k % n + k / n) * 37) % 17) as f32 / 17.0 - 0.5).collect()
    }
    /// Keras's GRU (`reset_after = true`) step by step from `h = 0`, sample by sample, then the
    /// Dense layer: with `x_g = x · W_g + b_g` and `h_g = h · U_g + c_g` (b the input bias, c the
    /// recurrent bias), `z = σ(x_z + h_z)`, `r = σ(x_r + h_r)`, `hh = tanh(x_h + r ⊙ h_h)`,
    /// `h = z ⊙ h + (1 − z) ⊙ hh`.
    fn reference(&self, x: &[f32], batch: usize) -> Vec<f32> {
        let (u, g) = (self.units, 3 * self.units);
        let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
        assert_eq!(x.len(), batch * self.input_len());
        let mut out = vec![];
        for sample in x.chunks_exact(self.input_len()) {
            let mut h = vec![0.0f32; u];
            for xt in sample.chunks_exact(self.input) {
                // All three gates of x · W + b and of h · U + c, as Keras computes them.
                let mut xw = self.bias[..g].to_vec();
                for (i, xi) in xt.iter().enumerate() {
                    for (a, w) in xw.iter_mut().zip(&self.kernel[i * g..(i + 1) * g]) {
                        *a += xi * w;
                    }
                }
                let mut hu = self.bias[g..].to_vec();
                for (i, hi) in h.iter().enumerate() {
                    for (a, w) in hu.iter_mut().zip(&self.recurrent_kernel[i * g..(i + 1) * g]) {
                        *a += hi * w;
                    }
                }
                for (o, ho) in h.iter_mut().enumerate() {
                    let z = sigmoid(xw[o] + hu[o]);
                    let r = sigmoid(xw[u + o] + hu[u + o]);
                    let hh = (xw[2 * u + o] + r * hu[2 * u + o]).tanh();
                    *ho = z * *ho + (1.0 - z) * hh;
                }
            }
            out.extend(reference(&Spec { name: self.name, layers: vec![self.dense.clone()] }, &h, 1));
        }
        out
    }
}

/// Sets `RAYON_NUM_THREADS=1` unless the caller set it: candle's CPU matmul reads it on every
/// call to choose between `gemm`'s single-threaded and rayon paths (and rayon sizes its global
/// pool by it). Call before any thread is spawned.
pub fn single_thread() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: called at the start of `main`, before any other thread exists.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
}

/// A framework's compiled model: build once, prepare an input once, run many times.
pub trait Peer: Sized {
    /// The name used in benchmark ids.
    const NAME: &'static str;
    /// The kind of model it runs: [`Spec`] or [`Cnn`].
    type Model: Model;
    /// A prepared input (already in the framework's tensor type).
    type Input;
    /// The framework's output.
    type Output;
    /// Loads weights and compiles/optimizes the model for a fixed batch size.
    fn new(spec: &Self::Model, batch: usize) -> Res<Self>;
    /// Converts a row-major `[batch, input]` buffer into the framework's input.
    fn prepare(&self, x: &[f32]) -> Res<Self::Input>;
    /// One inference: the timed part.
    fn run(&mut self, x: &Self::Input) -> Self::Output;
    /// The output as a row-major `[batch, output]` buffer (for checking, not timed).
    fn to_vec(&self, y: Self::Output) -> Res<Vec<f32>>;
}

/// Runs `P` twice on one instance on `spec` at `batch`, and checks both outputs against the
/// model's reference (max abs error 1e-4) and the second output against the first (bit for bit).
pub fn check<P: Peer>(spec: &P::Model, batch: usize) -> Res<()> {
    let x = spec.batch(batch);
    let mut p = P::new(spec, batch)?;
    let xi = p.prepare(&x)?;
    let want = spec.reference(&x, batch);
    let name = spec.name();
    // Twice on the same instance, as the timed loop runs it. A peer that carried state from
    // one call to the next (tract's recurrent ops do by default, see [`stateless`]) would start
    // the second call from the first one's final state. The GRU model forgets its initial state
    // within its 16 steps (to about 1e-6 here), so only the exact comparison catches that.
    let mut first: Option<Vec<f32>> = None;
    for call in 1..=2 {
        let y = p.run(&xi);
        let got = p.to_vec(y)?;
        if got.len() != want.len() {
            return Err(format!("{} {name}: {} outputs, expected {}", P::NAME, got.len(), want.len()).into());
        }
        let err = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        if err > 1e-4 {
            return Err(format!("{} {name} batch {batch} call {call}: max abs error {err}", P::NAME).into());
        }
        match &first {
            None => first = Some(got),
            Some(f) if *f != got => {
                let d = got.iter().zip(f).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                return Err(format!(
                    "{} {name} batch {batch}: the second call differs from the first by {d}",
                    P::NAME
                )
                .into());
            }
            Some(_) => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// candle
// ---------------------------------------------------------------------------------------------

/// candle-core on `Device::Cpu`: `matmul` + `broadcast_add` + `relu` per layer.
pub struct Candle {
    layers: Vec<(candle_core::Tensor, candle_core::Tensor, bool)>,
    batch: usize,
    input: usize,
}

impl Peer for Candle {
    const NAME: &'static str = "candle";
    type Model = Spec;
    type Input = candle_core::Tensor;
    type Output = candle_core::Tensor;
    fn new(spec: &Spec, batch: usize) -> Res<Self> {
        use candle_core::{Device, Tensor};
        let layers = spec
            .layers
            .iter()
            .map(|l| {
                let w = Tensor::from_slice(&l.w, (l.input, l.output), &Device::Cpu)?;
                let b = Tensor::from_slice(&l.b, l.output, &Device::Cpu)?;
                Ok((w, b, l.relu))
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(Candle { layers, batch, input: spec.input() })
    }
    fn prepare(&self, x: &[f32]) -> Res<Self::Input> {
        Ok(candle_core::Tensor::from_slice(x, (self.batch, self.input), &candle_core::Device::Cpu)?)
    }
    #[inline(never)]
    fn run(&mut self, x: &Self::Input) -> Self::Output {
        let mut a = x.clone();
        for (w, b, relu) in &self.layers {
            a = a.matmul(w).unwrap().broadcast_add(b).unwrap();
            if *relu {
                a = a.relu().unwrap();
            }
        }
        a
    }
    fn to_vec(&self, y: Self::Output) -> Res<Vec<f32>> {
        Ok(y.flatten_all()?.to_vec1()?)
    }
}

// ---------------------------------------------------------------------------------------------
// tract
// ---------------------------------------------------------------------------------------------

/// tract-onnx: an ONNX `ModelProto` built in memory ([`onnx_proto`] for the MLPs, MatMul, Add
/// and Relu nodes; [`onnx_proto_cnn`] for the CNNs; [`onnx_proto_gru`] for the GRU model),
/// weights as initializers, input shape fixed to `[batch, ..]`, `into_typed()?`, recurrent ops
/// made stateless ([`stateless`]), `into_optimized()?.into_runnable()?`, and one `SimpleState`
/// spawned once and reused for every run.
pub struct TractOn<M> {
    state: tract_onnx::prelude::TypedSimpleState,
    /// The input's shape, batch first.
    shape: Vec<usize>,
    model: std::marker::PhantomData<M>,
}

/// tract on an MLP.
pub type Tract = TractOn<Spec>;
/// tract on a CNN.
pub type TractCnn = TractOn<Cnn>;
/// tract on the GRU model.
pub type TractGru = TractOn<Gru>;

/// A model that tract loads as ONNX.
pub trait ToOnnx: Model {
    /// The ONNX model with its input's batch size fixed to `batch`.
    fn onnx(&self, batch: usize) -> tract_onnx::pb::ModelProto;
    /// The input's shape, batch first.
    fn input_shape(&self, batch: usize) -> Vec<usize>;
}

impl ToOnnx for Spec {
    fn onnx(&self, batch: usize) -> tract_onnx::pb::ModelProto {
        onnx_proto(self, batch)
    }
    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, self.input()]
    }
}

impl ToOnnx for Cnn {
    fn onnx(&self, batch: usize) -> tract_onnx::pb::ModelProto {
        onnx_proto_cnn(self, batch)
    }
    fn input_shape(&self, batch: usize) -> Vec<usize> {
        [&[batch][..], &self.input].concat()
    }
}

impl ToOnnx for Gru {
    fn onnx(&self, batch: usize) -> tract_onnx::pb::ModelProto {
        onnx_proto_gru(self, batch)
    }
    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, self.steps, self.input]
    }
}

/// An ONNX graph input or output: `f32` of shape `dims`.
fn onnx_value_info(name: &str, dims: &[usize]) -> tract_onnx::pb::ValueInfoProto {
    use tract_onnx::pb::*;
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: tensor_proto::DataType::Float as i32,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| tensor_shape_proto::Dimension {
                            value: Some(tensor_shape_proto::dimension::Value::DimValue(d as i64)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An ONNX initializer (a constant): `f32` of shape `dims`.
fn onnx_initializer(name: String, dims: &[usize], data: &[f32]) -> tract_onnx::pb::TensorProto {
    use tract_onnx::pb::*;
    TensorProto {
        name,
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: tensor_proto::DataType::Float as i32,
        float_data: data.to_vec(),
        ..Default::default()
    }
}

/// An ONNX node without attributes, named after its one output.
fn onnx_node(op: &str, inputs: &[&str], output: &str) -> tract_onnx::pb::NodeProto {
    tract_onnx::pb::NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

/// An ONNX integer attribute.
fn onnx_int(name: &str, i: i64) -> tract_onnx::pb::AttributeProto {
    use tract_onnx::pb::*;
    AttributeProto {
        name: name.into(),
        r#type: attribute_proto::AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

/// An ONNX list-of-integers attribute.
fn onnx_ints(name: &str, v: &[usize]) -> tract_onnx::pb::AttributeProto {
    use tract_onnx::pb::*;
    AttributeProto {
        name: name.into(),
        r#type: attribute_proto::AttributeType::Ints as i32,
        ints: v.iter().map(|&i| i as i64).collect(),
        ..Default::default()
    }
}

/// `node` with the attributes `attrs`.
fn onnx_with(
    mut node: tract_onnx::pb::NodeProto,
    attrs: Vec<tract_onnx::pb::AttributeProto>,
) -> tract_onnx::pb::NodeProto {
    node.attribute = attrs;
    node
}

/// An ONNX model around `graph`: IR version 8, opset 17.
fn onnx_model(graph: tract_onnx::pb::GraphProto) -> tract_onnx::pb::ModelProto {
    use tract_onnx::pb::*;
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 17 }],
        producer_name: "nn-peers".into(),
        graph: Some(graph),
        ..Default::default()
    }
}

/// The ONNX model of `spec` with input shape `[batch, input]`.
pub fn onnx_proto(spec: &Spec, batch: usize) -> tract_onnx::pb::ModelProto {
    use tract_onnx::pb::*;
    let mut graph = GraphProto { name: spec.name.into(), ..Default::default() };
    let mut a = "x".to_string();
    for (k, l) in spec.layers.iter().enumerate() {
        let (w, b, mm, add) = (format!("w{k}"), format!("b{k}"), format!("mm{k}"), format!("add{k}"));
        graph.initializer.push(onnx_initializer(w.clone(), &[l.input, l.output], &l.w));
        graph.initializer.push(onnx_initializer(b.clone(), &[l.output], &l.b));
        graph.node.push(onnx_node("MatMul", &[&a, &w], &mm));
        graph.node.push(onnx_node("Add", &[&mm, &b], &add));
        a = add;
        if l.relu {
            let r = format!("relu{k}");
            graph.node.push(onnx_node("Relu", &[&a], &r));
            a = r;
        }
    }
    graph.node.push(onnx_node("Identity", &[&a], "y"));
    graph.input.push(onnx_value_info("x", &[batch, spec.input()]));
    graph.output.push(onnx_value_info("y", &[batch, spec.output()]));
    onnx_model(graph)
}

impl<M: ToOnnx> Peer for TractOn<M> {
    const NAME: &'static str = "tract";
    type Model = M;
    type Input = tract_onnx::prelude::TValue;
    type Output = tract_onnx::prelude::TVec<tract_onnx::prelude::TValue>;
    fn new(spec: &M, batch: usize) -> Res<Self> {
        use tract_onnx::prelude::*;
        let mut model = onnx().model_for_proto_model(&spec.onnx(batch))?.into_typed()?;
        stateless(&mut model);
        let plan = model.into_optimized()?.into_runnable()?;
        Ok(TractOn { state: plan.spawn()?, shape: spec.input_shape(batch), model: std::marker::PhantomData })
    }
    fn prepare(&self, x: &[f32]) -> Res<Self::Input> {
        use tract_onnx::prelude::*;
        Ok(Tensor::from_shape::<f32>(&self.shape, x)?.into_tvalue())
    }
    #[inline(never)]
    fn run(&mut self, x: &Self::Input) -> Self::Output {
        use tract_onnx::prelude::*;
        self.state.run(tvec!(x.clone())).unwrap()
    }
    fn to_vec(&self, y: Self::Output) -> Res<Vec<f32>> {
        Ok(y[0].to_plain_array_view::<f32>()?.iter().copied().collect())
    }
}

/// The ONNX model of `cnn` with input shape `[batch, ..cnn.input]`, channels last, as a Keras →
/// ONNX converter writes it: a Transpose to channels first, then Conv (kernel `(filters, c_in,
/// k..)`, explicit pads) + Relu, MaxPool, Conv + Relu, GlobalAveragePool, Flatten, MatMul +
/// Add, and Softmax if the model ends with one.
pub fn onnx_proto_cnn(cnn: &Cnn, batch: usize) -> tract_onnx::pb::ModelProto {
    use tract_onnx::pb::*;
    let (ints, int, with) = (onnx_ints, onnx_int, onnx_with);
    let r = cnn.input.len() - 1;
    let mut graph = GraphProto { name: cnn.name.into(), ..Default::default() };
    // [batch, spatial.., c] -> [batch, c, spatial..]
    let perm: Vec<usize> = [0, r + 1].into_iter().chain(1..=r).collect();
    graph.node.push(with(onnx_node("Transpose", &["x"], "xt"), vec![ints("perm", &perm)]));
    let (_, pads1) = cnn.conv1.geometry(cnn.spatial());
    let (_, pads2) = cnn.conv2.geometry(&cnn.pooled());
    let mut a = "xt".to_string();
    for (k, (conv, pads)) in [(&cnn.conv1, pads1), (&cnn.conv2, pads2)].into_iter().enumerate() {
        if k == 1 {
            let pool = vec![cnn.pool; r];
            let attrs = vec![ints("kernel_shape", &pool), ints("strides", &pool)];
            graph.node.push(with(onnx_node("MaxPool", &[&a], "pool"), attrs));
            a = "pool".into();
        }
        let (w, b, c, relu) = (format!("w{k}"), format!("b{k}"), format!("conv{k}"), format!("relu{k}"));
        graph.initializer.push(onnx_initializer(w.clone(), &conv.oik_dims(), &conv.w_oik()));
        graph.initializer.push(onnx_initializer(b.clone(), &[conv.filters], &conv.b));
        let onnx_pads: Vec<usize> = pads.iter().map(|p| p.0).chain(pads.iter().map(|p| p.1)).collect();
        let attrs = vec![
            ints("kernel_shape", &conv.kernel),
            ints("strides", &conv.strides),
            ints("pads", &onnx_pads),
        ];
        graph.node.push(with(onnx_node("Conv", &[&a, &w, &b], &c), attrs));
        graph.node.push(onnx_node("Relu", &[&c], &relu));
        a = relu;
    }
    graph.node.push(onnx_node("GlobalAveragePool", &[&a], "gap"));
    graph.node.push(with(onnx_node("Flatten", &["gap"], "flat"), vec![int("axis", 1)]));
    let d = &cnn.dense;
    graph.initializer.push(onnx_initializer("wd".into(), &[d.input, d.output], &d.w));
    graph.initializer.push(onnx_initializer("bd".into(), &[d.output], &d.b));
    graph.node.push(onnx_node("MatMul", &["flat", "wd"], "mmd"));
    graph.node.push(onnx_node("Add", &["mmd", "bd"], "dense"));
    a = "dense".into();
    if cnn.softmax {
        graph.node.push(with(onnx_node("Softmax", &[&a], "softmax"), vec![int("axis", 1)]));
        a = "softmax".into();
    }
    graph.node.push(onnx_node("Identity", &[&a], "y"));
    graph.input.push(onnx_value_info("x", &cnn.input_shape(batch)));
    graph.output.push(onnx_value_info("y", &[batch, cnn.output()]));
    onnx_model(graph)
}

/// Makes every recurrent op of a typed (not yet optimized) model start from its `initial_h`
/// (zeros when the ONNX node has none) on every call, which is the ONNX contract. tract's ONNX
/// importer builds GRU, LSTM and RNN with `reset_every_turn: false`: the hidden state then
/// lives in the `SimpleState` and seeds the next call, for streaming, so reusing one state for
/// independent inputs (as every peer here does) would start each call but the first from the
/// last call's final state. A GRU with `linear_before_reset` and at least 4 steps is imported
/// as the fused `GruSeq` op, otherwise as a `Scan`; both have the flag. The optimizer keeps it.
pub fn stateless(model: &mut tract_onnx::prelude::TypedModel) {
    use tract_onnx::tract_core::ops::{gru_seq::GruSeq, scan::Scan};
    for node in &mut model.nodes {
        if let Some(op) = node.op_as_mut::<GruSeq>() {
            op.reset_every_turn = true;
        } else if let Some(op) = node.op_as_mut::<Scan>() {
            op.reset_every_turn = true;
        }
    }
}

/// The ONNX model of `gru` with input shape `[batch, steps, input]`: one `GRU` node with
/// `linear_before_reset = 1` (Keras's `reset_after = true`) and `layout = 1` (batch first, as
/// Keras), W `[1, 3 · units, input]` and R `[1, 3 · units, units]` (Keras's kernels transposed,
/// gates z, r, h in both), B `[1, 6 · units]` (Keras's `[2, 3 · units]` bias as it is: input
/// biases, then recurrent biases), no `initial_h` (zeros), only the `Y_h` output
/// (`[batch, 1, units]` with `layout = 1`); then `Flatten` to `[batch, units]` and `MatMul` +
/// `Add` for the Dense layer.
pub fn onnx_proto_gru(gru: &Gru, batch: usize) -> tract_onnx::pb::ModelProto {
    use tract_onnx::pb::*;
    let (u, i) = (gru.units, gru.input);
    let mut graph = GraphProto { name: gru.name.into(), ..Default::default() };
    graph.initializer.push(onnx_initializer("W".into(), &[1, 3 * u, i], &gru.onnx_gates(&gru.kernel)));
    graph.initializer.push(onnx_initializer(
        "R".into(),
        &[1, 3 * u, u],
        &gru.onnx_gates(&gru.recurrent_kernel),
    ));
    graph.initializer.push(onnx_initializer("B".into(), &[1, 6 * u], &gru.bias));
    let mut node = onnx_node("GRU", &["x", "W", "R", "B"], "yh");
    // Outputs Y (the whole sequence, not wanted: empty name) and Y_h.
    node.output = vec![String::new(), "yh".into()];
    let attrs =
        vec![onnx_int("hidden_size", u as i64), onnx_int("linear_before_reset", 1), onnx_int("layout", 1)];
    graph.node.push(onnx_with(node, attrs));
    graph.node.push(onnx_with(onnx_node("Flatten", &["yh"], "h"), vec![onnx_int("axis", 1)]));
    let d = &gru.dense;
    graph.initializer.push(onnx_initializer("wd".into(), &[d.input, d.output], &d.w));
    graph.initializer.push(onnx_initializer("bd".into(), &[d.output], &d.b));
    graph.node.push(onnx_node("MatMul", &["h", "wd"], "mmd"));
    graph.node.push(onnx_node("Add", &["mmd", "bd"], "dense"));
    graph.node.push(onnx_node("Identity", &["dense"], "y"));
    graph.input.push(onnx_value_info("x", &gru.input_shape(batch)));
    graph.output.push(onnx_value_info("y", &[batch, d.output]));
    onnx_model(graph)
}

// ---------------------------------------------------------------------------------------------
// burn
// ---------------------------------------------------------------------------------------------

/// burn-tensor: `module::linear` (matmul + bias) + `activation::relu` per layer, on the
/// deprecated ndarray backend (`FLEX = false`, id `burn`; `Device::ndarray()` without its
/// `multi-threads` feature) or on the flex backend that burn 0.22 recommends instead
/// (`FLEX = true`, id `burn-flex`; `Device::flex()` without its `rayon` feature).
pub struct BurnOn<const FLEX: bool> {
    device: burn_tensor::Device,
    layers: Vec<(burn_tensor::Tensor<2>, burn_tensor::Tensor<1>, bool)>,
    batch: usize,
    input: usize,
}

/// burn on its ndarray backend.
pub type Burn = BurnOn<false>;
/// burn on its flex backend.
pub type BurnFlex = BurnOn<true>;

impl<const FLEX: bool> Peer for BurnOn<FLEX> {
    const NAME: &'static str = if FLEX { "burn-flex" } else { "burn" };
    type Model = Spec;
    type Input = burn_tensor::Tensor<2>;
    type Output = burn_tensor::Tensor<2>;
    fn new(spec: &Spec, batch: usize) -> Res<Self> {
        use burn_tensor::{Device, Tensor, TensorData};
        let device = if FLEX { Device::flex() } else { Device::ndarray() };
        let layers = spec
            .layers
            .iter()
            .map(|l| {
                let w = Tensor::<2>::from_data(TensorData::new(l.w.clone(), [l.input, l.output]), &device);
                let b = Tensor::<1>::from_data(TensorData::new(l.b.clone(), [l.output]), &device);
                (w, b, l.relu)
            })
            .collect();
        Ok(BurnOn { device, layers, batch, input: spec.input() })
    }
    fn prepare(&self, x: &[f32]) -> Res<Self::Input> {
        use burn_tensor::{Tensor, TensorData};
        Ok(Tensor::<2>::from_data(TensorData::new(x.to_vec(), [self.batch, self.input]), &self.device))
    }
    #[inline(never)]
    fn run(&mut self, x: &Self::Input) -> Self::Output {
        let mut a = x.clone();
        for (w, b, relu) in &self.layers {
            a = burn_tensor::module::linear(a, w.clone(), Some(b.clone()));
            if *relu {
                a = burn_tensor::activation::relu(a);
            }
        }
        a
    }
    fn to_vec(&self, y: Self::Output) -> Res<Vec<f32>> {
        Ok(y.into_data().to_vec::<f32>().map_err(|e| format!("{e:?}"))?)
    }
}

// ---------------------------------------------------------------------------------------------
// ndarray
// ---------------------------------------------------------------------------------------------

/// ndarray with its default (matrixmultiply, no threading) `dot`, per layer `x.dot(&w) + &b`
/// then relu in place. At batch 64 that is `Array2 · Array2` (matrixmultiply's sgemm). At batch
/// 1 it is the matrix-vector product `wᵀ.dot(&x)` with `wᵀ` stored `[output, input]`
/// contiguous, so each output is one contiguous (unrolled) dot product: sgemm with one row
/// repacks the whole weight matrix on every call, which measured about 2–3× slower here.
pub struct Ndarray {
    /// `[input, output]`, for batches.
    layers: Vec<(ndarray::Array2<f32>, ndarray::Array1<f32>, bool)>,
    /// `[output, input]`, for one vector.
    layers_t: Vec<(ndarray::Array2<f32>, ndarray::Array1<f32>, bool)>,
    batch: usize,
    input: usize,
}

impl Peer for Ndarray {
    const NAME: &'static str = "ndarray";
    type Model = Spec;
    type Input = ndarray::Array2<f32>;
    type Output = ndarray::Array2<f32>;
    fn new(spec: &Spec, batch: usize) -> Res<Self> {
        let mut layers = vec![];
        let mut layers_t = vec![];
        for l in &spec.layers {
            let w = ndarray::Array2::from_shape_vec((l.input, l.output), l.w.clone())?;
            let b = ndarray::Array1::from_vec(l.b.clone());
            layers_t.push((w.t().as_standard_layout().into_owned(), b.clone(), l.relu));
            layers.push((w, b, l.relu));
        }
        Ok(Ndarray { layers, layers_t, batch, input: spec.input() })
    }
    fn prepare(&self, x: &[f32]) -> Res<Self::Input> {
        Ok(ndarray::Array2::from_shape_vec((self.batch, self.input), x.to_vec())?)
    }
    #[inline(never)]
    fn run(&mut self, x: &Self::Input) -> Self::Output {
        fn relu<D: ndarray::Dimension>(a: &mut ndarray::Array<f32, D>, r: bool) {
            if r {
                a.mapv_inplace(|v| v.max(0.0));
            }
        }
        if self.batch == 1 {
            let (wt, b, r) = &self.layers_t[0];
            let mut a = wt.dot(&x.row(0)) + b;
            relu(&mut a, *r);
            for (wt, b, r) in &self.layers_t[1..] {
                a = wt.dot(&a) + b;
                relu(&mut a, *r);
            }
            a.insert_axis(ndarray::Axis(0))
        } else {
            let (w, b, r) = &self.layers[0];
            let mut a = x.dot(w) + b;
            relu(&mut a, *r);
            for (w, b, r) in &self.layers[1..] {
                a = a.dot(w) + b;
                relu(&mut a, *r);
            }
            a
        }
    }
    fn to_vec(&self, y: Self::Output) -> Res<Vec<f32>> {
        Ok(y.iter().copied().collect())
    }
}

// ---------------------------------------------------------------------------------------------
// candle, CNNs
// ---------------------------------------------------------------------------------------------

/// One convolution + relu in candle.
struct CandleConv {
    /// `(filters, c_in, k..)`.
    w: candle_core::Tensor,
    /// `(1, filters, 1..)`, to broadcast over the batch and the positions.
    b: candle_core::Tensor,
    strides: Vec<usize>,
    pads: Vec<(usize, usize)>,
}

impl CandleConv {
    fn new(conv: &Conv, input: &[usize]) -> Res<Self> {
        use candle_core::{Device, Tensor};
        let (_, pads) = conv.geometry(input);
        let w = Tensor::from_slice(&conv.w_oik(), conv.oik_dims(), &Device::Cpu)?;
        let b_dims = [&[1, conv.filters][..], &vec![1; input.len()]].concat();
        let b = Tensor::from_slice(&conv.b, b_dims, &Device::Cpu)?;
        if input.len() == 2 && conv.strides[0] != conv.strides[1] {
            // See `run`: one stride must be 1, and the phases must have one length.
            let axis = conv.strides.iter().position(|&s| s == 1).ok_or("candle: strides (s, t), s, t > 1")?;
            let s = conv.strides[1 - axis];
            let n = input[axis] + pads[axis].0 + pads[axis].1;
            if !(n - conv.kernel[axis] + 1).is_multiple_of(s) {
                return Err("candle: stride-1 axis does not split into equal phases".into());
            }
        }
        Ok(CandleConv { w, b, strides: conv.strides.clone(), pads })
    }

    /// `x` channels first, `(batch, c_in, spatial..)`.
    fn run(&self, x: &candle_core::Tensor) -> candle_core::Result<candle_core::Tensor> {
        // candle's convolutions take one padding for every side: other padding is explicit,
        // and so is any padding before the phases below.
        let phases = self.strides.len() == 2 && self.strides[0] != self.strides[1];
        let p0 = self.pads[0].0;
        let (x, pad) = if !phases && self.pads.iter().all(|&(a, b)| a == p0 && b == p0) {
            (x.clone(), p0)
        } else {
            let mut x = x.clone();
            for (d, &(a, b)) in self.pads.iter().enumerate() {
                if a + b > 0 {
                    x = x.pad_with_zeros(2 + d, a, b)?;
                }
            }
            (x, 0)
        };
        let y = if self.strides.len() == 1 {
            x.conv1d(&self.w, pad, self.strides[0], 1, 1)?
        } else if !phases {
            x.conv2d(&self.w, pad, self.strides[0], 1, 1)?
        } else {
            // candle's conv2d takes one stride for both axes. Strides (s, 1) run as s
            // convolutions with stride s on both axes, of the input shifted by 0..s columns,
            // whose outputs are the output's columns p, p + s, ..., interleaved back into place:
            // the same multiply-adds as one convolution with strides (s, 1).
            let axis = if self.strides[0] == 1 { 0 } else { 1 };
            let s = self.strides[1 - axis];
            let n = x.dim(2 + axis)?;
            let phases = (0..s)
                .map(|p| x.narrow(2 + axis, p, n - p)?.conv2d(&self.w, 0, s, 1, 1))
                .collect::<candle_core::Result<Vec<_>>>()?;
            candle_core::Tensor::stack(&phases, 3 + axis)?.flatten(2 + axis, 3 + axis)?
        };
        y.broadcast_add(&self.b)?.relu()
    }
}

/// candle-core on `Device::Cpu`, channels first as candle's convolutions want: a `permute` of
/// the channels-last input, `conv2d`/`conv1d` + `broadcast_add` + `relu`, `max_pool2d` (the 1-D
/// pooling as a 2-D one over `(steps, 1)`), `mean` over the positions, `matmul` +
/// `broadcast_add`, and softmax from `max_keepdim`, `exp`, `sum_keepdim` (candle-core has no
/// softmax op). Asymmetric "same" padding is an explicit `pad_with_zeros`; KWS's strides (2, 1)
/// run as two stride-2 convolutions (see the source).
pub struct CandleCnn {
    convs: [CandleConv; 2],
    pool: usize,
    dense: (candle_core::Tensor, candle_core::Tensor),
    softmax: bool,
    /// The input's shape, batch first.
    shape: Vec<usize>,
}

impl Peer for CandleCnn {
    const NAME: &'static str = "candle";
    type Model = Cnn;
    type Input = candle_core::Tensor;
    type Output = candle_core::Tensor;
    fn new(cnn: &Cnn, batch: usize) -> Res<Self> {
        use candle_core::{Device, Tensor};
        let convs =
            [CandleConv::new(&cnn.conv1, cnn.spatial())?, CandleConv::new(&cnn.conv2, &cnn.pooled())?];
        let d = &cnn.dense;
        let dense = (
            Tensor::from_slice(&d.w, (d.input, d.output), &Device::Cpu)?,
            Tensor::from_slice(&d.b, d.output, &Device::Cpu)?,
        );
        Ok(CandleCnn { convs, pool: cnn.pool, dense, softmax: cnn.softmax, shape: cnn.input_shape(batch) })
    }
    fn prepare(&self, x: &[f32]) -> Res<Self::Input> {
        Ok(candle_core::Tensor::from_slice(x, self.shape.as_slice(), &candle_core::Device::Cpu)?)
    }
    #[inline(never)]
    fn run(&mut self, x: &Self::Input) -> Self::Output {
        let go = || -> candle_core::Result<candle_core::Tensor> {
            let p = self.pool;
            let a = if self.shape.len() == 4 { x.permute((0, 3, 1, 2))? } else { x.permute((0, 2, 1))? };
            let a = self.convs[0].run(&a)?;
            let a = if self.shape.len() == 4 {
                a.max_pool2d(p)?
            } else {
                a.unsqueeze(3)?.max_pool2d((p, 1))?.squeeze(3)?
            };
            let a = self.convs[1].run(&a)?;
            let a = a.flatten_from(2)?.mean(2)?;
            let y = a.matmul(&self.dense.0)?.broadcast_add(&self.dense.1)?;
            if !self.softmax {
                return Ok(y);
            }
            let e = y.broadcast_sub(&y.max_keepdim(1)?)?.exp()?;
            e.broadcast_div(&e.sum_keepdim(1)?)
        };
        go().unwrap()
    }
    fn to_vec(&self, y: Self::Output) -> Res<Vec<f32>> {
        Ok(y.flatten_all()?.to_vec1()?)
    }
}

// ---------------------------------------------------------------------------------------------
// burn, CNNs
// ---------------------------------------------------------------------------------------------

/// A convolution's weights and options in burn: `(filters, c_in, k..)`, bias, options.
type BurnConv<const D: usize, const N: usize> =
    (burn_tensor::Tensor<D>, burn_tensor::Tensor<1>, burn_tensor::ops::ConvOptions<N>);

/// The two convolutions and the pooling of a burn CNN, 1-D or 2-D.
enum BurnConvs {
    D1(BurnConv<3, 1>, BurnConv<3, 1>, burn_tensor::ops::MaxPoolOptions<1>),
    D2(BurnConv<4, 2>, BurnConv<4, 2>, burn_tensor::ops::MaxPoolOptions<2>),
}

/// A burn CNN's input: `[batch, steps, c]` or `[batch, h, w, c]`.
pub enum BurnInput {
    D1(burn_tensor::Tensor<3>),
    D2(burn_tensor::Tensor<4>),
}

/// burn-tensor, channels first as burn's convolutions want: a `permute` of the channels-last
/// input, `module::conv1d`/`conv2d` (bias and asymmetric padding in `ConvOptions`) +
/// `activation::relu`, `module::max_pool1d`/`max_pool2d`, `mean_dims` over the positions,
/// `module::linear`, `activation::softmax`; on the ndarray (`FLEX = false`, id `burn`) or flex
/// (`FLEX = true`, id `burn-flex`) backend, as [`BurnOn`].
pub struct BurnCnnOn<const FLEX: bool> {
    device: burn_tensor::Device,
    convs: BurnConvs,
    dense: (burn_tensor::Tensor<2>, burn_tensor::Tensor<1>),
    softmax: bool,
    /// The input's shape, batch first.
    shape: Vec<usize>,
}

/// burn on its ndarray backend, CNNs.
pub type BurnCnn = BurnCnnOn<false>;
/// burn on its flex backend, CNNs.
pub type BurnFlexCnn = BurnCnnOn<true>;

impl<const FLEX: bool> Peer for BurnCnnOn<FLEX> {
    const NAME: &'static str = if FLEX { "burn-flex" } else { "burn" };
    type Model = Cnn;
    type Input = BurnInput;
    type Output = burn_tensor::Tensor<2>;
    fn new(cnn: &Cnn, batch: usize) -> Res<Self> {
        use burn_tensor::ops::{ConvOptions, MaxPoolOptions};
        use burn_tensor::{Device, Tensor, TensorData};
        let device = if FLEX { Device::flex() } else { Device::ndarray() };
        let bias = |c: &Conv| Tensor::<1>::from_data(TensorData::new(c.b.clone(), [c.filters]), &device);
        fn opts<const N: usize>(c: &Conv, input: &[usize]) -> ConvOptions<N> {
            let (_, pads) = c.geometry(input);
            ConvOptions::new_with_padding(
                c.strides.clone().try_into().unwrap(),
                pads.try_into().unwrap(),
                [1; N],
                1,
            )
        }
        let (c1, c2, pooled) = (&cnn.conv1, &cnn.conv2, cnn.pooled());
        let convs = if cnn.spatial().len() == 1 {
            let w = |c: &Conv| {
                let [o, i, k] = c.oik_dims().try_into().unwrap();
                Tensor::<3>::from_data(TensorData::new(c.w_oik(), [o, i, k]), &device)
            };
            BurnConvs::D1(
                (w(c1), bias(c1), opts(c1, cnn.spatial())),
                (w(c2), bias(c2), opts(c2, &pooled)),
                MaxPoolOptions::new([cnn.pool]),
            )
        } else {
            let w = |c: &Conv| {
                let [o, i, kh, kw] = c.oik_dims().try_into().unwrap();
                Tensor::<4>::from_data(TensorData::new(c.w_oik(), [o, i, kh, kw]), &device)
            };
            BurnConvs::D2(
                (w(c1), bias(c1), opts(c1, cnn.spatial())),
                (w(c2), bias(c2), opts(c2, &pooled)),
                MaxPoolOptions::new([cnn.pool; 2]),
            )
        };
        let d = &cnn.dense;
        let dense = (
            Tensor::<2>::from_data(TensorData::new(d.w.clone(), [d.input, d.output]), &device),
            Tensor::<1>::from_data(TensorData::new(d.b.clone(), [d.output]), &device),
        );
        Ok(BurnCnnOn { device, convs, dense, softmax: cnn.softmax, shape: cnn.input_shape(batch) })
    }
    fn prepare(&self, x: &[f32]) -> Res<Self::Input> {
        use burn_tensor::{Tensor, TensorData};
        Ok(match *self.shape.as_slice() {
            [n, l, c] => {
                BurnInput::D1(Tensor::<3>::from_data(TensorData::new(x.to_vec(), [n, l, c]), &self.device))
            }
            [n, h, w, c] => {
                BurnInput::D2(Tensor::<4>::from_data(TensorData::new(x.to_vec(), [n, h, w, c]), &self.device))
            }
            _ => return Err("burn: input of rank 3 or 4".into()),
        })
    }
    #[inline(never)]
    fn run(&mut self, x: &Self::Input) -> Self::Output {
        use burn_tensor::{activation::relu, module};
        let g = match (&self.convs, x) {
            (BurnConvs::D1((w1, b1, o1), (w2, b2, o2), pool), BurnInput::D1(x)) => {
                let a = x.clone().permute([0, 2, 1]);
                let a = relu(module::conv1d(a, w1.clone(), Some(b1.clone()), o1.clone()));
                let a = module::max_pool1d(a, pool.clone());
                let a = relu(module::conv1d(a, w2.clone(), Some(b2.clone()), o2.clone()));
                a.mean_dim(2).flatten::<2>(1, 2)
            }
            (BurnConvs::D2((w1, b1, o1), (w2, b2, o2), pool), BurnInput::D2(x)) => {
                let a = x.clone().permute([0, 3, 1, 2]);
                let a = relu(module::conv2d(a, w1.clone(), Some(b1.clone()), o1.clone()));
                let a = module::max_pool2d(a, pool.clone());
                let a = relu(module::conv2d(a, w2.clone(), Some(b2.clone()), o2.clone()));
                a.mean_dims(&[2, 3]).flatten::<2>(1, 3)
            }
            _ => panic!("burn: input rank does not match the model"),
        };
        let y = module::linear(g, self.dense.0.clone(), Some(self.dense.1.clone()));
        if self.softmax { burn_tensor::activation::softmax(y, 1) } else { y }
    }
    fn to_vec(&self, y: Self::Output) -> Res<Vec<f32>> {
        Ok(y.into_data().to_vec::<f32>().map_err(|e| format!("{e:?}"))?)
    }
}

// ---------------------------------------------------------------------------------------------
// The transformer encoder block
// ---------------------------------------------------------------------------------------------

/// The hand-written loops of `benches/hand/transformer.rs`: [`Transformer`]'s reference.
#[path = "../../benches/hand/transformer.rs"]
pub mod hand_transformer;

/// `benches/transformer.rs`'s block: Input (12, 16) → MultiHeadAttention(2 heads, key_dim 8)
/// self-attention → Add → LayerNormalization → Dense 32 relu → Dense 16 → Add →
/// LayerNormalization → GlobalAveragePooling1D → Dense 2 softmax. Weights in Keras's
/// `model.weights` order (`hand_transformer::TransformerHand::new` reads them), from one [`Lcg`]
/// seeded with 9; the LayerNormalization scales near 1.
pub struct Transformer {
    pub weights: Vec<f32>,
}

/// Where each weight of [`Transformer`] starts in `weights`, and its length.
struct TransformerParts;

impl TransformerParts {
    /// (name, shape) in Keras's order.
    const SHAPES: [(&'static str, &'static [usize]); 18] = [
        ("wq", &[16, 16]),
        ("bq", &[16]),
        ("wk", &[16, 16]),
        ("bk", &[16]),
        ("wv", &[16, 16]),
        ("bv", &[16]),
        ("wo", &[16, 16]),
        ("bo", &[16]),
        ("gamma1", &[16]),
        ("beta1", &[16]),
        ("w1", &[16, 32]),
        ("b1", &[32]),
        ("w2", &[32, 16]),
        ("b2", &[16]),
        ("gamma2", &[16]),
        ("beta2", &[16]),
        ("w3", &[16, 2]),
        ("b3", &[2]),
    ];
}

impl Transformer {
    pub fn block() -> Transformer {
        let mut rng = Lcg::new(9);
        let mut weights = Vec::new();
        for (name, shape) in TransformerParts::SHAPES {
            let n: usize = shape.iter().product();
            // Weights in ±0.25, normalization scales in 1 ± 0.1.
            let (scale, offset) = if name.starts_with("gamma") { (1.0, 1.0) } else { (2.5, 0.0) };
            weights.extend((0..n).map(|_| rng.next_weight() * scale + offset));
        }
        Transformer { weights }
    }
    /// Each weight by name, with its shape.
    fn parts(&self) -> Vec<(&'static str, &'static [usize], &[f32])> {
        let mut at = 0;
        TransformerParts::SHAPES
            .iter()
            .map(|&(name, shape)| {
                let n: usize = shape.iter().product();
                at += n;
                (name, shape, &self.weights[at - n..at])
            })
            .collect()
    }
}

impl Model for Transformer {
    fn name(&self) -> &'static str {
        "transformer"
    }
    /// Values in [-1, 1), row-major `[batch, 12, 16]`.
    fn batch(&self, batch: usize) -> Vec<f32> {
        let n = 12 * 16;
        (0..batch * n).map(|k| (((k % n + 3 * (k / n)) * 37) % 17) as f32 / 8.5 - 1.0).collect()
    }
    fn reference(&self, x: &[f32], batch: usize) -> Vec<f32> {
        let hand = hand_transformer::TransformerHand::new(&self.weights);
        assert_eq!(x.len(), batch * 192);
        x.chunks_exact(192)
            .flat_map(|s| hand.forward(&std::array::from_fn(|t| std::array::from_fn(|c| s[t * 16 + c]))))
            .collect()
    }
}

/// candle-core and candle-nn on `Device::Cpu`: `broadcast_matmul` + `broadcast_add` for every
/// projection, the heads as a `reshape` and `transpose`, `candle_nn::ops::softmax_last_dim`,
/// `candle_nn::ops::layer_norm`, `mean` over the steps.
pub struct CandleTransformer {
    w: std::collections::HashMap<&'static str, candle_core::Tensor>,
    batch: usize,
}

impl Peer for CandleTransformer {
    const NAME: &'static str = "candle";
    type Model = Transformer;
    type Input = candle_core::Tensor;
    type Output = candle_core::Tensor;
    fn new(spec: &Transformer, batch: usize) -> Res<Self> {
        let mut w = std::collections::HashMap::new();
        for (name, shape, data) in spec.parts() {
            w.insert(name, candle_core::Tensor::from_slice(data, shape, &candle_core::Device::Cpu)?);
        }
        Ok(CandleTransformer { w, batch })
    }
    fn prepare(&self, x: &[f32]) -> Res<Self::Input> {
        Ok(candle_core::Tensor::from_slice(x, (self.batch, 12, 16), &candle_core::Device::Cpu)?)
    }
    #[inline(never)]
    fn run(&mut self, x: &Self::Input) -> Self::Output {
        self.forward(x).unwrap()
    }
    fn to_vec(&self, y: Self::Output) -> Res<Vec<f32>> {
        Ok(y.flatten_all()?.to_vec1()?)
    }
}

impl CandleTransformer {
    fn forward(&self, x: &candle_core::Tensor) -> candle_core::Result<candle_core::Tensor> {
        let w = |n: &str| &self.w[n];
        let dense = |x: &candle_core::Tensor, k: &str, b: &str| x.broadcast_matmul(w(k))?.broadcast_add(w(b));
        let b = self.batch;
        let heads = |t: candle_core::Tensor| t.reshape((b, 12, 2, 8))?.transpose(1, 2)?.contiguous();
        let (q, k, v) =
            (heads(dense(x, "wq", "bq")?)?, heads(dense(x, "wk", "bk")?)?, heads(dense(x, "wv", "bv")?)?);
        let scores = (q.matmul(&k.t()?.contiguous()?)? * (1.0 / 8f64.sqrt()))?;
        let p = candle_nn::ops::softmax_last_dim(&scores)?;
        let joined = p.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((b, 12, 16))?;
        let attended = dense(&joined, "wo", "bo")?;
        let h = candle_nn::ops::layer_norm(&(x + attended)?, w("gamma1"), w("beta1"), 1e-3)?;
        let f = dense(&h, "w1", "b1")?.relu()?;
        let g = dense(&f, "w2", "b2")?;
        let o = candle_nn::ops::layer_norm(&(h + g)?, w("gamma2"), w("beta2"), 1e-3)?;
        let pooled = o.mean(1)?;
        candle_nn::ops::softmax_last_dim(&dense(&pooled, "w3", "b3")?)
    }
}

/// An ONNX `int64` initializer (a Reshape's shape).
fn onnx_int64s(name: &str, data: &[i64]) -> tract_onnx::pb::TensorProto {
    use tract_onnx::pb::*;
    TensorProto {
        name: name.into(),
        dims: vec![data.len() as i64],
        data_type: tensor_proto::DataType::Int64 as i32,
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

/// The ONNX model of the block with input `[batch, 12, 16]`, as a Keras → ONNX converter writes
/// it: MatMul + Add projections, Reshape and Transpose into heads, MatMul, Mul by the scale,
/// Softmax, MatMul, Transpose and Reshape back, LayerNormalization (opset 17), ReduceMean.
pub fn onnx_proto_transformer(t: &Transformer, batch: usize) -> tract_onnx::pb::ModelProto {
    use tract_onnx::pb::*;
    let mut graph = GraphProto { name: "transformer".into(), ..Default::default() };
    for (name, shape, data) in t.parts() {
        graph.initializer.push(onnx_initializer(name.into(), shape, data));
    }
    graph.initializer.push(onnx_int64s("heads_shape", &[batch as i64, 12, 2, 8]));
    graph.initializer.push(onnx_int64s("joined_shape", &[batch as i64, 12, 16]));
    graph.initializer.push(onnx_initializer("scale".into(), &[], &[1.0 / 8f32.sqrt()]));
    let n = &mut graph.node;
    let dense = |n: &mut Vec<NodeProto>, x: &str, k: &str, b: &str, out: &str| {
        n.push(onnx_node("MatMul", &[x, k], &format!("{out}_mm")));
        n.push(onnx_node("Add", &[&format!("{out}_mm"), b], out));
    };
    for (p, k, b) in [("q", "wq", "bq"), ("k", "wk", "bk"), ("v", "wv", "bv")] {
        dense(n, "x", k, b, p);
        n.push(onnx_node("Reshape", &[p, "heads_shape"], &format!("{p}_r")));
        let perm = if p == "k" { [0, 2, 3, 1] } else { [0, 2, 1, 3] };
        n.push(onnx_with(
            onnx_node("Transpose", &[&format!("{p}_r")], &format!("{p}_h")),
            vec![onnx_ints("perm", &perm)],
        ));
    }
    n.push(onnx_node("MatMul", &["q_h", "k_h"], "dots"));
    n.push(onnx_node("Mul", &["dots", "scale"], "scores"));
    n.push(onnx_with(onnx_node("Softmax", &["scores"], "p"), vec![onnx_int("axis", -1)]));
    n.push(onnx_node("MatMul", &["p", "v_h"], "att"));
    n.push(onnx_with(onnx_node("Transpose", &["att"], "att_t"), vec![onnx_ints("perm", &[0, 2, 1, 3])]));
    n.push(onnx_node("Reshape", &["att_t", "joined_shape"], "joined"));
    dense(n, "joined", "wo", "bo", "attended");
    n.push(onnx_node("Add", &["x", "attended"], "s"));
    let norm = |n: &mut Vec<NodeProto>, x: &str, g: &str, b: &str, out: &str| {
        let node = onnx_node("LayerNormalization", &[x, g, b], out);
        let eps = AttributeProto {
            name: "epsilon".into(),
            r#type: attribute_proto::AttributeType::Float as i32,
            f: 1e-3,
            ..Default::default()
        };
        n.push(onnx_with(node, vec![onnx_int("axis", -1), eps]));
    };
    norm(n, "s", "gamma1", "beta1", "h");
    dense(n, "h", "w1", "b1", "f_pre");
    n.push(onnx_node("Relu", &["f_pre"], "f"));
    dense(n, "f", "w2", "b2", "g");
    n.push(onnx_node("Add", &["h", "g"], "r"));
    norm(n, "r", "gamma2", "beta2", "o");
    n.push(onnx_with(
        onnx_node("ReduceMean", &["o"], "pooled"),
        vec![onnx_ints("axes", &[1]), onnx_int("keepdims", 0)],
    ));
    dense(n, "pooled", "w3", "b3", "logits");
    n.push(onnx_with(onnx_node("Softmax", &["logits"], "y"), vec![onnx_int("axis", -1)]));
    graph.input.push(onnx_value_info("x", &[batch, 12, 16]));
    graph.output.push(onnx_value_info("y", &[batch, 2]));
    onnx_model(graph)
}

impl ToOnnx for Transformer {
    fn onnx(&self, batch: usize) -> tract_onnx::pb::ModelProto {
        onnx_proto_transformer(self, batch)
    }
    fn input_shape(&self, batch: usize) -> Vec<usize> {
        vec![batch, 12, 16]
    }
}

/// tract on the transformer block.
pub type TractTransformer = TractOn<Transformer>;
