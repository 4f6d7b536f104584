"""`mobilenet_v3_small`: a transfer-learning model that arrives as a file, as teams' models do.

tf_keras.applications' MobileNetV3Small (alpha 0.75, minimalistic, with its own Rescaling
preprocessing; include_top=False, global average pooling, then Dense(10) logits; 278,130
parameters) on MNIST as 32x32x3 images (each padded by 2 pixels and repeated over three
channels, values 0-255: the model rescales them itself). It is trained once, by
scripts/train_mobilenet_v3.py (seed, data, epochs and its figures are written there), and the
trained file is committed beside this module: every session loads it and fine-tunes only, on
the first FINETUNE_IMAGES training images.

It breaks where users' models break (tensorflow/model-optimization #864): prune_low_magnitude
and quantize_model refuse the whole model for its Rescaling layer. So every technique wraps the
Conv2D and Dense layers only, one by one (Wrapping), the way tfmot's guides treat such models;
sparsity and distinct weights are measured over those layers. The cluster- and
sparsity-preserving QAT schemes fail on the Rescaling even so: declared inapplicable, with
tfmot's error.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from pipeline import REPO_ROOT
from pipeline.mnist import resolve_mnist
from pipeline.recipe import RECIPE
from pipeline.workload import Workload, Wrapping

HERE = REPO_ROOT / "pipeline" / "workloads"
TRAINED = HERE / "trained" / "mobilenet_v3_small_mnist.h5"
BOUNDS = REPO_ROOT / "bench" / "workloads" / "mobilenet_v3_small.toml"
#: Training images every fine-tune takes (the first ones): what a CI session can afford of a
#: model 100x the size of mnist_cnn (docs/variants-and-workloads.md, "mobilenet_v3_small").
FINETUNE_IMAGES = 4000
#: The side MobileNet's five stride-2 stages need (28 is not a multiple of 32).
SIDE = 32


def mnist_as_rgb32(images: np.ndarray) -> np.ndarray:
    """MNIST's (N, 28, 28) uint8 as (N, 32, 32, 3) float32 0-255 (one (28, 28) image as
    (32, 32, 3)): padded by 2 zero pixels on every side, the grey channel repeated three
    times. Not divided by 255: the model's own Rescaling layer maps 0-255 to [-1, 1], as
    keras.applications' MobileNetV3 expects."""
    pad = (SIDE - images.shape[-1]) // 2
    padded = np.pad(images, [(0, 0)] * (images.ndim - 2) + [(pad, pad)] * 2)
    return np.repeat(padded[..., np.newaxis], 3, axis=-1).astype(np.float32)


#: What tfmot 0.8.1 raises in quantize_apply with the cluster- or sparsity-preserving scheme
#: on this model, per layer or whole (TF 2.21, 2026-12-03).
_COLLABORATIVE_QAT_ERROR = (
    "tfmot's collaborative-optimization schemes fail on its Rescaling layer even when only "
    "Conv2D and Dense are annotated: ValueError: `get_quantize_config()` called on an "
    "unsupported layer <class 'tf_keras.src.layers.preprocessing.image_preprocessing."
    "Rescaling'>. Check if layer is supported by calling `supports()`.")

MOBILENET_V3_SMALL = Workload(
    name="mobilenet_v3_small",
    description="tf_keras.applications MobileNetV3Small (alpha 0.75, minimalistic) trained on "
                "MNIST as 32x32x3, loaded from its committed file and fine-tuned on 4,000 "
                "images",
    data=resolve_mnist,
    trained=TRAINED,
    scale=mnist_as_rgb32,
    # Fine-tunes on the first 4,000 training images. Pruning in batches of 32: tfmot's
    # PolynomialDecay prunes every 100 steps, and 3,600 images (after the validation split) in
    # batches of 128 make 29 steps per epoch, 58 in all, which would prune only at step 0
    # (0.50); batches of 32 make 226, pruning at 0, 100 and 200 up to 0.7995. (Measured here:
    # 2,000 images in batches of 16 cost as much and lose 10 points more; one epoch of 225
    # batches of 16 costs as much and loses 9 points more.)
    recipe=dataclasses.replace(RECIPE, finetune_images=FINETUNE_IMAGES, prune_batch_size=32),
    wrapping=Wrapping(("Conv2D", "Dense")),
    # tfmot's collaborative schemes look up a quantize config for every layer of the model,
    # annotated or not, so the Rescaling stops them even when only Conv2D and Dense are
    # annotated (plain QAT, Default8BitQuantizeScheme, skips what is not annotated).
    inapplicable=dict.fromkeys(("clustered_cqat", "pruned_pqat"), _COLLABORATIVE_QAT_ERROR),
    bounds=BOUNDS,
    version=1,
)
