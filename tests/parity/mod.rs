//! The Keras parity harness shared by the layer-family tests: each case is written in the DSL
//! and compiled from its `.keras` file with `keras_model!`, and both must reproduce
//! `model.predict` from the fixtures, count Keras's parameters (trainable or not), name and shape
//! the weights as Keras does, and read and write Keras's weight files. A test file declares
//! `mod fx` (its generated fixtures) and `const DIR` (their folder) before using the macros.

use nn::Zeroable;
use nn::prelude::*;
use nn::tensor::Tensors;

const TOLERANCE: f64 = 1e-5;

/// One fixture's data.
pub struct Fixture {
    pub name: &'static str,
    pub inputs: &'static [&'static [&'static [f64]]],
    /// Each output's samples.
    pub outputs: &'static [&'static [&'static [f64]]],
    pub params: usize,
    pub layers: &'static [&'static str],
    pub weights: &'static [(&'static str, &'static [usize])],
    pub flat_weights: &'static [f64],
    /// Keras's count of the weights that are not trained.
    pub non_trainable: usize,
    pub dir: &'static str,
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|x| *x as f32).collect()
}

/// Checks `model` against Keras's outputs through `predict_flat`, `predict` and
/// `predict_flat_batch`; returns the worst error.
fn worst_error<M: Model<Scalar = f32>>(model: &M, fx: &Fixture) -> f64 {
    let samples = fx.outputs[0].len();
    let lens: Vec<usize> = fx.outputs.iter().map(|o| o[0].len()).collect();
    let zeros = |n: usize| -> Vec<Vec<f32>> { lens.iter().map(|l| vec![0.0f32; n * l]).collect() };
    let mut worst = 0.0f64;
    let mut compare = |got: &[Vec<f32>], sample: Option<usize>| {
        for (g, o) in got.iter().zip(fx.outputs) {
            let want: Vec<f64> = match sample {
                Some(s) => o[s].to_vec(),
                None => o.iter().flat_map(|s| s.iter().copied()).collect(),
            };
            for (g, w) in g.iter().zip(&want) {
                worst = worst.max((*g as f64 - w).abs());
            }
        }
    };
    for s in 0..samples {
        let xs: Vec<Vec<f32>> = fx.inputs.iter().map(|x| f32s(x[s])).collect();
        let refs: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
        let mut ys = zeros(1);
        let mut outs: Vec<&mut [f32]> = ys.iter_mut().map(Vec::as_mut_slice).collect();
        model.predict_flat(&refs, &mut outs).unwrap();
        compare(&ys, Some(s));
        // `predict` on the typed input gives exactly what `predict_flat` gave.
        let mut x = M::Input::ZEROED;
        for (i, part) in xs.iter().enumerate() {
            x.read_flat(i, part).unwrap();
        }
        let y = model.predict(&x);
        let mut typed = zeros(1);
        for (i, t) in typed.iter_mut().enumerate() {
            y.write_flat(i, t);
        }
        assert_eq!(typed, ys, "{}: predict and predict_flat differ", fx.name);
    }
    // The whole batch at once, laid out as Keras's `(batch, ...)` arrays.
    let batch: Vec<Vec<f32>> = fx.inputs.iter().map(|x| x.iter().flat_map(|s| f32s(s)).collect()).collect();
    let refs: Vec<&[f32]> = batch.iter().map(Vec::as_slice).collect();
    let mut ys = zeros(samples);
    let mut outs: Vec<&mut [f32]> = ys.iter_mut().map(Vec::as_mut_slice).collect();
    model.predict_flat_batch(&refs, &mut outs).unwrap();
    compare(&ys, None);
    // Wrong lengths are errors, never a panic.
    let short = &batch[0][..batch[0].len() - 1];
    let mut rest: Vec<&[f32]> = refs.clone();
    rest[0] = short;
    let mut one = zeros(1);
    let mut outs: Vec<&mut [f32]> = one.iter_mut().map(Vec::as_mut_slice).collect();
    assert!(model.predict_flat(&rest, &mut outs).is_err());
    assert!(model.predict_flat(&refs[..refs.len() - 1], &mut outs).is_err());
    let mut outs: Vec<&mut [f32]> = ys.iter_mut().map(Vec::as_mut_slice).collect();
    assert!(model.predict_flat_batch(&rest, &mut outs).is_err());
    worst
}

