//! The three CNNs of BENCHMARKS.md, batch 1 and batch 64, beside hand-written direct loops over
//! plain arrays with the same weights (`hand/conv.rs`), in the same run; tract and the other
//! peers are measured by `peers/` (KWS and Sensor only) in the same `scripts/bench.py` run. Run
//! with `cargo bench --bench conv` (one model: `cargo bench --bench conv -- autoencoder`).
//!
//! - KWS: Input (49, 10, 1), Conv2D 16 (5, 3) strides (2, 1) relu, MaxPooling2D 2, Conv2D 32 3
//!   same relu, GlobalAveragePooling2D, Dense 12 softmax.
//! - Sensor: Input (128, 6), Conv1D 16 k5 strides 2 same relu, MaxPooling1D 2, Conv1D 32 k3
//!   relu, GlobalAveragePooling1D, Dense 8.
//! - Autoencoder (examples/autoencoder.rs): Input (8, 8, 1), Conv2D 8 3 strides 2 same relu,
//!   Conv2D 4 3 strides 2 same relu, Conv2DTranspose 16 3 strides 2 same relu,
//!   Conv2DTranspose 8 3 strides 2 same relu, Conv2D 1 3 same sigmoid.
//! - Volume: Input (8, 16, 16, 1), Conv3D 8 3 same relu, MaxPooling3D 2, Conv3D 16 3 same
//!   relu, GlobalAveragePooling3D, Dense 4 softmax.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nn::prelude::*;
use std::hint::black_box;

#[path = "hand/conv.rs"]
#[allow(dead_code)]
mod hand;

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

sequential! {
    struct Sensor {
        Input<128, 6>,
        Conv1D<16, 5, strides = 2, padding = same, relu>,
        MaxPooling1D<2>,
        Conv1D<32, 3, relu>,
        GlobalAveragePooling1D,
        Dense<8>,
    }
}

sequential! {
    struct Autoencoder {
        Input<8, 8, 1>,
        Conv2D<8, 3, strides = 2, padding = same, relu>,
        Conv2D<4, 3, strides = 2, padding = same, relu>,
        Conv2DTranspose<16, 3, strides = 2, padding = same, relu>,
        Conv2DTranspose<8, 3, strides = 2, padding = same, relu>,
        Conv2D<1, 3, padding = same, sigmoid>,
    }
}

sequential! {
    struct Volume {
        Input<8, 16, 16, 1>,
        Conv3D<8, 3, padding = same, relu>,
        MaxPooling3D<2>,
        Conv3D<16, 3, padding = same, relu>,
        GlobalAveragePooling3D,
        Dense<4, softmax>,
    }
}

/// One model's benchmarks: `$hand` is its direct-loop twin, `IN`/`OUT` its flat sizes.
macro_rules! conv_bench {
    ($fn_name:ident, $model:ident, $hand:ty, $group:literal, $in:literal, $out:literal) => {
        fn $fn_name(c: &mut Criterion) {
            let model = $model::boxed_seeded(1);
            let mut weights = vec![0.0f32; <$model as Model>::PARAMS];
            model.save_params(&mut weights).unwrap();
            let hand = <$hand>::from_flat(&weights);
            let xa: [f32; $in] = std::array::from_fn(|i| ((i * 37) % 17) as f32 / 17.0 - 0.5);
            let x = <$model as Model>::Input::from_slice(&xa);
            // The two agree before they race.
            let ours = model.predict(&x);
            let theirs = hand.forward(&xa);
            assert!(
                ours.as_slice().iter().zip(&theirs).all(|(a, b)| (a - b).abs() < 1e-5),
                "{ours:?} vs {theirs:?}"
            );

            let mut g = c.benchmark_group(concat!($group, "/batch1"));
            g.throughput(Throughput::Elements(1));
            g.bench_function("nn", |b| b.iter(|| model.predict(black_box(&x))));
            g.bench_function("hand_direct", |b| b.iter(|| hand.forward(black_box(&xa))));
            g.finish();

            const B: usize = 64;
            let xas: Vec<[f32; $in]> =
                (0..B).map(|s| std::array::from_fn(|i| (((i + s) * 37) % 17) as f32 / 17.0 - 0.5)).collect();
            let xs: Vec<_> = xas.iter().map(|x| <$model as Model>::Input::from_slice(x)).collect();
            let mut ys = vec![<<$model as Model>::Output as Tensor>::ZEROS; B];
            let mut yas = vec![[0.0f32; $out]; B];
            let mut g = c.benchmark_group(concat!($group, "/batch64"));
            g.throughput(Throughput::Elements(B as u64));
            g.bench_with_input(BenchmarkId::new("nn", B), &xs, |b, xs| {
                b.iter(|| model.predict_batch(black_box(xs), &mut ys).unwrap())
            });
            g.bench_with_input(BenchmarkId::new("hand_direct", B), &xas, |b, xas| {
                b.iter(|| {
                    for (x, y) in black_box(xas).iter().zip(yas.iter_mut()) {
                        *y = hand.forward(x);
                    }
                })
            });
            g.finish();
        }
    };
}

conv_bench!(kws, Kws, hand::KwsHand, "kws", 490, 12);
conv_bench!(sensor, Sensor, hand::SensorHand, "sensor", 768, 8);
conv_bench!(autoencoder, Autoencoder, hand::AutoencoderHand, "autoencoder", 64, 64);
conv_bench!(volume, Volume, hand::VolumeHand, "volume", 2048, 4);

criterion_group!(benches, kws, sensor, autoencoder, volume);
criterion_main!(benches);
