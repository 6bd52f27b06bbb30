"""A real uvicorn server of the service on 127.0.0.1 (a free port) in a thread, and a small HTTP client."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
MODELS = ROOT / "scenarios" / "models" / "reference_olefins"
SNAPSHOT = ROOT / "scenarios" / "snapshots" / "reference_olefins.json"
TOKEN = "test-token-0123456789abcdef"
# a generous budget: the same answer as the library on a loaded machine (no time-limited cycles)
BUDGET_S = 20.0


def base_snapshot() -> dict:
    return json.loads(SNAPSHOT.read_text())


def new_supervisor(audit_log: str | None = None):
    from steamopt import Supervisor, SupervisorConfig, load_models, load_site

    return Supervisor(load_site(SITE), load_models(MODELS), SupervisorConfig(time_budget_s=BUDGET_S, audit_log=audit_log))


class RunningService:
    """``with RunningService(state, token) as svc: svc.request("GET", "/healthz")``."""

    def __init__(self, state, token: str | None = TOKEN):
        from optimizer.service.run import make_server

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = make_server(state, token, "127.0.0.1", self.port, log_level="warning")
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.state = state

    def __enter__(self) -> RunningService:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the service did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: object = None, token: str | None = TOKEN, **kwargs) -> tuple[int, object]:
        return request(self.port, method, path, body, token, **kwargs)


def request(port: int, method: str, path: str, body: object = None, token: str | None = TOKEN, raw: bytes | None = None,
            headers: dict | None = None, chunked: bool = False, timeout_s: float = 120.0) -> tuple[int, object]:
    """One HTTP request to 127.0.0.1:port: (HTTP status, parsed JSON body or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if data is not None:
        h.setdefault("Content-Type", "application/json")
    if chunked:
        conn.request(method, path, body=iter([data[i:i + 65536] for i in range(0, len(data), 65536)]), headers=h, encode_chunked=True)
    else:
        conn.request(method, path, body=data, headers=h)
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    try:
        return resp.status, json.loads(text)
    except ValueError:
        return resp.status, text
