"""How often each endorsement was checked online, per UTC day (issue 9 §4).

Counted on the verification hot path (the verify API, the batch, the pages), so a count is
one locked dictionary increment in the process; the counts are added to the database in one
upsert per (endorsement, day) by :meth:`CheckCounter.flush`: every ``check_flush_interval``
seconds (the app's lifespan), when the endorser asks for them, and when the process stops.
A crash loses at most the counts of the last interval: counts are statistics, not
acknowledged writes. Nothing about the verifier (address, time of day, what they asked) is
kept: the key is the endorsement's id and the day.
"""

from __future__ import annotations

import threading

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from endorse.server.db import Database
from endorse.server.models import CheckCount

DAY = 86_400


class CheckCounter:
    """Per-process counts not yet written, by (endorsement id, day number)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def add(self, endorsement_id: str, now: int) -> None:
        key = (endorsement_id, now // DAY)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def flush(self, db: Database) -> None:
        """Add the counts held here to the database (blocking: for a worker thread)."""
        with self._lock:
            counts, self._counts = self._counts, {}
        if not counts:
            return
        insert = sqlite_insert if db.is_sqlite else postgresql_insert
        try:
            with db.engine.begin() as connection:
                for (endorsement_id, day), n in sorted(counts.items()):
                    statement = (
                        insert(CheckCount)
                        .values(endorsement_id=endorsement_id, day=day, count=n)
                        .on_conflict_do_update(
                            index_elements=[CheckCount.endorsement_id, CheckCount.day],
                            set_={"count": CheckCount.count + n},
                        )
                    )
                    connection.execute(statement)
        except Exception:
            # Keep them for the next flush rather than lose them to a passing failure.
            with self._lock:
                for key, n in counts.items():
                    self._counts[key] = self._counts.get(key, 0) + n
            raise


__all__ = ["CheckCounter"]
