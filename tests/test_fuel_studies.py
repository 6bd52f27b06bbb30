"""The fuel-system studies (issue 20), shortened: hydrogen the optimiser allocates, by-product gas
it burns or flares, and the base week unchanged when no hydrogen is offered."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from optimizer.fuel_gas import composition_properties
from optimizer.site.schema import DataFileError, read_toml_file
from scenarios.fuel_changes import BASE_LHV_MJ_NM3, H2_GJ_H_PER_T_DAY, ByproductGas, FuelBurner, HydrogenSupply
from scenarios.scenario import Changes, apply_changes, load_scenario
from scenarios.study import run_study
from scenarios.study_files import spec_from_scenario_file

STUDIES = Path(__file__).resolve().parents[1] / "scenarios" / "studies"
HOURS = 6.0


@lru_cache(maxsize=None)
def study(name: str, policies: tuple[str, ...], **overrides):
    spec = spec_from_scenario_file(STUDIES / f"{name}.toml", dict(overrides) or None, hours=HOURS, policies=list(policies))
    result = run_study(spec)
    assert not result.failures, result.failures
    return result


def test_base_week_unchanged_when_no_hydrogen_is_offered():
    """The fuel system with its hydrogen supply at 0 t/day is the base week: the same cost and CO2e
    at every step (the same prices and emission factors, now through fuel headers)."""
    base = study("base_week", ("steamopt",)).steps.set_index("timestamp")
    none = study("hydrogen_allocation", ("steamopt",), **{"changes.hydrogen_supply.t_per_day": 0.0}).steps.set_index("timestamp")
    assert (none["site.fuel_header_hydrogen_gj_h"] == 0.0).all()
    for col in ("site.cost_per_h", "site.co2e_t_h", "site.fuel_gj_h", "B1.steam_tph", "GT1.power_mw"):
        assert none[col].to_numpy() == pytest.approx(base[col].to_numpy(), rel=1e-6, abs=1e-6), col


def test_hydrogen_allocation_burns_the_supply_within_limits_and_cuts_co2e():
    base = study("base_week", ("steamopt",)).summary.loc["steamopt"]
    r = study("hydrogen_allocation", ("steamopt",))
    s, steps = r.summary.loc["steamopt"], r.steps
    supply_gj = 5.0 * H2_GJ_H_PER_T_DAY * HOURS
    burnt = sum(s[c] for c in s.index if c.startswith("hydrogen_"))
    assert burnt == pytest.approx(s["fuel_header_hydrogen_gj"], rel=1e-9)
    assert burnt == pytest.approx(supply_gj, rel=0.02)  # take-or-pay: all of it burnt (the plant's true fuel differs a little)
    h2 = composition_properties({"h2": 1.0}).lhv_mj_nm3
    for unit, cap in (("B1", 0.3), ("B2", 0.3), ("B4", 0.3), ("GT1", 0.1), ("GT2", 0.1), ("GT1.duct", 0.3), ("GT2.duct", 0.3)):
        u, duct = unit.split(".")[0], "duct_" if ".duct" in unit else ""
        v_h2 = steps[f"{u}.{duct}fuel_hydrogen_gj_h"] / h2
        v_ng = steps[f"{u}.{duct}fuel_natural_gas_header_gj_h"] / BASE_LHV_MJ_NM3
        frac = (v_h2 / (v_h2 + v_ng)).fillna(0.0)
        assert (frac <= cap * 1.02).all(), (unit, frac.max())  # the proposal's share on the plant's true fuel
    # CO2e cut: the hydrogen's energy no longer from natural gas (56,100 kg CO2/TJ + CH4, N2O), within the closed loop's path
    cut = base["co2e_scope1_t"] - s["co2e_scope1_t"]
    expected = burnt * (56100.0 + 28 * 1.0 + 265 * 0.1) * 1e-6
    assert cut == pytest.approx(expected, rel=0.15)
    extra = s["cost"] - base["cost"]
    assert extra / cut == pytest.approx((1000.0 - 279.6) / ((56100.0 + 28 + 26.5) * 1e-6), rel=0.2)  # cost per t CO2e


def test_offgas_is_flared_by_the_fixed_allocation_and_burnt_by_the_optimiser():
    r = study("offgas_flaring", ("practice", "steamopt"))
    s = r.summary
    made = 250.0 * HOURS
    for p in ("practice", "steamopt"):
        assert s.loc[p, "fuel_header_offgas_gj"] + s.loc[p, "flared_offgas_gj"] == pytest.approx(made, rel=1e-9)
    assert s.loc["practice", "flared_offgas_gj"] > 0.2 * made      # B3 alone cannot take it
    assert s.loc["steamopt", "flared_offgas_gj"] < 0.01 * made     # the other burners take it
    assert s.loc["steamopt", "co2e_t"] < s.loc["practice", "co2e_t"]


def site_data() -> dict:
    return read_toml_file(load_scenario(STUDIES / "base_week.toml").site_path, 2_000_000)


@pytest.mark.parametrize("changes, path, words", [
    (Changes(hydrogen_supply=HydrogenSupply(t_per_day=1.0, burners=[FuelBurner(unit="B9", max_h2_volume_fraction=0.3)])),
     "changes.hydrogen_supply.burners[0].unit", "unknown boiler or gas turbine"),
    (Changes(hydrogen_supply=HydrogenSupply(t_per_day=1.0, burners=[FuelBurner(unit="B1", duct=True, max_h2_volume_fraction=0.3)])),
     "changes.hydrogen_supply.burners[0].unit", "no fuel to blend into"),
    (Changes(byproduct_gas=ByproductGas(make_gj_h=10.0, burners=[FuelBurner(unit="B1", max_h2_volume_fraction=0.3),
                                                                 FuelBurner(unit="B1", max_h2_volume_fraction=0.2)])),
     "changes.byproduct_gas.burners[1].unit", "listed twice"),
])
def test_bad_fuel_changes_are_refused_naming_the_field(changes, path, words):
    with pytest.raises(DataFileError) as exc:
        apply_changes(site_data(), changes)
    assert any(f": {path} = " in line and words in line for line in str(exc.value).splitlines()), str(exc.value)


def test_a_limited_fuel_cannot_move_to_the_fuel_system():
    data = site_data()
    data["boilers"]["B1"]["fuels"] = ["fuel_gas"]  # a fuel with max_gj_h: its limit would not be shared
    with pytest.raises(DataFileError) as exc:
        apply_changes(data, Changes(hydrogen_supply=HydrogenSupply(t_per_day=1.0, burners=[FuelBurner(unit="B1", max_h2_volume_fraction=0.3)])))
    assert "availability limit" in str(exc.value)


def test_hydrogen_header_carries_the_supply_as_take_or_pay():
    data = apply_changes(site_data(), Changes(hydrogen_supply=HydrogenSupply(t_per_day=4.0, burners=[FuelBurner(unit="B1", max_h2_volume_fraction=0.3)])))
    src = data["fuel_system"]["headers"]["hydrogen"]["sources"]["H2_SUPPLY"]
    assert src["max_gj_h"] == src["min_gj_h"] == pytest.approx(20.0)  # 4 t/day x 120 GJ/t / 24 h
    assert data["fuel_system"]["burners"]["B1"]["headers"] == ["natural_gas_header", "hydrogen"]


def test_a_hydrogen_sweep_reports_the_marginal_abatement_cost_of_hydrogen(tmp_path):
    """`steamopt sweep hydrogen_allocation.toml --set hydrogen_t_per_day=0,5,10` (2 h): the report's
    MAC is (cost_b - cost_a) / (CO2e_a - CO2e_b) of its own table, and, hydrogen displacing natural
    gas one GJ for one GJ, close to (hydrogen price - gas price) / gas CO2e factor, written out here
    from the site file's numbers (AR5: CH4 28, N2O 265)."""
    import pandas as pd

    from scenarios.cli import main
    from scenarios.sweep_report import marginal_abatement_costs

    out = tmp_path / "sweep"
    assert main(["sweep", str(STUDIES / "hydrogen_allocation.toml"), "--set", "hydrogen_t_per_day=0,5,10", "--hours", "2",
                 "--workers", "1", "--quiet", "--out", str(out)]) == 0
    table = pd.read_csv(out / "sweep.csv")
    site = read_toml_file(STUDIES.parent / "sites" / "reference_olefins.toml", 10_000_000, "site")
    ng = site["fuels"]["natural_gas"]
    co2e_t_gj = (ng["ef_co2_kg_tj"] + 28.0 * ng["ef_ch4_kg_tj"] + 265.0 * ng["ef_n2o_kg_tj"]) * 1e-6
    expected = (1000.0 - ng["price_per_gj"]) / co2e_t_gj  # THB per t CO2e
    mac = marginal_abatement_costs(table.assign(parameter_value=table["hydrogen_t_per_day"])).set_index(["policy", "from_value"])
    report = (out / "sweep.md").read_text()
    for policy in ("steamopt", "oracle"):
        rows = table[table["policy"] == policy].set_index("hydrogen_t_per_day")
        for a, b in ((0.0, 5.0), (5.0, 10.0)):
            by_hand = (rows.loc[b, "cost"] - rows.loc[a, "cost"]) / (rows.loc[a, "co2e_t"] - rows.loc[b, "co2e_t"])
            got = mac.loc[(policy, a), "mac"]
            assert got == pytest.approx(by_hand, rel=1e-9)
            assert got == pytest.approx(expected, rel=1e-3), (policy, a, got, expected)
            assert f"| {policy} | {a:g} | {b:g} |" in report and f"{got:,.1f} |" in report
    assert (out / "mac.png").stat().st_size > 10_000


