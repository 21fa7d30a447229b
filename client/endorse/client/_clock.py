"""The client's clock and its waits, in one place (tests move time here instead of waiting).

>>> from endorse.client import _clock
>>> _clock.now() > 1_700_000_000
True
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["asleep", "now", "sleep"]


def now() -> int:
    """The current time in whole Unix seconds."""
    return int(time.time())


def sleep(seconds: float) -> None:
    """Wait ``seconds`` (a retry's backoff or a ``Retry-After``) in the sync client."""
    time.sleep(seconds)


async def asleep(seconds: float) -> None:
    """Wait ``seconds`` (a retry's backoff or a ``Retry-After``) in the async client."""
    await asyncio.sleep(seconds)
