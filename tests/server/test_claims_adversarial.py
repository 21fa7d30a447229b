"""Claimed references under attack, on SQLite and PostgreSQL (issue 9 §7).

Forged and misdirected answers and statements, replays, a requester reading another's
request, enumeration (is X registered? did X endorse Y? does X refuse Y?) answered uniformly,
phishing through typed values, limits, and logs that carry no address, code or token.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from _clock import Clock
from claimants import DAY, Outbox, Referee, Requester, code_of, signed, text_of
from endorsers import context
from fastapi.testclient import TestClient
from sqlalchemy import select

from endorse.protocol import SigningKey, Subject, sign_refusal
from endorse.protocol.requests import sign_request
from endorse.server.claims import mac
from endorse.server.models import MailStop, ReferenceRequestRow
from endorse.server.settings import Settings

REFEREE = "endorser7@example.com"
PROBLEM = "application/problem+json"


@pytest.fixture
def outbox(settings: Settings) -> Outbox:
    return Outbox(settings.outbox_path)


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:endorse:problem:{slug}", body
    return body


def tamper(token: str) -> str:
    """The token with one byte of its signature changed."""
    head, payload, sig = token.split(".")
    flipped = "A" if sig[10] != "A" else "B"
    return f"{head}.{payload}.{sig[:10]}{flipped}{sig[11:]}"


def shape(record: dict[str, Any]) -> dict[str, Any]:
    """What a record says beyond its own id and token."""
    return {k: v for k, v in record.items() if k not in ("id", "request")}


def test_a_refusal_signed_by_another_key_is_refused(client: TestClient, outbox: Outbox) -> None:
    alice = Referee(client, 7).bind()
    mallory = Referee(client, 9).bind()
    record = Requester.bound(client, 30).ask_made(REFEREE)
    # Mallory's refusal naming Alice's request, sent by Alice's key: not Alice's signature.
    forged = mallory.refusal(record["id"])
    problem(alice.answer(record["id"], refusal=forged), 422, "answer-refused")
    # Mallory (bound to another address) cannot answer Alice's request at all.
    not_hers = mallory.answer(record["id"], refusal=forged)
    unknown = mallory.answer("A" * 21 + "A", refusal=forged)
    assert problem(not_hers, 404, "not-found") == problem(unknown, 404, "not-found")
    # A refusal whose signature was tampered with.
    problem(
        alice.answer(record["id"], refusal=tamper(alice.refusal(record["id"]))),
        422,
        "statement-refused",
    )
    # An endorsement by another key, registered here.
    theirs, _ = mallory.issue()
    problem(alice.answer(record["id"], endorsement=theirs), 422, "answer-refused")
    # Both, or neither, is malformed.
    problem(alice.answer(record["id"]), 400, "malformed")
    # An unbound key is not a referee.
    stranger = SigningKey.from_seed(bytes([99]) * 32)
    r = signed(
        client, stranger, "POST", f"/api/v1/requests/{record['id']}/answer", {"refusal": forged}
    )
    problem(r, 403, "issuer-not-bound")
    # Still open: none of that answered it.
    assert alice.inbox()[0]["state"] == "open"


def test_a_refusal_for_another_request_is_not_an_answer(client: TestClient, outbox: Outbox) -> None:
    alice = Referee(client, 7).bind()
    carol = Requester.bound(client, 30)
    first = carol.ask_made(REFEREE)
    second = carol.ask_made(REFEREE, purpose="character-reference")
    refusal = alice.refusal(first["id"])
    assert alice.answer(first["id"], refusal=refusal).status_code == 200
    body = problem(alice.answer(second["id"], refusal=refusal), 422, "answer-refused")
    assert "req" in body["detail"]
    standing = alice.refusal(None)
    problem(alice.answer(second["id"], refusal=standing), 422, "answer-refused")
    wrong_purpose = alice.refusal(second["id"], purpose="tenancy-reference")
    problem(alice.answer(second["id"], refusal=wrong_purpose), 422, "answer-refused")


def test_a_replayed_signed_call_is_refused(client: TestClient) -> None:
    carol = Requester.bound(client, 30)
    path = "/api/v1/requests"
    content = (
        b'{"referee": "x@example.com", "sub": {"name": "B", "email": "b@example.com"},'
        b' "rel": {"context": "work", "role": "manager"}, "purpose": "employment-reference",'
        b' "exp": ' + str(context(client).clock() + DAY).encode() + b"}"
    )
    headers = sign_request(
        carol.key, "http://127.0.0.1:8080", "POST", path, content, now=context(client).clock()
    )
    headers["content-type"] = "application/json"
    assert client.post(path, content=content, headers=headers).status_code == 201
    problem(client.post(path, content=content, headers=headers), 401, "unauthorized")


def test_only_the_requester_reads_a_request(client: TestClient) -> None:
    carol = Requester.bound(client, 30)
    record = carol.ask_made(REFEREE)
    assert carol.get(record["id"]).status_code == 200
    other = Requester.bound(client, 31)
    theirs = other.get(record["id"])
    nothing = other.get("B" * 21 + "A")
    assert problem(theirs, 404, "not-found") == problem(nothing, 404, "not-found")
    # Not even the referee reads it through the requester's door.
    alice = Referee(client, 7).bind()
    problem(alice.signed("GET", f"/api/v1/requests/{record['id']}"), 404, "not-found")


def test_enumeration_is_answered_uniformly(client: TestClient, outbox: Outbox) -> None:
    """Is X registered? Did X endorse Y? Has X muted, blocked, or refused someone else? The
    requester's answer is the same in every case."""
    registered = Referee(client, 7).bind()
    registered.issue()  # Alice endorsed Bob
    muted = Referee(client, 8).bind()
    muted.signed("PUT", "/api/v1/inbox/settings", {"muted": True})
    refuses_other = Referee(client, 10).bind()
    # A standing refusal for another subject (bob@example.com is the one asked about).
    other = sign_refusal(
        refuses_other.key,
        refuses_other.name,
        Subject("Eve", email="eve@example.com"),
        now=context(client).clock(),
    )
    refuses_other.signed("POST", "/api/v1/standing-refusals", {"refusal": other})
    blocker = Referee(client, 11).bind()
    carol = Requester.bound(client, 30)
    first = carol.ask_made(blocker.email)
    blocker.signed("POST", f"/api/v1/requests/{first['id']}/block")

    answers = []
    for referee in (
        "nobody@example.org",
        registered.email,
        muted.email,
        refuses_other.email,
        blocker.email,
    ):
        r = carol.ask(referee, purpose="character-reference")
        assert r.status_code == 201, r.text
        assert r.headers["content-type"] == "application/json"
        answers.append(shape(r.json()))
        later = carol.get(r.json()["id"])
        answers.append(shape(later.json()))
    assert all(a == {"state": "open"} for a in answers), answers


