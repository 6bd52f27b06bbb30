"""``steamopt surrogate train | stamp | retrain | drift`` and ``steamopt forecast train``: the
learned models. The parser is in :mod:`scenarios.cli`."""

from __future__ import annotations

import argparse
import time

import pandas as pd

from optimizer.site import load_site
from scenarios.cli_common import show_progress


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
    rows = train_site_models(site, frame, args.out, config, progress=show_progress(args), min_coverage=args.min_coverage,
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
