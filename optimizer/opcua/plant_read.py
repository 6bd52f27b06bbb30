"""The adapter's read of the plant: every read node and the timestamp node in one batched
Read, made into the snapshot the Supervisor steps on (a value that is not Good, or stale, left
out; the snapshot time in the site's local time) and the good numeric readings the write guard
judges by.

A part of :class:`~optimizer.opcua.adapter.PlantAdapter`, which holds the state it uses
(``pc``, ``config``, ``_rules``, ``_zone``).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from asyncua import Client


class SnapshotReading:
    """The snapshot read of :class:`~optimizer.opcua.adapter.PlantAdapter` (see the module docstring)."""

    async def _read(self, client: Client) -> tuple[dict[str, Any], dict[str, float], dict[str, str]]:
        """The snapshot (tag -> value, and timestamp), the good numeric readings (Good status,
        finite, inside the tag's physical range), and the problems."""
        tags = list(self.pc.read_nodes)
        ids = [self.pc.read_nodes[t] for t in tags]
        if self.pc.timestamp_node:
            ids.append(self.pc.timestamp_node)
        dvs = await client.read_attributes([client.get_node(n) for n in ids])
        snapshot: dict[str, Any] = {}
        numeric: dict[str, float] = {}
        problems: dict[str, str] = {}
        newest: dt.datetime | None = None
        good: list[tuple[str, Any, dt.datetime | None]] = []
        for tag, dv in zip(tags, dvs):
            status = dv.StatusCode
            if status is not None and not status.is_good():
                problems[tag] = f"status {status.name}"
                continue
            stamp = _utc(dv.SourceTimestamp or dv.ServerTimestamp)
            if stamp is not None and (newest is None or stamp > newest):
                newest = stamp
            good.append((tag, dv.Value.Value if dv.Value is not None else None, stamp))
        ts_text = None
        if self.pc.timestamp_node:
            dv = dvs[-1]
            value = dv.Value.Value if dv.Value is not None else None
            if dv.StatusCode is not None and not dv.StatusCode.is_good():
                problems["timestamp"] = f"status {dv.StatusCode.name}; using the newest source timestamp"
            elif isinstance(value, dt.datetime):
                ts_text = self._local(_utc(value))
                newest = _utc(value)
            elif isinstance(value, str) and value:
                ts_text = value
            else:
                problems["timestamp"] = f"not a time: {value!r}; using the newest source timestamp"
        if ts_text is None and newest is not None:
            ts_text = self._local(newest)
        if ts_text is not None:
            snapshot["timestamp"] = ts_text
        stale = self.config.tag_stale_after_s
        for tag, value, stamp in good:
            if stale > 0 and stamp is not None and newest is not None and (newest - stamp).total_seconds() > stale:
                problems[tag] = f"stale: source time {stamp.isoformat()} is {(newest - stamp).total_seconds():.0f} s older than the snapshot"
                continue
            if isinstance(value, bool):
                value = float(value)
            if isinstance(value, (int, float)):
                snapshot[tag] = float(value)
                rule = self._rules.get(tag)
                # the write guard's readings: finite and inside the tag's physical range (as the
                # Supervisor's validation has it: outside, it substitutes the value or holds the unit)
                if math.isfinite(value) and (rule is None or rule.lower <= value <= rule.upper):
                    numeric[tag] = float(value)
            else:  # passed on as text: the Supervisor substitutes it and reports the wrong type
                snapshot[tag] = None if value is None else str(value)
        return snapshot, numeric, problems


    def _local(self, t: dt.datetime) -> str:
        return t.astimezone(self._zone).replace(tzinfo=None).isoformat()


def _utc(t: object) -> dt.datetime | None:
    """An OPC UA DateTime (UTC; naive means UTC) as an aware datetime."""
    if not isinstance(t, dt.datetime):
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


