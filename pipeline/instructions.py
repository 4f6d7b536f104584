"""`python -m pipeline.instructions MODEL.tflite ...`: instruction counts under valgrind.

Its code: pipeline/measure/instructions.py. Every command keeps its name, `python -m
pipeline.<command>`, wherever its code lives (docs/layout.md).
"""
from pipeline.measure.instructions import main

if __name__ == "__main__":
    raise SystemExit(main())
