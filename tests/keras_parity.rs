//! Every activation and the Dense layer against outputs computed by Keras 3 (jax backend), from
//! fixtures written by `scripts/make_fixtures.py`.

use nn::Layer;
use nn::activations::*;
use nn::layers::Dense;
use nn::nalgebra::{SVector, Vector4};

#[allow(clippy::approx_constant, dead_code)]
mod fx {
    include!("fixtures/activations.rs");
}

/// Keras's f32 results come from XLA, whose `exp`/`tanh` differ from libm by an ulp or two.
const TOL_F32: f64 = 1e-6;
const TOL_F64: f64 = 1e-14;

/// Largest `|got - want| / max(|want|, 1)`, asserting it stays within `tol`.
fn worst(name: &str, inputs: &[f64], got: &[f64], want: &[f64], tol: f64) -> f64 {
    assert_eq!(got.len(), want.len());
    let mut worst = 0.0f64;
    for ((x, g), w) in inputs.iter().zip(got).zip(want) {
        let err = (g - w).abs() / w.abs().max(1.0);
        assert!(err <= tol, "{name}({x}) = {g}, Keras says {w} (error {err:e})");
        worst = worst.max(err);
    }
    worst
}

fn check<A: Elementwise>(name: &str, act: A, inputs: &[f64], want32: &[f64], want64: &[f64]) {
    let got32: Vec<f64> = inputs.iter().map(|&x| act.eval(x as f32) as f64).collect();
    let got64: Vec<f64> = inputs.iter().map(|&x| act.eval(x)).collect();
    let w32 = worst(name, inputs, &got32, want32, TOL_F32);
    let w64 = worst(name, inputs, &got64, want64, TOL_F64);
    println!("{name:>16}: worst error f32 {w32:.1e}, f64 {w64:.1e}");
}

#[test]
fn elementwise_activations_match_keras_in_f32_and_f64() {
    let x = &fx::INPUTS;
    check("linear", Linear, x, &fx::LINEAR_F32, &fx::LINEAR_F64);
    check("relu", Relu, x, &fx::RELU_F32, &fx::RELU_F64);
    let opts = ReluOptions { negative_slope: 0.1, max_value: 6.0, threshold: 0.5 };
    check("relu(options)", opts, x, &fx::RELU_OPTS_F32, &fx::RELU_OPTS_F64);
    check("relu6", Relu6, x, &fx::RELU6_F32, &fx::RELU6_F64);
    check("sigmoid", Sigmoid, x, &fx::SIGMOID_F32, &fx::SIGMOID_F64);
    check("tanh", Tanh, x, &fx::TANH_F32, &fx::TANH_F64);
    check("leaky_relu", LeakyRelu::DEFAULT, x, &fx::LEAKY_RELU_F32, &fx::LEAKY_RELU_F64);
    let leaky = LeakyRelu { negative_slope: 0.1 };
    check("leaky_relu(0.1)", leaky, x, &fx::LEAKY_RELU_01_F32, &fx::LEAKY_RELU_01_F64);
    check("elu", Elu::DEFAULT, x, &fx::ELU_F32, &fx::ELU_F64);
    check("elu(0.5)", Elu { alpha: 0.5 }, x, &fx::ELU_05_F32, &fx::ELU_05_F64);
    check("selu", Selu, x, &fx::SELU_F32, &fx::SELU_F64);
    check("gelu", Gelu, x, &fx::GELU_F32, &fx::GELU_F64);
    check("gelu(tanh)", GeluTanh, x, &fx::GELU_TANH_F32, &fx::GELU_TANH_F64);
    check("silu", Silu, x, &fx::SILU_F32, &fx::SILU_F64);
    check("softplus", Softplus, x, &fx::SOFTPLUS_F32, &fx::SOFTPLUS_F64);
    check("softsign", Softsign, x, &fx::SOFTSIGN_F32, &fx::SOFTSIGN_F64);
    check("hard_sigmoid", HardSigmoid, x, &fx::HARD_SIGMOID_F32, &fx::HARD_SIGMOID_F64);
    check("hard_silu", HardSilu, x, &fx::HARD_SILU_F32, &fx::HARD_SILU_F64);
    check("mish", Mish, x, &fx::MISH_F32, &fx::MISH_F64);
    check("celu", Celu::DEFAULT, x, &fx::CELU_F32, &fx::CELU_F64);
    check("celu(0.5)", Celu { alpha: 0.5 }, x, &fx::CELU_05_F32, &fx::CELU_05_F64);
    check("hard_tanh", HardTanh, x, &fx::HARD_TANH_F32, &fx::HARD_TANH_F64);
    check("log_sigmoid", LogSigmoid, x, &fx::LOG_SIGMOID_F32, &fx::LOG_SIGMOID_F64);
    check("sparse_plus", SparsePlus, x, &fx::SPARSE_PLUS_F32, &fx::SPARSE_PLUS_F64);
    check("squareplus", Squareplus::DEFAULT, x, &fx::SQUAREPLUS_F32, &fx::SQUAREPLUS_F64);
    check("squareplus(1)", Squareplus { b: 1.0 }, x, &fx::SQUAREPLUS_1_F32, &fx::SQUAREPLUS_1_F64);
    check("tanh_shrink", TanhShrink, x, &fx::TANH_SHRINK_F32, &fx::TANH_SHRINK_F64);
    check("hard_shrink", HardShrink::DEFAULT, x, &fx::HARD_SHRINK_F32, &fx::HARD_SHRINK_F64);
    let hard_shrink = HardShrink { threshold: 1.0 };
    check("hard_shrink(1)", hard_shrink, x, &fx::HARD_SHRINK_1_F32, &fx::HARD_SHRINK_1_F64);
    check("soft_shrink", SoftShrink::DEFAULT, x, &fx::SOFT_SHRINK_F32, &fx::SOFT_SHRINK_F64);
    let soft_shrink = SoftShrink { threshold: 1.0 };
    check("soft_shrink(1)", soft_shrink, x, &fx::SOFT_SHRINK_1_F32, &fx::SOFT_SHRINK_1_F64);
    let threshold = Threshold { threshold: 0.5, default_value: -2.0 };
    check("threshold", threshold, x, &fx::THRESHOLD_F32, &fx::THRESHOLD_F64);
    let threshold = Threshold { threshold: -1.0, default_value: 0.0 };
    check("threshold(-1, 0)", threshold, x, &fx::THRESHOLD_NEG_F32, &fx::THRESHOLD_NEG_F64);
    let e = &fx::EXP_INPUTS;
    check("exponential", Exponential, e, &fx::EXPONENTIAL_F32, &fx::EXPONENTIAL_F64);
}

