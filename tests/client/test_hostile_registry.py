"""The SDK (sync and async) and ``endorse verify`` against a hostile registry process on
loopback (``hostile_registry.py``): whatever it sends, the call ends with one of the SDK's
registry errors (exit 3 in the CLI) or an honest verdict, within the deadline, in bounded
memory, and leaves no state that outlives an honest answer.

Each probe runs in a subprocess of its own, so its peak memory (``VmHWM``) and its time are
its own; the CLI runs in it in-process, its time counted from the command's start (its own
work included). Timeouts are 1 s: every bound asserted derives from the deadline design (one
deadline per call, spec §8.19), with a margin for a loaded machine.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_registry import REGISTRY_KEY, FakeRegistry
from sdk_helpers import VirtualClock

from endorse.client import RegistryError, RegistryStatementInvalid, StatusBitCleared
from endorse.client._core import Core
from endorse.client._shell import MAX_RESPONSE_BYTES, Body
from endorse.client._wire import AnswerMalformed, Request, Response, decode_answer
from endorse.client.cache import MAX_FACT_TTL, FactCache, ListFact
from endorse.protocol import MIN_SIZE, Bitstring, KeyBinding, SigningKey, StatusList, sign

HERE = Path(__file__).resolve().parent
ALICE = SigningKey.from_seed(b"\x21" * 32)
TIMEOUT = 1.0
SLACK = 3.0
"""Seconds a probe may take beyond its timeout: process scheduling on a loaded machine (the
bound itself comes from the deadline: nothing waits past it)."""
MAX_RSS_MB = 200
PROBE_LIMIT = 60
"""Seconds after which a probe is killed (a hang)."""

PROBE = r"""
import asyncio, contextlib, json, sys, time
from pathlib import Path
from endorse.client import AsyncClient, Client
from endorse.client.cli import main
from endorse.protocol import EndorseError

args = json.loads(sys.argv[1])
options = dict(registry_key=args["key"], timeout=args["timeout"], pin_store=Path(args["pins"]))

async def run_async():
    async with AsyncClient(args["url"], **options) as client:
        return await client.verify(args["token"])

def run_sync():
    with Client(args["url"], **options) as client:
        return client.verify(args["token"])

def run_cli():
    try:
        with contextlib.redirect_stdout(sys.stderr):
            main(args["argv"])
    except SystemExit as e:
        return e.code

started = time.monotonic()
try:
    if args["flavour"] == "cli":
        outcome = f"exit:{run_cli()}"
    else:
        result = run_sync() if args["flavour"] == "sync" else asyncio.run(run_async())
        outcome = "verdict:" + result.verdict.value
except EndorseError as e:
    outcome = "error:" + type(e).__name__
except BaseException as e:  # what must never happen: a crash of another kind
    outcome = "crash:" + type(e).__name__
elapsed = time.monotonic() - started
# This process's own peak (ru_maxrss would include the parent's, inherited at exec).
status = Path("/proc/self/status").read_text()
peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "elapsed": elapsed, "rss_mb": peak / 1024}))
"""


class Hostile:
    """The hostile registry process, and the honest answers it starts from."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "hostile_registry.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}"
        self.http = httpx.Client(timeout=30)
        self.fake = FakeRegistry(self.url)
        self.fake.bind(ALICE)
        self.token = self.fake.token(ALICE)

    def set(self, path: str, **rule: Any) -> None:
        body = rule.pop("body", b"")
        rule["body"] = base64.b64encode(body).decode()
        self.http.put(f"{self.url}/_control{path}", json=rule).raise_for_status()

    def honest(self, path: str) -> None:
        """Answer ``path`` as the fake registry would, now."""
        answer = self.fake.handle(httpx.Request("GET", self.url + path))
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
        self.set(path, status=answer.status_code, headers=headers, body=answer.content)

    def honest_all(self) -> None:
        self.http.delete(f"{self.url}/_control").raise_for_status()
        for path in (WELL_KNOWN, IDENTITY, LIST):
            self.honest(path)

    def attack(self, path: str, rule: dict[str, Any]) -> None:
        """Serve ``rule`` on ``path`` and the honest answers elsewhere (``*``: everywhere)."""
        if path == "*":
            self.http.delete(f"{self.url}/_control").raise_for_status()
        else:
            self.honest_all()
        self.set(path, **dict(rule))

    def count(self, path: str) -> int:
        counts: dict[str, int] = self.http.get(f"{self.url}/_count").json()
        return counts.get(path, 0)

    def close(self) -> None:
        self.http.close()
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(10)
        self.process.stdout.close()


