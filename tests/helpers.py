"""The helpers that several test modules use, in one place, so that no test module imports
another.

A test module imported by another would be imported twice (pytest imports it as `test_x`, its
importer gets a second copy as `tests.test_x`), and a helper would seem to belong to one area
while others depend on it. What only one test module uses stays in that module; what a second
one needs moves here, and every user, the first one included, imports it from `tests.helpers`.

It holds, in this order:

- the checkout's paths: the repository root, the MNIST sample, the fixture folders;
- real runs (tests/fixtures/runs/) and copies of them changed for a case, and `bench compare`
  run in-process on them;
- the broken results CSVs of tests/fixtures/results/ with their exact reasons;
- installed distributions as pip leaves them, for the checks of the environment;
- `pytest bench` as a user meets it, run in a subprocess: what the tests/test_bench_*.py files
  share. Each of those tests runs the real suite in a subprocess on the small committed MNIST
  sample, so they cover what unit tests cannot: the exit status, the message printed, and what
  is (not) left in the results folder. Nothing reaches the network: proxies point at a closed
  local port. A session costs seconds of CPU, so sessions whose result several tests check run
  once per module (module-scoped fixtures), and each file is one area: the xdist workers take a
  file at a time.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.results import Run, read_results

# --- the checkout ---------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
RUNS = REPO_ROOT / "tests" / "fixtures" / "runs"
#: The base and broken results CSVs (tests/test_results_reader.py).
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "results"
EXAMPLE = REPO_ROOT / "examples" / "own_workload"

# --- real runs, copies of them changed for a case, and `bench compare` on them --------------

A, B = RUNS / "tf2.21.0_a.csv", RUNS / "tf2.21.0_b.csv"
TF220 = RUNS / "tf2.20.0.csv"
COUNTED = RUNS / "tf2.21.0_counted.csv"
PQT = "pruned_quantized_tflite"
DEFAULT_FOUR = "baseline pruned pruned_tflite pruned_quantized_tflite"
TFLITE_TWO = "pruned_tflite pruned_quantized_tflite"
ERROR = "bench compare: error: "

Rows = list[dict[str, str]]


def run_id(path: Path) -> str:
    return read_results(path).run_id


def field(path: Path, name: str) -> str:
    with path.open(newline="") as handle:
        return next(csv.DictReader(handle))[name]


def run_cli(*args: object) -> tuple[int, str, str]:
    """main() with its exit code, stdout and stderr; in-process, so it stays fast."""
    # Imported here, not above: a test module that never runs the command (most users of this
    # file) does not depend on it.
    from pipeline.commands.compare import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def edited(src: Path, dst: Path, edit: Callable[[Rows], Rows]) -> Path:
    """A copy of a real run with `edit` applied to its rows."""
    with src.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = edit(list(reader))
        names = list(reader.fieldnames or [])
    with dst.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows)
    return dst


def relabelled(src: Path, dst: Path, **changes: str) -> Path:
    """The same run with some run columns changed on every row (and a new run_id, as a new
    session would have)."""
    changes.setdefault("run_id", field(src, "run_id") + "_copy")
    return edited(src, dst, lambda rows: [{**r, **changes} for r in rows])


def history(tmp_path: Path, *paths: Path) -> Path:
    folder = tmp_path / "history"
    folder.mkdir(exist_ok=True)
    for path in paths:
        shutil.copy(path, folder / path.name)
    return folder


def last_line(text: str) -> str:
    return text.splitlines()[-1]


def verdicts(*args: object) -> dict[tuple[object, ...], str]:
    """(model, metric, runtime, threads, stage) -> verdict, from the CLI's json output."""
    code, out, err = run_cli(*args, "--format", "json")
    assert err == "", err
    return {(r["model"], r["metric"], r["runtime"], r["threads"], r["stage"]): r["verdict"]
            for r in json.loads(out)["rows"]}


