"""What the client's calls answer: frozen records, built only from checked registry answers.

Verification results are the protocol's own :class:`~endorse.protocol.VerificationResult`;
the records here cover what the protocol has no type for (a registry's self-description, a
pending e-mail confirmation or a key registered already, an issued token, an online
verification with its receipt).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from endorse.protocol import (
    Check,
    Endorsement,
    KeyBinding,
    KeyRevocation,
    Policy,
    Receipt,
    ReferenceRequest,
    Refusal,
    Registration,
    Revocation,
    Verdict,
    VerificationResult,
)
from endorse.protocol.errors import EndorseError, InvalidArgument
from endorse.protocol.findings import Findings, findings_of

__all__ = [
    "AlreadyRegistered",
    "Answer",
    "CheckCounts",
    "InboxItem",
    "Issued",
    "Listed",
    "OnlineIssuer",
    "OnlineResult",
    "OnlineStatus",
    "Pending",
    "RegistryInfo",
    "RequestStatus",
    "Revoked",
    "StandingRefusal",
    "VerifyItem",
]


@dataclass(frozen=True, slots=True)
class RegistryInfo:
    """A registry's ``/.well-known/endorse-registry``, its key checked against the pin."""

    registry: str
    key: str
    protocol_version: int
    server_version: str
    status_max_age: int


@dataclass(frozen=True, slots=True)
class VerifyItem:
    """One token of a batch and what the verifier expects of it (see ``Client.verify``).

    Raises:
        InvalidArgument: an expectation that is not a str or None.
    """

    token: str
    subject: str | None = None
    purpose: str | None = None
    audience: str | None = None
    presentation: str | None = None
    nonce: str | None = None

    def __post_init__(self) -> None:
        for name in ("subject", "purpose", "audience", "presentation", "nonce"):
            value = getattr(self, name)
            if value is not None and type(value) is not str:
                raise InvalidArgument(f"VerifyItem.{name} must be a str or None")


@dataclass(frozen=True, slots=True)
class Pending:
    """A confirmation code was e-mailed; confirm it with ``id`` before ``expires_at``."""

    id: str
    expires_at: int

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class AlreadyRegistered:
    """The key is bound to a verified identity already: no code was e-mailed, none is needed.

    ``binding`` is the registry-signed key binding (who the key belongs to, since when) and
    ``key_revocation`` the key's revocation if it was revoked (a revoked key cannot be bound
    again: make a new key and register that); both verified under the pinned registry key.
    """

    binding: KeyBinding
    key_revocation: KeyRevocation | None = None


@dataclass(frozen=True, slots=True)
class Issued:
    """A token signed locally and registered: share ``url`` (or the token) with the subject.

    ``registration`` is the registry's signed record of it, verified under the pinned key.
    """

    token: str
    url: str
    registration: Registration
    endorsement: Endorsement

    @property
    def id(self) -> str:
        return self.endorsement.id


@dataclass(frozen=True, slots=True)
class Listed:
    """One of the endorser's own registered tokens, as the registry lists it.

    ``endorsement`` is the token's content, its signature checked (by the endorser's key).
    """

    id: str
    token: str
    registered_at: int
    revoked_at: int | None
    list_id: str
    index: int
    endorsement: Endorsement

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True, slots=True)
class Revoked:
    """A withdrawal the registry recorded, durably, at ``revoked_at``.

    ``revocation`` is the revocation stored (the first one sent, if revoked twice), its
    signature checked.
    """

    id: str
    revoked_at: int
    revocation: Revocation


@dataclass(frozen=True, slots=True)
class ShortLink:
    """A short link the registry made (spec §11.6): ``url`` is ``{registry}/s#{id}``.

    Keep ``revocation_secret``: it is given this once, and withdraws the link
    (:meth:`Client.revoke_link`); the endorser's key can withdraw it too. ``created_at`` is
    Unix seconds (UTC).
    """

    id: str
    url: str
    revocation_secret: str
    created_at: int


@dataclass(frozen=True, slots=True)
class ShortLinkRevoked:
    """A short link the registry withdrew, first at ``revoked_at`` (Unix seconds, UTC). The
    token it stood for is not revoked: its full verification link keeps working."""

    id: str
    revoked_at: int


