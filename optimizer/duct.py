"""Duct firing learned as a function of two decisions, the gas turbine's power and the duct fuel,
embedded exactly (:mod:`optimizer.relu_embedding`).

An HRSG with ``duct_curve = "learned"`` (:func:`optimizer.site.model.learned_ducts`) whose learned
model ``d = f(P, F)`` (kind ``duct_steam``: inputs ``G.power_mw``, ``G.duct_fuel_gj_h``, output
``G.duct_steam_tph``) is supplied gets a duct-fuel variable ``F_g`` (GJ/h, LHV: the fuel the
``[fuels]`` balance or the fuel system's headers see, instead of the additive
``d_g (h_s - h_fw) / 1000 / eta``), the network's block ``duct_<g>`` (variables ``x[P]``, ``x[F]``,
``y``, per-neuron ``z``, ``delta``) switched by the burner's on/off ``u_g`` (``d_on``; every row
of the network homogeneous in its variables and ``u_g``: :func:`optimizer.relu_embedding.add_relu_network`'s
``on``, so an unlit burner's network is all zeros), and the link rows, with ``P_g`` the GT's power
(0 when the GT is off, at most ``M_P``):

.. math::
    F^{min} u_g \\le F_g \\le F^{max} u_g, \\qquad F_g = x_F, \\qquad d_g = y, \\qquad
    x_P \\le P_g, \\qquad x_P \\ge P_g - M_P (1 - u_g)

so a lit burner's GT power, fuel ``F_g`` and fired steam ``d_g`` are exactly the network's, and an
unlit one has ``F_g = d_g = 0`` as its network has; ``x_P = u_g P_g`` (the last two rows with the
network's ``0 \\le x_P``: exact at an integral ``u_g``, McCormick's envelope between). At a
fractional ``u_g`` the relaxation is the perspective: fuel and fired steam scale together. The
first version linked the network by big-M rows relaxed when the burner is unlit, which let the
relaxation fire steam without its fuel (HiGHS's root gap 7.8 % on the reference step; the switched
network is the same idea as TG3's, :mod:`optimizer.ectg`). ``M_P`` is twice the GT's ISO power
plus 2 MW (a cold day's base power exceeds the rating, never twice it). The duct's other rows stay
(fired steam within ``[d_lo, d_hi]`` while lit, lit only with its GT running); its steam enters its
header and the feedwater as before; the unfired steam stays the GT's own learned 1-D curve
(``GTx_hrsg``).

Per cycle, :func:`duct_box` gives the decision box from the cycle's Param values (the GT's power
box ``[g_lo, g_hi]`` of the variant, the burner's fuel range, both reaching 1 % beyond); the supervisor writes the values
(:func:`duct_values`) for each of the cycle's three box variants (optimisation, pinned, fallback),
as for the extraction-condensing generators (:mod:`optimizer.ectg`). The setpoint stays the fired
steam (t/h), which the plant's burner master holds by its fuel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from optimizer import tags
from optimizer.ectg import ectg_values
from optimizer.relu_embedding import ReluEmbedding, add_relu_network
from optimizer.site.model import Site, learned_ducts

__all__ = ["DuctUnit", "add_ducts", "duct_box", "duct_models", "duct_values", "is_duct_model", "missing_duct_models"]


@dataclass
class DuctUnit:
    """One HRSG's learned duct firing: its GT id, the model's name and the served model (its
    ``evaluate`` runs onnxruntime)."""

    gt: str
    name: str
    model: object

    @property
    def power_tag(self) -> str:
        return tags.gt_power(self.gt)

    @property
    def fuel_tag(self) -> str:
        return tags.duct_fuel(self.gt)

    def domain(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of the decision inputs (power MW, duct fuel GJ/h) over the training domain."""
        lo, hi = self.model.domain
        names = list(self.model.input_names)
        i, j = names.index(self.power_tag), names.index(self.fuel_tag)
        return np.array([lo[i], lo[j]], float), np.array([hi[i], hi[j]], float)


def duct_models(site: Site, models: Mapping[str, object]) -> dict[str, DuctUnit]:
    """The models among ``models`` that are an HRSG's duct-fired steam as a function of its GT's
    power and the duct fuel (kind ``duct_steam``), by GT id, for every duct with ``duct_curve = "learned"``."""
    out: dict[str, DuctUnit] = {}
    for g in learned_ducts(site):
        for name, model in models.items():
            if is_duct_model_of(g, model):
                out[g] = DuctUnit(g, name, model)
    return out


def is_duct_model_of(g: str, model) -> bool:
    """Whether ``model`` maps GT ``g``'s power and duct fuel to its duct-fired steam."""
    return list(model.output_names) == [tags.duct_steam(g)] and \
        sorted(model.input_names) == sorted([tags.gt_power(g), tags.duct_fuel(g)])


def is_duct_model(site: Site, model) -> bool:
    """Whether ``model`` is a ``duct_steam`` model of any gas turbine of ``site`` (learned duct or not)."""
    return any(is_duct_model_of(g, model) for g in site.gas_turbines)


