"""The HTTP connection layer ``endorse serve`` runs: uvicorn's httptools protocol, guarded.

uvicorn takes any request line and headers however large, however many, however slowly sent,
and a client that connects and sends nothing keeps its connection for ever. A registry on the
internet cannot, so :class:`GuardedHttpToolsProtocol` adds, per connection:

- a bound on the request line and headers together (``ENDORSE_MAX_HEADER_BYTES``) and on the
  number of headers (``ENDORSE_MAX_HEADER_COUNT``): past either the client gets 431 and the
  connection is closed, before the request reaches the app;
- a header-read timeout (``ENDORSE_HEADER_TIMEOUT``), from the connection's start or the
  request's first byte until its headers are complete: past it, 408 and closed;
- a body timeout (``ENDORSE_BODY_TIMEOUT``), from the headers until the whole body is in:
  past it the connection is dropped (the app sees the client disconnect).

The bound on concurrent connections is uvicorn's own ``limit_concurrency`` (503 past it),
which ``endorse serve`` sets from ``ENDORSE_MAX_CONNECTIONS``.

uvicorn builds the protocol by class, in each worker process, so the limits are read from the
worker's environment (``ENDORSE_*``, as every other setting) once, when its first connection
comes; :func:`set_limits` overrides them in a test.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from endorse.server.settings import load_settings


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int
    max_header_count: int
    header_timeout: float
    body_timeout: float


@functools.cache
def _limits_from_environment() -> ConnectionLimits:
    settings = load_settings()
    return ConnectionLimits(
        max_header_bytes=settings.max_header_bytes,
        max_header_count=settings.max_header_count,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
    )


_override: list[ConnectionLimits] = []


def set_limits(limits: ConnectionLimits | None) -> None:
    """Use ``limits`` instead of the environment's in this process (``None``: stop)."""
    _override[:] = [limits] if limits is not None else []


def _limits() -> ConnectionLimits:
    return _override[0] if _override else _limits_from_environment()


class _HeadersTooLarge(Exception):
    """Raised from a parser callback to stop parsing a request whose head is too large."""


_STATUS_TEXT = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header limits and read timeouts (module docstring)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._guard = _limits()
        self._in_head = True
        self._head_bytes = 0
        self._header_count = 0
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._guard.header_timeout, self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as e:
            if isinstance(e.__context__, _HeadersTooLarge):
                self._refuse(431, "the request's headers are too large or too many")
            else:
                self._refuse_invalid()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            self._refuse_invalid()
            return
        if self._in_head and self._head_bytes > self._guard.max_header_bytes:
            # The head is still coming and already over the bound: stop reading it here
            # rather than buffer it (llhttp keeps a header's value until it is complete).
            self._refuse(431, "the request's headers are too large or too many")

    def _refuse_invalid(self) -> None:
        # uvicorn's own answer to a request it cannot parse.
        self._disarm()
        self.send_400_response("Invalid HTTP request received.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._header_count = 0
        if self._timer is None:
            self._arm(self._guard.header_timeout, self._header_timeout)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self._guard.max_header_bytes:
            raise _HeadersTooLarge

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self._guard.max_header_count:
            raise _HeadersTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._arm(self._guard.body_timeout, self._body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _header_timeout(self) -> None:
        self._timer = None
        if not self.transport.is_closing():
            self._refuse(408, "the request's headers were not sent in time")

    def _body_timeout(self) -> None:
        # The app has the request already: dropping the connection is how it learns that the
        # body will not come (it sees a disconnect, and answers nobody).
        self._timer = None
        self.transport.close()

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        body = message.encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, _STATUS_TEXT[status], len(body), body)
        )
        self.transport.close()


__all__ = ["ConnectionLimits", "GuardedHttpToolsProtocol", "set_limits"]
