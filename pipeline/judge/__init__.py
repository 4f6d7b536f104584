"""Judge: runs read back and set side by side.

compare/ (the gate of a candidate run against its reference run), duel/ (two environments
timed on one machine), history.py and pareto.py (the history table and its pictures),
summary.py (the one-screen summary of a session), spread.py (the seed-to-seed spread the
thresholds are set from).
"""
