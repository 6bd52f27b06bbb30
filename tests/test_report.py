"""Scenario-study report: tables, findings and plots from synthetic steps/summary tables with known numbers.

Four policies over two days at 15 min: practice (cost x 1.00), good_practice (x 0.98, but x 0.965 over 5 h
of the second day, when it beats steamopt), steamopt (x 0.97) and the oracle (x 0.96). Steamopt's true
plant violates a limit at three steps (never credited) and the drift monitor flags its surrogates at ten.
The expected numbers are computed here from the frames, independently of the report code.
"""

import re
import struct
from pathlib import Path

import matplotlib.figure
import numpy as np
import pandas as pd
import pytest

from scenarios.report import ReportUnits, findings, write_report

STEP_H = 0.25
N = 2 * 24 * 4  # 2 days at 15 min
UNITS = ReportUnits(boilers=["B1", "B2", "B3", "B4"], gas_turbines=["GT1"], byproduct_sources=["TLE"], vents=["V_MP", "V_LP"])
PLOTS = ["saving_vs_baseline.png", "gap_to_oracle.png", "cumulative_savings.png", "steam_generation.png", "vents.png",
         "solve_time.png"]
POLICIES = ("practice", "good_practice", "steamopt", "oracle")
GP_CHEAP = slice(120, 140)  # 20 steps (5 h) of day 2 where good_practice is cheaper than steamopt
VIOLATION_STEPS = {10: "LP header shortfall", 11: "LP header shortfall", 12: "B2 below minimum load; LP header shortfall"}
DRIFT = {**{i: "B1_efficiency" for i in range(150, 160)}, **{i: "B1_efficiency,GT1_heat_rate" for i in range(155, 158)}}
OUTSIDE_RANGE = slice(40, 48)  # 8 steps, every policy


def cost_factor(p: str) -> np.ndarray:
    f = np.full(N, {"practice": 1.0, "good_practice": 0.98, "steamopt": 0.97, "oracle": 0.96}[p])
    if p == "good_practice":
        f[GP_CHEAP] = 0.965
    return f


CO2E_FACTOR = {"practice": 1.0, "good_practice": 0.99, "steamopt": 0.98, "oracle": 0.975}


