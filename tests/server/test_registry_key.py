"""The registry key: sealed under a key-encryption key (never plain in the database), the KEK
file checked like a key file, exported and imported, rotated with the old key signing the new
one; statements the old key signed keep verifying; the upgrade from plain rows seals them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from _clock import Clock
from alembic import command
from endorsers import REGISTRY_URL, Endorser, context
from fastapi.testclient import TestClient
from pydantic import SecretStr

from endorse.protocol import (
    BadSignature,
    SigningKey,
    verify_key_binding,
    verify_receipt,
    verify_registration,
    verify_registry_key_rotation,
    verify_revocation,
)
from endorse.server import registry_key
from endorse.server.app import create_app
from endorse.server.db import Database
from endorse.server.migrate import alembic_config, upgrade
from endorse.server.registry_key import RegistryKeyError
from endorse.server.settings import Settings


def _kek() -> str:
    return registry_key.new_kek_text()


def _start(settings: Settings, clock: Clock) -> TestClient:
    return TestClient(create_app(settings, clock=clock), base_url=REGISTRY_URL)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = Database.connect(settings.sqlalchemy_url)
    yield db
    db.dispose()


def test_the_key_is_sealed_and_the_dump_cannot_sign(
    settings: Settings, clock: Clock, database: Database
) -> None:
    with _start(settings, clock) as client:
        seed = context(client).key.seed()
        did = context(client).key.did
    with database.read() as session:
        rows = session.execute(sa.text("SELECT seed, sealed, did FROM registry_keys")).all()
    assert [(row.seed, row.did) for row in rows] == [(None, did)]
    sealed = bytes(rows[0].sealed)
    assert seed not in sealed
    kek_file = settings.data_dir / registry_key.KEK_FILE_NAME
    assert oct(kek_file.stat().st_mode & 0o777) == "0o600"
    # Another KEK cannot unseal it, nor can a changed byte.
    with pytest.raises(RegistryKeyError, match="cannot be unsealed"):
        registry_key.unseal(os.urandom(32), did, sealed)
    kek = registry_key.load_kek(settings)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(RegistryKeyError):
        registry_key.unseal(kek, did, tampered)
    assert registry_key.unseal(kek, did, sealed).seed() == seed


def test_sqlite_file_holds_no_plain_seed(tmp_path: Path, clock: Clock) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    db = Database.connect(url)
    upgrade(db.engine)
    db.dispose()
    settings = Settings(registry_url=REGISTRY_URL, database_url=url, data_dir=tmp_path / "d")
    with _start(settings, clock) as client:
        seed = context(client).key.seed()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("r.sqlite3*"))
    assert seed not in raw


def test_same_kek_from_the_environment_on_every_instance(settings: Settings, clock: Clock) -> None:
    shared = settings.model_copy(update={"key_encryption_key": SecretStr(_kek())})
    with _start(shared, clock) as first:
        did = context(first).key.did
    other_dir = shared.model_copy(update={"data_dir": settings.data_dir.parent / "elsewhere"})
    with _start(other_dir, clock) as second:
        assert context(second).key.did == did
    wrong = shared.model_copy(update={"key_encryption_key": SecretStr(_kek())})
    with pytest.raises(RegistryKeyError, match="cannot be unsealed"), _start(wrong, clock):
        pass


@pytest.mark.parametrize(
    ("mode", "content", "message"),
    [
        pytest.param(0o644, None, "readable by others", id="kek_file_world_readable"),
        pytest.param(0o640, None, "readable by others", id="kek_file_group_readable"),
        pytest.param(0o600, "c2hvcnQ", "must be 32 bytes", id="kek_file_short"),
        pytest.param(0o600, "!!!", "not base64url", id="kek_file_not_base64"),
    ],
)
def test_kek_file_is_checked_like_a_key_file(
    tmp_path: Path, settings: Settings, mode: int, content: str | None, message: str
) -> None:
    path = tmp_path / "kek"
    path.write_text(content if content is not None else _kek())
    path.chmod(mode)
    configured = settings.model_copy(update={"key_encryption_key_file": path})
    with pytest.raises(RegistryKeyError, match=message):
        registry_key.load_kek(configured)


def test_kek_file_of_another_owner_is_refused(tmp_path: Path, settings: Settings) -> None:
    if os.getuid() != 0:
        pytest.fail("this test changes a file's owner: it runs as root on this machine")
    path = tmp_path / "kek"
    path.write_text(_kek())
    path.chmod(0o600)
    os.chown(path, 12345, 12345)
    configured = settings.model_copy(update={"key_encryption_key_file": path})
    with pytest.raises(RegistryKeyError, match="owned by the user"):
        registry_key.load_kek(configured)


def test_configured_kek_file_is_never_made(tmp_path: Path, settings: Settings) -> None:
    configured = settings.model_copy(update={"key_encryption_key_file": tmp_path / "missing"})
    with pytest.raises(RegistryKeyError, match="no such file"):
        registry_key.load_kek(configured)


def test_export_then_import_moves_the_registry_keys(
    settings: Settings, clock: Clock, database: Database, tmp_path: Path
) -> None:
    with _start(settings, clock) as client:
        did = context(client).key.did
    exported = registry_key.export_keys(database, registry_key.load_kek(settings), REGISTRY_URL)
    # A new registry (own database, own KEK) takes them.
    url = f"sqlite:///{tmp_path / 'moved.sqlite3'}"
    moved_db = Database.connect(url)
    upgrade(moved_db.engine)
    moved = Settings(
        registry_url=REGISTRY_URL,
        database_url=url,
        data_dir=tmp_path / "moved",
        key_encryption_key=_kek(),
    )
    kek = registry_key.load_kek(moved)
    with pytest.raises(RegistryKeyError, match="keys are"):
        registry_key.import_keys(moved_db, kek, exported, "https://other.example")
    assert registry_key.import_keys(moved_db, kek, exported, REGISTRY_URL) == [did]
    with pytest.raises(RegistryKeyError, match="has a key already"):
        registry_key.import_keys(moved_db, kek, exported, REGISTRY_URL)
    moved_db.dispose()
    with _start(moved, clock) as client:
        assert context(client).key.did == did
    # A seed that is not its did:key is refused.
    forged = exported.replace(did.encode(), SigningKey.generate().did.encode())
    with pytest.raises(RegistryKeyError, match="another key"):
        registry_key.import_keys(database, registry_key.load_kek(settings), forged, REGISTRY_URL)


def test_rotation_old_key_signs_new_and_old_statements_keep_verifying(
    settings: Settings, clock: Clock, database: Database
) -> None:
    with _start(settings, clock) as client:
        old = context(client).key.public_key
        old_seed = context(client).key.seed()
        assert context(client).mac_seed == old_seed
        alice = Endorser(client, 1).bind()
        kept, _ = alice.issue()
        revoked, issued = alice.issue()
        r = alice.revoke(issued["id"])
        assert r.status_code == 200, r.text
        old_receipt = client.post("/api/v1/verify", json={"token": kept}).json()["receipt"]
        old_binding = client.get(f"/api/v1/identities/{alice.did}").json()["binding"]
    clock.advance(60)
    rotation = registry_key.rotate(database, clock(), registry_key.load_kek(settings), REGISTRY_URL)
    with _start(settings, clock) as client:
        new = context(client).key.public_key
        assert new != old and rotation.successor == new.did
        # Keyed hashes stored before (codes, addresses) are still matched after.
        assert context(client).mac_seed == old_seed
        info = client.get("/.well-known/endorse-registry").json()
        assert info["key"] == new.did
        assert [k["key"] for k in info["keys"]] == [new.did, old.did]
        assert info["keys"][1]["valid_until"] == rotation.valid_from
        assert info["keys"][0]["valid_from"] == rotation.valid_from
        # The rotation published is signed by the old key, for this registry.
        published = verify_registry_key_rotation(info["keys"][0]["rotation"], old, REGISTRY_URL)
        assert published.successor == new.did
        # Everything served now is signed by the new key, and verification still works.
        binding = client.get(f"/api/v1/identities/{alice.did}").json()["binding"]
        assert verify_key_binding(binding, new, REGISTRY_URL).key == alice.did
        result = client.post("/api/v1/verify", json={"token": kept}).json()
        assert result["verdict"] == "valid"
        assert verify_receipt(result["receipt"], new, REGISTRY_URL).verdict == "valid"
        assert client.post("/api/v1/verify", json={"token": revoked}).json()["verdict"] == (
            "revoked"
        )
        with database.read() as session:
            row = session.execute(
                sa.text("SELECT registration_token FROM endorsements WHERE id = :id"),
                {"id": issued["id"]},
            ).one()
        verify_registration(row.registration_token, new, REGISTRY_URL)
    # Statements the old key signed before the rotation still verify under it.
    assert verify_receipt(old_receipt, old, REGISTRY_URL).verdict == "valid"
    assert verify_key_binding(old_binding, old, REGISTRY_URL).key == alice.did
    with pytest.raises(BadSignature):
        verify_receipt(old_receipt, new, REGISTRY_URL)


def test_registry_signed_revocation_is_resigned_by_the_new_key(
    settings: Settings, clock: Clock, database: Database
) -> None:
    with _start(settings, clock) as client:
        ctx = context(client)
        registry = ctx.key
        alice = Endorser(client, 2).bind()
        _, issued = alice.issue()
        by_registry = alice.revocation(issued["id"])
    from endorse.protocol import Revocation, decode_unverified, sign

    revocation = decode_unverified(by_registry, Revocation).object
    as_registry = sign(
        Revocation(
            **{n: getattr(revocation, n) for n in revocation.__struct_fields__}
            | {"by": registry.did}
        ),
        registry,
    )
    with database.write() as session:
        session.execute(
            sa.text("UPDATE endorsements SET revocation_token = :t WHERE id = :i"),
            {"t": as_registry, "i": issued["id"]},
        )
    registry_key.rotate(database, clock(), registry_key.load_kek(settings), REGISTRY_URL)
    with _start(settings, clock) as client:
        new = context(client).key.public_key
        with database.read() as session:
            stored = session.execute(
                sa.text("SELECT revocation_token FROM endorsements WHERE id = :i"),
                {"i": issued["id"]},
            ).scalar_one()
        assert verify_revocation(stored, new).by == new.did


def test_upgrade_from_the_previous_schema_seals_the_plain_key(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    """A database made by schema 0001 (the key in a plain row) is upgraded and sealed."""
    db = Database.connect(database_url)
    config = alembic_config(db.engine.url.render_as_string(hide_password=False))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    key = SigningKey.generate()
    with db.engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO registry_keys (id, seed, did, created_at) VALUES (1, :s, :d, 5)"),
            {"s": key.seed(), "d": key.did},
        )
    upgrade(db.engine)
    settings = Settings(
        registry_url=REGISTRY_URL, database_url=database_url, data_dir=tmp_path / "data"
    )
    with _start(settings, clock) as client:
        assert context(client).key.did == key.did
        assert client.get("/.well-known/endorse-registry").json()["key"] == key.did
    with db.engine.connect() as connection:
        row = connection.execute(sa.text("SELECT seed, sealed FROM registry_keys")).one()
    db.dispose()
    assert row.seed is None
    assert key.seed() not in bytes(row.sealed)
