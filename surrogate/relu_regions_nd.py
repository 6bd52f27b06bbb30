"""The linear regions of a ReLU network over a box of ``d`` free inputs (any ``d``; built for 3).

The ``d``-dimensional generalisation of :func:`surrogate.relu_regions.linear_regions_2d`. A ReLU
network is affine on each set of inputs sharing one activation pattern; with every other input
fixed (the cycle's disturbances) those sets, inside the box of the ``d`` free inputs, are convex
polytopes tiling the box. Each cell is held as its vertices ``V`` (k x d) and, per vertex, the set
``Z(v)`` of the cell's constraint planes it lies on (the box's ``2 d`` faces and the neuron planes
that cut the cell's ancestors), as a bit mask.

Layer by layer, with the layer's pre-activations affine on the cell, :math:`a = G x + g`: a neuron
whose :math:`a_j` keeps one sign at the vertices (within ``tol * (1 + max |a_j|)``, as the 2-D
path) is stable on the cell (an affine function's extremes over a polytope are at vertices); one
that changes sign cuts the cell by the plane :math:`H = \\{a_j = 0\\}` into

* ``P+``: the vertices with :math:`a_j > 0`, those on ``H`` (``|a_j|`` within the tolerance; they
  get ``H`` in ``Z``), and the points where ``H`` crosses an edge ``(u, v)`` with
  :math:`a_j(u) < 0 < a_j(v)`: :math:`u + t (v - u)`, :math:`t = a_j(u) / (a_j(u) - a_j(v))`, with
  :math:`Z = Z(u) \\cap Z(v) \\cup \\{H\\}`;
* ``P-``: likewise with the signs swapped;

and the cutting repeats on each part with the layer's other neurons. The vertices of a piece are
exactly those (every vertex of :math:`P \\cap \\{a_j \\ge 0\\}` is a vertex of ``P`` on that side
or ``H`` meeting an edge of ``P``).

Edges: two vertices ``u, v`` of a ``d``-polytope span an edge iff the planes they share contain a
line through both and no other vertex, i.e. (Fukuda & Prodon 1996, the combinatorial test) iff
:math:`|Z(u) \\cap Z(v)| \\ge d - 1` and no third vertex ``w`` has
:math:`Z(u) \\cap Z(v) \\subseteq Z(w)`. For ``d <= 3`` the count alone decides: two distinct
planes through ``u`` and ``v`` meet in the line ``uv``, the cell's face on that line is a segment
whose ends are vertices, so ``u`` and ``v`` are its ends (for ``d = 2`` one shared line; for
``d = 1`` every pair). A cell's planes are distinct: a neuron plane equal to one of the cell's
planes leaves the cell on one side, so it never cuts it.

After a layer, each cell's pattern ``s`` gives the next layer's map
:math:`G' = W \\operatorname{diag}(s) G`, :math:`g' = W (s \\circ g) + b`. The values at the
vertices are the network's own (:meth:`ReluNetwork.evaluate`); on every cell the network is the
interpolation of its vertex values (it is affine there).

A fixed input among the ``d`` (``lower == upper``) lowers the cells' dimension (a 3-D box with one
decision pinned is a rectangle); the vertices are still given in all ``d`` coordinates.

This module knows nothing of steam networks.
"""

from __future__ import annotations

import numpy as np

from surrogate.network import ReluNetwork
from surrogate.relu_bounds import check_box
from surrogate.relu_regions import TOL, LinearRegions, sign_test

__all__ = ["TooManyVertices", "linear_regions"]


class TooManyVertices(ValueError):
    """The box's linear regions have more vertices than the caller can hold (``max_vertices``)."""


def _cut(v: np.ndarray, z: list[int], s: np.ndarray, sc: float, bit: int, dim: int) -> tuple[tuple, tuple]:
    """Cell ``(v, z)`` cut by the plane where the affine function with vertex values ``s`` is 0
    (``bit``: that plane's mask): ``((V+, Z+), (V-, Z-))`` (module docstring)."""
    sl = s.tolist()
    neg = [i for i, x in enumerate(sl) if x < -sc]
    pos = [i for i, x in enumerate(sl) if x > sc]
    on = [i for i, x in enumerate(sl) if -sc <= x <= sc]
    need = dim - 1
    pts, masks = [], []
    for u in neg:
        zu, su = z[u], sl[u]
        for w in pos:
            c = zu & z[w]
            if c.bit_count() < need:
                continue
            if dim > 3 and any(c & ~z[k] == 0 for k in range(len(z)) if k != u and k != w):
                continue   # the shared planes hold a third vertex: no edge (combinatorial test)
            pts.append((u, w, su / (su - sl[w])))
            masks.append(c | bit)
    if pts:
        iu = np.array([p[0] for p in pts])
        iw = np.array([p[1] for p in pts])
        t = np.array([p[2] for p in pts])[:, None]
        new = v[iu] + t * (v[iw] - v[iu])
    else:
        new = np.empty((0, v.shape[1]))
    z_on = [z[i] | bit for i in on]
    plus = (np.concatenate([v[pos + on], new]), [z[i] for i in pos] + z_on + masks)
    minus = (np.concatenate([v[neg + on], new]), [z[i] for i in neg] + z_on + masks)
    return plus, minus


