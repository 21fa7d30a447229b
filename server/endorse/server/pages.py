"""The recruiter pages' server side: reading the check form, and the result a page shows.

The verdict is always the verification service's (:mod:`endorse.server.verification`); this
module only turns an :class:`~endorse.server.verification.Outcome` into the facts a page shows
(:class:`ResultView`), reads what a recruiter typed or pasted (:func:`parse_check_form`,
:func:`token_from_input`), draws the QR code of a verification URL (spec §11) and sets the
headers every page and static file carries (:class:`PageHeaders`).

>>> token_from_input("  https://registry.example/v#endorsement-v1.e30.sig \\n")
'endorsement-v1.e30.sig'
>>> token_from_input("https://registry.example/v/endorsement-v1.e30.sig")
'endorsement-v1.e30.sig'
>>> try:
...     token_from_input("<b>not a token</b>")
... except InputError as e:
...     print(e.message[:23])
That is not a reference
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import segno
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from endorse.protocol import EndorseError, Endorsement, Verdict, decode_unverified
from endorse.server.verification import Outcome

PAGE_PREFIXES = ("/v", "/check", "/static/", "/api/v1/qr")
"""Paths that are pages, their static files, or serve them (``/v`` also covers ``/v/…``)."""

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        b" connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    # Pages show who endorsed whom: no shared cache keeps them (the fragment form has no
    # token in the URL, but the path form and POST /check results do).
    (b"cache-control", b"no-store"),
)

MAX_INPUT_CHARS = Endorsement.MAX_TOKEN_CHARS + 512
"""What the paste box takes: a token at its limit (spec §3.1) inside a verification URL."""
MAX_SUBJECT_CHARS = 256
MAX_PURPOSE_CHARS = 64
"""As ``POST /api/v1/verify`` bounds them (``VerifyRequest``)."""
_FIELDS = frozenset({"token", "subject", "purpose"})
_OUTER_WHITESPACE = " \t\r\n"


class InputError(Exception):
    """What the recruiter entered cannot be checked; ``message`` says why, for a person."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class CheckInput:
    """The check form, read: the token (extracted from a link if one was pasted) and the
    recruiter's expectations, None when left empty."""

    token: str
    subject: str | None
    purpose: str | None


def token_from_input(text: str) -> str:
    """The token in what was pasted: a token, or a verification URL in either form (spec §11).

    Only the whitespace around the whole paste is dropped (copying from a mail or a PDF adds
    it); nothing inside is changed: a damaged token is checked as it is, and is malformed.

    Raises:
        InputError: the text is empty, too long, or a link that carries no token.
    """
    text = text.strip(_OUTER_WHITESPACE)
    if not text:
        raise InputError("Paste a reference token or a verification link.")
    if len(text) > MAX_INPUT_CHARS:
        raise InputError(
            f"That is too long to be a reference ({len(text)} characters; a reference has at"
            f" most {Endorsement.MAX_TOKEN_CHARS})."
        )
    if not text.lower().startswith(("https://", "http://")):
        return _token_shaped(text)
    try:
        url = urlsplit(text)
    except ValueError as e:
        raise InputError("That link cannot be read; paste the whole verification link.") from e
    if url.fragment:
        return _token_shaped(url.fragment)
    _, found, token = url.path.rpartition("/v/")
    if found and token and "/" not in token:
        return _token_shaped(token)
    raise InputError(
        "That link holds no reference; a verification link ends in /v#… or /v/… and the"
        " reference after it."
    )


_TOKEN_SHAPE = re.compile(r"[a-z0-9-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_NOT_A_REFERENCE = (
    "That is not a reference: a reference is one line like “endorsement-v1.…” (letters,"
    " digits, - and _ in three parts separated by dots), or a verification link."
)


