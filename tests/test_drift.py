"""Surrogate drift monitoring and retraining, against a plant whose boiler B1 degrades.

The degrading plant is the simulator with B1's efficiency curve lowered by ``loss`` (a fraction,
e.g. 0.04 = four efficiency points) ramping linearly from ``start`` over ``ramp_h`` hours and
holding afterwards: a subclass that swaps in the degraded curve each step (the simulator itself
is unchanged).
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.site import load_site
from scenarios.cli import main
from scenarios.plant.campaign import CampaignConfig, IdentificationCampaign
from scenarios.plant.curves import BoilerCurve
from scenarios.plant.historian import SensorNoise, run_policy
from scenarios.plant.practice import todays_practice
from scenarios.plant.profiles import ProfileConfig, generate_disturbances
from scenarios.plant.simulator import PlantSimulator
from scenarios.retrain import (
    MIN_FIT_ROWS,
    MIN_HOLDOUT_ROWS,
    paired_improvement,
    retrain,
)
from surrogate.drift import (
    DriftConfig,
    DriftMonitor,
    validated_bands,
    window_statistics,
)
from surrogate.manifest import load_model_dir, read_manifest
from surrogate.train import TrainingConfig

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
MODELS = ROOT / "scenarios" / "models" / "reference_olefins"
FAST = TrainingConfig(sizes=((3,), (6,)), seeds=(0,), max_iter=1000)
LOSS = 0.04  # efficiency points lost by B1 at the end of the ramp


class DegradingPlant(PlantSimulator):
    """The simulator with one boiler's efficiency curve lowered by loss(t) (see the module docstring)."""

    def __init__(self, site, boiler: str, start: pd.Timestamp, ramp_h: float, loss: float):
        super().__init__(site)
        self.boiler, self.start, self.ramp_h, self.loss = boiler, pd.Timestamp(start), ramp_h, loss
        self.healthy_curve = self.boilers[boiler]

    def loss_at(self, t: pd.Timestamp) -> float:
        f = (pd.Timestamp(t) - self.start) / pd.Timedelta(hours=self.ramp_h)
        return self.loss * min(max(f, 0.0), 1.0)

    def curve_at(self, t: pd.Timestamp) -> BoilerCurve:
        b, h = self.site.boilers[self.boiler], self.healthy_curve
        c = b.efficiency_curve
        degraded = replace(b, efficiency_curve=replace(c, efficiency=[e - self.loss_at(t) for e in c.efficiency]))
        return BoilerCurve(degraded, h.steam_kj_kg, h.feedwater_kj_kg)

    def simulate(self, setpoints, disturbances):
        self.boilers[self.boiler] = self.curve_at(disturbances.timestamp)
        return super().simulate(setpoints, disturbances)


@pytest.fixture(scope="module")
def site():
    return load_site(SITE_FILE)


@pytest.fixture(scope="module")
def models():
    return load_model_dir(MODELS)


def _run(site, sim, hours: float, seed: int, policy: str = "practice", start: str = "2026-01-05 00:00") -> pd.DataFrame:
    """A historian table (0.5 % sensor noise) of ``hours`` at 15 min."""
    d = generate_disturbances(site, ProfileConfig(start=pd.Timestamp(start), hours=hours, step_min=15, seed=seed))
    pol = todays_practice
    if policy == "campaign":
        pol = IdentificationCampaign(site, [x.timestamp for x in d], CampaignConfig(seed=seed))
        d = pol.with_washes(d)
    truth, _ = run_policy(sim, pol, d)
    return SensorNoise(relative_std=0.005, seed=seed).apply(truth)


START = pd.Timestamp("2026-01-05 00:00")


@pytest.fixture(scope="module")
def practice(site):
    """Three days under today's practice: healthy, and with B1 losing LOSS from hour 12 to 36."""
    degraded_plant = DegradingPlant(site, "B1", START + pd.Timedelta(hours=12), 24.0, LOSS)
    return {"healthy": _run(site, PlantSimulator(site), 72, seed=11), "degraded": _run(site, degraded_plant, 72, seed=11),
            "plant": degraded_plant}


