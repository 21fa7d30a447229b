"""Fixtures for in-process registry tests: an app on a migrated database, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _clock import Clock
from fastapi.testclient import TestClient

from endorse.server.app import create_app
from endorse.server.db import Database
from endorse.server.migrate import upgrade
from endorse.server.settings import Settings

REGISTRY_URL = "http://127.0.0.1:8080"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    db = Database.connect(database_url)
    upgrade(db.engine)
    db.dispose()
    return Settings(
        registry_url=REGISTRY_URL,
        database_url=database_url,
        data_dir=tmp_path / "data",
        outbox_dir=tmp_path / "outbox",
    )


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock), base_url=REGISTRY_URL) as c:
        yield c
