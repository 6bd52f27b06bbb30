"""Serve a checked ONNX surrogate with onnxruntime: the IDAES-style surrogate object.

An :class:`OnnxSurrogate` holds one surrogate file: the network read back from the file's
initializers (:attr:`OnnxSurrogate.network`, what an optimiser embeds), and one onnxruntime
session created from exactly the bytes that were checked (what :meth:`evaluate` serves). It is
separate from whatever embeds it in an optimisation model; it knows nothing of steam networks.

Sessions run single-threaded (one intra-op and one inter-op thread, CPU provider): a surrogate
call on a 2-16-16-1 network is tens of microseconds, where a thread pool only adds jitter, and
the supervisory process runs several of them.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from surrogate.network import ReluNetwork
from surrogate.onnx_io import (
    DEFAULT_MAX_BYTES,
    CheckedModel,
    network_to_onnx,
    read_file_bytes,
    read_model_bytes,
)

__all__ = ["OnnxSurrogate"]

log = logging.getLogger(__name__)


def _session_options() -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3  # errors only
    return opts


class OnnxSurrogate:
    """One surrogate file, checked, read back and served.

    Attributes
    ----------
    name : str
        The surrogate's name from the file's metadata.
    path : Path | None
        The file it was read from (None when built from bytes in memory).
    sha256 : str
        Hex SHA-256 of the file bytes that were checked and are served.
    network : ReluNetwork
        The network rebuilt from the file's initializers.
    input_names, output_names, input_units, output_units : list[str]
    domain : tuple[np.ndarray, np.ndarray]
        Training-domain box (lower, upper) of the inputs.
    metadata : dict[str, str]
        Provenance entries of the file (accuracy, data hash, training date, versions ...).
    """

    def __init__(self, checked: CheckedModel, path: str | os.PathLike[str] | None = None) -> None:
        self._checked = checked
        self.name: str = checked.name
        self.path: Path | None = Path(path) if path is not None else None
        self.sha256: str = checked.sha256
        self.network: ReluNetwork = checked.network
        self.input_names: list[str] = self.network.input_names
        self.output_names: list[str] = self.network.output_names
        self.input_units: list[str] = [v.unit for v in self.network.inputs]
        self.output_units: list[str] = [v.unit for v in self.network.outputs]
        self.domain: tuple[np.ndarray, np.ndarray] = self.network.domain
        self.metadata: dict[str, str] = dict(self.network.metadata)
        self._session = ort.InferenceSession(checked.data, sess_options=_session_options(), providers=["CPUExecutionProvider"])
        self._input_tensor = checked.input_tensor
        self._output_tensor = checked.output_tensor
        log.debug("serving surrogate %r (%s) sha256 %s", self.name, checked.source, self.sha256[:12])

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        expected_inputs: Sequence[str] | None = None,
        expected_outputs: Sequence[str] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> OnnxSurrogate:
        """Read, check and serve the file ``path`` (see :func:`surrogate.onnx_io.read_model_bytes`).
        Raises :class:`~surrogate.onnx_io.SurrogateFileError`."""
        data = read_file_bytes(path, max_bytes)
        return cls.from_bytes(data, path, expected_inputs=expected_inputs, expected_outputs=expected_outputs)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        path: str | os.PathLike[str] | None = None,
        *,
        expected_inputs: Sequence[str] | None = None,
        expected_outputs: Sequence[str] | None = None,
    ) -> OnnxSurrogate:
        """Check and serve the bytes of a surrogate file; ``path`` is where they came from, if anywhere."""
        source = str(path) if path is not None else "<bytes>"
        checked = read_model_bytes(data, source, expected_inputs=expected_inputs, expected_outputs=expected_outputs)
        return cls(checked, path)

    @classmethod
    def from_network(cls, net: ReluNetwork, name: str) -> OnnxSurrogate:
        """Serve ``net`` through the same serialize-check-read-back path as a file, without a file."""
        return cls.from_bytes(network_to_onnx(net, name).SerializeToString(), None)

    # ------------------------------------------------------------------ input handling
    @property
    def n_inputs(self) -> int:
        return len(self.input_names)

    @property
    def n_outputs(self) -> int:
        return len(self.output_names)

    def _expected(self) -> str:
        return f"{self.n_inputs} inputs [{', '.join(self.input_names)}]"

    def _finite(self, x: np.ndarray) -> np.ndarray:
        bad = ~np.isfinite(x)
        if bad.any():
            cols = sorted({int(j) for j in np.nonzero(bad.reshape(-1, self.n_inputs))[1]})
            names = [self.input_names[j] for j in cols]
            raise ValueError(f"surrogate {self.name!r}: non-finite values for inputs {names}")
        return x

    def _as_vector(self, x: Any) -> np.ndarray:
        """One sample as a float64 vector in input order: a 1-D array-like of length n_inputs, or a
        mapping name -> value holding every input name (further keys are ignored). A labelled
        vector such as a pandas Series counts as a mapping: it is read by label, never by position."""
        if isinstance(x, Mapping) or (hasattr(x, "keys") and not isinstance(x, np.ndarray)):
            missing = [n for n in self.input_names if n not in x]
            if missing:
                raise ValueError(f"surrogate {self.name!r}: missing inputs {missing}; expected values for {self._expected()}")
            try:
                values = [float(x[n]) for n in self.input_names]
            except (TypeError, ValueError) as exc:
                raise ValueError(f"surrogate {self.name!r}: input values must be numbers ({exc})") from exc
            return self._finite(np.array(values, dtype=np.float64))
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"surrogate {self.name!r}: cannot read {type(x).__name__} as numbers; expected a 1-D array of {self._expected()}") from exc
        if arr.shape != (self.n_inputs,):
            raise ValueError(
                f"surrogate {self.name!r}: got shape {arr.shape}; expected a 1-D array of {self._expected()} "
                f"(or a mapping name -> value; use evaluate_batch for several samples)"
            )
        return self._finite(arr)

    def _as_matrix(self, X: Any) -> np.ndarray:
        """Samples as a float64 (n, n_inputs) array: a 2-D array-like in input order, or a table with
        ``columns`` (e.g. a pandas DataFrame) holding every input name (further columns ignored)."""
        if hasattr(X, "columns") and hasattr(X, "to_numpy"):
            missing = [n for n in self.input_names if n not in X.columns]
            if missing:
                raise ValueError(f"surrogate {self.name!r}: table lacks columns {missing}; expected columns for {self._expected()}")
            arr = X[self.input_names].to_numpy(dtype=np.float64)
        else:
            try:
                arr = np.asarray(X, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"surrogate {self.name!r}: cannot read {type(X).__name__} as numbers; expected a 2-D array (n, {self.n_inputs})") from exc
        if arr.ndim != 2 or arr.shape[1] != self.n_inputs:
            raise ValueError(
                f"surrogate {self.name!r}: got shape {arr.shape}; expected a 2-D array (n_samples, {self.n_inputs}) "
                f"with columns {self.input_names} (use evaluate for one sample)"
            )
        return self._finite(np.ascontiguousarray(arr))

    # ------------------------------------------------------------------ evaluation
    def evaluate_batch(self, X: Any) -> np.ndarray:
        """Outputs (n_samples, n_outputs) for samples ``X`` (2-D array or DataFrame), by onnxruntime."""
        arr = self._as_matrix(X)
        if arr.shape[0] == 0:
            return np.empty((0, self.n_outputs), dtype=np.float64)
        (y,) = self._session.run([self._output_tensor], {self._input_tensor: arr})
        return np.asarray(y, dtype=np.float64)

    def evaluate(self, x: Any) -> np.ndarray:
        """Outputs (n_outputs,) for one sample (1-D array or mapping name -> value), by onnxruntime."""
        return self.evaluate_batch(self._as_vector(x)[None, :])[0]

    def point_evaluator(self, x: Any, free: int):
        """A function ``f(v)`` of input ``free`` alone: the outputs (n_outputs,) at ``x`` (checked
        once, here) with input ``free`` set to ``v``, by onnxruntime. For many evaluations along one
        line (the supervisor's check of each proposal): 10 us a call instead of 30 us for
        :meth:`evaluate`, whose mapping and checks it does once. A non-finite ``v`` raises."""
        row = np.ascontiguousarray(self._as_vector(x)[None, :])
        feed = {self._input_tensor: row}
        out, run = [self._output_tensor], self._session.run

        def f(v: float) -> np.ndarray:
            if not math.isfinite(v):
                raise ValueError(f"model {self.name}: input {self.input_names[free]} = {v!r} is not finite")
            row[0, free] = v
            return np.asarray(run(out, feed)[0][0], dtype=np.float64)

        return f

    def jacobian(self, x: Any) -> np.ndarray:
        """Exact Jacobian dy/dx, shape (n_outputs, n_inputs), at one sample: the masked product of the
        layer weights, :meth:`ReluNetwork.jacobian` (on a kink, the inactive side)."""
        return self.network.jacobian(self._as_vector(x))

    def check_domain(self, x: Any) -> list[str]:
        """Names of the inputs of one sample that lie outside the training-domain box."""
        return self.network.out_of_domain(self._as_vector(x))

    def interval_bounds(self, lower: Any, upper: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Interval bounds of every layer's pre-activation over the box [lower, upper] (finite
        bounds, 1-D arrays or mappings); see :meth:`ReluNetwork.interval_bounds`."""
        return self.network.interval_bounds(self._as_vector(lower), self._as_vector(upper))

    def __repr__(self) -> str:
        sizes = "-".join(str(n) for n in [self.n_inputs, *self.network.hidden_sizes, self.n_outputs])
        where = self.path if self.path is not None else "<bytes>"
        return f"OnnxSurrogate({self.name!r}, {sizes}, {where}, sha256={self.sha256[:12]})"
