//! Normalization, regularization, preprocessing and activation layers against Keras 3 (fixtures
//! from `scripts/make_norm_fixtures.py`), each written in the DSL and compiled from its `.keras`
//! file, through the harness in `parity/`; then the whole models an issue named.

mod parity;

use nn::prelude::*;
use nn::tensor::Ids;
use parity::{case, check, fixture};

#[allow(clippy::approx_constant, clippy::excessive_precision, dead_code)]
mod fx {
    include!("fixtures/norm_layers.rs");
}

/// Where `case!` and `fixture!` find the fixture files: `tests/fixtures/keras/<DIR>/`.
const DIR: &str = "norm";

case!(
    batch_norm_dense,
    "tests/fixtures/keras/norm/batch_norm_dense.keras",
    Input<6>,
    Dense<5>,
    BatchNormalization
);
case!(
    batch_norm_conv2d,
    "tests/fixtures/keras/norm/batch_norm_conv2d.keras",
    Input<5, 6, 2>,
    Conv2D<4, 3>,
    BatchNormalization<epsilon = 1e-2>
);
case!(
    batch_norm_no_center_scale,
    "tests/fixtures/keras/norm/batch_norm_no_center_scale.keras",
    Input<5, 4>,
    BatchNormalization<center = false, scale = false>
);
case!(
    batch_norm_only_scale,
    "tests/fixtures/keras/norm/batch_norm_only_scale.keras",
    Input<4, 5, 3>,
    BatchNormalization<center = false>
);
case!(
    layer_norm_vector,
    "tests/fixtures/keras/norm/layer_norm_vector.keras",
    Input<6>,
    Dense<8>,
    LayerNormalization
);
case!(
    layer_norm_sequence,
    "tests/fixtures/keras/norm/layer_norm_sequence.keras",
    Input<5, 4>,
    LayerNormalization<epsilon = 1e-5>
);
case!(
    layer_norm_no_center_scale,
    "tests/fixtures/keras/norm/layer_norm_no_center_scale.keras",
    Input<5, 4>,
    LayerNormalization<center = false, scale = false>
);
case!(
    layer_norm_rms,
    "tests/fixtures/keras/norm/layer_norm_rms.keras",
    Input<4, 5, 3>,
    LayerNormalization<rms_scaling = true>
);
case!(group_norm_image, "tests/fixtures/keras/norm/group_norm_image.keras", Input<4, 5, 6>, GroupNormalization<3>);
case!(
    group_norm_sequence,
    "tests/fixtures/keras/norm/group_norm_sequence.keras",
    Input<5, 4>,
    GroupNormalization<2, center = false>
);
case!(
    group_norm_instance,
    "tests/fixtures/keras/norm/group_norm_instance.keras",
    Input<4, 5, 3>,
    GroupNormalization<-1>
);
case!(
    dropouts,
    "tests/fixtures/keras/norm/dropouts.keras",
    Input<5, 4>,
    Dropout<0.5>,
    SpatialDropout1D<0.3>,
    GaussianNoise<0.1>,
    GaussianDropout<0.2>,
    AlphaDropout<0.1>,
    ActivityRegularization<l1 = 0.01, l2 = 0.01>,
    Dense<3>
);
case!(
    identity,
    "tests/fixtures/keras/norm/identity.keras",
    Input<5, 4>,
    Identity,
    Dense<3>,
    Identity
);
case!(
    random_augmentations,
    "tests/fixtures/keras/norm/random_augmentations.keras",
    Input<6, 5, 3>,
    RandomFlip<horizontal, seed = 3>,
    RandomRotation<(-0.2, 0.3), fill_mode = constant, interpolation = nearest, fill_value = 1.0>,
    RandomZoom<0.1, (-0.2, 0.1)>,
    RandomTranslation<0.1, 0.2, fill_mode = wrap>,
    RandomContrast<0.3, value_range = (0, 1)>,
    RandomBrightness<0.2, value_range = (-3, 3)>,
    Conv2D<2, 3>
);
case!(
    random_image_layers,
    "tests/fixtures/keras/norm/random_image_layers.keras",
    Input<5, 4, 3>,
    RandomHue<0.2>,
    RandomColorDegeneration<0.4>,
    RandomColorJitter<value_range = (0, 1), brightness_factor = 0.2, hue_factor = 0.1>,
    RandomElasticTransform<0.5, scale = 0.2, fill_mode = mirror>,
    RandomErasing<0.3, scale = (0.1, 0.2), fill_value = 0.5>,
    RandomGaussianBlur<0.5, kernel_size = 3, sigma = (0.5, 1.0)>,
    RandomGrayscale<0.3>,
    RandomInvert<0.5, value_range = (0, 1)>,
    RandomPerspective<0.4, scale = 0.5, interpolation = nearest>,
    RandomPosterization<(1, 4)>,
    RandomSaturation<(0.2, 0.8)>,
    RandomSharpness<0.3>,
    Dense<2>
);
case!(
    mix_layers,
    "tests/fixtures/keras/norm/mix_layers.keras",
    Input<6, 5, 3>,
    Solarization<0.2, 0.3, value_range = (0, 1)>,
    AugMix<value_range = (0, 1), num_chains = 2, seed = 1>,
    CutMix<0.5, seed = 2>,
    MixUp<0.3>,
    RandAugment<value_range = (0, 1), num_ops = 1, factor = 0.4>,
    Dense<2>
);

