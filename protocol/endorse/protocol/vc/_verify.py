"""Verification of an endorsement credential: spec §6.3's steps on the portable form (§13.5).

Pure, like :func:`~endorse.protocol.verify_endorsement`: issuers, the registry's signed status
lists and the time are passed in, and the verdicts and sentences are the token's.

The status of a credential is read from the registry's own signed status list (the same list,
list id and index as the token it was exported from): it is fresh within its max-age, and a
revocation reaches it at once. The endorser-signed status list credential the credential points
to is what third-party verifiers read (spec §13.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from endorse.protocol.errors import BadSignature, EndorseError, InvalidArgument, VerificationFailed
from endorse.protocol.status import StatusList
from endorse.protocol.trust import TrustedIssuer
from endorse.protocol.vc._credential import EndorsementCredential, read_credential, subject_digest
from endorse.protocol.vc._proof import verify_checked
from endorse.protocol.verdicts import Verdict
from endorse.protocol.verify import DEFAULT_CLOCK_SKEW, Check, StatusKey, normalize_name


@dataclass(frozen=True, slots=True)
class CredentialResult:
    """The outcome of :func:`verify_credential`; ``credential`` is set once the proof held."""

    verdict: Verdict
    detail: str
    checks: tuple[Check, ...]
    checked_at: int
    credential: EndorsementCredential | None = None
    issuer: TrustedIssuer | None = None
    status: StatusList | None = None

    @property
    def message(self) -> str:
        """The verdict's sentence for a recruiter (the token's, spec §6.2)."""
        return self.verdict.sentence

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def raise_for_verdict(self) -> EndorsementCredential:
        """Return the credential when valid.

        Raises:
            VerificationFailed: for every other verdict (``.result`` is this result).
        """
        if self.verdict is not Verdict.VALID or self.credential is None:
            raise CredentialVerificationFailed(self)
        return self.credential


class CredentialVerificationFailed(VerificationFailed):
    """:class:`VerificationFailed` for a credential; the result is on ``credential_result``."""

    def __init__(self, result: CredentialResult) -> None:
        if type(result) is not CredentialResult:
            raise InvalidArgument("CredentialVerificationFailed needs a CredentialResult")
        EndorseError.__init__(self, f"{result.verdict.value}: {result.message}")
        self.credential_result = result

    @property
    def verdict(self) -> str:
        return self.credential_result.verdict.value


def verify_credential(
    credential: object,
    *,
    now: int,
    issuers: Mapping[str, TrustedIssuer],
    status_lists: Mapping[StatusKey, StatusList] | None = None,
    subject: str | None = None,
    purpose: str | None = None,
    audience: str | None = None,
    clock_skew: int = DEFAULT_CLOCK_SKEW,
    max_status_staleness: int = 0,
) -> CredentialResult:
    """Verify an endorsement credential (JSON bytes, text or a parsed dict) (spec §13.5).

    Never raises for any credential: every defect is a verdict. The steps are spec §6.3's:
    format, proof (``bad_signature``), issuer bound (``unknown_issuer``), issuer key not revoked
    (``issuer_key_revoked``: a credential carries no registration record), revocation in the
    registry's status list, validity window, subject, purpose, audience, a fresh status list.

    Raises:
        InvalidArgument: a verifier argument of the wrong type.
    """
    if (
        type(now) is not int
        or type(clock_skew) is not int
        or type(max_status_staleness) is not int
        or not isinstance(issuers, Mapping)
        or (status_lists is not None and not isinstance(status_lists, Mapping))
        or any(x is not None and type(x) is not str for x in (subject, purpose, audience))
    ):
        raise InvalidArgument(
            "verify_credential(credential, now: int, issuers: Mapping, status_lists: Mapping,"
            " subject/purpose/audience: str | None, clock_skew/max_status_staleness: int)"
        )
    checks: list[Check] = []

    def done(
        verdict: Verdict,
        detail: str,
        c: EndorsementCredential | None = None,
        issuer: TrustedIssuer | None = None,
        status: StatusList | None = None,
    ) -> CredentialResult:
        return CredentialResult(verdict, detail, tuple(checks), now, c, issuer, status)

    try:
        c, document = read_credential(credential)
    except EndorseError as err:
        checks.append(Check("format", False, str(err)))
        return done(Verdict.MALFORMED, str(err))
    checks.append(Check("format", True, "well-formed endorsement credential"))

    try:
        key = verify_checked(document, checked=True)
        if key.did != c.issuer.id:
            raise BadSignature("the proof is by another key than the issuer's")
    except EndorseError as err:
        checks.append(Check("signature", False, str(err)))
        return done(Verdict.BAD_SIGNATURE, f"eddsa-jcs-2022 proof: {err}")
    checks.append(Check("signature", True, "eddsa-jcs-2022 proof by the issuer's key verified"))

    issuer = issuers.get(c.issuer.id)
    if issuer is not None and type(issuer) is not TrustedIssuer:
        raise InvalidArgument("issuers must map did:key strings to TrustedIssuer")
    if issuer is None or issuer.key != c.issuer.id:
        checks.append(Check("issuer", False, "key not bound to a verified identity"))
        return done(Verdict.UNKNOWN_ISSUER, "issuer key is not trusted by this verifier", c)
    checks.append(
        Check("issuer", True, "key bound to a verified identity" if issuer.identity else "pinned")
    )
    if issuer.revoked_from is not None:
        problem = "issuer key revoked; a credential carries no registration record"
        checks.append(Check("issuer_key", False, problem))
        return done(Verdict.ISSUER_KEY_REVOKED, problem, c, issuer)
    checks.append(Check("issuer_key", True, "issuer key not revoked"))

    status = (status_lists or {}).get((c.registry, c.list_id))
    if status is not None and type(status) is not StatusList:
        raise InvalidArgument("status_lists must map (registry, list id) to StatusList")
    if status is not None and c.index >= status.bits.size:
        status = None
    if status is not None and status.is_revoked(c.index):
        checks.append(Check("status", False, f"revoked (list of {status.issued_at})"))
        return done(Verdict.REVOKED, "the status list marks it revoked", c, issuer, status)

    if now + clock_skew < c.not_before:
        checks.append(Check("validity", False, f"not before {c.valid_from}"))
        return done(Verdict.NOT_YET_VALID, "validFrom is in the future", c, issuer, status)
    if now - clock_skew >= c.expires:
        checks.append(Check("validity", False, f"expired at {c.valid_until}"))
        return done(Verdict.EXPIRED, "validUntil has passed", c, issuer, status)
    checks.append(Check("validity", True, "within its validity window"))

    s = c.subject
    if subject is not None:
        wanted = normalize_name(subject)
        if wanted != normalize_name(s.name) and subject_digest(c.id, subject) != s.id:
            checks.append(Check("subject", False, "expected subject not named by the credential"))
            return done(Verdict.SUBJECT_MISMATCH, "subject differs", c, issuer, status)
        checks.append(Check("subject", True, "names the expected subject"))
    if purpose is not None:
        if purpose not in s.purposes:
            checks.append(Check("purpose", False, f"{purpose[:64]!r} not allowed"))
            return done(Verdict.PURPOSE_NOT_ALLOWED, "purpose not allowed", c, issuer, status)
        checks.append(Check("purpose", True, "allows the intended purpose"))
    if s.audience is not None:
        if audience != s.audience:
            checks.append(Check("audience", False, "restricted to another audience"))
            return done(Verdict.AUDIENCE_MISMATCH, "audience differs", c, issuer, status)
        checks.append(Check("audience", True, "addressed to this verifier"))

    if status is None:
        checks.append(Check("status", False, "no status list covering this credential"))
        return done(Verdict.STATUS_UNAVAILABLE, "status list not available", c, issuer)
    if status.issued_at > now + clock_skew:
        checks.append(Check("status", False, f"list dated in the future ({status.issued_at})"))
        return done(Verdict.STATUS_UNAVAILABLE, "status list is from the future", c, issuer)
    if now > status.fresh_until + max_status_staleness:
        checks.append(Check("status", False, f"list stale since {status.fresh_until}"))
        return done(Verdict.STATUS_UNAVAILABLE, "status list is stale", c, issuer, status)
    checks.append(Check("status", True, "not revoked per a fresh status list"))
    return done(Verdict.VALID, "all checks passed", c, issuer, status)
