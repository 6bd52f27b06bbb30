"""Wide surrogates of the reference site for the OMLT peer baseline (``make models-wide``).

The bundled models (``scenarios/models/reference_olefins``) are chosen as the *smallest* network
within 5 % of the best validation MAPE, so they have 3-4 hidden neurons each, and OMLT's big-M
formulation (one binary per hidden neuron) gets few binaries. The design note's 10x figure was
measured with a 2-16-16-1 network. This script trains the same learned quantities on the same
campaign data with two hidden layers of 16 neurons each (2-16-16-1 for two-input quantities,
3-16-16-1 for three-input ones, 1-16-16-1 for the turbine's one-input curve), same seeds (0, 1),
same L-BFGS settings, and writes an ordinary model directory (ONNX + ``manifest.toml`` +
``accuracy.json``/``accuracy.md``) that the benchmark suite loads instead of retraining.

It refuses data that is not the data the bundled models were trained on: every quantity's
prepared-data hash (SHA-256 of the rows kept) must equal the ``data_hash`` in the bundled
model's metadata. ``accuracy.md`` gets a side-by-side table of the bundled and wide models' test
accuracy, and a check that the supervisor accepts the wide models (statuses over a few cycles,
onnxruntime agreement, breakpoints of the exact 1-D curves per cycle).

Usage::

    python -m benchmarks.wide_models --data out/training/historian.parquet \\
        --out benchmarks/models/reference_olefins_wide [--hidden 16 16] [--check-cycles 24]
"""

from __future__ import annotations

import dataclasses

import argparse
import json
import logging
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_SITE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
BUNDLED_MODELS = ROOT / "scenarios" / "models" / "reference_olefins"
WIDE_MODELS = ROOT / "benchmarks" / "models" / "reference_olefins_wide"
WIDE_HIDDEN: tuple[int, ...] = (16, 16)
SEEDS: tuple[int, ...] = (0, 1)           # what `steamopt surrogate train` (and so `make models`) uses

log = logging.getLogger("benchmarks.wide_models")


def train_wide(data_path: str | Path, out_dir: str | Path = WIDE_MODELS, hidden: tuple[int, ...] = WIDE_HIDDEN,
               reference_dir: str | Path = BUNDLED_MODELS) -> list[dict]:
    """Train every learned quantity of the reference site with hidden layers ``hidden`` on the
    historian at ``data_path`` and write the model directory ``out_dir``; returns the accuracy rows.

    Raises ValueError if a quantity's prepared data differs from the bundled model's
    (``data_hash`` metadata): the wide models must come from the same data."""
    from optimizer.site import load_site
    from scenarios.learning import learned_quantities
    from scenarios.training import read_historian, train_site_models
    from surrogate.data import prepare
    from surrogate.manifest import load_model_dir
    from surrogate.train import TrainingConfig

    if not hidden or any(int(n) < 1 for n in hidden):
        raise ValueError(f"hidden = {hidden!r}: one or more layer sizes >= 1 expected")
    site = load_site(REFERENCE_SITE)
    # the extraction-condensing TG3's steam and the learned ducts are trained on their own campaigns
    # (make models): no wide variant here; the ducts' bundled models are copied in (the site needs them)
    site = dataclasses.replace(site, surrogates=dataclasses.replace(
        site.surrogates, kinds=[k for k in site.surrogates.kinds if k not in ("ectg_steam", "duct_steam")]))
    frame = read_historian(data_path)
    bundled = load_model_dir(reference_dir)
    for spec in learned_quantities(site):
        want = bundled[spec.name].metadata.get("data_hash")
        got = prepare(frame, spec).data_hash
        if want != got:
            raise ValueError(f"{data_path}: data of {spec.name} has hash {got[:12]}..., the bundled model in {reference_dir} was "
                             f"trained on {str(want)[:12]}...: regenerate the campaign with `make models`' simulate command")
    config = TrainingConfig(sizes=(tuple(int(n) for n in hidden),), seeds=SEEDS)
    rows = train_site_models(site, frame, out_dir, config)
    add_bundled_ducts(out_dir, reference_dir)
    return rows


def add_bundled_ducts(out_dir: str | Path, reference_dir: str | Path = BUNDLED_MODELS) -> list[str]:
    """Copy the bundled learned-duct models (kind ``duct_steam``, :mod:`optimizer.duct`) into the
    model directory ``out_dir`` and list them in its manifest (the reference site's ducts need
    their models; they have no wide variant). Returns their names."""
    import shutil

    from optimizer.model_site import build_site_record
    from optimizer.site import load_site
    from optimizer.site.model import learned_ducts
    from surrogate.manifest import read_manifest, write_manifest

    site = load_site(REFERENCE_SITE)
    ref = read_manifest(reference_dir)
    names = [f"{g}_duct" for g in learned_ducts(site) if f"{g}_duct" in ref.models]
    for n in names:
        shutil.copyfile(Path(reference_dir) / ref.models[n].file, Path(out_dir) / ref.models[n].file)
    man = read_manifest(out_dir)
    entries = {n: (e.file, e.inputs, e.outputs) for n, e in man.models.items()}
    entries.update({n: (ref.models[n].file, ref.models[n].inputs, ref.models[n].outputs) for n in names})
    record = build_site_record(site, {n: (i, o) for n, (_, i, o) in entries.items()}) if man.site_record is not None else None
    write_manifest(out_dir, entries, site=man.site, site_record=record)
    return names


