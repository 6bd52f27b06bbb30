"""Reading data files within stated limits: file size, nesting depth, size once decoded.

Why: Python's :mod:`tomllib` and :mod:`json` parse nested arrays and tables by recursion, so a
small file nested a few hundred levels deep raises ``RecursionError`` (a traceback, not an error
naming the file); TOML dotted keys (``a.b.c... = 1``) nest the parsed tables without recursing
in the parser, and the result then breaks ``repr`` and ``json.dumps`` wherever it is shown or
hashed. And a Parquet file's size on disk says little about its size in memory: a 1.9 MB file
can expand to 3.2 GB (a constant column of many rows compresses to almost nothing).

So:

* :func:`loads_toml` and :func:`loads_json` measure the bracket nesting of the text *before*
  parsing (strings and comments skipped) and the nesting of the parsed value after it, and
  refuse either beyond ``max_depth`` (default :data:`MAX_NESTING_DEPTH`); a ``RecursionError``
  that still escapes the parser is turned into the same error.
* :func:`read_parquet` estimates the decoded size from the file's metadata (rows x columns x
  the width of each column's type, plus the uncompressed size of text columns) and refuses the
  file before reading any data if the estimate is over ``max_decoded_bytes``; it then reads in
  batches, counting the bytes actually decoded, and stops as soon as they pass the limit. Text
  (byte-array) columns are read dictionary-encoded, so a long string repeated on every row is
  held once: they come back as pandas categoricals.
* :func:`read_csv` reads in chunks and stops as soon as the frame in memory passes the limit.

Every refusal is a :class:`DataLimitError` (a ``ValueError``) naming the file, what was found
and the limit. This module knows nothing of steam; the optimizer and scenarios use it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MAX_NESTING_DEPTH",
    "DataLimitError",
    "ParquetSize",
    "json_text_depth",
    "loads_json",
    "loads_toml",
    "parquet_size",
    "read_csv",
    "read_json_file",
    "read_parquet",
    "toml_text_depth",
    "value_depth",
]

log = logging.getLogger(__name__)

#: Deepest nesting of arrays/tables (objects) accepted in a TOML or JSON file. Our files nest at
#: most a few levels; Python's parsers fail a few hundred levels down.
MAX_NESTING_DEPTH = 64
#: Rows per batch when reading Parquet (bounds what is decoded between two checks of the limit).
PARQUET_BATCH_ROWS = 65_536
#: Rows per chunk when reading CSV.
CSV_CHUNK_ROWS = 100_000


class DataLimitError(ValueError):
    """A file refused by a stated limit; the message names the file (``source``), what was found
    (``found``) and the limit (``rule``)."""

    def __init__(self, source: str, found: str, rule: str):
        self.source, self.found, self.rule = source, found, rule
        super().__init__(f"{source}: {found}; {rule}")


# =====================================================================================  nesting

# Every alternative matches wherever it starts (an unterminated string runs to the end of its
# line or of the text), so the scan is linear whatever the text.
_TOML_SKIP = re.compile(
    r'"""(?:[^\\]|\\.)*?(?:"""|\\?\Z)'         # multi-line basic string
    r"|'''.*?(?:'''|\Z)"                        # multi-line literal string
    r'|"(?:[^"\\\n]|\\.)*(?:"|\\|(?=\n)|\Z)'    # basic string
    r"|'[^'\n]*(?:'|(?=\n)|\Z)"                   # literal string
    r"|#[^\n]*",                                   # comment
    re.S,
)
_JSON_SKIP = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.S)
_STEP = np.zeros(256, np.int8)  # byte -> +1 opens, -1 closes an array/table
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def _bracket_depth(text: str) -> int:
    """Deepest running count of ``[``/``{`` minus ``]``/``}`` in ``text``."""
    codes = np.frombuffer(text.encode("utf-8", "surrogatepass"), np.uint8)
    steps = _STEP[codes]
    steps = steps[steps != 0]
    if steps.size == 0:
        return 0
    return int(np.cumsum(steps, dtype=np.int32).max())


def toml_text_depth(text: str) -> int:
    """Nesting depth of the brackets of TOML ``text`` outside strings and comments (a table
    header ``[a]`` counts 1, ``[[a]]`` 2, ``x = [[1]]`` 2, ``x = {a = {b = 1}}`` 2)."""
    return _bracket_depth(_TOML_SKIP.sub("", text))


def json_text_depth(text: str) -> int:
    """Nesting depth of the arrays and objects of JSON ``text`` (outside strings)."""
    return _bracket_depth(_JSON_SKIP.sub("", text))


def value_depth(value: Any, limit: int | None = None) -> int:
    """Nesting depth of a parsed value: 0 for a scalar, 1 for a flat list or dict, ... Walks
    without recursion; stops early (returning ``limit + 1``) once deeper than ``limit``."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if limit is not None and deepest > limit:
            return limit + 1
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list, tuple)))
    return deepest


