"""Time `pytest bench` against the bare reference recipe, side by side, on this machine.

The suite must take no longer than the recipe it wraps (issue 2, "Speed"). Absolute seconds
depend on the machine, so both commands run here, interleaved (bare, suite, bare, suite, ...)
so that drift in machine load hits both alike; the verdict is the ratio of medians.

Usage: python scripts/time_vs_bare.py [--repeats N] [--mnist PATH]
Exit status 1 when the suite's median exceeds the bare recipe's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mnist", default=os.environ.get("MNIST_PATH"),
                        help="MNIST .npz (default $MNIST_PATH)")
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if args.mnist:
        env["MNIST_PATH"] = str(Path(args.mnist).resolve())
    scratch = Path(tempfile.mkdtemp(prefix="time_vs_bare_"))
    bare = [sys.executable, "scripts/bare_recipe.py", str(scratch)]
    suite = [sys.executable, "-m", "pytest", "bench", "-q", "--results-dir", str(scratch),
             "--run-dir", str(scratch / "run")]
    times: dict[str, list[float]] = {"bare recipe": [], "pytest bench": []}
    for i in range(args.repeats):
        for name, command in (("bare recipe", bare), ("pytest bench", suite)):
            times[name].append(timed(command, env))
            print(f"run {i + 1}: {name}: {times[name][-1]:.1f} s", flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["pytest bench"] / medians["bare recipe"]
    for name, values in times.items():
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name:>13}: median {medians[name]:.1f} s  runs {runs}")
    print(f"pytest bench / bare recipe = {ratio:.2f}")
    return 0 if ratio <= 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
