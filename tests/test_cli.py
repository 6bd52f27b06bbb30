"""The steamopt command line: simulate writes the historian; a bad site file is one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from scenarios.cli import main

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"


def test_simulate_writes_historian_and_kpis(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["simulate", "--site", str(SITE_FILE), "--hours", "6", "--step-min", "15", "--seed", "1", "--out", str(out), "--quiet"])
    assert rc == 0
    parquet = pd.read_parquet(out / "historian.parquet")
    csv = pd.read_csv(out / "historian.csv", index_col="timestamp", parse_dates=True)
    assert len(parquet) == 24 and len(csv) == 24
    assert list(parquet.columns) == list(csv.columns)
    pd.testing.assert_frame_equal(parquet, csv, check_freq=False, check_names=False, rtol=1e-12)
    assert {"B1.steam_tph", "GT1.power_mw", "site.co2e_t_h", "ambient_temp_c"} <= set(parquet.columns)
    assert parquet.index.is_monotonic_increasing and parquet.index[1] - parquet.index[0] == pd.Timedelta(minutes=15)
    units = pd.read_csv(out / "historian_units.csv").set_index("tag")
    assert units.loc["B1.steam_tph", "unit"] == "t/h" and units.loc["GT1.fuel_gj_h", "unit"] == "GJ/h"
    assert bool(units.loc["B1.steam_tph", "measured"]) and not bool(units.loc["site.cost_per_h", "measured"])
    kpi = pd.read_csv(out / "kpi_summary.csv", index_col="kpi")
    truth_fuel = kpi.loc["fuel, total", "value"]
    assert truth_fuel > 0
    printed = capsys.readouterr().out
    assert "total cost" in printed and "CO2e scope 1" in printed


def test_same_seed_same_historian(tmp_path):
    args = ["simulate", "--site", str(SITE_FILE), "--hours", "3", "--step-min", "15", "--seed", "7", "--quiet", "--out"]
    assert main(args + [str(tmp_path / "a")]) == 0 and main(args + [str(tmp_path / "b")]) == 0
    a, b = (pd.read_parquet(tmp_path / x / "historian.parquet") for x in "ab")
    pd.testing.assert_frame_equal(a, b)
    assert main(args[:-3] + ["8", "--quiet", "--out", str(tmp_path / "c")]) == 0
    c = pd.read_parquet(tmp_path / "c" / "historian.parquet")
    assert not a["B1.steam_tph"].equals(c["B1.steam_tph"])


def test_sensor_noise_only_on_measured_tags(tmp_path):
    base = ["simulate", "--site", str(SITE_FILE), "--hours", "2", "--seed", "3", "--quiet"]
    assert main(base + ["--noise", "0", "--out", str(tmp_path / "clean")]) == 0
    assert main(base + ["--noise", "0.01", "--out", str(tmp_path / "noisy")]) == 0
    clean, noisy = (pd.read_parquet(tmp_path / x / "historian.parquet") for x in ("clean", "noisy"))
    rel = (noisy["B1.steam_tph"] / clean["B1.steam_tph"] - 1.0).abs()
    assert 0.0 < rel.max() < 0.06
    pd.testing.assert_series_equal(clean["site.cost_per_h"], noisy["site.cost_per_h"])


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (("max_steam_tph = 160.0              # t/h\nefficiency_curve = { load_fraction = [0.25, 0.40, 0.55, 0.70, 0.85, 1.00], efficiency = [0.888",
          "max_steam_tph = -5.0\nefficiency_curve = { load_fraction = [0.25, 0.40, 0.55, 0.70, 0.85, 1.00], efficiency = [0.888"),
         "boilers.B3.max_steam_tph = -5.0: must be > 0 t/h"),
        (('outlet = "MP"\nmax_flow_tph = 250.0', 'outlet = "XP"\nmax_flow_tph = 250.0'), "letdowns.LD_HP_MP.outlet = 'XP': unknown header"),
        (("[headers.SHP]", "[headers.SHP\n"), "is not valid TOML"),
    ],
)
def test_bad_site_is_one_line_per_problem_without_traceback(tmp_path, edit, fragment):
    text = SITE_FILE.read_text()
    assert edit[0] in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(edit[0], edit[1], 1))
    proc = subprocess.run([sys.executable, "-m", "scenarios.cli", "site", "check", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert any(fragment in line and str(bad) in line for line in lines), proc.stderr


def test_site_check_ok(capsys):
    assert main(["site", "check", str(SITE_FILE)]) == 0
    assert "4 headers" in capsys.readouterr().out


def test_console_script_simulate_24h(tmp_path):
    """The documented command, as a user runs it (the <30 s target is measured in benchmarks/)."""
    exe = Path(sys.executable).with_name("steamopt")
    proc = subprocess.run([str(exe), "simulate", "--site", str(SITE_FILE), "--hours", "24", "--step-min", "15", "--seed", "1",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_parquet(tmp_path / "historian.parquet")) == 96
    assert (tmp_path / "historian.csv").exists()


def test_no_progress_bar_when_the_output_is_not_a_terminal(tmp_path):
    """A log or a pipe gets no progress bar (tqdm's carriage-return updates would flood it)."""
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "scenarios.cli", "simulate", "--site", str(SITE_FILE), "--hours", "2",
                        "--step-min", "15", "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (out / "historian.parquet").exists()
    assert "%|" not in r.stderr and "\r" not in r.stderr, r.stderr[-300:]


def test_step_stdout_is_json_only():
    """HiGHS's start-up banner goes to the process's stdout unless the engine keeps it off:
    `steamopt step` must print a JSON document and nothing else."""
    root = ROOT
    proc = subprocess.run([sys.executable, "-m", "scenarios.cli", "step", "--site", str(SITE_FILE),
                           "--models", str(root / "scenarios" / "models" / "reference_olefins"),
                           "--snapshot", str(root / "scenarios" / "snapshots" / "reference_olefins.json")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "HiGHS" not in proc.stdout
    proposal = json.loads(proc.stdout)
    assert proposal["status"] == "optimal"


def test_step_with_a_snapshot_that_is_not_there_exits_2_naming_it(tmp_path, capsys):
    missing = tmp_path / "missing.json"
    code = main(["step", "--site", str(ROOT / "scenarios" / "sites" / "reference_olefins.toml"),
                 "--models", str(ROOT / "scenarios" / "models" / "reference_olefins"), "--snapshot", str(missing)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.startswith(f"error: {missing}: snapshot cannot be read: No such file or directory"), captured.err


def test_version_and_help_with_defaults(capsys):
    from optimizer import __version__

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"steamopt {__version__}"
    with pytest.raises(SystemExit):
        main(["step", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "time budget of the step, s (default: 1.0)" in text and "(default: cost)" in text
    assert "(default: None)" not in text and "(default: False)" not in text  # required options and flags: no default shown


def _step(capsys, *extra: str) -> dict:
    code = main(["step", "--site", str(SITE_FILE), "--models", str(ROOT / "scenarios" / "models" / "reference_olefins"),
                 "--snapshot", str(ROOT / "scenarios" / "snapshots" / "reference_olefins.json"), *extra])
    out = capsys.readouterr()
    return {"code": code, "out": out.out, "err": out.err}


def test_step_weighted_objective(capsys):
    """``--objective weighted``: cost=1 alone gives the cost objective's proposal; a carbon weight
    far above the site's carbon price trades cost for CO2e."""
    cost = json.loads(_step(capsys)["out"])
    same = json.loads(_step(capsys, "--objective", "weighted", "--weights", "cost=1")["out"])
    green = json.loads(_step(capsys, "--objective", "weighted", "--weights", "cost=1,co2e=50000")["out"])
    assert cost["status"] == same["status"] == green["status"] == "optimal"
    kpi = "co2e_t_h"
    assert same["proposed_kpis"]["cost_per_h"] == pytest.approx(cost["proposed_kpis"]["cost_per_h"], rel=1e-9)
    assert green["proposed_kpis"][kpi] < cost["proposed_kpis"][kpi] - 1e-3
    assert green["proposed_kpis"]["cost_per_h"] > cost["proposed_kpis"]["cost_per_h"]


@pytest.mark.parametrize("weights, message", [("cost=1,co2e=-3", "--weights co2e = -3.0: must be a finite number >= 0"),
                                              ("carbon=2", "--weights 'carbon=2': expected cost=W, co2e=W or steam=W"),
                                              ("cost=0", "at least one weight must be > 0")])
def test_step_bad_weights_named(capsys, weights, message):
    r = _step(capsys, "--objective", "weighted", "--weights", weights)
    assert r["code"] == 2 and message in r["err"] and r["out"] == ""


def test_the_two_replays_say_which_is_which(capsys):
    """`replay` (an audit log) and `historian replay` (plant data) were easily confused: the
    top-level help says what each does and points to the other."""
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "audit check: re-run the cycles of an audit log" in text and "see `historian replay`" in text
    assert "`historian replay` runs the engine over a historian as it would have run live" in text and "see `replay`" in text
