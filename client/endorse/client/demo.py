"""``endorse demo``: the whole story of a reference, told step by step against a real registry.

The demo starts a registry of its own (``python -m endorse.server serve``, as an operator
would) on a loopback port, with a temporary SQLite database and the outbox mailer, and tells
the story through the SDK: Alice registers her key (the code is read from the registry's
outbox) and endorses Bob; a recruiter checks the reference; a forger and two misusers are
caught; Alice withdraws it and the recruiter sees it. Then the references named without a
token: Dan's CV names Alice; the recruiter asks; Alice, told by mail, refuses with her
signature and the recruiter verifies the refusal; Alice signs a policy, and the next request
naming her is answered with it at once. Whatever happens (an error, Ctrl-C,
SIGTERM, SIGHUP, SIGQUIT), the registry is stopped and its temporary directory removed::

    from endorse.client import demo

    exit_code = demo.main(out=print, err=print)

The client never imports the server: it only needs the ``server`` extra installed, so that
the registry process can start. :func:`missing_server_modules` says what is missing.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import httpx

from endorse.client.cli._output import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REGISTRY,
    EXIT_USAGE,
    EXIT_VERDICT,
    error_document,
    json_document,
    terminal_qr,
)
from endorse.client.cli.claims import answer_sentence
from endorse.client.client import Client
from endorse.client.models import Issued, Pending, RequestStatus
from endorse.protocol import (
    Relationship,
    SigningKey,
    Subject,
    Verdict,
    VerificationResult,
)
from endorse.protocol.encoding import b64url_decode, b64url_encode
from endorse.protocol.errors import EndorseError
from endorse.protocol.token import inspect

__all__ = [
    "Claimed",
    "DemoError",
    "DemoRegistry",
    "PortInUse",
    "Step",
    "Story",
    "confirmation_code",
    "forge",
    "mails_to",
    "main",
    "missing_server_modules",
    "next_mail",
    "tell",
]

HOST = "127.0.0.1"
START_TIMEOUT = 60.0
"""Seconds the registry may take to migrate its database and answer ``/readyz``."""
STOP_TIMEOUT = 10.0
"""Seconds the registry may take to shut down after SIGTERM before it is killed."""
MAIL_TIMEOUT = 10.0
"""Seconds to wait for the confirmation mail to appear in the outbox."""
LOG_TAIL_LINES = 20
ORPHAN_GRACE = 5.0
"""Seconds the registry may take to shut down after the demo died before it exits anyway."""

# What the registry process runs: the server's module, as ``python -m endorse.server`` would,
# with one more thread, which watches the read end of a pipe whose write end only the demo
# holds. The kernel closes it when the demo dies, however it dies (SIGKILL included): the
# read then ends, and the registry stops itself (SIGINT: its graceful shutdown, after which
# uvicorn raises the signal again, a KeyboardInterrupt here, so the directory can still be
# removed; exit after ORPHAN_GRACE at the latest) and removes its directory, which the dead
# demo no longer can.
# A pipe rather than a parent-death signal: it works on every POSIX system, and does not
# depend on which of the demo's threads started the registry.
_LAUNCHER = """
import os, runpy, shutil, signal, sys, threading
lifeline, grace = int(sys.argv.pop(1)), float(sys.argv.pop(1))
orphaned = threading.Event()
def watch():
    while True:
        try:
            if not os.read(lifeline, 64):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    orphaned.set()
    threading.Timer(grace, os._exit, (1,)).start()
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=watch, daemon=True).start()
try:
    runpy.run_module("endorse.server", run_name="__main__", alter_sys=True)
finally:
    if orphaned.is_set():
        shutil.rmtree(os.getcwd(), ignore_errors=True)
        os._exit(0)
