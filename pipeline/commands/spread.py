"""`bench spread`: the seed-to-seed spread the thresholds are set from (pipeline/suite/spread.py).

The [variants.NAME] bounds in bench/thresholds.toml are set from this table, so anyone can
re-measure them: it builds the selected variants (default: all) for N seeds and prints each
seed's figures (`variant.figure`) plus their mean, standard deviation, min and max.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from pipeline import RUNS_DIR
from pipeline.console import fail
from pipeline.data import DataError
from pipeline.measure.environment import new_run_id
from pipeline.options import DATA, WORKLOAD
from pipeline.recipe import DEFAULT_SEED
from pipeline.results import write_atomic
from pipeline.suite.spread import spread_table
from pipeline.variants.registry import UnknownVariant, select
from pipeline.workload import WorkloadError
from pipeline.workloads import DEFAULT_WORKLOAD, resolve_workload

#: Its name in messages and --help.
PROG = "bench spread"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds (default 5)")
    parser.add_argument("--first-seed", type=int, default=DEFAULT_SEED)
    WORKLOAD.add_to(parser.add_argument, default=DEFAULT_WORKLOAD)
    DATA.add_to(parser.add_argument, default=None)
    parser.add_argument("--variants", metavar="NAMES", default="all",
                        help="'all' (default), 'default' (the reference recipe's four) or "
                             "comma-separated variant names")
    parser.add_argument("--out", metavar="CSV", type=Path, default=None,
                        help="write the table here (default runs/<run_id>/spread.csv, beside "
                             "the seeds' artifacts and git-ignored; the table behind the "
                             "committed thresholds is kept in results/spread/)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    try:
        workload = resolve_workload(args.workload)
        variants = select(args.variants, workload)
    except (UnknownVariant, WorkloadError) as exc:
        parser.error(str(exc))
    try:
        dataset = workload.load(args.data)
    except (DataError, WorkloadError) as exc:
        return fail(PROG, str(exc))
    run_id = new_run_id()
    table = spread_table(dataset, workload, variants,
                         range(args.first_seed, args.first_seed + args.seeds),
                         RUNS_DIR / run_id, partial(print, flush=True))
    out = args.out or RUNS_DIR / run_id / "spread.csv"
    write_atomic(table, out)
    # One line per figure, one column per seed and statistic: 80+ figures do not fit across.
    print(table.set_index("seed").T.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"written: {out}")
    return 0