@dataclass(frozen=True, slots=True)
class ShortLinksRevoked:
    """Every short link of one token withdrawn by its endorser: ``withdrawn`` of them by this
    request, at ``revoked_at`` (Unix seconds, UTC). The token is not revoked."""

    token_hash: str
    withdrawn: int
    revoked_at: int


@dataclass(frozen=True, slots=True)
class OnlineIssuer:
    """The issuer's identity as the registry reports it (from its key binding)."""

    key: str
    email: str | None
    name: str | None
    since: int | None


@dataclass(frozen=True, slots=True)
class OnlineStatus:
    """The status entry the registry consulted, and until when that answer is fresh."""

    list_id: str
    index: int
    checked_at: int
    fresh_until: int


@dataclass(frozen=True, slots=True)
class OnlineResult:
    """The registry's answer to ``POST /api/v1/verify`` with its signed receipt.

    ``receipt`` verified under the pinned registry key and agrees with ``verdict``,
    ``checked_at`` and the token's hash: it is the registry's signed statement of the verdict.
    The other members (message, checks, claims, issuer, status) are the registry's unsigned
    explanation of it.
    """

    verdict: Verdict
    message: str
    detail: str
    checks: tuple[Check, ...]
    claims: dict[str, Any] | None
    issuer: OnlineIssuer | None
    status: OnlineStatus | None
    checked_at: int
    receipt: Receipt
    receipt_token: str

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    @property
    def findings(self) -> Findings:
        """What this verdict covers and what not (spec §6.5), as
        :func:`endorse.protocol.findings.findings` says it of an offline result: read from
        the registry's (unsigned) checks, claims and issuer."""
        e = None
        if self.claims is not None and self.verdict not in _UNREAD:
            with contextlib.suppress(EndorseError):
                e = Endorsement.from_payload(self.claims)
        i = self.issuer
        return findings_of(e, self.checks, None if i is None else (i.key, i.name))


_UNREAD = (Verdict.MALFORMED, Verdict.BAD_SIGNATURE)
"""Verdicts whose claims are attacker text: no findings are read from them."""

# --- claimed references (docs/claims.md) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """A referee's answer to a reference request, verified before it was returned.

    ``kind`` is ``endorsement``, ``refusal`` or ``policy``. For an endorsement or a refusal,
    ``result`` is its verification (the referee's key checked against its registry binding,
    whose verified address is the request's referee): an endorsement's verdict is ``valid``
    (or ``revoked``, ``expired``…, as any reference can become), a refusal's is ``refused``.
    For a policy, ``policy`` is the referee's signed policy. ``standing``: the answer is a
    standing refusal the referee signed before this request, given by the registry at once.
    """

    kind: str
    token: str
    standing: bool
    result: VerificationResult | None = None
    policy: Policy | None = None

    @property
    def refusal(self) -> Refusal | None:
        """The refusal's content when the answer is a refusal."""
        return None if self.result is None else self.result.refusal


@dataclass(frozen=True, slots=True)
class RequestStatus:
    """A reference request as its requester sees it.

    ``request`` is the registry's signed statement of the request (verified under the pinned
    key): who asked and how that was verified, what is claimed, until when; None (and
    ``token`` None) once a request to a referee not registered at the registry has ended,
    as the registry then deletes the referee's address. ``state`` is ``open``, ``answered``,
    ``expired`` (no answer by the deadline: never a refusal) or ``unreachable`` (the
    referee's address stopped all mail from this registry).
    """

    id: str
    request: ReferenceRequest | None
    token: str | None
    state: str
    answer: Answer | None
    answered_at: int | None


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A request naming the referee, as their inbox shows it (``request`` verified under the
    pinned key); ``blocked``: its requester's address is blocked by the referee."""

    id: str
    request: ReferenceRequest
    token: str
    state: str
    blocked: bool
    answer: Answer | None


@dataclass(frozen=True, slots=True)
class StandingRefusal:
    """One of the endorser's own standing refusals, its signature checked (their key)."""

    id: str
    token: str
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class CheckCounts:
    """How often one of the endorser's endorsements was checked online at the registry,
    per day (``YYYY-MM-DD``, UTC): counts only."""

    id: str
    days: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.days)
