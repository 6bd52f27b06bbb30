"""Scenario studies as data: what to simulate, on which site, with which changes.

A scenario file (TOML, data only, size-limited) names a site file and a model directory, a
horizon (start, hours, step), the disturbance-profile settings, events (outages and demand
steps), changes to the site (inlet-filter class, column steam reduction, hydrogen
co-firing, carbon price, grid emission factor, GWP set, price scales) and the reality gap (a
true plant that differs from what the models know: :mod:`scenarios.plant.reality_gap`). Bundled
studies live in ``scenarios/studies/``.

Every field is declared with :func:`optimizer.site.model.attr` (unit, range, description), so a
scenario file is validated exactly like a site file, by :class:`optimizer.site.schema.Builder`;
every problem is one line of a :class:`~optimizer.site.schema.DataFileError` naming the file, the
dotted path, the value and the rule. :func:`scenario_reference_markdown` prints the tables.

API:

* :func:`load_scenario` (file) and :func:`scenario_from_dict` (plain data) -> :class:`Scenario`;
  the resolved paths are ``scenario.site_path`` and ``scenario.models_path`` (:class:`~pathlib.Path`).
  ``site`` and ``models`` are relative to the scenario file's folder and must resolve inside that
  folder tree or inside the project's ``scenarios/`` folder (absolute paths too); anything else is
  refused.
* :func:`build_site`: the site file with the scenario's changes (:func:`apply_changes`), validated
  by :func:`optimizer.site.loader.site_from_dict`.
* :func:`profile_config`, :func:`apply_events`, :func:`scenario_disturbances`: the disturbance
  profile of the scenario (outage events go into the profile, demand steps are applied after).
* :func:`with_overrides`: set dotted fields (``{"changes.carbon_price_per_t": 500}``) and
  re-validate, for sweeps; :func:`parse_set` parses one ``KEY=V1,V2,...`` command-line item.
  Short aliases (:data:`ALIASES`): ``carbon_price``, ``grid_ef``, ``filter_class``, ``gwp_set``,
  ``fuel_price_scale``, ``import_price_scale``, ``column_steam_reduction``, ``ambient_min_c``,
  ``ambient_max_c``.

Hydrogen co-firing (:func:`hydrogen_energy_share`): a volume fraction ``v`` of hydrogen in the fuel
gas carries the energy share ``s = v LHV_H2 / (v LHV_H2 + (1 - v) LHV_NG)`` with volumetric lower
heating values ``LHV_H2 = 10.8 MJ/Nm3`` and ``LHV_NG = 35.8 MJ/Nm3``; hydrogen burns without CO2,
so CO2 falls by ``s``. This reproduces the published mapping 10 vol% -> 3.2 %, 20 -> 7.0 %,
30 -> 11.4 %, 50 -> 23 % (IEA/NEA 2020, TNO/Ricardo-AEA 2012) to 0.1 point.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import datetime as dt
import logging
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from optimizer.fp_curves import no_models
from optimizer.site.loader import MAX_SITE_FILE_BYTES, site_from_dict
from optimizer.site.model import Site, attr
from optimizer.site.schema import Builder, DataFileError, ValidationIssue, public_fields, read_toml_file
from scenarios.fuel_changes import ByproductGas, FuelBurner, HydrogenSupply, add_byproduct_gas, add_hydrogen_supply, supply_issues
from scenarios.plant.inputs import Disturbances
from scenarios.plant.profiles import OUTAGE_COLLECTIONS, Outage, ProfileConfig, generate_disturbances
from scenarios.plant.reality_gap import RealityGap, reality_gap_issues

log = logging.getLogger(__name__)

__all__ = [
    "ALIASES",
    "Changes",
    "Event",
    "HydrogenCofiring",
    "ProfileSettings",
    "SCENARIOS_DIR",
    "STUDIES_DIR",
    "Scenario",
    "apply_changes",
    "apply_events",
    "build_site",
    "bundled_scenarios",
    "change_issues",
    "hydrogen_energy_share",
    "load_scenario",
    "parse_set",
    "profile_config",
    "read_site_data",
    "scenario_disturbances",
    "scenario_from_dict",
    "scenario_reference_markdown",
    "with_overrides",
]

#: The project's ``scenarios/`` folder: site and model paths may always point inside it.
SCENARIOS_DIR = Path(__file__).resolve().parent
#: Bundled scenario studies.
STUDIES_DIR = SCENARIOS_DIR / "studies"
#: Largest scenario file accepted, bytes (a scenario is a few kB).
MAX_SCENARIO_FILE_BYTES = 200_000

#: Lower heating value of hydrogen by volume, MJ/Nm3 (0 C, 101.325 kPa): 120 MJ/kg (IEA/NEA 2020)
#: x 0.0899 kg/Nm3 (normal density of H2, NIST Webbook) = 10.8.
H2_LHV_MJ_NM3 = 10.8
#: Lower heating value of pipeline natural gas by volume, MJ/Nm3: methane's 50.0 MJ/kg x 0.717 kg/Nm3
#: = 35.8 (NIST Webbook; typical lean pipeline gas is 34-37). With :data:`H2_LHV_MJ_NM3` it reproduces
#: the published CO2 cuts of hydrogen blends (IEA/NEA 2020; TNO/Ricardo-AEA 2012).
NATURAL_GAS_LHV_MJ_NM3 = 35.8
#: Lower heating value of hydrogen by mass, MJ/kg (IEA/NEA 2020).
H2_LHV_MJ_KG = 120.0

#: Short keys accepted by :func:`with_overrides` (and so by ``--set``), with the field they set.
ALIASES: dict[str, str] = {
    "carbon_price": "changes.carbon_price_per_t",
    "grid_ef": "changes.grid_ef_t_mwh",
    "filter_class": "changes.gt_filter_class",
    "gwp_set": "changes.gwp_set",
    "fuel_price_scale": "changes.fuel_price_scale",
    "import_price_scale": "changes.import_price_scale",
    "column_steam_reduction": "changes.column_steam_reduction",
    "n1_cover": "changes.n1_cover",
    "n1_cover_time_min": "changes.n1_cover_time_min",
    "ambient_min_c": "profile.ambient_min_c",
    "ambient_max_c": "profile.ambient_max_c",
    "hydrogen_t_per_day": "changes.hydrogen_supply.t_per_day",
    "hydrogen_price": "changes.hydrogen_supply.price_per_gj",
}
# the field an alias sets, by its own name: ``carbon_price_per_t`` as the bundled files write it
ALIASES.update({target.rsplit(".", 1)[-1]: target for target in list(ALIASES.values())})

Policy = Literal["practice", "good_practice", "steamopt", "oracle", "steamopt_lookahead", "oracle_lookahead"]


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, kw_only=True)
class ProfileSettings:
    """Disturbance-profile settings (see :class:`scenarios.plant.profiles.ProfileConfig`)."""

    ambient_min_c: float = attr("C", "daily minimum of the ambient cycle (near 06:00)", default=24.0, ge=-40.0, le=60.0)
    ambient_max_c: float = attr("C", "daily maximum of the ambient cycle (near 14:30)", default=35.0, ge=-40.0, le=60.0)
    tle_variation: bool = attr("-", "let cracker by-product steam drift around nominal", default=True)
    decoking: bool = attr("-", "one furnace-decoking dip of by-product steam in the horizon", default=False)
    gt_fouling_start_hours: float = attr("h", "running hours since the last compressor wash at start, every gas turbine",
                                         default=500.0, ge=0.0, le=50000.0)


@dataclass(frozen=True, kw_only=True)
class Event:
    """A window ``[start, end)``: a unit out of service (``outage``), or a consumer's demand
    multiplied by ``factor`` (``demand_step``)."""

    kind: Literal["outage", "demand_step"] = attr("-", "outage (unit unavailable) or demand_step (consumer demand x factor)")
    unit: str = attr("-", "unit id: a boiler, gas turbine, turbine, condenser, letdown or vent (outage); a consumer (demand_step)")
    start: str = attr("-", "first instant of the window, local time 'YYYY-MM-DD HH:MM'")
    end: str = attr("-", "end of the window (exclusive), local time 'YYYY-MM-DD HH:MM'")
    factor: float = attr("-", "demand multiplier in the window (demand_step only)", default=1.0, ge=0.0, le=5.0)


@dataclass(frozen=True, kw_only=True)
class HydrogenCofiring:
    """Hydrogen blended into the fuel gas of one boiler, or of one gas turbine's HRSG duct burner."""

    unit: str = attr("-", "a boiler id, or a gas-turbine id meaning its HRSG duct burner")
    volume_fraction: float = attr("-", "hydrogen share of the fuel gas by volume (existing burners: up to about 0.3)", ge=0.0, le=0.5)
    h2_price_per_gj: float = attr("currency/GJ", "hydrogen price on LHV basis", default=1000.0, ge=0.0, le=1e5)


