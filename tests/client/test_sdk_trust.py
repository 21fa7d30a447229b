"""What the SDK refuses to trust, and how it caches, against an in-memory registry
(httpx MockTransport), with the sync and the async client."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_registry import BOB, MALLORY_KEY, MANAGER, REGISTRY_KEY, URL, FakeRegistry, problem
from sdk_helpers import VirtualClock

from endorse.client import (
    AsyncClient,
    Client,
    PinMismatch,
    PinStoreError,
    RegistryError,
    RegistryStatementInvalid,
    RegistryUnreachable,
    VerifyItem,
)
from endorse.protocol import (
    EndorseError,
    InvalidArgument,
    KeyBinding,
    MalformedToken,
    SigningKey,
    Subject,
    Verdict,
    sign,
    token_hash,
)

ALICE = SigningKey.from_seed(b"\x21" * 32)
CAROL = SigningKey.from_seed(b"\x22" * 32)


@pytest.fixture
def fake() -> FakeRegistry:
    fake = FakeRegistry()
    fake.bind(ALICE)
    return fake


def pinned(connect: Any, fake: FakeRegistry, **options: Any) -> Any:
    return connect(URL, registry_key=REGISTRY_KEY.did, transport=fake.transport, **options)


# --- pinning ---------------------------------------------------------------------------------


def test_statements_verify_under_the_pinned_key(connect: Any, fake: FakeRegistry) -> None:
    client = pinned(connect, fake)
    result = client.verify(fake.token(ALICE))
    assert result.verdict is Verdict.VALID, result.detail
    assert client.first_contact is False  # the key was given, not learnt


def test_a_registry_presenting_another_key_is_refused(connect: Any, fake: FakeRegistry) -> None:
    fake.presented = fake.signer = MALLORY_KEY
    fake.bind(ALICE)
    client = pinned(connect, fake)
    with pytest.raises(PinMismatch) as refused:
        client.verify(fake.token(ALICE))
    assert (refused.value.pinned, refused.value.found) == (REGISTRY_KEY.did, MALLORY_KEY.did)
    with pytest.raises(PinMismatch):
        client.connect()


@pytest.mark.parametrize("statement", ["binding", "status_list", "registration"])
def test_a_statement_signed_by_another_key_is_refused(
    connect: Any, fake: FakeRegistry, statement: str
) -> None:
    token = fake.token(ALICE)
    if statement == "binding":
        fake.signer = MALLORY_KEY
        fake.bind(ALICE)
    elif statement == "status_list":
        fake.signer = MALLORY_KEY
    else:
        fake.bind(ALICE, revoked_from=fake.now() - 10)  # the verdict needs the registration
        fake.signer = MALLORY_KEY
        fake.register(token, ALICE, fake.now() - 30)
        fake.signer = REGISTRY_KEY
    client = pinned(connect, fake)
    with pytest.raises(RegistryStatementInvalid, match="does not verify under the pinned key"):
        client.verify(token)


def test_a_binding_of_another_key_is_refused(connect: Any, fake: FakeRegistry) -> None:
    carol_binding = fake.identities[ALICE.did]
    fake.bind(CAROL)
    fake.identities[ALICE.did] = fake.identities[CAROL.did]
    client = pinned(connect, fake)
    with pytest.raises(RegistryStatementInvalid, match="another key"):
        client.verify(fake.token(ALICE))
    assert carol_binding  # the original binding was valid; only the swap is refused


def test_receipts_are_checked(connect: Any, fake: FakeRegistry) -> None:
    token = fake.token(ALICE)
    client = pinned(connect, fake)
    online = client.verify_online(token)
    assert online.verdict is Verdict.VALID and online.receipt.token_hash == token_hash(token)
    fake.signer = MALLORY_KEY
    with pytest.raises(RegistryStatementInvalid):
        client.verify_online(token)
    fake.signer = REGISTRY_KEY
    fake.receipt_hash = token_hash("another token")
    with pytest.raises(RegistryStatementInvalid, match="disagrees"):
        client.verify_online(token)


def test_trust_on_first_use_then_refuse_a_change(
    connect: Any, fake: FakeRegistry, tmp_path: Path
) -> None:
    store = tmp_path / "state" / "known_registries.json"
    first = connect(URL, pin_store=store, transport=fake.transport)
    assert first.registry_key is None
    assert first.verify(fake.token(ALICE)).valid
    assert first.first_contact is True
    assert first.registry_key == REGISTRY_KEY.did
    assert json.loads(store.read_text()) == {URL: REGISTRY_KEY.did}
    assert stat.S_IMODE(store.stat().st_mode) == 0o600

    second = connect(URL, pin_store=store, transport=fake.transport)
    assert second.registry_key == REGISTRY_KEY.did  # known before any contact
    assert second.connect().key == REGISTRY_KEY.did
    assert second.first_contact is False

    # The registry now presents another key (and signs with it): refused, never re-pinned.
    fake.presented = fake.signer = MALLORY_KEY
    fake.bind(ALICE)
    third = connect(URL, pin_store=store, transport=fake.transport)
    with pytest.raises(PinMismatch):
        third.verify(fake.token(ALICE))
    assert json.loads(store.read_text()) == {URL: REGISTRY_KEY.did}


def test_default_pin_store_lives_in_endorse_home(
    connect: Any, fake: FakeRegistry, endorse_home: Path
) -> None:
    client = connect(URL, pin_store=None, transport=fake.transport)
    client.connect()
    assert json.loads((endorse_home / "known_registries.json").read_text()) == {
        URL: REGISTRY_KEY.did
    }


@pytest.mark.parametrize(
    "content", [b"{not json", b"[]", b'{"https://registry.example": "did:key:zNope"}']
)
def test_an_unusable_pin_store_is_an_error(connect: Any, tmp_path: Path, content: bytes) -> None:
    store = tmp_path / "pins.json"
    store.write_bytes(content)
    with pytest.raises(PinStoreError):
        connect(URL, pin_store=store)


def test_a_registry_describing_itself_as_another_is_refused(
    connect: Any, fake: FakeRegistry
) -> None:
    fake.described_as = "https://other.example"
    with pytest.raises(RegistryStatementInvalid, match="describes itself"):
        connect(URL, transport=fake.transport).connect()


def test_constructor_refuses_bad_arguments(connect: Any) -> None:
    for bad in ("ftp://registry.example", "https://Registry.example", "https://r.example/"):
        with pytest.raises(InvalidArgument):
            connect(bad)
    with pytest.raises(EndorseError):
        connect(URL, registry_key="did:key:z6Mk-not-a-key")
    with pytest.raises(InvalidArgument):
        connect(URL, max_issuers=0)
    with pytest.raises(InvalidArgument):
        connect(URL, timeout=0)
    with pytest.raises(InvalidArgument):
        connect(URL, retries=-1)


# --- failures are errors, not verdicts -------------------------------------------------------


def test_problem_documents_become_registry_errors(
    connect: Any, fake: FakeRegistry, clock: VirtualClock
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.startswith("/api/v1/identities/"):
            return problem(429, "rate-limited", "slow down", **{"retry-after": "7"})
        return None

    fake.override = refuse
    client = pinned(connect, fake)
    with pytest.raises(RegistryError) as refused:
        client.verify(fake.token(ALICE))
    error = refused.value
    assert (error.status, error.type, error.slug) == (
        429,
        "urn:endorse:problem:rate-limited",
        "rate-limited",
    )
    assert (error.detail, error.retry_after) == ("slow down", 7)
    assert isinstance(error, EndorseError)
    assert clock.slept == [7.0, 7.0]  # asked again after each Retry-After, then answered


def test_unknown_issuer_is_a_verdict(connect: Any, fake: FakeRegistry) -> None:
    client = pinned(connect, fake)
    assert client.verify(fake.token(CAROL)).verdict is Verdict.UNKNOWN_ISSUER
    # The negative answer is cached for a while: not asked again at once.
    asked = fake.count("/api/v1/identities/")
    assert client.verify(fake.token(CAROL)).verdict is Verdict.UNKNOWN_ISSUER
    assert fake.count("/api/v1/identities/") == asked


def test_idempotent_calls_are_retried_others_never(connect: Any, fake: FakeRegistry) -> None:
    failures = {"left": 2}

    def flaky(request: httpx.Request) -> httpx.Response | None:
        if failures["left"] > 0:
            failures["left"] -= 1
            if request.url.path.startswith("/.well-known"):
                return problem(503, "unavailable", "try again")
            raise httpx.ConnectError("refused", request=request)
        return None

    fake.override = flaky
    client = connect(URL, transport=fake.transport, retries=2)
    assert client.connect().key == REGISTRY_KEY.did
    assert fake.count("/.well-known") == 3

    # A POST with side effects is sent once, whatever happens.
    failures["left"] = 5
    endorser = SigningKey.generate()
    with pytest.raises(RegistryUnreachable):
        client.register(endorser, "dana@example.com", "Dana Doe")
    assert fake.count("/api/v1/identities/register") == 1

    # POST /verify has no side effects: retried.
    failures["left"] = 2
    assert client.verify_online(fake.token(ALICE)).valid
    assert fake.count("/api/v1/verify") == 3

    # Out of retries: the last answer is the error.
    failures["left"] = 10
    with pytest.raises(RegistryError) as refused:
        connect(URL, transport=fake.transport, retries=1).connect()
    assert refused.value.status == 503
    assert fake.count("/.well-known") == 5


def test_oversized_answers_are_refused(connect: Any, fake: FakeRegistry) -> None:
    fake.override = lambda request: httpx.Response(200, content=b" " * (5 * 1024 * 1024))
    with pytest.raises(RegistryStatementInvalid, match="larger"):
        connect(URL, transport=fake.transport).connect()


def test_malformed_answers_are_refused(connect: Any, fake: FakeRegistry) -> None:
    fake.override = lambda request: (
        httpx.Response(200, json={"key": ALICE.did})
        if request.url.path.startswith("/api/v1/identities/")
        else None
    )
    with pytest.raises(RegistryStatementInvalid, match="not the answer promised"):
        pinned(connect, fake).verify(fake.token(ALICE))


# --- freshness, ETags and staleness ----------------------------------------------------------


def test_etag_revalidation_keeps_the_cached_list(connect: Any, fake: FakeRegistry) -> None:
    token = fake.token(ALICE)
    fake.cache_control = "public, max-age=0"  # revalidate on every use
    client = pinned(connect, fake)
    assert client.verify(token).valid
    assert client.verify(token).valid
    lists = [r for r in fake.requests if r.url.path.startswith("/api/v1/status-lists/")]
    assert len(lists) == 2
    assert "if-none-match" not in lists[0].headers
    assert lists[1].headers["if-none-match"] == '"v1"'  # answered 304: the copy is current
    # A 304 that says "fresh for a while": not asked again in that while.
    fake.cache_control = "public, max-age=100"
    assert client.verify(token).valid
    assert client.verify(token).valid
    assert fake.count("/api/v1/status-lists/") == 3
    # A changed list gets a new ETag, and a revocation is never answered by a 304.
    fake.cache_control = "public, max-age=0"
    client2 = pinned(connect, fake)
    assert client2.verify(token).valid
    fake.revoke("list-1", 5)
    assert client2.verify(token).verdict is Verdict.REVOKED


def test_stale_lists_are_status_unavailable_unless_allowed(
    connect: Any, fake: FakeRegistry
) -> None:
    token = fake.token(ALICE)
    fake.list_age = fake.max_age + 30  # every list served is 30 s past its max-age
    client = pinned(connect, fake)
    result = client.verify(token)
    assert result.verdict is Verdict.STATUS_UNAVAILABLE
    assert result.status is not None  # the stale list, with its iat, is in the result
    assert client.verify(token, allow_stale=60).verdict is Verdict.VALID
    assert client.verify(token, allow_stale=10).verdict is Verdict.STATUS_UNAVAILABLE
    with pytest.raises(InvalidArgument):
        client.verify(token, allow_stale=-1)


def test_a_revoked_key_needs_a_registration(connect: Any, fake: FakeRegistry) -> None:
    now = fake.now()
    early, late = fake.token(ALICE, index=1), fake.token(ALICE, index=2)
    fake.register(early, ALICE, now - 100)
    fake.bind(ALICE, revoked_from=now - 50)
    client = pinned(connect, fake)
    results = client.verify_many([early, late, early])
    assert [r.verdict for r in results] == [
        Verdict.VALID,
        Verdict.ISSUER_KEY_REVOKED,
        Verdict.VALID,
    ]
    assert fake.count("/api/v1/registrations/") == 2  # each token's once


def test_verify_many_dedupes_and_keeps_order(connect: Any, fake: FakeRegistry) -> None:
    fake.bind(CAROL)
    tokens = [fake.token(ALICE, "a", 1), fake.token(CAROL, "b", 2), fake.token(ALICE, "a", 3)]
    fake.revoke("b", 2)
    client = pinned(connect, fake, max_issuers=1, max_lists=1)
    items = [*tokens, VerifyItem(tokens[0], purpose="tenancy-reference"), "junk"]
    results = client.verify_many(items, purpose="employment-reference")
    assert [r.verdict for r in results] == [
        Verdict.VALID,
        Verdict.REVOKED,
        Verdict.VALID,
        Verdict.PURPOSE_NOT_ALLOWED,
        Verdict.MALFORMED,
    ]
    assert fake.count("/api/v1/identities/") == 2
    assert fake.count("/api/v1/status-lists/") == 2
    stats = client.cache_stats()
    assert (stats.issuers, stats.lists) == (1, 1) and stats.evictions == 2


# --- the on-disk cache -----------------------------------------------------------------------


def offline(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("registry down", request=request)


def test_disk_cache_serves_a_restarted_verifier_offline(
    connect: Any, fake: FakeRegistry, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    token = fake.token(ALICE)
    assert pinned(connect, fake, cache_dir=cache).verify(token).valid
    files = list(cache.rglob("*.json"))
    assert len(files) == 2  # the issuer's key state and the status list
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert all(token not in p.read_text() for p in files)  # facts, not the tokens verified

    fake.override = offline
    restarted = pinned(connect, fake, cache_dir=cache)
    assert restarted.verify(token).valid
    with pytest.raises(RegistryUnreachable):
        restarted.verify(fake.token(CAROL))  # nobody ever vouched for Carol's key
    with pytest.raises(RegistryUnreachable):
        restarted.verify_online(token)


def test_tampered_cache_files_are_dropped(connect: Any, fake: FakeRegistry, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    token = fake.token(ALICE)
    assert pinned(connect, fake, cache_dir=cache).verify(token).valid
    # Mallory rewrites the cached binding of her own key... signed by her key, not the
    # registry's; and corrupts the status list file.
    forged = KeyBinding(
        registry=URL,
        key=ALICE.did,
        email="mallory@example.com",
        name="Mallory",
        since=1,
        method="email-code",
        issued_at=1,
    )
    for path in cache.rglob("*.json"):
        document = json.loads(path.read_text())
        if "binding" in document:
            document["binding"] = sign(forged, MALLORY_KEY)
            path.write_text(json.dumps(document))
        else:
            path.write_text("{broken")
    fake.override = offline
    with pytest.raises(RegistryUnreachable):
        pinned(connect, fake, cache_dir=cache).verify(token)
    assert list(cache.rglob("*.json")) == []  # both unusable files were removed
    fake.override = None
    again = pinned(connect, fake, cache_dir=cache)
    result = again.verify(token)
    assert result.valid and result.issuer is not None
    assert result.issuer.identity == "alice@example.com"


def revoked_then_tampered(connect: Any, fake: FakeRegistry, cache: Path) -> tuple[str, Path]:
    """A token of a key revoked 30 s ago, verified once with a disk cache; then its issuer
    file rewritten to drop the (signed) key revocation and re-date its (unsigned) fetch."""
    now = fake.now()
    fake.bind(ALICE, revoked_from=now - 30)
    token = fake.token(ALICE)
    assert pinned(connect, fake, cache_dir=cache).verify(token).verdict is (
        Verdict.ISSUER_KEY_REVOKED
    )
    (path,) = cache.rglob("issuers/*.json")
    document = json.loads(path.read_text())
    document.update(key_revocation=None, fetched_at=now - 1, fresh_until=now + 86_000)
    path.write_text(json.dumps(document))
    return token, path


def test_the_cache_directory_is_private(connect: Any, fake: FakeRegistry, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert pinned(connect, fake, cache_dir=cache).verify(fake.token(ALICE)).valid
    (root,) = cache.iterdir()
    directories = [cache, root, *(p for p in root.rglob("*") if p.is_dir())]
    assert len(directories) == 5  # the cache's, the registry's, one per kind of fact
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in directories)
    files = list(root.rglob("*.json"))
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    # A registry directory made wider (by an older client's umask, a careless copy) is
    # narrowed when it is opened again.
    root.chmod(0o775)
    (root / "issuers").chmod(0o777)
    assert pinned(connect, fake, cache_dir=cache).verify(fake.token(ALICE)).valid
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "issuers").stat().st_mode) == 0o700


@pytest.mark.parametrize("how", ["group-writable", "symlink"])
def test_cache_files_others_could_write_are_not_read(
    connect: Any, fake: FakeRegistry, tmp_path: Path, how: str
) -> None:
    # The cache is trusted as the pin store is (see endorse.client.cache): what is not
    # signed in it (a key state's dates, whether a key revocation came with it) is believed
    # only from a private file of this user's own.
    cache = tmp_path / "cache"
    token, path = revoked_then_tampered(connect, fake, cache)
    if how == "group-writable":
        path.chmod(0o660)
    else:
        elsewhere = tmp_path / "planted.json"
        path.rename(elsewhere)
        path.symlink_to(elsewhere)
    fake.override = offline
    with pytest.raises(RegistryUnreachable):  # no key state: never "valid"
        pinned(connect, fake, cache_dir=cache).verify(token)
    assert not path.exists() and not path.is_symlink()  # dropped


def test_a_key_state_from_disk_is_asked_again_once_reachable(
    connect: Any, fake: FakeRegistry, tmp_path: Path
) -> None:
    # Even an altered private file only stands while the registry cannot be asked.
    cache = tmp_path / "cache"
    token, _ = revoked_then_tampered(connect, fake, cache)
    result = pinned(connect, fake, cache_dir=cache).verify(token)
    assert result.verdict is Verdict.ISSUER_KEY_REVOKED
    assert fake.count("/api/v1/identities/") == 2


def test_disk_cache_is_bounded(connect: Any, fake: FakeRegistry, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fake.bind(CAROL)
    third = SigningKey.from_seed(b"\x23" * 32)
    fake.bind(third)
    client = pinned(connect, fake, cache_dir=cache, max_issuers=2, max_lists=1)
    tokens = [fake.token(k, f"list-{i}") for i, k in enumerate((ALICE, CAROL, third))]
    assert all(r.valid for r in client.verify_many(tokens))
    issuers = list(cache.rglob("issuers/*.json"))
    lists = list(cache.rglob("lists/*.json"))
    assert (len(issuers), len(lists)) == (2, 1)
    os.utime(issuers[0], (time.time() - 10, time.time() - 10))
    # A verifier with smaller bounds prunes the directory to them when it opens it.
    pinned(connect, fake, cache_dir=cache, max_issuers=1, max_lists=1).connect()
    assert len(list(cache.rglob("issuers/*.json"))) == 1


def test_an_unreachable_registry_is_not_asked_on_every_call(
    connect: Any, fake: FakeRegistry
) -> None:
    token = fake.token(ALICE)
    fake.cache_control = "public, max-age=0"  # the list is due for revalidation on each use
    client = pinned(connect, fake, retries=2)
    assert client.verify(token).valid
    fake.override = offline
    asked = len(fake.requests)
    assert client.verify(token).valid  # the cached list is still fresh by its own iat + ttl
    assert len(fake.requests) == asked + 3  # one revalidation, retried twice
    for _ in range(3):  # meanwhile: the cache alone, without waiting on the network
        assert client.verify(token).valid
    assert len(fake.requests) == asked + 3


def test_issue_refuses_a_bad_field_before_asking_for_a_slot(
    connect: Any, fake: FakeRegistry
) -> None:
    client = pinned(connect, fake)
    with pytest.raises(MalformedToken):
        client.issue(
            ALICE,
            "Alice Smith",
            Subject("Bob Jones", email="not an e-mail"),
            MANAGER,
            ["employment-reference"],
        )
    with pytest.raises(MalformedToken):
        client.issue(ALICE, "Alice Smith", BOB, MANAGER, ["no-such-purpose"])
    assert fake.requests == []


def test_clients_are_context_managers(fake: FakeRegistry, tmp_path: Path) -> None:
    token = fake.token(ALICE)
    with Client(URL, registry_key=REGISTRY_KEY.did, transport=fake.transport) as client:
        assert client.verify(token).valid

    async def main() -> Verdict:
        async with AsyncClient(URL, pin_store=tmp_path / "p.json", transport=fake.transport) as c:
            results = await c.verify_many([token, token])
            assert c.first_contact and c.registry_key == REGISTRY_KEY.did
            return results[0].verdict

    assert asyncio.run(main()) is Verdict.VALID
