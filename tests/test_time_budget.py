"""The cycle answers within its time budget plus the stated margin whatever HiGHS does (issue 14,
finding 8): a HiGHS run that hangs (injected: it sleeps 3 s first) in any of the cycle's solves
is abandoned, the cycle answers in time, the abandoned instance is never used again and the next
cycles solve normally."""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import pytest

from optimizer import tags
from optimizer.highs_direct import HighsDirect
from optimizer.site import load_site
from optimizer.supervisor import Supervisor, SupervisorConfig
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]
SITE = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
MODELS = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")
SNAPSHOT = json.loads((ROOT / "scenarios" / "snapshots" / "reference_olefins.json").read_text())
BUDGET_S = 0.2
MARGIN_S = 0.05  # SupervisorConfig.answer_margin_s's default (checked below)
HANG_S = 3.0


def snapshots(n: int) -> list[dict]:
    """Consecutive snapshots, each with its own readings (a boiler and a GT move a little), so
    that holding this cycle's readings differs from holding the last cycle's."""
    out = []
    for i in range(n):
        s = copy.deepcopy(SNAPSHOT)
        s["timestamp"] = (pd.Timestamp("2026-03-02 10:00") + pd.Timedelta(minutes=i)).isoformat()
        s[tags.boiler_steam("B1")] = SNAPSHOT[tags.boiler_steam("B1")] + 0.5 * i
        s[tags.gt_power("GT1")] = SNAPSHOT[tags.gt_power("GT1")] - 0.1 * i
        out.append(s)
    return out


class Hang:
    """HighsDirect.run_only replaced: the first run ``which(sup, job)`` picks sleeps HANG_S
    before running (HiGHS hanging); every other run is HiGHS's own."""

    def __init__(self, monkeypatch, sup: Supervisor, which):
        self.sup, self.which = sup, which
        self.g: highspy.Highs | None = None  # the instance that hung
        self.thread: threading.Thread | None = None
        self.real = HighsDirect.run_only
        monkeypatch.setattr(HighsDirect, "run_only", staticmethod(self.run_only))

    def run_only(self, job) -> None:
        if self.g is None and self.which(self.sup, job):
            self.g, self.thread = job.g, threading.current_thread()
            time.sleep(HANG_S)
        self.real(job)


def slot(name: str):
    return lambda sup, job: job.g is sup._solver._instances.get(name)  # noqa: SLF001


def timed_step(sup: Supervisor, snap: dict):
    t = time.perf_counter()
    p = sup.step(snap)
    return p, time.perf_counter() - t


def held_readings(snap: dict, p) -> None:
    """The proposal holds this cycle's readings: every setpoint is the snapshot's value."""
    assert p.setpoints
    for k, v in p.setpoints.items():
        assert v == pytest.approx(float(snap[k]), abs=1e-12), k


def test_the_margin_is_stated_and_checked():
    assert SupervisorConfig().answer_margin_s == MARGIN_S
    assert "answer_margin_s" in (ROOT / "optimizer" / "supervisor.py").read_text()
    for bad in (0.0, -1.0, float("nan"), "0.05", True):
        with pytest.raises(ValueError, match="answer_margin_s"):
            Supervisor(SITE, MODELS, SupervisorConfig(answer_margin_s=bad))


def test_a_hanging_optimisation_is_abandoned_and_the_cycle_holds_its_readings(monkeypatch):
    sup = Supervisor(SITE, MODELS, SupervisorConfig(time_budget_s=BUDGET_S))
    snaps = snapshots(4)
    assert sup.step(snaps[0]).status == "optimal"
    hang = Hang(monkeypatch, sup, slot("opt"))
    p, dt = timed_step(sup, snaps[1])
    assert hang.g is not None
    assert dt < BUDGET_S + MARGIN_S, dt
    assert p.status == "fallback_hold"
    held_readings(snaps[1], p)
    assert p.setpoints[tags.boiler_steam("B1")] != snaps[0][tags.boiler_steam("B1")]  # this cycle's, not the last one's
    assert any("abandoned" in w for w in p.warnings), p.warnings
    for s in snaps[2:]:  # the hung run still sleeps: the next cycles solve on a fresh instance
        p, dt = timed_step(sup, s)
        assert p.status == "optimal" and p.proposed_kpis and p.binding, p.warnings
        assert dt < BUDGET_S + MARGIN_S, dt
        assert sup._solver._instances["opt"] is not hang.g  # noqa: SLF001
    x_last = sup._solver.solution()  # noqa: SLF001
    hang.thread.join(HANG_S + 10.0)
    assert not hang.thread.is_alive()
    # the abandoned run came back, ran, and left the engine alone: the loaded solution is the last cycle's
    assert sup._solver.solution() is x_last  # noqa: SLF001
    assert sup.step(snapshots(5)[4]).status == "optimal"


def test_a_hanging_local_lp_is_abandoned_and_the_cycle_holds_its_readings(monkeypatch):
    sup = Supervisor(SITE, MODELS, SupervisorConfig(time_budget_s=BUDGET_S))
    snaps = snapshots(3)
    assert sup.step(snaps[0]).status == "optimal"
    real = HighsDirect.run_only
    state = {"skipped": False, "hung": None}

    def run_only(job):
        inst = sup._solver._instances  # noqa: SLF001
        if not state["skipped"] and job.g is inst.get("opt"):
            state["skipped"] = True  # the optimisation gives no answer (HiGHS status: not set) ...
            return
        if state["skipped"] and state["hung"] is None and job.g not in (inst.get("opt"), inst.get("current"), inst.get("duals")):
            state["hung"] = job.g  # ... and the local LP around the current point hangs
            time.sleep(HANG_S)
        real(job)

    monkeypatch.setattr(HighsDirect, "run_only", staticmethod(run_only))
    p, dt = timed_step(sup, snaps[1])
    assert state["hung"] is not None
    assert dt < BUDGET_S + MARGIN_S, dt
    assert p.status == "fallback_hold"
    held_readings(snaps[1], p)
    p, dt = timed_step(sup, snaps[2])
    assert p.status == "optimal" and dt < BUDGET_S + MARGIN_S


