"""Batch verification on every core: many tokens, the verdicts of spec §6.3, in input order.

The calling thread parses each token (steps 1-2) and, once its signature is known to be good,
runs steps 4-9 and builds the result; only step 3, the Ed25519 checks (three quarters of a
verification's CPU time), goes elsewhere, a chunk of tokens at a time:

* to the worker *processes* of a :class:`~endorse.protocol.SignaturePool` (``pool=``; what
  ``Client.verify_many`` uses for large batches). For each token the calling thread sends its
  key, signature and payload and gets a byte back (never a result object, nor anything the
  caller trusts), which costs it ~0.3 µs; a worker spends ~46 µs on the check. With the
  parse and steps 4-9 at ~13 µs a token, two cores verify 1.32-1.47x what one core of raw
  PyNaCl does, bounded by their CPU time at 1.5-1.6x (``bench/verify_batch.py``);
* else on *threads* (an ``executor`` given, or ``workers`` threads made for the batch):
  libsodium releases the GIL while it checks a signature, but a thread back from a check
  needs the GIL, which the parsing thread hands over only every switch interval, hence a
  0.1 ms interval while such a batch runs (:class:`_Handover`). Threads start at once, but
  share one interpreter: 1.15-1.2x in the same runs.

Whole-token verifications on threads (the design before) convoyed on the GIL: 0.9-1.0x.

Every result is exactly what :func:`~endorse.protocol.verify_endorsement_with` gives for the
same token, expectations and facts: steps 1-2 and 4-9 are the same functions, in the calling
thread; a worker's "good" is the call step 3 makes (libsodium's ``crypto_sign_open``) on the
same bytes under the same key, and a token that fails step 1, 2 or 3 (or whose check a
worker could not make) is verified whole by that function's own path, which says why.

Memory stays bounded for any input length: the input is read lazily, at most ``AHEAD *
workers + 1`` chunks are in flight, and the results are handed out in input order as each chunk is
concluded. Cancellation: closing the iterator (or leaving the loop that reads it), or setting
the ``cancel`` event, ends the batch at its next chunk; nothing more is read from the input.
A worker process that dies (killed, out of memory) ends the batch with
:class:`~endorse.protocol.VerificationWorkerFailed`, never a hang.

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

import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import BrokenExecutor, CancelledError, Executor, ThreadPoolExecutor
from itertools import islice
from typing import Protocol

import nacl.bindings

from endorse.protocol import steps
from endorse.protocol.errors import EndorseError, InvalidArgument, InvalidKey
from endorse.protocol.keys import _public_key_from_did
from endorse.protocol.objects import Endorsement
from endorse.protocol.signature_pool import (
    SignaturePool,
    Signed,
    VerificationWorkerFailed,
    default_workers,
)
from endorse.protocol.steps import StepFailed
from endorse.protocol.token import signing_context
from endorse.protocol.verify import (
    Expectations,
    TrustedFacts,
    VerificationResult,
    _after_signature,
    _verify,
)

CHUNK_SIZE = 256
"""Tokens per chunk: long enough that sending a chunk to a worker costs little per token
(about 12 ms of checks for one message each way), short enough that a batch splits over every
worker."""
MIN_CHUNK_SIZE = 8
"""The smallest chunk a short batch is split into."""
AHEAD = 4
"""Chunks in flight per worker (plus one): the calling thread concludes the oldest chunk
first, and while it waits for that one's worker the others must not run out of work; with
two per worker they did (the workers waited for requests ~4% longer a batch)."""
MIN_PARALLEL_BATCH = 64
"""The shortest batch (of known length) spread over workers; a shorter one is verified in
the calling thread, where it costs less than the hand-overs."""

Item = tuple[str, Expectations]
"""One token to verify, with what the verifier expects of it."""

_CONTEXT = signing_context("endorsement")
_GOOD = 1


class VerificationCancelled(EndorseError):
    """A batch verification was cancelled (its ``cancel`` event was set) before it ended."""


def verify_endorsements(
    items: Iterable[Item],
    trusted: TrustedFacts,
    *,
    workers: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    pool: SignaturePool | None = None,
    executor: Executor | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[VerificationResult]:
    """Verify each ``(token, expectations)`` of ``items`` against ``trusted``; yield the
    results in input order (see the module's description).

    Where the signature checks run, a chunk at a time: in the worker processes of ``pool``
    (when another batch is using it, on threads as without one); else in ``executor`` (any
    :class:`~concurrent.futures.Executor`: threads, or processes that can import
    :mod:`endorse.protocol`); else on ``workers`` threads made for this batch (default
    :func:`default_workers`). ``workers=1`` verifies everything in the calling thread; so is
    a batch shorter than :data:`MIN_PARALLEL_BATCH`. The mappings of ``trusted`` are read by
    the calling thread alone.

    Raises:
        VerificationCancelled: ``cancel`` was set; the results yielded so far stand.
        VerificationWorkerFailed: a worker process died (was killed) during the batch, or the
            pool or executor was shut down under it.
        InvalidArgument: ``trusted`` is not a TrustedFacts, an item not a pair of a token and
            an :class:`Expectations`, ``workers`` or ``chunk_size`` not an int >= 1, ``pool``
            not a SignaturePool (or closed), ``executor`` not an Executor (or given with a
            pool), or ``cancel`` not a threading.Event.
    """
    if type(trusted) is not TrustedFacts:
        raise InvalidArgument("verify_endorsements needs a TrustedFacts")
    if workers is None:
        workers = pool.workers if isinstance(pool, SignaturePool) else default_workers()
    if type(workers) is not int or workers < 1 or type(chunk_size) is not int or chunk_size < 1:
        raise InvalidArgument("workers and chunk_size must be ints >= 1")
    if cancel is not None and not isinstance(cancel, threading.Event):
        raise InvalidArgument("cancel must be a threading.Event")
    if executor is not None and not isinstance(executor, Executor):
        raise InvalidArgument("executor must be a concurrent.futures.Executor")
    if pool is not None and (not isinstance(pool, SignaturePool) or executor is not None):
        raise InvalidArgument("pool must be a SignaturePool, and is given without an executor")
    return _results(items, trusted, workers, chunk_size, pool, executor, cancel)


class _Checks(Protocol):
    """The verdicts of one chunk's signature checks, on the way (a Future, or an Answer of a
    SignaturePool's worker)."""

    def result(self) -> bytes: ...

    def cancel(self) -> bool: ...


Pending = tuple[list[Item], list[Endorsement | None], _Checks]
"""A chunk in flight: its items, each one's endorsement when steps 1-2 passed, and its
signature checks."""


def _results(
    items: Iterable[Item],
    trusted: TrustedFacts,
    workers: int,
    chunk_size: int,
    pool: SignaturePool | None,
    executor: Executor | None,
    cancel: threading.Event | None,
) -> Iterator[VerificationResult]:
    try:
        source = iter(items)
    except TypeError as e:
        raise InvalidArgument("verify_endorsements needs an iterable of items") from e
    if isinstance(items, Sized):
        # A batch of known length is split into chunks of equal size, at least four per
        # worker and as many for each: no worker is left with a chunk to finish alone at
        # the end while the other cores have nothing to do.
        count = len(items)
        chunk_size = max(MIN_CHUNK_SIZE, min(chunk_size, -(-count // (4 * workers))))
        rounds = max(1, -(-count // (chunk_size * workers)))
        chunk_size = max(MIN_CHUNK_SIZE, -(-count // (rounds * workers)))
        if count < MIN_PARALLEL_BATCH:
            workers = 1
    chunks = _chunks(source, chunk_size)
    if workers == 1:
        for chunk in chunks:
            _stopped(cancel)
            yield from _inline(chunk, trusted)
        return
    first = next(chunks, None)
    if first is None:
        return
    _stopped(cancel)
    if pool is not None:
        with pool.session() as session:
            if session is not None:
                submit = session.submit
                yield from _pipelined(first, chunks, trusted, submit, workers, cancel)
                return
    if executor is not None:
        yield from _pipelined(first, chunks, trusted, _on(executor), workers, cancel)
        return
    threads = ThreadPoolExecutor(workers, "endorse-verify")
    _handover.enter()
    try:
        yield from _pipelined(first, chunks, trusted, _on(threads), workers, cancel)
    finally:
        _handover.leave()
        threads.shutdown(wait=False, cancel_futures=True)


Submit = Callable[[bytes, list[Signed]], _Checks]
"""Sends the signature checks of a chunk on their way."""


def _on(executor: Executor) -> Submit:
    def submit(context: bytes, signed: list[Signed]) -> _Checks:
        try:
            return executor.submit(check_signatures, context, signed)
        except (RuntimeError, BrokenExecutor) as e:  # shut down, or broken by a dead worker
            raise VerificationWorkerFailed(f"the batch's workers cannot take work: {e}") from e

    return submit


def _pipelined(
    first: list[Item],
    chunks: Iterator[list[Item]],
    trusted: TrustedFacts,
    submit: Submit,
    workers: int,
    cancel: threading.Event | None,
) -> Iterator[VerificationResult]:
    """Parse a chunk and send its checks off; once ``AHEAD * workers + 1`` chunks are in flight,
    conclude the oldest (waiting for its checks) before reading the next."""
    pending: deque[Pending] = deque()
    limit = AHEAD * workers + 1
    try:
        chunk: list[Item] | None = first
        while chunk is not None:
            pending.append(_submitted(submit, chunk))
            if len(pending) >= limit:
                yield from _concluded(pending.popleft(), trusted, cancel)
            _stopped(cancel)  # before reading more
            chunk = next(chunks, None)
        while pending:
            yield from _concluded(pending.popleft(), trusted, cancel)
    finally:
        # Closed early, cancelled or failed: no more chunks are read; the checks not started
        # are cancelled, and the answers of the others are dropped.
        for _, _, checks in pending:
            checks.cancel()


class _Handover:
    """A short GIL switch interval while thread batches run (counted: the first batch to
    start sets it, the last to end puts back what it was).

    A worker thread back from a signature check waits for the GIL while the calling thread
    parses or concludes; by default it waits up to 5 ms before Python makes the holder hand
    it over, for a check that took about 45 µs. The interval is the process's: other
    threads switch as often meanwhile. Worker processes need no such thing.
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


def _stopped(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise VerificationCancelled("the batch verification was cancelled")


def _checked(item: object) -> Item:
    if type(item) is not tuple or len(item) != 2 or type(item[1]) is not Expectations:
        raise InvalidArgument("each item is a (token, Expectations) pair")
    return item


def _inline(chunk: list[Item], trusted: TrustedFacts) -> list[VerificationResult]:
    return [_verify(*_checked(item), trusted) for item in chunk]


def _submitted(submit: Submit, chunk: list[Item]) -> Pending:
    """Steps 1-2 of each token of ``chunk`` here; its signature checks sent off."""
    opened: list[Endorsement | None] = []
    signed: list[Signed] = []
    for item in chunk:
        token = _checked(item)[0]
        try:
            e, payload, signature = steps.compact_form_and_payload(token, Endorsement)
            key = _public_key_from_did(e.issuer).raw
        except (StepFailed, InvalidKey):
            opened.append(None)  # left to _verify, which says what is wrong
            continue
        opened.append(e)
        signed.append((key, signature, payload))
    return chunk, opened, submit(_CONTEXT, signed)


def _concluded(
    pending: Pending, trusted: TrustedFacts, cancel: threading.Event | None
) -> list[VerificationResult]:
    """Steps 4-9 of each token of a chunk whose signatures were good; a token that failed
    steps 1-3 gets :func:`_verify`'s own result."""
    chunk, opened, checks = pending
    try:
        verdicts = checks.result()
    except BrokenExecutor as broken:
        raise VerificationWorkerFailed(
            "a worker of the batch verification ended before it answered (killed?)"
        ) from broken
    except CancelledError as cancelled:
        raise VerificationWorkerFailed("the batch's executor was shut down under it") from cancelled
    _stopped(cancel)
    results = []
    checked = iter(verdicts)
    for (token, expected), e in zip(chunk, opened, strict=True):
        if e is not None and next(checked) == _GOOD:
            results.append(_after_signature(token, e, expected, trusted))
        else:
            results.append(_verify(token, expected, trusted))
    return results


def check_signatures(context: bytes, signed: list[Signed]) -> bytes:
    """Step 3 for a chunk, where an executor runs it: for each ``(public key, signature,
    payload)``, 1 if libsodium's ``crypto_sign_open`` accepts the signature of ``context``
    and the payload under the 32-byte key, else 0 (what a SignaturePool's worker answers).

    Only a 1 lets the batch skip step 3 in the calling thread, and it is the call step 3
    makes (:meth:`~endorse.protocol.PublicKey.verify`) on the same bytes; a 0 makes the
    calling thread verify the token whole, which says why it fails.
    """
    verdicts = bytearray(len(signed))
    sign_open = nacl.bindings.crypto_sign_open
    for i, (key, signature, payload) in enumerate(signed):
        try:
            sign_open(signature + context + payload, key)
        except Exception:  # noqa: S112 - any failure: the calling thread finds out why
            continue
        verdicts[i] = _GOOD
    return bytes(verdicts)


__all__ = [
    "CHUNK_SIZE",
    "MIN_PARALLEL_BATCH",
    "Item",
    "SignaturePool",
    "VerificationCancelled",
    "VerificationWorkerFailed",
    "check_signatures",
    "default_workers",
    "verify_endorsements",
]
