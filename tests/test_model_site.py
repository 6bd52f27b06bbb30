"""Models know their site (issue 18 item 4): a model directory records the site it was trained for
and what each model depends on; loading it for a site whose physics differ is refused, naming
each difference, and `steamopt surrogate train` checks its data before training."""

from __future__ import annotations

import logging
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.model_site import (ModelSiteMismatch, build_site_record, compare_site_record, load_models_for_site, model_dependencies,
                                  site_hash)
from optimizer.site import load_site
from scenarios.cli import main
from surrogate.manifest import MANIFEST_NAME, read_manifest, write_manifest
from surrogate.onnx_io import SurrogateFileError

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
SITE_TEXT = SITE_FILE.read_text()
MODEL_DIR = ROOT / "scenarios" / "models" / "reference_olefins"
SNAPSHOT = ROOT / "scenarios" / "snapshots" / "reference_olefins.json"


def site_variant(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    """The reference site file with each ``old -> new`` text edit made (each must apply once)."""
    text = SITE_TEXT
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def without_boiler_b4(tmp_path: Path) -> Path:
    """The reference site with boiler B4 removed (its table and its OPC UA tags)."""
    out, skip = [], False
    for line in SITE_TEXT.splitlines(keepends=True):
        if line.startswith("[boilers.B4]"):
            skip = True
            continue
        if skip and (line.startswith("[") or line.startswith("# ---")):
            skip = False
        if skip or '"B4.' in line or '"setpoint.B4.' in line:
            continue
        out.append(line)
    path = tmp_path / "no_b4.toml"
    path.write_text("".join(out))
    assert "B4" not in load_site(path).boilers
    return path


HP_45 = ("[headers.HP]\npressure_barg = 42.0", "[headers.HP]\npressure_barg = 45.0")


def models_using_header(site, header: str) -> list[str]:
    """Independently of the record: the bundled models whose unit raises steam into, takes steam
    from or exhausts to ``header``, read from the site file's units."""
    out = []
    for name, e in read_manifest(MODEL_DIR).models.items():
        unit = e.outputs[0].split(".")[0]
        if name.endswith(("_hrsg", "_duct")) and site.gas_turbines[unit].hrsg.header == header:
            out.append(name)
        elif unit in site.boilers and site.boilers[unit].header == header:
            out.append(name)
        elif unit in site.turbines and (header == site.turbines[unit].inlet or any(sec.outlet == header for sec in site.turbines[unit].sections)):
            out.append(name)
        elif unit in site.consumers and site.consumers[unit].header == header:
            out.append(name)
    return sorted(out)


# ----------------------------------------------------------------------------- refusals


def test_a_removed_boiler_is_refused_naming_it_its_model_and_the_command(tmp_path):
    path = without_boiler_b4(tmp_path)
    with pytest.raises(ModelSiteMismatch) as e:
        load_models_for_site(load_site(path), MODEL_DIR)
    msg = str(e.value)
    assert "  boiler B4: present -> removed or renamed (affects B4_fuel)" in msg.splitlines()
    # the only difference: the other ten models depend on nothing that changed
    assert [ln for ln in msg.splitlines() if "(affects" in ln] == ["  boiler B4: present -> removed or renamed (affects B4_fuel)"]
    assert f"steamopt surrogate train --site {path} --data HISTORIAN.parquet --out " in msg


def test_step_for_a_site_without_a_boiler_exits_non_zero_with_the_message(tmp_path, capsys):
    path = without_boiler_b4(tmp_path)
    rc = main(["step", "--site", str(path), "--models", str(MODEL_DIR), "--snapshot", str(SNAPSHOT)])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert "error:   boiler B4: present -> removed or renamed (affects B4_fuel)" in err.splitlines()
    assert f"steamopt surrogate train --site {path}" in err
    assert "Traceback" not in err


def test_a_changed_header_pressure_is_refused_naming_the_header_old_and_new_value(tmp_path, capsys):
    path = site_variant(tmp_path, "hp45", HP_45)
    site = load_site(path)
    affected = models_using_header(site, "HP")
    # the site file: both HRSGs raise HP steam (unfired and duct-fired), TG2 takes it
    assert affected == ["GT1_duct", "GT1_hrsg", "GT2_duct", "GT2_hrsg", "TG2_steam"]
    with pytest.raises(ModelSiteMismatch) as e:
        load_models_for_site(site, MODEL_DIR)
    lines = [ln for ln in str(e.value).splitlines() if "(affects" in ln]
    # the HRSGs' feedwater is taken at their header's pressure: its enthalpy moves with it (IAPWS-IF97, 120 C)
    assert lines == ["  gas_turbine GT1.hrsg.feedwater_enthalpy_kj_kg: 506.67 -> 506.88 (affects GT1_hrsg, GT1_duct)",
                     "  header HP.pressure_barg: 42 -> 45 (affects GT1_hrsg, GT2_hrsg, TG2_steam, GT1_duct, GT2_duct)",
                     "  gas_turbine GT2.hrsg.feedwater_enthalpy_kj_kg: 506.67 -> 506.88 (affects GT2_hrsg, GT2_duct)"]
    rc = main(["step", "--site", str(path), "--models", str(MODEL_DIR), "--snapshot", str(SNAPSHOT)])
    err = capsys.readouterr().err
    assert rc == 2 and "error:   header HP.pressure_barg: 42 -> 45 (affects GT1_hrsg, GT2_hrsg, TG2_steam, GT1_duct, GT2_duct)" in err.splitlines()


def test_a_changed_extraction_header_refuses_the_extraction_condensing_model(tmp_path):
    """TG3 extracts to MP: an MP pressure change refuses its two-decision model (recorded with
    the extraction header), with the column that draws MP steam."""
    site = load_site(site_variant(tmp_path, "mp19", ("[headers.MP]\npressure_barg = 18.0", "[headers.MP]\npressure_barg = 19.0")))
    affected = models_using_header(site, "MP")
    assert affected == ["MP_C3_SPLITTER_purity", "MP_C3_SPLITTER_steam", "TG3_steam"]
    with pytest.raises(ModelSiteMismatch) as e:
        load_models_for_site(site, MODEL_DIR)
    lines = [ln for ln in str(e.value).splitlines() if "(affects" in ln]
    assert "  header MP.pressure_barg: 18 -> 19 (affects MP_C3_SPLITTER_steam, MP_C3_SPLITTER_purity, TG3_steam)" in lines, lines


def test_a_changed_header_temperature_and_fuel_are_named_each(tmp_path):
    path = site_variant(tmp_path, "two", ("pressure_barg = 42.0               # bar(g)\ntemp_c = 400.0",
                                          "pressure_barg = 42.0               # bar(g)\ntemp_c = 410.0"),
                        ('[boilers.B4]\nheader = "SHP"\nfuels = ["natural_gas"]', '[boilers.B4]\nheader = "SHP"\nfuels = ["fuel_gas"]'))
    with pytest.raises(ModelSiteMismatch) as e:
        load_models_for_site(load_site(path), MODEL_DIR)
    lines = [ln for ln in str(e.value).splitlines() if "(affects" in ln]
    assert lines == ["  boiler B4.fuels: [natural_gas] -> [fuel_gas] (affects B4_fuel)",  # in the models' order
                     "  header HP.temp_c: 400 -> 410 (affects GT1_hrsg, GT2_hrsg, TG2_steam, GT1_duct, GT2_duct)"]


# ----------------------------------------------------------------------------- accepted


def test_a_price_tariff_and_limit_change_loads_and_says_so(tmp_path, caplog):
    path = site_variant(tmp_path, "prices", ("price_per_gj = 279.6 ", "price_per_gj = 301.0 "),
                        ("max_import_mw = 80.0 ", "max_import_mw = 70.0 "), ("price_per_mwh = 4102.5 ", "price_per_mwh = 4500.0 "),
                        ("max_steam_tph = 160.0              # t/h\n# older unit", "max_steam_tph = 150.0              # t/h\n# older unit"))
    site = load_site(path)
    assert site_hash(site) != read_manifest(MODEL_DIR).site_record["hash"]  # the site did change
    with caplog.at_level(logging.INFO, logger="optimizer.model_site"):
        models = load_models_for_site(site, MODEL_DIR)
    assert sorted(models) == sorted(read_manifest(MODEL_DIR).models)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("only in what the models do not depend on" in m for m in infos), infos
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_bundled_models_record_the_reference_site(caplog):
    """The bundled manifest carries the record (stamped without retraining): the reference site
    loads with neither a refusal nor a warning, and the record is what the site gives now."""
    site = load_site(SITE_FILE)
    manifest = read_manifest(MODEL_DIR)
    with caplog.at_level(logging.DEBUG, logger="optimizer.model_site"):
        assert len(load_models_for_site(site, MODEL_DIR)) == len(manifest.models) == 14
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    fresh = build_site_record(site, {n: (e.inputs, e.outputs) for n, e in manifest.models.items()})
    assert manifest.site_record["models"] == fresh["models"]
    assert manifest.site_record["models"]["B1_fuel"]["header SHP.pressure_barg"] == site.headers["SHP"].pressure_barg == 110.0


def test_an_old_directory_without_record_loads_with_a_warning(tmp_path, caplog):
    old = tmp_path / "old_models"
    shutil.copytree(MODEL_DIR, old)
    m = read_manifest(old)
    write_manifest(old, {n: (e.file, e.inputs, e.outputs) for n, e in m.models.items()}, site=m.site)  # as before the record
    assert "site_record" not in (old / MANIFEST_NAME).read_text()
    changed = load_site(site_variant(tmp_path, "hp45", HP_45))  # not checkable without a record: loads, warned
    with caplog.at_level(logging.WARNING, logger="optimizer.model_site"):
        models = load_models_for_site(changed, old)
    assert len(models) == 14
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "records no site" in warnings[0] and f"steamopt surrogate stamp --site {changed.source} --models {old}" in warnings[0]


# ----------------------------------------------------------------------------- stamp


def test_the_stamp_is_deterministic_and_touches_only_the_manifest(tmp_path, capsys):
    assert site_hash(load_site(SITE_FILE)) == site_hash(load_site(SITE_FILE))
    moved = tmp_path / "same.toml"
    moved.write_text(SITE_TEXT.replace("# bar(g)", "# bar gauge"))  # comments and the path are not the site
    assert site_hash(load_site(moved)) == site_hash(load_site(SITE_FILE))
    assert site_hash(load_site(site_variant(tmp_path, "p", ("price_per_gj = 279.6 ", "price_per_gj = 279.7 ")))) != site_hash(load_site(SITE_FILE))

    d = tmp_path / "models"
    shutil.copytree(MODEL_DIR, d)
    m = read_manifest(d)
    write_manifest(d, {n: (e.file, e.inputs, e.outputs) for n, e in m.models.items()}, site=m.site)  # an old directory
    before = {p.name: p.read_bytes() for p in d.glob("*.onnx")}
    assert main(["surrogate", "stamp", "--site", str(SITE_FILE), "--models", str(d)]) == 0
    first = (d / MANIFEST_NAME).read_bytes()
    assert main(["surrogate", "stamp", "--site", str(SITE_FILE), "--models", str(d)]) == 0
    assert (d / MANIFEST_NAME).read_bytes() == first == (MODEL_DIR / MANIFEST_NAME).read_bytes()
    assert {p.name: p.read_bytes() for p in d.glob("*.onnx")} == before
    assert f"records site reference_olefins (hash {site_hash(load_site(SITE_FILE))[:12]})" in capsys.readouterr().out


def test_stamping_over_a_record_of_other_physics_is_refused(tmp_path, capsys):
    d = tmp_path / "models"
    shutil.copytree(MODEL_DIR, d)
    before = (d / MANIFEST_NAME).read_bytes()
    rc = main(["surrogate", "stamp", "--site", str(site_variant(tmp_path, "hp45", HP_45)), "--models", str(d)])
    assert rc == 2 and "header HP.pressure_barg: 42 -> 45" in capsys.readouterr().err
    assert (d / MANIFEST_NAME).read_bytes() == before


# ----------------------------------------------------------------------------- the other ways in


def test_reload_and_retrain_take_the_same_check(tmp_path):
    from optimizer.supervisor import Supervisor
    from scenarios.retrain import retrain

    path = site_variant(tmp_path, "hp45", HP_45)
    sup = Supervisor(load_site(SITE_FILE), load_models_for_site(load_site(SITE_FILE), MODEL_DIR))
    ok, message = sup.reload(site_path=path, models_dir=MODEL_DIR)
    assert not ok and "header HP.pressure_barg: 42 -> 45 (affects GT1_hrsg, GT2_hrsg, TG2_steam, GT1_duct, GT2_duct)" in message
    with pytest.raises(ModelSiteMismatch, match=r"header HP.pressure_barg: 42 -> 45"):
        retrain(load_site(path), MODEL_DIR, pd.DataFrame({"x": [1.0]}), tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_the_service_engine_takes_the_same_check(tmp_path):
    from optimizer.service.config import ServiceConfig
    from optimizer.service.run import engine_factory

    build = engine_factory(site_variant(tmp_path, "hp45", HP_45), MODEL_DIR, ServiceConfig())
    with pytest.raises(ModelSiteMismatch, match=r"header HP.pressure_barg: 42 -> 45"):
        build()


def test_serve_exits_non_zero_before_listening(tmp_path, capsys, monkeypatch):
    pytest.importorskip("uvicorn")
    import optimizer.service.run as run

    def listen(*a, **k):
        raise AssertionError("the service started listening for a site its models do not fit")

    monkeypatch.setattr(run, "make_server", listen)
    rc = main(["serve", "--site", str(site_variant(tmp_path, "hp45", HP_45)), "--models", str(MODEL_DIR), "--port", "1"])
    assert rc == 2 and "error:   header HP.pressure_barg: 42 -> 45 (affects GT1_hrsg, GT2_hrsg, TG2_steam, GT1_duct, GT2_duct)" in capsys.readouterr().err.splitlines()


# ----------------------------------------------------------------------------- the manifest's record


def test_the_record_round_trips_exactly_and_bad_records_are_refused(tmp_path):
    d = tmp_path / "models"
    shutil.copytree(MODEL_DIR, d)
    m = read_manifest(d)
    entries = {n: (e.file, e.inputs, e.outputs) for n, e in m.models.items()}
    record = {"hash": "a" * 64, "x": 0.1 + 0.2, "tiny": 5e-324, "big": float("inf"), "flag": False, "n": 3, "names": ["a", "b"],
              "models": {"B1_fuel": {"header SHP.pressure_barg": 110.0, "quote \"key\"": "v"}}}
    write_manifest(d, entries, site_record=record)
    assert read_manifest(d).site_record == record
    for bad, rule in [({"hash": "xyz"}, "site_record.hash = 'xyz': must be 64 lowercase hex digits"),
                      ({"hash": "a" * 64, "models": {"B9_fuel": {}}}, "site_record.models.B9_fuel: not a model of this manifest"),
                      ({"hash": "a" * 64, "v": [{"a": 1}]}, "site_record.v"),
                      ({"hash": "a" * 64, "a": {"b": {"c": {"d": 1}}}}, "nested more than 3 levels")]:
        with pytest.raises((SurrogateFileError, ValueError), match=rule.replace("(", r"\(").replace("[", r"\[")):
            write_manifest(d, entries, site_record=bad)
    assert read_manifest(d).site_record == record  # a refused write leaves the manifest as it was


def test_model_dependencies_name_what_a_model_means():
    site = load_site(SITE_FILE)
    deps = model_dependencies(site, "turbine_steam", "TG2")
    assert deps == {"steam_turbine TG2.drive": "generator", "steam_turbine TG2.sections": 1, "steam_turbine TG2.inlet": "HP",
                    "header HP.pressure_barg": 42.0, "header HP.temp_c": 400.0, "site.atmospheric_pressure_bar": 1.01325,
                    "steam_turbine TG2.exhaust": "LP", "header LP.pressure_barg": site.headers["LP"].pressure_barg,
                    "header LP.temp_c": site.headers["LP"].temp_c}
    assert model_dependencies(site, "boiler_fuel", "B9") is None
    # the extraction-condensing TG3 (two sections): its inlet against power AND extraction depends
    # on the extraction header too
    assert model_dependencies(site, "ectg_steam", "TG3") == {
        "steam_turbine TG3.drive": "generator", "steam_turbine TG3.sections": 2, "steam_turbine TG3.inlet": "SHP",
        "header SHP.pressure_barg": 110.0, "header SHP.temp_c": 510.0, "site.atmospheric_pressure_bar": 1.01325,
        "steam_turbine TG3.exhaust": "TG3_COND", "condenser TG3_COND.pressure_bara": 0.12,
        "steam_turbine TG3.extraction": "MP", "header MP.pressure_barg": 18.0, "header MP.temp_c": 300.0}
    assert model_dependencies(site, "ectg_steam", "TG2") is None  # a back-pressure set is no extraction-condensing one
    with pytest.raises(ValueError, match="kind = 'boiler_steam'"):
        model_dependencies(site, "boiler_steam", "B1")


# ----------------------------------------------------------------------------- training


def turbine_only_site(tmp_path: Path) -> Path:
    return site_variant(tmp_path, "tg_only", ('kinds = ["boiler_fuel", "gt_fuel", "hrsg_steam", "turbine_steam", "column_steam", "column_purity", "ectg_steam", "duct_steam"]',
                                              'kinds = ["turbine_steam"]'))


def turbine_frame(lo_mw: float, hi_mw: float, rows: int = 400) -> pd.DataFrame:
    """TG2's inlet steam against its power, a slow sweep over [lo_mw, hi_mw] (steady rows)."""
    t = np.arange(rows)
    power = lo_mw + (hi_mw - lo_mw) * 0.5 * (1 - np.cos(2 * np.pi * t / 96.0))
    steam = 8.0 + 9.5 * power + 0.05 * power**2
    return pd.DataFrame({"TG2.power_mw": power, "TG2.inlet_tph": steam},
                        index=pd.date_range("2026-01-05", periods=rows, freq="15min"))


def test_training_writes_the_site_record(tmp_path):
    from scenarios.training import train_site_models
    from surrogate.train import TrainingConfig

    site = load_site(turbine_only_site(tmp_path))
    train_site_models(site, turbine_frame(2.0, 12.0), tmp_path / "m", TrainingConfig(sizes=((3,),), seeds=(0,)))
    record = read_manifest(tmp_path / "m").site_record
    assert record["hash"] == site_hash(site) and list(record["models"]) == ["TG2_steam"]
    assert record["models"]["TG2_steam"]["header HP.pressure_barg"] == 42.0
    assert record["models"]["TG2_steam"]["inputs"] == ["TG2.power_mw"]
    with open(tmp_path / "m" / MANIFEST_NAME, "rb") as f:
        assert tomllib.load(f)["site_record"]["models"]["TG2_steam"]["steam_turbine TG2.exhaust"] == "LP"
    with pytest.raises(ModelSiteMismatch, match="header HP.pressure_barg: 42 -> 45"):
        load_models_for_site(load_site(site_variant(tmp_path, "hp45", HP_45)), tmp_path / "m")


def test_train_refuses_data_that_cannot_cover_the_operating_range_before_training(tmp_path, monkeypatch, capsys):
    import scenarios.training as training

    def never(*a, **k):
        raise AssertionError("trained although the data were refused")

    monkeypatch.setattr(training, "train_quantity", never)
    path = turbine_only_site(tmp_path)
    turbine_frame(5.0, 7.0).to_csv(tmp_path / "h.csv")  # TG2 runs between 5 and 7 MW of its 2-12 MW range
    rc = main(["surrogate", "train", "--site", str(path), "--data", str(tmp_path / "h.csv"), "--out", str(tmp_path / "m"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and not (tmp_path / "m").exists()
    assert "error:   TG2_steam: the training data cover TG2.power_mw 20% of its operating range [2, 12] (data 5 to 7), less than 50%" in err.splitlines(), err
    assert "nothing trained" in err


def test_train_progress_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    """A pipe or a log gets no bar; a terminal gets one naming the model being trained."""
    import sys

    import scenarios.training as training
    from surrogate.train import TrainingConfig

    real = training.train_quantity
    monkeypatch.setattr(training, "train_quantity", lambda data, config=None: real(data, TrainingConfig(sizes=((3,),), seeds=(0,))))
    path = turbine_only_site(tmp_path)
    turbine_frame(2.0, 12.0).to_csv(tmp_path / "h.csv")
    args = ["surrogate", "train", "--site", str(path), "--data", str(tmp_path / "h.csv")]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert not sys.stderr.isatty()
    assert "%|" not in err and "\r" not in err and "TG2_steam" not in err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert "train: 100%|" in err and "TG2_steam" in err, err


def test_a_study_of_a_changed_site_file_is_refused(tmp_path, capsys):
    site_variant(tmp_path, "hp45", HP_45)
    text = (ROOT / "scenarios" / "studies" / "base_week.toml").read_text()
    text = text.replace('site = "../sites/reference_olefins.toml"', 'site = "hp45.toml"').replace(
        'models = "../models/reference_olefins"', f'models = "{MODEL_DIR}"')
    (tmp_path / "week.toml").write_text(text)
    rc = main(["study", str(tmp_path / "week.toml"), "--out", str(tmp_path / "out"), "--hours", "1", "--policies", "steamopt", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "error:   header HP.pressure_barg: 42 -> 45 (affects GT1_hrsg, GT2_hrsg, TG2_steam, GT1_duct, GT2_duct)" in err.splitlines(), err


def test_a_studys_what_if_changes_run_on_the_models_with_a_warning(caplog):
    """A scenario's [changes] are a what-if on the models of its site file: checked against the
    file, and what the changes alter that the models depend on is named in a warning."""
    from scenarios.study import run_study
    from scenarios.study_files import spec_from_scenario_file

    spec = spec_from_scenario_file(ROOT / "scenarios" / "studies" / "gt_filter_e12.toml", hours=0.25, policies=["steamopt"])
    assert spec.site.gas_turbines["GT1"].filter_class == "E12" and spec.models_site.gas_turbines["GT1"].filter_class == "E10"
    with caplog.at_level(logging.WARNING, logger="optimizer.model_site"):
        result = run_study(spec)
    assert len(result.steps) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert ("gas_turbine GT1.filter_class: E10 -> E12 (GT1_fuel, GT1_hrsg); gas_turbine GT2.filter_class: E10 -> E12 "
            "(GT2_fuel, GT2_hrsg)") in warnings[0]


@pytest.mark.parametrize("command", [
    ["plan", "--snapshot", str(SNAPSHOT), "--hours", "2"],
    ["replay", "--log", "never_read.jsonl"],
    ["historian", "replay", "--data", "never_read.parquet", "--out", "never_written"],
])
def test_the_other_commands_take_the_same_check(tmp_path, capsys, command):
    path = site_variant(tmp_path, "hp45", HP_45)
    rc = main([*command, "--site", str(path), "--models", str(MODEL_DIR)])
    err = capsys.readouterr().err
    assert rc == 2 and "error:   header HP.pressure_barg: 42 -> 45 (affects GT1_hrsg, GT2_hrsg, TG2_steam, GT1_duct, GT2_duct)" in err.splitlines(), err
    assert f"steamopt surrogate train --site {path}" in err


def test_a_model_of_a_unit_on_first_principles_is_not_compared(tmp_path, caplog):
    """B4 set to first principles: its model is not used, so its fuel change does not refuse the
    directory; the same change with B4 learned does."""
    fuel = ('[boilers.B4]\nheader = "SHP"\nfuels = ["natural_gas"]', '[boilers.B4]\nheader = "SHP"\nfuels = ["fuel_gas"]')
    fp = site_variant(tmp_path, "fp", (fuel[0], fuel[1] + '\ncurve_source = "first_principles"'))
    assert load_site(fp).boilers["B4"].curve_source == "first_principles"
    assert len(load_models_for_site(load_site(fp), MODEL_DIR)) == 14
    with pytest.raises(ModelSiteMismatch, match=r"boiler B4.fuels: \[natural_gas\] -> \[fuel_gas\] \(affects B4_fuel\)"):
        load_models_for_site(load_site(site_variant(tmp_path, "learned", fuel)), MODEL_DIR)
    assert load_models_for_site(load_site(fp), "none") == {}


@pytest.mark.parametrize("name", ["reference_olefins", "refinery_cogen"])
def test_every_bundled_model_directory_is_stamped_for_its_site_as_it_is_now(name):
    """A bundled directory's record carries the hash of its bundled site file as the code reads it
    now (a new site-file field changes the hash: re-stamp with `steamopt surrogate stamp`)."""
    root = SITE_FILE.parents[1]
    site = load_site(root / "sites" / f"{name}.toml")
    record = read_manifest(root / "models" / name).site_record
    assert record["site"] == name and record["hash"] == site_hash(site)
    assert compare_site_record(site, record) == []


def tg3_frame(lo_x: float, hi_x: float, rows: int = 600) -> pd.DataFrame:
    """TG3's own campaign, synthetic: power and extraction swept independently (extraction over
    [lo_x, hi_x] t/h, power 3-20 MW), its inlet a smooth function of both (t/h)."""
    t = np.arange(rows)
    power = 3.0 + 17.0 * 0.5 * (1 - np.cos(2 * np.pi * t / 96.0))
    extraction = lo_x + (hi_x - lo_x) * 0.5 * (1 - np.cos(2 * np.pi * t / 37.0))
    inlet = 10.0 + 4.2 * power + 0.75 * extraction + 0.02 * power**2
    return pd.DataFrame({"TG3.power_mw": power, "TG3.extraction0_tph": extraction, "TG3.inlet_tph": inlet},
                        index=pd.date_range("2026-01-05", periods=rows, freq="15min"))


def test_an_extraction_condensing_unit_trains_from_its_own_data_and_records_its_extraction_header(tmp_path, monkeypatch):
    """`train --unit-data TG3_steam=...`: TG3's quantity is prepared from its own historian (the
    site historian has no TG3 rows), checked against its operating range (power 3-20 MW,
    extraction 0-112 t/h) like every other, and recorded as kind ectg_steam with the extraction
    header; a name that is no learned quantity is refused."""
    from scenarios.training import check_training_data, train_site_models
    from surrogate.train import TrainingConfig

    site = load_site(site_variant(tmp_path, "tg3_only", (
        'kinds = ["boiler_fuel", "gt_fuel", "hrsg_steam", "turbine_steam", "column_steam", "column_purity", "ectg_steam", "duct_steam"]',
        'kinds = ["ectg_steam"]')))
    site_rows = turbine_frame(2.0, 12.0)  # the site historian: no TG3 column
    with pytest.raises(ValueError, match="TG3_steam"):
        check_training_data(site, site_rows)
    with pytest.raises(ValueError, match=r"TG3_steam: the training data cover TG3.extraction0_tph 18% of its operating range \[0, 112\]"):
        check_training_data(site, site_rows, unit_frames={"TG3_steam": tg3_frame(0.0, 20.0)})
    with pytest.raises(ValueError, match=r"unit data for \['TG4_steam'\]: not learned quantities of site"):
        check_training_data(site, site_rows, unit_frames={"TG4_steam": tg3_frame(0.0, 112.0)})
    assert list(check_training_data(site, site_rows, unit_frames={"TG3_steam": tg3_frame(0.0, 112.0)})) == ["TG3_steam"]
    train_site_models(site, site_rows, tmp_path / "m", TrainingConfig(sizes=((3,),), seeds=(0,)),
                      unit_frames={"TG3_steam": tg3_frame(0.0, 112.0)})
    record = read_manifest(tmp_path / "m").site_record
    assert list(record["models"]) == ["TG3_steam"]
    rec = record["models"]["TG3_steam"]
    assert rec["kind"] == "ectg_steam" and rec["inputs"] == ["TG3.power_mw", "TG3.extraction0_tph"]
    assert rec["steam_turbine TG3.extraction"] == "MP" and rec["header MP.pressure_barg"] == 18.0
