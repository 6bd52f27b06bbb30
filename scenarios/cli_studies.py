"""``steamopt simulate``, ``study`` and ``sweep``: the plant simulator and scenario studies. The
parser is in :mod:`scenarios.cli`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from optimizer.site import load_site
from scenarios.cli_common import show_progress
from surrogate.atomic import atomic_output


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
    truth, states = run_policy(simulator, policy, disturbances, progress=show_progress(args))
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
    result = run_study(spec, progress=show_progress(args))
    tables = {}
    h2 = study_without_hydrogen(args.scenario, result.summary, spec.policies, args.hours, spec.site.currency, show_progress(args))
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
    bar = tqdm(total=len(variants(sets)), desc="sweep", unit="variant", disable=not show_progress(args))
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
