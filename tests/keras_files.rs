//! Real Keras 3 files (`scripts/make_fixtures.py`): every fixture model, loaded from its
//! `.keras` archive, its `.weights.h5` and its `.safetensors`, reproduces Keras's outputs.

use nn::prelude::*;

#[allow(clippy::approx_constant, dead_code)]
mod fx {
    include!("fixtures/keras_models.rs");
}

sequential! { struct SeedSequential { Input<1>, Dense<2> } }
functional! { struct SeedFunctional { visible = Input<2>; hidden = Dense<2>(visible); } }
sequential! { struct Xor { Input<2>, Dense<8, relu>, Dense<1, sigmoid> } }
functional! {
    /// One Dense head per activation on the same input, side by side (as the fixture script
    /// builds it: a chain of 18 layers amplifies float32 rounding past the tolerance).
    struct EveryActivation {
        x = Input<4>;
        h0 = Dense<6, relu>(x);
        h1 = Dense<6, sigmoid>(x);
        h2 = Dense<6, tanh>(x);
        h3 = Dense<6, softmax>(x);
        h4 = Dense<6, log_softmax>(x);
        h5 = Dense<6, leaky_relu>(x);
        h6 = Dense<6, elu>(x);
        h7 = Dense<6, selu>(x);
        h8 = Dense<6, gelu>(x);
        h9 = Dense<6, silu>(x);
        h10 = Dense<6, softplus>(x);
        h11 = Dense<6, softsign>(x);
        h12 = Dense<6, hard_sigmoid>(x);
        h13 = Dense<6, hard_silu>(x);
        h14 = Dense<6, exponential>(x);
        h15 = Dense<6, mish>(x);
        h16 = Dense<6, relu6>(x);
        h17 = Dense<6, linear>(x);
        out = Concatenate(h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15, h16, h17);
    }
}

functional! {
    /// The activations Keras 3 added, four on Dense layers and four as Activation layers, side
    /// by side as the fixture script builds them.
    struct NewActivations {
        x = Input<4>;
        h0 = Dense<6, celu>(x);
        h1 = Dense<6, hard_tanh>(x);
        h2 = Dense<6, log_sigmoid>(x);
        h3 = Dense<6, sparse_plus>(x);
        d4 = Dense<6>(x);
        h4 = Activation<squareplus>(d4);
        d5 = Dense<6>(x);
        h5 = Activation<tanh_shrink>(d5);
        d6 = Dense<6>(x);
        h6 = Activation<hard_shrink>(d6);
        d7 = Dense<6>(x);
        h7 = Activation<soft_shrink>(d7);
        out = Concatenate(h0, h1, h2, h3, h4, h5, h6, h7);
    }
}

functional! {
    struct Residual {
        inp = Input<4>; h = Dense<8, relu>(inp); h2 = Dense<4>(h); s = Add(inp, h2); out = Dense<2, softmax>(s);
    }
}
functional! {
    struct Siamese {
        left = Input<3>; right = Input<3>; shared = Dense<4, tanh>; a = shared(left); b = shared(right);
        d = Subtract(a, b); m = Multiply(d, d); cosine = Dot<normalize = true>(a, b);
        c = Concatenate(m, cosine); out = Dense<1, sigmoid>(c);
    }
}
functional! {
    struct MultiIo {
        x1 = Input<3>; x2 = Input<2>; h1 = Dense<4, relu>(x1); h2 = Dense<4, elu>(x2);
        avg = Average(h1, h2); mx = Maximum(h1, h2); mn = Minimum(h1, h2, avg);
        cat = Concatenate(avg, mx, mn); class = Dense<3, softmax>(cat); reg = Dense<1>(mx);
        -> (class, reg);
    }
}

const TOLERANCE: f64 = 1e-5;

fn file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/keras/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn v<const N: usize>(row: &[f64; N]) -> SVector<f32, N> {
    SVector::from_fn(|i, _| row[i] as f32)
}

fn err<const N: usize>(got: &SVector<f32, N>, want: &[f64; N]) -> f64 {
    got.iter().zip(want).map(|(g, w)| (*g as f64 - w).abs()).fold(0.0, f64::max)
}

/// Loads `name` from all three files into fresh models, checks `predict` against Keras with
/// `check` (the worst error over the fixture's inputs), and that the three loads agree.
fn check_all<M: Model<Scalar = f32> + PartialEq + std::fmt::Debug>(name: &str, check: impl Fn(&M) -> f64) {
    let mut from_keras = M::zeros();
    from_keras.load_keras(&file(&format!("{name}.keras"))).unwrap();
    let mut from_h5 = M::zeros();
    from_h5.load_keras_weights(&file(&format!("{name}.weights.h5"))).unwrap();
    let mut from_st = M::zeros();
    from_st.load_safetensors(&file(&format!("{name}.safetensors"))).unwrap();
    assert_eq!(from_keras, from_h5, "{name}: .keras and .weights.h5 differ");
    assert_eq!(from_keras, from_st, "{name}: .keras and .safetensors differ");
    let worst = check(&from_keras);
    println!("{name:>16}: worst error against Keras {worst:.1e}");
    assert!(worst <= TOLERANCE, "{name}: worst error {worst}");
}

#[test]
fn seed_models_match_keras() {
    check_all::<SeedSequential>("seed_sequential", |m| {
        fx::seed_sequential::X0
            .iter()
            .zip(&fx::seed_sequential::Y0)
            .map(|(x, y)| err(&m.predict(&v(x)), y))
            .fold(0.0, f64::max)
    });
    check_all::<SeedFunctional>("seed_functional", |m| {
        fx::seed_functional::X0
            .iter()
            .zip(&fx::seed_functional::Y0)
            .map(|(x, y)| err(&m.predict(&v(x)), y))
            .fold(0.0, f64::max)
    });
}

