"""Fixed-window rate limits whose state every server process shares.

Two backends behind one interface: the database (default; one atomic upsert per hit) and Redis
(``ENDORSE_REDIS_URL``; INCR + EXPIRE in one pipeline). A limit that is exceeded raises
:class:`~endorse.server.problems.TooManyRequests` with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from endorse.server.db import Database
from endorse.server.models import RateCounter
from endorse.server.problems import TooManyRequests, Unavailable


class Limiter(Protocol):
    def hit(self, bucket: str, limit: int, window: int, now: int) -> int:
        """Count one hit in ``bucket``; return the seconds to wait when over ``limit``, else 0."""
        ...


def bucket_name(kind: str, value: str) -> str:
    """A bucket key that names no e-mail address or client address in storage (hashed)."""
    digest = hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()[:40]
    return f"{kind}:{digest}"


class DatabaseLimiter:
    def __init__(self, db: Database) -> None:
        self.db = db

    def hit(self, bucket: str, limit: int, window: int, now: int) -> int:
        start = now - now % window
        for _ in range(3):  # a concurrent first insert of the same bucket: retry as update
            try:
                with self.db.write() as session:
                    row = session.scalars(
                        select(RateCounter).where(RateCounter.bucket == bucket).with_for_update()
                    ).first()
                    if row is None:
                        session.add(RateCounter(bucket=bucket, window_start=start, count=1))
                        count = 1
                    elif row.window_start != start:
                        session.execute(
                            update(RateCounter)
                            .where(RateCounter.bucket == bucket)
                            .values(window_start=start, count=1)
                        )
                        count = 1
                    else:
                        row.count += 1
                        count = row.count
                return 0 if count <= limit else start + window - now
            except IntegrityError:
                continue
        raise Unavailable("rate-limit state is contended; try again")


class RedisLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2)

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
