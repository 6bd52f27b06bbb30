"""Symmetry breaking between identical units (optimizer/twins.py): exact, and only between units
whose numbers in the cycle's model are identical.

Each cycle's optimisation is solved twice by a fresh HiGHS (gap 1e-9), as the step gave it to
HiGHS (ordering rows appended) and as it was before the rows: the optima must agree to 1e-6
relative, on a generated 2-plant site (identical copies, and copies made different through
their readings) and on the reference site."""

from __future__ import annotations

import json
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import pytest

from benchmarks.site_generator import generate
from optimizer import certify
from optimizer.site import load_site
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.plant.practice import todays_practice
from scenarios.plant.profiles import ProfileConfig, generate_disturbances
from scenarios.plant.simulator import PlantSimulator
from scenarios.plant.snapshots import snapshot_from_state
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]
RTOL = 1e-6


def _snapshots(site, n: int, seed: int = 4) -> list[dict]:
    sim = PlantSimulator(site)
    profile = generate_disturbances(site, ProfileConfig(hours=n / 4.0, step_min=15, seed=seed))
    return [snapshot_from_state(site, sim.simulate(todays_practice(site, d), d), d) for d in profile[:n]]


def _optimum(model) -> float:
    h = model.quiet_highs({"threads": 1, "mip_rel_gap": 1e-9})
    h.run()
    assert h.modelStatusToString(h.getModelStatus()) == "Optimal"
    return h.getInfo().objective_function_value


class _Recorder:
    """Wraps a Supervisor's twin ordering: keeps each cycle's (model before, model after, groups)."""

    def __init__(self, sup: Supervisor):
        self.order = sup._twins.order  # noqa: SLF001
        self.seen: list = []
        sup._twins.order = self  # noqa: SLF001

    def __call__(self, model):
        out, info = self.order(model)
        self.seen.append((model, out, info))
        return out, info


@pytest.fixture(scope="module")
def two_plants(tmp_path_factory):
    site, model_dir = generate(2, cache=tmp_path_factory.mktemp("twin_sites"))
    sup = Supervisor(site, load_model_dir(model_dir), SupervisorConfig(time_budget_s=10.0))
    rec = _Recorder(sup)
    snaps = iter(_snapshots(site, 12))  # the Supervisor takes snapshots in time order only
    yield snaps, sup, rec
    sup._pool.shutdown(wait=True)  # noqa: SLF001


# copies made different through their readings: then TG2 and TG2_2 are not twins
DIFFERENT = [{"TG2_2.power_mw": 6.0}, {"TG2.power_mw": 2.2, "TG2_2.power_mw": 8.0}]


def test_same_optimum_with_and_without_the_rows_on_a_two_plant_site(two_plants):
    snaps, sup, rec = two_plants
    cases = [(next(snaps), True) for _ in range(3)] + [({**next(snaps), **d}, False) for d in DIFFERENT] \
        + [({**next(snaps), "B1_2.steam_tph": 60.0}, True)]
    for snap, tg2_twins in cases:
        rec.seen.clear()
        p = sup.step(snap)
        assert p.status == "optimal", (p.status, p.warnings)
        before, after, info = rec.seen[-1]
        assert after.symmetry_rows == sum(n - 1 for n in info.values()) > 0
        assert ("TG2" in info) == tg2_twins, info
        f_before, f_after = _optimum(before), _optimum(after)
        assert abs(f_after - f_before) <= RTOL * abs(f_before), (snap.get("TG2_2.power_mw"), f_before, f_after)
        assert abs(p.stats["objective"] - f_before) <= RTOL * abs(f_before)


