"""The fuel system (optimizer/fuel_system.py): fuel headers, blend decisions, limits, flaring.

The independent check writes the small site's physics a second time by hand as a matrix model
(the matrix model and the steam-side physics of tests/test_independent_optimum.py) and solves it
with ``scipy.optimize.milp``; the gas properties are computed here from the component table
(heats of combustion, molar masses, atoms), not with optimizer.fuel_gas's mixture functions.
The Wobbe rows are the docstring's: the chord of sqrt(d) below, the tangent at the heaviest gas
above, over the burner's gases' relative densities.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from test_independent_optimum import CONFIG, MatrixModel, Physics, close

from optimizer.fuel_gas import COMPONENTS, blend_properties, composition_properties
from optimizer.fuel_system import blend_rows, sqrt_bounds
from optimizer.site import SiteError, site_from_dict
from optimizer.supervisor import Supervisor, SupervisorConfig

REL = 1e-6
GWP = {"CH4": 28.0, "N2O": 265.0}  # AR5

NG = {"ch4": 0.93, "c2h6": 0.04, "c3h8": 0.01, "co2": 0.01, "n2": 0.01}
OFFGAS = {"h2": 0.35, "ch4": 0.50, "c2h4": 0.08, "c2h6": 0.05, "n2": 0.02}
H2 = {"h2": 1.0}

SITE = {
    "name": "fuel_headers",
    "steam": {"deaerator_steam_header": "H", "condensate_return_fraction": 0.6},
    "headers": {"H": {"pressure_barg": 10.0, "temp_c": 250.0}},
    "fuels": {"gas_a": {"price_per_gj": 300.0, "ef_co2_kg_tj": 56100.0}},  # the boilers' [fuels] entry: unused on the fuel system
    "boilers": {
        "B1": {"header": "H", "fuels": ["gas_a"], "min_steam_tph": 0.0, "max_steam_tph": 120.0, "efficiency": 0.90,
               "can_switch_off": False, "ramp_tph_per_min": 10.0},
        "B2": {"header": "H", "fuels": ["gas_a"], "min_steam_tph": 0.0, "max_steam_tph": 80.0, "efficiency": 0.93,
               "can_switch_off": False, "ramp_tph_per_min": 10.0},
    },
    "consumers": {"C1": {"header": "H", "demand_tph": 90.0}, "C2": {"header": "H", "demand_tph": 40.0, "condensate_return_fraction": 0.9}},
    "vents": {"V": {"header": "H", "max_flow_tph": 50.0, "penalty_per_t": 80.0}},
    "electricity": {"site_load_mw": 10.0, "max_import_mw": 50.0, "default_price_per_mwh": 3000.0, "grid_ef_t_mwh": 0.475},
    "emissions": {"carbon_price_per_t": 1500.0},
    "fuel_system": {
        "headers": {
            "NG": {"composition": NG, "sources": {"NG_BUY": {"kind": "purchase", "price_per_gj": 300.0}}},
            "FG": {"composition": OFFGAS, "flare": True, "flare_cost_per_gj": 15.0,
                   "sources": {"OFFGAS": {"kind": "byproduct", "nominal_gj_h": 60.0, "max_gj_h": 800.0}}},
            "HY": {"composition": H2, "sources": {"H2_BUY": {"kind": "purchase", "price_per_gj": 360.0, "max_gj_h": 40.0, "min_gj_h": 5.0}}},
        },
        "burners": {
            "B1": {"unit": "B1", "headers": ["NG", "FG", "HY"], "max_h2_volume_fraction": 0.30, "min_wobbe_mj_nm3": 48.0,
                   "max_wobbe_mj_nm3": 56.0, "limits_source": "test"},
            "B2": {"unit": "B2", "headers": ["NG", "HY"], "max_h2_volume_fraction": 0.10, "min_lhv_mj_nm3": 30.0},
        },
        "furnaces": {"F1": {"header": "FG", "draw_gj_h": 20.0, "max_gj_h": 200.0}},
    },
}

SNAP = {"timestamp": "2026-03-01T03:00:00", "ambient_temp_c": 30.0, "site_load_mw": 10.0, "C1.steam_tph": 90.0,
        "C2.steam_tph": 40.0, "B1.steam_tph": 85.0, "B2.steam_tph": 65.0, "OFFGAS.fuel_gj_h": 60.0, "F1.fuel_gj_h": 20.0}


# ---------------------------------------------------------------------- gas properties, by hand

def gas(comp: dict[str, float]) -> dict[str, float]:
    """LHV and HHV (MJ/Nm3), relative density, H2 fraction, combustion and flare t CO2e/GJ (AR5)."""
    lhv = sum(x * (COMPONENTS[k].hhv_kj_mol - 44.01 * COMPONENTS[k].hydrogen / 2) for k, x in comp.items())  # kJ/mol
    hhv = sum(x * COMPONENTS[k].hhv_kj_mol for k, x in comp.items())
    carbon = sum(x * COMPONENTS[k].carbon for k, x in comp.items())
    co2 = 44.01 * carbon / lhv
    ch4 = 16.04 * comp.get("ch4", 0.0) / lhv
    return {"lhv": lhv / 22.414, "hhv": hhv / 22.414, "d": sum(x * COMPONENTS[k].molar_mass_g_mol for k, x in comp.items()) / 28.964,
            "h2": comp.get("h2", 0.0), "ef": co2 + (GWP["CH4"] * 1.0 + GWP["N2O"] * 0.1) * 1e-6,
            "ef_flare": 0.98 * co2 + GWP["CH4"] * 0.02 * ch4}


def independent(data: dict, snap: dict) -> MatrixModel:
    """The small site by hand: steam (one header, two boilers, deaerator, vent), power import,
    and the fuel system: header balances in GJ/h, draws per (header, burner), the burners' limits
    as rows in volumes V = D / LHV, take-or-pay, flare."""
    ph = Physics(data)
    fsd = data["fuel_system"]
    g = {h: gas(fh["composition"]) for h, fh in fsd["headers"].items()}
    carbon = data["emissions"]["carbon_price_per_t"]
    m = MatrixModel()
    for b, bo in data["boilers"].items():
        m.var(f"s_{b}", 0.0, bo["max_steam_tph"])
    d = {c: snap[f"{c}.steam_tph"] for c in data["consumers"]}
    m.var("v", 0.0, 50.0, cost=80.0)
    ph.deaerator(m, {f"s_{b}": 1.0 for b in data["boilers"]}, 0.0, {}, sum(ph.ret(c) * d[c] for c in d))
    m.eq({**{f"s_{b}": 1.0 for b in data["boilers"]}, "v": -1.0, "S": -1.0}, sum(d.values()))
    ph.electricity(m, ph.import_price(snap["timestamp"]), {}, snap["site_load_mw"])
    supply: dict[str, dict[str, float]] = {h: {} for h in fsd["headers"]}
    const = {h: 0.0 for h in fsd["headers"]}
    for h, fh in fsd["headers"].items():
        for s, src in fh["sources"].items():
            if src["kind"] == "byproduct":
                const[h] += snap.get(f"{s}.fuel_gj_h", src["nominal_gj_h"])
            else:
                m.var(f"take_{s}", 0.0, src.get("max_gj_h", math.inf), cost=src["price_per_gj"])
                supply[h][f"take_{s}"] = 1.0
                if src.get("min_gj_h", 0.0) > 0:
                    m.var(f"short_{s}", cost=src["price_per_gj"])
                    m.ge({f"short_{s}": 1.0, f"take_{s}": 1.0}, src["min_gj_h"])
        if fh.get("flare"):
            m.var(f"flare_{h}", cost=fh.get("flare_cost_per_gj", 0.0) + carbon * g[h]["ef_flare"])
            supply[h][f"flare_{h}"] = -1.0
    for x, fur in fsd["furnaces"].items():
        const[fur["header"]] -= snap.get(f"{x}.fuel_gj_h", fur["draw_gj_h"])
    for u, bu in fsd["burners"].items():
        total = {}
        for h in bu["headers"]:
            m.var(f"d_{h}_{u}", cost=carbon * g[h]["ef"])
            supply[h][f"d_{h}_{u}"] = -1.0
            total[f"d_{h}_{u}"] = 1.0
        m.eq({**total, f"s_{bu['unit']}": -ph.fuel_per_t(bu["unit"])}, 0.0)
        vol = {h: 1.0 / g[h]["lhv"] for h in bu["headers"]}  # Nm3 per MJ: V = D / LHV
        if "max_h2_volume_fraction" in bu:
            m.le({f"d_{h}_{u}": (g[h]["h2"] - bu["max_h2_volume_fraction"]) * vol[h] for h in bu["headers"]})
        if "min_lhv_mj_nm3" in bu:
            m.ge({f"d_{h}_{u}": (g[h]["lhv"] - bu["min_lhv_mj_nm3"]) * vol[h] for h in bu["headers"]})
        if "max_wobbe_mj_nm3" in bu or "min_wobbe_mj_nm3" in bu:
            ds = [g[h]["d"] for h in bu["headers"]]
            a, b = min(ds), max(ds)
            chord = {h: math.sqrt(a) + (g[h]["d"] - a) * (math.sqrt(b) - math.sqrt(a)) / (b - a) for h in bu["headers"]}
            tangent = {h: math.sqrt(b) + (g[h]["d"] - b) / (2 * math.sqrt(b)) for h in bu["headers"]}
            if "max_wobbe_mj_nm3" in bu:
                m.le({f"d_{h}_{u}": (g[h]["hhv"] - bu["max_wobbe_mj_nm3"] * chord[h]) * vol[h] for h in bu["headers"]})
            if "min_wobbe_mj_nm3" in bu:
                m.ge({f"d_{h}_{u}": (g[h]["hhv"] - bu["min_wobbe_mj_nm3"] * tangent[h]) * vol[h] for h in bu["headers"]})
    for h in fsd["headers"]:  # supply - draws - flare = furnace draws - by-product make
        m.eq(supply[h], -const[h])
    return m


def run(data: dict, snaps: list[dict]) -> tuple[Supervisor, list]:
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG))
    return sup, [sup.step(s) for s in snaps]


def check(data: dict, snap: dict, shares: bool = True):
    sup, (p,) = run(data, [snap])
    mine = independent(data, snap).solve_milp()
    assert p.status == "optimal", (p.status, p.warnings)
    assert p.stats["objective"] == pytest.approx(mine.objective, rel=REL)
    assert p.proposed_kpis["cost_per_h"] == pytest.approx(mine.objective, rel=REL)
    expect = {"B1.steam_tph": mine["s_B1"], "B2.steam_tph": mine["s_B2"], "flare_FG_gj_h": mine["flare_FG"],
              "fuel_source_H2_BUY_gj_h": mine["take_H2_BUY"], "fuel_source_NG_BUY_gj_h": mine["take_NG_BUY"]}
    for u, bu in data["fuel_system"]["burners"].items() if shares else ():
        total = sum(mine[f"d_{h}_{u}"] for h in bu["headers"])
        for h in bu["headers"]:
            expect[f"{bu['unit']}.fuel_{h}_share"] = mine[f"d_{h}_{u}"] / total
    got = {k: p.setpoints.get(k, p.proposed_kpis.get(k)) for k in expect}
    bad = {k: (got[k], v) for k, v in expect.items() if got[k] is None or not close(got[k], v)}
    assert not bad, f"differ (supervisor, independent): {bad}"
    return sup, p, mine


def test_optimum_matches_independent_lp_limits_binding():
    sup, p, mine = check(SITE, SNAP)
    # the intended optimum: all the by-product gas burnt (none flared), the hydrogen limits of
    # both burners binding (carbon at 1500/t makes hydrogen at 360/GJ cheaper than natural gas)
    assert mine["flare_FG"] == pytest.approx(0.0, abs=1e-7)
    g = {h: gas(c) for h, c in (("NG", NG), ("FG", OFFGAS), ("HY", H2))}
    for u, cap in (("B1", 0.30), ("B2", 0.10)):
        heads = SITE["fuel_system"]["burners"][u]["headers"]
        vol = {h: mine[f"d_{h}_{u}"] / g[h]["lhv"] for h in heads}
        assert sum(vol[h] * g[h]["h2"] for h in heads) / sum(vol.values()) == pytest.approx(cap, rel=1e-6)
    assert mine["take_H2_BUY"] > 5.0
    # the binding limits say so in plant words, with the fuel headers' marginal values (THB/GJ)
    said = {b["description"]: b["worth_per_unit_per_h"] for b in p.binding}
    assert said["B1 burner: blend at its hydrogen maximum"] > 0 and said["B2 burner: blend at its hydrogen maximum"] > 0
    assert said["NG fuel header: gas balance"] == pytest.approx(300.0, rel=1e-6)  # natural gas: its price


def test_optimum_matches_independent_lp_with_flaring():
    # much more off-gas than the burners' hydrogen limits let them take: the rest is flared
    snap = {**SNAP, "OFFGAS.fuel_gj_h": 500.0}
    sup, p, mine = check(SITE, snap)
    assert mine["flare_FG"] > 50.0
    # take-or-pay: the minimum take is paid whether or not it is burnt (none burnt: no room for it)
    assert mine["take_H2_BUY"] + mine["short_H2_BUY"] == pytest.approx(5.0, rel=1e-9) or mine["take_H2_BUY"] > 5.0


def test_optimum_matches_independent_lp_without_carbon_price():
    data = copy.deepcopy(SITE)
    data["emissions"]["carbon_price_per_t"] = 0.0
    sup, p, mine = check(data, SNAP, shares=False)  # which burner takes the paid-for hydrogen is a tie
    # hydrogen dearer than natural gas: only the take-or-pay minimum is bought (paid in any case)
    assert mine["take_H2_BUY"] == pytest.approx(5.0, rel=1e-6)


# ---------------------------------------------------------------------- properties

def exact_blend(sup: Supervisor, u: str):
    """A burner's blend as the optimiser left it, with its exact (nonlinear) properties."""
    fs = sup.site.fuel_system
    m = sup.model
    draws = {h: m.fh_draw[h, u].value for h in fs.burners[u].headers}
    gases = {h: fs.headers[h].gas() for h in draws}
    vols = {h: max(draws[h], 0.0) / gases[h].lhv_mj_nm3 for h in draws}
    return draws, (blend_properties(vols, gases) if sum(vols.values()) > 1e-9 else None)


