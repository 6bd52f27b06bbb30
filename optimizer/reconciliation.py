"""Data reconciliation and gross-error detection on the steam headers' mass balances.

At fixed header conditions each header's mass balance is linear in the measured flow tags
(:func:`build_balances`): one row per header, ``A x = 0`` with in-flows positive and out-flows
negative. The columns are boiler steam, HRSG steam (``G.hrsg_steam_tph``), by-product steam,
consumer draws, turbine inlets (``T.inlet_tph``), extractions to headers (``T.extraction{k}_tph``),
the last section's exhaust when it goes to a header (``T.s{k}_flow_tph``), letdown steam
(``LD.steam_tph``: out of the inlet header, into the outlet header times ``1 + r`` with ``r``
the desuperheating water ratio), vents, deaerator steam (``deaerator.steam_tph``) and header
spray water (``H.spray_water_tph``).

:func:`reconcile` is the classical weighted least-squares reconciliation with the global
(chi-square) test and the measurement (maximum-power, normalised-adjustment) test, with serial
elimination of gross errors:

* measurement standard deviation ``sigma_i = rel_i |x_i| + abs`` from the site file's
  ``[measurements]`` (defaults ``rel`` 1 %, ``abs`` 0.1 t/h; per-tag ``rel`` in ``sigma_rel``),
  ``V = diag(sigma^2)``;
* unmeasured tags (absent, NaN or inf, or eliminated as gross errors) are projected out of the
  constraints (Crowe's projection, the exact limit of giving them an infinite variance):
  ``B = Q^T A_m`` with ``Q`` an orthonormal basis of the left null space of ``A_u``;
* ``x_hat = x - V B^T (B V B^T)^+ B x``; the unmeasured flows that are observable follow from
  the balances, the others are reported ``NaN``;
* global test: ``gamma = r^T (B V B^T)^+ r`` with ``r = B x``, chi-square with ``rank(B)``
  degrees of freedom;
* measurement test: ``z_i = |a_i| / sqrt(W_ii)``, ``W = V B^T (B V B^T)^+ B V``; critical value
  the Bonferroni-corrected two-sided normal quantile ``Phi^-1(1 - alpha / (2 n))`` over the ``n``
  testable (redundant) measurements;
* while the global test fails, the tag with the largest ``z`` above the critical value is taken
  out (treated as unmeasured) and named as a gross error; its bias is estimated at the end as
  ``measured - reconciled`` with the tag unmeasured.

Tags that share all their balances (e.g. two boilers on the same header and nothing else) have
identical ``z``: a gross error in one cannot be told from one in the other. Such ties are
reported in :attr:`GrossError.equivalent`; the named tag is then a representative, not a finding.

Bad numbers never raise: non-finite measurements are treated as unmeasured and listed in
``invalid``; a numerical failure gives ``status = "error"`` with the message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from optimizer import tags as T
from optimizer.site.model import Site
from optimizer.site.properties import SiteProperties, compute_properties

_RANK_TOL = 1e-10
_TIE_TOL = 1e-6


# --------------------------------------------------------------------------- balances


@dataclass(frozen=True)
class MassBalances:
    """Header mass balances ``matrix @ x = 0`` over ``tags`` (t/h); one row per header in ``headers``."""

    headers: list[str]
    tags: list[str]
    matrix: np.ndarray

    def residuals(self, values: dict[str, float]) -> dict[str, float]:
        """In - out per header, t/h, for the given tag values (missing tags count as NaN)."""
        x = np.array([float(values.get(t, math.nan)) for t in self.tags])
        r = self.matrix @ np.where(np.isfinite(x), x, 0.0)
        bad = self.matrix[:, ~np.isfinite(x)] != 0
        r[bad.any(axis=1)] = math.nan
        return dict(zip(self.headers, r.tolist()))


def build_balances(site: Site, props: SiteProperties | None = None) -> MassBalances:
    """The linear mass balances of the site's headers in terms of measured flow tags."""
    props = props or compute_properties(site)
    headers = list(site.headers)
    row = {h: i for i, h in enumerate(headers)}
    entries: dict[str, dict[int, float]] = {}

    def add(tag: str, header: str, coef: float) -> None:
        col = entries.setdefault(tag, {})
        col[row[header]] = col.get(row[header], 0.0) + coef

    for b in site.boilers.values():
        add(T.boiler_steam(b.id), b.header, 1.0)
    for g in site.gas_turbines.values():
        if g.hrsg is not None:
            add(f"{g.id}.hrsg_steam_tph", g.hrsg.header, 1.0)
    for s in site.byproduct_sources.values():
        add(T.steam(s.id), s.header, 1.0)
    for c in site.consumers.values():
        add(T.steam(c.id), c.header, -1.0)
    for t in site.turbines.values():
        add(T.turbine_inlet(t.id), t.inlet, -1.0)
        last = len(t.sections) - 1
        for k, sec in enumerate(t.sections):
            if sec.outlet not in site.headers:
                continue  # condenser
            add(T.extraction(t.id, k) if k < last else f"{t.id}.s{k}_flow_tph", sec.outlet, 1.0)
    for ld in site.letdowns.values():
        add(T.steam(ld.id), ld.inlet, -1.0)
        add(T.steam(ld.id), ld.outlet, 1.0 + props.letdown_water_ratio[ld.id])
    for v in site.vents.values():
        add(T.steam(v.id), v.header, -1.0)
    add("deaerator.steam_tph", props.deaerator_steam_header, -1.0)
    for h in headers:
        add(f"{h}.spray_water_tph", h, 1.0)

    tags = list(entries)
    a = np.zeros((len(headers), len(tags)))
    for j, tag in enumerate(tags):
        for i, coef in entries[tag].items():
            a[i, j] = coef
    return MassBalances(headers, tags, a)


