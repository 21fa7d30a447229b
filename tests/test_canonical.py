"""Canonical JSON (spec §2.2): property tests against the RFC 8785 reference, and named
negative cases pinning which error each defect raises."""

from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from endorse.protocol import canonical
from endorse.protocol.errors import EndorseError, MalformedToken, NonCanonicalEncoding
from endorse.protocol.objects import OBJECT_TYPES

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


# --------------------------------------------------------------------------- decode_for_schema

VALID_VECTORS = json.loads(
    (pathlib.Path(__file__).parent.parent / "spec" / "vectors" / "valid.json").read_text()
)["vectors"]

# Values outside the domain that orjson writes back unchanged, so decode_for_schema's
# comparison alone lets them through: only the object readers refuse them.
OUTSIDE_DOMAIN = st.sampled_from(
    [100.0, -0.0, 0.5, 1e300, 2**53, 2**63 - 1, 2**64 - 1, -(2**63), [[[["deep"]]]], {"é": 1}]
)
VECTOR_VALUES = st.sampled_from(
    sorted(
        {
            v
            for vector in VALID_VECTORS
            for v in [*vector["payload"].values(), *vector["fields"].values()]
            if isinstance(v, str | int)
        },
        key=repr,
    )
)
MUTATION_VALUES = st.one_of(
    OUTSIDE_DOMAIN,
    VECTOR_VALUES,
    st.recursive(
        st.one_of(SCALARS, st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False)),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=6,
    ),
)
MEMBER_NAMES = st.one_of(
    st.text(max_size=6),
    st.sampled_from(sorted({k for v in VALID_VECTORS for k in v["payload"]} | {"é", "from"})),
)


@st.composite
def mutated_payload_bytes(draw: st.DrawFn) -> bytes:
    """A valid vector's payload with 0-3 members set (often outside the domain), deleted or
    added, at the top or one level down, written as orjson writes it with sorted keys."""
    payload = copy.deepcopy(draw(st.sampled_from(VALID_VECTORS))["payload"])
    for _ in range(draw(st.integers(0, 3))):
        nested = sorted(k for k, v in payload.items() if isinstance(v, dict))
        target = payload
        if nested and draw(st.booleans()):
            target = payload[draw(st.sampled_from(nested))]
        op = draw(st.sampled_from(["set", "delete", "add"]))
        # Values are copied: a later step may mutate a dict it inserted, and the strategy's
        # own sample values must not change between examples.
        if op != "add" and target:
            key = draw(st.sampled_from(sorted(target)))
            if op == "set":
                target[key] = copy.deepcopy(draw(MUTATION_VALUES))
            else:
                del target[key]
        else:
            target[draw(MEMBER_NAMES)] = copy.deepcopy(draw(MUTATION_VALUES))
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


@settings(max_examples=1500, deadline=None)
@given(mutated_payload_bytes())
def test_schema_readers_accept_only_canonical_json(data: bytes) -> None:
    # decode_for_schema skips decode's domain walk and relies on the object readers to refuse
    # everything outside the domain (100.0, -0.0, 2^64-1, non-ASCII names, ...). Whatever it
    # and a reader accept, the full canonical decoder must accept too, as the same value.
    for cls in OBJECT_TYPES.values():
        try:
            value = canonical.decode_for_schema(data, max_bytes=1 << 20)
            cls.from_payload(value)
        except EndorseError:
            continue
        assert strictly_equal(canonical.decode(data, max_bytes=1 << 20), value), cls.TYPE
        assert canonical.encode(value) == data


def test_schema_readers_accept_the_vectors() -> None:
    # The property above is not vacuous: unmutated payloads are accepted by both decoders.
    for vector in VALID_VECTORS:
        data = vector["payload_canonical"].encode()
        OBJECT_TYPES[vector["type"]].from_payload(
            canonical.decode_for_schema(data, max_bytes=1 << 20)
        )
        canonical.decode(data, max_bytes=1 << 20)


@pytest.mark.parametrize(
    "data",
    [b"100.0", b"-0.0", b"18446744073709551615", '{"é":1}'.encode(), b"[[[[[1]]]]]"],
    ids=["float_100", "negative_zero_float", "2_64_minus_1", "non_ascii_name", "deep"],
)
def test_decode_for_schema_alone_is_not_a_canonical_check(data: bytes) -> None:
    # Documented: these pass decode_for_schema (orjson writes them back the same way) and
    # are refused by decode; every object reader refuses them (property test above).
    canonical.decode_for_schema(data, max_bytes=64)
    with pytest.raises(MalformedToken):
        canonical.decode(data, max_bytes=64)
