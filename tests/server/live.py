"""A real registry process on loopback, for tests that need one (and the benchmark).

:class:`LiveServer` runs ``python -m endorse.server serve`` exactly as an operator would, on a
port picked beforehand (the registry's id, ``ENDORSE_REGISTRY_URL``, names the port, so it must
be known before the server starts), with its own data directory and the database it is given.
It waits for ``/readyz``, and can be stopped (SIGTERM, then SIGKILL), killed outright (SIGKILL,
as a crash would) and restarted on the same port and database::

    with LiveServer(database_url, tmp_path) as server:
        httpx.get(server.url + "/healthz")
        server.kill()
        server.start()  # same port, same registry id, same database

Everything the server prints goes to ``server.log_path``; a failed start shows its tail.
``cpus`` pins the process (and its workers) with ``taskset``; ``command`` runs another server
(``{port}`` in it is replaced), ready when ``ready_path`` answers 200.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerFailed(RuntimeError):
    """The server process did not become ready; the message carries its log's tail."""


class LiveServer:
    def __init__(
        self,
        database_url: str,
        directory: Path,
        *,
        workers: int = 1,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        cpus: str | None = None,
        command: list[str] | None = None,
        ready_path: str = "/readyz",
    ) -> None:
        self.database_url = database_url
        self.directory = directory
        self.workers = workers
        self.args = args
        self.extra_env = env or {}
        self.cpus = cpus
        self.command = command
        self.ready_path = ready_path
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = directory / "server.log"
        self.data_dir = directory / "data"

    @property
    def url(self) -> str:
        """The base URL, which is also the registry's id."""
        assert self.port is not None, "the server was never started"
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENDORSE_")}
        env.update(
            ENDORSE_DATA_DIR=str(self.data_dir),
            ENDORSE_DATABASE_URL=self.database_url,
            ENDORSE_REGISTRY_URL=self.url,
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def _spawn(self) -> subprocess.Popen[bytes]:
        if self.command is not None:
            command = [part.replace("{port}", str(self.port)) for part in self.command]
        else:
            command = [sys.executable, "-m", "endorse.server", "serve", "--host", "127.0.0.1"]
            command += ["--port", str(self.port), "--workers", str(self.workers), *self.args]
        if self.cpus is not None:
            command = ["taskset", "-c", self.cpus, *command]
        log = self.log_path.open("ab")
        try:
            return subprocess.Popen(
                command,
                cwd=self.directory,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: workers are stopped with it
            )
        finally:
            log.close()

    def start(self, timeout: float = START_TIMEOUT) -> LiveServer:
        """Start (or start again, on the same port) and wait until ``/readyz`` answers 200.

        On the first start a port is picked; if another process takes it in the meantime, a
        new one is picked (up to three times). A restart keeps its port, since the registry's
        id names it, and retries while the port is still being released.
        """
        assert self.process is None or self.process.poll() is not None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        first = self.port is None
        for attempt in range(3):
            if first:
                self.port = free_port()
            mark = self.log_path.stat().st_size if self.log_path.exists() else 0
            self.process = self._spawn()
            if self._wait_ready(timeout):
                return self
            if "address already in use" not in self.log_since(mark).lower() or attempt == 2:
                break
            time.sleep(0.5)
        raise ServerFailed(f"the server did not become ready:\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    if client.get(self.url + self.ready_path).status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.kill()
        return False

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM (a graceful shutdown), then SIGKILL after ``timeout``; the exit status."""
        return self._signal(signal.SIGTERM, timeout)

    def kill(self) -> int | None:
        """SIGKILL the server and its workers at once, as a crash or power cut would."""
        return self._signal(signal.SIGKILL, STOP_TIMEOUT)

    def restart(self) -> LiveServer:
        """Kill the server outright, then start it again on the same port and database."""
        self.kill()
        return self.start()

    def _signal(self, sig: signal.Signals, timeout: float) -> int | None:
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        # Workers left behind by a killed supervisor share its process group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_since(self, offset: int) -> str:
        """What the server printed after byte ``offset`` of its log."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[offset:].decode(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
