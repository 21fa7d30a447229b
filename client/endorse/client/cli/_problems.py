"""What each refusal of the registry means for a person at the command line: what happened,
what to do next, and the exit status: ``2`` for what the person can correct (a wrong code, an
unregistered key, a value the registry refuses), ``3`` for the registry's own trouble (busy,
unavailable, an answer this client cannot use)."""

from __future__ import annotations

from endorse.client.errors import RegistryError

PERSON = 2
"""Exit status of a mistake the person can correct (``EXIT_USAGE``)."""
REGISTRY = 3
"""Exit status of the registry's trouble (``EXIT_REGISTRY``)."""

ADVICE: dict[str, tuple[int, str]] = {
    "invalid-code": (
        PERSON,
        "that code is wrong, has expired or was already used: ask for a new one with endorse"
        " register (the same --email and --name), then endorse confirm with the newest code",
    ),
    "issuer-not-bound": (
        PERSON,
        "this key is not registered with the registry yet: run endorse register --email"
        " EMAIL --name NAME, then endorse confirm with the e-mailed code, then try again",
    ),
    "issuer-key-retired": (
        PERSON,
        "this key was revoked or rotated: sign with your current key (--key FILE)",
    ),
    "wrong-registry": (
        PERSON,
        "the token names another registry: send it to the registry it names (--registry URL)",
    ),
    "no-status-entry": (
        PERSON,
        "the token carries no status entry (it was signed with --offline), so it cannot be"
        " registered: issue it again without --offline",
    ),
    "malformed-token": (
        PERSON,
        "the registry could not read the token: give it exactly as it was issued",
    ),
    "bad-signature": (
        PERSON,
        "the token's signature does not verify, so it was altered: give it exactly as issued",
    ),
    "slot-not-allocated": (
        PERSON,
        "the token's status slot was not given to this key: issue it again with endorse issue",
    ),
    "slot-quota": (
        PERSON,
        "this key holds too many status slots it has not used: finish the references already"
        " started before starting more",
    ),
    "bad-cursor": (PERSON, "the listing's page cursor is not valid: list again from the start"),
    "not-found": (PERSON, "the registry has no such thing: check the id, key or token you gave"),
    "conflict": (PERSON, "the registry's records do not allow this, and nothing was changed"),
    "gone": (PERSON, "that is no longer valid (it expired): start again"),
    "unauthorized": (
        PERSON,
        "the registry refused the request's signature: check that your computer's clock is"
        " right and that you used the right key (--key FILE)",
    ),
    "forbidden": (PERSON, "this key is not allowed to do that"),
    "malformed": (PERSON, "the registry could not read a value you gave: correct it"),
    "invalid-request": (PERSON, "the registry refused a value you gave: correct it"),
    "payload-too-large": (PERSON, "that is too large for the registry: send less at once"),
    "batch-too-large": (PERSON, "too many tokens at once for the registry: send fewer"),
    "answer-refused": (
        PERSON,
        "that is not an answer to this request (another subject, purpose, audience or"
        " request): answer it with endorse answer --endorse or --refuse -- ID",
    ),
    "statement-refused": (
        PERSON,
        "the registry refused the signed statement (its signature or signer does not hold):"
        " sign it again with your registered key (--key FILE)",
    ),
    "request-ended": (
        PERSON,
        "the request has ended (answered, expired or unreachable): nothing more can be done"
        " with it; endorse requests shows its state",
    ),
    "vc-status-mismatch": (
        PERSON,
        "the status list credential does not match the registry's record of your"
        " revocations: export or revoke again with this version of endorse to re-sign it",
    ),
    "not-registered-here": (
        PERSON,
        "the registry makes short links only for references registered there, and this one"
        " is not: share its full link (endorse url)",
    ),
    "too-many-links": (
        PERSON,
        "this reference has too many short links: withdraw one it no longer needs (endorse"
        " link --revoke ID_OR_URL) first",
    ),
    "no-short-link": (
        PERSON,
        "this short link does not open: ask whoever sent it for the full verification link"
        " (endorse url prints it)",
    ),
    "rate-limited": (REGISTRY, "the registry is busy (too many requests): try again later"),
    "unavailable": (REGISTRY, "the registry is unavailable right now: try again later"),
    "unsupported-media-type": (
        REGISTRY,
        "the registry could not read this program's request: update endorse",
    ),
}
"""Problem type (the last part of ``urn:endorse:problem:…``) → exit status and advice."""


def explain(error: RegistryError) -> tuple[int, str]:
    """The exit status and the message for ``error``: the advice, then the registry's own
    detail (it names the value or the record); an unknown type is the registry's trouble."""
    code, advice = ADVICE.get(error.slug, (REGISTRY, ""))
    if error.slug == "rate-limited" and error.retry_after is not None:
        advice = f"the registry is busy (too many requests): try again in {error.retry_after} s"
    said = f"the registry answered {error.status} {error.slug}: {error.detail}"
    return code, f"{advice} ({said})" if advice else said
