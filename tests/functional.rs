//! `functional!` end to end: graphs against Keras 3 (fixtures from `scripts/make_fixtures.py`)
//! and against hand-computed values, naming, ordering, summaries and nesting.

use nn::prelude::*;

#[allow(clippy::approx_constant, dead_code)]
mod fx {
    include!("fixtures/functional.rs");
}

functional! {
    /// Keras's `residual` fixture.
    pub struct Residual {
        inp = Input<4>;
        h = Dense<8, relu>(inp);
        h2 = Dense<4>(h);
        s = Add(inp, h2);
        out = Dense<2, softmax>(s);
    }
}

functional! {
    /// Keras's `siamese` fixture: one encoder, shared by both inputs.
    pub struct Siamese {
        left = Input<3>;
        right = Input<3>;
        shared = Dense<4, tanh>;
        a = shared(left);
        b = shared(right);
        d = Subtract(a, b);
        m = Multiply(d, d);
        cosine = Dot<normalize = true>(a, b);
        c = Concatenate(m, cosine);
        out = Dense<1, sigmoid>(c);
    }
}

functional! {
    /// Keras's `multi_io` fixture: two inputs, two outputs.
    pub struct MultiIo {
        x1 = Input<3>;
        x2 = Input<2>;
        h1 = Dense<4, relu>(x1);
        h2 = Dense<4, elu>(x2);
        avg = Average(h1, h2);
        mx = Maximum(h1, h2);
        mn = Minimum(h1, h2, avg);
        cat = Concatenate(avg, mx, mn);
        class = Dense<3, softmax>(cat);
        reg = Dense<1>(mx);
        -> (class, reg);
    }
}

/// Loads Keras's weights by their Keras names, checking every one is used exactly once.
fn load_keras<M: Model<Scalar = f32>>(model: &mut M, weights: &[(&str, &[f64])]) {
    let mut used = vec![false; weights.len()];
    model.visit_weights_mut(&mut |layer, w| {
        let key = format!("{layer}/{}", w.name);
        let i = weights.iter().position(|(k, _)| *k == key).unwrap_or_else(|| panic!("Keras has no {key}"));
        assert_eq!(weights[i].1.len(), w.data.len(), "{key}");
        for (d, s) in w.data.iter_mut().zip(weights[i].1) {
            *d = *s as f32;
        }
        used[i] = true;
    });
    assert!(used.iter().all(|u| *u), "every Keras weight has a home");
}

fn vector<const N: usize>(row: &[f64; N]) -> SVector<f32, N> {
    SVector::from_fn(|i, _| row[i] as f32)
}

fn max_error<const N: usize>(got: &SVector<f32, N>, want: &[f64; N]) -> f64 {
    got.iter().zip(want).map(|(g, w)| (*g as f64 - w).abs()).fold(0.0, f64::max)
}

const TOLERANCE: f64 = 1e-5;

#[test]
fn residual_matches_keras() {
    let mut model = Residual::zeros();
    load_keras(&mut model, fx::residual::WEIGHTS);
    let mut worst = 0.0f64;
    for (x, y) in fx::residual::X0.iter().zip(&fx::residual::Y0) {
        worst = worst.max(max_error(&model.predict(&vector(x)), y));
    }
    println!("residual: worst error {worst:.1e}");
    assert!(worst <= TOLERANCE, "worst error {worst}");
    assert_eq!(model.summary().to_string(), fx::residual::SUMMARY.replace("\"functional\"", "\"residual\""));
}

#[test]
fn siamese_matches_keras_with_one_set_of_shared_weights() {
    let mut model = Siamese::zeros();
    load_keras(&mut model, fx::siamese::WEIGHTS);
    let mut worst = 0.0f64;
    for ((l, r), y) in fx::siamese::X0.iter().zip(&fx::siamese::X1).zip(&fx::siamese::Y0) {
        worst = worst.max(max_error(&model.predict(&(vector(l), vector(r))), y));
    }
    println!("siamese: worst error {worst:.1e}");
    assert!(worst <= TOLERANCE, "worst error {worst}");
    assert_eq!(Siamese::PARAMS, 22, "the shared encoder counts once");
    assert_eq!(model.summary().to_string(), fx::siamese::SUMMARY.replace("\"functional\"", "\"siamese\""));
}

#[test]
fn two_inputs_two_outputs_match_keras() {
    let mut model = MultiIo::zeros();
    load_keras(&mut model, fx::multi_io::WEIGHTS);
    let mut worst = 0.0f64;
    for i in 0..5 {
        let (class, reg) = model.predict(&(vector(&fx::multi_io::X0[i]), vector(&fx::multi_io::X1[i])));
        worst = worst.max(max_error(&class, &fx::multi_io::Y0[i])).max(max_error(&reg, &fx::multi_io::Y1[i]));
    }
    println!("multi_io: worst error {worst:.1e}");
    assert!(worst <= TOLERANCE, "worst error {worst}");
    assert_eq!(MultiIo::INPUT_SHAPES, &[&[3][..], &[2][..]]);
    assert_eq!(MultiIo::OUTPUT_SHAPES, &[&[3][..], &[1][..]]);
    assert_eq!(model.summary().to_string(), fx::multi_io::SUMMARY.replace("\"functional\"", "\"multi_io\""));
}

