"""The registry's own signing keys: sealed in the database, exported, imported and rotated.

Every server process and machine that shares the database signs as the same registry, so the
keys live in the database (``registry_keys``) — but only **sealed**: AES-256-GCM under a
key-encryption key (KEK) that is never in the database, bound to the key's did:key as
associated data. A database dump alone cannot sign as the registry. The KEK comes from
``ENDORSE_KEY_ENCRYPTION_KEY`` (base64url of 32 bytes) or the file
``ENDORSE_KEY_ENCRYPTION_KEY_FILE``; without either, a KEK file is made in the data
directory on first start. A KEK file must be owned by the server's user and readable by
nobody else (mode 0600), as endorser key files are. Every instance sharing the database needs
the same KEK.

A rotation (:func:`rotate`) makes a new key, has the old key sign a ``registry-key-rotation``
(spec §4.14) naming it, re-signs with the new key every registry statement the registry keeps
and serves (key bindings, registrations, registry-signed revocations and key revocations,
reference requests), and
ends the old key's validity. The old key stays published (``/.well-known/endorse-registry``)
with its validity and the rotation, so statements it signed before keep verifying elsewhere.
Rotation is done with every instance stopped (docs/deploy.md): a running instance keeps
signing with the key it loaded.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from endorse.protocol import (
    KeyBinding,
    KeyRevocation,
    ReferenceRequest,
    Registration,
    RegistryKeyRotation,
    Revocation,
    sign,
)
from endorse.protocol.encoding import b64url_decode, b64url_encode
from endorse.protocol.errors import MalformedToken
from endorse.protocol.keys import SigningKey
from endorse.protocol.token import decode_unverified
from endorse.server.db import Database
from endorse.server.models import EndorsementRow, Identity, ReferenceRequestRow, RegistryKey
from endorse.server.settings import Settings

KEK_FILE_NAME = "registry-key-encryption-key"
"""The KEK file made in the data directory when no KEK is configured."""
_SEALED_VERSION = b"\x01"
_AAD_LABEL = b"endorse registry key\x00"
EXPORT_FORMAT = "endorse-registry-keys-v1"


class RegistryKeyError(Exception):
    """The registry key cannot be used: a KEK problem, a wrong KEK, a bad export file."""


@dataclass(frozen=True)
class PublishedKey:
    """A registry key as the registry describes it: since and until when it signs, and the
    rotation (signed by the key before it) that made it the registry's key."""

    did: str
    valid_from: int | None
    valid_until: int | None
    rotation: str | None


@dataclass(frozen=True)
class RegistryKeys:
    """The key the registry signs with, and every key it has had (newest first)."""

    signing: SigningKey
    published: tuple[PublishedKey, ...]
    mac_seed: bytes
    """The seed of the registry's first key: the secret its keyed hashes (of codes, of
    addresses) are derived from. It outlives rotations, so that what was stored hashed
    before a rotation (a stopped address, say) is still matched after it."""


# --- the key-encryption key --------------------------------------------------------------


def _decode_kek(text: str, where: str) -> bytes:
    try:
        raw = b64url_decode(text.strip())
    except MalformedToken as e:
        raise RegistryKeyError(f"{where}: not base64url") from e
    if len(raw) != 32:
        raise RegistryKeyError(f"{where}: must be 32 bytes (base64url), not {len(raw)}")
    return raw


def new_kek_text() -> str:
    """A new KEK as written in a KEK file or ``ENDORSE_KEY_ENCRYPTION_KEY``."""
    return b64url_encode(secrets.token_bytes(32))


def kek_path(settings: Settings) -> Path:
    """Where the KEK file is (configured, or the data directory's)."""
    if settings.key_encryption_key_file is not None:
        return settings.key_encryption_key_file
    return settings.data_dir / KEK_FILE_NAME


def load_kek(settings: Settings, *, create: bool = True) -> bytes:
    """The KEK: from the environment, else the KEK file (made when it is the data
    directory's and ``create``).

    Raises:
        RegistryKeyError: unreadable, wrongly owned or readable by others, or not 32 bytes.
    """
    if settings.key_encryption_key is not None:
        return _decode_kek(
            settings.key_encryption_key.get_secret_value(), "ENDORSE_KEY_ENCRYPTION_KEY"
        )
    path = kek_path(settings)
    if create and settings.key_encryption_key_file is None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "w") as f:
                f.write(new_kek_text() + "\n")
                f.flush()
                os.fsync(f.fileno())
    return _read_kek_file(path)


