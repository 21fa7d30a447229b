"""The client's clock and its waits, in one place (tests move time here instead of waiting).

>>> from endorse.client import _clock
>>> _clock.now() > 1_700_000_000
True
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["asleep", "monotonic", "now", "sleep"]


def now() -> int:
    """The current time in whole Unix seconds."""
    return int(time.time())


def monotonic() -> float:
    """A monotonic time in seconds, for a call's deadline: moved on by the waits below, so a
    test that moves time moves the deadline's time with it."""
    return time.monotonic()


def sleep(seconds: float) -> None:
    """Wait ``seconds`` (a retry's backoff or a ``Retry-After``) in the sync client."""
    time.sleep(seconds)


async def asleep(seconds: float) -> None:
    """Wait ``seconds`` (a retry's backoff or a ``Retry-After``) in the async client."""
    await asyncio.sleep(seconds)
