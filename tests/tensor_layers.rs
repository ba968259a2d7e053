//! Every convolution, pooling and reshaping layer, and the rank-generic ones, against Keras 3:
//! each case is written in the DSL and compiled from its `.keras` file with `keras_model!`, and
//! both must reproduce `model.predict` (fixtures from `scripts/make_tensor_fixtures.py`), count
//! Keras's parameters, name and shape the weights as Keras does, and read and write Keras's
//! weight files.

mod parity;

use nn::prelude::*;
use parity::{case, check, fixture};

#[allow(clippy::approx_constant, clippy::excessive_precision, dead_code)]
mod fx {
    include!("fixtures/tensor_layers.rs");
}

/// Where `case!` and `fixture!` find the fixture files: `tests/fixtures/keras/<DIR>/`.
const DIR: &str = "tensor";

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
case!(
    conv1d_transpose_valid,
    "tests/fixtures/keras/tensor/conv1d_transpose_valid.keras",
    Input<5, 3>, Conv1DTranspose<4, 3>
);
case!(
    conv1d_transpose_same_strided,
    "tests/fixtures/keras/tensor/conv1d_transpose_same_strided.keras",
    Input<6, 2>, Conv1DTranspose<3, 4, strides = 2, padding = same, relu>
);
case!(
    conv1d_transpose_output_padding,
    "tests/fixtures/keras/tensor/conv1d_transpose_output_padding.keras",
    Input<4, 2>, Conv1DTranspose<3, 3, strides = 3, output_padding = 1, use_bias = false>
);
case!(
    conv1d_transpose_dilated,
    "tests/fixtures/keras/tensor/conv1d_transpose_dilated.keras",
    Input<5, 2>, Conv1DTranspose<2, 3, dilation_rate = 2, padding = same>
);
case!(
    conv2d_transpose_valid,
    "tests/fixtures/keras/tensor/conv2d_transpose_valid.keras",
    Input<4, 3, 2>, Conv2DTranspose<3, 3>
);
case!(
    conv2d_transpose_same_strided,
    "tests/fixtures/keras/tensor/conv2d_transpose_same_strided.keras",
    Input<4, 5, 3>, Conv2DTranspose<4, (3, 2), strides = 2, padding = same, tanh>
);
case!(
    conv2d_transpose_output_padding,
    "tests/fixtures/keras/tensor/conv2d_transpose_output_padding.keras",
    Input<3, 4, 2>, Conv2DTranspose<2, (3, 3), strides = (2, 3), output_padding = (1, 2), padding = same>
);
case!(
    conv2d_transpose_valid_strided_even,
    "tests/fixtures/keras/tensor/conv2d_transpose_valid_strided_even.keras",
    Input<3, 3, 2>, Conv2DTranspose<3, 2, strides = 2, use_bias = false>
);
case!(
    conv2d_transpose_dilated,
    "tests/fixtures/keras/tensor/conv2d_transpose_dilated.keras",
    Input<4, 4, 2>, Conv2DTranspose<2, 3, dilation_rate = (2, 1)>
);
case!(
    conv_transpose_autoencoder,
    "tests/fixtures/keras/tensor/conv_transpose_autoencoder.keras",
    Input<8, 8, 1>,
    Conv2D<4, 3, strides = 2, padding = same, relu>,
    Conv2D<8, 3, strides = 2, padding = same, relu>,
    Conv2DTranspose<8, 3, strides = 2, padding = same, relu>,
    Conv2DTranspose<4, 3, strides = 2, padding = same, relu>,
    Conv2D<1, 3, padding = same, sigmoid>
);
case!(
    depthwise_conv1d,
    "tests/fixtures/keras/tensor/depthwise_conv1d.keras",
    Input<10, 3>, DepthwiseConv1D<3, depth_multiplier = 2, strides = 2, padding = same, relu>
);
case!(
    depthwise_conv1d_dilated_nobias,
    "tests/fixtures/keras/tensor/depthwise_conv1d_dilated_nobias.keras",
    Input<9, 2>, DepthwiseConv1D<2, dilation_rate = 3, use_bias = false>
);
case!(
    separable_conv1d,
    "tests/fixtures/keras/tensor/separable_conv1d.keras",
    Input<10, 3>, SeparableConv1D<4, 3, depth_multiplier = 2, padding = same, tanh>
);
case!(
    separable_conv1d_strided,
    "tests/fixtures/keras/tensor/separable_conv1d_strided.keras",
    Input<11, 2>, SeparableConv1D<3, 4, strides = 3, use_bias = false>
);
case!(
    adaptive_average_pooling1d,
    "tests/fixtures/keras/tensor/adaptive_average_pooling1d.keras",
    Input<10, 3>, AdaptiveAveragePooling1D<4>
);
case!(
    adaptive_max_pooling1d,
    "tests/fixtures/keras/tensor/adaptive_max_pooling1d.keras",
    Input<7, 2>, AdaptiveMaxPooling1D<3>
);
case!(
    adaptive_average_pooling2d,
    "tests/fixtures/keras/tensor/adaptive_average_pooling2d.keras",
    Input<7, 9, 2>, AdaptiveAveragePooling2D<(3, 4)>
);
case!(
    adaptive_max_pooling2d,
    "tests/fixtures/keras/tensor/adaptive_max_pooling2d.keras",
    Input<6, 5, 3>, AdaptiveMaxPooling2D<(4, 2)>
);
case!(
    adaptive_average_pooling2d_up,
    "tests/fixtures/keras/tensor/adaptive_average_pooling2d_up.keras",
    Input<3, 2, 2>, AdaptiveAveragePooling2D<(5, 3)>
);