WELL_KNOWN = "/.well-known/endorse-registry"
IDENTITY = f"/api/v1/identities/{ALICE.did}"
LIST = "/api/v1/status-lists/list-1"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    registry = Hostile()
    try:
        yield registry
    finally:
        registry.close()


@pytest.fixture
def honest(hostile: Hostile) -> Hostile:
    hostile.honest_all()
    return hostile


def probe(hostile: Hostile, flavour: str, tmp_path: Path) -> dict[str, Any]:
    """Verify the token once with ``flavour`` (sync, async or cli) in a subprocess: its
    outcome (``verdict:…``, ``error:…``, ``exit:N``), seconds and peak memory (MB)."""
    home = tmp_path / "home"
    env = {**os.environ, "ENDORSE_HOME": str(home)}
    for name in ("ENDORSE_REGISTRY", "ENDORSE_CONFIG", "XDG_CONFIG_HOME"):
        env.pop(name, None)
    argv = [
        "verify",
        hostile.token,
        "--registry",
        hostile.url,
        "--registry-key",
        REGISTRY_KEY.did,
        "--timeout",
        str(TIMEOUT),
        "--json",
    ]
    args = {
        "flavour": flavour,
        "url": hostile.url,
        "key": REGISTRY_KEY.did,
        "timeout": TIMEOUT,
        "pins": str(tmp_path / "pins.json"),
        "token": hostile.token,
        "argv": argv,
    }
    command = [sys.executable, "-c", PROBE, json.dumps(args)]
    out = subprocess.run(command, env=env, capture_output=True, timeout=PROBE_LIMIT, check=False)
    stderr = out.stderr.decode(errors="replace")
    if out.returncode != 0 or "Traceback" in stderr:
        return {"outcome": f"died:{out.returncode}", "stderr": stderr[-400:]}
    answer: dict[str, Any] = json.loads(out.stdout)
    answer["stderr"] = stderr
    return answer


# --- the attacks ---------------------------------------------------------------------------

DEEP = 200_000
BOMB = 512 * 1024 * 1024
"""Bytes a gzip bomb inflates to: far more than the memory bound, so a client that inflated
it would fail the bound (about 0.5 MB on the wire for one layer, 2 KB for two)."""


def _described(url: str, member: str, value: bytes) -> bytes:
    """A description of the registry with ``member``'s value replaced by raw bytes."""
    head = json.dumps(
        {"registry": url, "key": REGISTRY_KEY.did, "protocol_version": 1, "status_max_age": 300}
    ).encode()
    return head[:-1] + f', "{member}": '.encode() + value + b"}"


