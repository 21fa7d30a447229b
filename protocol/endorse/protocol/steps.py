"""The steps of spec §6.3, one function each, named as the spec names them.

:func:`~endorse.protocol.verify_endorsement` runs them in the spec's order; verifiers of other
signed statements (a refusal, say) reuse the ones that apply to them: the signature under the
signer's key, the issuer's trust, its key state, the validity window, the subject.

A step that passes returns its :class:`Check` (a shared constant: nothing is allocated on the
hot path), plus whatever the following steps need. A step that fails raises
:class:`StepFailed` with the verdict the spec gives it, the result's short detail and the
failed check; the first failure ends a verification. Every step is pure: trusted facts and
the time are arguments.

>>> validity_window(not_before=100, expires=200, now=150, clock_skew=0).passed
True
>>> try:
...     validity_window(not_before=100, expires=200, now=200, clock_skew=0)
... except StepFailed as failed:
...     print(failed.verdict.value, failed.check.detail)
expired expired at 200
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import NamedTuple, TypeVar

from endorse.protocol._text import has_unassigned, split_whitespace
from endorse.protocol.errors import (
    BadSignature,
    EndorseError,
    InvalidArgument,
    InvalidKey,
    MalformedToken,
)
from endorse.protocol.objects import (
    Endorsement,
    Presentation,
    Registration,
    SignedObject,
    StatusRef,
    Subject,
)
from endorse.protocol.status import StatusList
from endorse.protocol.token import _check_signed, _open, token_hash, verify_token
from endorse.protocol.trust import TrustedIssuer
from endorse.protocol.verdicts import Verdict

T = TypeVar("T", bound=SignedObject)

PRESENTATION_MAX_AGE = 300
"""How old (or how far in the future) a presentation's ``iat`` may be, in seconds (§6.3 8b)."""

StatusKey = tuple[str, str]
"""How status lists are looked up: ``(registry, list_id)``."""


class Check(NamedTuple):
    """One step of the verification: its name, whether it passed, and what was found."""

    name: str
    passed: bool
    detail: str


class StepFailed(EndorseError):
    """A step of spec §6.3 failed: ``verdict`` is the verification's verdict, ``detail`` its
    short technical reason, ``check`` the failed check to record.

    ``status``: the status list that decided it (step 6's list that marks the token revoked).
    ``keeps_status``: whether the status list found in step 6 is still reported with the
    result (False for a list dated in the future, which the verifier refused to consult).
    """

    def __init__(
        self,
        verdict: Verdict,
        detail: str,
        check: Check,
        *,
        status: StatusList | None = None,
        keeps_status: bool = True,
    ) -> None:
        super().__init__(f"{verdict.value}: {detail}")
        self.verdict = verdict
        self.detail = detail
        self.check = check
        self.status = status
        self.keeps_status = keeps_status


# The passed steps' records are constants: immutable, shared, and free on the hot path.
FORMAT_OK = Check("format", True, "well-formed endorsement in canonical encoding")
SIGNATURE_OK = Check("signature", True, "Ed25519 signature of the issuer's key verified")
ISSUER_BOUND = Check("issuer", True, "key bound to a verified identity")
ISSUER_PINNED = Check("issuer", True, "key pinned by the verifier")
ISSUER_KEY_OK = Check("issuer_key", True, "issuer key not revoked")
ISSUER_KEY_REGISTERED_BEFORE = Check(
    "issuer_key", True, "issuer key revoked, but the token was registered before that"
)
VALIDITY_OK = Check("validity", True, "within its validity window")
SUBJECT_OK = Check("subject", True, "names the expected subject")
HOLDER_OK = Check("holder", True, "presented by the subject's key")
PURPOSE_OK = Check("purpose", True, "allows the intended purpose")
AUDIENCE_OK = Check("audience", True, "addressed to this verifier")
STATUS_OK = Check("status", True, "not revoked per a fresh status list")
STATUS_WAIVED = Check("status", True, "not checkable: token carries no status entry")


def compact_form_and_payload(token: object, expected: type[T]) -> tuple[T, bytes, bytes]:
    """Steps 1-2: the compact form (§3.1) and the canonical payload read by the schema of
    ``expected``. Returns the object (signature NOT checked yet), the payload and the
    signature bytes.

    Raises:
        StepFailed: ``malformed``, whatever is wrong with ``token`` (even not being a str).
        InvalidArgument: ``expected`` is not one of the protocol's object types.
    """
    try:
        return _open(token, expected)
    except InvalidArgument:
        raise
    except EndorseError as err:
        raise StepFailed(Verdict.MALFORMED, str(err), Check("format", False, str(err))) from None


