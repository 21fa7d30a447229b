"""The signed objects of protocol v1 as frozen, typed structs (spec §4).

Each class is a frozen :class:`msgspec.Struct` whose fields carry the wire names, types and
limits of spec §4; ``__post_init__`` adds the rules a type cannot say. There is one set of rules
for what a valid object is, applied in two places:

* reading (:meth:`SignedObject.from_payload`, used for every token) checks all of them:
  msgspec's C core checks types, lengths and patterns, then ``__post_init__`` runs. This keeps
  the strict parse a small fraction of a signature check (``bench/verify_offline.py``);
* building an object in code runs only ``__post_init__``: msgspec's ``__init__`` checks
  neither types nor lengths nor patterns. ``__post_init__`` refuses wrongly typed values it
  reads (as :class:`MalformedToken`, never a stray ``TypeError``), but an object built in code
  may still break a declared type or limit. :func:`~endorse.protocol.sign` catches that: it
  re-reads the payload with the verifiers' reader and requires the result to equal the object,
  so nothing is signed that a verifier would refuse, or that differs from what was built.

Times are integer seconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Self

import msgspec

from endorse.protocol._rules import (
    Ascii128,
    Ascii256,
    Did,
    Email,
    Id,
    ListId,
    Nonce,
    Period,
    RecurringPattern,
    Registry,
    Text64,
    Text128,
    Text200,
    Text1000,
    Time,
    TokenHash,
    check_did,
    check_repeated_text,
    check_text,
)
from endorse.protocol.errors import MalformedToken
from endorse.protocol.verdicts import Verdict

PROTOCOL_VERSION = 1

DAY = 86_400
DEFAULT_VALIDITY = 365 * DAY
"""Validity of an endorsement when the endorser names no expiry (spec §4.2)."""
MAX_VALIDITY = 5 * 365 * DAY + 2 * DAY
"""Longest allowed ``exp - nbf``: five years, leap days included (spec §4.2)."""
MAX_STATUS_INDEX = 2**24 - 1
MAX_PURPOSES = 8
MAX_STATUS_LIST_AGE = 7 * DAY
MAX_REQUEST_DURATION = 30 * DAY
"""Longest allowed ``exp - iat`` of a reference request: 30 days (spec §4.11)."""
REQUEST_METHODS = frozenset({"email-code", "key-binding"})
"""How the registry verified who asked for a reference (spec §4.11)."""
REFUSAL_REASONS = ("not_known", "no_reference", "prefer_not_to_say")
"""The reasons a refusal may give, in the order a form offers them (spec §4.12)."""
SIGNED_TOKENS_ONLY = "signed-tokens-only"
"""A policy's ``refs``: references from the endorser come only as signed tokens (§4.13)."""
POLICY_REFS = frozenset({SIGNED_TOKENS_ONLY})
"""The values of a policy's ``refs`` in protocol v1 (spec §4.13)."""

PURPOSES = frozenset(
    {
        "employment-reference",
        "tenancy-reference",
        "academic-reference",
        "volunteer-reference",
        "character-reference",
    }
)
"""The defined purpose vocabulary; custom purposes are ``x-`` plus 1-40 characters of
hyphen-separated ``[a-z0-9]`` words (``x-board-reference``)."""
_CUSTOM_PURPOSE = re.compile(r"x-(?=.{1,40}\Z)[a-z0-9]+(?:-[a-z0-9]+)*")
Purposes = Annotated[tuple[str, ...], msgspec.Meta(min_length=1, max_length=MAX_PURPOSES)]

STATUS_LIST_MIN_SIZE = 131_072
"""Fewest entries in a status list: the W3C Bitstring Status List herd-privacy minimum."""
STATUS_LIST_MAX_SIZE = 2**24
"""Most entries in a status list: 2 MiB of bits, bounding what a decoder allocates."""

VERDICT_NAMES = frozenset(v.value for v in Verdict)
"""The verdict names a receipt may carry (spec §6.2)."""


def check_purpose(value: object, name: str = "purpose") -> str:
    """A purpose from :data:`PURPOSES` or a custom ``x-`` purpose.

    Raises:
        MalformedToken: anything else.
    """
    if type(value) is not str or not (value in PURPOSES or _CUSTOM_PURPOSE.fullmatch(value)):
        raise MalformedToken(
            f"{name}: unknown purpose (use one of {', '.join(sorted(PURPOSES))} or x-…)"
        )
    return value


