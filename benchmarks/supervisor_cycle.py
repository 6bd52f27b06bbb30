"""Supervisory-cycle latency on the reference site, against the same model solved by highspy.

For each of N cycles (snapshots of a simulated day under today's practice, changing every
cycle) this measures the full ``Supervisor.step`` (validate + update + two solves + verify) and,
in the same run, the optimisation model of that cycle handed to a fresh highspy instance
(``passModel`` of exactly what HiGHS was given, same options): the physical limit of a solve.

    python -m benchmarks.supervisor_cycle [--cycles 96] [--json out.json] [--certify-every N]

``--certify-every``: SupervisorConfig.certify_every (default: the config's). The sampled re-solve
runs on its own thread after a cycle answers; here cycles follow each other without the idle
time a plant's cycle has, so it overlaps the next cycle and the direct highspy solve measured
after each step (0 measures the cycle without it).

Prints a Markdown table (median, p95, p99, max; the ratio of medians; binaries before and
after the box reduction) and optionally writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import highspy
import numpy as np

from optimizer.site import load_site
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.plant.practice import todays_practice
from scenarios.plant.profiles import ProfileConfig, generate_disturbances
from scenarios.plant.simulator import PlantSimulator
from scenarios.plant.snapshots import snapshot_from_state
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]


def percentiles(xs: list[float]) -> dict[str, float]:
    a = 1e3 * np.asarray(xs)
    return {"median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)), "p99_ms": float(np.percentile(a, 99)),
            "max_ms": float(a.max()), "n": len(a)}


def measure(cycles: int = 96, seed: int = 4, warmup: int = 5, certify_every: int | None = None) -> dict:
    site = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
    config = SupervisorConfig() if certify_every is None else SupervisorConfig(certify_every=certify_every)
    sup = Supervisor(site, load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins"), config)
    sim = PlantSimulator(site)
    profile = generate_disturbances(site, ProfileConfig(hours=(cycles + warmup) / 4.0, step_min=15, seed=seed))
    snaps = [snapshot_from_state(site, sim.simulate(todays_practice(site, d), d), d) for d in profile]
    step_s, direct_s, opt_s, cur_s, free_bin, statuses = [], [], [], [], [], {}
    for i, snap in enumerate(snaps):
        t = time.perf_counter()
        p = sup.step(snap)
        dt = time.perf_counter() - t
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("mip_rel_gap", sup.config.mip_rel_gap)
        for k, v in sup.config.solver_options.items():  # the same options as the step
            h.setOptionValue(k, v)
        h.passModel(sup._solver.last_model())  # noqa: SLF001 - the exact model HiGHS solved
        t = time.perf_counter()
        h.run()
        dd = time.perf_counter() - t
        if i >= warmup:
            step_s.append(dt)
            direct_s.append(dd)
            opt_s.append(p.stats["highs_ms"] / 1e3)
            cur_s.append(p.stats["current_ms"] / 1e3)
            free_bin.append(p.stats.get("binaries_free", 0))
            statuses[p.status] = statuses.get(p.status, 0) + 1
    step, direct = percentiles(step_s), percentiles(direct_s)
    return {
        "site": site.name,
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(), "highs": highspy.Highs().version()},
        "step": step,
        "direct_highspy": direct,
        "optimisation_solve_in_step": percentiles(opt_s),
        "current_point_solve_in_step": percentiles(cur_s),
        "ratio_of_medians": step["median_ms"] / direct["median_ms"],
        "binaries_in_model": sup.n_binaries,
        "binaries_free_after_box_reduction_median": statistics.median(free_bin),
        "binaries_free_after_box_reduction_max": max(free_bin),
        "statuses": statuses,
        "time_budget_ms": 1e3 * sup.config.time_budget_s,
        "certify_every": sup.config.certify_every,
    }


def markdown(r: dict) -> str:
    s, d = r["step"], r["direct_highspy"]
    rows = [
        "| case | median ms | p95 ms | p99 ms | max ms | cycles |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| Supervisor.step (validate + update + 2 solves + verify) | {s['median_ms']:.1f} | {s['p95_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} | {s['n']} |",
        f"| same MILP and options, fresh highspy | {d['median_ms']:.1f} | {d['p95_ms']:.1f} | {d['p99_ms']:.1f} | {d['max_ms']:.1f} | {d['n']} |",
        *(f"| in the step: {label} | {x['median_ms']:.1f} | {x['p95_ms']:.1f} | {x['p99_ms']:.1f} | {x['max_ms']:.1f} | {x['n']} |"
          for label, x in (("optimisation solve (update + HiGHS)", r["optimisation_solve_in_step"]), ("current-point solve", r["current_point_solve_in_step"]))),
        "",
        f"ratio of medians: {r['ratio_of_medians']:.2f}x (target <= 2x); p95 {s['p95_ms']:.1f} ms (target <= 100 ms)",
        f"binaries: {r['binaries_in_model']} in the model, {r['binaries_free_after_box_reduction_median']} free after the box "
        f"reduction (median; max {r['binaries_free_after_box_reduction_max']}); statuses {r['statuses']}",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=96)
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--certify-every", type=int, default=None, help="SupervisorConfig.certify_every (default: the config's)")
    args = ap.parse_args(argv)
    r = measure(args.cycles, certify_every=args.certify_every)
    print(markdown(r))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
