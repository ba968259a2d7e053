//! The training steps of `benches/train.rs` in candle and burn, as each framework's user writes
//! them, batch 32, Adam(0.001), cross-entropy over class ids:
//!
//! - [`Digits`], the digits MLP (Input 64 → Dense 64 relu → Dense 10 softmax), group
//!   `train_digits/batch32`:
//!   - `candle`: candle-nn's `Linear` layers over `Var`s, `loss::cross_entropy` (log-softmax of
//!     the logits and NLL), `AdamW` with `weight_decay = 0` (Adam) and `backward_step`.
//!   - `burn` / `burn-flex`: a `#[derive(Module)]` of two `burn::nn::Linear`, on
//!     `Device::ndarray().autodiff()` / `Device::flex().autodiff()`, `CrossEntropyLoss` (from
//!     logits), `loss.backward()`, `GradientsParams::from_grads` and the `Adam` of
//!     `AdamConfig::init()`.
//! - [`Kws`], the KWS CNN of `benches/conv.rs` (Input (49, 10, 1) → Conv2D 16 (5, 3) strides
//!   (2, 1) relu → MaxPooling2D 2 → Conv2D 32 3×3 same relu → GlobalAveragePooling2D → Dense 12
//!   softmax), group `train_kws/batch32`, channels first as both frameworks' convolutions are
//!   (weights and inputs converted once, outside the step):
//!   - `candle`: candle-nn's `Conv2d` (twice for the strides (2, 1)), `relu`, max pooling as
//!     `reshape` and `max` (candle's `max_pool2d` backward is wrong, see [`CandleKwsTrain`]),
//!     `mean`, `Linear`, `loss::cross_entropy`, `AdamW` without decay.
//!   - `burn` / `burn-flex`: a `#[derive(Module)]` of `nn::conv::Conv2d` (strides `[2, 1]`;
//!     `PaddingConfig2d::Same`), `nn::pool::MaxPool2d`, `nn::pool::AdaptiveAvgPool2d` to 1×1,
//!     `nn::Linear`, then as for the MLP.
//!
//! All start from the weights of the task's hand-written step ([`Task::start`], Keras's
//! initializers), take `beta_1 = 0.9`, `beta_2 = 0.999`, `epsilon = 1e-7` (Keras's defaults)
//! and read the loss back as an `f32` every step, as nn's `train_on_batch` returns it. Their
//! Adam adds `epsilon` to `sqrt(v̂)` where Keras (and nn and the hand-written steps) add it to
//! the uncorrected `sqrt(v)` (at the first step the two differ by 4e-4 on weights whose
//! gradient is a few 1e-6), so [`check_train`] checks them against the hand-written step with
//! `epsilon` where they put it; the time of a step does not depend on it.

use crate::Res;
use crate::hand_train as hand;
use crate::hand_train_kws as kws;

/// Learning rate of every peer.
pub const LR: f64 = 0.001;

/// A model the peers train: its first weights, its batches and its hand-written step.
pub trait Task {
    /// The benchmark group, as in nn's `benches/train.rs`.
    const GROUP: &'static str;
    /// What the model is, for tables.
    const TITLE: &'static str;
    /// The largest difference that [`check_train`] accepts between a peer's weights (and
    /// losses) and the hand-written step's after one step and after ten.
    const TOLERANCE: f32;
    /// The hand-written plain-loop step (checked against nn in `benches/train.rs`).
    type Reference: Reference;
    /// The first weights, flat, in Keras's order and layouts.
    fn start() -> Vec<f32>;
    /// The batches every step takes in turn: row-major channels-last inputs and class ids.
    fn batches() -> Vec<(Vec<f32>, Vec<u32>)>;
    /// The reference from `start` with `adam`.
    fn reference(start: &[f32], adam: hand::Adam) -> Self::Reference;
}

/// A hand-written training step.
pub trait Reference {
    /// One step on a batch; returns its mean loss.
    fn step(&mut self, x: &[f32], y: &[u32]) -> f32;
    /// The weights, flat, in Keras's order and layouts.
    fn to_flat(&self) -> Vec<f32>;
}

