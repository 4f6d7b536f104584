"""A workload that starts from a model trained elsewhere: trained_cnn.h5 (make_model_files.py).

Run from this folder (or with it on PYTHONPATH), from anywhere:

    pytest /path/to/tf-compression-bench/bench --workload trained_cnn:WORKLOAD

The baseline is the file loaded and evaluated, not trained; every variant fine-tunes from it
with the recipe's fine-tune settings. The file's sha256 is part of the run's workload_sha256
(and its model_file_sha256 column): a run of a changed file is never gated against one of this
file, and the refusal names both digests.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from tiny_cnn import own_data

from pipeline.recipe import RECIPE
from pipeline.workload import Workload

HERE = Path(__file__).resolve().parent

WORKLOAD = Workload(
    name="trained_cnn",
    description="tiny_cnn.py's model as trained by make_model_files.py, fine-tuned only",
    data=own_data,
    trained=HERE / "trained_cnn.h5",
    # The fine-tunes (here: pruning, 2 epochs in batches of 8, as tiny_cnn.py) take the first
    # `finetune_images` training images; None: all 1,000 of data.npz. A large model would
    # fine-tune on a subset its CI can afford.
    recipe=dataclasses.replace(RECIPE, prune_batch_size=8, finetune_images=None),
    bounds=HERE / "trained_cnn_bounds.toml",
    version=1,
)
