"""Check that `.weights.h5` files written by nn load in Keras 3 and give Keras's outputs.

    NN_EXPORT_DIR=/tmp/nnexport cargo test --test keras_files --test tensor_layers \
        --test norm_layers --test rnn_layers
    .venv/bin/python scripts/check_keras_load.py /tmp/nnexport

For every fixture model in tests/fixtures/keras/ and its folders that the tests exported, loads
the `.keras` archive (the reference), then a fresh copy of the same architecture with
`load_weights(<dir>/<folder>/<name>.weights.h5)`, and compares `predict` on random inputs.
Exits non-zero on any difference above 1e-6.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "keras"


def main(export_dir: str) -> int:
    failures = 0
    rng = np.random.default_rng(0)
    for archive in sorted(FIXTURES.glob("**/*.keras")):
        name = str(archive.relative_to(FIXTURES).with_suffix(""))
        written = Path(export_dir) / f"{name}.weights.h5"
        if not written.exists():
            continue
        reference = keras.saving.load_model(archive, compile=False)
        ours = keras.models.clone_model(reference)
        ours.load_weights(written)
        inputs = [rng.uniform(-1, 1, size=(8,) + tuple(i.shape[1:])).astype("float32") for i in reference.inputs]
        want = reference.predict(inputs, verbose=0)
        got = ours.predict(inputs, verbose=0)
        want = want if isinstance(want, list) else [want]
        got = got if isinstance(got, list) else [got]
        err = max(float(np.max(np.abs(g - w))) for g, w in zip(got, want))
        print(f"{name:>36}: loaded by Keras, max |difference| {err:.1e}")
        failures += err > 1e-6
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
