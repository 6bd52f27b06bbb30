"""The OMLT benchmark on the site's multi-input networks (benchmarks/relu_omlt_wide.py) and its
wide fixtures (benchmarks/relu_wide_fixtures.py): the fixtures are what they say, the benchmark
runs and its optima agree; a disagreement is an error. No timing is asserted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is a source folder, not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import relu_omlt_wide, suite  # noqa: E402
from benchmarks.relu_multi_input import OptimumMismatch  # noqa: E402
from benchmarks.relu_wide_fixtures import FIXTURES, NETWORKS  # noqa: E402
from surrogate.manifest import load_model_dir  # noqa: E402
from surrogate.serving import OnnxSurrogate  # noqa: E402

BUNDLED = ROOT / "scenarios" / "models" / "reference_olefins"


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_fixture_is_a_wide_network_of_the_campaign_data_and_accurate(name):
    path = FIXTURES / f"{name}.onnx"
    assert path.stat().st_size < 20_000
    served = OnnxSurrogate.from_file(path)
    decision, disturbance, output = NETWORKS[name]
    assert served.input_names == decision + disturbance and served.output_names == [output]
    assert served.network.hidden_sizes == [16, 16]
    md = served.metadata
    assert float(md["test_mape_pct"]) <= 1.0 and float(md["test_max_ape_pct"]) <= 3.0   # the bundled models' bar
    rows = {r["name"]: r for r in json.loads((FIXTURES / "accuracy.json").read_text())}
    assert rows[name]["test_mape_pct"] == pytest.approx(float(md["test_mape_pct"]), rel=1e-5)
    assert rows[name]["data_hash"] == md["data_hash"]
    if name == "TG3_steam_wide":  # the very data of the bundled TG3_steam (TG3's own campaign)
        assert md["data_hash"] == load_model_dir(BUNDLED)["TG3_steam"].metadata["data_hash"]


@pytest.fixture(scope="module")
def figures():
    return relu_omlt_wide.run(n_boxes=2)


def test_benchmark_runs_every_network_at_the_same_optimum(figures):
    assert set(figures["networks"]) == {c.key for c in relu_omlt_wide.CASES}
    assert figures["all_agree"] and figures["max_objective_rel_diff"] <= 1e-6 and figures["max_onnxruntime_rel_diff"] <= 1e-6
    for key, n in figures["networks"].items():
        hidden = n["hidden_neurons"]
        assert n["boxes"] == 2
        assert n["omlt_bigm_binaries"] == hidden                 # OMLT: one binary per hidden neuron
        assert 0 <= n["ours_interval_free_binaries_max"] <= hidden   # ours: the unstable neurons only
        assert n["ours_lp_free_binaries_mean"] <= n["ours_crown_free_binaries_mean"] <= n["ours_interval_free_binaries_mean"]
        assert len(n["omlt_bigm_binaries_after_presolve_first5"]) == 2 and len(n["ours_binaries_after_presolve_first5"]) == 2
        for k in ("x_vs_bigm_p50", "x_vs_bigm_solver_p50", "x_vs_partition_p50", "x_vs_partition_solver_p50"):
            assert n[k] > 0.0 and n[f"best_{k}"] > 0.0, (key, k)
        for k in ("x_vs_bigm_p50", "x_vs_partition_p50"):   # ours_best: our fastest at p50 build+solve
            assert n[f"best_{k}"] >= n[k], (key, k)
        # regions (2 and 3 decisions): ceil(log2(regions)) binaries, fewer than big-M's unstable neurons here
        assert 0.0 <= n["ours_regions_free_binaries_mean"] <= max(1.0, n["ours_interval_free_binaries_mean"])
    assert figures["networks"]["TG3_wide"]["network"] == "2-16-16-1" and figures["networks"]["TG3_bundled"]["network"] == "2-3-1"
    assert figures["networks"]["GT1_duct_wide_3dec"]["decision_inputs"] == 3
    for n in figures["networks"].values():   # 2**binaries >= regions of the box
        assert 1 <= n["regions_per_box_min"] <= n["regions_per_box_max"] <= 2 ** n["ours_regions_free_binaries_max"]
    # the documented rule: regions for the wide networks (2 and 3 decisions), big-M for the bundled one
    assert {k: n["ours_rule"] for k, n in figures["networks"].items()} == {
        "TG3_bundled": "interval", "TG3_wide": "regions", "GT1_duct_wide": "regions", "GT1_duct_wide_3dec": "regions"}
    assert figures["min_rule_x_vs_bigm_p50"] == min(n["omlt_bigm_p50_ms"] / n[f"ours_{n['ours_rule']}_p50_ms"]
                                                   for n in figures["networks"].values())
    md = relu_omlt_wide.markdown(figures)
    assert md.count("\n| TG3 inlet") == 2 * 2 and "10x vs OMLT big-M, solver only" in md and "the documented rule picks" in md
    assert "Linear regions per box" in md


def test_suite_reports_the_benchmark_with_its_targets(figures):
    r = {"quick": True, "machine": {"timestamp": "t", "git_commit": "x", "platform": "test", "cpu_count": 2, "python": "3", "numpy": "2",
                                    "highspy": "1", "pyomo": "6", "omlt": "1", "onnxruntime": "1"},
         "time_budget_ms": 1000.0, "sizes": {}, "cases": {}, "relu_omlt_wide": figures}
    rows = [t for t in suite.targets(r) if t["target"].startswith("site multi-input networks")]
    assert len(rows) == 3
    want = [figures["target_10x_bigm_build_solve_met"], figures["target_10x_bigm_solver_met"],
            figures["faster_than_partition_build_solve"] and figures["faster_than_partition_solver"]]
    assert [t["verdict"] for t in rows] == ["MET" if w else "MISSED" for w in want]
    assert "The site's multi-input networks vs OMLT" in suite.markdown(r, [])
    # each row follows its own verdict
    for flags, verdicts in (((True, False, True, True), ["MET", "MISSED", "MET"]), ((False, True, True, False), ["MISSED", "MET", "MISSED"])):
        r["relu_omlt_wide"] = {**figures, "target_10x_bigm_build_solve_met": flags[0], "target_10x_bigm_solver_met": flags[1],
                               "faster_than_partition_build_solve": flags[2], "faster_than_partition_solver": flags[3]}
        assert [t["verdict"] for t in suite.targets(r) if t["target"].startswith("site multi-input networks")] == verdicts


def test_an_omlt_optimum_off_by_more_than_1e_6_is_an_error(monkeypatch):
    real = relu_omlt_wide.omlt_case

    def shifted(*args, **kwargs):
        out = real(*args, **kwargs)
        out["objective"] += 1e-5 * max(1.0, abs(out["objective"]))
        return out

    monkeypatch.setattr(relu_omlt_wide, "omlt_case", shifted)
    with pytest.raises(OptimumMismatch, match="omlt_bigm objective differs"):
        relu_omlt_wide.run(n_boxes=1, cases=relu_omlt_wide.CASES[:1])
