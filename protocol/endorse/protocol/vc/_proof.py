"""The ``eddsa-jcs-2022`` Data Integrity cryptosuite (W3C vc-di-eddsa §3.3), did:key only.

Signing and verifying follow the cryptosuite's algorithms exactly:

1. the document without ``proof`` is canonicalized with JCS (RFC 8785) and hashed (SHA-256);
2. the proof options (the proof without ``proofValue``) get the document's ``@context`` and are
   canonicalized and hashed the same way;
3. Ed25519 signs ``proofHash || documentHash``; ``proofValue`` is ``z`` + base58btc(signature).

``tests/test_vc.py`` holds this to the W3C test vectors byte for byte. The verification method
must be the issuer's ``did:key`` with the key itself as fragment (``did:key:z6Mk…#z6Mk…``): the
public key is read from the identifier, nothing is resolved over a network.

>>> from endorse.protocol import SigningKey
>>> key = SigningKey.from_seed(bytes(32))
>>> doc = {"@context": ["https://www.w3.org/ns/credentials/v2"], "issuer": key.did}
>>> signed = sign_jcs(doc, key, created="2026-01-01T00:00:00Z")
>>> verify_jcs(signed) == key.public_key
True
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from endorse.protocol import canonical
from endorse.protocol.encoding import b58_decode, b58_encode
from endorse.protocol.errors import BadSignature, InvalidKey, MalformedToken
from endorse.protocol.keys import SIGNATURE_BYTES, PublicKey, SigningKey

CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"
MAX_DEPTH = 8
"""Deepest JSON nesting of a credential we canonicalize (the root object counts as 1)."""
DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
"""The one date-time spelling we write and accept: UTC, whole seconds, ``Z``."""

_PROOF_MEMBERS = frozenset(
    {"type", "cryptosuite", "created", "verificationMethod", "proofPurpose", "@context"}
)


def jcs(value: Any) -> bytes:
    """RFC 8785 bytes of ``value`` (the protocol's JSON domain: no floats, safe integers).

    Raises:
        MalformedToken: the value lies outside that domain or nests deeper than 8.
    """
    return canonical.encode(value, max_depth=MAX_DEPTH)


def verification_method(key: PublicKey) -> str:
    """The did:key verification method of ``key``: ``did:key:z…#z…``."""
    return f"{key.did}#{key.did.removeprefix('did:key:')}"


def key_of_verification_method(method: object) -> PublicKey:
    """The Ed25519 key a did:key verification method names.

    Raises:
        MalformedToken: not ``did:key:<k>#<k>`` of an Ed25519 key.
    """
    if type(method) is not str or "#" not in method:
        raise MalformedToken("proof.verificationMethod: must be did:key:z…#z…")
    did, fragment = method.split("#", 1)
    try:
        key = PublicKey.from_did(did)
    except InvalidKey as e:
        raise MalformedToken(f"proof.verificationMethod: {e}") from e
    if fragment != did.removeprefix("did:key:"):
        raise MalformedToken("proof.verificationMethod: the fragment must repeat the key")
    return key


def _hash_data(
    unsecured: dict[str, Any], options: dict[str, Any], *, checked: bool = False
) -> bytes:
    # vc-di-eddsa §3.3.4: proofConfigHash || transformedDocumentHash. ``checked``: the values
    # passed the domain walk already (load_json), and inside the domain orjson with sorted
    # keys is RFC 8785 (canonical.py): the walk is not repeated.
    encode = _sorted_json if checked else jcs
    return hashlib.sha256(encode(options)).digest() + hashlib.sha256(encode(unsecured)).digest()


def _sorted_json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def proof_options(
    document: dict[str, Any], key: PublicKey, *, created: str, purpose: str = "assertionMethod"
) -> dict[str, Any]:
    """The proof configuration for ``document`` (vc-di-eddsa §3.3.5), ``@context`` copied.

    Raises:
        MalformedToken: ``created`` is not a UTC date-time with ``Z``.
    """
    if type(created) is not str or not DATE_TIME.fullmatch(created):
        raise MalformedToken("proof.created: must be YYYY-MM-DDTHH:MM:SSZ")
    options: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method(key),
        "proofPurpose": purpose,
    }
    if "@context" in document:
        options["@context"] = document["@context"]
    return options


def sign_jcs(document: dict[str, Any], key: SigningKey, *, created: str) -> dict[str, Any]:
    """``document`` with an ``eddsa-jcs-2022`` proof by ``key`` (assertionMethod).

    Raises:
        MalformedToken: the document already has a proof, or lies outside the JSON domain.
    """
    if "proof" in document:
        raise MalformedToken("the document already carries a proof")
    options = proof_options(document, key.public_key, created=created)
    signature = key.sign(_hash_data(document, options))
    return {**document, "proof": {**options, "proofValue": "z" + b58_encode(signature)}}


def verify_jcs(secured: dict[str, Any]) -> PublicKey:
    """Check the single ``eddsa-jcs-2022`` proof of ``secured``; return the key that signed.

    The proof must be an assertionMethod ``DataIntegrityProof`` with exactly the members the
    cryptosuite defines; when it has an ``@context`` the document's must equal it (our
    credentials always carry one, so it cannot differ from what was signed).

    Raises:
        MalformedToken: no proof, or a proof of another shape, suite or purpose.
        BadSignature: the signature does not verify over this document.
    """
    return verify_checked(secured, checked=False)


def verify_checked(secured: dict[str, Any], *, checked: bool) -> PublicKey:
    """:func:`verify_jcs`; with ``checked`` for a document that ``load_json`` read
    (its domain walk is not repeated)."""
    proof = secured.get("proof")
    if type(proof) is not dict:
        raise MalformedToken("proof: one Data Integrity proof object is required")
    value = proof.get("proofValue")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if not set(options) <= _PROOF_MEMBERS or not {"type", "cryptosuite"} <= set(options):
        raise MalformedToken("proof: unexpected or missing members")
    if options["type"] != PROOF_TYPE or options["cryptosuite"] != CRYPTOSUITE:
        raise MalformedToken(f"proof: only {PROOF_TYPE} with {CRYPTOSUITE} is accepted")
    if options.get("proofPurpose") != "assertionMethod":
        raise MalformedToken("proof.proofPurpose: must be assertionMethod")
    created = options.get("created")
    if type(created) is not str or not DATE_TIME.fullmatch(created):
        raise MalformedToken("proof.created: must be YYYY-MM-DDTHH:MM:SSZ")
    key = key_of_verification_method(options.get("verificationMethod"))
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    if "@context" in options and options["@context"] != unsecured.get("@context"):
        raise MalformedToken("proof.@context: differs from the document's @context")
    if type(value) is not str or not value.startswith("z"):
        raise MalformedToken("proof.proofValue: must be base58btc multibase (z…)")
    signature = b58_decode(value[1:], what="proof.proofValue")
    if len(signature) != SIGNATURE_BYTES:
        raise BadSignature(f"an Ed25519 signature is exactly {SIGNATURE_BYTES} bytes")
    key.verify(_hash_data(unsecured, options, checked=checked), signature)
    return key
