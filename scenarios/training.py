"""Train every learned quantity of a site from a historian table and write the model directory.

The model directory holds one ONNX file per quantity, ``manifest.toml`` and the accuracy report
(``accuracy.json``, ``accuracy.md``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from optimizer.site.model import Site
from scenarios.learning import learned_quantities
from surrogate import safe_read
from surrogate.data import PreparedData, prepare
from surrogate.atomic import atomic_directory
from surrogate.manifest import MANIFEST_NAME, load_model_dir, write_manifest
from surrogate.onnx_io import save_network
from surrogate.report import report_rows, write_report
from surrogate.train import TrainedModel, TrainingConfig, train_quantity

log = logging.getLogger(__name__)

MAX_HISTORIAN_BYTES = 2_000_000_000
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
                      progress: bool = False, unit_frames: dict[str, pd.DataFrame] | None = None) -> list[dict]:
    """Train, export and report every learned quantity of ``site``; returns the report rows.

    ``unit_frames``: learned quantity name -> the historian it is trained from instead of ``frame``
    (a unit with a campaign of its own, e.g. an extraction-condensing generator's
    ``TG3_steam``); a name that is not a learned quantity of the site is refused.

    The model directory is built beside ``out_dir`` under a temporary name, loaded as a whole
    (every check of :func:`~surrogate.manifest.load_model_dir`) and only then swapped in for
    ``out_dir`` (see :func:`surrogate.atomic.atomic_directory`): an existing model directory is
    never overwritten in place, and a run that fails or is killed part-way leaves it as it was."""
    out_dir = Path(out_dir)
    _check_replaceable(out_dir)
    unit_frames = dict(unit_frames or {})
    names = [q.name for q in learned_quantities(site)]
    unknown = [n for n in unit_frames if n not in names]
    if unknown:
        raise ValueError(f"unit data for {unknown}: not learned quantities of site {site.name} (those are {names})")
    trained: dict[str, tuple[PreparedData, TrainedModel]] = {}
    entries = {}
    with atomic_directory(out_dir, check=load_model_dir) as tmp:
        for spec in tqdm(learned_quantities(site), desc="train", unit="model", disable=not progress):
            data = prepare(unit_frames.get(spec.name, frame), spec)
            model = train_quantity(data, config)
            file = f"{spec.name}.onnx"
            save_network(model.network, tmp / file, spec.name)
            trained[spec.name] = (data, model)
            entries[spec.name] = (file, spec.inputs, spec.outputs)
        write_manifest(tmp, entries, site=site.name)
        rows = report_rows(trained)
        write_report(rows, tmp, title=f"Surrogate accuracy: {site.name}")
    log.info("wrote the model directory %s (%d models)", out_dir, len(entries))
    return rows
