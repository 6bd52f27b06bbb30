"""Each unit's curve source, per the site file: learned (ONNX) where chosen, first principles elsewhere.

A site file says per unit where its performance comes from (``curve_source`` of boilers, gas
turbines and steam turbines, :mod:`optimizer.site.model`):

* ``auto`` (the default): learned when the model directory has the unit's model, else first
  principles;
* ``learned``: the model is required; a model directory without it is an error naming the unit
  and the model (:func:`site_curves`);
* ``first_principles``: the site file's data, a model of the unit (if any) left unused.

First principles, per kind of quantity:

* ``boiler_fuel``: :class:`optimizer.unit_physics.BoilerPhysics` (the simulator's own definition).
  With a constant efficiency the fuel is linear in the steam at the cycle's ambient: no curve but
  the model's linear row ``fuel = k steam`` with ``k`` set each cycle at its ambient
  (:func:`linear_fuel_boilers`), EXACT. With an efficiency curve (smooth, PCHIP) it is
  linearised on :data:`FP_POINTS` breakpoints over the cycle's box;
* ``gt_fuel`` and ``hrsg_steam``: :class:`optimizer.unit_physics.GasTurbinePhysics` (ISO rating
  with coefficients, or the rating table), linearised on :data:`FP_POINTS` equal steps;
* ``turbine_steam``: no curve; the turbine's sections' own models (Willans, isentropic, enthalpy
  drop) are rows of the optimisation (:mod:`optimizer.formulation`), exact as stated;
* steered columns have no first-principles curve here: a column without its two learned curves
  stays a plain consumer (:mod:`optimizer.columns`).

Checking a proposal: a learned curve is evaluated by onnxruntime, a first-principles curve by
the same function it was linearised from (:meth:`FirstPrinciplesCurves.evaluate`, no lookup of
the linearisation). An exact curve must agree to ``SupervisorConfig.agreement_rtol``; a
linearised one to :data:`FP_LINEARISATION_RTOL` (:meth:`FirstPrinciplesCurves.tolerance`), the
linearisation's own error: a chord of a smooth curve is off the curve between its breakpoints.
Either way the relative difference is reported in ``Proposal.surrogate_agreement`` under the
curve's name, and one beyond what the curve may have is a warning
(:meth:`optimizer.supervisor.Supervisor.curve_mismatches`).
Measured on the reference site's units over their whole load range with 17 points (ambient 24
and 35 C, 500 fouling hours; 4001-point grid): at most 3.6e-4 relative (boiler B4's fuel), 2.3e-4
(a GT's fuel), 2.9e-4 (its HRSG steam); a cycle's move box is narrower, its error smaller
(tests/test_fp_curves.py checks the bound on every unit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from optimizer import tags
from optimizer.curves import CurveProvider, CurveSlot, SurrogateCurves, classify
from optimizer.ectg import ectg_models
from optimizer.site.model import Site, extraction_condensing_generators
from optimizer.site.properties import SiteProperties
from optimizer.unit_physics import BoilerPhysics, GasTurbinePhysics

log = logging.getLogger(__name__)

#: Breakpoints of a linearised (smooth) first-principles curve over a cycle's box.
FP_POINTS = 17
#: Relative error a linearised first-principles curve may have against its function (see the module docstring).
FP_LINEARISATION_RTOL = 1e-3

_COLLECTION = {"boiler_fuel": "boilers", "gt_fuel": "gas_turbines", "hrsg_steam": "gas_turbines", "turbine_steam": "turbines"}


def quantity_name(kind: str, unit: str) -> str:
    """The curve's name, as the learned model's (:mod:`scenarios.learning`): ``B1_fuel``, ``GT1_hrsg``, ``TG2_steam``."""
    return f"{unit}_" + {"boiler_fuel": "fuel", "gt_fuel": "fuel", "hrsg_steam": "hrsg", "turbine_steam": "steam"}[kind]


def unit_quantities(site: Site) -> list[tuple[str, str, str]]:
    """(kind, unit, output tag) of every unit quantity that has a curve, learned or first
    principles: every boiler's fuel, every gas turbine's fuel and (with an HRSG) its unfired
    steam, every single-section generator turbine's inlet steam."""
    out = [("boiler_fuel", b, tags.boiler_fuel(b)) for b in site.boilers]
    for g, gt in site.gas_turbines.items():
        out.append(("gt_fuel", g, tags.gt_fuel(g)))
        if gt.hrsg is not None:
            out.append(("hrsg_steam", g, tags.hrsg_unfired(g)))
    out += [("turbine_steam", t, tags.turbine_inlet(t)) for t, tur in site.turbines.items()
            if tur.drive == "generator" and len(tur.sections) == 1]
    return out


