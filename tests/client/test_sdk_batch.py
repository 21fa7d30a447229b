"""``verify_many`` on worker threads: the results in the order given, the workers' number, and
an AsyncClient whose awaiting task is cancelled stops its batch (behaviour, not timing)."""

from __future__ import annotations

import asyncio
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
