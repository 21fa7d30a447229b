"""The published OpenAPI description covers every route, by rule: each operation of the app is
described; every refusal is a problem document (``application/problem+json``); an operation
taking a body lists what the body limits answer; a signed operation lists 401 and its
security scheme. Checked for every route, so routes added later are held to it too; what the
registry really answers is checked against the description by tests/server/test_schemathesis.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute

from endorse.server.app import create_app
from endorse.server.openapi import BODY_STATUSES, is_signed, routes
from endorse.server.settings import Settings

APP = create_app(Settings(database_url="sqlite:///:memory:"))
DESCRIPTION: dict[str, Any] = APP.openapi()
OPERATIONS = sorted(
    (method, path, route)
    for path, route in routes(APP)
    if isinstance(route, APIRoute) and route.include_in_schema
    for method in (m.lower() for m in route.methods or ())
)


def test_there_are_operations_to_check() -> None:
    assert len(OPERATIONS) >= 20
    assert "/api/v1/verify" in DESCRIPTION["paths"]


@pytest.mark.parametrize(
    ("method", "path", "route"), OPERATIONS, ids=[f"{m.upper()} {p}" for m, p, _ in OPERATIONS]
)
def test_every_operation_is_described_completely(method: str, path: str, route: APIRoute) -> None:
    operation = DESCRIPTION["paths"][path][method]
    responses = operation["responses"]
    assert any(status.startswith(("2", "3")) for status in responses), "no success described"
    for status, response in responses.items():
        if status[0] in "45":
            assert set(response.get("content", {})) == {"application/problem+json"}, status
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}
    if "requestBody" in operation or method == "post":
        assert {int(s) for s in responses} >= BODY_STATUSES
    if any(p["in"] == "path" for p in operation.get("parameters", [])):
        assert "404" in responses
    if is_signed(route):
        assert "401" in responses
        assert operation["security"] == [{"endorseSignature": []}]


def test_problem_schema_is_published() -> None:
    problem = DESCRIPTION["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail"]
    assert DESCRIPTION["components"]["securitySchemes"]["endorseSignature"]["in"] == "header"


def test_signed_operations_are_the_ones_spec_10_names() -> None:
    signed = sorted((m.upper(), p) for m, p, r in OPERATIONS if is_signed(r))
    assert ("POST", "/api/v1/slots") in signed
    assert ("GET", "/api/v1/endorsements") in signed
    assert ("POST", "/api/v1/verify") not in signed