def missing_duct_models(site: Site, found: Mapping[str, DuctUnit]) -> str | None:
    """The refusal message for learned ducts without their model (None when none is missing): names
    each unit and how to train its model."""
    missing = [g for g in learned_ducts(site) if g not in found]
    if not missing:
        return None
    return ("; ".join(f"gas_turbines.{g}.hrsg.duct_curve = \"learned\": the models have no duct_steam model of {g} "
                      f"(output {tags.duct_steam(g)} from inputs {tags.gt_power(g)}, {tags.duct_fuel(g)}, e.g. {g}_duct.onnx)"
                      for g in missing)
            + ". Train it from the duct campaign (`steamopt simulate --site SITE.toml --policy campaign --step-units "
            + " ".join(missing) + " --out DUCT_RUN`, then `steamopt surrogate train --site SITE.toml --data HISTORIAN "
            + " ".join(f"--unit-data {g}_duct=DUCT_RUN/historian.parquet" for g in missing)
            + " --out DIR`) or set duct_curve = \"additive\"")


def add_ducts(m: pyo.Block, site: Site, units: Mapping[str, DuctUnit]) -> None:
    """The duct-fuel variables, embedded networks and link rows of every unit (the module
    docstring's math). Adds ``m.GDL`` (GT ids), ``m.d_fuel`` (GJ/h) with its range rows
    ``m.d_fuel_min``/``m.d_fuel_max``, the blocks ``duct_<g>`` (the network and its links only) and
    ``m.duct_embeddings`` (GT id -> its :class:`ReluEmbedding` in this model)."""
    m.GDL = pyo.Set(initialize=list(units))
    m.d_fuel = pyo.Var(m.GDL, domain=pyo.NonNegativeReals)
    fuel_range = {g: (float(site.gas_turbines[g].hrsg.duct_min_fuel_gj_h), float(site.gas_turbines[g].hrsg.duct_max_fuel_gj_h))
                  for g in units}
    m.d_fuel_min = pyo.Constraint(m.GDL, rule=lambda m, g: m.d_fuel[g] >= fuel_range[g][0] * m.d_on[g])
    m.d_fuel_max = pyo.Constraint(m.GDL, rule=lambda m, g: m.d_fuel[g] <= fuel_range[g][1] * m.d_on[g])
    m.duct_embeddings = {}
    for g, unit in units.items():
        blk = pyo.Block()
        m.add_component(f"duct_{g}", blk)
        on = m.d_on[g]
        emb = add_relu_network(blk, unit.model.network, [unit.power_tag, unit.fuel_tag], on=on)
        m.duct_embeddings[g] = emb
        # beyond the box (duct_box) either way: a cold day's base power exceeds the ISO rating, never twice it
        m_p = 2.0 * float(site.gas_turbines[g].iso_power_mw) + 2.0
        xp, xf, y = blk.x[unit.power_tag], blk.x[unit.fuel_tag], blk.y[tags.duct_steam(g)]
        blk.fuel_link = pyo.Constraint(expr=m.d_fuel[g] == xf)
        blk.steam_link = pyo.Constraint(expr=m.d_steam[g] == y)
        blk.power_hi = pyo.Constraint(expr=xp <= m.g_power[g])                      # x_P = u P: 0 <= P when unlit
        blk.power_lo = pyo.Constraint(expr=xp >= m.g_power[g] - m_p * (1 - on))     # and x_P = P when lit


#: Share of the GT's ISO power and of the burner's maximum fuel by which the network's box reaches
#: beyond the unit's own limits on each side (see :func:`duct_box`).
BOX_MARGIN = 0.01


def duct_box(site: Site, g: str, g_lo: float, g_hi: float) -> tuple[np.ndarray, np.ndarray]:
    """The embedding's decision box (power MW, duct fuel GJ/h): the GT's power box ``[g_lo, g_hi]``
    and the burner's fuel range, each widened by :data:`BOX_MARGIN` of the unit's scale (ISO power,
    maximum fuel) on both sides. The unit's own rows (``g_min``/``g_max``, ``d_fuel_min``/``d_fuel_max``)
    hold the limits; the network's box only has to contain them, and reaching beyond keeps a limit
    one row (its worth in the binding limits is what relaxing that row alone saves, not shared with
    a bound of the network's copy of the variable). An inverted pair collapses to its lower end."""
    h = site.gas_turbines[g].hrsg
    m_p, m_f = BOX_MARGIN * site.gas_turbines[g].iso_power_mw, BOX_MARGIN * h.duct_max_fuel_gj_h
    lo = np.array([g_lo - m_p, h.duct_min_fuel_gj_h - m_f], float)
    hi = np.array([g_hi + m_p, h.duct_max_fuel_gj_h + m_f], float)
    return lo, np.maximum(hi, lo)


def duct_values(embedding: ReluEmbedding, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The embedding's Param values for the box ``[lo, hi]`` (:meth:`ReluEmbedding.values`, in
    :attr:`ReluEmbedding.param_data` order), as the ECTGs'."""
    return ectg_values(embedding, lo, hi)
