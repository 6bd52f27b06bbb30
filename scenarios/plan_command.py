"""``steamopt plan``: a look-ahead schedule from a snapshot and forecasts, printed as a table
(:func:`optimizer.schedule_text.render_schedule`) and optionally written as JSON. The parser is in
:mod:`scenarios.cli`; this module holds the command, loading as ``steamopt step`` does.

Where the forecast comes from (the first that applies):

* ``--forecast FILE``: the table as given (one row per period, first column the period starts,
  which must be the plan's: the snapshot's time, then every ``--period-min``);
* ``--forecasters DIR``: those forecasters, through a
  :class:`~optimizer.plan_forecast.PlanForecaster` set on the Supervisor;
* otherwise the site's bundled forecasters, the directory ``<--models>_forecast`` beside the unit
  models (:func:`scenarios.forecasting.bundled_forecaster_dir`; for the reference site
  ``scenarios/models/reference_olefins_forecast``), when it exists and is for this site;
* ``--forecasters none``, or no such directory: every disturbance held at its value now.

The learned forecasters need the recent history of the series (a day of lags): ``--history
HISTORIAN`` seeds it from a historian table (as ``steamopt forecast train`` reads it). Without
it they fall back to what the history allows (with the snapshot alone, persistence), and the
schedule's forecast methods (``--explain``) say so.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from optimizer.model_site import load_models_for_site
from optimizer.plan_forecast import PlanForecaster
from optimizer.schedule_text import period_prices, render_schedule
from optimizer.site import load_site
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.cli import MAX_SNAPSHOT_BYTES
from scenarios.forecasting import bundled_forecaster_dir
from scenarios.training import read_historian
from surrogate.atomic import atomic_write_text
from surrogate.forecast import load_forecasters
from optimizer.fp_curves import no_models
from surrogate.manifest import read_manifest
from surrogate.safe_read import read_json_file

#: Exit codes: a schedule (or the single-period fallback) printed; nothing could be planned.
PLANNED_STATUSES = ("optimal", "time_limited", "infeasible_demand", "fallback_single_period")


def run_plan(args: argparse.Namespace) -> int:
    """Exit 0 with the schedule printed (a plan, or the single-period fallback); 1 if nothing could
    be planned (invalid input, unknown state, hold: printed with the reasons); ``ValueError`` (the
    CLI's exit 2, one message line) if a file or an argument cannot be used."""
    _check_plan_args(args)
    snapshot = read_json_file(args.snapshot, MAX_SNAPSHOT_BYTES, what="snapshot")
    site = load_site(args.site)
    models = load_models_for_site(site, args.models)
    supervisor = Supervisor(site, models, SupervisorConfig())
    forecast = None
    source = "persistence"
    if args.forecast is not None:
        forecast = _read_forecast(args.forecast, snapshot, args.hours, args.period_min)
        source = f"given ({args.forecast})"
    else:
        directory = None
        if args.forecasters is None:
            directory = None if no_models(args.models) else bundled_forecaster_dir(site, args.models)
        elif args.forecasters.lower() != "none":
            directory = Path(args.forecasters)
            made_for = read_manifest(directory).site
            if made_for is not None and made_for != site.name:
                raise ValueError(f"--forecasters {directory}: made for site {made_for!r}, not {site.name!r} (its manifest's site)")
        if directory is not None:
            pf = PlanForecaster(site, load_forecasters(directory))
            if args.history is not None:
                pf.load_history(read_historian(args.history))
            supervisor.plan_forecaster = pf
            source = f"forecasters {directory}" + (f", history {args.history}" if args.history else ", no history (--history)")
    schedule = supervisor.plan(snapshot, forecast, horizon_h=args.hours, period_min=args.period_min,
                               time_budget_s=args.time_budget, mip_rel_gap=args.gap)
    price = snapshot.get("import_price_per_mwh") if isinstance(snapshot, dict) else None
    prices = period_prices(site, schedule.times, snapshot_price=float(price) if _is_number(price) else None,
                           forecast=forecast) if schedule.times else None
    print(f"forecast: {source}")
    print(render_schedule(schedule, args.explain, site=site, prices=prices))
    if args.json is not None:
        atomic_write_text(args.json, schedule.to_json(indent=1))
        print(f"schedule written to {args.json}")
    return 0 if schedule.status in PLANNED_STATUSES else 1


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _read_forecast(path: str, snapshot: object, hours: float, period_min: float) -> pd.DataFrame:
    """The ``--forecast`` table, its rows checked to be the plan's periods (values are checked by
    :meth:`Supervisor.plan`)."""
    frame = read_historian(path)  # .csv or .parquet, first column the period starts
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise ValueError(f"--forecast {path}: first column must be the periods' start times")
    ts = snapshot.get("timestamp") if isinstance(snapshot, dict) else None
    try:
        start = pd.Timestamp(ts)
    except (TypeError, ValueError):
        return frame  # the plan refuses the snapshot itself, naming its timestamp
    if start is pd.NaT or pd.isna(start):
        return frame
    periods = round(hours * 60.0 / period_min)
    want = pd.DatetimeIndex([start.tz_localize(None) + pd.Timedelta(minutes=period_min * t) for t in range(periods)])
    if len(frame) == periods and not frame.index.equals(want):
        bad = next(i for i in range(periods) if frame.index[i] != want[i])
        raise ValueError(f"--forecast {path}: row {bad} starts at {frame.index[bad]}; the plan's period {bad} starts at "
                         f"{want[bad]} (rows must be the periods from the snapshot's time every {period_min:g} min)")
    return frame


def _check_plan_args(args: argparse.Namespace) -> None:
    """``steamopt plan``'s numbers and files, refused with the option, the value and the rule."""
    for name, value in (("--hours", args.hours), ("--period-min", args.period_min), ("--gap", args.gap)):
        if not math.isfinite(value):
            raise ValueError(f"{name} {value}: must be a finite number")
    if args.hours <= 0:
        raise ValueError(f"--hours {args.hours:g}: must be > 0")
    if not 1.0 <= args.period_min <= 1440.0:
        raise ValueError(f"--period-min {args.period_min:g}: must be 1..1440 minutes")
    periods = args.hours * 60.0 / args.period_min
    if abs(periods - round(periods)) > 1e-9:
        raise ValueError(f"--hours {args.hours:g}: must be a whole number of {args.period_min:g}-min periods")
    if not 0.0 <= args.gap < 1.0:
        raise ValueError(f"--gap {args.gap:g}: must be a relative MIP gap in [0, 1)")
    if args.time_budget is not None and not (math.isfinite(args.time_budget) and args.time_budget > 0):
        raise ValueError(f"--time-budget {args.time_budget:g}: must be > 0 seconds")
    for name, path in (("--snapshot", args.snapshot), ("--forecast", args.forecast), ("--history", args.history)):
        if path is not None and not Path(path).is_file():
            raise ValueError(f"{name} {path}: file not found")
    forecasters = None if args.forecasters is not None and args.forecasters.lower() == "none" else args.forecasters
    for name, path in (("--models", None if no_models(args.models) else args.models), ("--forecasters", forecasters)):
        if path is not None and not Path(path).is_dir():
            raise ValueError(f"{name} {path}: directory not found")
    if args.history is not None and args.forecast is not None:
        raise ValueError("--history: only with forecasters (not with --forecast, whose table is used as given)")
    if args.json is not None and not Path(args.json).resolve().parent.is_dir():
        raise ValueError(f"--json {args.json}: its folder does not exist")
