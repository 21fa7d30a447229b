"""A second refusal verifier, written from spec/protocol.md alone, agrees with every vector.

Nothing here imports ``endorse``: the verifier below follows §2 (encodings), §3 (tokens),
§4.1, §4.2 (``sub``, purposes), §4.6 (key bindings, for the one case that trusts a key through
one), §4.12 (refusal) and §6.1/§6.4 (trusted inputs, the algorithm), using only the standard
library, PyNaCl (libsodium's Ed25519 and point check) and the vector files. If the spec leaves
out something a second implementation needs, a case here disagrees.
"""

from __future__ import annotations

import json
import pathlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.signing
import pytest

VECTORS = pathlib.Path(__file__).resolve().parent.parent / "spec" / "vectors"
CLAIMS = json.loads((VECTORS / "claims.json").read_text(encoding="utf-8"))
VALID = json.loads((VECTORS / "valid.json").read_text(encoding="utf-8"))
REGISTRY_URL = CLAIMS["registry"]["url"]
REGISTRY_DID = CLAIMS["registry"]["key"]


class Refused(Exception):
    """A token defect: ``verdict`` is ``malformed`` or ``bad_signature``."""

    def __init__(self, verdict: str, why: str) -> None:
        super().__init__(f"{verdict}: {why}")
        self.verdict = verdict


def malformed(why: str) -> Refused:
    return Refused("malformed", why)


# --- §2.1 base64url and base58btc ------------------------------------------------------------

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b64url_decode(text: str) -> bytes:
    if any(c not in B64 for c in text) or len(text) % 4 == 1:
        raise malformed("not base64url")
    bits, n, out = 0, 0, bytearray()
    for c in text:
        bits, n = (bits << 6) | B64.index(c), n + 6
        if n >= 8:
            n -= 8
            out.append((bits >> n) & 0xFF)
    if bits & ((1 << n) - 1):
        raise malformed("non-zero unused bits")
    return bytes(out)


def b58_decode(text: str) -> bytes:
    if not text or any(c not in B58 for c in text):
        raise malformed("not base58btc")
    value = 0
    for c in text:
        value = value * 58 + B58.index(c)
    body = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def b58_encode(data: bytes) -> str:
    value, out = int.from_bytes(data, "big"), ""
    while value:
        value, r = divmod(value, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


# --- §2.2 canonical JSON ---------------------------------------------------------------------

MAX_INT = 2**53 - 1


def _no_floats(_: str) -> Any:
    raise malformed("a floating-point number")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise malformed("duplicate member name")
        out[k] = v
    return out


def _escape(s: str) -> str:
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
    short["\r"] = "\\r"
    return "".join(short.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 else c) for c in s)