@pytest.fixture(scope="module")
def campaign(site):
    """Four days of an identification campaign: healthy, and with B1 losing LOSS from hour 6 to 24."""
    degraded_plant = DegradingPlant(site, "B1", START + pd.Timedelta(hours=6), 18.0, LOSS)
    return {"healthy": _run(site, PlantSimulator(site), 96, seed=5, policy="campaign"),
            "degraded": _run(site, degraded_plant, 96, seed=5, policy="campaign"), "plant": degraded_plant}


# ============================================================================  the monitor


def test_degraded_boiler_flags_b1_fuel_only(practice, models):
    frame, plant = practice["degraded"], practice["plant"]
    mon = DriftMonitor.from_model_dir(MODELS)
    mon.observe_frame(frame)
    st = mon.status()
    assert mon.flagged() == ["B1_fuel"]
    b1 = st.loc["B1_fuel"]
    # what the error must be: the healthy curve's fuel over the degraded plant's, at the window's loads
    window = frame.iloc[-b1["n"]:]
    healthy, degraded = plant.healthy_curve, plant.curve_at(window.index[-1])
    expected_bias = np.mean([100.0 * (healthy.fuel_gj_h(s, a) / degraded.fuel_gj_h(s, a) - 1.0)
                             for s, a in zip(window["B1.steam_tph"], window["ambient_temp_c"])])
    assert expected_bias == pytest.approx(-4.5, abs=0.5)  # four efficiency points at ~0.89: ~4.5 % more fuel
    assert b1["bias_pct"] == pytest.approx(expected_bias, abs=0.4)
    assert b1["mape_pct"] > 3.5 * b1["validated_mape_pct"] and b1["mape_lcb_pct"] > b1["band_mape_pct"]
    assert b1["abs_bias_lcb_pct"] > b1["band_bias_pct"] and b1["flagged"]
    assert b1["validated_mape_pct"] == pytest.approx(0.5996, abs=1e-4)  # accuracy.json test split
    # flagged after the degradation began, while it ramped (not before: no false alarm)
    first = pd.Timestamp(b1["first_flagged_at"])
    assert START + pd.Timedelta(hours=12) < first < START + pd.Timedelta(hours=36)
    assert plant.loss_at(first) > 0.01
    # TG3 (extraction-condensing) is on standby under practice: no rows, its own checks below
    assert st.loc["TG3_steam", "used"] == 0 and not st.loc["TG3_steam", "flagged"]
    st = st.drop(index="TG3_steam")
    others = st.drop(index="B1_fuel")
    assert (others["mape_pct"] < others["band_mape_pct"]).all() and (others["mape_pct"] < 0.75).all()
    assert (others["abs_bias_lcb_pct"] < others["band_bias_pct"]).all()
    assert not others["flagged"].any() and others["first_flagged_at"].isna().all()
    assert (st["used"] == len(frame)).all() and (st["n"] == 96).all()


def test_healthy_plant_flags_nothing(practice):
    mon = DriftMonitor.from_model_dir(MODELS)
    mon.observe_frame(practice["healthy"])
    st = mon.status()
    assert mon.flagged() == [] and not st["flagged"].any() and (st["flagged_checks"] == 0).all()
    assert st.loc["TG3_steam", "used"] == 0  # TG3 on standby under practice: no rows
    st = st.drop(index="TG3_steam")
    assert (st["mape_pct"] < 0.75).all() and (st["mape_pct"] < st["band_mape_pct"]).all()
    assert (st["bias_pct"].abs() < 0.3).all()
    assert (st["reason"] == "in band").all()


