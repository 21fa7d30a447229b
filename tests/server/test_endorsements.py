"""The endorsement lifecycle at the registry: slots, registration, listing and revocation, on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _clock import Clock
from endorsers import REGISTRY_URL, Endorser, context, problem_type
from fastapi.testclient import TestClient
from sqlalchemy import select

from endorse.protocol import (
    Bitstring,
    Endorsement,
    Revocation,
    SigningKey,
    StatusRef,
    decode_unverified,
    inspect,
    sign,
    token_hash,
    verify_registration,
)
from endorse.server.app import create_app
from endorse.server.endorsements import MAX_UNUSED_SLOTS
from endorse.server.models import EndorsementRow, Slot, StatusListRow
from endorse.server.settings import Settings


@pytest.fixture
def alice(client: TestClient) -> Endorser:
    return Endorser(client, 1, "Alice Smith").bind()


@pytest.fixture
def carol(client: TestClient) -> Endorser:
    return Endorser(client, 3, "Carol Chen").bind()


def _endorsement(token: str) -> Endorsement:
    return decode_unverified(token, Endorsement).object


# --- slots ---------------------------------------------------------------------------------


def test_slot_is_random_entry_of_a_list_of_this_registry(alice: Endorser) -> None:
    slots = [alice.slot() for _ in range(12)]
    assert {s["registry"] for s in slots} == {REGISTRY_URL}
    assert len({s["list_id"] for s in slots}) == 1
    indexes = [s["index"] for s in slots]
    assert len(set(indexes)) == len(indexes)
    assert all(0 <= i < 131_072 for i in indexes)
    # Not handed out in order: twelve random picks from 131,072 are not a run.
    assert indexes != sorted(indexes) or max(indexes) - min(indexes) > 100
    with alice.ctx.db.read() as session:
        owners = set(session.scalars(select(Slot.owner)))
    assert owners == {alice.did}


def test_slots_need_a_signed_request(client: TestClient, alice: Endorser) -> None:
    r = client.post("/api/v1/slots")
    assert r.status_code == 401
    assert problem_type(r) == "unauthorized"


def test_slots_need_a_bound_key(client: TestClient) -> None:
    stranger = Endorser(client, 9)
    r = stranger.signed("POST", "/api/v1/slots")
    assert r.status_code == 403
    assert problem_type(r) == "issuer-not-bound"


@pytest.mark.parametrize("state", ["revoked_from", "successor"])
def test_slots_refused_to_retired_keys(alice: Endorser, state: str, clock: Clock) -> None:
    value = clock.now if state == "revoked_from" else SigningKey.from_seed(b"\x55" * 32).did
    alice.set_identity(**{state: value})
    r = alice.signed("POST", "/api/v1/slots")
    assert r.status_code == 403
    assert problem_type(r) == "issuer-key-retired"


def test_unused_slots_are_bounded_per_key(alice: Endorser, carol: Endorser, clock: Clock) -> None:
    for _ in range(MAX_UNUSED_SLOTS):
        alice.slot()
    r = alice.signed("POST", "/api/v1/slots")
    assert r.status_code == 429
    assert problem_type(r) == "slot-quota"
    carol.slot()  # the bound is per key
    clock.advance(86_400)
    alice.slot()  # old unused slots stop counting after a day


def test_registered_slots_do_not_count_as_unused(alice: Endorser) -> None:
    for _ in range(MAX_UNUSED_SLOTS - 1):
        alice.slot()
    alice.issue()  # takes the 100th slot and uses it
    alice.slot()


# --- registration --------------------------------------------------------------------------


def test_register_returns_a_signed_registration(alice: Endorser, clock: Clock) -> None:
    token, answer = alice.issue()
    e = _endorsement(token)
    assert answer["id"] == e.id
    assert answer["token_hash"] == token_hash(token)
    assert answer["registered_at"] == clock.now
    registration = verify_registration(
        answer["registration"], alice.ctx.key.public_key, REGISTRY_URL
    )
    assert registration.token_hash == token_hash(token)
    assert registration.issuer == alice.did
    assert registration.registered_at == clock.now
    assert alice.ctx.metrics.registry.get_sample_value("endorse_registrations_total") == 1


def test_register_is_idempotent(alice: Endorser, clock: Clock) -> None:
    token, first = alice.issue()
    clock.advance(60)
    again = alice.register(token)
    assert again.status_code == 200
    assert again.json() == first


def test_register_same_id_other_token_conflicts(alice: Endorser) -> None:
    token, _ = alice.issue()
    e = _endorsement(token)
    slot = alice.slot()
    other = sign(
        Endorsement(
            **{
                **{f: getattr(e, f) for f in e.__struct_fields__},
                "status": StatusRef(REGISTRY_URL, slot["list_id"], slot["index"]),
            }
        ),
        alice.key,
    )
    r = alice.register(other)
    assert r.status_code == 409
    assert problem_type(r) == "conflict"


def test_register_used_slot_conflicts(alice: Endorser) -> None:
    slot = alice.slot()
    first = alice.token(slot)
    assert alice.register(first).status_code == 201
    second = alice.token(slot)  # a new id on the same entry
    r = alice.register(second)
    assert r.status_code == 409
    assert problem_type(r) == "conflict"


def test_register_refuses_a_slot_of_another_key(alice: Endorser, carol: Endorser) -> None:
    r = alice.register(alice.token(carol.slot()))
    assert r.status_code == 403
    assert problem_type(r) == "slot-not-allocated"


def test_register_refuses_an_entry_never_allocated(alice: Endorser) -> None:
    slot = alice.slot()
    made_up = {**slot, "index": (slot["index"] + 1) % 131_072}
    r = alice.register(alice.token(made_up))
    assert r.status_code == 403
    assert problem_type(r) == "slot-not-allocated"


def test_register_refuses_another_registry(alice: Endorser) -> None:
    slot = {**alice.slot(), "registry": "https://other.example"}
    r = alice.register(alice.token(slot))
    assert r.status_code == 422
    assert problem_type(r) == "wrong-registry"


def test_register_refuses_a_token_without_status(alice: Endorser, clock: Clock) -> None:
    from endorsers import BOB, EMPLOYMENT, MANAGER

    from endorse.protocol import issue

    r = alice.register(issue(alice.key, "Alice Smith", BOB, MANAGER, [EMPLOYMENT], now=clock.now))
    assert r.status_code == 422
    assert problem_type(r) == "no-status-entry"


def test_register_refuses_an_unbound_issuer(client: TestClient, alice: Endorser) -> None:
    stranger = Endorser(client, 9)
    r = stranger.register(stranger.token(alice.slot()))
    assert r.status_code == 403
    assert problem_type(r) == "issuer-not-bound"


def test_register_refuses_a_revoked_issuer(alice: Endorser, clock: Clock) -> None:
    token = alice.token()
    alice.set_identity(revoked_from=clock.now)
    r = alice.register(token)
    assert r.status_code == 403
    assert problem_type(r) == "issuer-key-retired"


def test_register_refuses_a_tampered_token(alice: Endorser) -> None:
    token = alice.token()
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BA'}"
    r = alice.register(forged)
    assert r.status_code == 400
    assert problem_type(r) == "bad-signature"


@pytest.mark.parametrize(
    "body",
    [{"token": "not a token"}, {"token": "revocation-v1.e30.x"}],
    ids=["garbage", "wrong_type"],
)
def test_register_refuses_malformed_tokens(client: TestClient, body: dict[str, str]) -> None:
    r = client.post("/api/v1/endorsements", json=body)
    assert r.status_code == 400
    assert problem_type(r) == "malformed-token"


@pytest.mark.parametrize(
    "body", [{}, {"token": 5}, {"token": "x", "extra": 1}], ids=["missing", "number", "extra"]
)
def test_register_body_schema(client: TestClient, body: object) -> None:
    r = client.post("/api/v1/endorsements", json=body)
    assert r.status_code == 422
    assert problem_type(r) == "invalid-request"


def test_registration_lookup_by_token_hash(client: TestClient, alice: Endorser) -> None:
    token, answer = alice.issue()
    r = client.get(f"/api/v1/registrations/{token_hash(token)}")
    assert r.status_code == 200
    assert r.json() == {"token_hash": token_hash(token), "registration": answer["registration"]}
    unknown = client.get(f"/api/v1/registrations/{token_hash(token + 'x')}")
    assert unknown.status_code == 404
    assert problem_type(unknown) == "not-found"
    assert client.get("/api/v1/registrations/nope").status_code == 422


# --- listing -------------------------------------------------------------------------------


def test_list_shows_only_the_callers_endorsements(
    client: TestClient, alice: Endorser, carol: Endorser, clock: Clock
) -> None:
    mine = []
    for _ in range(3):
        mine.append(alice.issue()[0])
        clock.advance(1)
    theirs, _ = carol.issue()
    r = alice.signed("GET", "/api/v1/endorsements")
    assert r.status_code == 200
    page = r.json()
    assert [i["token"] for i in page["items"]] == mine
    assert page["next_cursor"] is None
    item = page["items"][0]
    e = _endorsement(mine[0])
    assert e.status is not None
    assert item == {
        "id": e.id,
        "token": mine[0],
        "registered_at": e.issued_at,
        "revoked_at": None,
        "list_id": e.status.list_id,
        "index": e.status.index,
    }
    assert [i["token"] for i in carol.signed("GET", "/api/v1/endorsements").json()["items"]] == [
        theirs
    ]
    assert Endorser(client, 9).signed("GET", "/api/v1/endorsements").json()["items"] == []
    assert client.get("/api/v1/endorsements").status_code == 401


def test_list_pages(alice: Endorser, clock: Clock) -> None:
    tokens = []
    for _ in range(5):
        tokens.append(alice.issue()[0])
    seen: list[str] = []
    path = "/api/v1/endorsements?limit=2"
    while True:
        page = alice.signed("GET", path).json()
        assert len(page["items"]) <= 2
        seen += [i["token"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        path = f"/api/v1/endorsements?limit=2&cursor={page['next_cursor']}"
    assert sorted(seen) == sorted(tokens)
    assert len(seen) == 5


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "cursor=bogus"])
def test_list_refuses_bad_paging(alice: Endorser, query: str) -> None:
    r = alice.signed("GET", f"/api/v1/endorsements?{query}")
    assert r.status_code in (400, 422)
    assert problem_type(r) in ("bad-cursor", "invalid-request")


# --- revocation ----------------------------------------------------------------------------


def _bit(client: TestClient, token: str) -> bool:
    e = _endorsement(token)
    assert e.status is not None
    with context(client).db.read() as session:
        row = session.get(StatusListRow, e.status.list_id)
        assert row is not None
        return Bitstring(row.size, row.bits).get(e.status.index)


def test_revoke_sets_the_bit_durably(alice: Endorser, clock: Clock) -> None:
    token, answer = alice.issue()
    clock.advance(30)
    r = alice.revoke(answer["id"])
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == answer["id"]
    assert body["revoked_at"] == clock.now
    revocation = inspect(body["revocation"]).object
    assert isinstance(revocation, Revocation)
    assert revocation.endorsement_id == answer["id"]
    assert _bit(alice.client, token)
    with alice.ctx.db.read() as session:
        row = session.get(EndorsementRow, answer["id"])
        assert row is not None
        assert row.revoked_at == clock.now
        assert row.revocation_token == body["revocation"]
    assert alice.ctx.metrics.registry.get_sample_value("endorse_revocations_total") == 1


def test_revoke_survives_a_restart(settings: Settings, clock: Clock, alice: Endorser) -> None:
    token, answer = alice.issue()
    assert alice.revoke(answer["id"]).status_code == 200
    with TestClient(create_app(settings, clock=clock), base_url=REGISTRY_URL) as fresh:
        assert _bit(fresh, token)


def test_revoke_is_idempotent(alice: Endorser, clock: Clock) -> None:
    _, answer = alice.issue()
    first = alice.revoke(answer["id"]).json()
    clock.advance(60)
    again = alice.revoke(answer["id"])  # a new revocation token, later iat
    assert again.status_code == 200
    assert again.json() == first
    with alice.ctx.db.read() as session:
        versions = set(session.scalars(select(StatusListRow.version)))
    assert versions == {2}  # one bit set, one version bump
    assert alice.ctx.metrics.registry.get_sample_value("endorse_revocations_total") == 1


def test_revoke_by_another_key_is_refused(alice: Endorser, carol: Endorser) -> None:
    token, answer = alice.issue()
    # Carol signs a revocation naming herself as issuer: not the endorsement's issuer.
    r = carol.revoke(answer["id"])
    assert r.status_code == 403
    assert problem_type(r) == "forbidden"
    # Carol signs one naming Alice as issuer: the signature is not Alice's.
    forged = sign(
        Revocation(endorsement_id=answer["id"], issuer=alice.did, by=carol.did, issued_at=0),
        carol.key,
    )
    r = alice.client.post(
        f"/api/v1/endorsements/{answer['id']}/revoke", json={"revocation": forged}
    )
    assert r.status_code == 400
    assert problem_type(r) == "bad-signature"
    assert not _bit(alice.client, token)


def test_revoke_needs_the_named_endorsement(alice: Endorser) -> None:
    _, first = alice.issue()
    _, second = alice.issue()
    r = alice.client.post(
        f"/api/v1/endorsements/{first['id']}/revoke",
        json={"revocation": alice.revocation(second["id"])},
    )
    assert r.status_code == 403
    unknown = "A" * 21 + "A"
    r = alice.client.post(
        f"/api/v1/endorsements/{unknown}/revoke", json={"revocation": alice.revocation(unknown)}
    )
    assert r.status_code == 404
    assert problem_type(r) == "not-found"


def test_revoke_refuses_a_registry_signed_revocation(alice: Endorser) -> None:
    _, answer = alice.issue()
    ctx = alice.ctx
    by_registry = sign(
        Revocation(endorsement_id=answer["id"], issuer=alice.did, by=ctx.key.did, issued_at=0),
        ctx.key,
    )
    r = alice.client.post(
        f"/api/v1/endorsements/{answer['id']}/revoke", json={"revocation": by_registry}
    )
    assert r.status_code == 403


def test_revoke_still_works_after_the_key_is_revoked(alice: Endorser, clock: Clock) -> None:
    token, answer = alice.issue()
    alice.set_identity(revoked_from=clock.now)
    assert alice.revoke(answer["id"]).status_code == 200
    assert _bit(alice.client, token)


@pytest.mark.parametrize(
    "body", [{"revocation": "garbage"}, {}, {"revocation": "x", "more": 1}], ids=lambda b: str(b)
)
def test_revoke_body(alice: Endorser, body: object) -> None:
    _, answer = alice.issue()
    r = alice.client.post(f"/api/v1/endorsements/{answer['id']}/revoke", json=body)
    assert r.status_code in (400, 422)


@pytest.fixture
def small_lists(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """A registry whose lists close after 13 entries (fill 0.0001 of 131,072)."""
    tight = settings.model_copy(update={"status_list_fill": 0.0001})
    with TestClient(create_app(tight, clock=clock), base_url=REGISTRY_URL) as c:
        yield c


def test_full_list_closes_and_a_new_one_opens(small_lists: TestClient) -> None:
    alice = Endorser(small_lists, 1).bind()
    slots = [alice.slot() for _ in range(30)]
    by_list: dict[str, list[int]] = {}
    for s in slots:
        by_list.setdefault(s["list_id"], []).append(s["index"])
    assert sorted(len(v) for v in by_list.values()) == [4, 13, 13]
    for indexes in by_list.values():
        assert len(set(indexes)) == len(indexes)
    with alice.ctx.db.read() as session:
        rows = {r.list_id: r for r in session.scalars(select(StatusListRow))}
    assert {lid: (r.allocated, r.open) for lid, r in rows.items()} == {
        lid: (len(v), len(v) < 13) for lid, v in by_list.items()
    }
    assert all(len(lid) == 22 for lid in rows)
    assert all(r.size == 131_072 and len(r.bits) == 16_384 for r in rows.values())


# --- concurrency ---------------------------------------------------------------------------


def test_concurrent_allocations_never_share_an_entry(small_lists: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from endorse.server import endorsements

    ctx = context(small_lists)
    endorsers = [Endorser(small_lists, 10 + n).bind() for n in range(6)]
    with ThreadPoolExecutor(6) as pool:
        grants = list(
            pool.map(
                lambda e: [endorsements.allocate_slot(ctx, e.did) for _ in range(8)], endorsers
            )
        )
    entries = [(g.list_id, g.index) for batch in grants for g in batch]
    assert len(set(entries)) == 48
    with ctx.db.read() as session:
        rows = list(session.scalars(select(StatusListRow)))
        assert sum(r.allocated for r in rows) == 48
        assert all(r.allocated <= 13 for r in rows)
        assert len(list(session.scalars(select(Slot)))) == 48


def test_concurrent_revocations_in_one_list_all_land(alice: Endorser) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from endorse.server import endorsements

    issued = [alice.issue() for _ in range(12)]
    revocations = [(a["id"], alice.revocation(a["id"])) for _, a in issued]
    ctx = alice.ctx
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda r: endorsements.revoke(ctx, *r), revocations))
    assert all(_bit(alice.client, token) for token, _ in issued)
    with ctx.db.read() as session:
        (row,) = session.scalars(select(StatusListRow))
        assert row.version == 13
        assert Bitstring(row.size, row.bits).count() == 12


def test_openapi_describes_the_lifecycle(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/slots", "post"),
        ("/api/v1/endorsements", "post"),
        ("/api/v1/endorsements", "get"),
        ("/api/v1/endorsements/{endorsement_id}/revoke", "post"),
        ("/api/v1/registrations/{token_hash}", "get"),
        ("/api/v1/status-lists/{list_id}", "get"),
        ("/api/v1/verify", "post"),
        ("/api/v1/verify/batch", "post"),
    ]:
        assert method in paths[path], (path, method)
    verify = paths["/api/v1/verify"]["post"]
    schema = verify["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["token"]
    assert schema["additionalProperties"] is False
    assert (
        "VerifyResult"
        in verify["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )
