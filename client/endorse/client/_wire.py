"""What the core's flows exchange with the clients (:class:`Request`, :class:`Outcome`) and
the shapes of the registry's answers they decode (what the API promises; unknown members are
tolerated)."""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from endorse.client.errors import RegistryUnreachable

__all__ = [
    "Done",
    "Flow",
    "Outcome",
    "Request",
    "Response",
    "advance",
    "cache_max_age",
    "retry_after_seconds",
]

T = TypeVar("T")

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


def retry_after_seconds(response: Response) -> int | None:
    """``Retry-After`` in seconds (its HTTP-date form is not used by the registry)."""
    value = response.headers.get("retry-after", "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def cache_max_age(cache_control: str) -> int | None:
    match = _MAX_AGE.search(cache_control.lower())
    return None if match is None else int(match.group(1))
