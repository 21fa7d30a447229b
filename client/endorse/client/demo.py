"""``endorse demo``: the whole story of a reference, told step by step with real keys.

Alice, Bob's former manager, endorses him; a recruiter checks the reference; forgers and
misusers are caught; Alice withdraws it. The registry's part (key binding and the signed
status list) is played in memory by the protocol core here; the verifier server replaces it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from endorse.protocol import (
    MIN_SIZE,
    Bitstring,
    KeyBinding,
    Relationship,
    SigningKey,
    StatusList,
    StatusRef,
    Subject,
    TrustedIssuer,
    VerificationResult,
    canonical,
    inspect,
    issue,
    sign,
    verify_endorsement,
    verify_key_binding,
    verify_status_list,
)
from endorse.protocol.encoding import b64url_encode

REGISTRY = "http://127.0.0.1:8080"
LIST_ID = "demo-list"


def run(say: Callable[[str], None]) -> bool:
    """Tell the story through ``say``; return whether every verdict came out as expected."""
    now = int(time.time())
    registry = SigningKey.generate()
    alice = SigningKey.generate()
    say("1. Alice creates her endorser key.")
    say(f"   her key: {alice.did}")

    binding = sign(
        KeyBinding(REGISTRY, alice.did, "alice@example.com", "Alice Smith", now, "email-code", now),
        registry,
    )
    trusted = TrustedIssuer.from_binding(verify_key_binding(binding, registry.public_key, REGISTRY))
    say("2. The registry confirms her e-mail and signs a key binding:")
    say(f"   {alice.did[:24]}… belongs to alice@example.com")

    bits = Bitstring(MIN_SIZE)
    index = 4242
    token = issue(
        alice,
        "Alice Smith",
        Subject("Bob Jones", email="bob@example.com"),
        Relationship("work", "manager", org="Acme", start="2019", end="2023"),
        ["employment-reference"],
        now=now,
        statement="Bob led our payments team with care and rigour.",
        status=StatusRef(REGISTRY, LIST_ID, index),
    )
    say("3. Alice endorses Bob as his manager at Acme, 2019-2023, for employment references.")
    say(f"   Bob's token ({len(token)} characters): {token[:60]}…")

    def check(
        title: str,
        expected: str,
        candidate: str,
        *,
        subject: str | None = None,
        purpose: str | None = None,
        revoked: bool = False,
    ) -> bool:
        if revoked:
            bits.set(index)
        status = verify_status_list(
            sign(StatusList(REGISTRY, LIST_ID, now, 300, bits).to_token_object(), registry),
            registry.public_key,
            REGISTRY,
        )
        result: VerificationResult = verify_endorsement(
            candidate,
            now=now,
            issuers={alice.did: trusted},
            status_lists={(REGISTRY, LIST_ID): status},
            subject=subject,
            purpose=purpose,
        )
        mark = "✓" if result.valid else "✗"
        say(f"{title}")
        say(f"   {mark} {result.verdict.value} — {result.message}")
        return result.verdict.value == expected

    # A forger upgrades Alice's statement ("manager" becomes "CEO") and keeps her signature.
    prefix, _, signature = token.split(".")
    claims = inspect(token).object.to_payload()
    claims["rel"]["role"] = "CEO"
    forged = ".".join((prefix, b64url_encode(canonical.encode(claims)), signature))

    bob, employment = "bob@example.com", "employment-reference"
    outcomes = [
        check(
            "4. A recruiter checks Bob's reference for a job:",
            "valid",
            token,
            subject=bob,
            purpose=employment,
        ),
        check(
            '5. A forger changes "manager" to "CEO" and keeps Alice\'s signature:',
            "bad_signature",
            forged,
        ),
        check(
            "6. Carol presents Bob's token as her own:",
            "subject_mismatch",
            token,
            subject="carol@example.com",
            purpose=employment,
        ),
        check(
            "7. Bob uses it for a tenancy application:",
            "purpose_not_allowed",
            token,
            subject=bob,
            purpose="tenancy-reference",
        ),
        check(
            "8. Alice withdraws her reference; the recruiter checks again:",
            "revoked",
            token,
            subject=bob,
            purpose=employment,
            revoked=True,
        ),
    ]
    ok = all(outcomes)
    say("")
    say("Every verdict came out as expected." if ok else "UNEXPECTED verdicts above.")
    return ok
