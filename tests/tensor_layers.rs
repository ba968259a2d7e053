//! Every convolution, pooling and reshaping layer, and the rank-generic ones, against Keras 3:
//! each case is written in the DSL and compiled from its `.keras` file with `keras_model!`, and
//! both must reproduce `model.predict` (fixtures from `scripts/make_tensor_fixtures.py`), count
//! Keras's parameters, name and shape the weights as Keras does, and read and write Keras's
//! weight files.

use nn::Zeroable;
use nn::prelude::*;
use nn::tensor::Tensors;

#[allow(clippy::approx_constant, clippy::excessive_precision, dead_code)]
mod fx {
    include!("fixtures/tensor_layers.rs");
}

const TOLERANCE: f64 = 1e-5;

/// One fixture's data.
struct Fixture {
    name: &'static str,
    inputs: &'static [&'static [&'static [f64]]],
    outputs: &'static [&'static [f64]],
    params: usize,
    layers: &'static [&'static str],
    weights: &'static [(&'static str, &'static [usize])],
    flat_weights: &'static [f64],
    dir: &'static str,
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|x| *x as f32).collect()
}

/// Checks `model` against Keras's outputs through `predict_flat`, `predict` and
/// `predict_flat_batch`; returns the worst error.
fn worst_error<M: Model<Scalar = f32>>(model: &M, fx: &Fixture) -> f64 {
    let samples = fx.outputs.len();
    let out_len = fx.outputs[0].len();
    let mut worst = 0.0f64;
    for s in 0..samples {
        let xs: Vec<Vec<f32>> = fx.inputs.iter().map(|x| f32s(x[s])).collect();
        let refs: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
        let mut y = vec![0.0f32; out_len];
        model.predict_flat(&refs, &mut [&mut y]).unwrap();
        for (g, w) in y.iter().zip(fx.outputs[s]) {
            worst = worst.max((*g as f64 - w).abs());
        }
        // `predict` on the typed input gives exactly what `predict_flat` gave.
        let mut x = M::Input::ZEROED;
        for (i, part) in xs.iter().enumerate() {
            x.slice_mut(i).copy_from_slice(part);
        }
        assert_eq!(model.predict(&x).slice(0), &y[..], "{}: predict and predict_flat differ", fx.name);
    }
    // The whole batch at once, laid out as Keras's `(batch, ...)` arrays.
    let batch: Vec<Vec<f32>> = fx.inputs.iter().map(|x| x.iter().flat_map(|s| f32s(s)).collect()).collect();
    let refs: Vec<&[f32]> = batch.iter().map(Vec::as_slice).collect();
    let mut ys = vec![0.0f32; samples * out_len];
    model.predict_flat_batch(&refs, &mut [&mut ys]).unwrap();
    for (g, w) in ys.iter().zip(fx.outputs.iter().flat_map(|s| s.iter())) {
        worst = worst.max((*g as f64 - w).abs());
    }
    // Wrong lengths are errors, never a panic.
    let short = &batch[0][..batch[0].len() - 1];
    let mut y = vec![0.0f32; out_len];
    let mut rest: Vec<&[f32]> = refs.clone();
    rest[0] = short;
    assert!(model.predict_flat(&rest, &mut [&mut y]).is_err());
    assert!(model.predict_flat(&refs[..refs.len() - 1], &mut [&mut y]).is_err());
    assert!(model.predict_flat_batch(&rest, &mut [&mut ys]).is_err());
    worst
}

/// The DSL model with Keras's weights loaded three ways, and the model compiled from the
/// `.keras` file, all against Keras.
fn check<D: Model<Scalar = f32> + Zeroable + PartialEq, K: Model<Scalar = f32>>(keras: &K, fx: &Fixture) {
    assert_eq!(D::PARAMS, fx.params, "{}: parameters", fx.name);
    assert_eq!(K::PARAMS, fx.params, "{}: parameters of the .keras model", fx.name);
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
    again.load_keras_weights(&dsl.to_keras_weights().unwrap()).unwrap();
    again.load_safetensors(&dsl.to_safetensors().unwrap()).unwrap();
    assert!(*again == *dsl, "{}: weights written and read back", fx.name);

    println!("{:>34}: worst error DSL {flat:.1e}, keras_model! {compiled:.1e}", fx.name);
    assert!(flat <= TOLERANCE && compiled <= TOLERANCE, "{}: {flat} / {compiled}", fx.name);
}

macro_rules! fixture {
    ($name:ident, [$($x:ident),*]) => {
        Fixture {
            name: stringify!($name),
            inputs: &[$(fx::$name::$x),*],
            outputs: fx::$name::Y,
            params: fx::$name::PARAMS,
            layers: fx::$name::LAYERS,
            weights: fx::$name::WEIGHTS,
            flat_weights: fx::$name::FLAT_WEIGHTS,
            dir: "tensor",
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
                check::<Dsl, Keras>(&Keras::KERAS, &fixture!($name, [X0]));
            }
        }
    };
}

