"""Ed25519 keys, did:key identifiers and PKCS#8 PEM (spec §2.4).

Public keys are named by ``did:key`` (multicodec ``ed25519-pub`` 0xed01, multibase base58btc
``z``) so identities export to W3C Verifiable Credentials unchanged. A public key is refused
at construction unless it is a canonical encoding of a point in the prime-order subgroup:
small-order and non-canonical keys can make a signature verify for many messages.

Signatures are made and checked by libsodium through PyNaCl, which is strict: it refuses
``S >= L`` (malleated signatures), small-order ``R`` and ``A``, and non-canonical encodings.

>>> key = SigningKey.from_seed(bytes(32))
>>> sig = key.sign(b"hello")
>>> key.public_key.verify(b"hello", sig)
>>> PublicKey.from_did(key.public_key.did) == key.public_key
True
"""

from __future__ import annotations

import functools
import os

import nacl.bindings
import nacl.exceptions
import nacl.signing
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from endorse.protocol.encoding import b58_decode, b58_encode
from endorse.protocol.errors import (
    BadSignature,
    InvalidArgument,
    InvalidKey,
    KeyFileError,
    MalformedToken,
)

DID_KEY_PREFIX = "did:key:z"
_ED25519_MULTICODEC = b"\xed\x01"
_DID_KEY_LENGTH = 56  # "did:key:z" + base58btc of 34 bytes, always 47 characters
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_PEM_BYTES = 16384
_PEM_PLAIN = b"-----BEGIN PRIVATE KEY-----"
_PEM_ENCRYPTED = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


