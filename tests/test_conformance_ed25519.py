"""Ed25519 conformance against third-party vectors (RFC 8032, Wycheproof, speccheck, CCTV).

Our rule (spec §2.4, ``endorse.protocol.keys``):

* ``PublicKey(raw)`` refuses (``InvalidKey``) any key that is not the canonical encoding of a
  point in the prime-order subgroup: small-order keys, keys with a torsion ("mixed") component
  and non-canonical encodings never become a ``PublicKey``.
* ``PublicKey.verify`` is strict libsodium verification: cofactorless equation, ``S >= L``
  rejected, small-order ``R`` rejected, non-canonical ``R`` rejected (``BadSignature``).

Under that rule an edge-case vector is *accepted* only if it is an ordinary signature.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import nacl.exceptions
import nacl.signing
import pytest
from _vectors import third_party

from endorse.protocol.errors import BadSignature, InvalidKey
from endorse.protocol.keys import PublicKey, SigningKey

Outcome = Literal["accept", "InvalidKey", "BadSignature"]


def outcome(public_key: bytes, message: bytes, signature: bytes) -> Outcome:
    """What endorse does with a (key, message, signature) triple."""
    try:
        key = PublicKey(public_key)
    except InvalidKey:
        return "InvalidKey"
    try:
        key.verify(message, signature)
    except BadSignature:
        return "BadSignature"
    return "accept"


def libsodium_alone_accepts(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """libsodium's ``crypto_sign_verify_detached`` without our key-construction check."""
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def flip_bit(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _load_json(*parts: str) -> Any:
    return json.loads(third_party(*parts).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- RFC 8032 §7.1


@dataclass(frozen=True)
class SignInputLine:
    number: int  # 1-based line number in sign.input
    seed: bytes
    public_key: bytes
    message: bytes
    signature: bytes


def _sign_input() -> list[SignInputLine]:
    lines = third_party("rfc8032", "sign.input").read_text(encoding="ascii").splitlines()
    out = []
    for number, line in enumerate(lines, start=1):
        # sk||pk : pk : msg : sig||msg :
        sk_pk, pk, msg, sig_msg, trailer = line.split(":")
        assert trailer == ""
        sk_pk_b, pk_b, msg_b, sig_msg_b = (bytes.fromhex(x) for x in (sk_pk, pk, msg, sig_msg))
        assert sk_pk_b[32:] == pk_b
        assert sig_msg_b[64:] == msg_b
        out.append(SignInputLine(number, sk_pk_b[:32], pk_b, msg_b, sig_msg_b[:64]))
    return out


SIGN_INPUT = _sign_input()


def test_sign_input_is_complete() -> None:
    assert len(SIGN_INPUT) == 1024
    assert [v.number for v in SIGN_INPUT] == list(range(1, 1025))
    assert [len(v.message) for v in SIGN_INPUT] == list(range(1024))


@pytest.mark.parametrize("vector", SIGN_INPUT, ids=lambda v: f"line{v.number}")
def test_rfc8032_sign_input(vector: SignInputLine) -> None:
    key = SigningKey.from_seed(vector.seed)
    assert key.public_key.raw == vector.public_key
    signature = key.sign(vector.message)
    assert signature == vector.signature
    public = PublicKey(vector.public_key)
    public.verify(vector.message, signature)  # returns None, raises BadSignature
    # Walk the bit to flip over all 512 signature bits across the 1024 lines.
    tampered = flip_bit(signature, (vector.number - 1) % 512)
    with pytest.raises(BadSignature):
        public.verify(vector.message, tampered)


RFC8032_JSON = _load_json("rfc8032", "rfc8032_ed25519.json")["vectors"]


@pytest.mark.parametrize("vector", RFC8032_JSON, ids=lambda v: v["name"].replace(" ", "_"))
def test_rfc8032_section_7_1(vector: dict[str, Any]) -> None:
    seed, pk, msg, sig = (
        bytes.fromhex(vector[k]) for k in ("secretKey", "publicKey", "message", "signature")
    )
    assert len(msg) == vector["messageLength"]
    key = SigningKey.from_seed(seed)
    assert key.public_key.raw == pk
    assert key.sign(msg) == sig
    PublicKey(pk).verify(msg, sig)
    for bit in (0, 255, 256, 511):  # first/last bit of R and of S
        with pytest.raises(BadSignature):
            PublicKey(pk).verify(msg, flip_bit(sig, bit))
    if "signInputLine" in vector:
        line = SIGN_INPUT[vector["signInputLine"] - 1]
        assert (line.seed, line.public_key, line.message, line.signature) == (seed, pk, msg, sig)


# --------------------------------------------------------------------------- Wycheproof

WYCHEPROOF = _load_json("wycheproof", "ed25519_test.json")
WYCHEPROOF_CASES = [
    pytest.param(group["publicKey"]["pk"], test, id=f"tcId{test['tcId']}")
    for group in WYCHEPROOF["testGroups"]
    for test in group["tests"]
]


def test_wycheproof_inventory() -> None:
    # A vector update that adds "acceptable" cases must be looked at: our policy for them is
    # "reject" (strict verifier; see test_wycheproof), and this count makes the change visible.
    results = Counter(test["result"] for g in WYCHEPROOF["testGroups"] for test in g["tests"])
    assert results == {"valid": 88, "invalid": 63}
    assert WYCHEPROOF["numberOfTests"] == len(WYCHEPROOF_CASES) == 151


@pytest.mark.parametrize(("pk_hex", "test"), WYCHEPROOF_CASES)
def test_wycheproof(pk_hex: str, test: dict[str, Any]) -> None:
    got = outcome(bytes.fromhex(pk_hex), bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]))
    if test["result"] == "valid":
        assert got == "accept", test["comment"]
    else:
        # "invalid", and "acceptable" (none in this file version) under our strict policy.
        assert got in ("InvalidKey", "BadSignature"), test["comment"]


