"""Checks of the textbook conventions on a site's steam states (IAPWS-IF97), run by the loader
once the site is otherwise sound (:class:`optimizer.site.loader.SiteRules`).

* desuperheating water stated by its own state (a header's ``spray_water``, a letdown's
  ``desuperheat_water``): it must have an IAPWS-IF97 state and be colder (lower enthalpy) than
  the steam it cools, else no water can bring the steam to the header's state;
* stated feedwater enthalpies below their header's enthalpy (a boiler raises it);
* ``enthalpy_drop`` sections: a positive drop; a condensing exhaust above the condensate's
  enthalpy (the condenser takes heat out); a drop larger than the isentropic drop (an isentropic
  efficiency above 1, impossible by the second law) is accepted quietly only when the section
  says it is a textbook simplification (``textbook_drop = true``) and warned about otherwise
  (logged at load and printed by ``steamopt site check``);
* Willans lines from the Sun & Smith correlation (:mod:`optimizer.site.willans`): the
  correlation must give a rising line and an efficiency in (0, 1] at maximum flow, else the
  section's pressures are outside what it can describe and the site must state the line.
"""

from __future__ import annotations

from optimizer import steam
from optimizer.site.model import Site, WaterState
from optimizer.site.schema import Builder

_BAD_STATE = (steam.SteamPropertyError, NotImplementedError)


def _water_kj_kg(site: Site, path: str, w: WaterState, b: Builder) -> float | None:
    p = steam.barg_to_bara(w.pressure_barg, site.steam.atmospheric_pressure_bar)
    try:
        return steam.water_state(p, temp_c=w.temp_c, enthalpy_kj_kg=w.enthalpy_kj_kg, entropy_kj_kgk=w.entropy_kj_kgk).enthalpy_kj_kg
    except _BAD_STATE as exc:
        b.error(path, {"pressure_barg": w.pressure_barg, "temp_c": w.temp_c, "enthalpy_kj_kg": w.enthalpy_kj_kg,
                       "entropy_kj_kgk": w.entropy_kj_kgk}, f"must be a water/steam state: {exc}")
        return None


