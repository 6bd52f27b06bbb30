"""Accuracy report of a set of trained models: JSON for machines, a Markdown table for people."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from surrogate.atomic import atomic_write_text
from surrogate.data import PreparedData
from surrogate.train import TrainedModel


def report_rows(models: dict[str, tuple[PreparedData, TrainedModel]]) -> list[dict]:
    """One row per quantity: inputs, neurons, test accuracy, domain, data cleaning."""
    rows = []
    for name, (data, model) in models.items():
        net = model.network
        rows.append({
            "quantity": name,
            "inputs": net.input_names,
            "outputs": net.output_names,
            "hidden_sizes": net.hidden_sizes,
            "neurons": net.n_hidden,
            "test": asdict(model.test),
            "validation": asdict(model.validation),
            "train": asdict(model.train),
            "domain": {v.name: [v.lower, v.upper] for v in net.inputs},
            "data": {"rows": data.report.rows, "kept": data.report.kept, "dropped": data.report.dropped, "hash": data.data_hash},
            "candidates": [{"hidden_sizes": list(c.sizes), "seed": c.seed, "validation_mape_pct": c.validation.mape_pct} for c in model.candidates],
        })
    return rows


def markdown_table(rows: list[dict]) -> str:
    """quantity | inputs | neurons | MAPE | max error | domain."""
    lines = ["| quantity | inputs | neurons | test MAPE % | test max error % | test max abs error | domain |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        t = r["test"]
        domain = "; ".join(f"{k} {lo:.4g}..{hi:.4g}" for k, (lo, hi) in r["domain"].items())
        lines.append(f"| {r['quantity']} | {', '.join(r['inputs'])} | {r['neurons']} ({'-'.join(map(str, r['hidden_sizes']))}) | "
                     f"{max(t['mape_pct']):.3f} | {max(t['max_ape_pct']):.3f} | {max(t['max_abs_error']):.4g} | {domain} |")
    return "\n".join(lines)


def write_report(rows: list[dict], out_dir: Path, title: str = "Surrogate accuracy") -> tuple[Path, Path]:
    """Write ``accuracy.json`` and ``accuracy.md`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    j, m = out_dir / "accuracy.json", out_dir / "accuracy.md"
    atomic_write_text(j, json.dumps(rows, indent=2, sort_keys=True))
    atomic_write_text(m, f"# {title}\n\nHeld-out test split (the last part of the data in time).\n\n{markdown_table(rows)}\n")
    return j, m
