"""The registry as a real process on loopback, on SQLite and PostgreSQL: what an operator sees,
and what survives ``kill -9``."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import ALICE, BOB, EMPLOYMENT, MANAGER, NOW
from live import LiveServer

from endorse.protocol import PublicKey, SigningKey, issue
from endorse.protocol.requests import sign_request

TOKEN = issue(ALICE, "Alice Smith", BOB, MANAGER, [EMPLOYMENT], now=NOW)


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(database_url, tmp_path / "server") as live:
        yield live


def _count(metrics: str, route: str, status: str = "200") -> float:
    total = 0.0
    pattern = rf'endorse_http_requests_total\{{method="GET",route="{re.escape(route)}",status="{status}"\}} (\S+)'  # noqa: E501
    for line in metrics.splitlines():
        m = re.fullmatch(pattern, line)
        if m:
            total += float(m.group(1))
    return total


def test_operations_endpoints(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}
        info = client.get("/.well-known/endorse-registry").json()
        assert info["registry"] == server.url
        PublicKey.from_did(info["key"])
        assert client.get(f"/no-such-page/{TOKEN}", params={"email": BOB.email}).status_code == 404
        metrics = client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert _count(metrics.text, "/healthz") == 1
        assert _count(metrics.text, "/readyz") >= 2  # the start-up wait polls it too
        assert _count(metrics.text, "<unmatched>", "404") == 1
        assert "endorse_verifications" in metrics.text
        assert TOKEN not in metrics.text


def test_logs_are_json_lines_without_secrets(database_url: str, tmp_path: Path) -> None:
    server = LiveServer(database_url, tmp_path / "s", args=("--log-level", "debug"))
    with server, httpx.Client(base_url=server.url, timeout=10) as client:
        client.get(f"/no-such-page/{TOKEN}", params={"email": BOB.email})
        client.post("/healthz", json={"token": TOKEN, "email": BOB.email, "code": "493817"})
    lines = [json.loads(line) for line in server.log_text().splitlines()]
    assert lines, "the server printed nothing"
    for entry in lines:
        assert {"time", "level", "logger", "message"} <= entry.keys()
    messages = [e["message"] for e in lines]
    assert any(m.startswith("Uvicorn running on") for m in messages)
    assert "GET <unmatched> 404" in " ".join(messages)
    assert any(e.get("route") == "/healthz" and e.get("status") == 405 for e in lines)
    text = server.log_text()
    for secret in (TOKEN, TOKEN.split(".")[1], BOB.email or "-", "493817"):
        assert secret not in text


def test_registry_key_survives_kill_9(server: LiveServer) -> None:
    key = httpx.get(server.url + "/.well-known/endorse-registry").json()["key"]
    first = server.pid
    assert server.kill() == -9
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/healthz", timeout=2)
    server.start()
    assert server.pid != first
    info = httpx.get(server.url + "/.well-known/endorse-registry").json()
    assert info["key"] == key
    assert info["registry"] == server.url


def test_sigterm_shuts_down_gracefully(server: LiveServer) -> None:
    # uvicorn finishes its shutdown, then re-raises the signal it caught.
    assert server.stop() in (0, -signal.SIGTERM)
    messages = [json.loads(line)["message"] for line in server.log_text().splitlines()]
    assert "Application shutdown complete." in messages


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_workers_pool_their_metrics(database_url: str, tmp_path: Path) -> None:
    server = LiveServer(database_url, tmp_path / "s", workers=2)
    with server, httpx.Client(base_url=server.url, timeout=10) as client:
        for _ in range(40):
            assert client.get("/healthz").status_code == 200
        for _ in range(3):  # whichever worker answers reports the whole server
            assert _count(client.get("/metrics").text, "/healthz") == 40


def _register(server: LiveServer, key: SigningKey) -> None:
    path = "/api/v1/identities/register"
    body = json.dumps({"email": "dev@example.com", "name": "Dev Person"}).encode()
    headers = sign_request(key, server.url, "POST", path, body, now=int(time.time()))
    headers["content-type"] = "application/json"
    r = httpx.post(server.url + path, content=body, headers=headers, timeout=10)
    assert r.status_code == 202, r.text


def _outbox_code(server: LiveServer) -> str:
    [mail] = (server.data_dir / "outbox").glob("*.eml")
    match = re.search(rb"^\s+([0-9]{8})\r?$", mail.read_bytes(), re.MULTILINE)
    assert match is not None
    return match.group(1).decode()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("dev", [True, False], ids=["dev", "production"])
def test_codes_reach_the_log_only_in_dev_mode(database_url: str, tmp_path: Path, dev: bool) -> None:
    server = LiveServer(database_url, tmp_path / "s", args=("--dev",) if dev else ())
    with server:
        _register(server, SigningKey.generate())
        code = _outbox_code(server)
    log = server.log_text()
    assert (code in log) is dev
    assert "dev@example.com" not in log
