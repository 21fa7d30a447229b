"""endorse.client: the SDK of endorse for verifiers, endorsers and subjects.

* Verifiers: :class:`Client` (or :class:`AsyncClient`) ``.verify(token, subject=…,
  purpose=…)`` checks a reference offline-first: the registry is asked for facts (the
  issuer's verified identity, the status list), their registry signatures are checked under
  the pinned registry key, and the protocol's own verification decides.
  ``verify_online`` asks the registry instead and checks its signed receipt.
* Endorsers: ``register`` + ``confirm`` (or :class:`AlreadyRegistered`), ``issue``,
  ``list``, ``revoke``, ``rotate_key``, ``revoke_key``, ``recover`` + ``confirm_recovery``;
  keys from :mod:`.keystore`.
* Subjects: :func:`verification_url`, :func:`qr_png`, :func:`qr_svg`, :func:`qr_text`,
  :func:`present`.

Errors are the protocol's :class:`~endorse.protocol.EndorseError` tree; registry failures
(:class:`RegistryError`, :class:`RegistryUnreachable`, :class:`PinMismatch`,
:class:`RegistryStatementInvalid`) are never verdicts; :class:`ConfigError` is a malformed or
missing registry setting (option, environment or config file).
"""

from endorse.client.aclient import AsyncClient
from endorse.client.cache import CacheStats
from endorse.client.client import Client
from endorse.client.errors import (
    ConfigError,
    PinMismatch,
    PinStoreError,
    RegistryError,
    RegistryStatementInvalid,
    RegistryUnreachable,
    StatusBitCleared,
)
from endorse.client.keystore import default_key_path, load_key, write_key
from endorse.client.models import (
    AlreadyRegistered,
    Answer,
    CheckCounts,
    InboxItem,
    Issued,
    Listed,
    OnlineIssuer,
    OnlineResult,
    OnlineStatus,
    Pending,
    RegistryInfo,
    RequestStatus,
    Revoked,
    ShortLink,
    ShortLinkRevoked,
    ShortLinksRevoked,
    StandingRefusal,
    VerifyItem,
)
from endorse.client.pins import default_pin_store
from endorse.client.share import (
    new_challenge,
    present,
    qr_png,
    qr_svg,
    qr_text,
    registry_of,
    short_link_in,
    token_from_url,
    verification_url,
)

__all__ = [
    "AlreadyRegistered",
    "Answer",
    "AsyncClient",
    "CacheStats",
    "CheckCounts",
    "Client",
    "ConfigError",
    "InboxItem",
    "Issued",
    "Listed",
    "OnlineIssuer",
    "OnlineResult",
    "OnlineStatus",
    "Pending",
    "PinMismatch",
    "PinStoreError",
    "RegistryError",
    "RegistryInfo",
    "RegistryStatementInvalid",
    "RegistryUnreachable",
    "RequestStatus",
    "Revoked",
    "ShortLink",
    "ShortLinkRevoked",
    "ShortLinksRevoked",
    "StandingRefusal",
    "StatusBitCleared",
    "VerifyItem",
    "default_key_path",
    "default_pin_store",
    "load_key",
    "new_challenge",
    "present",
    "qr_png",
    "qr_svg",
    "qr_text",
    "registry_of",
    "short_link_in",
    "token_from_url",
    "verification_url",
    "write_key",
]
