"""``steamopt step``, ``plan``, ``replay`` and ``historian replay``: the supervisory engine on a
snapshot, an audit log or a historian; :func:`explain` (a proposal for a person) and
:func:`parse_weights` (the weighted objective). The parser is in :mod:`scenarios.cli`."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from optimizer.site import load_site
from scenarios.cli_common import show_progress

#: Largest snapshot file ``steamopt step`` reads, bytes (a snapshot is one value per tag).
MAX_SNAPSHOT_BYTES = 10_000_000


def _cmd_step(args: argparse.Namespace) -> int:
    """Exit 0 with the proposal printed; 2 if the site, models or snapshot file cannot be used."""
    from optimizer.model_site import load_models_for_site
    from optimizer.supervisor import Supervisor, SupervisorConfig
    from surrogate.safe_read import read_json_file

    # read first: a missing, oversized, deeply nested or non-JSON snapshot is one error line, exit 2
    snapshot = read_json_file(args.snapshot, MAX_SNAPSHOT_BYTES, what="snapshot")
    site = load_site(args.site)
    models = load_models_for_site(site, args.models)  # "none": every unit on first principles
    weights = parse_weights(args.weights) if args.objective == "weighted" else None
    config = SupervisorConfig(cycle_s=args.cycle_s, time_budget_s=args.budget_s, objective=args.objective)
    if weights is not None:
        config.weights = {"cost": 0.0, "co2e": 0.0, "steam": 0.0, **weights}
    supervisor = Supervisor(site, models, config)
    proposal = supervisor.step(snapshot)
    if args.explain:
        print(explain(proposal, snapshot))
    else:
        print(proposal.to_json(indent=1))
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    from scenarios.plan_command import run_plan

    return run_plan(args)


def explain(p, snapshot: dict | None = None) -> str:
    """The proposal for a person: KPIs current vs proposed (the proposed alone, and why, when the
    current point could not be evaluated), every setpoint current vs proposed (current: the
    snapshot's reading of the same tag, where it has one), the binding limits in plant words with
    their worth, warnings and substitutions."""
    lines = [f"status: {p.status}   timestamp: {p.timestamp}   total {p.stats.get('total_ms', float('nan')):.1f} ms"]
    if p.proposed_kpis:
        lines.append(f"{'KPI':28s} {'current':>14s} {'proposed':>14s} {'saving':>14s}")
        for k, v in p.proposed_kpis.items():
            c = p.current_kpis.get(k) if p.current_kpis else None
            cur, saving = ("n/a", "n/a") if c is None else (f"{c:,.2f}", f"{c - v:,.2f}")
            lines.append(f"{k:28s} {cur:>14s} {v:14,.2f} {saving:>14s}")
        if not p.current_kpis:
            why = [w for w in p.warnings if "current operating point" in w or "current point" in w]
            lines.append("no current KPIs or savings: " + (why[0] if why else "the current point was not evaluated (no reason recorded)"))
    lines.append(f"{'setpoint':28s} {'current':>12s} {'proposed':>12s}")
    for k, v in p.setpoints.items():
        c = (snapshot or {}).get(k)
        cur = f"{c:12.3f}" if isinstance(c, (int, float)) and not isinstance(c, bool) else f"{'-':>12s}"
        lines.append(f"  {k:26s} {cur} {v:12.3f}")
    if p.binding:
        lines.append("binding limits (worth of one more unit of each, per hour):")
        for b in p.binding:
            per = f" per {b['unit']}" if b.get("unit") else ""
            lines.append(f"  {b.get('description', b['limit']):58s} {b['worth_per_unit_per_h']:12,.1f} {b.get('currency', '')}/h{per}")
    for w in p.warnings + p.domain_warnings:
        lines.append(f"warning: {w}")
    for s in p.substitutions:
        lines.append(f"substituted: {s['tag']} = {s['value']!r} ({s['reason']}) -> {s['used']} ({s['source']})")
    return "\n".join(lines)


def _cmd_replay(args: argparse.Namespace) -> int:
    """Exit 0: every complete record replayed exactly; 1: some differ. Lines that are not a whole
    record (torn by a crash) are reported and skipped; they do not stop the others."""
    from optimizer.audit import read_log_checked, replay
    from optimizer.model_site import load_models_for_site

    site = load_site(args.site)
    models = load_models_for_site(site, args.models)
    audit_log = read_log_checked(args.log)
    for n, size, reason in audit_log.skipped:
        print(f"warning: {args.log}:{n}: skipped ({size} bytes): {reason}", file=sys.stderr)
    if audit_log.torn_tail is not None:
        n, size = audit_log.torn_tail
        print(f"{args.log}: torn last line {n} ({size} bytes, no newline) skipped; replaying the {len(audit_log.records)} complete record(s)")
    records, numbers = audit_log.records, audit_log.line_numbers
    if not records:
        raise ValueError(f"{args.log}: no complete record to replay ({len(audit_log.skipped)} line(s) skipped)")
    if args.line is None:
        chosen = range(len(records))
    elif args.line in numbers:
        chosen = [numbers.index(args.line)]
    else:
        skipped = {n for n, _, _ in audit_log.skipped}
        why = "is not a complete record (see the warning above)" if args.line in skipped else "holds no record"
        raise ValueError(f"--line {args.line}: line {args.line} of {args.log} {why}; "
                         f"the log has {len(records)} record(s) on lines {numbers[0] if numbers else '-'}..{numbers[-1] if numbers else '-'}")
    failures = 0
    for i in chosen:
        proposal, diffs = replay(site, models, records[i])
        print(f"line {numbers[i]}: {(records[i].get('proposal') or {}).get('timestamp')} {proposal.status}: "
              f"{'reproduced exactly' if not diffs else f'{len(diffs)} difference(s)'}")
        for d in diffs[:10]:
            print(f"  {d}")
        failures += bool(diffs)
    return 1 if failures else 0


def _cmd_historian_replay(args: argparse.Namespace) -> int:
    from scenarios.adherence import AdherenceRules, adherence_report, summary_markdown, write_adherence
    from scenarios.historian_replay import replay_historian, write_replay
    from optimizer.model_site import load_models_for_site
    from scenarios.training import read_historian

    t0 = time.perf_counter()
    site = load_site(args.site)
    models = load_models_for_site(site, args.models)
    frame = read_historian(args.data)
    out = Path(args.out)
    result = replay_historian(site, models, frame, log_path=out / "advisory.jsonl", progress=show_progress(args), limit=args.limit)
    paths = write_replay(result, out)
    report = adherence_report(site, models, result, frame, AdherenceRules(attribute=not args.no_attribution), progress=show_progress(args))
    paths.update(write_adherence(report, out, result))
    print(summary_markdown(report, result))
    r, a = result.totals, report.totals
    print(f"replayed {int(r['rows'])} rows in {time.perf_counter() - t0:.1f} s: predicted saving {r['predicted_saving']:,.0f} {site.currency}, "
          f"{r['predicted_co2e_saving_t']:,.2f} t CO2e; captured {a.get('captured_saving', 0.0):,.0f} {site.currency} "
          f"of {a.get('proposed_saving', 0.0):,.0f}")
    print(f"advisory log {paths['advisory']}; tables, summary.md and adherence.png in {out}")
    return 0


def parse_weights(text: str) -> dict[str, float]:
    """``"cost=1,co2e=2000,steam=0"`` -> weights of the weighted objective; ``ValueError`` naming the
    item and the rule (keys cost, co2e, steam; finite numbers >= 0; at least one > 0)."""
    out: dict[str, float] = {}
    for item in filter(None, (i.strip() for i in text.split(","))):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in ("cost", "co2e", "steam"):
            raise ValueError(f"--weights {item!r}: expected cost=W, co2e=W or steam=W")
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"--weights {key} = {raw.strip()!r}: must be a number") from None
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"--weights {key} = {value!r}: must be a finite number >= 0")
        out[key] = value
    if not any(out.values()):
        raise ValueError(f"--weights {text!r}: at least one weight must be > 0")
    return out
