"""Metrics by route template, and logs with no tokens, e-mail addresses or codes in them."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from helpers import ALICE, BOB, EMPLOYMENT, MANAGER, NOW

from endorse.protocol import issue
from endorse.server.app import create_app
from endorse.server.observability import (
    UNMATCHED,
    UNSAFE_DEV_LOGGER,
    JsonFormatter,
    RedactingFilter,
    redact,
)
from endorse.server.settings import Settings

TOKEN = issue(ALICE, "Alice Smith", BOB, MANAGER, [EMPLOYMENT], now=NOW)
EMAIL = "carol.secret@example.org"
CODE = "49281735"
KEPT_TIME = "at 2026-01-01T00:00:00Z from 127.0.0.1:8080"
JSON_HEADERS = {"content-type": "application/json"}
CLIENT_LOGGERS = ("httpx", "httpcore")
SECRETS = (TOKEN, TOKEN.split(".")[1], EMAIL, CODE, BOB.email or "")

probe = APIRouter()


@probe.get("/probe/items/{item_id}")
def probe_item(item_id: str) -> dict[str, int]:
    return {"length": len(item_id)}


@probe.post("/probe/items/{item_id}")
async def probe_post(item_id: str, request: Request) -> dict[str, int]:
    return {"length": len(item_id) + len(await request.body())}


@probe.post("/probe/boom")
async def probe_boom(request: Request) -> None:
    await request.body()
    raise RuntimeError("boom")


@pytest.fixture
def app(settings: Settings, clock: Callable[[], int]) -> FastAPI:
    app = create_app(settings, clock=clock)
    app.include_router(probe)
    return app


@pytest.fixture
def probe_client(app: FastAPI, settings: Settings) -> Iterator[TestClient]:
    base = settings.registry_url
    with TestClient(app, base_url=base, raise_server_exceptions=False) as c:
        yield c


def _samples(text: str, name: str) -> dict[str, float]:
    """``{labels: value}`` of one metric in Prometheus text."""
    found = {}
    for line in text.splitlines():
        m = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if m:
            found[m.group(1)] = float(m.group(2))
    return found


def test_metrics_count_requests_by_route_template(probe_client: TestClient) -> None:
    for _ in range(3):
        assert probe_client.get(f"/probe/items/{TOKEN}").status_code == 200
    assert probe_client.get("/healthz").status_code == 200
    too_big = b"[" + b"0," * 40_000 + b"0]"
    r = probe_client.post(f"/probe/items/{EMAIL}", content=too_big, headers=JSON_HEADERS)
    assert r.status_code == 413
    assert probe_client.get(f"/no/such/{TOKEN}").status_code == 404
    assert probe_client.post("/probe/boom", json={"token": TOKEN}).status_code == 500

    r = probe_client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    requests = _samples(r.text, "endorse_http_requests_total")
    assert requests['method="GET",route="/probe/items/{item_id}",status="200"'] == 3
    assert requests['method="GET",route="/healthz",status="200"'] == 1
    # Refused by the body limits before routing, still counted under its template.
    assert requests['method="POST",route="/probe/items/{item_id}",status="413"'] == 1
    assert requests[f'method="GET",route="{UNMATCHED}",status="404"'] == 1
    assert requests['method="POST",route="/probe/boom",status="500"'] == 1
    latency = _samples(r.text, "endorse_http_request_seconds_count")
    assert latency['route="/probe/items/{item_id}"'] == 4  # the 413 took time too
    for secret in SECRETS:
        assert secret not in r.text


def test_unknown_methods_are_one_label(probe_client: TestClient) -> None:
    for method in ("BREW", "PROPFIND"):
        probe_client.request(method, "/healthz")
    requests = _samples(probe_client.get("/metrics").text, "endorse_http_requests_total")
    assert requests['method="OTHER",route="/healthz",status="405"'] == 2


def test_metrics_expose_verdicts_and_revocations(app: FastAPI, probe_client: TestClient) -> None:
    text = probe_client.get("/metrics").text
    for name in ("endorse_verifications", "endorse_revocations", "endorse_http_request_seconds"):
        assert f"# TYPE {name}" in text
    context = app.state.context
    context.metrics.verdicts.labels("valid").inc()
    context.metrics.revocations.inc()
    text = probe_client.get("/metrics").text
    assert _samples(text, "endorse_verifications_total") == {'verdict="valid"': 1.0}
    assert "endorse_revocations_total 1.0" in text.splitlines()


def test_metrics_is_in_the_openapi_document(probe_client: TestClient) -> None:
    assert "/metrics" in probe_client.get("/openapi.json").json()["paths"]


def _everything_logged(records: list[logging.LogRecord]) -> str:
    """Each record as a handler without the redacting filter would see it, args and extras
    included, so nothing that reached the logging system escapes the check."""
    formatter = JsonFormatter()
    parts = []
    for record in records:
        parts.append(formatter.format(record))
        parts.append(repr(record.args))
        parts.append(repr(vars(record)))
    return "\n".join(parts)


def test_requests_carrying_secrets_leave_none_in_the_logs(
    app: FastAPI, probe_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Every route the app has (this covers routes added later too) is called with a token, an
    e-mail address and a code in its body, query and headers; no log record may carry them."""
    caplog.set_level(logging.DEBUG)
    body = {"token": TOKEN, "email": EMAIL, "code": CODE, "subject": BOB.email, "purpose": CODE}
    query = {"token": TOKEN, "email": EMAIL, "code": CODE}
    headers = {"x-note": f"{EMAIL} {CODE}"}
    paths = probe_client.get("/openapi.json").json()["paths"]
    calls = 0
    for template, operations in paths.items():
        path = re.sub(r"\{[^}]+\}", "x", template)
        for method in operations:
            probe_client.request(method, path, json=body, params=query, headers=headers)
            broken = b"{" + TOKEN.encode()
            probe_client.request(method, path, content=broken, headers=JSON_HEADERS)
            calls += 2
    probe_client.post("/probe/items/x", json=[body] * 5000)  # over the body limit
    probe_client.post("/no/such/route", json=body, params=query)
    assert calls >= 8
    # The test client logs the URLs it calls; only what the server logged counts.
    records = [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]
    assert any(r.name == "endorse.server.access" for r in records), "the access log is silent"
    assert any(r.levelno >= logging.ERROR for r in records), "the 500 was not logged"
    logged = _everything_logged(records)
    for secret in SECRETS:
        assert secret not in logged


