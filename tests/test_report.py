"""Scenario-study report: plots and Markdown from synthetic steps/summary tables."""

import math
import struct

import numpy as np
import pandas as pd
import pytest

from scenarios.report import ReportUnits, findings, marginal_abatement_costs, write_report, write_sweep_report

STEP_H = 0.25
N = 2 * 24 * 4  # 2 days at 15 min
UNITS = ReportUnits(boilers=["B1", "B2"], gas_turbines=["GT1"], byproduct_sources=["TLE"], vents=["V_MP", "V_LP"])
PLOTS = ["steam_generation.png", "co2e_cost.png", "cumulative_savings.png", "vents.png", "solve_time.png"]
# cost and CO2e of each policy relative to practice, at every step
COST_FACTOR = {"practice": 1.0, "steamopt": 0.97, "oracle": 0.96}
CO2E_FACTOR = {"practice": 1.0, "steamopt": 0.98, "oracle": 0.975}


def make_steps(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-03-01", periods=N, freq="15min")
    day = np.sin(2 * np.pi * np.arange(N) / 96)
    base_cost = 250_000 + 20_000 * day + 2_000 * rng.standard_normal(N)
    base_co2e = 95 + 6 * day
    frames = []
    for p in COST_FACTOR:
        opt = p != "practice"
        tle = 250 + 10 * day
        gt = np.full(N, 80.0 if p == "practice" else 95.0)
        b_total = 420 + 30 * day - (gt - 80)
        frame = pd.DataFrame({
            "policy": p,
            "timestamp": ts,
            "status": np.where(np.arange(N) % 50 == 7, "fallback_local", "optimal") if opt else "practice",
            "step_ms": np.exp(rng.normal(np.log(12.0 if p == "steamopt" else 20.0), 0.3, N)) if opt else np.nan,
            "site.cost_per_h": base_cost * COST_FACTOR[p],
            "site.co2e_t_h": base_co2e * CO2E_FACTOR[p],
            "site.steam_generated_tph": b_total + gt,
            "site.vent_tph": np.nan,
            "ambient_temp_c": 29 + 5 * day,
            "B1.steam_tph": 0.55 * b_total,
            "B2.steam_tph": 0.45 * b_total,
            "GT1.hrsg_steam_tph": gt,
            "TLE.steam_tph": tle,
            "V_MP.steam_tph": np.clip(4 + 3 * day, 0, None) * (1.0 if p == "practice" else 0.2),
            "V_LP.steam_tph": np.clip(6 - 4 * day, 0, None) * (1.0 if p == "practice" else 0.1),
        })
        frame["site.vent_tph"] = frame["V_MP.steam_tph"] + frame["V_LP.steam_tph"]
        frames.append(frame)
    steps = pd.concat(frames, ignore_index=True)
    realised = (steps[steps.policy == "practice"]["site.cost_per_h"].to_numpy()
                - steps["site.cost_per_h"].to_numpy().reshape(3, N))
    steps["predicted_saving_per_h"] = np.where(steps.policy == "practice", np.nan, 1.1 * realised.ravel())
    return steps


def make_summary(steps: pd.DataFrame) -> pd.DataFrame:
    g = steps.groupby("policy", sort=False)
    s = pd.DataFrame({
        "cost": g["site.cost_per_h"].sum() * STEP_H,
        "carbon_cost": g["site.co2e_t_h"].sum() * STEP_H * 250.0,
        "co2e_t": g["site.co2e_t_h"].sum() * STEP_H,
        "steam_generated_t": g["site.steam_generated_tph"].sum() * STEP_H,
        "vented_t": g["site.vent_tph"].sum() * STEP_H,
    })
    s["fuel_natural_gas_gj"] = 1000.0 + np.arange(3)
    s["steps"] = g.size()
    s["cost_saving_vs_practice"] = s.at["practice", "cost"] - s["cost"]
    s["cost_saving_vs_practice_pct"] = s["cost_saving_vs_practice"] / s.at["practice", "cost"] * 100
    s["co2e_saving_vs_practice_t"] = s.at["practice", "co2e_t"] - s["co2e_t"]
    s["co2e_saving_vs_practice_pct"] = s["co2e_saving_vs_practice_t"] / s.at["practice", "co2e_t"] * 100
    s["predicted_saving"] = g["predicted_saving_per_h"].sum(min_count=1) * STEP_H
    s["realised_saving"] = s["cost_saving_vs_practice"].where(s.index != "practice")
    s["step_ms_p50"] = g["step_ms"].median()
    s["step_ms_p95"] = g["step_ms"].quantile(0.95)
    s["step_ms_max"] = g["step_ms"].max()
    saving_cols = [c for c in s.columns if "saving" in c]
    s.loc["practice", saving_cols] = np.nan  # as the study runner leaves them
    s.index.name = "policy"
    return s


def assert_png(path, min_bytes: int = 8_000) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    assert len(data) > min_bytes, (path, len(data))
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    assert width >= 500 and height >= 250, (path, width, height)


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    steps = make_steps()
    summary = make_summary(steps)
    out = tmp_path_factory.mktemp("report")
    path = write_report(steps, summary, out, title="Reference site, 2 days", step_hours=STEP_H, units=UNITS,
                        notes=["synthetic data", "carbon price 0 THB/t"])
    return path, steps, summary


def test_report_writes_every_plot_and_the_markdown(full_report):
    path, _, _ = full_report
    assert path.name == "report.md" and path.exists()
    for name in PLOTS:
        assert_png(path.parent / name)
        assert f"]({name})" in path.read_text()  # embedded with a relative link


def test_markdown_has_title_notes_and_summary_numbers(full_report):
    path, _, summary = full_report
    md = path.read_text()
    assert md.startswith("# Reference site, 2 days")
    assert "- synthetic data" in md and "- carbon price 0 THB/t" in md
    assert "**Period totals**" in md and "**Savings vs practice**" in md and "**Supervisory steps**" in md
    assert "| policy | cost (THB) | carbon cost (THB) | CO2e (t) | natural gas (GJ) | steam generated (t) |" in md
    assert md.count("natural gas (GJ)") == 1
    assert "| cost saving (THB) | cost saving (%) |" in md and "step p95 (ms)" in md
    savings_table = md.split("**Savings vs practice**", 1)[1].split("**", 1)[0]
    assert "| practice |" not in savings_table  # no savings of practice against itself
    for p in ("practice", "steamopt", "oracle"):
        assert f"{summary.at[p, 'cost']:,.0f}" in md  # thousands separators, no decimals for currency
        assert f"{summary.at[p, 'co2e_t']:,.1f}" in md
    assert f"{summary.at['steamopt', 'step_ms_p95']:,.1f}" in md
    assert "| 3.00 |" in md and "| 4.00 |" in md  # cost saving %
    # the clean synthetic data is consistent: no data notes
    assert "## Data notes" not in md


def test_findings_sentences_have_the_right_numbers(full_report):
    path, _, summary = full_report
    md = path.read_text()
    findings = md.split("## Findings", 1)[1].split("##", 1)[0]
    saving = summary.at["steamopt", "cost_saving_vs_practice"]
    co2e = summary.at["steamopt", "co2e_saving_vs_practice_t"]
    assert f"Steamopt saves {saving:,.0f} THB (3.00 %) and {co2e:,.1f} t CO2e (2.00 %)" in findings
    assert "The oracle saves" in findings and "(4.00 %)" in findings and "(2.50 %)" in findings
    assert "Steamopt captures 75.0 % of the oracle's cost saving." in findings  # 3 % of 4 %
    assert "predicted saving" in findings and "is 10.0 % above its realised saving" in findings
    assert "fallback_local" in findings


def test_findings_derived_from_totals_without_saving_columns(tmp_path):
    steps = make_steps()
    summary = make_summary(steps)[["cost", "co2e_t"]]  # the savings must be derived
    md = write_report(steps, summary, tmp_path, title="t", step_hours=STEP_H, units=UNITS).read_text()
    assert "(3.00 %)" in md and "captures 75.0 %" in md


def test_findings_wording_when_a_policy_does_worse_than_practice():
    summary = pd.DataFrame({"cost": [1_000_000.0, 1_020_000.0, 990_000.0], "co2e_t": [500.0, 490.0, 505.0]},
                           index=["practice", "steamopt", "oracle"])
    text = " ".join(findings(summary))
    assert "Steamopt costs 20,000 THB more (2.00 %) and saves 10.0 t CO2e (2.00 %)" in text
    assert "The oracle saves 10,000 THB (1.00 %) and emits 5.0 t CO2e more (1.00 %)" in text
    assert "Steamopt captures -200.0 % of the oracle's cost saving." in text


def test_nan_and_missing_columns_still_give_a_report(tmp_path):
    steps = make_steps()
    steps.loc[steps.index[5:40], "site.cost_per_h"] = np.nan
    steps.loc[steps.index[::7], "B1.steam_tph"] = np.nan
    steps.loc[steps.policy == "oracle", "step_ms"] = np.nan
    steps = steps.drop(columns=["V_LP.steam_tph", "GT1.hrsg_steam_tph", "site.co2e_t_h", "predicted_saving_per_h"])
    summary = make_summary(make_steps()).drop(columns=["co2e_t", "step_ms_p95", "predicted_saving"])
    summary.loc["steamopt", "cost"] = np.nan
    summary.loc["oracle", "vented_t"] = np.nan
    path = write_report(steps, summary, tmp_path, title="gaps", step_hours=STEP_H, units=UNITS, currency="USD")
    md = path.read_text()
    for name in PLOTS:
        assert_png(tmp_path / name)
    assert "n/a" in md and "cost (USD)" in md
    notes = md.split("## Data notes", 1)[1]
    for missing in ("`GT1.hrsg_steam_tph`", "`V_LP.steam_tph`", "`site.co2e_t_h`"):
        assert missing in notes
    assert "missing values drawn as 0" in notes


def test_bare_frames_still_give_a_report(tmp_path):
    steps = pd.DataFrame({"policy": ["practice", "steamopt"], "timestamp": pd.to_datetime(["2024-01-01"] * 2)})
    path = write_report(steps, pd.DataFrame(), tmp_path, title="bare", step_hours=STEP_H, units=ReportUnits())
    for name in PLOTS:
        assert_png(tmp_path / name, min_bytes=2_000)
    assert "_No summary table._" in path.read_text()


# ----------------------------------------------------------------------------- sweeps

def sweep_table() -> pd.DataFrame:
    prices = [0.0, 500.0, 1000.0, 2000.0]
    resource = {"steamopt": [1_000_000, 1_010_000, 1_010_000, 1_050_000],
                "oracle": [990_000, 996_000, 1_020_000, 1_020_000]}
    co2e = {"steamopt": [5_000.0, 4_900.0, 4_900.0, 4_800.0],
            "oracle": [5_000.0, 4_950.0, 4_850.0, 4_860.0]}
    rows = []
    for p in resource:
        for x, r, c in zip(prices, resource[p], co2e[p]):
            rows.append({"parameter_value": x, "policy": p, "carbon_cost": x * c, "cost": r + x * c, "co2e_t": c,
                         "fuel_gj": 1e5})
    return pd.DataFrame(rows)


def test_mac_by_hand_excludes_the_carbon_cost():
    mac = marginal_abatement_costs(sweep_table()).set_index(["policy", "from_value"])
    # steamopt 0 -> 500: (1,010,000 - 1,000,000) / (5,000 - 4,900) = 100 THB/t
    assert mac.at[("steamopt", 0.0), "mac"] == pytest.approx(100.0)
    assert math.isnan(mac.at[("steamopt", 500.0), "mac"])  # CO2e flat: skipped
    assert mac.at[("steamopt", 500.0), "skipped"] == "CO2e does not fall"
    assert mac.at[("steamopt", 1000.0), "mac"] == pytest.approx(400.0)  # 40,000 / 100
    assert mac.at[("oracle", 0.0), "mac"] == pytest.approx(120.0)  # 6,000 / 50
    assert mac.at[("oracle", 500.0), "mac"] == pytest.approx(240.0)  # 24,000 / 100
    assert math.isnan(mac.at[("oracle", 1000.0), "mac"])  # CO2e rises


def test_sweep_report_writes_tradeoff_mac_and_table(tmp_path):
    path = write_sweep_report(sweep_table(), tmp_path, parameter="carbon_price_per_t")
    assert path.name == "sweep.md"
    assert_png(tmp_path / "tradeoff.png")
    assert_png(tmp_path / "mac.png")
    md = path.read_text()
    assert "](tradeoff.png)" in md and "](mac.png)" in md
    assert "| steamopt | 0 | 500 | 100.0 | 10,000 | 100.0 |" in md
    assert "| steamopt | 1,000 | 2,000 | 100.0 | 40,000 | 400.0 |" in md
    assert "skipped: CO2e does not fall" in md
    assert "cost - carbon_cost" in md


def test_sweep_of_another_parameter_has_no_mac(tmp_path):
    table = sweep_table().drop(columns=["carbon_cost"])
    path = write_sweep_report(table, tmp_path, parameter="tle_steam_scale")
    assert_png(tmp_path / "tradeoff.png")
    assert not (tmp_path / "mac.png").exists()
    assert "not a carbon price" in path.read_text()
