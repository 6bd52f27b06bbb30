"""Extraction-condensing turbogenerators in the site model: inlet steam learned as a function of
two decisions, the power and the extraction, embedded exactly (:mod:`optimizer.relu_embedding`).

A turbine ``t`` of :func:`optimizer.site.model.extraction_condensing_generators` (a generator of
two sections: HP section to an extraction header, LP section to a condenser) whose learned model
``m_in = f(P, x)`` (kind ``ectg_steam``: inputs ``T.power_mw``, ``T.extraction0_tph``, output
``T.inlet_tph``) is supplied, gets the network's block ``ectg_<t>`` (variables ``x[P]``, ``x[X]``,
``y``, per-neuron ``z``, ``delta``), switched by the turbine's on/off ``u_t`` (every row of the
network homogeneous in its variables and ``u_t``: :func:`optimizer.relu_embedding.add_relu_network`'s
``on``), and the link rows

.. math::
    P_t = x_P, \\qquad x_{t0} = x_X, \\qquad m_{t0} = y

so a running turbine's output power ``P_t``, extraction ``x_{t0}`` and inlet flow ``m_{t0}`` are
exactly the network's, and a stopped one has all three 0, as the switched network does. (A
big-M link that detached the network from a stopped turbine let the LP relaxation run a
fraction of the turbine with its inlet steam up to ``M (1 - u_t)`` below the network's: on the
reference site's 24-period plan, 7 % of a period's cost in the relaxation, and the plan's solve
time.) The turbine's other rows stay: the
section chain ``m_{t1} = m_{t0} - x_{t0}``, the sections' flow limits (the operating diagram:
maximum inlet, the condenser's minimum cooling flow and maximum), the HP section's Willans line
(first principles: it gives the extraction's enthalpy and, with ``P_t = eta_m (W_0 + W_1)``,
the LP section's shaft power ``W_1`` and so the condenser's duty); the LP section's own Willans
line is replaced by the learned inlet flow.

Per cycle, :func:`ectg_box` gives the embedding's decision box from the cycle's Param values
(the power box ``[t_lo, t_hi]`` and the extraction box ``[x_lo, x_hi]``; not clipped to the
training domain, so a current point outside it stays feasible: the proposal's check reports a
point outside the domain as for the 1-D curves) for each of the cycle's three box variants (optimisation, pinned, fallback).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from optimizer import tags
from optimizer.relu_embedding import ReluEmbedding, add_relu_network
from optimizer.site.model import Site, extraction_condensing_generators

__all__ = ["EctgUnit", "add_ectgs", "ectg_box", "ectg_models", "ectg_values", "is_ectg_model"]


@dataclass
class EctgUnit:
    """One extraction-condensing generator with a learned inlet: its turbine id, the model's name and
    the served model (its ``evaluate`` runs onnxruntime)."""

    turbine: str
    name: str
    model: object

    @property
    def power_tag(self) -> str:
        return tags.turbine_power(self.turbine)

    @property
    def extraction_tag(self) -> str:
        return tags.extraction(self.turbine, 0)

    def domain(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of the decision inputs (power, extraction) over the training domain."""
        lo, hi = self.model.domain
        names = list(self.model.input_names)
        i, j = names.index(self.power_tag), names.index(self.extraction_tag)
        return np.array([lo[i], lo[j]], float), np.array([hi[i], hi[j]], float)


def ectg_models(site: Site, models: Mapping[str, object]) -> dict[str, EctgUnit]:
    """The models among ``models`` that are an extraction-condensing generator's inlet steam as a
    function of its power and extraction (kind ``ectg_steam``), by turbine id."""
    out: dict[str, EctgUnit] = {}
    for t in extraction_condensing_generators(site):
        for name, model in models.items():
            if list(model.output_names) == [tags.turbine_inlet(t)] and \
                    sorted(model.input_names) == sorted([tags.turbine_power(t), tags.extraction(t, 0)]):
                out[t] = EctgUnit(t, name, model)
    return out


def is_ectg_model(site: Site, model) -> bool:
    """Whether ``model`` is an ``ectg_steam`` model of ``site`` (see :func:`ectg_models`)."""
    return bool(ectg_models(site, {"m": model}))


def add_ectgs(m: pyo.Block, site: Site, units: Mapping[str, EctgUnit]) -> None:
    """The embedded networks and link rows of every unit (the module docstring's math). Adds
    ``m.ECTG`` (turbine ids), the blocks ``ectg_<t>`` and ``m.ectg_embeddings`` (turbine id -> its
    :class:`ReluEmbedding` in this model; the units themselves are not changed, so several models
    may embed the same units)."""
    m.ECTG = pyo.Set(initialize=list(units))
    m.ectg_embeddings = {}
    for t, unit in units.items():
        blk = pyo.Block()
        m.add_component(f"ectg_{t}", blk)
        emb = add_relu_network(blk, unit.model.network, [unit.power_tag, unit.extraction_tag], on=m.t_on[t])
        m.ectg_embeddings[t] = emb
        blk.power_link = pyo.Constraint(expr=m.t_out[t] == blk.x[unit.power_tag])
        blk.extraction_link = pyo.Constraint(expr=m.extr[t, 0] == blk.x[unit.extraction_tag])
        blk.inlet_link = pyo.Constraint(expr=m.flow[t, 0] == blk.y[tags.turbine_inlet(t)])


def ectg_box(t_lo: float, t_hi: float, x_lo: float, x_hi: float) -> tuple[np.ndarray, np.ndarray]:
    """The embedding's decision box (power MW, extraction t/h) from the turbine's power box
    ``[t_lo, t_hi]`` and extraction box ``[x_lo, x_hi]`` (an inverted pair collapses to its lower end)."""
    lo = np.array([t_lo, x_lo], float)
    hi = np.array([t_hi, x_hi], float)
    return lo, np.maximum(hi, lo)


def ectg_values(embedding: ReluEmbedding, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The embedding's Param values for the box ``[lo, hi]`` (:meth:`ReluEmbedding.values`, in
    :attr:`ReluEmbedding.param_data` order)."""
    return embedding.values(lo, hi, {}).values
