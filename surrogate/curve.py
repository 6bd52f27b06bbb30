"""A ReLU network restricted to a line: an exact piecewise-linear function of one input.

Each supervisory cycle the optimiser fixes a network's disturbance inputs (ambient temperature,
fouling hours ...) at their measured values and lets one input, the decision (a steam load, a
power set point), move inside a small box ``[lo, hi]``. Along that line the network

.. math::
    t \\mapsto f(x_0 + t\\,e_k),\\qquad t \\in [lo, hi]

is an exact continuous piecewise-linear function of ``t``; :func:`restrict_to_line` returns its
breakpoints and values as a :class:`PiecewiseLinear`, which the optimiser embeds (SOS2 or, when
:meth:`PiecewiseLinear.is_convex`, a plain convex combination / epigraph) instead of the network.

Exactness. Every breakpoint value is the network evaluated at that point (:meth:`ReluNetwork.
evaluate`), and between breakpoints the network is affine, so the interpolant agrees with the
network everywhere on ``[lo, hi]``. Two tolerances trade a negligible error for fewer segments:

* kinks closer together than ``merge_tol * (hi - lo)`` become one breakpoint (and kinks that close
  to ``lo`` or ``hi`` fold into the end point); the interpolant then deviates from the network by
  at most ``|slope change| * merge_tol * (hi - lo)`` near the merged point;
* interior breakpoints whose slope change is below ``slope_tol`` times the largest slope magnitude
  on the box are dropped (a neuron with no weight to the output, two kinks cancelling), with a
  deviation of at most ``slope_tol * max|slope| * (hi - lo)``.

With the defaults (1e-9) the interpolant agrees with the network to ~1e-9 of the output's scale.

One hidden layer (every bundled model) takes a closed-form, pure-numpy path: neuron ``j`` has
pre-activation ``a_j(t) = W1[j, k] t + (W1[j, others] . x_fixed + b1[j])`` and its only kink at
``t_j = -(...) / W1[j, k]``. Deeper networks walk the line region by region: at ``t`` the activation
pattern (to the right of ``t``) makes every pre-activation affine in ``t``, so the next breakpoint
is the first sign change of any of them; step there and repeat until ``hi``.

This module knows nothing of steam networks; it works on :class:`~surrogate.network.ReluNetwork`
(or anything with a ``.network`` attribute holding one, such as :class:`~surrogate.serving.
OnnxSurrogate`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from surrogate.network import ReluNetwork

__all__ = [
    "PiecewiseLinear",
    "kink_directions",
    "max_breakpoints",
    "restrict_to_line",
    "structurally_convex",
]

#: Hard cap on the regions a line walk may visit (deep networks), whatever the bound says.
_WALK_CAP = 1_000_000


# =====================================================================================  the result


@dataclass(frozen=True, eq=False)
class PiecewiseLinear:
    """A continuous piecewise-linear function of one variable on ``[x[0], x[-1]]``.

    Attributes
    ----------
    x : np.ndarray
        Breakpoints, shape (n,), finite and strictly increasing; ``x[0] = lo`` and ``x[-1] = hi``
        (a single point when ``lo == hi``).
    y : np.ndarray
        Values at the breakpoints: shape (n,) for one output, (n, n_outputs) for several.

    Both arrays are read-only copies.
    """

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        x = np.array(self.x, dtype=np.float64)
        y = np.array(self.y, dtype=np.float64)
        if x.ndim != 1 or x.size == 0:
            raise ValueError(f"PiecewiseLinear: x must be a non-empty 1-D array, got shape {x.shape}")
        if not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0.0):
            raise ValueError("PiecewiseLinear: x must be finite and strictly increasing")
        if y.ndim not in (1, 2) or y.shape[0] != x.size:
            raise ValueError(f"PiecewiseLinear: y must have shape ({x.size},) or ({x.size}, n_outputs), got {y.shape}")
        x.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    @classmethod
    def _trusted(cls, x: np.ndarray, y: np.ndarray) -> PiecewiseLinear:
        """Wrap arrays this module built (already valid, owned, float64) without re-checking."""
        self = object.__new__(cls)
        x.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        return self

    # ------------------------------------------------------------------ shape
    @property
    def lo(self) -> float:
        return float(self.x[0])

    @property
    def hi(self) -> float:
        return float(self.x[-1])

    @property
    def n_segments(self) -> int:
        return self.x.size - 1

    def __len__(self) -> int:
        return self.x.size

    def __repr__(self) -> str:
        return f"PiecewiseLinear({self.x.size} breakpoints on [{self.lo:g}, {self.hi:g}], y shape {self.y.shape})"

    # ------------------------------------------------------------------ slopes and curvature
    def slopes(self) -> np.ndarray:
        """Slope of each segment: shape (n-1,) or (n-1, n_outputs) (empty for a single point)."""
        dx = np.diff(self.x)
        dy = np.diff(self.y, axis=0)
        return dy / dx if self.y.ndim == 1 else dy / dx[:, None]

    def _slope_steps_ok(self, tol: float, sign: float) -> bool:
        s = self.slopes()
        if s.shape[0] < 2:
            return True
        steps = sign * np.diff(s, axis=0)
        return bool(np.all(steps >= -tol * np.max(np.abs(s), axis=0)))

    def is_convex(self, tol: float = 1e-9) -> bool:
        """True if the slopes never decrease (every output), up to ``tol`` times the largest
        slope magnitude of that output."""
        return self._slope_steps_ok(tol, 1.0)

    def is_concave(self, tol: float = 1e-9) -> bool:
        """True if the slopes never increase (every output), up to ``tol`` times the largest
        slope magnitude of that output."""
        return self._slope_steps_ok(tol, -1.0)

    # ------------------------------------------------------------------ evaluation
    def __call__(self, x: Any) -> np.ndarray:
        """Interpolated values (``np.interp``); outside ``[lo, hi]`` the end values are held.
        Shape ``np.shape(x)`` for one output, ``np.shape(x) + (n_outputs,)`` for several."""
        xq = np.asarray(x, dtype=np.float64)
        if self.y.ndim == 1:
            return np.interp(xq, self.x, self.y)
        return np.stack([np.interp(xq, self.x, self.y[:, j]) for j in range(self.y.shape[1])], axis=-1)


# =====================================================================================  arguments


def _as_network(net: Any) -> ReluNetwork:
    if isinstance(net, ReluNetwork):
        return net
    inner = getattr(net, "network", None)
    if isinstance(inner, ReluNetwork):
        return inner
    raise TypeError(f"net: expected a ReluNetwork or an object with a .network ReluNetwork (e.g. OnnxSurrogate), got {type(net).__name__}")


def _free_index(net: ReluNetwork, free_input: int | str) -> int:
    names = net.input_names
    if isinstance(free_input, str):
        try:
            return names.index(free_input)
        except ValueError:
            raise ValueError(f"free_input {free_input!r}: unknown input; the network's inputs are {names}") from None
    if isinstance(free_input, numbers.Integral) and not isinstance(free_input, bool):
        k = int(free_input)
        if not 0 <= k < len(names):
            raise ValueError(f"free_input {k}: index out of range for {len(names)} inputs {names}")
        return k
    raise ValueError(f"free_input: expected an input name or index, got {type(free_input).__name__} {free_input!r}")


def _output_index(net: ReluNetwork, output_index: int | None) -> int | None:
    if output_index is None:
        return None
    if isinstance(output_index, numbers.Integral) and not isinstance(output_index, bool):
        j = int(output_index)
        if 0 <= j < len(net.outputs):
            return j
    raise ValueError(f"output_index {output_index!r}: expected None or an index in [0, {len(net.outputs)}) for outputs {net.output_names}")


def _base_point(net: ReluNetwork, k: int, fixed: Any) -> np.ndarray:
    """The input vector with the fixed values in place and 0 at the free input ``k``."""
    names = net.input_names
    n = len(names)
    if isinstance(fixed, Mapping) or (hasattr(fixed, "keys") and not isinstance(fixed, np.ndarray)):
        missing = [nm for i, nm in enumerate(names) if i != k and nm not in fixed]
        if missing:
            raise ValueError(f"fixed: missing values for inputs {missing} (free input {names[k]!r}; all inputs {names})")
        values = []
        for i, nm in enumerate(names):
            if i == k:
                values.append(0.0)
                continue
            try:
                values.append(float(fixed[nm]))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"fixed[{nm!r}]: not a number ({exc})") from None
        base = np.array(values, dtype=np.float64)
    else:
        if fixed is None:
            fixed = ()
        try:
            arr = np.asarray(fixed, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"fixed: cannot read {type(fixed).__name__} as numbers ({exc})") from None
        if arr.ndim != 1 or arr.size not in (n - 1, n):
            others = [nm for i, nm in enumerate(names) if i != k]
            raise ValueError(
                f"fixed: got shape {arr.shape}; expected {n - 1} values for {others} "
                f"(or all {n} inputs {names}, the free one ignored), or a mapping name -> value"
            )
        if arr.size == n:
            base = arr.copy()
        else:
            base = np.empty(n)
            base[:k] = arr[:k]
            base[k + 1 :] = arr[k:]
        base[k] = 0.0
    if not np.isfinite(base).all():
        bad = [names[i] for i in np.flatnonzero(~np.isfinite(base))]
        raise ValueError(f"fixed: non-finite values for inputs {bad}")
    return base


def _check_box(lo: float, hi: float, merge_tol: float, slope_tol: float) -> tuple[float, float]:
    try:
        lo_f, hi_f = float(lo), float(hi)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"lo, hi: expected numbers, got {lo!r}, {hi!r}") from exc
    if not math.isfinite(lo_f):
        raise ValueError(f"lo: must be finite, got {lo_f}")
    if not math.isfinite(hi_f):
        raise ValueError(f"hi: must be finite, got {hi_f}")
    if lo_f > hi_f:
        raise ValueError(f"lo {lo_f} exceeds hi {hi_f}")
    for name, v in (("merge_tol", merge_tol), ("slope_tol", slope_tol)):
        if not (isinstance(v, numbers.Real) and math.isfinite(v) and v >= 0.0):
            raise ValueError(f"{name}: must be a finite number >= 0, got {v!r}")
    return lo_f, hi_f


# =====================================================================================  the algorithm


def _drop_collinear(seg_slopes: np.ndarray, slope_tol: float) -> np.ndarray | None:
    """Which interior breakpoints to keep, given exact per-segment slopes (k+1 segments, k interior
    points), shape (k+1,) or (k+1, n_out). Returns None when all are kept (the usual case).

    A breakpoint is dropped when the slope after it stays within ``slope_tol * max|slope|`` (every
    output) of the slope at the start of the current merged run, so merging several small steps
    never accumulates beyond that."""
    if seg_slopes.shape[0] < 2:
        return None
    steps = np.abs(seg_slopes[1:] - seg_slopes[:-1])
    if seg_slopes.ndim == 1:
        thr = slope_tol * np.abs(seg_slopes).max()
        if steps.min() > thr:
            return None
    else:
        thr = slope_tol * np.max(np.abs(seg_slopes), axis=0)
    if seg_slopes.ndim == 2 and np.all(np.any(steps > thr, axis=1)):
        return None
    keep = np.ones(seg_slopes.shape[0] - 1, dtype=bool)
    anchor = seg_slopes[0]
    for i in range(1, seg_slopes.shape[0]):
        if np.all(np.abs(seg_slopes[i] - anchor) <= thr):
            keep[i - 1] = False
        else:
            anchor = seg_slopes[i]
    return keep


def _one_layer(net: ReluNetwork, k: int, base: np.ndarray, lo: float, hi: float, out: int | None,
               merge_tol: float, slope_tol: float) -> np.ndarray:
    """Breakpoints of a one-hidden-layer network along the line (closed form), collinear ones
    already dropped."""
    w1, b1 = net.weights[0], net.biases[0]
    wf = w1[:, k]
    c = w1 @ base + b1                              # pre-activations at t = 0
    if out is None:
        w2o = net.weights[1].T                      # (n_hidden, n_out)
        to_out = np.any(w2o != 0.0, axis=1)
    else:
        w2o = net.weights[1][out]
        to_out = w2o != 0.0
    # a kink lies strictly inside (lo, hi) iff the pre-activation changes sign strictly there
    inside = ((wf * lo + c) * (wf * hi + c) < 0.0) & to_out
    tk = -c[inside] / wf[inside]
    if tk.size:
        gap = merge_tol * (hi - lo)
        if tk.size > 1:
            tk.sort()
            split = (tk[1:] - tk[:-1]) > gap
            if not split.all():                     # merge clusters of near-coincident kinks
                first = np.concatenate(([True], split))
                last = np.concatenate((split, [True]))
                tk = 0.5 * (tk[first] + tk[last])
        tk = tk[(tk - lo > gap) & (hi - tk > gap)]
        pts = np.concatenate(([lo], tk, [hi]))
    else:
        pts = np.array([lo, hi])
    # exact slope of each segment, from the activation pattern at its midpoint
    mids = 0.5 * (pts[:-1] + pts[1:])
    seg_slopes = (((np.multiply.outer(mids, wf) + c) > 0.0) * wf) @ w2o
    keep = _drop_collinear(seg_slopes, slope_tol)
    if keep is not None:
        pts = pts[np.concatenate(([True], keep, [True]))]
    return pts


def _walk(net: ReluNetwork, k: int, base: np.ndarray, lo: float, hi: float, out: int | None,
          merge_tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints and exact segment slopes of any ReLU network along the line, region by region.

    At ``t`` each hidden pre-activation has a value ``v`` (forward pass at ``t``) and, given the
    activation pattern of the layers below, a slope ``g`` in ``t``. A neuron within ``step`` of its
    zero (``|v| <= step*|g|``, or roundoff-small) takes the side its slope points to, so the pattern
    is the one valid just right of ``t``; the region ends at the first zero crossing of any other
    neuron, which is at least ``step`` away: the walk always advances."""
    step = max(merge_tol * (hi - lo), 8.0 * np.finfo(np.float64).eps * max(abs(lo), abs(hi)))
    hidden = list(zip(net.weights[:-1], net.biases[:-1]))
    abs_hidden = [np.abs(w) for w, _ in hidden]
    w_last = net.weights[-1] if out is None else net.weights[-1][out]
    cap = min(2 * max_breakpoints(net) + 100, _WALK_CAP)   # regions; > the bound only on numerical trouble
    x = base.copy()
    starts = [lo]
    slopes = []
    t = lo
    for _ in range(cap):
        x[k] = t
        z = x
        gz = np.zeros_like(x)
        gz[k] = 1.0
        horizon = hi - t
        for (w, b), aw in zip(hidden, abs_hidden):
            v = w @ z + b
            g = w @ gz
            mag = aw @ np.abs(z) + np.abs(b)
            near = (np.abs(v) <= step * np.abs(g)) | (np.abs(v) <= 64.0 * np.finfo(np.float64).eps * mag)
            active = np.where(near, g > 0.0, v > 0.0)
            crossing = ~near & np.where(active, g < 0.0, g > 0.0)
            if crossing.any():
                horizon = min(horizon, float(np.min(-v[crossing] / g[crossing])))
            z = np.where(active, v, 0.0)
            gz = np.where(active, g, 0.0)
        slopes.append(w_last @ gz)
        t_next = t + horizon
        if hi - t_next <= step:
            return np.array(starts + [hi]), np.array(slopes)
        starts.append(t_next)
        t = t_next
    raise RuntimeError(
        f"restrict_to_line: walking the line over [{lo}, {hi}] crossed more than {cap} activation regions "
        f"without reaching hi (bound {max_breakpoints(net)} breakpoints); the network or tolerances are degenerate"
    )


