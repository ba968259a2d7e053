//! Every instruction-set level computes the same results (to 1e-6) as the portable build, for
//! single samples and batches, and the batched path equals sample-by-sample prediction.

use nn::kernels::cpu::{self, Level};
use nn::kernels::dispatch::{predict_at, predict_batch_at};
use nn::prelude::*;

sequential! {
    struct M2 { Input<784>, Dense<128, relu>, Dense<64, relu>, Dense<10> }
}

sequential! {
    struct Mixed<f64> { Input<7>, Dense<33, tanh>, Activation<softmax>, Dense<5, use_bias = false>, Dense<3, sigmoid> }
}

functional! {
    struct Graph {
        a = Input<5>;
        b = Input<5>;
        shared = Dense<17, relu>;
        x = shared(a);
        y = shared(b);
        out = Concatenate(x, y);
    }
}

const LEVELS: [Level; 3] = [Level::Portable, Level::Avx2, Level::Avx512];

fn close<const N: usize, T: Float>(a: &SVector<T, N>, b: &SVector<T, N>) -> bool {
    a.iter().zip(b.iter()).all(|(x, y)| (*x - *y).abs() <= T::of(1e-6) * y.abs().max(T::ONE))
}

#[test]
fn every_level_matches_the_portable_build_sample_by_sample() {
    let m2 = M2::boxed_seeded(1);
    let x = SVector::<f32, 784>::from_fn(|i, _| ((i * 31) % 29) as f32 / 29.0 - 0.5);
    let want = predict_at(Level::Portable, &*m2, &x);
    let mixed = Mixed::seeded(2);
    let x7 = SVector::<f64, 7>::from_fn(|i, _| i as f64 - 3.0);
    let want7 = predict_at(Level::Portable, &mixed, &x7);
    for level in LEVELS.into_iter().filter(|l| cpu::supports(*l)) {
        assert!(close(&predict_at(level, &*m2, &x), &want), "{level:?}");
        assert!(close(&predict_at(level, &mixed, &x7), &want7), "{level:?}");
    }
    assert_eq!(m2.predict(&x), predict_at(cpu::level(), &*m2, &x));
    println!("levels covered on this CPU: up to {:?}", cpu::level());
}

#[test]
fn batches_match_single_predictions_at_every_level() {
    let m2 = M2::boxed_seeded(3);
    // 67 samples: the batch runs in chunks, with ragged tiles at the end.
    let xs: Vec<SVector<f32, 784>> =
        (0..67).map(|s| SVector::from_fn(|i, _| (((i + 7 * s) * 31) % 29) as f32 / 29.0 - 0.5)).collect();
    let want: Vec<_> = xs.iter().map(|x| predict_at(Level::Portable, &*m2, x)).collect();
    let graph = Graph::seeded(4);
    let pairs: Vec<_> =
        (0..9).map(|s| (SVector::from_element(s as f32), SVector::from_fn(|i, _| i as f32))).collect();
    let want_graph: Vec<_> = pairs.iter().map(|p| predict_at(Level::Portable, &graph, p)).collect();
    for level in LEVELS.into_iter().filter(|l| cpu::supports(*l)) {
        let mut ys = vec![SVector::zeros(); xs.len()];
        predict_batch_at(level, &*m2, &xs, &mut ys);
        for (y, w) in ys.iter().zip(&want) {
            assert!(close(y, w), "{level:?}: {y} vs {w}");
        }
        let mut out = vec![SVector::zeros(); pairs.len()];
        predict_batch_at(level, &graph, &pairs, &mut out);
        assert!(out.iter().zip(&want_graph).all(|(y, w)| close(y, w)), "{level:?}");
    }
}