def test_a_hanging_current_point_lp_leaves_its_kpis_out_in_time(monkeypatch):
    """The current point is a report beside the proposal: abandoned, the proposal stands without
    the current KPIs (as when that LP fails), and the next cycles evaluate it again."""
    sup = Supervisor(SITE, MODELS, SupervisorConfig(time_budget_s=BUDGET_S))
    snaps = snapshots(3)
    assert sup.step(snaps[0]).current_kpis
    hang = Hang(monkeypatch, sup, slot("current"))
    p, dt = timed_step(sup, snaps[1])
    assert hang.g is not None
    assert dt < BUDGET_S + MARGIN_S, dt
    assert p.status == "optimal" and p.proposed_kpis and p.current_kpis == {}
    assert any("current operating point could not be evaluated" in w for w in p.warnings), p.warnings
    p, dt = timed_step(sup, snaps[2])
    assert p.status == "optimal" and p.current_kpis and p.savings and p.binding
    assert dt < BUDGET_S + MARGIN_S, dt
    assert sup._solver._instances["current"] is not hang.g  # noqa: SLF001


def test_a_hanging_duals_lp_beside_the_optimisation_leaves_the_binding_limits_out_in_time(monkeypatch):
    """From the second cycle the duals LP is solved beside the optimisation at the last cycle's
    on/off pattern; hanging there, it is abandoned at the budget's end."""
    sup = Supervisor(SITE, MODELS, SupervisorConfig(time_budget_s=BUDGET_S))
    snaps = snapshots(3)
    assert sup.step(snaps[0]).binding
    hang = Hang(monkeypatch, sup, slot("duals"))
    p, dt = timed_step(sup, snaps[1])
    assert hang.g is not None
    assert dt < BUDGET_S + MARGIN_S, dt
    assert p.status == "optimal" and p.binding == [] and p.current_kpis
    assert any("binding limits not reported" in w for w in p.warnings), p.warnings
    p, dt = timed_step(sup, snaps[2])
    assert p.status == "optimal" and p.binding
    assert dt < BUDGET_S + MARGIN_S, dt
    assert sup._solver._instances["duals"] is not hang.g  # noqa: SLF001


def test_a_duals_lp_hanging_after_the_optimisation_does_not_hold_up_the_next_cycle(monkeypatch):
    """On the first cycle the duals LP runs after the optimisation; hanging there, this cycle
    answers without binding limits and the next one waits for it a quarter of its budget at most."""
    sup = Supervisor(SITE, MODELS, SupervisorConfig(time_budget_s=BUDGET_S))
    snaps = snapshots(2)
    hang = Hang(monkeypatch, sup, slot("duals"))
    p, dt = timed_step(sup, snaps[0])
    assert hang.g is not None
    assert dt < BUDGET_S + MARGIN_S, dt
    assert p.status == "optimal" and p.binding == []
    p, dt = timed_step(sup, snaps[1])
    assert dt < BUDGET_S + MARGIN_S, dt
    assert p.status == "optimal" and p.binding


def _hard_mip(seed: int = 0, n: int = 60) -> highspy.Highs:
    """A capacitated facility-location MIP that HiGHS does not solve in seconds."""
    rng = np.random.default_rng(seed)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", 60.0)
    y = [h.addBinary(obj=float(rng.uniform(50, 100))) for _ in range(n)]
    x = [[h.addVariable(lb=0, ub=1, obj=float(rng.uniform(1, 100))) for _ in range(n)] for _ in range(n)]
    for j in range(n):
        h.addConstr(sum(x[i][j] for i in range(n)) == 1)
    for i in range(n):
        h.addConstr(sum(x[i][j] for j in range(n)) <= 10 * y[i])
    return h


def test_an_abandoned_highs_run_is_asked_to_stop():
    """An abandoned lane's HiGHS run is cancelled through HiGHS's interrupt callback: it stops
    long before its 60 s limit, and its thread touches nothing after it returns."""
    from optimizer.highs_direct import Lane, Prepared

    g = _hard_mip()
    lane = Lane("test-lane")
    after = []

    def job():
        HighsDirect.execute(Prepared(g, None))
        after.append("ran on")  # never reached: the lane was abandoned during the run

    ticket = lane.submit(job)
    assert not ticket.wait(time.perf_counter() + 0.5)  # still running
    lane.abandon()
    assert ticket.done.wait(30.0)
    assert g.modelStatusToString(g.getModelStatus()) == "Interrupted by user"
    assert after == [] and ticket.error is None


def test_the_process_waits_at_exit_for_a_lane_to_leave_its_work(tmp_path):
    """A lane thread still working when the interpreter exits is waited for (and its HiGHS asked
    to stop): a daemon thread inside HiGHS while the C++ runtime is torn down aborts the process
    (exit status 134). Here the lane's job is 0.5 s of Python work that then writes a file: it is
    written, and the process exits 0."""
    import subprocess
    import sys

    done = tmp_path / "done.txt"
    code = ("import time\nfrom optimizer.highs_direct import Lane\n"
            f"def job():\n    time.sleep(0.5)\n    open({str(done)!r}, 'w').write('ok')\n"
            "lane = Lane('exit-test')\nlane.submit(job)\ntime.sleep(0.05)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert done.read_text() == "ok"