/// The digits MLP on the digits train split ([`hand::digits_batches`]).
pub struct Digits;

impl Task for Digits {
    const GROUP: &'static str = "train_digits/batch32";
    const TITLE: &'static str = "digits MLP";
    const TOLERANCE: f32 = 1e-5;
    type Reference = hand::HandArrays;
    fn start() -> Vec<f32> {
        hand::glorot(1)
    }
    fn batches() -> Vec<(Vec<f32>, Vec<u32>)> {
        hand::digits_batches()
    }
    fn reference(start: &[f32], adam: hand::Adam) -> hand::HandArrays {
        hand::HandArrays::from_flat(start, adam)
    }
}

impl Reference for hand::HandArrays {
    fn step(&mut self, x: &[f32], y: &[u32]) -> f32 {
        hand::HandArrays::step(self, x, y)
    }
    fn to_flat(&self) -> Vec<f32> {
        hand::HandArrays::to_flat(self)
    }
}

/// The KWS CNN on [`kws::batches`] (synthetic).
pub struct Kws;

impl Task for Kws {
    const GROUP: &'static str = "train_kws/batch32";
    const TITLE: &'static str = "KWS CNN";
    /// As for the MLP, and as nn's KWS check in `benches/train.rs`: the peers' weights come
    /// within about 1e-7 of the reference's (a few units in the last place).
    const TOLERANCE: f32 = 1e-5;
    type Reference = kws::KwsHandArrays;
    fn start() -> Vec<f32> {
        kws::glorot(1)
    }
    fn batches() -> Vec<(Vec<f32>, Vec<u32>)> {
        kws::batches()
    }
    fn reference(start: &[f32], adam: hand::Adam) -> kws::KwsHandArrays {
        kws::KwsHandArrays::from_flat(start, adam)
    }
}

impl Reference for kws::KwsHandArrays {
    fn step(&mut self, x: &[f32], y: &[u32]) -> f32 {
        kws::KwsHandArrays::step(self, x, y)
    }
    fn to_flat(&self) -> Vec<f32> {
        kws::KwsHandArrays::to_flat(self)
    }
}

/// A framework's model and optimizer for one training run.
pub trait TrainPeer: Sized {
    /// The name used in benchmark ids.
    const NAME: &'static str;
    /// The model it trains.
    type Task: Task;
    /// One batch, already in the framework's tensors.
    type Batch;
    /// The model from flat weights in Keras's order and layouts, and a fresh Adam.
    fn new(start: &[f32]) -> Res<Self>;
    /// Row-major channels-last inputs and class ids in the framework's tensors.
    fn prepare(&self, x: &[f32], y: &[u32]) -> Res<Self::Batch>;
    /// One training step: forward, loss, backward, update; returns the loss (the timed part).
    fn step(&mut self, batch: &Self::Batch) -> f32;
    /// The weights, flat, in Keras's order and layouts (for checking, not timed).
    fn weights(&self) -> Res<Vec<f32>>;
}

/// Trains `P` and its task's hand-written plain-loop step ([`Task::Reference`], checked
/// against nn in `benches/train.rs`), with `epsilon` added to `sqrt(v̂)` as candle and burn add
/// it ([`hand::Adam::on_v_hat`]), from the same weights on the same batches, and checks the
/// losses and the weights after one step and after ten to [`Task::TOLERANCE`]. Returns the
/// largest weight difference.
pub fn check_train<P: TrainPeer>() -> Res<f32> {
    let start = P::Task::start();
    let data = P::Task::batches();
    let tolerance = P::Task::TOLERANCE;
    let mut worst = 0.0f32;
    for steps in [1, 10] {
        let mut p = P::new(&start)?;
        let mut reference = P::Task::reference(&start, hand::Adam::on_v_hat(LR as f32));
        for (call, (x, y)) in data.iter().cycle().take(steps).enumerate() {
            let b = p.prepare(x, y)?;
            let (got, want) = (p.step(&b), reference.step(x, y));
            if (got - want).abs() > tolerance {
                return Err(format!("{}: loss {got} at step {}, expected {want}", P::NAME, call + 1).into());
            }
        }
        let (got, want) = (p.weights()?, reference.to_flat());
        if got.len() != want.len() {
            return Err(format!("{}: {} weights, expected {}", P::NAME, got.len(), want.len()).into());
        }
        let d = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        if d > tolerance {
            return Err(format!("{}: weights after {steps} step(s) differ by {d}", P::NAME).into());
        }
        worst = worst.max(d);
    }
    Ok(worst)
}