def signature(obj: SignedObject, payload: bytes, signature: bytes) -> Check:
    """Step 3: the Ed25519 signature of the key ``obj`` names as its signer, over the
    signing context of its type and ``payload``.

    Raises:
        StepFailed: ``bad_signature``.
    """
    try:
        _check_signed(obj, payload, signature, None)
    except (BadSignature, MalformedToken, InvalidKey) as err:
        raise StepFailed(
            Verdict.BAD_SIGNATURE,
            f"Ed25519 signature: {err}",
            Check("signature", False, str(err)),
        ) from None
    return SIGNATURE_OK


def issuer(did: str, issuers: Mapping[str, TrustedIssuer]) -> tuple[TrustedIssuer, Check]:
    """Step 4: the trusted issuer of the key ``did`` (exact string match), and its check.

    Raises:
        StepFailed: ``unknown_issuer``.
        InvalidArgument: ``issuers`` maps ``did`` to something other than a TrustedIssuer.
    """
    found = issuers.get(did)
    if found is not None and type(found) is not TrustedIssuer:
        raise InvalidArgument("issuers must map did:key strings to TrustedIssuer")
    if found is None or found.key != did:
        raise StepFailed(
            Verdict.UNKNOWN_ISSUER,
            "issuer key is not trusted by this verifier",
            Check("issuer", False, "key not bound to a verified identity"),
        )
    return found, ISSUER_BOUND if found.identity else ISSUER_PINNED


def issuer_key(
    trusted: TrustedIssuer,
    token: str,
    did: str,
    status: StatusRef | None,
    registration: Registration | None,
) -> Check:
    """Step 5: a revoked key vouches only for what the registry recorded before the
    revocation. The token's own ``iat`` proves nothing (whoever stole the key can backdate
    it): only a registry-signed ``registration`` of this very token (``token`` as given,
    issuer ``did``, at the registry of its ``status`` entry), older than the revocation, does.

    Raises:
        StepFailed: ``issuer_key_revoked``.
    """
    revoked_from = trusted.revoked_from
    if revoked_from is None:
        return ISSUER_KEY_OK
    problem = _registration_problem(token, did, status, registration, revoked_from)
    if problem is not None:
        raise StepFailed(Verdict.ISSUER_KEY_REVOKED, problem, Check("issuer_key", False, problem))
    return ISSUER_KEY_REGISTERED_BEFORE


def _registration_problem(
    token: str,
    did: str,
    status: StatusRef | None,
    registration: Registration | None,
    revoked_from: int,
) -> str | None:
    # Spec §6.3 step 5, items 1-4 in order.
    if status is None:
        return "issuer key revoked, and the token was never registered"
    if registration is None:
        return "issuer key revoked, and no registration of this token was given"
    if (
        registration.token_hash != token_hash(token)
        or registration.issuer != did
        or registration.registry != status.registry
    ):
        return "issuer key revoked, and the registration given is for another token"
    if registration.registered_at >= revoked_from:
        return "issuer key revoked before this token was registered"
    return None


def revocation(
    status: StatusRef, status_lists: Mapping[StatusKey, StatusList] | None
) -> StatusList | None:
    """Step 6: the status list for the token's entry, if the verifier holds one that covers
    its index; a revocation seen in any known list is final, however old the list.

    Returns None when no list given can speak for the token (step 9 then reports it).

    Raises:
        StepFailed: ``revoked``.
        InvalidArgument: ``status_lists`` maps the key to something other than a StatusList.
    """
    found = None if status_lists is None else status_lists.get((status.registry, status.list_id))
    if found is None:
        return None
    if type(found) is not StatusList:
        raise InvalidArgument("status_lists must map (registry, list id) to StatusList")
    if status.index >= found.bits.size:
        return None  # the token is fine; the list given cannot speak for it
    if found.is_revoked(status.index):
        raise StepFailed(
            Verdict.REVOKED,
            "the status list marks it revoked",
            Check("status", False, f"revoked (list of {found.issued_at})"),
            status=found,
        )
    return found


def validity_window(not_before: int, expires: int, now: int, clock_skew: int) -> Check:
    """Step 7: in force for ``not_before - clock_skew <= now < expires + clock_skew``.

    Raises:
        StepFailed: ``not_yet_valid`` or ``expired``.
    """
    if now + clock_skew < not_before:
        raise StepFailed(
            Verdict.NOT_YET_VALID,
            "nbf is in the future",
            Check("validity", False, f"not before {not_before}"),
        )
    if now - clock_skew >= expires:
        raise StepFailed(
            Verdict.EXPIRED, "exp has passed", Check("validity", False, f"expired at {expires}")
        )
    return VALIDITY_OK


def normalize_name(text: str) -> str:
    """How subject expectations compare: NFKC, case-folded, inner whitespace collapsed."""
    return " ".join(split_whitespace(unicodedata.normalize("NFKC", text).casefold()))


