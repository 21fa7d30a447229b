"""Verification of an endorsement: one pure function, the algorithm of spec §6.3.

Everything trusted is passed in: issuer keys and their states, status lists, the current time
and the verifier's expectations. Nothing is fetched, stored or read from a clock, so the SDK,
the server and the tests run exactly the same decision.

>>> from endorse.protocol import *
>>> key = SigningKey.from_seed(bytes(32))
>>> token = issue(key, "Alice Smith", Subject("Bob Jones", email="bob@example.com"),
...               Relationship("work", "manager", org="Acme"), ["employment-reference"],
...               now=1_700_000_000)
>>> result = verify_endorsement(token, now=1_700_000_100, purpose="employment-reference",
...     issuers={key.did: TrustedIssuer.pinned(key.did)}, require_status=False)
>>> result.verdict.value
'valid'
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from endorse.protocol._text import has_unassigned, split_whitespace
from endorse.protocol.errors import (
    BadSignature,
    EndorseError,
    InvalidArgument,
    InvalidKey,
    MalformedToken,
    VerificationFailed,
)
from endorse.protocol.objects import Endorsement, Presentation, Refusal, Registration
from endorse.protocol.status import StatusList
from endorse.protocol.token import _check_signed, _open, token_hash, verify_token
from endorse.protocol.trust import TrustedIssuer
from endorse.protocol.verdicts import VALID_UNREGISTERED_SENTENCE, Verdict, refusal_sentence

DEFAULT_CLOCK_SKEW = 300
"""Seconds of clock difference tolerated on validity windows (spec §6.3)."""
PRESENTATION_MAX_AGE = 300
"""How old (or how far in the future) a presentation's ``iat`` may be, in seconds."""

StatusKey = tuple[str, str]
"""How status lists are looked up: ``(registry, list_id)``."""


class Check(NamedTuple):
    """One step of the verification: its name, whether it passed, and what was found."""

    name: str
    passed: bool
    detail: str