def most_header_take(sup: Supervisor, h: str) -> float:
    """With each burner's fuel as the optimiser left it, the most of header ``h``'s gas the
    burners can take within their limits (an independent LP over the draws)."""
    fs, m = sup.site.fuel_system, sup.model
    cols = [(hh, u) for u, bu in fs.burners.items() for hh in bu.headers]
    idx = {c: i for i, c in enumerate(cols)}
    a_eq, b_eq, a_ub = [], [], []
    for u, bu in fs.burners.items():
        row = np.zeros(len(cols))
        for hh in bu.headers:
            row[idx[hh, u]] = 1.0
        a_eq.append(row)
        b_eq.append(sum(m.fh_draw[hh, u].value for hh in bu.headers))
        gases = {hh: fs.headers[hh].gas() for hh in bu.headers}
        # the exact limits on H2 and LHV, and Wobbe as the conservative rows (what the model may do)
        for _, coef, sense in blend_rows(bu, gases):
            row = np.zeros(len(cols))
            for hh, c in coef.items():
                row[idx[hh, u]] = (c if sense == "<=" else -c) / gases[hh].lhv_mj_nm3
            a_ub.append(row)
    c = np.zeros(len(cols))
    for (hh, u), i in idx.items():
        if hh == h:
            c[i] = -1.0
    res = linprog(c, A_ub=np.array(a_ub) if a_ub else None, b_ub=np.zeros(len(a_ub)) if a_ub else None,
                  A_eq=np.array(a_eq), b_eq=b_eq, bounds=[(0, None)] * len(cols), method="highs")
    assert res.status == 0
    return -res.fun


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.generate], database=None)  # no shrinking: each example builds a Supervisor
@given(make=st.floats(0.0, 600.0), h2_price=st.floats(100.0, 1500.0), h2_max=st.floats(0.0, 80.0),
       carbon=st.floats(0.0, 4000.0), b1_h2=st.floats(0.0, 0.6), b2_h2=st.floats(0.0, 0.3),
       wobbe_lo=st.floats(40.0, 50.0), demand=st.floats(40.0, 130.0), furnace=st.floats(0.0, 60.0))
