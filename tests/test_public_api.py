"""``import steamopt``: the public names, the same objects as the internal ones, and one cycle."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_public_names_are_the_internal_objects():
    import steamopt
    from optimizer.site.loader import load_site
    from optimizer.supervisor import Supervisor, SupervisorConfig
    from surrogate.manifest import load_model_dir

    assert set(steamopt.__all__) == {"Proposal", "Schedule", "SiteError", "Supervisor", "SupervisorConfig", "__version__",
                                     "load_forecasters", "load_models", "load_site"}
    for name in steamopt.__all__:
        assert getattr(steamopt, name) is not None, name
    assert steamopt.Supervisor is Supervisor and steamopt.SupervisorConfig is SupervisorConfig
    assert steamopt.load_site is load_site and steamopt.load_models is load_model_dir


def test_one_cycle_and_a_plan_through_the_public_api():
    from steamopt import Proposal, Schedule, Supervisor, SupervisorConfig, load_models, load_site

    sup = Supervisor(load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml"),
                     load_models(ROOT / "scenarios" / "models" / "reference_olefins"), SupervisorConfig())
    snapshot = json.loads((ROOT / "scenarios" / "snapshots" / "reference_olefins.json").read_text())
    proposal = sup.step(snapshot)
    assert isinstance(proposal, Proposal) and proposal.status == "optimal"
    schedule = sup.plan(snapshot, horizon_h=2, period_min=60)
    assert isinstance(schedule, Schedule) and schedule.status == "optimal"
