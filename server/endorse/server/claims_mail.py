"""The registry's mail about claimed references: keyed address hashes, mail stops, texts.

Mail from a registry is trusted, so it must not carry a phisher's words (issue 9). Every
message here is fixed wording plus the registry's verified facts (who asked, verified how);
whatever a requester typed (the candidate's name, the claimed relationship, their own name)
appears only as a labelled, length-limited value through :func:`shown`:

* control and format characters (bidi overrides, zero-width) are removed, whitespace runs
  become one space, and the value is cut to a few dozen characters (ending ``…``);
* nothing stays a link or an address: ``://`` becomes ``[:]//``, ``@`` becomes `` [at] ``,
  and a dot between two letters or digits becomes ``[.]`` (``evil.example`` →
  ``evil[.]example``), so no mail client makes a link or a ``mailto:`` of it;
* no phone number: any run of five or more digits, separators (space, ``-``, ``.``, ``(``,
  ``)``, ``/``, ``+``) allowed in between, becomes ``[digits]``; four-digit years stay.

Values are shown inside ``«…»`` on a line of their own after a fixed label, so they read as
data, not as the registry's prose. The full values are shown only where the referee answers
(``GET /api/v1/inbox``: the signed request itself).

>>> shown("Bob  Jones\\u202e, call +1 (555) 123-4567 or see https://evil.example/x")
'«Bob Jones, call [digits] or see https[:]//evil[.]example/x»'
>>> shown("mallory@evil.example")
'«mallory [at] evil[.]example»'

Addresses are stored only as keyed hashes (:func:`address_mac`: HMAC-SHA256 of the address in
lower case under a key derived from the registry's seed), and a mail stop is such a hash. The
stop link's ``t`` is that hash and a MAC of it under another derived key, so it names no
address and cannot be made for an address by anyone but the registry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

MAX_SHOWN = 64
"""Most characters of one requester-typed value in a mail (before ``…``)."""
_ADDRESS_MAC_LABEL = b"endorse/server/v1/address-mac\0"
_STOP_MAC_LABEL = b"endorse/server/v1/mail-stop-mac\0"
_STOP_TAG_BYTES = 16
_STOP_TOKEN = re.compile(r"([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{22})")

_DIGITS = re.compile(r"[+(]?\d(?:[\s().+/-]*\d){4,}")
_DOT = re.compile(r"(?<=\w)\.(?=\w)")
_SCHEME = re.compile(r":/+")
_SPACES = re.compile(r"\s+")


def _derived(seed: bytes, label: bytes) -> bytes:
    return hmac.new(seed, label, hashlib.sha256).digest()


def address_mac(seed: bytes, address: str) -> bytes:
    """The keyed hash an address is stored and matched by (case-insensitive)."""
    key = _derived(seed, _ADDRESS_MAC_LABEL)
    return hmac.new(key, address.strip().lower().encode("utf-8"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def stop_token(seed: bytes, mac: bytes) -> str:
    """The ``t`` of the stop link for the address whose keyed hash is ``mac``."""
    tag = hmac.new(_derived(seed, _STOP_MAC_LABEL), mac, hashlib.sha256).digest()
    return f"{_b64(mac)}.{_b64(tag[:_STOP_TAG_BYTES])}"


def read_stop_token(seed: bytes, t: str) -> bytes | None:
    """The address hash a stop link's ``t`` names, if the registry made it; else None."""
    m = _STOP_TOKEN.fullmatch(t)
    if m is None:
        return None
    try:
        mac, tag = _unb64(m.group(1)), _unb64(m.group(2))
    except (binascii.Error, ValueError):
        return None
    expected = hmac.new(_derived(seed, _STOP_MAC_LABEL), mac, hashlib.sha256).digest()
    if len(mac) != 32 or not hmac.compare_digest(tag, expected[:_STOP_TAG_BYTES]):
        return None
    return mac


