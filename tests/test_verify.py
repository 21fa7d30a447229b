"""Verification: properties over generated claims and tampering, and the trust helpers.

The named table of verdict cases lives in ``spec/vectors/verification.json`` and is run by
``test_spec_vectors.py``; this file checks the properties that must hold for all inputs.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import inspect as pyinspect
import json
import pathlib
import string
import typing
import uuid

import orjson
import pytest
from helpers import (
    ALICE,
    BOB_KEY,
    EMPLOYMENT,
    MALLORY,
    NOW,
    REGISTRY,
    REGISTRY_KEY,
    alice_token,
    status_list,
    trusted_alice,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from endorse.protocol import (
    PURPOSES,
    BadSignature,
    EndorseError,
    Endorsement,
    Expectations,
    InvalidKey,
    KeyBinding,
    KeyRevocation,
    MalformedToken,
    Presentation,
    Receipt,
    Registration,
    Relationship,
    Revocation,
    Subject,
    TrustedFacts,
    TrustedIssuer,
    Verdict,
    VerificationFailed,
    WrongTokenType,
    inspect,
    issue,
    sign,
    token_hash,
    verify_endorsement,
    verify_endorsement_strict,
    verify_endorsement_with,
    verify_key_binding,
    verify_key_revocation,
    verify_receipt,
    verify_registration,
    verify_revocation,
    verify_token,
)
from endorse.protocol.encoding import b64url_encode
from endorse.protocol.objects import VERDICT_NAMES
from endorse.protocol.token import _split

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text the protocol accepts: printable, NFC, trimmed (letters of several scripts included).
_ALPHABET = string.ascii_letters + string.digits + " .,'-éüßøÅ李Ωж"
text = st.text(_ALPHABET, min_size=1, max_size=40).map(str.strip).filter(bool)
emails = st.from_regex(r"[a-z0-9]{1,12}@[a-z]{1,10}\.(com|org|example)", fullmatch=True)
purposes = st.sets(
    st.sampled_from(sorted(PURPOSES))
    | st.from_regex(r"x-[a-z0-9]{1,6}(-[a-z0-9]{1,5})?", fullmatch=True),
    min_size=1,
    max_size=8,
)
subjects = st.builds(Subject, name=text, email=emails)
relationships = st.builds(
    Relationship,
    context=text,
    role=text,
    org=st.none() | text,
    start=st.none() | st.sampled_from(["2019", "2020-01"]),
    end=st.none() | st.sampled_from(["2023", "2024-12"]),
)


@SETTINGS
@given(
    subject=subjects,
    relationship=relationships,
    purposes=purposes,
    statement=st.none()
    | st.text(_ALPHABET + '\n<>&"', min_size=1, max_size=300).map(str.strip).filter(bool),
    validity=st.integers(1, 5 * 365 * 86400),
    contact=st.booleans(),
)
def test_issue_then_verify_is_valid(
    subject: Subject,
    relationship: Relationship,
    purposes: set[str],
    statement: str | None,
    validity: int,
    contact: bool,
) -> None:
    token = issue(
        ALICE,
        "Alice Smith",
        subject,
        relationship,
        purposes,
        now=NOW,
        expires=NOW + validity,
        statement=statement,
        contact=contact,
    )
    purpose = sorted(purposes)[0]
    result = verify_endorsement(
        token,
        now=NOW,
        issuers=trusted_alice(),
        require_status=False,
        subject=subject.email,
        purpose=purpose,
    )
    assert result.verdict is Verdict.VALID, result.detail
    e = result.endorsement
    assert e is not None
    assert (e.subject, e.relationship, e.statement, e.contact) == (
        subject,
        relationship,
        statement,
        contact,
    )


_TOKEN = alice_token()


@settings(max_examples=400, deadline=None)
@given(position=st.integers(0, len(_TOKEN) - 1), replacement=st.characters(codec="ascii"))
def test_single_character_change_is_never_valid(position: int, replacement: str) -> None:
    assume(_TOKEN[position] != replacement)
    tampered = _TOKEN[:position] + replacement + _TOKEN[position + 1 :]
    result = verify_endorsement(
        tampered,
        now=NOW,
        issuers=trusted_alice(),
        status_lists={("https://registry.example", "list-1"): status_list()},
    )
    assert result.verdict in {Verdict.MALFORMED, Verdict.BAD_SIGNATURE}, result.detail


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, 10_000), xor=st.integers(1, 255))
def test_single_byte_change_in_payload_or_signature_is_never_valid(position: int, xor: int) -> None:
    from endorse.protocol.encoding import b64url_decode, b64url_encode

    prefix, payload_text, sig_text = _TOKEN.split(".")
    blob = bytearray(b64url_decode(payload_text) + b64url_decode(sig_text))
    i = position % len(blob)
    blob[i] ^= xor
    cut = len(b64url_decode(payload_text))
    tampered = ".".join(
        (prefix, b64url_encode(bytes(blob[:cut])), b64url_encode(bytes(blob[cut:])))
    )
    result = verify_endorsement(tampered, now=NOW, issuers=trusted_alice(), require_status=False)
    assert result.verdict in {Verdict.MALFORMED, Verdict.BAD_SIGNATURE}


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_only_raises_endorse_errors(data: str) -> None:
    with contextlib.suppress(EndorseError):
        inspect(data)
    result = verify_endorsement(data, now=NOW, issuers=trusted_alice())
    assert result.verdict is Verdict.MALFORMED


_VALID_VECTORS = json.loads(
    (pathlib.Path(__file__).parent.parent / "spec" / "vectors" / "valid.json").read_text()
)["vectors"]
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    # Values of the vectors themselves, so that many mutations stay (almost) valid.
    st.sampled_from(
        sorted(
            {
                v
                for vector in _VALID_VECTORS
                for v in [*vector["payload"].values(), *vector["fields"].values()]
                if isinstance(v, str | int)
            },
            key=repr,
        )
    ),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def _mutated_payload(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid vector's payload with 0-3 members set, deleted or added (nested ones too),
    written as orjson writes it sorted: canonical in form, often outside the schema."""
    vector = draw(st.sampled_from(_VALID_VECTORS))
    payload = copy.deepcopy(vector["payload"])
    for _ in range(draw(st.integers(0, 3))):
        nested = [k for k, v in payload.items() if isinstance(v, dict)]
        target = payload
        if nested and draw(st.booleans()):
            target = payload[draw(st.sampled_from(sorted(nested)))]
        keys = sorted(target)
        op = draw(st.sampled_from(["set", "delete", "add"]))
        if op == "set" and keys:
            target[draw(st.sampled_from(keys))] = draw(_VALUES)
        elif op == "delete" and keys:
            del target[draw(st.sampled_from(keys))]
        else:
            target[draw(st.text(max_size=8))] = draw(_VALUES)
    return vector["type"], orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _mutated_payload(),
    st.binary(min_size=64, max_size=64),
    st.sampled_from(["own", "endorsement", "revocation", "status-list"]),
)
def test_arbitrary_bodies_after_real_prefix(
    mutated: tuple[str, bytes], signature: bytes, prefix_type: str
) -> None:
    type_name, payload = mutated
    prefix = (type_name if prefix_type == "own" else prefix_type) + "-v1"
    token = f"{prefix}.{b64url_encode(payload)}.{b64url_encode(signature)}"
    assume(len(token) <= 8192)
    # The token gets past the compact form (real prefix, 86-character signature): what is
    # exercised is the payload reader.
    cls, _, signature_text = _split(token, None)
    assert len(signature_text) == 86
    try:
        obj = inspect(token).object
    except EndorseError:
        pass
    else:
        assert obj.TYPE == cls.TYPE
    if prefix == "endorsement-v1":
        result = verify_endorsement(token, now=NOW, issuers=trusted_alice())
        assert result.verdict in {Verdict.MALFORMED, Verdict.BAD_SIGNATURE}, result.detail


