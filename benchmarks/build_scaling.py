"""Supervisor build time against the site's size: 10 -> 10,000 process consumers.

Each site is the reference site with its fixed consumers replaced by ``n`` consumers spread over
the headers (:func:`benchmarks.site_generator.consumer_site_dict`: the same header totals, so the
same optimum). Per size this measures

* ``site_s``: validating the site data (``site_from_dict``);
* ``build_s``: ``Supervisor(site, models)`` (the Pyomo model, HiGHS's copy of it, the parameter
  template that computes each cycle's HiGHS arrays, the snapshot validator, the audit hashes);
* ``first_step_s`` / ``step_s``: the first cycle (it builds the lazily made plans) and the median
  of the next ones, on the reference snapshot mapped to the site
  (:func:`benchmarks.site_generator.consumer_snapshot`), with the status and objective.

The growth exponent is the log-log least-squares slope of build time against consumers, over all
sizes and over the sizes from 1,000 up (where the fixed part, about 0.1 s of boilers, turbines and
curves, no longer hides the growth): 1 is linear, 2 quadratic.

    python -m benchmarks.build_scaling [--sizes 10 100 1000 10000] [--repeats 3] [--json out.json]

Timings are measured here, never asserted in unit tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SIZES = (10, 30, 100, 300, 1000, 3000, 10000)
QUICK_SIZES = (10, 100, 1000)
SNAPSHOT = ROOT / "scenarios" / "snapshots" / "reference_olefins.json"
LARGE_FROM = 1000   # the asymptotic exponent is fitted over the sizes from here up

log = logging.getLogger("benchmarks.build_scaling")


def measure_size(n: int, repeats: int = 1, steps: int = 3) -> dict:
    """Build-time figures of the site with ``n`` consumers (the best of ``repeats`` builds: on a
    shared machine the minimum is the least disturbed)."""
    from benchmarks.site_generator import REFERENCE_MODELS, REFERENCE_SITE, consumer_site_dict, consumer_snapshot
    from optimizer.site import load_site, site_from_dict
    from optimizer.supervisor import Supervisor, SupervisorConfig
    from surrogate.manifest import load_model_dir

    models = load_model_dir(REFERENCE_MODELS)
    data = consumer_site_dict(n)
    site_s, build_s = [], []
    sup = site = None
    for _ in range(max(1, repeats)):
        if sup is not None:
            sup._pool.shutdown(wait=True)  # noqa: SLF001 - free the worker thread between builds
        t = time.perf_counter()
        site = site_from_dict(data, f"generated c{n}")
        site_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        sup = Supervisor(site, models, SupervisorConfig())
        build_s.append(time.perf_counter() - t)
    _, snap = consumer_snapshot(json.loads(SNAPSHOT.read_text(encoding="utf-8")), load_site(REFERENCE_SITE), site)
    t = time.perf_counter()
    first = sup.step(snap)
    first_s = time.perf_counter() - t
    step_s = []
    t_snap = pd.Timestamp(snap["timestamp"])
    for k in range(steps):  # the same readings a cycle later each time (a repeated timestamp is refused)
        later = {**snap, "timestamp": (t_snap + pd.Timedelta(minutes=k + 1)).isoformat()}
        t = time.perf_counter()
        p = sup.step(later)
        step_s.append(time.perf_counter() - t)
    lp = sup._solver.template  # noqa: SLF001
    sup._pool.shutdown(wait=True)  # noqa: SLF001
    return {"consumers": n, "variables": lp.num_col, "constraints": lp.num_row, "parameters": len(lp.params),
            "site_s": min(site_s), "build_s": min(build_s), "build_runs_s": build_s, "first_step_s": first_s,
            "step_median_s": statistics.median(step_s) if step_s else None, "status": p.status if step_s else first.status,
            "objective": (p if step_s else first).stats.get("objective")}


def slope(points: list[tuple[float, float]]) -> float | None:
    """Log-log least-squares slope of ``(x, y)`` points (None for fewer than two)."""
    pts = [(x, y) for x, y in points if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    k, _ = np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)
    return float(k)


def growth(rows: list[dict], key: str = "build_s") -> dict:
    """Growth exponents of ``key`` against consumers: over all sizes and from :data:`LARGE_FROM` up."""
    pts = [(r["consumers"], r[key]) for r in rows if r.get(key) is not None]
    large = [p for p in pts if p[0] >= LARGE_FROM]
    return {"exponent_all": slope(pts), "exponent_large": slope(large) if len(large) >= 2 else None,
            "large_from": LARGE_FROM, "points": pts}


def run(sizes: tuple[int, ...] = SIZES, repeats: int = 3, steps: int = 3) -> dict:
    """Every size, smallest first; sizes above 1,000 consumers are built once (seconds each)."""
    rows = []
    for n in sizes:
        log.info("build scaling: %d consumers", n)
        rows.append(measure_size(n, repeats if n <= 1000 else 1, steps))
    return {"sizes": rows, "build": growth(rows, "build_s"), "site": growth(rows, "site_s"),
            "first_step": growth(rows, "first_step_s"), "step": growth(rows, "step_median_s")}


def _fmt(k: float | None) -> str:
    return "-" if k is None else f"{k:.2f}"


def markdown(r: dict) -> str:
    """The per-size table and the fitted exponents."""
    lines = ["| consumers | variables | constraints | parameters | site check s | Supervisor build s | first step s | step median s | status |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for z in r["sizes"]:
        med = "-" if z["step_median_s"] is None else f"{z['step_median_s']:.3f}"
        lines.append(f"| {z['consumers']} | {z['variables']} | {z['constraints']} | {z['parameters']} | {z['site_s']:.3f} | "
                     f"{z['build_s']:.3f} | {z['first_step_s']:.3f} | {med} | {z['status']} |")
    b = r["build"]
    lines += ["", f"Build time ~ consumers^k, log-log least squares: k = {_fmt(b['exponent_all'])} over all sizes, "
                  f"k = {_fmt(b['exponent_large'])} from {b['large_from']} consumers up (1 = linear, 2 = quadratic); "
                  f"site check k = {_fmt(r['site']['exponent_large'])}, first step k = {_fmt(r['first_step']['exponent_large'])}, "
                  f"step k = {_fmt(r['step']['exponent_large'])} (from {b['large_from']} up)"]
    return "\n".join(lines)


def write_json(r: dict, path: Path) -> None:
    """Write ``r`` to ``path`` through a temporary file in the same directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=1)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="numbers of consumers")
    ap.add_argument("--repeats", type=int, default=3, help="builds per size up to 1,000 consumers (the fastest counts)")
    ap.add_argument("--steps", type=int, default=3, help="cycles timed after the first")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    r = run(tuple(sorted(args.sizes)), args.repeats, args.steps)
    print(markdown(r))
    if args.json:
        write_json(r, Path(args.json))
    return 0 if all(math.isfinite(z["build_s"]) for z in r["sizes"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
