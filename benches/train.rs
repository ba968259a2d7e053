//! The training step: `train_on_batch` at batch 32 on the digits MLP of
//! `examples/digits_train.rs` (Input 64 → Dense 64 relu → Dense 10 softmax, `Adam(0.001)`,
//! sparse categorical cross-entropy), beside the same step written by hand
//! (`hand/train.rs`: nalgebra `DMatrix` and plain loops), in the same run; candle and burn are
//! timed by `peers/` (`benches/train.rs` there) in the same `scripts/bench.py` run.
//! Run with `cargo bench --bench train`.
//!
//! Ids (`train_digits/batch32/<name>/32`, throughput 32 samples):
//!
//! - `nn`: `train_on_batch_flat` with the class ids as floats, `SparseCategoricalCrossentropy`
//!   (what `examples/digits_train.rs` trains with, through `fit_flat`);
//! - `nn_onehot`: typed `train_on_batch` (`SVector<f32, 64>` in, one-hot `SVector<f32, 10>`
//!   targets), `CategoricalCrossentropy`;
//! - `hand_nalgebra`, `hand_arrays`: `hand/train.rs`.
//!
//! Every step reads the next batch of the digits train split (44 batches of 32). Each
//! implementation runs from the same first weights ([`hand::glorot`]) in runs of at most
//! [`hand::RUN`] steps (30 epochs) before it starts again from them; the model, optimizer and
//! first step of a run are not timed ([`hand::timed_runs`]). Before anything is timed, one step
//! (and ten) of each from the same start must give the same weights to 1e-5.
//!
//! And the same for the KWS CNN of `benches/conv.rs` (Input (49, 10, 1) → Conv2D 16 (5, 3)
//! strides (2, 1) relu → MaxPooling2D 2 → Conv2D 32 3×3 same relu → GlobalAveragePooling2D →
//! Dense 12 softmax), `Adam(0.001)`, sparse categorical cross-entropy over 12 class ids, on
//! synthetic data ([`hand_kws::batches`]: 44 batches of 32 inputs uniform in [-1, 1) and
//! random labels), ids `train_kws/batch32/<name>/32`: `nn` (`train_on_batch_flat`, ids as
//! floats), `hand_nalgebra` and `hand_arrays` (`hand/train_kws.rs`: im2col products over
//! nalgebra, direct loops over slices). Timed and checked in the same way, from
//! [`hand_kws::glorot`]'s weights, to 1e-5 ([`KWS_TOLERANCE`]).
//!
//! Each model's `Trainer::memory(32)` is printed twice: as `Display` shows it, and as a
//! `nn-train-memory key=value...` line for `scripts/bench.py` (the KWS line with `model=kws`).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nn::prelude::*;
use nn::train::Compile;
use nn::train::loss::{CategoricalCrossentropy, SparseCategoricalCrossentropy};
use nn::train::optimizer::Adam;
use std::hint::black_box;
use std::time::Instant;

// `hand/train.rs` reaches nalgebra as `crate::nalgebra`.
use nn::nalgebra;

#[path = "hand/train.rs"]
#[allow(dead_code)]
mod hand;

#[path = "hand/train_kws.rs"]
#[allow(dead_code)]
mod hand_kws;

// `hand/train_kws.rs` reaches `hand/train.rs` as `crate::hand_train`, as in `peers/`.
use hand as hand_train;

/// The time of `$iters` steps of one implementation, as every one is timed: runs of at most
/// [`hand::RUN`] steps, each starting from `$setup` (whose bindings `$step` uses) with an untimed
/// step on the first batch, then a step on each next batch, `$b`, in turn.
macro_rules! time_steps {
    ($iters:expr, $data:expr, { $($setup:tt)* }, |$b:ident| $step:expr) => {
        hand::timed_runs($iters, |k| {
            $($setup)*
            let $b = &$data[0];
            black_box($step);
            let t0 = Instant::now();
            for i in 1..=k as usize {
                let $b = black_box(&$data[i % $data.len()]);
                black_box($step);
            }
            t0.elapsed()
        })
    };
}

sequential! {
    struct Digits { Input<64>, Dense<64, relu>, Dense<10, softmax> }
}

sequential! {
    struct Kws {
        Input<49, 10, 1>,
        Conv2D<16, (5, 3), strides = (2, 1), relu>,
        MaxPooling2D<2>,
        Conv2D<32, 3, padding = same, relu>,
        GlobalAveragePooling2D,
        Dense<12, softmax>,
    }
}

const LR: f64 = 0.001;
const B: usize = hand::BATCH;

/// One batch in every form the implementations take.
struct Batch {
    /// Row-major `[32, 64]` pixels.
    x: Vec<f32>,
    /// Class ids.
    y: Vec<u32>,
    /// Class ids as floats (`train_on_batch_flat`).
    y_ids: Vec<f32>,
    /// Typed inputs and one-hot targets (`train_on_batch`).
    xs: Vec<SVector<f32, 64>>,
    ys: Vec<SVector<f32, 10>>,
    /// The `64 × 32` matrix of `hand_nalgebra`.
    na: nalgebra::DMatrix<f32>,
}