def attacks(url: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each attack: the path it is served on (``*``: all) and its rule."""
    deep_array = b"[" * DEEP + b"]" * DEEP
    deep_object = b'{"a":' * DEEP + b"1" + b"}" * DEEP
    return {
        "deep_member": (
            WELL_KNOWN,
            {"headers": JSON, "body": _described(url, "endpoints", deep_array)},
        ),
        "deep_object": (IDENTITY, {"headers": JSON, "body": deep_object}),
        "deep_problem": (
            IDENTITY,
            {
                "status": 500,
                "headers": {"content-type": "application/problem+json"},
                "body": deep_object,
            },
        ),
        "bad_utf8_well_known": (
            WELL_KNOWN,
            {"headers": JSON, "body": _described(url, "server_version", b'"\xff\xfe caf\xc3"')},
        ),
        "bad_utf8_list": (LIST, {"headers": JSON, "body": b'{"token": "status-list-v1.\xff\xfe"}'}),
        "gzip_bomb_chained": (
            WELL_KNOWN,
            {"attack": "gzip_bomb", "layers": 2, "size": BOMB, "headers": JSON},
        ),
        "gzip_bomb": (LIST, {"attack": "gzip_bomb", "layers": 1, "size": BOMB, "headers": JSON}),
        "big_body": (LIST, {"attack": "big_body", "size": 500_000_000, "headers": JSON}),
        "black_hole": ("*", {"attack": "black_hole"}),
        "trickle_headers": ("*", {"attack": "trickle_headers", "interval": 0.2}),
        "trickle_body": ("*", {"attack": "trickle_body", "interval": 0.2, "headers": JSON}),
        "retry_after_storm": (
            "*",
            {
                "status": 503,
                "headers": {"content-type": "application/problem+json", "retry-after": "30"},
                "body": b'{"type": "urn:endorse:problem:unavailable", "title": "busy"}',
            },
        ),
    }


EXPECTED = {
    "deep_member": "RegistryStatementInvalid",
    "deep_object": "RegistryStatementInvalid",
    "deep_problem": "RegistryError",
    "bad_utf8_well_known": "RegistryStatementInvalid",
    "bad_utf8_list": "RegistryStatementInvalid",
    "gzip_bomb_chained": "RegistryStatementInvalid",
    "gzip_bomb": "RegistryStatementInvalid",
    "big_body": "RegistryStatementInvalid",
    "black_hole": "RegistryUnreachable",
    "trickle_headers": "RegistryUnreachable",
    "trickle_body": "RegistryUnreachable",
    "retry_after_storm": "RegistryError",
}
"""The SDK's error for each attack (the CLI exits 3 for every one of them)."""


@pytest.mark.parametrize("flavour", ["sync", "async", "cli"])
@pytest.mark.parametrize("attack", list(EXPECTED))
def test_a_hostile_answer_is_a_registry_error_in_time_and_bounded_memory(
    hostile: Hostile, attack: str, flavour: str, tmp_path: Path
) -> None:
    path, rule = attacks(hostile.url)[attack]
    hostile.attack(path, rule)
    seen = probe(hostile, flavour, tmp_path)
    expected = "exit:3" if flavour == "cli" else f"error:{EXPECTED[attack]}"
    assert seen["outcome"] == expected, seen
    # One deadline per call: connecting, headers, body, retries and Retry-After all end
    # by it, however the registry stalls.
    assert seen["elapsed"] < TIMEOUT + SLACK, seen
    assert seen["rss_mb"] < MAX_RSS_MB, seen


def test_the_honest_registry_answers_valid(honest: Hostile, tmp_path: Path) -> None:
    """The probes themselves: against the honest answers, every flavour says valid."""
    for flavour, expected in (("sync", "verdict:valid"), ("async", "verdict:valid")):
        assert probe(honest, flavour, tmp_path)["outcome"] == expected
    assert probe(honest, "cli", tmp_path)["outcome"] == "exit:0"


# --- state the registry must not be able to poison ------------------------------------------


def _pinned(connect: Any, hostile: Hostile, **options: Any) -> Any:
    return connect(hostile.url, registry_key=REGISTRY_KEY.did, timeout=5.0, **options)


def test_a_future_dated_list_is_not_kept(connect: Any, honest: Hostile) -> None:
    honest.fake.list_age = -3600  # the registry's clock an hour ahead
    honest.honest(LIST)
    honest.fake.list_age = 0
    client = _pinned(connect, honest)
    assert client.verify(honest.token).verdict.value == "status_unavailable"
    # Not stored: the next honest list is taken at once.
    honest.honest(LIST)
    assert client.verify(honest.token).verdict.value == "valid"


def test_a_poisoned_cache_recovers_on_the_next_honest_list(
    connect: Any, honest: Hostile, tmp_path: Path
) -> None:
    # A cache directory that holds a list dated years ahead (stored by an older client).
    cache_dir = tmp_path / "cache"
    cache = FactCache(directory=cache_dir)
    cache.attach(honest.url, REGISTRY_KEY.public_key)
    now = int(time.time())
    ahead = StatusList(honest.url, "list-1", now + 3 * 365 * 86400, 300, Bitstring(MIN_SIZE))
    token = sign(ahead.to_token_object(), REGISTRY_KEY)
    # As that client kept it: not to be asked for again before it is stale, years from now,
    # and with its ETag (a registry answering "not modified" must not keep it either).
    cache.put_list(ListFact("list-1", ahead, token, '"v1"', now, ahead.fresh_until))
    client = _pinned(connect, honest, cache_dir=cache_dir)
    assert client.verify(honest.token).verdict.value == "valid"
    again = FactCache(directory=cache_dir)
    again.attach(honest.url, REGISTRY_KEY.public_key)
    held = again.status_list("list-1")
    assert held is not None and held.status.issued_at <= now + 60


def test_a_cleared_status_bit_is_a_registry_fault(
    connect: Any, honest: Hostile, tmp_path: Path
) -> None:
    fake = honest.fake
    fake.cache_control = "max-age=0"  # every verification asks for the list again
    try:
        fake.revoke("list-1", 5)
        honest.honest(LIST)
        cache_dir = tmp_path / "cache"
        client = _pinned(connect, honest, cache_dir=cache_dir)
        assert client.verify(honest.token).verdict.value == "revoked"
        fake.lists["list-1"] = Bitstring(MIN_SIZE)  # the registry "forgets" the revocation
        fake.versions["list-1"] += 1
        honest.honest(LIST)
        with pytest.raises(StatusBitCleared) as cleared:
            client.verify(honest.token)
        assert cleared.value.indexes == [5] and cleared.value.list_id == "list-1"
        # Across the cache directory: a new client holding the list from disk says so too.
        with pytest.raises(StatusBitCleared):
            _pinned(connect, honest, cache_dir=cache_dir).verify(honest.token)
        # The registry sets the bit again: the list is taken, the token revoked.
        fake.lists["list-1"].set(5)
        honest.honest(LIST)
        assert client.verify(honest.token).verdict.value == "revoked"
    finally:
        fake.cache_control = None
        fake.lists["list-1"] = Bitstring(MIN_SIZE)


def test_key_state_freshness_is_bounded_by_the_client(connect: Any, honest: Hostile) -> None:
    week = 7 * 86400
    honest.set(WELL_KNOWN, headers=JSON, body=_described(honest.url, "status_max_age", b"604800"))
    client = _pinned(connect, honest)
    assert client.verify(honest.token).verdict.value == "valid"
    assert client.info.status_max_age == week  # what it said
    fact = client._core.cache.issuer(ALICE.did)
    assert fact.fresh_until - fact.fetched_at == MAX_FACT_TTL < week


def test_retry_after_waits_only_within_the_deadline() -> None:
    core = Core(
        "https://registry.example",
        registry_key=REGISTRY_KEY.did,
        pins=None,
        cache=FactCache(),
        retries=2,
    )
    read = Request("GET", "https://registry.example/x", {}, b"", True)
    busy = Response(503, {"retry-after": "5"}, b"")
    assert core.retry_delay(read, busy, 0, 0.0, left=10.0) == 5.0
    assert core.retry_delay(read, busy, 0, 0.0, left=4.0) is None  # the answer, at once
    assert core.retry_delay(read, busy, 0, 26.0, left=100.0) is None  # 30 s in all at most


def test_a_binding_dated_ahead_serves_one_call_only(connect: Any, honest: Hostile) -> None:
    now = int(time.time())
    ahead = KeyBinding(
        registry=honest.url,
        key=ALICE.did,
        email="alice@example.com",
        name="Alice Smith",
        since=now - 60,
        method="email-code",
        issued_at=now + 3600,
    )
    body = json.dumps({"key": ALICE.did, "binding": sign(ahead, REGISTRY_KEY)}).encode()
    honest.set(IDENTITY, headers=JSON, body=body)
    client = _pinned(connect, honest)
    assert client.verify(honest.token).verdict.value == "valid"
    fact = client._core.cache.issuer(ALICE.did)
    assert fact.fresh_until == fact.refresh_at == fact.fetched_at  # due again at once
    asked = honest.count(IDENTITY)
    honest.honest(IDENTITY)
    assert client.verify(honest.token).verdict.value == "valid"
    assert honest.count(IDENTITY) == asked + 1
    assert client._core.cache.issuer(ALICE.did).fresh_until > int(time.time())


# --- the bounded decoder, case by case ------------------------------------------------------


def test_one_layer_of_gzip_is_read(connect: Any, honest: Hostile) -> None:
    # A proxy that compresses anyway: one layer is inflated, within the cap.
    answer = honest.fake.handle(httpx.Request("GET", honest.url + LIST))
    packed = gzip.compress(answer.content)
    honest.set(LIST, headers={**JSON, "content-encoding": "gzip"}, body=packed)
    assert _pinned(connect, honest).verify(honest.token).verdict.value == "valid"


def _body(content: bytes, **headers: str) -> bytes:
    body = Body(httpx.Headers(headers), "https://registry.example")
    body.feed(content)
    return body.content()


@pytest.mark.parametrize(
    ("name", "headers", "content"),
    [
        ("coding_deflate", {"content-encoding": "deflate"}, zlib.compress(b"{}")),
        ("coding_br", {"content-encoding": "br"}, b"\x0b\x01\x80{}\x03"),
        ("coding_gzip_gzip", {"content-encoding": "gzip, gzip"}, gzip.compress(b"{}")),
        ("coding_gzip_twice", {"content-encoding": "gzip"}, gzip.compress(b"{}") * 2),
        ("gzip_truncated", {"content-encoding": "gzip"}, gzip.compress(b"{}")[:-4]),
        ("gzip_corrupt", {"content-encoding": "gzip"}, b"\x1f\x8b" + b"\x00" * 20),
        (
            "gzip_inflates_past_the_cap",
            {"content-encoding": "gzip"},
            gzip.compress(bytes(MAX_RESPONSE_BYTES + 1)),
        ),
        ("length_past_the_cap", {"content-length": str(MAX_RESPONSE_BYTES + 1)}, b""),
        ("body_past_the_cap", {}, bytes(MAX_RESPONSE_BYTES + 1)),
    ],
)
def test_the_body_reader_refuses(name: str, headers: dict[str, str], content: bytes) -> None:
    with pytest.raises(RegistryStatementInvalid):
        _body(content, **headers)


def test_the_body_reader_reads() -> None:
    assert _body(b'{"a": 1}') == b'{"a": 1}'
    assert _body(b'{"a": 1}', **{"content-encoding": "identity"}) == b'{"a": 1}'
    assert _body(gzip.compress(b'{"a": 1}'), **{"content-encoding": "GZIP"}) == b'{"a": 1}'
    assert _body(b"", **{"content-encoding": "gzip"}) == b""  # a 304 naming its coding
    exact = bytes(MAX_RESPONSE_BYTES)
    assert _body(gzip.compress(exact), **{"content-encoding": "gzip"}) == exact


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("not_utf8", b'{"a": "\xff"}'),
        ("lone_surrogate_bytes", b'{"a": "\xed\xa0\x80"}'),
        ("deep_array", b"[" * 17 + b"]" * 17),
        ("deep_object", b'{"a":' * 17 + b"1" + b"}" * 17),
        ("deep_mixed", b'[{"a":' * 9 + b"1" + b"}]" * 9),
        ("deep_200000", b"[" * 200_000 + b"]" * 200_000),
        ("unbalanced", b"[" * 40 + b"]"),
        ("not_json", b"{'a': 1}"),
        ("wrong_shape", b"[1, 2]"),
        ("huge_number", b'{"a": 1e999999}'),
    ],
)
def test_the_decoder_refuses(name: str, content: bytes) -> None:
    with pytest.raises(AnswerMalformed):
        decode_answer(content, dict[str, Any])


