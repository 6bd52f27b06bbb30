"""Start and stop data of the units that can be started and stopped (issue 16, part 1).

Boilers, gas turbines and generator steam turbines carry ``startup_cost``, an optional
``cold_startup_cost`` from ``cold_after_h`` hours off, ``shutdown_cost`` and ``startup_time_min``.
The reference site carries published or estimated values (their derivation is in the site file's
comments, re-computed here); a site file without them loads with no cost and no start time; a bad
value is one error line naming the file, the dotted path, the value and the rule.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from optimizer.site import load_site, site_from_dict
from optimizer.site.model import start_cost
from optimizer.site.properties import compute_properties
from scenarios.plant.curves import BoilerCurve
from tests.test_site_validation import REFERENCE_SITE, SOURCE, Mutation, drop, errors_of, put, reference

FIELDS = ("startup_cost", "cold_startup_cost", "cold_after_h", "shutdown_cost", "startup_time_min")
UNSET = {"startup_cost": 0.0, "cold_startup_cost": None, "cold_after_h": None, "shutdown_cost": 0.0, "startup_time_min": 0.0}

# The site file's conversion of USD(2011) per MW (Kumar et al. 2012, table 1-1) to THB:
# x 1.39 (US CPI-U 2011 -> 2024) x 35 THB/USD; start fuel 3.5 MMBtu/MW (Lew et al. 2013).
THB_PER_USD2011 = 1.39 * 35.0
GJ_PER_MMBTU = 1.055056


def _units(site):
    return {**site.boilers, **site.gas_turbines, **site.turbines}


def _without_start_data(data: dict) -> dict:
    for coll in ("boilers", "gas_turbines", "turbines"):
        for unit in data[coll].values():
            for name in FIELDS:
                unit.pop(name, None)
    return data


# --------------------------------------------------------------------------- the reference site


def test_reference_site_carries_the_start_data() -> None:
    site = load_site(REFERENCE_SITE)
    got = {uid: tuple(getattr(u, f) for f in FIELDS) for uid, u in _units(site).items()}
    assert got == {
        "B1": (18100.0, 72300.0, 8.0, 0.0, 30.0),
        "B2": (18000.0, 72100.0, 8.0, 0.0, 30.0),
        "B3": (18100.0, 72400.0, 8.0, 0.0, 30.0),
        "B4": (19700.0, 78900.0, 8.0, 0.0, 30.0),
        "GT1": (114900.0, 155700.0, 8.0, 0.0, 30.0),
        "GT2": (114900.0, 155700.0, 8.0, 0.0, 30.0),
        "TG1": (43800.0, 70500.0, 8.0, 0.0, 45.0),
        "TG2": (21000.0, 33900.0, 8.0, 0.0, 45.0),
        "TG3": (35000.0, 56400.0, 8.0, 0.0, 45.0),
        # machine drives: no start data
        "CGC": (0.0, None, None, 0.0, 0.0),
        "PRC": (0.0, None, None, 0.0, 0.0),
        "ETH": (0.0, None, None, 0.0, 0.0),
        "BFP": (0.0, None, None, 0.0, 0.0),
    }


def test_reference_boiler_start_costs_follow_from_the_site_data() -> None:
    """The boilers' values are the fuel of 0.5 h (hot) and 2 h (after 8 h off) at minimum firing,
    from the site's own efficiency curve, header and feedwater enthalpies and gas price (rounded to
    100 THB), as the site file's comment says."""
    site = load_site(REFERENCE_SITE)
    props = compute_properties(site)
    for b in site.boilers.values():
        curve = BoilerCurve(b, props.header_enthalpy_kj_kg[b.header], props.boiler_feedwater_kj_kg[b.id])
        fuel_gj_h = curve.fuel_gj_h(b.min_steam_tph, b.reference_ambient_c)
        price = site.fuels[b.fuels[0]].price_per_gj
        assert 125.0 < fuel_gj_h < 145.0, b.id
        assert b.startup_cost == pytest.approx(0.5 * fuel_gj_h * price, abs=50.0), b.id
        assert b.cold_startup_cost == pytest.approx(2.0 * fuel_gj_h * price, abs=50.0), b.id


def test_reference_gas_turbine_and_generator_start_costs_follow_from_the_published_figures() -> None:
    site = load_site(REFERENCE_SITE)
    gas_price = site.fuels["natural_gas"].price_per_gj
    for g in site.gas_turbines.values():
        fuel_thb = 3.5 * GJ_PER_MMBTU * g.iso_power_mw * gas_price
        assert g.startup_cost == pytest.approx(35.0 * g.iso_power_mw * THB_PER_USD2011 + fuel_thb, abs=50.0)
        assert g.cold_startup_cost == pytest.approx(55.0 * g.iso_power_mw * THB_PER_USD2011 + fuel_thb, abs=50.0)
    for tid in ("TG1", "TG2"):
        t = site.turbines[tid]
        assert t.startup_cost == pytest.approx(36.0 * t.max_power_mw * THB_PER_USD2011, abs=50.0)
        assert t.cold_startup_cost == pytest.approx(58.0 * t.max_power_mw * THB_PER_USD2011, abs=50.0)


def test_start_cost_is_hot_below_cold_after_h_and_cold_from_it() -> None:
    site = load_site(REFERENCE_SITE)
    b1, gt1 = site.boilers["B1"], site.gas_turbines["GT1"]
    assert [start_cost(b1, h) for h in (0.0, 7.99, 8.0, 100.0)] == [18100.0, 18100.0, 72300.0, 72300.0]
    assert [start_cost(gt1, h) for h in (1.0, 8.0)] == [114900.0, 155700.0]
    no_cold = dataclasses.replace(b1, cold_startup_cost=None, cold_after_h=None)
    assert [start_cost(no_cold, h) for h in (0.0, 1000.0)] == [18100.0, 18100.0]


