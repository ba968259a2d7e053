"""Generate Keras 3 *training* reference fixtures for the `nn` crate: weights after every
optimizer step of `model.fit`, the logs Keras reports, and evaluate / predict afterwards.

Run from the repository root (same venv as scripts/make_fixtures.py):

    python3.11 -m venv .venv
    .venv/bin/pip install -r scripts/requirements.txt
    .venv/bin/python scripts/make_train_fixtures.py [CASE ...]

With case names, only those cases are generated and spliced into the existing
tests/fixtures/train.rs (each case is seeded by its index in CASES, so a new case appended to
CASES leaves every other case's module untouched).

Writes (overwriting) tests/fixtures/train.rs: one `pub mod <case>` per entry of CASES, to be
`include!`d. Each module's doc comment quotes the model source, the `model.compile(...)` call
and the `model.fit(...)` call. Constants (all float values are exact f64 renderings of float32
values; "flat" means row-major in Keras's shape, samples concatenated):

* SEED (usize), INPUT_SHAPES and OUTPUT_SHAPES (`&[&[usize]]`, without the batch axis, one per
  model input / output), TARGET_SHAPES (`&[&[usize]]`, the shape of one target sample per
  output: `[]` for sparse class ids), LAYERS (`model.layers` names), WEIGHTS
  (`&[(&str, &[usize])]`: "<layer.name>/<weight name>" and shape, in `model.weights` order),
  TRAINABLE (`&[bool]`: per WEIGHTS entry, whether it is in `model.trainable_weights`);
* FLAT_WEIGHTS (`&[f64]`): the initial weights, `np.concatenate` of the flattened
  `model.get_weights()`;
* X, Y (`&[&[f64]]`): one flat array per model input / output with all SAMPLES samples (Y holds
  the targets; sparse class ids as floats, shape (N,)); X_VAL, Y_VAL likewise for the
  VAL_SAMPLES validation samples (VAL_SAMPLES = 0 and empty arrays when the case has none);
* SAMPLES, BATCH_SIZE, EPOCHS, STEPS_PER_EPOCH (usize);
* STEP_WEIGHTS (`&[&[f64]]`): the full flat weights (FLAT_WEIGHTS order, non-trainable ones
  such as BatchNormalization's moving statistics included) after each training step, all
  EPOCHS * STEPS_PER_EPOCH steps in order;
* BATCH_LOGS (`&[&[(&str, f64)]]`): per step, the logs `on_train_batch_end` receives (running
  means since the start of the epoch), keys sorted;
* EPOCH_LOGS (`&[&[(&str, f64)]]`): `History.history` per epoch (with the val_ entries when the
  case has validation data), keys sorted;
* EVALUATE (`&[(&str, f64)]`): `model.evaluate(X, Y, batch_size=BATCH_SIZE, return_dict=True)`
  after training, keys sorted;
* PREDICT (`&[&[f64]]`): `model.predict(X)` after training, one flat array per output.

Every case trains on `samples` samples (default 32) with batch size `batch_size` (default 8;
the last batch of an epoch holds the rest) for `epochs` (default 2) epochs; see DEFAULTS.

Procedure, per case (seed = SEED_BASE + the case's index in CASES):

1. `keras.utils.clear_session()`, `keras.utils.set_random_seed(seed)`, build the model from its
   source (default initializers), then every weight named "bias" is overwritten with
   0.5 * N(0, 1) from `rng = np.random.default_rng(seed)` (make_fixtures.seeded_model; so biases
   are non-zero); the layer names are checked.
2. Data, from the same `rng`, SAMPLES + VAL_SAMPLES samples (the first SAMPLES train, the rest
   validate): every float input N(0, 1) rounded to multiples of 1/32 and clipped to [-3, 3]
   (exact in float32); an integer (Embedding) input gets ids uniform in [0, input_dim) and then,
   per sample, one position (uniform) is overwritten with the id at another (uniform) position,
   so every sample repeats an id. Targets come from a random linear "teacher" so they are
   learnable: the features are the concatenated flattened float inputs (an id input
   contributes its bag-of-words counts / length); per output, z = features @ N(0, 1) of shape
   (features, k), each column standardized over all samples; then by the output's target kind:
   "onehot" one_hot(argmax z), "sparse" argmax z (fed to Keras as int32 of shape (N,)),
   "binary" z > median(z) (shape (N, 1)), "regression" z rounded to multiples of 1/32,
   "probs" float32 softmax(z); and "input" (an autoencoder's): the model's one float input
   itself, unchanged (the output must have the input's shape; no draw from `rng`).
3. `model.compile(...)` with the case's source; `model.fit(X, Y, batch_size=BATCH_SIZE,
   epochs=EPOCHS, shuffle=False, verbose=0, callbacks=[recorder])` (plus `validation_data` when
   the case has validation samples). The recorder's `on_train_batch_end` reads
   `self.model.get_weights()` and the logs. With the JAX backend, fit keeps the training state
   outside the variables during an epoch (keras/src/backend/jax/trainer.py) and only writes it
   back at the end of the epoch, but `Callback.model` calls `model.jax_state_sync()` on the JAX
   backend, so the recorder sees the weights after the step (fit then re-reads the state from
   the variables: the same values).
4. Checks: the weights after fit equal the last STEP_WEIGHTS; a second, identically seeded
   run whose callback never touches `self.model` (so no mid-epoch sync) ends with bit-identical
   weights and logs; a third, identically seeded and compiled model replays the batches with
   `train_on_batch` (step by step, same optimizer state) and must give the same weights after
   every step (to float32 precision; in practice bit-identical) and per-batch logs whose
   running means (Keras's Mean: float32 sum of value * batch size over the sum of batch sizes)
   match BATCH_LOGS; and the epoch logs' training entries equal the epoch's last BATCH_LOGS.
5. EVALUATE and PREDICT on the trained model.

JAX runs with `jax_enable_x64` off (make_fixtures.py turns it on for its float64 references;
it is turned off here before anything is traced), i.e. Keras's default configuration:
the optimizer's iteration counter is int32 and every computation is float32. (With X64 = True
the output was checked to be identical.)

Deterministic: re-running gives an identical file.
"""

