#!/usr/bin/env python3
"""Regenerate BENCHMARKS.md: every benchmark, side by side, in interleaved rounds.

Run from the repository root (Python 3 standard library only; Rust builds everything):

    python3 scripts/bench.py            # nn, the hand baselines, a native build, build costs
    python3 scripts/bench.py --peers    # ... plus candle, tract, burn and ndarray (a 20-minute
                                        # first build; see peers/README.md)
    python3 scripts/bench.py --rounds 5 # more rounds (default 3)
    python3 scripts/bench.py --before REV  # ... plus benches/mlp.rs built from git revision REV
                                        # (in a worktree under /tmp), to check that the Dense
                                        # figures do not regress
    python3 scripts/bench.py --train-only [--peers]  # only the training step (benches/train.rs,
                                        # and peers/'s with --peers), in the same interleaved
                                        # rounds; prints its section and writes it to
                                        # target/bench-train.md, leaving BENCHMARKS.md alone
    python3 scripts/bench.py --transformer-only [--peers]  # only the transformer block, the
                                        # same way (target/bench-transformer.md)
    python3 scripts/bench.py --levels-only [--peers]  # only the MLPs and CNNs at every level,
                                        # beside the hand baselines (and ndarray with --peers):
                                        # the AVX2 targets, in target/bench-levels.md

Every nn figure is also taken at each instruction-set level the machine has below its best
(`NN_MAX_LEVEL=avx2`, `portable`: the same executables, capped), in the same rounds, and the
report shows them side by side with each level's peak from benches/mlp.rs.

It builds the benchmark executables: `benches/mlp.rs` for the default target (nn, the
hand-written baselines and the machine's FMA peak), the same built with `-C target-cpu=native`
(separate target dir), `benches/conv.rs` for the default target (the CNNs kws, sensor and
autoencoder: nn and the direct-loop baseline `hand_direct`; skipped with a message while the
crate has no `conv` bench target), `benches/norm.rs` (a Dense + BatchNormalization MLP beside the same without it), `benches/rnn.rs` (GRU and LSTM steps, the GRU(32) model, the streaming model), `benches/transformer.rs` (a transformer encoder block beside plain loops), `benches/train.rs` (the training step of the digits MLP and of the KWS CNN: nn and the hand-written steps), and with --peers `nn-peers`'s benches (the MLPs, the CNNs and the GRU(32) model; the training steps in candle and burn). Then, round after
round, it runs each of them once, in turn (single-threaded peers, see peers/README.md). A
benchmark's figure is its best criterion median over the rounds: on a shared VM, a neighbour
only ever adds time, and interleaving gives every build the same chances at a quiet moment. The
spread of the per-round default / native ratios is reported beside them. The CNNs get a second
table, with the FMA limit from their FLOPs per sample (see `cnn_macs`). Last, it times clean
and incremental release builds of `examples/mnist_mlp.rs` (M2) and its size, and writes
BENCHMARKS.md. With --peers it also runs `nn-peers`'s `train_alloc_count` once, for the
training section's heap allocations per step.
"""

import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_ARGS = ["--warm-up-time", "1", "--measurement-time", "3"]


def run(cmd, env=None, cwd=ROOT, capture=False):
    """Runs `cmd`; with `capture`, also returns its standard output (printed all the same)."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    if not capture:
        subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, check=True)
        return None
    out = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    print(out, end="", flush=True)
    return out


def bench_executable(args, env=None, cwd=ROOT):
    """Builds a criterion bench with `cargo bench --no-run` and returns its executable."""
    cmd = ["cargo", "bench", *args, "--no-run", "--message-format=json"]
    print("+", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, check=True,
                         capture_output=True, text=True).stdout
    exes = [json.loads(line).get("executable") for line in out.splitlines() if line.startswith("{")]
    exes = [e for e in exes if e and "/deps/" in e]
    assert len(exes) == 1, exes
    return exes[0]


def has_bench(name):
    """Whether the root package `nn` has a bench target called `name`."""
    out = subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return any(t["name"] == name and "bench" in t["kind"]
               for p in json.loads(out)["packages"] if p["name"] == "nn" for t in p["targets"])


def medians(criterion_home):
    """Criterion's median estimate (ns) for every benchmark id under `criterion_home`."""
    out = {}
    for est in Path(criterion_home).glob("**/new/estimates.json"):
        bench = json.loads((est.parent / "benchmark.json").read_text())
        out[bench["full_id"]] = json.loads(est.read_text())["median"]["point_estimate"]
    return out


def cpu_name():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def timed_build(target_dir, touch=None):
    if touch:
        Path(touch).touch()
    start = time.time()
    run(["cargo", "build", "--release", "--example", "mnist_mlp"], env={"CARGO_TARGET_DIR": target_dir})
    return time.time() - start


def train_builds(peers):
    """The training benchmarks: nn's `benches/train.rs` and, with --peers, peers/'s."""
    builds = {}
    if has_bench("train"):
        builds["train"] = (bench_executable(["--bench", "train"]), {})
    else:
        print("note: no `train` bench target in the nn package (benches/train.rs): skipping the training "
              "step", flush=True)
    if peers:
        builds["peers-train"] = (bench_executable(["-p", "nn-peers", "--bench", "train"]),
                                 {"RAYON_NUM_THREADS": "1"})
    return builds


