"""Generate Keras reference fixtures for the `nn` crate's tensor layers (convolutions, pooling,
reshaping, rank-generic Dense/Activation/merges, and the two benchmark CNNs).

Run from the repository root (same venv as scripts/make_fixtures.py):

    python3.11 -m venv .venv
    .venv/bin/pip install -r scripts/requirements.txt
    .venv/bin/python scripts/make_tensor_fixtures.py [CASE ...]

With case names, only those cases are generated and spliced into the existing
tests/fixtures/tensor_layers.rs (each case is seeded by its index in CASES, so a new case appended
to CASES leaves every other case's files and values untouched).

Writes (overwriting):

* tests/fixtures/tensor_layers.rs -- one `pub mod <case>` per entry of CASES, to be
  `include!`d: INPUT_SHAPES and OUTPUT_SHAPE (without the batch axis), PARAMS
  (`model.count_params()`), LAYERS (`model.layers` names), WEIGHTS ("<layer.name>/<weight
  name>" and Keras shape, in `model.weights` order), FLAT_WEIGHTS (every weight flattened
  row-major and concatenated in that order), the inputs X0 (X1, ...) and the `model.predict`
  output Y, N_SAMPLES samples each flattened row-major in Keras's (channels-last) shape, and for
  the whole models in WITH_SUMMARY (kws_cnn, sensor_conv1d, conv_transpose_autoencoder,
  transformer_encoder, attention_scores)
  SUMMARY, the `model.summary()` text.
* tests/fixtures/keras/tensor/<case>.keras (`model.save`, zip pinned with
  make_fixtures.pin_archive), <case>.weights.h5 (`model.save_weights`) and <case>.safetensors
  (every weight as "<layer.name>/<weight name>", Keras shape, float32, metadata
  {"format": "keras"}), for every case. Each file is loaded back and checked
  (make_fixtures.check_round_trip).

Each case is the Python source that builds the model (also quoted in the module's doc comment),
evaluated with `keras.layers.*`, `Input`, `Sequential` and `Model` in scope. Seeding follows
make_fixtures.py (`seeded_model`): `keras.utils.set_random_seed(seed)` before building, default
initializers, then every bias overwritten with 0.5 * N(0, 1) from `np.random.default_rng(seed)`;
the inputs come next from the same Generator: N(0, 1) rounded to multiples of 1/32 and clipped
to [-3, 3], so exact in float32. Seeds are 2000 + the case's index in CASES, so new cases go
at the end of CASES. Deterministic: re-running gives identical files.
"""

import ast
import sys
import textwrap

# Sets KERAS_BACKEND=jax, JAX_PLATFORMS=cpu, COLUMNS=120 before Keras is imported.
import make_fixtures as mf  # noqa: I001

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import safetensors  # noqa: E402
import safetensors.numpy  # noqa: E402

TENSOR_SUBDIR = "tensor"  # under make_fixtures.KERAS_DIR
TENSOR_DIR = mf.KERAS_DIR / TENSOR_SUBDIR
OUTPUT = mf.FIXTURES / "tensor_layers.rs"

N_SAMPLES = 3
SEED_BASE = 2000
INPUT_BOUND = 3.0  # inputs are clipped to [-INPUT_BOUND, INPUT_BOUND]
LINE_WIDTH = 100  # Rust lines are at most this wide
BODY_WIDTH = LINE_WIDTH - 4  # for text indented into a `pub mod`

# Cases with a SUMMARY constant.
WITH_SUMMARY = {
    "kws_cnn",
    "sensor_conv1d",
    "conv_transpose_autoencoder",
    "transformer_encoder",
    "attention_scores",
    "nested_autoencoder",
    "nested_conv_autoencoder",
    "conv3d_net",
}

# Cases with several outputs (attention scores), with what each output is: their modules have
# OUTPUT_SHAPES and Y0, Y1, ... instead of OUTPUT_SHAPE and Y.
MULTI_OUTPUT = {
    "attention_scores": ["the attention output", "its scores", "the multi-head output", "its scores per head"],
}


def seq(*layers: str) -> str:
    return "Sequential([" + ", ".join(layers) + "])"


