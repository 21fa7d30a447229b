"""The inflate-bomb bound of spec §5, measured: decoding never allocates beyond the list.

Refusing a bomb is not enough (a decoder that inflates everything and then compares the length
refuses it too, after allocating it all): the memory used while refusing must stay near the
declared ``size / 8`` bytes. ``tracemalloc`` sees every allocation of the interpreter and of
zlib (whose allocator is the interpreter's).
"""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Callable

import pytest
from helpers import REGISTRY, REGISTRY_KEY

from endorse.protocol import MIN_SIZE, Bitstring, MalformedToken, sign, verify_status_list
from endorse.protocol.encoding import b64url_encode
from endorse.protocol.objects import StatusListToken

BOMB_BYTES = 64 * 1024 * 1024
"""What the bomb inflates to: 4096 times the 16 KiB a list of MIN_SIZE entries holds."""
BOUND = 2 * 1024 * 1024
"""Peak allocation allowed while refusing it: the list, zlib's window, and slack."""


def _bomb() -> str:
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    gz = b"".join(deflater.compress(chunk) for _ in range(BOMB_BYTES // len(chunk)))
    return b64url_encode(gz + deflater.flush())


BOMB = _bomb()


def _peak_while(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with pytest.raises(MalformedToken, match="beyond its declared"):
            action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_bomb_fits_in_a_token() -> None:
    # The bomb is a realistic attack: a status-list token of at most 262144 characters.
    assert len(BOMB) < 200_000


def test_decoding_a_bomb_allocates_no_more_than_the_list() -> None:
    peak = _peak_while(lambda: Bitstring.decode(BOMB, MIN_SIZE))
    assert peak < BOUND, f"{peak} bytes allocated refusing a {BOMB_BYTES}-byte bomb"


def test_verifying_a_signed_bomb_allocates_no_more_than_the_list() -> None:
    token = sign(
        StatusListToken(
            registry=REGISTRY, list_id="bomb", issued_at=0, max_age=60, size=MIN_SIZE, bits=BOMB
        ),
        REGISTRY_KEY,
    )
    peak = _peak_while(lambda: verify_status_list(token, REGISTRY_KEY.public_key, REGISTRY))
    assert peak < BOUND + 2 * len(token), f"{peak} bytes allocated refusing a signed bomb"
