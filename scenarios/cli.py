"""The ``steamopt`` command line: a thin layer over the library.

    steamopt simulate --site SITE.toml --hours N --step-min M --seed S --out DIR [--policy campaign]
    steamopt surrogate train --site SITE.toml --data HISTORIAN --out DIR
    steamopt surrogate stamp --site SITE.toml --models DIR
    steamopt surrogate retrain --site SITE.toml --models DIR --data HISTORIAN --out NEWDIR [--holdout 0.25]
    steamopt surrogate drift --site SITE.toml --models DIR --data HISTORIAN
    steamopt step --site SITE.toml --models DIR|none --snapshot SNAPSHOT.json [--explain]
    steamopt plan --site SITE.toml --models DIR|none --snapshot SNAPSHOT.json [--forecast CSV | --forecasters DIR|none] [--history HISTORIAN]
                  [--hours 24] [--period-min 60] [--gap 1e-4] [--time-budget S] [--explain] [--json OUT]
    steamopt replay --site SITE.toml --models DIR --log AUDIT.jsonl [--line N]
    steamopt study SCENARIO.toml --out DIR
    steamopt sweep SCENARIO.toml --set carbon_price=0,500,1000 --out DIR [--scheduler ADDRESS]
    steamopt historian replay --site SITE.toml --models DIR --data HISTORIAN --out DIR [--limit N]
    steamopt site check SITE.toml
    steamopt site attributes
    steamopt opcua run --site SITE.toml --models DIR --config ADAPTER.toml [--cycles N]
    steamopt serve --site SITE.toml --models DIR [--config SERVICE.toml] [--host 127.0.0.1] [--port 8080]
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

import pandas as pd

from optimizer.site import SiteError, load_site
from surrogate.atomic import atomic_output

log = logging.getLogger("steamopt")


def _cmd_simulate(args: argparse.Namespace) -> int:
    from scenarios.plant.historian import SensorNoise, kpi_summary, own_stream_units, run_policy, write_historian
    from scenarios.plant.practice import todays_practice
    from scenarios.plant.profiles import ProfileConfig, generate_disturbances
    from scenarios.plant.simulator import PlantSimulator

    t0 = time.perf_counter()
    site = load_site(args.site)
    config = ProfileConfig(start=pd.Timestamp(args.start), hours=args.hours, step_min=args.step_min, seed=args.seed)
    disturbances = generate_disturbances(site, config)
    simulator = PlantSimulator(site)
    policy = todays_practice
    if args.policy == "campaign":
        from scenarios.plant.campaign import CampaignConfig, IdentificationCampaign

        policy = IdentificationCampaign(site, [d.timestamp for d in disturbances],
                                        CampaignConfig(seed=args.seed, step_units=tuple(args.step_units or ())))
        disturbances = policy.with_washes(disturbances)
    truth, states = run_policy(simulator, policy, disturbances, progress=_progress(args))
    noise = SensorNoise(relative_std=args.noise, seed=args.seed, own_stream_units=own_stream_units(site))
    historian = noise.apply(truth) if args.noise > 0 else truth
    out = Path(args.out)
    paths = write_historian(historian, out)
    summary = kpi_summary(truth, args.step_min / 60.0, site.currency)
    with atomic_output(out / "kpi_summary.csv") as tmp:
        summary.to_csv(tmp)
    n_notes = sum(len(s.notes) for s in states)
    what = "today's practice" if args.policy == "practice" else "an identification campaign"
    print(f"site {site.name}: {len(disturbances)} steps of {args.step_min:g} min under {what} "
          f"({time.perf_counter() - t0:.1f} s)")
    with pd.option_context("display.float_format", "{:,.1f}".format, "display.width", 120):
        print(summary.to_string())
    print(f"historian: {paths['parquet']} and {paths['csv']} ({historian.shape[1]} tags; units in {paths['units']})")
    if n_notes:
        print(f"{n_notes} operating notes (steps where setpoints could not be met); see the log with -v")
    return 0


def _cmd_surrogate_train(args: argparse.Namespace) -> int:
    from scenarios.training import read_historian, train_site_models
    from surrogate.train import TrainingConfig

    t0 = time.perf_counter()
    site = load_site(args.site)
    frame = read_historian(args.data)
    config = TrainingConfig(seeds=tuple(range(args.seed, args.seed + 2)))
    unit_frames = {}
    for item in args.unit_data or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"--unit-data {item!r}: expected NAME=HISTORIAN (e.g. TG3_steam=out/training_TG3/historian.parquet)")
        unit_frames[name] = read_historian(path)
    rows = train_site_models(site, frame, args.out, config, progress=_progress(args), min_coverage=args.min_coverage,
                             unit_frames=unit_frames)
    from surrogate.report import markdown_table

    print(f"trained {len(rows)} models for {site.name} from {len(frame)} rows ({time.perf_counter() - t0:.1f} s)")
    print(markdown_table(rows))
    print(f"models, manifest.toml and accuracy.json/.md in {args.out}")
    return 0


def _cmd_surrogate_stamp(args: argparse.Namespace) -> int:
    """Record the site in an existing model directory's manifest (the model files are not touched)."""
    from optimizer.model_site import site_hash, stamp_model_dir

    site = load_site(args.site)
    path = stamp_model_dir(site, args.models)
    print(f"{path}: records site {site.name} (hash {site_hash(site)[:12]}) and what each model depends on")
    return 0


