"""Generate Keras reference fixtures for the `nn` crate's tests.

Run from the repository root:

    python3.11 -m venv .venv
    .venv/bin/pip install -r scripts/requirements.txt
    .venv/bin/python scripts/make_fixtures.py

Writes (overwriting):

* tests/fixtures/activations.rs -- Rust `pub const` arrays meant to be
  `include!`d by an integration test: activation outputs computed by Keras 3
  (JAX backend) in float32 and float64, softmax/log_softmax rows, and a tiny
  Dense-layer parity case.
* tests/fixtures/summary.txt -- the plain-text `model.summary()` of a small
  Sequential model.
* tests/fixtures/functional.rs -- one `pub mod` per functional-API model
  (residual, siamese, multi_io), to be `include!`d: every weight by Keras path
  ("<layer>/<kernel|bias>", flattened row-major, kernel [in, out]), the inputs
  X0, X1, ..., the `model.predict` outputs Y0, Y1, ... and `model.summary()`.
* tests/fixtures/keras/<name>.keras (`model.save`), <name>.weights.h5
  (`model.save_weights`) and <name>.safetensors (every weight as
  "<layer.name>/<weight name>", Keras shape, float32, metadata {"format": "keras"})
  for the models in KERAS_MODELS: seed_sequential, seed_functional, xor (trained),
  every_activation, new_activations, and residual, siamese, multi_io (same builders and seeds as
  functional.rs, so the same weights), plus tests/fixtures/keras_models.rs: one
  `pub mod <name>` each with LAYERS, WEIGHTS (names and shapes), inputs X0, ...
  and `model.predict` outputs Y0, .... Each file is loaded back and checked.
  The `.keras` zips are rewritten with pinned dates and renumbered
  "shared_object_id"s (see `pin_archive`) so they are reproducible too.

Deterministic: activations.rs and summary.txt use no random values (Dense
weights are set explicitly, layer names are reset with `clear_session`). The
functional models take Keras' default initializers after
`keras.utils.set_random_seed(seed)`, then every bias is overwritten with
0.5 * N(0, 1) from `np.random.default_rng(seed)` (so biases are non-zero), and
the inputs come from the same Generator. The summary width is pinned by setting
COLUMNS (Keras sizes the table from the terminal width: `min(88, columns - 4)`
for sequential-like models, `min(108, columns - 4)` for functional models with
a "Connected to" column).
"""

import os

# Must be set before keras / jax / rich are imported.
os.environ["KERAS_BACKEND"] = "jax"
os.environ["JAX_PLATFORMS"] = "cpu"
os.environ["COLUMNS"] = "120"  # wide enough for Keras' default 88-char table
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import io  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import safetensors  # noqa: E402
import safetensors.numpy  # noqa: E402
from keras.src.backend import nn as backend_nn  # noqa: E402
from keras.src.saving import saving_lib  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

# 0.0, then +v, -v for each magnitude.
MAGNITUDES = [1e-7, 0.1, 0.3, 0.5, 1.0, 2.0, 2.5, 3.0, 5.0, 6.0, 10.0, 20.0, 50.0, 100.0]
INPUTS = [0.0] + [s * m for m in MAGNITUDES for s in (1.0, -1.0)]
EXP_INPUTS = [0.0] + [s * m for m in MAGNITUDES if m <= 20.0 for s in (1.0, -1.0)]

SOFTMAX_INPUTS = [
    [1.0, 2.0, 3.0, 4.0],
    [0.0, 0.0, 0.0, 0.0],
    [1000.0, 0.0, -1000.0, 1.0],
    [-1000.0, -1000.0, -1000.0, -1000.0],
    [50.0, -50.0, 0.5, 3.0],
    [1e-3, 2e-3, -1e-3, 0.0],
]

A = keras.activations

