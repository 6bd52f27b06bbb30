"""Writing a :class:`~surrogate.network.ReluNetwork` as a steamopt ONNX surrogate file.

:func:`network_to_onnx` builds the model in the layout described in :mod:`surrogate.onnx_io`
(one Gemm per layer, Relu between, float64, the format's metadata last); :func:`save_network`
writes its bytes atomically. This module knows nothing of steam networks.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from surrogate.atomic import atomic_write_bytes
from surrogate.network import ReluNetwork
from surrogate.onnx_format import (
    FORMAT_VERSION,
    IR_VERSION,
    OPSET,
    RESERVED_METADATA_KEYS,
    sha256_hex,
)
from surrogate.onnx_metadata import _variables_to_json

__all__ = ["network_to_onnx", "save_network"]

# the name these messages have always been logged under (the module they were written in)
log = logging.getLogger("surrogate.onnx_io")


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
