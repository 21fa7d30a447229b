"""Canonical JSON (spec §2.2): property tests against the RFC 8785 reference, and named
negative cases pinning which error each defect raises."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from endorse.protocol import canonical
from endorse.protocol.errors import EndorseError, MalformedToken, NonCanonicalEncoding

MAX = canonical.MAX_SAFE_INTEGER
MODEST = settings(max_examples=250, deadline=None)

# --------------------------------------------------------------------------- strategies

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-MAX, MAX),
    st.text(max_size=12),  # any code point except surrogates (Hypothesis excludes Cs)
)
ASCII_KEYS = st.text(st.characters(max_codepoint=0x7F), max_size=6)


def domain_values(depth: int) -> st.SearchStrategy[Any]:
    """Values of the protocol domain with at most ``depth`` nested containers."""
    if depth == 0:
        return SCALARS
    inner = domain_values(depth - 1)
    return st.one_of(
        SCALARS,
        st.lists(inner, max_size=4),
        st.dictionaries(ASCII_KEYS, inner, max_size=4),
    )


DOMAIN = domain_values(canonical.DEFAULT_MAX_DEPTH)

# Wider than the domain: floats, huge integers, non-ASCII names, deeper nesting.
WIDE = st.recursive(
    st.one_of(
        SCALARS,
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=4), children, max_size=3),
    ),
    max_leaves=10,
)


@st.composite
def json_texts(draw: st.DrawFn) -> bytes:
    """Ordinary (mostly non-canonical) JSON texts, as any JSON library might write them."""
    value = draw(WIDE)
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (",", ": ")]))
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        sort_keys=draw(st.booleans()),
        separators=separators,
    )
    return text.encode("utf-8")


@st.composite
def mutated_canonical(draw: st.DrawFn) -> bytes:
    """A canonical encoding with a few bytes inserted, deleted or replaced."""
    data = bytearray(canonical.encode(draw(DOMAIN)))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        if op == "insert" or not data:
            data.insert(draw(st.integers(0, len(data))), draw(st.integers(0, 255)))
        elif op == "delete":
            del data[draw(st.integers(0, len(data) - 1))]
        else:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


ANY_BYTES = st.one_of(st.binary(max_size=64), json_texts(), mutated_canonical())


def strictly_equal(a: Any, b: Any) -> bool:
    """Equality that also tells ``True`` from ``1`` (Python's ``==`` does not)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(strictly_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strictly_equal(a[k], b[k]) for k in a)
    return bool(a == b)


# --------------------------------------------------------------------------- properties


@MODEST
@given(DOMAIN)
def test_encode_matches_rfc8785_reference(value: Any) -> None:
    assert canonical.encode(value) == rfc8785.dumps(value)


@MODEST
@given(DOMAIN)
def test_round_trip(value: Any) -> None:
    data = canonical.encode(value)
    assert strictly_equal(canonical.decode(data, max_bytes=len(data)), value)


@MODEST
@given(
    ANY_BYTES,
    st.sampled_from([1 << 20, 16]),
    st.integers(0, canonical.DEFAULT_MAX_DEPTH + 2),
)
def test_decode_raises_only_endorse_errors(data: bytes, max_bytes: int, max_depth: int) -> None:
    try:
        value = canonical.decode(data, max_bytes=max_bytes, max_depth=max_depth)
    except EndorseError:
        return
    # Whatever is accepted is exactly the canonical encoding of what it decodes to.
    assert len(data) <= max_bytes
    assert canonical.encode(value, max_depth=max_depth) == data
    assert rfc8785.dumps(value) == data


# --------------------------------------------------------------------------- named negatives

OVER_SIZE = b'"' + b"x" * 98 + b'"'  # 100 bytes

# (id, input, max_bytes, exact exception class, an accepted canonical near-twin)
NEGATIVE_CASES = [
    ("duplicate_member_name", b'{"a":1,"a":1}', 1024, NonCanonicalEncoding, b'{"a":1}'),
    ("unsorted_members", b'{"b":1,"a":2}', 1024, NonCanonicalEncoding, b'{"a":2,"b":1}'),
    ("whitespace", b'{"a": 1}', 1024, NonCanonicalEncoding, b'{"a":1}'),
    ("escaped_ascii", b'"\\u0041"', 1024, NonCanonicalEncoding, b'"A"'),
    ("float_value", b"1.5", 1024, MalformedToken, b"1"),
    # orjson parses an exponent as a float, so "1e2" is refused as a float (MalformedToken),
    # not as a non-canonical spelling of 100 as canonical.py's module docstring suggests.
    ("exponent_integer", b"1e2", 1024, MalformedToken, b"100"),
    ("negative_zero", b"-0", 1024, NonCanonicalEncoding, b"0"),
    ("integer_too_large", b"9007199254740992", 1024, MalformedToken, b"9007199254740991"),
    ("lone_surrogate_escape", b'"\\ud800"', 1024, MalformedToken, '"\U00010000"'.encode()),
    ("invalid_utf8", b'"\xff"', 1024, MalformedToken, '"\xff"'.encode()),
    ("bom", b'\xef\xbb\xbf{"a":1}', 1024, MalformedToken, b'{"a":1}'),
    ("nesting_too_deep", b"[[[[[1]]]]]", 1024, MalformedToken, b"[[[[1]]]]"),
    ("non_ascii_member_name", '{"é":1}'.encode(), 1024, MalformedToken, '{"e":"é"}'.encode()),
    ("over_size_limit", OVER_SIZE, 99, MalformedToken, OVER_SIZE),
]


@pytest.mark.parametrize(
    ("data", "max_bytes", "error", "twin"),
    [pytest.param(*case[1:], id=case[0]) for case in NEGATIVE_CASES],
)
def test_decode_negative(
    data: bytes, max_bytes: int, error: type[MalformedToken], twin: bytes
) -> None:
    with pytest.raises(MalformedToken) as excinfo:
        canonical.decode(data, max_bytes=max_bytes)
    assert type(excinfo.value) is error
    # The near-twin is accepted (at a limit it just meets), so the case isolates one defect.
    assert canonical.encode(canonical.decode(twin, max_bytes=max(max_bytes, len(twin)))) == twin


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1.5, id="float"),
        pytest.param(1.0, id="integral_float"),
        pytest.param(2**53, id="integer_too_large"),
        pytest.param(-(2**53), id="integer_too_small"),
        pytest.param({"é": 1}, id="non_ascii_member_name"),
        pytest.param("\ud800", id="lone_surrogate"),
        pytest.param([[[[[1]]]]], id="nesting_too_deep"),
        pytest.param((1, 2), id="tuple"),
        pytest.param(b"x", id="bytes"),
    ],
)
def test_encode_refuses_values_outside_domain(value: Any) -> None:
    with pytest.raises(MalformedToken) as excinfo:
        canonical.encode(value)
    assert type(excinfo.value) is MalformedToken


@pytest.mark.parametrize("key", [1, None, True, b"a"])
def test_encode_refuses_non_string_member_name(key: Any) -> None:
    with pytest.raises(MalformedToken):
        canonical.encode({key: "x"})
