"""Signed requests: how a key holder authenticates a call to a registry (spec §10).

No passwords and no bearer secrets: the endorser's key signs each request. The signed message
is the context ``b"endorse/v1/request\\0"`` followed by the canonical JSON of::

    {"reg": registry id, "key": did:key, "m": HTTP method, "p": path with query,
     "t": Unix seconds, "n": nonce, "b": base64url(SHA-256(body))}

so a signature is bound to one registry, one method, one path, one body and one moment; the
registry refuses timestamps outside its window and nonces it has seen (replays).

>>> from endorse.protocol.keys import SigningKey
>>> key = SigningKey.from_seed(bytes(32))
>>> h = sign_request(key, "https://registry.example", "POST", "/api/v1/x", b"{}", now=1_700_000_000,
...                  nonce="AAAAAAAAAAAAAAAAAAAAAA")
>>> verify_request("https://registry.example", "POST", "/api/v1/x", b"{}", h, now=1_700_000_010).did
'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp'
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from endorse.protocol import canonical
from endorse.protocol.encoding import b64url_decode, b64url_encode
from endorse.protocol.errors import InvalidArgument, InvalidKey, MalformedToken
from endorse.protocol.keys import PublicKey, SigningKey

REQUEST_CONTEXT = b"endorse/v1/request\0"
REQUEST_MAX_SKEW = 300
"""Seconds a request's timestamp may differ from the registry's clock."""

HEADER_KEY = "Endorse-Key"
HEADER_TIME = "Endorse-Timestamp"
HEADER_NONCE = "Endorse-Nonce"
HEADER_SIGNATURE = "Endorse-Signature"

_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_UNIX_SECONDS = re.compile(r"0|[1-9][0-9]{0,15}")  # one spelling: no sign, no leading zeros
_PATH = re.compile(r"/[\x21-\x7e]{0,2047}")
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH"})


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request whose signature verified: who signed it, when, and with which nonce."""

    did: str
    timestamp: int
    nonce: str


def new_nonce() -> str:
    """16 random bytes, base64url: a request nonce."""
    return b64url_encode(os.urandom(16))


def request_message(
    registry: str, did: str, method: str, path: str, body: bytes, timestamp: int, nonce: str
) -> bytes:
    """The exact bytes a request signature covers.

    Raises:
        MalformedToken: a method, path, body, timestamp or nonce outside its allowed form.
        InvalidArgument: ``registry`` or ``did`` is not a str.
    """
    if type(registry) is not str or type(did) is not str:
        raise InvalidArgument("request registry and did:key must be str")
    if type(method) is not str or method not in _METHODS:
        raise MalformedToken(f"request method {str(method)[:10]!r} is not signable")
    if type(path) is not str or _PATH.fullmatch(path) is None:
        raise MalformedToken("request path must be printable ASCII starting with '/'")
    if type(body) is not bytes:
        raise MalformedToken("request body must be bytes")
    if type(nonce) is not str or _NONCE.fullmatch(nonce) is None:
        raise MalformedToken("request nonce must be 16-64 base64url characters")
    if type(timestamp) is not int or not 0 <= timestamp <= canonical.MAX_SAFE_INTEGER:
        raise MalformedToken("request timestamp must be a non-negative integer")
    digest = b64url_encode(hashlib.sha256(body).digest())
    return REQUEST_CONTEXT + canonical.encode(
        {
            "reg": registry,
            "key": did,
            "m": method,
            "p": path,
            "t": timestamp,
            "n": nonce,
            "b": digest,
        }
    )


def sign_request(
    key: SigningKey,
    registry: str,
    method: str,
    path: str,
    body: bytes,
    *,
    now: int,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that authenticate ``method path body`` as sent by ``key`` at ``now``.

    Raises:
        MalformedToken: see :func:`request_message`.
        InvalidArgument: ``key`` is not a SigningKey, or ``registry`` not a str.
    """
    if type(key) is not SigningKey:
        raise InvalidArgument("a request is signed with a SigningKey")
    nonce = new_nonce() if nonce is None else nonce
    message = request_message(registry, key.did, method, path, body, now, nonce)
    return {
        HEADER_KEY: key.did,
        HEADER_TIME: str(now),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: b64url_encode(key.sign(message)),
    }


def verify_request(
    registry: str,
    method: str,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: int,
    max_skew: int = REQUEST_MAX_SKEW,
) -> SignedRequest:
    """Check a signed request's headers; the caller must then refuse a nonce seen before.

    ``Endorse-Timestamp`` is decimal Unix seconds in one spelling: ASCII digits, no sign, no
    leading zeros.

    Raises:
        MalformedToken: a header is missing, not text or malformed; the timestamp is out of
            window; method, path or body are not of their form (str, str, bytes).
        BadSignature: the signature does not verify for the named key.
        InvalidArgument: ``registry`` is not a str, ``headers`` not a mapping, or ``now`` and
            ``max_skew`` not ints.
    """
    if type(registry) is not str or type(now) is not int or type(max_skew) is not int:
        raise InvalidArgument("verify_request: registry must be a str, now and max_skew ints")
    if not isinstance(headers, Mapping):
        raise InvalidArgument("verify_request: headers must be a mapping")
    try:
        did = headers[HEADER_KEY]
        time_text = headers[HEADER_TIME]
        nonce = headers[HEADER_NONCE]
        signature_text = headers[HEADER_SIGNATURE]
    except KeyError as e:
        raise MalformedToken(f"signed request: missing header {e.args[0]}") from e
    if (
        type(did) is not str
        or type(time_text) is not str
        or type(nonce) is not str
        or type(signature_text) is not str
    ):
        raise MalformedToken("signed request: header values must be text")
    if _UNIX_SECONDS.fullmatch(time_text) is None:
        raise MalformedToken(
            f"signed request: {HEADER_TIME} must be Unix seconds (digits, no leading zeros)"
        )
    timestamp = int(time_text)
    if abs(now - timestamp) > max_skew:
        raise MalformedToken(
            f"signed request: {HEADER_TIME} is more than {max_skew} s from the registry's clock"
        )
    try:
        key = PublicKey.from_did(did)
    except InvalidKey as e:
        raise MalformedToken(f"signed request: {HEADER_KEY}: {e}") from e
    if len(signature_text) != 86:
        raise MalformedToken(f"signed request: {HEADER_SIGNATURE} must be 86 base64url characters")
    signature = b64url_decode(signature_text, what=HEADER_SIGNATURE)
    key.verify(request_message(registry, did, method, path, body, timestamp, nonce), signature)
    return SignedRequest(did, timestamp, nonce)


ROTATION_CONSENT_CONTEXT = b"endorse/v1/rotation-consent\0"


def rotation_consent_message(rotation_token: str) -> bytes:
    """What a successor key signs to consent to a key rotation (spec §10.1).

    ``b"endorse/v1/rotation-consent\\0" || SHA-256(rotation token as UTF-8)``: the context keeps
    this signature from ever verifying as anything else, and the hash binds it to one rotation.

    Raises:
        MalformedToken: ``rotation_token`` is not text.
    """
    if type(rotation_token) is not str:
        raise MalformedToken("a rotation token is text")
    digest = hashlib.sha256(rotation_token.encode("utf-8", "surrogatepass")).digest()
    return ROTATION_CONSENT_CONTEXT + digest


def sign_rotation_consent(successor: SigningKey, rotation_token: str) -> str:
    """The successor's consent to ``rotation_token``, base64url (``successor_proof``)."""
    return b64url_encode(successor.sign(rotation_consent_message(rotation_token)))
