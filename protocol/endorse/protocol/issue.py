"""Building and signing endorsements (spec §4.2): the endorser's side of the protocol."""

from __future__ import annotations

import os
from collections.abc import Iterable

from endorse.protocol.encoding import b64url_encode
from endorse.protocol.keys import SigningKey
from endorse.protocol.objects import (
    DEFAULT_VALIDITY,
    Endorsement,
    Relationship,
    StatusRef,
    Subject,
)
from endorse.protocol.token import sign


def new_id() -> str:
    """A fresh random endorsement id: 16 bytes from the OS, base64url."""
    return b64url_encode(os.urandom(16))


def build_endorsement(
    issuer: SigningKey,
    issuer_name: str,
    subject: Subject,
    relationship: Relationship,
    purposes: Iterable[str],
    *,
    now: int,
    expires: int | None = None,
    not_before: int | None = None,
    audience: str | None = None,
    statement: str | None = None,
    contact: bool = False,
    status: StatusRef | None = None,
    id: str | None = None,
) -> Endorsement:
    """An endorsement issued at ``now``, valid one year from ``not_before`` unless told.

    Purposes are sorted and de-duplicated here, the one order the protocol accepts. Rules
    are checked when the result is signed (:func:`issue` or :func:`~endorse.protocol.sign`).
    """
    start = now if not_before is None else not_before
    return Endorsement(
        id=new_id() if id is None else id,
        issuer=issuer.did,
        issuer_name=issuer_name,
        subject=subject,
        relationship=relationship,
        purposes=tuple(sorted(set(purposes))),
        issued_at=now,
        not_before=start,
        expires=start + DEFAULT_VALIDITY if expires is None else expires,
        contact=contact,
        audience=audience,
        statement=statement,
        status=status,
    )


def issue(
    issuer: SigningKey,
    issuer_name: str,
    subject: Subject,
    relationship: Relationship,
    purposes: Iterable[str],
    *,
    now: int,
    expires: int | None = None,
    not_before: int | None = None,
    audience: str | None = None,
    statement: str | None = None,
    contact: bool = False,
    status: StatusRef | None = None,
) -> str:
    """Build (see :func:`build_endorsement`) and sign an endorsement; return its token.

    Raises:
        MalformedToken: a field breaks a rule of spec §4.2; the message names it.
    """
    return sign(
        build_endorsement(
            issuer,
            issuer_name,
            subject,
            relationship,
            purposes,
            now=now,
            expires=expires,
            not_before=not_before,
            audience=audience,
            statement=statement,
            contact=contact,
            status=status,
        ),
        issuer,
    )
