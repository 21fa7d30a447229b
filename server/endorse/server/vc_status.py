"""Endorser-signed status list credentials of the portable form (spec §13.3).

A VC verifier (Digital Bazaar's among them) accepts a ``BitstringStatusListCredential`` only when
its issuer is the credential's issuer, so each endorser signs their own list for each registry
list their credentials point into, and uploads it whenever it must change (on the first export
into a list, and after every revocation there). The registry stores it only when its bits are
exactly the endorser's revoked entries of that list by the registry's own record, its proof is
by the endorser's key, and it is not older than the one it replaces; it then serves it to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from endorse.protocol import Bitstring, EndorseError
from endorse.protocol.vc import (
    date_time,
    read_status_list_credential,
    status_list_url,
    verify_jcs,
)
from endorse.protocol.vc._credential import parse_date_time
from endorse.server.models import EndorsementRow, Identity, StatusListRow, VcStatusList
from endorse.server.problems import Conflict, Forbidden, MalformedInput, NotFound

if TYPE_CHECKING:
    from endorse.server.context import Context

CLOCK_SKEW = 300
"""Seconds a status list credential's ``validFrom`` may lie ahead of the registry's clock."""


class StatusCredentialMismatch(Conflict):
    slug, title = "vc-status-mismatch", "Status list credential disagrees with the registry"


@dataclass(frozen=True, slots=True)
class Stored:
    credential: str
    valid_from: int


def expected_bits(session: Session, issuer: str, list_id: str) -> Bitstring | None:
    """The issuer's revoked entries of ``list_id`` by the registry's record, or None when the
    issuer has no endorsement registered in that list."""
    size = session.scalars(
        select(StatusListRow.size).where(StatusListRow.list_id == list_id)
    ).first()
    rows = session.execute(
        select(EndorsementRow.idx, EndorsementRow.revoked_at).where(
            EndorsementRow.issuer == issuer, EndorsementRow.list_id == list_id
        )
    ).all()
    if size is None or not rows:
        return None
    bits = Bitstring(size)
    for idx, revoked_at in rows:
        if revoked_at is not None:
            bits.set(idx)
    return bits


def store(ctx: Context, issuer: str, list_id: str, body: bytes) -> Stored:
    """Check and store ``issuer``'s status list credential for ``list_id``.

    Raises:
        MalformedInput: not a status list credential of spec §13.3's shape, for another list or
            issuer, a proof that does not verify, or a validFrom in the future.
        Forbidden: the issuer is not bound here, or its key was revoked.
        NotFound: the issuer has no endorsement registered in this list.
        StatusCredentialMismatch: its bits are not the registry's record, or it is older than
            the stored one.
    """
    now = ctx.clock()
    url = status_list_url(ctx.registry, issuer, list_id)
    try:
        slc, document, bits = read_status_list_credential(body)
        key = verify_jcs(document)
        valid_from = parse_date_time(slc.valid_from, "validFrom")
    except EndorseError as e:
        raise MalformedInput(f"status list credential: {e}") from e
    if slc.id != url or slc.issuer != issuer or key.did != issuer:
        raise MalformedInput(f"status list credential: must be {url}, issued and signed by it")
    if valid_from > now + CLOCK_SKEW:
        raise MalformedInput("status list credential: validFrom is in the future")
    text = body.decode("utf-8")
    with ctx.db.write() as session:
        identity = session.get(Identity, issuer)
        if identity is None or identity.revoked_from is not None:
            raise Forbidden("this key is not bound here, or was revoked")
        # The stored row is locked first, so two uploads for one list are checked and written
        # one after the other: the later one is checked against the record as it is then.
        row = session.get(VcStatusList, (issuer, list_id), with_for_update=True)
        expected = expected_bits(session, issuer, list_id)
        if expected is None:
            raise NotFound("this key has no endorsement registered in this list")
        if bits.size != expected.size or bits.to_bytes() != expected.to_bytes():
            raise StatusCredentialMismatch(
                "its bits must be exactly this key's revoked entries of the list"
                f" ({expected.count()} revoked, {bits.count()} set)"
            )
        if row is None:
            session.add(
                VcStatusList(
                    issuer=issuer,
                    list_id=list_id,
                    credential=text,
                    valid_from=valid_from,
                    updated_at=now,
                )
            )
        elif valid_from < row.valid_from:
            raise StatusCredentialMismatch(
                f"older than the stored one (validFrom {date_time(row.valid_from)})"
            )
        else:
            row.credential, row.valid_from, row.updated_at = text, valid_from, now
    return Stored(text, valid_from)


def load(ctx: Context, issuer: str, list_id: str) -> Stored | None:
    """The stored status list credential, or None."""
    with ctx.db.read() as session:
        row = session.get(VcStatusList, (issuer, list_id))
        return None if row is None else Stored(row.credential, row.valid_from)
