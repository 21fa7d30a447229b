"""The endorsement lifecycle at the registry: slots, registration, listing, revocation.

An endorser with a bound, unrevoked key asks for a status slot, signs its endorsement with
that slot locally, and registers the token; the registry checks the token's own signature, the
issuer's binding, the slot's ownership and the id's uniqueness, and answers with a signed
:class:`~endorse.protocol.Registration` (spec §4.10). Revocation takes a
:class:`~endorse.protocol.Revocation` signed by the issuer, sets the status bit and commits
before it is acknowledged (spec §4.3, §5). Only the issuer's own key can list its
endorsements; nothing is searchable by subject or identity.

Every refusal is a :class:`~endorse.server.problems.Problem` with its own stable type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from endorse.protocol import (
    BadSignature,
    EndorseError,
    Endorsement,
    InvalidKey,
    MalformedToken,
    Registration,
    Revocation,
    sign,
    token_hash,
    verify_revocation,
    verify_token,
)
from endorse.server import status_lists
from endorse.server.models import EndorsementRow, Identity, Slot
from endorse.server.problems import Conflict, Forbidden, NotFound, Problem

if TYPE_CHECKING:
    from endorse.server.context import Context

MAX_UNUSED_SLOTS = 100
"""Most slots one key may hold unregistered from the last :data:`UNUSED_SLOT_WINDOW`."""
UNUSED_SLOT_WINDOW = 86_400
MAX_PAGE = 100
_CURSOR = re.compile(r"([0-9]{1,16})\.([A-Za-z0-9_-]{22})")


class TokenMalformed(Problem):
    status, slug, title = 400, "malformed-token", "Malformed token"


class TokenBadSignature(Problem):
    status, slug, title = 400, "bad-signature", "Token signature does not verify"


class WrongRegistry(Problem):
    status, slug, title = 422, "wrong-registry", "Token is for another registry"


class NoStatusEntry(Problem):
    status, slug, title = 422, "no-status-entry", "Token carries no status entry"


class IssuerNotBound(Problem):
    status, slug, title = 403, "issuer-not-bound", "Key not bound to a verified identity"


class IssuerKeyRetired(Problem):
    status, slug, title = 403, "issuer-key-retired", "Key revoked or rotated"


class SlotNotAllocated(Problem):
    status, slug, title = 403, "slot-not-allocated", "Status slot not allocated to this key"


class SlotQuotaExceeded(Problem):
    status, slug, title = 429, "slot-quota", "Too many unused status slots"


class BadCursor(Problem):
    status, slug, title = 400, "bad-cursor", "Invalid page cursor"


# --- issuers -------------------------------------------------------------------------------


def require_active_issuer(session: Session, key: str) -> Identity:
    """The identity of ``key``, which must be bound and neither revoked nor rotated.

    Raises:
        IssuerNotBound: no identity holds ``key``.
        IssuerKeyRetired: the key was revoked (from any time) or rotated to a successor.
    """
    identity = session.get(Identity, key)
    if identity is None:
        raise IssuerNotBound("this key is not bound to a verified identity at this registry")
    if identity.revoked_from is not None:
        raise IssuerKeyRetired("this key was revoked; it can no longer issue endorsements")
    if identity.successor is not None:
        raise IssuerKeyRetired("this key was rotated; issue with its successor")
    return identity


# --- slots ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlotGrant:
    registry: str
    list_id: str
    index: int


def allocate_slot(ctx: Context, owner: str) -> SlotGrant:
    """A random free status entry for ``owner``'s next endorsement (spec §5).

    Raises:
        IssuerNotBound, IssuerKeyRetired: see :func:`require_active_issuer`.
        SlotQuotaExceeded: ``owner`` holds :data:`MAX_UNUSED_SLOTS` recent unused slots.
    """
    now = ctx.clock()
    settings = ctx.settings
    for attempt in range(3):
        try:
            with ctx.db.write() as session:
                require_active_issuer(session, owner)
                unused = session.scalar(
                    select(func.count())
                    .select_from(Slot)
                    .where(
                        Slot.owner == owner,
                        Slot.endorsement_id.is_(None),
                        Slot.allocated_at > now - UNUSED_SLOT_WINDOW,
                    )
                )
                if (unused or 0) >= MAX_UNUSED_SLOTS:
                    raise SlotQuotaExceeded(
                        f"this key holds {MAX_UNUSED_SLOTS} unused slots from the last 24 hours;"
                        " register endorsements with them first"
                    )
                slot = status_lists.take_entry(
                    session,
                    owner=owner,
                    size=settings.status_list_size,
                    fill=settings.status_list_fill,
                    now=now,
                )
                return SlotGrant(ctx.registry, slot.list_id, slot.idx)
        except IntegrityError:
            # Two allocators raced to the same random entry: pick again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# --- registration --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registered:
    id: str
    token_hash: str
    registered_at: int
    registration: str
    created: bool
    """False when the same token had been registered before (an idempotent repeat)."""


def verified_endorsement(token: str) -> Endorsement:
    """``token`` as a well-formed endorsement whose signature verifies under its issuer.

    Raises:
        TokenMalformed, TokenBadSignature: it is not.
    """
    try:
        return verify_token(token, Endorsement).object
    except MalformedToken as e:
        raise TokenMalformed(str(e)) from e
    except (BadSignature, InvalidKey) as e:
        raise TokenBadSignature(f"the issuer's signature does not verify: {e}") from e
    except EndorseError as e:  # pragma: no cover - verify_token raises only the above
        raise TokenMalformed(str(e)) from e


def register(ctx: Context, token: str) -> Registered:
    """Record an endorsement token and sign its registration (spec §4.10); idempotent.

    Raises:
        TokenMalformed, TokenBadSignature: the token itself is refused.
        NoStatusEntry, WrongRegistry: its status entry is missing or at another registry.
        IssuerNotBound, IssuerKeyRetired: the issuer may not register endorsements.
        SlotNotAllocated: the status entry is not a slot given to the issuer.
        Conflict: the id or the slot already belongs to another token.
    """
    e = verified_endorsement(token)
    if e.status is None:
        raise NoStatusEntry("register a token whose status entry is a slot of this registry")
    if e.status.registry != ctx.registry:
        raise WrongRegistry(f"the token's status entry is at {e.status.registry!r}")
    th = token_hash(token)
    for attempt in range(2):
        try:
            return _register_once(ctx, token, th, e)
        except IntegrityError:
            # A concurrent registration of the same id won: answer as a repeat would.
            if attempt == 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _register_once(ctx: Context, token: str, th: str, e: Endorsement) -> Registered:
    assert e.status is not None
    now = ctx.clock()
    with ctx.db.write() as session:
        slot = session.scalars(
            select(Slot)
            .where(Slot.list_id == e.status.list_id, Slot.idx == e.status.index)
            .with_for_update()
        ).first()
        existing = session.get(EndorsementRow, e.id)
        if existing is not None:
            if existing.token_hash != th:
                raise Conflict("an endorsement with this id is registered with another token")
            return Registered(
                existing.id,
                existing.token_hash,
                existing.registered_at,
                existing.registration_token,
                created=False,
            )
        require_active_issuer(session, e.issuer)
        if slot is None or slot.owner != e.issuer:
            raise SlotNotAllocated("the token's status entry is not a slot allocated to its issuer")
        if slot.endorsement_id is not None:
            raise Conflict("this status slot is already used by another endorsement")
        registration = sign(
            Registration(registry=ctx.registry, token_hash=th, issuer=e.issuer, registered_at=now),
            ctx.key,
        )
        slot.endorsement_id = e.id
        session.add(
            EndorsementRow(
                id=e.id,
                issuer=e.issuer,
                token=token,
                token_hash=th,
                list_id=e.status.list_id,
                idx=e.status.index,
                registered_at=now,
                registration_token=registration,
            )
        )
    ctx.metrics.registrations.inc()
    return Registered(e.id, th, now, registration, created=True)


def registration_of(ctx: Context, th: str) -> str | None:
    """The registration token of the token whose hash is ``th``, if it was registered here."""
    with ctx.db.read() as session:
        return session.scalars(
            select(EndorsementRow.registration_token).where(EndorsementRow.token_hash == th)
        ).first()


# --- listing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    items: list[EndorsementRow]
    next_cursor: str | None


def list_issued(ctx: Context, issuer: str, *, limit: int, cursor: str | None) -> Page:
    """``issuer``'s endorsements, oldest registration first, ``limit`` at a time.

    Raises:
        BadCursor: ``cursor`` is not one this registry handed out.
    """
    query = select(EndorsementRow).where(EndorsementRow.issuer == issuer)
    if cursor is not None:
        m = _CURSOR.fullmatch(cursor)
        if m is None:
            raise BadCursor("the cursor is not one this registry handed out")
        after = (int(m.group(1)), m.group(2))
        query = query.where(
            tuple_(EndorsementRow.registered_at, EndorsementRow.id) > tuple_(*after)
        )
    query = query.order_by(EndorsementRow.registered_at, EndorsementRow.id).limit(limit + 1)
    with ctx.db.read() as session:
        rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    return Page(rows, None if last is None else f"{last.registered_at}.{last.id}")


# --- revocation ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Revoked:
    id: str
    revoked_at: int
    revocation: str


def revoke(ctx: Context, endorsement_id: str, token: str) -> Revoked:
    """Withdraw endorsement ``endorsement_id`` with ``token``, a revocation by its issuer.

    In one write transaction the status bit is set under a row lock and the revocation is
    stored; it is committed (durably) before this returns, so an acknowledged revocation is
    never lost. Revoking again returns the revocation stored first.

    The issuer's key may have been revoked or rotated since: a withdrawal by the key that
    gave the consent is still honoured (revoking only ever removes trust). Revocations signed
    by the registry after a lost key are not taken here.

    Raises:
        TokenMalformed, TokenBadSignature: the revocation token is refused.
        Forbidden: it is signed by the registry's key, or by another issuer than the
            endorsement's; or it names another endorsement.
        NotFound: no endorsement with this id is registered here.
    """
    try:
        revocation = verify_revocation(token, ctx.key.public_key)
    except MalformedToken as e:
        raise TokenMalformed(str(e)) from e
    except (BadSignature, InvalidKey) as e:
        raise TokenBadSignature(f"the revocation's signature does not verify: {e}") from e
    except EndorseError as e:  # pragma: no cover - verify_revocation raises only the above
        raise TokenMalformed(str(e)) from e
    if revocation.by != revocation.issuer:
        raise Forbidden("only the endorsement's issuer may sign a revocation sent here")
    if revocation.endorsement_id != endorsement_id:
        raise Forbidden("the revocation names another endorsement")
    return _revoke(ctx, revocation, token)


def _revoke(ctx: Context, revocation: Revocation, token: str) -> Revoked:
    now = ctx.clock()
    with ctx.db.write() as session:
        row = session.scalars(
            select(EndorsementRow)
            .where(EndorsementRow.id == revocation.endorsement_id)
            .with_for_update()
        ).first()
        if row is None:
            raise NotFound("no endorsement with this id is registered here")
        if row.issuer != revocation.issuer:
            raise Forbidden("the revocation is signed by another key than the issuer's")
        if row.revoked_at is not None and row.revocation_token is not None:
            return Revoked(row.id, row.revoked_at, row.revocation_token)
        status_lists.set_revoked(session, row.list_id, row.idx, now)
        row.revoked_at = now
        row.revocation_token = token
    ctx.metrics.revocations.inc()
    return Revoked(revocation.endorsement_id, now, token)
