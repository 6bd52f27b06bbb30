"""A letdown without its own desuperheater: the optimiser and the simulator use one rule (issue 18,
item 3).

Throttled steam keeps its inlet enthalpy. With ``desuperheat = true`` the letdown's own
desuperheater injects ``r = (h_in - h_out) / (h_out - h_w)`` water per t of steam; without, the
steam enters the outlet header hot and the header's desuperheater sprays
``m (h_in - h_out) / (h_out - h_w)`` - the same water, in another place - as long as the header is
hotter than its set point (``optimizer.steam.header_spray_or_deficit``). So on the reference site,
whose MP and LP headers run hot, taking the desuperheaters off the HP->MP and MP->LP letdowns
must change where the water goes and nothing else, in the simulator and in the optimiser alike.
(Before, the simulator booked the undesuperheated letdown's heat as a negative energy deficit and
sprayed nothing: 5-6 t/h less water at MP than the optimiser planned.)
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from optimizer.site.loader import site_from_dict
from scenarios.plant.practice import todays_practice
from scenarios.plant.profiles import ProfileConfig, generate_disturbances
from scenarios.plant.simulator import PlantSimulator

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
OFF = ("LD_HP_MP", "LD_MP_LP")


def _sites():
    data = tomllib.loads(SITE_FILE.read_text())
    reference = site_from_dict(data, "reference")
    for lid in OFF:
        data["letdowns"][lid]["desuperheat"] = False
    return reference, site_from_dict(data, "undesuperheated letdowns")


def _water(tags: dict, site, header: str) -> float:
    """All water injected into a header: its spray plus the letdowns' own desuperheaters."""
    return tags[f"{header}.spray_water_tph"] + sum(tags[f"{lid}.water_tph"] for lid, ld in site.letdowns.items() if ld.outlet == header)


def test_simulator_the_same_water_in_another_place():
    reference, variant = _sites()
    sim_r, sim_v = PlantSimulator(reference), PlantSimulator(variant)
    for d in generate_disturbances(reference, ProfileConfig(start=pd.Timestamp("2026-03-02 00:00"), hours=24, step_min=60, seed=4))[::3]:
        sp = todays_practice(reference, d)
        r, v = sim_r.simulate(sp, d).tags, sim_v.simulate(sp, d).tags
        moved = 0.0
        for h in ("MP", "LP"):
            assert r[f"{h}.energy_deficit_mw"] == 0.0 and v[f"{h}.energy_deficit_mw"] == 0.0  # hot headers
            assert _water(v, variant, h) == pytest.approx(_water(r, reference, h), rel=1e-9, abs=1e-9)
            moved += v[f"{h}.spray_water_tph"] - r[f"{h}.spray_water_tph"]
        assert moved > 1.0  # t/h: the letdowns carried heat, now sprayed at the header
        for lid in OFF:
            assert v[f"{lid}.water_tph"] == 0.0
        for tag in ("site.fuel_gj_h", "site.cost_per_h", "deaerator.steam_tph", "LD_HP_MP.steam_tph", "B1.steam_tph"):
            assert v[tag] == pytest.approx(r[tag], rel=1e-9, abs=1e-9), tag


def test_optimiser_books_the_letdown_heat_by_the_same_rule():
    """The optimiser on the two sites, same snapshot: its turbines run the same, so each header's
    exhaust excess is the same, and the undesuperheated HP->MP letdown's heat ``l (h_HP - h_MP)``
    enters the MP header's balance as the simulator's rule says: it first covers the deficit the
    reference optimum has there (the exhausts run colder than the header), the rest is sprayed,
    ``w (h_MP - h_w) / 3600 = l (h_HP - h_MP) / 3600 - deficit_ref``, no deficit left."""
    from optimizer.steam import header_spray_or_deficit
    from steamopt import Supervisor, load_models

    reference, variant = _sites()
    snap = json.loads((ROOT / "scenarios" / "snapshots" / "reference_olefins.json").read_text())
    models = load_models(ROOT / "scenarios" / "models" / "reference_olefins")
    sup_r, sup_v = Supervisor(reference, models), Supervisor(variant, models)
    assert sup_r.step(dict(snap)).status == sup_v.step(dict(snap)).status == "optimal"
    m_r, m_v = sup_r.model, sup_v.model
    for key in m_r.flow:  # the same turbine flows: the same exhaust excess at every header
        assert m_v.flow[key].value == pytest.approx(m_r.flow[key].value, rel=1e-9, abs=1e-9), key
    h, h_w = sup_v.props.header_enthalpy_kj_kg, sup_v.props.header_spray_water_kj_kg
    deficit_r = m_r.deficit["MP"].value
    assert deficit_r > 0.1 and m_r.spray["MP"].value == pytest.approx(0.0, abs=1e-9)  # the reference's MP header runs cold
    excess = m_v.ld["LD_HP_MP"].value * (h["HP"] - h["MP"]) - 3600.0 * deficit_r  # t/h x kJ/kg
    spray, deficit = header_spray_or_deficit(excess, h["MP"], h_w["MP"])
    assert m_v.spray["MP"].value == pytest.approx(spray, rel=1e-6) and m_v.deficit["MP"].value == pytest.approx(deficit, abs=1e-6)
    assert spray > 1.0


def test_the_rule_by_hand():
    from optimizer.steam import SteamPropertyError, header_spray_or_deficit

    assert header_spray_or_deficit(3600.0 * 2.0, 3000.0, 500.0) == (pytest.approx(7200.0 / 2500.0), 0.0)
    assert header_spray_or_deficit(-3600.0 * 1.5, 3000.0, 500.0) == (0.0, pytest.approx(1.5))
    with pytest.raises(SteamPropertyError, match="must exceed the spray water"):
        header_spray_or_deficit(1.0, 400.0, 500.0)
