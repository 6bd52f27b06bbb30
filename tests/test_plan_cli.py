"""``steamopt plan`` (scenarios/plan_command.py) and its text (optimizer/schedule_text.py), issue 16
part 4: the printed numbers are the schedule's, the bundled forecasters are used by default, a
given forecast is used as given, bad arguments are one clear error line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.plan_forecast import PlanForecaster, series_columns
from optimizer.schedule import Schedule
from optimizer.schedule_text import render_schedule
from optimizer.site import load_site
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.cli import main
from scenarios.forecasting import bundled_forecaster_dir
from surrogate.forecast import load_forecasters
from surrogate.manifest import load_model_dir
from tests.test_plan_forecast import _frame

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
MODELS = ROOT / "scenarios" / "models" / "reference_olefins"
FORECASTERS = ROOT / "scenarios" / "models" / "reference_olefins_forecast"
SNAPSHOT = ROOT / "scenarios" / "snapshots" / "reference_olefins.json"
SITE = load_site(SITE_FILE)
BASE = ["plan", "--site", str(SITE_FILE), "--models", str(MODELS), "--snapshot", str(SNAPSHOT)]
ROW = re.compile(r"^\s*(?:[A-Z][a-z]{2} )?\d\d:\d\d\s")


def _rows(text: str) -> list[list[str]]:
    """The period rows of the printed table, split into their 9 fields (a later day's time keeps
    its weekday: "Tue 00:00")."""
    out = []
    for line in text.splitlines():
        if ROW.match(line):
            fields = line.split()
            if len(fields) == 10:
                fields = [f"{fields[0]} {fields[1]}", *fields[2:]]
            assert len(fields) == 9, line
            out.append(fields)
    return out


def _f(token: str) -> float:
    return float(token.replace(",", ""))


def _check_rows_against(rows: list[list[str]], sched: dict, prices: list[float] | None = None) -> None:
    """Each printed row equals the schedule's period (to the printed rounding)."""
    sp, kp, on = sched["setpoints"], sched["kpis"], sched["on"]
    boilers = [f"{b}.steam_tph" for b in SITE.boilers if f"{b}.steam_tph" in sp]
    gts = [f"{g}.power_mw" for g in SITE.gas_turbines]
    tgs = [f"{t}.power_mw" for t in SITE.turbines if f"{t}.power_mw" in sp]
    assert boilers and gts and tgs
    assert len(rows) == len(sched["times"])
    for t, (hhmm, price, n_on, off, boiler, gt, tg, imp, cost) in enumerate(rows):
        assert hhmm[-5:] == pd.Timestamp(sched["times"][t]).strftime("%H:%M")
        units_off = sorted(u for u in on if on[u][t] < 0.5)
        assert n_on == f"{len(on) - len(units_off)}/{len(on)}"
        assert sorted(off.split(",")) == units_off if units_off else off == "-"
        assert _f(boiler) == pytest.approx(sum(sp[c][t] for c in boilers), abs=0.051)
        assert _f(gt) == pytest.approx(sum(sp[c][t] for c in gts), abs=0.0051)
        assert _f(tg) == pytest.approx(sum(sp[c][t] for c in tgs), abs=0.0051)
        assert _f(imp) == pytest.approx(kp["power_import_mw"][t], abs=0.0051)
        assert _f(cost) == pytest.approx(kp["cost_per_h"][t], abs=0.51)
        if prices is not None:
            assert _f(price) == pytest.approx(prices[t], abs=0.51)


def _costs_line(text: str) -> list[float]:
    line = next(x for x in text.splitlines() if x.startswith("costs ("))
    return [_f(v) for v in re.findall(r"(?:energy|start-up|shut-down|total) ([-\d,]+)", line)]


# ------------------------------------------------------------------ the text alone (no solve)


