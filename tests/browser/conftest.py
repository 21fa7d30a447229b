"""Fixtures of the real-browser tests: Debian's headless Chromium driven by Playwright.

One browser per module and a new context (no shared cache, cookies or storage) for each
page a test opens. The pages are served by a real registry process on 127.0.0.1 (a secure
context, so WebCrypto is available), seeded once through the SDK; the lying registry is an
in-process one whose ``POST /api/v1/verify`` answers "valid" whatever it found.

Chromium missing fails every test here with the command that installs it; nothing is skipped.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from _browser import (
    BOB,
    EMPLOYMENT,
    MANAGER,
    SERVER_ENV,
    ChromiumMissing,
    LiveServer,
    Reference,
    Seeded,
    launch,
    new_endorser,
    seed,
)
from _lying import LyingRegistry, LyingVerdicts
from _tabs import OpenTab, Tab
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, sync_playwright
from starlette.types import ASGIApp

from endorse.client import Client, verification_url
from endorse.server.app import create_app
from endorse.server.db import Database
from endorse.server.migrate import upgrade
from endorse.server.settings import Settings


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for a module's tests. Not for the session: until Playwright's sync API stops, it
    keeps its event loop marked as running in the main thread, and asyncio.run() in the tests
    that come after would refuse to start."""
    with sync_playwright() as playwright:
        try:
            chromium = launch(playwright)
        except ChromiumMissing as e:
            pytest.fail(str(e))
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real registry process on 127.0.0.1, SQLite, shared by every browser test."""
    directory = tmp_path_factory.mktemp("registry")
    url = f"sqlite:///{directory / 'registry.sqlite3'}"
    with LiveServer(url, directory / "server", env=SERVER_ENV) as server:
        yield server


@pytest.fixture(scope="session")
def seeded(registry: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """Valid, revoked, expired and markup-laden references at ``registry``."""
    return seed(registry.url, registry.data_dir, tmp_path_factory.mktemp("sdk"))


# --- a registry that lies about its verdict --------------------------------------------------


@contextmanager
def _serve_in_thread(app: ASGIApp, sock: socket.socket) -> Iterator[None]:
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the in-process lying registry did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(15)
        assert not thread.is_alive(), "the in-process lying registry did not stop"


@pytest.fixture(scope="module")
def lying(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LyingRegistry]:
    """A registry app in this process, behind :class:`LyingVerdicts`, with one valid
    reference of a confirmed endorser."""
    directory = tmp_path_factory.mktemp("lying")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))  # a loopback address: a secure context for WebCrypto
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = Settings(
            registry_url=url,
            data_dir=directory / "data",
            database_url=f"sqlite:///{directory / 'registry.sqlite3'}",
            redis_url=None,  # whatever the environment says: rate limits in the database
            limit_register_per_client=1000,
            limit_confirm_per_client=1000,
        )
        database = Database.connect(settings.sqlalchemy_url)
        try:
            upgrade(database.engine)
        finally:
            database.dispose()
        middleware = LyingVerdicts(create_app(settings))
        with _serve_in_thread(middleware, sock), Client(url, pin_store=directory / "p.json") as c:
            key, email = new_endorser(c, settings.data_dir, "Alice Smith")
            token = c.issue(key, "Alice Smith", BOB, MANAGER, [EMPLOYMENT]).token
            reference = Reference(token, verification_url(url, token), "Alice Smith", email)
            yield LyingRegistry(url, middleware, reference)


# --- pages -----------------------------------------------------------------------------------


@pytest.fixture
def open_tab(browser: Browser) -> Iterator[OpenTab]:
    """``open_tab(**context_options)``: a fresh context and page, its messages recorded."""
    contexts: list[BrowserContext] = []

    def opener(**options: Any) -> Tab:
        options.setdefault("viewport", {"width": 1000, "height": 900})
        context = browser.new_context(**options)
        contexts.append(context)
        tab = Tab(context.new_page(), context)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                tab.console_errors.append(message.text)

        tab.page.on("console", on_console)
        tab.page.on("pageerror", lambda error: tab.page_errors.append(str(error)))
        tab.page.on("request", lambda request: tab.requests.append(request))
        return tab

    yield opener
    for context in contexts:
        context.close()