def serialise(value: Any) -> str:
    """JCS within the §2.2 domain."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return '"' + _escape(value) + '"'
    if type(value) is list:
        return "[" + ",".join(serialise(v) for v in value) + "]"
    return "{" + ",".join(serialise(k) + ":" + serialise(value[k]) for k in sorted(value)) + "}"


def _check_domain(value: Any, depth: int) -> None:
    if type(value) in (dict, list):
        if depth > 4:
            raise malformed("nested too deeply")
        items = value.items() if type(value) is dict else enumerate(value)
        for k, v in items:
            if type(k) is str and (not k.isascii()):
                raise malformed("non-ASCII member name")
            _check_domain(v, depth + 1)
    elif type(value) is int and not -MAX_INT <= value <= MAX_INT:
        raise malformed("integer out of range")
    elif type(value) is str and any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise malformed("lone surrogate")


def decode_canonical(payload: bytes, limit: int) -> Any:
    if len(payload) > limit or payload.startswith(b"\xef\xbb\xbf"):
        raise malformed("payload too long, or a byte-order mark")
    try:
        text = payload.decode("utf-8")
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_float=_no_floats,
            parse_constant=_no_floats,
        )
    except (UnicodeDecodeError, ValueError) as e:
        raise malformed(f"not JSON: {e}") from e
    _check_domain(value, 1)
    if serialise(value).encode("utf-8") != payload:
        raise malformed("not the canonical serialisation")
    return value


# --- §2.3 value formats ------------------------------------------------------------------------

IGNORABLE = [
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
]  # fmt: skip
BANNED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"}
EMAIL = re.compile(
    r"(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
ID = re.compile(r"[A-Za-z0-9_-]{21}[AQgw]")
PURPOSES = {
    "academic-reference",
    "character-reference",
    "employment-reference",
    "tenancy-reference",
    "volunteer-reference",
}
CUSTOM_PURPOSE = re.compile(r"x-[a-z0-9]+(-[a-z0-9]+)*")
REASONS = {"not_known", "no_reference", "prefer_not_to_say"}
WHITESPACE = (
    "\u0009\u000a\u000b\u000c\u000d\u001c\u001d\u001e\u001f\u0020\u0085\u00a0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def is_text(value: object, n: int) -> bool:
    if type(value) is not str or not 1 <= len(value) <= n or value != value.strip(" "):
        return False
    for c in value:
        if c != " " and unicodedata.category(c) in BANNED_CATEGORIES:
            return False
        if any(lo <= ord(c) <= hi for lo, hi in IGNORABLE):
            return False
    return unicodedata.is_normalized("NFC", value)


def is_ascii(value: object, n: int) -> bool:
    return type(value) is str and 1 <= len(value) <= n and all("!" <= c <= "~" for c in value)


def is_email(value: object) -> bool:
    return type(value) is str and len(value) <= 254 and EMAIL.fullmatch(value) is not None


def is_time(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_INT


def is_purpose(value: object) -> bool:
    return type(value) is str and (
        value in PURPOSES or (len(value) <= 42 and CUSTOM_PURPOSE.fullmatch(value) is not None)
    )


def is_registry(value: object) -> bool:
    # Only compared with the pinned URL here (§6.1), which is itself well-formed.
    return type(value) is str and value == REGISTRY_URL


# --- §2.4 keys and signatures ------------------------------------------------------------------


def key_from_did(did: object) -> bytes:
    if type(did) is not str or len(did) != 56 or not did.startswith("did:key:z"):
        raise malformed("not an Ed25519 did:key")
    raw = b58_decode(did[9:])
    if len(raw) != 34 or raw[:2] != b"\xed\x01" or "did:key:z" + b58_encode(raw) != did:
        raise malformed("not an Ed25519 did:key")
    key = raw[2:]
    # Canonical, on the curve, not of small order, in the prime-order subgroup.
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(key):
        raise malformed("not a valid Ed25519 public key")
    return key


def signature_ok(key: bytes, message: bytes, signature: bytes) -> bool:
    try:  # libsodium: S < L, cofactorless equation, canonical R
        nacl.signing.VerifyKey(key).verify(message, signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


# --- §3.1 compact tokens, §3.2 contexts --------------------------------------------------------

TYPES = {
    "endorsement", "revocation", "key-rotation", "key-revocation", "presentation",
    "key-binding", "status-list", "registration", "receipt", "reference-request",
    "refusal", "policy",
}  # fmt: skip


def context(type_name: str) -> bytes:
    return b"endorse/v1/" + type_name.encode("ascii") + b"\0"


def open_token(token: object, expected: str) -> tuple[dict[str, Any], bytes, bytes]:
    """§3.1 items 1-8: the payload object (schema not checked yet), its bytes, signature."""
    limit = 8192  # every type but status-list, which is never expected here
    if type(token) is not str or len(token) > limit:
        raise malformed("not a string of at most 8192 characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise malformed("not three parts")
    prefix, payload64, signature64 = parts
    if not prefix.endswith("-v1") or prefix[:-3] not in TYPES:
        raise malformed("unknown type or version")
    if prefix[:-3] != expected:
        raise malformed("a token of another type")
    if len(signature64) != 86:
        raise malformed("signature part not 86 characters")
    payload, signature = b64url_decode(payload64), b64url_decode(signature64)
    value = decode_canonical(payload, limit)
    if type(value) is not dict:
        raise malformed("payload is not an object")
    if value.get("type") != expected or type(value.get("v")) is not int or value["v"] != 1:
        raise malformed("type or v member")
    return value, payload, signature


def members(obj: dict[str, Any], required: set[str], optional: set[str]) -> None:
    """§4.1: no unknown member, every required one, no null."""
    if not required <= obj.keys() <= required | optional:
        raise malformed(f"members {sorted(obj)}")
    if any(v is None for v in obj.values()):
        raise malformed("null member")


def check_subject(sub: object) -> None:
    # §4.2 sub.
    if type(sub) is not dict:
        raise malformed("sub")
    members(sub, {"name"}, {"email", "handle", "key"})
    if not is_text(sub["name"], 128) or ("email" not in sub and "handle" not in sub):
        raise malformed("sub.name, or neither email nor handle")
    if "email" in sub and not is_email(sub["email"]):
        raise malformed("sub.email")
    if "handle" in sub and not is_ascii(sub["handle"], 128):
        raise malformed("sub.handle")
    if "key" in sub:
        key_from_did(sub["key"])


def check_refusal(r: dict[str, Any]) -> None:
    # §4.12 (type and v checked by open_token).
    members(
        r, {"type", "v", "id", "iss", "iss_name", "sub", "iat", "exp"}, {"purpose", "reason", "req"}
    )
    if type(r["id"]) is not str or not ID.fullmatch(r["id"]):
        raise malformed("id")
    key_from_did(r["iss"])
    if not is_text(r["iss_name"], 128):
        raise malformed("iss_name")
    check_subject(r["sub"])
    if "purpose" in r and not is_purpose(r["purpose"]):
        raise malformed("purpose")
    if "reason" in r and (type(r["reason"]) is not str or r["reason"] not in REASONS):
        raise malformed("reason")
    if "req" in r and (type(r["req"]) is not str or not ID.fullmatch(r["req"])):
        raise malformed("req")
    if not is_time(r["iat"]) or not is_time(r["exp"]):
        raise malformed("iat, exp")
    if not 0 < r["exp"] - r["iat"] <= 157_852_800:
        raise malformed("exp - iat")


# --- §6.1 trusted inputs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Trusted:
    key: str
    identity: str | None
    revoked_from: int | None


def key_binding(token: str) -> Trusted:
    """§4.6 and §6.1: a key binding verified under the pinned registry key, reg = R."""
    b, payload, signature = open_token(token, "key-binding")
    members(b, {"type", "v", "reg", "key", "email", "name", "since", "method", "iat"}, set())
    key_from_did(b["key"])
    if not (
        is_registry(b["reg"])
        and is_email(b["email"])
        and is_text(b["name"], 128)
        and is_time(b["since"])
        and is_time(b["iat"])
        and b["method"] == "email-code"
    ):
        raise malformed("key-binding members")
    if not signature_ok(key_from_did(REGISTRY_DID), context("key-binding") + payload, signature):
        raise Refused("bad_signature", "key binding not signed by the registry")
    return Trusted(b["key"], b["email"], None)


def trusted_issuers(case: dict[str, Any]) -> dict[str, Trusted]:
    issuers = {
        i["listed_as"]: Trusted(i["key"], i["identity"], i["revoked_from"]) for i in case["issuers"]
    }
    for entry in case["key_bindings"]:
        assert entry["revocations"] == []  # no claims vector combines a key revocation
        binding = key_binding(entry["binding"])
        issuers[binding.key] = binding
    return issuers


# --- §6.4 verifying a refusal ------------------------------------------------------------------


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(w for w in re.split("[" + re.escape(WHITESPACE) + "]+", folded) if w)


def verify_refusal(
    token: object,
    *,
    now: int,
    issuers: dict[str, Trusted],
    subject: str | None,
    purpose: str | None,
    clock_skew: int,
) -> tuple[str, str | None]:
    """The verdict of §6.4 and, for ``refused``, its sentence."""
    try:
        r, payload, signature = open_token(token, "refusal")  # steps 1-2
        check_refusal(r)
        if not signature_ok(key_from_did(r["iss"]), context("refusal") + payload, signature):
            raise Refused("bad_signature", "signature")  # step 3
    except Refused as e:
        return e.verdict, None
    issuer = issuers.get(r["iss"])  # step 4
    if issuer is None or issuer.key != r["iss"]:
        return "unknown_issuer", None
    if issuer.revoked_from is not None:  # step 5
        return "issuer_key_revoked", None
    if now + clock_skew < r["iat"]:  # step 6
        return "not_yet_valid", None
    if now - clock_skew >= r["exp"]:
        return "expired", None
    if subject is not None:  # step 7a
        names = [r["sub"][m] for m in ("name", "email", "handle") if m in r["sub"]]
        if normalise(subject) not in {normalise(n) for n in names}:
            return "subject_mismatch", None
    if purpose is not None and "purpose" in r and r["purpose"] != purpose:  # step 7b
        return "purpose_not_allowed", None
    scope = f" for {r['purpose']}" if "purpose" in r else ""
    sentence = (
        f"{r['iss_name']} states that they do not give a reference for {r['sub']['name']}{scope}."
    )
    return "refused", sentence


# --- the vectors -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CLAIMS["refusal_cases"], ids=lambda c: c["name"])
def test_independent_verifier_agrees_with_refusal_vector(case: dict[str, Any]) -> None:
    verdict, sentence = verify_refusal(
        case["token"],
        now=case["now"],
        issuers=trusted_issuers(case),
        subject=case["expect"]["subject"],
        purpose=case["expect"]["purpose"],
        clock_skew=case["clock_skew"],
    )
    assert verdict == case["expected_verdict"]
    assert sentence == case["expected_sentence"]


def test_independent_verifier_refuses_valid_refusals_of_valid_json() -> None:
    refusals = [v for v in VALID["vectors"] if v["type"] == "refusal"]
    assert len(refusals) == 2
    for v in refusals:
        assert v["signing_context"].encode("ascii") == context("refusal")
        issuers = {v["signer"]: Trusted(v["signer"], None, None)}
        verdict, sentence = verify_refusal(
            v["token"],
            now=v["payload"]["iat"],
            issuers=issuers,
            subject=None,
            purpose=None,
            clock_skew=300,
        )
        assert verdict == "refused"
        assert sentence is not None and sentence.startswith(v["payload"]["iss_name"] + " states")


def test_the_vectors_reach_every_refusal_verdict() -> None:
    # Not vacuous: the cases above cover each outcome of §6.4.
    verdicts = {c["expected_verdict"] for c in CLAIMS["refusal_cases"]}
    assert verdicts == {
        "refused",
        "malformed",
        "bad_signature",
        "unknown_issuer",
        "issuer_key_revoked",
        "not_yet_valid",
        "expired",
        "subject_mismatch",
        "purpose_not_allowed",
    }
