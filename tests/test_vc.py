"""The portable form (spec §13): our eddsa-jcs-2022 against the W3C vectors, byte for byte, and
the endorsement credential's verification with the token's verdicts."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from _vectors import third_party
from helpers import ALICE, MALLORY, NOW, REGISTRY, alice_token, status_list, trusted_alice
from hypothesis import given, settings
from hypothesis import strategies as st

from endorse.protocol import (
    MIN_SIZE,
    Bitstring,
    Endorsement,
    PublicKey,
    SigningKey,
    Subject,
    Verdict,
    VerificationFailed,
    verify_token,
)
from endorse.protocol.encoding import b58_decode
from endorse.protocol.errors import BadSignature, MalformedToken
from endorse.protocol.vc import (
    ENDORSE_CONTEXT,
    CredentialResult,
    _proof,
    endorsement_credential,
    jcs,
    proof_options,
    read_status_list_credential,
    sign_jcs,
    status_list_credential,
    subject_digest,
    verify_credential,
    verify_jcs,
)

W3C = ("vc-di-eddsa", "eddsa-jcs-2022")


def _text(*parts: str) -> str:
    return third_party(*parts).read_text(encoding="utf-8")


def _json(*parts: str) -> Any:
    return json.loads(_text(*parts))


def _w3c_key() -> SigningKey:
    pair = _json("vc-di-eddsa", "keyPair.json")
    secret = b58_decode(pair["privateKeyMultibase"][1:])
    assert secret[:2] == b"\x80\x26" and len(secret) == 34  # multicodec ed25519-priv
    key = SigningKey.from_seed(secret[2:])
    assert key.did == "did:key:" + pair["publicKeyMultibase"]
    return key


# --- W3C vc-di-eddsa test vectors (TestVectors/eddsa-jcs-2022) ------------------------------


def test_w3c_vector_key_decodes_as_the_derived_copy_says() -> None:
    decoded = _json("vc-di-eddsa", "keyPair.decoded.json")
    key = _w3c_key()
    assert key.seed().hex() == decoded["privateKeySeedHex"]
    assert key.public_key.raw.hex() == decoded["publicKeyHex"]


def test_w3c_vector_canonical_document_and_hash() -> None:
    unsigned = _json("vc-di-eddsa", "unsigned.json")
    canonical = jcs(unsigned)
    assert canonical == _text(*W3C, "canonDocJCS.txt").encode()
    assert hashlib.sha256(canonical).hexdigest() == _text(*W3C, "docHashJCS.txt")


def test_w3c_vector_proof_configuration_and_hash() -> None:
    unsigned = _json("vc-di-eddsa", "unsigned.json")
    config = _json(*W3C, "proofConfigJCS.json")
    options = proof_options(unsigned, _w3c_key().public_key, created=config["created"])
    assert options == config
    canonical = jcs(options)
    assert canonical == _text(*W3C, "proofCanonJCS.txt").encode()
    assert hashlib.sha256(canonical).hexdigest() == _text(*W3C, "proofHashJCS.txt")
    combined = _proof._hash_data(unsigned, options)
    assert combined.hex() == _text(*W3C, "combinedHashJCS.txt")


def test_w3c_vector_signature_and_signed_document_byte_for_byte() -> None:
    unsigned = _json("vc-di-eddsa", "unsigned.json")
    expected = _json(*W3C, "signedJCS.json")
    signed = sign_jcs(unsigned, _w3c_key(), created=expected["proof"]["created"])
    signature = b58_decode(signed["proof"]["proofValue"][1:])
    assert signature.hex() == _text(*W3C, "sigHexJCS.txt")
    assert signed["proof"]["proofValue"] == _text(*W3C, "sigBTC58JCS.txt")
    assert signed == expected
    assert jcs(signed) == jcs(expected)


def test_w3c_vector_verifies_and_a_changed_byte_does_not() -> None:
    signed = _json(*W3C, "signedJCS.json")
    assert verify_jcs(signed) == _w3c_key().public_key
    signed["credentialSubject"]["alumniOf"] = "The School of Examples!"
    with pytest.raises(BadSignature):
        verify_jcs(signed)


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("proof_other_suite", lambda p: p.update(cryptosuite="eddsa-rdfc-2022")),
        ("proof_other_purpose", lambda p: p.update(proofPurpose="authentication")),
        (
            "proof_vm_other_fragment",
            lambda p: p.update(verificationMethod=p["verificationMethod"] + "x"),
        ),
        ("proof_vm_not_did_key", lambda p: p.update(verificationMethod="https://x.example/k#1")),
        ("proof_value_not_multibase", lambda p: p.update(proofValue="u" + p["proofValue"][1:])),
        ("proof_unknown_member", lambda p: p.update(nonce="abc")),
        (
            "proof_context_differs",
            lambda p: p.update({"@context": ["https://www.w3.org/ns/credentials/v2"]}),
        ),
        ("proof_created_not_utc", lambda p: p.update(created="2023-02-24T23:36:38+00:00")),
    ],
)
def test_w3c_vector_proof_defects_refused(name: str, change: Any) -> None:
    signed = _json(*W3C, "signedJCS.json")
    change(signed["proof"])
    with pytest.raises((MalformedToken, BadSignature)):
        verify_jcs(signed)


# --- endorsement credentials ----------------------------------------------------------------


def _endorsement(**kwargs: Any) -> Endorsement:
    return verify_token(alice_token(**kwargs), Endorsement).object


def _credential(**kwargs: Any) -> dict[str, Any]:
    return endorsement_credential(_endorsement(**kwargs), ALICE)


def _verify(credential: object, **kwargs: Any) -> CredentialResult:
    kwargs.setdefault("now", NOW + 100)
    kwargs.setdefault("issuers", trusted_alice())
    kwargs.setdefault("status_lists", {(REGISTRY, "list-1"): status_list()})
    return verify_credential(credential, **kwargs)


def _resigned(credential: dict[str, Any], key: SigningKey = ALICE) -> dict[str, Any]:
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    return sign_jcs(unsigned, key, created=credential["proof"]["created"])


def test_credential_maps_every_member_of_the_endorsement() -> None:
    e = _endorsement(statement="Bob ran the team well.", audience="acme-hr", contact=True)
    c = endorsement_credential(e, ALICE)
    assert c["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        REGISTRY + "/api/v1/vc/contexts/v1",
    ]
    assert c["id"] == f"urn:endorse:v1:endorsement:{e.id}"
    assert c["issuer"] == {"id": ALICE.did, "type": ["Profile"], "name": "Alice Smith"}
    assert c["validFrom"] == "2026-01-01T00:00:00Z"
    assert c["validUntil"] == "2027-01-01T00:00:00Z"
    s = c["credentialSubject"]
    assert s == {
        "id": e.subject.key,
        "type": ["EndorsementSubject"],
        "subjectName": "Bob Jones",
        "endorsementComment": "Bob ran the team well.",
        "relationshipContext": "work",
        "relationshipRole": "manager",
        "relationshipOrganization": "Acme",
        "relationshipFrom": "2019-03",
        "relationshipTo": "2023-06",
        "allowedPurposes": ["employment-reference"],
        "intendedAudience": "acme-hr",
        "contactAllowed": True,
    }
    url = f"{REGISTRY}/api/v1/vc/status-lists/{ALICE.did}/list-1"
    assert c["credentialStatus"] == {
        "id": url + "#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": url,
    }
    assert c["proof"]["verificationMethod"] == f"{ALICE.did}#{ALICE.did[8:]}"
    assert c["proof"]["@context"] == c["@context"]
    # Every term of the subject but id and type is defined by the endorse context or OB 3.0.
    defined = set(ENDORSE_CONTEXT["@context"]) | {"id", "type", "endorsementComment"}
    assert set(s) <= defined


def test_subject_without_key_is_a_salted_digest_never_the_email() -> None:
    c = _credential(subject=Subject("Bob Jones", email="bob@example.com"))
    text = json.dumps(c)
    assert "bob@example.com" not in text
    assert c["credentialSubject"]["id"] == subject_digest(c["id"], "Bob@Example.com")
    assert _verify(c, subject="bob@example.com").verdict is Verdict.VALID
    assert _verify(c, subject="Bob Jones").verdict is Verdict.VALID
    assert _verify(c, subject="carol@example.com").verdict is Verdict.SUBJECT_MISMATCH
    other = _credential(subject=Subject("Bob Jones", email="bob@example.com"))  # a new id
    assert other["credentialSubject"]["id"] != c["credentialSubject"]["id"]  # salted per credential


def test_unregistered_endorsement_is_not_exported() -> None:
    from endorse.protocol import issue

    token = issue(
        ALICE,
        "Alice",
        Subject("Bob", email="b@example.com"),
        _endorsement().relationship,
        ["employment-reference"],
        now=NOW,
    )
    with pytest.raises(MalformedToken, match="registered"):
        endorsement_credential(verify_token(token, Endorsement).object, ALICE)
    with pytest.raises(MalformedToken, match="issuer"):
        endorsement_credential(_endorsement(), MALLORY)


def test_valid_credential_verdict_and_sentence_are_the_tokens() -> None:
    result = _verify(_credential())
    assert result.verdict is Verdict.VALID, result.detail
    assert result.message == Verdict.VALID.sentence
    assert [c.name for c in result.checks] == [
        "format",
        "signature",
        "issuer",
        "issuer_key",
        "validity",
        "status",
    ]
    assert result.raise_for_verdict().issuer.id == ALICE.did
    assert _verify(json.dumps(_credential()).encode()).valid
    assert _verify(json.dumps(_credential(), indent=2)).valid


def test_revoked_in_the_registry_list_is_revoked() -> None:
    result = _verify(_credential(), status_lists={(REGISTRY, "list-1"): status_list((7,))})
    assert result.verdict is Verdict.REVOKED
    with pytest.raises(VerificationFailed) as caught:
        result.raise_for_verdict()
    assert caught.value.verdict == "revoked"


def _tamper(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    c = copy.deepcopy(_credential())
    node = c
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return c


@pytest.mark.parametrize(
    ("name", "credential", "verdict"),
    [
        (
            "tampered_subject_name",
            _tamper(("credentialSubject", "subjectName"), "Eve"),
            Verdict.BAD_SIGNATURE,
        ),
        (
            "tampered_purposes",
            _tamper(("credentialSubject", "allowedPurposes"), ["tenancy-reference"]),
            Verdict.BAD_SIGNATURE,
        ),
        (
            "tampered_valid_until",
            _tamper(("validUntil",), "2030-01-01T00:00:00Z"),
            Verdict.BAD_SIGNATURE,
        ),
        (
            "tampered_status_index",
            _tamper(("credentialStatus", "statusListIndex"), "8"),
            Verdict.MALFORMED,
        ),
        (
            "tampered_proof_value",
            _tamper(("proof", "proofValue"), "z" + "1" * 86),
            Verdict.BAD_SIGNATURE,
        ),
        ("undefined_term", _resigned({**_credential(), "credentialSubjct": {}}), Verdict.MALFORMED),
        (
            "undefined_subject_term",
            _resigned(_tamper(("credentialSubject", "subjectNme"), "Bob")),
            Verdict.MALFORMED,
        ),
        ("wrong_issuer_signed_by_other", _resigned(_credential(), MALLORY), Verdict.BAD_SIGNATURE),
        (
            "wrong_issuer_named",
            _resigned(_tamper(("issuer", "id"), MALLORY.did), MALLORY),
            Verdict.MALFORMED,
        ),
        (
            "other_context",
            _resigned(_tamper(("@context",), ["https://www.w3.org/ns/credentials/v2"])),
            Verdict.MALFORMED,
        ),
        ("float_member", _tamper(("credentialSubject", "contactAllowed"), 1.0), Verdict.MALFORMED),
        ("not_json", b"{", Verdict.MALFORMED),
        ("not_an_object", b"[]", Verdict.MALFORMED),
        ("duplicate_member", b'{"id": 1, "id": 2}', Verdict.MALFORMED),
        ("oversized", b" " * 70_000, Verdict.MALFORMED),
        ("not_text", 42, Verdict.MALFORMED),
    ],
)
def test_defects_are_verdicts(name: str, credential: object, verdict: Verdict) -> None:
    result = _verify(credential)
    assert result.verdict is verdict, (name, result.detail)
    assert result.message == verdict.sentence


def test_every_string_leaf_changed_breaks_the_credential() -> None:
    original = _credential(statement="Fine work.")

    def leaves(node: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if isinstance(node, dict):
            return [p for k, v in node.items() for p in leaves(v, (*path, k))]
        if isinstance(node, list):
            return [p for i, v in enumerate(node) for p in leaves(v, (*path, i))]
        return [path] if isinstance(node, str) else []

    paths = leaves(original, ())
    assert len(paths) > 20
    for path in paths:
        c = copy.deepcopy(original)
        node = c
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = node[path[-1]] + "x"
        assert not _verify(c).valid, path


def test_dates_scope_and_status_freshness() -> None:
    c = _credential(audience="acme-hr")
    assert _verify(c, audience="acme-hr").valid
    assert _verify(c).verdict is Verdict.AUDIENCE_MISMATCH
    assert _verify(c, audience="acme-hr", purpose="tenancy-reference").verdict is (
        Verdict.PURPOSE_NOT_ALLOWED
    )
    late = NOW + 2 * 365 * 86_400
    assert _verify(c, now=late, audience="acme-hr").verdict is Verdict.EXPIRED
    assert _verify(c, now=NOW - 3600, audience="acme-hr").verdict is Verdict.NOT_YET_VALID
    stale = _verify(c, now=NOW + 1000, audience="acme-hr")
    assert stale.verdict is Verdict.STATUS_UNAVAILABLE
    assert _verify(c, audience="acme-hr", status_lists={}).verdict is Verdict.STATUS_UNAVAILABLE
    assert _verify(c, issuers={}).verdict is Verdict.UNKNOWN_ISSUER
    revoked_key = {
        ALICE.did: trusted_alice()[ALICE.did].__class__(
            ALICE.did, "a@example.com", revoked_from=NOW
        )
    }
    assert _verify(c, issuers=revoked_key).verdict is Verdict.ISSUER_KEY_REVOKED


def test_status_list_credential_round_trip() -> None:
    bits = Bitstring(MIN_SIZE)
    bits.set(7)
    slc = status_list_credential(ALICE, REGISTRY, "list-1", bits, valid_from=NOW)
    assert slc["issuer"] == ALICE.did
    assert slc["credentialSubject"]["encodedList"].startswith("u")
    read, document, decoded = read_status_list_credential(json.dumps(slc))
    assert verify_jcs(document) == ALICE.public_key
    assert decoded.get(7) and not decoded.get(8) and decoded.size == MIN_SIZE
    assert read.id == f"{REGISTRY}/api/v1/vc/status-lists/{ALICE.did}/list-1"
    slc["credentialSubject"]["encodedList"] = "u" + Bitstring(MIN_SIZE).encode()
    _, document, _ = read_status_list_credential(json.dumps(slc))
    with pytest.raises(BadSignature):
        verify_jcs(document)
    assert PublicKey.from_did(ALICE.did) == ALICE.public_key


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["@context", "credentialSubject", "issuer", "proof", "credentialStatus"]),
    _json_values,
)
def test_any_member_replaced_is_a_verdict_never_an_exception(member: str, value: Any) -> None:
    c = _credential()
    c[member] = value
    result = _verify(json.dumps(c))
    assert result.verdict in (Verdict.MALFORMED, Verdict.BAD_SIGNATURE)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_any_input_is_a_verdict_never_an_exception(data: bytes | str) -> None:
    assert _verify(data).verdict is Verdict.MALFORMED


@pytest.mark.parametrize(
    "value",
    [{"a": {1, 2}}, {"a": float("nan")}, {"a": "\ud800"}, {1: "x"}, {"a": 2**60}],
    ids=["set", "nan", "lone_surrogate", "int_key", "big_int"],
)
def test_parsed_dicts_that_are_not_json_values_are_malformed(value: dict[Any, Any]) -> None:
    assert _verify(value).verdict is Verdict.MALFORMED


def test_canonical_forms_agree_with_the_reference_rfc8785_encoder() -> None:
    import rfc8785

    c = _credential(statement='Caf\u00e9 \u2615 \U0001f600\n"quoted" \\ </ok>')
    unsigned = {k: v for k, v in c.items() if k != "proof"}
    options = {k: v for k, v in c["proof"].items() if k != "proofValue"}
    for value in (unsigned, options, c):
        assert jcs(value) == rfc8785.dumps(value)
    assert _proof._hash_data(unsigned, options, checked=True) == _proof._hash_data(
        unsigned, options
    )
    assert _verify(c).valid
