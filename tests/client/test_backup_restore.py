"""``endorse db backup`` while the registry runs, then ``endorse db restore`` after the database
is lost: the restored registry verifies every token it had registered, keeps every revocation,
and its receipts and key are the same. Real processes, as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sdk_helpers import LiveServer, new_endorser

from endorse.client import Client
from endorse.protocol import PublicKey, Relationship, Subject, token_hash, verify_receipt

BOB = Subject("Bob Jones", email="bob@example.com")
MANAGER = Relationship("work", "manager", org="Acme", start="2019", end="2023")
PURPOSE = "employment-reference"


def _db(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "endorse.server", "db", *args],
        env=server._env(),
        cwd=server.directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_backup_then_restore_keeps_every_token_receipt_and_revocation(tmp_path: Path) -> None:
    database = tmp_path / "registry.sqlite3"
    server = LiveServer(f"sqlite:///{database}", tmp_path / "registry")
    backup = tmp_path / "backup.sqlite3"
    pins = tmp_path / "pins.json"
    with server, Client(server.url, pin_store=pins) as client:
        alice = new_endorser(client, server)
        tokens = [
            client.issue(alice, "Alice Smith", BOB, MANAGER, [PURPOSE]).token for _ in range(3)
        ]
        client.revoke(alice, tokens[0])
        receipts = {t: client.verify_online(t).receipt_token for t in tokens}
        key = client.connect().key

        made = _db(server, "backup", str(backup))  # online, while it serves
        assert made.returncode == 0, made.stderr
        assert oct(backup.stat().st_mode & 0o777) == "0o600"
        again = _db(server, "backup", str(backup))
        assert again.returncode == 2
        assert "never overwrites" in again.stderr

    for path in tmp_path.glob("registry.sqlite3*"):
        path.unlink()  # the database is lost
    restored = _db(server, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr

    with server, Client(server.url, pin_store=pins) as client:
        assert client.connect().key == key
        verdicts = [client.verify_online(t).verdict.value for t in tokens]
        assert verdicts == ["revoked", "valid", "valid"]
        for token, receipt in receipts.items():
            checked = verify_receipt(receipt, PublicKey.from_did(key), server.url)
            assert checked.token_hash == token_hash(token)
        # The restored registry still takes new work.
        assert client.issue(alice, "Alice Smith", BOB, MANAGER, [PURPOSE]).token


def test_restore_refuses_what_is_not_a_registry_backup(tmp_path: Path) -> None:
    server = LiveServer(f"sqlite:///{tmp_path / 'r.sqlite3'}", tmp_path / "registry")
    server.port = 8080  # never started: only its settings are used
    server.directory.mkdir()
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    result = _db(server, "restore", str(junk))
    assert result.returncode == 2
    assert "not a SQLite database" in result.stderr
    assert "Traceback" not in result.stderr


def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    server = LiveServer("postgresql+psycopg://postgres@127.0.0.1:5432/test", tmp_path / "pg")
    server.port = 8080  # never started: only its settings are used
    server.directory.mkdir()
    result = _db(server, "backup", str(tmp_path / "b"))
    assert result.returncode == 2
    assert "pg_dump" in result.stderr
