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
registry's key is pinned). A batch of more than 64 tokens is verified in that thread too (its
signature checks would hold the loop). Concurrent calls share the registry's answers: while
a GET is in flight, the same GET asked again waits for its answer instead of being sent, so
a service starting under load asks the registry once per fact.

Each method does what :class:`~endorse.client.Client`'s method of the same name does, and
raises what it raises (documented there once); only what differs is said here.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from endorse.client import _clock, _shell, portable
from endorse.client._core import Done, Flow, Outcome, Request, advance
from endorse.client._shell import KeySource
from endorse.client.cache import CacheStats
from endorse.client.keystore import Passphrase
from endorse.client.models import (
    AlreadyRegistered,
    CheckCounts,
    InboxItem,
    Issued,
    Listed,
    OnlineResult,
    Pending,
    RegistryInfo,
    RequestStatus,
    Revoked,
    ShortLink,
    ShortLinkRevoked,
    ShortLinksRevoked,
    StandingRefusal,
    VerifyItem,
)
from endorse.protocol import (
    KeyBinding,
    KeyRevocation,
    Policy,
    Relationship,
    SigningKey,
    Subject,
    VerificationResult,
)
from endorse.protocol.vc import CredentialResult

__all__ = ["AsyncClient"]

T = TypeVar("T")
_RequestKey = tuple[str, tuple[tuple[str, str], ...]]


