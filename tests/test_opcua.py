"""The OPC UA adapter end to end against an asyncua server started here on 127.0.0.1.

The server holds the reference site's tag map (``[plant_connection]`` of
``scenarios/sites/reference_olefins.toml``) with the plant simulator's values of a few simulated
states; the adapter reads them, steps a Supervisor, publishes and (in closed-loop mode) writes.
The server runs in its own thread and event loop; each test drives the adapter with asyncio.run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
import shutil
import socket
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

asyncua = pytest.importorskip("asyncua")
from asyncua import Server, ua
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography.x509.oid import ExtendedKeyUsageOID

from optimizer.opcua.adapter import PlantAdapter, build_supervisor
from optimizer.opcua.config import (
    AdapterConfig,
    ConfigError,
    check_against_site,
    config_from_dict,
    load_adapter_config,
)
from optimizer.opcua.limits import check_write, setpoint_limit
from optimizer.proposal import Proposal
from optimizer.site import load_site
from scenarios.opcua_demo import add_tag_map, plant_server
from scenarios.plant.practice import todays_practice
from scenarios.plant.profiles import ProfileConfig, generate_disturbances
from scenarios.plant.simulator import PlantSimulator
from scenarios.plant.snapshots import snapshot_from_state
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]
SITE_PATH = ROOT / "scenarios/sites/reference_olefins.toml"
MODELS = ROOT / "scenarios/models/reference_olefins"
EXAMPLE = ROOT / "scenarios/opcua/reference_olefins.toml"
TZ = "Asia/Bangkok"
USER, PASSWORD, PASSWORD_ENV = "steamopt", "correct horse battery staple", "STEAMOPT_TEST_OPCUA_PASSWORD"
SERVER_URI = "urn:steamopt:test-plant-server"
CLIENT_URI = "urn:steamopt:client"


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def site():
    return load_site(SITE_PATH)


@pytest.fixture(scope="module")
def models():
    return load_model_dir(MODELS)


@pytest.fixture(scope="module")
def snapshots(site):
    """Four simulated states of the reference site (15 min apart) as snapshots of the tag map."""
    sim = PlantSimulator(site)
    out = []
    for d in generate_disturbances(site, ProfileConfig(hours=1.0, step_min=15.0, seed=5)):
        snap = snapshot_from_state(site, sim.simulate(todays_practice(site, d), d), d)
        out.append({"timestamp": snap["timestamp"], **{t: snap[t] for t in site.plant_connection.read_nodes}})
    return out


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Self-signed application certificates of the test server and of the steamopt client."""
    d = tmp_path_factory.mktemp("pki")
    host = socket.gethostname()

    async def make():
        await cert_gen.setup_self_signed_certificate(d / "server_key.pem", d / "server_cert.der", SERVER_URI, host,
                                                     [ExtendedKeyUsageOID.SERVER_AUTH], {})
        await cert_gen.setup_self_signed_certificate(d / "client_key.pem", d / "client_cert.der", CLIENT_URI, host,
                                                     [ExtendedKeyUsageOID.CLIENT_AUTH], {})
    asyncio.run(make())
    return d


class _Users(UserManager):
    def get_user(self, iserver, username=None, password=None, certificate=None):
        return User(role=UserRole.User, name=username) if (username, password) == (USER, PASSWORD) else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _utc(local_iso: str) -> dt.datetime:
    return pd.Timestamp(local_iso).tz_localize(TZ).tz_convert("UTC").to_pydatetime()


class PlantServer:
    """An asyncua server on 127.0.0.1 serving a site's tag map, in its own thread and loop.

    ``secure``: only Basic256Sha256 SignAndEncrypt with username/password; otherwise only the
    None policy with anonymous sessions. Measured (PV), timestamp, advisory (STEAMOPT.*), control
    (SP, initialised at the PV) and watchdog nodes, as the site file names them."""

    def __init__(self, site, pki: Path, secure: bool = True, port: int | None = None):
        self.site, self.pki, self.secure = site, pki, secure
        self.port = port or _free_port()
        self.endpoint = f"opc.tcp://127.0.0.1:{self.port}/steamopt"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: Server | None = None

    def call(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, snapshot: dict) -> PlantServer:
        self.call(self._start(snapshot))
        return self

    async def _start(self, snapshot: dict) -> None:
        server = await plant_server(self.endpoint, _Users() if self.secure else None, self.pki, SERVER_URI)
        assert await server.register_namespace("urn:steamopt:test-plant") == 2  # ns=2 in the site file
        await add_tag_map(server, self.site, snapshot, TZ)  # the demo plant's address space (scenarios/opcua_demo.py)
        await server.start()
        self.server = server

    def set_snapshot(self, snapshot: dict, bad: dict[str, int] | None = None) -> None:
        """Measured values and time; ``bad``: tag -> OPC UA status code to serve instead."""
        async def go():
            pc = self.site.plant_connection
            for tag, nid in pc.read_nodes.items():
                status = ua.StatusCode((bad or {}).get(tag, ua.StatusCodes.Good))
                await self.server.write_attribute_value(ua.NodeId.from_string(nid), ua.DataValue(
                    ua.Variant(float(snapshot[tag]), ua.VariantType.Double), StatusCode=status,
                    SourceTimestamp=_utc(snapshot["timestamp"]), ServerTimestamp=_utc(snapshot["timestamp"])))
            await self.server.get_node(pc.timestamp_node).write_value(ua.Variant(_utc(snapshot["timestamp"]), ua.VariantType.DateTime))
        self.call(go())

    def read(self, nid: str):
        return self.call(self.server.get_node(nid).read_value())

    def stop(self) -> None:
        if self.server is not None:
            self.call(self.server.stop())
            self.server = None

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def plant(site, pki, snapshots):
    server = PlantServer(site, pki, secure=True).start(snapshots[0])
    yield server
    server.close()


@pytest.fixture
def password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def secure_config(endpoint: str, pki: Path, **changes) -> dict:
    data = {
        "mode": "advisory",
        "connection": {"endpoint": endpoint, "timeout_s": 2.0, "reconnect_initial_s": 0.05, "reconnect_max_s": 0.2},
        "security": {"security_policy": "Basic256Sha256_SignAndEncrypt", "certificate": "client_cert.der",
                     "private_key": "client_key.pem", "server_certificate": "server_cert.der",
                     "username": USER, "password_env": PASSWORD_ENV},
        "cycle": {"cycle_s": 60.0, "time_budget_s": 1.0, "timezone": TZ},
    }
    for key, value in changes.items():
        section, _, name = key.rpartition("__")
        (data.setdefault(section, {}) if section else data)[name] = value
    return data


def make_adapter(site, models, data: dict, pki: Path) -> PlantAdapter:
    config = config_from_dict(data, "test.toml", base_dir=pki)
    return PlantAdapter(site, build_supervisor(site, models, config), config)


