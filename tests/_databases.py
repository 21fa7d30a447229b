"""Clean PostgreSQL schemas for tests (the production store is never skipped).

The URL comes from ``ENDORSE_TEST_POSTGRES_URL`` (``.ci/run`` sets it), defaulting to the
machine's local server; an unreachable server fails the test that needs it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

POSTGRES_URL = os.environ.get(
    "ENDORSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def postgres_schema(prefix: str = "t") -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards; its URL selects it."""
    import sqlalchemy as sa

    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as e:
        pytest.fail(f"PostgreSQL is required for these tests and is not reachable: {e}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