def test_render_schedule_prints_the_schedules_own_numbers():
    times = pd.DatetimeIndex(["2026-03-02 23:00", "2026-03-03 00:00"])
    sp = pd.DataFrame({"B1.steam_tph": [0.0, 40.3], "B2.steam_tph": [100.0, 90.0], "GT1.power_mw": [30.0, 31.5],
                       "GT2.power_mw": [20.0, 0.0], "TG1.power_mw": [12.346, 10.0], "MP_C3_SPLITTER.steam_tph": [27.0, 27.0]},
                      index=times)
    kp = pd.DataFrame({"cost_per_h": [400_000.4, 390_123.0], "power_import_mw": [1.25, 0.0], "co2e_t_h": [80.0, 81.5]}, index=times)
    on = pd.DataFrame({"B1": [0.0, 1.0], "B2": [1.0, 1.0], "GT2": [1.0, 0.0]}, index=times)
    sched = Schedule(
        "optimal", times[0].isoformat(), 60.0, times=[t.isoformat() for t in times], setpoints=sp, kpis=kp, on=on,
        starts=[{"unit": "B1", "period": times[1].isoformat(), "begin_startup": "2026-03-02T23:30:00", "cost": 12_500.0, "kind": "cold"}],
        stops=[{"unit": "GT2", "period": times[1].isoformat(), "cost": 800.0}],
        costs={"energy": 790_123.4, "startup": 12_500.0, "shutdown": 800.0, "total": 803_423.4}, gap=2e-5,
        first_period=sp.iloc[0].to_dict(), advice=["start B1 at 23:30 (on from 00:00)"],
        forecast_methods={"HP.demand_tph": "model"}, stats={"build_s": 0.1, "solve_s": 1.5})
    text = render_schedule(sched, site=SITE, prices=[4_200.0, 2_600.0])
    assert _rows(text) == [["23:00", "4,200", "2/3", "B1", "100.0", "50.00", "12.35", "1.25", "400,000"],
                           ["Tue 00:00", "2,600", "2/3", "GT2", "130.3", "31.50", "10.00", "0.00", "390,123"]]
    assert "  start B1: start-up from 2026-03-02 23:30, on from 00:00, cold start, 12,500 THB" in text
    assert "  stop GT2 at 2026-03-03 00:00, 800 THB" in text
    assert "  start B1 at 23:30 (on from 00:00)" in text
    assert _costs_line(text) == [790_123.0, 12_500.0, 800.0, 803_423.0]
    assert "KPIs per period" not in text and "forecast methods" not in text
    explained = render_schedule(sched, explain=True, site=SITE, prices=[4_200.0, 2_600.0])
    assert explained.startswith(text)
    co2 = next(x for x in explained.splitlines() if x.startswith("co2e_t_h")).split()
    assert co2 == ["co2e_t_h", "80.00", "81.50"]
    assert "  HP.demand_tph: model" in explained


# ------------------------------------------------------------------ the command on the reference site


@pytest.fixture(scope="module")
def evening(tmp_path_factory) -> tuple[Path, Path]:
    """The bundled snapshot at 20:00 (a 4-h plan crosses the 22:00 change to the off-peak tariff)
    and 49 h of simulated history ending the hour before."""
    folder = tmp_path_factory.mktemp("plan_cli")
    snapshot = folder / "snapshot.json"
    snapshot.write_text(json.dumps({**json.loads(SNAPSHOT.read_text()), "timestamp": "2026-03-02T20:00:00"}))
    history = folder / "history.csv"
    _frame(49.0, seed=3, start="2026-02-28 19:00").to_csv(history)
    return snapshot, history


