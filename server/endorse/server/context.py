"""What a running registry holds: settings, database, its key, mailer, rate limiter, clock.

Built once per app by :func:`endorse.server.app.create_app` and reached by routes through the
dependencies in :mod:`endorse.server.deps`; nothing lives in module globals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from endorse.protocol.keys import SigningKey
from endorse.server.check_counts import CheckCounter
from endorse.server.db import Database
from endorse.server.mailer import Mailer
from endorse.server.metrics import Metrics
from endorse.server.ratelimit import Limiter
from endorse.server.registry_key import PublishedKey
from endorse.server.settings import Settings
from endorse.server.verification import Caches


def system_clock() -> int:
    return int(time.time())


@dataclass
class Context:
    settings: Settings
    db: Database
    key: SigningKey
    mailer: Mailer
    limiter: Limiter
    mac_seed: bytes = b""
    """The secret keyed hashes are derived from (:attr:`RegistryKeys.mac_seed`: the first
    key's seed, kept across rotations); the signing key's seed when not given."""
    published_keys: tuple[PublishedKey, ...] = ()
    """Every key the registry has signed with, newest (``key``) first, with its validity."""
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], int] = field(default=system_clock)
    caches: Caches = field(default_factory=Caches)
    """Per-process caches of immutable, verified things (bindings, decoded lists)."""
    checks: CheckCounter = field(default_factory=CheckCounter)
    """Online checks per endorsement and day, held until flushed to the database."""

    def __post_init__(self) -> None:
        if not self.mac_seed:
            self.mac_seed = self.key.seed()

    @property
    def registry(self) -> str:
        """The registry's id, as written in every statement it signs."""
        return self.settings.registry_url