def test_the_hydrogen_study_reports_its_co2e_cut_and_cost_per_tonne(tmp_path):
    """`steamopt study hydrogen_allocation.toml` runs the study again without the supply and reports
    per allocating policy the hydrogen burnt, the CO2e cut and the cost per t CO2e; checked against
    an independent run at 0 t/day and the take-or-pay supply's own energy."""
    import pandas as pd

    from scenarios.cli import main

    out = tmp_path / "h2"
    assert main(["study", str(STUDIES / "hydrogen_allocation.toml"), "--hours", "2", "--policies", "steamopt", "--out", str(out)]) == 0
    got = pd.read_csv(out / "hydrogen_value.csv", index_col="policy").loc["steamopt"]
    with_h2 = pd.read_csv(out / "summary.csv", index_col=0).loc["steamopt"]
    without = run_study(spec_from_scenario_file(STUDIES / "hydrogen_allocation.toml", {"changes.hydrogen_supply.t_per_day": 0.0},
                                                hours=2.0, policies=["steamopt"])).summary.loc["steamopt"]
    supply = load_scenario(STUDIES / "hydrogen_allocation.toml").changes.hydrogen_supply
    assert got["hydrogen_gj"] == pytest.approx(supply.t_per_day * H2_GJ_H_PER_T_DAY * 2.0, rel=1e-6)  # take-or-pay: all of it
    assert got["co2e_cut_t"] == pytest.approx(without["co2e_t"] - with_h2["co2e_t"], rel=1e-9) and got["co2e_cut_t"] > 0.0
    extra = (with_h2["cost"] - with_h2["carbon_cost"]) - (without["cost"] - without["carbon_cost"])
    assert got["extra_cost"] == pytest.approx(extra, rel=1e-9)
    assert got["cost_per_t_co2e"] == pytest.approx(extra / got["co2e_cut_t"], rel=1e-12)
    report = (out / "report.md").read_text()
    assert "## Hydrogen: the CO2e cut and its cost" in report and f"| {got['cost_per_t_co2e']:,.0f} |" in report
