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
import os
from pathlib import Path
from typing import Any

import pandas as pd

from surrogate.atomic import fsync_directory

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


def append_line(path: str | Path, record: dict, *, fsync: bool = True) -> bool:
    """Append one JSON line; False (and a log message) if the file cannot be written.

    The line goes out in one ``write`` on a file opened for appending and is flushed to disk
    (``os.fsync``; a new file's directory entry too) before this returns, so a logged record
    survives a power loss. If the file does not end with a newline (a record torn by a crash or a
    power loss), the new record starts on a new line: the torn one stays as it was (evidence)
    and :func:`read_log` skips and reports it."""
    try:
        data = (canonical_json(record) + "\n").encode("utf-8")
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                log.warning("audit log %s: the last line is incomplete (%d bytes without a newline, torn by a crash?): "
                            "it is left as it is and the next record starts on a new line", path, size)
                data = b"\n" + data
            view = memoryview(data)
            while view:  # one write for a regular file; a short write (disk full) goes on where it stopped
                view = view[os.write(fd, view):]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        if fsync and size == 0:
            fsync_directory(Path(path).resolve().parent)
        return True
    except OSError as exc:
        log.error("audit log %s cannot be written: %s", path, exc)
        return False


@dataclasses.dataclass
class AuditLog:
    """The complete records of an audit log, the file line of each, and the lines that were
    skipped: ``skipped`` holds (line number, bytes, reason). ``torn_tail`` is set when the last
    line is incomplete (no newline and not a whole JSON object: a record torn by a crash)."""

    records: list[dict]
    line_numbers: list[int]
    skipped: list[tuple[int, int, str]]
    torn_tail: tuple[int, int] | None = None


def read_log_checked(path: str | Path) -> AuditLog:
    """Every complete record of an audit log, with the lines that are not one (skipped and logged).

    A record is a line holding one JSON object. A line that is not (torn by a crash: the last
    line without its newline, or an earlier torn line the next append started after) is skipped
    and reported with its line number; the log is never refused as a whole for it. Raises
    ValueError if the file cannot be read."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: audit log cannot be read: {exc}") from None
    lines = raw.split(b"\n")
    ends_with_newline = raw.endswith(b"\n")
    if ends_with_newline:
        lines = lines[:-1]
    records, numbers, skipped = [], [], []
    torn_tail = None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        reason = None
        try:
            obj = json.loads(line.decode("utf-8"))
            if not isinstance(obj, dict):
                reason = f"a JSON {type(obj).__name__}, not a record (object)"
        except UnicodeDecodeError as exc:
            reason = f"not UTF-8 text: {exc}"
        except json.JSONDecodeError as exc:
            reason = f"not a whole JSON line: {exc}"
        if reason is None:
            records.append(obj)
            numbers.append(n)
            continue
        last = n == len(lines)
        if last and not ends_with_newline:
            torn_tail = (n, len(line))
            reason = f"incomplete last line (no newline; torn by a crash?): {reason}"
        skipped.append((n, len(line), reason))
        log.warning("audit log %s:%d (%d bytes) skipped: %s", path, n, len(line), reason)
    return AuditLog(records, numbers, skipped, torn_tail)


def read_log(path: str | Path) -> list[dict]:
    """The complete records of an audit log (one JSON object per line); lines that are not one
    (a record torn by a crash) are skipped with a warning: see :func:`read_log_checked`."""
    return read_log_checked(path).records


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
    seen = (record.get("state") or {}).get("seen_state") or {}
    sup._seen_state = {u: (bool(on), None if t is None else pd.Timestamp(t)) for u, (on, t) in seen.items()}  # noqa: SLF001
    proposal = sup.step(snapshot)
    return proposal, compare_proposals(record.get("proposal") or {}, proposal.to_dict())