# --------------------------------------------------------------------------- older site files


def test_site_file_without_start_data_loads_with_no_cost_and_no_start_time() -> None:
    site = site_from_dict(_without_start_data(reference()), SOURCE)
    for uid, u in _units(site).items():
        assert {f: getattr(u, f) for f in FIELDS} == UNSET, uid
        assert start_cost(u, 1000.0) == 0.0
    # everything else is the reference site's
    full = load_site(REFERENCE_SITE)
    for coll in ("boilers", "gas_turbines", "turbines"):
        for uid, u in getattr(full, coll).items():
            assert dataclasses.replace(u, **UNSET) == getattr(site, coll)[uid], uid


def test_cold_start_costing_the_same_as_a_hot_one_is_allowed() -> None:
    data = reference()
    data["boilers"]["B2"]["cold_startup_cost"] = data["boilers"]["B2"]["startup_cost"]
    assert site_from_dict(data, SOURCE).boilers["B2"].cold_startup_cost == 18000.0


# --------------------------------------------------------------------------- bad values
# (id, mutation, dotted path, shown value, rule): each gives exactly one line
# ``<source>: <path> = <value>: <rule>``.

CASES: list[tuple[str, Mutation, str, str, str]] = [
    ("negative-start-cost", put("boilers.B2.startup_cost", -1.0), "boilers.B2.startup_cost", "-1.0",
     "must be >= 0 currency/start (allowed [0, 1e+09])"),
    ("negative-cold-start-cost", put("gas_turbines.GT1.cold_startup_cost", -5.0), "gas_turbines.GT1.cold_startup_cost", "-5.0",
     "must be >= 0 currency/start (allowed [0, 1e+09])"),
    ("negative-stop-cost", put("turbines.TG1.shutdown_cost", -100.0), "turbines.TG1.shutdown_cost", "-100.0",
     "must be >= 0 currency/stop (allowed [0, 1e+09])"),
    ("negative-start-time", put("gas_turbines.GT2.startup_time_min", -10.0), "gas_turbines.GT2.startup_time_min", "-10.0",
     "must be >= 0 min (allowed [0, 1440])"),
    ("start-time-over-a-day", put("boilers.B4.startup_time_min", 1500.0), "boilers.B4.startup_time_min", "1500.0",
     "must be <= 1440 min (allowed [0, 1440])"),
    ("zero-cold-after", put("boilers.B1.cold_after_h", 0.0), "boilers.B1.cold_after_h", "0.0", "must be > 0 h (allowed (0, 8760])"),
    ("nan-start-cost", put("boilers.B1.startup_cost", float("nan")), "boilers.B1.startup_cost", "nan", "must be a number, not nan"),
    ("string-for-start-cost", put("turbines.TG2.startup_cost", "21000"), "turbines.TG2.startup_cost", "'21000'",
     "must be a number (in currency/start)"),
    ("cold-below-hot", put("boilers.B3.cold_startup_cost", 10000.0), "boilers.B3.cold_startup_cost", "10000.0",
     "must be >= startup_cost = 18100 (a cold start costs at least a hot one)"),
    ("hot-above-cold", put("gas_turbines.GT2.startup_cost", 200000.0), "gas_turbines.GT2.cold_startup_cost", "155700.0",
     "must be >= startup_cost = 200000 (a cold start costs at least a hot one)"),
    ("cold-after-without-cold-cost", drop("turbines.TG1.cold_startup_cost"), "turbines.TG1.cold_after_h", "8.0",
     "needs cold_startup_cost as well (give both or neither)"),
    ("cold-cost-without-cold-after", drop("gas_turbines.GT1.cold_after_h"), "gas_turbines.GT1.cold_startup_cost", "155700.0",
     "needs cold_after_h as well (give both or neither)"),
    ("start-cost-on-machine-drive", put("turbines.CGC.startup_cost", 5000.0), "turbines.CGC.startup_cost", "5000.0",
     "start and stop data are for generator turbines only: a machine drive runs when its process does"),
    ("start-time-on-machine-drive", put("turbines.BFP.startup_time_min", 20.0), "turbines.BFP.startup_time_min", "20.0",
     "start and stop data are for generator turbines only: a machine drive runs when its process does"),
    ("typo-start-cost-key", put("boilers.B1.start_up_cost", 1.0), "boilers.B1.start_up_cost", "1.0", "did you mean 'startup_cost'?"),
]


@pytest.mark.parametrize(("mutation", "path", "value", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_start_data_is_one_line_naming_path_value_and_rule(mutation: Mutation, path: str, value: str, rule: str) -> None:
    data = reference()
    mutation(data)
    err = errors_of(data)
    (line,) = str(err).splitlines()
    assert line.startswith(f"{SOURCE}: {path} = {value}: ")
    assert rule in line
    (issue,) = err.issues
    assert issue.path == path


def test_bad_start_data_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    text = REFERENCE_SITE.read_text(encoding="utf-8")
    old = "cold_startup_cost = 72300.0"
    assert text.count(old) == 1
    path.write_text(text.replace(old, "cold_startup_cost = 100.0"), encoding="utf-8")
    with pytest.raises(ValueError) as info:
        load_site(path)
    assert str(info.value) == (f"{path}: boilers.B1.cold_startup_cost = 100.0: must be >= startup_cost = 18100 "
                               "(a cold start costs at least a hot one)")
