"""The registry's side of the portable form (spec §13.2, §13.3): the context, and the
endorser-signed status list credentials it stores only when they match its record; bad input
is a problem document, never a 500. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _clock import Clock
from endorsers import REGISTRY_URL, Endorser, problem_type
from fastapi.testclient import TestClient

from endorse.protocol import Bitstring, Endorsement, verify_token
from endorse.protocol.vc import (
    ENDORSE_CONTEXT,
    read_status_list_credential,
    status_list_credential,
    status_list_url,
    verify_jcs,
)

JSON = {"content-type": "application/json"}


@pytest.fixture
def alice(client: TestClient) -> Endorser:
    return Endorser(client, 1, "Alice Smith").bind()


def _issued(alice: Endorser) -> tuple[str, Endorsement]:
    token, _ = alice.issue()
    return token, verify_token(token, Endorsement).object


def _size(client: TestClient, list_id: str) -> int:
    from endorse.protocol import verify_status_list

    token = client.get(f"/api/v1/status-lists/{list_id}").json()["token"]
    ctx_key = client.app.state.context.key.public_key  # type: ignore[attr-defined]
    return verify_status_list(token, ctx_key, REGISTRY_URL).bits.size


def _put(client: TestClient, alice: Endorser, list_id: str, body: Any) -> Any:
    path = status_list_url("", alice.did, list_id)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.put(path, content=content, headers=JSON)


def test_context_is_served_as_the_protocol_defines_it(client: TestClient) -> None:
    r = client.get("/api/v1/vc/contexts/v1")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/ld+json"
    assert r.json() == ENDORSE_CONTEXT


def test_store_serve_and_follow_a_revocation(
    client: TestClient, alice: Endorser, clock: Clock
) -> None:
    _, e = _issued(alice)
    assert e.status is not None
    list_id, index = e.status.list_id, e.status.index
    path = status_list_url("", alice.did, list_id)
    assert problem_type(client.get(path)) == "not-found"
    size = _size(client, list_id)
    now = clock()
    clear = status_list_credential(
        alice.key, REGISTRY_URL, list_id, Bitstring(size), valid_from=now
    )
    assert _put(client, alice, list_id, clear).status_code == 204
    served = client.get(path)
    assert served.status_code == 200 and served.headers["cache-control"] == "no-cache"
    assert served.json() == clear

    # Before the registry has the revocation, a list that shows it is refused...
    revoked_bits = Bitstring(size)
    revoked_bits.set(index)
    early = status_list_credential(alice.key, REGISTRY_URL, list_id, revoked_bits, valid_from=now)
    assert problem_type(_put(client, alice, list_id, early)) == "vc-status-mismatch"
    # ...and after it, only a list that shows it is taken.
    assert alice.revoke(e.id).status_code == 200
    stale = status_list_credential(
        alice.key, REGISTRY_URL, list_id, Bitstring(size), valid_from=now
    )
    assert problem_type(_put(client, alice, list_id, stale)) == "vc-status-mismatch"
    assert _put(client, alice, list_id, early).status_code == 204
    _, document, bits = read_status_list_credential(client.get(path).content)
    assert verify_jcs(document) == alice.key.public_key and bits.get(index)
    # No rollback to an older list, even one that was true then.
    older = status_list_credential(
        alice.key, REGISTRY_URL, list_id, revoked_bits, valid_from=now - 10
    )
    assert problem_type(_put(client, alice, list_id, older)) == "vc-status-mismatch"


def test_refusals(client: TestClient, alice: Endorser, clock: Clock) -> None:
    _, e = _issued(alice)
    assert e.status is not None
    list_id = e.status.list_id
    size = _size(client, list_id)
    now = clock()
    mallory = Endorser(client, 2, "Mallory").bind()
    unbound = Endorser(client, 3, "Nobody")

    def slc(key: Endorser, **kw: Any) -> dict[str, Any]:
        return status_list_credential(
            key.key,
            REGISTRY_URL,
            list_id,
            Bitstring(kw.pop("size", size)),
            valid_from=kw.pop("at", now),
        )

    # Signed by another key than the one in the path.
    assert problem_type(_put(client, alice, list_id, slc(mallory))) == "malformed"
    # A bound key without an endorsement in the list; a key not bound at all.
    assert problem_type(_put(client, mallory, list_id, slc(mallory))) == "not-found"
    assert problem_type(_put(client, unbound, list_id, slc(unbound))) == "forbidden"
    # Another size than the registry's list; from the future.
    if size * 2 <= 2**24:
        assert problem_type(_put(client, alice, list_id, slc(alice, size=size * 2))) == (
            "vc-status-mismatch"
        )
    assert problem_type(_put(client, alice, list_id, slc(alice, at=now + 3600))) == "malformed"
    # Tampered after signing.
    tampered = slc(alice)
    tampered["validFrom"] = "2020-01-01T00:00:00Z"
    assert problem_type(_put(client, alice, list_id, tampered)) == "malformed"


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b"null",
        b'{"a": 1, "a": 2}',
        b'{"@context": 1.5}',
        b'"\\ud800"',
        json.dumps({"@context": ["https://www.w3.org/ns/credentials/v2"]}).encode(),
        b"\xff\xfe",
    ],
    ids=[
        "truncated",
        "array",
        "null",
        "duplicate",
        "float",
        "lone_surrogate",
        "partial",
        "not_utf8",
    ],
)
def test_bad_input_is_a_problem_not_a_500(client: TestClient, alice: Endorser, body: bytes) -> None:
    r = _put(client, alice, "some-list", body)
    assert 400 <= r.status_code < 500, r.text
    r = client.get("/api/v1/vc/status-lists/did:key:nonsense/x")
    assert r.status_code in (404, 422)
