"""Willans lines of steam-turbine sections from the Sun & Smith (2015) correlation.

Sun, L.; Smith, R. (2015), "Performance modeling of new and existing steam turbines",
Ind. Eng. Chem. Res. 54(6), 1908-1915, doi:10.1021/ie5032309. The Willans line of a turbine
(shaft power ``W`` kW against steam flow ``m`` kg/s) is

.. math:: W = n\\,m - W_{int},\\qquad n = \\frac{1 + c}{a}\\left(\\Delta h_{is} - \\frac{b}{m_{max}}\\right),
          \\qquad W_{int} = \\frac{c}{a}\\left(m_{max}\\,\\Delta h_{is} - b\\right)

with ``dh_is`` the isentropic enthalpy drop (kJ/kg) and ``m_max`` the maximum flow (kg/s); the
coefficients are linear in the inlet and outlet pressures ``P_in``, ``P_out`` (bar a):
``a = a1 + a2 P_in + a3 P_out``, ``b = b1 + b2 P_in + b3 P_out`` (kW), ``c = c1 + c2 P_in + c3 P_out``.
At maximum flow the line gives ``W = (m_max dh_is - b) / a``: an isentropic efficiency
``(1 - b / (m_max dh_is)) / a`` whatever ``c``.

Where the coefficients come from: the paper itself was not at hand here. They are the table as
quoted, citing the paper, by three files of the University of Waikato's Ahuora group, which agree
digit for digit (nine to ten significant figures; ``a2 = -2.9564e-4`` has five, as a printed table
would, which a re-fit would not give): OpenPinch
(github.com/waikato-ahuora-smart-energy-systems/OpenPinch, ``OpenPinch/analysis/power/steam_turbine.py``,
``_work_SunModel``, commit fc46b641e9dd407b89ab2be3805dc0c8a50545b1; "Model coefficients where P in
bar" in its first commit, 98b251a4a1f661ac7be07a571dca713a660d2ca9,
``src/analysis/power_cogeneration_analysis.py``) and the group's IDAES-Steam-System
(``scripts/turbine_base_model.py``, commit 9907f9326c651fe98e330623e21227b67f29e511). A second,
independent copy with five significant figures, github.com/Norvell-git/SteamSystems
(``turbines/functions/base.py``, ``f_abc``, commit c378ae7673e76807b6b4d21fadee79c55fe87aab,
"Modelling parameters from Sun and Smith 2015"), is every one of these values rounded to five
figures; its older copy (``MainFunctions/MoreFunctions/base.py``, commit
d4de629e1e93fa0c3e5f0cf3dfae4d40c8ba2edf) has ``c1 = 7.8863e-3`` for the condensing set, a slip
both the long table (``0.07886297``) and its own part-load test (``tests/test_cond_part_load.py``,
commit 400f565d58dce41c8923f1aa8412b8f1f79635e0: 10 bar(a), 300 C to 0.1 bar(a), 10 of 12 kg/s
max, shaft 6375.3476 kW with the five-figure set) rule out. The five-figure rounding moves a line's
power by at most 4.2e-5 relative in the cases of ``tests/test_willans_sources.py``.

The condensing set applies to an outlet below 1.013 bar(a), the back-pressure set otherwise (as
SteamSystems does; OpenPinch instead switches a back-pressure turbine to the condensing set when its
exhaust would be wet). The group's ahuora-builder
(``ahuora-builder/src/ahuora_builder/custom/thermal_utility_systems/willans_turbine.py``, commit
c8221acc37e02a4419bd0d6175466847ea191769) has another condensing ``a`` (1.288464, -0.0015185,
-0.33415834) with the same ``b`` and ``c``, without saying where it comes from; not used. Check
against the paper's table before relying on the correlation outside the range it was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

# outlet pressure (bar a) below which the condensing coefficients apply (as in the source above)
CONDENSING_BELOW_BARA = 1.013


@dataclass(frozen=True)
class SunSmithSet:
    """Regression coefficients of one turbine type: ``x = x1 + x2 P_in + x3 P_out`` (bar a) for x in a, b (kW), c."""

    a: tuple[float, float, float]
    b: tuple[float, float, float]
    c: tuple[float, float, float]


# the table as quoted by OpenPinch and IDAES-Steam-System (see the module docstring)
BACK_PRESSURE = SunSmithSet(a=(1.18795366, -0.00029564, 0.004647288), b=(449.9767142, 5.670176939, -11.5045814),
                            c=(0.205149333, -0.000695171, 0.002844611))
CONDENSING = SunSmithSet(a=(1.314991261, -0.001634725, -0.367975103), b=(-437.7746025, 29.00736723, 10.35902331),
                         c=(0.07886297, 0.000528327, -0.703153891))


@dataclass(frozen=True)
class SunSmithLine:
    """One section's Willans line: ``P_mw = slope_mw_per_tph * m_tph - intercept_mw`` and the
    correlation values it comes from (a, b kW, c; ``efficiency_at_max``: isentropic efficiency at
    maximum flow)."""

    a: float
    b_kw: float
    c: float
    slope_mw_per_tph: float
    intercept_mw: float
    efficiency_at_max: float


def coefficients(inlet_pressure_bara: float, outlet_pressure_bara: float) -> tuple[float, float, float]:
    """(a, b kW, c) of the correlation at the section's pressures (bar a)."""
    s = CONDENSING if outlet_pressure_bara < CONDENSING_BELOW_BARA else BACK_PRESSURE
    p1, p2 = inlet_pressure_bara, outlet_pressure_bara
    return tuple(k[0] + k[1] * p1 + k[2] * p2 for k in (s.a, s.b, s.c))  # type: ignore[return-value]


def sun_smith_line(inlet_pressure_bara: float, outlet_pressure_bara: float, isentropic_drop_kj_kg: float,
                   max_flow_tph: float) -> SunSmithLine:
    """The section's Willans line in the site's units (t/h, MW): ``m_max`` kg/s ``= max_flow_tph / 3.6``;
    ``n`` kJ/kg (kW per kg/s) is ``n / 3600`` MW per t/h; ``W_int`` kW is ``W_int / 1000`` MW."""
    a, b, c = coefficients(inlet_pressure_bara, outlet_pressure_bara)
    m_max = max_flow_tph / 3.6
    n = (1.0 + c) / a * (isentropic_drop_kj_kg - b / m_max)
    w_int = c / a * (m_max * isentropic_drop_kj_kg - b)
    return SunSmithLine(a, b, c, n / 3600.0, w_int / 1000.0, (1.0 - b / (m_max * isentropic_drop_kj_kg)) / a)
