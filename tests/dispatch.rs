//! Every instruction-set level computes the same results as the portable build (Dense to 1e-6;
//! convolutions, pooling, normalization and attention to 1e-5 of the output's scale; the
//! recurrent gate kernels to 1e-4), for single samples and batches, and the batched path equals
//! sample-by-sample prediction; a training step's weight gradients agree to 1e-4 at every
//! level. Levels the CPU lacks are skipped (`NN_MAX_LEVEL` lowers what it has).

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

sequential! {
    /// The keyword-spotting CNN's layers: strided and padded convolutions, max pooling, a
    /// global average, softmax.
    struct Cnn {
        Input<49, 10, 1>,
        Conv2D<16, (5, 3), strides = (2, 1), relu>,
        MaxPooling2D<2>,
        Conv2D<32, 3, padding = same, relu>,
        GlobalAveragePooling2D,
        Dense<12, softmax>
    }
}

sequential! {
    /// One-dimensional convolutions and every kind of pooling over steps.
    struct Sensor {
        Input<128, 6>,
        Conv1D<16, 5, strides = 2, padding = same, relu>,
        MaxPooling1D<2>,
        Conv1D<32, 3, relu>,
        AveragePooling1D<2>,
        GlobalMaxPooling1D,
        Dense<8>
    }
}

sequential! {
    /// Depthwise, separable and transposed convolutions, BatchNormalization, average pooling.
    struct Separable {
        Input<12, 12, 3>,
        DepthwiseConv2D<3, depth_multiplier = 2>,
        SeparableConv2D<8, 3, padding = same, relu>,
        Conv2DTranspose<4, 3, strides = 2>,
        BatchNormalization,
        AveragePooling2D<2>,
        Flatten,
        Dense<5>
    }
}

sequential! {
    /// The recurrent cells' gate kernels: GRU, LSTM, and SimpleRNN both ways.
    struct Recurrent {
        Input<16, 8>,
        GRU<32, return_sequences = true>,
        LSTM<16, return_sequences = true>,
        Bidirectional<SimpleRNN<8>>,
        Dense<3>
    }
}

functional! {
    /// A transformer block: attention's products and softmax, LayerNormalization.
    struct Block {
        x = Input<12, 16>;
        a = MultiHeadAttention<2, 8, use_causal_mask = true>(x, x);
        s = Add(x, a);
        h = LayerNormalization(s);
        f = Dense<32, relu>(h);
        g = Dense<16>(f);
        r = Add(h, g);
        o = LayerNormalization(r);
        p = GlobalAveragePooling1D(o);
        out = Dense<2, softmax>(p);
    }
}

/// `a` and `b` agree to `tolerance` relative to the largest of `b`.
fn agree(a: &[f32], b: &[f32], tolerance: f32) -> bool {
    let scale = b.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tolerance * scale)
}

/// A deterministic input of `M`'s.
fn input_of<M: Model<Scalar = f32>>(seed: usize) -> M::Input {
    let mut x = <M::Input as nn::tensor::Tensors<f32>>::ZEROED;
    for i in 0..<M::Input as nn::tensor::Tensors<f32>>::COUNT {
        let n = <M::Input as nn::tensor::Tensors<f32>>::len_of(i);
        let values: Vec<f32> = (0..n).map(|k| (((k + 13 * seed) * 37) % 23) as f32 / 11.5 - 1.0).collect();
        nn::tensor::Tensors::read_flat(&mut x, i, &values).unwrap();
    }
    x
}

/// The model's outputs at every level this CPU has, against the portable build's: one sample
/// and a batch.
fn check_levels<M: Model<Scalar = f32>>(model: &M, tolerance: f32) {
    let flat = |y: &M::Output| {
        let mut out = Vec::new();
        for k in 0..<M::Output as nn::tensor::Tensors<f32>>::COUNT {
            let mut v = vec![0.0; <M::Output as nn::tensor::Tensors<f32>>::len_of(k)];
            nn::tensor::Tensors::write_flat(y, k, &mut v);
            out.extend(v);
        }
        out
    };
    let xs: Vec<M::Input> = (0..5).map(input_of::<M>).collect();
    let want: Vec<Vec<f32>> = xs.iter().map(|x| flat(&predict_at(Level::Portable, model, x))).collect();
    for level in LEVELS.into_iter().filter(|l| cpu::supports(*l)) {
        for (x, w) in xs.iter().zip(&want) {
            assert!(agree(&flat(&predict_at(level, model, x)), w, tolerance), "{level:?}");
        }
        let mut ys = vec![predict_at(Level::Portable, model, &xs[0]); xs.len()];
        predict_batch_at(level, model, &xs, &mut ys);
        for (y, w) in ys.iter().zip(&want) {
            assert!(agree(&flat(y), w, tolerance), "{level:?} batch");
        }
    }
}

#[test]
fn convolutions_pooling_recurrent_cells_and_attention_agree_at_every_level() {
    check_levels(&*Cnn::boxed_seeded(8), 1e-5);
    check_levels(&*Sensor::boxed_seeded(9), 1e-5);
    let mut separable = Separable::boxed_seeded(10);
    separable.batch_normalization.moving_mean = std::array::from_fn(|i| i as f32 * 0.1);
    separable.batch_normalization.prepare();
    check_levels(&*separable, 1e-5);
    // The gate kernels' tanh and sigmoid agree with the portable cells' to 2e-6 a step.
    check_levels(&*Recurrent::boxed_seeded(11), 1e-4);
    check_levels(&*Block::boxed_seeded(12), 1e-5);
}

/// The weight gradients of one training step over a batch at every level, against the
/// portable build's.
fn check_training_levels<M: nn::train::Trainable<Scalar = f32> + nn::Zeroable + Clone>(model: &M) {
    let xs: Vec<M::Input> = (0..6).map(input_of::<M>).collect();
    let gradients = |level: Level| {
        let (mut m, mut b, mut grads) = (model.clone(), M::buffers(xs.len()), M::zeros());
        nn::dispatch::forward_train(level, &mut m, &mut b, &xs, &mut nn::init::Rng::new(3));
        for k in 0..<M::Output as nn::tensor::Tensors<f32>>::COUNT {
            let dy = M::output_grad(&mut b, k, xs.len());
            dy.iter_mut().enumerate().for_each(|(i, d)| *d = ((i * 7) % 5) as f32 - 2.0);
        }
        nn::dispatch::backward(level, &m, &mut b, &xs, &mut grads, nn::train::Write::Set);
        let mut flat = vec![0.0; M::PARAMS];
        grads.save_params(&mut flat).unwrap();
        flat
    };
    let want = gradients(Level::Portable);
    assert!(want.iter().any(|g| *g != 0.0));
    for level in LEVELS.into_iter().filter(|l| cpu::supports(*l)) {
        assert!(agree(&gradients(level), &want, 1e-4), "{level:?}");
    }
}

#[test]
fn training_steps_agree_at_every_level() {
    check_training_levels(&*Cnn::boxed_seeded(13));
    check_training_levels(&*Sensor::boxed_seeded(14));
    check_training_levels(&*Block::boxed_seeded(15));
}
