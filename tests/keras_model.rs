//! `keras_model!`: the fixture `.keras` files compiled into typed models with their weights,
//! against Keras's outputs.

use nn::prelude::*;

#[allow(clippy::approx_constant, dead_code)]
mod fx {
    include!("fixtures/keras_models.rs");
}

nn::keras_model! {
    /// Keras's seed Sequential model, `Dense(2, input_dim=1)`.
    pub struct SeedSequential = "tests/fixtures/keras/seed_sequential.keras";
}
nn::keras_model! { pub struct SeedFunctional = "tests/fixtures/keras/seed_functional.keras"; }
nn::keras_model! {
    /// XOR, trained in Keras; `check` embeds one input and Keras's output for `self_test`.
    pub struct Xor = "tests/fixtures/keras/xor.keras", check [0.0, 1.0] => [0.9990947246551514];
}
nn::keras_model! { pub struct EveryActivation = "tests/fixtures/keras/every_activation.keras"; }
nn::keras_model! { pub struct NewActivations = "tests/fixtures/keras/new_activations.keras"; }
nn::keras_model! { pub struct Residual = "tests/fixtures/keras/residual.keras"; }
nn::keras_model! { pub struct Siamese = "tests/fixtures/keras/siamese.keras"; }
nn::keras_model! { pub struct MultiIo = "tests/fixtures/keras/multi_io.keras"; }

/// Compiled in: no file is read and nothing is parsed at run time.
static XOR: Xor = Xor::KERAS;

fn v<const N: usize>(row: &[f64; N]) -> SVector<f32, N> {
    SVector::from_fn(|i, _| row[i] as f32)
}

fn err<const N: usize>(got: &SVector<f32, N>, want: &[f64; N]) -> f64 {
    got.iter().zip(want).map(|(g, w)| (*g as f64 - w).abs()).fold(0.0, f64::max)
}

const TOLERANCE: f64 = 1e-5;

fn report(name: &str, worst: f64) {
    println!("{name:>16}: worst error against Keras {worst:.1e}");
    assert!(worst <= TOLERANCE, "{name}: {worst}");
}

#[test]
fn compiled_keras_models_reproduce_keras() {
    let m = SeedSequential::KERAS;
    report(
        "seed_sequential",
        fx::seed_sequential::X0
            .iter()
            .zip(&fx::seed_sequential::Y0)
            .map(|(x, y)| err(&m.predict(&v(x)), y))
            .fold(0.0, f64::max),
    );
    let m = SeedFunctional::KERAS;
    report(
        "seed_functional",
        fx::seed_functional::X0
            .iter()
            .zip(&fx::seed_functional::Y0)
            .map(|(x, y)| err(&m.predict(&v(x)), y))
            .fold(0.0, f64::max),
    );
    report(
        "xor",
        fx::xor::X0.iter().zip(&fx::xor::Y0).map(|(x, y)| err(&XOR.predict(&v(x)), y)).fold(0.0, f64::max),
    );
    let m = EveryActivation::KERAS;
    report(
        "every_activation",
        fx::every_activation::X0
            .iter()
            .zip(&fx::every_activation::Y0)
            .map(|(x, y)| err(&m.predict(&v(x)), y))
            .fold(0.0, f64::max),
    );
    let m = Residual::KERAS;
    report(
        "residual",
        fx::residual::X0
            .iter()
            .zip(&fx::residual::Y0)
            .map(|(x, y)| err(&m.predict(&v(x)), y))
            .fold(0.0, f64::max),
    );
    let m = Siamese::KERAS;
    report(
        "siamese",
        (0..5)
            .map(|i| err(&m.predict(&(v(&fx::siamese::X0[i]), v(&fx::siamese::X1[i]))), &fx::siamese::Y0[i]))
            .fold(0.0, f64::max),
    );
    let m = MultiIo::KERAS;
    let worst = (0..5)
        .map(|i| {
            let (c, r) = m.predict(&(v(&fx::multi_io::X0[i]), v(&fx::multi_io::X1[i])));
            err(&c, &fx::multi_io::Y0[i]).max(err(&r, &fx::multi_io::Y1[i]))
        })
        .fold(0.0, f64::max);
    report("multi_io", worst);
}

#[test]
fn the_activations_keras_3_added_compile_from_their_keras_names() {
    let m = NewActivations::KERAS;
    report(
        "new_activations",
        fx::new_activations::X0
            .iter()
            .zip(&fx::new_activations::Y0)
            .map(|(x, y)| err(&m.predict(&v(x)), y))
            .fold(0.0, f64::max),
    );
    let names: Vec<_> = NewActivations::LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(names, fx::new_activations::LAYERS);
}

#[test]
fn compiled_models_keep_keras_names_and_structure() {
    let names: Vec<_> = Siamese::LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(names, fx::siamese::LAYERS);
    let names: Vec<_> = Xor::LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(names, fx::xor::LAYERS);
    // The same weights as loading the file at run time.
    let mut loaded = Siamese::zeros();
    loaded.load_keras(&std::fs::read("tests/fixtures/keras/siamese.keras").unwrap()).unwrap();
    assert_eq!(loaded, Siamese::KERAS);
    assert_eq!(Siamese::KERAS.summary().to_string(), Siamese::zeros().summary().to_string());
}

#[test]
fn the_embedded_check_passes() {
    let worst = XOR.self_test().expect("Keras's own output for the embedded input");
    assert!(worst < 1e-6, "{worst}");
    let mut broken = Xor::KERAS;
    broken.dense_1.bias[0] += 0.5;
    assert!(broken.self_test().is_err());
}
