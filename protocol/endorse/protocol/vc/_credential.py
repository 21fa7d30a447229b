"""The portable form: an endorsement as a W3C VC 2.0 / Open Badges 3.0 ``EndorsementCredential``,
and the endorser-signed ``BitstringStatusListCredential`` its status points to (spec §13).

Building maps every member of a verified :class:`~endorse.protocol.Endorsement` onto the
credential (spec §13.1) and signs it with ``eddsa-jcs-2022``; reading parses untrusted JSON once,
strictly (duplicate names, floats, unknown members, other contexts refused), into frozen structs.
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
import json
import time
import zlib
from typing import Annotated, Any, Literal

import msgspec

from endorse.protocol._rules import (
    Ascii256,
    Did,
    ListId,
    Period,
    Text64,
    Text128,
    Text200,
    Text1000,
    check_did,
    check_text,
)
from endorse.protocol.encoding import b64url_decode, b64url_encode
from endorse.protocol.errors import InvalidArgument, MalformedToken
from endorse.protocol.keys import SigningKey
from endorse.protocol.objects import (
    MAX_STATUS_INDEX,
    STATUS_LIST_MAX_SIZE,
    STATUS_LIST_MIN_SIZE,
    Endorsement,
    Purposes,
    check_purpose,
    check_registry,
)
from endorse.protocol.status import Bitstring
from endorse.protocol.vc._proof import DATE_TIME, jcs, sign_jcs
from endorse.protocol.verify import normalize_name

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXT_PATH = "/api/v1/vc/contexts/v1"
"""Where a registry serves the endorse context (spec §13.2): ``{registry}`` + this path."""
STATUS_PATH = "/api/v1/vc/status-lists/"
"""``{registry}`` + this + ``{issuer did}/{list id}``: an endorser's status list credential."""
MAX_CREDENTIAL_BYTES = 65_536
"""Largest credential JSON read (an endorsement credential is about 2 KiB)."""
MAX_STATUS_CREDENTIAL_BYTES = 262_144
"""Largest status list credential JSON read (its list is compressed)."""
_URN = "urn:endorse:v1:"
_VOCAB = _URN + "vocab#"
_XSD = "http://www.w3.org/2001/XMLSchema#"

ENDORSE_CONTEXT: dict[str, Any] = {
    "@context": {
        "@version": 1.1,
        "@protected": True,
        "subjectName": _VOCAB + "subjectName",
        "relationshipContext": _VOCAB + "relationshipContext",
        "relationshipRole": _VOCAB + "relationshipRole",
        "relationshipOrganization": _VOCAB + "relationshipOrganization",
        "relationshipFrom": _VOCAB + "relationshipFrom",
        "relationshipTo": _VOCAB + "relationshipTo",
        "allowedPurposes": {"@id": _VOCAB + "allowedPurposes", "@container": "@set"},
        "intendedAudience": _VOCAB + "intendedAudience",
        "contactAllowed": {"@id": _VOCAB + "contactAllowed", "@type": _XSD + "boolean"},
    }
}
"""The JSON-LD context of the terms Open Badges lacks (spec §13.2); every registry serves this
same document at ``{registry}/api/v1/vc/contexts/v1``."""


def context_url(registry: str) -> str:
    """Where ``registry`` serves :data:`ENDORSE_CONTEXT`."""
    return registry + CONTEXT_PATH


def status_list_url(registry: str, issuer: str, list_id: str) -> str:
    """The id (and address) of ``issuer``'s status list credential for ``list_id``."""
    return f"{registry}{STATUS_PATH}{issuer}/{list_id}"


