"""Parameter sweeps: one study per variant, in parallel, collected into one table.

``steamopt sweep SCENARIO.toml --set carbon_price=0,500,1000,2000`` runs the scenario once per
value (several ``--set`` make the cartesian product), on a local process pool by default or on
a Dask distributed cluster given its scheduler address. Each variant is a plain function call
on plain arguments (paths and numbers), so it runs the same in a worker process or on a Dask
worker.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)


def parse_sets(items: list[str]) -> dict[str, list]:
    """``["carbon_price=0,500"]`` -> ``{"carbon_price": [0, 500]}`` (values parsed as TOML)."""
    from scenarios.scenario import parse_set

    return dict(parse_set(item) for item in items)


def variants(sets: dict[str, list]) -> list[dict]:
    """The cartesian product of the sets, as override mappings."""
    keys = list(sets)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(sets[k] for k in keys))]


class VariantError(RuntimeError):
    """A variant that failed in its worker: the variant and the error, as one picklable message
    (an exception the parent cannot rebuild would surface as a broken process pool)."""


def check_variants(scenario_path: str | Path, sets: dict[str, list], hours: float | None = None) -> None:
    """Build every variant's study spec before any worker starts: a bad ``--set`` key or value
    raises the scenario's own validation error (``ValueError``, naming the field, value and rule)."""
    from scenarios.study_files import spec_from_scenario_file

    for overrides in variants(sets):
        spec_from_scenario_file(str(scenario_path), overrides, hours=hours)


def run_variant(scenario_path: str, overrides: dict, hours: float | None = None) -> pd.DataFrame:
    """One variant's summary (a row per policy) with the overrides as columns."""
    from scenarios.study import run_study
    from scenarios.study_files import spec_from_scenario_file

    try:
        spec = spec_from_scenario_file(scenario_path, overrides, hours=hours)
        result = run_study(spec)
    except Exception as exc:
        shown = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
        raise VariantError(f"variant {shown}: {type(exc).__name__}: {exc}") from None
    summary = result.summary.reset_index()
    for k, v in overrides.items():
        summary[k] = v
    summary["variant"] = ", ".join(f"{k}={v}" for k, v in overrides.items())
    return summary


def run_sweep(scenario_path: str | Path, sets: dict[str, list], hours: float | None = None, scheduler: str | None = None,
              workers: int | None = None, on_done: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Every variant, in parallel; one table (a row per variant and policy). Every variant is
    validated first (:func:`check_variants`); a variant failing in its worker raises
    :class:`VariantError` naming it."""
    check_variants(scenario_path, sets, hours)
    jobs = variants(sets)
    path = str(scenario_path)
    if scheduler:
        from distributed import Client  # optional dependency: pip install steamopt[dask]

        with Client(scheduler) as client:
            futures = [client.submit(run_variant, path, o, hours, pure=False) for o in jobs]
            frames = []
            for i, f in enumerate(futures):
                frames.append(f.result())
                if on_done:
                    on_done(i + 1, len(jobs))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(run_variant, path, o, hours) for o in jobs]
            frames = []
            for i, f in enumerate(futures):
                frames.append(f.result())
                if on_done:
                    on_done(i + 1, len(jobs))
    return pd.concat(frames, ignore_index=True)
