"""Fixed-window rate limits whose state every server process shares.

Two backends behind one interface: the database (default; one atomic upsert per hit) and Redis
(``ENDORSE_REDIS_URL``; INCR + EXPIRE in one pipeline). A limit that is exceeded raises
:class:`~endorse.server.problems.TooManyRequests` with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Protocol

from fastapi import Request
from sqlalchemy import case
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from endorse.server.db import Database, make_engine
from endorse.server.models import RateCounter
from endorse.server.problems import TooManyRequests


class Limiter(Protocol):
    def hit(self, bucket: str, limit: int, window: int, now: int) -> int:
        """Count one hit in ``bucket``; return the seconds to wait when over ``limit``, else 0."""
        ...

    def dispose(self) -> None:
        """Release connections."""
        ...


def client_host(request: Request) -> str:
    """The address a per-client limit counts (as the proxy settings let the server see it)."""
    return request.client.host if request.client is not None else "unknown"


def bucket_name(kind: str, value: str) -> str:
    """A bucket key that names no e-mail address or client address in storage (hashed)."""
    digest = hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()[:40]
    return f"{kind}:{digest}"


class DatabaseLimiter:
    """Counters in the shared database: one upsert statement per hit, no read-then-write.

    Counters are not acknowledged user data, so their commits skip the flush to disk
    (SQLite ``synchronous=NORMAL`` in WAL mode on a connection of their own; PostgreSQL
    ``synchronous_commit=off`` for the transaction): a crash may forget the last hits, never
    corrupt anything, and a verification does not wait for a disk.
    """

    def __init__(self, db: Database) -> None:
        self.sqlite = db.is_sqlite
        self.engine = (
            make_engine(
                db.engine.url.render_as_string(hide_password=False), sqlite_synchronous="NORMAL"
            )
            if self.sqlite
            else db.engine
        )

    def hit(self, bucket: str, limit: int, window: int, now: int) -> int:
        return _wait(self.add(bucket, 1, window, now), limit, window, now)

    def add(self, bucket: str, hits: int, window: int, now: int) -> int:
        """Add ``hits`` to the bucket's current window; return the window's total."""
        start = now - now % window
        insert = sqlite_insert if self.sqlite else postgresql_insert
        statement = (
            insert(RateCounter)
            .values(bucket=bucket, window_start=start, count=hits)
            .on_conflict_do_update(
                index_elements=[RateCounter.bucket],
                # Both right-hand sides read the row as it was: a new window restarts.
                set_={
                    "count": case(
                        (RateCounter.window_start == start, RateCounter.count + hits),
                        else_=hits,
                    ),
                    "window_start": start,
                },
            )
            .returning(RateCounter.count)
        )
        with self.engine.begin() as connection:
            if not self.sqlite:
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            count: int = connection.execute(statement).scalar_one()
        return count

    def dispose(self) -> None:
        if self.sqlite:
            self.engine.dispose()


class RedisLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2)

    def dispose(self) -> None:
        self.client.close()

    def hit(self, bucket: str, limit: int, window: int, now: int) -> int:
        return _wait(self.add(bucket, 1, window, now), limit, window, now)

    def add(self, bucket: str, hits: int, window: int, now: int) -> int:
        """Add ``hits`` to the bucket's current window; return the window's total."""
        start = now - now % window
        key = f"endorse:rate:{bucket}:{start}"
        pipe = self.client.pipeline()
        pipe.incrby(key, hits)
        pipe.expire(key, window + 1)
        return int(pipe.execute()[0])


class Backend(Protocol):
    def add(self, bucket: str, hits: int, window: int, now: int) -> int: ...

    def dispose(self) -> None: ...


class BatchedLimiter:
    """Counts hits locally and adds them to the shared backend in batches.

    For a limit of L the batch is L/100 hits (at least 1), so a low limit (registrations:
    a few per hour) is counted exactly on every hit, while a high one (verifications: thousands
    a minute) costs one shared write per L/100 requests instead of one per request. Across P
    processes a bucket can overshoot by at most P batches, 1% of the limit each; a bucket
    about to go over is always settled with the backend before a request is refused.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._lock = threading.Lock()
        # bucket -> [window start, shared total last seen, hits not yet added]
        self._local: dict[str, list[int]] = {}

    def hit(self, bucket: str, limit: int, window: int, now: int) -> int:
        start = now - now % window
        batch = max(1, limit // 100)
        with self._lock:
            state = self._local.get(bucket)
            if state is None or state[0] != start:
                if len(self._local) > 100_000:  # old windows of idle buckets
                    self._local = {k: v for k, v in self._local.items() if v[0] == start}
                state = self._local[bucket] = [start, 0, 0]
            state[2] += 1
            if state[2] < batch and state[1] + state[2] <= limit:
                return 0
            pending, state[2] = state[2], 0
        total = self.backend.add(bucket, pending, window, now)
        with self._lock:
            if self._local.get(bucket, [None])[0] == start:
                self._local[bucket][1] = max(self._local[bucket][1], total)
        return _wait(total, limit, window, now)

    def hit_locally(self, bucket: str, limit: int, window: int, now: int) -> bool:
        """Count one hit if that needs no shared write; never waits for I/O.

        True: counted, within the limit. False: nothing counted; call :meth:`hit` (which
        may write to the backend). Counts exactly as :meth:`hit` does when ``hit`` returns
        without settling with the backend: same lock, same state, same test.
        """
        with self._lock:
            state = self._local.get(bucket)
            if state is None or state[0] != now - now % window:
                return False
            if state[2] + 1 < max(1, limit // 100) and state[1] + state[2] + 1 <= limit:
                state[2] += 1
                return True
        return False

    def dispose(self) -> None:
        self.backend.dispose()


def _wait(total: int, limit: int, window: int, now: int) -> int:
    return 0 if total <= limit else now - now % window + window - now


def enforce(limiter: Limiter, bucket: str, limit: int, window: int, now: int) -> None:
    """Count a hit; raise 429 with ``Retry-After`` when the bucket is over its limit."""
    wait = limiter.hit(bucket, limit, window, now)
    if wait > 0:
        raise TooManyRequests(
            f"too many requests; try again in {wait} s", headers={"Retry-After": str(wait)}
        )
