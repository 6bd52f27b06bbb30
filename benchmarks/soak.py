"""Soak: many supervisory cycles of the reference site in one process, watching memory and latency.

    python -m benchmarks.soak [--cycles 100000] [--json out.json]

Snapshots cycle through a simulated day (96 distinct states with fresh timestamps). Reported:
resident memory (RSS) after warm-up and at the end (growth must stay within 10 %), Python heap
(tracemalloc) growth, and the step p95 of the first and the last 10 % of cycles (the last
within 20 % of the first), plus the status counts.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.site import load_site
from optimizer.supervisor import Supervisor
from scenarios.plant.practice import todays_practice
from scenarios.plant.profiles import ProfileConfig, generate_disturbances
from scenarios.plant.simulator import PlantSimulator
from scenarios.plant.snapshots import snapshot_from_state
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; falls back to the peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def soak(cycles: int, warmup: int = 1000) -> dict:
    site = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
    sup = Supervisor(site, load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins"))
    sim = PlantSimulator(site)
    profile = generate_disturbances(site, ProfileConfig(hours=24, step_min=15, seed=7))
    snaps = [snapshot_from_state(site, sim.simulate(todays_practice(site, d), d), d) for d in profile]
    t0 = pd.Timestamp("2026-01-05")
    times = np.empty(cycles)
    statuses: dict[str, int] = {}
    rss_warm = heap_warm = None
    for i in range(cycles):
        snap = dict(snaps[i % len(snaps)])
        snap["timestamp"] = (t0 + pd.Timedelta(minutes=i)).isoformat()
        t = time.perf_counter()
        p = sup.step(snap)
        times[i] = time.perf_counter() - t
        statuses[p.status] = statuses.get(p.status, 0) + 1
        if i + 1 == warmup:
            rss_warm = rss_mb()
            tracemalloc.start()
            heap_warm = tracemalloc.get_traced_memory()[0]
    rss_end = rss_mb()
    heap_end = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None
    tenth = max(1, (cycles - warmup) // 10)
    body = times[warmup:]
    first, last = np.percentile(body[:tenth], 95) * 1e3, np.percentile(body[-tenth:], 95) * 1e3
    return {
        "cycles": cycles, "warmup": warmup, "statuses": statuses,
        "rss_after_warmup_mb": rss_warm, "rss_end_mb": rss_end, "rss_growth_pct": 100.0 * (rss_end / rss_warm - 1.0),
        "heap_growth_mb": None if heap_end is None else (heap_end - heap_warm) / 2**20,
        "p95_first_10pct_ms": first, "p95_last_10pct_ms": last, "p95_drift_pct": 100.0 * (last / first - 1.0),
        "median_ms": float(np.median(body) * 1e3), "max_ms": float(body.max() * 1e3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=100_000)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    r = soak(args.cycles, warmup=min(1000, args.cycles // 10))
    ok = r["rss_growth_pct"] <= 10.0 and r["p95_drift_pct"] <= 20.0
    print(json.dumps(r, indent=2))
    print(f"memory growth {r['rss_growth_pct']:.1f} % (limit 10 %), p95 drift {r['p95_drift_pct']:.1f} % (limit 20 %): {'OK' if ok else 'FAILED'}")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
