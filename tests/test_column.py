"""The steered C3 splitter: its true physics (scenarios/plant/column.py) against hand-computed
values from the published numbers in the site file, the simulator's modes, and the site rules."""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

import pytest
from scipy.optimize import brentq

from optimizer import steam
from optimizer.site import SiteError, load_site, site_from_dict
from scenarios.plant.column import ColumnCurve
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.simulator import PlantSimulator

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
SITE = load_site(SITE_FILE)
C3 = "MP_C3_SPLITTER"
COL = SITE.consumers[C3].column

# the site file's published / derived numbers, written out here by hand
Z, DOF, ALPHA, N = 0.92, 0.90, 1.10, 160.0
LAMBDA_C3, Q_STEAM = 310.0, 2130.06


def _gilliland_stages(xd: float, r: float) -> float:
    """Stages the shortcut asks for, written out independently of the module under test."""
    xb = (Z - DOF * xd) / (1 - DOF)
    n_min = math.log(xd / (1 - xd) * (1 - xb) / xb) / math.log(ALPHA)           # Fenske
    r_min = (xd / Z - ALPHA * (1 - xd) / (1 - Z)) / (ALPHA - 1)                 # Underwood, binary, q = 1
    x = (r - r_min) / (r + 1)
    y = 1 - math.exp((1 + 54.4 * x) / (11 + 117.2 * x) * (x - 1) / math.sqrt(x))  # Molokanov
    return (y + n_min) / (1 - y)


def test_site_numbers_are_the_published_ones():
    assert (COL.feed_light_fraction, COL.distillate_to_feed, COL.relative_volatility, COL.theoretical_stages) == (Z, DOF, ALPHA, N)
    assert (COL.boilup_latent_heat_kj_kg, COL.reboiler_heat_kj_kg) == (LAMBDA_C3, Q_STEAM)
    # the reboiler's heat per kg of MP steam: 18 bar(g), 300 C, condensing to saturated liquid (IAPWS-IF97)
    p = 18.0 + 1.01325
    assert steam.state_pt(p, 300.0).enthalpy_kj_kg - steam.saturated_liquid(p).enthalpy_kj_kg == pytest.approx(Q_STEAM, abs=0.01)


@pytest.mark.parametrize("reflux", [10.5, 11.0, 12.5, 14.0])
def test_purity_is_the_gilliland_solution(reflux):
    curve = ColumnCurve(COL)
    # bracket: from the feed's fraction to where Underwood's minimum reflux reaches this reflux
    xd_top = min((reflux * (ALPHA - 1) + ALPHA / (1 - Z)) / (1 / Z + ALPHA / (1 - Z)) - 1e-4, 1 - 1e-9)
    xd_hand = brentq(lambda xd: _gilliland_stages(xd, reflux) - N, 0.95, xd_top, xtol=1e-14)
    assert curve.purity(reflux) == pytest.approx(xd_hand, abs=1e-10)
    assert _gilliland_stages(curve.purity(reflux), reflux) == pytest.approx(N, rel=1e-6)


def test_steam_is_feed_times_boilup_over_steam_heat():
    curve = ColumnCurve(COL)
    # today: 16.95 t/h feed, R = 12.5: S = F (D/F) (R + 1) lambda / q = 29.97 t/h, today's 30 t/h draw
    assert curve.steam_tph(16.95, 12.5) == pytest.approx(16.95 * 0.90 * 13.5 * 310.0 / 2130.06, rel=1e-12)
    assert 29.9 < curve.steam_tph(16.95, 12.5) < 30.0
    assert curve.reflux_for_steam(16.95, curve.steam_tph(16.95, 11.3)) == pytest.approx(11.3, rel=1e-12)
    assert curve.feed_for(curve.steam_tph(14.0, 11.3), 11.3) == pytest.approx(14.0, rel=1e-12)


def test_purity_rises_with_reflux_with_diminishing_returns():
    curve = ColumnCurve(COL)
    rs = [10.2 + 0.25 * k for k in range(16)]
    p = [curve.purity(r) for r in rs]
    gains = [b - a for a, b in zip(p, p[1:])]
    assert all(g > 0 for g in gains)
    assert all(b < a for a, b in zip(gains, gains[1:]))
    # today's reflux over-purifies; the spec lies between the minimum and today's reflux
    assert curve.purity(COL.reflux_ratio_today) > COL.purity_spec + COL.purity_margin
    assert curve.purity(COL.reflux_ratio_min) < COL.purity_spec
    assert curve.purity(12.5) == curve.purity(12.5, feed_tph=20.0)  # scale-free in the feed


