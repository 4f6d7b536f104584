"""How often the latency rule of `bench compare` cries wolf, and what it can see.

Measured on real samples, not i.i.d. draws (DEVELOPERS.md: a gate is judged by its error
rates). `record` times the TFLite models of one run in K fresh processes, one after the other
(each process is what one `pytest bench` session's latency part is): every (model, runtime,
threads) both ways,

* the old way (schema 1): one interpreter, 20 warm-up rounds, then 200 back-to-back rounds of
  100 invokes, timed like pytest-benchmark's pedantic mode;
* the new way (schema 2): the interleaved independent repetitions of pipeline/measure/latency.py
  with the [latency] settings of bench/thresholds.toml;

and writes one JSON file per process. `report` then compares every consecutive pair of
processes (A/A: same code, same files, same machine) under the old rule (median ratio beyond
x1.15 and one-sided Mann-Whitney p < 0.01 over the rounds) and under the new rule (the
`[compare]` rule of bench compare), and the same pairs with the candidate's samples scaled
x1.05, x1.10, x1.25, x2 and x3 (sensitivity with the samples' real correlation).

    python scripts/latency_validity.py record runs/<run_id> OUT_DIR [--processes 12]
    python scripts/latency_validity.py report OUT_DIR

The recorded files under tests/fixtures/latency/ are such a recording; tests/test_latency_rule.py
checks the rule against them.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import CompareRules, load_config  # noqa: E402
from pipeline.judge.compare.rules import judge_latency  # noqa: E402
from pipeline.judge.statistics import lag1_autocorrelation, mann_whitney_p  # noqa: E402
from pipeline.measure.latency import LATENCY_THREADS  # noqa: E402

MODELS = ("pruned_tflite", "pruned_quantized_tflite")
RUNTIMES = ("tf.lite", "ai_edge_litert")
THREADS = LATENCY_THREADS
#: The schema-1 method and rule, as they were (bench/thresholds.toml before schema 2).
OLD_WARMUP_ROUNDS, OLD_ROUNDS, OLD_ITERATIONS = 20, 200, 100
OLD_FACTOR, OLD_ALPHA = 1.15, 0.01
SCALES = (1.0, 1.05, 1.10, 1.25, 2.0, 3.0)


def _session(run_dir: Path, out: Path, repetitions: int | None,
             timed_invokes: int | None) -> None:
    """One process: old-way rounds and new-way repetitions of every combination."""
    from pipeline.tfenv import ensure_legacy_keras

    ensure_legacy_keras()
    from pipeline.measure.interpreters import input_shape_of, ready_to_invoke
    from pipeline.measure.latency import LatencyKey, measure_interleaved, synthetic_image

    settings = load_config().latency
    settings = replace(settings, repetitions=repetitions or settings.repetitions,
                       timed_invokes=timed_invokes or settings.timed_invokes)
    keys = [LatencyKey(m, r, t) for m in MODELS for r in RUNTIMES for t in THREADS]
    paths = {m: run_dir / f"{m}.tflite" for m in MODELS}
    # Of the run's input shape, so that any workload's run can be recorded without its data.
    image = synthetic_image(input_shape_of(paths[MODELS[0]]))
    old: dict[str, list[float]] = {}
    for key in keys:  # back to back, as pytest-benchmark ran them
        interpreter = ready_to_invoke(paths[key.model], image, key.runtime, key.threads)
        invoke, rounds = interpreter.invoke, []
        for round_index in range(OLD_WARMUP_ROUNDS + OLD_ROUNDS):
            start = time.perf_counter()
            for _ in range(OLD_ITERATIONS):
                invoke()
            if round_index >= OLD_WARMUP_ROUNDS:
                rounds.append((time.perf_counter() - start) / OLD_ITERATIONS)
        old["|".join(map(str, key))] = rounds
    blocks = measure_interleaved(paths, keys, image, repetitions=settings.repetitions,
                                 warmup_invokes=settings.warmup_invokes,
                                 timed_invokes=settings.timed_invokes, seed=settings.order_seed)
    new = {"|".join(map(str, key)): [b.seconds_per_call for b in blocks[key]] for key in keys}
    out.write_text(json.dumps({"old": old, "new": new, "settings": vars(settings)}))


def record(run_dir: Path, out_dir: Path, processes: int, overrides: list[str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    for i in range(processes):
        start = time.perf_counter()
        subprocess.run([sys.executable, __file__, "_session", str(run_dir),
                        str(out_dir / f"process_{i:02d}.json"), *overrides], check=True, env=env,
                       stderr=subprocess.DEVNULL)
        print(f"process {i}: {time.perf_counter() - start:.1f} s", flush=True)


def old_verdict(reference: Sequence[float], candidate: Sequence[float]) -> str:
    ratio = float(np.median(candidate) / np.median(reference))
    slower = ratio >= 1
    p = mann_whitney_p(reference, candidate, slower=slower)
    if slower and ratio > OLD_FACTOR and p < OLD_ALPHA:
        return "regressed"
    if not slower and ratio < 1 / OLD_FACTOR and p < OLD_ALPHA:
        return "improved"
    return "ok"


def new_verdict(reference: Sequence[float], candidate: Sequence[float],
                rules: CompareRules) -> str:
    """The gate's own latency rule (pipeline.judge.compare.rules.judge_latency), applied as if every
    row were gated (the report shows 2-thread rows too, to show why they are not)."""
    return judge_latency(reference, candidate, rules)[1]


def load_recording(folder: Path) -> list[dict[str, dict[str, list[float]]]]:
    files = sorted(folder.glob("process_*.json"))
    if len(files) < 2:
        raise SystemExit(f"{folder}: needs at least two process_*.json files; run `record`")
    return [json.loads(f.read_text()) for f in files]


def report(folder: Path) -> None:
    rules = load_config().compare
    sessions = load_recording(folder)
    keys = list(sessions[0]["new"])
    pairs = list(zip(sessions[:-1], sessions[1:], strict=True))
    print(f"{len(sessions)} processes, {len(pairs)} consecutive A/A pairs x {len(keys)} keys; "
          f"new rule: ratio beyond x{rules.latency_slowdown_max} and its "
          f"{1 - rules.latency_alpha:.0%} CI beyond 1 (2-thread rows shown as if gated)\n")
    print("| method | threads | scale | regressed | improved | ok | min ratio | median ratio | "
          "max ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for method in ("old", "new"):
        for threads in THREADS:
            chosen = [k for k in keys if k.endswith(f"|{threads}")]
            for scale in SCALES:
                verdicts, ratios = [], []
                for a, b in pairs:
                    for k in chosen:
                        ref, cand = a[method][k], [v * scale for v in b[method][k]]
                        ratios.append(float(np.median(cand) / np.median(ref)))
                        verdicts.append(old_verdict(ref, cand) if method == "old"
                                        else new_verdict(ref, cand, rules))
                counts = {v: verdicts.count(v) for v in ("regressed", "improved", "ok")}
                print(f"| {method} | {threads} | x{scale:.2f} | {counts['regressed']} | "
                      f"{counts['improved']} | {counts['ok']} | {min(ratios):.3f} | "
                      f"{np.median(ratios):.3f} | {max(ratios):.3f} |")
    lag = [lag1_autocorrelation(s["old"][k]) for s in sessions for k in keys]
    lag_new = [lag1_autocorrelation(s["new"][k]) for s in sessions for k in keys]
    print(f"\nlag-1 autocorrelation, median (max): old rounds {np.median(lag):.2f} "
          f"({max(lag):.2f}); new repetitions {np.median(lag_new):.2f} ({max(lag_new):.2f})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="time a run's models in fresh processes")
    rec.add_argument("run_dir", type=Path, help="runs/<run_id>: the .tflite files to time")
    rec.add_argument("out_dir", type=Path)
    rec.add_argument("--processes", type=int, default=12)
    one = sub.add_parser("_session")  # internal: one process of `record`
    one.add_argument("run_dir", type=Path)
    one.add_argument("out", type=Path)
    for sub_parser in (rec, one):
        sub_parser.add_argument("--repetitions", type=int,
                                help="override [latency] repetitions (to choose it)")
        sub_parser.add_argument("--timed-invokes", type=int,
                                help="override [latency] timed_invokes (to choose it)")
    rep = sub.add_parser("report", help="A/A and sensitivity tables of a recording")
    rep.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "record":
        overrides = [f"--{name.replace('_', '-')}={value}" for name, value in
                     (("repetitions", args.repetitions), ("timed_invokes", args.timed_invokes))
                     if value]
        record(args.run_dir, args.out_dir, args.processes, overrides)
    elif args.command == "report":
        report(args.out_dir)
    else:
        _session(args.run_dir, args.out, args.repetitions, args.timed_invokes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
