"""Value rules shared by the object schemas (spec §2.3).

Types, lengths and simple patterns are declared on the msgspec structs in ``objects.py`` and
checked by msgspec's C core; what a pattern cannot say (Unicode normalization, control
characters, valid curve points) is checked here, from the structs' ``__post_init__``.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

import msgspec

from endorse.protocol.errors import InvalidKey, MalformedToken
from endorse.protocol.keys import PublicKey

MAX_INT = 2**53 - 1

Time = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT)]
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
Registry = Annotated[
    str,
    msgspec.Meta(
        max_length=200,
        # Lower-case host names only, so one registry has one spelling; no empty, "." or ".."
        # path segments, no trailing slash, query or fragment.
        pattern=r"^(?:https://[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
        r"|http://(?:127\.0\.0\.1|localhost|\[::1\]))"
        r"(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
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


def check_text(value: str | None, where: str, *, multiline: bool = False) -> None:
    """Human text: NFC, no control or invisible formatting characters, no outer whitespace.

    Lengths are checked by the struct's type; ``None`` (an absent optional member) passes.
    """
    if value is None:
        return
    if value != value.strip():
        raise MalformedToken(f"{where}: leading or trailing whitespace")
    # isprintable() is False for every control, format and separator character except the
    # ASCII space; a statement may also contain line breaks.
    if not value.isprintable() and not (multiline and value.replace("\n", "").isprintable()):
        raise MalformedToken(f"{where}: control or invisible formatting characters")
    if not unicodedata.is_normalized("NFC", value):
        raise MalformedToken(f"{where}: text must be in Unicode normalization form NFC")


def check_did(value: str | None, where: str) -> None:
    """A did:key naming a strict Ed25519 public key (spec §2.4); ``None`` passes."""
    if value is None:
        return
    try:
        PublicKey.from_did(value)
    except InvalidKey as e:
        raise MalformedToken(f"{where}: {e}") from e
