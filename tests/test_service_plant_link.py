"""The service driving the OPC UA plant link (issue 19): a real uvicorn service on loopback runs the
adapter against the demo plant's secure OPC UA server on loopback; the mode switched over HTTP
is the mode the plant sees: WARM writes no setpoint, ON only the enabled ones, OFF nothing (not
even the watchdog); a switch the adapter's configuration does not allow is refused and changes
nothing."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

pytest.importorskip("fastapi", reason="the service extra (fastapi, uvicorn) is not installed: pip install -e '.[test]'")
pytest.importorskip("asyncua", reason="the opcua extra (asyncua) is not installed: pip install -e '.[test]'")

from optimizer.service.config import ServiceConfig  # noqa: E402
from optimizer.service.plant_link import PlantLinkError  # noqa: E402
from optimizer.service.run import new_state  # noqa: E402
from scenarios.opcua_demo import PASSWORD_ENV  # noqa: E402
from tests.demo_plant_helpers import MODELS, PASSWORD, SITE_FILE, link_config, running_demo_plant, wait_for_link_cycle, watchdog  # noqa: E402
from tests.service_helpers import RunningService  # noqa: E402

CYCLE_S = 3.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with running_demo_plant(tmp_path_factory.mktemp("link_pki")) as running:
        yield running


class _AdvancingPlant:
    """The demo plant stepping every ``period_s`` on its own loop; each step records what it took
    from the control nodes (what the plant link wrote since the step before)."""

    def __init__(self, plant, loop, period_s: float = 1.0):
        self.steps: list[dict[str, float]] = []

        async def advance() -> None:
            while True:
                await asyncio.sleep(period_s)
                self.steps.append((await plant.advance()).written)

        self.task = asyncio.run_coroutine_threadsafe(advance(), loop.loop)

    def taken(self, since: int) -> list[dict[str, float]]:
        """What the plant took in its steps from number ``since`` on (non-empty ones)."""
        return [w for w in self.steps[since:] if w]

    def stop(self) -> None:
        self.task.cancel()


def test_the_services_mode_drives_what_the_plant_link_writes(demo, monkeypatch, tmp_path):
    site, plant, loop, demo_config = demo
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    config = ServiceConfig(mode="WARM", cycle_s=CYCLE_S, audit_log=tmp_path / "audit.jsonl", opcua_config=link_config(demo_config, True, CYCLE_S))
    state = new_state(SITE_FILE, MODELS, config)
    advancing = _AdvancingPlant(plant, loop)
    try:
        with RunningService(state) as svc:
            warm = wait_for_link_cycle(svc, 0, "WARM")
            warm2 = wait_for_link_cycle(svc, warm["cycle"], "WARM")
            assert warm["connected"] and warm["written"] == warm2["written"] == {} and warm2["watchdog"] > warm["watchdog"]
            # the link's cycles go through the service: the latest proposal the page shows is theirs
            latest = svc.request("GET", "/api/proposal/latest")[1]
            assert latest["mode"] == "WARM" and latest["writable"] == {} and latest["cycle"] >= 2

            # a setpoint outside the adapter configuration's allow list: refused, nothing changes
            code, body = svc.request("PUT", "/api/mode", {"mode": "ON", "closed_loop_setpoints": ["TG1.power_mw"], "reason": "try"})
            assert code == 422 and "plant link refused" in body["detail"] and "TG1.power_mw" in body["detail"], body
            assert svc.request("GET", "/api/mode")[1]["mode"] == "WARM" and state.plant_link.adapter.mode == "WARM"
            warm_steps = len(advancing.steps)
            assert warm_steps >= 2 and advancing.taken(0) == []  # WARM: the plant took no setpoint

            code, body = svc.request("PUT", "/api/mode", {"mode": "ON", "closed_loop_setpoints": ["B2.steam_tph"], "reason": "B2 first"})
            assert code == 200 and body["mode"] == "ON", body
            assert state.plant_link.adapter.mode == "ON" and state.plant_link.adapter.enabled == ("B2.steam_tph",)
            on = wait_for_link_cycle(svc, warm2["cycle"], "ON")
            on2 = wait_for_link_cycle(svc, on["cycle"], "ON")
            assert set(on["written"]) == set(on2["written"]) == {"B2.steam_tph"}, (on, on2)

            code, body = svc.request("PUT", "/api/mode", {"mode": "OFF", "reason": "end of shift"})
            assert code == 200 and state.plant_link.adapter.mode == "OFF"
            off = wait_for_link_cycle(svc, on2["cycle"], "OFF", ("off",))
            beat = watchdog(plant, loop)
            off_steps = len(advancing.steps)
            later = wait_for_link_cycle(svc, off["cycle"], "OFF", ("off",))
            assert later["watchdog"] is None and watchdog(plant, loop) == beat  # OFF: no heartbeat
            time.sleep(1.5)  # at least one more plant step
            taken_on = advancing.taken(warm_steps)
            # ON wrote B2 and nothing else (B1 is allowed by the configuration but not enabled); the
            # plant took the link's values; after OFF it takes nothing new
            assert taken_on and all(set(w) == {"B2.steam_tph"} for w in taken_on), taken_on
            assert on2["written"]["B2.steam_tph"] in [w["B2.steam_tph"] for w in taken_on]
            assert advancing.taken(off_steps + 1) == []

            switches = [(s["from"], s["to"], s["enabled"]) for s in state.plant_link.adapter.mode_switches]
            assert switches == [("ON", "WARM", []), ("WARM", "ON", ["B2.steam_tph"]), ("ON", "OFF", [])]
    finally:
        advancing.stop()
    # the service's audit trail has the switches it took (the refused one is not among them)
    modes = [json.loads(line) for line in (tmp_path / "audit.modes.jsonl").read_text().splitlines() if line]
    assert [(m["from"], m["to"], m["closed_loop_setpoints"]) for m in modes] == [("WARM", "ON", ["B2.steam_tph"]), ("ON", "OFF", ["B2.steam_tph"])]


def test_a_plant_link_that_cannot_follow_the_service_is_refused_before_anything_listens(demo, monkeypatch):
    _, _, _, demo_config = demo
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    advisory = link_config(demo_config, False, CYCLE_S)
    with pytest.raises(PlantLinkError, match=r"mode = 'ON': the plant link's adapter configuration .* is advisory"):
        new_state(SITE_FILE, MODELS, ServiceConfig(mode="ON", closed_loop_setpoints=("B1.steam_tph",), cycle_s=CYCLE_S,
                                                   opcua_config=advisory))
    with pytest.raises(PlantLinkError, match=r"cycle.cycle_s = 3 s differs from the service's cycle_s = 60 s"):
        new_state(SITE_FILE, MODELS, ServiceConfig(opcua_config=advisory))
    closed = link_config(demo_config, True, CYCLE_S)
    with pytest.raises(PlantLinkError, match=r"closed_loop_setpoints: TG1.power_mw: not in the adapter configuration's write_allow_list"):
        new_state(SITE_FILE, MODELS, ServiceConfig(mode="ON", closed_loop_setpoints=("TG1.power_mw",), cycle_s=CYCLE_S,
                                                   opcua_config=closed))


def test_serve_with_a_plant_link_it_cannot_run_exits_2_naming_the_setting(demo, monkeypatch, capsys):
    from scenarios.cli import main

    _, _, _, demo_config = demo
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    code = main(["serve", "--site", str(SITE_FILE), "--models", str(MODELS), "--opcua", str(link_config(demo_config, False, CYCLE_S))])
    assert code == 2
    assert "cycle.cycle_s = 3 s differs from the service's cycle_s = 60 s" in capsys.readouterr().err
