"""Verification for recruiters: gather the registry's facts, run the protocol, sign a receipt.

The verdict is :func:`endorse.protocol.verify_endorsement`'s, always: this module only looks up
what the registry knows about a token (the issuer's binding and key state, the token's status
list, its registration) and hands those facts to the pure function (spec §6.1, §6.3). The
facts come from one statement over three indexed lookups, run for every verification;
verified key bindings and decoded status bitstrings are cached per process, keyed by what
makes them immutable (the binding token; the list's version), so revocations still come from
the database on every request.

Where the statement runs: the single verification route reads on the event loop through
:class:`LoopReaders` (SQLite: synchronously, on a connection of the loop's thread, since an
indexed read takes microseconds and never waits for a writer in WAL mode; PostgreSQL: with
psycopg's asynchronous connections, so a network round trip never blocks the loop); the batch
route reads in the thread pool on a pooled connection (:func:`reading`).

>>> cache: LRU[str, int] = LRU(2)
>>> cache.put("a", 1); cache.put("b", 2); cache.put("c", 3)
>>> cache.get("a") is None, cache.get("c")
(True, 3)
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson

from endorse.protocol import (
    Bitstring,
    EndorseError,
    Endorsement,
    Receipt,
    Registration,
    StatusList,
    TrustedIssuer,
    VerificationResult,
    sign,
    token_hash,
    verify_endorsement,
    verify_key_binding,
    verify_registration,
)
from endorse.protocol.encoding import b64url_decode
from endorse.server.ratelimit import BatchedLimiter, bucket_name, enforce

if TYPE_CHECKING:
    from endorse.server.context import Context
    from endorse.server.db import Database

log = logging.getLogger("endorse.server.verification")

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small thread-safe LRU map, bounded by entries and optionally by total weight."""

    def __init__(
        self,
        max_items: int,
        *,
        max_weight: int | None = None,
        weigh: Callable[[V], int] | None = None,
    ) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self._max_items = max_items
        self._max_weight = max_weight
        self._weigh = weigh
        self._weight = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None and self._weigh is not None:
                self._weight -= self._weigh(old)
            self._data[key] = value
            if self._weigh is not None:
                self._weight += self._weigh(value)
            while len(self._data) > self._max_items or (
                self._max_weight is not None and self._weight > self._max_weight and self._data
            ):
                _, evicted = self._data.popitem(last=False)
                if self._weigh is not None:
                    self._weight -= self._weigh(evicted)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._weight = 0


class Caches:
    """Per-process caches of immutable things; the database stays the source of truth.

    * ``issuers``: a :class:`TrustedIssuer` per key-binding token whose registry signature
      was verified (a binding never changes; a new binding is a new token).
    * ``bits``: a decoded status bitstring per ``(list_id, version)``, never mutated.
    * ``status_tokens``: a signed status-list token per ``(list_id, version, iat, max_age)``.
    """

    def __init__(self) -> None:
        self.issuers: LRU[str, TrustedIssuer] = LRU(4096)
        self.bits: LRU[tuple[str, int], Bitstring] = LRU(
            256, max_weight=32 * 1024 * 1024, weigh=lambda b: b.size // 8
        )
        self.status_tokens: LRU[tuple[str, int, int, int], str] = LRU(
            256, max_weight=32 * 1024 * 1024, weigh=len
        )


@dataclass(frozen=True, slots=True)
class VerifyItem:
    """One verification asked for: the token and the verifier's expectations."""

    token: str
    subject: str | None = None
    purpose: str | None = None
    audience: str | None = None
    presentation: str | None = None
    nonce: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the registry knows about one token, as the protocol's trusted inputs (§6.1)."""

    issuers: dict[str, TrustedIssuer]
    status_lists: dict[tuple[str, str], StatusList]
    registration: Registration | None = None
    registered: bool = False
    """Whether this very token is registered here (its online checks are then counted)."""


NO_FACTS = Facts({}, {})

