"""The recruiter pages' server side: reading the check form, and the result a page shows.

The verdict is always the verification service's (:mod:`endorse.server.verification`); this
module only turns an :class:`~endorse.server.verification.Outcome` into the facts a page shows
(:class:`ResultView`), reads what a recruiter typed or pasted (:func:`parse_check_form`,
:func:`token_from_input`), draws the QR code of a verification URL (spec §11; blocking,
tens to hundreds of milliseconds of CPU: callers run :func:`cached_qr` in a worker thread)
and sets the headers every page and static file carries (:class:`PageHeaders`).

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
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
import segno
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from endorse.protocol import (
    PURPOSES,
    EndorseError,
    Endorsement,
    StatusList,
    TrustedIssuer,
    Verdict,
    VerificationResult,
    check_purpose,
    decode_unverified,
)
from endorse.protocol.findings import NOT_CHECKED_SENTENCES, findings
from endorse.protocol.paste import ShortLinkPaste, UnreadablePaste, read_paste
from endorse.protocol.vc import CredentialResult
from endorse.server.verification import LRU, Outcome

PAGE_PREFIXES = ("/v", "/check", "/static/", "/api/v1/qr")
"""Paths that are pages, their static files, or serve them (``/v`` also covers ``/v/…``;
``/r`` and ``/s``, the requester's page and the short link's, are matched exactly, with
``/s/…``)."""

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
MAX_CREDENTIAL_BYTES = 16 * 1024
"""What the paste box takes as a pasted credential (spec §13; an exported one is ~2 KiB)."""
MAX_SUBJECT_CHARS = 256
MAX_PURPOSE_CHARS = 64
MAX_AUDIENCE_CHARS = 256
"""As ``POST /api/v1/verify`` bounds them (``VerifyRequest``)."""
_FIELDS = frozenset({"token", "subject", "purpose", "purpose_other", "audience"})
_OUTER_WHITESPACE = " \t\r\n"
OTHER_PURPOSE = "other"
"""The purpose menu's choice for a purpose of the endorser's own (``x-…``), typed in
``purpose_other``."""
PURPOSE_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (p, p.replace("-", " ").capitalize()) for p in sorted(PURPOSES)
)
"""The purpose menu: the protocol's defined purposes (value, label), read from the protocol."""
BUSY = "The registry is busy: try again in a minute."
DAMAGED_LINK = (
    "This link is damaged: a verification link holds one token after /v/ (or after /v#)."
    " Ask the candidate for the link again, or paste what they sent into the check page."
)
DAMAGED_SHORT_LINK = (
    "This short link is damaged: a short link holds its id after /s# (never after /s/)."
    " Ask whoever sent it for the link again, or for the full verification link."
)
RECEIPT_HINT = (
    "This registry's signed record of this check: which reference (by a fingerprint of it),"
    " the verdict and when. It does not record the candidate or purpose you entered. Keep it"
    " if you may need to show that this check was made."
)
"""What a receipt proves (spec §4.9), and no more; the script words it alike."""


@dataclass(frozen=True, slots=True)
class CheckForm:
    """The check form as typed, to show it again (escaped) with the result or an error."""

    token: str = ""
    subject: str = ""
    purpose: str = ""
    purpose_other: str = ""
    audience: str = ""


