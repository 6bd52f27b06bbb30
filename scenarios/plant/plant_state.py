"""What the plant simulator (:mod:`scenarios.plant.simulator`) computes: the streams entering
and leaving each header (:class:`Stream`, :class:`HeaderBalance`, with its mass and energy
residuals) and the steady state of one step (:class:`PlantState`: tags, balances, notes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

MW_PER_TPH_KJKG = 1.0 / 3600.0


@dataclass
class Stream:
    """A stream entering or leaving a header: t/h at kJ/kg."""

    name: str
    tph: float
    h_kj_kg: float


@dataclass
class HeaderBalance:
    """Everything entering and leaving one header. Outflows leave at the header's enthalpy."""

    header: str
    h_kj_kg: float
    inflows: list[Stream] = field(default_factory=list)
    outflows: list[Stream] = field(default_factory=list)
    energy_deficit_mw: float = 0.0
    shortfall_tph: float = 0.0
    surplus_tph: float = 0.0

    def mass_residual_tph(self) -> float:
        """In - out, t/h; shortfall counts as in (unserved demand) and surplus as out (unresolved)."""
        return sum(s.tph for s in self.inflows) + self.shortfall_tph - sum(s.tph for s in self.outflows) - self.surplus_tph

    def energy_residual_mw(self) -> float:
        e_in = sum(s.tph * s.h_kj_kg for s in self.inflows) + self.shortfall_tph * self.h_kj_kg
        e_out = sum(s.tph * s.h_kj_kg for s in self.outflows) + self.surplus_tph * self.h_kj_kg
        return (e_in - e_out) * MW_PER_TPH_KJKG + self.energy_deficit_mw


@dataclass
class PlantState:
    """The simulated steady state: tags (name -> value, units in the names), header balances,
    and notes on anything the setpoints could not do."""

    timestamp: pd.Timestamp
    tags: dict[str, float]
    headers: dict[str, HeaderBalance]
    notes: list[str]

    def __getitem__(self, tag: str) -> float:
        return self.tags[tag]
