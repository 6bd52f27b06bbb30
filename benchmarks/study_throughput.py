"""Scenario-study throughput: the base week (672 steps, three policies) and one year at hourly
steps (8760 steps, steamopt only), against their targets (3 min and 15 min on 2 cores).

    python -m benchmarks.study_throughput [--week] [--year] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from scenarios.study import run_study
from scenarios.study_files import spec_from_scenario_file

STUDIES = Path(__file__).resolve().parents[1] / "scenarios" / "studies"


def week() -> dict:
    spec = spec_from_scenario_file(STUDIES / "base_week.toml")
    t = time.perf_counter()
    r = run_study(spec)
    total = time.perf_counter() - t
    s = r.summary
    return {"case": f"base week, {len(spec.policies)} policies", "steps": len(spec.disturbances), "seconds": total, "target_s": 180.0,
            "per_policy_s": r.seconds, "steps_per_s": len(spec.policies) * len(spec.disturbances) / total,
            "steamopt_saving_pct": float(s.loc["steamopt", "cost_saving_vs_practice_pct"]),
            "share_of_oracle_saving_vs_practice_pct": float(s.loc["steamopt", "share_of_oracle_saving_vs_practice_pct"]),
            "predicted_vs_realised_vs_practice_pct": float(s.loc["steamopt", "predicted_vs_realised_vs_practice_pct"])}


def year() -> dict:
    spec = spec_from_scenario_file(STUDIES / "base_week.toml", {"hours": 8760.0, "step_min": 60.0}, policies=["steamopt"])
    t = time.perf_counter()
    r = run_study(spec, progress=True)
    total = time.perf_counter() - t
    return {"case": "one year hourly, steamopt", "steps": len(spec.disturbances), "seconds": total, "target_s": 900.0,
            "steps_per_s": len(spec.disturbances) / total, "statuses": r.steps["status"].value_counts().to_dict()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--week", action="store_true")
    ap.add_argument("--year", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows = ([week()] if args.week or not args.year else []) + ([year()] if args.year else [])
    print("| case | steps | seconds | target s | steps/s | within target |\n| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['case']} | {r['steps']} | {r['seconds']:.1f} | {r['target_s']:.0f} | {r['steps_per_s']:.1f} | {'yes' if r['seconds'] <= r['target_s'] else 'NO'} |")
    for r in rows:
        extra = {k: v for k, v in r.items() if k not in ("case", "steps", "seconds", "target_s", "steps_per_s")}
        print(f"{r['case']}: {extra}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
