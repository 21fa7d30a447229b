"""The sans-I/O core of the registry client, shared by :class:`Client` and :class:`AsyncClient`.

Every call is a *flow*: a generator that yields batches of :class:`Request` and is sent back
one :class:`Outcome` per request (a :class:`Response`, or :class:`RegistryUnreachable` when the
network failed), and finally returns the call's answer. The flow builds each request (method,
URL, headers with the spec §10 request signature, body bytes) and checks each answer: problem
documents become :class:`RegistryError`, registry statements are verified under the pinned
registry key (:class:`RegistryStatementInvalid` when they do not), and verified facts go to the
:class:`~endorse.client.cache.FactCache`. The flows never touch the network and never read a
clock: the current time is an argument. The two clients only drive them, as httpx's clients
drive its auth flows::

    flow = core.verify([VerifyItem(token)], now=int(time.time()), allow_stale=0)
    batch = next(flow)
    while True:
        try:
            batch = flow.send([send(request) for request in batch])
        except StopIteration as done:
            results = done.value
            break

Verification is offline-first (spec §6.1): the flow asks the registry for facts only (an
issuer's key binding and key state, a status list, a registration), never for a verdict, and
runs :func:`~endorse.protocol.verify_endorsement` itself. It runs it first with the fresh facts
the cache holds (with warm caches that is all: one parse and one signature check per token);
the tokens whose good signature names an issuer, list or registration the cache lacks (or
holds past its freshness) are verified again once those are fetched, each fact once per call.
The core does no network I/O and reads no clock; the stores it is handed (the fact cache, the
pin store) may keep files when the caller asked for that (:attr:`Core.uses_files`: the async
client then runs the flows' steps, one at a time, in a worker thread, through :func:`advance`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode, urlsplit

import msgspec
import orjson

from endorse.client.cache import FactCache, IssuerFact, ListFact, RegistrationFact
from endorse.client.errors import (
    PinMismatch,
    RegistryError,
    RegistryStatementInvalid,
    RegistryUnreachable,
)
from endorse.client.models import (
    Issued,
    Listed,
    OnlineIssuer,
    OnlineResult,
    OnlineStatus,
    Pending,
    RegistryInfo,
    Revoked,
    VerifyItem,
)
from endorse.client.pins import PinStore
from endorse.client.share import verification_url
from endorse.protocol import (
    PROTOCOL_VERSION,
    BadSignature,
    Check,
    EndorseError,
    Endorsement,
    InvalidArgument,
    InvalidKey,
    KeyBinding,
    KeyRevocation,
    KeyRotation,
    MalformedToken,
    PublicKey,
    Registration,
    Relationship,
    Revocation,
    SigningKey,
    StatusList,
    StatusRef,
    Subject,
    TrustedIssuer,
    Verdict,
    VerificationResult,
    decode_unverified,
    issue,
    sign,
    token_hash,
    verify_endorsement,
    verify_key_binding,
    verify_key_revocation,
    verify_receipt,
    verify_registration,
    verify_revocation,
    verify_status_list,
    verify_token,
)
from endorse.protocol.objects import MAX_STATUS_LIST_AGE, check_registry
from endorse.protocol.requests import sign_request, sign_rotation_consent

__all__ = ["Core", "Done", "Flow", "Outcome", "Request", "Response", "advance"]

T = TypeVar("T")

DEFAULT_FACT_TTL = 300
"""Seconds an issuer's key state is reused before it is asked again, when the registry does
not say its status max-age (``/.well-known``); otherwise that max-age is used, so a key
revocation reaches the client as fast as a token revocation does."""
UNREACHABLE_BACKOFF = 2
"""Seconds offline-first verification relies on its cache alone after the registry could not
be reached, instead of asking again (and waiting for the network) on every call."""
NEGATIVE_TTL = 60
"""Seconds a "no such key" or "no such registration" answer is reused (at most the max-age)."""
PAGE_SIZE = 100
MAX_PAGES = 10_000
RETRY_STATUSES = frozenset({502, 503, 504})
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age=([0-9]{1,9})(?:$|[,\s])")


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request to the registry: absolute URL, headers and body bytes.

    ``idempotent`` requests may be retried after a network failure or a 502/503/504: GETs
    without a signature, and ``POST /api/v1/verify`` (no side effects). Signed requests are
    never retried: their nonce is single-use, so a resend would be refused as a replay.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    content: bytes
    idempotent: bool


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer: status, headers with lower-case names, and the body bytes."""

    status: int
    headers: Mapping[str, str]
    content: bytes


Outcome = Response | RegistryUnreachable
Flow = Generator[list[Request], list[Outcome], T]


@dataclass(frozen=True, slots=True)
class Done(Generic[T]):
    """A flow's answer (what :func:`advance` returns when the flow has finished)."""

    value: T


def advance(flow: Flow[T], outcomes: list[Outcome] | None) -> list[Request] | Done[T]:
    """Run ``flow`` one step: start it (``outcomes`` None) or send it the outcomes of its
    last batch. Returns its next batch of requests, or :class:`Done` with its answer.

    A step as a plain call, so a client can run it in a worker thread: a ``StopIteration``
    cannot cross into an asyncio future.
    """
    try:
        return next(flow) if outcomes is None else flow.send(outcomes)
    except StopIteration as done:
        return Done(done.value)


# --- answer shapes (what the API promises; unknown members are tolerated) -----------------


class _WellKnown(msgspec.Struct):
    registry: str
    key: str
    protocol_version: int
    server_version: str = ""
    status_max_age: int = DEFAULT_FACT_TTL


class _Problem(msgspec.Struct):
    type: str = "about:blank"
    title: str = ""
    detail: str = ""


class _KeyState(msgspec.Struct):
    key: str
    binding: str
    revoked_from: int | None = None
    key_revocation: str | None = None
    successor: str | None = None
    rotation: str | None = None


