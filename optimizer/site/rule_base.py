"""The ground the site's cross-component rules stand on: the site and the issue builder they
report to, the steam-table limits of a header's pressure, and the small checks every rule uses
(a reference to a known id, a node's absolute pressure, a pair of limits in order, a curve's points).

The rules themselves are :class:`optimizer.site.loader.SiteRules`, made of
:mod:`optimizer.site.unit_rules`, :mod:`optimizer.site.network_rules` and
:mod:`optimizer.site.sitewide_rules`.
"""

from __future__ import annotations

from optimizer import steam
from optimizer.site.model import EfficiencyCurve, RelativeCurve, Site
from optimizer.site.schema import Builder

# Saturation exists from the triple point to the critical point (IAPWS-IF97 region 4); iapws
# raises NotImplementedError (not SteamPropertyError) outside it.
TRIPLE_POINT_BARA = 0.00611657
CRITICAL_POINT_BARA = 220.64
_OUT_OF_RANGE = (steam.SteamPropertyError, NotImplementedError)


class RuleContext:
    """A site under check and the builder its issues go to, with the checks every rule uses.
    Each ``_check_*`` of a subclass adds issues; none raises."""

    def __init__(self, site: Site, builder: Builder):
        self.site = site
        self.b = builder
        self.warnings: list[str] = []  # accepted, but said at load and by `site check`

    # -- helpers
    def _ref(self, path: str, value: str | None, collections: str) -> bool:
        if value is None:
            return True
        pools = {c: getattr(self.site, c) for c in collections.split("|")}
        if any(value in pool for pool in pools.values()):
            return True
        known = sorted(k for pool in pools.values() for k in pool)
        self.b.error(path, value, f"unknown {' or '.join(c.rstrip('s') for c in pools)} (known: {', '.join(known) or 'none'})")
        return False

    def _pressure(self, node: str) -> float | None:
        if node in self.site.headers:
            return self.site.headers[node].pressure_barg + self.site.steam.atmospheric_pressure_bar
        if node in self.site.condensers:
            return self.site.condensers[node].pressure_bara
        return None

    def _limits(self, path: str, lo: float | None, hi: float | None, lo_name: str, hi_name: str) -> None:
        if lo is not None and hi is not None and lo > hi:
            self.b.error(f"{path}.{lo_name}", lo, f"must not exceed {hi_name} = {hi:g}")

    def _curve(self, path: str, curve: EfficiencyCurve | RelativeCurve | None, yname: str) -> None:
        if curve is None:
            return
        xs, ys = curve.load_fraction, getattr(curve, yname)
        if len(xs) != len(ys):
            self.b.error(f"{path}.{yname}", ys, f"must have as many points as load_fraction ({len(xs)})")
        if any(b <= a for a, b in zip(xs, xs[1:])):
            self.b.error(f"{path}.load_fraction", xs, "must be strictly increasing")
