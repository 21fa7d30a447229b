"""``POST /api/v1/verify``: the protocol's verdict with the registry's facts, on SQLite and
PostgreSQL.

The central check: for a table of named cases, the server's verdict equals the one
``verify_endorsement`` reaches locally from the same facts fetched the way a verifier would
(key binding, status list, registration), so the server adds facts and no logic of its own.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from _clock import Clock
from endorsers import BOB, EMPLOYMENT, MANAGER, REGISTRY_URL, Endorser, context, problem_type
from fastapi.testclient import TestClient
from sqlalchemy import select

from endorse.protocol import (
    Endorsement,
    Presentation,
    Registration,
    SigningKey,
    StatusList,
    StatusRef,
    Subject,
    TrustedIssuer,
    Verdict,
    decode_unverified,
    index_status_lists,
    issue,
    sign,
    token_hash,
    verify_endorsement,
    verify_key_binding,
    verify_receipt,
    verify_registration,
    verify_status_list,
)
from endorse.server.app import create_app
from endorse.server.models import Identity
from endorse.server.settings import Settings

DAY = 86_400


def _verify(client: TestClient, token: str, **expect: str) -> dict[str, Any]:
    r = client.post("/api/v1/verify", json={"token": token, **expect})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    answer: dict[str, Any] = r.json()
    return answer


def _tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"]["name"] = "Mallory Jones"
    raw = json.dumps(claims, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    forged = base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


@pytest.fixture
def alice(client: TestClient) -> Endorser:
    return Endorser(client, 1, "Alice Smith").bind()


# --- one verification, in detail -----------------------------------------------------------


def test_valid_answer_in_full(client: TestClient, alice: Endorser, clock: Clock) -> None:
    token, registered = alice.issue()
    clock.advance(10)
    answer = _verify(client, token, subject="bob@example.com", purpose=EMPLOYMENT)
    e = decode_unverified(token, Endorsement).object
    assert e.status is not None
    assert answer["verdict"] == "valid"
    assert answer["message"].startswith("This reference is genuine")
    assert answer["detail"] == "all checks passed"
    assert [c["name"] for c in answer["checks"]] == [
        "format",
        "signature",
        "issuer",
        "issuer_key",
        "validity",
        "subject",
        "purpose",
        "status",
    ]
    assert all(c["passed"] for c in answer["checks"])
    assert answer["claims"]["type"] == "endorsement"
    assert answer["claims"]["id"] == registered["id"]
    assert answer["claims"]["sub"] == {"name": "Bob Jones", "email": "bob@example.com"}
    assert answer["issuer"] == {
        "key": alice.did,
        "email": alice.email,
        "name": "Alice Smith",
        "since": clock.now - 10,
    }
    assert answer["status"] == {
        "list_id": e.status.list_id,
        "index": e.status.index,
        "checked_at": clock.now,
        "fresh_until": clock.now + 300,
    }
    assert answer["checked_at"] == clock.now
    receipt = verify_receipt(answer["receipt"], alice.ctx.key.public_key, REGISTRY_URL)
    assert receipt.token_hash == token_hash(token)
    assert receipt.verdict == "valid"
    assert receipt.checked_at == clock.now


def test_revocation_is_seen_at_once(client: TestClient, alice: Endorser) -> None:
    token, registered = alice.issue()
    assert _verify(client, token)["verdict"] == "valid"
    assert alice.revoke(registered["id"]).status_code == 200
    answer = _verify(client, token)
    assert answer["verdict"] == "revoked"
    ref = decode_unverified(token, Endorsement).object.status
    assert ref is not None
    assert answer["status"]["index"] == ref.index
    assert verify_receipt(answer["receipt"], alice.ctx.key.public_key, REGISTRY_URL).verdict == (
        "revoked"
    )


def test_malformed_is_an_answer(client: TestClient, alice: Endorser) -> None:
    answer = _verify(client, "hello")
    assert answer["verdict"] == "malformed"
    assert answer["claims"] is None
    assert answer["issuer"] is None
    assert answer["status"] is None
    assert answer["checks"][0]["name"] == "format"
    assert not answer["checks"][0]["passed"]
    receipt = verify_receipt(answer["receipt"], alice.ctx.key.public_key, REGISTRY_URL)
    assert receipt.token_hash == token_hash("hello")
    assert receipt.verdict == "malformed"


def test_bad_signature_shows_no_claims(client: TestClient, alice: Endorser) -> None:
    token, _ = alice.issue()
    answer = _verify(client, _tampered(token))
    assert answer["verdict"] == "bad_signature"
    assert answer["claims"] is None
    assert answer["issuer"] is None


def test_unknown_issuer_shows_claims_but_no_identity(client: TestClient, alice: Endorser) -> None:
    stranger = Endorser(client, 9)
    token = stranger.token(alice.slot())
    answer = _verify(client, token)
    assert answer["verdict"] == "unknown_issuer"
    assert answer["claims"]["iss"] == stranger.did
    assert answer["issuer"] is None


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        (b"{nope", 400, "malformed-json"),
        (b"", 422, "invalid-request"),
        (b"{}", 422, "invalid-request"),
        (b'{"token": 5}', 422, "invalid-request"),
        (b'{"token": "x", "extra": true}', 422, "invalid-request"),
        (b'{"token": "x", "purpose": ["a"]}', 422, "invalid-request"),
        (b'{"token": "x", "subject": "' + b"a" * 300 + b'"}', 422, "invalid-request"),
        (b'["x"]', 422, "invalid-request"),
    ],
    ids=["bad_json", "empty", "no_token", "number", "extra", "list", "long_subject", "array"],
)
def test_bad_requests_are_problems(client: TestClient, body: bytes, status: int, kind: str) -> None:
    r = client.post("/api/v1/verify", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status
    assert problem_type(r) == kind


def test_verdicts_are_counted(client: TestClient, alice: Endorser) -> None:
    token, _ = alice.issue()
    _verify(client, token)
    _verify(client, token)
    _verify(client, "nope")
    metrics = alice.ctx.metrics.registry
    assert metrics.get_sample_value("endorse_verifications_total", {"verdict": "valid"}) == 2
    assert metrics.get_sample_value("endorse_verifications_total", {"verdict": "malformed"}) == 1


def test_holder_binding(client: TestClient, alice: Endorser, clock: Clock) -> None:
    bob_key = SigningKey.from_seed(b"\x42" * 32)
    token, _ = alice.issue(subject=Subject("Bob Jones", email="bob@example.com", key=bob_key.did))
    nonce = "n" * 22
    presentation = sign(
        Presentation(
            key=bob_key.did, token_hash=token_hash(token), nonce=nonce, issued_at=clock.now
        ),
        bob_key,
    )
    ok = _verify(client, token, presentation=presentation, nonce=nonce)
    assert ok["verdict"] == "valid"
    wrong = _verify(client, token, presentation=presentation, nonce="m" * 22)
    assert wrong["verdict"] == "subject_mismatch"


def test_rate_limited_per_client(settings: Settings, clock: Clock) -> None:
    tight = settings.model_copy(update={"limit_verify_per_client": 3})
    with TestClient(create_app(tight, clock=clock), base_url=REGISTRY_URL) as client:
        for _ in range(3):
            assert _verify(client, "x")["verdict"] == "malformed"
        r = client.post("/api/v1/verify", json={"token": "x"})
        assert r.status_code == 429
        assert problem_type(r) == "rate-limited"
        assert int(r.headers["retry-after"]) > 0


# --- batch ---------------------------------------------------------------------------------


@pytest.fixture
def small_batches(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings.model_copy(update={"verify_batch_max": 3}), clock=clock),
        base_url=REGISTRY_URL,
    ) as c:
        yield c


def test_batch_answers_in_order(small_batches: TestClient) -> None:
    alice = Endorser(small_batches, 1).bind()
    token, _ = alice.issue()
    r = small_batches.post(
        "/api/v1/verify/batch",
        json={
            "items": [
                {"token": token},
                {"token": "nope"},
                {"token": token, "purpose": "tenancy-reference"},
            ]
        },
    )
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["verdict"] for x in results] == ["valid", "malformed", "purpose_not_allowed"]
    for x in results:
        verify_receipt(x["receipt"], alice.ctx.key.public_key, REGISTRY_URL)


def test_batch_is_bounded(small_batches: TestClient) -> None:
    r = small_batches.post("/api/v1/verify/batch", json={"items": [{"token": "x"}] * 4})
    assert r.status_code == 413
    assert problem_type(r) == "batch-too-large"
    empty = small_batches.post("/api/v1/verify/batch", json={"items": []})
    assert empty.status_code == 422
    extra = small_batches.post("/api/v1/verify/batch", json={"items": [], "more": 1})
    assert extra.status_code == 422


# --- the server's verdict is the protocol's ------------------------------------------------


@dataclass
class Case:
    name: str
    token: str
    expect: dict[str, str]
    verdict: str


def _cases(client: TestClient, clock: Clock) -> list[Case]:
    alice = Endorser(client, 1, "Alice Smith").bind()
    dave = Endorser(client, 4, "Dave Doe").bind()
    stranger = Endorser(client, 9)
    t0 = clock.now

    valid, _ = alice.issue()
    revoked, registered = alice.issue()
    assert alice.revoke(registered["id"]).status_code == 200
    audience, _ = alice.issue(audience="acme-hr")
    expired = alice.token(now=t0 - 2 * 365 * DAY, expires=t0 - DAY)
    future = alice.token(not_before=t0 + 30 * DAY)
    slot = alice.slot()
    other_registry = alice.token({**slot, "registry": "https://other.example"})
    unknown_list = alice.token({**slot, "list_id": "A" * 22})
    no_status = issue(alice.key, "Alice Smith", BOB, MANAGER, [EMPLOYMENT], now=t0)

    # Dave's key is revoked from t0 + 10: what the registry recorded before stays valid.
    before, _ = dave.issue()
    clock.advance(20)
    after, _ = dave.issue()
    unregistered = dave.token()
    dave.set_identity(revoked_from=t0 + 10)
    clock.advance(5)

    return [
        Case("valid", valid, {}, "valid"),
        Case(
            "valid_with_expectations",
            valid,
            {"subject": "bob jones", "purpose": EMPLOYMENT},
            "valid",
        ),
        Case("subject_by_email", valid, {"subject": "BOB@example.com"}, "valid"),
        Case("revoked", revoked, {}, "revoked"),
        Case("revoked_beats_scope", revoked, {"purpose": "tenancy-reference"}, "revoked"),
        Case("tampered", _tampered(valid), {}, "bad_signature"),
        Case("malformed", "endorsement-v1.e30." + "A" * 86, {}, "malformed"),
        Case("garbage", "hello", {}, "malformed"),
        Case("subject_mismatch", valid, {"subject": "Mallory"}, "subject_mismatch"),
        Case("purpose_not_allowed", valid, {"purpose": "tenancy-reference"}, "purpose_not_allowed"),
        Case("audience_missing", audience, {}, "audience_mismatch"),
        Case("audience_other", audience, {"audience": "evil-corp"}, "audience_mismatch"),
        Case("audience_given", audience, {"audience": "acme-hr"}, "valid"),
        Case("unknown_issuer", stranger.token(slot), {}, "unknown_issuer"),
        Case("expired", expired, {}, "expired"),
        Case("not_yet_valid", future, {}, "not_yet_valid"),
        Case("status_other_registry", other_registry, {}, "status_unavailable"),
        Case("status_unknown_list", unknown_list, {}, "status_unavailable"),
        Case("status_missing", no_status, {}, "status_unavailable"),
        Case("revoked_key_registered_before", before, {}, "valid"),
        Case("revoked_key_registered_after", after, {}, "issuer_key_revoked"),
        Case("revoked_key_unregistered", unregistered, {}, "issuer_key_revoked"),
    ]


def _local_verdict(client: TestClient, case: Case, now: int) -> str:
    """What a verifier computes itself from the registry's published, signed facts."""
    ctx = context(client)
    registry_key = ctx.key.public_key
    issuers: dict[str, TrustedIssuer] = {}
    with ctx.db.read() as session:
        for identity in session.scalars(select(Identity)):
            binding = verify_key_binding(identity.binding_token, registry_key, REGISTRY_URL)
            trusted = TrustedIssuer.from_binding(binding)
            if identity.revoked_from is not None:
                trusted = TrustedIssuer(
                    trusted.key,
                    trusted.identity,
                    trusted.name,
                    trusted.since,
                    trusted.registry,
                    identity.revoked_from,
                )
            issuers[identity.key] = trusted
    lists: list[StatusList] = []
    registration: Registration | None = None
    try:
        e = decode_unverified(case.token, Endorsement).object
    except Exception:
        e = None
    if e is not None and e.status is not None and e.status.registry == REGISTRY_URL:
        r = client.get(f"/api/v1/status-lists/{e.status.list_id}")
        if r.status_code == 200:
            lists.append(verify_status_list(r.json()["token"], registry_key, REGISTRY_URL))
        r = client.get(f"/api/v1/registrations/{token_hash(case.token)}")
        if r.status_code == 200:
            registration = verify_registration(r.json()["registration"], registry_key, REGISTRY_URL)
    result = verify_endorsement(
        case.token,
        now=now,
        issuers=issuers,
        status_lists=index_status_lists(lists),
        registration=registration,
        **case.expect,  # type: ignore[arg-type]
    )
    return result.verdict.value


