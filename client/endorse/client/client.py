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
import time
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
        timeout: seconds for each network operation.
        retries: retries of idempotent requests (unsigned GETs, ``POST /verify``, the
            registration of an issued token) after a network failure or a 502/503/504, with a
            short backoff, or after a 503/429's ``Retry-After`` (30 s in all at most). Signed
            calls are never retried.
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
        self._http.close()

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
        try:
            batch = next(flow)
            while True:
                batch = flow.send(self._send_batch(batch))
        except StopIteration as done:
            value: T = done.value
            return value
        finally:
            flow.close()

    def _send_batch(self, batch: Sequence[Request]) -> builtins.list[Outcome]:
        outcomes: builtins.list[Outcome] = []
        down: RegistryUnreachable | None = None
        for request in batch:
            # One registry behind every request: once it is unreachable, it is for the batch.
            outcome = down if down is not None else self._send(request)
            if isinstance(outcome, RegistryUnreachable):
                down = outcome
            outcomes.append(outcome)
        return outcomes

    def _send(self, request: Request) -> Outcome:
        attempt, waited = 0, 0.0
        while True:
            outcome = self._send_once(request)
            delay = self._core.retry_delay(request, outcome, attempt, waited)
            if delay is None:
                return outcome
            time.sleep(delay)
            attempt, waited = attempt + 1, waited + delay

    def _send_once(self, request: Request) -> Outcome:
        try:
            with self._http.stream(
                request.method, request.url, headers=request.headers, content=request.content
            ) as r:
                content = _shell.read_limited(r.iter_bytes(), self._core.registry)
                return _shell.response(r, content)
        except httpx.HTTPError as e:
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
    ) -> builtins.list[VerificationResult]:
        """Verify a batch, fetching each issuer, list and registration at most once.

        Tokens given as strings share ``subject``, ``purpose`` and ``audience``; a
        :class:`VerifyItem` carries its own. Results are in the order given. Raises as
        :meth:`verify`.
        """
        batch = list(items)
        now = _clock.now()
        return self._run(
            self._core.verify(
                batch,
                now=now,
                allow_stale=allow_stale,
                subject=subject,
                purpose=purpose,
                audience=audience,
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

    def register(self, key: KeySource, email: str, name: str) -> Pending:
        """Ask to bind ``key`` to ``email`` (shown as ``name``); a code is e-mailed.

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
