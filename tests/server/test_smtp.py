"""The SMTP mailer against a real SMTP server on loopback (aiosmtpd), through ``/register``."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi.testclient import TestClient

from endorse.protocol import PublicKey, SigningKey, verify_key_binding
from endorse.protocol.requests import sign_request
from endorse.server.app import create_app
from endorse.server.mailer import SmtpMailer
from endorse.server.settings import Settings

REGISTRY_URL = "http://127.0.0.1:8080"  # as in tests/server/conftest.py
EMAIL = "alice@example.com"


class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        # SMTP carries CRLF line ends; a mail client stores the message with local ones.
        local = envelope.content.replace(b"\r\n", b"\n")
        message = BytesParser(policy=policy.default).parsebytes(local)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def smtp_settings(settings: Settings, port: int, **overrides: Any) -> Settings:
    return settings.model_copy(
        update={
            "mailer": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": False,
            "mail_from": "endorse registry <registry@registry.example>",
            **overrides,
        }
    )


def signed_post(
    client: TestClient, key: SigningKey, path: str, body: dict[str, Any], now: int
) -> Any:
    data = json.dumps(body).encode()
    headers = sign_request(key, REGISTRY_URL, "POST", path, data, now=now)
    return client.post(path, content=data, headers=headers | {"content-type": "application/json"})


def test_smtp_mailer_delivers(settings: Settings, smtp_server: tuple[Collector, int]) -> None:
    handler, port = smtp_server
    SmtpMailer(smtp_settings(settings, port)).send(EMAIL, "Hello", "A body.\n")
    assert handler.recipients == [[EMAIL]]
    (message,) = handler.messages
    assert message["From"] == "endorse registry <registry@registry.example>"
    assert message["To"] == EMAIL
    assert message["Subject"] == "Hello"
    assert message.get_content() == "A body.\n"


def test_register_code_read_from_the_delivered_message(
    settings: Settings, smtp_server: tuple[Collector, int], clock: Any
) -> None:
    handler, port = smtp_server
    app = create_app(smtp_settings(settings, port), clock=clock)
    alice = SigningKey.generate()
    with TestClient(app, base_url=REGISTRY_URL) as client:
        body = {"email": EMAIL, "name": "Alice Smith"}
        r = signed_post(client, alice, "/api/v1/identities/register", body, clock.now)
        assert r.status_code == 202, r.text
        (message,) = handler.messages
        assert handler.recipients == [[EMAIL]]
        assert message["Subject"] == "Your endorse confirmation code"
        text = message.get_content()
        assert alice.did in text
        match = re.search(r"^\s+([0-9]{8})$", text, re.MULTILINE)
        assert match is not None

        confirm = {"pending": r.json()["pending"], "code": match.group(1)}
        r = signed_post(client, alice, "/api/v1/identities/confirm", confirm, clock.now)
        assert r.status_code == 200, r.text
        registry = PublicKey.from_did(client.get("/.well-known/endorse-registry").json()["key"])
        binding = verify_key_binding(r.json()["binding"], registry, REGISTRY_URL)
        assert (binding.key, binding.email) == (alice.did, EMAIL)


@pytest.mark.parametrize("starttls", [False, True], ids=["server_down", "starttls_unsupported"])
def test_undeliverable_mail_is_a_503(
    settings: Settings, smtp_server: tuple[Collector, int], clock: Any, starttls: bool
) -> None:
    handler, port = smtp_server
    # STARTTLS required but the server does not offer it: refuse to send in the clear.
    target = port if starttls else free_port()
    app = create_app(
        smtp_settings(settings, target, smtp_starttls=starttls, smtp_timeout=5), clock=clock
    )
    with TestClient(app, base_url=REGISTRY_URL) as client:
        body = {"email": EMAIL, "name": "Alice Smith"}
        r = signed_post(
            client, SigningKey.generate(), "/api/v1/identities/register", body, clock.now
        )
        assert r.status_code == 503
        assert r.json()["type"] == "urn:endorse:problem:unavailable"
    assert handler.messages == []
