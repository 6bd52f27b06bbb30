"""The HTTP/JSON service (FastAPI): routes, bearer-token check, request size limit.

=======================  =====================================================  ===========
route                    what                                                   token
=======================  =====================================================  ===========
GET  /healthz            alive                                                  no
GET  /readyz             engine built, models loaded (503 until then)           no
POST /api/step           snapshot JSON -> proposal (409 in OFF)                 yes
GET  /api/proposal/latest  the latest step's answer (404 before the first)     no
POST /api/plan           snapshot JSON -> look-ahead schedule (409 in OFF)      yes
GET  /api/plan/latest    the latest schedule (404 before the first)             no
GET  /api/audit          latest audit records and mode switches                 no
GET  /api/mode           mode, since when, closed-loop setpoints                no
PUT  /api/mode           {"mode": "OFF|WARM|ON", "closed_loop_setpoints": [..]}  yes
GET  /api/status         everything the page shows                              no
GET  /                   the advisory page (static, no external assets)         no
=======================  =====================================================  ===========

Bodies must be sent as ``application/json`` (else 415); bodies larger than ``max_body_bytes`` get 413 (from Content-Length before reading, else while
reading); bodies that are not JSON (or nested too deep) get 422; a snapshot that is JSON but not
usable goes to the engine, whose proposal says ``invalid_input`` (the engine never raises).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import threading
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from optimizer import __version__
from optimizer.service.config import ServiceConfig
from optimizer.service.state import ModeError, ServiceState, tail_records
from surrogate.safe_read import DataLimitError, loads_json

log = logging.getLogger(__name__)

STATIC_DIR = resources.files("optimizer.service") / "static"
_SNAPSHOT_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "a snapshot: tag -> value, and timestamp (ISO 8601)", "additionalProperties": True}}}}}
_MODE_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["mode"], "properties": {
        "mode": {"type": "string", "enum": ["OFF", "WARM", "ON"]},
        "closed_loop_setpoints": {"type": "array", "items": {"type": "string"}},
        "reason": {"type": "string"}}}}}}}


def create_app(state: ServiceState, token: str | None, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The ASGI application around one :class:`ServiceState`. ``token``: the bearer token that
    state-changing requests must carry (None: no token; only for a loopback bind, see
    :func:`optimizer.service.run.serve`). ``allowed_hosts``: the Host header values accepted
    (others get 400: a loopback service is not reachable through a rebound DNS name); None: any.
    When the state's engine is not built yet, it is built on a thread at start-up."""
    config: ServiceConfig = state.config

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if not state.ready and state.engine_error is None:
            threading.Thread(target=state.build, name="steamopt-service-build", daemon=True).start()
        link = None if state.plant_link is None else asyncio.create_task(state.plant_link.run(), name="steamopt-plant-link")
        yield
        if link is not None:  # the adapter closes its session on cancellation
            link.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await link

    app = FastAPI(title="steamopt", version=__version__, lifespan=lifespan,
                  description="Supervisory steam-network optimisation: proposals, plans, commissioning modes.")
    app.state.service = state
    if allowed_hosts is not None:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)

    def authorised(request: Request) -> str:
        if token is None:
            return "anonymous (no token configured; loopback)"
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise HTTPException(401, "a valid bearer token is required (Authorization: Bearer <token>)",
                                headers={"WWW-Authenticate": 'Bearer realm="steamopt"'})
        return "bearer token"

    def engine() -> ServiceState:
        if not state.ready:
            raise HTTPException(503, f"engine not ready: {state.engine_error or 'still being built'}")
        return state

    def not_off() -> None:
        if state.mode == "OFF":
            raise HTTPException(409, "mode OFF: no proposals are computed (PUT /api/mode to WARM or ON)")

    async def json_body(request: Request) -> Any:
        # JSON only: a browser cannot send it across origins without asking first (CORS
        # preflight, which this service never grants), so no other site's page can post here
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise HTTPException(415, f"Content-Type {kind or '(none)'!r}: the body must be sent as application/json")
        limit = config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, f"request body of {int(declared)} bytes; at most {limit} bytes are accepted")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"request body over {limit} bytes; at most {limit} bytes are accepted")
            chunks.append(chunk)
        try:
            return loads_json(b"".join(chunks).decode("utf-8"), "request body", what="request body")
        except UnicodeDecodeError as exc:
            raise HTTPException(422, f"request body: not UTF-8 text (byte {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise HTTPException(422, f"request body: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except DataLimitError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.get("/healthz")
    def healthz() -> dict:
        return {"alive": True, "version": __version__}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        body = {"ready": state.ready, "engine_error": state.engine_error,
                "site": state.supervisor.site.name if state.ready else None,
                "models": len(state.supervisor.audit_info["model_hashes"]) if state.ready else 0}
        return JSONResponse(body, status_code=200 if state.ready else 503)

    @app.post("/api/step", openapi_extra=_SNAPSHOT_BODY)
    async def step(request: Request, _who: str = Depends(authorised), s: ServiceState = Depends(engine)) -> dict:
        not_off()
        snapshot = await json_body(request)
        return await run_in_threadpool(s.step, snapshot)

    @app.get("/api/proposal/latest")
    def proposal_latest() -> dict:
        if state.latest is None:
            raise HTTPException(404, "no proposal yet (POST a snapshot to /api/step)")
        return state.latest

    @app.post("/api/plan", openapi_extra=_SNAPSHOT_BODY)
    async def plan(request: Request, horizon_h: float | None = Query(None, ge=1.0, le=168.0),
                   period_min: float | None = Query(None, ge=5.0, le=240.0),
                   _who: str = Depends(authorised), s: ServiceState = Depends(engine)) -> dict:
        not_off()
        snapshot = await json_body(request)
        return await run_in_threadpool(s.plan, snapshot, horizon_h or config.plan_horizon_h, period_min or config.plan_period_min)

    @app.get("/api/plan/latest")
    def plan_latest() -> dict:
        if state.latest_plan is None:
            raise HTTPException(404, "no plan yet (POST a snapshot to /api/plan)")
        return state.latest_plan

    @app.get("/api/audit")
    def audit(limit: int = Query(20, ge=1, le=500)) -> dict:
        if config.audit_log is None:
            return {"configured": False, "records": [], "mode_switches": state.mode_history[-limit:]}
        records = tail_records(config.audit_log, limit)
        return {"configured": True, "path": str(config.audit_log), "records": records,
                "mode_switches": tail_records(config.mode_log, limit)}

    @app.get("/api/mode")
    def get_mode() -> dict:
        return state.mode_view()

    @app.put("/api/mode", openapi_extra=_MODE_BODY)
    async def put_mode(request: Request, who: str = Depends(authorised), s: ServiceState = Depends(engine)) -> dict:
        body = await json_body(request)
        if not isinstance(body, dict) or set(body) - {"mode", "closed_loop_setpoints", "reason"}:
            raise HTTPException(422, "body: must be an object with mode, and optionally closed_loop_setpoints and reason"
                                     + (f" (unknown: {', '.join(sorted(set(body) - {'mode', 'closed_loop_setpoints', 'reason'}))})"
                                        if isinstance(body, dict) else f"; got a JSON {type(body).__name__}"))
        try:
            s.set_mode(body.get("mode"), body.get("closed_loop_setpoints"), str(body.get("reason", "")),
                       f"{who} from {request.client.host if request.client else '?'}")
        except ModeError as exc:
            raise HTTPException(422, str(exc)) from None
        return s.mode_view()

    @app.get("/api/status")
    def status() -> dict:
        return state.status_view()

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(STATIC_DIR / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    return app
