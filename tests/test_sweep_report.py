"""Sweep report: the MAC by hand, the trade-off and MAC plots readable at default settings."""

import math

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from scenarios.report import (  # re-exported for cli.py
    marginal_abatement_costs,
    write_sweep_report,
)
from tests.test_report import _capture, assert_png, texts


@pytest.fixture
def figures(monkeypatch):
    return _capture(monkeypatch)


def sweep_table() -> pd.DataFrame:
    prices = [0.0, 500.0, 1000.0, 2000.0]
    resource = {"steamopt": [1_000_000, 1_010_000, 1_010_000, 1_050_000],
                "oracle": [990_000, 996_000, 1_020_000, 1_020_000]}
    co2e = {"steamopt": [5_000.0, 4_900.0, 4_900.0, 4_800.0],
            "oracle": [5_000.0, 4_950.0, 4_850.0, 4_860.0]}
    rows = []
    for p in resource:
        for x, r, c in zip(prices, resource[p], co2e[p]):
            rows.append({"parameter_value": x, "policy": p, "carbon_cost": x * c, "cost": r + x * c, "co2e_t": c,
                         "fuel_gj": 1e5})
    return pd.DataFrame(rows)


def flat_sweep_table() -> pd.DataFrame:
    """As the 6-h carbon-price sweep of the base week gave: the dispatch does not move with the price;
    steamopt and the oracle within 0.3 t and 1,700 THB of each other, practice far away."""
    rows = []
    for p, resource, co2e in (("practice", 2_706_997.0, 540.1155), ("steamopt", 2_433_916.0, 495.7237),
                              ("oracle", 2_432_288.0, 495.4291)):
        for i, x in enumerate((0.0, 500.0, 1000.0, 2000.0)):
            c = co2e + 1e-9 * i  # float noise between variants
            rows.append({"parameter_value": x, "policy": p, "carbon_cost": x * c, "cost": resource + x * c, "co2e_t": c})
    return pd.DataFrame(rows)


def test_mac_by_hand_excludes_the_carbon_cost():
    mac = marginal_abatement_costs(sweep_table()).set_index(["policy", "from_value"])
    # steamopt 0 -> 500: (1,010,000 - 1,000,000) / (5,000 - 4,900) = 100 THB/t
    assert mac.at[("steamopt", 0.0), "mac"] == pytest.approx(100.0)
    assert math.isnan(mac.at[("steamopt", 500.0), "mac"])  # CO2e flat: skipped
    assert mac.at[("steamopt", 500.0), "skipped"] == "CO2e does not fall"
    assert mac.at[("steamopt", 1000.0), "mac"] == pytest.approx(400.0)  # 40,000 / 100
    assert mac.at[("oracle", 0.0), "mac"] == pytest.approx(120.0)  # 6,000 / 50
    assert mac.at[("oracle", 500.0), "mac"] == pytest.approx(240.0)  # 24,000 / 100
    assert math.isnan(mac.at[("oracle", 1000.0), "mac"])  # CO2e rises


def test_sweep_report_writes_tradeoff_mac_and_table(tmp_path):
    path = write_sweep_report(sweep_table(), tmp_path, parameter="carbon_price_per_t")
    assert path.name == "sweep.md"
    assert_png(tmp_path / "tradeoff.png")
    assert_png(tmp_path / "mac.png")
    md = path.read_text()
    assert "](tradeoff.png)" in md and "](mac.png)" in md
    assert "| steamopt | 0 | 500 | 100.0 | 10,000 | 100.0 |" in md
    assert "| steamopt | 1,000 | 2,000 | 100.0 | 40,000 | 400.0 |" in md
    assert "skipped: CO2e does not fall" in md
    assert "cost - carbon_cost" in md


def test_sweep_of_another_parameter_has_no_mac(tmp_path):
    table = sweep_table().drop(columns=["carbon_cost"])
    path = write_sweep_report(table, tmp_path, parameter="tle_steam_scale")
    assert_png(tmp_path / "tradeoff.png")
    assert not (tmp_path / "mac.png").exists()
    assert "not a carbon price" in path.read_text()


def _overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of texts (point labels, legend entries, titles) whose drawn boxes overlap."""
    canvas = FigureCanvasAgg(fig)  # the writer closed the figure
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = []
    for ax in fig.axes:
        boxes += [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts if t.get_text()]
    for leg in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        boxes.append(("legend", leg.get_window_extent(renderer)))
    return [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:] if ba.overlaps(bb)]


def test_tradeoff_labels_do_not_overlap_and_coinciding_points_share_one(tmp_path, figures):
    write_sweep_report(flat_sweep_table(), tmp_path, parameter="carbon_price")
    fig = figures["tradeoff.png"]
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert labels.count("carbon_price 0; 500; 1,000; 2,000") == len(labels) == 3 + 2  # one per policy and panel
    assert _overlaps(fig) == []
    assert any("zoom" in ax.get_title() for ax in fig.axes)  # the optimisers are not squashed into a corner


def test_tradeoff_labels_of_nearby_points_do_not_overlap(tmp_path, figures):
    write_sweep_report(sweep_table(), tmp_path, parameter="carbon_price")  # oracle at 4,850 and 4,860 t, same cost
    assert _overlaps(figures["tradeoff.png"]) == []


def test_flat_sweep_mac_panel_says_why(tmp_path, figures):
    md = write_sweep_report(flat_sweep_table(), tmp_path, parameter="carbon_price").read_text()
    fig = figures["mac.png"]
    assert len(fig.axes) == 1  # one panel that says why, not two blank ones
    assert "CO₂e does not fall by more than 0.1 % of the period's between any two consecutive carbon_price values" in texts(fig)
    assert "_No marginal abatement cost: CO₂e does not fall" in md


def test_a_fall_below_a_tenth_of_a_percent_is_not_abatement():
    """Closed-loop weeks differ by their path at a fixed price; a CO2e fall under 0.1 % of the
    period's is not priced as abatement, one above it is (MAC by hand)."""
    rows = [{"parameter_value": x, "policy": "steamopt", "carbon_cost": 0.0, "cost": cost, "co2e_t": c}
            for x, cost, c in ((0.0, 1_000_000.0, 10_000.0), (500.0, 1_005_000.0, 9_995.0), (1000.0, 1_105_000.0, 9_895.0))]
    mac = marginal_abatement_costs(pd.DataFrame(rows))
    assert math.isnan(mac.loc[0, "mac"]) and "less than 0.1 % of the period's" in mac.loc[0, "skipped"]
    assert mac.loc[1, "mac"] == pytest.approx(100_000.0 / 100.0, rel=1e-12) and mac.loc[1, "skipped"] == ""
    assert marginal_abatement_costs(pd.DataFrame(rows), min_avoided_fraction=1e-4).loc[0, "mac"] == pytest.approx(1000.0)
