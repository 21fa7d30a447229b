"""The protocol test vectors of ``spec/vectors``: up to date, and endorse agrees with them.

Every case is re-run from what the vector files record, never from the generator's objects:
trusted issuers are rebuilt from their recorded fields, key bindings and status lists are
checked with the registry key of ``keys.json``, and the expected verdict or exception class
is compared exactly.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import pathlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from _spec_inputs import trusted_issuers

from endorse.protocol import (
    Bitstring,
    EndorseError,
    PublicKey,
    StatusListToken,
    TrustedIssuer,
    decode_unverified,
    index_status_lists,
    signing_context,
    token_hash,
    verify_endorsement,
    verify_key_binding,
    verify_key_revocation,
    verify_policy,
    verify_receipt,
    verify_reference_request,
    verify_refusal,
    verify_registration,
    verify_registry_key_rotation,
    verify_revocation,
    verify_status_list,
    verify_token,
)
from endorse.protocol.objects import OBJECT_TYPES, Endorsement, Refusal
from endorse.protocol.verdicts import Verdict

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT / "spec" / "vectors"


def _load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


KEYS = _load("keys.json")["keys"]
VALID = _load("valid.json")
VERIFICATION = _load("verification.json")
CLAIMS = _load("claims.json")
REGISTRY_KEY = PublicKey.from_did(KEYS["registry"]["did"])
REGISTRY = VERIFICATION["registry"]["url"]


def _by_name(cases: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(c, id=c["name"]) for c in cases]


def _generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_vectors.py"
    spec = importlib.util.spec_from_file_location("gen_vectors", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- (a) the committed files are exactly what the generator produces -------------------------


def test_vectors_are_up_to_date() -> None:
    gen = _generator()
    problems = gen.check(gen.build(), VECTORS)
    assert not problems, "\n".join(problems) + "\nrun: python scripts/gen_vectors.py"


def test_generator_check_mode_passes() -> None:
    assert _generator().main(["--check"]) == 0


def test_files_are_pretty_sorted_json() -> None:
    for name in ("keys.json", "valid.json", "verification.json", "claims.json", "paste.json"):
        text = (VECTORS / name).read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


# --- keys.json -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in KEYS if "seed_hex" in KEYS[n]])
def test_named_keys(name: str) -> None:
    from endorse.protocol import SigningKey

    entry = KEYS[name]
    key = SigningKey.from_seed(bytes.fromhex(entry["seed_hex"]))
    assert key.public_key.raw.hex() == entry["public_key_hex"]
    assert key.did == entry["did"]
    assert PublicKey.from_did(entry["did"]) == key.public_key


def test_small_order_key_is_refused() -> None:
    entry = KEYS["small_order"]
    with pytest.raises(EndorseError) as raw_info:
        PublicKey(bytes.fromhex(entry["public_key_hex"]))
    with pytest.raises(EndorseError) as did_info:
        PublicKey.from_did(entry["did"])
    assert type(raw_info.value).__name__ == type(did_info.value).__name__ == "InvalidKey"


# --- (b) valid.json ------------------------------------------------------------------------


def test_valid_covers_every_object_type() -> None:
    assert {v["type"] for v in VALID["vectors"]} == set(OBJECT_TYPES)


def _plain(value: Any) -> Any:
    """A decoded object as JSON data keyed by attribute names (dataclass or msgspec struct)."""
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    names = getattr(type(value), "__struct_fields__", None)
    if names is None:
        names = [f.name for f in dataclasses.fields(value)]
    return {name: _plain(getattr(value, name)) for name in names}


@pytest.mark.parametrize("vector", _by_name(VALID["vectors"]))
def test_valid_token(vector: dict[str, Any]) -> None:
    cls = OBJECT_TYPES[vector["type"]]
    signer = PublicKey.from_did(vector["signer"])
    verified = verify_token(vector["token"], cls, signer)
    assert verified.signer == signer
    assert verified.token == vector["token"]
    assert verified.payload == vector["payload_canonical"].encode("utf-8")
    assert json.loads(verified.payload) == vector["payload"]
    assert _plain(verified.object) == vector["fields"]
    assert (verified.object.signer is None) is vector["registry_signed"]
    assert signing_context(vector["type"]) == vector["signing_context"].encode("ascii")
    assert signing_context(vector["type"]) == b"endorse/v1/" + vector["type"].encode() + b"\0"
    assert token_hash(vector["token"]) == vector["token_hash"]
    assert vector["token"].startswith(vector["type"] + "-v1.")
    if vector["type"] == "status-list":
        assert isinstance(verified.object, StatusListToken)
        status = verify_status_list(vector["token"], signer, VALID["registry"])
        bits = Bitstring.decode(verified.object.bits, vector["size"])
        assert bits.count() == len(vector["set_indexes"])
        assert all(status.is_revoked(i) for i in vector["set_indexes"])


def test_valid_presentation_and_receipt_name_the_full_endorsement() -> None:
    by_name = {v["name"]: v for v in VALID["vectors"]}
    full = by_name["endorsement_full"]
    assert by_name["presentation"]["payload"]["th"] == full["token_hash"]
    assert by_name["receipt"]["payload"]["th"] == full["token_hash"]
    registry = PublicKey.from_did(KEYS["registry"]["did"])
    assert (
        verify_receipt(by_name["receipt"]["token"], registry, VALID["registry"]).verdict == "valid"
    )
    assert verify_revocation(by_name["revocation_by_registry"]["token"], registry).by == (
        registry.did
    )
    key_rev = verify_key_revocation(by_name["key_revocation_by_registry"]["token"], registry)
    assert key_rev.key == KEYS["issuer"]["did"]
    binding = verify_key_binding(by_name["key_binding"]["token"], registry, VALID["registry"])
    assert binding.key == KEYS["issuer"]["did"]


# --- (c) verification.json -----------------------------------------------------------------


def test_enough_cases_with_unique_names() -> None:
    names = [c["name"] for c in VERIFICATION["cases"]]
    assert len(names) >= 40
    assert len(names) == len(set(names))
    all_names = names + [c["name"] for c in VERIFICATION["decoding"]]
    assert len(all_names) == len(set(all_names))


def test_every_verdict_is_exercised() -> None:
    # An endorsement never verifies as ``refused``: that is the verdict of a refusal alone,
    # exercised by claims.json; together the two files reach every verdict.
    verdicts = {v.value for v in Verdict} - {Verdict.REFUSED.value}
    assert set(VERIFICATION["verdicts"]) == verdicts
    assert {c["expected_verdict"] for c in VERIFICATION["cases"]} == verdicts
    refusal_verdicts = {c["expected_verdict"] for c in CLAIMS["refusal_cases"]}
    assert set(CLAIMS["verdicts"]) == refusal_verdicts
    assert refusal_verdicts | verdicts == {v.value for v in Verdict}
    # What a refusal can never be: valid, or any verdict about revocation status or audience.
    assert refusal_verdicts.isdisjoint({"valid", "revoked", "audience_mismatch"})
    assert "status_unavailable" not in refusal_verdicts


def _trusted_issuers(case: dict[str, Any]) -> dict[str, TrustedIssuer]:
    return trusted_issuers(case, REGISTRY_KEY, REGISTRY)


@pytest.mark.parametrize("case", _by_name(VERIFICATION["cases"]))
def test_verification_case(case: dict[str, Any]) -> None:
    lists = [verify_status_list(t, REGISTRY_KEY, REGISTRY) for t in case["status_lists"]]
    expect = case["expect"]
    result = verify_endorsement(
        case["token"],
        now=case["now"],
        issuers=_trusted_issuers(case),
        status_lists=index_status_lists(lists),
        subject=expect["subject"],
        purpose=expect["purpose"],
        audience=expect["audience"],
        presentation=expect["presentation"],
        nonce=expect["nonce"],
        registration=(
            None
            if case["registration"] is None
            else verify_registration(case["registration"], REGISTRY_KEY, REGISTRY)
        ),
        clock_skew=case["clock_skew"],
        max_status_staleness=case["max_status_staleness"],
        require_status=case["require_status"],
    )
    assert result.verdict.value == case["expected_verdict"], result.detail
    assert result.checked_at == case["now"]
    assert isinstance(result.token_hash, str)  # even for a token that is not ASCII
    if result.verdict is Verdict.VALID:
        assert result.endorsement is not None
        assert all(check.passed for check in result.checks)
    else:
        assert not result.checks[-1].passed


@pytest.mark.parametrize(
    "case", _by_name([c for c in VERIFICATION["cases"] if c["expected_error"] is not None])
)
def test_verification_case_decoding_error(case: dict[str, Any]) -> None:
    with pytest.raises(EndorseError) as info:
        verify_token(case["token"], Endorsement)
    assert type(info.value).__name__ == case["expected_error"]


def test_token_defects_name_their_error() -> None:
    # A malformed or badly signed token is a defect of the token itself: each such case says
    # which exception the decoding functions raise for it.
    for c in VERIFICATION["cases"]:
        if c["expected_verdict"] in {"malformed", "bad_signature"}:
            assert c["expected_error"] is not None, c["name"]


# --- (d) decoding cases --------------------------------------------------------------------


def _key(did: str | None) -> PublicKey | None:
    return None if did is None else PublicKey.from_did(did)


DECODERS: dict[str, Callable[[dict[str, Any]], object]] = {
    "PublicKey": lambda a: PublicKey(bytes.fromhex(a["public_key_hex"])),
    "PublicKey.from_did": lambda a: PublicKey.from_did(a["did"]),
    "decode_unverified": lambda a: decode_unverified(a["token"], OBJECT_TYPES[a["type"]]),
    "verify_token": lambda a: verify_token(a["token"], OBJECT_TYPES[a["type"]], _key(a["key"])),
    "verify_key_binding": lambda a: verify_key_binding(
        a["token"], PublicKey.from_did(a["registry_key"]), a["registry"]
    ),
    "verify_status_list": lambda a: verify_status_list(
        a["token"], PublicKey.from_did(a["registry_key"]), a["registry"]
    ),
    "verify_receipt": lambda a: verify_receipt(
        a["token"], PublicKey.from_did(a["registry_key"]), a["registry"]
    ),
    "verify_registry_key_rotation": lambda a: verify_registry_key_rotation(
        a["token"], PublicKey.from_did(a["registry_key"]), a["registry"]
    ),
    "verify_revocation": lambda a: verify_revocation(a["token"], _key(a["registry_key"])),
    "verify_key_revocation": lambda a: verify_key_revocation(a["token"], _key(a["registry_key"])),
    "verify_reference_request": lambda a: verify_reference_request(
        a["token"], registry=a["registry"], registry_key=PublicKey.from_did(a["registry_key"])
    ),
    "verify_policy": lambda a: verify_policy(
        a["token"], issuers=_trusted_issuers({"issuers": a["issuers"], "key_bindings": []})
    ),
}


@pytest.mark.parametrize("case", _by_name(VERIFICATION["decoding"]))
def test_decoding_case(case: dict[str, Any]) -> None:
    with pytest.raises(EndorseError) as info:
        DECODERS[case["function"]](case["args"])
    assert type(info.value).__name__ == case["expected_error"], str(info.value)


# --- (e) claims.json -------------------------------------------------------------------------


def test_claims_cases_have_unique_names() -> None:
    names = [c["name"] for c in CLAIMS["refusal_cases"]] + [c["name"] for c in CLAIMS["decoding"]]
    assert len(names) >= 50
    assert len(names) == len(set(names))
    assert not set(names) & {c["name"] for c in VERIFICATION["cases"]}


@pytest.mark.parametrize("case", _by_name(CLAIMS["refusal_cases"]))
def test_refusal_case(case: dict[str, Any]) -> None:
    expect = case["expect"]
    result = verify_refusal(
        case["token"],
        now=case["now"],
        issuers=_trusted_issuers(case),
        subject=expect["subject"],
        purpose=expect["purpose"],
        clock_skew=case["clock_skew"],
    )
    assert result.verdict.value == case["expected_verdict"], result.detail
    assert result.checked_at == case["now"]
    assert result.endorsement is None
    assert not result.valid
    if result.verdict is Verdict.REFUSED:
        assert result.message == case["expected_sentence"]
        assert result.refusal is not None
        assert all(check.passed for check in result.checks)
    else:
        # A refusal for another subject or purpose has a refusal's sentence (§6.4); the
        # other verdicts keep §6.2's.
        if case["expected_verdict"] in {"subject_mismatch", "purpose_not_allowed"}:
            assert result.message == case["expected_sentence"]
        else:
            assert case["expected_sentence"] is None
        assert not result.checks[-1].passed
        # The refusal is known exactly when its signature verified.
        signature_ok = case["expected_verdict"] not in {"malformed", "bad_signature"}
        assert (result.refusal is not None) is signature_ok


@pytest.mark.parametrize(
    "case", _by_name([c for c in CLAIMS["refusal_cases"] if c["expected_error"] is not None])
)
def test_refusal_case_decoding_error(case: dict[str, Any]) -> None:
    with pytest.raises(EndorseError) as info:
        verify_token(case["token"], Refusal)
    assert type(info.value).__name__ == case["expected_error"]


def test_refusal_defects_name_their_error() -> None:
    for c in CLAIMS["refusal_cases"]:
        defect = c["expected_verdict"] in {"malformed", "bad_signature"}
        assert (c["expected_error"] is not None) is defect, c["name"]


@pytest.mark.parametrize("case", _by_name(CLAIMS["decoding"]))
def test_claims_decoding_case(case: dict[str, Any]) -> None:
    with pytest.raises(EndorseError) as info:
        DECODERS[case["function"]](case["args"])
    assert type(info.value).__name__ == case["expected_error"], str(info.value)


def test_valid_claims_objects_verify() -> None:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for v in VALID["vectors"]:
        by_type.setdefault(v["type"], []).append(v)
    alice = KEYS["issuer"]["did"]
    trusted = {alice: TrustedIssuer.pinned(alice)}
    for v in by_type["reference-request"]:
        request = verify_reference_request(
            v["token"], registry=VALID["registry"], registry_key=REGISTRY_KEY
        )
        assert request.object.registry == VALID["registry"]
    for v in by_type["policy"]:
        assert verify_policy(v["token"], issuers=trusted).object.refs == "signed-tokens-only"
    for v in by_type["refusal"]:
        payload = v["payload"]
        result = verify_refusal(v["token"], now=payload["iat"], issuers=trusted)
        assert result.verdict is Verdict.REFUSED
        assert result.refusal is not None and result.refusal.issuer == alice
    answered = {v["name"]: v for v in VALID["vectors"]}
    refusal = answered["refusal"]
    assert refusal["payload"]["req"] == answered[refusal["answers"]]["payload"]["id"]


def test_the_spec_names_only_vectors_that_exist_and_counts_them_right() -> None:
    """spec/protocol.md cites vectors by name (``vector `x```) and counts them in §9: both
    stay true when the generator changes."""
    import re

    spec = (ROOT / "spec" / "protocol.md").read_text(encoding="utf-8")
    names = {
        c["name"]
        for c in VERIFICATION["cases"]
        + VERIFICATION["decoding"]
        + CLAIMS["refusal_cases"]
        + CLAIMS["decoding"]
    }
    cited = {
        name
        for group in re.findall(r"vectors?\s+((?:`[a-z0-9_]+`(?:,\s*|\s+and\s+)?)+)", spec)
        for name in re.findall(r"`([a-z0-9_]+)`", group)
    }
    assert len(cited) >= 10
    assert cited <= names, sorted(cited - names)
    assert f"{len(VERIFICATION['cases'])} named cases for §6.3" in spec
    assert f"a `decoding` section of {len(VERIFICATION['decoding'])} defective" in spec
    assert f"{len(_load('paste.json')['cases'])} named pastes for §11.5" in spec


# --- the portable form (spec §13): vc.json ---------------------------------------------------

VC = _load("vc.json")


def test_vc_full_credential_is_the_tokens_and_its_intermediate_values_hold() -> None:
    import hashlib

    from endorse.protocol.vc import ENDORSE_CONTEXT, endorsement_credential, jcs, verify_jcs

    full = VC["full"]
    credential = full["credential"]
    e = verify_token(full["token"], Endorsement).object
    assert verify_jcs(credential).did == e.issuer == KEYS["issuer"]["did"]
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    options = {k: v for k, v in credential["proof"].items() if k != "proofValue"}
    assert jcs(unsigned).decode() == full["canonical_document"]
    assert jcs(options).decode() == full["canonical_proof_options"]
    hash_data = hashlib.sha256(jcs(options)).digest() + hashlib.sha256(jcs(unsigned)).digest()
    assert hash_data.hex() == full["hash_data_hex"]
    assert VC["context"] == ENDORSE_CONTEXT
    # Rebuilt from the token with the vector key: the same credential, byte for byte.
    from endorse.protocol import SigningKey

    alice = SigningKey.from_seed(bytes.fromhex(KEYS["issuer"]["seed_hex"]))
    assert endorsement_credential(e, alice) == credential


def test_vc_subject_digest() -> None:
    from endorse.protocol.vc import subject_digest

    d = VC["subject_digest"]
    assert subject_digest(d["credential_id"], d["identifier"]) == d["digest"]


def test_vc_status_list_credential() -> None:
    from endorse.protocol.vc import read_status_list_credential, verify_jcs

    entry = VC["status_list_credential"]
    slc, document, bits = read_status_list_credential(json.dumps(entry["credential"]))
    assert verify_jcs(document).did == slc.issuer == KEYS["issuer"]["did"]
    assert [i for i in entry["revoked"] if bits.get(i)] == entry["revoked"]
    assert bits.count() == len(entry["revoked"])


def test_vc_cases_cover_every_verdict_a_credential_can_have() -> None:
    # Named, not derived from Verdict: a verdict added for another object (a refusal's) is not
    # one a credential can have. issuer_key_revoked needs a revoked key (tests/test_vc.py).
    found = {c["expected_verdict"] for c in VC["cases"]}
    assert found == {
        "valid",
        "revoked",
        "expired",
        "not_yet_valid",
        "bad_signature",
        "malformed",
        "unknown_issuer",
        "subject_mismatch",
        "purpose_not_allowed",
        "audience_mismatch",
        "status_unavailable",
    }
    assert found <= {v.value for v in Verdict}


@pytest.mark.parametrize("case", _by_name(VC["cases"]))
def test_vc_case(case: dict[str, Any]) -> None:
    from endorse.protocol.vc import verify_credential

    issuers = {
        entry["listed_as"]: TrustedIssuer(
            entry["key"], identity=entry["identity"], revoked_from=entry["revoked_from"]
        )
        for entry in case["issuers"]
    }
    lists = index_status_lists(
        verify_status_list(token, REGISTRY_KEY, REGISTRY) for token in case["status_lists"]
    )
    result = verify_credential(
        json.dumps(case["credential"]),
        now=case["now"],
        clock_skew=case["clock_skew"],
        issuers=issuers,
        status_lists=lists,
        **case["expect"],
    )
    assert result.verdict.value == case["expected_verdict"], result.detail
