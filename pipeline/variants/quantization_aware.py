"""Quantization-aware training with tfmot, plain and preserving clusters or sparsity.

The three share one fine-tune; they differ only in the quantization scheme applied: tfmot's
default 8-bit scheme, or its collaborative-optimization schemes that keep a clustered model's
centroids (CQAT) or a pruned model's zeros (PQAT) while the quantizers train.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline import tfenv
from pipeline.variants.models import compile_model, copy_of, wrapped
from pipeline.variants.training import seed_everything
from pipeline.workload import Workload

#: tfmot.experimental.combine scheme per preserved property; None = plain QAT.
SCHEMES: dict[str, str | None] = {
    "none": None,
    "clusters": "Default8BitClusterPreserveQuantizeScheme",
    "sparsity": "Default8BitPrunePreserveQuantizeScheme",
}


def quantize_aware(source: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int,
                   workload: Workload, preserve: str = "none",
                   callbacks: Sequence[Any] = ()) -> Any:
    """A copy of `source` with fake-quantization (on the whole model, or the layers the
    workload's wrapping names), fine-tuned one epoch (the QAT guide's fit).

    The result keeps tfmot's quantize wrappers: the converter reads the learned ranges from
    them, so it is converted as is (no strip step exists for QAT).
    """
    tfmot = tfenv.tfmot()
    seed_everything(seed)
    quantization = tfmot.quantization.keras
    scheme_name = SCHEMES[preserve]
    whole = workload.wrapping.layer_types is None
    with quantization.quantize_scope():
        if scheme_name is None and whole:
            model = quantization.quantize_model(copy_of(source))
        else:
            # Annotate the whole model, or the wrapping's layers only, then apply the scheme:
            # quantize_model is exactly quantize_annotate_model + quantize_apply.
            annotated = wrapped(source, workload.wrapping,
                                quantization.quantize_annotate_model if whole
                                else quantization.quantize_annotate_layer)
            scheme = (quantization.default_8bit.Default8BitQuantizeScheme() if scheme_name is None
                      else getattr(tfmot.experimental.combine, scheme_name)())
            model = quantization.quantize_apply(annotated, scheme)
    compile_model(model, workload.compile)
    recipe = workload.recipe
    model.fit(x_train, y_train, batch_size=recipe.finetune_batch_size,
              epochs=recipe.finetune_epochs, validation_split=recipe.validation_split,
              callbacks=list(callbacks), verbose=0)
    return model