def shown(value: str, limit: int = MAX_SHOWN) -> str:
    """A requester-typed value as a mail may show it (module doc): neutralised, cut, quoted."""
    text = "".join(
        " " if ch.isspace() else ch
        for ch in value
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[:limit].rstrip() + "…"
    text = _DIGITS.sub("[digits]", text)
    text = _SCHEME.sub("[:]//", text)
    text = text.replace("@", " [at] ")
    text = _DOT.sub("[.]", text)
    return f"«{text}»"


def day(when: int) -> str:
    """A time as its UTC date, ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d")


# --- texts -------------------------------------------------------------------------------

METHODS = {
    "email-code": "by a code the registry sent to that address",
    "key-binding": "by a signing key bound to that address at this registry",
}


def _claim(payload: dict[str, Any]) -> str:
    """The claim of a reference-request payload as labelled, neutralised values."""
    sub = payload["sub"]
    rel = payload["rel"]
    by = payload["by"]
    lines = [
        "Who asked (verified by the registry):",
        f"    Address:       {shown(by['email'])}",
        f"    Verified:      {METHODS.get(by['method'], by['method'])}",
    ]
    if "name" in by:
        lines.append(f"    Name given:    {shown(by['name'])}")
    lines += [
        "",
        "What they claim (typed by them; not checked by the registry):",
        f"    Candidate:     {shown(sub['name'])}",
    ]
    if "email" in sub:
        lines.append(f"    Their address: {shown(sub['email'])}")
    if "handle" in sub:
        lines.append(f"    Their handle:  {shown(sub['handle'])}")
    lines.append(f"    Your role:     {shown(rel['role'])}")
    if "org" in rel:
        lines.append(f"    Organisation:  {shown(rel['org'])}")
    lines.append(f"    Network:       {shown(rel['context'])}")
    if "from" in rel or "to" in rel:
        # YYYY or YYYY-MM by the protocol's own rule (spec §4.2), so shown as it is.
        lines.append(f"    Period:        {rel.get('from', '?')} to {rel.get('to', 'now')}")
    lines += [
        f"    Purpose:       {payload['purpose']}",
        f"    Deadline:      {day(payload['exp'])} (UTC)",
    ]
    return "\n".join(lines)


def _footer(registry: str, t: str) -> str:
    return (
        "\n-- \n"
        f"Sent by the endorse registry {registry}\n"
        "To stop all mail from this registry to this address, open this page and press its"
        " button:\n"
        f"    {registry}/mail/stop?t={t}\n"
    )


def invitation(registry: str, request_id: str, payload: dict[str, Any], t: str) -> str:
    """To a referee whose address is not registered: someone named you as a reference."""
    return (
        f"Someone asked the endorse registry {registry}\n"
        "to put a reference claim to you: they say you can give a reference for the person\n"
        "below. This is the only message about it you will get.\n\n"
        f"{_claim(payload)}\n\n"
        "If you want to answer (give the reference, or decline it with a signature), install\n"
        "the endorse client, register this address with `endorse register --email`, then\n"
        f"run `endorse requests`; the request's id is {request_id}.\n\n"
        'If you do nothing, nothing happens: on the deadline the request ends as "no answer",\n'
        "never as a refusal, and the registry deletes this address.\n"
        f"{_footer(registry, t)}"
    )


def claim_alert(registry: str, request_id: str, payload: dict[str, Any], t: str) -> str:
    """To a registered referee: a reference in your name was asked about."""
    return (
        f"Someone asked the endorse registry {registry}\n"
        "about a reference in your name.\n\n"
        f"{_claim(payload)}\n\n"
        "See it in full and answer with `endorse requests`, then\n"
        f"`endorse answer {request_id} --endorse` or `endorse answer {request_id} --refuse`.\n"
        f"Not this requester again: `endorse block {request_id}`. No more alerts:"
        " `endorse mute`.\n"
        f"{_footer(registry, t)}"
    )


def policy_alert(registry: str, request_id: str, payload: dict[str, Any], t: str) -> str:
    """To a referee whose policy answered a request at once."""
    return (
        f"Someone asked the endorse registry {registry}\n"
        "about a reference in your name. The registry answered with your signed policy:\n"
        "references from you come only as signed endorse tokens.\n\n"
        f"{_claim(payload)}\n\n"
        f"Nothing else is needed from you. The request's id is {request_id}\n"
        "(`endorse requests` shows it); `endorse policy --set --no-notify` stops these alerts.\n"
        f"{_footer(registry, t)}"
    )


def ask_code(registry: str, code: str, minutes: int, t: str) -> str:
    """To a requester without a registered key: the code that confirms their request."""
    return (
        f"Someone, we hope you, asked the endorse registry {registry}\n"
        "to put a reference claim to a referee, giving this address as theirs.\n\n"
        "Your confirmation code is\n\n"
        f"    {code}\n\n"
        f"It expires in {minutes} minutes and works once. If you did not ask for this, ignore\n"
        "this message: without the code nothing is sent to anyone.\n"
        f"{_footer(registry, t)}"
    )


def answer_notice(registry: str, request_id: str, link: str, t: str) -> str:
    """To the requester: the referee answered (with a signature)."""
    return (
        f"Your reference request {request_id} at the endorse registry {registry}\n"
        "has an answer, signed by the referee.\n\n"
        "See it, with every signature checked in your browser:\n"
        f"    {link}\n"
        f"or with the endorse client: `endorse request {request_id}`.\n"
        f"{_footer(registry, t)}"
    )


def unsubscribe_headers(registry: str, t: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: a POST to the stop URL, never a GET."""
    return {
        "List-Unsubscribe": f"<{registry}/mail/stop?t={t}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


__all__ = [
    "MAX_SHOWN",
    "address_mac",
    "answer_notice",
    "ask_code",
    "claim_alert",
    "day",
    "invitation",
    "policy_alert",
    "read_stop_token",
    "shown",
    "stop_token",
    "unsubscribe_headers",
]