@dataclass(frozen=True, kw_only=True)
class Changes:
    """Changes applied to the site file before the study (:func:`apply_changes`)."""

    gt_filter_class: str | None = attr("-", "inlet-filter class fitted to every gas turbine (a key of its fouling table)", default=None)
    column_steam_reduction: float = attr("-", "fraction of steam cut from the consumers in column_consumers", default=0.0, ge=0.0, le=0.5)
    column_consumers: list[str] = attr("-", "consumers (distillation reboilers) the column steam reduction applies to",
                                       default_factory=lambda: ["MP_C3_SPLITTER"])
    column_reflux_held: bool = attr("-", "hold every steered column at today's reflux ratio (its reflux range shrunk to "
                                         "reflux_ratio_today): the comparison of column_optimisation", default=False)
    hydrogen: list[HydrogenCofiring] = attr("-", "hydrogen co-firing per boiler or HRSG duct burner", default_factory=list)
    hydrogen_supply: HydrogenSupply | None = attr("-", "a hydrogen supply the optimiser allocates among burners "
                                                  "(scenarios/fuel_changes.py)", default=None)
    byproduct_gas: ByproductGas | None = attr("-", "by-product fuel gas burned by the burners listed or flared "
                                              "(scenarios/fuel_changes.py)", default=None)
    carbon_price_per_t: float | None = attr("currency/tCO2e", "carbon price (default: the site's)", default=None, ge=0.0, le=1e6)
    grid_ef_t_mwh: float | None = attr("tCO2e/MWh", "grid emission factor (default: the site's)", default=None, ge=0.0, le=2.0)
    gwp_set: Literal["AR5", "AR6"] | None = attr("-", "global-warming potentials (default: the site's)", default=None)
    import_price_scale: float = attr("-", "multiplier on the import tariff: default price, tariff periods and Ft", default=1.0, ge=0.0, le=10.0)
    fuel_price_scale: float = attr("-", "multiplier on every fuel price of the site (not on h2_price_per_gj)", default=1.0, ge=0.0, le=10.0)
    n1_cover: bool | None = attr("-", "require the N-1 steam cover (default: the site's [n1_cover] enabled)", default=None)
    n1_cover_time_min: float | None = attr("min", "N-1 cover time (default: the site's)", default=None, gt=0.0, le=1440.0)


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A scenario study: site, models, horizon, profile, events and changes."""

    name: str = attr("-", "scenario name (letters, digits, '_' or '-'; names output folders)")
    description: str = attr("-", "what the study asks", default="")
    site: str = attr("-", "site file, relative to the scenario file's folder")
    models: str = attr("-", "model directory (ONNX surrogates and manifest), relative to the scenario file's folder; "
                            "\"none\": no learned models (every unit on first principles, optimizer/fp_curves.py)")
    start: str = attr("-", "first step, local time 'YYYY-MM-DD HH:MM'", default="2026-03-02 00:00")
    hours: float = attr("h", "horizon", gt=0.0, le=8784.0)
    step_min: float = attr("min", "step length (one supervisory decision per step)", default=15.0, ge=1.0, le=1440.0)
    seed: int = attr("-", "seed of the disturbance profile and the sensor noise", default=0, ge=0)
    noise: float = attr("-", "relative standard deviation of sensor noise on measured tags", default=0.0, ge=0.0, le=0.1)
    policies: list[Policy] = attr("-", "policies compared: today's practice, the optimiser on its surrogates, the oracle on the true curves",
                                  default_factory=lambda: ["practice", "good_practice", "steamopt", "oracle"], min_len=1)
    profile: ProfileSettings = attr("-", "disturbance-profile settings", default_factory=ProfileSettings)
    events: list[Event] = attr("-", "outages and demand steps", default_factory=list)
    changes: Changes = attr("-", "changes to the site", default_factory=Changes)
    reality_gap: RealityGap = attr("-", "how the true plant differs from what the site file and the surrogates know "
                                        "(scenarios/plant/reality_gap.py; default: no gap)", default_factory=RealityGap)
    # Set by the loader, not by the file:
    source: str = field(default="<memory>", compare=False, metadata={"internal": True})
    base_dir: Path | None = field(default=None, compare=False, metadata={"internal": True})
    site_path: Path | None = field(default=None, compare=False, metadata={"internal": True})
    models_path: Path | None = field(default=None, compare=False, metadata={"internal": True})

    def to_data(self) -> dict[str, Any]:
        """Plain data (as from TOML) that rebuilds this scenario; ``None`` fields are left out."""
        return _plain(self)


#: (TOML table, class) for the scenario file reference.
SECTIONS: list[tuple[str, type]] = [
    ("(top level)", Scenario),
    ("[profile]", ProfileSettings),
    ("[[events]]", Event),
    ("[changes]", Changes),
    ("[[changes.hydrogen]]", HydrogenCofiring),
    ("[changes.hydrogen_supply]", HydrogenSupply),
    ("[[changes.hydrogen_supply.burners]], [[changes.byproduct_gas.burners]]", FuelBurner),
    ("[changes.byproduct_gas]", ByproductGas),
    ("[reality_gap]", RealityGap),
]


def scenario_reference_markdown() -> str:
    """Markdown tables of the scenario file's attributes, from the validating field metadata."""
    from optimizer.site.docs import attribute_tables_markdown

    return attribute_tables_markdown(SECTIONS, "Scenario file reference", "`scenarios/scenario.py`")


