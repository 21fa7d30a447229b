"""The signed objects of protocol v1 as frozen, typed data classes (spec §4).

Each class knows its type name, how to read itself from a decoded payload (refusing unknown
members and out-of-range values) and how to write its payload. Instances built in code are
checked by the same reader when they are signed (see :func:`endorse.protocol.token.sign`), so
there is one set of rules for what a valid object is.

Times are integer seconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from endorse.protocol._fields import Fields, check_period
from endorse.protocol.errors import MalformedToken

PROTOCOL_VERSION = 1

DAY = 86_400
DEFAULT_VALIDITY = 365 * DAY
"""Validity of an endorsement when the endorser names no expiry (spec §4.2)."""
MAX_VALIDITY = 5 * 365 * DAY + 2 * DAY
"""Longest allowed ``exp - nbf``: five years, leap days included (spec §4.2)."""

PURPOSES = frozenset(
    {
        "employment-reference",
        "tenancy-reference",
        "academic-reference",
        "volunteer-reference",
        "character-reference",
    }
)
"""The defined purpose vocabulary; custom purposes are ``x-`` plus 1-40 of ``[a-z0-9-]``."""
_CUSTOM_PURPOSE = re.compile(r"x-[a-z0-9-]{1,40}")
_LIST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TOKEN_HASH = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")  # 32 bytes, canonical
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
MAX_STATUS_INDEX = 2**24 - 1
MAX_PURPOSES = 8

VERDICT_NAMES = frozenset(
    {
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
    }
)


def check_purpose(value: object, name: str = "purpose") -> str:
    """A purpose from :data:`PURPOSES` or a custom ``x-`` purpose."""
    if type(value) is not str or not (value in PURPOSES or _CUSTOM_PURPOSE.fullmatch(value)):
        raise MalformedToken(
            f"{name}: unknown purpose (use one of {', '.join(sorted(PURPOSES))} or x-…)"
        )
    return value


def _list_id(f: Fields, key: str) -> str:
    value = f.string(key)
    if _LIST_ID.fullmatch(value) is None:
        raise MalformedToken(f"{key}: a status list id is 1-64 of [A-Za-z0-9_-]")
    return value


def _token_hash(f: Fields, key: str) -> str:
    value = f.string(key)
    if _TOKEN_HASH.fullmatch(value) is None:
        raise MalformedToken(f"{key}: must be a SHA-256 digest in canonical base64url")
    return value


def _header(*names: str) -> frozenset[str]:
    return frozenset(("type", "v", *names))


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    # Absent optional members are omitted, never null: one way to say "not given".
    return {k: v for k, v in d.items() if v is not None}


class SignedObject:
    """Base of every protocol object: a type name and a payload reader and writer."""

    TYPE: ClassVar[str]
    MEMBERS: ClassVar[frozenset[str]]
    """Every member name the payload may have, header included; others are refused."""
    MAX_TOKEN_CHARS: ClassVar[int] = 8192
    """Longest compact token of this type accepted before any decoding (spec §3.1)."""

    @classmethod
    def from_payload(cls, data: Any) -> Self:
        """Read a decoded payload. Raises :class:`MalformedToken` naming the defect."""
        f = Fields(data, cls.TYPE, cls.MEMBERS)
        f.version(cls.TYPE)
        return cls._read(f)

    @classmethod
    def _read(cls, f: Fields) -> Self:
        raise NotImplementedError

    def _members(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_payload(self) -> dict[str, Any]:
        """The payload as a JSON-ready dict, header included."""
        return {"type": self.TYPE, "v": PROTOCOL_VERSION, **_drop_none(self._members())}

    @property
    def signer(self) -> str | None:
        """did:key that must have signed this object, or None when the registry signs it."""
        return None


# --- endorsement (spec §4.2) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subject:
    """Whom the endorsement is about. At least one of ``email`` and ``handle`` is given."""

    name: str
    email: str | None = None
    handle: str | None = None
    key: str | None = None
    """did:key of the subject, for holder binding (spec §4.8)."""

    MEMBERS: ClassVar[frozenset[str]] = frozenset({"name", "email", "handle", "key"})

    @classmethod
    def read(cls, f: Fields) -> Subject:
        s = cls(
            name=f.text("name", 128),
            email=f.opt_email("email"),
            handle=f.opt_ascii("handle", 128),
            key=f.opt_did("key"),
        )
        if s.email is None and s.handle is None:
            raise MalformedToken("endorsement.sub: needs an email or a handle besides the name")
        return s

    def members(self) -> dict[str, Any]:
        return _drop_none(
            {"name": self.name, "email": self.email, "handle": self.handle, "key": self.key}
        )


@dataclass(frozen=True, slots=True)
class Relationship:
    """The network the statement was made in and the endorser's role there."""

    context: str
    """The network or setting: "work", "university", a community's name."""
    role: str
    """How the endorser knows the subject: "manager", "thesis supervisor", "landlord"."""
    org: str | None = None
    start: str | None = None
    """Period start, ``YYYY`` or ``YYYY-MM``."""
    end: str | None = None

    MEMBERS: ClassVar[frozenset[str]] = frozenset({"context", "role", "org", "from", "to"})

    @classmethod
    def read(cls, f: Fields) -> Relationship:
        start = f.opt_string("from")
        end = f.opt_string("to")
        r = cls(
            context=f.text("context", 64),
            role=f.text("role", 64),
            org=f.opt_text("org", 128),
            start=None if start is None else check_period(start, "endorsement.rel.from"),
            end=None if end is None else check_period(end, "endorsement.rel.to"),
        )
        if r.start is not None and r.end is not None and r.end < r.start:
            raise MalformedToken("endorsement.rel: period ends before it starts")
        return r

    def members(self) -> dict[str, Any]:
        return _drop_none(
            {
                "context": self.context,
                "role": self.role,
                "org": self.org,
                "from": self.start,
                "to": self.end,
            }
        )