# --------------------------------------------------------------------------- result


@dataclass
class GrossError:
    """A measurement named as a gross error by serial elimination."""

    tag: str
    z: float  # normalised adjustment when it was named
    critical_z: float
    measured: float
    bias_tph: float  # measured - estimate from the balances with the tag unmeasured (NaN: unobservable)
    equivalent: list[str] = field(default_factory=list)  # tags with the same z: indistinguishable from this one

    @property
    def ambiguous(self) -> bool:
        return len(self.equivalent) > 1


@dataclass
class ReconciliationResult:
    """Outcome of :func:`reconcile`. ``status`` is one of

    * ``"ok"``: the global test passes on the measurements as they are;
    * ``"gross_errors"``: it passes after removing the tags in ``gross_errors``;
    * ``"failed"``: it still fails and no single measurement can be named (or none is left);
    * ``"not_redundant"``: no balance is left to test (zero degrees of freedom);
    * ``"error"``: a numerical failure (see ``messages``); values are the raw measurements.
    """

    status: str
    alpha: float
    reconciled: dict[str, float]
    measured: dict[str, float]
    adjustments: dict[str, float]  # reconciled - measured, measured tags in the final run
    sigma: dict[str, float]
    z: dict[str, float]  # final normalised adjustments (NaN: not redundant, not testable)
    critical_z: float
    chi2_before: float
    dof_before: int
    p_before: float
    chi2_after: float
    dof_after: int
    p_after: float
    gross_errors: list[GrossError]
    unmeasured: list[str]  # balance tags absent from the values
    invalid: list[str]  # balance tags with NaN / inf values
    unobservable: list[str]  # unmeasured (or eliminated) tags the balances cannot determine
    residuals_before: dict[str, float]  # header in - out, t/h, raw (NaN where a tag is unmeasured)
    residuals_after: dict[str, float]  # same, reconciled
    messages: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """The final global test passes (or there was nothing to test)."""
        return self.status in ("ok", "gross_errors", "not_redundant")

    def summary(self) -> str:
        head = (f"reconciliation: {self.status}; chi2 {self.chi2_before:.2f} (dof {self.dof_before}, p {self.p_before:.3g})"
                f" -> {self.chi2_after:.2f} (dof {self.dof_after}, p {self.p_after:.3g})")
        lines = [head]
        for g in self.gross_errors:
            eq = f" (indistinguishable from {', '.join(t for t in g.equivalent if t != g.tag)})" if g.ambiguous else ""
            lines.append(f"  gross error {g.tag}: z {g.z:.2f} > {g.critical_z:.2f}, bias {g.bias_tph:+.2f} t/h{eq}")
        if self.invalid:
            lines.append(f"  invalid (treated as unmeasured): {', '.join(self.invalid)}")
        if self.unobservable:
            lines.append(f"  unobservable: {', '.join(self.unobservable)}")
        lines.extend(f"  {m}" for m in self.messages)
        return "\n".join(lines)


# --------------------------------------------------------------------------- core


@dataclass
class _Run:
    x_hat: np.ndarray  # all balance tags; unobservable unmeasured NaN
    z: np.ndarray  # NaN for unmeasured / non-redundant
    chi2: float
    dof: int
    testable: np.ndarray  # bool