# The passed steps' records are constants: immutable, shared, and free on the hot path.
_FORMAT_OK = Check("format", True, "well-formed endorsement in canonical encoding")
_SIGNATURE_OK = Check("signature", True, "Ed25519 signature of the issuer's key verified")
_ISSUER_BOUND = Check("issuer", True, "key bound to a verified identity")
_ISSUER_PINNED = Check("issuer", True, "key pinned by the verifier")
_ISSUER_KEY_OK = Check("issuer_key", True, "issuer key not revoked")
_ISSUER_KEY_REGISTERED_BEFORE = Check(
    "issuer_key", True, "issuer key revoked, but the token was registered before that"
)
_VALIDITY_OK = Check("validity", True, "within its validity window")
_SUBJECT_OK = Check("subject", True, "names the expected subject")
_HOLDER_OK = Check("holder", True, "presented by the subject's key")
_PURPOSE_OK = Check("purpose", True, "allows the intended purpose")
_AUDIENCE_OK = Check("audience", True, "addressed to this verifier")
_STATUS_OK = Check("status", True, "not revoked per a fresh status list")
_STATUS_WAIVED = Check("status", True, "not checkable: token carries no status entry")


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The outcome of :func:`verify_endorsement` (or of :func:`~endorse.protocol.verify_refusal`).

    ``endorsement`` holds the decoded claims when the signature was good, else None.
    ``refusal`` holds the decoded refusal when a refusal's signature was good, else None.
    ``issuer`` is the trusted issuer the token was checked against, when known.
    ``status`` is the status list consulted, when there was one.
    """

    verdict: Verdict
    detail: str
    checks: tuple[Check, ...]
    checked_at: int
    token: str
    endorsement: Endorsement | None = None
    issuer: TrustedIssuer | None = None
    status: StatusList | None = None
    refusal: Refusal | None = None

    @property
    def message(self) -> str:
        """The verdict's sentence for a recruiter.

        A ``valid`` token whose revocation status was waived (``require_status=False`` and no
        status entry) must not claim it "has not been withdrawn": it gets its own sentence.
        A genuine refusal names who refuses, for whom and for what (spec §6.4).
        """
        if self.verdict is Verdict.REFUSED and self.refusal is not None:
            r = self.refusal
            return refusal_sentence(r.issuer_name, r.subject.name, r.purpose)
        if self.verdict is Verdict.VALID and not self.revocation_checked:
            return VALID_UNREGISTERED_SENTENCE
        return self.verdict.sentence

    @property
    def revocation_checked(self) -> bool:
        """Whether a status list was consulted for this token."""
        return self.status is not None

    @property
    def token_hash(self) -> str | None:
        """SHA-256 of the token as given (base64url), how receipts name what was checked;
        None when what was given was not text."""
        return token_hash(self.token) if type(self.token) is str else None

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def raise_for_verdict(self) -> Endorsement:
        """Return the endorsement when valid.

        Raises:
            VerificationFailed: for every other verdict; the result is on the exception.
        """
        if self.verdict is not Verdict.VALID or self.endorsement is None:
            raise VerificationFailed(self)
        return self.endorsement


def index_status_lists(lists: Iterable[StatusList]) -> dict[StatusKey, StatusList]:
    """Key status lists as :func:`verify_endorsement` looks them up; newest wins.

    Raises:
        InvalidArgument: ``lists`` is not an iterable of :class:`StatusList`.
    """
    try:
        items = list(lists)
    except TypeError as e:
        raise InvalidArgument("index_status_lists needs an iterable of StatusList") from e
    if any(type(s) is not StatusList for s in items):
        raise InvalidArgument("index_status_lists needs an iterable of StatusList")
    out: dict[StatusKey, StatusList] = {}
    for s in sorted(items, key=lambda s: s.issued_at):
        out[(s.registry, s.list_id)] = s
    return out


def normalize_name(text: str) -> str:
    """How subject expectations compare: NFKC, case-folded, inner whitespace collapsed."""
    return " ".join(split_whitespace(unicodedata.normalize("NFKC", text).casefold()))


def verify_endorsement(
    token: str,
    *,
    now: int,
    issuers: Mapping[str, TrustedIssuer],
    status_lists: Mapping[StatusKey, StatusList] | None = None,
    subject: str | None = None,
    purpose: str | None = None,
    audience: str | None = None,
    presentation: str | None = None,
    nonce: str | None = None,
    registration: Registration | None = None,
    clock_skew: int = DEFAULT_CLOCK_SKEW,
    max_status_staleness: int = 0,
    require_status: bool = True,
) -> VerificationResult:
    """Verify an endorsement token against trusted inputs (spec §6.3).

    Never raises for any token, whatever it holds (even when it is not a str): every defect
    of the token is a verdict. Raises only for wrongly typed verifier arguments, which are
    bugs in the calling code.

    Args:
        token: the compact endorsement token, untrusted.
        now: the current time, Unix seconds.
        issuers: trusted issuer keys by did:key.
        status_lists: verified status lists by ``(registry, list_id)``.
        subject: the person the verifier expects (name, e-mail or handle), if any.
        purpose: the use the verifier intends, if any.
        audience: the verifier's own audience identifier, if any.
        presentation: a holder-binding presentation token from the subject, if any.
        nonce: the nonce the verifier gave the subject; required with ``presentation``.
        registration: the registry's verified record of this token's registration; needed
            only when the issuer's key is revoked (spec §6.3 step 5).
        clock_skew: seconds tolerated on ``nbf``/``exp``.
        max_status_staleness: seconds a status list may be used past its max-age.
        require_status: when False, a token that carries no status entry can be ``valid``
            (the result then records that revocation could not be checked).

    Returns:
        A :class:`VerificationResult`; its ``verdict`` follows the first failing step.

    Raises:
        InvalidArgument: an argument other than ``token`` has the wrong type (``issuers`` and
            ``status_lists`` must be mappings to :class:`TrustedIssuer` and
            :class:`StatusList`, ``registration`` a :class:`Registration`, the times ints,
            ``require_status`` a bool, the other expectations str or None).
    """
    # Cheap type checks, so a wrong argument is an InvalidArgument up front, whatever the
    # token, and never a TypeError halfway through. Mapping values are checked on lookup.
    if (
        type(now) is not int
        or type(clock_skew) is not int
        or type(max_status_staleness) is not int
        or type(require_status) is not bool
        or (type(issuers) is not dict and not isinstance(issuers, Mapping))
        or (
            status_lists is not None
            and type(status_lists) is not dict
            and not isinstance(status_lists, Mapping)
        )
        or (subject is not None and type(subject) is not str)
        or (purpose is not None and type(purpose) is not str)
        or (audience is not None and type(audience) is not str)
        or (presentation is not None and type(presentation) is not str)
        or (nonce is not None and type(nonce) is not str)
        or (registration is not None and type(registration) is not Registration)
    ):
        raise InvalidArgument(
            _bad_argument(
                now=now,
                clock_skew=clock_skew,
                max_status_staleness=max_status_staleness,
                require_status=require_status,
                issuers=issuers,
                status_lists=status_lists,
                subject=subject,
                purpose=purpose,
                audience=audience,
                presentation=presentation,
                nonce=nonce,
                registration=registration,
            )
        )
    checks: list[Check] = []

    def done(
        verdict: Verdict,
        detail: str,
        e: Endorsement | None = None,
        issuer: TrustedIssuer | None = None,
        status: StatusList | None = None,
    ) -> VerificationResult:
        return VerificationResult(verdict, detail, tuple(checks), now, token, e, issuer, status)

    # Steps 1-2: parse the compact form, the canonical payload and the schema.
    # (decode_unverified and check_signature without their wrappers and argument checks.)
    try:
        e, payload, signature = _open(token, Endorsement)
    except EndorseError as err:
        checks.append(Check("format", False, str(err)))
        return done(Verdict.MALFORMED, str(err))
    checks.append(_FORMAT_OK)

    # Step 3: the signature, under the endorsement's signing context, by the named issuer.
    try:
        _check_signed(e, payload, signature, None)
    except (BadSignature, MalformedToken, InvalidKey) as err:
        checks.append(Check("signature", False, str(err)))
        return done(Verdict.BAD_SIGNATURE, f"Ed25519 signature: {err}")
    checks.append(_SIGNATURE_OK)

    # Step 4: is the key bound to a verified identity the verifier trusts?
    issuer = issuers.get(e.issuer)
    if issuer is not None and type(issuer) is not TrustedIssuer:
        raise InvalidArgument("issuers must map did:key strings to TrustedIssuer")
    if issuer is None or issuer.key != e.issuer:
        checks.append(Check("issuer", False, "key not bound to a verified identity"))
        return done(Verdict.UNKNOWN_ISSUER, "issuer key is not trusted by this verifier", e)
    checks.append(_ISSUER_BOUND if issuer.identity else _ISSUER_PINNED)

    # Step 5: a revoked key vouches only for what the registry recorded before the revocation.
    # The token's own iat proves nothing (whoever stole the key can backdate it): only a
    # registry-signed registration of this very token, older than the revocation, does.
    if issuer.revoked_from is not None:
        problem = _registration_problem(registration, e, token, issuer.revoked_from)
        if problem is not None:
            checks.append(Check("issuer_key", False, problem))
            return done(Verdict.ISSUER_KEY_REVOKED, problem, e, issuer)
        checks.append(_ISSUER_KEY_REGISTERED_BEFORE)
    else:
        checks.append(_ISSUER_KEY_OK)

    # Step 6: a revocation seen in any known list is final, however old the list.
    status = None
    if e.status is not None:
        status = (status_lists or {}).get((e.status.registry, e.status.list_id))
        if status is not None and type(status) is not StatusList:
            raise InvalidArgument("status_lists must map (registry, list id) to StatusList")
        if status is not None:
            if e.status.index >= status.bits.size:
                # The token is fine; the list given cannot speak for it (step 9 reports it).
                status = None
            elif status.is_revoked(e.status.index):
                checks.append(Check("status", False, f"revoked (list of {status.issued_at})"))
                return done(Verdict.REVOKED, "the status list marks it revoked", e, issuer, status)

    # Step 7: the validity window, with clock skew.
    if now + clock_skew < e.not_before:
        checks.append(Check("validity", False, f"not before {e.not_before}"))
        return done(Verdict.NOT_YET_VALID, "nbf is in the future", e, issuer, status)
    if now - clock_skew >= e.expires:
        checks.append(Check("validity", False, f"expired at {e.expires}"))
        return done(Verdict.EXPIRED, "exp has passed", e, issuer, status)
    checks.append(_VALIDITY_OK)

    # Step 8: scope — subject, holder binding, purpose, audience.
    if subject is not None:
        wanted = normalize_name(subject)
        names = (e.subject.name, e.subject.email, e.subject.handle)
        # A code point unassigned in Unicode 14.0 matches nothing, on every runtime (§6.3 8a).
        if has_unassigned(subject) or wanted not in {normalize_name(n) for n in names if n}:
            checks.append(Check("subject", False, "expected subject not named by the token"))
            return done(Verdict.SUBJECT_MISMATCH, "subject differs", e, issuer, status)
        checks.append(_SUBJECT_OK)
    if presentation is not None:
        problem = _presentation_problem(presentation, e, token, nonce, audience, now)
        if problem is not None:
            checks.append(Check("holder", False, problem))
            return done(Verdict.SUBJECT_MISMATCH, problem, e, issuer, status)
        checks.append(_HOLDER_OK)
    if purpose is not None:
        if purpose not in e.purposes:
            checks.append(Check("purpose", False, f"{purpose[:64]!r} not in token purposes"))
            return done(Verdict.PURPOSE_NOT_ALLOWED, "purpose not allowed", e, issuer, status)
        checks.append(_PURPOSE_OK)
    if e.audience is not None:
        if audience != e.audience:
            checks.append(Check("audience", False, "token is restricted to another audience"))
            return done(Verdict.AUDIENCE_MISMATCH, "audience differs", e, issuer, status)
        checks.append(_AUDIENCE_OK)

    # Step 9: a fresh status list, or an explicit waiver for unregistered tokens.
    if e.status is None:
        if require_status:
            checks.append(Check("status", False, "token carries no status entry"))
            return done(Verdict.STATUS_UNAVAILABLE, "no status entry in the token", e, issuer)
        checks.append(_STATUS_WAIVED)
    elif status is None:
        checks.append(Check("status", False, "no status list covering this token"))
        return done(Verdict.STATUS_UNAVAILABLE, "status list not available", e, issuer)
    elif status.issued_at > now + clock_skew:
        checks.append(Check("status", False, f"list dated in the future ({status.issued_at})"))
        return done(Verdict.STATUS_UNAVAILABLE, "status list is from the future", e, issuer)
    elif now > status.fresh_until + max_status_staleness:
        checks.append(Check("status", False, f"list stale since {status.fresh_until}"))
        return done(Verdict.STATUS_UNAVAILABLE, "status list is stale", e, issuer, status)
    else:
        checks.append(_STATUS_OK)
    return done(Verdict.VALID, "all checks passed", e, issuer, status)


def _registration_problem(
    registration: Registration | None, e: Endorsement, token: str, revoked_from: int
) -> str | None:
    # Spec §6.3 step 5.
    if e.status is None:
        return "issuer key revoked, and the token was never registered"
    if registration is None:
        return "issuer key revoked, and no registration of this token was given"
    if (
        registration.token_hash != token_hash(token)
        or registration.issuer != e.issuer
        or registration.registry != e.status.registry
    ):
        return "issuer key revoked, and the registration given is for another token"
    if registration.registered_at >= revoked_from:
        return "issuer key revoked before this token was registered"
    return None


def _presentation_problem(
    presentation: str,
    e: Endorsement,
    token: str,
    nonce: str | None,
    audience: str | None,
    now: int,
) -> str | None:
    # Spec §6.3 step 8b: the subject's key signed this verifier's nonce over this token.
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


def verify_endorsement_strict(
    token: str,
    *,
    now: int,
    issuers: Mapping[str, TrustedIssuer],
    status_lists: Mapping[StatusKey, StatusList] | None = None,
    subject: str | None = None,
    purpose: str | None = None,
    audience: str | None = None,
    presentation: str | None = None,
    nonce: str | None = None,
    registration: Registration | None = None,
    clock_skew: int = DEFAULT_CLOCK_SKEW,
    max_status_staleness: int = 0,
    require_status: bool = True,
) -> Endorsement:
    """Like :func:`verify_endorsement`, but return the endorsement or raise.

    Raises:
        VerificationFailed: for every verdict but ``valid``; ``.result`` has the details.
        InvalidArgument: as :func:`verify_endorsement`.
    """
    return verify_endorsement(
        token,
        now=now,
        issuers=issuers,
        status_lists=status_lists,
        subject=subject,
        purpose=purpose,
        audience=audience,
        presentation=presentation,
        nonce=nonce,
        registration=registration,
        clock_skew=clock_skew,
        max_status_staleness=max_status_staleness,
        require_status=require_status,
    ).raise_for_verdict()


_EXPECTED_TYPES: dict[str, tuple[str, tuple[type, ...]]] = {
    "now": ("an int", (int,)),
    "clock_skew": ("an int", (int,)),
    "max_status_staleness": ("an int", (int,)),
    "require_status": ("a bool", (bool,)),
    "subject": ("a str or None", (str, type(None))),
    "purpose": ("a str or None", (str, type(None))),
    "audience": ("a str or None", (str, type(None))),
    "presentation": ("a str or None", (str, type(None))),
    "nonce": ("a str or None", (str, type(None))),
    "registration": ("a Registration or None", (Registration, type(None))),
}


def _bad_argument(**arguments: object) -> str:
    # The slow path of verify_endorsement's argument check: name the first wrong argument.
    for name, value in arguments.items():
        if name in ("issuers", "status_lists"):
            if not (isinstance(value, Mapping) or (name == "status_lists" and value is None)):
                return f"verify_endorsement: {name} must be a mapping"
            continue
        what, types = _EXPECTED_TYPES[name]
        if type(value) not in types:
            return f"verify_endorsement: {name} must be {what}, not {type(value).__name__}"
    return "verify_endorsement: an argument has the wrong type"  # pragma: no cover
