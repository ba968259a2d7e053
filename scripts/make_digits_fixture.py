"""Write the scikit-learn digits data set as a small binary file for `examples/digits_train.rs`,
and Keras 3's test accuracy on the same split with the same MLP, for the example to print beside
its own.

Run from the repository root (same venv as scripts/make_fixtures.py; scikit-learn is pinned in
scripts/requirements.txt, and `load_digits` reads the copy shipped inside the scikit-learn
package, so nothing is downloaded):

    python3.11 -m venv .venv
    .venv/bin/pip install -r scripts/requirements.txt
    .venv/bin/python scripts/make_digits_fixture.py

What it does, deterministically (two runs write byte-identical files):

1. `sklearn.datasets.load_digits()`: 1797 samples of 8x8 = 64 pixels with integer values 0..=16,
   labels 0..=9. The samples are shuffled with `np.random.default_rng(0).permutation(1797)`; the
   first int(0.8 * 1797) = 1437 of the permuted order are the training split, the remaining 360
   the test split.
2. Writes (overwriting) `examples/data/digits.bin` (format in `examples/data/README.md`): ASCII
   magic `DIGITS1\\n`, u32 little-endian train count and test count, then each sample as 65
   bytes, the label then the 64 pixels (row-major) as u8; training samples first, each split in
   permuted order. The file is read back and checked against the arrays before training, and
   Keras trains on what was read back.
3. For each seed 0..=4: `keras.utils.clear_session()`, `keras.utils.set_random_seed(seed)`,
   inputs scaled by 1/16 (float32), `Sequential([Input((64,)), Dense(64, activation="relu"),
   Dense(10, activation="softmax")])`, `compile(optimizer=Adam(learning_rate=0.001),
   loss="sparse_categorical_crossentropy", metrics=["accuracy"])`, `fit(x_train, y_train,
   epochs=30, batch_size=32, shuffle=True, verbose=0)`, then `evaluate(x_test, y_test,
   batch_size=32)`'s accuracy.
4. Writes (overwriting) `examples/data/digits_keras.txt`: a first `#` comment line with the
   Keras / JAX versions and the hyper-parameters, then one line `seed <s> test_accuracy <acc>`
   per seed and a last line `mean <acc>` (the mean over the seeds), accuracies with 6 decimals.
"""

import os

# Must be set before keras / jax are imported.
os.environ["KERAS_BACKEND"] = "jax"
os.environ["JAX_PLATFORMS"] = "cpu"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import struct  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
BIN = DATA / "digits.bin"
KERAS_TXT = DATA / "digits_keras.txt"

MAGIC = b"DIGITS1\n"
SPLIT_SEED = 0
TRAIN_FRACTION = 0.8
SEEDS = range(5)
HIDDEN = 64
EPOCHS = 30
BATCH_SIZE = 32
LEARNING_RATE = 0.001


def split():
    """(x_train, y_train, x_test, y_test) as uint8 arrays, x of shape (n, 64)."""
    digits = load_digits()
    x = digits.data
    y = digits.target
    assert x.shape == (1797, 64) and y.shape == (1797,)
    assert np.all(x == np.round(x)) and x.min() >= 0 and x.max() <= 16
    assert y.min() >= 0 and y.max() <= 9
    x = x.astype(np.uint8)
    y = y.astype(np.uint8)
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    n_train = int(TRAIN_FRACTION * len(x))
    train, test = perm[:n_train], perm[n_train:]
    return x[train], y[train], x[test], y[test]


def write_bin(path, x_train, y_train, x_test, y_test):
    out = bytearray(MAGIC)
    out += struct.pack("<II", len(x_train), len(x_test))
    for x, y in ((x_train, y_train), (x_test, y_test)):
        rows = np.concatenate([y[:, None], x], axis=1).astype(np.uint8)
        out += rows.tobytes()
    path.write_bytes(bytes(out))


def read_bin(path):
    data = path.read_bytes()
    assert data[: len(MAGIC)] == MAGIC, "bad magic"
    n_train, n_test = struct.unpack_from("<II", data, len(MAGIC))
    body = np.frombuffer(data, dtype=np.uint8, offset=len(MAGIC) + 8)
    assert body.size == (n_train + n_test) * 65, "bad length"
    rows = body.reshape(n_train + n_test, 65)
    train, test = rows[:n_train], rows[n_train:]
    return train[:, 1:], train[:, 0], test[:, 1:], test[:, 0]


def keras_accuracy(seed, x_train, y_train, x_test, y_test):
    keras.utils.clear_session()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(HIDDEN, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, shuffle=True, verbose=0)
    logs = model.evaluate(x_test, y_test, batch_size=BATCH_SIZE, verbose=0, return_dict=True)
    return float(logs["accuracy"])


def main():
    DATA.mkdir(parents=True, exist_ok=True)
    arrays = split()
    write_bin(BIN, *arrays)
    read = read_bin(BIN)
    for a, b in zip(arrays, read):
        assert np.array_equal(a, b), "digits.bin does not read back to the split"
    x_train, y_train, x_test, y_test = read
    print(f"wrote {BIN.relative_to(ROOT)}: {len(x_train)} train, {len(x_test)} test, "
          f"{BIN.stat().st_size} bytes", file=sys.stderr)

    xs_train = x_train.astype(np.float32) / 16.0
    xs_test = x_test.astype(np.float32) / 16.0
    ys_train = y_train.astype(np.int32)
    ys_test = y_test.astype(np.int32)

    lines = [
        f"# keras {keras.__version__}, jax {jax.__version__} (backend jax, cpu), "
        f"scikit-learn {sklearn.__version__}; split: np.random.default_rng({SPLIT_SEED})"
        f".permutation(1797), first {len(x_train)} train, last {len(x_test)} test; "
        f"x / 16 as float32; Sequential([Input((64,)), Dense({HIDDEN}, relu), "
        f"Dense(10, softmax)]); keras.utils.set_random_seed(seed); "
        f"Adam(learning_rate={LEARNING_RATE}); loss sparse_categorical_crossentropy; "
        f"fit(epochs={EPOCHS}, batch_size={BATCH_SIZE}, shuffle=True); "
        f"evaluate(batch_size={BATCH_SIZE}) accuracy on the test split"
    ]
    accs = []
    for seed in SEEDS:
        acc = keras_accuracy(seed, xs_train, ys_train, xs_test, ys_test)
        accs.append(acc)
        lines.append(f"seed {seed} test_accuracy {acc:.6f}")
        print(lines[-1], file=sys.stderr)
    lines.append(f"mean {sum(accs) / len(accs):.6f}")
    KERAS_TXT.write_text("\n".join(lines) + "\n")
    print(f"wrote {KERAS_TXT.relative_to(ROOT)}: {lines[-1]}", file=sys.stderr)


if __name__ == "__main__":
    main()
