"""The offline ``endorse`` command: keys, issuing, inspecting and verifying endorsements.

A thin shell over :mod:`endorse.protocol`; nothing here talks to a registry. Exit codes:

    0  the command succeeded (for ``verify``: the verdict is ``valid``)
    1  any other verdict, a malformed token included (the verdict and reason are printed)
    2  bad usage: a missing or invalid option, an unreadable key file, a bad date or did:key
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import sys
import time
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from endorse.client import keystore
from endorse.protocol.errors import EndorseError
from endorse.protocol.issue import issue as issue_token
from endorse.protocol.keys import SigningKey
from endorse.protocol.objects import Endorsement, Relationship, Subject, check_purpose
from endorse.protocol.token import inspect as inspect_token
from endorse.protocol.trust import TrustedIssuer
from endorse.protocol.verdicts import Verdict
from endorse.protocol.verify import VerificationResult, verify_endorsement

__all__ = ["app", "main"]

EXIT_OK = 0
EXIT_VERDICT = 1
EXIT_USAGE = 2
STDIN = "-"
"""The TOKEN argument that means: read the token from stdin."""
MAX_STDIN_CHARS = 262_145
"""Read at most this much of a token from stdin: one more than the longest token of any type,
so an oversized input is still reported by the protocol as too long."""

_SETTINGS: dict[str, Any] = {
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
    "no_args_is_help": True,
}

app = typer.Typer(
    name="endorse",
    help="Issue, inspect and verify signed, scoped, revocable references (offline).",
    **_SETTINGS,
)
key_app = typer.Typer(help="Create and show endorser signing keys.", **_SETTINGS)
app.add_typer(key_app, name="key")


def _now() -> int:
    """The current time in Unix seconds; one place, so tests can move the clock."""
    return int(time.time())


# --- output and errors ---------------------------------------------------------------------


def _safe(text: str) -> str:
    """Escape anything a terminal could interpret (controls, bidi overrides); keep newlines."""
    return "".join(
        c if c.isprintable() or c == "\n" else json.dumps(c, ensure_ascii=True)[1:-1] for c in text
    )


def _out(text: str = "") -> None:
    typer.echo(_safe(text))


def _err(text: str) -> None:
    typer.echo(_safe(text), err=True)


def _usage_error(message: str) -> NoReturn:
    _err(f"endorse: error: {message}")
    raise typer.Exit(EXIT_USAGE)


@contextlib.contextmanager
def _usage_errors(prefix: str = "") -> Iterator[None]:
    """Turn any :class:`EndorseError` into a one-line message and exit status 2."""
    try:
        yield
    except EndorseError as e:
        _usage_error(f"{prefix}{e}")


def _json(obj: object) -> str:
    return _safe(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False))


def _when(t: int) -> str:
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(t)


# --- input parsing -------------------------------------------------------------------------

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _parse_time(value: str, option: str) -> int:
    """A date (``YYYY-MM-DD``, meaning 00:00 UTC) or an ISO 8601 datetime (UTC if no offset)."""
    try:
        if _DATE.fullmatch(value):
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        else:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp())
    except (ValueError, OverflowError):
        _usage_error(
            f"{option}: {value!r} is not a date (YYYY-MM-DD) or ISO 8601 datetime"
            " (YYYY-MM-DDTHH:MM[:SS][+HH:MM|Z])"
        )


def _parse_period(value: str) -> tuple[str | None, str | None]:
    """``FROM..TO`` with ``YYYY`` or ``YYYY-MM`` on each side; either side may be left out."""
    start, sep, end = value.partition("..")
    if not sep or (not start and not end):
        _usage_error(f"--period: {value!r} is not FROM..TO (YYYY or YYYY-MM, e.g. 2019-01..2024)")
    return start or None, end or None


def _nfc(value: str) -> str:
    # Typed text may arrive decomposed (macOS); the protocol accepts NFC only.
    return unicodedata.normalize("NFC", value)


def _opt_nfc(value: str | None) -> str | None:
    return None if value is None else _nfc(value)


def _read_token(token: str) -> str:
    """The TOKEN argument, or for ``-`` the token read from stdin (size-limited, stripped)."""
    if token != STDIN:
        return token
    data = typer.get_binary_stream("stdin").read(MAX_STDIN_CHARS)
    return data.decode("utf-8", errors="replace").strip()


def _passphrase_from_env() -> bytes | None:
    value = os.environ.get(keystore.PASSPHRASE_ENV)
    if value is None:
        return None
    if not value:
        _usage_error(f"{keystore.PASSPHRASE_ENV} is set but empty")
    return value.encode("utf-8")


def _prompt_passphrase(prompt: str, *, confirm: bool) -> bytes:
    try:
        value = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    except typer.Abort:
        _err("")
        _usage_error("no passphrase given")
    if not isinstance(value, str) or not value:
        _usage_error("an empty passphrase is not allowed")
    return value.encode("utf-8")


def _passphrase_for(path: Path) -> bytes:
    env = _passphrase_from_env()
    if env is not None:
        return env
    return _prompt_passphrase(f"Passphrase for {path}", confirm=False)


def _load_key(path: Path | None) -> SigningKey:
    key_path = keystore.default_key_path() if path is None else path
    with _usage_errors():
        return keystore.load_key(key_path, lambda: _passphrase_for(key_path))


# --- endorse key ---------------------------------------------------------------------------

_DEFAULT_KEY_HELP = (
    "$ENDORSE_HOME/keys/default.pem, else ${XDG_DATA_HOME:-~/.local/share}/endorse/keys/default.pem"
)
_KEY_FILE_HELP = f"Key file; default: {_DEFAULT_KEY_HELP}."


@key_app.command("new")
def key_new(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help=f"Where to write the new key; default: {_DEFAULT_KEY_HELP}.",
        ),
    ] = None,
    passphrase: Annotated[
        bool,
        typer.Option(
            "--passphrase",
            help=f"Encrypt the key file; the passphrase is prompted twice, or read from"
            f" ${keystore.PASSPHRASE_ENV}.",
        ),
    ] = False,
) -> None:
    """Generate a new Ed25519 signing key; print its did:key and where it was written."""
    path = keystore.default_key_path() if out is None else out
    if os.path.lexists(path):  # checked again, atomically, when the file is created
        _usage_error(f"{path}: already exists; refusing to overwrite a key file")
    secret: bytes | None = None
    if passphrase:
        secret = _passphrase_from_env() or _prompt_passphrase("Passphrase", confirm=True)
    key = SigningKey.generate()
    with _usage_errors():
        keystore.write_key(key, path, secret)
    _out(key.did)
    _err(f"key written to {path} (mode 0600{', encrypted' if secret else ''})")


@key_app.command("show")
def key_show(
    file: Annotated[
        Path | None, typer.Argument(help=_KEY_FILE_HELP, show_default=False, metavar="FILE")
    ] = None,
) -> None:
    """Print the did:key of a key file (asks for the passphrase if it is encrypted)."""
    _out(_load_key(file).did)


# --- endorse issue -------------------------------------------------------------------------


@app.command("issue")
def issue_command(
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="Your name as the endorser.")],
    subject: Annotated[
        str, typer.Option("--subject", metavar="NAME", help="The subject's full name.")
    ],
    relationship: Annotated[
        str,
        typer.Option(
            "--relationship", metavar="ROLE", help="Your role towards the subject: manager, …"
        ),
    ],
    purpose: Annotated[
        list[str],
        typer.Option(
            "--purpose",
            metavar="PURPOSE",
            help="A use the reference may be put to (repeatable): employment-reference,"
            " tenancy-reference, academic-reference, volunteer-reference,"
            " character-reference, or x-….",
        ),
    ],
    key: Annotated[
        Path | None, typer.Option("--key", metavar="FILE", help=_KEY_FILE_HELP, show_default=False)
    ] = None,
    subject_email: Annotated[
        str | None,
        typer.Option("--subject-email", metavar="EMAIL", help="The subject's e-mail address."),
    ] = None,
    subject_handle: Annotated[
        str | None, typer.Option("--subject-handle", metavar="HANDLE", help="The subject's handle.")
    ] = None,
    subject_key: Annotated[
        str | None,
        typer.Option(
            "--subject-key", metavar="DID", help="The subject's did:key, for holder binding."
        ),
    ] = None,
    org: Annotated[
        str | None, typer.Option("--org", metavar="ORG", help="The organisation.")
    ] = None,
    context: Annotated[
        str,
        typer.Option(
            "--context", metavar="CONTEXT", help="The network: work, university, a community…"
        ),
    ] = "work",
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            metavar="FROM..TO",
            help="When you knew them, FROM..TO, e.g. 2019-01..2023-06.",
        ),
    ] = None,
    audience: Annotated[
        str | None,
        typer.Option(
            "--audience", metavar="AUDIENCE", help="Restrict the reference to one recipient."
        ),
    ] = None,
    statement: Annotated[
        str | None,
        typer.Option("--statement", metavar="TEXT", help="A short statement (at most 1000)."),
    ] = None,
    contact: Annotated[
        bool,
        typer.Option("--contact/--no-contact", help="Whether verifiers may contact you."),
    ] = False,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", metavar="WHEN", help="YYYY-MM-DD (00:00 UTC) or ISO datetime; default 1y."
        ),
    ] = None,
    not_before: Annotated[
        str | None,
        typer.Option(
            "--not-before",
            metavar="WHEN",
            help="YYYY-MM-DD (00:00 UTC) or ISO datetime; default now.",
        ),
    ] = None,
) -> None:
    """Sign an endorsement with your key and print the token.

    The token is issued offline: it carries no revocation status entry.
    """
    now = _now()
    nbf = None if not_before is None else _parse_time(not_before, "--not-before")
    exp = None if expires is None else _parse_time(expires, "--expires")
    if nbf is not None and nbf < now:
        _usage_error("--not-before: must not be in the past (a reference cannot be backdated)")
    start, end = (None, None) if period is None else _parse_period(period)
    signing_key = _load_key(key)
    with _usage_errors():
        token = issue_token(
            signing_key,
            _nfc(name),
            Subject(_nfc(subject), email=subject_email, handle=subject_handle, key=subject_key),
            Relationship(
                _nfc(context), _nfc(relationship), org=_opt_nfc(org), start=start, end=end
            ),
            purpose,
            now=now,
            expires=exp,
            not_before=nbf,
            audience=audience,
            statement=_opt_nfc(statement),
            contact=contact,
        )
    _out(token)
    _err(
        "note: issued offline, this token carries no revocation status entry;"
        " verifiers cannot learn if you withdraw it."
    )


# --- endorse inspect -----------------------------------------------------------------------

_TOKEN_HELP = "The token, or - to read it from stdin."  # noqa: S105 - help text


@app.command("inspect")
def inspect_command(
    token: Annotated[str, typer.Argument(help=_TOKEN_HELP, metavar="TOKEN")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Decode a token of any type WITHOUT checking its signature."""
    text = _read_token(token)
    try:
        decoded = inspect_token(text)
    except EndorseError as e:
        if as_json:
            doc = {"verified": False, "type": None, "payload": None}
            _out(_json({**doc, "verdict": Verdict.MALFORMED.value, "detail": str(e)}))
        else:
            _out(f"✗ {Verdict.MALFORMED.value} — {Verdict.MALFORMED.sentence}")
            _out(f"  detail        {e}")
        raise typer.Exit(EXIT_VERDICT) from None
    payload = json.loads(decoded.payload)
    if as_json:
        _out(_json({"verified": False, "type": decoded.object.TYPE, "payload": payload}))
        return
    _err(f"UNVERIFIED — signature not checked ({decoded.object.TYPE} token)")
    _out(_json(payload))