def _read_kek_file(path: Path) -> bytes:
    where = f"ENDORSE_KEY_ENCRYPTION_KEY_FILE={str(path)!r}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError as e:
        raise RegistryKeyError(f"{where}: no such file") from e
    except OSError as e:
        raise RegistryKeyError(f"{where}: cannot be read: {e.strerror}") from e
    with os.fdopen(fd, "r") as f:
        info = os.fstat(f.fileno())
        if info.st_uid != os.getuid():
            raise RegistryKeyError(f"{where}: must be owned by the user the registry runs as")
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise RegistryKeyError(
                f"{where}: readable by others (mode {stat.S_IMODE(info.st_mode):o});"
                f" run: chmod 600 {path}"
            )
        text = f.read(256)
    return _decode_kek(text, where)


def seal(kek: bytes, did: str, seed: bytes) -> bytes:
    """``seed`` encrypted under ``kek`` for the key ``did``."""
    nonce = secrets.token_bytes(12)
    return _SEALED_VERSION + nonce + AESGCM(kek).encrypt(nonce, seed, _AAD_LABEL + did.encode())


def unseal(kek: bytes, did: str, sealed: bytes) -> SigningKey:
    """The key sealed by :func:`seal`, checked to be ``did``.

    Raises:
        RegistryKeyError: another KEK sealed it, or the sealed bytes were changed.
    """
    if sealed[:1] != _SEALED_VERSION or len(sealed) != 1 + 12 + 32 + 16:
        raise RegistryKeyError(f"the sealed registry key {did} is not in a known format")
    try:
        seed = AESGCM(kek).decrypt(sealed[1:13], sealed[13:], _AAD_LABEL + did.encode())
    except InvalidTag as e:
        raise RegistryKeyError(
            f"the registry key {did} cannot be unsealed with this key-encryption key"
            " (every instance sharing the database needs the same one)"
        ) from e
    key = SigningKey.from_seed(seed)
    if key.did != did:
        raise RegistryKeyError(f"the sealed registry key is not {did}")
    return key


# --- loading -----------------------------------------------------------------------------


def _rows(session: Session) -> list[RegistryKey]:
    return list(session.scalars(select(RegistryKey).order_by(RegistryKey.id.desc())))


def seal_plain_rows(db: Database, kek: bytes) -> None:
    """Seal any key a schema before sealing left in plain text, and erase the plain seed."""
    with db.write() as session:
        for row in _rows(session):
            if row.seed is not None:
                row.sealed = seal(kek, row.did, row.seed)
                row.seed = None


def _published(rows: list[RegistryKey]) -> tuple[PublishedKey, ...]:
    return tuple(PublishedKey(r.did, r.valid_from, r.valid_until, r.rotation) for r in rows)


def load_or_create(db: Database, now: int, kek: bytes) -> RegistryKeys:
    """The registry's keys, making and sealing the first on first start (race-safe across
    processes) and sealing any left in plain text by an older schema.

    Raises:
        RegistryKeyError: the keys cannot be unsealed with ``kek``.
    """
    seal_plain_rows(db, kek)
    with db.read() as session:
        rows = _rows(session)
    if not rows:
        key = SigningKey.generate()
        try:
            with db.write() as session:
                session.add(
                    RegistryKey(
                        id=1,
                        seed=None,
                        sealed=seal(kek, key.did, key.seed()),
                        did=key.did,
                        created_at=now,
                        valid_from=now,
                    )
                )
        except IntegrityError:
            pass  # another process created it first: use theirs
        with db.read() as session:
            rows = _rows(session)
    current, first = rows[0], rows[-1]
    assert current.sealed is not None  # sealed above
    assert first.sealed is not None
    signing = unseal(kek, current.did, current.sealed)
    mac_seed = signing if first is current else unseal(kek, first.did, first.sealed)
    return RegistryKeys(signing, _published(rows), mac_seed.seed())


def current_key_id(db: Database) -> str | None:
    """The registry key's id (did:key), or None when none was made yet or the database has no
    schema yet; reads only."""
    try:
        with db.read() as session:
            rows = _rows(session)
    except (OperationalError, ProgrammingError):
        return None  # no tables yet: `endorse serve` or `endorse db upgrade` makes them
    return rows[0].did if rows else None


# --- rotation ----------------------------------------------------------------------------


def rotate(db: Database, now: int, kek: bytes, registry: str) -> RegistryKeyRotation:
    """Make a new registry key, signed over by the current one, effective ``now``; re-sign
    every registry statement the registry keeps with it. Run with every instance stopped.

    Raises:
        RegistryKeyError: no key yet, or it cannot be unsealed.
    """
    with db.write() as session:
        rows = _rows(session)
        if not rows or rows[0].sealed is None:
            raise RegistryKeyError("there is no registry key to rotate yet: start it once")
        old_row = rows[0]
        assert old_row.sealed is not None  # checked above
        old = unseal(kek, old_row.did, old_row.sealed)
        new = SigningKey.generate()
        rotation = RegistryKeyRotation(
            registry=registry, key=old.did, successor=new.did, valid_from=now, issued_at=now
        )
        old_row.valid_until = now
        session.add(
            RegistryKey(
                id=old_row.id + 1,
                seed=None,
                sealed=seal(kek, new.did, new.seed()),
                did=new.did,
                created_at=now,
                valid_from=now,
                rotation=sign(rotation, old),
            )
        )
        _resign_statements(session, old, new)
    return rotation


