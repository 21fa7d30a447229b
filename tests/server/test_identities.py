"""Identity registration, rotation, revocation and recovery, on SQLite and PostgreSQL.

Codes are read the way an endorser reads them: out of the mail the registry sent (the outbox's
``.eml`` files, parsed with the ``email`` package).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from endorse.protocol import (
    BadSignature,
    KeyRevocation,
    KeyRotation,
    PublicKey,
    SigningKey,
    sign,
    verify_key_binding,
    verify_key_revocation,
)
from endorse.protocol.encoding import b64url_encode
from endorse.protocol.requests import HEADER_KEY, rotation_consent_message, sign_request
from endorse.server.app import create_app
from endorse.server.context import Context
from endorse.server.models import PendingCode
from endorse.server.settings import Settings

REGISTRY_URL = "http://127.0.0.1:8080"  # as in tests/server/conftest.py
BASE = "/api/v1/identities"
PROBLEM = "application/problem+json"
INVALID_CODE = "urn:endorse:problem:invalid-code"
EMAIL = "alice@example.com"
NAME = "Alice Smith"


class Clock(Protocol):
    """The settable clock of tests/server/conftest.py."""

    now: int

    def advance(self, seconds: int) -> None: ...


class Outbox:
    """The registry's outbox directory, read message by message."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.seen: set[str] = set()

    def new(self) -> list[EmailMessage]:
        """Messages written since the last call."""
        found = []
        for path in sorted(self.directory.glob("*.eml")) if self.directory.exists() else []:
            if path.name not in self.seen:
                self.seen.add(path.name)
                message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
                assert isinstance(message, EmailMessage)
                found.append(message)
        return found

    def one(self) -> EmailMessage:
        messages = self.new()
        assert len(messages) == 1, f"expected one new message, got {len(messages)}"
        return messages[0]


def code_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = re.search(r"^\s+([0-9]{8})$", body.get_content(), re.MULTILINE)
    assert match is not None, "no code in the message"
    return match.group(1)


