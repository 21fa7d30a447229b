"""RFC 8785 (JCS) conformance: cyberphone/json-canonicalization test data.

The reference implementation (``rfc8785``) must reproduce every expected output byte for
byte. Our encoder (``endorse.protocol.canonical``) covers only the protocol's domain: inside
it, it must agree with the expected output; outside it, it must refuse (``MalformedToken``)
rather than guess.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import pytest
import rfc8785
from _vectors import third_party

from endorse.protocol import canonical
from endorse.protocol.errors import MalformedToken

JCS_CASES = ["arrays", "french", "structures", "unicode", "values", "weird"]

# Which upstream cases lie inside the protocol's JSON domain, and why the others do not.
IN_DOMAIN = {
    "arrays": True,
    "french": False,  # non-ASCII member names ("péché")
    "structures": False,  # 56.0 is a float
    "unicode": True,
    "values": False,  # floats (333333333.33333329, 1E30, ...)
    "weird": False,  # non-ASCII member names ("€", "ö", ...)
}


def in_domain(value: Any, depth: int = 0, max_depth: int = canonical.DEFAULT_MAX_DEPTH) -> bool:
    """Independent statement of the protocol domain (spec §2.2), to pick the test branch."""
    if value is None or isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return abs(value) <= canonical.MAX_SAFE_INTEGER
    if isinstance(value, list):
        return depth < max_depth and all(in_domain(v, depth + 1, max_depth) for v in value)
    if isinstance(value, dict):
        return depth < max_depth and all(
            k.isascii() and in_domain(v, depth + 1, max_depth) for k, v in value.items()
        )
    return False  # float and anything else


def _case(name: str) -> tuple[Any, bytes]:
    source = third_party("jcs-rfc8785", "input", f"{name}.json").read_bytes()
    expected = third_party("jcs-rfc8785", "output", f"{name}.json").read_bytes()
    return json.loads(source), expected


def test_cases_are_complete() -> None:
    names = sorted(p.stem for p in third_party("jcs-rfc8785", "input").glob("*.json"))
    assert names == JCS_CASES == sorted(IN_DOMAIN)


@pytest.mark.parametrize("name", JCS_CASES)
def test_outhex_matches_output(name: str) -> None:
    hex_text = third_party("jcs-rfc8785", "outhex", f"{name}.txt").read_text(encoding="ascii")
    assert bytes.fromhex(hex_text) == _case(name)[1]


@pytest.mark.parametrize("name", JCS_CASES)
def test_reference_implementation(name: str) -> None:
    value, expected = _case(name)
    assert rfc8785.dumps(value) == expected


@pytest.mark.parametrize("name", JCS_CASES)
def test_our_encoder(name: str) -> None:
    value, expected = _case(name)
    assert in_domain(value) is IN_DOMAIN[name]
    if IN_DOMAIN[name]:
        assert canonical.encode(value) == expected
        assert canonical.decode(expected, max_bytes=1 << 20, max_depth=16) == value
    else:
        with pytest.raises(MalformedToken):
            canonical.encode(value)


# --------------------------------------------------------------------------- ES6 numbers


def _es6_lines() -> list[tuple[str, float, bytes]]:
    out = []
    path = third_party("jcs-rfc8785", "es6testfile_first10000.txt")
    for line in path.read_bytes().split(b"\n")[:-1]:
        bits, expected = line.split(b",")
        value = struct.unpack(">d", int(bits, 16).to_bytes(8, "big"))[0]
        out.append((bits.decode("ascii"), value, expected))
    return out


ES6_LINES = _es6_lines()


def _is_safe_integer(value: float) -> bool:
    return math.isfinite(value) and value.is_integer() and abs(value) <= canonical.MAX_SAFE_INTEGER


def test_es6_numbers_reference_implementation() -> None:
    assert len(ES6_LINES) == 10_000
    mismatches = [
        (bits, expected, rfc8785.dumps(value))
        for bits, value, expected in ES6_LINES
        if rfc8785.dumps(value) != expected
    ]
    assert mismatches == []


@pytest.mark.parametrize(
    ("bits", "value", "expected"),
    [pytest.param(*line, id=line[0]) for line in ES6_LINES if _is_safe_integer(line[1])],
)
def test_es6_integers_our_encoder(bits: str, value: float, expected: bytes) -> None:
    # -0.0 becomes int 0; JCS serializes both zeros as "0".
    assert canonical.encode(int(value)) == expected
    assert canonical.decode(expected, max_bytes=64) == int(value)
