"""The reality gap: a simulated plant that differs from what the site file and the surrogates know.

A scenario's ``[reality_gap]`` table (:class:`RealityGap`) changes the *true* plant only; the site
file, the surrogates, the snapshot's nominal fouling hours and everything a policy is told stay as
they were. Every option defaults to "no gap", and the options combine freely. Published ranges and
sources are in ``docs/reality_gap.md``.

1. **Boiler degradation nobody told the models** (fireside soot, waterside scale, excess-air
   drift between cleanings): boiler ``b`` loses ``L_b(t) = (L0_b + r_b t / 168 h) / 100`` of
   efficiency (absolute, as a fraction), ``t`` the hours since the study's first step, ``L0_b``
   = ``boiler_efficiency_loss_points_at_start`` and ``r_b`` =
   ``boiler_efficiency_loss_points_per_week`` (points). At fixed steam the true fuel is
   ``Q = heat / (eta - L)``, i.e. ``eta / (eta - L) - 1`` more than the nominal curve says.
2. **GT compressor fouling faster than the site file says**: the true power loss and heat-rate
   rise per 1000 running hours are ``gt_fouling_rate_factor`` x the site file's (for the fitted
   filter class). The snapshot still reports the nominal running hours since the last wash.
3. **Biased meters** (:func:`measured_snapshot`): a snapshot tag ``x`` reads
   ``x (1 + bias + drift t / 168 h)``; the plant's true flows are unchanged. Deterministic.
4. **Unmeasured steam losses** (failed traps, leaks): header ``H`` loses
   ``unmeasured_loss_fraction[H]`` x the steam its process consumers draw, a stream of the header
   balance and a tag ``H.unmeasured_loss_tph`` that no snapshot carries. The pressure cascade makes
   up the loss (letdowns, then the boilers on master); the lost water is made up at the deaerator.
5. **Ambient outside the surrogates' training range**: a scenario's ``[profile]`` ambient range
   (e.g. the hot-season week); :func:`outside_training_range` says which steps lie outside the
   ambient range every model of a model directory was trained on.
6. **Demand that moves within a cycle**: ``decision_lag_steps = 1`` means the decision computed
   from the snapshot of step ``t`` is applied to the plant at step ``t + 1``'s conditions. This
   module only carries the field; the study loop applies the lag.

API: :class:`RealityGap` (``is_null``), :func:`apply_reality_gap` (disturbances with the true
plant's degradation and losses, for the simulator), :func:`measured_snapshot` (meter bias and
drift), :func:`reality_gap_issues` (checks against a site file's data),
:func:`training_ambient_range` and :func:`outside_training_range`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optimizer import tags
from optimizer.site.model import attr
from optimizer.site.schema import DataFileError, ValidationIssue
from scenarios.plant.inputs import Disturbances

log = logging.getLogger(__name__)

__all__ = [
    "HOURS_PER_WEEK",
    "MAX_BOILER_EFFICIENCY_LOSS",
    "METER_SUFFIXES",
    "RealityGap",
    "apply_reality_gap",
    "check_disturbance_gap",
    "check_reality_gap",
    "measured_snapshot",
    "meter_factor",
    "outside_training_range",
    "reality_gap_issues",
    "training_ambient_range",
    "unmeasured_loss_tag",
]

HOURS_PER_WEEK = 168.0
#: Snapshot tags a meter bias may apply to: measured flows, powers and fuel rates.
METER_SUFFIXES = ("_tph", "_mw", "_gj_h")


@dataclass(frozen=True, kw_only=True)
class RealityGap:
    """How the true plant differs from what the site file and the surrogates know (all default: no gap)."""

    boiler_efficiency_loss_points_at_start: dict[str, float] = attr(
        "%-points", "efficiency (LHV) each boiler has already lost at the first step, since its last cleaning "
        "(fouling, scale, excess-air drift); published 1-3 points between cleanings", default_factory=dict, ge=0.0, le=5.0)
    boiler_efficiency_loss_points_per_week: dict[str, float] = attr(
        "%-points/week", "efficiency (LHV) each boiler loses per week of the study, growing linearly from the first step; "
        "published 1-3 points over weeks to months", default_factory=dict, ge=0.0, le=3.0)
    gt_fouling_rate_factor: dict[str, float] = attr(
        "-", "true compressor-fouling rate (power loss and heat-rate rise per 1000 h) / the site file's, per gas turbine; "
        "1 = as the site file says", default_factory=dict, ge=0.0, le=5.0)
    meter_bias: dict[str, float] = attr(
        "-", "relative bias of a snapshot tag (0.03: reads 3 % high); published +-1-3 % for orifice steam meters",
        default_factory=dict, ge=-0.1, le=0.1)
    meter_drift_per_week: dict[str, float] = attr(
        "1/week", "relative drift of a snapshot tag per week of the study (adds to meter_bias)",
        default_factory=dict, ge=-0.05, le=0.05)
    unmeasured_loss_fraction: dict[str, float] = attr(
        "-", "steam lost unmetered from a header (failed traps, leaks) / the steam its process consumers draw; "
        "published: a few %", default_factory=dict, ge=0.0, le=0.3)
    decision_lag_steps: int = attr(
        "steps", "0: a decision is applied at the conditions it was computed for; 1: at the next step's (demand moves "
        "within a cycle)", default=0, ge=0, le=1)

    def is_null(self) -> bool:
        """True when the true plant is the one the models know (every option at its no-gap value)."""
        return (not any(self.boiler_efficiency_loss_points_at_start.values())
                and not any(self.boiler_efficiency_loss_points_per_week.values())
                and all(v == 1.0 for v in self.gt_fouling_rate_factor.values())
                and not any(self.meter_bias.values()) and not any(self.meter_drift_per_week.values())
                and not any(self.unmeasured_loss_fraction.values())
                and self.decision_lag_steps == 0)

    def boiler_efficiency_loss(self, elapsed_h: float) -> dict[str, float]:
        """Efficiency lost per boiler ``elapsed_h`` hours after the first step, absolute fraction
        (0.01 = one point)."""
        units = set(self.boiler_efficiency_loss_points_at_start) | set(self.boiler_efficiency_loss_points_per_week)
        return {b: (self.boiler_efficiency_loss_points_at_start.get(b, 0.0)
                    + self.boiler_efficiency_loss_points_per_week.get(b, 0.0) * elapsed_h / HOURS_PER_WEEK) / 100.0
                for b in sorted(units)}


def unmeasured_loss_tag(header: str) -> str:
    """Tag of a header's unmeasured loss, t/h (in the simulated state, never in a snapshot)."""
    return f"{header}.unmeasured_loss_tph"


