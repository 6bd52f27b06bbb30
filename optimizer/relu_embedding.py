"""Exact MILP embedding of a ReLU network with several decision inputs, built once, set per cycle.

A learned quantity ``y = f(x, d)`` (:class:`~surrogate.network.ReluNetwork`, scaling folded into
its first and last layers, so the embedding works in physical units) with decision inputs ``x``
that move inside the cycle's box :math:`\\ell \\le x \\le u` and disturbance inputs ``d`` measured
for the cycle. Networks with ONE decision input keep the exact 1-D curve path
(:mod:`surrogate.curve`, :func:`optimizer.formulation.add_learned_curves`); this module refuses them.

Structure (built once, :func:`add_relu_network`): for every hidden neuron ``j`` of layer ``l`` an
activation ``z_j >= 0`` and a binary :math:`\\delta_j`; the pre-activation is the affine expression
:math:`a_j = w_j^\\top z^{(l-1)} + b_j` (first layer: :math:`w_{jx}^\\top x + w_{jd}^\\top d + b_j`,
the disturbances as mutable Params); the outputs ``y = W_L z^{(L-1)} + b_L`` as equality rows.

Per cycle (:meth:`ReluEmbedding.values`, :meth:`ReluEmbedding.write`), everything that depends
on the box and the disturbances is a mutable Param: the box, ``d``, the pre-activation bounds
:math:`[L_j, U_j]` (:mod:`surrogate.relu_bounds`: interval arithmetic by default; optionally
tightened from the second layer on by linear relaxation or by LP), the activation bounds
:math:`[\\max(0, L_j), \\max(0, U_j)]`, the output bounds and the binaries' bounds: a stably
active neuron (:math:`L_j \\ge 0`) gets :math:`\\delta_j = 1` fixed, a stably inactive one
(:math:`U_j \\le 0`) :math:`\\delta_j = 0` fixed, so the rows below
reduce to :math:`z_j = a_j` (linear) or :math:`z_j = 0` (removed) and HiGHS's presolve takes the
fixed columns out; only the unstable neurons keep a free binary. Every coefficient is affine in
the Params (:mod:`optimizer.lp_arrays` computes the HiGHS arrays from them in one product).

Two formulations of :math:`z = \\max(0, a)` for an unstable neuron:

``"bigm"`` (with the tight bounds of this box)::

    z >= a,   z <= a - L (1 - delta),   z <= U delta,   z >= 0

Exact for integral :math:`\\delta` (1: ``z = a >= 0``; 0: ``z = 0 >= a``); its LP relaxation is
the triangle over :math:`[L, U]`. Three rows and one binary per neuron.

``"hull"`` (per-neuron extended formulation, the convex hull of :math:`\\{(z^{(l-1)}, z): z = \\max(0,
w^\\top z^{(l-1)} + b)\\}` over the box :math:`[\\underline v, \\overline v]` of the neuron's inputs;
OMLT's partition formulation with one input per part). With the disaggregated inputs ``v`` (the
part of the inputs where the neuron is active; the rest is :math:`z^{(l-1)} - v`)::

    lo_i delta <= v_i <= hi_i delta,   lo_i (1 - delta) <= z'_i - v_i <= hi_i (1 - delta),
    z = w.v + b delta,   w.(z' - v) + b (1 - delta) <= 0,   z >= 0

Tighter relaxation (ideal for one neuron over the box) for ``n_in`` more columns and ``4 n_in``
more rows per neuron.

Which one, and which bounds: measured (``python -m benchmarks.relu_multi_input``, 40 cycle-like
boxes per network, HiGHS with the supervisor's options, one thread, 2 shared cores; whole per-box
time = bounds + Params + arrays + HiGHS, p50 / p95 in ms; docs/relu_embedding.md has all figures):

=====================  ==============  ==============  ==============  ==============
network (wide)         bigm, interval  bigm, CROWN     bigm, LP        hull, interval
=====================  ==============  ==============  ==============  ==============
3-16-16-1 turbine      3.20 / 14.3     3.74 / 10.5     3.85 / 13.2     5.57 / 40.4
3-16-16-1 HRSG         2.29 / 6.2      3.27 / 7.1      5.06 / 11.2     5.53 / 10.6
4-16-16-1 turbine      2.84 / 33.4     3.12 / 36.1     4.33 / 29.6     7.59 / 96.6
=====================  ==============  ==============  ==============  ==============

(the small n-8-1 networks: 0.9-1.4 ms for all). The hull's tighter relaxation does not pay for its
``n_in`` extra columns and ``4 n_in`` extra rows per neuron: HiGHS solves these models at or near
the root either way, so the formulation's size decides; big-M is the default. Tighter bounds
(CROWN, LP) cut the free binaries (mean 7.1 -> 4.5 -> 4.3 on the first network) but HiGHS's own
presolve and probing recover most of that, and computing them costs 0.3-2 ms; with the three
wide networks in one site (benchmarks/relu_coupled.py) interval bounds gave 10.6 / 25.5 ms,
CROWN 14.5 / 29.0, LP 18.8 / 39.8. Interval bounds are the default; the others stay available
(``bounds=``) for networks or sites where the binaries count more.

``"regions"`` (two or more decision inputs, no on/off; :mod:`optimizer.relu_regions_form`): no
per-neuron rows at all; per cycle the network's linear regions over the box (convex polygons in
2-D, :func:`surrogate.relu_regions.linear_regions_2d`; convex polytopes in 3-D and beyond,
:func:`surrogate.relu_regions_nd.linear_regions`, both exact) and their disjunction in the
disaggregated logarithmic form (locally ideal, ``ceil(log2 R)`` binaries for ``R`` regions). On
the wide x-16-16-1 networks of the site's campaign data a 2-D box holds 3-65 regions, a 3-D box
2-82 (16-662 vertices), where big-M has up to 20 unstable neurons; measured
(``python -m benchmarks.relu_omlt_wide``, docs/relu_embedding.md) it is faster than big-M there,
slower on the bundled 2-3-1 network (its one or two regions cost an enumeration big-M does
without). A box with more regions or vertices than the slots reserved is refused (ValueError),
which big-M never is.

``"auto"`` (:func:`choose_formulation`): regions for 2-3 decision inputs, at least
:data:`REGIONS_MIN_HIDDEN` hidden neurons and no on/off, big-M otherwise. Not the default
(:data:`DEFAULT_FORMULATION` stays big-M): the site's units are switched (``on=``) and their
bundled networks have 3-4 hidden neurons, where big-M is the faster one.

:func:`check_embedding` compares the embedding's ``(x, y)`` at a solution with onnxruntime on the
same network, relative to ``max(|y_onnx|, 1e-9)`` as the supervisor's curve check does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from surrogate.network import ReluNetwork
from optimizer.relu_regions_form import add_region_rows, region_params, region_values
from optimizer.relu_regions_form import capacity as region_capacity
from surrogate.relu_bounds import BOUND_METHODS, NeuronBounds, neuron_bounds

__all__ = [
    "DEFAULT_BOUNDS",
    "DEFAULT_FORMULATION",
    "FORMULATIONS",
    "CycleValues",
    "EmbeddingCheck",
    "ReluEmbedding",
    "add_relu_network",
    "check_embedding",
    "choose_formulation",
    "standalone_model",
]

log = logging.getLogger(__name__)

FORMULATIONS = ("bigm", "hull", "regions", "auto")
#: Chosen by measurement (docs/relu_embedding.md); "auto" applies :func:`choose_formulation`.
DEFAULT_FORMULATION = "bigm"
#: Hidden neurons from which "auto" takes the regions formulation (2-3 decisions, no on/off):
#: measured faster than big-M on the wide 32-neuron networks, slower on the bundled 3-neuron one.
REGIONS_MIN_HIDDEN = 16
#: Decision inputs the regions formulation is used for by "auto" (4-D cells are enumerated too, not measured).
REGIONS_MAX_DECISIONS = 3
#: Pre-activation bounds computed per cycle (surrogate.relu_bounds.BOUND_METHODS); chosen by measurement.
DEFAULT_BOUNDS = "interval"
#: Relative agreement with onnxruntime required of a solution (as the 1-D curves).
AGREEMENT_RTOL = 1e-6


@dataclass(frozen=True)
class CycleValues:
    """The embedding's Param values for one box and one set of disturbances (in
    :attr:`ReluEmbedding.param_data` order), with the bounds they came from."""

    values: np.ndarray
    bounds: NeuronBounds
    lower: np.ndarray   # full input box (disturbances with lower == upper)
    upper: np.ndarray
    n_regions: int | None = None   # the "regions" formulation: linear regions over the box

    @property
    def n_binaries(self) -> int:
        """Free binaries of the embedding with these values (= unstable neurons; for "regions"
        the digits of the region code, ceil(log2(regions)))."""
        if self.n_regions is not None:
            return (self.n_regions - 1).bit_length()
        return self.bounds.n_unstable


@dataclass(frozen=True)
class EmbeddingCheck:
    """The embedding's solution against the served network at the same inputs."""

    inputs: np.ndarray       # full input vector (decisions as solved, disturbances as set)
    y_model: np.ndarray      # the embedding's output variables
    y_served: np.ndarray     # onnxruntime (or whatever served it) at ``inputs``
    rel_error: float         # max_k |y_model - y_served| / max(|y_served|, 1e-9)
    rtol: float

    @property
    def ok(self) -> bool:
        return bool(self.rel_error <= self.rtol)


