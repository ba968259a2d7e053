"""Generate Keras reference fixtures for the `nn` crate's recurrent layers (SimpleRNN, GRU, LSTM,
Bidirectional, TimeDistributed), the GRU benchmark model, a streaming model and a stateful GRU.

Run from the repository root (same venv as scripts/make_fixtures.py):

    python3.11 -m venv .venv
    .venv/bin/pip install -r scripts/requirements.txt
    .venv/bin/python scripts/make_rnn_fixtures.py [CASE ...]

With case names, only those cases are generated and spliced into the existing
tests/fixtures/rnn_layers.rs (each case is seeded by its index in CASES, so a case appended to
CASES leaves every other case's files and values untouched).

Writes (overwriting), in the format of scripts/make_norm_fixtures.py and
scripts/make_tensor_fixtures.py (whose helpers it uses):

* tests/fixtures/rnn_layers.rs -- one `pub mod <case>` per entry of CASES, to be `include!`d:
  INPUT_SHAPES, OUTPUT_SHAPE, PARAMS, TRAINABLE_PARAMS, NON_TRAINABLE_PARAMS, LAYERS, WEIGHTS,
  FLAT_WEIGHTS, the inputs X0 and the `model.predict` output Y (N_SAMPLES samples), and for the
  whole models in WITH_SUMMARY the `model.summary()` text SUMMARY. Two differences:
  - weight names are "<layer.name>/<the weight's path below that layer>", i.e. the Keras
    variable path without the Sequential model's name: "gru/gru_cell/kernel",
    "bidirectional/forward_gru/gru_cell/bias", "time_distributed/dense/kernel"; for a layer
    owning its weights directly that is the usual "<layer.name>/<weight name>" ("dense/bias").
    (Bidirectional's two halves both call their weights "kernel", ..., so "<layer>/<name>" would
    not be unique.)
  - the models with several outputs (MULTI_OUTPUT: `return_state=True`) have OUTPUT_SHAPES
    (`&[&[usize]]`, one per output in `model.outputs` order) and Y0, Y1, ... (one per output)
    instead of OUTPUT_SHAPE and Y.
* tests/fixtures/keras/rnn/<case>.keras (pinned zip), <case>.weights.h5 and <case>.safetensors
  (every weight under the names above, Keras shape, float32, metadata {"format": "keras"}),
  each loaded back and checked.

Seeding: `keras.utils.set_random_seed(seed)` before building (seed = SEED_BASE + the case's index
in CASES), default initializers; then, from `np.random.default_rng(seed)`:

1. every bias, in `model.weights` order, is overwritten with BIAS_SCALE * N(0, 1) (GRU's
   reset_after bias of shape (2, 3 * units): both rows, the input and the recurrent bias);
   kernels and recurrent kernels keep their Keras initialisation (glorot_uniform, orthogonal);
2. the inputs: N(0, 1) rounded to multiples of 1/32 and clipped to [-3, 3] (so exact in float32).

The stateful case (STATEFUL) is fed by chunks; see `stateful_module`.

JAX runs in its default 32-bit mode (jax_enable_x64 off, unlike make_fixtures.py).

Deterministic: re-running gives identical files.
"""

import sys

# Sets KERAS_BACKEND=jax, JAX_PLATFORMS=cpu, COLUMNS=120 before Keras is imported.
import make_fixtures as mf  # noqa: I001
import make_tensor_fixtures as tf

import h5py  # noqa: E402
import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import safetensors  # noqa: E402

# make_fixtures turns on jax_enable_x64 (for its float64 activation fixtures). These models are
# float32 only, and with x64 on Keras 3.15's GRU(use_bias=False) fails to trace (its scan carry
# comes back float64), so this script runs JAX in its default 32-bit mode.
jax.config.update("jax_enable_x64", False)

RNN_SUBDIR = "rnn"  # under make_fixtures.KERAS_DIR
RNN_DIR = mf.KERAS_DIR / RNN_SUBDIR
OUTPUT = mf.FIXTURES / "rnn_layers.rs"

