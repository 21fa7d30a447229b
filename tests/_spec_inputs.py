"""The trusted issuers of a vector case of ``spec/vectors`` rebuilt as spec §9 says: the
``issuers`` listed under ``listed_as``, then each ``key_bindings`` entry checked with the
registry's key (shared by the vector tests and the batch tests, which must agree with them)."""

from __future__ import annotations

from typing import Any

from endorse.protocol import (
    BadSignature,
    InvalidKey,
    MalformedToken,
    PublicKey,
    TrustedIssuer,
    verify_key_binding,
    verify_key_revocation,
)


def trusted_issuers(
    case: dict[str, Any], registry_key: PublicKey, registry: str
) -> dict[str, TrustedIssuer]:
    """``case``'s trusted issuers, by the did:key each is listed under."""
    issuers = {
        i["listed_as"]: TrustedIssuer(
            key=i["key"], identity=i["identity"], revoked_from=i["revoked_from"]
        )
        for i in case["issuers"]
    }
    for entry in case["key_bindings"]:
        # Spec §6.1 and §9: a binding (or a key revocation) that does not verify, or a pair
        # whose keys differ, yields no trusted issuer; of several key revocations the earliest
        # ``from`` counts.
        try:
            binding = verify_key_binding(entry["binding"], registry_key, registry)
            revocations = [verify_key_revocation(t, registry_key) for t in entry["revocations"]]
            earliest = min(revocations, key=lambda r: r.revoked_from, default=None)
            for revocation in revocations:
                TrustedIssuer.from_binding(binding, revocation)  # refuses another key's
            issuers[binding.key] = TrustedIssuer.from_binding(binding, earliest)
        except (MalformedToken, BadSignature, InvalidKey):
            continue
    return issuers
