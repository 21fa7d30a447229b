"""Verification of a refusal: one pure function, the algorithm of spec §6.4.

A refusal is verified like an endorsement (format, signature, trusted issuer, issuer key,
validity, scope), by the same steps (:mod:`endorse.protocol.steps`) where §6.4 states the
same rule as §6.3, and, when every step passes, ends in the verdict ``refused``: never
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

from endorse.protocol import steps
from endorse.protocol.errors import InvalidArgument
from endorse.protocol.objects import Refusal
from endorse.protocol.steps import StepFailed
from endorse.protocol.trust import TrustedIssuer
from endorse.protocol.verdicts import Verdict
from endorse.protocol.verify import DEFAULT_CLOCK_SKEW, Check, VerificationResult

_FORMAT_OK = Check("format", True, "well-formed refusal in canonical encoding")
_SIGNATURE_OK = Check("signature", True, "Ed25519 signature of the referee's key verified")
_ISSUER_KEY_OK = Check("issuer_key", True, "referee key not revoked")
_PURPOSE_OK = Check("purpose", True, "covers the intended purpose")

# The shared steps of spec §6.3 word what they find for an endorsement; a refusal's result
# says it of a refusal: its signer is the referee, its window starts at iat (it has no nbf).
_REFUSAL_WORDS = {
    "issuer key is not trusted by this verifier": "referee key is not trusted by this verifier",
    "nbf is in the future": "iat is in the future",
    "expected subject not named by the token": "expected subject not named by the refusal",
}


def _in_refusal_words(check: Check) -> Check:
    return check._replace(detail=_REFUSAL_WORDS.get(check.detail, check.detail))


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
    verified: Refusal | None = None
    issuer: TrustedIssuer | None = None
    try:
        # Steps 1-2: the compact form, the canonical payload and the schema. A token of any
        # other type (an endorsement included) is malformed here: no refusal is read from it.
        r, payload, signature = steps.compact_form_and_payload(token, Refusal)
        checks.append(_FORMAT_OK)
        # Step 3: the signature, under the refusal's signing context, by the named referee.
        steps.signature(r, payload, signature)
        checks.append(_SIGNATURE_OK)
        verified = r
        # Step 4 (spec §6.3 step 4): is the key one the verifier trusts?
        issuer, check = steps.issuer(r.issuer, issuers)
        checks.append(check)
        # Step 5 differs from spec §6.3 step 5 on purpose (§6.4 step 5): a refusal carries
        # no registry registration, and its iat proves nothing (a thief of the key can
        # backdate it), so a revoked key vouches for no refusal at all.
        if issuer.revoked_from is not None:
            problem = "referee key revoked; a refusal cannot be shown to predate that"
            checks.append(Check("issuer_key", False, problem))
            return _result(Verdict.ISSUER_KEY_REVOKED, problem, checks, now, token, r, issuer)
        checks.append(_ISSUER_KEY_OK)
        # Step 6 (spec §6.3 step 7): the validity window, from iat (a refusal has no nbf).
        checks.append(steps.validity_window(r.issued_at, r.expires, now, clock_skew))
        # Step 7a (spec §6.3 step 8a): the subject, compared as for an endorsement.
        if subject is not None:
            checks.append(steps.subject(subject, r.subject))
    except StepFailed as failed:
        checks.append(_in_refusal_words(failed.check))
        detail = _REFUSAL_WORDS.get(failed.detail, failed.detail)
        return _result(failed.verdict, detail, checks, now, token, verified, issuer)
    # Step 7b differs from spec §6.3 step 8c (§6.4 step 7b): a refusal names at most one
    # purpose, and one naming none refuses for every purpose.
    if purpose is not None:
        if r.purpose is not None and r.purpose != purpose:
            checks.append(Check("purpose", False, f"refusal is for {r.purpose!r} only"))
            detail = "the refusal is for another purpose"
            return _result(Verdict.PURPOSE_NOT_ALLOWED, detail, checks, now, token, r, issuer)
        checks.append(_PURPOSE_OK)
    return _result(Verdict.REFUSED, "genuine refusal in force", checks, now, token, r, issuer)


def _result(
    verdict: Verdict,
    detail: str,
    checks: list[Check],
    now: int,
    token: str,
    r: Refusal | None,
    issuer: TrustedIssuer | None,
) -> VerificationResult:
    return VerificationResult(verdict, detail, tuple(checks), now, token, issuer=issuer, refusal=r)


__all__ = ["verify_refusal"]