def run_rounds(builds, rounds):
    """Every build once per round, in turn: per build, one dict of criterion medians per round,
    and the standard output of the `train` build's last run (its memory line)."""
    results = {name: [] for name in builds}
    home = ROOT / "target" / "bench-rounds"
    subprocess.run(["rm", "-rf", str(home)], check=True)
    train_out = None
    for r in range(rounds):
        for name, (exe, env, *only) in builds.items():
            criterion_home = home / f"{name}-{r}"
            # A third element is a criterion filter: only the benchmarks whose ids match it.
            out = run([exe, "--bench", *BENCH_ARGS, *only], env={**env, "CRITERION_HOME": str(criterion_home)},
                      capture=name == "train")
            if name == "train":
                train_out = out
            results[name].append(medians(criterion_home))
    return results, train_out


def train_allocations():
    """peers/'s `train_alloc_count` table (heap allocations per training step), or None."""
    try:
        return run(["cargo", "run", "-p", "nn-peers", "--release", "--bin", "train_alloc_count"],
                   env={"RAYON_NUM_THREADS": "1"}, capture=True)
    except subprocess.CalledProcessError as e:
        print(f"note: train_alloc_count failed ({e}): no allocation table", flush=True)
        return None


def best(runs):
    """Per benchmark id, the fastest of its per-round medians."""
    return {k: min(r[k] for r in runs if k in r) for k in set().union(*runs)} if runs else {}


def train_only(peers, rounds):
    builds = train_builds(peers)
    if not builds:
        sys.exit("nothing to run: no `train` bench target and no --peers")
    results, train_out = run_rounds(builds, rounds)
    allocs = train_allocations() if peers else None
    m = {}
    for runs in results.values():
        m.update(best(runs))
    lines = [f"Training step only (`python3 scripts/bench.py --train-only{' --peers' if peers else ''}` on "
             f"{date.today()}: {cpu_name()}, {os.cpu_count()} vCPU, rustc {rustc_version()}, default target; best of "
             f"{rounds} interleaved rounds)."]
    lines += train_report(m, results, train_out, allocs)
    text = "\n".join(lines) + "\n"
    out = ROOT / "target" / "bench-train.md"
    out.write_text(text)
    print(text)
    print(f"(written to {out})")


def transformer_only(peers, rounds):
    """The transformer block alone (benches/transformer.rs, and peers/'s with --peers)."""
    builds = {"transformer": (bench_executable(["--bench", "transformer"]), {})}
    if peers:
        builds["peers"] = (bench_executable(["-p", "nn-peers", "--bench", "peers"]), {"RAYON_NUM_THREADS": "1"},
                           "transformer")
    results, _ = run_rounds(builds, rounds)
    m = {}
    for runs in results.values():
        m.update(best(runs))
    lines = [f"Transformer block only (`python3 scripts/bench.py --transformer-only{' --peers' if peers else ''}` on "
             f"{date.today()}: {cpu_name()}, {os.cpu_count()} vCPU, rustc {rustc_version()}, default target; best of "
             f"{rounds} interleaved rounds)."]
    lines += transformer_report(m)
    text = "\n".join(lines) + "\n"
    out = ROOT / "target" / "bench-transformer.md"
    out.write_text(text)
    print(text)
    print(f"(written to {out})")


# Per nn id of the level table: its row label and, for the products, FLOPs per sample.
def level_rows():
    dense = {"M1": (16, 64, 64, 8), "M2": (784, 128, 64, 10)}
    rows = []
    for model, sizes in dense.items():
        flops = 2 * sum(a * c for a, c in zip(sizes, sizes[1:]))
        rows += [(f"{model}/batch1/nn", f"{model} batch 1", 1, flops),
                 (f"{model}/batch64/nn/64", f"{model} batch 64", 64, flops)]
    for cnn in CNNS:
        flops = 2 * cnn_macs(cnn)
        rows += [(f"{cnn}/batch1/nn", f"{cnn} CNN batch 1", 1, flops),
                 (f"{cnn}/batch64/nn/64", f"{cnn} CNN batch 64", 64, flops)]
    rows += [(f"step/{cell}{h}/nn", f"one {cell.upper()}({h}) step", 1, None)
             for cell in ("gru", "lstm") for h in (8, 32)]
    rows += [("gru32/batch1/nn", "GRU(32) model batch 1", 1, None),
             ("gru32/batch64/nn/64", "GRU(32) model batch 64", 64, None),
             ("transformer/batch1/nn", "transformer block batch 1", 1, None),
             ("transformer/batch64/nn/64", "transformer block batch 64", 64, None),
             ("train_digits/batch32/nn/32", "digits MLP training step (batch 32)", 32, None),
             ("train_kws/batch32/nn/32", "KWS CNN training step (batch 32)", 32, None)]
    return rows