class ReluEmbedding:
    """One network embedded in a Pyomo block (see the module docstring); made by
    :func:`add_relu_network`.

    Attributes: ``block``; ``network``; ``decision``/``disturbance`` (input names); ``formulation``;
    ``x`` (Var over decision names), ``y`` (Var over output names), ``z``/``delta`` (over hidden
    neurons ``(l, j)``); ``param_data``: every mutable Param data object the cycle writes, in the
    order of :attr:`CycleValues.values`."""

    def __init__(self, block: pyo.Block, network: ReluNetwork, decision: list[str], formulation: str, bound_method: str):
        self.block = block
        self.network = network
        self.decision = decision
        self.disturbance = [n for n in network.input_names if n not in decision]
        self.formulation = formulation
        self.bound_method = bound_method
        names = network.input_names
        self._xi = np.array([names.index(n) for n in decision], dtype=np.int64)
        self._di = np.array([names.index(n) for n in self.disturbance], dtype=np.int64)
        self.neurons = [(l, j) for l, n in enumerate(network.hidden_sizes) for j in range(n)]
        b = block
        if formulation == "regions":
            self.param_data = ([b.d[n] for n in self.disturbance] + [b.x_lo[n] for n in decision] + [b.x_hi[n] for n in decision]
                               + region_params(b, decision, network.output_names)
                               + [b.y_lo[n] for n in network.output_names] + [b.y_hi[n] for n in network.output_names])
            return
        self.param_data = ([b.d[n] for n in self.disturbance] + [b.x_lo[n] for n in decision] + [b.x_hi[n] for n in decision]
                           + [b.L[k] for k in self.neurons] + [b.U[k] for k in self.neurons]
                           + [b.z_lo[k] for k in self.neurons] + [b.z_hi[k] for k in self.neurons]
                           + [b.delta_lo[k] for k in self.neurons] + [b.delta_hi[k] for k in self.neurons]
                           + [b.y_lo[n] for n in network.output_names] + [b.y_hi[n] for n in network.output_names])

    # ------------------------------------------------------------------ per cycle
    def values(self, lower: Sequence[float] | Mapping[str, float], upper: Sequence[float] | Mapping[str, float],
               disturbances: Mapping[str, float], bounds: str | None = None) -> CycleValues:
        """The Param values for the decision box ``[lower, upper]`` (in :attr:`decision` order,
        or a mapping by name) and ``disturbances`` (name -> value, every disturbance input).
        ``bounds``: one of :data:`~surrogate.relu_bounds.BOUND_METHODS` (default: the embedding's). ValueError naming the input
        for a missing, non-finite or inverted entry."""
        lo_x = self._by_name(lower, "lower")
        hi_x = self._by_name(upper, "upper")
        n_in = len(self.network.inputs)
        lo, hi = np.empty(n_in), np.empty(n_in)
        lo[self._xi], hi[self._xi] = lo_x, hi_x
        d = np.empty(self._di.size)
        for k, name in enumerate(self.disturbance):
            if name not in disturbances:
                raise ValueError(f"disturbances lacks {name!r}: every disturbance input {self.disturbance} needs a value")
            v = float(disturbances[name])
            if not np.isfinite(v):
                raise ValueError(f"disturbance {name!r} = {v}: must be finite")
            d[k] = v
        lo[self._di], hi[self._di] = d, d
        if self.formulation == "regions":
            slots, reg, y_lo, y_hi = region_values(self.network, lo, hi, tuple(int(i) for i in self._xi),
                                                   len(self.block.S), len(self.block.B))
            values = np.concatenate([d, lo_x, hi_x, slots, y_lo, y_hi])
            return CycleValues(values, neuron_bounds(self.network, lo, hi, "interval"), lo, hi, reg.n_regions)
        nb = neuron_bounds(self.network, lo, hi, bounds or self.bound_method)
        hid_lo = np.concatenate([p[0] for p in nb.hidden]) if nb.hidden else np.empty(0)
        hid_hi = np.concatenate([p[1] for p in nb.hidden]) if nb.hidden else np.empty(0)
        active = hid_lo >= 0.0
        inactive = (hid_hi <= 0.0) & ~active
        d_lo = active.astype(float)               # stable active: delta fixed at 1
        d_hi = np.where(inactive, 0.0, 1.0)       # stable inactive: delta fixed at 0
        y_lo, y_hi = nb.output
        values = np.concatenate([d, lo_x, hi_x, hid_lo, hid_hi, np.maximum(hid_lo, 0.0), np.maximum(hid_hi, 0.0),
                                 d_lo, d_hi, y_lo, y_hi])
        return CycleValues(values, nb, lo, hi)

    def write(self, cycle: CycleValues) -> None:
        """Write ``cycle``'s values into the Params (for a model solved through Pyomo; the
        supervisor's array path can scatter ``cycle.values`` by :attr:`param_data` position)."""
        for p, v in zip(self.param_data, cycle.values):
            p.set_value(float(v))

    def set_box(self, lower, upper, disturbances: Mapping[str, float], bounds: str | None = None) -> CycleValues:
        """:meth:`values` then :meth:`write`."""
        cycle = self.values(lower, upper, disturbances, bounds)
        self.write(cycle)
        return cycle

    def solution(self, cycle: CycleValues | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(full input vector, outputs) from the Pyomo variables' current values (after a solve
        loaded them); the disturbances from ``cycle`` (the values the solve used, when they were
        scattered into the solver's arrays without writing the Params) or else the Params."""
        b = self.block
        full = np.empty(len(self.network.inputs))
        full[self._xi] = [pyo.value(b.x[n]) for n in self.decision]
        full[self._di] = cycle.lower[self._di] if cycle is not None else [pyo.value(b.d[n]) for n in self.disturbance]
        return full, np.array([pyo.value(b.y[n]) for n in self.network.output_names])

    def _by_name(self, values, what: str) -> np.ndarray:
        if isinstance(values, Mapping):
            missing = [n for n in self.decision if n not in values]
            if missing:
                raise ValueError(f"box {what} lacks {missing}: every decision input {self.decision} needs a value")
            arr = np.array([float(values[n]) for n in self.decision])
        else:
            arr = np.asarray(values, dtype=float).reshape(-1)
            if arr.size != len(self.decision):
                raise ValueError(f"box {what} has {arr.size} values; expected one per decision input {self.decision}")
        for n, v in zip(self.decision, arr):
            if not np.isfinite(v):
                raise ValueError(f"box {what} of decision input {n!r} = {v}: must be finite")
        return arr


def choose_formulation(network: ReluNetwork, n_decision: int, switched: bool = False) -> str:
    """The formulation ``"auto"`` stands for: ``"regions"`` for a network of at least
    :data:`REGIONS_MIN_HIDDEN` hidden neurons with 2 to :data:`REGIONS_MAX_DECISIONS` decision
    inputs and no on/off (``switched``: the regions' disjunction is not switched), ``"bigm"``
    otherwise. Measured (``python -m benchmarks.relu_omlt_wide``, docs/relu_embedding.md): on the
    wide x-16-16-1 networks the regions take 0.5-0.9x big-M's per-box time at p50 (2 decisions)
    and 0.65-0.8x (3 decisions); on the bundled 2-3-1 network 2.4-2.5x (five runs). A box whose regions exceed the
    reserved slots is refused (ValueError), as for ``"regions"``."""
    if switched or not 2 <= n_decision <= REGIONS_MAX_DECISIONS or network.n_hidden < REGIONS_MIN_HIDDEN:
        return "bigm"
    return "regions"


def add_relu_network(block: pyo.Block, network: ReluNetwork, decision_inputs: Sequence[str],
                     formulation: str = DEFAULT_FORMULATION, bounds: str = DEFAULT_BOUNDS, on=None) -> ReluEmbedding:
    """Add ``network``'s variables, Params and rows to ``block`` (an empty Pyomo block already
    attached to its model) with ``decision_inputs`` (>= 2 input names) as variables ``block.x``
    and every other input a disturbance Param ``block.d``; outputs are ``block.y``. Link them to
    the site's variables with your own rows. Params start at 0: call
    :meth:`ReluEmbedding.set_box` (or write :meth:`ReluEmbedding.values`) before solving.

    ``on``: the on/off (a binary of the model) of the unit the network describes, or None (the
    network always on). With ``on`` every row is made homogeneous in ``(x, z, delta, y, on)``:
    each constant (the biases, the disturbances' terms, the ``1`` of ``1 - delta``) and each
    bound (the box, the activation, binary and output bounds: rows instead of variable bounds)
    is multiplied by ``on``. With ``on = 1`` the rows are the ones above; with ``on = 0`` every
    variable of the block is 0 (``x``, ``z``, ``delta`` and ``y`` bounded by ``0 * bound``), so the
    unit's own variables can be tied to ``x`` and ``y`` by equalities; for ``0 < on < 1`` the
    relaxation is ``on`` times the relaxation at ``x / on`` (the perspective, as the 1-D curves'
    weights summing to ``on``). A big-M link that detaches the network from a stopped unit instead
    lets a fractional ``on`` decouple the unit's flows from the network by up to ``M (1 - on)``:
    on the reference site's 24-period plan that was 7 % of a period's cost in the LP relaxation.

    ValueError for an unknown formulation/bound method, an unknown or repeated input name, or
    fewer than two decision inputs (those use the 1-D curve path)."""
    if formulation not in FORMULATIONS:
        raise ValueError(f"formulation = {formulation!r}: expected one of {FORMULATIONS}")
    if bounds not in BOUND_METHODS:
        raise ValueError(f"bounds = {bounds!r}: expected one of {BOUND_METHODS}")
    decision = list(decision_inputs)
    names = network.input_names
    unknown = [n for n in decision if n not in names]
    if unknown:
        raise ValueError(f"decision_inputs {unknown} are not inputs of the network (inputs: {names})")
    if len(set(decision)) != len(decision):
        raise ValueError(f"decision_inputs = {decision}: a name is repeated")
    if len(decision) < 2:
        raise ValueError(f"decision_inputs = {decision}: the multi-input embedding needs at least 2 decision inputs; "
                         f"a network with one decision input uses the exact 1-D curve path (surrogate.curve)")
    if formulation == "auto":
        formulation = choose_formulation(network, len(decision), on is not None)
    if formulation == "regions" and on is not None:
        raise ValueError("formulation = 'regions' with on = a unit's on/off: the regions' disjunction is not switched; "
                         "use 'bigm' or 'hull'")
    disturbance = [n for n in names if n not in decision]
    neurons = [(l, j) for l, n in enumerate(network.hidden_sizes) for j in range(n)]
    outs = network.output_names
    b = block
    b.X = pyo.Set(initialize=decision, ordered=True)
    b.D = pyo.Set(initialize=disturbance, ordered=True)
    b.N = pyo.Set(initialize=neurons, dimen=2, ordered=True)
    b.O = pyo.Set(initialize=outs, ordered=True)

    def param(idx):
        return pyo.Param(idx, mutable=True, initialize=0.0, within=pyo.Reals)

    b.d = param(b.D)
    b.x_lo, b.x_hi = param(b.X), param(b.X)
    if formulation == "regions":  # optimizer/relu_regions_form.py: no per-neuron variables
        b.y_lo, b.y_hi = param(b.O), param(b.O)
        b.x = pyo.Var(b.X, bounds=lambda b, n: (b.x_lo[n], b.x_hi[n]))
        b.y = pyo.Var(b.O, bounds=lambda b, n: (b.y_lo[n], b.y_hi[n]))
        add_region_rows(b, decision, outs, *region_capacity(network, len(decision)))
        return ReluEmbedding(block, network, decision, formulation, bounds)
    b.L, b.U, b.z_lo, b.z_hi, b.delta_lo, b.delta_hi = (param(b.N) for _ in range(6))
    b.y_lo, b.y_hi = param(b.O), param(b.O)
    one = 1.0 if on is None else on   # the constant every row's constants are multiplied by
    if on is None:
        b.x = pyo.Var(b.X, bounds=lambda b, n: (b.x_lo[n], b.x_hi[n]))
        b.z = pyo.Var(b.N, bounds=lambda b, l, j: (b.z_lo[l, j], b.z_hi[l, j]))
        b.delta = pyo.Var(b.N, domain=pyo.Binary, bounds=lambda b, l, j: (b.delta_lo[l, j], b.delta_hi[l, j]))
        b.y = pyo.Var(b.O, bounds=lambda b, n: (b.y_lo[n], b.y_hi[n]))
    else:  # the bounds times on, as rows
        b.x, b.z, b.y = pyo.Var(b.X), pyo.Var(b.N, domain=pyo.NonNegativeReals), pyo.Var(b.O)
        b.delta = pyo.Var(b.N, domain=pyo.Binary)
        for name, var, lo, hi, idx in (("x", b.x, b.x_lo, b.x_hi, b.X), ("z", b.z, b.z_lo, b.z_hi, b.N),
                                       ("delta", b.delta, b.delta_lo, b.delta_hi, b.N), ("y", b.y, b.y_lo, b.y_hi, b.O)):
            b.add_component(f"{name}_lo_on", pyo.Constraint(idx, rule=lambda b, *k, v=var, p=lo: v[k] >= p[k] * on))
            b.add_component(f"{name}_hi_on", pyo.Constraint(idx, rule=lambda b, *k, v=var, p=hi: v[k] <= p[k] * on))

    def inputs_of(l: int):
        """(terms: list of (weight column index, variable), constant part as a function of j,
        box of each variable input as (lo, hi) Params) for layer ``l``."""
        if l == 0:
            var = [(names.index(n), b.x[n], b.x_lo[n], b.x_hi[n]) for n in decision]
            w = network.weights[0]
            return var, (lambda j: (network.biases[0][j] + sum(w[j, names.index(n)] * b.d[n] for n in disturbance)) * one)
        n_prev = network.hidden_sizes[l - 1]
        var = [(i, b.z[l - 1, i], b.z_lo[l - 1, i], b.z_hi[l - 1, i]) for i in range(n_prev)]
        return var, (lambda j: float(network.biases[l][j]) * one)

    layer_inputs = [inputs_of(l) for l in range(len(network.weights))]

    def pre(l: int, j: int):
        var, const = layer_inputs[l]
        w = network.weights[l]
        return sum(float(w[j, i]) * v for i, v, _, _ in var if w[j, i] != 0.0) + const(j)

    if formulation == "bigm":
        b.relu_ge = pyo.Constraint(b.N, rule=lambda b, l, j: b.z[l, j] >= pre(l, j))
        b.relu_act = pyo.Constraint(b.N, rule=lambda b, l, j: b.z[l, j] <= pre(l, j) - b.L[l, j] * (one - b.delta[l, j]))
        b.relu_off = pyo.Constraint(b.N, rule=lambda b, l, j: b.z[l, j] <= b.U[l, j] * b.delta[l, j])
    else:
        vi = [(l, j, i) for l, j in neurons for i, _, _, _ in layer_inputs[l][0] if network.weights[l][j, i] != 0.0]
        b.VI = pyo.Set(initialize=vi, dimen=3, ordered=True)
        b.v = pyo.Var(b.VI)
        box = {(l, i): (v, lo, hi) for l in range(len(network.hidden_sizes)) for i, v, lo, hi in layer_inputs[l][0]}
        b.v_on_lo = pyo.Constraint(b.VI, rule=lambda b, l, j, i: b.v[l, j, i] >= box[l, i][1] * b.delta[l, j])
        b.v_on_hi = pyo.Constraint(b.VI, rule=lambda b, l, j, i: b.v[l, j, i] <= box[l, i][2] * b.delta[l, j])
        b.v_off_lo = pyo.Constraint(b.VI, rule=lambda b, l, j, i: box[l, i][0] - b.v[l, j, i] >= box[l, i][1] * (one - b.delta[l, j]))
        b.v_off_hi = pyo.Constraint(b.VI, rule=lambda b, l, j, i: box[l, i][0] - b.v[l, j, i] <= box[l, i][2] * (one - b.delta[l, j]))

        def parts(l, j):  # the constant without the on factor (it multiplies delta or on - delta)
            w = network.weights[l]
            terms = [(float(w[j, i]), b.v[l, j, i], box[l, i][0]) for i, _, _, _ in layer_inputs[l][0] if w[j, i] != 0.0]
            c = network.biases[l][j] + (sum(w[j, names.index(n)] * b.d[n] for n in disturbance) if l == 0 else 0.0)
            return terms, c

        def on_part(b, l, j):
            terms, c = parts(l, j)
            return b.z[l, j] == sum(w * v for w, v, _ in terms) + c * b.delta[l, j]

        def off_part(b, l, j):
            terms, c = parts(l, j)
            return sum(w * (x - v) for w, v, x in terms) + c * (one - b.delta[l, j]) <= 0

        b.relu_on = pyo.Constraint(b.N, rule=on_part)
        b.relu_off = pyo.Constraint(b.N, rule=off_part)
    last = len(network.weights) - 1
    b.out = pyo.Constraint(b.O, rule=lambda b, n: b.y[n] == pre(last, outs.index(n)))
    return ReluEmbedding(block, network, decision, formulation, bounds)


def standalone_model(network: ReluNetwork, decision_inputs: Sequence[str], formulation: str = DEFAULT_FORMULATION,
                     bounds: str = DEFAULT_BOUNDS) -> tuple[pyo.ConcreteModel, ReluEmbedding]:
    """The network alone in a model, ``min c_x . x + c_y . y`` with the costs as mutable Params
    ``m.c_x`` (over decision names) and ``m.c_y`` (over output names): for checks and benchmarks."""
    m = pyo.ConcreteModel()
    m.nn = pyo.Block()
    emb = add_relu_network(m.nn, network, decision_inputs, formulation, bounds)
    m.c_x = pyo.Param(m.nn.X, mutable=True, initialize=0.0, within=pyo.Reals)
    m.c_y = pyo.Param(m.nn.O, mutable=True, initialize=0.0, within=pyo.Reals)
    m.objective = pyo.Objective(expr=sum(m.c_x[n] * m.nn.x[n] for n in m.nn.X) + sum(m.c_y[n] * m.nn.y[n] for n in m.nn.O))
    return m, emb


def check_embedding(embedding: ReluEmbedding, served, cycle: CycleValues | None = None,
                    rtol: float = AGREEMENT_RTOL) -> EmbeddingCheck:
    """The embedding's solution (Pyomo variable values; disturbances from ``cycle`` if given, see
    :meth:`ReluEmbedding.solution`) against ``served`` at the same inputs; ``served`` has ``evaluate(x) -> outputs`` (an :class:`~surrogate.serving.OnnxSurrogate`:
    onnxruntime on the ONNX file). Never raises on a mismatch: read :attr:`EmbeddingCheck.ok`."""
    full, y_model = embedding.solution(cycle)
    y_served = np.asarray(served.evaluate(full), dtype=float).reshape(-1)
    rel = float(np.max(np.abs(y_model - y_served) / np.maximum(np.abs(y_served), 1e-9)))
    if rel > rtol:
        log.warning("embedded network differs from the served one by %.3e relative at %s (allowed %g)", rel, full.tolist(), rtol)
    return EmbeddingCheck(full, y_model, y_served, rel, rtol)
