"""Private key files: PKCS#8 PEM on disk, created exclusively with mode 0600.

A key file is written once and never overwritten: losing an endorser key by accident is
worse than an error. Its default place is the user's data directory::

    $ENDORSE_HOME/keys/default.pem                    when ENDORSE_HOME is set
    $XDG_DATA_HOME/endorse/keys/default.pem           when XDG_DATA_HOME is set (absolute)
    ~/.local/share/endorse/keys/default.pem           otherwise

Every failure is a :class:`~endorse.protocol.errors.KeyFileError` whose message names the file.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from endorse.protocol.errors import KeyFileError
from endorse.protocol.keys import SigningKey

__all__ = [
    "HOME_ENV",
    "MAX_KEY_FILE_BYTES",
    "PASSPHRASE_ENV",
    "data_dir",
    "default_key_path",
    "is_encrypted",
    "load_key",
    "read_key_file",
    "write_key",
]

HOME_ENV = "ENDORSE_HOME"
"""Environment variable naming the base directory of endorse's files (overrides XDG)."""
PASSPHRASE_ENV = "ENDORSE_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
"""Environment variable the CLI reads a key file passphrase from, for non-interactive use.
The library never reads it: a client is given its passphrase (``key_passphrase``)."""
MAX_KEY_FILE_BYTES = 16384
"""A key file larger than this is refused before it is parsed."""

_ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"

Passphrase = bytes | Callable[[], bytes] | None
"""A passphrase, a function asked for one only when the file is encrypted, or None."""


def data_dir() -> Path:
    """The base directory of endorse's files (see the module docstring)."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    # The XDG spec says relative paths are invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "endorse"


def default_key_path() -> Path:
    """Where ``endorse key new`` writes, and other commands read, the key by default."""
    return data_dir() / "keys" / "default.pem"


def write_key(key: SigningKey, path: Path, passphrase: bytes | None = None) -> Path:
    """Write ``key`` as PKCS#8 PEM to a new file ``path`` with mode 0600.

    The file is created exclusively (``O_CREAT | O_EXCL``), so an existing file, or a symlink
    planted in its place, is never overwritten or followed. Missing parent directories are
    created with mode 0700. A partly written file is removed.

    Raises:
        KeyFileError: the file exists, cannot be written, or the passphrase is empty (or not
            bytes).
    """
    try:
        pem = key.to_pem(passphrase)  # refuses an empty or non-bytes passphrase
    except KeyFileError as e:
        raise KeyFileError(f"{path}: {e}") from e
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise KeyFileError(f"{path.parent}: cannot create directory: {_reason(e)}") from e
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as e:
        raise KeyFileError(f"{path}: already exists; refusing to overwrite a key file") from e
    except OSError as e:
        raise KeyFileError(f"{path}: cannot create key file: {_reason(e)}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        with contextlib.suppress(OSError):
            path.unlink()
        raise KeyFileError(f"{path}: cannot write key file: {_reason(e)}") from e
    return path


def read_key_file(path: Path) -> bytes:
    """The bytes of a key file, refusing anything but a regular file of a sane size.

    Opened without blocking and checked with ``fstat`` on the open descriptor before any
    read, so a FIFO (or a device) planted in its place is refused instead of hanging, and
    the file checked is the file read.

    Raises:
        KeyFileError: missing, unreadable, not a regular file, or too large.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read key file: {_reason(e)}") from e
    try:
        with os.fdopen(fd, "rb") as f:  # closes fd, also when fstat or read fail
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise KeyFileError(f"{path}: not a regular file")
            data = f.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read key file: {_reason(e)}") from e
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{path}: too large to be an Ed25519 PEM key")
    return data


def is_encrypted(data: bytes) -> bool:
    """Whether PEM key file content is an encrypted PKCS#8 key."""
    return _ENCRYPTED_PEM in data


def load_key(path: Path, passphrase: Passphrase = None) -> SigningKey:
    """Read a PKCS#8 PEM Ed25519 key file.

    ``passphrase`` is used only when the file is encrypted; when it is a function, it is
    called only then (to prompt for it lazily).

    Raises:
        KeyFileError: unreadable file, not an Ed25519 PEM key, a passphrase is needed and
            none was given, or the passphrase is wrong.
    """
    data = read_key_file(path)
    secret: bytes | None = None
    if is_encrypted(data):
        secret = passphrase() if callable(passphrase) else passphrase
        if not secret:
            raise KeyFileError(f"{path}: the key file is encrypted: a passphrase is needed")
    try:
        return SigningKey.from_pem(data, secret)
    except KeyFileError as e:
        raise KeyFileError(f"{path}: {e}") from e


def _reason(e: OSError) -> str:
    return e.strerror or type(e).__name__
