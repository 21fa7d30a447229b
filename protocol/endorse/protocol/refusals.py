"""Verification of a refusal: one pure function, the algorithm of spec §6.4.

A refusal is verified like an endorsement (format, signature, trusted issuer, issuer key,
validity, scope) and, when every step passes, ends in the verdict ``refused``: never
``valid``. Nothing is fetched or read from a clock.

>>> from endorse.protocol import SigningKey, Subject, TrustedIssuer, sign_refusal
>>> alice = SigningKey.from_seed(bytes(32))
>>> token = sign_refusal(alice, "Alice Smith", Subject("Bob Jones", email="bob@example.com"),
...                      now=1_700_000_000, purpose="employment-reference")
>>> verify_refusal(token, now=1_700_000_100, subject="bob@example.com",
...                issuers={alice.did: TrustedIssuer.pinned(alice.did)}).message
'Alice Smith states that they do not give a reference for Bob Jones for employment-reference.'
"""

from __future__ import annotations

from collections.abc import Mapping

from endorse.protocol._text import has_unassigned
from endorse.protocol.errors import (
    BadSignature,
    EndorseError,
    InvalidArgument,
    InvalidKey,
    MalformedToken,
)
from endorse.protocol.objects import Refusal
from endorse.protocol.token import _check_signed, _open
from endorse.protocol.trust import TrustedIssuer
from endorse.protocol.verdicts import Verdict
from endorse.protocol.verify import (
    DEFAULT_CLOCK_SKEW,
    Check,
    VerificationResult,
    normalize_name,
)

_FORMAT_OK = Check("format", True, "well-formed refusal in canonical encoding")
_SIGNATURE_OK = Check("signature", True, "Ed25519 signature of the referee's key verified")
_ISSUER_BOUND = Check("issuer", True, "key bound to a verified identity")
_ISSUER_PINNED = Check("issuer", True, "key pinned by the verifier")
_ISSUER_KEY_OK = Check("issuer_key", True, "referee key not revoked")
_VALIDITY_OK = Check("validity", True, "within its validity window")
_SUBJECT_OK = Check("subject", True, "names the expected subject")
_PURPOSE_OK = Check("purpose", True, "covers the intended purpose")


