"""A cached issuer key state (key binding, key revocation) has a freshness of its own: the
registry's status max-age from when it was fetched. While the registry cannot be asked, it is
relied on only that long (plus ``allow_stale``); past that a token that passes every other
step is ``status_unavailable``, even with a status list that is still fresh. Against a real
registry process that is stopped (SQLite and PostgreSQL), sync and async clients, in memory
and from the disk cache, with the clients' clock moved; and against an in-memory registry for
a revoked key and an altered cache file."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_registry import REGISTRY_KEY, URL, FakeRegistry
from sdk_helpers import Blocking, VirtualClock, live_registry, new_endorser

from endorse.client import AsyncClient, Client, RegistryUnreachable
from endorse.protocol import Relationship, SigningKey, Subject, Verdict
from endorse.protocol.objects import MAX_STATUS_LIST_AGE

MAX_AGE = 60
BOB = Subject("Bob Jones", email="bob@example.com")
WORK = Relationship("work", "manager", org="Acme")
PURPOSE = "employment-reference"


def issuer_key_check(result: object) -> tuple[bool, str]:
    (check,) = [c for c in result.checks if c.name == "issuer_key"]  # type: ignore[attr-defined]
    return check.passed, check.detail


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_stale_key_state_is_not_relied_on_past_its_max_age(
    kind: str, tmp_path: Path, clock: VirtualClock
) -> None:
    pins = tmp_path / "pins.json"
    runner = asyncio.Runner()
    with live_registry(kind, tmp_path, ENDORSE_STATUS_MAX_AGE=str(MAX_AGE)) as server:
        admin = Client(server.url, pin_store=pins)
        alice = new_endorser(admin, server)
        token = admin.issue(alice, "Alice Smith", BOB, WORK, [PURPOSE]).token
        admin.close()

        # The recruiters' clocks run 20 s behind the registry's: the key states they fetch
        # now turn stale 20 s before the status list fetched with them (dated by the
        # registry), which leaves a window where only the key state is stale.
        clock.frozen = fetched_at = int(time.time()) - 20
        sync = Client(server.url, pin_store=pins, cache_dir=tmp_path / "sync-cache")
        async_ = Blocking(
            AsyncClient(server.url, pin_store=pins, cache_dir=tmp_path / "async-cache"), runner
        )
        clients = [sync, async_]
        try:
            warm = [client.verify(token, purpose=PURPOSE) for client in clients]
            assert all(r.verdict is Verdict.VALID for r in warm), [r.detail for r in warm]
            key_fresh_until = fetched_at + MAX_AGE
            assert warm[0].status is not None
            list_fresh_until = warm[0].status.fresh_until
            assert list_fresh_until > key_fresh_until + 5, "no window to look into"

            server.stop()
            restarted = Client(server.url, pin_store=pins, cache_dir=tmp_path / "sync-cache")
            clients.append(restarted)  # what it knows comes from the disk cache alone

            clock.frozen = key_fresh_until  # the last second the key state is fresh
            for client in clients:
                assert client.verify(token, purpose=PURPOSE).verdict is Verdict.VALID

            clock.frozen = key_fresh_until + 5  # the key state is stale, the list is not
            for client in clients:
                stale = client.verify(token, purpose=PURPOSE)
                assert stale.verdict is Verdict.STATUS_UNAVAILABLE, stale.detail
                assert stale.detail == "issuer key state is stale"
                passed, detail = issuer_key_check(stale)
                assert not passed
                assert (
                    f"fresh until {key_fresh_until}: not fresh at {key_fresh_until + 5}" in detail
                )
                assert stale.status is not None
                assert stale.checked_at <= stale.status.fresh_until  # the list is fresh
                # What the stale state cannot vouch for is only "not revoked since": other
                # steps still decide, and a caller may allow a stated staleness.
                other = client.verify(token, purpose="tenancy-application")
                assert other.verdict is Verdict.PURPOSE_NOT_ALLOWED
                assert client.verify(token, purpose=PURPOSE, allow_stale=4).verdict is (
                    Verdict.STATUS_UNAVAILABLE
                )
                allowed = client.verify(token, purpose=PURPOSE, allow_stale=5)
                assert allowed.verdict is Verdict.VALID
                passed, detail = issuer_key_check(allowed)
                assert passed
                assert "5 s past its max-age (allowed)" in detail
                batch = client.verify_many([token, token], purpose=PURPOSE)
                assert [r.verdict for r in batch] == [Verdict.STATUS_UNAVAILABLE] * 2

            server.start()  # same port, same registry: the key state is fetched afresh
            clock.run_from(key_fresh_until + 5)
            for client in clients:
                # After a failure the client relies on its cache for a moment; the test moves
                # the clients' time on instead of waiting it out.
                for _ in range(60):
                    again = client.verify(token, purpose=PURPOSE)
                    if again.verdict is Verdict.VALID:
                        break
                    assert again.verdict is Verdict.STATUS_UNAVAILABLE
                    clock.advance(1)
                else:
                    pytest.fail("the client did not recover within 60 s of its time")
                passed, detail = issuer_key_check(again)
                assert passed
                assert detail == "issuer key not revoked"
        finally:
            for client in clients:
                client.close()
            runner.close()


# --- against an in-memory registry: what a stale key state still decides ---------------------

ALICE = SigningKey.from_seed(b"\x21" * 32)


def offline(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("registry down", request=request)


def test_a_stale_revoked_key_state_still_decides_against_a_token(
    connect: Any, clock: VirtualClock
) -> None:
    fake = FakeRegistry()
    real = int(time.time())
    revoked_from = real - 100
    fake.bind(ALICE, revoked_from=revoked_from)
    before, after = fake.token(ALICE, index=1), fake.token(ALICE, index=2)
    fake.register(before, ALICE, revoked_from - 10)  # registered before the key revocation
    fake.register(after, ALICE, revoked_from + 10)
    client = connect(URL, registry_key=REGISTRY_KEY.did, transport=fake.transport)
    clock.frozen = fetched_at = real - 20  # the key state turns stale before the list
    assert client.verify(before).verdict is Verdict.VALID
    assert client.verify(after).verdict is Verdict.ISSUER_KEY_REVOKED

    fake.override = offline
    clock.frozen = fetched_at + fake.max_age + 1
    stale = client.verify(before)
    assert stale.verdict is Verdict.STATUS_UNAVAILABLE
    assert stale.detail == "issuer key state is stale"
    # The key revocation it holds is final, as a set bit in a stale list is.
    assert client.verify(after).verdict is Verdict.ISSUER_KEY_REVOKED
    assert client.verify(before, allow_stale=1).verdict is Verdict.VALID


def test_a_cache_file_cannot_stretch_a_key_state(
    connect: Any, clock: VirtualClock, tmp_path: Path
) -> None:
    fake = FakeRegistry()
    fake.bind(ALICE)
    token = fake.token(ALICE)
    cache = tmp_path / "cache"
    options = {"registry_key": REGISTRY_KEY.did, "transport": fake.transport, "cache_dir": cache}
    assert connect(URL, **options).verify(token).valid
    (path,) = cache.rglob("issuers/*.json")
    document = json.loads(path.read_text())
    assert document["fresh_until"] == document["fetched_at"] + fake.max_age
    document["fresh_until"] = document["fetched_at"] + MAX_STATUS_LIST_AGE + 1
    path.write_text(json.dumps(document))

    fake.override = offline
    with pytest.raises(RegistryUnreachable):  # the altered file was dropped, not trusted
        connect(URL, **options).verify(token)
    assert list(cache.rglob("issuers/*.json")) == []
