"""Fixtures for the SDK's tests: a real registry process per database, both clients.

Every live test runs on SQLite and on PostgreSQL (``registry``: one server per module and
database, with a 2-second status max-age so revocation and staleness are seen quickly) and
with the sync and the async client (``connect``): the async client is driven through a
blocking facade on its own event loop, so one test body exercises both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sdk_helpers import Blocking, Counting, LiveServer, VirtualClock, live_registry

from endorse.client import AsyncClient, Client, _clock


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A registry process shared by the tests of a module, on each database."""
    with live_registry(request.param, tmp_path_factory.mktemp(request.param)) as server:
        yield server


@pytest.fixture(autouse=True)
def endorse_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing of the user's own data directory is read or written."""
    home = tmp_path / "home"
    monkeypatch.setenv("ENDORSE_HOME", str(home))
    monkeypatch.delenv("ENDORSE_PASSPHRASE", raising=False)
    return home


Connect = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(flavour: str, tmp_path: Path) -> Iterator[Connect]:
    """``connect(registry_url, **options)``: a Client, or a blocking AsyncClient.

    ``count=Counting()`` wraps the real transport to count requests; ``transport=`` (a
    MockTransport) is passed through. The pin store defaults to one per test.
    """
    opened: list[Any] = []
    runner = asyncio.Runner()

    def open_client(url: str, *, count: Counting | None = None, **options: Any) -> Any:
        options.setdefault("pin_store", tmp_path / "pins.json")
        if flavour == "sync":
            if count is not None:
                count.inner = httpx.HTTPTransport()
                options["transport"] = count
            client: Any = Client(url, **options)
        else:
            if count is not None:
                count.inner = httpx.AsyncHTTPTransport()
                options["transport"] = count
            client = Blocking(AsyncClient(url, **options), runner)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()
    runner.close()


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    """The clients' :class:`VirtualClock`, running with the real time until moved; every
    test's clients wait (retry backoffs, ``Retry-After``) on it, not on the wall clock."""
    c = VirtualClock()
    monkeypatch.setattr(_clock, "now", c.now)
    monkeypatch.setattr(_clock, "monotonic", c.monotonic)
    monkeypatch.setattr(_clock, "sleep", c.sleep)
    monkeypatch.setattr(_clock, "asleep", c.asleep)
    return c