def _cmd_surrogate_retrain(args: argparse.Namespace) -> int:
    """Exit 0: a new model directory was written; 1: no model improved, nothing written."""
    from scenarios.retrain import comparison_markdown, retrain
    from scenarios.training import read_historian
    from surrogate.train import TrainingConfig

    t0 = time.perf_counter()
    site = load_site(args.site)
    frame = read_historian(args.data)
    table = retrain(site, args.models, frame, args.out, args.holdout, config=TrainingConfig(seeds=tuple(range(args.seed, args.seed + 2))),
                    window_hours=args.window_hours, min_improvement=args.min_improvement, only=args.only)
    print(f"retrained against {args.models} on {len(frame)} rows ({time.perf_counter() - t0:.1f} s)")
    print(comparison_markdown(table))
    if table.attrs["written"]:
        print(f"wrote {table.attrs['out_dir']}: {table.attrs['reason']} (see retrain.md there)")
        return 0
    print(table.attrs["reason"])
    return 1


def _cmd_surrogate_drift(args: argparse.Namespace) -> int:
    """Exit 0: every model inside its validated band; 1: some model flagged."""
    from scenarios.training import read_historian
    from surrogate.drift import DriftConfig, DriftMonitor

    load_site(args.site)  # a bad site file is reported like everywhere else
    monitor = DriftMonitor.from_model_dir(args.models, DriftConfig(window=args.window, min_observations=min(args.window, 32)))
    monitor.observe_frame(read_historian(args.data))
    cols = ["output", "n", "mape_pct", "bias_pct", "max_ape_pct", "validated_mape_pct", "band_mape_pct", "flagged", "used",
            "out_of_domain", "not_steady", "missing", "first_flagged_at"]
    with pd.option_context("display.float_format", "{:,.3f}".format, "display.width", 200, "display.max_columns", 20):
        print(monitor.status()[cols].to_string())
    flagged = monitor.flagged()
    print(f"flagged: {', '.join(flagged) if flagged else 'none'}")
    return 1 if flagged else 0


#: Largest snapshot file ``steamopt step`` reads, bytes (a snapshot is one value per tag).
MAX_SNAPSHOT_BYTES = 10_000_000


def _cmd_forecast_train(args: argparse.Namespace) -> int:
    from scenarios.forecasting import DEFAULT_SITE, train_site_forecasters
    from scenarios.training import read_historian
    from surrogate.forecast import accuracy_markdown

    t0 = time.perf_counter()
    site = load_site(args.site or DEFAULT_SITE)
    frame = read_historian(args.data)
    trained = train_site_forecasters(site, frame, args.out, period_min=args.period_min, horizon_h=args.hours, test_days=args.test_days)
    print(f"trained {len(trained)} forecasters for {site.name} from {len(frame)} rows ({time.perf_counter() - t0:.1f} s); wrote {args.out}")
    print(f"test accuracy by lead (last {args.test_days:g} days; periods of {args.period_min:g} min):")
    print(accuracy_markdown(trained), end="")
    return 0