# --------------------------------------------------------------------------- the true plant


def apply_reality_gap(disturbances: Sequence[Disturbances], gap: RealityGap, step_min: float) -> list[Disturbances]:
    """Copies of a profile's disturbances with the true plant's degradation and losses, for the
    simulator: step ``k`` (``k * step_min / 60`` hours after the first) gets
    ``boiler_efficiency_loss`` (absolute fraction, :meth:`RealityGap.boiler_efficiency_loss`),
    ``gt_fouling_rate_factor`` and ``unmeasured_loss_fraction``. Meters and the decision lag are
    not applied here (:func:`measured_snapshot`; the study loop). The input is not modified; with
    a null gap the copies equal the input.
    """
    if not step_min > 0.0:
        raise ValueError(f"step_min = {step_min!r} min: must be > 0")
    factors = {g: float(f) for g, f in gap.gt_fouling_rate_factor.items() if f != 1.0}
    losses = {h: float(f) for h, f in gap.unmeasured_loss_fraction.items() if f > 0.0}
    degrading = any(gap.boiler_efficiency_loss_points_at_start.values()) or any(gap.boiler_efficiency_loss_points_per_week.values())
    out: list[Disturbances] = []
    for k, d in enumerate(disturbances):
        eff = gap.boiler_efficiency_loss(k * step_min / 60.0) if degrading else {}
        out.append(dataclasses.replace(
            d, consumer_demand_tph=dict(d.consumer_demand_tph), byproduct_steam_tph=dict(d.byproduct_steam_tph),
            machine_power_mw=dict(d.machine_power_mw), gt_fouling_hours=dict(d.gt_fouling_hours), unavailable=set(d.unavailable),
            boiler_efficiency_loss={**d.boiler_efficiency_loss, **{b: v for b, v in eff.items() if v != 0.0}},
            gt_fouling_rate_factor={**d.gt_fouling_rate_factor, **factors},
            unmeasured_loss_fraction={**d.unmeasured_loss_fraction, **losses},
        ))
    return out