# --------------------------------------------------------------------------- hydrogen


def hydrogen_energy_share(volume_fraction: float, base_lhv_mj_nm3: float = NATURAL_GAS_LHV_MJ_NM3) -> float:
    """Energy share of hydrogen in a blend with ``volume_fraction`` hydrogen by volume:
    ``v LHV_H2 / (v LHV_H2 + (1 - v) LHV_base)`` (volumetric LHVs, MJ/Nm3). Equal to the CO2 cut."""
    v = float(volume_fraction)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"volume_fraction = {volume_fraction!r} is out of range: must be in [0, 1]")
    h2 = v * H2_LHV_MJ_NM3
    return h2 / (h2 + (1.0 - v) * base_lhv_mj_nm3) if h2 > 0 else 0.0


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


# --------------------------------------------------------------------------- references


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _known(ids: Sequence[str] | Mapping[str, Any]) -> str:
    return ", ".join(sorted(ids)) or "none"


def change_issues(site_data: Mapping[str, Any], changes: Changes) -> list[ValidationIssue]:
    """Problems of ``changes`` against a site's plain data (unknown ids, missing equipment)."""
    issues: list[ValidationIssue] = []
    err = lambda p, v, r: issues.append(ValidationIssue(p, v, r))  # noqa: E731
    boilers, gts, consumers = _table(site_data, "boilers"), _table(site_data, "gas_turbines"), _table(site_data, "consumers")
    fuels = _table(site_data, "fuels")
    if changes.gt_filter_class is not None:
        if not gts:
            err("changes.gt_filter_class", changes.gt_filter_class, "the site has no gas turbines")
        lacking = {gid: _table(g, "fouling") for gid, g in gts.items() if isinstance(g, dict)}
        lacking = {gid: classes for gid, classes in lacking.items() if classes and changes.gt_filter_class not in classes}
        if lacking:
            known = "; ".join(f"{gid}: {_known(classes)}" for gid, classes in lacking.items())
            err("changes.gt_filter_class", changes.gt_filter_class, f"is not a fouling class of gas turbine {', '.join(lacking)} (classes {known})")
    if changes.column_steam_reduction > 0.0:
        if not changes.column_consumers:
            err("changes.column_consumers", [], "names no consumer, so column_steam_reduction would do nothing")
        for i, cid in enumerate(changes.column_consumers):
            if cid not in consumers:
                err(f"changes.column_consumers[{i}]", cid, f"unknown consumer (known: {_known(consumers)})")
        if len(set(changes.column_consumers)) != len(changes.column_consumers):
            err("changes.column_consumers", changes.column_consumers, "must not repeat a consumer")
    seen: set[str] = set()
    for i, h in enumerate(changes.hydrogen):
        path = f"changes.hydrogen[{i}].unit"
        if h.unit in seen:
            err(path, h.unit, "co-fired twice: give one entry per unit")
        seen.add(h.unit)
        base = _base_fuel(site_data, h.unit)
        if h.unit in boilers:
            if base is None:
                err(path, h.unit, "boiler has no fuels to blend hydrogen into")
        elif h.unit in gts:
            if base is None:
                err(path, h.unit, "gas turbine has no HRSG duct burner (hrsg.duct_fuel) to co-fire")
        else:
            err(path, h.unit, f"unknown boiler or gas turbine (known: {_known(list(boilers) + list(gts))})")
            continue
        if base is not None and base not in fuels:
            err(path, h.unit, f"its fuel {base!r} is not a fuel of the site")
        if _blend_id(h.unit) in fuels:
            err(path, h.unit, f"the site already has a fuel {_blend_id(h.unit)!r}")
    if changes.hydrogen_supply is not None:
        issues += supply_issues(site_data, changes.hydrogen_supply.burners, "changes.hydrogen_supply")
    if changes.byproduct_gas is not None:
        issues += supply_issues(site_data, changes.byproduct_gas.burners, "changes.byproduct_gas")
    if not isinstance(site_data.get("electricity"), dict):
        if changes.grid_ef_t_mwh is not None:
            err("changes.grid_ef_t_mwh", changes.grid_ef_t_mwh, "the site has no [electricity] section")
        if changes.import_price_scale != 1.0:
            err("changes.import_price_scale", changes.import_price_scale, "the site has no [electricity] section")
    return issues


