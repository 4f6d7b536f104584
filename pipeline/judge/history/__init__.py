"""The history view of a results folder: table.py (the tidy table, run order, machines),
picture.py (history.png), cli.py (`python -m pipeline.history`, the files it writes)."""