# (constant name, doc comment, function or (f32 function, f64 function), inputs)
ELEMENTWISE = [
    ("RELU", "keras.activations.relu(x)", A.relu, "INPUTS"),
    (
        "RELU_OPTS",
        "keras.activations.relu(x, negative_slope=0.1, max_value=6.0, threshold=0.5)",
        lambda x: A.relu(x, negative_slope=0.1, max_value=6.0, threshold=0.5),
        "INPUTS",
    ),
    ("RELU6", "keras.activations.relu6(x)", A.relu6, "INPUTS"),
    ("SIGMOID", "keras.activations.sigmoid(x)", A.sigmoid, "INPUTS"),
    # keras.activations.tanh goes through keras.ops.tanh, whose dtype rule
    # (`result_type(x.dtype, float)`) forces float64 -> float32 on the JAX
    # backend; the float64 reference therefore uses the backend's nn.tanh
    # (jax.nn.tanh), the same kernel Keras uses inside mish.
    ("TANH", "keras.activations.tanh(x)", (A.tanh, backend_nn.tanh), "INPUTS"),
    ("LEAKY_RELU", "keras.activations.leaky_relu(x)  (negative_slope=0.2)", A.leaky_relu, "INPUTS"),
    (
        "LEAKY_RELU_01",
        "keras.activations.leaky_relu(x, negative_slope=0.1)",
        lambda x: A.leaky_relu(x, negative_slope=0.1),
        "INPUTS",
    ),
    ("ELU", "keras.activations.elu(x)  (alpha=1.0)", A.elu, "INPUTS"),
    ("ELU_05", "keras.activations.elu(x, alpha=0.5)", lambda x: A.elu(x, alpha=0.5), "INPUTS"),
    ("SELU", "keras.activations.selu(x)", A.selu, "INPUTS"),
    (
        "GELU",
        "keras.activations.gelu(x, approximate=False)  (erf form; the activation default)",
        lambda x: A.gelu(x, approximate=False),
        "INPUTS",
    ),
    (
        "GELU_TANH",
        "keras.activations.gelu(x, approximate=True)  (tanh form)",
        lambda x: A.gelu(x, approximate=True),
        "INPUTS",
    ),
    ("SILU", "keras.activations.silu(x)", A.silu, "INPUTS"),
    ("SOFTPLUS", "keras.activations.softplus(x)", A.softplus, "INPUTS"),
    ("SOFTSIGN", "keras.activations.softsign(x)", A.softsign, "INPUTS"),
    ("HARD_SIGMOID", "keras.activations.hard_sigmoid(x)", A.hard_sigmoid, "INPUTS"),
    ("HARD_SILU", "keras.activations.hard_silu(x)", A.hard_silu, "INPUTS"),
    ("EXPONENTIAL", "keras.activations.exponential(x)", A.exponential, "EXP_INPUTS"),
    ("MISH", "keras.activations.mish(x)", A.mish, "INPUTS"),
    ("LINEAR", "keras.activations.linear(x)", A.linear, "INPUTS"),
    ("CELU", "keras.activations.celu(x)  (alpha=1.0)", A.celu, "INPUTS"),
    ("CELU_05", "keras.activations.celu(x, alpha=0.5)", lambda x: A.celu(x, alpha=0.5), "INPUTS"),
    ("HARD_TANH", "keras.activations.hard_tanh(x)", A.hard_tanh, "INPUTS"),
    ("LOG_SIGMOID", "keras.activations.log_sigmoid(x)", A.log_sigmoid, "INPUTS"),
    ("SPARSE_PLUS", "keras.activations.sparse_plus(x)", A.sparse_plus, "INPUTS"),
    ("SQUAREPLUS", "keras.activations.squareplus(x)  (b=4)", A.squareplus, "INPUTS"),
    ("SQUAREPLUS_1", "keras.activations.squareplus(x, b=1.0)", lambda x: A.squareplus(x, b=1.0), "INPUTS"),
    ("TANH_SHRINK", "keras.activations.tanh_shrink(x)", A.tanh_shrink, "INPUTS"),
    ("HARD_SHRINK", "keras.activations.hard_shrink(x)  (threshold=0.5)", A.hard_shrink, "INPUTS"),
    (
        "HARD_SHRINK_1",
        "keras.activations.hard_shrink(x, threshold=1.0)",
        lambda x: A.hard_shrink(x, threshold=1.0),
        "INPUTS",
    ),
    ("SOFT_SHRINK", "keras.activations.soft_shrink(x)  (threshold=0.5)", A.soft_shrink, "INPUTS"),
    (
        "SOFT_SHRINK_1",
        "keras.activations.soft_shrink(x, threshold=1.0)",
        lambda x: A.soft_shrink(x, threshold=1.0),
        "INPUTS",
    ),
    # threshold has no defaults: Keras requires both options.
    (
        "THRESHOLD",
        "keras.activations.threshold(x, threshold=0.5, default_value=-2.0)",
        lambda x: A.threshold(x, threshold=0.5, default_value=-2.0),
        "INPUTS",
    ),
    (
        "THRESHOLD_NEG",
        "keras.activations.threshold(x, threshold=-1.0, default_value=0.0)",
        lambda x: A.threshold(x, threshold=-1.0, default_value=0.0),
        "INPUTS",
    ),
]

# Tiny Dense(3, activation="tanh") parity case: kernel is [in=4, out=3].
DENSE_KERNEL = [
    [0.5, -0.25, 1.0],
    [-1.0, 0.75, 0.125],
    [0.25, 0.5, -0.5],
    [2.0, -1.5, 0.0],
]
DENSE_BIAS = [0.1, -0.2, 0.3]
DENSE_INPUT = [1.0, -2.0, 0.5, 0.25]


# ---------------------------------------------------------------- helpers


def lit(v) -> str:
    """A Rust f64 literal that round-trips exactly to `float(v)`."""
    f = float(v)
    if not np.isfinite(f):
        raise ValueError(f"non-finite fixture value {f!r}")
    r = repr(f)
    if not any(c in r for c in ".e"):
        r += ".0"
    return r


def rust_array(name: str, doc: str, values, per_line: int = 4) -> str:
    vals = [lit(v) for v in values]
    body = ",\n".join(
        "    " + ", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)
    )
    return f"/// {doc}\npub const {name}: [f64; {len(vals)}] = [\n{body},\n];\n"


def rust_matrix(name: str, doc: str, rows) -> str:
    rows = [list(r) for r in rows]
    width = len(rows[0])
    assert all(len(r) == width for r in rows)
    body = "\n".join("    [" + ", ".join(lit(v) for v in r) + "]," for r in rows)
    return f"/// {doc}\npub const {name}: [[f64; {width}]; {len(rows)}] = [\n{body}\n];\n"


def run(fn, x: np.ndarray) -> np.ndarray:
    """Apply a Keras op to `x` and check the dtype was preserved."""
    y = np.asarray(fn(x))
    if y.dtype != x.dtype:
        raise TypeError(f"expected {x.dtype}, got {y.dtype}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"non-finite output: {y}")
    return y


def as_f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).astype(np.float32)


def as_f64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


# ---------------------------------------------------------------- fixtures


