"""Snapshots as the plant's supervisory layer would send them, made from simulated states."""

from __future__ import annotations

import numpy as np

from optimizer.snapshot import tag_rules
from optimizer.site.model import Site
from optimizer import tags
from scenarios.plant.inputs import Disturbances
from scenarios.plant.simulator import PlantState


def snapshot_from_state(site: Site, state: PlantState, disturbances: Disturbances,
                        noise: float = 0.0, rng: np.random.Generator | None = None) -> dict:
    """The tags a supervisory layer reads for this site, from a simulated state (optionally with
    relative sensor noise on flows and powers)."""
    rules = tag_rules(site)
    snap: dict = {"timestamp": state.timestamp.isoformat()}
    for tag in rules:
        if tag in state.tags:
            snap[tag] = float(state.tags[tag])
    snap[tags.SITE_LOAD] = float(disturbances.site_load_mw if disturbances.site_load_mw is not None
                                 else (site.electricity.site_load_mw if site.electricity else 0.0))
    for u in disturbances.unavailable:
        if tags.available(u) in rules:
            snap[tags.available(u)] = 0
    if noise > 0:
        rng = rng or np.random.default_rng(0)
        for tag, value in list(snap.items()):
            if tag.endswith(("_tph", "_mw")) and isinstance(value, float):
                snap[tag] = value * (1.0 + noise * rng.standard_normal())
    return snap
