"""A ReLU network as plain data: the object every other part of steamopt agrees on.

A network maps physical inputs ``x`` (named, with units and a training-domain box) to physical
outputs ``y``:

.. math::
    z^{(0)} = x,\\qquad
    a^{(l)} = W^{(l)} z^{(l-1)} + b^{(l)},\\qquad
    z^{(l)} = \\max(0, a^{(l)})\\ (l < L),\\qquad
    y = a^{(L)} = W^{(L)} z^{(L-1)} + b^{(L)}

with ``W^{(l)}`` of shape (n_l, n_{l-1}) in float64. Input/output scaling is already folded into
the first and last layers, so there is no separate scaler anywhere. The network is piecewise
linear, which is what lets an optimiser embed it exactly.

This module knows nothing of steam networks, ONNX or onnxruntime: :mod:`surrogate.onnx_io`
writes and reads the same object, :mod:`surrogate.serving` serves the ONNX file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Variable:
    """A named input or output with its unit, and (inputs) its training-domain interval."""

    name: str
    unit: str = ""
    lower: float = -np.inf
    upper: float = np.inf


@dataclass
class ReluNetwork:
    """Dense ReLU network; ``weights[l]`` has shape (n_out, n_in), ``biases[l]`` shape (n_out,)."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    inputs: list[Variable]
    outputs: list[Variable]
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.weights = [np.ascontiguousarray(w, dtype=np.float64) for w in self.weights]
        self.biases = [np.ascontiguousarray(b, dtype=np.float64).reshape(-1) for b in self.biases]
        if len(self.weights) != len(self.biases) or not self.weights:
            raise ValueError(f"a network needs as many bias vectors as weight matrices (>0), got {len(self.weights)} and {len(self.biases)}")
        n_in = len(self.inputs)
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.ndim != 2 or w.shape[1] != n_in or b.shape != (w.shape[0],):
                raise ValueError(f"layer {l}: weight shape {w.shape} and bias shape {b.shape} do not chain from {n_in} inputs")
            n_in = w.shape[0]
        if n_in != len(self.outputs):
            raise ValueError(f"last layer has {n_in} outputs but {len(self.outputs)} output names are given")

    # ------------------------------------------------------------------ shape
    @property
    def input_names(self) -> list[str]:
        return [v.name for v in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [v.name for v in self.outputs]

    @property
    def hidden_sizes(self) -> list[int]:
        return [w.shape[0] for w in self.weights[:-1]]

    @property
    def n_hidden(self) -> int:
        """Hidden neurons: each may cost an optimiser one binary."""
        return sum(self.hidden_sizes)

    @property
    def domain(self) -> tuple[np.ndarray, np.ndarray]:
        """Training-domain box of the inputs (lower, upper)."""
        return np.array([v.lower for v in self.inputs]), np.array([v.upper for v in self.inputs])

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Outputs for inputs ``x`` of shape (n_inputs,) or (n_samples, n_inputs)."""
        z = np.atleast_2d(np.asarray(x, dtype=np.float64))
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            z = np.maximum(z @ w.T + b, 0.0)
        y = z @ self.weights[-1].T + self.biases[-1]
        return y[0] if np.ndim(x) == 1 else y

    def activation_pattern(self, x: np.ndarray) -> list[np.ndarray]:
        """Which hidden neurons are active (pre-activation > 0) at one input point."""
        z = np.asarray(x, dtype=np.float64)
        pattern = []
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            a = w @ z + b
            pattern.append(a > 0.0)
            z = np.maximum(a, 0.0)
        return pattern

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """Exact Jacobian dy/dx (n_outputs, n_inputs) at ``x``: the product of the layer weights
        masked by the activation pattern, ``W_L D_{L-1} W_{L-1} ... D_1 W_1``. (On a kink, the
        side with the neuron inactive is taken.)"""
        jac = None
        for w, active in zip(self.weights[:-1], self.activation_pattern(x)):
            layer = w * active[:, None]
            jac = layer if jac is None else layer @ jac
        return self.weights[-1] if jac is None else self.weights[-1] @ jac

    # ------------------------------------------------------------------ bounds
    def interval_bounds(self, lower: np.ndarray, upper: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Interval bounds on every layer's pre-activation ``a^{(l)}`` over the box [lower, upper].

        Interval arithmetic: with ``W+ = max(W, 0)`` and ``W- = min(W, 0)``,
        ``a_lo = W+ z_lo + W- z_hi + b`` and ``a_hi = W+ z_hi + W- z_lo + b``, then
        ``z = max(0, a)`` for hidden layers. Sound (never tighter than the truth); exact for the
        first layer. Returns one (lo, hi) pair per layer, the last being the outputs.
        """
        z_lo, z_hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
        if z_lo.shape != (len(self.inputs),) or z_hi.shape != z_lo.shape:
            raise ValueError(f"box needs {len(self.inputs)} lower and upper values")
        if np.any(z_lo > z_hi):
            raise ValueError(f"box lower {z_lo} exceeds upper {z_hi}")
        out = []
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            wp, wn = np.maximum(w, 0.0), np.minimum(w, 0.0)
            a_lo = wp @ z_lo + wn @ z_hi + b
            a_hi = wp @ z_hi + wn @ z_lo + b
            out.append((a_lo, a_hi))
            if l < len(self.weights) - 1:
                z_lo, z_hi = np.maximum(a_lo, 0.0), np.maximum(a_hi, 0.0)
        return out

    def stable_neurons(self, lower: np.ndarray, upper: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per hidden layer, masks of neurons stably active (``a_lo >= 0``) and stably inactive
        (``a_hi <= 0``) over the box; the rest are unstable and need a binary when embedded."""
        return [(lo >= 0.0, hi <= 0.0) for lo, hi in self.interval_bounds(lower, upper)[:-1]]

    def out_of_domain(self, x: np.ndarray) -> list[str]:
        """Names of inputs outside the training-domain box at ``x`` (extrapolation)."""
        lo, hi = self.domain
        x = np.asarray(x, dtype=np.float64)
        return [v.name for v, xi, l, h in zip(self.inputs, x, lo, hi) if not (l <= xi <= h)]
