//! The finite-difference harness of the `train_*` tests: for random weights and inputs, the
//! gradient a model's generated sweep computes for `Σ r·y` (a random projection of every
//! output, plus an optional penalty) matches central differences, in f64. Weights that are not
//! trained (BatchNormalization's moving statistics, an adapted Normalization's mean and
//! variance) must get a zero gradient and are left out of the comparison.
#![allow(dead_code)]

use nn::init::Rng;
use nn::kernels::cpu;
use nn::tensor::Tensors;
use nn::train::{Trainable, Write};

/// What the sweep differentiates beyond the projection: a function of the outputs (flat, per
/// output) and the batch size.
pub type Penalty = fn(&[&[f64]], usize) -> f64;

/// `Σ_outputs Σ r·y` over the batch after a training forward pass, plus `penalty`.
fn projected<M: Trainable<Scalar = f64>>(
    model: &mut M,
    b: &mut M::Buffers,
    xs: &[M::Input],
    r: &[Vec<f64>],
    penalty: Option<Penalty>,
) -> f64 {
    model.forward_train(cpu::level(), b, xs, &mut Rng::new(7));
    let n = xs.len();
    let outputs: Vec<&[f64]> = (0..r.len()).map(|k| M::output(b, k, n)).collect();
    let projection: f64 =
        outputs.iter().zip(r).map(|(y, r)| y.iter().zip(r).map(|(y, r)| y * r).sum::<f64>()).sum();
    projection + penalty.map_or(0.0, |p| p(&outputs, n))
}

/// Which of the model's parameters (in `save_params` order) are trained.
fn trained<M: Trainable<Scalar = f64> + Clone>(model: &M) -> Vec<bool> {
    let mut marked = model.clone();
    marked.zip_trained(&mut M::zeros(), &mut |p, _| p.fill(f64::NAN));
    let mut params = vec![0.0; M::PARAMS];
    marked.save_params(&mut params).unwrap();
    params.iter().map(|p| p.is_nan()).collect()
}

/// The relative error `|a - n| / (|a| + |n|)` between the sweep's gradient and central
/// differences, over every trained weight.
pub fn gradient_error<M: Trainable<Scalar = f64> + Clone>(
    mut model: M,
    xs: &[M::Input],
    penalty: Option<Penalty>,
) -> f64 {
    let n = xs.len();
    let mut rng = Rng::new(99);
    let mut b = M::buffers(n);
    let trained = trained(&model);
    let mut params = vec![0.0; M::PARAMS];
    model.save_params(&mut params).unwrap();
    model.forward_train(cpu::level(), &mut b, xs, &mut Rng::new(7));
    let r: Vec<Vec<f64>> = (0..M::Output::COUNT)
        .map(|k| (0..M::output(&b, k, n).len()).map(|_| rng.next_f64() * 2.0 - 1.0).collect())
        .collect();
    for (k, r) in r.iter().enumerate() {
        M::output_grad(&mut b, k, n).copy_from_slice(r);
    }
    // What the sweep sets it writes over: trained weights' gradients start as NaN.
    let mut grads = M::zeros();
    model.clone().zip_trained(&mut grads, &mut |_, g| g.fill(f64::NAN));
    model.backward(cpu::level(), &mut b, xs, None, &mut grads, Write::Set);
    let mut analytic = vec![0.0; M::PARAMS];
    grads.save_params(&mut analytic).unwrap();
    // And what it adds (a nested model called twice) it adds: the same pass again doubles it.
    model.load_params(&params).unwrap();
    model.forward_train(cpu::level(), &mut b, xs, &mut Rng::new(7));
    for (k, r) in r.iter().enumerate() {
        M::output_grad(&mut b, k, n).copy_from_slice(r);
    }
    model.backward(cpu::level(), &mut b, xs, None, &mut grads, Write::Add);
    let mut twice = vec![0.0; M::PARAMS];
    grads.save_params(&mut twice).unwrap();
    for (i, (a, t)) in analytic.iter().zip(&twice).enumerate() {
        assert!((t - 2.0 * a).abs() <= 1e-9 * (1.0 + a.abs()), "parameter {i}: added {t}, once {a}");
    }

    // From the weights before the pass (it moved BatchNormalization's statistics).
    model.load_params(&params).unwrap();
    let eps = 1e-6;
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for i in 0..M::PARAMS {
        if !trained[i] {
            assert_eq!(analytic[i], 0.0, "a gradient for untrained parameter {i}");
            continue;
        }
        let mut p = params.clone();
        p[i] += eps;
        model.load_params(&p).unwrap();
        let up = projected(&mut model, &mut b, xs, &r, penalty);
        p[i] -= 2.0 * eps;
        model.load_params(&p).unwrap();
        let down = projected(&mut model, &mut b, xs, &r, penalty);
        let numeric = (up - down) / (2.0 * eps);
        diff += (numeric - analytic[i]).powi(2);
        norm += numeric.powi(2) + analytic[i].powi(2);
    }
    model.load_params(&params).unwrap();
    assert!(norm > 0.0, "every gradient is zero: the check would prove nothing");
    diff.sqrt() / norm.sqrt()
}

pub fn inputs<X: Tensors<f64>>(count: usize, seed: u64) -> Vec<X> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            let mut x = X::ZEROED;
            for i in 0..X::COUNT {
                let v: Vec<f64> = (0..X::len_of(i)).map(|_| rng.next_f64() * 2.0 - 1.0).collect();
                x.read_flat(i, &v).unwrap();
            }
            x
        })
        .collect()
}

pub fn check_inputs<M: Trainable<Scalar = f64> + Clone>(model: M, xs: &[M::Input], penalty: Option<Penalty>) {
    let error = gradient_error(model, xs, penalty);
    assert!(error <= 1e-6, "relative error {error:e}");
}

pub fn check<M: Trainable<Scalar = f64> + Clone>(model: M) {
    check_inputs(model, &inputs::<M::Input>(5, 3), None);
}
