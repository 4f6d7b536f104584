"""`python -m pipeline.spread`: the seed-to-seed spread the thresholds are set from.

Its code: pipeline/suite/spread.py. Every command keeps its name, `python -m pipeline.<command>`,
wherever its code lives (docs/layout.md).
"""
from pipeline.suite.spread import main

if __name__ == "__main__":
    raise SystemExit(main())
