"""Engines and sessions for SQLite (embedded) and PostgreSQL (production).

SQLite runs in WAL mode with ``synchronous=FULL`` so an acknowledged commit survives a crash
or power loss, and with a busy timeout so several server processes can share the file. Write
transactions take SQLite's write lock when they begin (``BEGIN IMMEDIATE``), so read-then-write
units of work serialize instead of failing half-way; PostgreSQL uses row locks instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000
_IMMEDIATE = "endorse_immediate"


def make_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    """An engine for ``url`` with the durability settings of its backend.

    ``sqlite_synchronous`` is FULL for everything acknowledged to a client; only state that
    may lose its last writes in a crash (rate counters) uses NORMAL, which in WAL mode skips
    the flush per commit but never risks corruption.
    """
    if sqlite_synchronous not in {"FULL", "NORMAL"}:
        raise ValueError(sqlite_synchronous)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=30)
    # Routes run in a thread pool of 40: keep that many connections rather than churn them.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 10},
        pool_size=20,
        max_overflow=30,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin), not the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass(frozen=True)
class Database:
    """An engine with two session factories: for reading, and for read-then-write work."""

    engine: Engine
    reader: sessionmaker[Session]
    writer: sessionmaker[Session]

    @classmethod
    def connect(cls, url: str) -> Database:
        engine = make_engine(url)
        return cls(
            engine,
            sessionmaker(engine, expire_on_commit=False),
            sessionmaker(engine.execution_options(**{_IMMEDIATE: True}), expire_on_commit=False),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work that writes: committed (durably) when the block ends, else rolled back."""
        with self.writer.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work."""
        with self.reader.begin() as session:
            yield session

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
