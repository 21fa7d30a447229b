"""What a verification established, and what it left to the person reading it (spec §6.5).

A ``valid`` verdict says the endorser signed these claims, that they are in force and not
withdrawn; it says nothing about a candidate the verifier did not name, a purpose it did not
give, or a key the candidate did not prove to hold. :func:`findings` reads that out of a
:class:`~endorse.protocol.VerificationResult` so every front end words it alike: which
expectations were compared, which were not, and where the endorser's signed name differs
from the name the registry verified.

>>> from endorse.protocol import SigningKey, Subject, Relationship, TrustedIssuer
>>> from endorse.protocol import issue, verify_endorsement
>>> alice = SigningKey.from_seed(bytes(32))
>>> token = issue(alice, "Famous Person", Subject("Bob Jones", email="bob@example.com"),
...               Relationship("work", "CEO", org="Big Corp"), ["employment-reference"],
...               now=1_700_000_000)
>>> trusted = TrustedIssuer(alice.did, identity="alice@example.com", name="Alice Smith")
>>> result = verify_endorsement(token, now=1_700_000_100, require_status=False,
...                             issuers={alice.did: trusted}, purpose="employment-reference")
>>> f = findings(result)
>>> f.checked, f.not_checked
(('purpose',), ('subject',))
>>> f.name_mismatch
('Famous Person', 'Alice Smith')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from endorse.protocol.objects import Endorsement
from endorse.protocol.verify import Check, VerificationResult, normalize_name

__all__ = ["NOT_CHECKED_SENTENCES", "Findings", "findings", "findings_of"]

_SCOPE = ("subject", "holder", "purpose", "audience")
"""The checks of spec §6.3 step 8, each made only when the verifier gives (or the token
requires) what it compares."""

NOT_CHECKED_SENTENCES = {
    "subject": "The candidate was not compared: check that the name and e-mail in it are theirs.",
    "purpose": "The purpose was not compared: check that it allows what you will use it for.",
    "holder": "The candidate did not prove that they hold the key this reference names:"
    " ask them to answer a challenge.",
}
"""For each expectation not compared, what the reader should do instead."""


@dataclass(frozen=True, slots=True)
class Findings:
    """``checked``: the expectations of step 8 that were compared and held, in the order
    checked. ``not_checked``: those that were not compared (``subject``, ``purpose``, and
    ``holder`` for a token naming a subject key), whatever the verdict. ``name_mismatch``:
    ``(signed name, verified name)`` when the endorser signed another name than the one
    the registry verified for their key (compared as subjects are, §6.3 step 8), else None.
    Empty and None when the token's claims could not be read (no endorsement)."""

    checked: tuple[str, ...]
    not_checked: tuple[str, ...]
    name_mismatch: tuple[str, str] | None


def findings(result: VerificationResult) -> Findings:
    """What ``result`` established about the token's scope and the endorser's name."""
    issuer = result.issuer
    verified = None if issuer is None else (issuer.key, issuer.name)
    return findings_of(result.endorsement, result.checks, verified)


def findings_of(
    endorsement: Endorsement | None,
    checks: Iterable[Check],
    verified: tuple[str, str | None] | None,
) -> Findings:
    """:func:`findings` from its parts, for a verdict reached elsewhere (a registry's answer
    to ``POST /api/v1/verify``): the claims, the checks made, and ``(key, name)`` of the
    issuer as the registry verified it (None when it is not known)."""
    e = endorsement
    if e is None:
        return Findings((), (), None)
    checks = tuple(checks)
    passed = tuple(c.name for c in checks if c.name in _SCOPE and c.passed)
    made = {c.name for c in checks}
    wanted = {"subject", "purpose"} | ({"holder"} if e.subject.key is not None else set())
    not_checked = tuple(n for n in ("subject", "holder", "purpose") if n in wanted - made)
    mismatch = None
    if verified is not None:
        key, name = verified
        if name is not None and key == e.issuer:
            differs = normalize_name(name) != normalize_name(e.issuer_name)
            mismatch = (e.issuer_name, name) if differs else None
    return Findings(passed, not_checked, mismatch)
