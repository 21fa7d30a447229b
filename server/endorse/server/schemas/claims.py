"""Bodies of the claimed-reference calls: requests, answers, inbox, policy, standing refusals,
check counts (``docs/claims.md``, "Registry API").

Shapes and sizes only: members of the signed objects (subject, relationship, purpose, the
deadline) are checked by :mod:`endorse.server.claims` with the protocol's own reader.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from endorse.server.schemas.identities import Code, PendingId

Token = Annotated[str, Field(min_length=1, max_length=8192)]
RequestId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{22}$")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SubjectIn(_Request):
    """The subject, as an endorsement's ``sub`` (spec §4.2): a name and an address or handle."""

    name: str = Field(max_length=128, examples=["Bob Jones"])
    email: str | None = Field(None, max_length=254, examples=["bob@example.com"])
    handle: str | None = Field(None, max_length=128)
    key: str | None = Field(None, max_length=64, description="The subject's did:key, if given.")


class RelationshipIn(_Request):
    """The relationship as claimed, as an endorsement's ``rel`` (spec §4.2)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    context: str = Field(max_length=64, examples=["work"])
    role: str = Field(max_length=64, examples=["manager"])
    org: str | None = Field(None, max_length=128, examples=["Acme"])
    start: str | None = Field(None, alias="from", max_length=7, examples=["2019-03"])
    end: str | None = Field(None, alias="to", max_length=7, examples=["2023-06"])


class RequesterIn(_Request):
    """Who asks: the address a code goes to (needed unless the key is bound here), a name."""

    email: str | None = Field(None, max_length=254, examples=["recruiter@hire.example"])
    name: str | None = Field(None, max_length=128, examples=["Carol Recruiter"])


class AskRequest(_Request):
    """Put a claimed reference to the referee at ``referee``."""

    referee: str = Field(max_length=254, examples=["alice@example.com"])
    sub: SubjectIn
    rel: RelationshipIn
    purpose: str = Field(max_length=64, examples=["employment-reference"])
    aud: str | None = Field(None, max_length=256)
    exp: int = Field(ge=0, le=2**53 - 1, description="Deadline, Unix seconds; at most 30 days.")
    requester: RequesterIn | None = None


class ConfirmAskRequest(_Request):
    """The pending id from ``POST /requests`` and the code e-mailed for it."""

    pending: PendingId
    code: Code


class AnswerOut(BaseModel):
    kind: Literal["endorsement", "refusal", "policy"]
    token: str
    standing: bool | None = Field(
        None, description="True when a standing refusal answered at once."
    )


class RequestRecord(BaseModel):
    """A reference request as its requester sees it."""

    id: str
    request: str | None = Field(
        None,
        description="The reference-request token signed by the registry; absent once a request"
        " to an address not registered here has ended (the address is deleted).",
    )
    state: Literal["open", "answered", "expired", "unreachable"]
    answer: AnswerOut | None = None
    answered_at: int | None = None


class InboxItem(BaseModel):
    id: str
    request: str
    state: Literal["open", "answered", "expired", "unreachable"]
    blocked: bool = Field(description="The requester is blocked: this request was not mailed.")
    answer: AnswerOut | None = None


class InboxResponse(BaseModel):
    requests: list[InboxItem]


class AnswerRequest(_Request):
    """Exactly one of the two: an endorsement registered here, or a refusal naming the request."""

    endorsement: Token | None = None
    refusal: Token | None = None


class InboxSettings(_Request):
    muted: bool


class PolicyBody(_Request):
    policy: Token


class RefusalBody(_Request):
    refusal: Token


class StandingCreated(BaseModel):
    id: str


class StandingItem(BaseModel):
    id: str
    refusal: str


class StandingList(BaseModel):
    refusals: list[StandingItem]


class CheckDay(BaseModel):
    day: str = Field(description="UTC date, YYYY-MM-DD.")
    count: int


class CheckedEndorsement(BaseModel):
    id: str
    days: list[CheckDay]


class ChecksResponse(BaseModel):
    endorsements: list[CheckedEndorsement]
