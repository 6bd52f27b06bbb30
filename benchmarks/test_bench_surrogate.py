"""Surrogate inference latency with onnxruntime (single sample and a 1000-row batch), against
the same network evaluated with numpy from the weights read back from the file.

Run: make bench-quick. The design note expects about 20 us per single onnxruntime call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from surrogate.manifest import load_model_dir

MODEL_DIR = Path(__file__).resolve().parents[1] / "scenarios" / "models" / "reference_olefins"
MODELS = load_model_dir(MODEL_DIR)
NAMES = ["B1_fuel", "GT1_fuel"]


def _points(name: str, n: int) -> np.ndarray:
    lo, hi = MODELS[name].domain
    return lo + (hi - lo) * np.random.default_rng(0).random((n, len(lo)))


@pytest.mark.parametrize("name", NAMES)
def test_onnxruntime_single(benchmark, name):
    x = _points(name, 1)[0]
    benchmark(MODELS[name].evaluate, x)


@pytest.mark.parametrize("name", NAMES)
def test_onnxruntime_batch_1000(benchmark, name):
    x = _points(name, 1000)
    benchmark(MODELS[name].evaluate_batch, x)


@pytest.mark.parametrize("name", NAMES)
def test_numpy_readback_single(benchmark, name):
    x = _points(name, 1)[0]
    benchmark(MODELS[name].network.evaluate, x)


@pytest.mark.parametrize("name", NAMES)
def test_interval_bounds(benchmark, name):
    lo, hi = MODELS[name].domain
    benchmark(MODELS[name].interval_bounds, lo, hi)


def test_load_model_dir(benchmark):
    benchmark(load_model_dir, MODEL_DIR)
