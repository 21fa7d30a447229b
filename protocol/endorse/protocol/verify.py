"""Verification of an endorsement: the algorithm of spec §6.3, its steps in
:mod:`endorse.protocol.steps`.

A verification is driven by two values: what the verifier expects of the token
(:class:`Expectations`: the time, subject, purpose, audience, presentation) and what it trusts
(:class:`TrustedFacts`: issuers, status lists, registrations), as sigstore-python separates a
verification policy from trusted material and python-tuf keeps its trusted metadata in one
set. Nothing is fetched, stored or read from a clock, so the SDK, the server and the tests run
exactly the same decision. A token without a status entry is ``valid`` only with facts made by
the loudly named :meth:`TrustedFacts.unsafe_without_status`.

>>> from endorse.protocol import *
>>> key = SigningKey.from_seed(bytes(32))
>>> token = issue(key, "Alice Smith", Subject("Bob Jones", email="bob@example.com"),
...               Relationship("work", "manager", org="Acme"), ["employment-reference"],
...               now=1_700_000_000)
>>> expected = Expectations(now=1_700_000_100, purpose="employment-reference")
>>> trusted = TrustedFacts.unsafe_without_status({key.did: TrustedIssuer.pinned(key.did)})
>>> verify_endorsement_with(token, expected, trusted).verdict.value
'valid'

:func:`verify_endorsement` takes the same inputs one by one, as keyword arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from endorse.protocol import steps
from endorse.protocol.errors import InvalidArgument, VerificationFailed
from endorse.protocol.objects import Endorsement, Refusal, Registration
from endorse.protocol.status import StatusList
from endorse.protocol.steps import (
    PRESENTATION_MAX_AGE,
    Check,
    StatusKey,
    StepFailed,
    normalize_name,
)
from endorse.protocol.token import token_hash
from endorse.protocol.trust import TrustedIssuer
from endorse.protocol.verdicts import (
    REFUSAL_SENTENCES,
    VALID_UNREGISTERED_SENTENCE,
    Verdict,
    refusal_sentence,
)

DEFAULT_CLOCK_SKEW = 300
"""Seconds of clock difference tolerated on validity windows (spec §6.3)."""

_FORMAT_OK = steps.FORMAT_OK
_ISSUER_KEY_OK = steps.ISSUER_KEY_OK
_SIGNED = (steps.FORMAT_OK, steps.SIGNATURE_OK)


class Expectations(msgspec.Struct, frozen=True, gc=False):
    """What the verifier expects of a token (the verifier's inputs of spec §6.3).

    ``now``: the current time, Unix seconds. ``subject``: the person expected (name, e-mail
    or handle); ``purpose``: the intended use; ``audience``: the verifier's own audience
    identifier; ``presentation`` and ``nonce``: the subject's holder-binding proof and the
    nonce the verifier gave them; each None when the verifier does not ask.
    ``clock_skew``: seconds tolerated on ``nbf``/``exp``. One value serves a whole batch.

    Raises:
        InvalidArgument: a field of the wrong type.
    """

    now: int
    subject: str | None = None
    purpose: str | None = None
    audience: str | None = None
    presentation: str | None = None
    nonce: str | None = None
    clock_skew: int = DEFAULT_CLOCK_SKEW

    def __post_init__(self) -> None:
        # Cheap type checks, so a wrong argument is an InvalidArgument up front, whatever
        # the token, and never a TypeError halfway through a verification.
        if (
            type(self.now) is not int
            or type(self.clock_skew) is not int
            or (self.subject is not None and type(self.subject) is not str)
            or (self.purpose is not None and type(self.purpose) is not str)
            or (self.audience is not None and type(self.audience) is not str)
            or (self.presentation is not None and type(self.presentation) is not str)
            or (self.nonce is not None and type(self.nonce) is not str)
        ):
            raise InvalidArgument(
                _bad_argument(
                    now=self.now,
                    clock_skew=self.clock_skew,
                    subject=self.subject,
                    purpose=self.purpose,
                    audience=self.audience,
                    presentation=self.presentation,
                    nonce=self.nonce,
                )
            )


class TrustedFacts(msgspec.Struct, frozen=True, gc=False):
    """What the verifier trusts (spec §6.1): issuers by did:key, verified status lists by
    ``(registry, list_id)``, verified registrations by the token hash of the token each was
    given for (consulted only for an issuer whose key is revoked, step 5), and how long a
    status list may be used past its max-age (``max_status_staleness``, seconds).

    A token without a status entry is never ``valid`` with these facts, unless they were
    made by :meth:`unsafe_without_status`, which says so loudly (``unsafe_status_waived``).
    Mapping values are checked when a verification looks them up. One value serves a whole
    batch.

    Raises:
        InvalidArgument: a field of the wrong type.
    """

    issuers: Mapping[str, TrustedIssuer]
    status_lists: Mapping[StatusKey, StatusList] | None = None
    registrations: Mapping[str, Registration] | None = None
    max_status_staleness: int = 0
    unsafe_status_waived: bool = False

    def __post_init__(self) -> None:
        if (
            (type(self.issuers) is not dict and not isinstance(self.issuers, Mapping))
            or (
                self.status_lists is not None
                and type(self.status_lists) is not dict
                and not isinstance(self.status_lists, Mapping)
            )
            or (
                self.registrations is not None
                and type(self.registrations) is not dict
                and not isinstance(self.registrations, Mapping)
            )
            or type(self.max_status_staleness) is not int
            or type(self.unsafe_status_waived) is not bool
        ):
            raise InvalidArgument(
                _bad_argument(
                    issuers=self.issuers,
                    status_lists=self.status_lists,
                    registrations=self.registrations,
                    max_status_staleness=self.max_status_staleness,
                    unsafe_status_waived=self.unsafe_status_waived,
                )
            )

    @classmethod
    def unsafe_without_status(
        cls,
        issuers: Mapping[str, TrustedIssuer],
        status_lists: Mapping[StatusKey, StatusList] | None = None,
        registrations: Mapping[str, Registration] | None = None,
        max_status_staleness: int = 0,
    ) -> TrustedFacts:
        """Facts with which a token that carries no status entry can be ``valid``. Nobody can
        revoke such a token; the result records that revocation was not checked
        (``VerificationResult.revocation_checked`` is False, and its own sentence; spec §6.3
        step 9, §8.4). Tokens that carry a status entry still need a fresh list.

        Raises:
            InvalidArgument: as the constructor.
        """
        return cls(
            issuers, status_lists, registrations, max_status_staleness, unsafe_status_waived=True
        )


class VerificationResult(msgspec.Struct, frozen=True, gc=False):
    """The outcome of :func:`verify_endorsement` (and :func:`verify_endorsement_with`), or of
    :func:`~endorse.protocol.verify_refusal`. Frozen; compared and hashed by its fields.

    A msgspec struct rather than a dataclass because batches keep thousands: it is made in
    about a tenth of the time, and it is not tracked by the cyclic garbage collector
    (``gc=False``: what it holds is immutable and cannot refer back to it), so thousands of
    kept results do not make every collection walk them (``bench/README.md``).

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

        A ``valid`` token whose revocation status was waived (no status entry, verified with
        :meth:`TrustedFacts.unsafe_without_status` or ``require_status=False``) must not claim
        it "has not been withdrawn": it gets its own sentence. A genuine refusal names who
        refuses, for whom and for what, and one checked for another subject or purpose says
        so in a refusal's words (spec §6.4).
        """
        if self.verdict is Verdict.REFUSED and self.refusal is not None:
            r = self.refusal
            return refusal_sentence(r.issuer_name, r.subject.name, r.purpose)
        if self.refusal is not None and self.verdict in REFUSAL_SENTENCES:
            return REFUSAL_SENTENCES[self.verdict]
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


def verify_endorsement_with(
    token: str, expected: Expectations, trusted: TrustedFacts
) -> VerificationResult:
    """Verify an endorsement token (spec §6.3): what the verifier ``expected`` of it, against
    what it ``trusted``.

    Never raises for any token, whatever it holds (even when it is not a str): every defect
    of the token is a verdict.

    Returns:
        A :class:`VerificationResult`; its ``verdict`` follows the first failing step.

    Raises:
        InvalidArgument: ``expected`` is not an :class:`Expectations` or ``trusted`` not a
            :class:`TrustedFacts`, or their mappings hold values of the wrong type.
    """
    if type(expected) is not Expectations or type(trusted) is not TrustedFacts:
        raise InvalidArgument("verify_endorsement_with needs an Expectations and a TrustedFacts")
    return _verify(token, expected, trusted)


def _verify(token: str, expected: Expectations, trusted: TrustedFacts) -> VerificationResult:
    # verify_endorsement_with once its arguments are known to be of the right types.
    try:
        # Steps 1-3: the compact form, the payload, the signature.
        e, payload, signature = steps.compact_form_and_payload(token, Endorsement)
    except StepFailed as failed:
        return VerificationResult(
            failed.verdict, failed.detail, (failed.check,), expected.now, token
        )
    try:
        steps.signature(e, payload, signature)
    except StepFailed as failed:
        return VerificationResult(
            failed.verdict, failed.detail, (_FORMAT_OK, failed.check), expected.now, token
        )
    return _after_signature(token, e, expected, trusted)


def _after_signature(
    token: str, e: Endorsement, expected: Expectations, trusted: TrustedFacts
) -> VerificationResult:
    # Steps 4-9 of a token whose format and signature were checked. The batch verifier
    # (endorse.protocol.batch) calls this once it has checked a chunk's signatures.
    checks = [*_SIGNED]
    issuer: TrustedIssuer | None = None
    status: StatusList | None = None
    now = expected.now
    try:
        issuer, found = steps.issuer(e.issuer, trusted.issuers)
        checks.append(found)
        if issuer.revoked_from is None:
            checks.append(_ISSUER_KEY_OK)  # step 5 without its call: the usual case
        else:
            registrations = trusted.registrations
            registration = (
                None
                if registrations is None or type(token) is not str
                else registrations.get(token_hash(token))
            )
            checks.append(steps.issuer_key(issuer, token, e.issuer, e.status, registration))
        entry = e.status
        if entry is not None:
            status = steps.revocation(entry, trusted.status_lists)
        checks.append(steps.validity_window(e.not_before, e.expires, now, expected.clock_skew))
        if expected.subject is not None:
            checks.append(steps.subject(expected.subject, e.subject))
        if expected.presentation is not None:
            checks.append(
                steps.holder_binding(
                    expected.presentation,
                    e,
                    token,
                    nonce=expected.nonce,
                    audience=expected.audience,
                    now=now,
                )
            )
        if expected.purpose is not None:
            checks.append(steps.purpose(expected.purpose, e.purposes))
        if e.audience is not None:
            checks.append(steps.audience(e.audience, expected.audience))
        checks.append(
            steps.status_freshness(
                entry,
                status,
                now,
                expected.clock_skew,
                trusted.max_status_staleness,
                trusted.unsafe_status_waived,
            )
        )
    except StepFailed as failed:
        checks.append(failed.check)
        return VerificationResult(
            failed.verdict,
            failed.detail,
            tuple(checks),
            now,
            token,
            e,
            issuer,
            failed.status or (status if failed.keeps_status else None),
        )
    return VerificationResult(
        Verdict.VALID, "all checks passed", tuple(checks), now, token, e, issuer, status
    )


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
    """Verify an endorsement token against trusted inputs (spec §6.3), the inputs given one
    by one: :func:`verify_endorsement_with` with the :class:`Expectations` and the
    :class:`TrustedFacts` they make.

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
            (the result then records that revocation could not be checked): what
            :meth:`TrustedFacts.unsafe_without_status` says.

    Returns:
        A :class:`VerificationResult`; its ``verdict`` follows the first failing step.

    Raises:
        InvalidArgument: an argument other than ``token`` has the wrong type (``issuers`` and
            ``status_lists`` must be mappings to :class:`TrustedIssuer` and
            :class:`StatusList`, ``registration`` a :class:`Registration`, the times ints,
            ``require_status`` a bool, the other expectations str or None).
    """
    if type(require_status) is not bool or (
        registration is not None and type(registration) is not Registration
    ):
        raise InvalidArgument(
            _bad_argument(require_status=require_status, registration=registration)
        )
    expected = Expectations(now, subject, purpose, audience, presentation, nonce, clock_skew)
    trusted = TrustedFacts(
        issuers,
        status_lists,
        # Keyed by the hash of the token it was given for, so step 5 still tells a
        # registration of another token from none at all.
        None
        if registration is None or type(token) is not str
        else {token_hash(token): registration},
        max_status_staleness,
        not require_status,
    )
    return _verify(token, expected, trusted)


def verify_endorsement_strict(
    token: str, expected: Expectations, trusted: TrustedFacts
) -> Endorsement:
    """:func:`verify_endorsement_with`, returning the endorsement or raising.

    Raises:
        VerificationFailed: for every verdict but ``valid``; ``.result`` has the details.
        InvalidArgument: as :func:`verify_endorsement_with`.
    """
    return verify_endorsement_with(token, expected, trusted).raise_for_verdict()


_EXPECTED_TYPES: dict[str, tuple[str, tuple[type, ...]]] = {
    "now": ("an int", (int,)),
    "clock_skew": ("an int", (int,)),
    "max_status_staleness": ("an int", (int,)),
    "require_status": ("a bool", (bool,)),
    "unsafe_status_waived": ("a bool", (bool,)),
    "subject": ("a str or None", (str, type(None))),
    "purpose": ("a str or None", (str, type(None))),
    "audience": ("a str or None", (str, type(None))),
    "presentation": ("a str or None", (str, type(None))),
    "nonce": ("a str or None", (str, type(None))),
    "registration": ("a Registration or None", (Registration, type(None))),
}


def _bad_argument(**arguments: object) -> str:
    # The slow path of the argument checks: name the first wrong argument.
    for name, value in arguments.items():
        if name in ("issuers", "status_lists", "registrations"):
            if not (isinstance(value, Mapping) or (name != "issuers" and value is None)):
                return f"verify_endorsement: {name} must be a mapping"
            continue
        what, types = _EXPECTED_TYPES[name]
        if type(value) not in types:
            return f"verify_endorsement: {name} must be {what}, not {type(value).__name__}"
    return "verify_endorsement: an argument has the wrong type"  # pragma: no cover


__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "PRESENTATION_MAX_AGE",
    "Check",
    "Expectations",
    "StatusKey",
    "TrustedFacts",
    "VerificationResult",
    "index_status_lists",
    "normalize_name",
    "verify_endorsement",
    "verify_endorsement_strict",
    "verify_endorsement_with",
]