class _Pending(msgspec.Struct):
    pending: str
    expires_at: int


class _Slot(msgspec.Struct):
    registry: str
    list_id: str
    index: int


class _Registered(msgspec.Struct):
    id: str
    token_hash: str
    registered_at: int
    registration: str


class _RegistrationLookup(msgspec.Struct):
    token_hash: str
    registration: str


class _Item(msgspec.Struct):
    id: str
    token: str
    registered_at: int
    revoked_at: int | None
    list_id: str
    index: int


class _Page(msgspec.Struct):
    items: list[_Item]
    next_cursor: str | None = None


class _RevokedOut(msgspec.Struct):
    id: str
    revoked_at: int
    revocation: str


class _StatusListOut(msgspec.Struct):
    token: str


class _CheckOut(msgspec.Struct):
    name: str
    passed: bool
    detail: str


class _IssuerOut(msgspec.Struct):
    key: str
    email: str | None = None
    name: str | None = None
    since: int | None = None


class _StatusOut(msgspec.Struct):
    list_id: str
    index: int
    checked_at: int
    fresh_until: int


class _VerifyOut(msgspec.Struct):
    verdict: str
    message: str
    detail: str
    checks: list[_CheckOut]
    checked_at: int
    receipt: str
    claims: dict[str, Any] | None = None
    issuer: _IssuerOut | None = None
    status: _StatusOut | None = None


# --- the cache as the protocol reads it ---------------------------------------------------