SEED_BASE = 4000
BIAS_SCALE = 0.3

# Whole models, with a SUMMARY constant.
WITH_SUMMARY = {"gru_bench", "stream_model"}

# Models with several outputs: a description of each output, in `model.outputs` order.
MULTI_OUTPUT = {
    "gru_return_state": ["the output sequence", "the final state h"],
    "lstm_return_state": ["the output (the last h)", "the final state h", "the final carry c"],
}

# The stateful case: the model's batch_shape is (1, STATEFUL_CHUNK, features); each sample is a
# STATEFUL_CHUNKS * STATEFUL_CHUNK step sequence fed in STATEFUL_CHUNKS consecutive chunks.
STATEFUL = "gru_stateful"
STATEFUL_CHUNK = 5
STATEFUL_CHUNKS = 3
# The stateful model and a non-stateful copy run on the whole sequence must agree this closely.
STATEFUL_TOLERANCE = 1e-5

# Semantics checked for the cases that have them (see `check_directions`).
GO_BACKWARDS_SEQ = {"gru_backwards_seq"}
BIDIRECTIONAL_SEQ = {"bidirectional_concat", "bidirectional_sum", "bidirectional_mul", "bidirectional_ave"}
DIRECTION_TOLERANCE = 1e-5

seq = tf.seq


def bidirectional(mode: str) -> str:
    return seq("Input((6, 3))", f'Bidirectional(GRU(4, return_sequences=True), merge_mode="{mode}")')


