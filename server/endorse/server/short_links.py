"""Short links (spec §11.6): a random id that stands for one endorsement token registered here.

A token's verification link is long (an 880-character link makes a 109-column QR code, and
many mail clients break it); a short link ``{registry}/s#{id}`` is not. Anyone who holds the
token may ask for one (holding the token is what sharing it means). The registry makes one
only for a token it can vouch for: a well-formed endorsement whose signature verifies,
registered here, by a key bound here — it is no shortener for arbitrary text. The id is 128
random bits; the row is keyed by the id's SHA-256, so a copy of the database opens no link.

A short link is a pointer, never evidence: the token it gives back is verified as any token.
It is withdrawn by whoever made it (the revocation secret given once, at creation) or by the
token's issuer (a signed request, spec §10); an unknown and a withdrawn id get the same
answer, so nobody learns which ids were withdrawn.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from endorse.protocol import token_hash
from endorse.server import verification
from endorse.server.endorsements import verified_endorsement
from endorse.server.models import EndorsementRow, Identity, ShortLinkRow
from endorse.server.problems import Forbidden, NotFound, Problem

if TYPE_CHECKING:
    from endorse.server.context import Context

SHORT_PATH = "/s"
ID_PATTERN = r"^[A-Za-z0-9_-]{21}[AQgw]$"
"""16 bytes in canonical base64url without padding (spec §2.1): 22 characters, the last of
which carries 2 bits and 4 zero bits."""
SECRET_PATTERN = r"^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"  # noqa: S105 - a shape, not a secret
"""32 bytes in canonical base64url: the revocation secret."""
MAX_LIVE_LINKS_PER_TOKEN = 20
"""Short links one token may have that are not withdrawn: enough for every place a
candidate sends it, and a bound on what one registered token can make the registry store."""


class NotRegisteredHere(Problem):
    status, slug, title = 422, "not-registered-here", "Token not registered at this registry"


class TooManyLinks(Problem):
    status, slug, title = 409, "too-many-links", "Too many short links for this token"


class NoShortLink(Problem):
    status, slug, title = 404, "no-short-link", "No such short link"


NO_SHORT_LINK = (
    "this short link was withdrawn, or never existed: ask whoever sent it for the full"
    " verification link"
)
"""One answer for an unknown and a withdrawn id (the registry says nothing about which)."""


@dataclass(frozen=True, slots=True)
class Created:
    id: str
    url: str
    revocation_secret: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Withdrawn:
    id: str
    revoked_at: int


@dataclass(frozen=True, slots=True)
class WithdrawnAll:
    token_hash: str
    withdrawn: int
    revoked_at: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("ascii")).digest()


def create(ctx: Context, token: str) -> Created:
    """A new short link for ``token``, with its revocation secret (shown once, stored hashed).

    Raises:
        TokenMalformed, TokenBadSignature: the token is not a well-formed, genuine endorsement.
        NotRegisteredHere: it is not registered at this registry, or its issuer's key is not
            bound here.
        TooManyLinks: it has :data:`MAX_LIVE_LINKS_PER_TOKEN` links not withdrawn.
    """
    e = verified_endorsement(token)
    th = token_hash(token)
    link_id = _b64(secrets.token_bytes(16))
    secret = _b64(secrets.token_bytes(32))
    now = ctx.clock()
    with ctx.db.write() as session:
        # The registration's row is locked, so concurrent requests for one token count their
        # live links one after the other: the bound holds on PostgreSQL too (SQLite's write
        # transactions are serial already).
        registered = session.scalars(
            select(EndorsementRow.id).where(EndorsementRow.token_hash == th).with_for_update()
        ).first()
        if registered is None or session.get(Identity, e.issuer) is None:
            raise NotRegisteredHere(
                "this registry makes short links only for endorsements registered here; this"
                " token is not: share its full verification link instead"
            )
        live = session.scalar(
            select(func.count())
            .select_from(ShortLinkRow)
            .where(ShortLinkRow.token_hash == th, ShortLinkRow.revoked_at.is_(None))
        )
        if (live or 0) >= MAX_LIVE_LINKS_PER_TOKEN:
            raise TooManyLinks(
                f"this token has {MAX_LIVE_LINKS_PER_TOKEN} short links already: withdraw one"
                " it no longer needs first"
            )
        session.add(
            ShortLinkRow(
                id_hash=_digest(link_id),
                token=token,
                token_hash=th,
                issuer=e.issuer,
                secret_hash=_digest(secret),
                created_at=now,
            )
        )
    return Created(link_id, f"{ctx.registry}{SHORT_PATH}#{link_id}", secret, now)


def resolve(ctx: Context, link_id: str) -> str:
    """The token short link ``link_id`` stands for.

    Raises:
        NoShortLink: no such link, or it was withdrawn (one answer for both).
    """
    with ctx.db.read() as session:
        row = session.get(ShortLinkRow, _digest(link_id))
        if row is None or row.revoked_at is not None:
            raise NoShortLink(NO_SHORT_LINK)
        return row.token


def resolve_counted(ctx: Context, link_id: str, client: str) -> str:
    """:func:`resolve`, counted first against ``client``'s verification limit (spec §11.6
    item 3), whether or not the link opens: blocking, for the thread pool.

    Raises:
        TooManyRequests: the client is over ``limit_verify_per_client``.
        NoShortLink: as :func:`resolve`.
    """
    if not verification.count_request_locally(ctx, client):
        verification.count_request(ctx, client)
    return resolve(ctx, link_id)


def revoke_with_secret(ctx: Context, link_id: str, secret: str) -> Withdrawn:
    """Withdraw ``link_id`` with the revocation secret its maker was given; idempotent.

    Raises:
        NotFound: no such link.
        Forbidden: the secret is not this link's.
    """

    def allowed(row: ShortLinkRow) -> bool:
        return hmac.compare_digest(row.secret_hash, _digest(secret))

    return _revoke(ctx, link_id, allowed, "the revocation secret is not this short link's")


def revoke_by_issuer(ctx: Context, link_id: str, signer: str) -> Withdrawn:
    """Withdraw ``link_id`` on a request signed by its token's issuer key; idempotent.

    Raises:
        NotFound: no such link.
        Forbidden: ``signer`` is not the key that signed the link's token.
    """
    return _revoke(
        ctx,
        link_id,
        lambda row: row.issuer == signer,
        "only the key that signed this short link's reference may withdraw it without the"
        " revocation secret",
    )


def revoke_all_by_issuer(ctx: Context, th: str, signer: str) -> WithdrawnAll:
    """Withdraw every short link of the token whose hash is ``th``, on a request signed by the
    key that signed it: the endorser's way to clear links made by whoever holds the token,
    whose ids and secrets only their makers have (spec §11.6 item 4).

    Raises:
        NotFound: no endorsement with this token hash is registered here.
        Forbidden: ``signer`` is not the key that signed it.
    """
    now = ctx.clock()
    with ctx.db.write() as session:
        # Locked as create() locks it: no link of this token is made while they are withdrawn.
        row = session.scalars(
            select(EndorsementRow).where(EndorsementRow.token_hash == th).with_for_update()
        ).first()
        if row is None:
            raise NotFound("no endorsement with this token hash is registered here")
        if row.issuer != signer:
            raise Forbidden("only the key that signed this reference may withdraw its short links")
        withdrawn = session.scalars(
            update(ShortLinkRow)
            .where(ShortLinkRow.token_hash == th, ShortLinkRow.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(ShortLinkRow.id_hash)
        ).all()
    return WithdrawnAll(th, len(withdrawn), now)


def _revoke(
    ctx: Context, link_id: str, allowed: Callable[[ShortLinkRow], bool], refused: str
) -> Withdrawn:
    now = ctx.clock()
    with ctx.db.write() as session:
        row = session.scalars(
            select(ShortLinkRow).where(ShortLinkRow.id_hash == _digest(link_id)).with_for_update()
        ).first()
        if row is None:
            raise NotFound("no short link with this id was made here")
        if not allowed(row):
            raise Forbidden(refused)
        if row.revoked_at is None:
            row.revoked_at = now
        return Withdrawn(link_id, row.revoked_at)
