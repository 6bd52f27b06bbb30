"""The adapter's writes to the plant: (a) the advisory items and the watchdog in one batched
Write, the watchdog withheld while the engine is stuck; (b) in closed loop, only after this
cycle's watchdog write succeeded, each enabled setpoint that passes the write guard
(:mod:`optimizer.opcua.limits`), in a second one. Every decision is logged and reported; no
node outside the permitted set is ever written.

A part of :class:`~optimizer.opcua.adapter.PlantAdapter`, which holds the state it uses
(``pc``, ``config``, ``site``, ``supervisor``, the node types, the heartbeat, the last good readings).
"""

from __future__ import annotations

import logging
from typing import Any

from asyncua import Client, ua

from optimizer.opcua.advisory import advisory_value
from optimizer.opcua.connection import WriteBatch, next_heartbeat
from optimizer.opcua.limits import check_write, proposal_mismatch, setpoint_limit
from optimizer.opcua.report import CycleReport, WriteDecision
from optimizer.proposal import Proposal

# the adapter's logger: these records keep the name they have always had
log = logging.getLogger("optimizer.opcua.adapter")

WRITE_STATUSES = ("optimal", "time_limited")


class SetpointWriting:
    """The writes of :class:`~optimizer.opcua.adapter.PlantAdapter` (see the module docstring)."""

    async def _write(self, client: Client, proposal: Proposal, numeric: dict[str, float], report: CycleReport) -> None:
        """(a) advisory items and the watchdog in one batched Write; (b) in closed loop, only after
        this cycle's watchdog write succeeded, the guarded setpoints in a second one."""
        batch = WriteBatch(self._missing_nodes, self._vtypes)
        for item, nid in self.pc.advisory_nodes.items():
            reason = batch.queue("advisory", item, nid, advisory_value(item, proposal))
            if reason:
                report.advisory_failed[item] = reason
        beat_ok = False
        if self.pc.watchdog_node:
            limit = self.config.watchdog_stuck_cycles
            if self._stuck >= limit:
                report.error = (f"watchdog stopped: the engine has given no fresh answer for {self._stuck} cycles in a row"
                                f" (watchdog_stuck_cycles = {limit}; this cycle: {proposal.status})")
                log.error("%s", report.error)
            else:
                beat = next_heartbeat(self._heartbeat, self._vtypes.get(self.pc.watchdog_node))
                reason = batch.queue("watchdog", "watchdog", self.pc.watchdog_node, beat)
                if reason:
                    report.error = f"watchdog not written: {reason}"
        for (kind, key, value), nid, status in await self._send(client, batch):
            ok = status.is_good()
            if kind == "advisory":
                if ok:
                    report.advisory[key] = value
                else:
                    report.advisory_failed[key] = f"server refused the write: {status.name}"
            elif ok:
                self._heartbeat = report.watchdog = int(value)
                beat_ok = True
            else:
                report.error = f"watchdog not written: server refused the write: {status.name}"
                log.error("%s", report.error)
        # closed loop writes what was enabled both when the cycle began and now: a switch made
        # while the cycle runs never widens what it writes (WARM or fewer setpoints: at once)
        enabled = [n for n in self._cycle_enabled if self.mode == "ON" and n in self.enabled]
        if not enabled:  # WARM: advisory only
            return
        held = set(proposal.held_units)
        wrong_picture = self._wrong_picture(proposal, numeric)
        batch = WriteBatch(self._missing_nodes, self._vtypes)
        for name in enabled:
            nid = self.pc.control_nodes[name]
            value = proposal.setpoints.get(name)
            if not beat_ok:
                reason = f"the watchdog was not written this cycle ({report.error or 'no watchdog'}): no setpoint is written"
            elif wrong_picture and proposal.status in WRITE_STATUSES:
                reason = wrong_picture
            else:
                reason = self._refusal(name, value, proposal, numeric, held)
            if reason is None:
                reason = batch.queue("control", name, nid, value)
            if reason is not None:
                report.writes.append(WriteDecision(name, nid, value, False, reason))
                log.warning("closed loop: %s = %r NOT written to %s: %s", name, value, nid, reason)
        for (_, key, value), nid, status in await self._send(client, batch):
            ok = status.is_good()
            reason = "" if ok else f"server refused the write: {status.name}"
            report.writes.append(WriteDecision(key, nid, float(value), ok, reason))
            (log.info if ok else log.warning)("closed loop: %s = %.6g %s %s%s", key, value, "written to" if ok else "NOT written to",
                                              nid, f": {reason}" if reason else "")

    async def _send(self, client: Client, batch: WriteBatch) -> list[tuple[tuple[str, str, Any], str, ua.StatusCode]]:
        """One batched Write of ``batch``: (what, node, status) per item."""
        outside = [n for n in batch.node_ids if n not in self._writable]
        if outside:  # cannot happen by construction; a guard against future edits
            raise RuntimeError(f"refusing to write nodes outside the permitted set: {outside}")
        if not batch.node_ids:
            return []
        results = await client.write_values([client.get_node(n) for n in batch.node_ids], batch.variants, raise_on_partial_error=False)
        return list(zip(batch.what, batch.node_ids, results))

    def _wrong_picture(self, proposal: Proposal, numeric: dict[str, float]) -> str | None:
        """Why no setpoint at all may be written from ``proposal`` (see
        :func:`~optimizer.opcua.limits.proposal_mismatch`), or None."""
        return proposal_mismatch(proposal.setpoints, self._unit_tags, numeric, self._last_good)

    def _refusal(self, name: str, value: Any, proposal: Proposal, numeric: dict[str, float], held: set[str]) -> str | None:
        if proposal.status not in WRITE_STATUSES:
            return f"status {proposal.status}: only {' or '.join(WRITE_STATUSES)} proposals are written"
        if value is None:
            return "not in the proposal"
        limit = setpoint_limit(self.site, name, numeric, self.supervisor.config.extraction_ramp_tph_per_min,
                               read_tags=self._read_tags, rules=self._rules)
        if limit is None:
            return "no equipment limits known for this setpoint"
        return check_write(limit, value, numeric, self.config.cycle_s, held, start_stop=name in self.config.start_stop_allow_list)