def date_time(seconds: int) -> str:
    """Unix seconds as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def parse_date_time(text: object, where: str) -> int:
    """``YYYY-MM-DDTHH:MM:SSZ`` as Unix seconds.

    Raises:
        MalformedToken: any other spelling, or no such date.
    """
    if type(text) is not str or not DATE_TIME.fullmatch(text):
        raise MalformedToken(f"{where}: must be a UTC date-time YYYY-MM-DDTHH:MM:SSZ")
    # The pattern fixed every position: slicing is the parse (strptime is ten times slower).
    try:
        moment = datetime.datetime(
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
        )
    except ValueError as e:
        raise MalformedToken(f"{where}: no such date-time") from e
    return calendar.timegm(moment.timetuple())


def subject_digest(credential_id: str, identifier: str) -> str:
    """The subject identifier of a credential whose subject has no key (spec §13.1): a hash of
    the e-mail address (or handle), salted with the credential's id, so it is not published."""
    data = b"endorse/v1/vc-subject\0" + credential_id.encode() + b"\0"
    return (
        _URN
        + "subject:"
        + b64url_encode(hashlib.sha256(data + normalize_name(identifier).encode()).digest())
    )


# --- reading untrusted JSON ----------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise MalformedToken("duplicate member name")
    return out


def _no_float(text: str) -> Any:
    raise MalformedToken(f"number {text[:20]} is not allowed (integers only)")


def load_json(data: object, *, max_bytes: int) -> dict[str, Any]:
    """Parse untrusted credential JSON (bytes or text): one object, no duplicate member names,
    no floats or NaN, nesting bounded.

    Raises:
        MalformedToken: anything else; the message names the defect.
    """
    if type(data) is str:
        data = data.encode("utf-8", "surrogatepass")
    if type(data) is not bytes:
        raise MalformedToken("a credential is JSON text or bytes")
    if len(data) > max_bytes:
        raise MalformedToken(f"credential of {len(data)} bytes exceeds {max_bytes}")
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise MalformedToken(f"not JSON: {e}") from e
    if type(value) is not dict:
        raise MalformedToken("a credential is a JSON object")
    jcs(value)  # the domain walk: depth, integer range, encodable text
    return value


class _Struct(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    pass


StatusIndex = Annotated[str, msgspec.Meta(pattern=r"^(?:0|[1-9][0-9]{0,7})\Z")]
DateTime = Annotated[str, msgspec.Meta(pattern=DATE_TIME.pattern + r"\Z")]
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=400)]


class Proof(
    _Struct,
    frozen=True,
    rename={
        "context": "@context",
        "verification_method": "verificationMethod",
        "proof_purpose": "proofPurpose",
        "proof_value": "proofValue",
    },
):
    """A Data Integrity proof as read (checked by :func:`verify_jcs`)."""

    type: Literal["DataIntegrityProof"]
    cryptosuite: Literal["eddsa-jcs-2022"]
    created: DateTime
    verification_method: Url
    proof_purpose: Literal["assertionMethod"]
    proof_value: Annotated[str, msgspec.Meta(pattern=r"^z[1-9A-HJ-NP-Za-km-z]{80,100}\Z")]
    context: tuple[Url, ...] | None = None


class Issuer(_Struct, frozen=True):
    """The endorser: their did:key and the name they gave (an OB 3.0 ``Profile``)."""

    id: Did
    type: tuple[Literal["Profile"]]
    name: Text128


class EndorsementSubject(
    _Struct,
    frozen=True,
    rename={
        "comment": "endorsementComment",
        "name": "subjectName",
        "context": "relationshipContext",
        "role": "relationshipRole",
        "organization": "relationshipOrganization",
        "start": "relationshipFrom",
        "end": "relationshipTo",
        "purposes": "allowedPurposes",
        "audience": "intendedAudience",
        "contact": "contactAllowed",
    },
):
    """The credential subject: who is endorsed, in which relationship, for which purposes."""

    id: Url
    type: tuple[Literal["EndorsementSubject"]]
    name: Text128
    context: Text64
    role: Text64
    purposes: Purposes
    contact: bool
    comment: Text1000 | None = None
    organization: Text128 | None = None
    start: Period | None = None
    end: Period | None = None
    audience: Ascii256 | None = None