def _null_left(a: np.ndarray) -> np.ndarray:
    """Orthonormal basis (columns) of the left null space of ``a`` (rows x k)."""
    m = a.shape[0]
    if a.shape[1] == 0:
        return np.eye(m)
    u, s, _ = np.linalg.svd(a, full_matrices=True)
    rank = int((s > _RANK_TOL * max(1.0, s.max(initial=0.0))).sum())
    return u[:, rank:]


def _run(a: np.ndarray, x: np.ndarray, sigma: np.ndarray, measured: np.ndarray) -> _Run:
    """One weighted least-squares reconciliation with the unmeasured columns projected out."""
    n = a.shape[1]
    a_m, a_u = a[:, measured], a[:, ~measured]
    q = _null_left(a_u)
    b = q.T @ a_m  # reduced constraints on the measured tags
    xm, sm = x[measured], sigma[measured]
    # whitened: y = x / sigma, C = B diag(sigma); projection onto the row space of C
    c = b * sm[None, :]
    if c.size:
        _, s, vt = np.linalg.svd(c, full_matrices=False)
        rank = int((s > _RANK_TOL * max(1.0, s.max(initial=0.0))).sum())
        vr = vt[:rank]
    else:
        rank, vr = 0, np.zeros((0, len(xm)))
    y = xm / sm
    py = vr.T @ (vr @ y)
    p_diag = (vr**2).sum(axis=0)
    xm_hat = xm - sm * py
    testable_m = p_diag > 1e-9
    z_m = np.full(len(xm), math.nan)
    z_m[testable_m] = np.abs(py[testable_m]) / np.sqrt(p_diag[testable_m])

    x_hat = np.full(n, math.nan)
    x_hat[measured] = xm_hat
    z = np.full(n, math.nan)
    z[measured] = z_m
    testable = np.zeros(n, dtype=bool)
    testable[measured] = testable_m
    if a_u.shape[1]:
        rhs = -(a_m @ xm_hat)
        xu, *_ = np.linalg.lstsq(a_u, rhs, rcond=None)
        _, s_u, vt_u = np.linalg.svd(a_u, full_matrices=True)
        rank_u = int((s_u > _RANK_TOL * max(1.0, s_u.max(initial=0.0))).sum())
        null = vt_u[rank_u:]  # directions of the unmeasured flows the balances do not fix
        observable = np.sqrt((null**2).sum(axis=0)) < 1e-8 if null.size else np.ones(a_u.shape[1], dtype=bool)
        x_hat[~measured] = np.where(observable, xu, math.nan)
    return _Run(x_hat, z, float(py @ py), rank, testable)


def _sigma(tags: list[str], x: np.ndarray, sigma_rel: dict[str, float] | None, default_rel: float, sigma_abs: float,
           messages: list[str]) -> np.ndarray:
    out = np.empty(len(tags))
    for j, t in enumerate(tags):
        rel = default_rel
        if sigma_rel and t in sigma_rel:
            try:
                v = float(sigma_rel[t])
            except (TypeError, ValueError):
                v = math.nan
            if math.isfinite(v) and v >= 0:
                rel = v
            else:
                messages.append(f"{t}: sigma_rel {sigma_rel[t]!r} not a non-negative number; default {default_rel} used")
        xv = x[j] if math.isfinite(x[j]) else 0.0
        out[j] = rel * abs(xv) + sigma_abs
    return out


def _p_value(chi2: float, dof: int) -> float:
    return float(stats.chi2.sf(chi2, dof)) if dof > 0 else math.nan


