"""Wide (x-16-16-1) multi-input networks of the reference site, the fixtures of the OMLT benchmark
:mod:`benchmarks.relu_omlt_wide` (issue 17). Not bundled models: the site never loads them.

Trained from the same campaign data as the bundled models (``make models``' two simulate
commands, seed 11, 90 days at 15 min, 0.5 % noise), with the same preparation and trainer
(:func:`surrogate.data.prepare`, :func:`surrogate.train.train_quantity`: standardised data,
scikit-learn MLPRegressor with L-BFGS, seeds 0 and 1, scaling folded), but with one fixed
architecture, two hidden layers of 16:

* ``TG3_steam_wide`` (2-16-16-1): the extraction-condensing TG3's inlet steam (t/h) of its power
  (MW) and extraction (t/h), both decisions; TG3's own campaign (``--step-units TG3``), the very
  quantity of the bundled ``TG3_steam`` (2-3-1): its prepared data must hash to the bundled
  model's ``data_hash`` (refused otherwise);
* ``GT1_hrsg_duct_wide`` (3-16-16-1): the duct-fired HRSG of GT1, its total steam (t/h,
  ``GT1.hrsg_steam_tph``: unfired + duct) of the GT's power (MW) and the duct burner's fuel
  (GJ/h), decisions, and the ambient temperature (degC), a disturbance; the site campaign (where
  the duct firing is stepped independently of the GT's load), rows with the duct burner in
  service (duct fuel > 0). No bundled model has two or more decision inputs and three inputs;
  this one is a benchmark fixture only (the site's duct firing is another piece of issue 17).

The ONNX files carry the accuracy in their metadata (``test_mape_pct``, ...) like the bundled
ones; ``trained_at`` is fixed so a re-run on the same data writes the same bytes.
``accuracy.json`` / ``accuracy.md`` beside them.

Usage::

    python -m benchmarks.relu_wide_fixtures --data out/training/historian.parquet \\
        --tg3-data out/training_TG3/historian.parquet [--out benchmarks/data/relu_wide]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_SITE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
BUNDLED_MODELS = ROOT / "scenarios" / "models" / "reference_olefins"
FIXTURES = ROOT / "benchmarks" / "data" / "relu_wide"
HIDDEN: tuple[int, ...] = (16, 16)
SEEDS: tuple[int, ...] = (0, 1)
FIXED_TRAINED_AT = "fixture (deterministic: seeds 0, 1 on the campaign of make models)"

#: fixture name -> (decision inputs, disturbance inputs, output)
NETWORKS: dict[str, tuple[list[str], list[str], str]] = {
    "TG3_steam_wide": (["TG3.power_mw", "TG3.extraction0_tph"], [], "TG3.inlet_tph"),
    "GT1_hrsg_duct_wide": (["GT1.power_mw", "GT1.duct_fuel_gj_h"], ["ambient_temp_c"], "GT1.hrsg_steam_tph"),
}

log = logging.getLogger("benchmarks.relu_wide_fixtures")


def _specs():
    """The two quantities' :class:`~surrogate.data.QuantitySpec` (TG3's from the site's learned
    quantities, so its preparation is the bundled model's)."""
    from optimizer.site import load_site
    from scenarios.learning import AMBIENT, AMBIENT_RANGE_C, learned_quantities
    from scenarios.plant.historian import unit_of
    from surrogate.data import QuantitySpec

    site = load_site(REFERENCE_SITE)
    tg3 = next(s for s in learned_quantities(site) if s.name == "TG3_steam")
    g = site.gas_turbines["GT1"]
    x, d, y = NETWORKS["GT1_hrsg_duct_wide"]
    cols = x + d + [y]
    gt1 = QuantitySpec("GT1_hrsg_duct_wide", x + d, [y], ranges={
        AMBIENT: AMBIENT_RANGE_C, "GT1.power_mw": (g.min_power_mw * 0.97, g.iso_power_mw * 1.2),
        "GT1.duct_fuel_gj_h": (1e-6, 1e4), y: (1e-6, 1e5)}, units={c: unit_of(c) for c in cols}, settle_rows=0)
    return {"TG3_steam_wide": tg3, "GT1_hrsg_duct_wide": gt1}


