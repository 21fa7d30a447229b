"""Registry keys pinned on first contact (trust on first use), kept in a small JSON file.

The file maps each registry's id to the did:key it presented the first time::

    {"https://registry.example": "did:key:z6Mk..."}

Its default place is ``$ENDORSE_HOME/known_registries.json`` (else
``${XDG_DATA_HOME:-~/.local/share}/endorse/known_registries.json``), beside the keys of
:mod:`endorse.client.keystore`. It is written atomically (a private temporary file, then a
rename) with mode 0600, under an exclusive lock so two processes pinning at once cannot lose
each other's entries. A pin is never replaced silently: :meth:`PinStore.record` answers the
key already pinned, and the client then refuses the registry (:class:`PinMismatch`) unless the
pinned key signed the change: :func:`follow_rotations` checks the chain of registry key
rotations (spec §4.14) from the pinned key to the key presented, and only then is the pin
moved (:meth:`PinStore.replace`). Otherwise only an explicit :meth:`PinStore.forget` re-opens
trust on first use.

>>> import tempfile, pathlib
>>> store = PinStore(pathlib.Path(tempfile.mkdtemp()) / "known_registries.json")
>>> store.get("https://registry.example") is None
True
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import orjson

from endorse.client import keystore
from endorse.client.errors import PinMismatch, PinStoreError
from endorse.protocol import (
    EndorseError,
    InvalidKey,
    PublicKey,
    RegistryKeyRotation,
    decode_unverified,
    verify_registry_key_rotation,
)

__all__ = ["PinStore", "default_pin_store", "follow_rotations"]

MAX_ROTATIONS = 64
"""The longest chain of registry key rotations followed; a longer one is refused."""


def follow_rotations(registry: str, pinned: str, presented: str, rotations: list[str]) -> None:
    """Check that ``pinned`` signed its way to ``presented``: a chain of registry key
    rotations of ``registry`` (spec §4.14), each signed by the key before it.

    ``rotations`` are the tokens the registry publishes, in any order, trusted for nothing
    until a trusted key's signature is checked on each.

    Raises:
        PinMismatch: no such chain; the key change is not signed by the pinned key.
    """
    by_signer: dict[str, str] = {}
    for token in rotations[:MAX_ROTATIONS]:
        try:
            by_signer.setdefault(decode_unverified(token, RegistryKeyRotation).object.key, token)
        except EndorseError:
            continue  # not a rotation at all: it cannot be a link of the chain
    current = pinned
    for _ in range(MAX_ROTATIONS):
        if current == presented:
            return
        if current not in by_signer:
            break
        token = by_signer.pop(current)
        try:
            rotation = verify_registry_key_rotation(token, PublicKey.from_did(current), registry)
        except EndorseError:
            break
        current = rotation.successor
    raise PinMismatch(registry, pinned, presented)


MAX_PIN_FILE_BYTES = 1024 * 1024


def default_pin_store() -> Path:
    """Where pinned registry keys are kept by default (see the module docstring)."""
    return keystore.data_dir() / "known_registries.json"


class PinStore:
    """The pinned keys of registries, in the JSON file ``path``.

    Raises (all methods):
        PinStoreError: the file is unreadable, not a JSON object of registry ids to Ed25519
            did:keys, or cannot be written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, registry: str) -> str | None:
        """The did:key pinned for ``registry``, or None."""
        return self._read().get(registry)

    def record(self, registry: str, did: str) -> str | None:
        """Pin ``did`` for ``registry`` unless a key is pinned already; return that key then.

        Returns None when ``did`` was pinned by this call (the first contact).
        """
        with self._locked():
            pins = self._read()
            existing = pins.get(registry)
            if existing is not None:
                return existing
            pins[registry] = did
            self._write(pins)
            return None

    def replace(self, registry: str, old: str, new: str) -> bool:
        """Move the pin of ``registry`` from ``old`` to ``new`` (after
        :func:`follow_rotations`), unless another process pinned something else meanwhile;
        whether the pin is now ``new``."""
        with self._locked():
            pins = self._read()
            if pins.get(registry) not in (old, new):
                return False
            pins[registry] = new
            self._write(pins)
            return True

    def forget(self, registry: str) -> None:
        """Remove the pin of ``registry``: the next contact trusts whatever key it presents.
        Only for a deliberate re-pin, after the registry's key change was confirmed."""
        with self._locked():
            pins = self._read()
            if pins.pop(registry, None) is not None:
                self._write(pins)

    def _read(self) -> dict[str, str]:
        try:
            with self.path.open("rb") as f:
                data = f.read(MAX_PIN_FILE_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise PinStoreError(f"{self.path}: cannot read: {e.strerror}") from e
        if len(data) > MAX_PIN_FILE_BYTES:
            raise PinStoreError(f"{self.path}: too large for a file of pinned registry keys")
        try:
            pins = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise PinStoreError(f"{self.path}: not JSON") from e
        if type(pins) is not dict:
            raise PinStoreError(f"{self.path}: must be a JSON object of registry ids to did:keys")
        for registry, did in pins.items():
            try:
                if type(did) is not str:
                    raise InvalidKey("not a string")
                PublicKey.from_did(did)
            except InvalidKey as e:
                raise PinStoreError(f"{self.path}: the key pinned for {registry!r}: {e}") from e
        return pins

    def _write(self, pins: dict[str, str]) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(temporary, flags, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(orjson.dumps(pins, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self.path)
        except OSError as e:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise PinStoreError(f"{self.path}: cannot write: {e.strerror}") from e

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(
                self.path.with_name(f".{self.path.name}.lock"),
                os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                0o600,
            )
        except OSError as e:
            raise PinStoreError(f"{self.path}: cannot lock: {e.strerror}") from e
        try:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - not POSIX: the rename alone
                yield
            else:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
        finally:
            os.close(fd)
