"""``steamopt serve`` end to end against a real uvicorn server on loopback (optimizer/service)."""

from __future__ import annotations

import json
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the service extra (fastapi, uvicorn) is not installed: pip install -e '.[test]'")

from optimizer.service.config import ServiceConfig, resolve_token, service_config_from_dict  # noqa: E402
from optimizer.service.run import check_bind  # noqa: E402
from optimizer.service.state import ServiceState  # noqa: E402
from tests.service_helpers import TOKEN, RunningService, base_snapshot, new_supervisor  # noqa: E402


def _snapshots() -> list[object]:
    """A sequence of cycles: the bundled snapshot, a minute later with more dilution steam, a
    snapshot that cannot be used (no timestamp), then another minute on."""
    s0 = base_snapshot()
    s1 = {**s0, "timestamp": "2026-03-02T10:01:00", "MP_DILUTION_A.steam_tph": 52.0, "LP_TRACING.steam_tph": 14.0}
    bad = {k: v for k, v in s0.items() if k != "timestamp"}
    s3 = {**s0, "timestamp": "2026-03-02T10:03:00", "HP_REACTOR.steam_tph": 30.0}
    return [s0, s1, bad, s3]


@pytest.fixture
def service(tmp_path):
    state = ServiceState(new_supervisor(str(tmp_path / "audit.jsonl")), ServiceConfig(audit_log=tmp_path / "audit.jsonl"))
    with RunningService(state) as svc:
        yield svc


def test_proposals_over_http_equal_the_librarys(service):
    library = new_supervisor()
    for i, snap in enumerate(_snapshots()):
        expected = library.step(snap).to_dict()
        code, answer = service.request("POST", "/api/step", snap)
        assert code == 200, answer
        got = answer["proposal"]
        assert got["status"] == expected["status"], (i, got["status"], got["warnings"])
        assert set(got["setpoints"]) == set(expected["setpoints"])
        for tag, value in expected["setpoints"].items():
            assert got["setpoints"][tag] == pytest.approx(value, abs=1e-9, rel=0), (i, tag)
        for k, v in expected["proposed_kpis"].items():
            assert got["proposed_kpis"][k] == pytest.approx(v, abs=1e-9, rel=1e-12), (i, k)
        assert [b["description"] for b in got["binding"]] == [b["description"] for b in expected["binding"]]
        assert answer["cycle"] == i + 1 and answer["mode"] == "WARM" and answer["writable"] == {}
    statuses = [json.loads(json.dumps(service.request("GET", "/api/proposal/latest")[1]))["proposal"]["status"]]
    assert statuses == ["optimal"]
    # the snapshot without a timestamp: the engine's own invalid_input, not an HTTP error
    assert library.step(_snapshots()[2]).status == "invalid_input"


