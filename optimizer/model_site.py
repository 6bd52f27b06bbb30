"""Models know their site: a model directory records the site it was trained for, and is refused
for a site whose physics its models do not describe.

A learned model maps measured tags of one unit to a measured tag of that unit (boiler B1's fuel
against its steam and the ambient). What that mapping means depends on more than the tags: the
fuel a boiler burns for a tonne of steam depends on the enthalpy it raises the steam to (its
header's pressure and temperature) and the enthalpy it starts from (its feedwater). So at training
time (and by ``steamopt surrogate stamp`` for an existing directory) the manifest's
``[site_record]`` table records, written in the same atomic write as the model list:

* ``hash``: the site's SHA-256 (canonical JSON of the whole site, as the audit trail's
  ``site_hash``: :func:`optimizer.audit.sha256_of`), and ``site``, its name;
* per model (``[site_record.models.NAME]``): ``kind`` and ``unit`` (which quantity of which unit),
  ``inputs`` and ``outputs`` (its tag names), and the physical inputs its meaning depends on,
  as flat ``"<component> <id>.<field>" = value`` pairs (:func:`model_dependencies`):

  ============== ==========================================================================
  kind           recorded (besides kind, unit, tags)
  ============== ==========================================================================
  boiler_fuel    the boiler's header and its state, its feedwater enthalpy, its fuels
  gt_fuel        the GT's fuel and inlet-filter class (the meaning of ``fouling_hours``)
  hrsg_steam     as gt_fuel, plus the HRSG's header and its state and its feedwater enthalpy
  turbine_steam  drive, number of sections, inlet header and its state, the exhaust (a header
                 and its state, or a condenser and its pressure)
  ectg_steam     as turbine_steam, plus the extraction header (the first section's outlet) and
                 its state (an extraction-condensing generator's inlet against power and extraction)
  duct_steam     as hrsg_steam without the filter class (no fouling input), plus the duct fuel (an
                 HRSG's duct-fired steam against GT power and duct fuel)
  column_steam,  the header the reboiler draws from and its state, and the column's physics
  column_purity  (relative volatility, stages, feed composition, distillate/feed, boil-up and
                 reboiler heats)
  ============== ==========================================================================

  A header's state is its gauge pressure, its temperature or enthalpy as the site gives it, and
  the site's atmospheric pressure (gauge to absolute). The feedwater is recorded by the enthalpy
  the site's properties give it (kJ/kg, to 0.01), however the site states it (a temperature at a
  pressure, an enthalpy, the unit's own or the site's).

Not recorded, because a learned model does not depend on them: prices, tariffs, emission factors
and carbon prices; operating limits (minimum and maximum loads, ramps, availability, start and
stop data, vents, letdowns' capacities); measurement uncertainty and the plant connection; and a
learned unit's first-principles coefficients (efficiency curves, heat rates, Willans data), which
the learned model replaces. Limits are left out on purpose: the run-time domain warnings cover a
load outside the training data.

Loading a model directory for a site (:func:`load_models_for_site`, the one function every
command, the study runner and the service use):

* same hash: loaded;
* different hash: every model's recorded dependencies are compared with the site's. Differences
  that change what a model means (a header pressure or temperature a unit's curve depends on, a
  unit removed or renamed, a fuel, a tag) refuse the directory with :class:`ModelSiteMismatch`
  naming each difference (old value -> new value, the models affected) and the command to
  retrain; differences no model depends on load, with an info log saying so;
* no record (a directory written before this existed): loaded with a warning.

A model of a unit whose ``curve_source`` is ``first_principles`` is not used (the site file's
data give its curve), so its recorded inputs are not compared. ``--models none`` (no directory)
has nothing to check.

A scenario study checks its models against its site file; the scenario's ``[changes]`` are a
deliberate what-if run on them (``what_if=``): what they alter that a model depends on is
logged as a warning, not refused.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from optimizer import tags
from optimizer.audit import sha256_of
from optimizer.curves import classify
from optimizer.fp_curves import no_models
from optimizer.site.properties import SiteProperties, compute_properties
from optimizer.site.model import Site, extraction_condensing_generators
from surrogate.manifest import Manifest, load_model_dir_with_manifest, write_manifest
from surrogate.serving import OnnxSurrogate

__all__ = ["ModelSiteMismatch", "build_site_record", "compare_site_record", "load_models_for_site", "model_dependencies",
           "site_hash", "stamp_model_dir"]

log = logging.getLogger(__name__)

RECORD_FORMAT = "1"
#: The word used in messages for a unit of each kind of learned quantity.
_UNIT_WORD = {"boiler_fuel": "boiler", "gt_fuel": "gas_turbine", "hrsg_steam": "gas_turbine", "turbine_steam": "steam_turbine",
              "column_steam": "consumer", "column_purity": "consumer", "ectg_steam": "steam_turbine",
              "duct_steam": "gas_turbine"}
_COLUMN_PHYSICS = ("relative_volatility", "theoretical_stages", "feed_light_fraction", "distillate_to_feed",
                   "boilup_latent_heat_kj_kg", "reboiler_heat_kj_kg")
_ABSENT = "(absent)"


class ModelSiteMismatch(ValueError):
    """A model directory refused for a site whose physics its models do not describe; the message
    names each difference and the command to retrain."""


def site_hash(site: Site) -> str:
    """SHA-256 of the site (canonical JSON of every field; the same as a proposal's ``site_hash``)."""
    return sha256_of(site)


def _header_state(site: Site, hid: str, out: dict[str, Any]) -> None:
    h = site.headers.get(hid)
    if h is None:
        out[f"header {hid}"] = _ABSENT
        return
    out[f"header {hid}.pressure_barg"] = h.pressure_barg
    if h.temp_c is not None:
        out[f"header {hid}.temp_c"] = h.temp_c
    if h.enthalpy_kj_kg is not None:
        out[f"header {hid}.enthalpy_kj_kg"] = h.enthalpy_kj_kg
    out["site.atmospheric_pressure_bar"] = site.steam.atmospheric_pressure_bar


def model_dependencies(site: Site, kind: str, unit: str, props: SiteProperties | None = None) -> dict[str, Any] | None:
    """The physical inputs the meaning of ``kind``'s model of ``unit`` depends on (module
    docstring), as ``"<component> <id>.<field>" -> value``; None if ``site`` has no such unit (or
    no longer this quantity of it: a GT without its HRSG, a consumer that is no longer a column).
    ``props``: the site's properties (computed when needed and not given). Raises ValueError for
    an unknown kind."""
    out: dict[str, Any] = {}
    if kind in ("boiler_fuel", "hrsg_steam", "duct_steam") and props is None:
        props = compute_properties(site)
    if kind == "boiler_fuel":
        b = site.boilers.get(unit)
        if b is None:
            return None
        out[f"boiler {unit}.header"] = b.header
        _header_state(site, b.header, out)
        out[f"boiler {unit}.feedwater_enthalpy_kj_kg"] = round(props.boiler_feedwater_kj_kg[unit], 2)
        out[f"boiler {unit}.fuels"] = list(b.fuels)
    elif kind in ("gt_fuel", "hrsg_steam", "duct_steam"):
        g = site.gas_turbines.get(unit)
        if g is None or (kind in ("hrsg_steam", "duct_steam") and g.hrsg is None):
            return None
        out[f"gas_turbine {unit}.fuel"] = g.fuel
        if kind != "duct_steam":  # the meaning of fouling_hours, an input of the GT's curves (not of the duct's)
            out[f"gas_turbine {unit}.filter_class"] = g.filter_class
        if kind == "duct_steam":
            out[f"gas_turbine {unit}.hrsg.duct_fuel"] = g.hrsg.duct_fuel
        if kind in ("hrsg_steam", "duct_steam"):
            out[f"gas_turbine {unit}.hrsg.header"] = g.hrsg.header
            _header_state(site, g.hrsg.header, out)
            out[f"gas_turbine {unit}.hrsg.feedwater_enthalpy_kj_kg"] = round(props.hrsg_feedwater_kj_kg[unit], 2)
    elif kind in ("turbine_steam", "ectg_steam"):
        t = site.turbines.get(unit)
        if t is None or (kind == "ectg_steam" and unit not in extraction_condensing_generators(site)):
            return None
        out[f"steam_turbine {unit}.drive"] = t.drive
        out[f"steam_turbine {unit}.sections"] = len(t.sections)
        out[f"steam_turbine {unit}.inlet"] = t.inlet
        _header_state(site, t.inlet, out)
        outlet = t.sections[-1].outlet
        out[f"steam_turbine {unit}.exhaust"] = outlet
        if outlet in site.condensers:
            out[f"condenser {outlet}.pressure_bara"] = site.condensers[outlet].pressure_bara
        else:
            _header_state(site, outlet, out)
        if kind == "ectg_steam":
            extraction = t.sections[0].outlet
            out[f"steam_turbine {unit}.extraction"] = extraction
            _header_state(site, extraction, out)
    elif kind in ("column_steam", "column_purity"):
        c = site.consumers.get(unit)
        if c is None or c.column is None:
            return None
        out[f"consumer {unit}.header"] = c.header
        _header_state(site, c.header, out)
        for name in _COLUMN_PHYSICS:
            out[f"consumer {unit}.column.{name}"] = getattr(c.column, name)
    else:
        raise ValueError(f"kind = {kind!r}: not a learned quantity (known: {', '.join(_UNIT_WORD)})")
    return out


def _quantity(site: Site, outputs: Sequence[str]) -> tuple[str, str, list[str]] | None:
    """(kind, unit, decision input tags) of a model's one output, or None if it is no learned
    quantity of ``site``: a 1-D curve's (:func:`optimizer.curves.classify`), or an
    extraction-condensing generator's inlet (kind ``ectg_steam``, decisions its power and extraction)."""
    if len(outputs) != 1:
        return None
    found = classify(site, outputs[0])
    if found is not None:
        return found[0], found[1], [found[2]]
    for t in extraction_condensing_generators(site):
        if outputs[0] == tags.turbine_inlet(t):
            return "ectg_steam", t, [tags.turbine_power(t), tags.extraction(t, 0)]
    for g in site.gas_turbines:
        if outputs[0] == tags.duct_steam(g):
            return "duct_steam", g, [tags.gt_power(g), tags.duct_fuel(g)]
    return None


def build_site_record(site: Site, entries: Mapping[str, tuple[Sequence[str], Sequence[str]]]) -> dict[str, Any]:
    """The ``[site_record]`` of a model directory for ``site``: ``entries`` maps each model name to
    its (inputs, outputs) tag names. Raises ValueError naming a model that is not a learned
    quantity of ``site`` (its output is no unit's quantity, or it lacks the decision input)."""
    models: dict[str, dict[str, Any]] = {}
    problems = []
    props = compute_properties(site)
    for name, (inputs, outputs) in entries.items():
        found = _quantity(site, outputs)
        if found is None:
            problems.append(f"model {name}: output(s) {list(outputs)} are not one learned quantity of site {site.name!r}")
            continue
        kind, unit, x_tags = found
        lacking = [x for x in x_tags if x not in inputs]
        if lacking:
            problems.append(f"model {name}: inputs {list(inputs)} lack the decision input {lacking[0]!r} of {_UNIT_WORD[kind]} {unit}")
            continue
        models[name] = {"kind": kind, "unit": unit, "inputs": list(inputs), "outputs": list(outputs),
                        **model_dependencies(site, kind, unit, props)}
    if problems:
        raise ValueError("\n".join(problems))
    return {"format": RECORD_FORMAT, "site": site.name, "hash": site_hash(site), "models": models}


def _show(value: Any) -> str:
    if value is None:
        return "not given"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def compare_site_record(site: Site, record: Mapping[str, Any]) -> list[tuple[str, Any, Any, list[str]]]:
    """The differences between a recorded site and ``site`` that change what a model means, as
    ``(what, old, new, models affected)``, one per distinct change (models in record order).
    ``old``/``new`` None: not given on that side."""
    changes: dict[tuple[str, str, str], tuple[Any, Any, list[str]]] = {}
    props = compute_properties(site)

    def note(what: str, old: Any, new: Any, model: str) -> None:
        key = (what, repr(old), repr(new))
        changes.setdefault(key, (old, new, []))[2].append(model)

    for name, rec in (record.get("models") or {}).items():
        kind, unit = rec.get("kind"), rec.get("unit")
        if kind not in _UNIT_WORD or not isinstance(unit, str):
            note(f"model {name}", f"kind {kind!r} of unit {unit!r}", "not a kind this engine knows", name)
            continue
        word = _UNIT_WORD[kind]
        if _curve_source(site, kind, unit) == "first_principles":
            continue  # the model is not used: the site file's data give the unit's curve
        now = model_dependencies(site, kind, unit, props)
        if now is None:
            gone = not _unit_exists(site, kind, unit)
            note(f"{word} {unit}", "present" if gone else f"has {kind}",
                 "removed or renamed" if gone else f"no longer has {kind}", name)
            continue
        # tags: the site must still name the model's output and decision input as the model does
        outputs, inputs = rec.get("outputs") or [], rec.get("inputs") or []
        found = _quantity(site, outputs)
        if found is None or found[:2] != (kind, unit):
            note(f"model {name} output tag", outputs, "not this unit's quantity in the site", name)
        elif any(x not in inputs for x in found[2]):
            note(f"model {name} decision input tag", inputs, next(x for x in found[2] if x not in inputs), name)
        for key in sorted(set(now) | {k for k in rec if k not in ("kind", "unit", "inputs", "outputs")}):
            old, new = rec.get(key), now.get(key)
            if old != new:
                note(key, old, new, name)
    return [(what, old, new, models) for (what, _, _), (old, new, models) in changes.items()]


def _curve_source(site: Site, kind: str, unit: str) -> str | None:
    if kind == "duct_steam":  # a duct's model is used only with duct_curve = "learned" (optimizer/duct.py)
        g = site.gas_turbines.get(unit)
        return None if g is not None and g.hrsg is not None and g.hrsg.duct_curve == "learned" else "first_principles"
    coll = {"boiler_fuel": site.boilers, "gt_fuel": site.gas_turbines, "hrsg_steam": site.gas_turbines,
            "turbine_steam": site.turbines, "ectg_steam": site.turbines}.get(kind)
    u = coll.get(unit) if coll is not None else None
    return getattr(u, "curve_source", None)


def _unit_exists(site: Site, kind: str, unit: str) -> bool:
    coll = {"boiler_fuel": site.boilers, "gt_fuel": site.gas_turbines, "hrsg_steam": site.gas_turbines,
            "turbine_steam": site.turbines, "ectg_steam": site.turbines, "duct_steam": site.gas_turbines}.get(kind, site.consumers)
    return unit in coll


def retrain_command(site: Site, directory: Path) -> str:
    """The command that trains models for ``site`` (its file, a historian of its tags, a new directory)."""
    site_file = site.source if site.source and not site.source.startswith("<") else "SITE.toml"
    out = directory.parent / f"{Path(site_file).stem}_models"
    if out.resolve() == directory.resolve():
        out = directory.parent / f"{directory.name}_retrained"
    return f"steamopt surrogate train --site {site_file} --data HISTORIAN.parquet --out {out}"


def _mismatch_message(site: Site, directory: Path, record: Mapping[str, Any], diffs: list) -> str:
    affected = sorted({m for *_, models in diffs for m in models})
    site_file = site.source if site.source and not site.source.startswith("<") else "SITE.toml"
    lines = [f"model directory {directory}: its models were trained for site {record.get('site', '?')!r} "
             f"(hash {str(record.get('hash'))[:12]}), and site {site.name!r} ({site_file}, hash {site_hash(site)[:12]}) differs in "
             f"what {len(affected)} of them depend on; they would run on the wrong physics:"]
    for what, old, new, models in diffs:
        lines.append(f"  {what}: {_show(old)} -> {_show(new)} (affects {', '.join(models)})")
    lines.append(f"retrain for this site: {retrain_command(site, directory)}")
    lines.append(f"  (HISTORIAN.parquet: this site's historian with the tags of every learned quantity; for a simulated site, "
                 f"`steamopt simulate --site {site_file} --policy campaign --hours 2160 --out DIR` writes one as DIR/historian.parquet)")
    return "\n".join(lines)


def check_manifest_for_site(site: Site, manifest: Manifest) -> None:
    """Raise :class:`ModelSiteMismatch` if ``manifest``'s models were trained for a site whose
    physics ``site`` does not share; log what is accepted (module docstring)."""
    directory = manifest.path.parent
    record = manifest.site_record
    if record is None:
        log.warning("model directory %s records no site (written before models recorded their site): it cannot be checked "
                    "against site %r; if its models were trained for this site, record it with "
                    "`steamopt surrogate stamp --site %s --models %s`", directory, site.name,
                    site.source if not site.source.startswith("<") else "SITE.toml", directory)
        return
    unrecorded = [n for n in manifest.models if n not in (record.get("models") or {})]
    if unrecorded:
        log.warning("model directory %s: model(s) %s not in its site record: not checked against site %r",
                    directory, ", ".join(unrecorded), site.name)
    if record.get("hash") == site_hash(site):
        log.debug("model directory %s: trained for this site (hash %s)", directory, site_hash(site)[:12])
        return
    diffs = compare_site_record(site, record)
    if diffs:
        raise ModelSiteMismatch(_mismatch_message(site, directory, record, diffs))
    log.info("site %r (hash %s) differs from the site the models in %s were trained for (hash %s) only in what the models "
             "do not depend on (prices, tariffs, limits, ...): loaded", site.name, site_hash(site)[:12], directory,
             str(record.get("hash"))[:12])


def load_models_for_site(site: Site, directory: str | os.PathLike[str] | None, *, what_if: Site | None = None) -> dict[str, OnnxSurrogate]:
    """Serve the models of ``directory`` for ``site``: every check of
    :func:`surrogate.manifest.load_model_dir`, then the site check (module docstring). Raises
    :class:`ModelSiteMismatch` (a ValueError) naming every difference and the command to retrain.

    ``what_if``: a deliberate variant of ``site`` that will run on these models (a scenario
    study's ``[changes]``: another filter class, a hydrogen blend). The models are checked against
    ``site`` (the site file they must belong to); what the variant changes that a model depends
    on is logged as a warning naming each difference (the study then measures the models against a
    plant they do not know), not refused."""
    if no_models(directory):  # --models none: every unit on first principles, nothing to check
        return {}
    manifest, models = load_model_dir_with_manifest(directory)
    check_manifest_for_site(site, manifest)
    record = manifest.site_record
    if what_if is not None and record is not None and site_hash(what_if) != record.get("hash"):
        diffs = compare_site_record(what_if, record)
        if diffs:
            log.warning("%s: the models of %s were trained without its changes, which alter what they depend on: %s; the "
                        "what-if runs on them as they are", what_if.source, manifest.path.parent,
                        "; ".join(f"{what}: {_show(old)} -> {_show(new)} ({', '.join(ms)})" for what, old, new, ms in diffs))
    return models


def stamp_model_dir(site: Site, directory: str | os.PathLike[str]) -> Path:
    """Record ``site`` in the manifest of an existing model directory (the ONNX files are not
    touched; the manifest is rewritten atomically with the same model list). Refused
    (:class:`ModelSiteMismatch`) if the directory already records a site whose physics differ:
    stamping must not hide the difference this record exists to show. Returns the manifest path."""
    manifest, _ = load_model_dir_with_manifest(directory)
    if manifest.site_record is not None:
        check_manifest_for_site(site, manifest)
    entries = {name: (e.inputs, e.outputs) for name, e in manifest.models.items()}
    record = build_site_record(site, entries)
    return write_manifest(directory, {name: (e.file, e.inputs, e.outputs) for name, e in manifest.models.items()},
                          site=manifest.site if manifest.site is not None else site.name, site_record=record)

