"""The Pyomo model of a site, built once; every per-cycle number is a mutable Param.

Each unit type's constraints are written once for all units of that type (indexed
constraints, as in oemof-solph's blocks). Nothing is rebuilt between cycles: the supervisor
writes the cycle's data into the Params (:meth:`SiteModel.set`) and the persistent solver
updates only what changed.

Symbols (units): ``s_b`` boiler steam (t/h), ``u_b`` on/off, ``F_b`` fuel (GJ/h); ``P_g``
GT power (MW), ``F_g`` GT fuel, ``q_g`` unfired HRSG steam, ``d_g`` duct steam (its fuel additive,
``d_g (h - h_fw) / 1000 / eta``, or a variable of a learned duct: :mod:`optimizer.duct`); ``m_{tk}`` flow
through turbine section k, ``x_{tk}`` extraction after k, ``W_{tk}`` shaft power, ``P_t`` output;
``l`` letdown steam, ``v`` vent, ``c`` flexible draw; ``w_H`` header spray water, ``e_H`` header
energy deficit (MW), ``\\sigma_H`` unserved steam; ``I``, ``X`` grid import/export (MW).

Learned curves (:class:`~optimizer.curves.CurveSlot`), grouped by their decision variable
(:class:`~optimizer.curves.CurveGroup`: a GT's fuel and its HRSG's steam share the GT's power),
with the cycle's breakpoints in Params: the group's ``X_k`` and each member ``c``'s ``Y_{ck}`` over
the union of the members' breakpoints, the unit's on/off ``u`` and decision ``x``:

.. math::
    \\sum_k \\lambda_k = u,\\quad x = \\sum_k X_k \\lambda_k,\\quad y_c = \\sum_k Y_{ck} \\lambda_k,
    \\quad \\lambda_k \\ge 0

One weight set per group makes the relaxation the convex hull of the joint graph, tighter than
one hull per curve. A steered column's steam and purity form one group on its reflux ratio, its
steam drawn from its header like a consumer's, its purity held to the spec (optimizer/columns.py). For a fuel curve that is convex for every cycle (structurally), minimising
cost keeps ``(x, y)`` on the curve, so no binaries are needed. Otherwise adjacency (SOS2) is
enforced by the logarithmic formulation (:func:`sos2_bit_sets`): ``ceil(log2(segments))``
binaries ``z_b`` per group, ``\\sum_{k \\in L_b} \\lambda_k \\le z_b``,
``\\sum_{k \\in R_b} \\lambda_k \\le u - z_b``. Unused weights get upper bound 0 (the box
holds fewer kinks this cycle) and vanish in presolve; so do the binaries a cycle's segments do
not need (upper bound 0: segments below ``2^B`` have codes with bits ``B`` and up at 0).

Header ``H`` mass balance:

.. math:: \\sum_{in} + w_H + \\sigma_H = \\sum_{out} + \\epsilon_H

and energy (exhausts enter at their enthalpy, the header is desuperheated to its own):

.. math:: w_H (h_H - h_w) / 3600 - e_H = \\sum_{exhausts\\to H} (E_{ex} - m h_H / 3600)

Deaerator: ``S (h_s - h_m) - e_{DA} = F (h_{fw} - h_m) - R (h_r - h_m) - C (h_c - h_m)`` with
feedwater ``F`` (all steam raised plus injected water), returned condensate ``R``, condenser
condensate ``C``; make-up ``F - R - C - S >= 0``.

Electricity: ``I - X + \\pi = L + \\sum_{motors} + ... - \\sum P`` with ``\\pi >= 0`` the power the site
cannot get (priced like unserved steam: it answers a cycle with every GT out at the import limit).

Swing reserve of header ``H`` (site file ``swing_reserve_tph``, pressure control):
``\\sum_{b \\to H} (\\bar{s}_b u_b - s_b) + \\rho_H >= R_H`` with ``\\bar{s}_b`` the boiler's maximum, ``\\rho_H >= 0`` priced.

Fuel system (site file ``[fuel_system]``): fuel-gas header balances, each burner's blend over
the headers as decisions within its hydrogen, LHV and Wobbe limits, flaring: :mod:`optimizer.fuel_system`;
a unit burning from it is not counted under its ``[fuels]``.

N-1 steam cover, only when the site file enables it: the rows of :mod:`optimizer.n1_cover`, their
shortfall priced in the slack cost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pyomo.environ as pyo

from optimizer.columns import add_columns, purity_penalty, steered_columns
from optimizer.curves import CurveGroup, CurveSlot, group_curves
from optimizer.duct import add_ducts
from optimizer.ectg import add_ectgs
from optimizer.emissions import fuel_factor
from optimizer.fuel_system import add_fuel_system, fuel_system_units
from optimizer.n1_cover import add_n1_cover
from optimizer.site.model import Site
from optimizer.site.properties import SiteProperties
from optimizer.steam import mixing_letdowns

log = logging.getLogger(__name__)

UNSERVED_PENALTY = 1.0e6     # currency per t of unserved or unplaceable steam: far above any real cost
SWING_SHORT_PENALTY = 1.0e5  # currency per t/h of missing swing reserve, per hour: above any steam cost, below unserved steam
SLACK_PENALTY = 1.0e-3       # currency per unit of spray / energy deficit: a tie-breaker only
OBJECTIVES = ("cost", "co2e", "steam", "weighted")


@dataclass(frozen=True)
class Structure:
    """Index sets of a site model, derived once from the site and the curves."""

    boilers: list[str]
    boiler_fuels: list[tuple[str, str]]
    gts: list[str]
    ducts: list[str]
    turbines: list[str]
    sections: list[tuple[str, int]]
    extractions: list[tuple[str, int]]
    generators: list[str]
    machines: list[str]
    motors: list[str]
    curves: dict[str, CurveSlot]
    groups: dict[str, CurveGroup]         # the curves of one decision variable share their weights
    sos_groups: list[str]                 # groups needing adjacency (some member not convex)
    bits: dict[str, int]                  # per SOS group: binaries of its logarithmic SOS2


def structure(site: Site, slots: Mapping[str, CurveSlot], point_cap: int | None = None) -> Structure:
    boilers = list(site.boilers)
    groups = group_curves(slots, point_cap)
    sos_groups, bits = sos_layout(groups)
    sections = [(t, k) for t, tur in site.turbines.items() for k in range(len(tur.sections))]
    return Structure(
        boilers=boilers,
        boiler_fuels=[(b, f) for b in boilers for f in site.boilers[b].fuels],
        gts=list(site.gas_turbines),
        ducts=[g for g, gt in site.gas_turbines.items() if gt.hrsg is not None and gt.hrsg.duct_max_steam_tph > 0],
        turbines=list(site.turbines),
        sections=sections,
        extractions=[(t, k) for t, k in sections if k < len(site.turbines[t].sections) - 1],
        generators=[t for t, tur in site.turbines.items() if tur.drive == "generator"],
        machines=[t for t, tur in site.turbines.items() if tur.drive == "machine"],
        motors=[t for t, tur in site.turbines.items() if tur.motor is not None],
        curves=dict(slots),
        groups=groups,
        sos_groups=sos_groups,
        bits=bits,
    )


def sos2_bits(segments: int) -> int:
    """Binaries of the logarithmic SOS2 over ``segments`` segments: ``ceil(log2(segments))``."""
    return max(0, int(segments - 1).bit_length()) if segments > 1 else 0


def sos2_bit_sets(points: int) -> list[tuple[list[int], list[int]]]:
    """Per binary ``b`` of the logarithmic SOS2 over ``points`` weights: the weights that must be
    0 when ``z_b = 0`` (first list) and when ``z_b = 1`` (second).

    Segment ``s`` (between weights ``s`` and ``s + 1``) gets the reflected Gray code
    ``G(s) = s xor (s >> 1)``; weight ``k`` lies in segments ``k - 1`` and ``k``. With
    ``L_b = {k : bit b of G(s) is 1 for every segment s of k}`` and ``R_b`` likewise for 0,

    .. math:: \\sum_{k \\in L_b} \\lambda_k \\le z_b, \\qquad \\sum_{k \\in R_b} \\lambda_k \\le u - z_b

    leave exactly the two weights of the segment whose code is ``z`` (Gray codes of neighbouring
    segments differ in one bit, so every other weight has a bit in which both its segments differ
    from ``z``); ``u = 0`` forces ``z = 0`` and every weight to 0. Locally ideal (Vielma and
    Nemhauser, Math. Program. 128 (2011) 49): the LP relaxation's vertices are integral, with
    ``ceil(log2(points - 1))`` binaries instead of one per segment."""
    segments = points - 1
    codes = [s ^ (s >> 1) for s in range(segments)]
    out = []
    for b in range(sos2_bits(segments)):
        ones, zeros = [], []
        for k in range(points):
            bits = [(codes[s] >> b) & 1 for s in (k - 1, k) if 0 <= s < segments]
            if all(bits):
                ones.append(k)
            elif not any(bits):
                zeros.append(k)
        out.append((ones, zeros))
    return out


def sos_layout(groups: Mapping[str, CurveGroup]) -> tuple[list[str], dict[str, int]]:
    """The groups that need adjacency (some member not convex, more than one segment reserved)
    and the binaries of each one's logarithmic SOS2."""
    sos = [g for g, grp in groups.items() if not grp.convex and grp.max_points > 2]
    return sos, {g: sos2_bits(groups[g].max_points - 1) for g in sos}


