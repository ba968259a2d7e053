//! Weight initializers through the DSL and `keras_model!`: each layer draws its weights from the
//! initializers it names, with Keras's fans, in weight order from the model's one generator;
//! the same seed gives bit-identical weights; and Keras's own draws (a `.keras` file
//! initialized by Keras) pass the same distribution checks as nn's.

use nn::init::{Initializer, Rng};
use nn::prelude::*;

sequential! {
    /// Every initializer, and each option form.
    pub struct Every {
        Input<12>,
        Dense<16, relu, kernel_initializer = he_normal, bias_initializer = zeros>,
        Dense<16, kernel_initializer = he_uniform, bias_initializer = ones>,
        Dense<16, kernel_initializer = glorot_normal, bias_initializer = constant(0.1)>,
        Dense<16, kernel_initializer = lecun_normal, bias_initializer = random_normal(mean = 0.5, stddev = 0.1)>,
        Dense<16, kernel_initializer = lecun_uniform, bias_initializer = random_uniform(minval = -0.1, maxval = 0.2)>,
        Dense<16, kernel_initializer = orthogonal(gain = 2.0), bias_initializer = truncated_normal(0.0, 0.2)>,
        Dense<16, kernel_initializer = random_normal, bias_initializer = uniform>,
        Dense<16, kernel_initializer = truncated_normal(stddev = 0.1), bias_initializer = constant(value = -1)>,
        Dense<8, kernel_initializer = random_uniform(-0.2, 0.2), use_bias = false>,
        Dense<4, softmax, kernel_initializer = glorot_uniform, bias_initializer = zero>,
        Dense<4, bias_initializer = one>,
    }
}

/// Each Dense layer of `Every`: its kernel's and bias's initializers, inputs, units, bias.
const EVERY: [(Initializer, Initializer, usize, usize, bool); 11] = [
    (Initializer::HeNormal, Initializer::Zeros, 12, 16, true),
    (Initializer::HeUniform, Initializer::Ones, 16, 16, true),
    (Initializer::GlorotNormal, Initializer::Constant { value: 0.1 }, 16, 16, true),
    (Initializer::LecunNormal, Initializer::RandomNormal { mean: 0.5, stddev: 0.1 }, 16, 16, true),
    (Initializer::LecunUniform, Initializer::RandomUniform { minval: -0.1, maxval: 0.2 }, 16, 16, true),
    (
        Initializer::Orthogonal { gain: 2.0 },
        Initializer::TruncatedNormal { mean: 0.0, stddev: 0.2 },
        16,
        16,
        true,
    ),
    (Initializer::RANDOM_NORMAL, Initializer::RANDOM_UNIFORM, 16, 16, true),
    (
        Initializer::TruncatedNormal { mean: 0.0, stddev: 0.1 },
        Initializer::Constant { value: -1.0 },
        16,
        16,
        true,
    ),
    (Initializer::RandomUniform { minval: -0.2, maxval: 0.2 }, Initializer::Zeros, 16, 8, false),
    (Initializer::GlorotUniform, Initializer::Zeros, 8, 4, true),
    (Initializer::GlorotUniform, Initializer::Ones, 4, 4, true),
];

fn weights<M: Model<Scalar = f32>>(model: &M) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    model.visit_weights(&mut |_, w| out.push(w.data.to_vec()));
    out
}

fn bits(weights: &[Vec<f32>]) -> Vec<Vec<u32>> {
    weights.iter().map(|w| w.iter().map(|v| v.to_bits()).collect()).collect()
}

/// The weights a model of Dense layers `layers` gets from `seed`: kernel then bias of each layer
/// in order, from one generator, fans `(in, units)` and `(units, units)` as Keras computes them.
fn replay(seed: u64, layers: &[(Initializer, Initializer, usize, usize, bool)]) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for &(kernel, bias, inputs, units, use_bias) in layers {
        let mut k = vec![0.0f32; inputs * units];
        kernel.fill(&mut k, inputs, units, &mut rng);
        out.push(k);
        if use_bias {
            let mut b = vec![0.0f32; units];
            bias.fill(&mut b, units, units, &mut rng);
            out.push(b);
        }
    }
    out
}

#[test]
fn each_layer_draws_from_its_initializers_in_weight_order() {
    for seed in [0, 1, 42] {
        let model = Every::seeded(seed);
        assert_eq!(bits(&weights(&model)), bits(&replay(seed, &EVERY)), "seed {seed}");
    }
}

