"""The reference recipe's fit and technique parameters: the one declared place for them.

The recipe is the one of the TensorFlow Model Optimization pruning guide ("Pruning in Keras",
tensorflow.org/model_optimization/guide/pruning/pruning_with_keras): a model trained 4 epochs,
pruned with PolynomialDecay 0.50 -> 0.80 for 2 epochs, converted to TFLite with and without
dynamic-range quantization. Its parameters are what users compare against, so they are frozen
constants, not options; the guide's MNIST CNN itself is the `mnist_cnn` workload
(pipeline.workloads), and every workload is fitted and compressed with a Recipe. Only the seed
varies between runs; it is passed separately and recorded. `recipe_sha256` in every results
CSV identifies the recipe, the workload's model parameters and every variant's definition
(pipeline.identity.recipe_sha256): runs of different recipes are never compared.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Recipe:
    """Training, pruning and fine-tuning settings of the reference recipe."""

    epochs: int = 4
    validation_split: float = 0.1
    prune_batch_size: int = 128
    prune_epochs: int = 2
    initial_sparsity: float = 0.50
    final_sparsity: float = 0.80
    begin_step: int = 0
    #: Baseline fit only: run this many steps per tf.function call. The math per step is the
    #: same (see docs/speed.md); it cuts Python overhead per step. Never used for pruning:
    #: UpdatePruningStep is a batch callback and would fire once per execution, not per step.
    baseline_steps_per_execution: int = 32
    #: Fine-tuning of the variants beyond the seed recipe (clustering, quantization-aware
    #: training and its cluster- and pruning-preserving forms), as the TF Model Optimization
    #: guides for those techniques do it: one epoch, batch 500, validation_split 0.1, all
    #: training images. The clustering guide fine-tunes with Adam at 1e-5.
    finetune_epochs: int = 1
    finetune_batch_size: int = 500
    cluster_learning_rate: float = 1e-5
    #: Clusters per layer of the clustering variants.
    clusters: int = 16
    #: Training images every fit after the baseline's takes (the first ones; None: all). A
    #: model trained elsewhere cannot fine-tune on all its data in a CI session; the reference
    #: recipe fine-tunes on all.
    finetune_images: int | None = None

    def __post_init__(self) -> None:
        if self.finetune_images is not None and (type(self.finetune_images) is not int
                                                 or self.finetune_images < 1):
            raise ValueError(f"finetune_images {self.finetune_images!r} is not a whole number "
                             f"from 1 up; declare how many training images the fine-tunes "
                             f"take, or None for all")

    def declared(self) -> dict[str, Any]:
        """The fields as the identities hash them (pipeline.identity): a field added after the
        committed history was recorded is left out while it holds the value every earlier run
        had, so those runs keep their recipe_sha256 and workload_sha256."""
        return {name: value for name, value in asdict(self).items()
                if name not in ADDED_SINCE_HISTORY or value != ADDED_SINCE_HISTORY[name]}

    def prune_end_step(self, n_train: int) -> int:
        """end_step = ceil(training images after the validation split / batch) * epochs."""
        steps_per_epoch = math.ceil(n_train * (1 - self.validation_split) / self.prune_batch_size)
        return steps_per_epoch * self.prune_epochs


#: Fields added after the committed history was recorded, with the value its runs had.
ADDED_SINCE_HISTORY: dict[str, Any] = {"finetune_images": None}

RECIPE = Recipe()
DEFAULT_SEED = 0
