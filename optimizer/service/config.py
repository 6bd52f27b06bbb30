"""The service's settings: one TOML file (data, never code), every key checked.

::

    mode = "WARM"                         # OFF | WARM | ON at start (default WARM)
    closed_loop_setpoints = []            # setpoints an adapter may write in ON
    token_file = "steamopt.token"         # the bearer token (else env STEAMOPT_TOKEN); relative to this file
    audit_log = "audit.jsonl"             # the cycles' audit trail (replayable); mode switches beside it
    max_body_bytes = 1000000              # larger request bodies are refused (413)
    cycle_s = 60.0                        # the supervisory cycle, s (savings so far count one cycle per proposal)
    time_budget_s = 1.0                   # one cycle's solve budget, s
    objective = "cost"                    # cost | co2e | steam
    plan_horizon_h = 24.0                 # POST /api/plan defaults
    plan_period_min = 60.0
    opcua_config = "adapter.toml"         # optional: run the OPC UA plant link in the service (docs/service.md)

Every problem is one line naming the file, the key, the value and the rule
(:class:`~optimizer.site.schema.DataFileError`, a ``ValueError``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optimizer.site.schema import DataFileError, ValidationIssue, read_toml_file

MODES = ("OFF", "WARM", "ON")
TOKEN_ENV = "STEAMOPT_TOKEN"
MAX_CONFIG_FILE_BYTES = 100_000
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class ServiceConfig:
    """Run-time settings of the HTTP service. Times in seconds unless named otherwise."""

    mode: str = "WARM"
    closed_loop_setpoints: tuple[str, ...] = ()
    token_file: Path | None = None
    audit_log: Path | None = None
    max_body_bytes: int = 1_000_000
    cycle_s: float = 60.0
    time_budget_s: float = 1.0
    objective: str = "cost"
    plan_horizon_h: float = 24.0
    plan_period_min: float = 60.0
    opcua_config: Path | None = None
    source: str = "<defaults>"

    @property
    def mode_log(self) -> Path | None:
        """Where mode switches are appended (beside the audit log: ``audit.modes.jsonl``). Kept
        apart from the cycles' records so that ``steamopt replay`` reads only cycles."""
        return None if self.audit_log is None else self.audit_log.with_name(self.audit_log.stem + ".modes.jsonl")


# key -> (type, rule): numbers (low, high); strings: choices or None
_KEYS: dict[str, tuple[Any, Any]] = {
    "mode": (str, MODES),
    "closed_loop_setpoints": (list, None),
    "token_file": (Path, None),
    "audit_log": (Path, None),
    "max_body_bytes": (int, (1_000, 100_000_000)),
    "cycle_s": (float, (1.0, 86_400.0)),
    "time_budget_s": (float, (0.05, 600.0)),
    "objective": (str, ("cost", "co2e", "steam")),
    "plan_horizon_h": (float, (1.0, 168.0)),
    "plan_period_min": (float, (5.0, 240.0)),
    "opcua_config": (Path, None),
}


def load_service_config(path: str | Path) -> ServiceConfig:
    """Read and check a service configuration file. Raises ``DataFileError`` (a ``ValueError``)."""
    path = Path(path)
    return service_config_from_dict(read_toml_file(path, MAX_CONFIG_FILE_BYTES, "service configuration"), str(path), path.parent)


def service_config_from_dict(data: dict[str, Any], source: str = "<dict>", base_dir: Path | None = None) -> ServiceConfig:
    """Check settings given as plain data (as parsed from TOML); relative paths are taken from
    ``base_dir`` (the file's folder)."""
    issues: list[ValidationIssue] = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _KEYS:
            issues.append(ValidationIssue(key, value, f"unknown setting (known: {', '.join(_KEYS)})"))
            continue
        typ, rule = _KEYS[key]
        if typ is int:
            if isinstance(value, bool) or not isinstance(value, int) or not rule[0] <= value <= rule[1]:
                issues.append(ValidationIssue(key, value, f"must be a whole number in [{rule[0]}, {rule[1]}]"))
            else:
                values[key] = value
        elif typ is float:
            ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
            if not ok or not rule[0] <= value <= rule[1]:
                issues.append(ValidationIssue(key, value, f"must be a finite number in [{rule[0]:g}, {rule[1]:g}]"))
            else:
                values[key] = float(value)
        elif typ is str:
            if not isinstance(value, str) or value not in rule:
                issues.append(ValidationIssue(key, value, f"must be one of {', '.join(rule)}"))
            else:
                values[key] = value
        elif typ is list:
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                issues.append(ValidationIssue(key, value, "must be a list of setpoint names (strings)"))
            elif len(set(value)) != len(value):
                issues.append(ValidationIssue(key, value, "must not repeat a setpoint"))
            else:
                values[key] = tuple(value)
        else:  # a path
            if not isinstance(value, str) or not value:
                issues.append(ValidationIssue(key, value, "must be a file path (a non-empty string)"))
            else:
                p = Path(value).expanduser()
                values[key] = p if p.is_absolute() else (base_dir or Path.cwd()) / p
    if values.get("mode") == "ON" and not values.get("closed_loop_setpoints"):
        issues.append(ValidationIssue("mode", "ON", "closed loop needs at least one setpoint in closed_loop_setpoints"))
    if issues:
        raise DataFileError(source, issues)
    return ServiceConfig(**values, source=source)


def resolve_token(config: ServiceConfig, environ: dict[str, str] | None = None) -> str | None:
    """The bearer token: from ``config.token_file`` when set (its first line), else the environment
    variable ``STEAMOPT_TOKEN``; None when neither gives one. A token shorter than 16 characters
    or an unreadable token file is refused (``ValueError`` naming the file or variable)."""
    env = os.environ if environ is None else environ
    if config.token_file is not None:
        try:
            text = config.token_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{config.source}: token_file = {str(config.token_file)!r}: cannot be read ({exc})") from None
        token, where = (text.splitlines() or [""])[0].strip(), f"token_file {config.token_file}"
    else:
        token, where = env.get(TOKEN_ENV, "").strip(), f"environment variable {TOKEN_ENV}"
        if not token:
            return None
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{where}: the token has {len(token)} characters; it must have at least {MIN_TOKEN_CHARS}")
    return token
