"""Canonical JSON: RFC 8785 (JCS) restricted to the protocol's value domain (spec §2.2).

The domain: objects whose member names are ASCII, arrays, strings, booleans, null and
integers within ±(2^53 - 1). No floats: the protocol never needs them, and refusing them
removes every number-formatting ambiguity.

:func:`encode` produces the canonical bytes. :func:`decode` parses untrusted bytes and
refuses anything that is not exactly the canonical encoding of the value it decodes to;
duplicate member names, reordered members, whitespace, escapes such as ``\\u0041`` and
spellings such as ``-0`` are all caught by that one comparison (``1e2`` and ``1.0`` parse as
floats and are refused as such).

Inside this domain orjson with sorted keys is byte-identical to RFC 8785 (UTF-16 code-unit
ordering equals code-point ordering for ASCII names) and about 40x faster than the reference
``rfc8785`` package; ``tests/test_canonical.py`` keeps the two in differential agreement.

>>> encode({"b": [1, True], "a": "é"})
b'{"a":"\\xc3\\xa9","b":[1,true]}'
>>> decode(b'{"a":1}', max_bytes=64)
{'a': 1}
"""

from __future__ import annotations

from typing import Any

import orjson

from endorse.protocol.errors import InvalidArgument, MalformedToken, NonCanonicalEncoding

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer magnitude allowed (I-JSON, RFC 7493 §2.2)."""

DEFAULT_MAX_DEPTH = 4
"""Deepest nesting of arrays/objects accepted; the root object counts as depth 1."""

JSONValue = Any


def _check(value: JSONValue, depth: int, max_depth: int) -> None:
    # One walk enforces the domain: types, integer range, ASCII names, nesting depth.
    t = type(value)
    if t is str or value is None or t is bool:
        return
    if t is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return
        raise MalformedToken("integer outside ±(2^53-1)")
    if t is float:
        raise MalformedToken("floating-point numbers are not allowed")
    if t is dict:
        if depth >= max_depth:
            raise MalformedToken(f"nesting deeper than {max_depth}")
        for k, v in value.items():
            if type(k) is not str or not k.isascii():
                raise MalformedToken("member names must be ASCII strings")
            _check(v, depth + 1, max_depth)
        return
    if t is list:
        if depth >= max_depth:
            raise MalformedToken(f"nesting deeper than {max_depth}")
        for v in value:
            _check(v, depth + 1, max_depth)
        return
    raise MalformedToken(f"value of type {t.__name__} cannot be encoded")


def _walk(value: JSONValue, max_depth: int) -> None:
    if type(max_depth) is not int:
        raise InvalidArgument("max_depth must be an integer")
    try:
        _check(value, 0, max_depth)
    except RecursionError as e:  # only reachable with a max_depth near the recursion limit
        raise MalformedToken("nesting too deep to check") from e


def _check_input(data: object, max_bytes: object) -> None:
    if type(data) is not bytes:
        raise MalformedToken("JSON input must be bytes (UTF-8)")
    if type(max_bytes) is not int:
        raise InvalidArgument("max_bytes must be an integer")


def encode(value: JSONValue, *, max_depth: int = DEFAULT_MAX_DEPTH) -> bytes:
    """Return the canonical (RFC 8785) UTF-8 bytes of ``value``.

    Raises:
        MalformedToken: the value lies outside the protocol's JSON domain.
        InvalidArgument: ``max_depth`` is not an integer.
    """
    _walk(value, max_depth)
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError) as e:  # lone surrogates in str
        raise MalformedToken(f"cannot encode as JSON: {e}") from e


def decode(data: bytes, *, max_bytes: int, max_depth: int = DEFAULT_MAX_DEPTH) -> JSONValue:
    """Parse canonical JSON bytes, strictly.

    Raises:
        MalformedToken: not bytes, over ``max_bytes``, invalid UTF-8 or JSON, lone surrogates,
            floats, integers outside ±(2^53-1), non-ASCII member names, nesting over
            ``max_depth``.
        NonCanonicalEncoding: well-formed JSON that is not the canonical encoding of its
            value (duplicate names, member order, whitespace, escapes, number spelling).
        InvalidArgument: ``max_bytes`` or ``max_depth`` is not an integer.
    """
    _check_input(data, max_bytes)
    if len(data) > max_bytes:
        raise MalformedToken(f"JSON of {len(data)} bytes exceeds the limit of {max_bytes}")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise MalformedToken(f"invalid JSON or UTF-8: {e.msg}") from e
    _walk(value, max_depth)
    if orjson.dumps(value, option=orjson.OPT_SORT_KEYS) != data:
        raise NonCanonicalEncoding(
            "JSON is not in canonical form (RFC 8785): duplicate or unsorted member names,"
            " whitespace, escapes or number spelling"
        )
    return value


def decode_for_schema(data: bytes, *, max_bytes: int) -> JSONValue:
    """Parse canonical JSON for a caller that checks every value against a strict schema.

    The fast path of token decoding: :func:`decode` without its domain walk. On its own it
    is NOT a canonical-JSON check: it accepts bytes outside the domain that orjson writes back
    the same way, although RFC 8785 would spell them otherwise or the domain refuses them
    (``100.0``, ``-0.0``, ``18446744073709551615``, non-ASCII member names, deep nesting). It
    is sound only when the caller then refuses everything outside the domain, as every
    protocol object reader does (exact types, integer ranges, known ASCII member names, one
    level of nesting); for values inside the domain the comparison below is the full RFC 8785
    check. ``tests/test_canonical.py`` holds the readers to that: whatever this function and
    a reader accept, :func:`decode` accepts too.

    Raises:
        MalformedToken: not bytes, over ``max_bytes``, invalid UTF-8 or JSON, lone surrogates;
            not canonical and outside the domain (a float, an integer beyond ±(2^53-1)).
        NonCanonicalEncoding: a value of the domain, but not its canonical encoding.
        InvalidArgument: ``max_bytes`` is not an integer.
    """
    if type(data) is not bytes or type(max_bytes) is not int:
        _check_input(data, max_bytes)
    if len(data) > max_bytes:
        raise MalformedToken(f"JSON of {len(data)} bytes exceeds the limit of {max_bytes}")
    try:
        value = orjson.loads(data)
        # Nesting beyond orjson's recursion limit raises here; integers beyond 64 bits come
        # back as floats, which every schema refuses.
        encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError) as e:
        raise MalformedToken(f"invalid JSON or UTF-8: {e}") from e
    if encoded != data:
        # Only a value inside the domain has a canonical spelling to miss: a float (in any
        # spelling: 1.0, 1e2) or an integer beyond ±(2^53-1) is malformed (spec §3.4).
        _walk(value, DEFAULT_MAX_DEPTH)
        raise NonCanonicalEncoding(
            "JSON is not in canonical form (RFC 8785): duplicate or unsorted member names,"
            " whitespace, escapes or number spelling"
        )
    return value
