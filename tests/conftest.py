"""Shared fixtures. The server fixtures run each test on SQLite and on PostgreSQL.

PostgreSQL is this project's production store, so its tests are never skipped: the URL comes
from ``ENDORSE_TEST_POSTGRES_URL`` (``.ci/run`` sets it), defaulting to the machine's local
server, and an unreachable server fails the tests that need it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _databases import postgres_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A clean, empty database URL: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    else:
        with postgres_schema() as url:
            yield url