class StatusEntry(
    _Struct,
    frozen=True,
    rename={
        "purpose": "statusPurpose",
        "index": "statusListIndex",
        "list_credential": "statusListCredential",
    },
):
    """A ``BitstringStatusListEntry``: the bit of the endorser's list that revokes it."""

    id: Url
    type: Literal["BitstringStatusListEntry"]
    purpose: Literal["revocation"]
    index: StatusIndex
    list_credential: Url


class EndorsementCredential(
    _Struct,
    frozen=True,
    rename={
        "context": "@context",
        "valid_from": "validFrom",
        "valid_until": "validUntil",
        "subject": "credentialSubject",
        "status": "credentialStatus",
    },
):
    """An endorsement credential as read from untrusted JSON; :func:`read_credential` adds
    the rules a type cannot say. Its proof is NOT checked by reading."""

    context: tuple[Url, Url, Url]
    id: Annotated[str, msgspec.Meta(pattern=r"^urn:endorse:v1:endorsement:[A-Za-z0-9_-]{22}\Z")]
    type: tuple[Literal["VerifiableCredential"], Literal["EndorsementCredential"]]
    name: Text200
    issuer: Issuer
    valid_from: DateTime
    valid_until: DateTime
    subject: EndorsementSubject
    status: StatusEntry
    proof: Proof

    @property
    def registry(self) -> str:
        """The registry named by the status entry (checked by :func:`read_credential`)."""
        return self.status.list_credential[: self.status.list_credential.index(STATUS_PATH)]

    @property
    def list_id(self) -> str:
        return self.status.list_credential.rsplit("/", 1)[1]

    @property
    def index(self) -> int:
        return int(self.status.index)

    @property
    def not_before(self) -> int:
        return parse_date_time(self.valid_from, "validFrom")

    @property
    def expires(self) -> int:
        return parse_date_time(self.valid_until, "validUntil")


def read_credential(data: object) -> tuple[EndorsementCredential, dict[str, Any]]:
    """Parse an endorsement credential (JSON bytes, text or an already parsed dict), strictly.

    Returns the typed credential and the JSON object its proof is checked over.

    Raises:
        MalformedToken: not JSON, unknown or missing members, other contexts or types, dates,
            identifiers or a status entry that are not as spec §13.1 writes them.
    """
    if type(data) is dict:
        try:
            text = json.dumps(data)
        except (TypeError, ValueError, RecursionError) as e:  # not JSON values at all
            raise MalformedToken(f"credential: not JSON: {e}") from e
        document = load_json(text.encode("utf-8", "surrogatepass"), max_bytes=MAX_CREDENTIAL_BYTES)
    else:
        document = load_json(data, max_bytes=MAX_CREDENTIAL_BYTES)
    try:
        credential = msgspec.convert(document, EndorsementCredential, strict=True)
    except msgspec.ValidationError as e:
        raise MalformedToken(f"credential: {e}") from e
    _check_credential(credential)
    return credential, document