# (case name, model source, expected `model.layers` names), as in make_tensor_fixtures.CASES.
CASES = [
    # SimpleRNN.
    ("simple_rnn", seq("Input((6, 3))", "SimpleRNN(5)"), ["simple_rnn"]),
    (
        "simple_rnn_seq_relu",
        seq("Input((6, 3))", 'SimpleRNN(4, activation="relu", return_sequences=True)'),
        ["simple_rnn"],
    ),
    # GRU.
    ("gru", seq("Input((6, 3))", "GRU(5)"), ["gru"]),
    ("gru_reset_before", seq("Input((6, 3))", "GRU(4, reset_after=False)"), ["gru"]),
    (
        "gru_backwards_seq",
        seq("Input((6, 3))", "GRU(4, go_backwards=True, return_sequences=True)"),
        ["gru"],
    ),
    ("gru_no_bias", seq("Input((6, 3))", "GRU(3, use_bias=False)"), ["gru"]),
    (
        "gru_activations",
        seq("Input((6, 3))", 'GRU(4, activation="relu", recurrent_activation="hard_sigmoid")'),
        ["gru"],
    ),
    # LSTM.
    ("lstm", seq("Input((6, 3))", "LSTM(5)"), ["lstm"]),
    (
        "lstm_stacked",
        seq("Input((6, 3))", "LSTM(6, return_sequences=True)", "LSTM(3)"),
        ["lstm", "lstm_1"],
    ),
    (
        "lstm_activations",
        seq("Input((6, 3))", 'LSTM(4, activation="relu", recurrent_activation="hard_sigmoid")'),
        ["lstm"],
    ),
    ("lstm_backwards", seq("Input((6, 3))", "LSTM(4, go_backwards=True)"), ["lstm"]),
    (
        "lstm_no_bias_seq",
        seq("Input((6, 3))", "LSTM(3, use_bias=False, return_sequences=True)"),
        ["lstm"],
    ),
    # Wrappers.
    ("bidirectional_concat", bidirectional("concat"), ["bidirectional"]),
    ("bidirectional_sum", bidirectional("sum"), ["bidirectional"]),
    ("bidirectional_mul", bidirectional("mul"), ["bidirectional"]),
    ("bidirectional_ave", bidirectional("ave"), ["bidirectional"]),
    ("bidirectional_lstm", seq("Input((6, 3))", "Bidirectional(LSTM(3))"), ["bidirectional"]),
    (
        "time_distributed_dense",
        seq("Input((5, 4))", 'TimeDistributed(Dense(3, activation="tanh"))'),
        ["time_distributed"],
    ),
    # return_state: several outputs (MULTI_OUTPUT).
    (
        "gru_return_state",
        "x = Input((6, 3)); s, h = GRU(4, return_sequences=True, return_state=True)(x); Model(x, [s, h])",
        ["input_layer", "gru"],
    ),
    (
        "lstm_return_state",
        "x = Input((6, 3)); out, h, c = LSTM(4, return_state=True)(x); Model(x, [out, h, c])",
        ["input_layer", "lstm"],
    ),
    # Whole models.
    ("gru_bench", seq("Input((16, 8))", "GRU(32)", "Dense(1)"), ["gru", "dense"]),
    (
        "stream_model",
        seq(
            "Input((20, 1))",
            'Dense(8, activation="tanh")',
            'Conv1D(4, 3, padding="causal", dilation_rate=2, activation="tanh")',
            "GRU(8, return_sequences=True)",
            "Dense(1)",
        ),
        ["dense", "conv1d", "gru", "dense_1"],
    ),
    # Stateful, fed by chunks (STATEFUL).
    (
        STATEFUL,
        seq(
            f"Input(batch_shape=(1, {STATEFUL_CHUNK}, 3))",
            "GRU(6, stateful=True, return_sequences=True)",
            "Dense(2)",
        ),
        ["gru", "dense"],
    ),
    # More wrappers (appended, so that the cases above keep their seeds).
    (
        "time_distributed_conv1d",
        seq(
            "Input((4, 10, 2))",
            'TimeDistributed(Conv1D(3, 3, activation="relu"))',
            "TimeDistributed(GlobalAveragePooling1D())",
            "GRU(5)",
        ),
        ["time_distributed", "time_distributed_1", "gru"],
    ),
    (
        "bidirectional_stacked",
        seq(
            "Input((6, 3))",
            'Bidirectional(SimpleRNN(4, return_sequences=True), merge_mode="sum")',
            "Bidirectional(LSTM(2))",
        ),
        ["bidirectional", "bidirectional_1"],
    ),
    # An encoder's final states as a decoder's initial state (seq2seq).
    (
        "lstm_seq2seq",
        "enc = Input((6, 3)); dec = Input((4, 2)); "
        "_, h, c = LSTM(5, return_state=True)(enc); "
        "y = LSTM(5, return_sequences=True)(dec, initial_state=[h, c]); "
        "Model([enc, dec], Dense(2)(y))",
        ["input_layer", "input_layer_1", "lstm", "lstm_1", "dense"],
    ),
    (
        "gru_initial_state",
        "x = Input((6, 3)); s, h = GRU(4, return_state=True)(x); "
        "y = GRU(4, go_backwards=True)(x, initial_state=h); "
        "Model(x, y)",
        ["input_layer", "gru", "gru_1"],
    ),
    # Keras's generic form, RNN over a cell: the same layers, read from `RNN(GRUCell(...))`.
    (
        "rnn_over_cells",
        seq("Input((6, 3))", "RNN(GRUCell(4), return_sequences=True)", "RNN(LSTMCell(3), go_backwards=True)"),
        ["rnn", "rnn_1"],
    ),
    # RNN over StackedRNNCells: three cells, two of one class (keyed gru_cell and gru_cell_1), a
    # returned sequence; and two cells read backwards, the last state.
    (
        "stacked_cells",
        seq(
            "Input((6, 3))",
            "RNN(StackedRNNCells([GRUCell(4), LSTMCell(2), GRUCell(3)]), return_sequences=True)",
            "RNN(StackedRNNCells([SimpleRNNCell(3), GRUCell(2)]), go_backwards=True)",
        ),
        ["rnn", "rnn_1"],
    ),
    # ConvLSTM1D: a `same` one returning its sequence of rows, then a strided one read backwards.
    (
        "conv_lstm1d",
        seq(
            "Input((4, 7, 2))",
            "ConvLSTM1D(3, 3, padding='same', return_sequences=True)",
            "ConvLSTM1D(2, 2, strides=2, go_backwards=True, recurrent_activation='hard_sigmoid')",
        ),
        ["conv_lstm1d", "conv_lstm1d_1"],
    ),
    # ConvLSTM2D over steps of images: `same` with a (3, 2) kernel returning its sequence, then
    # a dilated one read backwards without a bias.
    (
        "conv_lstm2d",
        seq(
            "Input((3, 5, 6, 2))",
            "ConvLSTM2D(3, (3, 2), padding='same', return_sequences=True)",
            "ConvLSTM2D(2, 2, dilation_rate=(1, 2), go_backwards=True, use_bias=False, activation='relu')",
        ),
        ["conv_lstm2d", "conv_lstm2d_1"],
    ),
    # ConvLSTM3D over steps of volumes, strided.
    (
        "conv_lstm3d",
        seq("Input((3, 4, 5, 4, 2))", "ConvLSTM3D(2, (2, 3, 2), strides=(2, 1, 2), padding='same')"),
        ["conv_lstm3d"],
    ),
]

