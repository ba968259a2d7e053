#!/usr/bin/env bash
# Fuzzes the weight loaders and `predict_flat` (issue 23): each target for a set time, one
# after another, and reports how many inputs each ran. CI does not run this.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Targets (fuzz/fuzz_targets/): keras_archive, keras_weights, safetensors, raw_bytes,
# predict_flat; all by default, 1800 s (30 minutes) each. Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`). Seeds are the fuzz model's own files
# (`fuzz/src/make_seeds.rs`) and every fixture file of the matching format; corpora grow in
# fuzz/corpus/ (git-ignored), crashes land in fuzz/artifacts/<target>/ with the input that
# made them. Set FUZZ_JOBS to run several targets at once.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-1800}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(keras_archive keras_weights safetensors raw_bytes predict_flat)
fi

cargo +nightly run --quiet --release --bin make_seeds
seed_files() {
  case "$1" in
    keras_archive) find ../tests/fixtures -name '*.keras' ;;
    keras_weights) find ../tests/fixtures -name '*.weights.h5' ;;
    safetensors) find ../tests/fixtures -name '*.safetensors' ;;
    raw_bytes) find ../tests/fixtures -name '*.nnw' ;;
    *) ;;
  esac
}

run() {
  local target="$1" log="fuzz-$1.log"
  mkdir -p "corpus/$target"
  seed_files "$target" | while read -r f; do cp "$f" "corpus/$target/"; done
  cargo +nightly fuzz run --release "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1 \
    >"$log" 2>&1 || { echo "$target: FAILED, see fuzz/$log and fuzz/artifacts/$target/"; return 1; }
  local runs
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  echo "$target: $runs executions in ${seconds} s, no failure"
}

status=0
jobs="${FUZZ_JOBS:-1}"
for target in "${targets[@]}"; do
  run "$target" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || status=1; done
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || status=1; done
exit $status