def verify_refusal(
    token: str,
    *,
    now: int,
    issuers: Mapping[str, TrustedIssuer],
    subject: str | None = None,
    purpose: str | None = None,
    clock_skew: int = DEFAULT_CLOCK_SKEW,
) -> VerificationResult:
    """Verify a refusal token against trusted inputs (spec §6.4).

    Never raises for any token: every defect of the token is a verdict, and a genuine refusal
    in force whose scope matches the expectations is ``refused`` (never ``valid``). The
    decoded refusal is on ``result.refusal`` once its signature verified.

    Args:
        token: the compact refusal token, untrusted.
        now: the current time, Unix seconds.
        issuers: trusted keys by did:key (a refusal's signer is the referee, ``iss``).
        subject: the person the verifier asks about (name, e-mail or handle), if any; compared
            as for an endorsement (spec §6.3 step 8a).
        purpose: the use the verifier intends, if any. A refusal naming no purpose refuses
            for every purpose and matches any; one naming a purpose matches only that one.
        clock_skew: seconds tolerated on ``iat``/``exp``.

    Raises:
        InvalidArgument: an argument other than ``token`` has the wrong type.
    """
    if (
        type(now) is not int
        or type(clock_skew) is not int
        or not isinstance(issuers, Mapping)
        or (subject is not None and type(subject) is not str)
        or (purpose is not None and type(purpose) is not str)
    ):
        raise InvalidArgument(
            "verify_refusal(token, *, now: int, issuers: Mapping[str, TrustedIssuer],"
            " subject: str | None, purpose: str | None, clock_skew: int)"
        )
    checks: list[Check] = []

    def done(
        verdict: Verdict,
        detail: str,
        r: Refusal | None = None,
        issuer: TrustedIssuer | None = None,
    ) -> VerificationResult:
        return VerificationResult(
            verdict, detail, tuple(checks), now, token, issuer=issuer, refusal=r
        )

    # Steps 1-2: the compact form, the canonical payload and the schema. A token of any other
    # type (an endorsement included) is malformed here: no refusal is read from it.
    try:
        r, payload, signature = _open(token, Refusal)
    except EndorseError as err:
        checks.append(Check("format", False, str(err)))
        return done(Verdict.MALFORMED, str(err))
    checks.append(_FORMAT_OK)

    # Step 3: the signature, under the refusal's signing context, by the named referee.
    try:
        _check_signed(r, payload, signature, None)
    except (BadSignature, MalformedToken, InvalidKey) as err:
        checks.append(Check("signature", False, str(err)))
        return done(Verdict.BAD_SIGNATURE, f"Ed25519 signature: {err}")
    checks.append(_SIGNATURE_OK)

    # Step 4 (mirrors spec §6.3 step 4): is the key one the verifier trusts?
    issuer = _trusted_issuer(issuers, r.issuer)
    if issuer is None:
        checks.append(Check("issuer", False, "key not bound to a verified identity"))
        return done(Verdict.UNKNOWN_ISSUER, "referee key is not trusted by this verifier", r)
    checks.append(_ISSUER_BOUND if issuer.identity else _ISSUER_PINNED)

    # Step 5 (mirrors spec §6.3 step 5, without its registration escape): a refusal carries
    # no registry registration, and its iat proves nothing (a thief of the key can backdate
    # it), so a revoked key vouches for no refusal at all.
    if issuer.revoked_from is not None:
        problem = "referee key revoked; a refusal cannot be shown to predate that"
        checks.append(Check("issuer_key", False, problem))
        return done(Verdict.ISSUER_KEY_REVOKED, problem, r, issuer)
    checks.append(_ISSUER_KEY_OK)

    # Step 6 (mirrors spec §6.3 step 7): the validity window, from iat, with clock skew.
    if now + clock_skew < r.issued_at:
        checks.append(Check("validity", False, f"not before {r.issued_at}"))
        return done(Verdict.NOT_YET_VALID, "iat is in the future", r, issuer)
    if now - clock_skew >= r.expires:
        checks.append(Check("validity", False, f"expired at {r.expires}"))
        return done(Verdict.EXPIRED, "exp has passed", r, issuer)
    checks.append(_VALIDITY_OK)

    # Step 7 (mirrors spec §6.3 step 8a and 8c): scope — subject, then purpose.
    if subject is not None:
        wanted = normalize_name(subject)
        names = (r.subject.name, r.subject.email, r.subject.handle)
        # A code point unassigned in Unicode 14.0 matches no name (spec §6.3 step 8a).
        if has_unassigned(subject) or wanted not in {
            normalize_name(n) for n in names if n is not None
        }:
            checks.append(Check("subject", False, "expected subject not named by the refusal"))
            return done(Verdict.SUBJECT_MISMATCH, "subject differs", r, issuer)
        checks.append(_SUBJECT_OK)
    if purpose is not None:
        if r.purpose is not None and r.purpose != purpose:
            checks.append(Check("purpose", False, f"refusal is for {r.purpose!r} only"))
            return done(
                Verdict.PURPOSE_NOT_ALLOWED, "the refusal is for another purpose", r, issuer
            )
        checks.append(_PURPOSE_OK)
    return done(Verdict.REFUSED, "genuine refusal in force", r, issuer)


def _trusted_issuer(issuers: Mapping[str, TrustedIssuer], did: str) -> TrustedIssuer | None:
    # Mirrors spec §6.3 step 4 of verify_endorsement: the entry must be a TrustedIssuer for
    # this very key (a mapping that lists a key under another did:key trusts nothing).
    issuer = issuers.get(did)
    if issuer is not None and type(issuer) is not TrustedIssuer:
        raise InvalidArgument("issuers must map did:key strings to TrustedIssuer")
    if issuer is None or issuer.key != did:
        return None
    return issuer


__all__ = ["verify_refusal"]