# (case name, model source, expected `model.layers` names -- checked, so a Keras naming change
# fails loudly). The source is a Python expression, or statements ending in one.
CASES = [
    # Conv1D: input (steps, channels).
    ("conv1d_valid", seq("Input((10, 3))", "Conv1D(4, 3)"), ["conv1d"]),
    (
        "conv1d_same_strided",
        seq("Input((11, 3))", 'Conv1D(4, 4, strides=2, padding="same")'),
        ["conv1d"],
    ),
    (
        "conv1d_same_strided_odd",
        seq("Input((10, 2))", 'Conv1D(3, 3, strides=3, padding="same")'),
        ["conv1d"],
    ),
    (
        "conv1d_causal_dilated",
        seq("Input((12, 2))", 'Conv1D(3, 3, padding="causal", dilation_rate=2, activation="tanh")'),
        ["conv1d"],
    ),
    (
        "conv1d_groups_nobias",
        seq("Input((9, 4))", 'Conv1D(6, 3, groups=2, use_bias=False, activation="relu")'),
        ["conv1d"],
    ),
    (
        "conv1d_dilated_same",
        seq("Input((12, 3))", 'Conv1D(2, 3, dilation_rate=3, padding="same")'),
        ["conv1d"],
    ),
    # Conv2D: input (h, w, c).
    ("conv2d_valid", seq("Input((6, 5, 2))", "Conv2D(3, 3)"), ["conv2d"]),
    (
        "conv2d_same_strided",
        seq("Input((7, 6, 3))", 'Conv2D(4, (3, 2), strides=2, padding="same")'),
        ["conv2d"],
    ),
    (
        "conv2d_same_strided_even",
        seq("Input((8, 8, 2))", 'Conv2D(3, 4, strides=(2, 3), padding="same", activation="relu")'),
        ["conv2d"],
    ),
    ("conv2d_dilated", seq("Input((9, 8, 2))", "Conv2D(3, (3, 2), dilation_rate=(2, 3))"), ["conv2d"]),
    (
        "conv2d_groups",
        seq("Input((6, 6, 4))", 'Conv2D(4, 3, groups=2, padding="same", use_bias=False)'),
        ["conv2d"],
    ),
    (
        "depthwise_conv2d",
        seq(
            "Input((7, 7, 3))",
            'DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same", activation="relu")',
        ),
        ["depthwise_conv2d"],
    ),
    (
        "depthwise_conv2d_valid",
        seq("Input((6, 5, 2))", "DepthwiseConv2D((2, 3), use_bias=False)"),
        ["depthwise_conv2d"],
    ),
    (
        "separable_conv2d",
        seq(
            "Input((8, 7, 3))",
            'SeparableConv2D(5, 3, depth_multiplier=2, padding="same", activation="relu")',
        ),
        ["separable_conv2d"],
    ),
    (
        "separable_conv2d_strided",
        seq("Input((9, 9, 2))", "SeparableConv2D(4, (3, 2), strides=2, use_bias=False)"),
        ["separable_conv2d"],
    ),
    # Pooling.
    ("max_pooling1d", seq("Input((10, 3))", "MaxPooling1D(2)"), ["max_pooling1d"]),
    (
        "max_pooling1d_same",
        seq("Input((11, 3))", 'MaxPooling1D(3, strides=2, padding="same")'),
        ["max_pooling1d"],
    ),
    (
        "average_pooling1d_same",
        seq("Input((11, 3))", 'AveragePooling1D(3, strides=2, padding="same")'),
        ["average_pooling1d"],
    ),
    ("average_pooling1d", seq("Input((10, 2))", "AveragePooling1D(4, strides=3)"), ["average_pooling1d"]),
    ("max_pooling2d", seq("Input((7, 6, 2))", "MaxPooling2D(2)"), ["max_pooling2d"]),
    (
        "max_pooling2d_same",
        seq("Input((7, 6, 2))", 'MaxPooling2D((3, 2), strides=(2, 2), padding="same")'),
        ["max_pooling2d"],
    ),
    (
        "average_pooling2d",
        seq("Input((8, 6, 2))", "AveragePooling2D(2, strides=(2, 1))"),
        ["average_pooling2d"],
    ),
    (
        "average_pooling2d_same",
        seq("Input((7, 5, 3))", 'AveragePooling2D(3, strides=2, padding="same")'),
        ["average_pooling2d"],
    ),
    ("global_max_pooling1d", seq("Input((6, 4))", "GlobalMaxPooling1D()"), ["global_max_pooling1d"]),
    (
        "global_average_pooling1d_keepdims",
        seq("Input((6, 4))", "GlobalAveragePooling1D(keepdims=True)"),
        ["global_average_pooling1d"],
    ),
    (
        "global_max_pooling2d_keepdims",
        seq("Input((5, 4, 3))", "GlobalMaxPooling2D(keepdims=True)"),
        ["global_max_pooling2d"],
    ),
    (
        "global_average_pooling2d",
        seq("Input((5, 4, 3))", "GlobalAveragePooling2D()"),
        ["global_average_pooling2d"],
    ),
    # Reshaping: the outputs are the inputs rearranged.
    ("flatten", seq("Input((3, 4, 2))", "Flatten()"), ["flatten"]),
    ("reshape", seq("Input((12,))", "Reshape((3, 2, 2))"), ["reshape"]),
    ("reshape_infer", seq("Input((4, 6))", "Reshape((-1, 3))"), ["reshape"]),
    ("permute", seq("Input((3, 4, 2))", "Permute((2, 1, 3))"), ["permute"]),
    ("permute_seq", seq("Input((5, 3))", "Permute((2, 1))"), ["permute"]),
    ("repeat_vector", seq("Input((4,))", "RepeatVector(3)"), ["repeat_vector"]),
    ("zero_padding1d", seq("Input((5, 2))", "ZeroPadding1D((1, 2))"), ["zero_padding1d"]),
    ("zero_padding2d", seq("Input((4, 3, 2))", "ZeroPadding2D(((1, 0), (2, 1)))"), ["zero_padding2d"]),
    ("cropping1d", seq("Input((7, 2))", "Cropping1D((2, 1))"), ["cropping1d"]),
    ("cropping2d", seq("Input((6, 5, 2))", "Cropping2D(((1, 2), (0, 1)))"), ["cropping2d"]),
    ("upsampling1d", seq("Input((4, 3))", "UpSampling1D(3)"), ["up_sampling1d"]),
    ("upsampling2d", seq("Input((3, 2, 2))", "UpSampling2D((2, 3))"), ["up_sampling2d"]),
    # Rank-generic layers.
    ("dense_on_sequence", seq("Input((5, 3))", 'Dense(4, activation="relu")'), ["dense"]),
    ("dense_on_image", seq("Input((3, 4, 2))", "Dense(3)"), ["dense"]),
    ("softmax_on_sequence", seq("Input((4, 5))", 'Activation("softmax")'), ["activation"]),
    (
        "merges_on_images",
        "a = Input((4, 3, 2)); b = Input((4, 3, 2)); s = Add()([a, b]); m = Multiply()([a, b]); "
        "c = Concatenate()([s, m]); Model([a, b], Conv2D(2, 1)(c))",
        ["input_layer", "input_layer_1", "add", "multiply", "concatenate", "conv2d"],
    ),
    # Chains and the benchmark models.
    (
        "cnn_chain",
        seq(
            "Input((12, 12, 1))",
            'Conv2D(4, 3, activation="relu")',
            "MaxPooling2D(2)",
            'Conv2D(8, 3, padding="same", activation="relu")',
            "Flatten()",
            'Dense(5, activation="softmax")',
        ),
        ["conv2d", "max_pooling2d", "conv2d_1", "flatten", "dense"],
    ),
    (
        "kws_cnn",
        seq(
            "Input((49, 10, 1))",
            'Conv2D(16, (5, 3), strides=(2, 1), activation="relu")',
            "MaxPooling2D(2)",
            'Conv2D(32, 3, padding="same", activation="relu")',
            "GlobalAveragePooling2D()",
            'Dense(12, activation="softmax")',
        ),
        ["conv2d", "max_pooling2d", "conv2d_1", "global_average_pooling2d", "dense"],
    ),
    (
        "sensor_conv1d",
        seq(
            "Input((128, 6))",
            'Conv1D(16, 5, strides=2, padding="same", activation="relu")',
            "MaxPooling1D(2)",
            'Conv1D(32, 3, activation="relu")',
            "GlobalAveragePooling1D()",
            "Dense(8)",
        ),
        ["conv1d", "max_pooling1d", "conv1d_1", "global_average_pooling1d", "dense"],
    ),
    # Transposed convolutions (appended: a case's seed is its index in CASES). Conv1DTranspose:
    # input (steps, channels).
    ("conv1d_transpose_valid", seq("Input((5, 3))", "Conv1DTranspose(4, 3)"), ["conv1d_transpose"]),
    (
        "conv1d_transpose_same_strided",
        seq("Input((6, 2))", 'Conv1DTranspose(3, 4, strides=2, padding="same", activation="relu")'),
        ["conv1d_transpose"],
    ),
    (
        "conv1d_transpose_output_padding",
        seq("Input((4, 2))", "Conv1DTranspose(3, 3, strides=3, output_padding=1, use_bias=False)"),
        ["conv1d_transpose"],
    ),
    (
        "conv1d_transpose_dilated",
        seq("Input((5, 2))", 'Conv1DTranspose(2, 3, dilation_rate=2, padding="same")'),
        ["conv1d_transpose"],
    ),
    # Conv2DTranspose: input (h, w, c).
    ("conv2d_transpose_valid", seq("Input((4, 3, 2))", "Conv2DTranspose(3, 3)"), ["conv2d_transpose"]),
    (
        "conv2d_transpose_same_strided",
        seq("Input((4, 5, 3))", 'Conv2DTranspose(4, (3, 2), strides=2, padding="same", activation="tanh")'),
        ["conv2d_transpose"],
    ),
    (
        "conv2d_transpose_output_padding",
        seq(
            "Input((3, 4, 2))",
            'Conv2DTranspose(2, (3, 3), strides=(2, 3), output_padding=(1, 2), padding="same")',
        ),
        ["conv2d_transpose"],
    ),
    (
        "conv2d_transpose_valid_strided_even",
        seq("Input((3, 3, 2))", "Conv2DTranspose(3, 2, strides=2, use_bias=False)"),
        ["conv2d_transpose"],
    ),
    (
        "conv2d_transpose_dilated",
        seq("Input((4, 4, 2))", "Conv2DTranspose(2, 3, dilation_rate=(2, 1))"),
        ["conv2d_transpose"],
    ),
    # A small image autoencoder: strided Conv2Ds down, Conv2DTransposes back up.
    (
        "conv_transpose_autoencoder",
        seq(
            "Input((8, 8, 1))",
            'Conv2D(4, 3, strides=2, padding="same", activation="relu")',
            'Conv2D(8, 3, strides=2, padding="same", activation="relu")',
            'Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")',
            'Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")',
            'Conv2D(1, 3, padding="same", activation="sigmoid")',
        ),
        ["conv2d", "conv2d_1", "conv2d_transpose", "conv2d_transpose_1", "conv2d_2"],
    ),
    # DepthwiseConv1D and SeparableConv1D: the 2-D layers' one-row forms.
    (
        "depthwise_conv1d",
        seq("Input((10, 3))", 'DepthwiseConv1D(3, depth_multiplier=2, strides=2, padding="same", activation="relu")'),
        ["depthwise_conv1d"],
    ),
    (
        "depthwise_conv1d_dilated_nobias",
        seq("Input((9, 2))", "DepthwiseConv1D(2, dilation_rate=3, use_bias=False)"),
        ["depthwise_conv1d"],
    ),
    (
        "separable_conv1d",
        seq("Input((10, 3))", 'SeparableConv1D(4, 3, depth_multiplier=2, padding="same", activation="tanh")'),
        ["separable_conv1d"],
    ),
    (
        "separable_conv1d_strided",
        seq("Input((11, 2))", "SeparableConv1D(3, 4, strides=3, use_bias=False)"),
        ["separable_conv1d"],
    ),
    # The adaptive pools: bins of the input, overlapping where the sizes do not divide.
    ("adaptive_average_pooling1d", seq("Input((10, 3))", "AdaptiveAveragePooling1D(4)"), ["adaptive_average_pooling1d"]),
    ("adaptive_max_pooling1d", seq("Input((7, 2))", "AdaptiveMaxPooling1D(3)"), ["adaptive_max_pooling1d"]),
    (
        "adaptive_average_pooling2d",
        seq("Input((7, 9, 2))", "AdaptiveAveragePooling2D((3, 4))"),
        ["adaptive_average_pooling2d"],
    ),
    ("adaptive_max_pooling2d", seq("Input((6, 5, 3))", "AdaptiveMaxPooling2D((4, 2))"), ["adaptive_max_pooling2d"]),
    # More bins than positions: each bin one or two positions.
    (
        "adaptive_average_pooling2d_up",
        seq("Input((3, 2, 2))", "AdaptiveAveragePooling2D((5, 3))"),
        ["adaptive_average_pooling2d"],
    ),
    # Resizing, CenterCrop and bilinear UpSampling2D: jax.image.resize without antialiasing.
    ("resizing_bilinear_up", seq("Input((3, 4, 2))", "Resizing(5, 7)"), ["resizing"]),
    ("resizing_bilinear_down", seq("Input((8, 9, 2))", "Resizing(3, 4)"), ["resizing"]),
    ("resizing_nearest", seq("Input((5, 3, 2))", 'Resizing(3, 7, interpolation="nearest")'), ["resizing"]),
    ("resizing_crop", seq("Input((6, 9, 1))", "Resizing(4, 4, crop_to_aspect_ratio=True)"), ["resizing"]),
    ("center_crop", seq("Input((7, 8, 2))", "CenterCrop(4, 5)"), ["center_crop"]),
    ("center_crop_up", seq("Input((3, 4, 1))", "CenterCrop(5, 5)"), ["center_crop"]),
    (
        "up_sampling2d_bilinear",
        seq("Input((3, 4, 2))", 'UpSampling2D((2, 3), interpolation="bilinear")'),
        ["up_sampling2d"],
    ),
    # EinsumDense where its equation is a Dense layer over reshaped axes (MultiHeadAttention's
    # projections among them).
    ("einsum_dense_matrix", seq("Input((5,))", 'EinsumDense("ab,bc->ac", 4, bias_axes="c")'), ["einsum_dense"]),
    (
        "einsum_dense_sequence",
        seq("Input((6, 3))", 'EinsumDense("abc,cd->abd", (6, 4), activation="relu", bias_axes="d")'),
        ["einsum_dense"],
    ),
    (
        "einsum_dense_heads",
        seq("Input((5, 6))", 'EinsumDense("abc,cde->abde", (5, 2, 3), bias_axes="de")'),
        ["einsum_dense"],
    ),
    (
        "einsum_dense_merge_heads",
        seq("Input((5, 2, 3))", 'EinsumDense("abcd,cde->abe", (5, 4), bias_axes="e")'),
        ["einsum_dense"],
    ),
    ("einsum_dense_elided", seq("Input((4, 2))", 'EinsumDense("...b,bc->...c", 5)'), ["einsum_dense"]),
    (
        "einsum_dense_vector_to_matrix",
        seq("Input((3,))", 'EinsumDense("ab,bcd->acd", (2, 4), bias_axes="cd", activation="tanh")'),
        ["einsum_dense"],
    ),
    # Concatenate on any axis: steps, rows or columns of images.
    (
        "concatenate_steps",
        "a = Input((3, 4)); b = Input((2, 4)); Model([a, b], Concatenate(axis=1)([a, b]))",
        ["input_layer", "input_layer_1", "concatenate"],
    ),
    (
        "concatenate_image_axes",
        "a = Input((2, 3, 2)); b = Input((2, 1, 2)); c = Concatenate(axis=-2)([a, b]); "
        "d = Concatenate(axis=1)([c, c]); Model([a, b], Conv2D(2, 1)(d))",
        ["input_layer", "input_layer_1", "concatenate", "concatenate_1", "conv2d"],
    ),
    # `keras.activations` functions applied to tensors, which Keras saves as operations.
    (
        "activation_ops",
        "a = Input((6,)); h = activations.gelu(Dense(5)(a)); h = activations.leaky_relu(h, negative_slope=0.1); "
        "h = activations.elu(Dense(4)(h), alpha=0.5); h = activations.relu(h, max_value=1.5); "
        "h = activations.hard_sigmoid(activations.tanh(h)); Model(a, activations.softmax(Dense(3)(h)))",
        ["input_layer", "dense", "dense_1", "dense_2"],
    ),
    # Elementwise merges of shapes that broadcast: a step, a feature vector, a whole sequence.
    (
        "broadcast_merges",
        "a = Input((4, 3)); b = Input((1, 3)); c = Input((3,)); s = Add()([a, b]); m = Multiply()([s, c]); "
        "x = Maximum()([m, b, a]); v = Average()([x, c]); Model([a, b, c], Subtract()([v, b]))",
        ["input_layer", "input_layer_1", "add", "input_layer_2", "multiply", "maximum", "average", "subtract"],
    ),
    # Dot-product attention over [query, value], the value its own key.
    (
        "attention_dot",
        "q = Input((3, 4)); v = Input((5, 4)); Model([q, v], Attention()([q, v]))",
        ["input_layer", "input_layer_1", "attention"],
    ),
    # A scale (set off its initial 1), a key of its own, a value of other width, the causal mask.
    (
        "attention_scaled_causal_key",
        "q = Input((4, 3)); v = Input((5, 6)); k = Input((5, 3)); layer = Attention(use_scale=True); "
        "out = layer([q, v, k], use_causal_mask=True); layer.scale.assign(0.6); Model([q, v, k], out)",
        ["input_layer", "input_layer_1", "input_layer_2", "attention"],
    ),
    # score_mode="concat": both of its weights set off their initial 1s.
    (
        "attention_concat",
        "q = Input((3, 4)); v = Input((5, 4)); layer = Attention(use_scale=True, score_mode='concat'); "
        "out = layer([q, v]); layer.scale.assign(0.8); layer.concat_score_weight.assign(1.3); "
        "Model([q, v], out)",
        ["input_layer", "input_layer_1", "attention"],
    ),
    # AdditiveAttention with its per-feature scale (Glorot-uniform draws), and without a scale,
    # causal, on the same pair.
    (
        "additive_attention",
        "q = Input((3, 4)); v = Input((5, 4)); k = Input((5, 4)); a = AdditiveAttention()([q, v, k]); "
        "b = AdditiveAttention(use_scale=False)([q, v], use_causal_mask=True); "
        "Model([q, v, k], Concatenate()([a, b]))",
        ["input_layer", "input_layer_1", "input_layer_2", "additive_attention", "additive_attention_1",
         "concatenate"],
    ),
    # Causal self-attention over projections of one sequence, added back to it.
    (
        "self_attention_block",
        "x = Input((6, 4)); q = Dense(4)(x); v = Dense(4)(x); "
        "a = Attention(use_scale=True)([q, v], use_causal_mask=True); Model(x, Add()([x, a]))",
        ["input_layer", "dense", "dense_1", "attention", "add"],
    ),
    # MultiHeadAttention: heads of other sizes for keys and values. Keras 3.15's fused kernel on
    # jax fails when they differ; a dropout (nothing at inference) takes its own einsum path.
    (
        "multi_head_attention",
        "q = Input((3, 4)); v = Input((5, 6)); "
        "out = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2, dropout=0.1)(q, v); "
        "Model([q, v], out)",
        ["input_layer", "input_layer_1", "multi_head_attention"],
    ),
    # Causal self-attention without biases, into another width; and a key given by name.
    (
        "multi_head_self_attention_key",
        "x = Input((6, 8)); q = Input((6, 4)); k = Input((6, 2)); "
        "a = MultiHeadAttention(2, 4, use_bias=False, output_shape=5)(x, x, use_causal_mask=True); "
        "b = MultiHeadAttention(1, 3, output_shape=5)(q, x, key=k); "
        "Model([x, q, k], Concatenate()([a, b]))",
        ["input_layer", "input_layer_1", "input_layer_2", "multi_head_attention", "multi_head_attention_1",
         "concatenate"],
    ),
    # A transformer encoder block: self-attention and a feed-forward pair, each added back and
    # normalized, then pooled and classified.
    (
        "transformer_block",
        "x = Input((6, 8)); a = MultiHeadAttention(2, 4)(x, x); n1 = LayerNormalization(); "
        "h = n1(Add()([x, a])); f = Dense(16, activation='relu')(h); d = Dense(8); f = d(f); "
        "n2 = LayerNormalization(); o = n2(Add()([h, f])); "
        # The normalizations' scales and offsets off their initial ones and zeros: rows of a kernel.
        "n1.gamma.assign(1 + d.kernel[0]); n1.beta.assign(d.kernel[1]); "
        "n2.gamma.assign(1 + d.kernel[2]); n2.beta.assign(d.kernel[3]); "
        "Model(x, Dense(3, activation='softmax')(GlobalAveragePooling1D()(o)))",
        ["input_layer", "multi_head_attention", "add", "layer_normalization", "dense", "dense_1", "add_1",
         "layer_normalization_1", "global_average_pooling1d", "dense_2"],
    ),
    # GroupedQueryAttention: four query heads over two key and value heads, causal
    # self-attention; and over one, with a key of its own and no biases.
    (
        "grouped_query_attention",
        "x = Input((5, 6)); q = Input((4, 6)); k = Input((5, 3)); "
        "a = GroupQueryAttention(3, 4, 2)(x, x, use_causal_mask=True); "
        "b = GroupQueryAttention(2, 2, 1, use_bias=False)(q, x, key=k); "
        "Model([x, q, k], Concatenate(axis=1)([a, b]))",
        ["input_layer", "input_layer_1", "input_layer_2", "grouped_query_attention",
         "grouped_query_attention_1", "concatenate"],
    ),
    # examples/transformer.rs's encoder: token and learned position embeddings (a second input of
    # positions), multi-head self-attention, a feed-forward pair, residual Adds and
    # LayerNormalization, pooled and classified. Integer inputs hold ids below their tables.
    (
        "transformer_encoder",
        "tokens = Input((12,), dtype='int32'); positions = Input((12,), dtype='int32'); "
        "x = Add()([Embedding(16, 16)(tokens), Embedding(12, 16)(positions)]); "
        "a = MultiHeadAttention(2, 8)(x, x); n1 = LayerNormalization(); h = n1(Add()([x, a])); "
        "f = Dense(32, activation='relu')(h); d = Dense(16); f = d(f); n2 = LayerNormalization(); "
        "o = n2(Add()([h, f])); "
        "n1.gamma.assign(1 + d.kernel[0]); n1.beta.assign(d.kernel[1]); "
        "n2.gamma.assign(1 + d.kernel[2]); n2.beta.assign(d.kernel[3]); "
        "Model([tokens, positions], Dense(2, activation='softmax')(GlobalAveragePooling1D()(o)))",
        ["input_layer", "input_layer_1", "embedding", "embedding_1", "add", "multi_head_attention", "add_1",
         "layer_normalization", "dense", "dense_1", "add_2", "layer_normalization_1",
         "global_average_pooling1d", "dense_2"],
    ),
    # return_attention_scores: Attention's scores (query steps by value steps) and
    # MultiHeadAttention's (heads by query steps by value steps), causal, as further outputs.
    # As many query as value steps: Keras 3.15 gives MultiHeadAttention's scores the shape
    # (heads, query steps, query steps) before it runs (it computes the right one).
    (
        "attention_scores",
        "q = Input((5, 4)); v = Input((5, 4)); "
        "a, s = Attention(use_scale=True)([q, v], return_attention_scores=True, use_causal_mask=True); "
        "m, t = MultiHeadAttention(2, 3)(q, v, return_attention_scores=True); "
        "Model([q, v], [a, s, m, t])",
        ["input_layer", "input_layer_1", "attention", "multi_head_attention"],
    ),
    # Models used as layers: a Sequential encoder and a Functional decoder in an autoencoder.
    (
        "nested_autoencoder",
        "encoder = Sequential([Input((6,)), Dense(4, activation='relu'), Dense(2)], name='encoder'); "
        "z = Input((2,)); h = Dense(4, activation='tanh')(z); decoder = Model(z, Dense(6)(h), name='decoder'); "
        "x = Input((6,)); Model(x, decoder(encoder(x)))",
        ["input_layer_2", "encoder", "decoder"],
    ),
    # A Sequential model shared by two inputs (a siamese pair), its outputs joined and scored.
    (
        "nested_siamese",
        "tower = Sequential([Input((4,)), Dense(3, activation='relu')], name='tower'); "
        "a = Input((4,)); b = Input((4,)); "
        "Model([a, b], Dense(1, activation='sigmoid')(Concatenate()([tower(a), tower(b)])))",
        ["input_layer_1", "input_layer_2", "tower", "concatenate", "dense_1"],
    ),
    # Models of images used as layers: a convolutional encoder into a vector, a decoder back.
    (
        "nested_conv_autoencoder",
        "encoder = Sequential([Input((8, 8, 1)), Conv2D(4, 3, padding='same', activation='relu'), "
        "MaxPooling2D(2), Flatten(), Dense(6)], name='encoder'); "
        "decoder = Sequential([Input((6,)), Dense(16, activation='relu'), Reshape((4, 4, 1)), "
        "Conv2DTranspose(2, 3, strides=2, padding='same', activation='sigmoid')], name='decoder'); "
        "x = Input((8, 8, 1)); Model(x, decoder(encoder(x)))",
        ["input_layer_2", "encoder", "decoder"],
    ),
    # Masks: Embedding's `mask_zero` into an LSTM, which skips the steps of id 0.
    (
        "embedding_mask_lstm",
        "x = Input((7,), dtype='int32'); e = Embedding(5, 4, mask_zero=True)(x); "
        "Model(x, Dense(2)(LSTM(3)(e)))",
        ["input_layer", "embedding", "lstm", "dense"],
    ),
    # Masking's mask through a GRU's sequence and a Dense layer into the masked mean.
    (
        "masking_gru_pool",
        "x = Input((6, 3)); m = Masking(mask_value=0.0)(x); h = GRU(4, return_sequences=True)(m); "
        "h = Dense(4, activation='tanh')(h); Model(x, GlobalAveragePooling1D()(h))",
        ["input_layer", "masking", "gru", "dense", "global_average_pooling1d"],
    ),
    # A Bidirectional GRU's sequence over a mask: zeros at the masked steps.
    (
        "embedding_mask_bidirectional",
        "x = Input((6,), dtype='int32'); e = Embedding(4, 3, mask_zero=True)(x); "
        "Model(x, Bidirectional(GRU(2, return_sequences=True))(e))",
        ["input_layer", "embedding", "bidirectional"],
    ),
    # A mask read backwards, with a mask value other than 0.
    (
        "masking_backwards_rnn",
        "x = Input((5, 2)); m = Masking(mask_value=0.5)(x); Model(x, SimpleRNN(3, go_backwards=True)(m))",
        ["input_layer", "masking", "simple_rnn"],
    ),
    # Self-attention over padded ids: MultiHeadAttention masks the padded query and value steps,
    # the residual Add keeps the mask, and the mean leaves the padding out.
    (
        "masked_self_attention",
        "x = Input((6,), dtype='int32'); e = Embedding(5, 4, mask_zero=True)(x); "
        "a = MultiHeadAttention(2, 2)(e, e); Model(x, GlobalAveragePooling1D()(Add()([e, a])))",
        ["input_layer", "embedding", "multi_head_attention", "add", "global_average_pooling1d"],
    ),
    # Attention between two padded sequences: padded value steps get no weight, the output is
    # zero at padded query steps.
    (
        "masked_dot_attention",
        "q = Input((4,), dtype='int32'); v = Input((5,), dtype='int32'); "
        "eq = Embedding(4, 3, mask_zero=True)(q); ev = Embedding(4, 3, mask_zero=True)(v); "
        "Model([q, v], Attention(use_scale=True)([eq, ev]))",
        ["input_layer", "input_layer_1", "embedding", "embedding_1", "attention"],
    ),
    # The generic RNN's `zero_output_for_mask`: zeros at masked steps, the state carried on.
    (
        "masked_rnn_zero_output",
        "x = Input((6,), dtype='int32'); e = Embedding(4, 3, mask_zero=True)(x); "
        "Model(x, RNN(GRUCell(2), return_sequences=True, zero_output_for_mask=True)(e))",
        ["input_layer", "embedding", "rnn"],
    ),
    # Concatenate keeps a mask its operands share (a GRU skips the padding), and keeps every step
    # when an operand has no mask (an LSTM reads all of them).
    (
        "masked_concatenate",
        "x = Input((6,), dtype='int32'); e = Embedding(5, 3, mask_zero=True)(x); d = Dense(2)(e); "
        "q = Embedding(5, 2)(x); a = GRU(2)(Concatenate()([e, d])); b = LSTM(2)(Concatenate()([e, q])); "
        "Model(x, Concatenate()([a, b]))",
        # (The operations computing the masks take `concatenate_1` and `concatenate_3`.)
        ["input_layer", "embedding", "dense", "embedding_1", "concatenate", "concatenate_2", "gru", "lstm",
         "concatenate_4"],
    ),
    # Merges of values masked by different layers: the union of their masks (Keras's
    # LogicalOr), for Add and for Concatenate.
    (
        "masked_union",
        "a = Input((5,), dtype='int32'); b = Input((5,), dtype='int32'); "
        "ea = Embedding(4, 3, mask_zero=True)(a); eb = Embedding(4, 3, mask_zero=True)(b); "
        "s = GRU(2)(Add()([ea, eb])); c = LSTM(2)(Concatenate()([ea, eb])); Model([a, b], Concatenate()([s, c]))",
        ["input_layer", "input_layer_1", "embedding", "embedding_1", "add", "concatenate", "gru", "lstm",
         "concatenate_2"],
    ),
    # TimeDistributed over a Dense layer passes the mask on to the LSTM after it.
    (
        "masked_time_distributed",
        "x = Input((6,), dtype='int32'); e = Embedding(5, 3, mask_zero=True)(x); "
        "t = TimeDistributed(Dense(6))(e); Model(x, LSTM(3)(t))",
        ["input_layer", "embedding", "time_distributed", "lstm"],
    ),
    # Volumes: input (depth, height, width, channels).
    ("conv3d_valid", seq("Input((5, 6, 4, 2))", "Conv3D(3, (2, 3, 2))"), ["conv3d"]),
    (
        "conv3d_same_strided",
        seq("Input((5, 7, 6, 3))", 'Conv3D(4, 3, strides=(2, 2, 3), padding="same", activation="relu")'),
        ["conv3d"],
    ),
    (
        "conv3d_dilated_groups",
        seq("Input((7, 6, 6, 4))", "Conv3D(4, (2, 2, 3), dilation_rate=(2, 1, 2), groups=2, use_bias=False)"),
        ["conv3d"],
    ),
    (
        "conv3d_one_row",
        seq("Input((4, 3, 9, 2))", 'Conv3D(3, (1, 1, 3), strides=(2, 1, 2), padding="same")'),
        ["conv3d"],
    ),
    ("max_pooling3d", seq("Input((5, 6, 4, 2))", "MaxPooling3D(2)"), ["max_pooling3d"]),
    (
        "max_pooling3d_same",
        seq("Input((5, 7, 6, 2))", 'MaxPooling3D((3, 2, 3), strides=(2, 2, 2), padding="same")'),
        ["max_pooling3d"],
    ),
    (
        "average_pooling3d_same",
        seq("Input((5, 5, 7, 3))", 'AveragePooling3D(3, strides=2, padding="same")'),
        ["average_pooling3d"],
    ),
    ("average_pooling3d", seq("Input((6, 4, 5, 2))", "AveragePooling3D((2, 2, 3), strides=(2, 1, 2))"),
     ["average_pooling3d"]),
    ("global_max_pooling3d", seq("Input((3, 4, 5, 3))", "GlobalMaxPooling3D()"), ["global_max_pooling3d"]),
    (
        "global_average_pooling3d_keepdims",
        seq("Input((3, 4, 5, 3))", "GlobalAveragePooling3D(keepdims=True)"),
        ["global_average_pooling3d"],
    ),
    (
        "padding_cropping_upsampling3d",
        seq(
            "Input((3, 4, 5, 2))",
            "ZeroPadding3D(((1, 0), (0, 2), (1, 1)))",
            "Cropping3D(((0, 1), (1, 0), (0, 2)))",
            "UpSampling3D((2, 1, 3))",
        ),
        ["zero_padding3d", "cropping3d", "up_sampling3d"],
    ),
    # Layers acting on the last axis, or on any, over tensors of rank 4 and 5.
    (
        "rank4_elementwise",
        "x = Input((2, 3, 4, 3)); d = Dense(4, activation='relu')(x); "
        "n = LayerNormalization(beta_initializer='random_normal')(d); "
        "b = BatchNormalization(axis=1, beta_initializer='random_normal', "
        "moving_mean_initializer='random_normal', moving_variance_initializer='ones')(n); s = Softmax(axis=2)(b); p = Permute((3, 1, 4, 2))(s); "
        "r = Reshape((6, 4, 4))(p); a = Add()([r, Rescaling(2.0, 0.5)(r)]); "
        "Model(x, Concatenate(axis=2)([a, Activation('tanh')(a)]))",
        ["input_layer", "dense", "layer_normalization", "batch_normalization", "softmax", "permute", "reshape",
         "rescaling", "add", "activation", "concatenate"],
    ),
    (
        "rank5_elementwise",
        "x = Input((2, 2, 3, 2, 3)); d = Dense(2)(x); n = LayerNormalization(axis=(-2, -1), beta_initializer='random_normal')(d); "
        "m = Multiply()([n, Dense(2, activation='sigmoid')(x)]); p = Permute((5, 2, 3, 4, 1))(m); "
        "Model(x, Flatten()(p))",
        ["input_layer", "dense", "layer_normalization", "dense_1", "multiply", "permute", "flatten"],
    ),
    (
        "conv3d_net",
        seq(
            "Input((6, 8, 8, 1))",
            'Conv3D(4, 3, padding="same", activation="relu")',
            "MaxPooling3D(2)",
            "Conv3D(6, (2, 3, 3), activation='relu')",
            "GlobalAveragePooling3D()",
            "Dense(3, activation='softmax')",
        ),
        ["conv3d", "max_pooling3d", "conv3d_1", "global_average_pooling3d", "dense"],
    ),
    (
        "conv3d_transpose_same_strided",
        seq("Input((3, 4, 3, 2))", 'Conv3DTranspose(3, 3, strides=(2, 2, 1), padding="same", activation="relu")'),
        ["conv3d_transpose"],
    ),
    (
        "conv3d_transpose_output_padding",
        seq("Input((2, 3, 3, 2))", "Conv3DTranspose(2, (2, 3, 2), strides=(2, 2, 3), output_padding=(1, 0, 2))"),
        ["conv3d_transpose"],
    ),
    (
        "conv3d_transpose_dilated",
        seq("Input((3, 3, 4, 3))", "Conv3DTranspose(2, 2, dilation_rate=(2, 1, 2), use_bias=False)"),
        ["conv3d_transpose"],
    ),
    # A video model: TimeDistributed layers over steps of images, then an LSTM; and a
    # TimeDistributed Conv3D over frames of volumes.
    (
        "time_distributed_video",
        seq(
            "Input((3, 6, 6, 2))",
            "TimeDistributed(Conv2D(4, 3, activation='relu'))",
            "TimeDistributed(MaxPooling2D(2))",
            "TimeDistributed(GlobalAveragePooling2D())",
            "LSTM(3)",
        ),
        ["time_distributed", "time_distributed_1", "time_distributed_2", "lstm"],
    ),
    (
        "time_distributed_conv3d",
        seq("Input((2, 3, 4, 4, 2))", "TimeDistributed(Conv3D(3, 2, padding='same'))", "Flatten()", "Dense(2)"),
        ["time_distributed", "flatten", "dense"],
    ),
    # An attention mask given as an input (0 where a query step may not attend to a value step):
    # MultiHeadAttention on a query and a value, and GroupQueryAttention with a key, the mask and
    # a causal mask.
    (
        "mha_attention_mask",
        "q = Input((4, 6)); v = Input((5, 6)); m = Input((4, 5)); "
        "Model([q, v, m], MultiHeadAttention(2, 3)(q, v, attention_mask=m))",
        ["input_layer", "input_layer_1", "input_layer_2", "multi_head_attention"],
    ),
    (
        "gqa_attention_mask_causal",
        "q = Input((5, 4)); v = Input((5, 4)); k = Input((5, 3)); m = Input((5, 5)); "
        "Model([q, v, k, m], GroupQueryAttention(2, 4, 2)(q, v, k, attention_mask=m, use_causal_mask=True))",
        ["input_layer", "input_layer_1", "input_layer_2", "input_layer_3", "grouped_query_attention"],
    ),
    # The activation layers and the normalizations over the last axes of ranks 4 and 5.
    (
        "rank4_normalizations",
        seq(
            "Input((2, 2, 3, 4))",
            "LeakyReLU(0.2)",
            "ELU()",
            "GroupNormalization(2, beta_initializer='random_normal', gamma_initializer='random_normal')",
            "UnitNormalization()",
            "Normalization(mean=[0.1, -0.2, 0.3, 0.5], variance=[1.0, 2.0, 0.5, 4.0])",
            "Activation('gelu')",
            "Dropout(0.5)",
        ),
        ["leaky_re_lu", "elu", "group_normalization", "unit_normalization", "normalization", "activation",
         "dropout"],
    ),
    (
        "rank5_normalizations",
        seq(
            "Input((2, 2, 2, 3, 4))",
            "ReLU(max_value=1.5)",
            "UnitNormalization(axis=(-2, -1))",
            "RMSNormalization()",
            "BatchNormalization(axis=3, beta_initializer='random_normal', "
            "moving_mean_initializer='random_normal', moving_variance_initializer='ones')",
            "LayerNormalization(axis=(-3, -2, -1), beta_initializer='random_normal')",
            "Softmax(axis=1)",
        ),
        ["re_lu", "unit_normalization", "rms_normalization", "batch_normalization", "layer_normalization",
         "softmax"],
    ),
    # The adaptive pools over volumes: bins of each axis, overlapping where the sizes do not divide.
    (
        "adaptive_pooling3d",
        seq("Input((5, 7, 4, 2))", "AdaptiveMaxPooling3D((3, 4, 3))", "AdaptiveAveragePooling3D((2, 3, 2))"),
        ["adaptive_max_pooling3d", "adaptive_average_pooling3d"],
    ),
    # PReLU over ranks 4 and 5: alpha per value, and shared over a volume's three axes.
    (
        "prelu_rank4_rank5",
        "x = Input((2, 3, 2, 3)); a = PReLU(alpha_initializer='random_normal')(x); "
        "b = PReLU(alpha_initializer='random_normal', shared_axes=[1, 2, 3])(a); "
        "r = Reshape((2, 1, 3, 2, 3))(b); Model(x, PReLU(alpha_initializer='random_normal', shared_axes=[1, 2, 3])(r))",
        ["input_layer", "p_re_lu", "p_re_lu_1", "reshape", "p_re_lu_2"],
    ),
    # Softmax with a mask given as an input: of one row, broadcast over the rows, and of the
    # input's shape over the steps' axis.
    (
        "softmax_mask_input",
        "x = Input((3, 4)); m = Input((1, 4)); n = Input((3, 4)); s = Dense(4)(x); "
        "a = Softmax()(s, mask=m); Model([x, m, n], Softmax(axis=1)(a, mask=n))",
        ["input_layer", "dense", "input_layer_1", "softmax", "input_layer_2", "softmax_1"],
    ),
    # PReLU sharing some of the leading axes of ranks 4 and 5.
    (
        "prelu_partly_shared",
        "x = Input((2, 3, 2, 3)); a = PReLU(alpha_initializer='random_normal', shared_axes=[1])(x); "
        "b = PReLU(alpha_initializer='random_normal', shared_axes=[2, 4])(a); "
        "r = Reshape((2, 1, 3, 2, 3))(b); Model(x, PReLU(alpha_initializer='random_normal', shared_axes=[1, 3])(r))",
        ["input_layer", "p_re_lu", "p_re_lu_1", "reshape", "p_re_lu_2"],
    ),
    # Resizing with pad_to_aspect_ratio: rows of zeros above and below (bilinear), and columns
    # on either side of a narrow image (nearest).
    ("resizing_pad_rows", seq("Input((6, 9, 2))", "Resizing(6, 4, pad_to_aspect_ratio=True)"), ["resizing"]),
    (
        "resizing_pad_columns",
        seq("Input((8, 3, 1))", "Resizing(4, 4, pad_to_aspect_ratio=True, interpolation='nearest')"),
        ["resizing"],
    ),
    # MultiHeadAttention with an output_shape of two axes: its join's kernel (heads, value_dim,
    # 2, 3), the output (steps, 2, 3).
    (
        "mha_output_shape_2d",
        "q = Input((4, 5)); v = Input((3, 6)); "
        "Model([q, v], MultiHeadAttention(2, 3, output_shape=(2, 3))(q, v))",
        ["input_layer", "input_layer_1", "multi_head_attention"],
    ),
]

