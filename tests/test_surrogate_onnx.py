"""Tests of the ONNX surrogate files (surrogate.onnx_io), serving (surrogate.serving) and model
directories (surrogate.manifest), on small ReLU networks built by hand with numpy."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from surrogate.manifest import load_model_dir, read_manifest, write_manifest
from surrogate.network import ReluNetwork, Variable
from surrogate.onnx_io import (
    ALLOWED_OPS,
    DEFAULT_MAX_BYTES,
    FORMAT_VERSION,
    IR_VERSION,
    OPSET,
    SurrogateFileError,
    load_network,
    network_from_onnx,
    network_to_onnx,
    read_model_bytes,
    save_network,
)
from surrogate.serving import OnnxSurrogate

# --------------------------------------------------------------------------- networks


def make_net(sizes: list[int], seed: int, *, inputs: list[Variable] | None = None, outputs: list[Variable] | None = None,
             metadata: dict[str, str] | None = None) -> ReluNetwork:
    """A dense ReLU network with He-scaled random weights and biases from a fixed seed."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(sizes[i + 1], sizes[i])) * np.sqrt(2.0 / sizes[i]) for i in range(len(sizes) - 1)]
    biases = [rng.normal(scale=0.5, size=sizes[i + 1]) for i in range(len(sizes) - 1)]
    inputs = inputs or [Variable(f"in{i}", "u", -2.0 - i, 3.0 + i) for i in range(sizes[0])]
    outputs = outputs or [Variable(f"out{j}", "v") for j in range(sizes[-1])]
    return ReluNetwork(weights, biases, inputs, outputs, metadata=dict(metadata or {}))


NETS: dict[str, ReluNetwork] = {
    "2-8-8-1": make_net(
        [2, 8, 8, 1], 1,
        inputs=[Variable("B1.steam_tph", "t/h", 20.0, 120.0), Variable("ambient_temp_c", "degC", 22.0, 36.0)],
        outputs=[Variable("B1.fuel_gj_h", "GJ/h")],
        metadata={"holdout_mape": "0.0042", "data_sha256": "ab" * 32, "trained": "2026-01-05T00:00:00Z",
                  "library": json.dumps({"numpy": np.__version__})},
    ),
    "1-4-1": make_net([1, 4, 1], 2),
    "3-6-5-2": make_net([3, 6, 5, 2], 3),
}


def pre_activations(net: ReluNetwork, x: np.ndarray) -> list[np.ndarray]:
    """a^(l) for every layer at the samples ``x`` (n, n_in), computed independently of the library."""
    z, out = np.atleast_2d(x), []
    for w, b in zip(net.weights, net.biases):
        a = z @ w.T + b
        out.append(a)
        z = np.maximum(a, 0.0)
    return out


def samples(net: ReluNetwork, n: int, seed: int) -> np.ndarray:
    lo, hi = net.domain
    lo, hi = np.where(np.isfinite(lo), lo, -3.0), np.where(np.isfinite(hi), hi, 3.0)
    return np.random.default_rng(seed).uniform(lo, hi, size=(n, len(lo)))


