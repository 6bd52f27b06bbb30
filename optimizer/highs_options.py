"""HiGHS options checked before use: every name, type and value a site or configuration gives
is tried on a scratch HiGHS instance, so that none is silently ignored (:func:`check_solver_options`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping

import highspy
import numpy as np

#: Options the Supervisor sets on every solve from its own settings: setting them here would be
#: overwritten, so they are refused (with the setting to use instead).
_OWNED_OPTIONS = {"time_limit": "SupervisorConfig.time_budget_s", "mip_rel_gap": "SupervisorConfig.mip_rel_gap"}
_PYTHON_TYPES = {
    highspy.HighsOptionType.kBool: "a bool (True/False)",
    highspy.HighsOptionType.kInt: "an integer",
    highspy.HighsOptionType.kDouble: "a number",
    highspy.HighsOptionType.kString: "a string",
}


def _type_ok(kind: "highspy.HighsOptionType", value: object) -> bool:
    if kind == highspy.HighsOptionType.kBool:
        return isinstance(value, (bool, np.bool_))
    if kind == highspy.HighsOptionType.kInt:
        return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if kind == highspy.HighsOptionType.kDouble:
        return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
                and not math.isnan(float(value)))
    return isinstance(value, str)


def _plain(kind: "highspy.HighsOptionType", value: object) -> object:
    if kind == highspy.HighsOptionType.kBool:
        return bool(value)
    if kind == highspy.HighsOptionType.kInt:
        return int(value)
    if kind == highspy.HighsOptionType.kDouble:
        return float(value)
    return value


def check_solver_options(options: Mapping[str, object] | None, where: str = "solver_options") -> dict[str, object]:
    """Refuse HiGHS options that HiGHS does not have, or values it would not take.

    HiGHS answers a bad ``setOptionValue`` with an error status (and a log line) and carries on
    with its previous value, so an unchecked option is silently ignored. Each option is checked
    on a scratch HiGHS instance: the name (``getOptionType`` fails for an unknown one), the
    Python type against the option's type (bool, integer, number, string; NaN is refused), then
    the value (HiGHS's own reason, e.g. below a bound or not one of its choices, is quoted).
    ``time_limit`` and ``mip_rel_gap`` are refused: the Supervisor sets them on every solve.
    Returns the options with plain Python values (numpy scalars converted). Raises ``ValueError``
    listing every problem, one per line, each naming the option, the value and the rule."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValueError(f"{where} = {options!r}: must be a mapping of HiGHS option name -> value")
    h = highspy.Highs()
    h.setOptionValue("output_flag", True)   # HiGHS's reasons go to the logging callback ...
    h.setOptionValue("log_to_console", False)  # ... and not to the console
    messages: list[str] = []
    h.setCallback(lambda _type, message, *_: messages.append(message.strip()), None)
    h.startCallback(highspy.cb.HighsCallbackType.kCallbackLogging)
    known = [n for n in dir(h.getOptions()) if not n.startswith("_")]  # for suggestions only
    problems = []
    plain: dict[str, object] = {}
    try:
        for name, value in options.items():
            label = f"{where}[{name!r}] = {value!r}"
            if not isinstance(name, str):
                problems.append(f"{label}: an option name must be a string")
                continue
            if name in _OWNED_OPTIONS:
                problems.append(f"{label}: set by the Supervisor on every solve; use {_OWNED_OPTIONS[name]}")
                continue
            status, kind = h.getOptionType(name)
            if status != highspy.HighsStatus.kOk:
                close = difflib.get_close_matches(name, known, n=3)
                hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
                problems.append(f"{label}: not a HiGHS option (HiGHS {h.version()} has no option of that name){hint}")
                continue
            if not _type_ok(kind, value):
                problems.append(f"{label}: HiGHS option {name!r} takes {_PYTHON_TYPES.get(kind, str(kind))}, got {type(value).__name__}")
                continue
            messages.clear()
            plain[name] = _plain(kind, value)
            if h.setOptionValue(name, plain[name]) != highspy.HighsStatus.kOk:
                reason = "; ".join(m.removeprefix("ERROR:").strip() for m in messages) or "HiGHS refuses this value"
                problems.append(f"{label}: HiGHS refuses the value: {reason}")
    finally:
        h.stopCallback(highspy.cb.HighsCallbackType.kCallbackLogging)
    if problems:
        raise ValueError("\n".join(problems))
    return plain

