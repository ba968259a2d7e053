"""Generate the Keras fixture for weight initializers.

Run from the repository root (see make_fixtures.py for the environment):

    .venv/bin/python scripts/make_init_fixture.py

Writes (overwriting) tests/fixtures/keras/initializers.keras: a Sequential MLP whose Dense
layers each name initializers other than Keras's defaults, initialized by Keras from
`keras.utils.set_random_seed(SEED)` and saved untrained. `tests/initializers.rs` compiles it
with `keras_model!` (the configs become the DSL's `kernel_initializer = ...` arguments) and
checks Keras's own draws against the initializers' formulas: bounds, variances, orthogonality.
The archive is pinned as make_fixtures.py pins its own (dates, object ids).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_fixtures  # noqa: E402  (sets KERAS_BACKEND=jax before importing keras)
from make_fixtures import KERAS_DIR, keras, pin_archive  # noqa: E402

SEED = 7


def build():
    init = keras.initializers
    return keras.Sequential(
        [
            keras.Input((32,)),
            keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal", name="he"),
            keras.layers.Dense(
                32,
                kernel_initializer=init.Orthogonal(gain=2.0),
                bias_initializer=init.Constant(0.1),
                name="orthogonal",
            ),
            keras.layers.Dense(
                32,
                activation="tanh",
                kernel_initializer="lecun_uniform",
                bias_initializer=init.RandomUniform(-0.1, 0.2),
                name="lecun",
            ),
            keras.layers.Dense(
                16,
                kernel_initializer=init.TruncatedNormal(stddev=0.2),
                bias_initializer="ones",
                name="truncated",
            ),
            keras.layers.Dense(
                4,
                activation="softmax",
                kernel_initializer=init.GlorotNormal(seed=3),
                bias_initializer=init.RandomNormal(mean=0.5, stddev=0.1),
                name="glorot",
            ),
        ],
        name="initializers",
    )


def main() -> int:
    keras.utils.set_random_seed(SEED)
    model = build()
    path = KERAS_DIR / "initializers.keras"
    model.save(path)
    pin_archive(path)
    loaded = keras.saving.load_model(path)
    for a, b in zip(model.weights, loaded.weights):
        if not (a.numpy() == b.numpy()).all():
            raise AssertionError(f"{a.path}: reloaded weights differ")
    print(f"wrote {path} ({make_fixtures.versions()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
