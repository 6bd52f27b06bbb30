"""The scenario file's data model: its dataclasses (every field declared with
:func:`optimizer.site.model.attr`, validated by :class:`optimizer.site.schema.Builder`), the paths and
size limits, the ``--set`` aliases and the file reference tables. Re-exported by
:mod:`scenarios.scenario`, whose docstring describes the whole API."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from optimizer.site.model import attr
from optimizer.site.schema import public_fields
from scenarios.fuel_changes import ByproductGas, FuelBurner, HydrogenSupply
from scenarios.plant.reality_gap import RealityGap

#: The project's ``scenarios/`` folder: site and model paths may always point inside it.
SCENARIOS_DIR = Path(__file__).resolve().parent
#: Bundled scenario studies.
STUDIES_DIR = SCENARIOS_DIR / "studies"
#: Largest scenario file accepted, bytes (a scenario is a few kB).
MAX_SCENARIO_FILE_BYTES = 200_000

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
