"""Audit trail: hashes in every proposal, one JSON line per cycle, exact replay; concurrency."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import pandas as pd
import pytest

from optimizer.audit import read_log, replay, sha256_of
from optimizer.site import load_site
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.cli import main
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
MODEL_DIR = ROOT / "scenarios" / "models" / "reference_olefins"
SITE, MODELS = load_site(SITE_FILE), load_model_dir(MODEL_DIR)
SNAPSHOT = json.loads((ROOT / "scenarios" / "snapshots" / "reference_olefins.json").read_text())


def snapshots(n: int, start: str = "2026-03-02 10:00") -> list[dict]:
    out = []
    for i in range(n):
        s = copy.deepcopy(SNAPSHOT)
        s["timestamp"] = (pd.Timestamp(start) + pd.Timedelta(minutes=i)).isoformat()
        s["MP_BUTADIENE.steam_tph"] = 25.0 + i
        out.append(s)
    return out


def test_every_proposal_carries_its_provenance():
    sup = Supervisor(SITE, MODELS)
    snap = snapshots(1)[0]
    p = sup.step(snap)
    a = p.audit
    assert a["engine_version"] and a["site_hash"] == sha256_of(SITE)
    assert a["model_hashes"] == {n: m.sha256 for n, m in MODELS.items()}
    assert a["snapshot_hash"] == sha256_of(snap) and len(a["config_hash"]) == 64
    assert json.loads(p.to_json_line())["audit"] == a
    bad = sup.step("garbage")
    assert bad.status == "invalid_input" and bad.audit["snapshot_hash"] == sha256_of("garbage")


def test_logged_cycles_replay_exactly(tmp_path):
    log = tmp_path / "audit.jsonl"
    sup = Supervisor(SITE, MODELS, SupervisorConfig(audit_log=str(log)))
    snaps = snapshots(4)
    snaps[2]["TLE.steam_tph"] = float("nan")  # substituted by the last good value: replay must use it too
    proposals = [sup.step(s) for s in snaps]
    records = read_log(log)
    assert len(records) == 4 and [r["proposal"]["status"] for r in records] == [p.status for p in proposals]
    assert records[2]["proposal"]["substitutions"][0]["tag"] == "TLE.steam_tph"
    for rec in records:
        replayed, diffs = replay(SITE, MODELS, rec)
        assert diffs == [], diffs
    assert main(["replay", "--site", str(SITE_FILE), "--models", str(MODEL_DIR), "--log", str(log)]) == 0


def test_replay_refuses_a_changed_site(tmp_path):
    log = tmp_path / "audit.jsonl"
    Supervisor(SITE, MODELS, SupervisorConfig(audit_log=str(log))).step(snapshots(1)[0])
    text = SITE_FILE.read_text().replace("price_per_gj = 279.6", "price_per_gj = 300.0", 1)
    changed = tmp_path / "site.toml"
    changed.write_text(text)
    with pytest.raises(ValueError, match="site_hash differs"):
        replay(load_site(changed), MODELS, read_log(log)[0])


def test_unwritable_audit_log_does_not_stop_the_cycle(tmp_path, caplog):
    """The cycle answers, and the failure to write its record is logged as an error naming the file."""
    import logging

    path = tmp_path / "missing" / "dir" / "audit.jsonl"
    sup = Supervisor(SITE, MODELS, SupervisorConfig(audit_log=str(path)))
    with caplog.at_level(logging.WARNING):
        assert sup.step(snapshots(1)[0]).status == "optimal"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and str(path) in r.getMessage()]
    assert errors, [r.getMessage() for r in caplog.records]
    assert not path.exists()


def test_one_supervisor_from_several_threads_is_serialised(monkeypatch):
    """Three threads share one Supervisor: the cycles run one at a time (never two inside a
    cycle at once: each cycle is slowed so that overlapping calls would overlap there), every
    call answers, out-of-order timestamps are refused and the rest are solved."""
    import time

    sup = Supervisor(SITE, MODELS)
    snaps = snapshots(12)
    results: dict[int, str] = {}
    inside = {"now": 0, "most": 0}
    guard = threading.Lock()
    real = sup.validator.validate

    def validate(snapshot, now=None):
        with guard:
            inside["now"] += 1
            inside["most"] = max(inside["most"], inside["now"])
        time.sleep(0.02)  # widen the window in which an unserialised call would overlap
        try:
            return real(snapshot, now=now)
        finally:
            with guard:
                inside["now"] -= 1

    monkeypatch.setattr(sup.validator, "validate", validate)
    start = threading.Barrier(3)

    def worker(k: int) -> None:
        start.wait()
        for i in range(k, 12, 3):
            results[i] = sup.step(snaps[i]).status

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert inside["most"] == 1, f"{inside['most']} cycles ran at once"
    assert len(results) == 12
    # out-of-order timestamps are refused, everything else is solved; nothing raised
    assert set(results.values()) <= {"optimal", "invalid_input"} and "optimal" in results.values()


def test_supervisors_in_one_process_do_not_interfere():
    a, b = Supervisor(SITE, MODELS), Supervisor(SITE, MODELS, SupervisorConfig(objective="co2e"))
    snap = snapshots(1)[0]
    alone = Supervisor(SITE, MODELS).step(copy.deepcopy(snap))
    pa, pb = a.step(copy.deepcopy(snap)), b.step(copy.deepcopy(snap))
    assert pa.setpoints == alone.setpoints
    assert pb.proposed_kpis["co2e_t_h"] <= pa.proposed_kpis["co2e_t_h"] + 1e-9
    assert a._solver is not b._solver


def test_another_highs_user_in_the_calling_thread_does_not_break_the_cycle():
    """HiGHS sizes one task scheduler per thread at its first run; a Pyomo appsi_highs solve with
    its default thread count in the caller's thread used to make every later threads=1 run there
    fail before starting (the current point went unevaluated). Run in a new thread, so that the
    foreign solve is the first HiGHS run in it."""
    import pyomo.environ as pyo

    out = {}

    def work():
        m = pyo.ConcreteModel()
        m.x = pyo.Var(domain=pyo.Binary)
        m.y = pyo.Var(domain=pyo.Binary)
        m.c = pyo.Constraint(expr=m.x + m.y >= 1)
        m.o = pyo.Objective(expr=m.x + 2 * m.y)
        pyo.SolverFactory("appsi_highs").solve(m)
        out["foreign_x"] = pyo.value(m.x)
        out["proposal"] = Supervisor(SITE, MODELS).step(snapshots(1)[0])

    t = threading.Thread(target=work)
    t.start()
    t.join()
    p = out["proposal"]
    assert out["foreign_x"] == pytest.approx(1.0)
    assert p.status == "optimal" and not any("could not be evaluated" in w for w in p.warnings), p.warnings
    assert p.current_kpis["cost_per_h"] > 0 and p.savings["cost_per_h"] >= -1e-6


def test_the_optimisation_leaves_the_rest_of_the_cycle_its_time():
    """HiGHS's time limit for the optimisation is the budget less the time spent before it and
    the time the rest of the cycle (check, duals, proposal) took lately, so that a time-limited
    cycle on a large site still answers inside its budget (measured in benchmarks/, not here)."""
    import time

    budget = 0.5
    sup = Supervisor(SITE, MODELS, SupervisorConfig(time_budget_s=budget))
    snaps = snapshots(5)
    for s in snaps[:3]:
        assert sup.step(s).ok
    assert len(sup._post_solve_s) == 3 and all(0.0 < x < budget for x in sup._post_solve_s)
    sup._post_solve_s.append(0.07)  # a slow rest of the cycle, as on a site with 30 plants
    late = 0.07 + 0.01 * budget  # HiGHS's overshoot of its limit: 1 % of the budget until measured
    assert sup._opt_time_limit(time.perf_counter()) == pytest.approx(budget - 1.5 * late, abs=0.005)
    t_before = time.perf_counter()
    assert sup.step(snaps[3]).ok
    _, given = sup._solver._instances["opt"].getOptionValue("time_limit")
    assert budget - 1.5 * late - (time.perf_counter() - t_before) <= given <= budget - 1.5 * late
    sup._post_solve_s.clear()
    sup._post_solve_s.append(0.05)
    sup._overshoot_s.append(0.02)  # HiGHS ran 20 ms past its limit in a time-limited cycle
    assert sup._opt_time_limit(time.perf_counter()) == pytest.approx(budget - 1.5 * (0.05 + 0.02), abs=0.005)
    sup._post_solve_s.append(0.4)  # never more than a quarter of the budget
    assert sup._opt_time_limit(time.perf_counter()) == pytest.approx(budget - 0.25 * budget, abs=0.005)


def test_changes_on_disk_take_effect_only_through_a_validated_reload(tmp_path):
    import shutil

    site_file, model_dir = tmp_path / "site.toml", tmp_path / "models"
    shutil.copy(SITE_FILE, site_file)
    shutil.copytree(MODEL_DIR, model_dir)
    sup = Supervisor(load_site(site_file), load_model_dir(model_dir))
    snaps = snapshots(4)
    before = sup.step(snaps[0])
    # a model file corrupted on disk: the running engine is unaffected, a reload is refused
    (model_dir / "B1_fuel.onnx").write_bytes(b"\x80\x04corrupted")
    assert sup.step(snaps[1]).status == "optimal"
    ok, msg = sup.reload(models_dir=model_dir)
    assert not ok and "keeping the running engine" in msg and "B1_fuel" in msg
    # a bad site file: refused as well
    site_file.write_text(site_file.read_text().replace("max_steam_tph = 160.0", "max_steam_tph = -1.0", 1))
    ok, msg = sup.reload(site_path=site_file)
    assert not ok and "max_steam_tph" in msg
    assert sup.step(snaps[2]).audit["site_hash"] == before.audit["site_hash"]
    # a good change takes effect after the reload, and the next cycle uses it
    shutil.copy(SITE_FILE, site_file)
    site_file.write_text(site_file.read_text().replace("price_per_gj = 279.6", "price_per_gj = 320.0", 1))
    ok, msg = sup.reload(site_path=site_file, models_dir=MODEL_DIR)
    assert ok, msg
    after = sup.step(snaps[3])
    assert after.status == "optimal" and after.audit["site_hash"] != before.audit["site_hash"]


def test_minimum_up_and_down_times_hold():
    """A boiler that started less than min_up_min ago is not stopped; one that stopped less than
    min_down_min ago is not started (the reference boilers: 240 min each)."""
    sup = Supervisor(SITE, MODELS, SupervisorConfig(cycle_s=900.0))  # wide boxes: stopping B4 pays here
    snap = snapshots(1)[0]
    free = sup.step(copy.deepcopy(snap))
    stopped = [b for b in SITE.boilers if free.setpoints[f"{b}.on"] == 0]
    assert stopped, "with 15-min cycles the optimiser stops at least one boiler of today's four"
    pinned = copy.deepcopy(snap)
    pinned["timestamp"] = (pd.Timestamp(snap["timestamp"]) + pd.Timedelta(minutes=15)).isoformat()
    for b in SITE.boilers:
        pinned[f"{b}.minutes_in_state"] = 30.0  # all started half an hour ago
    held = sup.step(pinned)
    assert all(held.setpoints[f"{b}.on"] == 1 for b in SITE.boilers), held.setpoints
    # a stopped boiler that stopped 30 min ago stays off even when starting it would pay
    off = copy.deepcopy(snap)
    off["timestamp"] = (pd.Timestamp(snap["timestamp"]) + pd.Timedelta(minutes=30)).isoformat()
    for b in SITE.boilers:
        off[f"{b}.steam_tph"] = 0.0 if b in ("B1", "B2", "B3") else 150.0
        off[f"{b}.minutes_in_state"] = 30.0
    p = sup.step(off)
    assert all(p.setpoints[f"{b}.on"] == 0 for b in ("B1", "B2", "B3")), p.setpoints


def test_minimum_up_and_down_times_hold_for_gas_turbines():
    """A gas turbine the site lets stop, with natural gas at ten times its price (running it then
    loses money): it is stopped once it has run its minimum up time, not before; once stopped it is
    not started before its minimum down time, even where that would pay (cheap gas again)."""
    import dataclasses

    gts = {g: dataclasses.replace(gt, can_switch_off=True, min_up_min=240.0, min_down_min=120.0) for g, gt in SITE.gas_turbines.items()}
    site = dataclasses.replace(SITE, gas_turbines=gts)
    sup = Supervisor(site, MODELS, SupervisorConfig(cycle_s=900.0))
    snap = snapshots(1)[0]
    dear = {**copy.deepcopy(snap), "natural_gas.price_per_gj": 10 * SITE.fuels["natural_gas"].price_per_gj,
            "GT1.minutes_in_state": 300.0, "GT2.minutes_in_state": 300.0}
    free = sup.step(dear)
    assert free.status == "optimal" and free.setpoints["GT1.power_mw"] == 0.0, free.setpoints
    young = {**dear, "timestamp": (pd.Timestamp(snap["timestamp"]) + pd.Timedelta(minutes=15)).isoformat(),
             "GT1.minutes_in_state": 200.0, "GT2.minutes_in_state": 200.0}
    kept = Supervisor(site, MODELS, SupervisorConfig(cycle_s=900.0)).step(young)
    assert kept.status == "optimal" and kept.setpoints["GT1.power_mw"] > 0 and kept.setpoints["GT2.power_mw"] > 0, kept.setpoints
    # stopped 60 min ago, gas cheap again: starting would pay, the minimum down time forbids it
    off = {**copy.deepcopy(snap), "timestamp": (pd.Timestamp(snap["timestamp"]) + pd.Timedelta(minutes=30)).isoformat(),
           "GT1.power_mw": 0.0, "GT1.duct_steam_tph": 0.0, "GT1.minutes_in_state": 60.0}
    p = Supervisor(site, MODELS, SupervisorConfig(cycle_s=900.0)).step(off)
    assert p.setpoints["GT1.power_mw"] == 0.0, p.setpoints
    off["GT1.minutes_in_state"] = 180.0
    p = Supervisor(site, MODELS, SupervisorConfig(cycle_s=900.0)).step(off)
    assert p.setpoints["GT1.power_mw"] > 0.0, p.setpoints


# ---------------------------------------------------------------------- sequences and faults

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.limits import LimitChecker  # noqa: E402
from tests.test_supervisor import assert_agreement, assert_model_solution_valid  # noqa: E402

UNITS = ["B1", "B2", "B3", "B4", "GT1", "TG1", "TG2", "LD_HP_MP", "V_LP"]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sets(st.sampled_from(UNITS), max_size=3), st.sampled_from([1, 1, 1, 0, -5]), st.floats(0.6, 1.6)),
                min_size=2, max_size=5))
def test_sequences_with_trips_and_bad_clocks_never_raise(cycles):
    """Units flipping availability between cycles, duplicated or earlier timestamps, demand
    steps beyond capacity: every cycle answers, inside limits, with the curves verified."""
    sup = Supervisor(SITE, MODELS)
    checker = LimitChecker(SITE, sup.config.cycle_s)  # the last good state carried through the sequence
    t = pd.Timestamp("2026-03-02 10:00")
    for out, dt_min, demand_scale in cycles:
        t = t + pd.Timedelta(minutes=dt_min)
        snap = copy.deepcopy(SNAPSHOT)
        snap["timestamp"] = t.isoformat()
        for u in UNITS:  # every flag reported: an absent one would mean its last good value
            snap[f"{u}.available"] = 0 if u in out else 1
        for tag in [k for k in snap if k.startswith(("LP_", "MP_", "HP_")) and k.endswith(".steam_tph")]:
            snap[tag] *= demand_scale
        p = sup.step(snap)
        assert p.status in ("optimal", "infeasible_demand", "invalid_input", "time_limited", "fallback_local", "fallback_hold", "substituted")
        if dt_min <= 0 and p.status == "invalid_input":
            assert any("not after the previous" in w for w in p.warnings)
        bad = checker.violations(snap, p)  # every status: holds carry the last good readings
        assert not bad, (p.status, bad)
        if p.status in ("optimal", "infeasible_demand"):
            assert_agreement(p)
            assert_model_solution_valid(sup)
            for u in out:
                if f"{u}.on" in p.setpoints:
                    assert p.setpoints[f"{u}.on"] == 0, (u, p.setpoints)
            if p.status == "infeasible_demand":
                assert p.shortfall_tph or p.surplus_tph


def test_time_limit_without_incumbent_falls_back(monkeypatch):
    """HiGHS stops at the time limit before any feasible point: the local LP answers."""
    from optimizer.highs_direct import DirectResult

    sup = Supervisor(SITE, MODELS)
    real_run = sup._solver.run
    calls = {"n": 0}

    def run(job, load=True, **kwargs):
        calls["n"] += 1
        if load and calls["n"] <= 2:  # the optimisation of the first cycle: time limit, no solution
            return DirectResult("error", "Time limit reached", None, None, 0, False, 0.0, None)
        return real_run(job, load, **kwargs)

    monkeypatch.setattr(sup._solver, "run", run)
    p = sup.step(snapshots(1)[0])
    assert p.status == "fallback_local", (p.status, p.warnings)
    assert any("Time limit" in w for w in p.warnings)
    assert len(sup._post_solve_s) == 0  # the fallback's own solve is not "the rest of the cycle" to reserve


def test_onnxruntime_failing_holds_and_recovers(monkeypatch):
    sup = Supervisor(SITE, MODELS)
    snaps = snapshots(2)
    model = sup.curves.models["B1_fuel"]

    class LostSession:
        def run(self, *args, **kwargs):
            raise RuntimeError("onnxruntime session lost")

        run_with_iobinding = run

        def io_binding(self):
            raise RuntimeError("onnxruntime session lost")

    monkeypatch.setattr(model, "_session", LostSession())
    assert sup.curves._bundle is not None  # the check's one-call session: lost too
    monkeypatch.setattr(sup.curves._bundle, "_session", LostSession())
    p = sup.step(snaps[0])
    assert p.status == "fallback_hold" and any("onnxruntime session lost" in w for w in p.warnings)
    monkeypatch.undo()
    assert sup.step(snaps[1]).status == "optimal"


def test_stale_and_future_timestamps_are_invalid():
    now = pd.Timestamp("2026-03-02 10:30")
    sup = Supervisor(SITE, MODELS, SupervisorConfig(stale_after_s=600.0, clock=lambda: now))
    snap = snapshots(1)[0]
    snap["timestamp"] = "2026-03-02T10:00:00"  # 30 min old
    p = sup.step(snap)
    assert p.status == "invalid_input" and "stale" in p.warnings[0]
    snap["timestamp"] = "2026-03-02T10:45:00"  # 15 min ahead
    p = sup.step(snap)
    assert p.status == "invalid_input" and "in the future" in p.warnings[0]
    snap["timestamp"] = "2026-03-02T10:29:00"
    assert sup.step(snap).status == "optimal"


def test_scenario_paths_outside_need_explicit_permission(tmp_path, monkeypatch):
    import shutil

    from optimizer.site.schema import DataFileError
    from scenarios.scenario import ALLOWED_ROOTS_ENV, load_scenario

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(SITE_FILE, elsewhere / "site.toml")
    studies = tmp_path / "studies"
    studies.mkdir()
    text = (ROOT / "scenarios" / "studies" / "base_week.toml").read_text()
    text = text.replace('site = "../sites/reference_olefins.toml"', f'site = "{elsewhere / "site.toml"}"')
    text = text.replace('models = "../models/reference_olefins"', f'models = "{MODEL_DIR}"')
    (studies / "s.toml").write_text(text)
    monkeypatch.delenv(ALLOWED_ROOTS_ENV, raising=False)
    with pytest.raises(DataFileError, match="site = .*must stay inside the scenario's folder"):
        load_scenario(studies / "s.toml")
    monkeypatch.setenv(ALLOWED_ROOTS_ENV, str(elsewhere))
    assert load_scenario(studies / "s.toml").site_path == (elsewhere / "site.toml").resolve()


def test_time_limited_optimisation_overshoot_is_reserved(monkeypatch):
    """A time-limited optimisation that ran past HiGHS's limit (it checks the clock between
    nodes) is remembered, and the next cycles reserve it too."""
    import dataclasses
    import time

    sup = Supervisor(SITE, MODELS)
    real = sup._solve

    def late(limit, **kwargs):
        r = real(limit, **kwargs)
        job = kwargs.get("job")
        if job is None:
            return r
        return dataclasses.replace(r, status="time_limited", solve_s=job.g.getOptionValue("time_limit")[1] + 0.03)

    monkeypatch.setattr(sup, "_solve", late)
    snaps = snapshots(2)
    assert sup.step(snaps[0]).status == "time_limited"
    assert list(sup._overshoot_s) == [pytest.approx(0.03)]
    post = max(sup._post_solve_s)
    budget = sup.config.time_budget_s
    assert sup._opt_time_limit(time.perf_counter()) == pytest.approx(budget - 1.5 * max(post + 0.03, 0.01 / 1.5), abs=0.005)


def test_a_duals_lp_running_past_the_budget_leaves_the_binding_limits_out(monkeypatch):
    """The cycle answers inside its budget without binding limits when the duals LP has not
    finished by then (here held up by 0.4 s on a 0.3 s budget); the next cycle waits for it."""
    import time

    sup = Supervisor(SITE, MODELS, SupervisorConfig(time_budget_s=0.3))
    real = sup._run_pricing

    def slow(handoff):
        time.sleep(0.4)
        real(handoff)

    monkeypatch.setattr(sup, "_run_pricing", slow)
    snaps = snapshots(2)
    t = time.perf_counter()
    p = sup.step(snaps[0])  # the first cycle has no pattern to have solved the duals LP at
    assert time.perf_counter() - t < 0.3 + 0.05
    assert p.status == "optimal" and p.binding == []
    assert any("binding limits not reported" in w for w in p.warnings)
    monkeypatch.undo()
    p = sup.step(snaps[1])
    assert p.status == "optimal" and p.binding  # priced again
