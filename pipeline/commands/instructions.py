"""`bench instructions MODEL.tflite ...`: count TFLite models' instructions under callgrind
(pipeline/measure/instructions.py), outside a session."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline import REPO_ROOT
from pipeline.console import fail
from pipeline.data import scale_pixels
from pipeline.measure.callgrind import InstructionsUnavailable
from pipeline.measure.instructions import INVOKES, InstructionCounter
from pipeline.measure.interpreters import RUNTIMES

#: Its name in messages and --help.
PROG = "bench instructions"


def main(argv: Sequence[str] | None = None) -> int:
    """`bench instructions MODEL.tflite ...`: each model's counts on every installed runtime,
    1 thread, with MNIST test image 0 of the shipped sample as input."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Count the instructions of allocate_tensors(), the first invoke() and each "
                    "steady invoke() of TFLite models under valgrind's callgrind (1 thread).")
    parser.add_argument("models", metavar="MODEL", type=Path, nargs="+")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES),
                        help=f"comma-separated, from {', '.join(RUNTIMES)} (default: all)")
    parser.add_argument("--invokes", type=int, default=INVOKES,
                        help=f"invokes per counting process (default {INVOKES})")
    args = parser.parse_args(argv)
    sample = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
    with np.load(sample) as data:
        image = scale_pixels(data["x_test"][0])
    print(f"{'model':<28} {'runtime':<26} {'allocate':>12} {'first invoke':>13} "
          f"{'per invoke':>11}")
    try:
        with InstructionCounter(args.runtimes.split(","), image,
                                invokes=args.invokes) as counter:
            for model in args.models:
                counter.submit(model)
            found = counter.results()
    except (InstructionsUnavailable, ValueError) as exc:
        return fail(PROG, str(exc))
    status = 0
    for (name, runtime), count in found.items():
        if isinstance(count, InstructionsUnavailable):
            status = fail(PROG, str(count))
            continue
        print(f"{name:<28} {runtime:<26} {count.allocate:>12,} {count.first_invoke:>13,} "
              f"{count.per_invoke:>11,}", flush=True)
    return status
