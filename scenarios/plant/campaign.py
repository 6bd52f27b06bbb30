"""An identification campaign: the plant test that produces data worth learning from.

Under today's practice the gas turbines sit at base load and the boilers share load equally,
so a historian never shows the part-load curves a surrogate must learn. A campaign moves the
setpoints the way a plant step-test does: piecewise-constant holds of random length, each
setpoint drawn inside its unit's limits, and offline compressor washes every few weeks so the
data spans the fouling range. Deterministic with a seed.

Boilers stay on the pressure master (balances close), each with its own random bias, and some
are taken off line for a hold, so the loads of the others spread over the operating range
while the header is held.

Extraction-condensing generators (:func:`optimizer.site.model.extraction_condensing_generators`)
have a campaign of their own: held off in the site's campaign (so that adding one to a site
changes no other unit's data, and so no bundled model), and stepped only when named in
``CampaignConfig.step_units``, on their own random stream: the extraction drawn over its range,
then the power drawn over what the operating diagram allows at that extraction (the exhaust
section between its minimum and maximum flow, the inlet below its maximum), so that the data
cover the whole diagram.

Learned duct firing (:func:`optimizer.site.model.learned_ducts`) likewise: a gas turbine named in
``step_units`` has its power and its duct steam drawn on a stream of their own (the power over
[minimum, base], or base load, every hold, the burner lit in every hold, its steam over [minimum, maximum], held at
its ends in some holds), so that
the (power, duct fuel) pairs cover the burner's range at every load; named or not, the site's
campaign draws every other unit as before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from optimizer.site.model import Site, extraction_condensing_generators, learned_ducts
from optimizer.site.properties import compute_properties
from scenarios.plant.column import ColumnCurve
from scenarios.plant.curves import TurbineCurve
from scenarios.plant.inputs import Disturbances, Setpoints


def _holds(rng: np.random.Generator, hours: np.ndarray, config: "CampaignConfig", draw) -> np.ndarray:
    """A piecewise-constant series on ``rng``: a new draw at the start of each random-length hold."""
    out = np.empty(len(hours))
    t_next, value = -1.0, None
    for k, h in enumerate(hours):
        if h >= t_next:
            value = draw()
            t_next = h + rng.uniform(config.hold_min_h, config.hold_max_h)
        out[k] = value
    return out


@dataclass(frozen=True)
class CampaignConfig:
    """Hold lengths (h), wash intervals (days), and how often units take their alternatives."""

    seed: int = 0
    hold_min_h: float = 1.0
    hold_max_h: float = 6.0
    wash_min_days: float = 20.0
    wash_max_days: float = 80.0
    gt_base_load_share: float = 0.25
    duct_off_share: float = 0.2
    motor_share: float = 0.2
    boiler_off_share: float = 0.3
    min_boilers_on: int = 2
    #: extraction-condensing generators stepped (the others of their kind are held off), and gas
    #: turbines whose learned duct firing is stepped
    step_units: tuple[str, ...] = ()


class IdentificationCampaign:
    """A policy (``site, disturbances -> Setpoints``) with its schedule fixed for given timestamps."""

    def __init__(self, site: Site, timestamps: list[pd.Timestamp], config: CampaignConfig | None = None):
        self.site = site
        self.config = config or CampaignConfig()
        rng = np.random.default_rng(self.config.seed)
        self._index = {pd.Timestamp(t): k for k, t in enumerate(timestamps)}
        hours = np.array([(pd.Timestamp(t) - pd.Timestamp(timestamps[0])).total_seconds() / 3600.0 for t in timestamps])
        n = len(timestamps)
        s = site
        sched: dict[str, np.ndarray] = {}
        ectg = set(extraction_condensing_generators(site))
        ducts = set(learned_ducts(site))
        unknown = [u for u in self.config.step_units if u not in ectg | ducts]
        if unknown:
            raise ValueError(f"CampaignConfig.step_units = {list(self.config.step_units)}: {unknown} are not extraction-condensing "
                             f"generators (those are {sorted(ectg)}) nor gas turbines with learned duct firing "
                             f"(those are {sorted(ducts)}) of site {site.name}")

        def hold(draw) -> np.ndarray:
            """A piecewise-constant series: a new draw at the start of each random-length hold."""
            out = np.empty(n)
            t_next, value = -1.0, None
            for k, h in enumerate(hours):
                if h >= t_next:
                    value = draw()
                    t_next = h + rng.uniform(self.config.hold_min_h, self.config.hold_max_h)
                out[k] = value
            return out

        for b in s.boilers.values():
            sched[f"boiler:{b.id}"] = hold(lambda b=b: np.nan if rng.random() < self.config.boiler_off_share else rng.uniform(b.min_steam_tph, b.max_steam_tph))
        for g in s.gas_turbines.values():
            sched[f"gt:{g.id}"] = hold(lambda g=g: np.nan if rng.random() < self.config.gt_base_load_share else rng.uniform(g.min_power_mw, g.iso_power_mw))
            if g.hrsg is not None and g.hrsg.duct_max_steam_tph > 0:
                h = g.hrsg
                sched[f"duct:{g.id}"] = hold(lambda h=h: 0.0 if rng.random() < self.config.duct_off_share else rng.uniform(h.duct_min_steam_tph, h.duct_max_steam_tph))
        for t in s.turbines.values():
            if t.id in ectg:  # their own campaign, below
                continue
            if t.drive == "generator":
                sched[f"power:{t.id}"] = hold(lambda t=t: rng.uniform(t.min_power_mw, t.max_power_mw))
            for k, sec in enumerate(t.sections[:-1]):
                nxt = t.sections[k + 1]
                hi = max(0.0, min(sec.max_flow_tph - nxt.min_flow_tph, 0.7 * sec.max_flow_tph))
                sched[f"x:{t.id}:{k}"] = hold(lambda hi=hi: rng.uniform(0.1 * hi, hi))
            if t.motor is not None:
                sched[f"motor:{t.id}"] = hold(lambda: float(rng.random() < self.config.motor_share))
        for c in s.consumers.values():
            if c.flexible:
                sched[f"consumer:{c.id}"] = hold(lambda c=c: rng.uniform(c.min_tph, c.max_tph))
        # offline compressor washes: fouling hours restart from ~0 every wash interval
        for g in s.gas_turbines.values():
            fouling = np.empty(n)
            phase = rng.uniform(0.0, self.config.wash_max_days * 24.0)
            next_wash = rng.uniform(self.config.wash_min_days, self.config.wash_max_days) * 24.0 - phase
            last_wash = -phase
            for k, h in enumerate(hours):
                while h >= next_wash:
                    last_wash = next_wash
                    next_wash += rng.uniform(self.config.wash_min_days, self.config.wash_max_days) * 24.0
                fouling[k] = h - last_wash
            sched[f"fouling:{g.id}"] = fouling
        # steered columns: the reboiler's steam is stepped above (the consumer's draws, as for any
        # flexible consumer) and the reflux ratio on its own random stream, so that the other
        # units' schedules, and so their data, do not depend on whether a column is steered; the
        # feed is the throughput that steam boils up at that reflux (ColumnCurve.feed_for)
        col_rng = np.random.default_rng([self.config.seed, 17])
        for c in s.consumers.values():
            if c.column is not None:
                col = c.column
                sched[f"reflux:{c.id}"] = _holds(col_rng, hours, self.config,
                                                 lambda col=col: col_rng.uniform(col.reflux_ratio_min, col.reflux_ratio_max))
        # extraction-condensing generators: their own stream, stepped only when asked for
        tg_rng = np.random.default_rng([self.config.seed, 18])
        self._ectg_on = set(self.config.step_units)
        props = compute_properties(site) if self.config.step_units else None
        for tid in [u for u in self.config.step_units if u in ectg]:
            t = site.turbines[tid]
            curve = TurbineCurve(t, props.sections[tid])
            hp, lp = t.sections
            x_hi = max(0.0, min(hp.max_flow_tph - lp.min_flow_tph, hp.max_flow_tph))
            draws = []

            def draw(t=t, curve=curve, hp=hp, lp=lp, x_hi=x_hi):
                x = tg_rng.uniform(0.0, x_hi)
                m_lo = max(hp.min_flow_tph, x + lp.min_flow_tph)
                m_hi = min(hp.max_flow_tph, x + lp.max_flow_tph)
                p_lo = max(t.min_power_mw, curve.output_mw(m_lo, [x]))
                p_hi = min(t.max_power_mw, curve.output_mw(m_hi, [x]))
                p = tg_rng.uniform(p_lo, p_hi) if p_hi > p_lo else p_lo
                draws.append((p, x))
                return float(len(draws) - 1)

            which = _holds(tg_rng, hours, self.config, draw)
            sched[f"power:{tid}"] = np.array([draws[int(k)][0] for k in which])
            sched[f"x:{tid}:0"] = np.array([draws[int(k)][1] for k in which])
        # learned duct firing: the GT's power and its duct steam on their own stream, stepped only when asked for
        duct_rng = np.random.default_rng([self.config.seed, 19])
        for gid in [u for u in self.config.step_units if u in ducts]:
            g = site.gas_turbines[gid]
            h = g.hrsg
            base = g.base_power_mw(site.design_ambient_c, 0.0)
            pairs = []

            def draw_duct(g=g, h=h, base=base, pairs=pairs):
                # drawn over the range widened by 15 % below and 5 % above, then held at its ends: the
                # burner sits at its minimum and maximum in some holds, so that the data cover the fuel
                # the optimiser proposes there at every load
                lo, hi = h.duct_min_steam_tph, h.duct_max_steam_tph
                steam = min(max(duct_rng.uniform(lo - 0.15 * (hi - lo), hi + 0.05 * (hi - lo)), lo), hi)
                power = np.nan if duct_rng.random() < self.config.gt_base_load_share else duct_rng.uniform(g.min_power_mw, base)
                pairs.append((power, steam))  # nan: base load, as in the site's campaign
                return float(len(pairs) - 1)

            which = _holds(duct_rng, hours, self.config, draw_duct)
            sched[f"gt:{gid}"] = np.array([pairs[int(k)][0] for k in which])
            sched[f"duct:{gid}"] = np.array([pairs[int(k)][1] for k in which])
        self._sched = sched

    def with_washes(self, disturbances: list[Disturbances]) -> list[Disturbances]:
        """The disturbances with the campaign's fouling hours (offline washes) in place, and each
        steered column's feed: the throughput its stepped steam boils up at its stepped reflux."""
        out = []
        columns = {c.id: ColumnCurve(c.column) for c in self.site.consumers.values() if c.column is not None}
        for d in disturbances:
            k = self._index[pd.Timestamp(d.timestamp)]
            fouling = {g: float(self._sched[f"fouling:{g}"][k]) for g in self.site.gas_turbines}
            feed = {c: curve.feed_for(self._sched[f"consumer:{c}"][k], self._sched[f"reflux:{c}"][k]) for c, curve in columns.items()}
            out.append(replace(d, gt_fouling_hours=fouling, column_feed_tph={**d.column_feed_tph, **feed}))
        return out

    def __call__(self, site: Site, d: Disturbances) -> Setpoints:
        k = self._index[pd.Timestamp(d.timestamp)]
        v = lambda key: float(self._sched[key][k])  # noqa: E731
        up = lambda uid: uid not in d.unavailable  # noqa: E731
        candidates = [b for b in site.boilers.values() if b.available and up(b.id)]
        boilers = {b.id: v(f"boiler:{b.id}") for b in candidates if not np.isnan(v(f"boiler:{b.id}"))}
        for b in candidates:  # keep enough boilers lit to hold the header
            if len(boilers) >= self.config.min_boilers_on:
                break
            boilers.setdefault(b.id, b.min_steam_tph)
        gts = {g.id: (None if np.isnan(v(f"gt:{g.id}")) else v(f"gt:{g.id}")) for g in site.gas_turbines.values() if g.available and up(g.id)}
        return Setpoints(
            boiler_steam_tph=boilers,
            boilers_on_master=set(boilers),
            gt_power_mw=gts,
            duct_steam_tph={g: v(f"duct:{g}") for g in site.gas_turbines if f"duct:{g}" in self._sched},
            turbine_power_mw={t.id: v(f"power:{t.id}") for t in site.turbines.values()
                              if t.drive == "generator" and t.available and up(t.id) and f"power:{t.id}" in self._sched},
            turbine_extraction_tph={t.id: [v(f"x:{t.id}:{k_}") for k_ in range(len(t.sections) - 1)] for t in site.turbines.values()
                                    if len(t.sections) > 1 and f"x:{t.id}:0" in self._sched},
            drivers_on_motor={t.id for t in site.turbines.values() if t.motor is not None and v(f"motor:{t.id}") > 0.5},
            consumer_tph={c.id: v(f"consumer:{c.id}") for c in site.consumers.values() if c.flexible},
        )