def reset_nodes(plant: PlantServer, snapshot: dict) -> None:
    """Control nodes back at the PV, watchdog 0, advisory cleared."""
    pc = plant.site.plant_connection

    async def go():
        for tag, nid in pc.control_nodes.items():
            await plant.server.get_node(nid).write_value(ua.Variant(float(snapshot[tag]), ua.VariantType.Double))
        await plant.server.get_node(pc.watchdog_node).write_value(ua.Variant(0, ua.VariantType.UInt32))
    plant.call(go())
    plant.set_snapshot(snapshot)


# --------------------------------------------------------------------------- configuration
def test_configuration_security_rules(tmp_path, pki):
    base = secure_config("opc.tcp://127.0.0.1:4840", pki)
    c = config_from_dict(base, "a.toml", base_dir=pki)
    assert (c.mode, c.security_policy, c.encrypted, c.allow_anonymous, c.allow_unencrypted) == \
        ("advisory", "Basic256Sha256_SignAndEncrypt", True, False, False)
    assert c.certificate == pki / "client_cert.der"

    def error(**changes) -> str:
        with pytest.raises(ConfigError) as e:
            config_from_dict(secure_config("opc.tcp://127.0.0.1:4840", pki, **changes), "a.toml", base_dir=pki)
        return str(e.value)

    # no security and anonymous sessions only when explicitly allowed
    assert "a.toml: security.security_policy = 'None': no security (plain text, unsigned) needs security.allow_unencrypted = true" in \
        error(security__security_policy="None", security__username="", security__allow_anonymous=True)
    assert "needs security.allow_unencrypted = true" in error(security__security_policy="Basic256Sha256_Sign")
    assert "security.username = (missing): required (anonymous sessions need security.allow_anonymous = true)" in error(security__username="")
    open_ok = config_from_dict(secure_config("opc.tcp://h:1", pki, security__security_policy="None", security__username="",
                                             security__allow_anonymous=True, security__allow_unencrypted=True), "a.toml")
    assert (open_ok.security_policy, open_ok.username) == ("None", "")
    assert "plain text" in error(security__security_policy="None", security__allow_unencrypted=True)  # a password in clear
    assert "must be one of Basic256Sha256_SignAndEncrypt" in error(security__security_policy="Basic128Rsa15_SignAndEncrypt")
    # the password never in the file; certificates must exist
    assert "a password never goes into a file" in error(security__password="x")
    assert "security.server_certificate = " in error(security__server_certificate="nope.der") and "file not found" in error(security__server_certificate="nope.der")
    assert "security.password_env = (missing)" in error(security__password_env="")
    # ranges and unknown keys name field, value and allowed range
    assert "a.toml: cycle.cycle_s = 0.01: must lie in [0.1, 86400]" in error(cycle__cycle_s=0.01)
    assert "connection.endpont = " in error(connection__endpont="x")
    assert "must be an OPC UA TCP URL" in error(connection__endpoint="http://x")
    assert "must be an IANA time zone" in error(cycle__timezone="Bangkok")
    # closed loop: an explicit allow-list of continuous setpoints
    assert "mode closed_loop needs a non-empty list" in error(mode="closed_loop")
    assert "starts, stops and drive changes are advisory only" in error(mode="closed_loop", closed_loop__write_allow_list=["B1.on"])


