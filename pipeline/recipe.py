"""The reference recipe's parameters: the one declared place for them.

The recipe is the one of the TensorFlow Model Optimization pruning guide ("Pruning in Keras",
tensorflow.org/model_optimization/guide/pruning/pruning_with_keras): an MNIST CNN trained 4
epochs, pruned with PolynomialDecay 0.50 -> 0.80 for 2 epochs, converted to TFLite with and
without dynamic-range quantization. Its parameters are what users compare against, so they are
frozen constants, not options. Only the seed varies between runs; it is passed separately and
recorded. `recipe_sha256` identifies them in every results CSV: runs of different recipes are
never compared.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass


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

    def prune_end_step(self, n_train: int) -> int:
        """end_step = ceil(training images after the validation split / batch) * epochs."""
        steps_per_epoch = math.ceil(n_train * (1 - self.validation_split) / self.prune_batch_size)
        return steps_per_epoch * self.prune_epochs


def recipe_sha256(recipe: Recipe) -> str:
    """sha256 over the recipe's parameters as canonical JSON (sorted keys, tuples as lists)."""
    canonical = json.dumps(asdict(recipe), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


RECIPE = Recipe()
DEFAULT_SEED = 0
