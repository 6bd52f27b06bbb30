"""The single-period cycle prices a start or a stop over ``start_payback_h`` (optimizer/cycle.py,
optimizer/formulation.py ``switch_cost``): a unit is started only when today's saving rate pays
its start back within that many hours.

The reference: the saving of starting TG3 (cold: 10 h off) at a high import price, computed from
two unpriced cycles (TG3 free, TG3 unavailable), and its start cost from the site file. Payback
times on either side of start cost / saving must give the two decisions and the objectives that
follow from them; the plan's periods must not price switches (their coupling does)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optimizer.site import load_site
from optimizer.supervisor import Supervisor, SupervisorConfig
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]
SITE = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
MODELS = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")
SNAP = {**json.loads((ROOT / "scenarios" / "snapshots" / "reference_olefins.json").read_text()),
        "import_price_per_mwh": 6000.0, "TG3.minutes_in_state": 600.0}


def _step(snap: dict, payback_h: float | None):
    sup = Supervisor(SITE, MODELS, SupervisorConfig(start_payback_h=payback_h))
    try:
        p = sup.step(snap)
        assert p.status == "optimal", (p.status, p.warnings)
        return p
    finally:
        sup._pool.shutdown(wait=True)  # noqa: SLF001


def _on(p) -> dict[str, int]:
    return {k: int(v) for k, v in p.setpoints.items() if k.endswith(".on")}


def test_a_start_is_made_only_when_it_pays_back_within_the_payback_time():
    free = _step(SNAP, None)
    held_off = _step({**SNAP, "TG3.available": 0.0}, None)
    # preconditions of the reference: unpriced, TG3's start is the only switch either way
    assert _on(free)["TG3.on"] == 1 and _on(held_off)["TG3.on"] == 0
    assert {k: v for k, v in _on(free).items() if k != "TG3.on"} == {k: v for k, v in _on(held_off).items() if k != "TG3.on"}
    saving = held_off.stats["objective"] - free.stats["objective"]   # THB/h
    start = SITE.turbines["TG3"].cold_startup_cost                   # 10 h off >= cold_after_h
    assert SITE.turbines["TG3"].cold_after_h <= 10.0 and saving > 0.0
    # every other switchable unit runs now; their stops would cost shutdown_cost / H (0 if they stay on)
    threshold_h = start / saving
    for factor, started in ((0.8, False), (1.25, True)):
        h = factor * threshold_h
        p = _step(SNAP, h)
        assert _on(p)["TG3.on"] == int(started), (h, threshold_h, _on(p))
        stay_on = sum(u.shutdown_cost for u in [*SITE.boilers.values(), *SITE.gas_turbines.values()]) / h + sum(
            t.shutdown_cost for n, t in SITE.turbines.items() if t.drive == "generator" and n != "TG3") / h
        expected = (free.stats["objective"] + start / h if started else held_off.stats["objective"]) + stay_on
        assert p.stats["objective"] == pytest.approx(expected, rel=1e-7), (factor, p.stats["objective"], expected)


def test_the_plans_periods_do_not_price_switches():
    """The horizon prices starts with its coupling rows: its one-period block is the cycle's model
    with switch pricing off, so the plan's single-period fallback is not priced twice."""
    from optimizer import horizon
    from optimizer.cycle import CycleData

    sup = Supervisor(SITE, MODELS, SupervisorConfig(start_payback_h=4.0))
    try:
        import copy

        import pandas as pd

        v = copy.deepcopy(sup.validator)
        v.last_timestamp = None
        snap = v.validate(SNAP)
        for single in (True, False):
            (period,) = horizon.build_periods(sup, snap, pd.DataFrame(index=[snap.timestamp]), 60.0, single=single)
            rates = {k: val for k, val in period.cycle.fixed.items() if k[0] in ("switch_rate", "switch_const")}
            assert rates and all(val == 0.0 for val in rates.values()), rates
        priced = CycleData.build(sup, snap)
        assert priced.fixed[("switch_rate", ("t", "TG3"))] == pytest.approx(SITE.turbines["TG3"].cold_startup_cost / 4.0)
    finally:
        sup._pool.shutdown(wait=True)  # noqa: SLF001
