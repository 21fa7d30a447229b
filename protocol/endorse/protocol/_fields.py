"""Field readers for parsing decoded payloads into typed objects (spec §4.1).

A :class:`Fields` wraps one decoded JSON object. Each ``take_*`` removes a member, checks its
type and limits, and raises :class:`MalformedToken` naming the member; :meth:`Fields.done`
refuses whatever members are left (unknown fields are never ignored).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from endorse.protocol.errors import InvalidKey, MalformedToken
from endorse.protocol.keys import PublicKey

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{21}[AQgw]")  # 16 random bytes, canonical base64url
_EMAIL = re.compile(
    r"[^\s@\"<>()\[\],;:\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_TOKEN_TEXT = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces
_REGISTRY = re.compile(
    r"(https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?|"
    r"http://(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?)"
    r"(?:/[A-Za-z0-9._~/-]*)?"
)
_PERIOD = re.compile(r"[0-9]{4}(?:-(?:0[1-9]|1[0-2]))?")


def check_text(value: str, where: str, key: str, max_chars: int, *, multiline: bool = False) -> str:
    """Human text: 1..max_chars characters, NFC, no control characters, no outer spaces.

    The member's name is passed as ``where`` and ``key`` and joined only for an error: this
    runs for every text member of every token verified.
    """
    problem = None
    if not 1 <= len(value) <= max_chars:
        problem = f"must be 1 to {max_chars} characters"
    elif value != value.strip():
        problem = "leading or trailing whitespace"
    elif not value.isprintable() and not (multiline and value.replace("\n", "").isprintable()):
        # isprintable() is False for every control, format and separator character except
        # the ASCII space; a statement may also contain line breaks.
        problem = "control or invisible formatting characters"
    elif not unicodedata.is_normalized("NFC", value):
        problem = "text must be in Unicode normalization form NFC"
    if problem is not None:
        raise MalformedToken(f"{where}.{key}: {problem}")
    return value


def check_email(value: str, name: str) -> str:
    if len(value) > 254 or _EMAIL.fullmatch(value) is None:
        raise MalformedToken(f"{name}: not an e-mail address (local@domain, at most 254)")
    return value


def check_registry(value: str, name: str = "registry") -> str:
    """An https URL (or http on loopback for development) without query or fragment."""
    if len(value) > 200 or _REGISTRY.fullmatch(value) is None or value.endswith("/"):
        raise MalformedToken(
            f"{name}: must be an https URL (http only on loopback), no trailing slash,"
            " query or fragment, at most 200 characters"
        )
    return value


def check_did(value: str, where: str, key: str) -> str:
    try:
        PublicKey.from_did(value)
    except InvalidKey as e:
        raise MalformedToken(f"{where}.{key}: {e}") from e
    return value


def check_period(value: str, name: str) -> str:
    if _PERIOD.fullmatch(value) is None:
        raise MalformedToken(f"{name}: must be YYYY or YYYY-MM")
    return value


class Fields:
    """Reads the members of one decoded JSON object; see the module docstring.

    Members are looked up, not copied or popped: unknown members are refused up front by
    comparing the object's names with the ones its reader accepts (``allowed``).
    """

    __slots__ = ("_data", "_where")

    def __init__(self, data: Any, where: str, allowed: frozenset[str]) -> None:
        if type(data) is not dict:
            raise MalformedToken(f"{where}: must be a JSON object")
        if not data.keys() <= allowed:
            names = ", ".join(sorted(data.keys() - allowed)[:5])
            raise MalformedToken(f"{where}: unknown member(s) refused: {names[:120]}")
        self._data: dict[str, Any] = data
        self._where = where

    def name(self, key: str) -> str:
        """The member's path for error messages, e.g. ``endorsement.sub.email``."""
        return f"{self._where}.{key}"

    def has(self, key: str) -> bool:
        return key in self._data

    def _get(self, key: str, expected: type, optional: bool) -> Any:
        value = self._data.get(key)
        if type(value) is expected:
            return value
        if value is None and key not in self._data:
            if optional:
                return None
            raise MalformedToken(f"{self.name(key)}: required member is missing")
        raise MalformedToken(f"{self.name(key)}: must be of JSON type {_JSON_NAMES[expected]}")

    def string(self, key: str) -> str:
        value: str = self._get(key, str, False)
        return value

    def opt_string(self, key: str) -> str | None:
        value: str | None = self._get(key, str, True)
        return value

    def text(self, key: str, max_chars: int, *, multiline: bool = False) -> str:
        value: str = self._get(key, str, False)
        return check_text(value, self._where, key, max_chars, multiline=multiline)

    def opt_text(self, key: str, max_chars: int, *, multiline: bool = False) -> str | None:
        value: str | None = self._get(key, str, True)
        if value is None:
            return None
        return check_text(value, self._where, key, max_chars, multiline=multiline)

    def ascii(self, key: str, max_chars: int) -> str:
        value = self.string(key)
        if not 1 <= len(value) <= max_chars or _TOKEN_TEXT.fullmatch(value) is None:
            raise MalformedToken(
                f"{self.name(key)}: must be 1 to {max_chars} printable ASCII characters"
            )
        return value

    def opt_ascii(self, key: str, max_chars: int) -> str | None:
        return self.ascii(key, max_chars) if key in self._data else None

    def integer(self, key: str, lo: int = 0, hi: int = 2**53 - 1) -> int:
        value: int = self._get(key, int, False)
        if lo <= value <= hi:
            return value
        raise MalformedToken(f"{self.name(key)}: must be an integer from {lo} to {hi}")

    def opt_integer(self, key: str, lo: int = 0, hi: int = 2**53 - 1) -> int | None:
        return self.integer(key, lo, hi) if key in self._data else None

    def boolean(self, key: str) -> bool:
        value: bool = self._get(key, bool, False)
        return value

    def ident(self, key: str) -> str:
        value = self.string(key)
        if ID_PATTERN.fullmatch(value) is None:
            raise MalformedToken(f"{self.name(key)}: must be 16 bytes in canonical base64url")
        return value

    def did(self, key: str) -> str:
        return check_did(self.string(key), self._where, key)

    def opt_did(self, key: str) -> str | None:
        value = self.opt_string(key)
        return None if value is None else check_did(value, self._where, key)

    def registry(self, key: str) -> str:
        return check_registry(self.string(key), self.name(key))

    def email(self, key: str) -> str:
        return check_email(self.string(key), self.name(key))

    def opt_email(self, key: str) -> str | None:
        value = self.opt_string(key)
        return None if value is None else check_email(value, self.name(key))

    def obj(self, key: str, allowed: frozenset[str]) -> Fields:
        return Fields(self._get(key, dict, False), self.name(key), allowed)

    def opt_obj(self, key: str, allowed: frozenset[str]) -> Fields | None:
        value = self._get(key, dict, True)
        return None if value is None else Fields(value, self.name(key), allowed)

    def array(self, key: str, max_items: int) -> list[Any]:
        value: list[Any] = self._get(key, list, False)
        if not 1 <= len(value) <= max_items:
            raise MalformedToken(f"{self.name(key)}: must hold 1 to {max_items} items")
        return value

    def version(self, type_name: str) -> None:
        """The common header: ``type`` must name this object, ``v`` must be 1 (spec §4.1)."""
        found = self.string("type")
        if found != type_name:
            raise MalformedToken(f"type: payload says {found[:40]!r}, expected {type_name!r}")
        if self.integer("v", 0, 2**31) != 1:
            raise MalformedToken("v: unsupported protocol version (this implementation: 1)")


_JSON_NAMES = {str: "string", int: "integer", bool: "boolean", dict: "object", list: "array"}