def test_bad_requests_are_refused_and_the_engine_keeps_serving(service):
    snap = base_snapshot()
    cases = [
        ("no token", dict(token=None, body=snap), 401),
        ("wrong token, same length", dict(token="x" * len(TOKEN), body=snap), 401),
        ("wrong token, a prefix", dict(token=TOKEN[:-1], body=snap), 401),
        ("not a bearer scheme", dict(token=None, body=snap, headers={"Authorization": f"Basic {TOKEN}"}), 401),
        ("oversized body", dict(raw=b'{"a": "' + b"x" * 1_100_000 + b'"}'), 413),
        ("oversized chunked body (no Content-Length)", dict(raw=b'{"a": "' + b"x" * 1_100_000 + b'"}', chunked=True), 413),
        ("malformed JSON", dict(raw=b'{"timestamp": "2026-03-02T10:00:00", '), 422),
        ("not UTF-8", dict(raw=b'{"a": "\xff"}'), 422),
        ("nested too deep", dict(raw=b"[" * 200 + b"]" * 200), 422),
        ("a form post (cross-site)", dict(body=snap, headers={"Content-Type": "text/plain"}), 415),
        ("a rebound DNS name", dict(body=snap, headers={"Host": f"steam.attacker.example:{service.port}"}), 400),
    ]
    minute = 0
    for what, kwargs, want in cases:
        code, body = service.request("POST", "/api/step", **kwargs)
        assert code == want, (what, code, body)
        assert want == 400 or isinstance(body, dict) and body["detail"], what
        if want == 401:
            assert "bearer token" in body["detail"]
        if want == 413:
            assert "1000000 bytes" in body["detail"]
        minute += 1
        code, answer = service.request("POST", "/api/step", {**snap, "timestamp": f"2026-03-02T10:{minute:02d}:00"})
        assert code == 200 and answer["proposal"]["status"] == "optimal", (what, answer["proposal"]["warnings"])
    assert service.request("GET", "/healthz")[0] == 200 and service.request("GET", "/readyz")[0] == 200
    # JSON, but not a usable snapshot: the proposal says so (the engine never raises)
    for bad in ([1, 2, 3], {**snap, "timestamp": "yesterday"}, "text"):
        code, answer = service.request("POST", "/api/step", bad)
        assert code == 200 and answer["proposal"]["status"] == "invalid_input", bad
        assert answer["proposal"]["warnings"]
    code, answer = service.request("POST", "/api/step", {**snap, "timestamp": "2026-03-02T10:30:00", "MP_DILUTION_A.steam_tph": "lots"})
    assert code == 200 and answer["proposal"]["status"] == "substituted"
    assert [s["tag"] for s in answer["proposal"]["substitutions"]] == ["MP_DILUTION_A.steam_tph"]
    assert service.request("POST", "/api/step", {**snap, "timestamp": "2026-03-02T10:31:00"})[1]["proposal"]["status"] == "optimal"


def test_mode_switches_gate_cycles_and_name_what_may_be_written(service, tmp_path):
    code, mode = service.request("GET", "/api/mode", token=None)
    assert code == 200 and mode["mode"] == "WARM" and mode["closed_loop_setpoints"] == []
    snap = base_snapshot()
    assert service.request("POST", "/api/step", snap)[1]["writable"] == {}  # WARM: nothing to write
    # changing the mode needs the token; bad modes and lists are refused naming the value
    assert service.request("PUT", "/api/mode", {"mode": "ON", "closed_loop_setpoints": ["B1.steam_tph"]}, token=None)[0] == 401
    for body, words in [({"mode": "AUTO"}, "'AUTO'"), ({"mode": "ON"}, "at least one setpoint"),
                        ({"mode": "ON", "closed_loop_setpoints": ["B1.on"]}, "'B1.on'"),
                        ({"mode": "ON", "closed_loop_setpoints": ["NOPE.steam_tph"]}, "not a setpoint of this site"),
                        ({"mode": "WARM", "extra": 1}, "unknown: extra")]:
        code, answer = service.request("PUT", "/api/mode", body)
        assert code == 422 and words in answer["detail"], (body, answer)
    assert service.request("GET", "/api/mode")[1]["mode"] == "WARM"  # unchanged by the refusals
    enabled = ["B1.steam_tph", "GT1.power_mw"]
    code, mode = service.request("PUT", "/api/mode", {"mode": "ON", "closed_loop_setpoints": enabled, "reason": "commissioning B1, GT1"})
    assert code == 200 and mode["mode"] == "ON" and mode["closed_loop_setpoints"] == enabled
    code, answer = service.request("POST", "/api/step", {**snap, "timestamp": "2026-03-02T10:01:00"})
    assert answer["mode"] == "ON" and answer["proposal"]["status"] == "optimal"
    assert answer["writable"] == {k: answer["proposal"]["setpoints"][k] for k in enabled}
    # OFF: no proposal is computed, no cycle counted
    cycles = service.state.cycles
    assert service.request("PUT", "/api/mode", {"mode": "OFF", "reason": "trip"})[0] == 200
    code, answer = service.request("POST", "/api/step", {**snap, "timestamp": "2026-03-02T10:02:00"})
    assert code == 409 and "mode OFF" in answer["detail"]
    assert service.request("POST", "/api/plan?horizon_h=2", snap)[0] == 409
    assert service.state.cycles == cycles
    # every switch in the audit trail beside the cycles' log, and through /api/audit
    lines = [json.loads(x) for x in (tmp_path / "audit.modes.jsonl").read_text().splitlines()]
    assert [(r["from"], r["to"]) for r in lines] == [("WARM", "ON"), ("ON", "OFF")]
    assert lines[0]["closed_loop_setpoints"] == enabled and lines[0]["reason"] == "commissioning B1, GT1"
    code, audit = service.request("GET", "/api/audit?limit=5", token=None)
    assert code == 200 and [r["to"] for r in audit["mode_switches"]] == ["ON", "OFF"]
    assert len(audit["records"]) == 2 and audit["records"][-1]["proposal"]["status"] == "optimal"


