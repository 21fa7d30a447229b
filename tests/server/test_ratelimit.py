"""Rate limits whose state every server process shares: the database (SQLite and PostgreSQL)
and Redis (the real server at 127.0.0.1:6379; a missing Redis fails these tests).

Time is passed in, so windows roll over without sleeping. The cross-process tests start real
processes that hammer one bucket at the same moment; the total they admit must be the limit,
exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient

from endorse.server import ratelimit
from endorse.server.app import create_app
from endorse.server.db import Database
from endorse.server.deps import Ctx
from endorse.server.migrate import upgrade
from endorse.server.ratelimit import (
    BatchedLimiter,
    DatabaseLimiter,
    Limiter,
    RedisLimiter,
    bucket_name,
)
from endorse.server.settings import Settings

REDIS_URL = os.environ.get("ENDORSE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WINDOW = 60
T0 = 1_767_225_600  # a window boundary (a multiple of 60)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database.connect(database_url)
    upgrade(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A bucket prefix of this test's own; its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as e:
        pytest.fail(f"Redis is required for these tests and is not reachable at {REDIS_URL}: {e}")
    prefix = f"test-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(match=f"endorse:rate:{prefix}*"):
        client.delete(key)
    client.close()


def check_fixed_window(limiter: Limiter, prefix: str) -> None:
    """The behaviour every backend must have (limit 3 per 60 s window)."""
    bucket = f"{prefix}:a"
    now = T0 + 7
    assert [limiter.hit(bucket, 3, WINDOW, now) for _ in range(3)] == [0, 0, 0]
    # Over the limit: wait until the window ends, whatever the time inside it.
    assert limiter.hit(bucket, 3, WINDOW, now) == 53
    assert limiter.hit(bucket, 3, WINDOW, now + 40) == 13
    assert limiter.hit(bucket, 3, WINDOW, T0 + 59) == 1  # never 0 while refused
    # Buckets are independent.
    assert limiter.hit(f"{prefix}:b", 3, WINDOW, now) == 0
    # The window rolls over: a fresh allowance, refused again past it.
    nxt = T0 + WINDOW
    assert [limiter.hit(bucket, 3, WINDOW, nxt + 1) for _ in range(4)] == [0, 0, 0, 59]
    # A window later still, even after a gap of several windows.
    later = T0 + 10 * WINDOW + 30
    assert limiter.hit(bucket, 3, WINDOW, later) == 0
    # Other limits and windows on other buckets.
    assert [limiter.hit(f"{prefix}:c", 1, 3600, T0) for _ in range(2)] == [0, 3600]


def test_database_limiter(database: Database) -> None:
    check_fixed_window(DatabaseLimiter(database), "db")


def test_redis_limiter(redis_prefix: str) -> None:
    check_fixed_window(RedisLimiter(REDIS_URL), redis_prefix)


def test_redis_keys_expire_with_their_window(redis_prefix: str) -> None:
    limiter = RedisLimiter(REDIS_URL)
    now = int(time.time())
    limiter.hit(f"{redis_prefix}:x", 5, WINDOW, now)
    client = redis.Redis.from_url(REDIS_URL)
    [key] = client.keys(f"endorse:rate:{redis_prefix}:x:*")
    assert 0 < client.ttl(key) <= WINDOW + 1
    client.close()


def test_bucket_names_hide_what_they_count() -> None:
    name = bucket_name("register-email", "bob@example.com")
    assert name.startswith("register-email:")
    assert "bob" not in name and "example" not in name
    assert name == bucket_name("register-email", "bob@example.com")
    assert name != bucket_name("register-client", "bob@example.com")


# --- shared across processes ---

_CHILD = r"""
import os, sys, time
from pathlib import Path
backend, url, bucket, limit, hits, now, go = sys.argv[1:8]
if backend == "redis":
    from endorse.server.ratelimit import RedisLimiter
    limiter = RedisLimiter(url)
else:
    from endorse.server.db import Database
    from endorse.server.ratelimit import DatabaseLimiter
    limiter = DatabaseLimiter(Database.connect(url))
Path(go + ".ready." + str(os.getpid())).touch()
while not Path(go).exists():
    time.sleep(0.001)
