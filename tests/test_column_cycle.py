"""The steered column in the supervisory cycle, on the bundled surrogates: the optimum against an
independent solve of the column alone, the reflux move limit, a missing feed reading (held), and
the purity on the true plant (the simulator) when the proposals are applied."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

from optimizer import tags
from optimizer.site import load_site
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.plant.apply import setpoints_from_proposal
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.practice import todays_practice
from scenarios.plant.simulator import PlantSimulator
from scenarios.plant.snapshots import snapshot_from_state
from surrogate.manifest import load_model_dir
from tests.test_column import C3, SITE_FILE

MODELS = SITE_FILE.parents[1] / "models" / "reference_olefins"
SITE = load_site(SITE_FILE)
COL = SITE.consumers[C3].column
SIM = PlantSimulator(SITE)
T0 = pd.Timestamp("2026-03-02 03:00")
STEP_MIN = 15.0


@pytest.fixture(scope="module")
def models():
    return load_model_dir(MODELS)


def _supervisor(models) -> Supervisor:
    return Supervisor(SITE, models, SupervisorConfig(cycle_s=60.0 * STEP_MIN), properties=SIM.props)


def _snapshot(reflux: float, k: int = 0, feed: float = 16.5, drop: tuple[str, ...] = ()):
    d = Disturbances(timestamp=T0 + pd.Timedelta(minutes=STEP_MIN * k), column_feed_tph={C3: feed})
    sp = todays_practice(SITE, d)
    sp.column_reflux[C3] = reflux
    state = SIM.simulate(sp, d)
    snap = snapshot_from_state(SITE, state, d)
    for tag in drop:
        snap.pop(tag)
    return snap, sp, d


def _onnx(models, name: str, reflux: float, feed: float) -> float:
    m = models[name]
    return float(m.evaluate({tags.column_reflux(C3): reflux, tags.column_feed(C3): feed})[0])


def _mp_price(proposal) -> float:
    return next(b["worth_per_unit_per_h"] for b in proposal.binding if b["limit"] == "mass[MP]")


def test_optimum_is_the_cheapest_reflux_meeting_the_spec(models):
    """Current reflux 11.4: the box [11.1, 11.7] holds the spec point. Independently of the site
    model: the column alone at the MP header's steam price (the proposal's dual, > 0) costs
    ``p x steam(R)``, increasing in R on the surrogate; the cheapest R meeting purity >= spec +
    margin is where the purity surrogate crosses it, found by brentq on onnxruntime."""
    sup = _supervisor(models)
    snap, _, _ = _snapshot(11.4)
    p = sup.step(snap)
    assert p.status == "optimal", p.warnings
    feed = snap[tags.column_feed(C3)]
    price = _mp_price(p)
    assert price > 0.0
    lo, hi = 11.4 - COL.reflux_move_per_min * STEP_MIN, 11.4 + COL.reflux_move_per_min * STEP_MIN
    grid = np.linspace(lo, hi, 61)
    cost = [price * _onnx(models, f"{C3}_steam", r, feed) for r in grid]
    assert all(b > a for a, b in zip(cost, cost[1:]))  # dearer with more reflux at this feed
    target = COL.purity_spec + COL.purity_margin
    r_star = brentq(lambda r: _onnx(models, f"{C3}_purity", r, feed) - target, lo, hi, xtol=1e-12)
    assert p.setpoints[tags.column_reflux(C3)] == pytest.approx(r_star, rel=1e-6)
    assert tags.steam(C3) not in p.setpoints  # the column is steered by its reflux; its steam follows
    # every proposal's curves agree with onnxruntime (optimizer/certify.py): the column's too
    assert p.surrogate_agreement[f"{C3}_purity"] <= 1e-6 and p.surrogate_agreement[f"{C3}_steam"] <= 1e-6


def test_reflux_moves_at_most_its_limit_per_cycle(models):
    sup = _supervisor(models)
    snap, _, _ = _snapshot(12.5)
    p = sup.step(snap)
    assert p.status == "optimal"
    # far above the spec point: the whole move, and no more (0.02 per min x 15 min)
    assert p.setpoints[tags.column_reflux(C3)] == pytest.approx(12.5 - COL.reflux_move_per_min * STEP_MIN, abs=1e-9)


def test_missing_feed_holds_the_column(models):
    sup = _supervisor(models)
    snap, _, _ = _snapshot(12.5, drop=(tags.column_feed(C3),))
    p = sup.step(snap)  # the cycle never raises
    assert p.ok, p.warnings
    assert p.setpoints[tags.column_reflux(C3)] == pytest.approx(12.5, abs=1e-12)
    assert any("feed reading substituted" in w for w in p.warnings)
    assert any(s["tag"] == tags.column_feed(C3) for s in p.substitutions)
    # the feed back: steered again (the same supervisor; its last good feed is kept)
    snap, _, _ = _snapshot(12.5, k=1)
    assert sup.step(snap).setpoints[tags.column_reflux(C3)] < 12.5 - 0.29


def test_purity_on_the_true_plant_holds_the_spec_closed_loop(models):
    """From today's reflux, proposals applied to the simulator for 12 cycles: the reflux walks
    down to the spec point and the true plant's purity never falls below the spec."""
    sup = _supervisor(models)
    sp = Setpoints()
    d = Disturbances(timestamp=T0, column_feed_tph={C3: 16.5})
    sp = todays_practice(SITE, d)
    purities, refluxes = [], []
    for k in range(12):
        d = Disturbances(timestamp=T0 + pd.Timedelta(minutes=STEP_MIN * k), column_feed_tph={C3: 16.5})
        before = SIM.simulate(sp, d)
        p = sup.step(snapshot_from_state(SITE, before, d))
        assert p.ok, p.warnings
        sp = setpoints_from_proposal(SITE, p, sp)
        after = SIM.simulate(sp, d)
        purities.append(after[tags.column_purity(C3)])
        refluxes.append(after[tags.column_reflux(C3)])
    assert min(purities) >= COL.purity_spec
    assert refluxes[-1] < 11.5 and refluxes[-1] == pytest.approx(refluxes[-2], abs=1e-9)  # settled near the spec
    steps = np.diff([12.5] + refluxes)
    assert np.all(np.abs(steps) <= COL.reflux_move_per_min * STEP_MIN + 1e-9)


