"""A settable clock for apps under test: tests move time instead of sleeping."""

from __future__ import annotations

START = 1_767_225_600  # 2026-01-01T00:00:00Z


class Clock:
    """A settable clock for the app: tests move time instead of sleeping."""

    def __init__(self, now: int = START) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds
