"""The Sun & Smith (2015) coefficients of :mod:`optimizer.site.willans` against their sources.

Sun, L.; Smith, R., "Performance modeling of new and existing steam turbines", Ind. Eng. Chem. Res.
54(6) (2015) 1908-1915. The paper itself was not at hand. Its coefficient table is quoted, citing
the paper, with nine to ten significant figures by the University of Waikato's OpenPinch
(github.com/waikato-ahuora-smart-energy-systems/OpenPinch, ``OpenPinch/analysis/power/steam_turbine.py``,
``_work_SunModel``, commit fc46b641e9dd407b89ab2be3805dc0c8a50545b1) and, digit for digit the same,
the group's IDAES-Steam-System (``scripts/turbine_base_model.py``, commit
9907f9326c651fe98e330623e21227b67f29e511): typed below as ``TABLE``. An independent copy rounded to
five significant figures is in github.com/Norvell-git/SteamSystems (``turbines/functions/base.py``,
``f_abc``, commit c378ae7673e76807b6b4d21fadee79c55fe87aab): typed below as ``FIVE_FIGURES``.

Checked: the module uses the table; a Willans line computed here from the table and the paper's
formulas (IAPWS-IF97 for the isentropic drop) equals the module's to 1e-6; the five-figure copy
is the table rounded (so the two copies are one table).
"""

from __future__ import annotations

import math

import pytest
from iapws import IAPWS97

from optimizer.site.willans import BACK_PRESSURE, CONDENSING, sun_smith_line

# x = x1 + x2 P_in + x3 P_out (bar a); b in kW. "BPST" and "CT" in the sources.
TABLE = {
    "back_pressure": {"a": (1.18795366, -0.00029564, 0.004647288), "b": (449.9767142, 5.670176939, -11.5045814),
                      "c": (0.205149333, -0.000695171, 0.002844611)},
    "condensing": {"a": (1.314991261, -0.001634725, -0.367975103), "b": (-437.7746025, 29.00736723, 10.35902331),
                   "c": (0.07886297, 0.000528327, -0.703153891)},
}
FIVE_FIGURES = {
    "back_pressure": {"a": (1.1880, -2.9564e-4, 4.6473e-3), "b": (449.98, 5.6702, -11.505), "c": (0.20515, -6.9517e-4, 2.8446e-3)},
    "condensing": {"a": (1.3150, -1.6347e-3, -0.36798), "b": (-437.77, 29.007, 10.359), "c": (7.8863e-2, 5.2833e-4, -0.70315)},
}
MODULE = {"back_pressure": BACK_PRESSURE, "condensing": CONDENSING}
CASES = [(80.0, 500.0, 20.0), (106.0, 505.0, 13.0), (41.0, 390.0, 4.5), (106.0, 505.0, 41.0),
         (10.0, 300.0, 0.1), (13.0, 260.0, 0.1), (60.0, 480.0, 0.08)]


def _half_unit_of_fifth_figure(x: float) -> float:
    """Half a unit in the fifth significant figure of ``x``: the most that rounding to five figures moves it."""
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(x))) - 4)


@pytest.mark.parametrize("kind", ["back_pressure", "condensing"])
def test_the_module_uses_the_quoted_table(kind):
    for name in ("a", "b", "c"):
        assert getattr(MODULE[kind], name) == TABLE[kind][name], (kind, name)


@pytest.mark.parametrize("kind", ["back_pressure", "condensing"])
def test_the_five_figure_copy_is_the_table_rounded(kind):
    """Two copies, one table: every five-figure coefficient is the long one rounded (within half a
    unit of its fifth figure); the older copy's condensing c1 = 7.8863e-3 would fail here."""
    for name in ("a", "b", "c"):
        for i, (short, long_) in enumerate(zip(FIVE_FIGURES[kind][name], TABLE[kind][name], strict=True)):
            assert abs(short - long_) <= _half_unit_of_fifth_figure(long_) * (1.0 + 1e-9), (kind, f"{name}{i + 1}", short, long_)


def _table_power_kw(p_in: float, t_in: float, p_out: float, m_kg_s: float, m_max_kg_s: float, table: dict) -> float:
    """W = n m - W_int (kW), n = (1 + c)/a (dh_is - b/m_max), W_int = c/a (m_max dh_is - b), written
    from the paper's formulas with IAPWS-IF97's isentropic drop (kJ/kg)."""
    inlet = IAPWS97(P=p_in / 10.0, T=t_in + 273.15)
    dh = inlet.h - IAPWS97(P=p_out / 10.0, s=inlet.s).h
    k = table["condensing" if p_out < 1.013 else "back_pressure"]
    a, b, c = (k[x][0] + k[x][1] * p_in + k[x][2] * p_out for x in ("a", "b", "c"))
    return (1.0 + c) / a * (dh - b / m_max_kg_s) * m_kg_s - c / a * (m_max_kg_s * dh - b)


def _module_power_kw(p_in: float, t_in: float, p_out: float, m_kg_s: float, m_max_kg_s: float) -> float:
    inlet = IAPWS97(P=p_in / 10.0, T=t_in + 273.15)
    dh = inlet.h - IAPWS97(P=p_out / 10.0, s=inlet.s).h
    line = sun_smith_line(p_in, p_out, dh, m_max_kg_s * 3.6)
    return (line.slope_mw_per_tph * m_kg_s * 3.6 - line.intercept_mw) * 1000.0


@pytest.mark.parametrize("p_in, t_in, p_out", CASES)
def test_the_line_equals_one_computed_independently_from_the_table(p_in, t_in, p_out):
    """The module's line against W = n m - W_int written here from the table, at 30 %, 60 % and
    100 % of a 12 kg/s maximum, to 1e-6 relative."""
    for m in (3.6, 7.2, 12.0):
        assert _module_power_kw(p_in, t_in, p_out, m, 12.0) == pytest.approx(
            _table_power_kw(p_in, t_in, p_out, m, 12.0, TABLE), rel=1e-6)


@pytest.mark.parametrize("p_in, t_in, p_out", CASES)
def test_the_five_figure_rounding_moves_a_line_by_under_5e_5(p_in, t_in, p_out):
    """What the rounded copy would change (largest over these cases: 4.2e-5): the size of the
    difference between the two open implementations, stated in the module's docstring."""
    for m in (3.6, 7.2, 12.0):
        assert _module_power_kw(p_in, t_in, p_out, m, 12.0) == pytest.approx(
            _table_power_kw(p_in, t_in, p_out, m, 12.0, FIVE_FIGURES), rel=5e-5)
