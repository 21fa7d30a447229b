"""``endorse serve`` as an operator runs it: the console script, stopped by a signal to it."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import httpx
from live import STOP_TIMEOUT, LiveServer


def test_a_sigterm_to_endorse_serve_stops_the_registry(tmp_path: Path) -> None:
    # A service manager (or `kill PID`) signals the process it started, not a process group:
    # the registry must not outlive `endorse serve`, holding its port.
    endorse = shutil.which("endorse", path=str(Path(sys.executable).parent))
    assert endorse is not None
    command = [endorse, "serve", "--host", "127.0.0.1", "--port", "{port}"]
    database = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    with LiveServer(database, tmp_path, command=command) as server:
        os.kill(server.pid, signal.SIGTERM)  # that one process only
        deadline = time.monotonic() + STOP_TIMEOUT
        answering = True
        while answering and time.monotonic() < deadline:
            try:
                httpx.get(server.url + "/healthz", timeout=1.0)
                time.sleep(0.1)
            except httpx.TransportError:
                answering = False
        assert not answering, "the registry still answers after endorse serve got SIGTERM"
