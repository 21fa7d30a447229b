"""Claimed references at the registry (issue 9): requests, answers, standing statements.

A reference named without a token is put to the referee by a *reference request*; the
referee answers with a signature (an endorsement registered here, or a refusal), or has
answered in advance (a policy, a standing refusal). Routes in
:mod:`endorse.server.routes.claims` only parse; each flow is a function here.

Who may do what (every call is a signed request, spec §10):

* the *requester* is whoever signed ``POST /requests``: a key bound to a verified identity
  here (``by.method = key-binding``), or any key whose holder returns a code e-mailed to the
  address they gave (``email-code``, :func:`start_ask` / :func:`confirm_ask`). Only that key
  reads the request; any other caller gets the same 404 as for an unknown id.
* the *referee* is every key bound here (not revoked, not rotated) to the address the
  request names; compared case-insensitively.

Privacy (issue 9 §7). Addresses are kept as keyed hashes (:func:`~endorse.server.claims_mail.
address_mac`) for everything that outlives a request: blocks, mail stops, policies, standing
refusals, the once-per-30-days invitation rule, rate limits. The referee's address itself (in
``referee_email`` and in the signed request token, which names it) is kept only while the
request lives; when it ends (answered, expired, unreachable) and no identity here holds that
address, :func:`sweep` deletes both, and the requester's ``GET`` then has no ``request``
member (they were given the token when they asked). The sweep runs every
``check_flush_interval`` seconds in each server process (``_housekeeping`` in
:mod:`endorse.server.app`, under the app's clock) and in the calls that write requests
(asking, answering), so an ended request keeps the address at most that long. Reads
(``GET /requests/{id}``, ``GET /inbox``) write nothing: they report a request past its
deadline as ``expired`` from the deadline and the clock, and withhold what the sweep will
delete, so a read answers the same before and after the sweep.

What a requester learns never depends on whether the referee is registered, endorsed the
subject, muted requests or blocked them: a new request is ``open`` until the referee answers
or the deadline passes (then ``expired``, "no answer"). The exceptions are the ones issue 9
defines: a referee's standing refusal for exactly the subject address named answers at once
(``refused``, ``standing: true``), a referee's policy answers at once (``policy``), and an
address that stopped all mail is ``unreachable``. A blocked requester's requests are
recorded and shown in the referee's inbox marked ``blocked``, never mailed; the requester
sees ``open`` then ``expired``, exactly as for a referee who does not answer.

Mail: at most one invitation per (referee address, subject) per 30 days to an address not
registered here; a claim alert for every request to a registered referee unless muted; a
policy alert when a policy answered and says ``notify``; the requester is told when an answer
arrives. No reminders are sent. Every message carries the stop link and RFC 8058 headers
(:mod:`endorse.server.claims_mail`). A mail that cannot be sent leaves the request as it is
(it was acknowledged) and is logged by its exception class only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from endorse.protocol import (
    PROTOCOL_VERSION,
    BadSignature,
    EndorseError,
    Endorsement,
    MalformedToken,
    Policy,
    ReferenceRequest,
    Refusal,
    sign,
    token_hash,
    verify_reference_request,
    verify_token,
)
from endorse.server import claims_mail, codes
from endorse.server.context import Context
from endorse.server.endorsements import require_active_issuer
from endorse.server.models import (
    CheckCount,
    EndorsementRow,
    Identity,
    MailStop,
    PendingCode,
    PolicyRow,
    RefereeSettings,
    ReferenceRequestRow,
    RequesterBlock,
    StandingRefusalRow,
)
from endorse.server.problems import (
    Conflict,
    InvalidCode,
    MalformedInput,
    NotFound,
    Problem,
    Unavailable,
)
from endorse.server.ratelimit import bucket_name, enforce

log = logging.getLogger("endorse.server.claims")

MAX_DEADLINE = 30 * 86_400
"""Longest time a referee is given to answer (``exp - iat``)."""
INVITATION_INTERVAL = 30 * 86_400
"""At most one invitation per (referee address, subject) in this many seconds."""
INBOX_LIMIT = 200
"""Most requests ``GET /inbox`` lists (newest first)."""
SWEEP_BATCH = 500
ASK = "ask"
OPEN, ANSWERED, EXPIRED, UNREACHABLE = "open", "answered", "expired", "unreachable"
NOT_FOUND = "no request with this id for this key"


class AnswerRefused(Problem):
    status, slug, title = 422, "answer-refused", "Not an answer to this request"


class StatementRefused(Problem):
    status, slug, title = 422, "statement-refused", "Statement refused"


class RequestEnded(Problem):
    status, slug, title = 409, "request-ended", "The request has ended"


# --- values ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ask:
    """A reference request as the requester asked for it (``POST /requests``), unchecked."""

    referee: str
    sub: dict[str, Any]
    rel: dict[str, Any]
    purpose: str
    exp: int
    aud: str | None = None
    requester_email: str | None = None
    requester_name: str | None = None

    def to_json(self) -> str:
        return orjson.dumps(
            {
                "referee": self.referee,
                "sub": self.sub,
                "rel": self.rel,
                "purpose": self.purpose,
                "exp": self.exp,
                "aud": self.aud,
                "requester_email": self.requester_email,
                "requester_name": self.requester_name,
            }
        ).decode()

    @classmethod
    def from_json(cls, text: str) -> Ask:
        return cls(**orjson.loads(text))


@dataclass(frozen=True, slots=True)
class Answer:
    kind: str
    token: str
    standing: bool = False


@dataclass(frozen=True, slots=True)
class Record:
    """A request as its requester sees it (``GET /requests/{id}``)."""

    id: str
    state: str
    request: str | None
    answer: Answer | None = None
    answered_at: int | None = None


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: str
    request: str
    state: str
    blocked: bool
    answer: Answer | None = None


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    to_mac: bytes
    subject: str
    body: str = field(repr=False)


# --- helpers -----------------------------------------------------------------------------


def _seed(ctx: Context) -> bytes:
    # The registry's MAC seed, not its signing key's: it outlives key rotations, so stopped
    # and blocked addresses stored before one are still matched after it.
    return ctx.mac_seed


def mac(ctx: Context, address: str) -> bytes:
    """The keyed hash ``address`` is stored and matched by."""
    return claims_mail.address_mac(_seed(ctx), address)


def _subject_mac(ctx: Context, sub: dict[str, Any]) -> bytes:
    if "email" in sub:
        return mac(ctx, sub["email"])
    return mac(ctx, "handle:" + str(sub.get("handle", "")))


def _state(row: ReferenceRequestRow, now: int) -> str:
    if row.state == OPEN and row.expires_at <= now:
        return EXPIRED
    return row.state


def _answer_of(row: ReferenceRequestRow) -> Answer | None:
    if row.answer_kind is None or row.answer_token is None:
        return None
    return Answer(row.answer_kind, row.answer_token, row.answer_standing)


def _record(row: ReferenceRequestRow, now: int, request: str | None) -> Record:
    return Record(row.id, _state(row, now), request, _answer_of(row), row.answered_at)


def _request_kept(session: Session, row: ReferenceRequestRow, now: int) -> str | None:
    """The request token as a read reports it: an ended request whose referee address no
    identity here holds loses its token at the next :func:`sweep`, so it is withheld
    already (the read itself writes nothing)."""
    swept = row.referee_email is not None and _state(row, now) != OPEN
    if swept and not _registered(session, row.referee_email or ""):
        return None
    return row.token


def _payload(ctx: Context, token: str) -> dict[str, Any]:
    """The wire payload of a reference request the registry signed (and stored)."""
    verified = verify_reference_request(
        token, registry=ctx.registry, registry_key=ctx.key.public_key
    )
    payload: dict[str, Any] = orjson.loads(verified.payload)
    return payload


def _registered(session: Session, address: str) -> bool:
    """Whether a live key here is bound to ``address`` (case-insensitive)."""
    found = session.scalar(
        select(func.count())
        .select_from(Identity)
        .where(
            func.lower(Identity.email) == address.lower(),
            Identity.revoked_from.is_(None),
            Identity.successor.is_(None),
        )
    )
    return bool(found)


def _key_live(session: Session, key: str) -> bool:
    identity = session.get(Identity, key)
    return identity is not None and identity.revoked_from is None


def _stopped(session: Session, address_mac: bytes) -> bool:
    return session.get(MailStop, address_mac) is not None


def _limit(ctx: Context, kind: str, value: bytes, limit: int, window: int, now: int) -> None:
    enforce(ctx.limiter, bucket_name(kind, value.hex()), limit, window, now)


def _referee_identity(session: Session, key: str) -> Identity:
    """The identity of a referee's or endorser's key (bound, not revoked or rotated).

    Raises:
        IssuerNotBound, IssuerKeyRetired: as for issuing endorsements.
    """
    return require_active_issuer(session, key)


def _verified(token: str, kind: type[Refusal] | type[Policy], what: str) -> dict[str, Any]:
    """The payload of a refusal or policy whose signature by its ``iss`` verifies."""
    try:
        payload: dict[str, Any] = orjson.loads(verify_token(token, kind).payload)
    except BadSignature as e:
        raise StatementRefused(f"{what}: the signature does not verify: {e}") from e
    except EndorseError as e:
        raise MalformedInput(f"{what}: {e}") from e
    return payload


# --- asking ------------------------------------------------------------------------------


def check_ask(ctx: Context, ask: Ask, now: int) -> dict[str, Any]:
    """The reference-request payload ``ask`` would give (``by`` is filled in later), read
    with the protocol's strict reader so every member is checked by its rule.

    Raises:
        MalformedInput: the detail names the member and the rule.
    """
    if not now < ask.exp <= now + MAX_DEADLINE:
        raise MalformedInput("exp: the deadline must be in the future and at most 30 days away")
    # A stand-in address when none is given: a bound key's own is checked at registration.
    by: dict[str, Any] = {"email": ask.requester_email or "requester@example.com"}
    by["method"] = "email-code"
    if ask.requester_name is not None:
        by["name"] = ask.requester_name
    payload = _request_payload(ctx, "A" * 22, by, ask, now)
    try:
        ReferenceRequest.from_payload(payload)
    except MalformedToken as e:
        raise MalformedInput(_member_names(str(e))) from e
    return payload


def _member_names(message: str) -> str:
    """A protocol error about a request payload, naming the members as the API body does."""
    message = message.replace("reference-request.", "")
    return message.replace("$.by.", "requester.").replace("by.", "requester.")


def _request_payload(
    ctx: Context, request_id: str, by: dict[str, Any], ask: Ask, now: int
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": ReferenceRequest.TYPE,
        "v": PROTOCOL_VERSION,
        "reg": ctx.registry,
        "id": request_id,
        "by": by,
        "referee": ask.referee,
        "sub": ask.sub,
        "rel": ask.rel,
        "purpose": ask.purpose,
        "iat": now,
        "exp": ask.exp,
    }
    if ask.aud is not None:
        payload["aud"] = ask.aud
    return payload


@dataclass(frozen=True, slots=True)
class Asked:
    """What ``POST /requests`` gives: a request made (key-bound requester) or a code sent."""

    record: Record | None = None
    pending: codes.Pending | None = None


def start_ask(ctx: Context, key: str, ask: Ask, client: str) -> Asked:
    """Make the request at once for a key bound here; else e-mail a code to the requester.

    Raises:
        MalformedInput: a member breaks its rule, or no requester address for a code.
        TooManyRequests: a limit (per client, requester, referee, or the three together).
        Unavailable: the code could not be mailed.
    """
    s = ctx.settings
    now = ctx.clock()
    enforce(ctx.limiter, bucket_name("ask-client", client), s.limit_ask_per_client, 3600, now)
    check_ask(ctx, ask, now)
    with ctx.db.read() as session:
        identity = session.get(Identity, key)
        bound = (
            identity is not None and identity.revoked_from is None and identity.successor is None
        )
        email = identity.email if identity is not None and bound else None
        name = identity.name if identity is not None and bound else None
    if email is not None:
        if ask.requester_email is not None and ask.requester_email.lower() != email.lower():
            raise MalformedInput(
                "requester.email: the signing key is bound to another address; leave it out"
            )
        by: dict[str, Any] = {"email": email, "method": "key-binding", "key": key}
        given = ask.requester_name if ask.requester_name is not None else name
        if given is not None:
            by["name"] = given
        return Asked(record=_create(ctx, key, by, ask, now))
    if ask.requester_email is None:
        raise MalformedInput(
            "requester.email: needed to confirm the request by a code, since the signing key"
            " is not bound to a verified identity here"
        )
    requester_mac = mac(ctx, ask.requester_email)
    # Codes mailed to one address: the request itself counts against the requester's
    # limit when it is made (confirmed).
    _limit(ctx, "ask-code", requester_mac, s.limit_ask_per_requester, 86_400, now)
    pending = codes.Pending(codes.new_id(), now + s.code_ttl)
    code = codes.new_code()
    with ctx.db.write() as session:
        codes.purge(session, now)
        stopped = _stopped(session, requester_mac)
        if not stopped:
            session.add(
                codes.pending_row(
                    ctx,
                    pending,
                    ASK,
                    key,
                    ask.requester_email,
                    ask.requester_name or "",
                    code,
                    now,
                    payload=ask.to_json(),
                )
            )
    if stopped:
        # The address asked for no mail: nothing is sent, and the answer says nothing.
        return Asked(pending=pending)
    body = claims_mail.ask_code(
        ctx.registry, code, s.code_ttl // 60, claims_mail.stop_token(_seed(ctx), requester_mac)
    )
    if not _send(ctx, Mail(ask.requester_email, requester_mac, "Your endorse request code", body)):
        with ctx.db.write() as session:
            session.execute(delete(PendingCode).where(PendingCode.id == pending.id))
        raise Unavailable("the confirmation e-mail could not be sent; try again later")
    ctx.metrics.codes_sent.inc()
    return Asked(pending=pending)


def confirm_ask(ctx: Context, key: str, pending_id: str, code: str, client: str) -> Record:
    """Check the code e-mailed for ``pending_id`` and make the request it holds.

    Raises:
        InvalidCode: as for identity registration (one answer for every failure).
        MalformedInput: the deadline passed meanwhile.
        TooManyRequests: too many codes tried, or a request limit.
    """
    s = ctx.settings
    now = ctx.clock()
    enforce(
        ctx.limiter,
        bucket_name("confirm-client", client),
        s.limit_confirm_per_client,
        s.limit_confirm_window,
        now,
    )
    with ctx.db.write() as session:
        row = codes.take_code(ctx, session, ASK, key, pending_id, code, now)
        taken = None if row is None or row.payload is None else (row.email, row.payload)
        if row is not None:
            row.payload = None  # used: the addresses it names need not wait for its expiry
    if taken is None:
        raise InvalidCode(codes.INVALID_CODE)
    email, text = taken
    ask = Ask.from_json(text)
    check_ask(ctx, ask, now)
    by: dict[str, Any] = {"email": email, "method": "email-code"}
    if ask.requester_name is not None:
        by["name"] = ask.requester_name
    return _create(ctx, key, by, ask, now)


def _create(ctx: Context, key: str, by: dict[str, Any], ask: Ask, now: int) -> Record:
    """Record and sign a request, answer it at once if a standing statement does, and mail."""
    s = ctx.settings
    requester_mac = mac(ctx, by["email"])
    referee_mac = mac(ctx, ask.referee)
    subject_mac = _subject_mac(ctx, ask.sub)
    _limit(ctx, "ask-requester", requester_mac, s.limit_ask_per_requester, 86_400, now)
    _limit(ctx, "ask-referee", referee_mac, s.limit_ask_per_referee, 86_400, now)
    _limit(
        ctx,
        "ask-triple",
        requester_mac + referee_mac + subject_mac,
        s.limit_ask_per_triple,
        MAX_DEADLINE,
        now,
    )
    request_id = codes.new_id()
    payload = _request_payload(ctx, request_id, by, ask, now)
    try:
        token = sign(ReferenceRequest.from_payload(payload), ctx.key)
    except MalformedToken as e:
        raise MalformedInput(_member_names(str(e))) from e
    mails: list[Mail] = []
    t = claims_mail.stop_token(_seed(ctx), referee_mac)
    with ctx.db.write() as session:
        sweep(ctx, session, now)
        row = ReferenceRequestRow(
            id=request_id,
            requester_key=key,
            requester_mac=requester_mac,
            referee_mac=referee_mac,
            subject_mac=subject_mac,
            referee_email=ask.referee,
            token=token,
            token_hash=token_hash(token),
            state=OPEN,
            created_at=now,
            expires_at=ask.exp,
            mailed=False,
            invitation=False,
            answer_standing=False,
            scrubbed=False,
        )
        stopped = _stopped(session, referee_mac)
        blocked = session.get(RequesterBlock, (referee_mac, requester_mac)) is not None
        standing = _standing_refusal(session, referee_mac, subject_mac, ask, now)
        policy = None if standing is not None else _policy(session, referee_mac)
        registered = _registered(session, ask.referee)
        if standing is not None:
            _answered(row, Answer("refusal", standing, standing=True), now)
        elif policy is not None:
            _answered(row, Answer("policy", policy.token), now)
            if policy.notify and not stopped and not blocked:
                body = claims_mail.policy_alert(ctx.registry, request_id, payload, t)
                mails.append(Mail(ask.referee, referee_mac, _ALERT_SUBJECT, body))
                row.mailed = True
        elif stopped:
            row.state = UNREACHABLE
        elif not blocked:
            if registered:
                settings = session.get(RefereeSettings, referee_mac)
                if settings is None or not settings.muted:
                    body = claims_mail.claim_alert(ctx.registry, request_id, payload, t)
                    mails.append(Mail(ask.referee, referee_mac, _ALERT_SUBJECT, body))
                    row.mailed = True
            elif not _invited_recently(session, referee_mac, subject_mac, now):
                body = claims_mail.invitation(ctx.registry, request_id, payload, t)
                mails.append(Mail(ask.referee, referee_mac, _INVITATION_SUBJECT, body))
                row.mailed = row.invitation = True
        if row.state != OPEN:
            _end(row, registered)
        session.add(row)
        record = Record(row.id, row.state, token, _answer_of(row), row.answered_at)
    for mail in mails:
        _send(ctx, mail)
    return record


_ALERT_SUBJECT = "A reference in your name was asked about"
_INVITATION_SUBJECT = "You were named as a reference"


def _answered(row: ReferenceRequestRow, answer: Answer, now: int) -> None:
    row.state = ANSWERED
    row.answer_kind = answer.kind
    row.answer_token = answer.token
    row.answer_standing = answer.standing
    row.answered_at = now


def _end(row: ReferenceRequestRow, registered: bool) -> None:
    """The request ended: forget the referee's address unless it is a registered identity."""
    row.referee_email = None
    if not registered:
        row.token = None
        row.scrubbed = True


