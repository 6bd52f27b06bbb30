"""The cycle's curve data: the one-pass path for one-hidden-layer networks gives what the general
path gives (exact breakpoints over the box from :func:`surrogate.curve.restrict_to_line`, ends
just beyond the box with no kink between them and it, the secant), for every bundled model over
random boxes and disturbances."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.curves import SurrogateCurves
from optimizer.cycle import CURVE_MARGIN_FRACTION, _beyond_box, _cut_to_box
from optimizer.site import load_site
from surrogate.curve import restrict_to_line
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]
SITE = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
CURVES = SurrogateCurves(SITE, load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins"))
NAMES = sorted(CURVES.slots)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NAMES), u=st.floats(0.0, 1.0), w=st.floats(0.0, 1.0), p=st.floats(0.0, 1.0),
       amb=st.floats(15.0, 40.0), fouling=st.floats(0.0, 4000.0))
def test_one_pass_curve_equals_the_general_path(name, u, w, p, amb, fouling):
    slot, net = CURVES.slots[name], CURVES.models[name].network
    dom_lo, dom_hi = CURVES.domain(name)[slot.x_tag]
    lo = dom_lo + u * (dom_hi - dom_lo)
    hi = min(dom_hi, lo + w * 0.3 * (dom_hi - dom_lo))
    pl, ph = lo + p * (hi - lo) * 0.5, hi
    dist = {"ambient_temp_c": amb, "GT1.fouling_hours": fouling, "GT2.fouling_hours": fouling,
            "MP_C3_SPLITTER.feed_tph": 12.0 + 9.0 * (amb - 15.0) / 25.0}  # the column's feed over its 12-21 t/h range
    margin = CURVE_MARGIN_FRACTION * max(abs(hi), abs(lo), 1.0)
    (bx, by), later = CURVES.box_curve_deferred(name, lo, hi, margin, pl, ph, dist)
    ends, (sx, sy) = later()
    # the general path
    xs, ys = CURVES.breakpoints(name, lo - margin, hi + margin, dist)
    wx, wy = _beyond_box(xs, ys, lo, hi)
    cx, cy = _cut_to_box(wx, wy, lo, hi)
    exact = restrict_to_line(net, slot.x_tag, {t: dist[t] for t in slot.disturbance_tags}, lo, hi) if hi > lo else None
    np.testing.assert_allclose(bx, cx, rtol=0, atol=1e-9 * max(1.0, abs(hi)))
    np.testing.assert_allclose(by, cy, rtol=1e-12, atol=1e-9)
    if exact is not None:  # same breakpoints as restricting the network to the box itself
        np.testing.assert_allclose(bx, exact.x, rtol=0, atol=1e-9 * max(1.0, abs(hi)))
        np.testing.assert_allclose(by, exact.y, rtol=1e-12, atol=1e-9)
    assert ends[0] < lo and ends[2] > hi and lo - ends[0] <= margin + 1e-12 and ends[2] - hi <= margin + 1e-12
    np.testing.assert_allclose(ends, (wx[0], wy[0], wx[-1], wy[-1]), rtol=1e-12, atol=1e-9)
    # every value is the network itself
    for x, y in ((ends[0], ends[1]), (ends[2], ends[3]), *zip(bx, by), *zip(sx, sy)):
        assert abs(CURVES.evaluate(name, float(x), dist) - y) <= 1e-9 * max(1.0, abs(y))
    np.testing.assert_allclose(sx, [pl] if ph <= pl else [pl, ph])
