"""Adherence on the page: did the plant follow the previous proposal?

The rule of the historian adherence report (scenarios/adherence.py, ``AdherenceRules``) with its
absolute deadbands (the report also scales them with each unit's maximum; the service keeps the
floors, the stricter reading): with ``x_t`` the reading when a proposal ``p_t`` was made,
``move = p_t - x_t`` and the tag's deadband ``db``, a move was advised when ``|move| > db``, and it
was followed when the next snapshot's reading ``x_t+1`` satisfies
``|x_t+1 - p_t| <= max(db, 0.5 |move|)`` (within the deadband, or at least half of the way).
"""

from __future__ import annotations

import math

#: tag suffix -> deadband in the tag's unit (t/h, MW, -, on/off)
DEADBANDS = (("_tph", 2.0), ("_mw", 0.5), ("_share", 0.05), (".on_motor", 0.5))
MIN_PROGRESS = 0.5


def deadband(tag: str) -> float | None:
    """The deadband of a setpoint tag (None: not judged, e.g. a unit's on/off)."""
    for suffix, db in DEADBANDS:
        if tag.endswith(suffix):
            return db
    return None


def _reading(snapshot: dict, tag: str) -> float | None:
    v = snapshot.get(tag)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def adherence(proposed: dict[str, float], before: dict, after: dict) -> dict:
    """Per advised setpoint: the proposal, the readings before and after, followed or not; and
    the counts. ``proposed``: the previous proposal's setpoints; ``before``: the snapshot it was
    made from; ``after``: the next snapshot."""
    rows: dict[str, dict] = {}
    for tag, p in proposed.items():
        db = deadband(tag)
        x0, x1 = _reading(before, tag), _reading(after, tag)
        if db is None or x0 is None or x1 is None or p is None or abs(p - x0) <= db:
            continue
        rows[tag] = {"proposed": p, "before": x0, "now": x1, "deadband": db,
                     "followed": abs(x1 - p) <= max(db, (1.0 - MIN_PROGRESS) * abs(p - x0))}
    return {"advised": len(rows), "followed": sum(r["followed"] for r in rows.values()), "setpoints": rows}
