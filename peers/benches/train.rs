//! The training steps of `benches/train.rs` in candle and burn (ndarray and flex backends), with
//! the ids of `benches/train.rs` so that the two runs can be put side by side:
//!
//! - `train_digits/batch32/<peer>/32`: the digits MLP, sparse categorical cross-entropy,
//!   Adam(0.001), batch 32, every step on the next batch of the digits train split;
//! - `train_kws/batch32/<peer>/32`: the KWS CNN of `benches/conv.rs`, the same loss and
//!   optimizer, every step on the next of the synthetic batches of `benches/hand/train_kws.rs`.
//!
//! Each peer is checked against the hand-written step (`benches/hand/train.rs`,
//! `benches/hand/train_kws.rs`) before it is timed, and timed as nn is: in runs of at most `RUN`
//! steps from the same first weights, the model, optimizer and first step of a run untimed
//! (`hand_train::timed_runs`). `RAYON_NUM_THREADS` is set to 1 unless already set (see
//! `README.md`).
//!
//! Run with `cargo bench -p nn-peers --bench train`.

use criterion::{BenchmarkId, Criterion, Throughput};
use nn_peers::hand_train::{self as hand, BATCH};
use nn_peers::single_thread;
use nn_peers::train::{
    BurnFlexKwsTrain, BurnFlexTrain, BurnKwsTrain, BurnTrain, CandleKwsTrain, CandleTrain, Digits, Kws, Task,
    TrainPeer, check_train,
};
use std::hint::black_box;
use std::time::Instant;

fn peer<P: TrainPeer>(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let d = check_train::<P>().unwrap();
    println!(
        "{} ({}): weights after 1 and 10 steps within {d:e} of the hand-written step's",
        P::NAME,
        P::Task::TITLE
    );
    let start = P::Task::start();
    let data = P::Task::batches();
    g.bench_function(BenchmarkId::new(P::NAME, BATCH), |b| {
        b.iter_custom(|iters| {
            hand::timed_runs(iters, |k| {
                let mut p = P::new(&start).unwrap();
                let batches: Vec<P::Batch> = data.iter().map(|(x, y)| p.prepare(x, y).unwrap()).collect();
                p.step(&batches[0]);
                let t0 = Instant::now();
                for i in 1..=k as usize {
                    black_box(p.step(black_box(&batches[i % batches.len()])));
                }
                t0.elapsed()
            })
        })
    });
}

fn main() {
    // Before criterion or any framework starts a thread.
    single_thread();
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group(Digits::GROUP);
    g.throughput(Throughput::Elements(BATCH as u64));
    peer::<CandleTrain>(&mut g);
    peer::<BurnTrain>(&mut g);
    peer::<BurnFlexTrain>(&mut g);
    g.finish();
    let mut g = c.benchmark_group(Kws::GROUP);
    g.throughput(Throughput::Elements(BATCH as u64));
    peer::<CandleKwsTrain>(&mut g);
    peer::<BurnKwsTrain>(&mut g);
    peer::<BurnFlexKwsTrain>(&mut g);
    g.finish();
    c.final_summary();
}
