"""Offline verification against a registry process that goes away: it keeps working until the
status list's max-age runs out, then says ``status_unavailable`` (or, within an allowed
staleness, ``valid``), and recovers when the registry is back. Sync and async clients, an
in-memory and an on-disk cache, on SQLite and PostgreSQL. Time passes by moving the clients'
clock and the registry's together, never by waiting for it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sdk_helpers import Blocking, VirtualClock, clocked_registry, new_endorser

from endorse.client import AsyncClient, Client, RegistryUnreachable
from endorse.protocol import Relationship, Subject, Verdict

MAX_AGE = 4
BOB = Subject("Bob Jones", email="bob@example.com")
WORK = Relationship("work", "manager", org="Acme")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_offline_until_max_age_then_status_unavailable(
    kind: str, tmp_path: Path, clock: VirtualClock
) -> None:
    pins, cache = tmp_path / "pins.json", tmp_path / "cache"
    runner = asyncio.Runner()
    with clocked_registry(kind, tmp_path, ENDORSE_STATUS_MAX_AGE=str(MAX_AGE)) as (
        server,
        server_clock,
    ):

        def time_passes(seconds: int) -> None:
            server_clock.advance(seconds)
            clock.advance(seconds)

        admin = Client(server.url, pin_store=pins)
        alice, carol = new_endorser(admin, server), new_endorser(admin, server, "Carol Doe")
        token = admin.issue(alice, "Alice Smith", BOB, WORK, ["employment-reference"]).token
        other = admin.issue(carol, "Carol Doe", BOB, WORK, ["employment-reference"]).token
        admin.close()

        sync = Client(server.url, pin_store=pins, cache_dir=cache)
        async_ = Blocking(AsyncClient(server.url, pin_store=pins), runner)
        clients = [sync, async_]
        try:
            warm = sync.verify(token)
            assert warm.verdict is Verdict.VALID and warm.status is not None
            assert async_.verify(token).verdict is Verdict.VALID
            fresh_until = warm.status.fresh_until

            server.stop()
            assert clock.now() < fresh_until, "the list went stale before the test could look"
            restarted = Client(server.url, pin_store=pins, cache_dir=cache)  # disk cache only
            clients.append(restarted)
            for client in clients:
                assert client.verify(token).verdict is Verdict.VALID
                with pytest.raises(RegistryUnreachable):
                    client.verify_online(token)
                with pytest.raises(RegistryUnreachable):
                    client.verify(other)  # an issuer never fetched cannot be vouched for

            time_passes(fresh_until + 1 - clock.now())
            for client in clients:
                stale = client.verify(token)
                assert stale.verdict is Verdict.STATUS_UNAVAILABLE, stale.detail
                assert stale.status is not None and stale.status.fresh_until == fresh_until
                assert client.verify(token, allow_stale=60).verdict is Verdict.VALID
                assert client.verify_many([token, token], allow_stale=60)[1].valid

            server.start()  # same port, same registry, same database
            for client in clients:
                # After a failure the client relies on its cache for a moment (no waiting on
                # the network on every call); then it fetches again.
                for _ in range(10):
                    again = client.verify(token)
                    if again.verdict is Verdict.VALID:
                        break
                    assert again.verdict is Verdict.STATUS_UNAVAILABLE
                    time_passes(1)
                else:
                    pytest.fail("the client did not recover within 10 s of its time")
                assert again.status is not None and again.status.fresh_until > fresh_until
                assert client.verify(other).verdict is Verdict.VALID
        finally:
            sync.close()
            async_.close()
            for client in clients[2:]:
                client.close()
            runner.close()