// RandomShear reads its options too, though Keras cannot reload a model saved with it; without
// weights of its own, it leaves the seeded weights as they are without it.
sequential! {
    struct Sheared { Input<4, 4, 2>, RandomShear<0.2, 0.1, fill_mode = nearest>, Flatten, Dense<1> }
}
sequential! {
    struct Unsheared { Input<4, 4, 2>, Flatten, Dense<1> }
}

#[test]
fn random_shear_is_its_input_at_inference() {
    let x =
        Tensor3::<f32, 4, 4, 2>::from_slice(&core::array::from_fn::<f32, 32, _>(|i| i as f32 / 8.0 - 2.0));
    let (sheared, plain) = (Sheared::seeded(1), Unsheared::seeded(1));
    assert_eq!(sheared.dense, plain.dense);
    assert_eq!(sheared.predict(&x), plain.predict(&x));
    assert_ne!(plain.predict(&x)[0], 0.0);
}

case!(
    category_encoding,
    "tests/fixtures/keras/norm/category_encoding.keras",
    Input<6>,
    CategoryEncoding<5>,
    Dense<3>
);
case!(
    category_encoding_count,
    "tests/fixtures/keras/norm/category_encoding_count.keras",
    Input<8>,
    CategoryEncoding<4, output_mode = count>
);
case!(
    category_encoding_one_hot,
    "tests/fixtures/keras/norm/category_encoding_one_hot.keras",
    Input<5>,
    CategoryEncoding<6, output_mode = one_hot>,
    Dense<2>
);
case!(
    category_encoding_one_id,
    "tests/fixtures/keras/norm/category_encoding_one_id.keras",
    Input<1>,
    CategoryEncoding<7, output_mode = one_hot>
);