def elementwise_fixtures() -> str:
    inputs = {"INPUTS": INPUTS, "EXP_INPUTS": EXP_INPUTS}
    out = [
        rust_array(
            "INPUTS",
            "Inputs fed to every elementwise activation (except EXPONENTIAL).\n"
            "/// The `_F32` results are for `INPUTS[i] as f32`.",
            INPUTS,
        ),
        rust_array(
            "EXP_INPUTS",
            "Inputs for EXPONENTIAL (|x| <= 20). The `_F32` results are for `EXP_INPUTS[i] as f32`.",
            EXP_INPUTS,
        ),
    ]
    for name, doc, fn, src in ELEMENTWISE:
        fn32, fn64 = fn if isinstance(fn, tuple) else (fn, fn)
        doc64 = "same, float64 (JAX x64)"
        if fn64 is not fn32:
            doc64 += "; via keras.src.backend.nn.tanh = jax.nn.tanh (see script)"
        xs = inputs[src]
        out.append(rust_array(f"{name}_F32", f"{doc} over {src}, float32", run(fn32, as_f32(xs))))
        out.append(rust_array(f"{name}_F64", doc64, run(fn64, as_f64(xs))))
    return "\n".join(out)


def softmax_fixtures() -> str:
    out = [rust_matrix("SOFTMAX_INPUTS", "Rows fed to softmax / log_softmax (last axis).", SOFTMAX_INPUTS)]
    for name, fn in [("SOFTMAX", A.softmax), ("LOG_SOFTMAX", A.log_softmax)]:
        call = f"keras.activations.{name.lower()}(SOFTMAX_INPUTS)  (axis=-1)"
        out.append(rust_matrix(f"{name}_F32", f"{call}, float32", run(fn, as_f32(SOFTMAX_INPUTS))))
        out.append(rust_matrix(f"{name}_F64", "same, float64 (JAX x64)", run(fn, as_f64(SOFTMAX_INPUTS))))
    return "\n".join(out)


def dense_output(dtype: str) -> np.ndarray:
    """Dense(3, tanh) on DENSE_INPUT with the fixed weights.

    float64: a Dense(dtype="float64", activation="tanh") layer returns float32
    on the JAX backend (see TANH), so the float64 case runs the layer without
    activation and applies the backend's float64 tanh afterwards.
    """
    keras.backend.clear_session()
    f64 = dtype == "float64"
    layer = keras.layers.Dense(3, activation=None if f64 else "tanh", dtype=dtype)
    layer.build((None, 4))
    layer.set_weights([np.asarray(DENSE_KERNEL, dtype=dtype), np.asarray(DENSE_BIAS, dtype=dtype)])
    x = np.asarray([DENSE_INPUT], dtype=dtype)
    y = layer(x)
    y = np.asarray(backend_nn.tanh(y) if f64 else y)
    if y.dtype != np.dtype(dtype) or y.shape != (1, 3):
        raise TypeError(f"unexpected Dense output {y.dtype} {y.shape}")
    return y[0]


def dense_fixtures() -> str:
    return "\n".join(
        [
            rust_matrix("DENSE_KERNEL", "Dense kernel, shape [in=4][out=3] (Keras layout).", DENSE_KERNEL),
            rust_array("DENSE_BIAS", "Dense bias.", DENSE_BIAS),
            rust_array("DENSE_INPUT", "Dense input (one sample).", DENSE_INPUT),
            rust_array(
                "DENSE_OUTPUT_F32",
                "keras.layers.Dense(3, activation=\"tanh\") with the weights above, float32",
                dense_output("float32"),
            ),
            rust_array(
                "DENSE_OUTPUT_F64",
                "same, float64: Dense(3, dtype=\"float64\") then float64 tanh (see script)",
                dense_output("float64"),
            ),
        ]
    )


ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def summary_text(model) -> str:
    """`model.summary()` as plain text (box drawing kept, ANSI stripped)."""
    chunks = []
    model.summary(print_fn=lambda s, **_: chunks.append(s))
    text = "".join(chunks)
    return ANSI.sub("", text)


def summary_fixture() -> str:
    keras.backend.clear_session()
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    return summary_text(model)


# ---------------------------------------------------------------- functional models

L = keras.layers

K_SAMPLES = 5  # rows per input: an all-zero row first, a "around +-3" row last


def build_residual():
    inp = keras.Input((4,))
    h = L.Dense(8, activation="relu")(inp)
    h2 = L.Dense(4)(h)
    s = L.Add()([inp, h2])
    out = L.Dense(2, activation="softmax")(s)
    return keras.Model(inp, out)


def build_siamese():
    left = keras.Input((3,))
    right = keras.Input((3,))
    shared = L.Dense(4, activation="tanh", name="shared")
    a = shared(left)
    b = shared(right)
    d = L.Subtract()([a, b])
    m = L.Multiply()([d, d])
    dot = L.Dot(axes=1, normalize=True)([a, b])
    c = L.Concatenate()([m, dot])
    out = L.Dense(1, activation="sigmoid")(c)
    return keras.Model([left, right], out)


def build_multi_io():
    x1 = keras.Input((3,))
    x2 = keras.Input((2,))
    h1 = L.Dense(4, activation="relu")(x1)
    h2 = L.Dense(4, activation="elu")(x2)
    avg = L.Average()([h1, h2])
    mx = L.Maximum()([h1, h2])
    mn = L.Minimum()([h1, h2, avg])
    cat = L.Concatenate()([avg, mx, mn])
    cls = L.Dense(3, activation="softmax")(cat)
    reg = L.Dense(1)(mx)
    return keras.Model([x1, x2], [cls, reg])


