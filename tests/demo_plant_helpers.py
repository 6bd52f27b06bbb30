"""The demo plant (scenarios/opcua_demo.py) as a secure OPC UA server on loopback for tests: its
event loop in a thread, a free port, and reading its control nodes."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
MODELS = ROOT / "scenarios" / "models" / "reference_olefins"
PASSWORD = "demo plant password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EventLoopThread:
    """An event loop in its own thread, for the demo plant's server."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro, timeout: float = 60.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@contextmanager
def running_demo_plant(pki: Path) -> Iterator[tuple]:
    """``(site, plant, loop, adapter_config_file)`` of a demo plant serving on a free loopback port
    (certificates and the adapter configuration in ``pki``); stopped on exit."""
    from optimizer.site import load_site
    from scenarios.opcua_demo import DemoPlant, prepare_pki

    site = load_site(SITE_FILE)
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/steamopt"
    config_file = prepare_pki(pki, endpoint, SITE_FILE, site.timezone or "UTC")
    plant = DemoPlant(site, endpoint, pki=pki, password=PASSWORD, timezone=site.timezone or "UTC")
    loop = EventLoopThread()
    loop.call(plant.start())
    try:
        yield site, plant, loop, config_file
    finally:
        loop.call(plant.stop())
        loop.close()


def control_values(plant, loop: EventLoopThread) -> dict[str, float]:
    """The demo plant's control nodes now: setpoint tag -> value."""
    pc = plant.site.plant_connection
    return {tag: float(loop.call(plant.server.get_node(nid).read_value())) for tag, nid in pc.control_nodes.items()}


def watchdog(plant, loop: EventLoopThread) -> int:
    return int(loop.call(plant.server.get_node(plant.site.plant_connection.watchdog_node).read_value()))


def link_config(demo_config: Path, closed_loop: bool, cycle_s: float) -> Path:
    """The demo's adapter.toml with a cycle of ``cycle_s`` (budget 2 s) and closed loop allowed for
    B1 and B2 (or advisory), written beside it (the demo writes ``mode`` and ``cycle_s`` lines)."""
    text = demo_config.read_text()
    assert 'mode = "advisory"' in text and "cycle_s = 60.0" in text, "the demo's adapter.toml changed"
    text = text.replace("cycle_s = 60.0", f"cycle_s = {cycle_s!r}\ntime_budget_s = 2.0")
    if closed_loop:
        text = text.replace('mode = "advisory"', 'mode = "closed_loop"')
        text += '\n[closed_loop]\nwrite_allow_list = ["B1.steam_tph", "B2.steam_tph"]\n'
    out = demo_config.with_name(f"link_{'closed' if closed_loop else 'advisory'}_{cycle_s:g}s.toml")
    out.write_text(text)
    return out


def wait_for_link_cycle(svc, after: int, mode: str, statuses: tuple[str, ...] = ("optimal", "time_limited"),
                        timeout_s: float = 90.0) -> dict:
    """The service's plant-link cycle numbered above ``after`` run in ``mode`` with one of
    ``statuses`` (its report as ``/api/status`` shows it); AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        code, status = svc.request("GET", "/api/status")
        assert code == 200
        last = status["plant_link"]["last"]
        if last and last.get("cycle", 0) > after and last["mode"] == mode and last["status"] in statuses:
            return last
        time.sleep(0.2)
    raise AssertionError(f"no plant-link cycle in mode {mode} after cycle {after} within {timeout_s} s: {status['plant_link']}")
