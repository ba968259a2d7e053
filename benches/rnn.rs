//! Recurrent layers beside hand-written nalgebra versions of the same computation, in the same
//! run: one `step` of GRU and of LSTM at 8, 16, 32 and 64 units (as many inputs as units); the
//! GRU(32) over 16 steps of 8 features then Dense(1) model at batch 1 and 64; and the streaming
//! model (Dense 1→8 tanh, causal Conv1D 8→4 k3 d2 tanh, GRU 4→8, Dense 8→1), one sample per
//! call. Run with `cargo bench --bench rnn`; see BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nn::layers::{GruCell, LstmCell, Rnn};
use nn::prelude::*;
use nn::stream::{StreamState, Streaming};

use std::hint::black_box;

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// Gate `g` of a Keras kernel `[rows][gates · H]` as an `H × rows` nalgebra matrix.
fn gate<const H: usize, const R: usize, const GH: usize>(k: &[[f32; GH]; R], g: usize) -> SMatrix<f32, H, R> {
    SMatrix::from_fn(|o, i| k[i][g * H + o])
}

/// Gate `g` of a bias row.
fn bias<const H: usize, const GH: usize>(b: &[f32; GH], g: usize) -> SVector<f32, H> {
    SVector::from_fn(|o, _| b[g * H + o])
}

/// Keras's GRU step (`reset_after`) in nalgebra: one matrix-vector product per gate.
struct HandGru<const I: usize, const H: usize> {
    w: [SMatrix<f32, H, I>; 3],
    u: [SMatrix<f32, H, H>; 3],
    b: [SVector<f32, H>; 3],
    rb: [SVector<f32, H>; 3],
}

impl<const I: usize, const H: usize> HandGru<I, H> {
    fn from<const S: usize, const GH: usize, O>(gru: &Rnn<f32, GruCell, S, I, H, GH, O>) -> Box<Self> {
        Box::new(HandGru {
            w: std::array::from_fn(|g| gate(&gru.kernel, g)),
            u: std::array::from_fn(|g| gate(&gru.recurrent_kernel, g)),
            b: std::array::from_fn(|g| bias(&gru.bias[0], g)),
            rb: std::array::from_fn(|g| bias(&gru.bias[1], g)),
        })
    }

    fn step(&self, x: &SVector<f32, I>, h: &SVector<f32, H>) -> SVector<f32, H> {
        let z = (self.w[0] * x + self.b[0] + self.u[0] * h + self.rb[0]).map(sigmoid);
        let r = (self.w[1] * x + self.b[1] + self.u[1] * h + self.rb[1]).map(sigmoid);
        let hh = (self.w[2] * x + self.b[2] + r.component_mul(&(self.u[2] * h + self.rb[2]))).map(f32::tanh);
        z.component_mul(h) + (SVector::repeat(1.0) - z).component_mul(&hh)
    }
}

/// Keras's LSTM step in nalgebra.
struct HandLstm<const I: usize, const H: usize> {
    w: [SMatrix<f32, H, I>; 4],
    u: [SMatrix<f32, H, H>; 4],
    b: [SVector<f32, H>; 4],
}

impl<const I: usize, const H: usize> HandLstm<I, H> {
    fn from<const S: usize, const GH: usize, O>(lstm: &Rnn<f32, LstmCell, S, I, H, GH, O>) -> Box<Self> {
        Box::new(HandLstm {
            w: std::array::from_fn(|g| gate(&lstm.kernel, g)),
            u: std::array::from_fn(|g| gate(&lstm.recurrent_kernel, g)),
            b: std::array::from_fn(|g| bias(&lstm.bias[0], g)),
        })
    }

    fn step(
        &self,
        x: &SVector<f32, I>,
        h: &SVector<f32, H>,
        c: &SVector<f32, H>,
    ) -> (SVector<f32, H>, SVector<f32, H>) {
        let pre = |g: usize| self.w[g] * x + self.u[g] * h + self.b[g];
        let (i, f, o) = (pre(0).map(sigmoid), pre(1).map(sigmoid), pre(3).map(sigmoid));
        let c = f.component_mul(c) + i.component_mul(&pre(2).map(f32::tanh));
        (o.component_mul(&c.map(f32::tanh)), c)
    }
}

