"""Keys: did:key round trips, strict refusal of bad keys, PKCS#8 PEM."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from endorse.protocol import BadSignature, InvalidKey, KeyFileError, PublicKey, SigningKey
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


@pytest.mark.parametrize(
    ("did", "why"),
    [
        ("did:web:example.com", "other_method"),
        ("did:key:m6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "base64_multibase"),
        ("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW", "truncated"),
        ("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0", "non_base58_char"),
        ("did:key:z" + b58_encode(b"\x12\x00" + bytes(32)), "other_multicodec"),
        ("did:key:z" + b58_encode(b"\xed\x01" + b"\xff" * 32), "non_canonical_point"),
        ("", "empty"),
    ],
)
def test_bad_did_refused(did: str, why: str) -> None:
    with pytest.raises(InvalidKey):
        PublicKey.from_did(did)


def test_wrong_lengths_refused() -> None:
    with pytest.raises(InvalidKey):
        PublicKey(bytes(31))
    with pytest.raises(InvalidKey):
        SigningKey(bytes(33))
    key = SigningKey.generate()
    with pytest.raises(BadSignature):
        key.public_key.verify(b"m", key.sign(b"m")[:63])


def test_repr_does_not_leak_seed() -> None:
    key = SigningKey.from_seed(b"\x07" * 32)
    assert (b"\x07" * 32).hex() not in repr(key)
    assert key.did in repr(key)


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
