"""The whole lifecycle, end to end, against a real registry process on loopback.

``python -m endorse.server serve`` runs as an operator would start it (:mod:`live`), on SQLite
and on PostgreSQL, with the SMTP mailer delivering to a real SMTP server (aiosmtpd) in this
process. The test is a client like any other: it speaks HTTP only (httpx), pins the registry's
key from ``/.well-known/endorse-registry``, reads its codes out of the delivered mail, signs
with the protocol package, and checks every registry statement with that pinned key::

    register -> code by mail -> confirm -> allocate -> issue -> register token -> verify valid
    -> offline verify valid -> revoke -> status bit + verify revoked -> kill -9 -> still revoked
    -> rotate -> old tokens valid -> revoke old key -> tokens registered before stay valid
    -> lost key: recover by mail -> registry-signed key revocation -> a new key for the person
"""

from __future__ import annotations

import hashlib
import json
import queue
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from live import LiveServer, free_port

from endorse.protocol import (
    BadSignature,
    KeyRevocation,
    KeyRotation,
    PublicKey,
    Relationship,
    Revocation,
    SigningKey,
    StatusRef,
    Subject,
    TrustedIssuer,
    Verdict,
    index_status_lists,
    issue,
    sign,
    token_hash,
    verify_endorsement,
    verify_key_binding,
    verify_key_revocation,
    verify_receipt,
    verify_registration,
    verify_status_list,
    verify_token,
)
from endorse.protocol.encoding import b64url_encode
from endorse.protocol.objects import Endorsement
from endorse.protocol.requests import sign_request

EMAIL = "alice.smith@example.com"
NAME = "Alice Smith"
BOB = Subject("Bob Jones", email="bob@example.com")
MANAGER = Relationship("work", "manager", org="Acme", start="2019-03", end="2023-06")
EMPLOYMENT = "employment-reference"
PROBLEM = "application/problem+json"
MAIL_WAIT = 15.0
ROTATION_CONSENT_CONTEXT = b"endorse/v1/rotation-consent\0"
"""As documented for ``successor_proof`` (OpenAPI of ``POST /identities/{key}/rotate``)."""