def on_var(m: pyo.Block, slot):
    """The on/off variable of a learned curve's (or curve group's) unit (a steered column's: its
    ``col_run``, held at its ``col_on`` Param)."""
    if slot.kind in ("column_steam", "column_purity"):
        return m.col_run[slot.unit]
    return {"boiler_fuel": m.b_on, "gt_fuel": m.g_on, "hrsg_steam": m.g_on, "turbine_steam": m.t_on}[slot.kind][slot.unit]


def x_var(m: pyo.Block, slot):
    """The decision variable a learned curve (or curve group) is a function of."""
    if slot.kind in ("column_steam", "column_purity"):
        return m.reflux[slot.unit]
    return {"boiler_fuel": m.b_steam, "gt_fuel": m.g_power, "hrsg_steam": m.g_power, "turbine_steam": m.t_out}[slot.kind][slot.unit]


def y_var(m: pyo.Block, slot: CurveSlot):
    """The variable a learned curve's output is."""
    if slot.kind == "turbine_steam":
        return m.flow[slot.unit, 0]
    return {"boiler_fuel": m.b_fuel, "gt_fuel": m.g_fuel, "hrsg_steam": m.g_unfired,
            "column_steam": m.col_steam, "column_purity": m.col_purity}[slot.kind][slot.unit]


