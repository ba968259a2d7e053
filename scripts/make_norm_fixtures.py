"""Generate Keras reference fixtures for the `nn` crate's normalization, regularization,
preprocessing, advanced-activation and embedding layers.

Run from the repository root (same venv as scripts/make_fixtures.py):

    python3.11 -m venv .venv
    .venv/bin/pip install -r scripts/requirements.txt
    .venv/bin/python scripts/make_norm_fixtures.py [CASE ...]

With case names, only those cases are generated and spliced into the existing
tests/fixtures/norm_layers.rs (each case is seeded by its index in CASES, so a new case appended
to CASES leaves every other case's files and values untouched).

Writes (overwriting), in the format of scripts/make_tensor_fixtures.py (whose helpers it uses):

* tests/fixtures/norm_layers.rs -- one `pub mod <case>` per entry of CASES, to be `include!`d:
  INPUT_SHAPES, OUTPUT_SHAPE, PARAMS (`model.count_params()`), TRAINABLE_PARAMS and
  NON_TRAINABLE_PARAMS (`sum(np.prod(w.shape) for w in model.trainable_weights)`, and the same
  over `model.non_trainable_weights`), LAYERS, WEIGHTS, FLAT_WEIGHTS, the inputs X0 and the
  `model.predict` output Y (N_SAMPLES samples), and for the whole models in WITH_SUMMARY the
  `model.summary()` text SUMMARY.
* tests/fixtures/keras/norm/<case>.keras (pinned zip), <case>.weights.h5 and <case>.safetensors
  (every weight as "<layer.name>/<weight name>", Keras shape, float32, metadata
  {"format": "keras"}), each loaded back and checked. The one integer weight, Normalization's
  `count` (an int32 scalar in Keras; `adapt` leaves it at 0), is stored as float32 in the
  .safetensors file and in FLAT_WEIGHTS; the .keras and .weights.h5 files keep Keras's int32.

Seeding: `keras.utils.set_random_seed(seed)` before building (seed = SEED_BASE + the case's
index in CASES, or the index SEED_INDEX fixes for it), default initializers; then, from `np.random.default_rng(seed)`:

1. for a case in ADAPT, the data every weight-carrying Normalization layer is adapted on
   (`layer.adapt(data)`): ADAPT_SAMPLES samples of the model's input shape, 1 + 2 * N(0, 1)
   rounded to multiples of 1/32; those layers' weights are left as `adapt` set them;
2. every other weight, in `model.weights` order (see `overwrite_weights`): gamma (and
   RMSNormalization's scale) 1 + 0.3 * N(0, 1), beta and bias 0.5 * N(0, 1), moving_mean
   0.5 * N(0, 1), moving_variance U(0.5, 2.0), PReLU alpha 0.25 + 0.2 * N(0, 1); Dense/Conv
   kernels and Embedding embeddings keep their Keras initialisation;
3. the inputs: N(0, 1) rounded to multiples of 1/32 and clipped to [-3, 3] (so exact in
   float32), or, for an integer (Embedding) input, ids drawn uniformly from [0, input_dim),
   fed to `model.predict` as float32 arrays holding integers (the model Input is int32; feeding
   int32 is checked to give the same output).

Deterministic: re-running gives identical files.
"""

import sys

# Sets KERAS_BACKEND=jax, JAX_PLATFORMS=cpu, COLUMNS=120 before Keras is imported.
import make_fixtures as mf  # noqa: I001
import make_tensor_fixtures as tf

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import safetensors  # noqa: E402

NORM_SUBDIR = "norm"  # under make_fixtures.KERAS_DIR
NORM_DIR = mf.KERAS_DIR / NORM_SUBDIR
OUTPUT = mf.FIXTURES / "norm_layers.rs"

SEED_BASE = 3000
ADAPT_SAMPLES = 20

# Whole models, with a SUMMARY constant.
WITH_SUMMARY = {"dropout_mlp", "leaky_relu_mlp", "residual_layer_norm", "embedding_text", "dense_bn_mlp", "identity", "random_augmentations", "random_image_layers", "category_encoding", "mix_layers"}

# Cases whose Normalization layers are adapted (step 1 in the module docstring).
ADAPT = {
    "normalization_adapted",
    "normalization_axis_none",
    "normalization_two_axes",
    "normalization_steps",
    "normalization_middle_axes",
    "normalization_axes_apart",
}

