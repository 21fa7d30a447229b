"""Headless Chromium and a seeded registry, for the browser tests and ``scripts/screenshots.py``.

No pytest here, so the screenshot script can use it too::

    with sync_playwright() as pw, LiveServer(url, directory, env=SERVER_ENV) as server:
        browser = launch(pw)
        seeded = seed(server.url, server.data_dir, directory)
        page = browser.new_page()
        page.goto(seeded.valid.url)

Chromium comes from Debian's ``chromium`` package (Playwright's own browser download cannot
work on these machines), started with flags that stop all background networking; every host
name but the loopback registry resolves to nothing.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Locator, Page, Playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from live import LiveServer as LiveServer  # re-exported: the tests' and the script's registry

from endorse.client import Client, Issued, verification_url
from endorse.protocol import Relationship, SigningKey, StatusRef, Subject, Verdict, issue
from endorse.protocol.requests import sign_request

DEBIAN_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
)
STATUS_MAX_AGE = 2
"""Seconds; short, so a revocation made while seeding is in every list a page fetches."""
SERVER_ENV = {
    "ENDORSE_STATUS_MAX_AGE": str(STATUS_MAX_AGE),
    "ENDORSE_LIMIT_REGISTER_PER_CLIENT": "100000",
    "ENDORSE_LIMIT_REGISTER_PER_EMAIL": "100000",
    "ENDORSE_LIMIT_CONFIRM_PER_CLIENT": "100000",
}
CONFIRM_SUBJECT = "Your endorse confirmation code"
DAY = 86_400

BOB = Subject("Bob Jones", email="bob@example.com")
MANAGER = Relationship("work", "manager", org="Acme", start="2019", end="2023")
EMPLOYMENT = "employment-reference"
SCRIPT_MARKUP = "<script>window.__pwned=1</script>"
IMG_MARKUP = '<img src=x onerror="window.__pwned=1">'
HOSTILE_NAME = f"Mallory {IMG_MARKUP}"
HOSTILE_ORG = f"Evil {SCRIPT_MARKUP} Corp"
HOSTILE_ROLE = f"boss {IMG_MARKUP}"
HOSTILE_STATEMENT = f"Great {SCRIPT_MARKUP} and {IMG_MARKUP} colleague."


class ChromiumMissing(RuntimeError):
    """Debian's Chromium is not installed: the browser tests cannot run."""


def chromium_path() -> str:
    """The Chromium binary, or :class:`ChromiumMissing` saying how to install it."""
    found = shutil.which("chromium") or (
        DEBIAN_CHROMIUM if os.access(DEBIAN_CHROMIUM, os.X_OK) else None
    )
    if found is None:
        raise ChromiumMissing(
            "Chromium is not installed: run `apt-get install chromium` (the browser tests"
            " drive Debian's Chromium; Playwright's own browser download cannot work here)"
        )
    return found


def launch(playwright: Playwright) -> Browser:
    """Headless Debian Chromium with no background networking."""
    flags = list(CHROMIUM_FLAGS)
    if os.geteuid() == 0:  # Chromium refuses to start its sandbox as root
        flags.append("--no-sandbox")
    return playwright.chromium.launch(executable_path=chromium_path(), args=flags)


# --- seeding a registry through the SDK ------------------------------------------------------


def code_from_outbox(data_dir: Path, email: str, subject: str = CONFIRM_SUBJECT) -> str:
    """The newest code the registry's outbox mailer wrote to ``email`` about ``subject``.

    Raises:
        TimeoutError: no such mail within 10 seconds.
    """
    outbox = data_dir / "outbox"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = []
        for path in outbox.glob("*.eml") if outbox.is_dir() else ():
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            if message["To"] == email and message["Subject"] == subject:
                body = message.get_body(preferencelist=("plain",))
                assert body is not None, path
                found.append((path.stat().st_mtime_ns, body.get_content()))
        if found:
            text = max(found)[1]
            match = re.search(r"^\s+([0-9]{8})$", text, re.MULTILINE)
            assert match is not None, text
            return match.group(1)
        time.sleep(0.05)
    raise TimeoutError(f"no mail to {email} about {subject!r} in {outbox}")


def new_endorser(client: Client, data_dir: Path, name: str) -> tuple[SigningKey, str]:
    """A fresh key registered and confirmed under ``name``; the key and its e-mail."""
    key = SigningKey.generate()
    email = f"{secrets.token_hex(4)}@example.com"
    pending = client.register(key, email, name)
    client.confirm(key, pending, code_from_outbox(data_dir, email))
    return key, email


