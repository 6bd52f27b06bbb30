"""``curve_source = "learned"`` on an extraction-condensing generator (issue 17): accepted by the
site file, embedded when its ``ectg_steam`` model is there, and refused with a clear error naming
the unit, the field and how to train the model when it is not (before: the site file was refused
with "learned turbine curves exist only for single-section generators", and with ``auto`` a
missing model silently meant first principles)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from optimizer.site import parse_site
from optimizer.site.loader import SiteError
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.cli import main
from surrogate.manifest import load_model_dir
from tests.test_fp_curves import with_keys

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
SITE_TEXT = SITE_FILE.read_text()
SNAPSHOT_FILE = ROOT / "scenarios" / "snapshots" / "reference_olefins.json"
MODELS = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")


LEARNED_TG3 = with_keys(SITE_TEXT, {"turbines.TG3": 'curve_source = "learned"'})


def test_learned_ectg_with_its_model_is_embedded():
    from tests.test_ectg import _supervisor_and_snapshot

    site = parse_site(LEARNED_TG3, "learned_tg3.toml")
    assert site.turbines["TG3"].curve_source == "learned"
    # TG3 running and held on (test_ectg's snapshot: the simulated plant with TG3 at 8 MW, 30 t/h
    # extraction; at the bundled snapshot the cycle leaves TG3 on standby, and a stopped unit's
    # network is not checked)
    sup, snap, _, _ = _supervisor_and_snapshot(site, 3)
    try:
        assert set(sup.ectg) == {"TG3"} and sup.ectg["TG3"].name == "TG3_steam"
        p = sup.step(snap)
        assert p.status == "optimal"
        assert p.setpoints["TG3.power_mw"] > 0.0
        assert p.surrogate_agreement["TG3_steam"] <= 1e-6
    finally:
        sup._pool.shutdown(wait=True)  # noqa: SLF001


def test_learned_ectg_without_its_model_is_refused_naming_unit_field_and_training():
    site = parse_site(with_keys(LEARNED_TG3, {"boilers.B1": 'curve_source = "learned"'}), "learned_tg3.toml")
    models = {n: m for n, m in MODELS.items() if n not in ("TG3_steam", "B1_fuel")}
    with pytest.raises(ValueError) as info:
        Supervisor(site, models, SupervisorConfig())
    msg = str(info.value)
    assert ('turbines.TG3.curve_source = "learned": the models have no ectg_steam model of TG3 '
            "(inputs TG3.power_mw, TG3.extraction0_tph; output TG3.inlet_tph; e.g. TG3_steam.onnx)") in msg
    assert "--policy campaign --step-units TG3" in msg and "--unit-data TG3_steam=" in msg and "steamopt surrogate train" in msg
    assert 'boilers.B1.curve_source = "learned"' in msg   # every missing model in one error
    assert "TG2" not in msg and "B2" not in msg


def test_auto_ectg_without_its_model_runs_on_first_principles():
    site = parse_site(SITE_TEXT, "reference.toml")
    assert site.turbines["TG3"].curve_source == "auto"
    sup = Supervisor(site, {n: m for n, m in MODELS.items() if n != "TG3_steam"}, SupervisorConfig())
    try:
        assert sup.ectg == {}
    finally:
        sup._pool.shutdown(wait=True)  # noqa: SLF001


def test_learned_two_section_back_pressure_generator_still_refused_by_the_site_file():
    with pytest.raises(SiteError) as info:
        parse_site(with_keys(SITE_TEXT, {"turbines.TG1": 'curve_source = "learned"'}), "site.toml")
    assert "turbines.TG1.curve_source = 'learned': learned turbine curves (turbine_steam) exist only for single-section" in str(info.value)


def test_cli_step_refuses_learned_ectg_without_models(tmp_path, capsys):
    site = tmp_path / "learned_tg3.toml"
    site.write_text(LEARNED_TG3)
    assert main(["step", "--site", str(site), "--models", "none", "--snapshot", str(SNAPSHOT_FILE)]) == 2
    err = capsys.readouterr().err
    assert re.search(r'error: turbines\.TG3\.curve_source = "learned": the models have no ectg_steam model of TG3', err), err
    assert "Traceback" not in err
