"""Bodies of ``/api/v1/identities``: registration, confirmation, key state, rotation, revocation.

These check shapes and sizes only; the protocol's value rules (e-mail form, display-name text,
token structure and signatures) are applied by :mod:`endorse.server.identities`, so there is
one set of rules for what a valid e-mail or name is.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PendingId = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_-]{22}$", examples=["3q2-7wAAAAAAAAAAAAAAAA"])
]
Code = Annotated[str, Field(pattern=r"^[0-9]{8}$", description="The 8-digit code e-mailed.")]
Token = Annotated[str, Field(min_length=1, max_length=8192)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RegisterRequest(_Request):
    """Bind the request's signing key (``Endorse-Key``) to ``email`` under ``name``."""

    email: str = Field(max_length=254, examples=["alice@example.com"])
    name: str = Field(max_length=128, examples=["Alice Smith"])


class ConfirmRequest(_Request):
    """The pending id from ``/register`` and the code e-mailed for it."""

    pending: PendingId
    code: Code


class RotateRequest(_Request):
    """A key rotation signed by the old key, and the successor key's consent to it."""

    rotation: Token = Field(description="key-rotation token signed by the old key.")
    successor_proof: str = Field(
        pattern=r"^[A-Za-z0-9_-]{86}$",
        description="base64url Ed25519 signature by the successor key over "
        '`b"endorse/v1/rotation-consent\\0" || SHA-256(rotation token, UTF-8)`.',
    )


class RevokeRequest(_Request):
    """A key revocation signed by the key itself (``by`` == ``key``)."""

    revocation: Token = Field(description="key-revocation token signed by the key.")


class RecoverRequest(_Request):
    """Nothing to say: the code goes to the e-mail address the key is bound to."""


class RecoverConfirmRequest(_Request):
    """The code e-mailed by ``/recover``, and optionally an earlier revocation time."""

    pending: PendingId
    code: Code
    revoked_from: int | None = Field(
        None,
        ge=0,
        le=2**53 - 1,
        description="Unix seconds from which the key is untrusted; default now. Not before the"
        " key was bound, not after now.",
    )


class PendingResponse(BaseModel):
    """A code was (or, to reveal nothing, appears to have been) e-mailed."""

    pending: str = Field(description="Opaque id to confirm the code with.")
    expires_at: int = Field(description="Unix seconds after which the code is refused.")


class KeyStateResponse(BaseModel):
    """What the registry states about a key: its binding and what became of the key."""

    key: str = Field(description="The did:key.")
    binding: str = Field(description="key-binding token signed by the registry.")
    revoked_from: int | None = Field(
        None, description="Unix seconds from which the key's signatures are not trusted."
    )
    key_revocation: str | None = Field(
        None, description="key-revocation token (signed by the key or by the registry)."
    )
    successor: str | None = Field(None, description="did:key the key was rotated to.")
    rotation: str | None = Field(None, description="key-rotation token signed by this key.")