# (module name, builder, seed, expected model.layers names -- checked, so a
# Keras naming change fails loudly instead of silently changing the fixtures)
FUNCTIONAL = [
    ("residual", build_residual, 1001, ["input_layer", "dense", "dense_1", "add", "dense_2"]),
    (
        "siamese",
        build_siamese,
        1002,
        ["input_layer", "input_layer_1", "shared", "subtract", "multiply", "dot", "concatenate", "dense"],
    ),
    (
        "multi_io",
        build_multi_io,
        1003,
        [
            "input_layer", "input_layer_1", "dense", "dense_1", "average", "maximum", "minimum",
            "concatenate", "dense_2", "dense_3",
        ],
    ),
]


def indent(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line if line.strip() else line for line in text.splitlines(keepends=True))


def rust_weights(weights) -> str:
    """`pub const WEIGHTS: &[(&str, &[f64])]` from (path, float32 array) pairs."""
    doc = (
        '/// Every weight by Keras path "<layer.name>/<weight name>", in `model.weights` order;\n'
        "/// values flattened row-major (Dense kernel shape [in, out]). Shapes:\n"
        + "".join(f"/// - `{path}`: {list(w.shape)}\n" for path, w in weights)
    )
    entries = []
    for path, w in weights:
        vals = [lit(v) for v in np.asarray(w).reshape(-1)]
        body = "\n".join("        " + ", ".join(vals[i : i + 4]) + "," for i in range(0, len(vals), 4))
        entries.append(f'    ("{path}", &[\n{body}\n    ]),\n')
    return f"{doc}pub const WEIGHTS: &[(&str, &[f64])] = &[\n{''.join(entries)}];\n"


def sample_inputs(rng: np.random.Generator, dim: int) -> np.ndarray:
    """K_SAMPLES rows; multiples of 1/32, so exact in float32 and short in Rust.

    Row 0 is all zeros, the last row has magnitudes around 3 with alternating signs.
    """
    x = np.round(rng.normal(size=(K_SAMPLES, dim)) * 32.0) / 32.0
    x[0] = 0.0
    signs = np.where(np.arange(dim) % 2 == 0, 1.0, -1.0)
    x[-1] = signs * np.round((3.0 + 0.25 * rng.normal(size=dim)) * 32.0) / 32.0
    x32 = x.astype(np.float32)
    assert np.array_equal(x32.astype(np.float64), x)
    return x32


def seeded_model(name: str, build, seed: int, layer_names):
    """`build()` after clear_session + set_random_seed(seed), biases set to 0.5 * N(0, 1).

    Returns the model and the `np.random.default_rng(seed)` Generator, positioned
    after the biases (callers draw the inputs from it next).
    """
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build()
    names = [layer.name for layer in model.layers]
    if names != layer_names:
        raise AssertionError(f"{name}: layer names {names}, expected {layer_names}")

    # Default initializers give zero biases; make them non-zero so they are tested.
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if w.dtype != "float32":
            raise TypeError(f"{w.path}: {w.dtype}")
        if w.name == "bias":
            w.assign((0.5 * rng.normal(size=w.shape)).astype(np.float32))
    return model, rng


def functional_module(name: str, build, seed: int, layer_names) -> str:
    model, rng = seeded_model(name, build, seed, layer_names)
    names = [layer.name for layer in model.layers]
    weights = [(w.path, np.asarray(w.numpy())) for w in model.weights]
    paths = [p for p, _ in weights]
    if len(set(paths)) != len(paths) or not all(p.count("/") == 1 for p in paths):
        raise AssertionError(f"{name}: unexpected weight paths {paths}")

    xs = [sample_inputs(rng, inp.shape[1]) for inp in model.inputs]
    ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    ys = ys if isinstance(ys, (list, tuple)) else [ys]
    for y, out in zip(ys, model.outputs):
        if y.dtype != np.float32 or y.shape != (K_SAMPLES, out.shape[1]):
            raise TypeError(f"{name}: unexpected output {y.dtype} {y.shape}")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name}: non-finite output {y}")

    summary = summary_text(model)
    if '"#' in summary:
        raise ValueError("summary would end the raw string literal")

    parts = [rust_weights(weights)]
    for i, (x, inp) in enumerate(zip(xs, model.inputs)):
        parts.append(
            rust_matrix(
                f"X{i}",
                f"Model input {i} (`{inp._keras_history.operation.name}`, shape {tuple(inp.shape)}), "
                f"{K_SAMPLES} samples; float32-exact.",
                x,
            )
        )
    for i, (y, out) in enumerate(zip(ys, model.outputs)):
        parts.append(
            rust_matrix(
                f"Y{i}",
                f"`model.predict` output {i} (`{out._keras_history.operation.name}`), float32.",
                y,
            )
        )
    # The summary is a raw string, whose lines must not be indented.
    summary_const = (
        "    /// `model.summary()` as Keras prints it (plain text, no ANSI codes; COLUMNS=120).\n"
        f'    pub const SUMMARY: &str = r#"{summary}"#;\n'
    )
    body = indent("\n".join(parts)) + "\n" + summary_const
    layer_doc = ", ".join(f"`{n}`" for n in names)
    return (
        f"/// Keras functional model `{name}` (`scripts/make_fixtures.py::build_{name}`, seed {seed}).\n"
        f"/// `model.layers`: {layer_doc}.\n"
        f"pub mod {name} {{\n{body}}}\n"
    )


def functional_fixtures() -> str:
    return "\n".join(functional_module(*spec) for spec in FUNCTIONAL)


# ---------------------------------------------------------------- Keras files

KERAS_DIR = FIXTURES / "keras"

# `.keras` archives carry the save time (metadata.json's "date_saved" and the zip
# mtime of model.weights.h5, which Keras adds with `writestr(name, ...)`; its
# `open(name, "w")` members already get 1980-01-01) and CPython object ids
# (config.json's "shared_object_id", set on objects serialized more than once, e.g.
# a DTypePolicy); all are pinned (ids renumbered 1, 2, ... in order of appearance)
# so re-running leaves the files unchanged. The HDF5 bytes are left as Keras wrote them.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
DATE_SAVED = "1980-01-01@00:00:00"