def event_issues(site_data: Mapping[str, Any], events: Sequence[Event]) -> list[ValidationIssue]:
    """Problems of ``events`` against a site's plain data (unit ids of the right kind)."""
    issues: list[ValidationIssue] = []
    units = {uid for name in OUTAGE_COLLECTIONS for uid in _table(site_data, name)}
    consumers = _table(site_data, "consumers")
    for i, e in enumerate(events):
        if e.kind == "outage" and e.unit not in units:
            issues.append(ValidationIssue(f"events[{i}].unit", e.unit,
                                          f"unknown unit for an outage: must be an id of {', '.join(OUTAGE_COLLECTIONS)} (known: {_known(units)})"))
        if e.kind == "demand_step" and e.unit not in consumers:
            issues.append(ValidationIssue(f"events[{i}].unit", e.unit, f"unknown consumer for a demand step (known: {_known(consumers)})"))
    return issues


def _base_fuel(site_data: Mapping[str, Any], unit: str) -> str | None:
    """The fuel a co-fired unit burns today: a boiler's first fuel, a gas turbine's duct fuel."""
    b = _table(site_data, "boilers").get(unit)
    if isinstance(b, dict):
        fuels = b.get("fuels")
        return fuels[0] if isinstance(fuels, list) and fuels and isinstance(fuels[0], str) else None
    g = _table(site_data, "gas_turbines").get(unit)
    if isinstance(g, dict):
        hrsg = g.get("hrsg")
        duct = hrsg.get("duct_fuel") if isinstance(hrsg, dict) else None
        return duct if isinstance(duct, str) else None
    return None