fn batches() -> Vec<Batch> {
    hand::digits_batches()
        .into_iter()
        .map(|(x, y)| Batch {
            y_ids: y.iter().map(|&c| c as f32).collect(),
            xs: x.chunks_exact(64).map(SVector::from_column_slice).collect(),
            ys: y.iter().map(|&c| SVector::from_fn(|i, _| f32::from(u8::from(i == c as usize)))).collect(),
            na: hand::HandNalgebra::batch(&x),
            x,
            y,
        })
        .collect()
}

fn nn_model(start: &[f32]) -> Box<Digits> {
    let mut model = Digits::boxed_zeros();
    model.load_params(start).unwrap();
    model
}

fn weights(model: &Digits) -> Vec<f32> {
    let mut w = vec![0.0; Digits::PARAMS];
    model.save_params(&mut w).unwrap();
    w
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// The weights after `steps` steps of each implementation from `start`: nn (ids), nn (one-hot),
/// hand_nalgebra, hand_arrays.
fn after(start: &[f32], data: &[Batch], steps: usize) -> [Vec<f32>; 4] {
    let mut ids = nn_model(start);
    let mut t = ids.compile(Adam::new(LR), SparseCategoricalCrossentropy::DEFAULT).unwrap();
    for b in data.iter().cycle().take(steps) {
        t.train_on_batch_flat(&[&b.x], &[&b.y_ids]).unwrap();
    }
    drop(t);
    let mut onehot = nn_model(start);
    let mut t = onehot.compile(Adam::new(LR), CategoricalCrossentropy::DEFAULT).unwrap();
    for b in data.iter().cycle().take(steps) {
        t.train_on_batch(&b.xs, &b.ys).unwrap();
    }
    drop(t);
    let mut na = hand::HandNalgebra::from_flat(start, hand::Adam::new(LR as f32));
    let mut ar = hand::HandArrays::from_flat(start, hand::Adam::new(LR as f32));
    for b in data.iter().cycle().take(steps) {
        na.step(&b.na, &b.y);
        ar.step(&b.x, &b.y);
    }
    [weights(&ids), weights(&onehot), na.to_flat(), ar.to_flat()]
}

fn digits(c: &mut Criterion) {
    let start = hand::glorot(1);
    let data = batches();
    // The four agree before they race: one step, and ten, from the same weights.
    for steps in [1, 10] {
        let [ids, onehot, na, ar] = after(&start, &data, steps);
        assert!(max_diff(&ids, &start) > 1e-4, "a step moves the weights");
        for (name, w) in [("nn one-hot", &onehot), ("hand_nalgebra", &na), ("hand_arrays", &ar)] {
            let d = max_diff(&ids, w);
            assert!(d < 1e-5, "{steps} step(s): nn and {name} differ by {d}");
            println!("after {steps} step(s), nn's weights and {name}'s differ by at most {d:e}");
        }
    }
    {
        let mut model = nn_model(&start);
        let trainer = model.compile(Adam::new(LR), SparseCategoricalCrossentropy::DEFAULT).unwrap();
        let m = trainer.memory(B);
        println!("{m}");
        // For scripts/bench.py.
        println!(
            "nn-train-memory batch={} values={} gradients={} optimizer_state={} total={}",
            m.batch,
            m.values,
            m.gradients,
            m.optimizer_state,
            m.total()
        );
    }

    let mut g = c.benchmark_group("train_digits/batch32");
    g.throughput(Throughput::Elements(B as u64));
    g.bench_function(BenchmarkId::new("nn", B), |bench| {
        bench.iter_custom(|iters| {
            time_steps!(
                iters,
                data,
                {
                    let mut model = nn_model(&start);
                    let mut t = model.compile(Adam::new(LR), SparseCategoricalCrossentropy::DEFAULT).unwrap();
                },
                |b| t.train_on_batch_flat(&[&b.x], &[&b.y_ids]).unwrap()
            )
        })
    });
    g.bench_function(BenchmarkId::new("nn_onehot", B), |bench| {
        bench.iter_custom(|iters| {
            time_steps!(
                iters,
                data,
                {
                    let mut model = nn_model(&start);
                    let mut t = model.compile(Adam::new(LR), CategoricalCrossentropy::DEFAULT).unwrap();
                },
                |b| t.train_on_batch(&b.xs, &b.ys).unwrap()
            )
        })
    });
    g.bench_function(BenchmarkId::new("hand_nalgebra", B), |bench| {
        bench.iter_custom(|iters| {
            time_steps!(
                iters,
                data,
                {
                    let mut h = hand::HandNalgebra::from_flat(&start, hand::Adam::new(LR as f32));
                },
                |b| h.step(&b.na, &b.y)
            )
        })
    });
    g.bench_function(BenchmarkId::new("hand_arrays", B), |bench| {
        bench.iter_custom(|iters| {
            time_steps!(
                iters,
                data,
                {
                    let mut h = hand::HandArrays::from_flat(&start, hand::Adam::new(LR as f32));
                },
                |b| h.step(&b.x, &b.y)
            )
        })
    });
    g.finish();
}

/// How far nn's KWS weights and each hand-written step's may be apart after 1 and 10 steps: as
/// for the MLP. They come within about 1e-7 (a few units in the last place of weights below 1),
/// although a first-layer kernel gradient sums 32 × 184 terms in a different order in each
/// implementation; a pooling window whose two largest values came within rounding of each
/// other would send a gradient elsewhere and show up well above this.
const KWS_TOLERANCE: f32 = 1e-5;

/// One KWS batch in every form the implementations take.
struct KwsBatch {
    /// Row-major `[32, 49, 10, 1]` inputs.
    x: Vec<f32>,
    /// Class ids.
    y: Vec<u32>,
    /// Class ids as floats (`train_on_batch_flat`).
    y_ids: Vec<f32>,
}

fn kws_model(start: &[f32]) -> Box<Kws> {
    let mut model = Kws::boxed_zeros();
    model.load_params(start).unwrap();
    model
}

fn kws_weights(model: &Kws) -> Vec<f32> {
    let mut w = vec![0.0; Kws::PARAMS];
    model.save_params(&mut w).unwrap();
    w
}

/// The KWS weights after `steps` steps of each implementation from `start`: nn, hand_nalgebra,
/// hand_arrays.
fn kws_after(start: &[f32], data: &[KwsBatch], steps: usize) -> [Vec<f32>; 3] {
    let mut model = kws_model(start);
    let mut t = model.compile(Adam::new(LR), SparseCategoricalCrossentropy::DEFAULT).unwrap();
    for b in data.iter().cycle().take(steps) {
        t.train_on_batch_flat(&[&b.x], &[&b.y_ids]).unwrap();
    }
    drop(t);
    let mut na = hand_kws::KwsHandNalgebra::from_flat(start, hand::Adam::new(LR as f32));
    let mut ar = hand_kws::KwsHandArrays::from_flat(start, hand::Adam::new(LR as f32));
    for b in data.iter().cycle().take(steps) {
        na.step(&b.x, &b.y);
        ar.step(&b.x, &b.y);
    }
    [kws_weights(&model), na.to_flat(), ar.to_flat()]
}

fn kws(c: &mut Criterion) {
    assert_eq!(Kws::PARAMS, hand_kws::PARAMS);
    let start = hand_kws::glorot(1);
    let data: Vec<KwsBatch> = hand_kws::batches()
        .into_iter()
        .map(|(x, y)| KwsBatch { y_ids: y.iter().map(|&c| c as f32).collect(), x, y })
        .collect();
    // The three agree before they race: one step, and ten, from the same weights.
    for steps in [1, 10] {
        let [ours, na, ar] = kws_after(&start, &data, steps);
        assert!(max_diff(&ours, &start) > 1e-4, "a step moves the weights");
        for (name, w) in [("hand_nalgebra", &na), ("hand_arrays", &ar)] {
            let d = max_diff(&ours, w);
            assert!(d < KWS_TOLERANCE, "kws, {steps} step(s): nn and {name} differ by {d}");
            println!("kws: after {steps} step(s), nn's weights and {name}'s differ by at most {d:e}");
        }
    }
    {
        let mut model = kws_model(&start);
        let trainer = model.compile(Adam::new(LR), SparseCategoricalCrossentropy::DEFAULT).unwrap();
        let m = trainer.memory(B);
        println!("kws: {m}");
        // For scripts/bench.py.
        println!(
            "nn-train-memory model=kws batch={} values={} gradients={} optimizer_state={} total={}",
            m.batch,
            m.values,
            m.gradients,
            m.optimizer_state,
            m.total()
        );
    }

    let mut g = c.benchmark_group("train_kws/batch32");
    g.throughput(Throughput::Elements(B as u64));
    g.bench_function(BenchmarkId::new("nn", B), |bench| {
        bench.iter_custom(|iters| {
            time_steps!(
                iters,
                data,
                {
                    let mut model = kws_model(&start);
                    let mut t = model.compile(Adam::new(LR), SparseCategoricalCrossentropy::DEFAULT).unwrap();
                },
                |b| t.train_on_batch_flat(&[&b.x], &[&b.y_ids]).unwrap()
            )
        })
    });
    g.bench_function(BenchmarkId::new("hand_nalgebra", B), |bench| {
        bench.iter_custom(|iters| {
            time_steps!(
                iters,
                data,
                {
                    let mut h = hand_kws::KwsHandNalgebra::from_flat(&start, hand::Adam::new(LR as f32));
                },
                |b| h.step(&b.x, &b.y)
            )
        })
    });
    g.bench_function(BenchmarkId::new("hand_arrays", B), |bench| {
        bench.iter_custom(|iters| {
            time_steps!(
                iters,
                data,
                {
                    let mut h = hand_kws::KwsHandArrays::from_flat(&start, hand::Adam::new(LR as f32));
                },
                |b| h.step(&b.x, &b.y)
            )
        })
    });
    g.finish();
}

criterion_group!(benches, digits, kws);
criterion_main!(benches);