def _invited_recently(session: Session, referee_mac: bytes, subject_mac: bytes, now: int) -> bool:
    found = session.scalar(
        select(func.count())
        .select_from(ReferenceRequestRow)
        .where(
            ReferenceRequestRow.referee_mac == referee_mac,
            ReferenceRequestRow.subject_mac == subject_mac,
            ReferenceRequestRow.invitation.is_(True),
            ReferenceRequestRow.created_at > now - INVITATION_INTERVAL,
        )
    )
    return bool(found)


def _standing_refusal(
    session: Session, referee_mac: bytes, subject_mac: bytes, ask: Ask, now: int
) -> str | None:
    """A live standing refusal of the referee's for exactly the subject address asked about."""
    if "email" not in ask.sub:
        return None
    rows = session.scalars(
        select(StandingRefusalRow).where(
            StandingRefusalRow.referee_mac == referee_mac,
            StandingRefusalRow.subject_mac == subject_mac,
            StandingRefusalRow.expires_at > now,
        )
    )
    for row in rows:
        if (row.purpose is None or row.purpose == ask.purpose) and _key_live(session, row.key):
            return row.token
    return None


def _policy(session: Session, referee_mac: bytes) -> PolicyRow | None:
    row = session.get(PolicyRow, referee_mac)
    if row is None or not _key_live(session, row.key):
        return None
    return row