"""

SERVER_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "pydantic_settings")
"""Top-level modules of the ``server`` extra without which the registry cannot start."""
INSTALL_HINT = "pip install 'endorse[server]' (from a clone: pip install -e '.[server]')"

ALICE_NAME, ALICE_EMAIL = "Alice Smith", "alice@example.com"
BOB_EMAIL = "bob@example.com"
BOB = Subject("Bob Jones", email=BOB_EMAIL)
BOB_AT_ACME = Relationship("work", "manager", org="Acme", start="2019", end="2023")
EMPLOYMENT, TENANCY = "employment-reference", "tenancy-reference"
STATEMENT = "Bob led our payments team with care and rigour."
CAROL = "carol@example.com"
DAN = Subject("Dan Brown", email="dan@example.com")
ERIN = Subject("Erin Green", email="erin@example.com")
RECRUITER_EMAIL = "recruiter@example.com"
RECRUITER_AUDIENCE = "acme-recruiting"

# The forger's edit: one byte of the signed payload, Bob's start year 2019 becomes 2009
# (ten years under Alice instead of four). A string value changes, so the payload stays
# canonical JSON and the token still parses: only the signature can catch it.
FORGED_FROM, FORGED_TO = b'"from":"2019"', b'"from":"2009"'

_CODE = re.compile(r"^\s+([0-9]{8})\s*$", re.MULTILINE)


class DemoError(EndorseError):
    """The demo's registry could not be started, or failed while the story was told."""


class PortInUse(DemoError):
    """The port asked for (``--port``) is taken by another process."""


def missing_server_modules() -> list[str]:
    """The modules of the ``server`` extra that cannot be imported here (none: it is installed)."""
    return [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]


