"""Scenario fields set from the command line or a sweep: :func:`with_overrides` (dotted fields,
re-validated) and :func:`parse_set` (one ``KEY=V1,V2,...`` item). Re-exported by
:mod:`scenarios.scenario`."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from optimizer.site.schema import DataFileError, ValidationIssue
from scenarios.scenario_load import scenario_from_dict
from scenarios.scenario_model import ALIASES, STUDIES_DIR, Scenario

# --------------------------------------------------------------------------- overrides


_KEY_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> Scenario:
    """A copy of the scenario with dotted fields set, re-validated like a file.

    Keys are dotted paths with optional list indexes (``hours``, ``changes.carbon_price_per_t``,
    ``profile.ambient_max_c``, ``events[0].factor``, ``changes.hydrogen[1].volume_fraction``) or an
    alias of :data:`ALIASES` (``carbon_price``, or the field's own name ``carbon_price_per_t`` ...). Values are typed as in TOML (numbers, strings,
    booleans, lists, tables); ``None`` removes the key (back to the default). A bad key or value
    raises :class:`~optimizer.site.schema.DataFileError` naming it, with a suggestion for a typo.
    """
    data = scenario.to_data()
    issues: list[ValidationIssue] = []
    for key, value in overrides.items():
        _set_dotted(data, ALIASES.get(key, key), value, issues)
    shown = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
    source = f"{scenario.source} (overrides: {shown})"
    if issues:
        raise DataFileError(source, issues)
    return scenario_from_dict(data, base_dir=scenario.base_dir or STUDIES_DIR, source=source)


def _set_dotted(data: dict[str, Any], key: str, value: Any, issues: list[ValidationIssue]) -> None:
    parts = key.split(".") if isinstance(key, str) else []
    matches = [_KEY_PART.fullmatch(p) for p in parts]
    if not parts or not all(matches):
        issues.append(ValidationIssue(str(key), value, "is not a dotted field name like changes.carbon_price_per_t or events[0].factor"))
        return
    steps: list[str | int] = []
    for m in matches:
        steps.append(m.group(1))
        steps.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    node: Any = data
    walked = ""
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        here = f"{walked}[{step}]" if isinstance(step, int) else (f"{walked}.{step}" if walked else step)
        if isinstance(step, int):
            if not isinstance(node, list):
                issues.append(ValidationIssue(key, value, f"{walked} is not a list"))
                return
            if step >= len(node):
                issues.append(ValidationIssue(key, value, f"index out of range: {walked} has {len(node)} item(s)"))
                return
        elif not isinstance(node, dict):
            issues.append(ValidationIssue(key, value, f"{walked} is not a table"))
            return
        if last:
            if value is None:
                if isinstance(node, dict):
                    node.pop(step, None)
                else:
                    issues.append(ValidationIssue(key, value, "a list item cannot be removed"))
            else:
                node[step] = value
            return
        if isinstance(node, dict) and step not in node:
            node[step] = {}  # an unknown or unset table: the builder reports unknown keys
        node = node[step]
        walked = here


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``"KEY=V1,V2,..."`` (a command-line ``--set``) -> ``(KEY, [V1, V2, ...])``.

    Values are TOML values (``500``, ``0.5``, ``true``, ``"E12"``, ``[1, 2]``); bare words that are
    not TOML are taken as strings (``filter_class=E10,E12``). Raises ValueError for a malformed item.
    """
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or not raw:
        raise ValueError(f"--set {text!r}: expected KEY=VALUE or KEY=V1,V2,... (e.g. carbon_price=0,500,1000)")
    try:
        values = tomllib.loads(f"v = [{raw}]")["v"]
    except tomllib.TOMLDecodeError:
        values = [_toml_value(p.strip()) for p in raw.split(",")]
    if not values or any(v == "" for v in values):
        raise ValueError(f"--set {text!r}: empty value")
    return key, values


def _toml_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