@pytest.mark.parametrize("bad", [None, 42, b"endorsement-v1.x.y", ["a"], "x" * 100_000])
def test_non_text_and_huge_inputs_are_malformed(bad: object) -> None:
    result = verify_endorsement(bad, now=NOW, issuers={})  # type: ignore[arg-type]
    assert result.verdict is Verdict.MALFORMED
    with pytest.raises(MalformedToken):
        inspect(bad)


def test_strict_variant_raises_with_result() -> None:
    token = alice_token()
    lists = {(REGISTRY, "list-1"): status_list((7,))}
    with pytest.raises(VerificationFailed) as info:
        verify_endorsement_strict(token, Expectations(NOW), TrustedFacts(trusted_alice(), lists))
    assert info.value.verdict == "revoked"
    assert info.value.result.endorsement is not None
    ok = verify_endorsement_strict(
        token,
        Expectations(NOW),
        TrustedFacts(trusted_alice(), {(REGISTRY, "list-1"): status_list()}),
    )
    assert isinstance(ok, Endorsement)


def test_result_names_every_step_checked() -> None:
    result = verify_endorsement(
        alice_token(),
        now=NOW,
        issuers=trusted_alice(),
        status_lists={(REGISTRY, "list-1"): status_list()},
        subject="Bob Jones",
        purpose=EMPLOYMENT,
    )
    assert result.valid and result.message == Verdict.VALID.sentence
    assert [c.name for c in result.checks] == [
        "format",
        "signature",
        "issuer",
        "issuer_key",
        "validity",
        "subject",
        "purpose",
        "status",
    ]
    assert all(c.passed for c in result.checks)
    assert result.token_hash == token_hash(result.token)


