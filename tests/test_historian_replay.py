"""Historian replay and the adherence report, on simulator historians of the reference site.

Two historians of 6 h at 15 min: (a) operators follow every proposal (closed loop: each proposal
applied to the simulator gives the next row), (b) operators ignore it (today's practice). The
live supervisor's proposals are recorded as the historian is made; the replay must reproduce them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.audit import compare_proposals, read_log, replay
from optimizer.site import load_site
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.adherence import UNATTRIBUTED, adherence_report, decision_setpoints, write_adherence
from scenarios.cli import main
from scenarios.historian_replay import prepare_historian, replay_historian, snapshots_from_historian, write_replay
from scenarios.plant.apply import setpoints_from_proposal
from scenarios.plant.historian import SensorNoise, write_historian
from scenarios.plant.practice import todays_practice
from scenarios.plant.profiles import ProfileConfig, generate_disturbances
from scenarios.plant.simulator import PlantSimulator
from scenarios.plant.snapshots import snapshot_from_state
from scenarios.training import read_historian
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]
SITE_PATH = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
MODEL_DIR = ROOT / "scenarios" / "models" / "reference_olefins"
SITE = load_site(SITE_PATH)
STEP_H = 0.25


def _live(follow: bool):
    """A live run: the supervisor reads each row as it is recorded; the row is the plant's state
    (the simulator's tags, as ``steamopt simulate`` writes them)."""
    models = load_model_dir(MODEL_DIR)
    sim = PlantSimulator(SITE)
    profile = generate_disturbances(SITE, ProfileConfig(hours=6, step_min=15, seed=3))
    sup = Supervisor(SITE, models, SupervisorConfig(cycle_s=900.0), properties=sim.props)
    setpoints = todays_practice(SITE, profile[0])
    rows, proposals = [], []
    for d in profile:
        if not follow:
            setpoints = todays_practice(SITE, d)
        state = sim.simulate(setpoints, d)
        proposals.append(sup.step(snapshot_from_state(SITE, state, d)))
        rows.append(state.tags)
        if follow:
            setpoints = setpoints_from_proposal(SITE, proposals[-1], setpoints)
    frame = pd.DataFrame(rows, index=pd.DatetimeIndex([d.timestamp for d in profile], name="timestamp"))
    return frame, proposals


@pytest.fixture(scope="module")
def models():
    return load_model_dir(MODEL_DIR)


def _replayed(models, tmp_path_factory, follow: bool):
    """(historian, live proposals, replay, adherence report) of operators following the advice or not."""
    frame, live = _live(follow=follow)
    log = tmp_path_factory.mktemp("followed" if follow else "ignored") / "advisory.jsonl"
    result = replay_historian(SITE, models, frame, log_path=log)
    return frame, live, result, adherence_report(SITE, models, result, frame)


@pytest.fixture(scope="module")
def followed(models, tmp_path_factory):
    return _replayed(models, tmp_path_factory, follow=True)


@pytest.fixture(scope="module")
def ignored(models, tmp_path_factory):
    return _replayed(models, tmp_path_factory, follow=False)


# ---------------------------------------------------------------------- replay
@pytest.mark.parametrize("case", ["followed", "ignored"])
def test_replay_reproduces_the_live_proposals(case, request):
    frame, live, result, _ = request.getfixturevalue(case)
    assert len(result.proposals) == len(live) == len(frame) == 24
    for a, b in zip(live, result.proposals):
        assert a.status == b.status == "optimal"
        assert compare_proposals(a.to_dict(), b.to_dict(), rtol=1e-9) == []
        assert a.setpoints.keys() == b.setpoints.keys()
    assert result.step_hours == pytest.approx(STEP_H)
    assert result.config.cycle_s == pytest.approx(900.0)
    assert result.warnings == []
    # totals: the predicted savings integrated over the period with the 15-min step
    cost = sum(p.savings["cost_per_h"] for p in live) * STEP_H
    co2e = sum(p.savings["co2e_t_h"] for p in live) * STEP_H
    assert result.totals["predicted_saving"] == pytest.approx(cost, rel=1e-12)
    assert result.totals["predicted_co2e_saving_t"] == pytest.approx(co2e, rel=1e-12)
    assert result.totals["status_optimal"] == 24
    s = result.steps
    assert list(s.index) == list(frame.index)
    np.testing.assert_allclose(s["predicted_saving_per_h"], s["current_cost_per_h"] - s["proposed_cost_per_h"], rtol=1e-12)


def test_ignored_advice_saves_what_practice_leaves(ignored, followed):
    """Today's practice leaves a saving every step; a plant already following has little left."""
    rb, ra = ignored[2], followed[2]
    assert (rb.steps["predicted_saving_per_h"] > 0).all()
    assert rb.totals["predicted_saving_pct"] > 2.0
    # after the first step the followed plant is at the optimum: what is left per step is far smaller
    assert ra.steps["predicted_saving_per_h"].iloc[1:].mean() < 0.1 * rb.steps["predicted_saving_per_h"].mean()


def test_advisory_log_has_one_line_per_row_and_replays(followed, ignored, models):
    for frame, _, result, _ in (followed, ignored):
        records = read_log(result.log_path)
        assert len(records) == len(frame)
        assert [r["proposal"]["timestamp"] for r in records] == [t.isoformat() for t in frame.index]
    records = read_log(followed[2].log_path)
    for i in (0, 1, 12, 23):
        proposal, diffs = replay(SITE, models, records[i])
        assert diffs == [], (i, diffs[:5])
        assert proposal.status == "optimal"


def test_snapshots_carry_only_the_tags_the_supervisor_reads(followed):
    frame = followed[0]
    snaps = snapshots_from_historian(SITE, frame)
    sim_snap_keys = set(snapshot_from_state(SITE, PlantSimulator(SITE).simulate(todays_practice(SITE, generate_disturbances(SITE, ProfileConfig(hours=1))[0]),
                                                                                  generate_disturbances(SITE, ProfileConfig(hours=1))[0]),
                                            generate_disturbances(SITE, ProfileConfig(hours=1))[0]))
    assert len(snaps) == len(frame)
    assert set(snaps[0]) == sim_snap_keys
    assert not any(k.startswith("site.") for k in snaps[0])
    # the process load is derived from the simulator's site.load_mw and site.motor_mw
    assert snaps[3]["site_load_mw"] == pytest.approx(frame["site.load_mw"].iloc[3] - frame["site.motor_mw"].iloc[3], abs=1e-9)


# ---------------------------------------------------------------------- adherence
def test_followed_advice_is_followed_and_captured(followed):
    rep = followed[3]
    t = rep.totals
    assert t["steps_assessed"] == 23
    assert t["setpoint_moves_advised"] >= 8           # the first step moves boilers, turbines, the BFP drive
    assert t["setpoints_followed_pct"] >= 95.0
    assert t["captured_pct"] > 80.0
    assert t["captured_saving"] + t["gap"] == pytest.approx(t["proposed_saving"], rel=1e-9)
    first = rep.steps.iloc[0]
    assert first["units_advised"] >= 4 and first["units_followed"] == first["units_advised"]


def test_followed_advice_with_sensor_noise(followed, models):
    """Noise of 0.5 % on the measurements does not turn following into ignoring."""
    noisy = SensorNoise(relative_std=0.005, seed=2).apply(followed[0])
    result = replay_historian(SITE, models, noisy)
    rep = adherence_report(SITE, models, result, noisy)
    assert rep.totals["setpoints_followed_pct"] >= 90.0
    assert rep.totals["captured_pct"] > 80.0


def test_ignored_advice_is_not_followed_and_the_gap_is_on_the_units_not_moved(ignored):
    rep = ignored[3]
    t = rep.totals
    assert t["steps_with_advice"] == 23
    assert t["setpoint_moves_advised"] >= 100
    assert t["setpoints_followed_pct"] < 5.0
    assert t["captured_pct"] < 2.0
    assert t["gap"] > 0.98 * t["proposed_saving"] > 0
    # closure: per-unit gaps (and the unattributed remainder) add up to the total gap, per step and overall
    u = rep.units
    assert u["gap"].sum() == pytest.approx(t["gap"], rel=1e-9)
    assert (u["captured_saving"] + u["gap"]).sum() == pytest.approx(t["proposed_saving"], rel=1e-9)
    np.testing.assert_allclose(rep.steps["captured_saving_per_h"] + rep.steps["gap_per_h"], rep.steps["proposed_saving_per_h"], rtol=1e-9)
    # the gap sits on costed units the proposals moved and the operators did not
    gap_units = u[u["gap"] > 0.01 * t["gap"]]
    assert len(gap_units) >= 3
    assert UNATTRIBUTED not in gap_units.index
    assert (gap_units["steps_advised"] > 0).all() and (gap_units["followed_pct"] == 0).all()
    assert (gap_units["mean_progress"] < 0.05).all()
    assert gap_units["costed"].all()
    # the boilers practice keeps on (B4, the least efficient, first) and the generators carry the gap
    assert u.index[0] == "B4"
    assert {"B4", "TG1", "TG2"} <= set(gap_units.index)
    # constraints: every limit binding at every step carries the whole gap of those steps
    c = rep.constraints
    always = c[c["steps_binding"] == 23]
    assert len(always) >= 1
    np.testing.assert_allclose(always["gap_when_binding"], t["gap"], rtol=1e-9)
    assert (c["worth_per_unit"] >= 0).all()


def test_setpoint_table_and_rules(ignored):
    rep = ignored[3]
    sp = rep.setpoints
    tags = {d.tag for d in decision_setpoints(SITE)}
    assert set(sp["tag"]) <= tags and "B4.steam_tph" in set(sp["tag"])
    adv = sp[sp["advised"]]
    assert (np.abs(adv["proposed"] - adv["current"]) > adv["deadband"]).all()
    fol = sp[sp["followed"]]
    assert (np.abs(fol["next"] - fol["proposed"]) <= np.maximum(fol["deadband"], 0.5 * np.abs(fol["proposed"] - fol["current"])) + 1e-12).all()


def test_outputs_written(ignored, tmp_path):
    frame, _, result, rep = ignored
    paths = {**write_replay(result, tmp_path), **write_adherence(rep, tmp_path, result)}
    for key in ("steps_csv", "steps_parquet", "adherence_units_csv", "adherence_units_parquet", "adherence_constraints_parquet",
                "adherence_steps_parquet", "adherence_setpoints_csv", "summary", "plot"):
        assert paths[key].is_file() and paths[key].stat().st_size > 0, key
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    units = pd.read_parquet(paths["adherence_units_parquet"])
    assert units["gap"].sum() == pytest.approx(rep.totals["gap"], rel=1e-9)
    steps = pd.read_parquet(paths["steps_parquet"])
    assert len(steps) == len(frame)
    text = paths["summary"].read_text()
    assert "## Per unit" in text and "B4" in text and f"{rep.totals['gap']:,.0f}" in text


# ---------------------------------------------------------------------- input files and bad tables
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_csv_and_parquet_input(kind, ignored, models, tmp_path):
    frame, live = ignored[0], ignored[1]
    paths = write_historian(frame, tmp_path)
    table = read_historian(paths[kind])
    result = replay_historian(SITE, models, table, limit=4)
    assert len(result.proposals) == 4
    for a, b in zip(live[:4], result.proposals):
        assert compare_proposals(a.to_dict(), b.to_dict(), rtol=1e-9) == []


def test_missing_column_and_nan_cells(ignored, models):
    frame = ignored[0].iloc[:4].drop(columns=["GT2.fouling_hours"]).copy()
    frame.iloc[2, frame.columns.get_loc("B1.steam_tph")] = np.nan
    result = replay_historian(SITE, models, frame)
    assert any("GT2.fouling_hours" in w for w in result.warnings)
    # fouling never read (GT2 held) and the empty cell: solved on substitutes (advisory)
    assert [p.status for p in result.proposals] == ["substituted"] * 4
    subs = [{s["tag"]: s for s in p.substitutions} for p in result.proposals]
    # fouling never read: GT2's maximum is unknown, so GT2 is held (never a fouling of 0 h)
    assert all(s["GT2.fouling_hours"]["source"] == "held" for s in subs)
    assert all("GT2" in p.held_units for p in result.proposals)
    # the empty cell: B1 held at its last good reading, in that row only
    assert subs[2]["B1.steam_tph"]["source"] == "last good"
    assert subs[2]["B1.steam_tph"]["used"] == pytest.approx(frame["B1.steam_tph"].iloc[1])
    assert "B1" in result.proposals[2].held_units and "B1.steam_tph" not in subs[3]


def test_unsorted_rows_are_sorted_with_a_warning(ignored, models):
    frame = ignored[0].iloc[:4]
    shuffled = frame.iloc[[2, 0, 3, 1]]
    result = replay_historian(SITE, models, shuffled)
    assert any("out of time order" in w for w in result.warnings)
    assert list(result.steps.index) == list(frame.index)
    for a, b in zip(ignored[1][:4], result.proposals):
        assert compare_proposals(a.to_dict(), b.to_dict(), rtol=1e-9) == []


def test_duplicated_or_missing_timestamps_are_refused(ignored, models):
    frame = ignored[0].iloc[:4]
    dup = pd.concat([frame, frame.iloc[[1]]])
    with pytest.raises(ValueError, match=r"duplicated timestamp.*2026-01-05T00:15:00"):
        replay_historian(SITE, models, dup)
    nat = frame.copy()
    nat.index = pd.DatetimeIndex([frame.index[0], pd.NaT, frame.index[2], frame.index[3]], name="timestamp")
    with pytest.raises(ValueError, match="without a timestamp"):
        prepare_historian(nat)
    with pytest.raises(ValueError, match="index: must be timestamps"):
        prepare_historian(frame.reset_index(drop=True).set_axis([f"row{i}" for i in range(4)]))
    with pytest.raises(ValueError, match="limit = 0"):
        replay_historian(SITE, models, frame, limit=0)


def test_stale_check_uses_the_row_time(ignored, models):
    """Live with a staleness check, each row was fresh when recorded: the replay's clock is the row's time."""
    result = replay_historian(SITE, models, ignored[0].iloc[:3], config=SupervisorConfig(cycle_s=900.0, stale_after_s=120.0))
    assert [p.status for p in result.proposals] == ["optimal"] * 3
    for a, b in zip(ignored[1][:3], result.proposals):
        assert compare_proposals(a.to_dict(), b.to_dict(), rtol=1e-9) == []


# ---------------------------------------------------------------------- command line
def test_cli_historian_replay(ignored, tmp_path, capsys):
    paths = write_historian(ignored[0], tmp_path / "hist")
    out = tmp_path / "out"
    rc = main(["historian", "replay", "--site", str(SITE_PATH), "--models", str(MODEL_DIR), "--data", str(paths["csv"]),
               "--out", str(out), "--limit", "6", "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "predicted saving" in text and "captured" in text and "## Per unit" in text
    assert len(read_log(out / "advisory.jsonl")) == 6
    for name in ("steps.csv", "steps.parquet", "adherence_units.csv", "adherence_constraints.csv", "summary.md", "adherence.png"):
        assert (out / name).is_file(), name
    steps = pd.read_csv(out / "steps.csv", index_col=0)
    expected = sum(p.savings["cost_per_h"] for p in ignored[1][:6]) * STEP_H
    assert steps["predicted_saving_per_h"].sum() * STEP_H == pytest.approx(expected, rel=1e-9)
    assert math.isfinite(pd.read_csv(out / "adherence_units.csv")["gap"].sum())


def test_cli_bad_historian(tmp_path, capsys):
    bad = tmp_path / "h.txt"
    bad.write_text("x")
    rc = main(["historian", "replay", "--site", str(SITE_PATH), "--models", str(MODEL_DIR), "--data", str(bad), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "historian must be .parquet or .csv" in capsys.readouterr().err
