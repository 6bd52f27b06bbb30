"""Write a :class:`~surrogate.network.ReluNetwork` as ONNX, and read one back from untrusted bytes.

The file format (``steamopt_format`` "1")
-----------------------------------------
A plain chain that onnxruntime serves and OMLT's ``load_onnx_neural_network`` parses as is::

    x [N, n_0] --Gemm(layer0_W, layer0_b)--> layer0_a --Relu--> layer0_z --Gemm(layer1_W, layer1_b)--> ... --> y [N, n_L]

* float64 everywhere; graph input ``x`` and output ``y`` have a symbolic batch dimension ``N``;
* one ``Gemm`` per layer with ``alpha = beta = 1``, ``transA = 0``, ``transB = 1``, i.e.
  :math:`a^{(l)} = z^{(l-1)} W^{(l)\\top} + b^{(l)}` with ``W`` stored exactly as
  :attr:`ReluNetwork.weights` holds it, shape (n_l, n_{l-1});
* a ``Relu`` after every hidden layer and none after the last; no Cast, Reshape or scaler
  nodes (scaling is folded into the first and last layers);
* ``opset_import`` = {"": :data:`OPSET`}, ``ir_version`` = :data:`IR_VERSION`;
* ``metadata_props`` (all strings): ``steamopt_format``, ``name``, ``inputs`` (JSON list of
  ``{name, unit, lower, upper}``; an infinite bound is written as ``null``), ``outputs`` (JSON
  list of ``{name, unit, lower, upper}``), plus every entry of ``ReluNetwork.metadata`` verbatim
  (accuracy, data hash, training date, library versions ... as the trainer chose).

Reading
-------
:func:`read_model_bytes` is the one gate every file passes: size limit, foreign-format sniffing
(a pickle is named as such and never unpickled), protobuf decode, ``onnx.checker``, opset and
operator allowlists, no external data, then :func:`network_from_onnx` rebuilds the network *from
the initializers in the file* and checks the chain, attributes, dtypes, shapes, finiteness and
metadata. Whatever embeds the network in an optimisation model therefore embeds exactly what
onnxruntime serves from the same bytes. Every refusal is a :class:`SurrogateFileError` whose
message names the file, what is wrong and what was expected.

Modules
-------
This module is the reading gate and the one import path for all of it; the parts, one job each:
:mod:`surrogate.onnx_format` (constants, :class:`SurrogateFileError`, :class:`CheckedModel`),
:mod:`surrogate.onnx_write` (:func:`network_to_onnx`, :func:`save_network`),
:mod:`surrogate.onnx_graph` (:func:`network_from_onnx`) and :mod:`surrogate.onnx_metadata` (the
``inputs``/``outputs`` entries).

This module knows nothing of steam networks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from surrogate.network import ReluNetwork

# The format, writing and the graph's checks live in their own modules (one job each); every name
# is re-exported here so that `from surrogate.onnx_io import X` keeps working for all of them.
from surrogate.onnx_format import (
    _WHAT_WE_WRITE,
    ALLOWED_OPS,
    DEFAULT_MAX_BYTES,
    FORMAT_VERSION,
    IR_VERSION,
    OPSET,
    READABLE_OPS,
    RESERVED_METADATA_KEYS,
    SUPPORTED_OPSETS,
    CheckedModel,
    SurrogateFileError,
    sha256_hex,
)
from surrogate.onnx_graph import (  # noqa: F401 - private helpers kept importable from here
    _GEMM_ATTRIBUTES,
    _attributes,
    _check_io,
    _check_opset_and_ops,
    _float64_initializer,
    _tensor_shape,
    network_from_onnx,
)
from surrogate.onnx_metadata import (  # noqa: F401
    _INPUT_KEYS,
    _bound_to_json,
    _json_list,
    _variables,
    _variables_to_json,
)
from surrogate.onnx_write import network_to_onnx, save_network

__all__ = [
    "ALLOWED_OPS",
    "DEFAULT_MAX_BYTES",
    "FORMAT_VERSION",
    "IR_VERSION",
    "OPSET",
    "READABLE_OPS",
    "RESERVED_METADATA_KEYS",
    "SUPPORTED_OPSETS",
    "CheckedModel",
    "SurrogateFileError",
    "load_network",
    "network_from_onnx",
    "network_to_onnx",
    "read_file_bytes",
    "read_model_bytes",
    "save_network",
    "sha256_hex",
]

log = logging.getLogger(__name__)


# Formats recognised by their first bytes and refused before any parsing. ONNX files start with
# the ir_version tag 0x08, so none of these can be a valid model written by an ONNX serializer.
_FOREIGN_FORMATS: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (e.g. a PyTorch .pt or a numpy .npz file, which may hold pickles), not ONNX"),
    (b"\x1f\x8b", "gzip-compressed data (e.g. a compressed joblib pickle), not ONNX"),
    (b"\x89HDF", "an HDF5 file (e.g. a Keras .h5 model), not ONNX"),
    (b"\x93NUMPY", "a numpy .npy array, not ONNX"),
)


def _sniff_foreign(data: bytes) -> str | None:
    """Describe ``data`` if its first bytes identify a format that is not ONNX.

    A pickle of protocol 2 or later starts with the PROTO opcode ``0x80`` and the protocol
    number (2-5). Protocol 0/1 pickles have no magic; they fail protobuf decoding instead.
    """
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        return f"a Python pickle (protocol {data[1]}), not ONNX; pickles are never loaded"
    for magic, what in _FOREIGN_FORMATS:
        if data.startswith(magic):
            return what
    return None


def read_file_bytes(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of ``path``, refusing a missing file, a non-file and one larger than ``max_bytes``
    (checked before reading, and again on the bytes read)."""
    path = Path(path)
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be > 0, got {max_bytes}")
    if not path.exists():
        raise SurrogateFileError(f"{path}: file not found; expected {_WHAT_WE_WRITE}")
    if not path.is_file():
        raise SurrogateFileError(f"{path}: not a regular file; expected {_WHAT_WE_WRITE}")
    size = path.stat().st_size
    if size > max_bytes:
        raise SurrogateFileError(
            f"{path}: file is {size} bytes, larger than the limit of {max_bytes} bytes; "
            f"expected a small surrogate file (raise max_bytes if this network is meant to be this large)"
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise SurrogateFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise SurrogateFileError(f"{path}: file grew beyond the limit of {max_bytes} bytes while being read")
    return data


def _decode(data: bytes, source: str) -> onnx.ModelProto:
    foreign = _sniff_foreign(data)
    if foreign is not None:
        raise SurrogateFileError(f"{source}: this is {foreign}; expected {_WHAT_WE_WRITE}")
    if not data:
        raise SurrogateFileError(f"{source}: file is empty; expected {_WHAT_WE_WRITE}")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except DecodeError as exc:
        raise SurrogateFileError(
            f"{source}: not a readable ONNX protobuf, the file is truncated or corrupt or of another format ({exc}); "
            f"expected {_WHAT_WE_WRITE}"
        ) from exc
    if model.ir_version == 0 or not model.HasField("graph") or not model.graph.node:
        raise SurrogateFileError(
            f"{source}: decodes as protobuf but holds no ONNX model (no ir_version or no graph nodes): "
            f"truncated, or another format; expected {_WHAT_WE_WRITE}"
        )
    return model


def _check_names(actual: list[str], expected: Iterable[str] | None, what: str, source: str) -> None:
    if expected is None:
        return
    expected = list(expected)
    if actual != expected:
        raise SurrogateFileError(f"{source}: {what} are {actual}; expected {expected}")


def read_model_bytes(
    data: bytes,
    source: str,
    *,
    expected_inputs: Sequence[str] | None = None,
    expected_outputs: Sequence[str] | None = None,
) -> CheckedModel:
    """Check ``data`` (the bytes of a file, named ``source`` in messages) all the way; see the module
    docstring. ``expected_inputs``/``expected_outputs``, when given, must equal the file's input and
    output names in order. Never unpickles, never loads external data."""
    model = _decode(data, source)
    _check_opset_and_ops(model, source)
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise SurrogateFileError(f"{source}: fails the ONNX checker ({str(exc).strip()}); expected a valid ONNX model") from exc
    net = network_from_onnx(model, source)
    _check_names(net.input_names, expected_inputs, "input names", source)
    _check_names(net.output_names, expected_outputs, "output names", source)
    name = dict((p.key, p.value) for p in model.metadata_props)["name"]
    digest = sha256_hex(data)
    log.debug("checked surrogate %r from %s (%d bytes, sha256 %s)", name, source, len(data), digest[:12])
    return CheckedModel(
        network=net, name=name, data=bytes(data), sha256=digest, source=source,
        input_tensor=model.graph.input[0].name, output_tensor=model.graph.output[0].name,
    )


def load_network(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    expected_inputs: Sequence[str] | None = None,
    expected_outputs: Sequence[str] | None = None,
) -> tuple[ReluNetwork, bytes]:
    """Read and check the surrogate file ``path``; return the network read back from its
    initializers and the exact bytes checked (create the onnxruntime session from those bytes,
    never by reopening the file). Raises :class:`SurrogateFileError`."""
    data = read_file_bytes(path, max_bytes)
    checked = read_model_bytes(data, str(path), expected_inputs=expected_inputs, expected_outputs=expected_outputs)
    return checked.network, checked.data