def add_learned_curves(m: pyo.Block, groups: Mapping[str, CurveGroup], slots: Mapping[str, CurveSlot],
                       on_var: Callable = on_var, x_var: Callable = x_var, y_var: Callable = y_var) -> None:
    """The weights, binaries and rows of every curve group, for all groups at once (the module
    docstring's math). ``on_var``, ``x_var``: (block, group or slot) -> its unit's on/off and
    decision variable; ``y_var``: (block, slot) -> the curve's output variable (defaults: the site
    model's variables).

    Adds the index sets ``K`` (curves), ``KG`` (groups), ``GK`` (group, weight), ``CK`` (curve,
    weight), ``GB`` (SOS group, binary); the per-cycle Params ``cx[GK]`` (breakpoints), ``cy[CK]``
    (values), ``lam_hi[GK]`` (1 for the weights in use), ``z_hi[GB]`` (1 for the binaries in use);
    the variables ``lam[GK]``, ``z[GB]``; the rows ``curve_sum``, ``curve_x``, ``curve_y``,
    ``sos_one`` and ``sos_zero``."""
    sos, bits = sos_layout(groups)
    group_of = {c: g for g, grp in groups.items() for c in grp.members}
    npts = {g: grp.max_points for g, grp in groups.items()}
    m.K = pyo.Set(initialize=list(slots))
    m.KG = pyo.Set(initialize=list(groups))
    m.GK = pyo.Set(initialize=[(g, k) for g in groups for k in range(npts[g])], dimen=2)
    m.CK = pyo.Set(initialize=[(c, k) for c in slots for k in range(npts[group_of[c]])], dimen=2)
    m.GB = pyo.Set(initialize=[(g, b) for g in sos for b in range(bits[g])], dimen=2)
    for name, idx in (("cx", m.GK), ("cy", m.CK), ("lam_hi", m.GK), ("z_hi", m.GB)):
        _param(m, name, idx)
    m.lam = pyo.Var(m.GK, domain=pyo.NonNegativeReals, bounds=lambda m, g, k: (0, m.lam_hi[g, k]))
    m.z = pyo.Var(m.GB, domain=pyo.Binary, bounds=lambda m, g, b: (0, m.z_hi[g, b]))
    m.curve_sum = pyo.Constraint(m.KG, rule=lambda m, g: sum(m.lam[g, k] for k in range(npts[g])) == on_var(m, groups[g]))
    m.curve_x = pyo.Constraint(m.KG, rule=lambda m, g: x_var(m, groups[g]) == sum(m.cx[g, k] * m.lam[g, k] for k in range(npts[g])))
    m.curve_y = pyo.Constraint(m.K, rule=lambda m, c: y_var(m, slots[c]) == sum(
        m.cy[c, k] * m.lam[group_of[c], k] for k in range(npts[group_of[c]])))
    sets = {g: sos2_bit_sets(npts[g]) for g in sos}
    m.sos_one = pyo.Constraint(m.GB, rule=lambda m, g, b: (
        sum(m.lam[g, k] for k in sets[g][b][0]) <= m.z[g, b]) if sets[g][b][0] else pyo.Constraint.Skip)
    m.sos_zero = pyo.Constraint(m.GB, rule=lambda m, g, b: (
        sum(m.lam[g, k] for k in sets[g][b][1]) + m.z[g, b] <= on_var(m, groups[g])) if sets[g][b][1] else pyo.Constraint.Skip)


def _param(m: pyo.Block, name: str, index=None, default: float = 0.0) -> pyo.Param:
    p = pyo.Param(index, mutable=True, initialize=default, within=pyo.Reals) if index is not None else pyo.Param(mutable=True, initialize=default, within=pyo.Reals)
    m.add_component(name, p)
    return p