def _split(v: np.ndarray, z: list[int], gm: np.ndarray, g: np.ndarray, tol: float, dim: int,
           plane0: int, max_vertices: int) -> list[tuple[np.ndarray, list[int], np.ndarray]]:
    """Cell ``(v, z)`` cut into the pieces on which every neuron of the layer ``a = gm x + g``
    has one sign; each with its pattern (bool per neuron, True: active). ``plane0``: the mask bit
    of the layer's first neuron. :class:`TooManyVertices` past ``max_vertices`` in one piece."""
    out = []
    stack = [(v, z)]
    gt = gm.T
    while stack:
        p, zp = stack.pop()
        if len(p) > max_vertices:
            raise TooManyVertices(f"a linear region of the box has {len(p)} vertices, more than the {max_vertices} allowed")
        a = p @ gt + g                         # (vertices, neurons)
        scale, cross, j, pattern = sign_test(a, tol)
        if not cross[j]:
            out.append((p, zp, pattern))
            continue
        plus, minus = _cut(p, zp, a[:, j], float(scale[j]), 1 << (plane0 + j), dim)
        if cross.sum() == 1:                   # j the only neuron changing sign on p: the two parts are final
            on = pattern.copy()
            on[j] = True
            out.extend([(*plus, on), (*minus, pattern)])
            continue
        stack.extend((plus, minus))
    return out


def linear_regions(net: ReluNetwork, lower: np.ndarray, upper: np.ndarray, free: tuple[int, ...] | None = None,
                   tol: float = TOL, max_vertices: int = 1_000_000) -> LinearRegions:
    """The linear regions of ``net`` over the box ``[lower, upper]`` of its inputs (module
    docstring); ``free``: the indices of the inputs the regions live in (default: the box's free
    ones), every other input fixed (``lower == upper``); any of ``free`` may be fixed too.
    ValueError naming the inputs for another input that is free, or for a bad box;
    :class:`TooManyVertices` as soon as the cells hold more than ``max_vertices`` vertices in all
    (the enumeration stops there: a caller with room for ``N`` vertices passes ``N``)."""
    lo, hi = check_box(net, lower, upper)
    moving = [int(i) for i in np.flatnonzero(hi > lo)]
    if free is None:
        free = tuple(moving)
    free = tuple(int(i) for i in free)
    if len(set(free)) != len(free) or not all(0 <= i < lo.size for i in free):
        raise ValueError(f"free = {free!r}: distinct input indices of the network's {lo.size} inputs {net.input_names} expected")
    others = [net.input_names[i] for i in moving if i not in free]
    if others:
        raise ValueError(f"box frees inputs {others} besides {[net.input_names[i] for i in free]}: "
                         f"the region enumeration needs every other input fixed")
    axes = [i for i in free if hi[i] > lo[i]]   # the cells' own dimensions
    dim = len(axes)
    corners = np.array(np.meshgrid(*[[0, 1]] * dim, indexing="ij")).reshape(dim, -1).T if dim else np.zeros((1, 0), int)
    box = lo[axes] + corners * (hi[axes] - lo[axes])
    masks = [sum(1 << (2 * k + int(c)) for k, c in enumerate(row)) for row in corners]   # face 2k: lower, 2k+1: upper
    w, b = net.weights, net.biases
    base = lo.copy()
    base[axes] = 0.0
    e = np.zeros((lo.size, dim))
    e[axes, np.arange(dim)] = 1.0
    cells = [(box, masks, w[0] @ e, w[0] @ base + b[0])]
    plane0 = 2 * dim
    for layer in range(len(w) - 1):
        nxt = []
        count = 0
        for v, z, gm, g in cells:
            for part, zp, s in _split(v, z, gm, g, tol, dim, plane0, max_vertices):
                ws = w[layer + 1][:, s]        # the next layer sees only this piece's active neurons
                nxt.append((part, zp, ws @ gm[s], ws @ g[s] + b[layer + 1]))
                count += len(part)
            if count > max_vertices:
                raise TooManyVertices(f"the box's linear regions have more than {max_vertices} vertices (found {count} "
                                      f"after {len(nxt)} regions of layer {layer + 1})")
        cells = nxt
        plane0 += w[layer].shape[0]
    verts = [v for v, _, _, _ in cells]
    allv = np.concatenate(verts)
    full = np.repeat(lo[None, :], len(allv), axis=0)
    full[:, axes] = allv
    y = np.asarray(net.evaluate(full), dtype=float).reshape(len(allv), -1)
    cuts = np.cumsum([len(v) for v in verts])[:-1]
    coords = np.split(full[:, list(free)], cuts)
    return LinearRegions(coords, list(np.split(y, cuts)), free, lo.copy())
