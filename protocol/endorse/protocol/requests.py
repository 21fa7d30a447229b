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
from endorse.protocol.errors import InvalidKey, MalformedToken
from endorse.protocol.keys import PublicKey, SigningKey

REQUEST_CONTEXT = b"endorse/v1/request\0"
REQUEST_MAX_SKEW = 300
"""Seconds a request's timestamp may differ from the registry's clock."""

HEADER_KEY = "Endorse-Key"
HEADER_TIME = "Endorse-Timestamp"
HEADER_NONCE = "Endorse-Nonce"
HEADER_SIGNATURE = "Endorse-Signature"

_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
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
        MalformedToken: a method, path, timestamp or nonce outside its allowed form.
    """
    if method not in _METHODS:
        raise MalformedToken(f"request method {method[:10]!r} is not signable")
    if _PATH.fullmatch(path) is None:
        raise MalformedToken("request path must be printable ASCII starting with '/'")
    if _NONCE.fullmatch(nonce) is None:
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
    """The headers that authenticate ``method path body`` as sent by ``key`` at ``now``."""
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

    Raises:
        MalformedToken: a header is missing or malformed, or the timestamp is out of window.
        BadSignature: the signature does not verify for the named key.
    """
    try:
        did = headers[HEADER_KEY]
        time_text = headers[HEADER_TIME]
        nonce = headers[HEADER_NONCE]
        signature_text = headers[HEADER_SIGNATURE]
    except KeyError as e:
        raise MalformedToken(f"signed request: missing header {e.args[0]}") from e
    if not (time_text.isascii() and time_text.isdigit() and len(time_text) <= 16):
        raise MalformedToken(f"signed request: {HEADER_TIME} must be Unix seconds")
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
