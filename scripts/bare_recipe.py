"""The reference recipe as a plain script, with no part of this project imported.

It exists for one comparison only: `pytest bench` must take no longer than this script on the same
machine (see docs/speed.md). Keep it the reference code: do not optimise it.

Usage: MNIST_PATH=../shared/data/mnist.npz python scripts/bare_recipe.py [WORKDIR]
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import sys
import tempfile
import zipfile

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras


def load_mnist():
    path = os.environ.get("MNIST_PATH")
    if path:
        with np.load(path) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    return keras.datasets.mnist.load_data()


def get_gzipped_model_size(file):
    zipped_file = file + ".zip"
    with zipfile.ZipFile(zipped_file, "w", compression=zipfile.ZIP_DEFLATED) as f:
        f.write(file)
    return os.path.getsize(zipped_file)


def evaluate_model(interpreter, test_images, test_labels):
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    prediction_digits = []
    for test_image in test_images:
        test_image = np.expand_dims(test_image, axis=0).astype(np.float32)
        interpreter.set_tensor(input_index, test_image)
        interpreter.invoke()
        output = interpreter.tensor(output_index)
        prediction_digits.append(np.argmax(output()[0]))
    prediction_digits = np.array(prediction_digits)
    return (prediction_digits == test_labels).mean()


def main():
    workdir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
    (train_images, train_labels), (test_images, test_labels) = load_mnist()
    train_images = train_images / 255.0
    test_images = test_images / 255.0

    model = keras.Sequential([
        keras.layers.InputLayer(input_shape=(28, 28)),
        keras.layers.Reshape(target_shape=(28, 28, 1)),
        keras.layers.Conv2D(filters=12, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(train_images, train_labels, epochs=4, validation_split=0.1)
    _, baseline_model_accuracy = model.evaluate(test_images, test_labels, verbose=0)
    keras_file = os.path.join(workdir, "baseline.h5")
    keras.models.save_model(model, keras_file, include_optimizer=False)

    prune_low_magnitude = tfmot.sparsity.keras.prune_low_magnitude
    batch_size = 128
    epochs = 2
    validation_split = 0.1
    num_images = train_images.shape[0] * (1 - validation_split)
    end_step = np.ceil(num_images / batch_size).astype(np.int32) * epochs
    pruning_params = {
        "pruning_schedule": tfmot.sparsity.keras.PolynomialDecay(
            initial_sparsity=0.50, final_sparsity=0.80, begin_step=0, end_step=end_step)
    }
    model_for_pruning = prune_low_magnitude(model, **pruning_params)
    model_for_pruning.compile(optimizer="adam",
                              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                              metrics=["accuracy"])
    model_for_pruning.fit(train_images, train_labels, batch_size=batch_size, epochs=epochs,
                          validation_split=validation_split,
                          callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    _, model_for_pruning_accuracy = model_for_pruning.evaluate(test_images, test_labels, verbose=0)

    model_for_export = tfmot.sparsity.keras.strip_pruning(model_for_pruning)
    pruned_keras_file = os.path.join(workdir, "pruned.h5")
    keras.models.save_model(model_for_export, pruned_keras_file, include_optimizer=False)

    converter = tf.lite.TFLiteConverter.from_keras_model(model_for_export)
    pruned_tflite_model = converter.convert()
    pruned_tflite_file = os.path.join(workdir, "pruned.tflite")
    with open(pruned_tflite_file, "wb") as f:
        f.write(pruned_tflite_model)

    converter = tf.lite.TFLiteConverter.from_keras_model(model_for_export)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    quantized_and_pruned_tflite_model = converter.convert()
    quantized_and_pruned_tflite_file = os.path.join(workdir, "pruned_quantized.tflite")
    with open(quantized_and_pruned_tflite_file, "wb") as f:
        f.write(quantized_and_pruned_tflite_model)

    interpreter = tf.lite.Interpreter(model_content=quantized_and_pruned_tflite_model)
    interpreter.allocate_tensors()
    test_accuracy = evaluate_model(interpreter, test_images, test_labels)

    print("Baseline test accuracy:", baseline_model_accuracy)
    print("Pruned test accuracy:", model_for_pruning_accuracy)
    print("Pruned and quantized TFLite test_accuracy:", test_accuracy)
    print("Size of gzipped baseline Keras model: %.2f bytes" % get_gzipped_model_size(keras_file))
    print("Size of gzipped pruned Keras model: %.2f bytes" % get_gzipped_model_size(pruned_keras_file))
    print("Size of gzipped pruned TFlite model: %.2f bytes" % get_gzipped_model_size(pruned_tflite_file))
    print("Size of gzipped pruned and quantized TFlite model: %.2f bytes"
          % get_gzipped_model_size(quantized_and_pruned_tflite_file))


if __name__ == "__main__":
    main()