def _check_credential(c: EndorsementCredential) -> None:
    check_did(c.issuer.id, "issuer.id")
    check_text(c.issuer.name, "issuer.name")
    check_text(c.name, "name")
    s = c.subject
    for value, where in (
        (s.name, "subjectName"),
        (s.context, "relationshipContext"),
        (s.role, "relationshipRole"),
        (s.organization, "relationshipOrganization"),
    ):
        check_text(value, f"credentialSubject.{where}")
    check_text(s.comment, "credentialSubject.endorsementComment", multiline=True)
    for purpose in s.purposes:
        check_purpose(purpose, "credentialSubject.allowedPurposes")
    if not (s.id.startswith(_URN + "subject:") or s.id.startswith("did:key:")):
        raise MalformedToken("credentialSubject.id: a did:key or an endorse subject digest")
    if s.id.startswith("did:key:"):
        check_did(s.id, "credentialSubject.id")
    url = c.status.list_credential
    registry, found, rest = url.partition(STATUS_PATH)
    if not found:
        raise MalformedToken("credentialStatus.statusListCredential: not an endorse status list")
    check_registry(registry, "credentialStatus.statusListCredential")
    issuer, _, list_id = rest.partition("/")
    if issuer != c.issuer.id:
        raise MalformedToken("credentialStatus.statusListCredential: names another issuer")
    try:
        msgspec.convert(list_id, ListId)
    except msgspec.ValidationError as e:
        raise MalformedToken("credentialStatus.statusListCredential: bad list id") from e
    if c.index > MAX_STATUS_INDEX:
        raise MalformedToken("credentialStatus.statusListIndex: out of range")
    if c.status.id != f"{url}#{c.status.index}":
        raise MalformedToken("credentialStatus.id: must be the list credential's URL#index")
    if c.context != (VC_CONTEXT, OB_CONTEXT, context_url(registry)):
        raise MalformedToken(
            "@context: must be the VC 2.0, Open Badges 3.0.3 and the registry's endorse context"
        )
    if c.proof.context is not None and c.proof.context != c.context:
        raise MalformedToken("proof.@context: differs from the credential's")
    if c.expires <= c.not_before:
        raise MalformedToken("validUntil: must be after validFrom")


# --- building -------------------------------------------------------------------------------


def endorsement_credential(e: Endorsement, key: SigningKey) -> dict[str, Any]:
    """The signed ``EndorsementCredential`` of endorsement ``e`` (spec §13.1).

    Only a registered endorsement (one with a status entry) can be exported: its revocation
    must reach the credential.

    Raises:
        InvalidArgument: ``e`` is not an Endorsement, or ``key`` not a SigningKey.
        MalformedToken: ``e`` has no status entry, or ``key`` is not its issuer's.
    """
    if type(e) is not Endorsement or type(key) is not SigningKey:
        raise InvalidArgument("endorsement_credential(Endorsement, SigningKey)")
    if e.status is None:
        raise MalformedToken("only a registered endorsement (with a status entry) is exported")
    if key.did != e.issuer:
        raise MalformedToken("the credential is signed by the endorsement's issuer key")
    registry = e.status.registry
    credential_id = f"{_URN}endorsement:{e.id}"
    sub = e.subject
    if sub.key is not None:
        subject_id = sub.key
    else:
        identifier = sub.email if sub.email is not None else sub.handle
        assert identifier is not None  # Subject requires an e-mail or a handle
        subject_id = subject_digest(credential_id, identifier)
    subject: dict[str, Any] = {
        "id": subject_id,
        "type": ["EndorsementSubject"],
        "subjectName": sub.name,
        "relationshipContext": e.relationship.context,
        "relationshipRole": e.relationship.role,
        "allowedPurposes": list(e.purposes),
        "contactAllowed": e.contact,
    }
    optional = (
        ("endorsementComment", e.statement),
        ("relationshipOrganization", e.relationship.org),
        ("relationshipFrom", e.relationship.start),
        ("relationshipTo", e.relationship.end),
        ("intendedAudience", e.audience),
    )
    subject.update((name, value) for name, value in optional if value is not None)
    list_url = status_list_url(registry, e.issuer, e.status.list_id)
    document: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT, context_url(registry)],
        "id": credential_id,
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": f"Reference from {e.issuer_name}"[:200],
        "issuer": {"id": e.issuer, "type": ["Profile"], "name": e.issuer_name},
        "validFrom": date_time(e.not_before),
        "validUntil": date_time(e.expires),
        "credentialSubject": subject,
        "credentialStatus": {
            "id": f"{list_url}#{e.status.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(e.status.index),
            "statusListCredential": list_url,
        },
    }
    signed = sign_jcs(document, key, created=date_time(e.issued_at))
    read_credential(signed)  # nothing is handed out that a verifier would refuse
    return signed


# --- status list credentials (spec §13.3) ---------------------------------------------------


