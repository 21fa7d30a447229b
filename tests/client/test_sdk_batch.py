"""``verify_many`` on every core: the results in the order given, the workers' number, the
client's worker processes kept warm and stopped on close, and an AsyncClient whose awaiting
task is cancelled stops its batch (behaviour, not timing)."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from fake_registry import EMPLOYMENT, REGISTRY_KEY, URL, FakeRegistry

from endorse.client import AsyncClient, Client, VerifyItem, _verifying
from endorse.protocol import InvalidArgument, SigningKey, verify_endorsements

ALICE = SigningKey.from_seed(b"\x31" * 32)
MALLORY = SigningKey.from_seed(b"\x32" * 32)


def test_verify_many_keeps_the_order_on_every_worker_count(tmp_path: Path) -> None:
    fake = FakeRegistry()
    fake.bind(ALICE)
    good = [fake.token(ALICE, index=i) for i in range(40)]
    forged = fake.token(MALLORY, index=99)
    items: list[str | VerifyItem] = []
    for i, token in enumerate(good):
        if i % 5 == 0:
            items.append(VerifyItem(token, subject="carol@example.com"))
        elif i % 7 == 0:
            items.append(forged)
        else:
            items.append(token)
    expected = [
        "subject_mismatch" if i % 5 == 0 else "unknown_issuer" if i % 7 == 0 else "valid"
        for i in range(40)
    ]
    with Client(
        URL, registry_key=REGISTRY_KEY.did, transport=fake.transport, pin_store=tmp_path / "p"
    ) as client:
        for workers in (None, 1, 2, 3):
            results = client.verify_many(items, purpose=EMPLOYMENT, workers=workers)
            assert [r.verdict.value for r in results] == expected, workers
            assert [r.token for r in results] == [
                i.token if isinstance(i, VerifyItem) else i for i in items
            ]
        with pytest.raises(InvalidArgument):
            client.verify_many(items, workers=0)


def test_cancelling_async_verify_many_stops_its_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, proceed = threading.Event(), threading.Event()
    started: list[bool] = []  # per batch started: whether it was cancelled by then

    def spy(*args: Any, **kwargs: Any) -> Any:
        # The batch is running in the client's worker: hold it there until the test says.
        entered.set()
        proceed.wait(timeout=30)
        started.append(kwargs["cancel"].is_set())
        return verify_endorsements(*args, **kwargs)

    monkeypatch.setattr(_verifying, "verify_endorsements", spy)
    fake = FakeRegistry()
    fake.bind(ALICE)
    tokens = [fake.token(ALICE, index=i) for i in range(200)]  # heavy: verified in the worker

    async def scenario(cancel: bool) -> int:
        entered.clear()
        proceed.clear()
        async with AsyncClient(
            URL, registry_key=REGISTRY_KEY.did, transport=fake.transport, pin_store=tmp_path / "p"
        ) as client:
            task = asyncio.ensure_future(client.verify_many(tokens))
            await asyncio.get_running_loop().run_in_executor(None, entered.wait, 30)
            if cancel:
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                proceed.set()
            else:
                proceed.set()
                assert all(r.valid for r in await task)
            # Whatever ran in the worker has ended before this runs there.
            await client._in_worker(lambda: None)
        # Cold caches: a batch that ran its first pass asked for the issuer's key state.
        return fake.count("/api/v1/identities")

    assert asyncio.run(scenario(cancel=False)) == 1
    assert started == [False]  # its first pass (the second, after fetching, is one by one)
    fake.requests.clear()
    assert asyncio.run(scenario(cancel=True)) == 0
    assert started[1:] == [True]  # it went on in the worker, cancelled: nothing more was done


def test_a_large_batch_uses_the_clients_worker_processes_until_close(tmp_path: Path) -> None:
    fake = FakeRegistry()
    fake.bind(ALICE)
    tokens = [fake.token(ALICE, index=i) for i in range(_verifying.POOL_BATCH)]
    forged = fake.token(MALLORY, index=999)
    items = [*tokens[:100], forged, *tokens[100:]]
    with Client(
        URL, registry_key=REGISTRY_KEY.did, transport=fake.transport, pin_store=tmp_path / "p"
    ) as client:
        short = client.verify_many(items[:100], purpose=EMPLOYMENT)
        assert client._core._signatures is None  # a short batch starts no process
        results = client.verify_many(items, purpose=EMPLOYMENT, workers=2)
        pool = client._core._signatures
        assert pool is not None and len(pool.pids) == 2
        pids = pool.pids
        assert [r.verdict.value for r in results] == ["valid"] * 100 + ["unknown_issuer"] + [
            "valid"
        ] * (len(tokens) - 100)
        assert [r.token for r in results] == items
        assert [r.verdict for r in short] == [r.verdict for r in results[:100]]
        # Warm: the next batch uses the same processes.
        assert all(r.valid for r in client.verify_many(tokens, purpose=EMPLOYMENT, workers=2))
        assert pool.pids == pids
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)


def test_async_client_stops_its_worker_processes_on_close(tmp_path: Path) -> None:
    fake = FakeRegistry()
    fake.bind(ALICE)
    tokens = [fake.token(ALICE, index=i) for i in range(_verifying.POOL_BATCH)]

    async def scenario() -> tuple[int, ...]:
        async with AsyncClient(
            URL, registry_key=REGISTRY_KEY.did, transport=fake.transport, pin_store=tmp_path / "p"
        ) as client:
            results = await client.verify_many(tokens, purpose=EMPLOYMENT, workers=2)
            assert all(r.valid for r in results)
            pool = client._core._signatures
            assert pool is not None
            return pool.pids

    pids = asyncio.run(scenario())
    assert len(pids) == 2
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)
