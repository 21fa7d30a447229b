"""Batch verification on every core: warm ``Client.verify_many`` against raw PyNaCl, one run.

An in-memory registry (the tests' ``FakeRegistry`` behind an httpx ``MockTransport``: no
network, no server process competing for the cores) binds ``--issuers`` endorser keys; they
issue ``--tokens`` registered endorsements. A recruiter's :class:`~endorse.client.Client`
verifies them all once (which fetches and checks every key state and the status list); after
that its caches are warm and fresh, and the registry is not asked again (the script counts the
requests and fails if it is). Then, interleaved round by round, on every core this process
may use:

* ``pynacl``: ``nacl.signing.VerifyKey.verify`` of the same signatures over the same messages,
  one thread: the single-core rate of raw PyNaCl, the yardstick of the targets;
* ``pynacl_x2``: the same split over two threads (libsodium releases the GIL);
* ``pynacl_p2``: the same split over two worker processes of a
  :class:`~endorse.protocol.SignaturePool` (the messages sent to them in chunks, as a batch
  sends them): what raw signature checks alone can do on two cores, the machine's ceiling;
* ``single``: :func:`endorse.protocol.verify_endorsement` on each token in turn, one thread:
  the offline single-token path;
* ``many_1``: ``Client.verify_many(tokens, purpose=…, workers=1)``: the batch in one thread;
* ``threads``: the batch with its signature checks on one thread per core (what
  :func:`~endorse.protocol.verify_endorsements` does without a pool: the server's batches);
* ``many``: ``Client.verify_many(tokens, purpose=…)`` as it runs: the signature checks in the
  client's worker processes (one per core), everything else in the calling thread.

Besides the wall-clock rates the script reads the CPU time of this process and of the
client's worker processes (``/proc``), so that it can say what the batch costs in all per
token and what two free cores would make of it (``2 x pynacl CPU / (parent + workers)``):
a figure that other sessions' load on the machine bends much less than the wall clock.

Run: ``python bench/verify_batch.py`` (10,000 tokens from 100 issuers; ``--quick`` for a smoke
run). Targets (issue 13): many >= 1.4x pynacl on 2 cores; single no slower than before
(0.70-0.73x pynacl).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import nacl.signing

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "client"))

from fake_registry import EMPLOYMENT, FakeRegistry  # noqa: E402

from endorse.client import Client  # noqa: E402
from endorse.protocol import (  # noqa: E402
    Expectations,
    PublicKey,
    SignaturePool,
    SigningKey,
    TrustedFacts,
    default_workers,
    inspect,
    signing_context,
    verify_endorsement,
    verify_endorsements,
)
from endorse.protocol.batch import CHUNK_SIZE  # noqa: E402
from endorse.protocol.encoding import b64url_decode  # noqa: E402

RawItem = tuple[nacl.signing.VerifyKey, bytes, bytes]


class Counting(httpx.BaseTransport):
    """Counts the requests the client sends (none are expected once warm)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.sent = inner, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return self.inner.handle_request(request)


def seed(registry: FakeRegistry, n_issuers: int, n_tokens: int) -> list[str]:
    keys = [SigningKey.from_seed(i.to_bytes(32, "big")) for i in range(1, n_issuers + 1)]
    for key in keys:
        registry.bind(key)
    return [registry.token(keys[i % n_issuers], index=i) for i in range(n_tokens)]


def raw_of(tokens: list[str]) -> list[RawItem]:
    """The signed messages and signatures of ``tokens`` with their keys, for PyNaCl."""
    context = signing_context("endorsement")
    keys: dict[str, nacl.signing.VerifyKey] = {}
    raw = []
    for token in tokens:
        decoded = inspect(token)
        did = decoded.object.signer
        assert did is not None
        key = keys.setdefault(did, nacl.signing.VerifyKey(PublicKey.from_did(did).raw))
        raw.append((key, context + decoded.payload, b64url_decode(token.rsplit(".", 1)[1])))
    return raw


