"""Status lists: revocation bitstrings with herd privacy (spec §5).

A list holds at least 131,072 entries (the W3C Bitstring Status List minimum), so one fetch
reveals nothing about which of many tokens a verifier cared about. Bit ``i`` is the ``i``-th
bit counting from the most significant bit of the first byte (W3C order); 1 means revoked.
On the wire the bytes are gzip-compressed (RFC 1952) and base64url-encoded.

Decoding inflates at most ``size / 8`` bytes and refuses anything that would inflate further,
so a small token cannot expand into a large allocation.

>>> bits = Bitstring(MIN_SIZE)
>>> bits.set(42)
>>> Bitstring.decode(bits.encode(), MIN_SIZE).get(42)
True
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

from endorse.protocol.encoding import b64url_decode, b64url_encode
from endorse.protocol.errors import InvalidArgument, MalformedToken
from endorse.protocol.objects import STATUS_LIST_MAX_SIZE, STATUS_LIST_MIN_SIZE, StatusListToken

MIN_SIZE = STATUS_LIST_MIN_SIZE
"""Fewest entries in a list (herd privacy)."""
MAX_SIZE = STATUS_LIST_MAX_SIZE
"""Most entries in a list: 2 MiB of bits, bounding what a decoder allocates."""


_BYTES_LIKE = (bytes, bytearray, memoryview)  # what a database driver may return


def _check_size(size: int) -> None:
    if type(size) is not int:
        raise InvalidArgument("a status list size is an int")
    if not MIN_SIZE <= size <= MAX_SIZE or size % 8:
        raise MalformedToken(
            f"status list size must be a multiple of 8 from {MIN_SIZE} to {MAX_SIZE}"
        )


class Bitstring:
    """A mutable bitstring of ``size`` entries, all 0 (not revoked) at first.

    Raises (all methods):
        MalformedToken: a size out of range, an index outside the list, bits that do not
            decode.
        InvalidArgument: an argument of the wrong type (a size that is not an int, data that
            is not bytes, a value that is not a bool).
    """

    __slots__ = ("_bytes", "size")

    def __init__(self, size: int, data: bytes | bytearray | memoryview | None = None) -> None:
        _check_size(size)
        if data is not None and type(data) not in _BYTES_LIKE:
            raise InvalidArgument("status list data must be bytes")
        if data is not None and len(data) != size // 8:
            raise MalformedToken(f"status list holds {len(data) * 8} bits, declared {size}")
        self.size = size
        self._bytes = bytearray(data if data is not None else size // 8)

    def _locate(self, index: int) -> tuple[int, int]:
        if type(index) is not int or not 0 <= index < self.size:
            raise MalformedToken(f"status index {index!r} outside 0..{self.size - 1}")
        return index >> 3, 0x80 >> (index & 7)

    def get(self, index: int) -> bool:
        """Whether entry ``index`` is set (revoked)."""
        byte, mask = self._locate(index)
        return bool(self._bytes[byte] & mask)

    def set(self, index: int, value: bool = True) -> None:
        """Set (or with ``value=False`` clear) entry ``index``."""
        if type(value) is not bool:
            raise InvalidArgument("a status list entry is set to True or False")
        byte, mask = self._locate(index)
        if value:
            self._bytes[byte] |= mask
        else:
            self._bytes[byte] &= ~mask & 0xFF

    def count(self) -> int:
        """How many entries are set."""
        return sum(b.bit_count() for b in self._bytes)

    def to_bytes(self) -> bytes:
        return bytes(self._bytes)

    def encode(self) -> str:
        """gzip (mtime 0, so equal lists encode equally) then base64url."""
        return b64url_encode(gzip.compress(self._bytes, compresslevel=9, mtime=0))

    @classmethod
    def decode(cls, encoded: str, size: int) -> Bitstring:
        """Decode ``encoded`` as a list of exactly ``size`` entries.

        Raises:
            MalformedToken: not base64url text, not gzip, truncated, trailing data, or
                inflating to anything but ``size / 8`` bytes; a size out of range.
            InvalidArgument: ``size`` is not an int.
        """
        _check_size(size)
        compressed = b64url_decode(encoded, what="status list bits")
        expected = size // 8
        # wbits 16+15: gzip container only. max_length caps the allocation; one extra byte
        # lets us detect a stream that would inflate beyond the declared size.
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(compressed, expected + 1)
        except zlib.error as e:
            raise MalformedToken(f"status list bits are not valid gzip: {e}") from e
        if len(data) > expected:
            raise MalformedToken(f"status list inflates beyond its declared {size} entries")
        if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
            raise MalformedToken("status list gzip stream is truncated or has trailing data")
        return cls(size, data)


@dataclass(frozen=True, slots=True)
class StatusList:
    """A status list whose registry signature has been checked; see :func:`verify_status_list`.

    ``fresh_until`` is ``issued_at + max_age``: after it, a verifier must fetch anew.

    Raises:
        InvalidArgument: a field of the wrong type (when built in code).
    """

    registry: str
    list_id: str
    issued_at: int
    max_age: int
    bits: Bitstring

    def __post_init__(self) -> None:
        if (
            type(self.registry) is not str
            or type(self.list_id) is not str
            or type(self.issued_at) is not int
            or type(self.max_age) is not int
            or type(self.bits) is not Bitstring
        ):
            raise InvalidArgument(
                "StatusList(registry: str, list_id: str, issued_at: int, max_age: int,"
                " bits: Bitstring)"
            )

    @property
    def fresh_until(self) -> int:
        return self.issued_at + self.max_age

    def is_revoked(self, index: int) -> bool:
        return self.bits.get(index)

    @classmethod
    def from_token_object(cls, obj: StatusListToken) -> StatusList:
        """Decode the bits of an already verified status-list object.

        Raises:
            MalformedToken: the bits do not decode.
            InvalidArgument: ``obj`` is not a StatusListToken.
        """
        if type(obj) is not StatusListToken:
            raise InvalidArgument("from_token_object needs a StatusListToken")
        return cls(
            obj.registry,
            obj.list_id,
            obj.issued_at,
            obj.max_age,
            Bitstring.decode(obj.bits, obj.size),
        )

    def to_token_object(self) -> StatusListToken:
        """The object to sign for publishing this list."""
        return StatusListToken(
            registry=self.registry,
            list_id=self.list_id,
            issued_at=self.issued_at,
            max_age=self.max_age,
            size=self.bits.size,
            bits=self.bits.encode(),
        )
