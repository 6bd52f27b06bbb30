"""A demo plant on OPC UA: the plant simulator served as an OPC UA server on loopback.

So that the whole loop runs on one machine without a plant: ``steamopt opcua demo-server --site
SITE`` serves the site's ``[plant_connection]`` tag map (measured values, the timestamp, the
advisory and control nodes, the watchdog) from the plant simulator, and ``steamopt opcua run``
connects to it as it would to a DCS gateway. Every ``period_s`` seconds of wall time the demo
plant advances one ``step_min`` step of a generated profile (demands, ambient, by-product steam):
it takes the setpoints written to its control nodes (by the adapter in closed loop; otherwise
today's practice holds), simulates the steady state, and serves the new readings.

Security is the adapter's default: Basic256Sha256 with SignAndEncrypt, username and password, and
pinned application certificates. :func:`prepare_pki` makes self-signed certificates for the
server and the client in a directory (once) and writes an adapter configuration there that
points at them, so ``steamopt opcua run --config DIR/adapter.toml`` connects as shipped. The
password comes from the environment (:data:`PASSWORD_ENV`), as for the adapter.

The OPC UA address space (:func:`add_tag_map`) is the one the adapter's tests serve too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.site.model import Site

log = logging.getLogger(__name__)

SERVER_URI = "urn:steamopt:demo-plant"
CLIENT_URI = "urn:steamopt:client"
NAMESPACE = "urn:steamopt:demo-plant:tags"
USER = "steamopt"
PASSWORD_ENV = "STEAMOPT_OPCUA_PASSWORD"


def _utc(local: pd.Timestamp, timezone: str) -> dt.datetime:
    return pd.Timestamp(local).tz_localize(timezone).tz_convert("UTC").to_pydatetime()


async def add_tag_map(server: Any, site: Site, snapshot: dict[str, Any], timezone: str) -> None:
    """The site's ``[plant_connection]`` nodes on ``server`` (namespace 2), at ``snapshot``'s values:
    measured values and the timestamp read-only; advisory, control (initialised at the reading
    of the same tag) and watchdog nodes writable."""
    from asyncua import ua

    pc = site.plant_connection
    objects = server.nodes.objects

    async def add(nid: str, variant: Any, writable: bool) -> None:
        node = await objects.add_variable(ua.NodeId.from_string(nid), ua.QualifiedName(nid.split("s=", 1)[1], 2), variant)
        if writable:
            await node.set_writable()

    for tag, nid in pc.read_nodes.items():
        await add(nid, ua.Variant(float(snapshot[tag]), ua.VariantType.Double), False)
    await add(pc.timestamp_node, ua.Variant(_utc(snapshot["timestamp"], timezone), ua.VariantType.DateTime), False)
    for item, nid in pc.advisory_nodes.items():
        await add(nid, ua.Variant("", ua.VariantType.String) if item == "status" else ua.Variant(math.nan, ua.VariantType.Double), True)
    for tag, nid in pc.control_nodes.items():
        await add(nid, ua.Variant(float(snapshot[tag]), ua.VariantType.Double), True)
    await add(pc.watchdog_node, ua.Variant(0, ua.VariantType.UInt32), True)


async def plant_server(endpoint: str, user_manager: Any | None, pki: str | Path | None, application_uri: str) -> Any:
    """An initialised asyncua server at ``endpoint``: with a ``user_manager``, the adapter's default
    security (Basic256Sha256 SignAndEncrypt, username tokens, the certificate and key in ``pki``
    as ``server_cert.der`` / ``server_key.pem``); without, the None policy with anonymous sessions."""
    from asyncua import Server, ua

    server = Server(user_manager=user_manager) if user_manager is not None else Server()
    await server.init()
    server.set_endpoint(endpoint)
    if user_manager is not None:
        server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        server.set_identity_tokens([ua.UserNameIdentityToken])
        await server.set_application_uri(application_uri)
        await server.load_certificate(str(Path(pki) / "server_cert.der"))
        await server.load_private_key(str(Path(pki) / "server_key.pem"))
    else:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        server.set_identity_tokens([ua.AnonymousIdentityToken])
    return server


def prepare_pki(directory: str | Path, endpoint: str, site_file: str | Path, timezone: str) -> Path:
    """Self-signed certificates of the demo server and of the steamopt client in ``directory``
    (made once, kept after), and ``adapter.toml`` there: advisory mode, the adapter's default
    security, the client certificate and the pinned server certificate. Returns the config path."""
    from asyncua.crypto import cert_gen
    from cryptography.x509.oid import ExtendedKeyUsageOID

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()

    async def make() -> None:
        if not (d / "server_cert.der").exists():
            await cert_gen.setup_self_signed_certificate(d / "server_key.pem", d / "server_cert.der", SERVER_URI, host,
                                                         [ExtendedKeyUsageOID.SERVER_AUTH], {})
        if not (d / "client_cert.der").exists():
            await cert_gen.setup_self_signed_certificate(d / "client_key.pem", d / "client_cert.der", CLIENT_URI, host,
                                                         [ExtendedKeyUsageOID.CLIENT_AUTH], {})
    asyncio.run(make())
    config = d / "adapter.toml"
    text = f"""# steamopt opcua run --site {site_file} --models MODELS --config {config}