import sys
import threading

# Sets KERAS_BACKEND=jax, JAX_PLATFORMS=cpu, COLUMNS=120 before Keras is imported.
import make_fixtures as mf  # noqa: I001
import make_tensor_fixtures as tf

import jax  # noqa: E402

# make_fixtures enables x64 for its float64 references; training runs in Keras's default
# configuration (see the module docstring).
X64 = False
jax.config.update("jax_enable_x64", X64)

import keras  # noqa: E402
import numpy as np  # noqa: E402

OUTPUT = mf.FIXTURES / "train.rs"

SEED_BASE = 4000
# Defaults; a case may override "samples", "batch_size", "epochs" (and sets "val").
DEFAULTS = dict(samples=32, batch_size=8, epochs=2, val=0)
INPUT_BOUND = 3.0
BODY_WIDTH = tf.BODY_WIDTH
LINE_WIDTH = tf.LINE_WIDTH

seq = tf.seq

MLP4 = "Input((4,))"

# One entry per case:
#   name: the `pub mod` name;
#   model: the model's Python source (make_tensor_fixtures.build_from_source: keras.layers.*,
#     Input, Sequential, Model in scope);
#   layers: the expected `model.layers` names (checked);
#   compile: the arguments of `model.compile(...)`, Python source with `keras` in scope;
#   targets: one target kind per model output (see the module docstring, step 2);
#   val: how many validation samples (default 0: no validation_data);
#   samples, batch_size, epochs: override DEFAULTS.
# Append new cases at the end: the seeds are SEED_BASE + the index in this list.
CASES = [
    dict(
        name="mlp_sgd_momentum",
        model=seq(MLP4, 'Dense(8, activation="relu")', 'Dense(3, activation="softmax")'),
        layers=["dense", "dense_1"],
        compile='optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9), '
        'loss="categorical_crossentropy", metrics=["accuracy"]',
        targets=["onehot"],
    ),
    dict(
        name="mlp_sgd_nesterov",
        model=seq(MLP4, 'Dense(8, activation="relu")', "Dense(3)"),
        layers=["dense", "dense_1"],
        compile="optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True), "
        "loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), "
        'metrics=["accuracy"]',
        targets=["onehot"],
    ),
    dict(
        name="mlp_adam_binary",
        model=seq(MLP4, 'Dense(8, activation="tanh")', 'Dense(1, activation="sigmoid")'),
        layers=["dense", "dense_1"],
        compile='optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy", '
        'metrics=["accuracy"]',
        targets=["binary"],
    ),
    dict(
        name="mlp_adamw_mse",
        model=seq(MLP4, 'Dense(8, activation="gelu")', "Dense(2)"),
        layers=["dense", "dense_1"],
        compile="optimizer=keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.01), "
        'loss="mse", metrics=["mae"]',
        targets=["regression"],
    ),
    dict(
        name="mlp_rmsprop_huber",
        model=seq(MLP4, 'Dense(8, activation="elu")', "Dense(2)"),
        layers=["dense", "dense_1"],
        compile="optimizer=keras.optimizers.RMSprop(learning_rate=0.005, momentum=0.5, centered=True), "
        "loss=keras.losses.Huber(delta=0.5)",
        targets=["regression"],
    ),
    dict(
        name="mlp_adam_amsgrad_sparse",
        model=seq(MLP4, 'Dense(8, activation="silu")', 'Dense(3, activation="softmax")'),
        layers=["dense", "dense_1"],
        compile="optimizer=keras.optimizers.Adam(learning_rate=0.01, amsgrad=True), "
        'loss="sparse_categorical_crossentropy", metrics=["accuracy"]',
        targets=["sparse"],
    ),
    dict(
        name="mlp_schedule_global_clipnorm",
        model=seq(MLP4, 'Dense(8, activation="relu")', "Dense(2)"),
        layers=["dense", "dense_1"],
        compile="optimizer=keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.ExponentialDecay("
        "0.1, decay_steps=2, decay_rate=0.5), global_clipnorm=0.5), loss=\"mse\"",
        targets=["regression"],
    ),
    dict(
        name="mlp_cosine_clipnorm",
        model=seq(MLP4, 'Dense(8, activation="relu")', "Dense(2)"),
        layers=["dense", "dense_1"],
        compile="optimizer=keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.CosineDecay("
        '0.01, decay_steps=6), clipnorm=0.1), loss="mean_absolute_error"',
        targets=["regression"],
    ),
    dict(
        name="mlp_frozen",
        model=seq(MLP4, 'Dense(8, activation="relu", name="frozen", trainable=False)', "Dense(1)"),
        layers=["frozen", "dense"],
        compile='optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse"',
        targets=["regression"],
    ),
    dict(
        name="functional_shared_two_outputs",
        model="a = Input((4,)); b = Input((4,)); "
        'shared = Dense(6, activation="relu", name="shared"); ha = shared(a); hb = shared(b); '
        "s = Subtract()([ha, hb]); m = Multiply()([ha, hb]); c = Concatenate()([s, m]); "
        'out1 = Dense(1, name="regress")(c); '
        'out2 = Dense(1, activation="sigmoid", name="classify")(Add()([ha, hb])); '
        "Model([a, b], [out1, out2])",
        layers=[
            "input_layer", "input_layer_1", "shared", "subtract", "multiply", "concatenate", "add",
            "regress", "classify",
        ],
        compile='optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=["mse", "binary_crossentropy"], '
        'loss_weights=[1.0, 0.5], metrics=[[], ["accuracy"]]',
        targets=["regression", "binary"],
    ),
    dict(
        name="residual_rmsprop",
        model='x = Input((6,)); h = Dense(6, activation="relu")(x); r = Add()([x, h]); '
        'y = Dense(2, activation="softmax")(Average()([r, Dense(6)(r)])); Model(x, y)',
        layers=["input_layer", "dense", "add", "dense_2", "average", "dense_1"],
        compile='optimizer=keras.optimizers.RMSprop(learning_rate=0.01), loss="categorical_crossentropy", '
        'metrics=["accuracy"]',
        targets=["onehot"],
        val=8,
    ),
    dict(
        name="kld_sgd",
        model=seq(MLP4, 'Dense(3, activation="softmax")'),
        layers=["dense"],
        compile="optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=keras.losses.KLDivergence()",
        targets=["probs"],
    ),
    dict(
        name="logcosh_adagrad",
        model=seq(MLP4, "Dense(2)"),
        layers=["dense"],
        compile='optimizer=keras.optimizers.Adagrad(learning_rate=0.1), loss="log_cosh"',
        targets=["regression"],
    ),
    # Later cases (layers whose backward passes come later).
    dict(
        name="cnn_bn_pool",
        model=seq(
            "Input((8, 8, 1))",
            'Conv2D(4, 3, padding="same")',
            "BatchNormalization()",
            "ReLU()",
            "MaxPooling2D(2)",
            "Conv2D(6, 3)",
            "GlobalAveragePooling2D()",
            'Dense(3, activation="softmax")',
        ),
        layers=[
            "conv2d", "batch_normalization", "re_lu", "max_pooling2d", "conv2d_1",
            "global_average_pooling2d", "dense",
        ],
        compile="optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9), "
        'loss="categorical_crossentropy", metrics=["accuracy"]',
        targets=["onehot"],
    ),
    dict(
        name="conv1d_causal_dilated",
        model=seq(
            "Input((16, 2))",
            'Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu")',
            'Conv1D(4, 3, padding="causal", dilation_rate=4)',
            "Flatten()",
            "Dense(1)",
        ),
        layers=["conv1d", "conv1d_1", "flatten", "dense"],
        compile='optimizer=keras.optimizers.Adam(learning_rate=0.005), loss="mse"',
        targets=["regression"],
    ),
    dict(
        name="embedding_text",
        model=seq(
            'Input((6,), dtype="int32")',
            "Embedding(20, 4)",
            "GlobalAveragePooling1D()",
            'Dense(1, activation="sigmoid")',
        ),
        layers=["embedding", "global_average_pooling1d", "dense"],
        compile='optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy", '
        'metrics=["accuracy"]',
        targets=["binary"],
    ),
    # A last batch smaller than the others: the logged running means weight each batch by
    # its size.
    dict(
        name="mlp_partial_batch",
        model=seq(MLP4, 'Dense(8, activation="relu")', 'Dense(3, activation="softmax")'),
        layers=["dense", "dense_1"],
        compile='optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="categorical_crossentropy", '
        'metrics=["accuracy"]',
        targets=["onehot"],
        samples=30,
    ),
    # RMSNormalization's scale trains; UnitNormalization passes gradients through its norm.
    dict(
        name="rms_unit_norm",
        model=seq(
            MLP4, "Dense(6)", "RMSNormalization()", 'Dense(6, activation="tanh")', "UnitNormalization()", "Dense(2)"
        ),
        layers=["dense", "rms_normalization", "dense_1", "unit_normalization", "dense_2"],
        compile='optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse"',
        targets=["regression"],
    ),
    # Strided convolutions down to 2 x 2 and transposed convolutions back up to 8 x 8: an
    # autoencoder, its targets its inputs.
    dict(
        name="conv_transpose_autoencoder",
        model=seq(
            "Input((8, 8, 1))",
            'Conv2D(4, 3, strides=2, padding="same", activation="relu")',
            'Conv2D(8, 3, strides=2, padding="same", activation="tanh")',
            'Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")',
            'Conv2DTranspose(4, 3, strides=2, padding="same", activation="tanh")',
            'Conv2D(1, 3, padding="same", activation="sigmoid")',
        ),
        layers=["conv2d", "conv2d_1", "conv2d_transpose", "conv2d_transpose_1", "conv2d_2"],
        compile='optimizer=keras.optimizers.Adam(learning_rate=0.005), loss="mse"',
        targets=["input"],
    ),
]