def test_binding_limits_name_the_purity_spec(models):
    """At the spec point the purity row binds; its worth is what one more mol/mol of allowed
    impurity would save: the steam per unit of purity there x the column's steam price, which is
    the MP header's marginal value less the credit of its returned condensate (90 % comes back to
    the deaerator), so a few per cent below the header's price."""
    sup = _supervisor(models)
    p = sup.step(_snapshot(11.3)[0])
    spec = [b for b in p.binding if b["limit"] == f"col_spec[{C3}]"]
    assert spec and spec[0]["what"] == "column purity spec (per mol/mol)"
    feed, r = 16.5, p.setpoints[tags.column_reflux(C3)]
    h = 1e-3  # relaxing the spec moves the reflux down: the segment just below it
    ds_dp = ((_onnx(models, f"{C3}_steam", r, feed) - _onnx(models, f"{C3}_steam", r - h, feed))
             / (_onnx(models, f"{C3}_purity", r, feed) - _onnx(models, f"{C3}_purity", r - h, feed)))
    assert ds_dp > 0
    assert 0.85 * _mp_price(p) * ds_dp < spec[0]["worth_per_unit_per_h"] <= _mp_price(p) * ds_dp


def test_feed_outside_its_range_holds_the_column(models):
    """A feed below the column's range (half its nominal: the learned curves were not trained
    there) holds the reflux; the cycle still answers."""
    sup = _supervisor(models)
    snap, _, _ = _snapshot(12.5, feed=13.0)
    snap[tags.column_feed(C3)] = 8.5  # the meter reads half the nominal feed
    p = sup.step(snap)
    assert p.ok, p.warnings
    assert p.setpoints[tags.column_reflux(C3)] == pytest.approx(snap[tags.column_reflux(C3)], abs=1e-12)
    assert any("feed 8.5 t/h outside its range [12, 21]" in w for w in p.warnings)
