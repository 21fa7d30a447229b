"""Claimed references end to end (docs/claims.md, issue 9): a real registry process on SQLite
and PostgreSQL, mail through its outbox, and the sync and the async client. The requester
asks; the referee sees the request and answers with a signature; the requester reads the
answer verified: an endorsement bound to the candidate's key (verified with a
presentation), a signed refusal, a standing refusal, a policy; and a requester blocked, mail
muted, check counts."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sdk_helpers import CONFIRM_SUBJECT, Blocking, LiveServer, code_from_outbox, live_registry

import endorse.client._clock
from endorse.client import (
    AsyncClient,
    Client,
    InboxItem,
    Pending,
    RegistryError,
    RequestStatus,
    present,
)
from endorse.client.demo import mails_to
from endorse.protocol import (
    Presentation,
    Relationship,
    SigningKey,
    Subject,
    Verdict,
    sign,
    token_hash,
)
from endorse.server.app import create_app
from endorse.server.db import Database
from endorse.server.migrate import upgrade
from endorse.server.settings import Settings

ASK_SUBJECT = "Your endorse request code"
FORM = {"content-type": "application/x-www-form-urlencoded"}
ALERT = "A reference in your name was asked about"
CLAIMED = Relationship("work", "manager", org="Acme", start="2020", end="2022")
EMPLOYMENT = "employment-reference"
LIMITS = {
    "ENDORSE_LIMIT_ASK_PER_CLIENT": "100000",
    "ENDORSE_LIMIT_ASK_PER_REQUESTER": "100000",
    "ENDORSE_LIMIT_ASK_PER_REFEREE": "100000",
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A registry per module and database, its request limits out of the way of the flows."""
    with live_registry(request.param, tmp_path_factory.mktemp(request.param), **LIMITS) as s:
        yield s


def address(who: str) -> str:
    return f"{who}-{secrets.token_hex(4)}@example.com"


def referee(client: Any, server: LiveServer, name: str = "Alice Smith") -> tuple[SigningKey, str]:
    """A registered endorser: their key and their verified address."""
    key, email = SigningKey.generate(), address("alice")
    pending = client.register(key, email, name)
    client.confirm(key, pending, code_from_outbox(server, email, CONFIRM_SUBJECT))
    return key, email


def candidate(key: SigningKey | None = None) -> Subject:
    return Subject("Dan Brown", email=address("dan"), key=None if key is None else key.did)


def ask(
    client: Any,
    server: LiveServer,
    to: str,
    who: Subject,
    *,
    key: SigningKey | None = None,
    email: str | None = None,
    **options: Any,
) -> tuple[SigningKey, RequestStatus]:
    """A requester with a key of the moment: asks, then confirms the code mailed to them."""
    key = SigningKey.generate() if key is None else key
    email = address("recruiter") if email is None else email
    pending = client.ask(
        key, to, who, CLAIMED, EMPLOYMENT, requester_email=email, requester_name="Acme", **options
    )
    assert isinstance(pending, Pending)
    status = client.confirm_ask(key, pending, code_from_outbox(server, email, ASK_SUBJECT))
    assert status.request is not None
    assert status.request.requester.email == email
    assert status.request.requester.method == "email-code"
    return key, status


def inbox_item(client: Any, key: SigningKey, request_id: str) -> InboxItem:
    (item,) = [i for i in client.requests(key) if i.id == request_id]
    return item


