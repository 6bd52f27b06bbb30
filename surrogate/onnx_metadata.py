"""The ``inputs`` and ``outputs`` entries of a surrogate file's ``metadata_props``, both ways.

Each is a JSON list of ``{name, unit, lower, upper}`` (an infinite bound written as ``null``; see
:mod:`surrogate.onnx_io`). Writing: :func:`_variables_to_json`; reading, with every refusal a
:class:`~surrogate.onnx_format.SurrogateFileError` naming the entry, the value and the rule:
:func:`_json_list` then :func:`_variables`. This module knows nothing of steam networks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from surrogate.network import Variable
from surrogate.onnx_format import _WHAT_WE_WRITE, SurrogateFileError
from surrogate.safe_read import DataLimitError, loads_json

_INPUT_KEYS = {"name", "unit", "lower", "upper"}


def _bound_to_json(value: float) -> float | None:
    value = float(value)
    if math.isnan(value):
        raise ValueError("a bound is NaN")
    return None if math.isinf(value) else value


def _variables_to_json(variables: Sequence[Variable]) -> str:
    return json.dumps(
        [{"name": v.name, "unit": v.unit, "lower": _bound_to_json(v.lower), "upper": _bound_to_json(v.upper)} for v in variables]
    )


def _json_list(props: dict[str, str], key: str, source: str) -> list[dict[str, object]]:
    if key not in props:
        raise SurrogateFileError(f"{source}: metadata_props has no {key!r}; expected {_WHAT_WE_WRITE}")
    try:
        value = loads_json(props[key], f"{source}: metadata {key!r}")  # nesting limited (json recurses)
    except json.JSONDecodeError as exc:
        raise SurrogateFileError(f"{source}: metadata {key!r} is not valid JSON ({exc}); expected a JSON list of objects") from exc
    except DataLimitError as exc:
        raise SurrogateFileError(f"{exc}; expected a JSON list of objects") from None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise SurrogateFileError(f"{source}: metadata {key!r} = {props[key]!r}: expected a JSON list of objects")
    return value


def _variables(items: list[dict[str, object]], key: str, source: str) -> list[Variable]:
    out: list[Variable] = []
    for i, item in enumerate(items):
        where = f"{source}: metadata {key}[{i}]"
        unknown = sorted(set(item) - _INPUT_KEYS)
        if unknown:
            raise SurrogateFileError(f"{where} has unknown keys {unknown}; expected keys among {sorted(_INPUT_KEYS)}")
        name, unit = item.get("name"), item.get("unit", "")
        if not isinstance(name, str) or not name:
            raise SurrogateFileError(f"{where}.name = {name!r}: expected a non-empty string")
        if not isinstance(unit, str):
            raise SurrogateFileError(f"{where}.unit = {unit!r}: expected a string")
        bounds = []
        for side, default in (("lower", -math.inf), ("upper", math.inf)):
            value = item.get(side)
            if value is None:
                bounds.append(default)
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                bounds.append(float(value))
            else:
                raise SurrogateFileError(f"{where}.{side} = {value!r}: expected a finite number, or null for unbounded")
        if bounds[0] > bounds[1]:
            raise SurrogateFileError(f"{where} ({name}): lower bound {bounds[0]} exceeds upper bound {bounds[1]}")
        out.append(Variable(name, unit, bounds[0], bounds[1]))
    names = [v.name for v in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SurrogateFileError(f"{source}: metadata {key!r} repeats the names {duplicates}; expected unique names")
    return out
