"""A same-machine A/B latency comparison of two runs: `python -m pipeline.duel REF CAND`.

The history gate (pipeline.compare) judges a run against runs made earlier, on the machine of
the history. Where that machine is not at hand (a hosted CI runner, a laptop) the history says
nothing about latency: machines and their load differ by more than a TensorFlow upgrade changes.
A duel measures both runs now, here, in adjacent pairs, so only the two environments differ:

* Each side's .tflite artifacts are timed by one long-lived worker (pipeline.duel_worker) in the
  python of that side's environment; a block is a fresh interpreter, a warm-up and
  `timed_invokes` timed calls.
* `pairs` pairs; in each, every key (model, runtime, threads), in a seeded shuffled order, gets
  one reference block and one candidate block back to back. ABBA: the reference goes first in
  even pairs, the candidate in odd ones, so an advantage of going first or second cancels.
  A change in machine load hits both blocks of a pair alike and cancels in the pair's ratio.
* Per key: the median of the per-pair ratios candidate / reference with its distribution-free
  confidence interval (statistics.median_paired_ratio), judged by statistics.judge_ratio:
  regressed only when the ratio exceeds `slowdown_max` and the interval lies above 1.

Run `python -m pipeline.duel --help` for the command line and its exit codes.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError, DuelSettings, load_config
from pipeline.duel_worker import Worker, WorkerError
from pipeline.environment import REPO_ROOT
from pipeline.latency import LatencyKey
from pipeline.results import ResultsFileError, is_missing, read_results
from pipeline.statistics import judge_ratio, median_ci, median_paired_ratio

PROG = "pipeline.duel"
Side = Literal["reference", "candidate"]
SIDES: tuple[Side, Side] = ("reference", "candidate")
Format = Literal["text", "markdown", "json"]
VERDICTS: tuple[str, ...] = ("regressed", "improved", "ok", "reference only", "candidate only")

#: Longest wait for any one reply of a worker. Generous, because a worker's first block
#: imports TensorFlow (10+ s on a busy machine); a block itself takes milliseconds.
REPLY_TIMEOUT_S = 120.0


class DuelError(ValueError):
    """The duel cannot be run as asked; `str()` is one line saying what to change."""


# --- the schedule and the statistics: pure, tested with a fake timer ---------------------------

#: One block of the schedule: (pair index, key, side).
Step = tuple[int, LatencyKey, Side]


def schedule(keys: Iterable[LatencyKey], pairs: int, seed: int) -> list[Step]:
    """Every block of a duel in running order: per pair, the keys in a seeded shuffled order
    (sorted first, so it depends only on the set of keys and the seed), each key's two blocks
    adjacent, reference first on even pairs and candidate first on odd ones (ABBA)."""
    rng = random.Random(seed)
    steps: list[Step] = []
    for pair in range(pairs):
        order = sorted(set(keys))
        rng.shuffle(order)
        sides = SIDES if pair % 2 == 0 else SIDES[::-1]
        steps += [(pair, key, side) for key in order for side in sides]
    return steps


@dataclass(frozen=True)
class PairedSamples:
    """Seconds per call of each pair's blocks of one key: reference[i] and candidate[i] were
    timed back to back."""

    reference: tuple[float, ...]
    candidate: tuple[float, ...]


def run_schedule(keys: Iterable[LatencyKey], settings: DuelSettings,
                 measure: Callable[[Side, LatencyKey], float]) -> dict[LatencyKey, PairedSamples]:
    """Run schedule() with `measure(side, key)` timing one block; the pairs of every key."""
    times: dict[LatencyKey, dict[Side, list[float]]] = {}
    for _, key, side in schedule(keys, settings.pairs, settings.seed):
        times.setdefault(key, {"reference": [], "candidate": []})[side].append(measure(side, key))
    return {key: PairedSamples(tuple(t["reference"]), tuple(t["candidate"]))
            for key, t in sorted(times.items())}


@dataclass(frozen=True)
class DuelRow:
    """The verdict on one key; the numbers are None for a key of one run only."""

    model: str
    runtime: str
    threads: int
    verdict: str
    pairs: int = 0
    reference_median_s: float | None = None
    candidate_median_s: float | None = None
    ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


def judge(key: LatencyKey, samples: PairedSamples, settings: DuelSettings) -> DuelRow:
    """The row of a duelled key: medians of each side, the median paired ratio, its interval
    and the verdict."""
    estimate = median_paired_ratio(samples.reference, samples.candidate,
                                   confidence=settings.confidence)
    return DuelRow(*key, verdict=judge_ratio(estimate, settings.slowdown_max),
                   pairs=len(samples.reference),
                   reference_median_s=float(np.median(samples.reference)),
                   candidate_median_s=float(np.median(samples.candidate)),
                   ratio=estimate.ratio, ci_low=estimate.ci_low, ci_high=estimate.ci_high)


def check_settings(settings: DuelSettings) -> None:
    """Refuse settings that cannot give a verdict, before any worker is started."""
    if settings.timed_invokes < 1 or settings.warmup_invokes < 0:
        raise DuelError(f"timed invokes {settings.timed_invokes} and warm-up invokes "
                        f"{settings.warmup_invokes} must be at least 1 and 0")
    try:
        median_ci(range(settings.pairs), settings.confidence)
    except ValueError as exc:
        raise DuelError(f"{settings.pairs} pairs: {exc}; raise --pairs") from None


# --- the runs: results CSVs, artifacts and environments -----------------------------------------

@dataclass(frozen=True)
class Run:
    """One side of a duel: a run's results, where its .tflite files are, and the python of the
    environment it was made with."""

    side: Side
    run_id: str
    tensorflow: str
    litert: str
    keys: frozenset[LatencyKey]
    run_dir: Path
    python: str

    def label(self) -> str:
        return f"{self.run_id} (tensorflow {self.tensorflow}, litert {self.litert or 'none'})"


def load_run(side: Side, csv: Path, run_dir: Path | None, python: str) -> Run:
    """The run of `csv` (ResultsFileError when unusable) and its latency keys; its artifacts
    are in `run_dir`, by default runs/<run_id>/ where `pytest bench` wrote them."""
    frame = read_results(csv)
    first = frame.iloc[0]
    latency = frame[frame["metric"] == "latency"]
    keys = frozenset(LatencyKey(str(model), str(runtime), int(threads)) for model, runtime, threads
                     in zip(latency["model"], latency["runtime"], latency["threads"], strict=True))
    run_id = str(first["run_id"])
    litert = "" if is_missing(first["litert"]) else str(first["litert"])
    return Run(side, run_id, str(first["tensorflow"]), litert, keys,
               (run_dir or REPO_ROOT / "runs" / run_id).absolute(), python)


def artifact_paths(run: Run, keys: Iterable[LatencyKey]) -> dict[str, Path]:
    """model -> its .tflite file in the run's folder; DuelError naming the first one missing."""
    paths = {model: run.run_dir / f"{model}.tflite" for model in sorted({k.model for k in keys})}
    for path in paths.values():
        if not path.is_file():
            raise DuelError(f"{run.side} run {run.run_id}: {path} not found; a duel times the "
                            f"run's own .tflite files: pass --{run.side}-run-dir DIR holding "
                            f"them (pytest bench writes them to runs/<run_id>/)")
    return paths


def check_environment(run: Run, versions: Mapping[str, str]) -> None:
    """The worker's python must be the run's environment, or the duel would time other
    versions than the report names."""
    if (versions["tensorflow"], versions["litert"]) != (run.tensorflow, run.litert):
        line = "tf" + "".join(run.tensorflow.split(".")[:2])
        raise DuelError(
            f"{run.side} run {run.run_id} was made with tensorflow {run.tensorflow}, litert "
            f"{run.litert or 'none'}, but {run.python} has tensorflow "
            f"{versions['tensorflow'] or 'none'}, litert {versions['litert'] or 'none'}; pass "
            f"--{run.side}-python the python of that run's environment "
            f"(e.g. .tox/{line}/bin/python)")


def run_duel(reference: Run, candidate: Run, keys: Sequence[LatencyKey],
             settings: DuelSettings, *,
             timeout: float = REPLY_TIMEOUT_S) -> dict[LatencyKey, PairedSamples]:
    """Start a worker per side, check each is its run's environment, time one discarded block
    of every key on each side (it imports TensorFlow and proves every artifact and runtime
    loads), then run the schedule. The workers are ended however this returns."""
    runs = {"reference": reference, "candidate": candidate}
    paths = {side: artifact_paths(run, keys) for side, run in runs.items()}
    with ExitStack() as stack:
        workers = {side: stack.enter_context(Worker(side, run.python, timeout=timeout))
                   for side, run in runs.items()}
        for side, worker in workers.items():  # both were started first: they import at once
            check_environment(runs[side], worker.wait_ready())

        def measure(side: Side, key: LatencyKey) -> float:
            return workers[side].time_block(paths[side][key.model], key.runtime, key.threads,
                                            warmup_invokes=settings.warmup_invokes,
                                            timed_invokes=settings.timed_invokes)

        for key in sorted(keys):
            for side in SIDES:
                measure(side, key)
        return run_schedule(keys, settings, measure)


