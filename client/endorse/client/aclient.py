"""The asynchronous registry client: httpx I/O around the sans-I/O core (:mod:`._core`).

Verify a reference offline-first, with the registry asked only for facts::

    from endorse.client import AsyncClient

    async with AsyncClient("https://registry.example") as client:
        result = await client.verify(token, subject="bob@example.com")
        print(result.verdict, result.message)

The first contact pins the registry's key (``client.first_contact`` is then True and
``client.registry_key`` is the key to show); a later change of key is refused
(:class:`~endorse.client.errors.PinMismatch`). Pass ``registry_key=`` to pin it yourself.

No file is read or written on the event loop after construction (which reads the pin store
once): key files are loaded, and the steps of the shared core run, in a worker thread of the
client's own whenever they may touch files (a disk cache, or the pin store until the
registry's key is pinned).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import httpx

from endorse.client import _shell
from endorse.client._core import Done, Flow, Outcome, Request, advance
from endorse.client._shell import KeySource
from endorse.client.cache import CacheStats
from endorse.client.models import (
    Issued,
    Listed,
    OnlineResult,
    Pending,
    RegistryInfo,
    Revoked,
    VerifyItem,
)
from endorse.protocol import (
    KeyBinding,
    KeyRevocation,
    Relationship,
    SigningKey,
    Subject,
    VerificationResult,
)

__all__ = ["AsyncClient"]

T = TypeVar("T")


class AsyncClient:
    """An asynchronous client of one endorse registry; the same calls as
    :class:`~endorse.client.Client`, awaited (see the module docstring).

    Args:
        registry: the registry's id, its base URL (``https://…``; ``http`` only on loopback).
        registry_key: the registry's did:key, to pin it yourself; without it the key is
            trusted on first use and recorded in ``pin_store``.
        pin_store: the JSON file of pinned registry keys; default
            ``$ENDORSE_HOME/known_registries.json`` (see :mod:`endorse.client.pins`).
        timeout: seconds for each network operation.
        retries: retries of idempotent requests (GETs, ``POST /verify``) after a network
            failure or a 502/503/504, with a short backoff. Other calls are never retried.
        cache_dir: keep verified facts on disk there too (0600 JSON files, re-verified when
            read), so a restarted verifier works offline at once.
        max_issuers, max_lists: bounds of the caches (issuer key states, status lists).
        transport: an httpx transport (tests, proxies, custom TLS).

    Raises:
        InvalidArgument: an argument of the wrong type or out of range.
        InvalidKey: ``registry_key`` is not an Ed25519 did:key.
        PinStoreError: the pin store cannot be read.
    """

    def __init__(
        self,
        registry: str,
        *,
        registry_key: str | None = None,
        pin_store: Path | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        cache_dir: Path | None = None,
        max_issuers: int = 1024,
        max_lists: int = 256,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._core = _shell.build_core(
            registry,
            registry_key=registry_key,
            pin_store=pin_store,
            timeout=timeout,
            retries=retries,
            cache_dir=cache_dir,
            max_issuers=max_issuers,
            max_lists=max_lists,
            open_files=False,
        )
        self._http = httpx.AsyncClient(**_shell.http_options(timeout, transport))
        self._slots: asyncio.Semaphore | None = None
        # Decided once, so every step of this client's flows runs in the same place.
        self._offload = self._core.uses_files
        self._worker: ThreadPoolExecutor | None = None

    # --- state -----------------------------------------------------------------------------

    @property
    def registry(self) -> str:
        """The registry's id."""
        return self._core.registry

    @property
    def registry_key(self) -> str | None:
        """The registry's did:key as pinned (given, recorded earlier, or on first contact);
        None until the first contact when nothing was pinned."""
        return None if self._core.key is None else self._core.key.did

    @property
    def first_contact(self) -> bool:
        """Whether this client pinned the registry's key (trust on first use): show
        :attr:`registry_key` to the user then."""
        return self._core.first_contact

    @property
    def info(self) -> RegistryInfo | None:
        """The registry's description, once contacted."""
        return self._core.info

    def cache_stats(self) -> CacheStats:
        """How many facts the caches hold, and how many were evicted."""
        return self._core.cache.stats()

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._worker is not None:
            self._worker.shutdown(wait=False)
            self._worker = None

    async def __aenter__(self) -> AsyncClient:
        if self._offload:
            await self._in_worker(self._core.cache.open)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- I/O ---------------------------------------------------------------------------------

    async def _in_worker(self, call: Callable[[], T]) -> T:
        """Run ``call`` (file I/O) in this client's worker thread. One thread, so the core's
        steps never run at the same time, as on the event loop."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="endorse-client")
        return await asyncio.get_running_loop().run_in_executor(self._worker, call)

    def _open(self, first_step: Callable[[], T]) -> Callable[[], T]:
        """``first_step``, after opening the cache directory (once; in the worker)."""

        def call() -> T:
            self._core.cache.open()
            return first_step()

        return call

    async def _key(self, key: KeySource) -> SigningKey:
        """The signing key ``key`` stands for; a key file is read in the worker thread."""
        if type(key) is SigningKey:
            return key
        return await self._in_worker(partial(_shell.resolve_key, key))

    async def _run(self, flow: Flow[T]) -> T:
        outcomes: builtins.list[Outcome] | None = None
        try:
            while True:
                if self._offload:
                    call = partial(advance, flow, outcomes)
                    step = await self._in_worker(call if outcomes is not None else self._open(call))
                else:
                    step = advance(flow, outcomes)
                if isinstance(step, Done):
                    return step.value
                outcomes = await self._send_batch(step)
        finally:
            if self._worker is not None and self._offload:
                # After a cancellation the flow's step may still be running in the worker:
                # close it there, after that step (never awaited: we may be cancelled).
                with contextlib.suppress(RuntimeError):  # the worker was shut down
                    self._worker.submit(flow.close)
            else:
                flow.close()

    async def _send_batch(self, batch: Sequence[Request]) -> builtins.list[Outcome]:
        if len(batch) == 1:
            return [await self._send(batch[0])]
        if self._slots is None:
            self._slots = asyncio.Semaphore(_shell.MAX_CONCURRENT)
        slots = self._slots

        async def bounded(request: Request) -> Outcome:
            async with slots:
                return await self._send(request)

        return builtins.list(await asyncio.gather(*(bounded(r) for r in batch)))

    async def _send(self, request: Request) -> Outcome:
        attempt = 0
        while True:
            outcome = await self._send_once(request)
            delay = self._core.retry_delay(request, outcome, attempt)
            if delay is None:
                return outcome
            await asyncio.sleep(delay)
            attempt += 1

    async def _send_once(self, request: Request) -> Outcome:
        try:
            async with self._http.stream(
                request.method, request.url, headers=request.headers, content=request.content
            ) as r:
                content = bytearray()
                async for chunk in r.aiter_bytes():
                    content += chunk
                    _shell.too_large(len(content), self._core.registry)
                return _shell.response(r, bytes(content))
        except httpx.HTTPError as e:
            return _shell.unreachable(self._core, e)

    # --- verification ------------------------------------------------------------------------

    async def connect(self) -> RegistryInfo:
        """Contact the registry now: check its key against the pin (or pin it, on first
        contact) and return its description.

        Raises:
            PinMismatch: the registry presents another key than the one pinned.
            RegistryUnreachable, RegistryError: it could not be asked.
            RegistryStatementInvalid: its description is malformed or names another registry.
        """
        return await self._run(self._core.connect())

    async def verify(
        self,
        token: str,
        *,
        subject: str | None = None,
        purpose: str | None = None,
        audience: str | None = None,
        presentation: str | None = None,
        nonce: str | None = None,
        allow_stale: int = 0,
    ) -> VerificationResult:
        """Verify ``token`` offline-first: fetch only the facts the cache lacks (the issuer's
        key binding and key state, the status list, a registration if the key was revoked),
        check the registry's signatures on them, then run the protocol's verification.

        The registry is never asked whether the token is valid. When no fresh status list can
        be had (the registry is unreachable and the cached list is past its max-age), the
        verdict is ``status_unavailable``, unless the list is at most ``allow_stale`` seconds
        past it. The issuer's cached key state (binding and key revocation) is held to the
        same rule: fresh for the registry's max-age after it was fetched; past that, while
        the registry cannot be asked, a token that passes every other check is
        ``status_unavailable`` (the key may have been revoked since), unless the key state
        is at most ``allow_stale`` seconds past it. A token whose status lives at another
        registry is ``status_unavailable`` here; an issuer key the registry does not know is
        ``unknown_issuer``.

        Returns:
            The protocol's :class:`~endorse.protocol.VerificationResult`; every defect of the
            token is a verdict.

        Raises:
            RegistryUnreachable, RegistryError: the issuer's key state (or a registration the
                verdict depends on) could not be had from the registry or the cache.
            PinMismatch, RegistryStatementInvalid: the registry's answers cannot be trusted.
            InvalidArgument: an expectation of the wrong type.
        """
        item = _shell.item(token, subject, purpose, audience, presentation, nonce)
        now = _now()
        return (await self._run(self._core.verify([item], now=now, allow_stale=allow_stale)))[0]

    async def verify_many(
        self,
        items: Iterable[str | VerifyItem],
        *,
        subject: str | None = None,
        purpose: str | None = None,
        audience: str | None = None,
        allow_stale: int = 0,
    ) -> builtins.list[VerificationResult]:
        """Verify a batch, fetching each issuer, list and registration at most once.

        Tokens given as strings share ``subject``, ``purpose`` and ``audience``; a
        :class:`VerifyItem` carries its own. Results are in the order given. Raises as
        :meth:`verify`.
        """
        batch = list(items)
        now = _now()
        return await self._run(
            self._core.verify(
                batch,
                now=now,
                allow_stale=allow_stale,
                subject=subject,
                purpose=purpose,
                audience=audience,
            )
        )

    async def verify_online(
        self,
        token: str,
        *,
        subject: str | None = None,
        purpose: str | None = None,
        audience: str | None = None,
        presentation: str | None = None,
        nonce: str | None = None,
    ) -> OnlineResult:
        """Ask the registry's verification API, and check its signed receipt.

        Raises:
            RegistryUnreachable, RegistryError: the registry could not answer.
            PinMismatch, RegistryStatementInvalid: the receipt does not verify under the
                pinned key, or disagrees with the answer or the token.
            InvalidArgument: ``token`` is not a str.
        """
        item = _shell.item(token, subject, purpose, audience, presentation, nonce)
        return await self._run(self._core.verify_online(item, now=_now()))

    # --- the endorser ------------------------------------------------------------------------

    async def register(self, key: KeySource, email: str, name: str) -> Pending:
        """Ask to bind ``key`` to ``email`` (shown as ``name``); a code is e-mailed.

        Raises:
            RegistryError: refused (``malformed`` address or name, ``rate-limited``, …).
            RegistryUnreachable: the registry could not be reached (nothing is retried).
        """
        return await self._run(self._core.register(await self._key(key), email, name, now=_now()))

    async def confirm(self, key: KeySource, pending: Pending | str, code: str) -> KeyBinding:
        """Return the e-mailed ``code``; the answer is the registry-signed key binding.

        Raises:
            RegistryError: ``invalid-code`` (wrong, expired or used code), or another refusal.
            RegistryStatementInvalid: the binding does not verify under the pinned key.
        """
        return await self._run(self._core.confirm(await self._key(key), pending, code, now=_now()))

    async def issue(
        self,
        key: KeySource,
        issuer_name: str,
        subject: Subject,
        relationship: Relationship,
        purposes: Sequence[str],
        *,
        expires: int | None = None,
        not_before: int | None = None,
        audience: str | None = None,
        statement: str | None = None,
        contact: bool = False,
    ) -> Issued:
        """Allocate a status slot, sign the endorsement locally, and register it.

        Returns:
            The token, its verification URL and the registry's signed registration.

        Raises:
            MalformedToken: a field breaks a rule of the protocol (nothing is registered).
            RegistryError: refused (an unbound, rotated or revoked key, …).
            RegistryStatementInvalid: the registration does not verify under the pinned key.
        """
        return await self._run(
            self._core.issue(
                await self._key(key),
                issuer_name,
                subject,
                relationship,
                purposes,
                now=_now(),
                expires=expires,
                not_before=not_before,
                audience=audience,
                statement=statement,
                contact=contact,
            )
        )

    async def list(self, key: KeySource) -> builtins.list[Listed]:
        """Every endorsement the key registered, oldest first, revoked ones included.

        Raises:
            RegistryError, RegistryUnreachable: as for every call.
            RegistryStatementInvalid: a listed token is not a token of this key.
        """
        return await self._run(self._core.list_endorsements(await self._key(key), now=_now()))

    async def revoke(self, key: KeySource, endorsement: str, reason: str | None = None) -> Revoked:
        """Withdraw an endorsement (its id, or its token) with a revocation signed by ``key``.

        Durable at the registry when this returns; verifiers see it within the status list's
        max-age (this client at once).

        Raises:
            RegistryError: ``not-found``, or another refusal.
            InvalidKey: the token given was issued by another key.
        """
        return await self._run(
            self._core.revoke(await self._key(key), endorsement, reason, now=_now())
        )

    async def rotate_key(self, old: KeySource, new: KeySource) -> KeyBinding:
        """Rotate ``old`` to ``new`` (both sign); the answer is the new key's binding. What the
        old key issued stays valid; it issues nothing more."""
        return await self._run(
            self._core.rotate_key(await self._key(old), await self._key(new), now=_now())
        )

    async def revoke_key(self, key: KeySource, reason: str | None = None) -> KeyRevocation:
        """Revoke ``key`` from now on. Its tokens registered before stay valid."""
        return await self._run(self._core.revoke_key(await self._key(key), reason, now=_now()))

    async def recover(self, key_did: str) -> Pending:
        """A key was lost: have a revocation code e-mailed to the identity it is bound to."""
        return await self._run(self._core.recover(key_did))

    async def confirm_recovery(
        self, key_did: str, pending: Pending | str, code: str, *, revoked_from: int | None = None
    ) -> KeyRevocation:
        """Return the recovery code; the registry revokes the key (from ``revoked_from``,
        default now) and answers the key revocation it signed."""
        return await self._run(self._core.confirm_recovery(key_did, pending, code, revoked_from))


def _now() -> int:
    return int(time.time())
