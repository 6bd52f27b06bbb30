"""Build typed objects from TOML data against the attribute tables of the dataclasses.

The rules come from each dataclass field: its type hint (float, int, str, bool, Literal,
lists, dicts keyed by id, nested dataclasses, optionals) and its metadata (unit, range). Every
problem is recorded as a :class:`ValidationIssue` naming the path inside the file, the value
and the rule, and the caller raises them together, so a user fixes a file in one pass.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import typing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from surrogate.safe_read import DataLimitError, loads_toml

NoneType = type(None)


@dataclass(frozen=True)
class ValidationIssue:
    """One problem in a data file: where (dotted path), what value, which rule."""

    path: str
    value: Any
    rule: str

    def line(self, source: str) -> str:
        shown = _short(self.value)
        return f"{source}: {self.path} = {shown}: {self.rule}"


class DataFileError(ValueError):
    """A data file that breaks one or more rules; ``str()`` has one line per problem."""

    def __init__(self, source: str, issues: list[ValidationIssue]):
        self.source = source
        self.issues = list(issues)
        super().__init__("\n".join(i.line(source) for i in self.issues))


def _short(value: Any) -> str:
    if value is _MISSING_VALUE:
        return "(missing)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING_VALUE = _Missing()


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def public_fields(cls: type) -> list[dataclasses.Field]:
    """The fields a data file may set (``id`` comes from the table key, internals are skipped)."""
    return [f for f in dataclasses.fields(cls) if f.name != "id" and not f.metadata.get("internal")]


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Union or origin is getattr(__import__("types"), "UnionType", None):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not NoneType) + " (optional)"
    if tp is float:
        return "a number"
    if tp is int:
        return "an integer"
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin is list:
        return "a list of " + _type_name(get_args(tp)[0]).removeprefix("a ").removeprefix("an ") + "s"
    if origin is dict:
        return "a table"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return str(tp)


class Builder:
    """Converts plain TOML data into dataclass instances, collecting issues."""

    def __init__(self) -> None:
        self.issues: list[ValidationIssue] = []

    def error(self, path: str, value: Any, rule: str) -> None:
        self.issues.append(ValidationIssue(path, value, rule))

    # -- dataclasses
    def build(self, cls: type, data: Any, path: str, id_: str | None = None) -> Any:
        if not isinstance(data, dict):
            self.error(path, data, "must be a table")
            return None
        fields = public_fields(cls)
        names = {f.name for f in fields}
        for key in data:
            if key not in names:
                close = difflib.get_close_matches(str(key), sorted(names), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                self.error(_join(path, key), data[key], f"unknown key (allowed: {', '.join(sorted(names))}){hint}")
        kwargs: dict[str, Any] = {}
        if id_ is not None:
            kwargs["id"] = id_
        ok = True
        hints = _hints(cls)
        for f in fields:
            fpath = _join(path, f.name)
            if f.name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    self.error(fpath, _MISSING_VALUE, f"required: {f.metadata.get('desc', f.name)} ({_unit(f)}{_type_name(hints[f.name])})")
                    ok = False
                continue
            value = self.convert(hints[f.name], data[f.name], fpath, f.metadata)
            if value is _INVALID:
                ok = False
            else:
                kwargs[f.name] = value
        if not ok:
            return None
        return cls(**kwargs)

    # -- values
    def convert(self, tp: Any, value: Any, path: str, meta: dict) -> Any:
        origin = get_origin(tp)
        if origin is Union or origin is getattr(__import__("types"), "UnionType", None):
            args = [a for a in get_args(tp) if a is not NoneType]
            return self.convert(args[0], value, path, meta)
        if origin is Literal:
            choices = get_args(tp)
            if value not in choices:
                self.error(path, value, "must be " + _type_name(tp))
                return _INVALID
            return value
        if tp is bool:
            if not isinstance(value, bool):
                self.error(path, value, "must be true or false")
                return _INVALID
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.error(path, value, f"must be a number ({_unit_word(meta)})")
                return _INVALID
            value = float(value)
            if math.isnan(value):
                self.error(path, value, "must be a number, not nan")
                return _INVALID
            if math.isinf(value) and not meta.get("allow_inf"):
                self.error(path, value, "must be finite")
                return _INVALID
            return value if self._in_range(value, path, meta) else _INVALID
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.error(path, value, "must be an integer")
                return _INVALID
            return value if self._in_range(value, path, meta) else _INVALID
        if tp is str:
            if not isinstance(value, str):
                self.error(path, value, "must be a string")
                return _INVALID
            return value
        if origin is list:
            (item_tp,) = get_args(tp)
            if not isinstance(value, list):
                self.error(path, value, "must be " + _type_name(tp))
                return _INVALID
            if meta.get("min_len") and len(value) < meta["min_len"]:
                self.error(path, value, f"needs at least {meta['min_len']} item(s)")
                return _INVALID
            out = []
            bad = False
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item_tp):
                    built = self.build(item_tp, item, f"{path}[{i}]")
                    bad |= built is None
                else:
                    built = self.convert(item_tp, item, f"{path}[{i}]", meta)
                    bad |= built is _INVALID
                out.append(built)
            return _INVALID if bad else out
        if origin is dict:
            _, val_tp = get_args(tp)
            if not isinstance(value, dict):
                self.error(path, value, "must be a table")
                return _INVALID
            out = {}
            bad = False
            for key, item in value.items():
                if dataclasses.is_dataclass(val_tp):
                    has_id = any(f.name == "id" for f in dataclasses.fields(val_tp))
                    built = self.build(val_tp, item, _join(path, key), key if has_id else None)
                    bad |= built is None
                else:
                    built = self.convert(val_tp, item, _join(path, key), meta)
                    bad |= built is _INVALID
                out[key] = built
            return _INVALID if bad else out
        if dataclasses.is_dataclass(tp):
            built = self.build(tp, value, path)
            return _INVALID if built is None else built
        raise TypeError(f"unsupported field type {tp!r} at {path}")  # a programming error, not bad data

    def _in_range(self, value: float, path: str, meta: dict) -> bool:
        unit = f" {meta['unit']}" if meta.get("unit") and meta["unit"] != "-" else ""
        for key, ok, word in (
            ("gt", lambda v, b: v > b, ">"),
            ("ge", lambda v, b: v >= b, ">="),
            ("lt", lambda v, b: v < b, "<"),
            ("le", lambda v, b: v <= b, "<="),
        ):
            bound = meta.get(key)
            if bound is not None and not ok(value, bound):
                self.error(path, value, f"must be {word} {bound:g}{unit}{_range_text(meta)}")
                return False
        return True


_INVALID = object()


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _unit(f: dataclasses.Field) -> str:
    u = f.metadata.get("unit", "")
    return f"{u}, " if u and u != "-" else ""


def _unit_word(meta: dict) -> str:
    u = meta.get("unit", "")
    return f"in {u}" if u and u != "-" else "dimensionless"


def _range_text(meta: dict) -> str:
    lo = meta["gt"] if meta.get("gt") is not None else meta.get("ge")
    hi = meta["lt"] if meta.get("lt") is not None else meta.get("le")
    if lo is None or hi is None:
        return ""
    lb = "(" if meta.get("gt") is not None else "["
    rb = ")" if meta.get("lt") is not None else "]"
    return f" (allowed {lb}{lo:g}, {hi:g}{rb})"


def read_toml_file(path: Path, limit_bytes: int, what: str = "") -> dict[str, Any]:
    """Read a TOML data file (never code): size limit, UTF-8, TOML syntax. Every failure is a
    :class:`DataFileError` naming the file; ``what`` ("site", "scenario") prefixes the message."""
    source = str(path)
    noun = f"{what} file " if what else ""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataFileError(source, [ValidationIssue("(file)", source, f"{noun}cannot be read: {exc.strerror}")]) from None
    if size > limit_bytes:
        article = f"a {noun}" if what else ""
        raise DataFileError(source, [ValidationIssue("(file)", f"{size} bytes", f"{article}must be at most {limit_bytes} bytes")])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(source, [ValidationIssue("(file)", f"byte {exc.start}", "is not UTF-8 text")]) from None
    except OSError as exc:  # e.g. a directory, or no read permission
        raise DataFileError(source, [ValidationIssue("(file)", source, f"{noun}cannot be read: {exc.strerror}")]) from None
    return loads_toml_checked(text, source)


class _Verbatim(str):
    """A description shown as is in place of a value (no quotes)."""

    def __repr__(self) -> str:
        return str(self)


def loads_toml_checked(text: str, source: str) -> dict[str, Any]:
    """Parse TOML ``text``; invalid TOML, or arrays/tables nested deeper than
    :data:`surrogate.safe_read.MAX_NESTING_DEPTH` (refused before parsing: Python's parser
    recurses), raise :class:`DataFileError` naming ``source``."""
    try:
        return loads_toml(text, source)
    except DataLimitError as exc:
        raise DataFileError(source, [ValidationIssue("(toml)", _Verbatim(exc.found), exc.rule)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(source, [ValidationIssue("(toml)", "", f"is not valid TOML: {exc}")]) from None


def attribute_table(cls: type) -> list[dict[str, Any]]:
    """The attribute table of a component class: name, type, unit, default, range, description."""
    rows = []
    hints = _hints(cls)
    for f in public_fields(cls):
        m = f.metadata
        default = None if f.default is dataclasses.MISSING else f.default
        rows.append(
            {
                "attribute": f.name,
                "type": _type_name(hints[f.name]),
                "unit": m.get("unit", ""),
                "required": f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
                "default": default,
                "min": m["gt"] if m.get("gt") is not None else m.get("ge"),
                "max": m["lt"] if m.get("lt") is not None else m.get("le"),
                "description": m.get("desc", ""),
            }
        )
    return rows