TARGET_KINDS = {"onehot", "sparse", "binary", "regression", "probs", "input"}


# ---------------------------------------------------------------- model, data


def build(case):
    """Step 1: the seeded model (make_fixtures.seeded_model) and the Generator after the biases."""
    return mf.seeded_model(
        case["name"], lambda: tf.build_from_source(case["model"]), case["seed"], case["layers"]
    )


def compile_model(case, model) -> None:
    """`model.compile(<case's compile source>)`, evaluated afresh (a new optimizer each time)."""
    exec(f"model.compile({case['compile']})", {"keras": keras, "model": model})


def embedding_input_dim(name: str, model) -> int:
    dims = [layer.input_dim for layer in model.layers if isinstance(layer, keras.layers.Embedding)]
    if len(dims) != 1:
        raise AssertionError(f"{name}: expected one Embedding layer for the integer input")
    return dims[0]


def make_data(case, model, rng: np.random.Generator):
    """Step 2 of the module docstring. Returns (xs, ys): xs the arrays fed to
    Keras (float32, or int32 for an integer Input), ys the targets fed to Keras, for all
    samples + val samples."""
    name = case["name"]
    total = case["samples"] + case["val"]
    xs, features = [], []
    for inp in model.inputs:
        shape = tuple(int(d) for d in inp.shape[1:])
        if "int" in str(inp.dtype):
            if len(shape) != 1:
                raise AssertionError(f"{name}: id inputs must be (steps,)")
            dim = embedding_input_dim(name, model)
            ids = rng.integers(0, dim, size=(total, *shape))
            for row in ids:
                dst, src = rng.choice(shape[0], size=2, replace=False)
                row[dst] = row[src]
            xs.append(ids.astype(np.int32))
            counts = np.zeros((total, dim))
            for i, row in enumerate(ids):
                np.add.at(counts[i], row, 1.0)
            features.append(counts / shape[0])
        elif str(inp.dtype) == "float32":
            x = np.clip(np.round(rng.normal(size=(total, *shape)) * 32.0) / 32.0, -INPUT_BOUND, INPUT_BOUND)
            x32 = x.astype(np.float32) + np.float32(0.0)  # no -0.0
            assert np.array_equal(x32.astype(np.float64), x)
            xs.append(x32)
            features.append(x.reshape(total, -1))
        else:
            raise TypeError(f"{name}: input dtype {inp.dtype}")
    feats = np.concatenate(features, axis=1)

    ys = []
    if len(case["targets"]) != len(model.outputs):
        raise AssertionError(f"{name}: one target kind per output")
    for kind, out in zip(case["targets"], model.outputs):
        shape = tuple(int(d) for d in out.shape[1:])
        if kind == "input":
            # An autoencoder's targets: its input, sample for sample.
            if len(xs) != 1 or xs[0].dtype != np.float32 or xs[0].shape[1:] != shape:
                raise AssertionError(f"{name}: input targets need one float input of the output's shape")
            ys.append(xs[0].copy())
            continue
        if kind not in TARGET_KINDS or len(shape) != 1:
            raise AssertionError(f"{name}: target {kind} for output shape {shape}")
        k = shape[0]
        cols = 1 if kind == "binary" else k
        z = feats @ rng.normal(size=(feats.shape[1], cols))
        z = (z - z.mean(axis=0)) / z.std(axis=0)
        if kind == "onehot":
            y = np.eye(k, dtype=np.float32)[np.argmax(z, axis=1)]
        elif kind == "sparse":
            y = np.argmax(z, axis=1).astype(np.int32)
        elif kind == "binary":
            if k != 1:
                raise AssertionError(f"{name}: binary targets need a (1,) output")
            y = (z > np.median(z)).astype(np.float32)
        elif kind == "regression":
            y = (np.round(z * 32.0) / 32.0).astype(np.float32) + np.float32(0.0)
        else:  # probs
            e = np.exp(z - z.max(axis=1, keepdims=True))
            y = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        ys.append(y)
    return xs, ys


