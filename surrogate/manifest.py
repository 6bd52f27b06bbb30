"""A model directory: one ``.onnx`` per learned quantity, listed in ``manifest.toml``.

::

    format = "1"
    site = "reference_olefins"        # free text, optional

    [models.B1_fuel]
    file = "B1_fuel.onnx"
    inputs = ["B1.steam_tph", "ambient_temp_c"]
    outputs = ["B1.fuel_gj_h"]
    sha256 = "..."                     # of the file's bytes

    [site_record]                      # optional: what the models' meaning depends on
    hash = "..."                       # of the site they were trained for
    [site_record.models.B1_fuel]
    "header HP.pressure_barg" = 42.0   # any key: a string, number, boolean or list of them

``site_record`` is opaque here: this package knows nothing of steam. The optimizer writes it
(:mod:`optimizer.model_site`: the site's hash and, per model, the physical inputs it depends on)
and compares it with the site a directory is loaded for. Here it is only checked for shape: a
table holding ``hash`` (64 lowercase hex digits), whose values are strings, finite or infinite
numbers, booleans, lists of those, or tables of those (at most three levels); a ``models`` table
in it may name only models of this manifest. It is written in the same file, by the same atomic
write, as the model list.

:func:`load_model_dir` serves every listed model, and refuses the directory if the manifest is
malformed, a listed file is missing or changed since the manifest was written (hash), a file's
name, inputs or outputs differ from the manifest, or the directory holds a model-like file the
manifest does not list (another ``.onnx``, or a pickle, joblib, PyTorch ... file: those are never
loaded, and their presence means someone expects a model that will not be used). Notes and
reports (``.md``, ``.txt``, ``.json``, ``.csv``) and hidden files are tolerated; any other
unlisted file is refused. Subdirectories are ignored. All errors are
:class:`~surrogate.onnx_io.SurrogateFileError`; one error lists every problem found, one per line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from surrogate.atomic import atomic_write_text
from surrogate.onnx_io import (
    DEFAULT_MAX_BYTES,
    SurrogateFileError,
    read_file_bytes,
    read_model_bytes,
    sha256_hex,
)
from surrogate.safe_read import DataLimitError, loads_toml
from surrogate.serving import OnnxSurrogate

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "Manifest",
    "ManifestEntry",
    "load_model_dir",
    "load_model_dir_with_manifest",
    "read_manifest",
    "write_manifest",
]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.toml"
MANIFEST_FORMAT = "1"
#: Suffixes of serialized models refused when unlisted (the pickle family is never loaded at all).
PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib", ".dill", ".pt", ".pth", ".sav", ".npz"})
MODEL_SUFFIXES = frozenset({".onnx", ".ort", ".h5", ".keras", ".pb"}) | PICKLE_SUFFIXES
#: Unlisted files with these suffixes are tolerated (notes, training reports).
TOLERATED_SUFFIXES = frozenset({".md", ".txt", ".json", ".csv"})
_MAX_MANIFEST_BYTES = 1_000_000

_TOP_KEYS = {"format": "required", "site": "optional", "models": "required", "site_record": "optional"}
SITE_RECORD_KEY = "site_record"
_RECORD_DEPTH = 3
_MODEL_KEYS = ("file", "inputs", "outputs", "sha256")
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_BARE_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")

#: What ``write_manifest`` accepts per model: a served surrogate, or (file, inputs, outputs).
Entry = OnnxSurrogate | tuple[str, Sequence[str], Sequence[str]]


@dataclass(frozen=True)
class ManifestEntry:
    """One ``[models.NAME]`` table."""

    name: str
    file: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """A validated ``manifest.toml``."""

    path: Path
    format: str
    site: str | None
    models: dict[str, ManifestEntry]
    #: The optional ``[site_record]`` table, as parsed (opaque here; see the module docstring).
    site_record: dict[str, Any] | None = None


# =====================================================================================  validation


def _fmt(value: Any) -> str:
    return repr(value) if not isinstance(value, (dict, list)) else json.dumps(value, default=str)[:120]


def _name_list(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where} = {_fmt(value)}: must be a non-empty list of non-empty strings")
        return ()
    if len(set(value)) != len(value):
        problems.append(f"{where} = {_fmt(value)}: names must be unique")
    return tuple(value)


def _validate(doc: dict[str, Any], path: Path) -> Manifest:
    problems: list[str] = []
    p = str(path)
    for key in doc:
        if key not in _TOP_KEYS:
            problems.append(f"{p}: {key} = {_fmt(doc[key])}: unknown key (allowed: {', '.join(_TOP_KEYS)})")
    for key, need in _TOP_KEYS.items():
        if need == "required" and key not in doc:
            problems.append(f"{p}: {key}: missing required key")
    fmt = doc.get("format")
    if "format" in doc and fmt != MANIFEST_FORMAT:
        problems.append(f"{p}: format = {_fmt(fmt)}: must be the string {MANIFEST_FORMAT!r}")
    site = doc.get("site")
    if site is not None and not isinstance(site, str):
        problems.append(f"{p}: site = {_fmt(site)}: must be a string")
    models_doc = doc.get("models", {})
    models: dict[str, ManifestEntry] = {}
    if not isinstance(models_doc, dict):
        problems.append(f"{p}: models = {_fmt(models_doc)}: must be a table of [models.NAME] tables")
        models_doc = {}
    files_seen: dict[str, str] = {}
    for name, table in models_doc.items():
        where = f"{p}: models.{name}"
        if not _NAME_RE.match(name):
            problems.append(f"{where}: model name {name!r} must match {_NAME_RE.pattern}")
        if not isinstance(table, dict):
            problems.append(f"{where} = {_fmt(table)}: must be a table with keys {', '.join(_MODEL_KEYS)}")
            continue
        for key in table:
            if key not in _MODEL_KEYS:
                problems.append(f"{where}.{key} = {_fmt(table[key])}: unknown key (allowed: {', '.join(_MODEL_KEYS)})")
        for key in _MODEL_KEYS:
            if key not in table:
                problems.append(f"{where}.{key}: missing required key")
        file = table.get("file")
        if "file" in table:
            if not isinstance(file, str) or not file or Path(file).name != file or "\\" in file or file.startswith(".") or not file.endswith(".onnx"):
                problems.append(f"{where}.file = {_fmt(file)}: must be a plain file name in this directory ending in .onnx")
            elif file in files_seen:
                problems.append(f"{where}.file = {file!r}: already the file of model {files_seen[file]!r}")
            else:
                files_seen[file] = name
        inputs = _name_list(table.get("inputs"), f"{where}.inputs", problems) if "inputs" in table else ()
        outputs = _name_list(table.get("outputs"), f"{where}.outputs", problems) if "outputs" in table else ()
        sha = table.get("sha256")
        if "sha256" in table and not (isinstance(sha, str) and _SHA_RE.match(sha)):
            problems.append(f"{where}.sha256 = {_fmt(sha)}: must be 64 lowercase hex digits (the SHA-256 of the file)")
        models[name] = ManifestEntry(name, file if isinstance(file, str) else "", inputs, outputs, sha if isinstance(sha, str) else "")
    record = doc.get(SITE_RECORD_KEY)
    if SITE_RECORD_KEY in doc:
        _check_record(record, f"{p}: {SITE_RECORD_KEY}", set(models), problems)
    if problems:
        raise SurrogateFileError("\n".join(problems))
    return Manifest(path=path, format=fmt, site=site, models=models, site_record=record if isinstance(record, dict) else None)


def _plain_value(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or (isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value))


def _check_record(record: Any, where: str, model_names: set[str], problems: list[str]) -> None:
    """The shape of ``[site_record]`` (module docstring); its meaning is the optimizer's."""
    if not isinstance(record, dict):
        problems.append(f"{where} = {_fmt(record)}: must be a table")
        return
    digest = record.get("hash")
    if not (isinstance(digest, str) and _SHA_RE.match(digest)):
        problems.append(f"{where}.hash = {_fmt(digest)}: must be 64 lowercase hex digits (the hash of the site the models were trained for)")
    models = record.get("models")
    if "models" in record and isinstance(models, dict):
        for name in models:
            if name not in model_names:
                problems.append(f"{where}.models.{name}: not a model of this manifest (models: {', '.join(sorted(model_names)) or 'none'})")

    def walk(table: dict, at: str, depth: int) -> None:
        for key, value in table.items():
            if isinstance(value, dict):
                if depth >= _RECORD_DEPTH:
                    problems.append(f"{at}.{key}: tables nested more than {_RECORD_DEPTH} levels deep")
                else:
                    walk(value, f"{at}.{key}", depth + 1)
            elif not _plain_value(value):
                problems.append(f"{at}.{key} = {_fmt(value)}: must be a string, number, boolean or a list of them")

    walk(record, where, 1)