def test_plan_cli_uses_the_bundled_forecasters_and_prints_the_schedule(tmp_path, capsys, evening):
    snapshot_file, history_csv = evening
    out = tmp_path / "schedule.json"
    rc = main(["plan", "--site", str(SITE_FILE), "--models", str(MODELS), "--snapshot", str(snapshot_file), "--hours", "4",
               "--history", str(history_csv), "--json", str(out), "--explain"])
    text = capsys.readouterr().out
    assert rc == 0, text
    sched = json.loads(out.read_text())
    assert sched["status"] == "optimal"
    assert sched["times"] == [f"2026-03-02T{h}:00:00" for h in (20, 21, 22, 23)]
    # the bundled forecasters served their models on the given history
    assert f"forecast: forecasters {FORECASTERS}, history {history_csv}" in text
    assert sched["forecast_methods"] == dict.fromkeys(series_columns(SITE), "model")
    # the printed numbers are the schedule's; the price is the one the plan paid for its import
    tariff = [SITE.electricity.import_price_per_mwh(pd.Timestamp(t).weekday(), pd.Timestamp(t).hour) for t in sched["times"]]
    assert tariff[1] > tariff[2]  # peak, then off-peak from 22:00
    _check_rows_against(_rows(text), sched, tariff)
    kp = sched["kpis"]
    paid = [kp["electricity_cost_per_h"][t] / kp["power_import_mw"][t] for t in range(4) if kp["power_import_mw"][t] > 0.1]
    assert paid and np.allclose(paid, [tariff[t] for t in range(4) if kp["power_import_mw"][t] > 0.1], rtol=1e-3)
    costs = sched["costs"]
    assert _costs_line(text) == [round(costs[k]) for k in ("energy", "startup", "shutdown", "total")]
    for s in sched["stops"]:
        verb = "switch to the motor" if s["unit"] == "BFP" else "stop"  # BFP: a drive, turbine or motor
        assert s["action"] == verb
        assert f"  {verb} {s['unit']} at {pd.Timestamp(s['period']):%Y-%m-%d %H:%M}" in text
    for a in sched["advice"]:
        assert f"  {a}" in text
    assert "  TLE.steam_tph: model" in text  # --explain: the forecast methods

    # the same plan through the library: a PlanForecaster of the bundled directory on the same
    # history, its table given to Supervisor.plan, gives the same schedule
    pf = PlanForecaster(SITE, load_forecasters(FORECASTERS))
    pf.load_history(pd.read_csv(history_csv, index_col=0, parse_dates=True))
    snapshot = json.loads(snapshot_file.read_text())
    sup = Supervisor(SITE, load_model_dir(MODELS), SupervisorConfig())
    table, _methods = pf.forecast({k: v for k, v in snapshot.items() if k != "timestamp"}, pd.Timestamp(snapshot["timestamp"]), 4, 60.0)
    direct = sup.plan(snapshot, table, horizon_h=4)
    assert direct.objective == pytest.approx(sched["objective"], rel=1e-9)
    np.testing.assert_allclose(direct.kpis["cost_per_h"].to_numpy(), kp["cost_per_h"], rtol=1e-9)