def test_status_and_mode_answer_while_a_cycle_holds_the_engine(service):
    """The page reads (and the mode switches) are not held up by a cycle or plan in progress:
    here the engine's lock is held by the test, as a long plan would hold it."""
    assert service.request("POST", "/api/step", base_snapshot())[0] == 200
    with service.state.lock:
        code, status = service.request("GET", "/api/status", token=None, timeout_s=20)
        assert code == 200 and status["latest"]["cycle"] == 1 and status["mode"] == "WARM"
        code, mode = service.request("PUT", "/api/mode", {"mode": "OFF", "reason": "trip"}, timeout_s=20)
        assert code == 200 and mode["mode"] == "OFF"
    assert service.request("GET", "/api/mode")[1]["mode"] == "OFF"


def test_a_plan_over_http_equals_the_librarys(service):
    snap = base_snapshot()
    assert service.request("GET", "/api/plan/latest", token=None)[0] == 404
    code, answer = service.request("POST", "/api/plan?horizon_h=2&period_min=60", snap)
    assert code == 200, answer
    expected = new_supervisor().plan(snap, horizon_h=2, period_min=60).to_dict()
    got = answer["schedule"]
    assert got["status"] == expected["status"] == "optimal" and got["times"] == expected["times"]
    assert got["costs"]["total"] == pytest.approx(expected["costs"]["total"], rel=1e-6)
    assert got["on"] == expected["on"] and got["advice"] == expected["advice"]
    assert service.request("GET", "/api/plan/latest", token=None)[1]["schedule"]["times"] == expected["times"]
    assert service.request("POST", "/api/plan?horizon_h=500", snap)[0] == 422  # outside [1, 168] h