def test_twins_need_every_number_equal(two_plants):
    """One number of TG2_2's changed (a cost, a bound, a private row's bound, a private entry, its
    entry in a shared header row): TG2 and TG2_2 are no longer twins; unchanged they are."""
    snaps, sup, rec = two_plants
    rec.seen.clear()
    sup.step(next(snaps))
    model = rec.seen[-1][0]
    tw = sup._twins  # noqa: SLF001
    cl = next(c for c in tw.classes if c.units[:2] == ["TG2", "TG2_2"])

    def grouped(m) -> bool:
        return any("TG2" in units and "TG2_2" in units for units, _, _ in tw.groups(m))

    assert grouped(model)
    a_row, _ = sup._solver.template.pattern()  # noqa: SLF001
    shared_entry = next(int(k) for k in cl.entries[1] if int(a_row[k]) not in set(cl.rows[1].tolist()))
    private_entry = next(int(k) for k in cl.entries[1] if int(a_row[k]) in set(cl.rows[1].tolist()))
    col = int(cl.cols[1, 0])
    row_lo = next(int(r) for r in cl.rows[1] if np.isfinite(model.row_lower[r]))
    row_hi = next(int(r) for r in cl.rows[1] if np.isfinite(model.row_upper[r]))
    changes = {
        "cost": lambda m: m.col_cost.__setitem__(col, m.col_cost[col] + 1.0),
        "column lower bound": lambda m: m.col_lower.__setitem__(col, m.col_lower[col] - 1.0),
        "column upper bound": lambda m: m.col_upper.__setitem__(col, m.col_upper[col] + 1.0),
        "private row lower bound": lambda m: m.row_lower.__setitem__(row_lo, m.row_lower[row_lo] - 1.0),
        "private row upper bound": lambda m: m.row_upper.__setitem__(row_hi, m.row_upper[row_hi] + 1.0),
        "private entry": lambda m: m.entries.__setitem__(private_entry, m.entries[private_entry] * 1.5 + 1.0),
        "shared-row entry": lambda m: m.entries.__setitem__(shared_entry, m.entries[shared_entry] * 1.5 + 1.0),
    }
    for what, change in changes.items():
        m = type(model)(**{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(model).items()})
        change(m)
        assert not grouped(m), what


def test_ordering_rows_are_no_rule_of_the_plant(two_plants):
    """A point that breaks only the ordering rows passes the hold check's rules; the rows come
    off again exactly (the duals LP's model)."""
    snaps, sup, rec = two_plants
    rec.seen.clear()
    sup.step(next(snaps))
    before, after, info = rec.seen[-1]
    back = after.without_symmetry_rows()
    for f in ("num_row", "a_start", "a_index", "a_value", "row_lower", "row_upper"):
        assert np.array_equal(np.asarray(getattr(back, f)), np.asarray(getattr(before, f))), f
    x = sup._solver.solution().copy()  # noqa: SLF001 - the step's optimum, in the ordered model
    assert certify.violation(after, x) is None
    # swap TG2 and TG2_2 (twins here): same objective, feasible in the model before the rows;
    # it may break an ordering row, which the check leaves out
    tw = sup._twins  # noqa: SLF001
    cols = next(c for units, c, _ in tw.groups(before) if units[:2] == ["TG2", "TG2_2"])
    y = x.copy()
    y[cols[0]], y[cols[1]] = x[cols[1]], x[cols[0]]
    assert certify.violation(before, y) is None
    assert certify.violation(after, y) is None
    assert abs(certify.objective(after, y) - certify.objective(after, x)) <= 1e-9 * abs(certify.objective(after, x))
    # a model with columns fixed at a point evaluates that point: without the ordering rows (the
    # swapped point, fixed, is feasible there with its own objective)
    ints = np.flatnonzero(after.integrality != 0)
    fixed = after.with_fixed(ints, np.round(y[ints]))
    assert fixed.symmetry_rows == 0 and fixed.num_row == before.num_row
    assert abs(_optimum(fixed) - certify.objective(after, x)) <= RTOL * abs(certify.objective(after, x))
    # a genuine row of the model is still checked
    z = y.copy()
    z[cols[0][0]] = 0.5
    assert certify.violation(after, z) is not None