def _listen(port: int | None) -> socket.socket:
    """A listening TCP socket on ``HOST``, at ``port`` or (None) one the kernel picks.

    The demo binds it and hands it to the registry process (``serve --fd``): no other
    process can take the port between the choice and the start, and whatever answers there
    is the demo's own registry.

    Raises:
        PortInUse: ``port`` is taken.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # As servers do: a port left in TIME_WAIT by the last run may be bound again (Linux
        # still refuses a port another socket listens on).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port or 0))
        sock.listen(128)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} is in use on {HOST}; choose another with --port"
                " (or leave it out to use a free one)"
            ) from None
        raise DemoError(f"cannot listen on {HOST}:{port or 0}: {e.strerror or e}") from None
    return sock


# --- the registry process ------------------------------------------------------------------


class DemoRegistry:
    """A registry process of the demo's own, in a temporary directory it removes when stopped.

    ``port`` None picks a free loopback port. The demo binds the socket itself and the
    registry serves on it (its id names its port, which is known once the socket is bound).

    Raises (:meth:`start`):
        PortInUse: the ``port`` asked for is taken.
        DemoError: the registry did not become ready within ``START_TIMEOUT`` seconds, or
            exited; the message carries the tail of its log.
    """

    def __init__(self, port: int | None = None) -> None:
        self.requested_port = port
        self.port: int | None = None
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._lifeline: int | None = None
        """The write end of the registry's lifeline (see ``_LAUNCHER``), held while it runs."""

    @property
    def url(self) -> str:
        """The registry's id: its base URL, which names its port."""
        assert self.port is not None, "the registry was never started"
        return f"http://{HOST}:{self.port}"

    @property
    def outbox(self) -> Path:
        assert self.directory is not None, "the registry was never started"
        return self.directory / "outbox"

    @property
    def log_path(self) -> Path:
        assert self.directory is not None, "the registry was never started"
        return self.directory / "server.log"

    @property
    def pid(self) -> int:
        assert self.process is not None, "the registry was never started"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-LOG_TAIL_LINES:]) or "(the server log is empty)"

    def _command(self, fd: int, lifeline: int) -> list[str]:
        serve = ["serve", "--fd", str(fd), "--workers", "1"]
        launch = [sys.executable, "-c", _LAUNCHER, str(lifeline), str(ORPHAN_GRACE)]
        return [*launch, *serve]

    def _env(self) -> dict[str, str]:
        assert self.directory is not None
        # None of the user's own ENDORSE_* settings (a production database URL, an SMTP
        # server) may reach the demo's registry: it is configured here, completely.
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENDORSE_")}
        data = self.directory / "data"
        env.update(
            ENDORSE_REGISTRY_URL=self.url,
            ENDORSE_DATA_DIR=str(data),
            ENDORSE_DATABASE_URL=f"sqlite:///{data / 'endorse.sqlite3'}",
            ENDORSE_MAILER="outbox",
            ENDORSE_OUTBOX_DIR=str(self.outbox),
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self) -> DemoRegistry:
        sock = _listen(self.requested_port)
        lifeline, self._lifeline = os.pipe()  # (see _LAUNCHER; not inherited by default)
        try:
            self.port = sock.getsockname()[1]
            self.directory = Path(tempfile.mkdtemp(prefix="endorse-demo-"))
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
                    self._command(sock.fileno(), lifeline),
                    cwd=self.directory,
                    env=self._env(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(sock.fileno(), lifeline),
                    # Its own process group: a Ctrl-C in the terminal reaches the demo only,
                    # which then stops the registry itself, in order.
                    start_new_session=True,
                )
        finally:
            # The registry holds the socket now; were it to die, connections must be
            # refused, not queue on a copy kept here.
            sock.close()
            os.close(lifeline)
        # Ready, and still running: a registry that answered once and then died would only
        # fail later, with a misleading error.
        if self._wait_ready() and self.running():
            return self
        code = self.process.poll()
        why = f"it exited ({code})" if code is not None else f"waited {START_TIMEOUT:.0f} s"
        raise DemoError(
            f"the demo's registry did not become ready at {self.url} ({why}); the end of its"
            f" log:\n{self.log_tail()}"
        )

    def _wait_ready(self) -> bool:
        """Whether ``/readyz`` answered 200 (only the registry started here can answer: it
        serves the socket the demo bound) while the process was running."""
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        return True
                time.sleep(0.05)
        return False

    def _terminate(self) -> None:
        """SIGTERM (a graceful shutdown), then SIGKILL after ``STOP_TIMEOUT``."""
        process = self.process
        if process is None:
            return
        try:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(STOP_TIMEOUT)
        finally:
            # Whatever is left of its process group (a second Ctrl-C during the wait
            # included) is killed, and the process reaped.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        """Stop the registry and remove its directory (the database and the outbox)."""
        try:
            self._terminate()
        finally:
            if self._lifeline is not None:
                os.close(self._lifeline)
                self._lifeline = None
            if self.directory is not None:
                shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> DemoRegistry:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def confirmation_code(outbox: Path, to: str) -> str:
    """The code in the confirmation mail the registry's outbox mailer wrote to ``to``.

    Raises:
        DemoError: no such mail (with a code) arrived within ``MAIL_TIMEOUT`` seconds.
    """
    deadline = time.monotonic() + MAIL_TIMEOUT
    while True:
        # The outbox mailer writes each message under a temporary name, then renames it to
        # *.eml: a file found here is complete.
        for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else ():
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            body = message.get_body(preferencelist=("plain",))
            if message["To"] != to or body is None:
                continue
            match = _CODE.search(body.get_content())
            if match is not None:
                return match.group(1)
        if time.monotonic() > deadline:
            raise DemoError(f"no confirmation mail to {to} arrived in the outbox {outbox}")
        time.sleep(0.05)


def mails_to(outbox: Path, to: str) -> list[tuple[str, str]]:
    """The mails the outbox holds for ``to``, oldest first: (subject, plain-text body)."""
    found = []
    for path in outbox.glob("*.eml") if outbox.is_dir() else ():
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        body = message.get_body(preferencelist=("plain",))
        if message["To"] == to:
            text = "" if body is None else body.get_content()
            found.append((path.stat().st_mtime_ns, path.name, str(message["Subject"]), text))
    return [(subject, text) for *_, subject, text in sorted(found)]