@dataclass(frozen=True, slots=True)
class StatusRef:
    """Where the revocation status of a token lives: registry, list id and bit index."""

    registry: str
    list_id: str
    index: int

    MEMBERS: ClassVar[frozenset[str]] = frozenset({"reg", "list", "idx"})

    @classmethod
    def read(cls, f: Fields) -> StatusRef:
        return cls(f.registry("reg"), _list_id(f, "list"), f.integer("idx", 0, MAX_STATUS_INDEX))

    def members(self) -> dict[str, Any]:
        return {"reg": self.registry, "list": self.list_id, "idx": self.index}


@dataclass(frozen=True, slots=True)
class Endorsement(SignedObject):
    """A reference: the endorser (``issuer``) vouches for ``subject`` in ``relationship``."""

    TYPE: ClassVar[str] = "endorsement"
    MEMBERS: ClassVar[frozenset[str]] = _header(
        "id",
        "iss",
        "iss_name",
        "sub",
        "rel",
        "purposes",
        "iat",
        "nbf",
        "exp",
        "contact",
        "aud",
        "stmt",
        "status",
    )

    id: str
    issuer: str
    issuer_name: str
    subject: Subject
    relationship: Relationship
    purposes: tuple[str, ...]
    issued_at: int
    not_before: int
    expires: int
    contact: bool = False
    """Whether the endorser agrees to be contacted by verifiers about this reference."""
    audience: str | None = None
    statement: str | None = None
    status: StatusRef | None = None

    @classmethod
    def _read(cls, f: Fields) -> Self:
        purposes = f.array("purposes", MAX_PURPOSES)
        for p in purposes:
            check_purpose(p, "endorsement.purposes")
        if purposes != sorted(set(purposes)):
            raise MalformedToken("endorsement.purposes: must be sorted and without repeats")
        status = f.opt_obj("status", StatusRef.MEMBERS)
        e = cls(
            id=f.ident("id"),
            issuer=f.did("iss"),
            issuer_name=f.text("iss_name", 128),
            subject=Subject.read(f.obj("sub", Subject.MEMBERS)),
            relationship=Relationship.read(f.obj("rel", Relationship.MEMBERS)),
            purposes=tuple(purposes),
            issued_at=f.integer("iat"),
            not_before=f.integer("nbf"),
            expires=f.integer("exp"),
            contact=f.boolean("contact"),
            audience=f.opt_ascii("aud", 256),
            statement=f.opt_text("stmt", 1000, multiline=True),
            status=None if status is None else StatusRef.read(status),
        )
        if e.not_before < e.issued_at:
            raise MalformedToken("endorsement.nbf: must not be before iat")
        if not 0 < e.expires - e.not_before <= MAX_VALIDITY:
            raise MalformedToken("endorsement.exp: must be after nbf and at most five years")
        return e

    def _members(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "iss": self.issuer,
            "iss_name": self.issuer_name,
            "sub": self.subject.members(),
            "rel": self.relationship.members(),
            "purposes": list(self.purposes),
            "iat": self.issued_at,
            "nbf": self.not_before,
            "exp": self.expires,
            "contact": self.contact,
            "aud": self.audience,
            "stmt": self.statement,
            "status": None if self.status is None else self.status.members(),
        }

    @property
    def signer(self) -> str:
        return self.issuer