def test_headers_balance_blends_in_limits_flaring_only_when_needed(make, h2_price, h2_max, carbon, b1_h2, b2_h2, wobbe_lo, demand, furnace):
    data = copy.deepcopy(SITE)
    fsd = data["fuel_system"]
    fsd["headers"]["HY"]["sources"]["H2_BUY"].update(price_per_gj=h2_price, max_gj_h=h2_max, min_gj_h=min(5.0, h2_max))
    fsd["burners"]["B1"].update(max_h2_volume_fraction=b1_h2, min_wobbe_mj_nm3=wobbe_lo)
    fsd["burners"]["B2"]["max_h2_volume_fraction"] = b2_h2
    data["emissions"]["carbon_price_per_t"] = carbon
    snap = {**SNAP, "OFFGAS.fuel_gj_h": make, "F1.fuel_gj_h": furnace, "C1.steam_tph": demand}
    sup, (p,) = run(data, [snap])
    # the furnace beyond the off-gas made (no purchase on its header): fuel the site cannot get
    expected = {"optimal"} if furnace <= make else {"infeasible_demand"} if furnace - make > 1e-4 else {"optimal", "infeasible_demand"}
    assert p.status in expected, (p.status, p.warnings)
    m, fs = sup.model, sup.site.fuel_system
    # every fuel header balances (GJ/h)
    for h, fh in fs.headers.items():
        made = sum(snap.get(f"{s}.fuel_gj_h", 0.0) for s, src in fh.sources.items() if src.kind == "byproduct")
        bought = sum(m.fs_take[s].value for s, src in fh.sources.items() if src.kind == "purchase")
        drawn = sum(m.fh_draw[h, u].value for u, bu in fs.burners.items() if h in bu.headers)
        furn = sum(snap[f"{x}.fuel_gj_h"] for x, f in fs.furnaces.items() if f.header == h)
        flared = m.fh_flare[h].value if h in m.FR else 0.0
        # fuel the header cannot get: only the furnace draw beyond a header without purchases
        short = max(0.0, furn - made) if not any(src.kind == "purchase" for src in fh.sources.values()) else 0.0
        assert m.fh_unserved[h].value == pytest.approx(short, rel=1e-7, abs=1e-7)
        assert made + bought + m.fh_unserved[h].value == pytest.approx(drawn + furn + flared, rel=1e-7, abs=1e-6), h
    # every burner's blend within its limits, on the exact (nonlinear) mixture rules
    for u, bu in fs.burners.items():
        draws, blend = exact_blend(sup, u)
        fuel = m.b_fuel[bu.unit].value
        assert sum(draws.values()) == pytest.approx(fuel, rel=1e-7, abs=1e-6)
        if blend is None:
            continue
        assert blend.h2_fraction <= bu.max_h2_volume_fraction + 1e-7
        if bu.min_wobbe_mj_nm3 is not None:
            assert blend.wobbe_mj_nm3 >= bu.min_wobbe_mj_nm3 - 1e-6
        if bu.max_wobbe_mj_nm3 is not None:
            assert blend.wobbe_mj_nm3 <= bu.max_wobbe_mj_nm3 + 1e-6
        if bu.min_lhv_mj_nm3 is not None:
            assert blend.lhv_mj_nm3 >= bu.min_lhv_mj_nm3 - 1e-7
    # flaring only when no burner can take the gas: at the burners' fuel as chosen, they already
    # take the most of the off-gas their limits allow
    flared = m.fh_flare["FG"].value
    taken = sum(m.fh_draw["FG", u].value for u, bu in fs.burners.items() if "FG" in bu.headers)
    event("flared" if flared > 1e-6 else "not flared")
    if flared > 1e-6:
        assert taken == pytest.approx(most_header_take(sup, "FG"), rel=1e-6, abs=1e-5)


