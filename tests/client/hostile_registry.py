"""A hostile registry: a real process on loopback that answers each path as it is told to,
honestly or with one misbehaviour (stall, trickle, bomb, malformed bytes).

Run as ``python hostile_registry.py``: it prints its port on stdout, then serves until its
stdin closes (so it never outlives the test that started it). Only the standard library is
used: what it sends is exactly the bytes below, with no HTTP library to tidy them up.

A rule is set with ``PUT /_control/<path>`` (``*`` for every path without a rule of its own)
and a JSON body ``{"attack": …, "status": …, "headers": {…}, "body": <base64>}``;
``DELETE /_control`` drops them all; ``GET /_count`` says how many requests each path got.
Attacks:

- ``answer``: the given status, headers and body (``content-length`` added).
- ``black_hole``: read the request, never answer.
- ``trickle_headers``: a status line, then one byte of a header every ``interval`` seconds.
- ``trickle_body``: the given status and headers with a large ``content-length``, then one
  byte of the body every ``interval`` seconds.
- ``big_body``: the given status and headers, then ``size`` bytes of JSON-ish filler as fast
  as the client reads.
- ``gzip_bomb``: ``size`` zero bytes, gzipped ``layers`` times, with
  ``content-encoding: gzip`` repeated once per layer.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import zlib
from typing import Any

Rule = dict[str, Any]
_rules: dict[str, Rule] = {}
_counts: dict[str, int] = {}
_bombs: dict[tuple[int, int], bytes] = {}


def _gzip(chunks: Any) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = bytearray()
    for chunk in chunks:
        out += packer.compress(chunk)
    out += packer.flush()
    return bytes(out)


def _bomb(size: int, layers: int) -> bytes:
    """``size`` zero bytes gzipped ``layers`` times (each made once: they take seconds)."""
    if (size, layers) not in _bombs:
        if layers == 1:
            block = bytes(1 << 20)
            chunks = (block[: min(len(block), size - i)] for i in range(0, size, len(block)))
            _bombs[(size, 1)] = _gzip(chunks)
        else:
            _bombs[(size, layers)] = _gzip([_bomb(size, layers - 1)])
    return _bombs[(size, layers)]


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _serve(rule: Rule, writer: asyncio.StreamWriter) -> bool:
    """Answer one request by ``rule``; whether the connection may serve another."""
    attack = rule.get("attack", "answer")
    status = int(rule.get("status", 200))
    headers = dict(rule.get("headers", {}))
    body = base64.b64decode(rule.get("body", ""))
    interval = float(rule.get("interval", 0.2))
    if attack == "answer":
        headers.setdefault("content-length", str(len(body)))
        writer.write(_head(status, headers) + body)
        await writer.drain()
        return True
    if attack == "black_hole":
        # Never answer: hold the connection until the client gives up or this process ends
        # (an event nobody sets, not a timed wait).
        await asyncio.Event().wait()
    elif attack == "trickle_headers":
        writer.write(b"HTTP/1.1 200 OK\r\n")
        while True:
            writer.write(b"a")
            await writer.drain()
            await asyncio.sleep(interval)
    elif attack == "trickle_body":
        headers["content-length"] = "1000000"  # under any size cap: only time stops it
        writer.write(_head(status, headers) + b'{"token": "')
        while True:
            await writer.drain()
            await asyncio.sleep(interval)
            writer.write(b"a")
    elif attack == "big_body":
        size = int(rule["size"])
        headers["content-length"] = str(size)
        writer.write(_head(status, headers))
        block = b'{"a":"' + b"b" * 65526 + b'"}\n'
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()
    elif attack == "gzip_bomb":
        layers = int(rule.get("layers", 1))
        bomb = _bomb(int(rule["size"]), layers)
        headers["content-encoding"] = ", ".join(["gzip"] * layers)
        headers["content-length"] = str(len(bomb))
        writer.write(_head(status, headers) + bomb)
        await writer.drain()
    return False


async def _control(method: str, path: str, body: bytes, writer: asyncio.StreamWriter) -> None:
    answer = b"{}"
    if method == "PUT":
        rule = json.loads(body)
        if rule.get("attack") == "gzip_bomb":  # made now, so the answer later is at once
            _bomb(int(rule["size"]), int(rule.get("layers", 1)))
        _rules[path.removeprefix("/_control")] = rule
    elif method == "DELETE":
        _rules.clear()
        _counts.clear()
    elif path == "/_count":
        answer = json.dumps(_counts).encode()
    writer.write(_head(200, {"content-length": str(len(answer))}) + answer)
    await writer.drain()


async def _connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            path = target.split("?", 1)[0]
            if path.startswith(("/_control", "/_count")):
                await _control(method, path, body, writer)
                continue
            _counts[path] = _counts.get(path, 0) + 1
            rule = _rules.get(path) or _rules.get("*") or {"status": 404}
            if not await _serve(rule, writer):
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    except asyncio.CancelledError:
        pass  # shutting down, with a request held in a black hole
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(_connection, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    # Serve until the test that started this process closes its stdin (or dies).
    await loop.run_in_executor(None, sys.stdin.buffer.read)


if __name__ == "__main__":
    asyncio.run(main())
