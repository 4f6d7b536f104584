"""Build tests/data/mnist_sample.npz: a small, real MNIST sample for the fast offline tests.

The data tests need real MNIST bytes (to exercise the loaders on genuine images and labels) but
must not depend on the 11 MB full set being present, so a deterministic slice of it is committed:
the first TRAIN_COUNT training and first TEST_COUNT test images with their labels, unchanged.
The source must be the full MNIST set (checked by its content sha256), so that re-running this
script reproduces the committed sample's content sha256, which tests/test_data.py asserts. The
file bytes themselves are not reproducible (the zip entries carry timestamps); the content is.

Usage (from the repository root):
    python scripts/make_test_sample.py [SOURCE] [--output PATH]
SOURCE defaults to ../shared/data/mnist.npz, PATH to tests/data/mnist_sample.npz.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Content sha256 of the full MNIST set (../shared/data/README.md).
FULL_MNIST_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"
TRAIN_COUNT = 1000
TEST_COUNT = 200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path,
                        default=REPO_ROOT.parent / "shared" / "data" / "mnist.npz",
                        help="the full MNIST set as a Keras-layout .npz "
                             "(default: ../shared/data/mnist.npz from the repository root)")
    parser.add_argument("--output", type=Path,
                        default=REPO_ROOT / "tests" / "data" / "mnist_sample.npz",
                        help="where to write the sample (default: tests/data/mnist_sample.npz)")
    args = parser.parse_args(argv)
    # Run as a file, the script's own folder is on sys.path, not the repository root.
    sys.path.insert(0, str(REPO_ROOT))
    from pipeline.data import DataError, content_sha256, load_npz

    try:
        mnist = load_npz(args.source)
    except DataError as exc:
        print(exc, file=sys.stderr)
        return 1
    if mnist.sha256 != FULL_MNIST_SHA256:
        print(f"{mnist.source} has content sha256 {mnist.sha256}, not that of the full MNIST set "
              f"({FULL_MNIST_SHA256}); the sample would not match the one the tests expect. "
              f"Pass the full set, e.g. ../shared/data/mnist.npz.", file=sys.stderr)
        return 1
    sample = {
        "x_train": mnist.x_train[:TRAIN_COUNT],
        "y_train": mnist.y_train[:TRAIN_COUNT],
        "x_test": mnist.x_test[:TEST_COUNT],
        "y_test": mnist.y_test[:TEST_COUNT],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.output, **sample)
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes): {TRAIN_COUNT} training and "
          f"{TEST_COUNT} test images from {mnist.source}")
    print(f"content sha256: {content_sha256(*sample.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