def _state(setpoints: Setpoints, feed: float | None = None):
    d = Disturbances(column_feed_tph={} if feed is None else {C3: feed})
    return PlantSimulator(SITE).simulate(setpoints, d)


def test_simulator_reflux_setpoint_sets_steam_and_purity():
    curve = ColumnCurve(COL)
    st = _state(Setpoints(column_reflux={C3: 11.4}), feed=16.5)
    assert st[f"{C3}.reflux_ratio"] == 11.4
    assert st[f"{C3}.steam_tph"] == pytest.approx(16.5 * 0.90 * 12.4 * 310.0 / 2130.06, rel=1e-12)
    assert st[f"{C3}.purity_mol_frac"] == pytest.approx(curve.purity(11.4), abs=1e-15)
    assert st.headers["MP"].mass_residual_tph() == pytest.approx(0.0, abs=1e-6)
    # no setpoint: today's reflux; the feed from the demand profile (nominal here)
    st = _state(Setpoints())
    assert st[f"{C3}.reflux_ratio"] == 12.5 and st[f"{C3}.feed_tph"] == pytest.approx(16.95)
    # a steam setpoint alone: the reboiler on its flow controller, the reflux follows
    st = _state(Setpoints(consumer_tph={C3: 27.0}), feed=16.0)
    assert st[f"{C3}.steam_tph"] == 27.0
    assert st[f"{C3}.reflux_ratio"] == pytest.approx(27.0 * 2130.06 / (16.0 * 0.90 * 310.0) - 1.0, rel=1e-12)


def test_simulator_reboiler_limit_holds_the_steam():
    st = _state(Setpoints(column_reflux={C3: 14.0}), feed=20.0)  # would need 39 t/h
    assert st[f"{C3}.steam_tph"] == SITE.consumers[C3].max_tph
    assert st[f"{C3}.reflux_ratio"] < 14.0
    assert any("reboiler steam at its limit" in n for n in st.notes)


# --------------------------------------------------------------------------- site rules

with SITE_FILE.open("rb") as _f:
    _DATA = tomllib.load(_f)


def _error(change) -> str:
    data = copy.deepcopy(_DATA)
    change(data["consumers"][C3])
    with pytest.raises(SiteError) as info:
        site_from_dict(data, "ref.toml")
    return str(info.value)


@pytest.mark.parametrize(("change", "line"), [
    (lambda c: c["column"].update(purity_spec=1.2), "consumers.MP_C3_SPLITTER.column.purity_spec = 1.2: must be < 1"),
    (lambda c: c["column"].update(purity_spec=0.0), "consumers.MP_C3_SPLITTER.column.purity_spec = 0.0: must be > 0"),
    (lambda c: c["column"].update(reflux_ratio_min=15.0),
     "consumers.MP_C3_SPLITTER.column.reflux_ratio_min = 15.0: must not exceed reflux_ratio_max = 14"),
    (lambda c: c["column"].update(feed_min_tph=25.0), "consumers.MP_C3_SPLITTER.column.feed_min_tph = 25.0: must not exceed feed_max_tph = 21"),
    (lambda c: c["column"].update(reflux_ratio_today=9.0),
     "consumers.MP_C3_SPLITTER.column.reflux_ratio_today = 9.0: must lie in [reflux_ratio_min, reflux_ratio_max] = [10, 14]"),
    (lambda c: c["column"].update(purity_margin=0.006),
     "consumers.MP_C3_SPLITTER.column.purity_margin = 0.006: purity_spec + purity_margin must be below 1"),
    (lambda c: c["column"].update(distillate_to_feed=0.95),
     "consumers.MP_C3_SPLITTER.column.distillate_to_feed = 0.95: must be below feed_light_fraction / purity_spec = 0.9246"),
    (lambda c: c.update(offspec_below_tph=27.0), "consumers.MP_C3_SPLITTER.offspec_below_tph = 27.0: a steered column has a purity spec"),
    (lambda c: [c.pop(k) for k in ("flexible", "min_tph", "max_tph")], "consumers.MP_C3_SPLITTER.flexible = False: a steered column must be flexible"),
], ids=["spec-above-1", "spec-zero", "reflux-range-inverted", "feed-range-inverted", "today-outside", "margin", "dof", "offspec", "not-flexible"])
def test_bad_column_is_reported(change, line):
    assert f"ref.toml: {line}" in _error(change)
