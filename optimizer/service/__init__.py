"""The HTTP/JSON service for a supervisory layer and the advisory web page (``steamopt serve``).

One engine per service (one site), cycles serialised; commissioning modes OFF / WARM / ON held
at run time; a bearer token on every state-changing request. See :mod:`optimizer.service.app`
for the routes, :mod:`optimizer.service.state` for the modes, docs/service.md for use.
FastAPI and uvicorn are the optional extra ``service`` (``pip install -e '.[service]'``).
"""

from optimizer.service.config import ServiceConfig, load_service_config, resolve_token
from optimizer.service.state import ModeError, ServiceState

__all__ = ["ModeError", "ServiceConfig", "ServiceState", "load_service_config", "resolve_token"]
