"""Generate the protocol test vectors under ``spec/vectors`` deterministically.

    python scripts/gen_vectors.py           # write spec/vectors/*.json
    python scripts/gen_vectors.py --check   # exit 1 if the committed files differ

Every input is fixed: keys come from ``sha256`` of fixed labels, times are constants, ids are
derived from labels, Ed25519 signatures are deterministic, and status-list bits are gzip
streams built here bit by bit (fixed-Huffman deflate), not by the platform's zlib, whose output
differs between builds (zlib, zlib-ng). Running the script twice gives the same bytes.

Defective tokens are built by hand (payload bytes, signing context, signature) so that each
case has exactly the defect it is named after and is otherwise correctly signed.

Files:

* ``keys.json``: the named keys (seed, public key, did:key), including a small-order key.
* ``valid.json``: one correctly signed token of every object type, decoded.
* ``verification.json``: named cases for ``verify_endorsement`` with every input recorded and
  the expected verdict, plus a ``decoding`` section of cases for the decoding and trust
  functions with the expected exception class.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import difflib
import hashlib
import json
import pathlib
import sys
import zlib
from typing import Any

from endorse.protocol import canonical, vc
from endorse.protocol.encoding import b58_encode, b64url_encode
from endorse.protocol.keys import SigningKey
from endorse.protocol.objects import (
    DAY,
    MAX_VALIDITY,
    Endorsement,
    KeyBinding,
    KeyRevocation,
    KeyRotation,
    Policy,
    Presentation,
    Receipt,
    ReferenceRequest,
    Refusal,
    Registration,
    RegistryKeyRotation,
    Relationship,
    Requester,
    Revocation,
    SignedObject,
    StatusListToken,
    StatusRef,
    Subject,
)
from endorse.protocol.token import sign, signing_context, token_hash

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "spec" / "vectors"

# --- fixed inputs ---------------------------------------------------------------------------

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
IAT = NOW - 30 * DAY  # when the ordinary vector endorsements were issued
YEAR = 365 * DAY
SKEW = 300
PRESENTATION_AGE = 300  # spec §6.3 step 8b: |now - iat| <= 300, clock_skew not applied
REGISTRY = "https://registry.example"
LIST_ID = "vectors-1"
LIST_SIZE = 131_072
REVOKED_INDEXES = (7, 42, 1000, 131_071)
INDEX_OK = 5  # status index of the ordinary registered endorsement (not revoked)
INDEX_REVOKED = 42
NONCE = "vector-nonce-0123456789"
AUDIENCE = "https://hr.example.com"
ISSUER_EMAIL = "alice@example.org"
L = 2**252 + 27742317777372353535851937790883648493
"""The order of the Ed25519 prime-order subgroup."""
SMALL_ORDER_KEY = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
"""A point of order 8: refused by ``PublicKey`` (small-order keys verify forged signatures)."""


def seed(label: str) -> bytes:
    return hashlib.sha256(label.encode("ascii")).digest()


def ident(label: str) -> str:
    """A fixed endorsement id: 16 bytes derived from ``label``, canonical base64url."""
    return b64url_encode(
        hashlib.sha256(b"endorse-vector-id/" + label.encode("ascii")).digest()[:16]
    )


KEY_LABELS = {
    "issuer": "endorse-vector-issuer",
    "issuer_2": "endorse-vector-issuer-2",
    "issuer_next": "endorse-vector-issuer-next",
    "registry": "endorse-vector-registry",
    "registry_next": "endorse-vector-registry-next",
    "subject": "endorse-vector-subject",
}
KEYS = {name: SigningKey.from_seed(seed(label)) for name, label in KEY_LABELS.items()}
ALICE = KEYS["issuer"]
CAROL = KEYS["issuer_2"]
REG = KEYS["registry"]
REG_NEXT = KEYS["registry_next"]
BOB = KEYS["subject"]
SMALL_ORDER_DID = "did:key:z" + b58_encode(b"\xed\x01" + SMALL_ORDER_KEY)
X25519_DID = "did:key:z" + b58_encode(b"\xec\x01" + ALICE.public_key.raw)


# --- deterministic gzip ---------------------------------------------------------------------

_LENGTH_BASE: tuple[int, ...] = (
    *(3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83),
    *(99, 115, 131, 163, 195, 227, 258),
)
"""Base lengths of the deflate length symbols 257..285 (RFC 1951 §3.2.5)."""
_LENGTH_EXTRA: tuple[int, ...] = (
    *(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0),
)
"""Extra bits of the deflate length symbols 257..285."""


class _Bits:
    """An LSB-first bit writer, as deflate (RFC 1951 §3.1.1) packs its stream."""

    def __init__(self) -> None:
        self.value = 0
        self.count = 0

    def extra(self, value: int, n: int) -> None:
        self.value |= value << self.count
        self.count += n

    def huffman(self, code: int, n: int) -> None:
        for i in reversed(range(n)):  # Huffman codes go most significant bit first
            self.extra((code >> i) & 1, 1)

    def literal_length(self, symbol: int) -> None:
        if symbol < 144:
            self.huffman(0x30 + symbol, 8)
        elif symbol < 256:
            self.huffman(0x190 + symbol - 144, 9)
        elif symbol < 280:
            self.huffman(symbol - 256, 7)
        else:
            self.huffman(0xC0 + symbol - 280, 8)

    def to_bytes(self) -> bytes:
        return self.value.to_bytes((self.count + 7) // 8, "little")


def gzip_fixed(data: bytes) -> bytes:
    """gzip of ``data``: one fixed-Huffman deflate block, repeats as distance-1 matches."""
    bits = _Bits()
    bits.extra(1, 1)  # BFINAL
    bits.extra(1, 2)  # BTYPE 01: fixed Huffman codes
    i = 0
    while i < len(data):
        run = 0
        if i:
            while run < 258 and i + run < len(data) and data[i + run] == data[i - 1]:
                run += 1
        if run >= 3:
            k = max(j for j, base in enumerate(_LENGTH_BASE) if base <= run)
            bits.literal_length(257 + k)
            bits.extra(run - _LENGTH_BASE[k], _LENGTH_EXTRA[k])
            bits.huffman(0, 5)  # distance code 0: distance 1
            i += run
        else:
            bits.literal_length(data[i])
            i += 1
    bits.literal_length(256)  # end of block
    header = bytes((0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF))  # no flags, mtime 0, OS unknown
    trailer = zlib.crc32(data).to_bytes(4, "little") + (len(data) % 2**32).to_bytes(4, "little")
    out = header + bits.to_bytes() + trailer
    assert zlib.decompress(out, wbits=31) == data
    return out


FHCRC, FNAME = 0x02, 0x08
"""gzip header flags (RFC 1952 §2.3.1): a header CRC-16 follows; a file name follows."""


def gzip_header_variant(
    gz: bytes, flags: int, *, name: bytes = b"", crc: int | None = None
) -> bytes:
    """``gz`` (from :func:`gzip_fixed`) with header flags ``flags``: a zero-terminated file
    ``name`` when FNAME is set, then, when FHCRC is set, the header CRC-16 (the low 16 bits of
    the CRC-32 of the header bytes before it), or ``crc`` instead when given."""
    header = bytearray(gz[:10])
    header[3] = flags
    if flags & FNAME:
        header += name + b"\0"
    if flags & FHCRC:
        header += (zlib.crc32(header) & 0xFFFF if crc is None else crc).to_bytes(2, "little")
    return bytes(header) + gz[10:]


def bitstring(size: int, indexes: tuple[int, ...]) -> bytes:
    """Bits in W3C order: index 0 is the most significant bit of the first byte."""
    out = bytearray(size // 8)
    for i in indexes:
        out[i >> 3] |= 0x80 >> (i & 7)
    return bytes(out)


# --- token crafting -------------------------------------------------------------------------


def jcs(value: Any) -> bytes:
    """Canonical bytes of ``value`` (deeper nesting allowed, for crafting defects)."""
    return canonical.encode(value, max_depth=16)


def raw_token(
    payload: bytes,
    key: SigningKey,
    *,
    type_name: str = "endorsement",
    context: str | None = None,
    prefix: str | None = None,
) -> str:
    """A compact token over arbitrary payload bytes, bypassing every check of ``sign``."""
    signature = key.sign(signing_context(context or type_name) + payload)
    return ".".join((prefix or f"{type_name}-v1", b64url_encode(payload), b64url_encode(signature)))


def parts(token: str) -> tuple[str, str, str]:
    prefix, payload, signature = token.split(".")
    return prefix, payload, signature


def with_trailing_bit(text: str, n_bytes: int) -> str:
    """``text`` (base64url of ``n_bytes`` bytes) with its lowest unused trailing bit set."""
    assert n_bytes % 3, "no trailing bits when the length is a multiple of 3"
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return text[:-1] + alphabet[alphabet.index(text[-1]) | 1]


def endorsement(label: str, **changes: Any) -> Endorsement:
    """The ordinary registered vector endorsement by Alice about Bob, with ``changes``."""
    base = Endorsement(
        id=ident(label),
        issuer=ALICE.did,
        issuer_name="Alice Example",
        subject=Subject(name="Bob Jones", email="bob@example.com", key=BOB.did),
        relationship=Relationship(context="work", role="manager", org="Acme Ltd"),
        purposes=("character-reference", "employment-reference"),
        issued_at=IAT,
        not_before=IAT,
        expires=IAT + YEAR,
        contact=False,
        status=status_ref(INDEX_OK),
    )
    changed: Endorsement = replace(base, **changes)
    return changed


JSON_NULL = object()
"""Marks a member to be set to JSON null (``None`` in :func:`payload_of` deletes it)."""


def payload_of(obj: SignedObject, **changes: Any) -> dict[str, Any]:
    """The payload dict of ``obj`` with members replaced (``None`` deletes a member)."""
    payload = obj.to_payload()
    for k, v in changes.items():
        if v is None:
            payload.pop(k, None)
        else:
            payload[k] = None if v is JSON_NULL else v
    return payload


def status_list_object(
    issued_at: int, ttl: int, gzipped: bytes, *, size: int = LIST_SIZE, list_id: str = LIST_ID
) -> StatusListToken:
    return StatusListToken(
        registry=REGISTRY,
        list_id=list_id,
        issued_at=issued_at,
        max_age=ttl,
        size=size,
        bits=b64url_encode(gzipped),
    )


def status_list_token(
    issued_at: int,
    ttl: int,
    indexes: tuple[int, ...] = REVOKED_INDEXES,
    *,
    list_id: str = LIST_ID,
    gzip_flags: int = 0,
) -> str:
    gzipped = gzip_fixed(bitstring(LIST_SIZE, indexes))
    if gzip_flags:
        gzipped = gzip_header_variant(gzipped, gzip_flags, name=b"bits")
    return sign(status_list_object(issued_at, ttl, gzipped, list_id=list_id), REG)


def status_ref(index: int) -> StatusRef:
    return StatusRef(registry=REGISTRY, list_id=LIST_ID, index=index)


def binding_object(key: SigningKey, email: str, name: str) -> KeyBinding:
    return KeyBinding(
        registry=REGISTRY,
        key=key.did,
        email=email,
        name=name,
        since=IAT - YEAR,
        method="email-code",
        issued_at=IAT - YEAR,
    )


def revocation_object(
    by: SigningKey, *, endorsement_id: str | None = None, reason: str | None = None
) -> Revocation:
    return Revocation(
        endorsement_id=endorsement_id or ident("full"),
        issuer=ALICE.did,
        by=by.did,
        issued_at=NOW - DAY,
        reason=reason,
    )


def key_revocation_object(
    by: SigningKey,
    *,
    reason: str | None = None,
    revoked_from: int = NOW - 10 * DAY,
    key: SigningKey = ALICE,
) -> KeyRevocation:
    """``key`` (Alice's) revoked from ``revoked_from`` (ten days before NOW), stated a day
    after that."""
    return KeyRevocation(
        key=key.did,
        revoked_from=revoked_from,
        by=by.did,
        issued_at=revoked_from + DAY,
        reason=reason,
    )


def registration(endorsement_token: str, at: int) -> str:
    """The registry's record that it registered ``endorsement_token`` at ``at``."""
    return sign(
        Registration(
            registry=REGISTRY,
            token_hash=token_hash(endorsement_token),
            issuer=ALICE.did,
            registered_at=at,
        ),
        REG,
    )


def presentation(
    endorsement_token: str,
    *,
    key: SigningKey = BOB,
    nonce: str = NONCE,
    audience: str | None = None,
) -> str:
    return sign(
        Presentation(
            key=key.did,
            token_hash=token_hash(endorsement_token),
            nonce=nonce,
            issued_at=NOW - 60,
            audience=audience,
        ),
        key,
    )


def key_binding(key: SigningKey, email: str, name: str) -> str:
    return sign(binding_object(key, email, name), REG)


# --- keys.json ------------------------------------------------------------------------------


def keys_file() -> dict[str, Any]:
    keys: dict[str, Any] = {
        name: {
            "seed_label": KEY_LABELS[name],
            "seed_hex": key.seed().hex(),
            "public_key_hex": key.public_key.raw.hex(),
            "did": key.did,
        }
        for name, key in KEYS.items()
    }
    keys["small_order"] = {
        "public_key_hex": SMALL_ORDER_KEY.hex(),
        "did": SMALL_ORDER_DID,
        "note": "a point of order 8; PublicKey and PublicKey.from_did must refuse it (InvalidKey)",
    }
    return {
        "description": "Named Ed25519 keys of the test vectors; seeds are sha256(seed_label).",
        "keys": keys,
    }


# --- valid.json -----------------------------------------------------------------------------

ENDORSEMENT_FULL = Endorsement(
    id=ident("full"),
    issuer=ALICE.did,
    issuer_name="Alice Example",
    subject=Subject(
        name="Bob Jones", email="bob@example.com", handle="github:bobjones", key=BOB.did
    ),
    relationship=Relationship(
        context="work", role="manager", org="Acme Ltd", start="2021-03", end="2024"
    ),
    purposes=("employment-reference", "x-board-membership"),
    issued_at=IAT,
    not_before=IAT + DAY,
    expires=IAT + DAY + 2 * YEAR,
    contact=True,
    audience=AUDIENCE,
    statement=(
        "Bob led our payments team for three years.\n"
        "Thorough, calm, kind \u2014 I recommend him without reservation. Caf\u00e9 \u2615"
    ),
    status=status_ref(INDEX_OK),
)
ENDORSEMENT_MINIMAL = Endorsement(
    id=ident("minimal"),
    issuer=ALICE.did,
    issuer_name="Alice Example",
    subject=Subject(name="Bob Jones", email="bob@example.com"),
    relationship=Relationship(context="work", role="manager"),
    purposes=("employment-reference",),
    issued_at=IAT,
    not_before=IAT,
    expires=IAT + YEAR,
    contact=False,
)

# Claimed references (spec §4.11-§4.13): Carol (issuer_2, bound to carol@example.net) asks
# Alice about Bob; Alice refuses, in answer and standing; Alice's policy.
REQUEST_IAT = NOW - 2 * DAY
REFERENCE_REQUEST = ReferenceRequest(
    registry=REGISTRY,
    id=ident("request"),
    requester=Requester(
        email="carol@example.net", method="key-binding", key=CAROL.did, name="Carol Recruiter"
    ),
    referee=ISSUER_EMAIL,
    subject=Subject(name="Bob Jones", email="bob@example.com", key=BOB.did),
    relationship=Relationship(context="work", role="manager", org="Acme Ltd", start="2019"),
    purpose="employment-reference",
    issued_at=REQUEST_IAT,
    expires=REQUEST_IAT + 14 * DAY,
    audience=AUDIENCE,
)
REFERENCE_REQUEST_MINIMAL = ReferenceRequest(
    registry=REGISTRY,
    id=ident("request-minimal"),
    requester=Requester(email="bob@example.com", method="email-code"),
    referee="alice@example.com",
    subject=Subject(name="Bob Jones", handle="github:bobjones"),
    relationship=Relationship(context="university", role="thesis supervisor"),
    purpose="academic-reference",
    issued_at=REQUEST_IAT,
    expires=REQUEST_IAT + 30 * DAY,
)
REFUSAL_ANSWER = Refusal(
    id=ident("refusal"),
    issuer=ALICE.did,
    issuer_name="Alice Example",
    subject=Subject(name="Bob Jones", email="bob@example.com", key=BOB.did),
    purpose="employment-reference",
    reason="no_reference",
    request=ident("request"),
    issued_at=NOW - DAY,
    expires=NOW - DAY + YEAR,
)
REFUSAL_STANDING = Refusal(
    id=ident("refusal-standing"),
    issuer=ALICE.did,
    issuer_name="Alice Example",
    subject=Subject(name="Bob Jones", email="bob@example.com"),
    issued_at=IAT,
    expires=IAT + MAX_VALIDITY,
)
POLICY = Policy(
    issuer=ALICE.did,
    issuer_name="Alice Example",
    refs="signed-tokens-only",
    notify=True,
    issued_at=IAT,
)


def field_names(obj: Any) -> list[str]:
    """Attribute names of a protocol object, whether a dataclass or a msgspec struct."""
    names = getattr(type(obj), "__struct_fields__", None)
    if names is not None:
        return list(names)
    return [f.name for f in dataclasses.fields(obj)]


def plain(value: Any) -> Any:
    """A decoded object as JSON data keyed by attribute names (absent optionals as null)."""
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return {name: plain(getattr(value, name)) for name in field_names(value)}


def replace(obj: Any, **changes: Any) -> Any:
    """A copy of ``obj`` with ``changes``, built (and so checked) by its constructor."""
    return type(obj)(**{name: getattr(obj, name) for name in field_names(obj)} | changes)


def valid_file() -> dict[str, Any]:
    full_token = sign(ENDORSEMENT_FULL, ALICE)
    status_bits = bitstring(LIST_SIZE, REVOKED_INDEXES)
    objects: list[tuple[str, SignedObject, SigningKey, dict[str, Any]]] = [
        ("endorsement_minimal", ENDORSEMENT_MINIMAL, ALICE, {}),
        ("endorsement_full", ENDORSEMENT_FULL, ALICE, {}),
        (
            "revocation",
            revocation_object(ALICE, reason="no longer accurate"),
            ALICE,
            {},
        ),
        (
            "revocation_by_registry",
            revocation_object(REG, reason="issuer key lost"),
            REG,
            {},
        ),
        (
            "key_rotation",
            KeyRotation(key=ALICE.did, successor=KEYS["issuer_next"].did, issued_at=NOW - 2 * DAY),
            ALICE,
            {},
        ),
        (
            "registry_key_rotation",
            RegistryKeyRotation(
                registry=REGISTRY,
                key=REG.did,
                successor=REG_NEXT.did,
                valid_from=NOW - DAY,
                issued_at=NOW - 2 * DAY,
            ),
            REG,
            {},
        ),
        (
            "key_revocation_self_signed",
            key_revocation_object(ALICE, reason="key compromised"),
            ALICE,
            {},
        ),
        (
            "key_revocation_by_registry",
            key_revocation_object(REG),
            REG,
            {},
        ),
        (
            "presentation",
            Presentation(
                key=BOB.did,
                token_hash=token_hash(full_token),
                nonce=NONCE,
                issued_at=NOW - 60,
                audience=AUDIENCE,
            ),
            BOB,
            {"presents": "endorsement_full"},
        ),
        (
            "key_binding",
            binding_object(ALICE, ISSUER_EMAIL, "Alice Example"),
            REG,
            {},
        ),
        (
            "status_list",
            status_list_object(NOW - 600, 3600, gzip_fixed(status_bits)),
            REG,
            {"size": LIST_SIZE, "set_indexes": list(REVOKED_INDEXES)},
        ),
        (
            "registration",
            Registration(
                registry=REGISTRY,
                token_hash=token_hash(full_token),
                issuer=ALICE.did,
                registered_at=NOW - DAY + 5,
            ),
            REG,
            {"registration_of": "endorsement_full"},
        ),
        (
            "receipt",
            Receipt(
                registry=REGISTRY,
                token_hash=token_hash(full_token),
                verdict="valid",
                checked_at=NOW,
            ),
            REG,
            {"receipt_for": "endorsement_full"},
        ),
        ("reference_request", REFERENCE_REQUEST, REG, {}),
        ("reference_request_minimal", REFERENCE_REQUEST_MINIMAL, REG, {}),
        ("refusal", REFUSAL_ANSWER, ALICE, {"answers": "reference_request"}),
        ("refusal_standing", REFUSAL_STANDING, ALICE, {}),
        ("policy", POLICY, ALICE, {}),
    ]
    vectors = []
    for name, obj, key, extra in objects:
        token = sign(obj, key)
        payload = jcs(obj.to_payload())
        vectors.append(
            {
                "name": name,
                "type": obj.TYPE,
                "token": token,
                "token_hash": token_hash(token),
                "signer": key.did,
                "registry_signed": obj.signer is None,
                "signing_context": signing_context(obj.TYPE).decode("ascii"),
                "payload": json.loads(payload),
                "payload_canonical": payload.decode("utf-8"),
                "fields": plain(obj),
                **extra,
            }
        )
    return {
        "description": (
            "One correctly signed token of every object type. Verify each with its type and"
            " the signer's key (registry-signed types: the registry key); 'payload' is the"
            " decoded payload, 'payload_canonical' its exact signed bytes as text, 'fields' the"
            " decoded object (endorse.protocol dataclass attribute names)."
        ),
        "registry": REGISTRY,
        "vectors": vectors,
    }


# --- verification.json ----------------------------------------------------------------------


def issuer_entry(
    key: SigningKey = ALICE,
    identity: str | None = ISSUER_EMAIL,
    revoked_from: int | None = None,
    *,
    listed_as: SigningKey | None = None,
) -> dict[str, Any]:
    """A trusted issuer as the verifier holds it; ``listed_as`` is the did:key it is looked up
    by in the ``issuers`` mapping (normally its own ``key``)."""
    return {
        "key": key.did,
        "identity": identity,
        "revoked_from": revoked_from,
        "listed_as": (listed_as or key).did,
    }


FRESH_LIST = status_list_token(NOW - 600, 3600)  # fresh until NOW + 3000
STALE_LIST = status_list_token(NOW - 7200, 3600)  # fresh until NOW - 3600
FUTURE_LIST = status_list_token(NOW + 3600, 3600)  # issued after NOW (beyond clock skew)
OTHER_LIST = status_list_token(NOW - 600, 3600, (), list_id="vectors-2")


def case(
    name: str,
    token: str,
    verdict: str,
    description: str,
    *,
    now: int = NOW,
    clock_skew: int = SKEW,
    issuers: list[dict[str, Any]] | None = None,
    key_bindings: list[dict[str, Any]] | None = None,
    status_lists: list[str] | None = None,
    subject: str | None = None,
    purpose: str | None = None,
    audience: str | None = None,
    presentation: str | None = None,
    nonce: str | None = None,
    registration: str | None = None,
    max_status_staleness: int = 0,
    require_status: bool = True,
    expected_error: str | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "token": token,
        "now": now,
        "clock_skew": clock_skew,
        "issuers": [issuer_entry()] if issuers is None else issuers,
        "key_bindings": key_bindings or [],
        "status_lists": [FRESH_LIST] if status_lists is None else status_lists,
        "max_status_staleness": max_status_staleness,
        "require_status": require_status,
        "registration": registration,
        "expect": {
            "subject": subject,
            "purpose": purpose,
            "audience": audience,
            "presentation": presentation,
            "nonce": nonce,
        },
        "expected_verdict": verdict,
        "expected_error": expected_error,
    }


def _base_payload_with(predicate: Any) -> tuple[dict[str, Any], bytes]:
    """The ordinary payload, its issuer name lengthened until ``predicate(bytes)`` holds."""
    for extra in range(12):
        obj = endorsement("encoding", statement="Caf\u00e9 au lait? Yes~" + "!" * extra)
        payload = jcs(obj.to_payload())
        if predicate(payload):
            return obj.to_payload(), payload
    raise AssertionError("no payload variant satisfies the predicate")  # pragma: no cover


def verification_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    add = cases.append
    good = sign(endorsement("base"), ALICE)
    base = endorsement("defects")
    bp = base.to_payload()
    bb = jcs(bp)

    def signed(payload: bytes, key: SigningKey = ALICE, **kw: Any) -> str:
        return raw_token(payload, key, **kw)

    # Baselines.
    add(case("valid_registered", good, "valid", "Ordinary registered endorsement, fresh list."))
    add(
        case(
            "valid_all_expectations",
            sign(endorsement("all-expectations", audience=AUDIENCE), ALICE),
            "valid",
            "Every expectation given and met: subject, purpose, audience, presentation.",
            subject="Bob Jones",
            purpose="employment-reference",
            audience=AUDIENCE,
            presentation=presentation(
                sign(endorsement("all-expectations", audience=AUDIENCE), ALICE)
            ),
            nonce=NONCE,
        )
    )
    add(
        case(
            "valid_minimal_unregistered",
            sign(ENDORSEMENT_MINIMAL, ALICE),
            "valid",
            "No status entry, and the verifier waives the status check (require_status=false).",
            status_lists=[],
            require_status=False,
        )
    )
    add(
        case(
            "valid_via_key_binding",
            good,
            "valid",
            "The issuer is trusted through a registry-signed key binding, not pinned.",
            issuers=[],
            key_bindings=[
                {"binding": key_binding(ALICE, ISSUER_EMAIL, "Alice Example"), "revocations": []}
            ],
        )
    )

    # Canonical JSON (spec §2.2): each payload correctly signed, only its encoding is wrong.
    text = json.dumps(bp, sort_keys=True, separators=(", ", ": "), ensure_ascii=False)
    zero_index = jcs(endorsement("defects", status=status_ref(0)).to_payload())
    assert zero_index.count(b'"idx":0') == 1
    json_cases: list[tuple[str, bytes, str, str]] = [
        ("json_whitespace", text.encode(), "NonCanonicalEncoding", "whitespace after , and :"),
        (
            "json_unsorted_members",
            json.dumps(bp, separators=(",", ":"), ensure_ascii=False).encode(),
            "NonCanonicalEncoding",
            "members in insertion order (type, v, id, ...), not sorted",
        ),
        (
            "json_escaped_ascii",
            bb.replace(b'"Bob Jones"', b'"\\u0042ob Jones"'),
            "NonCanonicalEncoding",
            "an ASCII letter written as the escape \\u0042",
        ),
        (
            "json_duplicate_key",
            bb.replace(b'"contact":false,', b'"contact":false,"contact":false,'),
            "NonCanonicalEncoding",
            "member 'contact' twice, with the same value",
        ),
        (
            "json_float_value",
            bb.replace(b'"iat":%d' % IAT, b'"iat":%d.0' % IAT),
            "MalformedToken",
            "iat written as a float (1764633600.0)",
        ),
        (
            "json_integer_beyond_2_53",
            bb.replace(b'"exp":%d' % (IAT + YEAR), b'"exp":%d' % 2**53),
            "MalformedToken",
            "exp = 2^53, outside the I-JSON range +-(2^53-1)",
        ),
        (
            "json_lone_surrogate",
            bb.replace(b'"Bob Jones"', b'"Bob \\ud800Jones"'),
            "MalformedToken",
            "a lone UTF-16 surrogate escape in a string",
        ),
        (
            "json_invalid_utf8",
            bb.replace(b'"Bob Jones"', b'"Bob \xffJones"'),
            "MalformedToken",
            "the byte 0xFF inside a string (not UTF-8)",
        ),
        (
            "json_negative_zero",
            zero_index.replace(b'"idx":0', b'"idx":-0'),
            "NonCanonicalEncoding",
            "status.idx written -0: valid JSON, a second spelling of the integer 0",
        ),
        (
            "json_leading_zero",
            zero_index.replace(b'"idx":0', b'"idx":00'),
            "MalformedToken",
            "status.idx written 00: not JSON at all (RFC 8259 forbids leading zeros)",
        ),
        (
            "json_exponent_integer",
            bb.replace(b'"iat":%d' % IAT, b'"iat":%dE1' % (IAT // 10)),
            "MalformedToken",
            "iat written with an exponent (176463360E1): a floating-point number",
        ),
        (
            "json_nesting_too_deep",
            jcs(payload_of(base, purposes=[[[["employment-reference"]]]])),
            "MalformedToken",
            "purposes nested 5 levels deep counting the root object (limit 4)",
        ),
    ]
    for name, payload, error, what in json_cases:
        assert payload != bb
        add(
            case(name, signed(payload), "malformed", f"Payload JSON: {what}.", expected_error=error)
        )

    # The compact form (spec §3).
    _, p64, s64 = parts(raw_token(bb, ALICE))
    binding = key_binding(ALICE, ISSUER_EMAIL, "Alice Example")
    # A payload whose length is not a multiple of 3 (so its base64url has trailing bits), and
    # one whose base64url holds '-' or '_'.
    _, trailing = _base_payload_with(lambda b: len(b) % 3 != 0)
    t_pre, t_pay, t_sig = parts(signed(trailing))
    _, dashes = _base_payload_with(lambda b: {"-", "_"} & set(b64url_encode(b)))
    d_pre, d_pay, d_sig = parts(signed(dashes))
    for name, token, error, what in (
        ("token_unknown_type", f"attestation-v1.{p64}.{s64}", "MalformedToken", "unknown type"),
        ("token_wrong_version", f"endorsement-v2.{p64}.{s64}", "MalformedToken", "prefix -v2"),
        ("token_four_parts", f"endorsement-v1.{p64}.{s64}.", "MalformedToken", "a fourth part"),
        (
            "token_type_mismatch",
            signed(jcs(payload_of(base, type="revocation"))),
            "MalformedToken",
            "prefix endorsement, payload type 'revocation' (signed as an endorsement)",
        ),
        (
            "token_key_binding_as_endorsement",
            binding,
            "WrongTokenType",
            "a valid registry key-binding token presented as an endorsement",
        ),
        (
            "token_oversized",
            signed(jcs(payload_of(base, pad="x" * 6200))),
            "MalformedToken",
            "over 8192 characters (checked before decoding)",
        ),
        (
            "payload_noncanonical_base64url",
            f"{t_pre}.{with_trailing_bit(t_pay, len(trailing))}.{t_sig}",
            "NonCanonicalEncoding",
            "payload base64url with a non-zero trailing bit (decodes to the signed bytes)",
        ),
        (
            "payload_standard_base64_alphabet",
            f"{d_pre}.{d_pay.replace('-', '+').replace('_', '/')}.{d_sig}",
            "MalformedToken",
            "payload in the standard alphabet ('+' and '/' for '-' and '_')",
        ),
        ("sig_truncated", f"endorsement-v1.{p64}.{s64[:-1]}", "MalformedToken", "85 characters"),
        (
            "sig_padded",
            f"endorsement-v1.{p64}.{s64}==",
            "MalformedToken",
            "signature padded with '=='",
        ),
        ("sig_extra_char", f"endorsement-v1.{p64}.{s64}A", "MalformedToken", "87 characters"),
        (
            "sig_noncanonical_base64url",
            f"endorsement-v1.{p64}.{with_trailing_bit(s64, 64)}",
            "NonCanonicalEncoding",
            "signature base64url with a non-zero trailing bit",
        ),
    ):
        add(case(name, token, "malformed", f"Token: {what}.", expected_error=error))

    # Signatures (spec §3.3).
    signature = ALICE.sign(signing_context("endorsement") + bb)
    s_plus_l = (int.from_bytes(signature[32:], "little") + L).to_bytes(32, "little")
    flipped = bytearray(bb)
    flipped[bb.index(b'"iss_name":"Alice') + len(b'"iss_name":"')] ^= 1  # 'A' -> '@'
    for name, token, what in (
        ("sig_wrong_context", signed(bb, context="revocation"), "made with the revocation context"),
        (
            "sig_noncanonical_s",
            f"endorsement-v1.{p64}.{b64url_encode(signature[:32] + s_plus_l)}",
            "S replaced by S + L (the same point equation, S >= L: malleated)",
        ),
        ("sig_other_key", signed(bb, CAROL), "by another key than the issuer named in iss"),
        (
            "sig_flipped_payload_bit",
            f"endorsement-v1.{b64url_encode(bytes(flipped))}.{s64}",
            "over a payload with one bit flipped ('Alice' -> '@lice', still well-formed)",
        ),
        ("sig_all_zero", f"endorsement-v1.{p64}.{b64url_encode(bytes(64))}", "64 zero bytes"),
    ):
        add(case(name, token, "bad_signature", f"Signature {what}.", expected_error="BadSignature"))

    # Object rules (spec §4): each payload canonical and correctly signed.
    long_name = "A" + "b" * 127
    SUB_WITH_KEY = {"email": "bob@example.com", "key": BOB.did, "name": "Bob Jones"}
    object_cases: list[tuple[str, dict[str, Any], str, str | None, str]] = [
        (
            "key_small_order_issuer",
            payload_of(base, iss=SMALL_ORDER_DID),
            "malformed",
            "MalformedToken",
            "iss is the did:key of a small-order point",
        ),
        (
            "field_unknown",
            payload_of(base, note="x"),
            "malformed",
            "MalformedToken",
            "extra 'note'",
        ),
        (
            "field_missing_required",
            payload_of(base, iss_name=None),
            "malformed",
            "MalformedToken",
            "no iss_name",
        ),
        (
            "field_wrong_json_type",
            payload_of(base, contact="false"),
            "malformed",
            "MalformedToken",
            "contact is the string 'false'",
        ),
        (
            "field_iss_name_too_long",
            payload_of(base, iss_name=long_name + "c"),
            "malformed",
            "MalformedToken",
            "iss_name of 129 characters (limit 128)",
        ),
        (
            "field_iss_name_128_chars",
            payload_of(base, iss_name=long_name),
            "valid",
            None,
            "iss_name of exactly 128 characters",
        ),
        (
            "field_unsupported_v",
            payload_of(base, v=2),
            "malformed",
            "MalformedToken",
            "v = 2 under the v1 prefix",
        ),
        (
            "text_not_nfc",
            payload_of(base, iss_name="Ame\u0301lie Example"),
            "malformed",
            "MalformedToken",
            "iss_name in NFD (e + combining acute) instead of NFC",
        ),
        (
            "text_control_char",
            payload_of(base, sub={"email": "bob@example.com", "name": "Bob\u0007Jones"}),
            "malformed",
            "MalformedToken",
            "sub.name holds U+0007 (BEL)",
        ),
        (
            "purposes_unsorted",
            payload_of(base, purposes=["employment-reference", "character-reference"]),
            "malformed",
            "MalformedToken",
            "purposes not in sorted order",
        ),
        (
            "purposes_duplicate",
            payload_of(base, purposes=["employment-reference", "employment-reference"]),
            "malformed",
            "MalformedToken",
            "a purpose listed twice",
        ),
        (
            "purpose_unknown",
            payload_of(base, purposes=["sales-reference"]),
            "malformed",
            "MalformedToken",
            "a purpose outside the vocabulary and without the x- prefix",
        ),
        (
            "validity_over_five_years",
            payload_of(base, exp=IAT + MAX_VALIDITY + 1),
            "malformed",
            "MalformedToken",
            "exp - nbf = five years (with two leap days) + 1 second",
        ),
        (
            "validity_exactly_five_years",
            payload_of(base, exp=IAT + MAX_VALIDITY),
            "valid",
            None,
            "exp - nbf = 5 * 365 + 2 days exactly, the longest allowed",
        ),
        (
            "nbf_before_iat",
            payload_of(base, nbf=IAT - 1),
            "malformed",
            "MalformedToken",
            "nbf one second before iat",
        ),
        (
            "exp_equals_nbf",
            payload_of(base, exp=IAT),
            "malformed",
            "MalformedToken",
            "exp equal to nbf (an empty validity window)",
        ),
        (
            "field_null_optional",
            payload_of(base, aud=JSON_NULL),
            "malformed",
            "MalformedToken",
            "aud: null (an absent optional member is omitted, never null)",
        ),
        (
            "field_bool_as_integer",
            payload_of(base, iat=True),
            "malformed",
            "MalformedToken",
            "iat is the boolean true",
        ),
        (
            "field_negative_time",
            payload_of(base, iat=-1, nbf=-1),
            "malformed",
            "MalformedToken",
            "iat and nbf of -1",
        ),
        (
            "field_id_noncanonical",
            payload_of(base, id=base.id[:-1] + "B"),
            "malformed",
            "MalformedToken",
            "id whose last base64url character carries non-zero trailing bits",
        ),
        (
            "field_status_index_too_large",
            payload_of(base, status={"idx": 2**24, "list": LIST_ID, "reg": REGISTRY}),
            "malformed",
            "MalformedToken",
            "status.idx of 2^24 (at most 2^24 - 1)",
        ),
        (
            "field_registry_trailing_slash",
            payload_of(base, status={"idx": INDEX_OK, "list": LIST_ID, "reg": REGISTRY + "/"}),
            "malformed",
            "MalformedToken",
            "status.reg ends with '/'",
        ),
        (
            "field_registry_plain_http",
            payload_of(
                base, status={"idx": INDEX_OK, "list": LIST_ID, "reg": "http://registry.example"}
            ),
            "malformed",
            "MalformedToken",
            "status.reg over http on a non-loopback host",
        ),
        (
            "field_subject_small_order_key",
            payload_of(base, sub=SUB_WITH_KEY | {"key": SMALL_ORDER_DID}),
            "malformed",
            "MalformedToken",
            "sub.key is the did:key of a small-order point",
        ),
        (
            "subject_without_email_or_handle",
            payload_of(base, sub={"name": "Bob Jones"}),
            "malformed",
            "MalformedToken",
            "sub with a name only",
        ),
        (
            "subject_handle_only",
            payload_of(base, sub={"handle": "github:bobjones", "name": "Bob Jones"}),
            "valid",
            None,
            "sub with a name and a handle, no e-mail",
        ),
        (
            "rel_period_reversed",
            payload_of(
                base, rel={"context": "work", "from": "2024-02", "role": "manager", "to": "2023"}
            ),
            "malformed",
            "MalformedToken",
            "rel.to before rel.from",
        ),
        (
            "rel_period_month_start_year_end",
            payload_of(
                base, rel={"context": "work", "from": "2024-02", "role": "manager", "to": "2024"}
            ),
            "valid",
            None,
            "from February 2024 to some month of 2024: a year as an end means its December",
        ),
        (
            "field_registry_uppercase_host",
            payload_of(
                base, status={"idx": INDEX_OK, "list": LIST_ID, "reg": "https://Registry.example"}
            ),
            "malformed",
            "MalformedToken",
            "status.reg host not in lower case (one registry, one spelling)",
        ),
        (
            "field_registry_dot_segment",
            payload_of(
                base, status={"idx": INDEX_OK, "list": LIST_ID, "reg": "https://reg.example/.."}
            ),
            "malformed",
            "MalformedToken",
            "status.reg with a '..' path segment",
        ),
        (
            "field_registry_default_https_port",
            payload_of(
                base,
                status={"idx": INDEX_OK, "list": LIST_ID, "reg": "https://registry.example:443"},
            ),
            "malformed",
            "MalformedToken",
            "status.reg with the explicit default port :443 (a second spelling of the registry)",
        ),
        (
            "field_registry_default_http_port",
            payload_of(
                base, status={"idx": INDEX_OK, "list": LIST_ID, "reg": "http://localhost:80"}
            ),
            "malformed",
            "MalformedToken",
            "status.reg http on loopback with the explicit default port :80",
        ),
        (
            "field_registry_other_port",
            payload_of(
                base,
                status={"idx": INDEX_OK, "list": LIST_ID, "reg": "https://registry.example:4430"},
            ),
            "status_unavailable",
            None,
            "status.reg with port 4430, not the default port (it merely starts with 443): well"
            " formed, but no list of that registry is given",
        ),
        (
            "text_hangul_filler",
            payload_of(base, sub={"email": "bob@example.com", "name": "Bob\u3164Jones"}),
            "malformed",
            "MalformedToken",
            "sub.name holds U+3164 HANGUL FILLER (letter Lo, but shown as nothing)",
        ),
        (
            "text_variation_selector",
            payload_of(base, iss_name="Alice Example\ufe0f"),
            "malformed",
            "MalformedToken",
            "iss_name ends with U+FE0F VARIATION SELECTOR-16 (default-ignorable)",
        ),
        (
            "text_combining_grapheme_joiner",
            payload_of(base, iss_name="Alice\u034fExample"),
            "malformed",
            "MalformedToken",
            "iss_name holds U+034F COMBINING GRAPHEME JOINER (default-ignorable)",
        ),
        (
            "text_tag_character",
            payload_of(base, stmt="Reliable.\U000e0041"),
            "malformed",
            "MalformedToken",
            "stmt holds U+E0041 TAG LATIN CAPITAL LETTER A (default-ignorable)",
        ),
        (
            "field_email_control_char",
            payload_of(base, sub={"email": "bob\u0007@example.com", "name": "Bob Jones"}),
            "malformed",
            "MalformedToken",
            "sub.email local part with a control character",
        ),
        (
            "field_email_bidi_override",
            payload_of(base, sub={"email": "bob\u202e@example.com", "name": "Bob Jones"}),
            "malformed",
            "MalformedToken",
            "sub.email local part with a right-to-left override",
        ),
        (
            "purpose_custom_empty_word",
            payload_of(base, purposes=["employment-reference", "x--"]),
            "malformed",
            "MalformedToken",
            "custom purpose 'x--' has no word",
        ),
        (
            "rel_period_bad_month",
            payload_of(base, rel={"context": "work", "from": "2024-13", "role": "manager"}),
            "malformed",
            "MalformedToken",
            "rel.from of month 13",
        ),
        (
            "field_iss_name_128_astral_chars",
            payload_of(base, iss_name="\U0001d49c" * 128),
            "valid",
            None,
            "iss_name of 128 code points outside the BMP (256 UTF-16 units): lengths count"
            " code points",
        ),
        (
            "field_iss_name_129_astral_chars",
            payload_of(base, iss_name="\U0001d49c" * 129),
            "malformed",
            "MalformedToken",
            "iss_name of 129 code points outside the BMP",
        ),
        (
            "text_outer_whitespace",
            payload_of(base, iss_name="Alice Example "),
            "malformed",
            "MalformedToken",
            "iss_name with a trailing space",
        ),
        (
            "text_format_char",
            payload_of(base, iss_name="Alice\u200bExample"),
            "malformed",
            "MalformedToken",
            "iss_name holding U+200B ZERO WIDTH SPACE (an invisible format character)",
        ),
        (
            "text_statement_line_break",
            payload_of(base, stmt="Reliable.\nKind."),
            "valid",
            None,
            "stmt with a line feed (allowed in the statement only)",
        ),
        (
            "text_statement_carriage_return",
            payload_of(base, stmt="Reliable.\r\nKind."),
            "malformed",
            "MalformedToken",
            "stmt with CR LF (only LF is allowed)",
        ),
        (
            "text_line_break_in_name",
            payload_of(base, iss_name="Alice\nExample"),
            "malformed",
            "MalformedToken",
            "iss_name with a line feed (only the statement may have line breaks)",
        ),
        (
            "purpose_custom",
            payload_of(base, purposes=["employment-reference", "x-board-membership"]),
            "valid",
            None,
            "a custom x- purpose besides a defined one",
        ),
        (
            "purpose_custom_uppercase",
            payload_of(base, purposes=["x-Board"]),
            "malformed",
            "MalformedToken",
            "a custom purpose with an upper-case letter",
        ),
        (
            "purposes_empty",
            payload_of(base, purposes=[]),
            "malformed",
            "MalformedToken",
            "no purpose at all",
        ),
        (
            "field_audience_with_space",
            payload_of(base, aud="hr example"),
            "malformed",
            "MalformedToken",
            "aud holding a space (printable ASCII without spaces only)",
        ),
    ]
    for name, obj_payload, verdict, obj_error, what in object_cases:
        token = signed(jcs(obj_payload))
        add(case(name, token, verdict, f"Object: {what}.", expected_error=obj_error))

    # Time (spec §6.3 step 7), with the default clock skew of 300 s.
    def timed(label: str, nbf: int, exp: int) -> str:
        return sign(endorsement(label, issued_at=min(nbf, IAT), not_before=nbf, expires=exp), ALICE)

    for name, token, verdict, what in (
        ("time_expired", timed("expired", IAT - YEAR, NOW - 3600), "expired", "exp an hour ago"),
        (
            "time_expired_within_skew",
            timed("expired-skew", IAT - YEAR, NOW - 100),
            "valid",
            "exp 100 s ago, within the 300 s skew",
        ),
        (
            "time_expired_at_skew_boundary",
            timed("expired-boundary", IAT - YEAR, NOW - SKEW),
            "expired",
            "exp exactly 300 s ago: now - skew >= exp",
        ),
        (
            "time_not_yet_valid",
            timed("future", NOW + 3600, NOW + YEAR),
            "not_yet_valid",
            "nbf in an hour",
        ),
        (
            "time_not_yet_valid_within_skew",
            timed("future-skew", NOW + 200, NOW + YEAR),
            "valid",
            "nbf in 200 s, within the 300 s skew",
        ),
        (
            "time_not_yet_valid_at_skew_boundary",
            timed("future-boundary", NOW + SKEW, NOW + YEAR),
            "valid",
            "nbf exactly 300 s ahead: valid from now + skew >= nbf",
        ),
    ):
        add(case(name, token, verdict, f"Validity window: {what}."))
    add(
        case(
            "time_expired_zero_skew",
            timed("expired-zero-skew", IAT - YEAR, NOW - 100),
            "expired",
            "Validity window: exp 100 s ago and the verifier allows no clock skew.",
            clock_skew=0,
        )
    )

    # Scope (spec §6.3 step 8).
    aud_token = sign(endorsement("audience", audience=AUDIENCE), ALICE)
    kw_cases_1: list[tuple[str, str, str, str, dict[str, Any]]] = [
        ("subject_mismatch", good, "subject_mismatch", "another person", {"subject": "Carol Roe"}),
        (
            "subject_email_case_insensitive",
            good,
            "valid",
            "the e-mail in other letter case",
            {"subject": "BOB@Example.COM"},
        ),
        (
            "subject_name_normalized",
            good,
            "valid",
            "the name in other case with extra spaces",
            {"subject": "  bob   JONES "},
        ),
        (
            "purpose_not_allowed",
            good,
            "purpose_not_allowed",
            "a purpose the endorser did not allow",
            {"purpose": "tenancy-reference"},
        ),
        (
            "purpose_allowed",
            good,
            "valid",
            "a purpose the token lists",
            {"purpose": "character-reference"},
        ),
        (
            "audience_mismatch",
            aud_token,
            "audience_mismatch",
            "the token has aud, the verifier is another audience",
            {"audience": "https://other.example"},
        ),
        (
            "audience_mismatch_none_given",
            aud_token,
            "audience_mismatch",
            "the token has aud, the verifier names no audience",
            {},
        ),
        (
            "audience_match",
            aud_token,
            "valid",
            "the verifier is the token's aud",
            {"audience": AUDIENCE},
        ),
        (
            "audience_unrestricted",
            good,
            "valid",
            "the token has no aud; a verifier audience is irrelevant",
            {"audience": "https://other.example"},
        ),
    ]
    for name, token, verdict, what, kw in kw_cases_1:
        add(case(name, token, verdict, f"Scope: {what}.", **kw))

    # Holder binding (spec §6.3 step 8b): Bob's key signs the verifier's nonce and token hash.
    for name, pres, nonce, what in (
        ("presentation_good", presentation(good), NONCE, "by the subject key, right nonce"),
        (
            "presentation_wrong_nonce",
            presentation(good, nonce="another-nonce-0123456789"),
            NONCE,
            "answers another nonce",
        ),
        ("presentation_other_key", presentation(good, key=CAROL), NONCE, "by another key"),
        (
            "presentation_other_token",
            presentation(sign(endorsement("other"), ALICE)),
            NONCE,
            "for another token (other token hash)",
        ),
        (
            "presentation_stale",
            sign(
                Presentation(
                    key=BOB.did, token_hash=token_hash(good), nonce=NONCE, issued_at=NOW - 301
                ),
                BOB,
            ),
            NONCE,
            "made 301 s ago (limit 300 s)",
        ),
        ("presentation_without_nonce", presentation(good), None, "but the verifier gives no nonce"),
        (
            "presentation_other_audience",
            presentation(good, audience="https://other.example"),
            NONCE,
            "addressed (aud) to another verifier than this one (audience given below)",
        ),
        (
            "presentation_malformed",
            presentation(good)[:-1],
            NONCE,
            "token truncated by one character",
        ),
    ):
        verdict = "valid" if name == "presentation_good" else "subject_mismatch"
        add(
            case(
                name,
                good,
                verdict,
                f"Presentation {what}.",
                presentation=pres,
                nonce=nonce,
                audience=AUDIENCE if name == "presentation_other_audience" else None,
            )
        )
    unbound = sign(
        endorsement("unbound", subject=Subject(name="Bob Jones", email="bob@example.com")), ALICE
    )
    add(
        case(
            "presentation_subject_without_key",
            unbound,
            "subject_mismatch",
            "Presentation for an endorsement whose subject names no key.",
            presentation=presentation(unbound),
            nonce=NONCE,
        )
    )

    # Status (spec §5, §6.3 steps 6 and 9).
    revoked = sign(endorsement("revoked", status=status_ref(INDEX_REVOKED)), ALICE)
    out_of_range = sign(endorsement("out-of-range", status=status_ref(LIST_SIZE)), ALICE)
    kw_cases_2: list[tuple[str, str, str, str, dict[str, Any]]] = [
        ("status_revoked", revoked, "revoked", "bit 42 set in a fresh list", {}),
        (
            "status_revoked_in_stale_list",
            revoked,
            "revoked",
            "bit 42 set in a stale list: a revocation is final however old the list",
            {"status_lists": [STALE_LIST]},
        ),
        (
            "status_revoked_and_expired",
            sign(
                endorsement(
                    "revoked-expired",
                    issued_at=IAT - YEAR,
                    not_before=IAT - YEAR,
                    expires=NOW - 3600,
                    status=status_ref(1000),
                ),
                ALICE,
            ),
            "revoked",
            "revoked (bit 1000) and expired: the revocation is reported first",
            {},
        ),
        (
            "status_list_from_future",
            good,
            "status_unavailable",
            "the only list is dated an hour after now (registry clock or key misuse)",
            {"status_lists": [FUTURE_LIST]},
        ),
        (
            "status_list_stale",
            good,
            "status_unavailable",
            "the only list went stale an hour ago",
            {"status_lists": [STALE_LIST]},
        ),
        (
            "status_list_stale_within_tolerance",
            good,
            "valid",
            "the list went stale an hour ago; the verifier tolerates a day",
            {"status_lists": [STALE_LIST], "max_status_staleness": DAY},
        ),
        (
            "status_list_newest_wins",
            good,
            "valid",
            "a stale and a fresh list of the same id; the newer one is used",
            {"status_lists": [STALE_LIST, FRESH_LIST]},
        ),
        ("status_list_missing", good, "status_unavailable", "no list given", {"status_lists": []}),
        (
            "status_list_other_id",
            good,
            "status_unavailable",
            "only a list of another id is given",
            {"status_lists": [OTHER_LIST]},
        ),
        (
            "status_absent_required",
            sign(ENDORSEMENT_MINIMAL, ALICE),
            "status_unavailable",
            "the token has no status entry and the verifier requires one",
            {},
        ),
        (
            "status_absent_not_required",
            sign(ENDORSEMENT_MINIMAL, ALICE),
            "valid",
            "the token has no status entry and the verifier waives it",
            {"require_status": False},
        ),
        (
            "status_registered_not_required",
            good,
            "status_unavailable",
            "require_status=false waives only a missing entry, not a missing list",
            {"status_lists": [], "require_status": False},
        ),
        (
            "status_index_beyond_list",
            out_of_range,
            "status_unavailable",
            "status index 131072 in a list of 131072 entries",
            {},
        ),
    ]
    for name, token, verdict, what, kw in kw_cases_2:
        add(case(name, token, verdict, f"Status: {what}.", **kw))

    # Issuers and key revocation (spec §6.3 steps 4-5).
    self_rev = sign(KeyRevocation(ALICE.did, NOW - 10 * DAY, ALICE.did, NOW - 9 * DAY), ALICE)
    reg_rev = sign(key_revocation_object(REG), REG)
    after = sign(
        endorsement("after-revocation", issued_at=NOW - 5 * DAY, not_before=NOW - 5 * DAY), ALICE
    )
    at = sign(
        endorsement("at-revocation", issued_at=NOW - 10 * DAY, not_before=NOW - 10 * DAY), ALICE
    )
    unregistered_before = sign(replace(ENDORSEMENT_MINIMAL, id=ident("unreg-before")), ALICE)
    kw_cases_3: list[tuple[str, str, str, str, dict[str, Any]]] = [
        (
            "issuer_unknown",
            good,
            "unknown_issuer",
            "the verifier trusts only another issuer",
            {"issuers": [issuer_entry(CAROL, "carol@example.org")]},
        ),
        (
            "issuer_entry_key_differs",
            good,
            "unknown_issuer",
            "the issuers mapping lists another key's entry under the token's iss",
            {"issuers": [issuer_entry(CAROL, "carol@example.org", listed_as=ALICE)]},
        ),
        (
            "issuer_none_trusted",
            good,
            "unknown_issuer",
            "the verifier trusts nobody",
            {"issuers": []},
        ),
        (
            "issuer_pinned_without_identity",
            good,
            "valid",
            "the issuer key is pinned by the verifier (identity null)",
            {"issuers": [issuer_entry(identity=None)]},
        ),
        (
            "issuer_key_revoked",
            after,
            "issuer_key_revoked",
            "token iat after the key's revoked_from",
            {"issuers": [issuer_entry(revoked_from=NOW - 10 * DAY)]},
        ),
        (
            "issuer_key_revoked_at_iat",
            at,
            "issuer_key_revoked",
            "token iat equal to revoked_from (at or after is revoked)",
            {"issuers": [issuer_entry(revoked_from=NOW - 10 * DAY)]},
        ),
        (
            "issuer_key_revoked_self_signed",
            after,
            "issuer_key_revoked",
            "binding plus a key revocation signed by the key itself",
            {"issuers": [], "key_bindings": [{"binding": binding, "revocations": [self_rev]}]},
        ),
        (
            "issuer_key_revoked_registered_before",
            good,
            "valid",
            "key revoked (registry-signed) after the registry recorded the token",
            {
                "issuers": [],
                "key_bindings": [{"binding": binding, "revocations": [reg_rev]}],
                "registration": registration(good, NOW - 11 * DAY),
            },
        ),
        (
            "issuer_key_revoked_backdated_without_registration",
            good,
            "issuer_key_revoked",
            "iat before revoked_from, but no registration: a stolen key can backdate iat",
            {"issuers": [], "key_bindings": [{"binding": binding, "revocations": [reg_rev]}]},
        ),
        (
            "issuer_key_revoked_registered_after",
            good,
            "issuer_key_revoked",
            "the registry recorded the token only after the key's revoked_from",
            {
                "issuers": [issuer_entry(revoked_from=NOW - 10 * DAY)],
                "registration": registration(good, NOW - 10 * DAY),
            },
        ),
        (
            "issuer_key_revoked_registration_of_other_token",
            good,
            "issuer_key_revoked",
            "the registration given names another token",
            {
                "issuers": [issuer_entry(revoked_from=NOW - 10 * DAY)],
                "registration": registration(after, NOW - 11 * DAY),
            },
        ),
        (
            "issuer_key_revoked_unregistered_before",
            unregistered_before,
            "issuer_key_revoked",
            "token issued before revoked_from but without a status entry (never registered)",
            {
                "issuers": [issuer_entry(revoked_from=NOW - 10 * DAY)],
                "status_lists": [],
                "require_status": False,
            },
        ),
    ]
    for name, token, verdict, what, kw in kw_cases_3:
        add(case(name, token, verdict, f"Issuer: {what}.", **kw))

    # Both sides of every boundary (spec §6.3 steps 7, 8, 9): each case next to the one an
    # implementation off by one second, or matching by prefix, would get wrong.
    def listed(iat: int, ttl: int = 3600) -> list[str]:
        return [status_list_token(iat, ttl)]

    custom = sign(endorsement("custom-purpose", purposes=("x-board-reference",)), ALICE)
    boundary_cases: list[tuple[str, str, str, str, dict[str, Any]]] = [
        (
            "time_not_yet_valid_one_second_beyond_skew",
            timed("future-beyond", NOW + SKEW + 1, NOW + YEAR),
            "not_yet_valid",
            "nbf 301 s ahead: now + skew < nbf by one second",
            {},
        ),
        (
            "time_expired_one_second_within_skew",
            timed("expired-within", IAT - YEAR, NOW - SKEW + 1),
            "valid",
            "exp 299 s ago: now - skew < exp by one second",
            {},
        ),
        ("subject_prefix_of_name", good, "subject_mismatch", "'Bob', a prefix", {"subject": "Bob"}),
        (
            "subject_substring_of_name",
            good,
            "subject_mismatch",
            "'ob Jone', a part of the name",
            {"subject": "ob Jone"},
        ),
        (
            "subject_name_is_prefix",
            good,
            "subject_mismatch",
            "'Bob Jones Jr', of which the name is a prefix",
            {"subject": "Bob Jones Jr"},
        ),
        (
            "subject_email_prefix",
            good,
            "subject_mismatch",
            "'bob@example', a prefix of the e-mail address",
            {"subject": "bob@example"},
        ),
        (
            "subject_empty_string",
            good,
            "subject_mismatch",
            "the empty string, which is an expectation (matching nothing), not an absent one",
            {"subject": ""},
        ),
        (
            "subject_unassigned_in_unicode_14",
            good,
            "subject_mismatch",
            "'Bob Jones' followed by U+1F6DC (assigned in Unicode 15.0, Cn in 14.0): a subject"
            " holding a code point unassigned in 14.0 matches no name, on every runtime",
            {"subject": "Bob Jones\U0001f6dc"},
        ),
        (
            "purpose_prefix_of_allowed",
            custom,
            "purpose_not_allowed",
            "'x-board', a prefix of the allowed 'x-board-reference'",
            {"purpose": "x-board"},
        ),
        (
            "purpose_extends_allowed",
            custom,
            "purpose_not_allowed",
            "'x-board-reference-2', of which the allowed purpose is a prefix",
            {"purpose": "x-board-reference-2"},
        ),
        (
            "purpose_custom_allowed",
            custom,
            "valid",
            "'x-board-reference', exactly the allowed custom purpose",
            {"purpose": "x-board-reference"},
        ),
        (
            "purpose_empty_string",
            good,
            "purpose_not_allowed",
            "the empty string, which is an expectation (allowed by no token), not an absent one",
            {"purpose": ""},
        ),
        (
            "purpose_not_a_purpose",
            good,
            "purpose_not_allowed",
            "'Employment-Reference', not a purpose of §4.2: compared exactly, never case-folded",
            {"purpose": "Employment-Reference"},
        ),
        (
            "audience_empty_string",
            aud_token,
            "audience_mismatch",
            "the token has aud; the verifier's audience is the empty string",
            {"audience": ""},
        ),
        (
            "status_list_fresh_until_now",
            good,
            "valid",
            "the list's iat + ttl is exactly now: not yet stale",
            {"status_lists": listed(NOW - 3600)},
        ),
        (
            "status_list_stale_by_one_second",
            good,
            "status_unavailable",
            "the list's iat + ttl is one second before now; clock_skew does not extend it",
            {"status_lists": listed(NOW - 3601)},
        ),
        (
            "status_list_stale_at_tolerance",
            good,
            "valid",
            "stale for exactly max_status_staleness (a day)",
            {"status_lists": listed(NOW - 3600 - DAY), "max_status_staleness": DAY},
        ),
        (
            "status_list_stale_one_second_beyond_tolerance",
            good,
            "status_unavailable",
            "stale for max_status_staleness (a day) and one second",
            {"status_lists": listed(NOW - 3601 - DAY), "max_status_staleness": DAY},
        ),
        (
            "status_list_dated_at_skew",
            good,
            "valid",
            "the list's iat is now + clock_skew: not in the future",
            {"status_lists": listed(NOW + SKEW)},
        ),
        (
            "status_list_dated_one_second_beyond_skew",
            good,
            "status_unavailable",
            "the list's iat is now + clock_skew + 1: dated in the future",
            {"status_lists": listed(NOW + SKEW + 1)},
        ),
        (
            "status_list_gzip_header_crc_and_name",
            good,
            "valid",
            "the list's gzip header has a file name and a correct header CRC-16 (FNAME, FHCRC):"
            " both allowed and without meaning (§5)",
            {"status_lists": [status_list_token(NOW - 600, 3600, gzip_flags=FHCRC | FNAME)]},
        ),
    ]
    for name, token, verdict, what, kw in boundary_cases:
        add(case(name, token, verdict, f"Boundary: {what}.", **kw))

    # Holder binding: a presentation's iat within 300 s either way, and one second beyond.
    for name, offset, verdict in (
        ("presentation_at_age_limit", -PRESENTATION_AGE, "valid"),
        ("presentation_dated_at_future_limit", PRESENTATION_AGE, "valid"),
        ("presentation_dated_in_the_future", PRESENTATION_AGE + 1, "subject_mismatch"),
    ):
        pres = sign(
            Presentation(
                key=BOB.did, token_hash=token_hash(good), nonce=NONCE, issued_at=NOW + offset
            ),
            BOB,
        )
        add(
            case(
                name,
                good,
                verdict,
                f"Presentation made at now {offset:+d} s (|now - iat| <= 300 s).",
                presentation=pres,
                nonce=NONCE,
            )
        )

    # Trusted inputs (spec §6.1): what a verifier builds its issuers from.
    other_registry_binding = sign(
        replace(
            binding_object(ALICE, ISSUER_EMAIL, "Alice Example"),
            registry="https://other-registry.example",
        ),
        REG,
    )
    carol_rev = sign(key_revocation_object(CAROL, key=CAROL), CAROL)
    late_rev = sign(key_revocation_object(ALICE, revoked_from=NOW - 10 * DAY), ALICE)
    early_rev = sign(key_revocation_object(REG, revoked_from=NOW - 20 * DAY), REG)
    trust_cases: list[tuple[str, str, str, str, dict[str, Any]]] = [
        (
            "issuer_key_binding_bad_signature",
            good,
            "unknown_issuer",
            "the only key binding is signed by another key than the registry's: it vouches for"
            " nothing",
            {
                "issuers": [],
                "key_bindings": [
                    {
                        "binding": sign(
                            binding_object(ALICE, ISSUER_EMAIL, "Alice Example"), CAROL
                        ),
                        "revocations": [],
                    }
                ],
            },
        ),
        (
            "issuer_key_binding_other_registry",
            good,
            "unknown_issuer",
            "the only key binding is signed by the registry key but names another registry",
            {
                "issuers": [],
                "key_bindings": [{"binding": other_registry_binding, "revocations": []}],
            },
        ),
        (
            "issuer_key_revocation_of_another_key",
            good,
            "unknown_issuer",
            "Alice's binding comes with a key revocation of Carol's key: the pair is refused"
            " whole, so no trusted issuer comes of it",
            {"issuers": [], "key_bindings": [{"binding": binding, "revocations": [carol_rev]}]},
        ),
        (
            "issuer_key_revocations_earliest_from_counts",
            good,
            "issuer_key_revoked",
            "two key revocations of Alice's key, from 10 and from 20 days ago; the token was"
            " registered 15 days ago: the earliest from counts",
            {
                "issuers": [],
                "key_bindings": [{"binding": binding, "revocations": [late_rev, early_rev]}],
                "registration": registration(good, NOW - 15 * DAY),
            },
        ),
        (
            "issuer_key_revocations_earliest_from_counts_listed_first",
            good,
            "issuer_key_revoked",
            "as issuer_key_revocations_earliest_from_counts, the revocations in the other order",
            {
                "issuers": [],
                "key_bindings": [{"binding": binding, "revocations": [early_rev, late_rev]}],
                "registration": registration(good, NOW - 15 * DAY),
            },
        ),
        (
            "issuer_key_revocations_registered_before_both",
            good,
            "valid",
            "two key revocations, from 10 and 20 days ago; the token was registered 21 days ago",
            {
                "issuers": [],
                "key_bindings": [{"binding": binding, "revocations": [late_rev, early_rev]}],
                "registration": registration(good, NOW - 21 * DAY),
            },
        ),
    ]
    for name, token, verdict, what, kw in trust_cases:
        add(case(name, token, verdict, f"Trusted inputs: {what}.", **kw))

    # Text rules under Unicode 14.0.0 (spec §2.3).
    add(
        case(
            "text_unassigned_in_unicode_14",
            signed(jcs({**bp, "sub": {**bp["sub"], "name": "Bob Jones \U0001f6dc"}})),
            "malformed",
            "Text: sub.name ends in U+1F6DC WIRELESS, assigned in Unicode 15.0 and so"
            " unassigned (Cn) in 14.0.0: refused by every implementation, whatever its runtime.",
            expected_error="MalformedToken",
        )
    )

    # Not a token at all.
    add(
        case(
            "token_lone_surrogate_in_text",
            f"endorsement-v1.{p64[:10]}\ud800{p64[10:]}.{s64}",
            "malformed",
            "The token text itself holds a lone surrogate (reachable from JSON '\\ud800').",
            expected_error="MalformedToken",
        )
    )
    add(case("token_empty", "", "malformed", "The empty string.", expected_error="MalformedToken"))

    # Claimed references (spec §4.11-§4.13): no refusal, policy or request is an endorsement.
    refusal_payload_bytes = jcs(REFUSAL_ANSWER.to_payload())
    for name, token, verdict, error, what in (
        (
            "refusal_token_as_endorsement",
            sign(REFUSAL_ANSWER, ALICE),
            "malformed",
            "WrongTokenType",
            "a genuine refusal presented as an endorsement (never valid, never refused)",
        ),
        (
            "policy_token_as_endorsement",
            sign(POLICY, ALICE),
            "malformed",
            "WrongTokenType",
            "a genuine policy presented as an endorsement",
        ),
        (
            "reference_request_token_as_endorsement",
            sign(REFERENCE_REQUEST, REG),
            "malformed",
            "WrongTokenType",
            "a registry-signed reference request presented as an endorsement",
        ),
        (
            "refusal_payload_signed_as_endorsement",
            signed(refusal_payload_bytes),
            "malformed",
            "MalformedToken",
            "a refusal payload under the endorsement prefix and context, signed by Alice",
        ),
        (
            "endorsement_signed_with_refusal_context",
            signed(bb, context="refusal"),
            "bad_signature",
            "BadSignature",
            "a good endorsement payload whose signature was made with the refusal context",
        ),
    ):
        add(case(name, token, verdict, f"Type confusion: {what}.", expected_error=error))

    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


def decoding_cases() -> list[dict[str, Any]]:
    endorsement_token = sign(endorsement("base"), ALICE)
    binding = key_binding(ALICE, ISSUER_EMAIL, "Alice Example")
    revocation = sign(revocation_object(ALICE, endorsement_id=ident("base")), ALICE)
    zeros = bitstring(LIST_SIZE, ())

    def status(bits: bytes, size: int = LIST_SIZE) -> str:
        # A payload dict, not a StatusListToken: the object would refuse a bad size itself.
        payload = {
            "type": "status-list",
            "v": 1,
            "reg": REGISTRY,
            "list": LIST_ID,
            "iat": NOW - 600,
            "ttl": 3600,
            "size": size,
            "bits": b64url_encode(bits),
        }
        return raw_token(jcs(payload), REG, type_name="status-list")

    good_gzip = gzip_fixed(zeros)
    out: list[dict[str, Any]] = []

    def add(name: str, function: str, error: str, description: str, **args: Any) -> None:
        out.append(
            {
                "name": name,
                "description": description,
                "function": function,
                "args": args,
                "expected_error": error,
            }
        )

    add(
        "small_order_key_did",
        "PublicKey.from_did",
        "InvalidKey",
        "did:key of a point of order 8.",
        did=SMALL_ORDER_DID,
    )
    add(
        "small_order_key_raw",
        "PublicKey",
        "InvalidKey",
        "Raw point of order 8.",
        public_key_hex=SMALL_ORDER_KEY.hex(),
    )
    add(
        "did_key_x25519_multicodec",
        "PublicKey.from_did",
        "InvalidKey",
        "did:key with the x25519-pub multicodec (0xec01) instead of ed25519-pub.",
        did=X25519_DID,
    )
    add(
        "key_binding_as_endorsement",
        "decode_unverified",
        "WrongTokenType",
        "A key-binding token decoded as an endorsement.",
        token=binding,
        type="endorsement",
    )
    add(
        "revocation_as_key_revocation",
        "verify_token",
        "WrongTokenType",
        "A revocation token verified as a key revocation.",
        token=revocation,
        type="key-revocation",
        key=None,
    )
    add(
        "endorsement_expected_other_signer",
        "verify_token",
        "BadSignature",
        "A good endorsement checked against a key other than its named issuer.",
        token=endorsement_token,
        type="endorsement",
        key=CAROL.did,
    )
    add(
        "registry_signed_without_key",
        "verify_token",
        "InvalidKey",
        "A registry-signed type needs the registry key; none given.",
        token=binding,
        type="key-binding",
        key=None,
    )
    add(
        "key_binding_wrong_registry_key",
        "verify_key_binding",
        "BadSignature",
        "A key binding checked with another key than the registry's.",
        token=binding,
        registry_key=ALICE.did,
        registry=REGISTRY,
    )
    add(
        "key_binding_other_registry",
        "verify_key_binding",
        "MalformedToken",
        "A key binding of another registry than the one expected.",
        token=binding,
        registry_key=REG.did,
        registry="https://other-registry.example",
    )
    add(
        "status_list_wrong_registry_key",
        "verify_status_list",
        "BadSignature",
        "A status list checked with another key than the registry's.",
        token=FRESH_LIST,
        registry_key=CAROL.did,
        registry=REGISTRY,
    )
    add(
        "status_list_inflates_beyond_size",
        "verify_status_list",
        "MalformedToken",
        "Bits that inflate to one byte more than size / 8.",
        token=status(gzip_fixed(zeros + b"\0")),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "status_list_inflates_short",
        "verify_status_list",
        "MalformedToken",
        "Bits that inflate to one byte less than size / 8.",
        token=status(gzip_fixed(zeros[:-1])),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "status_list_gzip_truncated",
        "verify_status_list",
        "MalformedToken",
        "A gzip stream without its 8-byte trailer.",
        token=status(good_gzip[:-8]),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "status_list_gzip_trailing_data",
        "verify_status_list",
        "MalformedToken",
        "A complete gzip stream followed by one more byte.",
        token=status(good_gzip + b"\0"),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "status_list_raw_deflate",
        "verify_status_list",
        "MalformedToken",
        "Bits as a raw deflate stream without the gzip container.",
        token=status(good_gzip[10:-8]),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "status_list_size_not_multiple_of_8",
        "verify_status_list",
        "MalformedToken",
        "size 131073.",
        token=status(good_gzip, size=LIST_SIZE + 1),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "status_list_too_small",
        "verify_status_list",
        "MalformedToken",
        "size 131064, under the herd-privacy minimum of 131072.",
        token=status(gzip_fixed(zeros[:-1]), size=LIST_SIZE - 8),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "revocation_by_stranger",
        "verify_revocation",
        "BadSignature",
        "A revocation of Alice's endorsement signed (validly) by Carol.",
        token=sign(revocation_object(CAROL, endorsement_id=ident("base")), CAROL),
        registry_key=REG.did,
    )
    add(
        "key_revocation_by_registry_unpinned",
        "verify_key_revocation",
        "BadSignature",
        "A registry-signed key revocation checked without the registry key.",
        token=sign(key_revocation_object(REG), REG),
        registry_key=None,
    )
    add(
        "key_rotation_to_itself",
        "verify_token",
        "MalformedToken",
        "A key rotation whose successor is the key itself.",
        token=raw_token(
            jcs({"type": "key-rotation", "v": 1, "key": ALICE.did, "next": ALICE.did, "iat": NOW}),
            ALICE,
            type_name="key-rotation",
        ),
        type="key-rotation",
        key=None,
    )
    rotation = {
        "type": "registry-key-rotation",
        "v": 1,
        "reg": REGISTRY,
        "key": REG.did,
        "next": REG_NEXT.did,
        "from": NOW,
        "iat": NOW,
    }
    add(
        "registry_key_rotation_to_itself",
        "verify_registry_key_rotation",
        "MalformedToken",
        "A registry key rotation whose successor is the key itself.",
        token=raw_token(jcs(rotation | {"next": REG.did}), REG, type_name="registry-key-rotation"),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "registry_key_rotation_from_before_iat",
        "verify_registry_key_rotation",
        "MalformedToken",
        "A registry key rotation taking effect before it was made.",
        token=raw_token(jcs(rotation | {"from": NOW - 1}), REG, type_name="registry-key-rotation"),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "registry_key_rotation_signed_by_successor",
        "verify_registry_key_rotation",
        "BadSignature",
        "A rotation naming the pinned key, signed by the successor: an unsigned key change.",
        token=raw_token(jcs(rotation), REG_NEXT, type_name="registry-key-rotation"),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "registry_key_rotation_other_registry",
        "verify_registry_key_rotation",
        "MalformedToken",
        "A rotation signed by the pinned key, for another registry.",
        token=raw_token(
            jcs(rotation | {"reg": "https://other-registry.example"}),
            REG,
            type_name="registry-key-rotation",
        ),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "registry_key_rotation_as_key_rotation",
        "verify_token",
        "WrongTokenType",
        "A registry key rotation given where an endorser's key rotation is expected.",
        token=sign(
            RegistryKeyRotation(
                registry=REGISTRY,
                key=REG.did,
                successor=REG_NEXT.did,
                valid_from=NOW,
                issued_at=NOW,
            ),
            REG,
        ),
        type="key-rotation",
        key=None,
    )
    add(
        "presentation_short_nonce",
        "verify_token",
        "MalformedToken",
        "A presentation whose nonce has 15 characters (minimum 16).",
        token=raw_token(
            jcs(
                payload_of(
                    Presentation(
                        key=BOB.did,
                        token_hash=token_hash(endorsement_token),
                        nonce=NONCE,
                        issued_at=NOW,
                    ),
                    nonce="a" * 15,
                )
            ),
            BOB,
            type_name="presentation",
        ),
        type="presentation",
        key=None,
    )
    add(
        "receipt_unknown_verdict",
        "verify_receipt",
        "MalformedToken",
        "A receipt whose verdict is not one of the twelve.",
        token=raw_token(
            jcs(
                payload_of(
                    Receipt(
                        registry=REGISTRY,
                        token_hash=token_hash(endorsement_token),
                        verdict="valid",
                        checked_at=NOW,
                    ),
                    verdict="ok",
                )
            ),
            REG,
            type_name="receipt",
        ),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "key_binding_other_registry_and_wrong_key",
        "verify_key_binding",
        "BadSignature",
        "A key binding of another registry, signed by another key than the registry's: the"
        " signature is checked first (spec §6.1), so the error is the signature's.",
        token=sign(
            replace(
                binding_object(ALICE, ISSUER_EMAIL, "Alice Example"),
                registry="https://other-registry.example",
            ),
            CAROL,
        ),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    for bit in (5, 6, 7):
        add(
            f"status_list_gzip_reserved_flag_{bit}",
            "verify_status_list",
            "MalformedToken",
            f"gzip header flag bit {bit} (reserved, RFC 1952 §2.3.1) set.",
            token=status(gzip_header_variant(good_gzip, 1 << bit)),
            registry_key=REG.did,
            registry=REGISTRY,
        )
    header_crc = zlib.crc32(good_gzip[:3] + bytes((FHCRC,)) + good_gzip[4:10]) & 0xFFFF
    add(
        "status_list_gzip_header_crc_wrong",
        "verify_status_list",
        "MalformedToken",
        "gzip header with FHCRC whose CRC-16 does not match the header bytes.",
        token=status(gzip_header_variant(good_gzip, FHCRC, crc=header_crc ^ 1)),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    add(
        "key_binding_unknown_method",
        "verify_key_binding",
        "MalformedToken",
        "A key binding whose method is not 'email-code'.",
        token=raw_token(
            jcs(
                payload_of(
                    binding_object(ALICE, ISSUER_EMAIL, "Alice Example"),
                    method="sms-code",
                )
            ),
            REG,
            type_name="key-binding",
        ),
        registry_key=REG.did,
        registry=REGISTRY,
    )
    return out


def verification_file() -> dict[str, Any]:
    return {
        "description": (
            "Cases for verify_endorsement (spec §6.3) and, under 'decoding', for the decoding"
            " and trust functions (spec §3.4, §6.1). The format, including how to rebuild the"
            " trusted inputs of each case from 'issuers', 'key_bindings' (a binding and its"
            " key revocations), 'status_lists' (newest per list id wins) and 'registration',"
            " is defined in spec/protocol.md §9."
        ),
        "registry": {"url": REGISTRY, "key": REG.did},
        "verdicts": sorted(
            [
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
            ]
        ),
        "cases": verification_cases(),
        "decoding": decoding_cases(),
    }


# --- claims.json (spec §4.11-§4.13, §6.4) -------------------------------------------------

REFUSAL_SENTENCE = (
    "Alice Example states that they do not give a reference for Bob Jones for employment-reference."
)
STANDING_SENTENCE = "Alice Example states that they do not give a reference for Bob Jones."
REFUSAL_SCOPE_SENTENCES = {
    "subject_mismatch": (
        "This refusal is about someone other than the person asked about;"
        " it says nothing about them."
    ),
    "purpose_not_allowed": (
        "This refusal is for another purpose than the one asked about;"
        " it says nothing about this use."
    ),
}
"""Spec §6.4: a refusal failing step 7 has its own sentence, not the endorsement's."""


def refusal_payload(**changes: Any) -> dict[str, Any]:
    """The answering refusal's payload with members replaced (``None`` deletes a member)."""
    return payload_of(REFUSAL_ANSWER, **changes)


def refusal_case(
    name: str,
    token: str,
    verdict: str,
    description: str,
    *,
    now: int = NOW,
    clock_skew: int = SKEW,
    issuers: list[dict[str, Any]] | None = None,
    key_bindings: list[dict[str, str | None]] | None = None,
    subject: str | None = None,
    purpose: str | None = None,
    sentence: str | None = None,
    expected_error: str | None = None,
) -> dict[str, Any]:
    assert (sentence is not None) is (verdict == "refused"), name
    sentence = REFUSAL_SCOPE_SENTENCES.get(verdict, sentence)
    assert (expected_error is not None) is (verdict in {"malformed", "bad_signature"}), name
    return {
        "name": name,
        "description": description,
        "token": token,
        "now": now,
        "clock_skew": clock_skew,
        "issuers": [issuer_entry()] if issuers is None else issuers,
        "key_bindings": key_bindings or [],
        "expect": {"subject": subject, "purpose": purpose},
        "expected_verdict": verdict,
        "expected_sentence": sentence,
        "expected_error": expected_error,
    }


def refusal_cases() -> list[dict[str, Any]]:
    answer = sign(REFUSAL_ANSWER, ALICE)
    standing = sign(REFUSAL_STANDING, ALICE)
    answer_payload = jcs(REFUSAL_ANSWER.to_payload())
    _, answer_64, answer_sig = parts(answer)
    iat, exp = REFUSAL_ANSWER.issued_at, REFUSAL_ANSWER.expires

    def crafted(payload: dict[str, Any], key: SigningKey = ALICE, **kw: Any) -> str:
        return raw_token(jcs(payload), key, type_name="refusal", **kw)

    binding = {"binding": key_binding(ALICE, ISSUER_EMAIL, "Alice Example"), "revocations": []}
    tampered = jcs(refusal_payload(iss_name="Alice Exampie"))
    flipped_sig = b64url_decode_fixed(answer_sig)
    flipped_sig = flipped_sig[:10] + bytes([flipped_sig[10] ^ 1]) + flipped_sig[11:]
    http_context_sig = ALICE.sign(b"endorse/v1/request\0" + answer_payload)
    endorsement_token = sign(endorsement("base"), ALICE)
    noncanonical = json.dumps(REFUSAL_ANSWER.to_payload(), separators=(",", ":")).encode()
    assert noncanonical != answer_payload  # insertion order, not sorted
    return [
        refusal_case(
            "refusal_answer",
            answer,
            "refused",
            "A genuine refusal answering a request, checked for its subject and purpose.",
            subject="bob@example.com",
            purpose="employment-reference",
            sentence=REFUSAL_SENTENCE,
        ),
        refusal_case(
            "refusal_no_expectations",
            answer,
            "refused",
            "A genuine refusal with no subject or purpose expected.",
            sentence=REFUSAL_SENTENCE,
        ),
        refusal_case(
            "refusal_standing_any_purpose",
            standing,
            "refused",
            "A standing refusal names no purpose: it refuses for every purpose, so any"
            " expected purpose matches.",
            subject="Bob Jones",
            purpose="tenancy-reference",
            sentence=STANDING_SENTENCE,
        ),
        refusal_case(
            "refusal_subject_normalized",
            answer,
            "refused",
            "The expected subject matches sub.name after NFKC, case folding and whitespace"
            " collapsing (as §6.3 step 8a).",
            subject="  BOB\u3000jones ",
            sentence=REFUSAL_SENTENCE,
        ),
        refusal_case(
            "refusal_issuer_by_key_binding",
            answer,
            "refused",
            "The referee's key is trusted through a registry key binding.",
            issuers=[],
            key_bindings=[binding],
            sentence=REFUSAL_SENTENCE,
        ),
        refusal_case(
            "refusal_issuer_pinned",
            answer,
            "refused",
            "The referee's key is pinned by the verifier (no identity).",
            issuers=[issuer_entry(identity=None)],
            sentence=REFUSAL_SENTENCE,
        ),
        refusal_case(
            "refusal_in_force_within_skew_after_exp",
            answer,
            "refused",
            "now = exp + clock_skew - 1: still in force.",
            now=exp + SKEW - 1,
            sentence=REFUSAL_SENTENCE,
        ),
        refusal_case(
            "refusal_in_force_within_skew_before_iat",
            answer,
            "refused",
            "now = iat - clock_skew: already in force.",
            now=iat - SKEW,
            sentence=REFUSAL_SENTENCE,
        ),
        refusal_case(
            "refusal_expired",
            answer,
            "expired",
            "now = exp + clock_skew: expired.",
            now=exp + SKEW,
        ),
        refusal_case(
            "refusal_not_yet_valid",
            answer,
            "not_yet_valid",
            "now = iat - clock_skew - 1: a refusal from the future.",
            now=iat - SKEW - 1,
        ),
        refusal_case(
            "refusal_purpose_other",
            answer,
            "purpose_not_allowed",
            "The refusal is for employment-reference only; the verifier asks about"
            " tenancy-reference.",
            purpose="tenancy-reference",
        ),
        refusal_case(
            "refusal_subject_mismatch",
            answer,
            "subject_mismatch",
            "The verifier asks about someone the refusal does not name.",
            subject="carol@example.net",
        ),
        refusal_case(
            "refusal_subject_key_is_not_a_name",
            answer,
            "subject_mismatch",
            "sub.key is not compared with the expected subject (only name, email, handle).",
            subject=BOB.did,
        ),
        refusal_case(
            "refusal_unknown_issuer",
            answer,
            "unknown_issuer",
            "The verifier trusts another key only.",
            issuers=[issuer_entry(CAROL, "carol@example.net")],
        ),
        refusal_case(
            "refusal_issuer_entry_key_differs",
            answer,
            "unknown_issuer",
            "The issuers mapping lists Carol's key under Alice's did:key.",
            issuers=[issuer_entry(CAROL, "carol@example.net", listed_as=ALICE)],
        ),
        refusal_case(
            "refusal_issuer_key_revoked",
            answer,
            "issuer_key_revoked",
            "The referee's key is revoked from a time after the refusal's iat: a refusal"
            " has no registration, and its own iat proves nothing.",
            issuers=[issuer_entry(revoked_from=NOW)],
        ),
        refusal_case(
            "refusal_tampered_payload",
            crafted_parts("refusal-v1", tampered, answer_sig),
            "bad_signature",
            "One letter of iss_name changed after signing.",
            expected_error="BadSignature",
        ),
        refusal_case(
            "refusal_tampered_signature",
            crafted_parts("refusal-v1", answer_payload, b64url_encode(flipped_sig)),
            "bad_signature",
            "One bit of the signature flipped.",
            expected_error="BadSignature",
        ),
        refusal_case(
            "refusal_signed_by_other_key",
            crafted(REFUSAL_ANSWER.to_payload(), CAROL),
            "bad_signature",
            "iss names Alice; Carol signed.",
            expected_error="BadSignature",
        ),
        refusal_case(
            "refusal_wrong_context_endorsement",
            crafted(REFUSAL_ANSWER.to_payload(), context="endorsement"),
            "bad_signature",
            "Signed with the endorsement context instead of the refusal context.",
            expected_error="BadSignature",
        ),
        refusal_case(
            "refusal_wrong_context_reference_request",
            crafted(REFUSAL_ANSWER.to_payload(), context="reference-request"),
            "bad_signature",
            "Signed with the reference-request context.",
            expected_error="BadSignature",
        ),
        refusal_case(
            "refusal_wrong_context_signed_request",
            crafted_parts("refusal-v1", answer_payload, b64url_encode(http_context_sig)),
            "bad_signature",
            "Signed with the signed-request context endorse/v1/request (§10).",
            expected_error="BadSignature",
        ),
        refusal_case(
            "endorsement_token_as_refusal",
            endorsement_token,
            "malformed",
            "A genuine endorsement given where a refusal is expected (type confusion).",
            expected_error="WrongTokenType",
        ),
        refusal_case(
            "refusal_token_under_endorsement_prefix",
            crafted(REFUSAL_ANSWER.to_payload(), prefix="endorsement-v1"),
            "malformed",
            "A refusal payload, signed under the refusal context, with the endorsement prefix.",
            expected_error="WrongTokenType",
        ),
        refusal_case(
            "endorsement_payload_under_refusal_prefix",
            raw_token(
                jcs(endorsement("base").to_payload()),
                ALICE,
                type_name="refusal",
            ),
            "malformed",
            "An endorsement payload signed under the refusal context with the refusal prefix:"
            " its type member says endorsement.",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_bad_reason",
            crafted(refusal_payload(reason="busy")),
            "malformed",
            "reason is not one of not_known, no_reference, prefer_not_to_say.",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_reason_null",
            crafted(refusal_payload(reason=JSON_NULL)),
            "malformed",
            "reason is null instead of absent.",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_unknown_member",
            crafted(refusal_payload(stmt="I would rather not.")),
            "malformed",
            "A member refusals do not have (free text).",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_purposes_array",
            crafted(refusal_payload(purpose=None, purposes=["employment-reference"])),
            "malformed",
            "An endorsement's purposes array instead of one purpose.",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_purpose_unknown",
            crafted(refusal_payload(purpose="hiring")),
            "malformed",
            "purpose is neither defined nor x-.",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_exp_beyond_five_years",
            crafted(refusal_payload(exp=iat + MAX_VALIDITY + 1)),
            "malformed",
            "exp - iat = 157852801.",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_exp_equals_iat",
            crafted(refusal_payload(exp=iat)),
            "malformed",
            "exp - iat = 0.",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_missing_iss_name",
            crafted(refusal_payload(iss_name=None)),
            "malformed",
            "iss_name is required.",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_subject_without_email_or_handle",
            crafted(refusal_payload(sub={"name": "Bob Jones"})),
            "malformed",
            "sub needs an email or a handle besides the name.",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_req_not_an_id",
            crafted(refusal_payload(req="request-1")),
            "malformed",
            "req is not an id (16 bytes, canonical base64url).",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_iss_name_not_nfc",
            crafted(refusal_payload(iss_name="Ame\u0301lie Example")),
            "malformed",
            "iss_name in NFD (e + combining acute).",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_version_2",
            crafted(refusal_payload(v=2)),
            "malformed",
            "v is 2.",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_prefix_v2",
            crafted(REFUSAL_ANSWER.to_payload(), prefix="refusal-v2"),
            "malformed",
            "The prefix names protocol version 2.",
            expected_error="MalformedToken",
        ),
        refusal_case(
            "refusal_noncanonical_json",
            crafted_parts(
                "refusal-v1",
                noncanonical,
                b64url_encode(ALICE.sign(signing_context("refusal") + noncanonical)),
            ),
            "malformed",
            "Correctly signed, but the payload's members are not in canonical order.",
            expected_error="NonCanonicalEncoding",
        ),
        refusal_case(
            "refusal_too_long",
            "refusal-v1." + answer_64 + "A" * (8193 - len(answer)) + "." + answer_sig,
            "malformed",
            "8193 characters: longer than the refusal token limit of 8192.",
            expected_error="MalformedToken",
        ),
    ]


def b64url_decode_fixed(text: str) -> bytes:
    """Decode canonical base64url (the vectors' own, already checked, strings)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def crafted_parts(prefix: str, payload: bytes, signature64: str) -> str:
    return ".".join((prefix, b64url_encode(payload), signature64))


def claims_decoding_cases() -> list[dict[str, Any]]:
    request = REFERENCE_REQUEST
    policy = POLICY
    request_token = sign(request, REG)
    policy_token = sign(policy, ALICE)
    out: list[dict[str, Any]] = []

    def add(name: str, function: str, error: str, description: str, **args: Any) -> None:
        out.append(
            {
                "name": name,
                "description": description,
                "function": function,
                "args": args,
                "expected_error": error,
            }
        )

    def request_args(payload: dict[str, Any], key: SigningKey = REG, **kw: Any) -> dict[str, Any]:
        return {
            "token": raw_token(jcs(payload), key, type_name="reference-request", **kw),
            "registry": REGISTRY,
            "registry_key": REG.did,
        }

    def req(**changes: Any) -> dict[str, Any]:
        return payload_of(request, **changes)

    iat = request.issued_at
    by = request.to_payload()["by"]
    cases_rr: list[tuple[str, str, str, dict[str, Any]]] = [
        (
            "reference_request_exp_beyond_30_days",
            "MalformedToken",
            "exp - iat = 2592001: longer than 30 days.",
            request_args(req(exp=iat + 30 * DAY + 1)),
        ),
        (
            "reference_request_exp_equals_iat",
            "MalformedToken",
            "exp - iat = 0.",
            request_args(req(exp=iat)),
        ),
        (
            "reference_request_key_binding_without_key",
            "MalformedToken",
            "by.method is key-binding but by.key is absent.",
            request_args(req(by={k: v for k, v in by.items() if k != "key"})),
        ),
        (
            "reference_request_email_code_with_key",
            "MalformedToken",
            "by.method is email-code but by.key is present.",
            request_args(req(by=by | {"method": "email-code"})),
        ),
        (
            "reference_request_unknown_method",
            "MalformedToken",
            "by.method is not email-code or key-binding.",
            request_args(req(by=by | {"method": "password"})),
        ),
        (
            "reference_request_referee_not_email",
            "MalformedToken",
            "referee is not an e-mail address.",
            request_args(req(referee="Alice Example")),
        ),
        (
            "reference_request_purposes_array",
            "MalformedToken",
            "An endorsement's purposes array instead of one purpose.",
            request_args(req(purpose=None, purposes=["employment-reference"])),
        ),
        (
            "reference_request_aud_null",
            "MalformedToken",
            "aud is null instead of absent.",
            request_args(req(aud=JSON_NULL)),
        ),
        (
            "reference_request_signed_by_endorser",
            "BadSignature",
            "Signed by an endorser's key, not the registry's.",
            request_args(request.to_payload(), ALICE),
        ),
        (
            "reference_request_wrong_context",
            "BadSignature",
            "Signed by the registry with the key-binding context.",
            request_args(request.to_payload(), context="key-binding"),
        ),
        (
            "reference_request_tampered",
            "BadSignature",
            "The purpose changed after signing.",
            {
                "token": crafted_parts(
                    "reference-request-v1",
                    jcs(req(purpose="character-reference")),
                    parts(request_token)[2],
                ),
                "registry": REGISTRY,
                "registry_key": REG.did,
            },
        ),
        (
            "reference_request_other_registry",
            "MalformedToken",
            "Correctly signed by the registry key, but expected from another registry URL.",
            {
                "token": request_token,
                "registry": "https://other-registry.example",
                "registry_key": REG.did,
            },
        ),
        (
            "endorsement_as_reference_request",
            "WrongTokenType",
            "An endorsement token given where a reference request is expected.",
            {
                "token": sign(endorsement("base"), ALICE),
                "registry": REGISTRY,
                "registry_key": REG.did,
            },
        ),
    ]
    for name, error, description, args in cases_rr:
        add(name, "verify_reference_request", error, description, **args)

    def pol(**changes: Any) -> str:
        return raw_token(jcs(payload_of(policy, **changes)), ALICE, type_name="policy")

    trusted = [issuer_entry()]
    cases_policy: list[tuple[str, str, str, str, list[dict[str, Any]]]] = [
        (
            "policy_tampered",
            "BadSignature",
            "notify flipped after signing.",
            crafted_parts(
                "policy-v1", jcs(payload_of(policy, notify=False)), parts(policy_token)[2]
            ),
            trusted,
        ),
        (
            "policy_wrong_context",
            "BadSignature",
            "Signed with the refusal context.",
            raw_token(jcs(policy.to_payload()), ALICE, type_name="policy", context="refusal"),
            trusted,
        ),
        (
            "policy_signed_by_other_key",
            "BadSignature",
            "iss names Alice; Carol signed.",
            raw_token(jcs(policy.to_payload()), CAROL, type_name="policy"),
            trusted,
        ),
        (
            "policy_unknown_key",
            "BadSignature",
            "A genuine policy of a key the verifier does not trust.",
            policy_token,
            [issuer_entry(CAROL, "carol@example.net")],
        ),
        (
            "policy_key_revoked",
            "BadSignature",
            "A genuine policy of a key revoked since: a policy has no registration.",
            policy_token,
            [issuer_entry(revoked_from=NOW)],
        ),
        (
            "policy_refs_other",
            "MalformedToken",
            "refs is not signed-tokens-only.",
            pol(refs="any"),
            trusted,
        ),
        (
            "policy_notify_integer",
            "MalformedToken",
            "notify is 1, not a boolean.",
            pol(notify=1),
            trusted,
        ),
        (
            "policy_with_exp",
            "MalformedToken",
            "A member policies do not have.",
            pol(exp=NOW + YEAR),
            trusted,
        ),
        (
            "refusal_as_policy",
            "WrongTokenType",
            "A refusal token given where a policy is expected.",
            sign(REFUSAL_ANSWER, ALICE),
            trusted,
        ),
    ]
    for name, error, description, token, issuers in cases_policy:
        add(name, "verify_policy", error, description, token=token, issuers=issuers)
    return out


def claims_file() -> dict[str, Any]:
    cases = refusal_cases()
    return {
        "description": (
            "Claimed references (spec §4.11-§4.13, §6.4). 'refusal_cases' are cases for"
            " verify_refusal: rebuild the trusted issuers as for verification.json ('issuers'"
            " listed under 'listed_as'; 'key_bindings' checked with the registry key), pass"
            " 'expect' (subject, purpose), 'now' and 'clock_skew', and compare the verdict;"
            " for 'refused', 'subject_mismatch' and 'purpose_not_allowed' the sentence (§6.4)"
            " must equal 'expected_sentence' (null for the other verdicts). Where"
            " 'expected_error' is set, verify_token(token, refusal) must raise exactly that"
            " exception class. 'decoding' cases call verify_reference_request (token,"
            " registry, registry_key) or verify_policy (token, issuers as in refusal_cases)"
            " and expect the exception class."
        ),
        "registry": {"url": REGISTRY, "key": REG.did},
        "verdicts": sorted({c["expected_verdict"] for c in cases}),
        "refusal_cases": cases,
        "decoding": claims_decoding_cases(),
    }


# --- paste.json (spec §11.5) ----------------------------------------------------------------

PASTE_TOKEN = "endorsement-v1.eyJ2IjoxLCJ0eXAiOiJlbmRvcnNlbWVudCJ9.c2lnbmF0dXJlX29mXzY0X2J5dGVz"
"""A token's outline: what a paste is read for (the reading never verifies anything)."""
PASTE_SHORT_ID = "AAECAwQFBgcICQoLDA0ODw"
"""A short link's id (§11.6): the 16 bytes 00..0f in base64url."""


def paste_cases() -> list[dict[str, Any]]:
    """Named pastes, each with the token and registry read from it, or the error."""
    t = PASTE_TOKEN
    r = "https://registry.example"
    canonical = f"{r}/v#{t}"
    head, tail = canonical[:40], canonical[40:]

    def ok(name: str, text: str, registry: str | None = r, token: str = t) -> dict[str, Any]:
        return {"name": name, "input": text, "token": token, "registry": registry, "link": None}

    def short(
        name: str, text: str, registry: str = r, link: str = PASTE_SHORT_ID
    ) -> dict[str, Any]:
        return {"name": name, "input": text, "token": None, "registry": registry, "link": link}

    def bad(name: str, text: str) -> dict[str, Any]:
        return {"name": name, "input": text, "error": "UnreadablePaste"}

    return [
        ok("bare_token", t, None),
        ok("token_with_whitespace_around", f"  \n\t{t} \r\n", None),
        ok("canonical_link", canonical),
        ok("path_link", f"{r}/v/{t}"),
        ok("link_in_angle_brackets", f"<{canonical}>"),
        ok("link_then_full_stop", f"{canonical}."),
        ok("link_in_parentheses_then_comma", f"({canonical}),"),
        ok("link_in_double_quotes", f'"{canonical}"'),
        ok("link_in_typographic_quotes", f"\u201c{canonical}\u201d"),
        ok("token_in_single_quotes_then_semicolon", f"'{t}';", None),
        ok("link_wrapped_crlf", f"{head}\r\n{tail}"),
        ok("link_wrapped_lf_indented", f"{head}\n    {tail}"),
        ok("token_wrapped_three_times", f"{t[:20]}\n{t[20:40]}\n{t[40:60]}\n{t[60:]}", None),
        ok("quoted_printable_soft_breaks", f"{head}=\r\n{tail[:30]}=\r\n{tail[30:]}"),
        ok("quoted_printable_soft_break_lf", f"{head}=\n{tail}"),
        ok("wrapped_in_angle_brackets", f"<{head}\r\n {tail}>"),
        ok("upper_case_scheme_and_host", f"HTTPS://Registry.Example/v#{t}"),
        ok(
            "registry_with_path",
            f"https://example.org/endorse/v#{t}",
            "https://example.org/endorse",
        ),
        ok("loopback_http_registry", f"http://127.0.0.1:8000/v/{t}", "http://127.0.0.1:8000"),
        ok(
            "damaged_token_kept_as_it_is",
            f"{r}/v#{t[:-3]}xyz",
            token=f"{t[:-3]}xyz",
        ),
        bad("empty", ""),
        bad("only_punctuation_and_whitespace", " <> .\n"),
        bad("prose", "please find my reference attached"),
        bad("space_inside_a_token_is_not_wrapping", f"{t[:20]} {t[20:]}"),
        bad("markup", "<b>endorsement</b>"),
        bad("padding_equals_sign_is_not_a_soft_break", f"{t[:-2]}==."),
        bad("link_without_token", f"{r}/v#"),
        bad("link_to_another_page", f"{r}/check"),
        bad("link_with_two_path_segments", f"{r}/v/{t}/more"),
        bad("link_with_query", f"{r}/v?t={t}"),
        bad("percent_encoded_token_is_not_decoded", f"{r}/v#{t[:-1]}%41"),
        bad("http_link_off_loopback", f"http://registry.example/v#{t}"),
        short("short_link", f"{r}/s#{PASTE_SHORT_ID}"),
        short("short_link_in_angle_brackets_then_full_stop", f"<{r}/s#{PASTE_SHORT_ID}>."),
        short("short_link_wrapped_crlf", f"{r}/s#{PASTE_SHORT_ID[:9]}\r\n{PASTE_SHORT_ID[9:]}"),
        short(
            "short_link_upper_case_scheme_and_host", f"HTTPS://Registry.Example/s#{PASTE_SHORT_ID}"
        ),
        short(
            "short_link_registry_with_path",
            f"https://example.org/endorse/s#{PASTE_SHORT_ID}",
            "https://example.org/endorse",
        ),
        bad("short_link_id_in_the_path", f"{r}/s/{PASTE_SHORT_ID}"),
        bad("short_link_id_too_short", f"{r}/s#{PASTE_SHORT_ID[:-1]}"),
        bad("short_link_id_not_canonical", f"{r}/s#{PASTE_SHORT_ID[:-1]}B"),
        bad("short_link_with_query", f"{r}/s?id={PASTE_SHORT_ID}"),
        bad("short_link_without_id", f"{r}/s#"),
        bad("short_link_http_off_loopback", f"http://registry.example/s#{PASTE_SHORT_ID}"),
    ]


def paste_file() -> dict[str, Any]:
    return {
        "description": "spec §11.5: what a front end reads out of a paste. 'input' is the text as"
        " pasted; 'token' and 'registry' (null for a bare token) what is read, and for a short"
        " link (spec §11.6) 'link' its id (null otherwise) with 'token' null; or 'error' the"
        " class of the error when nothing can be.",
        "cases": paste_cases(),
    }


# --- the portable form (spec §13) -----------------------------------------------------------


def vc_case(
    name: str, credential: Any, verdict: str, description: str, **options: Any
) -> dict[str, Any]:
    """A credential verification case (spec §13.5); the trusted facts are those of
    :func:`case`: Alice bound, the fresh status list of ``vectors-1``."""
    return {
        "name": name,
        "description": description,
        "credential": credential,
        "now": options.pop("now", NOW),
        "clock_skew": SKEW,
        "issuers": options.pop("issuers", [issuer_entry()]),
        "status_lists": options.pop("status_lists", [FRESH_LIST]),
        "expect": {
            "subject": options.pop("subject", None),
            "purpose": options.pop("purpose", None),
            "audience": options.pop("audience", None),
        },
        "expected_verdict": verdict,
    }


def vc_file() -> dict[str, Any]:
    full_token = sign(ENDORSEMENT_FULL, ALICE)
    full = vc.endorsement_credential(ENDORSEMENT_FULL, ALICE)
    unsigned = {k: v for k, v in full.items() if k != "proof"}
    options = {k: v for k, v in full["proof"].items() if k != "proofValue"}
    email_only = endorsement("vc-email", subject=Subject(name="Bob Jones", email="bob@example.com"))
    email_token = sign(email_only, ALICE)
    by_email = vc.endorsement_credential(email_only, ALICE)
    revoked = endorsement("vc-revoked", status=status_ref(INDEX_REVOKED))
    revoked_credential = vc.endorsement_credential(revoked, ALICE)
    # The endorser's status list credential: its bits by the script's own deflate (§9).
    list_url = vc.status_list_url(REGISTRY, ALICE.did, LIST_ID)
    gzipped = gzip_fixed(bitstring(LIST_SIZE, (INDEX_REVOKED,)))
    status_credential = vc.sign_jcs(
        {
            "@context": [vc.VC_CONTEXT],
            "id": list_url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": ALICE.did,
            "validFrom": vc.date_time(NOW - 600),
            "credentialSubject": {
                "id": list_url + "#list",
                "type": "BitstringStatusList",
                "statusPurpose": "revocation",
                "encodedList": "u" + b64url_encode(gzipped),
            },
        },
        ALICE,
        created=vc.date_time(NOW - 600),
    )
    tampered = json.loads(json.dumps(full))
    tampered["credentialSubject"]["allowedPurposes"] = ["employment-reference", "x-other"]
    undefined = json.loads(json.dumps(unsigned))
    undefined["credentialSubject"]["subjectNme"] = undefined["credentialSubject"].pop("subjectName")
    undefined = vc.sign_jcs(undefined, ALICE, created=full["proof"]["created"])
    by_carol = vc.sign_jcs(unsigned, CAROL, created=full["proof"]["created"])
    minute = 60
    cases = [
        vc_case("vc_valid_full", full, "valid", "every optional member", audience=AUDIENCE),
        vc_case(
            "vc_valid_subject_by_email_digest",
            by_email,
            "valid",
            "no subject key: the expected address matches the salted digest",
            subject="BOB@example.com",
        ),
        vc_case(
            "vc_subject_mismatch",
            by_email,
            "subject_mismatch",
            "another address does not match the digest",
            subject="carol@example.com",
        ),
        vc_case("vc_revoked", revoked_credential, "revoked", "bit 42 of vectors-1 is set"),
        vc_case(
            "vc_tampered",
            tampered,
            "bad_signature",
            "a purpose added after signing",
            audience=AUDIENCE,
        ),
        vc_case("vc_undefined_term", undefined, "malformed", "subjectNme: no context defines it"),
        vc_case(
            "vc_wrong_issuer",
            by_carol,
            "bad_signature",
            "names Alice, proof by Carol's key",
            audience=AUDIENCE,
        ),
        vc_case(
            "vc_expired",
            full,
            "expired",
            "past validUntil (beyond the clock skew)",
            now=ENDORSEMENT_FULL.expires + SKEW + minute,
            status_lists=[status_list_token(ENDORSEMENT_FULL.expires + SKEW, 3600)],
            audience=AUDIENCE,
        ),
        vc_case(
            "vc_not_yet_valid",
            full,
            "not_yet_valid",
            "before validFrom",
            now=IAT,
            audience=AUDIENCE,
        ),
        vc_case(
            "vc_unknown_issuer",
            full,
            "unknown_issuer",
            "Alice not trusted",
            issuers=[],
            audience=AUDIENCE,
        ),
        vc_case(
            "vc_purpose_not_allowed",
            full,
            "purpose_not_allowed",
            "tenancy is not among its purposes",
            purpose="tenancy-reference",
            audience=AUDIENCE,
        ),
        vc_case("vc_audience_mismatch", full, "audience_mismatch", "no audience given"),
        vc_case(
            "vc_status_unavailable",
            full,
            "status_unavailable",
            "only a stale list",
            status_lists=[STALE_LIST],
            audience=AUDIENCE,
        ),
    ]
    return {
        "description": (
            "Portable form (spec §13): EndorsementCredentials made from the vector endorsements"
            " by the issuer key of keys.json, the eddsa-jcs-2022 intermediate values of the"
            " full one, the endorser's status list credential, and verification cases with the"
            " trusted facts of verification.json (registry, issuer entries, status list tokens)."
        ),
        "registry": REGISTRY,
        "context": vc.ENDORSE_CONTEXT,
        "full": {
            "token": full_token,
            "credential": full,
            "canonical_document": vc.jcs(unsigned).decode(),
            "canonical_proof_options": vc.jcs(options).decode(),
            "hash_data_hex": (
                hashlib.sha256(vc.jcs(options)).digest() + hashlib.sha256(vc.jcs(unsigned)).digest()
            ).hex(),
        },
        "subject_digest": {
            "token": email_token,
            "credential_id": by_email["id"],
            "identifier": "bob@example.com",
            "digest": by_email["credentialSubject"]["id"],
        },
        "status_list_credential": {"credential": status_credential, "revoked": [INDEX_REVOKED]},
        "cases": cases,
    }


# --- driver ---------------------------------------------------------------------------------


def render(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def build() -> dict[str, str]:
    """File name -> exact text of every vector file."""
    return {
        "keys.json": render(keys_file()),
        "valid.json": render(valid_file()),
        "verification.json": render(verification_file()),
        "claims.json": render(claims_file()),
        "vc.json": render(vc_file()),
        "paste.json": render(paste_file()),
    }


def check(files: dict[str, str], out_dir: pathlib.Path = OUT_DIR) -> list[str]:
    """Differences between ``files`` and what is on disk, one summary per differing file."""
    problems = []
    for name, text in files.items():
        path = out_dir / name
        if not path.exists():
            problems.append(f"{name}: missing")
            continue
        committed = path.read_text(encoding="utf-8")
        if committed != text:
            diff = list(
                difflib.unified_diff(
                    committed.splitlines(),
                    text.splitlines(),
                    "committed",
                    "generated",
                    n=0,
                    lineterm="",
                )
            )
            shown = "\n".join(line[:160] for line in diff[:12])
            problems.append(f"{name}: {len(diff)} diff lines\n{shown}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    files = build()
    if args.check:
        problems = check(files)
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print("vectors are stale: run python scripts/gen_vectors.py", file=sys.stderr)
            return 1
        return 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(files)} to {OUT_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
