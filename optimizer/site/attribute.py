"""``attr``: a site attribute declared as dataclass field metadata (unit, description, allowed range).

Every class of the site model (:mod:`optimizer.site.model` and the modules it is split into), of the
fuel system and of the scenario files declares its fields with it; :mod:`optimizer.site.schema`
validates a file against exactly these rows and :mod:`optimizer.site.docs` prints them.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, field
from typing import Any

__all__ = ["attr"]


def attr(
    unit: str = "",
    desc: str = "",
    *,
    default: Any = MISSING,
    default_factory: Any = MISSING,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    ref: str | None = None,
    min_len: int | None = None,
) -> Any:
    """A site attribute: its unit, description and allowed range, as dataclass field metadata.

    ``ref`` names the collection a string (or each string of a list) must refer to, e.g.
    ``"headers"``; the loader checks it.
    """
    meta = {"unit": unit, "desc": desc, "ge": ge, "gt": gt, "le": le, "lt": lt, "ref": ref, "min_len": min_len,
            "allow_inf": default is not MISSING and isinstance(default, float) and math.isinf(default)}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)
