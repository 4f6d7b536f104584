"""The reference recipe's parameters: the one declared place for them.

They are what users compare against (DEVELOPERS.md, "The reference recipe"), so they are frozen
constants, not options. Only the seed varies between runs; it is passed separately and recorded.
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

    def prune_end_step(self, n_train: int) -> int:
        """end_step = ceil(training images after the validation split / batch) * epochs."""
        steps_per_epoch = math.ceil(n_train * (1 - self.validation_split) / self.prune_batch_size)
        return steps_per_epoch * self.prune_epochs


RECIPE = Recipe()
DEFAULT_SEED = 0