# Cases whose inputs at these positions are masks (an attention mask, Softmax's): 0 or 1, every
# query step attending to at least one value step.
ATTENTION_MASK_INPUTS = {"mha_attention_mask": [2], "gqa_attention_mask_causal": [3], "softmax_mask_input": [1, 2]}


def attention_mask_inputs(rng: np.random.Generator, shape) -> np.ndarray:
    """N_SAMPLES masks of `shape` (query steps, value steps): each value 1 with probability
    0.6, and the first value step always 1 (so that no query step, causal or not, is barred from
    every value step)."""
    m = (rng.random(size=(N_SAMPLES, *shape)) < 0.6).astype(np.float32)
    m[..., 0] = 1.0
    return m

# The cases whose inputs have masked steps, and the value that masks a step (an id 0, or
# Masking's `mask_value` in every feature): the first sample padded at its end, the second at
# its start and middle, the third at every other step.
MASKED = {
    "embedding_mask_lstm": 0,
    "masking_gru_pool": 0.0,
    "embedding_mask_bidirectional": 0,
    "masking_backwards_rnn": 0.5,
    "masked_self_attention": 0,
    "masked_dot_attention": 0,
    "masked_rnn_zero_output": 0,
    "masked_concatenate": 0,
    "masked_union": 0,
    "masked_time_distributed": 0,
}