# The non-stateful copy of the STATEFUL model, run on the whole sequence.
STATEFUL_TWIN = seq(
    f"Input(({STATEFUL_CHUNK * STATEFUL_CHUNKS}, 3))", "GRU(6, return_sequences=True)", "Dense(2)"
)


# ---------------------------------------------------------------- seeding and names

# Weight names left as Keras initialised them; every other weight must be a "bias".
KEEP = {"kernel", "recurrent_kernel"}


def seeded_model(name: str, src: str, seed: int, layer_names):
    """Build, check the layer names and overwrite the biases (step 1 in the module docstring);
    returns the model and the Generator, positioned for the inputs."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = tf.build_from_source(src)
    names = [layer.name for layer in model.layers]
    if names != layer_names:
        raise AssertionError(f"{name}: layer names {names}, expected {layer_names}")
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if w.dtype != "float32":
            raise TypeError(f"{name}: {w.path} is {w.dtype}")
        if w.name == "bias":
            w.assign((BIAS_SCALE * rng.normal(size=tuple(w.shape))).astype(np.float32))
        elif w.name not in KEEP:
            raise AssertionError(f"{name}: no rule for weight {w.path}")
    return model, rng


def weight_names(name: str, model) -> list:
    """"<layer.name>/<path below the layer>" for each of `model.weights`, in that order: the
    variable path from the owning layer's name on (a Sequential model's paths start with the
    model's name). For a layer owning its weights directly this is make_fixtures.weight_names's
    "<layer.name>/<weight name>". Checked unique."""
    owner = {}
    for layer in model.layers:
        for w in layer.weights:
            parts = w.path.split("/")
            if layer.name not in parts or parts[-1] != w.name:
                raise AssertionError(f"{name}: weight path {w.path} of layer {layer.name}")
            owner.setdefault(id(w), "/".join(parts[parts.index(layer.name) :]))
    names = [owner[id(w)] for w in model.weights]
    if len(set(names)) != len(names):
        raise AssertionError(f"{name}: duplicate weight names {names}")
    return names


def case_weights(name: str, model) -> list:
    """("<name>", float32 array) pairs in `model.weights` order, checked against get_weights(),
    count_params() and for non-trivial values."""
    weights = [(n, np.asarray(w.numpy())) for n, w in zip(weight_names(name, model), model.weights)]
    got = model.get_weights()
    if len(got) != len(weights) or not all(np.array_equal(a, w) for a, (_, w) in zip(got, weights)):
        raise AssertionError(f"{name}: get_weights() and model.weights disagree")
    params = model.count_params()
    trainable = tf.param_count(model.trainable_weights)
    non_trainable = tf.param_count(model.non_trainable_weights)
    if sum(w.size for _, w in weights) != params or trainable + non_trainable != params:
        raise AssertionError(f"{name}: count_params() is not the number of weights")
    for wname, w in weights:
        if w.dtype != np.float32:
            raise TypeError(f"{name}: {wname} is {w.dtype}")
        if not np.all(np.isfinite(w)) or not np.all(w != 0.0):
            raise AssertionError(f"{name}: {wname} has a zero or non-finite value")
    return weights


# ---------------------------------------------------------------- checks


def close(name: str, what: str, a, b, tolerance: float) -> float:
    """The largest absolute difference of `a` and `b`, checked to be at most `tolerance`."""
    diff = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
    if not diff <= tolerance:
        raise AssertionError(f"{name}: {what} differ by {diff}")
    return diff


def check_directions(name: str, model, x: np.ndarray, y: np.ndarray) -> str:
    """For the cases whose doc states it, check how backward sequences are ordered; returns the
    note for the module's doc comment ("" if none)."""
    if name in GO_BACKWARDS_SEQ:
        (layer,) = model.layers
        forward = layer.__class__.from_config({**layer.get_config(), "go_backwards": False})
        forward.build((None, *x.shape[1:]))
        forward.set_weights(layer.get_weights())
        what = "go_backwards output and the forward layer on the reversed input"
        close(name, what, y, forward(x[:, ::-1]), DIRECTION_TOLERANCE)
        return (
            "With go_backwards=True and return_sequences=True the output sequence is in processing order, "
            "not reversed back: Y's step t is the state after reading input steps T-1, ..., T-1-t, i.e. "
            "the forward layer run on the time-reversed input (checked)."
        )
    if name in BIDIRECTIONAL_SEQ:
        (layer,) = model.layers
        fwd = np.asarray(layer.forward_layer(x))
        bwd = np.asarray(layer.backward_layer(x))[:, ::-1]  # reversed back to input order
        merged = {
            "concat": np.concatenate([fwd, bwd], axis=-1),
            "sum": fwd + bwd,
            "mul": fwd * bwd,
            "ave": (fwd + bwd) / 2.0,
        }[layer.merge_mode]
        close(name, "Bidirectional output and its merged halves", y, merged, DIRECTION_TOLERANCE)
        return (
            "The backward half (go_backwards=True) returns its sequence in processing order; "
            "Bidirectional reverses it back to input order before merging with the forward half "
            f'(merge_mode="{layer.merge_mode}"; checked).'
        )
    return ""