def feed(arrays):
    return arrays if len(arrays) > 1 else arrays[0]


def split(arrays, lo, hi):
    return [a[lo:hi] for a in arrays]


def flat_weights(model) -> np.ndarray:
    ws = model.get_weights()
    for w in ws:
        if w.dtype != np.float32:
            raise TypeError(f"weight dtype {w.dtype}")
    return np.concatenate([w.reshape(-1) for w in ws])


def f32_logs(name: str, logs: dict) -> dict:
    """The logs as {key: float}, keys sorted; every value checked to be a float32 value."""
    out = {}
    for key in sorted(logs):
        v = float(np.asarray(logs[key]))
        if float(np.float32(v)) != v or not np.isfinite(v):
            raise AssertionError(f"{name}: log {key}={v!r} is not a finite float32 value")
        out[key] = v
    return out


class Recorder(keras.callbacks.Callback):
    """Records the flat weights (if `weights`) and the logs at every `on_train_batch_end`.

    Reading `self.model` is what syncs the JAX state into the variables (Callback.model); with
    `weights=False` the callback never reads it."""

    def __init__(self, name: str, weights: bool):
        super().__init__()
        self.name = name
        self.record_weights = weights
        self.steps = []
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        # Overriding on_train_batch_end makes CallbackList dispatch it synchronously (no
        # `async_safe`), i.e. between this step and the next.
        if threading.current_thread() is not threading.main_thread():
            raise AssertionError(f"{self.name}: callback dispatched asynchronously")
        if self.record_weights:
            self.steps.append(flat_weights(self.model))
        self.logs.append(f32_logs(self.name, logs))


