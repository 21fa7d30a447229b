"""Helpers of the SDK's tests: live registries, both clients behind one interface, codes.

Imported by the tests of tests/client (this directory is on sys.path while they run).
"""

from __future__ import annotations

import asyncio
import inspect
import re
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from _databases import postgres_schema
from clocked_registry import OFFSET_FILE_ENV, ServerClock, clocked_command
from live import LiveServer

from endorse.client import AsyncClient
from endorse.protocol import SigningKey

MAX_AGE = 2
"""The live registries' status max-age, seconds."""
SERVER_ENV = {
    "ENDORSE_STATUS_MAX_AGE": str(MAX_AGE),
    "ENDORSE_LIMIT_REGISTER_PER_CLIENT": "100000",
    "ENDORSE_LIMIT_REGISTER_PER_EMAIL": "100000",
    "ENDORSE_LIMIT_CONFIRM_PER_CLIENT": "100000",
}


@contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    """A clean database URL: a new SQLite file, or a new PostgreSQL schema (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'registry.sqlite3'}"
        return
    with postgres_schema("c") as url:
        yield url


@contextmanager
def live_registry(kind: str, directory: Path, **env: str) -> Iterator[LiveServer]:
    with database(kind, directory) as url:
        server = LiveServer(url, directory / "server", env=SERVER_ENV | env)
        try:
            yield server.start()
        finally:
            server.stop()


@contextmanager
def clocked_registry(
    kind: str, directory: Path, **env: str
) -> Iterator[tuple[LiveServer, ServerClock]]:
    """A live registry whose clock the test moves (see ``tests/server/clocked_registry.py``)."""
    directory.mkdir(parents=True, exist_ok=True)
    server_clock = ServerClock(directory / "clock-offset")
    with database(kind, directory) as url:
        server = LiveServer(
            url,
            directory / "server",
            env=SERVER_ENV | env | {OFFSET_FILE_ENV: str(server_clock.path)},
            command=clocked_command(),
        )
        try:
            yield server.start(), server_clock
        finally:
            server.stop()


# --- both clients behind one blocking interface ---------------------------------------------


class Blocking:
    """An AsyncClient whose coroutine methods run to completion on a private event loop."""

    def __init__(self, client: AsyncClient, runner: asyncio.Runner) -> None:
        self._client = client
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._runner.run(attr(*a, **k))
        return attr

    def close(self) -> None:
        self._runner.run(self._client.aclose())


class Counting(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A transport that records each request's method and path, then sends it on."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str]] = []
        self.headers: list[httpx.Headers] = []

    def _note(self, request: httpx.Request) -> None:
        self.requests.append((request.method, request.url.path))
        self.headers.append(request.headers)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._note(request)
        response: httpx.Response = self.inner.handle_request(request)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._note(request)
        response: httpx.Response = await self.inner.handle_async_request(request)
        return response

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def count(self, prefix: str) -> int:
        return sum(1 for _, path in self.requests if path.startswith(prefix))


# --- endorsers through the SDK ----------------------------------------------------------------


def code_from_outbox(server: LiveServer, email: str, subject: str) -> str:
    """The newest code the registry's outbox mailer wrote to ``email`` about ``subject``."""
    outbox = server.data_dir / "outbox"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = []
        for path in outbox.glob("*.eml") if outbox.is_dir() else ():
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            if message["To"] == email and message["Subject"] == subject:
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                found.append((path.stat().st_mtime_ns, body.get_content()))
        if found:
            text = max(found)[1]
            match = re.search(r"^\s+([0-9]{8})$", text, re.MULTILINE)
            assert match is not None, text
            return match.group(1)
        time.sleep(0.05)
    pytest.fail(f"no mail to {email} about {subject!r} in {outbox}")


def new_endorser(client: Any, server: LiveServer, name: str = "Alice Smith") -> SigningKey:
    """A fresh key, registered and confirmed through the SDK (code read from the outbox)."""
    key = SigningKey.generate()
    email = f"{secrets.token_hex(4)}@example.com"
    pending = client.register(key, email, name)
    binding = client.confirm(key, pending, code_from_outbox(server, email, CONFIRM_SUBJECT))
    assert (binding.key, binding.email, binding.name) == (key.did, email, name)
    return key


CONFIRM_SUBJECT = "Your endorse confirmation code"
RECOVERY_SUBJECT = "Your endorse key revocation code"


class VirtualClock:
    """The clients' clock and waits (``endorse.client._clock``), moved by the test.

    Time is stopped at ``frozen``, or runs as the real time plus ``offset``. A client's wait
    (a retry's backoff, a ``Retry-After``) returns at once, recorded in ``slept``, and moves
    a running time on by as long (a stopped one stays where the test put it): no test waits
    on the wall clock for the client.
    """

    def __init__(self) -> None:
        self.frozen: float | None = None
        self.offset = 0.0
        self.slept: list[float] = []

    def now(self) -> int:
        return int(self.frozen if self.frozen is not None else time.time() + self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def run_from(self, when: float) -> None:
        """Let the time run again, from ``when``."""
        self.frozen, self.offset = None, when - time.time()

    def advance(self, seconds: float) -> None:
        """Move the time on by ``seconds``, stopped or running."""
        if self.frozen is not None:
            self.frozen += seconds
        else:
            self.offset += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.frozen is None:
            self.offset += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)  # still a point where other tasks run, as a real wait is
