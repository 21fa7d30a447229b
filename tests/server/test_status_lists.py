"""Published status lists: signed, cacheable, and changed at once by a revocation; on SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from _clock import Clock
from endorsers import REGISTRY_URL, Endorser, problem_type
from fastapi.testclient import TestClient

from endorse.protocol import StatusList, verify_status_list
from endorse.server.status_lists import etag_matches, issued_at


@pytest.fixture
def alice(client: TestClient) -> Endorser:
    return Endorser(client, 1, "Alice Smith").bind()


def _fetch(client: TestClient, list_id: str, **headers: str) -> Any:
    return client.get(f"/api/v1/status-lists/{list_id}", headers=headers)


def _list(client: TestClient, alice: Endorser, list_id: str) -> StatusList:
    r = _fetch(client, list_id)
    assert r.status_code == 200, r.text
    return verify_status_list(r.json()["token"], alice.ctx.key.public_key, REGISTRY_URL)


def test_list_is_signed_and_cacheable(client: TestClient, alice: Endorser, clock: Clock) -> None:
    slot = alice.slot()
    clock.advance(7)
    r = _fetch(client, slot["list_id"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert set(r.json()) == {"token"}
    status = verify_status_list(r.json()["token"], alice.ctx.key.public_key, REGISTRY_URL)
    assert status.registry == REGISTRY_URL
    assert status.list_id == slot["list_id"]
    assert status.bits.size == 131_072
    assert status.bits.count() == 0
    assert status.max_age == 300
    assert status.issued_at == issued_at(clock.now, 300)
    assert clock.now - 30 < status.issued_at <= clock.now
    remaining = status.fresh_until - clock.now
    assert r.headers["cache-control"] == f"public, max-age={remaining}"
    assert 270 < remaining <= 300
    assert r.headers["etag"] == f'"v1.{status.issued_at}.300"'


def test_revocation_shows_in_the_next_fetch(
    client: TestClient, alice: Endorser, clock: Clock
) -> None:
    token, answer = alice.issue()
    from endorse.protocol import Endorsement, decode_unverified

    ref = decode_unverified(token, Endorsement).object.status
    assert ref is not None
    before = _fetch(client, ref.list_id)
    assert alice.revoke(answer["id"]).status_code == 200
    after = _fetch(client, ref.list_id, **{"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200  # the old copy is not current any more
    assert after.headers["etag"] != before.headers["etag"]
    status = verify_status_list(after.json()["token"], alice.ctx.key.public_key, REGISTRY_URL)
    assert status.is_revoked(ref.index)
    assert status.bits.count() == 1


@pytest.mark.parametrize("form", ["{}", "W/{}", "*", '"other", {}'])
def test_if_none_match_answers_304(
    client: TestClient, alice: Endorser, clock: Clock, form: str
) -> None:
    list_id = alice.slot()["list_id"]
    first = _fetch(client, list_id)
    tag = first.headers["etag"]
    r = _fetch(client, list_id, **{"If-None-Match": form.format(tag)})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == tag
    assert r.headers["cache-control"].startswith("public, max-age=")


def test_same_tag_same_bytes_until_the_quantum_ends(
    client: TestClient, alice: Endorser, clock: Clock
) -> None:
    list_id = alice.slot()["list_id"]
    clock.now -= clock.now % 30  # the start of a quantum
    first = _fetch(client, list_id)
    clock.advance(29)
    same = _fetch(client, list_id)
    assert same.headers["etag"] == first.headers["etag"]
    assert same.content == first.content
    assert same.headers["cache-control"] == "public, max-age=271"
    clock.advance(1)
    later = _fetch(client, list_id)
    assert later.headers["etag"] != first.headers["etag"]
    assert later.headers["cache-control"] == "public, max-age=300"
    assert _fetch(client, list_id, **{"If-None-Match": first.headers["etag"]}).status_code == 200


def test_unknown_list(client: TestClient) -> None:
    r = _fetch(client, "A" * 22)
    assert r.status_code == 404
    assert problem_type(r) == "not-found"
    assert _fetch(client, "no%20such").status_code == 422


def test_max_age_follows_settings(settings: Any, clock: Clock) -> None:
    from endorse.server.app import create_app

    with TestClient(
        create_app(settings.model_copy(update={"status_max_age": 60}), clock=clock),
        base_url=REGISTRY_URL,
    ) as client:
        alice = Endorser(client, 1).bind()
        status = _list(client, alice, alice.slot()["list_id"])
        assert status.max_age == 60
        assert status.issued_at == clock.now - clock.now % 6


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ('"v1.10.300"', True),
        ('W/"v1.10.300"', True),
        ('"v1.1.300", "v1.10.300"', True),
        ("*", True),
        ('"v1.1.300"', False),
        ("v1.10.300", False),
        ("", False),
    ],
)
def test_etag_matching(header: str | None, matches: bool) -> None:
    assert etag_matches(header, '"v1.10.300"') is matches
