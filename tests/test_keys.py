"""Keys: did:key round trips, strict refusal of bad keys, PKCS#8 PEM."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from endorse.protocol import (
    BadSignature,
    InvalidKey,
    KeyFileError,
    PublicKey,
    SigningKey,
    TrustedIssuer,
)
from endorse.protocol.encoding import b58_encode

# An Ed25519 point of order 8 (the identity is order 1): its signatures prove nothing.
SMALL_ORDER_POINTS = [
    bytes(32),
    (1).to_bytes(32, "little"),
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
]


@given(st.binary(min_size=32, max_size=32))
def test_did_key_round_trip(seed: bytes) -> None:
    key = SigningKey.from_seed(seed)
    did = key.did
    assert did.startswith("did:key:z6Mk") and len(did) == 56
    assert PublicKey.from_did(did) == key.public_key


def test_rfc8032_test1_did_matches_multicodec() -> None:
    # RFC 8032 §7.1 TEST 1 key; did:key = "z" + base58btc(0xed 0x01 || pk)
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    pk = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    key = SigningKey.from_seed(seed)
    assert key.public_key.raw == pk
    assert key.did == "did:key:z" + b58_encode(b"\xed\x01" + pk)


@pytest.mark.parametrize("raw", SMALL_ORDER_POINTS, ids=["zero", "identity", "order8"])
def test_small_order_public_key_refused(raw: bytes) -> None:
    with pytest.raises(InvalidKey):
        PublicKey(raw)
    with pytest.raises(InvalidKey):
        PublicKey.from_did("did:key:z" + b58_encode(b"\xed\x01" + raw))


BAD_DIDS = {
    "other_method": "did:web:example.com",
    "base64_multibase": "did:key:m6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
    "truncated": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW",
    "non_base58_char": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0",
    "other_multicodec": "did:key:z" + b58_encode(b"\x12\x00" + bytes(32)),
    "non_canonical_point": "did:key:z" + b58_encode(b"\xed\x01" + b"\xff" * 32),
    "empty": "",
}


@pytest.mark.parametrize("did", list(BAD_DIDS.values()), ids=list(BAD_DIDS))
def test_bad_did_refused(did: str) -> None:
    with pytest.raises(InvalidKey):
        PublicKey.from_did(did)


@pytest.mark.parametrize("did", [["x"], {}, b"did:key:z", None, 5], ids=repr)
def test_non_text_did_refused_before_the_cache(did: object) -> None:
    # The did:key parser is cached; the cache would hash a list (TypeError) before any check.
    with pytest.raises(InvalidKey):
        PublicKey.from_did(did)  # type: ignore[arg-type]
    with pytest.raises(InvalidKey):
        TrustedIssuer.pinned(did)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message", "signature"),
    [("m", bytes(64)), (b"m", "a" * 64), (b"m", 5), (None, bytes(64)), (b"m", bytearray(64))],
    ids=["message_text", "signature_text", "signature_int", "message_none", "bytearray"],
)
def test_verify_of_non_bytes_is_bad_signature(message: object, signature: object) -> None:
    key = SigningKey.generate()
    with pytest.raises(BadSignature):
        key.public_key.verify(message, signature)  # type: ignore[arg-type]


def test_wrong_lengths_refused() -> None:
    with pytest.raises(InvalidKey):
        PublicKey(bytes(31))
    with pytest.raises(InvalidKey):
        SigningKey(bytes(33))
    key = SigningKey.generate()
    with pytest.raises(BadSignature):
        key.public_key.verify(b"m", key.sign(b"m")[:63])


def test_repr_does_not_leak_seed() -> None:
    seed = bytes(range(32))
    key = SigningKey.from_seed(seed)
    text = repr(key) + str(key)
    for form in (
        seed.hex(),
        seed.hex().upper(),
        repr(seed),
        str(list(seed)),
        base64.b64encode(seed).decode(),
        base64.urlsafe_b64encode(seed).decode().rstrip("="),
        b58_encode(seed),
    ):
        assert form not in text, form
    assert key.did in repr(key)


SECRET = b"correct horse battery staple"


@pytest.mark.parametrize(
    "call",
    [
        lambda k: SigningKey.from_pem(k.to_pem(SECRET), SECRET + b"!"),  # wrong passphrase
        lambda k: SigningKey.from_pem(k.to_pem(), SECRET),  # not encrypted
        lambda k: SigningKey.from_pem(b"garbage " + SECRET, SECRET),
        lambda k: SigningKey.from_pem(k.to_pem(SECRET), SECRET.decode()),  # text passphrase
        lambda k: SigningKey.from_pem(k.to_pem(SECRET).decode(), SECRET),  # text PEM
        lambda k: k.to_pem(SECRET.decode()),
        lambda k: SigningKey.from_pem(k.to_pem(SECRET)[:200], SECRET),  # damaged
    ],
    ids=[
        "wrong_passphrase",
        "unencrypted",
        "garbage",
        "text_passphrase",
        "text_pem",
        "to_pem_text_passphrase",
        "damaged",
    ],
)
def test_key_file_errors_never_contain_the_passphrase(call: Any) -> None:
    with pytest.raises(KeyFileError) as info:
        call(SigningKey.generate())
    text = str(info.value) + repr(info.value)
    assert SECRET.decode() not in text and "horse" not in text


def test_pem_encryption_is_read_from_the_header() -> None:
    key = SigningKey.generate()
    with pytest.raises(KeyFileError, match="encrypted: a passphrase is needed"):
        SigningKey.from_pem(key.to_pem(b"pw"))
    with pytest.raises(KeyFileError, match="not encrypted, but a passphrase was given"):
        SigningKey.from_pem(key.to_pem(), b"pw")
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        SigningKey.from_pem(key.to_pem(b"pw"), b"px")
    # Text instead of bytes is a type error of the caller, not "the key is encrypted".
    with pytest.raises(KeyFileError, match="must be bytes") as info:
        SigningKey.from_pem(key.to_pem().decode())  # type: ignore[arg-type]
    assert "encrypted" not in str(info.value)
    with pytest.raises(KeyFileError, match="must be bytes"):
        SigningKey.from_pem(key.to_pem(b"pw"), "pw")  # type: ignore[arg-type]
    with pytest.raises(KeyFileError, match="must be bytes"):
        SigningKey.from_pem(5)  # type: ignore[arg-type]
    with pytest.raises(KeyFileError, match="must be bytes"):
        key.to_pem("pw")  # type: ignore[arg-type]
    with pytest.raises(KeyFileError, match="not a PKCS#8"):
        SigningKey.from_pem(b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")


def test_pem_round_trip_plain_and_encrypted() -> None:
    key = SigningKey.generate()
    plain = key.to_pem()
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert SigningKey.from_pem(plain).did == key.did
    enc = key.to_pem(b"correct horse")
    assert enc.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert SigningKey.from_pem(enc, b"correct horse").did == key.did
    with pytest.raises(KeyFileError, match="passphrase"):
        SigningKey.from_pem(enc)
    with pytest.raises(KeyFileError):
        SigningKey.from_pem(enc, b"wrong")
    with pytest.raises(KeyFileError):
        SigningKey.from_pem(b"not a key")
    with pytest.raises(KeyFileError):
        SigningKey.from_pem(b"x" * 20000)


def test_pem_of_other_algorithm_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyFileError, match="Ed25519"):
        SigningKey.from_pem(pem)