def with_columns(src: Path, dst: Path, columns: dict[str, str],
                 edit: Callable[[Rows], Rows] = lambda rows: rows) -> Path:
    """A copy of a real run with `edit` applied to its rows and `columns` set on every row
    (added to the header where new), as a later schema writes it."""
    with src.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [{**r, **columns} for r in edit(list(reader))]
        names = list(reader.fieldnames or [])
    names += [name for name in columns if name not in names]
    with dst.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows)
    return dst


def as_schema4(src: Path, dst: Path, *, variants: str = DEFAULT_FOUR, source_run_id: str = "",
               shared_by: str = "", edit: Callable[[Rows], Rows] = lambda rows: rows,
               **run_columns: str) -> Path:
    """A copy of a real schema-2 run as schema 4 writes it."""
    return with_columns(src, dst, {"schema_version": "4", "variants": variants,
                                   "source_run_id": source_run_id,
                                   "machine_shared": str(bool(shared_by)),
                                   "machine_shared_by": shared_by, **run_columns}, edit)


def tflite_only(rows: Rows) -> Rows:
    """What a --reuse-run session records: the .tflite models only."""
    return [r for r in rows if r["model"] in TFLITE_TWO.split()]


def as_schema6(src: Path, dst: Path, workload: str, workload_sha256: str = "",
               run_id: str | None = None, timestamp: str | None = None) -> Path:
    """A real schema-5 run rewritten as the schema-6 run of `workload`."""
    columns = {"schema_version": "6", "workload": workload, "workload_sha256": workload_sha256,
               **({"run_id": run_id} if run_id else {}),
               **({"timestamp_utc": timestamp} if timestamp else {})}
    return with_columns(src, dst, columns)


# --- broken results CSVs (tests/fixtures/results/) -------------------------------------------

BASE_RUN_ID = "20250601T120000Z_tf2.20.0_3f2a9c"

#: The exact reason of every broken fixture: the message a user sees after "<path>: ".
BAD_REASONS: dict[str, str] = {
    "bad_empty.csv": "empty file; a results CSV has a header row and one row per measurement "
                     "(was the run interrupted?)",
    "bad_not_a_csv.csv": "not a CSV text file: it contains NUL bytes (binary data?); pass a "
                         "results CSV written by `pytest bench`",
    "bad_missing_column.csv": "missing column(s) unit; a schema_version 9 file has all of its "
                              "columns (docs/results-csv.md, 'Results CSV')",
    "bad_schema_v99.csv": "line 2: unknown schema_version '99'; this reader supports 1, 2, 3, 4, "
                          "5, 6, 7, 8, 9 (read a newer file with the pipeline version that "
                          "wrote it)",
    "bad_nan_value.csv": "line 8 (pruned accuracy): value is empty; every measurement needs a "
                         "finite number (NaN is written as an empty cell)",
    "bad_non_numeric_value.csv": "line 8 (pruned accuracy): value 'n/a' is not a number",
    "bad_duplicate_rows.csv": "line 27 (pruned_tflite accuracy) repeats the measurement of line "
                              "13; each (model, runtime, threads, metric, stage) may appear once "
                              "per run",
    "bad_latency_without_samples.csv": "line 19 (pruned_tflite latency tf.lite threads=1): "
                                       "latency row without samples; the comparison's "
                                       "statistics need the per-repetition seconds",
    "bad_latency_bad_samples.csv": "line 19 (pruned_tflite latency tf.lite threads=1): samples "
                                   "holds 'fast', not a number; expected per-repetition seconds "
                                   "separated by spaces",
    "bad_two_runs.csv": f"holds 2 run_ids ('{BASE_RUN_ID}', '20250602T120000Z_tf2.20.0_000000'); "
                        "a results file holds one run (put several files in a folder to read a "
                        "history)",
    "bad_unknown_metric.csv": "line 8 (pruned flops): unknown metric 'flops'; known metrics: "
                              "accuracy, zipped_bytes, raw_bytes, sparsity, distinct_weights, "
                              "latency, instructions_per_invoke, instructions_first_invoke, "
                              "instructions_allocate, init_seconds, first_invoke_seconds, "
                              "heap_growth_bytes, peak_rss_growth_bytes, stage_seconds",
}


