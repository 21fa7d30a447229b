"""Batch verification on every core: many tokens, the verdicts of spec §6.3, in input order.

libsodium releases Python's GIL while it checks a signature, so signature checks run in
parallel in threads, while everything else in a verification (the strict parse, the other
steps, the result) holds the GIL. Threads that each verify whole tokens one after another
convoy on the GIL: each short GIL-free signature check ends waiting for the other thread's
Python work, and two such threads verify fewer tokens than one (``bench/README.md``). So each
worker takes a *chunk* of tokens and verifies it in three phases: steps 1-2 (parse) for the
whole chunk, then step 3 (the signature checks) back to back, then steps 4-9. While one
worker parses or concludes, holding the GIL, the other's run of signature checks needs it
only briefly between two checks; so that it gets it then, and not after Python's default
switch interval of 5 ms, the process's switch interval is 0.1 ms while batches run
(:class:`_Handover`).

Every result is exactly what :func:`~endorse.protocol.verify_endorsement_with` gives for the
same token, expectations and facts: the steps are the same functions, and a token that fails
step 1, 2 or 3 is handed to that function whole.

Memory stays bounded for any input length: the input is read lazily, at most ``2 * workers``
chunks are in flight, and the results are handed out in input order as soon as the chunk
holding them is done. Cancellation: closing the iterator (or leaving the loop that reads it),
or setting the ``cancel`` event, stops the workers at their next phase; nothing more is read
from the input.

>>> from endorse.protocol import *
>>> key = SigningKey.from_seed(bytes(32))
>>> tokens = [issue(key, "Alice Smith", Subject(f"Bob {i}", email="bob@example.com"),
...                 Relationship("work", "manager"), ["employment-reference"],
...                 now=1_700_000_000) for i in range(3)]
>>> expected = Expectations(now=1_700_000_100, purpose="employment-reference")
>>> trusted = TrustedFacts.unsafe_without_status({key.did: TrustedIssuer.pinned(key.did)})
>>> [r.verdict.value for r in verify_endorsements([(t, expected) for t in tokens], trusted)]
['valid', 'valid', 'valid']
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sized
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from itertools import islice

from endorse.protocol import steps
from endorse.protocol.errors import EndorseError, InvalidArgument
from endorse.protocol.objects import Endorsement
from endorse.protocol.steps import StepFailed
from endorse.protocol.verify import (
    Expectations,
    TrustedFacts,
    VerificationResult,
    _after_signature,
    _verify,
)

CHUNK_SIZE = 64
"""Tokens per chunk: long enough runs of signature checks that the workers rarely wait for
each other's GIL-held phases, short enough that a batch splits over every worker."""
MIN_CHUNK_SIZE = 8
"""The smallest chunk a short batch is split into."""

Item = tuple[str, Expectations]
"""One token to verify, with what the verifier expects of it."""


class VerificationCancelled(EndorseError):
    """A batch verification was cancelled (its ``cancel`` event was set) before it ended."""