class PublicKey:
    """A strict Ed25519 public key. Immutable, hashable, comparable by value."""

    __slots__ = ("_did", "_raw")

    def __init__(self, raw: bytes) -> None:
        if type(raw) is not bytes or len(raw) != PUBLIC_KEY_BYTES:
            raise InvalidKey(f"an Ed25519 public key is exactly {PUBLIC_KEY_BYTES} bytes")
        if not nacl.bindings.crypto_core_ed25519_is_valid_point(raw):
            raise InvalidKey("not a canonical Ed25519 point of prime order (small-order key?)")
        self._raw = raw
        self._did = DID_KEY_PREFIX + b58_encode(_ED25519_MULTICODEC + raw)

    @classmethod
    def from_did(cls, did: str) -> PublicKey:
        """Parse a ``did:key`` of an Ed25519 key.

        Raises:
            InvalidKey: not a did:key, another key type, non-canonical, or an invalid point.
        """
        # Checked before the cache, which would hash the argument (TypeError for a list).
        if type(did) is not str:
            raise InvalidKey("a key identifier is a text string starting with 'did:key:z'")
        return _public_key_from_did(did)

    @property
    def raw(self) -> bytes:
        """The 32-byte public key."""
        return self._raw

    @property
    def did(self) -> str:
        """The key's ``did:key`` identifier."""
        return self._did

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check an Ed25519 signature over ``message``; return nothing when it is good.

        Raises:
            BadSignature: message or signature are not bytes, the signature is not exactly 64
                bytes, or it does not verify.
        """
        if type(message) is not bytes or type(signature) is not bytes:
            raise BadSignature("message and signature must be bytes")
        if len(signature) != SIGNATURE_BYTES:
            raise BadSignature(f"an Ed25519 signature is exactly {SIGNATURE_BYTES} bytes")
        # libsodium's crypto_sign_open directly: what VerifyKey.verify calls, without its
        # Python layers (one frame and the encoder) on every token.
        try:
            nacl.bindings.crypto_sign_open(signature + message, self._raw)
        except nacl.exceptions.BadSignatureError as e:
            raise BadSignature("signature does not verify") from e

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"PublicKey({self._did!r})"


@functools.lru_cache(maxsize=4096)
def _public_key_from_did(did: str) -> PublicKey:
    # Cached: verifying many tokens from few issuers should parse each did:key once. Only
    # ever called with a str (PublicKey.from_did checks), so the cache can hash it.
    if not did.startswith(DID_KEY_PREFIX):
        raise InvalidKey("a key identifier must start with 'did:key:z'")
    if len(did) != _DID_KEY_LENGTH:
        raise InvalidKey(f"an Ed25519 did:key is exactly {_DID_KEY_LENGTH} characters")
    try:
        decoded = b58_decode(did[len(DID_KEY_PREFIX) :], what="did:key")
    except MalformedToken as e:
        raise InvalidKey(str(e)) from e
    if len(decoded) != 34 or decoded[:2] != _ED25519_MULTICODEC:
        raise InvalidKey("did:key is not an Ed25519 public key (multicodec 0xed01)")
    key = PublicKey(decoded[2:])
    if key.did != did:
        raise InvalidKey("non-canonical did:key encoding")
    return key


class SigningKey:
    """An Ed25519 private key. Its seed never appears in ``repr`` or error messages."""

    __slots__ = ("_public", "_signing_key")

    def __init__(self, seed: bytes) -> None:
        if type(seed) is not bytes or len(seed) != 32:
            raise InvalidKey("an Ed25519 private key seed is exactly 32 bytes")
        self._signing_key = nacl.signing.SigningKey(seed)
        self._public = PublicKey(bytes(self._signing_key.verify_key))

    @classmethod
    def generate(cls) -> SigningKey:
        """A new key from the operating system's random source."""
        return cls(os.urandom(32))

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """A key from a 32-byte seed (RFC 8032 private key)."""
        return cls(seed)

    @property
    def public_key(self) -> PublicKey:
        return self._public

    @property
    def did(self) -> str:
        return self._public.did

    def seed(self) -> bytes:
        """The 32-byte private seed. Handle with care."""
        return bytes(self._signing_key)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``.

        Raises:
            InvalidArgument: ``message`` is not bytes.
        """
        if type(message) is not bytes:
            raise InvalidArgument("the message to sign must be bytes")
        return self._signing_key.sign(message).signature

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given.

        Raises:
            KeyFileError: the passphrase is not bytes, or is empty (it would protect nothing).
        """
        _check_passphrase(passphrase)
        private = ed25519.Ed25519PrivateKey.from_private_bytes(self.seed())
        encryption: serialization.KeySerializationEncryption = (
            serialization.NoEncryption()
            if passphrase is None
            else serialization.BestAvailableEncryption(passphrase)
        )
        try:
            return private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
            )
        except ValueError as e:  # pragma: no cover - refused by the checks above
            raise KeyFileError("the key cannot be written with this passphrase") from e

    @classmethod
    def from_pem(cls, data: bytes, passphrase: bytes | None = None) -> SigningKey:
        """Load a PKCS#8 PEM Ed25519 private key.

        Whether the key is encrypted is read from its PEM header (``ENCRYPTED PRIVATE KEY``).
        Messages never contain the passphrase.

        Raises:
            KeyFileError: ``data`` or the passphrase are not bytes, the passphrase is empty,
                not a PKCS#8 PEM key, not Ed25519, encrypted without a passphrase given,
                unencrypted with one given, or the passphrase is wrong.
        """
        if type(data) is not bytes:
            raise KeyFileError("the content of a key file must be bytes")
        _check_passphrase(passphrase)
        if len(data) > MAX_PEM_BYTES:
            raise KeyFileError("key file is too large to be an Ed25519 PEM key")
        encrypted = _PEM_ENCRYPTED in data
        if encrypted and passphrase is None:
            raise KeyFileError("the key file is encrypted: a passphrase is needed")
        if not encrypted:
            if _PEM_PLAIN not in data:
                raise KeyFileError("not a PKCS#8 PEM private key (no BEGIN PRIVATE KEY line)")
            if passphrase is not None:
                raise KeyFileError("the key file is not encrypted, but a passphrase was given")
        try:
            private = serialization.load_pem_private_key(data, password=passphrase)
        except (TypeError, ValueError, UnsupportedAlgorithm) as e:
            raise KeyFileError(
                "wrong passphrase, or a damaged encrypted key file"
                if encrypted
                else "not a readable PKCS#8 PEM key"
            ) from e
        if not isinstance(private, ed25519.Ed25519PrivateKey):
            raise KeyFileError("the key file does not hold an Ed25519 key")
        return cls(
            private.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        )

    def __repr__(self) -> str:
        return f"SigningKey(public={self._public.did!r})"


def _check_passphrase(passphrase: bytes | None) -> None:
    if passphrase is None:
        return
    if type(passphrase) is not bytes:
        raise KeyFileError("a passphrase must be bytes (encode text as UTF-8)")
    # An empty passphrase is almost always a mistake (an unset variable, an empty prompt);
    # treating it as "no encryption" would silently write the key in the clear.
    if not passphrase:
        raise KeyFileError("an empty passphrase is not allowed; omit it for an unencrypted key")