class InputError(Exception):
    """What the recruiter entered cannot be checked; ``message`` says why, for a person.
    ``form`` is what was typed, when the form could be read at all."""

    def __init__(self, message: str, status: int = 400, form: CheckForm | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.form = form


@dataclass(frozen=True, slots=True)
class CheckInput:
    """The check form, read: the token (extracted from a link if one was pasted) and the
    recruiter's expectations, None when left empty."""

    token: str
    subject: str | None
    purpose: str | None
    audience: str | None = None
    """Who the recruiter is, for a reference given for a named recipient (spec §6.3 step
    8d): as the endorser wrote it, e.g. the recruiter's e-mail address."""
    credential: bytes | None = None
    """A pasted endorsement credential (spec §13) as UTF-8 JSON; ``token`` is then empty."""
    short_link: ShortLinkPaste | None = None
    """A pasted short link (spec §11.6), to resolve; ``token`` is then empty."""


def token_from_input(text: str) -> str:
    """The token in what was pasted: a token, or a verification URL in either form, read by
    the rule every front end applies (spec §11.5, :func:`endorse.protocol.paste.read_paste`):
    what mail and chat add around and inside it is taken off, nothing of the token is
    changed (a damaged token is checked as it is, and is malformed).

    Raises:
        InputError: the text is empty, too long, no token, or a link that carries none.
    """
    # Wrapping and quoting add a few characters per line; twice a token is room enough.
    if len(text) > 2 * MAX_INPUT_CHARS:
        raise InputError(_too_long(len(text)))
    read = token_or_short_link(text)
    if isinstance(read, ShortLinkPaste):
        raise InputError(_NOT_A_REFERENCE)
    return read


def token_or_short_link(text: str) -> str | ShortLinkPaste:
    """As :func:`token_from_input`, but a short link (spec §11.6) is read too, and given back
    for the caller to resolve at the registry it names.

    Raises:
        InputError: as :func:`token_from_input`.
    """
    if len(text) > 2 * MAX_INPUT_CHARS:
        raise InputError(_too_long(len(text)))
    try:
        read = read_paste(text)
    except UnreadablePaste as e:
        if len(text) > MAX_INPUT_CHARS:  # a long paste of no token: its length is the news
            raise InputError(_too_long(len(text))) from e
        raise InputError(_PASTE_WORDS.get(e.reason, _NOT_A_REFERENCE)) from e
    if isinstance(read, ShortLinkPaste):
        return read
    if len(read.token) > MAX_INPUT_CHARS:
        raise InputError(_too_long(len(read.token)))
    return read.token


def _too_long(n: int) -> str:
    return (
        f"That is too long to be a reference ({n} characters; a reference has at"
        f" most {Endorsement.MAX_TOKEN_CHARS})."
    )


_NOT_A_REFERENCE = (
    "That is not a reference: a reference is one line like “endorsement-v1.…” (letters,"
    " digits, - and _ in three parts separated by dots), or a verification link."
)
_PASTE_WORDS = {
    "empty": "Paste a reference token or a verification link.",
    "no_token_in_link": "That link holds no reference; a verification link ends in /v#… or"
    " /v/… and the reference after it.",
    "not_a_registry": "That link is not a registry's: a verification link starts with https://"
    " (http only on this computer).",
    "damaged_link_token": "That link's reference is damaged: a reference is letters, digits,"
    " - and _ in three parts separated by dots. Paste the whole link again.",
    "damaged_short_link": "That short link is damaged: its id is 22 letters, digits, - and _"
    " after /s#. Paste the whole link again.",
}
"""What the page says for each reason a paste cannot be read (``not_a_token``: the default)."""


def parse_check_form(body: bytes) -> tuple[CheckForm, CheckInput]:
    """The check form from an ``application/x-www-form-urlencoded`` body: as typed, and read.

    The purpose is one of the menu's (:data:`PURPOSE_CHOICES`), none, or ``other`` with a
    purpose of the endorser's own in ``purpose_other``; anything that is not a purpose
    identifier is an input error, not a verification (it could only be
    ``purpose_not_allowed``, blaming the reference for a typing slip).

    Raises:
        InputError: not a form of the check page (unknown or repeated fields, bad encoding),
            or a field too long, empty where it must not be, or not a purpose.
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
    form = CheckForm(**fields)
    subject = form.subject.strip(_OUTER_WHITESPACE) or None
    if subject is not None and len(subject) > MAX_SUBJECT_CHARS:
        raise InputError(
            f"The candidate's name or e-mail may have at most {MAX_SUBJECT_CHARS} characters.",
            form=form,
        )
    audience = form.audience.strip(_OUTER_WHITESPACE) or None
    if audience is not None and len(audience) > MAX_AUDIENCE_CHARS:
        raise InputError(
            f"Who you are (the recipient) may have at most {MAX_AUDIENCE_CHARS} characters.",
            form=form,
        )
    try:
        purpose = _purpose(form)
        pasted = form.token.strip(_OUTER_WHITESPACE)
        if pasted.startswith("{"):
            return form, CheckInput("", subject, purpose, audience, credential_from_input(pasted))
        read = token_or_short_link(form.token)
        if isinstance(read, ShortLinkPaste):
            return form, CheckInput("", subject, purpose, audience, short_link=read)
        return form, CheckInput(read, subject, purpose, audience)
    except InputError as e:
        raise InputError(e.message, e.status, form) from None


def credential_from_input(text: str) -> bytes:
    """A pasted JSON endorsement credential (spec §13), as UTF-8, once it is at most
    :data:`MAX_CREDENTIAL_BYTES` of JSON naming the ``EndorsementCredential`` type. Whether it
    is a well-formed one (exact members, defined terms) is the verification's to say
    (``malformed``).

    Raises:
        InputError: too large, not JSON, or JSON that is no endorsement credential.
    """
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > MAX_CREDENTIAL_BYTES:
        raise InputError(
            f"That is too large to be a credential ({len(data)} bytes; an endorsement"
            f" credential has at most {MAX_CREDENTIAL_BYTES // 1024} KiB). Paste only the"
            " credential."
        )
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise InputError(
            "That starts like a credential but is not valid JSON: paste the whole file that"
            " “endorse export --vc” wrote, unchanged."
        ) from None
    kinds = document.get("type") if type(document) is dict else None
    if type(kinds) is not list or "EndorsementCredential" not in kinds:
        raise InputError(
            "That JSON is not an endorsement credential: one has “type”:"
            " [“VerifiableCredential”, “EndorsementCredential”]. Paste a reference token, a"
            " verification link or an exported credential."
        )
    return data


def _purpose(form: CheckForm) -> str | None:
    """The purpose chosen: None for any, a defined one, or a well-formed ``x-`` one."""
    if form.purpose == OTHER_PURPOSE:
        other = form.purpose_other.strip(_OUTER_WHITESPACE)
        if not other:
            raise InputError("Type the purpose you chose “Other” for, e.g. x-board-reference.")
        if len(other) > MAX_PURPOSE_CHARS:
            raise InputError(f"The purpose may have at most {MAX_PURPOSE_CHARS} characters.")
        try:
            return check_purpose(other)
        except EndorseError:
            raise InputError(
                "A purpose of your own is written like x-board-reference: “x-”, then lowercase"
                " letters and digits in words joined by “-”. For an employment, tenancy,"
                " academic, volunteer or character reference, choose it in the list."
            ) from None
    if not form.purpose:
        return None
    if form.purpose not in PURPOSES:
        raise InputError("Choose the purpose in the list.")
    return form.purpose


def verification_url(registry: str, token: str) -> str | None:
    """The canonical verification URL of ``token`` at ``registry`` (spec §11), or None when
    ``token`` is not a readable endorsement (no link is made to something unreadable)."""
    try:
        decode_unverified(token, Endorsement)
    except EndorseError:
        return None
    return f"{registry}/v#{token}"


_QR_CACHE: LRU[tuple[str, bool], str] = LRU(64, max_weight=4 * 1024 * 1024, weigh=len)
"""Drawn QR codes by (URL, inline); "" for a URL too long for one. Small: a valid
reference's page is reloaded and shared, and an attacker cycling tokens hits the rate limit."""


def cached_qr(url: str, *, inline: bool) -> str | None:
    """:func:`qr_svg`, from :data:`_QR_CACHE` when drawn before. Blocking: for a worker thread."""
    found = _QR_CACHE.get((url, inline))
    if found is None:
        found = qr_svg(url, inline=inline) or ""
        _QR_CACHE.put((url, inline), found)
    return found or None


def qr_cached(url: str, *, inline: bool) -> bool:
    """Whether :func:`cached_qr` would answer without drawing (a drawing counts against the
    client's QR rate limit, a cached one does not)."""
    return _QR_CACHE.get((url, inline)) is not None


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


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def utc(t: int) -> str:
    """``14:02 UTC, 26 Nov 2026``: how the pages write every time (the script writes them
    alike). Month names are spelled here, not by the locale, so the two views always agree.

    >>> utc(1795664717)
    '03:45 UTC, 26 Nov 2026'
    """
    g = time.gmtime(t)
    return f"{g.tm_hour:02d}:{g.tm_min:02d} UTC, {g.tm_mday} {_MONTHS[g.tm_mon - 1]} {g.tm_year}"


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One line of "what was checked, and where": the protocol's step name (``data-check``),
    whether it passed, and the sentence a recruiter reads."""

    name: str
    passed: bool
    text: str


@dataclass(frozen=True, slots=True)
class RefusalView:
    """What a refusal shows (spec §11.4), as plain text: who signed it as they named themself,
    for whom and what, when, and the signer's identity as far as this registry confirmed it.
    The coded reason is not shown: the reader may be the candidate, told no more than that
    no reference is given."""

    referee: str
    subject: str
    purpose: str
    validity: str
    identity: str
    kind: str


@dataclass(frozen=True, slots=True)
class ResultView:
    """Everything the result view shows, as plain text (the template escapes it).

    ``facts`` is False when the token's claims are withheld (no verified signature: whatever
    they say is attacker text); ``withheld`` then says why. An empty field is a row not shown.
    ``qr_svg`` is drawn for valid references only: a QR code invites sharing the reference.
    ``refusal`` is set for a refusal whose signature verified (its rows replace the facts).
    """

    verdict: str
    valid: bool
    sentence: str
    facts: bool
    withheld: str
    facts_note: str
    endorser: str
    subject: str
    relationship: str
    purposes: str
    validity: str
    identity: str
    status: str
    statement: str | None
    checks: tuple[CheckLine, ...]
    receipt: str
    qr_svg: str | None
    qr_missing: str
    refusal: RefusalView | None = None
    receipt_missing: str = ""
    """Why there is no receipt (a pasted credential); empty when there is one."""
    name_warning: str = ""
    contact: str = ""
    not_compared: tuple[str, ...] = ()


WITHHELD = {
    Verdict.BAD_SIGNATURE: (
        "What this reference says is not shown: its signature does not match, so anyone could"
        " have written it."
    ),
    Verdict.MALFORMED: "What this reference says is not shown: it could not be read.",
}
"""Why the claims are not shown, for the verdicts reached before the signature verified."""
UNCONFIRMED_NOTE = (
    "Signed with a key that is not linked to a verified person: everything below is what the"
    " reference claims, unconfirmed."
)
REFUSAL_UNCONFIRMED_NOTE = (
    "Signed with a key that is not linked to a verified person: everything below is what the"
    " refusal claims, unconfirmed."
)
QR_TOO_LONG = "No QR code: this reference's link is too long for one."
QR_BUSY = "No QR code: this registry is busy drawing them; reload the page in a minute."


def result_view(outcome: Outcome, qr: str | None = None, qr_missing: str = "") -> ResultView:
    """The facts of ``outcome`` as the pages word them; decoded claims only once the signature
    verified (spec §6.3, Result), and the endorser's name only as far as it is confirmed.

    ``qr`` is the valid reference's QR code (inline SVG) drawn by the caller, or None and
    ``qr_missing`` saying why there is none; ignored unless the verdict is ``valid``.
    """
    result = outcome.result
    e = result.endorsement
    issuer = result.issuer
    valid = result.verdict is Verdict.VALID
    checks = tuple(_checks(outcome))
    if not valid:
        qr, qr_missing = None, ""
    elif qr is not None:
        qr_missing = ""
    else:
        qr_missing = qr_missing or QR_TOO_LONG
    if result.refusal is not None:
        return _refusal_result(outcome, checks)
    if e is None:
        withheld = WITHHELD.get(
            result.verdict, "What this reference says is not shown: it could not be checked."
        )
        return ResultView(
            verdict=result.verdict.value,
            valid=valid,
            sentence=result.message,
            facts=False,
            withheld=withheld,
            facts_note="",
            endorser="",
            subject="",
            relationship="",
            purposes="",
            validity="",
            identity="",
            status="",
            statement=None,
            checks=checks,
            receipt=outcome.receipt,
            qr_svg=qr,
            qr_missing=qr_missing,
        )
    facts_note = ""
    if issuer is not None and issuer.identity is not None:
        endorser = issuer.name or e.issuer_name
        identity = _identity_text(issuer, "endorser")
    else:
        endorser = f"Unconfirmed: the reference says it is from “{e.issuer_name}”"
        identity = "Not linked to a verified identity: who gave this reference is unknown."
        facts_note = UNCONFIRMED_NOTE
    sub = e.subject
    subject = sub.name + "".join(f" ({x})" for x in (sub.email, sub.handle) if x is not None)
    rel = e.relationship
    relationship = f"{rel.role} · {rel.context}"
    if rel.org is not None:
        relationship += f" · {rel.org}"
    if rel.start is not None or rel.end is not None:
        relationship += f" · {rel.start or '…'} to {rel.end or '…'}"
    found = findings(result)
    if rel.org is not None and issuer is not None and issuer.identity is not None:
        relationship += f" (their verified e-mail is at {issuer.identity.rpartition('@')[2]})"
    return ResultView(
        verdict=result.verdict.value,
        valid=valid,
        sentence=result.message,
        facts=True,
        withheld="",
        facts_note=facts_note,
        endorser=endorser,
        subject=subject,
        relationship=relationship,
        purposes=", ".join(e.purposes),
        validity=f"{utc(e.not_before)} to {utc(e.expires)}",
        identity=identity,
        status=_status_text(result.verdict, e, result.status),
        statement=e.statement,
        checks=checks,
        receipt=outcome.receipt,
        qr_svg=qr,
        qr_missing=qr_missing,
        name_warning="" if found.name_mismatch is None else name_warning(*found.name_mismatch),
        contact=CONTACT[e.contact],
        not_compared=tuple(NOT_CHECKED_SENTENCES[n] for n in found.not_checked),
    )


def name_warning(signed: str, verified: str) -> str:
    """The warning for an endorser who signed another name than the one verified (spec §6.5;
    the script words it alike)."""
    return (
        f"The endorser signed as “{signed}”, but this registry verified their key as"
        f" “{verified}”: only the verified name is confirmed."
    )


CONTACT = {
    True: "Yes: the endorser agrees to be contacted about this reference",
    False: "No: the endorser has not agreed to be contacted",
}
"""The "May be contacted" row (the script words it alike)."""


def _identity_text(issuer: TrustedIssuer, role: str) -> str:
    """The signer's identity as this registry confirmed it (the script words it alike)."""
    who = issuer.identity if issuer.name is None else f"{issuer.name} <{issuer.identity}>"
    identity = f"{who}, e-mail address confirmed by this registry"
    if issuer.since is not None:
        identity += f" at {utc(issuer.since)}"
    if issuer.revoked_from is not None:
        identity += f"; the {role} revoked this key at {utc(issuer.revoked_from)}"
    return identity