# --- the requester's view ----------------------------------------------------------------


def request_record(ctx: Context, key: str, request_id: str) -> Record:
    """The request, for the key that made it.

    Raises:
        NotFound: unknown id, or another key's request (the same answer).
    """
    now = ctx.clock()
    with ctx.db.read() as session:
        row = session.get(ReferenceRequestRow, request_id)
        if row is None or row.requester_key != key:
            raise NotFound(NOT_FOUND)
        return _record(row, now, _request_kept(session, row, now))


# --- the referee's side ------------------------------------------------------------------


def _own_request(session: Session, ctx: Context, key: str, request_id: str) -> ReferenceRequestRow:
    identity = _referee_identity(session, key)
    row = session.scalars(
        select(ReferenceRequestRow).where(ReferenceRequestRow.id == request_id).with_for_update()
    ).first()
    if row is None or row.referee_mac != mac(ctx, identity.email):
        raise NotFound(NOT_FOUND)
    return row


def inbox(ctx: Context, key: str) -> list[InboxItem]:
    """Every request naming the caller's verified address, newest first (at most 200).

    The caller's address is a live identity's, so no ended request of theirs loses its token
    to the sweep: reading the rows as stored (the state computed) is what the sweep leaves.
    """
    now = ctx.clock()
    with ctx.db.read() as session:
        identity = _referee_identity(session, key)
        referee_mac = mac(ctx, identity.email)
        blocked = set(
            session.scalars(
                select(RequesterBlock.requester_mac).where(
                    RequesterBlock.referee_mac == referee_mac
                )
            )
        )
        rows = session.scalars(
            select(ReferenceRequestRow)
            .where(
                ReferenceRequestRow.referee_mac == referee_mac,
                ReferenceRequestRow.token.is_not(None),
            )
            .order_by(ReferenceRequestRow.created_at.desc(), ReferenceRequestRow.id)
            .limit(INBOX_LIMIT)
        )
        return [
            InboxItem(
                row.id,
                row.token or "",
                _state(row, now),
                row.requester_mac in blocked,
                _answer_of(row),
            )
            for row in rows
        ]