functional! {
    /// Statements out of order: the macro sorts the graph.
    struct Shuffled<f64> {
        -> out;
        out = Dense<2, 1, use_bias = false>(sum);
        sum = Add(x, doubled);
        doubled = Dense<2, 2, use_bias = false>(x);
        x = Input<2>;
    }
}

#[test]
fn statements_may_come_in_any_order() {
    let mut m = Shuffled::zeros();
    // doubled: kernel 2·I; out: kernel [[1], [10]] (Keras layout [in][out]).
    m.load_params(&[2.0, 0.0, 0.0, 2.0, 1.0, 10.0]).unwrap();
    // sum = x + 2x = [3, 6]; out = 3 + 60.
    assert_eq!(m.predict(&Vector2::new(1.0, 2.0))[0], 63.0);
    let order: Vec<_> = Shuffled::LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(order, ["input_layer", "dense_1", "add", "dense"], "Keras names by creation, lists by depth");
}

sequential! {
    /// A Sequential model, used as a layer below.
    pub struct Encoder<f64> { Input<3>, Dense<2, relu> }
}

functional! {
    /// Keras's siamese pattern with a whole model as the shared encoder.
    struct Nested<f64> {
        left = Input<3>;
        right = Input<3>;
        encoder = Model<Encoder, 3, 2>;
        a = encoder(left);
        b = encoder(right);
        out = Concatenate(a, b);
    }
}

#[test]
fn a_sequential_model_can_be_a_shared_layer() {
    let mut m = Nested::zeros();
    // The encoder: kernel [3][2] picks x0 and x2, bias [0, -1].
    m.encoder.load_params(&[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0]).unwrap();
    let y = m.predict(&(Vector3::new(1.0, 5.0, 3.0), Vector3::new(-1.0, 5.0, 0.5)));
    assert_eq!(y, SVector::<f64, 4>::new(1.0, 2.0, 0.0, 0.0));
    assert_eq!(Nested::PARAMS, 8);
    let classes: Vec<_> = Nested::LAYERS.iter().map(|l| (l.name, l.class, l.params)).collect();
    assert_eq!(
        classes,
        [
            ("input_layer", "InputLayer", 0),
            ("input_layer_1", "InputLayer", 0),
            ("encoder", "Sequential", 8),
            ("concatenate", "Concatenate", 0)
        ]
    );
    let mut seen = Vec::new();
    m.visit_weights(&mut |layer, w| seen.push(format!("{layer}/{}", w.name)));
    assert_eq!(seen, ["dense/kernel", "dense/bias"]);
}

functional! {
    /// A functional model used as a layer of another.
    struct Outer {
        x = Input<4>;
        block = Model<Residual, 4, 2>;
        y = block(x);
        z = Dense<1>(y);
    }
}

#[test]
fn a_functional_model_can_be_a_layer() {
    let mut m = Outer::zeros();
    load_keras(&mut m.block, fx::residual::WEIGHTS);
    m.dense.kernel[(0, 0)] = 1.0; // z = y[0]
    for (x, y) in fx::residual::X0.iter().zip(&fx::residual::Y0) {
        assert!((m.predict(&vector(x))[0] as f64 - y[0]).abs() < TOLERANCE);
    }
    let rows: Vec<_> = Outer::LAYERS.iter().map(|l| (l.name, l.class, l.params)).collect();
    assert_eq!(rows, [("input_layer", "InputLayer", 0), ("block", "Functional", 86), ("dense", "Dense", 3)]);
}

functional! {
    struct Merges<f64> {
        a = Input<2>;
        b = Input<2>;
        sum = Add(a, b, a);
        diff = Subtract(a, b);
        prod = Multiply(a, b);
        avg = Average(a, b);
        hi = Maximum(a, b);
        lo = Minimum(a, b);
        dot = Dot(a, b);
        all = Concatenate(sum, diff, prod, avg, hi, lo, dot);
    }
}

#[test]
fn every_merge_by_hand() {
    let y = Merges::zeros().predict(&(Vector2::new(1.0, -2.0), Vector2::new(3.0, 4.0)));
    let want = [5.0, 0.0, -2.0, -6.0, 3.0, -8.0, 2.0, 1.0, 3.0, 4.0, 1.0, -2.0, -5.0];
    assert_eq!(y.as_slice(), &want);
}

#[test]
fn expression_form_returns_the_last_node_and_explicit_outputs_in_order() {
    let m = functional! { x = Input<2>; y = Activation<relu>(x); z = Activation<linear>(y); };
    assert_eq!(m.predict(&Vector2::new(-1.0, 2.0)), Vector2::new(0.0, 2.0));
    let m = functional! { x = Input<2>; y = Activation<relu>(x); -> (y, x); };
    let (y, x) = m.predict(&Vector2::new(-1.0, 2.0));
    assert_eq!((y, x), (Vector2::new(0.0, 2.0), Vector2::new(-1.0, 2.0)));
}

#[test]
fn a_chain_draws_the_three_column_table_with_its_input_row() {
    let s = functional! { visible = Input<2>; hidden = Dense<2>(visible); }.summary().to_string();
    assert!(s.starts_with("Model: \"functional\"\n┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳"), "{s}");
    assert!(s.contains("│ input_layer (InputLayer)             │ (None, 2)"), "{s}");
    assert!(!s.contains("Connected to"), "{s}");
}