XOR_X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_Y = [[0.0], [1.0], [1.0], [0.0]]
XOR_EPOCHS = 300
XOR_LEARNING_RATE = 0.05

# One Dense(6, activation=a) per entry, in this order.
EVERY_ACTIVATION = [
    "relu", "sigmoid", "tanh", "softmax", "log_softmax", "leaky_relu", "elu", "selu", "gelu",
    "silu", "softplus", "softsign", "hard_sigmoid", "hard_silu", "exponential", "mish", "relu6",
    "linear",
]
EVERY_ACTIVATION_SPREAD = 0.6  # target std of each unit's x @ kernel across the 5 samples
EVERY_ACTIVATION_BOUND = 8.0  # asserted bound on |pre-activation| and |output| of every layer
EVERY_ACTIVATION_MIN_SPREAD = 1e-2  # a unit is "live" if its output's std over X0 exceeds this

# The activations Keras 3 added, by name (so with their defaults; `threshold` has none, so no
# Keras model can name it): the first four as Dense(6, activation=a), the others as Dense(6)
# then Activation(a), side by side as in every_activation.
NEW_ACTIVATIONS_DENSE = ["celu", "hard_tanh", "log_sigmoid", "sparse_plus"]
NEW_ACTIVATIONS_LAYER = ["squareplus", "tanh_shrink", "hard_shrink", "soft_shrink"]
# Inputs where an activation's output jumps, and how far every pre-activation must stay from
# them: within float32 rounding of a jump, nn and Keras could land on opposite sides.
NEW_ACTIVATIONS_JUMPS = {"hard_shrink": (-0.5, 0.5)}
NEW_ACTIVATIONS_JUMP_MARGIN = 1e-3


def build_seed_sequential():
    return keras.Sequential([keras.Input((1,)), L.Dense(2)])


def build_seed_functional():
    visible = keras.Input((2,))
    hidden = L.Dense(2)(visible)
    return keras.Model(visible, hidden)


def build_xor():
    return keras.Sequential(
        [
            keras.Input((2,)),
            L.Dense(8, activation="relu"),
            L.Dense(1, activation="sigmoid"),
        ]
    )


def build_every_activation():
    """One Dense(6, activation=a) head per activation on the same input, concatenated. Side by
    side rather than chained: a chain of 18 layers amplifies float32 rounding past 1e-5 (Keras's
    own float32 outputs then differ from float64 ones by more than the parity tolerance), which
    would test the chain's conditioning rather than the activations."""
    x = keras.Input((4,))
    heads = [L.Dense(6, activation=a)(x) for a in EVERY_ACTIVATION]
    return keras.Model(x, L.Concatenate()(heads))


def build_new_activations():
    x = keras.Input((4,))
    heads = [L.Dense(6, activation=a)(x) for a in NEW_ACTIVATIONS_DENSE]
    heads += [L.Activation(a)(L.Dense(6)(x)) for a in NEW_ACTIVATIONS_LAYER]
    return keras.Model(x, L.Concatenate()(heads))


def uniform_inputs(rng: np.random.Generator, dim: int) -> np.ndarray:
    """K_SAMPLES rows in [-1, 1], multiples of 1/32; row 0 all zeros, the last +-1 alternating."""
    x = np.round(rng.uniform(-1.0, 1.0, size=(K_SAMPLES, dim)) * 32.0) / 32.0
    x[0] = 0.0
    x[-1] = np.where(np.arange(dim) % 2 == 0, 1.0, -1.0)
    x32 = x.astype(np.float32)
    assert np.array_equal(x32.astype(np.float64), x)
    return x32


def prepare_seeded(name: str, build, seed: int, layer_names, sampler=sample_inputs):
    """`seeded_model`, then the inputs from the same Generator (as `functional_module` does)."""
    model, rng = seeded_model(name, build, seed, layer_names)
    return model, [sampler(rng, inp.shape[1]) for inp in model.inputs]


def prepare_xor(name: str, seed: int, layer_names):
    """`seeded_model(build_xor)`, trained with Adam on the 4 XOR cases (full batch, no shuffling)."""
    model, _ = seeded_model(name, build_xor, seed, layer_names)
    x = np.asarray(XOR_X, dtype=np.float32)
    y = np.asarray(XOR_Y, dtype=np.float32)
    model.compile(optimizer=keras.optimizers.Adam(XOR_LEARNING_RATE), loss="binary_crossentropy")
    model.fit(x, y, epochs=XOR_EPOCHS, batch_size=len(x), shuffle=False, verbose=0)
    p = model.predict(x, verbose=0)
    if not np.array_equal((p > 0.5).astype(np.float32), y):
        raise AssertionError(f"{name}: XOR not learned: {p.ravel()}")
    if any(w.name == "bias" and not np.all(w.numpy() != 0.0) for w in model.weights):
        raise AssertionError(f"{name}: zero bias after training")
    return model, [x]


def prepare_every_activation(name: str, seed: int, layer_names):
    """Seeded as the others, then a data-dependent rescale on X0, layer by layer: each kernel
    column is scaled so its `x @ kernel` spread (std over the 5 samples) is EVERY_ACTIVATION_SPREAD,
    and its mean over X0 is subtracted from the (random, non-zero) bias. With plain default
    weights the signal fades layer by layer and the outputs stop depending on the input; this
    way every activation sees pre-activations of both signs and moderate size. Checked."""
    model, xs = prepare_seeded(name, build_every_activation, seed, layer_names, uniform_inputs)
    rescale_heads(name, model, xs)
    return model, xs


