"""Scenario files (scenarios/scenario.py) and the bundled studies (scenarios/studies/)."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from optimizer.emissions import fuel_factor
from optimizer.site import load_site
from optimizer.site.model import Site
from optimizer.site.schema import DataFileError
from scenarios.plant.profiles import generate_disturbances
from scenarios.scenario import (
    SCENARIOS_DIR,
    STUDIES_DIR,
    Changes,
    HydrogenCofiring,
    Scenario,
    apply_changes,
    apply_events,
    build_site,
    bundled_scenarios,
    hydrogen_energy_share,
    load_scenario,
    parse_set,
    profile_config,
    read_site_data,
    scenario_disturbances,
    scenario_from_dict,
    scenario_reference_markdown,
    with_overrides,
)

SITE_FILE = SCENARIOS_DIR / "sites" / "reference_olefins.toml"
MODELS_DIR = SCENARIOS_DIR / "models" / "reference_olefins"
BUNDLED = {
    "base_week", "hot_season", "boiler_outage", "gt_filter_e12", "column_steam_reduction",
    "hydrogen_10", "hydrogen_30", "grid_factor_2025", "carbon_price_sweep", "n1_cover", "reality_gap", "lookahead_week",
    "column_optimisation", "hydrogen_allocation", "offgas_flaring",
    "refinery_cogen_base_week",
}
#: bundled studies of the second site (docs/second_site.md), by site name; the others run on the reference site
SECOND_SITE = {"refinery_cogen_base_week": "refinery_cogen"}


@pytest.fixture(scope="module")
def base_site() -> Site:
    return load_site(SITE_FILE)


@pytest.fixture(scope="module")
def base_week() -> Scenario:
    return load_scenario(STUDIES_DIR / "base_week.toml")


def _study(name: str) -> Scenario:
    return load_scenario(STUDIES_DIR / f"{name}.toml")


# --------------------------------------------------------------------------- bundled studies


def test_the_bundled_studies_are_all_there() -> None:
    assert {p.stem for p in bundled_scenarios()} == BUNDLED


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.stem)
def test_bundled_scenario_loads_and_builds_a_valid_site(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert len(scenario.description) > 40
    site_name = SECOND_SITE.get(path.stem, "reference_olefins")
    site_file = SCENARIOS_DIR / "sites" / f"{site_name}.toml"
    assert scenario.site_path == site_file.resolve()
    assert scenario.models_path == (SCENARIOS_DIR / "models" / site_name).resolve() and (scenario.models_path / "manifest.toml").is_file()
    site = build_site(scenario)
    assert isinstance(site, Site) and site.name == site_name
    assert str(site_file.name) in site.source and path.name in site.source
    config = profile_config(scenario, site)
    assert config.n_steps == int(scenario.hours * 60 / scenario.step_min)
    assert "#" in path.read_text()  # every bundled file explains itself in comments


def test_base_week_is_a_week_from_a_monday(base_week: Scenario) -> None:
    start = pd.Timestamp(base_week.start)
    assert start.weekday() == 0 and start.hour == 0
    assert (base_week.hours, base_week.step_min, base_week.noise) == (168.0, 15.0, 0.005)
    assert base_week.policies == ["practice", "good_practice", "steamopt", "oracle"]
    assert base_week.changes == Changes() and base_week.events == []


def test_all_studies_share_the_base_week_profile_except_hot_season(base_week: Scenario) -> None:
    for path in bundled_scenarios():
        s = load_scenario(path)
        assert (s.start, s.hours, s.step_min, s.seed, s.noise) == (base_week.start, 168.0, 15.0, base_week.seed, 0.005), s.name
        if s.name not in ("hot_season", "reality_gap"):
            assert s.profile == base_week.profile, s.name
    hot = _study("hot_season").profile
    assert (hot.ambient_min_c, hot.ambient_max_c) == (28.0, 38.0)
    assert _study("reality_gap").profile == hot  # the reality gap's week is the hot-season week


def test_profile_config_from_the_scenario(base_week: Scenario, base_site: Site) -> None:
    config = profile_config(base_week)  # reads the gas-turbine ids from the site file
    assert config == profile_config(base_week, base_site)
    assert config.start == pd.Timestamp("2026-03-02 00:00") and config.step_min == 15.0 and config.seed == 0
    assert config.gt_fouling_start_hours == {"GT1": 500.0, "GT2": 500.0}
    assert (config.ambient_min_c, config.ambient_max_c, config.tle_variation, config.decoking) == (24.0, 35.0, True, False)
    assert config.outages == []


# --------------------------------------------------------------------------- hydrogen mapping


@pytest.mark.parametrize("volume_fraction, co2_cut_percent", [(0.10, 3.2), (0.20, 7.0), (0.30, 11.4), (0.50, 23.0)])
def test_hydrogen_mapping_reproduces_the_published_co2_cuts(volume_fraction: float, co2_cut_percent: float) -> None:
    # IEA/NEA 2020; TNO/Ricardo-AEA 2012 (design notes): CO2 cut = hydrogen's energy share
    assert 100.0 * hydrogen_energy_share(volume_fraction) == pytest.approx(co2_cut_percent, abs=0.3)


def test_hydrogen_energy_share_limits() -> None:
    assert hydrogen_energy_share(0.0) == 0.0 and hydrogen_energy_share(1.0) == 1.0
    with pytest.raises(ValueError, match="volume_fraction"):
        hydrogen_energy_share(1.5)


# --------------------------------------------------------------------------- changes on the site


def test_gt_filter_e12_on_every_gas_turbine(base_site: Site) -> None:
    site = build_site(_study("gt_filter_e12"))
    assert {g.filter_class for g in base_site.gas_turbines.values()} == {"E10"}
    assert {g.filter_class for g in site.gas_turbines.values()} == {"E12"}
    for gid, g in site.gas_turbines.items():
        assert g.fouling_rates()[0] < base_site.gas_turbines[gid].fouling_rates()[0]


def test_column_steam_reduction_lowers_demand_and_band_by_ten_percent(base_site: Site) -> None:
    site = build_site(_study("column_steam_reduction"))
    before, after = base_site.consumers["MP_C3_SPLITTER"], site.consumers["MP_C3_SPLITTER"]
    assert after.demand_tph == pytest.approx(0.9 * before.demand_tph)
    assert after.min_tph == pytest.approx(0.9 * before.min_tph)
    assert after.max_tph == pytest.approx(0.9 * before.max_tph)
    # a steered column (issue 17): no off-spec draw; its column data (purity spec, reflux) unchanged
    assert after.offspec_below_tph is None and before.offspec_below_tph is None
    assert after.column == before.column is not None
    for cid, c in base_site.consumers.items():
        if cid != "MP_C3_SPLITTER":
            assert site.consumers[cid] == c


@pytest.mark.parametrize("name, volume_fraction", [("hydrogen_10", 0.10), ("hydrogen_30", 0.30)])
def test_hydrogen_blend_fuel_in_boilers(base_site: Site, name: str, volume_fraction: float) -> None:
    site = build_site(_study(name))
    share = hydrogen_energy_share(volume_fraction)
    ng = base_site.fuels["natural_gas"]
    for b in ("B1", "B2"):
        assert site.boilers[b].fuels == [f"h2_blend_{b}"]
        blend = site.fuels[f"h2_blend_{b}"]
        assert blend.ef_co2_kg_tj == pytest.approx(ng.ef_co2_kg_tj * (1 - share))
        assert blend.ef_ch4_kg_tj == pytest.approx(ng.ef_ch4_kg_tj * (1 - share))
        assert fuel_factor(blend).total_t_gj == pytest.approx(fuel_factor(ng).total_t_gj * (1 - share))
        assert blend.price_per_gj == pytest.approx((1 - share) * ng.price_per_gj + share * 1000.0)
        assert ng.lhv_mj_kg < blend.lhv_mj_kg < 120.0
    for b in ("B3", "B4"):
        assert site.boilers[b] == base_site.boilers[b]
    assert site.fuels["natural_gas"] == ng


def test_hydrogen_in_a_gas_turbine_means_its_duct_burner(base_week: Scenario, base_site: Site) -> None:
    s = with_overrides(base_week, {"changes.hydrogen": [{"unit": "GT1", "volume_fraction": 0.2, "h2_price_per_gj": 800.0}]})
    site = build_site(s)
    assert site.gas_turbines["GT1"].hrsg.duct_fuel == "h2_blend_GT1"
    assert site.gas_turbines["GT1"].fuel == "natural_gas"
    assert site.gas_turbines["GT2"] == base_site.gas_turbines["GT2"]
    blend = site.fuels["h2_blend_GT1"]
    assert blend.ef_co2_kg_tj == pytest.approx(56100.0 * (1 - 0.0701), abs=10.0)


def test_carbon_price_grid_factor_and_gwp_set(base_site: Site) -> None:
    assert base_site.emissions.carbon_price_per_t == 0.0 and base_site.electricity.grid_ef_t_mwh == 0.4750
    assert build_site(_study("grid_factor_2025")).electricity.grid_ef_t_mwh == 0.4999
    sweep = _study("carbon_price_sweep")
    assert build_site(sweep).emissions.carbon_price_per_t == 0.0
    site = build_site(with_overrides(sweep, {"carbon_price": 1000, "gwp_set": "AR6"}))
    assert site.emissions.carbon_price_per_t == 1000.0 and site.emissions.gwp_set == "AR6"


def test_price_scales(base_week: Scenario, base_site: Site) -> None:
    site = build_site(with_overrides(base_week, {"fuel_price_scale": 1.5, "import_price_scale": 0.8}))
    for fid, f in base_site.fuels.items():
        assert site.fuels[fid].price_per_gj == pytest.approx(1.5 * f.price_per_gj)
    e0, e1 = base_site.electricity, site.electricity
    assert e1.default_price_per_mwh == pytest.approx(0.8 * e0.default_price_per_mwh)
    assert e1.ft_per_mwh == pytest.approx(0.8 * e0.ft_per_mwh)
    assert [p.price_per_mwh for p in e1.tariff] == pytest.approx([0.8 * p.price_per_mwh for p in e0.tariff])
    assert e1.import_price_per_mwh(0, 10) == pytest.approx(0.8 * e0.import_price_per_mwh(0, 10))
    assert e1.export_price_per_mwh == e0.export_price_per_mwh


def test_apply_changes_copies_and_names_unknown_ids() -> None:
    data = tomllib.loads(SITE_FILE.read_text())
    before = copy.deepcopy(data)
    changed = apply_changes(data, Changes(carbon_price_per_t=5.0, hydrogen=[HydrogenCofiring(unit="B1", volume_fraction=0.1)]))
    assert data == before and changed["emissions"]["carbon_price_per_t"] == 5.0
    bad = [
        (Changes(hydrogen=[HydrogenCofiring(unit="B9", volume_fraction=0.1)]), "changes.hydrogen[0].unit = 'B9': unknown boiler or gas turbine"),
        (Changes(column_steam_reduction=0.1, column_consumers=["NOPE"]), "changes.column_consumers[0] = 'NOPE': unknown consumer"),
        (Changes(gt_filter_class="F9"), "changes.gt_filter_class = 'F9': is not a fouling class of gas turbine GT1, GT2"),
    ]
    for changes, message in bad:
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            apply_changes(data, changes)


# --------------------------------------------------------------------------- events


def test_outage_event_in_its_window(base_site: Site) -> None:
    s = _study("boiler_outage")
    config = profile_config(s, base_site)
    assert [(o.unit_id, str(o.start), str(o.end)) for o in config.outages] == [("B2", "2026-03-04 00:00:00", "2026-03-06 00:00:00")]
    items = scenario_disturbances(s, build_site(s))
    out = [d.timestamp for d in items if "B2" in d.unavailable]
    assert len(out) == 48 * 4 and out[0] == pd.Timestamp("2026-03-04 00:00") and out[-1] == pd.Timestamp("2026-03-05 23:45")


def test_demand_step_event_in_its_window(base_week: Scenario, base_site: Site) -> None:
    step = {"kind": "demand_step", "unit": "LP_TRACING", "start": "2026-03-02 06:00", "end": "2026-03-02 09:00", "factor": 1.5}
    s = with_overrides(base_week, {"hours": 24, "events": [step]})
    plain = generate_disturbances(base_site, profile_config(s, base_site))
    stepped = apply_events(plain, s, base_site)
    assert stepped == scenario_disturbances(s, base_site)
    window = (pd.Timestamp("2026-03-02 06:00"), pd.Timestamp("2026-03-02 09:00"))
    n_in = 0
    for a, b in zip(plain, stepped):
        if window[0] <= a.timestamp < window[1]:
            n_in += 1
            assert b.consumer_demand_tph["LP_TRACING"] == pytest.approx(1.5 * a.consumer_demand_tph["LP_TRACING"])
        else:
            assert b == a
        assert {k: v for k, v in b.consumer_demand_tph.items() if k != "LP_TRACING"} == \
            {k: v for k, v in a.consumer_demand_tph.items() if k != "LP_TRACING"}
    assert n_in == 12
    # without a demand in the disturbance, the site's nominal demand is stepped
    from scenarios.plant.inputs import Disturbances

    (d,) = apply_events([Disturbances(timestamp=pd.Timestamp("2026-03-02 07:00"))], s, base_site)
    assert d.consumer_demand_tph == {"LP_TRACING": 1.5 * base_site.consumers["LP_TRACING"].demand_tph}


# --------------------------------------------------------------------------- bad files


def _write(tmp_path: Path, body: str, *, site: str | None = None, models: str | None = None) -> Path:
    site = site if site is not None else str(SITE_FILE)  # absolute, but inside the project's scenarios/ folder
    models = models if models is not None else str(MODELS_DIR)
    text = f'name = "t"\nsite = {site!r}\nmodels = {models!r}\nhours = 24.0\n' + body
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "body, site, expected",
    [
        ("colour = 1\n", None, ["colour = 1", "unknown key"]),
        ('seed = "one"\n', None, ["seed = 'one'", "must be an integer"]),
        ("[profile]\nambient_max_c = 80.0\n", None, ["profile.ambient_max_c = 80.0", "must be <= 60"]),
        ('start = "2026-02-30 00:00"\n', None, ["start = '2026-02-30 00:00'", "must be a date and time"]),
        ("[changes]\nhydrogen = [{unit = \"B9\", volume_fraction = 0.1}]\n", None,
         ["changes.hydrogen[0].unit = 'B9'", "unknown boiler or gas turbine"]),
        ('[changes]\ngt_filter_class = "E13"\n', None, ["changes.gt_filter_class = 'E13'", "not a fouling class"]),
        ('[[events]]\nkind = "outage"\nunit = "B9"\nstart = "2026-03-02 06:00"\nend = "2026-03-02 09:00"\n', None,
         ["events[0].unit = 'B9'", "unknown unit for an outage"]),
        ('[[events]]\nkind = "demand_step"\nunit = "B1"\nstart = "2026-03-02 06:00"\nend = "2026-03-02 09:00"\nfactor = 1.2\n', None,
         ["events[0].unit = 'B1'", "unknown consumer for a demand step"]),
        ('[[events]]\nkind = "outage"\nunit = "B1"\nstart = "2026-03-02 09:00"\nend = "2026-03-02 06:00"\n', None,
         ["events[0].end = '2026-03-02 06:00'", "must be after start"]),
        ('[[events]]\nkind = "outage"\nunit = "B1"\nstart = "yesterday"\nend = "2026-03-02 06:00"\n', None,
         ["events[0].start = 'yesterday'", "must be a date and time"]),
        ("", "../outside.toml", ["site = '../outside.toml'", "must stay inside the scenario's folder"]),
        ("", "/etc/hosts", ["site = '/etc/hosts'", "must stay inside the scenario's folder"]),
        ("", "missing.toml", ["site = 'missing.toml'", "no such file"]),
    ],
)
def test_bad_scenario_file_gives_one_line_naming_path_value_rule(tmp_path: Path, body: str, site: str | None, expected: list[str]) -> None:
    path = _write(tmp_path, body, site=site)
    with pytest.raises(DataFileError) as info:
        load_scenario(path)
    text = str(info.value)
    assert len(text.splitlines()) == 1, text
    assert text.startswith(f"{path}: "), text
    for part in expected:
        assert part in text, text


def test_wrong_type_and_negative_hours(tmp_path: Path) -> None:
    for value, rule in (('"a week"', "hours = 'a week': must be a number (in h)"), ("-5", "hours = -5.0: must be > 0 h")):
        path = tmp_path / "h.toml"
        path.write_text(f'name = "t"\nsite = "{SITE_FILE}"\nmodels = "{MODELS_DIR}"\nhours = {value}\n')
        with pytest.raises(DataFileError) as info:
            load_scenario(path)
        assert str(info.value) == f"{path}: {rule}" + (" (allowed (0, 8784])" if value == "-5" else "")


def test_models_path_escaping_and_missing_required(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('name = "t"\nsite = "../../etc/passwd"\nmodels = "/tmp"\n')
    with pytest.raises(DataFileError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert any("hours = (missing): required" in line for line in lines)
    assert any(line.startswith(f"{path}: site = '../../etc/passwd': must stay inside") for line in lines)
    assert any(line.startswith(f"{path}: models = '/tmp': must stay inside") for line in lines)


def test_not_toml_and_too_big(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("name = \n")
    with pytest.raises(DataFileError, match="is not valid TOML"):
        load_scenario(path)
    path.write_text("# " + "x" * 300_000 + "\n")
    with pytest.raises(DataFileError, match="must be at most 200000 bytes"):
        load_scenario(path)


def test_paths_inside_the_scenario_folder_tree_and_toml_datetimes(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "s.toml").write_text(SITE_FILE.read_text())
    (tmp_path / "models").mkdir()
    path = tmp_path / "study.toml"
    path.write_text('name = "t"\nsite = "site/s.toml"\nmodels = "models"\nhours = 2.0\nstart = 2026-03-02T06:00:00\n')
    s = load_scenario(path)
    assert s.site_path == (tmp_path / "site" / "s.toml").resolve() and s.models_path == (tmp_path / "models").resolve()
    assert pd.Timestamp(s.start) == pd.Timestamp("2026-03-02 06:00")
    assert build_site(s).name == "reference_olefins"
    assert read_site_data(s)["name"] == "reference_olefins"


def test_scenario_from_dict_resolves_from_the_studies_folder() -> None:
    s = scenario_from_dict({"name": "d", "site": "../sites/reference_olefins.toml", "models": "../models/reference_olefins", "hours": 1})
    assert s.site_path == SITE_FILE.resolve() and s.hours == 1.0


# --------------------------------------------------------------------------- overrides


def test_with_overrides_sets_dotted_fields_and_aliases(base_week: Scenario) -> None:
    s = with_overrides(base_week, {"changes.carbon_price_per_t": 500, "hours": 24, "profile.ambient_max_c": 37.0,
                                   "gwp_set": "AR6", "policies": ["steamopt"]})
    assert (s.changes.carbon_price_per_t, s.hours, s.profile.ambient_max_c, s.changes.gwp_set, s.policies) == (500.0, 24.0, 37.0, "AR6", ["steamopt"])
    assert s.site_path == base_week.site_path and s.name == base_week.name
    assert base_week.hours == 168.0 and base_week.changes.carbon_price_per_t is None  # the original is unchanged
    assert with_overrides(base_week, {"carbon_price": 500}).changes.carbon_price_per_t == 500.0
    assert with_overrides(s, {"changes.carbon_price_per_t": None}).changes.carbon_price_per_t is None
    h = with_overrides(_study("hydrogen_10"), {"changes.hydrogen[1].volume_fraction": 0.2})
    assert [x.volume_fraction for x in h.changes.hydrogen] == [0.1, 0.2]
    assert with_overrides(base_week, {}) == base_week


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"changes.carbon_prce": 5}, ["changes.carbon_prce = 5", "unknown key", "did you mean 'carbon_price_per_t'"]),
        ({"hourz": 5}, ["hourz = 5", "unknown key", "did you mean 'hours'"]),
        ({"hours": -1}, ["hours = -1.0", "must be > 0 h"]),
        ({"carbon_price": "lots"}, ["changes.carbon_price_per_t = 'lots'", "must be a number"]),
        ({"hours.x": 1}, ["hours.x = 1", "hours is not a table"]),
        ({"events[0].factor": 2.0}, ["events[0].factor = 2.0", "index out of range"]),
        ({"changes.hydrogen": [{"unit": "B9", "volume_fraction": 0.1}]}, ["changes.hydrogen[0].unit = 'B9'", "unknown boiler"]),
        ({"site": "/etc/hosts"}, ["site = '/etc/hosts'", "must stay inside"]),
        ({"bad key!": 1}, ["bad key! = 1", "is not a dotted field name"]),
    ],
)
def test_with_overrides_rejects_bad_keys_and_values(base_week: Scenario, overrides: dict, expected: list[str]) -> None:
    with pytest.raises(DataFileError) as info:
        with_overrides(base_week, overrides)
    text = str(info.value)
    assert len(text.splitlines()) == 1 and "base_week.toml (overrides:" in text, text
    for part in expected:
        assert part in text, text


def test_parse_set() -> None:
    assert parse_set("carbon_price=0,500,1000,2000") == ("carbon_price", [0, 500, 1000, 2000])
    assert parse_set("filter_class=E10,E12") == ("filter_class", ["E10", "E12"])
    assert parse_set("profile.decoking=true") == ("profile.decoking", [True])
    assert parse_set('policies=["steamopt", "oracle"]') == ("policies", [["steamopt", "oracle"]])
    assert parse_set("start=2026-03-09 00:00") == ("start", ["2026-03-09 00:00"])
    for bad in ("carbon_price", "=5", "carbon_price=", "carbon_price=1,,2"):
        with pytest.raises(ValueError, match="--set"):
            parse_set(bad)
    key, values = parse_set("carbon_price=0,500")
    base = _study("carbon_price_sweep")
    assert [build_site(with_overrides(base, {key: v})).emissions.carbon_price_per_t for v in values] == [0.0, 500.0]


def test_scenario_reference_lists_every_field() -> None:
    text = scenario_reference_markdown()
    for name in ("`hours`", "`gt_fouling_start_hours`", "`factor`", "`column_steam_reduction`", "`h2_price_per_gj`"):
        assert name in text
    assert "site_path" not in text and "base_dir" not in text
