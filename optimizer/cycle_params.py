"""The cycle's data written into the model (part of :class:`optimizer.supervisor.Supervisor`).

The site's static Params once; each cycle, the units' on/off history (minutes in state), the
cycle's data (:class:`optimizer.cycle.CycleData`) and its parameter value vectors
(:attr:`HighsDirect.params` order) for the optimisation, the current point (boxes pinned) and the
local fallback: fixed data, boxes, the learned curves' breakpoints, the two-decision networks'
Params; the positions of those Params, cached; the Pyomo Params set to a vector. The methods are
:class:`ParamsMixin`'s, which Supervisor inherits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from optimizer.cycle import CycleData
from optimizer.duct import duct_box
from optimizer.ectg import ectg_box, ectg_values
from optimizer.formulation import sos2_bits
from optimizer.snapshot import ValidatedSnapshot


class ParamsMixin:
    """Supervisor's cycle data: state memory, building the data and writing it as Param values."""

    def _set_static_params(self) -> None:
        m, site = self._model, self.site
        m.carbon_price.set_value(site.emissions.carbon_price_per_t)
        e = site.electricity
        m.import_hi.set_value(e.max_import_mw if e else 0.0)
        m.export_hi.set_value(e.max_export_mw if e else 0.0)
        for b in m.B:
            bo = site.boilers[b]
            if bo.efficiency is not None:
                m.b_fuel_per_tph[b].set_value((self.props.header_enthalpy_kj_kg[bo.header] - self.props.boiler_feedwater_kj_kg[b]) / 1000.0 / bo.efficiency)

    def minutes_seen(self, unit: str, on_now: bool, ts: pd.Timestamp) -> float:
        """Minutes since this engine saw ``unit``'s on/off state change: 0 if it changes now (the
        reading says ``on_now``, the last cycle's said otherwise), inf if no change was seen."""
        seen = self._seen_state.get(unit)
        if seen is None:
            return math.inf
        on, since = seen
        if on != on_now:
            return 0.0
        return math.inf if since is None else max(0.0, (ts - since).total_seconds() / 60.0)

    def _note_states(self, states: Mapping[str, bool], ts: pd.Timestamp) -> None:
        for unit, on in states.items():
            seen = self._seen_state.get(unit)
            if seen is None:
                self._seen_state[unit] = (on, None)
            elif seen[0] != on:
                self._seen_state[unit] = (on, ts)

    def _cycle_data(self, snap: ValidatedSnapshot) -> "CycleData":
        self._cycle_count += 1
        return CycleData.build(self, snap)

    def _write(self, c: "CycleData", pinned: bool, local: bool = False) -> np.ndarray:
        """The cycle as a parameter value vector (:attr:`HighsDirect.params` order): the fixed
        data (kept in the base vector from one call to the next), the boxes (``pinned``: collapsed
        to the current point; ``local``: the fallback's) and the learned curves' breakpoints, the
        weights beyond each curve's points bounded to 0 and the segment bits it does not need."""
        pos = self._key_pos
        if c is not self._fixed_written:  # the cycle's fixed data, once per cycle
            base = self._base
            for key, value in c.fixed.items():
                j = pos.get(key)
                base[self._position(key) if j is None else j] = value
            self._fixed_written = c
        # every position and value collected in plain lists, then one scatter: a handful of numpy
        # calls instead of several per curve group (each costs microseconds with cold caches)
        idx, val = [], []
        for key, value in (c.pinned if pinned else (c.local if local else c.box)).items():
            j = pos.get(key)
            idx.append(self._position(key) if j is None else j)
            val.append(value)
        groups = c.curves_pinned if pinned else (c.local_curves(self) if local else c.curves)
        if self._curve_pos is None:
            self._curve_pos = self._curve_positions()
        for g, (xs, ys) in groups.items():
            n = len(xs)
            cx, cy, lam, z = self._curve_pos[g]
            # breakpoints only for the weights in use: a weight bounded to 0 contributes nothing
            # whatever its coefficients
            idx += cx[:n]
            val += xs.tolist()
            for name, y in ys.items():
                idx += cy[name][:n]
                val += y.tolist()
            idx += lam
            val += [1.0] * n + [0.0] * (len(lam) - n)
            if z:  # the binaries this cycle's segments need; the rest held at 0
                need = sos2_bits(n - 1)
                idx += z
                val += [1.0] * need + [0.0] * (len(z) - need)
        # the two-decision networks (TG3's inlet, the learned ducts): their Params for this variant's box
        variant = c.pinned if pinned else (c.local if local else c.box)
        if self._network_pos is None:
            self._network_pos = {key: [self._solver.param_position(p) for p in emb.param_data] for key, emb in self._networks()}
        boxes = [(("ectg", t), ectg_box(variant[("t_lo", t)], variant[("t_hi", t)], variant[("x_lo", (t, 0))], variant[("x_hi", (t, 0))]))
                 for t in self.ectg]
        boxes += [(("duct", g), duct_box(self.site, g, variant[("g_lo", g)], variant[("g_hi", g)])) for g in self.ducts]
        embeddings = dict(self._networks())
        for key, (lo, hi) in boxes:
            idx += self._network_pos[key]
            val += ectg_values(embeddings[key], lo, hi).tolist()
        values = self._base.copy()
        values[idx] = val
        return values

    def _networks(self) -> list[tuple[tuple[str, str], object]]:
        """((kind, unit), embedding) of every two-decision network in the model."""
        m = self._model
        return ([(("ectg", t), m.ectg_embeddings[t]) for t in self.ectg]
                + [(("duct", g), m.duct_embeddings[g]) for g in self.ducts])

    def _position(self, key: tuple) -> int:
        """Position of the Param ``key = (component, index)`` in a value vector (cached)."""
        j = self._key_pos[key] = self._solver.param_position(getattr(self._model, key[0])[key[1]])
        return j

    def _curve_positions(self) -> dict:
        """Per curve group: positions (lists) of its breakpoints cx, each member's values cy, the
        weights' bounds lam_hi and the segment bits' bounds z_hi (empty without bits)."""
        st = self._model.st
        out = {}
        for g, grp in st.groups.items():
            k = range(grp.max_points)
            cx = [self._position(("cx", (g, i))) for i in k]
            cy = {n: [self._position(("cy", (n, i))) for i in k] for n in grp.members}
            lam = [self._position(("lam_hi", (g, i))) for i in k]
            z = [self._position(("z_hi", (g, b))) for b in range(st.bits[g])] if g in st.bits else []
            out[g] = (cx, cy, lam, z)
        return out

    def _sync(self, values: np.ndarray) -> None:
        """Set the Pyomo Params to ``values`` (only those that differ from what they hold). The
        values were validated when the cycle data was built, so they are stored directly
        (Pyomo's set_value re-validates the index and domain at about 3 us a call)."""
        params = self._solver.params
        for j in np.flatnonzero(values != self._synced).tolist():
            params[j]._value = float(values[j])  # noqa: SLF001
        self._synced = values
