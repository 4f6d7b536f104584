"""The history view of a results folder: table.py (the tidy table, run order, machines),
picture.py (history.png) with bands.py (the accuracy bands it shades), outputs.py (the files
`bench history` writes)."""
