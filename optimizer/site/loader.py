"""Read a site from TOML and validate it: types and ranges from the attribute tables, then the
rules that tie components together (references, pressure order, limits, sources).

Files are data only: TOML parsed with :mod:`tomllib`, size-limited, nothing executed.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from optimizer.site.model import Site
from optimizer.site.network_rules import NetworkRules
from optimizer.site.rule_base import CRITICAL_POINT_BARA, TRIPLE_POINT_BARA  # noqa: F401 - re-exported (their old path)
from optimizer.site.schema import Builder, DataFileError, ValidationIssue, loads_toml_checked, read_toml_file
from optimizer.site.sitewide_rules import SiteWideRules
from optimizer.site.unit_rules import UnitRules

log = logging.getLogger(__name__)

MAX_SITE_FILE_BYTES = 2_000_000
SiteError = DataFileError


def load_site(path: str | Path) -> Site:
    """Read and validate a site file. Raises :class:`SiteError` (one line per problem)."""
    path = Path(path)
    return site_from_dict(read_toml_file(path, MAX_SITE_FILE_BYTES), str(path))


def parse_site(text: str, source: str = "<string>") -> Site:
    """Validate a site given as TOML text."""
    return site_from_dict(loads_toml_checked(text, source), source)


def site_from_dict(data: dict[str, Any], source: str = "<dict>") -> Site:
    """Validate a site given as plain data (as parsed from TOML)."""
    if not isinstance(data, dict):
        raise SiteError(source, [ValidationIssue("(file)", data, "must be a table of site data (as parsed from TOML)")])
    builder = Builder()
    site = builder.build(Site, data, "")
    if site is not None:
        site = _replace_source(site, source)
        rules = SiteRules(site, builder)
        rules.check()
        if rules.warnings and not builder.issues:
            for w in rules.warnings:
                log.warning("%s: %s", source, w)
            site = dataclasses.replace(site, warnings=tuple(rules.warnings))
    if builder.issues:
        raise SiteError(source, builder.issues)
    return site


def _replace_source(site: Site, source: str) -> Site:
    return dataclasses.replace(site, source=source)


class SiteRules(UnitRules, NetworkRules, SiteWideRules):
    """Cross-component rules. Each ``_check_*`` adds issues; none raises. They are run in the
    order of their names; the units' (:mod:`optimizer.site.unit_rules`), the steam network's
    (:mod:`optimizer.site.network_rules`) and the site-wide sections'
    (:mod:`optimizer.site.sitewide_rules`) rules are in their own modules, the helpers they share
    in :mod:`optimizer.site.rule_base`."""

    def check(self) -> None:
        for name in sorted(n for n in dir(self) if n.startswith("_check_")):
            getattr(self, name)()
        if not self.b.issues:  # tag and setpoint names are derived from a sound site
            self._tags_measurements()
            self._tags_plant_connection()
        if not self.b.issues:  # the steam states of a sound site (textbook conventions)
            from optimizer.site.textbook import check_steam_states

            check_steam_states(self.site, self.b, self.warnings)

    # -- the rule on every id
    def _check_ids_unique(self) -> None:
        seen: dict[str, str] = {}
        for coll in ("headers", "fuels", "boilers", "gas_turbines", "turbines", "condensers", "letdowns", "vents", "byproduct_sources", "consumers"):
            for key in getattr(self.site, coll):
                if key in seen:
                    self.b.error(f"{coll}.{key}", key, f"duplicate id: already used by {seen[key]}.{key} (ids name tags and must be unique)")
                else:
                    seen[key] = coll
                if not key.replace("_", "").replace("-", "").isalnum():
                    self.b.error(f"{coll}.{key}", key, "id must use letters, digits, '_' or '-' only")
