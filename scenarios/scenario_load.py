"""Loading a scenario: the file or plain data validated into a :class:`~scenarios.scenario_model.Scenario`,
with the rules across fields, the site and model paths (and the folders they may point into) and the
checks against the site file. Re-exported by :mod:`scenarios.scenario`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from optimizer.fp_curves import no_models
from optimizer.site.loader import MAX_SITE_FILE_BYTES
from optimizer.site.schema import Builder, DataFileError, ValidationIssue, read_toml_file
from scenarios.plant.reality_gap import reality_gap_issues
from scenarios.scenario_changes import change_issues, event_issues
from scenarios.scenario_model import MAX_SCENARIO_FILE_BYTES, SCENARIOS_DIR, STUDIES_DIR, Scenario

log = logging.getLogger("scenarios.scenario")  # the logger's name from before the split


# --------------------------------------------------------------------------- loading


def bundled_scenarios() -> list[Path]:
    """The bundled scenario files, ``scenarios/studies/*.toml``, by name."""
    return sorted(STUDIES_DIR.glob("*.toml"))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file, including the unit ids it names against its site file.

    Raises :class:`~optimizer.site.schema.DataFileError` (a ValueError; one line per problem).
    """
    path = Path(path)
    data = _read_toml(path, MAX_SCENARIO_FILE_BYTES, "scenario")
    return scenario_from_dict(data, base_dir=path.resolve().parent, source=str(path))


def scenario_from_dict(data: Mapping[str, Any], *, base_dir: str | Path = STUDIES_DIR, source: str = "<dict>") -> Scenario:
    """Validate a scenario given as plain data; ``site`` and ``models`` resolve from ``base_dir``
    (default: the bundled studies folder)."""
    if not isinstance(data, Mapping):
        raise DataFileError(source, [ValidationIssue("(file)", data, "must be a table of scenario data (as parsed from TOML)")])
    base = Path(base_dir).resolve()
    builder = Builder()
    data = _dates_to_text(dict(data))
    scenario = builder.build(Scenario, data, "")
    if scenario is not None:
        scenario = _ScenarioRules(scenario, base, builder).check()
    else:  # still report the name, date and path problems in the same pass
        _ScenarioRules.check_raw(data, base, builder)
    if builder.issues:
        raise DataFileError(source, builder.issues)
    return dataclasses.replace(scenario, source=source)


def read_site_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario's site file as plain data (TOML parsed, size-limited), before any change."""
    return _read_toml(_site_path(scenario), MAX_SITE_FILE_BYTES, "site")


class _ScenarioRules:
    """Rules across fields and against the site file; each adds issues, none raises."""

    def __init__(self, scenario: Scenario, base_dir: Path, builder: Builder):
        self.s = scenario
        self.base = base_dir
        self.b = builder

    @classmethod
    def check_raw(cls, data: Mapping[str, Any], base_dir: Path, builder: Builder) -> None:
        """The checks of top-level strings, on data that did not build (type or range problems)."""
        rules = cls(None, base_dir, builder)  # type: ignore[arg-type]
        if isinstance(data.get("name"), str):
            rules._name(data["name"])
        if isinstance(data.get("start"), str):
            _parse_time(builder, "start", data["start"])
        if isinstance(data.get("site"), str):
            rules._path("site", data["site"], want="file")
        if isinstance(data.get("models"), str) and not no_models(data["models"]):
            rules._path("models", data["models"], want="dir")

    def _name(self, name: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            self.b.error("name", name, "must be letters, digits, '_' or '-' (it names output folders)")

    def check(self) -> Scenario:
        s = self.s
        self._name(s.name)
        start = _parse_time(self.b, "start", s.start)
        if s.hours * 60.0 < s.step_min:
            self.b.error("hours", s.hours, f"must cover at least one step of step_min = {s.step_min:g} min")
        if len(set(s.policies)) != len(s.policies):
            self.b.error("policies", s.policies, "must not repeat a policy")
        if not s.profile.ambient_min_c < s.profile.ambient_max_c:
            self.b.error("profile.ambient_min_c", s.profile.ambient_min_c, f"must be below ambient_max_c = {s.profile.ambient_max_c:g} C")
        for i, e in enumerate(s.events):
            a = _parse_time(self.b, f"events[{i}].start", e.start)
            z = _parse_time(self.b, f"events[{i}].end", e.end)
            if a is not None and z is not None and not z > a:
                self.b.error(f"events[{i}].end", e.end, f"must be after start = {e.start!r}")
            if e.kind == "outage" and e.factor != 1.0:
                self.b.error(f"events[{i}].factor", e.factor, "applies to demand_step events only (an outage takes no factor)")
            if start is not None and a is not None and z is not None and z > a:
                end_h = start + pd.Timedelta(hours=s.hours)
                if z <= start or a >= end_h:
                    log.warning("scenario %s: events[%d] (%s %s, %s to %s) lies outside the horizon %s to %s",
                                s.name, i, e.kind, e.unit, e.start, e.end, start, end_h)
        site_path = self._path("site", s.site, want="file")
        models_path = None if no_models(s.models) else self._path("models", s.models, want="dir")
        if site_path is not None:
            try:
                site_data = _read_toml(site_path, MAX_SITE_FILE_BYTES, "site")
            except DataFileError as exc:
                for issue in exc.issues:
                    self.b.error("site", s.site, f"site file {site_path}: {issue.path} {issue.rule}")
            else:
                self.b.issues.extend(change_issues(site_data, s.changes))
                self.b.issues.extend(event_issues(site_data, s.events))
                self.b.issues.extend(reality_gap_issues(site_data, s.reality_gap, s.hours))
        return dataclasses.replace(s, base_dir=self.base, site_path=site_path, models_path=models_path)

    def _path(self, name: str, value: str, *, want: Literal["file", "dir"]) -> Path | None:
        full = (self.base / value).resolve()  # an absolute value replaces the base
        roots = (self.base, SCENARIOS_DIR, *allowed_roots())
        if not any(full.is_relative_to(r) for r in roots):
            self.b.error(name, value, f"must stay inside the scenario's folder {self.base} or the project's scenarios folder "
                                      f"{SCENARIOS_DIR} (resolves to {full})")
            return None
        if want == "file" and not full.is_file():
            self.b.error(name, value, f"no such file (resolves to {full})")
            return None
        if want == "dir" and not full.is_dir():
            self.b.error(name, value, f"no such folder (resolves to {full})")
            return None
        return full


ALLOWED_ROOTS_ENV = "STEAMOPT_ALLOWED_ROOTS"


def allowed_roots() -> list[Path]:
    """Folders outside the scenario's own that its paths may point into: only what the operator
    allows explicitly, in the environment variable ``STEAMOPT_ALLOWED_ROOTS`` (os.pathsep-separated;
    ``steamopt study/sweep --allow-path DIR`` sets it). A scenario file cannot allow itself anything."""
    text = os.environ.get(ALLOWED_ROOTS_ENV, "")
    return [Path(p).resolve() for p in text.split(os.pathsep) if p.strip()]


def _parse_time(b: Builder, path: str, text: str) -> pd.Timestamp | None:
    try:
        t = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        b.error(path, text, "must be a date and time 'YYYY-MM-DD HH:MM' (or a date 'YYYY-MM-DD')")
        return None
    if t.tzinfo is not None:
        b.error(path, text, "must be local site time without a time-zone offset (tariff hours are local)")
        return None
    return pd.Timestamp(t)


def _dates_to_text(data: dict[str, Any]) -> dict[str, Any]:
    """TOML date-time literals (``start = 2026-03-02T00:00:00``) become the strings the fields take."""

    def text(v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return v.isoformat(sep=" ")
        if isinstance(v, dt.date):
            return v.isoformat()
        return v

    if "start" in data:
        data["start"] = text(data["start"])
    if isinstance(data.get("events"), list):
        data["events"] = [{k: text(v) if k in ("start", "end") else v for k, v in e.items()} if isinstance(e, dict) else e
                          for e in data["events"]]
    return data


def _read_toml(path: Path, limit: int, what: str) -> dict[str, Any]:
    return read_toml_file(path, limit, what)


def _site_path(scenario: Scenario) -> Path:
    if scenario.site_path is None:
        raise ValueError(f"scenario {scenario.name!r} has no resolved site path: build it with load_scenario or scenario_from_dict")
    return scenario.site_path
