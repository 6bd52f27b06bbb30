"""Water and steam properties from IAPWS-IF97 (the ``iapws`` package).

Every property used by steamopt comes from here, so the conventions are in one place:

* pressures are given in bar: ``*_barg`` is gauge, ``*_bara`` absolute; the conversion
  ``p_bara = p_barg + atmospheric_bar`` is explicit (default 1.01325 bar, standard atmosphere);
* IF97 itself works in MPa and K: ``MPa = bara / 10``, ``K = C + 273.15``;
* specific enthalpy in kJ/kg, specific entropy in kJ/(kg K).

Energy flows use ``steam_tph * h_kj_kg / 3600 = MW`` (1 t/h x 1 kJ/kg = 1000 kJ/h = 1/3.6 kW).

These functions are called once per site (see :mod:`optimizer.site.properties`), never per
supervisory cycle.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from iapws import IAPWS97

STANDARD_ATMOSPHERE_BAR = 1.01325
KELVIN_OFFSET = 273.15
TPH_KJKG_TO_MW = 1.0 / 3600.0


class SteamPropertyError(ValueError):
    """A state outside the IAPWS-IF97 range, or a request that has no physical answer."""


def barg_to_bara(pressure_barg: float, atmospheric_bar: float = STANDARD_ATMOSPHERE_BAR) -> float:
    """Gauge to absolute pressure, bar."""
    return pressure_barg + atmospheric_bar


def _mpa(pressure_bara: float) -> float:
    if not pressure_bara > 0.0:
        raise SteamPropertyError(f"absolute pressure must be > 0 bar, got {pressure_bara}")
    return pressure_bara / 10.0


def _iapws(what: str, **kwargs: float) -> IAPWS97:
    """IAPWS97 state; anything the package cannot compute becomes a SteamPropertyError."""
    try:
        state = IAPWS97(**kwargs)
    except (NotImplementedError, ValueError, ZeroDivisionError, TypeError) as exc:
        raise SteamPropertyError(f"IAPWS-IF97 has no state for {what}: {exc}") from None
    return _check(state, what)


def _check(state: IAPWS97, what: str) -> IAPWS97:
    if state.status != 1 or state.h is None:
        raise SteamPropertyError(f"IAPWS-IF97 has no state for {what}: {state.msg}")
    return state


@dataclass(frozen=True)
class SteamState:
    """One water/steam state: pressure bar(a), temperature C, enthalpy kJ/kg,
    entropy kJ/(kg K), vapour quality (None when single-phase)."""

    pressure_bara: float
    temp_c: float
    enthalpy_kj_kg: float
    entropy_kj_kgk: float
    quality: float | None

    @classmethod
    def _from(cls, s: IAPWS97, pressure_bara: float) -> "SteamState":
        x = float(s.x) if s.region == 4 else None
        return cls(pressure_bara, s.T - KELVIN_OFFSET, float(s.h), float(s.s), x)


def state_pt(pressure_bara: float, temp_c: float) -> SteamState:
    """State at pressure (bar a) and temperature (C)."""
    s = _iapws(f"p={pressure_bara} bara, T={temp_c} C", P=_mpa(pressure_bara), T=temp_c + KELVIN_OFFSET)
    return SteamState._from(s, pressure_bara)


def state_ph(pressure_bara: float, enthalpy_kj_kg: float) -> SteamState:
    """State at pressure (bar a) and enthalpy (kJ/kg)."""
    s = _iapws(f"p={pressure_bara} bara, h={enthalpy_kj_kg} kJ/kg", P=_mpa(pressure_bara), h=enthalpy_kj_kg)
    return SteamState._from(s, pressure_bara)


def state_ps(pressure_bara: float, entropy_kj_kgk: float) -> SteamState:
    """State at pressure (bar a) and entropy (kJ/(kg K))."""
    s = _iapws(f"p={pressure_bara} bara, s={entropy_kj_kgk}", P=_mpa(pressure_bara), s=entropy_kj_kgk)
    return SteamState._from(s, pressure_bara)


def saturation_temp_c(pressure_bara: float) -> float:
    """Saturation temperature (C) at pressure (bar a)."""
    s = _iapws(f"saturation at p={pressure_bara} bara", P=_mpa(pressure_bara), x=0.0)
    return s.T - KELVIN_OFFSET


def saturation_pressure_bara(temp_c: float) -> float:
    """Saturation pressure (bar a) at temperature (C)."""
    s = _iapws(f"saturation at T={temp_c} C", T=temp_c + KELVIN_OFFSET, x=0.0)
    return s.P * 10.0


def saturated_liquid(pressure_bara: float) -> SteamState:
    """Saturated liquid at pressure (bar a)."""
    s = _iapws(f"saturated liquid at p={pressure_bara} bara", P=_mpa(pressure_bara), x=0.0)
    return dataclasses.replace(SteamState._from(s, pressure_bara), quality=0.0)


def saturated_vapour(pressure_bara: float) -> SteamState:
    """Saturated vapour at pressure (bar a)."""
    s = _iapws(f"saturated vapour at p={pressure_bara} bara", P=_mpa(pressure_bara), x=1.0)
    return dataclasses.replace(SteamState._from(s, pressure_bara), quality=1.0)


def water_state(pressure_bara: float, *, temp_c: float | None = None, enthalpy_kj_kg: float | None = None,
                entropy_kj_kgk: float | None = None) -> SteamState:
    """A water (or wet-steam) state stated by its pressure (bar a) and exactly one of temperature
    (C), enthalpy (kJ/kg) or entropy (kJ/(kg K)): desuperheating water from a pump at its own
    pressure, or feedwater. Stated by enthalpy or entropy it may be wet (``quality`` between 0
    and 1). The optimiser and the simulator both take their water enthalpies from here (through
    :func:`optimizer.site.properties.compute_properties`)."""
    given = {k: v for k, v in (("temp_c", temp_c), ("enthalpy_kj_kg", enthalpy_kj_kg), ("entropy_kj_kgk", entropy_kj_kgk)) if v is not None}
    if len(given) != 1:
        raise SteamPropertyError(f"a water state needs its pressure and exactly one of temp_c, enthalpy_kj_kg, entropy_kj_kgk; got {sorted(given) or 'none'}")
    if temp_c is not None:
        return state_pt(pressure_bara, temp_c)
    if enthalpy_kj_kg is not None:
        return state_ph(pressure_bara, enthalpy_kj_kg)
    return state_ps(pressure_bara, entropy_kj_kgk)


def isentropic_outlet(inlet: SteamState, outlet_pressure_bara: float) -> SteamState:
    """State reached by an isentropic expansion of ``inlet`` to ``outlet_pressure_bara``."""
    if not outlet_pressure_bara < inlet.pressure_bara:
        raise SteamPropertyError(
            f"expansion needs outlet pressure {outlet_pressure_bara} bara below inlet {inlet.pressure_bara} bara"
        )
    return state_ps(outlet_pressure_bara, inlet.entropy_kj_kgk)


def expansion_outlet(inlet: SteamState, outlet_pressure_bara: float, isentropic_efficiency: float) -> SteamState:
    """Actual outlet state of an expansion with the given isentropic efficiency:

    .. math:: h_{out} = h_{in} - \\eta_{is} (h_{in} - h_{out,s})
    """
    if not 0.0 < isentropic_efficiency <= 1.0:
        raise SteamPropertyError(f"isentropic efficiency must be in (0, 1], got {isentropic_efficiency}")
    ideal = isentropic_outlet(inlet, outlet_pressure_bara)
    h_out = inlet.enthalpy_kj_kg - isentropic_efficiency * (inlet.enthalpy_kj_kg - ideal.enthalpy_kj_kg)
    return state_ph(outlet_pressure_bara, h_out)


def desuperheater_water_ratio(steam_in_kj_kg: float, steam_out_kj_kg: float, water_kj_kg: float) -> float:
    """Water injected per unit of inlet steam in a desuperheater (kg water / kg steam).

    Energy balance of the adiabatic mixer (mass: ``m_out = m_in + m_w``):

    .. math:: m_{in} h_{in} + m_w h_w = (m_{in} + m_w) h_{out}
              \\Rightarrow \\frac{m_w}{m_{in}} = \\frac{h_{in} - h_{out}}{h_{out} - h_w}

    Zero when the inlet is not hotter than the outlet target (nothing to desuperheat).
    """
    if not steam_out_kj_kg > water_kj_kg:
        raise SteamPropertyError(
            f"desuperheater outlet enthalpy {steam_out_kj_kg} kJ/kg must exceed the water's {water_kj_kg} kJ/kg"
        )
    return max(0.0, (steam_in_kj_kg - steam_out_kj_kg) / (steam_out_kj_kg - water_kj_kg))


def header_spray_or_deficit(excess_tph_kj_kg: float, header_kj_kg: float, water_kj_kg: float) -> tuple[float, float]:
    """How a header closes its energy when streams enter it off its own enthalpy ``h_H``:
    ``excess = sum m (h_in - h_H)`` (t/h x kJ/kg) over the turbine exhausts and the
    undesuperheated letdowns entering it (:func:`mixing_letdowns`). Hotter (``excess > 0``): its
    desuperheater sprays water at ``h_w`` to bring the mix to ``h_H``,
    ``w = excess / (h_H - h_w)`` t/h; colder: no spray, an energy deficit ``-excess / 3600`` MW.
    Returns ``(w, deficit)``. The simulator computes this; the optimiser encodes the same rule as
    a disjunction, one binary per header (:mod:`optimizer.formulation`, ``spray_if_hot``)."""
    if not header_kj_kg > water_kj_kg:
        raise SteamPropertyError(f"header enthalpy {header_kj_kg} kJ/kg must exceed the spray water's {water_kj_kg} kJ/kg")
    return max(0.0, excess_tph_kj_kg) / (header_kj_kg - water_kj_kg), max(0.0, -excess_tph_kj_kg) * TPH_KJKG_TO_MW


def mixing_letdowns(letdowns, header_kj_kg: dict[str, float]) -> dict[str, tuple[str, float]]:
    """The letdowns whose steam enters their outlet header off its enthalpy (not desuperheated):
    ``id -> (outlet header, h_inlet - h_outlet in kJ/kg)``, the throttled steam keeping its inlet
    enthalpy. One list for the optimiser's energy rows and the simulator's header balance."""
    return {ld.id: (ld.outlet, header_kj_kg[ld.inlet] - header_kj_kg[ld.outlet]) for ld in letdowns if not ld.desuperheat}


def energy_mw(steam_tph: float, enthalpy_kj_kg: float) -> float:
    """Energy flow (MW) of a stream of ``steam_tph`` t/h at ``enthalpy_kj_kg``."""
    return steam_tph * enthalpy_kj_kg * TPH_KJKG_TO_MW