/// `(in, out)` row-major (Keras) to `(out, in)` row-major (candle, PyTorch), or back.
fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols).flat_map(|c| (0..rows).map(move |r| w[r * cols + c])).collect()
}

/// The four tensors of flat Keras weights: kernel 1, bias 1, kernel 2, bias 2.
fn split(w: &[f32]) -> [&[f32]; 4] {
    let (w1, rest) = w.split_at(hand::IN * hand::HIDDEN);
    let (b1, rest) = rest.split_at(hand::HIDDEN);
    let (w2, b2) = rest.split_at(hand::HIDDEN * hand::OUT);
    [w1, b1, w2, b2]
}

// ---------------------------------------------------------------------------------------------
// candle
// ---------------------------------------------------------------------------------------------

/// candle-nn: two `Linear` layers over `Var`s, `cross_entropy`, `AdamW` without weight decay.
pub struct CandleTrain {
    l1: candle_nn::Linear,
    l2: candle_nn::Linear,
    vars: Vec<candle_core::Var>,
    opt: candle_nn::AdamW,
}

impl TrainPeer for CandleTrain {
    const NAME: &'static str = "candle";
    type Task = Digits;
    /// Pixels `[n, 64]` and class ids `[n]` (u32).
    type Batch = (candle_core::Tensor, candle_core::Tensor);
    fn new(start: &[f32]) -> Res<Self> {
        use candle_core::{Device, Tensor, Var};
        use candle_nn::{AdamW, Optimizer, ParamsAdamW};
        let [w1, b1, w2, b2] = split(start);
        let dev = Device::Cpu;
        let vars = vec![
            Var::from_tensor(&Tensor::from_vec(
                transpose(w1, hand::IN, hand::HIDDEN),
                (hand::HIDDEN, hand::IN),
                &dev,
            )?)?,
            Var::from_tensor(&Tensor::from_slice(b1, hand::HIDDEN, &dev)?)?,
            Var::from_tensor(&Tensor::from_vec(
                transpose(w2, hand::HIDDEN, hand::OUT),
                (hand::OUT, hand::HIDDEN),
                &dev,
            )?)?,
            Var::from_tensor(&Tensor::from_slice(b2, hand::OUT, &dev)?)?,
        ];
        let l1 = candle_nn::Linear::new(vars[0].as_tensor().clone(), Some(vars[1].as_tensor().clone()));
        let l2 = candle_nn::Linear::new(vars[2].as_tensor().clone(), Some(vars[3].as_tensor().clone()));
        let params = ParamsAdamW { lr: LR, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.0 };
        let opt = AdamW::new(vars.clone(), params)?;
        Ok(CandleTrain { l1, l2, vars, opt })
    }
    fn prepare(&self, x: &[f32], y: &[u32]) -> Res<Self::Batch> {
        use candle_core::{Device, Tensor};
        Ok((
            Tensor::from_slice(x, (y.len(), hand::IN), &Device::Cpu)?,
            Tensor::from_slice(y, y.len(), &Device::Cpu)?,
        ))
    }
    #[inline(never)]
    fn step(&mut self, (x, y): &Self::Batch) -> f32 {
        use candle_nn::{Module, Optimizer};
        let h = self.l1.forward(x).unwrap().relu().unwrap();
        let logits = self.l2.forward(&h).unwrap();
        let loss = candle_nn::loss::cross_entropy(&logits, y).unwrap();
        self.opt.backward_step(&loss).unwrap();
        loss.to_scalar::<f32>().unwrap()
    }
    fn weights(&self) -> Res<Vec<f32>> {
        let v = |i: usize| -> Res<Vec<f32>> { Ok(self.vars[i].as_tensor().flatten_all()?.to_vec1::<f32>()?) };
        Ok([
            transpose(&v(0)?, hand::HIDDEN, hand::IN),
            v(1)?,
            transpose(&v(2)?, hand::OUT, hand::HIDDEN),
            v(3)?,
        ]
        .concat())
    }
}