# --- endorse verify ------------------------------------------------------------------------


@app.command("verify")
def verify_command(
    token: Annotated[str, typer.Argument(help=_TOKEN_HELP, metavar="TOKEN")],
    issuer: Annotated[
        str,
        typer.Option(
            "--issuer", metavar="DID", help="The endorser's did:key, the only key trusted."
        ),
    ],
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject", metavar="WHO", help="Who presents it: their name, e-mail or handle."
        ),
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", metavar="PURPOSE", help="What you will use the reference for."),
    ] = None,
    audience: Annotated[
        str | None,
        typer.Option("--audience", metavar="AUDIENCE", help="Your own audience identifier."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Verify an endorsement offline against a pinned issuer key."""
    with _usage_errors("--issuer: "):
        trusted = TrustedIssuer.pinned(issuer)
    if purpose is not None:
        with _usage_errors("--purpose: "):
            check_purpose(purpose)
    result = verify_endorsement(
        _read_token(token),
        now=_now(),
        issuers={trusted.key: trusted},
        subject=subject,
        purpose=purpose,
        audience=audience,
        require_status=False,
    )
    if as_json:
        _out(_json(_result_json(result)))
    else:
        _print_result(result, trusted)
    raise typer.Exit(EXIT_OK if result.valid else EXIT_VERDICT)


def _result_json(result: VerificationResult) -> dict[str, Any]:
    e = result.endorsement
    return {
        "verdict": result.verdict.value,
        "valid": result.valid,
        "message": result.message,
        "detail": result.detail,
        "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in result.checks],
        "claims": None if e is None else e.to_payload(),
        "revocation_checked": result.revocation_checked,
        "checked_at": result.checked_at,
        "token_hash": result.token_hash,
    }


def _print_result(result: VerificationResult, trusted: TrustedIssuer) -> None:
    mark = "✓" if result.valid else "✗"
    _out(f"{mark} {result.verdict.value} — {result.message}")
    e = result.endorsement
    if e is not None:
        _print_claims(e, trusted)
    _out(f"  detail        {result.detail}")
    failed = next((c for c in result.checks if not c.passed), None)
    if failed is not None and failed.detail != result.detail:
        _out(f"  failed check  {failed.name}: {failed.detail}")
    if e is None:
        return
    if result.verdict is Verdict.UNKNOWN_ISSUER:
        _out(f"note: signed by {e.issuer}, not by the --issuer key {trusted.key}")
    if e.status is None:
        _out("note: revocation could not be checked: the token carries no status entry")
    elif not result.revocation_checked:
        _out(
            f"note: revocation status lives at {e.status.registry} (list {e.status.list_id});"
            " this offline check does not fetch it"
        )


def _print_claims(e: Endorsement, trusted: TrustedIssuer) -> None:
    pinned = " (the pinned --issuer key)" if e.issuer == trusted.key else ""
    _out(f"  issuer        {e.issuer_name} <{e.issuer}>{pinned}")
    s = e.subject
    ids = ", ".join(x for x in (s.email, s.handle) if x is not None)
    _out(f"  subject       {s.name}" + (f" ({ids})" if ids else ""))
    if s.key is not None:
        _out(f"  subject key   {s.key}")
    r = e.relationship
    rel = f"{r.role} — {r.context}" + (f", {r.org}" if r.org else "")
    if r.start or r.end:
        rel += f", {r.start or '…'}..{r.end or '…'}"
    _out(f"  relationship  {rel}")
    _out(f"  purposes      {', '.join(e.purposes)}")
    if e.audience is not None:
        _out(f"  audience      {e.audience}")
    _out(f"  in force      {_when(e.not_before)} .. {_when(e.expires)}")
    _out(f"  issued        {_when(e.issued_at)}")
    _out(f"  contact       {'yes, the endorser may be contacted' if e.contact else 'no'}")
    if e.statement is not None:
        _out("  statement     " + e.statement.replace("\n", "\n                "))


# --- entry point ---------------------------------------------------------------------------


db_app = typer.Typer(help="Registry database maintenance.", **_SETTINGS)
app.add_typer(db_app, name="db")


def _run_server_module(args: list[str]) -> NoReturn:
    # The client never imports the server: it starts it by module path, in this interpreter.
    import subprocess

    try:
        code = subprocess.call([sys.executable, "-m", "endorse.server", *args])  # noqa: S603
    except KeyboardInterrupt:
        code = 0
    if code == 1 and importlib.util.find_spec("fastapi") is None:
        _err("endorse: error: the registry needs the server extra: pip install 'endorse[server]'")
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(code)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    database_url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL; default: SQLite in $ENDORSE_DATA_DIR."),
    ] = None,
    dev: Annotated[
        bool, typer.Option("--dev", help="Log confirmation codes (never in production).")
    ] = False,
) -> None:
    """Run the registry (migrating its database first)."""
    args = ["serve", "--host", host, "--port", str(port), "--workers", str(workers)]
    if database_url:
        args += ["--database-url", database_url]
    if dev:
        args.append("--dev")
    _run_server_module(args)


@db_app.command("upgrade")
def db_upgrade_command(
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL; default: SQLite in $ENDORSE_DATA_DIR.")
    ] = None,
) -> None:
    """Bring the registry's database to the newest schema."""
    _run_server_module(
        ["db", "upgrade", *(["--database-url", database_url] if database_url else [])]
    )


@app.command("demo")
def demo_command() -> None:
    """Tell the story of one reference, from issuing to withdrawal, with real keys."""
    from endorse.client import demo

    raise typer.Exit(EXIT_OK if demo.run(_out) else EXIT_VERDICT)


def main() -> None:
    """Console script entry point: ``endorse``."""
    for stream in (sys.stdout, sys.stderr):
        # Never die on a terminal that cannot show a character; escape it instead.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    app(prog_name="endorse")


if __name__ == "__main__":
    main()