def _too_deep(source: str, kind: str, found: int, max_depth: int) -> DataLimitError:
    shown = f"{found}" if found > max_depth + 1 else f"more than {max_depth}"  # max_depth + 1: a walk stopped early
    return DataLimitError(source, f"{kind} nested {shown} levels deep", f"at most {max_depth} levels are allowed")


def loads_toml(text: str, source: str = "<toml>", max_depth: int = MAX_NESTING_DEPTH) -> dict[str, Any]:
    """Parse TOML ``text``, refusing nesting deeper than ``max_depth`` (arrays, inline tables,
    table headers and dotted keys) with a :class:`DataLimitError`. Invalid TOML raises
    :class:`tomllib.TOMLDecodeError` as usual."""
    depth = toml_text_depth(text)
    if depth > max_depth:
        raise _too_deep(source, "TOML arrays/tables", depth, max_depth)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise _too_deep(source, "TOML arrays/tables", max_depth + 1, max_depth) from None
    depth = value_depth(data, max_depth)
    if depth > max_depth:
        raise _too_deep(source, "TOML tables (dotted keys or headers)", depth, max_depth)
    return data


def loads_json(text: str, source: str = "<json>", max_depth: int = MAX_NESTING_DEPTH, what: str = "JSON") -> Any:
    """Parse JSON ``text``, refusing arrays/objects nested deeper than ``max_depth`` with a
    :class:`DataLimitError` before parsing (``what`` names the document in the message).
    Invalid JSON raises :class:`json.JSONDecodeError`."""
    kind = f"{what} arrays/objects" if what == "JSON" else f"{what} (JSON arrays/objects)"
    depth = json_text_depth(text)
    if depth > max_depth:
        raise _too_deep(source, kind, depth, max_depth)
    try:
        return json.loads(text)
    except RecursionError:
        raise _too_deep(source, kind, max_depth + 1, max_depth) from None


def read_json_file(path: str | os.PathLike[str], max_bytes: int, max_depth: int = MAX_NESTING_DEPTH, what: str = "JSON file") -> Any:
    """The parsed JSON of ``path``. Every problem is a ``ValueError`` naming the file: missing or
    unreadable, larger than ``max_bytes`` (checked before reading), not UTF-8, not JSON, nested
    deeper than ``max_depth``."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ValueError(f"{path}: {what} cannot be read: {exc.strerror or exc}") from None
    if not path.is_file():
        raise ValueError(f"{path}: {what} cannot be read: not a regular file")
    if size > max_bytes:
        raise DataLimitError(str(path), f"{what} is {size} bytes", f"at most {max_bytes} bytes are allowed")
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ValueError(f"{path}: {what} cannot be read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise DataLimitError(str(path), f"{what} grew beyond {max_bytes} bytes while being read", f"at most {max_bytes} bytes are allowed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: {what} is not UTF-8 text (byte {exc.start})") from None
    try:
        return loads_json(text, str(path), max_depth, what)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: {what} is not valid JSON: {exc}") from None


# =====================================================================================  Parquet


@dataclass(frozen=True)
class ParquetSize:
    """What a Parquet file's metadata says about its size once decoded."""

    rows: int
    columns: int
    compressed_bytes: int        # data pages as stored
    uncompressed_bytes: int      # data pages after decompression, still encoded
    decoded_bytes_estimate: int  # in memory: rows x fixed widths (at least 8 bytes a value) + text

    def __str__(self) -> str:
        return (f"{self.rows} rows x {self.columns} columns, about {self.decoded_bytes_estimate} bytes decoded "
                f"({self.compressed_bytes} bytes compressed, {self.uncompressed_bytes} uncompressed)")


_FIXED_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8}


def _parquet_file(path: Path, read_dictionary: list[str] | None = None):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path, read_dictionary=read_dictionary, memory_map=False)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError/... for a file that is not Parquet
        raise ValueError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None


