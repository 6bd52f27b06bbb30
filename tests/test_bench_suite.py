"""The benchmark suite's generator and comparison logic (no timing assertions: latency is
measured by ``make bench``, never asserted here)."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is a source folder, not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import suite  # noqa: E402
from benchmarks.site_generator import COPIED, generate, site_dict, unit_count  # noqa: E402
from surrogate.manifest import load_model_dir, read_manifest  # noqa: E402


@pytest.fixture(scope="module")
def m_site(tmp_path_factory):
    return generate("M", cache=tmp_path_factory.mktemp("bench_sites"))


def test_generated_site_validates_with_unique_ids(m_site):
    site, _ = m_site
    ref, _ = generate("S")
    assert len(site.boilers) == 3 * len(ref.boilers) and len(site.consumers) == 3 * len(ref.consumers)
    assert unit_count(site) == 3 * unit_count(ref)
    ids = [k for coll in ("headers", "fuels", *COPIED, "vents") for k in getattr(site, coll)]
    assert len(ids) == len(set(ids))
    assert {"B1", "B1_2", "B1_3", "CGC_COND_3", "TLE_2"} <= set(ids)
    assert list(site.headers) == list(ref.headers)                      # headers shared
    assert site.turbines["CGC_2"].sections[-1].outlet == "CGC_COND_2"   # own condenser
    assert site.vents["V_LP"].max_flow_tph == pytest.approx(3 * ref.vents["V_LP"].max_flow_tph)
    assert site.electricity.site_load_mw == pytest.approx(3 * ref.electricity.site_load_mw)
    assert site.practice.turbine_power_mw["TG1_3"] == ref.practice.turbine_power_mw["TG1"]


def test_generator_is_deterministic():
    assert site_dict(3) == site_dict(3)
    assert site_dict(1)["name"] == "reference_olefins"


def test_manifest_inputs_renamed(m_site):
    _, model_dir = m_site
    entries = read_manifest(model_dir).models
    assert len(entries) == 3 * 9
    assert entries["B1_2_fuel"].inputs == ("B1_2.steam_tph", "ambient_temp_c")
    assert entries["GT2_3_hrsg"].inputs == ("GT2_3.power_mw", "ambient_temp_c", "GT2_3.fouling_hours")
    assert entries["TG2_2_steam"].outputs == ("TG2_2.inlet_tph",)
    served = load_model_dir(model_dir)  # hashes, names and tags all check
    ref = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")
    for w1, w2 in zip(served["B4_3_fuel"].network.weights, ref["B4_fuel"].network.weights):
        assert (w1 == w2).all()


def test_supervisor_steps_optimal_on_m(m_site):
    from optimizer.supervisor import Supervisor

    site, model_dir = m_site
    sup = Supervisor(site, load_model_dir(model_dir))
    snaps = suite._snapshots(site, 2)
    proposals = [sup.step(s) for s in snaps]
    assert [p.status for p in proposals] == ["optimal", "optimal"]
    assert max(proposals[-1].surrogate_agreement.values()) <= 1e-6
    assert "B1_3.steam_tph" in proposals[-1].setpoints


def _fake_run(p95_step_s: float = 12.0) -> dict:
    step = {"median_ms": 10.0, "p95_ms": p95_step_s, "p99_ms": 14.0, "max_ms": 15.0, "n": 48}
    direct = {"median_ms": 5.0, "p95_ms": 6.0, "p99_ms": 7.0, "max_ms": 8.0, "n": 48}
    size = {"site": "reference_olefins", "units": 35, "variables": 186, "constraints": 182, "binaries": 59,
            "binaries_free_median": 13, "binaries_free_max": 16, "nodes_median": 1, "nodes_max": 1,
            "statuses": {"optimal": 48}, "step": step, "direct": direct, "step_over_direct": 2.0}
    return {"quick": True, "machine": {"timestamp": "2026-01-01T00:00:00+00:00", "git_commit": "x", "platform": "test", "cpu_count": 2,
                                       "python": "3", "numpy": "2", "highspy": "1", "pyomo": "6", "omlt": "1", "onnxruntime": "1"},
            "time_budget_ms": 1000.0, "sizes": {"S": size}, "cases": {"step_S": step, "direct_S": direct},
            "omlt": {}, "growth": None, "seconds": 1.0}


def test_regression_flagged_and_exit_nonzero(tmp_path):
    cur, prev = _fake_run(12.0), _fake_run(12.0)
    prev["cases"]["step_S"] = {**prev["cases"]["step_S"], "p95_ms": 9.0}   # 12 / 9 = 1.33 > 1.2
    flagged = suite.compare_runs(cur, prev)
    assert [f["case"] for f in flagged] == ["step_S"]
    assert suite.exit_status(cur, flagged) == 2
    (tmp_path / "cur.json").write_text(json.dumps(cur))
    (tmp_path / "prev.json").write_text(json.dumps(prev))
    code = suite.main(["--from-json", str(tmp_path / "cur.json"), "--compare", str(tmp_path / "prev.json"), "--md", str(tmp_path / "t.md")])
    assert code != 0
    assert "REGRESSION" in (tmp_path / "t.md").read_text()


def test_no_flag_within_20_percent_and_budget_gate():
    cur, prev = _fake_run(12.0), _fake_run(11.0)   # 9 % worse: not a regression
    assert suite.compare_runs(cur, prev) == []
    assert suite.exit_status(cur, []) == 0
    over = copy.deepcopy(cur)
    over["sizes"]["S"]["step"]["p95_ms"] = 1500.0   # beyond the 1 s budget
    assert suite.exit_status(over, []) == 1
    md = suite.markdown(over, [])
    assert "MISSED" in md and "Exit status 1" in md