def _blend_id(unit: str) -> str:
    return f"h2_blend_{unit}"


# --------------------------------------------------------------------------- changes


def apply_changes(site_data: Mapping[str, Any], changes: Changes, *, source: str = "<changes>") -> dict[str, Any]:
    """A changed deep copy of a site's plain data (as parsed from TOML); ``site_data`` is untouched.

    In this order:

    1. ``fuel_price_scale`` multiplies every fuel's ``price_per_gj``; ``import_price_scale`` the
       import tariff: ``default_price_per_mwh``, each tariff period's ``price_per_mwh`` and
       ``ft_per_mwh`` (the export price is not scaled);
    2. ``gt_filter_class`` becomes every gas turbine's ``filter_class``;
    3. ``column_steam_reduction`` r multiplies by (1 - r) the ``demand_tph`` of each consumer in
       ``column_consumers`` and, when flexible, its ``min_tph``, ``max_tph`` and ``offspec_below_tph``;
       ``column_reflux_held`` sets every steered column's ``reflux_ratio_min`` and ``reflux_ratio_max``
       to its ``reflux_ratio_today`` (the column held at today's reflux);
    4. hydrogen co-firing: for each entry a fuel ``h2_blend_<unit>`` with the unit's current fuel
       (a boiler's first fuel, a gas turbine's HRSG ``duct_fuel``) blended with hydrogen at energy
       share s = :func:`hydrogen_energy_share` (volume fraction): emission factors x (1 - s), price
       ``(1 - s) price + s h2_price_per_gj`` (the base price after step 1), mass LHV
       ``1 / (s / 120 + (1 - s) / LHV_base)`` MJ/kg and availability limit ``max_gj_h / (1 - s)`` if
       the base fuel has one (then per blend, not shared with other users of the base fuel); the
       boiler's ``fuels`` become ``[blend]``, or the HRSG's ``duct_fuel`` the blend;
       ``hydrogen_supply``, ``byproduct_gas``: a fuel system whose hydrogen the optimiser allocates,
       whose by-product gas it burns or flares (:mod:`scenarios.fuel_changes`);
    5. ``carbon_price_per_t``, ``gwp_set`` (``[emissions]``) and ``grid_ef_t_mwh`` (``[electricity]``)
       replace the site's values when given.
    6. ``n1_cover`` and ``n1_cover_time_min`` replace ``[n1_cover]`` ``enabled`` and ``cover_time_min``
       when given.

    Unknown ids or missing equipment raise :class:`~optimizer.site.schema.DataFileError` (a
    ValueError) naming the field, e.g. ``changes.hydrogen[0].unit``.
    """
    issues = change_issues(site_data, changes)
    if issues:
        raise DataFileError(source, issues)
    data: dict[str, Any] = copy.deepcopy(dict(site_data))
    fuels = _table(data, "fuels")

    if changes.fuel_price_scale != 1.0:
        for f in fuels.values():
            if isinstance(f, dict) and isinstance(f.get("price_per_gj"), int | float):
                f["price_per_gj"] = f["price_per_gj"] * changes.fuel_price_scale
    e = data.get("electricity")
    if changes.import_price_scale != 1.0 and isinstance(e, dict):
        k = changes.import_price_scale
        for key in ("default_price_per_mwh", "ft_per_mwh"):
            if isinstance(e.get(key), int | float):
                e[key] = e[key] * k
        for period in e.get("tariff", []) if isinstance(e.get("tariff"), list) else []:
            if isinstance(period, dict) and isinstance(period.get("price_per_mwh"), int | float):
                period["price_per_mwh"] = period["price_per_mwh"] * k

    if changes.gt_filter_class is not None:
        for g in _table(data, "gas_turbines").values():
            g["filter_class"] = changes.gt_filter_class

    if changes.column_steam_reduction > 0.0:
        keep = 1.0 - changes.column_steam_reduction
        consumers = _table(data, "consumers")
        for cid in changes.column_consumers:
            c = consumers[cid]
            keys = ["demand_tph"] + (["min_tph", "max_tph", "offspec_below_tph"] if c.get("flexible") else [])
            for key in keys:
                if isinstance(c.get(key), int | float):
                    c[key] = c[key] * keep

    if changes.column_reflux_held:
        for c in _table(data, "consumers").values():
            col = c.get("column") if isinstance(c, dict) else None
            if isinstance(col, dict) and isinstance(col.get("reflux_ratio_today"), int | float):
                col["reflux_ratio_min"] = col["reflux_ratio_max"] = col["reflux_ratio_today"]

    for h in changes.hydrogen:
        base_id = _base_fuel(data, h.unit)
        assert base_id is not None  # checked by change_issues
        fuels[_blend_id(h.unit)] = _blend_fuel(fuels[base_id], h)
        if h.unit in _table(data, "boilers"):
            data["boilers"][h.unit]["fuels"] = [_blend_id(h.unit)]
        else:
            data["gas_turbines"][h.unit]["hrsg"]["duct_fuel"] = _blend_id(h.unit)

    if changes.hydrogen_supply is not None:  # the fuel system of scenarios/fuel_changes.py (prices after step 1)
        add_hydrogen_supply(data, changes.hydrogen_supply)
    if changes.byproduct_gas is not None:
        add_byproduct_gas(data, changes.byproduct_gas)

    if changes.carbon_price_per_t is not None or changes.gwp_set is not None:
        em = data.setdefault("emissions", {})
        if changes.carbon_price_per_t is not None:
            em["carbon_price_per_t"] = changes.carbon_price_per_t
        if changes.gwp_set is not None:
            em["gwp_set"] = changes.gwp_set
    if changes.grid_ef_t_mwh is not None:
        data["electricity"]["grid_ef_t_mwh"] = changes.grid_ef_t_mwh
    if changes.n1_cover is not None or changes.n1_cover_time_min is not None:
        cover = data.setdefault("n1_cover", {})
        if not isinstance(cover, dict):  # a malformed [n1_cover]: left for the site's validation to report
            return data
        if changes.n1_cover is not None:
            cover["enabled"] = changes.n1_cover
        if changes.n1_cover_time_min is not None:
            cover["cover_time_min"] = changes.n1_cover_time_min
    return data


