"""Stands for what a team does elsewhere, once: train its model and convert it to TFLite.

    python make_model_files.py

writes trained_cnn.h5 (tiny_cnn.py's model, trained 4 epochs on this folder's data.npz) and
shipped_cnn.tflite (that model converted, float). trained_cnn.py gates the first as a model
trained elsewhere, shipped_cnn.py the second as a .tflite file only. Plain tf_keras and
tf.lite calls, as a training job of your own would make them; the suite reads only the files.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from tiny_cnn import own_data, tiny_cnn

from pipeline import tfenv

HERE = Path(__file__).resolve().parent


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    keras, tf = tfenv.keras(), tfenv.tensorflow()
    data = own_data(None)
    keras.utils.set_random_seed(0)
    model = tiny_cnn(filters=8, classes=10)
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(data.x_train / 255.0, data.y_train, epochs=4, verbose=0)
    keras.models.save_model(model, str(HERE / "trained_cnn.h5"), include_optimizer=False)
    tflite = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    (HERE / "shipped_cnn.tflite").write_bytes(tflite)
    print(f"wrote {HERE / 'trained_cnn.h5'} and {HERE / 'shipped_cnn.tflite'}")


if __name__ == "__main__":
    main()
