"""Time `pytest bench` against the bare reference recipe, or against itself at another
revision, side by side, on this machine.

The suite must take no longer than the recipe it wraps (issue 2, "Speed"), and a change must not
make it slower than before (`--against REV`, e.g. `--against HEAD~1` or `--against main`: that
revision's `pytest bench`, from a temporary git worktree, in place of the bare recipe). Absolute
seconds depend on the machine, so both commands run here, interleaved (other, suite, other,
suite, ...) so that drift in machine load hits both alike; the verdict is the ratio of medians.

Usage: python scripts/time_vs_bare.py [--repeats N] [--mnist PATH] [--against REV]
                                     [--variants NAMES] [--max-ratio X]
Exit status 1 when the ratio of medians (suite / other) exceeds --max-ratio (default 1.0). The
targets (docs/speed.md): the default suite at most 0.9x the bare recipe, `--variants all` at
most 3x.
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


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mnist", default=os.environ.get("MNIST_PATH"),
                        help="MNIST .npz (default $MNIST_PATH)")
    parser.add_argument("--against", metavar="REV",
                        help="time `pytest bench` of this git revision instead of the bare recipe")
    parser.add_argument("--variants", metavar="NAMES", default="default",
                        help="pytest bench --variants of the timed suite (default: default)")
    parser.add_argument("--max-ratio", type=float, default=1.0,
                        help="exit 1 when suite / other exceeds this (default 1.0)")
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if args.mnist:
        env["MNIST_PATH"] = str(Path(args.mnist).resolve())
    scratch = Path(tempfile.mkdtemp(prefix="time_vs_bare_"))
    # --variants only when asked: a revision from before the registry does not know it.
    selection = ["--variants", args.variants] if args.variants != "default" else []
    suite = [sys.executable, "-m", "pytest", "bench", "-q", *selection,
             "--results-dir", str(scratch), "--run-dir", str(scratch / "run")]
    if args.against:
        other_name = f"pytest bench at {args.against}"
        worktree = scratch / "worktree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(worktree), args.against],
                       cwd=ROOT, check=True)
        other = (suite, worktree, {**env, "PYTHONPATH": str(worktree)})
    else:
        other_name = "bare recipe"
        other = ([sys.executable, "scripts/bare_recipe.py", str(scratch)], ROOT, env)
    commands = {other_name: other, "pytest bench": (suite, ROOT, env)}
    times: dict[str, list[float]] = {name: [] for name in commands}
    try:
        for i in range(args.repeats):
            for name, (command, cwd, command_env) in commands.items():
                times[name].append(timed(command, cwd, command_env))
                print(f"run {i + 1}: {name}: {times[name][-1]:.1f} s", flush=True)
    finally:
        if args.against:
            subprocess.run(["git", "worktree", "remove", "--force", str(scratch / "worktree")],
                           cwd=ROOT, check=False)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["pytest bench"] / medians[other_name]
    width = max(map(len, times))
    for name, values in times.items():
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name:>{width}}: median {medians[name]:.1f} s  runs {runs}")
    # Each suite run against the other command's run just before it: the spread of these says
    # how much of the verdict is this machine's noise.
    pairs = ", ".join(f"{suite / other:.2f}" for other, suite in
                      zip(times[other_name], times["pytest bench"], strict=True))
    print(f"pytest bench / {other_name} = {ratio:.2f} (allowed: {args.max_ratio:.2f}); "
          f"run by run: {pairs}")
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    raise SystemExit(main())
