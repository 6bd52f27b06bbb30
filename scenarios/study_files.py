"""From a scenario file to a study: the glue between :mod:`scenarios.scenario` (what the file
says) and :mod:`scenarios.study` (what runs), and the writing of a study's results."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scenarios.lookahead import forecasters_dir, profile_history
from optimizer.site.loader import site_from_dict
from scenarios.scenario import (Scenario, build_site, load_scenario, profile_config, read_site_data, scenario_disturbances,
                                with_overrides)
from scenarios.study import StudyResult, StudySpec
from surrogate.atomic import atomic_output

if TYPE_CHECKING:
    import pandas as pd


def spec_from_scenario(scenario: Scenario, hours: float | None = None, policies: list[str] | None = None) -> StudySpec:
    """The study a scenario describes (``hours``: shorten it, e.g. for tests). With
    ``steamopt_lookahead``: its forecasters (``<models>_forecast`` beside the surrogates, if there)
    and the history that seeds them (:func:`scenarios.lookahead.profile_history`)."""
    if hours is not None:
        scenario = with_overrides(scenario, {"hours": hours})
    site = build_site(scenario)
    lookahead = "steamopt_lookahead" in (policies or scenario.policies)
    forecasters = forecasters_dir(scenario.models_path) if lookahead and scenario.models_path is not None else None
    history = profile_history(site, profile_config(scenario, site)) if forecasters is not None else []
    return StudySpec(
        name=scenario.name, site=site, models_path=scenario.models_path, disturbances=scenario_disturbances(scenario, site),
        step_min=scenario.step_min, policies=tuple(policies or scenario.policies), noise=scenario.noise, seed=scenario.seed,
        reality_gap=scenario.reality_gap, notes=[scenario.description] if scenario.description else [],
        forecasters_path=forecasters, history=history,
        models_site=site_from_dict(read_site_data(scenario), str(scenario.site_path)),  # the models belong to the file, not to the what-if
    )


def spec_from_scenario_file(path: str | Path, overrides: dict | None = None, hours: float | None = None,
                            policies: list[str] | None = None) -> StudySpec:
    scenario = load_scenario(path)
    if overrides:
        scenario = with_overrides(scenario, overrides)
    return spec_from_scenario(scenario, hours, policies)


def write_study(result: StudyResult, spec: StudySpec, out_dir: str | Path,
                tables: dict[str, tuple[pd.DataFrame, list[str], str]] | None = None) -> dict[str, Path]:
    """steps.parquet/.csv, summary.csv, report.md and its plots, each written to a temporary file and renamed.
    ``tables``: further results, name -> (table written as ``<name>.csv``, its report section's
    Markdown lines, the section's heading)."""
    from scenarios.report import ReportUnits, write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    steps = result.steps.copy()
    paths = {"steps_parquet": out / "steps.parquet", "steps_csv": out / "steps.csv", "summary": out / "summary.csv"}
    with atomic_output(paths["steps_parquet"]) as tmp:
        steps.to_parquet(tmp)
    with atomic_output(paths["steps_csv"]) as tmp:
        steps.to_csv(tmp, index=False)
    with atomic_output(paths["summary"]) as tmp:
        result.summary.to_csv(tmp)
    sections = []
    for name, (table, body, heading) in (tables or {}).items():
        paths[name] = out / f"{name}.csv"
        with atomic_output(paths[name]) as tmp:
            table.to_csv(tmp)
        sections.append((heading, body))
    site = spec.site
    units = ReportUnits(boilers=list(site.boilers), gas_turbines=list(site.gas_turbines),
                        byproduct_sources=list(site.byproduct_sources), vents=list(site.vents),
                        generator_turbines=[t.id for t in site.turbines.values() if t.drive == "generator"])
    notes = list(spec.notes) + [f"{len(spec.disturbances)} steps of {spec.step_min:g} min; policies: {', '.join(spec.policies)}; "
                                f"run time: " + ", ".join(f"{p} {s:.1f} s" for p, s in result.seconds.items())]
    if result.failures:
        notes.append(f"{len(result.failures)} step(s) failed and were recorded: {result.failures[0]}")
    paths["report"] = write_report(steps, result.summary, out, title=f"Study: {spec.name}", step_hours=spec.step_min / 60.0,
                                   units=units, currency=site.currency, notes=notes, sections=sections)
    return paths
