"""A same-machine A/B latency comparison of two runs: `bench duel REF CAND`.

The history gate (`bench compare`) judges a run against runs made earlier, on the machine of
the history. Where that machine is not at hand (a hosted CI runner, a laptop) the history says
nothing about latency: machines and their load differ by more than a TensorFlow upgrade changes.
A duel measures both runs now, here, in adjacent pairs, so only the two environments differ:

* Each side's .tflite artifacts are timed by `processes` long-lived workers
  (pipeline/measure/duel_worker.py) in the python of that side's environment, started
  interleaved; a block is a fresh interpreter, a warm-up and `timed_invokes` timed calls.
  Every block of one process shares its memory layout (one ASLR draw, one heap history), so
  the process, not the block, is what a re-run draws anew: pairs 2k and 2k+1 (one AB, one
  BA) go to process pair k mod `processes` (schedule.process_of).
* `pairs` pairs; in each, every key (model, runtime, threads), in a seeded shuffled order, gets
  one reference block and one candidate block back to back. ABBA: the reference goes first in
  even pairs, the candidate in odd ones, so an advantage of going first or second cancels.
  A change in machine load hits both blocks of a pair alike and cancels in the pair's ratio.
* Per key: each process pair's median per-pair ratio candidate / reference, then their
  geometric mean with a Student-t confidence interval over the process pairs
  (statistics.process_ratio), judged by statistics.judge_ratio: regressed only when the ratio
  exceeds `slowdown_max` and the interval lies above 1.

schedule.py plans the blocks and judges each key (pure); runs.py loads the two runs and
times them through pipeline/measure/duel_worker.py, `processes` workers per environment; report.py
renders the rows; `duel()` (runs.py) is the whole duel, which pipeline/commands/duel.py
runs as `bench duel` (`bench duel --help` for its options and exit codes).
"""
from pipeline.judge.duel.report import exit_code, format_report, records, summary_line
from pipeline.judge.duel.runs import (
    Run,
    artifact_paths,
    check_environment,
    duel,
    duel_rows,
    load_run,
    run_duel,
)
from pipeline.judge.duel.schedule import (
    SIDES,
    DuelError,
    DuelRow,
    PairedSamples,
    Side,
    check_settings,
    judge,
    process_of,
    run_schedule,
    schedule,
)

__all__ = [
    "SIDES", "DuelError", "DuelRow", "PairedSamples", "Run", "Side", "artifact_paths",
    "check_environment", "check_settings", "duel", "duel_rows", "exit_code", "format_report",
    "judge", "load_run", "process_of", "records", "run_duel", "run_schedule", "schedule",
    "summary_line",
]