def prepare_new_activations(name: str, seed: int, layer_names):
    """`build_new_activations`, seeded and rescaled as `prepare_every_activation`; then checked
    that no input of an `Activation` layer comes near a jump of its activation."""
    model, xs = prepare_seeded(name, build_new_activations, seed, layer_names, uniform_inputs)
    rescale_heads(name, model, xs)
    for layer in model.layers:
        act = getattr(layer, "activation", None)
        jumps = NEW_ACTIVATIONS_JUMPS.get(getattr(act, "__name__", None), ())
        if not jumps:
            continue
        if not isinstance(layer, L.Activation):
            raise AssertionError(f"{name}: {layer.name}: jumps are checked on Activation layers only")
        z = np.asarray(keras.Model(model.input, layer.input)(xs[0]))
        gap = min(np.min(np.abs(z - j)) for j in jumps)
        if not gap > NEW_ACTIVATIONS_JUMP_MARGIN:
            raise AssertionError(f"{name}: {layer.name} ({act.__name__}) input within {gap} of a jump")
    return model, xs


def rescale_heads(name: str, model, xs) -> None:
    """The rescale of `prepare_every_activation`, on every Dense layer of `model` (each reads
    the model's input)."""
    for layer in model.layers:
        if not isinstance(layer, L.Dense):
            continue
        h = xs[0]
        z = h @ layer.kernel.numpy()
        scale = (EVERY_ACTIVATION_SPREAD / np.std(z, axis=0)).astype(np.float32)
        layer.kernel.assign(layer.kernel.numpy() * scale)
        z = h @ layer.kernel.numpy()
        layer.bias.assign((layer.bias.numpy() - np.mean(z, axis=0)).astype(np.float32))
        pre = np.asarray(keras.ops.matmul(h, layer.kernel) + layer.bias)
        h = np.asarray(layer(h))
        act = layer.activation.__name__
        worst = max(np.max(np.abs(pre)), np.max(np.abs(h)))
        if not worst <= EVERY_ACTIVATION_BOUND:
            raise AssertionError(f"{name}: {layer.name} ({act}) reaches {worst}")
        if not (np.min(pre) < 0.0 < np.max(pre) and np.all(layer.bias.numpy() != 0.0)):
            raise AssertionError(f"{name}: {layer.name} ({act}) pre-activations all one sign or zero bias")
        if not np.sum(np.std(h, axis=0) > EVERY_ACTIVATION_MIN_SPREAD) >= 4:
            raise AssertionError(f"{name}: {layer.name} ({act}) has fewer than 4 live units")


# (name, prepare() -> (model, inputs), doc). Each prepare checks the expected
# model.layers names. The functional entries reuse FUNCTIONAL's builders and
# seeds: same weights, inputs and outputs as functional.rs.
KERAS_MODELS = [
    (
        "seed_sequential",
        lambda: prepare_seeded("seed_sequential", build_seed_sequential, 1004, ["dense"]),
        "Sequential([Input((1,)), Dense(2)]), seed 1004",
    ),
    (
        "seed_functional",
        lambda: prepare_seeded("seed_functional", build_seed_functional, 1005, ["input_layer", "dense"]),
        "Model(Input((2,)), Dense(2)), seed 1005",
    ),
    (
        "xor",
        lambda: prepare_xor("xor", 1006, ["dense", "dense_1"]),
        f"Sequential Dense(8, relu) -> Dense(1, sigmoid) trained on XOR (Adam({XOR_LEARNING_RATE}), "
        f"binary_crossentropy, {XOR_EPOCHS} full-batch epochs), seed 1006; compiled, so the files "
        "also hold the optimizer state",
    ),
    (
        "every_activation",
        lambda: prepare_every_activation(
            "every_activation",
            1007,
            ["input_layer", "dense"]
            + [f"dense_{i}" for i in range(1, len(EVERY_ACTIVATION))]
            + ["concatenate"],
        ),
        "Input((4,)), then Dense(6, activation=a)(input) for a in "
        + ", ".join(EVERY_ACTIVATION)
        + ", concatenated; seed 1007, weights rescaled on X0 (`prepare_every_activation`), inputs in [-1, 1]",
    ),
    (
        "new_activations",
        lambda: prepare_new_activations(
            "new_activations",
            1012,
            # Keras lists the layers by depth: the Dense layers under an Activation first.
            ["input_layer", "dense_4", "dense_5", "dense_6", "dense_7", "dense", "dense_1", "dense_2"]
            + ["dense_3", "activation", "activation_1", "activation_2", "activation_3", "concatenate"],
        ),
        "Input((4,)), then Dense(6, activation=a)(input) for a in "
        + ", ".join(NEW_ACTIVATIONS_DENSE)
        + ", and Activation(a)(Dense(6)(input)) for a in "
        + ", ".join(NEW_ACTIVATIONS_LAYER)
        + ", concatenated; seed 1012, weights rescaled on X0 as every_activation's, inputs in [-1, 1]",
    ),
] + [
    (
        name,
        (lambda n=name, b=build, s=seed, ln=names: prepare_seeded(n, b, s, ln)),
        f"`build_{name}`, seed {seed}",
    )
    for name, build, seed, names in FUNCTIONAL
]


