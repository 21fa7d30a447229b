"""The flows of claimed references (docs/claims.md, spec §4.11 to §4.13, §12): the requester's
(ask, confirm, status), the referee's (inbox, answers, block, mute), the endorser's standing
statements (policy, standing refusals), the check counts, and the verification of refusals.

Every statement the registry hands back is verified before it is returned: a reference request
under the pinned registry key (and for this request id), a referee's endorsement, refusal or
policy under the referee's key as the registry's signed key binding states it, whose verified
address must be the request's referee. What fails is :class:`RegistryStatementInvalid`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from endorse.client._endorsing import Endorsing, _code, _pending_id
from endorse.client._verifying import Verifying
from endorse.client._wire import (
    AnswerOut,
    ChecksOut,
    Flow,
    InboxItemOut,
    InboxOut,
    MutedOut,
    PendingOut,
    PolicyOut,
    RequestRecordOut,
    Response,
    StandingIdOut,
    StandingListOut,
)
from endorse.client.cache import IssuerFact
from endorse.client.errors import RegistryStatementInvalid
from endorse.client.models import (
    Answer,
    CheckCounts,
    InboxItem,
    Issued,
    Pending,
    RequestStatus,
    StandingRefusal,
    VerifyItem,
)
from endorse.protocol import (
    REFUSAL_REASONS,
    EndorseError,
    Endorsement,
    InvalidArgument,
    MalformedToken,
    Policy,
    ReferenceRequest,
    Refusal,
    Relationship,
    Requester,
    SigningKey,
    Subject,
    TrustedIssuer,
    Verdict,
    VerificationResult,
    build_reference_request,
    check_purpose,
    decode_unverified,
    sign,
    sign_policy,
    sign_refusal,
    verify_policy,
    verify_reference_request,
    verify_refusal,
    verify_token,
)

__all__ = ["DEFAULT_ASK_DAYS", "MAX_ASK_SECONDS", "Claiming"]

DAY = 86_400
MAX_ASK_SECONDS = 30 * DAY
"""The longest a reference request may stay open (docs/claims.md: ``exp ≤ iat + 30 days``)."""
DEFAULT_ASK_DAYS = 14
"""Days a request stays open when the requester does not say."""
REQUEST_STATES = frozenset({"open", "answered", "expired", "unreachable"})
ANSWER_KINDS = frozenset({"endorsement", "refusal", "policy"})


class Claiming(Verifying, Endorsing):
    """The claimed-reference flows of :class:`~endorse.client._core.Core`."""

    # --- the referee's key, as the registry binds it ----------------------------------------

    def _trusted(self, dids: Sequence[str], now: int) -> Flow[dict[str, TrustedIssuer]]:
        """The registry-verified bindings of ``dids`` (cache first, then one batch): the
        keys the registry knows no binding for are left out."""
        issuers: dict[str, TrustedIssuer] = {}
        held: dict[str, IssuerFact] = {}
        yield from self._gather(list(dict.fromkeys(dids)), [], issuers, {}, held, now, True)
        return issuers

    def _own_name(self, key: SigningKey, now: int) -> Flow[str]:
        """The name the registry's binding of ``key`` states (what the endorser registered)."""
        issuers = yield from self._trusted([key.did], now)
        issuer = issuers.get(key.did)
        if issuer is None or issuer.name is None:
            raise InvalidArgument(f"{key.did} is not bound to an identity at {self.registry}")
        return issuer.name

    def _from_referee(self, issuer: TrustedIssuer | None, request: ReferenceRequest) -> None:
        if issuer is None or issuer.identity is None:
            raise RegistryStatementInvalid(
                f"{self.registry}: an answer signed by a key it does not bind to an identity"
            )
        if issuer.identity.lower() != request.referee.lower():
            raise RegistryStatementInvalid(
                f"{self.registry}: an answer signed by another identity than the referee"
            )

    # --- checking what the registry answers ----------------------------------------------------

    def _request(self, token: str, request_id: str) -> ReferenceRequest:
        key, registry = self._pinned(), self.registry
        request: ReferenceRequest = self._statement(
            "reference request",
            lambda: verify_reference_request(token, registry=registry, registry_key=key).object,
        )
        if request.id != request_id:
            raise RegistryStatementInvalid(f"{registry}: answered another reference request")
        return request

    def _answers(
        self, pairs: Sequence[tuple[ReferenceRequest, AnswerOut | None]], now: int
    ) -> Flow[list[Answer | None]]:
        """Verify each answer against its request (the referees' keys fetched at once)."""
        signers = [_signer(answer, self.registry) for _, answer in pairs if answer is not None]
        issuers = (yield from self._trusted(signers, now)) if signers else {}
        out: list[Answer | None] = []
        for request, answer in pairs:
            if answer is None:
                out.append(None)
            elif answer.kind == "endorsement":
                out.append((yield from self._endorsement_answer(request, answer, now)))
            else:
                out.append(self._signed_answer(request, answer, issuers, now))
        return out

    def _signed_answer(
        self,
        request: ReferenceRequest,
        answer: AnswerOut,
        issuers: dict[str, TrustedIssuer],
        now: int,
    ) -> Answer:
        """A policy or a refusal: signed by the referee, for this request."""
        registry = self.registry
        if answer.kind not in ANSWER_KINDS:
            raise RegistryStatementInvalid(f"{registry}: an answer of an unknown kind")
        self._from_referee(issuers.get(_signer(answer, registry)), request)
        if answer.kind == "policy":
            try:
                policy: Policy = verify_policy(answer.token, issuers=issuers).object
            except EndorseError as e:
                raise RegistryStatementInvalid(f"{registry}: a policy that fails: {e}") from e
            return Answer("policy", answer.token, False, policy=policy)
        result = verify_refusal(answer.token, now=now, issuers=issuers)
        # An old standing refusal may have run out since: still the referee's signed word,
        # shown with its verdict (``expired``), never taken for an endorsement.
        if result.verdict not in (Verdict.REFUSED, Verdict.EXPIRED):
            raise RegistryStatementInvalid(
                f"{registry}: a refusal that does not verify ({result.verdict.value})"
            )
        _refusal_fits(_refusal_of(result), request, answer.standing, registry)
        return Answer("refusal", answer.token, answer.standing, result=result)

    def _endorsement_answer(
        self, request: ReferenceRequest, answer: AnswerOut, now: int
    ) -> Flow[Answer]:
        """An endorsement: verified offline-first like any token, with the request's scope
        as the expectations. One that is not the referee's, or not for this subject and
        purpose, is the registry's fault (it checks answers before it takes them), not a
        verdict; one withdrawn or run out since keeps its verdict."""
        registry = self.registry
        if answer.standing:
            raise RegistryStatementInvalid(f"{registry}: a standing endorsement does not exist")
        sub = request.subject
        expect = VerifyItem(
            answer.token, sub.email or sub.handle, request.purpose, request.audience
        )
        (result,) = yield from self.verify([expect], now=now)
        if result.verdict in NOT_AN_ANSWER or result.endorsement is None:
            raise RegistryStatementInvalid(
                f"{registry}: an endorsement that does not answer the request"
                f" ({result.verdict.value})"
            )
        if not _same_subject(result.endorsement.subject, sub):
            raise RegistryStatementInvalid(f"{registry}: an endorsement of another subject")
        self._from_referee(result.issuer, request)
        return Answer("endorsement", answer.token, False, result=result)

    def _record(self, response: Response, status: int, now: int) -> Flow[RequestStatus]:
        out = self._decode(self._expect(response, status), RequestRecordOut, "a request record")
        if out.state not in REQUEST_STATES:
            raise RegistryStatementInvalid(f"{self.registry}: a request in an unknown state")
        if out.request is None:
            # A request to an address not registered here, ended: the registry deleted the
            # address and its signed statement with it. Nobody could have answered it.
            if out.answer is not None or out.state in ("open", "answered"):
                raise RegistryStatementInvalid(f"{self.registry}: a request without its statement")
            return RequestStatus(out.id, None, None, out.state, None, out.answered_at)
        request = self._request(out.request, out.id)
        (answer,) = yield from self._answers([(request, out.answer)], now)
        return RequestStatus(out.id, request, out.request, out.state, answer, out.answered_at)

    # --- the requester -------------------------------------------------------------------------

    def ask(
        self,
        key: SigningKey,
        referee: str,
        subject: Subject,
        relationship: Relationship,
        purpose: str,
        *,
        now: int,
        audience: str | None = None,
        expires: int | None = None,
        requester_email: str | None = None,
        requester_name: str | None = None,
    ) -> Flow[RequestStatus | Pending]:
        """Ask the registry to put a claimed reference to ``referee`` (signed by ``key``).

        A key bound to a verified identity gets the request at once (its record, maybe
        already answered: a policy, a standing refusal, or ``unreachable``); any other key
        gets a :class:`Pending` whose code is e-mailed to ``requester_email``.
        """
        if type(referee) is not str or type(subject) is not Subject:
            raise InvalidArgument("ask needs the referee's e-mail address and a Subject")
        if type(relationship) is not Relationship:
            raise InvalidArgument("ask needs the relationship as claimed (a Relationship)")
        for name, value in (
            ("audience", audience),
            ("requester_email", requester_email),
            ("requester_name", requester_name),
        ):
            if value is not None and type(value) is not str:
                raise InvalidArgument(f"{name} must be a str or None")
        _purpose(purpose)
        exp = now + DEFAULT_ASK_DAYS * DAY if expires is None else expires
        if type(exp) is not int or not now < exp <= now + MAX_ASK_SECONDS:
            raise InvalidArgument("expires must be Unix seconds after now, at most 30 days on")
        # What the registry will sign, checked here by the protocol's own rules first, so
        # that a value it would refuse (an audience with a space, an address that is none)
        # is the caller's error, named, not a registry refusal. The token is thrown away; a
        # bound key's address, which only the registry knows, stands in as the referee's.
        sign(
            build_reference_request(
                registry=self.registry,
                requester=Requester(requester_email or referee, "email-code", name=requester_name),
                referee=referee,
                subject=subject,
                relationship=relationship,
                purpose=purpose,
                now=now,
                expires=exp,
                audience=audience,
            ),
            key,
        )
        requester = {"email": requester_email, "name": requester_name}
        body: dict[str, Any] = {
            "referee": referee,
            "sub": msgspec.to_builtins(subject),
            "rel": msgspec.to_builtins(relationship),
            "purpose": purpose,
            "exp": exp,
            "requester": {k: v for k, v in requester.items() if v is not None},
        }
        if audience is not None:
            body["aud"] = audience
        yield from self.contact(strict=True)
        response = yield from self._one(self._signed(key, "POST", "/api/v1/requests", body, now))
        if response.status == 202:
            p = self._decode(response, PendingOut, "a pending confirmation")
            return Pending(p.pending, p.expires_at)
        return (yield from self._record(response, 201, now))

    def confirm_ask(
        self, key: SigningKey, pending: Pending | str, code: str, *, now: int
    ) -> Flow[RequestStatus]:
        """Return the code e-mailed to the requester; the registry records the request."""
        body = {"pending": _pending_id(pending), "code": _code(code)}
        yield from self.contact(strict=True)
        request = self._signed(key, "POST", "/api/v1/requests/confirm", body, now)
        response = yield from self._one(request)
        return (yield from self._record(response, 201, now))

    def request_status(self, key: SigningKey, request_id: str, *, now: int) -> Flow[RequestStatus]:
        """The request as it stands, its answer verified (only its requester's key may ask)."""
        path = f"/api/v1/requests/{_id(request_id)}"
        yield from self.contact(strict=True)
        response = yield from self._one(self._signed(key, "GET", path, None, now))
        status = yield from self._record(response, 200, now)
        if status.id != request_id:
            raise RegistryStatementInvalid(f"{self.registry}: answered another request")
        return status

    # --- the referee ---------------------------------------------------------------------------

    def inbox(self, key: SigningKey, *, now: int) -> Flow[list[InboxItem]]:
        """Every request naming the referee's verified address, newest first."""
        yield from self.contact(strict=True)
        response = yield from self._one(self._signed(key, "GET", "/api/v1/inbox", None, now))
        out = self._decode(self._expect(response, 200), InboxOut, "an inbox")
        items: list[tuple[InboxItemOut, ReferenceRequest]] = []
        for item in out.requests:
            if item.state not in REQUEST_STATES:
                raise RegistryStatementInvalid(f"{self.registry}: a request in an unknown state")
            items.append((item, self._request(item.request, item.id)))
        answers = yield from self._answers([(r, item.answer) for item, r in items], now)
        return [
            InboxItem(item.id, r, item.request, item.state, item.blocked, answer)
            for (item, r), answer in zip(items, answers, strict=True)
        ]

    def _inbox_item(self, key: SigningKey, request_id: str, now: int) -> Flow[InboxItem]:
        for item in (yield from self.inbox(key, now=now)):
            if item.id == request_id:
                return item
        raise InvalidArgument(f"no request {request_id} in your inbox at {self.registry}")

    def _answer_with(
        self, key: SigningKey, request_id: str, body: dict[str, str], now: int
    ) -> Flow[RequestStatus]:
        path = f"/api/v1/requests/{request_id}/answer"
        response = yield from self._one(self._signed(key, "POST", path, body, now))
        return (yield from self._record(response, 200, now))

    def _name(self, key: SigningKey, given: str | None, now: int) -> Flow[str]:
        if given is not None:
            return given
        return (yield from self._own_name(key, now))

    def answer_endorse(
        self,
        key: SigningKey,
        request_id: str,
        *,
        now: int,
        issuer_name: str | None = None,
        subject: Subject | None = None,
        relationship: Relationship | None = None,
        purposes: Sequence[str] | None = None,
        audience: str | None = None,
        expires: int | None = None,
        statement: str | None = None,
        contact: bool = False,
    ) -> Flow[tuple[Issued, RequestStatus]]:
        """Answer a request with an endorsement prefilled from it (the subject, with their
        key when the requester gave it; the relationship as claimed; the purpose; the
        audience), each part replaceable; issued and registered, then given as the answer."""
        yield from self.contact(strict=True)
        item = yield from self._inbox_item(key, _id(request_id), now)
        r = item.request
        name = yield from self._name(key, issuer_name, now)
        issued = yield from self.issue(
            key,
            name,
            r.subject if subject is None else subject,
            r.relationship if relationship is None else relationship,
            [r.purpose] if purposes is None else purposes,
            now=now,
            expires=expires,
            audience=r.audience if audience is None else audience,
            statement=statement,
            contact=contact,
        )
        status = yield from self._answer_with(key, item.id, {"endorsement": issued.token}, now)
        return issued, status

    def answer_refuse(
        self,
        key: SigningKey,
        request_id: str,
        reason: str | None,
        *,
        now: int,
        issuer_name: str | None = None,
    ) -> Flow[RequestStatus]:
        """Answer a request with a signed refusal of its subject, for its purpose."""
        _reason(reason)
        yield from self.contact(strict=True)
        item = yield from self._inbox_item(key, _id(request_id), now)
        r = item.request
        name = yield from self._name(key, issuer_name, now)
        token = _sign_refusal(key, name, r.subject, r.purpose, reason, r.id, now, None)
        return (yield from self._answer_with(key, item.id, {"refusal": token}, now))

    def block_requester(
        self, key: SigningKey, request_id: str, *, now: int, undo: bool = False
    ) -> Flow[None]:
        """Block (with ``undo``: unblock) the address that made this request."""
        path = f"/api/v1/requests/{_id(request_id)}/block"
        yield from self.contact(strict=True)
        method = "DELETE" if undo else "POST"
        response = yield from self._one(self._signed(key, method, path, None, now))
        self._expect(response, 204)

    def mute(self, key: SigningKey, muted: bool, *, now: int) -> Flow[bool]:
        """Mute (or unmute) the mail about requests; answers the setting as stored."""
        if type(muted) is not bool:
            raise InvalidArgument("muted must be a bool")
        yield from self.contact(strict=True)
        request = self._signed(key, "PUT", "/api/v1/inbox/settings", {"muted": muted}, now)
        response = yield from self._one(request)
        return self._decode(self._expect(response, 200), MutedOut, "inbox settings").muted

    # --- the endorser's standing statements ----------------------------------------------------

    def set_policy(
        self, key: SigningKey, *, notify: bool, now: int, issuer_name: str | None = None
    ) -> Flow[Policy]:
        """Sign and store the policy "references from me come only as signed endorse tokens"
        (and whether to be told of requests); it replaces an older one."""
        if type(notify) is not bool:
            raise InvalidArgument("notify must be a bool")
        yield from self.contact(strict=True)
        name = yield from self._name(key, issuer_name, now)
        token = sign_policy(key, name, now=now, notify=notify)
        request = self._signed(key, "PUT", "/api/v1/policy", {"policy": token}, now)
        response = yield from self._one(request)
        out = self._decode(self._expect(response, 200), PolicyOut, "a policy")
        return (yield from self._own_policy(out.policy, key, now))

    def _own_policy(self, token: str, key: SigningKey, now: int) -> Flow[Policy]:
        issuers = yield from self._trusted([key.did], now)
        try:
            policy: Policy = verify_policy(token, issuers=issuers).object
        except EndorseError as e:
            raise RegistryStatementInvalid(f"{self.registry}: a policy that fails: {e}") from e
        if policy.issuer != key.did:
            raise RegistryStatementInvalid(f"{self.registry}: answered another key's policy")
        return policy

    def policy(self, key: SigningKey, *, now: int) -> Flow[Policy | None]:
        """The endorser's policy as the registry keeps it, or None."""
        yield from self.contact(strict=True)
        response = yield from self._one(self._signed(key, "GET", "/api/v1/policy", None, now))
        if response.status == 404:
            return None
        out = self._decode(self._expect(response, 200), PolicyOut, "a policy")
        return (yield from self._own_policy(out.policy, key, now))

    def clear_policy(self, key: SigningKey, *, now: int) -> Flow[None]:
        """Withdraw the endorser's policy."""
        yield from self.contact(strict=True)
        response = yield from self._one(self._signed(key, "DELETE", "/api/v1/policy", None, now))
        self._expect(response, 204, 200)

    def refuse_standing(
        self,
        key: SigningKey,
        subject: Subject,
        *,
        now: int,
        purpose: str | None = None,
        reason: str | None = None,
        issuer_name: str | None = None,
        expires: int | None = None,
    ) -> Flow[StandingRefusal]:
        """Sign and store a standing refusal of ``subject`` (who needs an e-mail address:
        requests naming exactly it are answered with this refusal at once)."""
        if type(subject) is not Subject or subject.email is None:
            raise InvalidArgument("a standing refusal names its subject's e-mail address")
        _reason(reason)
        if purpose is not None:
            _purpose(purpose)
        yield from self.contact(strict=True)
        name = yield from self._name(key, issuer_name, now)
        token = _sign_refusal(key, name, subject, purpose, reason, None, now, expires)
        request = self._signed(key, "POST", "/api/v1/standing-refusals", {"refusal": token}, now)
        response = yield from self._one(request)
        # 200: the same refusal was stored already.
        answered = self._expect(response, 201, 200)
        out = self._decode(answered, StandingIdOut, "a standing refusal")
        refusal = decode_unverified(token, Refusal).object  # just signed here
        if out.id != refusal.id:
            raise RegistryStatementInvalid(f"{self.registry}: stored another standing refusal")
        return StandingRefusal(out.id, token, refusal)

    def standing_refusals(self, key: SigningKey, *, now: int) -> Flow[list[StandingRefusal]]:
        """The endorser's own standing refusals (nobody else can list them)."""
        yield from self.contact(strict=True)
        request = self._signed(key, "GET", "/api/v1/standing-refusals", None, now)
        response = yield from self._one(request)
        out = self._decode(self._expect(response, 200), StandingListOut, "standing refusals")
        listed = []
        for item in out.refusals:
            try:
                refusal = verify_token(item.refusal, Refusal).object
            except EndorseError as e:
                raise RegistryStatementInvalid(f"{self.registry}: listed a bad refusal: {e}") from e
            if refusal.issuer != key.did or refusal.id != item.id:
                raise RegistryStatementInvalid(f"{self.registry}: listed another refusal")
            listed.append(StandingRefusal(item.id, item.refusal, refusal))
        return listed

    def withdraw_standing_refusal(
        self, key: SigningKey, refusal_id: str, *, now: int
    ) -> Flow[None]:
        """Delete one of the endorser's standing refusals."""
        path = f"/api/v1/standing-refusals/{_id(refusal_id)}"
        yield from self.contact(strict=True)
        response = yield from self._one(self._signed(key, "DELETE", path, None, now))
        self._expect(response, 204, 200)

    def checks(self, key: SigningKey, *, now: int) -> Flow[list[CheckCounts]]:
        """How often each of the endorser's endorsements was checked online, per day."""
        yield from self.contact(strict=True)
        response = yield from self._one(self._signed(key, "GET", "/api/v1/checks", None, now))
        out = self._decode(self._expect(response, 200), ChecksOut, "check counts")
        return [
            CheckCounts(e.id, tuple((d.day, d.count) for d in e.days)) for e in out.endorsements
        ]

    # --- verifying refusals --------------------------------------------------------------------

    def verify_refusals(
        self,
        tokens: Sequence[str],
        *,
        now: int,
        subject: str | None = None,
        purpose: str | None = None,
    ) -> Flow[list[VerificationResult]]:
        """Verify refusal tokens offline, as endorsements are: the referees' key bindings
        (and key revocations) fetched and checked under the pinned key, then the protocol's
        :func:`~endorse.protocol.verify_refusal`. A genuine refusal's verdict is ``refused``;
        a key the registry binds to nobody is ``unknown_issuer``."""
        signers = [s for s in map(_unverified_signer, tokens) if s is not None]
        issuers: dict[str, TrustedIssuer] = {}
        if signers:
            yield from self.contact(strict=False, now=now)
            issuers = yield from self._trusted(signers, now)
        return [
            verify_refusal(token, now=now, issuers=issuers, subject=subject, purpose=purpose)
            for token in tokens
        ]


