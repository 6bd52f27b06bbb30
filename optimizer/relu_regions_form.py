"""The ``"regions"`` formulation of :mod:`optimizer.relu_embedding`: a network with two or more
decision inputs as the disjunction of its linear regions over the cycle's box, logarithmic binaries.

Per cycle, :func:`surrogate.relu_regions.linear_regions_2d` (two decisions) or
:func:`surrogate.relu_regions_nd.linear_regions` (three or more) gives the network's linear
regions over the box of the decisions (the disturbances fixed): convex polygons or polytopes
:math:`P_r` tiling the box, with vertices :math:`v_{r,k}` and the network's values
:math:`f(v_{r,k})` there. On each cell the network is affine, so its graph over the box is the union over ``r`` of the convex
hulls of the points :math:`(v_{r,k}, f(v_{r,k}))`. The disaggregated logarithmic formulation
(Vielma, Ahmed & Nemhauser, Oper. Res. 58 (2010) 303, "DLog") of that union, with region ``r``
coded by the binary digits :math:`\\beta_r \\in \\{0,1\\}^B` of ``r``::

    x = sum_{r,k} lam_{r,k} v_{r,k},   y = sum_{r,k} lam_{r,k} f(v_{r,k}),   sum_{r,k} lam_{r,k} = 1,  lam >= 0,
    sum_{r,k} beta_{r,b} lam_{r,k} <= zeta_b,   sum_{r,k} (1 - beta_{r,b}) lam_{r,k} <= 1 - zeta_b,   zeta_b binary

With :math:`\\sum \\lambda = 1` the two digit rows are one equality,
:math:`\\sum_{r,k} \\beta_{r,b} \\lambda_{r,k} = \\zeta_b` (the weight on regions whose digit ``b``
is 1), which is what the model holds (half the nonzeros). For integral :math:`\\zeta` only the region whose code is :math:`\\zeta` keeps weight, so
``(x, y)`` is a point of that region's graph piece: exact. The formulation is locally ideal
(ibid.): its LP relaxation's vertices have integral :math:`\\zeta`, and its projection onto
``(x, y)`` is the convex hull of the network's graph over the box. ``ceil(log2 R)`` binaries for
``R`` regions (HiGHS's presolve fixes the digits no region uses), against one per unstable neuron
for big-M, whose relaxation (a triangle per neuron) is far weaker.

Built once with ``slots`` vertex slots and ``bits`` digits (:data:`SLOTS`, :data:`BITS`); per
cycle every slot's coordinates, values, digits and weight bound are mutable Params (a slot
unused this cycle has its weight bounded to 0). A box with more vertices than slots or more
regions than ``2**bits`` is refused (ValueError naming the counts); the caller then keeps big-M.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from surrogate.relu_regions import LinearRegions, linear_regions_2d
from surrogate.relu_regions_nd import TooManyVertices, linear_regions

__all__ = ["BITS", "SLOTS", "add_region_rows", "capacity", "region_params", "region_values"]

#: vertex slots reserved per network with two decisions (the wide networks' 2-D boxes of the
#: benchmark used up to ~300); ``SLOTS * 2**(d-2)`` for ``d`` decisions (:func:`capacity`)
SLOTS = 512
#: binary digits of the region code: up to 2**BITS regions
BITS = 8


def capacity(network, n_decision: int = 2) -> tuple[int, int]:
    """(vertex slots, code digits) for ``network`` with ``n_decision`` decision inputs: in 2-D a
    network of one hidden layer of ``n`` neurons cuts a rectangle by ``n`` lines into at most
    ``1 + n + n(n-1)/2`` regions of at most ``4 + n`` vertices each; deeper networks get
    :data:`SLOTS` and :data:`BITS`; ``d`` decisions ``SLOTS * 2**(d-2)`` slots (3-D: the GT1 wide
    network's boxes of the benchmark used up to 662 vertices in 82 regions)."""
    if n_decision == 2 and len(network.hidden_sizes) == 1:
        n = int(network.hidden_sizes[0])
        regions = 1 + n + n * (n - 1) // 2
        return min(SLOTS, regions * (4 + n)), max(1, (regions - 1).bit_length())
    return SLOTS * 2 ** max(0, n_decision - 2), BITS

def add_region_rows(b: pyo.Block, decision: list[str], outputs: list[str], slots: int = SLOTS, bits: int = BITS) -> None:
    """The slot Params, weights ``lam``, digits ``zeta`` and the rows (module docstring) on block
    ``b``, which already has ``x`` (over ``b.X``), ``y`` (over ``b.O``)."""
    b.S = pyo.RangeSet(0, slots - 1)
    b.B = pyo.RangeSet(0, bits - 1)

    def param(*idx):
        return pyo.Param(*idx, mutable=True, initialize=0.0, within=pyo.Reals)

    b.rx, b.ry, b.beta = param(b.S, b.X), param(b.S, b.O), param(b.S, b.B)
    b.lam_hi = param(b.S)
    b.lam = pyo.Var(b.S, domain=pyo.NonNegativeReals, bounds=lambda b, s: (0.0, b.lam_hi[s]))
    b.zeta = pyo.Var(b.B, domain=pyo.Binary)
    b.reg_x = pyo.Constraint(b.X, rule=lambda b, n: b.x[n] == sum(b.rx[s, n] * b.lam[s] for s in b.S))
    b.reg_y = pyo.Constraint(b.O, rule=lambda b, o: b.y[o] == sum(b.ry[s, o] * b.lam[s] for s in b.S))
    b.reg_sum = pyo.Constraint(expr=sum(b.lam[s] for s in b.S) == 1)
    b.reg_code = pyo.Constraint(b.B, rule=lambda b, k: sum(b.beta[s, k] * b.lam[s] for s in b.S) == b.zeta[k])


def region_params(b: pyo.Block, decision: list[str], outputs: list[str]) -> list:
    """The slot Params in the order :func:`region_values` fills them."""
    slots, bits = list(b.S), list(b.B)
    return ([b.rx[s, n] for n in decision for s in slots] + [b.ry[s, o] for o in outputs for s in slots]
            + [b.beta[s, k] for k in bits for s in slots] + [b.lam_hi[s] for s in slots])


def region_values(network, lower: np.ndarray, upper: np.ndarray, decision_index: tuple[int, ...], slots: int = SLOTS,
                  bits: int = BITS) -> tuple[np.ndarray, LinearRegions, np.ndarray, np.ndarray]:
    """(the slot values in :func:`region_params` order, the regions, the outputs' lower and upper
    bound over the box) for the full input box ``[lower, upper]`` whose free inputs are
    ``decision_index``. ValueError when the box has more vertices than ``slots`` or more regions
    than ``2**bits``."""
    if len(decision_index) == 2:   # the polygon clipper: a little faster than the d-D cells in 2-D
        reg = linear_regions_2d(network, lower, upper, pair=tuple(decision_index))
    else:
        try:
            reg = linear_regions(network, lower, upper, tuple(decision_index), max_vertices=slots)
        except TooManyVertices as exc:
            raise ValueError(f"{exc}: the regions formulation holds at most {2 ** bits} regions and {slots} vertices "
                             f"(slots, bits); use big-M for this network") from exc
    n_v, n_r = reg.n_vertices, reg.n_regions
    if n_v > slots or n_r > 2 ** bits:
        raise ValueError(f"the box has {n_r} linear regions with {n_v} vertices: the regions formulation holds at most "
                         f"{2 ** bits} regions and {slots} vertices (slots, bits); use big-M for this network")
    verts = np.concatenate(reg.cells)
    vals = np.concatenate(reg.values)
    region = np.repeat(np.arange(n_r), [len(p) for p in reg.cells])
    n_out = vals.shape[1]
    rx = np.zeros((len(decision_index), slots))
    rx[:, :n_v] = verts.T
    ry = np.zeros((n_out, slots))
    ry[:, :n_v] = vals.T
    beta = np.zeros((bits, slots))
    beta[:, :n_v] = (region[None, :] >> np.arange(bits)[:, None]) & 1
    lam_hi = np.zeros(slots)
    lam_hi[:n_v] = 1.0
    out = np.concatenate([rx.ravel(), ry.ravel(), beta.ravel(), lam_hi])
    return out, reg, vals.min(axis=0), vals.max(axis=0)
