"""Claimed references (spec §4.11-§4.13, §12): building the three objects, and checking the
registry's reference requests and an endorser's policy.

A claimed reference (a CV names a referee, without a token) is put to the referee through a
registry, which signs a :class:`~endorse.protocol.ReferenceRequest`. The referee answers with
an endorsement or a signed :class:`~endorse.protocol.Refusal`, or has answered in advance with
a :class:`~endorse.protocol.Policy` or a standing refusal. Refusals are verified to a verdict
by :func:`~endorse.protocol.verify_refusal`.

>>> from endorse.protocol import SigningKey, Subject, TrustedIssuer, sign_refusal, verify_refusal
>>> alice = SigningKey.from_seed(bytes(32))
>>> token = sign_refusal(alice, "Alice Smith", Subject("Bob Jones", email="bob@example.com"),
...                      now=1_700_000_000, reason="no_reference")
>>> result = verify_refusal(token, now=1_700_000_100,
...                         issuers={alice.did: TrustedIssuer.pinned(alice.did)})
>>> result.verdict.value, result.message
('refused', 'Alice Smith states that they do not give a reference for Bob Jones.')
"""

from __future__ import annotations

from collections.abc import Mapping

from endorse.protocol.errors import BadSignature, InvalidArgument, MalformedToken
from endorse.protocol.issue import new_id
from endorse.protocol.keys import PublicKey, SigningKey
from endorse.protocol.objects import (
    DEFAULT_VALIDITY,
    SIGNED_TOKENS_ONLY,
    Policy,
    ReferenceRequest,
    Refusal,
    Relationship,
    Requester,
    Subject,
)
from endorse.protocol.token import Verified, sign, verify_token
from endorse.protocol.trust import TrustedIssuer


def build_reference_request(
    *,
    registry: str,
    requester: Requester,
    referee: str,
    subject: Subject,
    relationship: Relationship,
    purpose: str,
    now: int,
    expires: int,
    audience: str | None = None,
    id: str | None = None,
) -> ReferenceRequest:
    """A reference request recorded by ``registry`` at ``now``, answerable until ``expires``.

    The registry signs it with :func:`~endorse.protocol.sign` and its own key. As with
    :func:`~endorse.protocol.build_endorsement`, declared types and lengths are checked when
    it is signed; the rules of spec §4.11 that a type cannot say are checked here.

    Raises:
        MalformedToken: a member breaks a rule of spec §4.11; the message names it.
    """
    return ReferenceRequest(
        registry=registry,
        id=new_id() if id is None else id,
        requester=requester,
        referee=referee,
        subject=subject,
        relationship=relationship,
        purpose=purpose,
        issued_at=now,
        expires=expires,
        audience=audience,
    )


def build_refusal(
    referee: SigningKey,
    referee_name: str,
    subject: Subject,
    *,
    now: int,
    purpose: str | None = None,
    reason: str | None = None,
    request: str | None = None,
    expires: int | None = None,
    id: str | None = None,
) -> Refusal:
    """A refusal by ``referee`` issued at ``now``, in force one year unless told (spec §4.12).

    ``purpose`` None refuses for every purpose; ``request`` is the id of the reference request
    answered, None for a standing refusal; ``reason`` one of
    :data:`~endorse.protocol.REFUSAL_REASONS` or None.

    Raises:
        MalformedToken: a member breaks a rule of spec §4.12; the message names it.
        InvalidArgument: ``referee`` is not a SigningKey.
    """
    if type(referee) is not SigningKey:
        raise InvalidArgument("the referee is a SigningKey")
    if type(now) is not int or (expires is not None and type(expires) is not int):
        raise MalformedToken("refusal.iat, exp: must be integers")
    return Refusal(
        id=new_id() if id is None else id,
        issuer=referee.did,
        issuer_name=referee_name,
        subject=subject,
        issued_at=now,
        expires=now + DEFAULT_VALIDITY if expires is None else expires,
        purpose=purpose,
        reason=reason,
        request=request,
    )


