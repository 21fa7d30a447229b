"""Claimed references at the registry, whole flows, on SQLite and PostgreSQL (issue 9).

Time is the app's injected clock; mail is read from the outbox. Each flow checks what the
requester sees (the record, its signed tokens), what the referee sees (mail, inbox) and what
the database keeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from _clock import Clock
from claimants import (
    DAY,
    EMPLOYMENT,
    SUB,
    Outbox,
    Referee,
    Requester,
    code_of,
    stop_link,
    text_of,
)
from endorsers import BOB, context
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from endorse.protocol import (
    PublicKey,
    SigningKey,
    Subject,
    TrustedIssuer,
    Verdict,
    verify_policy,
    verify_reference_request,
    verify_refusal,
)
from endorse.server.claims import sweep_now
from endorse.server.models import MailStop, ReferenceRequestRow
from endorse.server.settings import Settings

REFEREE = "endorser7@example.com"  # Referee(client, 7)'s verified address


@pytest.fixture
def outbox(settings: Settings) -> Outbox:
    return Outbox(settings.outbox_path)


def registry_key(client: TestClient) -> PublicKey:
    return context(client).key.public_key


def request_of(client: TestClient, token: str) -> Any:
    ctx = context(client)
    return verify_reference_request(
        token, registry=ctx.registry, registry_key=registry_key(client)
    ).object


def test_ask_a_registered_referee_who_endorses(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = Referee(client, 7).bind()
    carol = Requester.bound(client, 30)
    record = carol.ask_made(REFEREE)
    assert record["state"] == "open"
    assert set(record) == {"id", "request", "state"}
    req = request_of(client, record["request"])
    assert req.id == record["id"]
    assert (req.requester.email, req.requester.method) == (carol.email, "key-binding")
    assert req.requester.key == carol.key.did
    assert req.referee == REFEREE and req.purpose == EMPLOYMENT
    assert req.expires == clock.now + 14 * DAY

    # The referee gets a claim alert: fixed wording, neutralised values, a stop link.
    (alert,) = outbox.to(REFEREE)
    assert alert["Subject"] == "A reference in your name was asked about"
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert alert["List-Unsubscribe"].startswith("<http://127.0.0.1:8080/mail/stop?t=")
    body = text_of(alert)
    assert "«Bob Jones»" in body and "«bob [at] example[.]com»" in body
    assert f"endorse answer --endorse -- {record['id']}" in body

    # The inbox shows the signed request in full.
    (item,) = alice.inbox()
    assert item == {
        "id": record["id"],
        "request": record["request"],
        "state": "open",
        "blocked": False,
    }

    # An endorsement registered here, for the subject and purpose asked about, answers it.
    token, _ = alice.issue()
    r = alice.answer(record["id"], endorsement=token)
    assert r.status_code == 200, r.text
    answered = r.json()
    assert answered["state"] == "answered"
    assert answered["answer"] == {"kind": "endorsement", "token": token}
    assert answered["answered_at"] == clock.now

    # The requester is told an answer exists, with the requester page's link.
    (notice,) = outbox.to(carol.email)
    assert f"/r#{record['request']}~{token}" in text_of(notice)
    got = carol.get(record["id"]).json()
    assert got["state"] == "answered" and got["answer"]["token"] == token
    assert got["request"] == record["request"]  # a registered referee: the token stays

    # A second answer is refused: the request has ended.
    again = alice.answer(record["id"], refusal=alice.refusal(record["id"]))
    assert again.status_code == 409
    assert again.json()["type"] == "urn:endorse:problem:request-ended"


def test_ask_by_code_then_refuse(client: TestClient, outbox: Outbox, clock: Clock) -> None:
    alice = Referee(client, 7).bind()
    dave = Requester.unbound(client, 31, "dave@hire.example")
    pending = dave.ask(REFEREE)
    assert pending.status_code == 202, pending.text
    assert set(pending.json()) == {"pending", "expires_at"}
    (code_mail,) = outbox.to(dave.email)
    assert code_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A wrong code is refused like a registration's; the right one makes the request.
    bad = dave.signed(
        "POST",
        "/api/v1/requests/confirm",
        {"pending": pending.json()["pending"], "code": "00000000"},
    )
    assert bad.status_code == 400
    assert bad.json()["type"] == "urn:endorse:problem:invalid-code"
    confirm = {"pending": pending.json()["pending"], "code": code_of(code_mail)}
    r = dave.signed("POST", "/api/v1/requests/confirm", confirm)
    assert r.status_code == 201, r.text
    record = r.json()
    req = request_of(client, record["request"])
    assert (req.requester.email, req.requester.method) == (dave.email, "email-code")
    assert req.requester.key is None
    outbox.to(REFEREE)

    refusal = alice.refusal(record["id"], reason="not_known")
    r = alice.answer(record["id"], refusal=refusal)
    assert r.status_code == 200, r.text
    assert r.json()["answer"] == {"kind": "refusal", "token": refusal}

    # The requester verifies the refusal offline: verdict refused, never "forged".
    got = dave.get(record["id"]).json()
    issuer = TrustedIssuer.pinned(alice.did)
    result = verify_refusal(
        got["answer"]["token"],
        now=clock.now,
        issuers={alice.did: issuer},
        subject=BOB.name,
        purpose=EMPLOYMENT,
    )
    assert result.verdict is Verdict.REFUSED


def test_a_standing_refusal_answers_at_once(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = Referee(client, 7).bind()
    standing = alice.refusal(None, reason="no_reference")
    r = alice.signed("POST", "/api/v1/standing-refusals", {"refusal": standing})
    assert r.status_code == 201, r.text
    refusal_id = r.json()["id"]
    again = alice.signed("POST", "/api/v1/standing-refusals", {"refusal": standing})
    assert again.status_code == 200
    listed = alice.signed("GET", "/api/v1/standing-refusals").json()
    assert listed == {"refusals": [{"id": refusal_id, "refusal": standing}]}

    carol = Requester.bound(client, 30)
    record = carol.ask_made(REFEREE)
    assert record["state"] == "answered"
    assert record["answer"] == {"kind": "refusal", "token": standing, "standing": True}
    assert outbox.new() == []  # nothing mailed to anyone

    # Another subject address gets no at-once answer: the refusal names exactly one.
    other = carol.ask_made(REFEREE, sub={"name": "Bob Jones", "email": "bob2@example.com"})
    assert other["state"] == "open"

    # Withdrawn, it answers nothing more.
    gone = alice.signed("DELETE", f"/api/v1/standing-refusals/{refusal_id}")
    assert gone.status_code == 204
    third = Requester.bound(client, 32).ask_made(REFEREE)
    assert third["state"] == "open"


def test_a_policy_answers_at_once_and_the_referee_is_told(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = Referee(client, 7).bind()
    policy = alice.policy(notify=True)
    r = alice.put_policy(policy)
    assert r.status_code == 200, r.text
    assert alice.signed("GET", "/api/v1/policy").json() == {"policy": policy}

    carol = Requester.bound(client, 30)
    record = carol.ask_made(REFEREE)
    assert record["state"] == "answered"
    assert record["answer"] == {"kind": "policy", "token": policy}
    issuer = TrustedIssuer.pinned(alice.did)
    assert verify_policy(record["answer"]["token"], issuers={alice.did: issuer}).object.notify
    (alert,) = outbox.to(REFEREE)
    assert "answered with your signed policy" in text_of(alert)

    # An older policy does not replace a newer one; a newer one does (notify=false: silence).
    older = alice.policy(notify=False, now=clock.now - 10)
    assert alice.put_policy(older).status_code == 409
    clock.advance(10)
    quiet = alice.policy(notify=False)
    assert alice.put_policy(quiet).status_code == 200
    record = Requester.bound(client, 31).ask_made(REFEREE)
    assert record["answer"]["token"] == quiet
    assert outbox.new() == []

    assert alice.signed("DELETE", "/api/v1/policy").status_code == 204
    assert alice.signed("GET", "/api/v1/policy").status_code == 404


def test_no_answer_expires_and_an_unregistered_address_is_deleted(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    stranger = "stranger@example.org"
    carol = Requester.bound(client, 30)
    record = carol.ask_made(stranger)
    assert record["state"] == "open"
    (invitation,) = outbox.to(stranger)
    assert invitation["Subject"] == "You were named as a reference"
    body = text_of(invitation)
    assert "never as a refusal" in body and "«Bob Jones»" in body

    # At most one invitation per (referee, subject) per 30 days.
    second = Requester.bound(client, 31).ask_made(stranger)
    assert second["state"] == "open"
    assert outbox.new() == []

    clock.advance(14 * DAY)
    got = carol.get(record["id"]).json()
    assert got["state"] == "expired"
    assert "request" not in got and "answer" not in got

    # After the periodic sweep, the database keeps no trace of the address: neither the
    # column nor the token.
    assert sweep_now(context(client)) >= 1
    with context(client).db.read() as session:
        rows = session.scalars(select(ReferenceRequestRow)).all()
        ended = [r for r in rows if r.id == record["id"]]
        assert ended[0].referee_email is None and ended[0].token is None
        for row in rows:
            for value in vars(row).values():
                assert stranger not in str(value)


def test_a_registered_referee_keeps_the_request_after_expiry(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    alice = Referee(client, 7).bind()
    carol = Requester.bound(client, 30)
    record = carol.ask_made(REFEREE)
    clock.advance(15 * DAY)
    got = carol.get(record["id"]).json()
    assert got["state"] == "expired"
    assert got["request"] == record["request"]
    (item,) = alice.inbox()
    assert item["state"] == "expired"
    late = alice.answer(record["id"], refusal=alice.refusal(record["id"]))
    assert late.status_code == 409


def test_mail_stopped_gives_unreachable_and_sends_nothing(
    client: TestClient, outbox: Outbox
) -> None:
    stranger = "stranger@example.org"
    carol = Requester.bound(client, 30)
    carol.ask_made(stranger)
    (invitation,) = outbox.to(stranger)
    link = stop_link(invitation)

    # The GET page only shows a button; nothing is stopped by opening it.
    page = client.get(link)
    assert page.status_code == 200 and "<button" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    with context(client).db.read() as session:
        assert session.scalars(select(MailStop)).all() == []

    # The one-click POST (RFC 8058) stops all mail to the address.
    stop = client.post(
        link,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert stop.status_code == 200 and "No more mail" in stop.text
    with context(client).db.read() as session:
        (row,) = session.scalars(select(MailStop)).all()
        assert stranger not in str(row.address_mac)

    record = Requester.bound(client, 31).ask_made(
        stranger, sub={"name": "Eve", "email": "eve@example.com"}
    )
    assert record["state"] == "unreachable"
    assert "request" in record  # given to the requester once; not kept (unregistered)
    assert outbox.new() == []

    # A damaged or forged stop link stops nothing.
    forged = client.post(
        "/mail/stop",
        content=b"t=AAAA",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert forged.status_code == 400


def test_blocked_requester_is_recorded_never_mailed(client: TestClient, outbox: Outbox) -> None:
    alice = Referee(client, 7).bind()
    mallory = Requester.bound(client, 33)
    first = mallory.ask_made(REFEREE)
    outbox.to(REFEREE)
    assert alice.signed("POST", f"/api/v1/requests/{first['id']}/block").status_code == 204

    second = mallory.ask_made(REFEREE, purpose="character-reference")
    assert second["state"] == "open"  # the requester sees what a silent referee gives
    assert outbox.new() == []
    items = {i["id"]: i for i in alice.inbox()}
    assert items[second["id"]]["blocked"] is True

    # Another requester still gets through; unblocking lets mallory through again.
    Requester.bound(client, 34).ask_made(REFEREE)
    assert len(outbox.to(REFEREE)) == 1
    assert alice.signed("DELETE", f"/api/v1/requests/{first['id']}/block").status_code == 204
    mallory.ask_made(REFEREE, purpose="tenancy-reference")
    assert len(outbox.to(REFEREE)) == 1


def test_muted_referee_gets_no_alerts_but_sees_requests(client: TestClient, outbox: Outbox) -> None:
    alice = Referee(client, 7).bind()
    r = alice.signed("PUT", "/api/v1/inbox/settings", {"muted": True})
    assert r.json() == {"muted": True}
    assert alice.signed("GET", "/api/v1/inbox/settings").json() == {"muted": True}
    record = Requester.bound(client, 30).ask_made(REFEREE)
    assert record["state"] == "open"
    assert outbox.new() == []
    assert [i["id"] for i in alice.inbox()] == [record["id"]]


def test_check_counts_for_the_endorser_only(client: TestClient, clock: Clock) -> None:
    alice = Referee(client, 7).bind()
    token, answer = alice.issue()
    for _ in range(3):
        assert client.post("/api/v1/verify", json={"token": token}).json()["verdict"] == "valid"
    clock.advance(DAY)
    client.post("/api/v1/verify/batch", json={"items": [{"token": token}]})
    client.get(f"/v/{token}")
    r = alice.signed("GET", "/api/v1/checks")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "endorsements": [
            {
                "id": answer["id"],
                "days": [{"day": "2026-01-01", "count": 3}, {"day": "2026-01-02", "count": 2}],
            }
        ]
    }
    # Another endorser sees only their own (none).
    bob = Referee(client, 8).bind()
    assert bob.signed("GET", "/api/v1/checks").json() == {"endorsements": []}


def test_subject_keys_audience_and_purpose_must_match(client: TestClient, outbox: Outbox) -> None:
    alice = Referee(client, 7).bind()
    carol = Requester.bound(client, 30)
    record = carol.ask_made(REFEREE, aud="hire.example")
    wrong_purpose, _ = alice.issue(purposes=["tenancy-reference"])
    r = alice.answer(record["id"], endorsement=wrong_purpose)
    assert r.status_code == 422 and "purpose" in r.json()["detail"]
    no_aud, _ = alice.issue()
    r = alice.answer(record["id"], endorsement=no_aud)
    assert r.status_code == 422 and "audience" in r.json()["detail"]
    other, _ = alice.issue(subject=Subject("Bob Jones", email="bob2@example.com"))
    r = alice.answer(record["id"], endorsement=other)
    assert r.status_code == 422 and "subject" in r.json()["detail"]
    unregistered = alice.token(audience="hire.example")
    r = alice.answer(record["id"], endorsement=unregistered)
    assert r.status_code == 422 and "register" in r.json()["detail"]
    good, _ = alice.issue(audience="hire.example")
    assert alice.answer(record["id"], endorsement=good).status_code == 200
    assert SUB["email"] == BOB.email


def test_a_subject_key_in_the_request_binds_the_answer(client: TestClient, outbox: Outbox) -> None:
    """The candidate gave their did:key: only an endorsement naming it answers (holder
    binding then works without any other exchange)."""
    bob_key = SigningKey.from_seed(bytes([50]) * 32).did
    alice = Referee(client, 7).bind()
    record = Requester.bound(client, 30).ask_made(REFEREE, sub={**SUB, "key": bob_key})
    assert request_of(client, record["request"]).subject.key == bob_key
    unbound, _ = alice.issue()
    r = alice.answer(record["id"], endorsement=unbound)
    assert r.status_code == 422 and "subject" in r.json()["detail"]
    bound, _ = alice.issue(subject=Subject(BOB.name, email=BOB.email, key=bob_key))
    assert alice.answer(record["id"], endorsement=bound).status_code == 200


@contextmanager
def writes(client: TestClient) -> Iterator[list[str]]:
    """The SQL statements that change rows, run while the block runs, but the nonce a signed
    request records (replay protection, spec §10: every signed call writes that)."""
    changes: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in {"INSERT", "UPDATE", "DELETE"} and "request_nonces" not in statement:
            changes.append(statement)

    engine = context(client).db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield changes
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def stored(client: TestClient, request_id: str) -> tuple[Any, ...]:
    with context(client).db.read() as session:
        row = session.get(ReferenceRequestRow, request_id)
        assert row is not None
        return (row.state, row.token, row.referee_email, row.scrubbed)


@pytest.mark.parametrize("referee", [REFEREE, "stranger@example.org"], ids=["bound", "stranger"])
def test_reading_an_overdue_request_reports_it_expired_and_writes_nothing(
    referee: str,
    client: TestClient,
    outbox: Outbox,
    clock: Clock,
) -> None:
    alice = Referee(client, 7).bind()
    carol = Requester.bound(client, 30)
    record = carol.ask_made(referee)
    clock.advance(14 * DAY)  # the deadline: expired from this second on
    before = stored(client, record["id"])
    assert before == ("open", record["request"], referee, False)

    with writes(client) as changes:
        got = carol.get(record["id"])
        items = alice.inbox()
    assert changes == []
    assert got.status_code == 200, got.text
    assert got.json()["state"] == "expired"
    assert [i["state"] for i in items if i["id"] == record["id"]] == (
        ["expired"] if referee == REFEREE else []
    )
    assert stored(client, record["id"]) == before  # nothing was written

    # The periodic sweep moves it; the reads answer exactly as before.
    assert sweep_now(context(client)) == 1
    after = stored(client, record["id"])
    assert after[0] == "expired" and after[2] is None
    assert after[1] == (record["request"] if referee == REFEREE else None)
    assert carol.get(record["id"]).json() == got.json()
    assert alice.inbox() == items


def test_the_periodic_sweep_deletes_addresses_without_any_call(
    client: TestClient, outbox: Outbox, clock: Clock
) -> None:
    record = Requester.bound(client, 30).ask_made("stranger@example.org")
    ctx = context(client)
    assert sweep_now(ctx) == 0  # open and within its deadline: kept
    clock.advance(14 * DAY)
    assert sweep_now(ctx) == 1
    with ctx.db.read() as session:
        row = session.get(ReferenceRequestRow, record["id"])
        assert row is not None
        assert (row.state, row.token, row.referee_email) == ("expired", None, None)
    assert sweep_now(ctx) == 0
