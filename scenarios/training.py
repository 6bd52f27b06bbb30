"""Train every learned quantity of a site from a historian table and write the model directory.

The model directory holds one ONNX file per quantity, ``manifest.toml`` and the accuracy report
(``accuracy.json``, ``accuracy.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from optimizer.model_site import build_site_record, load_models_for_site
from optimizer.site.model import Site
from scenarios.learning import box_coverage, learned_quantities, narrow_inputs, operating_ranges
from surrogate import safe_read
from surrogate.data import DataError, PreparedData, prepare
from surrogate.atomic import atomic_directory
from surrogate.manifest import MANIFEST_NAME, write_manifest
from surrogate.onnx_io import save_network
from surrogate.report import report_rows, write_report
from surrogate.train import TrainedModel, TrainingConfig, train_quantity

log = logging.getLogger(__name__)

MAX_HISTORIAN_BYTES = 2_000_000_000
#: Share of each unit's operating range the training rows must cover (as ``surrogate retrain``'s
#: default coverage of the current model's domain).
MIN_COVERAGE = 0.5
#: Largest historian table accepted in memory, bytes (Parquet: estimated from its metadata before
#: reading, then counted; CSV: counted while reading).
MAX_HISTORIAN_DECODED_BYTES = 2_000_000_000


def read_historian(path: str | Path) -> pd.DataFrame:
    """A historian table from Parquet or CSV (first column the timestamp). Refused with a
    ``ValueError`` naming the file if it is over :data:`MAX_HISTORIAN_BYTES` on disk or
    :data:`MAX_HISTORIAN_DECODED_BYTES` in memory (see :mod:`surrogate.safe_read`)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: historian file not found")
    if path.stat().st_size > MAX_HISTORIAN_BYTES:
        raise ValueError(f"{path}: {path.stat().st_size} bytes, more than the {MAX_HISTORIAN_BYTES} allowed")
    if path.suffix.lower() == ".parquet":
        return safe_read.read_parquet(path, MAX_HISTORIAN_DECODED_BYTES)
    if path.suffix.lower() == ".csv":
        return safe_read.read_csv(path, MAX_HISTORIAN_DECODED_BYTES, index_col=0, parse_dates=True)
    raise ValueError(f"{path}: historian must be .parquet or .csv, got '{path.suffix}'")