def next_mail(outbox: Path, to: str, before: int) -> tuple[str, str]:
    """The first mail to ``to`` after the ``before`` it had: (subject, body).

    Raises:
        DemoError: none arrived within ``MAIL_TIMEOUT`` seconds.
    """
    deadline = time.monotonic() + MAIL_TIMEOUT
    while True:
        mails = mails_to(outbox, to)
        if len(mails) > before:
            return mails[before]
        if time.monotonic() > deadline:
            raise DemoError(f"no new mail to {to} arrived in the outbox {outbox}")
        time.sleep(0.05)


# --- the story -----------------------------------------------------------------------------


def forge(token: str) -> str:
    """``token`` with one byte of its signed payload changed (see ``FORGED_FROM``), the
    payload re-encoded so the token still parses, and Alice's signature kept.

    Raises:
        DemoError: the payload does not hold the relationship's start year once.
    """
    prefix, payload, signature = token.split(".")
    claims = b64url_decode(payload, what="payload")
    if claims.count(FORGED_FROM) != 1:
        raise DemoError("the forger cannot find the start year in the token")
    forged = ".".join((prefix, b64url_encode(claims.replace(FORGED_FROM, FORGED_TO)), signature))
    inspect(forged)  # it still parses: only its signature is wrong
    return forged


@dataclass(frozen=True, slots=True)
class Step:
    """One check of the story: what the recruiter's client said, and what it should say."""

    title: str
    expected: Verdict
    result: VerificationResult

    @property
    def ok(self) -> bool:
        return self.result.verdict is self.expected

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "expected": self.expected.value,
            "verdict": self.result.verdict.value,
            "message": self.result.message,
            "ok": self.ok,
        }


@dataclass(frozen=True, slots=True)
class Story:
    """What the demo did: the registry, Alice's key, Bob's link and every check.

    ``kept_url`` is set with ``keep_serving``: the link of a second reference of Alice's for
    Bob, which stays valid (the story's own one, ``url``, ends revoked).
    """

    registry: str
    registry_key: str
    endorser_key: str
    url: str
    steps: tuple[Step, ...]
    claimed: Claimed | None = None
    kept_url: str | None = None

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps) and (
            self.claimed is not None and self.claimed.ok
        )

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "ok": self.ok,
            "registry": self.registry,
            "registry_key": self.registry_key,
            "endorser": {"name": ALICE_NAME, "email": ALICE_EMAIL, "key": self.endorser_key},
            "verification_url": self.url,
            "steps": [step.to_json() for step in self.steps],
            "claimed": None if self.claimed is None else self.claimed.to_json(),
        }
        if self.kept_url is not None:
            doc["serving"] = {"valid_url": self.kept_url, "revoked_url": self.url}
        return doc