# --------------------------------------------------------------------------- ed25519-speccheck

SPECCHECK = _load_json("ed25519-speccheck", "cases.json")

# Outcome under our rule for each of the 12 "Taming the many EdDSAs" cases (index in
# cases.json; see ed25519-speccheck/README.md's condition table).
SPECCHECK_EXPECTED: dict[int, Outcome] = {
    0: "InvalidKey",  # small-order A (and small R, S = 0)
    1: "InvalidKey",  # small-order A (mixed R)
    2: "InvalidKey",  # mixed-order A (torsion component); small R would also be refused
    3: "InvalidKey",  # mixed-order A; libsodium verify alone ACCEPTS this one
    4: "InvalidKey",  # mixed-order A; would also fail the cofactorless equation
    5: "InvalidKey",  # mixed-order A; would also fail the cofactorless equation
    6: "BadSignature",  # prime-order A, but S > L (malleated scalar)
    7: "BadSignature",  # prime-order A, but S >> L (high bit set)
    8: "InvalidKey",  # mixed-order A; R is a non-canonical small-order encoding
    9: "InvalidKey",  # mixed-order A; R is a non-canonical small-order encoding
    10: "InvalidKey",  # non-canonical encoding of a small-order A
    11: "InvalidKey",  # non-canonical encoding of a small-order A
}

# The "LibSodium" row of ed25519-speccheck/results.md: only case 3 verifies.
SPECCHECK_LIBSODIUM_ACCEPTS = {3}


def _speccheck_case(index: int) -> tuple[bytes, bytes, bytes]:
    case = SPECCHECK[index]
    return (
        bytes.fromhex(case["pub_key"]),
        bytes.fromhex(case["message"]),
        bytes.fromhex(case["signature"]),
    )


def test_speccheck_table_covers_every_case() -> None:
    assert len(SPECCHECK) == 12
    assert sorted(SPECCHECK_EXPECTED) == list(range(12))