def answer(
    ctx: Context, key: str, request_id: str, *, endorsement: str | None, refusal: str | None
) -> Record:
    """Answer request ``request_id`` with an endorsement or a refusal signed by ``key``.

    Raises:
        NotFound: unknown id, or the request does not name the key's verified address.
        RequestEnded: answered, expired or unreachable already.
        AnswerRefused: the token is not an answer to this request by this key.
        MalformedInput: the token is malformed.
    """
    if (endorsement is None) == (refusal is None):
        raise MalformedInput("give exactly one of endorsement and refusal")
    now = ctx.clock()
    with ctx.db.write() as session:
        sweep(ctx, session, now)
        row = _own_request(session, ctx, key, request_id)
        state = _state(row, now)
        if state != OPEN or row.token is None:
            raise RequestEnded(f"this request is {state}; it can no longer be answered")
        request = _payload(ctx, row.token)
        if endorsement is not None:
            _check_endorsement(session, key, request, endorsement, now)
            given = Answer("endorsement", endorsement)
        else:
            assert refusal is not None
            _check_refusal(key, request, refusal, now)
            given = Answer("refusal", refusal)
        _answered(row, given, now)
        _end(row, registered=True)  # the referee holds the address: it may stay
        record = _record(row, now, row.token)
        request_token = row.token
        requester = request["by"]["email"]
    requester_mac = mac(ctx, requester)
    link = f"{ctx.registry}/r#{request_token}~{given.token}"
    t = claims_mail.stop_token(_seed(ctx), requester_mac)
    body = claims_mail.answer_notice(ctx.registry, request_id, link, t)
    _send(ctx, Mail(requester, requester_mac, "Your reference request has an answer", body))
    return record