// ---------------------------------------------------------------------------------------------
// burn
// ---------------------------------------------------------------------------------------------

/// The MLP as a burn module.
#[derive(burn::module::Module, Debug)]
pub struct BurnMlp {
    l1: burn::nn::Linear,
    l2: burn::nn::Linear,
}

impl BurnMlp {
    fn forward(&self, x: burn::tensor::Tensor<2>) -> burn::tensor::Tensor<2> {
        self.l2.forward(burn::tensor::activation::relu(self.l1.forward(x)))
    }
}

/// burn: [`BurnMlp`] on an autodiff device, `CrossEntropyLoss`, `loss.backward()`, Adam; on
/// the ndarray backend (`FLEX = false`, id `burn`) or the flex backend (`FLEX = true`, id
/// `burn-flex`), as the inference peers.
pub struct BurnTrainOn<const FLEX: bool> {
    device: burn::tensor::Device,
    /// `None` only inside `step`, which moves the model through the optimizer.
    model: Option<BurnMlp>,
    optim: burn::optim::ModuleOptimizer,
    loss: burn::nn::loss::CrossEntropyLoss,
}

/// burn on `Device::ndarray().autodiff()`.
pub type BurnTrain = BurnTrainOn<false>;
/// burn on `Device::flex().autodiff()`.
pub type BurnFlexTrain = BurnTrainOn<true>;

