"""The registry's own signing key: created once, kept in the database, never logged.

Keeping it in the database (rather than a file next to one process) lets every server process
and machine that shares the database sign as the same registry.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from endorse.protocol.keys import SigningKey
from endorse.server.db import Database
from endorse.server.models import RegistryKey


def load_or_create(db: Database, now: int) -> SigningKey:
    """The registry key, generating and storing it on first start (race-safe across processes)."""
    with db.read() as session:
        row = session.scalars(select(RegistryKey).where(RegistryKey.id == 1)).first()
        if row is not None:
            return SigningKey.from_seed(row.seed)
    key = SigningKey.generate()
    try:
        with db.write() as session:
            session.add(RegistryKey(id=1, seed=key.seed(), did=key.did, created_at=now))
    except IntegrityError:
        pass  # another process created it first: use theirs
    with db.read() as session:
        row = session.scalars(select(RegistryKey).where(RegistryKey.id == 1)).one()
        return SigningKey.from_seed(row.seed)


def current_key_id(db: Database) -> str | None:
    """The registry key's id (did:key), or None when none was made yet or the database has no
    schema yet; reads only."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with db.read() as session:
            row = session.scalars(select(RegistryKey).where(RegistryKey.id == 1)).first()
    except (OperationalError, ProgrammingError):
        return None  # no tables yet: `endorse serve` or `endorse db upgrade` makes them
    return row.did if row is not None else None
