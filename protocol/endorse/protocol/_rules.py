"""Value rules shared by the object schemas (spec §2.3).

Types, lengths and simple patterns are declared on the msgspec structs in ``objects.py`` and
checked by msgspec's C core when a payload is read (``msgspec.convert``); what a pattern cannot
say (Unicode normalization, control and invisible characters, valid curve points) is checked
here, from the structs' ``__post_init__``.

``__post_init__`` also runs when an object is built in code, but msgspec's ``__init__`` checks
neither types nor the ``Meta`` limits below. So the helpers here check the type of what they
are given (cheaply, ``type(v) is str``) and refuse anything else as :class:`MalformedToken`;
the declared types and limits of an object built in code are checked when it is signed
(:func:`~endorse.protocol.sign` re-reads the payload with the verifier's reader).
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from endorse.protocol._text import PROBLEMS, text_problem
from endorse.protocol.canonical import MAX_SAFE_INTEGER
from endorse.protocol.errors import InvalidKey, MalformedToken
from endorse.protocol.keys import _public_key_from_did

Time = Annotated[int, msgspec.Meta(ge=0, le=MAX_SAFE_INTEGER)]
"""Integer seconds since the Unix epoch, UTC."""
Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{21}[AQgw]\Z")]
"""16 random bytes in canonical base64url (the last character carries 4 zero bits)."""
TokenHash = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]\Z")]
"""A SHA-256 digest in canonical base64url."""
Did = Annotated[str, msgspec.Meta(min_length=56, max_length=56, pattern=r"^did:key:z6Mk")]
"""A did:key of an Ed25519 key; the point itself is checked by :func:`check_did`."""
Email = Annotated[
    str,
    msgspec.Meta(
        max_length=254,
        # RFC 5322 dot-atom local part (printable ASCII, no controls, no quoting), at most 64
        # characters; a host name of letters, digits and hyphens with at least one dot.
        pattern=r"^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
        r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+\Z",
    ),
]
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
"""A decimal port 1..65535 without leading zeros."""
Registry = Annotated[
    str,
    msgspec.Meta(
        max_length=200,
        # Lower-case host names only, so one registry has one spelling; no explicit default
        # port (:443 on https, :80 on http); no empty, "." or ".." path segments, no trailing
        # slash, query or fragment.
        pattern=r"^(?:https://[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
        r"(?::(?!443(?![0-9]))" + _PORT + r")?"
        r"|http://(?:127\.0\.0\.1|localhost|\[::1\])(?::(?!80(?![0-9]))" + _PORT + r")?)"
        r"(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*\Z",
    ),
]
"""An https URL (http only on loopback), no trailing slash, query or fragment."""
ListId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}\Z")]
Period = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}(?:-(?:0[1-9]|1[0-2]))?\Z")]
"""``YYYY`` or ``YYYY-MM``."""
Nonce = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{16,128}\Z")]


Text64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text128 = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text1000 = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Ascii128 = Annotated[str, msgspec.Meta(pattern=r"^[\x21-\x7e]{1,128}\Z")]
Ascii256 = Annotated[str, msgspec.Meta(pattern=r"^[\x21-\x7e]{1,256}\Z")]


def check_text(value: object, where: str, *, multiline: bool = False) -> None:
    """Human text: NFC, no control or invisible characters, no outer whitespace (spec §2.3).

    Decided by the Unicode 14.0.0 tables, whatever the interpreter's Unicode version (see
    :mod:`endorse.protocol._text`). Lengths are checked by the struct's type; ``None`` (an
    absent optional member) passes.

    Raises:
        MalformedToken: anything else, a value that is not a str included.
    """
    if type(value) is not str:
        if value is None:
            return
        raise MalformedToken(f"{where}: must be text")
    problem = text_problem(value, multiline)
    if problem is not None:
        raise MalformedToken(f"{where}: {PROBLEMS[problem]}")


_REPEATED_PASSED: set[str] = set()
_REPEATED_MAX = 4096


def check_repeated_text(value: object, where: str) -> None:
    """:func:`check_text` (single-line) for a field whose values recur across tokens: the
    endorser's display name, a relationship's context, role and organisation (an endorser
    writes the same ones again and again). A value that passed once passes again at the
    cost of a set lookup; the set is bounded (emptied at 4,096 values). Only values that
    passed are kept, and nothing a token alone holds (a subject, a statement, an id) goes
    through here.

    Raises:
        MalformedToken: as :func:`check_text`.
    """
    if type(value) is str and value in _REPEATED_PASSED:
        return
    check_text(value, where)
    if type(value) is str:
        if len(_REPEATED_PASSED) >= _REPEATED_MAX:
            _REPEATED_PASSED.clear()
        _REPEATED_PASSED.add(value)


class RecurringPattern:
    """The ``pattern`` of a field whose values recur across tokens (a status entry's registry
    and list id), checked in ``__post_init__`` rather than by msgspec, and once per value.

    msgspec's ``Meta(pattern=...)`` costs ~0.3 µs a field on every token (it calls
    ``re.search`` through the C API's method call; ``bench/README.md`` has the instruction
    counts); here a value that passed costs a set lookup. The pattern is the same string as
    the type's ``Meta``, searched the same way; the set is bounded (emptied at 4,096 values)
    and keeps only values that passed.
    """

    def __init__(self, annotated: object, where: str, rule: str) -> None:
        self._pattern = re.compile(annotated.__metadata__[0].pattern)  # type: ignore[attr-defined]
        self._where, self._rule = where, rule
        self._passed: set[str] = set()

    def check(self, value: object) -> None:
        """Raises:
        MalformedToken: ``value`` is not a str matching the pattern."""
        if type(value) is str and value in self._passed:
            return
        if type(value) is not str or self._pattern.search(value) is None:
            raise MalformedToken(f"{self._where}: {self._rule}")
        if len(self._passed) >= _REPEATED_MAX:
            self._passed.clear()
        self._passed.add(value)


def check_did(value: object, where: str) -> None:
    """A did:key naming a strict Ed25519 public key (spec §2.4); ``None`` passes.

    Raises:
        MalformedToken: anything else, a value that is not a str included.
    """
    if type(value) is not str:
        if value is None:
            return
        raise MalformedToken(f"{where}: must be a did:key text")
    try:
        _public_key_from_did(value)  # PublicKey.from_did without its repeated type check
    except InvalidKey as e:
        raise MalformedToken(f"{where}: {e}") from e
