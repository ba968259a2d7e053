//! Finite-difference checks of the convolutions' backward passes (Conv1D, Conv2D,
//! DepthwiseConv1D/2D, SeparableConv1D/2D, Conv1DTranspose, Conv2DTranspose), the adaptive
//! pools' and the resizing layers' through the generated sweep, in f64: every padding,
//! strides, dilation, groups, with and without bias, under activations with a kink (relu) and
//! without (tanh). A layer that reads a model input computes no input gradient, so each
//! convolution under test follows a layer whose weights then check it. The harness is
//! tests/train_gradients.rs's.
//!
//! Last, the Keras fixtures `conv1d_causal_dilated` and `conv_transpose_autoencoder` of
//! tests/fixtures/train.rs: the same model trained by `fit`'s steps from Keras's initial weights
//! must follow Keras's weights step by step.

mod gradcheck;

use gradcheck::check;
use nn::prelude::*;

#[allow(clippy::approx_constant, clippy::excessive_precision, dead_code)]
mod fx {
    include!("fixtures/train.rs");
}

sequential! {
    struct Conv1dValid<f64> { Input<10, 3>, Dense<3, tanh>, Conv1D<4, 3, relu>, Conv1D<2, 2, tanh> }
}

#[test]
fn conv1d_valid_with_relu_and_tanh() {
    check(Conv1dValid::seeded(1));
}

sequential! {
    struct Conv1dSame<f64> { Input<11, 3>, Dense<3, tanh>, Conv1D<4, 4, padding = same, tanh>, Conv1D<3, 3, padding = same> }
}

#[test]
fn conv1d_same() {
    check(Conv1dSame::seeded(2));
}

sequential! {
    struct Conv1dCausal<f64> { Input<9, 2>, Dense<2, tanh>, Conv1D<3, 3, padding = causal, relu>, Conv1D<2, 2, padding = causal> }
}

#[test]
fn conv1d_causal() {
    check(Conv1dCausal::seeded(3));
}

sequential! {
    struct Conv1dStrided<f64> {
        Input<11, 3>, Dense<3, tanh>, Conv1D<4, 4, strides = 2, padding = same, tanh>, Conv1D<3, 2, strides = 2>
    }
}

#[test]
fn conv1d_stride_2_same_and_valid() {
    check(Conv1dStrided::seeded(4));
}

sequential! {
    struct Conv1dDilated<f64> {
        Input<14, 2>, Dense<3, tanh>, Conv1D<4, 3, dilation_rate = 2, padding = same, relu>,
        Conv1D<3, 2, dilation_rate = 4>, Conv1D<2, 2, dilation_rate = 4, padding = causal, tanh>
    }
}

#[test]
fn conv1d_dilation_2_and_4() {
    check(Conv1dDilated::seeded(5));
}

sequential! {
    struct Conv1dGroups<f64> {
        Input<9, 3>, Dense<4, tanh>, Conv1D<6, 3, groups = 2, use_bias = false, relu>,
        Conv1D<4, 2, groups = 2, padding = causal, tanh>
    }
}

#[test]
fn conv1d_groups_2_without_bias() {
    check(Conv1dGroups::seeded(6));
}

sequential! {
    struct Conv1dNoBias<f64> { Input<8, 2>, Dense<3, tanh>, Conv1D<4, 3, use_bias = false, padding = same, tanh> }
}

#[test]
fn conv1d_without_bias() {
    check(Conv1dNoBias::seeded(7));
}

sequential! {
    /// Patches of 3 × 64 channels: too wide for a block of 24 rows, so the block of 12.
    struct Conv1dWide<f64> { Input<6, 2>, Dense<64, tanh>, Conv1D<2, 3, padding = same, relu> }
}

#[test]
fn conv1d_with_wide_patches() {
    check(Conv1dWide::seeded(8));
}

sequential! {
    struct Conv2dSame<f64> {
        Input<7, 6, 2>, Dense<3, tanh>, Conv2D<4, (3, 2), strides = (2, 1), padding = same, relu>,
        Conv2D<2, (3, 2), padding = same, tanh>
    }
}

#[test]
fn conv2d_3x2_kernels_strides_2_1_same() {
    check(Conv2dSame::seeded(9));
}

sequential! {
    struct Conv2dValid<f64> {
        Input<7, 6, 2>, Dense<3, tanh>, Conv2D<4, (3, 2), strides = (2, 1), tanh>, Conv2D<2, (2, 3)>
    }
}

#[test]
fn conv2d_3x2_kernels_strides_2_1_valid() {
    check(Conv2dValid::seeded(10));
}

sequential! {
    struct Conv2dDilated<f64> {
        Input<9, 8, 2>, Dense<2, tanh>, Conv2D<3, (3, 2), dilation_rate = (2, 2), padding = same, relu>,
        Conv2D<2, 2, dilation_rate = (2, 2)>
    }
}

