"""An endorser driving an in-process registry: bound identity, signed calls, slots, tokens.

Identities are inserted straight into the database with a key binding signed by the registry's
key, so these tests do not depend on the e-mail confirmation flow (tested on its own).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi.testclient import TestClient

from endorse.protocol import (
    KeyBinding,
    Relationship,
    Revocation,
    SigningKey,
    StatusRef,
    Subject,
    build_endorsement,
    sign,
)
from endorse.protocol.requests import sign_request
from endorse.server.context import Context
from endorse.server.models import Identity

REGISTRY_URL = "http://127.0.0.1:8080"  # as in tests/server/conftest.py
PROBLEM = "application/problem+json"
BOB = Subject("Bob Jones", email="bob@example.com")
MANAGER = Relationship("work", "manager", org="Acme", start="2019-03", end="2023-06")
EMPLOYMENT = "employment-reference"


def context(client: TestClient) -> Context:
    ctx: Context = client.app.state.context  # type: ignore[attr-defined]
    return ctx


def problem_type(response: httpx.Response) -> str:
    assert response.headers["content-type"] == PROBLEM, response.text
    kind: str = response.json()["type"]
    return kind.removeprefix("urn:endorse:problem:")


class Endorser:
    """One endorser key at the registry behind ``client``."""

    def __init__(self, client: TestClient, seed: int, name: str = "Alice Smith") -> None:
        self.client = client
        self.key = SigningKey.from_seed(bytes([seed]) * 32)
        self.name = name
        self.email = f"endorser{seed}@example.com"

    @property
    def did(self) -> str:
        return self.key.did

    @property
    def ctx(self) -> Context:
        return context(self.client)

    def bind(self, *, since: int | None = None) -> Endorser:
        """Insert this key's identity, as a confirmed registration would."""
        ctx = self.ctx
        now = ctx.clock() if since is None else since
        binding = KeyBinding(
            registry=ctx.registry,
            key=self.did,
            email=self.email,
            name=self.name,
            since=now,
            method="email-code",
            issued_at=now,
        )
        with ctx.db.write() as session:
            session.add(
                Identity(
                    key=self.did,
                    email=self.email,
                    name=self.name,
                    since=now,
                    binding_token=sign(binding, ctx.key),
                )
            )
        return self

    def set_identity(self, **values: Any) -> None:
        with self.ctx.db.write() as session:
            identity = session.get(Identity, self.did)
            assert identity is not None
            for name, value in values.items():
                setattr(identity, name, value)

    def signed(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """A request signed by this key, now by the registry's clock."""
        content = b"" if body is None else json.dumps(body).encode()
        headers = sign_request(self.key, REGISTRY_URL, method, path, content, now=self.ctx.clock())
        if content:
            headers["content-type"] = "application/json"
        return self.client.request(method, path, content=content, headers=headers)

    def slot(self) -> dict[str, Any]:
        r = self.signed("POST", "/api/v1/slots")
        assert r.status_code == 201, r.text
        slot: dict[str, Any] = r.json()
        return slot

    def token(
        self, slot: dict[str, Any] | None = None, *, now: int | None = None, **kwargs: Any
    ) -> str:
        """An endorsement of Bob signed by this key, with ``slot`` as its status entry."""
        if slot is None:
            slot = self.slot()
        kwargs.setdefault("subject", BOB)
        kwargs.setdefault("relationship", MANAGER)
        kwargs.setdefault("purposes", [EMPLOYMENT])
        e = build_endorsement(
            self.key,
            self.name,
            now=self.ctx.clock() if now is None else now,
            status=StatusRef(slot["registry"], slot["list_id"], slot["index"]),
            **kwargs,
        )
        return sign(e, self.key)

    def register(self, token: str) -> httpx.Response:
        return self.client.post("/api/v1/endorsements", json={"token": token})

    def issue(self, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        """Allocate, sign and register: the token and the registration answer."""
        token = self.token(**kwargs)
        r = self.register(token)
        assert r.status_code == 201, r.text
        answer: dict[str, Any] = r.json()
        return token, answer

    def revocation(self, endorsement_id: str, *, reason: str | None = None) -> str:
        return sign(
            Revocation(
                endorsement_id=endorsement_id,
                issuer=self.did,
                by=self.did,
                issued_at=self.ctx.clock(),
                reason=reason,
            ),
            self.key,
        )

    def revoke(self, endorsement_id: str) -> httpx.Response:
        return self.client.post(
            f"/api/v1/endorsements/{endorsement_id}/revoke",
            json={"revocation": self.revocation(endorsement_id)},
        )
