"""Root conftest: put legacy Keras in force before anything can import TensorFlow.

pytest imports this file before collecting `bench/` or `tests/`, which makes it the earliest
place a run can set TF_USE_LEGACY_KERAS=1 (see pipeline/tfenv.py for why it matters).
"""
from pipeline.tfenv import ensure_legacy_keras

ensure_legacy_keras()