@pytest.mark.parametrize(("index", "expected"), sorted(SPECCHECK_EXPECTED.items()))
def test_speccheck(index: int, expected: Outcome) -> None:
    assert outcome(*_speccheck_case(index)) == expected


def test_speccheck_libsodium_row_matches_results_md() -> None:
    # Cross-check our reading of results.md against the PyNaCl we actually run.
    row = next(
        line
        for line in third_party("ed25519-speccheck", "results.md").read_text().splitlines()
        if line.startswith("|LibSodium")
    )
    cells = [c.strip() for c in row.strip("|").split("|")[1:]]
    assert {i for i, c in enumerate(cells) if c == "V"} == SPECCHECK_LIBSODIUM_ACCEPTS
    accepted = {i for i in range(12) if libsodium_alone_accepts(*_speccheck_case(i))}
    assert accepted == SPECCHECK_LIBSODIUM_ACCEPTS


# --------------------------------------------------------------------------- C2SP CCTV

CCTV = _load_json("cctv-ed25519", "ed25519vectors.json")

# Flags (see cctv-ed25519/README.md) that make A something other than a canonical
# prime-order point: refused when the PublicKey is built.
A_FLAGS = frozenset({"low_order_A", "non_canonical_A", "low_order_component_A"})
# With a prime-order A, any of these makes the strict cofactorless check fail: small-order R
# is refused outright, non-canonical R never equals the re-encoded R, and a torsion
# component of R (which always leaves a low_order_residue here) breaks the equation.
R_FLAGS = frozenset(
    {"low_order_R", "non_canonical_R", "low_order_component_R", "low_order_residue"}
)
KNOWN_FLAGS = A_FLAGS | R_FLAGS | {"reencoded_k"}


def cctv_expected(flags: frozenset[str]) -> Outcome:
    if flags & A_FLAGS:
        return "InvalidKey"
    if flags & R_FLAGS:
        return "BadSignature"
    return "accept"


def _cctv_flags(vector: dict[str, Any]) -> frozenset[str]:
    return frozenset(vector["flags"] or ())


@pytest.mark.parametrize("vector", CCTV, ids=lambda v: f"n{v['number']}")
def test_cctv(vector: dict[str, Any]) -> None:
    flags = _cctv_flags(vector)
    assert flags <= KNOWN_FLAGS
    got = outcome(
        bytes.fromhex(vector["key"]), vector["msg"].encode("utf-8"), bytes.fromhex(vector["sig"])
    )
    assert got == cctv_expected(flags), sorted(flags)


def test_cctv_summary() -> None:
    # Per-flag view of the parametrized test above, so a policy change shows up as a diff.
    totals: Counter[Outcome] = Counter()
    per_flag: dict[str, Counter[Outcome]] = {flag: Counter() for flag in sorted(KNOWN_FLAGS)}
    libsodium_alone = 0
    for vector in CCTV:
        flags = _cctv_flags(vector)
        args = (
            bytes.fromhex(vector["key"]),
            vector["msg"].encode("utf-8"),
            bytes.fromhex(vector["sig"]),
        )
        got = outcome(*args)
        totals[got] += 1
        for flag in flags:
            per_flag[flag][got] += 1
        libsodium_alone += libsodium_alone_accepts(*args)
    assert len(CCTV) == 914
    assert totals == {"accept": 1, "InvalidKey": 886, "BadSignature": 27}
    # Every A flag leads to refusing the key; the R flags only ever reach verify with a
    # prime-order A when the vector has no A flag.
    for flag in A_FLAGS:
        assert set(per_flag[flag]) == {"InvalidKey"}, flag
    for flag in R_FLAGS | {"reencoded_k"}:
        assert "accept" not in per_flag[flag], flag
    # libsodium's verify alone accepts the 42 vectors whose only defect is a torsion
    # component of A (and R) that cancels out, plus the ordinary one: the key-construction
    # check is what rejects them.
    assert libsodium_alone == 43
