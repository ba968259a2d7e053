//! What BatchNormalization costs after a Dense layer: the MLP of the `dense_bn_mlp` fixture
//! (16 → Dense 64 → BatchNormalization → relu → Dense 64 → BatchNormalization → relu → Dense 8)
//! beside the same model without its two BatchNormalization layers, batch 1 and batch 64, in
//! the same run. Run with `cargo bench --bench norm`; see BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nn::prelude::*;
use std::hint::black_box;

sequential! {
    struct WithBn {
        Input<16>,
        Dense<64>,
        BatchNormalization,
        Activation<relu>,
        Dense<64>,
        BatchNormalization,
        Activation<relu>,
        Dense<8>,
    }
}

sequential! {
    struct WithoutBn { Input<16>, Dense<64>, Activation<relu>, Dense<64>, Activation<relu>, Dense<8> }
}

fn norm(c: &mut Criterion) {
    let mut bn = WithBn::boxed_seeded(1);
    // Statistics that are not the identity, so nothing is skipped.
    bn.batch_normalization.moving_mean = std::array::from_fn(|i| i as f32 * 0.01);
    bn.batch_normalization.moving_variance = std::array::from_fn(|i| 1.0 + i as f32 * 0.02);
    bn.batch_normalization_1.gamma = std::array::from_fn(|i| 0.5 + i as f32 * 0.01);
    bn.batch_normalization.prepare();
    bn.batch_normalization_1.prepare();
    let plain = WithoutBn::boxed_seeded(1);
    let x = SVector::<f32, 16>::from_fn(|i, _| ((i * 37) % 17) as f32 / 17.0 - 0.5);

    let mut g = c.benchmark_group("dense_bn/batch1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("with_bn", |b| b.iter(|| bn.predict(black_box(&x))));
    g.bench_function("without_bn", |b| b.iter(|| plain.predict(black_box(&x))));
    g.finish();

    const B: usize = 64;
    let xs: Vec<SVector<f32, 16>> =
        (0..B).map(|s| SVector::from_fn(|i, _| (((i + s) * 37) % 17) as f32 / 17.0 - 0.5)).collect();
    let mut ys = vec![SVector::<f32, 8>::zeros(); B];
    let mut g = c.benchmark_group("dense_bn/batch64");
    g.throughput(Throughput::Elements(B as u64));
    g.bench_with_input(BenchmarkId::new("with_bn", B), &xs, |b, xs| {
        b.iter(|| bn.predict_batch(black_box(xs), &mut ys).unwrap())
    });
    g.bench_with_input(BenchmarkId::new("without_bn", B), &xs, |b, xs| {
        b.iter(|| plain.predict_batch(black_box(xs), &mut ys).unwrap())
    });
    g.finish();
}

criterion_group!(benches, norm);
criterion_main!(benches);