def restrict_to_line(
    net: ReluNetwork,
    free_input: int | str,
    fixed: Mapping[str, float] | Sequence[float] | np.ndarray | None,
    lo: float,
    hi: float,
    output_index: int | None = 0,
    merge_tol: float = 1e-9,
    *,
    slope_tol: float = 1e-9,
) -> PiecewiseLinear:
    """The network as an exact piecewise-linear function of one input on ``[lo, hi]``.

    Parameters
    ----------
    net : ReluNetwork
        The network (or an object with ``.network``, such as an ``OnnxSurrogate``).
    free_input : int | str
        The input that moves (name or index).
    fixed : mapping name -> value, or sequence
        Values of the other inputs: a mapping holding every other input name (the free input and
        further keys are ignored), or a sequence of the ``n_inputs - 1`` other values in input
        order, or of all ``n_inputs`` values (the free one ignored).
    lo, hi : float
        The box of the free input, ``lo <= hi``.
    output_index : int | None
        The output to restrict (``y`` of shape (n,)); None for all outputs (``y`` of shape
        (n, n_outputs), a breakpoint being kept where any output kinks).
    merge_tol : float
        Kinks closer than ``merge_tol * (hi - lo)`` merge into one breakpoint (module docstring).
    slope_tol : float
        Interior breakpoints with a slope change below ``slope_tol`` times the largest slope
        magnitude are dropped.

    Every breakpoint value is the network evaluated at that point. ``len(x) <= max_breakpoints(net)``.
    Raises ValueError for bad arguments, naming the argument.
    """
    net = _as_network(net)
    k = _free_index(net, free_input)
    out = _output_index(net, output_index)
    lo, hi = _check_box(lo, hi, merge_tol, slope_tol)
    base = _base_point(net, k, fixed)
    if lo == hi or len(net.weights) == 1:
        pts = np.array([lo]) if lo == hi else np.array([lo, hi])
    elif len(net.weights) == 2:
        pts = _one_layer(net, k, base, lo, hi, out, merge_tol, slope_tol)
    else:
        pts, seg_slopes = _walk(net, k, base, lo, hi, out, merge_tol)
        keep = _drop_collinear(seg_slopes, slope_tol)
        if keep is not None:
            pts = pts[np.concatenate(([True], keep, [True]))]
    # values: the network itself at every breakpoint
    X = np.broadcast_to(base, (pts.size, base.size)).copy()
    X[:, k] = pts
    Y = net.evaluate(X)
    return PiecewiseLinear._trusted(pts, Y if out is None else np.ascontiguousarray(Y[:, out]))


