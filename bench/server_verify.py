"""Server benchmark (issue 3): ``POST /api/v1/verify`` against a bare FastAPI endpoint.

Starts the registry (``python -m endorse.server serve``) and a bare FastAPI app returning a
fixed small JSON, each one uvicorn process pinned to core 0, and loads both with the same
generator — wrk, pinned to core 1, 64 connections, the same POST body — round after round in
the same run. Reports requests/s, p50 and p99 for each, and their ratio; with several
``--endorsements`` sizes, a fresh database of each size and the verify latency across sizes.

The token verified is made the way an endorser makes one: an identity registered and confirmed
with the code read from the registry's outbox, a status slot allocated, the endorsement signed
locally and registered — all through the API. Every other registered endorsement is a filler
row inserted in bulk so the tables and indexes have the stated size: random token text of a
real token's length, its real SHA-256, a slot in a full status list, about 1% revoked.
Verification reads only the target's rows, through those indexes.

Before measuring, one verification must answer ``valid``; after, the server's own metrics must
count a ``valid`` verdict for every request wrk counted. Any non-2xx answer voids a figure.

    .venv/bin/python bench/server_verify.py --endorsements 1000 1000000 --duration 10
    .venv/bin/python bench/server_verify.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/server_verify.py --soak 300      # RSS of the worker over 5 minutes
    .venv/bin/python bench/server_verify.py --check         # seed, verify once, no load (CI)

wrk comes from Debian's packages (``apt-get install -y wrk``). The rate limit on verification
stays on (its state is written on every request, as in production), raised high enough that
wrk's single client address is never refused.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server"))

from live import LiveServer  # noqa: E402

from endorse.protocol import (  # noqa: E402
    Relationship,
    SigningKey,
    StatusRef,
    Subject,
    issue,
)
from endorse.protocol.requests import sign_request  # noqa: E402

PURPOSE = "employment-reference"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LIST_SIZE = 131_072
LIST_FILL = 0.5
BATCH = 20_000
# Lengths of real objects (payloads of 531 and ~190 bytes, 64-byte signatures).
TOKEN_PAYLOAD_BYTES = 531
REGISTRATION_PAYLOAD_BYTES = 190
BINDING_PAYLOAD_BYTES = 260


def bare_app() -> FastAPI:
    """The reference: a FastAPI endpoint that returns a fixed small JSON (uvicorn factory)."""
    app = FastAPI()

    @app.post("/bare")
    async def bare() -> dict[str, str]:
        return {"verdict": "valid", "message": "fixed"}

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    return app


# --- databases ---------------------------------------------------------------------------


@dataclass
class Store:
    url: str
    label: str


@contextmanager
def fresh_store(base: str, workdir: Path, name: str) -> Iterator[Store]:
    """An empty database: a new SQLite file in ``workdir``, or a new PostgreSQL schema."""
    if base.startswith("sqlite"):
        path = workdir / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        yield Store(f"sqlite:///{path}", "SQLite")
        return
    import sqlalchemy as sa

    schema = f"bench_{secrets.token_hex(5)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield Store(f"{base}{sep}options=-csearch_path%3D{schema}", "PostgreSQL")
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_token(kind: str, payload_bytes: int) -> str:
    """Text shaped like a token of ``kind`` (not a valid one): filler for table sizes."""
    return f"{kind}-v1.{b64(os.urandom(payload_bytes))}.{b64(os.urandom(64))}"


ENDORSEMENT_COLUMNS = (
    "id",
    "issuer",
    "token",
    "token_hash",
    "list_id",
    "idx",
    "registered_at",
    "registration_token",
    "revoked_at",
    "revocation_token",
)
SLOT_COLUMNS = ("list_id", "idx", "owner", "allocated_at", "endorsement_id")
LIST_COLUMNS = (
    "list_id",
    "size",
    "bits",
    "allocated",
    "version",
    "open",
    "created_at",
    "updated_at",
)
IDENTITY_COLUMNS = ("key", "email", "name", "since", "binding_token")


def filler_batches(
    count: int, now: int
) -> Iterator[tuple[str, list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Rows of ``count`` registered endorsements, table by table, in batches, in an order the
    foreign keys accept: ``("identities", rows, [])``, then per status list
    ``("status_lists", [row], [])`` followed by ``("rows", endorsements, slots)`` batches.
    """
    issuers = [SigningKey.generate().did for _ in range(min(10_000, max(1, count // 100)))]
    yield (
        "identities",
        [
            (
                did,
                f"issuer{i}@bench.invalid",
                f"Issuer {i}",
                now - 86_400,
                fake_token("key-binding", BINDING_PAYLOAD_BYTES),
            )
            for i, did in enumerate(issuers)
        ],
        [],
    )
    capacity = int(LIST_SIZE * LIST_FILL)
    remaining = count
    while remaining > 0:
        in_list = min(capacity, remaining)
        remaining -= in_list
        list_id = b64(os.urandom(16))
        indexes = secrets.SystemRandom().sample(range(LIST_SIZE), in_list)
        bits = bytearray(LIST_SIZE // 8)
        for idx in indexes[99::100]:  # about 1% revoked
            bits[idx // 8] |= 0x80 >> (idx % 8)  # most significant bit first (spec §5)
        yield (
            "status_lists",
            [(list_id, LIST_SIZE, bytes(bits), in_list, 1, False, now - 7200, now - 60)],
            [],
        )
        rows: list[tuple[Any, ...]] = []
        slots: list[tuple[Any, ...]] = []
        for n, idx in enumerate(indexes):
            endorsement_id = b64(os.urandom(16))
            issuer = issuers[n % len(issuers)]
            token = fake_token("endorsement", TOKEN_PAYLOAD_BYTES)
            revoked = n % 100 == 99
            rows.append(
                (
                    endorsement_id,
                    issuer,
                    token,
                    b64(hashlib.sha256(token.encode()).digest()),
                    list_id,
                    idx,
                    now - 3600,
                    fake_token("registration", REGISTRATION_PAYLOAD_BYTES),
                    now - 60 if revoked else None,
                    fake_token("revocation", 150) if revoked else None,
                )
            )
            slots.append((list_id, idx, issuer, now - 3600, endorsement_id))
            if len(rows) == BATCH:
                yield "rows", rows, slots
                rows, slots = [], []
        if rows:
            yield "rows", rows, slots


def _insert_sql(table: str, columns: tuple[str, ...], mark: str) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})"


def bulk_fill(url: str, count: int, now: int) -> float:
    """Insert ``count`` filler endorsements (and their lists, slots, issuers); seconds taken.

    SQLite: ``executemany`` in one transaction per batch. PostgreSQL: ``COPY``. Then ANALYZE,
    as PostgreSQL's autovacuum would after such a load.
    """
    started = time.perf_counter()
    if count <= 0:
        return 0.0
    tables = {
        "identities": ("identities", IDENTITY_COLUMNS),
        "status_lists": ("status_lists", LIST_COLUMNS),
        "rows": ("endorsements", ENDORSEMENT_COLUMNS),
        "slots": ("slots", SLOT_COLUMNS),
    }
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("PRAGMA foreign_keys=ON")
        for kind, rows, slots in filler_batches(count, now):
            connection.execute("BEGIN")
            connection.executemany(_insert_sql(*tables[kind], "?"), rows)
            if slots:
                connection.executemany(_insert_sql(*tables["slots"], "?"), slots)
            connection.execute("COMMIT")
        connection.execute("ANALYZE")
        connection.close()
    else:
        import psycopg

        libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(libpq, autocommit=True) as connection:
            for kind, rows, slots in filler_batches(count, now):
                with connection.transaction(), connection.cursor() as cursor:
                    _copy(cursor, *tables[kind], rows)
                    if slots:
                        _copy(cursor, *tables["slots"], slots)
            connection.execute("ANALYZE")
    return time.perf_counter() - started


def _copy(cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# --- the endorsement verified ------------------------------------------------------------


def _post(client: httpx.Client, registry: str, key: SigningKey, path: str, body: Any) -> Any:
    data = b"" if body is None else json.dumps(body).encode()
    headers = sign_request(key, registry, "POST", path, data, now=int(time.time()))
    if data:
        headers["content-type"] = "application/json"
    r = client.post(path, content=data, headers=headers)
    if r.status_code >= 300:
        raise SystemExit(f"POST {path} failed: {r.status_code} {r.text[:300]}")
    return r.json()


def _code_from_outbox(outbox: Path) -> str:
    for _ in range(100):
        for path in sorted(outbox.glob("*.eml")):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            assert isinstance(message, EmailMessage)
            part = message.get_body(preferencelist=("plain",))
            match = re.search(r"^\s+([0-9]{8})$", part.get_content() if part else "", re.M)
            if match:
                return match.group(1)
        time.sleep(0.05)
    raise SystemExit(f"no confirmation code arrived in {outbox}")


def seed_through_api(server: LiveServer) -> str:
    """Register, confirm (code from the outbox), allocate a slot, issue, register a token."""
    registry = server.url
    key = SigningKey.generate()
    with httpx.Client(base_url=registry, timeout=30) as client:
        pending = _post(
            client,
            registry,
            key,
            "/api/v1/identities/register",
            {"email": "bench@example.com", "name": "Bench Issuer"},
        )
        code = _code_from_outbox(server.data_dir / "outbox")
        _post(
            client,
            registry,
            key,
            "/api/v1/identities/confirm",
            {"pending": pending["pending"], "code": code},
        )
        slot = _post(client, registry, key, "/api/v1/slots", None)
        token = _endorsement(key, StatusRef(registry, slot["list_id"], slot["index"]))
        r = client.post("/api/v1/endorsements", json={"token": token})
        if r.status_code >= 300:
            raise SystemExit(f"registering the endorsement failed: {r.status_code} {r.text[:300]}")
    return token


def _endorsement(key: SigningKey, status: StatusRef) -> str:
    return issue(
        key,
        "Bench Issuer",
        Subject("Candidate Person", email="candidate@example.com"),
        Relationship("work", "manager", org="Bench Ltd", start="2020-01", end="2024-06"),
        [PURPOSE],
        now=int(time.time()) - 60,
        status=status,
    )


# --- load ----------------------------------------------------------------------------------

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%s]==]
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%.0f,"duration_us":%%.0f,"status_errors":%%.0f,"connect":%%.0f,' ..
    '"read":%%.0f,"write":%%.0f,"timeout":%%.0f,"p50_us":%%.0f,"p99_us":%%.0f,"max_us":%%.0f}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk(url: str, script: Path, seconds: int, connections: int, cpus: str) -> Run:
    command = ["taskset", "-c", cpus, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    command += ["--timeout", "10s", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    match = re.search(r"^WRKJSON (.*)$", out.stdout, re.M)
    if match is None:
        raise SystemExit(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    d = json.loads(match.group(1))
    errors = int(d["status_errors"] + d["connect"] + d["read"] + d["write"] + d["timeout"])
    return Run(
        int(d["requests"]), d["duration_us"] / 1e6, d["p50_us"] / 1000, d["p99_us"] / 1000, errors
    )


def valid_count(server: LiveServer) -> float:
    text = httpx.get(server.url + "/metrics", timeout=30).text
    m = re.search(r'^endorse_verifications_total\{verdict="valid"\} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def worker_pids(server: LiveServer) -> list[int]:
    """The processes serving requests: the server itself, or its workers when it has some."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(c) for c in children] if server.workers > 1 else [server.pid]


def summary(runs: list[Run]) -> tuple[float, float, float]:
    """Median over rounds of requests/s, p50 and p99."""
    return (
        statistics.median(r.rps for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
    )


def uvicorn_stack() -> str:
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn {__import__('uvicorn').__version__}, {loop} loop, {http} parser"


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="sqlite",
        help=f"'sqlite' (files in --workdir) or a PostgreSQL URL ({DEFAULT_PG});"
        " each size gets a fresh schema, dropped afterwards",
    )
    parser.add_argument(
        "--endorsements",
        type=int,
        nargs="+",
        default=[1000],
        help="registered endorsements in the database; several sizes are run"
        " one after the other on fresh databases",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per contender (median)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--redis-url", help="rate-limit state in Redis instead of the database")
    parser.add_argument(
        "--soak",
        type=int,
        metavar="SECONDS",
        help="instead of the comparison: load verify this long and sample the"
        " worker's resident memory (VmRSS)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="seed, start, verify once and stop: no load, no wrk (CI smoke)",
    )
    parser.add_argument("--workdir", type=Path, help="where databases and logs go (default: temp)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    if not args.check and shutil.which("wrk") is None:
        print(
            "wrk is not installed: `apt-get update && apt-get install -y wrk` (Debian), then"
            " run this again. Nothing was measured.",
            file=sys.stderr,
        )
        return 2
    ncpu = os.cpu_count() or 1
    server_cpus = ",".join(str(c) for c in range(max(1, min(args.workers, ncpu - 1))))
    load_cpus = str(ncpu - 1)
    if ncpu < 2:
        print("warning: one core only: server and load generator share it", file=sys.stderr)
    if args.workers > ncpu - 1:
        print(
            f"warning: {args.workers} workers on cores {server_cpus} (the load generator has"
            f" core {load_cpus}): workers share cores, scaling is not measurable here",
            file=sys.stderr,
        )

    with ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        results = run_all(args, workdir, server_cpus, load_cpus, stack)
    if args.json and results:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def run_all(
    args: argparse.Namespace, workdir: Path, server_cpus: str, load_cpus: str, stack: ExitStack
) -> list[dict[str, Any]]:
    env = {"ENDORSE_LIMIT_VERIFY_PER_CLIENT": str(10**12)}
    if args.redis_url:
        env["ENDORSE_REDIS_URL"] = args.redis_url
    bare: LiveServer | None = None
    if not args.check and args.soak is None:
        bare_command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "server_verify:bare_app",
            "--app-dir",
            str(ROOT / "bench"),
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--workers",
            str(args.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        bare = LiveServer(
            "",
            workdir / "bare",
            workers=args.workers,
            cpus=server_cpus,
            command=bare_command,
            ready_path="/ready",
        )
        stack.enter_context(bare)

    print(
        f"# endorse server benchmark: {uvicorn_stack()}, {args.workers} worker(s) on cpu"
        f" {server_cpus}, wrk -t1 -c{args.connections} on cpu {load_cpus}"
    )
    results: list[dict[str, Any]] = []
    for n in args.endorsements:
        with fresh_store(args.database_url, workdir, f"registry-{n}") as store:
            results.append(run_size(args, workdir, store, n, env, server_cpus, load_cpus, bare))
    if len(results) > 1 and all("verify" in r for r in results):
        base = results[0]
        print(f"\n## verify latency across sizes ({results[0]['database']})")
        print("| endorsements | p50 ms | p99 ms | p50 vs first | p99 vs first |")
        print("|---:|---:|---:|---:|---:|")
        for r in results:
            v, b = r["verify"], base["verify"]
            print(
                f"| {r['endorsements']:,} | {v['p50_ms']:.2f} | {v['p99_ms']:.2f} |"
                f" {v['p50_ms'] / b['p50_ms']:.2f}x | {v['p99_ms'] / b['p99_ms']:.2f}x |"
            )
    return results


def run_size(
    args: argparse.Namespace,
    workdir: Path,
    store: Store,
    n: int,
    env: dict[str, str],
    server_cpus: str,
    load_cpus: str,
    bare: LiveServer | None,
) -> dict[str, Any]:
    from endorse.protocol.encoding import b64url_decode
    from endorse.server import migrate, registry_key
    from endorse.server.db import Database

    now = int(time.time())
    db = Database.connect(store.url)
    migrate.upgrade(db.engine)
    # The registry key is sealed under a key-encryption key: the server is given the same one.
    kek = registry_key.new_kek_text()
    env = {**env, "ENDORSE_KEY_ENCRYPTION_KEY": kek}
    registry_key.load_or_create(db, now, b64url_decode(kek))  # what the server does first
    db.dispose()
    fill_seconds = bulk_fill(store.url, n - 1, now)
    print(
        f"\n# {store.label}, {n:,} registered endorsements ({n - 1:,} filler rows inserted"
        f" in {fill_seconds:.1f} s)"
    )

    server = LiveServer(
        store.url, workdir / f"server-{n}", workers=args.workers, cpus=server_cpus, env=env
    )
    with server:
        token = seed_through_api(server)
        body = json.dumps({"token": token, "purpose": PURPOSE})
        answer = httpx.post(
            server.url + "/api/v1/verify",
            content=body,
            timeout=30,
            headers={"content-type": "application/json"},
        )
        verdict = answer.json().get("verdict") if answer.status_code == 200 else None
        print(
            "token registered through the API (register, confirm, slot, issue);"
            f" POST /api/v1/verify -> {answer.status_code} {verdict}"
        )
        if verdict != "valid":
            raise SystemExit(f"the benchmark token does not verify: {answer.text[:500]}")
        result: dict[str, Any] = {"database": store.label, "endorsements": n}
        if args.check:
            return result
        script = workdir / "verify.lua"
        script.write_text(LUA % body)
        verify_url = server.url + "/api/v1/verify"
        if args.soak is not None:
            result["soak"] = soak(args, server, verify_url, script, load_cpus)
            return result
        assert bare is not None
        bare_url = bare.url + "/bare"
        # Warm-up: caches, connection pools, the interpreter.
        wrk(verify_url, script, 2, args.connections, load_cpus)
        wrk(bare_url, script, 2, args.connections, load_cpus)
        before = valid_count(server)
        runs: dict[str, list[Run]] = {"verify": [], "bare": []}
        for _ in range(args.rounds):
            runs["verify"].append(
                wrk(verify_url, script, args.duration, args.connections, load_cpus)
            )
            runs["bare"].append(wrk(bare_url, script, args.duration, args.connections, load_cpus))
        counted = valid_count(server) - before
        wrk_total = sum(r.requests for r in runs["verify"])
        errors = sum(r.errors for rs in runs.values() for r in rs)
        rss = [rss_kib(pid) for pid in worker_pids(server)]

    print("| contender | req/s | p50 ms | p99 ms | rounds (req/s) |")
    print("|---|---:|---:|---:|---|")
    for name, rs in runs.items():
        rps, p50, p99 = summary(rs)
        result[name] = {
            "rps": rps,
            "p50_ms": p50,
            "p99_ms": p99,
            "rounds_rps": [round(r.rps) for r in rs],
        }
        label = "POST /api/v1/verify" if name == "verify" else "bare FastAPI POST"
        print(
            f"| {label} | {rps:,.0f} | {p50:.2f} | {p99:.2f} |"
            f" {', '.join(f'{r.rps:,.0f}' for r in rs)} |"
        )
    ratio = result["verify"]["rps"] / result["bare"]["rps"]
    result.update(
        ratio=ratio,
        errors=errors,
        valid_counted=counted,
        wrk_counted=wrk_total,
        worker_rss_mib=[k / 1024 for k in rss],
    )
    print(
        f"verify / bare: {ratio:.2f}x; non-2xx or socket errors: {errors}; valid verdicts"
        f" counted by the server: {counted:,.0f} (wrk counted {wrk_total:,}); worker RSS"
        f" {', '.join(f'{k / 1024:.0f}' for k in rss)} MiB"
    )
    if errors or counted < wrk_total:
        print("WARNING: some answers were not valid verdicts: these figures are void")
    return result


def soak(
    args: argparse.Namespace, server: LiveServer, url: str, script: Path, load_cpus: str
) -> dict[str, Any]:
    """Load ``url`` for ``args.soak`` seconds in slices, sampling the workers' VmRSS."""
    pids = worker_pids(server)
    wrk(url, script, 2, args.connections, load_cpus)
    slice_seconds = min(30, args.soak)
    samples: list[tuple[float, list[int], float]] = [(0.0, [rss_kib(p) for p in pids], 0.0)]
    print("| t s | RSS MiB | req/s in slice |")
    print("|---:|---:|---:|")
    print(f"| 0 | {', '.join(f'{k / 1024:.1f}' for k in samples[0][1])} | — |")
    started = time.monotonic()
    while time.monotonic() - started < args.soak:
        run = wrk(url, script, slice_seconds, args.connections, load_cpus)
        rss = [rss_kib(p) for p in pids]
        t = time.monotonic() - started
        samples.append((t, rss, run.rps))
        print(f"| {t:.0f} | {', '.join(f'{k / 1024:.1f}' for k in rss)} | {run.rps:,.0f} |")
        if run.errors:
            print(f"WARNING: {run.errors} errors in this slice")
    first, last = samples[1][1], samples[-1][1]
    peak = [max(s[1][i] for s in samples) for i in range(len(pids))]
    print(
        f"RSS after the first slice {', '.join(f'{k / 1024:.1f}' for k in first)} MiB, at the"
        f" end {', '.join(f'{k / 1024:.1f}' for k in last)} MiB, peak"
        f" {', '.join(f'{k / 1024:.1f}' for k in peak)} MiB"
    )
    return {"samples": [{"t": t, "rss_kib": r, "rps": q} for t, r, q in samples]}


if __name__ == "__main__":
    sys.exit(main())
