"""A registry key rotation against a real registry process: ``endorse registry-key rotate``
with the registry stopped, then a client that pinned the old key follows the rotation the old
key signed (spec §4.14) and keeps verifying; a key change nobody signed is still refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sdk_helpers import LiveServer, new_endorser

from endorse.client import Client, PinMismatch
from endorse.protocol import (
    PublicKey,
    Relationship,
    Subject,
    verify_receipt,
    verify_registry_key_rotation,
)

BOB = Subject("Bob Jones", email="bob@example.com")
MANAGER = Relationship("work", "manager", org="Acme", start="2019", end="2023")


def _key_command(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "endorse.server", "key", *args],
        env=server._env(),
        cwd=server.directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _presented(server: LiveServer) -> str:
    key: str = httpx.get(server.url + "/.well-known/endorse-registry", timeout=30).json()["key"]
    return key


def test_pinned_client_follows_a_signed_rotation_and_refuses_an_unsigned_change(
    tmp_path: Path,
) -> None:
    pins = tmp_path / "pins.json"
    server = LiveServer(f"sqlite:///{tmp_path / 'registry.sqlite3'}", tmp_path / "registry")
    with server:
        old = _presented(server)
        with Client(server.url, pin_store=pins) as client:
            alice = new_endorser(client, server)
            issued = client.issue(alice, "Alice Smith", BOB, MANAGER, ["employment-reference"])
            before = client.verify_online(issued.token)
            assert before.verdict.value == "valid"
        assert json.loads(pins.read_text()) == {server.url: old}
        server.stop()

        rotated = _key_command(server, "rotate")
        assert rotated.returncode == 0, rotated.stderr
        assert rotated.stdout.startswith(f"registry key rotated: {old} -> did:key:z")

        server.start()
        new = _presented(server)
        assert new != old
        with Client(server.url, pin_store=pins) as client:
            assert client.connect().key == new
            after = client.verify_online(issued.token)
            assert after.verdict.value == "valid"
            assert verify_receipt(after.receipt_token, PublicKey.from_did(new), server.url)
        # The pin moved, because the old key signed the change.
        assert json.loads(pins.read_text()) == {server.url: new}
        # A client given the old key explicitly follows it too.
        with Client(server.url, registry_key=old, pin_store=tmp_path / "p2.json") as client:
            assert client.connect().key == new
        info = httpx.get(server.url + "/.well-known/endorse-registry", timeout=30).json()
        assert verify_registry_key_rotation(
            info["keys"][0]["rotation"], PublicKey.from_did(old), server.url
        ).successor == (new)
        # A receipt the old key signed before the rotation still verifies under it.
        receipt = verify_receipt(before.receipt_token, PublicKey.from_did(old), server.url)
        assert receipt.verdict == "valid"

        exported = tmp_path / "keys.json"
        result = _key_command(server, "export", str(exported))
        assert result.returncode == 0, result.stderr
        assert oct(exported.stat().st_mode & 0o777) == "0o600"
        assert [k["did"] for k in json.loads(exported.read_text())["keys"]] == [new, old]

    # Another registry on the same address, with a key nobody signed over to.
    impostor = LiveServer(f"sqlite:///{tmp_path / 'other.sqlite3'}", tmp_path / "impostor")
    impostor.port = server.port
    with impostor:
        with Client(impostor.url, pin_store=pins) as client, pytest.raises(PinMismatch):
            client.connect()
        assert json.loads(pins.read_text()) == {server.url: new}
