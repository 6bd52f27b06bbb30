"""The reference step with learned duct firing (issue 17 item 2) against the same step with the
ducts additive, in one run: ``Supervisor.step`` on the suite's size-S snapshots (today's practice
over a simulated day, seed 4: both burners lit at 10 t/h in every snapshot), the two Supervisors
stepped in turn on each snapshot, timed like the suite's size S (96 timed cycles after 5 warm-up).
Reported with the target (p95 <= 100 ms), not asserted.

``python -m benchmarks.duct_step [--cycles N] [--warmup N]`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def additive_site(site):
    """``site`` with every learned duct additive (``duct_curve = "additive"``: the formulation before issue 17's ducts)."""
    from optimizer.site.model import learned_ducts

    gts = {g: dataclasses.replace(site.gas_turbines[g], hrsg=dataclasses.replace(site.gas_turbines[g].hrsg, duct_curve="additive"))
           for g in learned_ducts(site)}
    return dataclasses.replace(site, gas_turbines={**site.gas_turbines, **gts})


def run(cycles: int = 96, warmup: int = 5) -> dict:
    from benchmarks.suite import _snapshots, stats_ms
    from optimizer.site import load_site
    from optimizer.supervisor import Supervisor, SupervisorConfig
    from surrogate.manifest import load_model_dir

    site = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
    models = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")
    sups = {"learned": Supervisor(site, models, SupervisorConfig()), "additive": Supervisor(additive_site(site), models, SupervisorConfig())}
    assert sorted(sups["learned"].ducts) == ["GT1", "GT2"] and not sups["additive"].ducts
    snaps = _snapshots(site, cycles + warmup)
    times = {k: [] for k in sups}
    statuses = {k: {} for k in sups}
    lit = {k: 0 for k in sups}
    agreement = 0.0
    for i, snap in enumerate(snaps):
        for k, sup in sups.items():
            t = time.perf_counter()
            p = sup.step(dict(snap))
            dt = time.perf_counter() - t
            if i < warmup:
                continue
            times[k].append(dt)
            statuses[k][p.status] = statuses[k].get(p.status, 0) + 1
            lit[k] += int(any(p.setpoints.get(f"{g}.duct_steam_tph", 0.0) > 0 for g in ("GT1", "GT2")))
            if k == "learned":
                agreement = max([agreement] + [v for n, v in p.surrogate_agreement.items() if n.endswith("_duct")])
    for sup in sups.values():
        sup._pool.shutdown(wait=True)  # noqa: SLF001
    return {"cycles": cycles, "warmup": warmup, "step": {k: stats_ms(v) for k, v in times.items()}, "statuses": statuses,
            "cycles_with_a_duct_lit": lit, "duct_agreement_max_rel": agreement, "target_p95_ms": 100.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=96)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args(argv)
    print(json.dumps(run(args.cycles, args.warmup), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
