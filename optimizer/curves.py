"""Unit performance curves as the optimiser sees them: per cycle, exact breakpoints over a box.

The optimiser does not know where a curve comes from. A :class:`CurveProvider` hands it, for
each learned quantity and each cycle, the breakpoints of ``y = f(x; d)`` over ``x in [lo, hi]``
with the disturbances ``d`` (ambient, fouling hours) fixed for the cycle:

* :class:`SurrogateCurves` - the ONNX surrogates (production): the ReLU network restricted to the
  line is exactly piecewise linear, so its breakpoints are exact (:mod:`surrogate.curve`);
* :class:`SampledCurves` - any function sampled on a fine grid (the oracle's true curves, or a
  first-principles curve).

Each quantity is identified by its output tag (``B1.fuel_gj_h`` is boiler B1's fuel) and its
decision input tag (``B1.steam_tph``); every other input is a disturbance read from the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from optimizer import tags
from optimizer.duct import is_duct_model
from optimizer.ectg import is_ectg_model
from optimizer.site.model import Site
from surrogate.bundle import SurrogateBundle
from surrogate.curve import max_breakpoints, restrict_to_line, structurally_convex
from surrogate.serving import OnnxSurrogate

KINDS = ("boiler_fuel", "gt_fuel", "hrsg_steam", "turbine_steam", "column_steam", "column_purity")


@dataclass(frozen=True)
class CurveSlot:
    """One learned quantity: which unit, which tags, and how many breakpoints it may need."""

    name: str
    unit: str
    kind: str
    x_tag: str
    y_tag: str
    disturbance_tags: tuple[str, ...]
    max_points: int
    convex: bool


def classify(site: Site, output_tag: str) -> tuple[str, str, str] | None:
    """(kind, unit, decision tag) of a quantity from its output tag, or None if not one we embed."""
    for b in site.boilers:
        if output_tag == tags.boiler_fuel(b):
            return "boiler_fuel", b, tags.boiler_steam(b)
    for g in site.gas_turbines:
        if output_tag == tags.gt_fuel(g):
            return "gt_fuel", g, tags.gt_power(g)
        if output_tag == tags.hrsg_unfired(g):
            return "hrsg_steam", g, tags.gt_power(g)
    for t, tur in site.turbines.items():
        if output_tag == tags.turbine_inlet(t) and tur.drive == "generator" and len(tur.sections) == 1:
            return "turbine_steam", t, tags.turbine_power(t)
    for c, con in site.consumers.items():  # a steered column: steam and purity share its reflux ratio
        if con.column is not None:
            if output_tag == tags.steam(c):
                return "column_steam", c, tags.column_reflux(c)
            if output_tag == tags.column_purity(c):
                return "column_purity", c, tags.column_reflux(c)
    return None


@dataclass(frozen=True)
class CurveGroup:
    """The learned curves of one decision variable, embedded on one set of weights.

    A gas turbine's fuel and its HRSG's unfired steam are both functions of the GT's power. With
    a weight set per curve, the LP relaxation of the pair is the intersection of two convex hulls
    (each curve's own), which lets the relaxed GT burn the fuel of one segment while raising the
    steam of another; with one weight set over the union of their breakpoints it is the convex
    hull of the joint graph ``{(x, f_1(x), f_2(x))}``, tighter, and the pair needs one SOS2 instead
    of two.

    ``max_points``: breakpoints reserved for the union, ``2 + sum(points_i - 2)`` (each member's
    interior kinks, the two box ends shared), capped at ``cap`` but never below a member's own."""

    name: str                      # the decision tag, e.g. "GT1.power_mw"
    unit: str
    kind: str                      # the first member's kind (the unit's on/off and decision variables)
    members: tuple[str, ...]       # curve names, in slot order
    max_points: int
    convex: bool                   # every member convex: no adjacency (SOS2) needed


def group_curves(slots: Mapping[str, CurveSlot], cap: int | None = None) -> dict[str, CurveGroup]:
    """Group the slots by their unit's decision input (see :class:`CurveGroup`)."""
    by_x: dict[str, list[CurveSlot]] = {}
    for slot in slots.values():
        by_x.setdefault(slot.x_tag, []).append(slot)
    groups = {}
    for x_tag, members in by_x.items():
        own = max(s.max_points for s in members)
        union = 2 + sum(s.max_points - 2 for s in members)
        limit = max(own, cap) if cap is not None else union
        first = members[0]
        groups[x_tag] = CurveGroup(x_tag, first.unit, first.kind, tuple(s.name for s in members),
                                   min(union, limit), all(s.convex for s in members))
    return groups


def merge_breakpoints(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], members: tuple[str, ...],
                      merge_rtol: float = 1e-9) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The members' breakpoints over one box merged: ``X`` = the union of their ``x`` (points
    closer than ``merge_rtol`` of the box's width to the point before become one), each member's
    ``y`` at ``X`` by interpolation (as ``numpy.interp``), exact since every member is linear
    between its own breakpoints. Plain Python: a handful of points per curve, where each numpy
    call costs more than the arithmetic, the more so with the caches cold at a cycle's start."""
    if len(members) == 1:
        xs, ys = curves[members[0]]
        return np.asarray(xs, float), {members[0]: np.asarray(ys, float)}
    own = {n: (np.asarray(curves[n][0], float).tolist(), np.asarray(curves[n][1], float).tolist()) for n in members}
    raw = sorted({x for xs, _ in own.values() for x in xs})
    xs = raw
    if len(raw) > 2:
        tol = merge_rtol * (raw[-1] - raw[0])
        xs = [raw[0]] + [raw[i] for i in range(1, len(raw)) if raw[i] - raw[i - 1] > tol]
        xs[-1] = raw[-1]  # a point merging into the end is the end
    return np.array(xs), {n: np.array(_interp(xs, *own[n])) for n in members}


