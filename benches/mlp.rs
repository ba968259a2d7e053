//! M1 (16→64→64→8) and M2 (784→128→64→10) relu MLPs, batch 1 and batch 64, each beside
//! hand-written nalgebra and plain-array baselines with the same weights, in the same run.
//! Run with `cargo bench --bench mlp`; see BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nn::prelude::*;
use std::hint::black_box;

sequential! {
    struct M1 { Input<16>, Dense<64, relu>, Dense<64, relu>, Dense<8> }
}

sequential! {
    struct M2 { Input<784>, Dense<128, relu>, Dense<64, relu>, Dense<10> }
}

/// A hand-written layer over nalgebra: `relu(W · x + b)` with `W` as `OUT × IN`.
struct NaLayer<const IN: usize, const OUT: usize> {
    w: SMatrix<f32, OUT, IN>,
    b: SVector<f32, OUT>,
}

impl<const IN: usize, const OUT: usize> NaLayer<IN, OUT> {
    fn from(d: &Dense<f32, IN, OUT, impl Copy, true>) -> Box<Self> {
        Box::new(NaLayer { w: d.kernel, b: d.bias })
    }
    #[inline(always)]
    fn forward(&self, x: &SVector<f32, IN>, relu: bool) -> SVector<f32, OUT> {
        let y = self.w * x + self.b;
        if relu { y.map(|v| v.max(0.0)) } else { y }
    }
}

/// A hand-written layer over plain arrays, the axpy loop: `y += x[i] * W[i]`.
struct ArrLayer<const IN: usize, const OUT: usize> {
    w: [[f32; OUT]; IN],
    b: [f32; OUT],
}

impl<const IN: usize, const OUT: usize> ArrLayer<IN, OUT> {
    fn from(d: &Dense<f32, IN, OUT, impl Copy, true>) -> Box<Self> {
        let mut l = Box::new(ArrLayer { w: [[0.0; OUT]; IN], b: [0.0; OUT] });
        l.w = d.kernel.data.0;
        l.b.copy_from_slice(d.bias.as_slice());
        l
    }
    #[inline(always)]
    fn forward(&self, x: &[f32; IN], relu: bool) -> [f32; OUT] {
        let mut y = self.b;
        for (xi, row) in x.iter().zip(&self.w) {
            for (a, w) in y.iter_mut().zip(row) {
                *a += xi * w;
            }
        }
        if relu {
            for v in &mut y {
                *v = v.max(0.0);
            }
        }
        y
    }
}

macro_rules! mlp_bench {
    ($fn_name:ident, $model:ident, $group:literal, $i:literal, $h1:literal, $h2:literal, $o:literal) => {
        fn $fn_name(c: &mut Criterion) {
            let model = $model::boxed_seeded(1);
            let (na1, na2, na3) = (NaLayer::from(&model.dense), NaLayer::from(&model.dense_1), NaLayer::from(&model.dense_2));
            let (ar1, ar2, ar3) =
                (ArrLayer::from(&model.dense), ArrLayer::from(&model.dense_1), ArrLayer::from(&model.dense_2));
            let x = SVector::<f32, $i>::from_fn(|i, _| ((i * 37) % 17) as f32 / 17.0 - 0.5);
            let xa: [f32; $i] = x.data.0[0];
            // The three implementations agree before they race.
            let ours = model.predict(&x);
            let na = na3.forward(&na2.forward(&na1.forward(&x, true), true), false);
            let ar = ar3.forward(&ar2.forward(&ar1.forward(&xa, true), true), false);
            assert!((ours - na).amax() < 1e-4 && ours.iter().zip(&ar).all(|(a, b)| (a - b).abs() < 1e-4));

            let mut g = c.benchmark_group(concat!($group, "/batch1"));
            g.throughput(Throughput::Elements(1));
            g.bench_function("nn", |b| b.iter(|| model.predict(black_box(&x))));
            g.bench_function("hand_nalgebra", |b| {
                b.iter(|| na3.forward(&na2.forward(&na1.forward(black_box(&x), true), true), false))
            });
            g.bench_function("hand_arrays", |b| {
                b.iter(|| ar3.forward(&ar2.forward(&ar1.forward(black_box(&xa), true), true), false))
            });
            g.finish();

            const B: usize = 64;
            let xs: Vec<SVector<f32, $i>> =
                (0..B).map(|s| SVector::from_fn(|i, _| (((i + s) * 37) % 17) as f32 / 17.0 - 0.5)).collect();
            let xas: Vec<[f32; $i]> = xs.iter().map(|x| x.data.0[0]).collect();
            let mut ys = vec![SVector::<f32, $o>::zeros(); B];
            let mut yas = vec![[0.0f32; $o]; B];
            let mut g = c.benchmark_group(concat!($group, "/batch64"));
            g.throughput(Throughput::Elements(B as u64));
            g.bench_with_input(BenchmarkId::new("nn", B), &xs, |b, xs| {
                b.iter(|| model.predict_batch(black_box(xs), &mut ys).unwrap())
            });
            g.bench_with_input(BenchmarkId::new("hand_nalgebra", B), &xs, |b, xs| {
                b.iter(|| {
                    for (x, y) in black_box(xs).iter().zip(ys.iter_mut()) {
                        *y = na3.forward(&na2.forward(&na1.forward(x, true), true), false);
                    }
                })
            });
            g.bench_with_input(BenchmarkId::new("hand_arrays", B), &xas, |b, xas| {
                b.iter(|| {
                    for (x, y) in black_box(xas).iter().zip(yas.iter_mut()) {
                        *y = ar3.forward(&ar2.forward(&ar1.forward(x, true), true), false);
                    }
                })
            });
            g.finish();
        }
    };
}

