//! Every instruction-set level computes the same results (to 1e-6) as the portable build, for
//! single samples and batches, and the batched path equals sample-by-sample prediction.

use nn::dispatch::{predict_at, predict_batch_at};
use nn::kernels::cpu::{self, Level};
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

functional! {
    /// A residual block: an input read by a layer and a merge.
    struct Residual {
        x = Input<6>;
        h = Dense<32, relu>(x);
        back = Dense<6>(h);
        sum = Add(x, back);
        out = Dense<3, softmax>(sum);
    }
}

functional! {
    /// Several inputs and outputs, an output another step reads, every kind of merge.
    struct Wide {
        a = Input<4>;
        b = Input<4>;
        c = Input<3>;
        both = Concatenate(a, c);
        mixed = Dense<4, tanh>(both);
        diff = Subtract(mixed, b);
        prod = Multiply(diff, a, b);
        low = Minimum(prod, a);
        high = Maximum(low, b);
        mean = Average(high, diff);
        cos = Dot<normalize = true>(mean, a);
        head = Dense<2>(mean);
        -> (head, mixed, cos);
    }
}

sequential! {
    struct Inner { Input<4>, Dense<4, relu> }
}

functional! {
    /// A nested model: this graph runs sample by sample.
    struct Nesting {
        x = Input<4>;
        inner = Model<Inner, 4, 4>;
        y = inner(x);
        z = Dense<2>(y);
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

/// `predict_batch_at` at every level against `predict_at(Portable)` one sample at a time.
fn check_batch<M: Model>(model: &M, xs: &[M::Input], close: impl Fn(&M::Output, &M::Output) -> bool)
where
    M::Output: Clone + std::fmt::Debug,
{
    let want: Vec<_> = xs.iter().map(|x| predict_at(Level::Portable, model, x)).collect();
    for level in LEVELS.into_iter().filter(|l| cpu::supports(*l)) {
        let mut ys = vec![want[0]; xs.len()];
        predict_batch_at(level, model, xs, &mut ys);
        for (s, (y, w)) in ys.iter().zip(&want).enumerate() {
            assert!(close(y, w), "{level:?} sample {s}: {y:?} vs {w:?}");
        }
    }
}

#[test]
fn graphs_run_batched_and_match_single_predictions() {
    // 150 samples: more than one chunk, the last one ragged.
    fn v<const N: usize>(s: usize, k: usize) -> SVector<f32, N> {
        SVector::from_fn(|i, _| (((i + k) * 7 + s * 3) % 11) as f32 / 11.0 - 0.4)
    }
    let residual = Residual::seeded(5);
    check_batch(&residual, &(0..150).map(|s| v(s, 0)).collect::<Vec<_>>(), close);
    let wide = Wide::seeded(6);
    let inputs: Vec<_> = (0..150).map(|s| (v(s, 1), v(s, 2), v(s, 3))).collect();
    check_batch(&wide, &inputs, |a, b| close(&a.0, &b.0) && close(&a.1, &b.1) && close(&a.2, &b.2));
    let nesting = Nesting::seeded(7);
    check_batch(&nesting, &(0..70).map(|s| v(s, 4)).collect::<Vec<_>>(), close);
}
