"""The demo plant on OPC UA (issue 19, item 5): the simulator as a secure OPC UA server on loopback,
the adapter and the engine against it, advisory writing nothing and closed loop only what it may."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

asyncua = pytest.importorskip("asyncua")

from optimizer.opcua.adapter import PlantAdapter, build_supervisor  # noqa: E402
from optimizer.opcua.config import config_from_dict, load_adapter_config  # noqa: E402
from optimizer.site import load_site  # noqa: E402
from scenarios.opcua_demo import PASSWORD_ENV, apply_written  # noqa: E402
from surrogate.manifest import load_model_dir  # noqa: E402
from tests.demo_plant_helpers import MODELS, PASSWORD, SITE_FILE, control_values, running_demo_plant  # noqa: E402


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with running_demo_plant(tmp_path_factory.mktemp("demo_pki")) as running:
        yield running


def _adapter(site, config_file: Path, monkeypatch, **changes) -> PlantAdapter:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    config = load_adapter_config(config_file)
    if changes:
        import tomllib  # the config rebuilt from its own file plus the changes

        data = tomllib.loads(config_file.read_text())
        for key, value in changes.items():
            section, _, name = key.rpartition("__")
            (data.setdefault(section, {}) if section else data)[name] = value
        config = config_from_dict(data, str(config_file), base_dir=config_file.parent)
    return PlantAdapter(site, build_supervisor(site, load_model_dir(MODELS), config), config)


def test_the_adapter_as_shipped_reads_the_demo_plant_and_advisory_writes_no_setpoint(demo, monkeypatch):
    """The adapter.toml the demo writes connects with the adapter's default security; in advisory
    mode a cycle publishes the proposal and beats the watchdog but writes no control node, and the
    plant's next step takes no setpoint."""
    site, plant, loop, config_file = demo
    adapter = _adapter(site, config_file, monkeypatch)
    assert adapter.config.security_policy == "Basic256Sha256_SignAndEncrypt" and not adapter.config.closed_loop
    before = control_values(plant, loop)
    report = asyncio.run(adapter.run_cycle())
    assert report.connected and report.status == "optimal", report.summary()
    assert report.written == {} and control_values(plant, loop) == before
    pc = site.plant_connection
    assert loop.call(plant.server.get_node(pc.advisory_nodes["status"]).read_value()) == "optimal"
    assert loop.call(plant.server.get_node(pc.watchdog_node).read_value()) >= 1
    step = loop.call(plant.advance())
    assert step.written == {}


def test_closed_loop_writes_only_the_allowed_setpoint_and_the_plant_takes_it(demo, monkeypatch):
    site, plant, loop, config_file = demo
    adapter = _adapter(site, config_file, monkeypatch, mode="closed_loop", closed_loop__write_allow_list=["B1.steam_tph"])
    before = control_values(plant, loop)
    report = asyncio.run(adapter.run_cycle())
    assert report.status == "optimal", report.summary()
    after = control_values(plant, loop)
    assert set(report.written) == {"B1.steam_tph"}, (report.written, report.refused)  # the only one allowed, and written
    assert {t for t in after if after[t] != before[t]} == set(report.written)
    step = loop.call(plant.advance())
    assert step.written == report.written
    for tag, value in report.written.items():
        assert plant.setpoints.boiler_steam_tph[tag.split(".")[0]] == pytest.approx(value, rel=1e-12)


def test_apply_written_names_a_tag_it_cannot_apply():
    site = load_site(SITE_FILE)
    from scenarios.plant.inputs import Setpoints

    sp = apply_written(site, Setpoints(boiler_steam_tph={"B1": 50.0}, gt_power_mw={"GT1": 30.0}),
                       {"B1.steam_tph": 61.0, "GT1.duct_steam_tph": 12.0, "TG1.power_mw": 11.0})
    assert sp.boiler_steam_tph == {"B1": 61.0} and sp.duct_steam_tph == {"GT1": 12.0} and sp.turbine_power_mw == {"TG1": 11.0}
    assert sp.gt_power_mw == {"GT1": 30.0}
    with pytest.raises(ValueError, match="control node 'LD_HP_MP.steam_tph': the demo plant cannot apply it"):
        apply_written(site, sp, {"LD_HP_MP.steam_tph": 3.0})


def test_demo_server_needs_the_password_from_the_environment(tmp_path, monkeypatch, capsys):
    from scenarios.cli import main

    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    assert main(["opcua", "demo-server", "--site", str(SITE_FILE), "--pki", str(tmp_path), "--steps", "1"]) == 2
    assert f"environment variable {PASSWORD_ENV}: not set" in capsys.readouterr().err


