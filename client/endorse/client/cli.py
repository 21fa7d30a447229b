"""The ``endorse`` command: a thin shell over the SDK (:mod:`endorse.client`).

Keys, registration, issuing, listing, revoking and verifying endorsements, and sharing them
as a verification URL, a QR code or a holder-binding presentation. The registry is chosen by
``--registry``, else ``$ENDORSE_REGISTRY``, else ``registry = "…"`` in the config file (see
:func:`endorse.client.config.config_path`). Exit codes::

    0  the command succeeded (for ``verify``: the verdict is ``valid``)
    1  the token was verified and is not valid (the verdict and reason are printed)
    2  bad usage or input: a missing or invalid option, a malformed token or URL, an
       unreadable key file or config file, no registry configured
    3  the registry is unreachable, refused the request, or cannot be trusted (its key is
       not the pinned one, or a statement of it does not verify)

With ``--json`` a command prints exactly one JSON document on stdout (on an error:
``{"error": {"kind": …, "message": …, "exit_code": …}}``); everything else goes to stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.util
import io
import json
import os
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec

import typer

from endorse.client import keystore
from endorse.client.client import Client
from endorse.client.config import CONFIG_ENV, REGISTRY_ENV, RegistryChoice, choose_registry
from endorse.client.errors import (
    PinMismatch,
    RegistryError,
    RegistryStatementInvalid,
    RegistryUnreachable,
)
from endorse.client.models import OnlineResult
from endorse.client.pins import default_pin_store
from endorse.client.share import present, qr_png, qr_svg, qr_text, token_from_url, verification_url
from endorse.protocol.errors import EndorseError
from endorse.protocol.issue import issue as issue_token
from endorse.protocol.keys import SigningKey
from endorse.protocol.objects import (
    Endorsement,
    KeyBinding,
    KeyRevocation,
    Relationship,
    Subject,
    check_purpose,
    check_registry,
)
from endorse.protocol.token import decode_unverified
from endorse.protocol.token import inspect as inspect_token
from endorse.protocol.trust import TrustedIssuer
from endorse.protocol.verdicts import Verdict
from endorse.protocol.verify import VerificationResult, verify_endorsement

__all__ = ["app", "main"]

EXIT_OK = 0
EXIT_VERDICT = 1
EXIT_USAGE = 2
EXIT_REGISTRY = 3
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
    help="Issue, share, verify and revoke signed, scoped, revocable references.",
    **_SETTINGS,
)
key_app = typer.Typer(
    help="Create, show and list endorser keys; rotate or revoke them at the registry.",
    **_SETTINGS,
)
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


_JSON_OUTPUT: ContextVar[bool] = ContextVar("endorse_json_output", default=False)
"""Whether the running command was given ``--json`` (set by :func:`_json_aware`)."""
P = ParamSpec("P")


def _json_aware(command: Callable[P, None]) -> Callable[P, None]:
    """Mark a command with a ``--json`` option (``as_json``): its errors then also print
    their JSON document on stdout (see :func:`_fail`)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        token = _JSON_OUTPUT.set(bool(kwargs.get("as_json")))
        try:
            command(*args, **kwargs)
        finally:
            _JSON_OUTPUT.reset(token)

    return run


def _fail(code: int, kind: str, message: str, **extra: object) -> NoReturn:
    """One line on stderr, with ``--json`` also the error document on stdout; exit ``code``."""
    _err(f"endorse: error: {message}")
    if _JSON_OUTPUT.get():
        _out(_json({"error": {"kind": kind, "message": message, "exit_code": code, **extra}}))
    raise typer.Exit(code)


def _usage_error(message: str) -> NoReturn:
    _fail(EXIT_USAGE, "usage", message)


_REGISTRY_ERRORS = (RegistryError, RegistryUnreachable, PinMismatch, RegistryStatementInvalid)


def _kind(error: EndorseError) -> str:
    """``RegistryUnreachable`` → ``registry_unreachable``: a stable name for scripts."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


@contextlib.contextmanager
def _errors(prefix: str = "") -> Iterator[None]:
    """Turn an :class:`EndorseError` into a one-line message and its exit status: 3 for the
    registry's failures (it could not be asked, refused, or cannot be trusted), else 2."""
    try:
        yield
    except RegistryError as e:
        _fail(EXIT_REGISTRY, _kind(e), f"{prefix}{e}", problem=e.slug, status=e.status)
    except _REGISTRY_ERRORS as e:
        _fail(EXIT_REGISTRY, _kind(e), f"{prefix}{e}")
    except EndorseError as e:
        _fail(EXIT_USAGE, _kind(e), f"{prefix}{e}")


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
    with _errors():
        return keystore.load_key(key_path, lambda: _passphrase_for(key_path))