# ---------------------------------------------------------------- rendering


def render(name: str, src: str, seed: int, model, weights, xs, ys, note: str = "", input_docs=None) -> str:
    """make_tensor_fixtures.render_module, with the WEIGHTS doc comment adapted to the names of
    `weight_names`; for a MULTI_OUTPUT model, OUTPUT_SHAPE and Y are then replaced by
    OUTPUT_SHAPES and Y0, Y1, ...."""
    text = tf.render_module(
        name,
        src,
        seed,
        model,
        weights,
        xs,
        ys[0],
        subdir=RNN_SUBDIR,
        with_summary=name in WITH_SUMMARY,
        input_docs=input_docs,
        note=note,
    )
    text = replace_once(
        name,
        text,
        '    /// Every weight as ("<layer.name>/<weight name>", Keras shape), in `model.weights` order.\n',
        '    /// Every weight as ("<layer.name>/<path below the layer>", Keras shape), in `model.weights`\n'
        "    /// order (e.g. \"gru/gru_cell/kernel\", \"dense/bias\").\n",
    )
    if name not in MULTI_OUTPUT:
        return text
    return tf.several_outputs(name, text, model, ys, MULTI_OUTPUT[name])


# Shared with make_tensor_fixtures, which renders models of several outputs too.
checked_predict_all = tf.checked_predict_all
replace_once = tf.replace_once
y_const = tf.y_const
default_y_doc = tf.default_y_doc
output_shapes = tf.output_shapes


# ---------------------------------------------------------------- cases