def _cmd_step(args: argparse.Namespace) -> int:
    """Exit 0 with the proposal printed; 2 if the site, models or snapshot file cannot be used."""
    from optimizer.model_site import load_models_for_site
    from optimizer.supervisor import Supervisor, SupervisorConfig
    from surrogate.safe_read import read_json_file

    # read first: a missing, oversized, deeply nested or non-JSON snapshot is one error line, exit 2
    snapshot = read_json_file(args.snapshot, MAX_SNAPSHOT_BYTES, what="snapshot")
    site = load_site(args.site)
    models = load_models_for_site(site, args.models)  # "none": every unit on first principles
    weights = parse_weights(args.weights) if args.objective == "weighted" else None
    config = SupervisorConfig(cycle_s=args.cycle_s, time_budget_s=args.budget_s, objective=args.objective)
    if weights is not None:
        config.weights = {"cost": 0.0, "co2e": 0.0, "steam": 0.0, **weights}
    supervisor = Supervisor(site, models, config)
    proposal = supervisor.step(snapshot)
    if args.explain:
        print(explain(proposal, snapshot))
    else:
        print(proposal.to_json(indent=1))
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    from scenarios.plan_command import run_plan

    return run_plan(args)


def explain(p, snapshot: dict | None = None) -> str:
    """The proposal for a person: KPIs current vs proposed (the proposed alone, and why, when the
    current point could not be evaluated), every setpoint current vs proposed (current: the
    snapshot's reading of the same tag, where it has one), the binding limits in plant words with
    their worth, warnings and substitutions."""
    lines = [f"status: {p.status}   timestamp: {p.timestamp}   total {p.stats.get('total_ms', float('nan')):.1f} ms"]
    if p.proposed_kpis:
        lines.append(f"{'KPI':28s} {'current':>14s} {'proposed':>14s} {'saving':>14s}")
        for k, v in p.proposed_kpis.items():
            c = p.current_kpis.get(k) if p.current_kpis else None
            cur, saving = ("n/a", "n/a") if c is None else (f"{c:,.2f}", f"{c - v:,.2f}")
            lines.append(f"{k:28s} {cur:>14s} {v:14,.2f} {saving:>14s}")
        if not p.current_kpis:
            why = [w for w in p.warnings if "current operating point" in w or "current point" in w]
            lines.append("no current KPIs or savings: " + (why[0] if why else "the current point was not evaluated (no reason recorded)"))
    lines.append(f"{'setpoint':28s} {'current':>12s} {'proposed':>12s}")
    for k, v in p.setpoints.items():
        c = (snapshot or {}).get(k)
        cur = f"{c:12.3f}" if isinstance(c, (int, float)) and not isinstance(c, bool) else f"{'-':>12s}"
        lines.append(f"  {k:26s} {cur} {v:12.3f}")
    if p.binding:
        lines.append("binding limits (worth of one more unit of each, per hour):")
        for b in p.binding:
            per = f" per {b['unit']}" if b.get("unit") else ""
            lines.append(f"  {b.get('description', b['limit']):58s} {b['worth_per_unit_per_h']:12,.1f} {b.get('currency', '')}/h{per}")
    for w in p.warnings + p.domain_warnings:
        lines.append(f"warning: {w}")
    for s in p.substitutions:
        lines.append(f"substituted: {s['tag']} = {s['value']!r} ({s['reason']}) -> {s['used']} ({s['source']})")
    return "\n".join(lines)


_STUDY_COLUMNS = ("cost", "co2e_t", "co2e_scope1_t", "co2e_scope2_t", "fuel_gj", "vented_t", "shortfall_t", "import_mwh",
                  "export_mwh", "violation_steps", "drift_flagged_steps", "step_ms_p50", "step_ms_p95",
                  "starts", "stops", "start_stop_cost", "cost_incl_starts")
_STUDY_PREFIXES = ("cost_saving_vs_", "co2e_saving_vs_", "uncredited_saving_vs_", "share_of_oracle_saving_vs_",
                   "predicted_saving_vs_", "realised_saving_vs_", "lookahead_", "share_of_perfect_foresight", "share_of_lookahead")