# One round trip, three lookups by primary or unique key. The constant row keeps a result
# row when nothing matches, so "unknown" costs no more than "known".
_FACTS = (
    "SELECT i.binding_token, i.revoked_from, s.version, e.registration_token"
    " FROM (SELECT 1 AS one) AS q"
    ' LEFT OUTER JOIN identities AS i ON i."key" = :issuer'
    " LEFT OUTER JOIN status_lists AS s ON s.list_id = :list_id"
    " LEFT OUTER JOIN endorsements AS e ON e.token_hash = :token_hash"
)
_BITS = "SELECT version, size, bits FROM status_lists WHERE list_id = :list_id"
_PYFORMAT = re.compile(r":([a-z_]+)")
_FACTS_PG = _PYFORMAT.sub(r"%(\1)s", _FACTS)
_BITS_PG = _PYFORMAT.sub(r"%(\1)s", _BITS)

FactRow = tuple[Any, Any, Any, Any]
"""(binding token, revoked from, list version, registration token), each maybe None."""


class FactReader:
    """Fact lookups on one connection, through the driver directly.

    This is the verification hot path, and these two fixed, read-only statements are all
    it runs, so it skips SQLAlchemy's statement and result layers (about as costly as the
    query itself on SQLite). Every statement runs on its own (SQLite with the driver's
    autocommit, PostgreSQL in autocommit mode): a single statement sees one consistent
    snapshot, and no BEGIN/COMMIT round trips are paid. Nothing here writes.
    """

    def __init__(self, cursor: Any, sqlite: bool) -> None:
        self._cursor = cursor
        self._facts = _FACTS if sqlite else _FACTS_PG
        self._bits = _BITS if sqlite else _BITS_PG

    def facts(self, issuer: str, list_id: str, th: str) -> FactRow:
        self._cursor.execute(self._facts, {"issuer": issuer, "list_id": list_id, "token_hash": th})
        row: FactRow = self._cursor.fetchone()
        return row

    def bits(self, list_id: str) -> tuple[int, int, bytes]:
        """(version, size, bits) of a list known to exist."""
        self._cursor.execute(self._bits, {"list_id": list_id})
        version, size, bits = self._cursor.fetchone()
        return version, size, bytes(bits)


class AsyncFactReader:
    """:class:`FactReader`'s statements on a psycopg ``AsyncConnection`` (PostgreSQL)."""

    def __init__(self, connection: Any) -> None:
        self._cursor = connection.cursor()

    async def facts(self, issuer: str, list_id: str, th: str) -> FactRow:
        await self._cursor.execute(
            _FACTS_PG, {"issuer": issuer, "list_id": list_id, "token_hash": th}
        )
        row: FactRow = await self._cursor.fetchone()
        return row

    async def bits(self, list_id: str) -> tuple[int, int, bytes]:
        await self._cursor.execute(_BITS_PG, {"list_id": list_id})
        version, size, bits = await self._cursor.fetchone()
        return version, size, bytes(bits)


@contextmanager
def reading(ctx: Context) -> Iterator[FactReader]:
    """A :class:`FactReader` on a connection from the pool, returned to it afterwards.

    On PostgreSQL the connection is switched to autocommit for the lookups and back before
    it returns to the pool; one that cannot be switched back is discarded, never pooled.
    """
    sqlite = ctx.db.is_sqlite
    raw = ctx.db.engine.raw_connection()
    driver: Any = raw.driver_connection
    try:
        if not sqlite:
            driver.autocommit = True
        try:
            cursor = raw.cursor()
            try:
                yield FactReader(cursor, sqlite)
            finally:
                cursor.close()
        finally:
            if not sqlite:
                try:
                    driver.autocommit = False
                except Exception:
                    raw.invalidate()
                    raise
    finally:
        raw.close()