# written by `steamopt opcua demo-server` for its demo plant; the password: export {PASSWORD_ENV}=...
mode = "advisory"

[connection]
endpoint = "{endpoint}"
application_uri = "{CLIENT_URI}"
timeout_s = 4.0

[security]
security_policy = "Basic256Sha256_SignAndEncrypt"
certificate = "client_cert.der"
private_key = "client_key.pem"
server_certificate = "server_cert.der"
username = "{USER}"
password_env = "{PASSWORD_ENV}"

[cycle]
cycle_s = 60.0
timezone = "{timezone}"
"""
    tmp = config.with_name(config.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, config)
    return config


def apply_written(site: Site, setpoints: Any, written: dict[str, float]) -> Any:
    """``setpoints`` (simulator :class:`~scenarios.plant.inputs.Setpoints`) with the values written
    to control nodes: boiler steam, duct steam, GT and generator power (t/h, MW), by their tags;
    a tag the demo plant cannot apply raises ``ValueError`` naming it."""
    from optimizer import tags

    fields = {tags.boiler_steam(b): ("boiler_steam_tph", b) for b in site.boilers}
    fields.update({tags.duct_steam(g): ("duct_steam_tph", g) for g in site.gas_turbines})
    fields.update({tags.gt_power(g): ("gt_power_mw", g) for g in site.gas_turbines})
    fields.update({tags.turbine_power(t): ("turbine_power_mw", t) for t, tur in site.turbines.items() if tur.drive == "generator"})
    changes: dict[str, dict] = {}
    for tag, value in written.items():
        if tag not in fields:
            raise ValueError(f"control node {tag!r}: the demo plant cannot apply it (known: {', '.join(sorted(fields))})")
        name, unit = fields[tag]
        changes.setdefault(name, dict(getattr(setpoints, name)))[unit] = float(value)
    return dataclasses.replace(setpoints, **changes)


@dataclass
class DemoStep:
    """What one advance did: the simulated time, the setpoints taken from the control nodes."""

    timestamp: pd.Timestamp
    written: dict[str, float]


class DemoPlant:
    """The plant simulator behind an asyncua server (run it in an event loop: :meth:`start`,
    :meth:`advance`, :meth:`stop`; :func:`serve` loops). ``secure``: the adapter's default policy
    with username/password (``password``) and the certificates in ``pki``; otherwise the None
    policy with anonymous sessions (tests of the loop only)."""

    def __init__(self, site: Site, endpoint: str, *, pki: str | Path | None = None, password: str | None = None,
                 secure: bool = True, step_min: float = 15.0, hours: float = 24.0 * 7, seed: int = 0,
                 start: str = "2026-03-02 00:00", timezone: str = "Asia/Bangkok"):
        from scenarios.plant.practice import todays_practice
        from scenarios.plant.profiles import ProfileConfig, generate_disturbances
        from scenarios.plant.simulator import PlantSimulator

        if secure and (pki is None or not password):
            raise ValueError("DemoPlant: a secure server needs pki (certificates) and a password")
        self.site, self.endpoint, self.pki, self.password, self.secure = site, endpoint, pki, password, secure
        self.timezone = timezone
        self.sim = PlantSimulator(site)
        self.profile = generate_disturbances(site, ProfileConfig(start=pd.Timestamp(start), hours=hours, step_min=step_min, seed=seed))
        self.index = 0
        self.setpoints = todays_practice(site, self.profile[0])
        self._published: dict[str, float] = {}
        self.server: Any = None

    def _snapshot(self) -> dict[str, Any]:
        from scenarios.plant.snapshots import snapshot_from_state

        d = self.profile[self.index % len(self.profile)]
        state = self.sim.simulate(self.setpoints, d)
        return snapshot_from_state(self.site, state, d)

    async def start(self) -> None:
        from asyncua.crypto.permission_rules import User, UserRole
        from asyncua.server.user_managers import UserManager

        expected = self.password

        class _Users(UserManager):
            def get_user(self, iserver, username=None, password=None, certificate=None):
                return User(role=UserRole.User, name=username) if (username, password) == (USER, expected) else None

        server = await plant_server(self.endpoint, _Users() if self.secure else None, self.pki, SERVER_URI)
        if await server.register_namespace(NAMESPACE) != 2:
            raise RuntimeError("the demo plant's namespace must be ns=2 (the site file's node ids)")
        snapshot = self._snapshot()
        await add_tag_map(server, self.site, snapshot, self.timezone)
        self._published = {tag: float(snapshot[tag]) for tag in self.site.plant_connection.control_nodes}
        await server.start()
        self.server = server
        log.info("demo plant serving %s at %s", self.site.name, self.endpoint)

    async def advance(self) -> DemoStep:
        """One step: setpoints written to the control nodes since the last step are applied (a
        value the plant itself published is not a write), the simulator moves to the next step's
        conditions, and the readings, the timestamp and the control nodes are served anew."""
        from asyncua import ua

        pc = self.site.plant_connection
        written = {}
        for tag, nid in pc.control_nodes.items():
            value = float(await self.server.get_node(nid).read_value())
            if math.isfinite(value) and abs(value - self._published.get(tag, math.nan)) > 1e-9:
                written[tag] = value
        if written:
            self.setpoints = apply_written(self.site, self.setpoints, written)
        self.index += 1
        snapshot = self._snapshot()
        stamp = _utc(snapshot["timestamp"], self.timezone)
        for tag, nid in pc.read_nodes.items():
            await self.server.write_attribute_value(ua.NodeId.from_string(nid), ua.DataValue(
                ua.Variant(float(snapshot[tag]), ua.VariantType.Double), SourceTimestamp=stamp, ServerTimestamp=stamp))
        await self.server.get_node(pc.timestamp_node).write_value(ua.Variant(stamp, ua.VariantType.DateTime))
        for tag, nid in pc.control_nodes.items():  # the control nodes follow the plant where nothing was written
            if tag not in written:
                await self.server.get_node(nid).write_value(ua.Variant(float(snapshot[tag]), ua.VariantType.Double))
                self._published[tag] = float(snapshot[tag])
            else:
                self._published[tag] = written[tag]
        return DemoStep(pd.Timestamp(snapshot["timestamp"]), written)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None


async def serve(plant: DemoPlant, period_s: float, steps: int | None = None) -> int:
    """Start ``plant`` and advance it every ``period_s`` seconds (``steps`` times, or until
    cancelled). Returns the number of steps made."""
    await plant.start()
    made = 0
    try:
        while steps is None or made < steps:
            await asyncio.sleep(period_s)
            step = await plant.advance()
            made += 1
            log.info("demo plant at %s%s", step.timestamp, f"; setpoints written: {step.written}" if step.written else "")
    finally:
        await plant.stop()
    return made