def _token_shaped(text: str) -> str:
    """``text`` if it has a token's outline (three dot-separated parts of token characters);
    whether it is a well-formed token is the verification's to say (``malformed``).

    Raises:
        InputError: prose, markup or anything else that cannot be a token at all.
    """
    if _TOKEN_SHAPE.fullmatch(text) is None:
        raise InputError(_NOT_A_REFERENCE)
    return text


def parse_check_form(body: bytes) -> CheckInput:
    """The check form from an ``application/x-www-form-urlencoded`` body.

    Raises:
        InputError: not a form of the check page (unknown or repeated fields, bad encoding),
            or a field too long or empty where it must not be.
    """
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            encoding="utf-8",
            errors="strict",
            max_num_fields=len(_FIELDS),
        )
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError("The form could not be read; use the form on this page.") from e
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name not in _FIELDS or name in fields:
            raise InputError("The form could not be read; use the form on this page.")
        fields[name] = value
    subject = fields.get("subject", "").strip(_OUTER_WHITESPACE) or None
    purpose = fields.get("purpose", "").strip(_OUTER_WHITESPACE) or None
    if subject is not None and len(subject) > MAX_SUBJECT_CHARS:
        raise InputError(f"The candidate's name or e-mail may have at most {MAX_SUBJECT_CHARS}"
                         " characters.")  # fmt: skip
    if purpose is not None and len(purpose) > MAX_PURPOSE_CHARS:
        raise InputError(f"The purpose may have at most {MAX_PURPOSE_CHARS} characters.")
    return CheckInput(token_from_input(fields.get("token", "")), subject, purpose)


def verification_url(registry: str, token: str) -> str | None:
    """The canonical verification URL of ``token`` at ``registry`` (spec §11), or None when
    ``token`` is not a readable endorsement (no link is made to something unreadable)."""
    try:
        decode_unverified(token, Endorsement)
    except EndorseError:
        return None
    return f"{registry}/v#{token}"


def qr_svg(url: str, *, inline: bool) -> str | None:
    """The QR code of ``url`` as SVG made by segno alone (no text of ours inside but the
    title): inline for a page, or a standalone document for an ``<img>``; None when ``url``
    is too long for any QR code (a token near its size limit)."""
    try:
        qr = segno.make(url, error="m")
    except segno.DataOverflowError:
        return None
    title = "QR code of the verification link"
    if inline:
        return str(qr.svg_inline(scale=3, title=title, dark="#000", light="#fff"))
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=3, title=title, dark="#000", light="#fff", xmldecl=False)
    return out.getvalue().decode("utf-8")


