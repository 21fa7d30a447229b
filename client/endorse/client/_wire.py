"""What the core's flows exchange with the clients (:class:`Request`, :class:`Outcome`), the
shapes of the registry's answers they decode (what the API promises; unknown members are
tolerated), and the one bounded decoder every answer goes through (:func:`decode_answer`)."""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from endorse.client.errors import RegistryUnreachable

__all__ = [
    "AnswerMalformed",
    "Done",
    "Flow",
    "Outcome",
    "Request",
    "Response",
    "advance",
    "cache_max_age",
    "decode_answer",
    "retry_after_seconds",
]

T = TypeVar("T")

MAX_ANSWER_DEPTH = 16
"""The deepest nesting of arrays and objects a registry answer may have (the deepest the API
promises, a verification's claims, is 6): decoding recurses, and an answer nested 200,000
deep would otherwise exhaust the interpreter's stack."""
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age=([0-9]{1,9})(?:$|[,\s])")


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request to the registry: absolute URL, headers and body bytes.

    ``idempotent`` requests may be retried after a network failure, a 502/503/504 or a 429
    with ``Retry-After``: GETs without a signature, ``POST /api/v1/verify`` (no side effects)
    and ``POST /api/v1/endorsements`` (registering a token again answers the same record, so
    a registration whose answer was lost is not left undone). Signed requests are never
    retried: their nonce is single-use, so a resend would be refused as a replay.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    content: bytes
    idempotent: bool


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer: status, headers with lower-case names, and the body bytes."""

    status: int
    headers: Mapping[str, str]
    content: bytes


Outcome = Response | RegistryUnreachable
Flow = Generator[list[Request], list[Outcome], T]


@dataclass(frozen=True, slots=True)
class Done(Generic[T]):
    """A flow's answer (what :func:`advance` returns when the flow has finished)."""

    value: T


def advance(flow: Flow[T], outcomes: list[Outcome] | None) -> list[Request] | Done[T]:
    """Run ``flow`` one step: start it (``outcomes`` None) or send it the outcomes of its
    last batch. Returns its next batch of requests, or :class:`Done` with its answer.

    A step as a plain call, so a client can run it in a worker thread: a ``StopIteration``
    cannot cross into an asyncio future.
    """
    try:
        return next(flow) if outcomes is None else flow.send(outcomes)
    except StopIteration as done:
        return Done(done.value)


# --- answer shapes (what the API promises; unknown members are tolerated) -----------------


class RegistryKeyOut(msgspec.Struct):
    key: str
    rotation: str | None = None


class WellKnownOut(msgspec.Struct):
    registry: str
    key: str
    protocol_version: int
    server_version: str = ""
    status_max_age: int | None = None
    keys: list[RegistryKeyOut] = []


class ProblemOut(msgspec.Struct):
    type: str = "about:blank"
    title: str = ""
    detail: str = ""


class KeyStateOut(msgspec.Struct):
    key: str
    binding: str
    revoked_from: int | None = None
    key_revocation: str | None = None
    successor: str | None = None
    rotation: str | None = None


class PendingOut(msgspec.Struct):
    pending: str
    expires_at: int


class SlotOut(msgspec.Struct):
    registry: str
    list_id: str
    index: int


class RegisteredOut(msgspec.Struct):
    id: str
    token_hash: str
    registered_at: int
    registration: str


class RegistrationLookupOut(msgspec.Struct):
    token_hash: str
    registration: str


class ItemOut(msgspec.Struct):
    id: str
    token: str
    registered_at: int
    revoked_at: int | None
    list_id: str
    index: int


class PageOut(msgspec.Struct):
    items: list[ItemOut]
    next_cursor: str | None = None


class RevokedOut(msgspec.Struct):
    id: str
    revoked_at: int
    revocation: str


class StatusListOut(msgspec.Struct):
    token: str


class CheckOut(msgspec.Struct):
    name: str
    passed: bool
    detail: str


