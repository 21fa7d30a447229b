"""Bodies of ``/api/v1/slots``, ``/api/v1/endorsements``, ``/api/v1/registrations`` and
``/api/v1/status-lists``.

Shapes and sizes only: tokens are checked by :mod:`endorse.server.endorsements` with the
protocol's own parser and signature checks.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from endorse.protocol import Endorsement, Revocation

EndorsementToken = Annotated[
    str, Field(min_length=1, max_length=Endorsement.MAX_TOKEN_CHARS, examples=["endorsement-v1…"])
]
RevocationToken = Annotated[str, Field(min_length=1, max_length=Revocation.MAX_TOKEN_CHARS)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SlotResponse(BaseModel):
    """A status entry reserved for the caller's next endorsement: put it in the token's
    ``status`` as ``{reg: registry, list: list_id, idx: index}``."""

    registry: str
    list_id: str
    index: int


class RegisterRequest(_Request):
    """An endorsement token signed by its issuer, with a status slot allocated to it."""

    token: EndorsementToken


class RegistrationResponse(BaseModel):
    """The registry's record of a registered endorsement."""

    id: str
    token_hash: str = Field(description="SHA-256 of the token as registered, base64url.")
    registered_at: int
    registration: str = Field(description="registration token signed by the registry.")


class RegistrationLookup(BaseModel):
    """The registration of a token, by its hash (spec §4.10, §6.3 step 5)."""

    token_hash: str
    registration: str


class EndorsementItem(BaseModel):
    id: str
    token: str
    registered_at: int
    revoked_at: int | None
    list_id: str
    index: int


class EndorsementPage(BaseModel):
    """One page of the caller's endorsements, oldest registration first."""

    items: list[EndorsementItem]
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next page; null on the last page."
    )


class RevokeRequest(_Request):
    """A revocation token signed by the endorsement's issuer."""

    revocation: RevocationToken


class RevokeResponse(BaseModel):
    id: str
    revoked_at: int = Field(description="When the registry recorded the revocation.")
    revocation: str = Field(description="The revocation token stored (the first one sent).")


class StatusListResponse(BaseModel):
    """A status-list token signed by the registry (spec §4.7, §5)."""

    token: str
