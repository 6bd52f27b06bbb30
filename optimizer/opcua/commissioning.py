"""The adapter's commissioning modes (``OFF``, ``WARM``, ``ON``; :mod:`optimizer.opcua.adapter`):
switching them at run time (:meth:`CommissioningModes.set_mode`, each switch checked, logged and
kept) and taking switches from a small TOML mode file read at the start of every cycle.

A part of :class:`~optimizer.opcua.adapter.PlantAdapter`, which holds the state it uses
(``mode``, ``enabled``, ``mode_switches``, ``config``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path

from optimizer.opcua.report import CycleReport
from optimizer.site.schema import read_toml_file

# the adapter's logger: these records keep the name they have always had
log = logging.getLogger("optimizer.opcua.adapter")

#: Commissioning modes (module docstring): off, advisory, closed loop for the enabled setpoints.
COMMISSIONING_MODES = ("OFF", "WARM", "ON")


class CommissioningModes:
    """The commissioning switch of :class:`~optimizer.opcua.adapter.PlantAdapter` (see the module docstring)."""

    def watch_mode_file(self, path: str | Path) -> None:
        """Take commissioning switches from a small TOML file, read at the start of every cycle
        when it has changed: ``mode = "OFF" | "WARM" | "ON"``, optional ``enabled = [...]`` (ON) and
        ``reason = "..."``. A file that cannot be read or asks for a switch :meth:`set_mode`
        refuses leaves the mode as it is; the cycle's report says why."""
        self._mode_file, self._mode_file_seen = Path(path), None

    def _poll_mode_file(self, report: CycleReport) -> None:
        path = getattr(self, "_mode_file", None)
        if path is None:
            return
        try:
            stamp = path.stat().st_mtime_ns
        except OSError as exc:
            report.error = f"mode file {path}: cannot be read ({exc.strerror}); mode stays {self.mode}"
            return
        if stamp == self._mode_file_seen:
            return
        self._mode_file_seen = stamp
        try:
            data = read_toml_file(path, 10_000, "mode")
            unknown = sorted(set(data) - {"mode", "enabled", "reason"})
            if unknown:
                raise ValueError(f"{path}: {', '.join(unknown)}: unknown key(s) (allowed: mode, enabled, reason)")
            enabled = data.get("enabled")
            if enabled is not None and not (isinstance(enabled, list) and all(isinstance(n, str) for n in enabled)):
                raise ValueError(f"{path}: enabled = {enabled!r}: must be a list of setpoint names")
            if data.get("mode") == self.mode and (enabled is None or tuple(enabled) == self.enabled):
                return  # already in force
            self.set_mode(str(data.get("mode")), enabled, str(data.get("reason", f"mode file {path}")))
        except ValueError as exc:
            report.error = f"mode switch refused: {exc}; mode stays {self.mode}"
            log.error("%s", report.error)

    def set_mode(self, mode: str, enabled: Sequence[str] | None = None, reason: str = "") -> None:
        """Switch to ``OFF``, ``WARM`` or ``ON`` from the next cycle on (a cycle already running
        writes only what both its start's mode and the new one enable); ``enabled``: the setpoints
        ON writes (default: the whole allow list). ``ValueError`` naming the field, value and rule
        for an unknown mode, ON without closed loop in the configuration, or a setpoint outside the
        allow list; a refused switch changes nothing."""
        if mode not in COMMISSIONING_MODES:
            raise ValueError(f"mode = {mode!r}: must be one of {', '.join(COMMISSIONING_MODES)}")
        chosen: tuple[str, ...] = ()
        if mode == "ON":
            if not self.config.closed_loop:
                raise ValueError(f"mode = 'ON': the adapter configuration ({self.config.source}) is advisory; closed loop needs "
                                 "mode = \"closed_loop\" and a write_allow_list there")
            chosen = tuple(self.config.write_allow_list if enabled is None else enabled)
            outside = [n for n in chosen if n not in self.config.write_allow_list]
            if outside or not chosen:
                raise ValueError(f"enabled = {list(chosen)!r}: must be a non-empty subset of the configuration's write_allow_list "
                                 f"{list(self.config.write_allow_list)!r}")
        switch = {"time_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "from": self.mode, "to": mode,
                  "enabled": list(chosen), "reason": reason}
        self.mode, self.enabled = mode, chosen
        self.mode_switches.append(switch)
        log.warning("commissioning mode %s -> %s%s%s", switch["from"], mode, f" (writes {', '.join(chosen)})" if chosen else "",
                    f": {reason}" if reason else "")