@pytest.fixture(params=sorted(NETS), ids=sorted(NETS))
def net_file(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[ReluNetwork, Path]:
    net = NETS[request.param]
    path = save_network(net, tmp_path / "model.onnx", "model")
    return net, path


def _assert_close(served: np.ndarray, ref: np.ndarray) -> None:
    """Equal to 1e-12 relative to the output's scale over the batch (float64 sums in another order)."""
    scale = np.maximum(np.abs(ref).max(axis=0), 1.0)
    assert np.all(np.abs(served - ref) <= 1e-12 * scale), np.abs(served - ref).max()


# --------------------------------------------------------------------------- served == numpy, read-back


def test_onnxruntime_equals_numpy_single_and_batch(net_file: tuple[ReluNetwork, Path]) -> None:
    net, path = net_file
    s = OnnxSurrogate.from_file(path)
    X = samples(net, 500, seed=11)
    ref = net.evaluate(X)
    out = s.evaluate_batch(X)
    assert out.dtype == np.float64 and out.shape == (500, len(net.outputs))
    _assert_close(out, ref)
    for x, r in zip(X[:20], ref[:20]):
        y = s.evaluate(x)
        assert y.shape == (len(net.outputs),)
        _assert_close(y[None, :], r[None, :])


def test_read_back_equals_original_exactly(net_file: tuple[ReluNetwork, Path]) -> None:
    net, path = net_file
    back, data = load_network(path)
    assert data == path.read_bytes()
    assert len(back.weights) == len(net.weights)
    for w0, w1, b0, b1 in zip(net.weights, back.weights, net.biases, back.biases):
        assert w1.dtype == np.float64 and b1.dtype == np.float64
        assert np.array_equal(w0, w1) and np.array_equal(b0, b1)
    assert back.inputs == net.inputs and back.outputs == net.outputs
    assert back.metadata == net.metadata


def test_file_layout_is_a_plain_named_gemm_relu_chain(tmp_path: Path) -> None:
    net = NETS["2-8-8-1"]
    path = save_network(net, tmp_path / "B1_fuel.onnx", "B1_fuel")
    model = onnx.load_model_from_string(path.read_bytes())
    onnx.checker.check_model(model, full_check=True)
    g = model.graph
    assert [n.op_type for n in g.node] == ["Gemm", "Relu", "Gemm", "Relu", "Gemm"]
    assert [n.name for n in g.node] == ["layer0_gemm", "layer0_relu", "layer1_gemm", "layer1_relu", "layer2_gemm"]
    assert [i.name for i in g.initializer] == ["layer0_W", "layer0_b", "layer1_W", "layer1_b", "layer2_W", "layer2_b"]
    assert {n.op_type for n in g.node} <= ALLOWED_OPS
    for node in g.node:
        if node.op_type == "Gemm":
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            assert attrs == {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 1}
    assert [i.name for i in g.input] == ["x"] and [o.name for o in g.output] == ["y"]
    for vi, n in ((g.input[0], 2), (g.output[0], 1)):
        assert vi.type.tensor_type.elem_type == TensorProto.DOUBLE
        dims = vi.type.tensor_type.shape.dim
        assert dims[0].dim_param == "N" and dims[1].dim_value == n
    assert all(i.data_type == TensorProto.DOUBLE for i in g.initializer)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    assert model.ir_version == IR_VERSION and model.producer_name == "steamopt" and "B1_fuel" in model.doc_string
    props = {p.key: p.value for p in model.metadata_props}
    assert props["steamopt_format"] == FORMAT_VERSION and props["name"] == "B1_fuel"
    assert json.loads(props["inputs"]) == [
        {"name": "B1.steam_tph", "unit": "t/h", "lower": 20.0, "upper": 120.0},
        {"name": "ambient_temp_c", "unit": "degC", "lower": 22.0, "upper": 36.0},
    ]
    assert json.loads(props["outputs"]) == [{"name": "B1.fuel_gj_h", "unit": "GJ/h", "lower": None, "upper": None}]
    assert props["holdout_mape"] == "0.0042"


def test_metadata_and_surrogate_attributes_round_trip(tmp_path: Path) -> None:
    meta = {"holdout_rmse": "0.125", "note": "Ünïcode ✓ and \"quotes\"", "scaler": json.dumps({"mean": [1.5, 2.0]})}
    net = make_net(
        [3, 4, 2], 5, metadata=meta,
        inputs=[Variable("a", "t/h", 0.0, 10.0), Variable("b", "degC"), Variable("c", "", -np.inf, 4.0)],
        outputs=[Variable("p", "MW", 0.0, 50.0), Variable("q", "GJ/h")],
    )
    path = save_network(net, tmp_path / "m.onnx", "HRSG1_steam")
    s = OnnxSurrogate.from_file(path)
    assert s.name == "HRSG1_steam" and s.path == path
    assert s.metadata == meta and s.network.inputs == net.inputs and s.network.outputs == net.outputs
    assert s.input_names == ["a", "b", "c"] and s.output_names == ["p", "q"]
    assert s.input_units == ["t/h", "degC", ""] and s.output_units == ["MW", "GJ/h"]
    lo, hi = s.domain
    assert np.array_equal(lo, [0.0, -np.inf, -np.inf]) and np.array_equal(hi, [10.0, np.inf, 4.0])
    assert s.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "HRSG1_steam" in repr(s)


def test_writer_refuses_reserved_metadata_and_nonfinite_weights() -> None:
    net = make_net([1, 2, 1], 0, metadata={"name": "clash"})
    with pytest.raises(ValueError, match="reserved"):
        network_to_onnx(net, "m")
    net = make_net([1, 2, 1], 0)
    net.weights[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        network_to_onnx(net, "m")
    with pytest.raises(ValueError, match="non-empty name"):
        network_to_onnx(make_net([1, 2, 1], 0), " ")


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_supported_opsets_read(opset: int) -> None:
    model = network_to_onnx(NETS["1-4-1"], "m")
    model.opset_import[0].version = opset
    s = OnnxSurrogate.from_bytes(model.SerializeToString())
    _assert_close(s.evaluate_batch(samples(NETS["1-4-1"], 10, 0)), NETS["1-4-1"].evaluate(samples(NETS["1-4-1"], 10, 0)))


def _metadata_props(net: ReluNetwork, name: str) -> dict[str, str]:
    return {p.key: p.value for p in network_to_onnx(net, name).metadata_props}


def test_reads_matmul_add_chain_and_transb0_gemm() -> None:
    """Other exporters write MatMul+Add with (1, n) biases, or Gemm with transB = 0."""
    net = NETS["3-6-5-2"]
    nodes, inits, current = [], [], "input"
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        out = "output" if l == len(net.weights) - 1 else f"h{l}"
        if l == 1:  # a Gemm with transB = 0 in the middle: B = W^T
            inits += [numpy_helper.from_array(w.T.copy(), f"B{l}"), numpy_helper.from_array(b, f"c{l}")]
            nodes.append(helper.make_node("Gemm", [current, f"B{l}", f"c{l}"], [f"a{l}"], transB=0))
        else:
            inits += [numpy_helper.from_array(w.T.copy(), f"B{l}"), numpy_helper.from_array(b[None, :].copy(), f"c{l}")]
            nodes.append(helper.make_node("MatMul", [current, f"B{l}"], [f"m{l}"]))
            nodes.append(helper.make_node("Add", [f"c{l}", f"m{l}"], [f"a{l}"]))
        if out == "output":
            nodes[-1].output[0] = "output"
        else:
            nodes.append(helper.make_node("Relu", [f"a{l}"], [out]))
        current = out
    graph = helper.make_graph(
        nodes, "other", [helper.make_tensor_value_info("input", TensorProto.DOUBLE, ["batch", 3])],
        [helper.make_tensor_value_info("output", TensorProto.DOUBLE, ["batch", 2])], inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    helper.set_model_props(model, _metadata_props(net, "other"))
    back = network_from_onnx(model, "<test>")
    for w0, w1, b0, b1 in zip(net.weights, back.weights, net.biases, back.biases):
        assert np.array_equal(w0, w1) and np.array_equal(b0, b1)
    s = OnnxSurrogate.from_bytes(model.SerializeToString())
    X = samples(net, 50, 1)
    _assert_close(s.evaluate_batch(X), net.evaluate(X))


# --------------------------------------------------------------------------- jacobian


def _away_from_kinks(net: ReluNetwork, X: np.ndarray, margin: float) -> np.ndarray:
    hidden = pre_activations(net, X)[:-1]
    return X[np.all(np.hstack([np.abs(a) for a in hidden]) > margin, axis=1)]


def test_jacobian_equals_central_differences_of_served_outputs(net_file: tuple[ReluNetwork, Path]) -> None:
    net, path = net_file
    s = OnnxSurrogate.from_file(path)
    X = _away_from_kinks(net, samples(net, 200, seed=3), margin=1e-3)[:25]
    assert len(X) >= 10
    h = 1e-6
    n = len(net.inputs)
    for x in X:
        J = s.jacobian(x)
        assert J.shape == (len(net.outputs), n)
        steps = np.eye(n) * h
        fd = (s.evaluate_batch(x + steps) - s.evaluate_batch(x - steps)).T / (2 * h)
        np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-6)


def test_jacobian_is_exactly_the_masked_weight_product(net_file: tuple[ReluNetwork, Path]) -> None:
    """dy/dx = W_L D_{L-1} W_{L-1} ... D_1 W_1 with D_l = diag(a^(l) > 0), bit for bit."""
    net, path = net_file
    s = OnnxSurrogate.from_file(path)
    for x in samples(net, 30, seed=4):
        expected = None
        for w, a in zip(s.network.weights[:-1], pre_activations(net, x)[:-1]):
            layer = np.diag((a[0] > 0).astype(float)) @ w  # exact: rows scaled by 0 or 1
            expected = layer if expected is None else layer @ expected
        expected = s.network.weights[-1] @ expected
        assert np.array_equal(s.jacobian(x), expected)
        assert np.array_equal(s.jacobian(dict(zip(s.input_names, x))), expected)


# --------------------------------------------------------------------------- interval bounds (hypothesis)


def _box_and_points(n: int) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    coord = st.floats(-5.0, 5.0, allow_nan=False)
    width = st.floats(0.0, 4.0, allow_nan=False)
    frac = st.floats(0.0, 1.0, allow_nan=False)
    return st.tuples(
        st.lists(coord, min_size=n, max_size=n), st.lists(width, min_size=n, max_size=n),
        st.lists(st.lists(frac, min_size=n, max_size=n), min_size=1, max_size=20),
    ).map(lambda t: (np.array(t[0]), np.array(t[0]) + np.array(t[1]), np.array(t[2])))


SURROGATES = {k: OnnxSurrogate.from_network(v, k.replace("-", "_")) for k, v in NETS.items()}


@pytest.mark.parametrize("key", ["2-8-8-1", "3-6-5-2"])
def test_interval_bounds_contain_sampled_preactivations_and_stable_neurons_are_stable(key: str) -> None:
    s, net = SURROGATES[key], NETS[key]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_box_and_points(len(net.inputs)))
    def check(case: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        lo, hi, fracs = case
        X = lo + fracs * (hi - lo)
        bounds = s.interval_bounds(lo, hi)
        acts = pre_activations(s.network, X)
        assert len(bounds) == len(acts)
        for (a_lo, a_hi), a in zip(bounds, acts):
            tol = 1e-9 * (1.0 + np.abs(a))
            assert np.all(a >= a_lo - tol) and np.all(a <= a_hi + tol)
        for (active, inactive), a in zip(s.network.stable_neurons(lo, hi), acts[:-1]):
            tol = 1e-9 * (1.0 + np.abs(a))
            assert np.all(a[:, active] >= -tol[:, active])
            assert np.all(a[:, inactive] <= tol[:, inactive])
        np.testing.assert_allclose(s.evaluate_batch(X), acts[-1], rtol=1e-12, atol=1e-11)

    check()


# --------------------------------------------------------------------------- serving inputs


def test_inputs_as_mapping_and_dataframe_and_domain_check() -> None:
    s, net = SURROGATES["2-8-8-1"], NETS["2-8-8-1"]
    x = np.array([60.0, 30.0])
    ref = net.evaluate(x)
    _assert_close(s.evaluate({"ambient_temp_c": 30.0, "B1.steam_tph": 60.0, "unrelated": 1.0})[None], ref[None])
    frame = pd.DataFrame({"other": [0.0, 1.0], "ambient_temp_c": [30.0, 25.0], "B1.steam_tph": [60.0, 80.0]})
    _assert_close(s.evaluate_batch(frame), net.evaluate(np.array([[60.0, 30.0], [80.0, 25.0]])))
    series = pd.Series({"ambient_temp_c": 30.0, "B1.steam_tph": 60.0})  # read by label, not position
    _assert_close(s.evaluate(series)[None], ref[None])
    assert np.array_equal(s.jacobian(series), net.jacobian(x))
    assert s.evaluate_batch(np.empty((0, 2))).shape == (0, 1)
    assert s.check_domain(x) == []
    assert s.check_domain({"B1.steam_tph": 150.0, "ambient_temp_c": 20.0}) == ["B1.steam_tph", "ambient_temp_c"]
    opts = s._session.get_session_options()
    assert (opts.intra_op_num_threads, opts.inter_op_num_threads) == (1, 1)
    assert s._session.get_providers() == ["CPUExecutionProvider"]


@pytest.mark.parametrize(
    ("call", "arg", "message"),
    [
        ("evaluate", np.zeros(3), r"shape \(3,\); expected a 1-D array of 2 inputs \[B1.steam_tph, ambient_temp_c\]"),
        ("evaluate", np.zeros((1, 2)), r"shape \(1, 2\); expected a 1-D array"),
        ("evaluate", {"B1.steam_tph": 1.0}, r"missing inputs \['ambient_temp_c'\]; expected values for 2 inputs"),
        ("evaluate", {"B1.steam_tph": 1.0, "ambient_temp_c": "hot"}, "must be numbers"),
        ("evaluate", np.array([np.nan, 1.0]), r"non-finite values for inputs \['B1.steam_tph'\]"),
        ("evaluate_batch", np.zeros(2), r"shape \(2,\); expected a 2-D array \(n_samples, 2\)"),
        ("evaluate_batch", np.zeros((4, 3)), r"shape \(4, 3\); expected a 2-D array"),
        ("evaluate_batch", pd.DataFrame({"B1.steam_tph": [1.0]}), r"lacks columns \['ambient_temp_c'\]"),
        ("jacobian", [1.0], r"expected a 1-D array of 2 inputs"),
    ],
)
def test_bad_inputs_give_clear_errors(call: str, arg: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        getattr(SURROGATES["2-8-8-1"], call)(arg)


# --------------------------------------------------------------------------- OMLT


def test_omlt_reads_the_file_and_gets_our_weights(tmp_path: Path) -> None:
    omlt_io = pytest.importorskip("omlt.io")
    for key, net in NETS.items():
        path = save_network(net, tmp_path / f"{key}.onnx", key.replace("-", "_"))
        lo, hi = samples(net, 1, 0)[0] - 1.0, samples(net, 1, 0)[0] + 1.0
        definition = omlt_io.load_onnx_neural_network(onnx.load(str(path)), input_bounds={i: (lo[i], hi[i]) for i in range(len(lo))})
        layers = list(definition.layers)
        assert type(layers[0]).__name__ == "InputLayer" and list(layers[0].output_size) == [len(net.inputs)]
        dense = layers[1:]
        assert len(dense) == len(net.weights)
        for l, (layer, w, b) in enumerate(zip(dense, net.weights, net.biases)):
            assert type(layer).__name__ == "DenseLayer"
            assert np.array_equal(layer.weights, w.T) and np.array_equal(layer.biases, b)  # OMLT: y = x W + b
            assert layer.activation == ("linear" if l == len(dense) - 1 else "relu")
        # OMLT's own layer-by-layer evaluation agrees with ours
        for x in samples(net, 5, 1):
            z = x
            for layer in dense:
                z = layer.eval_single_layer(z)
            np.testing.assert_allclose(z, net.evaluate(x), rtol=1e-12, atol=1e-12)


def test_omlt_big_m_embedding_of_the_file_reproduces_served_outputs(tmp_path: Path) -> None:
    """Fix the inputs of OMLT's big-M formulation built from the file; HiGHS must find the output
    onnxruntime serves (the DESIGN's 1e-6 relative agreement, met here to solver tolerance)."""
    pytest.importorskip("omlt")
    pyo = pytest.importorskip("pyomo.environ")
    from omlt import OmltBlock
    from omlt.io import load_onnx_neural_network
    from omlt.neuralnet import ReluBigMFormulation

    solver = pyo.SolverFactory("appsi_highs")
    if not solver.available(exception_flag=False):
        pytest.skip("HiGHS (appsi_highs) not available")
    net = NETS["2-8-8-1"]
    path = save_network(net, tmp_path / "B1_fuel.onnx", "B1_fuel")
    s = OnnxSurrogate.from_file(path)
    lo, hi = s.domain
    definition = load_onnx_neural_network(onnx.load(str(path)), input_bounds={i: (lo[i], hi[i]) for i in range(len(lo))})
    m = pyo.ConcreteModel()
    m.nn = OmltBlock()
    m.nn.build_formulation(ReluBigMFormulation(definition))
    m.obj = pyo.Objective(expr=0.0)
    for x in samples(net, 3, seed=7):
        for i, xi in enumerate(x):
            m.nn.inputs[i].fix(float(xi))
        result = solver.solve(m)
        assert str(result.solver.termination_condition) == "optimal"
        served = s.evaluate(x)[0]
        assert abs(pyo.value(m.nn.outputs[0]) - served) <= 1e-6 * max(1.0, abs(served))


# --------------------------------------------------------------------------- refused files


@pytest.fixture
def good_bytes() -> bytes:
    return network_to_onnx(NETS["2-8-8-1"], "B1_fuel").SerializeToString()


def _refused(path: Path, *patterns: str, **kwargs: object) -> str:
    with pytest.raises(SurrogateFileError) as info:
        load_network(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert str(path) in message
    for p in patterns:
        assert p in message, message
    with pytest.raises(SurrogateFileError):
        OnnxSurrogate.from_file(path, **kwargs)  # type: ignore[arg-type]
    return message


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "nope.onnx", "file not found", "expected a steamopt surrogate")


def test_truncated_file(tmp_path: Path, good_bytes: bytes) -> None:
    path = tmp_path / "cut.onnx"
    path.write_bytes(good_bytes[: len(good_bytes) * 2 // 3])
    _refused(path, "truncated")


def test_every_prefix_of_a_file_is_refused(good_bytes: bytes) -> None:
    """A file cut short anywhere, even at a protobuf field boundary, is refused (the format's own
    metadata entries are written last, so no prefix is a complete file)."""
    for n in range(len(good_bytes)):
        with pytest.raises(SurrogateFileError):
            read_model_bytes(good_bytes[:n], "cut.onnx")
    assert read_model_bytes(good_bytes, "whole.onnx").network.metadata == NETS["2-8-8-1"].metadata


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.onnx"
    path.write_bytes(np.random.default_rng(0).bytes(4000))
    _refused(path, "not a readable ONNX protobuf", "expected a steamopt surrogate")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    _refused(path, "empty")


def _create_marker(path: str) -> None:
    """What the pickle below would run if it were ever unpickled."""
    Path(path).write_text("unpickled!")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (_create_marker, (self.marker,))


@pytest.mark.parametrize("protocol", [2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
def test_pickle_renamed_onnx_is_refused_without_unpickling(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "model.onnx"
    path.write_bytes(pickle.dumps(_Payload(marker), protocol=protocol))
    _refused(path, "a Python pickle", "not ONNX; pickles are never loaded")
    with pytest.raises(SurrogateFileError, match="pickle"):
        write_manifest(tmp_path, {"model": ("model.onnx", ["a"], ["b"])})
    assert not marker.exists()
    # control: the payload is live, so the assertion above means something
    pickle.loads(path.read_bytes())
    assert marker.read_text() == "unpickled!"


def test_wrong_opset(tmp_path: Path) -> None:
    model = network_to_onnx(NETS["2-8-8-1"], "m")
    model.opset_import[0].version = 11
    path = tmp_path / "old.onnx"
    path.write_bytes(model.SerializeToString())
    _refused(path, "opset 11 is not supported", "expected opset 13-21")


def test_disallowed_op_sigmoid(tmp_path: Path) -> None:
    model = network_to_onnx(NETS["2-8-8-1"], "m")
    model.graph.node[1].op_type = "Sigmoid"
    path = tmp_path / "sig.onnx"
    path.write_bytes(model.SerializeToString())
    _refused(path, "node 1 (layer0_relu) is a Sigmoid operator, which is not allowed", "expected only Gemm, Relu")


def test_disallowed_op_cast(tmp_path: Path) -> None:
    model = network_to_onnx(NETS["1-4-1"], "m")
    model.graph.node[0].input[0] = "x_cast"
    model.graph.node.insert(0, helper.make_node("Cast", ["x"], ["x_cast"], name="cast_in", to=TensorProto.DOUBLE))
    path = tmp_path / "cast.onnx"
    path.write_bytes(model.SerializeToString())
    _refused(path, "Cast operator", "not allowed")


def test_nan_weight(tmp_path: Path) -> None:
    model = network_to_onnx(NETS["2-8-8-1"], "m")
    w = numpy_helper.to_array(model.graph.initializer[2]).copy()
    w[3, 4] = np.nan
    model.graph.initializer[2].CopyFrom(numpy_helper.from_array(w, "layer1_W"))
    path = tmp_path / "nan.onnx"
    path.write_bytes(model.SerializeToString())
    _refused(path, "initializer 'layer1_W' holds 1 NaN/inf value(s) (first at index (3, 4))", "expected finite weights")


def test_float32_weights_refused(tmp_path: Path) -> None:
    model = network_to_onnx(NETS["1-4-1"], "m")
    w = numpy_helper.to_array(model.graph.initializer[0]).astype(np.float32)
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(w, "layer0_W"))
    path = tmp_path / "f32.onnx"
    path.write_bytes(model.SerializeToString())
    message = _refused(path)
    assert "FLOAT" in message or "checker" in message


def test_checker_failure(tmp_path: Path) -> None:
    model = network_to_onnx(NETS["1-4-1"], "m")
    model.graph.node[0].input[0] = "undefined_tensor"
    path = tmp_path / "broken.onnx"
    path.write_bytes(model.SerializeToString())
    _refused(path, "fails the ONNX checker", "expected a valid ONNX model")


def test_relu_on_output_and_gemm_alpha_refused() -> None:
    model = network_to_onnx(NETS["1-4-1"], "m")
    model.graph.node[-1].output[0] = "pre_y"
    model.graph.node.append(helper.make_node("Relu", ["pre_y"], ["y"], name="out_relu"))
    with pytest.raises(SurrogateFileError, match="expected a Relu after every layer but the last"):
        read_model_bytes(model.SerializeToString(), "relu_out.onnx")
    model = network_to_onnx(NETS["1-4-1"], "m")
    for a in model.graph.node[0].attribute:
        if a.name == "alpha":
            a.f = 2.0
    with pytest.raises(SurrogateFileError, match="alpha=2.0.*expected alpha=1"):
        read_model_bytes(model.SerializeToString(), "alpha.onnx")


def test_metadata_disagreeing_with_graph_refused() -> None:
    model = network_to_onnx(NETS["1-4-1"], "m")
    for p in model.metadata_props:
        if p.key == "inputs":
            p.value = json.dumps([{"name": "a", "unit": ""}, {"name": "b", "unit": ""}])
    with pytest.raises(SurrogateFileError, match="metadata names 2 inputs and 1 outputs but the graph has 1 and 1"):
        read_model_bytes(model.SerializeToString(), "meta.onnx")


def test_unexpected_input_and_output_names(tmp_path: Path) -> None:
    path = save_network(NETS["2-8-8-1"], tmp_path / "B1_fuel.onnx", "B1_fuel")
    _refused(path, "input names are ['B1.steam_tph', 'ambient_temp_c']; expected ['B1.steam_tph', 'ambient_c']",
             expected_inputs=["B1.steam_tph", "ambient_c"])
    _refused(path, "output names are ['B1.fuel_gj_h']; expected ['B2.fuel_gj_h']", expected_outputs=["B2.fuel_gj_h"])
    load_network(path, expected_inputs=("B1.steam_tph", "ambient_temp_c"), expected_outputs=["B1.fuel_gj_h"])


def test_oversized_file(tmp_path: Path, good_bytes: bytes) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(good_bytes)
    limit = len(good_bytes) // 10
    _refused(path, f"file is {len(good_bytes)} bytes, larger than the limit of {limit} bytes", max_bytes=limit)
    padded = tmp_path / "padded.onnx"
    padded.write_bytes(good_bytes + bytes(10 * DEFAULT_MAX_BYTES))
    _refused(padded, f"larger than the limit of {DEFAULT_MAX_BYTES} bytes")
    load_network(path)  # the real file is well within the default


# --------------------------------------------------------------------------- model directories


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    save_network(NETS["2-8-8-1"], d / "B1_fuel.onnx", "B1_fuel")
    save_network(NETS["3-6-5-2"], d / "HRSG1.onnx", "HRSG1")
    hrsg = OnnxSurrogate.from_file(d / "HRSG1.onnx")
    write_manifest(
        d, {"B1_fuel": ("B1_fuel.onnx", ["B1.steam_tph", "ambient_temp_c"], ["B1.fuel_gj_h"]), "HRSG1": hrsg},
        site='reference "olefins"',
    )
    return d


def test_model_dir_round_trip(model_dir: Path) -> None:
    (model_dir / "README.md").write_text("training report")
    models = load_model_dir(model_dir)
    assert list(models) == ["B1_fuel", "HRSG1"]
    assert models["B1_fuel"].input_names == ["B1.steam_tph", "ambient_temp_c"]
    manifest = read_manifest(model_dir)
    assert manifest.site == 'reference "olefins"' and manifest.format == "1"
    assert manifest.models["HRSG1"].sha256 == models["HRSG1"].sha256
    X = samples(NETS["3-6-5-2"], 10, 0)
    _assert_close(models["HRSG1"].evaluate_batch(X), NETS["3-6-5-2"].evaluate(X))


def test_manifest_hash_mismatch(model_dir: Path) -> None:
    save_network(NETS["1-4-1"], model_dir / "other.onnx", "B1_fuel")
    os.replace(model_dir / "other.onnx", model_dir / "B1_fuel.onnx")
    with pytest.raises(SurrogateFileError, match=r"B1_fuel.onnx: file changed since the manifest was written \(manifest models.B1_fuel.sha256"):
        load_model_dir(model_dir)


def test_manifest_lists_missing_file(model_dir: Path) -> None:
    (model_dir / "HRSG1.onnx").unlink()
    with pytest.raises(SurrogateFileError, match=r"HRSG1.onnx: file not found"):
        load_model_dir(model_dir)


@pytest.mark.parametrize(("extra", "message"), [
    ("stray.onnx", "a .onnx model file that the manifest does not list"),
    ("model.pkl", "a .pkl file (pickle family) that the manifest does not list; pickles are never loaded"),
    ("model.joblib", "pickle family"),
    ("weights.bin", "unexpected file not listed in manifest.toml"),
])
def test_unlisted_files_refused(model_dir: Path, extra: str, message: str) -> None:
    (model_dir / extra).write_bytes(b"\x80\x04whatever")
    with pytest.raises(SurrogateFileError) as info:
        load_model_dir(model_dir)
    assert str(model_dir / extra) in str(info.value) and message in str(info.value)


def _rewrite(model_dir: Path, old: str, new: str) -> None:
    path = model_dir / "manifest.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(("old", "new", "message"), [
    ('format = "1"', 'format = "1"\nowner = "me"', "manifest.toml: owner = 'me': unknown key (allowed: format, site, models, site_record)"),
    ('file = "HRSG1.onnx"', 'file = "HRSG1.onnx"\nscaler = "s.pkl"', "models.HRSG1.scaler = 's.pkl': unknown key"),
    ('format = "1"', "format = 1", "format = 1: must be the string '1'"),
    ('file = "HRSG1.onnx"', 'file = "../HRSG1.onnx"', "models.HRSG1.file = '../HRSG1.onnx': must be a plain file name"),
    ('outputs = ["B1.fuel_gj_h"]', 'outputs = "B1.fuel_gj_h"', "models.B1_fuel.outputs = 'B1.fuel_gj_h': must be a non-empty list"),
    ('outputs = ["B1.fuel_gj_h"]\n', "", "models.B1_fuel.outputs: missing required key"),
    ("sha256 = \"", "sha256 = \"XYZ", "must be 64 lowercase hex digits"),
    ('format = "1"', 'format = "1', "not valid TOML"),
])
def test_bad_manifest(model_dir: Path, old: str, new: str, message: str) -> None:
    _rewrite(model_dir, old, new)
    with pytest.raises(SurrogateFileError) as info:
        load_model_dir(model_dir)
    assert str(model_dir / "manifest.toml") in str(info.value) and message in str(info.value), str(info.value)


def test_manifest_names_disagreeing_with_file(model_dir: Path) -> None:
    _rewrite(model_dir, '"B1.steam_tph", "ambient_temp_c"', '"B1.steam_tph", "ambient_c"')
    with pytest.raises(SurrogateFileError, match=r"input names are .*; expected \['B1.steam_tph', 'ambient_c'\]"):
        load_model_dir(model_dir)
    with pytest.raises(SurrogateFileError, match="names its surrogate 'B1_fuel'; expected 'B2_fuel'"):
        write_manifest(model_dir, {"B2_fuel": ("B1_fuel.onnx", ["B1.steam_tph", "ambient_temp_c"], ["B1.fuel_gj_h"])})
