"""Starting the service: the engine factory, the bind check and uvicorn."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from optimizer.service.config import TOKEN_ENV, ServiceConfig, resolve_token
from optimizer.service.state import ServiceState
from optimizer.supervisor import Supervisor, SupervisorConfig

if TYPE_CHECKING:
    from optimizer.opcua.config import AdapterConfig

log = logging.getLogger(__name__)

#: Host header values a loopback service accepts (with any port)
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost
        return False


def check_bind(host: str, token: str | None) -> None:
    """A bind other than loopback needs a token: ``ValueError`` naming the host and the rule."""
    if token is None and not is_loopback(host):
        raise ValueError(f"--host {host}: not a loopback address, and no token is configured; set {TOKEN_ENV} or token_file "
                         "in the service configuration (state-changing requests must be authenticated off this machine)")


def engine_factory(site_path: str | Path, models_dir: str | Path, config: ServiceConfig,
                   link_config: AdapterConfig | None = None) -> Callable[[], Supervisor]:
    """A function building the engine from the site file and model directory with the service's
    cycle settings (and audit log); with a plant link, as the OPC UA adapter builds it (its
    objective and the site's local wall clock), with the service's audit log."""
    audit_log = None if config.audit_log is None else str(config.audit_log)

    def build() -> Supervisor:
        from optimizer.model_site import load_models_for_site
        from optimizer.site import load_site

        site = load_site(site_path)
        if link_config is not None:
            from optimizer.opcua.adapter import build_supervisor

            return build_supervisor(site, load_models_for_site(site, models_dir), link_config, audit_log=audit_log)
        cfg = SupervisorConfig(cycle_s=config.cycle_s, time_budget_s=config.time_budget_s, objective=config.objective,
                               audit_log=audit_log)
        return Supervisor(site, load_models_for_site(site, models_dir), cfg)

    return build


def make_server(state: ServiceState, token: str | None, host: str = "127.0.0.1", port: int = 8080, **uvicorn_options):
    """A ``uvicorn.Server`` for the service (not started). Raises ``ValueError`` for a non-loopback
    bind without a token."""
    import uvicorn

    from optimizer.service.app import create_app

    check_bind(host, token)
    app = create_app(state, token, LOOPBACK_NAMES if is_loopback(host) else None)
    cfg = uvicorn.Config(app, host=host, port=port, log_level=uvicorn_options.pop("log_level", "info"),
                         limit_concurrency=uvicorn_options.pop("limit_concurrency", 64),
                         timeout_keep_alive=uvicorn_options.pop("timeout_keep_alive", 5), **uvicorn_options)
    return uvicorn.Server(cfg)


def serve(site_path: str | Path, models_dir: str | Path, config: ServiceConfig, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the service in the foreground until interrupted. The site, models and plant link's
    configuration are checked first (a bad file, or models trained for other physics, is a
    ``ValueError`` before anything listens); the engine is then built on a thread while the
    server answers health checks, and the plant link (when configured) starts its cycles once
    the engine is ready."""
    from optimizer.model_site import check_manifest_for_site
    from optimizer.site import load_site
    from surrogate.manifest import read_manifest

    token = resolve_token(config)
    check_bind(host, token)
    site = load_site(site_path)  # a bad site file fails here, with its message, not later in readiness
    if not Path(models_dir).is_dir():
        raise ValueError(f"--models {models_dir}: not a directory")
    check_manifest_for_site(site, read_manifest(models_dir))  # models of another site's physics: refused before anything listens
    if token is None:
        log.warning("no token configured (%s or token_file): state-changing requests are open to anyone on this machine", TOKEN_ENV)
    state = new_state(site_path, models_dir, config)
    make_server(state, token, host, port).run()


def new_state(site_path: str | Path, models_dir: str | Path, config: ServiceConfig) -> ServiceState:
    """The service's state with its engine factory and, when ``config.opcua_config`` is set, its
    plant link (checked against the service's cycle and mode: ``ValueError`` when they disagree)."""
    if config.opcua_config is None:
        return ServiceState(engine_factory(site_path, models_dir, config), config)
    from optimizer.service.plant_link import PlantLink, load_link_config

    link_config = load_link_config(config.opcua_config, config.cycle_s, config.mode, config.closed_loop_setpoints)
    from optimizer.opcua.config import check_against_site
    from optimizer.site import load_site

    check_against_site(link_config, load_site(site_path))
    state = ServiceState(engine_factory(site_path, models_dir, config, link_config), config)
    state.plant_link = PlantLink(state, link_config)
    return state
