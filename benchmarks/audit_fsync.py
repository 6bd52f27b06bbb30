"""What the audit log's durability costs per cycle: one record appended with and without fsync.

The supervisor appends one JSON line per cycle (``SupervisorConfig.audit_log``) in one write and
flushes it to disk (``os.fsync``) so that a logged record survives a power loss. This measures,
on the disk holding ``--dir``, the append of a real record (one reference-site cycle: the raw
snapshot, the validated values, the carried state and the proposal) N times with fsync and N
times without (alternating, so both see the same disk load), and the full ``Supervisor.step``
with the audit log on and off.

    python -m benchmarks.audit_fsync [--appends 200] [--cycles 40] [--dir DIR] [--json out.json]

Prints a Markdown table (median, p95, max in ms). Timings depend on the disk and its load: on a
shared machine run it more than once.
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.audit import append_line, read_log
from optimizer.site import load_site
from optimizer.supervisor import Supervisor, SupervisorConfig
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]


def _stats(xs: list[float]) -> dict[str, float]:
    a = 1e3 * np.asarray(xs)
    return {"median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)), "max_ms": float(a.max()), "n": len(a)}


def _snapshots(n: int) -> list[dict]:
    base = json.loads((ROOT / "scenarios" / "snapshots" / "reference_olefins.json").read_text())
    out = []
    for i in range(n):
        s = copy.deepcopy(base)
        s["timestamp"] = (pd.Timestamp("2026-03-02 10:00") + pd.Timedelta(minutes=i)).isoformat()
        s["MP_BUTADIENE.steam_tph"] = 25.0 + (i % 10)
        out.append(s)
    return out


def measure(appends: int, cycles: int, directory: Path) -> dict:
    site = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
    models = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")
    snaps = _snapshots(cycles + 1)
    probe = directory / "probe.jsonl"
    Supervisor(site, models, SupervisorConfig(audit_log=str(probe))).step(snaps[0])
    record = read_log(probe)[0]
    record_bytes = len(probe.read_bytes())

    synced, unsynced = [], []
    a, b = directory / "synced.jsonl", directory / "unsynced.jsonl"
    for _ in range(appends):
        t = time.perf_counter()
        append_line(a, record, fsync=True)
        synced.append(time.perf_counter() - t)
        t = time.perf_counter()
        append_line(b, record, fsync=False)
        unsynced.append(time.perf_counter() - t)

    steps_on, steps_off = [], []
    on = Supervisor(site, models, SupervisorConfig(audit_log=str(directory / "cycles.jsonl")))
    off = Supervisor(site, models, SupervisorConfig())
    for s in snaps[:2]:  # warm-up
        on.step(s)
        off.step(s)
    for s in snaps[2:]:
        t = time.perf_counter()
        off.step(s)
        steps_off.append(time.perf_counter() - t)
        t = time.perf_counter()
        on.step(s)
        steps_on.append(time.perf_counter() - t)
    return {"record_bytes": record_bytes, "append_fsync": _stats(synced), "append_no_fsync": _stats(unsynced),
            "step_audit_on": _stats(steps_on), "step_audit_off": _stats(steps_off), "directory": str(directory)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--appends", type=int, default=200, help="appends with and without fsync")
    ap.add_argument("--cycles", type=int, default=40, help="Supervisor cycles with the audit log on and off")
    ap.add_argument("--dir", help="directory on the disk to measure (default: a temporary directory)")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        r = measure(args.appends, args.cycles, Path(d))
    print(f"audit record of one reference-site cycle: {r['record_bytes']} bytes; disk of {r['directory']}\n")
    print("| what | median ms | p95 ms | max ms | n |\n|---|---:|---:|---:|---:|")
    for key, label in (("append_fsync", "append + fsync"), ("append_no_fsync", "append, no fsync"),
                       ("step_audit_on", "Supervisor.step, audit log on"), ("step_audit_off", "Supervisor.step, audit log off")):
        s = r[key]
        print(f"| {label} | {s['median_ms']:.3f} | {s['p95_ms']:.3f} | {s['max_ms']:.3f} | {s['n']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
