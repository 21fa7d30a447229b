"""What a verification covered and what not (spec §6.5): endorse.protocol.findings."""

from __future__ import annotations

import pytest

from endorse.protocol import (
    Relationship,
    SigningKey,
    Subject,
    TrustedIssuer,
    VerificationResult,
    issue,
    verify_endorsement,
)
from endorse.protocol.findings import NOT_CHECKED_SENTENCES, findings

NOW = 1_700_000_000
ALICE = SigningKey.from_seed(bytes(32))
BOB_KEY = SigningKey.from_seed(bytes([1]) * 32)
EMPLOYMENT = "employment-reference"


def verified(
    token: str, registered_as: str | None = "Alice Smith", **expect: str
) -> VerificationResult:
    trusted = TrustedIssuer(ALICE.did, identity="alice@example.com", name=registered_as)
    return verify_endorsement(
        token, now=NOW + 10, issuers={ALICE.did: trusted}, require_status=False, **expect
    )


def token(signed_as: str = "Alice Smith", subject_key: str | None = None) -> str:
    bob = Subject("Bob Jones", email="bob@example.com", key=subject_key)
    return issue(ALICE, signed_as, bob, Relationship("work", "manager"), [EMPLOYMENT], now=NOW)


@pytest.mark.parametrize(
    ("expect", "checked", "not_checked"),
    [
        ({}, (), ("subject", "purpose")),
        ({"subject": "bob@example.com"}, ("subject",), ("purpose",)),
        ({"purpose": EMPLOYMENT}, ("purpose",), ("subject",)),
        ({"subject": "Bob Jones", "purpose": EMPLOYMENT}, ("subject", "purpose"), ()),
    ],
)
def test_what_was_given_is_compared_and_the_rest_is_said(
    expect: dict[str, str], checked: tuple[str, ...], not_checked: tuple[str, ...]
) -> None:
    f = findings(verified(token(), **expect))
    assert (f.checked, f.not_checked, f.name_mismatch) == (checked, not_checked, None)
    assert all(NOT_CHECKED_SENTENCES[n] for n in f.not_checked)


def test_a_subject_key_not_presented_is_not_checked() -> None:
    f = findings(verified(token(subject_key=BOB_KEY.did), subject="Bob Jones"))
    assert f.not_checked == ("holder", "purpose")


def test_a_mismatch_found_by_a_check_is_not_listed_as_not_compared() -> None:
    result = verified(token(), subject="Mallory")
    assert result.verdict.value == "subject_mismatch"
    assert findings(result).not_checked == ("purpose",)


@pytest.mark.parametrize(
    ("signed", "registered", "warned"),
    [
        ("Famous Person", "Alice Smith", True),
        ("alice  SMITH", "Alice Smith", False),  # compared as subject names are
        ("Famous Person", None, False),  # no verified name to compare with
    ],
)
def test_the_signed_name_against_the_verified_one(
    signed: str, registered: str | None, warned: bool
) -> None:
    f = findings(verified(token(signed_as=signed), registered_as=registered))
    assert f.name_mismatch == ((signed, registered) if warned else None)


def test_nothing_is_said_of_claims_that_could_not_be_read() -> None:
    forged = token()[:-4] + "AAAA"
    f = findings(verified(forged))
    assert (f.checked, f.not_checked, f.name_mismatch) == ((), (), None)