def meter_factor(gap: RealityGap, tag: str, elapsed_h: float) -> float:
    """What a meter reads / the true value: ``1 + bias + drift_per_week * elapsed_h / 168``."""
    return 1.0 + gap.meter_bias.get(tag, 0.0) + gap.meter_drift_per_week.get(tag, 0.0) * elapsed_h / HOURS_PER_WEEK


def measured_snapshot(snapshot: Mapping[str, Any], gap: RealityGap, elapsed_h: float) -> dict[str, Any]:
    """The snapshot as the biased meters report it, ``elapsed_h`` hours after the first step: each
    tag of ``meter_bias`` or ``meter_drift_per_week`` is multiplied by :func:`meter_factor`; every
    other tag is copied unchanged (so is a biased tag absent from this snapshot). Deterministic."""
    out = dict(snapshot)
    for tag in set(gap.meter_bias) | set(gap.meter_drift_per_week):
        value = out.get(tag)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[tag] = float(value) * meter_factor(gap, tag, elapsed_h)
    return out


# --------------------------------------------------------------------------- validation


def reality_gap_issues(site_data: Mapping[str, Any], gap: RealityGap, hours: float | None = None,
                       prefix: str = "reality_gap") -> list[ValidationIssue]:
    """Problems of ``gap`` against a site's plain data: boiler, gas-turbine and header ids that the
    site does not have, meter tags that are not measured flows, powers or fuel rates of its
    snapshot, and (given the horizon ``hours``) a boiler losing more than
    :data:`MAX_BOILER_EFFICIENCY_LOSS` by the end of it."""
    issues: list[ValidationIssue] = []
    if hours is not None:
        for b, loss in gap.boiler_efficiency_loss(hours).items():
            if loss > MAX_BOILER_EFFICIENCY_LOSS:
                issues.append(ValidationIssue(f"{prefix}.boiler_efficiency_loss_points_per_week.{b}",
                                              gap.boiler_efficiency_loss_points_per_week.get(b, 0.0),
                                              f"boiler {b} would have lost {100 * loss:.3g} points by the end of the "
                                              f"{hours:g} h horizon: at most {100 * MAX_BOILER_EFFICIENCY_LOSS:g} points"))
    table = lambda key: site_data.get(key) if isinstance(site_data.get(key), dict) else {}  # noqa: E731
    known = lambda ids: ", ".join(sorted(ids)) or "none"  # noqa: E731
    for name, ids, what in (("boiler_efficiency_loss_points_at_start", table("boilers"), "boiler"),
                            ("boiler_efficiency_loss_points_per_week", table("boilers"), "boiler"),
                            ("gt_fouling_rate_factor", table("gas_turbines"), "gas turbine"),
                            ("unmeasured_loss_fraction", table("headers"), "header")):
        for uid in getattr(gap, name):
            if uid not in ids:
                issues.append(ValidationIssue(f"{prefix}.{name}.{uid}", getattr(gap, name)[uid],
                                              f"unknown {what} (known: {known(ids)})"))
    meter_tags = set(gap.meter_bias) | set(gap.meter_drift_per_week)
    if meter_tags:
        measured = _measured_tags(site_data)
        for name in ("meter_bias", "meter_drift_per_week"):
            for tag in getattr(gap, name):
                if measured is not None and tag not in measured:
                    issues.append(ValidationIssue(f"{prefix}.{name}.{tag}", getattr(gap, name)[tag],
                                                  f"not a measured flow, power or fuel tag of the site's snapshot "
                                                  f"(ending {', '.join(METER_SUFFIXES)}; e.g. {', '.join(sorted(measured)[:4])})"))
    return issues