def _check_replaceable(out_dir: Path) -> None:
    """``out_dir`` may be replaced as a whole: it does not exist, is empty, or is a model directory
    (holds manifest.toml and no sub-directories). Anything else is refused: replacing it would
    delete files that are not models."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ValueError(f"--out {out_dir}: exists and is not a directory; expected a model directory to write")
    entries = list(out_dir.iterdir())
    if not entries:
        return
    if not (out_dir / MANIFEST_NAME).is_file() or any(e.is_dir() for e in entries):
        raise ValueError(f"--out {out_dir}: exists and is not a model directory (no {MANIFEST_NAME}, or it holds folders); "
                         "training replaces the whole directory: give a new or empty folder, or an existing model directory")


def train_site_models(site: Site, frame: pd.DataFrame, out_dir: str | Path, config: TrainingConfig | None = None,
                      progress: bool = False, min_coverage: float = MIN_COVERAGE,
                      unit_frames: Mapping[str, pd.DataFrame] | None = None) -> list[dict]:
    """Train, export and report every learned quantity of ``site``; returns the report rows.

    Before any training, every quantity's data are prepared and checked (:func:`check_training_data`):
    too few usable rows, or data covering less than ``min_coverage`` of a unit's operating range,
    refuse the run at once, naming every such quantity (training would take minutes and give a
    model the optimiser extrapolates). ``progress``: a progress bar over the models (for a
    terminal; the CLI passes False when stderr is not one). ``unit_frames``: learned quantity
    name -> the historian it is trained from instead of ``frame`` (a unit with a campaign of its
    own, e.g. an extraction-condensing generator's ``TG3_steam``); a name that is not a learned
    quantity of the site is refused.

    The model directory is built beside ``out_dir`` under a temporary name, loaded as a whole
    (every check of :func:`~optimizer.model_site.load_models_for_site`: the files and the site
    record) and only then swapped in for ``out_dir`` (see :func:`surrogate.atomic.atomic_directory`):
    an existing model directory is never overwritten in place, and a run that fails or is killed
    part-way leaves it as it was."""
    out_dir = Path(out_dir)
    _check_replaceable(out_dir)
    prepared = check_training_data(site, frame, min_coverage, unit_frames)
    trained: dict[str, tuple[PreparedData, TrainedModel]] = {}
    entries = {}
    with atomic_directory(out_dir, check=lambda d: load_models_for_site(site, d)) as tmp:
        bar = tqdm(prepared.items(), desc="train", unit="model", disable=not progress)
        for name, data in bar:
            bar.set_postfix_str(name, refresh=True)  # which model the minutes go to
            spec = data.spec
            model = train_quantity(data, config)
            file = f"{name}.onnx"
            save_network(model.network, tmp / file, name)
            trained[name] = (data, model)
            entries[name] = (file, spec.inputs, spec.outputs)
        bar.close()
        write_manifest(tmp, entries, site=site.name,
                       site_record=build_site_record(site, {n: (i, o) for n, (_, i, o) in entries.items()}))
        rows = report_rows(trained)
        write_report(rows, tmp, title=f"Surrogate accuracy: {site.name}")
    log.info("wrote the model directory %s (%d models)", out_dir, len(entries))
    return rows


def check_training_data(site: Site, frame: pd.DataFrame, min_coverage: float = MIN_COVERAGE,
                        unit_frames: Mapping[str, pd.DataFrame] | None = None) -> dict[str, PreparedData]:
    """Every learned quantity's prepared data (:func:`surrogate.data.prepare`), after checking, before
    any training, that each can be trained to the accuracy bar over its unit's operating range:
    enough usable rows, and training rows covering at least ``min_coverage`` of each operating
    range (:func:`scenarios.learning.operating_ranges`, measured with
    :func:`scenarios.learning.box_coverage`, the check ``surrogate retrain`` makes against the
    current model's domain). Raises ValueError naming every quantity that fails, and why.
    ``unit_frames``: as for :func:`train_site_models` (a quantity's own historian); a name that is
    not a learned quantity of the site is refused."""
    if not (isinstance(min_coverage, (int, float)) and not isinstance(min_coverage, bool) and 0.0 <= min_coverage <= 1.0):
        raise ValueError(f"min_coverage = {min_coverage!r}: must be a number between 0 and 1 (share of each operating range the data must cover)")
    specs = learned_quantities(site)
    if not specs:
        raise ValueError(f"site {site.name!r}: no learned quantity (surrogates.kinds = {site.surrogates.kinds}, "
                         f"exclude = {site.surrogates.exclude}); nothing to train")
    unit_frames = dict(unit_frames or {})
    names = [q.name for q in specs]
    unknown = [n for n in unit_frames if n not in names]
    if unknown:
        raise ValueError(f"unit data for {unknown}: not learned quantities of site {site.name} (those are {names})")
    ranges = operating_ranges(site)
    prepared: dict[str, PreparedData] = {}
    problems = []
    for spec in specs:
        try:
            data = prepare(unit_frames.get(spec.name, frame), spec)
        except DataError as exc:
            problems.append(f"  {exc}")
            continue
        domain = data.domain
        cover = box_coverage(ranges[spec.name], domain)
        narrow = narrow_inputs(cover, min_coverage)
        if narrow:
            problems.append(f"  {spec.name}: the training data cover " + "; ".join(
                f"{k} {cover[k]:.0%} of its operating range [{ranges[spec.name][k][0]:g}, {ranges[spec.name][k][1]:g}] "
                f"(data {domain[k][0]:.4g} to {domain[k][1]:.4g})" for k in narrow) + f", less than {min_coverage:.0%}")
            continue
        prepared[spec.name] = data
    if problems:
        raise ValueError(f"site {site.name}: the data cannot train {len(problems)} of {len(specs)} models to the accuracy bar over "
                         f"their units' operating ranges; nothing trained:\n" + "\n".join(problems)
                         + "\n  (data from an identification campaign cover the ranges: `steamopt simulate --policy campaign` for a "
                           "simulated site; or list the unit in surrogates.exclude to keep it first principles)")
    return prepared