def _resign(token: str, cls: type[Any], new: SigningKey, change: Callable[[Any], Any]) -> str:
    obj = decode_unverified(token, cls).object
    return sign(change(obj), new)


def _same(obj: Any) -> Any:
    return obj


def _resign_statements(session: Session, old: SigningKey, new: SigningKey) -> None:
    """Re-sign what the registry keeps and serves as its own statements, so that what it
    serves after the rotation is all signed by the key it presents."""

    def by_new(obj: Any) -> Any:
        return type(obj)(**{**_fields(obj), "by": new.did})

    for identity in session.scalars(select(Identity)):
        identity.binding_token = _resign(identity.binding_token, KeyBinding, new, _same)
        if identity.revocation_token is not None:
            revocation = decode_unverified(identity.revocation_token, KeyRevocation).object
            if revocation.by == old.did:
                identity.revocation_token = sign(by_new(revocation), new)
    for request in session.scalars(
        select(ReferenceRequestRow).where(ReferenceRequestRow.token.is_not(None))
    ):
        assert request.token is not None
        request.token = _resign(request.token, ReferenceRequest, new, _same)
    for row in session.scalars(select(EndorsementRow)):
        row.registration_token = _resign(row.registration_token, Registration, new, _same)
        if row.revocation_token is not None:
            revoked = decode_unverified(row.revocation_token, Revocation).object
            if revoked.by == old.did:
                row.revocation_token = sign(by_new(revoked), new)


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__struct_fields__}


# --- export and import -------------------------------------------------------------------


def export_keys(db: Database, kek: bytes, registry: str) -> bytes:
    """Every registry key, in plain text, as a JSON document to move the registry (write it
    only to a file of mode 0600, and move it as a secret)."""
    with db.read() as session:
        rows = _rows(session)
    if not rows:
        raise RegistryKeyError("there is no registry key to export yet: start it once")
    keys = []
    for row in rows:
        assert row.sealed is not None
        seed = unseal(kek, row.did, row.sealed).seed()
        keys.append(
            {
                "did": row.did,
                "seed": b64url_encode(seed),
                "created_at": row.created_at,
                "valid_from": row.valid_from,
                "valid_until": row.valid_until,
                "rotation": row.rotation,
            }
        )
    document = {"format": EXPORT_FORMAT, "registry": registry, "keys": keys}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


def import_keys(db: Database, kek: bytes, data: bytes, registry: str) -> list[str]:
    """Store the keys of an :func:`export_keys` document, sealed under ``kek``, in a registry
    that has no key yet. The ids of the keys imported, newest first.

    Raises:
        RegistryKeyError: a malformed document, another registry's, a seed that is not its
            did:key, or a registry that has a key already.
    """
    try:
        document = orjson.loads(data)
        if document["format"] != EXPORT_FORMAT:
            raise RegistryKeyError(f"not an {EXPORT_FORMAT} document")
        if document["registry"] != registry:
            raise RegistryKeyError(
                f"the keys are {document['registry']}'s, this registry is {registry}"
            )
        rows = []
        for number, item in enumerate(reversed(document["keys"]), start=1):
            seed = b64url_decode(item["seed"])
            key = SigningKey.from_seed(seed)
            if key.did != item["did"]:
                raise RegistryKeyError(f"the seed given for {item['did']} is another key's")
            rows.append(
                RegistryKey(
                    id=number,
                    seed=None,
                    sealed=seal(kek, key.did, seed),
                    did=key.did,
                    created_at=int(item["created_at"]),
                    valid_from=item["valid_from"],
                    valid_until=item["valid_until"],
                    rotation=item["rotation"],
                )
            )
    except RegistryKeyError:
        raise
    except Exception as e:  # any defect of the file: one message
        raise RegistryKeyError(f"not a readable {EXPORT_FORMAT} document: {e!r}") from e
    with db.write() as session:
        if _rows(session):
            raise RegistryKeyError("this registry has a key already: import only into a new one")
        session.add_all(rows)
    return [row.did for row in reversed(rows)]


__all__ = [
    "KEK_FILE_NAME",
    "PublishedKey",
    "RegistryKeyError",
    "RegistryKeys",
    "current_key_id",
    "export_keys",
    "import_keys",
    "kek_path",
    "load_kek",
    "load_or_create",
    "new_kek_text",
    "rotate",
    "seal",
    "seal_plain_rows",
    "unseal",
]
