"""Batch verification with its signature checks in worker processes (a SignaturePool) or on
threads: the same results as one by one, in input order, with bounded reading ahead,
stoppable, and a clear error when a worker dies (behaviour only: nothing here depends on
timing)."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any

import pytest
from _spec_inputs import trusted_issuers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from endorse.protocol import (
    MIN_SIZE,
    Bitstring,
    Expectations,
    InvalidArgument,
    PublicKey,
    Relationship,
    SignaturePool,
    SigningKey,
    StatusList,
    StatusRef,
    Subject,
    TrustedFacts,
    TrustedIssuer,
    VerificationCancelled,
    VerificationResult,
    VerificationWorkerFailed,
    batch,
    default_workers,
    index_status_lists,
    issue,
    token_hash,
    verify_endorsement,
    verify_endorsement_with,
    verify_endorsements,
    verify_registration,
    verify_status_list,
)
from endorse.protocol.batch import Item

ROOT = pathlib.Path(__file__).resolve().parent.parent
VERIFICATION = json.loads((ROOT / "spec" / "vectors" / "verification.json").read_text("utf-8"))
KEYS = json.loads((ROOT / "spec" / "vectors" / "keys.json").read_text("utf-8"))["keys"]
REGISTRY_KEY = PublicKey.from_did(KEYS["registry"]["did"])
VECTOR_REGISTRY = VERIFICATION["registry"]["url"]

NOW = 1_700_000_100
REGISTRY = "https://registry.example"
EMPLOYMENT = "employment-reference"
ALICE = SigningKey.from_seed(b"\x01" * 32)
MALLORY = SigningKey.from_seed(b"\x02" * 32)


def fields(r: VerificationResult) -> tuple[Any, ...]:
    return (
        r.verdict,
        r.detail,
        r.checks,
        r.checked_at,
        r.token,
        r.endorsement,
        r.issuer,
        r.status,
    )


# --- the same verdicts on every vector -------------------------------------------------------


def _vector_inputs(case: dict[str, Any]) -> tuple[dict[str, Any], Expectations, TrustedFacts]:
    issuers = trusted_issuers(case, REGISTRY_KEY, VECTOR_REGISTRY)
    lists = index_status_lists(
        verify_status_list(t, REGISTRY_KEY, VECTOR_REGISTRY) for t in case["status_lists"]
    )
    registration = (
        None
        if case["registration"] is None
        else verify_registration(case["registration"], REGISTRY_KEY, VECTOR_REGISTRY)
    )
    expect = case["expect"]
    keywords = {
        "now": case["now"],
        "issuers": issuers,
        "status_lists": lists,
        "subject": expect["subject"],
        "purpose": expect["purpose"],
        "audience": expect["audience"],
        "presentation": expect["presentation"],
        "nonce": expect["nonce"],
        "registration": registration,
        "clock_skew": case["clock_skew"],
        "max_status_staleness": case["max_status_staleness"],
        "require_status": case["require_status"],
    }
    expected = Expectations(
        case["now"],
        expect["subject"],
        expect["purpose"],
        expect["audience"],
        expect["presentation"],
        expect["nonce"],
        case["clock_skew"],
    )
    # Given for this case's token (whichever token it records: step 5 compares).
    registrations = None if registration is None else {token_hash(case["token"]): registration}
    make = TrustedFacts if case["require_status"] else TrustedFacts.unsafe_without_status
    trusted = make(issuers, lists, registrations, case["max_status_staleness"])
    return keywords, expected, trusted


@pytest.fixture(scope="module")
def pool() -> Iterator[SignaturePool]:
    with SignaturePool(2) as workers:
        yield workers


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in VERIFICATION["cases"]])
def test_batch_agrees_with_one_by_one_on_every_vector(
    case: dict[str, Any], pool: SignaturePool
) -> None:
    keywords, expected, trusted = _vector_inputs(case)
    one = verify_endorsement(case["token"], **keywords)
    assert one.verdict.value == case["expected_verdict"]
    assert fields(verify_endorsement_with(case["token"], expected, trusted)) == fields(one)
    # Enough copies for several chunks on several workers, and the sequential path too; an
    # iterator (of no known length) is never deemed too short to spread over the workers.
    items = [(case["token"], expected)] * 24
    for workers, where in ((1, {}), (3, {}), (2, {"pool": pool})):
        results = list(
            verify_endorsements(iter(items), trusted, workers=workers, chunk_size=5, **where)
        )
        assert len(results) == len(items)
        assert all(fields(r) == fields(one) for r in results)


# --- a mixed batch: order and per-item expectations ------------------------------------------


def _token(i: int, key: SigningKey = ALICE) -> str:
    return issue(
        key,
        "Alice Smith",
        Subject(f"Person {i}", email=f"p{i}@example.com"),
        Relationship("work", "manager"),
        [EMPLOYMENT],
        now=NOW - 100,
        status=StatusRef(REGISTRY, "list-1", i),
    )


def _trusted(revoked: tuple[int, ...] = ()) -> TrustedFacts:
    bits = Bitstring(MIN_SIZE)
    for i in revoked:
        bits.set(i)
    lists = {(REGISTRY, "list-1"): StatusList(REGISTRY, "list-1", NOW, 300, bits)}
    return TrustedFacts({ALICE.did: TrustedIssuer(ALICE.did, identity="a@example.com")}, lists)


def _mixed(n: int) -> list[Item]:
    """Tokens of every fate, each with expectations of its own."""
    items: list[Item] = []
    for i in range(n):
        kind = i % 6
        token = _token(i, MALLORY if kind == 3 else ALICE)
        if kind == 1:
            token = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")  # bad signature
        elif kind == 2:
            token = token[: len(token) // 2]  # malformed
        subject = f"p{i}@example.com" if kind != 4 else "someone.else@example.com"
        purpose = EMPLOYMENT if kind != 5 else "tenancy-reference"
        items.append((token, Expectations(NOW, subject=subject, purpose=purpose)))
    return items


def test_mixed_batch_in_input_order_as_one_by_one(pool: SignaturePool) -> None:
    items = _mixed(150)
    trusted = _trusted(revoked=(0, 12, 90))
    one = [verify_endorsement_with(token, expected, trusted) for token, expected in items]
    assert {r.verdict.value for r in one} >= {
        "valid",
        "revoked",
        "bad_signature",
        "malformed",
        "unknown_issuer",
        "subject_mismatch",
        "purpose_not_allowed",
    }
    for workers, chunk_size in ((1, 64), (2, 7), (4, 3), (3, 64)):
        results = list(verify_endorsements(items, trusted, workers=workers, chunk_size=chunk_size))
        assert [fields(r) for r in results] == [fields(r) for r in one], (workers, chunk_size)
    for chunk_size in (7, 64, 256):
        results = list(verify_endorsements(items, trusted, pool=pool, chunk_size=chunk_size))
        assert [fields(r) for r in results] == [fields(r) for r in one], chunk_size


def test_a_lazy_source_of_unknown_length() -> None:
    items = _mixed(40)
    trusted = _trusted()
    one = [fields(verify_endorsement_with(t, x, trusted)) for t, x in items]
    results = verify_endorsements(iter(items), trusted, workers=2, chunk_size=4)
    assert [fields(r) for r in results] == one


def test_an_empty_batch() -> None:
    assert list(verify_endorsements([], _trusted(), workers=2)) == []


# --- bounded memory, cancellation ------------------------------------------------------------


IN_FLIGHT_2 = batch.AHEAD * 2 + 1
"""The most chunks a batch on two workers has in flight."""


class Source:
    """An endless source of items that counts how many were read."""

    def __init__(self) -> None:
        self.read = 0
        self.token = _token(7)
        self.expected = Expectations(NOW, purpose=EMPLOYMENT)

    def __iter__(self) -> Iterator[Item]:
        while True:
            self.read += 1
            yield (self.token, self.expected)


class CountingIssuers(Mapping[str, TrustedIssuer]):
    """Issuers whose lookups are counted: one per token that reaches step 4."""

    def __init__(self) -> None:
        self.inner = {ALICE.did: TrustedIssuer(ALICE.did, identity="a@example.com")}
        self.lookups = 0
        self.lock = threading.Lock()

    def __getitem__(self, did: str) -> TrustedIssuer:
        with self.lock:
            self.lookups += 1
        return self.inner[did]

    def __iter__(self) -> Iterator[str]:
        return iter(self.inner)

    def __len__(self) -> int:
        return len(self.inner)


@pytest.mark.parametrize("workers", [1, 2, 4, "pool"])
def test_reading_ahead_is_bounded(workers: int | str, pool: SignaturePool) -> None:
    source = Source()
    chunk = 5
    where: dict[str, Any] = {"workers": workers} if workers != "pool" else {"pool": pool}
    bound = 2 if isinstance(workers, str) else workers
    results = verify_endorsements(source, _trusted(), chunk_size=chunk, **where)
    taken = 0
    for result in islice(results, 200):
        taken += 1
        assert result.valid
        # Never more than the chunks in flight beyond what was handed out.
        assert source.read <= taken + (batch.AHEAD * bound + 1) * chunk
    results.close()
    assert taken == 200


def test_closing_early_stops_the_workers_and_the_reading() -> None:
    source = Source()
    issuers = CountingIssuers()
    trusted = TrustedFacts(issuers, _trusted().status_lists)
    with ThreadPoolExecutor(2) as pool:
        results = verify_endorsements(source, trusted, workers=2, chunk_size=10, executor=pool)
        assert next(results).valid
        results.close()
        read = source.read
    # The pool is shut down (every chunk that started has ended): at most the chunks that
    # were in flight did any work, and nothing more was read once the iterator was closed.
    assert source.read == read <= IN_FLIGHT_2 * 10
    assert issuers.lookups <= IN_FLIGHT_2 * 10


def test_cancel_event_ends_the_batch() -> None:
    source = Source()
    cancel = threading.Event()
    results = verify_endorsements(source, _trusted(), workers=2, chunk_size=10, cancel=cancel)
    assert next(results).valid
    cancel.set()
    with pytest.raises(VerificationCancelled):
        for _ in results:
            pass
    read = source.read
    assert read <= IN_FLIGHT_2 * 10
    with pytest.raises(StopIteration):
        next(results)
    assert source.read == read


def test_cancel_before_the_start_verifies_nothing() -> None:
    cancel = threading.Event()
    cancel.set()
    issuers = CountingIssuers()
    trusted = TrustedFacts(issuers, _trusted().status_lists)
    items = [(_token(1), Expectations(NOW))] * 30
    for workers in (1, 2):
        with pytest.raises(VerificationCancelled):
            list(verify_endorsements(items, trusted, workers=workers, cancel=cancel))
    assert issuers.lookups == 0


def test_a_batch_restores_the_switch_interval() -> None:
    before = sys.getswitchinterval()
    handover = batch._handover
    handover.enter()
    handover.enter()  # a second batch at the same time
    assert sys.getswitchinterval() == pytest.approx(min(before, 0.0001))
    handover.leave()
    assert sys.getswitchinterval() == pytest.approx(min(before, 0.0001))  # the other still runs
    handover.leave()
    assert sys.getswitchinterval() == pytest.approx(before)


# --- arguments -------------------------------------------------------------------------------


def test_default_workers_are_the_cores_this_process_may_use() -> None:
    assert default_workers() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    "keywords",
    [
        {"workers": 0},
        {"workers": 1.0},
        {"chunk_size": 0},
        {"cancel": object()},
        {"executor": object()},
    ],
)
def test_wrong_arguments_are_refused(keywords: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        verify_endorsements([], _trusted(), **keywords)


def test_items_must_be_pairs() -> None:
    with pytest.raises(InvalidArgument):
        list(verify_endorsements([_token(1)], _trusted(), workers=1))  # type: ignore[list-item]
    with pytest.raises(InvalidArgument):
        list(verify_endorsements(5, _trusted()))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        verify_endorsements([], {})  # type: ignore[arg-type]


def test_a_revoked_result_reports_the_list_that_revoked_it() -> None:
    trusted = _trusted(revoked=(3,))
    expected = Expectations(NOW)
    for result in (
        verify_endorsement_with(_token(3), expected, trusted),
        *verify_endorsements([(_token(3), expected)] * 20, trusted, workers=2, chunk_size=4),
    ):
        assert result.verdict.value == "revoked"
        assert trusted.status_lists is not None
        assert result.status is trusted.status_lists[(REGISTRY, "list-1")]


# --- worker processes: generated batches, cancellation, a killed worker, closing ----------------

_ISSUED = NOW - 100
_KINDS = (
    "valid",
    "revoked",
    "expired",
    "not_yet_valid",
    "unknown_issuer",
    "bad_signature",
    "tampered_payload",
    "malformed",
    "not_text",
    "subject_mismatch",
)


def _issued(
    i: int, key: SigningKey = ALICE, *, now: int = _ISSUED, expires: int | None = None
) -> str:
    return issue(
        key,
        "Alice Smith",
        Subject(f"Person {i}", email=f"p{i}@example.com"),
        Relationship("work", "manager"),
        [EMPLOYMENT],
        now=now,
        expires=expires,
        status=StatusRef(REGISTRY, "list-1", i),
    )


def _of_kind(kind: str, i: int) -> tuple[object, Expectations]:
    expected = Expectations(NOW, purpose=EMPLOYMENT)
    if kind == "expired":
        return _issued(i, now=NOW - 10_000, expires=NOW - 1000), expected
    if kind == "not_yet_valid":
        return _issued(i, now=NOW + 10_000), expected
    if kind == "unknown_issuer":
        return _issued(i, MALLORY), expected
    token = _issued(i)
    prefix, payload, signature = token.split(".")
    if kind == "bad_signature":
        flipped = "A" if signature[10] != "A" else "B"
        return f"{prefix}.{payload}.{signature[:10]}{flipped}{signature[11:]}", expected
    if kind == "tampered_payload":
        # Another well-formed payload (another subject) under the first one's signature.
        other = _issued(i + 1000).split(".")[1]
        return f"{prefix}.{other}.{signature}", expected
    if kind == "malformed":
        return token[: len(token) // 3], expected
    if kind == "not_text":
        return token.encode(), expected
    if kind == "subject_mismatch":
        return token, Expectations(NOW, subject="someone.else@example.com", purpose=EMPLOYMENT)
    return token, expected  # valid, or revoked by the list (index 3 is revoked below)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(_KINDS), min_size=1, max_size=90),
    chunk_size=st.sampled_from([1, 3, 8, 64]),
)
def test_generated_batches_in_processes_as_one_by_one(
    kinds: list[str], chunk_size: int, pool: SignaturePool
) -> None:
    items = [_of_kind(kind, 3 if kind == "revoked" else 10 + i) for i, kind in enumerate(kinds)]
    trusted = _trusted(revoked=(3,))
    one = [fields(verify_endorsement_with(t, x, trusted)) for t, x in items]  # type: ignore[arg-type]
    assert [v[0].value for v in one] == [_verdict_of(k) for k in kinds]
    for source in (items, iter(items)):
        results = verify_endorsements(source, trusted, pool=pool, chunk_size=chunk_size)  # type: ignore[arg-type]
        assert [fields(r) for r in results] == one


def _verdict_of(kind: str) -> str:
    return {
        "tampered_payload": "bad_signature",
        "not_text": "malformed",
    }.get(kind, kind)


def test_cancelling_a_batch_in_processes_and_using_the_pool_again() -> None:
    with SignaturePool(2) as pool:
        source = Source()
        cancel = threading.Event()
        results = verify_endorsements(source, _trusted(), pool=pool, chunk_size=10, cancel=cancel)
        assert next(results).valid
        cancel.set()
        with pytest.raises(VerificationCancelled):
            for _ in results:
                pass
        read = source.read
        assert read <= IN_FLIGHT_2 * 10  # the chunks in flight, no more
        # Answers still owed for the chunks in flight are read and dropped by the next batch.
        items = _mixed(120)
        trusted = _trusted(revoked=(0, 12))
        one = [fields(verify_endorsement_with(t, x, trusted)) for t, x in items]
        assert [fields(r) for r in verify_endorsements(items, trusted, pool=pool)] == one
        # Closing the iterator early, then a batch again.
        early = verify_endorsements(Source(), _trusted(), pool=pool, chunk_size=10)
        assert next(early).valid
        early.close()
        assert [fields(r) for r in verify_endorsements(items, trusted, pool=pool)] == one
        assert source.read == read


def test_a_killed_worker_ends_the_batch_with_a_clear_error_not_a_hang() -> None:
    with SignaturePool(2) as pool:
        results = verify_endorsements(Source(), _trusted(), pool=pool, chunk_size=10)
        assert next(results).valid
        first = pool.pids
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        outcome: list[BaseException | None] = []

        def drain() -> None:
            try:
                for _ in islice(results, 10_000):
                    pass
            except BaseException as e:
                outcome.append(e)
            else:
                outcome.append(None)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        reader.join(timeout=60)
        assert not reader.is_alive(), "the batch hung on a dead worker"
        assert isinstance(outcome[0], VerificationWorkerFailed)
        assert "ended before it answered" in str(outcome[0])
        # The pool starts new workers for the next batch.
        items = _mixed(70)
        trusted = _trusted()
        one = [fields(verify_endorsement_with(t, x, trusted)) for t, x in items]
        assert [fields(r) for r in verify_endorsements(items, trusted, pool=pool)] == one
        assert set(pool.pids).isdisjoint(first)


def test_a_worker_killed_between_batches_is_replaced() -> None:
    items = _mixed(70)
    trusted = _trusted()
    one = [fields(verify_endorsement_with(t, x, trusted)) for t, x in items]
    with SignaturePool(2) as pool:
        assert [fields(r) for r in verify_endorsements(items, trusted, pool=pool)] == one
        first = pool.pids
        os.kill(first[0], signal.SIGKILL)
        pool._processes[0].process.wait(timeout=30)  # dead before the next batch asks
        assert [fields(r) for r in verify_endorsements(items, trusted, pool=pool)] == one
        assert set(pool.pids).isdisjoint(first)


def test_a_busy_pool_leaves_the_second_batch_to_threads(pool: SignaturePool) -> None:
    items = _mixed(80)
    trusted = _trusted()
    one = [fields(verify_endorsement_with(t, x, trusted)) for t, x in items]
    with pool.session() as session:
        assert session is not None
        assert [fields(r) for r in verify_endorsements(items, trusted, pool=pool)] == one


def test_a_closed_pool_stops_its_workers_and_is_refused() -> None:
    pool = SignaturePool(2)
    assert pool.pids == ()  # nothing started before a batch needs it
    items = _mixed(70)
    list(verify_endorsements(items, _trusted(), pool=pool))
    pids = pool.pids
    assert len(pids) == 2
    pool.close()
    assert pool.pids == ()
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)
    with pytest.raises(InvalidArgument):
        list(verify_endorsements(items, _trusted(), pool=pool))
    pool.close()  # idempotent
    with pytest.raises(InvalidArgument):
        SignaturePool(0)
    with pytest.raises(InvalidArgument):
        verify_endorsements(items, _trusted(), pool=pool, executor=ThreadPoolExecutor(1))


def test_workers_never_import_the_program_that_started_them(tmp_path: pathlib.Path) -> None:
    # A script without the ``if __name__ == "__main__"`` guard: multiprocessing's spawn and
    # forkserver workers would run it again (and break); the pool's workers do not import it.
    ran = tmp_path / "ran"
    script = tmp_path / "unguarded.py"
    script.write_text(
        f"""
import pathlib
from endorse.protocol import *
from endorse.protocol.batch import _CONTEXT
with open({str(ran)!r}, "a") as f:
    f.write("ran\\n")
key = SigningKey.from_seed(bytes(32))
message = b"payload"
signature = key.sign(_CONTEXT + message)
with SignaturePool(2) as pool, pool.session() as session:
    answers = [session.submit(_CONTEXT, [(key.public_key.raw, signature, message)] * 5)
               for _ in range(4)]
    print(sum(sum(a.result()) for a in answers))
"""
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "20"
    assert ran.read_text() == "ran\n"
