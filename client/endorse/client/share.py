"""The subject's side: share a token as a verification URL or a QR code, and present it.

The verification URL carries the token in its *fragment* (``{registry}/v#{token}``): browsers
never send a fragment to the server, so the token stays out of every server and proxy log,
and the check page verifies it in the recruiter's own browser.

>>> from endorse.protocol import SigningKey, Subject, Relationship, issue
>>> alice = SigningKey.from_seed(bytes(32))
>>> token = issue(alice, "Alice Smith", Subject("Bob Jones", email="bob@example.com"),
...               Relationship("work", "manager"), ["employment-reference"], now=1_700_000_000)
>>> url = verification_url("https://registry.example", token)
>>> url.startswith("https://registry.example/v#endorsement-v1.")
True
>>> token_from_url(url) == token
True
>>> qr_png(url)[:8]
b'\\x89PNG\\r\\n\\x1a\\n'
"""

from __future__ import annotations

import io
import os
import re
import time

import segno

from endorse.protocol import (
    EndorseError,
    Endorsement,
    InvalidArgument,
    InvalidKey,
    MalformedToken,
    Presentation,
    SigningKey,
    decode_unverified,
    sign,
    token_hash,
    verify_token,
)
from endorse.protocol.encoding import b64url_encode
from endorse.protocol.objects import check_registry
from endorse.protocol.paste import Paste, ShortLinkPaste, UnreadablePaste, read_paste

_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")

__all__ = [
    "check_challenge",
    "check_presentation",
    "new_challenge",
    "present",
    "qr_png",
    "qr_svg",
    "qr_text",
    "registry_of",
    "token_from_url",
    "verification_url",
]

VERIFY_PATH = "/v"
"""The check page's path; the token follows in the fragment."""


def verification_url(registry: str, token: str) -> str:
    """The URL a recruiter opens to check ``token``: ``{registry}/v#{token}``.

    Raises:
        MalformedToken: ``token`` is not a well-formed endorsement token.
        InvalidArgument: ``registry`` is not a registry id (https URL; http on loopback).
    """
    try:
        base = check_registry(registry, "registry")
    except MalformedToken as e:
        raise InvalidArgument(str(e)) from e
    decode_unverified(token, Endorsement)  # refuse to make a link to something unreadable
    return f"{base}{VERIFY_PATH}#{token}"


def token_from_url(text: str) -> str:
    """The token in what a person pasted: a token or a verification link of either form
    (``/v#…``, ``/v/…``), wrapped across lines, in angle brackets or quotes, followed by
    punctuation, with quoted-printable soft line breaks: read by the rule of spec §11.5
    (:func:`endorse.protocol.paste.read_paste`), which changes nothing inside the token.
    Text that cannot be read so is given back stripped, to be verified as it is (and found
    ``malformed``).

    Nothing is checked: verify the token as any other.

    Raises:
        MalformedToken: ``text`` is not a str.
    """
    if type(text) is not str:
        raise MalformedToken("a token or verification URL is text")
    try:
        read = read_paste(text)
    except UnreadablePaste:
        return text.strip()
    # A short link holds no token: it is resolved at its registry (Client.resolve_link).
    return read.token if isinstance(read, Paste) else text.strip()


def short_link_in(text: str) -> ShortLinkPaste | None:
    """The short link (spec §11.6) ``text`` is, as a person pasted it (read by spec §11.5),
    or None when it is something else: resolve it at its registry
    (:meth:`Client.resolve_link`), then verify the token as any token.

    >>> short_link_in("<https://registry.example/s#AAECAwQFBgcICQoLDA0ODw>.")
    ShortLinkPaste(id='AAECAwQFBgcICQoLDA0ODw', registry='https://registry.example')
    """
    try:
        read = read_paste(text)
    except UnreadablePaste:
        return None
    return read if isinstance(read, ShortLinkPaste) else None


def registry_of(text: str) -> str | None:
    """The registry a pasted link or token names, or None: the link's registry (spec §11.5
    step 5), else the registry of the token's ``status`` member. Nothing is verified: use it
    to choose where to verify (trusting that registry's key on first use), never as proof.

    >>> registry_of("<https://registry.example/v#endorsement-v1.e30.c2ln>")
    'https://registry.example'
    """
    try:
        read = read_paste(text)
    except UnreadablePaste:
        return None
    if read.registry is not None or isinstance(read, ShortLinkPaste):
        return read.registry
    try:
        status = decode_unverified(read.token, Endorsement).object.status
    except EndorseError:
        return None
    return None if status is None else status.registry