def headline(summary: pd.DataFrame, currency: str) -> list[str]:
    """One line per baseline: what steamopt and the oracle save against it, and steamopt's share."""
    lines = []
    for b in ("practice", "good_practice"):
        col = f"cost_saving_vs_{b}"
        if col not in summary:
            continue
        parts = [f"{p} {summary.loc[p, col]:,.0f} {currency} ({summary.loc[p, col + '_pct']:.2f} %)"
                 for p in ("steamopt", "oracle") if p in summary.index and pd.notna(summary.loc[p, col])]
        share = f"share_of_oracle_saving_vs_{b}_pct"
        if share in summary and "steamopt" in summary.index and pd.notna(summary.loc["steamopt", share]):
            parts.append(f"steamopt's share of the oracle's saving {summary.loc['steamopt', share]:.1f} %")
        if parts:
            lines.append(f"saving vs {b}: " + "; ".join(parts))
    return lines


def _cmd_study(args: argparse.Namespace) -> int:
    from scenarios.hydrogen_value import study_without_hydrogen
    from scenarios.study import run_study
    from scenarios.study_files import spec_from_scenario_file, write_study

    t0 = time.perf_counter()
    spec = spec_from_scenario_file(args.scenario, hours=args.hours, policies=args.policies)
    result = run_study(spec, progress=_progress(args))
    tables = {}
    h2 = study_without_hydrogen(args.scenario, result.summary, spec.policies, args.hours, spec.site.currency, _progress(args))
    if h2 is not None:  # what the hydrogen bought: the same study without it (scenarios/hydrogen_value.py)
        tables["hydrogen_value"] = (*h2, "Hydrogen: the CO2e cut and its cost")
    paths = write_study(result, spec, args.out, tables)
    cols = [c for c in result.summary.columns if c in _STUDY_COLUMNS or c.startswith(_STUDY_PREFIXES)]
    print(f"study {spec.name}: {len(spec.disturbances)} steps x {len(spec.policies)} policies in {time.perf_counter() - t0:.1f} s")
    with pd.option_context("display.float_format", "{:,.1f}".format, "display.width", 160, "display.max_columns", 20):
        print(result.summary[cols].T.to_string())
    for line in headline(result.summary, spec.site.currency):
        print(line)
    if h2 is not None:
        for policy, r in h2[0].iterrows():
            print(f"hydrogen, {policy}: {r['hydrogen_gj']:,.0f} GJ burnt, CO2e cut {r['co2e_cut_t']:,.2f} t for "
                  f"{r['extra_cost']:,.0f} {spec.site.currency}: {r['cost_per_t_co2e']:,.0f} {spec.site.currency}/t CO2e")
    if result.failures:
        print(f"{len(result.failures)} failed step(s), recorded in the steps table")
    print(f"report: {paths['report']}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from scenarios.report import write_sweep_report
    from scenarios.sweep import parse_sets, run_sweep, variants

    sets = parse_sets(args.set)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(variants(sets)), desc="sweep", unit="variant", disable=not _progress(args))
    table = run_sweep(args.scenario, sets, hours=args.hours, scheduler=args.scheduler, workers=args.workers,
                      on_done=lambda i, n: bar.update(1))
    bar.close()
    with atomic_output(out / "sweep.csv") as tmp:
        table.to_csv(tmp, index=False)
    print(f"{len(table)} rows ({len(variants(sets))} variants) in {out / 'sweep.csv'}")
    if len(sets) == 1:
        parameter = next(iter(sets))
        t = table.rename(columns={parameter: "parameter_value"})
        print(f"report: {write_sweep_report(t, out, parameter=parameter)}")
    with pd.option_context("display.float_format", "{:,.1f}".format, "display.width", 160):
        print(table[[c for c in ("variant", "policy", "cost", "co2e_t", "cost_saving_vs_practice") if c in table]].to_string(index=False))
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    """Exit 0: every complete record replayed exactly; 1: some differ. Lines that are not a whole
    record (torn by a crash) are reported and skipped; they do not stop the others."""
    from optimizer.audit import read_log_checked, replay
    from optimizer.model_site import load_models_for_site

    site = load_site(args.site)
    models = load_models_for_site(site, args.models)
    audit_log = read_log_checked(args.log)
    for n, size, reason in audit_log.skipped:
        print(f"warning: {args.log}:{n}: skipped ({size} bytes): {reason}", file=sys.stderr)
    if audit_log.torn_tail is not None:
        n, size = audit_log.torn_tail
        print(f"{args.log}: torn last line {n} ({size} bytes, no newline) skipped; replaying the {len(audit_log.records)} complete record(s)")
    records, numbers = audit_log.records, audit_log.line_numbers
    if not records:
        raise ValueError(f"{args.log}: no complete record to replay ({len(audit_log.skipped)} line(s) skipped)")
    if args.line is None:
        chosen = range(len(records))
    elif args.line in numbers:
        chosen = [numbers.index(args.line)]
    else:
        skipped = {n for n, _, _ in audit_log.skipped}
        why = "is not a complete record (see the warning above)" if args.line in skipped else "holds no record"
        raise ValueError(f"--line {args.line}: line {args.line} of {args.log} {why}; "
                         f"the log has {len(records)} record(s) on lines {numbers[0] if numbers else '-'}..{numbers[-1] if numbers else '-'}")
    failures = 0
    for i in chosen:
        proposal, diffs = replay(site, models, records[i])
        print(f"line {numbers[i]}: {(records[i].get('proposal') or {}).get('timestamp')} {proposal.status}: "
              f"{'reproduced exactly' if not diffs else f'{len(diffs)} difference(s)'}")
        for d in diffs[:10]:
            print(f"  {d}")
        failures += bool(diffs)
    return 1 if failures else 0