def fit_call(case) -> str:
    val = ", validation_data=(X_VAL, Y_VAL)" if case["val"] else ""
    return (
        f"model.fit(X, Y, batch_size={case['batch_size']}, epochs={case['epochs']}, shuffle=False{val}, "
        "verbose=0, callbacks=[recorder])"
    )


def run_fit(case, record_weights: bool):
    """Steps 1-3: a fresh seeded model, its data, compile and fit. Returns everything needed."""
    name = case["name"]
    model, rng = build(case)
    xs, ys = make_data(case, model, rng)
    initial = flat_weights(model)
    compile_model(case, model)
    recorder = Recorder(name, record_weights)
    n = case["samples"]
    x, y = split(xs, 0, n), split(ys, 0, n)
    kwargs = {}
    if case["val"]:
        kwargs["validation_data"] = (feed(split(xs, n, None)), feed(split(ys, n, None)))
    history = model.fit(
        feed(x), feed(y), batch_size=case["batch_size"], epochs=case["epochs"], shuffle=False, verbose=0,
        callbacks=[recorder], **kwargs,
    )
    return model, xs, ys, initial, recorder, history


def replay_train_on_batch(case, initial, xs, ys):
    """Step 4's third model: the batches in fit's order through `train_on_batch`; returns the
    flat weights and the per-batch logs after each step."""
    model, _ = build(case)
    if not np.array_equal(flat_weights(model), initial):
        raise AssertionError(f"{case['name']}: the replay model starts from other weights")
    compile_model(case, model)
    n, b = case["samples"], case["batch_size"]
    steps, logs = [], []
    for _ in range(case["epochs"]):
        for lo in range(0, n, b):
            hi = min(lo + b, n)
            out = model.train_on_batch(feed(split(xs, lo, hi)), feed(split(ys, lo, hi)), return_dict=True)
            logs.append(f32_logs(case["name"], out))
            steps.append(flat_weights(model))
    return steps, logs


