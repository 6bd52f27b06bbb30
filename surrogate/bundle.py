"""Several checked surrogates served by one onnxruntime session.

Why: the supervisor checks every proposal by evaluating each learned curve with onnxruntime at
the proposed point, one call per surrogate. On the reference site that is 9 calls a cycle, each
paying the runtime's fixed per-call cost: measured 100 us for the 9 against 37 us for one call to
the bundle (143 against 67 us with the caches cold, as they are in a cycle).

The bundle is one ONNX graph holding each file's graph side by side, every name prefixed by the
surrogate's position (``s0_``, ``s1_`` ...), so surrogate ``i`` reads input ``s{i}_<input>`` and
writes output ``s{i}_<output>``; nothing connects the graphs. It is built from the exact bytes
each :class:`~surrogate.serving.OnnxSurrogate` checked and serves (no other file is read), and
it is built only when all of them share one opset and IR version. On construction every
surrogate is evaluated both ways at the centre of its training domain; any difference beyond
1e-12 relative refuses the bundle (:meth:`SurrogateBundle.build` then returns None and the
caller keeps the one-call-per-surrogate path).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import numpy as np
import onnx
import onnxruntime as ort
from onnx import compose, helper

from surrogate.serving import OnnxSurrogate, _session_options

__all__ = ["SurrogateBundle"]

log = logging.getLogger(__name__)


class SurrogateBundle:
    """``surrogates`` in one onnxruntime session (see the module docstring).

    Use :meth:`build`, which returns None where a bundle cannot serve exactly what the
    surrogates serve one by one."""

    def __init__(self, surrogates: Sequence[OnnxSurrogate]):
        protos = [onnx.load_from_string(s._checked.data) for s in surrogates]  # noqa: SLF001 - the checked bytes
        opsets = {tuple(sorted((o.domain, o.version) for o in p.opset_import)) for p in protos}
        irs = {p.ir_version for p in protos}
        if len(opsets) != 1 or len(irs) != 1:
            raise ValueError(f"surrogates of different opsets {sorted(opsets)} or IR versions {sorted(irs)} cannot share one graph")
        prefixed = [compose.add_prefix(p, f"s{i}_") for i, p in enumerate(protos)]
        graph = helper.make_graph(
            [n for p in prefixed for n in p.graph.node], "steamopt_bundle",
            [v for p in prefixed for v in p.graph.input], [v for p in prefixed for v in p.graph.output],
            [t for p in prefixed for t in p.graph.initializer])
        model = helper.make_model(graph, opset_imports=list(protos[0].opset_import), producer_name="steamopt-bundle")
        model.ir_version = protos[0].ir_version
        onnx.checker.check_model(model)
        self.surrogates = list(surrogates)
        self._inputs = [f"s{i}_{s._input_tensor}" for i, s in enumerate(surrogates)]  # noqa: SLF001
        self._outputs = [f"s{i}_{s._output_tensor}" for i, s in enumerate(surrogates)]  # noqa: SLF001
        self._session = ort.InferenceSession(model.SerializeToString(), sess_options=_session_options(),
                                             providers=["CPUExecutionProvider"])
        self.bound = False  # line evaluators use onnxruntime's I/O binding (set by build once checked)

    @classmethod
    def build(cls, surrogates: Sequence[OnnxSurrogate]) -> SurrogateBundle | None:
        """A bundle of ``surrogates`` that serves what each serves alone (checked at each one's
        domain centre to 1e-12 relative), or None if they cannot be bundled."""
        if not surrogates:
            return None
        try:
            bundle = cls(surrogates)
            centres = [np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi), np.where(np.isfinite(lo), lo, 0.0))
                       for lo, hi in (s.domain for s in surrogates)]
            together = bundle._run([c[None, :] for c in centres])
            for s, c, y in zip(surrogates, centres, together):
                alone = s.evaluate(c)
                if not np.allclose(y[0], alone, rtol=1e-12, atol=1e-12):
                    raise ValueError(f"surrogate {s.name!r}: bundled {y[0]} against {alone} alone")
            bundle.bound = bundle._binding_follows(centres)
            return bundle
        except Exception as exc:  # one call per surrogate still works: say why and go on without
            log.info("surrogates not bundled into one onnxruntime session: %s", exc)
            return None

    def _binding_follows(self, centres: Sequence[np.ndarray]) -> bool:
        """Whether a line evaluator through onnxruntime's I/O binding serves what plain runs
        serve as its inputs change in place (it relies on the binding reading the rows' memory
        at each run); checked at the domain centres and two other points of every surrogate."""
        try:
            f = self.line_evaluator(centres, [0] * len(self.surrogates), bound=True)
            for shift in (0.0, 0.25, -0.25):
                values = []
                for s, c in zip(self.surrogates, centres):
                    lo, hi = s.domain[0][0], s.domain[1][0]
                    span = hi - lo if math.isfinite(hi - lo) else 1.0
                    values.append(float(c[0] + shift * span))
                plain = [y[0, 0] for y in self._run([np.concatenate(([v], c[1:]))[None, :] for v, c in zip(values, centres)])]
                if f(values).tolist() != plain:
                    raise ValueError("bound run differs from a plain run")
            return True
        except Exception as exc:  # plain runs serve: say why and go on with them
            log.info("onnxruntime I/O binding not used for the surrogate bundle: %s", exc)
            return False

    def _run(self, rows: Sequence[np.ndarray]) -> list[np.ndarray]:
        return self._session.run(self._outputs, dict(zip(self._inputs, rows)))

    def line_evaluator(self, points: Sequence[np.ndarray], free: Sequence[int],
                       bound: bool | None = None) -> Callable[[Sequence[float]], np.ndarray]:
        """A function ``f(values)`` giving every surrogate's first output (one array, in the
        bundle's order) at ``points[i]`` (a full input vector of surrogate ``i``, in its input
        order) with input ``free[i]`` set to ``values[i]``, in one onnxruntime call (through
        onnxruntime's I/O binding if ``bound``, default :attr:`bound`). A non-finite value
        raises ValueError naming the surrogate and input."""
        if len(points) != len(self.surrogates) or len(free) != len(self.surrogates):
            raise ValueError(f"line_evaluator: {len(points)} points and {len(free)} free inputs for {len(self.surrogates)} surrogates")
        rows = []
        for s, x in zip(self.surrogates, points):
            row = np.array(x, dtype=np.float64).reshape(1, -1)
            if row.shape[1] != s.n_inputs or not np.isfinite(row).all():
                raise ValueError(f"surrogate {s.name!r}: point {x!r} is not {s.n_inputs} finite numbers")
            rows.append(row)
        targets = list(zip(rows, free))
        if self.bound if bound is None else bound:
            # onnxruntime reads the rows and writes the outputs in place: half the cost of a
            # call that converts 9 inputs and 9 outputs (measured 21 against 47 us)
            binding, outs = self._session.io_binding(), [np.zeros((1, 1)) for _ in self._outputs]
            for name, row in zip(self._inputs, rows):
                binding.bind_cpu_input(name, row)
            for name, out in zip(self._outputs, outs):
                binding.bind_output(name, "cpu", 0, np.float64, [1, 1], out.ctypes.data)
            run_bound = self._session.run_with_iobinding

            def serve() -> np.ndarray:
                run_bound(binding)
                return np.array([out[0, 0] for out in outs], dtype=np.float64)
        else:
            feed, outputs, run = dict(zip(self._inputs, rows)), self._outputs, self._session.run

            def serve() -> np.ndarray:
                return np.array([y[0, 0] for y in run(outputs, feed)], dtype=np.float64)

        def f(values: Sequence[float]) -> np.ndarray:
            for (row, k), v, s in zip(targets, values, self.surrogates):
                if not math.isfinite(v):
                    raise ValueError(f"model {s.name}: input {s.input_names[k]} = {v!r} is not finite")
                row[0, k] = v
            return serve()

        return f
