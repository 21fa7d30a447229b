"""Outgoing mail: confirmation codes reach endorsers through a pluggable mailer.

* ``outbox`` (embedded default): each message is an RFC 5322 ``.eml`` file in a directory,
  written atomically (temporary name, then rename) so a reader never sees half a message.
* ``smtp``: an SMTP server, with STARTTLS and credentials from the settings.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from endorse.server.settings import Settings


class Mailer(Protocol):
    def send(
        self, to: str, subject: str, body: str, headers: Mapping[str, str] | None = None
    ) -> None:
        """Deliver one plain-text message, with extra ``headers`` if given, or raise."""
        ...


def _message(
    sender: str, to: str, subject: str, body: str, headers: Mapping[str, str] | None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="endorse.invalid")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


class OutboxMailer:
    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    def send(
        self, to: str, subject: str, body: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = _message(self.sender, to, subject, body, headers).as_bytes()
        name = f"{uuid.uuid4().hex}.eml"
        temporary = self.directory / f".{name}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.directory / name)


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(
        self, to: str, subject: str, body: str, headers: Mapping[str, str] | None = None
    ) -> None:
        s = self.settings
        message = _message(s.mail_from, to, subject, body, headers)
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username is not None and s.smtp_password is not None:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(message)


def make_mailer(settings: Settings) -> Mailer:
    if settings.mailer == "smtp":
        return SmtpMailer(settings)
    return OutboxMailer(settings.outbox_path, settings.mail_from)
