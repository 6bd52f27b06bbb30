"""What the service holds between requests: one engine, the commissioning mode, the latest answers.

The engine (one :class:`~optimizer.supervisor.Supervisor` per service, one site) is built on a
thread of its own at start-up, so health answers at once and readiness says when the engine is
there. Every cycle and plan goes through one lock: cycles are serialised, and the latest
proposal, plan, savings and mode are read consistently.

Commissioning modes (held here, switched at run time, each switch logged and, with an audit log
configured, appended to the audit trail's ``*.modes.jsonl`` beside it):

* ``OFF``: no proposals are computed (a step is refused, HTTP 409);
* ``WARM``: advisory: proposals are computed, logged and shown; nothing may be written;
* ``ON``: closed loop: proposals are computed and the setpoints enabled for closed loop
  (``closed_loop_setpoints``) may be written by an adapter, only when the proposal's status is
  one the OPC UA adapter writes (``optimal``, ``time_limited``). Without a plant link the
  service writes nothing to a plant: it says what may be written (``writable``); with one
  (:mod:`optimizer.service.plant_link`), the OPC UA adapter runs in the service and takes every
  switch before the service does.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from optimizer.audit import append_line
from optimizer.proposal import Proposal
from optimizer.schedule import Schedule
from optimizer.service.adherence import adherence
from optimizer.service.config import MODES, ServiceConfig
from optimizer.supervisor import Supervisor

log = logging.getLogger(__name__)

#: Statuses whose setpoints an adapter may write in ON (the OPC UA adapter's WRITE_STATUSES).
WRITE_STATUSES = ("optimal", "time_limited")
#: Setpoints that start, stop or switch equipment: never enabled for closed loop here.
DISCRETE_SUFFIXES = (".on", ".on_motor")
#: savings rate key (per hour) -> the total's key, summed over the proposals the service made
SAVING_TOTALS = {"cost_per_h": "cost", "co2e_t_h": "co2e_t", "fuel_gj_h": "fuel_gj", "steam_generated_tph": "steam_generated_t"}


class ModeError(ValueError):
    """A mode or closed-loop list refused: the message names the field, the value and the rule."""


class ServiceState:
    """The engine, the mode and the latest answers of one running service (thread-safe)."""

    def __init__(self, engine: Supervisor | Callable[[], Supervisor], config: ServiceConfig, setpoint_names: list[str] | None = None):
        self.config = config
        self.lock = threading.Lock()  # the engine's: cycles and plans one at a time
        self._view = threading.Lock()  # what is published (mode, latest answers): never held during a solve
        self.supervisor: Supervisor | None = engine if isinstance(engine, Supervisor) else None
        self._factory = None if isinstance(engine, Supervisor) else engine
        self.engine_error: str | None = None
        self._setpoint_names = setpoint_names
        self.mode = config.mode
        self.closed_loop_setpoints: tuple[str, ...] = ()
        self.mode_since = _now()
        self.mode_history: list[dict] = []
        self.latest: dict | None = None  # the latest step's answer (see step)
        self.latest_snapshot: dict | None = None
        self.latest_plan: dict | None = None
        self.adherence: dict | None = None  # the plant against the previous proposal (optimizer/service/adherence.py)
        self.cycles = 0
        self.savings_so_far: dict[str, float] = {v: 0.0 for v in SAVING_TOTALS.values()} | {"hours": 0.0, "proposals": 0}
        self.plant_link = None  # a PlantLink (optimizer/service/plant_link.py) when the service drives the OPC UA adapter
        if self.supervisor is not None:
            self._check_closed_loop(config.closed_loop_setpoints, "closed_loop_setpoints")
        self.closed_loop_setpoints = tuple(config.closed_loop_setpoints)

    # ---------------------------------------------------------------- the engine
    def build(self) -> None:
        """Build the engine from the factory (on the caller's thread); a failure is kept and
        reported by readiness, never raised."""
        if self._factory is None:
            return
        t0 = time.perf_counter()
        try:
            sup = self._factory()
            names = self._setpoint_names or _setpoint_names(sup)
            bad = self._closed_loop_issues(self.config.closed_loop_setpoints, "closed_loop_setpoints", names)
            if bad:
                raise ModeError(bad)
            with self._view:
                self._setpoint_names = names
                self.supervisor = sup
            log.info("engine ready: site %s (%.2f s)", sup.site.name, time.perf_counter() - t0)
        except Exception as exc:  # readiness reports it; the service keeps answering
            self.engine_error = f"{type(exc).__name__}: {exc}"
            log.error("engine could not be built: %s", self.engine_error)

    @property
    def ready(self) -> bool:
        return self.supervisor is not None

    @property
    def setpoint_names(self) -> list[str]:
        if self._setpoint_names is None and self.supervisor is not None:
            self._setpoint_names = _setpoint_names(self.supervisor)
        return list(self._setpoint_names or [])

    # ---------------------------------------------------------------- modes
    def set_mode(self, mode: object, closed_loop_setpoints: object = None, reason: str = "", who: str = "") -> dict:
        """Switch the commissioning mode (and, when given, the setpoints enabled for closed loop).
        Raises :class:`ModeError` naming the field, the value and the rule. Returns the switch record."""
        if not isinstance(mode, str) or mode.upper() not in MODES:
            raise ModeError(f"mode = {mode!r}: must be one of {', '.join(MODES)}")
        mode = mode.upper()
        with self._view:
            enabled = self.closed_loop_setpoints
            if closed_loop_setpoints is not None:
                if not isinstance(closed_loop_setpoints, list) or not all(isinstance(s, str) for s in closed_loop_setpoints):
                    raise ModeError(f"closed_loop_setpoints = {closed_loop_setpoints!r}: must be a list of setpoint names (strings)")
                self._check_closed_loop(closed_loop_setpoints, "closed_loop_setpoints")
                enabled = tuple(closed_loop_setpoints)
            if mode == "ON" and not enabled:
                raise ModeError("mode = 'ON': closed loop needs at least one setpoint in closed_loop_setpoints (none is enabled)")
            if self.plant_link is not None:  # the plant link first: a switch it refuses changes nothing
                try:
                    self.plant_link.switch(mode, enabled, str(reason)[:500])
                except ValueError as exc:
                    raise ModeError(f"the plant link refused the switch: {exc}") from None
            record = {"event": "mode_switch", "time": _now(), "from": self.mode, "to": mode,
                      "from_closed_loop_setpoints": list(self.closed_loop_setpoints), "closed_loop_setpoints": list(enabled),
                      "reason": str(reason)[:500], "who": who}
            self.mode, self.closed_loop_setpoints, self.mode_since = mode, enabled, record["time"]
            self.mode_history.append(record)
            del self.mode_history[:-100]
        log.warning("commissioning mode %s -> %s (closed loop: %s)%s", record["from"], mode, ", ".join(enabled) or "none",
                    f"; reason: {record['reason']}" if record["reason"] else "")
        if self.config.mode_log is not None and not append_line(self.config.mode_log, record):
            log.error("mode switch not recorded in the audit trail %s", self.config.mode_log)
        return record

    @contextmanager
    def mode_lock(self) -> Iterator[None]:
        """Hold the published state (mode and latest answers) still: no switch meanwhile."""
        with self._view:
            yield

    def mode_view(self) -> dict:
        return {"mode": self.mode, "since": self.mode_since, "closed_loop_setpoints": list(self.closed_loop_setpoints),
                "modes": {"OFF": "no proposals computed", "WARM": "advisory: proposals computed, logged and shown; nothing written",
                          "ON": "closed loop: the enabled setpoints may be written by the plant adapter"}}

    def _check_closed_loop(self, names, field: str) -> None:
        bad = self._closed_loop_issues(names, field, self.setpoint_names)
        if bad:
            raise ModeError(bad)

    @staticmethod
    def _closed_loop_issues(names, field: str, known: list[str]) -> str:
        if len(set(names)) != len(names):
            return f"{field} = {list(names)!r}: must not repeat a setpoint"
        for name in names:
            if name.endswith(DISCRETE_SUFFIXES):
                return f"{field}: {name!r}: starts, stops and drive changes are advisory only, never enabled for closed loop"
            if known and name not in known:
                return f"{field}: {name!r}: not a setpoint of this site (one of: {', '.join(n for n in known if not n.endswith(DISCRETE_SUFFIXES))})"
        return ""

    # ---------------------------------------------------------------- cycles
    def step(self, snapshot: object) -> dict:
        """One cycle through the engine (the caller checked mode and readiness). Returns the
        answer: mode, the closed-loop list, what an adapter may write, the proposal."""
        return self._cycle(snapshot)[1]

    def step_proposal(self, snapshot: object) -> Proposal:
        """One cycle for the plant link: as :meth:`step` (the same lock, published the same way),
        returning the proposal itself."""
        return self._cycle(snapshot)[0]

    def _cycle(self, snapshot: object) -> tuple[Proposal, dict]:
        with self.lock:
            proposal: Proposal = self.supervisor.step(snapshot)
            self._publish(proposal, snapshot)
            answer = self.latest
        log.info("cycle %d (%s): %s, %d setpoint(s) writable", answer["cycle"], answer["mode"], proposal.status, len(answer["writable"]))
        return proposal, answer

    def _publish(self, proposal: Proposal, snapshot: object) -> None:
        with self._view:
            mode, enabled = self.mode, self.closed_loop_setpoints
            writable = {k: v for k, v in proposal.setpoints.items() if k in enabled} if mode == "ON" and proposal.status in WRITE_STATUSES else {}
            self.cycles += 1
            self._add_savings(proposal)
            self._judge_adherence(snapshot)
            answer = {"cycle": self.cycles, "mode": mode, "closed_loop_setpoints": list(enabled), "writable": writable,
                      "proposal": proposal.to_dict()}
            self.latest, self.latest_snapshot = answer, snapshot if isinstance(snapshot, dict) else None

    def _judge_adherence(self, snapshot: object) -> None:
        prev, before = self.latest, self.latest_snapshot
        if not isinstance(snapshot, dict) or prev is None or before is None or prev["proposal"]["status"] not in WRITE_STATUSES + (
                "fallback_local", "substituted", "infeasible_demand"):
            return
        self.adherence = {"of_cycle": prev["cycle"], **adherence(prev["proposal"]["setpoints"], before, snapshot)}

    def plan(self, snapshot: object, horizon_h: float, period_min: float) -> dict:
        with self.lock:
            schedule: Schedule = self.supervisor.plan(snapshot, horizon_h=horizon_h, period_min=period_min)
            with self._view:
                self.latest_plan = {"made": _now(), "mode": self.mode, "schedule": schedule.to_dict()}
                return self.latest_plan

    def _add_savings(self, p: Proposal) -> None:
        if not p.savings or p.status not in ("optimal", "time_limited", "fallback_local", "substituted", "infeasible_demand"):
            return
        hours = self.config.cycle_s / 3600.0
        for rate, total in SAVING_TOTALS.items():
            v = p.savings.get(rate)
            if isinstance(v, float | int) and math.isfinite(v):
                self.savings_so_far[total] += float(v) * hours
        self.savings_so_far["hours"] += hours
        self.savings_so_far["proposals"] += 1

    def status_view(self) -> dict:
        """Everything the page shows, in one consistent read (not held up by a cycle or plan in progress)."""
        with self._view:
            sup = self.supervisor
            return {"ready": sup is not None, "engine_error": self.engine_error,
                    "site": None if sup is None else sup.site.name, "currency": None if sup is None else sup.site.currency,
                    "cycle_s": self.config.cycle_s, "cycles": self.cycles, **self.mode_view(),
                    "mode_history": self.mode_history[-10:], "savings_so_far": dict(self.savings_so_far),
                    "latest": self.latest, "current": _current_values(self.latest_snapshot, self.latest),
                    "plan": self.latest_plan, "adherence": self.adherence,
                    "plant_link": None if self.plant_link is None else self.plant_link.view()}


def _current_values(snapshot: dict | None, latest: dict | None) -> dict:
    """The snapshot's reading of each proposed setpoint's tag (where it has one)."""
    if not snapshot or not latest:
        return {}
    out = {}
    for k in latest["proposal"].get("setpoints", {}):
        v = snapshot.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            out[k] = float(v)
    return out


def _setpoint_names(sup: Supervisor) -> list[str]:
    from optimizer.snapshot import setpoint_names

    return setpoint_names(sup.site)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def tail_records(path: Path | None, limit: int, max_bytes: int = 4_000_000) -> list[dict]:
    """The last ``limit`` complete JSON records of a JSON-lines file (reading at most its last
    ``max_bytes``); [] when there is no file. A torn line is skipped."""
    import json

    if path is None or limit <= 0:
        return []
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - max_bytes))
            raw = f.read()
    except FileNotFoundError:
        return []
    lines = raw.split(b"\n")
    if size > max_bytes:
        lines = lines[1:]  # the first one is cut
    out: list[dict] = []
    for line in reversed(lines):
        if len(out) >= limit:
            break
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out[::-1]