def test_observe_snapshots_equals_observe_frame(practice):
    frame = practice["degraded"].iloc[:150]
    a, b = DriftMonitor.from_model_dir(MODELS), DriftMonitor.from_model_dir(MODELS)
    a.observe_frame(frame)
    for ts, row in frame.iterrows():
        b.observe({"timestamp": ts.isoformat(), **row.to_dict()})
    pd.testing.assert_frame_equal(a.status(), b.status())
    assert a.summary() == b.summary()


def test_bad_snapshot_data_is_skipped_and_counted(models):
    mon = DriftMonitor(models, config=DriftConfig(max_step_fraction=None))
    good = {"B1.steam_tph": 80.0, "ambient_temp_c": 30.0, "B1.fuel_gj_h": 240.0}
    for snap in (None, [1, 2], "B1.steam_tph=3"):
        mon.observe(snap)  # type: ignore[arg-type]
    mon.observe({"timestamp": "2026-01-05T00:00:00"})                     # every tag missing
    mon.observe({**good, "B1.fuel_gj_h": float("nan")})                    # bad values
    mon.observe({**good, "B1.steam_tph": "80"})
    mon.observe({**good, "ambient_temp_c": True})
    mon.observe({**good, "B1.fuel_gj_h": float("inf")})
    mon.observe({**good, "B1.steam_tph": 0.0, "B1.fuel_gj_h": 0.0})        # unit off
    mon.observe({**good, "B1.steam_tph": 20.0})                            # below the domain (39.3 t/h)
    mon.observe(good)
    mon.observe(dict(good))                                                # re-sent: not new evidence
    st = mon.status()
    assert mon.bad_snapshots == 3 and mon.observations == 9
    b1 = st.loc["B1_fuel"]
    assert (b1["observed"], b1["missing"], b1["bad_value"], b1["zero_output"], b1["out_of_domain"], b1["repeated"], b1["used"]) == (9, 1, 4, 1, 1, 1, 1)
    assert st.loc["GT1_fuel", "missing"] == 9 and st.loc["GT1_fuel", "used"] == 0
    assert b1["n"] == 1 and "observations needed" in b1["reason"] and not b1["flagged"]
    assert b1["mape_pct"] == pytest.approx(abs(100.0 * (models["B1_fuel"].evaluate(good)[0] - 240.0) / 240.0))
    json.dumps(mon.summary(), allow_nan=False)


def test_non_steady_rows_skipped(models):
    mon = DriftMonitor({"B1_fuel": models["B1_fuel"]})
    snaps = [{"B1.steam_tph": s, "ambient_temp_c": 30.0, "B1.fuel_gj_h": 3.0 * s} for s in (60.0, 61.0, 100.0, 101.0)]
    for s in snaps:
        mon.observe(s)
    st = mon.status().loc["B1_fuel"]
    # 60 -> 61 steady; 61 -> 100 moves 39 t/h > 25 % of the 123 t/h training span; 100 -> 101 steady
    assert (st["used"], st["not_steady"]) == (3, 1)


def test_summary_is_json_and_reset_forgets(practice):
    mon = DriftMonitor.from_model_dir(MODELS)
    mon.observe_frame(practice["degraded"])
    s = json.loads(json.dumps(mon.summary(), allow_nan=False))
    assert s["flagged"] == ["B1_fuel"] and s["observations"] == len(practice["degraded"])
    m = s["models"]["B1_fuel"]
    assert m["flagged"] and m["used"] == len(practice["degraded"]) and m["outputs"]["B1.fuel_gj_h"]["bias_pct"] < -3.5
    assert s["config"]["window"] == 96 and "accuracy.json" in m["band_source"]
    mon.reset(["B1_fuel"])
    assert mon.flagged() == [] and mon.status().loc["B1_fuel", "used"] == 0
    with pytest.raises(ValueError, match="unknown model 'B9_fuel'"):
        mon.reset(["B9_fuel"])