case!(
    resizing_bilinear_up,
    "tests/fixtures/keras/tensor/resizing_bilinear_up.keras",
    Input<3, 4, 2>, Resizing<5, 7>
);
case!(
    resizing_bilinear_down,
    "tests/fixtures/keras/tensor/resizing_bilinear_down.keras",
    Input<8, 9, 2>, Resizing<3, 4>
);
case!(
    resizing_nearest,
    "tests/fixtures/keras/tensor/resizing_nearest.keras",
    Input<5, 3, 2>, Resizing<3, 7, interpolation = nearest>
);
case!(
    resizing_crop,
    "tests/fixtures/keras/tensor/resizing_crop.keras",
    Input<6, 9, 1>, Resizing<4, 4, crop_to_aspect_ratio = true>
);
case!(
    center_crop,
    "tests/fixtures/keras/tensor/center_crop.keras",
    Input<7, 8, 2>, CenterCrop<4, 5>
);
case!(
    center_crop_up,
    "tests/fixtures/keras/tensor/center_crop_up.keras",
    Input<3, 4, 1>, CenterCrop<5, 5>
);
case!(
    up_sampling2d_bilinear,
    "tests/fixtures/keras/tensor/up_sampling2d_bilinear.keras",
    Input<3, 4, 2>, UpSampling2D<(2, 3), interpolation = bilinear>
);