def test_the_decoder_reads_what_is_shallow_enough() -> None:
    sixteen = b"[" * 14 + b"{}" + b"]" * 14  # inside the outer object: 16 levels
    assert decode_answer(b'{"a": ' + sixteen + b"}", dict[str, Any])["a"]
    # Brackets and escaped quotes inside strings are text, not depth.
    tricky = b'{"a": "' + b"[" * 100 + b'\\"' + b"{" * 100 + b'\\\\", "b": [1]}'
    assert decode_answer(tricky, dict[str, Any])["b"] == [1]


def test_retry_after_is_waited_only_while_the_deadline_allows(
    connect: Any, hostile: Hostile, clock: VirtualClock
) -> None:
    busy = {
        "status": 503,
        "headers": {"content-type": "application/problem+json", "retry-after": "1"},
        "body": b'{"type": "urn:endorse:problem:unavailable", "title": "busy"}',
    }
    hostile.attack("*", busy)
    client = connect(hostile.url, registry_key=REGISTRY_KEY.did, timeout=1.5, retries=5)
    started = time.monotonic()
    with pytest.raises(RegistryError) as refused:
        client.verify(hostile.token)
    took = time.monotonic() - started
    assert (refused.value.status, refused.value.retry_after) == (503, 1)
    # /.well-known was asked, waited for once (1 s of the 1.5), asked again; the key state
    # then had 0.5 s left: its Retry-After was not waited for.
    assert hostile.count(WELL_KNOWN) == 2 and hostile.count(IDENTITY) == 1
    # The wait is the clients' (virtual) one: it counts against the deadline like a real one.
    assert clock.slept == [1]
    assert took < 0.5 + SLACK
