"""The OPC UA adapter: every cycle, read the snapshot from the plant's OPC UA server, call
``Supervisor.step``, publish the Proposal to advisory nodes, beat the watchdog, and - only in
closed-loop mode - write allow-listed setpoints that pass the write guard.

One cycle (:meth:`PlantAdapter.run_cycle`):

1. **read** every node of ``[plant_connection.read_nodes]`` and the timestamp node in one batched
   Read. A value with a status other than Good (or older than ``tag_stale_after_s``) is left out of
   the snapshot, so the Supervisor substitutes it (last good or nominal value, or holds the unit)
   and says so in the Proposal. The snapshot time is the timestamp node's value, else the newest
   source timestamp, converted to the site's local time (``cycle.timezone``).
2. **step**: ``Supervisor.step(snapshot)`` in a worker thread, so the event loop (the OPC UA
   session's keep-alive) stays responsive during the solve. A step that raises, or has not
   answered within the cycle time (at least :data:`MIN_STEP_WAIT_S`), gives a ``fallback_hold``
   for this cycle; while it is still running no new step starts (each such cycle is a hold).
3. **write**, in two batched Writes, in this order:

   a. every advisory item (:mod:`optimizer.opcua.advisory`) and the watchdog counter, +1 - unless
      the engine is stuck: after ``watchdog_stuck_cycles`` cycles in a row without a fresh
      answer (a status other than optimal, time_limited, fallback_local or infeasible_demand -
      e.g. invalid_input or fallback_hold -, a proposal time not newer than the last fresh one,
      or no answer at all) the watchdog is not written, so the plant sees the optimiser is not
      alive and falls back to its own control; it beats again with the next fresh answer;
   b. in closed-loop mode, **only when the watchdog write of this cycle succeeded**, each
      allow-listed setpoint that has a control node, only when the status is ``optimal`` or
      ``time_limited``, the proposal holds every unit the adapter could not read where it was
      last read Good (:func:`~optimizer.opcua.limits.proposal_mismatch`; none at all on a first
      cycle with a bad reading), and the value passes :func:`~optimizer.opcua.limits.check_write`
      (which never starts or stops a unit unless its setpoint is in ``start_stop_allow_list``,
      and writes nothing of a unit with a bad reading). No setpoint is ever written in a cycle
      whose watchdog write failed or was withheld.

**Commissioning modes**, switchable at run time (:meth:`PlantAdapter.set_mode`): ``OFF`` - the
cycle reads nothing, computes nothing, writes nothing (not even the watchdog, so the plant sees
the optimiser is off); ``WARM`` - advisory: steps a) above, no setpoint written; ``ON`` - closed
loop for the setpoints enabled at the switch, a subset of the configuration's
``write_allow_list`` (the file grants what may ever be written; the switch chooses what is, now).
ON is refused unless the configuration's mode is ``closed_loop``. The configuration's mode is the
starting one (advisory: WARM; closed_loop: ON with the whole allow list). Each switch is logged
and kept in :attr:`PlantAdapter.mode_switches`.

Every write decision (written, or refused with its reason) is logged and returned in the
:class:`CycleReport`. A lost connection is reported, the session dropped, and the next cycle
reconnects after a backoff (``reconnect_initial_s`` doubling up to ``reconnect_max_s``); the loop
never ends on an error, and stops cleanly (session closed) when its task is cancelled.

This module holds the cycle, the session and the loop; the commissioning switch
(:mod:`optimizer.opcua.commissioning`), the read (:mod:`optimizer.opcua.plant_read`) and the
writes (:mod:`optimizer.opcua.plant_write`) are parts of :class:`PlantAdapter` in their own modules.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

import pandas as pd
from asyncua import Client, ua

from optimizer.opcua.advisory import unknown_items
from optimizer.opcua.commissioning import COMMISSIONING_MODES, CommissioningModes  # noqa: F401 - re-exported (its old path)
from optimizer.opcua.config import AdapterConfig, ConfigError, check_against_site, config_issues
from optimizer.opcua.connection import make_client, variant_type
from optimizer.opcua.limits import operating_tags
from optimizer.opcua.plant_read import SnapshotReading
from optimizer.opcua.plant_write import WRITE_STATUSES, SetpointWriting  # noqa: F401 - re-exported (its old path)
from optimizer.opcua.report import CycleReport
from optimizer.proposal import Proposal
from optimizer.site.model import Site
from optimizer.snapshot import setpoint_names, tag_rules
from optimizer.supervisor import Supervisor, SupervisorConfig

log = logging.getLogger(__name__)

# an engine answering one of these (with a new proposal time) is alive: the watchdog beats
FRESH_STATUSES = ("optimal", "time_limited", "fallback_local", "infeasible_demand")
MIN_STEP_WAIT_S = 5.0  # the longest wait for a step is the cycle time, but never shorter than this (a cold start)


class PlantAdapter(CommissioningModes, SnapshotReading, SetpointWriting):
    """Connects one site's Supervisor to the plant's OPC UA server.

    ``client_factory`` builds a not yet connected asyncua ``Client`` from the configuration
    (default :func:`~optimizer.opcua.connection.make_client`). ``step``: what a cycle calls with
    the snapshot read (default ``supervisor.step``; the service passes its own, so that the
    plant's cycles and the HTTP requests go through one engine lock and one published answer)."""

    def __init__(self, site: Site, supervisor: Supervisor, config: AdapterConfig,
                 client_factory: Callable[[AdapterConfig], Any] = make_client,
                 step: Callable[[dict[str, Any]], Proposal] | None = None):
        issues = config_issues(config)  # the same rules as a configuration file (AdapterConfig checks them when made)
        if issues:
            raise ConfigError(config.source, issues)
        check_against_site(config, site)
        self.site, self.supervisor, self.config = site, supervisor, config
        self._engine_step = step  # None: the supervisor's own step, looked up at each cycle
        self.pc = site.plant_connection
        self._client_factory = client_factory
        self._client: Client | None = None
        self._vtypes: dict[str, ua.VariantType | None] = {}
        self._missing_nodes: dict[str, str] = {}
        self._heartbeat: int = 0
        self._stuck = 0                      # cycles in a row without a fresh answer
        self._last_fresh: pd.Timestamp | None = None  # the time of the last fresh proposal
        self._pending: asyncio.Future | None = None  # a step still running after its cycle gave up on it
        self._rules = tag_rules(site)
        self._unit_tags = operating_tags(self._rules)  # unit -> its operating point's tags
        self._last_good: dict[str, float] = {}  # tag -> its last Good reading (this adapter's own memory)
        self._read_tags = frozenset(self.pc.read_nodes)
        self._cycle = 0
        self._backoff_s = config.reconnect_initial_s
        self._zone = zoneinfo.ZoneInfo(config.timezone)
        self.last_report: CycleReport | None = None
        bad = unknown_items(list(self.pc.advisory_nodes), setpoint_names(site))
        if bad:
            log.warning("advisory items that no proposal of site %s carries: %s", site.name, ", ".join(bad))
        if supervisor.config.cycle_s != config.cycle_s:
            log.warning("the supervisor's cycle (%g s) differs from the adapter's (%g s): move limits are checked for %g s",
                        supervisor.config.cycle_s, config.cycle_s, config.cycle_s)
        # the only nodes this adapter ever writes
        self._writable = set(self.pc.advisory_nodes.values()) | ({self.pc.watchdog_node} if self.pc.watchdog_node else set())
        if config.closed_loop:
            self._writable |= {self.pc.control_nodes[n] for n in config.write_allow_list}
        # commissioning mode (module docstring), starting from the configuration's
        self.mode = "ON" if config.closed_loop else "WARM"
        self.enabled: tuple[str, ...] = tuple(config.write_allow_list) if config.closed_loop else ()
        self.mode_switches: list[dict[str, Any]] = []
        self._cycle_enabled: tuple[str, ...] = ()  # what the running cycle may write (its start's mode)

    @property
    def connected(self) -> bool:
        return self._client is not None

    # ------------------------------------------------------------------ connection
    async def connect(self) -> None:
        """Open the session and learn the written nodes' data types (one batched Read).
        Raises on failure (connection refused, security or credentials rejected)."""
        client = await self._client_factory(self.config)
        await client.connect()
        try:
            written = [*self.pc.advisory_nodes.values(), *self.pc.control_nodes.values()]
            if self.pc.watchdog_node:
                written.append(self.pc.watchdog_node)
            nodes = [client.get_node(n) for n in written]
            types = await client.read_attributes(nodes, ua.AttributeIds.DataType)
            self._vtypes, self._missing_nodes = {}, {}
            for nid, dv in zip(written, types):
                if dv.StatusCode is not None and not dv.StatusCode.is_good():
                    self._missing_nodes[nid] = f"node not usable: {dv.StatusCode.name}"
                    log.error("node %s: %s", nid, dv.StatusCode.name)
                    continue
                self._vtypes[nid] = variant_type(dv.Value.Value if dv.Value is not None else None)
            if self.pc.watchdog_node and self.pc.watchdog_node not in self._missing_nodes:
                (hb,) = await client.read_values([client.get_node(self.pc.watchdog_node)])
                self._heartbeat = int(hb) if isinstance(hb, (int, float)) and math.isfinite(hb) else 0
        except BaseException:
            await _quietly(client.disconnect(), self.config.timeout_s)
            raise
        self._client = client
        log.info("connected to %s (%s, %s)", self.config.endpoint, self.config.security_policy,
                 f"user {self.config.username}" if self.config.username else "anonymous")

    async def disconnect(self) -> None:
        """Close the session (quietly: the server may be gone)."""
        client, self._client = self._client, None
        if client is not None:
            await _quietly(client.disconnect(), self.config.timeout_s)

    # ------------------------------------------------------------------ one cycle
    async def run_cycle(self) -> CycleReport:
        """One cycle: read, step, write. Never raises (a cancellation passes through)."""
        self._cycle += 1
        t0 = time.perf_counter()
        report = CycleReport(cycle=self._cycle, time_utc=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                             connected=False, status="disconnected")
        self._poll_mode_file(report)
        report.mode = self.mode
        self._cycle_enabled = self.enabled if self.mode == "ON" else ()
        if self.mode == "OFF":  # commissioning OFF: nothing read, computed or written
            report.status, report.connected = "off", self._client is not None
            return self._done(report, t0)
        if self._client is None:
            try:
                await self.connect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                report.error = f"connect failed: {_describe(exc)}"
                if isinstance(exc, TimeoutError) and self.config.security_policy != "None":
                    report.error += (" (no answer to the secure-channel request: is security.server_certificate the"
                                     " certificate of this server, and does the server trust this client's certificate?)")
                log.warning("%s: %s", self.config.endpoint, report.error)
                return self._done(report, t0)
        report.connected = True
        client = self._client
        try:
            snapshot, numeric, problems = await self._read(client)
            self._last_good.update(numeric)
            report.snapshot, report.read_problems = snapshot, problems
            t1 = time.perf_counter()
            proposal = await self._step(snapshot)
            t2 = time.perf_counter()
            report.proposal, report.status = proposal, proposal.status
            self._judge_engine(proposal, report)
            await self._write(client, proposal, numeric, report)
            t3 = time.perf_counter()
            report.timings_ms = {"read_ms": 1e3 * (t1 - t0), "step_ms": 1e3 * (t2 - t1), "write_ms": 1e3 * (t3 - t2)}
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # connection lost, or the server failed a request: drop the session
            report.error = f"connection lost: {_describe(exc)}"
            log.warning("%s: %s; reconnecting", self.config.endpoint, report.error)
            report.connected = False
            if report.proposal is None:
                report.status = "disconnected"
            await self.disconnect()
        return self._done(report, t0)

    async def _step(self, snapshot: dict[str, Any]) -> Proposal:
        """``Supervisor.step`` in a worker thread; a hold when it raises, has not answered in time,
        or the previous cycle's step is still running."""
        if self._pending is not None and not self._pending.done():
            return _hold(snapshot, "the previous cycle's step has still not answered: no new step started")
        self._pending = None
        wait_s = max(self.config.cycle_s, MIN_STEP_WAIT_S)
        future = asyncio.ensure_future(asyncio.to_thread(self._engine_step or self.supervisor.step, snapshot))
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=wait_s)
        except TimeoutError:
            self._pending = future
            future.add_done_callback(_forget)
            log.error("the step has not answered within %g s: holding", wait_s)
            return _hold(snapshot, f"the step has not answered within {wait_s:g} s")
        except asyncio.CancelledError:
            future.add_done_callback(_forget)
            raise
        except Exception as exc:  # Supervisor.step never raises; should it, the plant link goes on
            log.exception("the step raised")
            return _hold(snapshot, f"the step raised {_describe(exc)}")

    def _judge_engine(self, proposal: Proposal, report: CycleReport) -> None:
        """Count the cycles in a row without a fresh answer (see the module's docstring)."""
        when = _time_of(proposal.timestamp)
        fresh = proposal.status in FRESH_STATUSES and when is not None and (self._last_fresh is None or when > self._last_fresh)
        if fresh:
            self._stuck, self._last_fresh = 0, when
        else:
            self._stuck += 1
        report.stuck_cycles = self._stuck

    def _done(self, report: CycleReport, t0: float) -> CycleReport:
        report.timings_ms["total_ms"] = 1e3 * (time.perf_counter() - t0)
        self._backoff_s = self.config.reconnect_initial_s if report.connected else self._backoff_s
        self.last_report = report
        return report

    # ------------------------------------------------------------------ the loop
    async def run(self, cycles: int | None = None, on_cycle: Callable[[CycleReport], None] | None = None) -> int:
        """Run cycles every ``cycle_s`` (``cycles`` of them, or until cancelled); while
        disconnected, retry after a backoff instead. Returns the number of cycles run; the session
        is closed on the way out (also on cancellation)."""
        n = 0
        loop = asyncio.get_running_loop()
        try:
            while cycles is None or n < cycles:
                start = loop.time()
                report = await self.run_cycle()
                n += 1
                if on_cycle is not None:
                    try:
                        on_cycle(report)
                    except Exception:  # a reporting hook must not stop the plant link
                        log.exception("on_cycle hook failed")
                if cycles is not None and n >= cycles:
                    break
                if report.connected:
                    delay = start + self.config.cycle_s - loop.time()
                    if delay < 0:
                        log.warning("cycle %d overran the cycle time by %.3f s", report.cycle, -delay)
                else:
                    delay = self._backoff_s
                    self._backoff_s = min(2.0 * self._backoff_s, self.config.reconnect_max_s)
                await asyncio.sleep(max(0.0, delay))
        finally:
            await self.disconnect()
        return n


