"""Errors as RFC 9457 problem documents, each with a stable ``type``.

Route code raises a :class:`Problem` subclass; :func:`install` maps it, and every framework
error (validation, unknown route, method), to ``application/problem+json``. Nothing else
escapes: an unexpected exception becomes a 500 problem without a stack trace, and is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:endorse:problem:"

log = logging.getLogger("endorse.server")


class Problem(Exception):
    """A request the registry refuses, with a stable type and a detail naming the problem."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


class BadRequest(Problem):
    pass


class MalformedInput(Problem):
    status, slug, title = 400, "malformed", "Malformed input"


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Request signature refused"


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Not allowed for this key"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class InvalidCode(Problem):
    """A confirmation code that does not confirm: wrong, expired, used, or out of attempts.

    One type and one detail for every case, so the answer is no oracle.
    """

    status, slug, title = 400, "invalid-code", "Invalid or expired code"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(Problem):
    status, slug, title = 410, "gone", "No longer valid"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(Problem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(Problem):
    status, slug, title = 422, "invalid-request", "Request does not match the schema"


class TooManyRequests(Problem):
    status, slug, title = 429, "rate-limited", "Too many requests"


class Unavailable(Problem):
    status, slug, title = 503, "unavailable", "Service unavailable"


def openapi_problems(
    descriptions: Mapping[int, str], *statuses: int
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem documents a route may answer, described from a
    router's ``descriptions`` by status."""
    return {
        status: {"description": descriptions[status], "content": {PROBLEM_MEDIA_TYPE: {}}}
        for status in statuses
    }


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = {"type": TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail}
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status, exc.slug, exc.title, exc.detail, headers=exc.headers, extra=exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            422, Unprocessable.slug, Unprocessable.title, _validation_detail(exc)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        headers = dict(getattr(exc, "headers", None) or {})
        allow = [m.strip() for m in headers.get("Allow", "").split(",") if m.strip()]
        if "GET" in allow and "HEAD" not in allow:
            # Every GET route answers HEAD too (endorse.server.methods).
            headers["Allow"] = ", ".join([*allow, "HEAD"])
        return problem_response(
            exc.status_code, slug, str(exc.detail), str(exc.detail), headers=headers or None
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(
            500, "internal", "Internal error", "The registry failed; the error was logged."
        )