def test_statements_signed_by_another_key_are_refused(client: TestClient) -> None:
    alice = Referee(client, 7).bind()
    mallory = Referee(client, 9).bind()
    problem(alice.put_policy(mallory.policy()), 422, "statement-refused")
    problem(alice.put_policy(tamper(alice.policy())), 422, "statement-refused")
    problem(alice.put_policy("policy-v1.e30.AAAA"), 400, "malformed")
    theirs = mallory.refusal(None)
    r = alice.signed("POST", "/api/v1/standing-refusals", {"refusal": theirs})
    problem(r, 422, "statement-refused")
    answering = alice.refusal("C" * 21 + "A")
    r = alice.signed("POST", "/api/v1/standing-refusals", {"refusal": answering})
    problem(r, 422, "statement-refused")
    # A policy stored by nobody answers nothing: the request stays open.
    record = Requester.bound(client, 30).ask_made(REFEREE)
    assert record["state"] == "open"


def test_standing_refusals_are_listed_to_their_author_only(client: TestClient) -> None:
    alice = Referee(client, 7).bind()
    mallory = Referee(client, 9).bind()
    r = alice.signed("POST", "/api/v1/standing-refusals", {"refusal": alice.refusal(None)})
    refusal_id = r.json()["id"]
    assert mallory.signed("GET", "/api/v1/standing-refusals").json() == {"refusals": []}
    problem(mallory.signed("DELETE", f"/api/v1/standing-refusals/{refusal_id}"), 404, "not-found")
    assert len(alice.signed("GET", "/api/v1/standing-refusals").json()["refusals"]) == 1
    # A requester naming another subject, or none by address, learns nothing of it.
    carol = Requester.bound(client, 30)
    handle = carol.ask_made(REFEREE, sub={"name": "Bob Jones", "handle": "bobj"})
    assert shape(handle) == {"state": "open"}


def test_typed_values_cannot_phish_through_the_registrys_mail(
    client: TestClient, outbox: Outbox
) -> None:
    carol = Requester.bound(client, 30)
    lure = "Call +1 (555) 123-4567 or visit https://evil.example/login now"
    carol.ask_made(
        "stranger@example.org",
        sub={"name": lure[:128], "email": "bob@example.com"},
        rel={"context": "work", "role": "see www.evil.example", "org": "mail boss@evil.example"},
        requester={"email": carol.email, "name": "IT Support https://evil.example"},
    )
    (mail,) = outbox.to("stranger@example.org")
    body = text_of(mail)
    for bad in ("https://", "evil.example", "555", "4567", "boss@", "www."):
        assert bad not in body, bad
    values = re.findall(r"«([^»]*)»", body)
    assert len(values) >= 6
    assert not any(re.search(r"\d(?:[\s().+/-]*\d){4,}", v) for v in values), values
    assert "«Call [digits] or visit https[:]//evil[.]example/login now»" in body
    # The only links in the mail are the registry's own: its id and the stop page.
    links = re.findall(r"https?://\S+", body)
    assert "http://127.0.0.1:8080/mail/stop?t=" in body
    assert links and all(link.startswith("http://127.0.0.1:8080") for link in links), links