def _token_arg(token: str) -> str:
    """The TOKEN_OR_URL argument as a token: read from stdin for ``-``, taken out of a
    verification URL when it is one (nothing is checked yet)."""
    return token_from_url(_read_token(token))


def _verdict_exit(verdict: Verdict) -> int:
    if verdict is Verdict.VALID:
        return EXIT_OK
    # A malformed token is bad input, not a reference that failed a check.
    return EXIT_USAGE if verdict is Verdict.MALFORMED else EXIT_VERDICT


def _registry_choice(option: str | None, key_option: str | None) -> RegistryChoice:
    """The registry chosen by option, environment or config file; a problem is exit 2."""
    with _errors():
        choice = choose_registry(option, key_option)
    return choice


@contextlib.contextmanager
def _connected(choice: RegistryChoice) -> Iterator[Client]:
    """A client of the chosen registry; SDK errors become exit statuses (see :func:`_errors`).

    On first contact (trust on first use) the key the registry presented, now pinned, is
    shown on stderr, so the user can compare it with what the registry's operator publishes.
    """
    with _errors():
        client = Client(choice.url, registry_key=choice.key)
    try:
        with _errors():
            yield client
    finally:
        if client.first_contact:
            _err(
                f"endorse: first contact with {client.registry}: trusting its key"
                f" {client.registry_key} (pinned in {default_pin_store()}; a change of key"
                " will be refused)"
            )
        client.close()


_REGISTRY_HELP = (
    f"The registry's URL; default: ${REGISTRY_ENV}, else registry in the config file"
    f" (${CONFIG_ENV}, else $ENDORSE_HOME/config.toml, else"
    " ${XDG_CONFIG_HOME:-~/.config}/endorse/config.toml)."
)
RegistryOption = Annotated[
    str | None,
    typer.Option("--registry", metavar="URL", help=_REGISTRY_HELP, show_default=False),
]
RegistryKeyOption = Annotated[
    str | None,
    typer.Option(
        "--registry-key",
        metavar="DID",
        help="Pin the registry's did:key (else registry_key in the config file, else trust"
        " on first use).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else.")
]


# --- endorse key ---------------------------------------------------------------------------

_DEFAULT_KEY_HELP = (
    "$ENDORSE_HOME/keys/default.pem, else ${XDG_DATA_HOME:-~/.local/share}/endorse/keys/default.pem"
)
_KEY_FILE_HELP = f"Key file; default: {_DEFAULT_KEY_HELP}."


@key_app.command("new")
@_json_aware
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
    as_json: JsonOption = False,
) -> None:
    """Generate a new Ed25519 signing key; print its did:key and where it was written."""
    path = keystore.default_key_path() if out is None else out
    if os.path.lexists(path):  # checked again, atomically, when the file is created
        _usage_error(f"{path}: already exists; refusing to overwrite a key file")
    secret: bytes | None = None
    if passphrase:
        secret = _passphrase_from_env() or _prompt_passphrase("Passphrase", confirm=True)
    key = SigningKey.generate()
    with _errors():
        keystore.write_key(key, path, secret)
    if as_json:
        _out(_json({"key": key.did, "file": str(path), "encrypted": secret is not None}))
    else:
        _out(key.did)
    _err(f"key written to {path} (mode 0600{', encrypted' if secret else ''})")


