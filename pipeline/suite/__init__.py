"""The suite: what drives runs.

session.py (a `pytest bench` session without pytest: its options, checks, progress lines,
results CSV and summary), timing.py (its latency repetitions and footprints), reuse.py (an
earlier run's files found and checked for --reuse-run), spread.py (the seed-to-seed spread
behind the thresholds, `bench spread`).
"""