def status_list_credential(
    key: SigningKey, registry: str, list_id: str, bits: Bitstring, *, valid_from: int
) -> dict[str, Any]:
    """The endorser's signed ``BitstringStatusListCredential`` for ``list_id``.

    Raises:
        InvalidArgument: arguments of the wrong type.
        MalformedToken: ``registry`` or ``list_id`` is not valid.
    """
    if type(key) is not SigningKey or type(bits) is not Bitstring or type(valid_from) is not int:
        raise InvalidArgument("status_list_credential(SigningKey, str, str, Bitstring, int)")
    check_registry(registry)
    try:
        msgspec.convert(list_id, ListId)
    except msgspec.ValidationError as e:
        raise MalformedToken("list id: 1-64 base64url characters") from e
    url = status_list_url(registry, key.did, list_id)
    document = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": key.did,
        "validFrom": date_time(valid_from),
        "credentialSubject": {
            "id": url + "#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": "u" + bits.encode(),
        },
    }
    return sign_jcs(document, key, created=date_time(valid_from))


class _ListSubject(
    _Struct, frozen=True, rename={"purpose": "statusPurpose", "encoded": "encodedList"}
):
    id: Url
    type: Literal["BitstringStatusList"]
    purpose: Literal["revocation"]
    encoded: Annotated[str, msgspec.Meta(pattern=r"^u[A-Za-z0-9_-]{1,349000}\Z")]


class StatusListCredential(
    _Struct,
    frozen=True,
    rename={"context": "@context", "valid_from": "validFrom", "subject": "credentialSubject"},
):
    """An endorser's status list credential as read; its proof is NOT checked by reading."""

    context: tuple[Literal["https://www.w3.org/ns/credentials/v2"]]
    id: Url
    type: tuple[Literal["VerifiableCredential"], Literal["BitstringStatusListCredential"]]
    issuer: Did
    valid_from: DateTime
    subject: _ListSubject
    proof: Proof


def read_status_list_credential(
    data: object,
) -> tuple[StatusListCredential, dict[str, Any], Bitstring]:
    """Parse a status list credential strictly and decode its list.

    Raises:
        MalformedToken: not of the shape spec §13.3 gives, or a list that does not decode.
    """
    document = load_json(data, max_bytes=MAX_STATUS_CREDENTIAL_BYTES)
    try:
        slc = msgspec.convert(document, StatusListCredential, strict=True)
    except msgspec.ValidationError as e:
        raise MalformedToken(f"status list credential: {e}") from e
    if slc.subject.id != slc.id + "#list":
        raise MalformedToken("credentialSubject.id: must be the list credential's id#list")
    if slc.proof.context is not None and slc.proof.context != slc.context:
        raise MalformedToken("proof.@context: differs from the credential's")
    return slc, document, decode_list(slc.subject.encoded)


def decode_list(encoded: str) -> Bitstring:
    """A multibase (``u``) gzip bitstring, of any allowed size.

    Raises:
        MalformedToken: not base64url gzip, or a size outside 131,072-16,777,216 bits.
    """
    compressed = b64url_decode(encoded[1:], what="encodedList")
    limit = STATUS_LIST_MAX_SIZE // 8
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(compressed, limit + 1)
    except zlib.error as e:
        raise MalformedToken(f"encodedList: not gzip: {e}") from e
    if len(raw) > limit or not inflater.eof or inflater.unused_data:
        raise MalformedToken("encodedList: too large, truncated or trailing data")
    if len(raw) * 8 < STATUS_LIST_MIN_SIZE:
        raise MalformedToken(f"encodedList: fewer than {STATUS_LIST_MIN_SIZE} entries")
    return Bitstring(len(raw) * 8, raw)


__all__ = [
    "ENDORSE_CONTEXT",
    "OB_CONTEXT",
    "VC_CONTEXT",
    "EndorsementCredential",
    "StatusListCredential",
    "context_url",
    "date_time",
    "endorsement_credential",
    "read_credential",
    "read_status_list_credential",
    "status_list_credential",
    "status_list_url",
    "subject_digest",
]
