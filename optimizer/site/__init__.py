"""Site model: typed components read from TOML, validated, with their steam properties."""

from optimizer.site.loader import SiteError, load_site, parse_site, site_from_dict
from optimizer.site.model import Site
from optimizer.site.properties import SiteProperties, compute_properties

__all__ = ["Site", "SiteError", "SiteProperties", "compute_properties", "load_site", "parse_site", "site_from_dict"]
