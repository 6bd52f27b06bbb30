"""True behaviour of a steered distillation column: reboiler steam and distillate purity.

A binary shortcut model (Seader, Henley & Roper, *Separation Process Principles*, 3rd ed. 2011,
ch. 9: Fenske, Underwood, Gilliland with Molokanov's fit), for a saturated-liquid feed and a
total condenser, mole and mass fractions taken alike (propylene 42.08 / propane 44.10 g/mol).
With ``F`` the feed (t/h), ``z`` its light-key fraction, ``D/F`` held by the inventory control,
``R`` the reflux ratio, ``N`` the equilibrium stages, ``alpha`` the relative volatility:

* boil-up ``V = (R + 1) D`` (saturated-liquid feed: the same vapour below the feed), so the
  reboiler's steam is ``S = F (D/F) (R + 1) lambda_c / q_s`` (t/h) with ``lambda_c`` the boil-up's
  latent heat and ``q_s`` the heat one kg of header steam gives (desuperheat and condense);
* the distillate purity ``x_D`` is the one at which the column's ``N`` stages are exactly what
  Gilliland asks for at ``R``: with ``x_B = (z - (D/F) x_D) / (1 - D/F)`` (material balance),

  .. math::
      N_{min} = \\frac{\\ln[(x_D/(1-x_D)) ((1-x_B)/x_B)]}{\\ln \\alpha}, \\quad
      R_{min} = \\frac{1}{\\alpha - 1}\\left(\\frac{x_D}{z} - \\alpha \\frac{1-x_D}{1-z}\\right),

      X = \\frac{R - R_{min}}{R + 1}, \\quad
      Y = 1 - \\exp\\left(\\frac{1 + 54.4 X}{11 + 117.2 X} \\frac{X - 1}{\\sqrt{X}}\\right), \\quad
      N = \\frac{Y + N_{min}}{1 - Y}

  solved for ``x_D`` (bisection; the stages needed rise monotonically with ``x_D``). Purity
  rises with ``R`` with diminishing returns and does not depend on the feed rate (a shortcut
  model at fixed ``D/F`` is scale-free); the steam is proportional to the feed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from optimizer.site.model import Column

_XD_TOL = 1e-13


def stages_needed(x_d: float, reflux_ratio: float, z: float, d_over_f: float, alpha: float) -> float:
    """Equilibrium stages Gilliland (Molokanov's fit) asks for a distillate of light-key fraction
    ``x_d`` at reflux ratio ``reflux_ratio`` (inf at or below the minimum reflux, or where the
    bottoms' fraction leaves (0, 1))."""
    x_b = (z - d_over_f * x_d) / (1.0 - d_over_f)
    if not (0.0 < x_b < 1.0) or not (0.0 < x_d < 1.0):
        return math.inf
    n_min = math.log((x_d / (1.0 - x_d)) * ((1.0 - x_b) / x_b)) / math.log(alpha)
    r_min = (x_d / z - alpha * (1.0 - x_d) / (1.0 - z)) / (alpha - 1.0)
    if reflux_ratio <= r_min:
        return math.inf
    x = (reflux_ratio - r_min) / (reflux_ratio + 1.0)
    y = 1.0 - math.exp((1.0 + 54.4 * x) / (11.0 + 117.2 * x) * (x - 1.0) / math.sqrt(x))
    return (y + n_min) / (1.0 - y)


@dataclass(frozen=True)
class ColumnCurve:
    """A column's true steam and purity (see the module docstring)."""

    column: Column

    def steam_per_feed(self, reflux_ratio: float) -> float:
        """Reboiler steam per t of feed, t/t."""
        c = self.column
        return c.distillate_to_feed * (reflux_ratio + 1.0) * c.boilup_latent_heat_kj_kg / c.reboiler_heat_kj_kg

    def steam_tph(self, feed_tph: float, reflux_ratio: float) -> float:
        """Reboiler steam, t/h, at ``feed_tph`` t/h and reflux ratio ``reflux_ratio``."""
        return max(feed_tph, 0.0) * self.steam_per_feed(reflux_ratio)

    def reflux_for_steam(self, feed_tph: float, steam_tph: float) -> float:
        """The reflux ratio at which ``steam_tph`` boils up ``feed_tph`` (the inverse of
        :meth:`steam_tph`; a column run on its steam flow controller)."""
        c = self.column
        return steam_tph * c.reboiler_heat_kj_kg / (feed_tph * c.distillate_to_feed * c.boilup_latent_heat_kj_kg) - 1.0

    def purity(self, reflux_ratio: float, feed_tph: float | None = None) -> float:
        """Distillate light-key mole fraction at ``reflux_ratio`` (independent of the feed rate,
        accepted for a uniform signature). Below the minimum reflux the feed's own fraction
        bounds it from below."""
        c = self.column
        z, dof, alpha, n = c.feed_light_fraction, c.distillate_to_feed, c.relative_volatility, c.theoretical_stages
        # x_d between the feed's fraction (no separation) and the largest the balance allows
        lo = z
        hi = min(1.0 - 1e-15, z / dof - 1e-15)
        if stages_needed(lo + 1e-12, reflux_ratio, z, dof, alpha) > n:
            return z
        while hi - lo > _XD_TOL:
            mid = 0.5 * (lo + hi)
            if stages_needed(mid, reflux_ratio, z, dof, alpha) <= n:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    def feed_for(self, steam_tph: float, reflux_ratio: float) -> float:
        """The feed, t/h, that ``steam_tph`` boils up at ``reflux_ratio``."""
        return steam_tph / self.steam_per_feed(reflux_ratio)


def column_draw(c, curve: ColumnCurve, setpoints, d, demand: float, tags: dict[str, float], notes: list[str]) -> float:
    """A steered column's reboiler steam (t/h) in the simulator, its tags written into ``tags``.

    ``c``: the consumer, ``setpoints``/``d``: the step's Setpoints and Disturbances, ``demand``: its
    consumer demand (t/h; read as throughput when the feed is not given). The reflux ratio
    setpoint (default today's) sets the steam, within the reboiler's [min_tph, max_tph] (at a
    limit the reflux follows the steam); a steam setpoint alone (the reboiler on its flow
    controller) sets the reflux instead. Purity from the reflux."""
    col = c.column
    feed = d.column_feed_tph.get(c.id, col.feed_nominal_tph * demand / c.demand_tph if c.demand_tph > 0 else col.feed_nominal_tph)
    feed = max(feed, 1e-9)
    if c.id in setpoints.column_reflux or c.id not in setpoints.consumer_tph:
        r_set = setpoints.column_reflux.get(c.id, col.reflux_ratio_today)
        reflux = min(max(r_set, col.reflux_ratio_min), col.reflux_ratio_max)
        steam = curve.steam_tph(feed, reflux)
        if not c.min_tph <= steam <= c.max_tph:
            steam = min(max(steam, c.min_tph), c.max_tph)
            reflux = curve.reflux_for_steam(feed, steam)
            notes.append(f"{c.id}: reboiler steam at its limit {steam:.2f} t/h; reflux ratio {reflux:.3f} instead of {r_set:.3f}")
    else:
        steam = min(max(setpoints.consumer_tph[c.id], c.min_tph), c.max_tph)
        reflux = curve.reflux_for_steam(feed, steam)
    purity = curve.purity(reflux)
    tags[f"{c.id}.feed_tph"] = feed
    tags[f"{c.id}.reflux_ratio"] = reflux
    tags[f"{c.id}.purity_mol_frac"] = purity
    tags[f"{c.id}.purity_short_mol_frac"] = max(0.0, col.purity_spec - purity)
    return steam