def _blend_fuel(base: Mapping[str, Any], h: HydrogenCofiring) -> dict[str, Any]:
    s = hydrogen_energy_share(h.volume_fraction)
    num = lambda key: float(base.get(key, 0.0)) if isinstance(base.get(key, 0.0), int | float) else 0.0  # noqa: E731
    blend: dict[str, Any] = {
        "price_per_gj": (1.0 - s) * num("price_per_gj") + s * h.h2_price_per_gj,
        "ef_co2_kg_tj": num("ef_co2_kg_tj") * (1.0 - s),
        "ef_ch4_kg_tj": num("ef_ch4_kg_tj") * (1.0 - s),
        "ef_n2o_kg_tj": num("ef_n2o_kg_tj") * (1.0 - s),
    }
    lhv = base.get("lhv_mj_kg")
    if isinstance(lhv, int | float) and lhv > 0:
        blend["lhv_mj_kg"] = 1.0 / (s / H2_LHV_MJ_KG + (1.0 - s) / lhv)
    limit = base.get("max_gj_h")
    if isinstance(limit, int | float) and math.isfinite(limit):
        blend["max_gj_h"] = limit / (1.0 - s)
    return blend


def build_site(scenario: Scenario) -> Site:
    """The scenario's site: the site file with the changes applied, validated.

    Raises :class:`~optimizer.site.schema.DataFileError` whose source names both files.
    """
    site_path = _site_path(scenario)
    data = read_site_data(scenario)
    changed = apply_changes(data, scenario.changes, source=scenario.source)
    return site_from_dict(changed, f"{site_path} with changes from {scenario.source}")