def rewrite(src: Path, dst: Path, edit: Callable[[list[dict[str, str]]], list[dict[str, str]]],
            fieldnames: list[str] | None = None) -> Path:
    """Copy a results CSV through `edit` (a function of its rows), for one-off broken files."""
    with src.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = edit(list(reader))
        names = fieldnames or list(reader.fieldnames or [])
    with dst.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return dst


# --- installed distributions -------------------------------------------------------------------

def fake_distribution(site: Path, name: str, version: str, files: list[str],
                      top_level: str | None = None) -> None:
    """A *.dist-info folder as pip leaves it: METADATA, RECORD (`files` plus its own files) and,
    when given, top_level.txt."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    own = ["METADATA", "RECORD"] + (["top_level.txt"] if top_level is not None else [])
    record = [f"{path},sha256=x,1" for path in files] + [f"{info.name}/{own_name},,"
                                                          for own_name in own]
    (info / "RECORD").write_text("\n".join(record) + "\n")
    if top_level is not None:
        (info / "top_level.txt").write_text(top_level)


TF_FILES = ["tensorflow/__init__.py", "tensorflow/libtensorflow_framework.so.2"]


# --- `pytest bench` and other commands in a subprocess ---------------------------------------

CLOSED_PORT_PROXY = "http://127.0.0.1:9"
#: How the terminal summary ends the line that names a partial run.
PARTIAL_SUFFIX = "(never chosen as a reference run)"


def bench_env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without any MNIST source, and no way out to the network. Each
    test's sessions register in a registry of their own, so a session of another test (or a
    developer's own `pytest bench`) does not count as sharing the machine here. The variables
    this test's own pytest sets are left out too: under an xdist worker, PYTEST_XDIST_WORKER
    would turn pytest-benchmark off in the session."""
    env = {k: v for k, v in os.environ.items()
           if k != "MNIST_PATH" and not k.startswith("PYTEST_")}
    env.update(KERAS_HOME=str(tmp_path / "keras_home"), HTTPS_PROXY=CLOSED_PORT_PROXY,
               HTTP_PROXY=CLOSED_PORT_PROXY, TF_CPP_MIN_LOG_LEVEL="2",
               BENCH_SESSION_REGISTRY=str(tmp_path / "session_registry"))
    return env


def bench_command(results: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "bench", "-q", "-p", "no:cacheprovider",
            "--results-dir", str(results), *args]


def run_bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(bench_command(tmp_path / "results", "--run-dir",
                                        str(tmp_path / "run"), *args),
                          cwd=REPO_ROOT, env=bench_env(tmp_path), capture_output=True,
                          text=True, timeout=600)


def results_files(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "results"
    return sorted(folder.iterdir()) if folder.exists() else []


def only_run(tmp_path: Path) -> Run:
    """The one results CSV a session wrote, read by the strict reader."""
    (path,) = results_files(tmp_path)
    return read_results(path)


def partial_line(reason: str) -> str:
    return f"partial:   {reason} {PARTIAL_SUFFIX}"


def written_by(session: Session) -> Path:
    """The CSV a session's summary names on its `results:` line."""
    found = re.search(r"^results:   (\S+\.csv) \(\d+ rows\)$", session.output, re.MULTILINE)
    assert found, session.output
    return Path(found.group(1))


@dataclass(frozen=True)
class Session:
    """What one finished `pytest bench` subprocess left: its exit code, output and folder."""

    returncode: int
    output: str
    folder: Path


def finished(done: subprocess.CompletedProcess[str], folder: Path) -> Session:
    return Session(done.returncode, done.stdout + done.stderr, folder)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # As a user's shell has it: no MNIST source, no path into the repository, and none of the
    # variables this test's own pytest sets (an xdist worker's would turn pytest-benchmark off).
    env = {k: v for k, v in os.environ.items()
           if k not in ("MNIST_PATH", "PYTHONPATH") and not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=600)