class IssuerOut(msgspec.Struct):
    key: str
    email: str | None = None
    name: str | None = None
    since: int | None = None


class StatusOut(msgspec.Struct):
    list_id: str
    index: int
    checked_at: int
    fresh_until: int


class VerifyOut(msgspec.Struct):
    verdict: str
    message: str
    detail: str
    checks: list[CheckOut]
    checked_at: int
    receipt: str
    claims: dict[str, Any] | None = None
    issuer: IssuerOut | None = None
    status: StatusOut | None = None


class AnswerMalformed(ValueError):
    """An answer that is not the JSON of the shape asked for; the message says why."""


def decode_answer(content: bytes, shape: type[T]) -> T:
    """``content`` (at most the client's size cap, already inflated within it) decoded as
    ``shape``: strict UTF-8, nested at most :data:`MAX_ANSWER_DEPTH` deep, then msgspec.

    Raises:
        AnswerMalformed: not UTF-8, nested too deep, not JSON, or not of ``shape``; never
            another exception, whatever the bytes.
    """
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AnswerMalformed(f"not UTF-8 (byte {e.start})") from None
    if _deeper_than(content, MAX_ANSWER_DEPTH):
        raise AnswerMalformed(f"nested deeper than {MAX_ANSWER_DEPTH}")
    try:
        return msgspec.json.decode(content, type=shape)
    except (msgspec.MsgspecError, RecursionError, ValueError) as e:
        raise AnswerMalformed(str(e)[:200]) from None


def _deeper_than(content: bytes, limit: int) -> bool:
    """Whether the JSON text ``content`` nests arrays and objects more than ``limit`` deep
    (an unbalanced text counts as too deep: it is malformed anyway). A few linear passes in
    C, whatever the text: escaped backslashes and quotes dropped, then everything but quotes
    and brackets, then what lies between quotes (strings); the innermost pairs of what is
    left are then removed once per level."""
    if content.count(b"[") + content.count(b"{") <= limit:
        return False
    text = content.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(text.translate(_AS_SQUARE, _NOT_STRUCTURE).split(b'"')[0::2])
    for _ in range(limit):
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


def retry_after_seconds(response: Response) -> int | None:
    """``Retry-After`` in seconds (its HTTP-date form is not used by the registry)."""
    value = response.headers.get("retry-after", "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def cache_max_age(cache_control: str) -> int | None:
    match = _MAX_AGE.search(cache_control.lower())
    return None if match is None else int(match.group(1))


# --- claimed references (docs/claims.md "Registry API") ------------------------------------


class AnswerOut(msgspec.Struct):
    kind: str
    token: str
    standing: bool = False


class RequestRecordOut(msgspec.Struct):
    id: str
    state: str
    request: str | None = None
    answer: AnswerOut | None = None
    answered_at: int | None = None


class InboxItemOut(msgspec.Struct):
    id: str
    request: str
    state: str
    blocked: bool = False
    answer: AnswerOut | None = None


class InboxOut(msgspec.Struct):
    requests: list[InboxItemOut]


class PolicyOut(msgspec.Struct):
    policy: str


class StandingIdOut(msgspec.Struct):
    id: str


class StandingItemOut(msgspec.Struct):
    id: str
    refusal: str


class StandingListOut(msgspec.Struct):
    refusals: list[StandingItemOut]


class MutedOut(msgspec.Struct):
    muted: bool


class CheckDayOut(msgspec.Struct):
    day: str
    count: int


class CheckedOut(msgspec.Struct):
    id: str
    days: list[CheckDayOut]


class ChecksOut(msgspec.Struct):
    endorsements: list[CheckedOut]


class LinkOut(msgspec.Struct):
    id: str
    url: str
    revocation_secret: str
    created_at: str


class ResolvedLinkOut(msgspec.Struct):
    token: str


class LinksRevokedOut(msgspec.Struct):
    token_hash: str
    withdrawn: int
    revoked_at: str


class LinkRevokedOut(msgspec.Struct):
    id: str
    revoked_at: str