def test_readiness_waits_for_the_engine_and_reports_a_failed_build():
    gate = threading.Event()

    def slow_engine():
        gate.wait(60)
        return new_supervisor()

    with RunningService(ServiceState(slow_engine, ServiceConfig())) as svc:
        assert svc.request("GET", "/healthz", token=None) == (200, {"alive": True, "version": svc.request("GET", "/healthz")[1]["version"]})
        code, ready = svc.request("GET", "/readyz", token=None)
        assert code == 503 and ready["ready"] is False
        code, answer = svc.request("POST", "/api/step", base_snapshot())
        assert code == 503 and "not ready" in answer["detail"]
        gate.set()
        deadline = time.monotonic() + 60
        while svc.request("GET", "/readyz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        code, ready = svc.request("GET", "/readyz", token=None)
        from steamopt import load_models
        from tests.service_helpers import MODELS

        assert code == 200 and ready == {"ready": True, "engine_error": None, "site": "reference_olefins", "models": len(load_models(MODELS))}
        assert svc.request("POST", "/api/step", base_snapshot())[1]["proposal"]["status"] == "optimal"

    def broken_engine():
        raise ValueError("models/B1.onnx: not an ONNX file")

    with RunningService(ServiceState(broken_engine, ServiceConfig())) as svc:
        deadline = time.monotonic() + 30
        while svc.state.engine_error is None and time.monotonic() < deadline:
            time.sleep(0.02)
        code, ready = svc.request("GET", "/readyz", token=None)
        assert code == 503 and "not an ONNX file" in ready["engine_error"]
        assert svc.request("GET", "/healthz", token=None)[0] == 200


def test_openapi_and_the_page_are_served(service):
    code, spec = service.request("GET", "/openapi.json", token=None)
    assert code == 200 and spec["openapi"].startswith("3.")
    for path, method in [("/api/step", "post"), ("/api/mode", "put"), ("/api/plan", "post"), ("/api/audit", "get"), ("/readyz", "get")]:
        assert method in spec["paths"][path], path
    code, page = service.request("GET", "/", token=None)
    assert code == 200 and "<title>steamopt advisory</title>" in page
    assert "http://" not in page and "https://" not in page  # no CDN assets
    for asset in ("/static/app.js", "/static/style.css"):
        code, text = service.request("GET", asset, token=None)
        assert code == 200 and "http://" not in text and "https://" not in text, asset


def test_a_non_loopback_bind_without_a_token_is_refused(monkeypatch, capsys):
    from optimizer.service.run import make_server
    from scenarios.cli import main

    with pytest.raises(ValueError, match="0.0.0.0: not a loopback address"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ValueError, match="10.1.2.3: not a loopback address"):
        make_server(ServiceState(new_supervisor(), ServiceConfig()), None, "10.1.2.3", 8080)
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        check_bind(host, None)
    check_bind("0.0.0.0", TOKEN)
    monkeypatch.delenv("STEAMOPT_TOKEN", raising=False)
    from tests.service_helpers import MODELS, SITE

    assert main(["serve", "--site", str(SITE), "--models", str(MODELS), "--host", "0.0.0.0", "--port", "8080"]) == 2
    assert "--host 0.0.0.0: not a loopback address" in capsys.readouterr().err


def test_service_configuration_is_checked(tmp_path, monkeypatch):
    cfg = service_config_from_dict({"mode": "ON", "closed_loop_setpoints": ["B1.steam_tph"], "token_file": "tok", "max_body_bytes": 5000},
                                   "svc.toml", tmp_path)
    assert cfg.mode == "ON" and cfg.token_file == tmp_path / "tok" and cfg.max_body_bytes == 5000
    for data, words in [({"mode": "on-ish"}, "mode = 'on-ish': must be one of OFF, WARM, ON"),
                        ({"mode": "ON"}, "closed loop needs at least one setpoint"),
                        ({"max_body_bytes": 10}, "max_body_bytes = 10: must be a whole number in [1000, 100000000]"),
                        ({"tokn_file": "x"}, "tokn_file = 'x': unknown setting"),
                        ({"closed_loop_setpoints": ["a", "a"]}, "must not repeat")]:
        with pytest.raises(ValueError, match="svc.toml: ") as err:
            service_config_from_dict(data, "svc.toml", tmp_path)
        assert words in str(err.value), data
    (tmp_path / "tok").write_text("short\n")
    with pytest.raises(ValueError, match="5 characters; it must have at least 16"):
        resolve_token(cfg)
    (tmp_path / "tok").write_text(TOKEN + "\n")
    assert resolve_token(cfg, {}) == TOKEN
    assert resolve_token(ServiceConfig(), {"STEAMOPT_TOKEN": TOKEN}) == TOKEN and resolve_token(ServiceConfig(), {}) is None


def test_adherence_judges_advised_moves_by_deadband_and_progress():
    from optimizer.service.adherence import adherence

    before = {"B1.steam_tph": 50.0, "B2.steam_tph": 50.0, "B3.steam_tph": 50.0, "GT1.power_mw": 30.0, "B4.steam_tph": 40.0}
    proposed = {"B1.steam_tph": 40.0, "B2.steam_tph": 40.0, "B3.steam_tph": 51.5, "GT1.power_mw": 32.0, "B4.steam_tph": 30.0, "B1.on": 1}
    after = {"B1.steam_tph": 45.0, "B2.steam_tph": 45.1, "B3.steam_tph": 50.0, "GT1.power_mw": 31.4, "B4.steam_tph": 28.5}
    got = adherence(proposed, before, after)
    # B1 half of the way (followed), B2 short of half (not), B3's move inside the 2 t/h deadband (not advised),
    # GT1 within 0.6 MW of 32 with a 2 MW move: max(0.5, 1.0) -> followed; B4 past the proposal by 1.5 t/h: within the deadband
    assert {t: r["followed"] for t, r in got["setpoints"].items()} == {"B1.steam_tph": True, "B2.steam_tph": False,
                                                                      "GT1.power_mw": True, "B4.steam_tph": True}
    assert (got["advised"], got["followed"]) == (4, 3)


def test_steamopt_serve_from_the_command_line_with_a_config_file(tmp_path):
    """The CLI end to end in a subprocess: the config's token file, start mode, closed-loop list and audit log."""
    import os
    import re
    import socket
    import subprocess
    import sys
    import tomllib

    from tests.service_helpers import MODELS, ROOT, SITE, base_snapshot, request

    example = re.search(r"```toml\n(.*?)```", (ROOT / "docs" / "service.md").read_text(), re.S).group(1)
    service_config_from_dict(tomllib.loads(example), "docs/service.md", tmp_path)  # the documented example is valid
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "svc.toml").write_text('mode = "ON"\nclosed_loop_setpoints = ["B1.steam_tph"]\ntoken_file = "token"\n'
                                       'audit_log = "audit.jsonl"\ntime_budget_s = 20.0\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "STEAMOPT_TOKEN"} | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "scenarios.cli", "serve", "--site", str(SITE), "--models", str(MODELS),
                             "--config", str(tmp_path / "svc.toml"), "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if request(port, "GET", "/readyz", token=None)[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.2)
        assert request(port, "GET", "/api/mode", token=None)[1]["closed_loop_setpoints"] == ["B1.steam_tph"]
        assert request(port, "POST", "/api/step", base_snapshot(), token="wrong-token-0123456789")[0] == 401
        code, answer = request(port, "POST", "/api/step", base_snapshot())
        assert code == 200 and answer["mode"] == "ON" and answer["proposal"]["status"] == "optimal"
        assert answer["writable"] == {"B1.steam_tph": answer["proposal"]["setpoints"]["B1.steam_tph"]}
        records = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
        assert len(records) == 1 and records[0]["proposal"]["setpoints"] == answer["proposal"]["setpoints"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_steamopt_serve_refuses_bad_files_with_exit_2(tmp_path, capsys, monkeypatch):
    from scenarios.cli import main
    from tests.service_helpers import MODELS, SITE

    import optimizer.service.run

    def must_not_start(*_a, **_k):
        raise AssertionError("the server was started despite a bad file or option")

    monkeypatch.setattr(optimizer.service.run, "make_server", must_not_start)  # a missed check fails here, not hangs
    monkeypatch.delenv("STEAMOPT_TOKEN", raising=False)
    (tmp_path / "svc.toml").write_text('mode = "AUTO"\nmax_body_bytes = -1\n')
    args = ["serve", "--site", str(SITE), "--models", str(MODELS), "--port", "8080"]
    assert main([*args, "--config", str(tmp_path / "svc.toml")]) == 2
    err = capsys.readouterr().err
    assert "svc.toml: mode = 'AUTO': must be one of OFF, WARM, ON" in err and "max_body_bytes = -1" in err
    assert main(["serve", "--site", str(SITE), "--models", str(tmp_path / "nowhere"), "--port", "8080"]) == 2
    assert "nowhere: not a directory" in capsys.readouterr().err
    (tmp_path / "tok.toml").write_text('token_file = "missing.token"\n')
    assert main([*args, "--config", str(tmp_path / "tok.toml")]) == 2
    assert "token_file = " in capsys.readouterr().err
    monkeypatch.setenv("STEAMOPT_TOKEN", "short")
    assert main(args) == 2
    assert "STEAMOPT_TOKEN: the token has 5 characters; it must have at least 16" in capsys.readouterr().err
    assert main([*args[:-1], "70000"]) == 2
    assert "--port 70000: must be a TCP port in 1..65535" in capsys.readouterr().err