def _same_subject(given: dict[str, Any], asked: dict[str, Any]) -> bool:
    if given.get("name") != asked.get("name"):
        return False
    if any(given.get(m) != asked.get(m) for m in ("email", "handle") if m in asked):
        return False
    return "key" not in asked or given.get("key") == asked["key"]


def _check_endorsement(
    session: Session, key: str, request: dict[str, Any], token: str, now: int
) -> None:
    row = session.scalars(
        select(EndorsementRow).where(EndorsementRow.token_hash == token_hash(token))
    ).first()
    if row is None:
        raise AnswerRefused("register the endorsement at this registry first, then answer")
    try:
        e: dict[str, Any] = orjson.loads(verify_token(token, Endorsement).payload)
    except EndorseError as error:  # registered tokens verify; a stored one that does not:
        raise AnswerRefused(f"endorsement: {error}") from error
    if e["iss"] != key:
        raise AnswerRefused("the endorsement must be issued by the key that signs the answer")
    if row.revoked_at is not None:
        raise AnswerRefused("the endorsement is revoked")
    if e["exp"] <= now:
        raise AnswerRefused("the endorsement has expired")
    if not _same_subject(e["sub"], request["sub"]):
        raise AnswerRefused("the endorsement's subject is not the one asked about")
    if request["purpose"] not in e["purposes"]:
        raise AnswerRefused("the endorsement does not allow the purpose asked about")
    if "aud" in request and e.get("aud") != request["aud"]:
        raise AnswerRefused("the endorsement's audience is not the one asked for")


