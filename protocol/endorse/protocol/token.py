"""The compact token form and signing contexts (spec §3).

A token is three dot-separated parts, all URL- and QR-safe::

    <type>-v1 . base64url(payload) . base64url(signature)

The signature is Ed25519 over ``signing_context(type) || payload`` where the context is
``b"endorse/v1/" + type + b"\\0"``: a signature made for one type never verifies as another,
and the NUL ends the type name so no context is a prefix of another. The payload is the
canonical JSON (spec §2.2) of the object, whose ``type`` member must agree with the prefix.

>>> from endorse.protocol.keys import SigningKey
>>> from endorse.protocol.objects import KeyRotation
>>> old, new = SigningKey.from_seed(bytes(32)), SigningKey.from_seed(bytes(31) + b"\\1")
>>> token = sign(KeyRotation(old.did, new.did, 1_700_000_000), old)
>>> token.startswith("key-rotation-v1.")
True
>>> verify_token(token, KeyRotation).object.successor == new.did
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Generic, TypeVar

from endorse.protocol import canonical
from endorse.protocol.encoding import b64url_decode, b64url_encode
from endorse.protocol.errors import (
    BadSignature,
    InvalidArgument,
    InvalidKey,
    MalformedToken,
    WrongTokenType,
)
from endorse.protocol.keys import PublicKey, SigningKey, _public_key_from_did
from endorse.protocol.objects import OBJECT_TYPES, SignedObject

T = TypeVar("T", bound=SignedObject)

VERSION_SUFFIX = "-v1"
_SIGNATURE_CHARS = 86  # 64 bytes in unpadded base64url
_PREFIXES = {t + VERSION_SUFFIX: cls for t, cls in OBJECT_TYPES.items()}
# Keyed by id(): a lookup never calls a foreign __eq__ or __hash__, whatever the argument.
_LIMITS = {id(cls): cls.MAX_TOKEN_CHARS for cls in OBJECT_TYPES.values()}
_MAX_ANY_TOKEN = max(cls.MAX_TOKEN_CHARS for cls in OBJECT_TYPES.values())
_CONTEXTS = {t: b"endorse/v1/" + t.encode("ascii") + b"\0" for t in OBJECT_TYPES}


def signing_context(type_name: str) -> bytes:
    """The bytes that precede the payload in the signed message of ``type_name``.

    Raises:
        MalformedToken: not the name of an object type of protocol v1.
    """
    context = _CONTEXTS.get(type_name) if type(type_name) is str else None
    if context is None:
        raise MalformedToken(f"unknown object type {str(type_name)[:40]!r}")
    return context


def token_hash(token: str) -> str:
    """SHA-256 of the token's text (UTF-8; any valid token is ASCII), base64url.

    How receipts, registrations and presentations name a token. Never raises for a str, so
    even a malformed token can be named.

    Raises:
        MalformedToken: ``token`` is not a str.
    """
    if type(token) is not str:
        raise MalformedToken("a token is a text string")
    return b64url_encode(hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest())


@dataclass(frozen=True, slots=True)
class Unverified(Generic[T]):
    """A decoded token whose signature has NOT been checked. Do not trust ``object``."""

    token: str
    object: T
    payload: bytes
    signature: bytes

    @property
    def signed_message(self) -> bytes:
        """The exact bytes the signature must cover: context, then payload."""
        return _CONTEXTS[self.object.TYPE] + self.payload


@dataclass(frozen=True, slots=True)
class Verified(Generic[T]):
    """A token whose signature verified under ``signer``; ``object`` is what was signed.

    For endorser-signed types ``signer`` is whoever the object names (``iss``, ``by``,
    ``key``): the signature shows that key signed, not that it was allowed to. Who may sign
    a revocation or key revocation is checked by :func:`~endorse.protocol.verify_revocation`
    and :func:`~endorse.protocol.verify_key_revocation`.
    """

    token: str
    object: T
    payload: bytes
    signer: PublicKey


def sign(obj: SignedObject, key: SigningKey) -> str:
    """Encode, check and sign ``obj``; return the compact token.

    The payload is re-read with the same strict reader verifiers use, and what it reads must
    equal ``obj``: nothing can be signed that a verifier would refuse as malformed, nor
    anything other than ``obj`` (msgspec would write a wrongly typed value, bytes say, as
    something else). Objects built in code get their type and limit checks here.

    Raises:
        MalformedToken: the object breaks a rule of spec §4, or holds values of the wrong
            type.
        InvalidKey: the object names a signer and ``key`` is not it.
        InvalidArgument: ``obj`` is not a protocol object, or ``key`` not a SigningKey.
    """
    cls = type(obj)
    if id(cls) not in _LIMITS:
        raise InvalidArgument("only the protocol's object types can be signed")
    if type(key) is not SigningKey:
        raise InvalidArgument("a token is signed with a SigningKey")
    payload = canonical.encode(obj.to_payload())
    read = cls._read(canonical.decode(payload, max_bytes=len(payload)))
    try:
        same = read == obj
    except Exception:  # a foreign value whose == raises is a wrong type too
        same = False
    if not same:
        raise MalformedToken(
            f"{obj.TYPE}: holds values of the wrong type (what would be signed differs)"
        )
    if obj.signer is not None and obj.signer != key.did:
        raise InvalidKey(f"this {obj.TYPE} must be signed by {obj.signer}, not {key.did}")
    token = ".".join(
        (
            obj.TYPE + VERSION_SUFFIX,
            b64url_encode(payload),
            b64url_encode(key.sign(_CONTEXTS[obj.TYPE] + payload)),
        )
    )
    if len(token) > obj.MAX_TOKEN_CHARS:
        raise MalformedToken(f"{obj.TYPE}: token exceeds {obj.MAX_TOKEN_CHARS} characters")
    return token


def _split(
    token: object, expected: type[SignedObject] | None
) -> tuple[type[SignedObject], str, str]:
    if expected is None:
        limit = _MAX_ANY_TOKEN
    else:
        found = _LIMITS.get(id(expected))
        if found is None:
            raise InvalidArgument("the expected type must be one of the protocol's object types")
        limit = found
    if type(token) is not str:
        raise MalformedToken("a token is a text string")
    if len(token) > limit:
        raise MalformedToken(f"token longer than {limit} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("a token has exactly three dot-separated parts")
    prefix, payload, signature = parts
    cls = _PREFIXES.get(prefix)
    if cls is None:
        raise MalformedToken(f"unknown token type or version {prefix[:40]!r}")
    if expected is not None and cls is not expected:
        raise WrongTokenType(f"expected a token of type {expected.TYPE!r}, got {cls.TYPE!r}")
    if len(token) > cls.MAX_TOKEN_CHARS:
        raise MalformedToken(f"{cls.TYPE} token longer than {cls.MAX_TOKEN_CHARS} characters")
    if len(signature) != _SIGNATURE_CHARS:
        raise MalformedToken(f"signature must be {_SIGNATURE_CHARS} base64url characters")
    return cls, payload, signature


def _open(token: object, expected: type[T] | None) -> tuple[T, bytes, bytes]:
    # The decoding steps of every token: the object (signature NOT checked), payload and
    # signature. verify_endorsement calls this directly, without the Unverified wrapper.
    cls, payload_text, signature_text = _split(token, expected)
    payload = b64url_decode(payload_text, what="payload")
    signature = b64url_decode(signature_text, what="signature")
    data = canonical.decode_for_schema(payload, max_bytes=cls.MAX_TOKEN_CHARS)
    # The payload is canonical JSON now, where a null member value is always written ":null":
    # without those bytes there is no null to look for.
    obj = cls._read(data, may_hold_null=b":null" in payload)
    return obj, payload, signature  # type: ignore[return-value]


def _decode(token: object, expected: type[T] | None) -> Unverified[T]:
    obj, payload, signature = _open(token, expected)
    return Unverified(token, obj, payload, signature)  # type: ignore[arg-type]


def inspect(token: object) -> Unverified[SignedObject]:
    """Decode a token of any type WITHOUT checking its signature.

    For display and debugging only: nothing in the result is trustworthy.

    Raises:
        MalformedToken: the token is not a well-formed protocol v1 object.
    """
    return _decode(token, None)


def decode_unverified(token: object, expected: type[T]) -> Unverified[T]:
    """Decode a token of type ``expected`` WITHOUT checking its signature.

    Raises:
        WrongTokenType: a well-formed token of another type.
        MalformedToken: any other defect.
        InvalidArgument: ``expected`` is not one of the protocol's object types.
    """
    return _decode(token, expected)


def check_signature(unverified: Unverified[T], key: PublicKey | None = None) -> Verified[T]:
    """Check the signature of a decoded token.

    ``key`` is the registry's key for registry-signed types; for the others the signer is
    whoever the object names (``iss``, ``by``, ``key``) and ``key``, when given, must equal
    it. This shows who signed, not that they were allowed to: for revocations and key
    revocations use :func:`~endorse.protocol.verify_revocation` and
    :func:`~endorse.protocol.verify_key_revocation`, which also check the signer may sign.

    Raises:
        BadSignature: the signature does not verify, or the signer is not ``key``.
        InvalidKey: a registry-signed type and no ``key``.
        MalformedToken: the object names a signer that is not a valid key.
        InvalidArgument: ``unverified`` is not an Unverified, or ``key`` not a PublicKey.
    """
    if type(unverified) is not Unverified:
        raise InvalidArgument("check_signature needs an Unverified from decode_unverified")
    if key is not None and type(key) is not PublicKey:
        raise InvalidArgument("the key to verify with must be a PublicKey")
    obj, payload = unverified.object, unverified.payload
    signer = _check_signed(obj, payload, unverified.signature, key)
    return Verified(unverified.token, obj, payload, signer)


def _check_signed(
    obj: SignedObject, payload: bytes, signature: bytes, key: PublicKey | None
) -> PublicKey:
    # check_signature's work once its arguments are known to be of the right types; returns
    # the key that signed. verify_endorsement calls this directly.
    named = obj.signer
    if named is None:
        if key is None:
            raise InvalidKey(f"a {obj.TYPE} is verified with the registry's key")
        signer = key
    else:
        try:
            signer = _public_key_from_did(named)  # objects checked their did:keys are str
        except InvalidKey as e:  # pragma: no cover - objects check their did:keys
            raise MalformedToken(str(e)) from e
        if key is not None and key != signer:
            raise BadSignature(f"signed by {named}, expected {key.did}")
    signer.verify(_CONTEXTS[obj.TYPE] + payload, signature)
    return signer


def verify_token(token: object, expected: type[T], key: PublicKey | None = None) -> Verified[T]:
    """Decode a token of type ``expected`` and check its signature (see :func:`check_signature`).

    For endorser-signed types the signer is whoever the object names; whether it may sign is
    not checked here (see :func:`check_signature`).

    Raises:
        MalformedToken: the token is not well-formed (:class:`WrongTokenType` for another type).
        BadSignature: the signature does not verify.
        InvalidKey: a registry-signed type and no ``key``.
        InvalidArgument: ``expected`` is not an object type, or ``key`` not a PublicKey.
    """
    return check_signature(decode_unverified(token, expected), key)


__all__ = [
    "Unverified",
    "Verified",
    "check_signature",
    "decode_unverified",
    "inspect",
    "sign",
    "signing_context",
    "token_hash",
    "verify_token",
]
