"""Shared builders for protocol tests: fixed keys, a registry, and a token factory."""

from __future__ import annotations

from endorse.protocol import (
    MIN_SIZE,
    Bitstring,
    Relationship,
    SigningKey,
    StatusList,
    StatusRef,
    Subject,
    TrustedIssuer,
    issue,
    sign,
    verify_status_list,
)

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
REGISTRY = "https://registry.example"
ALICE = SigningKey.from_seed(b"\x01" * 32)
MALLORY = SigningKey.from_seed(b"\x02" * 32)
REGISTRY_KEY = SigningKey.from_seed(b"\x03" * 32)
BOB_KEY = SigningKey.from_seed(b"\x04" * 32)
BOB = Subject("Bob Jones", email="bob@example.com", key=BOB_KEY.did)
MANAGER = Relationship("work", "manager", org="Acme", start="2019-03", end="2023-06")
EMPLOYMENT = "employment-reference"


def alice_token(*, index: int = 7, now: int = NOW, **kwargs: object) -> str:
    """A registered (status-carrying) endorsement of Bob by Alice."""
    return issue(
        ALICE,
        "Alice Smith",
        kwargs.pop("subject", BOB),  # type: ignore[arg-type]
        MANAGER,
        kwargs.pop("purposes", [EMPLOYMENT]),  # type: ignore[arg-type]
        now=now,
        status=StatusRef(REGISTRY, "list-1", index),
        **kwargs,  # type: ignore[arg-type]
    )


def trusted_alice() -> dict[str, TrustedIssuer]:
    return {
        ALICE.did: TrustedIssuer(
            ALICE.did, identity="alice@example.com", since=NOW - 1000, registry=REGISTRY
        )
    }


def status_list(
    revoked: tuple[int, ...] = (), *, issued_at: int = NOW, max_age: int = 300
) -> StatusList:
    """A status list signed by the registry and verified back, as a verifier would hold it."""
    bits = Bitstring(MIN_SIZE)
    for i in revoked:
        bits.set(i)
    token = sign(
        StatusList(REGISTRY, "list-1", issued_at, max_age, bits).to_token_object(), REGISTRY_KEY
    )
    return verify_status_list(token, REGISTRY_KEY.public_key, REGISTRY)