#[test]
fn conv2d_dilation_2_2() {
    check(Conv2dDilated::seeded(11));
}

sequential! {
    struct Conv2dGroups<f64> {
        Input<6, 6, 3>, Dense<4, tanh>, Conv2D<4, 3, groups = 2, padding = same, use_bias = false, tanh>,
        Conv2D<6, (2, 3), groups = 2, strides = (1, 2), relu>
    }
}

#[test]
fn conv2d_groups() {
    check(Conv2dGroups::seeded(12));
}

sequential! {
    struct Depthwise<f64> {
        Input<7, 7, 3>, Dense<3, tanh>, DepthwiseConv2D<3, depth_multiplier = 2, strides = 2, padding = same, relu>,
        DepthwiseConv2D<(2, 3), use_bias = false, tanh>, DepthwiseConv2D<2, dilation_rate = (1, 2), padding = same>
    }
}

#[test]
fn depthwise_conv2d_with_depth_multiplier_2_strides_and_same() {
    check(Depthwise::seeded(13));
}

sequential! {
    struct Separable<f64> {
        Input<8, 7, 3>, Dense<3, tanh>, SeparableConv2D<5, 3, depth_multiplier = 2, padding = same, relu>,
        SeparableConv2D<3, (2, 3), strides = 2, use_bias = false, tanh>, SeparableConv2D<2, 2, dilation_rate = (1, 2)>
    }
}

#[test]
fn separable_conv2d() {
    check(Separable::seeded(14));
}

sequential! {
    struct ConvFlattenDense<f64> { Input<6, 5, 2>, Conv2D<3, 3, padding = same, tanh>, Conv2D<4, 2, strides = 2, relu>, Flatten, Dense<2> }
}

#[test]
fn conv2d_flatten_dense() {
    check(ConvFlattenDense::seeded(15));
}

sequential! {
    /// Keras fixture `conv1d_causal_dilated` (tests/fixtures/train.rs).
    struct CausalDilated<f64> {
        Input<16, 2>, Conv1D<4, 3, padding = causal, dilation_rate = 2, relu>,
        Conv1D<4, 3, padding = causal, dilation_rate = 4>, Flatten, Dense<1>
    }
}

#[test]
fn the_causal_dilated_fixture_model() {
    check(CausalDilated::seeded(16));
    let mut model = CausalDilated::zeros();
    model.load_params(fx::conv1d_causal_dilated::FLAT_WEIGHTS).unwrap();
    check(model);
}

sequential! {
    struct DepthwiseFirst<f64> { Input<6, 6, 2>, DepthwiseConv2D<3, depth_multiplier = 2, tanh>, Flatten, Dense<2> }
}

sequential! {
    struct SeparableFirst<f64> { Input<6, 6, 2>, SeparableConv2D<3, 3, strides = 2, padding = same, tanh>, Flatten, Dense<2> }
}

#[test]
fn depthwise_and_separable_reading_the_model_input() {
    check(DepthwiseFirst::seeded(17));
    check(SeparableFirst::seeded(18));
}

sequential! {
    struct DepthwiseSeparable1d<f64> {
        Input<10, 3>, Dense<3, tanh>,
        DepthwiseConv1D<3, depth_multiplier = 2, strides = 2, padding = same, relu>,
        SeparableConv1D<4, 2, depth_multiplier = 2, tanh>,
        DepthwiseConv1D<2, dilation_rate = 2, use_bias = false>
    }
}

#[test]
fn depthwise_and_separable_conv1d() {
    check(DepthwiseSeparable1d::seeded(23));
}

sequential! {
    struct AdaptivePools<f64> {
        Input<7, 9, 2>, Dense<3, tanh>, AdaptiveMaxPooling2D<(4, 3)>, Dense<3, tanh>,
        AdaptiveAveragePooling2D<(3, 5)>, Reshape<(15, 3)>, AdaptiveMaxPooling1D<4>, AdaptiveAveragePooling1D<3>
    }
}

#[test]
fn adaptive_pools_with_overlapping_bins() {
    check(AdaptivePools::seeded(24));
}

sequential! {
    struct Resizes<f64> {
        Input<5, 6, 2>, Dense<2, tanh>, Resizing<7, 4>, Dense<2, tanh>, Resizing<3, 5, interpolation = nearest>,
        Dense<2, tanh>, CenterCrop<2, 3>, Dense<2, tanh>, UpSampling2D<(2, 2), interpolation = bilinear>,
        Dense<2, tanh>, Resizing<3, 3, crop_to_aspect_ratio = true>, CenterCrop<4, 5>, Dense<1>
    }
}

