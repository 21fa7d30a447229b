"""SDK verification throughput: ``Client.verify_many`` with warm caches against raw PyNaCl.

A real registry (``python -m endorse.server serve``, SQLite in a temporary directory) is
started and seeded through the SDK: ``--issuers`` endorsers register and confirm (codes read
from the outbox), then issue ``--tokens`` endorsements between them (slot, local signature,
registration). A recruiter's :class:`~endorse.client.Client` verifies them all once, which
fetches every issuer's key state and the status lists (the registry's signatures on them are
checked then); after that the caches are warm and fresh, and the registry is not asked again
(the script counts the requests and fails if it is). Then, interleaved round by round on one
pinned core:

* ``sdk``: ``Client.verify_many(tokens, purpose=…)``: for every token the protocol's full
  verification, with the issuers and lists read from the client's caches and their freshness
  checked at this call's time;
* ``protocol``: :func:`endorse.protocol.verify_endorsement` for every token, with the same
  issuers and status lists in plain dicts, each result dropped at once;
* ``kept``: the same, with the results kept in a list as ``verify_many`` must return them (10,000
  results alive make Python's cyclic garbage collector run more: its cost is not the SDK's);
* ``pynacl``: ``nacl.signing.VerifyKey.verify`` of the same signatures over the same messages
  (``context("endorsement") || payload``), the key objects made beforehand: signature only.

Run: ``python bench/verify_sdk.py`` (10,000 tokens from 100 issuers; ``--quick`` for a smoke
run). Target (issue 4): sdk >= 0.8x pynacl.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import nacl.signing

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "server"))

from live import LiveServer  # noqa: E402

from endorse.client import AsyncClient, Client  # noqa: E402
from endorse.client.demo import confirmation_code  # noqa: E402
from endorse.protocol import (  # noqa: E402
    PublicKey,
    Relationship,
    SigningKey,
    StatusList,
    Subject,
    TrustedIssuer,
    inspect,
    signing_context,
    verify_endorsement,
)
from endorse.protocol.encoding import b64url_decode  # noqa: E402

PURPOSE = "employment-reference"
SERVER_ENV = {
    # Long enough that nothing turns stale while the rounds run: the caches stay warm.
    "ENDORSE_STATUS_MAX_AGE": "3600",
    "ENDORSE_LIMIT_REGISTER_PER_CLIENT": "100000",
    "ENDORSE_LIMIT_REGISTER_PER_EMAIL": "100000",
    "ENDORSE_LIMIT_CONFIRM_PER_CLIENT": "100000",
}
CONCURRENCY = 16
T = TypeVar("T")


class CountingTransport(httpx.BaseTransport):
    """Counts the requests the recruiter's client sends (none are expected once warm)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


async def seed(server: LiveServer, pins: Path, n_issuers: int, n_tokens: int) -> list[str]:
    """Register and confirm ``n_issuers`` endorsers, then issue ``n_tokens`` through the SDK."""
    keys = [SigningKey.generate() for _ in range(n_issuers)]
    emails = [f"endorser{i}@example.com" for i in range(n_issuers)]
    slots = asyncio.Semaphore(CONCURRENCY)

    async def bounded(call: Awaitable[T]) -> T:
        async with slots:
            return await call

    relationship = Relationship("work", "manager", org="Acme Corporation", start="2019", end="2023")
    async with AsyncClient(server.url, pin_store=pins, timeout=60) as client:
        await client.connect()
        pending = await asyncio.gather(
            *(bounded(client.register(k, e, "Endorser")) for k, e in zip(keys, emails, strict=True))
        )
        outbox = server.data_dir / "outbox"
        codes = {e: confirmation_code(outbox, e) for e in emails}
        await asyncio.gather(
            *(
                bounded(client.confirm(k, p, codes[e]))
                for k, p, e in zip(keys, pending, emails, strict=True)
            )
        )
        issued = await asyncio.gather(
            *(
                bounded(
                    client.issue(
                        keys[i % n_issuers],
                        "Endorser",
                        Subject(f"Candidate {i}", email=f"candidate{i}@example.com"),
                        relationship,
                        [PURPOSE],
                        statement="Reliable, kind and thorough; I would hire again.",
                    )
                )
                for i in range(n_tokens)
            )
        )
    return [item.token for item in issued]


@dataclass
class Workload:
    tokens: list[str]
    issuers: dict[str, TrustedIssuer]
    lists: dict[tuple[str, str], StatusList]
    raw: list[tuple[nacl.signing.VerifyKey, bytes, bytes]]


