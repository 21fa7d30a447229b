"""The registry's tables (SQLAlchemy 2 declarative, typed). Schema changes go through Alembic.

Times are integer Unix seconds (UTC), as in the protocol. Nothing here stores a secret in the
clear: confirmation codes are kept as HMACs, and the registry's seed never leaves its row.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class RegistryKey(Base):
    """A registry key, sealed under the key-encryption key (:mod:`endorse.server.registry_key`).

    The row with the greatest id is the key the registry signs with; older rows are keys it
    rotated away from, kept to be published with their validity.
    """

    __tablename__ = "registry_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seed: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    """Plain text, only in databases made before keys were sealed; sealed and erased on the
    first start after the upgrade."""
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary(61))
    did: Mapped[str] = mapped_column(String(56), unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[int | None] = mapped_column(BigInteger)
    valid_until: Mapped[int | None] = mapped_column(BigInteger)
    """When a rotation ended this key's signing (the rotation's ``from``)."""
    rotation: Mapped[str | None] = mapped_column(Text)
    """The registry-key-rotation token, signed by the previous key, that made this key the
    registry's; None for the first key."""


class Identity(Base):
    """A key bound to a verified e-mail address, and what became of the key."""

    __tablename__ = "identities"

    key: Mapped[str] = mapped_column(String(56), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(512))
    since: Mapped[int] = mapped_column(BigInteger)
    binding_token: Mapped[str] = mapped_column(Text)
    successor: Mapped[str | None] = mapped_column(String(56))
    rotation_token: Mapped[str | None] = mapped_column(Text)
    revoked_from: Mapped[int | None] = mapped_column(BigInteger)
    revocation_token: Mapped[str | None] = mapped_column(Text)


class PendingCode(Base):
    """A one-time code sent by e-mail: to register a key, or to recover a lost one."""

    __tablename__ = "pending_codes"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    """16 random bytes, base64url: the opaque id the client is given (not guessable)."""
    purpose: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(56), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(512))
    code_mac: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class StatusListRow(Base):
    """One status list: its bits, how full it is, and a version bumped on every change."""

    __tablename__ = "status_lists"

    list_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Slot(Base):
    """A status index handed to an endorser, before and after its endorsement is registered."""

    __tablename__ = "slots"

    list_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("status_lists.list_id"), primary_key=True
    )
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(56), index=True)
    allocated_at: Mapped[int] = mapped_column(BigInteger)
    endorsement_id: Mapped[str | None] = mapped_column(String(22), unique=True)


class EndorsementRow(Base):
    """A registered endorsement, its registration record, and its revocation if any."""

    __tablename__ = "endorsements"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(56), index=True)
    token: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(43), unique=True)
    list_id: Mapped[str] = mapped_column(String(64))
    idx: Mapped[int] = mapped_column(Integer)
    registered_at: Mapped[int] = mapped_column(BigInteger)
    registration_token: Mapped[str] = mapped_column(Text)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revocation_token: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("list_id", "idx", name="uq_endorsements_slot"),)


class RequestNonce(Base):
    """Nonces of signed requests seen recently: a replay inside the time window is refused."""

    __tablename__ = "request_nonces"

    key: Mapped[str] = mapped_column(String(56), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class RateCounter(Base):
    """Fixed-window request counters shared by every server process (database backend)."""

    __tablename__ = "rate_counters"

    bucket: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)


Index("ix_pending_codes_email_created", PendingCode.email, PendingCode.created_at)