seq = tf.seq

# (case name, model source, expected `model.layers` names), as in make_tensor_fixtures.CASES.
CASES = [
    # BatchNormalization (inference: moving statistics).
    ("batch_norm_dense", seq("Input((6,))", "Dense(5)", "BatchNormalization()"), ["dense", "batch_normalization"]),
    (
        "batch_norm_conv2d",
        seq("Input((5, 6, 2))", "Conv2D(4, 3)", "BatchNormalization(epsilon=1e-2)"),
        ["conv2d", "batch_normalization"],
    ),
    (
        "batch_norm_no_center_scale",
        seq("Input((5, 4))", "BatchNormalization(center=False, scale=False)"),
        ["batch_normalization"],
    ),
    (
        "batch_norm_only_scale",
        seq("Input((4, 5, 3))", "BatchNormalization(center=False)"),
        ["batch_normalization"],
    ),
    # LayerNormalization.
    (
        "layer_norm_vector",
        seq("Input((6,))", "Dense(8)", "LayerNormalization()"),
        ["dense", "layer_normalization"],
    ),
    ("layer_norm_sequence", seq("Input((5, 4))", "LayerNormalization(epsilon=1e-5)"), ["layer_normalization"]),
    (
        "layer_norm_no_center_scale",
        seq("Input((5, 4))", "LayerNormalization(center=False, scale=False)"),
        ["layer_normalization"],
    ),
    ("layer_norm_rms", seq("Input((4, 5, 3))", "LayerNormalization(rms_scaling=True)"), ["layer_normalization"]),
    # GroupNormalization.
    ("group_norm_image", seq("Input((4, 5, 6))", "GroupNormalization(groups=3)"), ["group_normalization"]),
    (
        "group_norm_sequence",
        seq("Input((5, 4))", "GroupNormalization(groups=2, center=False)"),
        ["group_normalization"],
    ),
    ("group_norm_instance", seq("Input((4, 5, 3))", "GroupNormalization(groups=-1)"), ["group_normalization"]),
    # Regularization layers: the identity at inference.
    (
        "dropouts",
        seq(
            "Input((5, 4))",
            "Dropout(0.5)",
            "SpatialDropout1D(0.3)",
            "GaussianNoise(0.1)",
            "GaussianDropout(0.2)",
            "AlphaDropout(0.1)",
            "ActivityRegularization(l1=0.01, l2=0.01)",
            "Dense(3)",
        ),
        [
            "dropout", "spatial_dropout1d", "gaussian_noise", "gaussian_dropout", "alpha_dropout",
            "activity_regularization", "dense",
        ],
    ),
    (
        "spatial_dropout2d",
        seq("Input((4, 5, 3))", "SpatialDropout2D(0.4)", "Conv2D(2, 2)"),
        ["spatial_dropout2d", "conv2d"],
    ),
    # Preprocessing.
    ("rescaling", seq("Input((4, 5, 3))", "Rescaling(1/127.5, offset=-1)"), ["rescaling"]),
    (
        "normalization_config",
        seq("Input((5, 3))", "Normalization(mean=[0.5, -1.0, 2.0], variance=[4.0, 0.25, 1.0])"),
        ["normalization"],
    ),
    ("normalization_scalar", seq("Input((6,))", "Normalization(mean=3.0, variance=2.0)"), ["normalization"]),
    ("normalization_adapted", seq("Input((5, 3))", "Normalization()"), ["normalization"]),
    (
        "normalization_invert",
        seq("Input((6,))", "Normalization(mean=1.0, variance=4.0, invert=True)"),
        ["normalization"],
    ),
    # Advanced activation layers.
    (
        "relu_options",
        seq("Input((8,))", "ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2)"),
        ["re_lu"],
    ),
    ("relu_plain", seq("Input((5, 4))", "ReLU()"), ["re_lu"]),
    ("leaky_relu_layer", seq("Input((6,))", "LeakyReLU()"), ["leaky_re_lu"]),
    ("leaky_relu_slope", seq("Input((5, 4))", "LeakyReLU(negative_slope=0.05)"), ["leaky_re_lu"]),
    ("elu_layer", seq("Input((6,))", "ELU(alpha=0.7)"), ["elu"]),
    ("softmax_last", seq("Input((5, 4))", "Softmax()"), ["softmax"]),
    ("softmax_axis1", seq("Input((5, 4))", "Softmax(axis=1)"), ["softmax"]),
    ("prelu_vector", seq("Input((6,))", "PReLU()"), ["p_re_lu"]),
    ("prelu_shared", seq("Input((4, 5, 3))", "PReLU(shared_axes=[1, 2])"), ["p_re_lu"]),
    ("prelu_sequence_shared", seq("Input((5, 4))", "PReLU(shared_axes=[1])"), ["p_re_lu"]),
    # Embedding.
    ("embedding", seq('Input((7,), dtype="int32")', "Embedding(20, 4)"), ["embedding"]),
    # Whole models.
    (
        "dropout_mlp",
        seq(
            "Input((20,))",
            'Dense(32, activation="relu")',
            "Dropout(0.3)",
            'Dense(16, activation="relu")',
            "Dropout(0.3)",
            'Dense(4, activation="softmax")',
        ),
        ["dense", "dropout", "dense_1", "dropout_1", "dense_2"],
    ),
    (
        "leaky_relu_mlp",
        seq(
            "Input((10,))",
            "Dense(16)",
            "LeakyReLU()",
            "Dense(16)",
            "LeakyReLU(negative_slope=0.1)",
            "Dense(2)",
        ),
        ["dense", "leaky_re_lu", "dense_1", "leaky_re_lu_1", "dense_2"],
    ),
    (
        "residual_layer_norm",
        "x = Input((6, 8)); h = Dense(8)(x); h = LayerNormalization()(h); "
        'h = Activation("relu")(h); h = Dense(8)(h); y = Add()([x, h]); '
        "y = LayerNormalization()(y); Model(x, y)",
        [
            "input_layer", "dense", "layer_normalization", "activation", "dense_1", "add",
            "layer_normalization_1",
        ],
    ),
    (
        "embedding_text",
        seq(
            'Input((12,), dtype="int32")',
            "Embedding(50, 8)",
            "GlobalAveragePooling1D()",
            'Dense(4, activation="softmax")',
        ),
        ["embedding", "global_average_pooling1d", "dense"],
    ),
    (
        "dense_bn_mlp",
        seq(
            "Input((16,))",
            "Dense(64)",
            "BatchNormalization()",
            'Activation("relu")',
            "Dense(64)",
            "BatchNormalization()",
            'Activation("relu")',
            "Dense(8)",
        ),
        [
            "dense", "batch_normalization", "activation", "dense_1", "batch_normalization_1",
            "activation_1", "dense_2",
        ],
    ),
    # Options that matter only while training, which `keras_model!` must carry: a noise shape
    # with `None` (a list holding null in the config) and a momentum.
    (
        "training_options",
        seq(
            "Input((5, 4))",
            "Dropout(0.5, noise_shape=(None, 1, 4))",
            "AlphaDropout(0.2, noise_shape=(None, 5, 1))",
            "BatchNormalization(momentum=0.8)",
            "Dense(3)",
        ),
        ["dropout", "alpha_dropout", "batch_normalization", "dense"],
    ),
    # UnitNormalization: no weights; the last axis by default and by number.
    ("unit_norm_vector", seq("Input((6,))", "Dense(8)", "UnitNormalization()"), ["dense", "unit_normalization"]),
    ("unit_norm_image", seq("Input((4, 5, 3))", "UnitNormalization(axis=3)"), ["unit_normalization"]),
    # RMSNormalization: a scale weight, Keras's epsilon and another; its config saves `axis` as a
    # list.
    ("rms_norm_vector", seq("Input((6,))", "Dense(8)", "RMSNormalization()"), ["dense", "rms_normalization"]),
    (
        "rms_norm_sequence",
        seq("Input((5, 4))", "RMSNormalization(axis=2, epsilon=1e-3)"),
        ["rms_normalization"],
    ),
    # Identity: the input unchanged, in a model whose summary is checked.
    (
        "identity",
        seq("Input((5, 4))", "Identity()", "Dense(3)", "Identity()"),
        ["identity", "dense", "identity_1"],
    ),
    # Random image augmentations: the identity at inference (`training=False`), options and all.
    (
        "random_augmentations",
        seq(
            "Input((6, 5, 3))",
            'RandomFlip("horizontal", seed=3)',
            'RandomRotation((-0.2, 0.3), fill_mode="constant", interpolation="nearest", fill_value=1.0)',
            "RandomZoom(0.1, (-0.2, 0.1))",
            'RandomTranslation(0.1, 0.2, fill_mode="wrap")',
            "RandomContrast(0.3, value_range=(0, 1))",
            "RandomBrightness(0.2, value_range=(-3, 3))",
            "Conv2D(2, 3)",
        ),
        [
            "random_flip",
            "random_rotation",
            "random_zoom",
            "random_translation",
            "random_contrast",
            "random_brightness",
            "conv2d",
        ],
    ),
    # CategoryEncoding: ids in; each mode, and one_hot on a single id (Keras drops its axis).
    (
        "category_encoding",
        seq('Input((6,), dtype="int32")', "CategoryEncoding(5)", "Dense(3)"),
        ["category_encoding", "dense"],
    ),
    (
        "category_encoding_count",
        seq('Input((8,), dtype="int32")', 'CategoryEncoding(4, output_mode="count")'),
        ["category_encoding"],
    ),
    (
        "category_encoding_one_hot",
        seq('Input((5,), dtype="int32")', 'CategoryEncoding(6, output_mode="one_hot")', "Dense(2)"),
        ["category_encoding", "dense"],
    ),
    (
        "category_encoding_one_id",
        seq('Input((1,), dtype="int32")', 'CategoryEncoding(7, output_mode="one_hot")'),
        ["category_encoding"],
    ),
    # RandomHue first: RandomColorJitter holds a RandomHue, which takes the next name. No
    # RandomShear: Keras 3.15 cannot load its own saved config (it writes `x_factor` as
    # (-f, f), which its constructor rejects).
    (
        "random_image_layers",
        seq(
            "Input((5, 4, 3))",
            "RandomHue(0.2)",
            "RandomColorDegeneration(0.4)",
            "RandomColorJitter(value_range=(0, 1), brightness_factor=0.2, hue_factor=0.1)",
            'RandomElasticTransform(0.5, scale=0.2, fill_mode="mirror")',
            "RandomErasing(0.3, scale=(0.1, 0.2), fill_value=0.5)",
            "RandomGaussianBlur(0.5, kernel_size=3, sigma=(0.5, 1.0))",
            "RandomGrayscale(0.3)",
            "RandomInvert(0.5, value_range=(0, 1))",
            'RandomPerspective(0.4, scale=0.5, interpolation="nearest")',
            "RandomPosterization((1, 4))",
            "RandomSaturation((0.2, 0.8))",
            "RandomSharpness(0.3)",
            "Dense(2)",
        ),
        [
            "random_hue",
            "random_color_degeneration",
            "random_color_jitter",
            "random_elastic_transform",
            "random_erasing",
            "random_gaussian_blur",
            "random_grayscale",
            "random_invert",
            "random_perspective",
            "random_posterization",
            "random_saturation",
            "random_sharpness",
            "dense",
        ],
    ),
    # The non-`Random*` augmentations of the same folder: the identity at inference too (Solarization
    # first: RandAugment holds one, which takes the next name). Not
    # Equalization: its symbolic call returns its input tensor itself, and Keras 3.15.1 refuses the
    # model as a cycle.
    (
        "mix_layers",
        seq(
            "Input((6, 5, 3))",
            "Solarization(0.2, 0.3, value_range=(0, 1))",
            "AugMix(value_range=(0, 1), num_chains=2, seed=1)",
            "CutMix(0.5, seed=2)",
            "MixUp(0.3)",
            "RandAugment(value_range=(0, 1), num_ops=1, factor=0.4)",
            "Dense(2)",
        ),
        ["solarization", "aug_mix", "cut_mix", "mix_up", "rand_augment", "dense"],
    ),
    # LayerNormalization, UnitNormalization and RMSNormalization over their last axes together.
    ("layer_norm_two_axes", seq("Input((4, 3))", "LayerNormalization(axis=[-2, -1])"), ["layer_normalization"]),
    ("layer_norm_image_axes", seq("Input((3, 2, 4))", "LayerNormalization(axis=[2, 3])"), ["layer_normalization"]),
    (
        "layer_norm_all_rms",
        seq("Input((3, 2, 4))", "LayerNormalization(axis=[1, 2, 3], rms_scaling=True)"),
        ["layer_normalization"],
    ),
    ("unit_norm_two_axes", seq("Input((3, 4))", "UnitNormalization(axis=[1, 2])"), ["unit_normalization"]),
    ("rms_norm_two_axes", seq("Input((2, 5))", "RMSNormalization(axis=[-2, -1])"), ["rms_normalization"]),
    # BatchNormalization over another axis than the last: per step, and a channels-first image.
    ("batch_norm_axis1_sequence", seq("Input((4, 3))", "BatchNormalization(axis=1)"), ["batch_normalization"]),
    ("batch_norm_channels_first", seq("Input((3, 4, 5))", "BatchNormalization(axis=1)"), ["batch_normalization"]),
    (
        "batch_norm_axis_minus2",
        seq("Input((3, 4, 5))", "BatchNormalization(axis=-2, center=False)"),
        ["batch_normalization"],
    ),
    # Normalization keeping other axes than the last: none (axis=None) or the last two.
    ("normalization_axis_none", seq("Input((3, 4))", "Normalization(axis=None)"), ["normalization"]),
    ("normalization_two_axes", seq("Input((3, 4))", "Normalization(axis=(-2, -1))"), ["normalization"]),
    (
        "normalization_none_config",
        seq("Input((5,))", "Normalization(axis=None, mean=2.0, variance=3.0)"),
        ["normalization"],
    ),
    # GroupNormalization over a channel axis other than the last (channels first).
    (
        "group_norm_channels_first",
        seq("Input((4, 3, 5))", "GroupNormalization(groups=2, axis=1)"),
        ["group_normalization"],
    ),
    # Normalization keeping statistics per step, and per position of a volume's middle axes.
    ("normalization_steps", seq("Input((5, 3))", "Normalization(axis=1)"), ["normalization"]),
    ("normalization_middle_axes", seq("Input((2, 3, 4, 2))", "Normalization(axis=(2, 3))"), ["normalization"]),
    # LayerNormalization over axes before the last: a sequence's steps, and a volume's middle axes
    # with `rms_scaling`.
    (
        "layer_norm_steps",
        seq("Input((5, 3))", "LayerNormalization(axis=1, beta_initializer='random_normal', "
            "gamma_initializer='random_normal')"),
        ["layer_normalization"],
    ),
    (
        "layer_norm_middle_axes",
        seq("Input((2, 3, 4, 2))", "LayerNormalization(axis=(2, 3), rms_scaling=True, "
            "gamma_initializer='random_normal')"),
        ["layer_normalization"],
    ),
    # UnitNormalization over axes before the last. (Keras's RMSNormalization takes only the
    # last axes: its scale broadcasts against them.)
    (
        "unit_norm_inner_axes",
        seq("Input((3, 4, 2))", "UnitNormalization(axis=1)", "UnitNormalization(axis=(1, 2))"),
        ["unit_normalization", "unit_normalization_1"],
    ),
    # Axes apart: LayerNormalization, UnitNormalization and Normalization over axes 1 and 3.
    (
        "layer_norm_axes_apart",
        seq("Input((3, 2, 4))", "LayerNormalization(axis=(1, 3), beta_initializer='random_normal', "
            "gamma_initializer='random_normal')", "UnitNormalization(axis=(1, 3))"),
        ["layer_normalization", "unit_normalization"],
    ),
    ("normalization_axes_apart", seq("Input((3, 2, 4))", "Normalization(axis=(1, 3))"), ["normalization"]),
]


