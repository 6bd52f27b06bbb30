"""steamopt supervisory engine: site model, steam properties, formulation, cycle API."""

__version__ = "0.1.0"