def _refusal_result(outcome: Outcome, checks: tuple[CheckLine, ...]) -> ResultView:
    """The view of a refusal whose signature verified (spec §11.4): never valid, never a
    forgery; its sentence is the protocol's, its rows the refusal's."""
    result = outcome.result
    r = result.refusal
    assert r is not None
    issuer = result.issuer
    confirmed = issuer is not None and issuer.identity is not None
    if issuer is not None and confirmed:
        referee = issuer.name or r.issuer_name
        identity = _identity_text(issuer, "referee")
    else:
        referee = f"Unconfirmed: the refusal says it is from “{r.issuer_name}”"
        identity = "Not linked to a verified identity: who signed this refusal is unknown."
    sub = r.subject
    view = RefusalView(
        referee=referee,
        subject=sub.name + "".join(f" ({x})" for x in (sub.email, sub.handle) if x is not None),
        purpose=r.purpose or "Every purpose",
        validity=f"{utc(r.issued_at)} to {utc(r.expires)}",
        identity=identity,
        kind="Made in advance, for anyone who asks"
        if r.request is None
        else "An answer to a request made through this registry",
    )
    return ResultView(
        verdict=result.verdict.value,
        valid=False,
        sentence=result.message,
        facts=False,
        withheld="",
        facts_note="" if confirmed else REFUSAL_UNCONFIRMED_NOTE,
        endorser="",
        subject="",
        relationship="",
        purposes="",
        validity="",
        identity="",
        status="",
        statement=None,
        checks=checks,
        receipt=outcome.receipt,
        qr_svg=None,
        qr_missing="",
        refusal=view,
    )