case!(
    einsum_dense_matrix,
    "tests/fixtures/keras/tensor/einsum_dense_matrix.keras",
    Input<5>, EinsumDense<"ab,bc->ac", 4, bias_axes = "c">
);
case!(
    einsum_dense_sequence,
    "tests/fixtures/keras/tensor/einsum_dense_sequence.keras",
    Input<6, 3>, EinsumDense<"abc,cd->abd", (None, 4), relu, bias_axes = "d">
);
case!(
    einsum_dense_heads,
    "tests/fixtures/keras/tensor/einsum_dense_heads.keras",
    Input<5, 6>, EinsumDense<"abc,cde->abde", (5, 2, 3), bias_axes = "de">
);
case!(
    einsum_dense_merge_heads,
    "tests/fixtures/keras/tensor/einsum_dense_merge_heads.keras",
    Input<5, 2, 3>, EinsumDense<"abcd,cde->abe", (None, 4), bias_axes = "e">
);
case!(
    einsum_dense_elided,
    "tests/fixtures/keras/tensor/einsum_dense_elided.keras",
    Input<4, 2>, EinsumDense<"...b,bc->...c", 5>
);
case!(
    einsum_dense_vector_to_matrix,
    "tests/fixtures/keras/tensor/einsum_dense_vector_to_matrix.keras",
    Input<3>, EinsumDense<"ab,bcd->acd", (2, 4), bias_axes = "cd", activation = tanh>
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

mod concatenate_steps {
    use super::*;
    functional! {
        pub struct Dsl {
            a = Input<3, 4>;
            b = Input<2, 4>;
            c = Concatenate<axis = 1>(a, b);
            -> c;
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/concatenate_steps.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(concatenate_steps, [X0, X1]));
    }
}

mod concatenate_image_axes {
    use super::*;
    functional! {
        pub struct Dsl {
            a = Input<2, 3, 2>;
            b = Input<2, 1, 2>;
            c = Concatenate<axis = -2>(a, b);
            d = Concatenate<axis = 1>(c, c);
            out = Conv2D<2, 1>(d);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/concatenate_image_axes.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(concatenate_image_axes, [X0, X1]));
    }
}

/// `keras.activations` functions applied to tensors, saved by Keras as operations (`Gelu`,
/// `LeakyRelu`, ...): activation layers in nn.
mod activation_ops {
    use super::*;
    functional! {
        pub struct Dsl {
            input_layer = Input<6>;
            dense = Dense<5>(input_layer);
            gelu = gelu: Activation<gelu>(dense);
            leaky_relu = leaky_relu: Activation<leaky_relu(negative_slope = 0.1)>(gelu);
            dense_1 = Dense<4>(leaky_relu);
            elu = elu: Activation<elu(alpha = 0.5)>(dense_1);
            re_lu = ReLU<max_value = 1.5>(elu);
            tanh = tanh: Activation<tanh>(re_lu);
            hard_sigmoid = hard_sigmoid: Activation<hard_sigmoid>(tanh);
            dense_2 = Dense<3>(hard_sigmoid);
            softmax = Softmax(dense_2);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/activation_ops.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(activation_ops, [X0]));
    }
}

/// Elementwise merges of shapes that broadcast, as Keras's do: a `(4, 3)` sequence with one
/// step `(1, 3)` and with a vector `(3,)`.
mod broadcast_merges {
    use super::*;
    functional! {
        pub struct Dsl {
            a = Input<4, 3>;
            b = Input<1, 3>;
            s = Add(a, b);
            c = Input<3>;
            m = Multiply(s, c);
            x = Maximum(m, b, a);
            v = Average(x, c);
            out = Subtract(v, b);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/broadcast_merges.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(broadcast_merges, [X0, X1, X2]));
    }
}

#[test]
fn summaries_print_keras_shapes() {
    // Keras names the model `sequential`; ours is named after its type.
    let table = |s: &str| s.split_once('\n').map(|(_, rest)| rest.to_string()).unwrap_or_default();
    assert_eq!(table(&kws_cnn::Keras::KERAS.summary().to_string()), table(fx::kws_cnn::SUMMARY));
    assert_eq!(table(&sensor_conv1d::Dsl::ZEROS.summary().to_string()), table(fx::sensor_conv1d::SUMMARY));
    let autoencoder = table(fx::conv_transpose_autoencoder::SUMMARY);
    assert_eq!(table(&conv_transpose_autoencoder::Dsl::ZEROS.summary().to_string()), autoencoder);
    assert_eq!(table(&conv_transpose_autoencoder::Keras::KERAS.summary().to_string()), autoencoder);
}

nn::sequential! { struct PermuteVector { Input<4>, Permute<(1,)> } }

/// Keras takes `Permute((1,))` on a vector, its only permutation: the identity, shape `(None, 4)`.
#[test]
fn permute_of_a_vector_is_its_identity() {
    let x = nn::nalgebra::Vector4::new(0.5f32, -1.0, 2.0, 3.5);
    assert_eq!(PermuteVector::ZEROS.predict(&x), x);
    assert!(PermuteVector::ZEROS.summary().to_string().contains("(None, 4)"));
}

/// Dot-product attention over a query and a value that is its own key.
mod attention_dot {
    use super::*;
    functional! {
        pub struct Dsl {
            q = Input<3, 4>;
            v = Input<5, 4>;
            out = Attention(q, v);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/attention_dot.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(attention_dot, [X0, X1]));
    }
}

/// A scale, a key of its own, a value of another width and Keras's causal mask.
mod attention_scaled_causal_key {
    use super::*;
    functional! {
        pub struct Dsl {
            q = Input<4, 3>;
            v = Input<5, 6>;
            k = Input<5, 3>;
            out = Attention<use_scale = true, use_causal_mask = true>(q, v, k);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/attention_scaled_causal_key.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(attention_scaled_causal_key, [X0, X1, X2]));
    }
}

/// `score_mode = concat`, with both of its weights.
mod attention_concat {
    use super::*;
    functional! {
        pub struct Dsl {
            q = Input<3, 4>;
            v = Input<5, 4>;
            out = Attention<use_scale = true, score_mode = concat>(q, v);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/attention_concat.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(attention_concat, [X0, X1]));
    }
}

/// AdditiveAttention with its per-feature scale and a key, and without a scale, causal.
mod additive_attention {
    use super::*;
    functional! {
        pub struct Dsl {
            q = Input<3, 4>;
            v = Input<5, 4>;
            k = Input<5, 4>;
            a = AdditiveAttention(q, v, k);
            b = AdditiveAttention<use_scale = false, use_causal_mask = true>(q, v);
            out = Concatenate(a, b);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/additive_attention.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(additive_attention, [X0, X1, X2]));
    }
}

/// Causal self-attention over two projections of one sequence, added back to it.
mod self_attention_block {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<6, 4>;
            q = Dense<4>(x);
            v = Dense<4>(x);
            a = Attention<use_scale = true, use_causal_mask = true>(q, v);
            out = Add(x, a);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/self_attention_block.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(self_attention_block, [X0]));
    }
}

/// MultiHeadAttention with heads of other sizes for keys and values (a dropout, nothing at
/// inference, as the fixture needs one).
mod multi_head_attention {
    use super::*;
    functional! {
        pub struct Dsl {
            q = Input<3, 4>;
            v = Input<5, 6>;
            out = MultiHeadAttention<2, 3, value_dim = 2, dropout = 0.1>(q, v);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/multi_head_attention.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(multi_head_attention, [X0, X1]));
    }
}