def rnn_module(index: int, name: str, src: str, layer_names) -> str:
    seed = SEED_BASE + index
    model, rng = seeded_model(name, src, seed, layer_names)
    xs = [tf.tensor_inputs(rng, tuple(int(d) for d in inp.shape[1:])) for inp in model.inputs]
    weights = case_weights(name, model)
    ys = checked_predict_all(name, model, xs)
    if (len(ys) > 1) != (name in MULTI_OUTPUT):
        raise AssertionError(f"{name}: {len(ys)} outputs; MULTI_OUTPUT disagrees")
    note = check_directions(name, model, xs[0], ys[0])
    tf.save_files(name, model, weights, xs, ys[0], subdir=RNN_SUBDIR)
    if len(ys) > 1:  # save_files checks the first output only
        mf.check_round_trip(f"{RNN_SUBDIR}/{name}", model, weights, xs, ys)
    return render(name, src, seed, model, weights, xs, ys, note=note)


def reset_states(model) -> None:
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


def run_by_chunks(model, x: np.ndarray) -> np.ndarray:
    """Each sample of `x` (samples, STATEFUL_CHUNKS * STATEFUL_CHUNK, features) fed as
    STATEFUL_CHUNKS consecutive chunks through `model(chunk)`, states reset before each sample
    only; the chunk outputs concatenated along time. (`model(chunk)`, not `model.predict`: on the
    JAX backend `predict` runs a stateless function and does not carry the RNN state from one
    call to the next.)"""
    ys = []
    for sample in x:
        reset_states(model)
        chunks = [
            np.asarray(model(sample[None, k * STATEFUL_CHUNK : (k + 1) * STATEFUL_CHUNK]))
            for k in range(STATEFUL_CHUNKS)
        ]
        ys.append(np.concatenate(chunks, axis=1)[0])
    reset_states(model)
    return np.stack(ys)


def stateful_module(index: int, name: str, src: str, layer_names) -> str:
    seed = SEED_BASE + index
    model, rng = seeded_model(name, src, seed, layer_names)
    (inp,) = model.inputs
    batch, chunk, features = (int(d) for d in inp.shape)
    if (batch, chunk) != (1, STATEFUL_CHUNK):
        raise AssertionError(f"{name}: batch_shape {tuple(inp.shape)}")
    steps = STATEFUL_CHUNKS * STATEFUL_CHUNK
    x = tf.tensor_inputs(rng, (steps, features))
    weights = case_weights(name, model)

    y = run_by_chunks(model, x)
    out_features = int(model.outputs[0].shape[-1])
    if y.dtype != np.float32 or y.shape != (tf.N_SAMPLES, steps, out_features) or not np.all(np.isfinite(y)):
        raise TypeError(f"{name}: unexpected output {y.dtype} {y.shape}")
    if np.array_equal(y[0], y[1]) or np.array_equal(y[1], y[2]):
        raise AssertionError(f"{name}: output does not depend on the input")
    # The state is carried: without it the later chunks would come out differently.
    fresh = np.asarray(model(x[:1, STATEFUL_CHUNK : 2 * STATEFUL_CHUNK]))[0]
    reset_states(model)
    if np.allclose(fresh, y[0, STATEFUL_CHUNK : 2 * STATEFUL_CHUNK], atol=1e-3):
        raise AssertionError(f"{name}: the second chunk does not depend on the first")

    twin = tf.build_from_source(STATEFUL_TWIN)
    twin.set_weights(model.get_weights())
    what = "the stateful model and its non-stateful copy"
    diff = close(name, what, y, twin.predict(x, verbose=0), STATEFUL_TOLERANCE)
    print(f"{name}: stateful by chunks vs non-stateful on the whole sequence: max |diff| {diff:.3g}")

    # save_files's round trip predicts on one chunk from zero states; the full chunked run of the
    # reloaded models is checked below.
    first = x[:1, :STATEFUL_CHUNK]
    reset_states(model)
    tf.save_files(name, model, weights, [first], model.predict(first, verbose=0), subdir=RNN_SUBDIR)
    loaded = keras.saving.load_model(RNN_DIR / f"{name}.keras")
    clone = keras.models.clone_model(model)
    clone.load_weights(RNN_DIR / f"{name}.weights.h5")
    for other in (loaded, clone):
        if not np.array_equal(run_by_chunks(other, x), y):
            raise AssertionError(f"{name}: reloaded model predicts differently")

    input_doc = (
        f"The whole input sequences, {tf.N_SAMPLES} samples, each flattened row-major in shape "
        f"({steps}, {features}); float32-exact. Fed to the model in {STATEFUL_CHUNKS} chunks of "
        f"{STATEFUL_CHUNK} steps."
    )
    note = (
        f"Stateful: the model's own batch_shape is (1, {STATEFUL_CHUNK}, {features}). Each sample of X0 "
        f"(a {steps}-step sequence) is split into {STATEFUL_CHUNKS} consecutive chunks of {STATEFUL_CHUNK} "
        "steps fed one after the other with `model(chunk)`, the GRU state carried from chunk to chunk "
        "(reset only before each new sample); Y is the chunk outputs concatenated. INPUT_SHAPES and "
        "OUTPUT_SHAPE are the whole sequence's. A non-stateful copy with the same weights "
        f"(`{STATEFUL_TWIN}`) run on the whole {steps} steps gives the same Y to within "
        f"{STATEFUL_TOLERANCE:g} (checked)."
    )
    text = render(name, src, seed, model, weights, [x], [y], note=note, input_docs=[input_doc])
    text = replace_once(
        name,
        text,
        "    /// Model input shapes without the batch axis, one per input.\n"
        f"    pub const INPUT_SHAPES: &[&[usize]] = &[{tf.usize_list((chunk, features))}];\n",
        f"    /// The whole input sequence's shape (the model's batch_shape is (1, {chunk}, {features})).\n"
        f"    pub const INPUT_SHAPES: &[&[usize]] = &[{tf.usize_list((steps, features))}];\n",
    )
    text = replace_once(
        name,
        text,
        "    /// Model output shape without the batch axis.\n"
        f"    pub const OUTPUT_SHAPE: &[usize] = {tf.usize_list((chunk, out_features))};\n",
        "    /// The whole output sequence's shape.\n"
        f"    pub const OUTPUT_SHAPE: &[usize] = {tf.usize_list((steps, out_features))};\n",
    )
    y_doc = (
        f"The {STATEFUL_CHUNKS} chunk outputs `model(chunk)` concatenated, {tf.N_SAMPLES} samples, each "
        f"flattened row-major (shape ({steps}, {out_features})); float32 values printed as exact f64."
    )
    return replace_once(name, text, y_const(y, default_y_doc((chunk, out_features))), y_const(y, y_doc))