def tell(registry: DemoRegistry, say: Callable[[str], None], *, keep_serving: bool) -> Story:
    """Tell the story against ``registry`` through the SDK, narrating with ``say``.

    Raises:
        DemoError: the confirmation mail did not arrive.
        EndorseError: the registry refused a request or could not be reached (the SDK's
            :mod:`endorse.client.errors`).
    """
    steps: list[Step] = []

    def check(
        client: Client,
        title: str,
        expected: Verdict,
        token: str,
        *,
        subject: str = BOB_EMAIL,
        purpose: str = EMPLOYMENT,
    ) -> None:
        result = client.verify(token, subject=subject, purpose=purpose)
        step = Step(title, expected, result)
        say(title)
        say(f"   {'✓' if result.valid else '✗'} {result.verdict.value} — {result.message}")
        if not step.ok:
            say(f"   UNEXPECTED: the story expects {expected.value} here")
        steps.append(step)

    def endorse_bob(alice_client: Client, alice: SigningKey) -> Issued:
        return alice_client.issue(
            alice, ALICE_NAME, BOB, BOB_AT_ACME, [EMPLOYMENT], statement=STATEMENT
        )

    # Pins live in the temporary directory too: each demo registry has a new key, which must
    # neither be pinned in, nor be refused by, the user's own list of known registries.
    assert registry.directory is not None
    pins = registry.directory / "known_registries.json"
    with Client(registry.url, pin_store=pins) as alice_client:
        info = alice_client.connect()

        alice = SigningKey.generate()
        say("1. Alice creates her endorser key and registers it with her e-mail address.")
        say(f"   her key: {alice.did}")
        pending = alice_client.register(alice, ALICE_EMAIL, ALICE_NAME)
        assert isinstance(pending, Pending)  # a key made a moment ago is bound to nobody
        code = confirmation_code(registry.outbox, ALICE_EMAIL)
        binding = alice_client.confirm(alice, pending, code)
        say(f"   the registry e-mails her a code ({code}, read here from its outbox);")
        say("   she enters it, and the registry signs that her key belongs to")
        say(f"   {binding.name} <{binding.email}>.")
        say("")

        issued = endorse_bob(alice_client, alice)
        token = issued.token
        say("2. Alice endorses Bob as his manager at Acme, 2019-2023, for employment references.")
        say("   Bob's link, to share with recruiters:")
        say(f"   {issued.url}")
        say("")

        with Client(registry.url, pin_store=pins) as recruiter:
            check(recruiter, "3. A recruiter opens Bob's link for a job:", Verdict.VALID, token)
            say("   Bob's link as a QR code:")
            for line in terminal_qr(issued.url):
                say(line)
            say("")
            title = "4. A forger changes one byte (Bob's start year 2019 becomes 2009)"
            title += " and keeps Alice's signature:"
            check(recruiter, title, Verdict.BAD_SIGNATURE, forge(token))
            title = "5. Carol presents Bob's token as her own:"
            check(recruiter, title, Verdict.SUBJECT_MISMATCH, token, subject=CAROL)
            title = "6. Bob uses it for a tenancy application:"
            check(recruiter, title, Verdict.PURPOSE_NOT_ALLOWED, token, purpose=TENANCY)

        revoked = alice_client.revoke(alice, issued.id, "demo: Alice withdraws her reference")
        when = datetime.fromtimestamp(revoked.revoked_at, UTC).strftime("%H:%M:%S UTC")
        say("")
        say(f"7. Alice withdraws her reference; the registry records it at {when}.")
        # A verifier may keep using a status list it fetched until the list's max-age runs
        # out; one that fetches the list after the withdrawal sees it at once. The story's
        # recruiter checks afresh, with a new client.
        say(f"   (A verifier may keep using a status list it fetched for {info.status_max_age} s.)")
        with Client(registry.url, pin_store=pins) as recruiter:
            title = "   A recruiter who checks Bob's link now:"
            check(recruiter, title, Verdict.REVOKED, token)

        say("")
        with Client(registry.url, pin_store=pins) as recruiter:
            claimed = _claimed_reference(registry, alice_client, alice, recruiter, say)
        steps.append(claimed.refusal)

        kept_url = None
        if keep_serving:
            kept = endorse_bob(alice_client, alice)
            say("")
            with Client(registry.url, pin_store=pins) as recruiter:
                title = "13. Alice gives Bob a new reference, to keep; a recruiter checks it:"
                check(recruiter, title, Verdict.VALID, kept.token)
            kept_url = kept.url

    return Story(registry.url, info.key, alice.did, issued.url, tuple(steps), claimed, kept_url)


@dataclass(frozen=True, slots=True)
class Claimed:
    """The second half of the story: references named without a token.

    ``refusal`` is the recruiter's verification of the answer Alice signed (expected
    ``refused``); ``alert`` the subject of the mail that told Alice she was named;
    ``policy_answer`` what the registry answered at once once Alice had a policy.
    """

    request_id: str
    alert: str
    refusal: Step
    policy_request_id: str
    policy_answer: str | None
    policy_message: str

    @property
    def ok(self) -> bool:
        return self.refusal.ok and self.policy_answer == "policy" and bool(self.alert)

    def to_json(self) -> dict[str, Any]:
        return {
            "request": self.request_id,
            "alert": self.alert,
            "refusal": self.refusal.to_json(),
            "policy": {
                "request": self.policy_request_id,
                "answer": self.policy_answer,
                "message": self.policy_message,
                "ok": self.policy_answer == "policy",
            },
        }


