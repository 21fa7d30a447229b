"""The client's errors: what can go wrong talking to a registry, as opposed to a verdict.

A verification that ran ends in a :class:`~endorse.protocol.VerificationResult` with a verdict,
whatever the token holds. These errors say that the registry could not be asked, refused the
request, or answered something that cannot be trusted; they never stand for a verdict::

    EndorseError                      (endorse.protocol)
    ├── RegistryError                 the registry answered with a problem document
    ├── RegistryUnreachable           network failure or timeout, after the allowed retries
    ├── PinMismatch                   the registry's key is not the key pinned for it
    ├── RegistryStatementInvalid      an answer that does not verify under the pinned key,
    │   │                             or is not the well-formed answer the API promises
    │   └── StatusBitCleared          a newer status list clears a bit seen set
    ├── PinStoreError                 the file of pinned registry keys cannot be used
    └── ConfigError                   no registry is configured, or the config is malformed
"""

from __future__ import annotations

from endorse.protocol.errors import EndorseError

__all__ = [
    "ConfigError",
    "PinMismatch",
    "PinStoreError",
    "RegistryError",
    "RegistryStatementInvalid",
    "RegistryUnreachable",
    "StatusBitCleared",
]

PROBLEM_PREFIX = "urn:endorse:problem:"


class RegistryError(EndorseError):
    """The registry refused a request: an RFC 9457 problem document (or an error status).

    ``type`` is the problem's stable URN (``urn:endorse:problem:invalid-code``), ``slug`` its
    last part; ``retry_after`` is the ``Retry-After`` seconds of a 429 or 503, if given.
    """

    def __init__(
        self,
        status: int,
        type: str,
        title: str,
        detail: str,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(f"registry answered {status} {type}: {detail}")
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.retry_after = retry_after

    @property
    def slug(self) -> str:
        """The problem type without its ``urn:endorse:problem:`` prefix."""
        return self.type.removeprefix(PROBLEM_PREFIX)


class RegistryUnreachable(EndorseError):
    """The registry could not be reached (connection refused, DNS, TLS, timeout)."""


class PinMismatch(EndorseError):
    """The registry presents another key than the one pinned for it. Never silently accepted:
    either the registry rotated its key (re-pin deliberately) or someone is impersonating it.
    """

    def __init__(self, registry: str, pinned: str, found: str) -> None:
        super().__init__(
            f"registry {registry} presents key {found}, but {pinned} is pinned for it;"
            " refusing to trust it"
        )
        self.registry = registry
        self.pinned = pinned
        self.found = found


class RegistryStatementInvalid(EndorseError):
    """A registry answer that cannot be trusted: a statement whose signature does not verify
    under the pinned key (or that is for another registry, key or token), or an answer that
    is not of the form the API promises."""


class StatusBitCleared(RegistryStatementInvalid):
    """A registry fault: a status list, signed and newer than one this client holds, clears
    a bit the held one has set. A registry never clears a bit (spec §5): either it lost a
    revocation or it is undoing one. The list is not taken (the held one stays, in memory
    and in the cache directory), so every verification that needs it says so, until the
    registry publishes a list with the bit set again. ``list_id`` and ``indexes`` (at most
    the first 10) say where."""

    def __init__(self, registry: str, list_id: str, indexes: list[int]) -> None:
        shown = ", ".join(str(i) for i in indexes[:10])
        super().__init__(
            f"{registry}: status list {list_id[:100]!r} clears revoked entries ({shown});"
            " a registry never clears a status bit: refusing the list"
        )
        self.registry = registry
        self.list_id = list_id
        self.indexes = indexes[:10]


class PinStoreError(EndorseError):
    """The file of pinned registry keys is unreadable, malformed, or cannot be written."""


class ConfigError(EndorseError):
    """No registry is configured, or a setting (the config file, ``$ENDORSE_REGISTRY``, an
    option naming a registry or its key) is malformed; the message says which."""