/// Causal self-attention without biases into another width, and a key given by name.
mod multi_head_self_attention_key {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<6, 8>;
            q = Input<6, 4>;
            k = Input<6, 2>;
            a = MultiHeadAttention<2, 4, use_bias = false, output_shape = 5, use_causal_mask = true>(x, x);
            b = MultiHeadAttention<1, 3, output_shape = 5>(q, x, k);
            out = Concatenate(a, b);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/multi_head_self_attention_key.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(multi_head_self_attention_key, [X0, X1, X2]));
    }
}

/// A transformer encoder block: self-attention and a feed-forward pair, each added back and
/// normalized, pooled and classified.
mod transformer_block {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<6, 8>;
            a = MultiHeadAttention<2, 4>(x, x);
            s = Add(x, a);
            h = LayerNormalization(s);
            f = Dense<16, relu>(h);
            g = Dense<8>(f);
            t = Add(h, g);
            o = LayerNormalization(t);
            p = GlobalAveragePooling1D(o);
            out = Dense<3, softmax>(p);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/transformer_block.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(transformer_block, [X0]));
    }
}

/// GroupQueryAttention: four query heads over two key and value heads, causal; and one key and
/// value head with a key of its own and no biases.
mod grouped_query_attention {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<5, 6>;
            q = Input<4, 6>;
            k = Input<5, 3>;
            a = GroupQueryAttention<3, 4, 2, use_causal_mask = true>(x, x);
            b = GroupQueryAttention<2, 2, 1, use_bias = false>(q, x, k);
            out = Concatenate<axis = 1>(a, b);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/grouped_query_attention.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(grouped_query_attention, [X0, X1, X2]));
        let summary = Dsl::ZEROS.summary().to_string();
        assert!(summary.contains("(GroupedQueryAttention)"), "{summary}");
    }
}

/// `examples/transformer.rs`'s encoder: parity, and Keras's summary table.
mod transformer_encoder {
    use super::*;
    functional! {
        pub struct Dsl {
            tokens = Input<12>;
            positions = Input<12>;
            t = Embedding<16, 16>(tokens);
            p = Embedding<12, 16>(positions);
            x = Add(t, p);
            attended = MultiHeadAttention<2, 8>(x, x);
            s = Add(x, attended);
            h = LayerNormalization(s);
            f = Dense<32, relu>(h);
            g = Dense<16>(f);
            r = Add(h, g);
            o = LayerNormalization(r);
            pooled = GlobalAveragePooling1D(o);
            out = Dense<2, softmax>(pooled);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/transformer_encoder.keras"; }

    #[test]
    fn matches_keras_and_summarizes_as_keras_does() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(transformer_encoder, [X0, X1]));
        let table = |s: &str| s.split_once('\n').map(|(_, rest)| rest.to_string()).unwrap_or_default();
        let want = table(fx::transformer_encoder::SUMMARY);
        assert_eq!(table(&Dsl::ZEROS.summary().to_string()), want);
        assert_eq!(table(&Keras::KERAS.summary().to_string()), want);
    }
}

/// `return_attention_scores`: Attention's weights (causal) and MultiHeadAttention's per head as
/// further outputs, bound as a recurrent layer's final states are.
mod attention_scores {
    use super::*;
    functional! {
        pub struct Dsl {
            q = Input<5, 4>;
            v = Input<5, 4>;
            (a, s) = Attention<use_scale = true, use_causal_mask = true, return_attention_scores = true>(q, v);
            (m, t) = MultiHeadAttention<2, 3, return_attention_scores = true>(q, v);
            -> (a, s, m, t);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/attention_scores.keras"; }

    #[test]
    fn matches_keras_and_lists_every_output_shape_in_its_summary() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(attention_scores, [X0, X1], [Y0, Y1, Y2, Y3]));
        let table = |s: &str| s.split_once('\n').map(|(_, rest)| rest.to_string()).unwrap_or_default();
        let want = table(fx::attention_scores::SUMMARY);
        assert_eq!(table(&Dsl::ZEROS.summary().to_string()), want);
        assert_eq!(table(&Keras::KERAS.summary().to_string()), want);
    }
}

