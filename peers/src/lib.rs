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
        let layers = (0..n)
            .map(|l| {
                let (input, output) = (widths[l], widths[l + 1]);
                let w = (0..input * output).map(|_| rng.next_weight()).collect();
                let b = (0..output).map(|_| rng.next_weight()).collect();
                Layer { input, output, w, b, relu: l + 1 < n }
            })
            .collect();
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
    /// A prepared input (already in the framework's tensor type).
    type Input;
    /// The framework's output.
    type Output;
    /// Loads weights and compiles/optimizes the model for a fixed batch size.
    fn new(spec: &Spec, batch: usize) -> Res<Self>;
    /// Converts a row-major `[batch, input]` buffer into the framework's input.
    fn prepare(&self, x: &[f32]) -> Res<Self::Input>;
    /// One inference: the timed part.
    fn run(&mut self, x: &Self::Input) -> Self::Output;
    /// The output as a row-major `[batch, output]` buffer (for checking, not timed).
    fn to_vec(&self, y: Self::Output) -> Res<Vec<f32>>;
}

/// Runs `P` once on `spec` at `batch` and checks it against [`reference`].
pub fn check<P: Peer>(spec: &Spec, batch: usize) -> Res<()> {
    let x = spec.batch(batch);
    let mut p = P::new(spec, batch)?;
    let xi = p.prepare(&x)?;
    let y = p.run(&xi);
    let got = p.to_vec(y)?;
    let want = reference(spec, &x, batch);
    if got.len() != want.len() {
        return Err(
            format!("{} {}: {} outputs, expected {}", P::NAME, spec.name, got.len(), want.len()).into()
        );
    }
    let err = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    if err > 1e-4 {
        return Err(format!("{} {} batch {batch}: max abs error {err}", P::NAME, spec.name).into());
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

/// tract-onnx: an ONNX `ModelProto` built in memory (MatMul + Add + Relu nodes, weights as
/// initializers, input shape fixed to `[batch, input]`), `into_optimized()?.into_runnable()?`,
/// and one `SimpleState` spawned once and reused for every run.
pub struct Tract {
    state: tract_onnx::prelude::TypedSimpleState,
    batch: usize,
    input: usize,
}

/// The ONNX model of `spec` with input shape `[batch, input]`.
pub fn onnx_proto(spec: &Spec, batch: usize) -> tract_onnx::pb::ModelProto {
    use tract_onnx::pb::*;
    let value_info = |name: &str, dims: &[usize]| ValueInfoProto {
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
    };
    let initializer = |name: String, dims: &[usize], data: &[f32]| TensorProto {
        name,
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: tensor_proto::DataType::Float as i32,
        float_data: data.to_vec(),
        ..Default::default()
    };
    let node = |op: &str, inputs: &[&str], output: &str| NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    };
    let mut graph = GraphProto { name: spec.name.into(), ..Default::default() };
    let mut a = "x".to_string();
    for (k, l) in spec.layers.iter().enumerate() {
        let (w, b, mm, add) = (format!("w{k}"), format!("b{k}"), format!("mm{k}"), format!("add{k}"));
        graph.initializer.push(initializer(w.clone(), &[l.input, l.output], &l.w));
        graph.initializer.push(initializer(b.clone(), &[l.output], &l.b));
        graph.node.push(node("MatMul", &[&a, &w], &mm));
        graph.node.push(node("Add", &[&mm, &b], &add));
        a = add;
        if l.relu {
            let r = format!("relu{k}");
            graph.node.push(node("Relu", &[&a], &r));
            a = r;
        }
    }
    graph.node.push(node("Identity", &[&a], "y"));
    graph.input.push(value_info("x", &[batch, spec.input()]));
    graph.output.push(value_info("y", &[batch, spec.output()]));
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 17 }],
        producer_name: "nn-peers".into(),
        graph: Some(graph),
        ..Default::default()
    }
}

impl Peer for Tract {
    const NAME: &'static str = "tract";
    type Input = tract_onnx::prelude::TValue;
    type Output = tract_onnx::prelude::TVec<tract_onnx::prelude::TValue>;
    fn new(spec: &Spec, batch: usize) -> Res<Self> {
        use tract_onnx::prelude::*;
        let plan =
            onnx().model_for_proto_model(&onnx_proto(spec, batch))?.into_optimized()?.into_runnable()?;
        Ok(Tract { state: plan.spawn()?, batch, input: spec.input() })
    }
    fn prepare(&self, x: &[f32]) -> Res<Self::Input> {
        use tract_onnx::prelude::*;
        Ok(Tensor::from_shape::<f32>(&[self.batch, self.input], x)?.into_tvalue())
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