#[test]
fn the_same_seed_gives_bit_identical_weights() {
    assert_eq!(bits(&weights(&Every::seeded(9))), bits(&weights(&Every::seeded(9))));
    assert_ne!(bits(&weights(&Every::seeded(9))), bits(&weights(&Every::seeded(10))));
    // On the heap too.
    assert_eq!(bits(&weights(&*Every::boxed_seeded(9))), bits(&weights(&Every::seeded(9))));
}

sequential! {
    struct Defaults { Input<12>, Dense<16, relu>, Dense<4, kernel_initializer = glorot_uniform, bias_initializer = zeros> }
}
sequential! {
    struct Plain { Input<12>, Dense<16, relu>, Dense<4> }
}

#[test]
fn keras_defaults_draw_what_a_layer_without_initializers_draws() {
    let plain = replay(3, &[(Initializer::GlorotUniform, Initializer::Zeros, 12, 16, true); 1]);
    assert_eq!(bits(&weights(&Plain::seeded(3)))[..2], bits(&plain)[..]);
    assert_eq!(bits(&weights(&Defaults::seeded(3))), bits(&weights(&Plain::seeded(3))));
}

sequential! {
    /// A wrapped layer gets its initializers.
    struct Wrapped { Input<5, 4>, TimeDistributed<Dense<8, kernel_initializer = he_uniform, bias_initializer = ones>>, Flatten, Dense<2> }
}

#[test]
fn a_wrapped_layer_draws_from_its_initializers() {
    let want = replay(
        5,
        &[
            (Initializer::HeUniform, Initializer::Ones, 4, 8, true),
            (Initializer::GlorotUniform, Initializer::Zeros, 40, 2, true),
        ],
    );
    assert_eq!(bits(&weights(&Wrapped::seeded(5))), bits(&want));
}

#[test]
fn an_orthogonal_kernel_in_a_model_is_orthogonal() {
    // Layer 6's kernel, 16 × 16, gain 2: WᵀW = 4·I.
    let w = &weights(&Every::seeded(1))[10];
    for a in 0..16 {
        for b in 0..16 {
            let dot: f64 = (0..16).map(|i| w[i * 16 + a] as f64 * w[i * 16 + b] as f64).sum();
            let want = if a == b { 4.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-5, "({a}, {b}): {dot}");
        }
    }
}

// A model Keras initialized (scripts/make_init_fixture.py): he_normal, orthogonal(gain = 2)
// with constant(0.1), lecun_uniform with random_uniform(-0.1, 0.2), truncated_normal(stddev =
// 0.2) with ones, glorot_normal(seed = 3) with random_normal(0.5, 0.1).
nn::keras_model! { pub struct KerasInit = "tests/fixtures/keras/initializers.keras"; }

sequential! {
    /// The same model in the DSL.
    pub struct DslInit {
        Input<32>,
        he: Dense<64, relu, kernel_initializer = he_normal>,
        orthogonal: Dense<32, kernel_initializer = orthogonal(gain = 2.0), bias_initializer = constant(0.1)>,
        lecun: Dense<32, tanh, kernel_initializer = lecun_uniform, bias_initializer = random_uniform(-0.1, 0.2)>,
        truncated: Dense<16, kernel_initializer = truncated_normal(stddev = 0.2), bias_initializer = ones>,
        glorot: Dense<4, softmax, kernel_initializer = glorot_normal, bias_initializer = random_normal(0.5, 0.1)>,
    }
}

#[test]
fn keras_model_reads_the_initializers_of_its_config() {
    for seed in [0, 7] {
        assert_eq!(bits(&weights(&KerasInit::seeded(seed))), bits(&weights(&DslInit::seeded(seed))));
    }
    // Not Keras's draws, which nn cannot reproduce.
    assert_ne!(bits(&weights(&KerasInit::seeded(7))), bits(&weights(&KerasInit::KERAS)));
}

fn variance(w: &[f32]) -> f64 {
    let n = w.len() as f64;
    let mean = w.iter().map(|v| *v as f64).sum::<f64>() / n;
    w.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / n
}

fn within(w: &[f32], lo: f64, hi: f64) -> bool {
    w.iter().all(|v| (lo..=hi).contains(&(*v as f64)))
}