def duel_rows(reference: Run, candidate: Run, samples: Mapping[LatencyKey, PairedSamples],
              settings: DuelSettings) -> list[DuelRow]:
    """A row per key of either run, in key order: judged when duelled, else "<side> only"."""
    rows = {key: judge(key, pairs, settings) for key, pairs in samples.items()}
    for run in (reference, candidate):
        for key in run.keys - samples.keys():
            rows[key] = DuelRow(*key, verdict=f"{run.side} only")
    return [rows[key] for key in sorted(rows)]


# --- the report ---------------------------------------------------------------------------------

def exit_code(rows: Sequence[DuelRow]) -> int:
    """1 when any key regressed, else 0."""
    return 1 if any(row.verdict == "regressed" for row in rows) else 0


def summary_line(rows: Sequence[DuelRow]) -> str:
    counts = Counter(row.verdict for row in rows)
    listed = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
    return f"{'FAIL' if exit_code(rows) else 'PASS'}: {listed}"


def records(rows: Sequence[DuelRow], reference: Run, candidate: Run) -> list[dict[str, Any]]:
    """The rows as dicts naming both runs: what --format json prints and --csv writes."""
    runs = {"reference_run_id": reference.run_id, "candidate_run_id": candidate.run_id,
            "reference_tensorflow": reference.tensorflow,
            "candidate_tensorflow": candidate.tensorflow}
    return [{**asdict(row), **runs} for row in rows]


_COLUMNS = ("model", "runtime", "threads", "reference", "candidate", "ratio", "CI", "verdict")
_NUMERIC = frozenset({"threads", "reference", "candidate", "ratio", "CI"})


def _cells(row: DuelRow) -> list[str]:
    def us(seconds: float | None) -> str:
        return "" if seconds is None else f"{seconds * 1e6:.2f} us"

    interval = "" if row.ci_low is None else f"x{row.ci_low:.3f}-x{row.ci_high:.3f}"
    ratio = "" if row.ratio is None else f"x{row.ratio:.3f}"
    return [row.model, row.runtime, str(row.threads), us(row.reference_median_s),
            us(row.candidate_median_s), ratio, interval, row.verdict]


def _header(reference: Run, candidate: Run, settings: DuelSettings) -> tuple[str, str, str]:
    """(runs line, method line, name of the interval column)."""
    confidence = f"{settings.confidence * 100:g}%"
    return (f"reference {reference.label()} vs candidate {candidate.label()}",
            f"{settings.pairs} pairs of {settings.timed_invokes}-invoke blocks per key, ABBA, "
            f"seed {settings.seed}; ratio = median of candidate/reference over the pairs; "
            f"regressed when ratio > x{settings.slowdown_max:g} and its {confidence} CI is "
            f"above x1",
            f"{confidence} CI")


def _markdown(runs: str, method: str, names: Sequence[str], table: list[list[str]],
              summary: str) -> str:
    lines = [f"**Duel** {runs}", "", method, "", "| " + " | ".join(names) + " |",
             "|" + "|".join("---:" if c in _NUMERIC else "---" for c in _COLUMNS) + "|"]
    for cells in table:
        if cells[-1] == "regressed":
            cells[-1] = "**regressed**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", f"**{summary}**"])


def _text(runs: str, method: str, names: Sequence[str], table: list[list[str]],
          summary: str) -> str:
    widths = [max(len(cells[i]) for cells in [names, *table]) for i in range(len(names))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if name in _NUMERIC else c.ljust(w)
                         for name, c, w in zip(_COLUMNS, cells, widths, strict=True)).rstrip()

    return "\n".join([runs, method, *map(line, [names, *table]), summary])


def format_report(rows: Sequence[DuelRow], reference: Run, candidate: Run,
                  settings: DuelSettings, fmt: Format) -> str:
    """`text` for a terminal, `markdown` for a CI job summary (a GitHub table), `json` for
    tools (a list of records)."""
    if fmt == "json":
        return json.dumps(records(rows, reference, candidate), indent=2)
    runs, method, ci_name = _header(reference, candidate, settings)
    names = [ci_name if c == "CI" else c for c in _COLUMNS]
    render = _markdown if fmt == "markdown" else _text
    return render(runs, method, names, [_cells(row) for row in rows], summary_line(rows))