def _cmd_historian_replay(args: argparse.Namespace) -> int:
    from scenarios.adherence import AdherenceRules, adherence_report, summary_markdown, write_adherence
    from scenarios.historian_replay import replay_historian, write_replay
    from optimizer.model_site import load_models_for_site
    from scenarios.training import read_historian

    t0 = time.perf_counter()
    site = load_site(args.site)
    models = load_models_for_site(site, args.models)
    frame = read_historian(args.data)
    out = Path(args.out)
    result = replay_historian(site, models, frame, log_path=out / "advisory.jsonl", progress=_progress(args), limit=args.limit)
    paths = write_replay(result, out)
    report = adherence_report(site, models, result, frame, AdherenceRules(attribute=not args.no_attribution), progress=_progress(args))
    paths.update(write_adherence(report, out, result))
    print(summary_markdown(report, result))
    r, a = result.totals, report.totals
    print(f"replayed {int(r['rows'])} rows in {time.perf_counter() - t0:.1f} s: predicted saving {r['predicted_saving']:,.0f} {site.currency}, "
          f"{r['predicted_co2e_saving_t']:,.2f} t CO2e; captured {a.get('captured_saving', 0.0):,.0f} {site.currency} "
          f"of {a.get('proposed_saving', 0.0):,.0f}")
    print(f"advisory log {paths['advisory']}; tables, summary.md and adherence.png in {out}")
    return 0


def _cmd_site_check(args: argparse.Namespace) -> int:
    site = load_site(args.site)
    print(f"{args.site}: OK: {len(site.headers)} headers, {len(site.boilers)} boilers, {len(site.gas_turbines)} gas turbines, "
          f"{len(site.turbines)} steam turbines, {len(site.letdowns)} letdowns, {len(site.consumers)} consumers")
    for w in site.warnings:  # accepted, but to be looked at (e.g. a stated drop above the isentropic one)
        print(f"{args.site}: warning: {w}")
    return 0


def _cmd_site_attributes(args: argparse.Namespace) -> int:
    from optimizer.site.docs import attribute_tables_markdown

    print(attribute_tables_markdown())
    return 0


class _DefaultsFormatter(argparse.HelpFormatter):
    """Help text with each option's default, where it has one (not for required options and flags)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS) and action.default != []
        if "%(default)" not in text and action.option_strings and shown and not action.required:
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """Every (sub)command's ``--help`` shows its options' defaults."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)