NO_CREDENTIAL_RECEIPT = (
    "No signed receipt: a receipt records a reference token by its fingerprint (spec §4.9),"
    " and a credential is not a token. To keep a receipt, check the reference token the"
    " credential was exported from."
)
CREDENTIAL_PROOF_NOTE = (
    "Pasted as a credential: its proof (eddsa-jcs-2022) was checked by this registry only, not"
    " by your browser."
)
CREDENTIAL_WITHHELD = {
    Verdict.BAD_SIGNATURE: (
        "What this credential says is not shown: its proof does not match, so anyone could"
        " have written it."
    ),
    Verdict.MALFORMED: (
        "What this credential says is not shown: it could not be read as an endorsement credential."
    ),
}


def credential_view(result: CredentialResult) -> ResultView:
    """The facts of a pasted credential's verification (spec §13.5), worded as a token's:
    its claims only once its proof verified, the endorser's name only as far as confirmed,
    and no receipt (:data:`NO_CREDENTIAL_RECEIPT`)."""
    c = result.credential
    valid = result.verdict is Verdict.VALID
    checks = tuple(
        CheckLine(x.name, x.passed, _credential_check_text(x.name, x.passed, result))
        for x in result.checks
    )
    if c is None:
        return ResultView(
            verdict=result.verdict.value,
            valid=valid,
            sentence=result.message,
            facts=False,
            withheld=CREDENTIAL_WITHHELD.get(
                result.verdict, "What this credential says is not shown: it could not be checked."
            ),
            facts_note=CREDENTIAL_PROOF_NOTE,
            endorser="",
            subject="",
            relationship="",
            purposes="",
            validity="",
            identity="",
            status="",
            statement=None,
            checks=checks,
            receipt="",
            qr_svg=None,
            qr_missing="",
            receipt_missing=NO_CREDENTIAL_RECEIPT,
        )
    issuer = result.issuer
    note = CREDENTIAL_PROOF_NOTE
    if issuer is not None and issuer.identity is not None:
        endorser = issuer.name or c.issuer.name
        identity = _identity_text(issuer, "endorser")
    else:
        endorser = f"Unconfirmed: the credential says it is from “{c.issuer.name}”"
        identity = "Not linked to a verified identity: who gave this reference is unknown."
        note = f"{note} {UNCONFIRMED_NOTE}"
    s = c.subject
    relationship = f"{s.role} · {s.context}"
    if s.organization is not None:
        relationship += f" · {s.organization}"
    if s.start is not None or s.end is not None:
        relationship += f" · {s.start or '…'} to {s.end or '…'}"
    status = result.status
    if result.verdict is Verdict.REVOKED:
        status_text = "Revoked: the endorser has withdrawn it."
        if status is not None:
            status_text = (
                f"Revoked: the endorser has withdrawn it, as this registry's list of"
                f" {utc(status.issued_at)} shows."
            )
    elif status is not None:
        status_text = f"Not revoked as of {utc(status.issued_at)}"
    elif result.verdict in _BEFORE_STATUS:
        status_text = "Not checked: the credential failed an earlier check."
    else:
        status_text = "Could not be checked: this registry had no up-to-date list."
    return ResultView(
        verdict=result.verdict.value,
        valid=valid,
        sentence=result.message,
        facts=True,
        withheld="",
        facts_note=note,
        endorser=endorser,
        subject=s.name,
        relationship=relationship,
        purposes=", ".join(s.purposes),
        validity=f"{utc(c.not_before)} to {utc(c.expires)}",
        identity=identity,
        status=status_text,
        statement=s.comment,
        checks=checks,
        receipt="",
        qr_svg=None,
        qr_missing="",
        receipt_missing=NO_CREDENTIAL_RECEIPT,
    )