def _check_refusal(key: str, request: dict[str, Any], token: str, now: int) -> None:
    r = _verified(token, Refusal, "refusal")
    if r["iss"] != key:
        raise AnswerRefused("the refusal must be signed by the key that signs the answer")
    if r.get("req") != request["id"]:
        raise AnswerRefused("the refusal must name this request (req)")
    if not _same_subject(r["sub"], request["sub"]):
        raise AnswerRefused("the refusal's subject is not the one asked about")
    if r.get("purpose") not in (None, request["purpose"]):
        raise AnswerRefused("the refusal is for another purpose")
    if r["exp"] <= now or r["iat"] > now + 300:
        raise AnswerRefused("the refusal is not valid now (iat, exp)")


def set_blocked(ctx: Context, key: str, request_id: str, blocked: bool) -> None:
    """Block (or unblock) the requester of ``request_id`` for the caller's address.

    Raises:
        NotFound: as for :func:`answer`.
    """
    now = ctx.clock()
    with ctx.db.write() as session:
        row = _own_request(session, ctx, key, request_id)
        pair = (row.referee_mac, row.requester_mac)
        existing = session.get(RequesterBlock, pair)
        if blocked and existing is None:
            session.add(RequesterBlock(referee_mac=pair[0], requester_mac=pair[1], created_at=now))
        elif not blocked and existing is not None:
            session.delete(existing)