#[test]
fn category_encoding_reads_ids_and_refuses_bad_ones_at_the_checked_entry_points() {
    let model = category_encoding_count::Keras::KERAS;
    let y = model.predict(&Ids::<8, 4>::new([3, 3, 0, 1, 3, 0, 2, 3]).unwrap());
    assert_eq!(y.as_slice(), &[2.0, 1.0, 1.0, 4.0]);
    assert_eq!(Ids::<8, 4>::new([0, 1, 2, 4, 0, 0, 0, 0]), Err(3));
    let mut out = [0.0f32; 4];
    let bad = [0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0];
    assert!(model.predict_flat(&[&bad], &mut [&mut out]).is_err());
    let one = category_encoding_one_id::Dsl::ZEROS.predict(&Ids([5]));
    assert_eq!(one.as_slice(), &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
}

case!(
    spatial_dropout2d,
    "tests/fixtures/keras/norm/spatial_dropout2d.keras",
    Input<4, 5, 3>,
    SpatialDropout2D<0.4>,
    Conv2D<2, 2>
);
case!(rescaling, "tests/fixtures/keras/norm/rescaling.keras", Input<4, 5, 3>, Rescaling<0.00784313725490196, offset = -1>);
case!(
    normalization_config,
    "tests/fixtures/keras/norm/normalization_config.keras",
    Input<5, 3>,
    Normalization<mean = (0.5, -1.0, 2.0), variance = (4.0, 0.25, 1.0)>
);
case!(
    normalization_scalar,
    "tests/fixtures/keras/norm/normalization_scalar.keras",
    Input<6>,
    Normalization<mean = 3.0, variance = 2.0>
);
case!(normalization_adapted, "tests/fixtures/keras/norm/normalization_adapted.keras", Input<5, 3>, Normalization);
case!(
    normalization_invert,
    "tests/fixtures/keras/norm/normalization_invert.keras",
    Input<6>,
    Normalization<mean = 1.0, variance = 4.0, invert = true>
);
case!(
    relu_options,
    "tests/fixtures/keras/norm/relu_options.keras",
    Input<8>,
    ReLU<max_value = 1.5, negative_slope = 0.1, threshold = 0.2>
);
case!(relu_plain, "tests/fixtures/keras/norm/relu_plain.keras", Input<5, 4>, ReLU);
case!(leaky_relu_layer, "tests/fixtures/keras/norm/leaky_relu_layer.keras", Input<6>, LeakyReLU);
case!(leaky_relu_slope, "tests/fixtures/keras/norm/leaky_relu_slope.keras", Input<5, 4>, LeakyReLU<0.05>);
case!(elu_layer, "tests/fixtures/keras/norm/elu_layer.keras", Input<6>, ELU<0.7>);
case!(softmax_last, "tests/fixtures/keras/norm/softmax_last.keras", Input<5, 4>, Softmax);
case!(softmax_axis1, "tests/fixtures/keras/norm/softmax_axis1.keras", Input<5, 4>, Softmax<1>);
case!(prelu_vector, "tests/fixtures/keras/norm/prelu_vector.keras", Input<6>, PReLU);
case!(prelu_shared, "tests/fixtures/keras/norm/prelu_shared.keras", Input<4, 5, 3>, PReLU<shared_axes = (1, 2)>);
case!(
    prelu_sequence_shared,
    "tests/fixtures/keras/norm/prelu_sequence_shared.keras",
    Input<5, 4>,
    PReLU<shared_axes = 1>
);

case!(embedding, "tests/fixtures/keras/norm/embedding.keras", Input<7>, Embedding<20, 4>);

// Options that matter only while training (checked in `tests/train_norm.rs`).
case!(
    training_options,
    "tests/fixtures/keras/norm/training_options.keras",
    Input<5, 4>,
    Dropout<0.5, noise_shape = (None, 1, 4)>,
    AlphaDropout<0.2, noise_shape = (None, 5, 1)>,
    BatchNormalization<momentum = 0.8>,
    Dense<3>
);

// UnitNormalization: the last axis by default and by number.
case!(
    unit_norm_vector,
    "tests/fixtures/keras/norm/unit_norm_vector.keras",
    Input<6>,
    Dense<8>,
    UnitNormalization
);
case!(
    unit_norm_image,
    "tests/fixtures/keras/norm/unit_norm_image.keras",
    Input<4, 5, 3>,
    UnitNormalization<axis = 3>
);

// RMSNormalization: Keras's epsilon and another; Keras saves `axis` as a list (`[-1]`, `[2]`).
case!(
    rms_norm_vector,
    "tests/fixtures/keras/norm/rms_norm_vector.keras",
    Input<6>,
    Dense<8>,
    RMSNormalization
);
case!(
    rms_norm_sequence,
    "tests/fixtures/keras/norm/rms_norm_sequence.keras",
    Input<5, 4>,
    RMSNormalization<axis = 2, epsilon = 1e-3>
);

// The whole models: a Dropout MLP, a LeakyReLU MLP, a residual block with LayerNormalization
// and a Dense + BatchNormalization MLP.
case!(
    dropout_mlp,
    "tests/fixtures/keras/norm/dropout_mlp.keras",
    Input<20>,
    Dense<32, relu>,
    Dropout<0.3>,
    Dense<16, relu>,
    Dropout<0.3>,
    Dense<4, softmax>
);
case!(
    leaky_relu_mlp,
    "tests/fixtures/keras/norm/leaky_relu_mlp.keras",
    Input<10>,
    Dense<16>,
    LeakyReLU,
    Dense<16>,
    LeakyReLU<negative_slope = 0.1>,
    Dense<2>
);
case!(
    dense_bn_mlp,
    "tests/fixtures/keras/norm/dense_bn_mlp.keras",
    Input<16>,
    Dense<64>,
    BatchNormalization,
    Activation<relu>,
    Dense<64>,
    BatchNormalization,
    Activation<relu>,
    Dense<8>
);

case!(
    embedding_text,
    "tests/fixtures/keras/norm/embedding_text.keras",
    Input<12>,
    Embedding<50, 8>,
    GlobalAveragePooling1D,
    Dense<4, softmax>
);

case!(
    layer_norm_two_axes,
    "tests/fixtures/keras/norm/layer_norm_two_axes.keras",
    Input<4, 3>,
    LayerNormalization<axis = (-2, -1)>
);

case!(
    layer_norm_image_axes,
    "tests/fixtures/keras/norm/layer_norm_image_axes.keras",
    Input<3, 2, 4>,
    LayerNormalization<axis = (2, 3)>
);

case!(
    layer_norm_all_rms,
    "tests/fixtures/keras/norm/layer_norm_all_rms.keras",
    Input<3, 2, 4>,
    LayerNormalization<axis = (1, 2, 3), rms_scaling = true>
);

case!(
    unit_norm_two_axes,
    "tests/fixtures/keras/norm/unit_norm_two_axes.keras",
    Input<3, 4>,
    UnitNormalization<axis = (1, 2)>
);

case!(
    rms_norm_two_axes,
    "tests/fixtures/keras/norm/rms_norm_two_axes.keras",
    Input<2, 5>,
    RMSNormalization<axis = (-2, -1)>
);

case!(
    batch_norm_axis1_sequence,
    "tests/fixtures/keras/norm/batch_norm_axis1_sequence.keras",
    Input<4, 3>,
    BatchNormalization<axis = 1>
);

case!(
    batch_norm_channels_first,
    "tests/fixtures/keras/norm/batch_norm_channels_first.keras",
    Input<3, 4, 5>,
    BatchNormalization<axis = 1>
);

case!(
    batch_norm_axis_minus2,
    "tests/fixtures/keras/norm/batch_norm_axis_minus2.keras",
    Input<3, 4, 5>,
    BatchNormalization<axis = -2, center = false>
);

case!(
    normalization_axis_none,
    "tests/fixtures/keras/norm/normalization_axis_none.keras",
    Input<3, 4>,
    Normalization<axis = None>
);

case!(
    normalization_two_axes,
    "tests/fixtures/keras/norm/normalization_two_axes.keras",
    Input<3, 4>,
    Normalization<axis = (-2, -1)>
);

case!(
    normalization_none_config,
    "tests/fixtures/keras/norm/normalization_none_config.keras",
    Input<5>,
    Normalization<axis = None, mean = 2.0, variance = 3.0>
);

case!(
    group_norm_channels_first,
    "tests/fixtures/keras/norm/group_norm_channels_first.keras",
    Input<4, 3, 5>,
    GroupNormalization<groups = 2, axis = 1>
);

mod residual_layer_norm {
    use super::*;
    functional! {
        pub struct Dsl {
            input_layer = Input<6, 8>;
            dense = Dense<8>(input_layer);
            layer_normalization = LayerNormalization(dense);
            activation = Activation<relu>(layer_normalization);
            dense_1 = Dense<8>(activation);
            add = Add(input_layer, dense_1);
            layer_normalization_1 = LayerNormalization(add);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/norm/residual_layer_norm.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(residual_layer_norm, [X0]));
    }
}

#[test]
fn ids_outside_the_table_are_errors_at_the_checked_entry_points_and_zeros_in_predict() {
    use nn::FlatError;
    use nn::tensor::Ids;
    let model = embedding::Keras::KERAS;
    for bad in [20.0, -1.0, 2.5, f32::NAN] {
        let x = [1.0, 2.0, 3.0, bad, 0.0, 0.0, 0.0];
        let mut y = [7.0f32; 28];
        assert_eq!(model.predict_flat(&[&x], &mut [&mut y]), Err(FlatError::Id { input: 0, at: 3 }));
        assert_eq!(y, [7.0; 28], "nothing written on an error");
        let mut batch = [0.0f32; 14];
        batch[7..].copy_from_slice(&x);
        let mut ys = [7.0f32; 56];
        let got = model.predict_flat_batch(&[&batch], &mut [&mut ys]);
        assert_eq!(got, Err(FlatError::Id { input: 0, at: 10 }));
        assert_eq!(ys, [7.0; 56], "nothing written on an error");
    }
    assert_eq!(Ids::<7, 20>::new([0, 1, 2, 20, 0, 0, 0]), Err(3));
    // Past the table through the typed input: that step embeds as zeros.
    let out = model.predict(&Ids([1, 2, 3, 99, 0, 0, 0]));
    assert_eq!(out.step(3).as_slice(), &[0.0; 4]);
    assert_eq!(out.step(2), model.predict(&Ids([3, 3, 3, 3, 3, 3, 3])).step(0));
}

#[test]
fn batch_norm_is_folded_on_every_path_that_sets_weights() {
    use nn::weights::WeightFiles;
    let keras = dense_bn_mlp::Keras::KERAS;
    let x = SVector::<f32, 16>::from_fn(|i, _| i as f32 / 8.0 - 1.0);
    let want = keras.predict(&x);
    // Raw bytes read at compile time's pace (the const `from_bytes`), flat parameters, files.
    let bytes = keras.to_bytes();
    let from_bytes = dense_bn_mlp::Dsl::from_bytes(&bytes);
    assert_eq!(from_bytes.predict(&x), want);
    let mut flat = vec![0.0f32; <dense_bn_mlp::Dsl as Model>::PARAMS];
    keras.save_params(&mut flat).unwrap();
    let mut loaded = dense_bn_mlp::Dsl::boxed_zeros();
    loaded.load_params(&flat).unwrap();
    assert_eq!(loaded.predict(&x), want);
    // By hand: the fold holds the old statistics until `prepare`, as documented.
    for m in &mut loaded.batch_normalization.moving_mean {
        *m -= 1.0;
    }
    assert_eq!(loaded.predict(&x), want);
    loaded.batch_normalization.prepare();
    assert_ne!(loaded.predict(&x), want);
}

#[test]
fn summaries_count_the_moving_statistics_apart() {
    // Keras names the model `sequential`; ours is named after its type.
    let table = |s: &str| s.split_once('\n').map(|(_, rest)| rest.to_string()).unwrap_or_default();
    assert_eq!(table(&dense_bn_mlp::Keras::KERAS.summary().to_string()), table(fx::dense_bn_mlp::SUMMARY));
    assert_eq!(table(&dropout_mlp::Dsl::ZEROS.summary().to_string()), table(fx::dropout_mlp::SUMMARY));
    assert_eq!(table(&leaky_relu_mlp::Dsl::ZEROS.summary().to_string()), table(fx::leaky_relu_mlp::SUMMARY));
    assert_eq!(
        table(&embedding_text::Keras::KERAS.summary().to_string()),
        table(fx::embedding_text::SUMMARY)
    );
    assert_eq!(
        table(&residual_layer_norm::Dsl::ZEROS.summary().to_string()),
        table(fx::residual_layer_norm::SUMMARY)
    );
    assert_eq!(table(&identity::Dsl::ZEROS.summary().to_string()), table(fx::identity::SUMMARY));
    assert_eq!(
        table(&category_encoding::Dsl::ZEROS.summary().to_string()),
        table(fx::category_encoding::SUMMARY)
    );
    for (dsl, keras, want) in [
        (
            random_augmentations::Dsl::ZEROS.summary().to_string(),
            random_augmentations::Keras::KERAS.summary().to_string(),
            fx::random_augmentations::SUMMARY,
        ),
        (
            random_image_layers::Dsl::ZEROS.summary().to_string(),
            random_image_layers::Keras::KERAS.summary().to_string(),
            fx::random_image_layers::SUMMARY,
        ),
        (
            mix_layers::Dsl::ZEROS.summary().to_string(),
            mix_layers::Keras::KERAS.summary().to_string(),
            fx::mix_layers::SUMMARY,
        ),
    ] {
        assert_eq!(table(&dsl), table(want));
        assert_eq!(table(&keras), table(want));
    }
    assert_eq!(table(&identity::Keras::KERAS.summary().to_string()), table(fx::identity::SUMMARY));
}

case!(
    normalization_steps,
    "tests/fixtures/keras/norm/normalization_steps.keras",
    Input<5, 3>,
    Normalization<axis = 1>
);

case!(
    normalization_middle_axes,
    "tests/fixtures/keras/norm/normalization_middle_axes.keras",
    Input<2, 3, 4, 2>,
    Normalization<axis = (2, 3)>
);

case!(
    layer_norm_steps,
    "tests/fixtures/keras/norm/layer_norm_steps.keras",
    Input<5, 3>,
    LayerNormalization<axis = 1>
);

case!(
    layer_norm_middle_axes,
    "tests/fixtures/keras/norm/layer_norm_middle_axes.keras",
    Input<2, 3, 4, 2>,
    LayerNormalization<axis = (2, 3), rms_scaling = true>
);

case!(
    unit_norm_inner_axes,
    "tests/fixtures/keras/norm/unit_norm_inner_axes.keras",
    Input<3, 4, 2>,
    UnitNormalization<axis = 1>,
    UnitNormalization<axis = (1, 2)>
);

case!(
    layer_norm_axes_apart,
    "tests/fixtures/keras/norm/layer_norm_axes_apart.keras",
    Input<3, 2, 4>,
    LayerNormalization<axis = (1, 3)>,
    UnitNormalization<axis = (1, 3)>
);

case!(
    normalization_axes_apart,
    "tests/fixtures/keras/norm/normalization_axes_apart.keras",
    Input<3, 2, 4>,
    Normalization<axis = (1, 3)>
);
