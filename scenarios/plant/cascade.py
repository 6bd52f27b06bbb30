"""The plant simulator's pressure-control cascade (:mod:`scenarios.plant.simulator`): the
letdowns, vents and master-boiler trim that close each header's mass balance, the headers'
desuperheater spray, the feedwater and the deaerator's heating steam.

A part of :class:`~scenarios.plant.simulator.PlantSimulator`, which holds what it uses (the
site, its properties, the unit curves and the headers' letdowns and vents).
"""

from __future__ import annotations

from optimizer.steam import header_spray_or_deficit
from scenarios.plant.plant_state import Stream


class HeaderCascade:
    """The cascade of :class:`~scenarios.plant.simulator.PlantSimulator` (see the module docstring)."""

    def _set_spray(self, bal, exhaust_excess: dict[str, float], mixing_lds: dict[str, tuple[str, float]],
                   ld_in: dict[str, float]) -> dict[str, float]:
        """Each header's spray water (t/h, as its ``{H}.spray`` inflow) and energy deficit (MW) from
        the exhausts' excess and the undesuperheated letdowns' at flows ``ld_in``; replaces the
        previous iteration's. Returns header -> spray t/h."""
        excess = dict(exhaust_excess)
        for lid, (outlet, drop) in mixing_lds.items():
            excess[outlet] += ld_in.get(lid, 0.0) * drop
        spray = {}
        for hid, e in excess.items():
            h_w = self.props.header_spray_water_kj_kg[hid]
            spray[hid], bal[hid].energy_deficit_mw = header_spray_or_deficit(e, self.props.header_enthalpy_kj_kg[hid], h_w)
            bal[hid].inflows = [x for x in bal[hid].inflows if x.name != f"{hid}.spray"]
            if spray[hid] > 0:
                bal[hid].inflows.append(Stream(f"{hid}.spray", spray[hid], h_w))
        return spray

    def _cascade(self, bal, setpoints, boiler_on, master, da_steam):
        """Letdowns, vents and boiler trim that close each header (see the module docstring)."""
        site, props = self.site, self.props
        boiler = {b: (min(max(setpoints.boiler_steam_tph.get(b, 0.0), self.boilers[b].boiler.min_steam_tph), self.boilers[b].boiler.max_steam_tph) if boiler_on[b] else 0.0) for b in self.boilers}
        ld_in = {l: 0.0 for l in site.letdowns}
        vent = {v: 0.0 for v in site.vents}
        short = {h: 0.0 for h in site.headers}
        surplus = {h: 0.0 for h in site.headers}
        da_h = props.deaerator_steam_header
        ratio = props.letdown_water_ratio

        def net(h: str) -> float:
            b = bal[h]
            value = sum(s.tph for s in b.inflows) - sum(s.tph for s in b.outflows)
            value += sum(t for bid, t in boiler.items() if self.boilers[bid].boiler.header == h)
            value += sum(ld_in[ld.id] * (1.0 + ratio[ld.id]) for ld in self._letdowns_into[h])
            value -= sum(ld_in[ld.id] for ld in self._letdowns_out[h])
            value -= sum(vent[v.id] for v in self._vents[h])
            return value - (da_steam if h == da_h else 0.0)

        def trim(h: str, delta: float) -> float:
            """Move the master boilers of header h by delta t/h in total (equal shares); returns the rest."""
            units = [b for b in master if self.boilers[b].boiler.header == h]
            while units and abs(delta) > 1e-12:
                share = delta / len(units)
                nxt = []
                for b in units:
                    bo = self.boilers[b].boiler
                    new = min(max(boiler[b] + share, bo.min_steam_tph), bo.max_steam_tph)
                    delta -= new - boiler[b]
                    boiler[b] = new
                    if bo.min_steam_tph < new < bo.max_steam_tph:
                        nxt.append(b)
                units = nxt
            return delta

        # bottom-up: deficits drawn from letdowns, then master boilers
        for h in self._ascending:
            deficit = -net(h)
            if deficit <= 0:
                continue
            for ld in self._letdowns_into[h]:
                add = min(deficit / (1.0 + ratio[ld.id]), ld.max_flow_tph - ld_in[ld.id])
                if add > 0:
                    ld_in[ld.id] += add
                    deficit -= add * (1.0 + ratio[ld.id])
            trim(h, deficit)
        # top-down: surplus backs boilers off, vents, then passes down the letdowns
        for h in reversed(self._ascending):
            excess = net(h)
            if excess > 0:
                excess = -trim(h, -excess)
                for v in self._vents[h]:
                    add = min(excess, v.max_flow_tph - vent[v.id])
                    vent[v.id] += add
                    excess -= add
                for ld in self._letdowns_out[h]:
                    add = min(excess, ld.max_flow_tph - ld_in[ld.id])
                    if add > 0:
                        ld_in[ld.id] += add
                        excess -= add
            residual = net(h)
            if residual > 1e-12:
                surplus[h] = residual
            elif residual < -1e-12:
                short[h] = -residual
        return boiler, ld_in, vent, short, surplus

    def _feedwater(self, bal, boiler_tph, ld_in, spray) -> float:
        raised = sum(s.tph for b in bal.values() for s in b.inflows if s.name.endswith(".hrsg") or s.name in self.site.byproduct_sources)
        return sum(boiler_tph.values()) + raised + sum(ld_in[l] * self.props.letdown_water_ratio[l] for l in ld_in) + sum(spray.values())

    def _deaerator_steam(self, feedwater: float, returned: float, condensate: float) -> float:
        """Deaerator heating steam from its mass and energy balance (make-up is the free flow).

        .. math:: S = \\frac{F (h_{fw} - h_m) - R (h_r - h_m) - C (h_c - h_m)}{h_s - h_m}
        """
        p = self.props
        if not p.has_deaerator:
            return 0.0
        h_m, h_s = p.makeup_kj_kg, p.header_enthalpy_kj_kg[p.deaerator_steam_header]
        h_c = next(iter(p.condensate_kj_kg.values()), h_m)
        if len(set(p.condensate_kj_kg.values())) > 1:
            raise NotImplementedError("condensers at different pressures")  # pragma: no cover
        s = (feedwater * (p.deaerator_feedwater_kj_kg - h_m) - returned * (p.condensate_return_kj_kg - h_m) - condensate * (h_c - h_m)) / (h_s - h_m)
        return max(0.0, s)