def test_commissioning_modes_switched_at_run_time(demo, monkeypatch):
    """One adapter, its configuration allowing B1 and B2: WARM writes no control node; ON with B2
    alone enabled writes B2 and never B1; OFF reads, computes and writes nothing, not even the
    watchdog. Every switch is recorded; a switch the configuration does not allow is refused and
    changes nothing."""
    site, plant, loop, config_file = demo
    pc = site.plant_connection
    adapter = _adapter(site, config_file, monkeypatch, mode="closed_loop", closed_loop__write_allow_list=["B1.steam_tph", "B2.steam_tph"])
    watchdog = lambda: int(loop.call(plant.server.get_node(pc.watchdog_node).read_value()))  # noqa: E731

    async def session():
        adapter.set_mode("WARM", reason="commissioning: advisory first")
        before = control_values(plant, loop)
        warm = await adapter.run_cycle()
        assert warm.mode == "WARM" and warm.status == "optimal" and warm.written == {} and control_values(plant, loop) == before
        await asyncio.to_thread(loop.call, plant.advance())
        adapter.set_mode("ON", ["B2.steam_tph"], reason="B2 first")
        before = control_values(plant, loop)
        on = await adapter.run_cycle()
        after = control_values(plant, loop)
        assert on.mode == "ON" and set(on.written) == {"B2.steam_tph"}, (on.written, on.refused)
        assert after["B1.steam_tph"] == before["B1.steam_tph"] and after["B2.steam_tph"] == pytest.approx(on.written["B2.steam_tph"])
        adapter.set_mode("OFF", reason="end of shift")
        beat = watchdog()
        off = await adapter.run_cycle()
        assert off.status == "off" and off.proposal is None and off.written == {} and off.watchdog is None and watchdog() == beat
        await adapter.disconnect()

    asyncio.run(session())
    assert [(s["from"], s["to"], s["enabled"]) for s in adapter.mode_switches] == [
        ("ON", "WARM", []), ("WARM", "ON", ["B2.steam_tph"]), ("ON", "OFF", [])]
    with pytest.raises(ValueError, match=r"enabled = \['LD_HP_MP.steam_tph'\]: must be a non-empty subset"):
        adapter.set_mode("ON", ["LD_HP_MP.steam_tph"])
    with pytest.raises(ValueError, match="mode = 'AUTO': must be one of OFF, WARM, ON"):
        adapter.set_mode("AUTO")
    assert adapter.mode == "OFF" and len(adapter.mode_switches) == 3
    advisory = _adapter(site, config_file, monkeypatch)
    with pytest.raises(ValueError, match="mode = 'ON': the adapter configuration .* is advisory"):
        advisory.set_mode("ON")
    assert advisory.mode == "WARM"


def test_commissioning_switches_from_a_mode_file(demo, monkeypatch, tmp_path):
    """`opcua run --mode-file`: the file is read at each cycle's start when it changed; a switch
    the configuration does not allow (or a bad file) is refused, the mode stays, the report says so."""
    site, plant, loop, config_file = demo
    adapter = _adapter(site, config_file, monkeypatch, mode="closed_loop", closed_loop__write_allow_list=["B1.steam_tph", "B2.steam_tph"])
    mode_file = tmp_path / "mode.toml"
    mode_file.write_text('mode = "WARM"\nreason = "first day"\n')
    adapter.watch_mode_file(mode_file)

    def switch(text: str) -> None:
        mode_file.write_text(text)
        adapter._mode_file_seen = None  # noqa: SLF001 - a test rewrites the file within the clock's resolution

    async def session():
        warm = await adapter.run_cycle()
        assert warm.mode == "WARM" and warm.written == {}
        switch('mode = "ON"\nenabled = ["B1.steam_tph"]\nreason = "B1 commissioned"\n')
        on = await adapter.run_cycle()
        assert on.mode == "ON" and set(on.written) <= {"B1.steam_tph"}
        switch('mode = "ON"\nenabled = ["LD_HP_MP.steam_tph"]\n')
        refused = await adapter.run_cycle()
        assert refused.mode == "ON" and adapter.enabled == ("B1.steam_tph",) and "mode switch refused" in refused.error
        switch('mode = "OFF"\n')
        off = await adapter.run_cycle()
        assert off.status == "off"
        await adapter.disconnect()

    asyncio.run(session())
    assert [s["to"] for s in adapter.mode_switches] == ["WARM", "ON", "OFF"]
    assert adapter.mode_switches[1]["reason"] == "B1 commissioned"


def test_a_switch_made_while_a_cycle_runs_never_widens_what_that_cycle_writes(demo, monkeypatch):
    """An operator switches while the engine is solving: WARM -> ON writes nothing of the proposal
    made in WARM; ON for B1 and B2 -> ON for B2 alone writes B2 only, at once."""
    site, plant, loop, config_file = demo
    adapter = _adapter(site, config_file, monkeypatch, mode="closed_loop", closed_loop__write_allow_list=["B1.steam_tph", "B2.steam_tph"])
    switch_to: list[tuple] = []

    def step_then_switch(snapshot):
        proposal = adapter.supervisor.step(snapshot)
        adapter.set_mode(*switch_to.pop(), reason="switched while the cycle ran")
        return proposal

    adapter._engine_step = step_then_switch  # noqa: SLF001 - the operator's switch lands inside the step

    async def session():
        adapter.set_mode("WARM")
        switch_to.append(("ON", ["B1.steam_tph", "B2.steam_tph"]))
        before = control_values(plant, loop)
        warm = await adapter.run_cycle()
        assert warm.mode == "WARM" and warm.status == "optimal" and warm.writes == [] and control_values(plant, loop) == before
        await asyncio.to_thread(loop.call, plant.advance())
        switch_to.append(("ON", ["B2.steam_tph"]))
        narrowed = await adapter.run_cycle()
        assert narrowed.mode == "ON" and adapter.enabled == ("B2.steam_tph",)
        assert [w.setpoint for w in narrowed.writes] == ["B2.steam_tph"] and set(narrowed.written) == {"B2.steam_tph"}
        await adapter.disconnect()

    asyncio.run(session())