# ---------------------------------------------------------------------- bad readings, validation

def test_bad_byproduct_reading_is_held_at_last_good_value_with_a_warning():
    sup, (p1, p2, p3) = run(SITE, [SNAP, {**SNAP, "timestamp": "2026-03-01T03:15:00", "OFFGAS.fuel_gj_h": 200.0},
                                   {**SNAP, "timestamp": "2026-03-01T03:30:00", "OFFGAS.fuel_gj_h": float("nan")}])
    assert p3.status == "substituted"  # solved, on a held reading
    sub = [s for s in p3.substitutions if s["tag"] == "OFFGAS.fuel_gj_h"]
    assert sub and sub[0]["used"] == 200.0, p3.substitutions
    # the held reading is what the balance used: the same optimum as the 200 GJ/h cycle
    assert p3.proposed_kpis["flare_FG_gj_h"] == pytest.approx(p2.proposed_kpis["flare_FG_gj_h"], rel=1e-9, abs=1e-9)
    assert any("OFFGAS.fuel_gj_h" in w for w in p3.warnings), p3.warnings


def test_bad_byproduct_reading_without_history_takes_the_nominal():
    sup, (p,) = run(SITE, [{**SNAP, "OFFGAS.fuel_gj_h": -5.0}])
    assert p.status == "substituted"
    sub = [s for s in p.substitutions if s["tag"] == "OFFGAS.fuel_gj_h"]
    assert sub and sub[0]["used"] == 60.0


