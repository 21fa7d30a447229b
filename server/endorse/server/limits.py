"""Request-body limits, enforced before any route parses a body.

A pure ASGI middleware: it refuses bodies over ``max_body_bytes`` (413, counting the bytes
actually received, not trusting Content-Length alone), bodies that are not
``application/json`` (415) and JSON bodies that are not well-formed or nest deeper than
``max_json_depth`` (400), each as a problem document. The body it read is handed on unchanged,
so routes parse it as usual.

A form route (:func:`add_form_route`, the recruiter's check page) takes
``application/x-www-form-urlencoded`` bodies instead of JSON, under the same size limit; a
browser shows its refusals to a person, so the route's own ``refuse`` renders them (an HTML
page) rather than a problem document.

A hot route may instead take the body straight from here (:func:`add_direct_route`): once the
size and media type are checked, its handler gets the body and either answers (True) or
declines (False, having sent nothing), and then everything proceeds as for any route. A
handler answers only bodies it has parsed and found well-formed and within the depth limit,
so no check is skipped; what it saves is the second JSON parse, the router and the
framework's request handling.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from endorse.server.problems import PayloadTooLarge, UnsupportedMediaType, problem_response

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_DIRECT_ROUTES = "direct_body_routes"
_FORM_ROUTES = "form_body_routes"
FORM = b"application/x-www-form-urlencoded"

DirectHandler = Callable[[Scope, bytes, Send], Awaitable[bool]]
"""``(scope, body, send) -> answered``: see :func:`add_direct_route`."""


def add_direct_route(app: Any, method: str, path: str, handler: DirectHandler) -> None:
    """Let ``handler`` answer ``method path`` with the body :class:`BodyLimits` has read.

    ``app`` is the Starlette or FastAPI app whose middleware this is (the handlers live in its
    ``state``, so apps never share them). The handler must answer exactly as the route would,
    set ``scope["route"]`` to that route (metrics label requests by it) and decline anything
    it does not fully check itself.
    """
    routes: dict[tuple[str, str], DirectHandler] = getattr(app.state, _DIRECT_ROUTES, {})
    setattr(app.state, _DIRECT_ROUTES, {**routes, (method, path): handler})


FormRefusal = Callable[[Scope, Send, int, str], Awaitable[None]]
"""``(scope, send, status, detail)``: send the refusal of a form body (see
:func:`add_form_route`)."""


def add_form_route(app: Any, path: str, refuse: FormRefusal) -> None:
    """Let ``POST path`` take ``application/x-www-form-urlencoded`` bodies (only those).

    The size limit applies as to JSON; what would be a problem document (413, 415) is sent by
    ``refuse`` instead, with the status and a sentence saying what was wrong.
    """
    routes: dict[str, FormRefusal] = getattr(app.state, _FORM_ROUTES, {})
    setattr(app.state, _FORM_ROUTES, {**routes, path: refuse})


def json_depth(value: Any, limit: int) -> bool:
    """Whether ``value`` nests no deeper than ``limit`` (the top level counts as 1)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > limit:
                return False
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            if depth > limit:
                return False
            stack.extend((v, depth + 1) for v in item)
    return True


class BodyLimits:
    def __init__(self, app: ASGIApp, *, max_bytes: int, max_depth: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        declared = content_type = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"content-type":
                content_type = value
        form = _form_routes(scope).get(scope["path"]) if scope["method"] == "POST" else None
        too_large = f"the body may hold at most {self.max_bytes} bytes"
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            if form is not None:
                await form(scope, send, 413, too_large)
                return
            await self._refuse(
                scope, send, 413, PayloadTooLarge.slug, PayloadTooLarge.title, too_large
            )
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                if form is not None:
                    await form(scope, send, 413, too_large)
                    return
                await self._refuse(
                    scope, send, 413, PayloadTooLarge.slug, PayloadTooLarge.title, too_large
                )
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        media_type = (content_type or b"").split(b";")[0].strip().lower()
        if form is not None:
            if body and media_type != FORM:
                await form(scope, send, 415, "the form must be sent as a web form")
                return
        elif body and media_type != b"application/json":
            await self._refuse(
                scope,
                send,
                415,
                UnsupportedMediaType.slug,
                UnsupportedMediaType.title,
                "send the body as application/json",
            )
            return
        if body and form is None:
            direct = _direct_routes(scope).get((scope["method"], scope["path"]))
            if direct is not None and await direct(scope, body, send):
                return
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError as e:
                await self._refuse(
                    scope,
                    send,
                    400,
                    "malformed-json",
                    "Malformed JSON",
                    f"the body is not valid JSON: {e.msg}",
                )
                return
            if not json_depth(parsed, self.max_depth):
                await self._refuse(
                    scope,
                    send,
                    400,
                    "malformed-json",
                    "Malformed JSON",
                    f"the body nests deeper than {self.max_depth} levels",
                )
                return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(
        self, scope: Scope, send: Send, status: int, slug: str, title: str, detail: str
    ) -> None:
        response = problem_response(status, slug, title, detail)
        await response(scope, _no_receive, send)


def _direct_routes(scope: Scope) -> dict[tuple[str, str], DirectHandler]:
    state = getattr(scope.get("app"), "state", None)
    routes: dict[tuple[str, str], DirectHandler] = getattr(state, _DIRECT_ROUTES, None) or {}
    return routes


def _form_routes(scope: Scope) -> dict[str, FormRefusal]:
    state = getattr(scope.get("app"), "state", None)
    routes: dict[str, FormRefusal] = getattr(state, _FORM_ROUTES, None) or {}
    return routes


async def _no_receive() -> Message:  # pragma: no cover - a response never reads the request
    return {"type": "http.disconnect"}
