"""Short links (spec §11.6) at the registry, on SQLite and PostgreSQL: made only for tokens
registered here, resolved by POST, withdrawn by their maker's secret or the endorser's signed
request, refused input answered with problems (never a 5xx), the /s page, the no-JavaScript
check form, and migration 0005."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from _clock import Clock
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from endorsers import REGISTRY_URL, Endorser, problem_type
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from endorse.protocol import token_hash
from endorse.server.app import create_app
from endorse.server.db import Database
from endorse.server.migrate import alembic_config, upgrade
from endorse.server.models import Base, ShortLinkRow
from endorse.server.settings import Settings
from endorse.server.short_links import MAX_LIVE_LINKS_PER_TOKEN, TooManyLinks, create

FORM = {"content-type": "application/x-www-form-urlencoded"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@pytest.fixture
def alice(client: TestClient) -> Endorser:
    return Endorser(client, 1, "Alice Smith").bind()


def _shorten(client: TestClient, token: str) -> dict[str, str]:
    r = client.post("/api/v1/links", json={"token": token})
    assert r.status_code == 201, r.text
    made: dict[str, str] = r.json()
    return made


def _resolve(client: TestClient, link_id: str) -> httpx.Response:
    return client.post("/api/v1/links/resolve", json={"id": link_id})


def test_a_short_link_gives_back_its_token(client: TestClient, alice: Endorser) -> None:
    token, _ = alice.issue()
    made = _shorten(client, token)
    assert set(made) == {"id", "url", "revocation_secret", "created_at"}
    assert re.fullmatch(r"[A-Za-z0-9_-]{21}[AQgw]", made["id"])
    assert made["url"] == f"{REGISTRY_URL}/s#{made['id']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", made["created_at"])
    assert len(made["revocation_secret"]) == 43
    r = _resolve(client, made["id"])
    assert r.status_code == 200
    assert r.json() == {"token": token}
    # Two links for one token are two ids.
    assert _shorten(client, token)["id"] != made["id"]


def test_the_database_holds_neither_the_id_nor_the_secret(
    client: TestClient, alice: Endorser
) -> None:
    token, _ = alice.issue()
    made = _shorten(client, token)
    with alice.ctx.db.read() as session:
        row = session.scalars(select(ShortLinkRow)).one()
    assert row.id_hash == hashlib.sha256(made["id"].encode()).digest()
    assert row.secret_hash == hashlib.sha256(made["revocation_secret"].encode()).digest()
    stored = f"{row.id_hash!r}{row.secret_hash!r}{row.token}{row.token_hash}{row.issuer}"
    assert made["id"] not in stored and made["revocation_secret"] not in stored


def test_the_maker_withdraws_it_with_the_secret(client: TestClient, alice: Endorser) -> None:
    token, _ = alice.issue()
    made = _shorten(client, token)
    wrong = client.post(
        "/api/v1/links/revoke", json={"id": made["id"], "revocation_secret": "A" * 43}
    )
    assert wrong.status_code == 403 and problem_type(wrong) == "forbidden"
    assert _resolve(client, made["id"]).status_code == 200
    body = {"id": made["id"], "revocation_secret": made["revocation_secret"]}
    first = client.post("/api/v1/links/revoke", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["id"] == made["id"]
    gone = _resolve(client, made["id"])
    assert gone.status_code == 404
    assert problem_type(gone) == "no-short-link"
    # Idempotent: the first withdrawal's time.
    again = client.post("/api/v1/links/revoke", json=body)
    assert again.status_code == 200 and again.json() == first.json()
    # The token itself is untouched: its own link still verifies.
    verdict = client.post("/api/v1/verify", json={"token": token}).json()["verdict"]
    assert verdict == "valid"


def test_withdrawn_and_unknown_ids_get_the_same_answer(client: TestClient, alice: Endorser) -> None:
    token, _ = alice.issue()
    made = _shorten(client, token)
    client.post(
        "/api/v1/links/revoke",
        json={"id": made["id"], "revocation_secret": made["revocation_secret"]},
    )
    withdrawn = _resolve(client, made["id"]).json()
    unknown = _resolve(client, "B" * 21 + "A").json()
    assert withdrawn == unknown


def test_the_endorser_withdraws_it_with_a_signed_request(
    client: TestClient, alice: Endorser
) -> None:
    token, _ = alice.issue()
    made = _shorten(client, token)
    unsigned = client.post("/api/v1/links/revoke", json={"id": made["id"]})
    assert unsigned.status_code == 401 and problem_type(unsigned) == "unauthorized"
    stranger = Endorser(client, 7, "Mallory").bind()
    refused = stranger.signed("POST", "/api/v1/links/revoke", {"id": made["id"]})
    assert refused.status_code == 403 and problem_type(refused) == "forbidden"
    assert _resolve(client, made["id"]).status_code == 200
    done = alice.signed("POST", "/api/v1/links/revoke", {"id": made["id"]})
    assert done.status_code == 200, done.text
    assert _resolve(client, made["id"]).status_code == 404
    again = alice.signed("POST", "/api/v1/links/revoke", {"id": made["id"]})
    assert again.status_code == 200 and again.json() == done.json()
    unknown = alice.signed("POST", "/api/v1/links/revoke", {"id": "C" * 21 + "A"})
    assert unknown.status_code == 404


def test_only_tokens_registered_here_are_shortened(client: TestClient, alice: Endorser) -> None:
    unregistered = alice.token()  # signed, with a slot here, never registered
    r = client.post("/api/v1/links", json={"token": unregistered})
    assert r.status_code == 422 and problem_type(r) == "not-registered-here"
    token, _ = alice.issue()
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    r = client.post("/api/v1/links", json={"token": tampered})
    assert r.status_code == 400 and problem_type(r) == "bad-signature"
    for text in ("https://example.org/anything", "endorsement-v1.e30.c2ln", "a.b.c"):
        r = client.post("/api/v1/links", json={"token": text})
        assert r.status_code == 400 and problem_type(r) == "malformed-token", text
    with alice.ctx.db.read() as session:
        assert session.scalars(select(ShortLinkRow)).first() is None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/links", {"token": "x" * 9000}),
        ("/api/v1/links", {"token": 5}),
        ("/api/v1/links", {"token": "a.b.c", "note": "x"}),
        ("/api/v1/links", {}),
        ("/api/v1/links/resolve", {"id": "short"}),
        ("/api/v1/links/resolve", {"id": "A" * 22 + "\n"}),
        ("/api/v1/links/resolve", {"id": "A" * 21 + "B"}),  # not a canonical 16-byte id
        ("/api/v1/links/revoke", {"id": "A" * 22, "revocation_secret": "short"}),
        ("/api/v1/links/revoke", {"id": "A" * 22, "revocation_secret": None, "x": 1}),
    ],
)
def test_bad_bodies_are_problems_not_errors(
    client: TestClient, path: str, body: dict[str, object]
) -> None:
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert problem_type(r) == "invalid-request"


def test_oversized_and_unreadable_bodies_are_refused(client: TestClient) -> None:
    big = client.post(
        "/api/v1/links",
        content=b'{"token": "' + b"a" * 70_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert big.status_code == 413
    for path in ("/api/v1/links", "/api/v1/links/resolve", "/api/v1/links/revoke"):
        r = client.post(path, content=b"{not json", headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500, (path, r.status_code)


def test_one_token_has_a_bounded_number_of_live_links(client: TestClient, alice: Endorser) -> None:
    token, _ = alice.issue()
    made = [_shorten(client, token) for _ in range(MAX_LIVE_LINKS_PER_TOKEN)]
    r = client.post("/api/v1/links", json={"token": token})
    assert r.status_code == 409 and problem_type(r) == "too-many-links"
    client.post(
        "/api/v1/links/revoke",
        json={"id": made[0]["id"], "revocation_secret": made[0]["revocation_secret"]},
    )
    _shorten(client, token)


def test_the_bound_holds_when_links_are_asked_for_at_once(
    client: TestClient, alice: Endorser
) -> None:
    # Each request counts the token's live links before adding one: without a lock, requests
    # at the same moment on PostgreSQL all count fewer than the bound and all add one.
    token, _ = alice.issue()
    ctx = alice.ctx
    start = threading.Barrier(8)

    def make(_: int) -> str:
        start.wait()
        try:
            return create(ctx, token).id
        except TooManyLinks:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(make, range(8 * 4)))
    assert made.count("refused") == 8 * 4 - MAX_LIVE_LINKS_PER_TOKEN
    with ctx.db.read() as session:
        rows = session.scalars(select(ShortLinkRow).where(ShortLinkRow.revoked_at.is_(None)))
        assert len(rows.all()) == MAX_LIVE_LINKS_PER_TOKEN


def test_a_stranger_who_fills_the_bound_is_undone_by_the_endorser(
    client: TestClient, alice: Endorser
) -> None:
    # Anyone holding the token may make links, so a stranger can make the last one allowed;
    # the ids and secrets are theirs alone, so the endorser withdraws them all by the token.
    token, _ = alice.issue()
    strangers = [_shorten(client, token) for _ in range(MAX_LIVE_LINKS_PER_TOKEN)]
    blocked = client.post("/api/v1/links", json={"token": token})
    assert blocked.status_code == 409 and problem_type(blocked) == "too-many-links"
    th = token_hash(token)
    path, body = "/api/v1/links/revoke-all", {"token_hash": th}
    unsigned = client.post(path, json=body)
    assert unsigned.status_code == 401 and problem_type(unsigned) == "unauthorized"
    mallory = Endorser(client, 7, "Mallory").bind()
    refused = mallory.signed("POST", path, body)
    assert refused.status_code == 403 and problem_type(refused) == "forbidden"
    assert _resolve(client, strangers[0]["id"]).status_code == 200
    done = alice.signed("POST", path, body)
    assert done.status_code == 200, done.text
    assert done.json()["token_hash"] == th and done.json()["withdrawn"] == len(strangers)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", done.json()["revoked_at"])
    assert all(_resolve(client, made["id"]).status_code == 404 for made in strangers)
    candidates = _shorten(client, token)  # the candidate can make one again
    assert _resolve(client, candidates["id"]).json() == {"token": token}
    again = alice.signed("POST", path, body)
    assert again.status_code == 200 and again.json()["withdrawn"] == 1
    assert alice.signed("POST", path, body).json()["withdrawn"] == 0
    unknown = alice.signed("POST", path, {"token_hash": token_hash(alice.token())})
    assert unknown.status_code == 404 and problem_type(unknown) == "not-found"
    # Withdrawing links does not withdraw the reference.
    assert client.post("/api/v1/verify", json={"token": token}).json()["verdict"] == "valid"


@pytest.fixture
def strict_client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"limit_links_per_client": 2})
    with TestClient(create_app(limited, clock=clock), base_url=REGISTRY_URL) as c:
        yield c


def test_making_links_is_rate_limited(strict_client: TestClient, clock: Clock) -> None:
    alice = Endorser(strict_client, 1).bind()
    token, _ = alice.issue()
    _shorten(strict_client, token)
    _shorten(strict_client, token)
    r = strict_client.post("/api/v1/links", json={"token": token})
    assert r.status_code == 429 and problem_type(r) == "rate-limited"
    assert int(r.headers["retry-after"]) > 0
    clock.advance(3600)
    _shorten(strict_client, token)


@pytest.fixture
def few_verifications(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"limit_verify_per_client": 2})
    with TestClient(create_app(limited, clock=clock), base_url=REGISTRY_URL) as c:
        yield c


@pytest.mark.parametrize("way", ["api", "form"])
def test_opening_links_counts_as_verifying_even_when_they_do_not_open(
    few_verifications: TestClient, clock: Clock, way: str
) -> None:
    # Ids cannot be guessed (128 bits), but the no-JavaScript form must not be a way around
    # the limit that the API's resolve is counted against.
    def open_unknown() -> httpx.Response:
        link_id = "D" * 21 + "A"
        if way == "api":
            return _resolve(few_verifications, link_id)
        form = urlencode({"token": f"{REGISTRY_URL}/s#{link_id}"})
        return few_verifications.post("/check", content=form, headers=FORM)

    assert [open_unknown().status_code for _ in range(2)] == [404, 404]
    busy = open_unknown()
    assert busy.status_code == 429 and int(busy.headers["retry-after"]) > 0
    clock.advance(60)
    assert open_unknown().status_code == 404


LINK_PATHS = [
    "/api/v1/links",
    "/api/v1/links/resolve",
    "/api/v1/links/revoke",
    "/api/v1/links/revoke-all",
]


@pytest.mark.parametrize("path", LINK_PATHS)
def test_near_miss_bodies_are_problems_never_server_errors(
    client: TestClient, alice: Endorser, path: str
) -> None:
    # Structured near misses of the three bodies (test_adversarial fuzzes every endpoint with
    # generic JSON): real and almost-real ids, secrets and tokens, under the members these
    # endpoints read, signed by the issuer, by a stranger or not at all.
    token, _ = alice.issue()
    made = _shorten(client, token)
    stranger = Endorser(client, 9, "Mallory").bind()
    text = st.one_of(
        st.sampled_from(
            [made["id"], made["revocation_secret"], token, token_hash(token), made["url"], ""]
        ),
        st.from_regex(r"[A-Za-z0-9_-]{21}[AQgw]", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9_=+/.-]{20,45}", fullmatch=True),
        st.text(max_size=50),
        st.sampled_from([made["id"] + "\n", " " + made["id"], made["id"].upper(), token[:-1]]),
    )
    value = st.one_of(text, st.none(), st.integers(), st.booleans(), st.lists(text, max_size=2))
    keys = st.sampled_from(["id", "token", "revocation_secret", "Id", "token_hash"])
    bodies = st.dictionaries(keys, value, max_size=3)

    @settings(max_examples=60, deadline=None, database=None)
    @given(body=bodies, signer=st.sampled_from([None, alice, stranger]))
    def fuzz(body: dict[str, object], signer: Endorser | None) -> None:
        r = client.post(path, json=body) if signer is None else signer.signed("POST", path, body)
        assert r.status_code in (200, 201, 400, 401, 403, 404, 409, 422, 429), (body, r.text)
        if r.status_code >= 400:
            assert r.headers["content-type"] == "application/problem+json", r.text

    fuzz()


# --- the page ------------------------------------------------------------------------------


def test_the_short_link_page_needs_javascript_and_says_so(client: TestClient) -> None:
    r = client.get("/s")
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["referrer-policy"] == "no-referrer"
    noscript = r.text.split("<noscript>", 1)[1].split("</noscript>", 1)[0]
    assert "A short link needs JavaScript" in noscript
    assert "full verification link" in noscript and "works without JavaScript" in noscript
    assert 'src="/static/endorse-check.js"' in r.text
    assert client.head("/s").status_code == 200


def test_an_id_in_the_path_is_a_damaged_link_page(client: TestClient) -> None:
    r = client.get("/s/" + "A" * 22)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "after /s#" in r.text


def test_the_form_without_javascript_opens_a_short_link(
    client: TestClient, alice: Endorser
) -> None:
    token, _ = alice.issue()
    made = _shorten(client, token)
    r = client.post("/check", content=urlencode({"token": f"<{made['url']}>."}), headers=FORM)
    assert r.status_code == 200, r.text
    assert 'data-verdict="valid"' in r.text
    other = client.post(
        "/check",
        content=urlencode({"token": f"https://other.example/s#{made['id']}"}),
        headers=FORM,
    )
    assert other.status_code == 400 and "another registry" in other.text
    client.post(
        "/api/v1/links/revoke",
        json={"id": made["id"], "revocation_secret": made["revocation_secret"]},
    )
    gone = client.post("/check", content=urlencode({"token": made["url"]}), headers=FORM)
    assert gone.status_code == 404 and "withdrawn" in gone.text


# --- migration 0005 ------------------------------------------------------------------------


def _run(db: Database, revision: str, *, down: bool = False) -> None:
    config = alembic_config(db.engine.url.render_as_string(hide_password=False))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_migration_0005_upgrades_matches_the_models_and_downgrades(
    database_url: str, tmp_path: Path
) -> None:
    db = Database.connect(database_url)
    try:
        _run(db, "0004")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO vc_status_lists (issuer, list_id, credential, valid_from,"
                    " updated_at) VALUES ('k', 'l', '{}', 1, 2)"
                )
            )
        upgrade(db.engine)
        with db.engine.connect() as connection:
            assert "short_links" in sa.inspect(connection).get_table_names()
            assert connection.execute(sa.text("SELECT list_id FROM vc_status_lists")).one() == (
                "l",
            )
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            assert differences == []
        _run(db, "0004", down=True)
        with db.engine.connect() as connection:
            assert "short_links" not in sa.inspect(connection).get_table_names()
    finally:
        db.dispose()