impl<const FLEX: bool> TrainPeer for BurnTrainOn<FLEX> {
    const NAME: &'static str = if FLEX { "burn-flex" } else { "burn" };
    type Task = Digits;
    /// Pixels `[n, 64]` and class ids `[n]`.
    type Batch = (burn::tensor::Tensor<2>, burn::tensor::Tensor<1, burn::tensor::Int>);
    fn new(start: &[f32]) -> Res<Self> {
        use burn::module::Param;
        use burn::nn::Linear;
        use burn::optim::AdamConfig;
        use burn::tensor::{Device, Tensor, TensorData};
        let device = if FLEX { Device::flex() } else { Device::ndarray() }.autodiff();
        let [w1, b1, w2, b2] = split(start);
        let linear = |w: &[f32], b: &[f32], input: usize, output: usize| Linear {
            weight: Param::from_tensor(Tensor::<2>::from_data(
                TensorData::new(w.to_vec(), [input, output]),
                &device,
            )),
            bias: Some(Param::from_tensor(Tensor::<1>::from_data(
                TensorData::new(b.to_vec(), [output]),
                &device,
            ))),
        };
        let model = BurnMlp {
            l1: linear(w1, b1, hand::IN, hand::HIDDEN),
            l2: linear(w2, b2, hand::HIDDEN, hand::OUT),
        };
        let optim = AdamConfig::new().with_beta_1(0.9).with_beta_2(0.999).with_epsilon(1e-7).init();
        let loss = burn::nn::loss::CrossEntropyLossConfig::new().init(&device);
        Ok(BurnTrainOn { device, model: Some(model), optim, loss })
    }
    fn prepare(&self, x: &[f32], y: &[u32]) -> Res<Self::Batch> {
        use burn::tensor::{Int, Tensor, TensorData};
        let ids: Vec<i64> = y.iter().map(|&c| i64::from(c)).collect();
        Ok((
            Tensor::<2>::from_data(TensorData::new(x.to_vec(), [y.len(), hand::IN]), &self.device),
            Tensor::<1, Int>::from_data(TensorData::new(ids, [y.len()]), &self.device),
        ))
    }
    #[inline(never)]
    fn step(&mut self, (x, y): &Self::Batch) -> f32 {
        use burn::optim::GradientsParams;
        let model = self.model.take().expect("a model between steps");
        let loss = self.loss.forward(model.forward(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optim.step(LR, model, grads));
        loss.into_scalar::<f32>()
    }
    fn weights(&self) -> Res<Vec<f32>> {
        let model = self.model.as_ref().ok_or("no model")?;
        let mut out = Vec::new();
        for l in [&model.l1, &model.l2] {
            out.extend(l.weight.val().into_data().to_vec::<f32>().map_err(|e| format!("{e:?}"))?);
            let b = l.bias.as_ref().ok_or("no bias")?;
            out.extend(b.val().into_data().to_vec::<f32>().map_err(|e| format!("{e:?}"))?);
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// KWS: layouts
// ---------------------------------------------------------------------------------------------

/// The shapes of the KWS weights in Keras's order and layouts: conv kernels
/// `(kh, kw, c_in, filters)`, biases, the dense kernel `(in, out)`.
const KWS_SHAPES: [&[usize]; 6] = [&[5, 3, 1, 16], &[16], &[3, 3, 16, 32], &[32], &[32, 12], &[12]];
/// A KWS input, `(h, w, c)` channels last as Keras has it.
const KWS_INPUT: [usize; 3] = [49, 10, 1];

/// The six tensors of flat Keras KWS weights.
fn split_kws(w: &[f32]) -> [&[f32]; 6] {
    let mut rest = w;
    KWS_SHAPES.map(|shape| {
        let (head, tail) = rest.split_at(shape.iter().product());
        rest = tail;
        head
    })
}

/// A conv kernel `(kh, kw, c_in, c_out)` row-major (Keras) to `(c_out, c_in, kh, kw)`
/// (candle, burn, PyTorch).
fn kernel_to_oihw(w: &[f32], [kh, kw, ci, co]: [usize; 4]) -> Vec<f32> {
    let mut out = vec![0.0; w.len()];
    for (i, v) in w.iter().enumerate() {
        let (y, x, c, o) = (i / (kw * ci * co), i / (ci * co) % kw, i / co % ci, i % co);
        out[((o * ci + c) * kh + y) * kw + x] = *v;
    }
    out
}

/// `(c_out, c_in, kh, kw)` back to Keras's `(kh, kw, c_in, c_out)`.
fn kernel_to_hwio(w: &[f32], [kh, kw, ci, co]: [usize; 4]) -> Vec<f32> {
    let mut out = vec![0.0; w.len()];
    for (i, v) in w.iter().enumerate() {
        let (o, c, y, x) = (i / (ci * kh * kw), i / (kh * kw) % ci, i / kw % kh, i % kw);
        out[((y * kw + x) * ci + c) * co + o] = *v;
    }
    out
}

/// `n` channels-last maps `(h, w, c)` to channels first `(c, h, w)`.
fn nhwc_to_nchw(x: &[f32], [h, w, c]: [usize; 3]) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    for (x, out) in x.chunks_exact(h * w * c).zip(out.chunks_exact_mut(h * w * c)) {
        for (i, v) in x.iter().enumerate() {
            out[i % c * h * w + i / c] = *v;
        }
    }
    out
}

/// The shape of KWS kernel `k` (0 or 2 in [`KWS_SHAPES`]) as four dimensions.
fn kernel_dims(k: usize) -> [usize; 4] {
    KWS_SHAPES[k].try_into().expect("a conv kernel has four dimensions")
}

// ---------------------------------------------------------------------------------------------
// KWS: candle
// ---------------------------------------------------------------------------------------------

/// candle-nn: the KWS CNN channels first, over `Var`s: `Conv2d` (stride 2), `relu`, max
/// pooling (`reshape` and `max`), `Conv2d` (padding 1), `relu`, `mean` over the positions,
/// `Linear`, `cross_entropy`, `AdamW` without weight decay.
///
/// Workarounds, each computing the same numbers as the layer it stands for:
///
/// - candle's `conv2d` takes one stride for both axes, so strides (2, 1) run as the one
///   stride-2 `Conv2d` applied to the input without its last column and to the input without
///   its first column, whose outputs (the even and the odd columns) are interleaved with
///   `stack` (as the inference peer does): the same multiply-adds as one convolution. Each
///   phase reads only the 9 columns its windows cover because candle's `conv2d` backward
///   sizes the input's gradient from the output's (a `conv_transpose2d` with the output
///   padding of the height only): over all 10 columns, a phase's input gradient has 9 and
///   adding it fails. (candle computes that gradient although the input is no `Var`.)
/// - candle's `max_pool2d` has a wrong backward pass in 0.11.1: it scales each window's
///   gradient by (ties in the window) / (window size), a quarter here where the whole of it
///   belongs to the maximum, and it maps the gradient back with `upsample_nearest2d` to the
///   input's size, which for the 23 rows pooled into 11 sends row `r`'s gradient to window
///   `r · 11 / 23` instead of `r / 2`. Adam is blind to the first (a tensor's gradient scaled
///   by a constant gives nearly the same update) but not entirely: the weights drift 1e-5 from
///   the reference's in one step, 1e-4 in ten. So the pooling is written as its user would
///   write it after finding that out: the 22 rows the windows read (`narrow`), reshaped into
///   2×2 blocks, and `max` over each block's two axes, whose backward pass gives the
///   gradient to the maximum (to every tied one; ties only happen among relu's zeros, where
///   relu's gradient is zero).
pub struct CandleKwsTrain {
    conv1: candle_nn::Conv2d,
    conv2: candle_nn::Conv2d,
    dense: candle_nn::Linear,
    vars: Vec<candle_core::Var>,
    opt: candle_nn::AdamW,
}

impl TrainPeer for CandleKwsTrain {
    const NAME: &'static str = "candle";
    type Task = Kws;
    /// Inputs `[n, 1, 49, 10]` (channels first) and class ids `[n]` (u32).
    type Batch = (candle_core::Tensor, candle_core::Tensor);
    fn new(start: &[f32]) -> Res<Self> {
        use candle_core::{Device, Tensor, Var};
        use candle_nn::{AdamW, Conv2dConfig, Optimizer, ParamsAdamW};
        let [k1, b1, k2, b2, wd, bd] = split_kws(start);
        let dev = Device::Cpu;
        let kernel = |w: &[f32], k: usize| -> Res<Var> {
            let [kh, kw, ci, co] = kernel_dims(k);
            Ok(Var::from_tensor(&Tensor::from_vec(
                kernel_to_oihw(w, kernel_dims(k)),
                (co, ci, kh, kw),
                &dev,
            )?)?)
        };
        let vector =
            |b: &[f32]| -> Res<Var> { Ok(Var::from_tensor(&Tensor::from_slice(b, b.len(), &dev)?)?) };
        let vars = vec![
            kernel(k1, 0)?,
            vector(b1)?,
            kernel(k2, 2)?,
            vector(b2)?,
            Var::from_tensor(&Tensor::from_vec(transpose(wd, 32, 12), (12, 32), &dev)?)?,
            vector(bd)?,
        ];
        let t = |i: usize| vars[i].as_tensor().clone();
        let conv1 =
            candle_nn::Conv2d::new(t(0), Some(t(1)), Conv2dConfig { stride: 2, ..Default::default() });
        let conv2 =
            candle_nn::Conv2d::new(t(2), Some(t(3)), Conv2dConfig { padding: 1, ..Default::default() });
        let dense = candle_nn::Linear::new(t(4), Some(t(5)));
        let params = ParamsAdamW { lr: LR, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.0 };
        let opt = AdamW::new(vars.clone(), params)?;
        Ok(CandleKwsTrain { conv1, conv2, dense, vars, opt })
    }
    fn prepare(&self, x: &[f32], y: &[u32]) -> Res<Self::Batch> {
        use candle_core::{Device, Tensor};
        let [h, w, c] = KWS_INPUT;
        Ok((
            Tensor::from_vec(nhwc_to_nchw(x, KWS_INPUT), (y.len(), c, h, w), &Device::Cpu)?,
            Tensor::from_slice(y, y.len(), &Device::Cpu)?,
        ))
    }
    #[inline(never)]
    fn step(&mut self, (x, y): &Self::Batch) -> f32 {
        use candle_nn::{Module, Optimizer};
        let go = || -> candle_core::Result<candle_core::Tensor> {
            // Strides (2, 1): the even and the odd output columns, interleaved; each phase
            // reads the 9 columns its windows cover (see the type's doc).
            let cols = x.dim(3)? - 1;
            let even = self.conv1.forward(&x.narrow(3, 0, cols)?)?;
            let odd = self.conv1.forward(&x.narrow(3, 1, cols)?)?;
            let a = candle_core::Tensor::stack(&[even, odd], 4)?.flatten(3, 4)?.relu()?;
            // MaxPooling2D 2 as the maximum over each 2×2 block of the 22 rows it reads (see
            // the type's doc).
            let (n, c, h, w) = a.dims4()?;
            let a = a.narrow(2, 0, h / 2 * 2)?.reshape((n, c, h / 2, 2, w / 2, 2))?.max(5)?.max(3)?;
            let a = self.conv2.forward(&a)?.relu()?;
            let logits = self.dense.forward(&a.flatten_from(2)?.mean(2)?)?;
            candle_nn::loss::cross_entropy(&logits, y)
        };
        let loss = go().unwrap();
        self.opt.backward_step(&loss).unwrap();
        loss.to_scalar::<f32>().unwrap()
    }
    fn weights(&self) -> Res<Vec<f32>> {
        let v = |i: usize| -> Res<Vec<f32>> { Ok(self.vars[i].as_tensor().flatten_all()?.to_vec1::<f32>()?) };
        Ok([
            kernel_to_hwio(&v(0)?, kernel_dims(0)),
            v(1)?,
            kernel_to_hwio(&v(2)?, kernel_dims(2)),
            v(3)?,
            transpose(&v(4)?, 12, 32),
            v(5)?,
        ]
        .concat())
    }
}

// ---------------------------------------------------------------------------------------------
// KWS: burn
// ---------------------------------------------------------------------------------------------

/// The KWS CNN as a burn module, channels first.
#[derive(burn::module::Module, Debug)]
pub struct BurnKws {
    conv1: burn::nn::conv::Conv2d,
    pool: burn::nn::pool::MaxPool2d,
    conv2: burn::nn::conv::Conv2d,
    gap: burn::nn::pool::AdaptiveAvgPool2d,
    dense: burn::nn::Linear,
}

impl BurnKws {
    /// `[n, 1, 49, 10]` to the logits `[n, 12]`.
    fn forward(&self, x: burn::tensor::Tensor<4>) -> burn::tensor::Tensor<2> {
        use burn::tensor::activation::relu;
        let a = self.pool.forward(relu(self.conv1.forward(x)));
        let a = relu(self.conv2.forward(a));
        self.dense.forward(self.gap.forward(a).flatten::<2>(1, 3))
    }
}

/// burn: [`BurnKws`] on an autodiff device, `CrossEntropyLoss`, `loss.backward()`, Adam; on
/// the ndarray backend (`FLEX = false`, id `burn`) or the flex backend (`FLEX = true`, id
/// `burn-flex`), as [`BurnTrainOn`].
pub struct BurnKwsTrainOn<const FLEX: bool> {
    device: burn::tensor::Device,
    /// `None` only inside `step`, which moves the model through the optimizer.
    model: Option<BurnKws>,
    optim: burn::optim::ModuleOptimizer,
    loss: burn::nn::loss::CrossEntropyLoss,
}

/// burn on `Device::ndarray().autodiff()`, KWS.
pub type BurnKwsTrain = BurnKwsTrainOn<false>;
/// burn on `Device::flex().autodiff()`, KWS.
pub type BurnFlexKwsTrain = BurnKwsTrainOn<true>;

impl<const FLEX: bool> TrainPeer for BurnKwsTrainOn<FLEX> {
    const NAME: &'static str = if FLEX { "burn-flex" } else { "burn" };
    type Task = Kws;
    /// Inputs `[n, 1, 49, 10]` (channels first) and class ids `[n]`.
    type Batch = (burn::tensor::Tensor<4>, burn::tensor::Tensor<1, burn::tensor::Int>);
    fn new(start: &[f32]) -> Res<Self> {
        use burn::module::Param;
        use burn::nn::conv::Conv2d;
        use burn::nn::pool::{AdaptiveAvgPool2dConfig, MaxPool2dConfig};
        use burn::nn::{Linear, PaddingConfig2d};
        use burn::optim::AdamConfig;
        use burn::tensor::{Device, Tensor, TensorData};
        let device = if FLEX { Device::flex() } else { Device::ndarray() }.autodiff();
        let [k1, b1, k2, b2, wd, bd] = split_kws(start);
        let vector = |b: &[f32]| {
            Param::from_tensor(Tensor::<1>::from_data(TensorData::new(b.to_vec(), [b.len()]), &device))
        };
        let conv = |w: &[f32], b: &[f32], k: usize, stride: [usize; 2], padding: PaddingConfig2d| {
            let [kh, kw, ci, co] = kernel_dims(k);
            Conv2d {
                weight: Param::from_tensor(Tensor::<4>::from_data(
                    TensorData::new(kernel_to_oihw(w, kernel_dims(k)), [co, ci, kh, kw]),
                    &device,
                )),
                bias: Some(vector(b)),
                stride,
                kernel_size: [kh, kw],
                dilation: [1, 1],
                groups: 1,
                padding,
            }
        };
        let model = BurnKws {
            conv1: conv(k1, b1, 0, [2, 1], PaddingConfig2d::Valid),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            conv2: conv(k2, b2, 2, [1, 1], PaddingConfig2d::Same),
            gap: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            dense: Linear {
                weight: Param::from_tensor(Tensor::<2>::from_data(
                    TensorData::new(wd.to_vec(), [32, 12]),
                    &device,
                )),
                bias: Some(vector(bd)),
            },
        };
        let optim = AdamConfig::new().with_beta_1(0.9).with_beta_2(0.999).with_epsilon(1e-7).init();
        let loss = burn::nn::loss::CrossEntropyLossConfig::new().init(&device);
        Ok(BurnKwsTrainOn { device, model: Some(model), optim, loss })
    }
    fn prepare(&self, x: &[f32], y: &[u32]) -> Res<Self::Batch> {
        use burn::tensor::{Int, Tensor, TensorData};
        let [h, w, c] = KWS_INPUT;
        let ids: Vec<i64> = y.iter().map(|&c| i64::from(c)).collect();
        Ok((
            Tensor::<4>::from_data(
                TensorData::new(nhwc_to_nchw(x, KWS_INPUT), [y.len(), c, h, w]),
                &self.device,
            ),
            Tensor::<1, Int>::from_data(TensorData::new(ids, [y.len()]), &self.device),
        ))
    }
    #[inline(never)]
    fn step(&mut self, (x, y): &Self::Batch) -> f32 {
        use burn::optim::GradientsParams;
        let model = self.model.take().expect("a model between steps");
        let loss = self.loss.forward(model.forward(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optim.step(LR, model, grads));
        loss.into_scalar::<f32>()
    }
    fn weights(&self) -> Res<Vec<f32>> {
        let model = self.model.as_ref().ok_or("no model")?;
        let data = |t: burn::tensor::Tensor<1>| t.into_data().to_vec::<f32>().map_err(|e| format!("{e:?}"));
        let bias = |b: &Option<burn::module::Param<burn::tensor::Tensor<1>>>| -> Res<Vec<f32>> {
            Ok(data(b.as_ref().ok_or("no bias")?.val())?)
        };
        let kernel = |c: &burn::nn::conv::Conv2d, k: usize| -> Res<Vec<f32>> {
            Ok(kernel_to_hwio(&data(c.weight.val().flatten::<1>(0, 3))?, kernel_dims(k)))
        };
        Ok([
            kernel(&model.conv1, 0)?,
            bias(&model.conv1.bias)?,
            kernel(&model.conv2, 2)?,
            bias(&model.conv2.bias)?,
            data(model.dense.weight.val().flatten::<1>(0, 1))?,
            bias(&model.dense.bias)?,
        ]
        .concat())
    }
}
