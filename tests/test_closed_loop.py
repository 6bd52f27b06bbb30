"""The reference site with the bundled surrogates, closed loop against the plant simulator:
every cycle solves, inside limits, balances closed, surrogates agreeing with onnxruntime."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.site import load_site
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.plant.profiles import ProfileConfig, generate_disturbances
from scenarios.plant.simulator import PlantSimulator
from scenarios.runner import run_closed_loop
from surrogate.manifest import load_model_dir
from tests.test_supervisor import assert_agreement, assert_inside_limits

ROOT = Path(__file__).resolve().parents[1]
SITE = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
MODELS = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")


def _loop(hours: float):
    sup = Supervisor(SITE, MODELS, SupervisorConfig(cycle_s=900.0))
    profile = generate_disturbances(SITE, ProfileConfig(hours=hours, step_min=15, seed=3))
    return sup, run_closed_loop(sup, PlantSimulator(SITE), profile, noise=0.0)


def _check(steps):
    for s in steps:
        p = s.proposal
        assert p.status == "optimal", (s.snapshot["timestamp"], p.status, p.warnings)
        assert_inside_limits(s.snapshot, p, cycle_s=900.0)
        assert_agreement(p)
        assert s.realised.tags["site.steam_shortfall_tph"] == 0.0, s.realised.notes
    saving = sum(s.proposal.savings["cost_per_h"] for s in steps) / len(steps)
    assert saving > 0.0


def test_one_day_closed_loop():
    _, steps = _loop(24)
    assert len(steps) == 96
    _check(steps)


@pytest.mark.slow
def test_seven_day_closed_loop():
    _, steps = _loop(24 * 7)
    assert len(steps) == 672
    _check(steps)