# --------------------------------------------------------------------------- profile and events


def profile_config(scenario: Scenario, site: Site | None = None) -> ProfileConfig:
    """The disturbance-profile settings of the scenario; outage events become profile outages.

    The fouling start hours apply to every gas turbine of ``site`` (read from the site file when
    no site is given).
    """
    p = scenario.profile
    gt_ids = list(site.gas_turbines) if site is not None else list(_table(read_site_data(scenario), "gas_turbines"))
    return ProfileConfig(
        start=pd.Timestamp(scenario.start),
        hours=scenario.hours,
        step_min=scenario.step_min,
        seed=scenario.seed,
        ambient_min_c=p.ambient_min_c,
        ambient_max_c=p.ambient_max_c,
        tle_variation=p.tle_variation,
        decoking=p.decoking,
        gt_fouling_start_hours={g: p.gt_fouling_start_hours for g in gt_ids},
        outages=[Outage(e.unit, pd.Timestamp(e.start), pd.Timestamp(e.end)) for e in scenario.events if e.kind == "outage"],
    )


def apply_events(disturbances: Sequence[Disturbances], scenario: Scenario, site: Site) -> list[Disturbances]:
    """Demand steps applied to a profile: inside ``[start, end)`` the consumer's demand is multiplied
    by ``factor`` (the disturbance's demand, else the site's nominal ``demand_tph``); overlapping
    steps multiply. Returns new objects for the changed steps; the input is not modified.
    (The simulator still keeps a flexible consumer's draw inside its band.)"""
    steps = [(e, pd.Timestamp(e.start), pd.Timestamp(e.end)) for e in scenario.events if e.kind == "demand_step"]
    for e, _, _ in steps:
        if e.unit not in site.consumers:
            raise ValueError(f"events: unit = {e.unit!r} is not a consumer of site {site.name!r} (known: {_known(site.consumers)})")
    out: list[Disturbances] = []
    for d in disturbances:
        hits = [e for e, a, z in steps if a <= d.timestamp < z]
        if hits:
            demand = dict(d.consumer_demand_tph)
            for e in hits:
                demand[e.unit] = demand.get(e.unit, site.consumers[e.unit].demand_tph) * e.factor
            d = dataclasses.replace(d, consumer_demand_tph=demand, unavailable=set(d.unavailable))
        out.append(d)
    return out


def scenario_disturbances(scenario: Scenario, site: Site) -> list[Disturbances]:
    """The scenario's profile on its (changed) site: generated, then demand steps applied."""
    return apply_events(generate_disturbances(site, profile_config(scenario, site)), scenario, site)


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


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in public_fields(type(obj)):
            value = getattr(obj, f.name)
            if value is not None:
                out[f.name] = _plain(value)
        return out
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj
