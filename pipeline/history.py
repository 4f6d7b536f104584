"""`python -m pipeline.history [RESULTS_DIR]`: the history view of a results folder.

Its code: pipeline/judge/history/. Every command keeps its name, `python -m pipeline.<command>`,
wherever its code lives (docs/layout.md).
"""
from pipeline.judge.history.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
