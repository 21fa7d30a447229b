"""A claimed reference end to end: a real registry process, mail over real SMTP (aiosmtpd).

On SQLite and PostgreSQL, speaking HTTP only, with the registry key pinned from
``/.well-known/endorse-registry`` (the fixtures of :mod:`test_e2e_lifecycle`)::

    referee registers (code by mail) -> recruiter without a key asks (code by mail) ->
    referee gets the claim alert -> refuses with a signature -> recruiter gets the notice,
    reads the request and verifies the refusal offline (verdict refused) -> the referee's
    one-click unsubscribe (RFC 8058 POST) -> a new request is unreachable, nothing is sent
"""

from __future__ import annotations

import re

import httpx
from live import LiveServer
from test_e2e_lifecycle import (  # noqa: F401 - fixtures used by name
    MAIL_WAIT,
    Connect,
    Mailbox,
    code_in,
    connect,
    mailbox,
    now,
    server,
)

from endorse.protocol import (
    SigningKey,
    Subject,
    TrustedIssuer,
    Verdict,
    sign_refusal,
    verify_key_binding,
    verify_reference_request,
    verify_refusal,
)

REFEREE = "alice.smith@example.com"
RECRUITER = "carol@hire.example"
BOB = Subject("Bob Jones", email="bob@example.com")
EMPLOYMENT = "employment-reference"


def test_ask_refuse_and_stop_over_real_smtp(
    server: LiveServer,  # noqa: F811
    mailbox: tuple[Mailbox, int],  # noqa: F811
    connect: Connect,  # noqa: F811
) -> None:
    mail, _ = mailbox
    reg = connect(None)
    alice = SigningKey.generate()
    pending = reg.ok(
        reg.signed(
            alice, "POST", "/api/v1/identities/register", {"email": REFEREE, "name": "Alice Smith"}
        ),
        202,
    )
    code = code_in(mail.next(REFEREE, "Your endorse confirmation code"))
    state = reg.ok(
        reg.signed(
            alice,
            "POST",
            "/api/v1/identities/confirm",
            {"pending": pending["pending"], "code": code},
        )
    )
    binding = verify_key_binding(state["binding"], reg.key, reg.url)

    # A recruiter with a fresh key asks; the code comes by mail.
    carol = SigningKey.generate()
    ask = {
        "referee": REFEREE,
        "sub": {"name": BOB.name, "email": BOB.email},
        "rel": {"context": "work", "role": "manager", "org": "Acme", "from": "2019-03"},
        "purpose": EMPLOYMENT,
        "exp": now() + 7 * 86_400,
        "requester": {"email": RECRUITER, "name": "Carol"},
    }
    pending = reg.ok(reg.signed(carol, "POST", "/api/v1/requests", ask), 202)
    code = code_in(mail.next(RECRUITER, "Your endorse request code"))
    confirm = {"pending": pending["pending"], "code": code}
    record = reg.ok(reg.signed(carol, "POST", "/api/v1/requests/confirm", confirm), 201)
    assert record["state"] == "open"
    request = verify_reference_request(
        record["request"], registry=reg.url, registry_key=reg.key
    ).object
    assert (request.requester.email, request.requester.method) == (RECRUITER, "email-code")

    # The referee's claim alert, with the one-click unsubscribe headers.
    recipients, alert = mail.delivered.get(timeout=MAIL_WAIT)
    assert recipients == [REFEREE]
    assert alert["Subject"] == "A reference in your name was asked about"
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(\S+)>", str(alert["List-Unsubscribe"]))
    assert unsubscribe is not None and unsubscribe.group(1).startswith(f"{reg.url}/mail/stop?t=")

    # The referee reads the inbox and refuses, with a signature.
    (item,) = reg.ok(reg.signed(alice, "GET", "/api/v1/inbox"))["requests"]
    assert item["id"] == record["id"] and item["request"] == record["request"]
    refusal = sign_refusal(
        alice, "Alice Smith", BOB, now=now(), reason="not_known", request=record["id"]
    )
    path = f"/api/v1/requests/{record['id']}/answer"
    answered = reg.ok(reg.signed(alice, "POST", path, {"refusal": refusal}))
    assert answered["state"] == "answered"

    # The recruiter is told, and verifies the refusal offline from the binding.
    notice = mail.next(RECRUITER, "Your reference request has an answer")
    assert f"{reg.url}/r#{record['request']}~{refusal}" in notice
    got = reg.ok(reg.signed(carol, "GET", f"/api/v1/requests/{record['id']}"))
    assert got["answer"] == {"kind": "refusal", "token": refusal}
    result = verify_refusal(
        got["answer"]["token"],
        now=now(),
        issuers={alice.did: TrustedIssuer.from_binding(binding)},
        subject=BOB.name,
        purpose=EMPLOYMENT,
    )
    assert result.verdict is Verdict.REFUSED
    assert result.message.startswith("Alice Smith states that they do not give a reference")

    # One click (a POST, as RFC 8058 has mail clients send it) stops all mail to the referee.
    stopped = httpx.post(
        unsubscribe.group(1),
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
        timeout=15,
    )
    assert stopped.status_code == 200
    again = dict(ask, purpose="character-reference")
    pending = reg.ok(reg.signed(carol, "POST", "/api/v1/requests", again), 202)
    code = code_in(mail.next(RECRUITER, "Your endorse request code"))
    confirm = {"pending": pending["pending"], "code": code}
    later = reg.ok(reg.signed(carol, "POST", "/api/v1/requests/confirm", confirm), 201)
    assert later["state"] == "unreachable"
    # The registry sends its mail before it answers, and the SMTP server queues a message
    # before it acknowledges it: none queued now means none was sent.
    assert mail.empty(), "mail was sent to an address that stopped it"
