"""Cross-checks of a site's fuel system (``[fuel_system]``): references, compositions, sources,
burners and their limits. Each problem is one issue naming the path, the value and the rule;
nothing raises (called by :class:`optimizer.site.loader.SiteRules`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import linprog

from optimizer.fuel_gas import COMPONENTS, GasProperties

if TYPE_CHECKING:
    from optimizer.site.loader import SiteRules

COMPOSITION_TOLERANCE = 1e-3  # the fractions must sum to 1 within this


def check_fuel_system(rules: SiteRules) -> None:
    site, err = rules.site, rules.b.error
    fs = site.fuel_system
    units = {**site.boilers, **site.gas_turbines, **site.turbines, **site.byproduct_sources, **site.consumers,
             **site.letdowns, **site.vents, **site.fuels}
    seen: dict[str, str] = {}
    gases: dict[str, GasProperties] = {}
    for h, fh in fs.headers.items():
        path = f"fuel_system.headers.{h}"
        ids = [(path, h)] + [(f"{path}.sources.{s}", s) for s in fh.sources]
        for p, i in ids:
            _id(rules, p, i, seen, units)
        if fh.composition and (fh.lhv_mj_nm3 is not None or fh.relative_density is not None):
            err(path, {"composition": fh.composition, "lhv_mj_nm3": fh.lhv_mj_nm3}, "give a composition or lhv_mj_nm3 and relative_density, not both")
            continue
        if fh.composition:
            bad = [k for k in fh.composition if k not in COMPONENTS]
            for k in bad:
                err(f"{path}.composition.{k}", fh.composition[k], f"unknown component (known: {', '.join(COMPONENTS)})")
            total = sum(fh.composition.values())
            if abs(total - 1.0) > COMPOSITION_TOLERANCE:
                err(f"{path}.composition", fh.composition, f"fractions must sum to 1 (within {COMPOSITION_TOLERANCE:g}); they sum to {total:.6g}")
                continue
            if bad:
                continue
            if sum(fh.composition[k] * COMPONENTS[k].lhv_kj_mol for k in fh.composition) <= 0.0:
                err(f"{path}.composition", fh.composition, "the gas must burn (a positive heating value)")
                continue
        else:
            missing = [n for n in ("lhv_mj_nm3", "relative_density", "ef_co2_kg_tj") if getattr(fh, n) is None]
            if missing:
                err(path, {n: getattr(fh, n) for n in ("composition", "lhv_mj_nm3", "relative_density", "ef_co2_kg_tj")},
                    f"without a composition, give lhv_mj_nm3, relative_density and ef_co2_kg_tj (missing: {', '.join(missing)})")
                continue
            if fh.hhv_mj_nm3 is not None and fh.hhv_mj_nm3 < fh.lhv_mj_nm3:
                err(f"{path}.hhv_mj_nm3", fh.hhv_mj_nm3, f"must be >= lhv_mj_nm3 = {fh.lhv_mj_nm3:g} MJ/Nm3")
        gases[h] = fh.gas()
        byproduct = [s for s, src in fh.sources.items() if src.kind == "byproduct"]
        if byproduct and not fh.flare:
            err(f"{path}.flare", fh.flare, f"must be true: by-product gas ({', '.join(byproduct)}) that no burner takes is flared")
        for s, src in fh.sources.items():
            sp = f"{path}.sources.{s}"
            if src.kind == "purchase":
                if src.min_gj_h > src.max_gj_h:
                    err(f"{sp}.min_gj_h", src.min_gj_h, f"must not exceed max_gj_h = {src.max_gj_h:g} GJ/h")
                if src.nominal_gj_h:
                    err(f"{sp}.nominal_gj_h", src.nominal_gj_h, "is for by-product sources (a purchase is decided, not measured)")
            else:
                for name in ("price_per_gj", "min_gj_h"):
                    if getattr(src, name):
                        err(f"{sp}.{name}", getattr(src, name), "is for purchases (by-product gas is made anyway: it is burned or flared)")
                if src.nominal_gj_h > src.max_gj_h:
                    err(f"{sp}.nominal_gj_h", src.nominal_gj_h, f"must not exceed max_gj_h = {src.max_gj_h:g} GJ/h")
    for x, fur in fs.furnaces.items():
        path = f"fuel_system.furnaces.{x}"
        _id(rules, path, x, seen, units)
        _header_ref(rules, f"{path}.header", fur.header)
        if fur.draw_gj_h > fur.max_gj_h:
            err(f"{path}.draw_gj_h", fur.draw_gj_h, f"must not exceed max_gj_h = {fur.max_gj_h:g} GJ/h")
    taken: dict[tuple[str, bool], str] = {}
    for bid, bu in fs.burners.items():
        path = f"fuel_system.burners.{bid}"
        if not bid.replace("_", "").replace("-", "").isalnum():
            err(path, bid, "id must use letters, digits, '_' or '-' only")
        if rules._ref(f"{path}.unit", bu.unit, "boilers|gas_turbines"):
            if bu.duct:
                gt = site.gas_turbines.get(bu.unit)
                if gt is None or gt.hrsg is None or gt.hrsg.duct_max_steam_tph <= 0:
                    err(f"{path}.duct", bu.duct, f"{bu.unit} has no HRSG duct burner (a gas turbine with duct_max_steam_tph > 0)")
            if (bu.unit, bu.duct) in taken:
                err(f"{path}.unit", bu.unit, f"already has a burner: {taken[bu.unit, bu.duct]} (one per unit, one per duct)")
            taken[bu.unit, bu.duct] = bid
        ok = all([_header_ref(rules, f"{path}.headers[{i}]", h) for i, h in enumerate(bu.headers)])
        for i, h in enumerate(bu.headers):
            if h in bu.headers[:i]:
                err(f"{path}.headers[{i}]", h, "must not repeat a header")
                ok = False
        rules._limits(path, bu.min_lhv_mj_nm3, bu.max_lhv_mj_nm3, "min_lhv_mj_nm3", "max_lhv_mj_nm3")
        rules._limits(path, bu.min_wobbe_mj_nm3, bu.max_wobbe_mj_nm3, "min_wobbe_mj_nm3", "max_wobbe_mj_nm3")
        if not ok or any(h not in gases for h in bu.headers):
            continue
        if (bu.min_wobbe_mj_nm3 is not None or bu.max_wobbe_mj_nm3 is not None):
            no_hhv = [h for h in bu.headers if math.isnan(gases[h].hhv_mj_nm3)]
            if no_hhv:
                err(f"{path}.headers", bu.headers, f"Wobbe limits need each header's HHV: give hhv_mj_nm3 (or a composition) for {', '.join(no_hhv)}")
                continue
        if not rules.b.issues and not _some_blend(bu, gases):
            err(path, bu.headers, "no blend of its headers meets its limits (hydrogen, LHV, Wobbe as linearised in optimizer/fuel_system.py)")


def _id(rules: SiteRules, path: str, i: str, seen: dict[str, str], units: dict) -> None:
    if not i.replace("_", "").replace("-", "").isalnum():
        rules.b.error(path, i, "id must use letters, digits, '_' or '-' only")
    if i in seen:
        rules.b.error(path, i, f"duplicate id: already used by {seen[i]} (fuel-system ids name tags and must be unique)")
    elif i in units:
        rules.b.error(path, i, "duplicate id: already a unit, fuel or stream of the site (ids name tags and must be unique)")
    seen[i] = path


def _header_ref(rules: SiteRules, path: str, h: str) -> bool:
    known = rules.site.fuel_system.headers
    if h in known:
        return True
    rules.b.error(path, h, f"unknown fuel header (known: {', '.join(known) or 'none'})")
    return False


def _some_blend(bu, gases: dict[str, GasProperties]) -> bool:
    """Whether some blend (volume fractions over the burner's headers) meets the burner's linear rows."""
    from optimizer.fuel_system import blend_rows  # the rows are written once, there

    rows = blend_rows(bu, {h: gases[h] for h in bu.headers})
    n = len(bu.headers)
    a_ub = np.array([[-c[h] for h in bu.headers] if sense == ">=" else [c[h] for h in bu.headers] for _, c, sense in rows]).reshape(-1, n)
    res = linprog(np.zeros(n), A_ub=a_ub if rows else None, b_ub=np.zeros(len(rows)) if rows else None,
                  A_eq=np.ones((1, n)), b_eq=[1.0], bounds=[(0, None)] * n, method="highs")
    return res.status == 0
