"""Every public callable raises only EndorseError, whatever it is given (review finding M1).

Each callable of ``endorse.protocol.__all__`` (and ``canonical.encode``/``decode``, the signed
request functions and the methods of Bitstring, PublicKey and SigningKey) is called with
otherwise valid arguments and one odd value in one slot, positional or keyword, for every slot
and every odd value. Success is fine; any exception but an EndorseError is a leak.
"""

from __future__ import annotations

import inspect as pyinspect
from collections.abc import Callable
from typing import Any

import pytest
from helpers import (
    ALICE,
    BOB,
    BOB_KEY,
    EMPLOYMENT,
    MANAGER,
    NOW,
    REGISTRY,
    REGISTRY_KEY,
    alice_token,
    status_list,
    trusted_alice,
)

import endorse.protocol
from endorse.protocol import (
    MIN_SIZE,
    Bitstring,
    Check,
    EndorseError,
    Endorsement,
    Expectations,
    InvalidArgument,
    KeyBinding,
    KeyRevocation,
    KeyRotation,
    MalformedToken,
    Policy,
    Presentation,
    PublicKey,
    Receipt,
    ReferenceRequest,
    Refusal,
    Registration,
    RegistryKeyRotation,
    Relationship,
    Requester,
    Revocation,
    SignaturePool,
    SignedObject,
    SigningKey,
    StatusList,
    StatusListToken,
    StatusRef,
    Subject,
    TrustedFacts,
    TrustedIssuer,
    Unverified,
    Verdict,
    VerificationFailed,
    VerificationResult,
    Verified,
    build_endorsement,
    build_policy,
    build_reference_request,
    build_refusal,
    canonical,
    check_purpose,
    check_signature,
    decode_unverified,
    default_workers,
    index_status_lists,
    inspect,
    issue,
    new_id,
    requests,
    sign,
    sign_policy,
    sign_refusal,
    signing_context,
    token_hash,
    verify_endorsement,
    verify_endorsement_strict,
    verify_endorsement_with,
    verify_endorsements,
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

ODD_VALUES: list[object] = [None, 5, 1.0, True, [], {}, b"", "", "\ud800", "x" * 100_000]

TOKEN = alice_token()
TH = token_hash(TOKEN)
NONCE = "n0nce-from-the-verifier"
BITS = Bitstring(MIN_SIZE)
LIST = status_list()
BINDING = KeyBinding(REGISTRY, ALICE.did, "alice@example.com", "Alice Smith", 0, "email-code", 0)
KEY_REVOCATION = KeyRevocation(ALICE.did, NOW, ALICE.did, NOW)
BINDING_TOKEN = sign(BINDING, REGISTRY_KEY)
LIST_TOKEN = sign(LIST.to_token_object(), REGISTRY_KEY)
RECEIPT_TOKEN = sign(Receipt(REGISTRY, TH, "valid", NOW), REGISTRY_KEY)
REGISTRATION_TOKEN = sign(Registration(REGISTRY, TH, ALICE.did, NOW), REGISTRY_KEY)
REVOCATION_TOKEN = sign(Revocation("A" * 22, ALICE.did, ALICE.did, NOW), ALICE)
KEY_REVOCATION_TOKEN = sign(KEY_REVOCATION, ALICE)
PRESENTATION = sign(Presentation(BOB_KEY.did, TH, NONCE, NOW), BOB_KEY)
ENDORSEMENT = inspect(TOKEN).object
RESULT = verify_endorsement(TOKEN, now=NOW, issuers={})
ISSUE_KW: dict[str, Any] = {
    "now": NOW,
    "expires": None,
    "not_before": None,
    "audience": None,
    "statement": None,
    "contact": False,
    "status": None,
}
VERIFY_KW: dict[str, Any] = {
    "now": NOW,
    "issuers": trusted_alice(),
    "status_lists": {(REGISTRY, "list-1"): LIST},
    "subject": "Bob Jones",
    "purpose": EMPLOYMENT,
    "audience": None,
    "presentation": PRESENTATION,
    "nonce": NONCE,
    "registration": None,
    "clock_skew": 300,
    "max_status_staleness": 0,
    "require_status": True,
}
REQUESTER = Requester("carol@example.net", "key-binding", BOB_KEY.did, "Carol")
REFERENCE_REQUEST_KW: dict[str, Any] = {
    "registry": REGISTRY,
    "requester": REQUESTER,
    "referee": "alice@example.com",
    "subject": BOB,
    "relationship": MANAGER,
    "purpose": EMPLOYMENT,
    "now": NOW,
    "expires": NOW + 86_400,
    "audience": "acme",
    "id": "A" * 22,
}
REFERENCE_REQUEST = build_reference_request(**REFERENCE_REQUEST_KW)
REFERENCE_REQUEST_TOKEN = sign(REFERENCE_REQUEST, REGISTRY_KEY)
REFUSAL_KW: dict[str, Any] = {
    "now": NOW,
    "purpose": EMPLOYMENT,
    "reason": "not_known",
    "request": "A" * 22,
    "expires": NOW + 86_400,
}
REFUSAL = build_refusal(ALICE, "Alice", BOB, **REFUSAL_KW)
REFUSAL_TOKEN = sign(REFUSAL, ALICE)
POLICY = build_policy(ALICE, "Alice", now=NOW, notify=True)
POLICY_TOKEN = sign(POLICY, ALICE)
EXPECTED = Expectations(NOW, "Bob Jones", EMPLOYMENT, None, PRESENTATION, NONCE, 300)
TRUSTED = TrustedFacts(trusted_alice(), {(REGISTRY, "list-1"): LIST}, None, 0)
REQUEST_HEADERS = requests.sign_request(ALICE, REGISTRY, "POST", "/x", b"{}", now=NOW)
PEM = ALICE.to_pem()
ENCRYPTED_PEM = ALICE.to_pem(b"pw")

Call = tuple[Callable[..., object], tuple[object, ...], dict[str, object]]


def c(fn: Callable[..., object], *args: object, **kwargs: object) -> Call:
    return (fn, args, kwargs)


CALLS: dict[str, Call] = {
    # keys
    "PublicKey": c(PublicKey, ALICE.public_key.raw),
    "PublicKey.from_did": c(PublicKey.from_did, ALICE.did),
    "PublicKey.verify": c(ALICE.public_key.verify, b"m", ALICE.sign(b"m")),
    "SigningKey": c(SigningKey, b"\x01" * 32),
    "SigningKey.from_seed": c(SigningKey.from_seed, b"\x01" * 32),
    "SigningKey.sign": c(ALICE.sign, b"m"),
    "SigningKey.to_pem": c(ALICE.to_pem, b"pw"),
    "SigningKey.from_pem": c(SigningKey.from_pem, ENCRYPTED_PEM, b"pw"),
    "SigningKey.from_pem/plain": c(SigningKey.from_pem, PEM, None),
    # objects
    "SignedObject": c(SignedObject),
    "Subject": c(Subject, "Bob Jones", "bob@example.com", None, BOB_KEY.did),
    "Relationship": c(Relationship, "work", "manager", "Acme", "2019", "2020-01"),
    "StatusRef": c(StatusRef, REGISTRY, "list-1", 7),
    "Endorsement": c(
        Endorsement,
        **{name: getattr(ENDORSEMENT, name) for name in Endorsement.__struct_fields__},
    ),
    "Revocation": c(Revocation, "A" * 22, ALICE.did, ALICE.did, NOW, "reason"),
    "KeyRotation": c(KeyRotation, ALICE.did, BOB_KEY.did, NOW),
    "KeyRevocation": c(KeyRevocation, ALICE.did, NOW, ALICE.did, NOW, "lost"),
    "Presentation": c(Presentation, BOB_KEY.did, TH, NONCE, NOW, "acme"),
    "KeyBinding": c(KeyBinding, REGISTRY, ALICE.did, "a@b.example", "A", 0, "email-code", 0),
    "StatusListToken": c(StatusListToken, REGISTRY, "l", NOW, 300, MIN_SIZE, BITS.encode()),
    "Registration": c(Registration, REGISTRY, TH, ALICE.did, NOW),
    "Receipt": c(Receipt, REGISTRY, TH, "valid", NOW),
    "RegistryKeyRotation": c(
        RegistryKeyRotation, REGISTRY, REGISTRY_KEY.did, BOB_KEY.did, NOW, NOW
    ),
    "Endorsement.from_payload": c(Endorsement.from_payload, ENDORSEMENT.to_payload()),
    "Receipt.from_payload": c(Receipt.from_payload, inspect(RECEIPT_TOKEN).object.to_payload()),
    "check_purpose": c(check_purpose, EMPLOYMENT, "purpose"),
    # claimed references
    "Requester": c(Requester, "carol@example.net", "key-binding", BOB_KEY.did, "Carol"),
    "ReferenceRequest": c(
        ReferenceRequest,
        **{name: getattr(REFERENCE_REQUEST, name) for name in ReferenceRequest.__struct_fields__},
    ),
    "Refusal": c(Refusal, **{name: getattr(REFUSAL, name) for name in Refusal.__struct_fields__}),
    "Policy": c(Policy, **{name: getattr(POLICY, name) for name in Policy.__struct_fields__}),
    "build_reference_request": c(build_reference_request, **REFERENCE_REQUEST_KW),
    "build_refusal": c(build_refusal, ALICE, "Alice", BOB, **REFUSAL_KW),
    "sign_refusal": c(sign_refusal, ALICE, "Alice", BOB, **REFUSAL_KW),
    "build_policy": c(
        build_policy, ALICE, "Alice", now=NOW, notify=True, refs="signed-tokens-only"
    ),
    "sign_policy": c(sign_policy, ALICE, "Alice", now=NOW, notify=False),
    "verify_reference_request": c(
        verify_reference_request,
        REFERENCE_REQUEST_TOKEN,
        registry=REGISTRY,
        registry_key=REGISTRY_KEY.public_key,
    ),
    "verify_refusal": c(
        verify_refusal,
        REFUSAL_TOKEN,
        now=NOW,
        issuers=trusted_alice(),
        subject="Bob Jones",
        purpose=EMPLOYMENT,
        clock_skew=300,
    ),
    "verify_policy": c(verify_policy, POLICY_TOKEN, issuers=trusted_alice()),
    # issuing and tokens
    "build_endorsement": c(build_endorsement, ALICE, "A", BOB, MANAGER, [EMPLOYMENT], **ISSUE_KW),
    "issue": c(issue, ALICE, "Alice", BOB, MANAGER, [EMPLOYMENT], **ISSUE_KW),
    "new_id": c(new_id),
    "sign": c(sign, KeyRotation(ALICE.did, BOB_KEY.did, NOW), ALICE),
    "signing_context": c(signing_context, "endorsement"),
    "token_hash": c(token_hash, TOKEN),
    "inspect": c(inspect, TOKEN),
    "decode_unverified": c(decode_unverified, TOKEN, Endorsement),
    "check_signature": c(check_signature, decode_unverified(TOKEN, Endorsement), ALICE.public_key),
    "verify_token": c(verify_token, TOKEN, Endorsement, ALICE.public_key),
    "Unverified": c(Unverified, TOKEN, ENDORSEMENT, b"{}", bytes(64)),
    "Verified": c(Verified, TOKEN, ENDORSEMENT, b"{}", ALICE.public_key),
    # status lists
    "Bitstring": c(Bitstring, MIN_SIZE, bytes(MIN_SIZE // 8)),
    "Bitstring.decode": c(Bitstring.decode, BITS.encode(), MIN_SIZE),
    "Bitstring.get": c(Bitstring(MIN_SIZE).get, 3),
    "Bitstring.set": c(Bitstring(MIN_SIZE).set, 3, True),
    "Bitstring.count": c(BITS.count),
    "Bitstring.encode": c(BITS.encode),
    "StatusList": c(StatusList, REGISTRY, "list-1", NOW, 300, BITS),
    "StatusList.from_token_object": c(StatusList.from_token_object, LIST.to_token_object()),
    "StatusList.is_revoked": c(LIST.is_revoked, 3),
    # trust
    "TrustedIssuer": c(TrustedIssuer, ALICE.did, "a@example.com", "Alice", 0, REGISTRY, None),
    "TrustedIssuer.pinned": c(TrustedIssuer.pinned, ALICE.did),
    "TrustedIssuer.from_binding": c(TrustedIssuer.from_binding, BINDING, KEY_REVOCATION),
    "verify_key_binding": c(verify_key_binding, BINDING_TOKEN, REGISTRY_KEY.public_key, REGISTRY),
    "verify_status_list": c(verify_status_list, LIST_TOKEN, REGISTRY_KEY.public_key, REGISTRY),
    "verify_receipt": c(verify_receipt, RECEIPT_TOKEN, REGISTRY_KEY.public_key, REGISTRY),
    "verify_registry_key_rotation": c(
        verify_registry_key_rotation,
        sign(RegistryKeyRotation(REGISTRY, REGISTRY_KEY.did, BOB_KEY.did, NOW, NOW), REGISTRY_KEY),
        REGISTRY_KEY.public_key,
        REGISTRY,
    ),
    "verify_registration": c(
        verify_registration, REGISTRATION_TOKEN, REGISTRY_KEY.public_key, REGISTRY
    ),
    "verify_revocation": c(verify_revocation, REVOCATION_TOKEN, REGISTRY_KEY.public_key),
    "verify_key_revocation": c(verify_key_revocation, KEY_REVOCATION_TOKEN, None),
    # verification
    "Check": c(Check, "format", True, "ok"),
    "VerificationResult": c(VerificationResult, Verdict.VALID, "ok", (), NOW, TOKEN),
    "VerificationFailed": c(VerificationFailed, RESULT),
    "index_status_lists": c(index_status_lists, [LIST]),
    "verify_endorsement": c(verify_endorsement, TOKEN, **VERIFY_KW),
    "verify_endorsement_strict": c(verify_endorsement_strict, TOKEN, EXPECTED, TRUSTED),
    "verify_endorsement_with": c(verify_endorsement_with, TOKEN, EXPECTED, TRUSTED),
    # the generator is drained: its checks of the items run as they are read
    "verify_endorsements": c(
        lambda *args, **kwargs: list(verify_endorsements(*args, **kwargs)),
        [(TOKEN, EXPECTED)] * 20,
        TRUSTED,
        workers=2,
        chunk_size=8,
        pool=None,
        executor=None,
        cancel=None,
    ),
    # no process is started before a batch needs one
    "SignaturePool": c(SignaturePool, 2),
    "default_workers": c(default_workers),
    "Expectations": c(Expectations, NOW, "Bob Jones", EMPLOYMENT, None, PRESENTATION, NONCE, 300),
    "TrustedFacts": c(TrustedFacts, trusted_alice(), {(REGISTRY, "list-1"): LIST}, {}, 0),
    "TrustedFacts.unsafe_without_status": c(
        TrustedFacts.unsafe_without_status, trusted_alice(), {(REGISTRY, "list-1"): LIST}, {}, 0
    ),
    # outside __all__: canonical JSON and signed requests
    "canonical.encode": c(canonical.encode, {"a": [1]}, max_depth=4),
    "canonical.decode": c(canonical.decode, b'{"a":1}', max_bytes=64, max_depth=4),
    "canonical.decode_for_schema": c(canonical.decode_for_schema, b'{"a":1}', max_bytes=64),
    "requests.sign_request": c(
        requests.sign_request, ALICE, REGISTRY, "POST", "/x", b"{}", now=NOW, nonce=None
    ),
    "requests.verify_request": c(
        requests.verify_request,
        REGISTRY,
        "POST",
        "/x",
        b"{}",
        REQUEST_HEADERS,
        now=NOW,
        max_skew=300,
    ),
}

NOT_CALLED = {
    # Enum lookup: Verdict("nope") raises ValueError by the Enum protocol, on which pydantic
    # and msgspec rely to report an invalid value (a request schema with a Verdict field
    # would turn any other exception into a server error).
    "Verdict",
}


def test_every_public_callable_is_in_the_table() -> None:
    exported = {
        name
        for name in endorse.protocol.__all__
        if callable(getattr(endorse.protocol, name))
        and not (
            pyinspect.isclass(getattr(endorse.protocol, name))
            and issubclass(getattr(endorse.protocol, name), BaseException)
            and name != "VerificationFailed"  # the one exception with a typed argument
        )
    }
    assert exported - NOT_CALLED <= set(CALLS), sorted(exported - NOT_CALLED - set(CALLS))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_valid_arguments_succeed(name: str) -> None:
    fn, args, kwargs = CALLS[name]
    fn(*args, **kwargs)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_odd_values_in_any_slot_raise_only_endorse_errors(name: str) -> None:
    fn, args, kwargs = CALLS[name]
    leaks = []
    for odd in ODD_VALUES:
        calls = [((*args[:i], odd, *args[i + 1 :]), kwargs) for i in range(len(args))]
        calls += [(args, {**kwargs, k: odd}) for k in kwargs]
        for call_args, call_kwargs in calls:
            try:
                fn(*call_args, **call_kwargs)
            except EndorseError:
                pass
            except Exception as e:
                leaks.append(f"{type(e).__name__}: {e!s:.80} with {odd!r:.20}")
    assert not leaks, "\n".join(leaks)


# --- which error: caller bugs are InvalidArgument, token content is MalformedToken -------


@pytest.mark.parametrize(
    "expectation",
    [
        {"purpose": 5},
        {"subject": 5},
        {"audience": 5},
        {"presentation": 5},
        {"nonce": 5},
        {"registration": "x"},
        {"now": "x"},
        {"now": True},
        {"issuers": []},
        {"status_lists": [1]},
        {"clock_skew": 1.0},
        {"max_status_staleness": None},
        {"require_status": 1},
        {"issuers": {ALICE.did: "trusted"}},
        {"status_lists": {(REGISTRY, "list-1"): "list"}},
    ],
    ids=lambda d: f"{next(iter(d))}={next(iter(d.values()))!r}",
)
def test_verify_endorsement_refuses_wrongly_typed_arguments(
    expectation: dict[str, object],
) -> None:
    with pytest.raises(InvalidArgument):
        verify_endorsement(TOKEN, **{**VERIFY_KW, **expectation})
    with pytest.raises(InvalidArgument):
        verify_endorsement_strict(TOKEN, EXPECTED, expectation)  # type: ignore[arg-type]


@pytest.mark.parametrize("token", [None, 5, b"x", ["x"], "x"])
def test_verify_endorsement_never_raises_for_a_token(token: object) -> None:
    assert verify_endorsement(token, **VERIFY_KW).verdict is Verdict.MALFORMED  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call",
    [
        lambda: decode_unverified(TOKEN, Subject),  # type: ignore[type-var]
        lambda: decode_unverified(TOKEN, "endorsement"),  # type: ignore[type-var]
        lambda: verify_token(TOKEN, Endorsement, ALICE.did),  # type: ignore[arg-type]
        lambda: check_signature("token"),  # type: ignore[arg-type]
        lambda: sign({"type": "endorsement"}, ALICE),  # type: ignore[arg-type]
        lambda: sign(ENDORSEMENT, "key"),  # type: ignore[arg-type]
        lambda: issue("key", "A", BOB, MANAGER, [EMPLOYMENT], now=NOW),  # type: ignore[arg-type]
        lambda: index_status_lists([1, 2]),  # type: ignore[list-item]
        lambda: Bitstring(float(MIN_SIZE)),  # type: ignore[arg-type]
        lambda: Bitstring("x"),  # type: ignore[arg-type]
        lambda: Bitstring.decode(BITS.encode(), float(MIN_SIZE)),  # type: ignore[arg-type]
        lambda: Bitstring(MIN_SIZE).set(1, "no"),  # type: ignore[arg-type]
        lambda: Bitstring(MIN_SIZE).set(1, 1),  # type: ignore[arg-type]
        lambda: verify_revocation(REVOCATION_TOKEN, ALICE.did),  # type: ignore[arg-type]
        lambda: TrustedIssuer(5),  # type: ignore[arg-type]
        lambda: TrustedIssuer(ALICE.did, revoked_from="2020"),  # type: ignore[arg-type]
        lambda: StatusList(REGISTRY, "l", NOW, 300, "bits"),  # type: ignore[arg-type]
        lambda: canonical.decode(b"1", max_bytes="64"),  # type: ignore[arg-type]
        lambda: canonical.encode(1, max_depth=None),  # type: ignore[arg-type]
    ],
    ids=[
        "decode_unverified_non_object_type",
        "decode_unverified_type_name",
        "verify_token_key_as_did_text",
        "check_signature_of_text",
        "sign_a_dict",
        "sign_with_text_key",
        "issue_with_text_key",
        "index_status_lists_of_ints",
        "bitstring_float_size",
        "bitstring_text_size",
        "bitstring_decode_float_size",
        "bitstring_set_text",
        "bitstring_set_int",
        "verify_revocation_registry_key_as_text",
        "trusted_issuer_int_key",
        "trusted_issuer_text_time",
        "status_list_text_bits",
        "canonical_decode_text_max_bytes",
        "canonical_encode_none_max_depth",
    ],
)
def test_caller_bugs_are_invalid_argument(call: Callable[[], object]) -> None:
    with pytest.raises(InvalidArgument):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: Subject(["Bob"], email="bob@example.com"),  # type: ignore[arg-type]
        lambda: Subject(5, email="bob@example.com"),  # type: ignore[arg-type]
        lambda: Relationship("work", "manager", start=2019),  # type: ignore[arg-type]
        lambda: Relationship("work", "manager", start="2019", end=2020),  # type: ignore[arg-type]
        lambda: KeyRotation(["x"], ALICE.did, 0),  # type: ignore[arg-type]
        lambda: Receipt(REGISTRY, TH, ["valid"], NOW),  # type: ignore[arg-type]
        lambda: StatusListToken(REGISTRY, "l", 0, 300, "x", "AAAA"),  # type: ignore[arg-type]
        lambda: StatusListToken(REGISTRY, "l", 0, "300", MIN_SIZE, "AAAA"),  # type: ignore[arg-type]
        lambda: issue(ALICE, "A", BOB, MANAGER, [EMPLOYMENT, 1], now=NOW),  # type: ignore[list-item]
        lambda: issue(ALICE, "A", BOB, MANAGER, [["x"]], now=NOW),  # type: ignore[list-item]
        lambda: issue(ALICE, "A", BOB, MANAGER, EMPLOYMENT, now=NOW),
        lambda: issue(ALICE, 5, BOB, MANAGER, [EMPLOYMENT], now=NOW),  # type: ignore[arg-type]
        lambda: issue(ALICE, "A", BOB, MANAGER, [EMPLOYMENT], now="1"),  # type: ignore[arg-type]
        lambda: issue(ALICE, "A", BOB, MANAGER, [EMPLOYMENT], now=NOW, statement=["x"]),  # type: ignore[arg-type]
        lambda: issue(ALICE, "A", BOB, MANAGER, [EMPLOYMENT], now=NOW, status=("a", "b", 1)),  # type: ignore[arg-type]
        lambda: Endorsement(**{**CALLS["Endorsement"][2], "purposes": [EMPLOYMENT]}),  # type: ignore[arg-type]
        lambda: signing_context("foo"),
        lambda: token_hash(5),  # type: ignore[arg-type]
        lambda: canonical.decode(5, max_bytes=100),  # type: ignore[arg-type]
        lambda: canonical.decode_for_schema(5, max_bytes=100),  # type: ignore[arg-type]
        lambda: Bitstring.decode(b"AAAA", MIN_SIZE),  # type: ignore[arg-type]
    ],
    ids=[
        "subject_name_list",
        "subject_name_int",
        "relationship_start_int",
        "relationship_end_int",
        "key_rotation_key_list",
        "receipt_verdict_list",
        "status_list_size_text",
        "status_list_ttl_text",
        "issue_purpose_int",
        "issue_purpose_list",
        "issue_purposes_one_string",
        "issue_name_int",
        "issue_now_text",
        "issue_statement_list",
        "issue_status_tuple",
        "endorsement_purposes_list",
        "signing_context_unknown_type",
        "token_hash_of_int",
        "canonical_decode_int",
        "canonical_decode_for_schema_int",
        "bitstring_decode_bytes",
    ],
)
def test_wrongly_typed_content_is_malformed(call: Callable[[], object]) -> None:
    with pytest.raises(MalformedToken):
        call()


def test_canonical_decode_of_text_says_it_must_be_bytes() -> None:
    with pytest.raises(MalformedToken, match="must be bytes") as info:
        canonical.decode('{"a":1}', max_bytes=100)  # type: ignore[arg-type]
    assert type(info.value) is MalformedToken  # not NonCanonicalEncoding


def test_verification_failed_needs_a_result() -> None:
    with pytest.raises(InvalidArgument):
        VerificationFailed("valid")  # type: ignore[arg-type]
    assert VerificationFailed(RESULT).verdict == "unknown_issuer"
