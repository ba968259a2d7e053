//! `sequential!` end to end: both forms, shape inference, naming, construction, weights, summary.

use nn::prelude::*;

sequential! {
    /// The README's model.
    pub struct Xor { Input<2>, Dense<8, relu>, Dense<1, sigmoid> }
}

sequential! {
    /// The same architecture as `Xor`, over `f64`.
    struct Xor64<f64> { Input<2>, Dense<8, relu>, Dense<1, sigmoid> }
}

sequential! {
    struct Named<T> { Input<3>, hidden: Dense<4, leaky_relu(0.1)>, Activation<softmax>, Dense<2, use_bias = false> }
}

sequential! {
    struct WithOptions<f64> { Dense<2, 2, relu(max_value = 1.0)>, Dense<2, elu(alpha = 2.0)> }
}

#[test]
fn expression_form_infers_every_input_size() {
    let model = sequential![Input<2>, Dense<8, relu>, Dense<1, sigmoid>];
    let y = model.predict(&Vector2::new(0.5, -0.5));
    assert!(y[0] > 0.0 && y[0] < 1.0);
    fn shapes<M: Model>(_: &M) -> (&'static [&'static [usize]], &'static [&'static [usize]], usize) {
        (M::INPUT_SHAPES, M::OUTPUT_SHAPES, M::PARAMS)
    }
    assert_eq!(shapes(&model), (&[&[2][..]][..], &[&[1][..]][..], 33));
}

#[test]
fn seed_form_takes_the_input_size_on_the_first_layer() {
    let model = sequential![Dense<1, 2>];
    let y: Vector2<f32> = model.predict(&Vector1::new(1.0));
    // Linear layer with a zero bias: y = x * kernel.
    let mut w = [0.0f32; 4];
    model.save_params(&mut w).unwrap();
    assert_eq!(y, Vector2::new(w[0], w[1]));
    assert_eq!(&w[2..], &[0.0, 0.0]);
}

#[test]
fn item_form_declares_a_nameable_model_type() {
    struct Holder {
        model: Xor,
    }
    let h = Holder { model: Xor::zeros() };
    // All-zero weights: sigmoid(0) everywhere.
    assert_eq!(h.model.predict(&Vector2::new(3.0, 4.0))[0], 0.5);
    assert_eq!(Xor::NAME, "xor");
    assert_eq!(Xor::PARAMS, 33);
}

#[test]
fn layers_are_named_as_keras_names_them_unless_named_explicitly() {
    let names: Vec<_> =
        Named::<f32>::LAYERS.iter().map(|l| (l.name, l.class, l.output_shape, l.params)).collect();
    assert_eq!(
        names,
        [
            ("hidden", "Dense", &[4][..], 16),
            ("activation", "Activation", &[4][..], 0),
            ("dense", "Dense", &[2][..], 8),
        ]
    );
    let m = Named::<f64>::zeros();
    // Fields carry the layer names.
    assert_eq!(m.hidden.activation.negative_slope, 0.1);
    let _: &nn::layers::Dense<f64, 4, 2, nn::activations::Linear, false> = &m.dense;
}

#[test]
fn hand_computed_forward_pass_through_every_layer_kind() {
    let mut m = Named::<f64>::zeros();
    // hidden: kernel [3][4], bias [4].
    m.load_params(&[
        1.0, 0.0, 0.0, -1.0, //
        0.0, 1.0, 0.0, 0.0, //
        0.0, 0.0, 1.0, 0.0, //
        0.0, 0.0, 0.0, 0.5, // bias
        1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, // dense kernel [4][2], no bias
    ])
    .unwrap();
    let x = Vector3::new(1.0, 2.0, -3.0);
    // hidden = leaky_relu([1, 2, -3, -1 + 0.5], 0.1) = [1, 2, -0.3, -0.05]
    let h = [1.0f64, 2.0, -0.3, -0.05];
    let e: Vec<f64> = h.iter().map(|v| v.exp()).collect();
    let s: f64 = e.iter().sum();
    let p: Vec<f64> = e.iter().map(|v| v / s).collect();
    let want = Vector2::new(p[0], p[1] + p[3]);
    let got = m.predict(&x);
    assert!((got - want).amax() < 1e-15, "{got} vs {want}");
}

