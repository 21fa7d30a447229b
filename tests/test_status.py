"""Status lists: bit order, compression bounds, W3C interoperability, signatures."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
from _vectors import third_party
from helpers import MALLORY, REGISTRY, REGISTRY_KEY, status_list
from hypothesis import given
from hypothesis import strategies as st

from endorse.protocol import (
    MIN_SIZE,
    BadSignature,
    Bitstring,
    InvalidArgument,
    MalformedToken,
    StatusList,
    sign,
    verify_status_list,
)
from endorse.protocol.encoding import b64url_encode


@given(st.sets(st.integers(0, MIN_SIZE - 1), max_size=50))
def test_set_get_round_trip(indexes: set[int]) -> None:
    bits = Bitstring(MIN_SIZE)
    for i in indexes:
        bits.set(i)
    decoded = Bitstring.decode(bits.encode(), MIN_SIZE)
    assert decoded.count() == len(indexes)
    assert all(decoded.get(i) for i in indexes)


def test_bit_order_is_msb_first() -> None:
    bits = Bitstring(MIN_SIZE)
    bits.set(0)
    bits.set(9)
    assert bits.to_bytes()[:2] == b"\x80\x40"
    bits.set(0, False)
    assert bits.to_bytes()[0] == 0


@pytest.mark.parametrize("index", [-1, MIN_SIZE, True, 2**64])
def test_index_out_of_range(index: int) -> None:
    with pytest.raises(MalformedToken):
        Bitstring(MIN_SIZE).get(index)


@pytest.mark.parametrize("size", [0, MIN_SIZE - 8, MIN_SIZE + 1, 2**24 + 8])
def test_size_limits(size: int) -> None:
    with pytest.raises(MalformedToken):
        Bitstring(size)


W3C_DECODED = {"w3c-spec-example"}
"""W3C and digitalbazaar lists of at least 131072 entries: decoded, bits compared."""
W3C_REFUSED = {
    "digitalbazaar-100k-empty",
    "digitalbazaar-100k-index50000-set",
    "digitalbazaar-mock-credential-legacy-bit-order",
}
"""Lists of 100000 entries: below the herd-privacy minimum, refused as the W3C validate
algorithm says (STATUS_LIST_LENGTH_ERROR); their bits are still checked for bit order."""


def test_w3c_vectors_decode() -> None:
    path = third_party("bitstring-status-list", "encoded_lists.json")
    cases = {case["id"]: case for case in json.loads(path.read_text())["cases"]}
    assert set(cases) == W3C_DECODED | W3C_REFUSED
    for case_id, case in cases.items():
        expected = case["expected"]
        encoded = case["encodedList"]
        assert encoded.startswith("u")  # multibase prefix of base64url in the W3C format
        if case_id in W3C_REFUSED:
            assert expected["bitLength"] < MIN_SIZE, case_id
            with pytest.raises(MalformedToken, match="size"):
                Bitstring.decode(encoded[1:], expected["bitLength"])
            # The bit order still holds: pad the inflated bytes to the minimum size.
            raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=="))
            bits = Bitstring(MIN_SIZE, raw + bytes(MIN_SIZE // 8 - len(raw)))
        else:
            bits = Bitstring.decode(encoded[1:], expected["bitLength"])
        assert [i for i in range(bits.size) if bits.get(i)] == expected["setBitIndices"], case_id
        for index, value in expected.get("statusAt", {}).items():
            assert bits.get(int(index)) == bool(value), (case_id, index)


@pytest.mark.parametrize("value", [1, 0, "yes", None], ids=repr)
def test_set_requires_a_bool(value: object) -> None:
    bits = Bitstring(MIN_SIZE)
    with pytest.raises(InvalidArgument):
        bits.set(3, value)  # type: ignore[arg-type]
    assert bits.count() == 0


@pytest.mark.parametrize("size", [float(MIN_SIZE), str(MIN_SIZE), None, True], ids=repr)
def test_size_must_be_an_int(size: object) -> None:
    with pytest.raises(InvalidArgument):
        Bitstring(size)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        Bitstring.decode(Bitstring(MIN_SIZE).encode(), size)  # type: ignore[arg-type]


@pytest.mark.parametrize("encoded", [b"AAAA", 5, None, ["AAAA"]], ids=repr)
def test_decode_of_non_text_is_malformed(encoded: object) -> None:
    with pytest.raises(MalformedToken):
        Bitstring.decode(encoded, MIN_SIZE)  # type: ignore[arg-type]


def test_zip_bomb_refused() -> None:
    # 16 MiB of zeros compresses to ~16 KiB; declared size 131072 bits = 16 KiB.
    bomb = b64url_encode(gzip.compress(bytes(16 * 1024 * 1024)))
    with pytest.raises(MalformedToken, match="beyond"):
        Bitstring.decode(bomb, MIN_SIZE)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (gzip.compress(bytes(MIN_SIZE // 8 - 1)), "short_by_one_byte"),
        (gzip.compress(bytes(MIN_SIZE // 8))[:-4], "truncated_stream"),
        (gzip.compress(bytes(MIN_SIZE // 8)) + b"\0", "trailing_garbage"),
        (gzip.compress(bytes(MIN_SIZE // 8)) * 2, "two_members"),
        (b"not gzip at all", "not_gzip"),
        (base64.b64decode("eJwDAAAAAAE="), "zlib_not_gzip"),
    ],
)
def test_bad_compressed_bits(data: bytes, name: str) -> None:
    with pytest.raises(MalformedToken):
        Bitstring.decode(b64url_encode(data), MIN_SIZE)


def test_signed_status_list_round_trip() -> None:
    lst = status_list((3, 99_999))
    assert lst.is_revoked(3) and lst.is_revoked(99_999) and not lst.is_revoked(4)
    assert lst.fresh_until == lst.issued_at + lst.max_age


def test_status_list_by_other_key_or_registry_refused() -> None:
    obj = StatusList(REGISTRY, "list-1", 0, 300, Bitstring(MIN_SIZE)).to_token_object()
    forged = sign(obj, MALLORY)
    with pytest.raises(BadSignature):
        verify_status_list(forged, REGISTRY_KEY.public_key, REGISTRY)
    genuine = sign(obj, REGISTRY_KEY)
    with pytest.raises(MalformedToken, match="registry"):
        verify_status_list(genuine, REGISTRY_KEY.public_key, "https://other.example")