# --- the command line ---------------------------------------------------------------------------

def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Time the .tflite artifacts of two `pytest bench` runs against each other "
                    "on this machine, each in its own environment, in adjacent ABBA pairs, and "
                    "judge every (model, runtime, threads) latency key of both runs. For when "
                    "history from another machine cannot be used (hosted CI, a laptop).",
        epilog="A key regresses when the median of its per-pair ratios candidate/reference "
               "exceeds [duel] slowdown_max of the threshold config and the [duel] confidence "
               "interval of that median lies above 1 (improved: the mirror image). Keys of one "
               "run only "
               "are listed, not duelled. Exit codes: 0 = no key regressed; 1 = at least one "
               "key regressed; 2 = the duel could not be run (unusable results CSV, missing "
               ".tflite file, a python that does not start or is not the run's environment, a "
               "runtime it lacks, a hung worker, bad arguments) - the reason is printed on one "
               "line to stderr.")
    for side in SIDES:
        parser.add_argument(side, metavar=side.upper(), type=Path,
                            help=f"results CSV of the {side} run")
    for side in SIDES:
        parser.add_argument(f"--{side}-run-dir", metavar="DIR", type=Path,
                            help=f"folder of the {side} run's .tflite files "
                                 f"(default: runs/<run_id>/ under the repository)")
    for side in SIDES:
        parser.add_argument(f"--{side}-python", metavar="PY", default=sys.executable,
                            help=f"python of the {side} run's environment, e.g. "
                                 f".tox/tf221/bin/python (default: this python)")
    parser.add_argument("--pairs", metavar="N", type=_count,
                        help="pairs of blocks per key (default: [duel] pairs; at least 8 for a "
                             "99%% interval)")
    parser.add_argument("--warmup-invokes", metavar="N", type=_count,
                        help="untimed invokes before each block (default: [duel] "
                             "warmup_invokes)")
    parser.add_argument("--timed-invokes", metavar="N", type=_count,
                        help="timed invokes per block (default: [duel] timed_invokes)")
    parser.add_argument("--seed", metavar="N", type=_count,
                        help="seed of the key order (default: [duel] seed)")
    parser.add_argument("--config", metavar="PATH", type=Path, default=DEFAULT_CONFIG_PATH,
                        help="threshold config with the [duel] settings "
                             "(default: bench/thresholds.toml)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                        help="text (default), markdown (GitHub table for a CI job summary) or "
                             "json (a list of rows)")
    parser.add_argument("--csv", metavar="PATH", type=Path,
                        help="also write the rows to this CSV file")
    return parser


def settings_from(args: argparse.Namespace) -> DuelSettings:
    """The [duel] settings of the threshold config, with the measurement options given."""
    settings = load_config(args.config).duel
    given = {name: getattr(args, name) for name in ("pairs", "warmup_invokes", "timed_invokes",
                                                    "seed") if getattr(args, name) is not None}
    return replace(settings, **given)


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit code (0 pass, 1 regressed, 2 the duel could not be run)."""
    args = _parser().parse_args(argv)
    try:
        settings = settings_from(args)
        check_settings(settings)
        reference, candidate = (
            load_run(side, getattr(args, side), getattr(args, f"{side}_run_dir"),
                     getattr(args, f"{side}_python")) for side in SIDES)
        keys = sorted(reference.keys & candidate.keys)
        if not keys:
            raise DuelError(f"no latency key is in both runs (reference {reference.run_id} has "
                            f"{len(reference.keys)}, candidate {candidate.run_id} has "
                            f"{len(candidate.keys)}); duel two runs that both timed latency")
        if args.csv is not None and not args.csv.parent.is_dir():
            raise DuelError(f"--csv {args.csv}: folder {args.csv.parent} does not exist")
        samples = run_duel(reference, candidate, keys, settings)
    except (DuelError, WorkerError, ResultsFileError, ConfigError) as exc:
        return _fail(str(exc))
    rows = duel_rows(reference, candidate, samples, settings)
    _print(format_report(rows, reference, candidate, settings, args.format))
    if args.csv is not None:
        try:
            pd.DataFrame(records(rows, reference, candidate)).to_csv(args.csv, index=False)
        except OSError as exc:
            return _fail(f"--csv {args.csv}: cannot write it ({exc.strerror})")
    return exit_code(rows)


def _print(text: str) -> None:
    """Print, and stay quiet when the reader has gone (`... | head -1`): point stdout at
    /dev/null so the interpreter's final flush does not raise again."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