def post(
    client: TestClient,
    path: str,
    body: Any,
    key: SigningKey | None,
    now: int,
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST ``body`` as JSON, as a signed request of ``key`` (unsigned when None)."""
    data = json.dumps(body).encode()
    sent = {"content-type": "application/json"}
    if key is not None:
        sent |= sign_request(key, REGISTRY_URL, "POST", path, data, now=now)
    sent |= headers or {}
    return client.post(path, content=data, headers=sent)


def context(client: TestClient) -> Context:
    ctx = client.app.state.context  # type: ignore[attr-defined]
    assert isinstance(ctx, Context)
    return ctx


def registry_key(client: TestClient) -> PublicKey:
    return PublicKey.from_did(client.get("/.well-known/endorse-registry").json()["key"])


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:endorse:problem:{slug}"
    return body


@pytest.fixture
def outbox(settings: Settings) -> Outbox:
    return Outbox(settings.outbox_path)


@pytest.fixture
def make_client(settings: Settings, clock: Clock) -> Iterator[Any]:
    """A client for an app whose settings differ from the fixture's by ``overrides``."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        app = create_app(settings.model_copy(update=overrides), clock=clock)
        c = TestClient(app, base_url=REGISTRY_URL)
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def register(
    client: TestClient,
    key: SigningKey,
    clock: Clock,
    email: str = EMAIL,
    name: str = NAME,
) -> httpx.Response:
    return post(client, f"{BASE}/register", {"email": email, "name": name}, key, clock.now)


def confirm(
    client: TestClient, key: SigningKey, clock: Clock, pending: str, code: str
) -> httpx.Response:
    return post(client, f"{BASE}/confirm", {"pending": pending, "code": code}, key, clock.now)


def bind(client: TestClient, outbox: Outbox, key: SigningKey, clock: Clock) -> str:
    """Register and confirm ``key``; its binding token."""
    r = register(client, key, clock)
    assert r.status_code == 202, r.text
    r = confirm(client, key, clock, r.json()["pending"], code_of(outbox.one()))
    assert r.status_code == 200, r.text
    binding: str = r.json()["binding"]
    return binding


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


# --- registration ------------------------------------------------------------------------


def test_register_and_confirm_gives_a_binding_the_registry_key_verifies(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = SigningKey.generate()
    r = register(client, alice, clock)
    assert r.status_code == 202
    pending = r.json()
    assert set(pending) == {"pending", "expires_at"}
    assert pending["expires_at"] == clock.now + 900

    mail = outbox.one()
    assert mail["To"] == EMAIL
    assert mail["Subject"] == "Your endorse confirmation code"
    assert alice.did in mail.get_content()
    assert (
        context(client).metrics.registry.get_sample_value("endorse_confirmation_codes_sent_total")
        == 1
    )

    clock.advance(60)
    r = confirm(client, alice, clock, pending["pending"], code_of(mail))
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"key", "binding"}
    assert r.json()["key"] == alice.did
    binding = verify_key_binding(r.json()["binding"], registry_key(client), REGISTRY_URL)
    assert (binding.key, binding.email, binding.name) == (alice.did, EMAIL, NAME)
    assert binding.since == binding.issued_at == clock.now
    assert binding.method == "email-code"

    state = client.get(f"{BASE}/{alice.did}")
    assert state.status_code == 200
    assert state.json() == {"key": alice.did, "binding": r.json()["binding"]}


def test_codes_are_stored_only_as_macs(client: TestClient, outbox: Outbox, clock: Clock) -> None:
    register(client, SigningKey.generate(), clock)
    code = code_of(outbox.one())
    with context(client).db.read() as session:
        row = session.scalars(select(PendingCode)).one()
        assert code.encode() not in row.code_mac
        assert len(row.code_mac) == 32
        assert len(row.id) == 22


def test_wrong_code_five_times_then_the_right_code_fails(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = SigningKey.generate()
    pending = register(client, alice, clock).json()["pending"]
    code = code_of(outbox.one())
    for _ in range(5):
        body = problem(confirm(client, alice, clock, pending, wrong(code)), 400, "invalid-code")
        assert body["detail"] == "invalid or expired code"
    problem(confirm(client, alice, clock, pending, code), 400, "invalid-code")
    assert client.get(f"{BASE}/{alice.did}").status_code == 404


def test_a_few_wrong_codes_then_the_right_one_works(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = SigningKey.generate()
    pending = register(client, alice, clock).json()["pending"]
    code = code_of(outbox.one())
    for _ in range(4):
        problem(confirm(client, alice, clock, pending, wrong(code)), 400, "invalid-code")
    assert confirm(client, alice, clock, pending, code).status_code == 200


def test_expired_code_refused(client: TestClient, outbox: Outbox, clock: Clock) -> None:
    alice = SigningKey.generate()
    pending = register(client, alice, clock).json()
    clock.now = pending["expires_at"]
    problem(
        confirm(client, alice, clock, pending["pending"], code_of(outbox.one())),
        400,
        "invalid-code",
    )


def test_every_failing_code_gets_the_same_answer(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice, mallory = SigningKey.generate(), SigningKey.generate()
    pending = register(client, alice, clock).json()["pending"]
    code = code_of(outbox.one())
    answers = [
        confirm(client, alice, clock, "A" * 22, code),  # unknown id
        confirm(client, mallory, clock, pending, code),  # another key's id
        confirm(client, alice, clock, pending, wrong(code)),  # wrong code
    ]
    assert confirm(client, alice, clock, pending, code).status_code == 200
    answers.append(confirm(client, alice, clock, pending, code))  # used
    assert len({(a.status_code, a.text) for a in answers}) == 1
    problem(answers[0], 400, "invalid-code")


def test_second_pending_registration_of_a_bound_key_confirms_nothing(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = SigningKey.generate()
    first = register(client, alice, clock, email="a@example.com").json()["pending"]
    first_code = code_of(outbox.one())
    second = register(client, alice, clock, email="b@example.com").json()["pending"]
    second_code = code_of(outbox.one())
    assert confirm(client, alice, clock, second, second_code).status_code == 200
    problem(confirm(client, alice, clock, first, first_code), 400, "invalid-code")
    binding = client.get(f"{BASE}/{alice.did}").json()["binding"]
    assert verify_key_binding(binding, registry_key(client), REGISTRY_URL).email == "b@example.com"


def test_answers_do_not_reveal_whether_an_address_is_registered(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    bind(client, outbox, SigningKey.generate(), clock)

    fresh = register(client, SigningKey.generate(), clock, email="nobody@example.com")
    assert len(outbox.new()) == 1
    taken = register(client, SigningKey.generate(), clock, email=EMAIL)  # address registered
    assert len(outbox.new()) == 1  # an address may hold several keys: a code is sent

    def shape(r: httpx.Response) -> tuple[Any, ...]:
        body = r.json()
        return (
            r.status_code,
            sorted(r.headers.keys()),
            sorted(body),
            len(body["pending"]),
            body["expires_at"] - clock.now,
        )

    assert shape(fresh) == shape(taken)
    assert fresh.status_code == 202


@pytest.mark.parametrize("email", [EMAIL, "other@example.com"], ids=["same", "other-address"])
def test_a_bound_key_registering_again_is_told_its_binding_and_nothing_is_sent(
    email: str, client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = SigningKey.generate()
    binding = bind(client, outbox, alice, clock)
    clock.advance(60)
    codes = pending_codes(client, alice)

    again = register(client, alice, clock, email=email, name="Someone Else")
    assert again.status_code == 200, again.text
    assert again.headers["content-type"] == "application/json"
    # The key's own state, exactly as anyone with the key reads it: nothing more.
    assert again.json() == {"key": alice.did, "binding": binding}
    assert again.json() == client.get(f"{BASE}/{alice.did}").json()
    stated = verify_key_binding(again.json()["binding"], registry_key(client), REGISTRY_URL)
    assert (stated.key, stated.email, stated.name) == (alice.did, EMAIL, NAME)
    assert outbox.new() == []  # no code: there is nothing to confirm
    assert pending_codes(client, alice) == codes  # and nothing was stored


def pending_codes(client: TestClient, key: SigningKey) -> list[tuple[str, bool]]:
    with context(client).db.read() as session:
        rows = session.scalars(select(PendingCode).where(PendingCode.key == key.did))
        return sorted((row.id, row.used) for row in rows)


def test_a_revoked_key_registering_again_is_told_it_is_revoked(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = SigningKey.generate()
    bind(client, outbox, alice, clock)
    revocation = sign(
        KeyRevocation(key=alice.did, revoked_from=clock.now, by=alice.did, issued_at=clock.now),
        alice,
    )
    revoked = post(
        client, f"{BASE}/{alice.did}/revoke", {"revocation": revocation}, alice, clock.now
    )
    assert revoked.status_code == 200, revoked.text

    again = register(client, alice, clock)
    assert again.status_code == 200, again.text
    assert again.json()["key_revocation"] == revocation
    assert again.json()["revoked_from"] == clock.now
    assert outbox.new() == []


# --- limits ------------------------------------------------------------------------------


def test_register_rate_limited_per_email(client: TestClient, clock: Clock) -> None:
    for _ in range(5):
        assert register(client, SigningKey.generate(), clock).status_code == 202
    r = register(client, SigningKey.generate(), clock, email=EMAIL.upper())
    problem(r, 429, "rate-limited")
    assert 0 < int(r.headers["Retry-After"]) <= 3600
    assert register(client, SigningKey.generate(), clock, email="bob@example.com").status_code == (
        202
    )


def test_register_rate_limited_per_client(make_client: Any, clock: Clock) -> None:
    client = make_client(limit_register_per_client=2)
    for i in range(2):
        r = register(client, SigningKey.generate(), clock, email=f"u{i}@example.com")
        assert r.status_code == 202
    r = register(client, SigningKey.generate(), clock, email="u3@example.com")
    problem(r, 429, "rate-limited")
    assert int(r.headers["Retry-After"]) > 0


def test_confirm_rate_limited_per_client(make_client: Any, clock: Clock) -> None:
    client = make_client(limit_confirm_per_client=2)
    alice = SigningKey.generate()
    for _ in range(2):
        problem(confirm(client, alice, clock, "A" * 22, "00000000"), 400, "invalid-code")
    r = confirm(client, alice, clock, "A" * 22, "00000000")
    problem(r, 429, "rate-limited")
    assert int(r.headers["Retry-After"]) > 0


# --- authentication and bad input --------------------------------------------------------


def test_unsigned_forged_and_replayed_requests_refused(client: TestClient, clock: Clock) -> None:
    alice, mallory = SigningKey.generate(), SigningKey.generate()
    path = f"{BASE}/register"
    body = {"email": EMAIL, "name": NAME}
    problem(post(client, path, body, None, clock.now), 401, "unauthorized")

    data = json.dumps(body).encode()
    forged = sign_request(mallory, REGISTRY_URL, "POST", path, data, now=clock.now)
    forged[HEADER_KEY] = alice.did
    problem(post(client, path, body, None, clock.now, headers=forged), 401, "unauthorized")

    stale = sign_request(alice, REGISTRY_URL, "POST", path, data, now=clock.now - 301)
    problem(post(client, path, body, None, clock.now, headers=stale), 401, "unauthorized")

    other_registry = sign_request(alice, "https://other.example", "POST", path, data, now=clock.now)
    problem(post(client, path, body, None, clock.now, headers=other_registry), 401, "unauthorized")

    headers = sign_request(alice, REGISTRY_URL, "POST", path, data, now=clock.now)
    tampered = {"email": "mallory@example.com", "name": NAME}
    problem(post(client, path, tampered, None, clock.now, headers=headers), 401, "unauthorized")
    headers = sign_request(alice, REGISTRY_URL, "POST", path, data, now=clock.now)
    assert post(client, path, body, None, clock.now, headers=headers).status_code == 202
    replay = post(client, path, body, None, clock.now, headers=headers)
    assert "replay" in problem(replay, 401, "unauthorized")["detail"]


@pytest.mark.parametrize(
    ("body", "status", "slug", "named"),
    [
        ({"email": "not-an-address", "name": NAME}, 400, "malformed", "email"),
        ({"email": "alice@localhost", "name": NAME}, 400, "malformed", "email"),
        ({"email": "älice@example.com", "name": NAME}, 400, "malformed", "email"),
        ({"email": EMAIL, "name": " Alice"}, 400, "malformed", "name"),
        ({"email": EMAIL, "name": "Alice\u200b"}, 400, "malformed", "name"),
        ({"email": EMAIL, "name": "Alice\u0301"}, 400, "malformed", "name"),
        ({"email": EMAIL, "name": ""}, 400, "malformed", "name"),
        ({"email": EMAIL, "name": "x" * 129}, 422, "invalid-request", "name"),
        ({"email": EMAIL}, 422, "invalid-request", "name"),
        ({"email": EMAIL, "name": NAME, "admin": True}, 422, "invalid-request", "admin"),
        ({"email": 7, "name": NAME}, 422, "invalid-request", "email"),
        ([EMAIL, NAME], 422, "invalid-request", "body"),
    ],
    ids=[
        "email_no_at",
        "email_dotless_host",
        "email_non_ascii",
        "name_outer_space",
        "name_invisible",
        "name_not_nfc",
        "name_empty",
        "name_too_long",
        "name_missing",
        "unknown_member",
        "email_not_text",
        "body_not_object",
    ],
)
def test_bad_registration_input_named(
    client: TestClient, clock: Clock, body: Any, status: int, slug: str, named: str
) -> None:
    r = post(client, f"{BASE}/register", body, SigningKey.generate(), clock.now)
    assert named in problem(r, status, slug)["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"pending": "short", "code": "12345678"},
        {"pending": "A" * 22, "code": "1234567"},
        {"pending": "A" * 22, "code": "1234 5678"},
        {"pending": "A" * 22, "code": 12345678},
        {"pending": "A" * 22},
    ],
    ids=["pending_malformed", "code_short", "code_spaced", "code_number", "code_missing"],
)
def test_bad_confirm_input_refused(client: TestClient, clock: Clock, body: Any) -> None:
    r = post(client, f"{BASE}/confirm", body, SigningKey.generate(), clock.now)
    problem(r, 422, "invalid-request")


def test_key_lookup(client: TestClient) -> None:
    problem(client.get(f"{BASE}/did:key:nope"), 400, "malformed")
    problem(client.get(f"{BASE}/{SigningKey.generate().did}"), 404, "not-found")


# --- rotation ----------------------------------------------------------------------------


def rotation_body(
    old: SigningKey, new: SigningKey, now: int, *, consent: SigningKey | None = None
) -> dict[str, str]:
    token = sign(KeyRotation(old.did, new.did, now), old)
    proof = (consent or new).sign(rotation_consent_message(token))
    return {"rotation": token, "successor_proof": b64url_encode(proof)}


def test_rotation_binds_the_successor_and_keeps_the_old_binding(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    old_binding = bind(client, outbox, old, clock)
    clock.advance(100)
    body = rotation_body(old, new, clock.now)
    r = post(client, f"{BASE}/{old.did}/rotate", body, old, clock.now)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"key", "binding"}
    binding = verify_key_binding(r.json()["binding"], registry_key(client), REGISTRY_URL)
    assert (binding.key, binding.email, binding.name, binding.since) == (
        new.did,
        EMAIL,
        NAME,
        clock.now,
    )

    state = client.get(f"{BASE}/{old.did}").json()
    assert state == {
        "key": old.did,
        "binding": old_binding,
        "successor": new.did,
        "rotation": body["rotation"],
    }
    assert client.get(f"{BASE}/{new.did}").json()["binding"] == r.json()["binding"]

    # The same rotation again: the same answer.
    again = post(client, f"{BASE}/{old.did}/rotate", body, old, clock.now)
    assert again.json() == r.json()
    # Another successor: refused.
    other = rotation_body(old, SigningKey.generate(), clock.now)
    problem(post(client, f"{BASE}/{old.did}/rotate", other, old, clock.now), 409, "conflict")


def test_rotation_refusals(client: TestClient, outbox: Outbox, clock: Clock) -> None:
    old, new, bound = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    bind(client, outbox, old, clock)
    path = f"{BASE}/{old.did}/rotate"

    no_consent = rotation_body(old, new, clock.now, consent=old)
    assert (
        "successor"
        in problem(post(client, path, no_consent, old, clock.now), 400, "bad-request")["detail"]
    )
    by_new = rotation_body(old, new, clock.now)
    problem(post(client, path, by_new, new, clock.now), 403, "forbidden")
    third = SigningKey.generate()
    foreign = rotation_body(third, new, clock.now)
    problem(post(client, path, foreign, old, clock.now), 400, "bad-request")
    garbage = {"rotation": "key-rotation-v1.AAAA.BBBB", "successor_proof": "A" * 86}
    problem(post(client, path, garbage, old, clock.now), 400, "malformed")
    wrong_type = {
        "rotation": client.get(f"{BASE}/{old.did}").json()["binding"],
        "successor_proof": "A" * 86,
    }
    assert (
        "key-rotation"
        in problem(post(client, path, wrong_type, old, clock.now), 400, "malformed")["detail"]
    )
    unknown = SigningKey.generate()
    body = rotation_body(unknown, new, clock.now)
    problem(
        post(client, f"{BASE}/{unknown.did}/rotate", body, unknown, clock.now), 404, "not-found"
    )

    bind(client, outbox, bound, clock)
    taken = rotation_body(old, bound, clock.now)
    problem(post(client, path, taken, old, clock.now), 409, "conflict")
    assert "successor" not in client.get(f"{BASE}/{old.did}").json()


# --- revocation --------------------------------------------------------------------------


def revocation(
    key: SigningKey, revoked_from: int, now: int, *, by: SigningKey | None = None
) -> str:
    signer = by or key
    return sign(KeyRevocation(key.did, revoked_from, signer.did, now), signer)


def test_self_revocation_is_recorded_once(client: TestClient, outbox: Outbox, clock: Clock) -> None:
    alice = SigningKey.generate()
    bind(client, outbox, alice, clock)
    since = clock.now
    clock.advance(1000)
    path = f"{BASE}/{alice.did}/revoke"
    token = revocation(alice, since + 500, clock.now)
    r = post(client, path, {"revocation": token}, alice, clock.now)
    assert r.status_code == 200, r.text
    assert r.json()["revoked_from"] == since + 500
    assert r.json()["key_revocation"] == token
    assert verify_key_revocation(token).key == alice.did
    assert client.get(f"{BASE}/{alice.did}").json() == r.json()

    later = revocation(alice, clock.now, clock.now)
    assert post(client, path, {"revocation": later}, alice, clock.now).json() == r.json()
    # A revoked key cannot be rotated.
    body = rotation_body(alice, SigningKey.generate(), clock.now)
    problem(post(client, f"{BASE}/{alice.did}/rotate", body, alice, clock.now), 409, "conflict")


def test_self_revocation_refusals(client: TestClient, outbox: Outbox, clock: Clock) -> None:
    alice, mallory = SigningKey.generate(), SigningKey.generate()
    bind(client, outbox, alice, clock)
    path = f"{BASE}/{alice.did}/revoke"

    def send(token: str, key: SigningKey = alice) -> httpx.Response:
        return post(client, path, {"revocation": token}, key, clock.now)

    problem(send(revocation(alice, clock.now, clock.now, by=mallory)), 400, "bad-request")
    problem(send(revocation(mallory, clock.now, clock.now)), 400, "bad-request")
    problem(send(revocation(alice, clock.now, clock.now), mallory), 403, "forbidden")
    assert (
        "before"
        in problem(send(revocation(alice, clock.now - 1, clock.now)), 400, "malformed")["detail"]
    )
    assert (
        "future"
        in problem(send(revocation(alice, clock.now + 301, clock.now)), 400, "malformed")["detail"]
    )
    problem(send("not a token"), 400, "malformed")
    assert "revoked_from" not in client.get(f"{BASE}/{alice.did}").json()


# --- recovery of a lost key --------------------------------------------------------------


def test_recovery_revokes_with_a_registry_signed_key_revocation(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = SigningKey.generate()
    bind(client, outbox, alice, clock)
    clock.advance(3600)
    r = client.post(f"{BASE}/{alice.did}/recover")
    assert r.status_code == 202
    mail = outbox.one()
    assert mail["To"] == EMAIL
    assert mail["Subject"] == "Your endorse key revocation code"
    assert alice.did in mail.get_content()
    code = code_of(mail)

    path = f"{BASE}/{alice.did}/recover/confirm"
    pending = r.json()["pending"]
    problem(
        post(client, path, {"pending": pending, "code": wrong(code)}, None, clock.now),
        400,
        "invalid-code",
    )
    # A registration confirmation does not accept a recovery code, even signed by the key.
    problem(confirm(client, alice, clock, pending, code), 400, "invalid-code")

    clock.advance(10)
    done = post(client, path, {"pending": pending, "code": code}, None, clock.now)
    assert done.status_code == 200, done.text
    state = done.json()
    assert state["revoked_from"] == clock.now
    registry = registry_key(client)
    key_revocation = verify_key_revocation(state["key_revocation"], registry)
    assert (key_revocation.key, key_revocation.by, key_revocation.revoked_from) == (
        alice.did,
        registry.did,
        clock.now,
    )
    with pytest.raises(BadSignature):
        verify_key_revocation(state["key_revocation"])  # not the key's own: needs the registry
    assert client.get(f"{BASE}/{alice.did}").json() == state

    # Used once; and a revoked key's address gets no more mail.
    problem(
        post(client, path, {"pending": pending, "code": code}, None, clock.now), 400, "invalid-code"
    )
    assert client.post(f"{BASE}/{alice.did}/recover", json={}).status_code == 202
    assert outbox.new() == []


def test_recovery_with_an_earlier_time(client: TestClient, outbox: Outbox, clock: Clock) -> None:
    alice = SigningKey.generate()
    bind(client, outbox, alice, clock)
    since = clock.now
    clock.advance(5000)
    pending = client.post(f"{BASE}/{alice.did}/recover").json()["pending"]
    code = code_of(outbox.one())
    path = f"{BASE}/{alice.did}/recover/confirm"

    def send(when: int) -> httpx.Response:
        body = {"pending": pending, "code": code, "revoked_from": when}
        return post(client, path, body, None, clock.now)

    assert "before" in problem(send(since - 1), 400, "malformed")["detail"]
    assert "future" in problem(send(clock.now + 1), 400, "malformed")["detail"]
    r = send(since + 10)  # the refusals above did not use up the code
    assert r.status_code == 200, r.text
    assert r.json()["revoked_from"] == since + 10
    assert verify_key_revocation(r.json()["key_revocation"], registry_key(client)).revoked_from == (
        since + 10
    )


def test_recovery_answers_alike_for_unknown_keys(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = SigningKey.generate()
    bind(client, outbox, alice, clock)
    known = client.post(f"{BASE}/{alice.did}/recover")
    assert len(outbox.new()) == 1
    unknown = client.post(f"{BASE}/{SigningKey.generate().did}/recover")
    assert outbox.new() == []
    assert (known.status_code, sorted(known.json()), len(known.json()["pending"])) == (
        unknown.status_code,
        sorted(unknown.json()),
        len(unknown.json()["pending"]),
    )
    problem(client.post(f"{BASE}/not-a-key/recover"), 400, "malformed")
    problem(
        client.post(f"{BASE}/{alice.did}/recover", json={"email": EMAIL}), 422, "invalid-request"
    )


def test_recovery_rate_limited_per_key(client: TestClient, clock: Clock) -> None:
    key = SigningKey.generate().did
    for _ in range(5):
        assert client.post(f"{BASE}/{key}/recover").status_code == 202
    r = client.post(f"{BASE}/{key}/recover")
    problem(r, 429, "rate-limited")
    assert int(r.headers["Retry-After"]) > 0


# --- mail, logs ---------------------------------------------------------------------------


def test_codes_logged_only_in_dev_mode(
    make_client: Any, outbox: Outbox, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet = make_client()
    register(quiet, SigningKey.generate(), clock)
    code = code_of(outbox.one())
    assert code not in caplog.text
    assert EMAIL not in caplog.text

    dev = make_client(dev=True)
    pending = register(dev, SigningKey.generate(), clock).json()["pending"]
    code = code_of(outbox.one())
    assert f"dev mode: confirmation code for pending registration {pending}: {code}" in (
        caplog.text
    )
    assert EMAIL not in caplog.text


def test_mail_failure_is_a_503_and_leaves_no_code(
    client: TestClient, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def send(self, to: str, subject: str, body: str) -> None:
            raise OSError(f"cannot reach the mail server for {to}")

    context(client).mailer = Broken()
    problem(register(client, SigningKey.generate(), clock), 503, "unavailable")
    assert EMAIL not in caplog.text
    with context(client).db.read() as session:
        assert session.scalar(select(func.count()).select_from(PendingCode)) == 0
