"""Steam properties of a site, computed once per site from IAPWS-IF97 (never per cycle).

At fixed header conditions every balance of the network is linear in the flows; this module
supplies the constants of those linear relations:

* header states ``h_H`` (kJ/kg);
* feedwater enthalpy of each boiler and HRSG, so that ``fuel_gj_h = steam_tph (h_H - h_fw) / (1000 eta)``:
  the unit's stated enthalpy, else its temperature (or the site's ``feedwater_temp_c``) at the
  unit's ``feedwater_pressure_barg`` (else the site's, else the header's), else the site's
  stated ``feedwater_enthalpy_kj_kg``;
* desuperheating water: a header's ``spray_water`` state, else the site's stated feedwater
  enthalpy, else feedwater at ``feedwater_temp_c`` and the header's pressure; a letdown's own
  ``desuperheat_water`` state, else its outlet header's water (:func:`optimizer.steam.water_state`);
* letdown desuperheating: water per kg of inlet steam ``r = (h_in - h_out) / (h_out - h_w)``;
* turbine sections: inlet state, isentropic drop ``dh_is``, and the linear power coefficients
  ``P_mw = slope * m_tph - intercept`` of the section's nominal model (Willans, isentropic or
  enthalpy drop; a Willans section with neither efficiency nor no-load flow from the Sun & Smith
  correlation, :mod:`optimizer.site.willans`); the design exhaust enthalpy ``h_in - eta_is dh_is``
  at rated flow (for a stated drop ``h_in - dh``);
* condensers: condensate enthalpy (saturated liquid at condenser pressure);
* deaerator: feedwater, returned condensate, make-up and heating-steam enthalpies.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from types import SimpleNamespace

from optimizer import steam as _steam
from optimizer.site.model import Site, SteamTurbine, TurbineSection, WaterState
from optimizer.site.willans import sun_smith_line


@dataclass(frozen=True)
class SectionProperties:
    """Constants of one turbine section. Power (shaft, MW) ``= slope_mw_per_tph * m - intercept_mw``."""

    turbine: str
    index: int
    outlet: str
    inlet_pressure_bara: float
    inlet_enthalpy_kj_kg: float
    inlet_entropy_kj_kgk: float
    outlet_pressure_bara: float
    isentropic_drop_kj_kg: float
    design_exhaust_enthalpy_kj_kg: float
    slope_mw_per_tph: float
    intercept_mw: float
    rated_flow_tph: float
    to_condenser: bool


@dataclass(frozen=True)
class SiteProperties:
    """All enthalpies (kJ/kg) and derived constants a site needs; see the module docstring."""

    header_pressure_bara: dict[str, float]
    header_enthalpy_kj_kg: dict[str, float]
    header_temp_c: dict[str, float]
    boiler_feedwater_kj_kg: dict[str, float]
    hrsg_feedwater_kj_kg: dict[str, float]
    letdown_water_ratio: dict[str, float]
    letdown_outlet_enthalpy_kj_kg: dict[str, float]
    header_spray_water_kj_kg: dict[str, float]
    sections: dict[str, list[SectionProperties]]
    condensate_kj_kg: dict[str, float]
    deaerator_feedwater_kj_kg: float
    condensate_return_kj_kg: float
    makeup_kj_kg: float
    deaerator_steam_header: str
    letdown_water_kj_kg: dict[str, float] = dataclasses.field(default_factory=dict)
    has_deaerator: bool = True


def _memoised_steam() -> SimpleNamespace:
    """The IAPWS-IF97 functions this module uses, each remembering its answers for one site
    computation: units alike (copies of a boiler, turbines on the same headers) share their
    states, so a site with many of them costs its distinct states, a few milliseconds each."""
    names = ("state_pt", "state_ph", "isentropic_outlet", "saturated_liquid", "desuperheater_water_ratio", "water_state")
    return SimpleNamespace(barg_to_bara=_steam.barg_to_bara, **{n: functools.lru_cache(maxsize=None)(getattr(_steam, n)) for n in names})


def compute_properties(site: Site) -> SiteProperties:
    """Evaluate IAPWS-IF97 for every distinct state the site needs (a few milliseconds each)."""
    steam = _memoised_steam()
    atm = site.steam.atmospheric_pressure_bar
    p_h, h_h, t_h, s_h = {}, {}, {}, {}
    for hid, hdr in site.headers.items():
        p = steam.barg_to_bara(hdr.pressure_barg, atm)
        st = steam.state_pt(p, hdr.temp_c) if hdr.temp_c is not None else steam.state_ph(p, hdr.enthalpy_kj_kg)
        p_h[hid], h_h[hid], t_h[hid], s_h[hid] = p, st.enthalpy_kj_kg, st.temp_c, st
    fw_c = site.steam.feedwater_temp_c

    def liquid(p_bara: float, temp_c: float) -> float:
        return steam.state_pt(p_bara, temp_c).enthalpy_kj_kg

    sw = site.steam

    def feedwater(unit, header: str) -> float:
        if unit.feedwater_enthalpy_kj_kg is not None:
            return unit.feedwater_enthalpy_kj_kg
        if unit.feedwater_temp_c is None and sw.feedwater_enthalpy_kj_kg is not None:
            return sw.feedwater_enthalpy_kj_kg
        p_barg = next((x for x in (unit.feedwater_pressure_barg, sw.feedwater_pressure_barg) if x is not None), None)
        return liquid(p_h[header] if p_barg is None else steam.barg_to_bara(p_barg, atm), unit.feedwater_temp_c or fw_c)

    def water(state: WaterState) -> float:
        return steam.water_state(steam.barg_to_bara(state.pressure_barg, atm), temp_c=state.temp_c, enthalpy_kj_kg=state.enthalpy_kj_kg,
                                 entropy_kj_kgk=state.entropy_kj_kgk).enthalpy_kj_kg

    boiler_fw = {b.id: feedwater(b, b.header) for b in site.boilers.values()}
    hrsg_fw = {g.id: feedwater(g.hrsg, g.hrsg.header) for g in site.gas_turbines.values() if g.hrsg}
    spray = {hid: water(hdr.spray_water) if hdr.spray_water is not None
             else (sw.feedwater_enthalpy_kj_kg if sw.feedwater_enthalpy_kj_kg is not None else liquid(p_h[hid], fw_c))
             for hid, hdr in site.headers.items()}

    ratio, ld_out, ld_water = {}, {}, {}
    for ld in site.letdowns.values():
        h_in = h_h[ld.inlet]
        ld_water[ld.id] = water(ld.desuperheat_water) if ld.desuperheat_water is not None else spray[ld.outlet]
        if ld.desuperheat:
            ratio[ld.id] = steam.desuperheater_water_ratio(h_in, h_h[ld.outlet], ld_water[ld.id])
            ld_out[ld.id] = min(h_in, h_h[ld.outlet])
        else:
            ratio[ld.id], ld_out[ld.id] = 0.0, h_in  # isenthalpic throttling

    condensate = {c.id: steam.saturated_liquid(c.pressure_bara).enthalpy_kj_kg for c in site.condensers.values()}
    sections = {t.id: _sections(site, t, p_h, h_h, s_h, steam) for t in site.turbines.values()}

    p_da = steam.barg_to_bara(site.steam.deaerator_pressure_barg, atm)
    da_header = site.steam.deaerator_steam_header or min(site.headers.values(), key=lambda h: h.pressure_barg).id
    return SiteProperties(
        header_pressure_bara=p_h,
        header_enthalpy_kj_kg=h_h,
        header_temp_c=t_h,
        boiler_feedwater_kj_kg=boiler_fw,
        hrsg_feedwater_kj_kg=hrsg_fw,
        letdown_water_ratio=ratio,
        letdown_outlet_enthalpy_kj_kg=ld_out,
        header_spray_water_kj_kg=spray,
        sections=sections,
        condensate_kj_kg=condensate,
        deaerator_feedwater_kj_kg=liquid(p_da, fw_c),
        condensate_return_kj_kg=liquid(p_da, site.steam.condensate_return_temp_c),
        makeup_kj_kg=liquid(p_da, site.steam.makeup_temp_c),
        deaerator_steam_header=da_header,
        letdown_water_kj_kg=ld_water,
        has_deaerator=sw.deaerator,
    )


def _sections(site: Site, t: SteamTurbine, p_h: dict, h_h: dict, s_h: dict, steam: SimpleNamespace) -> list[SectionProperties]:
    out = []
    inlet = s_h[t.inlet]
    inlet_header_h = h_h[t.inlet]
    for i, sec in enumerate(t.sections):
        to_cond = sec.outlet in site.condensers
        p_out = site.condensers[sec.outlet].pressure_bara if to_cond else p_h[sec.outlet]
        dh_is = inlet.enthalpy_kj_kg - steam.isentropic_outlet(inlet, p_out).enthalpy_kj_kg
        slope, intercept, rated, eta = _linear_power(sec, dh_is, inlet_header_h, None if to_cond else h_h[sec.outlet],
                                                     inlet.enthalpy_kj_kg, inlet.pressure_bara, p_out)
        h_ex = inlet.enthalpy_kj_kg - eta * dh_is
        out.append(
            SectionProperties(
                turbine=t.id,
                index=i,
                outlet=sec.outlet,
                inlet_pressure_bara=inlet.pressure_bara,
                inlet_enthalpy_kj_kg=inlet.enthalpy_kj_kg,
                inlet_entropy_kj_kgk=inlet.entropy_kj_kgk,
                outlet_pressure_bara=p_out,
                isentropic_drop_kj_kg=dh_is,
                design_exhaust_enthalpy_kj_kg=h_ex,
                slope_mw_per_tph=slope,
                intercept_mw=intercept,
                rated_flow_tph=rated,
                to_condenser=to_cond,
            )
        )
        inlet = steam.state_ph(p_out, h_ex)  # the next section starts from this one's design exhaust
        inlet_header_h = h_h.get(sec.outlet, h_ex)
    return out


def stated_drop_kj_kg(sec: TurbineSection, h_in: float, h_in_header: float, h_out_header: float | None) -> float:
    """Specific drop (kJ/kg) of an ``enthalpy_drop`` section: stated, from the stated exhaust
    enthalpy (``h_in - h_exhaust``, ``h_in`` the section's inlet enthalpy), or
    ``conversion (h_in,header - h_out,header)``."""
    if sec.enthalpy_drop_kj_kg is not None:
        return sec.enthalpy_drop_kj_kg
    if sec.exhaust_enthalpy_kj_kg is not None:
        return h_in - sec.exhaust_enthalpy_kj_kg
    return sec.conversion * (h_in_header - h_out_header)


def _linear_power(sec: TurbineSection, dh_is: float, h_in_header: float, h_out_header: float | None, h_in: float = 0.0,
                  p_in_bara: float = 0.0, p_out_bara: float = 0.0) -> tuple[float, float, float, float]:
    """Nominal linear section model ``P = slope m - intercept``; returns (slope, intercept, rated flow, eta at rated)."""
    rated = sec.rated_flow_tph or sec.max_flow_tph
    if sec.model == "enthalpy_drop":
        drop = stated_drop_kj_kg(sec, h_in, h_in_header, h_out_header)
        return drop / 3600.0, 0.0, rated, drop / dh_is
    eta = sec.isentropic_efficiency
    if sec.model == "willans" and eta is None and sec.no_load_flow_fraction is None:
        line = sun_smith_line(p_in_bara, p_out_bara, dh_is, sec.max_flow_tph)
        slope, intercept = line.slope_mw_per_tph, line.intercept_mw
        return slope, intercept, rated, (slope * rated - intercept) * 3600.0 / (rated * dh_is)
    if sec.model == "isentropic":
        return eta * dh_is / 3600.0, 0.0, rated, eta
    f0 = sec.no_load_flow_fraction
    slope = eta * dh_is / (3600.0 * (1.0 - f0))
    return slope, slope * f0 * rated, rated, eta