case!(conv1d_valid, "tests/fixtures/keras/tensor/conv1d_valid.keras", Input<10, 3>, Conv1D<4, 3>);
case!(
    conv1d_same_strided,
    "tests/fixtures/keras/tensor/conv1d_same_strided.keras",
    Input<11, 3>, Conv1D<4, 4, strides = 2, padding = same>
);
case!(
    conv1d_same_strided_odd,
    "tests/fixtures/keras/tensor/conv1d_same_strided_odd.keras",
    Input<10, 2>, Conv1D<3, 3, strides = 3, padding = same>
);
case!(
    conv1d_causal_dilated,
    "tests/fixtures/keras/tensor/conv1d_causal_dilated.keras",
    Input<12, 2>, Conv1D<3, 3, padding = causal, dilation_rate = 2, activation = tanh>
);
case!(
    conv1d_groups_nobias,
    "tests/fixtures/keras/tensor/conv1d_groups_nobias.keras",
    Input<9, 4>, Conv1D<6, 3, groups = 2, use_bias = false, relu>
);
case!(
    conv1d_dilated_same,
    "tests/fixtures/keras/tensor/conv1d_dilated_same.keras",
    Input<12, 3>, Conv1D<2, 3, dilation_rate = 3, padding = same>
);
case!(conv2d_valid, "tests/fixtures/keras/tensor/conv2d_valid.keras", Input<6, 5, 2>, Conv2D<3, 3>);
case!(
    conv2d_same_strided,
    "tests/fixtures/keras/tensor/conv2d_same_strided.keras",
    Input<7, 6, 3>, Conv2D<4, (3, 2), strides = 2, padding = same>
);
case!(
    conv2d_same_strided_even,
    "tests/fixtures/keras/tensor/conv2d_same_strided_even.keras",
    Input<8, 8, 2>, Conv2D<3, 4, strides = (2, 3), padding = same, relu>
);
case!(
    conv2d_dilated,
    "tests/fixtures/keras/tensor/conv2d_dilated.keras",
    Input<9, 8, 2>, Conv2D<3, (3, 2), dilation_rate = (2, 3)>
);
case!(
    conv2d_groups,
    "tests/fixtures/keras/tensor/conv2d_groups.keras",
    Input<6, 6, 4>, Conv2D<4, 3, groups = 2, padding = same, use_bias = false>
);
case!(
    depthwise_conv2d,
    "tests/fixtures/keras/tensor/depthwise_conv2d.keras",
    Input<7, 7, 3>, DepthwiseConv2D<3, depth_multiplier = 2, strides = 2, padding = same, relu>
);
case!(
    depthwise_conv2d_valid,
    "tests/fixtures/keras/tensor/depthwise_conv2d_valid.keras",
    Input<6, 5, 2>, DepthwiseConv2D<(2, 3), use_bias = false>
);
case!(
    separable_conv2d,
    "tests/fixtures/keras/tensor/separable_conv2d.keras",
    Input<8, 7, 3>, SeparableConv2D<5, 3, depth_multiplier = 2, padding = same, relu>
);
case!(
    separable_conv2d_strided,
    "tests/fixtures/keras/tensor/separable_conv2d_strided.keras",
    Input<9, 9, 2>, SeparableConv2D<4, (3, 2), strides = 2, use_bias = false>
);
case!(max_pooling1d, "tests/fixtures/keras/tensor/max_pooling1d.keras", Input<10, 3>, MaxPooling1D<2>);
case!(
    max_pooling1d_same,
    "tests/fixtures/keras/tensor/max_pooling1d_same.keras",
    Input<11, 3>, MaxPooling1D<3, strides = 2, padding = same>
);
case!(
    average_pooling1d_same,
    "tests/fixtures/keras/tensor/average_pooling1d_same.keras",
    Input<11, 3>, AveragePooling1D<3, strides = 2, padding = same>
);
case!(
    average_pooling1d,
    "tests/fixtures/keras/tensor/average_pooling1d.keras",
    Input<10, 2>, AveragePooling1D<4, strides = 3>
);
case!(max_pooling2d, "tests/fixtures/keras/tensor/max_pooling2d.keras", Input<7, 6, 2>, MaxPooling2D<2>);
case!(
    max_pooling2d_same,
    "tests/fixtures/keras/tensor/max_pooling2d_same.keras",
    Input<7, 6, 2>, MaxPooling2D<(3, 2), strides = (2, 2), padding = same>
);
case!(
    average_pooling2d,
    "tests/fixtures/keras/tensor/average_pooling2d.keras",
    Input<8, 6, 2>, AveragePooling2D<2, strides = (2, 1)>
);
case!(
    average_pooling2d_same,
    "tests/fixtures/keras/tensor/average_pooling2d_same.keras",
    Input<7, 5, 3>, AveragePooling2D<3, strides = 2, padding = same>
);
case!(
    global_max_pooling1d,
    "tests/fixtures/keras/tensor/global_max_pooling1d.keras",
    Input<6, 4>, GlobalMaxPooling1D
);
case!(
    global_average_pooling1d_keepdims,
    "tests/fixtures/keras/tensor/global_average_pooling1d_keepdims.keras",
    Input<6, 4>, GlobalAveragePooling1D<keepdims = true>
);
case!(
    global_max_pooling2d_keepdims,
    "tests/fixtures/keras/tensor/global_max_pooling2d_keepdims.keras",
    Input<5, 4, 3>, GlobalMaxPooling2D<keepdims = true>
);
case!(
    global_average_pooling2d,
    "tests/fixtures/keras/tensor/global_average_pooling2d.keras",
    Input<5, 4, 3>, GlobalAveragePooling2D
);
case!(flatten, "tests/fixtures/keras/tensor/flatten.keras", Input<3, 4, 2>, Flatten);
case!(reshape, "tests/fixtures/keras/tensor/reshape.keras", Input<12>, Reshape<(3, 2, 2)>);
case!(reshape_infer, "tests/fixtures/keras/tensor/reshape_infer.keras", Input<4, 6>, Reshape<(-1, 3)>);
case!(permute, "tests/fixtures/keras/tensor/permute.keras", Input<3, 4, 2>, Permute<(2, 1, 3)>);
case!(permute_seq, "tests/fixtures/keras/tensor/permute_seq.keras", Input<5, 3>, Permute<(2, 1)>);
case!(repeat_vector, "tests/fixtures/keras/tensor/repeat_vector.keras", Input<4>, RepeatVector<3>);
case!(zero_padding1d, "tests/fixtures/keras/tensor/zero_padding1d.keras", Input<5, 2>, ZeroPadding1D<(1, 2)>);
case!(
    zero_padding2d,
    "tests/fixtures/keras/tensor/zero_padding2d.keras",
    Input<4, 3, 2>, ZeroPadding2D<((1, 0), (2, 1))>
);
case!(cropping1d, "tests/fixtures/keras/tensor/cropping1d.keras", Input<7, 2>, Cropping1D<(2, 1)>);
case!(
    cropping2d,
    "tests/fixtures/keras/tensor/cropping2d.keras",
    Input<6, 5, 2>, Cropping2D<((1, 2), (0, 1))>
);
case!(upsampling1d, "tests/fixtures/keras/tensor/upsampling1d.keras", Input<4, 3>, UpSampling1D<3>);
case!(upsampling2d, "tests/fixtures/keras/tensor/upsampling2d.keras", Input<3, 2, 2>, UpSampling2D<(2, 3)>);
case!(dense_on_sequence, "tests/fixtures/keras/tensor/dense_on_sequence.keras", Input<5, 3>, Dense<4, relu>);
case!(dense_on_image, "tests/fixtures/keras/tensor/dense_on_image.keras", Input<3, 4, 2>, Dense<3>);
case!(
    softmax_on_sequence,
    "tests/fixtures/keras/tensor/softmax_on_sequence.keras",
    Input<4, 5>, Activation<softmax>
);
case!(
    cnn_chain,
    "tests/fixtures/keras/tensor/cnn_chain.keras",
    Input<12, 12, 1>,
    Conv2D<4, 3, relu>,
    MaxPooling2D<2>,
    Conv2D<8, 3, padding = same, relu>,
    Flatten,
    Dense<5, softmax>
);
case!(
    kws_cnn,
    "tests/fixtures/keras/tensor/kws_cnn.keras",
    Input<49, 10, 1>,
    Conv2D<16, (5, 3), strides = (2, 1), relu>,
    MaxPooling2D<2>,
    Conv2D<32, 3, padding = same, relu>,
    GlobalAveragePooling2D,
    Dense<12, softmax>
);
case!(
    sensor_conv1d,
    "tests/fixtures/keras/tensor/sensor_conv1d.keras",
    Input<128, 6>,
    Conv1D<16, 5, strides = 2, padding = same, relu>,
    MaxPooling1D<2>,
    Conv1D<32, 3, relu>,
    GlobalAveragePooling1D,
    Dense<8>
);

mod merges_on_images {
    use super::*;
    functional! {
        pub struct Dsl {
            a = Input<4, 3, 2>;
            b = Input<4, 3, 2>;
            s = Add(a, b);
            m = Multiply(a, b);
            c = Concatenate(s, m);
            out = Conv2D<2, 1>(c);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/merges_on_images.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(merges_on_images, [X0, X1]));
    }
}

#[test]
fn summaries_print_keras_shapes() {
    // Keras names the model `sequential`; ours is named after its type.
    let table = |s: &str| s.split_once('\n').map(|(_, rest)| rest.to_string()).unwrap_or_default();
    assert_eq!(table(&kws_cnn::Keras::KERAS.summary().to_string()), table(fx::kws_cnn::SUMMARY));
    assert_eq!(table(&sensor_conv1d::Dsl::ZEROS.summary().to_string()), table(fx::sensor_conv1d::SUMMARY));
}