NOT_AN_ANSWER = frozenset(
    {
        Verdict.MALFORMED,
        Verdict.BAD_SIGNATURE,
        Verdict.UNKNOWN_ISSUER,
        Verdict.SUBJECT_MISMATCH,
        Verdict.PURPOSE_NOT_ALLOWED,
        Verdict.AUDIENCE_MISMATCH,
    }
)
"""Verdicts of an endorsement given as an answer that make it no answer to the request: the
registry checks an answer's signer, subject and purpose before it takes it."""


def _id(value: str) -> str:
    """An id the registry gave (a request's, a refusal's), checked before it goes in a path."""
    if type(value) is not str or not 0 < len(value) <= 64:
        raise InvalidArgument("an id is the short string the registry gave")
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        raise InvalidArgument(f"{value[:64]!r} is not an id (letters, digits, - and _)")
    return value


def _reason(reason: str | None) -> None:
    if reason is not None and reason not in REFUSAL_REASONS:
        raise InvalidArgument(f"reason must be one of: {', '.join(REFUSAL_REASONS)}")


def _purpose(purpose: str) -> None:
    try:
        check_purpose(purpose)
    except MalformedToken as e:
        raise InvalidArgument(f"purpose: {e}") from e


def _sign_refusal(
    key: SigningKey,
    name: str,
    subject: Subject,
    purpose: str | None,
    reason: str | None,
    request_id: str | None,
    now: int,
    expires: int | None,
) -> str:
    return sign_refusal(
        key,
        name,
        subject,
        now=now,
        purpose=purpose,
        reason=reason,
        request=request_id,
        expires=expires,
    )


