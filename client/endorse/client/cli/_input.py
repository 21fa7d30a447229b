"""Input of the ``endorse`` command: tokens from arguments or stdin, dates, periods, text
normalisation, passphrases and key files."""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from endorse.client import keystore
from endorse.client.cli._output import (
    echo_err,
    reported,
    usage_error,
)
from endorse.client.share import token_from_url
from endorse.protocol.keys import SigningKey

STDIN = "-"
"""The TOKEN argument that means: read the token from stdin."""
MAX_STDIN_CHARS = 262_145
"""Read at most this much of a token from stdin: one more than the longest token of any type,
so an oversized input is still reported by the protocol as too long."""


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_time(value: str, option: str) -> int:
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
        usage_error(
            f"{option}: {value!r} is not a date (YYYY-MM-DD) or ISO 8601 datetime"
            " (YYYY-MM-DDTHH:MM[:SS][+HH:MM|Z])"
        )


def parse_period(value: str) -> tuple[str | None, str | None]:
    """``FROM..TO`` with ``YYYY`` or ``YYYY-MM`` on each side; either side may be left out."""
    start, sep, end = value.partition("..")
    if not sep or (not start and not end):
        usage_error(f"--period: {value!r} is not FROM..TO (YYYY or YYYY-MM, e.g. 2019-01..2024)")
    return start or None, end or None


def nfc(value: str) -> str:
    # Typed text may arrive decomposed (macOS); the protocol accepts NFC only.
    return unicodedata.normalize("NFC", value)


def opt_nfc(value: str | None) -> str | None:
    return None if value is None else nfc(value)


def read_token(token: str) -> str:
    """The TOKEN argument, or for ``-`` the token read from stdin (size-limited, stripped)."""
    if token != STDIN:
        return token
    data = typer.get_binary_stream("stdin").read(MAX_STDIN_CHARS)
    return data.decode("utf-8", errors="replace").strip()


def plain_code(code: str) -> str:
    """An e-mailed code as typed or pasted ("2903 2434", "2903-2434"): without the spaces and
    dashes people write between its groups. Nothing else is changed: a wrong code stays
    wrong, and the registry says so."""
    return "".join(code.split()).replace("-", "")


def passphrase_from_env() -> bytes | None:
    value = os.environ.get(keystore.PASSPHRASE_ENV)
    if value is None:
        return None
    if not value:
        usage_error(f"{keystore.PASSPHRASE_ENV} is set but empty")
    return value.encode("utf-8")


def prompt_passphrase(prompt: str, *, confirm: bool) -> bytes:
    try:
        value = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    except typer.Abort:
        echo_err("")
        usage_error("no passphrase given")
    if not isinstance(value, str) or not value:
        usage_error("an empty passphrase is not allowed")
    return value.encode("utf-8")


def _passphrase_for(path: Path) -> bytes:
    env = passphrase_from_env()
    if env is not None:
        return env
    return prompt_passphrase(f"Passphrase for {path}", confirm=False)


def load_signing_key(path: Path | None) -> SigningKey:
    key_path = keystore.default_key_path() if path is None else path
    with reported():
        return keystore.load_key(key_path, lambda: _passphrase_for(key_path))


def token_arg(token: str) -> str:
    """The TOKEN_OR_URL argument as a token: read from stdin for ``-``, taken out of a
    verification URL when it is one (nothing is checked yet)."""
    return token_from_url(read_token(token))


# --- help texts the commands share ----------------------------------------------------------

DEFAULT_KEY_HELP = (
    "$ENDORSE_HOME/keys/default.pem, else ${XDG_DATA_HOME:-~/.local/share}/endorse/keys/default.pem"
)
KEY_FILE_HELP = f"Key file; default: {DEFAULT_KEY_HELP}."
KeyFileOption = Annotated[
    Path | None, typer.Option("--key", metavar="FILE", help=KEY_FILE_HELP, show_default=False)
]
"""``--key FILE``: the endorser's key file (default: the key directory's ``default.pem``)."""


_PASTED = (
    "; as pasted from a mail or chat: line breaks a mail client added, <angle brackets>,"
    " quotes and trailing punctuation are taken off (spec §11.5)."
)
TOKEN_OR_URL_HELP = "The token, its verification URL (/v#… or /v/…), or - for stdin" + _PASTED
