//! M1 (16→64→64→8) and M2 (784→128→64→10) relu MLPs, batch 1 and batch 64, in candle, tract,
//! burn (ndarray and flex backends) and ndarray, with the ids of `benches/mlp.rs`
//! (`M1/batch1/<peer>`, `M1/batch64/<peer>/64`, ...) so that the two runs can be put side by
//! side. The same for the two CNNs (`kws/...`, `sensor/...`, as in `benches/conv.rs`) in candle,
//! tract and burn: ndarray has no convolution. And the GRU model of `benches/rnn.rs`
//! (`gru32/batch1/tract`, `gru32/batch64/tract/64`), in tract only: candle-core and burn-tensor
//! have no GRU.
//!
//! Only inference is timed: each model is built (weights loaded, graph optimized) and its input
//! prepared outside the timed loop, and each peer is checked against a plain-Rust reference
//! before it is timed. `RAYON_NUM_THREADS` is set to 1 unless already set (see `README.md`).
//!
//! Run with `cargo bench -p nn-peers`.

use criterion::{BenchmarkId, Criterion, Throughput};
use nn_peers::{
    Burn, BurnCnn, BurnFlex, BurnFlexCnn, Candle, CandleCnn, CandleTransformer, Cnn, Gru, Model, Ndarray,
    Peer, Spec, Tract, TractCnn, TractGru, TractTransformer, Transformer, check, single_thread,
};
use std::hint::black_box;

const BATCH: usize = 64;

fn batch1<P: Peer>(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, spec: &P::Model) {
    check::<P>(spec, 1).unwrap();
    let mut p = P::new(spec, 1).unwrap();
    let x = p.prepare(&spec.batch(1)).unwrap();
    c.bench_function(P::NAME, |b| b.iter(|| p.run(black_box(&x))));
}

fn batch64<P: Peer>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    spec: &P::Model,
) {
    check::<P>(spec, BATCH).unwrap();
    let mut p = P::new(spec, BATCH).unwrap();
    let x = p.prepare(&spec.batch(BATCH)).unwrap();
    c.bench_with_input(BenchmarkId::new(P::NAME, BATCH), &x, |b, x| b.iter(|| p.run(black_box(x))));
}

fn model(c: &mut Criterion, spec: &Spec) {
    let mut g = c.benchmark_group(format!("{}/batch1", spec.name()));
    g.throughput(Throughput::Elements(1));
    batch1::<Candle>(&mut g, spec);
    batch1::<Tract>(&mut g, spec);
    batch1::<Burn>(&mut g, spec);
    batch1::<BurnFlex>(&mut g, spec);
    batch1::<Ndarray>(&mut g, spec);
    g.finish();

    let mut g = c.benchmark_group(format!("{}/batch64", spec.name()));
    g.throughput(Throughput::Elements(BATCH as u64));
    batch64::<Candle>(&mut g, spec);
    batch64::<Tract>(&mut g, spec);
    batch64::<Burn>(&mut g, spec);
    batch64::<BurnFlex>(&mut g, spec);
    batch64::<Ndarray>(&mut g, spec);
    g.finish();
}

fn cnn(c: &mut Criterion, spec: &Cnn) {
    let mut g = c.benchmark_group(format!("{}/batch1", spec.name()));
    g.throughput(Throughput::Elements(1));
    batch1::<CandleCnn>(&mut g, spec);
    batch1::<TractCnn>(&mut g, spec);
    batch1::<BurnCnn>(&mut g, spec);
    batch1::<BurnFlexCnn>(&mut g, spec);
    g.finish();

    let mut g = c.benchmark_group(format!("{}/batch64", spec.name()));
    g.throughput(Throughput::Elements(BATCH as u64));
    batch64::<CandleCnn>(&mut g, spec);
    batch64::<TractCnn>(&mut g, spec);
    batch64::<BurnCnn>(&mut g, spec);
    batch64::<BurnFlexCnn>(&mut g, spec);
    g.finish();
}

fn gru(c: &mut Criterion, spec: &Gru) {
    let mut g = c.benchmark_group(format!("{}/batch1", spec.name()));
    g.throughput(Throughput::Elements(1));
    batch1::<TractGru>(&mut g, spec);
    g.finish();

    let mut g = c.benchmark_group(format!("{}/batch64", spec.name()));
    g.throughput(Throughput::Elements(BATCH as u64));
    batch64::<TractGru>(&mut g, spec);
    g.finish();
}

fn transformer(c: &mut Criterion, spec: &Transformer) {
    let mut g = c.benchmark_group(format!("{}/batch1", spec.name()));
    g.throughput(Throughput::Elements(1));
    batch1::<CandleTransformer>(&mut g, spec);
    batch1::<TractTransformer>(&mut g, spec);
    g.finish();
    let mut g = c.benchmark_group(format!("{}/batch64", spec.name()));
    g.throughput(Throughput::Elements(BATCH as u64));
    batch64::<CandleTransformer>(&mut g, spec);
    batch64::<TractTransformer>(&mut g, spec);
    g.finish();
}

fn main() {
    // Before criterion or any framework starts a thread.
    single_thread();
    let mut c = Criterion::default().configure_from_args();
    model(&mut c, &Spec::m1());
    model(&mut c, &Spec::m2());
    cnn(&mut c, &Cnn::kws());
    cnn(&mut c, &Cnn::sensor());
    gru(&mut c, &Gru::gru32());
    transformer(&mut c, &Transformer::block());
    c.final_summary();
}