def test_server_verdict_is_the_protocols(client: TestClient, clock: Clock) -> None:
    cases = _cases(client, clock)
    assert len({c.name for c in cases}) == len(cases)
    covered = set()
    for case in cases:
        answer = _verify(client, case.token, **case.expect)
        assert answer["verdict"] == case.verdict, (case.name, answer["checks"])
        assert _local_verdict(client, case, clock.now) == case.verdict, case.name
        covered.add(case.verdict)
    # Every verdict the registry's facts can lead to is in the table (``refused`` is the
    # verdict of a refusal, never of an endorsement).
    assert covered == {v.value for v in Verdict} - {Verdict.REFUSED.value}


def test_batch_agrees_with_single(client: TestClient, clock: Clock) -> None:
    cases = _cases(client, clock)
    r = client.post(
        "/api/v1/verify/batch",
        json={"items": [{"token": c.token, **c.expect} for c in cases[:50]]},
    )
    assert r.status_code == 200
    assert [x["verdict"] for x in r.json()["results"]] == [c.verdict for c in cases[:50]]


def test_revoked_key_answer_names_the_registration_check(client: TestClient, clock: Clock) -> None:
    cases = {c.name: c for c in _cases(client, clock)}
    before = _verify(client, cases["revoked_key_registered_before"].token)
    check = before["checks"][3]
    assert (check["name"], check["passed"]) == ("issuer_key", True)
    assert "registered before" in check["detail"]
    after = _verify(client, cases["revoked_key_registered_after"].token)
    assert after["issuer"]["key"] == Endorser(client, 4).did
    assert after["status"] is None
    assert after["claims"] is not None