def _validity_text(passed: bool, verdict: Verdict, window: tuple[int, int] | None) -> str:
    """The dates line of a result, the same for a token and a credential; ``window`` is the
    object's (not before, expires), when it could be read."""
    if passed:
        found = "in force now"
    elif window is not None and verdict is Verdict.NOT_YET_VALID:
        found = f"not in force until {utc(window[0])}"
    elif window is not None and verdict is Verdict.EXPIRED:
        found = f"expired at {utc(window[1])}"
    else:
        found = "not in force now"
    return f"Dates checked by this registry: {found}"


def _credential_check_text(name: str, passed: bool, result: CredentialResult) -> str:
    """A credential's registry check in plain words: a token's, where the step is the same."""
    c = result.credential
    if name == "format":
        found = (
            "complete and readable"
            if passed
            else "damaged, incomplete, or with a member the credential format does not define"
        )
        return f"Credential read by this registry: {found}"
    if name == "signature":
        found = "genuine" if passed else "does not match, so it was altered or forged"
        return f"Proof (eddsa-jcs-2022) checked by this registry only: {found}"
    if name == "issuer":
        found = "e-mail address confirmed" if passed else "not linked to a verified person"
        return f"Endorser's identity checked with this registry: {found}"
    if name == "issuer_key":
        found = "not revoked" if passed else "revoked, so no credential signed with it counts"
        return f"Endorser's key checked with this registry: {found}"
    if name == "validity":
        window = None if c is None else (c.not_before, c.expires)
        return _validity_text(passed, result.verdict, window)
    if name == "status":
        if result.verdict is Verdict.REVOKED:
            found = "revoked by the endorser"
        else:
            found = "not revoked" if passed else "no up-to-date list available"
        return f"Revocation checked with this registry: {found}"
    words = _CHECK_WORDS.get(name)
    if words is None:
        return f"Checked by this registry: {name.replace('_', ' ')} {_PASSED[passed]}"
    return f"{words[0]}: {words[1 if passed else 2]}"


