"""``steamopt serve``: the subcommand's arguments and handler (registered by scenarios/cli.py; the service itself is optimizer/service)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path


def register(sub) -> None:
    """Add ``serve`` to the CLI's subparsers."""
    sv = sub.add_parser("serve", help="HTTP/JSON service for a supervisory layer, and the advisory web page at / (docs/service.md)")
    sv.add_argument("--site", required=True, help="site TOML file")
    sv.add_argument("--models", required=True, help="model directory (ONNX files and manifest.toml)")
    sv.add_argument("--config", help="service configuration TOML (mode, closed_loop_setpoints, token_file, audit_log, ...)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (not loopback: a token is required)")
    sv.add_argument("--port", type=int, default=8080, help="TCP port")
    sv.add_argument("--opcua", metavar="ADAPTER_TOML", help="run the OPC UA plant link in the service with this adapter configuration "
                    "(as for `steamopt opcua run`; overrides opcua_config in --config); the service's mode drives it")
    sv.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exit 2 when the site, models, configuration or bind are refused; 0 when stopped."""
    try:
        from optimizer.service.run import serve
    except ImportError as exc:
        print(f"error: the service needs fastapi and uvicorn ({exc}): pip install -e '.[service]'", file=sys.stderr)
        return 2
    from optimizer.service.config import ServiceConfig, load_service_config

    config = load_service_config(args.config) if args.config else ServiceConfig()
    if args.opcua:
        config = dataclasses.replace(config, opcua_config=Path(args.opcua))
    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port}: must be a TCP port in 1..65535")
    serve(args.site, args.models, config, args.host, args.port)
    return 0