/// Models used as layers: a Sequential encoder and a Functional decoder in an autoencoder.
/// `keras_model!` declares the nested models as `KerasEncoder` and `KerasDecoder`.
mod nested_autoencoder {
    use super::*;
    sequential! { pub struct Encoder { Input<6>, Dense<4, relu>, Dense<2> } }
    functional! {
        pub struct Decoder {
            z = Input<2>;
            h = dense_2: Dense<4, tanh>(z);
            out = dense_3: Dense<6>(h);
        }
    }
    functional! {
        pub struct Dsl {
            x = input_layer_2: Input<6>;
            code = encoder: Model<Encoder, 6, 2>(x);
            out = decoder: Model<Decoder, 2, 6>(code);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/nested_autoencoder.keras"; }

    #[test]
    fn matches_keras_with_keras_s_summary() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(nested_autoencoder, [X0]));
        let table = |s: &str| s.split_once('\n').map(|(_, rest)| rest.to_string()).unwrap_or_default();
        let want = table(fx::nested_autoencoder::SUMMARY);
        assert_eq!(table(&Dsl::ZEROS.summary().to_string()), want);
        assert_eq!(table(&Keras::KERAS.summary().to_string()), want);
    }

    #[test]
    fn the_nested_models_of_a_keras_file_run_on_their_own() {
        // The encoder of the compiled autoencoder, alone, is the DSL's encoder with its weights.
        let keras = Keras::KERAS;
        let mut dsl = Encoder::zeros();
        let mut params = vec![0.0f32; Encoder::PARAMS];
        keras.encoder.save_params(&mut params).unwrap();
        dsl.load_params(&params).unwrap();
        let x = SVector::<f32, 6>::from_fn(|i, _| i as f32 / 4.0 - 0.5);
        assert_eq!(keras.encoder.predict(&x), dsl.predict(&x));
        let _: &KerasEncoder = &keras.encoder;
        let _: &KerasDecoder = &keras.decoder;
        assert_eq!(KerasEncoder::LAYERS.len(), Encoder::LAYERS.len());
    }
}

/// A Sequential model shared by two inputs, its outputs joined and scored.
mod nested_siamese {
    use super::*;
    sequential! { pub struct Tower { Input<4>, Dense<3, relu> } }
    functional! {
        pub struct Dsl {
            a = Input<4>;
            b = Input<4>;
            tower = Model<Tower, 4, 3>;
            left = tower(a);
            right = tower(b);
            both = Concatenate(left, right);
            out = dense_1: Dense<1, sigmoid>(both);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/nested_siamese.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(nested_siamese, [X0, X1]));
    }
}

/// Models of images used as layers: a convolutional encoder into a vector, and a decoder back to
/// an image.
mod nested_conv_autoencoder {
    use super::*;
    sequential! { pub struct Encoder { Input<8, 8, 1>, Conv2D<4, 3, padding = same, relu>, MaxPooling2D<2>, Flatten, Dense<6> } }
    sequential! {
        pub struct Decoder {
            Input<6>,
            dense_1: Dense<16, relu>,
            Reshape<(4, 4, 1)>,
            Conv2DTranspose<2, 3, strides = 2, padding = same, sigmoid>,
        }
    }
    functional! {
        pub struct Dsl {
            x = input_layer_2: Input<8, 8, 1>;
            code = encoder: Model<Encoder, (8, 8, 1), 6>(x);
            out = decoder: Model<Decoder, 6, (8, 8, 2)>(code);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/nested_conv_autoencoder.keras"; }

    #[test]
    fn matches_keras_with_keras_s_summary() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(nested_conv_autoencoder, [X0]));
        let table = |s: &str| s.split_once('\n').map(|(_, rest)| rest.to_string()).unwrap_or_default();
        let want = table(fx::nested_conv_autoencoder::SUMMARY);
        assert_eq!(table(&Dsl::ZEROS.summary().to_string()), want);
        assert_eq!(table(&Keras::KERAS.summary().to_string()), want);
    }
}

/// Masks: Embedding's `mask_zero` into an LSTM, which skips the steps of id 0 (padding at the
/// end, the start and middle, every other step).
mod embedding_mask_lstm {
    use super::*;
    sequential! { pub struct Dsl { Input<7>, Embedding<5, 4, mask_zero = true>, LSTM<3>, Dense<2> } }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/embedding_mask_lstm.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(embedding_mask_lstm, [X0]));
    }
}

/// Masking's mask through a GRU's sequence and a Dense layer into the masked mean.
mod masking_gru_pool {
    use super::*;
    sequential! {
        pub struct Dsl {
            Input<6, 3>,
            Masking<mask_value = 0.0>,
            GRU<4, return_sequences = true>,
            Dense<4, tanh>,
            GlobalAveragePooling1D,
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/masking_gru_pool.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(masking_gru_pool, [X0]));
    }
}

/// A Bidirectional GRU's sequence over a mask: zeros at the masked steps.
mod embedding_mask_bidirectional {
    use super::*;
    sequential! {
        pub struct Dsl { Input<6>, Embedding<4, 3, mask_zero = true>, Bidirectional<GRU<2, return_sequences = true>> }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/embedding_mask_bidirectional.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(embedding_mask_bidirectional, [X0]));
    }
}

