"""Variants: every model a run compares, from the workload's fitted baseline to its .tflite files.

models.py (compile, copy), training.py (seed, baseline fit), pruning.py, clustering.py,
quantization_aware.py (the tfmot techniques), conversion.py (.h5 and .tflite export),
registry.py (the registry: each variant's parent and stage, as data). The recipe's parameters
are pipeline/recipe.py, part of the workload.
"""
