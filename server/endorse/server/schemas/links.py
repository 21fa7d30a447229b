"""Bodies of ``/api/v1/links`` (short links, spec §11.6).

Shapes and sizes only: the token is checked by :mod:`endorse.server.short_links` with the
protocol's own parser and signature check.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from endorse.server.schemas.endorsements import EndorsementToken
from endorse.server.short_links import ID_PATTERN, SECRET_PATTERN

LinkId = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        min_length=22,
        max_length=22,
        description="The short link's id: 16 random bytes, base64url without padding.",
    ),
]
TokenHash = Annotated[
    str,
    Field(
        pattern=SECRET_PATTERN,
        min_length=43,
        max_length=43,
        description="SHA-256 of the token, base64url without padding (spec §2.3).",
    ),
]
RevocationSecret = Annotated[
    str,
    Field(
        pattern=SECRET_PATTERN,
        min_length=43,
        max_length=43,
        description="The secret given when the link was made: 32 bytes, base64url.",
    ),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CreateLinkRequest(_Request):
    """An endorsement token registered at this registry."""

    token: EndorsementToken


class LinkCreated(BaseModel):
    """A new short link; the revocation secret is given this once and stored only hashed."""

    id: str
    url: str = Field(description="The short link, {registry}/s#{id}: the id in the fragment.")
    revocation_secret: str
    created_at: str = Field(description="When it was made, ISO 8601 UTC.")


class ResolveLinkRequest(_Request):
    id: LinkId


class ResolvedLink(BaseModel):
    """The token a short link stands for: verify it as any token (a link is no evidence)."""

    token: str


class RevokeLinkRequest(_Request):
    """Withdraw a short link: with its revocation secret, or, without one, as a request
    signed by the key that signed the link's token (spec §10)."""

    id: LinkId
    revocation_secret: RevocationSecret | None = None


class RevokeAllLinksRequest(_Request):
    """Withdraw every short link of one token, as a request signed by the key that signed it
    (spec §10)."""

    token_hash: TokenHash


class LinksRevoked(BaseModel):
    token_hash: str
    withdrawn: int = Field(description="How many short links this request withdrew.")
    revoked_at: str = Field(description="When, ISO 8601 UTC.")


class LinkRevoked(BaseModel):
    id: str
    revoked_at: str = Field(description="When it was first withdrawn, ISO 8601 UTC.")