def _signer(answer: AnswerOut, registry: str) -> str:
    signer = _unverified_signer(answer.token)
    if signer is None:
        raise RegistryStatementInvalid(f"{registry}: an answer that is not a signed statement")
    return signer


def _unverified_signer(token: str) -> str | None:
    """The key a refusal, policy or endorsement names as its signer (only a hint of which
    key binding to fetch: the signature is checked against it afterwards)."""
    kinds: tuple[type[Refusal | Policy | Endorsement], ...] = (Refusal, Policy, Endorsement)
    for kind in kinds:
        if type(token) is str and token.startswith(kind.TYPE + "-v1."):
            try:
                return decode_unverified(token, kind).object.issuer
            except EndorseError:
                return None
    return None


def _refusal_of(result: VerificationResult) -> Refusal:
    refusal = result.refusal
    if refusal is None:
        raise RegistryStatementInvalid("a refusal whose content could not be read")
    return refusal


def _refusal_fits(
    refusal: Refusal, request: ReferenceRequest, standing: bool, registry: str
) -> None:
    """A refusal answers a request when it is for it (``req``), or, standing, names exactly
    its subject's address; its purpose, when it has one, is the request's."""
    if standing:
        theirs, asked = refusal.subject.email, request.subject.email
        same = (
            refusal.request is None
            and theirs is not None
            and asked is not None
            and theirs.lower() == asked.lower()
        )
    else:
        same = refusal.request == request.id and _same_subject(refusal.subject, request.subject)
    if not same or (refusal.purpose is not None and refusal.purpose != request.purpose):
        raise RegistryStatementInvalid(f"{registry}: a refusal that answers another request")


def _same_subject(given: Subject, asked: Subject) -> bool:
    """An answer names the subject asked about: the same name, the same address and handle
    where the request gave them, and the subject's key when the request gave one."""
    if given.name != asked.name:
        return False
    if any(
        theirs is not None and mine != theirs
        for mine, theirs in ((given.email, asked.email), (given.handle, asked.handle))
    ):
        return False
    return asked.key is None or given.key == asked.key
