"""A registry process whose clock the test moves, so no test waits for a registry's time to pass.

Run by :class:`live.LiveServer` (``command=clocked_command()``): it migrates the database and
serves the registry as ``python -m endorse.server serve`` does, with one difference: the app's
clock (``create_app``'s ``clock``) is the real time plus a number of seconds read, at every
tick, from the file named by ``ENDORSE_TEST_CLOCK_OFFSET_FILE``. :class:`ServerClock` writes
that file; the offset survives a restart of the process. Test code only: the registry has no
such setting.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from fastapi import FastAPI

OFFSET_FILE_ENV = "ENDORSE_TEST_CLOCK_OFFSET_FILE"


def clock() -> int:
    """The registry's time: the real time plus the offset in the file (0 without one)."""
    try:
        offset = int(Path(os.environ[OFFSET_FILE_ENV]).read_text())
    except FileNotFoundError:
        offset = 0
    return int(time.time()) + offset


def create_app_from_env() -> FastAPI:
    from endorse.server.app import create_app
    from endorse.server.settings import load_settings

    return create_app(load_settings(), clock=clock)


def clocked_command() -> list[str]:
    """The ``LiveServer`` command that runs this module on the port LiveServer picks."""
    return [sys.executable, str(Path(__file__).resolve()), "--port", "{port}"]


class ServerClock:
    """Moves the time of a clocked registry (``path``: its offset file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._write()

    def advance(self, seconds: int) -> None:
        self.offset += seconds
        self._write()

    def _write(self) -> None:
        # Written whole and renamed into place: the server never reads half a number.
        part = self.path.with_suffix(".part")
        part.write_text(str(self.offset))
        part.replace(self.path)


if __name__ == "__main__":
    import uvicorn

    from endorse.server.__main__ import main

    main(["db", "upgrade"])
    port = int(sys.argv[sys.argv.index("--port") + 1])
    uvicorn.run(
        create_app_from_env,
        factory=True,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
