"""The benchmark suite's cases: each measures one thing and returns its figures as a dict.

``bench_size`` (the supervisory cycle and the direct highspy solve on one generated site size),
``bench_omlt`` (our cycle MILP against OMLT's big-M embedding), ``bench_inference`` (onnxruntime
calls), ``bench_study`` (study throughput), ``growth`` (the step's growth exponent), and the
machine description every run records. :mod:`benchmarks.suite` runs them (and re-exports every
name); the report is :mod:`benchmarks.suite_report`, the comparison :mod:`benchmarks.suite_compare`.
Timings are measured here, never asserted in unit tests.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WIDE_MODELS = ROOT / "benchmarks" / "models" / "reference_olefins_wide"   # `make models-wide`
OMLT_CASES = {"omlt": ("bundled", None), "omlt_wide": ("wide", WIDE_MODELS)}   # result key: (label, model dir; None = bundled)

log = logging.getLogger("benchmarks.suite")


# ---------------------------------------------------------------------- helpers
def stats_ms(seconds: list[float]) -> dict[str, float]:
    a = 1e3 * np.asarray(seconds, dtype=float)
    return {"median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)), "p99_ms": float(np.percentile(a, 99)),
            "max_ms": float(a.max()), "n": int(a.size)}


def machine_info() -> dict:
    import highspy
    import onnxruntime
    import pyomo

    try:
        import omlt
        omlt_v = omlt.__version__
    except Exception:  # noqa: BLE001 - optional for the report
        omlt_v = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    h = highspy.Highs()
    return {
        "platform": platform.platform(), "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__, "highspy": h.version(), "pyomo": pyomo.__version__,
        "omlt": omlt_v, "onnxruntime": onnxruntime.__version__, "git_commit": commit, "git_dirty": dirty,
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _snapshots(site, n: int, seed: int = 4) -> list[dict]:
    from scenarios.plant.practice import todays_practice
    from scenarios.plant.profiles import ProfileConfig, generate_disturbances
    from scenarios.plant.simulator import PlantSimulator
    from scenarios.plant.snapshots import snapshot_from_state

    sim = PlantSimulator(site)
    profile = generate_disturbances(site, ProfileConfig(hours=n / 4.0, step_min=15, seed=seed))
    return [snapshot_from_state(site, sim.simulate(todays_practice(site, d), d), d) for d in profile[:n]]


def _direct(sup) -> tuple[float, float | None, str]:
    """The MILP HiGHS was given in the last step, in a fresh highspy with the step's options."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", sup.config.mip_rel_gap)
    for k, v in sup.config.solver_options.items():
        h.setOptionValue(k, v)
    h.passModel(sup._solver.last_model())  # noqa: SLF001 - the exact model HiGHS solved
    t = time.perf_counter()
    h.run()
    return time.perf_counter() - t, h.getInfo().objective_function_value, h.modelStatusToString(h.getModelStatus())


# ---------------------------------------------------------------------- cases
def bench_size(size: str, cycles: int, warmup: int) -> dict:
    """``Supervisor.step`` and the direct highspy solve of each cycle on one site size."""
    from benchmarks.site_generator import generate, unit_count
    from optimizer.supervisor import Supervisor, SupervisorConfig
    from surrogate.manifest import load_model_dir

    site, model_dir = generate(size)
    t = time.perf_counter()
    sup = Supervisor(site, load_model_dir(model_dir), SupervisorConfig())
    build_s = time.perf_counter() - t
    snaps = _snapshots(site, cycles + warmup)
    step_s, direct_s, nodes, free, twins, statuses, obj_diff = [], [], [], [], [], {}, []
    for i, snap in enumerate(snaps):
        t = time.perf_counter()
        p = sup.step(snap)
        ds = time.perf_counter() - t
        dd, dobj, _ = _direct(sup)
        if i < warmup:
            continue
        step_s.append(ds)
        direct_s.append(dd)
        nodes.append(int(p.stats.get("nodes", 0) or 0))
        free.append(int(p.stats.get("binaries_free", 0)))
        twins.append(sum(p.stats.get("twins", {}).values()))  # units in twin groups, ordered (optimizer/twins.py)
        statuses[p.status] = statuses.get(p.status, 0) + 1
        if dobj is not None and p.stats.get("objective") is not None:
            obj_diff.append(abs(dobj - p.stats["objective"]) / max(1.0, abs(dobj)))
    model = sup._solver.last_model()  # noqa: SLF001
    sup._pool.shutdown(wait=True)  # noqa: SLF001 - free the worker thread between sizes
    step, direct = stats_ms(step_s), stats_ms(direct_s)
    return {
        "size": size, "site": site.name, "units": unit_count(site), "boilers": len(site.boilers), "gas_turbines": len(site.gas_turbines),
        "turbines": len(site.turbines), "consumers": len(site.consumers), "curves": len(sup.curves.slots),
        "variables": int(model.lp_.num_col_), "constraints": int(model.lp_.num_row_), "binaries": int(sup.n_binaries),
        "binaries_free_median": float(statistics.median(free)), "binaries_free_max": int(max(free)),
        "twin_units_ordered_median": float(statistics.median(twins)),
        "nodes_median": float(statistics.median(nodes)), "nodes_max": int(max(nodes)),
        "build_s": build_s, "warmup": warmup, "statuses": statuses,
        "step": step, "direct": direct, "step_over_direct": step["median_ms"] / direct["median_ms"],
        "over_budget": sum(1 for x in step_s if x > sup.config.time_budget_s),  # cycles that answered after the budget
        "direct_vs_step_objective_max_rel_diff": max(obj_diff) if obj_diff else None,
    }


