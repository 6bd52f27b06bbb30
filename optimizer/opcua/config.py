"""The OPC UA adapter's run-time configuration: one TOML file (data, never code).

The site file says *where* the tags live (``[plant_connection]``: node ids); this file says *how*
the adapter connects and *whether* it may write setpoints::

    mode = "advisory"                     # or "closed_loop"

    [connection]
    endpoint = "opc.tcp://dcs-gateway:4840/steamopt"
    timeout_s = 4.0

    [security]
    security_policy = "Basic256Sha256_SignAndEncrypt"
    certificate = "pki/steamopt_cert.der"        # paths relative to this file
    private_key = "pki/steamopt_key.pem"
    server_certificate = "pki/gateway_cert.der"
    username = "steamopt"
    password_env = "STEAMOPT_OPCUA_PASSWORD"     # the password itself is never in a file

    [cycle]
    cycle_s = 60.0

    [watchdog]
    stuck_cycles = 3          # stop beating after this many cycles in a row without a fresh answer

    [closed_loop]
    write_allow_list = ["B1.steam_tph", "B2.steam_tph"]
    start_stop_allow_list = []   # setpoints that may start or stop their equipment (default: none)

Every problem is reported as one line naming the file, the field, the value and the rule
(:class:`ConfigError`, a :class:`ValueError`). The rules live in one place,
:func:`config_issues`, run whenever an :class:`AdapterConfig` is made (from a file or in code).
"""

from __future__ import annotations

import math
import os
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optimizer.site.model import Site
from optimizer.site.schema import DataFileError, ValidationIssue, read_toml_file

ConfigError = DataFileError


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


MISSING = _Missing()
MAX_CONFIG_FILE_BYTES = 200_000

MODES = ("advisory", "closed_loop")
# OPC UA security policies and modes offered (asyncua names). Basic128Rsa15 and Basic256 use SHA-1
# and are deprecated by the OPC Foundation (OPC 10000-7): not offered.
ENCRYPTED_POLICIES = ("Basic256Sha256_SignAndEncrypt", "Aes128Sha256RsaOaep_SignAndEncrypt", "Aes256Sha256RsaPss_SignAndEncrypt")
SIGN_ONLY_POLICIES = ("Basic256Sha256_Sign", "Aes128Sha256RsaOaep_Sign", "Aes256Sha256RsaPss_Sign")
POLICIES = (*ENCRYPTED_POLICIES, *SIGN_ONLY_POLICIES, "None")
# setpoints that switch equipment (starts, stops, drive changes) are never written by the adapter
DISCRETE_SUFFIXES = (".on", ".on_motor")