#[test]
fn trained_xor_matches_keras_and_solves_xor() {
    check_all::<Xor>("xor", |m| {
        for x in &fx::xor::X0 {
            assert_eq!(m.predict(&v(x))[0] > 0.5, x[0] != x[1], "xor({x:?})");
        }
        fx::xor::X0.iter().zip(&fx::xor::Y0).map(|(x, y)| err(&m.predict(&v(x)), y)).fold(0.0, f64::max)
    });
}

#[test]
fn every_activation_matches_keras() {
    check_all::<EveryActivation>("every_activation", |m| {
        let (xs, ys) = (&fx::every_activation::X0, &fx::every_activation::Y0);
        xs.iter().zip(ys).map(|(x, y)| err(&m.predict(&v(x)), y)).fold(0.0, f64::max)
    });
}

#[test]
fn the_activations_keras_3_added_match_keras() {
    check_all::<NewActivations>("new_activations", |m| {
        let (xs, ys) = (&fx::new_activations::X0, &fx::new_activations::Y0);
        xs.iter().zip(ys).map(|(x, y)| err(&m.predict(&v(x)), y)).fold(0.0, f64::max)
    });
}

#[test]
fn graphs_match_keras() {
    check_all::<Residual>("residual", |m| {
        fx::residual::X0
            .iter()
            .zip(&fx::residual::Y0)
            .map(|(x, y)| err(&m.predict(&v(x)), y))
            .fold(0.0, f64::max)
    });
    check_all::<Siamese>("siamese", |m| {
        (0..5)
            .map(|i| err(&m.predict(&(v(&fx::siamese::X0[i]), v(&fx::siamese::X1[i]))), &fx::siamese::Y0[i]))
            .fold(0.0, f64::max)
    });
    check_all::<MultiIo>("multi_io", |m| {
        (0..5)
            .map(|i| {
                let (c, r) = m.predict(&(v(&fx::multi_io::X0[i]), v(&fx::multi_io::X1[i])));
                err(&c, &fx::multi_io::Y0[i]).max(err(&r, &fx::multi_io::Y1[i]))
            })
            .fold(0.0, f64::max)
    });
}

#[test]
fn keras_files_that_do_not_fit_are_typed_errors() {
    // The XOR file into the seed model: the first layer's kernel is [2, 8], not [1, 2].
    let mut m = SeedSequential::zeros();
    let err = m.load_keras(&file("xor.keras")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer `dense`: `kernel` has shape [2, 8] in the file, the model expects [1, 2]"
    );
    // A model with fewer layers than the file: the file's extra layer is reported.
    sequential! { struct OneLayer { Input<2>, Dense<8, relu> } }
    let err = OneLayer::zeros().load_keras_weights(&file("xor.weights.h5")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the file has a tensor `layers/dense_1/vars/0` that no layer of the model has"
    );
    // A model with more layers: the missing one is named.
    sequential! { struct ThreeLayers { Input<2>, Dense<8, relu>, Dense<1, sigmoid>, Dense<1> } }
    let err = ThreeLayers::zeros().load_keras(&file("xor.keras")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer `dense_2`: the file has no `layers/dense_2/vars/0` for its `kernel` (expected shape [1, 1])"
    );
    assert_eq!(m, SeedSequential::zeros(), "a failed load writes nothing");
}

#[test]
fn truncated_and_mutated_keras_files_never_panic() {
    let iterations: u64 = std::env::var("NN_FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let seeds = [file("xor.keras"), file("xor.weights.h5")];
    for seed in &seeds {
        for len in (0..seed.len()).step_by(97) {
            let mut m = Xor::zeros();
            assert!(m.load_keras(&seed[..len]).is_err() || m.load_keras_weights(&seed[..len]).is_err());
        }
    }
    let mut rng = nn::init::Rng::new(7);
    for i in 0..iterations {
        let mut bytes = seeds[(i % 2) as usize].clone();
        for _ in 0..1 + rng.next_u64() % 8 {
            let at = (rng.next_u64() as usize) % bytes.len();
            bytes[at] = rng.next_u64() as u8;
        }
        let mut m = Xor::zeros();
        let _ = m.load_keras(&bytes);
        let _ = m.load_keras_weights(&bytes);
    }
}

/// Our `.weights.h5` reads back into the model; with `NN_EXPORT_DIR` set the files are also
/// written there, for `scripts/check_keras_load.py` to load into Keras.
#[test]
fn written_keras_weights_read_back() {
    fn round_trip<M: Model<Scalar = f32> + PartialEq + std::fmt::Debug>(name: &str) {
        let mut model = M::zeros();
        model.load_keras(&file(&format!("{name}.keras"))).unwrap();
        let h5 = model.to_keras_weights().unwrap();
        let mut back = M::zeros();
        back.load_keras_weights(&h5).unwrap();
        assert_eq!(back, model, "{name}");
        if let Some(dir) = std::env::var_os("NN_EXPORT_DIR") {
            std::fs::write(std::path::Path::new(&dir).join(format!("{name}.weights.h5")), h5).unwrap();
        }
    }
    round_trip::<SeedSequential>("seed_sequential");
    round_trip::<SeedFunctional>("seed_functional");
    round_trip::<Xor>("xor");
    round_trip::<EveryActivation>("every_activation");
    round_trip::<NewActivations>("new_activations");
    round_trip::<Residual>("residual");
    round_trip::<Siamese>("siamese");
    round_trip::<MultiIo>("multi_io");
}
