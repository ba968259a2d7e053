//! The training step of `benches/train.rs` in candle and burn: the digits MLP (Input 64 →
//! Dense 64 relu → Dense 10 softmax), sparse categorical cross-entropy over the class ids,
//! Adam(0.001), batch 32, as each framework's user writes it.
//!
//! - `candle`: candle-nn's `Linear` layers over `Var`s, `loss::cross_entropy` (log-softmax of
//!   the logits and NLL), `AdamW` with `weight_decay = 0` (Adam) and `backward_step`.
//! - `burn` / `burn-flex`: a `#[derive(Module)]` of two `burn::nn::Linear`, on
//!   `Device::ndarray().autodiff()` / `Device::flex().autodiff()`, `CrossEntropyLoss` (from
//!   logits), `loss.backward()`, `GradientsParams::from_grads` and the `Adam` of
//!   `AdamConfig::init()`.
//!
//! All start from the weights of [`hand::glorot`] (Keras's init for this model), take
//! `beta_1 = 0.9`, `beta_2 = 0.999`, `epsilon = 1e-7` (Keras's defaults) and read the loss back
//! as an `f32` every step, as nn's `train_on_batch` returns it. Their Adam adds `epsilon` to
//! `sqrt(v̂)` where Keras (and nn and the hand-written steps) add it to the uncorrected
//! `sqrt(v)` (at the first step the two differ by 4e-4 on weights whose gradient is a few 1e-6),
//! so [`check_train`] checks them against the hand-written step with `epsilon` where they
//! put it; the time of a step does not depend on it.

use crate::Res;
use crate::hand_train as hand;

/// Learning rate of every peer.
pub const LR: f64 = 0.001;

/// A framework's model and optimizer for one training run.
pub trait TrainPeer: Sized {
    /// The name used in benchmark ids.
    const NAME: &'static str;
    /// One batch, already in the framework's tensors.
    type Batch;
    /// The model from flat weights in Keras's order and layouts, and a fresh Adam.
    fn new(start: &[f32]) -> Res<Self>;
    /// Row-major `[n, 64]` pixels and class ids in the framework's tensors.
    fn prepare(&self, x: &[f32], y: &[u32]) -> Res<Self::Batch>;
    /// One training step: forward, loss, backward, update; returns the loss (the timed part).
    fn step(&mut self, batch: &Self::Batch) -> f32;
    /// The weights, flat, in Keras's order and layouts (for checking, not timed).
    fn weights(&self) -> Res<Vec<f32>>;
}

/// The largest difference that [`check_train`] accepts between a peer's weights and the
/// hand-written step's after one step and after ten.
pub const TOLERANCE: f32 = 1e-5;

/// Trains `P` and the hand-written plain-loop step ([`hand::HandArrays`], checked against nn in
/// `benches/train.rs`), with `epsilon` added to `sqrt(v̂)` as candle and burn add it
/// ([`hand::Adam::on_v_hat`]), from the same weights on the same batches, and checks the losses
/// and the weights after one step and after ten. Returns the largest weight difference.
pub fn check_train<P: TrainPeer>() -> Res<f32> {
    let start = hand::glorot(1);
    let data = hand::digits_batches();
    let mut worst = 0.0f32;
    for steps in [1, 10] {
        let mut p = P::new(&start)?;
        let mut reference = hand::HandArrays::from_flat(&start, hand::Adam::on_v_hat(LR as f32));
        for (call, (x, y)) in data.iter().cycle().take(steps).enumerate() {
            let b = p.prepare(x, y)?;
            let (got, want) = (p.step(&b), reference.step(x, y));
            if (got - want).abs() > TOLERANCE {
                return Err(format!("{}: loss {got} at step {}, expected {want}", P::NAME, call + 1).into());
            }
        }
        let (got, want) = (p.weights()?, reference.to_flat());
        if got.len() != want.len() {
            return Err(format!("{}: {} weights, expected {}", P::NAME, got.len(), want.len()).into());
        }
        let d = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        if d > TOLERANCE {
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
