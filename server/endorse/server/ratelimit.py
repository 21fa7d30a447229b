"""Fixed-window rate limits whose state every server process shares.

Two backends behind one interface: the database (default; one atomic upsert per hit) and Redis
(``ENDORSE_REDIS_URL``; INCR + EXPIRE in one pipeline). A limit that is exceeded raises
:class:`~endorse.server.problems.TooManyRequests` with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

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
        start = now - now % window
        insert = sqlite_insert if self.sqlite else postgresql_insert
        statement = (
            insert(RateCounter)
            .values(bucket=bucket, window_start=start, count=1)
            .on_conflict_do_update(
                index_elements=[RateCounter.bucket],
                # Both right-hand sides read the row as it was: a new window restarts at 1.
                set_={
                    "count": case(
                        (RateCounter.window_start == start, RateCounter.count + 1), else_=1
                    ),
                    "window_start": start,
                },
            )
            .returning(RateCounter.count)
        )
        with self.engine.begin() as connection:
            if not self.sqlite:
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            count = connection.execute(statement).scalar_one()
        return 0 if count <= limit else start + window - now

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
        start = now - now % window
        key = f"endorse:rate:{bucket}:{start}"
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 1)
        count = int(pipe.execute()[0])
        return 0 if count <= limit else start + window - now


def enforce(limiter: Limiter, bucket: str, limit: int, window: int, now: int) -> None:
    """Count a hit; raise 429 with ``Retry-After`` when the bucket is over its limit."""
    wait = limiter.hit(bucket, limit, window, now)
    if wait > 0:
        raise TooManyRequests(
            f"too many requests; try again in {wait} s", headers={"Retry-After": str(wait)}
        )
