"""Reading a token out of what a person pasted (spec §11.5).

A token travels in e-mails, chat messages and PDFs, as itself or inside a verification link,
and arrives wrapped across lines, in angle brackets, in quotes, or followed by the full stop
of the sentence around it. :func:`read_paste` takes off what such carriers add, by one
rule that every front end (the check page's script, the CLI, the SDK) applies alike, and
never "repairs" anything inside the token: a token with a character changed stays changed,
and its verification says ``malformed``.

>>> read_paste('<https://registry.example/v#endorsement-v1.e30.c2ln>.').token
'endorsement-v1.e30.c2ln'
>>> read_paste("https://registry.example/v/endorsement-v1.e3=\\r\\n0.c2ln").registry
'https://registry.example'
>>> read_paste('"endorsement-v1.e30\\n   .c2ln"').token
'endorsement-v1.e30.c2ln'
>>> read_paste("<https://registry.example/s#AAECAwQFBgcICQoLDA0ODw>")
ShortLinkPaste(id='AAECAwQFBgcICQoLDA0ODw', registry='https://registry.example')

A short link (spec §11.6) holds no token: it names the registry that keeps the token for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from endorse.protocol.errors import MalformedToken
from endorse.protocol.objects import check_registry
from endorse.protocol.token import _MAX_ANY_TOKEN

__all__ = ["MAX_PASTE_CHARS", "Paste", "ShortLinkPaste", "UnreadablePaste", "read_paste"]

MAX_PASTE_CHARS = 2 * _MAX_ANY_TOKEN
"""The longest paste read: twice the longest token of any type, room for a link around it
and the line breaks a wrapper adds (a paste is refused before anything else is done)."""

# The rule's steps, in spec §11.5's order. Each regular expression is ASCII-only and written
# the same in the check page's script (endorse-check.js, readPaste).
_SOFT_BREAK = re.compile(r"=(?:\r\n|\r|\n)")
"""Quoted-printable's soft line break (RFC 2045 §6.7): "=" at the end of a line. No token or
verification link holds "=", so removing it takes nothing away."""
_WRAP = re.compile(r"[ \t]*(?:\r\n|\r|\n)[ \t\r\n]*")
"""A line break with the spaces and tabs around it: what a mail client's wrapping adds.
Whitespace without a line break stays (a space inside a token is a defect, not wrapping)."""
_AROUND = " \t\r\n<>\"'()[]{}.,;:!?\u201c\u201d\u2018\u2019\u00ab\u00bb"
"""What is taken off both ends: whitespace, brackets, quotes and sentence punctuation. A token
begins with a lower-case letter or digit and ends with a base64url character; a link begins
with "http" and ends with its token: neither ever begins or ends with one of these."""
_TOKEN = re.compile(r"[a-z0-9-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
"""A token's outline (spec §3.1): three dot-separated parts of token characters. Whether it
is a well-formed token is the verification's to say."""
_SCHEME = re.compile(r"https?://", re.IGNORECASE)
_LINK = re.compile(r"(https?://[^/?#]+(?:/[^?#]*)?)/v(?:#|/)([^/?#]+)", re.IGNORECASE)
"""A verification link of either form (§11.1): the registry, then /v# or /v/ and the token."""
_SHORT_LINK = re.compile(r"(https?://[^/?#]+(?:/[^?#]*)?)/s#([^/?#]+)", re.IGNORECASE)
"""A short link (§11.6): the registry, then /s# and the id (never /s/: the id stays in the
fragment)."""
_SHORT_ID = re.compile(r"[A-Za-z0-9_-]{21}[AQgw]")
"""A short link's id: 16 bytes in canonical base64url, 22 characters."""


class UnreadablePaste(MalformedToken):
    """What was pasted is neither a token nor a verification link holding one, even after
    taking off what a carrier adds; the message says which, for a person, and ``reason``
    names it for a front end with words of its own: ``not_text``, ``too_long``, ``empty``,
    ``not_a_token``, ``no_token_in_link``, ``not_a_registry``, ``damaged_link_token`` or
    ``damaged_short_link``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Paste:
    """What a paste held: the ``token`` (of a token's outline, not yet verified) and the
    ``registry`` a verification link named (None for a bare token)."""

    token: str
    registry: str | None


@dataclass(frozen=True, slots=True)
class ShortLinkPaste:
    """A short link (§11.6): the ``id`` to resolve at ``registry``, which the link names.
    The token it stands for is fetched there and verified as any token."""

    id: str
    registry: str


def read_paste(text: object) -> Paste | ShortLinkPaste:
    """The token (and the registry a link names) in ``text`` as a person pasted it (§11.5),
    or the short link it is.

    Raises:
        UnreadablePaste: ``text`` is not a str, is empty, longer than :data:`MAX_PASTE_CHARS`,
            neither a token nor a link, or a link without a token or with a base that is not
            a registry id.
    """
    if type(text) is not str:
        raise UnreadablePaste("not_text", "a token or verification link is text")
    if len(text) > MAX_PASTE_CHARS:
        raise UnreadablePaste(
            "too_long",
            f"too long to be a token or verification link ({len(text)} characters; a token"
            f" has at most {_MAX_ANY_TOKEN})",
        )
    text = _WRAP.sub("", _SOFT_BREAK.sub("", text)).strip(_AROUND)
    if not text:
        raise UnreadablePaste("empty", "nothing pasted: give a token or a verification link")
    if _SCHEME.match(text):
        return _from_link(text)
    if _TOKEN.fullmatch(text) is None:
        raise UnreadablePaste(
            "not_a_token",
            "not a token: a token is one line like “endorsement-v1.…” (letters, digits,"
            " - and _ in three parts separated by dots), or a verification link",
        )
    return Paste(text, None)


def _from_link(text: str) -> Paste | ShortLinkPaste:
    short = _SHORT_LINK.fullmatch(text)
    match = short or _LINK.fullmatch(text)
    if match is None:
        raise UnreadablePaste(
            "no_token_in_link",
            "that link holds no token: a verification link ends in /v#… or /v/… and the"
            " token after it, a short link in /s# and its id",
        )
    base, token = match.groups()
    # The scheme and host are case-insensitive in a URL, lower-case in a registry id.
    scheme, _, rest = base.partition("://")
    host, slash, path = rest.partition("/")
    try:
        registry = check_registry(f"{scheme.lower()}://{host.lower()}{slash}{path}")
    except MalformedToken as e:
        raise UnreadablePaste(
            "not_a_registry",
            f"that link is not a registry's: {base} is not an https address (http only on"
            " loopback)",
        ) from e
    if short is not None:
        if _SHORT_ID.fullmatch(token) is None:
            raise UnreadablePaste(
                "damaged_short_link",
                "that short link is damaged: its id is 22 letters, digits, - and _ after /s#",
            )
        return ShortLinkPaste(token, registry)
    if _TOKEN.fullmatch(token) is None:
        raise UnreadablePaste(
            "damaged_link_token",
            "that link's token is damaged: a token is letters, digits, - and _ in three"
            " parts separated by dots",
        )
    return Paste(token, registry)