def build_model(site: Site, props: SiteProperties, slots: Mapping[str, CurveSlot],
                weights: tuple[float, float, float] = (1.0, 0.0, 0.0), point_cap: int | None = None,
                ectg: Mapping | None = None, ducts: Mapping | None = None) -> pyo.ConcreteModel:
    """The site's model; see the module docstring for the math.

    ``weights``: objective weights of (cost, CO2e, steam generated), fixed for the model's life
    (constants, so every objective coefficient depends on at most one mutable parameter).
    ``point_cap``: breakpoints reserved at most per decision variable's curve group (never fewer
    than a member curve reserves itself; :func:`optimizer.curves.group_curves`).
    ``ectg``: turbine id -> :class:`optimizer.ectg.EctgUnit`, the extraction-condensing generators
    whose inlet steam is a learned function of power and extraction (embedded exactly; their LP
    section's Willans line replaced, see :mod:`optimizer.ectg`).
    ``ducts``: GT id -> :class:`optimizer.duct.DuctUnit`, the HRSGs whose duct-fired steam is a
    learned function of the GT's power and the duct fuel (embedded exactly; their fuel the variable
    ``d_fuel``, not the additive ``duct_gj_per_t * d_steam``, see :mod:`optimizer.duct`).
    """
    ectg = dict(ectg or {})
    ducts = dict(ducts or {})
    st = structure(site, slots, point_cap)
    m = pyo.ConcreteModel(name=site.name)
    m.st = st
    H = list(site.headers)
    curve_of = {(s.unit, s.kind): c for c, s in st.curves.items()}

    # ------------------------------------------------------------------ sets
    m.B, m.G, m.T = pyo.Set(initialize=st.boilers), pyo.Set(initialize=st.gts), pyo.Set(initialize=st.turbines)
    m.BF = pyo.Set(initialize=st.boiler_fuels, dimen=2)
    m.BFM = pyo.Set(initialize=[(b, f) for b, f in st.boiler_fuels if len(site.boilers[b].fuels) > 1], dimen=2)
    m.GD = pyo.Set(initialize=st.ducts)
    m.TS = pyo.Set(initialize=st.sections, dimen=2)
    m.TX = pyo.Set(initialize=st.extractions, dimen=2)
    m.TG = pyo.Set(initialize=st.generators)
    m.TM = pyo.Set(initialize=st.machines)
    m.TMOT = pyo.Set(initialize=st.motors)
    m.L, m.V = pyo.Set(initialize=list(site.letdowns)), pyo.Set(initialize=list(site.vents))
    m.C = pyo.Set(initialize=list(site.consumers))
    columns = steered_columns(site, st.curves)  # steered columns (optimizer/columns.py): not a flexible band
    m.CF = pyo.Set(initialize=[c for c, x in site.consumers.items() if x.flexible and x.column is None])
    m.S = pyo.Set(initialize=list(site.byproduct_sources))
    m.H, m.F = pyo.Set(initialize=H), pyo.Set(initialize=list(site.fuels))

    # ------------------------------------------------------------------ per-cycle parameters
    for name, idx in [("b_lo", m.B), ("b_hi", m.B), ("b_on_lo", m.B), ("b_on_hi", m.B), ("b_fuel_per_tph", m.B),
                      ("g_lo", m.G), ("g_hi", m.G), ("g_on_lo", m.G), ("g_on_hi", m.G),
                      ("d_lo", m.GD), ("d_hi", m.GD), ("d_on_lo", m.GD), ("d_on_hi", m.GD),
                      ("t_lo", m.T), ("t_hi", m.T), ("t_on_lo", m.T), ("t_on_hi", m.T), ("demand_mw", m.T),
                      ("m_lo", m.TS), ("m_hi", m.TS), ("x_lo", m.TX), ("x_hi", m.TX),
                      ("ld_hi", m.L), ("vent_lo", m.V), ("vent_hi", m.V), ("draw", m.C), ("draw_lo", m.CF), ("draw_hi", m.CF),
                      ("tle", m.S), ("fuel_price", m.F), ("fuel_hi", m.F), ("b_share_lo", m.BFM)]:
        _param(m, name, idx)
    for name in ("site_load", "import_price", "import_hi", "export_hi", "carbon_price"):
        _param(m, name)

    # ------------------------------------------------------------------ boilers
    m.b_on = pyo.Var(m.B, domain=pyo.Binary, bounds=lambda m, b: (m.b_on_lo[b], m.b_on_hi[b]))
    m.b_steam = pyo.Var(m.B, domain=pyo.NonNegativeReals)
    m.b_fuel = pyo.Var(m.B, domain=pyo.NonNegativeReals)
    m.b_fuel_split = pyo.Var(m.BF, domain=pyo.NonNegativeReals)
    m.b_min = pyo.Constraint(m.B, rule=lambda m, b: m.b_steam[b] >= m.b_lo[b] * m.b_on[b])
    m.b_max = pyo.Constraint(m.B, rule=lambda m, b: m.b_steam[b] <= m.b_hi[b] * m.b_on[b])
    m.b_split = pyo.Constraint(m.B, rule=lambda m, b: sum(m.b_fuel_split[b, f] for f in site.boilers[b].fuels) == m.b_fuel[b])
    # a dual-fuel boiler's split is free (0) in the optimisation; at the current point it is the
    # measured one (the shares sum to 1, so lower bounds pin it)
    m.b_share = pyo.Constraint(m.BFM, rule=lambda m, b, f: m.b_fuel_split[b, f] >= m.b_share_lo[b, f] * m.b_fuel[b])
    m.b_linear_fuel = pyo.Constraint([b for b in st.boilers if (b, "boiler_fuel") not in curve_of],
                                     rule=lambda m, b: m.b_fuel[b] == m.b_fuel_per_tph[b] * m.b_steam[b])
    # pressure control: the boilers running on a header keep headroom to their maximum (a header
    # left to by-product steam alone, or with its boilers at their maximum, has nothing to absorb
    # what the models miss; the boilers ramp to it within minutes, so it is the equipment maximum,
    # not this cycle's move box); a shortfall is priced, not infeasible
    swing = {h: site.headers[h].swing_reserve_tph for h in H
             if site.headers[h].swing_reserve_tph > 0 and any(site.boilers[b].header == h for b in st.boilers)}
    m.SW = pyo.Set(initialize=list(swing))
    m.swing_short = pyo.Var(m.SW, domain=pyo.NonNegativeReals)
    m.swing = pyo.Constraint(m.SW, rule=lambda m, h: sum(site.boilers[b].max_steam_tph * m.b_on[b] - m.b_steam[b] for b in st.boilers if site.boilers[b].header == h)
                             + m.swing_short[h] >= swing[h])

    # ------------------------------------------------------------------ gas turbines and HRSGs
    m.g_on = pyo.Var(m.G, domain=pyo.Binary, bounds=lambda m, g: (m.g_on_lo[g], m.g_on_hi[g]))
    m.g_power = pyo.Var(m.G, domain=pyo.NonNegativeReals)
    m.g_fuel = pyo.Var(m.G, domain=pyo.NonNegativeReals)
    m.g_unfired = pyo.Var(m.G, domain=pyo.NonNegativeReals)
    m.g_min = pyo.Constraint(m.G, rule=lambda m, g: m.g_power[g] >= m.g_lo[g] * m.g_on[g])
    m.g_max = pyo.Constraint(m.G, rule=lambda m, g: m.g_power[g] <= m.g_hi[g] * m.g_on[g])
    m.d_on = pyo.Var(m.GD, domain=pyo.Binary, bounds=lambda m, g: (m.d_on_lo[g], m.d_on_hi[g]))
    m.d_steam = pyo.Var(m.GD, domain=pyo.NonNegativeReals)
    m.d_min = pyo.Constraint(m.GD, rule=lambda m, g: m.d_steam[g] >= m.d_lo[g] * m.d_on[g])
    m.d_max = pyo.Constraint(m.GD, rule=lambda m, g: m.d_steam[g] <= m.d_hi[g] * m.d_on[g])
    m.d_with_gt = pyo.Constraint(m.GD, rule=lambda m, g: m.d_on[g] <= m.g_on[g])
    duct_gj_per_t = {g: (props.header_enthalpy_kj_kg[site.gas_turbines[g].hrsg.header] - props.hrsg_feedwater_kj_kg[g])
                     / 1000.0 / site.gas_turbines[g].hrsg.duct_efficiency for g in st.ducts}
    for g in st.gts:
        for kind in ("gt_fuel", "hrsg_steam"):
            if (g, kind) not in curve_of and (kind == "gt_fuel" or site.gas_turbines[g].hrsg is not None):
                raise ValueError(f"gas turbine {g}: no curve for {kind} (a surrogate model or a curve provider must supply it)")

    # ------------------------------------------------------------------ steam turbines
    m.t_on = pyo.Var(m.T, domain=pyo.Binary, bounds=lambda m, t: (m.t_on_lo[t], m.t_on_hi[t]))
    m.t_out = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.flow = pyo.Var(m.TS, domain=pyo.NonNegativeReals)
    m.extr = pyo.Var(m.TX, domain=pyo.NonNegativeReals)
    # extraction limits apply while the turbine runs (x = 0 when it is stopped)
    m.x_min = pyo.Constraint(m.TX, rule=lambda m, t, k: m.extr[t, k] >= m.x_lo[t, k] * m.t_on[t])
    m.x_max = pyo.Constraint(m.TX, rule=lambda m, t, k: m.extr[t, k] <= m.x_hi[t, k] * m.t_on[t])
    m.shaft = pyo.Var(m.TS, domain=pyo.Reals)
    sec = {(t, k): props.sections[t][k] for t, k in st.sections}
    n_sec = {t: len(site.turbines[t].sections) for t in st.turbines}
    eff = {t: site.turbines[t].mechanical_efficiency for t in st.turbines}
    learned_turbine = {t for t in st.turbines if (t, "turbine_steam") in curve_of}
    m.t_chain = pyo.Constraint(m.TX, rule=lambda m, t, k: m.flow[t, k + 1] == m.flow[t, k] - m.extr[t, k])
    m.t_flow_min = pyo.Constraint(m.TS, rule=lambda m, t, k: m.flow[t, k] >= m.m_lo[t, k] * m.t_on[t])
    m.t_flow_max = pyo.Constraint(m.TS, rule=lambda m, t, k: m.flow[t, k] <= m.m_hi[t, k] * m.t_on[t])
    m.t_willans = pyo.Constraint([(t, k) for t, k in st.sections if t not in learned_turbine and not (t in ectg and k > 0)],
                                 rule=lambda m, t, k: m.shaft[t, k] == sec[t, k].slope_mw_per_tph * m.flow[t, k] - sec[t, k].intercept_mw * m.t_on[t])
    m.t_learned_shaft = pyo.Constraint(sorted(learned_turbine), rule=lambda m, t: m.shaft[t, 0] * eff[t] == m.t_out[t])
    m.t_output = pyo.Constraint([t for t in st.turbines if t not in learned_turbine],
                                rule=lambda m, t: m.t_out[t] == eff[t] * sum(m.shaft[t, k] for k in range(n_sec[t])))
    m.t_machine = pyo.Constraint(m.TM, rule=lambda m, t: m.t_out[t] == m.demand_mw[t] * m.t_on[t])
    m.t_gen_min = pyo.Constraint(m.TG, rule=lambda m, t: m.t_out[t] >= m.t_lo[t] * m.t_on[t])
    m.t_gen_max = pyo.Constraint(m.TG, rule=lambda m, t: m.t_out[t] <= m.t_hi[t] * m.t_on[t])

    # ------------------------------------------------------------------ steered columns, learned curves (lambda + logarithmic SOS2)
    add_columns(m, site, columns, _param)
    add_learned_curves(m, st.groups, st.curves)
    add_ectgs(m, site, ectg)  # extraction-condensing generators: two-decision networks (optimizer/ectg.py)
    add_ducts(m, site, ducts)  # learned duct firing: two-decision networks (optimizer/duct.py)

    # ------------------------------------------------------------------ letdowns, vents, consumers
    m.ld = pyo.Var(m.L, domain=pyo.NonNegativeReals, bounds=lambda m, l: (0, m.ld_hi[l]))
    m.vent = pyo.Var(m.V, domain=pyo.NonNegativeReals, bounds=lambda m, v: (m.vent_lo[v], m.vent_hi[v]))
    m.cdraw = pyo.Var(m.CF, domain=pyo.NonNegativeReals, bounds=lambda m, c: (m.draw_lo[c], m.draw_hi[c]))
    m.offspec = pyo.Var(m.CF, domain=pyo.NonNegativeReals)
    offspec_at = {c: site.consumers[c].offspec_below_tph for c in m.CF}
    m.offspec_def = pyo.Constraint(m.CF, rule=lambda m, c: pyo.Constraint.Skip if offspec_at[c] is None else m.offspec[c] >= offspec_at[c] - m.cdraw[c])

    def draw(c):
        return m.cdraw[c] if c in m.CF else (m.col_steam[c] if c in m.COL else m.draw[c])

    # ------------------------------------------------------------------ headers: mass and energy
    m.spray = pyo.Var(m.H, domain=pyo.NonNegativeReals)
    m.deficit = pyo.Var(m.H, domain=pyo.NonNegativeReals)
    m.unserved = pyo.Var(m.H, domain=pyo.NonNegativeReals)
    m.unplaced = pyo.Var(m.H, domain=pyo.NonNegativeReals)
    h = props.header_enthalpy_kj_kg
    ratio = props.letdown_water_ratio
    da_h = props.deaerator_steam_header

    def leaving(t, k):
        """Flow leaving section k into its outlet: the extraction, or the last section's exhaust."""
        return m.extr[t, k] if k < n_sec[t] - 1 else m.flow[t, k]

    def leaving_energy_mw(t, k):
        s = sec[t, k]
        if k < n_sec[t] - 1:  # extraction at the section's design exhaust enthalpy
            return m.extr[t, k] * s.design_exhaust_enthalpy_kj_kg / 3600.0
        return m.flow[t, k] * s.inlet_enthalpy_kj_kg / 3600.0 - m.shaft[t, k]

    def header_in(hid):
        e = sum(m.b_steam[b] for b in st.boilers if site.boilers[b].header == hid)
        e += sum(m.g_unfired[g] for g in st.gts if site.gas_turbines[g].hrsg and site.gas_turbines[g].hrsg.header == hid)
        e += sum(m.d_steam[g] for g in st.ducts if site.gas_turbines[g].hrsg.header == hid)
        e += sum(m.tle[s] for s in site.byproduct_sources if site.byproduct_sources[s].header == hid)
        e += sum(leaving(t, k) for t, k in st.sections if site.turbines[t].sections[k].outlet == hid)
        e += sum((1.0 + ratio[l]) * m.ld[l] for l in site.letdowns if site.letdowns[l].outlet == hid)
        return e

    def header_out(hid):
        e = sum(draw(c) for c in site.consumers if site.consumers[c].header == hid)
        e += sum(m.flow[t, 0] for t in st.turbines if site.turbines[t].inlet == hid)
        e += sum(m.ld[l] for l in site.letdowns if site.letdowns[l].inlet == hid)
        e += sum(m.vent[v] for v in site.vents if site.vents[v].header == hid)
        return e + (m.da_steam if hid == da_h else 0.0)

    # a site without a deaerator (steam.deaerator = false) takes no deaerator steam
    m.da_steam = pyo.Var(domain=pyo.NonNegativeReals, bounds=(0.0, None if props.has_deaerator else 0.0))
    m.mass = pyo.Constraint(m.H, rule=lambda m, hid: header_in(hid) + m.spray[hid] + m.unserved[hid] == header_out(hid) + m.unplaced[hid])

    mixing_lds = mixing_letdowns(site.letdowns.values(), h)  # the simulator's list too

    def exhaust_excess(hid):
        e = sum(leaving_energy_mw(t, k) - leaving(t, k) * h[hid] / 3600.0 for t, k in st.sections if site.turbines[t].sections[k].outlet == hid)
        e += sum(m.ld[l] * drop / 3600.0 for l, (outlet, drop) in mixing_lds.items() if outlet == hid)
        return e

    m.energy = pyo.Constraint(m.H, rule=lambda m, hid: m.spray[hid] * (h[hid] - props.header_spray_water_kj_kg[hid]) / 3600.0 - m.deficit[hid] == exhaust_excess(hid))
    # spray only when the mixed exhausts are hotter than the header, a deficit only when colder:
    # one binary per header that receives exhausts (big-M on the header's possible excess)
    mixing = [hid for hid in H if any(site.turbines[t].sections[k].outlet == hid for t, k in st.sections)
              or any(l.outlet == hid and not l.desuperheat for l in site.letdowns.values())]
    big_m = {hid: 1.0 + sum(site.turbines[t].sections[k].max_flow_tph * max(h.values()) / 3600.0
                            for t, k in st.sections if site.turbines[t].sections[k].outlet == hid)
                 + sum(l.max_flow_tph * max(h.values()) / 3600.0 for l in site.letdowns.values() if l.outlet == hid and not l.desuperheat)
             for hid in mixing}
    m.hot = pyo.Var(mixing, domain=pyo.Binary)
    m.spray_if_hot = pyo.Constraint(mixing, rule=lambda m, hid: m.spray[hid] * (h[hid] - props.header_spray_water_kj_kg[hid]) / 3600.0 <= big_m[hid] * m.hot[hid])
    m.deficit_if_cold = pyo.Constraint(mixing, rule=lambda m, hid: m.deficit[hid] <= big_m[hid] * (1 - m.hot[hid]))
    m.no_mixing = pyo.Constraint([hid for hid in H if hid not in mixing], rule=lambda m, hid: m.spray[hid] + m.deficit[hid] == 0)

    # condensers: duty within the cooling capacity
    cond_sections = [(t, k) for t, k in st.sections if site.turbines[t].sections[k].outlet in site.condensers]
    into: dict[str, list[tuple[str, int]]] = {cid: [] for cid in site.condensers}  # each condenser's sections, in order
    for t, k in cond_sections:
        into[site.turbines[t].sections[k].outlet].append((t, k))
    m.cond_duty = pyo.Constraint(list(site.condensers), rule=lambda m, cid: pyo.Constraint.Skip if site.condensers[cid].max_duty_mw == float("inf") else sum(
        leaving_energy_mw(t, k) - leaving(t, k) * props.condensate_kj_kg[cid] / 3600.0 for t, k in into[cid]
    ) <= site.condensers[cid].max_duty_mw)

    # ------------------------------------------------------------------ deaerator
    h_m, h_s = props.makeup_kj_kg, h[da_h]
    h_c = next(iter(props.condensate_kj_kg.values()), h_m)
    m.da_excess = pyo.Var(domain=pyo.NonNegativeReals, bounds=(0.0, None if props.has_deaerator else 0.0))
    m.feedwater = pyo.Expression(expr=sum(m.b_steam[b] for b in m.B) + sum(m.g_unfired[g] for g in m.G) + sum(m.d_steam[g] for g in m.GD)
                                 + sum(m.tle[s] for s in m.S) + sum(ratio[l] * m.ld[l] for l in m.L) + sum(m.spray[k] for k in m.H))
    ret = {c: site.steam.condensate_return_fraction if x.condensate_return_fraction is None else x.condensate_return_fraction for c, x in site.consumers.items()}
    m.returned = pyo.Expression(expr=sum(ret[c] * draw(c) for c in site.consumers))
    m.condensate = pyo.Expression(expr=sum(leaving(t, k) for t, k in cond_sections))
    m.makeup = pyo.Expression(expr=m.feedwater - m.returned - m.condensate - m.da_steam)
    if props.has_deaerator:
        m.da_energy = pyo.Constraint(expr=m.da_steam * (h_s - h_m) - m.da_excess == m.feedwater * (props.deaerator_feedwater_kj_kg - h_m)
                                     - m.returned * (props.condensate_return_kj_kg - h_m) - m.condensate * (h_c - h_m))
        m.makeup_nonneg = pyo.Constraint(expr=m.makeup >= 0)
    # else no deaerator: the feedwater comes at its stated state, no water-side balance (returned water beyond the feedwater is drained)

    # ------------------------------------------------------------------ fuels, electricity, emissions
    e = site.electricity
    on_fs = fuel_system_units(site)  # units burning from the fuel system's headers (optimizer/fuel_system.py), not from [fuels]

    def duct_fuel(g: str):
        """A duct burner's fuel, GJ/h: the learned duct's variable, else additive in its steam."""
        return m.d_fuel[g] if g in ducts else duct_gj_per_t[g] * m.d_steam[g]

    m.fuel = pyo.Expression(m.F, rule=lambda m, f: sum(m.b_fuel_split[b, f] for b in st.boilers if f in site.boilers[b].fuels and (b, False) not in on_fs)
                            + sum(m.g_fuel[g] for g in st.gts if site.gas_turbines[g].fuel == f and (g, False) not in on_fs)
                            + sum(duct_fuel(g) for g in st.ducts if site.gas_turbines[g].hrsg.duct_fuel == f and (g, True) not in on_fs))
    m.fuel_limit = pyo.Constraint(m.F, rule=lambda m, f: m.fuel[f] <= m.fuel_hi[f])

    def unit_fuel(unit: str, duct: bool):
        if duct:
            return duct_fuel(unit)
        return m.b_fuel[unit] if unit in site.boilers else m.g_fuel[unit]

    add_fuel_system(m, site, unit_fuel, _param, site.emissions.gwp_set)
    m.imp = pyo.Var(domain=pyo.NonNegativeReals, bounds=(0, m.import_hi))
    m.exp = pyo.Var(domain=pyo.NonNegativeReals, bounds=(0, m.export_hi))
    motor_eff = {t: site.turbines[t].motor.efficiency for t in st.motors}
    m.motor_mw = pyo.Expression(expr=sum(m.demand_mw[t] * (1 - m.t_on[t]) / motor_eff[t] for t in st.motors))
    m.generation = pyo.Expression(expr=sum(m.g_power[g] for g in m.G) + sum(m.t_out[t] for t in m.TG))
    # power the site cannot get (every GT out and the import limit reached): priced like unserved
    # steam, so that such a cycle answers with the shortfall (status infeasible_demand), not an
    # infeasible model
    m.power_short = pyo.Var(domain=pyo.NonNegativeReals)
    m.grid = pyo.Constraint(expr=m.imp - m.exp + m.power_short == m.site_load + m.motor_mw - m.generation)
    m.contract_short = pyo.Var(domain=pyo.NonNegativeReals)
    cmin = e.contract_min_import_mw if e else 0.0
    m.contract = pyo.Constraint(expr=m.contract_short >= cmin - m.imp)
    em = site.emissions
    ef = {f: fuel_factor(site.fuels[f], em.gwp_set).total_t_gj for f in site.fuels}
    grid_ef = e.grid_ef_t_mwh if e else 0.0
    m.co2_scope1 = pyo.Expression(expr=sum(ef[f] * m.fuel[f] for f in m.F) + m.fs_co2)
    m.co2_scope2 = pyo.Expression(expr=grid_ef * m.imp - (grid_ef * m.exp if em.credit_export else 0.0))
    m.co2 = pyo.Expression(expr=(m.co2_scope1 if em.scope1 else 0.0) + (m.co2_scope2 if em.scope2 else 0.0))
    m.steam_generated = pyo.Expression(expr=sum(m.b_steam[b] for b in m.B) + sum(m.g_unfired[g] for g in m.G) + sum(m.d_steam[g] for g in m.GD))

    # ------------------------------------------------------------------ objective
    vent_pen = {v: site.vents[v].penalty_per_t for v in site.vents}
    off_pen = {c: site.consumers[c].offspec_penalty_per_t for c in m.CF}
    m.fuel_cost = pyo.Expression(expr=sum(m.fuel_price[f] * m.fuel[f] for f in m.F) + m.fs_cost)
    m.electricity_cost = pyo.Expression(expr=m.import_price * m.imp - (e.export_price_per_mwh if e else 0.0) * m.exp)
    m.carbon_cost = pyo.Expression(expr=m.carbon_price * m.co2)
    m.penalty_cost = pyo.Expression(expr=sum(vent_pen[v] * m.vent[v] for v in m.V) + sum(off_pen[c] * m.offspec[c] for c in m.CF)
                                    + (e.shortfall_penalty_per_mwh if e else 0.0) * m.contract_short)
    m.cost = pyo.Expression(expr=m.fuel_cost + m.electricity_cost + m.carbon_cost + m.penalty_cost)
    # N-1 cover (optimizer/n1_cover.py), only when the site file asks for it: its shortfall is priced in the slack cost
    n1_penalty = add_n1_cover(m, site) if site.n1_cover.enabled else 0.0
    # the deaerator's excess heat is only physical when returned condensate alone overheats it;
    # priced like unplaced steam so it is never a cheap way to dump steam
    m.slack_cost = pyo.Expression(expr=UNSERVED_PENALTY * (sum(m.unserved[k] + m.unplaced[k] for k in m.H) + m.da_excess + m.power_short)
                                  + SLACK_PENALTY * sum(m.spray[k] + m.deficit[k] for k in m.H) + n1_penalty
                                  + SWING_SHORT_PENALTY * sum(m.swing_short[h] for h in m.SW) + purity_penalty(m) + m.fs_penalty)
    # a switch's cost spread over the hours it must pay back in (per cycle: start cost / H on a unit
    # off now, stop cost / H on one on now, written as rate * on + constant; 0 in a plan's periods)
    m.SWU = pyo.Set(initialize=[("b", b) for b in m.B] + [("g", g) for g in m.G] + [("t", t) for t in m.TG], dimen=2)
    _param(m, "switch_rate", m.SWU)
    _param(m, "switch_const")
    on_of = {"b": m.b_on, "g": m.g_on, "t": m.t_on}
    m.switch_cost = pyo.Expression(expr=sum(m.switch_rate[k, u] * on_of[k][u] for k, u in m.SWU) + m.switch_const)
    w_cost, w_co2, w_steam = weights
    m.objective = pyo.Objective(expr=w_cost * (m.cost + m.switch_cost) + w_co2 * m.co2 + w_steam * m.steam_generated + m.slack_cost,
                                sense=pyo.minimize)
    return m