/// A mask read backwards, with a mask value other than 0.
mod masking_backwards_rnn {
    use super::*;
    sequential! { pub struct Dsl { Input<5, 2>, Masking<mask_value = 0.5>, SimpleRNN<3, go_backwards = true> } }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/masking_backwards_rnn.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(masking_backwards_rnn, [X0]));
    }
}

/// Self-attention over padded ids: MultiHeadAttention masks the padded query and value steps,
/// the residual Add keeps the mask, and the mean leaves the padding out.
mod masked_self_attention {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<6>;
            e = Embedding<5, 4, mask_zero = true>(x);
            a = MultiHeadAttention<2, 2>(e, e);
            s = Add(e, a);
            out = GlobalAveragePooling1D(s);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/masked_self_attention.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(masked_self_attention, [X0]));
    }
}

/// Attention between two padded sequences: padded value steps get no weight, the output is zero
/// at padded query steps.
mod masked_dot_attention {
    use super::*;
    functional! {
        pub struct Dsl {
            q = Input<4>;
            v = Input<5>;
            eq = Embedding<4, 3, mask_zero = true>(q);
            ev = Embedding<4, 3, mask_zero = true>(v);
            out = Attention<use_scale = true>(eq, ev);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/masked_dot_attention.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(masked_dot_attention, [X0, X1]));
    }
}

/// The generic RNN's `zero_output_for_mask`: zeros at masked steps, the state carried on.
mod masked_rnn_zero_output {
    use super::*;
    sequential! {
        pub struct Dsl {
            Input<6>,
            Embedding<4, 3, mask_zero = true>,
            RNN<GRUCell<2>, return_sequences = true, zero_output_for_mask = true>,
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/masked_rnn_zero_output.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(masked_rnn_zero_output, [X0]));
    }
}

/// Concatenate keeps a mask its operands share (the GRU skips the padding), and keeps every step
/// when an operand has no mask (the LSTM reads all of them).
mod masked_concatenate {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<6>;
            e = Embedding<5, 3, mask_zero = true>(x);
            d = Dense<2>(e);
            q = embedding_1: Embedding<5, 2>(x);
            both = Concatenate(e, d);
            some = concatenate_2: Concatenate(e, q);
            a = GRU<2>(both);
            b = LSTM<2>(some);
            out = concatenate_4: Concatenate(a, b);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/masked_concatenate.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(masked_concatenate, [X0]));
    }
}

/// Merges of values masked by different layers: the union of their masks, for Add and for
/// Concatenate.
mod masked_union {
    use super::*;
    functional! {
        pub struct Dsl {
            a = Input<5>;
            b = Input<5>;
            ea = Embedding<4, 3, mask_zero = true>(a);
            eb = Embedding<4, 3, mask_zero = true>(b);
            sum = Add(ea, eb);
            both = Concatenate(ea, eb);
            s = GRU<2>(sum);
            c = LSTM<2>(both);
            out = concatenate_2: Concatenate(s, c);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/masked_union.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(masked_union, [X0, X1]));
    }
}

/// TimeDistributed over a Dense layer passes the mask on to the LSTM after it.
mod masked_time_distributed {
    use super::*;
    sequential! {
        pub struct Dsl { Input<6>, Embedding<5, 3, mask_zero = true>, TimeDistributed<Dense<6>>, LSTM<3> }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/masked_time_distributed.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(masked_time_distributed, [X0]));
    }
}