class AsyncClient:
    """An asynchronous client of one endorse registry; the same calls as
    :class:`~endorse.client.Client`, awaited (see the module docstring).

    Args:
        registry, registry_key, pin_store, timeout, retries, cache_dir, max_issuers,
        max_lists, key_passphrase: as for :class:`~endorse.client.Client` (a
            ``key_passphrase`` function is called in the client's worker thread).
        transport: an httpx async transport (tests, proxies, custom TLS).

    Raises:
        InvalidArgument, InvalidKey, PinStoreError: as :class:`~endorse.client.Client`.
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
        key_passphrase: Passphrase = None,
    ) -> None:
        self._passphrase = _shell.check_passphrase(key_passphrase)
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
        self._timeout = timeout
        self._http = httpx.AsyncClient(**_shell.http_options(timeout, transport))
        self._slots: asyncio.Semaphore | None = None
        # Decided once, so every step of this client's flows runs in the same place.
        self._offload = self._core.uses_files
        self._worker: ThreadPoolExecutor | None = None
        self._in_flight: dict[_RequestKey, asyncio.Task[Outcome]] = {}
        # The latest answers to shared GETs, numbered as they land (see _send).
        self._answers: OrderedDict[_RequestKey, tuple[int, Outcome]] = OrderedDict()
        self._landed_count = 0

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
        for task in self._in_flight.values():
            task.cancel()
        await self._http.aclose()
        if self._worker is not None:
            self._worker.shutdown(wait=False)
            self._worker = None
        # Waits for the worker processes of verify_many to end (milliseconds).
        self._core.close_workers()

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
        """Run ``call`` (file I/O, or a large batch's signature checks) in this client's worker
        thread. One thread, so the steps that run there never run at the same time."""
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
        return await self._in_worker(partial(_shell.resolve_key, key, self._passphrase))

    async def _run(self, flow: Flow[T], *, heavy: bool = False) -> T:
        """Drive ``flow``: its steps on the loop, or in the worker when they may touch files
        or are ``heavy`` (a large batch's CPU). A heavy flow's steps may then run while
        another flow's run on the loop: the core's shared state is its caches (locked) and
        values replaced whole (the registry's description, its back-off time)."""
        offload = self._offload or heavy
        deadline = _shell.Deadline(self._timeout)  # one per call, whatever it asks
        outcomes: builtins.list[Outcome] | None = None
        try:
            while True:
                asked_at = self._landed_count  # what had landed when this step began
                if offload:
                    call = partial(advance, flow, outcomes)
                    step = await self._in_worker(call if outcomes is not None else self._open(call))
                else:
                    step = advance(flow, outcomes)
                if isinstance(step, Done):
                    return step.value
                outcomes = await self._send_batch(step, asked_at, deadline)
        finally:
            if self._worker is not None and offload:
                # After a cancellation the flow's step may still be running in the worker:
                # close it there, after that step (never awaited: we may be cancelled).
                with contextlib.suppress(RuntimeError):  # the worker was shut down
                    self._worker.submit(flow.close)
            else:
                flow.close()

    async def _send_batch(
        self, batch: Sequence[Request], asked_at: int, deadline: _shell.Deadline
    ) -> builtins.list[Outcome]:
        if len(batch) == 1:
            return [await self._send(batch[0], asked_at, deadline)]
        sends = (self._send(r, asked_at, deadline) for r in batch)
        return builtins.list(await asyncio.gather(*sends))

    async def _send(self, request: Request, asked_at: int, deadline: _shell.Deadline) -> Outcome:
        """Send ``request``; an unsigned GET is shared with the calls asking the same.

        While it is in flight, the same GET waits for its answer instead of being sent. An
        answer that landed after the step that built the request began (``asked_at``) is
        also the answer: that step decided to ask before it could know it (its facts reach
        the cache in the next step of the flow that received them; steps queue in the worker
        thread). An answer that landed before is never reused: the caller asked anew,
        knowing it (after a revocation, say). The shared send runs as a task of its own,
        shielded: a caller cancelled while it waits does not cancel it for the others. A
        caller waits for a shared send until its own deadline at most; the send itself ends
        by the deadline of the call that started it.
        """
        if request.method != "GET" or not request.idempotent:
            return await self._send_retrying(request, deadline)
        key = (request.url, tuple(sorted(request.headers.items())))
        task = self._in_flight.get(key)
        if task is None:
            landed = self._answers.get(key)
            if landed is not None and landed[0] > asked_at:
                return landed[1]
            task = asyncio.ensure_future(self._send_retrying(request, deadline))
            self._in_flight[key] = task
            task.add_done_callback(partial(self._landed, key))
        try:
            async with asyncio.timeout(max(deadline.left(), 0)):
                return await asyncio.shield(task)
        except TimeoutError:
            return _shell.out_of_time(self._core, deadline.seconds)

    def _landed(self, key: _RequestKey, task: asyncio.Task[Outcome]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if task.cancelled() or task.exception() is not None:
            return  # (retrieved: every caller may have been cancelled meanwhile)
        self._landed_count += 1
        self._answers[key] = (self._landed_count, task.result())
        self._answers.move_to_end(key)
        while len(self._answers) > _shell.MAX_SHARED_ANSWERS:
            self._answers.popitem(last=False)

    async def _send_retrying(self, request: Request, deadline: _shell.Deadline) -> Outcome:
        attempt, waited = 0, 0.0
        while True:
            outcome = await self._send_once(request, deadline)
            delay = self._core.retry_delay(request, outcome, attempt, waited, deadline.left())
            if delay is None:
                return outcome
            await _clock.asleep(delay)
            attempt, waited = attempt + 1, waited + delay

    async def _send_once(self, request: Request, deadline: _shell.Deadline) -> Outcome:
        """One exchange, cancelled at the call's deadline (waiting for a slot included):
        connecting, sending, the headers and the body, however slowly they come."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(_shell.MAX_CONCURRENT)
        try:
            async with asyncio.timeout(max(deadline.left(), 0)), self._slots:
                return await self._exchange(request)
        except TimeoutError:
            return _shell.out_of_time(self._core, deadline.seconds)

    async def _exchange(self, request: Request) -> Outcome:
        try:
            async with self._http.stream(
                request.method, request.url, headers=request.headers, content=request.content
            ) as r:
                read = _shell.already_read(r, self._core.registry)
                if read is not None:
                    return _shell.response(r, read)
                body = _shell.Body(r.headers, self._core.registry)
                async for chunk in r.aiter_raw():
                    body.feed(chunk)
                return _shell.response(r, body.content())
        except httpx.HTTPError as e:
            return _shell.unreachable(self._core, e)

    # --- verification ------------------------------------------------------------------------

    async def connect(self) -> RegistryInfo:
        """As :meth:`Client.connect <endorse.client.Client.connect>`, awaited."""
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
        """As :meth:`Client.verify <endorse.client.Client.verify>`, awaited."""
        item = _shell.item(token, subject, purpose, audience, presentation, nonce)
        now = _clock.now()
        return (await self._run(self._core.verify([item], now=now, allow_stale=allow_stale)))[0]

    async def verify_many(
        self,
        items: Iterable[str | VerifyItem],
        *,
        subject: str | None = None,
        purpose: str | None = None,
        audience: str | None = None,
        allow_stale: int = 0,
        workers: int | None = None,
    ) -> builtins.list[VerificationResult]:
        """As :meth:`Client.verify_many <endorse.client.Client.verify_many>`, awaited.

        A batch of more than 64 tokens is verified in the client's worker thread (which
        spreads its signature checks over the client's worker processes, or threads), so the
        event loop keeps running meanwhile; when the awaiting task is cancelled, the batch
        stops at its next chunk of tokens. :meth:`aclose` stops the worker processes.
        """
        batch = list(items)
        _shell.refuse_short_links(batch)
        now = _clock.now()
        cancel = threading.Event()
        try:
            return await self._run(
                self._core.verify(
                    batch,
                    now=now,
                    allow_stale=allow_stale,
                    subject=subject,
                    purpose=purpose,
                    audience=audience,
                    workers=workers,
                    cancel=cancel,
                ),
                heavy=len(batch) > _shell.INLINE_BATCH,
            )
        except asyncio.CancelledError:
            cancel.set()  # the worker's verification stops instead of running on unseen
            raise

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
        """As :meth:`Client.verify_online <endorse.client.Client.verify_online>`, awaited."""
        item = _shell.item(token, subject, purpose, audience, presentation, nonce)
        return await self._run(self._core.verify_online(item, now=_clock.now()))

    # --- the endorser ------------------------------------------------------------------------

    async def register(self, key: KeySource, email: str, name: str) -> Pending | AlreadyRegistered:
        """As :meth:`Client.register <endorse.client.Client.register>`, awaited."""
        return await self._run(
            self._core.register(await self._key(key), email, name, now=_clock.now())
        )

    async def confirm(self, key: KeySource, pending: Pending | str, code: str) -> KeyBinding:
        """As :meth:`Client.confirm <endorse.client.Client.confirm>`, awaited."""
        return await self._run(
            self._core.confirm(await self._key(key), pending, code, now=_clock.now())
        )

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
        """As :meth:`Client.issue <endorse.client.Client.issue>`, awaited."""
        return await self._run(
            self._core.issue(
                await self._key(key),
                issuer_name,
                subject,
                relationship,
                purposes,
                now=_clock.now(),
                expires=expires,
                not_before=not_before,
                audience=audience,
                statement=statement,
                contact=contact,
            )
        )

    async def list(self, key: KeySource) -> builtins.list[Listed]:
        """As :meth:`Client.list <endorse.client.Client.list>`, awaited."""
        return await self._run(self._core.list_endorsements(await self._key(key), now=_clock.now()))

    async def revoke(self, key: KeySource, endorsement: str, reason: str | None = None) -> Revoked:
        """As :meth:`Client.revoke <endorse.client.Client.revoke>`, awaited."""
        signing_key = await self._key(key)
        revoked = await self._run(
            self._core.revoke(signing_key, endorsement, reason, now=_clock.now())
        )
        await self._run(
            portable.withdraw_vc(self._core, signing_key, endorsement, now=_clock.now())
        )
        return revoked

    async def shorten(self, token: str) -> ShortLink:
        """As :meth:`Client.shorten <endorse.client.Client.shorten>`, awaited."""
        return await self._run(self._core.shorten(token))

    async def resolve_link(self, id_or_url: str) -> str:
        """As :meth:`Client.resolve_link <endorse.client.Client.resolve_link>`, awaited."""
        return await self._run(self._core.resolve_link(id_or_url))

    async def revoke_link(
        self,
        id_or_url: str,
        *,
        revocation_secret: str | None = None,
        key: KeySource | None = None,
    ) -> ShortLinkRevoked:
        """As :meth:`Client.revoke_link <endorse.client.Client.revoke_link>`, awaited."""
        signing_key = None if key is None else await self._key(key)
        return await self._run(
            self._core.revoke_link(
                id_or_url, revocation_secret=revocation_secret, key=signing_key, now=_clock.now()
            )
        )

    async def revoke_links(self, key: KeySource, token: str) -> ShortLinksRevoked:
        """As :meth:`Client.revoke_links <endorse.client.Client.revoke_links>`, awaited."""
        signing_key = await self._key(key)
        return await self._run(self._core.revoke_links(token, key=signing_key, now=_clock.now()))

    async def export_vc(self, key: KeySource, token: str) -> dict[str, Any]:
        """As :meth:`Client.export_vc <endorse.client.Client.export_vc>`, awaited."""
        signing_key = await self._key(key)
        return await self._run(portable.export_vc(self._core, signing_key, token, now=_clock.now()))

    async def update_vc_status(self, key: KeySource, endorsement: str) -> bool:
        """As :meth:`Client.update_vc_status <endorse.client.Client.update_vc_status>`, awaited."""
        signing_key = await self._key(key)
        return await self._run(
            portable.withdraw_vc(self._core, signing_key, endorsement, now=_clock.now())
        )

    async def verify_vc(
        self,
        credential: str | bytes | dict[str, Any],
        *,
        subject: str | None = None,
        purpose: str | None = None,
        audience: str | None = None,
        allow_stale: int = 0,
    ) -> CredentialResult:
        """As :meth:`Client.verify_vc <endorse.client.Client.verify_vc>`, awaited."""
        flow = portable.verify_vc(
            self._core,
            credential,
            now=_clock.now(),
            subject=subject,
            purpose=purpose,
            audience=audience,
            allow_stale=allow_stale,
        )
        return await self._run(flow)

    async def rotate_key(self, old: KeySource, new: KeySource) -> KeyBinding:
        """As :meth:`Client.rotate_key <endorse.client.Client.rotate_key>`, awaited."""
        return await self._run(
            self._core.rotate_key(await self._key(old), await self._key(new), now=_clock.now())
        )

    async def revoke_key(self, key: KeySource, reason: str | None = None) -> KeyRevocation:
        """As :meth:`Client.revoke_key <endorse.client.Client.revoke_key>`, awaited."""
        return await self._run(
            self._core.revoke_key(await self._key(key), reason, now=_clock.now())
        )

    async def recover(self, key_did: str) -> Pending:
        """As :meth:`Client.recover <endorse.client.Client.recover>`, awaited."""
        return await self._run(self._core.recover(key_did))

    async def confirm_recovery(
        self, key_did: str, pending: Pending | str, code: str, *, revoked_from: int | None = None
    ) -> KeyRevocation:
        """As :meth:`Client.confirm_recovery <endorse.client.Client.confirm_recovery>`, awaited."""
        return await self._run(self._core.confirm_recovery(key_did, pending, code, revoked_from))

    # --- claimed references: the requester ---------------------------------------------------

    async def ask(
        self,
        key: KeySource,
        referee: str,
        subject: Subject,
        relationship: Relationship,
        purpose: str,
        *,
        audience: str | None = None,
        expires: int | None = None,
        requester_email: str | None = None,
        requester_name: str | None = None,
    ) -> RequestStatus | Pending:
        """As :meth:`Client.ask <endorse.client.Client.ask>`, awaited."""
        return await self._run(
            self._core.ask(
                await self._key(key),
                referee,
                subject,
                relationship,
                purpose,
                now=_clock.now(),
                audience=audience,
                expires=expires,
                requester_email=requester_email,
                requester_name=requester_name,
            )
        )

    async def confirm_ask(self, key: KeySource, pending: Pending | str, code: str) -> RequestStatus:
        """As :meth:`Client.confirm_ask <endorse.client.Client.confirm_ask>`, awaited."""
        return await self._run(
            self._core.confirm_ask(await self._key(key), pending, code, now=_clock.now())
        )

    async def request_status(self, key: KeySource, request_id: str) -> RequestStatus:
        """As :meth:`Client.request_status <endorse.client.Client.request_status>`, awaited."""
        return await self._run(
            self._core.request_status(await self._key(key), request_id, now=_clock.now())
        )

    # --- claimed references: the referee -----------------------------------------------------

    async def requests(self, key: KeySource) -> builtins.list[InboxItem]:
        """As :meth:`Client.requests <endorse.client.Client.requests>`, awaited."""
        return await self._run(self._core.inbox(await self._key(key), now=_clock.now()))

    async def answer_endorse(
        self,
        key: KeySource,
        request_id: str,
        *,
        issuer_name: str | None = None,
        subject: Subject | None = None,
        relationship: Relationship | None = None,
        purposes: Sequence[str] | None = None,
        audience: str | None = None,
        expires: int | None = None,
        statement: str | None = None,
        contact: bool = False,
    ) -> tuple[Issued, RequestStatus]:
        """As :meth:`Client.answer_endorse <endorse.client.Client.answer_endorse>`, awaited."""
        return await self._run(
            self._core.answer_endorse(
                await self._key(key),
                request_id,
                now=_clock.now(),
                issuer_name=issuer_name,
                subject=subject,
                relationship=relationship,
                purposes=purposes,
                audience=audience,
                expires=expires,
                statement=statement,
                contact=contact,
            )
        )

    async def answer_refuse(
        self, key: KeySource, request_id: str, reason: str | None = None
    ) -> RequestStatus:
        """As :meth:`Client.answer_refuse <endorse.client.Client.answer_refuse>`, awaited."""
        return await self._run(
            self._core.answer_refuse(await self._key(key), request_id, reason, now=_clock.now())
        )

    async def block_requester(self, key: KeySource, request_id: str) -> None:
        """As :meth:`Client.block_requester <endorse.client.Client.block_requester>`, awaited."""
        await self._run(
            self._core.block_requester(await self._key(key), request_id, now=_clock.now())
        )

    async def unblock_requester(self, key: KeySource, request_id: str) -> None:
        """As :meth:`Client.unblock_requester <endorse.client.Client.unblock_requester>`,
        awaited."""
        await self._run(
            self._core.block_requester(
                await self._key(key), request_id, now=_clock.now(), undo=True
            )
        )

    async def mute(self, key: KeySource, muted: bool = True) -> bool:
        """As :meth:`Client.mute <endorse.client.Client.mute>`, awaited."""
        return await self._run(self._core.mute(await self._key(key), muted, now=_clock.now()))

    # --- claimed references: standing statements and check counts ----------------------------

    async def set_policy(
        self, key: KeySource, *, notify: bool = True, issuer_name: str | None = None
    ) -> Policy:
        """As :meth:`Client.set_policy <endorse.client.Client.set_policy>`, awaited."""
        return await self._run(
            self._core.set_policy(
                await self._key(key), notify=notify, now=_clock.now(), issuer_name=issuer_name
            )
        )

    async def policy(self, key: KeySource) -> Policy | None:
        """As :meth:`Client.policy <endorse.client.Client.policy>`, awaited."""
        return await self._run(self._core.policy(await self._key(key), now=_clock.now()))

    async def clear_policy(self, key: KeySource) -> None:
        """As :meth:`Client.clear_policy <endorse.client.Client.clear_policy>`, awaited."""
        await self._run(self._core.clear_policy(await self._key(key), now=_clock.now()))

    async def refuse_standing(
        self,
        key: KeySource,
        subject_email: str,
        purpose: str | None = None,
        reason: str | None = None,
        *,
        subject_name: str | None = None,
        issuer_name: str | None = None,
        expires: int | None = None,
    ) -> StandingRefusal:
        """As :meth:`Client.refuse_standing <endorse.client.Client.refuse_standing>`, awaited."""
        who = Subject(subject_email if subject_name is None else subject_name, email=subject_email)
        return await self._run(
            self._core.refuse_standing(
                await self._key(key),
                who,
                now=_clock.now(),
                purpose=purpose,
                reason=reason,
                issuer_name=issuer_name,
                expires=expires,
            )
        )

    async def standing_refusals(self, key: KeySource) -> builtins.list[StandingRefusal]:
        """As :meth:`Client.standing_refusals <endorse.client.Client.standing_refusals>`,
        awaited."""
        return await self._run(self._core.standing_refusals(await self._key(key), now=_clock.now()))

    async def withdraw_standing_refusal(self, key: KeySource, refusal_id: str) -> None:
        """As :meth:`Client.withdraw_standing_refusal <endorse.client.Client.withdraw_standing_refusal>`,
        awaited."""  # noqa: E501 - the one reference form every async docstring has
        await self._run(
            self._core.withdraw_standing_refusal(await self._key(key), refusal_id, now=_clock.now())
        )

    async def checks(self, key: KeySource) -> builtins.list[CheckCounts]:
        """As :meth:`Client.checks <endorse.client.Client.checks>`, awaited."""
        return await self._run(self._core.checks(await self._key(key), now=_clock.now()))

    # --- refusals ------------------------------------------------------------------------------

    async def verify_refusal(
        self, token: str, *, subject: str | None = None, purpose: str | None = None
    ) -> VerificationResult:
        """As :meth:`Client.verify_refusal <endorse.client.Client.verify_refusal>`, awaited."""
        flow = self._core.verify_refusals(
            [token], now=_clock.now(), subject=subject, purpose=purpose
        )
        return (await self._run(flow))[0]