def muted(ctx: Context, key: str, value: bool | None = None) -> bool:
    """The caller's mute setting; set to ``value`` first when given."""
    with ctx.db.write() as session:
        identity = _referee_identity(session, key)
        referee_mac = mac(ctx, identity.email)
        row = session.get(RefereeSettings, referee_mac)
        if value is not None:
            if row is None:
                row = RefereeSettings(referee_mac=referee_mac, muted=value)
                session.add(row)
            row.muted = value
        return bool(row is not None and row.muted)


# --- standing statements -----------------------------------------------------------------


def put_policy(ctx: Context, key: str, token: str) -> str:
    """Store the caller's policy; the newest ``iat`` of an identity wins.

    Raises:
        StatementRefused: not signed by the caller's key.
        Conflict: a policy with the same or a newer ``iat`` (another token) is stored.
    """
    p = _verified(token, Policy, "policy")
    if p["iss"] != key:
        raise StatementRefused("the policy must be signed by the key that signs the request")
    with ctx.db.write() as session:
        identity = _referee_identity(session, key)
        referee_mac = mac(ctx, identity.email)
        row = session.scalars(
            select(PolicyRow).where(PolicyRow.referee_mac == referee_mac).with_for_update()
        ).first()
        if row is not None:
            if row.token == token:
                return token
            if row.issued_at >= p["iat"]:
                raise Conflict("a policy with the same or a newer iat is stored; sign a new one")
            row.key, row.token, row.issued_at, row.notify = key, token, p["iat"], p["notify"]
        else:
            session.add(
                PolicyRow(
                    referee_mac=referee_mac,
                    key=key,
                    token=token,
                    issued_at=p["iat"],
                    notify=p["notify"],
                )
            )
    return token


def get_policy(ctx: Context, key: str) -> str:
    """The caller's stored policy.

    Raises:
        NotFound: none is stored.
    """
    with ctx.db.read() as session:
        identity = _referee_identity(session, key)
        row = session.get(PolicyRow, mac(ctx, identity.email))
        if row is None:
            raise NotFound("no policy is stored for this identity")
        return row.token


def delete_policy(ctx: Context, key: str) -> None:
    with ctx.db.write() as session:
        identity = _referee_identity(session, key)
        session.execute(delete(PolicyRow).where(PolicyRow.referee_mac == mac(ctx, identity.email)))


@dataclass(frozen=True, slots=True)
class Standing:
    id: str
    refusal: str
    created: bool = True


def add_standing_refusal(ctx: Context, key: str, token: str) -> Standing:
    """Keep a standing refusal of the caller's for one subject address.

    Raises:
        StatementRefused: not signed by the caller, names a request, has no subject address,
            or has expired.
        Conflict: another refusal with the same id is stored.
    """
    r = _verified(token, Refusal, "refusal")
    now = ctx.clock()
    if r["iss"] != key:
        raise StatementRefused("the refusal must be signed by the key that signs the request")
    if "req" in r:
        raise StatementRefused("a standing refusal names no request (req); answer it instead")
    if "email" not in r["sub"]:
        raise StatementRefused("a standing refusal needs the subject's e-mail address (sub.email)")
    if r["exp"] <= now:
        raise StatementRefused("the refusal has expired")
    try:
        with ctx.db.write() as session:
            identity = _referee_identity(session, key)
            existing = session.get(StandingRefusalRow, r["id"])
            if existing is not None:
                if existing.token != token:
                    raise Conflict("another refusal with this id is stored")
                return Standing(r["id"], token, created=False)
            session.add(
                StandingRefusalRow(
                    id=r["id"],
                    referee_mac=mac(ctx, identity.email),
                    key=key,
                    subject_mac=mac(ctx, r["sub"]["email"]),
                    purpose=r.get("purpose"),
                    token=token,
                    expires_at=r["exp"],
                    created_at=now,
                )
            )
    except IntegrityError as e:
        raise Conflict("another refusal with this id is stored") from e
    return Standing(r["id"], token)


