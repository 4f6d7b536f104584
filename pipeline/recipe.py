"""The reference recipe's parameters: the one declared place for them.

The recipe is the one of the TensorFlow Model Optimization pruning guide ("Pruning in Keras",
tensorflow.org/model_optimization/guide/pruning/pruning_with_keras): an MNIST CNN trained 4
epochs, pruned with PolynomialDecay 0.50 -> 0.80 for 2 epochs, converted to TFLite with and
without dynamic-range quantization. Its parameters are what users compare against, so they are
frozen constants, not options. Only the seed varies between runs; it is passed separately and
recorded. `recipe_sha256` in every results CSV identifies them together with every variant's
definition (pipeline.variants.definitions_sha256): runs of different recipes are never compared.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """Training, pruning and conversion settings of the reference recipe."""

    conv_filters: int = 12
    conv_kernel: tuple[int, int] = (3, 3)
    pool_size: tuple[int, int] = (2, 2)
    classes: int = 10
    epochs: int = 4
    validation_split: float = 0.1
    prune_batch_size: int = 128
    prune_epochs: int = 2
    initial_sparsity: float = 0.50
    final_sparsity: float = 0.80
    begin_step: int = 0
    #: Baseline fit only: run this many steps per tf.function call. The math per step is the
    #: same (see README "Speed"); it cuts Python overhead per step. Never used for pruning:
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

    def prune_end_step(self, n_train: int) -> int:
        """end_step = ceil(training images after the validation split / batch) * epochs."""
        steps_per_epoch = math.ceil(n_train * (1 - self.validation_split) / self.prune_batch_size)
        return steps_per_epoch * self.prune_epochs


RECIPE = Recipe()
DEFAULT_SEED = 0
