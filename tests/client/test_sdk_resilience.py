"""How the SDK behaves under load and with a registry that answers oddly: concurrent calls
share answers, a big batch leaves the event loop running, ``Retry-After`` is honoured, a
"not modified" for a stale list is not believed, a registry whose ``/.well-known`` fails is
not asked on every call; and the secrets and documentation it takes (against an in-memory
registry, with the sync and the async client where both apply)."""

from __future__ import annotations

import asyncio
import inspect
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_registry import REGISTRY_KEY, URL, FakeRegistry, problem
from sdk_helpers import VirtualClock

from endorse.client import AsyncClient, Client, RegistryError, write_key
from endorse.protocol import InvalidArgument, KeyFileError, SigningKey, Verdict

ALICE = SigningKey.from_seed(b"\x21" * 32)
ENDORSERS = [SigningKey.from_seed(bytes([0x30 + i]) * 32) for i in range(20)]
LISTS = ("list-a", "list-b", "list-c")


@pytest.fixture
def fake() -> FakeRegistry:
    fake = FakeRegistry()
    fake.bind(ALICE)
    return fake


def pinned(connect: Any, fake: FakeRegistry, **options: Any) -> Any:
    return connect(URL, registry_key=REGISTRY_KEY.did, transport=fake.transport, **options)


class Slow(httpx.AsyncBaseTransport):
    """The fake registry, answering after a short delay (so concurrent calls overlap)."""

    def __init__(self, fake: FakeRegistry) -> None:
        self.inner = fake.transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return await self.inner.handle_async_request(request)


# --- concurrent calls share the registry's answers ---------------------------------------------


@pytest.mark.parametrize("files", ["memory", "pin-store-and-disk-cache"])
def test_a_cold_burst_asks_once_per_fact(tmp_path: Path, files: str) -> None:
    fake = FakeRegistry()
    for key in ENDORSERS:
        fake.bind(key)
    tokens = [fake.token(key, LISTS[i % len(LISTS)]) for i, key in enumerate(ENDORSERS)]
    options: dict[str, Any] = {"registry_key": REGISTRY_KEY.did}
    if files != "memory":  # the core's steps then run in the worker thread
        options = {"pin_store": tmp_path / "pins.json", "cache_dir": tmp_path / "cache"}

    async def burst() -> list[Verdict]:
        async with AsyncClient(URL, transport=Slow(fake), **options) as client:
            calls = (client.verify(tokens[i % len(tokens)]) for i in range(100))
            results = await asyncio.gather(*calls)
            return [r.verdict for r in results]

    assert asyncio.run(burst()) == [Verdict.VALID] * 100
    # One request per fact: the registry's description, each issuer, each list.
    assert fake.count("/.well-known") == 1
    assert fake.count("/api/v1/identities/") == len(ENDORSERS)
    assert fake.count("/api/v1/status-lists/") == len(LISTS)
    assert len(fake.requests) == 1 + len(ENDORSERS) + len(LISTS)


def test_a_shared_answer_survives_a_cancelled_caller(fake: FakeRegistry) -> None:
    token = fake.token(ALICE)

    async def main() -> Verdict:
        async with AsyncClient(URL, registry_key=REGISTRY_KEY.did, transport=Slow(fake)) as c:
            first = asyncio.create_task(c.verify(token))
            second = asyncio.create_task(c.verify(token))
            await asyncio.sleep(0.005)  # both wait on the same requests now
            first.cancel()
            result = await second
            with pytest.raises(asyncio.CancelledError):
                await first
            return result.verdict

    assert asyncio.run(main()) is Verdict.VALID
    assert fake.count("/api/v1/identities/") == 1
    assert fake.count("/api/v1/status-lists/") == 1


# --- a big batch does not hold the event loop ------------------------------------------------


def test_a_big_batch_leaves_the_event_loop_running(fake: FakeRegistry) -> None:
    token = fake.token(ALICE)
    batch = [token] * 5000

    async def main() -> tuple[float, float, int]:
        loop = asyncio.get_running_loop()
        gaps: list[float] = []

        async def ticker() -> None:
            last = loop.time()
            while True:
                await asyncio.sleep(0.005)
                gaps.append(loop.time() - last)
                last = loop.time()

        async with AsyncClient(URL, registry_key=REGISTRY_KEY.did, transport=fake.transport) as c:
            assert (await c.verify(token)).valid  # warm caches: the batch is CPU only
            ticking = asyncio.create_task(ticker())
            await asyncio.sleep(0.02)
            gaps.clear()
            started = loop.time()
            results = await c.verify_many(batch)
            took = loop.time() - started
            ticking.cancel()
            with pytest.raises(asyncio.CancelledError):
                await ticking
        assert all(r.valid for r in results)
        return took, max(gaps, default=took), len(gaps)

    took, longest, ticks = asyncio.run(main())
    assert took > 0.1, "the batch must take long enough to tell a blocked loop"
    # On the loop, the batch would be one gap as long as the batch itself.
    assert longest < took / 3, (took, longest)
    assert ticks >= 3


# --- retries -----------------------------------------------------------------------------------


