"""Building and signing endorsements (spec §4.2): the endorser's side of the protocol."""

from __future__ import annotations

import os
from collections.abc import Iterable

from endorse.protocol.encoding import b64url_encode
from endorse.protocol.errors import InvalidArgument, MalformedToken
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

    Purposes are sorted and de-duplicated here, the one order the protocol accepts.

    Building runs the rules of :class:`Endorsement` that a type cannot say (its
    ``__post_init__``: text, did:keys, purposes, the validity window, and the type of every
    value it reads). The declared types, lengths and patterns of the other members (the
    subject's e-mail, the audience, the id, ...) are checked only when the result is signed
    (:func:`issue` or :func:`~endorse.protocol.sign`), which runs every rule.

    Raises:
        MalformedToken: a rule of ``__post_init__`` is broken, ``purposes`` is not an iterable
            of str, or a time is not an int.
        InvalidArgument: ``issuer`` is not a SigningKey.
    """
    if type(issuer) is not SigningKey:
        raise InvalidArgument("the issuer is a SigningKey")
    if type(purposes) is str:
        raise MalformedToken("endorsement.purposes: a collection of purposes, not one string")
    try:
        given = list(purposes)
    except TypeError as e:
        raise MalformedToken("endorsement.purposes: must be a collection of purposes") from e
    if any(type(p) is not str for p in given):
        raise MalformedToken("endorsement.purposes: every purpose must be a str")
    start = now if not_before is None else not_before
    if type(start) is not int or (expires is not None and type(expires) is not int):
        raise MalformedToken("endorsement.iat, nbf, exp: must be integers")
    return Endorsement(
        id=new_id() if id is None else id,
        issuer=issuer.did,
        issuer_name=issuer_name,
        subject=subject,
        relationship=relationship,
        purposes=tuple(sorted(set(given))),
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
        InvalidArgument: ``issuer`` is not a SigningKey.
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
