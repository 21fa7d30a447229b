"""``endorse db backup|restore`` for the embedded SQLite database.

A backup is SQLite's online backup (``sqlite3.Connection.backup``): a consistent copy taken
while the registry runs, written to a new file and renamed into place. A restore checks that
the file is an intact registry database, then copies it page by page over the registry's
database, in one transaction, with the registry stopped.

A backup holds the registry's keys only sealed: restoring it needs the same key-encryption
key (``endorse.server.registry_key``), which is backed up separately. PostgreSQL is backed up
with its own tools (``pg_dump``/``pg_restore``; docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from endorse.server.db import Database
from endorse.server.settings import Settings


class BackupError(Exception):
    """The backup or restore cannot be made; the message says why."""


def _sqlite_path(settings: Settings) -> Path:
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(
            "endorse db backup|restore is for the SQLite database; back PostgreSQL up with"
            " pg_dump and restore it with pg_restore (docs/deploy.md)"
        )
    return Path(url.database)


def backup(settings: Settings, database: Database, target: Path) -> None:
    """Copy the registry's SQLite database to ``target`` (a new file), consistently.

    Raises:
        BackupError: not SQLite, no database yet, or ``target`` exists.
    """
    source = _sqlite_path(settings)
    if not source.exists():
        raise BackupError(f"there is no database at {source} to back up")
    if target.exists():
        raise BackupError(f"{target} exists: a backup never overwrites a file")
    partial = target.with_name(target.name + ".partial")
    with contextlib.closing(sqlite3.connect(source)) as src:
        with contextlib.closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.chmod(partial, 0o600)
    partial.rename(target)


def _check_backup(path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            (integrity,) = db.execute("PRAGMA integrity_check").fetchone()
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as e:
        raise BackupError(f"{path}: not a SQLite database: {e}") from e
    if integrity != "ok":
        raise BackupError(f"{path}: damaged: {integrity}")
    if not {"alembic_version", "registry_keys", "endorsements"} <= tables:
        raise BackupError(f"{path}: not a backup of an endorse registry")


def restore(settings: Settings, database: Database, source: Path) -> None:
    """Replace the registry's SQLite database with the backup ``source`` (registry stopped).

    Raises:
        BackupError: not SQLite, or ``source`` is not an intact registry database.
    """
    target = _sqlite_path(settings)
    _check_backup(source)
    database.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


__all__ = ["BackupError", "backup", "restore"]