def test_plan_cli_given_forecast_in_15_min_periods(tmp_path, capsys):
    times = pd.date_range("2026-03-02 10:00", periods=4, freq="15min")
    prices = [3_000.0, 6_000.0, 2_500.0, 4_500.0]
    table = pd.DataFrame({"import_price_per_mwh": prices, "HP_REACTOR.steam_tph": [25.0, 27.0, 29.0, 31.0]}, index=times)
    path = tmp_path / "forecast.csv"
    table.to_csv(path)
    out = tmp_path / "s.json"
    rc = main([*BASE, "--hours", "1", "--period-min", "15", "--forecast", str(path), "--json", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    sched = json.loads(out.read_text())
    assert sched["period_min"] == 15.0 and len(sched["times"]) == 4
    assert sched["forecast_methods"] == {"import_price_per_mwh": "given", "HP_REACTOR.steam_tph": "given"}
    _check_rows_against(_rows(text), sched, prices)
    kp = sched["kpis"]
    imports = [t for t in range(4) if kp["power_import_mw"][t] > 0.1]
    for t in imports:  # the plan paid the given price
        assert kp["electricity_cost_per_h"][t] / kp["power_import_mw"][t] == pytest.approx(prices[t], rel=1e-3)
    assert imports
    # energy = sum of cost rates x 0.25 h
    assert sched["costs"]["energy"] == pytest.approx(0.25 * sum(kp["cost_per_h"]), rel=1e-12)


# ------------------------------------------------------------------ refusals (no solve)


def _forecast_csv(tmp_path: Path, start: str) -> str:
    p = tmp_path / "f.csv"
    pd.DataFrame({"HP_REACTOR.steam_tph": [25.0, 26.0]}, index=pd.date_range(start, periods=2, freq="60min")).to_csv(p)
    return str(p)


@pytest.mark.parametrize(("extra", "message"), [
    (["--hours", "2.5"], "error: --hours 2.5: must be a whole number of 60-min periods"),
    (["--gap", "1.5"], "error: --gap 1.5: must be a relative MIP gap in [0, 1)"),
    (["--period-min", "0"], "error: --period-min 0: must be 1..1440 minutes"),
    (["--time-budget", "-1"], "error: --time-budget -1: must be > 0 seconds"),
    (["--forecasters", "/nonexistent/fc"], "error: --forecasters /nonexistent/fc: directory not found"),
    (["--history", "/nonexistent/h.csv"], "error: --history /nonexistent/h.csv: file not found"),
    ("bad_times", "error: --forecast {path}: row 0 starts at 2026-03-02 11:00:00; the plan's period 0 starts at 2026-03-02 10:00:00"),
    ("history_with_forecast", "error: --history: only with forecasters"),
    ("other_site", "error: --forecasters {path}: made for site 'another_site', not 'reference_olefins'"),
])
def test_plan_cli_refuses_bad_arguments_with_one_clear_line(tmp_path, capsys, extra, message):
    if extra == "bad_times":
        path = _forecast_csv(tmp_path, "2026-03-02 11:00")
        extra, message = ["--hours", "2", "--forecast", path], message.format(path=path)
    elif extra == "history_with_forecast":
        path = _forecast_csv(tmp_path, "2026-03-02 10:00")
        extra = ["--hours", "2", "--forecast", path, "--history", path]
    elif extra == "other_site":
        path = tmp_path / "fc"
        shutil.copytree(FORECASTERS, path)
        (path / "manifest.toml").write_text((path / "manifest.toml").read_text().replace('site = "reference_olefins"', 'site = "another_site"'))
        extra, message = ["--hours", "2", "--forecasters", str(path)], message.format(path=path)
    rc = main([*BASE, *extra])
    captured = capsys.readouterr()
    assert rc == 2
    assert captured.err.startswith(message), captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_plan_cli_missing_snapshot_and_unusable_snapshot(tmp_path, capsys):
    rc = main(["plan", "--site", str(SITE_FILE), "--models", str(MODELS), "--snapshot", str(tmp_path / "none.json")])
    assert rc == 2 and capsys.readouterr().err.startswith(f"error: --snapshot {tmp_path / 'none.json'}: file not found")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(SNAPSHOT.read_text()), "timestamp": "not a time"}))
    rc = main(["plan", "--site", str(SITE_FILE), "--models", str(MODELS), "--snapshot", str(bad), "--hours", "2", "--forecasters", "none"])
    text = capsys.readouterr().out
    assert rc == 1  # nothing planned: the reasons printed, no table
    assert "plan: invalid_input" in text and "warning: " in text and _rows(text) == []


def test_bundled_forecaster_dir_is_the_models_sibling_for_the_same_site(tmp_path):
    assert bundled_forecaster_dir(SITE, MODELS) == FORECASTERS
    assert bundled_forecaster_dir(SITE, tmp_path / "models") is None  # no sibling
    shutil.copytree(FORECASTERS, tmp_path / "models_forecast")
    assert bundled_forecaster_dir(SITE, tmp_path / "models") == tmp_path / "models_forecast"
    manifest = tmp_path / "models_forecast" / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('site = "reference_olefins"', 'site = "another_site"'))
    assert bundled_forecaster_dir(SITE, tmp_path / "models") is None  # another site's forecasters
