"""E-mailed one-time codes: made, stored as MACs, taken once (spec §8.9).

Used by identity registration and recovery (:mod:`endorse.server.identities`) and by reference
requests confirmed by the requester's e-mail (:mod:`endorse.server.claims`). Each flow sends
its own mail; what they share is here: the pending id the client is given, the code, the row
that holds its MAC, and the one check that takes a code.

Codes are random (``secrets``), stored only as HMAC-SHA256 under a key derived from the
registry's seed, over the code and the pending id; compared with :func:`hmac.compare_digest`;
refused after ``code_ttl`` seconds or ``code_max_attempts`` wrong guesses; used once. Every way
a code can fail is one answer (:data:`INVALID_CODE`), so the answer is no oracle.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from endorse.server.context import Context
from endorse.server.models import PendingCode

CODE_DIGITS = 8
INVALID_CODE = "invalid or expired code"
"""The detail of every refused code, whatever the reason."""
_CODE_MAC_LABEL = b"endorse/server/v1/confirmation-code-mac\0"


@dataclass(frozen=True, slots=True)
class Pending:
    """A code that was e-mailed (or, to reveal nothing, seems to have been)."""

    id: str
    expires_at: int


def new_id() -> str:
    """A fresh random id: 22 base64url characters, 128 bits (pending codes, requests)."""
    return secrets.token_urlsafe(16)


def new_code() -> str:
    """A fresh code of :data:`CODE_DIGITS` decimal digits."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_mac(ctx: Context, pending_id: str, code: str) -> bytes:
    """The MAC stored for ``code`` sent under ``pending_id`` (never the code itself)."""
    # A key of its own, derived from the registry's MAC seed (its first key's, kept across
    # rotations): a leaked table of MACs is useless without the seed, and the MAC key can
    # sign nothing.
    mac_key = hmac.new(ctx.mac_seed, _CODE_MAC_LABEL, hashlib.sha256).digest()
    message = code.encode("ascii") + b"\0" + pending_id.encode("ascii")
    return hmac.new(mac_key, message, hashlib.sha256).digest()


def pending_row(
    ctx: Context,
    pending: Pending,
    purpose: str,
    key: str,
    email: str,
    name: str,
    code: str,
    now: int,
    payload: str | None = None,
) -> PendingCode:
    """The row that lets ``code`` be taken once for ``purpose``, by ``key``."""
    return PendingCode(
        id=pending.id,
        purpose=purpose,
        key=key,
        email=email,
        name=name,
        code_mac=code_mac(ctx, pending.id, code),
        created_at=now,
        expires_at=pending.expires_at,
        attempts=0,
        used=False,
        payload=payload,
    )


def purge(session: Session, now: int) -> None:
    """Drop expired codes: they confirm nothing, and dropping them drops the addresses they
    hold."""
    session.execute(delete(PendingCode).where(PendingCode.expires_at <= now))


def take_code(
    ctx: Context,
    session: Session,
    purpose: str,
    key: str,
    pending_id: str,
    code: str,
    now: int,
) -> PendingCode | None:
    """The pending row if ``code`` confirms it, now marked used; None otherwise.

    A wrong code for a live row counts an attempt (committed with the session, which the
    caller lets end normally before raising).
    """
    row = session.scalars(
        select(PendingCode).where(PendingCode.id == pending_id).with_for_update()
    ).first()
    expected = code_mac(ctx, pending_id, code)  # computed in every case: same work for all
    if row is None or row.purpose != purpose or row.key != key:
        return None
    if row.used or row.expires_at <= now or row.attempts >= ctx.settings.code_max_attempts:
        return None
    if not hmac.compare_digest(row.code_mac, expected):
        row.attempts += 1
        return None
    row.used = True
    return row