def test_ask_then_endorse_bound_to_the_candidates_key(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice, alice_email = referee(client, registry)
    dan_key = SigningKey.generate()
    dan = candidate(dan_key)
    asker, status = ask(client, registry, alice_email, dan, audience="acme-hr")
    assert (status.state, status.answer) == ("open", None)
    assert code_from_outbox(registry, alice_email, CONFIRM_SUBJECT)  # her own mail is there
    # The referee is told, and sees the request in her inbox, verified.
    item = inbox_item(client, alice, status.id)
    assert item.state == "open" and not item.blocked
    assert item.request.subject == dan and item.request.relationship == CLAIMED
    assert item.request.requester.email == status.request.requester.email

    issued, answered = client.answer_endorse(alice, status.id, statement="A fine colleague.")
    e = issued.endorsement
    assert e.subject == dan and e.subject.key == dan_key.did
    assert e.relationship == CLAIMED and e.purposes == (EMPLOYMENT,)
    assert e.audience == "acme-hr" and e.issuer_name == "Alice Smith"
    assert answered.state == "answered"

    seen = client.request_status(asker, status.id)
    assert seen.answer is not None and seen.answer.kind == "endorsement"
    assert seen.answer.token == issued.token
    assert seen.answer.result is not None and seen.answer.result.verdict is Verdict.VALID
    assert seen.answer.result.issuer is not None
    assert seen.answer.result.issuer.identity == alice_email
    # Holder binding: the candidate proves the token is theirs over the recruiter's nonce.
    nonce = secrets.token_urlsafe(16)
    proof = present(dan_key, issued.token, nonce, "acme-hr")
    bound = client.verify(
        issued.token,
        subject=dan.email,
        purpose=EMPLOYMENT,
        audience="acme-hr",
        presentation=proof,
        nonce=nonce,
    )
    assert bound.verdict is Verdict.VALID
    # Someone else holding the token cannot make the proof: their key is not the one named.
    thief = SigningKey.generate()
    stranger = sign(
        Presentation(
            key=thief.did,
            token_hash=token_hash(issued.token),
            nonce=nonce,
            issued_at=int(time.time()),
            audience="acme-hr",
        ),
        thief,
    )
    forged = client.verify(
        issued.token,
        subject=dan.email,
        purpose=EMPLOYMENT,
        audience="acme-hr",
        presentation=stranger,
        nonce=nonce,
    )
    assert forged.verdict is not Verdict.VALID


def test_ask_then_refuse(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice, alice_email = referee(client, registry)
    asker, status = ask(client, registry, alice_email, candidate())
    answered = client.answer_refuse(alice, status.id, "no_reference")
    assert answered.state == "answered"
    seen = client.request_status(asker, status.id)
    answer = seen.answer
    assert answer is not None and answer.kind == "refusal" and not answer.standing
    assert answer.result is not None and answer.result.verdict is Verdict.REFUSED
    assert answer.result.message == (
        "Alice Smith states that they do not give a reference for Dan Brown"
        " for employment-reference."
    )
    assert answer.refusal is not None and answer.refusal.reason == "no_reference"
    assert answer.refusal.request == status.id
    # The refusal verifies offline anywhere, as an endorsement does; never as valid.
    again = client.verify_refusal(answer.token)
    assert again.verdict is Verdict.REFUSED and not again.valid
    # A request answered cannot be answered again.
    with pytest.raises(RegistryError):
        client.answer_refuse(alice, status.id)
    # Another key cannot read the request: the same answer as for no request at all.
    with pytest.raises(RegistryError) as other:
        client.request_status(SigningKey.generate(), status.id)
    with pytest.raises(RegistryError) as unknown:
        client.request_status(asker, "A" * 21 + "A")
    assert (other.value.status, other.value.slug) == (unknown.value.status, unknown.value.slug)


def test_a_standing_refusal_answers_at_once(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice, alice_email = referee(client, registry)
    dan = candidate()
    assert dan.email is not None
    made = client.refuse_standing(alice, dan.email, reason="prefer_not_to_say")
    assert made.refusal.subject.email == dan.email and made.refusal.request is None
    assert [s.id for s in client.standing_refusals(alice)] == [made.id]

    _, status = ask(client, registry, alice_email, dan)
    assert status.state == "answered"
    answer = status.answer
    assert answer is not None and answer.kind == "refusal" and answer.standing
    assert answer.result is not None and answer.result.verdict is Verdict.REFUSED
    # Another candidate is put to her as usual.
    _, other = ask(client, registry, alice_email, candidate())
    assert (other.state, other.answer) == ("open", None)

    client.withdraw_standing_refusal(alice, made.id)
    assert client.standing_refusals(alice) == []
    _, later = ask(client, registry, alice_email, dan)
    assert later.state == "open"


def test_a_policy_answers_at_once(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice, alice_email = referee(client, registry)
    assert client.policy(alice) is None
    policy = client.set_policy(alice, notify=True)
    assert policy.issuer == alice.did and policy.notify and policy.issuer_name == "Alice Smith"
    assert client.policy(alice) == policy

    _, status = ask(client, registry, alice_email, candidate())
    assert status.state == "answered"
    answer = status.answer
    assert answer is not None and answer.kind == "policy" and answer.result is None
    assert answer.policy == policy
    # She is still told (notify), and the request is in her inbox.
    assert inbox_item(client, alice, status.id).answer is not None

    client.clear_policy(alice)
    assert client.policy(alice) is None
    _, later = ask(client, registry, alice_email, candidate())
    assert later.state == "open"


def alerts(server: LiveServer, to: str) -> list[str]:
    """The bodies of the request alerts the outbox holds for ``to``."""
    return [body for subject, body in mails_to(server.data_dir / "outbox", to) if subject == ALERT]


def test_a_blocked_requester_and_muted_mail(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice, alice_email = referee(client, registry)
    asker, status = ask(client, registry, alice_email, candidate())
    assert status.request is not None
    email = status.request.requester.email
    assert len(alerts(registry, alice_email)) == 1
    client.block_requester(alice, status.id)
    assert inbox_item(client, alice, status.id).blocked
    # The blocked requester's next request is taken (nothing tells them) but not mailed.
    _, again = ask(client, registry, alice_email, candidate(), key=asker, email=email)
    assert again.state == "open"
    assert inbox_item(client, alice, again.id).blocked
    assert len(alerts(registry, alice_email)) == 1
    client.unblock_requester(alice, status.id)
    assert not inbox_item(client, alice, status.id).blocked

    assert client.mute(alice, True) is True
    ask(client, registry, alice_email, candidate())
    assert len(alerts(registry, alice_email)) == 1
    assert client.mute(alice, False) is False
    ask(client, registry, alice_email, candidate())
    assert len(alerts(registry, alice_email)) == 2


def test_an_address_that_stopped_mail_is_unreachable(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    _, alice_email = referee(client, registry)
    ask(client, registry, alice_email, candidate())
    (body,) = alerts(registry, alice_email)
    match = re.search(r"^\s+(http\S+/mail/stop\?t=\S+)$", body, re.MULTILINE)
    assert match is not None, body
    # The one-click stop (RFC 8058) a mail program sends.
    stopped = httpx.post(match.group(1), content=b"List-Unsubscribe=One-Click", headers=FORM)
    assert stopped.status_code == 200, stopped.text
    _, status = ask(client, registry, alice_email, candidate())
    assert (status.state, status.answer) == ("unreachable", None)
    assert len(alerts(registry, alice_email)) == 1


def test_check_counts_are_the_endorsers_own(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice, _ = referee(client, registry)
    dan = candidate()
    issued = client.issue(alice, "Alice Smith", dan, CLAIMED, [EMPLOYMENT])
    assert client.verify_online(issued.token).verdict is Verdict.VALID
    assert client.verify_online(issued.token).verdict is Verdict.VALID
    counts = {c.id: c for c in client.checks(alice)}
    assert counts[issued.id].total == 2
    # Offline-first verification asks the registry for facts only: it is not counted.
    client.verify(issued.token)
    assert {c.id: c.total for c in client.checks(alice)}[issued.id] == 2
    # Nobody else sees them.
    bob, _ = referee(client, registry, "Bob")
    assert issued.id not in {c.id for c in client.checks(bob)}


def test_a_referee_answers_only_requests_naming_them(
    registry: LiveServer, connect: Any, tmp_path: Path
) -> None:
    client = connect(registry.url)
    _, alice_email = referee(client, registry)
    eve, _ = referee(client, registry, "Eve")
    _, status = ask(client, registry, alice_email, candidate())
    assert status.id not in {i.id for i in client.requests(eve)}
    with pytest.raises(Exception, match="inbox"):
        client.answer_refuse(eve, status.id)


# --- the deadline, on an in-process registry whose clock the test moves ------------------------


class Now:
    """One clock for the registry and the client: moved, never waited for."""

    def __init__(self) -> None:
        self.now = int(time.time())

    def __call__(self) -> int:
        return self.now


class ViaTestClient(httpx.BaseTransport):
    """The sync client's transport into the app: each request sent through a TestClient."""

    def __init__(self, test_client: TestClient) -> None:
        self.test_client = test_client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        r = self.test_client.request(
            request.method, str(request.url), headers=request.headers, content=request.read()
        )
        return httpx.Response(r.status_code, headers=r.headers, content=r.content)


def outbox_code(outbox: Path, to: str) -> str:
    (*_, (_, body)) = mails_to(outbox, to)
    match = re.search(r"^\s+([0-9]{8})$", body, re.MULTILINE)
    assert match is not None, body
    return match.group(1)


@pytest.fixture
def in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> Iterator[tuple[Any, Now, Path]]:
    """A registry app on SQLite behind the client's own transport (sync: the test client's;
    async: httpx's ASGI transport), the client's and the app's clocks one ``Now``."""
    url = "http://127.0.0.1:8080"
    database = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    db = Database.connect(database)
    upgrade(db.engine)
    db.dispose()
    settings = Settings(
        registry_url=url,
        database_url=database,
        data_dir=tmp_path / "data",
        outbox_dir=tmp_path / "outbox",
    )
    now = Now()
    monkeypatch.setattr(endorse.client._clock, "now", now)
    app = create_app(settings, clock=now)
    pins = tmp_path / "pins.json"
    with TestClient(app, base_url=url) as test_client:
        if flavour == "sync":
            client: Any = Client(url, pin_store=pins, transport=ViaTestClient(test_client))
        else:
            runner = asyncio.Runner()
            transport = httpx.ASGITransport(app=app)
            client = Blocking(AsyncClient(url, pin_store=pins, transport=transport), runner)
        try:
            yield client, now, tmp_path / "outbox"
        finally:
            client.close()
            if flavour == "async":
                runner.close()


def test_no_answer_by_the_deadline_is_expired_not_a_refusal(
    in_process: tuple[Any, Now, Path],
) -> None:
    client, now, outbox = in_process
    alice, alice_email = SigningKey.generate(), "alice@example.com"
    pending = client.register(alice, alice_email, "Alice Smith")
    client.confirm(alice, pending, outbox_code(outbox, alice_email))
    asker = SigningKey.generate()
    asked = client.ask(
        asker,
        alice_email,
        candidate(),
        CLAIMED,
        EMPLOYMENT,
        expires=now.now + 3 * 86_400,
        requester_email="recruiter@example.com",
    )
    status = client.confirm_ask(asker, asked, outbox_code(outbox, "recruiter@example.com"))
    assert status.state == "open"

    now.now += 3 * 86_400 - 1
    assert client.request_status(asker, status.id).state == "open"
    now.now += 2
    ended = client.request_status(asker, status.id)
    assert (ended.state, ended.answer) == ("expired", None)
    assert inbox_item(client, alice, status.id).state == "expired"
    # Too late to answer: the requester keeps "no answer", never a refusal.
    with pytest.raises(RegistryError):
        client.answer_refuse(alice, status.id, "no_reference")
    assert client.request_status(asker, status.id).answer is None