def test_bands_from_accuracy_json_or_metadata(models, tmp_path):
    rows = {r["quantity"]: r["test"]["mape_pct"] for r in json.loads((MODELS / "accuracy.json").read_text())}
    bands = validated_bands(models)
    assert {n: list(b.mape_pct) for n, b in bands.items()} == rows
    # without accuracy.json the file's own metadata (written by training) gives the same band
    copy = tmp_path / "models"
    shutil.copytree(MODELS, copy)
    (copy / "accuracy.json").unlink()
    from_md = validated_bands(load_model_dir(copy))
    for n in rows:
        assert from_md[n].mape_pct[0] == pytest.approx(rows[n][0], rel=1e-5) and "metadata" in from_md[n].source
    bad = tmp_path / "accuracy.json"
    bad.write_text(json.dumps([{"quantity": "B1_fuel", "test": {"mape_pct": ["x"]}}]))
    with pytest.raises(ValueError, match="row 0: expected 'quantity'"):
        validated_bands(models, bad)


def test_config_validation():
    with pytest.raises(ValueError, match=r"DriftConfig.window = 1: must be >= 2"):
        DriftConfig(window=1)
    with pytest.raises(ValueError, match=r"DriftConfig.min_observations = 200: must be between 2 and window \(96\)"):
        DriftConfig(min_observations=200)
    with pytest.raises(ValueError, match=r"DriftConfig.z = -1.0: must be a finite number > 0"):
        DriftConfig(z=-1.0)
    with pytest.raises(ValueError, match="models is empty"):
        DriftMonitor({})


def test_window_statistics_math_and_false_alarm_rate():
    cfg = DriftConfig()
    rng = np.random.default_rng(0)
    m_v = 0.6
    sigma = m_v * math.sqrt(math.pi / 2.0)  # a healthy model: normal errors whose mean |e| is the validated MAPE
    e = sigma * rng.standard_normal(96)
    s = window_statistics(e, m_v, cfg)
    a = np.abs(e)
    d = e - e.mean()
    rho = max(float(d[1:] @ d[:-1] / (d @ d)), float((a - a.mean())[1:] @ (a - a.mean())[:-1] / ((a - a.mean()) @ (a - a.mean()))), 0.0)
    n_eff = 96 * (1 - rho) / (1 + rho)
    assert s["n_eff"] == pytest.approx(n_eff)
    assert s["mape_lcb_pct"] == pytest.approx(a.mean() - 3.0 * a.std(ddof=1) / math.sqrt(n_eff))
    assert s["abs_bias_lcb_pct"] == pytest.approx(abs(e.mean()) - 3.0 * e.std(ddof=1) / math.sqrt(n_eff))
    # false alarms on healthy windows; power against a bias of 1.5 and 2 x the validated MAPE: the bias
    # test needs |mean| > m_v + 3 sigma / sqrt(96) = 0.83 %, so about P(Z > (0.83 - 0.9) / 0.077) = 0.82 and ~1
    healthy = sum(window_statistics(sigma * rng.standard_normal(96), m_v, cfg)["flagged"] for _ in range(2000))
    biased_15 = sum(window_statistics(1.5 * m_v + sigma * rng.standard_normal(96), m_v, cfg)["flagged"] for _ in range(500))
    biased_20 = sum(window_statistics(2.0 * m_v + sigma * rng.standard_normal(96), m_v, cfg)["flagged"] for _ in range(500))
    assert healthy <= 4  # <= 0.2 %
    assert 0.65 * 500 <= biased_15 <= 0.95 * 500
    assert biased_20 >= 498


# ============================================================================  retraining