def reconcile(
    values: dict[str, float],
    site: Site,
    props: SiteProperties | None = None,
    sigma_rel: dict[str, float] | None = None,
    alpha: float = 0.05,
    *,
    default_sigma_rel: float | None = None,
    sigma_abs_tph: float | None = None,
    max_eliminations: int | None = None,
    balances: MassBalances | None = None,
) -> ReconciliationResult:
    """Reconcile the header mass balances and name gross errors (see the module docstring).

    ``values`` may hold any tags; only the balance tags are used. ``sigma_rel`` overrides the
    relative standard deviation per tag. ``balances`` may be passed to skip rebuilding them.
    The uncertainties not given here come from the site file's ``[measurements]``
    (:class:`optimizer.site.model.Measurements`).
    """
    messages: list[str] = []
    meas = site.measurements
    sigma_rel = meas.sigma_rel if sigma_rel is None else sigma_rel
    default_sigma_rel = meas.default_sigma_rel if default_sigma_rel is None else default_sigma_rel
    sigma_abs_tph = meas.sigma_abs_tph if sigma_abs_tph is None else sigma_abs_tph
    bal = balances or build_balances(site, props)
    tags, a = bal.tags, bal.matrix
    raw = np.empty(len(tags))
    unmeasured, invalid = [], []
    for j, t in enumerate(tags):
        if t not in values:
            raw[j] = math.nan
            unmeasured.append(t)
            continue
        try:
            raw[j] = float(values[t])
        except (TypeError, ValueError):
            raw[j] = math.nan
        if not math.isfinite(raw[j]):
            invalid.append(t)
            raw[j] = math.nan
    measured_dict = {t: float(raw[j]) for j, t in enumerate(tags) if math.isfinite(raw[j])}
    sigma = _sigma(tags, raw, sigma_rel, default_sigma_rel, sigma_abs_tph, messages)
    measured = np.isfinite(raw)
    x = np.where(measured, raw, 0.0)
    if not (0.0 < alpha < 1.0):
        messages.append(f"alpha {alpha!r} outside (0, 1); 0.05 used")
        alpha = 0.05
    res_before = bal.residuals(measured_dict)

    def fail(msg: str) -> ReconciliationResult:
        messages.append(msg)
        return ReconciliationResult(
            "error", alpha, dict(measured_dict), dict(measured_dict), {t: 0.0 for t in measured_dict},
            dict(zip(tags, sigma.tolist())), {t: math.nan for t in tags}, math.nan, math.nan, 0, math.nan,
            math.nan, 0, math.nan, [], unmeasured, invalid, [], res_before, res_before, messages)

    try:
        first = _run(a, x, sigma, measured)
        run = first
        eliminated: list[tuple[int, float, float, list[int]]] = []  # (col, z, zcrit, equivalent cols)
        z_crit = math.nan
        limit = len(tags) if max_eliminations is None else max(0, int(max_eliminations))
        status = "ok"
        while True:
            n_test = int(run.testable.sum())
            z_crit = float(stats.norm.ppf(1.0 - alpha / (2 * max(1, n_test))))
            if run.dof == 0:
                status = "not_redundant" if not eliminated else "gross_errors"
                break
            if _p_value(run.chi2, run.dof) >= alpha:
                status = "gross_errors" if eliminated else "ok"
                break
            if len(eliminated) >= limit:
                status = "failed"
                messages.append(f"global test still fails after {len(eliminated)} eliminations (limit)")
                break
            zt = np.where(run.testable, run.z, -math.inf)
            j = int(np.argmax(zt))
            if not math.isfinite(zt[j]) or zt[j] <= z_crit:
                status = "failed"
                messages.append(f"global test fails but no measurement's z exceeds {z_crit:.2f} (largest {zt[j]:.2f})")
                break
            ties = [k for k in np.flatnonzero(run.testable) if abs(run.z[k] - zt[j]) <= _TIE_TOL * zt[j]]
            # among indistinguishable tags, name the one with the largest adjustment (it absorbs most)
            j = max(ties, key=lambda k: abs(run.x_hat[k] - x[k]))
            eliminated.append((j, float(run.z[j]), z_crit, ties))
            measured = measured.copy()
            measured[j] = False
            run = _run(a, x, sigma, measured)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:  # pragma: no cover - defensive
        return fail(f"numerical failure: {exc}")

    x_hat = run.x_hat
    reconciled = {t: float(x_hat[j]) for j, t in enumerate(tags) if math.isfinite(x_hat[j])}
    unobservable = [t for j, t in enumerate(tags) if not math.isfinite(x_hat[j])]
    gross = []
    for j, zj, zc, ties in eliminated:
        est = x_hat[j]
        gross.append(GrossError(tags[j], zj, zc, float(raw[j]), float(raw[j] - est) if math.isfinite(est) else math.nan,
                                [tags[k] for k in ties]))
        if len(ties) > 1:
            messages.append(f"{tags[j]}: gross error indistinguishable (same z) from {', '.join(tags[k] for k in ties if k != j)}")
    adjustments = {t: float(x_hat[j] - raw[j]) for j, t in enumerate(tags) if measured[j]}
    res_after = bal.residuals(reconciled)
    return ReconciliationResult(
        status=status, alpha=alpha, reconciled=reconciled, measured=measured_dict, adjustments=adjustments,
        sigma=dict(zip(tags, sigma.tolist())), z=dict(zip(tags, run.z.tolist())), critical_z=z_crit,
        chi2_before=first.chi2, dof_before=first.dof, p_before=_p_value(first.chi2, first.dof),
        chi2_after=run.chi2, dof_after=run.dof, p_after=_p_value(run.chi2, run.dof),
        gross_errors=gross, unmeasured=unmeasured, invalid=invalid, unobservable=unobservable,
        residuals_before=res_before, residuals_after=res_after, messages=messages,
    )