def sign_refusal(
    referee: SigningKey,
    referee_name: str,
    subject: Subject,
    *,
    now: int,
    purpose: str | None = None,
    reason: str | None = None,
    request: str | None = None,
    expires: int | None = None,
) -> str:
    """Build (see :func:`build_refusal`) and sign a refusal; return its token.

    Raises:
        MalformedToken: a member breaks a rule of spec §4.12; the message names it.
        InvalidArgument: ``referee`` is not a SigningKey.
    """
    return sign(
        build_refusal(
            referee,
            referee_name,
            subject,
            now=now,
            purpose=purpose,
            reason=reason,
            request=request,
            expires=expires,
        ),
        referee,
    )


def build_policy(
    issuer: SigningKey,
    issuer_name: str,
    *,
    now: int,
    notify: bool,
    refs: str = SIGNED_TOKENS_ONLY,
) -> Policy:
    """``issuer``'s policy made at ``now``: references only as signed tokens (spec §4.13).

    Raises:
        MalformedToken: a member breaks a rule of spec §4.13.
        InvalidArgument: ``issuer`` is not a SigningKey.
    """
    if type(issuer) is not SigningKey:
        raise InvalidArgument("the issuer is a SigningKey")
    return Policy(
        issuer=issuer.did, issuer_name=issuer_name, refs=refs, notify=notify, issued_at=now
    )


def sign_policy(issuer: SigningKey, issuer_name: str, *, now: int, notify: bool) -> str:
    """Build (see :func:`build_policy`) and sign a policy; return its token.

    Raises:
        MalformedToken: a member breaks a rule of spec §4.13.
        InvalidArgument: ``issuer`` is not a SigningKey.
    """
    return sign(build_policy(issuer, issuer_name, now=now, notify=notify), issuer)


def verify_reference_request(
    token: str, *, registry: str, registry_key: PublicKey
) -> Verified[ReferenceRequest]:
    """Check a reference request signed by ``registry_key`` for ``registry`` (spec §4.11).

    Whether the request is still open (``exp``) is the registry's lifecycle (spec §12), not
    part of the signature's meaning: an expired request still shows who asked what.

    Raises:
        MalformedToken: not a well-formed reference request (:class:`WrongTokenType` for a
            token of another type), or a request of another registry.
        BadSignature: not signed by ``registry_key``.
        InvalidArgument: ``registry_key`` is not a PublicKey, or ``registry`` not a str.
    """
    if type(registry) is not str:
        raise InvalidArgument("the registry id must be a str")
    if type(registry_key) is not PublicKey:
        raise InvalidArgument("the registry key must be a PublicKey")
    verified = verify_token(token, ReferenceRequest, registry_key)
    if verified.object.registry != registry:
        raise MalformedToken(
            f"request is by registry {verified.object.registry[:80]!r}, expected {registry[:80]!r}"
        )
    return verified


def verify_policy(token: str, *, issuers: Mapping[str, TrustedIssuer]) -> Verified[Policy]:
    """Check a policy signed by the key it names, a key the verifier trusts (spec §4.13).

    A policy carries no registration: a policy by a key revoked since is refused whatever its
    ``iat`` (which whoever holds the key could backdate).

    Raises:
        MalformedToken: not a well-formed policy (:class:`WrongTokenType` for another type).
        BadSignature: the signature does not verify, the key is not in ``issuers``, or the
            key is revoked.
        InvalidArgument: ``issuers`` is not a mapping to :class:`TrustedIssuer`.
    """
    if not isinstance(issuers, Mapping):
        raise InvalidArgument("issuers must map did:key strings to TrustedIssuer")
    verified = verify_token(token, Policy)
    issuer = issuers.get(verified.object.issuer)
    if issuer is not None and type(issuer) is not TrustedIssuer:
        raise InvalidArgument("issuers must map did:key strings to TrustedIssuer")
    if issuer is None or issuer.key != verified.object.issuer:
        raise BadSignature("the policy is signed by a key this verifier does not trust")
    if issuer.revoked_from is not None:
        raise BadSignature("the policy is signed by a key that has been revoked")
    return verified


__all__ = [
    "build_policy",
    "build_reference_request",
    "build_refusal",
    "sign_policy",
    "sign_refusal",
    "verify_policy",
    "verify_reference_request",
]