#[test]
fn resizing_center_crop_and_bilinear_up_sampling() {
    check(Resizes::seeded(25));
}

sequential! {
    struct Conv1dTranspose<f64> {
        Input<5, 3>, Dense<3, tanh>, Conv1DTranspose<4, 3, relu>,
        Conv1DTranspose<3, 4, strides = 2, padding = same, tanh>,
        Conv1DTranspose<2, 3, strides = 3, output_padding = 1, use_bias = false>,
        Conv1DTranspose<2, 3, dilation_rate = 2, padding = same>
    }
}

#[test]
fn conv1d_transpose_valid_same_strided_output_padding_dilated() {
    check(Conv1dTranspose::seeded(19));
}

sequential! {
    struct Conv2dTranspose<f64> {
        Input<3, 4, 2>, Dense<2, tanh>,
        Conv2DTranspose<3, (3, 2), strides = 2, padding = same, tanh>,
        Conv2DTranspose<2, 3, strides = (2, 3), output_padding = (1, 2), padding = same, relu>,
        Conv2DTranspose<2, 2, strides = 2, use_bias = false>,
        Conv2DTranspose<1, 3, dilation_rate = (2, 1)>
    }
}

#[test]
fn conv2d_transpose_same_strided_output_padding_even_and_dilated() {
    check(Conv2dTranspose::seeded(20));
}

sequential! {
    struct Autoencoder<f64> {
        Input<8, 8, 1>,
        Conv2D<4, 3, strides = 2, padding = same, relu>,
        Conv2D<8, 3, strides = 2, padding = same, tanh>,
        Conv2DTranspose<8, 3, strides = 2, padding = same, relu>,
        Conv2DTranspose<4, 3, strides = 2, padding = same, tanh>,
        Conv2D<1, 3, padding = same, sigmoid>
    }
}

sequential! {
    struct TransposeFirst<f64> { Input<3, 3, 2>, Conv2DTranspose<2, 3, strides = 2, tanh>, Flatten, Dense<2> }
}

#[test]
fn an_autoencoder_and_a_transposed_convolution_reading_the_model_input() {
    check(Autoencoder::seeded(21));
    check(TransposeFirst::seeded(22));
}

/// Keras's `fit` of the fixture (Adam at 0.005, mean squared error, batches of 8 in order): the
/// weights after every step within float32's reach of Keras's (computed in float32 by JAX; the
/// largest difference was 3e-7).
#[test]
fn the_causal_dilated_fixture_trains_as_keras_does() {
    use fx::conv1d_causal_dilated as k;
    use nn::train::Compile;
    use nn::train::loss::MeanSquaredError;
    use nn::train::optimizer::Adam;
    let mut model = CausalDilated::zeros();
    model.load_params(k::FLAT_WEIGHTS).unwrap();
    let mut trainer = model.compile(Adam::new(0.005), MeanSquaredError).unwrap();
    let (x_len, y_len) = (16 * 2, 1);
    let mut worst = 0.0f64;
    for (step, want) in k::STEP_WEIGHTS.iter().enumerate() {
        let batch = step % k::STEPS_PER_EPOCH;
        let (lo, hi) = (batch * k::BATCH_SIZE, ((batch + 1) * k::BATCH_SIZE).min(k::SAMPLES));
        trainer
            .train_on_batch_flat(&[&k::X[0][lo * x_len..hi * x_len]], &[&k::Y[0][lo * y_len..hi * y_len]])
            .unwrap();
        let mut got = vec![0.0; CausalDilated::PARAMS];
        trainer.model().save_params(&mut got).unwrap();
        for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
            let error = (g - w).abs() / w.abs().max(1.0);
            assert!(error < 1e-5, "step {step}, weight {i}: {g} against Keras's {w}");
            worst = worst.max(error);
        }
    }
    assert!(worst > 0.0, "nothing to compare");
}

sequential! {
    /// Keras fixture `conv_transpose_autoencoder` (tests/fixtures/train.rs), in f32 as Keras trains it.
    struct AutoencoderF32 {
        Input<8, 8, 1>,
        Conv2D<4, 3, strides = 2, padding = same, relu>,
        Conv2D<8, 3, strides = 2, padding = same, tanh>,
        Conv2DTranspose<8, 3, strides = 2, padding = same, relu>,
        Conv2DTranspose<4, 3, strides = 2, padding = same, tanh>,
        Conv2D<1, 3, padding = same, sigmoid>
    }
}

