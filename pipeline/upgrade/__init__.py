"""`bench-upgrade CANDIDATE`: gate a TensorFlow build (a nightly, a release candidate, a release,
a wheel) in one command: an isolated, cached environment for it, `pytest bench` there, the gate
against the history and the same-machine duel against the current environment, one verdict.

candidate.py says what a candidate is and what belongs beside it, environment.py makes and
reuses its virtual environment, steps.py runs the steps in order, verdict.py combines them
into the verdict and the report; pipeline/commands/upgrade.py is the command line.
"""