def test_limits_per_requester_referee_and_subject(client: TestClient) -> None:
    carol = Requester.bound(client, 30)
    for _ in range(3):  # limit_ask_per_triple
        assert carol.ask(REFEREE).status_code == 201
    problem(carol.ask(REFEREE), 429, "rate-limited")
    # Another subject is another triple.
    assert carol.ask(REFEREE, sub={"name": "Eve", "email": "eve@example.com"}).status_code == 201


def test_deadlines_and_members_are_checked(client: TestClient, clock: Clock) -> None:
    carol = Requester.bound(client, 30)
    problem(carol.ask(REFEREE, exp=clock.now + 31 * DAY), 400, "malformed")
    problem(carol.ask(REFEREE, exp=clock.now), 400, "malformed")
    body = problem(carol.ask(REFEREE, sub={"name": "Bob"}), 400, "malformed")
    assert "sub" in body["detail"]
    problem(carol.ask("not-an-address"), 400, "malformed")
    problem(carol.ask(REFEREE, purpose="dating-reference"), 400, "malformed")
    problem(carol.ask(REFEREE, extra=1), 422, "invalid-request")
    unbound = Requester.unbound(client, 40, "x@example.com")
    body = problem(unbound.ask(REFEREE, requester=None), 400, "malformed")
    assert "requester.email" in body["detail"]
    # Checked before any code is mailed, with the member named as the body names it.
    bad_name = {"email": "x@example.com", "name": "Carol\u202e"}
    body = problem(unbound.ask(REFEREE, requester=bad_name), 400, "malformed")
    assert "requester.name" in body["detail"]
    problem(carol.ask(REFEREE, requester={"email": "someone-else@example.com"}), 400, "malformed")


def test_no_address_code_or_token_in_the_logs(
    client: TestClient, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    alice = Referee(client, 7).bind()
    dave = Requester.unbound(client, 31, "dave@hire.example")
    pending = dave.ask(REFEREE).json()["pending"]
    (code_mail,) = outbox.to(dave.email)
    code = code_of(code_mail)
    r = dave.signed("POST", "/api/v1/requests/confirm", {"pending": pending, "code": code})
    record = r.json()
    refusal = alice.refusal(record["id"])
    alice.answer(record["id"], refusal=refusal)
    dave.get(record["id"])
    client.post(
        "/mail/stop", content=b"t=x", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in records)
    for secret in (
        REFEREE,
        dave.email,
        "bob@example.com",
        code,
        record["request"],
        refusal,
        record["id"],
    ):
        assert secret not in logged


def test_unreachable_request_keeps_no_address(client: TestClient, outbox: Outbox) -> None:
    ctx = context(client)
    with ctx.db.write() as session:
        session.add(MailStop(address_mac=mac(ctx, "Gone@Example.org"), created_at=0))
    record = Requester.bound(client, 30).ask_made("gone@example.org")
    assert record["state"] == "unreachable"
    assert outbox.new() == []
    with ctx.db.read() as session:
        row = session.scalars(select(ReferenceRequestRow)).one()
        assert row.token is None and row.referee_email is None and row.scrubbed


def test_openapi_lists_statuses_and_problems(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    operations = [
        ("/api/v1/requests", "post"),
        ("/api/v1/requests/confirm", "post"),
        ("/api/v1/requests/{request_id}", "get"),
        ("/api/v1/requests/{request_id}/answer", "post"),
        ("/api/v1/requests/{request_id}/block", "post"),
        ("/api/v1/requests/{request_id}/block", "delete"),
        ("/api/v1/inbox", "get"),
        ("/api/v1/inbox/settings", "get"),
        ("/api/v1/inbox/settings", "put"),
        ("/api/v1/policy", "put"),
        ("/api/v1/policy", "get"),
        ("/api/v1/policy", "delete"),
        ("/api/v1/standing-refusals", "post"),
        ("/api/v1/standing-refusals", "get"),
        ("/api/v1/standing-refusals/{refusal_id}", "delete"),
        ("/api/v1/checks", "get"),
    ]
    for path, method in operations:
        responses = paths[path][method]["responses"]
        problems = [s for s in responses if s.startswith(("4", "5"))]
        assert "401" in problems, (path, method)
        for status in problems:
            if status != "422" or "content" in responses[status]:
                assert PROBLEM in responses[status]["content"], (path, method, status)
    assert "202" in paths["/api/v1/requests"]["post"]["responses"]