def _byte_array_columns(meta) -> list[str]:
    schema = meta.schema
    return [schema.column(j).path for j in range(meta.num_columns) if schema.column(j).physical_type == "BYTE_ARRAY"]


def parquet_size(path: str | os.PathLike[str]) -> ParquetSize:
    """Sizes from a Parquet file's metadata (nothing but the footer is read). Every value counts
    at least 8 bytes (pandas holds numbers as 64-bit, text as a pointer); text columns count
    their uncompressed bytes on top."""
    return _size_of(_parquet_file(Path(path)).metadata)


def _size_of(meta) -> ParquetSize:
    schema = meta.schema
    widths = []
    for j in range(meta.num_columns):
        col = schema.column(j)
        if col.physical_type == "FIXED_LEN_BYTE_ARRAY":
            widths.append(max(8, int(col.length or 0)))
        else:
            widths.append(max(8, _FIXED_WIDTH.get(col.physical_type, 0)))
    compressed = uncompressed = decoded = 0
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        rows = max(0, int(rg.num_rows))
        for j in range(rg.num_columns):
            c = rg.column(j)
            compressed += max(0, int(c.total_compressed_size))
            uncompressed += max(0, int(c.total_uncompressed_size))
            decoded += rows * widths[j]
            if c.physical_type == "BYTE_ARRAY":
                decoded += max(0, int(c.total_uncompressed_size))
    return ParquetSize(int(meta.num_rows), int(meta.num_columns), compressed, uncompressed, decoded)


def read_parquet(path: str | os.PathLike[str], max_decoded_bytes: int) -> pd.DataFrame:
    """A Parquet file as a DataFrame, refused with :class:`DataLimitError` if its decoded size
    (estimated from the metadata, before any data is read; then counted while reading, in
    batches of :data:`PARQUET_BATCH_ROWS` rows) is over ``max_decoded_bytes``. Text columns come
    back as pandas categoricals (read dictionary-encoded: a repeated string is held once). Peak
    memory is about twice the table (the Arrow batches and the pandas frame)."""
    import pyarrow as pa

    path = Path(path)
    if not (isinstance(max_decoded_bytes, int) and max_decoded_bytes > 0):
        raise ValueError(f"max_decoded_bytes = {max_decoded_bytes!r}: must be a positive integer (bytes)")
    meta = _parquet_file(path).metadata
    size = _size_of(meta)
    if size.decoded_bytes_estimate > max_decoded_bytes:
        raise DataLimitError(str(path), f"Parquet table of {size}",
                             f"at most {max_decoded_bytes} bytes decoded are allowed (refused before reading its data)")
    pf = _parquet_file(path, read_dictionary=_byte_array_columns(meta) or None)
    batches = []
    total = 0
    try:
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, use_pandas_metadata=True):
            total += batch.nbytes
            if total > max_decoded_bytes:
                raise DataLimitError(str(path), f"Parquet data decoded past {max_decoded_bytes} bytes (the metadata said {size})",
                                     f"at most {max_decoded_bytes} bytes decoded are allowed")
            batches.append(batch)
        schema = batches[0].schema if batches else pf.schema_arrow
        table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    except DataLimitError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"{path}: Parquet data cannot be read ({type(exc).__name__}: {exc})") from None
    return table.to_pandas()


# =====================================================================================  CSV


def read_csv(path: str | os.PathLike[str], max_decoded_bytes: int, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv(path, **kwargs)`` in chunks of :data:`CSV_CHUNK_ROWS` rows, refused with
    :class:`DataLimitError` as soon as the frame in memory passes ``max_decoded_bytes``."""
    path = Path(path)
    if not (isinstance(max_decoded_bytes, int) and max_decoded_bytes > 0):
        raise ValueError(f"max_decoded_bytes = {max_decoded_bytes!r}: must be a positive integer (bytes)")
    chunks = []
    total = 0
    with pd.read_csv(path, chunksize=CSV_CHUNK_ROWS, **kwargs) as reader:
        for chunk in reader:
            total += int(chunk.memory_usage(index=True, deep=True).sum())
            if total > max_decoded_bytes:
                rows = sum(len(c) for c in chunks) + len(chunk)
                raise DataLimitError(str(path), f"CSV table passed {max_decoded_bytes} bytes in memory after {rows} rows",
                                     f"at most {max_decoded_bytes} bytes are allowed")
            chunks.append(chunk)
    if not chunks:
        return pd.read_csv(path, **kwargs)
    return pd.concat(chunks) if len(chunks) > 1 else chunks[0]
