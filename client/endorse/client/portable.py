"""The portable form in the SDK (spec §13): export an endorsement as a W3C Verifiable Credential,
keep the endorser's status list credential at the registry current, verify a credential.

Flows over the sans-I/O :class:`~endorse.client._core.Core`, driven by
:class:`~endorse.client.Client` (``export_vc``, ``update_vc_status``, ``verify_vc``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from endorse.client._core import Core, Flow
from endorse.client._wire import Request, StatusListOut
from endorse.client.cache import IssuerFact
from endorse.client.models import Listed
from endorse.protocol import (
    Bitstring,
    Check,
    Endorsement,
    InvalidKey,
    MalformedToken,
    SigningKey,
    StatusList,
    TrustedIssuer,
    Verdict,
    decode_unverified,
    verify_status_list,
    verify_token,
)
from endorse.protocol.vc import (
    CredentialResult,
    endorsement_credential,
    status_list_credential,
    status_list_url,
    verify_credential,
)

__all__ = ["export_vc", "update_vc_status", "verify_vc", "withdraw_vc"]


def export_vc(core: Core, key: SigningKey, token: str, *, now: int) -> Flow[dict[str, Any]]:
    """The signed ``EndorsementCredential`` of ``token`` (an endorsement ``key`` issued and
    registered at this registry), after publishing the endorser's status list credential its
    status points to (spec §13.3).

    Raises:
        MalformedToken, BadSignature: ``token`` is not a good endorsement token.
        InvalidKey: it was issued by another key.
        MalformedToken: it is not registered at this registry.
        RegistryError, RegistryUnreachable: the status list credential could not be stored.
    """
    e = verify_token(token, Endorsement).object
    if e.issuer != key.did:
        raise InvalidKey("this endorsement was issued by another key")
    if e.status is None or e.status.registry != core.registry:
        raise MalformedToken(f"only an endorsement registered at {core.registry} is exported")
    credential = endorsement_credential(e, key)
    yield from update_vc_status(core, key, e.status.list_id, now=now)
    return credential


def update_vc_status(
    core: Core, key: SigningKey, list_id: str, *, now: int, listed: list[Listed] | None = None
) -> Flow[dict[str, Any]]:
    """Sign and store ``key``'s status list credential for ``list_id``: its bits are the key's
    revoked endorsements in that list, as the registry lists them (spec §13.3).

    Raises:
        MalformedToken: the key has no endorsement registered in that list.
        RegistryError, RegistryUnreachable, RegistryStatementInvalid: as for every call.
    """
    if listed is None:
        listed = yield from core.list_endorsements(key, now=now)
    mine = [item for item in listed if item.list_id == list_id]
    if not mine:
        raise MalformedToken("this key has no endorsement registered in that list")
    response = yield from core._one(core._get(f"/api/v1/status-lists/{list_id}"))
    out = core._decode(core._expect(response, 200), StatusListOut, "a status list")
    pinned, registry = core._pinned(), core.registry
    size = core._statement(
        "status list", lambda: verify_status_list(out.token, pinned, registry)
    ).bits.size
    bits = Bitstring(size)
    for item in mine:
        if item.revoked:
            bits.set(item.index)
    credential = status_list_credential(key, registry, list_id, bits, valid_from=now)
    request = Request(
        "PUT",
        status_list_url(registry, key.did, list_id),
        {"content-type": "application/json"},
        orjson.dumps(credential),
        True,  # storing the same credential twice is harmless
    )
    core._expect((yield from core._one(request)), 204)
    return credential


def withdraw_vc(core: Core, key: SigningKey, endorsement: str, *, now: int) -> Flow[bool]:
    """After a revocation: re-sign the endorser's status list credential of the revoked
    endorsement's list, if one was ever published. Returns whether there was one.

    Raises:
        RegistryError, RegistryUnreachable, RegistryStatementInvalid: as for every call.
    """
    listed: list[Listed] | None = None
    if endorsement.startswith(Endorsement.TYPE + "-v1."):
        e = decode_unverified(endorsement, Endorsement).object
        if e.status is None or e.status.registry != core.registry:
            return False
        list_id = e.status.list_id
    else:
        listed = yield from core.list_endorsements(key, now=now)
        found = [item.list_id for item in listed if item.id == endorsement]
        if not found:
            return False
        list_id = found[0]
    url = status_list_url(core.registry, key.did, list_id)
    response = yield from core._one(Request("GET", url, {}, b"", True))
    if response.status == 404:
        return False
    core._expect(response, 200)
    yield from update_vc_status(core, key, list_id, now=now, listed=listed)
    return True


def verify_vc(
    core: Core,
    credential: object,
    *,
    now: int,
    subject: str | None = None,
    purpose: str | None = None,
    audience: str | None = None,
    allow_stale: int = 0,
) -> Flow[CredentialResult]:
    """Verify an endorsement credential with the facts of this registry (spec §13.5): the
    issuer's key binding and key state, and the registry's signed status list of the entry
    the credential names. Same verdicts, sentences and freshness rules as a token.

    Raises:
        RegistryUnreachable, RegistryError: the issuer's key state could not be had.
        PinMismatch, RegistryStatementInvalid: the registry's answers cannot be trusted.
        InvalidArgument: an expectation of the wrong type.
    """
    first = verify_credential(
        credential, now=now, issuers={}, subject=subject, purpose=purpose, audience=audience
    )
    c = first.credential
    if c is None:  # malformed or a bad proof: nothing to fetch
        return first
    reachable = yield from core.contact(strict=False, now=now)
    issuers: dict[str, TrustedIssuer] = {}
    lists: dict[tuple[str, str], StatusList] = {}
    held: dict[str, IssuerFact] = {}
    ours = [c.list_id] if c.registry == core.registry else []
    yield from core._gather([c.issuer.id], ours, issuers, lists, held, now, reachable)
    result = verify_credential(
        credential,
        now=now,
        issuers=issuers,
        status_lists=lists,
        subject=subject,
        purpose=purpose,
        audience=audience,
        max_status_staleness=allow_stale,
    )
    fact = held.get(c.issuer.id)
    if fact is not None and result.valid and now - fact.fresh_until > allow_stale:
        # A key state the registry could not refresh cannot vouch the key was not revoked
        # since (the token's rule, spec §8.17).
        stale = Check("issuer_key", False, f"key state stale since {fact.fresh_until}")
        return replace(
            result,
            verdict=Verdict.STATUS_UNAVAILABLE,
            detail="issuer key state is stale",
            checks=tuple(stale if x.name == "issuer_key" else x for x in result.checks),
        )
    return result
