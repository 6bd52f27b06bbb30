"""Several surrogates in one onnxruntime session (surrogate/bundle.py) and the supervisor's check
that uses it: the bundle serves exactly what each surrogate serves alone, refuses what it cannot
serve, and the check reports a surrogate that disagrees with the embedded curve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.site import load_site
from optimizer.supervisor import Supervisor
from surrogate.bundle import SurrogateBundle
from surrogate.manifest import load_model_dir
from surrogate.serving import OnnxSurrogate

ROOT = Path(__file__).resolve().parents[1]
SITE = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
MODELS = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")
SURROGATES = list(MODELS.values())
N = 14  # the bundled surrogates: 9 units', the C3 splitter column's steam and purity, the extraction-condensing TG3's steam, the 2 learned ducts'
BUNDLE = SurrogateBundle.build(SURROGATES)
SNAPSHOT = json.loads((ROOT / "scenarios" / "snapshots" / "reference_olefins.json").read_text())


def test_reference_surrogates_bundle():
    assert BUNDLE is not None
    assert len(BUNDLE.surrogates) == len(SURROGATES) == N
    assert BUNDLE.bound  # onnxruntime's I/O binding checked and used


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=N * 4, max_size=N * 4), st.lists(st.floats(-0.2, 1.2), min_size=N, max_size=N))
def test_bundle_serves_what_each_surrogate_serves_alone(fractions, free_fractions):
    """Points anywhere in (and a little beyond, for the free input) each training domain."""
    points, free, values = [], [], []
    for i, s in enumerate(SURROGATES):
        lo, hi = s.domain
        u = np.array(fractions[4 * i: 4 * i + s.n_inputs])
        points.append(lo + u * (hi - lo))
        free.append(i % s.n_inputs)
        values.append(float(lo[free[-1]] + free_fractions[i] * (hi[free[-1]] - lo[free[-1]])))
    together = BUNDLE.line_evaluator(points, free)(values)
    for s, x, k, v, y in zip(SURROGATES, points, free, values, together):
        x = x.copy()
        x[k] = v
        assert y == pytest.approx(float(s.evaluate(x)[0]), rel=1e-12, abs=1e-12), s.name


def test_bundle_refuses_non_finite_values_and_bad_points():
    points = [0.5 * (s.domain[0] + s.domain[1]) for s in SURROGATES]
    f = BUNDLE.line_evaluator(points, [0] * N)
    values = [float(p[0]) for p in points]
    values[3] = float("nan")
    with pytest.raises(ValueError, match=rf"model {SURROGATES[3].name}: input {SURROGATES[3].input_names[0]} = nan"):
        f(values)
    with pytest.raises(ValueError, match="surrogates"):
        BUNDLE.line_evaluator(points[:-1], [0] * (N - 1))
    bad = list(points)
    bad[0] = np.array([1.0])
    with pytest.raises(ValueError, match=rf"surrogate '{SURROGATES[0].name}'"):
        BUNDLE.line_evaluator(bad, [0] * N)


def _with_opset(s: OnnxSurrogate, opset: int) -> OnnxSurrogate:
    proto = onnx.load_from_string(s._checked.data)
    proto.opset_import[0].version = opset
    return OnnxSurrogate.from_bytes(proto.SerializeToString())


def test_surrogates_of_different_opsets_are_not_bundled_and_the_check_still_runs():
    other = _with_opset(SURROGATES[0], 16)
    assert SurrogateBundle.build([other, *SURROGATES[1:]]) is None
    models = dict(MODELS)
    models[next(iter(models))] = other
    sup = Supervisor(SITE, models)
    assert sup.curves._bundle is None
    p = sup.step(SNAPSHOT)
    assert p.status == "optimal"
    assert set(p.surrogate_agreement) == set(MODELS) - {"TG3_steam"}  # TG3 left on standby at the bundled snapshot
    assert max(p.surrogate_agreement.values()) <= 1e-6


def test_check_reports_a_surrogate_that_disagrees_with_the_embedded_curve(monkeypatch):
    """onnxruntime's answer for one curve off by 1 %: the check names it (the comparison is
    against what onnxruntime serves, not against the model's own numbers)."""
    sup = Supervisor(SITE, MODELS)
    session = sup.curves._bundle._session
    target = sup.curves._bundle._outputs[2]
    real_run = session.run

    class Skewed:
        def run(self, outputs, feed):
            ys = real_run(outputs, feed)
            return [y * 1.01 if name == target else y for name, y in zip(outputs, ys)]

    monkeypatch.setattr(sup.curves._bundle, "_session", Skewed())
    monkeypatch.setattr(sup.curves._bundle, "bound", False)  # plain runs, through the skewed session
    p = sup.step(SNAPSHOT)
    name = list(sup.curves.slots)[2]
    assert p.surrogate_agreement[name] == pytest.approx(0.01 / 1.01, rel=1e-3)
    assert all(v <= 1e-6 for k, v in p.surrogate_agreement.items() if k != name)
    assert any("surrogate mismatch" in w and name in w for w in p.warnings)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=N, max_size=N))
def test_bound_and_plain_runs_serve_the_same(fractions):
    """The I/O-bound evaluator (inputs updated in place) against plain runs, call after call."""
    points = [0.5 * (s.domain[0] + s.domain[1]) for s in SURROGATES]
    bound = BUNDLE.line_evaluator(points, [0] * N)
    plain = BUNDLE.line_evaluator(points, [0] * N, bound=False)
    for shift in (0.0, 0.3):
        values = [float(s.domain[0][0] + ((u + shift) % 1.0) * (s.domain[1][0] - s.domain[0][0])) for s, u in zip(SURROGATES, fractions)]
        assert bound(values).tolist() == plain(values).tolist()