# --- the redaction filter and the JSON formatter (belt and braces) ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {TOKEN} seen", "token [token] seen"),
        ("key-binding-v1.eyJhIjoxfQ.c2ln", "[token]"),
        ("payload eyJ0eXBlIjoiZW5kb3JzZW1lbnQifQ alone", "payload [token] alone"),
        (f"to {EMAIL}.", "to [email]."),
        ("code 123456 sent", "code [code] sent"),
        ("code=1234567890", "code=[code]"),
        ("pid 12345 port 8080", "pid 12345 port 8080"),
        (KEPT_TIME, KEPT_TIME),
        (ALICE.did, ALICE.did),
        ("version 1.2.3 HTTP/1.1", "version 1.2.3 HTTP/1.1"),
    ],
    ids=[
        "endorsement_token",
        "key_binding_token",
        "bare_payload",
        "email",
        "code_6",
        "code_10",
        "short_numbers_kept",
        "time_and_address_kept",
        "did_key_kept",
        "versions_kept",
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def _record(name: str, msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": name, "msg": msg, "args": args, "levelno": logging.INFO, "levelname": "INFO"}
    )
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_filter_redacts_message_args_extras_and_exception() -> None:
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        exc_info = sys.exc_info()
    record = _record("endorse.server", "code %s for %s", CODE, EMAIL, who=EMAIL, n=3, obj=[EMAIL])
    record.exc_info = exc_info
    assert RedactingFilter().filter(record)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "code [code] for [email]"
    assert entry["who"] == "[email]"
    assert entry["n"] == 3
    assert entry["obj"] == "['[email]']"
    assert "ValueError: bad token [token]" in entry["exception"]
    for secret in SECRETS:
        assert secret not in line


def test_unsafe_dev_logger_is_redacted_unless_dev() -> None:
    message = f"code {CODE} for {EMAIL}"
    record = _record(UNSAFE_DEV_LOGGER, message)
    RedactingFilter(unsafe_dev=False).filter(record)
    assert record.getMessage() == "code [code] for [email]"
    record = _record(UNSAFE_DEV_LOGGER, message)
    RedactingFilter(unsafe_dev=True).filter(record)
    assert record.getMessage() == message
    record = _record("endorse.server", message)
    RedactingFilter(unsafe_dev=True).filter(record)
    assert record.getMessage() == "code [code] for [email]"


def test_json_lines_have_the_documented_fields() -> None:
    entry = json.loads(JsonFormatter().format(_record("endorse.server.x", "hello %d", 5)))
    assert entry["level"] == "INFO"
    assert entry["logger"] == "endorse.server.x"
    assert entry["message"] == "hello 5"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])


def test_logging_config_as_serve_installs_it() -> None:
    """In a fresh interpreter, since dictConfig changes the whole process's logging."""
    program = (
        "import logging, logging.config\n"
        "from endorse.server.observability import logging_config\n"
        "logging.config.dictConfig(logging_config('debug'))\n"
        f"logging.getLogger('endorse.server.x').info('code %s to %s', '{CODE}', '{EMAIL}',"
        f" extra={{'route': '/api/v1/verify'}})\n"
        "logging.getLogger('uvicorn.error').info('Uvicorn running')\n"
        "logging.getLogger('uvicorn.access').info('GET /v/secret')\n"
        "logging.getLogger('other').warning('third party %s', 'x')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == ""
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(e["logger"], e["message"]) for e in lines] == [
        ("endorse.server.x", "code [code] to [email]"),
        ("uvicorn.error", "Uvicorn running"),
        ("other", "third party x"),
    ]
    assert lines[0]["route"] == "/api/v1/verify"
