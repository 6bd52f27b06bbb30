"""The steamopt ONNX surrogate format's constants and the types both sides share.

The layout itself is described in :mod:`surrogate.onnx_io`; this module holds its version, opset,
operator allowlists and size limit, the error every refusal raises (:class:`SurrogateFileError`),
the result of a full check (:class:`CheckedModel`) and the file hash (:func:`sha256_hex`).
Writing is :mod:`surrogate.onnx_write`, reading :mod:`surrogate.onnx_io` (the gate) with
:mod:`surrogate.onnx_graph` (the network rebuilt from the graph) and :mod:`surrogate.onnx_metadata`
(the inputs/outputs entries). This module knows nothing of steam networks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from surrogate.network import ReluNetwork

#: Version of the steamopt ONNX layout written to ``metadata_props["steamopt_format"]``.
FORMAT_VERSION = "1"
#: Opset written. Gemm and MatMul are unchanged since opset 13, Relu and Add since 14 (which only
#: added bfloat16); onnx 1.23 checks and onnxruntime 1.32 serves opsets 11-28 with float64.
OPSET = 17
#: IR version paired with opset 17 in onnx's VERSION_TABLE (onnx 1.12), so older runtimes read it too.
IR_VERSION = 8
#: Opsets accepted when reading (default domain only); the four operators mean the same in all.
SUPPORTED_OPSETS = frozenset(range(13, 22))
#: Operators written.
ALLOWED_OPS = frozenset({"Gemm", "Relu"})
#: Operators accepted when reading: a dense layer may also be ``MatMul`` followed by ``Add``.
READABLE_OPS = ALLOWED_OPS | {"MatMul", "Add"}
#: Default size limit of a surrogate file. A 2-16-16-1 network is about 3 kB; 1 MB holds ~120k weights.
DEFAULT_MAX_BYTES = 1_000_000
#: ``metadata_props`` keys that the format owns; ``ReluNetwork.metadata`` may not use them.
RESERVED_METADATA_KEYS = ("steamopt_format", "name", "inputs", "outputs")

_WHAT_WE_WRITE = "a steamopt surrogate as written by surrogate.onnx_io.save_network"


class SurrogateFileError(ValueError):
    """A surrogate file (or model directory) that is refused; the message says which, why, and
    what was expected."""


@dataclass(frozen=True)
class CheckedModel:
    """A surrogate file that passed every check: the network read back from its initializers and
    the exact bytes that were checked (create the onnxruntime session from these)."""

    network: ReluNetwork
    name: str
    data: bytes
    sha256: str
    source: str
    input_tensor: str
    output_tensor: str


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()