class LoopReaders:
    """Connections of the event loop's own, for the single verification route.

    Checking a connection out of SQLAlchemy's pool (and resetting it on return) costs about
    as much as the lookup itself, and a thread-pool hop per request far more, so the route
    reads on connections kept for it, outside the pool, in autocommit:

    * SQLite: one connection per thread that asks (in practice the event loop's), used
      synchronously (:meth:`sqlite`): the lookups take microseconds and, in WAL mode, never
      wait for a writer.
    * PostgreSQL: up to ``size`` psycopg ``AsyncConnection`` s (:meth:`postgresql`), made
      with the engine's connection parameters, so a round trip never blocks the loop.

    A connection whose use raised is closed, never reused. :meth:`aclose` closes them all
    (the verification router's lifespan does, on the loop that used them).
    """

    def __init__(self, db: Database, *, size: int = 8) -> None:
        self._engine = db.engine
        self.is_sqlite: bool = db.is_sqlite
        self.errors: type[Exception] = db.engine.dialect.loaded_dbapi.Error
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sqlite: list[Any] = []
        self._size = size
        self._idle: list[Any] = []
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    # --- SQLite --------------------------------------------------------------------------

    def sqlite(self) -> FactReader:
        """This thread's reader (connected on first use)."""
        reader: FactReader | None = getattr(self._local, "reader", None)
        if reader is None:
            if self._closed:
                raise RuntimeError("the readers are closed")
            raw = self._engine.raw_connection()
            connection: Any = raw.driver_connection
            raw.detach()  # ours until closed; the pool makes another when it needs one
            with self._lock:
                self._sqlite.append(connection)
            reader = FactReader(connection.cursor(), True)
            self._local.connection, self._local.reader = connection, reader
        return reader

    def discard_sqlite(self) -> None:
        """Close this thread's connection (after an error); the next use opens another."""
        connection = getattr(self._local, "connection", None)
        self._local.connection = self._local.reader = None
        if connection is not None:
            with self._lock:
                if connection in self._sqlite:
                    self._sqlite.remove(connection)
            _close_quietly(connection)

    # --- PostgreSQL ----------------------------------------------------------------------

    @asynccontextmanager
    async def postgresql(self) -> AsyncIterator[AsyncFactReader]:
        """A reader on an idle connection (or a new one, up to ``size``; else wait for one)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._size)
        async with self._slots:
            connection = self._idle.pop() if self._idle else await self._connect()
            try:
                yield AsyncFactReader(connection)
            except BaseException:
                await _aclose_quietly(connection)
                raise
            if self._closed:
                await _aclose_quietly(connection)
            else:
                self._idle.append(connection)

    async def _connect(self) -> Any:
        if self._closed:
            raise RuntimeError("the readers are closed")
        import psycopg

        _, params = self._engine.dialect.create_connect_args(self._engine.url)
        params.pop("context", None)  # SQLAlchemy's adapters: these statements need none
        return await psycopg.AsyncConnection.connect(autocommit=True, **params)

    async def aclose(self) -> None:
        self._closed = True
        with self._lock:
            sqlite, self._sqlite = self._sqlite, []
        for connection in sqlite:
            _close_quietly(connection)
        idle, self._idle = self._idle, []
        for connection in idle:
            await _aclose_quietly(connection)


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # already broken: nothing left to release
        log.debug("closing a reader connection failed", exc_info=True)


async def _aclose_quietly(connection: Any) -> None:
    try:
        await connection.close()
    except Exception:  # already broken: nothing left to release
        log.debug("closing a reader connection failed", exc_info=True)


def _lookup_keys(token: str, registry: str) -> tuple[str, str] | None:
    """The issuer and this registry's list id (or "") a token names, read loosely, or None.

    Only for choosing which rows to read: the protocol then parses the token strictly and
    decides. Whenever that strict parse succeeds the payload is canonical JSON without
    duplicate members, so this reading agrees with it; when it fails, the verdict is
    ``malformed`` whatever facts were found.
    """
    parts = token.split(".")
    if len(token) > Endorsement.MAX_TOKEN_CHARS or len(parts) != 3:
        return None
    try:
        payload = orjson.loads(b64url_decode(parts[1]))
    except (EndorseError, orjson.JSONDecodeError):
        return None
    if type(payload) is not dict or type(payload.get("iss")) is not str:
        return None
    status = payload.get("status")
    list_id = ""
    if type(status) is dict and status.get("reg") == registry and type(status.get("list")) is str:
        list_id = status["list"]
    return payload["iss"], list_id


def gather_facts(ctx: Context, reader: FactReader, token: str, th: str, now: int) -> Facts:
    """The registry's trusted facts about ``token`` (whose token hash is ``th``), read now
    (spec §6.1).

    A token that does not decode gets no facts: the protocol will call it malformed without
    them. Nothing here decides a verdict.
    """
    keys = _lookup_keys(token, ctx.registry)
    if keys is None:
        return NO_FACTS
    issuer_key, list_id = keys
    row = reader.facts(issuer_key, list_id, th)
    bits = None
    if row[2] is not None:
        bits = ctx.caches.bits.get((list_id, row[2]))
        if bits is None:
            bits = _bits_read(ctx, list_id, reader.bits(list_id))
    return _facts(ctx, issuer_key, list_id, row, bits, now)


async def gather_facts_async(
    ctx: Context, reader: AsyncFactReader, token: str, th: str, now: int
) -> Facts:
    """:func:`gather_facts` through an :class:`AsyncFactReader`."""
    keys = _lookup_keys(token, ctx.registry)
    if keys is None:
        return NO_FACTS
    issuer_key, list_id = keys
    row = await reader.facts(issuer_key, list_id, th)
    bits = None
    if row[2] is not None:
        bits = ctx.caches.bits.get((list_id, row[2]))
        if bits is None:
            bits = _bits_read(ctx, list_id, await reader.bits(list_id))
    return _facts(ctx, issuer_key, list_id, row, bits, now)


def _bits_read(ctx: Context, list_id: str, read: tuple[int, int, bytes]) -> Bitstring:
    # A second statement may see a newer version (PostgreSQL): keyed by what it read.
    version, size, raw_bits = read
    bits = Bitstring(size, raw_bits)
    ctx.caches.bits.put((list_id, version), bits)
    return bits


def _facts(
    ctx: Context, issuer_key: str, list_id: str, row: FactRow, bits: Bitstring | None, now: int
) -> Facts:
    """The facts of one row read (and the list's bits, read or cached, if it has a list)."""
    binding_token, revoked_from, _version, registration_token = row
    issuers: dict[str, TrustedIssuer] = {}
    registration = None
    if binding_token is not None:
        issuer = _trusted_issuer(ctx, binding_token)
        if issuer is not None:
            if revoked_from is not None:
                issuer = dataclasses.replace(issuer, revoked_from=revoked_from)
                registration = _registration(ctx, registration_token)
            issuers[issuer_key] = issuer

    status_lists: dict[tuple[str, str], StatusList] = {}
    if bits is not None:
        status_lists[(ctx.registry, list_id)] = StatusList(
            ctx.registry, list_id, now, ctx.settings.status_max_age, bits
        )
    return Facts(issuers, status_lists, registration, registration_token is not None)


def _trusted_issuer(ctx: Context, binding_token: str) -> TrustedIssuer | None:
    issuer = ctx.caches.issuers.get(binding_token)
    if issuer is None:
        try:
            binding = verify_key_binding(binding_token, ctx.key.public_key, ctx.registry)
        except EndorseError:
            # The registry's own record does not verify: trust nothing from it.
            log.error("a stored key binding does not verify under the registry key")
            return None
        issuer = TrustedIssuer.from_binding(binding)
        ctx.caches.issuers.put(binding_token, issuer)
    return issuer


def _registration(ctx: Context, registration_token: str | None) -> Registration | None:
    if registration_token is None:
        return None
    try:
        return verify_registration(registration_token, ctx.key.public_key, ctx.registry)
    except EndorseError:
        log.error("a stored registration does not verify under the registry key")
        return None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A verification answered: the protocol's result and the registry's signed receipt."""

    result: VerificationResult
    receipt: str


def _counted(ctx: Context, facts: Facts, outcome: Outcome, now: int) -> Outcome:
    """``outcome``, counted as an online check of its endorsement when that is registered
    here and its signature verified (its issuer may see the count, ``GET /api/v1/checks``)."""
    e = outcome.result.endorsement
    if facts.registered and e is not None:
        ctx.checks.add(e.id, now)
    return outcome


def verify_one(ctx: Context, reader: FactReader, item: VerifyItem) -> Outcome:
    """Verify one token with the registry's facts and sign a receipt of the verdict."""
    now = ctx.clock()
    th = token_hash(item.token)
    facts = gather_facts(ctx, reader, item.token, th, now)
    return _counted(ctx, facts, _conclude(ctx, item, th, now, facts), now)


async def verify_one_async(ctx: Context, reader: AsyncFactReader, item: VerifyItem) -> Outcome:
    """:func:`verify_one` through an :class:`AsyncFactReader`."""
    now = ctx.clock()
    th = token_hash(item.token)
    facts = await gather_facts_async(ctx, reader, item.token, th, now)
    return _counted(ctx, facts, _conclude(ctx, item, th, now, facts), now)


def _conclude(ctx: Context, item: VerifyItem, th: str, now: int, facts: Facts) -> Outcome:
    """The protocol's verdict on ``item`` with ``facts``, and the receipt (counted)."""
    result = verify_endorsement(
        item.token,
        now=now,
        issuers=facts.issuers,
        status_lists=facts.status_lists,
        subject=item.subject,
        purpose=item.purpose,
        audience=item.audience,
        presentation=item.presentation,
        nonce=item.nonce,
        registration=facts.registration,
    )
    verdict = result.verdict.value
    receipt = sign(
        Receipt(registry=ctx.registry, token_hash=th, verdict=verdict, checked_at=now),
        ctx.key,
    )
    ctx.metrics.verdicts.labels(verdict).inc()
    return Outcome(result, receipt)


# --- counting and verifying requests -----------------------------------------------------


def count_request(ctx: Context, client: str) -> None:
    """Count one verification request of ``client`` against its rate limit. May write the
    shared rate-limit state: blocking, for the thread pool.

    Raises:
        TooManyRequests: the client is over ``limit_verify_per_client``.
    """
    s = ctx.settings
    enforce(
        ctx.limiter,
        bucket_name("verify", client),
        s.limit_verify_per_client,
        s.limit_verify_window,
        ctx.clock(),
    )


@functools.lru_cache(maxsize=4096)
def _verify_bucket(client: str) -> str:
    return bucket_name("verify", client)


def count_request_locally(ctx: Context, client: str) -> bool:
    """Count one verification request of ``client`` if that needs no shared write.

    True: counted, and within the limit. False: nothing counted; the caller must
    :func:`count_request` instead. Never waits for I/O, so the event loop may call it.

    Only a :class:`BatchedLimiter` can count without a shared write (see
    :meth:`BatchedLimiter.hit_locally`); any other limiter writes on every hit: always False.
    """
    limiter = ctx.limiter
    if type(limiter) is not BatchedLimiter:
        return False
    s = ctx.settings
    return limiter.hit_locally(
        _verify_bucket(client), s.limit_verify_per_client, s.limit_verify_window, ctx.clock()
    )


def verify_single(ctx: Context, readers: LoopReaders, item: VerifyItem) -> Outcome:
    """Verify one token (its request already counted) on SQLite, on this thread's connection.

    A connection that fails is closed and the lookup tried once more on a new one (it only
    reads); a second failure propagates.
    """
    try:
        return verify_one(ctx, readers.sqlite(), item)
    except readers.errors:
        readers.discard_sqlite()
    return verify_one(ctx, readers.sqlite(), item)


async def verify_single_async(ctx: Context, readers: LoopReaders, item: VerifyItem) -> Outcome:
    """Verify one token (its request already counted) on PostgreSQL, without blocking the
    loop. A connection that fails is closed and the lookup tried once more on another."""
    try:
        async with readers.postgresql() as reader:
            return await verify_one_async(ctx, reader, item)
    except readers.errors:
        pass
    async with readers.postgresql() as reader:
        return await verify_one_async(ctx, reader, item)


def verify_items(ctx: Context, items: Sequence[VerifyItem], client: str) -> list[Outcome]:
    """Count one verification request of ``client`` against its rate limit, then verify
    ``items`` over one pooled connection (blocking: for the thread pool).

    Raises:
        TooManyRequests: the client is over ``limit_verify_per_client``.
    """
    count_request(ctx, client)
    with reading(ctx) as reader:
        return [verify_one(ctx, reader, item) for item in items]


def outcome_document(outcome: Outcome) -> dict[str, Any]:
    """The JSON document of one answer (schema: ``VerifyResult``).

    ``claims`` is the token's payload exactly as signed (canonical JSON), given only when the
    signature verified.
    """
    result = outcome.result
    e = result.endorsement
    issuer = result.issuer
    status = result.status
    claims = None
    if e is not None:
        claims = orjson.Fragment(b64url_decode(result.token.split(".", 2)[1]))
    return {
        "verdict": result.verdict.value,
        "message": result.message,
        "detail": result.detail,
        "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in result.checks],
        "claims": claims,
        "issuer": None
        if issuer is None
        else {
            "key": issuer.key,
            "email": issuer.identity,
            "name": issuer.name,
            "since": issuer.since,
        },
        "status": None
        if status is None or e is None or e.status is None
        else {
            "list_id": status.list_id,
            "index": e.status.index,
            "checked_at": status.issued_at,
            "fresh_until": status.fresh_until,
        },
        "checked_at": result.checked_at,
        "receipt": outcome.receipt,
    }
