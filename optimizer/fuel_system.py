"""The fuel system's rows in the site model: header balances, burner blends and their limits,
flaring (site file ``[fuel_system]``, :mod:`optimizer.site.fuel_system`).

Basis: **energy**, GJ/h (LHV). Each fuel header carries one gas of fixed composition (the site
file's), so its volume and energy are proportional (``V_h = D_h / LHV_h``, LHV per normal cubic
metre): a balance in energy is a balance in volume and in mass. Energy is the basis because the
units' learned fuel curves are in GJ/h: a burner's draw ``D_{hu}`` sums to its unit's fuel.
A blend's LHV per volume is nonlinear in its energy shares (``LHV = \\sum D_h / \\sum D_h/LHV_h``);
every limit below is therefore written as a row that is linear and homogeneous in the volumes
``V_{hu} = D_{hu} / LHV_h``, which is exact where the limit is linear in volume fractions.

Symbols: header ``h`` with sources ``s`` (by-product make ``B_s``, a Param: the cycle's reading;
purchase ``P_s`` within ``[0, \\bar P_s]``, take-or-pay shortfall ``Q_s >= \\underline P_s - P_s``),
flare ``R_h``, fuel the header cannot get ``U_h`` (priced like unserved steam), furnace draws
``X_x`` (Params); burner ``u`` with unit fuel ``F_u`` (GJ/h: a boiler's ``b_fuel``, a GT's
``g_fuel``, a duct burner's fuel per t times its steam).

.. math::
    \\sum_{s \\in h} (B_s + P_s) + U_h = \\sum_u D_{hu} + \\sum_{x \\in h} X_x + R_h
    \\qquad \\sum_h D_{hu} = F_u

Blend limits of burner ``u`` (gas ``h``: hydrogen fraction ``\\phi_h``, LHV ``L_h``, HHV ``H_h``,
relative density ``d_h``; ideal gas, so a blend's volume fractions ``x_h = V_h / \\sum V`` weight
its components' properties linearly for ``\\phi``, ``L``, ``H`` and ``d``):

* hydrogen by volume at most ``\\bar\\phi``: ``\\sum_h x_h \\phi_h \\le \\bar\\phi`` becomes
  ``\\sum_h (\\phi_h - \\bar\\phi) V_h \\le 0`` (exact);
* LHV within ``[\\underline L, \\bar L]``: ``\\sum_h (L_h - \\underline L) V_h \\ge 0`` and
  ``\\sum_h (L_h - \\bar L) V_h \\le 0`` (exact);
* Wobbe index ``W = H / \\sqrt{d}`` (HHV based) within ``[\\underline W, \\bar W]``: nonlinear in
  ``x``, so written conservatively with an affine ``g`` standing for ``\\sqrt{d}``. With ``a``,
  ``b`` the lowest and highest relative density of the burner's gases, every blend has ``d`` in
  ``[a, b]``, and ``\\sqrt{d}`` is concave there. Upper limit ``H \\le \\bar W \\sqrt{d}``: the
  chord ``g(d) = \\sqrt a + (d - a)(\\sqrt b - \\sqrt a)/(b - a) \\le \\sqrt d``, so
  ``\\sum_h (H_h - \\bar W g(d_h)) V_h \\le 0`` implies the limit (exact for each pure gas). Lower
  limit ``H \\ge \\underline W \\sqrt d``: the tangent at ``b`` (the heaviest gas),
  ``t(d) = \\sqrt b + (d - b)/(2\\sqrt b) \\ge \\sqrt d``, so ``\\sum_h (H_h - \\underline W t(d_h)) V_h \\ge 0``
  implies it (exact at ``d = b``; within 1.2 % of ``\\sqrt d`` for a natural gas with up to 30 vol%
  hydrogen, more conservative for blends far lighter). Since ``g`` and ``t`` are affine,
  ``\\sum_h x_h g(d_h) = g(\\sum_h x_h d_h)``: the rows are linear in the volumes.

Each row is homogeneous in the burner's volumes, so a burner that is off (``F_u = 0``) meets
them all. Flaring only takes gas, and purchases are free to be 0: by-product gas is flared
when the burners (at the loads chosen) and furnaces cannot take it within their limits, or when
flaring it is cheaper than burning it in place of what the burners would burn otherwise. The
latter needs a flare cheaper in cost and CO2e than the combustion it replaces, e.g. gas whose
flare slip is small displacing hydrogen already paid for at a high carbon price; for a gas with
methane in it, the 2 % slip (GWP 28) makes flaring's CO2e the higher (tests/test_fuel_system.py
checks the first case over its ranges).

Costs and CO2e: purchases ``\\sum_s p_s (P_s + Q_s)`` (take-or-pay), flare ``c_h R_h``;
CO2e of combustion ``\\sum_h EF_h \\sum_u D_{hu}`` (:func:`optimizer.emissions.header_factor`)
and of flaring ``\\sum_h EF^{flare}_h R_h`` (:func:`optimizer.emissions.flare_factor`). A
furnace's own combustion is the process's scope 1 (not weighed here); its draw is in the balance.

Efficiency: a unit's learned fuel curve is in GJ/h (LHV) and is kept whatever the blend: a blend
changes the fuel's cost and CO2e, not the unit's efficiency surrogate. Hydrogen does change a
boiler's efficiency a little (a wetter flue gas: on LHV basis about +0.3 to +0.5 points at 30 vol%
in published burner tests) and a GT's heat rate slightly; that is within the surrogates' error
here and is not modelled; a site that measures it retrains the curves with the blend as an
input (docs/fuel_system.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pyomo.environ as pyo

from optimizer.emissions import flare_factor, header_factor
from optimizer.fuel_gas import GasProperties, blend_properties
from optimizer.site.fuel_system import Burner
from optimizer.site.model import Site

UNSERVED_FUEL_PENALTY = 1.0e6  # currency per GJ of fuel a header cannot get: far above any fuel price


def blend_rows(burner: Burner, gases: Mapping[str, GasProperties]) -> list[tuple[str, dict[str, float], str]]:
    """The burner's limit rows (module docstring): ``(name, {header: coefficient per unit volume}, sense)``,
    each meaning ``sum_h coefficient_h V_h (sense) 0`` with sense ``"<="`` or ``">="``. Rows no
    blend can break (every coefficient on the safe side) are left out."""
    rows: list[tuple[str, dict[str, float], str]] = []
    hs = list(burner.headers)

    def add(name: str, coef: dict[str, float], sense: str) -> None:
        if any((c > 0.0) if sense == "<=" else (c < 0.0) for c in coef.values()):
            rows.append((name, coef, sense))

    if burner.max_h2_volume_fraction < 1.0:
        add("h2_max", {h: gases[h].h2_fraction - burner.max_h2_volume_fraction for h in hs}, "<=")
    if burner.min_lhv_mj_nm3 is not None:
        add("lhv_min", {h: gases[h].lhv_mj_nm3 - burner.min_lhv_mj_nm3 for h in hs}, ">=")
    if burner.max_lhv_mj_nm3 is not None:
        add("lhv_max", {h: gases[h].lhv_mj_nm3 - burner.max_lhv_mj_nm3 for h in hs}, "<=")
    if burner.min_wobbe_mj_nm3 is not None or burner.max_wobbe_mj_nm3 is not None:
        chord, tangent = sqrt_bounds([gases[h].relative_density for h in hs])
        if burner.max_wobbe_mj_nm3 is not None:
            add("wobbe_max", {h: gases[h].hhv_mj_nm3 - burner.max_wobbe_mj_nm3 * chord(gases[h].relative_density) for h in hs}, "<=")
        if burner.min_wobbe_mj_nm3 is not None:
            add("wobbe_min", {h: gases[h].hhv_mj_nm3 - burner.min_wobbe_mj_nm3 * tangent(gases[h].relative_density) for h in hs}, ">=")
    return rows


def sqrt_bounds(densities: list[float]) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """Affine functions below and above ``sqrt(d)`` for ``d`` in ``[min, max]`` of ``densities``:
    the chord (below, exact at both ends) and the tangent at the largest (above, exact there)."""
    a, b = min(densities), max(densities)
    sa, sb = math.sqrt(a), math.sqrt(b)
    slope = (sb - sa) / (b - a) if b > a else 0.0

    def chord(d: float) -> float:
        return sa + (d - a) * slope

    def tangent(d: float) -> float:
        return sb + (d - b) / (2.0 * sb)

    return chord, tangent


def fuel_system_units(site: Site) -> set[tuple[str, bool]]:
    """(unit, duct) of every burner on the fuel system: their fuel is not counted under ``[fuels]``."""
    return {(b.unit, b.duct) for b in site.fuel_system.burners.values()}


def add_fuel_system(m: pyo.Block, site: Site, unit_fuel: Callable[[str, bool], object], param: Callable, gwp_set: str) -> None:
    """The fuel system's sets, Params, variables and rows on the site model ``m`` (module docstring).

    ``unit_fuel(unit, duct)``: the unit's fuel expression (GJ/h); ``param(m, name, index)``: the
    model's mutable-Param factory. Adds the expressions ``fs_cost`` (currency/h), ``fs_co2``
    (t CO2e/h), ``fs_burnt`` (GJ/h burnt by the utilities' burners) and ``fs_penalty``
    (priced slack) for the objective and the KPIs; all are 0 on a site without a fuel system."""
    fs = site.fuel_system
    gases = {h: fh.gas() for h, fh in fs.headers.items()}
    sources = fs.sources()
    m.FH = pyo.Set(initialize=list(fs.headers))
    m.FSB = pyo.Set(initialize=[s for s, (_, src) in sources.items() if src.kind == "byproduct"])
    m.FSP = pyo.Set(initialize=[s for s, (_, src) in sources.items() if src.kind == "purchase"])
    m.FSM = pyo.Set(initialize=[s for s, (_, src) in sources.items() if src.kind == "purchase" and src.min_gj_h > 0])
    m.FBU = pyo.Set(initialize=list(fs.burners))
    m.FHU = pyo.Set(initialize=[(h, u) for u, bu in fs.burners.items() for h in bu.headers], dimen=2)
    m.FX = pyo.Set(initialize=list(fs.furnaces))
    m.FR = pyo.Set(initialize=[h for h, fh in fs.headers.items() if fh.flare])
    for name, idx in (("fs_make", m.FSB), ("fs_price", m.FSP), ("fs_hi", m.FSP), ("fs_min", m.FSM), ("fx_draw", m.FX)):
        param(m, name, idx)
    m.fs_take = pyo.Var(m.FSP, domain=pyo.NonNegativeReals, bounds=lambda m, s: (0, m.fs_hi[s]))
    m.fs_short = pyo.Var(m.FSM, domain=pyo.NonNegativeReals)
    m.fs_take_or_pay = pyo.Constraint(m.FSM, rule=lambda m, s: m.fs_short[s] + m.fs_take[s] >= m.fs_min[s])
    m.fh_draw = pyo.Var(m.FHU, domain=pyo.NonNegativeReals)
    m.fh_flare = pyo.Var(m.FR, domain=pyo.NonNegativeReals)
    m.fh_unserved = pyo.Var(m.FH, domain=pyo.NonNegativeReals)

    def supply(h):
        return (sum(m.fs_make[s] for s in m.FSB if sources[s][0] == h) + sum(m.fs_take[s] for s in m.FSP if sources[s][0] == h)
                + m.fh_unserved[h])

    def demand(h):
        return (sum(m.fh_draw[h, u] for u in fs.burners if h in fs.burners[u].headers)
                + sum(m.fx_draw[x] for x in m.FX if fs.furnaces[x].header == h) + (m.fh_flare[h] if h in m.FR else 0.0))

    m.fh_balance = pyo.Constraint(m.FH, rule=lambda m, h: supply(h) == demand(h))
    m.fb_total = pyo.Constraint(m.FBU, rule=lambda m, u: sum(m.fh_draw[h, u] for h in fs.burners[u].headers)
                                == unit_fuel(fs.burners[u].unit, fs.burners[u].duct))
    limit_rows = [(u, name, coef, sense) for u, bu in fs.burners.items() for name, coef, sense in blend_rows(bu, gases)]
    m.FL = pyo.Set(initialize=[(u, name) for u, name, _, _ in limit_rows], dimen=2)
    rows = {(u, name): (coef, sense) for u, name, coef, sense in limit_rows}

    def limit(m, u, name):
        coef, sense = rows[u, name]
        # volumes V = D / LHV, scaled by the mean LHV of the burner's gases (coefficients near 1)
        scale = sum(gases[h].lhv_mj_nm3 for h in coef) / len(coef)
        body = sum(coef[h] * scale / gases[h].lhv_mj_nm3 * m.fh_draw[h, u] for h in coef)
        return body <= 0.0 if sense == "<=" else body >= 0.0

    m.fb_limit = pyo.Constraint(m.FL, rule=limit)
    ef = {h: header_factor(fh, gwp_set) for h, fh in fs.headers.items()}
    ef_flare = {h: flare_factor(fs.headers[h], gwp_set) for h in m.FR}
    m.fs_burnt = pyo.Expression(expr=sum(m.fh_draw[h, u] for h, u in m.FHU))
    m.fs_cost = pyo.Expression(expr=sum(m.fs_price[s] * m.fs_take[s] for s in m.FSP) + sum(m.fs_price[s] * m.fs_short[s] for s in m.FSM)
                               + sum(fs.headers[h].flare_cost_per_gj * m.fh_flare[h] for h in m.FR))
    m.fs_co2 = pyo.Expression(expr=sum(ef[h] * m.fh_draw[h, u] for h, u in m.FHU) + sum(ef_flare[h] * m.fh_flare[h] for h in m.FR))
    m.fs_penalty = pyo.Expression(expr=UNSERVED_FUEL_PENALTY * sum(m.fh_unserved[h] for h in m.FH))


@dataclass
class FuelSettlement:
    """The fuel system at one operating point (the plant simulator's account; GJ/h, currency/h,
    t CO2e/h): per (header, burner) draws, per purchase its take, per header its flare and the
    fuel it could not get, the purchases' and flare's cost, the CO2e of the burners and the flare,
    and notes (a blend outside its burner's limits, a purchase beyond its availability)."""

    draws: dict[tuple[str, str], float]
    takes: dict[str, float]
    flare: dict[str, float]
    unserved: dict[str, float]
    cost_per_h: float
    co2e_t_h: float
    notes: list[str]


def settle(site: Site, unit_fuel_gj_h: Mapping[tuple[str, bool], float], shares: Mapping[str, Mapping[str, float]],
           make_gj_h: Mapping[str, float], furnace_gj_h: Mapping[str, float]) -> FuelSettlement:
    """The fuel system's balances at an operating point, with the model's definitions (the
    module docstring): each burner draws ``share x unit fuel`` from each of its headers
    (``shares[burner]``, normalised); a burner with no blend set (today's practice) draws on its
    first header as far as that header's supply goes (by-product make and purchases' availability,
    less furnaces and the set blends' draws) and makes up from its next headers in order, the last
    taking the rest (a fuel-gas header with natural-gas make-up); where set blends ask a header
    for more than it has (the plant's true fuel is not the model's), the excess moves to each
    such burner's other headers (the first with room, else its last); each header's by-product
    make (``make_gj_h``, absent: nominal) and furnace draws (``furnace_gj_h``, absent: nominal)
    are fixed; what the header lacks is bought, first up to each take-or-pay minimum (paid for
    anyway), then cheapest first within availability (the rest is fuel it cannot get), what it has beyond its draws is flared (a header without a
    flare: noted, counted as flared). Take-or-pay: each purchase costs ``price x max(take, min)``.

    ``unit_fuel_gj_h``: (unit, duct) -> the unit's fuel, GJ/h."""
    fs = site.fuel_system
    gases = {h: fh.gas() for h, fh in fs.headers.items()}
    ef = {h: header_factor(fh, site.emissions.gwp_set) for h, fh in fs.headers.items()}
    notes: list[str] = []
    draws: dict[tuple[str, str], float] = {}
    room = {h: sum(make_gj_h.get(s, src.nominal_gj_h) if src.kind == "byproduct" else src.max_gj_h for s, src in fh.sources.items())
            - sum(furnace_gj_h.get(x, f.draw_gj_h) for x, f in fs.furnaces.items() if f.header == h) for h, fh in fs.headers.items()}
    ruled = []  # burners with no blend set: by the rule, after the others
    for u, bu in fs.burners.items():
        fuel = unit_fuel_gj_h.get((bu.unit, bu.duct), 0.0)
        want = {h: max(0.0, float(shares.get(u, {}).get(h, 0.0))) for h in bu.headers}
        total = sum(want.values())
        if total <= 0:
            ruled.append(u)
            continue
        for h in bu.headers:
            draws[h, u] = fuel * want[h] / total
            room[h] -= draws[h, u]
    for h in fs.headers:  # a header asked for more than it has: its burners' other headers make up (pressure control)
        if room[h] >= -1e-9:
            continue
        asked = {u: draws[h, u] for u in fs.burners if (h, u) in draws and draws[h, u] > 0}
        cut = min(-room[h], sum(asked.values()))
        for u, d in asked.items():
            move = cut * d / sum(asked.values())
            others = [g for g in fs.burners[u].headers if g != h]
            if not others:
                continue
            to = next((g for g in others if room[g] >= move), others[-1])
            draws[h, u] -= move
            draws[to, u] += move
            room[h] += move
            room[to] -= move
    for u in ruled:  # its first header as far as that header's supply goes, the next ones make up (the last takes the rest)
        bu = fs.burners[u]
        rest = unit_fuel_gj_h.get((bu.unit, bu.duct), 0.0)
        for i, h in enumerate(bu.headers):
            draws[h, u] = rest if i == len(bu.headers) - 1 else min(rest, max(room[h], 0.0))
            room[h] -= draws[h, u]
            rest -= draws[h, u]
    for u, bu in fs.burners.items():
        fuel = unit_fuel_gj_h.get((bu.unit, bu.duct), 0.0)
        vols = {h: draws[h, u] / gases[h].lhv_mj_nm3 for h in bu.headers}
        if fuel > 0 and sum(vols.values()) > 0:
            notes += _limit_notes(u, bu, blend_properties(vols, gases))
    takes: dict[str, float] = {}
    flare: dict[str, float] = {}
    unserved: dict[str, float] = {}
    cost = co2 = 0.0
    for h, fh in fs.headers.items():
        need = sum(d for (hh, _), d in draws.items() if hh == h)
        co2 += ef[h] * need
        need += sum(furnace_gj_h.get(x, f.draw_gj_h) for x, f in fs.furnaces.items() if f.header == h)
        need -= sum(make_gj_h.get(s, src.nominal_gj_h) for s, src in fh.sources.items() if src.kind == "byproduct")
        buys = [(s, src) for s, src in fh.sources.items() if src.kind == "purchase"]
        for s, src in buys:  # the take-or-pay minimums first (paid for in any case), then the cheapest
            takes[s] = min(max(need, 0.0), src.min_gj_h)
            need -= takes[s]
        for s, src in sorted(buys, key=lambda p: p[1].price_per_gj):
            more = min(max(need, 0.0), src.max_gj_h - takes[s])
            takes[s] += more
            need -= more
            cost += src.price_per_gj * max(takes[s], src.min_gj_h)
        if need > 1e-9:
            unserved[h] = need
            notes.append(f"fuel header {h}: {need:.2f} GJ/h short (its sources cannot meet its draws)")
        elif need < -1e-9:
            flare[h] = -need
            if not fh.flare:
                notes.append(f"fuel header {h}: {-need:.2f} GJ/h surplus and no flare")
            cost += fh.flare_cost_per_gj * flare[h]
            co2 += flare_factor(fh, site.emissions.gwp_set) * flare[h]
    return FuelSettlement(draws, takes, flare, unserved, cost, co2, notes)


def _limit_notes(u: str, bu: Burner, blend: GasProperties, tol: float = 1e-6) -> list[str]:
    out = []
    if blend.h2_fraction > bu.max_h2_volume_fraction + tol:
        out.append(f"burner {u}: hydrogen {blend.h2_fraction:.3f} by volume above its {bu.max_h2_volume_fraction:g}")
    for name, value, lo, hi in (("LHV", blend.lhv_mj_nm3, bu.min_lhv_mj_nm3, bu.max_lhv_mj_nm3),
                                ("Wobbe index", blend.wobbe_mj_nm3, bu.min_wobbe_mj_nm3, bu.max_wobbe_mj_nm3)):
        if (lo is not None and value < lo - tol) or (hi is not None and value > hi + tol):
            out.append(f"burner {u}: {name} {value:.2f} MJ/Nm3 outside [{lo if lo is not None else '-'}, {hi if hi is not None else '-'}]")
    return out
