"""The core's state and the steps every flow shares: building (and signing) requests,
reading answers, checking the registry's statements under the pinned key, retries, and the
first contact with the registry (pinning its key)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson

from endorse.client._wire import (
    AnswerMalformed,
    Flow,
    KeyStateOut,
    Outcome,
    ProblemOut,
    Request,
    Response,
    WellKnownOut,
    decode_answer,
    retry_after_seconds,
)
from endorse.client.cache import MAX_FACT_TTL, FactCache, IssuerFact
from endorse.client.errors import (
    PinMismatch,
    RegistryError,
    RegistryStatementInvalid,
    RegistryUnreachable,
)
from endorse.client.models import RegistryInfo
from endorse.client.pins import PinStore, follow_rotations
from endorse.protocol import (
    DEFAULT_CLOCK_SKEW,
    PROTOCOL_VERSION,
    BadSignature,
    InvalidArgument,
    InvalidKey,
    KeyBinding,
    KeyRevocation,
    MalformedToken,
    PublicKey,
    SignaturePool,
    SigningKey,
    TrustedIssuer,
    verify_key_binding,
    verify_key_revocation,
)
from endorse.protocol.objects import MAX_STATUS_LIST_AGE, check_registry
from endorse.protocol.requests import sign_request

__all__ = ["CoreBase"]

T = TypeVar("T")

DEFAULT_FACT_TTL = 300
"""The status max-age assumed for a registry whose ``/.well-known`` does not state one."""
UNKNOWN_FACT_TTL = 60
"""Seconds an issuer's key state is reused while the registry's status max-age is unknown
(its ``/.well-known`` could not be read) and no status list of it is held whose signed ``ttl``
says it: short, as the max-age may be shorter (see :attr:`Core.fact_ttl`)."""
CONTACT_RETRY = 30
"""Seconds a verification does not ask ``/.well-known`` again after the registry answered it
with an error (its key being pinned already): the facts are still verified under that key."""
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_RETRY_WAIT = 30.0
"""The most seconds one request waits in total before its retries (``Retry-After`` included):
an answer asking for longer is returned as it is (its :class:`RegistryError` says
``retry_after``)."""


class CoreBase:
    """The state of a :class:`~endorse.client._core.Core` and the steps its flows share."""

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
        self._contact_after = 0
        self.info: RegistryInfo | None = None
        self.key: PublicKey | None = None
        if registry_key is not None:
            self.key = PublicKey.from_did(registry_key)
        elif pins is not None:
            pinned = pins.get(self.registry)
            self.key = None if pinned is None else PublicKey.from_did(pinned)
        if self.key is not None:
            cache.attach(self.registry, self.key)
        self._signatures: SignaturePool | None = None
        self._signatures_lock = threading.Lock()  # a Client may be shared by threads

    def signature_pool(self, workers: int) -> SignaturePool:
        """This client's worker processes for the signature checks of large batches (see
        :class:`~endorse.protocol.SignaturePool`), ``workers`` of them: made when a batch
        first needs them, kept warm for the next, stopped by :meth:`close_workers` (and
        made anew when a batch asks for another number)."""
        with self._signatures_lock:
            pool = self._signatures
            if pool is None or pool.workers != workers:
                if pool is not None:
                    pool.close()
                pool = self._signatures = SignaturePool(workers)
            return pool

    def close_workers(self) -> None:
        """Stop this client's worker processes, if it started any (the client's ``close``)."""
        with self._signatures_lock:
            pool, self._signatures = self._signatures, None
        if pool is not None:
            pool.close()

    @property
    def uses_files(self) -> bool:
        """Whether this core's flows may read or write files: a disk cache, or the pin store
        while the registry's key is not pinned yet (its first contact records it)."""
        return self.cache.directory is not None or (self.pins is not None and self.key is None)

    # --- retries -------------------------------------------------------------------------

    def retry_delay(
        self,
        request: Request,
        outcome: Outcome,
        attempt: int,
        waited: float,
        left: float = float("inf"),
    ) -> float | None:
        """Seconds to wait before sending ``request`` again after ``outcome`` (attempt 0 is
        the first send; ``waited``: the seconds already waited before its retries; ``left``:
        the seconds before the call's deadline), or None: do not retry.

        A 503 or 429 saying ``Retry-After: <seconds>`` is retried after that long, as long as
        the request's waits stay within :data:`MAX_RETRY_WAIT` in all and the retry can start
        before the call's deadline (else the answer is returned as it is, its ``retry_after``
        said); a 429 without it is not retried (the caller sees the refusal at once, not a
        hammered rate limit).
        """
        if not request.idempotent or attempt >= self.retries:
            return None
        backoff = min(0.1 * (1 << attempt), 2.0)
        if isinstance(outcome, Response):
            retry_after = retry_after_seconds(outcome) if outcome.status in (429, 503) else None
            if retry_after is not None:
                backoff = float(retry_after)
            elif outcome.status not in RETRY_STATUSES:
                return None
        if waited + backoff > MAX_RETRY_WAIT or backoff >= left:
            return None
        return backoff

    # --- helpers -------------------------------------------------------------------------

    @property
    def fact_ttl(self) -> int:
        """Seconds an issuer's key state is fresh after it was fetched: the registry's status
        max-age (spec §5 "Freshness": a key revocation then reaches this client as fast as a
        token revocation does), at most :data:`MAX_FACT_TTL` (that max-age is not signed).
        Before ``/.well-known`` was read, the max-age the registry signed into a status list
        held (the shortest), else :data:`UNKNOWN_FACT_TTL`."""
        if self.info is not None:
            return min(self.info.status_max_age, MAX_FACT_TTL)
        held = (self.cache.status_list(list_id) for list_id in self.cache.list_ids())
        return min(
            (fact.status.max_age for fact in held if fact is not None), default=UNKNOWN_FACT_TTL
        )

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
        retry_after = retry_after_seconds(response)
        try:
            p = decode_answer(response.content, ProblemOut)
        except AnswerMalformed:
            p = ProblemOut(title=f"HTTP {response.status}", detail=f"HTTP {response.status}")
        return RegistryError(
            response.status, p.type[:200], p.title[:200], p.detail[:500], retry_after=retry_after
        )

    def _decode(self, response: Response, shape: type[T], what: str) -> T:
        try:
            return decode_answer(response.content, shape)
        except AnswerMalformed as e:
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

    def _binding(self, state: KeyStateOut, did: str) -> KeyBinding:
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

    def _issuer_fact(self, state: KeyStateOut, did: str, now: int) -> IssuerFact:
        binding = self._binding(state, did)
        revocation = None
        if state.key_revocation is not None:
            revocation = self._key_revocation(state.key_revocation, did)
        elif state.revoked_from is not None:
            raise RegistryStatementInvalid(
                f"{self.registry}: says the key is revoked without a signed key revocation"
            )
        # A binding dated ahead of this client's clock (a registry clock error) serves the
        # call that fetched it, and is asked for again by the next one: never relied on later.
        ttl = 0 if binding.issued_at > now + DEFAULT_CLOCK_SKEW else self.fact_ttl
        return IssuerFact(
            key=did,
            issuer=TrustedIssuer.from_binding(binding, revocation),
            binding=state.binding,
            key_revocation=state.key_revocation,
            fetched_at=now,
            fresh_until=now + ttl,
            refresh_at=now + ttl,
        )

    # --- contact and pinning -------------------------------------------------------------

    def contact(self, *, strict: bool, now: int | None = None) -> Flow[bool]:
        """Check the registry's ``/.well-known`` once per client: its id, its key against the
        pin (recording it on first contact). Returns whether the registry answered.

        Without ``strict``, a registry that cannot be asked is tolerated when its key is known
        already (pinned or cached): everything is still verified under that key. An error
        answer is then not asked again for :data:`CONTACT_RETRY` seconds after ``now``
        (a failed network is backed off by the verification flow itself).

        Raises:
            PinMismatch: the registry presents another key than the pinned one.
            RegistryUnreachable, RegistryError: contact failed, and (``strict`` or) no key is
                known.
            RegistryStatementInvalid: the description is malformed or names another registry.
        """
        if self.info is not None:
            return True
        tolerant = self.key is not None and not strict
        if tolerant and now is not None and now < self._contact_after:
            return True  # it answered an error a moment ago
        (outcome,) = yield [self._get("/.well-known/endorse-registry")]
        if isinstance(outcome, RegistryUnreachable) or outcome.status != 200:
            if tolerant:
                if isinstance(outcome, Response) and now is not None:
                    self._contact_after = now + CONTACT_RETRY
                return isinstance(outcome, Response)
            if isinstance(outcome, RegistryUnreachable):
                raise outcome
            raise self.problem(outcome)
        info = self._decode(outcome, WellKnownOut, "/.well-known/endorse-registry")
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
        # A pinned key is left only for a successor it signed (spec §4.14).
        rotations = [k.rotation for k in info.keys if k.rotation is not None]
        if self.key is None:
            assert self.pins is not None
            existing = self.pins.record(self.registry, presented.did)
            if existing is not None and existing != presented.did:
                follow_rotations(self.registry, existing, presented.did, rotations)
                if not self.pins.replace(self.registry, existing, presented.did):
                    raise PinMismatch(self.registry, existing, presented.did)
            self.first_contact = existing is None
            self.key = presented
            self.cache.attach(self.registry, presented)
        elif presented != self.key:
            follow_rotations(self.registry, self.key.did, presented.did, rotations)
            if self.pins is not None:
                self.pins.replace(self.registry, self.key.did, presented.did)
            self.key = presented
            self.cache.attach(self.registry, presented)
        max_age = info.status_max_age
        if max_age is None or not 1 <= max_age <= MAX_STATUS_LIST_AGE:
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