@key_app.command("show")
@_json_aware
def key_show(
    file: Annotated[
        Path | None, typer.Argument(help=_KEY_FILE_HELP, show_default=False, metavar="FILE")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the did:key of a key file (asks for the passphrase if it is encrypted)."""
    did = _load_key(file).did
    path = keystore.default_key_path() if file is None else file
    _out(_json({"key": did, "file": str(path)}) if as_json else did)


@key_app.command("list")
@_json_aware
def key_list(as_json: JsonOption = False) -> None:
    """List the key files in the key directory with their did:keys (an encrypted file shows
    its did:key only when ENDORSE_PASSPHRASE opens it; nothing is prompted)."""
    directory = keystore.default_key_path().parent
    try:
        files = sorted(directory.glob("*.pem"))
    except OSError as e:
        _usage_error(f"{directory}: cannot list keys: {e.strerror or type(e).__name__}")
    env = os.environ.get(keystore.PASSPHRASE_ENV)
    secret = env.encode("utf-8") if env else None
    keys: list[dict[str, Any]] = []
    for path in files:
        entry: dict[str, Any] = {"file": str(path), "key": None, "encrypted": False, "error": None}
        try:
            entry["encrypted"] = keystore.is_encrypted(keystore.read_key_file(path))
            if secret is not None or not entry["encrypted"]:
                entry["key"] = keystore.load_key(path, secret).did
        except EndorseError as e:
            entry["error"] = str(e)
        keys.append(entry)
    if as_json:
        _out(_json({"directory": str(directory), "keys": keys}))
        return
    if not keys:
        _err(f"no key files in {directory} (create one with: endorse key new)")
    for k in keys:
        what = k["key"] or ("unreadable: " + k["error"] if k["error"] else "(encrypted)")
        _out(f"{what}  {k['file']}")


@key_app.command("rotate")
@_json_aware
def key_rotate(
    new: Annotated[
        Path,
        typer.Option(
            "--new",
            metavar="FILE",
            help="The successor key's file (create it first: endorse key new --out FILE).",
        ),
    ],
    key: Annotated[
        Path | None,
        typer.Option("--key", metavar="FILE", help=f"The key to retire. {_KEY_FILE_HELP}"),
    ] = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rotate your key: the registry binds the successor to your identity; what the old key
    issued stays valid, and it issues nothing more."""
    choice = _registry_choice(registry, registry_key)
    old_key, new_key = _load_key(key), _load_key(new)
    if old_key.did == new_key.did:
        _usage_error("--new: the successor must be another key than the one rotated")
    with _connected(choice) as client:
        binding = client.rotate_key(old_key, new_key)
    if as_json:
        _out(_json({"old_key": old_key.did, **_binding_json(binding)}))
        return
    _out(f"✓ rotated to {binding.key}, bound to {binding.name} <{binding.email}>")
    _out(f"  retired       {old_key.did} (what it issued stays valid)")
    _out(f"  from now on   endorse issue --key {new} …")


@key_app.command("revoke")
@_json_aware
def key_revoke(
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Confirm: the key is revoked from now on, for good."),
    ] = False,
    key: Annotated[
        Path | None,
        typer.Option("--key", metavar="FILE", help=f"The key to revoke. {_KEY_FILE_HELP}"),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (at most 200).")
    ] = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke your key from now on (it was lost or compromised). What it registered before
    stays valid; it can issue nothing more."""
    choice = _registry_choice(registry, registry_key)
    signing_key = _load_key(key)
    if not yes:
        _usage_error(f"revoking {signing_key.did} cannot be undone: pass --yes to confirm")
    with _connected(choice) as client:
        revocation = client.revoke_key(signing_key, _opt_nfc(reason))
    if as_json:
        _out(_json(_key_revocation_json(revocation)))
        return
    _out(f"✓ revoked {revocation.key} from {_when(revocation.revoked_from)}")
    if revocation.reason is not None:
        _out(f"  reason        {revocation.reason}")


def _binding_json(b: KeyBinding) -> dict[str, Any]:
    return {
        "key": b.key,
        "email": b.email,
        "name": b.name,
        "since": b.since,
        "method": b.method,
        "registry": b.registry,
    }


def _key_revocation_json(r: KeyRevocation) -> dict[str, Any]:
    return {"key": r.key, "revoked_from": r.revoked_from, "by": r.by, "reason": r.reason}


# --- endorse register | confirm ------------------------------------------------------------


@app.command("register")
@_json_aware
def register_command(
    email: Annotated[
        str, typer.Option("--email", metavar="EMAIL", help="Your e-mail address (verified).")
    ],
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="Your name, as shown.")],
    key: Annotated[
        Path | None, typer.Option("--key", metavar="FILE", help=_KEY_FILE_HELP, show_default=False)
    ] = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask the registry to bind your key to your e-mail address; a code is e-mailed to it."""
    choice = _registry_choice(registry, registry_key)
    signing_key = _load_key(key)
    with _connected(choice) as client:
        pending = client.register(signing_key, email, _nfc(name))
    if as_json:
        _out(
            _json(
                {
                    "pending": pending.id,
                    "expires_at": pending.expires_at,
                    "key": signing_key.did,
                    "email": email,
                    "registry": client.registry,
                }
            )
        )
        return
    _out(f"✓ a confirmation code was e-mailed to {email} (valid until {_when(pending.expires_at)})")
    _out(f"  next          endorse confirm --pending {pending.id} CODE")


@app.command("confirm")
@_json_aware
def confirm_command(
    code: Annotated[str, typer.Argument(metavar="CODE", help="The code you were e-mailed.")],
    pending: Annotated[
        str,
        typer.Option("--pending", metavar="ID", help="The id `endorse register` printed."),
    ],
    key: Annotated[
        Path | None, typer.Option("--key", metavar="FILE", help=_KEY_FILE_HELP, show_default=False)
    ] = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Return the e-mailed code: the registry binds your key to your verified e-mail."""
    choice = _registry_choice(registry, registry_key)
    signing_key = _load_key(key)
    with _connected(choice) as client:
        binding = client.confirm(signing_key, pending, code.strip())
    if as_json:
        _out(_json(_binding_json(binding)))
        return
    _out(f"✓ {binding.key} is bound to {binding.name} <{binding.email}>")
    _out(f"  registry      {binding.registry} (since {_when(binding.since)})")


# --- endorse issue -------------------------------------------------------------------------


@app.command("issue")
@_json_aware
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
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Sign locally only: no registry, no revocation status entry (you cannot"
            " withdraw the token later), no verification URL.",
        ),
    ] = False,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sign an endorsement with your (registered) key, register it with the registry, and
    print its token and verification URL (share the URL with the subject).

    With --offline the token is only signed: it carries no revocation status entry.
    """
    if offline and (registry is not None or registry_key is not None):
        _usage_error("--offline issues without a registry: drop --registry / --registry-key")
    now = _now()
    nbf = None if not_before is None else _parse_time(not_before, "--not-before")
    exp = None if expires is None else _parse_time(expires, "--expires")
    if nbf is not None and nbf < now:
        _usage_error("--not-before: must not be in the past (a reference cannot be backdated)")
    start, end = (None, None) if period is None else _parse_period(period)
    with _errors():
        who = Subject(_nfc(subject), email=subject_email, handle=subject_handle, key=subject_key)
        rel = Relationship(
            _nfc(context), _nfc(relationship), org=_opt_nfc(org), start=start, end=end
        )
    if offline:
        signing_key = _load_key(key)
        with _errors():
            token = issue_token(
                signing_key,
                _nfc(name),
                who,
                rel,
                purpose,
                now=now,
                expires=exp,
                not_before=nbf,
                audience=audience,
                statement=_opt_nfc(statement),
                contact=contact,
            )
        if as_json:
            e = decode_unverified(token, Endorsement).object  # just signed by us
            _out(_json({"id": e.id, "token": token, "url": None, "registry": None}))
        else:
            _out(token)
        _err(
            "note: issued offline, this token carries no revocation status entry;"
            " verifiers cannot learn if you withdraw it."
        )
        return
    choice = _registry_choice(registry, registry_key)  # a usage error before any prompt
    signing_key = _load_key(key)
    with _connected(choice) as client:
        issued = client.issue(
            signing_key,
            _nfc(name),
            who,
            rel,
            purpose,
            expires=exp,
            not_before=nbf,
            audience=audience,
            statement=_opt_nfc(statement),
            contact=contact,
        )
    if as_json:
        status = issued.endorsement.status
        _out(
            _json(
                {
                    "id": issued.id,
                    "token": issued.token,
                    "url": issued.url,
                    "registry": client.registry,
                    "registered_at": issued.registration.registered_at,
                    "list_id": None if status is None else status.list_id,
                    "index": None if status is None else status.index,
                }
            )
        )
        return
    _out(issued.token)
    _out(issued.url)
    _err(
        f"✓ endorsement {issued.id} registered at {client.registry}: share the URL (second"
        " line) with the subject; withdraw it any time with: endorse revoke -- " + issued.id
    )


# --- endorse list | revoke -----------------------------------------------------------------


@app.command("list")
@_json_aware
def list_command(
    key: Annotated[
        Path | None, typer.Option("--key", metavar="FILE", help=_KEY_FILE_HELP, show_default=False)
    ] = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """List every endorsement your key registered, oldest first, withdrawn ones included."""
    choice = _registry_choice(registry, registry_key)
    signing_key = _load_key(key)
    with _connected(choice) as client:
        listed = client.list(signing_key)
    if as_json:
        _out(
            _json(
                {
                    "key": signing_key.did,
                    "endorsements": [
                        {
                            "id": x.id,
                            "token": x.token,
                            "url": verification_url(client.registry, x.token),
                            "registered_at": x.registered_at,
                            "revoked_at": x.revoked_at,
                            "list_id": x.list_id,
                            "index": x.index,
                            "claims": x.endorsement.to_payload(),
                        }
                        for x in listed
                    ],
                }
            )
        )
        return
    if not listed:
        _err(f"no endorsements registered with {signing_key.did}")
    for x in listed:
        e = x.endorsement
        state = "revoked " + _when(x.revoked_at) if x.revoked_at is not None else "active"
        rel = e.relationship.role + (f", {e.relationship.org}" if e.relationship.org else "")
        _out(
            f"{x.id}  {state:<28}  {e.subject.name} — {rel}  [{', '.join(e.purposes)}]"
            f"  issued {_when(e.issued_at)}"
        )


@app.command("revoke")
@_json_aware
def revoke_command(
    endorsement: Annotated[
        str,
        typer.Argument(
            metavar="ID_OR_TOKEN",
            help="The endorsement's id (see endorse list; put -- before an id that starts"
            " with -), or its token.",
        ),
    ],
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (at most 200).")
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", metavar="FILE", help=_KEY_FILE_HELP, show_default=False)
    ] = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw an endorsement. The registry records it at once; every verifier sees it
    within the status list's max-age."""
    choice = _registry_choice(registry, registry_key)
    target = _token_arg(endorsement)
    signing_key = _load_key(key)
    with _connected(choice) as client:
        revoked = client.revoke(signing_key, target, _opt_nfc(reason))
    if as_json:
        _out(
            _json(
                {
                    "id": revoked.id,
                    "revoked_at": revoked.revoked_at,
                    "reason": revoked.revocation.reason,
                }
            )
        )
        return
    _out(f"✓ revoked {revoked.id} at {_when(revoked.revoked_at)}")
    if revoked.revocation.reason is not None:
        _out(f"  reason        {revoked.revocation.reason}")


# --- endorse inspect -----------------------------------------------------------------------

_TOKEN_HELP = "The token, or - to read it from stdin."  # noqa: S105 - help text


@app.command("inspect")
@_json_aware
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
        raise typer.Exit(EXIT_USAGE) from None
    payload = json.loads(decoded.payload)
    if as_json:
        _out(_json({"verified": False, "type": decoded.object.TYPE, "payload": payload}))
        return
    _err(f"UNVERIFIED — signature not checked ({decoded.object.TYPE} token)")
    _out(_json(payload))


# --- endorse verify ------------------------------------------------------------------------


_TOKEN_OR_URL_HELP = "The token, its verification URL, or - to read either from stdin."  # noqa: S105
MAX_FILE_BYTES = 64 * 1024 * 1024
"""The largest file of tokens ``verify --file`` reads (about 30,000 tokens of 2 KiB)."""
BATCH = 100
"""Tokens per ``verify_many`` call in ``verify --file``: the progress bar's step (the
client's caches are shared across calls, so each fact is still fetched once)."""


@app.command("verify")
@_json_aware
def verify_command(
    token: Annotated[
        str | None,
        typer.Argument(help=_TOKEN_OR_URL_HELP, metavar="TOKEN_OR_URL", show_default=False),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="Verify every token or URL in FILE (one a line; blank and # lines skipped;"
            " - reads stdin): one line per token.",
        ),
    ] = None,
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
    presentation: Annotated[
        str | None,
        typer.Option(
            "--presentation",
            metavar="TOKEN",
            help="The subject's holder-binding proof (endorse present) over --nonce.",
        ),
    ] = None,
    nonce: Annotated[
        str | None,
        typer.Option("--nonce", metavar="NONCE", help="The nonce you gave the subject."),
    ] = None,
    online: Annotated[
        bool,
        typer.Option(
            "--online", help="Ask the registry's verification API and check its signed receipt."
        ),
    ] = False,
    issuer: Annotated[
        str | None,
        typer.Option(
            "--issuer",
            metavar="DID",
            help="Verify offline against this endorser key alone (no registry: revocation"
            " is not checked).",
        ),
    ] = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a reference: the signature, the scope you give, the issuer's verified identity
    and whether it was withdrawn (offline-first: the registry is asked for facts only)."""
    if (presentation is None) != (nonce is None):
        _usage_error("--presentation and --nonce go together")
    if purpose is not None:
        with _errors("--purpose: "):
            check_purpose(purpose)
    if file is not None:
        if token is not None or online or presentation is not None or issuer is not None:
            _usage_error(
                "--file verifies offline-first at the registry: no TOKEN_OR_URL, --online,"
                " --presentation or --issuer with it"
            )
        choice = _registry_choice(registry, registry_key)
        _verify_file(file, choice, as_json, subject, purpose, audience)
    if token is None:
        _usage_error("give a TOKEN_OR_URL (or --file FILE)")
    if issuer is not None:
        if online or registry is not None or registry_key is not None:
            _usage_error("--issuer verifies offline: drop --online, --registry, --registry-key")
        with _errors("--issuer: "):
            trusted = TrustedIssuer.pinned(issuer)
        result = verify_endorsement(
            _token_arg(token),
            now=_now(),
            issuers={trusted.key: trusted},
            subject=subject,
            purpose=purpose,
            audience=audience,
            presentation=presentation,
            nonce=nonce,
            require_status=False,
        )
        _show_result(result, as_json, pinned=trusted.key)
        raise typer.Exit(_verdict_exit(result.verdict))
    choice = _registry_choice(registry, registry_key)
    text = _token_arg(token)
    with _connected(choice) as client:
        if online:
            answer = client.verify_online(
                text,
                subject=subject,
                purpose=purpose,
                audience=audience,
                presentation=presentation,
                nonce=nonce,
            )
        else:
            result = client.verify(
                text,
                subject=subject,
                purpose=purpose,
                audience=audience,
                presentation=presentation,
                nonce=nonce,
            )
    if online:
        _show_online(answer, as_json)
        raise typer.Exit(_verdict_exit(answer.verdict))
    _show_result(result, as_json, pinned=None)
    raise typer.Exit(_verdict_exit(result.verdict))


def _verify_file(
    file: Path,
    choice: RegistryChoice,
    as_json: bool,
    subject: str | None,
    purpose: str | None,
    audience: str | None,
) -> NoReturn:
    """``verify --file``: one line per token, all with the same expectations; exit 0 when
    all are valid, else 1."""
    lines = _read_token_lines(file)
    if not lines:
        _usage_error(f"{file}: no tokens in it")
    results: list[VerificationResult] = []
    with _connected(choice) as client, _progress(len(lines)) as advance:
        for i in range(0, len(lines), BATCH):
            chunk = [t for _, t in lines[i : i + BATCH]]
            results += client.verify_many(
                chunk, subject=subject, purpose=purpose, audience=audience
            )
            advance(len(chunk))
    valid = sum(r.valid for r in results)
    if as_json:
        docs = [{"line": n, **_result_json(r)} for (n, _), r in zip(lines, results, strict=True)]
        _out(_json({"total": len(results), "valid": valid, "results": docs}))
    else:
        for (n, _), r in zip(lines, results, strict=True):
            _out(f"line {n}: {'✓' if r.valid else '✗'} {r.verdict.value} — {r.message}")
        _err(f"{len(results)} tokens: {valid} valid, {len(results) - valid} not valid")
    raise typer.Exit(EXIT_OK if valid == len(results) else EXIT_VERDICT)


def _read_token_lines(file: Path) -> list[tuple[int, str]]:
    """The tokens of a file (or stdin for ``-``) with their line numbers, URLs unwrapped."""
    try:
        if str(file) == STDIN:
            data = typer.get_binary_stream("stdin").read(MAX_FILE_BYTES + 1)
        else:
            with file.open("rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        _usage_error(f"{file}: cannot read: {e.strerror or type(e).__name__}")
    if len(data) > MAX_FILE_BYTES:
        _usage_error(f"{file}: larger than {MAX_FILE_BYTES} bytes; split it")
    text = data.decode("utf-8", errors="replace")  # a bad byte makes its token malformed
    return [
        (n, token_from_url(line))
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; else nothing (logs stay clean)."""
    if not sys.stderr.isatty():
        yield lambda _: None
        return
    with typer.progressbar(length=total, label="verifying", file=sys.stderr) as bar:
        yield bar.update


def _show_result(result: VerificationResult, as_json: bool, *, pinned: str | None) -> None:
    if as_json:
        _out(_json(_result_json(result)))
    else:
        _print_result(result, pinned)


def _show_online(answer: OnlineResult, as_json: bool) -> None:
    receipt = answer.receipt
    if as_json:
        _out(
            _json(
                {
                    "verdict": answer.verdict.value,
                    "valid": answer.valid,
                    "message": answer.message,
                    "detail": answer.detail,
                    "checks": [c._asdict() for c in answer.checks],
                    "claims": answer.claims,
                    "issuer": None if answer.issuer is None else dataclasses.asdict(answer.issuer),
                    "status": None if answer.status is None else dataclasses.asdict(answer.status),
                    "checked_at": answer.checked_at,
                    "receipt": {
                        "registry": receipt.registry,
                        "token_hash": receipt.token_hash,
                        "verdict": receipt.verdict,
                        "checked_at": receipt.checked_at,
                    },
                    "receipt_token": answer.receipt_token,
                }
            )
        )
        return
    _out(f"{'✓' if answer.valid else '✗'} {answer.verdict.value} — {answer.message}")
    if answer.issuer is not None:
        who = answer.issuer.name or "?"
        email = f" <{answer.issuer.email}>" if answer.issuer.email else " (identity unknown)"
        _out(f"  issuer        {who}{email}, key {answer.issuer.key}")
    _out(f"  detail        {answer.detail}")
    failed = next((c for c in answer.checks if not c.passed), None)
    if failed is not None and failed.detail != answer.detail:
        _out(f"  failed check  {failed.name}: {failed.detail}")
    _out(
        f"  receipt       signed by {receipt.registry} at {_when(receipt.checked_at)}"
        f" (token hash {receipt.token_hash})"
    )


def _result_json(result: VerificationResult) -> dict[str, Any]:
    e = result.endorsement
    return {
        "verdict": result.verdict.value,
        "valid": result.valid,
        "message": result.message,
        "detail": result.detail,
        "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in result.checks],
        "claims": None if e is None else e.to_payload(),
        "issuer": None if result.issuer is None else dataclasses.asdict(result.issuer),
        "revocation_checked": result.revocation_checked,
        "checked_at": result.checked_at,
        "token_hash": result.token_hash,
    }


def _print_result(result: VerificationResult, pinned: str | None) -> None:
    """The verdict line, then the claims and what was checked; ``pinned`` is the key given
    with ``--issuer`` (offline), None when the registry vouched for the issuer."""
    mark = "✓" if result.valid else "✗"
    _out(f"{mark} {result.verdict.value} — {result.message}")
    e = result.endorsement
    if e is not None:
        _print_claims(e, pinned, None if pinned is not None else result.issuer)
    _out(f"  detail        {result.detail}")
    failed = next((c for c in result.checks if not c.passed), None)
    if failed is not None and failed.detail != result.detail:
        _out(f"  failed check  {failed.name}: {failed.detail}")
    if e is None:
        return
    if result.verdict is Verdict.UNKNOWN_ISSUER and pinned is not None:
        _out(f"note: signed by {e.issuer}, not by the --issuer key {pinned}")
    if e.status is None:
        _out("note: revocation could not be checked: the token carries no status entry")
    elif result.revocation_checked:
        _out(f"  revocation    checked: status list {e.status.list_id} of {e.status.registry}")
    else:
        why = "this offline check does not fetch it" if pinned else "no fresh copy could be had"
        _out(
            f"note: revocation status lives at {e.status.registry} (list {e.status.list_id}); {why}"
        )


def _print_claims(e: Endorsement, pinned: str | None, vouched: TrustedIssuer | None) -> None:
    """The claims; ``vouched`` is the issuer as the registry knows it (its verified identity)."""
    mark = " (the pinned --issuer key)" if e.issuer == pinned else ""
    _out(f"  issuer        {e.issuer_name} <{e.issuer}>{mark}")
    if vouched is not None and vouched.identity is not None:
        since = "" if vouched.since is None else f" since {_when(vouched.since)}"
        _out(f"  identity      {vouched.identity}, verified by {vouched.registry}{since}")
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


# --- the subject: endorse url | qr | present ----------------------------------------------


def _link(token: str, registry: str | None) -> str:
    """The verification URL of ``token``: at the registry its status entry names (its check
    page can see a withdrawal), or for a token without one at the configured registry."""
    with _errors():
        status = decode_unverified(token, Endorsement).object.status
    if status is None:
        url = _registry_choice(registry, None).url
    else:
        url = status.registry
        if registry is not None:
            with _errors("--registry: "):
                given = check_registry(registry, "registry")
            if given != url:
                _usage_error(f"--registry: this token's status lives at {url}; its URL is there")
    with _errors():
        return verification_url(url, token)


@app.command("url")
@_json_aware
def url_command(
    token: Annotated[str, typer.Argument(help=_TOKEN_OR_URL_HELP, metavar="TOKEN_OR_URL")],
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the verification URL of a token: a recruiter opens it to check the reference.

    The token is in the URL's fragment, which browsers never send to a server."""
    link = _link(_token_arg(token), registry)
    _out(_json({"url": link}) if as_json else link)


@app.command("qr")
@_json_aware
def qr_command(
    token: Annotated[str, typer.Argument(help=_TOKEN_OR_URL_HELP, metavar="TOKEN_OR_URL")],
    png: Annotated[
        Path | None, typer.Option("--png", metavar="FILE", help="Write a PNG image to FILE.")
    ] = None,
    svg: Annotated[
        Path | None, typer.Option("--svg", metavar="FILE", help="Write an SVG image to FILE.")
    ] = None,
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a QR code of the token's verification URL in the terminal, or write it as an
    image with --png / --svg."""
    if png is not None and svg is not None:
        _usage_error("--png and --svg: choose one")
    link = _link(_token_arg(token), registry)
    target, kind = (png, "png") if png is not None else (svg, "svg")
    if target is None:
        text = qr_text(link)
        if as_json:
            _out(_json({"url": link, "format": "text", "file": None, "qr": text}))
        else:
            _out(text.rstrip("\n"))
            _out(link)
        return
    data = qr_png(link) if kind == "png" else qr_svg(link).encode("utf-8")
    try:
        target.write_bytes(data)
    except OSError as e:
        _usage_error(f"{target}: cannot write: {e.strerror or type(e).__name__}")
    if as_json:
        _out(_json({"url": link, "format": kind, "file": str(target), "qr": None}))
    else:
        _out(link)
        _err(f"QR code written to {target}")


@app.command("present")
@_json_aware
def present_command(
    token: Annotated[str, typer.Argument(help=_TOKEN_OR_URL_HELP, metavar="TOKEN_OR_URL")],
    nonce: Annotated[
        str,
        typer.Option("--nonce", metavar="NONCE", help="The verifier's nonce (16-128 base64url)."),
    ],
    audience: Annotated[
        str | None,
        typer.Option("--audience", metavar="AUDIENCE", help="The verifier's audience."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            metavar="FILE",
            help=f"Your own key, the subject key the endorsement names. {_KEY_FILE_HELP}",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Prove you are the endorsement's subject: sign the verifier's nonce with the subject key
    it names. Give the printed presentation to the verifier (endorse verify --presentation)."""
    text = _token_arg(token)
    subject_key = _load_key(key)
    with _errors():
        proof = present(subject_key, text, nonce, audience)
    if as_json:
        _out(_json({"presentation": proof, "nonce": nonce, "audience": audience}))
    else:
        _out(proof)


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
def demo_command(
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Loopback port of the demo's registry; default: free."),
    ] = None,
    keep_serving: Annotated[
        bool,
        typer.Option("--keep-serving", help="Leave the registry running until Ctrl-C."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else.")
    ] = False,
) -> None:
    """Tell the story of one reference, from issuing to withdrawal, against a real registry
    started for the demo (it needs the server extra)."""
    from endorse.client import demo

    code = demo.main(port=port, keep_serving=keep_serving, as_json=as_json, out=_out, err=_err)
    raise typer.Exit(code)


def main() -> None:
    """Console script entry point: ``endorse``."""
    for stream in (sys.stdout, sys.stderr):
        # Never die on a terminal that cannot show a character; escape it instead.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    app(prog_name="endorse")


if __name__ == "__main__":
    main()