def check_registry(value: object, name: str = "registry") -> str:
    """A registry id: an https URL (http only on loopback) in its one spelling (spec §2.3).

    Raises:
        MalformedToken: anything else.
    """
    try:
        return msgspec.convert(value, Registry, strict=True)
    except msgspec.ValidationError as e:
        raise MalformedToken(
            f"{name}: must be an https URL (http only on loopback) with a lower-case host,"
            " no trailing slash, query or fragment"
        ) from e


class _Struct(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, gc=False
):
    """Common configuration: immutable, unknown members refused, absent optionals omitted.

    ``gc=False``: the cyclic garbage collector does not track these objects. They hold only
    text, integers, booleans, tuples of text and other such structs, and cannot be changed
    after they are made, so they cannot be part of a reference cycle; untracked, the thousands
    of results of a batch verification no longer make the collector run (and walk them) more
    often (``bench/README.md``). Only an object built in code around a mutable value of the
    wrong type (which :func:`~endorse.protocol.sign` refuses) could close a cycle, whose
    memory would then not be reclaimed.
    """


def _refuse_nulls(data: dict[str, Any], where: str) -> None:
    # Absent optional members are omitted, never null (spec §4.1): one way to say "not given".
    # Objects nest one level (sub, rel, status), so one level is all there is to look at.
    for key, value in data.items():
        if value is None or (type(value) is dict and None in value.values()):
            raise MalformedToken(f"{where}.{key}: null is not allowed; omit the member")


class SignedObject(_Struct, frozen=True):
    """Base of every protocol object: a type name and a payload reader and writer."""

    TYPE: ClassVar[str]
    MAX_TOKEN_CHARS: ClassVar[int] = 8192
    """Longest compact token of this type accepted before any decoding (spec §3.1)."""

    @classmethod
    def from_payload(cls, data: Any) -> Self:
        """Read a decoded payload (a dict from canonical JSON), checking every rule.

        ``data`` is not changed.

        Raises:
            MalformedToken: the message names the member and the rule it breaks.
        """
        if type(data) is not dict:
            raise MalformedToken(f"{cls.TYPE}: payload must be a JSON object")
        return cls._read(data.copy())

    @classmethod
    def _read(cls, data: dict[str, Any], *, may_hold_null: bool = True) -> Self:
        # from_payload on a dict the caller owns and gives up: its "type" and "v" members are
        # removed. Token decoding calls this on the dict it just parsed, saving a copy, and
        # passes may_hold_null=False when the canonical bytes it parsed hold no null value.
        found = data.pop("type", None)
        if found != cls.TYPE:
            raise MalformedToken(f"type: payload says {str(found)[:40]!r}, expected {cls.TYPE!r}")
        version = data.pop("v", None)
        if type(version) is not int or version != PROTOCOL_VERSION:
            raise MalformedToken("v: unsupported protocol version (this implementation: 1)")
        if may_hold_null:
            _refuse_nulls(data, cls.TYPE)
        try:
            return msgspec.convert(data, cls, strict=True)
        except msgspec.ValidationError as e:
            raise MalformedToken(f"{cls.TYPE}: {e}") from e

    def to_payload(self) -> dict[str, Any]:
        """The payload as a JSON-ready dict, header included.

        For an object built in code with values of the wrong type the result may differ from
        the object (msgspec writes bytes as base64 text, a UUID as text, a set as an array);
        :func:`~endorse.protocol.sign` refuses such objects.

        Raises:
            MalformedToken: a value cannot be written as JSON at all.
        """
        # Through JSON rather than to_builtins: arrays come back as lists, not tuples.
        try:
            members: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(self))
        except (msgspec.MsgspecError, TypeError, ValueError, OverflowError, RecursionError) as e:
            raise MalformedToken(f"{self.TYPE}: a value cannot be written as JSON: {e}") from e
        return {"type": self.TYPE, "v": PROTOCOL_VERSION, **members}

    @property
    def signer(self) -> str | None:
        """did:key that must have signed this object, or None when the registry signs it.

        For endorser-signed types this is whoever the object itself names (``iss``, ``by``,
        ``key``): a good signature shows only that the named key signed. Whether that key was
        *allowed* to sign (a revocation by the issuer or the registry, a key revocation by
        the key or the registry) is decided by :func:`~endorse.protocol.verify_revocation`
        and :func:`~endorse.protocol.verify_key_revocation`.
        """
        return None


# --- endorsement (spec §4.2) -------------------------------------------------------------


