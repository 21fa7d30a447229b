"""The verifier's flows: offline-first verification (spec §6.1, §6.3) and the registry's
verification API with its signed receipt."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import msgspec.structs

from endorse.client._base import CoreBase
from endorse.client._wire import (
    Flow,
    KeyStateOut,
    Outcome,
    RegistrationLookupOut,
    Request,
    Response,
    StatusListOut,
    VerifyOut,
    cache_max_age,
)
from endorse.client.cache import FactCache, IssuerFact, ListFact, RegistrationFact
from endorse.client.errors import (
    RegistryStatementInvalid,
    RegistryUnreachable,
    StatusBitCleared,
)
from endorse.client.models import (
    OnlineIssuer,
    OnlineResult,
    OnlineStatus,
    VerifyItem,
)
from endorse.protocol import (
    DEFAULT_CLOCK_SKEW,
    Check,
    EndorseError,
    Endorsement,
    Expectations,
    InvalidArgument,
    Registration,
    StatusList,
    TrustedFacts,
    TrustedIssuer,
    Verdict,
    VerificationResult,
    default_workers,
    token_hash,
    verify_endorsement,
    verify_endorsements,
    verify_receipt,
    verify_registration,
    verify_status_list,
)

__all__ = ["Verifying"]

POOL_BATCH = 512
"""The shortest batch whose signatures the client checks in its worker processes (starting
them takes ~40 ms, about what 600 tokens verified in one thread take); shorter batches check
them on threads."""

UNREACHABLE_BACKOFF = 2
"""Seconds offline-first verification relies on its cache alone after the registry could not
be reached, instead of asking again (and waiting for the network) on every call."""
NEGATIVE_TTL = 60
"""Seconds a "no such key" or "no such registration" answer is reused (at most the max-age)."""

# --- the cache as the protocol reads it ---------------------------------------------------


class _FreshIssuers(Mapping[str, TrustedIssuer]):
    """The cached issuers whose key state is still fresh at ``now``, read as a mapping
    (:func:`verify_endorsement` looks issuers up by key)."""

    def __init__(self, cache: FactCache, now: int) -> None:
        self._cache, self._now = cache, now
        self._seen: dict[str, IssuerFact | None] = {}  # one call's snapshot: no lock per token
        self._answers: dict[str, TrustedIssuer | None] = {}  # what get decided, per key

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
        # What verify_endorsement calls, once per token: Mapping.get would add two calls,
        # and the answer for an issuer (met again by its other tokens) is decided once.
        try:
            found = self._answers[did]
        except KeyError:
            fact = self._fact(did)
            fresh = fact is not None and fact.issuer is not None and self._now < fact.refresh_at
            found = self._answers[did] = fact.issuer if fresh and fact is not None else None
        return default if found is None else found

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

    def __init__(self, core: CoreBase, now: int) -> None:
        self._cache, self._registry, self._now = core.cache, core.registry, now
        self._seen: dict[str, ListFact | None] = {}
        self._answers: dict[str, StatusList | None] = {}  # what get decided, per list id

    def __getitem__(self, key: tuple[str, str]) -> StatusList:
        status: StatusList | None = self.get(key)
        if status is None:
            raise KeyError(key)
        return status

    def get(self, key: tuple[str, str], default: Any = None) -> Any:
        # What verify_endorsement calls, once per token: Mapping.get would add two calls,
        # and the answer for a list (met again by the other tokens on it) is decided once.
        registry, list_id = key
        if registry != self._registry:
            return default
        try:
            found = self._answers[list_id]
        except KeyError:
            try:
                fact = self._seen[list_id]
            except KeyError:
                fact = self._seen[list_id] = self._cache.status_list(list_id)
            stale = fact is None or self._now >= fact.check_at or _ahead(fact.status, self._now)
            found = self._answers[list_id] = None if stale or fact is None else fact.status
        return default if found is None else found

    def __iter__(self) -> Iterator[tuple[str, str]]:
        keys = ((self._registry, list_id) for list_id in self._cache.list_ids())
        return (key for key in keys if key in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return True  # never falsy, and never counted for it (verify reads ``lists or {}``)


class Verifying(CoreBase):
    """The verifier's flows of :class:`~endorse.client._core.Core`."""

    def verify(
        self,
        items: Sequence[VerifyItem | str],
        *,
        now: int,
        allow_stale: int = 0,
        subject: str | None = None,
        purpose: str | None = None,
        audience: str | None = None,
        workers: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Flow[list[VerificationResult]]:
        """Verify each item offline-first: fetch the facts missing or due for refresh (each
        issuer, list and registration once per call), then run the protocol.

        The first pass (all a batch needs with warm caches) checks its signatures on
        ``workers`` cores (default: the machine's; 1: in the calling thread): in this
        client's worker processes for a batch of :data:`POOL_BATCH` tokens or more, else on
        threads (:func:`~endorse.protocol.verify_endorsements`); it stops with
        :class:`~endorse.protocol.VerificationCancelled` once ``cancel`` is set.

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
            InvalidArgument: ``allow_stale`` is not an int >= 0, ``workers`` not an int >= 1,
                or an expectation has the wrong type.
            VerificationCancelled: ``cancel`` was set during the first pass.
        """
        if type(allow_stale) is not int or allow_stale < 0:
            raise InvalidArgument("allow_stale must be an int >= 0 (seconds)")
        if workers is not None and (type(workers) is not int or workers < 1):
            raise InvalidArgument("workers must be an int >= 1, or None for every core")
        shared = VerifyItem("", subject, purpose, audience)  # checks their types, once
        # First pass: the protocol with the fresh facts the cache holds. With warm caches that
        # is all (each token parsed once); it also shows, from what the tokens' own signatures
        # vouch for, which facts are missing: a forged token makes nothing be fetched.
        fresh_issuers, fresh_lists = _FreshIssuers(self.cache, now), _FreshLists(self, now)
        expected = Expectations(now, subject, purpose, audience)
        pairs = [
            (item.token, _expectations(item, now))
            if isinstance(item, VerifyItem)
            else (item, expected)
            for item in items
        ]
        trusted = TrustedFacts(fresh_issuers, fresh_lists, None, allow_stale)
        count = workers if workers is not None else default_workers()
        pool = self.signature_pool(count) if count > 1 and len(pairs) >= POOL_BATCH else None
        results = list(
            verify_endorsements(pairs, trusted, workers=workers, pool=pool, cancel=cancel)
        )
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
            reachable = yield from self.contact(strict=False, now=now)
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
            if listed is not None and now < listed.check_at and not _ahead(listed.status, now):
                lists[(self.registry, list_id)] = listed.status
            else:
                due_lists.append((list_id, listed))
        if not due_issuers and not due_lists:
            return reachable
        requests = [self._get(f"/api/v1/identities/{did}") for did, _ in due_issuers]
        for list_id, listed in due_lists:
            etag = None if listed is None or _ahead(listed.status, now) else listed.etag
            headers = {} if etag is None else {"if-none-match": etag}
            requests.append(self._get(f"/api/v1/status-lists/{list_id}", headers))
        outcomes = yield from self._fetch(requests, now, reachable)
        # The lists first: one of them may say the registry's max-age (see fact_ttl).
        again: list[tuple[str, ListFact]] = []
        for (list_id, listed), outcome in zip(due_lists, outcomes[len(due_issuers) :], strict=True):
            taken, ask_again = self._take_list(list_id, listed, outcome, now)
            if taken is not None and ask_again:
                again.append((list_id, taken))
            elif taken is not None:
                lists[(self.registry, list_id)] = taken.status
        if again:
            # Answered "not modified" for lists past their freshness: asked once more without
            # an ETag, so a registry whose ETags ignore iat still gives its fresh list now.
            retried = [self._get(f"/api/v1/status-lists/{list_id}") for list_id, _ in again]
            more = yield from self._fetch(retried, now, True)
            outcomes = [*outcomes, *more]
            for (list_id, listed), outcome in zip(again, more, strict=True):
                taken, _ = self._take_list(list_id, listed, outcome, now)
                if taken is not None:
                    lists[(self.registry, list_id)] = taken.status
        failure: EndorseError | None = None
        for (did, old), outcome in zip(due_issuers, outcomes, strict=False):
            fact, error = self._take_issuer(did, old, outcome, now)
            if fact is not None and fact.issuer is not None:
                issuers[did] = fact.issuer
                if error is not None:
                    held[did] = fact
            elif fact is None and failure is None:
                failure = error
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
            fact = self._issuer_fact(self._decode(outcome, KeyStateOut, "a key state"), did, now)
        elif outcome.status == 404:
            ttl = min(NEGATIVE_TTL, self.fact_ttl)
            fact = IssuerFact(did, None, None, None, now, now + ttl, now + ttl)
        else:
            return old, self.problem(outcome)
        self.cache.put_issuer(fact)
        return fact, None

    def _take_list(
        self, list_id: str, old: ListFact | None, outcome: Outcome, now: int
    ) -> tuple[ListFact | None, bool]:
        """The list fact an answer gives (the cached one when the answer gives none), and
        whether to ask again at once, without an ETag."""
        if isinstance(outcome, RegistryUnreachable):
            return old, False
        max_age = cache_max_age(outcome.headers.get("cache-control", ""))
        if outcome.status == 304 and old is not None:
            fresh_until = old.status.fresh_until
            if now >= fresh_until or _ahead(old.status, now):
                # "Not modified", yet the copy we hold is past its own iat + ttl: a registry
                # whose ETag does not change when it re-signs. A 304 is not signed, so it never
                # makes a list fresher: forget the ETag and ask again at once.
                dropped = replace(old, etag=None, check_at=now)
                self.cache.put_list(dropped)
                return dropped, old.etag is not None
            # The copy we hold is current: keep it, ask again after the max-age given.
            kept = replace(old, check_at=min(now + (max_age or 0), fresh_until))
            self.cache.put_list(kept, write=False)
            return kept, False
        if outcome.status != 200:
            # A missing list, or a refusal: the protocol decides with what we have.
            return old, False
        token = self._decode(outcome, StatusListOut, "a status list").token
        key, registry = self._pinned(), self.registry
        status = self._statement("status list", lambda: verify_status_list(token, key, registry))
        if status.list_id != list_id:
            raise RegistryStatementInvalid(f"{registry}: answered another status list")
        if _ahead(status, now):
            # Dated ahead (a registry clock error, spec §8.13): never stored, so it cannot
            # make the honest lists that follow look older; the protocol would not rely on it.
            return old, False
        held = _held(old, now)
        if held is not None and status.issued_at < held.status.issued_at:
            return old, False  # never go back to an older list than one we hold
        if held is not None:
            _check_monotonic(registry, held.status, status)
        fresh_until = status.fresh_until
        check_at = fresh_until if max_age is None else min(fresh_until, now + max_age)
        fact = ListFact(list_id, status, token, outcome.headers.get("etag"), now, check_at)
        self.cache.put_list(fact)
        return fact, False

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
                token = self._decode(outcome, RegistrationLookupOut, "a registration").registration
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
            dated = None if fact.registration is None else fact.registration.registered_at
            if dated is None or dated <= now + DEFAULT_CLOCK_SKEW:
                # One dated ahead (a registry clock error) serves this call only: a found
                # registration is kept for good, and its date is what it is about.
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
        yield from self.contact(strict=False, now=now)
        body = {
            name: getattr(item, name)
            for name in ("token", "subject", "purpose", "audience", "presentation", "nonce")
            if getattr(item, name) is not None
        }
        response = yield from self._one(self._post("/api/v1/verify", body, idempotent=True))
        out = self._decode(self._expect(response, 200), VerifyOut, "a verification")
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


def _ahead(status: StatusList, now: int) -> bool:
    """Whether ``status`` is dated more than the clock skew after ``now`` (spec §8.13): not
    relied on, never stored, and never a reason to refuse the lists that follow."""
    return status.issued_at > now + DEFAULT_CLOCK_SKEW


def _held(old: ListFact | None, now: int) -> ListFact | None:
    """The list held, as a bound on the lists to take: not one dated ahead of ``now`` (kept
    by an older client in a cache file), which the next honest list replaces."""
    return None if old is None or _ahead(old.status, now) else old


def _check_monotonic(registry: str, held: StatusList, new: StatusList) -> None:
    """Refuse ``new`` if it clears a bit ``held`` has set (spec §5: bits are never cleared).

    Raises:
        StatusBitCleared: it does; the held list stays.
    """
    old_bits, new_bits = held.bits.to_bytes(), new.bits.to_bytes()
    width = len(old_bits)
    # Entries the new list lacks (a shorter list) count as cleared.
    kept = int.from_bytes(new_bits[:width].ljust(width, b"\0"), "big")
    cleared = (int.from_bytes(old_bits, "big") & ~kept).to_bytes(width, "big")
    if any(cleared):
        indexes = [
            8 * position + bit
            for position, byte in enumerate(cleared)
            if byte
            for bit in range(8)
            if byte & (0x80 >> bit)
        ]
        raise StatusBitCleared(registry, held.list_id, indexes)


def _expectations(item: VerifyItem, now: int) -> Expectations:
    return Expectations(
        now, item.subject, item.purpose, item.audience, item.presentation, item.nonce
    )


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
        return msgspec.structs.replace(result, checks=checks)
    stale = Check(
        "issuer_key",
        False,
        f"key state as of {fact.fetched_at}, fresh until {fact.fresh_until}: not fresh at"
        f" {now}, and the registry could not be asked for a fresh one",
    )
    return msgspec.structs.replace(
        result,
        verdict=Verdict.STATUS_UNAVAILABLE,
        detail="issuer key state is stale",
        checks=tuple(stale if c.name == "issuer_key" else c for c in result.checks),
    )
