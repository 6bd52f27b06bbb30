"""The machine's speed during a benchmark run, from workloads that do not depend on steamopt.

Why: the nightly comparison flags a case whose p95 got more than 20 % worse than the previous
night. On a shared 2-core machine the same code runs up to 1.5-2x slower from one hour to the next
(measured here: the reference step 6.7 ms in one run, 9.7 ms an hour later, OMLT's solve of the
same MILP 1.5x slower too), so raw p95s flag the machine, not the code. Each run therefore times
two fixed workloads, at its start and at its end:

* ``milp``: a fixed capacitated facility-location MILP (6 sites, 15 customers, 6 binaries; the
  data from a fixed seed; about 14 ms) solved by a fresh highspy with one thread: the solver's speed;
* ``python``: fixed interpreter work (dicts, floats, small lists), like a cycle's bookkeeping.

The run's ``factor`` is the geometric mean of the two medians (ms); the comparison divides each
case's p95 ratio by the ratio of the two runs' factors (:func:`benchmarks.suite.compare_runs`).
"""

from __future__ import annotations

import math
import statistics
import time

import highspy
import numpy as np

SITES, CUSTOMERS, SEED = 6, 15, 0


def facility_location() -> highspy.HighsLp:
    """min sum f_i y_i + sum c_ij x_ij  s.t. sum_i x_ij = 1, sum_j d_j x_ij <= K_i y_i,
    x_ij <= y_i, 0 <= x <= 1, y binary (columns: x row-major, then y)."""
    rng = np.random.default_rng(SEED)
    f = rng.uniform(50.0, 120.0, SITES)
    c = rng.uniform(1.0, 30.0, (SITES, CUSTOMERS))
    d = rng.uniform(5.0, 15.0, CUSTOMERS)
    cap = np.full(SITES, 1.6 * d.sum() / SITES * 2.0)
    nx = SITES * CUSTOMERS
    n = nx + SITES
    rows, cols, vals, lo, hi = [], [], [], [], []

    def add(entries: list[tuple[int, float]], lower: float, upper: float) -> None:
        r = len(lo)
        for j, v in entries:
            rows.append(r)
            cols.append(j)
            vals.append(v)
        lo.append(lower)
        hi.append(upper)

    for j in range(CUSTOMERS):
        add([(i * CUSTOMERS + j, 1.0) for i in range(SITES)], 1.0, 1.0)
    for i in range(SITES):
        add([(i * CUSTOMERS + j, float(d[j])) for j in range(CUSTOMERS)] + [(nx + i, -float(cap[i]))], -highspy.kHighsInf, 0.0)
        for j in range(CUSTOMERS):
            add([(i * CUSTOMERS + j, 1.0), (nx + i, -1.0)], -highspy.kHighsInf, 0.0)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(lo)
    lp.col_cost_ = np.concatenate((c.ravel(), f))
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_, lp.row_upper_ = np.array(lo), np.array(hi)
    order = np.lexsort((np.array(rows), np.array(cols)))  # column-wise
    cols_sorted = np.array(cols)[order]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(cols_sorted, np.arange(n + 1)).astype(np.int32)
    lp.a_matrix_.index_ = np.array(rows, dtype=np.int32)[order]
    lp.a_matrix_.value_ = np.array(vals)[order]
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * nx + [highspy.HighsVarType.kInteger] * SITES
    return lp


def _milp_once(lp: highspy.HighsLp) -> tuple[float, float]:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.passModel(lp)
    t = time.perf_counter()
    h.run()
    return time.perf_counter() - t, h.getInfo().objective_function_value


def _python_once() -> float:
    t = time.perf_counter()
    acc: dict[tuple[str, int], float] = {}
    for k in range(8000):
        key = ("p", k % 250)
        acc[key] = acc.get(key, 0.0) * 0.5 + math.sqrt(k + 1.0)
    total = sum(sorted(acc.values())[:100])
    _ = [f"{v:.3f}" for v in list(acc.values())[:200]]
    assert total > 0.0
    return time.perf_counter() - t


def calibrate(repeats: int = 15) -> dict:
    """Medians (ms) of the two fixed workloads over ``repeats`` runs each, the MILP's optimum (the
    same every run: a check that the workload did not change) and their geometric mean."""
    lp = facility_location()
    _milp_once(lp)
    _python_once()  # warm-up
    milp, objective = [], None
    for _ in range(repeats):
        t, objective = _milp_once(lp)
        milp.append(t)
    py = [_python_once() for _ in range(repeats)]
    m, p = 1e3 * statistics.median(milp), 1e3 * statistics.median(py)
    return {"milp_ms": m, "python_ms": p, "milp_objective": objective, "factor": math.sqrt(m * p), "repeats": repeats}


def combine(before: dict, after: dict) -> dict:
    """A run's calibration from the measurements at its start and its end (their geometric mean)."""
    out = {k: math.sqrt(before[k] * after[k]) for k in ("milp_ms", "python_ms", "factor")}
    return {**out, "start": before, "end": after}