# Two changes appended cases at the same time, each after the first 35: the second's were
# generated at indices 35 to 41, so their seeds keep those indices.
SEED_INDEX = {
    "identity": 35,
    "random_augmentations": 36,
    "category_encoding": 37,
    "category_encoding_count": 38,
    "category_encoding_one_hot": 39,
    "category_encoding_one_id": 40,
    "random_image_layers": 41,
}


def seed_index(index: int, name: str) -> int:
    """The index a case is seeded by: its place in CASES, unless SEED_INDEX fixes it."""
    return SEED_INDEX.get(name, index)


# ---------------------------------------------------------------- seeding


def normal(loc: float, scale: float):
    return lambda rng, shape: loc + scale * rng.normal(size=shape)


# Weight name -> how it is drawn from the case's Generator (step 2 in the module docstring).
DRAWS = {
    "gamma": normal(1.0, 0.3),
    "beta": normal(0.0, 0.5),
    "bias": normal(0.0, 0.5),
    "moving_mean": normal(0.0, 0.5),
    "moving_variance": lambda rng, shape: rng.uniform(0.5, 2.0, size=shape),
    "alpha": normal(0.25, 0.2),
    "scale": normal(1.0, 0.3),
}
# Weight names left as Keras initialised them.
KEEP = {"kernel", "embeddings"}


