#!/usr/bin/env bash
# Regenerates tests/fixtures/dsl/: `nn dsl`'s source for every `.keras` fixture nn compiles
# (each `<dir>_<name>.rs`, the type named after the file), and `all.rs`, the modules
# tests/dsl.rs compiles and checks against `keras_model!`'s models. tests/dsl.rs also checks
# that the sources are what `nn dsl` prints today.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p nn-cli
out=tests/fixtures/dsl
rm -f "$out"/*.rs
for path in $(find tests/fixtures/keras -name '*.keras' ! -name unsupported.keras | sort); do
    rel=${path#tests/fixtures/keras/}
    module=$(echo "${rel%.keras}" | sed 's|/|_|g')
    target/debug/nn dsl "$path" > "$out/$module.rs"
    type=$(grep -E '^    pub struct ' "$out/$module.rs" | tail -1 | sed -E 's/^    pub struct ([A-Za-z0-9_]+).*/\1/')
    cat >> "$out/all.rs" <<RUST
mod $module {
    include!("$module.rs");
    nn::keras_model! { pub struct Keras = "$path"; }

    #[test]
    fn compiles_to_keras_models_outputs() {
        super::same_model::<$type, Keras>(&Keras::KERAS, "$path");
    }
}

RUST
done
