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
    ConfigError,
    check_against_site,
    config_from_dict,
    load_adapter_config,
)
from optimizer.opcua.limits import check_write, setpoint_limit
from optimizer.proposal import Proposal
from optimizer.site import load_site
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
        pc = self.site.plant_connection
        server = Server(user_manager=_Users()) if self.secure else Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        if self.secure:
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            server.set_identity_tokens([ua.UserNameIdentityToken])
            await server.set_application_uri(SERVER_URI)
            await server.load_certificate(str(self.pki / "server_cert.der"))
            await server.load_private_key(str(self.pki / "server_key.pem"))
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
            server.set_identity_tokens([ua.AnonymousIdentityToken])
        assert await server.register_namespace("urn:steamopt:test-plant") == 2  # ns=2 in the site file
        objects = server.nodes.objects

        async def add(nid: str, variant: ua.Variant, writable: bool) -> None:
            node = await objects.add_variable(ua.NodeId.from_string(nid), ua.QualifiedName(nid.split("s=", 1)[1], 2), variant)
            if writable:
                await node.set_writable()

        for tag, nid in pc.read_nodes.items():
            await add(nid, ua.Variant(float(snapshot[tag]), ua.VariantType.Double), False)
        await add(pc.timestamp_node, ua.Variant(_utc(snapshot["timestamp"]), ua.VariantType.DateTime), False)
        for item, nid in pc.advisory_nodes.items():
            await add(nid, ua.Variant("", ua.VariantType.String) if item == "status" else ua.Variant(math.nan, ua.VariantType.Double), True)
        for tag, nid in pc.control_nodes.items():
            await add(nid, ua.Variant(float(snapshot[tag]), ua.VariantType.Double), True)
        await add(pc.watchdog_node, ua.Variant(0, ua.VariantType.UInt32), True)
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
    b1 = site.boilers["B1"]
    lim = setpoint_limit(site, "B1.steam_tph", cur)
    assert (lim.lower, lim.upper, lim.ramp_per_min) == (b1.min_steam_tph, b1.max_steam_tph, b1.ramp_tph_per_min)
    step = b1.ramp_tph_per_min * 60.0 / 60.0
    c = cur["B1.steam_tph"]
    assert check_write(lim, c + step, cur, 60.0) is None
    assert check_write(lim, c - step, cur, 60.0) is None
    assert "exceeds the move limit" in check_write(lim, c + 1.01 * step, cur, 60.0)
    assert "exceeds the move limit" in check_write(lim, c + 0.5 * step, cur, 15.0)  # a shorter cycle moves less
    assert "below the equipment minimum" in check_write(lim, 0.0, cur, 60.0)        # stops are not written
    assert "above the equipment maximum" in check_write(lim, b1.max_steam_tph + 1.0, {**cur, "B1.steam_tph": b1.max_steam_tph}, 60.0)
    assert "not a finite number" in check_write(lim, math.nan, cur, 60.0)
    assert "not read this cycle" in check_write(lim, c, {k: v for k, v in cur.items() if k != "B1.steam_tph"}, 60.0)
    assert "held by the supervisor" in check_write(lim, c, cur, 60.0, {"B1"})
    assert "unavailable" in check_write(lim, c, {**cur, "B1.available": 0.0}, 60.0)
    g = site.gas_turbines["GT1"]
    gl = setpoint_limit(site, "GT1.power_mw", cur)
    assert gl.upper == pytest.approx(g.base_power_mw(cur["ambient_temp_c"], cur["GT1.fouling_hours"]), rel=1e-12)
    duct = setpoint_limit(site, "GT1.duct_steam_tph", cur)
    assert check_write(duct, 0.0, cur, 60.0) is None and duct.ramp_per_min is None
    assert setpoint_limit(site, "B1.on", cur) is None


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
    assert rep.status in ("optimal", "time_limited") and rep.watchdog == 2
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
    assert statuses[:2] == ["optimal", "optimal"]
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
    assert "advisory mode" in out and "cycle 1" in out and ": optimal; read 48 tags (0 bad); advisory 32 items" in out
    assert plant.read(site.plant_connection.advisory_nodes["status"]) == "optimal"
    # a bad configuration: one line per problem, exit 2
    (tmp_path / "bad.toml").write_text(text.replace('mode = "advisory"', 'mode = "closed_loop"'), encoding="utf-8")
    rc = main(["opcua", "run", "--site", str(SITE_PATH), "--models", str(MODELS), "--config", str(tmp_path / "bad.toml")])
    err = capsys.readouterr().err
    assert rc == 2 and "closed_loop.write_allow_list = []: mode closed_loop needs a non-empty list" in err