def issue_in_the_past(registry: str, key: SigningKey, name: str, *, days_ago: int) -> str:
    """A registered token issued ``days_ago`` days ago and valid for one day.

    The SDK signs with the current time, so this asks for a status slot and registers the
    token through the registry's API itself (spec §10 signed requests).
    """
    now = int(time.time())
    with httpx.Client(base_url=registry, timeout=10) as http:
        headers = sign_request(key, registry, "POST", "/api/v1/slots", b"", now=now)
        answer = http.post("/api/v1/slots", headers=headers)
        assert answer.status_code == 201, answer.text
        slot = answer.json()
        issued_at = now - days_ago * DAY
        token = issue(
            key,
            name,
            BOB,
            MANAGER,
            [EMPLOYMENT],
            now=issued_at,
            expires=issued_at + DAY,
            status=StatusRef(slot["registry"], slot["list_id"], slot["index"]),
        )
        answer = http.post("/api/v1/endorsements", json={"token": token})
        assert answer.status_code == 201, answer.text
    return token


@dataclass(frozen=True)
class Reference:
    """A registered token, its canonical verification URL (``/v#token``) and its endorser."""

    token: str
    url: str
    endorser_name: str
    endorser_email: str

    @property
    def path_url(self) -> str:
        """The path form of the verification URL, ``/v/<token>``."""
        return self.url.replace("/v#", "/v/", 1)


@dataclass(frozen=True)
class Seeded:
    valid: Reference
    revoked: Reference
    expired: Reference
    hostile: Reference
    """Markup in the endorser's registered and signed names, organisation, role, statement."""


def _reference(issued: Issued | str, registry: str, name: str, email: str) -> Reference:
    token = issued if isinstance(issued, str) else issued.token
    return Reference(token, verification_url(registry, token), name, email)


def seed(registry: str, data_dir: Path, work_dir: Path) -> Seeded:
    """Endorsements of every kind the tests look at, registered at ``registry`` through the SDK.

    ``data_dir`` is the registry's (its outbox holds the confirmation codes); the SDK's pin
    store goes to ``work_dir``. Returns once the revocation is in the published status list.
    """
    with Client(registry, pin_store=work_dir / "pins.json") as client:
        alice, alice_email = new_endorser(client, data_dir, "Alice Smith")

        def one(**extra: str) -> Issued:
            return client.issue(alice, "Alice Smith", BOB, MANAGER, [EMPLOYMENT], **extra)

        valid = one(statement="Bob ran our payments team with care and good humour.")
        revoked = one()
        client.revoke(alice, revoked.id, reason="no longer accurate")
        expired = issue_in_the_past(registry, alice, "Alice Smith", days_ago=3)
        mallory, mallory_email = new_endorser(client, data_dir, HOSTILE_NAME)
        bad = client.issue(
            mallory,
            HOSTILE_NAME,
            BOB,
            Relationship("work", HOSTILE_ROLE, org=HOSTILE_ORG),
            [EMPLOYMENT],
            statement=HOSTILE_STATEMENT,
        )
    # A verifier of its own, which sees the revocation once the list is republished.
    deadline = time.monotonic() + STATUS_MAX_AGE + 5
    with Client(registry, pin_store=work_dir / "pins.json") as verifier:
        while verifier.verify(revoked.token).verdict is not Verdict.REVOKED:
            assert time.monotonic() < deadline, "the revocation never reached the status list"
            time.sleep(0.2)
    return Seeded(
        valid=_reference(valid, registry, "Alice Smith", alice_email),
        revoked=_reference(revoked, registry, "Alice Smith", alice_email),
        expired=_reference(expired, registry, "Alice Smith", alice_email),
        hostile=_reference(bad, registry, HOSTILE_NAME, mallory_email),
    )


# --- pages -----------------------------------------------------------------------------------

CHECK_TIMEOUT_MS = 20_000
"""How long the page's own verification may take (it fetches three facts and a verdict)."""


def wait_checked(page: Page) -> Locator:
    """The result, once the page's JavaScript has finished checking (``data-state="done"``)."""
    page.wait_for_selector('#result[data-state="done"]', timeout=CHECK_TIMEOUT_MS)
    return page.locator("#result")


def screenshot(page: Page, path: Path) -> Path:
    """A full-page screenshot at ``path``; fails when nothing was written."""
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 0, path
    return path
