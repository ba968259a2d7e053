//! A transformer encoder block (the block of `examples/transformer.rs`, on embedded input):
//! Input (12, 16) → MultiHeadAttention(2, 8)(x, x) → Add → LayerNormalization → Dense 32 relu
//! → Dense 16 → Add → LayerNormalization → GlobalAveragePooling1D → Dense 2 softmax, in nn and
//! hand-written in plain loops (`benches/hand/transformer.rs`), at batch 1 and 64, in the same
//! run. Both are checked to agree to 1e-5 before timing. Run with `cargo bench --bench
//! transformer`; see BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nn::prelude::*;
use std::hint::black_box;

#[path = "hand/transformer.rs"]
mod hand;

functional! {
    struct Block {
        x = Input<12, 16>;
        attended = MultiHeadAttention<2, 8>(x, x);
        s = Add(x, attended);
        h = LayerNormalization(s);
        f = Dense<32, relu>(h);
        g = Dense<16>(f);
        r = Add(h, g);
        o = LayerNormalization(r);
        pooled = GlobalAveragePooling1D(o);
        out = Dense<2, softmax>(pooled);
    }
}

fn transformer(c: &mut Criterion) {
    // Weights uniform in ±0.25 (scales near 1) from an LCG: run time does not depend on them.
    let mut state = 7u32;
    let mut next = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / 16_777_216.0 - 0.5
    };
    let mut model = Block::boxed_zeros();
    let w: Vec<f32> = (0..Block::PARAMS).map(|_| next() * 0.5).collect();
    model.load_params(&w).unwrap();
    let hand = hand::TransformerHand::new(&w);
    const B: usize = 64;
    let xs: Vec<Tensor2<f32, 12, 16>> =
        (0..B).map(|_| Tensor2::from_slice(&(0..192).map(|_| next() * 2.0).collect::<Vec<_>>())).collect();
    let rows: Vec<[[f32; 16]; 12]> = xs
        .iter()
        .map(|x| std::array::from_fn(|s| std::array::from_fn(|c| x.as_slice()[s * 16 + c])))
        .collect();
    for (x, row) in xs.iter().zip(&rows) {
        let (a, b) = (model.predict(x), hand.forward(row));
        assert!(a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 1e-5), "nn {a:?} vs hand {b:?}");
    }

    let mut g = c.benchmark_group("transformer/batch1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("nn", |b| b.iter(|| model.predict(black_box(&xs[0]))));
    g.bench_function("hand_arrays", |b| b.iter(|| hand.forward(black_box(&rows[0]))));
    g.finish();

    let mut ys = vec![SVector::<f32, 2>::zeros(); B];
    let mut g = c.benchmark_group("transformer/batch64");
    g.throughput(Throughput::Elements(B as u64));
    g.bench_with_input(BenchmarkId::new("nn", B), &xs, |b, xs| {
        b.iter(|| model.predict_batch(black_box(xs), &mut ys).unwrap())
    });
    let mut out = vec![[0.0f32; 2]; B];
    g.bench_with_input(BenchmarkId::new("hand_arrays", B), &rows, |b, rows| {
        b.iter(|| {
            for (o, r) in out.iter_mut().zip(black_box(rows)) {
                *o = hand.forward(r);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, transformer);
criterion_main!(benches);
