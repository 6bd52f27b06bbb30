"""A surrogate network rebuilt from a decoded ONNX model's graph, every structural rule checked.

:func:`network_from_onnx` accepts the plain chain described in :mod:`surrogate.onnx_io` (Gemm, or
MatMul then Add, per dense layer; Relu between; float64 initializers; one input and one output with a
symbolic batch) and refuses anything else with a
:class:`~surrogate.onnx_format.SurrogateFileError`; :func:`_check_opset_and_ops` is the opset,
operator and self-containedness gate it shares with :func:`surrogate.onnx_io.read_model_bytes`.
This module knows nothing of steam networks.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from surrogate.network import ReluNetwork
from surrogate.onnx_format import (
    _WHAT_WE_WRITE,
    ALLOWED_OPS,
    FORMAT_VERSION,
    OPSET,
    READABLE_OPS,
    RESERVED_METADATA_KEYS,
    SUPPORTED_OPSETS,
    SurrogateFileError,
)
from surrogate.onnx_metadata import _json_list, _variables

__all__ = ["network_from_onnx"]

_GEMM_ATTRIBUTES = {"alpha", "beta", "transA", "transB"}


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
