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

This module knows nothing of steam networks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto, helper, numpy_helper

from surrogate.atomic import atomic_write_bytes
from surrogate.network import ReluNetwork, Variable
from surrogate.safe_read import DataLimitError, loads_json

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

_GEMM_ATTRIBUTES = {"alpha", "beta", "transA", "transB"}
_INPUT_KEYS = {"name", "unit", "lower", "upper"}
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


# =====================================================================================  writing


def _bound_to_json(value: float) -> float | None:
    value = float(value)
    if math.isnan(value):
        raise ValueError("a bound is NaN")
    return None if math.isinf(value) else value


def _variables_to_json(variables: Sequence[Variable]) -> str:
    return json.dumps(
        [{"name": v.name, "unit": v.unit, "lower": _bound_to_json(v.lower), "upper": _bound_to_json(v.upper)} for v in variables]
    )


def network_to_onnx(net: ReluNetwork, name: str) -> onnx.ModelProto:
    """The ONNX model of ``net`` in the layout described in the module docstring.

    Raises ``ValueError`` for an empty name, a reserved or non-string metadata entry, a NaN
    bound or a non-finite weight (such a network must never reach a file).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a surrogate needs a non-empty name, got {name!r}")
    for key, value in net.metadata.items():
        if key in RESERVED_METADATA_KEYS:
            raise ValueError(f"metadata key {key!r} is reserved by the file format (reserved: {', '.join(RESERVED_METADATA_KEYS)})")
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"metadata must map str to str (use JSON for structured values), got {key!r}: {type(value).__name__}")
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise ValueError(f"layer {l} of network {name!r} has non-finite weights or biases")

    n_layers = len(net.weights)
    nodes: list[onnx.NodeProto] = []
    initializers: list[TensorProto] = []
    current = "x"
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        last = l == n_layers - 1
        pre = "y" if last else f"layer{l}_a"
        initializers.append(numpy_helper.from_array(np.asarray(w, dtype=np.float64), name=f"layer{l}_W"))
        initializers.append(numpy_helper.from_array(np.asarray(b, dtype=np.float64), name=f"layer{l}_b"))
        # alpha, beta and transA are written explicitly although they are the defaults: OMLT's
        # parser reads node attributes by key and fails on absent ones.
        nodes.append(
            helper.make_node(
                "Gemm", [current, f"layer{l}_W", f"layer{l}_b"], [pre], name=f"layer{l}_gemm",
                alpha=1.0, beta=1.0, transA=0, transB=1,
            )
        )
        current = pre
        if not last:
            post = f"layer{l}_z"
            nodes.append(helper.make_node("Relu", [pre], [post], name=f"layer{l}_relu"))
            current = post

    sizes = "-".join(str(n) for n in [len(net.inputs), *net.hidden_sizes, len(net.outputs)])
    doc = (
        f"steamopt surrogate {name!r}: ReLU network {sizes} (float64), "
        f"inputs [{', '.join(net.input_names)}] -> outputs [{', '.join(net.output_names)}]. "
        f"y = W_L relu(... relu(W_1 x + b_1) ...) + b_L; units, training domain and provenance in metadata_props."
    )
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", len(net.inputs)])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["N", len(net.outputs)])],
        initializers,
        doc_string=doc,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="steamopt", doc_string=doc)
    model.ir_version = IR_VERSION
    try:
        from importlib.metadata import PackageNotFoundError, version

        model.producer_version = version("steamopt")
    except PackageNotFoundError:  # running from a source tree that is not installed
        pass
    # The format's own entries go last: metadata_props is the last field a serializer writes, so a
    # file cut short at any entry boundary loses a required entry and is refused, never read with
    # part of its provenance silently missing.
    props = {
        **net.metadata,
        "steamopt_format": FORMAT_VERSION,
        "name": name,
        "inputs": _variables_to_json(net.inputs),
        "outputs": _variables_to_json(net.outputs),
    }
    helper.set_model_props(model, props)
    return model


def save_network(net: ReluNetwork, path: str | os.PathLike[str], name: str) -> Path:
    """Write ``net`` as the ONNX file ``path`` (the serialized bytes of :func:`network_to_onnx`).

    Returns the path written.
    """
    path = Path(path)
    data = network_to_onnx(net, name).SerializeToString()
    atomic_write_bytes(path, data)
    log.info("wrote surrogate %r to %s (%d bytes, sha256 %s)", name, path, len(data), sha256_hex(data)[:12])
    return path


# =====================================================================================  reading


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


def _check_opset_and_ops(model: onnx.ModelProto, source: str) -> None:
    """Opset, operator allowlist and self-containedness, checked before anything else looks inside."""
    domains = {o.domain: o.version for o in model.opset_import}
    extra_domains = sorted(d for d in domains if d not in ("", "ai.onnx"))
    if extra_domains:
        raise SurrogateFileError(
            f"{source}: imports operator domains {extra_domains}; expected only the default ONNX domain"
        )
    opset = domains.get("", domains.get("ai.onnx"))
    supported = f"{min(SUPPORTED_OPSETS)}-{max(SUPPORTED_OPSETS)} (written: {OPSET})"
    if opset is None:
        raise SurrogateFileError(f"{source}: declares no default-domain opset (a truncated file?); expected opset {supported}")
    if opset not in SUPPORTED_OPSETS:
        raise SurrogateFileError(f"{source}: opset {opset} is not supported; expected opset {supported}")
    allowed = f"{', '.join(sorted(ALLOWED_OPS))} (or MatMul followed by Add)"
    for i, node in enumerate(model.graph.node):
        if node.op_type not in READABLE_OPS or node.domain not in ("", "ai.onnx"):
            op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
            raise SurrogateFileError(
                f"{source}: node {i} ({node.name or 'unnamed'}) is a {op} operator, which is not allowed; "
                f"expected only {allowed}"
            )
    if model.functions:
        raise SurrogateFileError(f"{source}: defines model-local functions; expected none")
    if model.training_info:
        raise SurrogateFileError(f"{source}: carries training information; expected an inference-only model")
    if model.graph.sparse_initializer:
        raise SurrogateFileError(f"{source}: has sparse initializers; expected dense float64 initializers only")
    for init in model.graph.initializer:
        if init.data_location == TensorProto.EXTERNAL or init.external_data:
            raise SurrogateFileError(
                f"{source}: initializer {init.name!r} refers to external data; expected a self-contained file"
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


def _tensor_shape(value_info: onnx.ValueInfoProto) -> list[int | str | None]:
    shape = []
    for dim in value_info.type.tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            shape.append(int(dim.dim_value))
        elif dim.HasField("dim_param"):
            shape.append(dim.dim_param)
        else:
            shape.append(None)
    return shape


def _check_io(value_info: onnx.ValueInfoProto, what: str, source: str) -> int:
    """Check a graph input/output is float64 [batch, n] with a symbolic batch; return n."""
    t = value_info.type
    if not t.HasField("tensor_type"):
        raise SurrogateFileError(f"{source}: graph {what} {value_info.name!r} is not a tensor; expected a float64 tensor [N, n]")
    if t.tensor_type.elem_type != TensorProto.DOUBLE:
        dtype = TensorProto.DataType.Name(t.tensor_type.elem_type)
        raise SurrogateFileError(f"{source}: graph {what} {value_info.name!r} has element type {dtype}; expected DOUBLE (float64)")
    shape = _tensor_shape(value_info)
    if len(shape) != 2 or not isinstance(shape[1], int) or isinstance(shape[0], int):
        raise SurrogateFileError(
            f"{source}: graph {what} {value_info.name!r} has shape {shape}; expected [N, n] with a symbolic batch dimension N"
        )
    return shape[1]


def _float64_initializer(init: TensorProto, source: str) -> np.ndarray:
    if init.data_type != TensorProto.DOUBLE:
        raise SurrogateFileError(
            f"{source}: initializer {init.name!r} has element type {TensorProto.DataType.Name(init.data_type)}; expected DOUBLE (float64)"
        )
    array = numpy_helper.to_array(init).astype(np.float64, copy=True)
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise SurrogateFileError(
            f"{source}: initializer {init.name!r} holds {int(bad.sum())} NaN/inf value(s) (first at index {first}); "
            f"expected finite weights"
        )
    return array


def _attributes(node: onnx.NodeProto) -> dict[str, onnx.AttributeProto]:
    return {a.name: a for a in node.attribute}


def network_from_onnx(model: onnx.ModelProto, source: str) -> ReluNetwork:
    """Rebuild the network from the initializers of ``model``, verifying the structure.

    Accepted graph: one float64 input [N, n_0], a chain of dense layers, each either
    ``Gemm(z, B, C)`` with ``alpha = beta = 1``, ``transA = 0``, ``transB`` 0 or 1, or
    ``MatMul(z, B)`` followed by ``Add(., C)``, with a ``Relu`` after every layer but the last,
    and one float64 output [N, n_L]. ``B``, ``C`` are float64 initializers, finite; ``C`` has
    shape (n_l,) or (1, n_l). The stored weight is ``W = B`` if ``transB = 1``, else ``B^T``
    (``B^T`` for MatMul), so that every layer computes :math:`a = z W^\\top + b`. Names, units
    and bounds come from ``metadata_props`` and must agree with the sizes of the graph.
    ``source`` names the file in messages. Raises :class:`SurrogateFileError`.
    """
    _check_opset_and_ops(model, source)
    graph = model.graph
    props: dict[str, str] = {}
    for p in model.metadata_props:
        if p.key in props:
            raise SurrogateFileError(f"{source}: metadata key {p.key!r} appears twice; expected unique keys")
        props[p.key] = p.value
    missing = [k for k in RESERVED_METADATA_KEYS if k not in props]
    if missing:
        raise SurrogateFileError(
            f"{source}: metadata_props lacks {missing} (a truncated file, or not written by steamopt); "
            f"expected {_WHAT_WE_WRITE}"
        )
    fmt = props["steamopt_format"]
    if fmt != FORMAT_VERSION:
        raise SurrogateFileError(
            f"{source}: metadata steamopt_format = {fmt!r}; expected {FORMAT_VERSION!r} ({_WHAT_WE_WRITE})"
        )
    if not props.get("name"):
        raise SurrogateFileError(f"{source}: metadata has no surrogate 'name'; expected a non-empty name")

    if len(graph.input) != 1 or len(graph.output) != 1:
        raise SurrogateFileError(
            f"{source}: graph has {len(graph.input)} inputs and {len(graph.output)} outputs; expected exactly one of each"
        )
    n_in = _check_io(graph.input[0], "input", source)
    n_out = _check_io(graph.output[0], "output", source)

    raw_inits = {init.name: init for init in graph.initializer}
    if len(raw_inits) != len(graph.initializer):
        raise SurrogateFileError(f"{source}: two initializers share a name; expected unique initializer names")
    if graph.input[0].name in raw_inits:
        raise SurrogateFileError(f"{source}: graph input {graph.input[0].name!r} is also an initializer; expected a free input")
    used: set[str] = set()

    def initializer(name: str, node: onnx.NodeProto) -> np.ndarray:
        if name not in raw_inits:
            raise SurrogateFileError(
                f"{source}: node {node.name or node.op_type!r} takes {name!r} as a parameter, which is not an initializer; "
                f"expected weights and biases stored as initializers"
            )
        used.add(name)
        return _float64_initializer(raw_inits[name], source)

    def bias(name: str, node: onnx.NodeProto, n: int) -> np.ndarray:
        c = initializer(name, node)
        if c.shape not in ((n,), (1, n)):
            raise SurrogateFileError(f"{source}: bias {name!r} of node {node.name!r} has shape {c.shape}; expected ({n},) or (1, {n})")
        return c.reshape(-1)

    def data_input(node: onnx.NodeProto, current: str) -> None:
        if not node.input or node.input[0] != current:
            got = node.input[0] if node.input else None
            raise SurrogateFileError(
                f"{source}: node {node.name or node.op_type!r} reads {got!r}; expected the chain to continue from {current!r}"
            )
        if len(node.output) != 1:
            raise SurrogateFileError(f"{source}: node {node.name or node.op_type!r} has {len(node.output)} outputs; expected 1")

    nodes = list(graph.node)
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    relu_after: list[bool] = []
    current, width, i = graph.input[0].name, n_in, 0
    while i < len(nodes):
        node = nodes[i]
        label = node.name or f"node {i}"
        if node.op_type == "Gemm":
            data_input(node, current)
            attrs = _attributes(node)
            unknown = sorted(set(attrs) - _GEMM_ATTRIBUTES)
            if unknown:
                raise SurrogateFileError(f"{source}: Gemm {label!r} has attributes {unknown}; expected only {sorted(_GEMM_ATTRIBUTES)}")
            alpha = attrs["alpha"].f if "alpha" in attrs else 1.0
            beta = attrs["beta"].f if "beta" in attrs else 1.0
            trans_a = attrs["transA"].i if "transA" in attrs else 0
            trans_b = attrs["transB"].i if "transB" in attrs else 0
            if alpha != 1.0 or beta != 1.0 or trans_a != 0 or trans_b not in (0, 1):
                raise SurrogateFileError(
                    f"{source}: Gemm {label!r} has alpha={alpha}, beta={beta}, transA={trans_a}, transB={trans_b}; "
                    f"expected alpha=1, beta=1, transA=0, transB 0 or 1"
                )
            if len(node.input) != 3 or not node.input[2]:
                raise SurrogateFileError(f"{source}: Gemm {label!r} has no bias input C; expected inputs (z, W, b)")
            b_mat = initializer(node.input[1], node)
            if b_mat.ndim != 2:
                raise SurrogateFileError(f"{source}: weight {node.input[1]!r} of {label!r} has shape {b_mat.shape}; expected a matrix")
            w = b_mat if trans_b == 1 else b_mat.T
            c = bias(node.input[2], node, w.shape[0])
            i += 1
        elif node.op_type == "MatMul":
            data_input(node, current)
            if len(node.input) != 2:
                raise SurrogateFileError(f"{source}: MatMul {label!r} has {len(node.input)} inputs; expected 2")
            b_mat = initializer(node.input[1], node)
            if b_mat.ndim != 2:
                raise SurrogateFileError(f"{source}: weight {node.input[1]!r} of {label!r} has shape {b_mat.shape}; expected a matrix")
            w = b_mat.T
            if i + 1 >= len(nodes) or nodes[i + 1].op_type != "Add":
                raise SurrogateFileError(f"{source}: MatMul {label!r} is not followed by an Add of the bias; expected MatMul then Add")
            add = nodes[i + 1]
            mm_out = node.output[0]
            if len(add.input) != 2 or mm_out not in add.input or len(add.output) != 1:
                raise SurrogateFileError(f"{source}: Add {add.name!r} does not add a bias to {mm_out!r}; expected Add({mm_out}, bias)")
            other = add.input[1] if add.input[0] == mm_out else add.input[0]
            c = bias(other, add, w.shape[0])
            node = add
            i += 2
        else:
            raise SurrogateFileError(
                f"{source}: node {label!r} is a {node.op_type} where a dense layer should start; "
                f"expected Gemm (or MatMul+Add), then Relu, alternating"
            )
        if w.shape[1] != width:
            raise SurrogateFileError(
                f"{source}: layer {len(weights)} ({label!r}) takes {w.shape[1]} values but the previous layer gives {width}; "
                f"expected the shapes to chain"
            )
        weights.append(np.ascontiguousarray(w))
        biases.append(c)
        current, width = node.output[0], w.shape[0]
        if i < len(nodes) and nodes[i].op_type == "Relu":
            relu = nodes[i]
            data_input(relu, current)
            if len(relu.input) != 1 or relu.attribute:
                raise SurrogateFileError(f"{source}: Relu {relu.name!r} is malformed; expected one input and no attributes")
            current = relu.output[0]
            relu_after.append(True)
            i += 1
        else:
            relu_after.append(False)

    if not weights:
        raise SurrogateFileError(f"{source}: graph has no dense layer; expected at least one Gemm")
    if relu_after != [True] * (len(weights) - 1) + [False]:
        raise SurrogateFileError(
            f"{source}: Relu placement after layers is {relu_after}; expected a Relu after every layer but the last (linear output)"
        )
    if current != graph.output[0].name:
        raise SurrogateFileError(f"{source}: graph output is {graph.output[0].name!r} but the chain ends in {current!r}")
    if width != n_out:
        raise SurrogateFileError(f"{source}: last layer gives {width} values but the graph output declares {n_out}")
    unused = sorted(set(raw_inits) - used)
    if unused:
        raise SurrogateFileError(f"{source}: initializers {unused} are not used by any node; expected only the layers' weights and biases")

    inputs = _variables(_json_list(props, "inputs", source), "inputs", source)
    outputs = _variables(_json_list(props, "outputs", source), "outputs", source)
    if len(inputs) != n_in or len(outputs) != n_out:
        raise SurrogateFileError(
            f"{source}: metadata names {len(inputs)} inputs and {len(outputs)} outputs but the graph has {n_in} and {n_out}; "
            f"expected them to agree"
        )
    metadata = {k: v for k, v in props.items() if k not in RESERVED_METADATA_KEYS}
    return ReluNetwork(weights=weights, biases=biases, inputs=inputs, outputs=outputs, metadata=metadata)


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