def _qr(url: str, error: str = "m") -> segno.QRCode:
    """Medium error correction by default: a printed or photographed image survives some
    damage. (segno still raises the level when that costs no size.)"""
    if type(url) is not str or not url:
        raise InvalidArgument("a QR code is made of a non-empty str")
    return segno.make(url, error=error, micro=False)


def qr_png(url: str, *, scale: int = 4) -> bytes:
    """A PNG image of a QR code of ``url`` (``scale`` pixels per module).

    Raises:
        InvalidArgument: ``url`` is not a non-empty str.
    """
    out = io.BytesIO()
    _qr(url).save(out, kind="png", scale=scale)
    return out.getvalue()


def qr_svg(url: str, *, scale: int = 4) -> str:
    """An SVG document of a QR code of ``url``.

    Raises:
        InvalidArgument: ``url`` is not a non-empty str.
    """
    out = io.BytesIO()
    _qr(url).save(out, kind="svg", scale=scale, xmldecl=False, svgns=True)
    return out.getvalue().decode("utf-8")


def qr_text(url: str) -> str:
    """A QR code of ``url`` for a terminal: Unicode half blocks, two modules per character
    row (segno's most compact terminal form), light modules drawn (for a dark terminal
    background), no escape sequences. Low error correction: a screen is not damaged, and
    each level up makes the code wider. A verification URL of ~880 characters is still
    109 columns wide (a terminal that narrow needs an image instead: :func:`qr_png`).

    Raises:
        InvalidArgument: ``url`` is not a non-empty str.
    """
    out = io.StringIO()
    _qr(url, error="l").terminal(out=out, compact=True)
    return out.getvalue()


CHALLENGE_RULE = "16-128 characters of A-Z a-z 0-9 - _ (make one with endorse verify --challenge)"


def new_challenge() -> str:
    """A fresh challenge for holder binding (spec §4.8): the nonce a verifier gives the
    candidate to sign with :func:`present`; 128 random bits, base64url (22 characters).

    >>> len(new_challenge()), new_challenge() != new_challenge()
    (22, True)
    """
    return b64url_encode(os.urandom(16))


def check_challenge(nonce: object) -> str:
    """``nonce`` if it can be a challenge (16-128 base64url characters).

    Raises:
        MalformedToken: anything else, with the rule in words.
    """
    if type(nonce) is not str or _NONCE.fullmatch(nonce) is None:
        raise MalformedToken(f"a challenge (nonce) is {CHALLENGE_RULE}")
    return nonce


def check_presentation(presentation: object) -> Presentation:
    """The presentation a candidate sent (as pasted: spec §11.5), decoded but NOT verified
    (verification checks its signature, key, token, challenge and age).

    Raises:
        MalformedToken: it is no presentation token, with what to ask the candidate for.
    """
    text = token_from_url(presentation) if type(presentation) is str else presentation
    try:
        return decode_unverified(text, Presentation).object
    except EndorseError as e:
        raise MalformedToken(
            f"that is not a presentation ({e}): ask the candidate for exactly what"
            " endorse present printed"
        ) from e


def present(
    subject_key: SigningKey,
    token: str,
    nonce: str,
    audience: str | None = None,
    now: int | None = None,
) -> str:
    """A presentation of ``token`` signed by the subject's key over a verifier's ``nonce``
    (holder binding, spec §4.8): proof that whoever presents the token holds the key the
    endorsement names as its subject's.

    Raises:
        InvalidKey: the endorsement names no subject key, or another one than ``subject_key``.
        MalformedToken: ``token`` is not a well-formed endorsement, ``nonce`` not 16-128
            base64url characters, or ``audience`` not of its allowed form.
        BadSignature: the token's signature does not verify (it was altered).
        InvalidArgument: ``subject_key`` is not a SigningKey, ``now`` not an int.
    """
    if type(subject_key) is not SigningKey:
        raise InvalidArgument("a presentation is signed with the subject's SigningKey")
    if now is not None and type(now) is not int:
        raise InvalidArgument("now must be Unix seconds (int) or None")
    check_challenge(nonce)
    e = verify_token(token, Endorsement).object
    if e.subject.key is None:
        raise InvalidKey("this endorsement names no subject key, so it cannot be presented")
    if e.subject.key != subject_key.did:
        raise InvalidKey("this endorsement names another subject key than the one given")
    presentation = Presentation(
        key=subject_key.did,
        token_hash=token_hash(token),
        nonce=nonce,
        issued_at=int(time.time()) if now is None else now,
        audience=audience,
    )
    return sign(presentation, subject_key)