/// Keras's `fit` of the autoencoder fixture (Adam at 0.005, mean squared error, the inputs as
/// targets, batches of 8 in order), in f32: the weights after every step within float32's reach
/// of Keras's, and the running mean of the steps' losses as Keras logs it.
#[test]
fn the_transposed_autoencoder_trains_as_keras_does() {
    use fx::conv_transpose_autoencoder as k;
    use nn::train::Compile;
    use nn::train::loss::MeanSquaredError;
    use nn::train::optimizer::Adam;
    let f32s = |v: &[f64]| v.iter().map(|x| *x as f32).collect::<Vec<f32>>();
    let mut model = AutoencoderF32::zeros();
    model.load_params(&f32s(k::FLAT_WEIGHTS)).unwrap();
    let mut trainer = model.compile(Adam::new(0.005), MeanSquaredError).unwrap();
    let (x, y) = (f32s(k::X[0]), f32s(k::Y[0]));
    let (x_len, y_len) = (8 * 8, 8 * 8);
    let mut worst = 0.0f64;
    let (mut total, mut count) = (0.0f64, 0.0f64);
    for (step, want) in k::STEP_WEIGHTS.iter().enumerate() {
        let batch = step % k::STEPS_PER_EPOCH;
        let (lo, hi) = (batch * k::BATCH_SIZE, ((batch + 1) * k::BATCH_SIZE).min(k::SAMPLES));
        let loss = trainer
            .train_on_batch_flat(&[&x[lo * x_len..hi * x_len]], &[&y[lo * y_len..hi * y_len]])
            .unwrap();
        // Keras logs the running mean since the start of the epoch, each batch weighed by its size.
        if batch == 0 {
            (total, count) = (0.0, 0.0);
        }
        (total, count) = (total + loss * (hi - lo) as f64, count + (hi - lo) as f64);
        let (_, logged) = k::BATCH_LOGS[step].iter().find(|(name, _)| *name == "loss").unwrap();
        let mean = total / count;
        assert!(
            (mean - logged).abs() <= 1e-5 * logged.abs().max(1.0),
            "step {step}: loss {mean} against Keras's {logged}"
        );
        let mut got = vec![0.0; AutoencoderF32::PARAMS];
        trainer.model().save_params(&mut got).unwrap();
        for (i, (g, w)) in got.iter().map(|g| *g as f64).zip(want.iter()).enumerate() {
            let error = (g - w).abs() / w.abs().max(1.0);
            assert!(error < 1e-5, "step {step}, weight {i}: {g} against Keras's {w}");
            worst = worst.max(error);
        }
    }
    assert!(worst > 0.0, "nothing to compare");
}

sequential! {
    /// Conv3D: `same` with strides, then dilation with groups and no bias, then a one-row
    /// kernel (its patches read in place) over the depth's stacked slices.
    struct Conv3d<f64> {
        Input<5, 4, 5, 2>, Dense<4, tanh>, Conv3D<4, (3, 2, 3), strides = (2, 1, 2), padding = same, relu>,
        Conv3D<4, (2, 2, 1), dilation_rate = (1, 2, 1), groups = 2, use_bias = false, tanh>,
        Conv3D<2, (1, 1, 2), padding = same>
    }
}

#[test]
fn conv3d_strided_dilated_grouped_and_one_row() {
    check(Conv3d::seeded(40));
}

sequential! {
    /// The adaptive pools over volumes, their bins overlapping.
    struct AdaptivePools3<f64> {
        Input<5, 7, 4, 2>, Dense<3, tanh>, AdaptiveMaxPooling3D<(3, 4, 3)>, Dense<3, tanh>,
        AdaptiveAveragePooling3D<(2, 3, 2)>, Flatten, Dense<2>
    }
}

#[test]
fn adaptive_pools_over_volumes() {
    check(AdaptivePools3::seeded(41));
}

sequential! {
    /// Resizing with pad_to_aspect_ratio: zeros above and below, then on either side.
    struct PaddedResizes<f64> {
        Input<6, 9, 2>, Dense<2, tanh>, Resizing<6, 4, pad_to_aspect_ratio = true>, Dense<2, tanh>,
        Resizing<4, 8, pad_to_aspect_ratio = true, interpolation = nearest>, Dense<1>
    }
}

#[test]
fn resizing_padded_to_the_aspect_ratio() {
    check(PaddedResizes::seeded(42));
}

sequential! {
    /// Conv3DTranspose: strides with `same`, `output_padding`, and dilation without a bias.
    struct Conv3dTranspose<f64> {
        Input<2, 2, 2, 1>, Dense<2, tanh>, Conv3DTranspose<2, 2, strides = (2, 2, 1), padding = same, tanh>,
        Conv3DTranspose<1, (2, 2, 2), strides = (1, 1, 2), output_padding = (0, 0, 1)>,
        Conv3DTranspose<1, 2, dilation_rate = (2, 1, 1), use_bias = false>, Flatten, Dense<1>
    }
}

#[test]
fn conv3d_transpose_strided_padded_and_dilated() {
    check(Conv3dTranspose::seeded(43));
}