def errors(data: dict) -> list[str]:
    with pytest.raises(SiteError) as exc:
        site_from_dict(data)
    return str(exc.value).splitlines()


def mutated(change) -> dict:
    data = copy.deepcopy(SITE)
    change(data["fuel_system"])
    return data


@pytest.mark.parametrize("change, path, words", [
    (lambda f: f["headers"]["FG"]["composition"].update(xe=0.1), "fuel_system.headers.FG.composition.xe", "unknown component"),
    (lambda f: f["headers"]["FG"]["composition"].update(h2=0.5), "fuel_system.headers.FG.composition", "must sum to 1"),
    (lambda f: f["headers"]["FG"].update(flare=False), "fuel_system.headers.FG.flare", "is flared"),
    (lambda f: f["burners"]["B2"]["headers"].append("XX"), "fuel_system.burners.B2.headers[2]", "unknown fuel header"),
    (lambda f: f["burners"]["B2"].update(unit="B9"), "fuel_system.burners.B2.unit", "unknown boiler or gas_turbine"),
    (lambda f: f["burners"]["B2"].update(duct=True), "fuel_system.burners.B2.duct", "no HRSG duct burner"),
    (lambda f: f["burners"]["B2"].update(unit="B1"), "fuel_system.burners.B2.unit", "already has a burner"),
    (lambda f: f["burners"]["B2"].update(headers=["HY"], max_h2_volume_fraction=0.1), "fuel_system.burners.B2", "no blend"),
    (lambda f: f["burners"]["B1"].update(min_wobbe_mj_nm3=60.0, max_wobbe_mj_nm3=62.0), "fuel_system.burners.B1", "no blend"),
    (lambda f: f["headers"]["HY"]["sources"]["H2_BUY"].update(min_gj_h=50.0), "fuel_system.headers.HY.sources.H2_BUY.min_gj_h",
     "must not exceed max_gj_h"),
    (lambda f: f["headers"]["FG"]["sources"]["OFFGAS"].update(price_per_gj=5.0), "fuel_system.headers.FG.sources.OFFGAS.price_per_gj",
     "is for purchases"),
    (lambda f: f["furnaces"].update(B1={"header": "FG", "draw_gj_h": 1.0}), "fuel_system.furnaces.B1", "duplicate id"),
    (lambda f: f["headers"].update(LG={"lhv_mj_nm3": 30.0}), "fuel_system.headers.LG", "missing: relative_density, ef_co2_kg_tj"),
    (lambda f: f["headers"]["FG"].update(lhv_mj_nm3=30.0), "fuel_system.headers.FG", "not both"),
])
def test_bad_fuel_system_is_refused_naming_the_field(change, path, words):
    lines = errors(mutated(change))
    assert any(f": {path} = " in line and words in line for line in lines), lines


