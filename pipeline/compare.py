"""`python -m pipeline.compare REFERENCE CANDIDATE`: the gate for a TensorFlow upgrade.

Its code: pipeline/judge/compare/cli.py. Every command keeps its name, `python -m
pipeline.<command>`, wherever its code lives (docs/layout.md).
"""
from pipeline.judge.compare.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