def test_configuration_against_site(site, pki):
    c = config_from_dict(secure_config("opc.tcp://h:1", pki, mode="closed_loop",
                                       closed_loop__write_allow_list=["B1.steam_tph", "B9.steam_tph", "LD_HP_MP.steam_tph"]), "c.toml", base_dir=pki)
    with pytest.raises(ConfigError) as e:
        check_against_site(c, site)
    lines = str(e.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("c.toml: closed_loop.write_allow_list[1] = 'B9.steam_tph': not a setpoint of site")
    assert lines[1].startswith("c.toml: closed_loop.write_allow_list[2] = 'LD_HP_MP.steam_tph': has no control node in the site file")
    no_watchdog = dataclasses.replace(site, plant_connection=dataclasses.replace(site.plant_connection, watchdog_node=""))
    ok = config_from_dict(secure_config("opc.tcp://h:1", pki, mode="closed_loop", closed_loop__write_allow_list=["B1.steam_tph"]), "c.toml", base_dir=pki)
    check_against_site(ok, site)
    with pytest.raises(ConfigError, match="closed_loop needs a watchdog node"):
        check_against_site(ok, no_watchdog)


def test_bundled_example_configuration(tmp_path, pki, site):
    """The bundled example is advisory and encrypted; it loads once its certificate files exist."""
    shutil.copy(EXAMPLE, tmp_path / "adapter.toml")
    with pytest.raises(ConfigError, match="file not found"):
        load_adapter_config(tmp_path / "adapter.toml")
    (tmp_path / "pki").mkdir()
    for src, dst in (("client_cert.der", "steamopt_cert.der"), ("client_key.pem", "steamopt_key.pem"), ("server_cert.der", "dcs_gateway_cert.der")):
        shutil.copy(pki / src, tmp_path / "pki" / dst)
    c = load_adapter_config(tmp_path / "adapter.toml")
    assert (c.mode, c.security_policy, c.allow_anonymous, c.allow_unencrypted, c.write_allow_list) == \
        ("advisory", "Basic256Sha256_SignAndEncrypt", False, False, ())
    assert c.password_env and c.username and c.timezone == TZ
    check_against_site(c, site)


# --------------------------------------------------------------------------- write guard
def test_write_guard_limits(site, snapshots):
    cur = {k: v for k, v in snapshots[0].items() if k != "timestamp"}
    read = set(site.plant_connection.read_nodes)   # the reference site maps no availability flag
    b1, b4 = site.boilers["B1"], site.boilers["B4"]

    def limit(name, readings=cur, read_tags=read):
        return setpoint_limit(site, name, readings, read_tags=read_tags)

    # starts: a unit that is off is never started (the old guard clamped its reading up to the
    # minimum and wrote B4 0 -> 42 t/h, a duct burner 0 -> 30 t/h, TG2 0 -> 3.5 MW)
    off = {**cur, "B4.steam_tph": 0.0, "GT1.duct_steam_tph": 0.0, "TG2.power_mw": 0.0}
    assert "would start B4, which is off (reading 0)" in check_write(limit("B4.steam_tph", off), 42.0, off, 60.0)
    assert "would start GT1, which is off (reading 0)" in check_write(limit("GT1.duct_steam_tph", off), 30.0, off, 60.0)
    assert "would start TG2, which is off (reading 0)" in check_write(limit("TG2.power_mw", off), 3.5, off, 60.0)
    assert "B4 is off (reading 0) and stays off: not written" == check_write(limit("B4.steam_tph", off), 0.0, off, 60.0)
    # stops: a running unit is never written to 0 (the old guard wrote a duct burner 20 -> 0) nor below its minimum
    ducting = {**cur, "GT1.duct_steam_tph": 20.0}
    assert "0 would stop GT1, which is running (reading 20)" in check_write(limit("GT1.duct_steam_tph", ducting), 0.0, ducting, 60.0)
    assert "0 would stop B1, which is running" in check_write(limit("B1.steam_tph"), 0.0, cur, 60.0)
    low = {**cur, "B1.steam_tph": b1.min_steam_tph + 0.5}
    assert f"below the equipment minimum {b1.min_steam_tph:g}" in check_write(limit("B1.steam_tph", low), b1.min_steam_tph - 0.5, low, 60.0)
    # ... unless starts and stops are enabled for that setpoint: a start to [min, min + one move],
    # a stop only from within one move of the minimum
    step4 = b4.ramp_tph_per_min * 60.0 / 60.0
    assert check_write(limit("B4.steam_tph", off), b4.min_steam_tph + step4, off, 60.0, start_stop=True) is None
    assert "a start of B4 goes to [40, 42]" in check_write(limit("B4.steam_tph", off), 43.0, off, 60.0, start_stop=True)
    assert check_write(limit("GT1.duct_steam_tph", off), 30.0, off, 60.0, start_stop=True) is None   # no ramp: its range
    assert check_write(limit("TG2.power_mw", off), 3.5, off, 60.0, start_stop=True) is None            # 2 MW + 1.5 MW/min
    assert "a stop of B1 only from within one move limit (3) of its minimum 40" in \
        check_write(limit("B1.steam_tph"), 0.0, cur, 60.0, start_stop=True)                           # B1 at 47.6 t/h
    assert check_write(limit("B1.steam_tph", low), 0.0, low, 60.0, start_stop=True) is None

    # moves of a running unit, from this cycle's reading
    lim = limit("B1.steam_tph")
    assert (lim.lower, lim.upper, lim.ramp_per_min) == (b1.min_steam_tph, b1.max_steam_tph, b1.ramp_tph_per_min)
    step = b1.ramp_tph_per_min * 60.0 / 60.0
    c = cur["B1.steam_tph"]
    assert check_write(lim, c + step, cur, 60.0) is None
    assert check_write(lim, c - step, cur, 60.0) is None
    assert "exceeds the move limit" in check_write(lim, c + 1.01 * step, cur, 60.0)
    assert "exceeds the move limit" in check_write(lim, c + 0.5 * step, cur, 15.0)  # a shorter cycle moves less
    starting = {**cur, "B1.steam_tph": 35.0}   # running below its minimum: back at its ramp rate, not in one jump
    assert "move +5 from the current 35 exceeds the move limit 3" in check_write(limit("B1.steam_tph", starting), 40.0, starting, 60.0)
    assert "above the equipment maximum" in check_write(lim, b1.max_steam_tph + 1.0, {**cur, "B1.steam_tph": b1.max_steam_tph}, 60.0)
    assert "not a finite number" in check_write(lim, math.nan, cur, 60.0)
    assert "held by the supervisor" in check_write(lim, c, cur, 60.0, {"B1"})

    # a reading not read Good this cycle: nothing of the unit is written, and nothing is assumed
    no_b1 = {k: v for k, v in cur.items() if k != "B1.steam_tph"}
    assert "B1 held: B1.steam_tph not read Good this cycle" in check_write(limit("B1.steam_tph", no_b1), c, no_b1, 60.0)
    no_gt1 = {k: v for k, v in cur.items() if k != "GT1.power_mw"}   # the duct burner has no ramp, still held
    assert "GT1 held: GT1.power_mw not read Good" in check_write(limit("GT1.duct_steam_tph", no_gt1), cur["GT1.duct_steam_tph"], no_gt1, 60.0)
    # availability: required when the plant maps the flag (and when the mapping is not known)
    with_flag = read | {"B1.available"}
    assert "B1.available not read Good" in check_write(limit("B1.steam_tph", cur, with_flag), c, cur, 60.0)
    assert "B1.available not read Good" in check_write(limit("B1.steam_tph", cur, None), c, cur, 60.0)
    assert "B1 is reported unavailable" == check_write(limit("B1.steam_tph", cur, with_flag), c, {**cur, "B1.available": 0.0}, 60.0)
    assert check_write(limit("B1.steam_tph", cur, with_flag), c, {**cur, "B1.available": 1.0}, 60.0) is None
    # a gas turbine's maximum from this cycle's ambient and fouling; without fouling no room is assumed
    g = site.gas_turbines["GT1"]
    gl = limit("GT1.power_mw")
    assert gl.upper == pytest.approx(g.base_power_mw(cur["ambient_temp_c"], cur["GT1.fouling_hours"]), rel=1e-12)
    assert check_write(gl, cur["GT1.power_mw"], cur, 60.0) is None
    unfouled = {k: v for k, v in cur.items() if k != "GT1.fouling_hours"}
    gl0 = limit("GT1.power_mw", unfouled)
    assert gl0.upper == g.min_power_mw
    assert "GT1 held: GT1.fouling_hours not read Good" in check_write(gl0, cur["GT1.power_mw"], unfouled, 60.0)
    assert setpoint_limit(site, "B1.on", cur) is None
    assert limit("LD_HP_MP.steam_tph").switches is False and limit("GT1.duct_steam_tph").switches is True


def test_values_in_the_nodes_types():
    from optimizer.opcua.connection import next_heartbeat, to_variant, variant_type

    assert variant_type(ua.NodeId(11)) == ua.VariantType.Double and variant_type(ua.NodeId(7)) == ua.VariantType.UInt32
    assert variant_type(ua.NodeId(26)) == ua.VariantType.Double and variant_type(ua.NodeId(5, 2)) is None
    assert to_variant(41.25, ua.VariantType.Float) == ua.Variant(41.25, ua.VariantType.Float)
    assert math.isnan(to_variant(None, ua.VariantType.Double).Value)
    assert to_variant("fallback_hold", ua.VariantType.Int32) == ua.Variant(3, ua.VariantType.Int32)  # status code
    assert to_variant("optimal", ua.VariantType.String) == ua.Variant("optimal", ua.VariantType.String)
    assert to_variant(0.7, ua.VariantType.Boolean) == ua.Variant(True, ua.VariantType.Boolean)
    with pytest.raises(ValueError, match="cannot be written to a Int16 node"):
        to_variant(math.nan, ua.VariantType.Int16)
    with pytest.raises(ValueError, match=r"outside the range of a Byte node \[0, 255\]"):
        to_variant(300.0, ua.VariantType.Byte)
    assert next_heartbeat(41, ua.VariantType.UInt32) == 42
    assert next_heartbeat(2**32 - 1, ua.VariantType.UInt32) == 0 and next_heartbeat(255, ua.VariantType.Byte) == 0
    assert next_heartbeat(None, ua.VariantType.Int32) == 1


# --------------------------------------------------------------------------- advisory mode
def test_advisory_mode_publishes_the_proposal(plant, site, models, snapshots, pki, password):
    reset_nodes(plant, snapshots[0])
    adapter = make_adapter(site, models, secure_config(plant.endpoint, pki), pki)
    reference = build_supervisor(site, models, adapter.config)
    pc = site.plant_connection
    control_before = {n: plant.read(n) for n in pc.control_nodes.values()}

    async def cycles():
        out = []
        for i, snap in enumerate(snapshots[:3]):
            plant.set_snapshot(snap)
            out.append(await adapter.run_cycle())
        plant.set_snapshot(snapshots[2])   # the same timestamp again: the Supervisor holds
        out.append(await adapter.run_cycle())
        await adapter.disconnect()
        return out

    reports = asyncio.run(cycles())
    for i, (rep, snap) in enumerate(zip(reports[:3], snapshots)):
        assert rep.connected and not rep.error and not rep.read_problems and not rep.advisory_failed
        assert rep.snapshot == snap                      # every tag and the local time, as served
        expected = reference.step(snap)
        assert rep.status == expected.status == "optimal"
        assert rep.watchdog == i + 1
        for name, value in expected.setpoints.items():
            assert rep.proposal.setpoints[name] == pytest.approx(value, rel=1e-9, abs=1e-9)
            assert rep.advisory[f"setpoint.{name}"] == pytest.approx(value, rel=1e-9, abs=1e-9)
        assert rep.advisory["cost_per_h"] == pytest.approx(expected.proposed_kpis["cost_per_h"], rel=1e-9)
        assert rep.advisory["saving_cost_per_h"] == pytest.approx(expected.savings["cost_per_h"], rel=1e-9)
        assert rep.advisory["saving_co2e_t_h"] == pytest.approx(expected.savings["co2e_t_h"], rel=1e-9)
        assert rep.writes == []
    # what the plant sees after the last good cycle: the proposal on the advisory nodes
    last = reference.step(snapshots[2])  # a hold (repeated timestamp), as the adapter saw it
    hold = reports[3]
    assert hold.status == last.status == "invalid_input" and hold.watchdog == 4
    assert plant.read(pc.advisory_nodes["status"]) == "invalid_input"
    assert math.isnan(plant.read(pc.advisory_nodes["cost_per_h"]))  # no stale KPI on display
    assert plant.read(pc.advisory_nodes["setpoint.B1.steam_tph"]) == pytest.approx(hold.proposal.setpoints["B1.steam_tph"], rel=1e-12)
    assert plant.read(pc.watchdog_node) == 4
    assert {n: plant.read(n) for n in pc.control_nodes.values()} == control_before   # advisory writes no setpoint
    print(f"advisory cycle: read {reports[1].timings_ms['read_ms']:.1f} ms, step {reports[1].timings_ms['step_ms']:.1f} ms, "
          f"write {reports[1].timings_ms['write_ms']:.1f} ms")


# --------------------------------------------------------------------------- closed loop
def test_closed_loop_writes_only_allow_listed_setpoints_inside_limits(plant, site, models, snapshots, pki, password):
    reset_nodes(plant, snapshots[0])
    data = secure_config(plant.endpoint, pki, mode="closed_loop", closed_loop__write_allow_list=["B1.steam_tph", "B2.steam_tph"])
    adapter = make_adapter(site, models, data, pki)
    reference = build_supervisor(site, models, adapter.config)
    pc = site.plant_connection
    snap = snapshots[0]

    b1_max = site.boilers["B1"].max_steam_tph
    real_step = adapter.supervisor.step

    def bad_step(snapshot):  # the Supervisor's answer with two setpoints replaced by bad ones
        p = real_step(snapshot)
        p.setpoints = {**p.setpoints, "B1.steam_tph": b1_max + 25.0, "B2.steam_tph": snapshot["B2.steam_tph"] + 10.0}
        return p

    def hold_step(snapshot):
        return Proposal(timestamp="", status="fallback_hold", setpoints={"B1.steam_tph": snapshot["B1.steam_tph"], "B2.steam_tph": math.nan})

    async def session():  # one session, one event loop
        rep = await adapter.run_cycle()
        after_first = {n: plant.read(pc.control_nodes[n]) for n in ("B1.steam_tph", "B2.steam_tph")}
        adapter.supervisor.step = bad_step
        plant.set_snapshot(snapshots[1])
        rep2 = await adapter.run_cycle()
        after_bad = {n: plant.read(pc.control_nodes[n]) for n in ("B1.steam_tph", "B2.steam_tph")}
        adapter.supervisor.step = hold_step
        plant.set_snapshot(snapshots[2])
        rep3 = await adapter.run_cycle()
        await adapter.disconnect()
        return rep, after_first, rep2, after_bad, rep3

    rep, after_first, rep2, after_bad, rep3 = asyncio.run(session())
    expected = reference.step(snap)
    assert rep.status == "optimal" and set(rep.written) == {"B1.steam_tph", "B2.steam_tph"} and rep.refused == {}
    for name in ("B1.steam_tph", "B2.steam_tph"):
        value = after_first[name]
        assert value == pytest.approx(expected.setpoints[name], rel=1e-9) and value == rep.written[name]
        b = site.boilers[name.split(".")[0]]
        assert b.min_steam_tph <= value <= b.max_steam_tph
        assert abs(value - snap[name]) <= b.ramp_tph_per_min * 60.0 / 60.0 + 1e-6
    # the proposal moves B3 and B4 too, but they are not allow-listed: their control nodes stay
    assert expected.setpoints["B3.steam_tph"] != pytest.approx(snap["B3.steam_tph"], abs=1e-3)
    for name in ("B3.steam_tph", "B4.steam_tph", "GT1.duct_steam_tph", "TG1.power_mw"):
        assert plant.read(pc.control_nodes[name]) == snap[name]

    # a proposal outside the limits is refused, and the control nodes keep the last good values
    assert rep2.status == "optimal" and rep2.written == {}
    assert f"above the equipment maximum {b1_max:g}" in rep2.refused["B1.steam_tph"]
    assert "exceeds the move limit 3 per cycle" in rep2.refused["B2.steam_tph"]
    assert after_bad == after_first and rep2.watchdog == 2

    # a hold is never written, and NaN never
    assert rep3.written == {} and rep3.watchdog == 3
    assert rep3.refused["B1.steam_tph"] == "status fallback_hold: only optimal or time_limited proposals are written"
    assert plant.read(pc.advisory_nodes["status"]) == "fallback_hold"


# --------------------------------------------------------------------------- security
def test_security_wrong_password_and_unencrypted_refused_by_server(plant, site, models, pki, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    beat_before = plant.read(site.plant_connection.watchdog_node)
    adapter = make_adapter(site, models, secure_config(plant.endpoint, pki), pki)
    rep = asyncio.run(adapter.run_cycle())  # a failed connect leaves no session behind
    assert not rep.connected and rep.status == "disconnected" and rep.proposal is None
    assert "connect failed" in rep.error and "BadUserAccessDenied" in rep.error
    # the environment variable not set: a clear message, no crash
    monkeypatch.delenv(PASSWORD_ENV)
    rep = asyncio.run(adapter.run_cycle())
    assert rep.error.startswith("connect failed: test.toml: security.password_env = 'STEAMOPT_TEST_OPCUA_PASSWORD': this environment variable must hold the OPC UA password")
    # the right password but another server certificate pinned: not trusted
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    other = make_adapter(site, models, secure_config(plant.endpoint, pki, security__server_certificate="client_cert.der",
                                                     connection__timeout_s=1.0), pki)
    rep = asyncio.run(other.run_cycle())
    assert not rep.connected and rep.error.startswith("connect failed: TimeoutError") and "server_certificate" in rep.error
    # explicitly allowed plain anonymous config: the server (encrypted, users only) refuses it
    open_cfg = secure_config(plant.endpoint, pki, security__security_policy="None", security__username="", security__allow_anonymous=True,
                             security__allow_unencrypted=True)
    adapter = make_adapter(site, models, open_cfg, pki)
    rep = asyncio.run(adapter.run_cycle())
    assert not rep.connected and rep.error.startswith("connect failed")
    assert plant.read(site.plant_connection.watchdog_node) == beat_before  # refused sessions write nothing


# --------------------------------------------------------------------------- bad values
def test_bad_status_and_nan_become_substitutions(plant, site, models, snapshots, pki, password):
    reset_nodes(plant, snapshots[0])
    adapter = make_adapter(site, models, secure_config(plant.endpoint, pki), pki)

    async def go():
        first = await adapter.run_cycle()
        snap = {**snapshots[1], "B2.steam_tph": math.nan}
        plant.set_snapshot(snap, bad={"B1.steam_tph": ua.StatusCodes.BadSensorFailure, "site_load_mw": ua.StatusCodes.UncertainLastUsableValue})
        second = await adapter.run_cycle()
        await adapter.disconnect()
        return first, second

    first, rep = asyncio.run(go())
    assert first.status == "optimal"
    assert rep.read_problems == {"B1.steam_tph": "status BadSensorFailure", "site_load_mw": "status UncertainLastUsableValue"}
    assert "B1.steam_tph" not in rep.snapshot and math.isnan(rep.snapshot["B2.steam_tph"])
    subs = {s["tag"]: s for s in rep.proposal.substitutions}
    assert set(subs) == {"B1.steam_tph", "B2.steam_tph", "site_load_mw"}
    assert subs["B1.steam_tph"]["used"] == snapshots[0]["B1.steam_tph"]   # last good value, from the first cycle
    assert subs["site_load_mw"]["used"] == snapshots[0]["site_load_mw"]
    assert {"B1", "B2"} <= set(rep.proposal.held_units)
    # solved on substitutes: advisory only, nothing written; the watchdog beats until it is stuck
    assert rep.status == "substituted" and rep.watchdog == 2 and rep.stuck_cycles == 1
    assert rep.written == {}
    # the held boilers are proposed where they were
    assert rep.proposal.setpoints["B1.steam_tph"] == pytest.approx(snapshots[0]["B1.steam_tph"], rel=1e-9)


# --------------------------------------------------------------------------- connection loss
def test_server_going_away_reports_reconnects_and_stops_on_cancel(site, models, snapshots, pki):
    """An open (None policy, anonymous: explicitly allowed) server that stops mid-run and comes
    back on the same port: the loop reports, retries with backoff, resumes, stops on cancel."""
    server = PlantServer(site, pki, secure=False).start(snapshots[0])
    data = secure_config(server.endpoint, pki, security__security_policy="None", security__username="",
                         security__allow_anonymous=True, security__allow_unencrypted=True,
                         cycle__cycle_s=0.2, cycle__time_budget_s=0.15)
    adapter = make_adapter(site, models, data, pki)
    reports = []
    clock = iter(range(10**6))

    def on_cycle(rep):
        reports.append(rep)
        k = next(clock) + 1
        # a new plant time every cycle (a repeated timestamp would make the Supervisor hold)
        if server.server is not None:
            t = pd.Timestamp(snapshots[0]["timestamp"]) + pd.Timedelta(minutes=k)
            server.set_snapshot({**snapshots[0], "timestamp": t.isoformat()})

    async def scenario():
        task = asyncio.create_task(adapter.run(on_cycle=on_cycle))

        async def until(cond, timeout=20.0):
            t0 = time.monotonic()
            while not cond():
                assert time.monotonic() - t0 < timeout, [r.summary() for r in reports]
                await asyncio.sleep(0.02)

        await until(lambda: sum(r.connected for r in reports) >= 2)
        await asyncio.to_thread(server.stop)
        n = len(reports)
        await until(lambda: sum(not r.connected for r in reports[n:]) >= 3)
        await asyncio.to_thread(server.start, snapshots[0])
        m = len(reports)
        await until(lambda: any(r.connected and r.status == "optimal" for r in reports[m:]))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task

    try:
        task = asyncio.run(scenario())
    finally:
        server.close()
    print("\n".join(f"{r.timings_ms['total_ms']:8.1f} ms  {r.summary()}" for r in reports))
    assert task.cancelled() and not adapter.connected
    statuses = [r.status for r in reports]
    down = [r for r in reports if not r.connected]
    # a cold first cycle may overrun the 0.15 s budget and hold (as it must); every other connected one is optimal
    before = statuses[:next(k for k, r in enumerate(reports) if not r.connected)]
    assert before.count("optimal") >= 2 and all(s == "optimal" for s in before[1:]) and before[0] in ("optimal", "fallback_hold"), statuses
    assert all(r.error.startswith(("connection lost", "connect failed")) for r in down)
    assert any(r.error.startswith("connect failed") for r in down)
    assert reports[-1].connected and reports[-1].status == "optimal"
    # the watchdog went on counting after the reconnect
    beats = [r.watchdog for r in reports if r.watchdog is not None]
    assert beats[:2] == [1, 2] and beats[-1] >= 1


# --------------------------------------------------------------------------- CLI
def test_cli_opcua_run(plant, site, snapshots, pki, password, tmp_path, capsys):
    """`steamopt opcua run ... --cycles 1` with a configuration file: one advisory cycle."""
    from scenarios.cli import main

    reset_nodes(plant, {**snapshots[3]})
    text = EXAMPLE.read_text(encoding="utf-8").replace("opc.tcp://dcs-gateway.example.invalid:4840/steamopt", plant.endpoint)
    text = text.replace('"STEAMOPT_OPCUA_PASSWORD"', f'"{PASSWORD_ENV}"').replace('username = "steamopt"', f'username = "{USER}"')
    (tmp_path / "pki").mkdir()
    for src, dst in (("client_cert.der", "steamopt_cert.der"), ("client_key.pem", "steamopt_key.pem"), ("server_cert.der", "dcs_gateway_cert.der")):
        shutil.copy(pki / src, tmp_path / "pki" / dst)
    (tmp_path / "adapter.toml").write_text(text, encoding="utf-8")
    rc = main(["opcua", "run", "--site", str(SITE_PATH), "--models", str(MODELS), "--config", str(tmp_path / "adapter.toml"), "--cycles", "1"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "advisory mode" in out and "cycle 1" in out and ": optimal; read 52 tags (0 bad); advisory 35 items" in out
    assert plant.read(site.plant_connection.advisory_nodes["status"]) == "optimal"
    # a bad configuration: one line per problem, exit 2
    (tmp_path / "bad.toml").write_text(text.replace('mode = "advisory"', 'mode = "closed_loop"'), encoding="utf-8")
    rc = main(["opcua", "run", "--site", str(SITE_PATH), "--models", str(MODELS), "--config", str(tmp_path / "bad.toml")])
    err = capsys.readouterr().err
    assert rc == 2 and "closed_loop.write_allow_list = []: mode closed_loop needs a non-empty list" in err


# --------------------------------------------------------------------------- issue 14: closed loop safety
ALL_CONTROLS = ["B1.steam_tph", "B2.steam_tph", "B3.steam_tph", "B4.steam_tph", "GT1.duct_steam_tph", "GT2.duct_steam_tph",
                "TG1.power_mw", "TG2.power_mw"]


def _controls(plant: PlantServer) -> dict[str, float]:
    return {n: plant.read(nid) for n, nid in plant.site.plant_connection.control_nodes.items()}


def _equipment(site, name: str) -> tuple[str, float, float, float | None]:
    """(unit, minimum when on, maximum, ramp per minute or None) of a control node of the reference site, from the site file."""
    unit, _, quantity = name.partition(".")
    if unit in site.boilers:
        b = site.boilers[unit]
        return unit, b.min_steam_tph, b.max_steam_tph, b.ramp_tph_per_min
    if quantity == "duct_steam_tph":
        h = site.gas_turbines[unit].hrsg
        return unit, h.duct_min_steam_tph, h.duct_max_steam_tph, None
    t = site.turbines[unit]
    return unit, t.min_power_mw, t.max_power_mw, t.ramp_mw_per_min


def _assert_nothing_unsafe(site, readings: dict, bad: set[str], before: dict, after: dict, cycle_s: float) -> None:
    """Every control node: unchanged; or, for a unit none of whose readings was bad, moved within its
    equipment and move limits from the reading, and on/off as it was (no start, no stop)."""
    bad_units = {tag.split(".")[0] for tag in bad}
    for name, value in after.items():
        if value == before[name]:
            continue
        unit, lo, hi, ramp = _equipment(site, name)
        assert unit not in bad_units, f"{name} written ({before[name]} -> {value}) though a reading of {unit} was bad"
        cur = readings[name]
        assert cur > 0.5 * lo, f"{name}: {unit} was off (reading {cur}) and was written {value}: a start"
        assert lo <= value <= hi, f"{name} = {value} outside [{lo}, {hi}]: a stop or beyond the equipment"
        if ramp is not None:
            assert abs(value - cur) <= ramp * cycle_s / 60.0 + 1e-9, f"{name}: {cur} -> {value} beyond the move limit"


def test_closed_loop_bad_first_cycle_starts_stops_nothing(plant, site, models, snapshots, pki, password):
    """Bad-quality readings on the first cycle (no last good value): whatever the engine proposes,
    nothing is started, stopped, written for the units with bad readings, or moved beyond a move limit."""
    data = secure_config(plant.endpoint, pki, mode="closed_loop", closed_loop__write_allow_list=ALL_CONTROLS)
    # 1. the engine's own proposal for the bundled plant state (all units running), B1 unreadable
    # (the engine of issue 14 proposed B1 off here, and the adapter moved B2-B4 and the duct burners)
    bad = {"B1.steam_tph": ua.StatusCodes.BadSensorFailure}
    reset_nodes(plant, snapshots[0])
    plant.set_snapshot(snapshots[0], bad=bad)
    adapter = make_adapter(site, models, data, pki)
    before = _controls(plant)

    async def one(adapter):
        rep = await adapter.run_cycle()
        await adapter.disconnect()
        return rep

    rep = asyncio.run(one(adapter))
    after = _controls(plant)
    assert rep.connected and set(rep.read_problems) == set(bad)
    _assert_nothing_unsafe(site, snapshots[0], set(bad), before, after, 60.0)
    assert after == before and rep.written == {} and "B1.steam_tph" in rep.refused  # B1 never read Good: nothing can be checked

    # 2. a proposal that would start and stop things and jump, with the bad units not even reported held
    bad = {"B1.steam_tph": ua.StatusCodes.BadSensorFailure, "GT2.power_mw": ua.StatusCodes.BadCommunicationError}
    state = {**snapshots[0], "B4.steam_tph": 0.0, "GT1.duct_steam_tph": 0.0, "TG2.power_mw": 0.0}
    times = [s["timestamp"] for s in snapshots]

    def forged(b1: float) -> dict[str, float]:
        return {"B1.steam_tph": b1,                                  # bad reading: no write at all
                "GT2.power_mw": state["GT2.power_mw"],               # bad reading, proposed where it was
                "B2.steam_tph": state["B2.steam_tph"] + 2.0,         # inside every limit: written
                "B3.steam_tph": state["B3.steam_tph"] + 10.0,        # beyond the move limit (3 t/h)
                "B4.steam_tph": 42.0,                                # B4 off: a start
                "GT1.duct_steam_tph": 30.0,                          # duct off: a start
                "GT2.duct_steam_tph": state["GT2.duct_steam_tph"],   # GT2's power unread: its duct held too
                "TG1.power_mw": 0.0,                                 # a stop
                "TG2.power_mw": 3.5}                                 # TG2 off: a start

    def run(data, plan):
        """One session; plan: (time, bad statuses, setpoints forced into an 'optimal' proposal or None: a hold)."""
        reset_nodes(plant, state)
        adapter = make_adapter(site, models, data, pki)
        real_step = adapter.supervisor.step
        force: list = [None]

        def step(snapshot):
            p = real_step(snapshot)
            if force[0] is None:
                p.status = "fallback_hold"
            else:
                p.status, p.held_units, p.setpoints = "optimal", [], {**p.setpoints, **force[0]}
            return p

        adapter.supervisor.step = step

        async def go():
            out = []
            for when, bad_now, setpoints in plan:
                plant.set_snapshot({**state, "timestamp": when}, bad=bad_now)
                force[0] = setpoints
                before = _controls(plant)
                out.append((before, await adapter.run_cycle(), _controls(plant)))
            await adapter.disconnect()
            return out
        return asyncio.run(go())

    data = secure_config(plant.endpoint, pki, mode="closed_loop", closed_loop__write_allow_list=ALL_CONTROLS)
    (b0, first, a0), (_, good, _), (b2, rep, a2), (b3, moved, a3) = run(data, [
        (times[0], bad, forged(state["B1.steam_tph"] + 1.0)),   # first cycle: B1 and GT2 never read Good
        (times[1], None, None),                                # all read Good: a hold
        (times[2], bad, forged(state["B1.steam_tph"])),        # B1 and GT2 bad again, proposed where last read
        (times[3], bad, forged(state["B1.steam_tph"] + 1.0)),  # ... and B1 moved though unread
    ])
    # the first cycle: nothing written at all (the proposal cannot be checked against B1's state)
    assert first.status == "optimal" and first.written == {} and a0 == b0
    assert all("never read Good before" in why for why in first.refused.values()) and len(first.refused) == len(ALL_CONTROLS)
    assert good.written == {}
    # B1 and GT2 held where they were: each setpoint judged on its own
    _assert_nothing_unsafe(site, state, set(bad), b2, a2, 60.0)
    assert rep.written == {"B2.steam_tph": pytest.approx(state["B2.steam_tph"] + 2.0, rel=1e-12)}
    assert a2["B2.steam_tph"] == pytest.approx(state["B2.steam_tph"] + 2.0, rel=1e-12)
    assert {n: a2[n] for n in ALL_CONTROLS if n != "B2.steam_tph"} == {n: b2[n] for n in ALL_CONTROLS if n != "B2.steam_tph"}
    r = rep.refused
    assert "B1 held: B1.steam_tph not read Good" in r["B1.steam_tph"]
    assert "exceeds the move limit 3 per cycle" in r["B3.steam_tph"]
    assert "would start B4" in r["B4.steam_tph"] and "would start GT1" in r["GT1.duct_steam_tph"] and "would start TG2" in r["TG2.power_mw"]
    assert "GT2 held" in r["GT2.duct_steam_tph"] and "0 would stop TG1" in r["TG1.power_mw"]
    # a proposal moving a unit it could not read: built on a wrong picture, nothing written
    assert moved.written == {} and a3 == b3
    assert all("yet the proposal moves B1.steam_tph" in why for why in moved.refused.values())

    # 3. starts and stops enabled for the duct burner only: that start is written, nothing else changes
    data2 = secure_config(plant.endpoint, pki, mode="closed_loop", closed_loop__write_allow_list=ALL_CONTROLS,
                          closed_loop__start_stop_allow_list=["GT1.duct_steam_tph"])
    _, (b, rep, a) = run(data2, [(times[0], None, None), (times[1], bad, forged(state["B1.steam_tph"]))])
    assert set(rep.written) == {"B2.steam_tph", "GT1.duct_steam_tph"} and a["GT1.duct_steam_tph"] == 30.0
    assert "would start B4" in rep.refused["B4.steam_tph"] and "0 would stop TG1" in rep.refused["TG1.power_mw"]
    plant.set_snapshot(snapshots[0])


def test_closed_loop_reading_outside_its_range_on_the_first_cycle_writes_nothing(plant, site, models, snapshots, pki, password):
    """A Good-quality reading outside the tag's physical range (B1 at 1000 t/h, range [0, 240])
    is a bad reading for the write guard as for the Supervisor: on a first cycle nothing is written."""
    data = secure_config(plant.endpoint, pki, mode="closed_loop", closed_loop__write_allow_list=ALL_CONTROLS)
    reset_nodes(plant, snapshots[0])
    plant.set_snapshot({**snapshots[0], "B1.steam_tph": 1000.0})
    adapter = make_adapter(site, models, data, pki)
    before = _controls(plant)

    async def one():
        rep = await adapter.run_cycle()
        await adapter.disconnect()
        return rep

    rep = asyncio.run(one())
    after = _controls(plant)
    plant.set_snapshot(snapshots[0])
    assert rep.connected and rep.read_problems == {} and rep.snapshot["B1.steam_tph"] == 1000.0
    assert after == before and rep.written == {}
    assert "B1: B1.steam_tph not read Good and never read Good before" in rep.refused["B2.steam_tph"] or rep.status not in ("optimal", "time_limited")


def test_stuck_engine_stops_the_watchdog(plant, site, models, snapshots, pki, password):
    """An engine answering invalid_input (a frozen plant time), or the same proposal again, for
    watchdog_stuck_cycles cycles in a row: the watchdog stops, and no setpoint is written; it beats
    again with the next fresh answer."""
    reset_nodes(plant, snapshots[0])
    wd = site.plant_connection.watchdog_node
    data = secure_config(plant.endpoint, pki, mode="closed_loop", closed_loop__write_allow_list=["B1.steam_tph", "B2.steam_tph"],
                         watchdog__stuck_cycles=2)
    adapter = make_adapter(site, models, data, pki)
    real_step = adapter.supervisor.step
    first: list[Proposal] = []

    def replay_step(snapshot):  # the engine answers its first proposal again: optimal, but not fresh
        return dataclasses.replace(first[0])

    async def session():
        out = []
        out.append(await adapter.run_cycle())                 # fresh: beats 1
        first.append(out[0].proposal)
        for _ in range(3):                                    # the plant time frozen: invalid_input
            out.append(await adapter.run_cycle())
        plant.set_snapshot(snapshots[1])
        out.append(await adapter.run_cycle())                 # fresh again: beats
        adapter.supervisor.step = replay_step
        plant.set_snapshot(snapshots[2])
        for _ in range(3):
            out.append(await adapter.run_cycle())
        adapter.supervisor.step = real_step
        await adapter.disconnect()
        return out

    reps = asyncio.run(session())
    statuses = [r.status for r in reps]
    assert statuses[:5] == ["optimal", "invalid_input", "invalid_input", "invalid_input", "optimal"]
    assert [r.watchdog for r in reps] == [1, 2, None, None, 3, 4, None, None]
    assert [r.stuck_cycles for r in reps] == [0, 1, 2, 3, 0, 1, 2, 3]
    for r in (reps[2], reps[3], reps[6], reps[7]):
        assert r.error.startswith("watchdog stopped: the engine has given no fresh answer for")
    assert plant.read(wd) == 4
    # the replayed proposal is 'optimal', but stale: nothing written once the watchdog stopped
    assert statuses[5:] == ["optimal"] * 3
    for r in reps[6:]:
        assert r.written == {} and all("the watchdog was not written this cycle" in why for why in r.refused.values())


def test_no_setpoint_follows_a_failed_watchdog_write(plant, site, models, snapshots, pki, password):
    reset_nodes(plant, snapshots[0])
    pc = site.plant_connection
    data = secure_config(plant.endpoint, pki, mode="closed_loop", closed_loop__write_allow_list=["B1.steam_tph", "B2.steam_tph"])
    adapter = make_adapter(site, models, data, pki)
    reference = build_supervisor(site, models, adapter.config).step(snapshots[0])
    before = _controls(plant)
    plant.call(plant.server.get_node(pc.watchdog_node).set_writable(False))   # the server refuses the heartbeat
    try:
        async def one():
            rep = await adapter.run_cycle()
            await adapter.disconnect()
            return rep
        rep = asyncio.run(one())
    finally:
        plant.call(plant.server.get_node(pc.watchdog_node).set_writable(True))
    assert rep.status == "optimal" and reference.setpoints["B1.steam_tph"] != pytest.approx(snapshots[0]["B1.steam_tph"], abs=1e-3)
    assert rep.watchdog is None and rep.error.startswith("watchdog not written: server refused the write: Bad")
    assert rep.written == {} and set(rep.refused) == {"B1.steam_tph", "B2.steam_tph"}
    assert all("the watchdog was not written this cycle" in why for why in rep.refused.values())
    assert _controls(plant) == before
    assert plant.read(pc.advisory_nodes["status"]) == "optimal"    # the advisory items are still published


def test_configuration_built_in_code_obeys_the_same_rules(site, models, pki):
    """A PlantAdapter built in code gets the same rules as a configuration file: closed loop with
    security policy None is refused, naming field, value and rule."""
    code = dict(endpoint="opc.tcp://127.0.0.1:4840", mode="closed_loop", security_policy="None", allow_unencrypted=True,
                allow_anonymous=True, write_allow_list=("B1.steam_tph",), cycle_s=60.0, timezone=TZ)
    rule = "security.security_policy = 'None': mode closed_loop writes setpoints to the plant: it needs a signed connection"
    with pytest.raises(ConfigError) as e:
        PlantAdapter(site, build_supervisor(site, models, config_from_dict({"connection": {"endpoint": code["endpoint"]},
                                                                             "security": {"security_policy": "None", "allow_anonymous": True,
                                                                                          "allow_unencrypted": True}}, "ok.toml")),
                     AdapterConfig(**code))
    assert rule in str(e.value)
    # the file says the same
    with pytest.raises(ConfigError) as e:
        config_from_dict({"mode": "closed_loop", "connection": {"endpoint": code["endpoint"]},
                          "security": {"security_policy": "None", "allow_anonymous": True, "allow_unencrypted": True},
                          "closed_loop": {"write_allow_list": ["B1.steam_tph"]}}, "a.toml")
    assert f"a.toml: {rule}" in str(e.value)
    # the other rules too: ranges, and starts and stops only for written setpoints
    with pytest.raises(ConfigError, match=r"<memory>: cycle.cycle_s = -1: must be a finite number in \[0.1, 86400\]"):
        AdapterConfig(endpoint="opc.tcp://h:1", security_policy="None", allow_unencrypted=True, allow_anonymous=True, cycle_s=-1)
    with pytest.raises(ConfigError, match=r"closed_loop.start_stop_allow_list\[0\] = 'B4.steam_tph': must also be in closed_loop.write_allow_list"):
        AdapterConfig(endpoint="opc.tcp://h:1", security_policy="Basic256Sha256_Sign", allow_unencrypted=True, allow_anonymous=True,
                      certificate=pki / "client_cert.der", private_key=pki / "client_key.pem", server_certificate=pki / "server_cert.der",
                      mode="closed_loop", write_allow_list=("B1.steam_tph",), start_stop_allow_list=("B4.steam_tph",))
    # a mutated configuration is checked again by the adapter itself
    ok = AdapterConfig(endpoint="opc.tcp://h:1", security_policy="None", allow_unencrypted=True, allow_anonymous=True, timezone=TZ)
    object.__setattr__(ok, "mode", "closed_loop")
    object.__setattr__(ok, "write_allow_list", ("B1.steam_tph",))
    with pytest.raises(ConfigError, match="mode closed_loop writes setpoints to the plant"):
        PlantAdapter(site, build_supervisor(site, models, ok), ok)
    # starts and stops only of setpoints that start or stop their unit
    c = config_from_dict(secure_config("opc.tcp://h:1", pki, mode="closed_loop", closed_loop__write_allow_list=["B1.steam_tph", "LD_HP_MP.steam_tph"],
                                       closed_loop__start_stop_allow_list=["LD_HP_MP.steam_tph"]), "c.toml", base_dir=pki)
    with pytest.raises(ConfigError, match=r"start_stop_allow_list\[0\] = 'LD_HP_MP.steam_tph': does not start or stop its unit"):
        check_against_site(c, site)


def test_a_step_that_does_not_answer_is_a_hold(plant, site, models, snapshots, pki, password, monkeypatch):
    """A step still running when the cycle stops waiting: a hold, no new step while it runs, no
    setpoint written; the next cycle after it finished steps again."""
    import threading as th

    import optimizer.opcua.adapter as adapter_module

    monkeypatch.setattr(adapter_module, "MIN_STEP_WAIT_S", 0.05)
    reset_nodes(plant, snapshots[0])
    data = secure_config(plant.endpoint, pki, mode="closed_loop", closed_loop__write_allow_list=["B1.steam_tph"],
                         cycle__cycle_s=0.2, cycle__time_budget_s=0.1)
    adapter = make_adapter(site, models, data, pki)
    real_step = adapter.supervisor.step
    release, calls = th.Event(), []

    def hanging_step(snapshot):
        calls.append(snapshot["timestamp"])
        if len(calls) == 1:
            release.wait(30.0)
        return real_step(snapshot)

    adapter.supervisor.step = hanging_step

    async def session():
        first = await adapter.run_cycle()
        plant.set_snapshot(snapshots[1])
        second = await adapter.run_cycle()
        release.set()
        while (pending := getattr(adapter, "_pending", None)) is not None and not pending.done():
            await asyncio.sleep(0.01)
        plant.set_snapshot(snapshots[2])
        third = await adapter.run_cycle()
        await adapter.disconnect()
        return first, second, third

    first, second, third = asyncio.run(session())
    plant.set_snapshot(snapshots[0])
    assert first.status == second.status == "fallback_hold" and first.written == second.written == {}
    assert "has not answered within 0.2 s" in first.proposal.warnings[0]
    assert "still not answered: no new step started" in second.proposal.warnings[0]
    assert len(calls) == 2 and calls[1] == third.snapshot["timestamp"]
    assert third.status == "optimal" and first.stuck_cycles == 1 and second.stuck_cycles == 2 and third.stuck_cycles == 0