def subject(expected: str, named: Subject) -> Check:
    """Step 8a: ``expected`` (a name, e-mail or handle) is one that ``named`` gives, as
    compared by :func:`normalize_name`.

    Raises:
        StepFailed: ``subject_mismatch``.
    """
    wanted = normalize_name(expected)
    names = (named.name, named.email, named.handle)
    # A code point unassigned in Unicode 14.0 matches nothing, on every runtime (§6.3 8a).
    if has_unassigned(expected) or wanted not in {normalize_name(n) for n in names if n}:
        raise StepFailed(
            Verdict.SUBJECT_MISMATCH,
            "subject differs",
            Check("subject", False, "expected subject not named by the token"),
        )
    return SUBJECT_OK


def holder_binding(
    presentation: str,
    e: Endorsement,
    token: str,
    *,
    nonce: str | None,
    audience: str | None,
    now: int,
) -> Check:
    """Step 8b: the subject's key signed this verifier's ``nonce`` over this ``token``.

    Raises:
        StepFailed: ``subject_mismatch``.
    """
    problem = _presentation_problem(presentation, e, token, nonce, audience, now)
    if problem is not None:
        raise StepFailed(Verdict.SUBJECT_MISMATCH, problem, Check("holder", False, problem))
    return HOLDER_OK


def _presentation_problem(
    presentation: str,
    e: Endorsement,
    token: str,
    nonce: str | None,
    audience: str | None,
    now: int,
) -> str | None:
    # Spec §6.3 step 8b, items 1-8 in order.
    if e.subject.key is None:
        return "the endorsement names no subject key, so it cannot be presented"
    if nonce is None:
        return "a presentation needs the verifier's nonce"
    try:
        p = verify_token(presentation, Presentation).object
    except EndorseError as err:
        return f"presentation: {err}"
    if p.key != e.subject.key:
        return "presentation signed by another key than the subject's"
    if p.token_hash != token_hash(token):
        return "presentation is for another token"
    if p.nonce != nonce:
        return "presentation answers another nonce"
    if p.audience is not None and p.audience != audience:
        return "presentation is for another verifier"
    if abs(now - p.issued_at) > PRESENTATION_MAX_AGE:
        return "presentation is too old or from the future"
    return None


def purpose(expected: str, purposes: tuple[str, ...]) -> Check:
    """Step 8c: ``expected`` is one of ``purposes`` (exact string comparison).

    Raises:
        StepFailed: ``purpose_not_allowed``.
    """
    if expected not in purposes:
        raise StepFailed(
            Verdict.PURPOSE_NOT_ALLOWED,
            "purpose not allowed",
            Check("purpose", False, f"{expected[:64]!r} not in token purposes"),
        )
    return PURPOSE_OK


def audience(restricted_to: str, expected: str | None) -> Check:
    """Step 8d, for a token restricted to the audience ``restricted_to``: the verifier's
    own audience identifier ``expected`` is exactly it.

    Raises:
        StepFailed: ``audience_mismatch``.
    """
    if expected != restricted_to:
        raise StepFailed(
            Verdict.AUDIENCE_MISMATCH,
            "audience differs",
            Check("audience", False, "token is restricted to another audience"),
        )
    return AUDIENCE_OK


def status_freshness(
    entry: StatusRef | None,
    status: StatusList | None,
    now: int,
    clock_skew: int,
    max_status_staleness: int,
    status_waived: bool,
) -> Check:
    """Step 9: a fresh status list covering the token (``status``, as step 6 found it), or,
    for a token without a status ``entry``, the verifier's explicit waiver.

    Raises:
        StepFailed: ``status_unavailable``.
    """
    if entry is None:
        if status_waived:
            return STATUS_WAIVED
        raise StepFailed(
            Verdict.STATUS_UNAVAILABLE,
            "no status entry in the token",
            Check("status", False, "token carries no status entry"),
        )
    if status is None:
        raise StepFailed(
            Verdict.STATUS_UNAVAILABLE,
            "status list not available",
            Check("status", False, "no status list covering this token"),
        )
    if status.issued_at > now + clock_skew:
        raise StepFailed(
            Verdict.STATUS_UNAVAILABLE,
            "status list is from the future",
            Check("status", False, f"list dated in the future ({status.issued_at})"),
            keeps_status=False,
        )
    if now > status.fresh_until + max_status_staleness:
        raise StepFailed(
            Verdict.STATUS_UNAVAILABLE,
            "status list is stale",
            Check("status", False, f"list stale since {status.fresh_until}"),
        )
    return STATUS_OK


__all__ = [
    "PRESENTATION_MAX_AGE",
    "Check",
    "StepFailed",
    "audience",
    "compact_form_and_payload",
    "holder_binding",
    "issuer",
    "issuer_key",
    "normalize_name",
    "purpose",
    "revocation",
    "signature",
    "status_freshness",
    "subject",
    "validity_window",
]
