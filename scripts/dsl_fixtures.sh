#!/usr/bin/env bash
# Regenerates tests/fixtures/dsl/*.rs: `nn dsl`'s source for the models tests/dsl.rs compiles
# and checks against `keras_model!`'s (tests/dsl.rs also checks that these files are what
# `nn dsl` prints today).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p nn-cli
for model in xor residual siamese multi_io tensor/nested_siamese tensor/nested_conv_autoencoder \
    rnn/lstm_return_state tensor/mha_attention_mask norm/dense_bn_mlp; do
    name=$(basename "$model")
    target/debug/nn dsl "tests/fixtures/keras/$model.keras" > "tests/fixtures/dsl/$name.rs"
done
