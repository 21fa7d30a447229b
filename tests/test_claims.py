"""Claimed references (spec §4.11-§4.13, §6.4): the three objects, their builders and checks.

Tables of valid and invalid objects are named after what they test; every invalid object is
otherwise correctly signed with its own context, so the named defect is the only one. Property
tests: what is built round-trips through a token, and no single changed byte of a token is
accepted. Context separation is checked against every other type of the protocol.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from helpers import ALICE, BOB, BOB_KEY, EMPLOYMENT, MALLORY, MANAGER, NOW, REGISTRY, REGISTRY_KEY
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from endorse.protocol import (
    MAX_VALIDITY,
    PURPOSES,
    REFUSAL_REASONS,
    SIGNED_TOKENS_ONLY,
    BadSignature,
    EndorseError,
    InvalidArgument,
    InvalidKey,
    MalformedToken,
    Receipt,
    Refusal,
    Relationship,
    Requester,
    Subject,
    TrustedIssuer,
    Verdict,
    VerificationFailed,
    WrongTokenType,
    build_policy,
    build_reference_request,
    build_refusal,
    canonical,
    issue,
    sign,
    sign_policy,
    sign_refusal,
    signing_context,
    token_hash,
    verify_endorsement,
    verify_policy,
    verify_receipt,
    verify_reference_request,
    verify_refusal,
    verify_token,
)
from endorse.protocol.encoding import b64url_decode, b64url_encode
from endorse.protocol.keys import SigningKey
from endorse.protocol.objects import DAY, MAX_REQUEST_DURATION, OBJECT_TYPES, SignedObject
from endorse.protocol.requests import REQUEST_CONTEXT, ROTATION_CONSENT_CONTEXT
from endorse.protocol.verdicts import REFUSAL_SENTENCES

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CAROL = SigningKey.from_seed(b"\x05" * 32)
TRUSTED = {ALICE.did: TrustedIssuer(ALICE.did, identity="alice@example.com", registry=REGISTRY)}
REQUEST_ID = b64url_encode(bytes(range(16)))
REFUSAL_ID = b64url_encode(bytes(range(1, 17)))

REQUESTER = Requester("carol@example.net", "key-binding", CAROL.did, "Carol Recruiter")
REQUEST = build_reference_request(
    registry=REGISTRY,
    requester=REQUESTER,
    referee="alice@example.com",
    subject=BOB,
    relationship=MANAGER,
    purpose=EMPLOYMENT,
    now=NOW,
    expires=NOW + 14 * DAY,
    audience="https://hr.example.com",
    id=REQUEST_ID,
)
REFUSAL = build_refusal(
    ALICE,
    "Alice Smith",
    BOB,
    now=NOW,
    purpose=EMPLOYMENT,
    reason="no_reference",
    request=REQUEST_ID,
    id=REFUSAL_ID,
)
POLICY = build_policy(ALICE, "Alice Smith", now=NOW, notify=True)

# type -> (valid object, the key that signs it)
BASES: dict[str, tuple[SignedObject, SigningKey]] = {
    "reference-request": (REQUEST, REGISTRY_KEY),
    "refusal": (REFUSAL, ALICE),
    "policy": (POLICY, ALICE),
}


def craft(payload: dict[str, Any], key: SigningKey, *, type_name: str, context: str = "") -> str:
    """A token over ``payload`` signed with ``context`` (default: the type's own), unchecked."""
    body = canonical.encode(payload, max_depth=16)
    signature = key.sign(signing_context(context or type_name) + body)
    return ".".join((f"{type_name}-v1", b64url_encode(body), b64url_encode(signature)))


def mutated(type_name: str, **changes: Any) -> str:
    """The base object of ``type_name`` with members changed (``...`` deletes one), signed."""
    obj, key = BASES[type_name]
    payload = copy.deepcopy(obj.to_payload())
    for member, value in changes.items():
        target = payload
        *path, last = member.split("__")
        for step in path:
            target = target[step]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return craft(payload, key, type_name=type_name)


def check(type_name: str, token: str) -> SignedObject:
    """Verify ``token`` as its type demands; raise for anything but acceptance.

    A refusal that is not ``refused`` raises the error its verdict stands for, so the three
    types are compared alike: ``MalformedToken`` (``WrongTokenType`` for another type) or
    ``BadSignature``; any other verdict raises :class:`VerificationFailed`.
    """
    if type_name == "reference-request":
        return verify_reference_request(
            token, registry=REGISTRY, registry_key=REGISTRY_KEY.public_key
        ).object
    if type_name == "policy":
        return verify_policy(token, issuers=TRUSTED).object
    result = verify_refusal(token, now=NOW, issuers=TRUSTED)
    if result.verdict is Verdict.REFUSED and result.refusal is not None:
        return result.refusal
    if result.verdict is Verdict.MALFORMED:
        verify_token(token, Refusal)  # raises the decoding error itself, WrongTokenType included
    elif result.verdict is Verdict.BAD_SIGNATURE:
        raise BadSignature(result.detail)
    raise VerificationFailed(result)


# --- valid objects ---------------------------------------------------------------------------

VALID = {
    "request_base": ("reference-request", {}),
    "request_exp_exactly_30_days": ("reference-request", {"exp": NOW + MAX_REQUEST_DURATION}),
    "request_exp_one_second": ("reference-request", {"exp": NOW + 1}),
    "request_email_code_without_key": (
        "reference-request",
        {"by": {"email": "bob@example.com", "method": "email-code"}},
    ),
    "request_without_aud": ("reference-request", {"aud": ...}),
    "request_custom_purpose": ("reference-request", {"purpose": "x-board-membership"}),
    "request_subject_by_handle": (
        "reference-request",
        {"sub": {"name": "Bob Jones", "handle": "github:bob"}},
    ),
    "refusal_base": ("refusal", {}),
    "refusal_for_every_purpose": ("refusal", {"purpose": ...}),
    "refusal_without_reason": ("refusal", {"reason": ...}),
    "refusal_standing_without_req": ("refusal", {"req": ...}),
    "refusal_minimal": ("refusal", {"purpose": ..., "reason": ..., "req": ...}),
    "refusal_reason_not_known": ("refusal", {"reason": "not_known"}),
    "refusal_reason_prefer_not_to_say": ("refusal", {"reason": "prefer_not_to_say"}),
    "refusal_exp_exactly_five_years": ("refusal", {"exp": NOW + MAX_VALIDITY}),
    "refusal_custom_purpose": ("refusal", {"purpose": "x-board-membership"}),
    "refusal_iss_name_non_ascii": ("refusal", {"iss_name": "Åsa Lindström"}),
    "policy_base": ("policy", {}),
    "policy_notify_false": ("policy", {"notify": False}),
    "policy_iat_zero": ("policy", {"iat": 0}),
}


@pytest.mark.parametrize(("type_name", "changes"), VALID.values(), ids=list(VALID))
def test_valid_object(type_name: str, changes: dict[str, Any]) -> None:
    token = mutated(type_name, **changes)
    obj = check(type_name, token)
    assert type_name == obj.TYPE
    # Read back, the object writes the very payload that was signed.
    assert canonical.encode(obj.to_payload()) == b64url_decode(token.split(".")[1])


# --- invalid objects, named after the defect -------------------------------------------------

LONG = "x" * 129
INVALID = {
    # reference-request (spec §4.11)
    "request_exp_beyond_30_days": ("reference-request", {"exp": NOW + MAX_REQUEST_DURATION + 1}),
    "request_exp_equals_iat": ("reference-request", {"exp": NOW}),
    "request_exp_before_iat": ("reference-request", {"exp": NOW - 1}),
    "request_exp_missing": ("reference-request", {"exp": ...}),
    "request_iat_string": ("reference-request", {"iat": str(NOW)}),
    "request_by_missing": ("reference-request", {"by": ...}),
    "request_by_email_invalid": ("reference-request", {"by__email": "carol at example"}),
    "request_by_method_unknown": ("reference-request", {"by__method": "password"}),
    "request_by_method_missing": ("reference-request", {"by__method": ...}),
    "request_by_key_binding_without_key": ("reference-request", {"by__key": ...}),
    "request_by_email_code_with_key": ("reference-request", {"by__method": "email-code"}),
    "request_by_key_not_a_did": ("reference-request", {"by__key": "did:key:zNotAKey"}),
    "request_by_name_too_long": ("reference-request", {"by__name": LONG}),
    "request_by_name_with_newline": ("reference-request", {"by__name": "Carol\nEvil"}),
    "request_by_unknown_member": ("reference-request", {"by__phone": "+1 555 0100"}),
    "request_by_null_name": ("reference-request", {"by__name": None}),
    "request_referee_not_email": ("reference-request", {"referee": "Alice Smith"}),
    "request_referee_missing": ("reference-request", {"referee": ...}),
    "request_purpose_unknown": ("reference-request", {"purpose": "hiring"}),
    "request_purposes_array": (
        "reference-request",
        {"purpose": ..., "purposes": [EMPLOYMENT]},
    ),
    "request_reg_trailing_slash": ("reference-request", {"reg": REGISTRY + "/"}),
    "request_reg_plain_http": ("reference-request", {"reg": "http://registry.example"}),
    "request_aud_with_space": ("reference-request", {"aud": "hr example"}),
    "request_aud_null": ("reference-request", {"aud": None}),
    "request_rel_missing": ("reference-request", {"rel": ...}),
    "request_rel_role_empty": ("reference-request", {"rel__role": ""}),
    "request_rel_ends_before_start": ("reference-request", {"rel__to": "2018"}),
    "request_sub_missing": ("reference-request", {"sub": ...}),
    "request_sub_name_only": ("reference-request", {"sub": {"name": "Bob Jones"}}),
    "request_id_missing": ("reference-request", {"id": ...}),
    "request_id_noncanonical": ("reference-request", {"id": "A" * 21 + "B"}),
    "request_unknown_member": ("reference-request", {"stmt": "please answer"}),
    "request_version_2": ("reference-request", {"v": 2}),
    # refusal (spec §4.12)
    "refusal_reason_unknown": ("refusal", {"reason": "busy"}),
    "refusal_reason_empty": ("refusal", {"reason": ""}),
    "refusal_reason_upper_case": ("refusal", {"reason": "NOT_KNOWN"}),
    "refusal_reason_integer": ("refusal", {"reason": 1}),
    "refusal_reason_null": ("refusal", {"reason": None}),
    "refusal_reason_array": ("refusal", {"reason": ["not_known"]}),
    "refusal_purpose_unknown": ("refusal", {"purpose": "hiring"}),
    "refusal_purpose_empty": ("refusal", {"purpose": ""}),
    "refusal_purpose_array": ("refusal", {"purpose": [EMPLOYMENT]}),
    "refusal_purposes_member": ("refusal", {"purpose": ..., "purposes": [EMPLOYMENT]}),
    "refusal_req_short": ("refusal", {"req": "A" * 21}),
    "refusal_req_noncanonical": ("refusal", {"req": "A" * 21 + "B"}),
    "refusal_exp_equals_iat": ("refusal", {"exp": NOW}),
    "refusal_exp_before_iat": ("refusal", {"exp": NOW - 1}),
    "refusal_exp_beyond_five_years": ("refusal", {"exp": NOW + MAX_VALIDITY + 1}),
    "refusal_exp_missing": ("refusal", {"exp": ...}),
    "refusal_iat_negative": ("refusal", {"iat": -1}),
    "refusal_iat_string": ("refusal", {"iat": str(NOW)}),
    "refusal_iat_true": ("refusal", {"iat": True}),
    "refusal_iss_name_empty": ("refusal", {"iss_name": ""}),
    "refusal_iss_name_too_long": ("refusal", {"iss_name": LONG}),
    "refusal_iss_name_trailing_space": ("refusal", {"iss_name": "Alice "}),
    "refusal_iss_name_bidi_override": ("refusal", {"iss_name": "Alice\u202eevil"}),
    "refusal_iss_name_missing": ("refusal", {"iss_name": ...}),
    "refusal_sub_missing": ("refusal", {"sub": ...}),
    "refusal_sub_name_only": ("refusal", {"sub": {"name": "Bob Jones"}}),
    "refusal_sub_email_invalid": ("refusal", {"sub__email": "bob@"}),
    "refusal_sub_unknown_member": ("refusal", {"sub__age": 40}),
    "refusal_id_missing": ("refusal", {"id": ...}),
    "refusal_stmt_free_text": ("refusal", {"stmt": "I would rather not."}),
    "refusal_aud_member": ("refusal", {"aud": "https://hr.example.com"}),
    "refusal_nbf_member": ("refusal", {"nbf": NOW}),
    "refusal_status_member": ("refusal", {"status": {"reg": REGISTRY, "list": "l", "idx": 1}}),
    "refusal_version_string": ("refusal", {"v": "1"}),
    # policy (spec §4.13)
    "policy_refs_missing": ("policy", {"refs": ...}),
    "policy_refs_other": ("policy", {"refs": "any"}),
    "policy_refs_empty": ("policy", {"refs": ""}),
    "policy_refs_array": ("policy", {"refs": [SIGNED_TOKENS_ONLY]}),
    "policy_notify_missing": ("policy", {"notify": ...}),
    "policy_notify_integer": ("policy", {"notify": 1}),
    "policy_notify_string": ("policy", {"notify": "true"}),
    "policy_notify_null": ("policy", {"notify": None}),
    "policy_iss_name_missing": ("policy", {"iss_name": ...}),
    "policy_iss_not_a_did": ("policy", {"iss": "alice@example.com"}),
    "policy_exp_member": ("policy", {"exp": NOW + DAY}),
    "policy_iat_negative": ("policy", {"iat": -5}),
    "policy_type_refusal": ("policy", {"type": "refusal"}),
}


@pytest.mark.parametrize(("type_name", "changes"), INVALID.values(), ids=list(INVALID))
def test_invalid_object_is_refused(type_name: str, changes: dict[str, Any]) -> None:
    token = mutated(type_name, **changes)
    cls = OBJECT_TYPES[type_name]
    with pytest.raises(MalformedToken):
        verify_token(
            token, cls, None if type_name != "reference-request" else REGISTRY_KEY.public_key
        )
    with pytest.raises(MalformedToken):
        check(type_name, token)
    if type_name == "refusal":  # check() maps the verdict; here it is seen directly
        assert verify_refusal(token, now=NOW, issuers=TRUSTED).verdict is Verdict.MALFORMED


def test_invalid_objects_cannot_be_built_and_signed() -> None:
    # The builders refuse what verifiers refuse: nothing invalid can be signed in the first place.
    with pytest.raises(MalformedToken, match="reason"):
        sign_refusal(ALICE, "Alice", BOB, now=NOW, reason="busy")
    with pytest.raises(MalformedToken, match="purpose"):
        sign_refusal(ALICE, "Alice", BOB, now=NOW, purpose="hiring")
    with pytest.raises(MalformedToken, match="five years"):
        sign_refusal(ALICE, "Alice", BOB, now=NOW, expires=NOW + MAX_VALIDITY + 1)
    with pytest.raises(MalformedToken):
        sign_refusal(ALICE, "Alice", BOB, now=NOW, request="not-an-id")
    with pytest.raises(MalformedToken, match="30 days"):
        build_reference_request(
            registry=REGISTRY,
            requester=REQUESTER,
            referee="alice@example.com",
            subject=BOB,
            relationship=MANAGER,
            purpose=EMPLOYMENT,
            now=NOW,
            expires=NOW + MAX_REQUEST_DURATION + 1,
        )
    with pytest.raises(MalformedToken, match="key-binding"):
        Requester("carol@example.net", "key-binding")
    with pytest.raises(MalformedToken, match="notify"):
        build_policy(ALICE, "Alice", now=NOW, notify=1)  # type: ignore[arg-type]
    with pytest.raises(MalformedToken, match="refs"):
        build_policy(ALICE, "Alice", now=NOW, notify=True, refs="any")
    with pytest.raises(MalformedToken):  # the e-mail pattern is checked when signed
        sign(
            build_reference_request(
                registry=REGISTRY,
                requester=REQUESTER,
                referee="not an address",
                subject=BOB,
                relationship=MANAGER,
                purpose=EMPLOYMENT,
                now=NOW,
                expires=NOW + DAY,
            ),
            REGISTRY_KEY,
        )


def test_signers_are_the_named_keys() -> None:
    with pytest.raises(InvalidKey):
        sign(REFUSAL, MALLORY)
    with pytest.raises(InvalidKey):
        sign(POLICY, MALLORY)
    with pytest.raises(InvalidArgument):
        build_refusal("alice", "Alice", BOB, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        build_policy(ALICE.did, "Alice", now=NOW, notify=True)  # type: ignore[arg-type]
    # A reference request is registry-signed: it names no signer, and is checked only with the
    # pinned registry key.
    assert REQUEST.signer is None
    token = sign(REQUEST, MALLORY)
    with pytest.raises(BadSignature):
        verify_reference_request(token, registry=REGISTRY, registry_key=REGISTRY_KEY.public_key)


def test_builders_defaults() -> None:
    refusal = build_refusal(ALICE, "Alice", BOB, now=NOW)
    assert (refusal.issued_at, refusal.expires) == (NOW, NOW + 365 * DAY)
    assert (refusal.purpose, refusal.reason, refusal.request) == (None, None, None)
    assert refusal.id != build_refusal(ALICE, "Alice", BOB, now=NOW).id  # random ids
    assert refusal.signer == ALICE.did
    policy = verify_policy(sign_policy(ALICE, "Alice", now=NOW, notify=False), issuers=TRUSTED)
    assert (policy.object.refs, policy.object.notify) == (SIGNED_TOKENS_ONLY, False)
    assert policy.signer == ALICE.public_key
    assert REFUSAL_REASONS == ("not_known", "no_reference", "prefer_not_to_say")


# --- verify_refusal (spec §6.4) --------------------------------------------------------------

REFUSAL_TOKEN = sign(REFUSAL, ALICE)
STANDING_TOKEN = sign_refusal(ALICE, "Alice Smith", BOB, now=NOW, expires=NOW + 30 * DAY)


REFUSAL_CASES: list[tuple[str, object, dict[str, Any], Verdict]] = [
    ("genuine", REFUSAL_TOKEN, {}, Verdict.REFUSED),
    ("same_purpose", REFUSAL_TOKEN, {"purpose": EMPLOYMENT}, Verdict.REFUSED),
    ("other_purpose", REFUSAL_TOKEN, {"purpose": "tenancy-reference"}, Verdict.PURPOSE_NOT_ALLOWED),
    ("standing_any_purpose", STANDING_TOKEN, {"purpose": "tenancy-reference"}, Verdict.REFUSED),
    ("standing_custom_purpose", STANDING_TOKEN, {"purpose": "x-anything"}, Verdict.REFUSED),
    ("subject_by_email", REFUSAL_TOKEN, {"subject": "BOB@example.com"}, Verdict.REFUSED),
    ("subject_by_name", REFUSAL_TOKEN, {"subject": "bob  jones"}, Verdict.REFUSED),
    ("subject_other", REFUSAL_TOKEN, {"subject": "Carol"}, Verdict.SUBJECT_MISMATCH),
    (
        "subject_before_purpose",
        REFUSAL_TOKEN,
        {"subject": "Carol", "purpose": "x-a"},
        Verdict.SUBJECT_MISMATCH,
    ),
    (
        "subject_key_is_not_a_name",
        REFUSAL_TOKEN,
        {"subject": BOB_KEY.did},
        Verdict.SUBJECT_MISMATCH,
    ),
    ("unknown_issuer", REFUSAL_TOKEN, {"issuers": {}}, Verdict.UNKNOWN_ISSUER),
    (
        "issuer_listed_under_other_key",
        REFUSAL_TOKEN,
        {"issuers": {ALICE.did: TrustedIssuer.pinned(MALLORY.did)}},
        Verdict.UNKNOWN_ISSUER,
    ),
    (
        "issuer_key_revoked_after_iat",
        REFUSAL_TOKEN,
        {"issuers": {ALICE.did: TrustedIssuer(ALICE.did, revoked_from=NOW + DAY)}},
        Verdict.ISSUER_KEY_REVOKED,
    ),
    ("expired", REFUSAL_TOKEN, {"now": REFUSAL.expires + 300}, Verdict.EXPIRED),
    ("in_force_within_skew", REFUSAL_TOKEN, {"now": REFUSAL.expires + 299}, Verdict.REFUSED),
    ("not_yet_valid", REFUSAL_TOKEN, {"now": NOW - 301}, Verdict.NOT_YET_VALID),
    ("no_skew", REFUSAL_TOKEN, {"now": NOW - 1, "clock_skew": 0}, Verdict.NOT_YET_VALID),
    (
        "endorsement_given",
        issue(ALICE, "A", BOB, MANAGER, [EMPLOYMENT], now=NOW),
        {},
        Verdict.MALFORMED,
    ),
    ("policy_given", sign(POLICY, ALICE), {}, Verdict.MALFORMED),
    ("not_text", 42, {}, Verdict.MALFORMED),
]


@pytest.mark.parametrize(
    ("name", "token", "kwargs", "verdict"), REFUSAL_CASES, ids=[c[0] for c in REFUSAL_CASES]
)
def test_verify_refusal(name: str, token: object, kwargs: dict[str, Any], verdict: Verdict) -> None:
    arguments: dict[str, Any] = {"now": NOW, "issuers": TRUSTED} | kwargs
    result = verify_refusal(token, **arguments)  # type: ignore[arg-type]
    assert result.verdict is verdict, (name, result.detail)
    assert not result.valid and result.endorsement is None
    assert result.checked_at == arguments["now"]
    with pytest.raises(VerificationFailed):
        result.raise_for_verdict()
    if verdict is not Verdict.REFUSED:
        assert not result.checks[-1].passed
        # A refusal out of scope is still a refusal: its own sentence, never one about an
        # endorser's consent (spec §6.4).
        assert result.message == REFUSAL_SENTENCES.get(verdict, verdict.sentence)


def test_refused_result_names_who_refuses_for_whom_and_what() -> None:
    result = verify_refusal(REFUSAL_TOKEN, now=NOW, issuers=TRUSTED, subject="bob@example.com")
    assert result.verdict is Verdict.REFUSED
    assert result.message == (
        "Alice Smith states that they do not give a reference for Bob Jones"
        " for employment-reference."
    )
    assert result.refusal == REFUSAL
    assert result.issuer == TRUSTED[ALICE.did]
    assert [c.name for c in result.checks] == [
        "format",
        "signature",
        "issuer",
        "issuer_key",
        "validity",
        "subject",
    ]
    assert all(c.passed for c in result.checks)
    assert result.token_hash == token_hash(REFUSAL_TOKEN)
    standing = verify_refusal(STANDING_TOKEN, now=NOW, issuers=TRUSTED)
    assert standing.message == "Alice Smith states that they do not give a reference for Bob Jones."
    # The generic sentence of the verdict stays what a list of verdicts shows.
    assert Verdict.REFUSED.sentence.endswith(".")


def test_verify_refusal_refuses_bad_arguments() -> None:
    for kwargs in (
        {"now": "now", "issuers": TRUSTED},
        {"now": NOW, "issuers": [ALICE.did]},
        {"now": NOW, "issuers": TRUSTED, "subject": 5},
        {"now": NOW, "issuers": TRUSTED, "purpose": b"x"},
        {"now": NOW, "issuers": TRUSTED, "clock_skew": 1.5},
        {"now": NOW, "issuers": {ALICE.did: ALICE.did}},
    ):
        with pytest.raises(InvalidArgument):
            verify_refusal(REFUSAL_TOKEN, **kwargs)


def test_an_endorsement_never_verifies_as_refused_nor_a_refusal_as_valid() -> None:
    endorsement = issue(ALICE, "Alice Smith", BOB, MANAGER, [EMPLOYMENT], now=NOW)
    assert verify_refusal(endorsement, now=NOW, issuers=TRUSTED).verdict is Verdict.MALFORMED
    result = verify_endorsement(REFUSAL_TOKEN, now=NOW, issuers=TRUSTED, require_status=False)
    assert result.verdict is Verdict.MALFORMED
    assert "expected a token of type 'endorsement'" in result.detail


def test_receipts_may_carry_refused() -> None:
    token = sign(Receipt(REGISTRY, token_hash(REFUSAL_TOKEN), "refused", NOW), REGISTRY_KEY)
    assert verify_receipt(token, REGISTRY_KEY.public_key, REGISTRY).verdict == "refused"


# --- verify_policy and verify_reference_request ----------------------------------------------


def test_verify_policy() -> None:
    token = sign(POLICY, ALICE)
    assert verify_policy(token, issuers=TRUSTED).object == POLICY
    with pytest.raises(BadSignature, match="does not trust"):
        verify_policy(token, issuers={})
    with pytest.raises(BadSignature, match="revoked"):
        verify_policy(token, issuers={ALICE.did: TrustedIssuer(ALICE.did, revoked_from=NOW)})
    with pytest.raises(BadSignature, match="does not trust"):
        verify_policy(token, issuers={ALICE.did: TrustedIssuer.pinned(MALLORY.did)})
    with pytest.raises(WrongTokenType):
        verify_policy(REFUSAL_TOKEN, issuers=TRUSTED)
    with pytest.raises(InvalidArgument):
        verify_policy(token, issuers=[ALICE.did])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        verify_policy(token, issuers={ALICE.did: "trusted"})  # type: ignore[dict-item]


def test_verify_reference_request() -> None:
    token = sign(REQUEST, REGISTRY_KEY)
    verified = verify_reference_request(
        token, registry=REGISTRY, registry_key=REGISTRY_KEY.public_key
    )
    assert verified.object == REQUEST
    assert verified.object.requester.key == CAROL.did
    # exp is the registry's lifecycle, not the signature's meaning: an old request still checks.
    assert verified.object.expires == NOW + 14 * DAY
    with pytest.raises(MalformedToken, match="registry"):
        verify_reference_request(
            token, registry="https://other.example", registry_key=REGISTRY_KEY.public_key
        )
    with pytest.raises(BadSignature):
        verify_reference_request(token, registry=REGISTRY, registry_key=ALICE.public_key)
    with pytest.raises(WrongTokenType):
        verify_reference_request(
            REFUSAL_TOKEN, registry=REGISTRY, registry_key=REGISTRY_KEY.public_key
        )
    with pytest.raises(InvalidArgument):
        verify_reference_request(token, registry=REGISTRY, registry_key=REGISTRY_KEY.did)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        verify_reference_request(token, registry=None, registry_key=REGISTRY_KEY.public_key)  # type: ignore[arg-type]


# --- context separation (spec §3.2) ----------------------------------------------------------

CLAIM_TYPES = sorted(BASES)
OTHER_CONTEXTS = sorted(set(OBJECT_TYPES))


def test_contexts_are_distinct_and_prefix_free() -> None:
    contexts = [signing_context(t) for t in OBJECT_TYPES] + [
        REQUEST_CONTEXT,
        ROTATION_CONSENT_CONTEXT,
    ]
    assert len(set(contexts)) == len(contexts)
    for a in contexts:
        for b in contexts:
            assert a == b or not b.startswith(a), (a, b)
    assert signing_context("reference-request") == b"endorse/v1/reference-request\0"
    assert signing_context("refusal") == b"endorse/v1/refusal\0"
    assert signing_context("policy") == b"endorse/v1/policy\0"


@pytest.mark.parametrize("type_name", CLAIM_TYPES)
@pytest.mark.parametrize("context", OTHER_CONTEXTS)
def test_signature_under_any_other_context_is_refused(type_name: str, context: str) -> None:
    obj, key = BASES[type_name]
    token = craft(obj.to_payload(), key, type_name=type_name, context=context)
    if context == type_name:  # the control: the same crafting with the right context passes
        assert check(type_name, token) == obj
        return
    with pytest.raises(BadSignature):
        check(type_name, token)


@pytest.mark.parametrize("type_name", CLAIM_TYPES)
@pytest.mark.parametrize("other", OTHER_CONTEXTS)
def test_token_under_another_prefix_is_refused(type_name: str, other: str) -> None:
    # A claim object relabelled as another type: refused as malformed by that type's reader
    # (its payload's type member disagrees), and as the wrong type by its own.
    if other == type_name:
        return
    obj, key = BASES[type_name]
    _, payload, signature = sign(obj, key).split(".")
    relabelled = f"{other}-v1.{payload}.{signature}"
    with pytest.raises(MalformedToken):
        verify_token(relabelled, OBJECT_TYPES[other], REGISTRY_KEY.public_key)
    with pytest.raises(WrongTokenType):
        check(type_name, relabelled)


@pytest.mark.parametrize("type_name", CLAIM_TYPES)
def test_other_objects_signed_as_claims_are_refused(type_name: str) -> None:
    # Any other type's payload, signed with this type's context and prefix, is malformed.
    _, key = BASES[type_name]
    endorsement = issue(ALICE, "A", BOB, MANAGER, [EMPLOYMENT], now=NOW)
    for payload in (
        verify_token(endorsement, OBJECT_TYPES["endorsement"]).object.to_payload(),
        *(obj.to_payload() for t, (obj, _) in BASES.items() if t != type_name),
    ):
        with pytest.raises(MalformedToken):
            check(type_name, craft(payload, key, type_name=type_name))


# --- properties ------------------------------------------------------------------------------

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,'-éüßøÅ李Ωж"
text = st.text(_ALPHABET, min_size=1, max_size=40).map(str.strip).filter(bool)
emails = st.from_regex(r"[a-z0-9]{1,12}@[a-z]{1,10}\.(com|org|example)", fullmatch=True)
purposes = st.sampled_from(sorted(PURPOSES)) | st.from_regex(
    r"x-[a-z0-9]{1,6}(-[a-z0-9]{1,5})?", fullmatch=True
)
subjects = st.builds(
    Subject,
    name=text,
    email=emails,
    handle=st.none() | st.from_regex(r"[a-z]{1,10}:[a-z0-9]{1,10}", fullmatch=True),
    key=st.none() | st.just(BOB_KEY.did),
)
relationships = st.builds(
    Relationship,
    context=text,
    role=text,
    org=st.none() | text,
    start=st.none() | st.sampled_from(["2019", "2020-01"]),
    end=st.none() | st.sampled_from(["2023", "2024-12"]),
)
ids = st.binary(min_size=16, max_size=16).map(b64url_encode)


@SETTINGS
@given(
    subject=subjects,
    purpose=st.none() | purposes,
    reason=st.none() | st.sampled_from(REFUSAL_REASONS),
    request=st.none() | ids,
    validity=st.integers(1, MAX_VALIDITY),
    name=text,
)
def test_refusal_round_trip(
    subject: Subject,
    purpose: str | None,
    reason: str | None,
    request: str | None,
    validity: int,
    name: str,
) -> None:
    built = build_refusal(
        ALICE,
        name,
        subject,
        now=NOW,
        purpose=purpose,
        reason=reason,
        request=request,
        expires=NOW + validity,
    )
    token = sign(built, ALICE)
    assert verify_token(token, Refusal).object == built
    result = verify_refusal(
        token, now=NOW, issuers=TRUSTED, subject=subject.email, purpose=purpose or EMPLOYMENT
    )
    assert result.verdict is Verdict.REFUSED, result.detail
    assert result.refusal == built
    scope = "" if purpose is None else f" for {purpose}"
    assert result.message == (
        f"{name} states that they do not give a reference for {subject.name}{scope}."
    )


@SETTINGS
@given(name=text, notify=st.booleans(), iat=st.integers(0, 2**53 - 1))
def test_policy_round_trip(name: str, notify: bool, iat: int) -> None:
    built = build_policy(ALICE, name, now=iat, notify=notify)
    assert verify_policy(sign(built, ALICE), issuers=TRUSTED).object == built


@SETTINGS
@given(
    subject=subjects,
    relationship=relationships,
    purpose=purposes,
    duration=st.integers(1, MAX_REQUEST_DURATION),
    requester=st.builds(
        Requester, email=emails, method=st.just("email-code"), name=st.none() | text
    )
    | st.builds(
        Requester,
        email=emails,
        method=st.just("key-binding"),
        key=st.just(CAROL.did),
        name=st.none() | text,
    ),
    audience=st.none() | st.from_regex(r"[!-~]{1,30}", fullmatch=True),
)
def test_reference_request_round_trip(
    subject: Subject,
    relationship: Relationship,
    purpose: str,
    duration: int,
    requester: Requester,
    audience: str | None,
) -> None:
    built = build_reference_request(
        registry=REGISTRY,
        requester=requester,
        referee="alice@example.com",
        subject=subject,
        relationship=relationship,
        purpose=purpose,
        now=NOW,
        expires=NOW + duration,
        audience=audience,
    )
    token = sign(built, REGISTRY_KEY)
    verified = verify_reference_request(
        token, registry=REGISTRY, registry_key=REGISTRY_KEY.public_key
    )
    assert verified.object == built


TOKENS = {t: sign(obj, key) for t, (obj, key) in BASES.items()}


def _accepted(type_name: str, token: str) -> bool:
    try:
        check(type_name, token)
    except EndorseError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    type_name=st.sampled_from(CLAIM_TYPES), position=st.integers(0, 10_000), xor=st.integers(1, 255)
)
def test_single_byte_change_in_payload_or_signature_is_refused(
    type_name: str, position: int, xor: int
) -> None:
    prefix, payload_text, sig_text = TOKENS[type_name].split(".")
    payload = b64url_decode(payload_text)
    blob = bytearray(payload + b64url_decode(sig_text))
    blob[position % len(blob)] ^= xor
    tampered = ".".join(
        (
            prefix,
            b64url_encode(bytes(blob[: len(payload)])),
            b64url_encode(bytes(blob[len(payload) :])),
        )
    )
    assert not _accepted(type_name, tampered)
    if type_name == "refusal":
        verdict = verify_refusal(tampered, now=NOW, issuers=TRUSTED).verdict
        assert verdict in {Verdict.MALFORMED, Verdict.BAD_SIGNATURE}


@settings(max_examples=300, deadline=None)
@given(
    type_name=st.sampled_from(CLAIM_TYPES),
    position=st.integers(0, 10_000),
    replacement=st.characters(codec="ascii"),
)
def test_single_character_change_of_the_token_is_refused(
    type_name: str, position: int, replacement: str
) -> None:
    token = TOKENS[type_name]
    i = position % len(token)
    assume(token[i] != replacement)
    assert not _accepted(type_name, token[:i] + replacement + token[i + 1 :])
