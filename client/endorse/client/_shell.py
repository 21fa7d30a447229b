"""What the sync and async clients share besides the core: key loading, argument shaping,
reading an answer within bounds, and the client's construction checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from endorse.client import keystore
from endorse.client._core import Core, Response
from endorse.client.cache import FactCache
from endorse.client.errors import RegistryStatementInvalid, RegistryUnreachable
from endorse.client.models import VerifyItem
from endorse.client.pins import PinStore, default_pin_store
from endorse.client.share import check_challenge, check_presentation, token_from_url
from endorse.protocol import InvalidArgument, SigningKey

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
"""The most a registry answer may hold (a page of 100 tokens is well under 1 MiB)."""
MAX_CONCURRENT = 16
"""Requests the async client has in flight at once."""
MAX_SHARED_ANSWERS = 256
"""Answers to GETs the async client keeps to share with calls that asked just before they
landed (only such calls are answered with them)."""
INLINE_BATCH = 64
"""The most tokens the async client verifies on its event loop; a larger batch is verified in
its worker thread (about 0.1 ms of CPU a token: 10,000 would hold the loop for a second)."""
USER_AGENT = "endorse-client/1"

KeySource = SigningKey | Path
"""An endorser key: a :class:`SigningKey`, or the path of a PKCS#8 PEM key file (encrypted
files are opened with the passphrase the client was given, ``key_passphrase``; the SDK never
reads one from the environment: that is the CLI's choice, ``ENDORSE_PASSPHRASE``)."""


def resolve_key(key: KeySource, passphrase: keystore.Passphrase = None) -> SigningKey:
    """The signing key ``key`` stands for; a key file is opened with ``passphrase`` (bytes,
    or a function called only when the file is encrypted) if it is encrypted.

    Raises:
        KeyFileError: the key file cannot be read, or is encrypted and ``passphrase`` is
            missing or wrong.
        InvalidArgument: neither a SigningKey nor a Path.
    """
    if type(key) is SigningKey:
        return key
    if isinstance(key, Path):
        return keystore.load_key(key, passphrase)
    raise InvalidArgument("an endorser key is a SigningKey or the Path of a key file")


def check_passphrase(passphrase: keystore.Passphrase) -> keystore.Passphrase:
    """``passphrase`` as a client keeps it, checked.

    Raises:
        InvalidArgument: neither None, bytes nor a callable.
    """
    if passphrase is None or type(passphrase) is bytes or callable(passphrase):
        return passphrase
    raise InvalidArgument("key_passphrase must be bytes, a function returning bytes, or None")


def build_core(
    registry: str,
    *,
    registry_key: str | None,
    pin_store: Path | None,
    timeout: float,
    retries: int,
    cache_dir: Path | None,
    max_issuers: int,
    max_lists: int,
    open_files: bool = True,
) -> Core:
    """The core of a new client, its arguments checked; with ``open_files``, its cache
    directory is opened now (else on first use: the async client does that off its loop).

    Raises:
        InvalidArgument: an argument of the wrong type or out of range.
        InvalidKey: ``registry_key`` is not an Ed25519 did:key.
        PinStoreError: the pin store cannot be read.
    """
    if type(timeout) not in (int, float) or not timeout > 0:
        raise InvalidArgument("timeout must be a positive number of seconds")
    if registry_key is not None and type(registry_key) is not str:
        raise InvalidArgument("registry_key must be a did:key string")
    if pin_store is not None and not isinstance(pin_store, Path):
        raise InvalidArgument("pin_store must be a pathlib.Path")
    pins = None
    if registry_key is None:
        pins = PinStore(default_pin_store() if pin_store is None else pin_store)
    cache = FactCache(max_issuers=max_issuers, max_lists=max_lists, directory=cache_dir)
    core = Core(registry, registry_key=registry_key, pins=pins, cache=cache, retries=retries)
    if open_files:
        cache.open()
    return core


def item(
    token: str,
    subject: str | None,
    purpose: str | None,
    audience: str | None,
    presentation: str | None,
    nonce: str | None,
) -> VerifyItem:
    # A pasted link or wrapped token is read as every front end reads it (spec §11.5).
    # A non-str token is left for the verification to report, as before.
    text = token_from_url(token) if type(token) is str else token
    if presentation is not None:
        # A presentation that is none is the verifier's input error, said plainly, not a
        # subject_mismatch blaming the candidate (the challenge's form likewise).
        presentation = token_from_url(presentation) if type(presentation) is str else presentation
        check_presentation(presentation)
        check_challenge(nonce)
    return VerifyItem(text, subject, purpose, audience, presentation, nonce)


def unreachable(core: Core, error: httpx.HTTPError) -> RegistryUnreachable:
    """The client's error for a failed exchange; names the failure, never the request."""
    return RegistryUnreachable(f"{core.registry}: unreachable ({type(error).__name__})")


def read_limited(chunks: Iterator[bytes], registry: str) -> bytes:
    """The body of an answer, refusing more than :data:`MAX_RESPONSE_BYTES` (decoded)."""
    out = bytearray()
    for chunk in chunks:
        out += chunk
        if len(out) > MAX_RESPONSE_BYTES:
            raise RegistryStatementInvalid(f"{registry}: answer larger than {MAX_RESPONSE_BYTES}")
    return bytes(out)


def too_large(size: int, registry: str) -> None:
    if size > MAX_RESPONSE_BYTES:
        raise RegistryStatementInvalid(f"{registry}: answer larger than {MAX_RESPONSE_BYTES}")


def response(r: httpx.Response, content: bytes) -> Response:
    return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, content)


def http_options(timeout: float, transport: Any) -> dict[str, Any]:
    return {
        "timeout": timeout,
        "transport": transport,
        "follow_redirects": False,
        "headers": {"user-agent": USER_AGENT},
    }
