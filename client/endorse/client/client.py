"""The synchronous registry client: httpx I/O around the sans-I/O core (:mod:`._core`).

Verify a reference offline-first, with the registry asked only for facts::

    from endorse.client import Client

    with Client("https://registry.example") as client:
        result = client.verify(token, subject="bob@example.com", purpose="employment-reference")
        print(result.verdict, result.message)

The first contact pins the registry's key (``client.first_contact`` is then True and
``client.registry_key`` is the key to show); a later change of key is refused
(:class:`~endorse.client.errors.PinMismatch`). Pass ``registry_key=`` to pin it yourself.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from endorse.client import _clock, _shell, portable
from endorse.client._core import Flow, Outcome, Request
from endorse.client._shell import KeySource
from endorse.client.cache import CacheStats
from endorse.client.errors import RegistryUnreachable
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

__all__ = ["Client"]

T = TypeVar("T")


class Client:
    """A client of one endorse registry (see the module docstring).

    Args:
        registry: the registry's id, its base URL (``https://…``; ``http`` only on loopback).
        registry_key: the registry's did:key, to pin it yourself; without it the key is
            trusted on first use and recorded in ``pin_store``.
        pin_store: the JSON file of pinned registry keys; default
            ``$ENDORSE_HOME/known_registries.json`` (see :mod:`endorse.client.pins`).
        timeout: seconds one call (``verify``, ``issue``, …) may take talking to the registry,
            in all: connecting, sending, the answers' headers and bodies, retries and
            ``Retry-After`` waits end by this one deadline, however slowly the registry
            trickles its bytes (with a ``transport`` of your own, each network operation is
            bounded by it and the deadline is checked between reads). A call past it raises
            :class:`~endorse.client.errors.RegistryUnreachable` (what was verified without
            the registry is then decided as when it is down). This client asks for the facts
            of a batch one after the other: a ``verify_many`` whose tokens name many issuers
            or lists not cached yet needs a timeout to match.
        retries: retries of idempotent requests (unsigned GETs, ``POST /verify``, the
            registration of an issued token) after a network failure or a 502/503/504, with a
            short backoff, or after a 503/429's ``Retry-After`` (30 s in all at most), each
            only if it can start before the call's deadline (else the answer stands, its
            ``retry_after`` said). Signed calls are never retried.
        cache_dir: keep verified facts on disk there too, so a restarted verifier works
            offline at once. Trusted like the pin store (see :mod:`endorse.client.cache`):
            kept owner-only (0600 files, 0700 directories); files anyone else could have
            written are not read.
        max_issuers, max_lists: bounds of the caches (issuer key states, status lists).
        transport: an httpx transport (tests, proxies, custom TLS).
        key_passphrase: opens encrypted key files given to the endorser calls as a ``Path``:
            bytes, or a function returning them (called only when a file is encrypted). The
            environment is never read for it.

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
        transport: httpx.BaseTransport | None = None,
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
        )
        self._timeout = timeout
        if transport is None:
            transport = _shell.DeadlineTransport()
        self._http = httpx.Client(**_shell.http_options(timeout, transport))

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

    def close(self) -> None:
        """Close the HTTP connections and stop the worker processes of ``verify_many``."""
        self._http.close()
        self._core.close_workers()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _key(self, key: KeySource) -> SigningKey:
        return _shell.resolve_key(key, self._passphrase)

    # --- I/O ---------------------------------------------------------------------------------

    def _run(self, flow: Flow[T]) -> T:
        deadline = _shell.Deadline(self._timeout)  # one per call, whatever it asks
        try:
            batch = next(flow)
            while True:
                batch = flow.send(self._send_batch(batch, deadline))
        except StopIteration as done:
            value: T = done.value
            return value
        finally:
            flow.close()

    def _send_batch(
        self, batch: Sequence[Request], deadline: _shell.Deadline
    ) -> builtins.list[Outcome]:
        outcomes: builtins.list[Outcome] = []
        down: RegistryUnreachable | None = None
        for request in batch:
            # One registry behind every request: once it is unreachable, it is for the batch.
            outcome = down if down is not None else self._send(request, deadline)
            if isinstance(outcome, RegistryUnreachable):
                down = outcome
            outcomes.append(outcome)
        return outcomes

    def _send(self, request: Request, deadline: _shell.Deadline) -> Outcome:
        attempt, waited = 0, 0.0
        while True:
            outcome = self._send_once(request, deadline)
            delay = self._core.retry_delay(request, outcome, attempt, waited, deadline.left())
            if delay is None:
                return outcome
            _clock.sleep(delay)
            attempt, waited = attempt + 1, waited + delay

    def _send_once(self, request: Request, deadline: _shell.Deadline) -> Outcome:
        left = deadline.left()
        if left <= 0:
            return _shell.out_of_time(self._core, deadline.seconds)
        try:
            with (
                _shell.within(deadline),
                self._http.stream(
                    request.method,
                    request.url,
                    headers=request.headers,
                    content=request.content,
                    timeout=left,
                ) as r,
            ):
                read = _shell.already_read(r, self._core.registry)
                if read is not None:
                    return _shell.response(r, read)
                body = _shell.Body(r.headers, self._core.registry)
                for chunk in r.iter_raw():
                    body.feed(chunk)
                    if deadline.left() <= 0:  # a transport of the caller's: between reads
                        return _shell.out_of_time(self._core, deadline.seconds)
                return _shell.response(r, body.content())
        except httpx.HTTPError as e:
            if deadline.left() <= 0:
                return _shell.out_of_time(self._core, deadline.seconds)
            return _shell.unreachable(self._core, e)

    # --- verification ------------------------------------------------------------------------

    def connect(self) -> RegistryInfo:
        """Contact the registry now: check its key against the pin (or pin it, on first
        contact) and return its description.

        Raises:
            PinMismatch: the registry presents another key than the one pinned.
            RegistryUnreachable, RegistryError: it could not be asked.
            RegistryStatementInvalid: its description is malformed or names another registry.
        """
        return self._run(self._core.connect())

    def verify(
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
        now = _clock.now()
        return self._run(self._core.verify([item], now=now, allow_stale=allow_stale))[0]

    def verify_many(
        self,
        items: Iterable[str | VerifyItem],
        *,
        subject: str | None = None,
        purpose: str | None = None,
        audience: str | None = None,
        allow_stale: int = 0,
        workers: int | None = None,
    ) -> builtins.list[VerificationResult]:
        """Verify a batch, fetching each issuer, list and registration at most once.

        Tokens given as strings share ``subject``, ``purpose`` and ``audience``; a
        :class:`VerifyItem` carries its own. Results are in the order given. The signature
        checks are spread over ``workers`` cores (default: every core of the machine; 1
        verifies in the calling thread): for a batch of 512 tokens or more, in worker
        processes that this client starts then and keeps for the next batches until
        :meth:`close`; for a shorter one, on threads (see
        :func:`~endorse.protocol.verify_endorsements`). Raises as :meth:`verify`, and
        :class:`~endorse.protocol.InvalidArgument` for ``workers`` not an int >= 1,
        :class:`~endorse.protocol.VerificationWorkerFailed` when a worker process dies
        during the batch.

        The items are tokens, not pastes (read a pasted link with
        :func:`~endorse.client.share.token_from_url` first). An item that is a short link
        (``…/s#ID``, spec §11.6) is refused with :class:`~endorse.protocol.InvalidArgument`
        naming its position, as :meth:`verify` refuses one, rather than found ``malformed``:
        resolve it first (:meth:`resolve_link`), then verify the token it gives.
        """
        batch = list(items)
        _shell.refuse_short_links(batch)
        now = _clock.now()
        return self._run(
            self._core.verify(
                batch,
                now=now,
                allow_stale=allow_stale,
                subject=subject,
                purpose=purpose,
                audience=audience,
                workers=workers,
            )
        )

    def verify_online(
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
        return self._run(self._core.verify_online(item, now=_clock.now()))

    # --- the endorser ------------------------------------------------------------------------

    def register(self, key: KeySource, email: str, name: str) -> Pending | AlreadyRegistered:
        """Ask to bind ``key`` to ``email`` (shown as ``name``); a code is e-mailed.

        A key bound already gets :class:`AlreadyRegistered` (its verified binding, and its
        revocation if it was revoked) instead: no code is sent and there is nothing to confirm.

        Raises:
            RegistryError: refused (``malformed`` address or name, ``rate-limited``, …).
            RegistryUnreachable: the registry could not be reached (nothing is retried).
        """
        return self._run(self._core.register(self._key(key), email, name, now=_clock.now()))

    def confirm(self, key: KeySource, pending: Pending | str, code: str) -> KeyBinding:
        """Return the e-mailed ``code``; the answer is the registry-signed key binding.

        Raises:
            RegistryError: ``invalid-code`` (wrong, expired or used code), or another refusal.
            RegistryStatementInvalid: the binding does not verify under the pinned key.
        """
        return self._run(self._core.confirm(self._key(key), pending, code, now=_clock.now()))

    def issue(
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

        The registration is retried like a read (registering a token again answers the
        same record); the slot allocation, a signed call, is not.

        Raises:
            MalformedToken: a field breaks a rule of the protocol (nothing is registered).
            RegistryError: refused (an unbound, rotated or revoked key, …).
            RegistryUnreachable: the registry could not be reached; when that was on the
                registration, the token (never shown) may be registered or not.
            RegistryStatementInvalid: the registration does not verify under the pinned key.
            KeyFileError: ``key`` is a key file that cannot be read or opened.
        """
        return self._run(
            self._core.issue(
                self._key(key),
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

    def list(self, key: KeySource) -> builtins.list[Listed]:
        """Every endorsement the key registered, oldest first, revoked ones included.

        Raises:
            RegistryError, RegistryUnreachable: as for every call.
            RegistryStatementInvalid: a listed token is not a token of this key.
        """
        return self._run(self._core.list_endorsements(self._key(key), now=_clock.now()))

    def revoke(self, key: KeySource, endorsement: str, reason: str | None = None) -> Revoked:
        """Withdraw an endorsement (its id, or its token) with a revocation signed by ``key``.

        Durable at the registry when this returns; verifiers see it within the status list's
        max-age (this client at once). When a credential of the endorsement's list was
        exported (:meth:`export_vc`), the endorser's status list credential is re-signed too,
        so VC verifiers see the withdrawal; if that second step fails (an error is raised
        after the revocation was stored), calling ``revoke`` again completes it.

        Raises:
            RegistryError: ``not-found``, or another refusal.
            InvalidKey: the token given was issued by another key.
        """
        signing_key = self._key(key)
        revoked = self._run(self._core.revoke(signing_key, endorsement, reason, now=_clock.now()))
        # The portable form: a credential exported from it must stop verifying too (spec §13.3).
        self._run(portable.withdraw_vc(self._core, signing_key, endorsement, now=_clock.now()))
        return revoked

    # --- short links (spec §11.6) -------------------------------------------------------------

    def shorten(self, token: str) -> ShortLink:
        """A short link ``{registry}/s#{id}`` for ``token``, which must be registered at this
        registry. Anyone holding the token may ask (the endorser or the candidate); keep the
        answer's ``revocation_secret`` to withdraw the link.

        Raises:
            MalformedToken: ``token`` is not an endorsement token (nothing is sent).
            RegistryError: refused (``not-registered-here``, ``too-many-links``, …).
            RegistryUnreachable: the registry could not be reached (nothing is retried).
        """
        return self._run(self._core.shorten(token))

    def resolve_link(self, id_or_url: str) -> str:
        """The token short link ``id_or_url`` (its id, or the link as pasted, spec §11.5)
        stands for, asked with the id in a request body. Verify it as any token
        (:meth:`verify`): a short link is a pointer, never evidence.

        Raises:
            InvalidArgument: not a short link, or one of another registry.
            RegistryError: ``no-short-link`` (withdrawn, or never made), or another refusal.
            RegistryUnreachable: the registry could not be reached.
        """
        return self._run(self._core.resolve_link(id_or_url))

    def revoke_link(
        self,
        id_or_url: str,
        *,
        revocation_secret: str | None = None,
        key: KeySource | None = None,
    ) -> ShortLinkRevoked:
        """Withdraw a short link: with the ``revocation_secret`` :meth:`shorten` answered, or
        with ``key``, the endorser's key that signed the link's token (a signed request).
        Withdrawing again answers the first withdrawal. The token stays valid.

        Raises:
            InvalidArgument: neither or both of ``revocation_secret`` and ``key``, or not a
                short link of this registry.
            RegistryError: ``forbidden`` (another secret or key), ``not-found``, ….
        """
        signing_key = None if key is None else self._key(key)
        return self._run(
            self._core.revoke_link(
                id_or_url, revocation_secret=revocation_secret, key=signing_key, now=_clock.now()
            )
        )

    def revoke_links(self, key: KeySource, token: str) -> ShortLinksRevoked:
        """Withdraw every short link of ``token`` (registered here), by a request signed by
        ``key``, the endorser's key that signed it: also links made by others who hold the
        token, whose ids and secrets the endorser never saw. The token stays valid.

        Raises:
            MalformedToken: ``token`` is not an endorsement token.
            RegistryError: ``forbidden`` (another key signed it), ``not-found`` (not
                registered here), ….
        """
        signing_key = self._key(key)
        return self._run(self._core.revoke_links(token, key=signing_key, now=_clock.now()))

    # --- the portable form (spec §13) --------------------------------------------------------

    def export_vc(self, key: KeySource, token: str) -> dict[str, Any]:
        """The endorsement ``token`` (issued by ``key``, registered here) as a signed W3C VC 2.0
        / Open Badges 3.0 ``EndorsementCredential``; the endorser's status list credential it
        points to is published first.

        Raises:
            MalformedToken, BadSignature, InvalidKey: not a registered endorsement of ``key``.
            RegistryError, RegistryUnreachable: the status list credential was not stored.
        """
        return self._run(portable.export_vc(self._core, self._key(key), token, now=_clock.now()))

    def update_vc_status(self, key: KeySource, endorsement: str) -> bool:
        """Re-sign the endorser's status list credential of ``endorsement``'s list, if one was
        published (:meth:`revoke` does this itself). Returns whether there was one."""
        return self._run(
            portable.withdraw_vc(self._core, self._key(key), endorsement, now=_clock.now())
        )

    def verify_vc(
        self,
        credential: str | bytes | dict[str, Any],
        *,
        subject: str | None = None,
        purpose: str | None = None,
        audience: str | None = None,
        allow_stale: int = 0,
    ) -> CredentialResult:
        """Verify an endorsement credential (its JSON) as :meth:`verify` verifies a token: the
        proof, the issuer's verified identity, its status in the registry's signed list, the
        dates and the expectations; the same verdicts and sentences.

        Raises:
            RegistryUnreachable, RegistryError: the issuer's key state could not be had.
            PinMismatch, RegistryStatementInvalid: the registry's answers cannot be trusted.
            InvalidArgument: an expectation of the wrong type.
        """
        flow = portable.verify_vc(
            self._core,
            credential,
            now=_clock.now(),
            subject=subject,
            purpose=purpose,
            audience=audience,
            allow_stale=allow_stale,
        )
        return self._run(flow)

    def rotate_key(self, old: KeySource, new: KeySource) -> KeyBinding:
        """Rotate ``old`` to ``new`` (both sign); the answer is the new key's binding. What the
        old key issued stays valid; it issues nothing more."""
        return self._run(self._core.rotate_key(self._key(old), self._key(new), now=_clock.now()))

    def revoke_key(self, key: KeySource, reason: str | None = None) -> KeyRevocation:
        """Revoke ``key`` from now on. Its tokens registered before stay valid."""
        return self._run(self._core.revoke_key(self._key(key), reason, now=_clock.now()))

    def recover(self, key_did: str) -> Pending:
        """A key was lost: have a revocation code e-mailed to the identity it is bound to."""
        return self._run(self._core.recover(key_did))

    def confirm_recovery(
        self, key_did: str, pending: Pending | str, code: str, *, revoked_from: int | None = None
    ) -> KeyRevocation:
        """Return the recovery code; the registry revokes the key (from ``revoked_from``,
        default now) and answers the key revocation it signed."""
        return self._run(self._core.confirm_recovery(key_did, pending, code, revoked_from))

    # --- claimed references: the requester ---------------------------------------------------

    def ask(
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
        """Ask the registry to put a claimed reference to ``referee`` (an e-mail address):
        ``subject`` (their key too, for holder binding, when known), the ``relationship``
        as the candidate claims it, the ``purpose``, an optional ``audience`` (you), and a
        deadline ``expires`` (default 14 days, at most 30).

        ``key`` signs the request: any key, a new one (``SigningKey.generate()``) is fine,
        kept for :meth:`confirm_ask` and :meth:`request_status`, which take the same one. A
        key bound to a verified identity gets the :class:`RequestStatus` at once; else a
        :class:`Pending` is answered and a code e-mailed to ``requester_email``: pass it to
        :meth:`confirm_ask`.
        A referee with a policy, or a standing refusal of this subject's address, answers at
        once (``status.answer``); one whose address stopped mail is ``unreachable``.

        Raises:
            InvalidArgument: an argument of the wrong type, a bad purpose or deadline.
            RegistryError: refused (``rate-limited``, a malformed field, …).
            RegistryStatementInvalid: the request or its answer does not verify.
        """
        return self._run(
            self._core.ask(
                self._key(key),
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

    def confirm_ask(self, key: KeySource, pending: Pending | str, code: str) -> RequestStatus:
        """Return the code e-mailed to the requester (with the key that asked); the
        registry records and signs the request and tells the referee.

        Raises:
            RegistryError: ``invalid-code`` (wrong, expired or used), or another refusal.
            RegistryStatementInvalid: the request or its answer does not verify.
        """
        return self._run(self._core.confirm_ask(self._key(key), pending, code, now=_clock.now()))

    def request_status(self, key: KeySource, request_id: str) -> RequestStatus:
        """The request as it stands, and its answer, verified: an endorsement (its verdict
        with the request's subject, purpose and audience), a signed refusal (``refused``)
        or the referee's signed policy. Only the key that asked may read it.

        Raises:
            RegistryError: ``not-found`` (unknown, or another requester's).
            RegistryStatementInvalid: the request or its answer does not verify, or the
                answer is not the referee's.
        """
        return self._run(self._core.request_status(self._key(key), request_id, now=_clock.now()))

    # --- claimed references: the referee -----------------------------------------------------

    def requests(self, key: KeySource) -> builtins.list[InboxItem]:
        """Every request naming the referee (the verified address ``key`` is bound to),
        newest first, each request verified under the registry's key.

        Raises:
            RegistryError: refused (``key`` is not bound to an identity, …).
            RegistryStatementInvalid: a request or an answer does not verify.
        """
        return self._run(self._core.inbox(self._key(key), now=_clock.now()))

    def answer_endorse(
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
        """Answer a request with an endorsement, prefilled from it: the subject (with their
        key when the requester gave it), the relationship as claimed, the purpose and the
        audience; each can be replaced. ``issuer_name`` defaults to the name your key is
        registered with. The token is signed here, registered, and given as the answer.

        Raises:
            InvalidArgument: no such request in your inbox.
            MalformedToken: an override breaks a rule of the protocol.
            RegistryError: refused (the request has ended, …).
            RegistryStatementInvalid: an answer of the registry does not verify.
        """
        return self._run(
            self._core.answer_endorse(
                self._key(key),
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

    def answer_refuse(
        self, key: KeySource, request_id: str, reason: str | None = None
    ) -> RequestStatus:
        """Answer a request with a signed refusal: "I do not give a reference for <subject>
        (for <purpose>)", with an optional coded ``reason`` (``not_known``,
        ``no_reference``, ``prefer_not_to_say``); no free text.

        Raises:
            InvalidArgument: no such request in your inbox, or an unknown reason.
            RegistryError, RegistryStatementInvalid: as :meth:`answer_endorse`.
        """
        return self._run(
            self._core.answer_refuse(self._key(key), request_id, reason, now=_clock.now())
        )

    def block_requester(self, key: KeySource, request_id: str) -> None:
        """Block the address that made this request: its requests naming you are no longer
        mailed to you (they still show in :meth:`requests`, ``blocked``)."""
        self._run(self._core.block_requester(self._key(key), request_id, now=_clock.now()))

    def unblock_requester(self, key: KeySource, request_id: str) -> None:
        """Undo :meth:`block_requester`."""
        self._run(
            self._core.block_requester(self._key(key), request_id, now=_clock.now(), undo=True)
        )

    def mute(self, key: KeySource, muted: bool = True) -> bool:
        """Stop (``muted``) or restart the mail about requests naming you; they still reach
        :meth:`requests`. Answers the setting as stored."""
        return self._run(self._core.mute(self._key(key), muted, now=_clock.now()))

    # --- claimed references: standing statements and check counts ----------------------------

    def set_policy(
        self, key: KeySource, *, notify: bool = True, issuer_name: str | None = None
    ) -> Policy:
        """Sign and store your policy: references from you come only as signed endorse
        tokens (requests naming you are answered with it at once); ``notify``: whether you
        are told of requests. Answers the policy as stored, verified.

        Raises:
            RegistryError: refused (``key`` not bound to an identity, …).
            RegistryStatementInvalid: the policy answered does not verify.
        """
        return self._run(
            self._core.set_policy(
                self._key(key), notify=notify, now=_clock.now(), issuer_name=issuer_name
            )
        )

    def policy(self, key: KeySource) -> Policy | None:
        """Your policy as the registry keeps it (verified), or None."""
        return self._run(self._core.policy(self._key(key), now=_clock.now()))

    def clear_policy(self, key: KeySource) -> None:
        """Withdraw your policy."""
        self._run(self._core.clear_policy(self._key(key), now=_clock.now()))

    def refuse_standing(
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
        """Sign and store a standing refusal: you do not give references for the person at
        ``subject_email`` (for ``purpose``, or any). A request naming exactly that address
        is answered with it at once; nobody but you can list it. ``subject_name`` (how the
        refusal names them) defaults to the address.

        Raises:
            InvalidArgument, MalformedToken: a bad address, purpose or reason.
            RegistryError, RegistryStatementInvalid: as for every call.
        """
        who = Subject(subject_email if subject_name is None else subject_name, email=subject_email)
        return self._run(
            self._core.refuse_standing(
                self._key(key),
                who,
                now=_clock.now(),
                purpose=purpose,
                reason=reason,
                issuer_name=issuer_name,
                expires=expires,
            )
        )

    def standing_refusals(self, key: KeySource) -> builtins.list[StandingRefusal]:
        """Your standing refusals, each signature checked."""
        return self._run(self._core.standing_refusals(self._key(key), now=_clock.now()))

    def withdraw_standing_refusal(self, key: KeySource, refusal_id: str) -> None:
        """Delete one of your standing refusals."""
        self._run(
            self._core.withdraw_standing_refusal(self._key(key), refusal_id, now=_clock.now())
        )

    def checks(self, key: KeySource) -> builtins.list[CheckCounts]:
        """How often each of your endorsements was checked online at this registry, per
        day: counts only (nobody else can see them; no verifier is recorded)."""
        return self._run(self._core.checks(self._key(key), now=_clock.now()))

    # --- refusals ------------------------------------------------------------------------------

    def verify_refusal(
        self, token: str, *, subject: str | None = None, purpose: str | None = None
    ) -> VerificationResult:
        """Verify a refusal token offline, as :meth:`verify` does an endorsement: the
        referee's key binding is fetched and checked, then the signature and the scope. A
        genuine refusal's verdict is ``refused`` (never ``valid``), its message the
        sentence "<referee> states that they do not give a reference for <subject>".

        Raises:
            RegistryUnreachable, RegistryError: the referee's key state could not be had.
            PinMismatch, RegistryStatementInvalid: the registry's answers cannot be trusted.
        """
        flow = self._core.verify_refusals(
            [token], now=_clock.now(), subject=subject, purpose=purpose
        )
        return self._run(flow)[0]