def check_supervisor(model_dir: str | Path, cycles: int = 24, seed: int = 7) -> dict:
    """Step the supervisor on the reference site with the models of ``model_dir`` over ``cycles``
    cycles of a simulated day under today's practice; per cycle: status, the largest relative
    difference between onnxruntime and the embedded curve, and the number of exact breakpoints of
    each curve group (the learned curves of one decision variable, on the union of their
    breakpoints) over the cycle's box (from the ``lam_hi`` Params the cycle wrote)."""
    import pyomo.environ as pyo

    from benchmarks.suite import _snapshots
    from optimizer.site import load_site
    from optimizer.supervisor import Supervisor, SupervisorConfig
    from surrogate.manifest import load_model_dir

    site = load_site(REFERENCE_SITE)
    sup = Supervisor(site, load_model_dir(model_dir), SupervisorConfig())
    statuses: dict[str, int] = {}
    groups = sup.model.st.groups
    agreement, points, free = [], {g: [] for g in groups}, []
    try:
        for snap in _snapshots(site, cycles, seed=seed):
            p = sup.step(snap)
            statuses[p.status] = statuses.get(p.status, 0) + 1
            if p.surrogate_agreement:
                agreement.append(max(p.surrogate_agreement.values()))
            free.append(int(p.stats.get("binaries_free", 0)))
            for g, grp in groups.items():
                points[g].append(sum(1 for k in range(grp.max_points) if pyo.value(sup.model.lam_hi[g, k]) > 0))
    finally:
        sup._pool.shutdown(wait=True)  # noqa: SLF001 - free the worker thread
    return {
        "model_dir": str(model_dir), "cycles": cycles, "statuses": statuses,
        "max_agreement_rel": max(agreement) if agreement else None,
        "binaries": int(sup.n_binaries), "binaries_free_median": float(statistics.median(free)), "binaries_free_max": max(free),
        "max_points_per_group": {g: grp.max_points for g, grp in groups.items()},
        "members": {g: list(grp.members) for g, grp in groups.items()},
        "convex": {g: grp.convex for g, grp in groups.items()},
        "breakpoints": {name: {"median": float(np.median(v)), "max": int(max(v))} for name, v in points.items()},
    }


def comparison_markdown(wide_rows: list[dict], reference_dir: str | Path, check: dict | None, ref_check: dict | None) -> str:
    """Bundled vs wide test accuracy per quantity, and the supervisor check."""
    ref = {r["quantity"]: r for r in json.loads((Path(reference_dir) / "accuracy.json").read_text(encoding="utf-8"))}
    lines = ["## Against the bundled models (same data, same test split)", "",
             "| quantity | bundled layers | bundled test MAPE % | bundled max error % | wide layers | wide test MAPE % | wide max error % |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in wide_rows:
        b = ref[r["quantity"]]
        lines.append(f"| {r['quantity']} | {len(b['inputs'])}-{'-'.join(map(str, b['hidden_sizes']))}-1 | {max(b['test']['mape_pct']):.3f} | "
                     f"{max(b['test']['max_ape_pct']):.3f} | {len(r['inputs'])}-{'-'.join(map(str, r['hidden_sizes']))}-1 | "
                     f"{max(r['test']['mape_pct']):.3f} | {max(r['test']['max_ape_pct']):.3f} |")
    if check:
        lines += ["", f"## Supervisor check ({check['cycles']} cycles of the reference site, today's practice snapshots)", "",
                  "| models | statuses | max onnxruntime vs embedded (rel.) | binaries (free median/max) |", "| --- | --- | --- | --- |"]
        for label, c in (("bundled", ref_check), ("wide", check)):
            if c:
                lines.append(f"| {label} | {', '.join(f'{k} {v}' for k, v in c['statuses'].items())} | {c['max_agreement_rel']:.1e} | "
                             f"{c['binaries']} ({c['binaries_free_median']:.0f}/{c['binaries_free_max']}) |")
        lines += ["", ("Exact breakpoints of each decision variable's learned curves (their union) over the cycle's box "
                       "(median / max over the cycles; the model reserves `max points` slots per group):"), "",
                  "| decision variable | curves | convex (no binaries) | bundled median/max | wide median/max | wide max points |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for g, bp in check["breakpoints"].items():
            rb = (ref_check or {}).get("breakpoints", {}).get(g)
            bundled = f"{rb['median']:.0f}/{rb['max']}" if rb else "-"
            lines.append(f"| {g} | {', '.join(check['members'][g])} | {'yes' if check['convex'][g] else 'no'} | "
                         f"{bundled} | {bp['median']:.0f}/{bp['max']} | {check['max_points_per_group'][g]} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the campaign historian of `make models` (.parquet or .csv)")
    ap.add_argument("--out", default=str(WIDE_MODELS), help="model directory to write")
    ap.add_argument("--hidden", type=int, nargs="+", default=list(WIDE_HIDDEN), help="hidden layer sizes (default 16 16)")
    ap.add_argument("--check-cycles", type=int, default=24, help="supervisor cycles for the acceptance check (0: skip)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("pyomo").setLevel(logging.ERROR)
    try:
        rows = train_wide(args.data, args.out, tuple(args.hidden))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    check = ref_check = None
    if args.check_cycles > 0:
        check = check_supervisor(args.out, args.check_cycles)
        ref_check = check_supervisor(BUNDLED_MODELS, args.check_cycles)
    extra = comparison_markdown(rows, BUNDLED_MODELS, check, ref_check)
    md = Path(args.out) / "accuracy.md"
    md.write_text(md.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    if check:
        (Path(args.out) / "supervisor_check.json").write_text(json.dumps({"wide": check, "bundled": ref_check}, indent=1), encoding="utf-8")
    print(md.read_text(encoding="utf-8"))
    bad = check is not None and (set(check["statuses"]) != {"optimal"} or (check["max_agreement_rel"] or 0.0) > 1e-6)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