class Subject(_Struct, frozen=True):
    """Whom the endorsement is about. At least one of ``email`` and ``handle`` is given."""

    name: Text128
    email: Email | None = None
    handle: Ascii128 | None = None
    key: Did | None = None
    """did:key of the subject, for holder binding (spec §4.8)."""

    def __post_init__(self) -> None:
        check_text(self.name, "endorsement.sub.name")
        check_did(self.key, "endorsement.sub.key")
        if self.email is None and self.handle is None:
            raise MalformedToken("endorsement.sub: needs an email or a handle besides the name")


class Relationship(_Struct, frozen=True, rename={"start": "from", "end": "to"}):
    """The network the statement was made in and the endorser's role there."""

    context: Text64
    """The network or setting: "work", "university", a community's name."""
    role: Text64
    """How the endorser knows the subject: "manager", "thesis supervisor", "landlord"."""
    org: Text128 | None = None
    start: Period | None = None
    """Period start, ``YYYY`` or ``YYYY-MM`` (wire name ``from``)."""
    end: Period | None = None
    """Period end (wire name ``to``)."""

    def __post_init__(self) -> None:
        check_repeated_text(self.context, "endorsement.rel.context")
        check_repeated_text(self.role, "endorsement.rel.role")
        check_repeated_text(self.org, "endorsement.rel.org")
        start, end = self.start, self.end
        if (start is not None and type(start) is not str) or (
            end is not None and type(end) is not str
        ):
            raise MalformedToken("endorsement.rel.from, to: must be text")
        # "2024" as a start means its January, as an end its December: compare months.
        if (
            self.start is not None
            and self.end is not None
            and (self.end if len(self.end) == 7 else self.end + "-12")
            < (self.start if len(self.start) == 7 else self.start + "-01")
        ):
            raise MalformedToken("endorsement.rel: period ends before it starts")


_STATUS_REGISTRY = RecurringPattern(
    Registry,
    "endorsement.status.reg",
    "must be an https URL (http only on loopback) with a lower-case host, no trailing slash,"
    " query or fragment",
)
_STATUS_LIST_ID = RecurringPattern(
    ListId, "endorsement.status.list", "must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -"
)


class StatusRef(
    _Struct, frozen=True, rename={"registry": "reg", "list_id": "list", "index": "idx"}
):
    """Where the revocation status of a token lives: registry, list id and bit index.

    ``registry`` and ``list_id`` are :data:`Registry` and :data:`ListId`; their patterns are
    checked by ``__post_init__`` (once per value: they recur across tokens), their types and
    the registry's length by msgspec."""

    registry: Annotated[str, msgspec.Meta(max_length=200)]
    list_id: str
    index: Time

    def __post_init__(self) -> None:
        _STATUS_REGISTRY.check(self.registry)
        _STATUS_LIST_ID.check(self.list_id)


class Endorsement(
    SignedObject,
    frozen=True,
    kw_only=True,
    rename={
        "issuer": "iss",
        "issuer_name": "iss_name",
        "subject": "sub",
        "relationship": "rel",
        "issued_at": "iat",
        "not_before": "nbf",
        "expires": "exp",
        "audience": "aud",
        "statement": "stmt",
    },
):
    """A reference: the endorser (``issuer``) vouches for ``subject`` in ``relationship``."""

    TYPE: ClassVar[str] = "endorsement"

    id: Id
    issuer: Annotated[str, msgspec.Meta(min_length=56, max_length=56)]
    """A :data:`Did`: ``__post_init__`` checks it whole (cached per did:key), which the
    type's ``^did:key:z6Mk`` pattern would only repeat."""
    issuer_name: Text128
    subject: Subject
    relationship: Relationship
    purposes: Purposes
    issued_at: Time
    not_before: Time
    expires: Time
    contact: bool
    """Whether the endorser agrees to be contacted by verifiers about this reference."""
    audience: Ascii256 | None = None
    statement: Text1000 | None = None
    status: StatusRef | None = None

    def __post_init__(self) -> None:
        check_did(self.issuer, "endorsement.iss")
        check_repeated_text(self.issuer_name, "endorsement.iss_name")
        check_text(self.statement, "endorsement.stmt", multiline=True)
        purposes = self.purposes
        if type(purposes) is not tuple:
            raise MalformedToken("endorsement.purposes: must be a tuple of purposes")
        if not 1 <= len(purposes) <= MAX_PURPOSES:  # also checked here for code-built objects
            raise MalformedToken(f"endorsement.purposes: must hold 1 to {MAX_PURPOSES} items")
        for p in purposes:
            check_purpose(p, "endorsement.purposes")
        if len(purposes) > 1 and list(purposes) != sorted(set(purposes)):
            raise MalformedToken("endorsement.purposes: must be sorted and without repeats")
        status = self.status
        if status is not None:
            if type(status) is not StatusRef or type(status.index) is not int:
                raise MalformedToken("endorsement.status: must be a StatusRef with an int index")
            if status.index > MAX_STATUS_INDEX:
                raise MalformedToken(f"endorsement.status.idx: at most {MAX_STATUS_INDEX}")
        if (
            type(self.issued_at) is not int
            or type(self.not_before) is not int
            or type(self.expires) is not int
        ):
            raise MalformedToken("endorsement.iat, nbf, exp: must be integers")
        if self.not_before < self.issued_at:
            raise MalformedToken("endorsement.nbf: must not be before iat")
        if not 0 < self.expires - self.not_before <= MAX_VALIDITY:
            raise MalformedToken("endorsement.exp: must be after nbf and at most five years")

    @property
    def signer(self) -> str:
        return self.issuer


