"""The client's clock: the current time in Unix seconds, in one place (tests move it here).

>>> from endorse.client import _clock
>>> _clock.now() > 1_700_000_000
True
"""

from __future__ import annotations

import time

__all__ = ["now"]


def now() -> int:
    """The current time in whole Unix seconds."""
    return int(time.time())