def boiler_physics(site: Site, props: SiteProperties, boiler: str) -> BoilerPhysics:
    """The first-principles physics of one boiler with its site's enthalpies."""
    b = site.boilers[boiler]
    return BoilerPhysics(b, props.header_enthalpy_kj_kg[b.header], props.boiler_feedwater_kj_kg[boiler])


def linear_fuel_boilers(site: Site, slots: Mapping[str, CurveSlot]) -> list[str]:
    """The boilers whose fuel is no curve's but the linear row of the model (a constant
    efficiency on first principles): ``fuel = steam (h - h_fw) / (1000 eta(T))``, exact, its
    coefficient set per cycle at the cycle's ambient (:mod:`optimizer.cycle`)."""
    curved = {s.unit for s in slots.values() if s.kind == "boiler_fuel"}
    return [b for b, bo in site.boilers.items() if b not in curved and bo.efficiency_curve is None]


def _fp_needs_curve(site: Site, kind: str, unit: str) -> bool:
    """A first-principles quantity that is a curve of this module (not a row of the model: a
    turbine's sections, a constant-efficiency boiler's linear fuel)."""
    if kind == "turbine_steam":
        return False
    return not (kind == "boiler_fuel" and site.boilers[unit].efficiency_curve is None)


def _source(site: Site, kind: str, unit: str) -> str:
    return getattr(site, _COLLECTION[kind])[unit].curve_source


