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

This module holds the parser and ``main``; the commands are in :mod:`scenarios.cli_studies` (simulate,
study, sweep), :mod:`scenarios.cli_models` (surrogate, forecast), :mod:`scenarios.cli_engine` (step,
plan, replay, historian replay), :mod:`scenarios.plan_command`, :mod:`scenarios.serve_command` and
:mod:`scenarios.opcua_command`; ``explain``, ``headline``, ``parse_weights`` and
``MAX_SNAPSHOT_BYTES`` are re-exported here.
"""

from __future__ import annotations

import argparse
import logging
import sys

from optimizer.site import SiteError, load_site
from scenarios.cli_engine import (
    MAX_SNAPSHOT_BYTES,
    _cmd_historian_replay,
    _cmd_plan,
    _cmd_replay,
    _cmd_step,
    explain,
    parse_weights,
)
from scenarios.cli_models import (
    _cmd_forecast_train,
    _cmd_surrogate_drift,
    _cmd_surrogate_retrain,
    _cmd_surrogate_stamp,
    _cmd_surrogate_train,
)
from scenarios.cli_studies import _cmd_simulate, _cmd_study, _cmd_sweep, headline

__all__ = ["MAX_SNAPSHOT_BYTES", "build_parser", "explain", "headline", "main", "parse_weights"]

log = logging.getLogger("steamopt")


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
