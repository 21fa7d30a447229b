"""Verification for recruiters: gather the registry's facts, run the protocol, sign a receipt.

The verdict is :func:`endorse.protocol.verify_endorsement`'s, always: this module only looks up
what the registry knows about a token (the issuer's binding and key state, the token's status
list, its registration) and hands those facts to the pure function (spec §6.1, §6.3). The
facts come from one statement over three indexed lookups; verified key bindings and decoded
status bitstrings are cached per process, keyed by what makes them immutable (the binding
token; the list's version), so revocations still come from the database on every request.

>>> cache: LRU[str, int] = LRU(2)
>>> cache.put("a", 1); cache.put("b", 2); cache.put("c", 3)
>>> cache.get("a") is None, cache.get("c")
(True, 3)
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
from endorse.server.ratelimit import bucket_name, enforce

if TYPE_CHECKING:
    from endorse.server.context import Context

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


class FactReader:
    """Fact lookups on one pooled connection, through the driver directly.

    This is the verification hot path, and these two fixed, read-only statements are all
    it runs, so it skips SQLAlchemy's statement and result layers (about as costly as the
    query itself on SQLite). Every statement runs on its own (SQLite with the driver's
    autocommit, PostgreSQL in autocommit mode): a single statement sees one consistent
    snapshot, and no BEGIN/COMMIT round trips are paid. Nothing here writes.
    """

    def __init__(self, cursor: Any, sqlite: bool) -> None:
        self._cursor = cursor
        self._facts = _FACTS if sqlite else _PYFORMAT.sub(r"%(\1)s", _FACTS)
        self._bits = _BITS if sqlite else _PYFORMAT.sub(r"%(\1)s", _BITS)

    def facts(self, issuer: str, list_id: str, th: str) -> tuple[Any, ...]:
        """(binding token, revoked from, list version, registration token), each maybe None."""
        self._cursor.execute(self._facts, {"issuer": issuer, "list_id": list_id, "token_hash": th})
        row: tuple[Any, ...] = self._cursor.fetchone()
        return row

    def bits(self, list_id: str) -> tuple[int, int, bytes]:
        """(version, size, bits) of a list known to exist."""
        self._cursor.execute(self._bits, {"list_id": list_id})
        version, size, bits = self._cursor.fetchone()
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
    binding_token, revoked_from, version, registration_token = reader.facts(issuer_key, list_id, th)

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
    if version is not None:
        bits = ctx.caches.bits.get((list_id, version))
        if bits is None:
            # A second statement may see a newer version (PostgreSQL): key by what it read.
            version, size, raw_bits = reader.bits(list_id)
            bits = Bitstring(size, raw_bits)
            ctx.caches.bits.put((list_id, version), bits)
        status_lists[(ctx.registry, list_id)] = StatusList(
            ctx.registry, list_id, now, ctx.settings.status_max_age, bits
        )
    return Facts(issuers, status_lists, registration)


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


def verify_one(ctx: Context, reader: FactReader, item: VerifyItem) -> Outcome:
    """Verify one token with the registry's facts and sign a receipt of the verdict."""
    now = ctx.clock()
    th = token_hash(item.token)
    facts = gather_facts(ctx, reader, item.token, th, now)
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


def verify_items(ctx: Context, items: Sequence[VerifyItem], client: str) -> list[Outcome]:
    """Count one verification request of ``client`` against its rate limit, then verify
    ``items`` over one connection.

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