fn check_rows<A: ActivationFn>(name: &str, act: A, want32: &[[f64; 4]], want64: &[[f64; 4]]) {
    let (mut w32, mut w64) = (0.0f64, 0.0f64);
    for ((row, r32), r64) in fx::SOFTMAX_INPUTS.iter().zip(want32).zip(want64) {
        let mut v32: Vector4<f32> = SVector::from_fn(|i, _| row[i] as f32);
        act.apply(&mut v32);
        let got32: Vec<f64> = v32.iter().map(|v| *v as f64).collect();
        w32 = w32.max(worst(name, row, &got32, r32, TOL_F32));
        let mut v64 = Vector4::from_row_slice(row);
        act.apply(&mut v64);
        w64 = w64.max(worst(name, row, v64.as_slice(), r64, TOL_F64));
    }
    println!("{name:>16}: worst error f32 {w32:.1e}, f64 {w64:.1e}");
}

#[test]
fn softmax_and_log_softmax_match_keras_including_huge_inputs() {
    check_rows("softmax", Softmax, &fx::SOFTMAX_F32, &fx::SOFTMAX_F64);
    check_rows("log_softmax", LogSoftmax, &fx::LOG_SOFTMAX_F32, &fx::LOG_SOFTMAX_F64);
}

#[test]
fn dense_with_tanh_matches_keras() {
    let kernel32 = fx::DENSE_KERNEL.map(|row| row.map(|v| v as f32));
    let dense32 = Dense::<f32, 4, 3, Tanh>::from_arrays(kernel32, fx::DENSE_BIAS.map(|v| v as f32));
    let y32 = dense32.forward(&SVector::from(fx::DENSE_INPUT.map(|v| v as f32)));
    let got32: Vec<f64> = y32.iter().map(|v| *v as f64).collect();
    let w32 = worst("dense", &fx::DENSE_INPUT, &got32, &fx::DENSE_OUTPUT_F32, TOL_F32);

    let dense64 = Dense::<f64, 4, 3, Tanh>::from_arrays(fx::DENSE_KERNEL, fx::DENSE_BIAS);
    let y64 = dense64.forward(&SVector::from(fx::DENSE_INPUT));
    let w64 = worst("dense", &fx::DENSE_INPUT, y64.as_slice(), &fx::DENSE_OUTPUT_F64, TOL_F64);
    println!("dense(tanh): worst error f32 {w32:.1e}, f64 {w64:.1e}");
}
