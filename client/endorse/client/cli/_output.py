"""Output of the ``endorse`` command: exit codes, printing (terminal-safe), JSON documents,
and the mapping of the project's errors to one line, an error document and an exit status."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, ParamSpec, TextIO

import typer

from endorse.client.cli._problems import explain
from endorse.client.errors import (
    PinMismatch,
    RegistryError,
    RegistryStatementInvalid,
    RegistryUnreachable,
)
from endorse.client.share import qr_text
from endorse.protocol.errors import EndorseError
from endorse.protocol.objects import (
    KeyBinding,
    KeyRevocation,
)
from endorse.protocol.verdicts import Verdict

EXIT_OK = 0
"""The command succeeded (for ``verify``: the verdict is ``valid``)."""
EXIT_VERDICT = 1
"""The token was verified and is not valid (``status_unavailable`` included)."""
EXIT_USAGE = 2
"""Bad usage or input."""
EXIT_REGISTRY = 3
"""The registry is unreachable, refused the request, or cannot be trusted."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C, or for the demo a terminating signal): 128 + SIGINT, as shells say."""
EXIT_BROKEN_PIPE = 141
"""stdout was closed before the command could finish (128 + SIGPIPE, as shells say)."""


def safe(text: str) -> str:
    """Escape anything a terminal could interpret (controls, bidi overrides); keep newlines."""
    return "".join(
        c if c.isprintable() or c == "\n" else json.dumps(c, ensure_ascii=True)[1:-1] for c in text
    )


def echo(text: str = "") -> None:
    """Print a line on stdout; if its reader has gone (``… | head``), print nothing more and
    let the command finish (see :func:`silence`)."""
    try:
        typer.echo(safe(text))
    except BrokenPipeError:
        silence(sys.stdout)


def echo_err(text: str) -> None:
    try:
        typer.echo(safe(text), err=True)
    except BrokenPipeError:
        silence(sys.stderr)


def silence(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at /dev/null, as the Python docs advise for
    SIGPIPE: what is still buffered, or written later, is dropped instead of raising
    BrokenPipeError again (at exit, too). A stream without a descriptor is left alone."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


JSON_OUTPUT: ContextVar[bool] = ContextVar("endorse_json_output", default=False)
"""Whether the running command was given ``--json`` (set by :func:`json_aware`)."""
P = ParamSpec("P")


def json_aware(command: Callable[P, None]) -> Callable[P, None]:
    """Mark a command with a ``--json`` option (``as_json``): its errors then also print
    their JSON document on stdout (see :func:`fail`)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        token = JSON_OUTPUT.set(bool(kwargs.get("as_json")))
        try:
            command(*args, **kwargs)
        finally:
            JSON_OUTPUT.reset(token)

    return run


def error_document(kind: str, message: str, code: int, **extra: object) -> dict[str, Any]:
    """What ``--json`` prints on stdout for an error: ``{"error": {"kind": …, "message": …,
    "exit_code": …}}`` (and the registry's problem type and HTTP status for its refusals)."""
    return {"error": {"kind": kind, "message": message, "exit_code": code, **extra}}


def fail(code: int, kind: str, message: str, **extra: object) -> NoReturn:
    """One line on stderr, with ``--json`` also the error document on stdout; exit ``code``."""
    echo_err(f"endorse: error: {message}")
    if JSON_OUTPUT.get():
        echo(json_document(error_document(kind, message, code, **extra)))
    raise typer.Exit(code)


def usage_error(message: str) -> NoReturn:
    fail(EXIT_USAGE, "usage", message)


REGISTRY_ERRORS = (RegistryError, RegistryUnreachable, PinMismatch, RegistryStatementInvalid)


def kind_of(error: EndorseError) -> str:
    """``RegistryUnreachable`` → ``registry_unreachable``: a stable name for scripts."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


@contextlib.contextmanager
def reported(prefix: str = "") -> Iterator[None]:
    """Turn an :class:`EndorseError` into a one-line message and its exit status: 3 for the
    registry's failures (it could not be asked, or cannot be trusted), else 2; a refusal of
    the registry as :func:`~endorse.client.cli._problems.explain` says (what happened, what
    to do, 2 when the person can correct it)."""
    try:
        yield
    except RegistryError as e:
        code, message = explain(e)
        fail(code, kind_of(e), f"{prefix}{message}", problem=e.slug, status=e.status)
    except REGISTRY_ERRORS as e:
        fail(EXIT_REGISTRY, kind_of(e), f"{prefix}{e}")
    except EndorseError as e:
        fail(EXIT_USAGE, kind_of(e), f"{prefix}{e}")


def json_document(obj: object) -> str:
    return safe(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False))


def when(t: int) -> str:
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(t)


def iso(t: int | None) -> str | None:
    """A time for ``--json``: ISO 8601 UTC, as the text output writes it (None stays null)."""
    return None if t is None else when(t)


def iso_times(doc: dict[str, Any] | None, *names: str) -> dict[str, Any] | None:
    """``doc`` with the members ``names`` (Unix seconds) written as :func:`iso` times."""
    if doc is None:
        return None
    return {k: iso(v) if k in names and type(v) is int else v for k, v in doc.items()}


def terminal_qr(url: str, columns: int | None = None) -> list[str]:
    """The lines of a QR code of ``url`` for a terminal ``columns`` wide (default: this
    one's), or, when it is wider, one line saying so and how to get an image instead: a
    wrapped code cannot be scanned.

    Raises:
        InvalidArgument: ``url`` is not a non-empty str.
    """
    lines = qr_text(url).rstrip("\n").splitlines()
    width = max(len(line) for line in lines)  # one column per character: block elements
    if columns is None:
        columns = shutil.get_terminal_size().columns
    if width <= columns:
        return lines
    return [
        f"(the QR code is {width} columns wide and this terminal {columns}: widen it, or write"
        " the code as an image with: endorse qr --png FILE TOKEN_OR_URL)"
    ]


def verdict_exit(verdict: Verdict) -> int:
    if verdict is Verdict.VALID:
        return EXIT_OK
    # A malformed token is bad input, not a reference that failed a check.
    return EXIT_USAGE if verdict is Verdict.MALFORMED else EXIT_VERDICT


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else.")
]


def binding_json(b: KeyBinding) -> dict[str, Any]:
    return {
        "key": b.key,
        "email": b.email,
        "name": b.name,
        "since": iso(b.since),
        "method": b.method,
        "registry": b.registry,
    }


def key_revocation_json(r: KeyRevocation) -> dict[str, Any]:
    return {"key": r.key, "revoked_from": iso(r.revoked_from), "by": r.by, "reason": r.reason}