#[test]
fn activation_options_survive_every_constructor() {
    let check = |m: &WithOptions| {
        assert_eq!(m.dense.activation.max_value, 1.0);
        assert_eq!(m.dense_1.activation.alpha, 2.0);
    };
    check(&WithOptions::zeros());
    check(&WithOptions::seeded(1));
    check(&WithOptions::ZEROS);
    check(&WithOptions::boxed_zeros());
    check(&WithOptions::from_layers(nn::layers::Dense::ZEROS, nn::layers::Dense::ZEROS));
    let mut m = WithOptions::zeros();
    m.load_params(&[1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]).unwrap();
    // relu clipped at 1, then elu(alpha = 2): [min(5, 1), 0] -> [1, 0].
    assert_eq!(m.predict(&Vector2::new(5.0, -5.0)), Vector2::new(1.0, 0.0));
}

#[test]
fn seeded_init_is_reproducible_and_follows_keras_defaults() {
    let a = Xor::seeded(7);
    assert_eq!(a, Xor::seeded(7));
    assert_ne!(a, Xor::seeded(8));
    let limit = (6.0f32 / 10.0).sqrt();
    assert!(a.dense.kernel.iter().all(|w| w.abs() <= limit));
    assert!(a.dense.bias.iter().all(|b| *b == 0.0));
    assert_eq!(*Xor::boxed_seeded(7), a);
}

#[test]
fn params_round_trip_and_wrong_lengths_are_errors() {
    let a = Xor::seeded(3);
    let mut flat = [0.0f32; 33];
    a.save_params(&mut flat).unwrap();
    let mut b = Xor::zeros();
    b.load_params(&flat).unwrap();
    assert_eq!(a, b);
    let err = b.load_params(&flat[..32]).unwrap_err();
    assert_eq!(err.to_string(), "wrong number of parameters: expected 33, found 32");
    assert_eq!(b, a, "a failed load writes nothing");
}

#[test]
fn weights_are_visited_with_keras_names_and_shapes() {
    let mut seen = Vec::new();
    Xor::zeros().visit_weights(&mut |layer, w| seen.push(format!("{layer}/{} {:?}", w.name, w.shape)));
    assert_eq!(seen, ["dense/kernel [2, 8]", "dense/bias [8]", "dense_1/kernel [8, 1]", "dense_1/bias [1]"]);
}

#[test]
fn predict_batch_fills_the_callers_buffer() {
    let m = Xor::seeded(1);
    let xs = [Vector2::new(0.0, 1.0), Vector2::new(1.0, 1.0)];
    let mut ys = [Vector1::zeros(); 2];
    m.predict_batch(&xs, &mut ys).unwrap();
    assert_eq!(ys, [m.predict(&xs[0]), m.predict(&xs[1])]);
    assert!(m.predict_batch(&xs, &mut ys[..1]).is_err());
}

#[test]
fn summary_matches_keras_character_for_character() {
    let keras = include_str!("fixtures/summary.txt");
    let ours = sequential![Input<2>, Dense<8, relu>, Dense<1, sigmoid>].summary().to_string();
    assert_eq!(ours, keras);
}

sequential! {
    struct Mnist { Input<784>, Dense<128, relu>, Dense<64, relu>, Dense<10, softmax> }
}

#[test]
fn summary_formats_large_counts_and_f64_bytes_as_keras_does() {
    let s = Mnist::zeros().summary().to_string();
    assert!(s.contains("│         100,480 │"), "{s}");
    assert!(s.contains(" Total params: 109,386 (427.29 KB)\n"), "{s}");
    let s = Xor64::zeros().summary().to_string();
    assert!(s.contains(" Total params: 33 (264.00 B)\n"), "{s}");
}

#[test]
fn f64_models_compute_in_f64() {
    let mut m64 = Xor64::zeros();
    m64.dense_1.bias[0] = 1e-12;
    let y: f64 = m64.predict(&Vector2::new(0.0, 0.0))[0];
    assert!(y > 0.5, "f64 keeps a 1e-12 bias");
}
