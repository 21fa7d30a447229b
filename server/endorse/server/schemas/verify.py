"""Bodies of ``/api/v1/verify`` and ``/api/v1/verify/batch``.

The token is any text: one that is not a well-formed endorsement or refusal is a verification
answer (``malformed``), not a request error; a genuine refusal's verdict is ``refused``. The
expectations are bounded in size only; what they mean is the protocol's (spec §6.3 step 8).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

VerdictName = Literal[
    "valid",
    "revoked",
    "expired",
    "not_yet_valid",
    "bad_signature",
    "malformed",
    "unknown_issuer",
    "issuer_key_revoked",
    "subject_mismatch",
    "purpose_not_allowed",
    "audience_mismatch",
    "status_unavailable",
    "refused",
]


class VerifyRequest(BaseModel):
    """A token to verify and what the verifier expects of it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    token: str = Field(
        max_length=65_536, description="The endorsement or refusal token, as received."
    )
    subject: str | None = Field(
        None, max_length=256, description="The person expected: name, e-mail or handle."
    )
    purpose: str | None = Field(
        None, max_length=64, examples=["employment-reference"], description="Intended use."
    )
    audience: str | None = Field(None, max_length=256, description="The verifier's audience id.")
    presentation: str | None = Field(
        None,
        max_length=8192,
        description="A presentation token from the subject (holder binding); needs ``nonce``.",
    )
    nonce: str | None = Field(
        None, max_length=128, description="The nonce the verifier gave the subject."
    )


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # No schema bound on the count: the route refuses more than ``verify_batch_max`` with one
    # answer (413 batch-too-large), and the body-size limit bounds what is parsed at all.
    items: list[VerifyRequest] = Field(min_length=1)


class CheckOut(BaseModel):
    name: str
    passed: bool
    detail: str


class IssuerOut(BaseModel):
    """The issuer's identity as verified by the registry (from its key binding)."""

    key: str
    email: str | None
    name: str | None
    since: int | None


class StatusOut(BaseModel):
    """The status entry consulted, as of ``checked_at``; fresh until ``fresh_until``."""

    list_id: str
    index: int
    checked_at: int
    fresh_until: int


class VerifyResult(BaseModel):
    """The protocol's verdict on a token with the registry's facts, and a signed receipt."""

    verdict: VerdictName
    message: str = Field(description="The verdict's sentence for a recruiter.")
    detail: str = Field(description="A short technical detail of the deciding step.")
    checks: list[CheckOut]
    claims: dict[str, Any] | None = Field(
        description="The token's payload (endorsement or refusal), only when its signature"
        " verified."
    )
    issuer: IssuerOut | None
    status: StatusOut | None
    checked_at: int
    receipt: str = Field(description="receipt token signed by the registry (spec §4.9).")


class BatchResponse(BaseModel):
    results: list[VerifyResult]


class StatementsRequest(BaseModel):
    """A token whose registry statements the verification page needs (in a body, not a URL:
    see ``POST /api/v1/statements``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    token: str = Field(
        max_length=8192,
        description="The endorsement, refusal or policy token, as received.",
    )


class StatementsResponse(BaseModel):
    """What this registry has signed about a token's issuer and status, as stored or signed
    now; null where it has nothing. Each is a compact token the caller verifies itself
    against the registry key (spec §6.1)."""

    key_binding: str | None = Field(description="The issuer key's binding (spec §4.6).")
    key_revocation: str | None = Field(description="The issuer key's revocation (spec §4.5).")
    registration: str | None = Field(description="The token's registration (spec §4.10).")
    status_list: str | None = Field(
        description="The token's status list at this registry, signed now (spec §4.7, §5)."
    )
