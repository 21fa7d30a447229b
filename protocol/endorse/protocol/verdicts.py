"""Verdicts of a verification and the sentence a recruiter reads for each (spec §6.2)."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """The outcome of verifying an endorsement or a refusal; exactly one per verification.

    ``refused`` is the verdict of a genuine refusal (spec §4.12, §6.4) and never of an
    endorsement; every other verdict can be the outcome of either.
    """

    VALID = "valid"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    UNKNOWN_ISSUER = "unknown_issuer"
    ISSUER_KEY_REVOKED = "issuer_key_revoked"
    SUBJECT_MISMATCH = "subject_mismatch"
    PURPOSE_NOT_ALLOWED = "purpose_not_allowed"
    AUDIENCE_MISMATCH = "audience_mismatch"
    STATUS_UNAVAILABLE = "status_unavailable"
    REFUSED = "refused"

    @property
    def sentence(self) -> str:
        """What this verdict means, in words a recruiter understands."""
        return SENTENCES[self]


SENTENCES: dict[Verdict, str] = {
    Verdict.VALID: (
        "This reference is genuine: the endorser signed it, it is in force,"
        " and it has not been withdrawn."
    ),
    Verdict.REVOKED: "The endorser has withdrawn this reference; it must not be relied on.",
    Verdict.EXPIRED: "This reference has expired; ask the candidate for a current one.",
    Verdict.NOT_YET_VALID: "This reference is not in force yet; check again from its start date.",
    Verdict.BAD_SIGNATURE: (
        "This reference was not signed by the endorser it names, or it was altered after"
        " signing; do not rely on it."
    ),
    Verdict.MALFORMED: (
        "This is not a readable endorse reference; it may be damaged, incomplete or forged."
    ),
    Verdict.UNKNOWN_ISSUER: (
        "The signature is intact, but the endorser's key is not linked to a verified identity,"
        " so who gave this reference cannot be confirmed."
    ),
    Verdict.ISSUER_KEY_REVOKED: (
        "The endorser's key was revoked, and this reference cannot be shown to have been"
        " registered before that, so it cannot be trusted."
    ),
    Verdict.SUBJECT_MISMATCH: (
        "This reference is about someone other than the person presenting it."
    ),
    Verdict.PURPOSE_NOT_ALLOWED: (
        "The endorser did not agree to this reference being used for this purpose."
    ),
    Verdict.AUDIENCE_MISMATCH: "This reference was given for a different recipient.",
    Verdict.STATUS_UNAVAILABLE: (
        "Whether the endorser has withdrawn this reference could not be checked;"
        " try again later or ask the endorser."
    ),
    Verdict.REFUSED: (
        "The person named as referee states, with their signature, that they do not give"
        " this reference."
    ),
}

VALID_UNREGISTERED_SENTENCE = (
    "The endorser signed this reference and it is in force, but it is not registered with a"
    " registry, so whether it has been withdrawn cannot be checked."
)
"""The sentence of ``valid`` when the verifier waived the status check (spec §6.2)."""


REFUSAL_SENTENCES: dict[Verdict, str] = {
    Verdict.SUBJECT_MISMATCH: (
        "This refusal is about someone other than the person asked about;"
        " it says nothing about them."
    ),
    Verdict.PURPOSE_NOT_ALLOWED: (
        "This refusal is for another purpose than the one asked about;"
        " it says nothing about this use."
    ),
}
"""The sentences of a refusal that fails the scope (spec §6.4 step 7): the endorsement's
would blame an endorser's consent that a refusal never gave."""


def refusal_sentence(issuer_name: str, subject_name: str, purpose: str | None) -> str:
    """The sentence of a genuine refusal, naming who refuses, for whom, and for what.

    ``"<iss_name> states that they do not give a reference for <sub.name>"``, then
    ``" for <purpose>"`` when the refusal names one, then ``"."`` (spec §6.4).
    """
    scope = "" if purpose is None else f" for {purpose}"
    return f"{issuer_name} states that they do not give a reference for {subject_name}{scope}."
