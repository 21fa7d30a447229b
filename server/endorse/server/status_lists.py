"""Status lists in the registry: entries handed out at random, bits set, lists published (spec §5).

A list row holds the raw bitstring (``size / 8`` bytes) and a ``version`` bumped on every bit
set, so any process can tell whether what it cached is current from one indexed read. Entries
are taken at random among the free ones of the oldest open list; a list closes to new entries
at ``status_list_fill`` of its size, so a random pick stays cheap and an index says nothing
about who got it or when. Bits are never cleared (a revocation is permanent).

Publishing signs the list with the registry's key. Its ``iat`` is the current time rounded
down to a short quantum (a tenth of the max-age): within one quantum every process serves the
very same bytes for a version (Ed25519 and the gzip encoding are deterministic), so the ETag
``"v<version>.<iat>.<max-age>"`` is a true strong validator and the signed token can be cached. The
freshness this costs is at most one quantum, and Cache-Control says what is left of it.

>>> issued_at(1_000_299, 300)
1000290
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from endorse.protocol import Bitstring, StatusList, sign
from endorse.protocol.encoding import b64url_encode
from endorse.server.models import Slot, StatusListRow
from endorse.server.problems import Unavailable

if TYPE_CHECKING:
    from endorse.server.context import Context

LIST_ID_BYTES = 16
"""Random bytes in a list id: ids are unguessable and say nothing about order or owner."""
_CANDIDATES = 8
"""Random indexes tried per query when looking for a free entry."""
_MAX_ROUNDS = 64


def new_list_id() -> str:
    """A fresh random list id: 16 bytes, base64url (22 characters)."""
    return b64url_encode(secrets.token_bytes(LIST_ID_BYTES))


def capacity(size: int, fill: float) -> int:
    """How many entries a list of ``size`` hands out before it closes."""
    return max(1, int(size * fill))


def issued_at(now: int, max_age: int) -> int:
    """The ``iat`` a list published at ``now`` carries: ``now`` rounded down to a tenth of
    ``max_age`` (at least one second)."""
    quantum = max(1, max_age // 10)
    return now - now % quantum


def take_entry(session: Session, *, owner: str, size: int, fill: float, now: int) -> Slot:
    """Allocate a random free entry to ``owner`` in the oldest open list, opening one if none.

    Runs inside the caller's write transaction. The list row is locked (``FOR UPDATE`` on
    PostgreSQL; SQLite's write transactions are serialized already), so no two allocators
    pick from the same list at once and its ``allocated`` count stays exact; the slot's
    primary key would still refuse a duplicate.

    Raises:
        Unavailable: no free entry was found (cannot happen below a fill ratio of 1).
    """
    row = session.scalars(
        select(StatusListRow)
        .where(StatusListRow.open.is_(True))
        .order_by(StatusListRow.created_at, StatusListRow.list_id)
        .limit(1)
        .with_for_update()
    ).first()
    if row is None:
        row = StatusListRow(
            list_id=new_list_id(),
            size=size,
            bits=bytes(size // 8),
            allocated=0,
            version=1,
            open=True,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
    index = _free_index(session, row.list_id, row.size)
    slot = Slot(list_id=row.list_id, idx=index, owner=owner, allocated_at=now)
    session.add(slot)
    row.allocated += 1
    if row.allocated >= capacity(row.size, fill):
        row.open = False
    session.flush()
    return slot


def _free_index(session: Session, list_id: str, size: int) -> int:
    for _ in range(_MAX_ROUNDS):
        candidates = [secrets.randbelow(size) for _ in range(_CANDIDATES)]
        taken = set(
            session.scalars(
                select(Slot.idx).where(Slot.list_id == list_id, Slot.idx.in_(candidates))
            )
        )
        for index in candidates:
            if index not in taken:
                return index
    raise Unavailable("no free status entry could be found; try again")  # pragma: no cover


def set_revoked(session: Session, list_id: str, index: int, now: int) -> None:
    """Set entry ``index`` of ``list_id`` (revoked) under a row lock, and bump the version.

    Runs inside the caller's write transaction; the change is published by the next fetch.
    """
    row = session.scalars(
        select(StatusListRow).where(StatusListRow.list_id == list_id).with_for_update()
    ).one()
    bits = Bitstring(row.size, row.bits)
    if bits.get(index):
        return
    bits.set(index)
    row.bits = bits.to_bytes()
    row.version += 1
    row.updated_at = now


@dataclass(frozen=True, slots=True)
class Published:
    """A status list as served: its token (None when the requester's copy is current),
    strong validator and freshness."""

    token: str | None
    etag: str
    issued_at: int
    fresh_until: int


def etag(version: int, iat: int, max_age: int) -> str:
    """The strong ETag of a list's ``version`` as published at ``iat`` with ``max_age``."""
    return f'"v{version}.{iat}.{max_age}"'


def publish(
    ctx: Context, list_id: str, now: int, *, if_none_match: str | None = None
) -> Published | None:
    """The signed state of ``list_id`` at ``now``, or None when there is no such list.

    One indexed read of the row's version. When ``if_none_match`` names the current tag the
    token is not produced (``token`` is None); otherwise the bits are read and signed only
    when this process has not signed this version at this ``iat`` before.
    """
    max_age = ctx.settings.status_max_age
    iat = issued_at(now, max_age)
    with ctx.db.read() as session:
        version = session.scalars(
            select(StatusListRow.version).where(StatusListRow.list_id == list_id)
        ).first()
        if version is None:
            return None
        tag = etag(version, iat, max_age)
        if etag_matches(if_none_match, tag):
            return Published(None, tag, iat, iat + max_age)
        token = ctx.caches.status_tokens.get((list_id, version, iat, max_age))
        if token is None:
            row = session.scalars(
                select(StatusListRow).where(StatusListRow.list_id == list_id)
            ).one()
            version = row.version  # PostgreSQL may show a newer row to this second statement
            tag = etag(version, iat, max_age)
            status = StatusList(ctx.registry, list_id, iat, max_age, Bitstring(row.size, row.bits))
            token = sign(status.to_token_object(), ctx.key)
            ctx.caches.status_tokens.put((list_id, version, iat, max_age), token)
    return Published(token, tag, iat, iat + max_age)


def etag_matches(if_none_match: str | None, current: str) -> bool:
    """Whether an ``If-None-Match`` header matches ``current`` (weak comparison, RFC 9110
    §13.1.2, as a GET requires)."""
    if if_none_match is None:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == current:
            return True
    return False
