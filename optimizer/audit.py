"""Audit trail: every proposal says what produced it, and can be replayed.

Each Proposal carries the engine version, the hash of the site it was computed for, the hash of
every model file, the hash of the configuration and the hash of the input snapshot. With
``SupervisorConfig.audit_log`` set, each cycle appends one JSON line holding the raw snapshot,
the validated values the cycle used (after substitutions), the state carried between cycles and
the proposal, so that :func:`replay` can reproduce the proposal later (``steamopt replay``).
Hashes are SHA-256 of canonical JSON (sorted keys, no whitespace).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if not f.metadata.get("internal")}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_plain(v) for v in obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else repr(obj)
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return repr(obj)


def _flat_plain(obj: Any) -> bool:
    """A dict of str -> finite float, int, str, bool or None (a snapshot): already plain."""
    if type(obj) is not dict:
        return False
    for k, v in obj.items():
        if type(k) is not str:
            return False
        t = type(v)
        if t is float:
            if not math.isfinite(v):
                return False
        elif not (t is int or t is str or t is bool or v is None):
            return False
    return True


def canonical_json(obj: Any) -> str:
    """Deterministic JSON of plain data (dataclasses, dicts, lists; non-finite floats as text)."""
    return json.dumps(obj if _flat_plain(obj) else _plain(obj), sort_keys=True, separators=(",", ":"))


def sha256_of(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def append_line(path: str | Path, record: dict) -> bool:
    """Append one JSON line; False (and a log message) if the file cannot be written."""
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(canonical_json(record) + "\n")
        return True
    except OSError as exc:
        log.error("audit log %s cannot be written: %s", path, exc)
        return False


def read_log(path: str | Path) -> list[dict]:
    """The records of an audit log (one JSON object per line)."""
    records = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not a JSON line: {exc}") from None
    return records


def compare_proposals(logged: dict, replayed: dict, rtol: float = 1e-9) -> list[str]:
    """Differences between a logged and a replayed proposal (status, setpoints, KPIs)."""
    diffs = []
    if logged.get("status") != replayed.get("status"):
        diffs.append(f"status {logged.get('status')} != {replayed.get('status')}")
    for part in ("setpoints", "proposed_kpis", "current_kpis"):
        a, b = logged.get(part) or {}, replayed.get(part) or {}
        for k in sorted(set(a) | set(b)):
            x, y = a.get(k), b.get(k)
            if x is None or y is None:
                if x != y:
                    diffs.append(f"{part}.{k}: {x} != {y}")
            elif abs(x - y) > rtol * max(1.0, abs(x), abs(y)):
                diffs.append(f"{part}.{k}: {x!r} != {y!r}")
    return diffs


def replay(site, models, record: dict):
    """Re-run one logged cycle and return (replayed proposal, differences to the logged one).

    The site and models must be the ones the record names (their hashes are checked first:
    a ValueError says which changed). The cycle is replayed from the values it validated (after
    substitutions) and the state carried into it, with the logged configuration."""
    from optimizer.supervisor import Supervisor, SupervisorConfig

    audit = record.get("audit") or {}
    config = SupervisorConfig(**{**record.get("config", {}), "audit_log": None})
    sup = Supervisor(site, models, config)
    for key in ("site_hash", "model_hashes", "config_hash"):
        if audit.get(key) != sup.audit_info[key]:
            raise ValueError(f"{key} differs from the logged one: the {key.split('_')[0]} changed since the proposal was logged")
    validated = record.get("validated")
    if validated is None:  # an invalid snapshot: the raw one reproduces the same refusal
        snapshot = record.get("snapshot")
    else:
        # the substituted tags left out, their values as the last good ones: the validator
        # substitutes them again, so the replayed cycle knows what was substituted (its status)
        substituted = set(validated.get("substituted", ()))
        snapshot = {"timestamp": validated["timestamp"], **{k: x for k, x in validated["values"].items() if k not in substituted}}
        sup.validator.last_good.update({k: x for k, x in validated["values"].items() if k in substituted})
    sup.config.stale_after_s = None  # a replay runs later by definition: the logged cycle was judged fresh then
    hot = (record.get("state") or {}).get("last_hot")
    sup._last_hot = dict(hot) if hot is not None else None  # noqa: SLF001 - the carried state of that cycle
    proposal = sup.step(snapshot)
    return proposal, compare_proposals(record.get("proposal") or {}, proposal.to_dict())