def adapt_normalizations(name: str, model, rng: np.random.Generator) -> set:
    """Adapt each weight-carrying Normalization layer on ADAPT_SAMPLES samples of the model's
    input shape (1 + 2 * N(0, 1), multiples of 1/32); returns the ids of their weights."""
    if len(model.inputs) != 1:
        raise AssertionError(f"{name}: ADAPT needs a single-input model")
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    adapted = set()
    for layer in model.layers:
        if isinstance(layer, keras.layers.Normalization) and layer.weights:
            data = np.round((1.0 + 2.0 * rng.normal(size=(ADAPT_SAMPLES, *shape))) * 32.0) / 32.0
            data = data.astype(np.float32)
            layer.adapt(data)
            adapted.update(id(w) for w in layer.weights)
    if not adapted:
        raise AssertionError(f"{name}: no Normalization layer to adapt")
    return adapted


def overwrite_weights(name: str, model, rng: np.random.Generator, skip: set) -> None:
    """Every weight not in `skip` (ids) and not in KEEP, in `model.weights` order, from DRAWS."""
    for w in model.weights:
        if id(w) in skip or w.name in KEEP:
            continue
        if w.name not in DRAWS:
            raise AssertionError(f"{name}: no rule for weight {w.path}")
        w.assign(np.asarray(DRAWS[w.name](rng, tuple(w.shape)), dtype=np.float32))


