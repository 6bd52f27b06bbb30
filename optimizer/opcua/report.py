"""What one cycle of the OPC UA adapter did: :class:`CycleReport` and its :class:`WriteDecision` s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from optimizer.proposal import Proposal


@dataclass
class WriteDecision:
    """One closed-loop setpoint in one cycle: written, or refused and why."""

    setpoint: str
    node: str
    value: float | None
    written: bool
    reason: str = ""


@dataclass
class CycleReport:
    """What one cycle did. ``status`` is the proposal's, ``disconnected`` when nothing was read, or
    ``off`` in commissioning mode OFF; ``mode`` the commissioning mode of the cycle."""

    cycle: int
    time_utc: str
    connected: bool
    status: str
    snapshot: dict[str, Any] = field(default_factory=dict)
    read_problems: dict[str, str] = field(default_factory=dict)
    proposal: Proposal | None = None
    advisory: dict[str, Any] = field(default_factory=dict)          # item -> value written
    advisory_failed: dict[str, str] = field(default_factory=dict)   # item -> reason
    writes: list[WriteDecision] = field(default_factory=list)
    watchdog: int | None = None                                     # the counter written this cycle (None: not written)
    mode: str = ""                                                  # OFF | WARM | ON
    stuck_cycles: int = 0                                           # cycles in a row without a fresh answer from the engine
    error: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def written(self) -> dict[str, float]:
        return {w.setpoint: w.value for w in self.writes if w.written}

    @property
    def refused(self) -> dict[str, str]:
        return {w.setpoint: w.reason for w in self.writes if not w.written}

    def summary(self) -> str:
        """One line for a console or a log."""
        if self.status == "off":
            return f"cycle {self.cycle} {self.time_utc}: commissioning mode OFF: nothing read, computed or written"
        if not self.connected:
            return f"cycle {self.cycle} {self.time_utc}: not connected: {self.error}"
        p = self.proposal
        saving = p.savings.get("cost_per_h") if p is not None else None
        text = (f"cycle {self.cycle} {self.time_utc}: {self.status}; read {len(self.snapshot) - 1} tags"
                f" ({len(self.read_problems)} bad); advisory {len(self.advisory)} items")
        if saving is not None:
            text += f"; saving {saving:.1f}/h"
        if self.writes:
            text += f"; wrote {len(self.written)}, refused {len(self.refused)}"
        if self.watchdog is not None:
            text += f"; watchdog {self.watchdog}"
        return text + (f"; {self.error}" if self.error else "")