def test_unrelated_status_ref_is_not_trusted(client: TestClient, alice: Endorser) -> None:
    # A token whose index lies beyond its list says nothing about revocation.
    slot = alice.slot()
    e = decode_unverified(alice.token(slot), Endorsement).object
    beyond = sign(
        Endorsement(
            **{
                **{f: getattr(e, f) for f in e.__struct_fields__},
                "status": StatusRef(REGISTRY_URL, slot["list_id"], 131_072 + 5),
            }
        ),
        alice.key,
    )
    assert _verify(client, beyond)["verdict"] == "status_unavailable"


# --- caches hold only what cannot change ---------------------------------------------------


def test_key_revocation_applies_despite_the_binding_cache(
    client: TestClient, alice: Endorser, clock: Clock
) -> None:
    token, registered = alice.issue()
    assert _verify(client, token)["verdict"] == "valid"  # the binding is now cached
    alice.set_identity(revoked_from=registered["registered_at"])  # not before: not trusted
    assert _verify(client, token)["verdict"] == "issuer_key_revoked"
    alice.set_identity(revoked_from=registered["registered_at"] + 1)
    assert _verify(client, token)["verdict"] == "valid"


def test_lru_bounds() -> None:
    from endorse.server.verification import LRU

    cache: LRU[str, bytes] = LRU(10, max_weight=10, weigh=len)
    cache.put("a", b"12345")
    cache.put("b", b"12345")
    assert cache.get("a") == b"12345"  # now most recent
    cache.put("c", b"1")
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.get("c") is not None
    cache.put("a", b"1234567890")
    assert len(cache) == 1
    cache.put("d", b"12345678901")  # heavier than the bound on its own: not kept
    assert len(cache) == 0