def _layers(model) -> str:
    """``inputs-hidden...-outputs`` of a served model, e.g. ``2-16-16-1``."""
    net = model.network
    return "-".join(map(str, (len(net.input_names), *net.hidden_sizes, len(net.output_names))))


def bench_omlt(snapshots: int, repeats: int, model_dir: Path | None = None, label: str = "bundled") -> dict:
    """Our cycle MILP vs the OMLT big-M embedding on several reference cycles, with the models of
    ``model_dir`` (default: the bundled ones). Raises ``OptimumMismatch`` if an optimum differs by
    more than 1e-6 relative. A missing ``model_dir`` gives ``{"cycles": 0, "missing": ...}``."""
    from benchmarks.omlt_baseline import compare
    from benchmarks.site_generator import generate
    from optimizer.supervisor import Supervisor, SupervisorConfig
    from surrogate.manifest import load_model_dir

    logging.getLogger("pyomo").setLevel(logging.ERROR)  # OMLT's build sets out-of-bound start values
    site, ref_dir = generate("S")
    model_dir = Path(model_dir) if model_dir is not None else Path(ref_dir)
    if not (model_dir / "manifest.toml").is_file():
        log.warning("OMLT case %s: no models in %s (make models-wide): not measured", label, model_dir)
        return {"label": label, "model_dir": str(model_dir), "cycles": 0, "missing": True}
    models = load_model_dir(model_dir)
    layers = sorted({_layers(m) for m in models.values()})
    sup = Supervisor(site, models, SupervisorConfig())
    warm = 3
    snaps = _snapshots(site, warm + 8 * snapshots, seed=7)
    runs = []
    for i, snap in enumerate(snaps):
        p = sup.step(snap)
        if i < warm or (i - warm) % 8 or p.status != "optimal":
            continue
        dist = {k: float(v) for k, v in snap.items() if k != "timestamp" and isinstance(v, (int, float))}
        r = compare(sup, dist, p.stats["objective"], repeats=repeats, label=f"{label} models ({', '.join(layers)})")
        r["snapshot"] = snap["timestamp"]
        r["binaries_free_step"] = int(p.stats.get("binaries_free", 0))
        runs.append(r)
        if len(runs) >= snapshots:
            break
    sup._pool.shutdown(wait=True)  # noqa: SLF001
    ours = [x for r in runs for x in r["ours"]["highspy_ms"]]
    theirs = [x for r in runs for x in r["omlt"]["highspy_ms"]]
    compact = [x for r in runs for x in r["ours"]["compact_highspy_ms"]]
    floor = [x for r in runs for x in r["ours"]["floor_highspy_ms"]]
    ours_pyo = [r["ours"]["pyomo_appsi_median_ms"] for r in runs]
    theirs_pyo = [r["omlt"]["pyomo_appsi_median_ms"] for r in runs]

    def first(side: str, key: str):
        return runs[0][side][key] if runs else None

    def most(side: str, key: str):
        return max(r[side][key] for r in runs) if runs else None

    return {
        "label": label, "model_dir": str(model_dir.relative_to(ROOT) if model_dir.is_relative_to(ROOT) else model_dir), "layers": layers,
        "what": runs[0]["what"] if runs else "", "cycles": len(runs), "repeats": repeats,
        "networks": runs[0]["networks"] if runs else 0, "hidden_neurons": runs[0]["hidden_neurons"] if runs else 0,
        "ours": {**stats_ms([x / 1e3 for x in ours]), "pyomo_appsi_median_ms": float(statistics.median(ours_pyo)) if runs else None,
                 "integer_columns": first("ours", "integer_columns"), "integer_columns_free_max": most("ours", "integer_columns_free"),
                 "variables": first("ours", "columns"), "constraints": first("ours", "rows"), "nodes_max": most("ours", "nodes"),
                 "compact_median_ms": float(np.median(compact)) if runs else None,
                 "compact_integer_columns": first("ours", "compact_integer_columns"),
                 "compact_columns_dropped": first("ours", "compact_columns_dropped"),
                 "floor_median_ms": float(np.median(floor)) if runs else None, "curve_binaries": first("ours", "curve_binaries")},
        "omlt": {**stats_ms([x / 1e3 for x in theirs]), "pyomo_appsi_median_ms": float(statistics.median(theirs_pyo)) if runs else None,
                 "integer_columns": first("omlt", "integer_columns"), "integer_columns_free_max": most("omlt", "integer_columns_free"),
                 "variables": first("omlt", "columns"), "constraints": first("omlt", "rows"), "nodes_max": most("omlt", "nodes")},
        "speedup_highspy": float(np.median(theirs) / np.median(ours)) if runs else None,
        "speedup_highspy_compact": float(np.median(theirs) / np.median(compact)) if runs else None,
        "speedup_pyomo": float(statistics.median(theirs_pyo) / statistics.median(ours_pyo)) if runs else None,
        # OMLT over our MILP with every curve's segment given: the most any exact curve formulation could show
        "speedup_ceiling": float(np.median(theirs) / np.median(floor)) if runs else None,
        "max_objective_rel_diff": max(r["max_objective_rel_diff_any"] for r in runs) if runs else None,
        "all_agree": all(r["agree_1e-6"] for r in runs) and bool(runs),
        "widened_inputs": sorted({w for r in runs for w in r["widened_inputs"]}),
        "per_cycle": runs,
    }


