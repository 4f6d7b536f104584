"""Run: one benchmark run, building and measuring on first use and recording what it found.

bench_run.py (BenchRun: any variant built lazily from its parent, its measurements recorded),
reuse.py (an earlier run's files re-measured, --reuse-run), session.py (a `pytest bench`
session without pytest: its options, checks, progress lines, results CSV and summary).
"""
