"""The fast lane holds no slow test and refuses slow work (tests/conftest.py): a test added
without its `slow` marker fails here or in itself, never by slowing `pytest tests` down."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from pipeline import tfenv

REFUSED = "which the fast lane never does: mark it @pytest.mark.slow"


def test_the_fast_lane_selects_no_slow_test(request: pytest.FixtureRequest) -> None:
    if request.config.option.markexpr:
        pytest.skip(f"-m {request.config.option.markexpr!r} chose the lane")
    slow = [item.nodeid for item in request.session.items if item.get_closest_marker("slow")]
    assert slow == []


def test_a_fast_test_cannot_start_a_bench_session() -> None:
    with pytest.raises(AssertionError, match=f"starts a pytest bench session, {REFUSED}"):
        subprocess.run([sys.executable, "-m", "pytest", "bench", "--co"], check=False)


def test_a_fast_test_cannot_run_valgrind() -> None:
    with pytest.raises(AssertionError, match=f"runs valgrind, {REFUSED}"):
        subprocess.run(["/usr/bin/valgrind", "--version"], check=False)


def test_other_commands_still_run() -> None:
    done = subprocess.run([sys.executable, "-c", "print('ok')"], capture_output=True, text=True,
                          check=True)
    assert done.stdout == "ok\n"


def test_a_fast_test_cannot_fit_a_keras_model() -> None:
    keras = tfenv.keras()
    model = keras.Sequential([keras.layers.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    with pytest.raises(AssertionError, match=f"fits a Keras model, {REFUSED}"):
        model.fit(np.zeros((4, 2)), np.zeros(4), verbose=0)


@pytest.mark.slow
def test_a_slow_test_may_fit_a_keras_model() -> None:
    keras = tfenv.keras()
    model = keras.Sequential([keras.layers.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    assert len(model.fit(np.zeros((4, 2)), np.zeros(4), verbose=0).history["loss"]) == 1
