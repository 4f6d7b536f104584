"""`python -m pipeline.duel`: see pipeline/duel/cli.py."""
from pipeline.duel.cli import main

raise SystemExit(main())