def main() -> int:
    assert keras.backend.backend() == "jax"
    assert keras.backend.floatx() == "float32"
    assert not jax.config.jax_enable_x64
    names = [name for name, _, _ in CASES]
    assert len(set(names)) == len(names)
    assert WITH_SUMMARY | set(MULTI_OUTPUT) | GO_BACKWARDS_SEQ | BIDIRECTIONAL_SEQ | {STATEFUL} <= set(names)
    header = (
        f"// @generated by scripts/make_rnn_fixtures.py ({mf.versions()},\n"
        f"// safetensors {safetensors.__version__}, h5py {h5py.__version__}). Do not edit.\n"
        "// Keras 3 recurrent models (SimpleRNN, GRU, LSTM, Bidirectional, TimeDistributed; JAX\n"
        "// backend, CPU, float32; `model.predict`, i.e. inference mode) saved to\n"
        f"// tests/fixtures/keras/{RNN_SUBDIR}/<case>.{{keras,weights.h5,safetensors}}; values are exact\n"
        "// f64 renderings of the float32 weights, inputs and outputs. Weight names are the Keras variable\n"
        '// paths from the layer on ("gru/gru_cell/kernel"); return_state models have OUTPUT_SHAPES and\n'
        "// Y0, Y1, ... instead of OUTPUT_SHAPE and Y.\n\n"
    )
    def module(i: int) -> str:
        name, src, layer_names = CASES[i]
        return (stateful_module if name == STATEFUL else rnn_module)(i, name, src, layer_names)

    tf.write_cases(OUTPUT, RNN_DIR, header, names, module)
    return 0


if __name__ == "__main__":
    sys.exit(main())