@dataclass(frozen=True)
class AdapterConfig:
    """Run-time settings of the OPC UA adapter. Times in seconds; paths absolute after loading."""

    endpoint: str
    mode: str = "advisory"
    application_uri: str = "urn:steamopt:client"
    timeout_s: float = 4.0
    reconnect_initial_s: float = 1.0
    reconnect_max_s: float = 60.0
    security_policy: str = "Basic256Sha256_SignAndEncrypt"
    certificate: Path | None = None
    private_key: Path | None = None
    private_key_password_env: str = ""
    server_certificate: Path | None = None
    username: str = ""
    password_env: str = ""
    allow_anonymous: bool = False
    allow_unencrypted: bool = False
    cycle_s: float = 60.0
    time_budget_s: float = 1.0
    objective: str = "cost"
    timezone: str = "UTC"
    tag_stale_after_s: float = 0.0
    write_allow_list: tuple[str, ...] = ()
    start_stop_allow_list: tuple[str, ...] = ()
    watchdog_stuck_cycles: int = 3
    source: str = field(default="<memory>", compare=False)

    def __post_init__(self) -> None:
        """Every rule of :func:`config_issues`, also for a configuration built in code.
        Raises :class:`ConfigError` (one line per problem: field, value, rule)."""
        for name in ("write_allow_list", "start_stop_allow_list"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        for name in ("certificate", "private_key", "server_certificate"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Path(value) if value else None)
        issues = config_issues(self)
        if issues:
            raise ConfigError(self.source, issues)

    @property
    def closed_loop(self) -> bool:
        return self.mode == "closed_loop"

    @property
    def encrypted(self) -> bool:
        return self.security_policy in ENCRYPTED_POLICIES

    def password(self) -> str | None:
        """The password from the environment variable named by ``password_env`` (None without a
        username). Raises :class:`ConfigError` when the variable is not set."""
        if not self.username:
            return None
        value = os.environ.get(self.password_env, "")
        if not value:
            raise ConfigError(self.source, [ValidationIssue("security.password_env", self.password_env,
                                                            "this environment variable must hold the OPC UA password (it is not set or empty)")])
        return value

    def private_key_password(self) -> str | None:
        """The private key's password from ``private_key_password_env`` (None when not named)."""
        if not self.private_key_password_env:
            return None
        value = os.environ.get(self.private_key_password_env, "")
        if not value:
            raise ConfigError(self.source, [ValidationIssue("security.private_key_password_env", self.private_key_password_env,
                                                            "this environment variable must hold the private key's password (it is not set or empty)")])
        return value


# TOML layout: section -> {key: (field name, type, (low, high) or choices)}
_NUM = (int, float)
_INT = "int"
_LAYOUT: dict[str, dict[str, tuple[str, Any, Any]]] = {
    "": {"mode": ("mode", str, MODES)},
    "connection": {
        "endpoint": ("endpoint", str, None),
        "application_uri": ("application_uri", str, None),
        "timeout_s": ("timeout_s", _NUM, (0.1, 600.0)),
        "reconnect_initial_s": ("reconnect_initial_s", _NUM, (0.01, 3600.0)),
        "reconnect_max_s": ("reconnect_max_s", _NUM, (0.01, 86400.0)),
    },
    "security": {
        "security_policy": ("security_policy", str, POLICIES),
        "certificate": ("certificate", str, None),
        "private_key": ("private_key", str, None),
        "private_key_password_env": ("private_key_password_env", str, None),
        "server_certificate": ("server_certificate", str, None),
        "username": ("username", str, None),
        "password_env": ("password_env", str, None),
        "allow_anonymous": ("allow_anonymous", bool, None),
        "allow_unencrypted": ("allow_unencrypted", bool, None),
    },
    "cycle": {
        "cycle_s": ("cycle_s", _NUM, (0.1, 86400.0)),
        "time_budget_s": ("time_budget_s", _NUM, (0.05, 600.0)),
        "objective": ("objective", str, ("cost", "co2e", "steam")),
        "timezone": ("timezone", str, None),
        "tag_stale_after_s": ("tag_stale_after_s", _NUM, (0.0, 1e7)),
    },
    "watchdog": {"stuck_cycles": ("watchdog_stuck_cycles", _INT, (1, 10_000))},
    "closed_loop": {"write_allow_list": ("write_allow_list", list, None),
                    "start_stop_allow_list": ("start_stop_allow_list", list, None)},
}
_PATH_FIELDS = ("certificate", "private_key", "server_certificate")
# field name -> (its path in the file, type, rule): the same checks for a configuration built in code
_FIELDS: dict[str, tuple[str, Any, Any]] = {
    name: (f"{section}.{key}" if section else key, typ, rule)
    for section, table in _LAYOUT.items() for key, (name, typ, rule) in table.items()
}


def load_adapter_config(path: str | Path) -> AdapterConfig:
    """Read and validate an adapter configuration file. Raises :class:`ConfigError`."""
    path = Path(path)
    return config_from_dict(read_toml_file(path, MAX_CONFIG_FILE_BYTES, "adapter configuration"), str(path), base_dir=path.parent)


def config_from_dict(data: dict[str, Any], source: str = "<dict>", base_dir: Path | None = None) -> AdapterConfig:
    """Validate an adapter configuration given as plain data (as parsed from TOML). Relative
    paths are taken relative to ``base_dir`` (the file's folder)."""
    issues: list[ValidationIssue] = []
    values: dict[str, Any] = {}
    if not isinstance(data, dict):
        raise ConfigError(source, [ValidationIssue("(file)", data, "must be a table of settings")])
    for key, value in data.items():
        if key in _LAYOUT and key and isinstance(value, dict):
            for sub, v in value.items():
                _take(f"{key}.{sub}", sub, v, _LAYOUT[key], values, issues)
        elif key in _LAYOUT[""]:
            _take(key, key, value, _LAYOUT[""], values, issues)
        else:
            issues.append(ValidationIssue(key, value, f"unknown setting (known: mode and the sections {', '.join(s for s in _LAYOUT if s)})"))
    if "endpoint" not in values:
        issues.append(ValidationIssue("connection.endpoint", MISSING, "required: the server's URL, opc.tcp://host:port[/path]"))
    if issues:
        raise ConfigError(source, issues)
    base = base_dir or Path.cwd()
    for name in ("certificate", "private_key", "server_certificate"):
        if values.get(name):
            p = Path(values[name]).expanduser()
            values[name] = p if p.is_absolute() else (base / p)
        else:
            values.pop(name, None)
    for name in ("write_allow_list", "start_stop_allow_list"):
        values[name] = tuple(values.get(name, ()))
    return AdapterConfig(**values, source=source)  # raises ConfigError on any rule (config_issues)


def _take(path: str, key: str, value: Any, table: dict, values: dict, issues: list[ValidationIssue]) -> None:
    if key in ("password", "passwd", "secret"):
        issues.append(ValidationIssue(path, "(hidden)", "a password never goes into a file: name an environment variable in security.password_env"))
        return
    if key not in table:
        section = path.rsplit(".", 1)[0] if "." in path else ""
        issues.append(ValidationIssue(path, value, f"unknown setting (known in [{section}]: {', '.join(table)})"))
        return
    name, typ, rule = table[key]
    if typ is _INT:
        if isinstance(value, bool) or not isinstance(value, int):
            issues.append(ValidationIssue(path, value, "must be a whole number"))
            return
        lo, hi = rule
        if not lo <= value <= hi:
            issues.append(ValidationIssue(path, value, f"must lie in [{lo:g}, {hi:g}]"))
            return
        values[name] = value
    elif typ is _NUM:
        if isinstance(value, bool) or not isinstance(value, _NUM) or not math.isfinite(value):
            issues.append(ValidationIssue(path, value, "must be a finite number"))
            return
        lo, hi = rule
        if not lo <= value <= hi:
            issues.append(ValidationIssue(path, value, f"must lie in [{lo:g}, {hi:g}]"))
            return
        values[name] = float(value)
    elif typ is bool:
        if not isinstance(value, bool):
            issues.append(ValidationIssue(path, value, "must be true or false"))
            return
        values[name] = value
    elif typ is list:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            issues.append(ValidationIssue(path, value, "must be a list of setpoint names (strings)"))
            return
        values[name] = value
    else:
        if not isinstance(value, str):
            issues.append(ValidationIssue(path, value, "must be a string"))
            return
        if rule is not None and value not in rule:
            issues.append(ValidationIssue(path, value, f"must be one of {', '.join(rule)}"))
            return
        values[name] = value


def config_issues(c: AdapterConfig) -> list[ValidationIssue]:
    """Every rule of an adapter configuration, in one place: each setting's type and range, and
    the rules between settings (security, credentials, closed loop). Empty when it is valid.
    Run by :class:`AdapterConfig` itself, so a configuration built in code obeys the same rules
    as one read from a file."""
    issues = _field_issues(c)
    if issues:  # the rules between settings need well-typed settings
        return issues

    def bad(path: str, value: Any, rule: str) -> None:
        issues.append(ValidationIssue(path, value, rule))

    if not c.endpoint.startswith("opc.tcp://") or len(c.endpoint) <= len("opc.tcp://"):
        bad("connection.endpoint", c.endpoint, "must be an OPC UA TCP URL: opc.tcp://host:port[/path]")
    if c.reconnect_max_s < c.reconnect_initial_s:
        bad("connection.reconnect_max_s", c.reconnect_max_s, f"must be at least reconnect_initial_s ({c.reconnect_initial_s:g} s)")
    if c.time_budget_s >= c.cycle_s:
        bad("cycle.time_budget_s", c.time_budget_s, f"must be shorter than the cycle (cycle_s = {c.cycle_s:g} s)")
    try:
        zoneinfo.ZoneInfo(c.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        bad("cycle.timezone", c.timezone, "must be an IANA time zone (e.g. Asia/Bangkok, UTC): the site's local time, used for snapshot timestamps")
    # security: encryption and authentication are the default; anything less is an explicit choice
    if c.security_policy == "None" and not c.allow_unencrypted:
        bad("security.security_policy", c.security_policy, "no security (plain text, unsigned) needs security.allow_unencrypted = true")
    if c.security_policy in SIGN_ONLY_POLICIES and not c.allow_unencrypted:
        bad("security.security_policy", c.security_policy,
            f"signs without encrypting; needs security.allow_unencrypted = true (encrypted: {', '.join(ENCRYPTED_POLICIES)})")
    if c.security_policy != "None":
        for name in ("certificate", "private_key", "server_certificate"):
            p = getattr(c, name)
            if p is None:
                what = "the server's certificate (pinned: the connection fails if the server shows another)" if name == "server_certificate" \
                    else f"this client's {name.replace('_', ' ')}"
                bad(f"security.{name}", MISSING, f"required with security_policy {c.security_policy}: {what}")
            elif not p.is_file():
                bad(f"security.{name}", str(p), "file not found (.der or .pem)")
    if not c.username and not c.allow_anonymous:
        bad("security.username", MISSING, "required (anonymous sessions need security.allow_anonymous = true)")
    if c.username and not c.password_env:
        bad("security.password_env", MISSING, "required with a username: the name of the environment variable holding the password")
    if c.username and c.security_policy == "None":
        bad("security.username", c.username, "a password would travel in plain text with security_policy None: use an encrypted policy")
    if c.closed_loop and c.security_policy == "None":
        bad("security.security_policy", c.security_policy,
            "mode closed_loop writes setpoints to the plant: it needs a signed connection (security_policy None is refused in closed loop,"
            f" even with allow_unencrypted; encrypted: {', '.join(ENCRYPTED_POLICIES)})")
    # closed loop: an explicit, non-empty allow-list of continuous setpoints
    if c.closed_loop and not c.write_allow_list:
        bad("closed_loop.write_allow_list", [], "mode closed_loop needs a non-empty list of the setpoints it may write")
    for i, name in enumerate(c.write_allow_list):
        if name.endswith(DISCRETE_SUFFIXES):
            bad(f"closed_loop.write_allow_list[{i}]", name, "starts, stops and drive changes are advisory only: never written by the adapter")
    if len(set(c.write_allow_list)) != len(c.write_allow_list):
        bad("closed_loop.write_allow_list", list(c.write_allow_list), "must not repeat a setpoint")
    # starts and stops: only of setpoints that are written, each named explicitly
    for i, name in enumerate(c.start_stop_allow_list):
        if name not in c.write_allow_list:
            bad(f"closed_loop.start_stop_allow_list[{i}]", name, "must also be in closed_loop.write_allow_list (only a written setpoint can start or stop its unit)")
    if len(set(c.start_stop_allow_list)) != len(c.start_stop_allow_list):
        bad("closed_loop.start_stop_allow_list", list(c.start_stop_allow_list), "must not repeat a setpoint")
    return issues


def _field_issues(c: AdapterConfig) -> list[ValidationIssue]:
    """Each setting's type, range or choices (the file reader checks the same while parsing)."""
    issues: list[ValidationIssue] = []
    for name, (path, typ, rule) in _FIELDS.items():
        value = getattr(c, name)
        if name in _PATH_FIELDS:
            if value is not None and not isinstance(value, Path):
                issues.append(ValidationIssue(path, value, "must be a path to a file (or absent)"))
        elif typ is _INT:
            if isinstance(value, bool) or not isinstance(value, int) or not rule[0] <= value <= rule[1]:
                issues.append(ValidationIssue(path, value, f"must be a whole number in [{rule[0]:g}, {rule[1]:g}]"))
        elif typ is _NUM:
            if isinstance(value, bool) or not isinstance(value, _NUM) or not math.isfinite(value) or not rule[0] <= value <= rule[1]:
                issues.append(ValidationIssue(path, value, f"must be a finite number in [{rule[0]:g}, {rule[1]:g}]"))
        elif typ is bool:
            if not isinstance(value, bool):
                issues.append(ValidationIssue(path, value, "must be true or false"))
        elif typ is list:
            if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
                issues.append(ValidationIssue(path, value, "must be a list of setpoint names (strings)"))
        elif not isinstance(value, str):
            issues.append(ValidationIssue(path, value, "must be a string"))
        elif rule is not None and value not in rule:
            issues.append(ValidationIssue(path, value, f"must be one of {', '.join(rule)}"))
    return issues


def check_against_site(config: AdapterConfig, site: Site) -> None:
    """The rules that need the site: allow-listed setpoints exist and have a control node; those
    allowed to start and stop their unit are ones that do; closed loop needs the watchdog node;
    there is something to read. Raises :class:`ConfigError`."""
    from optimizer.snapshot import setpoint_names

    pc = site.plant_connection
    issues: list[ValidationIssue] = []
    if not pc.read_nodes:
        issues.append(ValidationIssue("plant_connection.read_nodes", {}, f"site {site.name}: the site file has no tag map ([plant_connection.read_nodes])"))
    names = set(setpoint_names(site))
    for i, name in enumerate(config.write_allow_list):
        if name not in names:
            issues.append(ValidationIssue(f"closed_loop.write_allow_list[{i}]", name, f"not a setpoint of site {site.name} (one of: {', '.join(sorted(names))})"))
        elif name not in pc.control_nodes:
            issues.append(ValidationIssue(f"closed_loop.write_allow_list[{i}]", name,
                                          f"has no control node in the site file ([plant_connection.control_nodes]: {', '.join(pc.control_nodes) or 'none'})"))
    from optimizer.opcua.limits import setpoint_limit

    for i, name in enumerate(config.start_stop_allow_list):
        limit = setpoint_limit(site, name, {}) if name in names else None
        if limit is not None and not limit.switches:
            issues.append(ValidationIssue(f"closed_loop.start_stop_allow_list[{i}]", name,
                                          "does not start or stop its unit (only a boiler's steam, a gas turbine's power, a duct burner's steam"
                                          " or a generator's power do)"))
    if config.closed_loop and not pc.watchdog_node:
        issues.append(ValidationIssue("mode", config.mode, "closed_loop needs a watchdog node in the site file (plant_connection.watchdog_node), so the plant sees the optimiser is alive"))
    if issues:
        raise ConfigError(config.source, issues)

