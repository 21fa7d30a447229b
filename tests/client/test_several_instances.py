"""Two registry processes on different ports sharing one PostgreSQL database and Redis, as two
hosts behind a load balancer: the same registry key at both, an endorsement registered at one
and revoked at the other is revoked at both, the rate limits are shared, and a rolling restart
(one instance at a time, SIGTERM) loses no request that was acknowledged."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _databases import postgres_schema
from live import free_port
from sdk_helpers import LiveServer, new_endorser

from endorse.client import Client, RegistryError, RegistryUnreachable
from endorse.protocol import Relationship, SigningKey, Subject
from endorse.server.registry_key import new_kek_text

REDIS_URL = os.environ.get("ENDORSE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BOB = Subject("Bob Jones", email="bob@example.com")
MANAGER = Relationship("work", "manager", org="Acme", start="2019", end="2023")
PURPOSE = "employment-reference"


class ToPort(httpx.HTTPTransport):
    """Sends every request to ``port`` on loopback: one instance behind the registry's URL,
    as from a client of its own (its address forwarded, as a trusted proxy would), so that
    no other test's requests share its rate-limit buckets in Redis."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.1"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(port=self.port)
        request.headers["x-forwarded-for"] = self.address
        return super().handle_request(request)


@pytest.fixture
def instances(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two instances; ``request.param`` (indirect), if given, is the verification limit."""
    with postgres_schema() as database:
        first = LiveServer(database, tmp_path / "a")
        second = LiveServer(database, tmp_path / "b")
        first.port = free_port()  # the registry's URL is the first instance's address
        shared = {
            "ENDORSE_REGISTRY_URL": first.url,
            "ENDORSE_REDIS_URL": REDIS_URL,
            "ENDORSE_KEY_ENCRYPTION_KEY": new_kek_text(),
            "ENDORSE_TRUSTED_PROXIES": "127.0.0.1",
            "ENDORSE_LIMIT_VERIFY_PER_CLIENT": str(getattr(request, "param", 6000)),
        }
        first.extra_env.update(shared)
        second.extra_env.update(shared)
        first.data_dir = second.data_dir  # one outbox, as one mail relay would have
        try:
            first.start()
            second.start()
            yield first, second
        finally:
            first.stop()
            second.stop()


def _client(registry: str, port: int, pins: Path) -> Client:
    return Client(registry, pin_store=pins, transport=ToPort(port), retries=0)


@pytest.mark.parametrize("instances", [8], indirect=True)
def test_two_instances_are_one_registry(
    instances: tuple[LiveServer, LiveServer], tmp_path: Path
) -> None:
    first, second = instances
    registry = first.url
    assert second.port is not None and first.port is not None
    keys = {
        httpx.get(s.url + "/.well-known/endorse-registry", timeout=30).json()["key"]
        for s in instances
    }
    assert len(keys) == 1
    assert "limits redis:" in first.log_text() and "limits redis:" in second.log_text()

    pins = tmp_path / "pins.json"
    with (
        _client(registry, first.port, pins) as at_first,
        _client(registry, second.port, pins) as at_second,
    ):
        alice = new_endorser(at_first, first)
        issued = at_first.issue(alice, "Alice Smith", BOB, MANAGER, [PURPOSE])
        assert at_second.verify_online(issued.token).verdict.value == "valid"
        at_second.revoke(alice, issued.id)
        assert at_first.verify_online(issued.token).verdict.value == "revoked"
        assert at_second.verify_online(issued.token).verdict.value == "revoked"

    # One client (its address forwarded by the trusted proxy) against both: one shared limit.
    client_address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"
    statuses = []
    for server in (first, second) * 5:
        r = httpx.post(
            server.url + "/api/v1/verify",
            json={"token": "x"},
            headers={"x-forwarded-for": client_address},
            timeout=30,
        )
        statuses.append(r.status_code)
    assert statuses == [200] * 8 + [429, 429]


def test_rolling_restart_loses_no_acknowledged_request(
    instances: tuple[LiveServer, LiveServer], tmp_path: Path
) -> None:
    first, second = instances
    assert first.port is not None and second.port is not None
    registry = first.url
    pins = tmp_path / "pins.json"
    with _client(registry, first.port, pins) as setup:
        alice = new_endorser(setup, first)
    acknowledged: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def write_continuously(key: SigningKey) -> None:
        clients = [_client(registry, port, pins) for port in (first.port, second.port)]
        try:
            turn = 0
            while not stop.is_set():
                for attempt in range(2):  # a load balancer's retry on the other instance
                    client = clients[(turn + attempt) % 2]
                    try:
                        issued = client.issue(key, "Alice Smith", BOB, MANAGER, [PURPOSE])
                    except (RegistryUnreachable, RegistryError) as e:
                        refused.append(type(e).__name__)
                        continue
                    acknowledged.append(issued.token)
                    break
                turn += 1
        finally:
            for client in clients:
                client.close()

    writer = threading.Thread(target=write_continuously, args=(alice,))
    writer.start()
    try:
        for server in (first, second):
            before = len(acknowledged)
            server.stop()  # SIGTERM: in-flight requests finish, new ones go to the other
            server.start()
            # Progress was made while this instance was away and back.
            while len(acknowledged) < before + 3 and writer.is_alive():
                stop.wait(0.05)
    finally:
        stop.set()
        writer.join(120)
    assert not writer.is_alive()
    assert len(acknowledged) >= 6
    with (
        _client(registry, first.port, pins) as at_first,
        _client(registry, second.port, pins) as at_second,
    ):
        for token in acknowledged:
            assert at_first.verify_online(token).verdict.value == "valid"
        assert at_second.verify_many(acknowledged)
        for result in at_second.verify_many(acknowledged):
            assert result.verdict.value == "valid"
