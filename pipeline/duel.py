"""`python -m pipeline.duel REFERENCE CANDIDATE`: the same-machine latency duel.

Its code: pipeline/judge/duel/cli.py. Every command keeps its name, `python -m pipeline.<command>`,
wherever its code lives (docs/layout.md).
"""
from pipeline.judge.duel.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
