"""`ds_cnn`: a deployment-style model, MLPerf Tiny's DS-CNN adapted to MNIST's images.

MLPerf Tiny's keyword-spotting DS-CNN (github.com/mlcommons/tiny, benchmark/training/
keyword_spotting/keras_model.py) is a strided Conv2D with batch normalization, depthwise-separable
blocks (DepthwiseConv2D + BN + ReLU, 1x1 Conv2D + BN + ReLU) and average pooling over the final
feature map before the classifier. Here it takes a 28x28 image, with 32 channels and three blocks
(5,450 parameters), the first block strided so that the rest work at 7x7: its point is the
kernels and converter passes the seed's CNN never runs (DEPTHWISE_CONV_2D, batch normalization
folded into the convolutions, AVERAGE_POOL_2D), at a training cost a CI session can afford.

What tfmot does to it is its design, and the checks follow it: prune_low_magnitude and
cluster_weights touch the Conv2D and Dense kernels only (tfmot's pruning registry lists
DepthwiseConv2D with no prunable weights, its clustering registry marks it non-clusterable), so
sparsity and distinct weights are measured over those (pipeline.variants.pruning.pruned_kernels) and
bench/test_sparsity.py keeps the depthwise kernels' density visible.
"""
from __future__ import annotations

from typing import Any

from pipeline import REPO_ROOT, tfenv
from pipeline.mnist import resolve_mnist
from pipeline.workload import Workload

BOUNDS = REPO_ROOT / "bench" / "workloads" / "ds_cnn.toml"


def ds_cnn(channels: int, blocks: int, classes: int) -> Any:
    """Reshape -> Conv2D(3x3, stride 2) + BN + ReLU -> `blocks` x [DepthwiseConv2D(3x3) + BN +
    ReLU, Conv2D(1x1) + BN + ReLU], the first strided -> AveragePooling2D(7x7) -> Dense."""
    keras = tfenv.keras()
    layers = keras.layers
    # Fixed names, as in mnist_cnn: the names are stored in the files whose sizes are gated.
    stack = [
        layers.InputLayer(input_shape=(28, 28), name="input_1"),
        layers.Reshape(target_shape=(28, 28, 1), name="reshape"),
        layers.Conv2D(channels, (3, 3), strides=(2, 2), padding="same", use_bias=False,
                      name="conv"),
        layers.BatchNormalization(name="conv_bn"),
        layers.ReLU(name="conv_relu"),
    ]
    for block in range(1, blocks + 1):
        stride = (2, 2) if block == 1 else (1, 1)
        stack += [
            layers.DepthwiseConv2D((3, 3), strides=stride, padding="same", use_bias=False,
                                   name=f"dw{block}"),
            layers.BatchNormalization(name=f"dw{block}_bn"),
            layers.ReLU(name=f"dw{block}_relu"),
            layers.Conv2D(channels, (1, 1), use_bias=False, name=f"pw{block}"),
            layers.BatchNormalization(name=f"pw{block}_bn"),
            layers.ReLU(name=f"pw{block}_relu"),
        ]
    stack += [
        layers.AveragePooling2D(pool_size=(7, 7), name="average_pool"),
        layers.Flatten(name="flatten"),
        layers.Dense(classes, name="dense"),
    ]
    return keras.Sequential(stack, name="ds_cnn")


DS_CNN = Workload(
    name="ds_cnn",
    description="MLPerf Tiny's DS-CNN on MNIST (depthwise-separable blocks, batch "
                "normalization, average pooling)",
    data=resolve_mnist,
    model=ds_cnn,
    model_parameters={"channels": 32, "blocks": 3, "classes": 10},
    bounds=BOUNDS,
    version=1,
)