# --- endorser-signed lifecycle objects (spec §4.3-§4.5) ----------------------------------


class Revocation(
    SignedObject,
    frozen=True,
    rename={"endorsement_id": "id", "issuer": "iss", "issued_at": "iat"},
):
    """Withdraws endorsement ``endorsement_id`` of ``issuer``; signed by ``by``.

    ``by`` is the issuer's key, or the registry's key after a lost key (spec §4.3).
    """

    TYPE: ClassVar[str] = "revocation"

    endorsement_id: Id
    issuer: Did
    by: Did
    issued_at: Time
    reason: Text200 | None = None

    def __post_init__(self) -> None:
        check_did(self.issuer, "revocation.iss")
        check_did(self.by, "revocation.by")
        check_text(self.reason, "revocation.reason")

    @property
    def signer(self) -> str:
        return self.by


class KeyRotation(SignedObject, frozen=True, rename={"successor": "next", "issued_at": "iat"}):
    """The old key names its successor (spec §4.4); signed by the old key."""

    TYPE: ClassVar[str] = "key-rotation"

    key: Did
    successor: Did
    issued_at: Time

    def __post_init__(self) -> None:
        check_did(self.key, "key-rotation.key")
        check_did(self.successor, "key-rotation.next")
        if self.key == self.successor:
            raise MalformedToken("key-rotation.next: must differ from key")

    @property
    def signer(self) -> str:
        return self.key


class KeyRevocation(SignedObject, frozen=True, rename={"revoked_from": "from", "issued_at": "iat"}):
    """``key`` is revoked from ``revoked_from`` on (spec §4.5).

    From then on a token of that key is trusted only with a registry :class:`Registration`
    older than ``revoked_from`` (spec §6.3 step 5). Signed by the key itself, or by the
    registry (``by``) once the identity is re-verified.
    """

    TYPE: ClassVar[str] = "key-revocation"

    key: Did
    revoked_from: Time
    by: Did
    issued_at: Time
    reason: Text200 | None = None

    def __post_init__(self) -> None:
        check_did(self.key, "key-revocation.key")
        check_did(self.by, "key-revocation.by")
        check_text(self.reason, "key-revocation.reason")

    @property
    def signer(self) -> str:
        return self.by


class Presentation(
    SignedObject, frozen=True, rename={"token_hash": "th", "issued_at": "iat", "audience": "aud"}
):
    """Holder binding: the subject's key signs a verifier's nonce and the token's hash."""

    TYPE: ClassVar[str] = "presentation"

    key: Did
    token_hash: TokenHash
    nonce: Nonce
    issued_at: Time
    audience: Ascii256 | None = None

    def __post_init__(self) -> None:
        check_did(self.key, "presentation.key")

    @property
    def signer(self) -> str:
        return self.key


# --- registry-signed objects (spec §4.6-§4.10) --------------------------------------------


class KeyBinding(SignedObject, frozen=True, rename={"registry": "reg", "issued_at": "iat"}):
    """The registry states that ``key`` belongs to the verified ``email`` since ``since``."""

    TYPE: ClassVar[str] = "key-binding"

    registry: Registry
    key: Did
    email: Email
    name: Text128
    since: Time
    method: str
    issued_at: Time

    def __post_init__(self) -> None:
        check_did(self.key, "key-binding.key")
        check_text(self.name, "key-binding.name")
        if self.method != "email-code":
            raise MalformedToken("key-binding.method: the only method in v1 is 'email-code'")


