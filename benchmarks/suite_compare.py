"""The benchmark suite against a previous run: which cases' p95 got worse, with the machine's own
change of speed taken out (:mod:`benchmarks.calibration`).

:func:`compare_runs` flags the cases; :func:`benchmarks.suite.confirm` measures each flagged case
once more before it counts. :mod:`benchmarks.suite` re-exports every name.
"""

from __future__ import annotations

REGRESSION = 0.20             # a case's p95 more than 20 % worse than the previous run is flagged ...
MIN_REGRESSION_MS = 0.1       # ... and worse by at least this much: microsecond cases jitter by more than 20 %


def machine_ratio(current: dict, previous: dict) -> float:
    """How much slower this run's machine was than the previous run's, from both runs' fixed
    calibration workloads (:mod:`benchmarks.calibration`); 1 when either run lacks them."""
    a, b = (current.get("calibration") or {}).get("factor"), (previous.get("calibration") or {}).get("factor")
    return a / b if a and b else 1.0


def compare_runs(current: dict, previous: dict, threshold: float = REGRESSION, min_ms: float = MIN_REGRESSION_MS) -> list[dict]:
    """Cases whose p95 got more than ``threshold`` worse than in ``previous`` (both run results),
    by at least ``min_ms`` milliseconds (an 11 us inference call jitters by 2 us between runs),
    both as measured and once the machine's own change of speed is taken out (the ratio divided by
    :func:`machine_ratio`): a night on a machine 1.5x slower throughout is not a regression, and
    neither is a case the calibration's own jitter alone would make one."""
    flagged = []
    machine = machine_ratio(current, previous)
    for name, cur in current.get("cases", {}).items():
        prev = previous.get("cases", {}).get(name)
        if not prev or "p95_ms" not in prev or "p95_ms" not in cur or prev["p95_ms"] <= 0:
            continue
        raw = cur["p95_ms"] / prev["p95_ms"]
        ratio = raw / machine
        if min(raw, ratio) > 1.0 + threshold and cur["p95_ms"] - max(1.0, machine) * prev["p95_ms"] >= min_ms:
            flagged.append({"case": name, "p95_ms": cur["p95_ms"], "previous_p95_ms": prev["p95_ms"], "ratio": ratio,
                            "raw_ratio": raw, "machine_ratio": machine})
    return flagged
