"""Worker processes for the signature checks of batch verification
(:func:`~endorse.protocol.verify_endorsements`).

A :class:`SignaturePool` starts its workers when a batch first needs them and keeps them
until :meth:`~SignaturePool.close`: starting one costs a fresh interpreter and PyNaCl's import
(tens of milliseconds), which a warm pool pays once for many batches (``Client`` keeps one).

Each worker is ``python -P`` running ``_signature_worker.py`` by path, over pipes: not a
``multiprocessing`` child. Nothing is forked (the process asking may have threads: an HTTP
client's, a server's, which a forked child would inherit in whatever state they were), the
worker imports PyNaCl alone (neither ``endorse`` nor the program that started it: spawn and
forkserver children import the main script again, and a script without the ``__main__``
guard would run again in each), no thread of the pool runs in the calling process, and a
request is plain bytes: for each token its 32-byte key and libsodium's signed message
(signature, signing context, payload); the answer is a byte per token. No result object and no
trusted fact crosses. Workers run in their own session (a terminal's Ctrl-C goes to the
program, which decides what to stop) and end when their input ends, so they do not outlive
the program even if it is killed.

>>> from endorse.protocol import *
>>> key = SigningKey.from_seed(bytes(32))
>>> tokens = [issue(key, "Alice Smith", Subject(f"Bob {i}", email="bob@example.com"),
...                 Relationship("work", "manager"), ["employment-reference"],
...                 now=1_700_000_000) for i in range(80)]
>>> expected = Expectations(now=1_700_000_100, purpose="employment-reference")
>>> trusted = TrustedFacts.unsafe_without_status({key.did: TrustedIssuer.pinned(key.did)})
>>> with SignaturePool(2) as pool:
...     results = list(verify_endorsements([(t, expected) for t in tokens], trusted, pool=pool))
>>> {r.verdict.value for r in results}
{'valid'}
"""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import sys
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from endorse.protocol._signature_worker import HEADER
from endorse.protocol.errors import EndorseError, InvalidArgument

WORKER = Path(__file__).with_name("_signature_worker.py")
"""The script each worker process runs."""
PIPE_BYTES = 1 << 20
"""The pipe capacity asked for on Linux (its usual unprivileged maximum), so that a few
chunks of requests fit in a pipe and sending one rarely waits for the worker to read."""

Signed = tuple[bytes, bytes, bytes]
"""One signature to check: the 32-byte public key, the 64-byte signature and the payload
(signed after the signing context that the request gives for all of them)."""


class VerificationWorkerFailed(EndorseError):
    """A worker of a batch verification ended before it answered (a worker process killed or
    crashed, or the pool closed under the batch); the results yielded so far stand."""