def test_every_verdict_has_a_sentence() -> None:
    for verdict in Verdict:
        assert verdict.sentence.endswith(".") and len(verdict.sentence) > 20


# --- holder binding ----------------------------------------------------------------------


def _presentation(token: str, nonce: str, key=BOB_KEY, iat: int = NOW) -> str:  # type: ignore[no-untyped-def]
    return sign(Presentation(key.did, token_hash(token), nonce, iat), key)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("good", Verdict.VALID),
        ("wrong_nonce", Verdict.SUBJECT_MISMATCH),
        ("other_key", Verdict.SUBJECT_MISMATCH),
        ("other_token", Verdict.SUBJECT_MISMATCH),
        ("stale", Verdict.SUBJECT_MISMATCH),
        ("garbage", Verdict.SUBJECT_MISMATCH),
    ],
)
def test_presentation(case: str, expected: Verdict) -> None:
    token = alice_token()
    nonce = "n0nce-from-the-verifier"
    pres = {
        "good": lambda: _presentation(token, nonce),
        "wrong_nonce": lambda: _presentation(token, "another-nonce-value"),
        "other_key": lambda: _presentation(token, nonce, key=MALLORY),
        "other_token": lambda: _presentation(alice_token(index=8), nonce),
        "stale": lambda: _presentation(token, nonce, iat=NOW - 3600),
        "garbage": lambda: "presentation-v1.AAAA.BBBB",
    }[case]()
    result = verify_endorsement(
        token,
        now=NOW,
        issuers=trusted_alice(),
        status_lists={(REGISTRY, "list-1"): status_list()},
        presentation=pres,
        nonce=nonce,
    )
    assert result.verdict is expected, result.detail


# --- registry-signed statements ----------------------------------------------------------


def test_key_binding_becomes_trusted_issuer() -> None:
    binding = KeyBinding(
        REGISTRY, ALICE.did, "alice@example.com", "Alice Smith", NOW - 10, "email-code", NOW
    )
    token = sign(binding, REGISTRY_KEY)
    trusted = TrustedIssuer.from_binding(
        verify_key_binding(token, REGISTRY_KEY.public_key, REGISTRY)
    )
    assert (trusted.key, trusted.identity, trusted.since) == (
        ALICE.did,
        "alice@example.com",
        NOW - 10,
    )
    with pytest.raises(BadSignature):
        verify_key_binding(sign(binding, MALLORY), REGISTRY_KEY.public_key, REGISTRY)
    with pytest.raises(WrongTokenType):
        verify_key_binding(alice_token(), REGISTRY_KEY.public_key, REGISTRY)


def test_key_revocation_by_owner_or_registry_only() -> None:
    own = sign(KeyRevocation(ALICE.did, NOW, ALICE.did, NOW), ALICE)
    assert verify_key_revocation(own).revoked_from == NOW
    by_registry = sign(KeyRevocation(ALICE.did, NOW, REGISTRY_KEY.did, NOW), REGISTRY_KEY)
    assert verify_key_revocation(by_registry, REGISTRY_KEY.public_key).key == ALICE.did
    with pytest.raises(BadSignature):
        verify_key_revocation(by_registry)  # registry key not given: not an allowed signer
    by_mallory = sign(KeyRevocation(ALICE.did, NOW, MALLORY.did, NOW), MALLORY)
    with pytest.raises(BadSignature):
        verify_key_revocation(by_mallory, REGISTRY_KEY.public_key)


