"""`python -m pipeline.compare`: see pipeline/compare/cli.py."""
from pipeline.compare.cli import main

raise SystemExit(main())