/// Checks `KerasInit`'s weights against its initializers' formulas: bounds, variances within
/// 15% (over 512 to 2048 draws, at least four standard errors), orthogonality.
fn check_distributions(w: &[Vec<f32>], whose: &str) {
    const T: f64 = 0.879_625_661_034_239_8; // stddev of a normal truncated at ±2
    // he_normal over (32, 64): variance 2/32, truncated at 2·sqrt(2/32)/T.
    let bound = 2.0 * (2.0f64 / 32.0).sqrt() / T;
    assert!(within(&w[0], -bound, bound), "{whose}: he_normal bound");
    assert!((variance(&w[0]) / (2.0 / 32.0) - 1.0).abs() < 0.15, "{whose}: he_normal {}", variance(&w[0]));
    assert!(w[1].iter().all(|b| *b == 0.0));
    // orthogonal(gain = 2) over (64, 32): orthogonal columns of norm 2.
    for a in 0..32 {
        for b in 0..32 {
            let dot: f64 = (0..64).map(|i| w[2][i * 32 + a] as f64 * w[2][i * 32 + b] as f64).sum();
            let want = if a == b { 4.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-4, "{whose}: orthogonal ({a}, {b}) {dot}");
        }
    }
    assert!(w[3].iter().all(|b| *b == 0.1));
    // lecun_uniform over (32, 32): limit sqrt(3/32), variance 1/32.
    let limit = (3.0f64 / 32.0).sqrt();
    assert!(within(&w[4], -limit, limit), "{whose}: lecun_uniform bound");
    assert!((variance(&w[4]) * 32.0 - 1.0).abs() < 0.15, "{whose}: lecun_uniform {}", variance(&w[4]));
    assert!(within(&w[5], -0.1, 0.2), "{whose}: random_uniform bias");
    // truncated_normal(stddev = 0.2) over (32, 16): within 0.4, variance (0.2·T)².
    assert!(within(&w[6], -0.4, 0.4), "{whose}: truncated_normal bound");
    let want = (0.2 * T) * (0.2 * T);
    assert!((variance(&w[6]) / want - 1.0).abs() < 0.15, "{whose}: truncated_normal {}", variance(&w[6]));
    assert!(w[7].iter().all(|b| *b == 1.0));
    // glorot_normal over (16, 4): variance 2/20, truncated at 2·sqrt(2/20)/T (64 draws: bound
    // only).
    let bound = 2.0 * (2.0f64 / 20.0).sqrt() / T;
    assert!(within(&w[8], -bound, bound), "{whose}: glorot_normal bound");
    let mean = w[9].iter().map(|v| *v as f64).sum::<f64>() / 4.0;
    assert!((mean - 0.5).abs() < 0.3, "{whose}: random_normal bias {mean}");
}

#[test]
fn keras_draws_and_nn_draws_pass_the_same_distribution_checks() {
    check_distributions(&weights(&KerasInit::KERAS), "Keras");
    for seed in [0, 1, 2] {
        check_distributions(&weights(&KerasInit::seeded(seed)), &format!("nn seed {seed}"));
    }
}

sequential! {
    struct Embedded { Input<4>, Embedding<10, 3, embeddings_initializer = random_normal(stddev = 0.5)>, Flatten, Dense<1> }
}

#[test]
fn embeddings_take_their_initializer() {
    let model = Embedded::seeded(3);
    let table = model.embedding.embeddings.as_flattened();
    let mean = table.iter().sum::<f32>() / table.len() as f32;
    let var = table.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / table.len() as f32;
    // 30 draws of N(0, 0.25): far from the default uniform(-0.05, 0.05).
    assert!(var > 0.05 && var < 0.6, "variance {var}");
    assert_eq!(Embedded::seeded(3), model);
}

sequential! {
    struct Convs {
        Input<8, 8, 2>, Conv2D<16, 3, kernel_initializer = he_normal, bias_initializer = constant(0.1)>,
        SeparableConv2D<4, 3, depthwise_initializer = ones, pointwise_initializer = zeros>, Flatten, Dense<1>
    }
}

#[test]
fn convolutions_take_their_initializers() {
    let model = Convs::seeded(4);
    let kernel = model.conv2d.kernel.as_flattened().as_flattened().as_flattened();
    // he_normal: a truncated normal of variance about 2 / fan_in, fan_in = 3·3·2.
    let var = kernel.iter().map(|v| v * v).sum::<f32>() / kernel.len() as f32;
    assert!((var - 2.0 / 18.0).abs() < 0.04, "variance {var}");
    assert!(model.conv2d.bias.iter().all(|b| *b == 0.1));
    let sep = &model.separable_conv2d;
    assert!(sep.depthwise.kernel.as_flattened().as_flattened().as_flattened().iter().all(|w| *w == 1.0));
    assert!(sep.pointwise.as_flattened().iter().all(|w| *w == 0.0));
    assert_eq!(Convs::seeded(4), model);
}