def test_revoked_key_keeps_only_tokens_registered_before() -> None:
    binding = KeyBinding(
        REGISTRY, ALICE.did, "alice@example.com", "Alice Smith", 0, "email-code", 0
    )
    revoked = TrustedIssuer.from_binding(binding, KeyRevocation(ALICE.did, NOW, ALICE.did, NOW))
    lists = {(REGISTRY, "list-1"): status_list()}
    before = alice_token(now=NOW - 100)

    def registered(token: str, at: int) -> Registration:
        record = Registration(REGISTRY, token_hash(token), ALICE.did, at)
        return verify_registration(sign(record, REGISTRY_KEY), REGISTRY_KEY.public_key, REGISTRY)

    def verdict(token: str, registration: Registration | None) -> Verdict:
        return verify_endorsement(
            token,
            now=NOW,
            issuers={ALICE.did: revoked},
            status_lists=lists,
            registration=registration,
        ).verdict

    assert verdict(before, registered(before, NOW - 50)) is Verdict.VALID
    # A backdated iat alone proves nothing: whoever stole the key can write any iat.
    assert verdict(before, None) is Verdict.ISSUER_KEY_REVOKED
    assert verdict(before, registered(before, NOW)) is Verdict.ISSUER_KEY_REVOKED
    other = alice_token(now=NOW - 100, index=9)
    assert verdict(before, registered(other, NOW - 50)) is Verdict.ISSUER_KEY_REVOKED


def test_revocation_signers() -> None:
    e = inspect(alice_token()).object
    assert isinstance(e, Endorsement)
    own = sign(Revocation(e.id, ALICE.did, ALICE.did, NOW, "changed my mind"), ALICE)
    assert verify_revocation(own).endorsement_id == e.id
    forged = sign(Revocation(e.id, ALICE.did, MALLORY.did, NOW), MALLORY)
    with pytest.raises(BadSignature):
        verify_revocation(forged, REGISTRY_KEY.public_key)


def test_receipt_round_trip() -> None:
    receipt = Receipt(REGISTRY, token_hash(alice_token()), "valid", NOW)
    token = sign(receipt, REGISTRY_KEY)
    assert verify_receipt(token, REGISTRY_KEY.public_key, REGISTRY) == receipt
    # A verdict outside protocol v1 is refused when the receipt is built, before any signing.
    with pytest.raises(MalformedToken, match="verdict"):
        Receipt(REGISTRY, token_hash("x"), "maybe", NOW)


def test_receipt_verdicts_are_the_verdict_enum() -> None:
    assert {v.value for v in Verdict} == VERDICT_NAMES


# --- sign() signs exactly what it was given (finding M2) ---------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: Subject("Bob Jones", handle=b"bobby"),  # msgspec writes bytes as base64 text
        lambda: Subject("Bob Jones", handle=uuid.UUID(int=7)),  # ... a UUID as its text
        lambda: Subject("Bob Jones", handle=datetime.date(2020, 1, 2)),  # ... a date as text
    ],
    ids=["handle_bytes", "handle_uuid", "handle_date"],
)
def test_sign_refuses_values_it_would_write_as_something_else(build: typing.Any) -> None:
    with pytest.raises(MalformedToken, match="wrong type"):
        issue(ALICE, "Alice Smith", build(), Relationship("work", "manager"), [EMPLOYMENT], now=NOW)


@pytest.mark.parametrize(
    "changes",
    [
        {"audience": b"acme"},
        {"id": uuid.UUID(int=1)},
        {"contact": 1},
        {"subject": {"name": "Bob Jones", "email": "bob@example.com"}},
    ],
    ids=["audience_bytes", "id_uuid", "contact_int", "subject_dict"],
)
def test_sign_refuses_endorsements_with_wrongly_typed_members(changes: dict[str, object]) -> None:
    e = inspect(alice_token()).object
    fields = {name: getattr(e, name) for name in Endorsement.__struct_fields__}
    with pytest.raises(MalformedToken):
        sign(Endorsement(**{**fields, **changes}), ALICE)  # type: ignore[arg-type]


def test_to_payload_wraps_encoder_errors() -> None:
    weird = Subject("Bob Jones", email="bob@example.com", handle=object())  # type: ignore[arg-type]
    with pytest.raises(MalformedToken, match="cannot be written as JSON"):
        issue(ALICE, "Alice Smith", weird, Relationship("work", "manager"), [EMPLOYMENT], now=NOW)
    big = Receipt(REGISTRY, token_hash("x"), "valid", 2**70)
    with pytest.raises(MalformedToken):
        sign(big, REGISTRY_KEY)


def test_strict_variant_shows_its_own_signature() -> None:
    strict = pyinspect.signature(verify_endorsement_strict)
    plain = pyinspect.signature(verify_endorsement_with)
    assert strict.parameters == plain.parameters
    assert strict.return_annotation in ("Endorsement", Endorsement)
    assert typing.get_type_hints(verify_endorsement_strict)["return"] is Endorsement
    assert not hasattr(verify_endorsement_strict, "__wrapped__")


def test_signer_must_be_the_named_key() -> None:
    with pytest.raises(InvalidKey):
        sign(inspect(alice_token()).object, MALLORY)
    assert verify_token(alice_token(), Endorsement).signer == ALICE.public_key
