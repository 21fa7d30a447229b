"""Bounded caches of verified registry facts: issuer key states, status lists, registrations.

What is cached is what the registry signed, after its signature verified under the pinned key:
a :class:`~endorse.protocol.TrustedIssuer` (from a key binding and key revocation), a
:class:`~endorse.protocol.StatusList`, a :class:`~endorse.protocol.Registration`. Each fact
keeps the signed tokens it came from, so the optional on-disk cache stores tokens, never
conclusions, and re-verifies them under the pinned key whenever it reads them back: a file
that is corrupt, or holds a statement the pinned key did not sign, is dropped.

Trust in the cache directory: it is trusted as the pin store is, and for the same reason.
Not everything in a file is signed: *when* a key state was fetched (so until when it is
fresh), and whether the registry's answer held a key revocation at all, are the client's own
notes. Whoever can write the files can therefore make a key state read back from disk look
fresh and unrevoked for up to the longest max-age (7 days) while the registry cannot be
reached (a state read from disk is asked for again as soon as it can be), just as whoever
can write the pin store can pin another registry key. Signing these notes locally would not
help: the key would sit beside them. So the directory is kept as private as the pin store,
and checked: directories are created 0700 (those of this cache are narrowed to it if they
were wider), files 0600, and a directory or file owned by another user, a file anyone else
may write, or a symbolic link, is never read. A stricter rule (a key state from disk used
only once the registry confirms it) would keep a restarted verifier from working offline,
which is what the disk cache is for.

Bounds: at most ``max_issuers`` issuer states (and as many registrations) and ``max_lists``
status lists, least recently used evicted first, in memory and on disk alike, so a
long-running verifier does not grow without limit. When to refresh a fact (a list's
``iat + ttl``, its ETag, the registry's max-age) is decided by the client's core; this module
only keeps facts.

>>> cache = FactCache(max_issuers=2, max_lists=2)
>>> cache.stats().issuers
0
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

from endorse.protocol import (
    EndorseError,
    PublicKey,
    Registration,
    StatusList,
    TrustedIssuer,
    verify_key_binding,
    verify_key_revocation,
    verify_registration,
    verify_status_list,
)
from endorse.protocol.errors import InvalidArgument

__all__ = ["CacheStats", "FactCache", "IssuerFact", "ListFact", "RegistrationFact"]

MAX_FACT_TTL = 3600
"""The longest an issuer's key state is fresh after it was fetched, whatever the registry's
``/.well-known`` says (spec §8.17): that ``status_max_age`` is not signed, so it may stretch
a key revocation's way to this client only this far (a status list's freshness is its own
signed ``ttl``). A cache file claiming longer is not read."""
MAX_CACHE_FILE_BYTES = 1024 * 1024
"""A cache file larger than this is not read (a status-list token is at most 256 KiB)."""

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class IssuerFact:
    """What the registry said about an issuer key at ``fetched_at``.

    ``issuer`` is None when the registry knows no such key (a 404): a negative fact, kept in
    memory only. ``fresh_until``: until when the key state may be relied on (``fetched_at``
    plus the registry's status max-age); past it, the key may have been revoked since, so
    the client's core does not let it make a token ``valid`` unless the caller allowed that
    much staleness. ``refresh_at``: when to ask again (``fresh_until``, or at once for a
    state read back from disk).
    """

    key: str
    issuer: TrustedIssuer | None
    binding: str | None
    key_revocation: str | None
    fetched_at: int
    fresh_until: int
    refresh_at: int


@dataclass(frozen=True, slots=True)
class ListFact:
    """A verified status list, its ETag, and from when to revalidate it (``check_at``)."""

    list_id: str
    status: StatusList
    token: str
    etag: str | None
    fetched_at: int
    check_at: int


@dataclass(frozen=True, slots=True)
class RegistrationFact:
    """The registry's record of a token's registration, or None when it has none (then
    ``refresh_at`` says when to ask again; a registration, once found, never changes)."""

    token_hash: str
    registration: Registration | None
    token: str | None
    fetched_at: int
    refresh_at: int


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Entries held in memory, and how many were evicted to respect the bounds."""

    issuers: int
    lists: int
    registrations: int
    evictions: int


class _LRU(Generic[K, V]):
    """A thread-safe map of at most ``max_items`` entries, least recently used evicted."""

    def __init__(self, max_items: int, on_evict: Callable[[K], None] | None = None) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_items
        self._on_evict = on_evict
        self.evictions = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        evicted: list[K] = []
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                old, _ = self._data.popitem(last=False)
                evicted.append(old)
                self.evictions += 1
        if self._on_evict is not None:
            for old in evicted:
                self._on_evict(old)

    def pop(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> list[K]:
        """A snapshot of the keys, least recently used first."""
        with self._lock:
            return list(self._data)


class _Disk:
    """Cache files of one registry: ``<dir>/<registry hash>/<kind>/<id hash>.json``, 0600 in
    0700 directories of this user's own (see the module docstring).

    Raises (constructor):
        OSError: the directories cannot be made, or are not this user's own.
    """

    KINDS = ("issuers", "lists", "registrations")

    def __init__(self, directory: Path, registry: str) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root = directory / _digest(registry)
        for path in (self.root, *(self.root / kind for kind in self.KINDS)):
            path.mkdir(mode=0o700, exist_ok=True)
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode) or not _owned(st):
                raise PermissionError(f"{path}: not a directory of this user's own")
            if stat.S_IMODE(st.st_mode) != 0o700:
                os.chmod(path, 0o700)  # narrowed: an older client made it with the umask

    def path(self, kind: str, name: str) -> Path:
        return self.root / kind / f"{_digest(name)}.json"

    def read(self, kind: str, name: str) -> dict[str, Any] | None:
        """The JSON object in a cache file, or None: missing, unreadable, malformed, or not a
        private regular file of this user's (a link, or writable by others, is not followed
        or not trusted)."""
        path = self.path(kind, name)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                if not stat.S_ISREG(st.st_mode) or not _owned(st) or st.st_mode & 0o022:
                    return None
                data = f.read(MAX_CACHE_FILE_BYTES + 1)
            document = orjson.loads(data) if len(data) <= MAX_CACHE_FILE_BYTES else None
        except (OSError, orjson.JSONDecodeError):
            document = None
        if type(document) is not dict:
            return None
        return document

    def write(self, kind: str, name: str, document: dict[str, Any]) -> None:
        """Write atomically (a private temporary file, then rename); failures are ignored:
        a cache that cannot be written only costs a fetch later."""
        path = self.path(kind, name)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(temporary, flags, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(orjson.dumps(document))
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink()

    def remove(self, kind: str, name: str) -> None:
        with contextlib.suppress(OSError):
            self.path(kind, name).unlink()

    def prune(self, kind: str, keep: int) -> None:
        """Keep the ``keep`` most recently written files of ``kind``; remove the rest."""
        try:
            files = [(p.stat().st_mtime, p) for p in (self.root / kind).glob("*.json")]
        except OSError:
            return
        files.sort(reverse=True)
        for _, p in files[keep:]:
            with contextlib.suppress(OSError):
                p.unlink()


class FactCache:
    """Bounded LRU caches of verified facts, optionally backed by a cache directory.

    Disk entries can only be read once the cache knows whose statements they are
    (:meth:`attach`): each is re-verified under that registry key before it is used.

    Raises:
        InvalidArgument: a bound that is not a positive int, or a directory that is not a Path.
    """

    def __init__(
        self, *, max_issuers: int = 1024, max_lists: int = 256, directory: Path | None = None
    ) -> None:
        for name, value in (("max_issuers", max_issuers), ("max_lists", max_lists)):
            if type(value) is not int or value < 1:
                raise InvalidArgument(f"{name} must be a positive int")
        if directory is not None and not isinstance(directory, Path):
            raise InvalidArgument("the cache directory must be a pathlib.Path")
        self.max_issuers = max_issuers
        self.max_lists = max_lists
        self.directory = directory
        self._issuers: _LRU[str, IssuerFact] = _LRU(max_issuers, self._evicted("issuers"))
        self._lists: _LRU[str, ListFact] = _LRU(max_lists, self._evicted("lists"))
        self._registrations: _LRU[str, RegistrationFact] = _LRU(
            max_issuers, self._evicted("registrations")
        )
        self._registry: str | None = None
        self._key: PublicKey | None = None
        self._disk: _Disk | None = None
        self._opened = False

    def attach(self, registry: str, key: PublicKey) -> None:
        """Say whose facts these are: the registry's id and its pinned key.

        Memory entries verified under another key are dropped. No file is touched: the cache
        directory is opened by :meth:`open`, or by the first use that needs it.
        """
        if self._key is not None and (self._key != key or self._registry != registry):
            self.clear()
        self._registry, self._key = registry, key

    def open(self) -> None:
        """Open the cache directory of the attached registry, pruned to the bounds, when a
        directory was given (file I/O: the async client calls this off its event loop).
        Idempotent; does nothing before :meth:`attach`."""
        if self._opened or self.directory is None or self._registry is None:
            return
        self._opened = True
        try:
            disk = _Disk(self.directory, self._registry)
        except OSError:
            return  # an unusable cache directory only costs fetches
        disk.prune("issuers", self.max_issuers)
        disk.prune("lists", self.max_lists)
        disk.prune("registrations", self.max_issuers)
        self._disk = disk

    def _store(self) -> _Disk | None:
        if not self._opened:
            self.open()
        return self._disk

    def clear(self) -> None:
        """Forget everything held in memory."""
        self._issuers = _LRU(self.max_issuers, self._evicted("issuers"))
        self._lists = _LRU(self.max_lists, self._evicted("lists"))
        self._registrations = _LRU(self.max_issuers, self._evicted("registrations"))

    def issuer_keys(self) -> list[str]:
        """The issuer keys held in memory."""
        return self._issuers.keys()

    def list_ids(self) -> list[str]:
        """The status lists held in memory."""
        return self._lists.keys()

    def stats(self) -> CacheStats:
        return CacheStats(
            issuers=len(self._issuers),
            lists=len(self._lists),
            registrations=len(self._registrations),
            evictions=self._issuers.evictions
            + self._lists.evictions
            + self._registrations.evictions,
        )

    def _evicted(self, kind: str) -> Callable[[str], None]:
        def remove(name: str) -> None:
            disk = self._store()
            if disk is not None:
                disk.remove(kind, name)

        return remove

    def _attached(self) -> tuple[_Disk, PublicKey, str]:
        # Only called when a disk cache is open, which attach() does with key and registry.
        if self._disk is None or self._key is None or self._registry is None:  # pragma: no cover
            raise RuntimeError("the cache directory is read only once attached")
        return self._disk, self._key, self._registry

    # --- issuers -------------------------------------------------------------------------

    def issuer(self, key: str) -> IssuerFact | None:
        fact = self._issuers.get(key)
        if fact is None and self._store() is not None:
            fact = self._load_issuer(key)
            if fact is not None:
                self._issuers.put(key, fact)
        return fact

    def put_issuer(self, fact: IssuerFact) -> None:
        self._issuers.put(fact.key, fact)
        disk = self._store()
        if disk is not None and fact.binding is None:
            disk.remove("issuers", fact.key)  # negative facts live in memory only
        elif disk is not None:
            disk.write(
                "issuers",
                fact.key,
                {
                    "key": fact.key,
                    "binding": fact.binding,
                    "key_revocation": fact.key_revocation,
                    "fetched_at": fact.fetched_at,
                    "fresh_until": fact.fresh_until,
                },
            )

    def forget_issuer(self, key: str) -> None:
        self._issuers.pop(key)
        disk = self._store()
        if disk is not None:
            disk.remove("issuers", key)

    def _load_issuer(self, key: str) -> IssuerFact | None:
        disk, pinned, registry = self._attached()
        d = disk.read("issuers", key)
        try:
            if d is None or d.get("key") != key:
                raise _Unusable
            binding = verify_key_binding(_str(d["binding"]), pinned, registry)
            revocation_token = d.get("key_revocation")
            revocation = None
            if revocation_token is not None:
                revocation = verify_key_revocation(_str(revocation_token), pinned)
            fetched_at, fresh_until = _int(d["fetched_at"]), _int(d["fresh_until"])
            # A local file may not stretch a key state's freshness beyond the longest the
            # client allows, nor date it before its own fetch.
            if binding.key != key or not 0 <= fresh_until - fetched_at <= MAX_FACT_TTL:
                raise _Unusable
            return IssuerFact(
                key=key,
                issuer=TrustedIssuer.from_binding(binding, revocation),
                binding=d["binding"],
                key_revocation=revocation_token,
                fetched_at=fetched_at,
                fresh_until=fresh_until,
                # Due at once: a key state read back from disk is asked for again when the
                # registry can be reached (a file cannot vouch that the key was not revoked
                # since); until then it stands until its ``fresh_until``, as in memory.
                refresh_at=0,
            )
        except (_Unusable, EndorseError, KeyError):
            disk.remove("issuers", key)
            return None

    # --- status lists --------------------------------------------------------------------

    def status_list(self, list_id: str) -> ListFact | None:
        fact = self._lists.get(list_id)
        if fact is None and self._store() is not None:
            fact = self._load_list(list_id)
            if fact is not None:
                self._lists.put(list_id, fact)
        return fact

    def put_list(self, fact: ListFact, *, write: bool = True) -> None:
        """Keep ``fact``; ``write=False`` when only its ``check_at`` changed (a 304)."""
        self._lists.put(fact.list_id, fact)
        disk = self._store()
        if disk is not None and write:
            disk.write(
                "lists",
                fact.list_id,
                {
                    "list_id": fact.list_id,
                    "token": fact.token,
                    "etag": fact.etag,
                    "fetched_at": fact.fetched_at,
                    "check_at": fact.check_at,
                },
            )

    def _load_list(self, list_id: str) -> ListFact | None:
        disk, pinned, registry = self._attached()
        d = disk.read("lists", list_id)
        try:
            if d is None or d.get("list_id") != list_id:
                raise _Unusable
            status = verify_status_list(_str(d["token"]), pinned, registry)
            etag = d.get("etag")
            if status.list_id != list_id or (etag is not None and type(etag) is not str):
                raise _Unusable
            return ListFact(
                list_id=list_id,
                status=status,
                token=d["token"],
                etag=etag,
                fetched_at=_int(d["fetched_at"]),
                # A local file may ask for an early re-fetch, never for a late one.
                check_at=min(_int(d["check_at"]), status.fresh_until),
            )
        except (_Unusable, EndorseError, KeyError):
            disk.remove("lists", list_id)
            return None

    # --- registrations -------------------------------------------------------------------

    def registration(self, token_hash: str) -> RegistrationFact | None:
        fact = self._registrations.get(token_hash)
        if fact is None and self._store() is not None:
            fact = self._load_registration(token_hash)
            if fact is not None:
                self._registrations.put(token_hash, fact)
        return fact

    def put_registration(self, fact: RegistrationFact) -> None:
        self._registrations.put(fact.token_hash, fact)
        disk = self._store()
        if disk is not None and fact.token is not None:
            disk.write(
                "registrations",
                fact.token_hash,
                {"token_hash": fact.token_hash, "token": fact.token, "fetched_at": fact.fetched_at},
            )

    def _load_registration(self, token_hash: str) -> RegistrationFact | None:
        disk, pinned, registry = self._attached()
        d = disk.read("registrations", token_hash)
        try:
            if d is None:
                raise _Unusable
            registration = verify_registration(_str(d["token"]), pinned, registry)
            if registration.token_hash != token_hash:
                raise _Unusable
            fetched_at = _int(d["fetched_at"])
            return RegistrationFact(token_hash, registration, d["token"], fetched_at, fetched_at)
        except (_Unusable, EndorseError, KeyError):
            disk.remove("registrations", token_hash)
            return None


class _Unusable(Exception):
    """A cache file that cannot be used (it is then removed)."""


def _owned(st: os.stat_result) -> bool:
    """Whether a file's owner is this process's user (where the system has users)."""
    getuid = getattr(os, "getuid", None)
    return getuid is None or st.st_uid == getuid()


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _str(value: object) -> str:
    if type(value) is not str:
        raise _Unusable
    return value


def _int(value: object) -> int:
    if type(value) is not int:
        raise _Unusable
    return value