class _FreshIssuers(Mapping[str, TrustedIssuer]):
    """The cached issuers whose key state is still fresh at ``now``, read as a mapping
    (:func:`verify_endorsement` looks issuers up by key)."""

    def __init__(self, cache: FactCache, now: int) -> None:
        self._cache, self._now = cache, now
        self._seen: dict[str, IssuerFact | None] = {}  # one call's snapshot: no lock per token

    def _fact(self, did: str) -> IssuerFact | None:
        try:
            return self._seen[did]
        except KeyError:
            fact = self._seen[did] = self._cache.issuer(did)
            return fact

    def __getitem__(self, did: str) -> TrustedIssuer:
        issuer: TrustedIssuer | None = self.get(did)
        if issuer is None:
            raise KeyError(did)
        return issuer

    def get(self, did: str, default: Any = None) -> Any:
        # What verify_endorsement calls, once per token: Mapping.get would add two calls.
        try:
            fact = self._seen[did]
        except KeyError:
            fact = self._seen[did] = self._cache.issuer(did)
        if fact is None or fact.issuer is None or self._now >= fact.refresh_at:
            return default
        return fact.issuer

    def known(self, did: str) -> bool:
        """Whether the registry's answer about ``did`` (a binding, or "unknown") is fresh."""
        fact = self._fact(did)
        return fact is not None and self._now < fact.refresh_at

    def __iter__(self) -> Iterator[str]:
        return (did for did in self._cache.issuer_keys() if did in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return True  # never falsy, and never counted for it (verify reads ``lists or {}``)


class _FreshLists(Mapping[tuple[str, str], StatusList]):
    """The cached status lists of this registry not yet due for a re-fetch at ``now``."""

    def __init__(self, core: Core, now: int) -> None:
        self._cache, self._registry, self._now = core.cache, core.registry, now
        self._seen: dict[str, ListFact | None] = {}

    def __getitem__(self, key: tuple[str, str]) -> StatusList:
        status: StatusList | None = self.get(key)
        if status is None:
            raise KeyError(key)
        return status

    def get(self, key: tuple[str, str], default: Any = None) -> Any:
        # What verify_endorsement calls, once per token: Mapping.get would add two calls.
        registry, list_id = key
        if registry != self._registry:
            return default
        try:
            fact = self._seen[list_id]
        except KeyError:
            fact = self._seen[list_id] = self._cache.status_list(list_id)
        if fact is None or self._now >= fact.check_at:
            return default
        return fact.status

    def __iter__(self) -> Iterator[tuple[str, str]]:
        keys = ((self._registry, list_id) for list_id in self._cache.list_ids())
        return (key for key in keys if key in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return True  # never falsy, and never counted for it (verify reads ``lists or {}``)


# --- the core ------------------------------------------------------------------------------


class Core:
    """The client's state (pinned key, registry description, caches) and its flows.

    Args:
        registry: the registry's id, its base URL (``https://…``; ``http`` only on loopback).
        registry_key: the registry's did:key when the caller pins it; else trust on first use
            through ``pins``.
        pins: where first-contact keys are recorded and read (ignored with ``registry_key``).
        cache: the verified facts.
        retries: how often an idempotent request is retried.

    Raises:
        InvalidArgument: ``registry`` is not a registry id, ``retries`` not an int >= 0, or
            neither ``registry_key`` nor ``pins`` was given.
        InvalidKey: ``registry_key`` is not an Ed25519 did:key.
        PinStoreError: the pin store cannot be read.
    """

    def __init__(
        self,
        registry: str,
        *,
        registry_key: str | None,
        pins: PinStore | None,
        cache: FactCache,
        retries: int,
    ) -> None:
        try:
            self.registry = check_registry(registry, "registry")
        except MalformedToken as e:
            raise InvalidArgument(str(e)) from e
        if type(retries) is not int or retries < 0:
            raise InvalidArgument("retries must be an int >= 0")
        if registry_key is None and pins is None:
            raise InvalidArgument("a registry key or a pin store is needed")
        self.base_path = urlsplit(self.registry).path
        self.retries = retries
        self.cache = cache
        self.pins = None if registry_key is not None else pins
        self.first_contact = False
        self._down_until = 0
        self.info: RegistryInfo | None = None
        self.key: PublicKey | None = None
        if registry_key is not None:
            self.key = PublicKey.from_did(registry_key)
        elif pins is not None:
            pinned = pins.get(self.registry)
            self.key = None if pinned is None else PublicKey.from_did(pinned)
        if self.key is not None:
            cache.attach(self.registry, self.key)

    @property
    def uses_files(self) -> bool:
        """Whether this core's flows may read or write files: a disk cache, or the pin store
        while the registry's key is not pinned yet (its first contact records it)."""
        return self.cache.directory is not None or (self.pins is not None and self.key is None)

    # --- retries -------------------------------------------------------------------------

    def retry_delay(self, request: Request, outcome: Outcome, attempt: int) -> float | None:
        """Seconds to wait before sending ``request`` again after ``outcome`` (attempt 0 is
        the first send), or None: do not retry."""
        if not request.idempotent or attempt >= self.retries:
            return None
        if isinstance(outcome, RegistryUnreachable) or outcome.status in RETRY_STATUSES:
            return min(0.1 * (1 << attempt), 2.0)
        return None

    # --- helpers -------------------------------------------------------------------------

    @property
    def fact_ttl(self) -> int:
        return DEFAULT_FACT_TTL if self.info is None else self.info.status_max_age

    def _pinned(self) -> PublicKey:
        if self.key is None:  # pragma: no cover - _contact raises first
            raise RegistryUnreachable(f"{self.registry}: its key is not known yet")
        return self.key

    def _get(self, path: str, headers: Mapping[str, str] | None = None) -> Request:
        return Request("GET", self.registry + path, dict(headers or {}), b"", True)

    def _post(self, path: str, body: Any, *, idempotent: bool = False) -> Request:
        return Request(
            "POST",
            self.registry + path,
            {"content-type": "application/json"},
            orjson.dumps(body),
            idempotent,
        )

    def _signed(
        self, key: SigningKey, method: str, path: str, body: Any | None, now: int
    ) -> Request:
        """A request signed by ``key`` (spec §10): the signature covers this registry, the
        method, the path with its query, the exact body bytes and ``now``."""
        if type(key) is not SigningKey:
            raise InvalidArgument("endorser calls are signed with a SigningKey")
        content = b"" if body is None else orjson.dumps(body)
        headers = sign_request(key, self.registry, method, self.base_path + path, content, now=now)
        if body is not None:
            headers["content-type"] = "application/json"
        return Request(method, self.registry + path, headers, content, False)

    @staticmethod
    def _one(request: Request) -> Generator[list[Request], list[Outcome], Response]:
        (outcome,) = yield [request]
        if isinstance(outcome, RegistryUnreachable):
            raise outcome
        return outcome

    def _expect(self, response: Response, *statuses: int) -> Response:
        if response.status in statuses:
            return response
        raise self.problem(response)

    def problem(self, response: Response) -> RegistryError:
        """The :class:`RegistryError` an error answer stands for."""
        retry = response.headers.get("retry-after", "")
        retry_after = int(retry) if retry.isdigit() and len(retry) < 10 else None
        try:
            p = msgspec.json.decode(response.content, type=_Problem)
        except msgspec.MsgspecError:
            p = _Problem(title=f"HTTP {response.status}", detail=f"HTTP {response.status}")
        return RegistryError(
            response.status, p.type, p.title[:200], p.detail[:500], retry_after=retry_after
        )

    def _decode(self, response: Response, shape: type[T], what: str) -> T:
        try:
            return msgspec.json.decode(response.content, type=shape)
        except msgspec.MsgspecError as e:
            raise RegistryStatementInvalid(
                f"{self.registry}: not the answer promised for {what}: {e}"
            ) from e

    def _statement(self, what: str, check: Callable[[], T]) -> T:
        try:
            return check()
        except (MalformedToken, BadSignature, InvalidKey) as e:
            raise RegistryStatementInvalid(
                f"{self.registry}: {what} does not verify under the pinned key"
                f" {self._pinned().did}: {e}"
            ) from e

    def _binding(self, state: _KeyState, did: str) -> KeyBinding:
        key, registry = self._pinned(), self.registry
        binding = self._statement(
            "key binding", lambda: verify_key_binding(state.binding, key, registry)
        )
        if binding.key != did or state.key != did:
            raise RegistryStatementInvalid(f"{registry}: key binding is for another key")
        return binding

    def _key_revocation(self, token: str, did: str) -> KeyRevocation:
        key = self._pinned()
        revocation = self._statement("key revocation", lambda: verify_key_revocation(token, key))
        if revocation.key != did:
            raise RegistryStatementInvalid(f"{self.registry}: key revocation is for another key")
        return revocation

    def _issuer_fact(self, state: _KeyState, did: str, now: int) -> IssuerFact:
        binding = self._binding(state, did)
        revocation = None
        if state.key_revocation is not None:
            revocation = self._key_revocation(state.key_revocation, did)
        elif state.revoked_from is not None:
            raise RegistryStatementInvalid(
                f"{self.registry}: says the key is revoked without a signed key revocation"
            )
        return IssuerFact(
            key=did,
            issuer=TrustedIssuer.from_binding(binding, revocation),
            binding=state.binding,
            key_revocation=state.key_revocation,
            fetched_at=now,
            fresh_until=now + self.fact_ttl,
            refresh_at=now + self.fact_ttl,
        )

    # --- contact and pinning -------------------------------------------------------------

    def contact(self, *, strict: bool) -> Flow[bool]:
        """Check the registry's ``/.well-known`` once per client: its id, its key against the
        pin (recording it on first contact). Returns whether the registry answered.

        Without ``strict``, a registry that cannot be asked is tolerated when its key is known
        already (pinned or cached): everything is still verified under that key.

        Raises:
            PinMismatch: the registry presents another key than the pinned one.
            RegistryUnreachable, RegistryError: contact failed, and (``strict`` or) no key is
                known.
            RegistryStatementInvalid: the description is malformed or names another registry.
        """
        if self.info is not None:
            return True
        (outcome,) = yield [self._get("/.well-known/endorse-registry")]
        if isinstance(outcome, RegistryUnreachable) or outcome.status != 200:
            if self.key is not None and not strict:
                return isinstance(outcome, Response)
            if isinstance(outcome, RegistryUnreachable):
                raise outcome
            raise self.problem(outcome)
        info = self._decode(outcome, _WellKnown, "/.well-known/endorse-registry")
        if info.registry != self.registry:
            raise RegistryStatementInvalid(
                f"{self.registry}: describes itself as registry {info.registry[:100]!r}"
            )
        if info.protocol_version != PROTOCOL_VERSION:
            raise RegistryStatementInvalid(
                f"{self.registry}: speaks protocol version {info.protocol_version}, not 1"
            )
        try:
            presented = PublicKey.from_did(info.key)
        except InvalidKey as e:
            raise RegistryStatementInvalid(f"{self.registry}: presents an invalid key: {e}") from e
        if self.key is None:
            assert self.pins is not None
            existing = self.pins.record(self.registry, presented.did)
            if existing is not None and existing != presented.did:
                raise PinMismatch(self.registry, existing, presented.did)
            self.first_contact = existing is None
            self.key = presented
            self.cache.attach(self.registry, presented)
        elif presented != self.key:
            raise PinMismatch(self.registry, self.key.did, presented.did)
        max_age = info.status_max_age
        if not 1 <= max_age <= MAX_STATUS_LIST_AGE:
            max_age = DEFAULT_FACT_TTL
        self.info = RegistryInfo(
            registry=info.registry,
            key=presented.did,
            protocol_version=info.protocol_version,
            server_version=info.server_version[:100],
            status_max_age=max_age,
        )
        return True

    def connect(self) -> Flow[RegistryInfo]:
        """Contact the registry now (see :meth:`contact`) and describe it."""
        yield from self.contact(strict=True)
        assert self.info is not None
        return self.info

    # --- verification --------------------------------------------------------------------

    def verify(
        self,
        items: Sequence[VerifyItem | str],
        *,
        now: int,
        allow_stale: int = 0,
        subject: str | None = None,
        purpose: str | None = None,
        audience: str | None = None,
    ) -> Flow[list[VerificationResult]]:
        """Verify each item offline-first: fetch the facts missing or due for refresh (each
        issuer, list and registration once per call), then run the protocol.

        An item is a :class:`VerifyItem`, or a token verified with the shared ``subject``,
        ``purpose`` and ``audience`` (no object is made for it: batches are large).

        A status list that cannot be had fresh leaves the verdict to the protocol:
        ``status_unavailable``, unless the list is at most ``allow_stale`` seconds past its
        max-age. An issuer's key state (key binding and key revocation) that cannot be had
        fresh follows the same rule (:func:`_key_state_rule`): fresh for the registry's status
        max-age after it was fetched, it can make a token ``valid`` only that long plus
        ``allow_stale``; past that, a token that passes every other step is
        ``status_unavailable``. A key state the cache never held cannot be waived like that.

        Raises:
            RegistryUnreachable, RegistryError: an issuer's key state (or a registration the
                protocol needs) could not be had, from the registry or the cache.
            PinMismatch, RegistryStatementInvalid: the registry's answers cannot be trusted.
            InvalidArgument: ``allow_stale`` is not an int >= 0, or an expectation has the
                wrong type.
        """
        if type(allow_stale) is not int or allow_stale < 0:
            raise InvalidArgument("allow_stale must be an int >= 0 (seconds)")
        shared = VerifyItem("", subject, purpose, audience)  # checks their types, once
        # First pass: the protocol with the fresh facts the cache holds. With warm caches that
        # is all (each token parsed once); it also shows, from what the tokens' own signatures
        # vouch for, which facts are missing: a forged token makes nothing be fetched.
        fresh_issuers, fresh_lists = _FreshIssuers(self.cache, now), _FreshLists(self, now)
        check = self._check
        results = [
            check(item.token, item, now, fresh_issuers, fresh_lists, None, allow_stale)
            if isinstance(item, VerifyItem)
            else check(item, shared, now, fresh_issuers, fresh_lists, None, allow_stale)
            for item in items
        ]
        redo: list[int] = []
        dids: dict[str, None] = {}
        list_ids: dict[str, None] = {}
        valid = Verdict.VALID
        for i, result in enumerate(results):
            e = result.endorsement
            # A valid verdict was reached with fresh facts only: nothing to fetch for it.
            if e is None or result.verdict is valid:
                continue
            missing = not fresh_issuers.known(e.issuer)
            ours = e.status if e.status is not None and e.status.registry == self.registry else None
            if ours is not None and (self.registry, ours.list_id) not in fresh_lists:
                missing = True
            if ours is not None and result.verdict is Verdict.ISSUER_KEY_REVOKED:
                missing = True  # its registration may say it was registered in time
            if missing:
                # All the token's facts: those still fresh are taken from the cache.
                dids[e.issuer] = None
                if ours is not None:
                    list_ids[ours.list_id] = None
                redo.append(i)
        if not redo:
            return results

        # Second pass, for the tokens that lacked something: fetch it (each issuer, list and
        # registration once), falling back to what the cache holds, however old.
        if now < self._down_until and self.key is not None:
            reachable = False  # it just failed: do not make every verification wait
        else:
            reachable = yield from self.contact(strict=False)
            if not reachable:
                self._down_until = now + UNREACHABLE_BACKOFF
        issuers: dict[str, TrustedIssuer] = {}
        lists: dict[tuple[str, str], StatusList] = {}
        held: dict[str, IssuerFact] = {}
        registrations: dict[int, Registration] = {}
        reachable = yield from self._gather(
            list(dids), list(list_ids), issuers, lists, held, now, reachable
        )
        redone = [results[i].endorsement for i in redo]
        tokens = [results[i].token for i in redo]
        yield from self._registrations(tokens, redone, issuers, registrations, now, reachable)
        for position, i in enumerate(redo):
            item = items[i]
            expect = item if isinstance(item, VerifyItem) else shared
            result = self._check(
                tokens[position],
                expect,
                now,
                issuers,
                lists,
                registrations.get(position),
                allow_stale,
            )
            e = result.endorsement
            fact = None if e is None else held.get(e.issuer)
            results[i] = result if fact is None else _key_state_rule(result, fact, allow_stale)
        return results

    @staticmethod
    def _check(
        token: str,
        item: VerifyItem,
        now: int,
        issuers: Mapping[str, TrustedIssuer],
        lists: Mapping[tuple[str, str], StatusList],
        registration: Registration | None,
        allow_stale: int,
    ) -> VerificationResult:
        return verify_endorsement(
            token,
            now=now,
            issuers=issuers,
            status_lists=lists,
            subject=item.subject,
            purpose=item.purpose,
            audience=item.audience,
            presentation=item.presentation,
            nonce=item.nonce,
            registration=registration,
            max_status_staleness=allow_stale,
        )

    def _gather(
        self,
        dids: list[str],
        list_ids: list[str],
        issuers: dict[str, TrustedIssuer],
        lists: dict[tuple[str, str], StatusList],
        held: dict[str, IssuerFact],
        now: int,
        reachable: bool,
    ) -> Flow[bool]:
        """Fill ``issuers`` and ``lists`` from the cache and, in one batch, the registry.

        ``held`` gets the issuer key states that are due for a refresh the registry could not
        give, and are used as the cache holds them (see :func:`_key_state_rule`).
        """
        due_issuers: list[tuple[str, IssuerFact | None]] = []
        for did in dids:
            fact = self.cache.issuer(did)
            if fact is not None and now < fact.refresh_at:
                if fact.issuer is not None:
                    issuers[did] = fact.issuer
            else:
                due_issuers.append((did, fact))
        due_lists: list[tuple[str, ListFact | None]] = []
        for list_id in list_ids:
            listed = self.cache.status_list(list_id)
            if listed is not None and now < listed.check_at:
                lists[(self.registry, list_id)] = listed.status
            else:
                due_lists.append((list_id, listed))
        if not due_issuers and not due_lists:
            return reachable
        requests = [self._get(f"/api/v1/identities/{did}") for did, _ in due_issuers]
        for list_id, listed in due_lists:
            headers = (
                {} if listed is None or listed.etag is None else {"if-none-match": listed.etag}
            )
            requests.append(self._get(f"/api/v1/status-lists/{list_id}", headers))
        outcomes = yield from self._fetch(requests, now, reachable)
        failure: EndorseError | None = None
        for (did, old), outcome in zip(due_issuers, outcomes, strict=False):
            fact, error = self._take_issuer(did, old, outcome, now)
            if fact is not None and fact.issuer is not None:
                issuers[did] = fact.issuer
                if error is not None:
                    held[did] = fact
            elif fact is None and failure is None:
                failure = error
        for (list_id, listed), outcome in zip(due_lists, outcomes[len(due_issuers) :], strict=True):
            taken = self._take_list(list_id, listed, outcome, now)
            if taken is not None:
                lists[(self.registry, list_id)] = taken.status
        if failure is not None:
            raise failure
        return not any(isinstance(o, RegistryUnreachable) for o in outcomes)

    def _fetch(self, requests: list[Request], now: int, reachable: bool) -> Flow[list[Outcome]]:
        """Send a batch of fact requests, unless the registry is known to be unreachable.

        A network failure marks the registry down for :data:`UNREACHABLE_BACKOFF` seconds:
        verifications meanwhile use what the cache holds instead of each waiting for the
        network (a black-holed registry would cost every call its timeouts and retries).
        """
        if not reachable:
            return [RegistryUnreachable(f"{self.registry}: unreachable")] * len(requests)
        outcomes = yield requests
        if any(isinstance(o, RegistryUnreachable) for o in outcomes):
            self._down_until = now + UNREACHABLE_BACKOFF
        return outcomes

    def _take_issuer(
        self, did: str, old: IssuerFact | None, outcome: Outcome, now: int
    ) -> tuple[IssuerFact | None, EndorseError | None]:
        """The issuer fact an answer gives, or the cached one if it gives none (with why)."""
        if isinstance(outcome, RegistryUnreachable):
            return old, outcome
        if outcome.status == 200:
            fact = self._issuer_fact(self._decode(outcome, _KeyState, "a key state"), did, now)
        elif outcome.status == 404:
            ttl = min(NEGATIVE_TTL, self.fact_ttl)
            fact = IssuerFact(did, None, None, None, now, now + ttl, now + ttl)
        else:
            return old, self.problem(outcome)
        self.cache.put_issuer(fact)
        return fact, None

    def _take_list(
        self, list_id: str, old: ListFact | None, outcome: Outcome, now: int
    ) -> ListFact | None:
        """The list fact an answer gives; the cached one when the answer gives none."""
        if isinstance(outcome, RegistryUnreachable):
            return old
        max_age = _cache_max_age(outcome.headers.get("cache-control", ""))
        if outcome.status == 304 and old is not None:
            # The copy we hold is current: keep it, ask again after the max-age given. A 304
            # is not signed, so it never makes a list fresher than its own iat + ttl says.
            fresh_until = old.status.fresh_until
            later = now + (max_age or 0)
            check_at = later if now >= fresh_until else min(later, fresh_until)
            kept = replace(old, check_at=check_at)
            self.cache.put_list(kept, write=False)
            return kept
        if outcome.status != 200:
            return old  # a missing list, or a refusal: the protocol decides with what we have
        token = self._decode(outcome, _StatusListOut, "a status list").token
        key, registry = self._pinned(), self.registry
        status = self._statement("status list", lambda: verify_status_list(token, key, registry))
        if status.list_id != list_id:
            raise RegistryStatementInvalid(f"{registry}: answered another status list")
        if old is not None and status.issued_at < old.status.issued_at:
            return old  # never go back to an older list than one we hold
        fresh_until = status.fresh_until
        check_at = fresh_until if max_age is None else min(fresh_until, now + max_age)
        fact = ListFact(list_id, status, token, outcome.headers.get("etag"), now, check_at)
        self.cache.put_list(fact)
        return fact

    def _registrations(
        self,
        tokens: Sequence[str],
        decoded: list[Endorsement | None],
        issuers: dict[str, TrustedIssuer],
        found: dict[int, Registration],
        now: int,
        reachable: bool,
    ) -> Flow[None]:
        """Registrations of tokens whose issuer key is revoked (spec §6.3 step 5)."""
        wanted: dict[str, list[int]] = {}
        for i, e in enumerate(decoded):
            if e is None or e.status is None or e.status.registry != self.registry:
                continue
            issuer = issuers.get(e.issuer)
            if issuer is None or issuer.revoked_from is None:
                continue
            wanted.setdefault(token_hash(tokens[i]), []).append(i)
        due: list[tuple[str, RegistrationFact | None]] = []
        for th, indexes in wanted.items():
            fact = self.cache.registration(th)
            if fact is not None and (fact.registration is not None or now < fact.refresh_at):
                if fact.registration is not None:
                    found.update(dict.fromkeys(indexes, fact.registration))
            else:
                due.append((th, fact))
        if not due:
            return
        requests = [self._get(f"/api/v1/registrations/{th}") for th, _ in due]
        outcomes = yield from self._fetch(requests, now, reachable)
        key, registry = self._pinned(), self.registry
        for (th, old), outcome in zip(due, outcomes, strict=True):
            if isinstance(outcome, Response) and outcome.status == 200:
                token = self._decode(outcome, _RegistrationLookup, "a registration").registration
                registration = self._statement(
                    "registration", partial(verify_registration, token, key, registry)
                )
                if registration.token_hash != th:
                    raise RegistryStatementInvalid(f"{registry}: answered another registration")
                fact = RegistrationFact(th, registration, token, now, now)
            elif isinstance(outcome, Response) and outcome.status == 404:
                fact = RegistrationFact(th, None, None, now, now + min(NEGATIVE_TTL, self.fact_ttl))
            elif old is not None:
                continue  # known not to be registered, as of a while ago
            elif isinstance(outcome, RegistryUnreachable):
                raise outcome
            else:
                raise self.problem(outcome)
            self.cache.put_registration(fact)
            if fact.registration is not None:
                found.update(dict.fromkeys(wanted[th], fact.registration))

    def verify_online(self, item: VerifyItem, *, now: int) -> Flow[OnlineResult]:
        """Ask the registry's verification API; check its signed receipt.

        Raises:
            RegistryUnreachable, RegistryError: the registry could not answer.
            RegistryStatementInvalid: the receipt does not verify, or disagrees with the
                answer or the token.
            PinMismatch: see :meth:`contact`.
        """
        if not isinstance(item, VerifyItem) or type(item.token) is not str:
            raise InvalidArgument("verify_online needs a token string")
        yield from self.contact(strict=False)
        body = {
            name: getattr(item, name)
            for name in ("token", "subject", "purpose", "audience", "presentation", "nonce")
            if getattr(item, name) is not None
        }
        response = yield from self._one(self._post("/api/v1/verify", body, idempotent=True))
        out = self._decode(self._expect(response, 200), _VerifyOut, "a verification")
        key, registry = self._pinned(), self.registry
        receipt = self._statement("receipt", lambda: verify_receipt(out.receipt, key, registry))
        if (
            receipt.token_hash != token_hash(item.token)
            or receipt.verdict != out.verdict
            or receipt.checked_at != out.checked_at
        ):
            raise RegistryStatementInvalid(
                f"{registry}: the receipt disagrees with the answer or is for another token"
            )
        return OnlineResult(
            verdict=Verdict(receipt.verdict),
            message=out.message,
            detail=out.detail,
            checks=tuple(Check(c.name, c.passed, c.detail) for c in out.checks),
            claims=out.claims,
            issuer=None
            if out.issuer is None
            else OnlineIssuer(out.issuer.key, out.issuer.email, out.issuer.name, out.issuer.since),
            status=None
            if out.status is None
            else OnlineStatus(
                out.status.list_id, out.status.index, out.status.checked_at, out.status.fresh_until
            ),
            checked_at=receipt.checked_at,
            receipt=receipt,
            receipt_token=out.receipt,
        )

    # --- the endorser's calls ------------------------------------------------------------

    def register(self, key: SigningKey, email: str, name: str, *, now: int) -> Flow[Pending]:
        """Ask to bind ``key`` to ``email``; a code is e-mailed (spec §10, signed request)."""
        if type(email) is not str or type(name) is not str:
            raise InvalidArgument("register needs an e-mail address and a name (str)")
        yield from self.contact(strict=True)
        request = self._signed(
            key, "POST", "/api/v1/identities/register", {"email": email, "name": name}, now
        )
        response = yield from self._one(request)
        return self._pending(self._expect(response, 202))

    def _pending(self, response: Response) -> Pending:
        p = self._decode(response, _Pending, "a pending confirmation")
        return Pending(p.pending, p.expires_at)

    def confirm(
        self, key: SigningKey, pending: Pending | str, code: str, *, now: int
    ) -> Flow[KeyBinding]:
        """Return the e-mailed code; the registry binds the key and signs the binding."""
        body = {"pending": _pending_id(pending), "code": _code(code)}
        yield from self.contact(strict=True)
        request = self._signed(key, "POST", "/api/v1/identities/confirm", body, now)
        response = yield from self._one(request)
        state = self._decode(self._expect(response, 200), _KeyState, "a key state")
        fact = self._issuer_fact(state, key.did, now)
        self.cache.put_issuer(fact)
        return self._binding(state, key.did)

    def issue(
        self,
        key: SigningKey,
        issuer_name: str,
        subject: Subject,
        relationship: Relationship,
        purposes: Sequence[str],
        *,
        now: int,
        expires: int | None = None,
        not_before: int | None = None,
        audience: str | None = None,
        statement: str | None = None,
        contact: bool = False,
    ) -> Flow[Issued]:
        """Allocate a status slot, sign the endorsement locally, register it.

        The endorsement is built and signed once before a slot is asked for, so a field that
        breaks a protocol rule is refused (:class:`MalformedToken`) without using up a slot.
        """
        options: dict[str, Any] = {
            "expires": expires,
            "not_before": not_before,
            "audience": audience,
            "statement": statement,
            "contact": contact,
        }
        rehearsal = StatusRef(self.registry, "rehearsal", 0)
        issue(
            key, issuer_name, subject, relationship, purposes, now=now, status=rehearsal, **options
        )
        yield from self.contact(strict=True)
        response = yield from self._one(self._signed(key, "POST", "/api/v1/slots", None, now))
        slot = self._decode(self._expect(response, 201), _Slot, "a status slot")
        if slot.registry != self.registry:
            raise RegistryStatementInvalid(f"{self.registry}: allocated a slot of another registry")
        status = StatusRef(slot.registry, slot.list_id, slot.index)
        try:
            token = issue(
                key, issuer_name, subject, relationship, purposes, now=now, status=status, **options
            )
        except MalformedToken as e:  # the rehearsal passed: only the slot can be at fault
            raise RegistryStatementInvalid(f"{self.registry}: allocated a malformed slot") from e
        response = yield from self._one(self._post("/api/v1/endorsements", {"token": token}))
        answer = self._decode(self._expect(response, 201, 200), _Registered, "a registration")
        pinned, registry = self._pinned(), self.registry
        registration = self._statement(
            "registration", lambda: verify_registration(answer.registration, pinned, registry)
        )
        if registration.token_hash != token_hash(token) or registration.issuer != key.did:
            raise RegistryStatementInvalid(f"{registry}: registered another token")
        endorsement = decode_unverified(token, Endorsement).object
        self.cache.put_registration(
            RegistrationFact(registration.token_hash, registration, answer.registration, now, now)
        )
        return Issued(token, verification_url(registry, token), registration, endorsement)

    def list_endorsements(self, key: SigningKey, *, now: int) -> Flow[list[Listed]]:
        """All of the endorser's registered tokens, every page."""
        yield from self.contact(strict=True)
        out: list[Listed] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query = (
                {"limit": PAGE_SIZE} if cursor is None else {"limit": PAGE_SIZE, "cursor": cursor}
            )
            request = self._signed(
                key, "GET", f"/api/v1/endorsements?{urlencode(query)}", None, now
            )
            response = yield from self._one(request)
            page = self._decode(self._expect(response, 200), _Page, "a page of endorsements")
            for item in page.items:
                out.append(self._listed(item, key))
            if page.next_cursor is None:
                return out
            if page.next_cursor in seen:
                raise RegistryStatementInvalid(f"{self.registry}: pages that never end")
            seen.add(page.next_cursor)
            cursor = page.next_cursor
        raise RegistryStatementInvalid(f"{self.registry}: pages that never end")

    def _listed(self, item: _Item, key: SigningKey) -> Listed:
        try:
            e = verify_token(item.token, Endorsement).object
        except EndorseError as err:
            raise RegistryStatementInvalid(f"{self.registry}: listed a bad token: {err}") from err
        if e.issuer != key.did or e.id != item.id:
            raise RegistryStatementInvalid(f"{self.registry}: listed another endorser's token")
        return Listed(
            item.id, item.token, item.registered_at, item.revoked_at, item.list_id, item.index, e
        )

    def revoke(
        self, key: SigningKey, endorsement: str, reason: str | None, *, now: int
    ) -> Flow[Revoked]:
        """Withdraw an endorsement (by id, or by its token) with a revocation signed by
        ``key``; the registry stores it durably before it answers."""
        if type(key) is not SigningKey:
            raise InvalidArgument("a revocation is signed with a SigningKey")
        list_id = None
        if type(endorsement) is str and endorsement.startswith(Endorsement.TYPE + "-v1."):
            e = decode_unverified(endorsement, Endorsement).object
            if e.issuer != key.did:
                raise InvalidKey("this endorsement was issued by another key")
            endorsement_id = e.id
            if e.status is not None and e.status.registry == self.registry:
                list_id = e.status.list_id
        else:
            endorsement_id = endorsement
        revocation = sign(
            Revocation(
                endorsement_id=endorsement_id,
                issuer=key.did,
                by=key.did,
                issued_at=now,
                reason=reason,
            ),
            key,
        )
        yield from self.contact(strict=True)
        path = f"/api/v1/endorsements/{endorsement_id}/revoke"
        response = yield from self._one(self._post(path, {"revocation": revocation}))
        answer = self._decode(self._expect(response, 200), _RevokedOut, "a revocation")
        pinned = self._pinned()
        stored = self._statement("revocation", lambda: verify_revocation(answer.revocation, pinned))
        if stored.endorsement_id != endorsement_id or answer.id != endorsement_id:
            raise RegistryStatementInvalid(f"{self.registry}: answered another revocation")
        if list_id is not None:
            # This client knows at once: its cached list is re-fetched on the next verify.
            listed = self.cache.status_list(list_id)
            if listed is not None:
                self.cache.put_list(replace(listed, check_at=now), write=False)
        return Revoked(answer.id, answer.revoked_at, stored)

    def rotate_key(self, old: SigningKey, new: SigningKey, *, now: int) -> Flow[KeyBinding]:
        """Rotate ``old`` to ``new``: the old key names its successor, the new one consents."""
        if type(old) is not SigningKey or type(new) is not SigningKey:
            raise InvalidArgument("rotate_key needs the old and the new SigningKey")
        rotation = sign(KeyRotation(key=old.did, successor=new.did, issued_at=now), old)
        body = {"rotation": rotation, "successor_proof": sign_rotation_consent(new, rotation)}
        yield from self.contact(strict=True)
        path = f"/api/v1/identities/{old.did}/rotate"
        response = yield from self._one(self._signed(old, "POST", path, body, now))
        state = self._decode(self._expect(response, 200), _KeyState, "a key state")
        fact = self._issuer_fact(state, new.did, now)
        self.cache.put_issuer(fact)
        self.cache.forget_issuer(old.did)
        return self._binding(state, new.did)

    def revoke_key(self, key: SigningKey, reason: str | None, *, now: int) -> Flow[KeyRevocation]:
        """Revoke ``key`` from now on, signed by the key itself."""
        if type(key) is not SigningKey:
            raise InvalidArgument("a key revocation is signed with a SigningKey")
        token = sign(
            KeyRevocation(key=key.did, revoked_from=now, by=key.did, issued_at=now, reason=reason),
            key,
        )
        yield from self.contact(strict=True)
        path = f"/api/v1/identities/{key.did}/revoke"
        response = yield from self._one(self._signed(key, "POST", path, {"revocation": token}, now))
        return self._revoked_key(response, key.did)

    def _revoked_key(self, response: Response, did: str) -> KeyRevocation:
        state = self._decode(self._expect(response, 200), _KeyState, "a key state")
        self._binding(state, did)
        if state.key_revocation is None:
            raise RegistryStatementInvalid(f"{self.registry}: did not answer a key revocation")
        revocation = self._key_revocation(state.key_revocation, did)
        self.cache.forget_issuer(did)
        return revocation

    def recover(self, key_did: str) -> Flow[Pending]:
        """The key is lost: have a revocation code e-mailed to the identity it is bound to."""
        did = PublicKey.from_did(key_did).did
        yield from self.contact(strict=True)
        response = yield from self._one(self._post(f"/api/v1/identities/{did}/recover", {}))
        return self._pending(self._expect(response, 202))

    def confirm_recovery(
        self, key_did: str, pending: Pending | str, code: str, revoked_from: int | None
    ) -> Flow[KeyRevocation]:
        """Return the recovery code; the registry revokes the key and signs the revocation."""
        did = PublicKey.from_did(key_did).did
        body: dict[str, Any] = {"pending": _pending_id(pending), "code": _code(code)}
        if revoked_from is not None:
            if type(revoked_from) is not int:
                raise InvalidArgument("revoked_from must be Unix seconds (int) or None")
            body["revoked_from"] = revoked_from
        yield from self.contact(strict=True)
        path = f"/api/v1/identities/{did}/recover/confirm"
        response = yield from self._one(self._post(path, body))
        return self._revoked_key(response, did)


def _key_state_rule(
    result: VerificationResult, fact: IssuerFact, allow_stale: int
) -> VerificationResult:
    """Apply the freshness rule of cached issuer key states to ``result``, a verification
    made with ``fact`` while the registry could not give a fresher one.

    The rule: a key state (key binding and key revocation) is fresh for the registry's
    status max-age after it was fetched (``fact.fresh_until``), as a status list is for its
    max-age after it was issued (spec §5 "Freshness", §8.17). Used past that, it answers
    only what a stale status list answers (spec §6.3 steps 6 and 9): what it says against
    the token stands (a key revocation it holds, as a set bit does; every earlier or other
    failing step decides as usual), but it cannot vouch that the key was not revoked since,
    so a token that passes every step is ``status_unavailable``, unless the caller allowed
    that much staleness (``allow_stale``, the protocol's ``max_status_staleness``); then it
    stays ``valid`` and its ``issuer_key`` check says how stale the key state was. A state
    dated after the verification's time (a clock set back, or an altered cache file) is
    not fresh either.
    """
    if result.verdict is not Verdict.VALID:
        return result
    now = result.checked_at
    late = now - fact.fresh_until
    if late <= 0 and fact.fetched_at <= now:
        return result
    if 0 < late <= allow_stale and fact.fetched_at <= now:
        note = f"; key state as of {fact.fetched_at}, {late} s past its max-age (allowed)"
        checks = tuple(
            Check(c.name, c.passed, c.detail + note) if c.name == "issuer_key" else c
            for c in result.checks
        )
        return replace(result, checks=checks)
    stale = Check(
        "issuer_key",
        False,
        f"key state as of {fact.fetched_at}, fresh until {fact.fresh_until}: not fresh at"
        f" {now}, and the registry could not be asked for a fresh one",
    )
    return replace(
        result,
        verdict=Verdict.STATUS_UNAVAILABLE,
        detail="issuer key state is stale",
        checks=tuple(stale if c.name == "issuer_key" else c for c in result.checks),
    )


def _pending_id(pending: Pending | str) -> str:
    value = pending.id if type(pending) is Pending else pending
    if type(value) is not str:
        raise InvalidArgument("pending must be the Pending answered, or its id")
    return value


def _code(code: str) -> str:
    if type(code) is not str:
        raise InvalidArgument("the code is the 8-digit string e-mailed")
    return code.strip()


def _cache_max_age(cache_control: str) -> int | None:
    match = _MAX_AGE.search(cache_control.lower())
    return None if match is None else int(match.group(1))