class RegistryKeyRotation(
    SignedObject,
    frozen=True,
    rename={
        "registry": "reg",
        "successor": "next",
        "valid_from": "from",
        "issued_at": "iat",
    },
):
    """The registry's old key names the registry's next key (spec §4.14); signed by ``key``.

    From ``valid_from`` on, the registry signs with ``successor`` only; statements signed by
    ``key`` before ``valid_from`` keep verifying under ``key``.
    """

    TYPE: ClassVar[str] = "registry-key-rotation"

    registry: Registry
    key: Did
    successor: Did
    valid_from: Time
    issued_at: Time

    def __post_init__(self) -> None:
        check_did(self.key, "registry-key-rotation.key")
        check_did(self.successor, "registry-key-rotation.next")
        if self.key == self.successor:
            raise MalformedToken("registry-key-rotation.next: must differ from key")
        if (
            type(self.valid_from) is int
            and type(self.issued_at) is int
            and (self.valid_from < self.issued_at)
        ):
            raise MalformedToken("registry-key-rotation.from: must not be before iat")

    @property
    def signer(self) -> str:
        return self.key


class StatusListToken(
    SignedObject,
    frozen=True,
    rename={"registry": "reg", "list_id": "list", "issued_at": "iat", "max_age": "ttl"},
):
    """A registry-signed revocation bitstring (spec §5); see :class:`StatusList` for bits."""

    TYPE: ClassVar[str] = "status-list"
    MAX_TOKEN_CHARS: ClassVar[int] = 262_144

    registry: Registry
    list_id: ListId
    issued_at: Time
    max_age: Time
    size: Time
    bits: str
    """gzip-compressed bitstring, base64url; decoded by :class:`StatusList`."""

    def __post_init__(self) -> None:
        if type(self.max_age) is not int or not 1 <= self.max_age <= MAX_STATUS_LIST_AGE:
            raise MalformedToken(f"status-list.ttl: 1 to {MAX_STATUS_LIST_AGE} seconds")
        size = self.size
        if (
            type(size) is not int
            or not STATUS_LIST_MIN_SIZE <= size <= STATUS_LIST_MAX_SIZE
            or size % 8
        ):
            raise MalformedToken(
                f"status-list.size: a multiple of 8 from {STATUS_LIST_MIN_SIZE}"
                f" to {STATUS_LIST_MAX_SIZE}"
            )


class Registration(
    SignedObject,
    frozen=True,
    rename={"registry": "reg", "token_hash": "th", "issuer": "iss", "registered_at": "at"},
):
    """The registry's record that it registered a token (by hash) of ``issuer`` at a time.

    What lets a token outlive the revocation of its issuer's key (spec §4.10, §6.3 step 5).
    """

    TYPE: ClassVar[str] = "registration"

    registry: Registry
    token_hash: TokenHash
    issuer: Did
    registered_at: Time

    def __post_init__(self) -> None:
        check_did(self.issuer, "registration.iss")


class Receipt(
    SignedObject, frozen=True, rename={"registry": "reg", "token_hash": "th", "checked_at": "at"}
):
    """The registry's signed record that it checked a token (by hash) with a verdict."""

    TYPE: ClassVar[str] = "receipt"

    registry: Registry
    token_hash: TokenHash
    verdict: str
    checked_at: Time

    def __post_init__(self) -> None:
        if type(self.verdict) is not str or self.verdict not in VERDICT_NAMES:
            raise MalformedToken("receipt.verdict: not a verdict of protocol v1")


# --- claimed references (spec §4.11-§4.13) -------------------------------------------------


class Requester(_Struct, frozen=True):
    """Who asked for a reference, as the registry verified them (spec §4.11)."""

    email: Email
    """The requester's address, verified by the registry (a code, or the key's binding)."""
    method: str
    """``email-code`` (a code sent to ``email``) or ``key-binding`` (a key bound to it)."""
    key: Did | None = None
    """The requester's bound did:key; present exactly when ``method`` is ``key-binding``."""
    name: Text128 | None = None
    """The name the requester typed: their own claim, not verified."""

    def __post_init__(self) -> None:
        check_did(self.key, "reference-request.by.key")
        check_text(self.name, "reference-request.by.name")
        if type(self.method) is not str or self.method not in REQUEST_METHODS:
            raise MalformedToken("reference-request.by.method: 'email-code' or 'key-binding'")
        if (self.key is not None) is not (self.method == "key-binding"):
            raise MalformedToken(
                "reference-request.by.key: required with method 'key-binding', else absent"
            )


