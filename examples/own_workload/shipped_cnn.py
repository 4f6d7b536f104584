"""A workload that is a .tflite file only: shipped_cnn.tflite (make_model_files.py), as a team
ships a model converted by another tool or received from a vendor.

Run from this folder (or with it on PYTHONPATH), from anywhere:

    pytest /path/to/tf-compression-bench/bench --workload shipped_cnn:WORKLOAD

No Keras stage runs: the one variant is `shipped_tflite`, the file as it is, measured for
accuracy (on this folder's labelled data.npz), size, latency, instruction counts and footprint
on both TFLite runtimes, and gated across runtime upgrades like any other run.
"""
from __future__ import annotations

from pathlib import Path

from tiny_cnn import own_data

from pipeline.workload import Workload

HERE = Path(__file__).resolve().parent

WORKLOAD = Workload(
    name="shipped_cnn",
    description="a float .tflite of tiny_cnn.py's model, gated as shipped",
    data=own_data,
    tflite=HERE / "shipped_cnn.tflite",
    # scale= defaults to pixels / 255, the input this model was trained on.
    bounds=HERE / "shipped_cnn_bounds.toml",
    version=1,
)
