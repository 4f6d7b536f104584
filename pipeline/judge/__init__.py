"""Judge: runs read back and set side by side.

compare/ (the gate of a candidate run against its reference run), duel/ (two environments
timed on one machine), history/ and pareto.py (the history table and its pictures),
summary.py (the one-screen summary of a session), statistics.py (intervals of latency ratios
and the verdict rule) and platforms.py (what a recorded platform label means), both pure: the
significance logic lives with the judge that uses it, as in rustc-perf.
"""
