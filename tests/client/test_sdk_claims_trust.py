"""What the SDK trusts of a registry's answers about claimed references (docs/claims.md):
every statement is verified before it is returned. Against an in-memory registry that can
lie, with the sync and the async client: a request signed by another key, an answer signed
by a key that is not the referee's, a refusal of another request, a standing refusal of
another subject, a policy by another key; and refusal tokens verified offline."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fake_registry import MALLORY_KEY, REGISTRY_KEY, URL, FakeRegistry, problem

from endorse.client import RegistryError, RegistryStatementInvalid
from endorse.protocol import (
    InvalidArgument,
    Relationship,
    Requester,
    SigningKey,
    Subject,
    Verdict,
    build_reference_request,
    sign,
    sign_policy,
    sign_refusal,
)
from endorse.protocol.requests import HEADER_KEY

ALICE = SigningKey.from_seed(b"\x21" * 32)
EVE = SigningKey.from_seed(b"\x22" * 32)
DAN = Subject("Dan Brown", email="dan@example.com")
CLAIMED = Relationship("work", "manager", org="Acme", start="2020", end="2022")
EMPLOYMENT = "employment-reference"
ASKER = SigningKey.from_seed(b"\x23" * 32)


def request_token(
    fake: FakeRegistry, *, signer: SigningKey | None = None, rid: str | None = None
) -> tuple[str, str]:
    now = fake.now()
    request = build_reference_request(
        registry=fake.url,
        requester=Requester("recruiter@example.com", "email-code", name="Acme Recruiting"),
        referee="alice@example.com",
        subject=DAN,
        relationship=CLAIMED,
        purpose=EMPLOYMENT,
        now=now - 60,
        expires=now + 86_400,
        id=rid,
    )
    return request.id, sign(request, signer or fake.signer)


def serve_record(fake: FakeRegistry, record: dict[str, Any]) -> None:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.startswith("/api/v1/requests/"):
            return httpx.Response(200, json=record)
        return None

    fake.override = answer


def refusal(fake: FakeRegistry, key: SigningKey, rid: str | None, **kw: Any) -> str:
    return sign_refusal(
        key, "Alice Smith", kw.pop("subject", DAN), now=fake.now() - 30, request=rid, **kw
    )


@pytest.fixture
def fake() -> FakeRegistry:
    fake = FakeRegistry()
    fake.bind(ALICE)  # alice@example.com, the referee
    fake.bind(EVE, email="eve@example.com", name="Eve")
    return fake


@pytest.fixture
def client(connect: Callable[..., Any], fake: FakeRegistry) -> Any:
    return connect(URL, registry_key=REGISTRY_KEY.did, transport=fake.transport)


def test_a_genuine_refusal_is_returned_verified(fake: FakeRegistry, client: Any) -> None:
    rid, token = request_token(fake)
    answer = refusal(fake, ALICE, rid, reason="no_reference", purpose=EMPLOYMENT)
    record = {
        "id": rid,
        "request": token,
        "state": "answered",
        "answer": {"kind": "refusal", "token": answer},
        "answered_at": fake.now(),
    }
    serve_record(fake, record)
    status = client.request_status(ASKER, rid)
    assert status.state == "answered"
    assert status.request.referee == "alice@example.com"
    assert status.request.requester.email == "recruiter@example.com"
    assert status.answer.kind == "refusal"
    result = status.answer.result
    assert result.verdict is Verdict.REFUSED and not result.valid
    assert result.message == (
        "Alice Smith states that they do not give a reference for Dan Brown"
        " for employment-reference."
    )
    assert status.answer.refusal.reason == "no_reference"
    # The request was read with a signed call of the requester's key.
    (call,) = [r for r in fake.requests if r.url.path == f"/api/v1/requests/{rid}"]
    assert call.headers[HEADER_KEY] == ASKER.did


def test_a_request_signed_by_another_key_is_refused(fake: FakeRegistry, client: Any) -> None:
    rid, token = request_token(fake, signer=MALLORY_KEY)
    serve_record(fake, {"id": rid, "request": token, "state": "open"})
    with pytest.raises(RegistryStatementInvalid, match="reference request"):
        client.request_status(ASKER, rid)


def test_another_request_than_the_one_asked_for_is_refused(fake: FakeRegistry, client: Any) -> None:
    rid, token = request_token(fake)
    other, _ = request_token(fake)
    serve_record(fake, {"id": rid, "request": token, "state": "open"})
    with pytest.raises(RegistryStatementInvalid):
        client.request_status(ASKER, other)


@pytest.mark.parametrize("who", ["eve_bound_elsewhere", "unbound_key"])
def test_an_answer_not_signed_by_the_referee_is_refused(
    fake: FakeRegistry, client: Any, who: str
) -> None:
    rid, token = request_token(fake)
    key = EVE if who == "eve_bound_elsewhere" else SigningKey.from_seed(b"\x24" * 32)
    record = {
        "id": rid,
        "request": token,
        "state": "answered",
        "answer": {"kind": "refusal", "token": refusal(fake, key, rid)},
    }
    serve_record(fake, record)
    with pytest.raises(RegistryStatementInvalid, match=r"referee|identity"):
        client.request_status(ASKER, rid)


def test_a_refusal_of_another_request_is_refused(fake: FakeRegistry, client: Any) -> None:
    rid, token = request_token(fake)
    other, _ = request_token(fake)
    record = {
        "id": rid,
        "request": token,
        "state": "answered",
        "answer": {"kind": "refusal", "token": refusal(fake, ALICE, other)},
    }
    serve_record(fake, record)
    with pytest.raises(RegistryStatementInvalid, match="another request"):
        client.request_status(ASKER, rid)


def test_a_standing_refusal_answers_only_its_own_subject(fake: FakeRegistry, client: Any) -> None:
    rid, token = request_token(fake)
    mine = refusal(fake, ALICE, None)
    record = {
        "id": rid,
        "request": token,
        "state": "answered",
        "answer": {"kind": "refusal", "token": mine, "standing": True},
    }
    serve_record(fake, record)
    status = client.request_status(ASKER, rid)
    assert status.answer.standing and status.answer.result.verdict is Verdict.REFUSED

    carol = Subject("Carol", email="carol@example.com")
    record["answer"]["token"] = refusal(fake, ALICE, None, subject=carol)
    with pytest.raises(RegistryStatementInvalid, match="another request"):
        client.request_status(ASKER, rid)


def test_a_tampered_refusal_is_refused(fake: FakeRegistry, client: Any) -> None:
    rid, token = request_token(fake)
    good = refusal(fake, ALICE, rid)
    prefix, payload, sig = good.split(".")
    forged = ".".join((prefix, payload, ("A" if sig[0] != "A" else "B") + sig[1:]))
    record = {
        "id": rid,
        "request": token,
        "state": "answered",
        "answer": {"kind": "refusal", "token": forged},
    }
    serve_record(fake, record)
    with pytest.raises(RegistryStatementInvalid, match="bad_signature"):
        client.request_status(ASKER, rid)


def test_a_policy_answer_is_the_referees(fake: FakeRegistry, client: Any) -> None:
    rid, token = request_token(fake)
    policy = sign_policy(ALICE, "Alice Smith", now=fake.now() - 10, notify=True)
    record = {
        "id": rid,
        "request": token,
        "state": "answered",
        "answer": {"kind": "policy", "token": policy},
    }
    serve_record(fake, record)
    status = client.request_status(ASKER, rid)
    assert status.answer.kind == "policy"
    assert status.answer.policy.issuer == ALICE.did and status.answer.policy.notify
    assert status.answer.result is None

    record["answer"]["token"] = sign_policy(EVE, "Alice Smith", now=fake.now() - 10, notify=True)
    with pytest.raises(RegistryStatementInvalid):
        client.request_status(ASKER, rid)


def test_an_ended_request_to_an_unregistered_referee_has_no_statement(
    fake: FakeRegistry, client: Any
) -> None:
    rid, _ = request_token(fake)
    serve_record(fake, {"id": rid, "state": "expired"})
    status = client.request_status(ASKER, rid)
    assert (status.state, status.request, status.answer) == ("expired", None, None)
    serve_record(
        fake,
        {
            "id": rid,
            "state": "answered",
            "answer": {"kind": "refusal", "token": refusal(fake, ALICE, rid)},
        },
    )
    with pytest.raises(RegistryStatementInvalid):
        client.request_status(ASKER, rid)


def test_an_unknown_state_or_kind_is_refused(fake: FakeRegistry, client: Any) -> None:
    rid, token = request_token(fake)
    serve_record(fake, {"id": rid, "request": token, "state": "maybe"})
    with pytest.raises(RegistryStatementInvalid, match="unknown state"):
        client.request_status(ASKER, rid)
    serve_record(
        fake,
        {
            "id": rid,
            "request": token,
            "state": "answered",
            "answer": {"kind": "vouch", "token": refusal(fake, ALICE, rid)},
        },
    )
    with pytest.raises(RegistryStatementInvalid):
        client.request_status(ASKER, rid)


def test_a_problem_is_a_registry_error(fake: FakeRegistry, client: Any) -> None:
    fake.override = lambda r: problem(404, "not-found", "no such request")
    with pytest.raises(RegistryError) as e:
        client.request_status(ASKER, "A" * 22)
    assert e.value.slug == "not-found"


def test_ids_are_checked_before_they_go_into_a_path(client: Any) -> None:
    for bad in ("../identities", "", "a/b", "x" * 65):
        with pytest.raises(InvalidArgument):
            client.request_status(ASKER, bad)


# --- refusal tokens verified offline ----------------------------------------------------------


def test_verify_refusal_offline(fake: FakeRegistry, client: Any) -> None:
    token = refusal(fake, ALICE, None, purpose=EMPLOYMENT)
    result = client.verify_refusal(token)
    assert result.verdict is Verdict.REFUSED
    assert result.issuer is not None and result.issuer.identity == "alice@example.com"
    assert client.verify_refusal(token, subject="dan@example.com").verdict is Verdict.REFUSED
    wrong = client.verify_refusal(token, subject="carol@example.com")
    assert wrong.verdict is Verdict.SUBJECT_MISMATCH
    other = client.verify_refusal(token, purpose="tenancy-reference")
    assert other.verdict is Verdict.PURPOSE_NOT_ALLOWED
    unknown = sign_refusal(SigningKey.from_seed(b"\x25" * 32), "Alice Smith", DAN, now=fake.now())
    assert client.verify_refusal(unknown).verdict is Verdict.UNKNOWN_ISSUER
    prefix, payload, sig = token.split(".")
    assert client.verify_refusal(".".join((prefix, payload[:-2] + "AA", sig))).verdict in (
        Verdict.BAD_SIGNATURE,
        Verdict.MALFORMED,
    )
    assert client.verify_refusal("garbage").verdict is Verdict.MALFORMED


def test_a_refusal_is_never_verified_as_an_endorsement(fake: FakeRegistry, client: Any) -> None:
    token = refusal(fake, ALICE, None)
    assert client.verify(token).verdict is Verdict.MALFORMED


def test_ask_checks_its_arguments_before_any_request(fake: FakeRegistry, client: Any) -> None:
    now = int(time.time())
    with pytest.raises(InvalidArgument):
        client.ask(ASKER, "alice@example.com", DAN, CLAIMED, "nonsense purpose")
    with pytest.raises(InvalidArgument):
        client.ask(ASKER, "alice@example.com", DAN, CLAIMED, EMPLOYMENT, expires=now + 31 * 86_400)
    with pytest.raises(InvalidArgument):
        client.answer_refuse(ASKER, "A" * 22, "because")
    assert fake.requests == []


def test_ask_sends_the_claim_as_the_contract_says(fake: FakeRegistry, client: Any) -> None:
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/api/v1/requests":
            sent.append(json.loads(request.content))
            return httpx.Response(202, json={"pending": "p" * 22, "expires_at": fake.now() + 600})
        return None

    fake.override = answer
    pending = client.ask(
        ASKER,
        "alice@example.com",
        DAN,
        CLAIMED,
        EMPLOYMENT,
        audience="acme",
        requester_email="r@example.com",
    )
    assert pending.id == "p" * 22
    (body,) = sent
    assert body["referee"] == "alice@example.com"
    assert body["sub"] == {"name": "Dan Brown", "email": "dan@example.com"}
    assert body["rel"] == {
        "context": "work",
        "role": "manager",
        "org": "Acme",
        "from": "2020",
        "to": "2022",
    }
    assert body["purpose"] == EMPLOYMENT and body["aud"] == "acme"
    assert body["requester"] == {"email": "r@example.com"}
    assert 0 < body["exp"] - int(time.time()) <= 14 * 86_400 + 5


def test_a_refusal_of_this_request_naming_another_subject_is_refused(
    fake: FakeRegistry, client: Any
) -> None:
    rid, token = request_token(fake)
    carol = Subject("Carol", email="carol@example.com")
    answer = {"kind": "refusal", "token": refusal(fake, ALICE, rid, subject=carol)}
    serve_record(fake, {"id": rid, "request": token, "state": "answered", "answer": answer})
    with pytest.raises(RegistryStatementInvalid, match="another request"):
        client.request_status(ASKER, rid)
