"""The endorser's flows: identity registration and confirmation, issuing (slot, local
signature, registration), listing, revoking, key rotation, key revocation and recovery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from endorse.client._base import CoreBase
from endorse.client._wire import (
    Flow,
    ItemOut,
    KeyStateOut,
    PageOut,
    PendingOut,
    RegisteredOut,
    Response,
    RevokedOut,
    SlotOut,
)
from endorse.client.cache import RegistrationFact
from endorse.client.errors import RegistryStatementInvalid
from endorse.client.models import (
    AlreadyRegistered,
    Issued,
    Listed,
    Pending,
    Revoked,
)
from endorse.client.share import verification_url
from endorse.protocol import (
    EndorseError,
    Endorsement,
    InvalidArgument,
    InvalidKey,
    KeyBinding,
    KeyRevocation,
    KeyRotation,
    MalformedToken,
    PublicKey,
    Relationship,
    Revocation,
    SigningKey,
    StatusRef,
    Subject,
    decode_unverified,
    issue,
    sign,
    token_hash,
    verify_registration,
    verify_revocation,
    verify_token,
)
from endorse.protocol.requests import sign_rotation_consent

__all__ = ["Endorsing"]

PAGE_SIZE = 100
MAX_PAGES = 10_000


class Endorsing(CoreBase):
    """The endorser's flows of :class:`~endorse.client._core.Core`."""

    def register(
        self, key: SigningKey, email: str, name: str, *, now: int
    ) -> Flow[Pending | AlreadyRegistered]:
        """Ask to bind ``key`` to ``email``; a code is e-mailed (spec §10, signed request).

        A key bound already is answered with its state (200) instead: nothing to confirm.
        """
        if type(email) is not str or type(name) is not str:
            raise InvalidArgument("register needs an e-mail address and a name (str)")
        yield from self.contact(strict=True)
        request = self._signed(
            key, "POST", "/api/v1/identities/register", {"email": email, "name": name}, now
        )
        response = yield from self._one(request)
        if self._expect(response, 202, 200).status == 202:
            return self._pending(response)
        state = self._decode(response, KeyStateOut, "a key state")
        fact = self._issuer_fact(state, key.did, now)  # verifies the binding and any revocation
        self.cache.put_issuer(fact)
        revocation = state.key_revocation
        return AlreadyRegistered(
            self._binding(state, key.did),
            None if revocation is None else self._key_revocation(revocation, key.did),
        )

    def _pending(self, response: Response) -> Pending:
        p = self._decode(response, PendingOut, "a pending confirmation")
        return Pending(p.pending, p.expires_at)

    def confirm(
        self, key: SigningKey, pending: Pending | str, code: str, *, now: int
    ) -> Flow[KeyBinding]:
        """Return the e-mailed code; the registry binds the key and signs the binding."""
        body = {"pending": _pending_id(pending), "code": _code(code)}
        yield from self.contact(strict=True)
        request = self._signed(key, "POST", "/api/v1/identities/confirm", body, now)
        response = yield from self._one(request)
        state = self._decode(self._expect(response, 200), KeyStateOut, "a key state")
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
        slot = self._decode(self._expect(response, 201), SlotOut, "a status slot")
        if slot.registry != self.registry:
            raise RegistryStatementInvalid(f"{self.registry}: allocated a slot of another registry")
        status = StatusRef(slot.registry, slot.list_id, slot.index)
        try:
            token = issue(
                key, issuer_name, subject, relationship, purposes, now=now, status=status, **options
            )
        except MalformedToken as e:  # the rehearsal passed: only the slot can be at fault
            raise RegistryStatementInvalid(f"{self.registry}: allocated a malformed slot") from e
        # Retried like a read (idempotent=True): a registration whose answer was lost would
        # otherwise leave a signed token unregistered and its status slot used up.
        registration_request = self._post("/api/v1/endorsements", {"token": token}, idempotent=True)
        response = yield from self._one(registration_request)
        answer = self._decode(self._expect(response, 201, 200), RegisteredOut, "a registration")
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
            page = self._decode(self._expect(response, 200), PageOut, "a page of endorsements")
            for item in page.items:
                out.append(self._listed(item, key))
            if page.next_cursor is None:
                return out
            if page.next_cursor in seen:
                raise RegistryStatementInvalid(f"{self.registry}: pages that never end")
            seen.add(page.next_cursor)
            cursor = page.next_cursor
        raise RegistryStatementInvalid(f"{self.registry}: pages that never end")

    def _listed(self, item: ItemOut, key: SigningKey) -> Listed:
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
        answer = self._decode(self._expect(response, 200), RevokedOut, "a revocation")
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
        state = self._decode(self._expect(response, 200), KeyStateOut, "a key state")
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
        state = self._decode(self._expect(response, 200), KeyStateOut, "a key state")
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


def _pending_id(pending: Pending | str) -> str:
    value = pending.id if type(pending) is Pending else pending
    if type(value) is not str:
        raise InvalidArgument("pending must be the Pending answered, or its id")
    return value


def _code(code: str) -> str:
    if type(code) is not str:
        raise InvalidArgument("the code is the 8-digit string e-mailed")
    return code.strip()