def standing_refusals(ctx: Context, key: str) -> list[Standing]:
    """The caller's standing refusals (nobody else's, ever), oldest first."""
    with ctx.db.read() as session:
        identity = _referee_identity(session, key)
        rows = session.scalars(
            select(StandingRefusalRow)
            .where(StandingRefusalRow.referee_mac == mac(ctx, identity.email))
            .order_by(StandingRefusalRow.created_at, StandingRefusalRow.id)
        )
        return [Standing(row.id, row.token) for row in rows]


def delete_standing_refusal(ctx: Context, key: str, refusal_id: str) -> None:
    """Withdraw one of the caller's standing refusals.

    Raises:
        NotFound: no such refusal of the caller's.
    """
    with ctx.db.write() as session:
        identity = _referee_identity(session, key)
        row = session.get(StandingRefusalRow, refusal_id)
        if row is None or row.referee_mac != mac(ctx, identity.email):
            raise NotFound("no standing refusal with this id for this identity")
        session.delete(row)


# --- check counts ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checked:
    id: str
    days: list[tuple[int, int]]


def checks(ctx: Context, key: str) -> list[Checked]:
    """Online checks of the caller's identity's endorsements, per UTC day (counts only)."""
    ctx.checks.flush(ctx.db)
    with ctx.db.read() as session:
        identity = _referee_identity(session, key)
        keys = select(Identity.key).where(func.lower(Identity.email) == identity.email.lower())
        ids = list(
            session.scalars(
                select(EndorsementRow.id)
                .where(EndorsementRow.issuer.in_(keys))
                .order_by(EndorsementRow.registered_at, EndorsementRow.id)
            )
        )
        counts: dict[str, list[tuple[int, int]]] = {i: [] for i in ids}
        for row in session.scalars(
            select(CheckCount)
            .where(CheckCount.endorsement_id.in_(ids))
            .order_by(CheckCount.endorsement_id, CheckCount.day)
        ):
            counts[row.endorsement_id].append((row.day, row.count))
    return [Checked(i, counts[i]) for i in ids]


# --- mail stops --------------------------------------------------------------------------


def stop_mail(ctx: Context, t: str) -> bool:
    """Stop all mail to the address a stop link names. False: not a link the registry made."""
    address_mac = claims_mail.read_stop_token(_seed(ctx), t)
    if address_mac is None:
        return False
    try:
        with ctx.db.write() as session:
            if session.get(MailStop, address_mac) is None:
                session.add(MailStop(address_mac=address_mac, created_at=ctx.clock()))
    except IntegrityError:
        pass  # stopped by a concurrent click: the same outcome
    return True


def _send(ctx: Context, mail: Mail) -> bool:
    """Send one claims mail unless its address stopped mail; False if it could not be sent."""
    with ctx.db.read() as session:
        if _stopped(session, mail.to_mac):
            return True
    t = claims_mail.stop_token(_seed(ctx), mail.to_mac)
    try:
        ctx.mailer.send(
            mail.to, mail.subject, mail.body, claims_mail.unsubscribe_headers(ctx.registry, t)
        )
    except Exception as e:  # any mailer failure; the text may name the address: class only
        log.warning("a claims e-mail could not be sent (%s)", type(e).__name__)
        return False
    return True


# --- the end of requests -----------------------------------------------------------------


def sweep_now(ctx: Context) -> int:
    """:func:`sweep` in a transaction of its own (the app runs it periodically)."""
    now = ctx.clock()
    with ctx.db.write() as session:
        return sweep(ctx, session, now)


def sweep(ctx: Context, session: Session, now: int) -> int:
    """End the requests past their deadline and forget ended requests' addresses.

    Runs inside the caller's write transaction. Returns how many requests it touched.
    """
    rows = list(
        session.scalars(
            select(ReferenceRequestRow)
            .where(
                ReferenceRequestRow.referee_email.is_not(None),
                (ReferenceRequestRow.state != OPEN) | (ReferenceRequestRow.expires_at <= now),
            )
            .limit(SWEEP_BATCH)
            .with_for_update()
        )
    )
    for row in rows:
        address = row.referee_email
        assert address is not None
        if row.state == OPEN:
            row.state = EXPIRED
        _end(row, _registered(session, address))
    return len(rows)


__all__ = [
    "Ask",
    "Asked",
    "Record",
    "add_standing_refusal",
    "answer",
    "checks",
    "confirm_ask",
    "delete_policy",
    "delete_standing_refusal",
    "get_policy",
    "inbox",
    "muted",
    "put_policy",
    "request_record",
    "set_blocked",
    "standing_refusals",
    "start_ask",
    "stop_mail",
    "sweep",
    "sweep_now",
]