def weight_names(model) -> list:
    """"<layer.name>/<weight name>" for each of `model.weights`, in that order.

    (A Sequential model's variable paths carry the model name too,
    "sequential/dense/kernel"; these names never do.)
    """
    owner = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            # A model used as a layer: its layers' names, as nn visits them.
            for w, name in zip(layer.weights, weight_names(layer)):
                owner.setdefault(id(w), name)
            continue
        short = [w.name for w in layer.weights]
        for w in layer.weights:
            name = f"{layer.name}/{w.name}"
            # A layer whose sublayers' weights share names (MultiHeadAttention's four kernels):
            # their paths from the layer on, "multi_head_attention/query/kernel".
            at = w.path.find(f"{layer.name}/")
            # A weight of a layer inside the layer (a recurrent layer's cell, a wrapped layer):
            # its path below the layer too, "gru/gru_cell/kernel", as nn names them.
            inner = at >= 0 and "/" in w.path[at + len(layer.name) + 1 :]
            if (short.count(w.name) > 1 or inner) and at >= 0:
                name = w.path[at:]
            owner.setdefault(id(w), name)
    names = [owner[id(w)] for w in model.weights]
    if len(set(names)) != len(names):
        raise AssertionError(f"duplicate weight names {names}")
    return names


def renumber_shared_object_ids(config, ids: dict) -> None:
    """Replace every "shared_object_id" (an `id()`) by 1, 2, ... in order of appearance."""
    if isinstance(config, dict):
        for key, value in config.items():
            if key == "shared_object_id":
                config[key] = ids.setdefault(value, len(ids) + 1)
            else:
                renumber_shared_object_ids(value, ids)
    elif isinstance(config, list):
        for value in config:
            renumber_shared_object_ids(value, ids)


def reencode_json(data: bytes, edit) -> bytes:
    """json.loads, edit in place, json.dumps (Keras writes plain `json.dumps`; checked)."""
    obj = json.loads(data)
    if json.dumps(obj).encode() != data:
        raise AssertionError("Keras JSON does not round-trip through json.dumps")
    edit(obj)
    return json.dumps(obj).encode()


def pin_metadata(meta: dict) -> None:
    if set(meta) != {"keras_version", "date_saved"}:
        raise AssertionError(f"unexpected metadata.json {meta}")
    meta["date_saved"] = DATE_SAVED


def pin_archive(path: Path) -> None:
    """Rewrite a `.keras` zip with pinned dates and object ids; members, order, compression and
    attributes kept."""
    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info)) for info in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for info, data in members:
            if info.filename == saving_lib._METADATA_FILENAME:
                data = reencode_json(data, pin_metadata)
            elif info.filename == saving_lib._CONFIG_FILENAME:
                data = reencode_json(data, lambda c: renumber_shared_object_ids(c, {}))
            pinned = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE_TIME)
            pinned.compress_type = info.compress_type
            pinned.external_attr = info.external_attr
            pinned.create_system = info.create_system
            zout.writestr(pinned, data)
    path.write_bytes(buf.getvalue())


def check_round_trip(name: str, model, weights, xs, ys) -> None:
    """The written files load back (Keras and safetensors) to the same weights and outputs."""
    feed = xs if len(xs) > 1 else xs[0]
    loaded = keras.saving.load_model(KERAS_DIR / f"{name}.keras")
    clone = keras.models.clone_model(model)
    clone.load_weights(KERAS_DIR / f"{name}.weights.h5")
    for other in (loaded, clone):
        got = other.predict(feed, verbose=0)
        got = got if isinstance(got, (list, tuple)) else [got]
        if not all(np.array_equal(a, b) for a, b in zip(got, ys)):
            raise AssertionError(f"{name}: reloaded model predicts differently")
    tensors = safetensors.numpy.load_file(KERAS_DIR / f"{name}.safetensors")
    if list(tensors) != sorted(n for n, _ in weights) or not all(
        tensors[n].dtype == np.float32 and np.array_equal(tensors[n], w) for n, w in weights
    ):
        raise AssertionError(f"{name}: safetensors round trip")


def keras_module(name: str, prepare, doc: str) -> str:
    model, xs = prepare()
    names = [layer.name for layer in model.layers]
    weights = []
    for wname, w in zip(weight_names(model), model.weights):
        arr = np.asarray(w.numpy())
        if arr.dtype != np.float32:
            raise TypeError(f"{name}: {wname} is {arr.dtype}")
        weights.append((wname, arr))

    feed = xs if len(xs) > 1 else xs[0]
    ys = model.predict(feed, verbose=0)
    ys = ys if isinstance(ys, (list, tuple)) else [ys]
    for y, out in zip(ys, model.outputs):
        if y.dtype != np.float32 or y.shape != (len(xs[0]), out.shape[1]):
            raise TypeError(f"{name}: unexpected output {y.dtype} {y.shape}")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name}: non-finite output {y}")

    model.save(KERAS_DIR / f"{name}.keras")
    pin_archive(KERAS_DIR / f"{name}.keras")
    model.save_weights(KERAS_DIR / f"{name}.weights.h5")
    safetensors.numpy.save_file(
        {n: np.ascontiguousarray(w) for n, w in weights},
        str(KERAS_DIR / f"{name}.safetensors"),
        metadata={"format": "keras"},
    )
    check_round_trip(name, model, weights, xs, ys)

    layer_list = ", ".join(f'"{n}"' for n in names)
    weight_list = "".join(f'    ("{n}", &[{", ".join(str(d) for d in w.shape)}]),\n' for n, w in weights)
    parts = [
        "/// `model.layers` names, in order (a Sequential model does not list its InputLayer).\n"
        f"pub const LAYERS: &[&str] = &[{layer_list}];\n",
        '/// Every weight as "<layer.name>/<weight name>" (the safetensors tensor names) with its\n'
        "/// Keras shape (Dense kernel [in, out]), in `model.weights` order.\n"
        f"pub const WEIGHTS: &[(&str, &[usize])] = &[\n{weight_list}];\n",
    ]
    for i, (x, inp) in enumerate(zip(xs, model.inputs)):
        parts.append(
            rust_matrix(
                f"X{i}",
                f"Model input {i} (`{inp._keras_history.operation.name}`, shape {tuple(inp.shape)}), "
                f"{len(x)} samples; float32-exact.",
                x,
            )
        )
    for i, (y, out) in enumerate(zip(ys, model.outputs)):
        parts.append(
            rust_matrix(
                f"Y{i}",
                f"`model.predict` output {i} (`{out._keras_history.operation.name}`), float32.",
                y,
            )
        )
    doc_lines = textwrap.wrap(f"Keras model `{name}`: {doc}.", width=96, break_on_hyphens=False)
    return (
        "".join(f"/// {line}\n" for line in doc_lines)
        + f"/// Files: `tests/fixtures/keras/{name}.keras`, `.weights.h5`, `.safetensors`.\n"
        f"pub mod {name} {{\n{indent(chr(10).join(parts))}}}\n"
    )