def test_retry_after_is_honoured_within_bounds(
    connect: Any, fake: FakeRegistry, clock: VirtualClock
) -> None:
    answers: list[httpx.Response] = []

    def busy(request: httpx.Request) -> httpx.Response | None:
        return answers.pop(0) if answers else None

    fake.override = busy
    answers.append(problem(503, "unavailable", "maintenance", **{"Retry-After": "1"}))
    assert pinned(connect, fake, retries=2).connect().key == REGISTRY_KEY.did
    assert clock.slept == [1.0]  # waited as asked, not the short backoff
    assert fake.count("/.well-known") == 2

    # A 429 is retried only when it says when: without Retry-After it is the answer.
    answers.append(problem(429, "rate-limited", "slow down", **{"Retry-After": "1"}))
    assert pinned(connect, fake, retries=2).connect().key == REGISTRY_KEY.did
    assert fake.count("/.well-known") == 4 and clock.slept == [1.0, 1.0]
    answers.append(problem(429, "rate-limited", "slow down"))
    with pytest.raises(RegistryError) as limited:
        pinned(connect, fake, retries=2).connect()
    assert limited.value.status == 429 and fake.count("/.well-known") == 5

    # Longer than the bound: not waited for; the caller is told how long.
    answers.append(problem(503, "unavailable", "maintenance", **{"Retry-After": "31"}))
    with pytest.raises(RegistryError) as refused:
        pinned(connect, fake, retries=2).connect()
    assert clock.slept == [1.0, 1.0]  # not waited for at all
    assert (refused.value.status, refused.value.retry_after) == (503, 31)
    assert fake.count("/.well-known") == 6


# --- a "not modified" for a list past its freshness --------------------------------------------


def test_not_modified_for_a_stale_list_asks_again_at_once(
    connect: Any, fake: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake's ETag is the list's version only (not its iat, as the real server's is):
    # it answers 304 to a copy that is past its own iat + ttl.
    token = fake.token(ALICE)
    client = pinned(connect, fake)
    assert client.verify(token).valid
    later = time.time() + fake.max_age + 100  # the cached list is stale by then
    monkeypatch.setattr(time, "time", lambda: later)
    result = client.verify(token)
    assert result.valid, result.detail  # not status_unavailable: the registry was asked
    lists = [r for r in fake.requests if r.url.path.startswith("/api/v1/status-lists/")]
    assert [r.headers.get("if-none-match") for r in lists] == [None, '"v1"', None]
    assert client.verify(token).valid  # the list fetched is fresh: not asked again
    assert fake.count("/api/v1/status-lists/") == 3


# --- a registry whose description fails --------------------------------------------------------


def test_a_failing_well_known_is_not_asked_on_every_call(
    connect: Any, fake: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.max_age = 20  # what the registry signs into its lists (its ttl)
    fake.cache_control = "public, max-age=0"  # every verification revalidates the list
    fake.override = lambda request: (
        problem(500, "internal", "broken") if request.url.path.startswith("/.well-known") else None
    )
    token = fake.token(ALICE)
    client = pinned(connect, fake, retries=0)
    for _ in range(3):
        assert client.verify(token).valid
    assert fake.count("/.well-known") == 1
    assert fake.count("/api/v1/identities/") == 1
    # Its max-age, unknown from /.well-known, is the ttl its lists carry: the key state is
    # asked for again after 20 s, not after a default 300.
    later = time.time() + 25
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.verify(token).valid
    assert fake.count("/api/v1/identities/") == 2
    assert fake.count("/.well-known") == 1  # still within its short negative cache
    later += 30
    assert client.verify(token).valid
    assert fake.count("/.well-known") == 2


# --- secrets are given, not taken from the environment ---------------------------------------


def test_a_key_file_passphrase_is_given_explicitly(
    connect: Any, fake: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = write_key(ALICE, tmp_path / "alice.pem", passphrase=b"correct horse")
    monkeypatch.setenv("ENDORSE_PASSPHRASE", "correct horse")  # never read by the SDK
    with pytest.raises(KeyFileError, match="passphrase is needed"):
        pinned(connect, fake).register(key_file, "alice@example.com", "Alice Smith")
    assert fake.requests == []
    asked: list[str] = []

    def passphrase() -> bytes:
        asked.append("asked")
        return b"correct horse"

    client = pinned(connect, fake, key_passphrase=passphrase)
    with pytest.raises(RegistryError):  # the fake has no such endpoint; the key opened
        client.register(key_file, "alice@example.com", "Alice Smith")
    assert asked == ["asked"]
    assert fake.requests[-1].headers["endorse-key"] == ALICE.did
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        pinned(connect, fake, key_passphrase=b"wrong").register(key_file, "a@example.com", "A")
    with pytest.raises(InvalidArgument):
        pinned(connect, fake, key_passphrase="correct horse")  # a str: bytes are asked for


# --- one documentation for both clients ------------------------------------------------------


def test_the_async_client_mirrors_the_sync_client() -> None:
    """The async client's methods are the sync client's, awaited: same names and parameters,
    and each docstring refers to the one place the behaviour is documented."""

    def public(cls: type) -> dict[str, Any]:
        return {
            name: member
            for name, member in vars(cls).items()
            if not name.startswith("_") and inspect.isfunction(member)
        }

    sync, asynchronous = public(Client), public(AsyncClient)
    assert set(sync) - {"close"} == set(asynchronous) - {"aclose"}
    for name, method in asynchronous.items():
        if name == "aclose":
            continue
        assert inspect.signature(method) == inspect.signature(sync[name]), name
        assert sync[name].__doc__, name
        if inspect.iscoroutinefunction(method):
            assert (method.__doc__ or "").startswith(f"As :meth:`Client.{name} "), name
        else:  # the few plain methods keep their own (short) docstring, the same
            assert method.__doc__ == sync[name].__doc__, name
    constructor = inspect.signature(AsyncClient.__init__).parameters
    assert list(constructor) == list(inspect.signature(Client.__init__).parameters)