# --- endorser-signed lifecycle objects (spec §4.3-§4.5) ----------------------------------


@dataclass(frozen=True, slots=True)
class Revocation(SignedObject):
    """Withdraws endorsement ``endorsement_id`` of ``issuer``; signed by ``by``.

    ``by`` is the issuer's key, or the registry's key after a lost key (spec §4.3).
    """

    TYPE: ClassVar[str] = "revocation"
    MEMBERS: ClassVar[frozenset[str]] = _header("id", "iss", "by", "iat", "reason")

    endorsement_id: str
    issuer: str
    by: str
    issued_at: int
    reason: str | None = None

    @classmethod
    def _read(cls, f: Fields) -> Self:
        return cls(
            endorsement_id=f.ident("id"),
            issuer=f.did("iss"),
            by=f.did("by"),
            issued_at=f.integer("iat"),
            reason=f.opt_text("reason", 200),
        )

    def _members(self) -> dict[str, Any]:
        return {
            "id": self.endorsement_id,
            "iss": self.issuer,
            "by": self.by,
            "iat": self.issued_at,
            "reason": self.reason,
        }

    @property
    def signer(self) -> str:
        return self.by


@dataclass(frozen=True, slots=True)
class KeyRotation(SignedObject):
    """The old key names its successor (spec §4.4); signed by the old key."""

    TYPE: ClassVar[str] = "key-rotation"
    MEMBERS: ClassVar[frozenset[str]] = _header("key", "next", "iat")

    key: str
    successor: str
    issued_at: int

    @classmethod
    def _read(cls, f: Fields) -> Self:
        r = cls(key=f.did("key"), successor=f.did("next"), issued_at=f.integer("iat"))
        if r.key == r.successor:
            raise MalformedToken("key-rotation.next: must differ from key")
        return r

    def _members(self) -> dict[str, Any]:
        return {"key": self.key, "next": self.successor, "iat": self.issued_at}

    @property
    def signer(self) -> str:
        return self.key


@dataclass(frozen=True, slots=True)
class KeyRevocation(SignedObject):
    """Signatures by ``key`` made at or after ``revoked_from`` are not trusted (spec §4.5).

    Signed by the key itself, or by the registry (``by``) once the identity is re-verified.
    """

    TYPE: ClassVar[str] = "key-revocation"
    MEMBERS: ClassVar[frozenset[str]] = _header("key", "from", "by", "iat", "reason")

    key: str
    revoked_from: int
    by: str
    issued_at: int
    reason: str | None = None

    @classmethod
    def _read(cls, f: Fields) -> Self:
        return cls(
            key=f.did("key"),
            revoked_from=f.integer("from"),
            by=f.did("by"),
            issued_at=f.integer("iat"),
            reason=f.opt_text("reason", 200),
        )

    def _members(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "from": self.revoked_from,
            "by": self.by,
            "iat": self.issued_at,
            "reason": self.reason,
        }

    @property
    def signer(self) -> str:
        return self.by


@dataclass(frozen=True, slots=True)
class Presentation(SignedObject):
    """Holder binding: the subject's key signs a verifier's nonce and the token's hash."""

    TYPE: ClassVar[str] = "presentation"
    MEMBERS: ClassVar[frozenset[str]] = _header("key", "th", "nonce", "iat", "aud")

    key: str
    token_hash: str
    nonce: str
    issued_at: int
    audience: str | None = None

    @classmethod
    def _read(cls, f: Fields) -> Self:
        nonce = f.string("nonce")
        if _NONCE.fullmatch(nonce) is None:
            raise MalformedToken("presentation.nonce: 16-128 base64url characters")
        return cls(
            key=f.did("key"),
            token_hash=_token_hash(f, "th"),
            nonce=nonce,
            issued_at=f.integer("iat"),
            audience=f.opt_ascii("aud", 256),
        )

    def _members(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "th": self.token_hash,
            "nonce": self.nonce,
            "iat": self.issued_at,
            "aud": self.audience,
        }

    @property
    def signer(self) -> str:
        return self.key


