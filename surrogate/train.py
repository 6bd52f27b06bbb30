"""Train small ReLU MLPs for one learned quantity and fold the scaling into the weights.

Training works on standardised data, ``u = (x - mu_x) / s_x`` and ``v = (y - mu_y) / s_y``
(statistics of the training rows). The stored network maps physical units to physical units:

.. math::
    W_1' = W_1 \\operatorname{diag}(1/s_x),\\quad b_1' = b_1 - W_1 (\\mu_x / s_x),\\qquad
    W_L' = \\operatorname{diag}(s_y) W_L,\\quad b_L' = s_y \\odot b_L + \\mu_y

so there is no scaler anywhere downstream. Model size is chosen on the validation rows:
the smallest network whose validation MAPE is within ``tolerance`` of the best wins (every
hidden neuron may cost the optimiser a binary). Fixed seeds; L-BFGS is deterministic.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from surrogate import __version__
from surrogate.data import PreparedData
from surrogate.network import ReluNetwork, Variable

log = logging.getLogger(__name__)

DEFAULT_SIZES: tuple[tuple[int, ...], ...] = ((3,), (4,), (6,), (8,), (12,), (16,), (8, 8))


@dataclass(frozen=True)
class Accuracy:
    """Errors of a model on one data split, per output: MAE (output units), MAPE and max APE (%)."""

    mae: list[float]
    mape_pct: list[float]
    max_ape_pct: list[float]
    max_abs_error: list[float]
    rows: int

    @classmethod
    def of(cls, y_true: np.ndarray, y_pred: np.ndarray) -> "Accuracy":
        err = np.abs(y_pred - y_true)
        ape = 100.0 * err / np.maximum(np.abs(y_true), 1e-12)
        return cls(err.mean(0).tolist(), ape.mean(0).tolist(), ape.max(0).tolist(), err.max(0).tolist(), len(y_true))


@dataclass
class TrainingConfig:
    """Candidate sizes, seeds and the size-selection tolerance (relative, on validation MAPE)."""

    sizes: tuple[tuple[int, ...], ...] = DEFAULT_SIZES
    seeds: tuple[int, ...] = (0, 1)
    tolerance: float = 0.05
    l2: float = 1e-6
    max_iter: int = 3000


@dataclass
class Candidate:
    sizes: tuple[int, ...]
    seed: int
    validation: Accuracy
    network: ReluNetwork = field(repr=False)


@dataclass
class TrainedModel:
    """The chosen network, its accuracy on every split, and the candidates that were tried."""

    network: ReluNetwork
    train: Accuracy
    validation: Accuracy
    test: Accuracy
    candidates: list[Candidate]
    sklearn_model: MLPRegressor = field(repr=False)
    scaling: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = field(repr=False)

    def sklearn_predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions of the trained scikit-learn model (with its scaling): the reference that
        the folded network and the ONNX file must reproduce."""
        mx, sx, my, sy = self.scaling
        v = self.sklearn_model.predict((np.atleast_2d(x) - mx) / sx)
        return v.reshape(len(np.atleast_2d(x)), -1) * sy + my


def fold_scaling(mlp: MLPRegressor, mx: np.ndarray, sx: np.ndarray, my: np.ndarray, sy: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights and biases (physical units in and out) of a fitted MLPRegressor; see the module docstring."""
    weights = [np.asarray(c, np.float64).T.copy() for c in mlp.coefs_]
    biases = [np.asarray(b, np.float64).copy() for b in mlp.intercepts_]
    biases[0] = biases[0] - weights[0] @ (mx / sx)
    weights[0] = weights[0] / sx[None, :]
    weights[-1] = weights[-1] * sy[:, None]
    biases[-1] = biases[-1] * sy + my
    return weights, biases


def train_quantity(data: PreparedData, config: TrainingConfig | None = None) -> TrainedModel:
    """Fit every candidate size and seed, pick the smallest adequate one, report accuracy."""
    config = config or TrainingConfig()
    spec = data.spec
    x_tr, y_tr = data.xy("train")
    x_va, y_va = data.xy("validation")
    x_te, y_te = data.xy("test")
    mx, sx = x_tr.mean(0), x_tr.std(0)
    my, sy = y_tr.mean(0), y_tr.std(0)
    sx = np.where(sx > 0, sx, 1.0)
    sy = np.where(sy > 0, sy, 1.0)
    u_tr, v_tr = (x_tr - mx) / sx, (y_tr - my) / sy
    domain = data.domain
    inputs = [Variable(c, spec.units.get(c, ""), *domain[c]) for c in spec.inputs]
    outputs = [Variable(c, spec.units.get(c, "")) for c in spec.outputs]

    candidates: list[Candidate] = []
    fitted: dict[tuple, MLPRegressor] = {}
    for sizes in config.sizes:
        for seed in config.seeds:
            mlp = MLPRegressor(hidden_layer_sizes=sizes, activation="relu", solver="lbfgs", alpha=config.l2,
                               max_iter=config.max_iter, tol=1e-10, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                mlp.fit(u_tr, v_tr if v_tr.shape[1] > 1 else v_tr.ravel())
            w, b = fold_scaling(mlp, mx, sx, my, sy)
            net = ReluNetwork(w, b, inputs, outputs)
            acc = Accuracy.of(y_va, net.evaluate(x_va))
            candidates.append(Candidate(sizes, seed, acc, net))
            fitted[(sizes, seed)] = mlp
            log.debug("%s %s seed %d: validation MAPE %s", spec.name, sizes, seed, acc.mape_pct)

    best = min(max(c.validation.mape_pct) for c in candidates)
    adequate = [c for c in candidates if max(c.validation.mape_pct) <= best * (1.0 + config.tolerance)]
    chosen = min(adequate, key=lambda c: (sum(c.sizes), len(c.sizes), max(c.validation.mape_pct)))
    net = chosen.network
    train_acc = Accuracy.of(y_tr, net.evaluate(x_tr))
    test_acc = Accuracy.of(y_te, net.evaluate(x_te))
    net.metadata.update({
        "quantity": spec.name,
        "hidden_sizes": ",".join(map(str, chosen.sizes)),
        "seed": str(chosen.seed),
        "test_mae": ",".join(f"{v:.6g}" for v in test_acc.mae),
        "test_mape_pct": ",".join(f"{v:.6g}" for v in test_acc.mape_pct),
        "test_max_ape_pct": ",".join(f"{v:.6g}" for v in test_acc.max_ape_pct),
        "test_max_abs_error": ",".join(f"{v:.6g}" for v in test_acc.max_abs_error),
        "test_rows": str(test_acc.rows),
        "train_rows": str(train_acc.rows),
        "data_hash": data.data_hash,
        "data_report": str(data.report),
        "trained_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "library": f"steamopt-surrogate {__version__}; scikit-learn MLPRegressor (lbfgs)",
    })
    log.info("%s: chose %s (seed %d), test MAPE %s %%", spec.name, chosen.sizes, chosen.seed, test_acc.mape_pct)
    return TrainedModel(net, train_acc, chosen.validation, test_acc, candidates, fitted[(chosen.sizes, chosen.seed)], (mx, sx, my, sy))
