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
    payload: Mapped[str | None] = mapped_column(Text)
    """What a confirmed code does, as JSON: the reference request to make (purpose ``ask``).
    Deleted with the row when the code expires, with the addresses it names."""


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


# --- claimed references (issue 9) ---------------------------------------------------------
# Addresses are stored only as keyed hashes (``*_mac``: HMAC-SHA256 under a key derived from
# the registry's seed, over the address in lower case; see endorse.server.claims), except the
# address of a referee while their request lives, and the reference-request token, which
# names it: both are deleted when a request to an unregistered referee ends.


class ReferenceRequestRow(Base):
    """A reference request: the registry-signed token, its state and its answer."""

    __tablename__ = "reference_requests"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    requester_key: Mapped[str] = mapped_column(String(56), index=True)
    """The key that signed the request: the only key that may read it."""
    requester_mac: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    referee_mac: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    subject_mac: Mapped[bytes] = mapped_column(LargeBinary(32))
    """Keyed hash of the subject's e-mail address (or handle, when no address was given)."""
    referee_email: Mapped[str | None] = mapped_column(String(254))
    """Where the invitation went; deleted when the request ends if nobody holds it as an
    identity."""
    token: Mapped[str | None] = mapped_column(Text)
    """The reference-request token; deleted with ``referee_email``."""
    token_hash: Mapped[str] = mapped_column(String(43), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    """``open``, ``answered`` or ``unreachable``; ``open`` past ``expires_at`` reads as
    ``expired`` (and is written so by the sweep that deletes addresses)."""
    created_at: Mapped[int] = mapped_column(BigInteger, index=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    mailed: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether the referee was mailed about this request (invitation or claim alert)."""
    invitation: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether that mail was an invitation (to an address not registered here)."""
    answer_kind: Mapped[str | None] = mapped_column(String(16))
    answer_token: Mapped[str | None] = mapped_column(Text)
    answer_standing: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[int | None] = mapped_column(BigInteger)
    scrubbed: Mapped[bool] = mapped_column(Boolean, default=False)
    """The request ended and its addresses were deleted (``token`` and ``referee_email``)."""


Index(
    "ix_reference_requests_invites",
    ReferenceRequestRow.referee_mac,
    ReferenceRequestRow.subject_mac,
    ReferenceRequestRow.created_at,
)


class MailStop(Base):
    """An address that asked for no more mail from this registry, as a keyed hash only."""

    __tablename__ = "mail_stops"

    address_mac: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class RequesterBlock(Base):
    """A referee (their address, hashed) blocked a requester (their address, hashed)."""

    __tablename__ = "requester_blocks"

    referee_mac: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    requester_mac: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class RefereeSettings(Base):
    """A registered referee's inbox settings, by their verified address (hashed)."""

    __tablename__ = "referee_settings"

    referee_mac: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)


class PolicyRow(Base):
    """An identity's current policy (the one with the newest ``iat``)."""

    __tablename__ = "policies"

    referee_mac: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(56))
    token: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    notify: Mapped[bool] = mapped_column(Boolean)


class StandingRefusalRow(Base):
    """A pre-signed refusal for one subject address, kept under that address's keyed hash."""

    __tablename__ = "standing_refusals"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    referee_mac: Mapped[bytes] = mapped_column(LargeBinary(32))
    key: Mapped[str] = mapped_column(String(56))
    subject_mac: Mapped[bytes] = mapped_column(LargeBinary(32))
    purpose: Mapped[str | None] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)


Index("ix_standing_refusals_lookup", StandingRefusalRow.referee_mac, StandingRefusalRow.subject_mac)


class CheckCount(Base):
    """How many times an endorsement was verified online on one UTC day (counts only)."""

    __tablename__ = "check_counts"

    endorsement_id: Mapped[str] = mapped_column(String(22), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    """Days since 1970-01-01 (UTC)."""
    count: Mapped[int] = mapped_column(Integer)


Index("ix_pending_codes_email_created", PendingCode.email, PendingCode.created_at)


class VcStatusList(Base):
    """An endorser-signed status list credential (spec §13.3), as uploaded and served."""

    __tablename__ = "vc_status_lists"

    issuer: Mapped[str] = mapped_column(String(56), primary_key=True)
    list_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    credential: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class ShortLinkRow(Base):
    """A short link (spec §11.6): a random id standing for one registered endorsement token.

    Keyed by the SHA-256 of the id, never the id itself, so a copy of the database (a backup,
    a leaked dump) holds no link that opens anything; the revocation secret is kept as its
    SHA-256 for the same reason. Revoked rows are kept (revocation is idempotent).
    """

    __tablename__ = "short_links"

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(43), index=True)
    """Of the token (spec §2.3): what counts the links of one token."""
    issuer: Mapped[str] = mapped_column(String(56))
    """The token's issuer: the key whose signed request may revoke the link."""
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