def _measured_tags(site_data: Mapping[str, Any]) -> set[str] | None:
    """The snapshot tags of the site a meter bias may apply to, or None if the site does not build
    (its own problems are reported when the site is built)."""
    from optimizer.site.loader import site_from_dict
    from optimizer.snapshot import tag_rules

    try:
        site = site_from_dict(dict(site_data), "<site for reality_gap checks>")
    except (DataFileError, ValueError):
        return None
    return {t for t in tag_rules(site) if t.endswith(METER_SUFFIXES) and t != tags.SITE_LOAD}


def check_reality_gap(site_data: Mapping[str, Any], gap: RealityGap, hours: float | None = None,
                      source: str = "<reality_gap>") -> None:
    """Raise :class:`~optimizer.site.schema.DataFileError` listing :func:`reality_gap_issues`, if any."""
    issues = reality_gap_issues(site_data, gap, hours)
    if issues:
        raise DataFileError(source, issues)


#: Largest efficiency loss a boiler may have, absolute fraction: a boiler 20 points down would be
#: taken out for cleaning long before (soot alone is cleaned at a 75 F stack-temperature rise, about
#: 2 points; ABMA soot guidance, docs/reality_gap.md).
MAX_BOILER_EFFICIENCY_LOSS = 0.2


def check_disturbance_gap(site: Any, d: Disturbances) -> None:
    """Raise ValueError, naming the field, the value and the rule, when a disturbance's reality-gap
    fields name units the site does not have or hold values outside their rules (the simulator
    calls this every step; the fields are empty unless a reality gap was applied)."""
    for name, ids, what, lo, hi in (
        ("boiler_efficiency_loss", site.boilers, "boiler", 0.0, MAX_BOILER_EFFICIENCY_LOSS),
        ("gt_fouling_rate_factor", site.gas_turbines, "gas turbine", 0.0, 5.0),
        ("unmeasured_loss_fraction", site.headers, "header", 0.0, 0.3),
    ):
        for uid, value in getattr(d, name).items():
            if uid not in ids:
                raise ValueError(f"disturbances at {d.timestamp}: {name}[{uid!r}] = {value!r}: unknown {what} of site "
                                 f"{site.name!r} (known: {', '.join(sorted(ids)) or 'none'})")
            if not lo <= value <= hi:  # also refuses nan
                raise ValueError(f"disturbances at {d.timestamp}: {name}[{uid!r}] = {value!r}: must be in [{lo:g}, {hi:g}]")


# --------------------------------------------------------------------------- training range


def training_ambient_range(models_path: str | Path) -> tuple[float, float]:
    """The ambient range, C, inside the training domain of every model of a model directory that
    takes ``ambient_temp_c`` (the intersection of their domains). Raises ValueError when no model
    takes ambient; the directory is checked as :func:`surrogate.manifest.load_model_dir` does."""
    from surrogate.manifest import load_model_dir

    lo, hi = -np.inf, np.inf
    for model in load_model_dir(models_path).values():
        if tags.AMBIENT in model.input_names:
            j = model.input_names.index(tags.AMBIENT)
            lo, hi = max(lo, float(model.domain[0][j])), min(hi, float(model.domain[1][j]))
    if not np.isfinite(lo) and not np.isfinite(hi):
        raise ValueError(f"models_path = {str(models_path)!r}: no model takes {tags.AMBIENT}, so there is no training range of ambient")
    return lo, hi


def outside_training_range(models_path: str | Path, ambient_c: Sequence[float]) -> np.ndarray:
    """Boolean per step: is the ambient (C) outside :func:`training_ambient_range` of the models?
    (A step below the lowest or above the highest ambient any ambient-taking model was trained on.)"""
    lo, hi = training_ambient_range(models_path)
    a = np.asarray(ambient_c, dtype=float)
    return (a < lo) | (a > hi)