def utc(t: int) -> str:
    """``2026-11-26 14:02 UTC``: how the pages write times (the JS writes them alike)."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))


def utc_time(t: int) -> str:
    return time.strftime("%H:%M UTC", time.gmtime(t))


@dataclass(frozen=True, slots=True)
class ResultView:
    """Everything the result view shows, as plain text (the template escapes it)."""

    verdict: str
    valid: bool
    sentence: str
    endorser: str
    subject: str
    relationship: str
    purposes: str
    validity: str
    identity: str
    status: str
    statement: str | None
    checks: tuple[str, ...]
    receipt: str
    qr_svg: str | None


_NOT_SHOWN = "Not shown: the reference could not be read or its signature did not verify."


def result_view(outcome: Outcome, registry: str) -> ResultView:
    """The facts of ``outcome`` as the pages word them; decoded claims only once the signature
    verified (spec §6.3, Result), and the endorser's name only as far as it is confirmed."""
    result = outcome.result
    e = result.endorsement
    issuer = result.issuer
    valid = result.verdict is Verdict.VALID
    url = verification_url(registry, result.token) if type(result.token) is str else None
    checks = tuple(_checks(outcome))
    if e is None:
        return ResultView(
            verdict=result.verdict.value, valid=valid, sentence=result.message,
            endorser=_NOT_SHOWN, subject=_NOT_SHOWN, relationship="", purposes="", validity="",
            identity="", status="", statement=None, checks=checks, receipt=outcome.receipt,
            qr_svg=None if url is None else qr_svg(url, inline=True),
        )  # fmt: skip
    if issuer is not None and issuer.identity is not None:
        endorser = issuer.name or e.issuer_name
        who = issuer.identity if issuer.name is None else f"{issuer.name} <{issuer.identity}>"
        identity = f"{who}, verified by e-mail code by this registry"
        if issuer.since is not None:
            identity += f", since {utc(issuer.since)}"
        if issuer.revoked_from is not None:
            identity += f"; key revoked from {utc(issuer.revoked_from)}"
    else:
        endorser = f"Unconfirmed: the reference says it is from “{e.issuer_name}”"
        identity = "Not linked to a verified identity: who gave this reference is unknown."
    sub = e.subject
    subject = sub.name + "".join(f" ({x})" for x in (sub.email, sub.handle) if x is not None)
    rel = e.relationship
    relationship = f"{rel.role} · {rel.context}"
    if rel.org is not None:
        relationship += f" · {rel.org}"
    if rel.start is not None or rel.end is not None:
        relationship += f" · {rel.start or '…'} to {rel.end or '…'}"
    status = result.status
    if result.verdict is Verdict.REVOKED and status is not None:
        status_text = f"Revoked (status list of {utc(status.issued_at)})"
    elif e.status is None:
        status_text = "Not registered with a registry: whether it was withdrawn is unknown."
    elif status is None:
        status_text = "Could not be checked: no current status list."
    elif result.verdict in (Verdict.VALID, *_AFTER_STATUS):
        status_text = (
            f"Not revoked as of {utc_time(status.issued_at)}"
            f" ({utc(status.issued_at)}; list fresh until {utc_time(status.fresh_until)})"
        )
    else:
        status_text = f"Not revoked as of {utc_time(status.issued_at)}"
    return ResultView(
        verdict=result.verdict.value,
        valid=valid,
        sentence=result.message,
        endorser=endorser,
        subject=subject,
        relationship=relationship,
        purposes=", ".join(e.purposes),
        validity=f"From {utc(e.not_before)} until {utc(e.expires)}",
        identity=identity,
        status=status_text,
        statement=e.statement,
        checks=checks,
        receipt=outcome.receipt,
        qr_svg=None if url is None else qr_svg(url, inline=True),
    )


_AFTER_STATUS = frozenset(
    {
        Verdict.NOT_YET_VALID,
        Verdict.EXPIRED,
        Verdict.SUBJECT_MISMATCH,
        Verdict.PURPOSE_NOT_ALLOWED,
        Verdict.AUDIENCE_MISMATCH,
    }
)
"""Verdicts decided after the status list was read (spec §6.3 steps 7-8)."""

_CHECK_WORDS = {
    "format": "Reference readable and in its one canonical form",
    "signature": "Signature checked by this registry",
    "issuer": "Endorser's key checked with this registry",
    "issuer_key": "Endorser's key not revoked, checked with this registry",
    "validity": "Validity window checked by this registry",
    "subject": "Candidate checked by this registry",
    "holder": "Holder's key checked by this registry",
    "purpose": "Purpose checked by this registry",
    "audience": "Audience checked by this registry",
    "status": "Revocation checked with this registry",
}


def _checks(outcome: Outcome) -> Iterable[str]:
    for check in outcome.result.checks:
        words = _CHECK_WORDS.get(check.name, check.name)
        yield f"{words}: {'passed' if check.passed else 'failed'} ({check.detail})"


class PageHeaders:
    """Pure ASGI middleware: the pages' security headers (spec §11) on every response under
    :data:`PAGE_PREFIXES`, errors included; any ``Set-Cookie`` is dropped (pages set none)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/v" or path.startswith(PAGE_PREFIXES[1:]) or path.startswith("/v/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in names and name.lower() != b"set-cookie"
                ]
                message = {**message, "headers": [*headers, *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)