def _time_of(text: object) -> pd.Timestamp | None:
    """A proposal's time (naive, as the engine writes it), or None when it has none."""
    try:
        t = pd.Timestamp(text) if isinstance(text, str) and text else None
    except (ValueError, TypeError):
        return None
    if t is None or pd.isna(t):
        return None
    return t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t


def _hold(snapshot: dict[str, Any], why: str) -> Proposal:
    """This cycle's answer when the engine gave none: hold, nothing to write."""
    return Proposal(timestamp=str(snapshot.get("timestamp", "")), status="fallback_hold", warnings=[why])


def _forget(future: asyncio.Future) -> None:
    """Collect the outcome of a step the adapter stopped waiting for (no 'never retrieved' noise)."""
    if not future.cancelled() and future.exception() is not None:
        log.error("a step the adapter had given up on raised: %s", _describe(future.exception()))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return str(exc)
    text = str(exc) or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"


async def _quietly(awaitable, timeout_s: float) -> None:
    try:
        await asyncio.wait_for(awaitable, timeout=timeout_s)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.debug("ignored while closing the session: %s", _describe(exc))


def build_supervisor(site: Site, models: object, config: AdapterConfig, **overrides: Any) -> Supervisor:
    """The Supervisor the adapter drives: its cycle, time budget and objective from the adapter's
    configuration (so the optimiser's move limits and the write guard's agree)."""
    def now() -> pd.Timestamp:  # the site's local wall clock, naive like the snapshots' times
        return pd.Timestamp.now(tz=config.timezone).tz_localize(None)

    sc = SupervisorConfig(cycle_s=config.cycle_s, time_budget_s=config.time_budget_s, objective=config.objective, clock=now)
    for key, value in overrides.items():
        setattr(sc, key, value)
    return Supervisor(site, models, sc)