def make_steps(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-03-01", periods=N, freq="15min")
    day = np.sin(2 * np.pi * np.arange(N) / 96)
    base_cost = 250_000 + 20_000 * day + 2_000 * rng.standard_normal(N)
    base_co2e = 95 + 6 * day
    price = np.where((ts.hour >= 22) | (ts.hour < 6), 2_500.0, 4_200.0)
    frames = []
    for p in POLICIES:
        opt = p in ("steamopt", "oracle")
        tle = 250 + 10 * day
        gt = np.full(N, 95.0 if opt else 80.0)
        b_total = 420 + 30 * day - (gt - 80)
        violation = np.zeros(N, dtype=bool)
        violations = np.full(N, "", dtype=object)
        drift = np.full(N, np.nan if not opt else "", dtype=object)
        if p == "steamopt":
            for i, v in VIOLATION_STEPS.items():
                violation[i], violations[i] = True, v
            for i, v in DRIFT.items():
                drift[i] = v
        outside = np.zeros(N, dtype=bool)
        outside[OUTSIDE_RANGE] = True
        frame = pd.DataFrame({
            "policy": p,
            "timestamp": ts,
            "status": np.where(np.arange(N) % 50 == 7, "fallback_local", "optimal") if opt else p,
            "step_ms": np.exp(rng.normal(np.log(12.0 if p == "steamopt" else 20.0), 0.3, N)) if opt else np.nan,
            "site.cost_per_h": base_cost * cost_factor(p),
            "site.co2e_t_h": base_co2e * CO2E_FACTOR[p],
            "site.steam_generated_tph": b_total + gt,
            "site.vent_tph": np.nan,
            "site.import_price_per_mwh": price,
            "B1.steam_tph": 0.3 * b_total, "B2.steam_tph": 0.3 * b_total,
            "B3.steam_tph": 0.2 * b_total, "B4.steam_tph": 0.2 * b_total,
            "GT1.hrsg_steam_tph": gt,
            "TLE.steam_tph": tle,
            "V_MP.steam_tph": np.clip(4 + 3 * day, 0, None) * (1.0 if p == "practice" else 0.2),
            "V_LP.steam_tph": np.clip(6 - 4 * day, 0, None) * (1.0 if p == "practice" else 0.1),
            "violation": violation, "violations": violations, "drift_flagged": drift, "outside_training_range": outside,
        })
        frame["site.vent_tph"] = frame["V_MP.steam_tph"] + frame["V_LP.steam_tph"]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def by_hand(steps: pd.DataFrame, b: str, p: str, column: str = "site.cost_per_h") -> tuple[np.ndarray, np.ndarray]:
    """(per-step saving of p against b, the same with positive savings at p's violation steps set to 0)."""
    base = steps.loc[steps.policy == b, column].to_numpy()
    rows = steps[steps.policy == p]
    saving = base - rows[column].to_numpy()
    credited = np.where(rows["violation"].to_numpy() & (saving > 0), 0.0, saving)
    return saving, credited


def make_summary(steps: pd.DataFrame, credit_violations: bool = False) -> pd.DataFrame:
    """The summary as the study runner writes it (issue 15's data contract)."""
    g = steps.groupby("policy", sort=False)
    s = pd.DataFrame({
        "cost": g["site.cost_per_h"].sum() * STEP_H,
        "carbon_cost": g["site.co2e_t_h"].sum() * STEP_H * 250.0,
        "co2e_t": g["site.co2e_t_h"].sum() * STEP_H,
        "steam_generated_t": g["site.steam_generated_tph"].sum() * STEP_H,
        "vented_t": g["site.vent_tph"].sum() * STEP_H,
    })
    s["fuel_natural_gas_gj"] = 1000.0 + np.arange(len(s))
    s["steps"] = g.size()
    for b in ("practice", "good_practice"):
        for p in POLICIES:
            if p == b:
                continue
            raw, credited = by_hand(steps, b, p)
            used = raw if credit_violations else credited
            s.loc[p, f"cost_saving_vs_{b}"] = used.sum() * STEP_H
            s.loc[p, f"cost_saving_vs_{b}_pct"] = 100 * used.sum() * STEP_H / s.at[b, "cost"]
            _, credited_c = by_hand(steps, b, p, "site.co2e_t_h")
            s.loc[p, f"co2e_saving_vs_{b}_t"] = credited_c.sum() * STEP_H
            s.loc[p, f"co2e_saving_vs_{b}_pct"] = 100 * credited_c.sum() * STEP_H / s.at[b, "co2e_t"]
            s.loc[p, f"uncredited_saving_vs_{b}"] = (raw - credited).sum() * STEP_H
        for p in ("steamopt", "oracle"):
            s.loc[p, f"realised_saving_vs_{b}"] = s.at[p, f"cost_saving_vs_{b}"]
            s.loc[p, f"predicted_saving_vs_{b}"] = 1.1 * s.at[p, f"cost_saving_vs_{b}"]
            s.loc[p, f"predicted_vs_realised_vs_{b}_pct"] = 10.0
        for p in POLICIES:
            if p not in (b, "oracle"):
                s.loc[p, f"share_of_oracle_saving_vs_{b}_pct"] = (100 * s.at[p, f"cost_saving_vs_{b}"]
                                                                  / s.at["oracle", f"cost_saving_vs_{b}"])
    s["violation_steps"] = g["violation"].sum()
    s.loc["steamopt", "drift_flagged_steps"] = len(DRIFT)
    s["outside_training_range_steps"] = g["outside_training_range"].sum()
    s["step_ms_p50"] = g["step_ms"].median()
    s["step_ms_p95"] = g["step_ms"].quantile(0.95)
    s["step_ms_max"] = g["step_ms"].max()
    s.index.name = "policy"
    return s


def assert_png(path, min_bytes: int = 8_000) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    assert len(data) > min_bytes, (path, len(data))
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    assert width >= 500 and height >= 250, (path, width, height)


def _capture(monkeypatch) -> dict[str, matplotlib.figure.Figure]:
    """Every figure saved, by the file name it is published under (the writer saves to a temporary
    name ``.NAME.PID-TOKEN.tmp.png`` and renames it)."""
    seen: dict[str, matplotlib.figure.Figure] = {}
    real = matplotlib.figure.Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        name = Path(fname).name
        m = re.match(r"^\.(.+?)\.\d+-[0-9a-f]+\.tmp", name)
        seen[m.group(1) if m else name] = self
        return real(self, fname, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    return seen


@pytest.fixture
def figures(monkeypatch):
    return _capture(monkeypatch)


def texts(fig) -> str:
    """Every text drawn on a figure: titles, labels, legends, annotations, panel notes."""
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_title("left"), ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.texts]
        if ax.get_legend():
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    for leg in fig.legends:
        out += [t.get_text() for t in leg.get_texts()]
    return "\n".join(out)


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    steps = make_steps()
    summary = make_summary(steps)
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as m:
        figs = _capture(m)
        path = write_report(steps, summary, out, title="Reference site, 2 days", step_hours=STEP_H, units=UNITS,
                            notes=["synthetic data", "carbon price 0 THB/t"])
    return path, steps, summary, figs


def section(md: str, start: str, end: str = "\n**") -> str:
    return md.split(start, 1)[1].split(end, 1)[0]


# ----------------------------------------------------------------------------- files and tables

def test_report_writes_every_plot_and_the_markdown(full_report):
    path, _, _, _ = full_report
    md = path.read_text()
    assert path.name == "report.md" and path.exists()
    for name in PLOTS + ["limits_and_drift.png"]:  # violations and drift flags: their plot is written
        assert_png(path.parent / name)
        assert f"]({name})" in md  # embedded with a relative link
    assert md.count("### ") == len(PLOTS) + 1  # every plot has a caption


def test_summary_has_a_savings_table_per_baseline(full_report):
    path, _, summary, _ = full_report
    md = path.read_text()
    assert md.startswith("# Reference site, 2 days")
    assert "- synthetic data" in md and "- carbon price 0 THB/t" in md
    assert "| policy | cost (THB) | carbon cost (THB) | CO2e (t) | natural gas (GJ) | steam generated (t) |" in md
    vs_practice = section(md, "**Savings vs practice**")
    vs_good = section(md, "**Savings vs good_practice**")
    assert "| practice |" not in vs_practice and "| good_practice |" not in vs_good  # no baseline against itself
    assert "| good_practice |" in vs_practice and "| practice |" in vs_good
    for p, table, b in (("steamopt", vs_practice, "practice"), ("oracle", vs_practice, "practice"),
                        ("steamopt", vs_good, "good_practice"), ("oracle", vs_good, "good_practice")):
        row = next(line for line in table.splitlines() if line.startswith(f"| {p} |"))
        assert f"| {summary.at[p, f'cost_saving_vs_{b}']:,.0f} |" in row
        assert f"| {summary.at[p, f'uncredited_saving_vs_{b}']:,.0f} |" in row
        if p == "steamopt":
            assert f"| {summary.at[p, f'share_of_oracle_saving_vs_{b}_pct']:,.1f} |" in row
    assert "not credited (limit violated) (THB)" in vs_practice and "share of the oracle's saving (%)" in vs_good
    limits = section(md, "**Limits, drift and training range**")
    assert "| steamopt | 3 | 10 | 8 |" in limits and "| practice | 0 | n/a | 8 |" in limits
    assert "## Data notes" not in md  # the synthetic data are consistent


def test_findings_against_both_baselines_carry_the_numbers(full_report):
    path, steps, summary, _ = full_report
    md = path.read_text()
    findings_md = md.split("## Findings", 1)[1].split("## ", 1)[0]
    good = section(findings_md, "**Against good_practice.**")
    practice = section(findings_md, "**Against practice.**")
    assert findings_md.index("Against good_practice") < findings_md.index("Against practice")  # the honest one first
    for b, text in (("practice", practice), ("good_practice", good)):
        s_opt = by_hand(steps, b, "steamopt")[1].sum() * STEP_H  # credited
        s_orc = by_hand(steps, b, "oracle")[1].sum() * STEP_H
        pct_opt = 100 * s_opt / summary.at[b, "cost"]
        assert f"Steamopt saves {s_opt:,.0f} THB ({pct_opt:.2f} %)" in text
        assert f"Steamopt captures {100 * s_opt / s_orc:.1f} % of the oracle's cost saving against {b}." in text
        pred = 1.1 * s_opt
        assert f"Steamopt's predicted saving against {b} ({pred:,.0f} THB) is 10.0 % above its realised saving ({s_opt:,.0f} THB)" in text
        raw, credited = by_hand(steps, b, "steamopt")
        uncredited = (raw - credited).sum() * STEP_H
        assert uncredited > 0 and f"steamopt {uncredited:,.0f} THB" in text
    assert "Practice costs" in good and "more" in good  # the strawman against the competent operator
    assert "Practice captures" not in good  # no negative share of a strawman
    assert f"Good_practice captures {summary.at['good_practice', 'share_of_oracle_saving_vs_practice_pct']:.1f} %" in practice


def test_findings_say_where_good_practice_is_cheaper(full_report):
    path, steps, _, _ = full_report
    text = section(path.read_text(), "**Where good_practice does better.**")
    saving = by_hand(steps, "good_practice", "steamopt")[0]
    worse = saving < 0
    assert worse.sum() == 20
    assert (f"Good_practice is cheaper than steamopt at 20 of {N} steps (5.0 h, {100 * 20 / N:.1f} % of the time), "
            f"by {-saving[worse].sum() * STEP_H:,.0f} THB in total at those steps.") in text
    assert "Over whole days good_practice is cheaper on 0 of 2 days." in text
    ts = steps.loc[steps.policy == "steamopt", "timestamp"]
    night = ((ts.dt.hour >= 22) | (ts.dt.hour < 6)).to_numpy()
    assert f"at an import price of 2,500 THB/MWh steamopt saves {saving[night].sum() * STEP_H:,.0f} THB" in text
    assert f"at an import price of 4,200 THB/MWh steamopt saves {saving[~night].sum() * STEP_H:,.0f} THB" in text


def test_findings_name_violations_drift_and_training_range(full_report):
    path, _, _, _ = full_report
    text = section(path.read_text(), "**Limits, drift and training range.**")
    assert ("The true plant ended outside a limit under steamopt at 3 steps (2024-03-01 02:30 to 2024-03-01 03:00): "
            "LP header shortfall (3 steps); B2 below minimum load.") in text
    assert "flagged steamopt's surrogates at 10 steps: B1_efficiency at 10 steps (first 2024-03-02 13:30); " \
           "GT1_heat_rate at 3 steps (first 2024-03-02 14:45)" in text
    assert "outside the surrogates' training range at 8 of 192 steps (2.0 h; first 2024-03-01 10:00, last 2024-03-01 11:45)" in text


def test_violation_steps_are_not_credited_in_the_plots(full_report, tmp_path):
    _, steps, _, figures = full_report
    fig = figures["cumulative_savings.png"]
    ends = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            y = line.get_ydata()
            if len(y) == N:
                ends[(ax.get_title(), line.get_label().split(":")[0])] = float(y[-1])
    credited = by_hand(steps, "practice", "steamopt")[1].sum() * STEP_H
    raw = by_hand(steps, "practice", "steamopt")[0].sum() * STEP_H
    assert ends[("against practice", "steamopt")] == pytest.approx(credited, rel=1e-9)
    assert raw - credited > 1_000  # the test means something: the violation steps carry a real saving
    # a summary that credits those steps disagrees with the steps, and the report says so
    md = write_report(steps, make_summary(steps, credit_violations=True), tmp_path / "b", title="t", step_hours=STEP_H,
                      units=UNITS).read_text()
    assert "steamopt: the cost saving vs practice summed from the steps" in md.split("## Data notes", 1)[1]


def test_plots_show_what_separates_the_policies(full_report):
    """The saving plot is against good_practice (the primary baseline), the gap plot is policy - oracle,
    the cumulative plot has a column per baseline, and every axis has a unit."""
    _, steps, _, figures = full_report
    vs = figures["saving_vs_baseline.png"]
    assert "against good_practice" in texts(vs)
    cost_ax = vs.axes[0]
    steamopt_daily = [c for c in cost_ax.collections if c.get_label().startswith("steamopt")]
    assert steamopt_daily  # daily means drawn
    mean = by_hand(steps, "good_practice", "steamopt")[1].mean()
    assert f"steamopt: {mean:,.0f}" in texts(vs) and "practice: " in texts(vs) and "off this scale" in texts(vs)
    gap = figures["gap_to_oracle.png"]
    gap_mean = by_hand(steps, "steamopt", "oracle")[0].mean()  # steamopt - oracle
    assert f"steamopt: {gap_mean:,.0f}" in texts(gap)
    cum = figures["cumulative_savings.png"]
    assert {"against practice", "against good_practice"} <= {ax.get_title() for ax in cum.axes}
    for name in PLOTS:
        for ax in figures[name].axes:
            if ax.get_ylabel():
                assert re.search(r"\((THB|t|THB/h|t/h|ms|%)\)", ax.get_ylabel()) or ax.get_ylabel() == "steps", (name, ax.get_ylabel())


def test_boilers_have_colours_a_reader_can_tell_apart(full_report):
    figures = full_report[3]
    ax = figures["steam_generation.png"].axes[0]
    fills = ax.collections[:6]  # TLE, GT1, B1..B4 from the bottom
    rgb = [np.asarray(c.get_facecolor()[0][:3]) for c in fills]
    dist = min(np.linalg.norm(a - b) for i, a in enumerate(rgb) for b in rgb[i + 1:])
    assert dist > 0.25, dist  # shades of one colour (the old oranges) are ~0.1 apart


def test_no_violation_or_drift_means_no_plot_but_a_sentence(tmp_path):
    steps = make_steps().drop(columns=["violation", "violations", "drift_flagged"])
    summary = make_summary(make_steps()).drop(columns=["violation_steps", "drift_flagged_steps"])
    (tmp_path / "limits_and_drift.png").write_bytes(b"stale")
    md = write_report(steps, summary, tmp_path, title="t", step_hours=STEP_H, units=UNITS).read_text()
    assert not (tmp_path / "limits_and_drift.png").exists()  # a stale plot is not left to mislead
    assert "limits_and_drift.png" not in md
    assert "the steps table has no violation or drift columns): no plot of them." in md


def test_missing_good_practice_gives_a_readable_report_with_a_data_note(tmp_path, figures):
    steps = make_steps()
    steps = steps[steps.policy != "good_practice"]
    summary = make_summary(make_steps()).drop(index="good_practice")
    summary = summary[[c for c in summary.columns if "good_practice" not in c]]
    md = write_report(steps, summary, tmp_path, title="t", step_hours=STEP_H, units=UNITS).read_text()
    for name in PLOTS:
        assert_png(tmp_path / name)
    assert "**Savings vs practice**" in md and "**Savings vs good_practice**" not in md
    assert "no good_practice policy: savings are against practice only" in md.split("## Data notes", 1)[1]
    assert "against practice" in texts(figures["saving_vs_baseline.png"])  # the primary baseline falls back


def test_missing_saving_columns_are_derived_from_the_totals_and_noted(tmp_path):
    steps = make_steps()
    summary = make_summary(steps)
    summary = summary[[c for c in summary.columns if not c.endswith("_vs_good_practice") and "vs_good_practice_" not in c]]
    md = write_report(steps, summary, tmp_path, title="t", step_hours=STEP_H, units=UNITS).read_text()
    derived = summary.at["good_practice", "cost"] - summary.at["steamopt", "cost"]  # raw: violations included
    assert f"| steamopt | {derived:,.0f} |" in section(md, "**Savings vs good_practice**")
    notes = md.split("## Data notes", 1)[1]
    assert "`cost_saving_vs_good_practice`" in notes and "derived from the period totals" in notes


def test_old_summary_column_names_are_read_as_against_practice():
    summary = pd.DataFrame({"cost": [1_000_000.0, 970_000.0, 960_000.0], "co2e_t": [500.0, 490.0, 488.0],
                            "predicted_saving": [np.nan, 33_000.0, 44_000.0], "realised_saving": [np.nan, 30_000.0, 40_000.0]},
                           index=["practice", "steamopt", "oracle"])
    text = " ".join(findings(summary))
    assert "Steamopt's predicted saving against practice (33,000 THB) is 10.0 % above its realised saving (30,000 THB)." in text


def test_findings_wording_when_a_policy_does_worse_than_practice():
    summary = pd.DataFrame({"cost": [1_000_000.0, 1_020_000.0, 990_000.0], "co2e_t": [500.0, 490.0, 505.0]},
                           index=["practice", "steamopt", "oracle"])
    text = " ".join(findings(summary))
    assert "Steamopt costs 20,000 THB more (2.00 %) and saves 10.0 t CO2e (2.00 %)" in text
    assert "The oracle saves 10,000 THB (1.00 %) and emits 5.0 t CO2e more (1.00 %)" in text
    assert "Steamopt captures -200.0 % of the oracle's cost saving against practice." in text


def test_nan_and_missing_columns_still_give_a_report(tmp_path):
    steps = make_steps()
    steps.loc[steps.index[5:40], "site.cost_per_h"] = np.nan
    steps.loc[steps.index[::7], "B1.steam_tph"] = np.nan
    steps.loc[steps.policy == "oracle", "step_ms"] = np.nan
    steps = steps.drop(columns=["V_LP.steam_tph", "GT1.hrsg_steam_tph", "site.co2e_t_h"])
    summary = make_summary(make_steps()).drop(columns=["co2e_t", "step_ms_p95", "predicted_saving_vs_practice"])
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


def test_empty_panels_say_why(tmp_path, figures):
    steps = pd.DataFrame({"policy": ["practice", "steamopt"], "timestamp": pd.to_datetime(["2024-01-01"] * 2)})
    path = write_report(steps, pd.DataFrame(), tmp_path, title="bare", step_hours=STEP_H, units=ReportUnits())
    for name in PLOTS:
        assert_png(tmp_path / name, min_bytes=2_000)
    assert "_No summary table._" in path.read_text()
    assert "no oracle policy in the study: no gap to show" in texts(figures["gap_to_oracle.png"])
    assert "no cost data against practice" in texts(figures["cumulative_savings.png"])
    assert "no `site.cost_per_h` data" in texts(figures["saving_vs_baseline.png"])
    assert "no steam-generation columns" in texts(figures["steam_generation.png"])


def test_no_baseline_at_all_says_so(tmp_path, figures):
    steps = make_steps()
    steps = steps[steps.policy.isin(["steamopt", "oracle"])]
    md = write_report(steps, None, tmp_path, title="t", step_hours=STEP_H, units=UNITS).read_text()
    assert "no baseline policy (practice or good_practice)" in md.split("## Data notes", 1)[1]
    assert "no baseline policy (practice or good_practice) in the study" in texts(figures["saving_vs_baseline.png"])
    assert "no baseline policy" in texts(figures["cumulative_savings.png"])