def unsupported_fixture() -> None:
    """`unsupported.keras`: a model with a layer nn does not support yet (SpectralNormalization;
    UnitNormalization until nn supported it), for the compile-fail test of `keras_model!`."""
    keras.utils.clear_session()
    keras.utils.set_random_seed(1010)
    model = keras.Sequential([keras.Input((4,)), L.Dense(4), L.SpectralNormalization(L.Dense(4)), L.Dense(1)])
    model.save(KERAS_DIR / "unsupported.keras")
    pin_archive(KERAS_DIR / "unsupported.keras")


TORCH_DIR = FIXTURES / "torch"


def torch_fixture() -> bool:
    """`torch/mlp.safetensors`: a PyTorch MLP saved with `safetensors.torch.save_file`, and
    `torch_mlp.rs` with inputs and PyTorch's outputs. Needs `scripts/requirements-torch.txt`
    (a multi-gigabyte install, so kept apart); without torch the fixture is left as it is."""
    try:
        import safetensors.torch
        import torch
    except (ImportError, ValueError, OSError) as e:
        print(f"torch fixture skipped: {e}")
        return False
    torch.manual_seed(1011)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
    )
    TORCH_DIR.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(model.state_dict(), str(TORCH_DIR / "mlp.safetensors"))
    x = uniform_inputs(np.random.default_rng(1011), 3)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    assert y.dtype == np.float32 and np.all(np.isfinite(y))
    names = ", ".join(f"`{k}` {tuple(v.shape)}" for k, v in model.state_dict().items())
    rs = (
        f"// @generated by scripts/make_fixtures.py (torch {torch.__version__}). Do not edit.\n"
        "// A PyTorch nn.Sequential(Linear(3, 8), ReLU(), Linear(8, 4), Tanh(), Linear(4, 2)), seed 1011,\n"
        "// saved to tests/fixtures/torch/mlp.safetensors with safetensors.torch.save_file.\n"
        f"// Tensors: {names}.\n\n"
        + rust_matrix("X0", "Inputs.", x.astype(np.float64))
        + "\n"
        + rust_matrix("Y0", "PyTorch's outputs, float32.", y.astype(np.float64))
    )
    (FIXTURES / "torch_mlp.rs").write_text(rs, encoding="utf-8")
    return True


def keras_fixtures() -> str:
    KERAS_DIR.mkdir(parents=True, exist_ok=True)
    return "\n".join(keras_module(*spec) for spec in KERAS_MODELS)


def versions() -> str:
    return f"keras {keras.__version__}, jax {jax.__version__}, numpy {np.__version__}"


def main() -> int:
    assert keras.backend.backend() == "jax"
    assert keras.backend.floatx() == "float32"
    assert jax.config.jax_enable_x64
    FIXTURES.mkdir(parents=True, exist_ok=True)

    header = (
        f"// @generated by scripts/make_fixtures.py ({versions()}). Do not edit.\n"
        "// Values are exact f64 renderings of Keras 3 (JAX backend, CPU) outputs.\n\n"
    )
    rs = header + "\n".join([elementwise_fixtures(), softmax_fixtures(), dense_fixtures()])
    (FIXTURES / "activations.rs").write_text(rs, encoding="utf-8")

    (FIXTURES / "summary.txt").write_text(summary_fixture(), encoding="utf-8")

    functional_header = (
        f"// @generated by scripts/make_fixtures.py ({versions()}). Do not edit.\n"
        "// Keras 3 functional-API models (JAX backend, CPU, float32); values are exact f64\n"
        "// renderings of the float32 weights, inputs and `model.predict` outputs.\n\n"
    )
    (FIXTURES / "functional.rs").write_text(functional_header + functional_fixtures(), encoding="utf-8")

    keras_header = (
        f"// @generated by scripts/make_fixtures.py ({versions()},\n"
        f"// safetensors {safetensors.__version__}, h5py {h5py.__version__}). Do not edit.\n"
        "// Keras 3 models saved to tests/fixtures/keras/<name>.{keras,weights.h5,safetensors} (JAX\n"
        "// backend, CPU, float32); values are exact f64 renderings of the float32 inputs and\n"
        "// `model.predict` outputs.\n\n"
    )
    (FIXTURES / "keras_models.rs").write_text(keras_header + keras_fixtures(), encoding="utf-8")
    unsupported_fixture()
    torch_fixture()
    outputs = ["activations.rs", "summary.txt", "functional.rs", "keras_models.rs", "keras/"]
    written = ", ".join(str(FIXTURES / f) for f in outputs)
    print(f"wrote {written} ({versions()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