_BEFORE_STATUS = frozenset({Verdict.UNKNOWN_ISSUER, Verdict.ISSUER_KEY_REVOKED})
"""Verdicts reached before the status list is read (spec §6.3 steps 4-5)."""


def _status_text(verdict: Verdict, e: Endorsement, status: StatusList | None) -> str:
    """The status row: revoked or not and as of when, said once (the script words it alike)."""
    if verdict is Verdict.REVOKED:
        if status is None:
            return "Revoked: the endorser has withdrawn it."
        return (
            f"Revoked: the endorser has withdrawn it, as this registry's list of"
            f" {utc(status.issued_at)} shows."
        )
    if e.status is None:
        return "Not registered with a registry: whether it was withdrawn cannot be known."
    if status is not None:
        return f"Not revoked as of {utc(status.issued_at)}"
    if verdict in _BEFORE_STATUS:
        return "Not checked: the reference failed an earlier check."
    return "Could not be checked: this registry had no up-to-date list."


def _checks(outcome: Outcome) -> Iterable[CheckLine]:
    result = outcome.result
    for check in result.checks:
        yield CheckLine(check.name, check.passed, _check_text(check.name, check.passed, result))


def _check_text(name: str, passed: bool, result: VerificationResult) -> str:
    """A registry check in plain words (the script words the registry's checks alike; the
    protocol's terse ``detail`` stays in the JSON answer and the receipt's verdict)."""
    if result.refusal is not None:
        words = _REFUSAL_CHECK_WORDS.get(name)
        if words is not None:
            return f"{words[0]}: {words[1 if passed else 2]}"
    e = result.endorsement
    if name == "format":
        found = "complete and readable" if passed else "damaged, incomplete or not a reference"
        return f"Reference read by this registry: {found}"
    if name == "signature":
        found = "genuine" if passed else "does not match, so it was altered or forged"
        return f"Signature checked by this registry: {found}"
    if name == "issuer":
        found = "e-mail address confirmed" if passed else "not linked to a verified person"
        return f"Endorser's identity checked with this registry: {found}"
    if name == "issuer_key":
        issuer = result.issuer
        if passed and issuer is not None and issuer.revoked_from is not None:
            found = "revoked later, and this reference was recorded before that"
        elif passed:
            found = "not revoked"
        else:
            found = "revoked, and this reference was not recorded before that"
        return f"Endorser's key checked with this registry: {found}"
    if name == "validity":
        window = None if e is None else (e.not_before, e.expires)
        return _validity_text(passed, result.verdict, window)
    if name == "status":
        if result.verdict is Verdict.REVOKED:
            found = "revoked by the endorser"
        elif e is not None and e.status is None:
            found = "not possible, the reference is not registered"
        else:
            found = "not revoked" if passed else "no up-to-date list available"
        return f"Revocation checked with this registry: {found}"
    words = _CHECK_WORDS.get(name)
    if words is None:
        return f"Checked by this registry: {name.replace('_', ' ')} {_PASSED[passed]}"
    return f"{words[0]}: {words[1 if passed else 2]}"


