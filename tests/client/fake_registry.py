"""An in-memory registry behind an httpx MockTransport, for what a real one never does.

It answers the read side of the API (``/.well-known``, key states, status lists with ETags,
registrations, ``/verify``) with statements signed by the protocol package, and can be told
to misbehave: present another key, sign with another key, answer problems, fail, or serve a
stale list. Every request is recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from endorse.protocol import (
    MIN_SIZE,
    Bitstring,
    KeyBinding,
    KeyRevocation,
    Receipt,
    Registration,
    Relationship,
    SigningKey,
    StatusList,
    StatusRef,
    Subject,
    issue,
    sign,
    token_hash,
)

URL = "https://registry.example"
REGISTRY_KEY = SigningKey.from_seed(b"\x10" * 32)
MALLORY_KEY = SigningKey.from_seed(b"\x11" * 32)
BOB = Subject("Bob Jones", email="bob@example.com")
MANAGER = Relationship("work", "manager", org="Acme")
EMPLOYMENT = "employment-reference"
PROBLEM = "application/problem+json"


def problem(status: int, slug: str, detail: str, **headers: str) -> httpx.Response:
    body = {
        "type": f"urn:endorse:problem:{slug}",
        "title": slug,
        "status": status,
        "detail": detail,
    }
    return httpx.Response(status, json=body, headers={"content-type": PROBLEM, **headers})


class FakeRegistry:
    def __init__(self, url: str = URL, key: SigningKey = REGISTRY_KEY) -> None:
        self.url = url
        self.key = key
        self.presented = key
        """The key ``/.well-known`` reports."""
        self.signer = key
        """The key statements are signed with."""
        self.described_as = url
        self.max_age = 300
        self.identities: dict[str, tuple[str, str | None, int | None]] = {}
        self.lists: dict[str, Bitstring] = {}
        self.versions: dict[str, int] = {}
        self.registrations: dict[str, str] = {}
        self.list_age = 0
        """Seconds the served lists' iat lies in the past."""
        self.cache_control: str | None = None
        """Cache-Control of list answers; default: what is left of the max-age."""
        self.verdict: str | None = None
        """Force the verdict of /verify answers (and receipts)."""
        self.receipt_hash: str | None = None
        self.override: Callable[[httpx.Request], httpx.Response | None] | None = None
        self.requests: list[httpx.Request] = []

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def now(self) -> int:
        return int(time.time())

    # --- state ---------------------------------------------------------------------------

    def bind(
        self,
        endorser: SigningKey,
        *,
        revoked_from: int | None = None,
        email: str = "alice@example.com",
        name: str = "Alice Smith",
    ) -> None:
        now = self.now()
        binding = KeyBinding(
            registry=self.url,
            key=endorser.did,
            email=email,
            name=name,
            since=now - 3600,
            method="email-code",
            issued_at=now - 3600,
        )
        revocation = None
        if revoked_from is not None:
            revocation = sign(
                KeyRevocation(
                    key=endorser.did,
                    revoked_from=revoked_from,
                    by=endorser.did,
                    issued_at=revoked_from,
                ),
                endorser,
            )
        self.identities[endorser.did] = (sign(binding, self.signer), revocation, revoked_from)

    def token(self, endorser: SigningKey, list_id: str = "list-1", index: int = 5) -> str:
        self.lists.setdefault(list_id, Bitstring(MIN_SIZE))
        self.versions.setdefault(list_id, 1)
        return issue(
            endorser,
            "Alice Smith",
            BOB,
            MANAGER,
            [EMPLOYMENT],
            now=self.now() - 60,
            status=StatusRef(self.url, list_id, index),
        )

    def register(self, token: str, issuer: SigningKey, at: int) -> None:
        registration = Registration(
            registry=self.url, token_hash=token_hash(token), issuer=issuer.did, registered_at=at
        )
        self.registrations[token_hash(token)] = sign(registration, self.signer)

    def revoke(self, list_id: str, index: int) -> None:
        self.lists[list_id].set(index)
        self.versions[list_id] += 1

    def count(self, prefix: str) -> int:
        return sum(1 for r in self.requests if r.url.path.startswith(prefix))

    # --- answers -------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.override is not None:
            answer = self.override(request)
            if answer is not None:
                return answer
        path = request.url.path
        if path == "/.well-known/endorse-registry":
            return httpx.Response(
                200,
                json={
                    "registry": self.described_as,
                    "key": self.presented.did,
                    "protocol_version": 1,
                    "server_version": "fake",
                    "status_max_age": self.max_age,
                    "endpoints": {},
                },
            )
        if path.startswith("/api/v1/identities/"):
            did = path.removeprefix("/api/v1/identities/")
            if did not in self.identities:
                return problem(404, "not-found", "no identity is bound to this key")
            binding, revocation, revoked_from = self.identities[did]
            body: dict[str, Any] = {"key": did, "binding": binding}
            if revocation is not None:
                body["key_revocation"] = revocation
                body["revoked_from"] = revoked_from
            return httpx.Response(200, json=body)
        if path.startswith("/api/v1/status-lists/"):
            return self._status_list(request, path.removeprefix("/api/v1/status-lists/"))
        if path.startswith("/api/v1/registrations/"):
            th = path.removeprefix("/api/v1/registrations/")
            if th not in self.registrations:
                return problem(404, "not-found", "no token with this hash is registered here")
            return httpx.Response(
                200, json={"token_hash": th, "registration": self.registrations[th]}
            )
        if path == "/api/v1/verify" and request.method == "POST":
            return self._verify(json.loads(request.content))
        return problem(404, "not-found", "no such endpoint")

    def _status_list(self, request: httpx.Request, list_id: str) -> httpx.Response:
        if list_id not in self.lists:
            return problem(404, "not-found", "no status list with this id")
        iat = self.now() - self.list_age
        etag = f'"v{self.versions[list_id]}"'
        control = self.cache_control or f"public, max-age={max(0, iat + self.max_age - self.now())}"
        headers = {"etag": etag, "cache-control": control}
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers=headers)
        status = StatusList(self.url, list_id, iat, self.max_age, self.lists[list_id])
        token = sign(status.to_token_object(), self.signer)
        return httpx.Response(200, json={"token": token}, headers=headers)

    def _verify(self, body: dict[str, Any]) -> httpx.Response:
        verdict = self.verdict or "valid"
        now = self.now()
        receipt = Receipt(
            registry=self.url,
            token_hash=self.receipt_hash or token_hash(body["token"]),
            verdict=verdict,
            checked_at=now,
        )
        return httpx.Response(
            200,
            json={
                "verdict": self.verdict or "valid",
                "message": "m",
                "detail": "d",
                "checks": [],
                "claims": None,
                "issuer": None,
                "status": None,
                "checked_at": now,
                "receipt": sign(receipt, self.signer),
            },
        )