def test_wobbe_linearisation_is_conservative_and_exact_at_the_pure_gases():
    ds = [gas(NG)["d"], gas(OFFGAS)["d"], gas(H2)["d"]]
    chord, tangent = sqrt_bounds(ds)
    for d in np.linspace(min(ds), max(ds), 101):
        assert chord(d) <= math.sqrt(d) + 1e-12 <= tangent(d) + 2e-12
    assert chord(min(ds)) == pytest.approx(math.sqrt(min(ds)), rel=1e-12)
    assert chord(max(ds)) == pytest.approx(math.sqrt(max(ds)), rel=1e-12)
    assert tangent(max(ds)) == pytest.approx(math.sqrt(max(ds)), rel=1e-12)
    # both affine (so that a blend's value is the blend of its gases' values): the tangent's slope 1 / (2 sqrt(b))
    a, b = min(ds), max(ds)
    for f in (chord, tangent):
        assert f(0.5 * (a + b)) == pytest.approx(0.5 * (f(a) + f(b)), rel=1e-12)
    assert (tangent(b) - tangent(a)) / (b - a) == pytest.approx(1.0 / (2.0 * math.sqrt(b)), rel=1e-12)


def test_gas_properties_match_published_values():
    # methane LHV 35.8 MJ/Nm3 and hydrogen 10.8 (the values scenarios/scenario.py cites); Wobbe
    # index of methane about 53.4 MJ/Nm3 (HHV, 0 C); natural gas's carbon factor near IPCC's 56.1 t/TJ
    ch4, h2, ng = composition_properties({"ch4": 1.0}), composition_properties(H2), composition_properties(NG)
    assert ch4.lhv_mj_nm3 == pytest.approx(35.8, abs=0.05) and h2.lhv_mj_nm3 == pytest.approx(10.8, abs=0.05)
    assert ch4.wobbe_mj_nm3 == pytest.approx(53.4, abs=0.1)
    assert ng.co2_t_gj * 1e3 == pytest.approx(56.1, abs=0.2)
    assert h2.co2_t_gj == 0.0
