"""Operational endpoints and the problem-document contract, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from endorse.protocol import PublicKey

PROBLEM = "application/problem+json"


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_well_known_publishes_a_stable_key(client: TestClient) -> None:
    info = client.get("/.well-known/endorse-registry").json()
    assert info["registry"] == "http://127.0.0.1:8080"
    assert PublicKey.from_did(info["key"]).did == info["key"]
    assert client.get("/.well-known/endorse-registry").json()["key"] == info["key"]


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    r = client.get("/no/such/thing")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "urn:endorse:problem:not-found"


def test_body_limits(client: TestClient) -> None:
    big = client.post(
        "/healthz",
        content=b"[" + b"0," * 40_000 + b"0]",
        headers={"content-type": "application/json"},
    )
    assert big.status_code == 413
    assert big.headers["content-type"] == PROBLEM
    deep = client.post(
        "/healthz", content=b"[" * 50 + b"]" * 50, headers={"content-type": "application/json"}
    )
    assert deep.status_code == 400
    assert "deeper" in deep.json()["detail"]
    bad = client.post("/healthz", content=b"{nope", headers={"content-type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["type"] == "urn:endorse:problem:malformed-json"
    text = client.post("/healthz", content=b"hello", headers={"content-type": "text/plain"})
    assert text.status_code == 415


def test_openapi_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/.well-known/endorse-registry" in spec["paths"]
