"""Limits the true plant must stay inside, checked on a simulated state.

Studies never credit a saving made at a step where the plant ended outside one of these
(:func:`scenarios.study.summarize`). The simulator clamps every unit to its own range, so what
can still go wrong is what the units together could not do:

* a header short of steam (process demand not served) or with surplus that has nowhere to go;
* a machine drive that could not deliver its process power;
* a condenser above its cooling duty;
* grid import or export above the connection's limit;
* a fuel drawn above its availability.
"""

from __future__ import annotations

from optimizer.site.model import Site
from scenarios.plant.simulator import PlantState

#: Tolerance of the flow checks, t/h (the simulator closes its balances to 1e-10 t/h).
TOL_TPH = 1e-6
#: Tolerance of the power and duty checks, MW.
TOL_MW = 1e-6
#: Tolerance of the fuel checks, GJ/h.
TOL_GJ_H = 1e-6


def limit_violations(site: Site, state: PlantState) -> list[str]:
    """Every limit the plant is outside of in ``state``, in plant words (empty: none)."""
    t = state.tags
    out = []
    for h in site.headers:
        if t.get(f"{h}.shortfall_tph", 0.0) > TOL_TPH:
            out.append(f"{h} header {t[f'{h}.shortfall_tph']:.2f} t/h short of process demand")
        if t.get(f"{h}.surplus_tph", 0.0) > TOL_TPH:
            out.append(f"{h} header {t[f'{h}.surplus_tph']:.2f} t/h surplus with nowhere to go")
    for tid, tur in site.turbines.items():
        short = t.get(f"{tid}.power_shortfall_mw", 0.0)
        if tur.drive == "machine" and short > TOL_MW:
            out.append(f"{tid} drive {short:.2f} MW short of its process power")
    for c, cond in site.condensers.items():
        duty = t.get(f"{c}.duty_mw", 0.0)
        if duty > cond.max_duty_mw + TOL_MW:
            out.append(f"{c} duty {duty:.1f} MW above its {cond.max_duty_mw:.1f} MW cooling capacity")
    e = site.electricity
    if e is not None:
        if t.get("site.power_import_mw", 0.0) > e.max_import_mw + TOL_MW:
            out.append(f"grid import {t['site.power_import_mw']:.2f} MW above the {e.max_import_mw:.2f} MW limit")
        if t.get("site.power_export_mw", 0.0) > e.max_export_mw + TOL_MW:
            out.append(f"grid export {t['site.power_export_mw']:.2f} MW above the {e.max_export_mw:.2f} MW limit")
    for f, fuel in site.fuels.items():
        gj = t.get(f"site.fuel_{f}_gj_h", 0.0)
        if gj > fuel.max_gj_h + TOL_GJ_H:
            out.append(f"fuel {f} {gj:.1f} GJ/h above its {fuel.max_gj_h:.1f} GJ/h availability")
    return out