def _ask(
    registry: DemoRegistry, recruiter: Client, key: SigningKey, who: Subject, role: str
) -> RequestStatus:
    """The recruiter asks, signing with a key of the moment: the registry e-mails a code to
    the recruiter's address (read here from its outbox) to verify it."""
    before = len(mails_to(registry.outbox, RECRUITER_EMAIL))
    asked = recruiter.ask(
        key,
        ALICE_EMAIL,
        who,
        Relationship("work", role, org="Acme", start="2020", end="2022"),
        EMPLOYMENT,
        audience=RECRUITER_AUDIENCE,
        requester_email=RECRUITER_EMAIL,
        requester_name="Acme Recruiting",
    )
    if isinstance(asked, RequestStatus):
        return asked
    _, body = next_mail(registry.outbox, RECRUITER_EMAIL, before)
    match = _CODE.search(body)
    if match is None:
        raise DemoError(f"the mail to {RECRUITER_EMAIL} holds no code")
    return recruiter.confirm_ask(key, asked, match.group(1))


def _claimed_reference(
    registry: DemoRegistry,
    alice_client: Client,
    alice: SigningKey,
    recruiter: Client,
    say: Callable[[str], None],
) -> Claimed:
    """Dan names Alice without a token; the recruiter asks; Alice, told, refuses with a
    signature; the recruiter verifies the refusal. Then Alice signs a policy, and the next
    request naming her is answered with it at once."""
    say("8. Dan Brown's CV names Alice as his manager at Acme, 2020-2022, without a token.")
    say("   The recruiter asks the registry to put the claim to Alice; the recruiter's address")
    requester = SigningKey.generate()
    alice_had = len(mails_to(registry.outbox, ALICE_EMAIL))
    status = _ask(registry, recruiter, requester, DAN, "manager")
    say(f"   ({RECRUITER_EMAIL}) is verified with an e-mailed code.")
    say(f"   Request {status.id}: {status.state}.")
    say("")
    alert, _ = next_mail(registry.outbox, ALICE_EMAIL, alice_had)
    (item,) = [i for i in alice_client.requests(alice) if i.id == status.id]
    r = item.request
    say("9. Alice is told by mail that she is named, and sees the request in her inbox:")
    say(f"   mail          {alert!r}")
    say(f"   asked by      {r.requester.email} (verified)")
    say(f"   for           {r.subject.name} <{r.subject.email}>, {r.purpose}")
    say("")
    alice_client.answer_refuse(alice, status.id, "no_reference")
    say("10. Alice refuses, with her signature (reason: no_reference; no free text needed).")
    say("")
    answered = recruiter.request_status(requester, status.id)
    answer = answered.answer
    if answer is None or answer.result is None:
        raise DemoError(f"the request {status.id} has no signed answer: {answered.state}")
    title = "11. The recruiter reads the answer and verifies Alice's signature:"
    refusal = Step(title, Verdict.REFUSED, answer.result)
    say(title)
    result = answer.result
    say(f"    {'✓' if result.valid else '✗'} {result.verdict.value} — {result.message}")
    if not refusal.ok:
        say(f"    UNEXPECTED: the story expects {Verdict.REFUSED.value} here")
    say("")
    alice_client.set_policy(alice, notify=True)
    say("12. Alice signs a policy: references from her come only as signed tokens.")
    say("    Erin Green's CV names Alice too; the recruiter asks, and is answered at once:")
    second = _ask(registry, recruiter, requester, ERIN, "team lead")
    policy = second.answer
    kind = None if policy is None else policy.kind
    message = (
        f"no answer yet ({second.state})"
        if policy is None
        else answer_sentence(policy, second.request)
    )
    say(f"    answer: {kind or 'none'} — {message}")
    if kind != "policy":
        say("    UNEXPECTED: the story expects Alice's signed policy here")
    return Claimed(status.id, alert, refusal, second.id, kind, message)


