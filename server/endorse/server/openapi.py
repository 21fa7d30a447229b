"""The registry's OpenAPI description, completed with every answer an operation can give.

FastAPI describes what a route declares. The registry also answers from places no route
declares: the body limits (400 malformed JSON, 413, 415 — :mod:`endorse.server.limits`),
request validation (422, as a problem document), signed-request authentication (401,
:mod:`endorse.server.auth`), the rate limits (429) and missing path objects (404). Every
refusal is a problem document (``application/problem+json``, RFC 9457). :func:`complete`
adds these to every operation by rule, so a route added later is described as completely as
the others without declaring anything; :data:`EXTRA` names the few answers only some
operations give. ``tests/server/test_openapi.py`` checks every route against these rules,
and the schemathesis run (``tests/server/test_schemathesis.py``) checks the description
against what the registry really answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from endorse.server.auth import require_signed
from endorse.server.problems import PROBLEM_MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "A problem document (RFC 9457): what was refused and why.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:endorse:problem:<slug>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}

REASONS = {
    400: "Malformed input (the body is not JSON, or a value is refused).",
    401: "The request signature (spec §10) is missing, wrong, stale or replayed.",
    403: "The signing key may not do this.",
    404: "No such object.",
    409: "Conflicts with the registry's state.",
    410: "No longer valid.",
    413: "The body is too large.",
    415: "The body is not of the media type the operation takes.",
    422: "The request does not match the schema.",
    429: "Too many requests from this client; Retry-After says when to try again.",
    503: "The registry cannot answer now.",
}

EXTRA: dict[tuple[str, str], frozenset[int]] = {
    ("get", "/readyz"): frozenset({503}),
    ("post", "/api/v1/verify"): frozenset({429}),
    ("post", "/api/v1/verify/batch"): frozenset({413, 429}),
    ("post", "/api/v1/qr"): frozenset({429}),
}
"""Answers only these operations give (method, path template) beyond the rules."""

BODY_STATUSES = frozenset({400, 413, 415, 422})
"""What the body limits and validation answer to any operation that takes a body."""


def routes(app: FastAPI) -> Iterator[tuple[str, BaseRoute]]:
    """Every route of ``app`` with its full path, through included routers."""

    def walk(items: list[BaseRoute], prefix: str) -> Iterator[tuple[str, BaseRoute]]:
        for item in items:
            inner = getattr(item, "original_router", None)
            if inner is not None:
                context = getattr(item, "include_context", None)
                yield from walk(inner.routes, prefix + getattr(context, "prefix", ""))
            else:
                yield prefix + getattr(item, "path", ""), item

    return walk(list(app.routes), "")


def is_signed(route: APIRoute) -> bool:
    """Whether the route requires a signed request (spec §10)."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if dependency.call is require_signed:
            return True
        stack.extend(dependency.dependencies)
    return False


def statuses(method: str, path: str, operation: dict[str, Any], signed: bool) -> set[int]:
    """The error statuses an operation answers by the rules and :data:`EXTRA`."""
    found = set(EXTRA.get((method, path), frozenset()))
    if "requestBody" in operation or method in {"post", "put", "patch"}:
        found |= BODY_STATUSES
    parameters = operation.get("parameters", [])
    if parameters:
        found |= {400, 422}  # a value of the wrong shape (422) or refused when read (400)
    if any(p.get("in") == "path" for p in parameters):
        found.add(404)
    if signed:
        found.add(401)
    return found


def complete(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (the app's generated description) with every operation's answers."""
    signed = {
        (method.lower(), path)
        for path, route in routes(app)
        if isinstance(route, APIRoute)
        for method in route.methods or ()
        if is_signed(route)
    }
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in statuses(method, path, operation, (method, path) in signed):
                responses.setdefault(str(status), {"description": REASONS[status]})
            for status, response in responses.items():
                if status[0] in "45":
                    # FastAPI's default 422 says application/json and its own schema; every
                    # refusal of the registry is a problem document.
                    response["content"] = dict(problem)
                    response.setdefault("description", REASONS.get(int(status), "Refused."))
            if (method, path) in signed:
                operation.setdefault("security", [{"endorseSignature": []}])
    if signed:
        schema["components"].setdefault("securitySchemes", {})["endorseSignature"] = {
            "type": "apiKey",
            "in": "header",
            "name": "Endorse-Signature",
            "description": "A request signed by the endorser's key: the Endorse-Key,"
            " Endorse-Timestamp, Endorse-Nonce and Endorse-Signature headers over the method,"
            " path, body, time and registry (spec §10).",
        }
    return schema


def install(app: FastAPI) -> None:
    """Have ``app.openapi()`` answer the completed description (built once, then kept)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(app, generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["EXTRA", "PROBLEM_SCHEMA", "complete", "install", "is_signed", "routes", "statuses"]
