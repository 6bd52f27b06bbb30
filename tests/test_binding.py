"""Binding limits (optimizer/binding.py): a limit of a unit that is off in the proposal is not
binding; limits of running units and of no single unit are reported as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optimizer.binding import BindingLimits

ROOT = Path(__file__).resolve().parents[1]
# limits of one unit (its id the first index), whose on/off setpoint is "<unit>.on"
ONE_UNIT = ("b_max", "b_min", "g_max", "g_min", "t_gen_max", "t_gen_min", "t_flow_max", "t_flow_min", "x_max", "x_min")


def _report(x_on: dict[str, float]) -> list[str]:
    rows = ["x_max[TG3,0]", "t_gen_max[TG3]", "b_max[B1]", "b_min[B2]", "d_max[GT2]", "imp", "mass[MP]"]
    cols = ["t_on[TG3]", "b_on[B1]", "b_on[B2]", "g_on[GT2]", "d_on[GT2]", "t_flow_max[TG3,1]", "ld[LD_HP_MP]"]
    limits = BindingLimits(lambda: (rows, cols))
    row_dual = np.array([799.0, 50.0, 12.0, 3.0, 40.0, 7.0, 300.0])
    col_dual = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 25.0, 5.0])
    x = np.array([x_on.get(c, 0.0) for c in cols])
    x[5], x[6] = 60.0, 250.0  # both columns at their upper bound
    upper = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 60.0, 250.0])
    return sorted(d["limit"] for d in BindingLimits.at(limits.candidates((row_dual, col_dual)), x, upper))


def test_a_stopped_units_limits_are_not_binding():
    # TG3 and B2 off, B1 on, GT2 running with its duct burner off
    got = _report({"b_on[B1]": 1.0, "g_on[GT2]": 1.0})
    assert got == ["b_max[B1]", "imp", "ld[LD_HP_MP]", "mass[MP]"]
    # every unit on: every limit with a worth is reported
    everything = _report({"t_on[TG3]": 1.0, "b_on[B1]": 1.0, "b_on[B2]": 1.0, "g_on[GT2]": 1.0, "d_on[GT2]": 1.0})
    assert everything == sorted(["x_max[TG3,0]", "t_gen_max[TG3]", "b_max[B1]", "b_min[B2]", "d_max[GT2]", "imp", "mass[MP]",
                                 "t_flow_max[TG3,1]", "ld[LD_HP_MP]"])


def test_the_proposal_lists_no_limit_of_a_unit_it_keeps_off():
    """The reference site under today's practice keeps TG3 on standby: the cycle's binding limits
    name no TG3 row, and every unit a listed limit belongs to runs in the proposal."""
    from optimizer.site import load_site
    from optimizer.supervisor import Supervisor
    from scenarios.plant.practice import todays_practice
    from scenarios.plant.profiles import ProfileConfig, generate_disturbances
    from scenarios.plant.simulator import PlantSimulator
    from scenarios.plant.snapshots import snapshot_from_state
    from surrogate.manifest import load_model_dir

    site = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
    sup = Supervisor(site, load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins"))
    sim = PlantSimulator(site)
    seen = 0
    for d in generate_disturbances(site, ProfileConfig(hours=2, step_min=15, seed=2)):
        p = sup.step(snapshot_from_state(site, sim.simulate(todays_practice(site, d), d), d))
        assert p.status == "optimal" and p.binding
        assert p.setpoints["TG3.on"] == 0  # the proposal keeps TG3 off
        tg3 = [b["limit"] for b in p.binding if "[TG3" in b["limit"]]
        assert tg3 == [], tg3
        for b in p.binding:  # every unit a listed limit belongs to runs in the proposal
            base, _, rest = b["limit"].partition("[")
            if base in ONE_UNIT:
                unit = rest.rstrip("]").split(",")[0]
                assert p.setpoints.get(f"{unit}.on", 1) == 1, b
                seen += 1
    assert seen > 0
