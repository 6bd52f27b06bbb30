"""steamopt supervisory engine: site model, steam properties, formulation, cycle API."""

__version__ = "0.1.0"

from optimizer._highs_banner import swallow as _swallow_highs_banner

_swallow_highs_banner()