# --- the command ---------------------------------------------------------------------------


TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
"""Signals treated as Ctrl-C while the demo runs: a ``kill``, the terminal closing (SIGHUP
reaches the demo only: its registry runs in a session of its own), and Ctrl-\\."""


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """Treat ``TERMINATING_SIGNALS`` as Ctrl-C while the demo runs, so its registry is
    stopped and its directory removed however the demo is ended."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt) for signum in TERMINATING_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _serve(registry: DemoRegistry, story: Story, say: Callable[[str], None]) -> None:
    """Keep the registry running until Ctrl-C (or one of ``TERMINATING_SIGNALS``).

    Raises:
        DemoError: the registry stopped by itself.
    """
    try:
        # Inside the try: a Ctrl-C right after the prompt below is a stop, not a failure.
        say("")
        say(f"The registry keeps running at {registry.url}; open these links in a browser:")
        say(f"  valid:   {story.kept_url}")
        say(f"  revoked: {story.url}")
        say("Press Ctrl-C to stop it.")
        while registry.running():
            time.sleep(0.2)
    except KeyboardInterrupt:
        # After SIGHUP the terminal may be gone: the registry is stopped all the same.
        with contextlib.suppress(OSError):
            say("Stopping the registry.")
        return
    raise DemoError(
        f"the demo's registry stopped by itself; the end of its log:\n{registry.log_tail()}"
    )


def main(
    *,
    port: int | None = None,
    keep_serving: bool = False,
    as_json: bool = False,
    out: Callable[[str], None],
    err: Callable[[str], None],
) -> int:
    """Run the demo; answer the exit status: 0 every verdict as expected, 1 some verdict not,
    2 bad usage (the ``server`` extra is missing, ``port`` is taken), 3 the registry failed,
    130 interrupted (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT) before the story ended.

    ``out`` gets the story (with ``as_json``: one JSON document, and nothing else: on a
    failure the CLI's error document), ``err`` the errors (and, with ``as_json``, what
    ``--keep-serving`` says).
    """

    def fail(code: int, kind: str, message: str) -> int:
        err(f"endorse: error: {message}")
        if as_json:
            out(json_document(error_document(kind, message, code)))
        return code

    missing = missing_server_modules()
    if missing:
        return fail(
            EXIT_USAGE,
            "server_extra_missing",
            f"the demo runs a registry, which needs the server extra"
            f" (missing: {', '.join(missing)}): {INSTALL_HINT}",
        )

    def quiet(_: str) -> None:
        pass

    say = quiet if as_json else out
    try:
        with _signals_interrupt(), DemoRegistry(port) as registry:
            say(
                f"Started a registry of the demo's own at {registry.url} (process"
                f" {registry.pid}), its database and mail outbox in {registry.directory}."
            )
            say("")
            try:
                story = tell(registry, say, keep_serving=keep_serving)
            except DemoError:
                raise
            except EndorseError as e:
                raise DemoError(
                    f"the demo's registry failed: {e}; the end of its log:\n{registry.log_tail()}"
                ) from e
            if as_json:
                out(json_document(story.to_json()))
            else:
                say("")
                say(
                    "Every verdict came out as expected."
                    if story.ok
                    else "UNEXPECTED verdicts above."
                )
            if keep_serving:
                _serve(registry, story, err if as_json else say)
        say("The demo's registry is stopped and its files removed.")
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
            return fail(
                EXIT_INTERRUPTED,
                "interrupted",
                "demo interrupted; its registry is stopped and its files removed",
            )
        return EXIT_INTERRUPTED
    except PortInUse as e:
        return fail(EXIT_USAGE, "port_in_use", str(e))
    except DemoError as e:
        return fail(EXIT_REGISTRY, "demo_error", str(e))
    return EXIT_OK if story.ok else EXIT_VERDICT
