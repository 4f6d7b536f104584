"""Train the `mobilenet_v3_small` workload's committed file, once
(pipeline/workloads/mobilenet_v3.py).

    tox -e tf215 --notest && PYTHONPATH=. .tox/tf215/bin/python scripts/train_mobilenet_v3.py

tf_keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), alpha=0.75, minimalistic=True,
weights=None, include_top=False, pooling="avg", include_preprocessing=True) + Dense(10,
name="logits"), every BatchNormalization at momentum 0.9 (the applications' 0.999 leaves the
moving statistics far behind after 3 epochs: test accuracy 0.10 with them, 0.97 at 0.9,
measured), Adam,
SparseCategoricalCrossentropy(from_logits=True), batch 128, EPOCHS epochs on all 60,000 MNIST
training images as mnist_as_rgb32 makes them, seed 0. Saved without the optimizer.

Run with the oldest TensorFlow line the history holds (2.15): a file that tf_keras 2.21 saves
records InputLayer's `optional`, which tf_keras 2.15-2.20 refuse to load (`Unrecognized keyword
arguments: ['optional']`), while a file tf_keras 2.15 saves loads on every line 2.15-2.21.
"""
from __future__ import annotations

import argparse
import time

from pipeline import tfenv
from pipeline.mnist import resolve_mnist
from pipeline.workloads.mobilenet_v3 import TRAINED, mnist_as_rgb32

EPOCHS = 3
BN_MOMENTUM = 0.9


def build() -> object:
    keras = tfenv.keras()
    base = keras.applications.MobileNetV3Small(
        input_shape=(32, 32, 3), alpha=0.75, minimalistic=True, weights=None, include_top=False,
        pooling="avg", include_preprocessing=True)
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    logits = keras.layers.Dense(10, name="logits")(base.output)
    return keras.Model(base.input, logits, name="mobilenet_v3_small_mnist")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="MNIST .npz (default: $MNIST_PATH, ...)")
    parser.add_argument("--out", default=str(TRAINED))
    args = parser.parse_args()
    keras = tfenv.keras()
    data = resolve_mnist(args.data)
    x_train, x_test = mnist_as_rgb32(data.x_train), mnist_as_rgb32(data.x_test)
    keras.utils.set_random_seed(0)
    model = build()
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    for epoch in range(1, EPOCHS + 1):
        start = time.perf_counter()
        fitted = model.fit(x_train, data.y_train, batch_size=128, epochs=1, verbose=0)
        _, accuracy = model.evaluate(x_test, data.y_test, verbose=0)
        print(f"epoch {epoch}/{EPOCHS}: {time.perf_counter() - start:.0f} s, train accuracy "
              f"{fitted.history['accuracy'][0]:.4f}, test accuracy {accuracy:.4f}", flush=True)
    keras.models.save_model(model, args.out, include_optimizer=False)
    print(f"wrote {args.out} ({model.count_params():,} parameters)")


if __name__ == "__main__":
    main()