def close_f32(a, b) -> bool:
    """Equal to float32 precision (a few ulps)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return bool(np.all(np.abs(a - b) <= 4 * np.finfo(np.float32).eps * np.maximum(1.0, np.abs(b))))


def train_case(index: int, case) -> dict:
    case = dict(DEFAULTS, **case, seed=SEED_BASE + index)
    name = case["name"]
    n, b, epochs = case["samples"], case["batch_size"], case["epochs"]
    steps_per_epoch = -(-n // b)
    total_steps = epochs * steps_per_epoch
    batch_sizes = [min(b, n - lo) for lo in range(0, n, b)]

    model, xs, ys, initial, recorder, history = run_fit(case, record_weights=True)
    if len(recorder.steps) != total_steps or len(recorder.logs) != total_steps:
        raise AssertionError(f"{name}: {len(recorder.steps)} steps recorded, expected {total_steps}")
    final = flat_weights(model)
    if not np.array_equal(final, recorder.steps[-1]):
        raise AssertionError(f"{name}: weights after fit differ from the last step's")
    # (A step may leave the weights unchanged when its learning rate is 0, e.g. CosineDecay
    # past decay_steps; the first may not.)
    unchanged = [
        i for i, (a, b) in enumerate(zip([initial] + recorder.steps, recorder.steps)) if np.array_equal(a, b)
    ]
    if 0 in unchanged:
        raise AssertionError(f"{name}: the first step left the weights unchanged (stale weights?)")

    # Step 4: no mid-epoch sync -> the same run, bit for bit.
    model2, _, _, initial2, recorder2, history2 = run_fit(case, record_weights=False)
    if not (
        np.array_equal(initial2, initial)
        and np.array_equal(flat_weights(model2), final)
        and recorder2.logs == recorder.logs
        and history2.history == history.history
    ):
        raise AssertionError(f"{name}: syncing the state in the callback changed the run")

    # Step 4: train_on_batch replay.
    replay_steps, replay_logs = replay_train_on_batch(case, initial, xs, ys)
    bitwise = all(np.array_equal(a, b) for a, b in zip(replay_steps, recorder.steps))
    max_diff = max(float(np.max(np.abs(a - b))) for a, b in zip(replay_steps, recorder.steps))
    if not all(close_f32(a, b) for a, b in zip(replay_steps, recorder.steps)):
        raise AssertionError(f"{name}: train_on_batch replay differs from fit by {max_diff}")
    for epoch in range(epochs):
        batch_logs = replay_logs[epoch * steps_per_epoch : (epoch + 1) * steps_per_epoch]
        fit_logs = recorder.logs[epoch * steps_per_epoch : (epoch + 1) * steps_per_epoch]
        for step, logs in enumerate(fit_logs):
            if set(logs) != set(batch_logs[step]):
                raise AssertionError(f"{name}: log keys {sorted(logs)} vs {sorted(batch_logs[step])}")
            for key, value in logs.items():
                # Keras's Mean: float32 total of value * batch size over float32 count.
                total, count = np.float32(0.0), np.float32(0.0)
                for logs_b, size in zip(batch_logs[: step + 1], batch_sizes):
                    total = np.float32(total + np.float32(logs_b[key]) * np.float32(size))
                    count = np.float32(count + np.float32(size))
                if not close_f32(value, total / count):
                    raise AssertionError(f"{name}: {key} {value} vs replayed running mean {total / count}")

    epoch_logs = [
        {key: history.history[key][e] for key in sorted(history.history)} for e in range(epochs)
    ]
    epoch_logs = [f32_logs(name, logs) for logs in epoch_logs]
    for e in range(epochs):
        last = recorder.logs[(e + 1) * steps_per_epoch - 1]
        train_part = {k: v for k, v in epoch_logs[e].items() if not k.startswith("val_")}
        if train_part != last:
            raise AssertionError(f"{name}: epoch logs {train_part} vs last batch logs {last}")
        if case["val"] and not any(k.startswith("val_") for k in epoch_logs[e]):
            raise AssertionError(f"{name}: no validation logs")

    x, y = split(xs, 0, n), split(ys, 0, n)
    evaluate = f32_logs(name, model.evaluate(feed(x), feed(y), batch_size=b, return_dict=True, verbose=0))
    predict = model.predict(feed(x), verbose=0)
    predict = predict if isinstance(predict, (list, tuple)) else [predict]
    for p, out in zip(predict, model.outputs):
        if p.dtype != np.float32 or p.shape != (n, *out.shape[1:]) or not np.all(np.isfinite(p)):
            raise AssertionError(f"{name}: unexpected predict output {p.dtype} {p.shape}")
    if not np.array_equal(flat_weights(model), final):
        raise AssertionError(f"{name}: evaluate/predict changed the weights")

    print(
        f"{name}: {total_steps} steps, train_on_batch replay "
        + ("bit-identical" if bitwise else f"max |diff| {max_diff:.3g}")
        + (f"; steps leaving the weights unchanged: {unchanged}" if unchanged else "")
        + "; epoch loss " + " -> ".join(f"{logs['loss']:.4f}" for logs in epoch_logs),
        file=sys.stderr,
    )
    return dict(
        case=case,
        model=model,
        xs=xs,
        ys=ys,
        initial=initial,
        steps=recorder.steps,
        batch_logs=recorder.logs,
        epoch_logs=epoch_logs,
        evaluate=evaluate,
        predict=predict,
        steps_per_epoch=steps_per_epoch,
        bitwise=bitwise,
    )


# ---------------------------------------------------------------- Rust rendering


def shapes_const(name: str, doc: str, shapes) -> str:
    items = ", ".join(tf.usize_list(s) for s in shapes)
    return tf.doc_comment(doc) + f"pub const {name}: &[&[usize]] = &[{items}];\n"


def usize_const(name: str, doc: str, value: int) -> str:
    return tf.doc_comment(doc) + f"pub const {name}: usize = {value};\n"


def logs_entry(logs: dict) -> str:
    return "&[" + ", ".join(f'("{k}", {mf.lit(v)})' for k, v in logs.items()) + "]"


def logs_list_const(name: str, doc: str, entries) -> str:
    """`pub const NAME: &[&[(&str, f64)]]`, one logs dict per line (wrapped if too long)."""
    out = tf.doc_comment(doc) + f"pub const {name}: &[&[(&str, f64)]] = &[\n"
    for logs in entries:
        line = f"    {logs_entry(logs)},"
        if len(line) <= BODY_WIDTH:
            out += line + "\n"
        else:
            pairs = "".join(f'        ("{k}", {mf.lit(v)}),\n' for k, v in logs.items())
            out += f"    &[\n{pairs}    ],\n"
    return out + "];\n"


def logs_const(name: str, doc: str, logs: dict) -> str:
    out = tf.doc_comment(doc)
    line = f"pub const {name}: &[(&str, f64)] = {logs_entry(logs)};"
    if len(line) <= BODY_WIDTH:
        return out + line + "\n"
    return (
        out
        + f"pub const {name}: &[(&str, f64)] = &[\n"
        + "".join(f'    ("{k}", {mf.lit(v)}),\n' for k, v in logs.items())
        + "];\n"
    )


def flat_arrays_const(name: str, doc: str, arrays) -> str:
    """`pub const NAME: &[&[f64]]`, one flat array per entry (empty arrays allowed)."""
    flats = [np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays]
    if all(f.size == 0 for f in flats):
        return tf.doc_comment(doc) + f"pub const {name}: &[&[f64]] = &[{', '.join('&[]' for _ in flats)}];\n"
    return tf.samples_const(name, doc, flats)


def render_module(result) -> str:
    case, model = result["case"], result["model"]
    name = case["name"]
    val, n = case["val"], case["samples"]
    input_shapes = [tuple(int(d) for d in inp.shape[1:]) for inp in model.inputs]
    output_shapes = [tuple(int(d) for d in out.shape[1:]) for out in model.outputs]
    target_shapes = [tuple(y.shape[1:]) for y in result["ys"]]
    trainable_ids = {id(w) for w in model.trainable_weights}
    names = mf.weight_names(model)
    weights = list(zip(names, model.weights))
    flags = ", ".join("true" if id(w) in trainable_ids else "false" for _, w in weights)

    quoted = [f'"{n}"' for n in (layer.name for layer in model.layers)]
    layers_line = f"pub const LAYERS: &[&str] = &[{', '.join(quoted)}];\n"
    if len(layers_line) > BODY_WIDTH + 1:
        layers_line = "pub const LAYERS: &[&str] = &[\n" + "".join(f"    {q},\n" for q in quoted) + "];\n"
    weight_entries = [f'("{n}", {tf.usize_list(w.shape)})' for n, w in weights]
    weights_line = "pub const WEIGHTS: &[(&str, &[usize])] = &[" + ", ".join(weight_entries) + "];\n"
    if len(weights_line) > BODY_WIDTH + 1:
        weights_line = (
            "pub const WEIGHTS: &[(&str, &[usize])] = &[\n"
            + "".join(f"    {e},\n" for e in weight_entries)
            + "];\n"
        )
    trainable_line = f"pub const TRAINABLE: &[bool] = &[{flags}];\n"
    if len(trainable_line) > BODY_WIDTH + 1:
        trainable_line = "pub const TRAINABLE: &[bool] = &[\n" + "".join(
            f"    {f},\n" for f in flags.split(", ")
        ) + "];\n"

    xs, ys = result["xs"], result["ys"]
    has_ids = any("int" in str(i.dtype) for i in model.inputs)
    kinds = ", ".join(case["targets"])
    parts = [
        usize_const("SEED", "`keras.utils.set_random_seed` / `np.random.default_rng` seed.", case["seed"]),
        shapes_const(
            "INPUT_SHAPES", "Model input shapes without the batch axis, one per input.", input_shapes
        ),
        shapes_const(
            "OUTPUT_SHAPES", "Model output shapes without the batch axis, one per output.", output_shapes
        ),
        shapes_const(
            "TARGET_SHAPES",
            f"Shape of one target sample per output (target kinds: {kinds}; `[]`: a sparse class id).",
            target_shapes,
        ),
        (
            "/// `model.layers` names in order (no InputLayer for Sequential).\n"
            if isinstance(model, keras.Sequential)
            else "/// `model.layers` names in order (the InputLayers included: functional model).\n"
        )
        + layers_line,
        '/// Every weight as ("<layer.name>/<weight name>", Keras shape), in `model.weights` order.\n'
        + weights_line,
        "/// Per WEIGHTS entry: whether it is in `model.trainable_weights`.\n" + trainable_line,
        "/// Initial weights: every weight flattened row-major and concatenated in `model.weights`\n"
        "/// order (`np.concatenate([w.flatten() for w in model.get_weights()])`); float32 values.\n"
        + tf.f64_slice(result["initial"], "", first="pub const FLAT_WEIGHTS: &[f64] = "),
        usize_const("SAMPLES", "Training samples.", n),
        usize_const(
            "BATCH_SIZE",
            "`fit` / `evaluate` batch size (the last batch of an epoch holds the rest).",
            case["batch_size"],
        ),
        usize_const("EPOCHS", "`fit` epochs.", case["epochs"]),
        usize_const(
            "STEPS_PER_EPOCH",
            "Optimizer steps per epoch (ceil(SAMPLES / BATCH_SIZE)).",
            result["steps_per_epoch"],
        ),
        usize_const("VAL_SAMPLES", "Validation samples (`validation_data`; 0: none).", val),
        flat_arrays_const(
            "X",
            "Training inputs: one flat array per model input, the SAMPLES samples concatenated "
            "(row-major in Keras's (N, ...) shape); float32-exact"
            + ("; integer ids (an int32 Input) as floats." if has_ids else "."),
            split(xs, 0, n),
        ),
        flat_arrays_const(
            "Y",
            "Training targets: one flat array per model output, the SAMPLES samples concatenated "
            "(row-major, each sample of TARGET_SHAPES); float32 values (sparse class ids as floats).",
            split(ys, 0, n),
        ),
        flat_arrays_const(
            "X_VAL", "Validation inputs, as X (empty when VAL_SAMPLES is 0).", split(xs, n, None)
        ),
        flat_arrays_const(
            "Y_VAL", "Validation targets, as Y (empty when VAL_SAMPLES is 0).", split(ys, n, None)
        ),
        tf.samples_const(
            "STEP_WEIGHTS",
            "The full flat weights (FLAT_WEIGHTS order, non-trainable weights included) after each "
            "training step of `fit`, EPOCHS * STEPS_PER_EPOCH steps in order; float32 values.",
            result["steps"],
        ),
        logs_list_const(
            "BATCH_LOGS",
            "Per step, the logs `on_train_batch_end` receives: running means since the start of "
            "the epoch (Keras's Mean metrics), keys sorted; float32 values.",
            result["batch_logs"],
        ),
        logs_list_const(
            "EPOCH_LOGS",
            "`History.history` per epoch (with the val_ entries when VAL_SAMPLES > 0), keys sorted.",
            result["epoch_logs"],
        ),
        logs_const(
            "EVALUATE",
            "`model.evaluate(X, Y, batch_size=BATCH_SIZE, return_dict=True)` after training, keys sorted.",
            result["evaluate"],
        ),
        flat_arrays_const(
            "PREDICT",
            "`model.predict(X)` after training: one flat array per output (SAMPLES samples "
            "concatenated, row-major); float32 values.",
            result["predict"],
        ),
    ]
    body = mf.indent("\n".join(parts))
    doc = tf.doc_comment(f"Keras model (seed {case['seed']}): `{case['model']}`", LINE_WIDTH)
    doc += "///\n" + tf.doc_comment(f"`model.compile({case['compile']})`", LINE_WIDTH)
    doc += "///\n" + tf.doc_comment(
        f"`{fit_call(case)}`: X, Y are lists when the model has several inputs / outputs; "
        f"targets: {kinds}; `recorder` reads `self.model.get_weights()` and the logs in "
        "`on_train_batch_end` (scripts/make_train_fixtures.py).",
        LINE_WIDTH,
    )
    return f"{doc}pub mod {name} {{\n{body}}}\n"


def main() -> int:
    assert keras.backend.backend() == "jax"
    assert keras.backend.floatx() == "float32"
    assert jax.config.jax_enable_x64 == X64
    names = [case["name"] for case in CASES]
    assert len(set(names)) == len(names)
    only = sys.argv[1:]
    unknown = set(only) - set(names)
    if unknown:
        raise SystemExit(f"unknown cases: {sorted(unknown)}")
    if only:
        # Only the named cases (seeded by their index as always), spliced into the existing file:
        # the other cases' modules stay exactly as they were generated.
        text = OUTPUT.read_text(encoding="utf-8")
        for i, case in enumerate(CASES):
            if case["name"] in only:
                text = tf.splice_module(text, case["name"], render_module(train_case(i, case)))
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"updated {OUTPUT} with {', '.join(only)} ({mf.versions()})")
        return 0
    results = [train_case(i, case) for i, case in enumerate(CASES)]
    header = (
        f"// @generated by scripts/make_train_fixtures.py ({mf.versions()}).\n"
        "// Do not edit. Keras 3 training references (JAX backend, CPU, float32, jax_enable_x64\n"
        "// off): initial weights, data, the weights after every `fit` step (shuffle=False), the\n"
        "// logs, and evaluate / predict after training; values are exact f64 renderings of\n"
        "// float32 values.\n\n"
    )
    OUTPUT.write_text(header + "\n".join(render_module(r) for r in results), encoding="utf-8")
    n_bitwise = sum(r["bitwise"] for r in results)
    print(
        f"wrote {OUTPUT} ({len(CASES)} cases, train_on_batch replay bit-identical in {n_bitwise}; "
        f"{mf.versions()})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