def seeded_model(name: str, src: str, seed: int, layer_names):
    """Build, check the layer names, adapt (ADAPT cases) and overwrite the weights; returns the
    model and the Generator, positioned for the inputs."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = tf.build_from_source(src)
    names = [layer.name for layer in model.layers]
    if names != layer_names:
        raise AssertionError(f"{name}: layer names {names}, expected {layer_names}")
    rng = np.random.default_rng(seed)
    skip = adapt_normalizations(name, model, rng) if name in ADAPT else set()
    overwrite_weights(name, model, rng, skip)
    return model, rng


def embedding_input_dim(name: str, model) -> int:
    dims = [layer.input_dim for layer in model.layers if isinstance(layer, keras.layers.Embedding)]
    dims += [layer.num_tokens for layer in model.layers if isinstance(layer, keras.layers.CategoryEncoding)]
    if len(dims) != 1:
        raise AssertionError(f"{name}: expected one Embedding or CategoryEncoding layer for the integer input")
    return dims[0]


def case_inputs(name: str, model, rng: np.random.Generator):
    """The inputs (step 3 in the module docstring) and their doc comments."""
    xs, docs = [], []
    for i, inp in enumerate(model.inputs):
        shape = tuple(int(d) for d in inp.shape[1:])
        if "int" in str(inp.dtype):
            dim = embedding_input_dim(name, model)
            xs.append(rng.integers(0, dim, size=(tf.N_SAMPLES, *shape)).astype(np.float32))
            docs.append(
                f"Model input {i} (an {inp.dtype} Input), {tf.N_SAMPLES} samples of ids drawn uniformly "
                f"from [0, {dim}), each flattened row-major in Keras's shape {shape}; fed to "
                "`model.predict` as float32 holding integers."
            )
        elif str(inp.dtype) == "float32":
            xs.append(tf.tensor_inputs(rng, shape))
            docs.append(
                f"Model input {i}, {tf.N_SAMPLES} samples, each flattened row-major in Keras's shape "
                f"{shape}; float32-exact."
            )
        else:
            raise TypeError(f"{name}: input {i} is {inp.dtype}")
    return xs, docs


# ---------------------------------------------------------------- cases


def as_float32(name: str, wname: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.float32:
        return arr
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name}: {wname} is {arr.dtype}")
    out = arr.astype(np.float32)
    if not np.array_equal(out.astype(arr.dtype), arr):
        raise ValueError(f"{name}: {wname} is not exact in float32")
    return out


def norm_module(index: int, name: str, src: str, layer_names) -> str:
    seed = SEED_BASE + index
    model, rng = seeded_model(name, src, seed, layer_names)
    xs, input_docs = case_inputs(name, model, rng)

    weights, integer = [], []
    for wname, w in zip(mf.weight_names(model), model.weights):
        arr = np.asarray(w.numpy())
        if arr.dtype != np.float32:
            integer.append(f"`{wname}` ({arr.dtype})")
        weights.append((wname, as_float32(name, wname, arr)))
    got = model.get_weights()
    if len(got) != len(weights) or not all(np.array_equal(a, w) for a, (_, w) in zip(got, weights)):
        raise AssertionError(f"{name}: get_weights() and model.weights disagree")
    params = model.count_params()
    trainable = tf.param_count(model.trainable_weights)
    non_trainable = tf.param_count(model.non_trainable_weights)
    if sum(w.size for _, w in weights) != params or trainable + non_trainable != params:
        raise AssertionError(f"{name}: count_params() is not the number of weights")
    for wname, w in weights:
        # Keras's `adapt` never updates Normalization's `count` (kept for old saved models).
        trivial_ok = name in ADAPT and wname.endswith("/count")
        if not np.all(np.isfinite(w)) or not (trivial_ok or np.any(w != 0.0)):
            raise AssertionError(f"{name}: {wname} is all zero or non-finite")

    y = tf.checked_predict(name, model, xs)
    if any(x.dtype != np.float32 for x in xs):
        raise AssertionError(f"{name}: inputs must be float32")
    ints = [x.astype(np.int32) if "int" in str(inp.dtype) else x for x, inp in zip(xs, model.inputs)]
    if any(x is not i for x, i in zip(xs, ints)):
        y_int = model.predict(ints if len(ints) > 1 else ints[0], verbose=0)
        if not np.array_equal(y, y_int):
            raise AssertionError(f"{name}: float32 and int32 ids predict differently")
    tf.save_files(name, model, weights, xs, y, subdir=NORM_SUBDIR)

    notes = []
    if name in ADAPT:
        notes.append(
            f"Then `adapt` on {ADAPT_SAMPLES} samples of 1 + 2 * N(0, 1) (multiples of 1/32) from the "
            "seed's Generator; the adapted weights are as Keras computed them."
        )
    if integer:
        notes.append(
            f"Integer weights stored as float32 in FLAT_WEIGHTS and the .safetensors file: {', '.join(integer)}."
        )
    return tf.render_module(
        name,
        src,
        seed,
        model,
        weights,
        xs,
        y,
        subdir=NORM_SUBDIR,
        with_summary=name in WITH_SUMMARY,
        input_docs=input_docs,
        note=" ".join(notes),
    )


def main() -> int:
    assert keras.backend.backend() == "jax"
    assert keras.backend.floatx() == "float32"
    names = [name for name, _, _ in CASES]
    assert len(set(names)) == len(names)
    assert WITH_SUMMARY <= set(names) and ADAPT <= set(names)
    header = (
        f"// @generated by scripts/make_norm_fixtures.py ({mf.versions()},\n"
        f"// safetensors {safetensors.__version__}, h5py {h5py.__version__}). Do not edit.\n"
        "// Keras 3 normalization, regularization, preprocessing, advanced-activation and embedding\n"
        "// models (JAX backend, CPU, float32, channels-last; `model.predict`, i.e. inference mode)\n"
        f"// saved to tests/fixtures/keras/{NORM_SUBDIR}/<case>.{{keras,weights.h5,safetensors}}; values\n"
        "// are exact f64 renderings of the float32 weights, inputs and `model.predict` outputs.\n\n"
    )
    tf.write_cases(OUTPUT, NORM_DIR, header, names, lambda i: norm_module(seed_index(i, names[i]), *CASES[i]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