def cpu_seconds(pids: tuple[int, ...]) -> float:
    """CPU time (user + system) this process and the processes ``pids`` have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = time.process_time()
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def contenders(
    client: Client, tokens: list[str], raw: list[RawItem], pool: SignaturePool
) -> dict[str, Callable[[], None]]:
    warm = client.verify_many(tokens, purpose=EMPLOYMENT)
    if not all(r.valid for r in warm):
        raise SystemExit("a seeded token is not valid")
    issuers = {r.issuer.key: r.issuer for r in warm if r.issuer is not None}
    lists = {(r.status.registry, r.status.list_id): r.status for r in warm if r.status}
    half = len(raw) // 2
    # The same messages as libsodium's signed messages, for the pool's workers.
    signed = [(bytes(key), signature, message) for key, message, signature in raw]

    def pynacl_part(part: list[RawItem]) -> None:
        for key, message, signature in part:
            key.verify(message, signature)

    def run_pynacl() -> None:
        pynacl_part(raw)

    def run_pynacl_x2() -> None:
        other = threading.Thread(target=pynacl_part, args=(raw[half:],))
        other.start()
        pynacl_part(raw[:half])
        other.join()

    def run_pynacl_p2() -> None:
        with pool.session() as session:
            assert session is not None
            answers = [
                session.submit(b"", signed[i : i + CHUNK_SIZE])
                for i in range(0, len(signed), CHUNK_SIZE)
            ]
            if not all(all(a.result()) for a in answers):
                raise SystemExit("a raw signature did not verify")

    def run_single() -> None:
        now = int(time.time())
        for t in tokens:
            r = verify_endorsement(
                t, now=now, issuers=issuers, status_lists=lists, purpose=EMPLOYMENT
            )
            if not r.valid:
                raise SystemExit(f"benchmark token not valid: {r.verdict} {r.detail}")

    def run_threads() -> None:
        expected = Expectations(int(time.time()), purpose=EMPLOYMENT)
        trusted = TrustedFacts(issuers, lists)
        results = list(verify_endorsements([(t, expected) for t in tokens], trusted))
        if not all(r.valid for r in results):
            raise SystemExit("a batch verification was not valid")

    def many(workers: int | None) -> Callable[[], None]:
        def run() -> None:
            results = client.verify_many(tokens, purpose=EMPLOYMENT, workers=workers)
            if len(results) != len(tokens) or not all(r.valid for r in results):
                raise SystemExit("a batch verification was not valid")

        return run

    return {
        "pynacl": run_pynacl,
        "pynacl_x2": run_pynacl_x2,
        "pynacl_p2": run_pynacl_p2,
        "single": run_single,
        "many_1": many(1),
        "threads": run_threads,
        "many": many(None),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--tokens", type=int, default=10_000)
    ap.add_argument("--issuers", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="tiny smoke run (CI)")
    args = ap.parse_args()
    if args.quick:
        args.tokens, args.issuers, args.rounds = 400, 5, 2
    if args.issuers < 1 or args.tokens < args.issuers:
        raise SystemExit("need at least one issuer and one token per issuer")

    registry = FakeRegistry()
    registry.max_age = 7 * 86_400  # nothing turns stale while the rounds run
    started = time.perf_counter()
    tokens = seed(registry, args.issuers, args.tokens)
    seeded = time.perf_counter() - started
    raw = raw_of(tokens)
    transport = Counting(registry.transport)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Client(
            registry.url,
            registry_key=registry.key.did,
            pin_store=Path(tmp) / "pins.json",
            transport=transport,
        ) as client,
    ):
        pool = client._core.signature_pool(default_workers())  # the pool verify_many uses
        runs = contenders(client, tokens, raw, pool)
        warmed = transport.sent
        rates: dict[str, list[float]] = {k: [] for k in runs}
        cpu: dict[str, list[float]] = {k: [] for k in runs}
        for fn in runs.values():  # warm-up
            fn()
        for _ in range(args.rounds):
            for name, fn in runs.items():
                pids = pool.pids
                cpu_start = cpu_seconds(pids)
                start = time.perf_counter()
                fn()
                rates[name].append(len(tokens) / (time.perf_counter() - start))
                cpu[name].append((cpu_seconds(pids) - cpu_start) / len(tokens))
        if transport.sent != warmed:
            raise SystemExit(
                f"the registry was asked {transport.sent - warmed} times while the caches"
                " should have been warm: the figures are void"
            )
        pids = pool.pids
    if any(os.path.exists(f"/proc/{pid}") for pid in pids):
        raise SystemExit("the client's worker processes outlived its close()")

    med = {k: statistics.median(v) for k, v in rates.items()}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"python {platform.python_version()} on {platform.machine()}, {cores} cores,"
        f" verify_many's default workers: {default_workers()}; load average before:"
        f" {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{len(tokens)} tokens from {args.issuers} issuers, issued in {seeded:.1f} s; warm"
        f" caches ({warmed} requests to warm them, none after); median of {args.rounds} rounds"
        " (wall clock)"
    )
    print("  contender  verifications/s  µs each   (min-max /s)   CPU µs each (all processes)")
    for name in runs:
        print(
            f"  {name:9s} {med[name]:12,.0f} {1e6 / med[name]:10.1f}"
            f"   ({min(rates[name]):,.0f}-{max(rates[name]):,.0f})"
            f"   {1e6 * statistics.median(cpu[name]):8.1f}"
        )
    for a, b, note in (
        ("many", "pynacl", "target >= 1.4x on 2 cores"),
        ("single", "pynacl", "target: no slower than before, 0.70-0.73x"),
        ("many", "many_1", "what the worker processes gain"),
        ("many", "threads", "processes against threads for the signature checks"),
        ("pynacl_p2", "pynacl", "raw signatures alone in two processes: the ceiling"),
        ("pynacl_x2", "pynacl", "raw signatures alone on two threads"),
    ):
        # Also per round: rounds are interleaved, so a round's ratio compares like with like
        # when other processes load the machine unevenly over the run.
        per_round = statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))
        print(
            f"  {a:9s} / {b:7s} = {med[a] / med[b]:.2f}x (median of per-round ratios"
            f" {per_round:.2f}x)   ({note})"
        )
    # CPU time per token in all processes: what two free cores would make of each design.
    raw_cpu = statistics.median(cpu["pynacl"])
    for name in ("many", "pynacl_p2"):
        print(
            f"  {name:9s} on two free cores: 2 x {1e6 * raw_cpu:.1f} / "
            f"{1e6 * statistics.median(cpu[name]):.1f} µs CPU = "
            f"{2 * raw_cpu / statistics.median(cpu[name]):.2f}x pynacl (CPU-time bound)"
        )


if __name__ == "__main__":
    main()
