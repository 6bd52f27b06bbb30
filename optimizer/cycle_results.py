"""What a solution says, read back for the proposal (part of
:class:`optimizer.supervisor.Supervisor`).

Curve verification: every learned curve evaluated by its provider (onnxruntime for surrogates) at
the proposed point against the embedded value, and the training-domain warnings; the predicted
KPIs (the KPI expressions compiled once into affine functions of the HiGHS columns); the
setpoints (a plan of HiGHS columns made once), the hold's setpoints as read; the shortfall,
surplus, fuel-short and mixing columns; the followed schedule's advice. The methods are
:class:`ResultsMixin`'s, which Supervisor inherits.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from pyomo.repn import generate_standard_repn

from optimizer import tags
from optimizer.cycle import CycleData
from optimizer.formulation import on_var, x_var, y_var
from optimizer.lp_arrays import affine_terms
from optimizer.snapshot import ValidatedSnapshot


class ResultsMixin:
    """Supervisor's read-back of a solution: curve checks, KPIs, setpoints, advice."""

    def _columns_of_results(self) -> tuple:
        """HiGHS columns of unserved[h], unplaced[h] and hot[i] (-1: a variable HiGHS does not hold)."""
        if self._result_cols is None:
            m, col = self._model, self._solver._col  # noqa: SLF001
            self._result_cols = ([(h, col.get(id(m.unserved[h]), -1)) for h in m.H], [(h, col.get(id(m.unplaced[h]), -1)) for h in m.H],
                                 [(i, col.get(id(m.hot[i]), -1)) for i in m.hot])
        return self._result_cols

    def _fuel_short(self, x: np.ndarray) -> dict[str, float]:
        """GJ/h each fuel header cannot get at solution ``x`` (above 1e-6)."""
        m, col = self._model, self._solver._col  # noqa: SLF001
        cols = [(h, col.get(id(m.fh_unserved[h]), -1)) for h in m.FH]
        return {h: float(x[c]) for h, c in cols if c >= 0 and x[c] > 1e-6}

    def _remember_hot(self, x: np.ndarray) -> None:
        self._last_hot = {i: round(float(x[c])) if c >= 0 else 0 for i, c in self._columns_of_results()[2]}

    def _prepare_verify(self, c: "CycleData") -> tuple[list, object]:
        """What checking a proposal needs, made while the optimisation runs: per learned curve, the
        HiGHS columns of the unit's on/off, decision and output and the domain checks (a
        disturbance's message now, the decision's bounds for later), in the domain's order; and
        the provider's evaluator at the cycle's disturbances: every curve in one call where the
        provider offers it (:meth:`SurrogateCurves.line_evaluator`), else one per curve."""
        m = self._model
        if self._verify_cols is None:
            col = self._solver.column
            self._verify_cols = {name: (col(on_var(m, s)), col(x_var(m, s)), col(y_var(m, s))) for name, s in self.curves.slots.items()}
        line = getattr(self.curves, "line_evaluator", None)
        evaluate_all = line(c.disturbances) if line is not None else None
        make = getattr(self.curves, "point_evaluator", None)
        out = []
        for name, slot in self.curves.slots.items():
            if evaluate_all is not None:
                f = None
            elif make is not None:
                f = make(name, c.disturbances)
            else:
                f = (lambda name: lambda x: self.curves.evaluate(name, x, c.disturbances))(name)
            checks = []
            for tag, (lo, hi) in self._domains[name].items():
                if tag == slot.x_tag:
                    checks.append((tag, lo, hi))
                else:
                    v = c.disturbances.get(tag)
                    if v is not None and not (lo - 1e-9 <= v <= hi + 1e-9):
                        checks.append(f"{name}: {tag} = {v:.4g} outside the training domain [{lo:.4g}, {hi:.4g}]")
            out.append((name, self._verify_cols[name], f, checks))
        return out, evaluate_all

    def _verify_curves(self, c: "CycleData", prepared: tuple[list, object] | None = None,
                       x: np.ndarray | None = None) -> tuple[dict[str, float], list[str]]:
        """Every running unit's learned curves evaluated by their provider (onnxruntime for
        surrogates) at solution ``x`` (default: the loaded one), against the embedded values;
        training-domain warnings."""
        if x is None:
            x = self._solver.solution()
        per_curve, evaluate_all = prepared if prepared is not None else self._prepare_verify(c)
        served = evaluate_all([float(x[c_x]) for _, (_, c_x, _), _, _ in per_curve]) if evaluate_all is not None else None
        agreement, domain = {}, []
        for i, (name, (c_on, c_x, c_y), f, checks) in enumerate(per_curve):
            if x[c_on] < 0.5:
                continue
            xv, y_model = float(x[c_x]), float(x[c_y])
            y_served = float(served[i]) if served is not None else f(xv)
            agreement[name] = abs(y_model - y_served) / max(abs(y_served), 1e-9)
            for chk in checks:
                if isinstance(chk, str):
                    domain.append(chk)
                elif not (chk[1] - 1e-9 <= xv <= chk[2] + 1e-9):
                    domain.append(f"{name}: {chk[0]} = {xv:.4g} outside the training domain [{chk[1]:.4g}, {chk[2]:.4g}]")
        m = self._model
        # the two-decision networks, where their unit runs: onnxruntime at the solution's inputs
        # against the solution's output (TG3: power, extraction -> inlet flow; a lit duct: GT power,
        # duct fuel -> fired steam)
        col = self._solver.column
        checks = [(unit, m.t_on[t], {unit.power_tag: m.t_out[t], unit.extraction_tag: m.extr[t, 0]}, m.flow[t, 0])
                  for t, unit in self.ectg.items()]
        checks += [(unit, m.d_on[g], {unit.power_tag: m.g_power[g], unit.fuel_tag: m.d_fuel[g]}, m.d_steam[g])
                   for g, unit in self.ducts.items()]
        for unit, on, inputs, output in checks:
            if x[col(on)] < 0.5:
                continue
            point = {tag: float(x[col(var)]) for tag, var in inputs.items()}
            y_served = float(unit.model.evaluate(point)[0])
            agreement[unit.name] = abs(float(x[col(output)]) - y_served) / max(abs(y_served), 1e-9)
            d_lo, d_hi = unit.domain()
            for (tag, v), lo, hi in zip(point.items(), d_lo, d_hi):
                if not (lo - 1e-9 <= v <= hi + 1e-9):
                    domain.append(f"{unit.name}: {tag} = {v:.4g} outside the training domain [{lo:.4g}, {hi:.4g}]")
        return agreement, domain

    def curve_mismatches(self, agreement: Mapping[str, float]) -> dict[str, float]:
        """The curves whose relative disagreement with their provider exceeds what they may have:
        ``agreement_rtol`` for exact curves (surrogates, linear first-principles curves), the
        provider's ``tolerance(name)`` where larger (a linearised first-principles curve:
        :data:`optimizer.fp_curves.FP_LINEARISATION_RTOL`). An extraction-condensing generator's
        network (no curve of the provider: :mod:`optimizer.ectg`) is exact: ``agreement_rtol``."""
        tol = getattr(self.curves, "tolerance", None)
        rtol = self.config.agreement_rtol
        slots = self.curves.slots
        return {k: v for k, v in agreement.items() if v > (max(rtol, tol(k)) if tol is not None and k in slots else rtol)}

    def _kpis(self, x: np.ndarray | None = None) -> dict[str, float]:
        """Predicted KPIs at a solution vector (default: the loaded optimisation), from the KPI
        expressions compiled once into affine functions of the HiGHS columns."""
        if self._kpi_exprs is None:
            self._kpi_exprs = {k: _compile_affine(e, self._solver.column, self._solver.template.index)
                               for k, e in self._kpi_expressions().items()}
        if x is None:
            x = self._solver.solution()
        if self._kpi_coefs is None or self._kpi_coefs[0] != self._cycle_count:
            # coefficients hold prices (Params): evaluated once per cycle into one matrix over the
            # columns any KPI uses, then one product per solution
            if self._kpi_layout is None:
                used = np.unique(np.concatenate([cols for _, cols, _ in self._kpi_exprs.values()]))
                where = {int(c): i for i, c in enumerate(used)}
                base = np.zeros((len(self._kpi_exprs), used.size))
                mutable = []  # (kpi row, position, constant, Param terms) of the coefficients holding Params
                for i, (coefs, cols, _c0) in enumerate(self._kpi_exprs.values()):
                    for (c0, terms), col in zip(coefs, cols):
                        if terms:
                            mutable.append((i, where[int(col)], c0, list(terms.items())))
                        else:
                            base[i, where[int(col)]] += c0
                self._kpi_layout = (used, base, mutable)
            used, base, mutable = self._kpi_layout
            p = self._synced  # what the Params hold
            k_mat = base.copy()
            for i, j, c0, terms in mutable:
                k_mat[i, j] += c0 + sum(a * p[k] for k, a in terms)
            const = np.array([c0 + sum(a * p[k] for k, a in terms.items()) for _, _, (c0, terms) in self._kpi_exprs.values()])
            self._kpi_coefs = (self._cycle_count, k_mat, const)
        _, k_mat, const = self._kpi_coefs
        values = k_mat @ x[self._kpi_layout[0]] + const
        return dict(zip(self._kpi_exprs, values.tolist()))

    def _kpi_expressions(self) -> dict:
        m = self._model
        k = {f"fuel_{f}_gj_h": m.fuel[f] for f in m.F}
        # the fuel system (optimizer/fuel_system.py): each header's burnt and flared gas, each purchase's take
        k.update({f"fuel_header_{h}_gj_h": sum(m.fh_draw[h, u] for hh, u in m.FHU if hh == h) for h in m.FH})
        k.update({f"flare_{h}_gj_h": m.fh_flare[h] for h in m.FR})
        k.update({f"fuel_source_{s}_gj_h": m.fs_take[s] for s in m.FSP})
        k.update({
            "fuel_gj_h": sum(m.fuel[f] for f in m.F) + m.fs_burnt,
            "steam_generated_tph": m.steam_generated,
            "vent_tph": sum(m.vent[v] for v in m.V),
            "power_import_mw": m.imp, "power_export_mw": m.exp,
            "co2e_scope1_t_h": m.co2_scope1, "co2e_scope2_t_h": m.co2_scope2, "co2e_t_h": m.co2,
            "fuel_cost_per_h": m.fuel_cost, "electricity_cost_per_h": m.electricity_cost,
            "carbon_cost_per_h": m.carbon_cost, "penalty_cost_per_h": m.penalty_cost,
            "cost_per_h": m.cost,
        })
        return k

    def _setpoints(self, x: np.ndarray | None = None) -> dict[str, float]:
        """The proposal's setpoints at solution ``x`` (default: the loaded optimisation), read
        through a plan of (tag, rule, HiGHS columns) made once from the model. Binaries within
        HiGHS's integrality tolerance are rounded; a unit that is off gets 0."""
        if self._setpoint_plan is None:
            self._setpoint_plan = self._make_setpoint_plan()
        v = (self._solver.solution() if x is None else x).tolist()
        v.append(0.0)  # the column -1 of a variable HiGHS does not hold: 0 (as Pyomo's unset value)
        sp: dict[str, float] = {}
        for tag, rule, a, b in self._setpoint_plan:
            if rule == "value":
                sp[tag] = v[a]
            elif rule == "if_on":
                sp[tag] = v[a] if round(v[b]) else 0.0
            elif rule == "on":
                sp[tag] = round(v[a])
            elif rule == "off":
                sp[tag] = 1 - round(v[a])
            elif isinstance(rule, tuple):  # ("blend", idle share): a burner's draw a over the sum of its draws b (a list)
                total = sum(v[j] for j in b)
                sp[tag] = v[a] / total if total > 0 else rule[1]
            else:  # "share" of fuel column a in total column b; rule holds the share of an idle boiler
                total = v[b]
                sp[tag] = v[a] / total if total > 0 else rule
        return sp

    def _make_setpoint_plan(self) -> list[tuple]:
        m, site = self._model, self.site
        col = self._solver._col  # noqa: SLF001

        def c(var) -> int:
            return col.get(id(var), -1)

        plan: list[tuple] = []
        for b in m.B:
            plan.append((tags.boiler_steam(b), "if_on", c(m.b_steam[b]), c(m.b_on[b])))
            plan.append((f"{b}.on", "on", c(m.b_on[b]), None))
        fs = site.fuel_system
        for b in m.B:
            fuels = site.boilers[b].fuels
            if len(fuels) > 1 and fs.burner_of(b) is None:
                for f in fuels:
                    plan.append((f"{b}.fuel_{f}_share", 1.0 if f == fuels[0] else 0.0, c(m.b_fuel_split[b, f]), c(m.b_fuel[b])))
        for u, bu in fs.burners.items():  # a burner's blend (optimizer/fuel_system.py); idle: all on its first header
            if len(bu.headers) > 1:
                draws = [c(m.fh_draw[h, u]) for h in bu.headers]
                for i, h in enumerate(bu.headers):
                    plan.append((tags.fuel_share(bu.unit, h, bu.duct), ("blend", 1.0 if i == 0 else 0.0), draws[i], draws))
        for g in m.G:
            plan.append((tags.gt_power(g), "if_on", c(m.g_power[g]), c(m.g_on[g])))
            if g in m.GD:
                plan.append((tags.duct_steam(g), "if_on", c(m.d_steam[g]), c(m.d_on[g])))
        for t in m.TG:
            plan.append((tags.turbine_power(t), "if_on", c(m.t_out[t]), c(m.t_on[t])))
            plan.append((f"{t}.on", "on", c(m.t_on[t]), None))
        plan += [(tags.extraction(t, k), "value", c(m.extr[t, k]), None) for t, k in m.TX]
        plan += [(tags.on_motor(t), "off", c(m.t_on[t]), None) for t in m.TMOT]
        plan += [(tags.steam(cf), "value", c(m.cdraw[cf]), None) for cf in m.CF]
        plan += [(tags.column_reflux(k), "value", c(m.reflux[k]), None) for k in m.COL]  # a steered column: its reflux
        plan += [(tags.steam(l), "value", c(m.ld[l]), None) for l in m.L]
        plan += [(tags.steam(vid), "value", c(m.vent[vid]), None) for vid in m.V]
        return plan

    def _plan_advice(self, ts: pd.Timestamp, hours: float = 4.0) -> list[str]:
        """The followed schedule's starts and stops within the next ``hours`` (their start-up
        begins from now on)."""
        sched = self.following
        if sched is None:
            return []
        until = ts + pd.Timedelta(hours=hours)
        out = []
        for line, when in zip(sched.advice, sched.advice_times):
            if ts <= pd.Timestamp(when) < until:
                out.append(line)
        return out

    def _hold_setpoints(self, values: Mapping[str, float], snap: ValidatedSnapshot | None = None) -> dict[str, float]:
        """The current setpoints as read (what holding means): this cycle's good readings (or their
        last good values). A unit reported unavailable gets none (a tripped unit's last reading is
        not a setpoint); a unit whose reading is unknown gets none."""
        m = self._model
        units = [(b, [tags.boiler_steam(b)]) for b in self.site.boilers]
        units += [(g, [tags.gt_power(g)] + ([tags.duct_steam(g)] if g in m.GD else [])) for g in self.site.gas_turbines]
        units += [(t, [tags.turbine_power(t)] if t in m.TG else []) for t in self.site.turbines]
        units += [(t, [tags.extraction(t, k)]) for t, k in m.TX]
        units += [(t, [tags.on_motor(t)]) for t in m.TMOT]
        units += [(k, [tags.column_reflux(k)]) for k in m.COL]
        out: dict[str, float] = {}
        for unit, keys in units:
            if values.get(tags.available(unit), 1.0) < 0.5 or (snap is not None and unit in snap.unknown_units):
                continue
            out.update({k: float(values[k]) for k in keys if k in values})
        return out


def _compile_affine(expr, column, index: dict[int, int]):
    """An expression linear in the variables as (coefficients, HiGHS columns, constant), each
    coefficient and the constant ``(c, {parameter position: slope})`` (affine in the Params:
    :func:`optimizer.lp_arrays.affine_terms`), evaluated against a parameter value vector."""
    repn = generate_standard_repn(expr, compute_values=False)
    if not repn.is_linear():
        raise ValueError(f"KPI expression is not linear: {expr}")
    coefs = [affine_terms(c, index) for c in repn.linear_coefs]
    cols = np.array([column(v) for v in repn.linear_vars], dtype=np.int64)
    return coefs, cols, affine_terms(repn.constant, index)