/// One-layer streaming models, GRU(H) and LSTM(H) over H inputs, stepped through `step`, as a
/// plugin would run them.
macro_rules! step_models {
    ($($gru:ident, $lstm:ident, $h:literal;)*) => {$(
        sequential! { #[stream] struct $gru { Input<1, $h>, GRU<$h, return_sequences = true> } }
        sequential! { #[stream] struct $lstm { Input<1, $h>, LSTM<$h, return_sequences = true> } }
    )*};
}

step_models! {
    Gru8, Lstm8, 8;
    Gru16, Lstm16, 16;
    Gru32, Lstm32, 32;
    Gru64, Lstm64, 64;
}

/// One step of GRU(H) and LSTM(H), nn beside nalgebra.
macro_rules! steps {
    ($c:ident, $gru:ident, $lstm:ident, $h:literal) => {{
        let mut gru = $gru::boxed_seeded($h);
        gru.gru.bias = std::array::from_fn(|r| std::array::from_fn(|i| ((i + r) % 7) as f32 * 0.05));
        let lstm = $lstm::boxed_seeded($h + 1);
        let (hand_gru, hand_lstm) = (HandGru::from(&gru.gru), HandLstm::from(&lstm.lstm));
        let x = SVector::<f32, $h>::from_fn(|i, _| ((i * 37) % 17) as f32 / 17.0 - 0.5);
        // The two agree before they race.
        let mut fresh = <<$gru as Streaming>::State as StreamState>::ZEROS;
        let ours = gru.step(&mut fresh, &x);
        let theirs = hand_gru.step(&x, &SVector::zeros());
        assert!((ours - theirs).amax() < 1e-4, "GRU {}", (ours - theirs).amax());
        let mut g = $c.benchmark_group(concat!("step/gru", $h));
        g.bench_function("nn", |b| {
            let mut state = <<$gru as Streaming>::State as StreamState>::ZEROS;
            b.iter(|| gru.step(&mut state, black_box(&x)))
        });
        g.bench_function("hand_nalgebra", |b| {
            let mut h = SVector::<f32, $h>::zeros();
            b.iter(|| {
                h = hand_gru.step(black_box(&x), &h);
                h
            })
        });
        g.finish();
        let mut g = $c.benchmark_group(concat!("step/lstm", $h));
        g.bench_function("nn", |b| {
            let mut state = <<$lstm as Streaming>::State as StreamState>::ZEROS;
            b.iter(|| lstm.step(&mut state, black_box(&x)))
        });
        g.bench_function("hand_nalgebra", |b| {
            let (mut h, mut c) = (SVector::<f32, $h>::zeros(), SVector::<f32, $h>::zeros());
            b.iter(|| {
                (h, c) = hand_lstm.step(black_box(&x), &h, &c);
                h
            })
        });
        g.finish();
    }};
}

fn cell_steps(c: &mut Criterion) {
    steps!(c, Gru8, Lstm8, 8);
    steps!(c, Gru16, Lstm16, 16);
    steps!(c, Gru32, Lstm32, 32);
    steps!(c, Gru64, Lstm64, 64);
}

sequential! {
    struct GruModel { Input<16, 8>, GRU<32>, Dense<1> }
}

fn gru_model(c: &mut Criterion) {
    let model = GruModel::boxed_seeded(3);
    let hand = HandGru::from(&model.gru);
    let (w, b) = (model.dense.kernel, model.dense.bias);
    let hand_forward = |x: &Tensor2<f32, 16, 8>| {
        let mut h = SVector::<f32, 32>::zeros();
        for t in 0..16 {
            h = hand.step(&x.step(t).into_owned(), &h);
        }
        w * h + b
    };
    let x = Tensor2::<f32, 16, 8>::from_slice(&std::array::from_fn::<f32, 128, _>(|i| {
        ((i * 37) % 17) as f32 / 17.0 - 0.5
    }));
    assert!((model.predict(&x) - hand_forward(&x)).amax() < 1e-4);
    let mut g = c.benchmark_group("gru32/batch1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("nn", |b| b.iter(|| model.predict(black_box(&x))));
    g.bench_function("hand_nalgebra", |b| b.iter(|| hand_forward(black_box(&x))));
    g.finish();
    const B: usize = 64;
    let xs = vec![x; B];
    let mut ys = vec![SVector::<f32, 1>::zeros(); B];
    let mut g = c.benchmark_group("gru32/batch64");
    g.throughput(Throughput::Elements(B as u64));
    g.bench_with_input(BenchmarkId::new("nn", B), &xs, |b, xs| {
        b.iter(|| model.predict_batch(black_box(xs), &mut ys).unwrap())
    });
    g.bench_with_input(BenchmarkId::new("hand_nalgebra", B), &xs, |b, xs| {
        b.iter(|| {
            for (x, y) in black_box(xs).iter().zip(ys.iter_mut()) {
                *y = hand_forward(x);
            }
        })
    });
    g.finish();
}

sequential! {
    #[stream]
    struct StreamModel {
        Input<1, 1>,
        Dense<8, tanh>,
        Conv1D<4, 3, padding = causal, dilation_rate = 2, tanh>,
        GRU<8, return_sequences = true>,
        Dense<1>,
    }
}

fn streaming(c: &mut Criterion) {
    let model = StreamModel::boxed_seeded(4);
    let mut state = StreamModelState::ZEROS;
    let mut t = 0.0f32;
    c.bench_function("stream/step/nn", |b| {
        b.iter(|| {
            t += 0.01;
            model.step(&mut state, &SVector::from([black_box(t.sin())]))
        })
    });
}

criterion_group!(benches, cell_steps, gru_model, streaming);
criterion_main!(benches);
