"""Request-body limits, enforced before any route parses a body.

A pure ASGI middleware: it refuses bodies over ``max_body_bytes`` (413, counting the bytes
actually received, not trusting Content-Length alone) and JSON bodies that are not well-formed
or nest deeper than ``max_json_depth`` (400), each as a problem document. The body it read is
handed on unchanged, so routes parse it as usual.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from endorse.server.problems import PayloadTooLarge, UnsupportedMediaType, problem_response

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


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
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(
                scope,
                send,
                413,
                PayloadTooLarge.slug,
                PayloadTooLarge.title,
                f"the body may hold at most {self.max_bytes} bytes",
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
                await self._refuse(
                    scope,
                    send,
                    413,
                    PayloadTooLarge.slug,
                    PayloadTooLarge.title,
                    f"the body may hold at most {self.max_bytes} bytes",
                )
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if body and content_type != b"application/json":
            await self._refuse(
                scope,
                send,
                415,
                UnsupportedMediaType.slug,
                UnsupportedMediaType.title,
                "send the body as application/json",
            )
            return
        if body:
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


async def _no_receive() -> Message:  # pragma: no cover - a response never reads the request
    return {"type": "http.disconnect"}