case!(conv3d_valid, "tests/fixtures/keras/tensor/conv3d_valid.keras", Input<5, 6, 4, 2>, Conv3D<3, (2, 3, 2)>);
case!(
    conv3d_same_strided,
    "tests/fixtures/keras/tensor/conv3d_same_strided.keras",
    Input<5, 7, 6, 3>, Conv3D<4, 3, strides = (2, 2, 3), padding = same, relu>
);
case!(
    conv3d_dilated_groups,
    "tests/fixtures/keras/tensor/conv3d_dilated_groups.keras",
    Input<7, 6, 6, 4>, Conv3D<4, (2, 2, 3), dilation_rate = (2, 1, 2), groups = 2, use_bias = false>
);
case!(
    conv3d_one_row,
    "tests/fixtures/keras/tensor/conv3d_one_row.keras",
    Input<4, 3, 9, 2>, Conv3D<3, (1, 1, 3), strides = (2, 1, 2), padding = same>
);
case!(max_pooling3d, "tests/fixtures/keras/tensor/max_pooling3d.keras", Input<5, 6, 4, 2>, MaxPooling3D<2>);
case!(
    max_pooling3d_same,
    "tests/fixtures/keras/tensor/max_pooling3d_same.keras",
    Input<5, 7, 6, 2>, MaxPooling3D<(3, 2, 3), strides = 2, padding = same>
);
case!(
    average_pooling3d_same,
    "tests/fixtures/keras/tensor/average_pooling3d_same.keras",
    Input<5, 5, 7, 3>, AveragePooling3D<3, strides = 2, padding = same>
);
case!(
    average_pooling3d,
    "tests/fixtures/keras/tensor/average_pooling3d.keras",
    Input<6, 4, 5, 2>, AveragePooling3D<(2, 2, 3), strides = (2, 1, 2)>
);
case!(
    global_max_pooling3d,
    "tests/fixtures/keras/tensor/global_max_pooling3d.keras",
    Input<3, 4, 5, 3>, GlobalMaxPooling3D
);
case!(
    global_average_pooling3d_keepdims,
    "tests/fixtures/keras/tensor/global_average_pooling3d_keepdims.keras",
    Input<3, 4, 5, 3>, GlobalAveragePooling3D<keepdims = true>
);
case!(
    padding_cropping_upsampling3d,
    "tests/fixtures/keras/tensor/padding_cropping_upsampling3d.keras",
    Input<3, 4, 5, 2>,
    ZeroPadding3D<((1, 0), (0, 2), (1, 1))>,
    Cropping3D<((0, 1), (1, 0), (0, 2))>,
    UpSampling3D<(2, 1, 3)>
);
case!(
    conv3d_net,
    "tests/fixtures/keras/tensor/conv3d_net.keras",
    Input<6, 8, 8, 1>,
    Conv3D<4, 3, padding = same, relu>,
    MaxPooling3D<2>,
    Conv3D<6, (2, 3, 3), relu>,
    GlobalAveragePooling3D,
    Dense<3, softmax>
);

/// Layers acting on the last axis, or on a given one, over a tensor of rank 4.
mod rank4_elementwise {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<2, 3, 4, 3>;
            d = Dense<4, relu>(x);
            n = LayerNormalization(d);
            b = BatchNormalization<axis = 1>(n);
            s = Softmax<axis = 2>(b);
            p = Permute<(3, 1, 4, 2)>(s);
            r = Reshape<(6, 4, 4)>(p);
            q = Rescaling<2.0, offset = 0.5>(r);
            a = Add(r, q);
            t = Activation<tanh>(a);
            out = Concatenate<axis = 2>(a, t);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/rank4_elementwise.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(rank4_elementwise, [X0]));
    }
}

/// Layers acting on the last axes, a merge and a permutation over a tensor of rank 5.
mod rank5_elementwise {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<2, 2, 3, 2, 3>;
            d = Dense<2>(x);
            n = LayerNormalization<axis = (-2, -1)>(d);
            g = Dense<2, sigmoid>(x);
            m = Multiply(n, g);
            p = Permute<(5, 2, 3, 4, 1)>(m);
            out = Flatten(p);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/rank5_elementwise.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(rank5_elementwise, [X0]));
    }
}

/// A small 3-D convolutional network summarizes as Keras does.
#[test]
fn a_volume_network_summarizes_as_keras() {
    let table = |s: &str| s.split_once('\n').map(|(_, rest)| rest.to_string()).unwrap_or_default();
    assert_eq!(table(&conv3d_net::Keras::KERAS.summary().to_string()), table(fx::conv3d_net::SUMMARY));
    assert_eq!(table(&conv3d_net::Dsl::ZEROS.summary().to_string()), table(fx::conv3d_net::SUMMARY));
}
case!(
    conv3d_transpose_same_strided,
    "tests/fixtures/keras/tensor/conv3d_transpose_same_strided.keras",
    Input<3, 4, 3, 2>, Conv3DTranspose<3, 3, strides = (2, 2, 1), padding = same, relu>
);
case!(
    conv3d_transpose_output_padding,
    "tests/fixtures/keras/tensor/conv3d_transpose_output_padding.keras",
    Input<2, 3, 3, 2>, Conv3DTranspose<2, (2, 3, 2), strides = (2, 2, 3), output_padding = (1, 0, 2)>
);
case!(
    conv3d_transpose_dilated,
    "tests/fixtures/keras/tensor/conv3d_transpose_dilated.keras",
    Input<3, 3, 4, 3>, Conv3DTranspose<2, 2, dilation_rate = (2, 1, 2), use_bias = false>
);
case!(
    time_distributed_video,
    "tests/fixtures/keras/tensor/time_distributed_video.keras",
    Input<3, 6, 6, 2>,
    TimeDistributed<Conv2D<4, 3, relu>>,
    TimeDistributed<MaxPooling2D<2>>,
    TimeDistributed<GlobalAveragePooling2D>,
    LSTM<3>
);
case!(
    time_distributed_conv3d,
    "tests/fixtures/keras/tensor/time_distributed_conv3d.keras",
    Input<2, 3, 4, 4, 2>, TimeDistributed<Conv3D<3, 2, padding = same>>, Flatten, Dense<2>
);