def bench_inference(calls: int) -> dict:
    from surrogate.manifest import load_model_dir

    models = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")
    m = models["GT1_fuel"]
    lo, hi = m.domain
    rng = np.random.default_rng(0)
    xs = lo + (hi - lo) * rng.random((calls, len(lo)))
    for x in xs[:50]:
        m.evaluate(x)
    single = []
    for x in xs:
        t = time.perf_counter()
        m.evaluate(x)
        single.append(time.perf_counter() - t)
    batch_x = lo + (hi - lo) * rng.random((1000, len(lo)))
    batch = []
    for _ in range(max(20, calls // 50)):
        t = time.perf_counter()
        m.evaluate_batch(batch_x)
        batch.append(time.perf_counter() - t)
    return {"model": m.name, "single": stats_ms(single), "batch1000": stats_ms(batch)}


def bench_study(hours: float) -> dict:
    from scenarios.study import run_study
    from scenarios.study_files import spec_from_scenario_file

    spec = spec_from_scenario_file(ROOT / "scenarios" / "studies" / "base_week.toml", hours=hours, policies=["steamopt"])
    t = time.perf_counter()
    r = run_study(spec)
    total = time.perf_counter() - t
    return {"study": "base_week", "hours": hours, "policies": ["steamopt"], "steps": len(spec.disturbances), "seconds": total,
            "steps_per_s": len(spec.disturbances) / total, "statuses": {str(k): int(v) for k, v in r.steps["status"].value_counts().items()}}


def growth(sizes: list[dict]) -> dict | None:
    """Median step vs number of units, log-log least squares: step ~ a * units^k."""
    pts = [(s["units"], s["step"]["median_ms"]) for s in sizes]
    if len(pts) < 2:
        return None
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    k, c = np.polyfit(x, y, 1)
    kd, _ = np.polyfit(x, np.log([s["direct"]["median_ms"] for s in sizes]), 1)
    return {"exponent": float(k), "prefactor_ms": float(math.exp(c)), "direct_exponent": float(kd), "points": pts}