def test_retrain_on_degraded_data_replaces_b1_only(site, campaign, tmp_path, models):
    out = tmp_path / "retrained"
    table = retrain(site, MODELS, campaign["degraded"], out, 0.25, config=FAST, window_hours=72)
    assert table.attrs["written"] and table.attrs["out_dir"] == str(out)
    assert table.index[table["replace"]].tolist() == ["B1_fuel"]
    b1 = table.loc["B1_fuel"]
    assert b1["old_mape_pct"] > 3.5 and b1["old_bias_pct"] < -3.5       # the current model under-predicts the fuel
    assert b1["new_mape_pct"] < 1.0 and b1["new_mape_pct"] < 0.25 * b1["old_mape_pct"]
    assert b1["paired_t"] > 10 and b1["holdout_rows"] >= MIN_HOLDOUT_ROWS
    new = load_model_dir(out)
    old_manifest, new_manifest = read_manifest(MODELS), read_manifest(out)
    assert list(new) == list(models)
    assert new_manifest.models["B1_fuel"].sha256 != old_manifest.models["B1_fuel"].sha256
    for n in models:
        if n != "B1_fuel":
            assert new_manifest.models[n].sha256 == old_manifest.models[n].sha256  # copied byte for byte
    acc = {r["quantity"]: r for r in json.loads((out / "accuracy.json").read_text())}
    assert acc["B1_fuel"]["origin"].startswith("retrained") and acc["B2_fuel"]["origin"].startswith("copied unchanged")
    assert acc["B1_fuel"]["test"]["mape_pct"][0] == pytest.approx(b1["new_mape_pct"])
    report = json.loads((out / "retrain.json").read_text())
    assert report["replaced"] == ["B1_fuel"] and len(report["kept"]) == 13  # the other 8 units', the column's 2, TG3's and the 2 ducts'

    # on fresh recent data of the degraded plant (another day, other noise), the new B1 model is better
    fresh = _run(site, campaign["plant"], 24, seed=23, policy="campaign", start="2026-01-09 00:00")
    fresh = fresh[(fresh["B1.steam_tph"] > 45.0)]
    x, y = fresh[["B1.steam_tph", "ambient_temp_c"]], fresh["B1.fuel_gj_h"].to_numpy()
    old_mape = float(np.mean(np.abs(models["B1_fuel"].evaluate_batch(x)[:, 0] / y - 1.0))) * 100
    new_mape = float(np.mean(np.abs(new["B1_fuel"].evaluate_batch(x)[:, 0] / y - 1.0))) * 100
    assert len(fresh) > 40 and old_mape > 3.5 and new_mape < 1.2

    # and the monitor, on the new directory's bands, sees the degraded plant inside them
    mon = DriftMonitor.from_model_dir(out)
    mon.observe_frame(_run(site, campaign["plant"], 36, seed=29, start="2026-01-09 00:00"))
    assert mon.flagged() == []
    assert mon.status().loc["B1_fuel", "mape_pct"] < mon.status().loc["B1_fuel", "band_mape_pct"]


def test_retrain_on_healthy_data_writes_nothing(site, campaign, tmp_path):
    out = tmp_path / "retrained"
    table = retrain(site, MODELS, campaign["healthy"], out, 0.25, config=FAST, window_hours=72)
    assert not table.attrs["written"] and table.attrs["out_dir"] is None and not out.exists()
    assert not table["replace"].any()
    assert not any(p.name.startswith(".retrained") for p in tmp_path.iterdir())
    # the rule, row by row: replace only when 10 % better, significant and covering the domain
    rule = (table["new_mape_pct"] <= 0.9 * table["old_mape_pct"]) & (table["paired_t"] >= 3.0) & (table["min_domain_coverage"] >= 0.5)
    assert (rule == table["replace"]).all()
    # the bundled models fit the healthy plant (TG3 on standby under practice: no rows, kept)
    assert table.loc["TG3_steam", "old_mape_pct"] != table.loc["TG3_steam", "old_mape_pct"] and not table.loc["TG3_steam", "replace"]
    assert (table.drop(index="TG3_steam")["old_mape_pct"] < 0.75).all()
    # GT models: a few days cover a sliver of the fouling-hours range
    assert (table.loc[["GT1_fuel", "GT2_fuel"], "min_domain_coverage"] < 0.1).all()
    assert table.loc["GT1_fuel", "reason"].count("cover too little") == 1