def parse_weights(text: str) -> dict[str, float]:
    """``"cost=1,co2e=2000,steam=0"`` -> weights of the weighted objective; ``ValueError`` naming the
    item and the rule (keys cost, co2e, steam; finite numbers >= 0; at least one > 0)."""
    out: dict[str, float] = {}
    for item in filter(None, (i.strip() for i in text.split(","))):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in ("cost", "co2e", "steam"):
            raise ValueError(f"--weights {item!r}: expected cost=W, co2e=W or steam=W")
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"--weights {key} = {raw.strip()!r}: must be a number") from None
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"--weights {key} = {value!r}: must be a finite number >= 0")
        out[key] = value
    if not any(out.values()):
        raise ValueError(f"--weights {text!r}: at least one weight must be > 0")
    return out


def build_parser() -> argparse.ArgumentParser:
    from optimizer import __version__

    p = _Parser(prog="steamopt", description="Supervisory steam-network optimisation engine.")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    p.add_argument("--version", action="version", version=f"steamopt {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("simulate", help="simulate a site under today's practice and write a historian table")
    s.add_argument("--site", required=True, help="site TOML file")
    s.add_argument("--hours", type=float, default=24.0, help="length of the period, h")
    s.add_argument("--step-min", type=float, default=15.0, help="time step, min")
    s.add_argument("--seed", type=int, default=0, help="random seed (profiles and sensor noise)")
    s.add_argument("--start", default="2026-01-05 00:00", help="first timestamp")
    s.add_argument("--noise", type=float, default=0.005, help="relative sensor noise std of measured tags (0 = none)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_simulate)

    s.add_argument("--policy", choices=["practice", "campaign"], default="practice",
                   help="today's practice, or an identification campaign (setpoint step tests, washes) for training data")
    s.add_argument("--step-units", nargs="+", metavar="UNIT",
                   help="campaign: also step these extraction-condensing generators (held off otherwise) or gas turbines with learned duct firing (their own campaign)")

    st = sub.add_parser("step", help="one supervisory cycle: snapshot in, proposal out (advisory)")
    st.add_argument("--site", required=True, help="site TOML file")
    st.add_argument("--models", required=True, help="model directory (ONNX files and manifest.toml); none: no learned models (every unit on first principles)")
    st.add_argument("--snapshot", required=True, help="snapshot JSON: tag -> value, and timestamp")
    st.add_argument("--explain", action="store_true", help="print a table of current vs proposed instead of JSON")
    st.add_argument("--objective", choices=["cost", "co2e", "steam", "weighted"], default="cost",
                    help="what the cycle minimises (weighted: see --weights)")
    st.add_argument("--weights", default="cost=1,co2e=0,steam=0",
                    help="weighted objective: currency x cost + co2e x t CO2e + steam x t steam generated (per hour)")
    st.add_argument("--cycle-s", type=float, default=60.0, help="cycle time, s (move limits)")
    st.add_argument("--budget-s", type=float, default=1.0, help="time budget of the step, s")
    st.set_defaults(func=_cmd_step)

    pl = sub.add_parser("plan", help="a look-ahead schedule (starts, stops, setpoints per period) from a snapshot and forecasts")
    pl.add_argument("--site", required=True, help="site TOML file")
    pl.add_argument("--models", required=True, help="model directory (ONNX files and manifest.toml); none: no learned models (every unit on first principles)")
    pl.add_argument("--snapshot", required=True, help="snapshot JSON: tag -> value, and timestamp (period 0 starts then)")
    src = pl.add_mutually_exclusive_group()
    src.add_argument("--forecast", help="forecast table (.csv or .parquet): one row per period, first column the period start, "
                                        "columns snapshot tags (default: the forecasters, else every disturbance held)")
    src.add_argument("--forecasters", help="forecaster directory (default: <--models>_forecast beside the models when it is "
                                           "for this site, e.g. scenarios/models/reference_olefins_forecast); 'none': persistence")
    pl.add_argument("--history", help="historian table (.csv or .parquet) seeding the forecasters' recent history (a day of lags)")
    pl.add_argument("--hours", type=float, default=24.0, help="horizon, h")
    pl.add_argument("--period-min", type=float, default=60.0, help="period length, min")
    pl.add_argument("--gap", type=float, default=1e-4, help="relative MIP gap")
    pl.add_argument("--time-budget", type=float, help="time budget of the plan, s (default: the Supervisor's plan budget)")
    pl.add_argument("--explain", action="store_true", help="add the KPIs per period, the forecast methods and the solve figures")
    pl.add_argument("--json", help="also write the schedule as JSON to this file")
    pl.set_defaults(func=_cmd_plan)

    rp = sub.add_parser("replay", help="audit check: re-run the cycles of an audit log (SupervisorConfig.audit_log) and confirm "
                                       "each logged proposal is reproduced exactly; to run the engine over plant data, see "
                                       "`historian replay`")
    rp.add_argument("--site", required=True, help="site TOML file (must be the logged one)")
    rp.add_argument("--models", required=True, help="model directory (must be the logged one)")
    rp.add_argument("--log", required=True, help="audit log: one JSON line per cycle")
    rp.add_argument("--line", type=int, help="replay only the record on this line of the file (1-based)")
    rp.set_defaults(func=_cmd_replay)

    sd = sub.add_parser("study", help="run a scenario study (practice, steamopt, oracle) against the plant simulator")
    sd.add_argument("scenario", help="scenario TOML file (e.g. scenarios/studies/base_week.toml)")
    sd.add_argument("--out", required=True, help="output folder: steps, summary, report and plots")
    sd.add_argument("--hours", type=float, help="shorten (or lengthen) the study period, h")
    sd.add_argument("--policies", nargs="+", choices=["practice", "good_practice", "steamopt", "oracle", "steamopt_lookahead", "oracle_lookahead"], help="policies to run (default: the scenario's)")
    sd.add_argument("--quiet", action="store_true", help="no progress bar")
    sd.add_argument("--allow-path", action="append", default=[], help="let the scenario's site/models paths point into this folder too")
    sd.set_defaults(func=_cmd_study)

    sw = sub.add_parser("sweep", help="run a scenario for several values of its fields, in parallel")
    sw.add_argument("scenario", help="scenario TOML file")
    sw.add_argument("--set", action="append", required=True, help="FIELD=V1,V2,... (any scenario field, e.g. carbon_price=0,500,1000)")
    sw.add_argument("--out", required=True, help="output folder")
    sw.add_argument("--hours", type=float, help="shorten the period of every variant, h")
    sw.add_argument("--scheduler", help="Dask scheduler address (default: a local process pool)")
    sw.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    sw.add_argument("--quiet", action="store_true")
    sw.add_argument("--allow-path", action="append", default=[], help="let the scenario's site/models paths point into this folder too")
    sw.set_defaults(func=_cmd_sweep)

    sur = sub.add_parser("surrogate", help="learned models").add_subparsers(dest="surrogate_command", required=True)
    t = sur.add_parser("train", help="train every learned quantity of a site from a historian table")
    t.add_argument("--site", required=True, help="site TOML file")
    t.add_argument("--data", required=True, help="historian table (.parquet or .csv)")
    t.add_argument("--out", required=True, help="model directory to write")
    t.add_argument("--seed", type=int, default=0, help="first training seed")
    t.add_argument("--unit-data", action="append", metavar="NAME=HISTORIAN",
                   help="train the learned quantity NAME from its own historian (a unit with its own campaign)")
    t.add_argument("--min-coverage", type=float, default=0.5,
                   help="share of each unit's operating range the training data must cover (checked before training)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_cmd_surrogate_train)
    sp = sur.add_parser("stamp", help="record the site (its hash and what each model depends on) in an existing model "
                                      "directory's manifest, without retraining (the model files are not touched)")
    sp.add_argument("--site", required=True, help="site TOML file the models were trained for")
    sp.add_argument("--models", required=True, help="model directory")
    sp.set_defaults(func=_cmd_surrogate_stamp)
    rt = sur.add_parser("retrain", help="train candidates on recent data; write a new model directory only where they are better "
                                        "on held-out recent data (exit 0 written, 1 nothing written)")
    rt.add_argument("--site", required=True, help="site TOML file")
    rt.add_argument("--models", required=True, help="current model directory")
    rt.add_argument("--data", required=True, help="recent historian table (.parquet or .csv)")
    rt.add_argument("--out", required=True, help="new model directory to write (must not exist, or be empty)")
    rt.add_argument("--holdout", type=float, default=0.25, help="share of the most recent clean rows held out for the comparison")
    rt.add_argument("--window-hours", type=float, help="use only the last hours of the historian")
    rt.add_argument("--min-improvement", type=float, default=0.10, help="relative held-out MAPE reduction a candidate needs")
    rt.add_argument("--only", nargs="+", help="retrain only these models")
    rt.add_argument("--seed", type=int, default=0, help="first training seed")
    rt.set_defaults(func=_cmd_surrogate_retrain)
    dr = sur.add_parser("drift", help="run the drift monitor over a historian table (exit 1 if a model is flagged)")
    dr.add_argument("--site", required=True, help="site TOML file")
    dr.add_argument("--models", required=True, help="model directory (with accuracy.json: the validated bands)")
    dr.add_argument("--data", required=True, help="historian table (.parquet or .csv)")
    dr.add_argument("--window", type=int, default=96, help="rolling window, observations")
    dr.set_defaults(func=_cmd_surrogate_drift)

    fc = sub.add_parser("forecast", help="learned forecasts of the disturbances").add_subparsers(dest="forecast_command", required=True)
    ft = fc.add_parser("train", help="train a forecaster per disturbance series (header demands, by-product steam, ambient) from a historian table")
    ft.add_argument("--data", required=True, help="historian table (.parquet or .csv)")
    ft.add_argument("--out", required=True, help="forecaster directory to write (ONNX files, manifest.toml, accuracy.md)")
    ft.add_argument("--site", help="site TOML file (default: the reference site)")
    ft.add_argument("--period-min", type=float, default=60.0, help="forecast period, min")
    ft.add_argument("--hours", type=float, default=24.0, help="forecast horizon, h")
    ft.add_argument("--test-days", type=float, default=7.0, help="days at the end held out for the accuracy table")
    ft.set_defaults(func=_cmd_forecast_train)

    hi = sub.add_parser("historian", help="historian tables: `historian replay` runs the engine over a historian as it "
                                                   "would have run live, with an adherence report (to check an audit log, "
                                                   "see `replay`)").add_subparsers(dest="historian_command", required=True)
    hr = hi.add_parser("replay", help="run the supervisor over a historian table as it would have run live; adherence report")
    hr.add_argument("--site", required=True, help="site TOML file")
    hr.add_argument("--models", required=True, help="model directory (ONNX files and manifest.toml)")
    hr.add_argument("--data", required=True, help="historian table (.parquet or .csv), one row per timestamp")
    hr.add_argument("--out", required=True, help="output folder: advisory.jsonl, steps, adherence tables, summary.md, adherence.png")
    hr.add_argument("--limit", type=int, help="replay only the first N rows")
    hr.add_argument("--no-attribution", action="store_true", help="skip the held-unit solves that cost the gap per unit")
    hr.add_argument("--quiet", action="store_true", help="no progress bar")
    hr.set_defaults(func=_cmd_historian_replay)

    site = sub.add_parser("site", help="site files").add_subparsers(dest="site_command", required=True)
    c = site.add_parser("check", help="validate a site file")
    c.add_argument("site")
    c.set_defaults(func=_cmd_site_check)
    a = site.add_parser("attributes", help="print the attribute tables of every component (Markdown)")
    a.set_defaults(func=_cmd_site_attributes)

    from scenarios.opcua_command import register as register_opcua
    from scenarios.serve_command import register as register_serve

    register_serve(sub)  # steamopt serve: the HTTP/JSON service and the advisory page (scenarios/serve_command.py)

    register_opcua(sub)  # steamopt opcua run | demo-server (scenarios/opcua_command.py)
    return p



def _progress(args) -> bool:
    """Progress bars only for a person at a terminal: a log or a pipe gets none (they would
    flood it with carriage-return updates)."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "allow_path", None):  # explicit operator permission, inherited by sweep workers
        import os

        from scenarios.scenario import ALLOWED_ROOTS_ENV

        os.environ[ALLOWED_ROOTS_ENV] = os.pathsep.join([*args.allow_path, os.environ.get(ALLOWED_ROOTS_ENV, "")]).strip(os.pathsep)
    try:
        return args.func(args)
    except SiteError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    except ValueError as exc:  # includes surrogate file errors: one clear message
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # a sweep variant that failed in its worker (scenarios.sweep.VariantError)
        from scenarios.sweep import VariantError

        if not isinstance(exc, VariantError):
            raise
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
