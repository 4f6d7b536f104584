"""A pytest plugin that takes `tf.lite.Interpreter` away, as a TensorFlow that has deleted it
would (TensorFlow's deprecation warning schedules the deletion): `pytest bench -p
tests.without_tf_lite`, run from the checkout. tests/test_bench_full_run.py runs a session under
it; the processes the session forks inherit the absence, and it starts no other that would
import tf.lite (pipeline.measure.interpreters.unavailable_runtimes)."""
from __future__ import annotations

import pytest

from pipeline import tfenv


def pytest_configure(config: pytest.Config) -> None:
    del tfenv.tensorflow().lite.Interpreter
