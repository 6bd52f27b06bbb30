"""The model's limits in the words an engineer uses: ``g_max[GT1]`` is "GT1 at maximum power".

The optimiser's rows and columns are named after its Pyomo components (``mass[SHP]``,
``x_max[TG1,0]``). A binding-limit report, an explanation or a page shows them as a plant
engineer would say them, with the unit one more unit of the limit is counted in (its worth is in
the site's currency per hour per that unit). One table here, used by every report; a name it does
not know is shown as it is.
"""

from __future__ import annotations

from optimizer.site.model import Site

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")

# component -> (words with {0}, {1} for the index parts, unit of one more of the limit)
_WORDS: dict[str, tuple[str, str]] = {
    "mass": ("{0} header: steam balance", "t/h"),
    "swing": ("{0} header: swing reserve for pressure control", "t/h"),
    "b_max": ("{0} at maximum steam (or its move limit)", "t/h"),
    "b_min": ("{0} at minimum steam (or its move limit)", "t/h"),
    "g_max": ("{0} at maximum power (base load or move limit)", "MW"),
    "g_min": ("{0} at minimum power (or its move limit)", "MW"),
    "d_max": ("{0} duct firing at its maximum", "t/h"),
    "t_gen_max": ("{0} at maximum power (or its move limit)", "MW"),
    "t_gen_min": ("{0} at minimum power (or its move limit)", "MW"),
    "t_flow_max": ("{0} {1} section at its flow limit", "t/h"),
    "t_flow_min": ("{0} {1} section at its minimum flow", "t/h"),
    "x_max": ("{0} {1} extraction at its maximum (or its move limit)", "t/h"),
    "x_min": ("{0} {1} extraction at its minimum (or its move limit)", "t/h"),
    "ld": ("letdown {0} at its capacity", "t/h"),
    "vent": ("vent {0} at its capacity", "t/h"),
    "cdraw": ("{0} at the edge of its flexible band", "t/h"),
    "fuel_limit": ("{0} availability", "GJ/h"),
    "imp": ("grid import limit", "MW"),
    "exp": ("grid export limit", "MW"),
    "grid": ("site electricity balance", "MW"),
    "cond_duty": ("condenser {0} cooling capacity", "MW"),
    "contract": ("contract minimum import", "MW"),
    "makeup_nonneg": ("make-up water", "t/h"),
    "n1_cover": ("N-1 cover of {0}: spare steam within the cover time", "t/h"),
    "col_spec": ("{0}: product purity at its specification", "mol/mol"),
    "reflux": ("{0} reflux at its range or move limit", "reflux ratio"),
    # the fuel system (optimizer/fuel_system.py): a blend row is in the burner's scaled volumes
    "fh_balance": ("{0} fuel header: gas balance", "GJ/h"),
    "fb_limit": ("{0} burner: blend at its {1}", "scaled volume"),
    "fs_take": ("{0} purchase at its availability", "GJ/h"),
}
_BLEND_LIMITS = {"h2_max": "hydrogen maximum", "lhv_min": "LHV minimum", "lhv_max": "LHV maximum",
                 "wobbe_min": "Wobbe index minimum", "wobbe_max": "Wobbe index maximum"}


def _parts(name: str) -> tuple[str, list[str]]:
    """``"x_max[TG1,0]"`` -> ``("x_max", ["TG1", "0"])``."""
    base, _, rest = name.partition("[")
    return base, [p.strip().strip("'\"") for p in rest.rstrip("]").split(",")] if rest else []


def describe_limit(name: str, site: Site | None = None) -> tuple[str, str]:
    """(words, unit) of a model limit's name; ``(name, "")`` for a name not in the table.

    Section and extraction indices are said as ordinals ("TG1 first section"); a fuel is named as
    the site file names it, with underscores as spaces ("fuel gas availability")."""
    base, parts = _parts(name)
    if base not in _WORDS:
        return name, ""
    words, unit = _WORDS[base]
    if base in ("t_flow_max", "t_flow_min", "x_max", "x_min") and len(parts) == 2 and parts[1].isdigit():
        k = int(parts[1])
        parts[1] = _ORDINALS[k] if k < len(_ORDINALS) else f"no. {k + 1}"
    if base == "fuel_limit" and parts:
        parts[0] = parts[0].replace("_", " ")
    if base == "fb_limit" and len(parts) == 2:
        parts[1] = _BLEND_LIMITS.get(parts[1], parts[1])
    needed = words.count("{")
    if len(parts) < needed:
        return name, unit
    text = words.format(*parts)
    return text[0].upper() + text[1:] if base == "fuel_limit" else text, unit
