"""The reference step with fuel headers (issue 20): ``Supervisor.step`` on the reference site
with the fuel system of the bundled studies (by-product fuel gas with its flare, a hydrogen
supply, natural gas; blends of B1-B4, both gas turbines and both duct burners as decisions),
timed like the suite's size S. Reported with its target (p95 <= 100 ms), not asserted.

``python -m benchmarks.fuel_step [--cycles N]`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "scenarios" / "studies"


def fuel_site():
    """The reference site with the hydrogen supply of hydrogen_allocation.toml and the by-product
    gas of offgas_flaring.toml, both applied (scenarios/fuel_changes.py)."""
    from optimizer.site import site_from_dict
    from optimizer.site.schema import read_toml_file
    from scenarios.scenario import apply_changes, load_scenario

    h2, offgas = load_scenario(STUDIES / "hydrogen_allocation.toml"), load_scenario(STUDIES / "offgas_flaring.toml")
    data = read_toml_file(h2.site_path, 2_000_000)
    both = dataclasses.replace(h2.changes, byproduct_gas=offgas.changes.byproduct_gas)
    return site_from_dict(apply_changes(data, both), "reference_olefins + fuel headers"), h2.models_path


def run(cycles: int = 96, warmup: int = 5) -> dict:
    from benchmarks.suite import _snapshots, stats_ms
    from optimizer.supervisor import Supervisor, SupervisorConfig
    from surrogate.manifest import load_model_dir

    site, models = fuel_site()
    sup = Supervisor(site, load_model_dir(models), SupervisorConfig())
    snaps = _snapshots(site, cycles + warmup)
    times, statuses = [], {}
    for i, snap in enumerate(snaps):
        t = time.perf_counter()
        p = sup.step(snap)
        dt = time.perf_counter() - t
        if i >= warmup:
            times.append(dt)
            statuses[p.status] = statuses.get(p.status, 0) + 1
    model = sup._solver.last_model()  # noqa: SLF001
    sup._pool.shutdown(wait=True)  # noqa: SLF001
    return {"site": site.name, "fuel_headers": len(site.fuel_system.headers), "burners": len(site.fuel_system.burners),
            "variables": int(model.lp_.num_col_), "constraints": int(model.lp_.num_row_), "statuses": statuses,
            "step": stats_ms(times), "median_ms": statistics.median(times) * 1e3}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=96)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args(argv)
    print(json.dumps(run(a.cycles, a.warmup), indent=1))  # noqa: T201 - a command's output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
