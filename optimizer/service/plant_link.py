"""The service's plant link: the OPC UA adapter driven by the service's engine and mode.

With an adapter configuration (``opcua_config`` in the service configuration, or ``steamopt serve
--opcua FILE``), the service runs the OPC UA adapter's loop beside its HTTP routes, in the same
process and on the same engine:

* every adapter cycle reads the plant, steps the engine **through the service** (the same lock as
  ``POST /api/step``, and its proposal becomes the latest one the page and ``/api/proposal/latest``
  show), publishes the advisory nodes and, in ON, writes the enabled setpoints the write guard
  passes (:mod:`optimizer.opcua.adapter`);
* the commissioning mode is one: ``PUT /api/mode`` switches the adapter first and the service only
  when the adapter took the switch, so the page never shows a mode the plant link is not in. The
  adapter's configuration grants what may ever be written (``mode = "closed_loop"`` and its
  ``write_allow_list``); the service's switch chooses what is written now (a subset of it). A
  switch the configuration does not allow is refused (HTTP 422) and changes nothing.

The service's cycle must be the adapter's (``cycle_s``): the engine's move limits and the write
guard's are computed for one cycle length, so a mismatch is refused at start.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the opcua extra is imported only when a plant link is configured
    from optimizer.opcua.adapter import PlantAdapter
    from optimizer.opcua.config import AdapterConfig
    from optimizer.opcua.report import CycleReport
    from optimizer.service.state import ServiceState

log = logging.getLogger(__name__)

#: how often the link checks whether the engine is built, s
_READY_POLL_S = 0.2


class PlantLinkError(ValueError):
    """A plant link that cannot run with this service: names the setting, the value and the rule."""


def load_link_config(path: str | Path, service_cycle_s: float, service_mode: str, closed_loop_setpoints: tuple[str, ...]) -> AdapterConfig:
    """Read the adapter configuration and check it against the service's settings: the same cycle,
    and a starting mode ON only when the adapter is configured for closed loop with every
    enabled setpoint in its ``write_allow_list``. Raises :class:`PlantLinkError` (or the
    configuration's own ``ConfigError``), both ``ValueError``."""
    from optimizer.opcua.config import load_adapter_config

    config = load_adapter_config(path)
    if abs(config.cycle_s - service_cycle_s) > 1e-9:
        raise PlantLinkError(f"{config.source}: cycle.cycle_s = {config.cycle_s:g} s differs from the service's cycle_s = "
                             f"{service_cycle_s:g} s: they must be equal (the engine's move limits and the write guard's are per cycle)")
    if service_mode == "ON":
        _check_on(config, closed_loop_setpoints)
    return config


def _check_on(config: AdapterConfig, enabled: tuple[str, ...] | list[str]) -> None:
    if not config.closed_loop:
        raise PlantLinkError(f"mode = 'ON': the plant link's adapter configuration ({config.source}) is advisory; "
                             "closed loop needs mode = \"closed_loop\" and a write_allow_list there")
    outside = [n for n in enabled if n not in config.write_allow_list]
    if outside:
        raise PlantLinkError(f"closed_loop_setpoints: {', '.join(outside)}: not in the adapter configuration's write_allow_list "
                             f"{list(config.write_allow_list)!r} ({config.source})")


class PlantLink:
    """The adapter loop of one service. Built with the service; the adapter itself is made when
    the engine is ready (:meth:`run`)."""

    def __init__(self, state: ServiceState, config: AdapterConfig):
        self.state, self.config = state, config
        self.adapter: PlantAdapter | None = None
        self.last: dict[str, Any] | None = None  # the last cycle's report, as shown by the status
        self.cycles = 0

    # ---------------------------------------------------------------- mode
    def switch(self, mode: str, enabled: tuple[str, ...], reason: str) -> None:
        """Switch the adapter (before the service switches itself). ``ValueError`` naming the
        field, the value and the rule when the adapter's configuration does not allow it."""
        if mode == "ON":
            _check_on(self.config, enabled)
        if self.adapter is not None:
            self.adapter.set_mode(mode, list(enabled) if mode == "ON" else None, reason)

    # ---------------------------------------------------------------- the loop
    async def run(self) -> None:
        """Wait for the engine, make the adapter in the service's mode, and run its cycles until
        cancelled. Never raises except on cancellation (an engine that could not be built stops
        the link, said in the log and the status)."""
        from optimizer.opcua.adapter import PlantAdapter

        state = self.state
        while not state.ready:
            if state.engine_error is not None:
                self.last = {"status": "no engine", "error": state.engine_error}
                log.error("plant link not started: the engine could not be built")
                return
            await asyncio.sleep(_READY_POLL_S)
        with state.mode_lock():  # no switch between reading the mode and handing it to the adapter
            adapter = PlantAdapter(state.supervisor.site, state.supervisor, self.config, step=state.step_proposal)
            adapter.set_mode(state.mode, list(state.closed_loop_setpoints) if state.mode == "ON" else None, "the service's mode at start")
            self.adapter = adapter
        log.info("plant link to %s running (%s, cycle %g s)", self.config.endpoint, state.mode, self.config.cycle_s)
        await adapter.run(on_cycle=self._record)

    def _record(self, report: CycleReport) -> None:
        self.cycles += 1
        self.last = {"cycle": report.cycle, "time_utc": report.time_utc, "mode": report.mode, "status": report.status,
                     "connected": report.connected, "written": report.written, "refused": report.refused,
                     "watchdog": report.watchdog, "read_problems": len(report.read_problems), "error": report.error}
        log.info("plant link: %s", report.summary())

    def view(self) -> dict[str, Any]:
        """What the status shows of the link: where, how it is configured, its last cycle."""
        return {"endpoint": self.config.endpoint, "configured_mode": self.config.mode,
                "write_allow_list": list(self.config.write_allow_list), "cycle_s": self.config.cycle_s,
                "cycles": self.cycles, "last": self.last}