def default_workers() -> int:
    """The cores this process may run on: the default number of workers of a batch."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return os.cpu_count() or 1


def verify_endorsements(
    items: Iterable[Item],
    trusted: TrustedFacts,
    *,
    workers: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    executor: Executor | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[VerificationResult]:
    """Verify each ``(token, expectations)`` of ``items`` against ``trusted``; yield the
    results in input order (see the module's description).

    ``workers``: threads to verify in (default :func:`default_workers`); 1 verifies in the
    calling thread. The mappings of ``trusted`` are read from those threads at once: they
    must not change while the batch runs. ``executor``: where those threads come from (a
    pool the caller keeps warm); without one, a pool of ``workers`` threads is made for this
    batch. A batch too short to split into two chunks is verified in the calling thread.

    Raises:
        VerificationCancelled: ``cancel`` was set; the results yielded so far stand.
        InvalidArgument: ``trusted`` is not a TrustedFacts, an item not a pair of a token and
            an :class:`Expectations`, ``workers`` or ``chunk_size`` not an int >= 1, or
            ``cancel`` not a threading.Event.
    """
    if type(trusted) is not TrustedFacts:
        raise InvalidArgument("verify_endorsements needs a TrustedFacts")
    if workers is None:
        workers = default_workers()
    if type(workers) is not int or workers < 1 or type(chunk_size) is not int or chunk_size < 1:
        raise InvalidArgument("workers and chunk_size must be ints >= 1")
    if cancel is not None and not isinstance(cancel, threading.Event):
        raise InvalidArgument("cancel must be a threading.Event")
    if executor is not None and not isinstance(executor, Executor):
        raise InvalidArgument("executor must be a concurrent.futures.Executor")
    return _results(items, trusted, workers, chunk_size, executor, cancel)


def _results(
    items: Iterable[Item],
    trusted: TrustedFacts,
    workers: int,
    chunk_size: int,
    executor: Executor | None,
    cancel: threading.Event | None,
) -> Iterator[VerificationResult]:
    try:
        source = iter(items)
    except TypeError as e:
        raise InvalidArgument("verify_endorsements needs an iterable of items") from e
    if isinstance(items, Sized):
        # A batch of known length is split so that every worker gets a few chunks.
        count = len(items)
        chunk_size = max(MIN_CHUNK_SIZE, min(chunk_size, -(-count // (4 * workers))))
    chunks = _chunks(source, chunk_size)
    first = next(chunks, None)
    if first is None:
        return
    stop = threading.Event()  # ours: set when this iterator ends early
    if workers == 1 or len(first) < chunk_size:
        # One worker, or a batch of at most one chunk: threads would only add hand-overs.
        yield from _chunk(first, trusted, stop, cancel)
        for chunk in chunks:
            yield from _chunk(chunk, trusted, stop, cancel)
        return
    own = executor is None
    pool = ThreadPoolExecutor(workers, "endorse-verify") if executor is None else executor
    pending: deque[Future[list[VerificationResult]]] = deque()
    _handover.enter()
    try:
        pending.append(pool.submit(_chunk, first, trusted, stop, cancel))
        for ahead in islice(chunks, 2 * workers - 1):
            pending.append(pool.submit(_chunk, ahead, trusted, stop, cancel))
        while pending:
            done = pending.popleft().result()
            if cancel is not None and cancel.is_set():
                raise VerificationCancelled("the batch verification was cancelled")
            following = next(chunks, None)
            if following is not None:
                pending.append(pool.submit(_chunk, following, trusted, stop, cancel))
            yield from done
    finally:
        # Closed early, cancelled or failed: no more chunks are read or started, and those
        # running stop at their next phase (their results are dropped).
        if pending:
            stop.set()
            for future in pending:
                future.cancel()
        _handover.leave()
        if own:
            pool.shutdown(wait=False, cancel_futures=True)


class _Handover:
    """A short GIL switch interval while batches run (counted: the first batch to start sets
    it, the last to end puts back what it was).

    A worker back from a signature check waits for the GIL while the other worker parses or
    concludes; by default it waits up to 5 ms before Python makes the holder hand it over,
    for a check that took about 40 µs. With a short interval the checks go on while the other
    worker holds the GIL for its Python work (``bench/verify_batch.py`` measures both).
    The interval is the process's: other threads switch as often meanwhile.
    """

    interval: float | None = 0.0001
    """Seconds; None leaves the process's interval alone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._saved = 0.0

    def enter(self) -> None:
        with self._lock:
            if self._active == 0 and self.interval is not None:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, self.interval))
            self._active += 1

    def leave(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0 and self.interval is not None:
                sys.setswitchinterval(self._saved)


_handover = _Handover()


def _chunks(source: Iterator[Item], n: int) -> Iterator[list[Item]]:
    while chunk := list(islice(source, n)):
        yield chunk


def _stopped(stop: threading.Event, cancel: threading.Event | None) -> None:
    if stop.is_set():
        raise VerificationCancelled("the batch verification was stopped")
    if cancel is not None and cancel.is_set():
        raise VerificationCancelled("the batch verification was cancelled")


def _chunk(
    chunk: list[Item],
    trusted: TrustedFacts,
    stop: threading.Event,
    cancel: threading.Event | None,
) -> list[VerificationResult]:
    """Verify one chunk in the three phases of the module's description; raise
    :class:`VerificationCancelled` at the first phase that finds the batch stopped."""
    _stopped(stop, cancel)
    # Steps 1-2 for the whole chunk (GIL held). A token that fails them is left to _verify.
    opened: list[tuple[Endorsement, bytes, bytes] | None] = []
    for item in chunk:
        if type(item) is not tuple or len(item) != 2 or type(item[1]) is not Expectations:
            raise InvalidArgument("each item is a (token, Expectations) pair")
        try:
            opened.append(steps.compact_form_and_payload(item[0], Endorsement))
        except StepFailed:
            opened.append(None)
    _stopped(stop, cancel)
    # Step 3 back to back: libsodium checks each signature without the GIL.
    signed: list[Endorsement | None] = []
    for found in opened:
        if found is None:
            signed.append(None)
            continue
        try:
            steps.signature(*found)
        except StepFailed:
            signed.append(None)
        else:
            signed.append(found[0])
    _stopped(stop, cancel)
    # Steps 4-9 (GIL held); a token that failed steps 1-3 gets _verify's own result.
    return [
        _verify(token, expected, trusted)
        if e is None
        else _after_signature(token, e, expected, trusted)
        for (token, expected), e in zip(chunk, signed, strict=True)
    ]


__all__ = [
    "CHUNK_SIZE",
    "Item",
    "VerificationCancelled",
    "default_workers",
    "verify_endorsements",
]