def test_reference_site_has_no_twins_and_the_same_optimum():
    """On the reference site no two units are identical in a cycle's numbers (B1 and B4 have the
    same structure, not the same data): no rows, and the same optimum as without them; among the
    snapshots, boilers near their minimum that may stop (ordering B1 before B4 would forbid
    stopping B1 alone, 0.4 % and 4.8 % dearer here)."""
    site = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
    sup = Supervisor(site, load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins"), SupervisorConfig(time_budget_s=10.0))
    rec = _Recorder(sup)
    base = json.loads((ROOT / "scenarios" / "snapshots" / "reference_olefins.json").read_text())
    t0 = pd.Timestamp(base["timestamp"])
    loads = [{}, {"B1.steam_tph": 42.0, "B4.steam_tph": 60.0}, {"B1.steam_tph": 41.0, "B4.steam_tph": 120.0}, {"B1.steam_tph": 60.0, "B4.steam_tph": 42.0}]
    try:
        assert [c.units for c in sup._twins.classes] == [["B1", "B4"]]  # noqa: SLF001
        for i, change in enumerate(loads):
            rec.seen.clear()
            p = sup.step({**base, **change, "timestamp": (t0 + pd.Timedelta(minutes=i)).isoformat()})
            assert p.status == "optimal", (p.status, p.warnings)
            before, after, info = rec.seen[-1]
            assert info == {} and after.symmetry_rows == 0
            f = _optimum(before)
            assert abs(p.stats["objective"] - f) <= RTOL * abs(f), change
    finally:
        sup._pool.shutdown(wait=True)  # noqa: SLF001


def test_appended_rows_and_the_rule_check_on_a_small_model():
    """LpArrays.with_rows puts each entry in its row and column; a symmetry row is left out of
    the rule check (a point breaking it passes), the same row as a model row is not."""
    from optimizer.lp_arrays import LpArrays

    binary = int(highspy.HighsVarType.kInteger)
    base = LpArrays(num_col=3, num_row=1, sense=1, offset=0.0, col_cost=np.array([1.0, 1.0, 0.0]),
                    col_lower=np.zeros(3), col_upper=np.array([1.0, 1.0, 10.0]), row_lower=np.array([1.0]),
                    row_upper=np.array([np.inf]), a_start=np.array([0, 1, 2, 3], dtype=np.int32),
                    a_index=np.array([0, 0, 0], dtype=np.int32), a_value=np.array([1.0, 1.0, -0.5]),
                    integrality=np.array([binary, binary, 0], dtype=np.int32))
    starts, index, value = np.array([0, 2, 4]), np.array([0, 1, 1, 2]), np.array([1.0, -1.0, 2.0, 3.0])
    for symmetry in (True, False):
        m = base.with_rows(starts, index, value, np.array([0.0, -5.0]), np.array([np.inf, 5.0]), symmetry=symmetry)
        dense = np.zeros((m.num_row, m.num_col))
        for c in range(m.num_col):
            for k in range(m.a_start[c], m.a_start[c + 1]):
                dense[m.a_index[k], c] = m.a_value[k]
        assert np.array_equal(dense, [[1.0, 1.0, -0.5], [1.0, -1.0, 0.0], [0.0, 2.0, 3.0]])
        assert m.symmetry_rows == (2 if symmetry else 0)
        x = np.array([0.0, 1.0, 0.0])  # breaks x0 >= x1 only
        why = certify.violation(m, x)
        assert (why is None) == symmetry, why
        assert certify.violation(m, np.array([0.0, 1.0, 3.0])) is not None  # 2 + 9 > 5: a rule either way
        # the point fixed in the model (a hold priced in it): symmetry rows gone, model rows kept
        fixed = m.with_fixed(np.array([0, 1]), np.array([0.0, 1.0]))
        assert fixed.num_row == (1 if symmetry else 3) and fixed.symmetry_rows == 0
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        fixed.pass_to(h)
        h.run()
        assert (h.getModelStatus() == highspy.HighsModelStatus.kOptimal) == symmetry
