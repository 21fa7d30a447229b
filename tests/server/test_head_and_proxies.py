"""HEAD answers as GET without a body on every GET route; an operation without GET answers
HEAD with 405 and ``Allow``. Forwarded headers are honoured only from ENDORSE_TRUSTED_PROXIES."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from _clock import Clock
from endorsers import Endorser
from fastapi.testclient import TestClient
from starlette.routing import Route

from endorse.server.app import create_app
from endorse.server.openapi import routes
from endorse.server.settings import Settings

REGISTRY = "http://127.0.0.1:8080"
SAMPLE = {
    "token": "not-a-token",
    "rest": "a/b",
    "list_id": "0",
    "key": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "token_hash": "x",
    "endorsement_id": "x",
}


def _get_paths(client: TestClient) -> list[str]:
    """Every GET route of the app, its parameters filled with a sample value."""
    paths = []
    for template, route in routes(client.app):  # type: ignore[arg-type]
        methods = getattr(route, "methods", None) or set()
        if isinstance(route, Route) and "GET" in methods:
            # A parameter without a sample of its own gets "x" (a route added later too).
            paths.append(
                re.sub(r"\{(\w+)(?::path)?\}", lambda m: SAMPLE.get(m.group(1), "x"), template)
            )
    paths.append("/static/endorse.css")  # a mounted directory, not a route
    return paths


def test_head_answers_like_get_without_a_body_on_every_get_route(client: TestClient) -> None:
    paths = _get_paths(client)
    assert "/v/not-a-token" in paths
    for path in paths:
        got = client.get(path)
        head = client.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
        if path not in {"/metrics", "/.well-known/endorse-registry", "/healthz", "/readyz"}:
            # Bodies that do not change between two requests: the same length is announced.
            assert head.headers.get("content-length") == got.headers.get("content-length"), path


def test_head_of_a_valid_reference_link_is_200(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    token, _ = alice.issue()
    head = client.head(f"/v/{token}")
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/html")
    assert head.content == b""
    assert client.head("/v/not-a-token").status_code == client.get("/v/not-a-token").status_code


@pytest.mark.parametrize("path", ["/api/v1/verify", "/api/v1/verify/batch", "/api/v1/qr"])
def test_head_of_an_operation_without_get_is_405_with_allow(client: TestClient, path: str) -> None:
    head = client.head(path)
    assert head.status_code == 405
    assert head.headers["allow"] == "POST"
    assert head.content == b""


def test_405_of_a_get_route_allows_head_too(client: TestClient) -> None:
    r = client.post("/healthz")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"
    assert r.headers["content-type"] == "application/problem+json"


@pytest.fixture
def proxied(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """The registry behind a proxy at 10.0.0.5, verification limited to 2 per client."""
    behind = settings.model_copy(
        update={"trusted_proxies": ("10.0.0.5/32",), "limit_verify_per_client": 2}
    )
    app = create_app(behind, clock=clock)
    with TestClient(app, base_url=REGISTRY, client=("10.0.0.5", 50000)) as c:
        yield c


def _verify(client: TestClient, forwarded_for: str | None) -> int:
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    return client.post("/api/v1/verify", json={"token": "x"}, headers=headers).status_code


def test_trusted_proxy_forwarded_for_separates_clients(proxied: TestClient) -> None:
    assert [_verify(proxied, "203.0.113.1") for _ in range(3)] == [200, 200, 429]
    # Another client behind the same proxy has its own bucket.
    assert _verify(proxied, "203.0.113.2") == 200


def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    limited = settings.model_copy(update={"limit_verify_per_client": 2})
    # No trusted proxies (the default), and a loopback peer: its header changes nothing.
    with TestClient(
        create_app(limited, clock=clock), base_url=REGISTRY, client=("127.0.0.1", 50000)
    ) as client:
        answers = [_verify(client, f"203.0.113.{i}") for i in range(3)]
    assert answers == [200, 200, 429]