def test_retrain_refuses_narrow_data_before_training(site, campaign, tmp_path, monkeypatch):
    """Data that cover too little of a model's domain are refused at once (the candidate's domain
    is its training rows' box, known before the fit): no training for that model."""
    import scenarios.retrain as rt

    trained = []
    real = rt.train_quantity

    def spy(data, config):
        trained.append(data.spec.name)
        return real(data, config)

    monkeypatch.setattr(rt, "train_quantity", spy)
    table = retrain(site, MODELS, campaign["healthy"], tmp_path / "new", 0.25, config=FAST, window_hours=72, only=["B1_fuel", "GT1_fuel"])
    assert trained == ["B1_fuel"]
    assert table.loc["GT1_fuel", "reason"].startswith("recent data cover too little of the domain") and "(not trained)" in table.loc["GT1_fuel", "reason"]
    assert table.loc["GT1_fuel", "min_domain_coverage"] < 0.1 and np.isnan(table.loc["GT1_fuel", "new_mape_pct"])


def test_retrain_keeps_a_model_without_data(site, campaign, tmp_path):
    frame = campaign["degraded"].copy()
    frame[["B4.steam_tph", "B4.fuel_gj_h"]] = 0.0  # B4 off the whole time
    table = retrain(site, MODELS, frame, tmp_path / "new", config=FAST, window_hours=72, only=["B1_fuel", "B4_fuel"])
    assert table.attrs["written"] and table.index[table["replace"]].tolist() == ["B1_fuel"]
    assert table.loc["B4_fuel", "reason"].startswith("not enough data: B4_fuel: only 0 usable rows")
    assert table.loc["B2_fuel", "reason"] == "not selected"
    assert len(load_model_dir(tmp_path / "new")) == 14  # 9 units' curves, the column's steam and purity, TG3's steam, the 2 ducts'


def test_retrain_bad_inputs(site, campaign, tmp_path):
    frame = campaign["healthy"]
    with pytest.raises(ValueError, match=r"column\(s\) 'B1.fuel_gj_h' missing"):
        retrain(site, MODELS, frame.drop(columns="B1.fuel_gj_h"), tmp_path / "a")
    with pytest.raises(ValueError, match=rf"historian: 30 rows; need at least {MIN_FIT_ROWS + MIN_HOLDOUT_ROWS}"):
        retrain(site, MODELS, frame.iloc[:30], tmp_path / "a")
    with pytest.raises(ValueError, match="in the last 2 h; need at least"):
        retrain(site, MODELS, frame, tmp_path / "a", window_hours=2)
    with pytest.raises(ValueError, match=r"holdout_fraction = 0.9: must be between 0.05 and 0.5"):
        retrain(site, MODELS, frame, tmp_path / "a", 0.9)
    with pytest.raises(ValueError, match="expected a pandas DataFrame"):
        retrain(site, MODELS, frame.to_dict(), tmp_path / "a")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"only = \['B9_fuel'\]: not models"):
        retrain(site, MODELS, frame, tmp_path / "a", only=["B9_fuel"])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    with pytest.raises(ValueError, match="exists and is not an empty directory"):
        retrain(site, MODELS, frame, tmp_path / "full")
    assert not (tmp_path / "a").exists()


def test_paired_improvement():
    old = np.array([2.0, 3.0, 2.5, 3.5])
    mean, t = paired_improvement(old, old - 1.0)
    assert mean == pytest.approx(1.0) and t == math.inf
    d = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])  # negative lag-1 autocorrelation: clipped to 0, n_eff = n
    mean, t = paired_improvement(d, np.zeros(6))
    assert t == pytest.approx(0.5 / (np.std(d, ddof=1) / math.sqrt(6)))


# ============================================================================  command line