def check_steam_states(site: Site, b: Builder, warnings: list[str]) -> None:
    """Adds issues to ``b`` and warnings to ``warnings``; raises nothing."""
    from optimizer.site.properties import compute_properties  # properties build on the loaded site

    n_issues = len(b.issues)
    atm = site.steam.atmospheric_pressure_bar
    h_h: dict[str, float] = {}
    for hid, hdr in site.headers.items():
        p = steam.barg_to_bara(hdr.pressure_barg, atm)
        h_h[hid] = steam.state_pt(p, hdr.temp_c).enthalpy_kj_kg if hdr.temp_c is not None else hdr.enthalpy_kj_kg
    for hid, hdr in site.headers.items():
        if hdr.spray_water is not None:
            h_w = _water_kj_kg(site, f"headers.{hid}.spray_water", hdr.spray_water, b)
            if h_w is not None and not h_w < h_h[hid]:
                b.error(f"headers.{hid}.spray_water", h_w, f"its enthalpy {h_w:.1f} kJ/kg must be below the header's {h_h[hid]:.1f} kJ/kg "
                        "(the water cools the steam to the header's state)")
    for ld in site.letdowns.values():
        if ld.desuperheat_water is None:
            continue
        path = f"letdowns.{ld.id}.desuperheat_water"
        h_w = _water_kj_kg(site, path, ld.desuperheat_water, b)
        if h_w is not None and ld.desuperheat and not h_w < h_h[ld.outlet]:
            b.error(path, h_w, f"its enthalpy {h_w:.1f} kJ/kg must be below the outlet header {ld.outlet}'s {h_h[ld.outlet]:.1f} kJ/kg "
                    "(the water cools the letdown steam to the header's state)")
    fw_units = [(f"boilers.{u.id}", u, u.header) for u in site.boilers.values()]
    fw_units += [(f"gas_turbines.{g.id}.hrsg", g.hrsg, g.hrsg.header) for g in site.gas_turbines.values() if g.hrsg]
    for path, u, header in fw_units:
        h_fw = u.feedwater_enthalpy_kj_kg if u.feedwater_enthalpy_kj_kg is not None else (
            site.steam.feedwater_enthalpy_kj_kg if u.feedwater_temp_c is None else None)
        if h_fw is not None and not h_fw < h_h[header]:
            name = "feedwater_enthalpy_kj_kg" if u.feedwater_enthalpy_kj_kg is not None else "(steam.feedwater_enthalpy_kj_kg)"
            b.error(f"{path}.{name}", h_fw, f"must be below the enthalpy of the steam it raises: header {header}'s {h_h[header]:.1f} kJ/kg")
    if len(b.issues) > n_issues:
        return
    if not any(sec.model == "enthalpy_drop" or (sec.model == "willans" and sec.isentropic_efficiency is None)
               for t in site.turbines.values() for sec in t.sections):
        return  # no section to check on its states (spares the site's property computation)
    try:
        props = compute_properties(site)
    except _BAD_STATE as exc:
        b.error("(steam states)", site.source, f"IAPWS-IF97 cannot evaluate the site's states: {exc}")
        return
    for t in site.turbines.values():
        for k, (sec, sp) in enumerate(zip(t.sections, props.sections[t.id])):
            path = f"turbines.{t.id}.sections[{k}]"
            if sec.model == "enthalpy_drop":
                _check_drop(site, path, sec, sp, props, b, warnings)
            elif sec.model == "willans" and sec.isentropic_efficiency is None and sec.no_load_flow_fraction is None:
                eta = (sp.slope_mw_per_tph * sp.rated_flow_tph - sp.intercept_mw) * 3600.0 / (sp.rated_flow_tph * sp.isentropic_drop_kj_kg)
                if not (sp.slope_mw_per_tph > 0.0 and 0.0 < eta <= 1.0):
                    b.error(path, {"inlet_bara": round(sp.inlet_pressure_bara, 4), "outlet_bara": round(sp.outlet_pressure_bara, 4),
                                   "max_flow_tph": sec.max_flow_tph},
                            f"the Sun & Smith correlation gives slope {sp.slope_mw_per_tph:.4g} MW/(t/h) and efficiency {eta:.3f} at rated "
                            "flow here (needs a rising line and efficiency in (0, 1]): state isentropic_efficiency and no_load_flow_fraction")


def _check_drop(site: Site, path: str, sec, sp, props, b: Builder, warnings: list[str]) -> None:
    drop = sp.slope_mw_per_tph * 3600.0
    field = "enthalpy_drop_kj_kg" if sec.enthalpy_drop_kj_kg is not None else (
        "exhaust_enthalpy_kj_kg" if sec.exhaust_enthalpy_kj_kg is not None else "outlet")
    value = getattr(sec, field)
    if not drop > 0.0:
        b.error(f"{path}.{field}", value, f"gives an enthalpy drop of {drop:.1f} kJ/kg from the section's inlet "
                f"({sp.inlet_enthalpy_kj_kg:.1f} kJ/kg): it must be positive")
        return
    if sp.to_condenser:
        h_c = props.condensate_kj_kg[sec.outlet]
        if not sp.design_exhaust_enthalpy_kj_kg > h_c:
            b.error(f"{path}.{field}", value, f"the exhaust enthalpy {sp.design_exhaust_enthalpy_kj_kg:.1f} kJ/kg must exceed the condensate's "
                    f"{h_c:.1f} kJ/kg at {sec.outlet} (saturated liquid at {sp.outlet_pressure_bara:g} bar(a))")
            return
    if drop > sp.isentropic_drop_kj_kg * (1.0 + 1e-12) and not sec.textbook_drop:
        warnings.append(f"{path}: the stated drop {drop:.1f} kJ/kg exceeds the isentropic drop {sp.isentropic_drop_kj_kg:.1f} kJ/kg "
                        f"from {sp.inlet_pressure_bara:g} to {sp.outlet_pressure_bara:g} bar(a) (isentropic efficiency "
                        f"{drop / sp.isentropic_drop_kj_kg:.3f} > 1, impossible by the second law); accepted as stated: set "
                        "textbook_drop = true if it is a textbook simplification, else correct the data")