MASK_OPS = {"NotEqual", "Any", "LogicalOr", "LogicalAnd", "ExpandDims", "ZerosLike", "OnesLike", "Concatenate"}


def is_mask_op(op) -> bool:
    """Whether `op` is one of Keras's operations (not a layer) computing a mask."""
    return type(op).__module__.startswith("keras.src.ops") and type(op).__name__ in MASK_OPS


def mask_steps(x: np.ndarray, value, shift: int = 0) -> np.ndarray:
    """`x` (samples, steps, ...) with the steps of MASKED's pattern set to `value`; a model's
    input `shift` takes the patterns `shift` samples on, so that its inputs' masks differ."""
    x = x.copy()
    steps = x.shape[1]
    patterns = [range(steps - (steps + 2) // 3, steps), [0, steps // 2], range(1, steps, 2)]
    for i, sample in enumerate(x):
        for t in patterns[(i + shift) % len(patterns)]:
            sample[t] = value
    return x


def namespace() -> dict:
    ns = {k: getattr(keras.layers, k) for k in dir(keras.layers) if not k.startswith("_")}
    ns.update(Input=keras.Input, Sequential=keras.Sequential, Model=keras.Model, activations=keras.activations)
    return ns


def build_from_source(src: str):
    """Run `src` (statements ending in an expression) with Keras names in scope; return the value."""
    tree = ast.parse(src)
    last = tree.body.pop()
    if not isinstance(last, ast.Expr):
        raise ValueError(f"source must end in an expression: {src}")
    ns = namespace()
    exec(compile(tree, "<case>", "exec"), ns)
    return eval(compile(ast.Expression(last.value), "<case>", "eval"), ns)


def tensor_inputs(rng: np.random.Generator, shape) -> np.ndarray:
    """N_SAMPLES samples of `shape`: N(0, 1) rounded to multiples of 1/32, clipped to +-3."""
    x = np.clip(np.round(rng.normal(size=(N_SAMPLES, *shape)) * 32.0) / 32.0, -INPUT_BOUND, INPUT_BOUND)
    x32 = x.astype(np.float32) + np.float32(0.0)  # no -0.0
    assert np.array_equal(x32.astype(np.float64), x)
    return x32


def id_table(model, inp) -> int:
    """The smallest `input_dim` of the Embedding layers reading integer input `inp`."""
    dims = [
        layer.input_dim
        for layer in model.layers
        if isinstance(layer, keras.layers.Embedding) and any(t is inp for t in keras.tree.flatten(layer.input))
    ]
    if not dims:
        raise ValueError("an integer input that no Embedding reads")
    return min(dims)


def id_inputs(rng: np.random.Generator, shape, table: int) -> np.ndarray:
    """N_SAMPLES samples of token ids of `shape`, uniform in [0, table), as float32 (exact)."""
    return rng.integers(0, table, size=(N_SAMPLES, *shape)).astype(np.float32)


# ---------------------------------------------------------------- Rust rendering


def usize_list(shape) -> str:
    return "&[" + ", ".join(str(int(d)) for d in shape) + "]"


def f64_slice(values, prefix: str, first: str = "", last: str = ";") -> str:
    """`{first}&[v, ...]{last}` on one line at indent `prefix` if it fits in BODY_WIDTH, else
    the values packed greedily into lines of at most BODY_WIDTH. `first` is the text before the
    slice on its first line (e.g. "pub const X: &[f64] = ")."""
    vals = [mf.lit(v) for v in np.asarray(values).reshape(-1)]
    one = f"{prefix}{first}&[{', '.join(vals)}]{last}"
    if len(one) <= BODY_WIDTH:
        return one + "\n"
    inner = prefix + "    "
    lines, line = [], inner
    for v in vals:
        if line != inner and len(line) + len(v) + 1 > BODY_WIDTH:
            lines.append(line.rstrip() + "\n")
            line = inner
        line += v + ", "
    lines.append(line.rstrip() + "\n")
    return f"{prefix}{first}&[\n{''.join(lines)}{prefix}]{last}\n"


def samples_const(name: str, doc: str, samples) -> str:
    """`pub const NAME: &[&[f64]]` with one flattened sample per entry."""
    out = doc_comment(doc)
    head = f"pub const {name}: &[&[f64]] = "
    flat = [np.asarray(s).reshape(-1) for s in samples]
    one = head + "&[" + ", ".join("&[" + ", ".join(mf.lit(v) for v in s) + "]" for s in flat) + "];"
    if len(one) <= BODY_WIDTH:
        return out + one + "\n"
    out += head + "&[\n"
    for s in flat:
        out += f64_slice(s, "    ", last=",")
    return out + "];\n"


def doc_comment(text: str, width: int = BODY_WIDTH) -> str:
    lines = textwrap.wrap(text, width=width - 4, break_on_hyphens=False, break_long_words=False)
    return "".join(f"/// {line}\n" for line in lines)


# ---------------------------------------------------------------- cases


def tensor_module(index: int, name: str, src: str, layer_names) -> str:
    seed = SEED_BASE + index
    model, rng = mf.seeded_model(name, lambda: build_from_source(src), seed, layer_names)
    input_shapes = [tuple(int(d) for d in inp.shape[1:]) for inp in model.inputs]
    xs = [
        id_inputs(rng, shape, id_table(model, inp)) if "int" in str(inp.dtype) else tensor_inputs(rng, shape)
        for shape, inp in zip(input_shapes, model.inputs)
    ]
    if name in MASKED:
        xs = [mask_steps(x, MASKED[name], shift) for shift, x in enumerate(xs)]
    for i in ATTENTION_MASK_INPUTS.get(name, []):
        xs[i] = attention_mask_inputs(rng, input_shapes[i])

    weights = []
    for wname, w in zip(mf.weight_names(model), model.weights):
        arr = np.asarray(w.numpy())
        if arr.dtype != np.float32:
            raise TypeError(f"{name}: {wname} is {arr.dtype}")
        weights.append((wname, arr))
    got = model.get_weights()
    if len(got) != len(weights) or not all(np.array_equal(a, w) for a, (_, w) in zip(got, weights)):
        raise AssertionError(f"{name}: get_weights() and model.weights disagree")
    if sum(w.size for _, w in weights) != model.count_params():
        raise AssertionError(f"{name}: count_params() is not the number of weights")
    for wname, w in weights:
        if not np.all(np.isfinite(w)) or not np.any(w != 0.0):
            raise AssertionError(f"{name}: {wname} is all zero or non-finite")

    ys = checked_predict_all(name, model, xs)
    if (len(ys) > 1) != (name in MULTI_OUTPUT):
        raise AssertionError(f"{name}: {len(ys)} outputs; MULTI_OUTPUT disagrees")
    save_files(name, model, weights, xs, ys[0])
    if len(ys) > 1:  # save_files checks the first output only
        mf.check_round_trip(f"{TENSOR_SUBDIR}/{name}", model, weights, xs, ys)
    text = render_module(name, src, seed, model, weights, xs, ys[0], with_summary=name in WITH_SUMMARY)
    return several_outputs(name, text, model, ys, MULTI_OUTPUT[name]) if len(ys) > 1 else text


def checked_predict(name: str, model, xs) -> np.ndarray:
    """`model.predict` on the inputs, checked: one float32 output of the model's shape, finite,
    not all zero and different for each sample."""
    if len(model.outputs) != 1:
        raise AssertionError(f"{name}: expected one output")
    output_shape = tuple(int(d) for d in model.outputs[0].shape[1:])
    feed = xs if len(xs) > 1 else xs[0]
    y = model.predict(feed, verbose=0)
    if y.dtype != np.float32 or y.shape != (N_SAMPLES, *output_shape):
        raise TypeError(f"{name}: unexpected output {y.dtype} {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name}: non-finite output {y}")
    if not np.any(y != 0.0) or np.array_equal(y[0], y[1]) or np.array_equal(y[1], y[2]):
        raise AssertionError(f"{name}: output does not depend on the input: {y}")
    return y


def checked_predict_all(name: str, model, xs) -> list:
    """`model.predict` on the inputs: one float32 array per model output, each checked as
    make_tensor_fixtures.checked_predict checks a single output."""
    if len(model.outputs) == 1:
        return [checked_predict(name, model, xs)]
    ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    if not isinstance(ys, (list, tuple)) or len(ys) != len(model.outputs):
        raise TypeError(f"{name}: expected {len(model.outputs)} outputs")
    for i, (y, out) in enumerate(zip(ys, model.outputs)):
        shape = tuple(int(d) for d in out.shape[1:])
        if y.dtype != np.float32 or y.shape != (N_SAMPLES, *shape):
            raise TypeError(f"{name}: unexpected output {i}: {y.dtype} {y.shape}")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name}: non-finite output {i}: {y}")
        if not np.any(y != 0.0) or np.array_equal(y[0], y[1]) or np.array_equal(y[1], y[2]):
            raise AssertionError(f"{name}: output {i} does not depend on the input: {y}")
    return list(ys)


def replace_once(name: str, text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise AssertionError(f"{name}: expected one occurrence of {old!r}")
    return text.replace(old, new)


def y_const(y, doc: str, const: str = "Y") -> str:
    """The Y constant as render_module renders it (indented into the module)."""
    return mf.indent(samples_const(const, doc, y))


def default_y_doc(shape) -> str:
    # As in make_tensor_fixtures.render_module.
    return (
        f"`model.predict` output, {N_SAMPLES} samples, each flattened row-major (shape {shape}); "
        "float32 values printed as exact f64."
    )


def output_shapes(model) -> list:
    return [tuple(int(d) for d in out.shape[1:]) for out in model.outputs]


def several_outputs(name: str, text: str, model, ys, whats) -> str:
    """A rendered module's OUTPUT_SHAPE and Y replaced by OUTPUT_SHAPES and Y0, Y1, ... for a
    model of several outputs (`whats`: what each output is, for its doc comment)."""
    shapes = output_shapes(model)
    text = replace_once(
        name,
        text,
        "    /// Model output shape without the batch axis.\n"
        f"    pub const OUTPUT_SHAPE: &[usize] = {usize_list(shapes[0])};\n",
        "    /// Model output shapes without the batch axis, one per output (`model.outputs` order).\n"
        f"    pub const OUTPUT_SHAPES: &[&[usize]] = &[{', '.join(usize_list(s) for s in shapes)}];\n",
    )
    outputs = [
        y_const(
            y,
            f"`model.predict` output {i}, {what}: {N_SAMPLES} samples, each flattened row-major (shape "
            f"{shape}); float32 values printed as exact f64.",
            f"Y{i}",
        )
        for i, (y, shape, what) in enumerate(zip(ys, shapes, whats))
    ]
    return replace_once(name, text, y_const(ys[0], default_y_doc(shapes[0])), "\n".join(outputs))


def save_files(name: str, model, weights, xs, y, subdir: str = TENSOR_SUBDIR) -> None:
    """`<name>.keras` (pinned), `.weights.h5` and `.safetensors` (`weights`: ("<layer>/<weight>",
    float32 array) pairs) under make_fixtures.KERAS_DIR / subdir, each loaded back and checked."""
    out_dir = mf.KERAS_DIR / subdir
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / f"{name}.keras")
    mf.pin_archive(out_dir / f"{name}.keras")
    model.save_weights(out_dir / f"{name}.weights.h5")
    safetensors.numpy.save_file(
        # (np.ascontiguousarray alone would make a scalar weight shape (1,).)
        {n: np.ascontiguousarray(w).reshape(w.shape) for n, w in weights},
        str(out_dir / f"{name}.safetensors"),
        metadata={"format": "keras"},
    )
    # check_round_trip reads KERAS_DIR / f"{name}.keras" etc.
    mf.check_round_trip(f"{subdir}/{name}", model, weights, xs, [y])


def param_count(variables) -> int:
    """How many values `variables` hold."""
    return int(sum(np.prod(v.shape) for v in variables))


def render_module(
    name: str,
    src: str,
    seed: int,
    model,
    weights,
    xs,
    y,
    subdir: str = TENSOR_SUBDIR,
    with_summary: bool = False,
    input_docs=None,
    note: str = "",
) -> str:
    """The `pub mod <name>` text. `weights` are ("<layer>/<weight>", float32 array) pairs in
    `model.weights` order; `input_docs`, if given, replace the X<i> doc comments; `note` is appended to the module's doc
    comment."""
    input_shapes = [tuple(int(d) for d in inp.shape[1:]) for inp in model.inputs]
    output_shape = tuple(int(d) for d in model.outputs[0].shape[1:])
    flat = np.concatenate([w.reshape(-1) for _, w in weights]) if weights else np.zeros(0, np.float32)
    assert flat.dtype == np.float32

    # `model.operations`: the layers, and the operations a functional model applies to tensors
    # (`keras.activations.gelu(x)`), which nn runs as layers; the same as `model.layers` without.
    # Not the operations computing a mask (`NotEqual`, `Any`, ...), which nn computes by its rules.
    names = [op.name for op in getattr(model, "operations", model.layers) if not is_mask_op(op)]
    layers_doc = (
        "/// `model.layers` names in order (no InputLayer for Sequential).\n"
        if isinstance(model, keras.Sequential)
        else "/// `model.layers` names in order (the InputLayers included: functional model).\n"
    )
    if names != [layer.name for layer in model.layers]:
        layers_doc = "/// `model.operations` names in order: the layers and the operations applied to tensors.\n"
    quoted = [f'"{n}"' for n in names]
    layers_line = f"pub const LAYERS: &[&str] = &[{', '.join(quoted)}];\n"
    if len(layers_line) > BODY_WIDTH + 1:
        layers_line = "pub const LAYERS: &[&str] = &[\n" + "".join(f"    {q},\n" for q in quoted) + "];\n"
    weight_entries = [f'("{n}", {usize_list(w.shape)})' for n, w in weights]
    weights_line = "pub const WEIGHTS: &[(&str, &[usize])] = &[" + ", ".join(weight_entries) + "];\n"
    if len(weights_line) > BODY_WIDTH + 1:
        weights_line = (
            "pub const WEIGHTS: &[(&str, &[usize])] = &[\n"
            + "".join(f"    {e},\n" for e in weight_entries)
            + "];\n"
        )
    parts = [
        "/// Model input shapes without the batch axis, one per input.\n"
        f"pub const INPUT_SHAPES: &[&[usize]] = &[{', '.join(usize_list(s) for s in input_shapes)}];\n",
        "/// Model output shape without the batch axis.\n"
        f"pub const OUTPUT_SHAPE: &[usize] = {usize_list(output_shape)};\n",
        f"/// `model.count_params()`.\npub const PARAMS: usize = {model.count_params()};\n",
        "/// `sum(np.prod(w.shape) for w in model.trainable_weights)`.\n"
        f"pub const TRAINABLE_PARAMS: usize = {param_count(model.trainable_weights)};\n",
        "/// `sum(np.prod(w.shape) for w in model.non_trainable_weights)`.\n"
        f"pub const NON_TRAINABLE_PARAMS: usize = {param_count(model.non_trainable_weights)};\n",
        layers_doc + layers_line,
        '/// Every weight as ("<layer.name>/<weight name>", Keras shape), in `model.weights` order.\n'
        + weights_line,
        "/// Every weight flattened row-major and concatenated in `model.weights` order\n"
        "/// (`np.concatenate([w.flatten() for w in model.get_weights()])`); float32 values.\n"
        + f64_slice(flat, "", first="pub const FLAT_WEIGHTS: &[f64] = "),
    ]
    for i, (x, shape) in enumerate(zip(xs, input_shapes)):
        parts.append(
            samples_const(
                f"X{i}",
                input_docs[i]
                if input_docs is not None
                else f"Model input {i}, {N_SAMPLES} samples, each flattened row-major in Keras's shape "
                f"{shape}; float32-exact.",
                x,
            )
        )
    parts.append(
        samples_const(
            "Y",
            f"`model.predict` output, {N_SAMPLES} samples, each flattened row-major (shape "
            f"{output_shape}); float32 values printed as exact f64.",
            y,
        )
    )
    body = mf.indent("\n".join(parts))
    if with_summary:
        summary = mf.summary_text(model)
        if '"#' in summary:
            raise ValueError("summary would end the raw string literal")
        # A raw string, whose lines must not be indented.
        body += (
            "\n    /// `model.summary()` as Keras prints it (plain text, no ANSI codes; COLUMNS=120).\n"
            f'    pub const SUMMARY: &str = r#"{summary}"#;\n'
        )
    doc = doc_comment(f"Keras: `{src}`, seed {seed}." + (f" {note}" if note else ""), LINE_WIDTH)
    doc += doc_comment(
        f"Files: `tests/fixtures/keras/{subdir}/{name}.keras`, `.weights.h5`, `.safetensors`.",
        LINE_WIDTH,
    )
    return f"{doc}pub mod {name} {{\n{body}}}\n"


def main() -> int:
    assert keras.backend.backend() == "jax"
    assert keras.backend.floatx() == "float32"
    names = [name for name, _, _ in CASES]
    assert len(set(names)) == len(names)
    header = (
        f"// @generated by scripts/make_tensor_fixtures.py ({mf.versions()},\n"
        f"// safetensors {safetensors.__version__}, h5py {h5py.__version__}). Do not edit.\n"
        f"// Keras 3 tensor-layer models (JAX backend, CPU, float32, channels-last) saved to\n"
        f"// tests/fixtures/keras/{TENSOR_SUBDIR}/<case>.{{keras,weights.h5,safetensors}}; values are\n"
        "// exact f64 renderings of the float32 weights, inputs and `model.predict` outputs.\n\n"
    )
    assert WITH_SUMMARY <= set(names)
    write_cases(OUTPUT, TENSOR_DIR, header, names, lambda i: tensor_module(i, *CASES[i]))
    return 0


def write_cases(output, files_dir, header: str, names, module) -> None:
    """Writes `output`: `header` and every case's module (`module(i)` for case `i` of `names`),
    or with case names on the command line, only those cases, spliced into the existing file
    (each case seeded by its index as always): the other cases' files and values stay exactly
    as they were generated. The fixture scripts' shared `main`."""
    only = sys.argv[1:]
    unknown = set(only) - set(names)
    if unknown:
        raise SystemExit(f"unknown cases: {sorted(unknown)}")
    if only:
        text = output.read_text(encoding="utf-8")
        for i, name in enumerate(names):
            if name in only:
                text = splice_module(text, name, module(i))
        output.write_text(text, encoding="utf-8")
        print(f"updated {output} and {files_dir}/ with {', '.join(only)} ({mf.versions()})")
        return
    output.write_text(header + "\n".join(module(i) for i in range(len(names))), encoding="utf-8")
    print(f"wrote {output} and {files_dir}/ ({len(names)} cases; {mf.versions()})")


def splice_module(text: str, name: str, module: str) -> str:
    """`text` with case `name`'s module (its doc comment, `pub mod name {` to the closing `}`)
    replaced by `module`, or `module` appended if the case is new. (The other fixture scripts,
    which import this module, splice with it too.)"""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line == f"pub mod {name} {{"), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + module
    end = lines.index("}", start)
    while start > 0 and lines[start - 1].startswith("///"):
        start -= 1
    new = module.rstrip("\n").split("\n")
    return "\n".join(lines[:start] + new + lines[end + 1 :])


if __name__ == "__main__":
    sys.exit(main())
