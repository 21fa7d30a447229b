"""A worker process of :class:`~endorse.protocol.SignaturePool`: Ed25519 checks by libsodium.

Started by path (``python -P _signature_worker.py``), not as a module of the package, so that it
imports PyNaCl's bindings and nothing else: no ``endorse.protocol``, and never the program
that started it (which ``multiprocessing``'s spawn and forkserver methods import again in each
worker, and which breaks a script that lacks the ``if __name__ == "__main__"`` guard). ``-P``
keeps this file's directory off ``sys.path``, where ``token.py`` would shadow the standard
library's ``token``.

Reads requests from standard input until it ends, and answers each on standard output, in
order. A request: a header (``count``, ``size``: little-endian uint32), then ``size`` bytes:
``count`` little-endian uint32 message lengths, then for each message its 32-byte public key
and the message (libsodium's signed message: the 64-byte signature, then what was signed). The
answer: ``count`` bytes, 1 where ``crypto_sign_open`` accepts the message under the key, else
0. Ctrl-C is for the process that started it (which decides what to stop), not for this one.
"""

from __future__ import annotations

import signal
import struct
import sys
from typing import BinaryIO

import nacl.bindings

HEADER = struct.Struct("<II")
KEY_BYTES = 32


def _read(stream: BinaryIO, size: int) -> bytes | None:
    """Exactly ``size`` bytes, or None at the end of the input."""
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def answer(body: bytes, count: int) -> bytes:
    """The verdicts of one request's ``body`` of ``count`` messages (see the module)."""
    lengths = struct.unpack_from(f"<{count}I", body)
    verdicts = bytearray(count)
    sign_open = nacl.bindings.crypto_sign_open
    offset = 4 * count
    for i, length in enumerate(lengths):
        key = body[offset : offset + KEY_BYTES]
        offset += KEY_BYTES
        message = body[offset : offset + length]
        offset += length
        try:
            sign_open(message, key)
        except Exception:  # noqa: S112 - any failure is a 0: the caller finds out why
            continue
        verdicts[i] = 1
    return bytes(verdicts)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while (header := _read(requests, HEADER.size)) is not None:
        count, size = HEADER.unpack(header)
        body = _read(requests, size)
        if body is None:
            return
        answers.write(answer(body, count))
        answers.flush()


if __name__ == "__main__":
    main()