def default_workers() -> int:
    """The cores this process may run on: the default number of workers of a batch."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return os.cpu_count() or 1


class SignaturePool:
    """Worker processes that check signatures for :func:`verify_endorsements` (see the
    module). ``workers``: how many (default :func:`default_workers`). One batch uses the
    pool at a time; a batch that finds it busy checks its signatures on threads instead.

    Raises:
        InvalidArgument: ``workers`` is not an int >= 1.
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is None:
            workers = default_workers()
        if type(workers) is not int or workers < 1:
            raise InvalidArgument("workers must be an int >= 1")
        self.workers = workers
        self._lock = threading.Lock()  # held by the batch using the pool
        self._state = threading.Lock()  # guards _processes and _closed
        self._processes: list[_Worker] = []
        self._closed = False
        self._finalizer = weakref.finalize(self, _stop, self._processes)

    @property
    def pids(self) -> tuple[int, ...]:
        """The process ids of the running workers (none before the first batch)."""
        with self._state:
            return tuple(w.process.pid for w in self._processes)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session | None]:
        """The pool for one batch, its workers started if they are not running; None when
        another batch is using it.

        Raises:
            InvalidArgument: the pool is closed.
            VerificationWorkerFailed: a worker could not be started.
        """
        if not self._lock.acquire(blocking=False):
            yield None
            return
        try:
            yield Session(self._running())
        finally:
            self._lock.release()

    def _running(self) -> list[_Worker]:
        with self._state:
            if self._closed:
                raise InvalidArgument("this SignaturePool is closed")
            if any(w.broken or w.process.poll() is not None for w in self._processes):
                _stop(self._processes)  # a worker died or lost its place: start afresh
                self._processes.clear()
            try:
                while len(self._processes) < self.workers:
                    self._processes.append(_Worker.start())
            except OSError as e:
                raise VerificationWorkerFailed(f"cannot start a signature worker: {e}") from e
            return list(self._processes)

    def close(self) -> None:
        """Stop the worker processes and wait for them to end. Idempotent; a batch using the
        pool meanwhile ends with :class:`VerificationWorkerFailed`."""
        with self._state:
            self._closed = True
            workers = list(self._processes)
            self._processes.clear()
        _stop(workers)

    def __enter__(self) -> SignaturePool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Worker:
    """One worker process, its pipes, and how many answer bytes it owes (in order)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        assert process.stdin is not None  # both are pipes: Popen(stdin=PIPE, stdout=PIPE)
        assert process.stdout is not None
        self.requests: IO[bytes] = process.stdin
        self.answers: IO[bytes] = process.stdout
        self.owed: deque[int] = deque()  # answer sizes of the requests sent, oldest first
        self.broken = False

    @classmethod
    def start(cls) -> _Worker:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, our own script
            [sys.executable, "-P", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
            start_new_session=True,
        )
        try:
            import fcntl  # POSIX only: nothing to resize elsewhere
        except ImportError:  # pragma: no cover - not POSIX
            return cls(process)
        resize = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
        for pipe in (process.stdin, process.stdout):
            # Best effort: a bigger pipe only spares the caller some waits.
            if resize is not None and pipe is not None:
                with contextlib.suppress(OSError):
                    fcntl.fcntl(pipe.fileno(), resize, PIPE_BYTES)
        return cls(process)

    def send(self, request: bytes, count: int) -> None:
        try:
            self.requests.write(request)  # unbuffered: writes it all, or raises
        except (OSError, ValueError) as e:
            self.broken = True
            raise VerificationWorkerFailed(
                "a signature worker of the batch ended before it answered (killed?)"
            ) from e
        except BaseException:
            self.broken = True  # interrupted halfway through: the framing is lost
            raise
        self.owed.append(count)

    def receive(self) -> bytes:
        count = self.owed[0]
        answer = bytearray()
        try:
            while len(answer) < count:
                got = self.answers.read(count - len(answer))
                if not got:
                    raise VerificationWorkerFailed(
                        "a signature worker of the batch ended before it answered (killed?)"
                    )
                answer += got
        except (OSError, ValueError) as e:
            self.broken = True
            raise VerificationWorkerFailed(
                "a signature worker of the batch ended before it answered (killed?)"
            ) from e
        except BaseException:
            self.broken = True
            raise
        self.owed.popleft()
        return bytes(answer)

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.requests.close()  # the worker ends at the end of its input
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError, ValueError):
            self.answers.close()


def _stop(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.stop()


class Session:
    """A :class:`SignaturePool` in the hands of one batch: requests go to the workers in
    turn, and each answer is read when the batch asks for it, in the order sent."""

    def __init__(self, workers: list[_Worker]) -> None:
        self._workers = workers
        self._next = 0
        for worker in workers:  # answers owed to a batch that ended early: not ours
            while worker.owed and not worker.broken:
                worker.receive()

    def submit(self, context: bytes, signed: list[Signed]) -> Answer:
        """Send the checks of ``signed`` (each payload signed after ``context``) to the next
        worker; the :class:`Answer` gives their verdicts.

        Raises:
            VerificationWorkerFailed: the worker has ended.
        """
        count = len(signed)
        extra = 64 + len(context)  # each message: the signature, the context, the payload
        lengths = [extra + len(payload) for _, _, payload in signed]
        parts = [HEADER.pack(count, 36 * count + sum(lengths)), struct.pack(f"<{count}I", *lengths)]
        for key, signature, payload in signed:
            parts += (key, signature, context, payload)
        # In turn: chunks of equal size, concluded in order, keep every worker's queue full.
        worker = self._workers[self._next]
        self._next = (self._next + 1) % len(self._workers)
        worker.send(b"".join(parts), count)
        return Answer(worker)


class Answer:
    """The verdicts of one request, read from its worker on :meth:`result`."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker

    def result(self) -> bytes:
        """One byte per signature, 1 where it verifies, in the order sent.

        Raises:
            VerificationWorkerFailed: the worker ended before it answered.
        """
        return self._worker.receive()

    def cancel(self) -> bool:
        """Answers cannot be cancelled (the next batch reads and drops them)."""
        return False


__all__ = ["SignaturePool", "VerificationWorkerFailed", "default_workers"]
