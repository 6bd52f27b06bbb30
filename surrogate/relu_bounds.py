"""Pre-activation bounds of a ReLU network over an input box, and which neurons can switch there.

For :class:`~surrogate.network.ReluNetwork` ``y = f(x)`` with layers

.. math::
    a^{(l)} = W^{(l)} z^{(l-1)} + b^{(l)},\\qquad z^{(l)} = \\max(0, a^{(l)}),\\qquad z^{(0)} = x,

and a box :math:`\\ell \\le x \\le u` (an input with :math:`\\ell_i = u_i` is *fixed*, e.g. a
disturbance measured for the cycle), this module computes per neuron an interval
:math:`L^{(l)}_j \\le a^{(l)}_j(x) \\le U^{(l)}_j` valid for every ``x`` in the box, and classifies
each hidden neuron as

* **stable active** if :math:`L_j \\ge 0` (then :math:`z_j = a_j`, affine, over the whole box),
* **stable inactive** if :math:`U_j \\le 0` (then :math:`z_j = 0`),
* **unstable** otherwise (it switches inside the box; an exact MILP needs one binary for it).

Interval arithmetic (:func:`interval_bounds`), layer by layer: with :math:`W^+ = \\max(W, 0)`,
:math:`W^- = \\min(W, 0)` and the bounds :math:`[\\underline z, \\overline z]` of the layer below,

.. math::
    L = W^+ \\underline z + W^- \\overline z + b,\\qquad U = W^+ \\overline z + W^- \\underline z + b,
    \\qquad [\\underline z, \\overline z] \\leftarrow [\\max(0, L), \\max(0, U)].

Exact for the first layer (each pre-activation is affine in ``x``; its extremes are at box
corners), an over-estimate from the second on (it ignores that the neurons below share ``x``).

Linear-relaxation bounds (:func:`crown_bounds`, the back-substitution of DeepPoly/CROWN): relax
every neuron ``k`` below layer ``l`` by two linear functions of its pre-activation,
:math:`\\alpha_k a_k \\le z_k \\le s_k (a_k - L_k)` for an unstable neuron with
:math:`s_k = U_k / (U_k - L_k)` and :math:`\\alpha_k = 1` if :math:`U_k > -L_k` else 0
(``z = a`` for a stable active one, ``z = 0`` for a stable inactive one), and bound
:math:`c^\\top z^{(l-1)}` (``c`` a row of :math:`W^{(l)}`) from above by taking the upper relaxation
where ``c`` is positive and the lower one where it is negative, then substituting
:math:`a^{(l-1)} = W^{(l-1)} z^{(l-2)} + b^{(l-1)}` and repeating down to ``x``, where the linear
function's maximum over the box is :math:`\\Lambda^+ u + \\Lambda^- \\ell`. (Lower bounds alike.)
Sound for the same reason as the LP (every relaxation holds at every ``x`` of the box), looser
than the LP, and a few small matrix products (microseconds); the kept bound is the tighter of it
and the interval one.

LP tightening (:func:`lp_bounds`): for layer ``l >= 2`` (and the outputs), minimise and maximise
each :math:`a^{(l)}_j` over the LP relaxation of the layers below, the box on ``x`` and, for every
neuron ``k`` below with bounds ``[L_k, U_k]`` (already tightened),

.. math::
    \\text{stable active: } z_k = a_k;\\quad
    \\text{stable inactive: } z_k = 0,\\ a_k \\le 0;\\quad
    \\text{unstable: } z_k \\ge 0,\\ z_k \\ge a_k,\\ z_k \\le \\frac{U_k}{U_k - L_k}(a_k - L_k)

(the "triangle", the convex hull of one ReLU over an interval; it is the LP relaxation of the
big-M formulation with these bounds). Every ``x`` of the box with its true activations is feasible
there, so the LP optima bound :math:`a^{(l)}_j` soundly (LPs are solved only for the hidden
neurons the linear-relaxation bounds below leave unstable: a stable one needs no binary either way); the bound kept is the tighter of the LP
and the interval one, widened by ``lp_pad * (1 + |bound|)`` against HiGHS's feasibility and
optimality tolerances (``lp_pad`` = 1e-7 by default; a neuron whose true bound is within the pad
of 0 is then called unstable, which costs a binary, never exactness). One HiGHS instance per call,
rows added layer by layer, warm-started from the previous objective's basis.

This module knows nothing of steam networks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import highspy
import numpy as np

from surrogate.network import ReluNetwork

__all__ = ["BOUND_METHODS", "NeuronBounds", "check_box", "crown_bounds", "interval_bounds", "lp_bounds", "neuron_bounds"]

log = logging.getLogger(__name__)

#: The ways :func:`neuron_bounds` computes bounds.
BOUND_METHODS = ("interval", "crown", "lp")
#: Relative widening of LP bounds against solver tolerances (see the module docstring).
LP_PAD = 1e-7


@dataclass(frozen=True)
class NeuronBounds:
    """Bounds of every layer's pre-activation over one box.

    ``pre[l] = (lower, upper)``, arrays of shape (n_l,), one pair per layer of the network, the
    last being the outputs ``y``; ``method`` is "interval" or "lp"."""

    pre: list[tuple[np.ndarray, np.ndarray]]
    method: str

    @property
    def hidden(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The hidden layers' (lower, upper) pre-activation bounds."""
        return self.pre[:-1]

    @property
    def output(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds on the outputs ``y`` over the box."""
        return self.pre[-1]

    def active(self) -> list[np.ndarray]:
        """Per hidden layer, the mask of stably active neurons (``L >= 0``)."""
        return [lo >= 0.0 for lo, _ in self.hidden]

    def inactive(self) -> list[np.ndarray]:
        """Per hidden layer, the mask of stably inactive neurons (``U <= 0`` and not active)."""
        return [(hi <= 0.0) & ~(lo >= 0.0) for lo, hi in self.hidden]

    def unstable(self) -> list[np.ndarray]:
        """Per hidden layer, the mask of neurons that can switch in the box (``L < 0 < U``)."""
        return [(lo < 0.0) & (hi > 0.0) for lo, hi in self.hidden]

    @property
    def n_unstable(self) -> int:
        """How many hidden neurons need a binary in an exact embedding over this box."""
        return int(sum(int(m.sum()) for m in self.unstable()))

    def post(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per hidden layer, bounds of the activations ``z = max(0, a)``."""
        return [(np.maximum(lo, 0.0), np.maximum(hi, 0.0)) for lo, hi in self.hidden]


def check_box(net: ReluNetwork, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``lower``/``upper`` as float arrays of the network's input size; ValueError naming the
    input, the values and the rule (finite, ``lower <= upper``) otherwise."""
    lo = np.asarray(lower, dtype=np.float64).reshape(-1)
    hi = np.asarray(upper, dtype=np.float64).reshape(-1)
    n = len(net.inputs)
    if lo.shape != (n,) or hi.shape != (n,):
        raise ValueError(f"box lower/upper have {lo.size}/{hi.size} values; the network has {n} inputs {net.input_names}")
    for i, name in enumerate(net.input_names):
        if not (np.isfinite(lo[i]) and np.isfinite(hi[i])):
            raise ValueError(f"box of input {name!r} is [{lo[i]}, {hi[i]}]: both ends must be finite")
        if lo[i] > hi[i]:
            raise ValueError(f"box of input {name!r} is [{lo[i]}, {hi[i]}]: lower must not exceed upper")
    return lo, hi


def interval_bounds(net: ReluNetwork, lower: np.ndarray, upper: np.ndarray) -> NeuronBounds:
    """Interval-arithmetic bounds of every layer over the box (module docstring)."""
    z_lo, z_hi = check_box(net, lower, upper)
    return NeuronBounds(net.interval_bounds(z_lo, z_hi), "interval")  # the network's own interval arithmetic


def _relaxation(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per neuron ``(alpha, s, t)``: ``alpha a <= z <= s a + t`` over ``[lo, hi]`` (module docstring)."""
    active, inactive = lo >= 0.0, hi <= 0.0
    unstable = ~active & ~inactive
    width = np.where(unstable, hi - lo, 1.0)
    s = np.where(active, 1.0, np.where(unstable, hi / width, 0.0))
    t = np.where(unstable, -s * lo, 0.0)
    alpha = np.where(active, 1.0, np.where(unstable & (hi > -lo), 1.0, 0.0))
    return alpha, s, t


def crown_bounds(net: ReluNetwork, lower: np.ndarray, upper: np.ndarray) -> NeuronBounds:
    """Linear-relaxation (back-substitution) bounds, intersected with the interval ones
    (module docstring)."""
    base = interval_bounds(net, lower, upper)
    x_lo, x_hi = check_box(net, lower, upper)
    pre = [base.pre[0]]
    relax = []
    for l in range(1, len(net.weights)):
        relax.append(_relaxation(*pre[l - 1]))
        bounds = []
        for upper_side in (True, False):
            lam = net.weights[l].copy()          # rows: neurons of layer l, over z^{(l-1)}
            const = net.biases[l].copy()
            for k in range(l - 1, -1, -1):       # through layer k's ReLU, then its affine map
                alpha, s, t = relax[k]
                pos, neg = np.maximum(lam, 0.0), np.minimum(lam, 0.0)
                if upper_side:
                    const = const + pos @ t
                    lam = pos * s + neg * alpha
                else:
                    const = const + neg @ t
                    lam = pos * alpha + neg * s
                const = const + lam @ net.biases[k]
                lam = lam @ net.weights[k]
            pos, neg = np.maximum(lam, 0.0), np.minimum(lam, 0.0)
            bounds.append(const + (pos @ x_hi + neg @ x_lo if upper_side else pos @ x_lo + neg @ x_hi))
        hi_l, lo_l = bounds
        lo_l = np.maximum(lo_l, base.pre[l][0])
        hi_l = np.maximum(np.minimum(hi_l, base.pre[l][1]), lo_l)
        pre.append((lo_l, hi_l))
    return NeuronBounds(pre, "crown")


def _new_lp() -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("presolve", "off")  # tiny LPs re-solved from the last basis: presolve only costs
    return h


def lp_bounds(net: ReluNetwork, lower: np.ndarray, upper: np.ndarray, lp_pad: float = LP_PAD,
              outputs: bool = True) -> NeuronBounds:
    """:func:`crown_bounds` tightened by LP from the second layer on (module docstring).

    The first layer's interval bounds are exact and kept; a network with one hidden layer gets
    only its output bounds tightened (none with ``outputs=False``: the CROWN ones are kept). Where an LP does not end optimal (it should not: the
    relaxation is feasible and bounded) the interval bound is kept and a warning logged."""
    base = crown_bounds(net, lower, upper)
    lo_x, hi_x = check_box(net, lower, upper)
    h = _new_lp()
    inf = highspy.kHighsInf
    n0 = lo_x.size
    h.addVars(n0, lo_x, hi_x)
    prev_cols = np.arange(n0, dtype=np.int32)
    n_cols = n0
    pre = [base.pre[0]]
    for l in range(len(net.weights)):
        w, b = net.weights[l], net.biases[l]
        if l > 0 and not (l == len(net.weights) - 1 and not outputs):
            lo_i, hi_i = base.pre[l]
            new_lo, new_hi = lo_i.copy(), hi_i.copy()
            h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), np.zeros(n_cols))
            for j in range(w.shape[0]):
                nz = np.flatnonzero(w[j])
                if nz.size == 0 or (l < len(net.weights) - 1 and (lo_i[j] >= 0.0 or hi_i[j] <= 0.0)):
                    continue  # stable already: an LP would only tighten its activation's range
                for sense, store in ((highspy.ObjSense.kMinimize, new_lo), (highspy.ObjSense.kMaximize, new_hi)):
                    h.changeObjectiveSense(sense)
                    h.changeColsCost(nz.size, prev_cols[nz], w[j, nz])
                    h.run()
                    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                        log.warning("bound LP of layer %d neuron %d ended %s; interval bound kept",
                                    l, j, h.modelStatusToString(h.getModelStatus()))
                        continue
                    v = h.getInfo().objective_function_value + b[j]
                    pad = lp_pad * (1.0 + abs(v))
                    if sense == highspy.ObjSense.kMinimize:
                        store[j] = max(store[j], v - pad)
                    else:
                        store[j] = min(store[j], v + pad)
                h.changeColsCost(nz.size, prev_cols[nz], np.zeros(nz.size))
            new_hi = np.maximum(new_hi, new_lo)  # never an empty interval from rounding
            pre.append((new_lo, new_hi))
        elif l > 0:
            pre.append(base.pre[l])
        if l == len(net.weights) - 1:
            break
        # the relaxation of this layer's ReLUs, with the bounds just settled
        lo_l, hi_l = pre[l]
        n = w.shape[0]
        z_lo, z_hi = np.maximum(lo_l, 0.0), np.maximum(hi_l, 0.0)
        h.addVars(n, z_lo, z_hi)
        cols = np.arange(n_cols, n_cols + n, dtype=np.int32)
        for j in range(n):
            nz = np.flatnonzero(w[j])
            idx = np.concatenate([[cols[j]], prev_cols[nz]]).astype(np.int32)
            if lo_l[j] >= 0.0:  # z = a
                h.addRow(b[j], b[j], idx.size, idx, np.concatenate([[1.0], -w[j, nz]]))
            elif hi_l[j] <= 0.0:  # z = 0 (its bounds), a <= 0
                h.addRow(-inf, -b[j], nz.size, prev_cols[nz], w[j, nz])
            else:
                s = hi_l[j] / (hi_l[j] - lo_l[j])
                h.addRow(b[j], inf, idx.size, idx, np.concatenate([[1.0], -w[j, nz]]))             # z - w.z' >= b
                h.addRow(-inf, s * (b[j] - lo_l[j]), idx.size, idx, np.concatenate([[1.0], -s * w[j, nz]]))  # z <= s (a - L)
        prev_cols = cols
        n_cols += n
    return NeuronBounds(pre, "lp")


def neuron_bounds(net: ReluNetwork, lower: np.ndarray, upper: np.ndarray, method: str = "crown") -> NeuronBounds:
    """Bounds over the box by ``method`` (:data:`BOUND_METHODS`): "interval", "crown" (interval
    tightened by linear relaxation) or "lp" (CROWN tightened by LP, hidden layers only; the output
    bounds stay CROWN's). ValueError for another method."""
    if method == "interval":
        return interval_bounds(net, lower, upper)
    if method == "crown":
        return crown_bounds(net, lower, upper)
    if method == "lp":
        return lp_bounds(net, lower, upper, outputs=False)
    raise ValueError(f"bound method = {method!r}: expected one of {BOUND_METHODS}")
