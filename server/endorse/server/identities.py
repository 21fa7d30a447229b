"""Identity registration: who holds a key (issue 3, "Identity registration").

The registry binds an endorser's did:key to a verified e-mail address and states it in a
registry-signed key binding (spec §4.6). It also records what later becomes of the key: a
rotation to a successor (spec §4.4) and a revocation from a given time (spec §4.5).

Flows, each a function here (routes in :mod:`endorse.server.routes.identities` only parse):

* :func:`start_registration` / :func:`confirm_registration`: a signed request of the key asks for
  a binding; an 8-digit code is e-mailed; a second signed request of the same key returns the
  code (the request signature covers the body, so the code, and the registry id) and gets the
  binding.
* :func:`rotate_key`: the old key signs the request and a key-rotation token naming the
  successor; the successor signs its consent (:func:`rotation_consent_message`). The successor
  gets its own binding to the same identity; the old key stays valid (rotation is not
  revocation).
* :func:`revoke_key`: the key signs the request and a key-revocation token (``by`` == key).
* :func:`start_recovery` / :func:`confirm_recovery`: the key is lost, so nothing is signed by it;
  a code goes to the bound e-mail address and, returned, makes the registry sign the key
  revocation itself (``by`` == the registry's key).

Codes are made, stored and taken by :mod:`endorse.server.codes`. Every way a code can fail
gives the same :class:`~endorse.server.problems.InvalidCode`, so the answer is no oracle. Codes
and e-mail addresses are never logged, except the code in ``--dev`` mode with the outbox mailer
(the issue asks for it there, and only there).

No enumeration: ``/register`` never looks e-mail addresses up at all (one address may be bound
to several keys), so nothing reveals whether an address is registered. It answers a fresh
opaque pending id for a key that is not bound yet, and for a key that is bound already its
:class:`KeyState` and nothing else: nothing is stored or sent, as there is nothing to confirm.
That state is no secret: it is what ``GET /identities/{key}`` answers anyone who has the key,
and the register request is signed by the key itself (spec §10), so its holder is told what
their own key is bound to. ``/recover`` answers the same way for unknown and revoked keys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from endorse.protocol import (
    PROTOCOL_VERSION,
    BadSignature,
    EndorseError,
    InvalidKey,
    KeyBinding,
    KeyRevocation,
    KeyRotation,
    MalformedToken,
    PublicKey,
    sign,
    verify_key_revocation,
    verify_token,
)
from endorse.protocol.encoding import b64url_decode
from endorse.protocol.requests import REQUEST_MAX_SKEW, rotation_consent_message
from endorse.server import codes
from endorse.server.context import Context
from endorse.server.models import Identity, PendingCode
from endorse.server.observability import UNSAFE_DEV_LOGGER
from endorse.server.problems import (
    BadRequest,
    Conflict,
    InvalidCode,
    MalformedInput,
    NotFound,
    Unavailable,
)
from endorse.server.ratelimit import bucket_name, enforce

log = logging.getLogger("endorse.server.identities")
dev_log = logging.getLogger(UNSAFE_DEV_LOGGER)
"""Where ``--dev`` mode prints codes: the one logger the redacting log filter lets through."""
T = TypeVar("T")

REGISTER = "register"
RECOVER = "recover"
_METHOD = "email-code"


@dataclass(frozen=True, slots=True)
class KeyState:
    """What the registry states about a key: its binding and what became of the key."""

    key: str
    binding: str
    revoked_from: int | None = None
    key_revocation: str | None = None
    successor: str | None = None
    rotation: str | None = None

    @classmethod
    def of(cls, row: Identity) -> KeyState:
        return cls(
            key=row.key,
            binding=row.binding_token,
            revoked_from=row.revoked_from,
            key_revocation=row.revocation_token,
            successor=row.successor,
            rotation=row.rotation_token,
        )


def parse_key(value: str) -> str:
    """A did:key from a URL path.

    Raises:
        MalformedInput: not a strict Ed25519 did:key (spec §2.4).
    """
    try:
        return PublicKey.from_did(value).did
    except InvalidKey as e:
        raise MalformedInput(f"key: {e}") from e


def check_identity(registry: str, key: str, email: str, name: str, now: int) -> None:
    """Refuse an e-mail address or display name that could not appear in a key binding.

    The rules are the protocol's own: the candidate binding is read with the same strict
    reader a verifier uses (spec §4.6, value formats §2.3).

    Raises:
        MalformedInput: the detail names the member and the rule.
    """
    payload = {
        "type": KeyBinding.TYPE,
        "v": PROTOCOL_VERSION,
        "reg": registry,
        "key": key,
        "email": email,
        "name": name,
        "since": now,
        "method": _METHOD,
        "iat": now,
    }
    try:
        KeyBinding.from_payload(payload)
    except MalformedToken as e:
        message = str(e)
        if "$.email" in message:
            detail = (
                "email: not an address the registry can verify (ASCII dot-atom local part of"
                " at most 64 characters, @, a host name with at least one dot)"
            )
        elif "$.name" in message:
            detail = "name: must be 1 to 128 characters"
        else:
            detail = message.replace("key-binding.", "")
        raise MalformedInput(detail) from e


# --- registration ------------------------------------------------------------------------


def start_registration(
    ctx: Context, key: str, email: str, name: str, client: str
) -> codes.Pending | KeyState:
    """Begin binding ``key`` (which signed the request) to ``email``; e-mail a code.

    A key bound already gets its state instead, and nothing is sent. The answer does not
    depend on whether the address is registered (module doc).

    Raises:
        TooManyRequests: the client or the address asked too often.
        MalformedInput: the address or name breaks the protocol's rules.
        Unavailable: the mail could not be sent.
    """
    s = ctx.settings
    now = ctx.clock()
    _limit(ctx, "register-client", client, s.limit_register_per_client, now)
    check_identity(ctx.registry, key, email, name, now)
    _limit(ctx, "email", email.lower(), s.limit_register_per_email, now)
    pending = codes.Pending(codes.new_id(), now + s.code_ttl)
    code = codes.new_code()
    with ctx.db.write() as session:
        codes.purge(session, now)
        identity = session.get(Identity, key)
        if identity is not None:
            return KeyState.of(identity)
        session.add(codes.pending_row(ctx, pending, REGISTER, key, email, name, code, now))
    body = (
        f"Someone, we hope you, asked the endorse registry {ctx.registry}\n"
        f'to bind this e-mail address, under the name "{name}", to the signing key\n\n'
        f"    {key}\n\n"
        f"Your confirmation code is\n\n"
        f"    {code}\n\n"
        f"Check that the key above is the one your endorse client shows, then enter the code.\n"
        f"It expires in {s.code_ttl // 60} minutes and works once.\n\n"
        f"If you did not ask for this, ignore this message: without the code nothing happens.\n"
    )
    _deliver(ctx, pending, "registration", code, email, "Your endorse confirmation code", body)
    return pending


def confirm_registration(
    ctx: Context, key: str, pending_id: str, code: str, client: str
) -> KeyState:
    """Check the code e-mailed for ``pending_id`` and bind ``key`` to its address.

    ``key`` is the key that signed this request; it must be the one that asked.

    Raises:
        TooManyRequests: the client tried too many codes.
        InvalidCode: unknown id, another key's id, wrong code, expired, used, or out of
            attempts (one answer for all). A wrong code counts as an attempt.
    """
    s = ctx.settings
    now = ctx.clock()
    _limit(ctx, "confirm-client", client, s.limit_confirm_per_client, now, confirm=True)
    state: KeyState | None = None
    try:
        with ctx.db.write() as session:
            row = codes.take_code(ctx, session, REGISTER, key, pending_id, code, now)
            if row is not None and session.get(Identity, key) is None:
                identity = _bound_identity(ctx, key, row.email, row.name, now)
                session.add(identity)
                state = KeyState.of(identity)
    except IntegrityError as e:  # another request bound the key at the same moment
        raise InvalidCode(codes.INVALID_CODE) from e
    if state is None:
        raise InvalidCode(codes.INVALID_CODE)
    return state


# --- key state, rotation, revocation -----------------------------------------------------


def key_state(ctx: Context, key: str) -> KeyState:
    """The registry's binding of ``key`` and what became of the key.

    Raises:
        NotFound: the key is not bound to an identity here.
    """
    with ctx.db.read() as session:
        row = session.get(Identity, key)
        if row is None:
            raise NotFound("no identity is bound to this key")
        return KeyState.of(row)


def rotate_key(ctx: Context, key: str, rotation_token: str, successor_proof: str) -> KeyState:
    """Record that ``key`` (which signed the request) rotated to a successor; bind the successor.

    Both keys sign: the old key signs the key-rotation token (and the request), the successor
    signs :func:`rotation_consent_message` of that token (``successor_proof``). The successor
    gets a binding to the same identity, since now. Repeating the same rotation answers the
    same successor state.

    Raises:
        MalformedInput, BadRequest: the rotation or the proof is malformed or does not verify,
            or the rotation is for another key.
        NotFound: ``key`` is not bound here.
        Conflict: ``key`` is revoked or already rotated to another key, or the successor is
            already bound.
    """
    rotation = _verified("rotation", lambda: verify_token(rotation_token, KeyRotation).object)
    if rotation.key != key:
        raise BadRequest("rotation: names another key than the one rotated")
    successor = rotation.successor
    try:
        proof = b64url_decode(successor_proof, what="successor_proof")
        PublicKey.from_did(successor).verify(rotation_consent_message(rotation_token), proof)
    except MalformedToken as e:
        raise MalformedInput(str(e)) from e
    except BadSignature as e:
        raise BadRequest(
            "successor_proof: not the successor key's signature over the rotation"
        ) from e
    now = ctx.clock()
    try:
        with ctx.db.write() as session:
            old = _locked_identity(session, key)
            if old.successor is not None:
                if old.rotation_token != rotation_token:
                    raise Conflict("this key was already rotated to another key")
                current = session.get(Identity, old.successor)
                assert current is not None  # rows are never deleted
                return KeyState.of(current)
            if old.revoked_from is not None:
                raise Conflict("a revoked key cannot be rotated")
            if session.get(Identity, successor) is not None:
                raise Conflict("the successor key is already bound to an identity")
            new = _bound_identity(ctx, successor, old.email, old.name, now)
            session.add(new)
            old.successor = successor
            old.rotation_token = rotation_token
            return KeyState.of(new)
    except IntegrityError as e:
        raise Conflict("the successor key is already bound to an identity") from e


def revoke_key(ctx: Context, key: str, revocation_token: str) -> KeyState:
    """Record the key's own revocation of itself (``by`` == ``key``).

    ``from`` may not be before the key was bound, nor later than now (give or take the
    signed-request clock window, since the client's clock set it). Revoking a revoked key
    answers the revocation already recorded.

    Raises:
        MalformedInput, BadRequest: the revocation is malformed, not signed by the key, or for
            another key or an out-of-range time.
        NotFound: ``key`` is not bound here.
    """
    # Without the registry's key, only a revocation signed by the key itself verifies.
    revocation = _verified("revocation", lambda: verify_key_revocation(revocation_token))
    if revocation.key != key:
        raise BadRequest("revocation: names another key than the one revoked")
    now = ctx.clock()
    with ctx.db.write() as session:
        row = _locked_identity(session, key)
        if row.revocation_token is None:
            _check_revoked_from(revocation.revoked_from, row.since, now + REQUEST_MAX_SKEW)
            row.revoked_from = revocation.revoked_from
            row.revocation_token = revocation_token
        return KeyState.of(row)


# --- recovery of a lost key --------------------------------------------------------------


def start_recovery(ctx: Context, key: str, client: str) -> codes.Pending:
    """E-mail a code to the address ``key`` is bound to, to revoke the lost key.

    Answers alike for unknown, revoked and active keys; only an active key's address gets mail.

    Raises:
        TooManyRequests: the client, the key or the address asked too often.
        Unavailable: the mail could not be sent.
    """
    s = ctx.settings
    now = ctx.clock()
    _limit(ctx, "recover-client", client, s.limit_register_per_client, now)
    _limit(ctx, "recover-key", key, s.limit_register_per_email, now)
    with ctx.db.read() as session:
        identity = session.get(Identity, key)
    pending = codes.Pending(codes.new_id(), now + s.code_ttl)
    if identity is None or identity.revoked_from is not None:
        return pending
    _limit(ctx, "email", identity.email.lower(), s.limit_register_per_email, now)
    code = codes.new_code()
    with ctx.db.write() as session:
        codes.purge(session, now)
        session.add(
            codes.pending_row(ctx, pending, RECOVER, key, identity.email, identity.name, code, now)
        )
    body = (
        f"Someone, we hope you, asked the endorse registry {ctx.registry}\n"
        f"to revoke the signing key bound to this e-mail address, because it was lost:\n\n"
        f"    {key}\n\n"
        f"Your code is\n\n"
        f"    {code}\n\n"
        f"Entering it revokes the key: signatures made with it are no longer trusted from the\n"
        f"time you choose (now, unless you give an earlier one). This cannot be undone.\n"
        f"The code expires in {s.code_ttl // 60} minutes and works once.\n\n"
        f"If you did not ask for this, ignore this message: the key stays valid.\n"
    )
    _deliver(
        ctx, pending, "recovery", code, identity.email, "Your endorse key revocation code", body
    )
    return pending


def confirm_recovery(
    ctx: Context,
    key: str,
    pending_id: str,
    code: str,
    revoked_from: int | None,
    client: str,
) -> KeyState:
    """Check the recovery code and revoke ``key`` with a registry-signed key revocation.

    ``revoked_from`` defaults to now; an earlier time may be given, not before the key was
    bound. If the key was revoked meanwhile, the revocation already recorded is answered.

    Raises:
        TooManyRequests: the client tried too many codes.
        InvalidCode: as for :func:`confirm_registration`.
        MalformedInput: ``revoked_from`` out of range (the code is not used up).
    """
    s = ctx.settings
    now = ctx.clock()
    _limit(ctx, "confirm-client", client, s.limit_confirm_per_client, now, confirm=True)
    state: KeyState | None = None
    with ctx.db.write() as session:
        row = codes.take_code(ctx, session, RECOVER, key, pending_id, code, now)
        if row is not None:
            identity = _locked_identity(session, key)
            if identity.revocation_token is None:
                when = now if revoked_from is None else revoked_from
                _check_revoked_from(when, identity.since, now)
                identity.revoked_from = when
                identity.revocation_token = sign(
                    KeyRevocation(key=key, revoked_from=when, by=ctx.key.did, issued_at=now),
                    ctx.key,
                )
            state = KeyState.of(identity)
    if state is None:
        raise InvalidCode(codes.INVALID_CODE)
    return state


# --- internals ---------------------------------------------------------------------------


def _limit(
    ctx: Context, kind: str, value: str, limit: int, now: int, *, confirm: bool = False
) -> None:
    s = ctx.settings
    window = s.limit_confirm_window if confirm else s.limit_register_window
    enforce(ctx.limiter, bucket_name(kind, value), limit, window, now)


def _deliver(
    ctx: Context, pending: codes.Pending, what: str, code: str, to: str, subject: str, body: str
) -> None:
    try:
        ctx.mailer.send(to, subject, body)
    except Exception as e:  # any mailer failure: drop the code, tell the client to retry
        # The exception text may name the address; log only its class.
        log.warning("a confirmation e-mail could not be sent (%s)", type(e).__name__)
        with ctx.db.write() as session:
            session.execute(delete(PendingCode).where(PendingCode.id == pending.id))
        raise Unavailable("the confirmation e-mail could not be sent; try again later") from e
    ctx.metrics.codes_sent.inc()
    if ctx.settings.dev and ctx.settings.mailer == "outbox":
        dev_log.info("dev mode: confirmation code for pending %s %s: %s", what, pending.id, code)


def _bound_identity(ctx: Context, key: str, email: str, name: str, now: int) -> Identity:
    binding = KeyBinding(
        registry=ctx.registry,
        key=key,
        email=email,
        name=name,
        since=now,
        method=_METHOD,
        issued_at=now,
    )
    return Identity(
        key=key, email=email, name=name, since=now, binding_token=sign(binding, ctx.key)
    )


def _locked_identity(session: Session, key: str) -> Identity:
    row = session.scalars(select(Identity).where(Identity.key == key).with_for_update()).first()
    if row is None:
        raise NotFound("no identity is bound to this key")
    return row


def _check_revoked_from(when: int, since: int, latest: int) -> None:
    if when < since:
        raise MalformedInput("revoked_from: before the key was bound to its identity")
    if when > latest:
        raise MalformedInput("revoked_from: in the future")


def _verified(what: str, check: Callable[[], T]) -> T:
    """Run a token check, turning its errors into problems that name ``what``."""
    try:
        return check()
    except BadSignature as e:
        raise BadRequest(f"{what}: {e}") from e
    except EndorseError as e:
        raise MalformedInput(f"{what}: {e}") from e