# =====================================================================================  structure


def max_breakpoints(net: ReluNetwork) -> int:
    """An upper bound on ``len(restrict_to_line(net, ...).x)`` for any line and box.

    Along a line, layer ``l``'s neurons are affine on each piece left by the layers below, so each
    adds at most one kink per piece: pieces <= prod(n_l + 1), points = pieces + 1. For one hidden
    layer this is the tight ``n_hidden + 2``."""
    net = _as_network(net)
    pieces = 1
    for n_l in net.hidden_sizes:
        pieces *= n_l + 1
    return pieces + 1


def _depends_on_free(net: ReluNetwork, k: int) -> list[np.ndarray]:
    """Per hidden layer, which neurons' pre-activations vary with input ``k`` (structurally)."""
    dep = np.zeros(len(net.inputs), dtype=bool)
    dep[k] = True
    out = []
    for w in net.weights[:-1]:
        dep = np.any(w[:, dep] != 0.0, axis=1)
        out.append(dep)
    return out


def kink_directions(net: ReluNetwork, free_input: int | str, output_index: int = 0) -> np.ndarray | None:
    """One hidden layer: per neuron, the sign (+1, -1, 0) of its kink's slope change in the output
    along the free input, ``sign(W2[out, j])`` when ``W1[j, free] != 0`` (its change is
    ``W2[out, j] * |W1[j, free]|``), else 0. +1 kinks are convex, -1 concave. None for deeper
    networks (their kink directions depend on the fixed inputs); an empty array with no hidden layer."""
    net = _as_network(net)
    k = _free_index(net, free_input)
    out = _output_index(net, output_index)
    if out is None:
        raise ValueError("output_index: kink_directions needs one output index, not None")
    if len(net.weights) == 1:
        return np.zeros(0, dtype=np.int8)
    if len(net.weights) != 2:
        return None
    moves = net.weights[0][:, k] != 0.0
    return np.where(moves, np.sign(net.weights[1][out]), 0.0).astype(np.int8)


def structurally_convex(net: ReluNetwork, free_input: int | str, output_index: int = 0) -> bool:
    """True if, for every value of the other inputs and every box, the restriction to the free
    input is convex.

    Sufficient condition, by composition (ReLU is convex and non-decreasing): every weight that
    carries the free input's influence past the first layer is >= 0, i.e. for layers 2..L, every
    ``W_l[i, j]`` with neuron ``j`` of layer l-1 depending on the free input is >= 0 (the last layer
    restricted to the output row). For one hidden layer this is also necessary up to neurons with
    no path to the output: ``W2[out, j] >= 0`` for every ``j`` with ``W1[j, free] != 0``. For deeper
    networks False means "not proven", not "non-convex"."""
    net = _as_network(net)
    k = _free_index(net, free_input)
    out = _output_index(net, output_index)
    if out is None:
        raise ValueError("output_index: structurally_convex needs one output index, not None")
    deps = _depends_on_free(net, k)
    layers = net.weights[1:]
    for l, (w, dep_below) in enumerate(zip(layers, deps)):
        if l == len(layers) - 1:
            w = w[out : out + 1]
        if np.any(w[:, dep_below] < 0.0):
            return False
    return True