class ReferenceRequest(
    SignedObject,
    frozen=True,
    kw_only=True,
    rename={
        "registry": "reg",
        "requester": "by",
        "subject": "sub",
        "relationship": "rel",
        "audience": "aud",
        "issued_at": "iat",
        "expires": "exp",
    },
):
    """The registry's record that ``requester`` put a claimed reference to ``referee``.

    Signed by the registry (spec §4.11). It proves who asked (as the registry verified them),
    what they claimed and until when the referee may answer; it proves nothing about the
    claim itself, which is the requester's word.
    """

    TYPE: ClassVar[str] = "reference-request"

    registry: Registry
    id: Id
    requester: Requester
    referee: Email
    subject: Subject
    relationship: Relationship
    purpose: str
    issued_at: Time
    expires: Time
    audience: Ascii256 | None = None

    def __post_init__(self) -> None:
        check_purpose(self.purpose, "reference-request.purpose")
        if type(self.requester) is not Requester:
            raise MalformedToken("reference-request.by: must be a Requester")
        if type(self.issued_at) is not int or type(self.expires) is not int:
            raise MalformedToken("reference-request.iat, exp: must be integers")
        if not 0 < self.expires - self.issued_at <= MAX_REQUEST_DURATION:
            raise MalformedToken("reference-request.exp: must be after iat and at most 30 days")


class Refusal(
    SignedObject,
    frozen=True,
    kw_only=True,
    rename={
        "issuer": "iss",
        "issuer_name": "iss_name",
        "subject": "sub",
        "request": "req",
        "issued_at": "iat",
        "expires": "exp",
    },
):
    """The referee (``issuer``) states that they do not give a reference for ``subject``.

    For ``purpose`` only, or for every purpose when it is absent; an answer to reference
    request ``request``, or a standing refusal when that is absent (spec §4.12).
    """

    TYPE: ClassVar[str] = "refusal"

    id: Id
    issuer: Annotated[str, msgspec.Meta(min_length=56, max_length=56)]
    """A :data:`Did`: ``__post_init__`` checks it whole (cached per did:key), which the
    type's ``^did:key:z6Mk`` pattern would only repeat."""
    issuer_name: Text128
    subject: Subject
    issued_at: Time
    expires: Time
    purpose: str | None = None
    reason: str | None = None
    request: Id | None = None

    def __post_init__(self) -> None:
        check_did(self.issuer, "refusal.iss")
        check_text(self.issuer_name, "refusal.iss_name")
        if self.purpose is not None:
            check_purpose(self.purpose, "refusal.purpose")
        if self.reason is not None and (
            type(self.reason) is not str or self.reason not in REFUSAL_REASONS
        ):
            raise MalformedToken(f"refusal.reason: one of {', '.join(REFUSAL_REASONS)}")
        if type(self.issued_at) is not int or type(self.expires) is not int:
            raise MalformedToken("refusal.iat, exp: must be integers")
        if not 0 < self.expires - self.issued_at <= MAX_VALIDITY:
            raise MalformedToken("refusal.exp: must be after iat and at most five years")

    @property
    def signer(self) -> str:
        return self.issuer


class Policy(
    SignedObject,
    frozen=True,
    kw_only=True,
    rename={"issuer": "iss", "issuer_name": "iss_name", "issued_at": "iat"},
):
    """The endorser's standing statement on how they give references (spec §4.13).

    ``refs = "signed-tokens-only"``: references from ``issuer`` come only as signed endorse
    tokens. The newest policy of an identity replaces older ones.
    """

    TYPE: ClassVar[str] = "policy"

    issuer: Did
    issuer_name: Text128
    refs: str
    notify: bool
    """Whether the endorser wants to be told of reference requests naming them."""
    issued_at: Time

    def __post_init__(self) -> None:
        check_did(self.issuer, "policy.iss")
        check_text(self.issuer_name, "policy.iss_name")
        if type(self.refs) is not str or self.refs not in POLICY_REFS:
            raise MalformedToken("policy.refs: the only value in v1 is 'signed-tokens-only'")
        if type(self.notify) is not bool:
            raise MalformedToken("policy.notify: must be true or false")

    @property
    def signer(self) -> str:
        return self.issuer


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
        Registration,
        Receipt,
        ReferenceRequest,
        Refusal,
        Policy,
        RegistryKeyRotation,
    )
}
"""Every object type of protocol v1 by its type name."""