_PASSED = {True: "passed", False: "failed"}
_CHECK_WORDS = {
    "subject": (
        "Candidate checked by this registry",
        "the reference names them",
        "the reference names someone else",
    ),
    "holder": (
        "Candidate's own key checked by this registry",
        "they presented the reference",
        "someone else presented the reference",
    ),
    "purpose": (
        "Purpose checked by this registry",
        "agreed by the endorser",
        "not agreed by the endorser",
    ),
    "audience": (
        "Recipient checked by this registry",
        "given for this check",
        "given for someone else",
    ),
}
"""The scope checks (spec §6.3 step 8): what was checked, and what passing or failing means."""
_REFUSAL_CHECK_WORDS = {
    "format": (
        "Refusal read by this registry",
        "complete and readable",
        "damaged, incomplete or not a refusal",
    ),
    "issuer": (
        "Referee's identity checked with this registry",
        "e-mail address confirmed",
        "not linked to a verified person",
    ),
    "issuer_key": (
        "Referee's key checked with this registry",
        "not revoked",
        "revoked, so no refusal signed with it counts",
    ),
    "validity": ("Dates checked by this registry", "in force now", "not in force now"),
    "subject": (
        "Candidate checked by this registry",
        "the refusal names them",
        "the refusal names someone else",
    ),
    "purpose": (
        "Purpose checked by this registry",
        "the refusal covers it",
        "the refusal is for another purpose",
    ),
}
"""A refusal's checks (spec §6.4) in plain words; its signature is worded as a reference's."""


class PageHeaders:
    """Pure ASGI middleware: the pages' security headers (spec §11) on every response under
    :data:`PAGE_PREFIXES`, errors included; any ``Set-Cookie`` is dropped (pages set none)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (
            path in ("/v", "/r", "/s")
            or path.startswith(PAGE_PREFIXES[1:])
            or path.startswith(("/v/", "/s/"))
        ):
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