def levels_report(levels_m, levels, m, peers):
    """nn's figures at every level, side by side with each level's peak, and the AVX2 targets."""
    peaks = level_peaks(m)
    present = [lv for lv in levels if levels_m.get(lv)]
    if len(present) < 2:
        return []
    head = " | ".join(LEVEL_NAMES[lv] for lv in present)
    lines = ["", "## Every instruction-set level", "",
             "nn's figures with its kernels capped at each level the machine has (`NN_MAX_LEVEL`, the same "
             "executables), in the same rounds as everything above; per sample for batches. A percentage is "
             "of that level's peak measured in the run (`peak/` in benches/mlp.rs: "
             + ", ".join(f"{LEVEL_NAMES[lv]} {peaks[lv] / 1e9:.0f} GFLOP/s" for lv in present if lv in peaks)
             + "; the portable build's is SSE multiplies and adds, what its loops vectorize to without "
               "`-C target-cpu`).", "",
             f"| figure | {head} |", "|---|" + "---|" * len(present)]
    for key, label, b, flops in level_rows():
        cells = []
        for lv in present:
            v = levels_m[lv].get(key)
            if v is None:
                cells.append("–")
                continue
            v /= b
            pct = f" ({flops / peaks[lv] * 1e9 / v * 100:.0f}%)" if flops and lv in peaks else ""
            cells.append(fmt(v) + pct)
        if any(c != "–" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if "avx2" in present:
        lines += ["", "At the AVX2 level (the targets of issue 23), same run:", ""]
        avx2 = levels_m["avx2"]
        for model in ("M1", "M2"):
            nn = avx2.get(f"{model}/batch64/nn/64")
            one = avx2.get(f"{model}/batch1/nn")
            nd = m.get(f"{model}/batch64/ndarray/64")
            if nn is None:
                continue
            flops = next(f for k, _, _, f in level_rows() if k == f"{model}/batch64/nn/64")
            r = [f"{model} batch 64: {fmt(nn / 64)} a sample"]
            if nd:
                r.append(f"ndarray / nn = {nd / nn:.2f}×")
            if "avx2" in peaks:
                r.append(f"{flops / peaks['avx2'] * 1e9 / (nn / 64) * 100:.0f}% of the AVX2 peak")
            if one:
                r.append(f"batch 1 / batch 64 per sample = {one / (nn / 64):.2f}×")
            lines.append("- " + ", ".join(r))
        for cnn in ("kws", "sensor"):
            r = []
            for batch, b in (("batch1", 1), ("batch64", 64)):
                key = f"{cnn}/{batch}/nn" + (f"/{b}" if b > 1 else "")
                nn, hand = avx2.get(key), m.get(key.replace("/nn", "/hand_direct"))
                if nn and hand:
                    r.append(f"batch {b}: hand_direct / nn = {hand / nn:.2f}×")
                if nn and b == 64 and "avx2" in peaks:
                    r.append(f"{2 * cnn_macs(cnn) / peaks['avx2'] * 1e9 / (nn / 64) * 100:.0f}% of the AVX2 peak")
            one, many = avx2.get(f"{cnn}/batch1/nn"), avx2.get(f"{cnn}/batch64/nn/64")
            if one and many:
                r.append(f"batch 1 / batch 64 per sample = {one / (many / 64):.2f}×")
            if r:
                lines.append(f"- {cnn} CNN: " + ", ".join(r))
        if not peers:
            lines.append("- (ndarray is measured with --peers.)")
    return lines


def levels_only(peers, rounds):
    """The MLPs and CNNs at every level beside the hand baselines (and ndarray with --peers)."""
    builds = {"default": (bench_executable(["--bench", "mlp"]), {})}
    for name in ("conv",):
        if has_bench(name):
            builds[name] = (bench_executable(["--bench", name]), {})
    if peers:
        builds["peers"] = (bench_executable(["-p", "nn-peers", "--bench", "peers"]), {"RAYON_NUM_THREADS": "1"},
                           "ndarray")
    levels = machine_levels()
    builds.update(level_builds(builds, levels))
    results, _ = run_rounds(builds, rounds)
    m = {}
    for name, runs in results.items():
        if "@" not in name:
            m.update(best(runs))
    lines = [f"Levels only (`python3 scripts/bench.py --levels-only{' --peers' if peers else ''}` on {date.today()}: "
             f"{cpu_name()}, {os.cpu_count()} vCPU, rustc {rustc_version()}, default target; best of {rounds} "
             "interleaved rounds)."]
    lines += levels_report(by_level(results, levels), levels, m, peers)
    text = "\n".join(lines) + "\n"
    out = ROOT / "target" / "bench-levels.md"
    out.write_text(text)
    print(text)
    print(f"(written to {out})")


def rustc_version():
    return subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.split()[1]


# The instruction-set levels of nn's kernels, best first, as `NN_MAX_LEVEL` names them.
LEVEL_NAMES = {"avx512": "AVX-512", "avx2": "AVX2", "portable": "portable"}
# The builds whose nn figures are taken at every level (their nn ids end in `/nn` or `/nn/<b>`).
LEVEL_BENCHES = ("default", "conv", "rnn", "transformer", "train")
# Each level's peak benchmark in benches/mlp.rs and its FLOPs per iteration.
PEAKS = {"avx512": ("peak/fma_f32_avx512", 100_000 * 16 * 16 * 2),
         "avx2": ("peak/fma_f32_avx2", 100_000 * 12 * 8 * 2),
         "portable": ("peak/mul_add_f32_sse", 100_000 * 12 * 4 * 2)}


def machine_levels():
    """The levels this machine runs nn's kernels at, best first."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    return [lv for lv, need in (("avx512", {"avx512f"}), ("avx2", {"avx2", "fma"})) if need <= flags] + ["portable"]


def level_builds(builds, levels):
    """Each nn benchmark build again, capped at each level below the machine's best, nn's ids only."""
    extra = {}
    for name in LEVEL_BENCHES:
        if name in builds:
            exe, env, *_ = builds[name]
            for level in levels[1:]:
                extra[f"{name}@{level}"] = (exe, {**env, "NN_MAX_LEVEL": level}, "/nn")
    return extra


def by_level(results, levels):
    """Per level, the best median of every nn id: the best level's from the plain builds."""
    out = {}
    for level in levels:
        m = {}
        for name in LEVEL_BENCHES:
            key = name if level == levels[0] else f"{name}@{level}"
            if key in results:
                m.update({k: v for k, v in best(results[key]).items() if k.endswith("/nn") or "/nn/" in k})
        out[level] = m
    return out


def level_peaks(m):
    """FLOP/s of each level's peak benchmark measured in the run."""
    return {lv: flops / (m[key] * 1e-9) for lv, (key, flops) in PEAKS.items() if key in m}


def main():
    peers = "--peers" in sys.argv
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    if "--levels-only" in sys.argv:
        levels_only(peers, rounds)
        return
    if "--train-only" in sys.argv:
        train_only(peers, rounds)
        return
    if "--transformer-only" in sys.argv:
        transformer_only(peers, rounds)
        return
    native_env = {"RUSTFLAGS": "-C target-cpu=native", "CARGO_TARGET_DIR": str(ROOT / "target" / "native")}
    builds = {"default": (bench_executable(["--bench", "mlp"]), {}),
              "native": (bench_executable(["--bench", "mlp"], native_env), {})}
    if has_bench("conv"):
        builds["conv"] = (bench_executable(["--bench", "conv"]), {})
    else:
        print("note: no `conv` bench target in the nn package (benches/conv.rs): skipping nn and "
              "hand_direct on the CNNs", flush=True)
    if has_bench("norm"):
        builds["norm"] = (bench_executable(["--bench", "norm"]), {})
    if has_bench("rnn"):
        builds["rnn"] = (bench_executable(["--bench", "rnn"]), {})
    if has_bench("transformer"):
        builds["transformer"] = (bench_executable(["--bench", "transformer"]), {})
    if peers:
        builds["peers"] = (bench_executable(["-p", "nn-peers", "--bench", "peers"]), {"RAYON_NUM_THREADS": "1"})
    builds.update(train_builds(peers))
    levels = machine_levels()
    builds.update(level_builds(builds, levels))
    before = sys.argv[sys.argv.index("--before") + 1] if "--before" in sys.argv else None
    if before:
        tree = Path("/tmp") / f"nn-before-{before}"
        if not tree.exists():
            run(["git", "worktree", "add", "--detach", "-f", str(tree), before])
        env = {"CARGO_TARGET_DIR": str(ROOT / "target" / "before")}
        builds["before"] = (bench_executable(["--bench", "mlp"], env, cwd=tree), {})

    results, train_out = run_rounds(builds, rounds)
    allocs = train_allocations() if peers else None

    build_dir = ROOT / "target" / "buildtime"
    subprocess.run(["rm", "-rf", str(build_dir)], check=True)
    clean = timed_build(str(build_dir))
    incremental = timed_build(str(build_dir), touch=ROOT / "examples" / "mnist_mlp.rs")
    size = (build_dir / "release" / "examples" / "mnist_mlp").stat().st_size

    ours = best(results["default"])
    for extra in ("conv", "norm", "rnn", "transformer", "peers", "train", "peers-train"):
        if extra in results:
            ours.update(best(results[extra]))
    spread = {}
    for key in ours:
        if key.endswith("/nn") or "/nn/" in key:
            per_round = [d[key] / n[key] for d, n in zip(results["default"], results["native"])
                         if key in d and key in n]
            if per_round:
                spread[key] = (min(per_round), max(per_round))
    then = None
    if before:
        then = (before, best(results["before"]), results["before"], results["default"])
    train = (results, train_out, allocs)
    levels_section = levels_report(by_level(results, levels), levels, ours, peers)
    write_report(ours, best(results["native"]), peers, clean, incremental, size, rounds, spread, then, train,
                 levels_section)


def fmt(ns):
    if ns is None:
        return "n/a"
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


# The CNNs of benches/conv.rs and peers/ (peers/ has kws and sensor only): one sample's shape
# (spatial.., channels), then its layers in order: ("conv", kernel, strides, same, filters),
# ("convT", kernel, strides, same, filters) for a transposed convolution, ("pool", size),
# ("gap",), ("dense", units).
CNNS = {
    "kws": ((49, 10, 1), [("conv", (5, 3), (2, 1), False, 16), ("pool", 2), ("conv", (3, 3), (1, 1), True, 32),
                          ("gap",), ("dense", 12)]),
    "sensor": ((128, 6), [("conv", (5,), (2,), True, 16), ("pool", 2), ("conv", (3,), (1,), False, 32),
                          ("gap",), ("dense", 8)]),
    "autoencoder": ((8, 8, 1), [("conv", (3, 3), (2, 2), True, 8), ("conv", (3, 3), (2, 2), True, 4),
                                ("convT", (3, 3), (2, 2), True, 16), ("convT", (3, 3), (2, 2), True, 8),
                                ("conv", (3, 3), (1, 1), True, 1)]),
}


def cnn_macs(name):
    """Multiply-adds per sample of the conv and dense layers, with Keras's output shapes.

    A convolution counts every kernel tap at every output position, the taps over "same"
    padding included (the usual convention): outputs × kernel taps × c_in × filters. A
    transposed convolution counts every kernel tap of every input pixel, the taps that land
    outside its output (cropped by "same") included: input pixels × kernel taps × c_in ×
    filters; its output is Keras's, `n · stride` for "same", `(n - 1) · stride + k` for "valid".
    """
    shape, layers = CNNS[name]
    spatial, c = list(shape[:-1]), shape[-1]
    macs = 0
    for layer in layers:
        if layer[0] == "convT":
            _, kernel, strides, same, filters = layer
            taps = 1
            for k in kernel:
                taps *= k
            inputs = 1
            for n in spatial:
                inputs *= n
            macs += inputs * taps * c * filters
            spatial = [n * s if same else (n - 1) * s + k for n, k, s in zip(spatial, kernel, strides)]
            c = filters
        elif layer[0] == "conv":
            _, kernel, strides, same, filters = layer
            spatial = [-(-n // s) if same else (n - k) // s + 1 for n, k, s in zip(spatial, kernel, strides)]
            taps = 1
            for k in kernel:
                taps *= k
            outputs = 1
            for n in spatial:
                outputs *= n
            macs += outputs * taps * c * filters
            c = filters
        elif layer[0] == "pool":
            spatial = [(n - layer[1]) // layer[1] + 1 for n in spatial]
        elif layer[0] == "gap":
            spatial = []
        else:
            macs += c * layer[1]
            c = layer[1]
    return macs


def cnn_report(m, peers, peak_flops):
    """The CNN table and its ratios, or nothing if no CNN was measured."""
    if not any(k.split("/")[0] in CNNS for k in m):
        return []
    peer_cols = ["candle", "tract", "burn", "burn-flex"] if peers else []
    cols = ["nn", "hand_direct"] + peer_cols
    rows = [(model, batch, b) for batch, b in (("batch1", 1), ("batch64", 64)) for model in CNNS]
    lines = [
        "",
        "CNNs (`benches/conv.rs`" + (" and peers/" if peers else "") + "; f32, channels last, same rounds): "
        "kws is (49, 10, 1) → Conv2D 16 (5, 3) strides (2, 1) → MaxPooling2D 2 → Conv2D 32 3×3 same → "
        "GlobalAveragePooling2D → Dense 12 softmax; sensor is (128, 6) → Conv1D 16 k5 strides 2 same → "
        "MaxPooling1D 2 → Conv1D 32 k3 → GlobalAveragePooling1D → Dense 8; autoencoder (examples/autoencoder.rs) "
        "is (8, 8, 1) → Conv2D 8 3×3 strides 2 same → Conv2D 4 3×3 strides 2 same → Conv2DTranspose 16 3×3 "
        "strides 2 same → Conv2DTranspose 8 3×3 strides 2 same → Conv2D 1 3×3 same sigmoid"
        + (" (not in peers/)" if peers else "") + ". `hand_direct` is the direct-loop baseline of "
        "benches/hand/conv.rs.",
        "",
        "| model | batch | " + " | ".join(cols) + " | FMA limit |",
        "|---|---|" + "---|" * (len(cols) + 1),
    ]
    ratios = []
    for model, batch, b in rows:
        vals = {}
        for c in cols:
            v = m.get(f"{model}/{batch}/{c}" + (f"/{b}" if b > 1 else ""))
            vals[c] = None if v is None else v / b
        flops = 2 * cnn_macs(model)
        limit = None if peak_flops is None else flops / peak_flops * 1e9
        lines.append(f"| {model} | {b} | " + " | ".join(fmt(vals[c]) for c in cols) + f" | {fmt(limit)} |")
        nn, hand = vals["nn"], vals["hand_direct"]
        r = []
        if nn and hand:
            r.append(f"nn / hand_direct = {nn / hand:.2f}×")
        if nn and limit:
            r.append(f"{limit / nn * 100:.0f}% of FMA peak")
        for p in peer_cols:
            if vals.get(p) and nn:
                r.append(f"{p} / nn = {vals[p] / nn:.1f}×")
            elif vals.get(p) and hand:
                r.append(f"{p} / hand_direct = {vals[p] / hand:.1f}×")
        if r:
            ratios.append(f"- {model} batch {b}: " + ", ".join(r))
    lines += ["", "Ratios (same run):", ""] + ratios if ratios else []
    lines += ["", "FLOPs per sample (2 × the multiply-adds of the conv and dense layers, every kernel tap counted, "
              "also those over \"same\" padding and, in a transposed convolution, those cropped from its output): "
              + ", ".join(f"{name} {2 * cnn_macs(name):,}" for name in CNNS)
              + ". The FMA limit column is that at the peak below."]
    return lines


def norm_report(m):
    """The cost of BatchNormalization after Dense (benches/norm.rs), or nothing if not measured."""
    rows = []
    for batch, b in [("batch1", 1), ("batch64", 64)]:
        key = lambda name: f"dense_bn/{batch}/{name}" + (f"/{b}" if b > 1 else "")
        with_bn, without = m.get(key("with_bn")), m.get(key("without_bn"))
        if with_bn and without:
            rows.append(f"| {b} | {fmt(with_bn / b)} | {fmt(without / b)} | {with_bn / without:.2f}× |")
    if not rows:
        return []
    return ["", "BatchNormalization after Dense (`benches/norm.rs`, same rounds; per sample): 16 → Dense 64 → "
            "BatchNormalization → relu → Dense 64 → BatchNormalization → relu → Dense 8, and the same model "
            "without its two BatchNormalization layers:", "",
            "| batch | with | without | with / without |", "|---|---|---|---|", *rows]


def transformer_report(m):
    """The transformer encoder block (benches/transformer.rs) beside the hand-written loops and,
    when measured, candle and tract (peers/'s `transformer/...`)."""
    peers = [p for p in ("candle", "tract") if m.get(f"transformer/batch1/{p}")]
    rows = []
    for batch, b in [("batch1", 1), ("batch64", 64)]:
        key = lambda name: f"transformer/{batch}/{name}" + (f"/{b}" if b > 1 else "")
        nn, hand = m.get(key("nn")), m.get(key("hand_arrays"))
        if nn and hand:
            cells = [fmt(nn / b), fmt(hand / b), f"{hand / nn:.2f}×"]
            for p in peers:
                v = m.get(key(p))
                cells += [fmt(v / b), f"{v / nn:.1f}×"] if v else ["–", "–"]
            rows.append(f"| {b} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    head = "| batch | nn | hand_arrays | hand / nn |" + "".join(f" {p} | {p} / nn |" for p in peers)
    return ["", "Transformer encoder block (`benches/transformer.rs`" + (" and peers/'s" if peers else "")
            + ", same rounds; per sample): Input (12, 16) → MultiHeadAttention(2, 8) self-attention → Add → "
            "LayerNormalization → Dense 32 relu → Dense 16 → Add → LayerNormalization → GlobalAveragePooling1D → "
            "Dense 2 softmax, beside the same in plain loops (`benches/hand/transformer.rs`)"
            + (", candle (candle-nn's ops) and tract (an ONNX graph built in memory)" if peers else "") + ":", "",
            head, "|" + "---|" * (4 + 2 * len(peers)), *rows]


def rnn_report(m):
    """Recurrent layers (benches/rnn.rs) beside hand-written nalgebra, or nothing if not measured.

    The GRU(32) rows also show tract (peers/'s `gru32/batch1/tract` and `gru32/batch64/tract/64`,
    the same model as an ONNX GRU node) and tract / nn, when bench.py ran with --peers; every other
    row, and those without --peers, show "–" there.
    """
    rows = []
    for cell in ("gru", "lstm"):
        for h in (8, 16, 32, 64):
            nn, hand = m.get(f"step/{cell}{h}/nn"), m.get(f"step/{cell}{h}/hand_nalgebra")
            if nn and hand:
                rows.append(f"| one step of {cell.upper()}({h}), {h} inputs | 1 | {fmt(nn)} | {fmt(hand)} | "
                            f"{hand / nn:.1f}× | – | – |")
    for batch, b in (("batch1", 1), ("batch64", 64)):
        key = lambda name: f"gru32/{batch}/{name}" + (f"/{b}" if b > 1 else "")
        nn, hand, tract = m.get(key("nn")), m.get(key("hand_nalgebra")), m.get(key("tract"))
        if nn and hand:
            tract_cols = f"{fmt(tract / b)} | {tract / nn:.1f}×" if tract else "– | –"
            rows.append(f"| GRU(32) over 16 steps of 8, Dense(1) | {b} | {fmt(nn / b)} | {fmt(hand / b)} | "
                        f"{hand / nn:.1f}× | {tract_cols} |")
    stream = m.get("stream/step/nn")
    if stream:
        rows.append(f"| streaming model, one sample per `step` | 1 | {fmt(stream)} | n/a | n/a | – | – |")
    if not rows:
        return []
    return ["", "Recurrent layers (`benches/rnn.rs`, same rounds; per sample): nn beside the same computation "
            "written by hand over nalgebra matrices (one matrix-vector product per gate, std `exp`/`tanh`), "
            "and, with --peers, the GRU(32) model in tract (an ONNX `GRU` node, `linear_before_reset = 1`; "
            "see peers/README.md). The streaming model is Dense 1→8 tanh, causal Conv1D 8→4 k3 d2 tanh, "
            "GRU 4→8, Dense 8→1.", "",
            "| computation | batch | nn | hand nalgebra | hand / nn | tract | tract / nn |",
            "|---|---|---|---|---|---|---|", *rows]


# The training step's rows: benchmark id name, what it is.
TRAIN_ROWS = [
    ("nn", "nn: `train_on_batch_flat`, class ids, SparseCategoricalCrossentropy"),
    ("nn_onehot", "nn: typed `train_on_batch`, one-hot targets, CategoricalCrossentropy"),
    ("hand_nalgebra", "hand_nalgebra: nalgebra `DMatrix` operators (gemm via matrixmultiply)"),
    ("hand_arrays", "hand_arrays: plain loops over flat slices"),
    ("candle", "candle: candle-nn `Linear`, `cross_entropy`, `AdamW` (no decay), `backward_step`"),
    ("burn", "burn: `nn::Linear` module, `CrossEntropyLoss`, `Adam`, on `Device::ndarray().autodiff()`"),
    ("burn-flex", "burn-flex: the same on `Device::flex().autodiff()`"),
]

# The same for the KWS CNN (`train_kws/batch32/<name>/32`).
TRAIN_KWS_ROWS = [
    ("nn", "nn: `train_on_batch_flat`, class ids, SparseCategoricalCrossentropy"),
    ("hand_nalgebra", "hand_nalgebra: im2col into nalgebra `DMatrix`, every product a gemm via matrixmultiply"),
    ("hand_arrays", "hand_arrays: direct convolution loops over flat slices"),
    ("candle", "candle: candle-nn `Conv2d` (strides (2, 1) as two stride-2 convolutions), max pooling as `reshape` + "
               "`max`, `mean`, `Linear`, `cross_entropy`, `AdamW` (no decay), `backward_step`"),
    ("burn", "burn: `nn::conv::Conv2d`, `MaxPool2d`, `AdaptiveAvgPool2d`, `nn::Linear` module, `CrossEntropyLoss`, "
             "`Adam`, on `Device::ndarray().autodiff()`"),
    ("burn-flex", "burn-flex: the same on `Device::flex().autodiff()`"),
]


def train_table(m, per_round, group, rows, intro):
    """One model's table of training steps (ids `<group>/<name>/32`) and its ratios to nn, or
    nothing if nn was not measured."""
    key = lambda name: f"{group}/{name}/32"
    nn = m.get(key("nn"))
    if nn is None:
        return []
    lines = ["", intro, "",
             "| implementation | µs / step | steps / s | samples / s | time / nn | per round |",
             "|---|---|---|---|---|---|"]
    ratios = []
    for name, what in rows:
        v = m.get(key(name))
        if v is None:
            continue
        rounds = [d[key(name)] / d[key("nn")] for d in per_round if key(name) in d and key("nn") in d]
        spread = f"{min(rounds):.2f}–{max(rounds):.2f}×" if rounds and name != "nn" else "–"
        lines.append(f"| {what} | {v / 1000:.1f} | {1e9 / v:,.0f} | {32e9 / v:,.0f} | {v / nn:.2f}× | {spread} |")
        if name != "nn":
            ratios.append(f"{name} / nn = {v / nn:.2f}×")
    lines += ["", "Ratios (time per step, same run): " + ", ".join(ratios) + "."]
    return lines


def train_memory(train_out):
    """The `nn-train-memory` lines of benches/train.rs, per model (`model=`; the digits MLP's
    line has none)."""
    mems = {}
    for line in (train_out or "").splitlines():
        if line.startswith("nn-train-memory "):
            mem = dict(kv.split("=") for kv in line.split()[1:])
            mems[mem.pop("model", "digits")] = mem
    return mems


def train_alloc_tables(allocs):
    """The tables of peers/'s train_alloc_count, per model: the rows under each
    `Heap allocations per training step, <model>, ...` title."""
    tables, current = {}, None
    for line in (allocs or "").splitlines():
        if line.startswith("Heap allocations per training step, "):
            current = line[len("Heap allocations per training step, "):].split(",")[0]
            tables[current] = []
        elif line.startswith("|") and current is not None:
            tables[current].append(line)
    return tables


def train_report(m, results, train_out, allocs):
    """The training step (benches/train.rs and peers/'s), or nothing if it was not measured.

    `results` are the per-round medians of every build (for the per-round spread of each ratio
    to nn), `train_out` the standard output of benches/train.rs (its `nn-train-memory` lines),
    `allocs` the tables of peers/'s train_alloc_count or None. The digits MLP, then the KWS CNN.
    """
    # Per round, every build's medians together: the round's ratio of each row to nn.
    per_round = []
    for r in range(max((len(v) for v in results.values()), default=0)):
        merged = {}
        for runs in results.values():
            if r < len(runs):
                merged.update(runs[r])
        per_round.append(merged)
    sources = "`benches/train.rs`" + (" and peers/'s" if "peers-train" in results else "")
    mems = train_memory(train_out)
    tables = train_alloc_tables(allocs)
    lines = train_table(
        m, per_round, "train_digits/batch32", TRAIN_ROWS,
        f"Training step ({sources}, same rounds): one step at batch 32 (forward, loss, backward, Adam update, the "
        "loss read back) of the digits MLP of examples/digits_train.rs, Input 64 → Dense 64 relu → Dense 10 softmax, "
        "Adam(0.001), cross-entropy over class ids; every step on the next batch of the digits train split, in "
        "runs of 1,320 steps (30 epochs) from the same first weights, each run's first step untimed. Before "
        "timing, every implementation's weights after 1 and 10 steps match nn's (benches) or the hand-written "
        "step's (peers) to 1e-5.")
    if lines:
        mem = mems.get("digits")
        if mem:
            kb = lambda k: int(mem[k]) / 1024
            lines += ["", f"Memory of nn's step at batch {mem['batch']} (`Trainer::memory`): {kb('total'):.1f} KB, "
                      f"allocated once and reused: values and their gradients {kb('values'):.1f} KB, weight gradients "
                      f"{kb('gradients'):.1f} KB, optimizer state {kb('optimizer_state'):.1f} KB. nn allocates nothing "
                      "per step after the first (tests/zero_alloc.rs)."]
        table = tables.get("digits MLP")
        if table:
            lines += ["", "Heap allocations per step (peers/'s `train_alloc_count`: 100 steps after 10; peak live "
                      "bytes is the most heap memory live at once during those steps beyond what was live before "
                      "them):", "", *table]
    kws = train_table(
        m, per_round, "train_kws/batch32", TRAIN_KWS_ROWS,
        f"Training step of the KWS CNN ({sources}, same rounds): one step at batch 32 of the CNN of benches/conv.rs, "
        "Input (49, 10, 1) → Conv2D 16 (5, 3) strides (2, 1) relu → MaxPooling2D 2 → Conv2D 32 3×3 same relu → "
        "GlobalAveragePooling2D → Dense 12 softmax, Adam(0.001), cross-entropy over 12 class ids; every step on the "
        "next of 44 synthetic batches (inputs uniform in [-1, 1), random labels; benches/hand/train_kws.rs), timed "
        "as the MLP's. candle and burn compute channels first: weights and inputs are converted once, outside the "
        "step. Before timing, every implementation's weights after 1 and 10 steps match nn's (benches) or the "
        "hand-written step's (peers) to 1e-5.")
    if kws:
        mem = mems.get("kws")
        if mem:
            kb = lambda k: int(mem[k]) / 1024
            kws += ["", f"Memory of nn's KWS step at batch {mem['batch']} (`Trainer::memory`): {kb('total'):.1f} KB "
                    f"(values and their gradients {kb('values'):.1f} KB, weight gradients {kb('gradients'):.1f} KB, "
                    f"optimizer state {kb('optimizer_state'):.1f} KB), allocated once and reused."]
        table = tables.get("KWS CNN")
        if table:
            kws += ["", "Heap allocations per KWS step (peers/'s `train_alloc_count`, as above):", "", *table]
    return lines + kws


def before_report(m, then):
    """The Dense models against a build of an earlier revision, from the same rounds."""
    rev, old, old_rounds, new_rounds = then
    lines = ["", f"Dense before and after: `nn` on M1 and M2 against `benches/mlp.rs` built from `{rev}` "
             "(run in the same rounds, interleaved; per sample):", "",
             "| model | batch | before | now | now / before | per round |", "|---|---|---|---|---|---|"]
    for model, batch, b in [("M1", "batch1", 1), ("M2", "batch1", 1), ("M1", "batch64", 64), ("M2", "batch64", 64)]:
        key = f"{model}/{batch}/nn" + (f"/{b}" if b > 1 else "")
        if key not in old or key not in m:
            continue
        per_round = [n[key] / o[key] for o, n in zip(old_rounds, new_rounds) if key in o and key in n]
        spread = f"{min(per_round):.2f}–{max(per_round):.2f}×" if per_round else "–"
        lines.append(f"| {model} | {b} | {fmt(old[key] / b)} | {fmt(m[key] / b)} | {m[key] / old[key]:.2f}× | "
                     f"{spread} |")
    return lines


def write_report(m, native, peers, clean, incremental, size, rounds, spread, then=None, train=None,
                 levels_section=()):
    peak_id = next((k for k in ("peak/fma_f32_avx512", "peak/fma_f32_avx2") if k in m), None)
    read_m2 = m.get("peak/read_m2_weights")
    peak_flops = None
    if peak_id:
        # The peak benchmark's throughput is FLOPs per iteration (see benches/mlp.rs).
        per_iter = 100_000 * 2 * (16 * 16 if "avx512" in peak_id else 12 * 8)
        peak_flops = per_iter / (m[peak_id] * 1e-9)
    models = {"M1": (16, 64, 64, 8), "M2": (784, 128, 64, 10)}
    rows = [("M1", "batch1", 1), ("M2", "batch1", 1), ("M1", "batch64", 64), ("M2", "batch64", 64)]
    cols = ["nn", "nn (native)", "hand_nalgebra", "hand_arrays", "hand_arrays (native)"] + (
        ["candle", "tract", "burn", "burn-flex", "ndarray"] if peers else [])
    lines = [
        "# Benchmarks",
        "",
        f"Regenerated by `python3 scripts/bench.py{' --peers' if peers else ''}` on {date.today()}: "
        f"{cpu_name()}, {os.cpu_count()} vCPU, rustc {rustc_version()}, "
        "f32, default target (`cargo bench`, no `-C target-cpu`) unless a column says native. Batch-64 rows "
        f"are per sample. Each figure is the best of {rounds} criterion medians, from {rounds} rounds that "
        "ran every build in turn (see the script's header for why); all columns come from one run of the "
        "script.",
        "",
        "| model | batch | " + " | ".join(cols) + " | FMA limit |",
        "|---|---|" + "---|" * (len(cols) + 1),
    ]
    ratios = []
    for model, batch, b in rows:
        def get(name, source=m):
            key = f"{model}/{batch}/{name}" + (f"/{b}" if b > 1 else "")
            v = source.get(key)
            return None if v is None else v / b
        vals = {c: get(c) for c in cols if "(native)" not in c}
        vals["nn (native)"] = get("nn", native)
        vals["hand_arrays (native)"] = get("hand_arrays", native)
        macs = sum(a * c for a, c in zip(models[model], models[model][1:]))
        limit = None if peak_flops is None else 2 * macs / peak_flops * 1e9
        lines.append(f"| {model} | {b} | " + " | ".join(fmt(vals[c]) for c in cols) + f" | {fmt(limit)} |")
        nn = vals["nn"]
        hand = min(v for v in (vals["hand_nalgebra"], vals["hand_arrays"]) if v is not None)
        r = [f"{model} batch {b}: nn / best hand = {nn / hand:.2f}×"]
        if vals["nn (native)"]:
            key = f"{model}/{batch}/nn" + (f"/{b}" if b > 1 else "")
            lo, hi = spread.get(key, (None, None))
            r.append(f"default / native = {nn / vals['nn (native)']:.2f}×"
                     + (f" (per round {lo:.2f}–{hi:.2f}×)" if lo else ""))
        if vals["hand_arrays (native)"]:
            r.append(f"nn / native hand_arrays = {nn / vals['hand_arrays (native)']:.2f}×")
        if limit:
            r.append(f"{limit / nn * 100:.0f}% of FMA peak")
        if read_m2 and (model, b) == ("M2", 1):
            r.append(f"{read_m2 / nn * 100:.0f}% of the speed of a bare read of its weights ({fmt(read_m2)})")
        for p in ("candle", "tract", "burn", "burn-flex", "ndarray"):
            if vals.get(p):
                r.append(f"{p} / nn = {vals[p] / nn:.1f}×")
        ratios.append("- " + ", ".join(r))
    lines += ["", "Ratios (same run):", ""] + ratios
    lines += cnn_report(m, peers, peak_flops)
    lines += norm_report(m)
    lines += rnn_report(m)
    lines += transformer_report(m)
    if train:
        lines += train_report(m, *train)
    lines += list(levels_section)
    if then:
        lines += before_report(m, then)
    lines += ["", "Why the best of several rounds: this is a shared 2-vCPU VM, where one criterion median "
              "of the same binary can move by up to 2× from one minute to the next. A neighbour only ever "
              "adds time, so the fastest of interleaved rounds is the figure least disturbed, for every "
              "column alike; the per-round default / native ratios above show how far single rounds stray."]
    if peak_flops:
        lines += ["", f"FMA peak measured in the same run (`{peak_id}` in benches/mlp.rs: independent FMA "
                  f"chains in registers, no memory traffic): {peak_flops / 1e9:.0f} GFLOP/s f32. The limit "
                  "column is 2 × multiply-adds per sample at that rate."]
    if read_m2:
        lines += ["", f"One sample of M2 is bound by memory, not FMAs: its 428 KiB of weights live in L2, and "
                  f"`peak/read_m2_weights` (the same bytes summed with aligned AVX-512 loads, nothing else) "
                  f"takes {fmt(read_m2)} in the same run."]
    lines += [
        "",
        "Build cost of `examples/mnist_mlp.rs` (M2), release:",
        "",
        f"- clean build, all dependencies: {clean:.1f} s",
        f"- incremental, after touching the example: {incremental:.1f} s",
        f"- binary size: {size / 1024:.0f} KiB",
        "",
    ]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