def test_cli_drift_and_retrain(site, campaign, practice, tmp_path, capsys):
    degraded, healthy = tmp_path / "degraded.parquet", tmp_path / "healthy.parquet"
    practice["degraded"].to_parquet(degraded)
    practice["healthy"].to_parquet(healthy)
    args = ["surrogate", "drift", "--site", str(SITE_FILE), "--models", str(MODELS), "--data"]
    assert main([*args, str(degraded)]) == 1
    out = capsys.readouterr().out
    assert "flagged: B1_fuel" in out and "B2_fuel" in out
    assert main([*args, str(healthy)]) == 0
    assert "flagged: none" in capsys.readouterr().out

    recent = tmp_path / "recent.parquet"
    campaign["degraded"].to_parquet(recent)
    rt = ["surrogate", "retrain", "--site", str(SITE_FILE), "--models", str(MODELS), "--data", str(recent), "--window-hours", "72",
          "--only", "B1_fuel", "--out"]
    assert main([*rt, str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    assert "| B1_fuel |" in out and "replaced: held-out MAPE" in out and f"wrote {tmp_path / 'new'}" in out
    assert "B1_fuel" in load_model_dir(tmp_path / "new")
    assert main([*rt, str(tmp_path / "new")]) == 2  # exists and not empty
    assert "exists and is not an empty directory" in capsys.readouterr().err
    assert main(["surrogate", "retrain", "--site", str(SITE_FILE), "--models", str(MODELS), "--data", str(tmp_path / "none.parquet"),
                 "--out", str(tmp_path / "x")]) == 2
    assert "historian file not found" in capsys.readouterr().err


# ============================================================================  in the supervisory cycle


def test_supervisor_reports_drift_of_the_degrading_boiler(site, models):
    """``SupervisorConfig(drift=True)``: the cycle feeds the monitor from its own snapshots
    (which carry the measured fuel flows as optional tags) and the Proposal names B1_fuel once
    its window holds enough evidence; healthy models stay in band."""
    from optimizer.supervisor import Supervisor, SupervisorConfig
    from scenarios.plant.snapshots import snapshot_from_state

    plant = DegradingPlant(site, "B1", START + pd.Timedelta(hours=2), 6.0, LOSS)
    sup = Supervisor(site, models, SupervisorConfig(drift=True))
    profile = generate_disturbances(site, ProfileConfig(start=START, hours=36, step_min=15, seed=3))
    rng = np.random.default_rng(3)
    flagged_at = None
    for d in profile:
        snap = snapshot_from_state(site, plant.simulate(todays_practice(site, d), d), d, noise=0.005, rng=rng)
        assert "B1.fuel_gj_h" in snap and "GT1.hrsg_unfired_tph" in snap
        p = sup.step(snap)
        assert p.ok and set(p.drift["models"]) == set(models)
        if flagged_at is None and p.drift["flagged"]:
            flagged_at, first = d.timestamp, p
    assert flagged_at is not None and first.drift["flagged"] == ["B1_fuel"]
    assert any("B1_fuel" in w and "validated accuracy band" in w for w in first.warnings)
    b1 = p.drift["models"]["B1_fuel"]
    # the true error: B1 burns 4 points of efficiency more than the model knows (about -4.5 %)
    assert b1["flagged"] and -5.5 < b1["bias_pct"] < -3.5 and b1["mape_pct"] > 2 * b1["validated_mape_pct"]
    for name, m in p.drift["models"].items():
        if name == "TG3_steam":  # on standby under practice: no observations, never flagged
            assert not m["flagged"] and m["n"] == 0
        elif name != "B1_fuel":
            assert not m["flagged"] and m["n"] >= 32 and m["mape_pct"] < 2 * m["validated_mape_pct"], name
    json.dumps(p.to_dict())  # plain data
    # an explicit reload of the same models keeps the windows; without drift=True nothing is observed
    ok, _ = sup.reload(site_path=SITE_FILE)
    assert ok and sup.drift_monitor.flagged() == ["B1_fuel"]
    assert Supervisor(site, models).step(snap).drift == {}
