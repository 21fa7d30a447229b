"""Strict base64url (RFC 4648 §5, no padding) and base58btc, each with one accepted form.

The base64url decoder refuses anything that would not re-encode to the same text: padding,
characters outside the alphabet and non-zero trailing bits. base58btc has exactly one spelling
per byte string by construction (each leading ``1`` is a leading zero byte, the rest is the
big-endian number without leading zero digits), so its decoder needs no canonical-form check;
it refuses characters outside the alphabet and over-long input. Fixed lengths (a did:key's 34
bytes) are checked by the callers.
"""

from __future__ import annotations

import base64

import msgspec

from endorse.protocol.errors import MalformedToken, NonCanonicalEncoding

_URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64_VALUES = {c: i for i, c in enumerate(_URL_ALPHABET)}
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING = ("", "", "==", "=")
_UNUSED_BITS = (0, 0, 0b1111, 0b11)
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, what: str = "base64url") -> bytes:
    """Decode canonical unpadded base64url.

    Raises:
        MalformedToken: characters outside the alphabet, padding, or an impossible length.
        NonCanonicalEncoding: non-zero bits after the last full byte (a second spelling).
    """
    if type(text) is not str:
        raise MalformedToken(f"{what}: base64url must be text")
    rest = len(text) % 4
    if rest == 1:
        raise MalformedToken(f"{what}: impossible base64url length {len(text)}")
    try:
        # Map the URL alphabet onto the standard one and the standard-only characters (and
        # "=") onto "!", which the decoder refuses. msgspec decodes standard base64 (length a
        # multiple of 4, padding only at the end, nothing outside the alphabet) about three
        # times as fast as binascii.a2b_base64 in strict mode.
        data = msgspec.convert(
            text.encode("ascii").translate(_TO_STANDARD).decode("ascii") + _PADDING[rest],
            bytes,
        )
    except (msgspec.ValidationError, ValueError) as e:  # UnicodeEncodeError is a ValueError
        raise MalformedToken(
            f"{what}: characters outside the base64url alphabet (or padding)"
        ) from e
    # The last character of a 2- or 3-character group carries 4 or 2 unused bits; they must
    # be zero, or a second spelling of the same bytes would be accepted.
    if rest and _B64_VALUES[text[-1]] & _UNUSED_BITS[rest]:
        raise NonCanonicalEncoding(f"{what}: non-canonical base64url (non-zero trailing bits)")
    return data


def b58_encode(data: bytes) -> str:
    """Encode bytes as base58btc (Bitcoin alphabet), leading zero bytes as '1'."""
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_B58_ALPHABET[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def b58_decode(text: str, *, what: str = "base58btc", max_chars: int = 128) -> bytes:
    """Decode base58btc, refusing foreign characters and over-long input.

    Raises:
        MalformedToken: not text, empty, too long, or characters outside the alphabet.
    """
    if type(text) is not str:
        raise MalformedToken(f"{what}: base58btc must be text")
    if not text or len(text) > max_chars:
        raise MalformedToken(f"{what}: length must be 1..{max_chars} characters")
    n = 0
    for c in text:
        digit = _B58_INDEX.get(c)
        if digit is None:
            raise MalformedToken(f"{what}: character {c!r} outside the base58btc alphabet")
        n = n * 58 + digit
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * pad + body
