"""Binding limits and explanations in plant words (issue 19, item 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optimizer.binding import LIMITS
from optimizer.plant_words import _WORDS, describe_limit
from optimizer.proposal import Proposal

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, words, unit", [
    ("g_max[GT1]", "GT1 at maximum power (base load or move limit)", "MW"),
    ("x_max[TG1,0]", "TG1 first extraction at its maximum (or its move limit)", "t/h"),
    ("t_flow_max[TG1,1]", "TG1 second section at its flow limit", "t/h"),
    ("mass[SHP]", "SHP header: steam balance", "t/h"),
    ("swing[SHP]", "SHP header: swing reserve for pressure control", "t/h"),
    ("fuel_limit[fuel_gas]", "Fuel gas availability", "GJ/h"),
    ("ld[LD_SHP_HP]", "letdown LD_SHP_HP at its capacity", "t/h"),
    ("imp", "grid import limit", "MW"),
    ("col_spec[MP_C3_SPLITTER]", "MP_C3_SPLITTER: product purity at its specification", "mol/mol"),
    ("something_new[X]", "something_new[X]", ""),
])
def test_limit_names_in_plant_words(name, words, unit):
    assert describe_limit(name) == (words, unit)


def test_every_reported_limit_has_plant_words():
    """A limit the binding report can name must have words: adding one without them fails here."""
    assert set(LIMITS) <= set(_WORDS), sorted(set(LIMITS) - set(_WORDS))


def _reference():
    from steamopt import Supervisor, load_models, load_site

    sup = Supervisor(load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml"),
                     load_models(ROOT / "scenarios" / "models" / "reference_olefins"))
    snap = json.loads((ROOT / "scenarios" / "snapshots" / "reference_olefins.json").read_text())
    return sup, snap


def test_the_proposal_names_its_binding_limits_in_plant_words_with_currency():
    sup, snap = _reference()
    p = sup.step(snap)
    assert p.status == "optimal" and p.binding
    for b in p.binding:
        assert "[" not in b["description"] and b["currency"] == "THB" and b["unit"] in ("MW", "t/h", "GJ/h", "mol/mol", "reflux ratio"), b
        assert b["worth_per_unit_per_h"] > 0
    words = {b["description"] for b in p.binding}
    assert "GT1 at maximum power (base load or move limit)" in words and "SHP header: steam balance" in words


def test_explain_shows_setpoints_current_and_proposed_and_the_limits():
    from scenarios.cli import explain

    sup, snap = _reference()
    p = sup.step(snap)
    text = explain(p, snap)
    row = next(line for line in text.splitlines() if line.strip().startswith("GT1.duct_steam_tph"))
    assert row.split()[1:] == [f"{snap['GT1.duct_steam_tph']:.3f}", f"{p.setpoints['GT1.duct_steam_tph']:.3f}"]
    assert "binding limits (worth of one more unit of each, per hour):" in text
    top = p.binding[0]
    assert f"{top['description']}" in text and f"{top['worth_per_unit_per_h']:,.1f} THB/h per {top['unit']}" in text


def test_explain_keeps_the_kpis_when_the_current_point_is_not_evaluated():
    from scenarios.cli import explain

    p = Proposal("2026-03-02T10:00:00", "optimal", setpoints={"B1.steam_tph": 50.0}, proposed_kpis={"cost_per_h": 1000.0},
                 warnings=["current operating point could not be evaluated by the model (infeasible)"])
    text = explain(p, {})
    line = next(x for x in text.splitlines() if x.startswith("cost_per_h"))
    assert line.split() == ["cost_per_h", "n/a", "1,000.00", "n/a"]
    assert "no current KPIs or savings: current operating point could not be evaluated by the model (infeasible)" in text
