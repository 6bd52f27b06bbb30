"""The linear regions of a ReLU network over a box of two free inputs, exactly.

A ReLU network :math:`y = f(x)` (:class:`~surrogate.network.ReluNetwork`) is affine on each set of
inputs that share one activation pattern. With every input fixed but two (``lower == upper``: the
disturbances of a cycle) those sets, inside the box of the two free inputs, are convex polygons
that tile the box. :func:`linear_regions_2d` computes them layer by layer: with the layer's
pre-activations affine on a polygon, :math:`a = G x + g` (``x`` the two free inputs), a neuron
whose :math:`a_j` keeps one sign at the polygon's vertices is stable there (a convex polygon's
affine function takes its extremes at vertices); one that changes sign cuts the polygon along the
line :math:`a_j(x) = 0` into two polygons (Sutherland-Hodgman clipping by each half-plane), and the
cutting repeats on each part. After a layer, each polygon's pattern ``s`` gives the next layer's
map :math:`G' = W \\operatorname{diag}(s) G`, :math:`g' = W (s \\circ g) + b`.

A sign within ``tol * (1 + max |a_j|)`` of zero counts as zero (the neuron is stable on that
polygon): the network then differs from its affine piece there by at most that, and the values
:attr:`LinearRegions.values` at the vertices are the network's own (:meth:`ReluNetwork.evaluate`).
On every polygon the network equals the interpolation of those vertex values (it is affine
there), which is what an exact embedding needs (optimizer/relu_embedding.py, ``"regions"``).

This module knows nothing of steam networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from surrogate.network import ReluNetwork
from surrogate.relu_bounds import check_box

__all__ = ["LinearRegions", "linear_regions_2d"]

#: relative tolerance of a sign at a vertex (module docstring)
TOL = 1e-9


@dataclass(frozen=True)
class LinearRegions:
    """The network's linear regions over a box of ``d`` free inputs (two: :func:`linear_regions_2d`;
    any: :func:`surrogate.relu_regions_nd.linear_regions`).

    ``cells[r]``: the vertices of region ``r`` (k_r x d, the free inputs in ``free`` order; in 2-D
    in order around the polygon, 1 or 2 vertices for a box of zero width; in d-D in no particular
    order); ``values[r]``: the network's outputs at those vertices (k_r x n_outputs); ``free``: the
    indices of the free inputs in the network's input vector; ``point``: the full input vector
    with the fixed inputs set (the free ones as the box's lower corner)."""

    cells: list[np.ndarray]
    values: list[np.ndarray]
    free: tuple[int, ...]
    point: np.ndarray

    @property
    def n_regions(self) -> int:
        return len(self.cells)

    @property
    def n_vertices(self) -> int:
        return int(sum(len(p) for p in self.cells))


def _clip(v: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The part of convex polygon ``v`` (ordered vertices) where the affine function with values
    ``s`` at the vertices is >= 0 (plain floats: a handful of vertices, numpy's per-call cost
    would dominate)."""
    pts = v.tolist()
    sv = s.tolist()
    k = len(pts)
    out: list[list[float]] = []
    for i in range(k):
        j = (i + 1) % k
        si, sj = sv[i], sv[j]
        if si >= 0.0:
            out.append(pts[i])
        if (si > 0.0 > sj) or (si < 0.0 < sj):
            t = si / (si - sj)
            pi, pj = pts[i], pts[j]
            out.append([pi[0] + t * (pj[0] - pi[0]), pi[1] + t * (pj[1] - pi[1])])
    kept = [q for n, q in enumerate(out) if n == 0 or q != out[n - 1]]   # a vertex on the line once
    if len(kept) > 2 and kept[-1] == kept[0]:
        kept.pop()
    return np.array(kept, dtype=float).reshape(-1, 2)


def sign_test(a: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """The neurons' signs on one cell from their pre-activations ``a`` at its vertices (vertices x
    neurons): ``(scale, cross, j, pattern)``, with ``scale`` each neuron's tolerance
    ``tol * (1 + max |a|)``, ``cross`` the neurons changing sign beyond it, ``j`` the first of them
    (0 if none), ``pattern`` the activation (True: active; a neuron within the tolerance of 0 on
    the cell counts as active: either side is the same to ``tol``). One rule for 2-D and d-D."""
    lo, hi = a.min(axis=0), a.max(axis=0)
    scale = tol * (1.0 + np.maximum(hi, -lo))
    cross = (lo < -scale) & (hi > scale)
    return scale, cross, int(cross.argmax()), lo >= -scale


def _split(v: np.ndarray, gm: np.ndarray, g: np.ndarray, tol: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Polygon ``v`` cut into the pieces on which every neuron of the layer ``a = gm x + g`` has
    one sign; each with its pattern (bool per neuron, True: active)."""
    out = []
    stack = [v]
    gt = gm.T
    while stack:
        p = stack.pop()
        a = p @ gt + g                         # (vertices, neurons)
        _scale, cross, j, pattern = sign_test(a, tol)
        if not cross[j] or len(p) < 2:
            out.append((p, pattern))
            continue
        s = a[:, j]
        plus, minus = _clip(p, s), _clip(p, -s)
        if cross.sum() == 1:                   # j the only neuron changing sign on p: the two parts are final
            on = pattern.copy()
            on[j] = True
            out.extend(piece for piece in ((plus, on), (minus, pattern)) if len(piece[0]))
            continue
        stack.extend(part for part in (plus, minus) if len(part))
    return out


def linear_regions_2d(net: ReluNetwork, lower: np.ndarray, upper: np.ndarray, tol: float = TOL,
                      pair: tuple[int, int] | None = None) -> LinearRegions:
    """The linear regions of ``net`` over the box ``[lower, upper]`` of its inputs; ``pair``: the
    indices of the two inputs the regions live in (default: the free ones), every other input
    fixed (``lower == upper``); either of the pair may be fixed too (a segment or a point). Module
    docstring. ValueError naming the rule for another input that is free, or for a bad box."""
    lo, hi = check_box(net, lower, upper)
    free = [int(i) for i in np.flatnonzero(hi > lo)]
    if pair is None:
        if len(free) > 2:
            raise ValueError(f"box frees inputs {[net.input_names[i] for i in free]}: the region enumeration is for two free inputs")
        pair = tuple(free + [i for i in range(lo.size) if i not in free][: 2 - len(free)])
    if len(pair) != 2 or len(set(pair)) != 2 or not all(0 <= i < lo.size for i in pair):
        raise ValueError(f"pair = {pair!r}: two distinct input indices of the network's {lo.size} inputs {net.input_names} expected")
    others = [net.input_names[i] for i in free if i not in pair]
    if others:
        raise ValueError(f"box frees inputs {others} besides {[net.input_names[i] for i in pair]}: the region enumeration is for two free inputs")
    i0, i1 = int(pair[0]), int(pair[1])
    corners = np.array([[lo[i0], lo[i1]], [hi[i0], lo[i1]], [hi[i0], hi[i1]], [lo[i0], hi[i1]]])
    box = corners if (hi[i0] > lo[i0] and hi[i1] > lo[i1]) else np.unique(corners, axis=0)  # a segment or a point: its distinct corners
    base = lo.copy()
    e = np.zeros((lo.size, 2))
    e[i0, 0] = e[i1, 1] = 1.0
    fixed = base.copy()
    fixed[[i0, i1]] = 0.0
    w, b = net.weights, net.biases
    pieces = [(box, w[0] @ e, w[0] @ fixed + b[0])]
    for layer in range(len(w) - 1):
        nxt = []
        for poly, gm, g in pieces:
            for part, s in _split(poly, gm, g, tol):
                ws = w[layer + 1][:, s]             # the next layer sees only this piece's active neurons
                nxt.append((part, ws @ gm[s], ws @ g[s] + b[layer + 1]))
        pieces = nxt
    polygons = [p for p, _, _ in pieces]
    allv = np.concatenate(polygons)
    full = np.repeat(base[None, :], len(allv), axis=0)
    full[:, i0], full[:, i1] = allv[:, 0], allv[:, 1]
    y = np.asarray(net.evaluate(full), dtype=float).reshape(len(allv), -1)
    cuts = np.cumsum([len(p) for p in polygons])[:-1]
    return LinearRegions(polygons, list(np.split(y, cuts)), (i0, i1), base)