/// An attention mask given as an input: 0 where a query step may not attend to a value step.
mod mha_attention_mask {
    use super::*;
    functional! {
        pub struct Dsl {
            q = Input<4, 6>;
            v = Input<5, 6>;
            m = Input<4, 5>;
            out = MultiHeadAttention<2, 3>(q, v, attention_mask = m);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/mha_attention_mask.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(mha_attention_mask, [X0, X1, X2]));
    }
}

/// GroupQueryAttention with a key, an attention mask given as an input and the causal mask.
mod gqa_attention_mask_causal {
    use super::*;
    functional! {
        pub struct Dsl {
            q = Input<5, 4>;
            v = Input<5, 4>;
            k = Input<5, 3>;
            m = Input<5, 5>;
            out = GroupQueryAttention<2, 4, 2, use_causal_mask = true>(q, v, k, attention_mask = m);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/gqa_attention_mask_causal.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(gqa_attention_mask_causal, [X0, X1, X2, X3]));
    }
}
case!(
    rank4_normalizations,
    "tests/fixtures/keras/tensor/rank4_normalizations.keras",
    Input<2, 2, 3, 4>,
    LeakyReLU<0.2>,
    ELU,
    GroupNormalization<2>,
    UnitNormalization,
    Normalization<mean = (0.1, -0.2, 0.3, 0.5), variance = (1.0, 2.0, 0.5, 4.0)>,
    Activation<gelu>,
    Dropout<0.5>
);
case!(
    rank5_normalizations,
    "tests/fixtures/keras/tensor/rank5_normalizations.keras",
    Input<2, 2, 2, 3, 4>,
    ReLU<max_value = 1.5>,
    UnitNormalization<axis = (-2, -1)>,
    RMSNormalization,
    BatchNormalization<axis = 3>,
    LayerNormalization<axis = (-3, -2, -1)>,
    Softmax<axis = 1>
);
case!(
    adaptive_pooling3d,
    "tests/fixtures/keras/tensor/adaptive_pooling3d.keras",
    Input<5, 7, 4, 2>, AdaptiveMaxPooling3D<(3, 4, 3)>, AdaptiveAveragePooling3D<(2, 3, 2)>
);

/// PReLU over ranks 4 and 5: an alpha per value, and shared over the leading axes.
mod prelu_rank4_rank5 {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<2, 3, 2, 3>;
            a = PReLU(x);
            b = PReLU<shared_axes = (1, 2, 3)>(a);
            r = Reshape<(2, 1, 3, 2, 3)>(b);
            out = PReLU<shared_axes = (1, 2, 3)>(r);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/prelu_rank4_rank5.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(prelu_rank4_rank5, [X0]));
    }
}

/// Softmax with a mask given as an input: 0 (not above one half) bars a value, whose output is
/// 0; a mask of one row broadcasts over the rows.
mod softmax_mask_input {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<3, 4>;
            m = Input<1, 4>;
            n = Input<3, 4>;
            s = Dense<4>(x);
            a = Softmax(s, mask = m);
            out = Softmax<axis = 1>(a, mask = n);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/softmax_mask_input.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(softmax_mask_input, [X0, X1, X2]));
    }
}

/// PReLU sharing some of the leading axes of ranks 4 and 5.
mod prelu_partly_shared {
    use super::*;
    functional! {
        pub struct Dsl {
            x = Input<2, 3, 2, 3>;
            a = PReLU<shared_axes = (1,)>(x);
            b = PReLU<shared_axes = (2, 4)>(a);
            r = Reshape<(2, 1, 3, 2, 3)>(b);
            out = PReLU<shared_axes = (1, 3)>(r);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/prelu_partly_shared.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(prelu_partly_shared, [X0]));
    }
}
case!(
    resizing_pad_rows,
    "tests/fixtures/keras/tensor/resizing_pad_rows.keras",
    Input<6, 9, 2>, Resizing<6, 4, pad_to_aspect_ratio = true>
);
case!(
    resizing_pad_columns,
    "tests/fixtures/keras/tensor/resizing_pad_columns.keras",
    Input<8, 3, 1>, Resizing<4, 4, pad_to_aspect_ratio = true, interpolation = nearest>
);

/// MultiHeadAttention with an `output_shape` of two axes.
mod mha_output_shape_2d {
    use super::*;
    functional! {
        pub struct Dsl {
            q = Input<4, 5>;
            v = Input<3, 6>;
            out = MultiHeadAttention<2, 3, output_shape = (2, 3)>(q, v);
        }
    }
    nn::keras_model! { pub struct Keras = "tests/fixtures/keras/tensor/mha_output_shape_2d.keras"; }

    #[test]
    fn matches_keras() {
        check::<Dsl, Keras>(&Keras::KERAS, &fixture!(mha_output_shape_2d, [X0, X1]));
    }
}
