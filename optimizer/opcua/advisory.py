"""What a Proposal publishes to the advisory nodes: one value per item of the site's
``[plant_connection.advisory_nodes]``.

| item | value |
| --- | --- |
| ``status`` | the proposal's status (a string node), or its code below (a numeric node) |
| ``setpoint.<name>`` | ``proposal.setpoints[name]`` (t/h, MW, 0/1 or share, as the setpoint) |
| ``<kpi>`` (e.g. ``cost_per_h``, ``co2e_t_h``, ``fuel_gj_h``) | the proposed KPI |
| ``saving_<kpi>`` (e.g. ``saving_cost_per_h``, ``saving_co2e_t_h``) | current minus proposed KPI |
| ``current_<kpi>`` | the KPI of the current operating point |

A value the proposal does not carry (e.g. KPIs of a hold) is published as NaN on a floating-point
node, so no stale number stays on display; on other node types it is left as it was (reported).
"""

from __future__ import annotations

import math

from optimizer.proposal import STATUSES, Proposal

# numeric status codes for plant systems without string tags
STATUS_CODES: dict[str, int] = {name: i for i, name in enumerate(STATUSES)}


def advisory_value(item: str, proposal: Proposal) -> float | str | None:
    """The value ``item`` publishes for ``proposal`` (None: the proposal has none)."""
    if item == "status":
        return proposal.status
    if item.startswith("setpoint."):
        return _num(proposal.setpoints.get(item[len("setpoint."):]))
    if item.startswith("saving_"):
        return _num(proposal.savings.get(item[len("saving_"):]))
    if item.startswith("current_"):
        return _num(proposal.current_kpis.get(item[len("current_"):]))
    return _num(proposal.proposed_kpis.get(item))


def unknown_items(items: list[str], setpoints: list[str]) -> list[str]:
    """Items that can never carry a value: ``setpoint.<name>`` of a name the site has no setpoint for."""
    known = set(setpoints)
    return [i for i in items if i.startswith("setpoint.") and i[len("setpoint."):] not in known]


def _num(v: object) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
