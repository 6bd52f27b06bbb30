"""steamopt benchmark suite: supervisory-cycle latency per site size and per formulation, against
the time budget and against the previous run.

Running it nightly (text for README.md)
---------------------------------------

```sh
make bench          # full suite (S, M, L, XL sites and the multi-input embedding vs OMLT: a few minutes; look-ahead plans: about 30 min more, on 2 cores)
make bench-quick    # pytest micro-benchmarks, the reference cycle, and `benchmarks.suite --quick` (about 4 min on 2 busy cores)
python -m benchmarks.suite [--quick] [--json PATH] [--md PATH] [--compare PREVIOUS.json]
```

`make bench` writes `out/bench/<UTC date-time>.json` (every figure, with the machine: platform,
CPU count, Python/numpy/HiGHS/Pyomo/OMLT/onnxruntime versions, git commit, timestamp) and
`out/bench/latest.md` (the table, with each target MET or MISSED), and compares with the
previous JSON in `out/bench/` if there is one (`--compare`). The exit status is non-zero when the
reference site's step p95 exceeds the time budget (`SupervisorConfig.time_budget_s`, exit bit 1)
or when any case's p95 got more than 20 % worse than in the previous run (exit bit 2), so a
scheduler marks the night red. "Worse" is after taking out the machine's own change of speed,
measured by fixed workloads at the run's start and end (:mod:`benchmarks.calibration`): on a
shared machine the same code runs 1.5x slower from one hour to the next; and a flagged case is
measured once more and stays flagged only if it is worse again (a p95 jitters by more than 20 %). Nightly with cron (keep the results directory between runs):

```cron
30 2 * * *  cd /srv/steamopt && make bench >> out/bench/cron.log 2>&1
```

or as a CI schedule (GitHub Actions), keeping `out/bench/*.json` as an artifact or in a cache so the
next night can compare: `on: schedule: - cron: "30 2 * * *"`, then `make bench` and upload
`out/bench/`. Generated benchmark sites and models are cached in `out/bench/sites/` (never
committed). Timings are measured here, never asserted in unit tests.

Cases
-----

* ``step_<size>``: ``Supervisor.step`` on sites of growing size (S = reference, M = 3x, L = 10x,
  XL = 30x plants on shared headers, :mod:`benchmarks.site_generator`), each over many cycles
  of a simulated day under today's practice (snapshots change every cycle), after a warm-up;
* ``direct_<size>``: the same cycle's MILP handed to a fresh highspy, same options, same run;
* ``fuel_step``: the reference step with fuel headers (by-product gas and its flare, a hydrogen
  supply, natural gas; 8 burners' blends as decisions; :mod:`benchmarks.fuel_step`), timed like
  size S; its p95 is reported against 100 ms, not asserted;
* ``omlt`` / ``omlt_wide``: the reference cycle with every learned curve embedded by OMLT's big-M
  ReLU formulation in an otherwise identical model (:mod:`benchmarks.omlt_baseline`), time and
  optimum (asserted equal to 1e-6), twice: with the bundled models (3-4 hidden neurons each) and
  with wide x-16-16-1 models trained on the same data (``benchmarks/models/reference_olefins_wide``,
  ``make models-wide``, :mod:`benchmarks.wide_models`); with each, the ceiling: OMLT's time over
  our MILP with every curve's segment given (the rest of the site's MILP, which any exact
  embedding also solves), the most any curve formulation could show on that cycle;
* ``inference_single`` / ``inference_batch1000``: OnnxSurrogate calls (onnxruntime);
* ``study``: scenario-study throughput (base week shortened to 6 h, steamopt policy);
* the growth exponent of the median step against the number of units (log-log least squares);
* ``relu_multi_input``: networks with 2-4 decision inputs (extraction turbine, duct-fired HRSG,
  double-extraction turbine; small n-8-1 and wide n-16-16-1) over cycle-like boxes, our embedding
  (:mod:`optimizer.relu_embedding`) against OMLT's big-M and partition formulations at the same
  optimum, alone and three in one small site (:mod:`benchmarks.relu_multi_input`); reported with
  targets, not in the regression gate;
* ``relu_omlt_wide``: the site's own multi-input networks (TG3's inlet steam, bundled 2-3-1 and wide
  2-16-16-1; GT1's duct-fired HRSG steam, wide 3-16-16-1 with two and with three decision inputs;
  fixtures in ``benchmarks/data/relu_wide``) over 40 boxes each (``--quick``: 6), ours against
  OMLT's big-M and partition formulations, build+solve and solver only, same optimum
  (:mod:`benchmarks.relu_omlt_wide`); reported with targets, not in the regression gate;
* ``plan``: look-ahead plans (``Supervisor.plan``) over a day that forces starts and stops, 24 x 60 min
  and 96 x 15 min at MIP gap 1e-4, against the same horizon at gap 1e-6 and against a T-indexed Pyomo
  model solved through Pyomo's HiGHS interface (:mod:`benchmarks.plan_horizon`; ``--quick``: one
  24 x 60 plan in 10 s); reported with targets, not in the regression gate (a time-limited plan
  takes its limit);
* ``build_scaling``: ``Supervisor`` build time for sites of 10 -> 10,000 process consumers and its
  growth exponent (:mod:`benchmarks.build_scaling`; target: near-linear, k <= 1.2 from 1,000
  consumers up; ``--quick``: up to 3,000).

Modules
-------

This module runs the suite (``run``, ``remeasure``, ``confirm``, ``main``) and re-exports every
name of its parts: the cases in :mod:`benchmarks.suite_cases`, the comparison with a previous run
in :mod:`benchmarks.suite_compare`, the targets, exit status and Markdown in
:mod:`benchmarks.suite_report`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

# The cases, the comparison with a previous run and the report live in their own modules (one job
# each); every name is re-exported here, so `from benchmarks.suite import X` and `suite.X` keep working.
from benchmarks.suite_cases import (  # noqa: F401
    OMLT_CASES,
    ROOT,
    WIDE_MODELS,
    _direct,
    _layers,
    _snapshots,
    bench_inference,
    bench_omlt,
    bench_size,
    bench_study,
    growth,
    machine_info,
    stats_ms,
)
from benchmarks.suite_compare import (  # noqa: F401
    MIN_REGRESSION_MS,
    REGRESSION,
    compare_runs,
    machine_ratio,
)
from benchmarks.suite_report import TARGETS, exit_status, markdown, targets  # noqa: F401

FULL_CYCLES = {"S": (96, 5), "M": (96, 5), "L": (48, 4), "XL": (24, 3)}   # size: (timed cycles, warm-up)
QUICK_CYCLES = {"S": (48, 4), "M": (20, 3)}
QUICK_WIDE_BOXES = 6   # boxes per network of benchmarks.relu_omlt_wide in --quick
OMLT_PLAN = {"full": (4, 5), "quick": (1, 3)}   # optimal cycles compared, solves per cycle and formulation
BUILD_SIZES = {"full": (10, 30, 100, 300, 1000, 3000, 10000), "quick": (10, 100, 1000, 3000)}   # consumers per site

log = logging.getLogger("benchmarks.suite")


# ---------------------------------------------------------------------- the run
def run(quick: bool = False) -> dict:
    from benchmarks.calibration import calibrate, combine
    from optimizer.supervisor import SupervisorConfig

    t0 = time.perf_counter()
    cal_start = calibrate()
    plan = QUICK_CYCLES if quick else FULL_CYCLES
    result: dict = {"suite": "steamopt", "format": 1, "quick": quick, "machine": machine_info(),
                    "time_budget_ms": 1e3 * SupervisorConfig().time_budget_s, "sizes": {}, "cases": {}}
    for size, (cycles, warmup) in plan.items():
        log.info("site %s: %d cycles after %d warm-up", size, cycles, warmup)
        r = bench_size(size, cycles, warmup)
        result["sizes"][size] = r
        result["cases"][f"step_{size}"] = r["step"]
        result["cases"][f"direct_{size}"] = r["direct"]
    log.info("reference step with fuel headers")
    from benchmarks import fuel_step

    cycles, warmup = plan["S"]
    result["fuel_step"] = fuel_step.run(cycles, warmup)  # issue 20: reported with its target, not asserted
    result["cases"]["step_S_fuel_headers"] = result["fuel_step"]["step"]
    n_cycles, repeats = OMLT_PLAN["quick" if quick else "full"]
    for key, (label, model_dir) in OMLT_CASES.items():
        log.info("OMLT baseline, %s models", label)
        om = bench_omlt(snapshots=n_cycles, repeats=repeats, model_dir=model_dir, label=label)
        result[key] = om
        suffix = "" if label == "bundled" else f"_{label}"
        keys = ("median_ms", "p95_ms", "p99_ms", "max_ms", "n")
        result["cases"][f"omlt{suffix}_bigm_highspy"] = {k: om["omlt"][k] for k in keys} if om["cycles"] else {}
        result["cases"][f"ours{suffix}_highspy_same_cycles"] = {k: om["ours"][k] for k in keys} if om["cycles"] else {}
    log.info("surrogate inference")
    inf = bench_inference(500 if quick else 5000)
    result["inference"] = inf
    result["cases"]["inference_single"] = inf["single"]
    result["cases"]["inference_batch1000"] = inf["batch1000"]
    log.info("study throughput")
    result["study"] = bench_study(6.0)
    log.info("Supervisor build time vs consumers")
    from benchmarks import build_scaling

    result["build_scaling"] = build_scaling.run(BUILD_SIZES["quick" if quick else "full"], repeats=1 if quick else 3)
    log.info("multi-input ReLU embedding against OMLT")
    from benchmarks import relu_multi_input

    result["relu_multi_input"] = relu_multi_input.run(quick)
    log.info("the site's multi-input networks (bundled and wide) against OMLT")
    from benchmarks import relu_omlt_wide

    result["relu_omlt_wide"] = relu_omlt_wide.run(QUICK_WIDE_BOXES if quick else relu_omlt_wide.BOXES)
    log.info("look-ahead plans over a day")
    from benchmarks import plan_horizon

    result["plan"] = plan_horizon.run(quick)  # not a regression case: a time-limited plan's time is its limit
    result["growth"] = growth(list(result["sizes"].values()))
    result["calibration"] = combine(cal_start, calibrate())
    result["seconds"] = time.perf_counter() - t0
    return result


def remeasure(case: str, quick: bool, cache: dict | None = None) -> dict | None:
    """One case measured again, with its own calibration around it: ``{"case": figures,
    "calibration": ...}``; None for a case that is not measured on its own (e.g. the study)."""
    from benchmarks.calibration import calibrate, combine

    cache = {} if cache is None else cache
    plan = QUICK_CYCLES if quick else FULL_CYCLES
    keys = ("median_ms", "p95_ms", "p99_ms", "max_ms", "n")
    kind, _, rest = case.partition("_")
    if kind in ("step", "direct") and rest in plan:
        if ("size", rest) not in cache:
            c0 = calibrate()
            r = bench_size(rest, *plan[rest])
            cache[("size", rest)] = (r, combine(c0, calibrate()))
        r, cal = cache[("size", rest)]
        return {"case": r[kind], "calibration": cal}
    n_cycles, repeats = OMLT_PLAN["quick" if quick else "full"]
    for label, model_dir in OMLT_CASES.values():
        suffix = "" if label == "bundled" else f"_{label}"
        side = {f"omlt{suffix}_bigm_highspy": "omlt", f"ours{suffix}_highspy_same_cycles": "ours"}.get(case)
        if side is not None:
            if ("omlt", label) not in cache:
                c0 = calibrate()
                om = bench_omlt(snapshots=n_cycles, repeats=repeats, model_dir=model_dir, label=label)
                cache[("omlt", label)] = (om, combine(c0, calibrate()))
            om, cal = cache[("omlt", label)]
            return {"case": {k: om[side][k] for k in keys}, "calibration": cal} if om["cycles"] else None
    if case in ("inference_single", "inference_batch1000"):
        c0 = calibrate()
        inf = bench_inference(500 if quick else 5000)
        return {"case": inf["single" if case == "inference_single" else "batch1000"], "calibration": combine(c0, calibrate())}
    return None


def confirm(result: dict, previous: dict, flagged: list[dict], quick: bool) -> list[dict]:
    """Each flagged case measured once more: it stays flagged only if that measurement is a
    regression too (a p95 on a shared machine jitters by more than 20 % from one run to the next;
    a real regression stays). The second figures go into the flagged entry; the cases it clears
    into ``result["unconfirmed_regressions"]``."""
    kept, cache = [], {}
    for f in flagged:
        again = remeasure(f["case"], quick, cache)
        if again is None:
            kept.append(f)
            continue
        probe = {"cases": {f["case"]: again["case"]}, "calibration": again["calibration"]}
        second = compare_runs(probe, previous)
        f["remeasured_p95_ms"] = again["case"]["p95_ms"]
        f["remeasured_ratio"] = again["case"]["p95_ms"] / f["previous_p95_ms"] / machine_ratio(probe, previous)
        (kept if second else result.setdefault("unconfirmed_regressions", [])).append(f)
    return kept


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="S and M only, few cycles, short plans and 6 boxes per network (a few minutes)")
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--md", help="write the Markdown table here")
    ap.add_argument("--compare", help="a previous run's JSON: flag cases whose p95 got more than 20 %% worse")
    ap.add_argument("--from-json", help="do not measure: report (and compare) a run already written as JSON")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
    else:
        result = run(quick=args.quick)
    previous = flagged = None
    if args.compare:
        prev_path = Path(args.compare)
        if prev_path.is_file():
            previous = json.loads(prev_path.read_text(encoding="utf-8"))
            flagged = compare_runs(result, previous)
            if flagged and not args.from_json:
                log.info("re-measuring %d flagged case(s): %s", len(flagged), ", ".join(f["case"] for f in flagged))
                flagged = confirm(result, previous, flagged, args.quick)
        else:
            log.warning("no previous run at %s: nothing to compare", prev_path)
    result["regressions"] = flagged or []
    result["exit_status"] = exit_status(result, flagged or [])
    result["targets"] = targets(result)
    md = markdown(result, flagged, previous)
    print(md)
    if args.json and not args.from_json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    if args.md:
        Path(args.md).parent.mkdir(parents=True, exist_ok=True)
        Path(args.md).write_text(md, encoding="utf-8")
    return result["exit_status"]


if __name__ == "__main__":
    sys.exit(main())
