"""The async client does no file I/O on its event loop once constructed (construction reads
the pin store, once): the pin recorded on first contact, the disk cache and key files are
read and written in the client's worker thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_registry import REGISTRY_KEY, URL, FakeRegistry

from endorse.client import AsyncClient, RegistryError, keystore
from endorse.client import cache as cache_module
from endorse.client.pins import PinStore
from endorse.protocol import SigningKey, Verdict

ALICE = SigningKey.from_seed(b"\x21" * 32)


class FileCalls:
    """Records, for each file operation of the client, the thread it ran in."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, int]] = []
        for owner, name in [
            (cache_module._Disk, "__init__"),
            (cache_module._Disk, "read"),
            (cache_module._Disk, "write"),
            (cache_module._Disk, "remove"),
            (cache_module._Disk, "prune"),
            (PinStore, "_read"),
            (PinStore, "_write"),
            (PinStore, "_locked"),
        ]:
            monkeypatch.setattr(
                owner, name, self._spy(f"{owner.__name__}.{name}", getattr(owner, name))
            )
        monkeypatch.setattr(
            keystore, "read_key_file", self._spy("read_key_file", keystore.read_key_file)
        )

    def _spy(self, label: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((label, threading.get_ident()))
            return real(*args, **kwargs)

        return spy

    def names(self) -> set[str]:
        return {label for label, _ in self.calls}

    def on(self, thread: int) -> list[str]:
        return [label for label, ident in self.calls if ident == thread]


def offline(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("registry down", request=request)


def test_file_io_runs_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRegistry()
    fake.bind(ALICE)
    token = fake.token(ALICE)
    key_file = keystore.write_key(ALICE, tmp_path / "alice.pem")
    files = FileCalls(monkeypatch)
    options: dict[str, Any] = {
        "pin_store": tmp_path / "pins.json",
        "cache_dir": tmp_path / "cache",
        "transport": fake.transport,
    }

    async def first_use() -> int:
        client = AsyncClient(URL, **options)
        files.calls.clear()  # construction reads the pin store, once, up front
        async with client:
            result = await client.verify(token)  # pins on first contact, writes the cache
            assert result.verdict is Verdict.VALID, result.detail
            assert client.first_contact and client.registry_key == REGISTRY_KEY.did
            with pytest.raises(RegistryError):  # the fake has no such endpoint: a 404
                await client.register(key_file, "alice@example.com", "Alice Smith")
        return threading.get_ident()

    loop_thread = asyncio.run(first_use())
    assert files.on(loop_thread) == []
    assert {"PinStore._write", "_Disk.write", "read_key_file"} <= files.names()

    async def restarted() -> int:
        client = AsyncClient(URL, **options)
        files.calls.clear()
        async with client:  # opens the cache directory, pruned to its bounds
            results = await client.verify_many([token, token])  # facts read back from disk
            assert [r.verdict for r in results] == [Verdict.VALID] * 2
        return threading.get_ident()

    fake.override = offline
    loop_thread = asyncio.run(restarted())
    assert files.on(loop_thread) == []
    assert {"_Disk.read", "_Disk.prune"} <= files.names()
