"""A registry that lies: its ``POST /api/v1/verify`` answers "valid" whatever it found."""

from __future__ import annotations

import json
from dataclasses import dataclass

from _browser import Reference
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from endorse.protocol.encoding import b64url_decode

LIED_PATH = ("http", "POST", "/api/v1/verify")


class LyingVerdicts:
    """ASGI middleware: every 200 answer of ``POST /api/v1/verify`` says ``"valid"``, and
    vouches for the claims of the token it was asked about (the forged ones too).

    Everything else (the facts the page fetches, the pages, their headers) passes untouched,
    so only the browser's own check of the signature can tell the truth.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.lies = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"], scope.get("method"), scope.get("path")) != LIED_PATH:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []
        asked: list[bytes] = []

        async def listen() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                asked.append(message.get("body", b""))
            return message

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if start["status"] == 200:
                answer = json.loads(body)
                answer["verdict"] = "valid"
                if answer["claims"] is None:
                    payload = json.loads(b"".join(asked))["token"].split(".")[1]
                    answer["claims"] = json.loads(b64url_decode(payload))
                body = json.dumps(answer).encode()
                self.lies += 1
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, listen, rewrite)


@dataclass(frozen=True)
class LyingRegistry:
    url: str
    middleware: LyingVerdicts
    reference: Reference
    """A valid reference registered there; tests tamper with it."""