admitted = sum(
    limiter.hit(bucket, int(limit), 3600, int(now)) == 0 for _ in range(int(hits))
)
print(admitted)
"""


def run_in_processes(
    tmp_path: Path, backend: str, url: str, bucket: str, *, processes: int, hits: int, limit: int
) -> list[int]:
    """Start ``processes`` interpreters, release them at once, return what each admitted."""
    go = tmp_path / "go"
    argv = [backend, url, bucket, str(limit), str(hits), str(T0), str(go)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("go.ready.*"))) < processes:
            assert time.monotonic() < deadline, "the child processes did not start"
            assert all(c.poll() is None for c in children), children[0].communicate()
            time.sleep(0.01)
        go.touch()
        admitted = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            admitted.append(int(out))
        return admitted
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def test_database_limit_holds_across_processes(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    admitted = run_in_processes(
        tmp_path, "database", database_url, "shared", processes=4, hits=40, limit=37
    )
    assert sum(admitted) == 37, admitted
    assert sum(1 for a in admitted if a > 0) >= 2, f"no contention happened: {admitted}"


def test_redis_limit_holds_across_processes(redis_prefix: str, tmp_path: Path) -> None:
    admitted = run_in_processes(
        tmp_path, "redis", REDIS_URL, f"{redis_prefix}:shared", processes=4, hits=200, limit=311
    )
    assert sum(admitted) == 311, admitted


# --- through the app: 429 problem with Retry-After ---

probe = APIRouter()


@probe.post("/probe/limited")
def limited(ctx: Ctx, request: Request) -> dict[str, str]:
    host = request.client.host if request.client else "unknown"
    prefix = getattr(request.app.state, "bucket_prefix", "")
    s = ctx.settings
    ratelimit.enforce(
        ctx.limiter,
        prefix + bucket_name("verify-client", host),
        s.limit_verify_per_client,
        s.limit_verify_window,
        ctx.clock(),
    )
    return {"status": "ok"}


def limited_app(settings: Settings, clock: Callable[[], int], **overrides: object) -> FastAPI:
    app = create_app(
        settings.model_copy(
            update={"limit_verify_per_client": 2, "limit_verify_window": 60, **overrides}
        ),
        clock=clock,
    )
    app.include_router(probe)
    return app


def check_429(app: FastAPI, clock: Callable[[], int]) -> None:
    with TestClient(app) as client:
        assert [client.post("/probe/limited").status_code for _ in range(2)] == [200, 200]
        refused = client.post("/probe/limited")
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "urn:endorse:problem:rate-limited"
        window_end = clock() - clock() % 60 + 60
        assert refused.headers["retry-after"] == str(window_end - clock())


def test_app_answers_429_with_retry_after(settings: Settings) -> None:
    now = T0 + 15

    def clock() -> int:
        return now

    check_429(limited_app(settings, clock), clock)


def test_app_answers_429_from_redis(settings: Settings, redis_prefix: str) -> None:
    now = T0 + 59

    def clock() -> int:
        return now

    app = limited_app(settings, clock, redis_url=REDIS_URL)
    app.state.bucket_prefix = f"{redis_prefix}:"
    check_429(app, clock)
    # A new app (a new process, as far as it knows) sees the same state in Redis.
    with TestClient(app) as client:
        assert isinstance(app.state.context.limiter.backend, RedisLimiter)
        assert client.post("/probe/limited").headers["retry-after"] == "1"


def test_verify_route_answers_429_with_retry_after(settings: Settings) -> None:
    """The recruiters' endpoint itself: per client address, shared state, 429 problem."""
    now = T0 + 45

    def clock() -> int:
        return now

    app = create_app(
        settings.model_copy(update={"limit_verify_per_client": 3, "limit_verify_window": 60}),
        clock=clock,
    )
    with TestClient(app) as client:
        answers = [client.post("/api/v1/verify", json={"token": "x"}) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert answers[0].json()["verdict"] == "malformed"
        refused = client.post("/api/v1/verify", json={"token": "x"})
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"] == "15"
        batch = client.post("/api/v1/verify/batch", json={"items": [{"token": "x"}]})
        assert batch.status_code == 429
    now = T0 + 60  # the next window
    with TestClient(app) as client:
        assert client.post("/api/v1/verify", json={"token": "x"}).status_code == 200


class CountingBackend:
    """A shared backend in memory that records how often it was written."""

    def __init__(self) -> None:
        self.totals: dict[tuple[str, int], int] = {}
        self.writes = 0

    def add(self, bucket: str, hits: int, window: int, now: int) -> int:
        self.writes += 1
        key = (bucket, now - now % window)
        self.totals[key] = self.totals.get(key, 0) + hits
        return self.totals[key]

    def dispose(self) -> None:
        pass


def test_batched_limiter_counts_low_limits_exactly() -> None:
    backend = CountingBackend()
    limiter = BatchedLimiter(backend)
    assert [limiter.hit("b", 5, 3600, T0) for _ in range(6)] == [0] * 5 + [3600]
    assert backend.writes == 6


def test_batched_limiter_batches_high_limits_and_still_refuses() -> None:
    backend = CountingBackend()
    limiter = BatchedLimiter(backend)
    waits = [limiter.hit("v", 1000, 60, T0) for _ in range(1000)]
    assert waits == [0] * 1000
    assert backend.writes <= 100  # batches of 10, instead of 1000 writes
    assert limiter.hit("v", 1000, 60, T0) > 0  # the 1001st is settled with the backend, refused
    assert backend.totals[("v", T0 - T0 % 60)] == 1001


def test_batched_limiters_in_two_processes_overshoot_by_at_most_a_batch_each() -> None:
    backend = CountingBackend()
    one, two = BatchedLimiter(backend), BatchedLimiter(backend)
    admitted = sum(1 for i in range(3000) if (one if i % 2 else two).hit("v", 1000, 60, T0) == 0)
    assert 1000 <= admitted <= 1000 + 2 * 10


def test_hit_locally_counts_like_hit_without_writing() -> None:
    backend = CountingBackend()
    limiter = BatchedLimiter(backend)
    assert limiter.hit_locally("v", 1000, 60, T0) is False  # a new window: hit() must start it
    assert limiter.hit("v", 1000, 60, T0) == 0
    writes = backend.writes
    counted = 0
    while limiter.hit_locally("v", 1000, 60, T0):
        counted += 1
    assert counted > 0
    assert backend.writes == writes  # no shared write while counting locally
    assert limiter.hit("v", 1000, 60, T0) == 0  # the batch is settled by hit()
    assert backend.totals[("v", T0 - T0 % 60)] == 1 + counted + 1
