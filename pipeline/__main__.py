"""`python -m pipeline COMMAND ...`: the same commands as the `bench` console script, for an
environment whose scripts are not on PATH (`.tox/tf221/bin/python -m pipeline compare ...`)."""
from pipeline.commands import main

raise SystemExit(main())