def facts_of(client: Client, tokens: list[str]) -> Workload:
    """Warm the client's caches (one verify_many), and take the facts it verified for the
    ``protocol`` contender and the messages and signatures for ``pynacl``."""
    results = client.verify_many(tokens, purpose=PURPOSE)
    bad = [r for r in results if not r.valid]
    if bad:
        raise SystemExit(f"{len(bad)} seeded tokens not valid: {bad[0].verdict} {bad[0].detail}")
    w = Workload(tokens, {}, {}, [])
    context = signing_context("endorsement")
    keys: dict[str, nacl.signing.VerifyKey] = {}
    for r in results:
        assert r.issuer is not None
        assert r.status is not None
        w.issuers[r.issuer.key] = r.issuer
        w.lists[(r.status.registry, r.status.list_id)] = r.status
        decoded = inspect(r.token)
        key = keys.setdefault(
            r.issuer.key, nacl.signing.VerifyKey(PublicKey.from_did(r.issuer.key).raw)
        )
        signature = b64url_decode(r.token.rsplit(".", 1)[1])
        w.raw.append((key, context + decoded.payload, signature))
    return w


def contenders(client: Client, w: Workload) -> dict[str, Callable[[], None]]:
    def run_sdk() -> None:
        results = client.verify_many(w.tokens, purpose=PURPOSE)
        if not all(r.valid for r in results):
            raise SystemExit("an SDK verification was not valid")

    def run_protocol() -> None:
        now = int(time.time())
        for t in w.tokens:
            r = verify_endorsement(
                t, now=now, issuers=w.issuers, status_lists=w.lists, purpose=PURPOSE
            )
            if not r.valid:
                raise SystemExit(f"benchmark token not valid: {r.verdict} {r.detail}")

    def run_kept() -> None:
        now = int(time.time())
        results = [
            verify_endorsement(t, now=now, issuers=w.issuers, status_lists=w.lists, purpose=PURPOSE)
            for t in w.tokens
        ]
        if not all(r.valid for r in results):
            raise SystemExit("a protocol verification was not valid")

    def run_pynacl() -> None:
        for key, message, signature in w.raw:
            key.verify(message, signature)

    return {"sdk": run_sdk, "protocol": run_protocol, "kept": run_kept, "pynacl": run_pynacl}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--tokens", type=int, default=10_000)
    ap.add_argument("--issuers", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="tiny smoke run (CI)")
    args = ap.parse_args()
    if args.quick:
        args.tokens, args.issuers, args.rounds = 200, 5, 2
    if args.issuers < 1 or args.tokens < args.issuers:
        raise SystemExit("need at least one issuer and one token per issuer")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        database = f"sqlite:///{work / 'registry.sqlite3'}"
        with LiveServer(database, work / "server", env=SERVER_ENV) as server:
            started = time.perf_counter()
            tokens = asyncio.run(seed(server, work / "pins.json", args.issuers, args.tokens))
            seeded = time.perf_counter() - started
            transport = CountingTransport()
            with Client(server.url, pin_store=work / "pins.json", transport=transport) as client:
                w = facts_of(client, tokens)
                warmed = transport.sent
                # The registry's process is idle from here on: pin this one to one core.
                if hasattr(os, "sched_setaffinity"):
                    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
                runs = contenders(client, w)
                rates: dict[str, list[float]] = {k: [] for k in runs}
                cpu_rates: dict[str, list[float]] = {k: [] for k in runs}
                for fn in runs.values():  # warm-up
                    fn()
                for _ in range(args.rounds):
                    for name, fn in runs.items():
                        start, cpu = time.perf_counter(), time.process_time()
                        fn()
                        rates[name].append(len(tokens) / (time.perf_counter() - start))
                        cpu_rates[name].append(len(tokens) / (time.process_time() - cpu))
                if transport.sent != warmed:
                    raise SystemExit(
                        f"the registry was asked {transport.sent - warmed} times while the"
                        " caches should have been warm: the figures are void"
                    )

    med = {k: statistics.median(v) for k, v in rates.items()}
    cpu = {k: statistics.median(v) for k, v in cpu_rates.items()}
    sample = inspect(tokens[0])
    print(f"python {platform.python_version()} on {platform.machine()}, one pinned core")
    print(
        f"{len(tokens)} registered tokens from {len(w.issuers)} issuers in {len(w.lists)}"
        f" status list(s), seeded through the SDK in {seeded:.1f} s; payload"
        f" {len(sample.payload)} bytes, token {len(sample.token)} chars; warm caches"
        f" ({warmed} requests to warm them, none after); median of {args.rounds} rounds"
    )
    # Wall-clock rates are what a caller sees; CPU-time rates (this process's CPU only) hold
    # up better when other processes want the same core.
    print("  contender  verifications/s  µs each | per CPU second  µs CPU each")
    for name in runs:
        print(
            f"  {name:8s} {med[name]:12,.0f} {1e6 / med[name]:12.1f} |"
            f" {cpu[name]:14,.0f} {1e6 / cpu[name]:12.1f}"
        )
    for a, b, note in (
        ("sdk", "pynacl", "target >= 0.8x"),
        ("protocol", "pynacl", "the protocol's own verification"),
        ("sdk", "protocol", "the SDK against the protocol alone"),
        ("sdk", "kept", "what the SDK adds to the protocol, results kept alike"),
    ):
        print(
            f"  {a:8s} / {b:8s} = {med[a] / med[b]:.2f}x wall,"
            f" {cpu[a] / cpu[b]:.2f}x CPU   ({note})"
        )


if __name__ == "__main__":
    main()