def _interp(x: list[float], xp: list[float], fp: list[float]) -> list[float]:
    """``numpy.interp(x, xp, fp)`` for increasing ``x`` and ``xp`` (lists): the end values
    beyond the ends, a breakpoint's own value on it."""
    out, j, last = [], 0, len(xp) - 1
    for v in x:
        if v <= xp[0]:
            out.append(fp[0])
            continue
        if v >= xp[last]:
            out.append(fp[last])
            continue
        while xp[j + 1] <= v:
            j += 1
        if v == xp[j]:
            out.append(fp[j])
        else:
            out.append(fp[j] + (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]) * (v - xp[j]))
    return out


class CurveProvider(Protocol):
    slots: dict[str, CurveSlot]

    def breakpoints(self, name: str, lo: float, hi: float, disturbances: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Breakpoints (x, y), x increasing from lo to hi."""

    def secant(self, name: str, lo: float, hi: float, disturbances: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """The end points (x, y) over [lo, hi]: a prediction of the current point's narrow band."""

    def evaluate(self, name: str, x: float, disturbances: Mapping[str, float]) -> float:
        """The quantity at one point, from the provider's own source (onnxruntime for surrogates)."""

    def domain(self, name: str) -> dict[str, tuple[float, float]]:
        """Validity box of every input (training domain)."""


class SurrogateCurves:
    """Curves from ONNX surrogates; breakpoints from the weights read back from each file.

    Each curve reserves ``min(max_breakpoints(net), max_points)`` breakpoints in the model: the
    exact bound for one hidden layer (``n_hidden + 2``), a cap for deeper networks whose bound
    ``prod(n_l + 1) + 1`` (290 for 16-16) is far above what a cycle's box holds (the cycle
    narrows a box that would need more; see :mod:`optimizer.cycle`)."""

    def __init__(self, site: Site, models: Mapping[str, OnnxSurrogate], max_points: int = 32):
        if not (isinstance(max_points, int) and max_points >= 3):
            raise ValueError(f"max_points = {max_points!r}: must be an integer >= 3 (breakpoints reserved per learned curve)")
        self.models: dict[str, OnnxSurrogate] = {}
        self.slots: dict[str, CurveSlot] = {}
        self._line: dict[str, tuple | None] = {}
        for name, model in models.items():
            if len(model.output_names) != 1:
                raise ValueError(f"model {name}: one output expected, got {model.output_names}")
            found = classify(site, model.output_names[0])
            if found is None and (is_ectg_model(site, model) or is_duct_model(site, model)):
                continue  # two decision inputs: the exact multi-input embedding (optimizer/ectg.py, optimizer/duct.py), not a curve
            if found is None:
                raise ValueError(f"model {name}: output {model.output_names[0]!r} is not a quantity of site {site.name} "
                                 f"(expected e.g. {tags.boiler_fuel(next(iter(site.boilers), 'B'))!r})")
            kind, unit, x_tag = found
            if x_tag not in model.input_names:
                raise ValueError(f"model {name}: its inputs {model.input_names} lack the decision input {x_tag!r}")
            net = model.network
            self.models[name] = model
            self.slots[name] = CurveSlot(
                name, unit, kind, x_tag, model.output_names[0],
                tuple(t for t in model.input_names if t != x_tag), min(max_breakpoints(net), max_points),
                structurally_convex(net, x_tag) if kind in ("boiler_fuel", "gt_fuel") else False,
            )
        self._bundle = SurrogateBundle.build([self.models[n] for n in self.slots])  # None: one call per surrogate

    def _one_layer(self, name: str):
        """Per curve with one hidden layer: (free-input weights a, disturbance weights, their tags,
        first biases, output weights w, output bias), so that along the free input ``x`` the
        network is ``y(x) = w . max(0, a x + c) + b`` with ``c`` fixed by the disturbances."""
        if name not in self._line:
            net, slot = self.models[name].network, self.slots[name]
            if len(net.weights) != 2:
                self._line[name] = None
            else:
                k = net.input_names.index(slot.x_tag)
                others = [i for i in range(len(net.input_names)) if i != k]
                w1 = net.weights[0]
                self._line[name] = (w1[:, k].tolist(), w1[:, others].tolist(), [net.input_names[i] for i in others],
                                    net.biases[0].tolist(), net.weights[1][0].tolist(), float(net.biases[1][0]))
        return self._line[name]

    def box_curve_deferred(self, name: str, lo: float, hi: float, margin: float, pin_lo: float, pin_hi: float,
                           disturbances: Mapping[str, float]):
        """One cycle's curve data for networks of one hidden layer (None for others), in two
        parts: the exact breakpoints over ``[lo, hi]`` now (what the optimisation needs), and a
        function giving, later, the ends just beyond the box (halfway to the nearest kink
        outside, at most ``margin`` away; see :class:`optimizer.cycle.CycleData`) and the secant
        over ``[pin_lo, pin_hi]`` (what the current point and the duals LP need). Kinks are
        where a neuron's pre-activation ``a_j x + c_j`` changes sign (``x = -c_j / a_j``), for
        neurons feeding the output; kinks closer than 1e-9 of the range merge (as
        :func:`surrogate.curve.restrict_to_line`)."""
        line = self._one_layer(name)
        if line is None:
            return None
        # plain floats: these networks have a handful of neurons, where each numpy call on a
        # 3-element array costs more than the arithmetic (measured 30 -> 15 us a curve)
        a, w_d, d_tags, b1, w2, b2 = line
        d = [float(disturbances[t]) for t in d_tags]
        c = [bj + sum(wi * di for wi, di in zip(row, d)) for bj, row in zip(b1, w_d)]
        lo_m, hi_m = lo - margin, hi + margin
        t = sorted(k for k in (-cj / aj for aj, cj, wj in zip(a, c, w2) if aj != 0.0 and wj != 0.0) if lo_m < k < hi_m)
        if len(t) > 1:
            tol = 1e-9 * (hi_m - lo_m)
            t = [t[0]] + [t[i] for i in range(1, len(t)) if t[i] - t[i - 1] > tol]
        gap = 1e-9 * (hi - lo)  # a kink this close to an end merges into it (as restrict_to_line)
        inside = [k for k in t if k - lo > gap and hi - k > gap] if hi > lo else []
        box = [lo] if hi <= lo else [lo, *inside, hi]
        terms = list(zip(a, c, w2))

        def y(x: float) -> float:
            return sum(wj * v for aj, cj, wj in terms if (v := aj * x + cj) > 0.0) + b2

        def later():
            below = [k for k in t if k < lo]
            above = [k for k in t if k > hi]
            e_lo = 0.5 * (below[-1] + lo) if below else lo_m
            e_hi = 0.5 * (hi + above[0]) if above else hi_m
            sec = [pin_lo] if pin_hi <= pin_lo else [pin_lo, pin_hi]
            return (e_lo, y(e_lo), e_hi, y(e_hi)), (np.array(sec), np.array([y(x) for x in sec]))

        return (np.array(box), np.array([y(x) for x in box])), later

    def _fixed(self, name: str, disturbances: Mapping[str, float]) -> dict[str, float]:
        return {t: float(disturbances[t]) for t in self.slots[name].disturbance_tags}

    def breakpoints(self, name: str, lo: float, hi: float, disturbances: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        slot = self.slots[name]
        pwl = restrict_to_line(self.models[name].network, slot.x_tag, self._fixed(name, disturbances), lo, hi)
        return np.asarray(pwl.x, float), np.asarray(pwl.y, float).reshape(len(pwl.x))

    def secant(self, name: str, lo: float, hi: float, disturbances: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """The curve's end points over [lo, hi] (one point when lo == hi)."""
        slot, net = self.slots[name], self.models[name].network
        xs = np.array([lo]) if hi <= lo else np.array([lo, hi])
        fixed = self._fixed(name, disturbances)
        pts = np.array([[x if t == slot.x_tag else fixed[t] for t in net.input_names] for x in xs])
        return xs, net.evaluate(pts)[:, 0]

    def evaluate(self, name: str, x: float, disturbances: Mapping[str, float]) -> float:
        slot, model = self.slots[name], self.models[name]
        point = {slot.x_tag: x, **self._fixed(name, disturbances)}
        return float(model.evaluate(point)[0])

    def point_evaluator(self, name: str, disturbances: Mapping[str, float]) -> Callable[[float], float]:
        """``evaluate(name, x, disturbances)`` as a function of ``x`` alone, the disturbances set
        once (for checking a proposal: onnxruntime, 10 us a call)."""
        slot, model = self.slots[name], self.models[name]
        point = {slot.x_tag: 0.0, **self._fixed(name, disturbances)}
        f = model.point_evaluator(point, model.input_names.index(slot.x_tag))
        return lambda x: float(f(x)[0])

    def line_evaluator(self, disturbances: Mapping[str, float]) -> Callable[[list[float]], np.ndarray] | None:
        """Every curve at once, as a function of the decision inputs alone (a list in
        :attr:`slots` order), the disturbances set once: one onnxruntime call to the surrogates'
        :class:`~surrogate.bundle.SurrogateBundle` (for checking a proposal). None where the
        surrogates could not be bundled (then :meth:`point_evaluator` per curve)."""
        if self._bundle is None:
            return None
        points, free = [], []
        for name, slot in self.slots.items():
            model, fixed = self.models[name], self._fixed(name, disturbances)
            points.append([0.0 if t == slot.x_tag else fixed[t] for t in model.input_names])
            free.append(model.input_names.index(slot.x_tag))
        return self._bundle.line_evaluator(points, free)

    def domain(self, name: str) -> dict[str, tuple[float, float]]:
        m = self.models[name]
        lo, hi = m.domain
        return {t: (float(a), float(b)) for t, a, b in zip(m.input_names, lo, hi)}


class SampledCurves:
    """Curves from plain functions ``f(x, disturbances)``, linearised on ``points`` equal steps.

    Used for the oracle (the simulator's true curves, finely linearised) and for first-principles
    curves. ``evaluate`` returns the linearisation itself, so the model and the check agree.
    """

    def __init__(self, slots: Mapping[str, CurveSlot], functions: Mapping[str, Callable[[float, Mapping[str, float]], float]], points: int = 41):
        self.slots = dict(slots)
        self.functions = dict(functions)
        self.points = points
        self._last: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def breakpoints(self, name: str, lo: float, hi: float, disturbances: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        xs = np.array([lo]) if hi <= lo else np.linspace(lo, hi, min(self.points, self.slots[name].max_points))
        ys = np.array([self.functions[name](float(x), disturbances) for x in xs])
        self._last[name] = (xs, ys)
        return xs, ys

    def secant(self, name: str, lo: float, hi: float, disturbances: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        xs = np.array([lo]) if hi <= lo else np.array([lo, hi])
        return xs, np.array([self.functions[name](float(x), disturbances) for x in xs])

    def evaluate(self, name: str, x: float, disturbances: Mapping[str, float]) -> float:
        xs, ys = self._last[name]
        return float(np.interp(x, xs, ys))

    def domain(self, name: str) -> dict[str, tuple[float, float]]:
        return {}