/// The DSL model with Keras's weights loaded three ways, and the model compiled from the
/// `.keras` file, all against Keras.
pub fn check<D: Model<Scalar = f32> + Zeroable + PartialEq, K: Model<Scalar = f32>>(keras: &K, fx: &Fixture) {
    assert_eq!(D::PARAMS, fx.params, "{}: parameters", fx.name);
    assert_eq!(K::PARAMS, fx.params, "{}: parameters of the .keras model", fx.name);
    assert_eq!(D::NON_TRAINABLE, fx.non_trainable, "{}: non-trainable parameters", fx.name);
    assert_eq!(
        K::NON_TRAINABLE,
        fx.non_trainable,
        "{}: non-trainable parameters of the .keras model",
        fx.name
    );
    let names: Vec<&str> =
        D::LAYERS.iter().map(|l| l.name).filter(|n| !n.starts_with("input_layer")).collect();
    let want: Vec<&str> = fx.layers.iter().copied().filter(|n| !n.starts_with("input_layer")).collect();
    assert_eq!(names, want, "{}: layer names", fx.name);

    let mut dsl = D::boxed_zeros();
    let mut seen = Vec::new();
    dsl.visit_weights(&mut |layer, w| seen.push((format!("{layer}/{}", w.name), w.shape.to_vec())));
    let want: Vec<(String, Vec<usize>)> =
        fx.weights.iter().map(|(n, s)| (n.to_string(), s.to_vec())).collect();
    assert_eq!(seen, want, "{}: weight names and shapes", fx.name);

    dsl.load_params(&f32s(fx.flat_weights)).unwrap();
    let flat = worst_error(&*dsl, fx);
    let compiled = worst_error(keras, fx);

    // Keras's own files: read, write, read back.
    let path = |ext: &str| format!("tests/fixtures/keras/{}/{}.{ext}", fx.dir, fx.name);
    let mut from_h5 = D::boxed_zeros();
    from_h5.load_keras_weights(&std::fs::read(path("weights.h5")).unwrap()).unwrap();
    let mut from_st = D::boxed_zeros();
    from_st.load_safetensors(&std::fs::read(path("safetensors")).unwrap()).unwrap();
    let mut from_archive = D::boxed_zeros();
    from_archive.load_keras(&std::fs::read(path("keras")).unwrap()).unwrap();
    let mut params = vec![0.0f32; D::PARAMS];
    for model in [&from_h5, &from_st, &from_archive] {
        model.save_params(&mut params).unwrap();
        assert_eq!(params, f32s(fx.flat_weights), "{}: weights from a Keras file", fx.name);
    }
    let mut again = D::boxed_zeros();
    let written = dsl.to_keras_weights().unwrap();
    if let Some(dir) = std::env::var_os("NN_EXPORT_DIR") {
        // For `scripts/check_keras_load.py`, which has Keras read what we write.
        let dir = std::path::Path::new(&dir).join(fx.dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{}.weights.h5", fx.name)), &written).unwrap();
    }
    again.load_keras_weights(&written).unwrap();
    again.load_safetensors(&dsl.to_safetensors().unwrap()).unwrap();
    assert!(*again == *dsl, "{}: weights written and read back", fx.name);

    println!("{:>34}: worst error DSL {flat:.1e}, keras_model! {compiled:.1e}", fx.name);
    assert!(flat <= TOLERANCE && compiled <= TOLERANCE, "{}: {flat} / {compiled}", fx.name);
}

macro_rules! fixture {
    ($name:ident, [$($x:ident),*]) => {
        $crate::parity::fixture!($name, [$($x),*], [Y])
    };
    ($name:ident, [$($x:ident),*], [$($y:ident),*]) => {
        $crate::parity::Fixture {
            name: stringify!($name),
            inputs: &[$(fx::$name::$x),*],
            outputs: &[$(fx::$name::$y),*],
            params: fx::$name::PARAMS,
            layers: fx::$name::LAYERS,
            weights: fx::$name::WEIGHTS,
            flat_weights: fx::$name::FLAT_WEIGHTS,
            non_trainable: fx::$name::NON_TRAINABLE_PARAMS,
            dir: DIR,
        }
    };
}

/// A Sequential case: the DSL's layers and the `.keras` file.
macro_rules! case {
    ($name:ident, $file:tt, $($layers:tt)*) => {
        mod $name {
            use super::*;
            sequential! { pub struct Dsl { $($layers)* } }
            nn::keras_model! { pub struct Keras = $file; }

            #[test]
            fn matches_keras() {
                $crate::parity::check::<Dsl, Keras>(&Keras::KERAS, &$crate::parity::fixture!($name, [X0]));
            }
        }
    };
}

pub(crate) use {case, fixture};