# --- registry-signed objects (spec §4.6-§4.9) --------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyBinding(SignedObject):
    """The registry states that ``key`` belongs to the verified ``email`` since ``since``."""

    TYPE: ClassVar[str] = "key-binding"
    MEMBERS: ClassVar[frozenset[str]] = _header(
        "reg", "key", "email", "name", "since", "method", "iat"
    )

    registry: str
    key: str
    email: str
    name: str
    since: int
    method: str
    issued_at: int

    @classmethod
    def _read(cls, f: Fields) -> Self:
        b = cls(
            registry=f.registry("reg"),
            key=f.did("key"),
            email=f.email("email"),
            name=f.text("name", 128),
            since=f.integer("since"),
            method=f.string("method"),
            issued_at=f.integer("iat"),
        )
        if b.method != "email-code":
            raise MalformedToken("key-binding.method: the only method in v1 is 'email-code'")
        return b

    def _members(self) -> dict[str, Any]:
        return {
            "reg": self.registry,
            "key": self.key,
            "email": self.email,
            "name": self.name,
            "since": self.since,
            "method": self.method,
            "iat": self.issued_at,
        }


@dataclass(frozen=True, slots=True)
class StatusListToken(SignedObject):
    """A registry-signed revocation bitstring (spec §5); see :class:`StatusList` for bits."""

    TYPE: ClassVar[str] = "status-list"
    MEMBERS: ClassVar[frozenset[str]] = _header("reg", "list", "iat", "ttl", "size", "bits")
    MAX_TOKEN_CHARS: ClassVar[int] = 262_144

    registry: str
    list_id: str
    issued_at: int
    max_age: int
    size: int
    bits: str
    """gzip-compressed bitstring, base64url; decoded by :class:`StatusList`."""

    @classmethod
    def _read(cls, f: Fields) -> Self:
        from endorse.protocol.status import MAX_SIZE, MIN_SIZE

        s = cls(
            registry=f.registry("reg"),
            list_id=_list_id(f, "list"),
            issued_at=f.integer("iat"),
            max_age=f.integer("ttl", 1, 7 * DAY),
            size=f.integer("size", MIN_SIZE, MAX_SIZE),
            bits=f.string("bits"),
        )
        if s.size % 8:
            raise MalformedToken("status-list.size: must be a multiple of 8")
        return s

    def _members(self) -> dict[str, Any]:
        return {
            "reg": self.registry,
            "list": self.list_id,
            "iat": self.issued_at,
            "ttl": self.max_age,
            "size": self.size,
            "bits": self.bits,
        }


@dataclass(frozen=True, slots=True)
class Receipt(SignedObject):
    """The registry's signed record that it checked a token (by hash) with a verdict."""

    TYPE: ClassVar[str] = "receipt"
    MEMBERS: ClassVar[frozenset[str]] = _header("reg", "th", "verdict", "at")

    registry: str
    token_hash: str
    verdict: str
    checked_at: int

    @classmethod
    def _read(cls, f: Fields) -> Self:
        r = cls(
            registry=f.registry("reg"),
            token_hash=_token_hash(f, "th"),
            verdict=f.string("verdict"),
            checked_at=f.integer("at"),
        )
        if r.verdict not in VERDICT_NAMES:
            raise MalformedToken("receipt.verdict: not a verdict of protocol v1")
        return r

    def _members(self) -> dict[str, Any]:
        return {
            "reg": self.registry,
            "th": self.token_hash,
            "verdict": self.verdict,
            "at": self.checked_at,
        }


OBJECT_TYPES: dict[str, type[SignedObject]] = {
    cls.TYPE: cls
    for cls in (
        Endorsement,
        Revocation,
        KeyRotation,
        KeyRevocation,
        Presentation,
        KeyBinding,
        StatusListToken,
        Receipt,
    )
}
"""Every object type of protocol v1 by its type name."""