def read_manifest(directory: str | os.PathLike[str]) -> Manifest:
    """Parse and validate ``directory/manifest.toml``. Raises :class:`SurrogateFileError` naming the
    manifest path, the key, its value and the rule, one line per problem."""
    path = Path(directory) / MANIFEST_NAME
    data = read_file_bytes(path, _MAX_MANIFEST_BYTES)
    try:
        doc = loads_toml(data.decode("utf-8"), str(path))
    except UnicodeDecodeError as exc:
        raise SurrogateFileError(f"{path}: not UTF-8 text ({exc}); expected a TOML manifest") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SurrogateFileError(f"{path}: not valid TOML ({exc}); expected a TOML manifest") from exc
    except DataLimitError as exc:  # nested too deeply: refused before parsing (tomllib recurses)
        raise SurrogateFileError(f"{exc}; expected a TOML manifest") from None
    return _validate(doc, path)


# =====================================================================================  writing


def _toml_str(value: str) -> str:
    # JSON string escapes (\" \\ \n \t \uXXXX ...) are all valid TOML basic-string escapes.
    return json.dumps(value, ensure_ascii=False)


def _toml_key(name: str) -> str:
    return name if _BARE_KEY_RE.match(name) else _toml_str(name)


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def _toml_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest repr: reads back as the same float
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, where) for v in value) + "]"
    raise ValueError(f"{where} = {value!r}: a site record value must be a string, number, boolean or a list of them")