mlp_bench!(m1, M1, "M1", 16, 64, 64, 8);
mlp_bench!(m2, M2, "M2", 784, 128, 64, 10);

/// The machine's f32 peak at each instruction-set level it has, measured in the same run:
/// 16 independent chains of AVX-512 FMAs, 12 of AVX2 FMAs, and 12 of SSE multiplies and adds
/// (what the portable build's vectorized loops have without `-C target-cpu`), no memory
/// traffic. Throughput is in FLOPs, so criterion's elements/s is FLOP/s.
/// One cache line of floats.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Line([f32; 16]);

#[cfg(target_arch = "x86_64")]
fn peak(c: &mut Criterion) {
    use std::arch::x86_64::*;
    const ITERS: u64 = 100_000;

    #[target_feature(enable = "avx512f")]
    fn fma512(a: f32) -> f32 {
        let mut acc = [_mm512_set1_ps(0.0); 16];
        let (m, b) = (_mm512_set1_ps(a), _mm512_set1_ps(1e-7));
        // Indexed loops and an indexed sum: other shapes made the compiler rotate or spill the
        // accumulators, and the loop then measured register moves instead of FMAs.
        #[allow(clippy::needless_range_loop)]
        for _ in 0..ITERS {
            for r in 0..16 {
                acc[r] = _mm512_fmadd_ps(acc[r], m, b);
            }
        }
        let mut sum = _mm512_setzero_ps();
        #[allow(clippy::needless_range_loop)]
        for r in 0..16 {
            sum = _mm512_add_ps(sum, acc[r]);
        }
        _mm512_reduce_add_ps(sum)
    }

    #[target_feature(enable = "avx2,fma")]
    fn fma256(a: f32) -> f32 {
        let mut acc = [_mm256_set1_ps(0.0); 12];
        let (m, b) = (_mm256_set1_ps(a), _mm256_set1_ps(1e-7));
        #[allow(clippy::needless_range_loop)]
        for _ in 0..ITERS {
            for r in 0..12 {
                acc[r] = _mm256_fmadd_ps(acc[r], m, b);
            }
        }
        let mut sum = _mm256_setzero_ps();
        #[allow(clippy::needless_range_loop)]
        for r in 0..12 {
            sum = _mm256_add_ps(sum, acc[r]);
        }
        let mut out = [0.0f32; 8];
        // SAFETY: `out` holds eight floats.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
        out.iter().sum()
    }

    fn mul_add128(a: f32) -> f32 {
        // SAFETY: SSE is part of x86-64.
        unsafe {
            let mut acc = [_mm_set1_ps(0.0); 12];
            let (m, b) = (_mm_set1_ps(a), _mm_set1_ps(1e-7));
            #[allow(clippy::needless_range_loop)]
            for _ in 0..ITERS {
                for r in 0..12 {
                    acc[r] = _mm_add_ps(_mm_mul_ps(acc[r], m), b);
                }
            }
            let mut sum = _mm_setzero_ps();
            #[allow(clippy::needless_range_loop)]
            for r in 0..12 {
                sum = _mm_add_ps(sum, acc[r]);
            }
            let mut out = [0.0f32; 4];
            _mm_storeu_ps(out.as_mut_ptr(), sum);
            out.iter().sum()
        }
    }

    /// Sums `blocks` with eight independent AVX-512 adds: a bare read of them.
    #[target_feature(enable = "avx512f")]
    fn read512(blocks: &[Line]) -> f32 {
        let mut acc = [_mm512_setzero_ps(); 8];
        #[allow(clippy::needless_range_loop)]
        for eight in blocks.chunks_exact(8) {
            for r in 0..8 {
                // SAFETY: a `Line` is 16 aligned floats.
                acc[r] = _mm512_add_ps(acc[r], unsafe { _mm512_load_ps(eight[r].0.as_ptr()) });
            }
        }
        let mut sum = _mm512_setzero_ps();
        #[allow(clippy::needless_range_loop)]
        for r in 0..8 {
            sum = _mm512_add_ps(sum, acc[r]);
        }
        _mm512_reduce_add_ps(sum)
    }

    let mut g = c.benchmark_group("peak");
    if is_x86_feature_detected!("avx512f") {
        // The one-sample limit of a layer too large for L1: reading its weights once. M2's
        // 109,386 weights (428 KiB) sit in L2 after the first call, as in `M2/batch1`.
        let lines = vec![Line([0.5; 16]); 109_386usize.div_ceil(128) * 8];
        g.throughput(Throughput::Bytes((lines.len() * 64) as u64));
        // SAFETY: the CPU has AVX-512F.
        g.bench_function("read_m2_weights", |b| b.iter(|| unsafe { read512(black_box(&lines)) }));
        g.throughput(Throughput::Elements(ITERS * 16 * 16 * 2));
        // SAFETY: the CPU has AVX-512F.
        g.bench_function("fma_f32_avx512", |b| b.iter(|| unsafe { fma512(black_box(0.999_999)) }));
    }
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        g.throughput(Throughput::Elements(ITERS * 12 * 8 * 2));
        // SAFETY: the CPU has AVX2 and FMA.
        g.bench_function("fma_f32_avx2", |b| b.iter(|| unsafe { fma256(black_box(0.999_999)) }));
    }
    g.throughput(Throughput::Elements(ITERS * 12 * 4 * 2));
    g.bench_function("mul_add_f32_sse", |b| b.iter(|| mul_add128(black_box(0.999_999))));
    g.finish();
}

#[cfg(not(target_arch = "x86_64"))]
fn peak(_: &mut Criterion) {}

criterion_group!(benches, m1, m2, peak);
criterion_main!(benches);