# --- a real SMTP server on loopback --------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that hands every delivered message to the test, in order."""

    def __init__(self) -> None:
        self.delivered: queue.Queue[tuple[list[str], EmailMessage]] = queue.Queue()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        local = envelope.content.replace(b"\r\n", b"\n")
        message = BytesParser(policy=policy.default).parsebytes(local)
        assert isinstance(message, EmailMessage)
        self.delivered.put((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def next(self, to: str, subject: str) -> str:
        """The next delivered message, which must be for ``to`` about ``subject``: its text."""
        try:
            recipients, message = self.delivered.get(timeout=MAIL_WAIT)
        except queue.Empty:
            pytest.fail(f"no mail was delivered within {MAIL_WAIT} s")
        assert recipients == [to]
        assert message["To"] == to
        assert message["Subject"] == subject
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        text: str = body.get_content()
        return text

    def empty(self) -> bool:
        return self.delivered.empty()


def code_in(text: str) -> str:
    match = re.search(r"^\s+([0-9]{8})$", text, re.MULTILINE)
    assert match is not None, f"no 8-digit code in the message:\n{text}"
    return match.group(1)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


# --- an HTTP client of the registry -------------------------------------------------------


def now() -> int:
    return int(time.time())


@dataclass
class Registry:
    """What a client knows of one registry: its URL (= id) and the key it pinned."""

    url: str
    key: PublicKey
    http: httpx.Client

    def signed(
        self, signer: SigningKey, method: str, path: str, body: Any = None
    ) -> httpx.Response:
        """A request signed by ``signer`` (spec §10), body as JSON."""
        content = b"" if body is None else json.dumps(body).encode()
        headers = sign_request(signer, self.url, method, path, content, now=now())
        if body is not None:
            headers["content-type"] = "application/json"
        return self.http.request(method, path, content=content, headers=headers)

    def ok(self, response: httpx.Response, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        body: dict[str, Any] = response.json()
        return body

    def problem(self, response: httpx.Response, status: int, slug: str) -> None:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"] == f"urn:endorse:problem:{slug}"

    # endorser side

    def slot(self, signer: SigningKey) -> StatusRef:
        slot = self.ok(self.signed(signer, "POST", "/api/v1/slots"), 201)
        assert slot["registry"] == self.url
        return StatusRef(slot["registry"], slot["list_id"], slot["index"])

    def issue_and_register(self, signer: SigningKey, **kwargs: Any) -> tuple[str, int]:
        """Allocate, sign locally, register; the token and its verified registration time."""
        status = self.slot(signer)
        token = issue(signer, NAME, BOB, MANAGER, [EMPLOYMENT], now=now(), status=status, **kwargs)
        answer = self.ok(self.http.post("/api/v1/endorsements", json={"token": token}), 201)
        registration = verify_registration(answer["registration"], self.key, self.url)
        assert registration.token_hash == token_hash(token) == answer["token_hash"]
        assert registration.issuer == signer.did
        assert registration.registered_at == answer["registered_at"]
        return token, registration.registered_at

    def revoke(self, signer: SigningKey, token: str) -> dict[str, Any]:
        e = endorsement(token)
        revocation = sign(
            Revocation(endorsement_id=e.id, issuer=e.issuer, by=signer.did, issued_at=now()),
            signer,
        )
        path = f"/api/v1/endorsements/{e.id}/revoke"
        answer = self.ok(self.http.post(path, json={"revocation": revocation}))
        assert answer["id"] == e.id
        assert answer["revocation"] == revocation
        return answer

    # verifier side

    def verify(self, token: str, **expect: str) -> dict[str, Any]:
        """``POST /api/v1/verify``; the answer, whose receipt must verify and agree."""
        answer = self.ok(self.http.post("/api/v1/verify", json={"token": token, **expect}))
        receipt = verify_receipt(answer["receipt"], self.key, self.url)
        assert receipt.token_hash == token_hash(token)
        assert receipt.verdict == answer["verdict"]
        assert receipt.checked_at == answer["checked_at"]
        return answer

    def key_state(self, did: str) -> dict[str, Any]:
        return self.ok(self.http.get(f"/api/v1/identities/{did}"))

    def trusted_issuer(self, did: str) -> TrustedIssuer:
        """The issuer as fetched and verified offline: its binding and key revocation."""
        state = self.key_state(did)
        binding = verify_key_binding(state["binding"], self.key, self.url)
        assert binding.key == did
        revocation = None
        if "key_revocation" in state:
            revocation = verify_key_revocation(state["key_revocation"], self.key)
            assert revocation.revoked_from == state["revoked_from"]
        return TrustedIssuer.from_binding(binding, revocation)

    def status_list(self, list_id: str, etag: str | None = None) -> httpx.Response:
        headers = {} if etag is None else {"if-none-match": etag}
        return self.http.get(f"/api/v1/status-lists/{list_id}", headers=headers)

    def offline(self, token: str, *, registration: bool = False) -> Verdict:
        """Verify ``token`` with the protocol alone, from facts fetched and verified here."""
        e = endorsement(token)
        assert e.status is not None
        r = self.status_list(e.status.list_id)
        lists = index_status_lists([verify_status_list(self.ok(r)["token"], self.key, self.url)])
        registered = None
        if registration:
            found = self.ok(self.http.get(f"/api/v1/registrations/{token_hash(token)}"))
            registered = verify_registration(found["registration"], self.key, self.url)
        result = verify_endorsement(
            token,
            now=now(),
            issuers={e.issuer: self.trusted_issuer(e.issuer)},
            status_lists=lists,
            subject=BOB.name,
            purpose=EMPLOYMENT,
            registration=registered,
        )
        return result.verdict


def endorsement(token: str) -> Endorsement:
    return verify_token(token, Endorsement).object


def rotation_consent(successor: SigningKey, rotation: str) -> str:
    message = ROTATION_CONSENT_CONTEXT + hashlib.sha256(rotation.encode()).digest()
    return b64url_encode(successor.sign(message))


def wait_for_next_second(after: int) -> None:
    """Sleep until the clock reads a later second than ``after`` (at most about a second)."""
    while now() <= after:
        time.sleep(0.05)


@pytest.fixture
def server(database_url: str, tmp_path: Path, mailbox: tuple[Mailbox, int]) -> Iterator[LiveServer]:
    _, port = mailbox
    env = {
        "ENDORSE_MAILER": "smtp",
        "ENDORSE_SMTP_HOST": "127.0.0.1",
        "ENDORSE_SMTP_PORT": str(port),
        "ENDORSE_SMTP_STARTTLS": "false",
        "ENDORSE_MAIL_FROM": "endorse registry <registry@registry.example>",
    }
    live = LiveServer(database_url, tmp_path / "server", env=env)
    try:
        yield live.start()
    finally:
        live.stop()


Connect = Callable[[PublicKey | None], Registry]


@pytest.fixture
def connect(server: LiveServer) -> Iterator[Connect]:
    """Open a client; the registry key is pinned on first contact and must stay the same."""
    opened: list[httpx.Client] = []

    def open_client(pinned: PublicKey | None = None) -> Registry:
        http = httpx.Client(base_url=server.url, timeout=15)
        opened.append(http)
        info = http.get("/.well-known/endorse-registry").json()
        assert info["registry"] == server.url
        assert info["protocol_version"] == 1
        key = PublicKey.from_did(info["key"])
        if pinned is not None:
            assert key == pinned, "the registry's key changed across a restart"
        return Registry(server.url, key, http)

    yield open_client
    for http in opened:
        http.close()


# --- the lifecycle -------------------------------------------------------------------------


def test_the_whole_lifecycle(
    server: LiveServer, mailbox: tuple[Mailbox, int], connect: Connect
) -> None:
    mail, _ = mailbox
    reg = connect(None)
    alice = SigningKey.generate()

    # Register: a signed request proves possession of the key; the code comes by mail.
    pending = reg.ok(
        reg.signed(alice, "POST", "/api/v1/identities/register", {"email": EMAIL, "name": NAME}),
        202,
    )
    text = mail.next(EMAIL, "Your endorse confirmation code")
    assert alice.did in text
    confirm = {"pending": pending["pending"], "code": code_in(text)}
    state = reg.ok(reg.signed(alice, "POST", "/api/v1/identities/confirm", confirm))
    binding = verify_key_binding(state["binding"], reg.key, reg.url)
    assert (binding.key, binding.email, binding.name) == (alice.did, EMAIL, NAME)
    assert binding.method == "email-code"
    assert abs(binding.since - now()) <= 5
    assert reg.key_state(alice.did)["binding"] == state["binding"]
    # A code works once.
    again = reg.signed(alice, "POST", "/api/v1/identities/confirm", confirm)
    reg.problem(again, 400, "invalid-code")

    # Allocate, issue locally, register: the registration is registry-signed.
    token, _ = reg.issue_and_register(alice)
    repeat = reg.http.post("/api/v1/endorsements", json={"token": token})
    assert reg.ok(repeat)["token_hash"] == token_hash(token)  # idempotent: 200, same record

    # Verify at the registry: valid, with the verified identity and a signed receipt.
    answer = reg.verify(token, subject=BOB.name, purpose=EMPLOYMENT)
    assert answer["verdict"] == "valid", answer
    assert answer["issuer"] == {
        "key": alice.did,
        "email": EMAIL,
        "name": NAME,
        "since": binding.since,
    }
    e = endorsement(token)
    assert answer["claims"]["id"] == e.id
    assert e.status is not None
    assert answer["status"]["list_id"] == e.status.list_id
    assert answer["status"]["index"] == e.status.index
    # Out of scope, it fails with a verdict saying why.
    assert reg.verify(token, purpose="tenancy-reference")["verdict"] == "purpose_not_allowed"
    assert reg.verify(token, subject="Mallory")["verdict"] == "subject_mismatch"

    # Verify offline: the protocol alone, from the binding and the status list fetched.
    assert reg.offline(token) is Verdict.VALID
    before = reg.status_list(e.status.list_id)
    assert before.headers["cache-control"].startswith("public, max-age=")
    listed = verify_status_list(reg.ok(before)["token"], reg.key, reg.url)
    assert not listed.is_revoked(e.status.index)
    etag = before.headers["etag"]
    for _ in range(2):  # the list is re-signed every tenth of its max-age: then a new tag
        unchanged = reg.status_list(e.status.list_id, etag)
        if unchanged.status_code == 304:
            break
        etag = unchanged.headers["etag"]
    assert unchanged.status_code == 304

    # Revoke: effective at the registry at once.
    reg.revoke(alice, token)
    after = reg.status_list(e.status.list_id, etag)
    assert after.status_code == 200, "a revocation must never be answered with 304"
    assert after.headers["etag"] != etag
    bits = verify_status_list(reg.ok(after)["token"], reg.key, reg.url)
    assert bits.list_id == e.status.list_id
    assert bits.is_revoked(e.status.index)
    revoked = reg.verify(token, subject=BOB.name, purpose=EMPLOYMENT)
    assert revoked["verdict"] == "revoked", revoked
    assert reg.offline(token) is Verdict.REVOKED

    # Durability: kill -9 right after a revocation is acknowledged, then start again.
    kept, kept_registered_at = reg.issue_and_register(alice)  # stays valid throughout
    doomed, _ = reg.issue_and_register(alice)
    reg.revoke(alice, doomed)
    assert server.kill() == -9
    server.start()
    reg = connect(reg.key)
    for t in (token, doomed):
        assert reg.verify(t)["verdict"] == "revoked"
        assert reg.offline(t) is Verdict.REVOKED
        d = endorsement(t)
        assert d.status is not None
        listed = verify_status_list(
            reg.ok(reg.status_list(d.status.list_id))["token"], reg.key, reg.url
        )
        assert listed.is_revoked(d.status.index)
    assert reg.verify(kept, subject=BOB.name)["verdict"] == "valid"
    mine = reg.ok(reg.signed(alice, "GET", "/api/v1/endorsements"))
    revoked_ids = {i["id"] for i in mine["items"] if i["revoked_at"] is not None}
    assert revoked_ids == {endorsement(token).id, endorsement(doomed).id}
    assert len(mine["items"]) == 3

    # Rotate: the old key names its successor, both sign; the successor is bound.
    alice2 = SigningKey.generate()
    rotation = sign(KeyRotation(key=alice.did, successor=alice2.did, issued_at=now()), alice)
    body = {"rotation": rotation, "successor_proof": rotation_consent(alice2, rotation)}
    state = reg.ok(reg.signed(alice, "POST", f"/api/v1/identities/{alice.did}/rotate", body))
    assert state["key"] == alice2.did
    successor = verify_key_binding(state["binding"], reg.key, reg.url)
    assert (successor.key, successor.email, successor.name) == (alice2.did, EMAIL, NAME)
    old = reg.key_state(alice.did)
    assert (old["successor"], old["rotation"]) == (alice2.did, rotation)
    # Rotation is not revocation: what the old key issued stays valid, here and offline.
    assert reg.verify(kept, subject=BOB.name, purpose=EMPLOYMENT)["verdict"] == "valid"
    assert reg.offline(kept) is Verdict.VALID
    # The old key issues nothing more; the successor does.
    reg.problem(reg.signed(alice, "POST", "/api/v1/slots"), 403, "issuer-key-retired")
    fresh, fresh_registered_at = reg.issue_and_register(alice2)
    assert reg.verify(fresh, subject=BOB.name)["verdict"] == "valid"
    assert reg.verify(fresh)["issuer"]["key"] == alice2.did

    # Revoke the old key (signed by itself): tokens registered before stay valid.
    revoked_from = max(now(), kept_registered_at + 1)
    key_revocation = sign(
        KeyRevocation(key=alice.did, revoked_from=revoked_from, by=alice.did, issued_at=now()),
        alice,
    )
    path = f"/api/v1/identities/{alice.did}/revoke"
    state = reg.ok(reg.signed(alice, "POST", path, {"revocation": key_revocation}))
    assert (state["revoked_from"], state["key_revocation"]) == (revoked_from, key_revocation)
    assert verify_key_revocation(state["key_revocation"]).by == alice.did
    answer = reg.verify(kept, subject=BOB.name, purpose=EMPLOYMENT)
    assert answer["verdict"] == "valid", answer
    assert {"name": "issuer_key", "passed": True} in [
        {"name": c["name"], "passed": c["passed"]} for c in answer["checks"]
    ]
    assert reg.offline(kept, registration=True) is Verdict.VALID
    # Offline, without the registration the registry holds, a revoked key vouches for nothing.
    assert reg.offline(kept) is Verdict.ISSUER_KEY_REVOKED
    # Whoever holds the old key now cannot mint trusted tokens, even backdated ones.
    e_kept = endorsement(kept)
    assert e_kept.status is not None
    backdated = issue(
        alice, NAME, BOB, MANAGER, [EMPLOYMENT], now=kept_registered_at - 60, status=e_kept.status
    )
    assert reg.verify(backdated)["verdict"] == "issuer_key_revoked"
    stolen = reg.http.post("/api/v1/endorsements", json={"token": backdated})
    reg.problem(stolen, 403, "issuer-key-retired")

    # The successor key is lost: re-verify the e-mail, and the registry revokes it.
    assert mail.empty()
    pending = reg.ok(reg.http.post(f"/api/v1/identities/{alice2.did}/recover"), 202)
    text = mail.next(EMAIL, "Your endorse key revocation code")
    assert alice2.did in text
    wait_for_next_second(fresh_registered_at)
    recover = {"pending": pending["pending"], "code": code_in(text)}
    state = reg.ok(reg.http.post(f"/api/v1/identities/{alice2.did}/recover/confirm", json=recover))
    recovered = verify_key_revocation(state["key_revocation"], reg.key)
    assert (recovered.key, recovered.by) == (alice2.did, reg.key.did)
    assert recovered.revoked_from == state["revoked_from"] > fresh_registered_at
    with pytest.raises(BadSignature):  # only the registry's key makes it valid
        verify_key_revocation(state["key_revocation"])
    assert reg.key_state(alice2.did)["key_revocation"] == state["key_revocation"]
    reg.problem(reg.signed(alice2, "POST", "/api/v1/slots"), 403, "issuer-key-retired")
    # The successor's token, registered before the loss, stays valid.
    assert reg.verify(fresh, subject=BOB.name)["verdict"] == "valid"
    assert reg.offline(fresh, registration=True) is Verdict.VALID

    # The person binds a new key to the same address and carries on.
    alice3 = SigningKey.generate()
    pending = reg.ok(
        reg.signed(alice3, "POST", "/api/v1/identities/register", {"email": EMAIL, "name": NAME}),
        202,
    )
    code = code_in(mail.next(EMAIL, "Your endorse confirmation code"))
    confirm = {"pending": pending["pending"], "code": code}
    reg.ok(reg.signed(alice3, "POST", "/api/v1/identities/confirm", confirm))
    newest, _ = reg.issue_and_register(alice3)
    assert reg.verify(newest, subject=BOB.name, purpose=EMPLOYMENT)["verdict"] == "valid"
    assert reg.offline(newest) is Verdict.VALID
    assert "Traceback" not in server.log_text()


# --- the same refusals over the wire -------------------------------------------------------


def test_adversarial_requests_over_the_wire(server: LiveServer, connect: Connect) -> None:
    """A few of tests/server/test_adversarial.py's cases, through uvicorn and a real socket."""
    reg = connect(None)
    http = reg.http
    json_type = {"content-type": "application/json"}

    def post(content: bytes | Iterator[bytes], **headers: str) -> httpx.Response:
        return http.post("/api/v1/verify", content=content, headers=json_type | headers)

    reg.problem(post(b"{nope"), 400, "malformed-json")
    reg.problem(post(b"[" * 100 + b"]" * 100), 400, "malformed-json")
    reg.problem(
        post(b'{"token": "x"}', **{"content-type": "text/plain"}), 415, "unsupported-media-type"
    )
    reg.problem(post(b'{"token": "' + b"x" * 200_000 + b'"}'), 413, "payload-too-large")
    reg.problem(post(b" " * 1024 for _ in range(200)), 413, "payload-too-large")
    reg.problem(post(b'{"token": "x", "admin": true}'), 422, "invalid-request")
    assert reg.verify("not a token")["verdict"] == "malformed"

    # Signed requests: forged, stale, replayed.
    alice, mallory = SigningKey.generate(), SigningKey.generate()
    path = "/api/v1/identities/register"
    body = json.dumps({"email": "dana@example.com", "name": "Dana Doe"}).encode()

    def register(headers: dict[str, str]) -> httpx.Response:
        return http.post(path, content=body, headers=headers | json_type)

    forged = sign_request(mallory, reg.url, "POST", path, body, now=now())
    reg.problem(register(forged | {"Endorse-Key": alice.did}), 401, "unauthorized")
    stale = sign_request(alice, reg.url, "POST", path, body, now=now() - 301)
    reg.problem(register(stale), 401, "unauthorized")
    fresh = sign_request(alice, reg.url, "POST", path, body, now=now())
    assert register(fresh).status_code == 202
    reg.problem(register(fresh), 401, "unauthorized")
    assert http.get("/readyz").status_code == 200
    assert "Traceback" not in server.log_text()
