"""Run the simulator over a profile and write what a plant historian would hold.

One row per timestamp, one column per tag; the unit is the tag's suffix (``_tph``, ``_mw``,
``_gj_h``, ...), and :func:`units_table` lists them for a sidecar file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from optimizer.site.model import Site, extraction_condensing_generators
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.simulator import PlantSimulator, PlantState
from surrogate.atomic import atomic_output

log = logging.getLogger(__name__)

Policy = Callable[[Site, Disturbances], Setpoints]

UNIT_SUFFIXES = {
    "_tph": "t/h", "_gj_h": "GJ/h", "_mw": "MW", "_temp_c": "C", "_kj_kg": "kJ/kg", "_kj_kwh": "kJ/kWh",
    "_t_h": "t/h", "_per_h": "currency/h", "_per_mwh": "currency/MWh", "_hours": "h", "_mol_frac": "mol/mol"
}
# Tags a plant actually measures: unit-level flows, fuels and powers; not computed KPIs.
_MEASURED = re.compile(r"^(?!site\.)[^.]+\.(?!.*(shortfall|surplus|deficit|base_power|shaft)).*(_tph|_gj_h|_mw)$")


def unit_of(tag: str) -> str:
    """The unit of a tag, from its suffix ('-' when dimensionless)."""
    for suffix, unit in sorted(UNIT_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if tag.endswith(suffix):
            return unit
    return "-"


# A steered column's process measurements (feed and reflux flow meters, the product analyser):
# noised on their own random stream, so that the noise on every other tag does not depend on
# whether a site has a steered column
_COLUMN_RELATIVE = re.compile(r"^[^.]+\.(feed_tph|reflux_ratio)$")
_COLUMN_ANALYSER = re.compile(r"^[^.]+\.purity_mol_frac$")


def units_table(columns: Iterable[str]) -> pd.DataFrame:
    """Tag, unit and whether the tag is a measurement (gets sensor noise) or a computed value."""
    return pd.DataFrame([{"tag": c, "unit": unit_of(c), "measured": bool(_MEASURED.match(c) or _COLUMN_RELATIVE.match(c)
                                                                         or _COLUMN_ANALYSER.match(c)) or c == "ambient_temp_c"}
                         for c in columns])


@dataclass
class SensorNoise:
    """Gaussian sensor noise: relative for flows, fuel and power; absolute for ambient."""

    relative_std: float = 0.005
    ambient_std_c: float = 0.2
    seed: int = 0
    # mol/mol, 1 standard deviation of an on-line chromatograph on a product of 99.5 % (assumed:
    # about 2 % of the 0.5 % impurity it measures)
    purity_std_mol_frac: float = 1e-4
    #: units (tag prefixes before the dot) whose measured tags are noised on their own random
    #: stream (:func:`own_stream_units`): adding such a unit to a site changes no other tag's noise
    own_stream_units: tuple[str, ...] = ()

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        rng = np.random.default_rng(self.seed)
        out = frame.copy()
        own = set(self.own_stream_units)
        separate = [c for c in frame.columns if c.split(".", 1)[0] in own and _MEASURED.match(c)]
        column_relative = [c for c in frame.columns if _COLUMN_RELATIVE.match(c) and c not in separate]
        measured = [c for c in frame.columns if _MEASURED.match(c) and c not in column_relative and c not in separate]
        values = out[measured].to_numpy(dtype=float)
        out[measured] = values * (1.0 + self.relative_std * rng.standard_normal(values.shape))
        if "ambient_temp_c" in out:
            out["ambient_temp_c"] = out["ambient_temp_c"] + self.ambient_std_c * rng.standard_normal(len(out))
        analysers = [c for c in frame.columns if _COLUMN_ANALYSER.match(c)]
        if column_relative or analysers:  # a steered column's own stream (see _COLUMN_RELATIVE)
            col_rng = np.random.default_rng([self.seed, 17])
            values = out[column_relative].to_numpy(dtype=float)
            out[column_relative] = values * (1.0 + self.relative_std * col_rng.standard_normal(values.shape))
            values = out[analysers].to_numpy(dtype=float)
            out[analysers] = np.minimum(values + self.purity_std_mol_frac * col_rng.standard_normal(values.shape), 1.0)
        if separate:
            own_rng = np.random.default_rng([self.seed, 18])
            values = out[separate].to_numpy(dtype=float)
            out[separate] = values * (1.0 + self.relative_std * own_rng.standard_normal(values.shape))
        return out


def own_stream_units(site: Site) -> tuple[str, ...]:
    """Units whose measurements get their own noise stream (:class:`SensorNoise`): the site's
    extraction-condensing generators and the condensers only they exhaust to."""
    ectg = extraction_condensing_generators(site)
    others = {sec.outlet for t in site.turbines.values() if t.id not in ectg for sec in t.sections}
    conds = {site.turbines[t].sections[-1].outlet for t in ectg} - others
    return tuple(ectg) + tuple(sorted(conds))


def run_policy(
    simulator: PlantSimulator,
    policy: Policy,
    disturbances: list[Disturbances],
    progress: bool = False,
) -> tuple[pd.DataFrame, list[PlantState]]:
    """Simulate each step under a policy. Returns the true (noise-free) table and the states."""
    rows, states = [], []
    for d in tqdm(disturbances, desc="simulate", unit="step", disable=not progress):
        state = simulator.simulate(policy(simulator.site, d), d)
        rows.append(state.tags)
        states.append(state)
        for note in state.notes:
            log.debug("%s: %s", d.timestamp, note)
    frame = pd.DataFrame(rows, index=pd.DatetimeIndex([d.timestamp for d in disturbances], name="timestamp"))
    return frame, states


def kpi_summary(frame: pd.DataFrame, step_hours: float, currency: str = "THB") -> pd.DataFrame:
    """Totals over the period of a (true) historian table: one row per KPI with its unit."""
    fuel_cols = sorted(c for c in frame.columns if c.startswith("site.fuel_") and c.endswith("_gj_h") and c != "site.fuel_gj_h" and "cost" not in c)
    rows = [("fuel, total", frame["site.fuel_gj_h"].sum() * step_hours, "GJ")]
    rows += [(f"fuel, {c.removeprefix('site.fuel_').removesuffix('_gj_h')}", frame[c].sum() * step_hours, "GJ") for c in fuel_cols]
    rows += [
        ("steam generated (boilers + HRSGs)", frame["site.steam_generated_tph"].sum() * step_hours, "t"),
        ("by-product steam (TLE)", frame["site.byproduct_steam_tph"].sum() * step_hours, "t"),
        ("steam vented", frame["site.vent_tph"].sum() * step_hours, "t"),
        ("steam shortfall", frame["site.steam_shortfall_tph"].sum() * step_hours, "t"),
        ("power generated", frame["site.generation_mw"].sum() * step_hours, "MWh"),
        ("power imported", frame["site.power_import_mw"].sum() * step_hours, "MWh"),
        ("power exported", frame["site.power_export_mw"].sum() * step_hours, "MWh"),
        ("CO2e scope 1", frame["site.co2e_scope1_t_h"].sum() * step_hours, "t"),
        ("CO2e scope 2", frame["site.co2e_scope2_t_h"].sum() * step_hours, "t"),
        ("CO2e counted", frame["site.co2e_t_h"].sum() * step_hours, "t"),
        ("fuel cost", frame["site.fuel_cost_per_h"].sum() * step_hours, currency),
        ("electricity cost", frame["site.electricity_cost_per_h"].sum() * step_hours, currency),
        ("carbon cost", frame["site.carbon_cost_per_h"].sum() * step_hours, currency),
        ("penalties", frame["site.penalty_cost_per_h"].sum() * step_hours, currency),
        ("total cost", frame["site.cost_per_h"].sum() * step_hours, currency),
    ]
    return pd.DataFrame(rows, columns=["kpi", "value", "unit"]).set_index("kpi")


def write_historian(frame: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    """Write the historian table as Parquet and CSV, and the units sidecar (each to a temporary
    file renamed when complete)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"parquet": out_dir / "historian.parquet", "csv": out_dir / "historian.csv", "units": out_dir / "historian_units.csv"}
    with atomic_output(paths["parquet"]) as tmp:
        frame.to_parquet(tmp)
    with atomic_output(paths["csv"]) as tmp:
        frame.to_csv(tmp)
    with atomic_output(paths["units"]) as tmp:
        units_table(frame.columns).to_csv(tmp, index=False)
    return paths