def _toml_table(prefix: str, table: Mapping[str, Any], lines: list[str]) -> None:
    """``[prefix]`` with the plain values of ``table``, then each sub-table as ``[prefix.key]``,
    in the mapping's order."""
    subs = [(key, value) for key, value in table.items() if isinstance(value, Mapping)]
    plain = [(key, value) for key, value in table.items() if not isinstance(value, Mapping) and value is not None]
    if plain or not subs:  # a table holding only tables needs no header of its own
        lines += ["", f"[{prefix}]"]
    for key, value in plain:
        lines.append(f"{_toml_key(str(key))} = {_toml_value(value, f'{prefix}.{key}')}")
    for key, value in subs:
        _toml_table(f"{prefix}.{_toml_key(str(key))}", value, lines)


def write_manifest(
    directory: str | os.PathLike[str],
    entries: Mapping[str, Entry],
    *,
    site: str | None = None,
    site_record: Mapping[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Path:
    """Write ``directory/manifest.toml`` listing ``entries`` (model name -> :class:`OnnxSurrogate`
    read from a file in ``directory``, or ``(file, inputs, outputs)`` with ``file`` in
    ``directory``). Every file is checked first: it must pass the surrogate checks, carry the
    model name and the inputs/outputs given, and (for a surrogate) still hold the bytes it was
    served from. The hash recorded is that of the checked bytes. ``site_record``: the optional
    ``[site_record]`` table (module docstring; ``None`` values are left out), written in the same
    file. Returns the manifest path."""
    directory = Path(directory)
    if not directory.is_dir():
        raise SurrogateFileError(f"{directory}: not a directory; expected the model directory")
    records: list[ManifestEntry] = []
    for name, entry in entries.items():
        if not _NAME_RE.match(name):
            raise ValueError(f"model name {name!r} must match {_NAME_RE.pattern}")
        if isinstance(entry, OnnxSurrogate):
            if entry.path is None or entry.path.resolve().parent != directory.resolve():
                raise SurrogateFileError(f"model {name!r}: its file {entry.path} is not in {directory}; expected a surrogate read from that directory")
            file, inputs, outputs, expected_sha = entry.path.name, entry.input_names, entry.output_names, entry.sha256
        else:
            file, inputs, outputs = entry
            inputs, outputs, expected_sha = list(inputs), list(outputs), None
        path = directory / file
        if Path(file).name != file or not file.endswith(".onnx"):
            raise SurrogateFileError(f"model {name!r}: file {file!r} must be a plain file name ending in .onnx")
        data = read_file_bytes(path, max_bytes)
        checked = read_model_bytes(data, str(path), expected_inputs=inputs, expected_outputs=outputs)
        if expected_sha is not None and checked.sha256 != expected_sha:
            raise SurrogateFileError(f"{path}: file changed since the surrogate was loaded (sha256 {expected_sha} then, {checked.sha256} now)")
        if checked.name != name:
            raise SurrogateFileError(f"{path}: the file names its surrogate {checked.name!r}; expected {name!r} as in the manifest")
        records.append(ManifestEntry(name, file, tuple(inputs), tuple(outputs), checked.sha256))

    lines = [f"format = {_toml_str(MANIFEST_FORMAT)}"]
    if site is not None:
        lines.append(f"site = {_toml_str(site)}")
    for r in records:
        lines += [
            "",
            f"[models.{_toml_key(r.name)}]",
            f"file = {_toml_str(r.file)}",
            f"inputs = {_toml_list(r.inputs)}",
            f"outputs = {_toml_list(r.outputs)}",
            f"sha256 = {_toml_str(r.sha256)}",
        ]
    if not records:
        lines += ["", "[models]"]
    if site_record is not None:
        _toml_table(SITE_RECORD_KEY, site_record, lines)
    text = "\n".join(lines) + "\n"
    _validate(tomllib.loads(text), directory / MANIFEST_NAME)  # the writer's own output must read back
    path = directory / MANIFEST_NAME
    atomic_write_text(path, text)
    log.info("wrote %s listing %d models", path, len(records))
    return path


# =====================================================================================  loading


def _unexpected_files(directory: Path, listed: set[str]) -> list[str]:
    problems = []
    for entry in sorted(directory.iterdir()):
        name = entry.name
        if name == MANIFEST_NAME or name in listed or entry.is_dir():
            continue
        suffix = entry.suffix.lower()
        if suffix in PICKLE_SUFFIXES:
            problems.append(
                f"{entry}: a {suffix} file (pickle family) that the manifest does not list; "
                f"pickles are never loaded: remove it, and export the model as ONNX listed in {MANIFEST_NAME}"
            )
        elif suffix in MODEL_SUFFIXES:
            problems.append(f"{entry}: a {suffix} model file that the manifest does not list; expected every model file listed in {MANIFEST_NAME}")
        elif suffix in TOLERATED_SUFFIXES or name.startswith("."):
            log.debug("ignoring unlisted file %s", entry)
        else:
            problems.append(
                f"{entry}: unexpected file not listed in {MANIFEST_NAME}; expected only listed .onnx files "
                f"and notes ({', '.join(sorted(TOLERATED_SUFFIXES))})"
            )
    return problems


def load_model_dir(directory: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, OnnxSurrogate]:
    """Serve every model of a model directory, in manifest order, after all checks (module docstring).

    Each file is read once: its hash is compared with the manifest, then those same bytes are
    checked and handed to onnxruntime. Raises :class:`SurrogateFileError` listing every problem.
    For a site's models use :func:`optimizer.model_site.load_models_for_site`, which also checks
    that they were trained for that site."""
    return load_model_dir_with_manifest(directory, max_bytes=max_bytes)[1]


def load_model_dir_with_manifest(directory: str | os.PathLike[str], *,
                                 max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Manifest, dict[str, OnnxSurrogate]]:
    """:func:`load_model_dir`, and the manifest the models were served by (read once)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise SurrogateFileError(f"{directory}: not a directory; expected a model directory holding {MANIFEST_NAME}")
    manifest = read_manifest(directory)
    problems = _unexpected_files(directory, {e.file for e in manifest.models.values()})
    served: dict[str, OnnxSurrogate] = {}
    for name, entry in manifest.models.items():
        path = directory / entry.file
        try:
            data = read_file_bytes(path, max_bytes)
            digest = sha256_hex(data)
            if digest != entry.sha256:
                raise SurrogateFileError(
                    f"{path}: file changed since the manifest was written (manifest models.{name}.sha256 = {entry.sha256}, "
                    f"file sha256 = {digest}); check the new file and rewrite the manifest"
                )
            surrogate = OnnxSurrogate.from_bytes(data, path, expected_inputs=entry.inputs, expected_outputs=entry.outputs)
            if surrogate.name != name:
                raise SurrogateFileError(f"{path}: the file names its surrogate {surrogate.name!r}; expected {name!r} as in {manifest.path}")
            served[name] = surrogate
        except SurrogateFileError as exc:
            problems.append(str(exc))
    if problems:
        raise SurrogateFileError("\n".join(problems))
    log.info("loaded %d surrogates from %s", len(served), directory)
    return manifest, served