def train_fixtures(data_path: str | Path, tg3_data_path: str | Path, out_dir: str | Path = FIXTURES) -> list[dict]:
    """Train both networks and write ``out_dir`` (ONNX files, accuracy.json, accuracy.md); returns
    the accuracy rows. ValueError if TG3's prepared data differ from the bundled model's."""
    from scenarios.training import read_historian
    from surrogate.data import prepare
    from surrogate.manifest import load_model_dir
    from surrogate.onnx_io import save_network
    from surrogate.train import TrainingConfig, train_quantity

    specs = _specs()
    frames = {"TG3_steam_wide": read_historian(tg3_data_path), "GT1_hrsg_duct_wide": read_historian(data_path)}
    bundled_tg3 = load_model_dir(BUNDLED_MODELS)["TG3_steam"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, spec in specs.items():
        data = prepare(frames[name], spec)
        if name == "TG3_steam_wide" and data.data_hash != bundled_tg3.metadata.get("data_hash"):
            raise ValueError(f"{tg3_data_path}: TG3's prepared data hash {data.data_hash[:12]}... differs from the bundled TG3_steam's "
                             f"{str(bundled_tg3.metadata.get('data_hash'))[:12]}...: regenerate it with `make models`' TG3 campaign")
        model = train_quantity(data, TrainingConfig(sizes=(HIDDEN,), seeds=SEEDS))
        model.network.metadata["trained_at"] = FIXED_TRAINED_AT
        model.network.metadata["quantity"] = name
        save_network(model.network, out / f"{name}.onnx", name)
        decision, disturbance, _ = NETWORKS[name]
        rows.append({"name": name, "inputs": spec.inputs, "decision_inputs": decision, "disturbances": disturbance,
                     "output": spec.outputs[0], "layers": f"{len(spec.inputs)}-{'-'.join(map(str, HIDDEN))}-1",
                     "seed": int(model.network.metadata["seed"]), "data_hash": data.data_hash, "data_report": str(data.report),
                     "domain": data.domain, "test_rows": model.test.rows,
                     "test_mape_pct": float(model.test.mape_pct[0]), "test_max_ape_pct": float(model.test.max_ape_pct[0]),
                     "test_max_abs_error": float(model.test.max_abs_error[0])})
        log.info("%s: test MAPE %.3f %%, max error %.3f %%", name, rows[-1]["test_mape_pct"], rows[-1]["test_max_ape_pct"])
    _write(out / "accuracy.json", json.dumps(rows, indent=1) + "\n")
    _write(out / "accuracy.md", accuracy_markdown(rows, bundled_tg3))
    return rows


def accuracy_markdown(rows: list[dict], bundled_tg3=None) -> str:
    """The fixtures' held-out test accuracy (and the bundled TG3_steam's, same data)."""
    lines = ["# Wide multi-input networks (benchmark fixtures, benchmarks/relu_wide_fixtures.py)", "",
             "| network | layers | decisions | disturbances | output | test rows | test MAPE % | max error % | max abs. error |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['layers']} | {', '.join(r['decision_inputs'])} | {', '.join(r['disturbances']) or '-'} | "
                     f"{r['output']} | {r['test_rows']} | {r['test_mape_pct']:.3f} | {r['test_max_ape_pct']:.3f} | {r['test_max_abs_error']:.3f} |")
    if bundled_tg3 is not None:
        md = bundled_tg3.metadata
        net = bundled_tg3.network
        lines.append(f"| TG3_steam (bundled, same data) | {len(net.inputs)}-{'-'.join(map(str, net.hidden_sizes))}-1 | "
                     f"TG3.power_mw, TG3.extraction0_tph | - | TG3.inlet_tph | {md.get('test_rows', '-')} | "
                     f"{float(md['test_mape_pct']):.3f} | {float(md['test_max_ape_pct']):.3f} | {float(md['test_max_abs_error']):.3f} |")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the site campaign historian of `make models` (.parquet or .csv)")
    ap.add_argument("--tg3-data", required=True, help="TG3's own campaign historian of `make models`")
    ap.add_argument("--out", default=str(FIXTURES), help="directory to write")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        train_fixtures(args.data, args.tg3_data, args.out)
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write((Path(args.out) / "accuracy.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
