"""Requesters and referees of claimed references, driving an in-process registry.

Referees (and requesters with a registered key) are :class:`endorsers.Endorser` keys whose
identity is inserted straight into the database; a requester without one confirms by the
code the registry mails, read from the outbox as a person would read it.
"""

from __future__ import annotations

import json
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
from endorsers import BOB, EMPLOYMENT, MANAGER, REGISTRY_URL, Endorser, context
from fastapi.testclient import TestClient

from endorse.protocol import SigningKey, sign_policy, sign_refusal
from endorse.protocol.requests import sign_request

DAY = 86_400
SUB = {"name": BOB.name, "email": "bob@example.com"}  # BOB, on the wire
REL = {"context": "work", "role": "manager", "org": "Acme", "from": "2019-03", "to": "2023-06"}


class Outbox:
    """The registry's outbox directory, read message by message."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.seen: set[str] = set()

    def new(self) -> list[EmailMessage]:
        """Messages written since the last call."""
        found = []
        for path in sorted(self.directory.glob("*.eml")) if self.directory.exists() else []:
            if path.name not in self.seen:
                self.seen.add(path.name)
                message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
                assert isinstance(message, EmailMessage)
                found.append(message)
        return found

    def to(self, address: str) -> list[EmailMessage]:
        """New messages, which must all be for ``address``."""
        messages = self.new()
        assert all(m["To"] == address for m in messages), [m["To"] for m in messages]
        return messages


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    content: str = body.get_content()
    return content


def code_of(message: EmailMessage) -> str:
    match = re.search(r"^\s+([0-9]{8})$", text_of(message), re.MULTILINE)
    assert match is not None, "no code in the message"
    return match.group(1)


def stop_link(message: EmailMessage) -> str:
    match = re.search(r"(/mail/stop\?t=[A-Za-z0-9_.-]+)", text_of(message))
    assert match is not None
    return match.group(1)


class Requester:
    """A key that asks; bound to a verified identity when made from an :class:`Endorser`."""

    def __init__(self, client: TestClient, key: SigningKey, email: str) -> None:
        self.client = client
        self.key = key
        self.email = email

    @classmethod
    def bound(cls, client: TestClient, seed: int) -> Requester:
        endorser = Endorser(client, seed, name="Carol Recruiter").bind()
        return cls(client, endorser.key, endorser.email)

    @classmethod
    def unbound(cls, client: TestClient, seed: int, email: str) -> Requester:
        return cls(client, SigningKey.from_seed(bytes([seed]) * 32), email)

    def signed(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return signed(self.client, self.key, method, path, body)

    def body(self, referee: str, **overrides: Any) -> dict[str, Any]:
        now = context(self.client).clock()
        body: dict[str, Any] = {
            "referee": referee,
            "sub": SUB,
            "rel": REL,
            "purpose": EMPLOYMENT,
            "exp": now + 14 * DAY,
            "requester": {"email": self.email, "name": "Carol Recruiter"},
        }
        body.update(overrides)
        return body

    def ask(self, referee: str, **overrides: Any) -> httpx.Response:
        return self.signed("POST", "/api/v1/requests", self.body(referee, **overrides))

    def ask_made(self, referee: str, outbox: Outbox | None = None, **overrides: Any) -> Any:
        """Ask and get the request record (confirming by the mailed code when unbound)."""
        r = self.ask(referee, **overrides)
        if r.status_code == 202:
            assert outbox is not None
            (mail,) = outbox.to(self.email)
            confirm = {"pending": r.json()["pending"], "code": code_of(mail)}
            r = self.signed("POST", "/api/v1/requests/confirm", confirm)
        assert r.status_code == 201, r.text
        return r.json()

    def get(self, request_id: str) -> httpx.Response:
        return self.signed("GET", f"/api/v1/requests/{request_id}")


def signed(
    client: TestClient, key: SigningKey, method: str, path: str, body: Any = None
) -> httpx.Response:
    content = b"" if body is None else json.dumps(body).encode()
    now = context(client).clock()
    headers = sign_request(key, REGISTRY_URL, method, path, content, now=now)
    if content:
        headers["content-type"] = "application/json"
    return client.request(method, path, content=content, headers=headers)


class Referee(Endorser):
    """An endorser answering requests: inbox, answers, policy, standing refusals."""

    def inbox(self) -> list[dict[str, Any]]:
        r = self.signed("GET", "/api/v1/inbox")
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["requests"]
        return items

    def refusal(self, request_id: str | None = None, **kwargs: Any) -> str:
        kwargs.setdefault("reason", "not_known")
        return sign_refusal(
            self.key,
            self.name,
            BOB,
            now=self.ctx.clock(),
            request=request_id,
            **kwargs,
        )

    def answer(self, request_id: str, **body: str) -> httpx.Response:
        return self.signed("POST", f"/api/v1/requests/{request_id}/answer", body)

    def policy(self, *, notify: bool = True, now: int | None = None) -> str:
        when = self.ctx.clock() if now is None else now
        return sign_policy(self.key, self.name, now=when, notify=notify)

    def put_policy(self, token: str) -> httpx.Response:
        return self.signed("PUT", "/api/v1/policy", {"policy": token})


__all__ = [
    "BOB",
    "DAY",
    "EMPLOYMENT",
    "MANAGER",
    "REL",
    "SUB",
    "Outbox",
    "Referee",
    "Requester",
    "code_of",
    "signed",
    "stop_link",
    "text_of",
]