class FirstPrinciplesCurves:
    """First-principles curves of some of a site's boilers and gas turbines (see the module docstring).

    ``quantities``: (kind, unit) pairs, kinds ``boiler_fuel``, ``gt_fuel``, ``hrsg_steam``;
    ``points``: breakpoints of a linearised curve (at least 3)."""

    def __init__(self, site: Site, props: SiteProperties, quantities: Iterable[tuple[str, str]], points: int = FP_POINTS):
        if not (isinstance(points, int) and points >= 3):
            raise ValueError(f"points = {points!r}: must be an integer >= 3 (breakpoints of a linearised first-principles curve)")
        self.slots: dict[str, CurveSlot] = {}
        self.functions: dict[str, Callable[[float, Mapping[str, float]], float]] = {}
        self.exact: dict[str, bool] = {}
        self.kinks: dict[str, Callable[[Mapping[str, float]], list[float]]] = {}  # where the curve is not smooth
        h = props.header_enthalpy_kj_kg
        for kind, unit in quantities:
            name = quantity_name(kind, unit)
            if kind == "boiler_fuel":
                b = site.boilers[unit]
                phys = BoilerPhysics(b, h[b.header], props.boiler_feedwater_kj_kg[unit])
                self.functions[name] = (lambda p: lambda x, d: p.fuel_on_gj_h(x, d[tags.AMBIENT]))(phys)
                self.exact[name] = phys.linear_in_steam
                ends = [] if b.efficiency_curve is None else [b.efficiency_curve.load_fraction[0], b.efficiency_curve.load_fraction[-1]]
                self.kinks[name] = (lambda xs: lambda d: xs)([f * b.max_steam_tph for f in ends])
                x_tag, y_tag, dist = tags.boiler_steam(unit), tags.boiler_fuel(unit), (tags.AMBIENT,)
            elif kind in ("gt_fuel", "hrsg_steam"):
                g = site.gas_turbines[unit]
                phys = GasTurbinePhysics(g, h[g.hrsg.header] if g.hrsg else 0.0, props.hrsg_feedwater_kj_kg.get(unit, 0.0))
                f = phys.fuel_on_gj_h if kind == "gt_fuel" else phys.unfired_steam_on_tph
                fouling = tags.gt_fouling(unit)
                self.functions[name] = (lambda f, fouling: lambda x, d: f(x, d[tags.AMBIENT], d.get(fouling, 0.0)))(f, fouling)
                self.exact[name] = False
                self.kinks[name] = _gt_kinks(g, kind, fouling)
                x_tag, dist = tags.gt_power(unit), (tags.AMBIENT, fouling)
                y_tag = tags.gt_fuel(unit) if kind == "gt_fuel" else tags.hrsg_unfired(unit)
            else:
                raise ValueError(f"{kind} of {unit}: no first-principles curve (kinds: boiler_fuel, gt_fuel, hrsg_steam)")
            exact = self.exact[name]
            self.slots[name] = CurveSlot(name, unit, kind, x_tag, y_tag, dist, 2 if exact else points, exact)

    def breakpoints(self, name: str, lo: float, hi: float, disturbances: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Breakpoints over ``[lo, hi]``: the two ends of an exact (linear) curve; else the box's
        ends and the curve's kinks inside it (where a part-load curve's or a rating table's points
        end or a table's linear pieces meet), the rest of the points spread over the pieces
        between them in proportion to their widths (:func:`spread`)."""
        f = self.functions[name]
        if hi <= lo:
            xs = np.array([lo])
        elif self.exact[name]:
            xs = np.array([lo, hi])
        else:
            xs = spread(lo, hi, self.kinks[name](disturbances), self.slots[name].max_points)
        return xs, np.array([f(float(x), disturbances) for x in xs])

    def secant(self, name: str, lo: float, hi: float, disturbances: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """The curve's end points over [lo, hi] (one point when lo == hi)."""
        xs = np.array([lo]) if hi <= lo else np.array([lo, hi])
        return xs, np.array([self.functions[name](float(x), disturbances) for x in xs])

    def evaluate(self, name: str, x: float, disturbances: Mapping[str, float]) -> float:
        """The first-principles function itself at ``x`` (not its linearisation)."""
        return float(self.functions[name](float(x), disturbances))

    def point_evaluator(self, name: str, disturbances: Mapping[str, float]) -> Callable[[float], float]:
        """:meth:`evaluate` as a function of ``x`` alone, the disturbances set once."""
        f, d = self.functions[name], dict(disturbances)
        return lambda x: float(f(float(x), d))

    def tolerance(self, name: str) -> float:
        """Relative error the embedded curve may have against :meth:`evaluate`: 0 for an exact
        (linear) curve, :data:`FP_LINEARISATION_RTOL` for a linearised one."""
        return 0.0 if self.exact[name] else FP_LINEARISATION_RTOL

    def domain(self, name: str) -> dict[str, tuple[float, float]]:
        """No training domain: the site file's physics holds over the unit's range."""
        return {}


def spread(lo: float, hi: float, kinks: Iterable[float], points: int) -> np.ndarray:
    """``points`` breakpoints over ``[lo, hi]`` (``lo < hi``): its ends and the ``kinks`` strictly
    inside it (closer than 1e-9 of the width to another point: merged), the remaining points
    given to the pieces between them in proportion to their widths (largest remainders first),
    each piece split into equal steps."""
    tol = 1e-9 * (hi - lo)
    fixed = [lo] + sorted(k for k in set(kinks) if lo + tol < k < hi - tol) + [hi]
    fixed = fixed[:points - 1] + [hi] if len(fixed) > points else fixed
    widths = np.diff(fixed)
    spare = points - len(fixed)
    share = spare * widths / (hi - lo)
    extra = np.floor(share).astype(int)
    for i in np.argsort(-(share - extra))[:spare - int(extra.sum())]:
        extra[i] += 1
    xs = [lo]
    for a, b, n in zip(fixed, fixed[1:], extra):
        xs += np.linspace(a, b, n + 2)[1:].tolist()
    return np.array(xs)


def _gt_kinks(g, kind: str, fouling_tag: str) -> Callable[[Mapping[str, float]], list[float]]:
    """Where a gas turbine's fuel and HRSG steam curves have kinks, as power at the cycle's
    ambient and fouling: the ends of its part-load curves (flat beyond), every load point of a
    rating table (linear between them). The same points for both curves, so that the GT's
    curve group (one weight set on its power) has the breakpoints of one."""
    fractions = []
    if g.rating_table is not None:
        fractions += list(g.rating_table.load_fraction)
    elif g.part_load_efficiency is not None:
        fractions += [g.part_load_efficiency.load_fraction[0], g.part_load_efficiency.load_fraction[-1]]
    if g.hrsg is not None and g.hrsg.part_load_recovery is not None:  # fuel too: one grid for the GT's curve group
        fractions += [g.hrsg.part_load_recovery.load_fraction[0], g.hrsg.part_load_recovery.load_fraction[-1]]

    def kinks(d: Mapping[str, float]) -> list[float]:
        base = g.base_power_mw(d[tags.AMBIENT], d.get(fouling_tag, 0.0))
        return [f * base for f in fractions]

    return kinks


class MixedCurves:
    """Several providers' curves as one provider, each curve answered by its own (learned curves
    by :class:`SurrogateCurves`, first-principles ones by :class:`FirstPrinciplesCurves`)."""

    def __init__(self, providers: Iterable[CurveProvider]):
        self.providers = list(providers)
        self.slots: dict[str, CurveSlot] = {}
        self._owner: dict[str, CurveProvider] = {}
        for p in self.providers:
            for name, slot in p.slots.items():
                if name in self.slots:
                    raise ValueError(f"curve {name}: supplied twice (two providers)")
                self.slots[name] = slot
                self._owner[name] = p

    @property
    def models(self) -> dict:
        """The ONNX surrogates among the providers (model hashes, drift monitoring)."""
        out: dict = {}
        for p in self.providers:
            out.update(getattr(p, "models", {}))
        return out

    def breakpoints(self, name, lo, hi, disturbances):
        return self._owner[name].breakpoints(name, lo, hi, disturbances)

    def secant(self, name, lo, hi, disturbances):
        return self._owner[name].secant(name, lo, hi, disturbances)

    def evaluate(self, name, x, disturbances):
        return self._owner[name].evaluate(name, x, disturbances)

    def domain(self, name):
        return self._owner[name].domain(name)

    def tolerance(self, name: str) -> float:
        """The owner's tolerance (0 for curves checked exactly, e.g. surrogates)."""
        tol = getattr(self._owner[name], "tolerance", None)
        return tol(name) if tol is not None else 0.0

    def box_curve_deferred(self, name, lo, hi, margin, pin_lo, pin_hi, disturbances):
        """The owner's one-pass fast path where it has one (None: the caller uses breakpoints)."""
        fast = getattr(self._owner[name], "box_curve_deferred", None)
        return fast(name, lo, hi, margin, pin_lo, pin_hi, disturbances) if fast is not None else None

    def point_evaluator(self, name: str, disturbances: Mapping[str, float]) -> Callable[[float], float]:
        make = getattr(self._owner[name], "point_evaluator", None)
        if make is not None:
            return make(name, disturbances)
        owner = self._owner[name]
        return lambda x: owner.evaluate(name, x, disturbances)

    def line_evaluator(self, disturbances: Mapping[str, float]) -> Callable[[list[float]], np.ndarray] | None:
        """Every curve at once (decision inputs in :attr:`slots` order): each provider's own line
        evaluator for its curves where it has one, point evaluators for the rest."""
        names = list(self.slots)
        parts = []  # (positions in slots order, function of their x list -> values)
        for p in self.providers:
            pos = [i for i, n in enumerate(names) if self._owner[n] is p]
            line = getattr(p, "line_evaluator", None)
            f = line(disturbances) if line is not None else None
            if f is None:
                fs = [self.point_evaluator(names[i], disturbances) for i in pos]
                f = (lambda fs: lambda xs: np.array([g(x) for g, x in zip(fs, xs)]))(fs)
            parts.append((pos, f))

        def evaluate_all(xs: list[float]) -> np.ndarray:
            out = np.empty(len(names))
            for pos, f in parts:
                out[pos] = np.asarray(f([xs[i] for i in pos]), float).reshape(len(pos))
            return out

        return evaluate_all


#: The model-directory argument that means "no learned models" (CLI ``--models none``, scenario ``models = "none"``).
NO_MODELS = "none"


def no_models(path: str | Path | None) -> bool:
    """True when ``path`` names no model directory: None or :data:`NO_MODELS` (any case)."""
    return path is None or str(path).strip().lower() == NO_MODELS


def load_models(path: str | Path | None) -> dict:
    """The ONNX models of a model directory (:func:`surrogate.manifest.load_model_dir`), or none
    (an empty dict: every unit on first principles, :func:`site_curves`) for :func:`no_models` paths."""
    if no_models(path):
        return {}
    from surrogate.manifest import load_model_dir

    return load_model_dir(path)


def site_curves(site: Site, models: Mapping, props: SiteProperties, max_points: int = 32,
                fp_points: int = FP_POINTS, *, embedded: Iterable[str] = ()) -> CurveProvider:
    """The site's curve provider from its ONNX models (``{name: OnnxSurrogate}``, possibly empty)
    and each unit's ``curve_source``: learned where chosen (or, for ``auto``, where the unit's
    model is there), first principles elsewhere. Raises ValueError naming every unit set to
    ``learned`` whose model is missing, and how to get it: the curves' units and the
    extraction-condensing generators (kind ``ectg_steam``, no curve: their two-decision network is
    embedded by :mod:`optimizer.ectg`; ``embedded``: the ids of those whose model the caller took
    out of ``models`` to embed it). A site whose curves are all learned gets
    :class:`SurrogateCurves` itself, one with none learned :class:`FirstPrinciplesCurves`."""
    by_quantity: dict[tuple[str, str], str] = {}
    for name, model in models.items():
        found = classify(site, model.output_names[0]) if len(model.output_names) == 1 else None
        if found is not None:
            by_quantity[(found[0], found[1])] = name
    learned = dict(models)
    fp: list[tuple[str, str]] = []
    missing: list[str] = []
    for kind, unit, y_tag in unit_quantities(site):
        source, name = _source(site, kind, unit), by_quantity.get((kind, unit))
        if source == "first_principles":
            if name is not None:
                log.info("%s %s: curve_source = first_principles, model %s not used", _COLLECTION[kind], unit, name)
                del learned[name]
            if _fp_needs_curve(site, kind, unit):
                fp.append((kind, unit))
        elif name is None:
            if source == "learned":
                missing.append(f"{_COLLECTION[kind]}.{unit}.curve_source = \"learned\": the models have no {kind} model of {unit} "
                               f"(output {y_tag}, e.g. {quantity_name(kind, unit)}.onnx)")
            elif _fp_needs_curve(site, kind, unit):
                fp.append((kind, unit))
    missing += _missing_ectg(site, models, set(embedded))
    if missing:
        raise ValueError("; ".join(missing) + ". Train the models (`steamopt surrogate train --site SITE.toml --data HISTORIAN "
                         "--out DIR`) or set curve_source = \"first_principles\" (or \"auto\") for these units")
    if fp:
        log.info("site %s: first-principles curves for %s", site.name, ", ".join(quantity_name(k, u) for k, u in fp))
    providers = []
    if learned:
        providers.append(SurrogateCurves(site, learned, max_points))
    if fp or not providers:
        providers.append(FirstPrinciplesCurves(site, props, fp, fp_points))  # possibly none: every unit a row of the model
    return providers[0] if len(providers) == 1 else MixedCurves(providers)


def _missing_ectg(site: Site, models: Mapping, embedded: set[str]) -> list[str]:
    """One message per extraction-condensing generator set to ``learned`` with no ``ectg_steam``
    model, neither among ``models`` nor ``embedded``; such a model is trained from the unit's own
    campaign (``make models``)."""
    have = set(ectg_models(site, models)) | embedded
    out = []
    for t in extraction_condensing_generators(site):
        if site.turbines[t].curve_source == "learned" and t not in have:
            out.append(f"turbines.{t}.curve_source = \"learned\": the models have no ectg_steam model of {t} (inputs "
                       f"{tags.turbine_power(t)}, {tags.extraction(t, 0)}; output {tags.turbine_inlet(t)}; e.g. {t}_steam.onnx), "
                       f"trained from {t}'s own campaign: `steamopt simulate --site SITE.toml --policy campaign --step-units {t} "
                       f"--out DIR`, then `--unit-data {t}_steam=DIR/historian.parquet` to `steamopt surrogate train`")
    return out


def complete_curves(site: Site, provider: CurveProvider, props: SiteProperties, fp_points: int = FP_POINTS) -> CurveProvider:
    """A provider given as such (the oracle's true curves, a test's) with first-principles
    curves added for the boilers and gas turbines it lacks (unchanged when it lacks none)."""
    have = {(s.kind, s.unit) for s in provider.slots.values()}
    fp = [(k, u) for k, u, _ in unit_quantities(site) if _fp_needs_curve(site, k, u) and (k, u) not in have]
    if not fp:
        return provider
    return MixedCurves([provider, FirstPrinciplesCurves(site, props, fp, fp_points)])
