"""``HEAD`` answered everywhere exactly as ``GET`` would be, without the body.

Link checkers and chat previews ask ``HEAD`` first and call a link broken when it fails;
RFC 9110 §9.3.2 has a server answer it with the headers ``GET`` would send. FastAPI's ``GET``
routes do not take ``HEAD``, so this pure ASGI middleware sends every ``HEAD`` on as a ``GET``
and drops the body of the answer, keeping its status and headers (``Content-Length``
included). A path with no ``GET`` route therefore answers ``HEAD`` with the same 405 (and
``Allow``) as ``GET``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


__all__ = ["HeadAsGet"]
