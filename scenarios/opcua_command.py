"""``steamopt opcua run | demo-server``: the plant link's subcommands (registered by scenarios/cli.py)."""

from __future__ import annotations

import argparse
import sys

from optimizer.site import load_site


def register(sub) -> None:
    """Add ``opcua run`` and ``opcua demo-server`` to the CLI's subparsers."""
    oc = sub.add_parser("opcua", help="the plant link: OPC UA adapter").add_subparsers(dest="opcua_command", required=True)
    ur = oc.add_parser("run", help="read the plant over OPC UA every cycle, step, publish the proposal (and write, in closed-loop mode)")
    ur.add_argument("--site", required=True, help="site TOML file with a [plant_connection] tag map")
    ur.add_argument("--models", required=True, help="model directory (ONNX files and manifest.toml)")
    ur.add_argument("--config", required=True, help="adapter configuration TOML (e.g. scenarios/opcua/reference_olefins.toml)")
    ur.add_argument("--cycles", type=int, help="stop after this many cycles (default: run until interrupted)")
    ur.add_argument("--mode-file", help="commissioning switches at run time: a TOML file with mode = \"OFF\" | \"WARM\" | \"ON\", "
                                        "enabled = [...], reason = \"...\", read at the start of each cycle when it changes")
    ur.set_defaults(func=run)
    dm = oc.add_parser("demo-server", help="a demo plant: the plant simulator served as an OPC UA server on loopback, "
                                           "with the adapter's default security (try the loop without a plant)")
    dm.add_argument("--site", required=True, help="site TOML file with a [plant_connection] tag map")
    dm.add_argument("--port", type=int, default=4840, help="TCP port on 127.0.0.1")
    dm.add_argument("--pki", default="out/opcua_demo", help="folder for the demo's certificates and the adapter.toml it writes")
    dm.add_argument("--period-s", type=float, default=5.0, help="wall-clock seconds per simulated step")
    dm.add_argument("--step-min", type=float, default=15.0, help="simulated minutes per step")
    dm.add_argument("--seed", type=int, default=0, help="random seed of the demand and ambient profile")
    dm.add_argument("--steps", type=int, help="stop after this many steps (default: run until interrupted)")
    dm.set_defaults(func=demo)


def demo(args: argparse.Namespace) -> int:
    """Serve the demo plant until interrupted (or ``--steps``); exit 2 without the password."""
    import asyncio
    import os

    site = load_site(args.site)
    if site.plant_connection is None or not site.plant_connection.read_nodes:
        raise ValueError(f"{args.site}: no [plant_connection] tag map: the demo plant serves that map")
    try:
        from scenarios.opcua_demo import PASSWORD_ENV, DemoPlant, prepare_pki, serve
    except ImportError as exc:
        print(f"error: the demo plant needs asyncua ({exc}): pip install -e '.[opcua]'", file=sys.stderr)
        return 2
    password = os.environ.get(PASSWORD_ENV, "")
    if not password:
        raise ValueError(f"environment variable {PASSWORD_ENV}: not set; the demo plant and the adapter use it as the password")
    endpoint = f"opc.tcp://127.0.0.1:{args.port}/steamopt"
    timezone = site.timezone or "UTC"
    config = prepare_pki(args.pki, endpoint, args.site, timezone)
    plant = DemoPlant(site, endpoint, pki=args.pki, password=password, step_min=args.step_min, seed=args.seed, timezone=timezone)
    print(f"demo plant {site.name} at {endpoint} (Basic256Sha256 SignAndEncrypt, user steamopt), a step of {args.step_min:g} min "
          f"every {args.period_s:g} s\nconnect the engine with:\n  steamopt opcua run --site {args.site} --models MODELS --config {config}\n"
          f"or the service and its page (http://127.0.0.1:8080/):\n  steamopt serve --site {args.site} --models MODELS --opcua {config}",
          flush=True)
    try:
        asyncio.run(serve(plant, args.period_s, args.steps))
    except KeyboardInterrupt:
        print("stopped", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    import asyncio

    from optimizer.opcua.config import check_against_site, load_adapter_config
    from optimizer.model_site import load_models_for_site

    site = load_site(args.site)
    config = load_adapter_config(args.config)
    check_against_site(config, site)
    try:
        from optimizer.opcua.adapter import PlantAdapter, build_supervisor
    except ImportError as exc:
        print(f"error: the OPC UA adapter needs asyncua ({exc}): pip install -e '.[opcua]'", file=sys.stderr)
        return 2
    adapter = PlantAdapter(site, build_supervisor(site, load_models_for_site(site, args.models), config), config)
    if args.mode_file:
        adapter.watch_mode_file(args.mode_file)
    connected = []

    def show(report) -> None:
        connected.append(report.connected)
        print(report.summary(), flush=True)
        for w in report.writes:
            print(f"  {'wrote' if w.written else 'REFUSED'} {w.setpoint} = {w.value} -> {w.node}{': ' + w.reason if w.reason else ''}", flush=True)

    print(f"steamopt opcua: {config.mode} mode, {config.endpoint} ({config.security_policy}), cycle {config.cycle_s:g} s"
          + (f", may write {', '.join(config.write_allow_list)}" if config.closed_loop else ""), flush=True)
    try:
        asyncio.run(adapter.run(cycles=args.cycles, on_cycle=show))
    except KeyboardInterrupt:
        print("stopped", flush=True)
    return 0 if any(connected) or not connected else 1
