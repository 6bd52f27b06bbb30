"""steamopt's public API: what a supervisory layer, a study or a notebook imports.

.. code-block:: python

    from steamopt import Supervisor, load_site, load_models

    sup = Supervisor(load_site("scenarios/sites/reference_olefins.toml"),
                     load_models("scenarios/models/reference_olefins"))
    proposal = sup.step(snapshot)          # one supervisory cycle (a dict of tag -> value, timestamp)
    schedule = sup.plan(snapshot)          # the look-ahead schedule

The names here are re-exported from the internal packages (``optimizer``, ``surrogate``,
``scenarios``), which stay as they are; code may import either, this module is the one whose
names are kept stable.
"""

from __future__ import annotations

from optimizer import __version__
from optimizer.config import SupervisorConfig
from optimizer.proposal import Proposal
from optimizer.schedule import Schedule
from optimizer.site import SiteError
from optimizer.site.loader import load_site
from optimizer.supervisor import Supervisor
from surrogate.forecast import load_forecasters
from surrogate.manifest import load_model_dir as load_models

__all__ = ["Proposal", "Schedule", "SiteError", "Supervisor", "SupervisorConfig", "__version__", "load_forecasters",
           "load_models", "load_site"]
