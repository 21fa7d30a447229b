"""What the sync and async clients share besides the core: key loading, argument shaping,
reading an answer within bounds and within the call's deadline, and the client's
construction checks.

Every answer is read the same way (:class:`Body`): its size on the wire is capped before
anything is inflated; it is asked for uncoded (``Accept-Encoding: identity``), and a coding
the registry applies anyway is undone only if it is one layer of gzip, inflated with an
output limit (chained or unknown codings are refused: httpx would inflate them in one
unbounded call). Every call has one deadline (:class:`Deadline`): connecting, sending,
waiting for the headers, reading the body, retrying and waiting for ``Retry-After`` all end
by it; the sync client's socket operations are clamped to it (:class:`DeadlineTransport`),
the async client's exchanges are cancelled at it.
"""

from __future__ import annotations

import contextlib
import contextvars
import ssl
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpcore
import httpx

from endorse.client import _clock, keystore
from endorse.client._core import Core, Response
from endorse.client.cache import FactCache
from endorse.client.errors import RegistryStatementInvalid, RegistryUnreachable
from endorse.client.models import VerifyItem
from endorse.client.pins import PinStore, default_pin_store
from endorse.client.share import (
    check_challenge,
    check_presentation,
    short_link_in,
    token_from_url,
)
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
    if _is_short_link(token):
        raise InvalidArgument(SHORT_LINK_GIVEN)
    text = token_from_url(token) if type(token) is str else token
    if presentation is not None:
        # A presentation that is none is the verifier's input error, said plainly, not a
        # subject_mismatch blaming the candidate (the challenge's form likewise).
        presentation = token_from_url(presentation) if type(presentation) is str else presentation
        check_presentation(presentation)
        check_challenge(nonce)
    return VerifyItem(text, subject, purpose, audience, presentation, nonce)


SHORT_LINK_GIVEN = (
    "that is a short link (…/s#ID), which holds no token: resolve it first (resolve_link),"
    " then verify the token it gives"
)
"""Why a short link given where a token is verified is refused: resolving is a call of its
own, and verifying a pointer as a token would only ever say "malformed"."""


def _is_short_link(token: object) -> bool:
    # Every short link holds a "#" (spec §11.5 step 5) and no token does: the cheap test
    # first, so a batch of tokens is not read as pastes.
    return type(token) is str and "#" in token and short_link_in(token) is not None


def refuse_short_links(batch: Sequence[str | VerifyItem]) -> None:
    """``verify_many`` takes tokens, not pastes: an item that is a short link is refused
    (:data:`SHORT_LINK_GIVEN`), as ``verify`` refuses one, rather than found ``malformed``.

    Raises:
        InvalidArgument: an item is a short link; the message names its position.
    """
    for position, entry in enumerate(batch):
        if _is_short_link(entry.token if isinstance(entry, VerifyItem) else entry):
            raise InvalidArgument(f"item {position}: {SHORT_LINK_GIVEN}")


def unreachable(core: Core, error: httpx.HTTPError) -> RegistryUnreachable:
    """The client's error for a failed exchange; names the failure, never the request."""
    return RegistryUnreachable(f"{core.registry}: unreachable ({type(error).__name__})")


def out_of_time(core: Core, timeout: float) -> RegistryUnreachable:
    """The client's error for a call whose deadline passed."""
    return RegistryUnreachable(f"{core.registry}: no complete answer within {timeout:g} s")


# --- the call's deadline -------------------------------------------------------------------


class Deadline:
    """The monotonic time by which one call ends, ``seconds`` from now."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = _clock.monotonic() + seconds

    def left(self) -> float:
        """Seconds left (0 or less: passed)."""
        return self.at - _clock.monotonic()


_CURRENT: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "endorse_deadline", default=None
)


@contextlib.contextmanager
def within(deadline: Deadline) -> Iterator[None]:
    """Make ``deadline`` the one the sync transport's socket operations end by, in this
    context (this thread)."""
    token = _CURRENT.set(deadline)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    deadline = _CURRENT.get()
    if deadline is None:
        return timeout
    left = deadline.left()
    if left <= 0:
        raise error("the call's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose every read and write ends by the call's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with every operation clamped to the call's deadline: a
    registry that trickles its headers or body a byte at a time (each read well within the
    read timeout) is cut off at the deadline, not after the last byte."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _clamp(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _clamp(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """The sync client's default transport: httpx's, its sockets clamped to the call's
    deadline (see :class:`_DeadlineBackend`)."""

    def __init__(self) -> None:
        super().__init__()
        pool = self._pool
        if isinstance(pool, httpcore.ConnectionPool):  # no proxy: always, as built here
            pool._network_backend = _DeadlineBackend(pool._network_backend)


# --- reading an answer ---------------------------------------------------------------------


def _too_large(registry: str) -> RegistryStatementInvalid:
    return RegistryStatementInvalid(f"{registry}: answer larger than {MAX_RESPONSE_BYTES} bytes")


class Body:
    """The body of one answer, read within :data:`MAX_RESPONSE_BYTES` on the wire and, once
    inflated, in memory: feed it the raw chunks, then take :meth:`content`.

    Raises (constructor, :meth:`feed`, :meth:`content`):
        RegistryStatementInvalid: a ``Content-Length`` or a body over the cap, a content
            coding other than none or one layer of gzip, or a gzip body that is corrupt or
            inflates beyond the cap.
    """

    def __init__(self, headers: httpx.Headers, registry: str) -> None:
        self.registry = registry
        codings = [
            c.strip().lower()
            for value in headers.get_list("content-encoding")
            for c in value.split(",")
            if c.strip() and c.strip().lower() != "identity"
        ]
        if codings not in ([], ["gzip"], ["x-gzip"]):
            raise RegistryStatementInvalid(
                f"{registry}: answer in content coding {', '.join(codings)[:100]!r} (not asked"
                " for; one layer of gzip at most is read)"
            )
        self.gzip = bool(codings)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_RESPONSE_BYTES:
            raise _too_large(registry)
        self._raw = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._raw += chunk
        if len(self._raw) > MAX_RESPONSE_BYTES:
            raise _too_large(self.registry)

    def content(self) -> bytes:
        if not self.gzip or not self._raw:  # (a 304 may name the coding of what it omits)
            return bytes(self._raw)
        inflater = zlib.decompressobj(wbits=31)
        try:
            out = inflater.decompress(bytes(self._raw), MAX_RESPONSE_BYTES + 1)
        except zlib.error as e:
            raise RegistryStatementInvalid(f"{self.registry}: corrupt gzip answer: {e}") from None
        if len(out) > MAX_RESPONSE_BYTES:
            raise _too_large(self.registry)
        if not inflater.eof or inflater.unused_data:
            raise RegistryStatementInvalid(
                f"{self.registry}: gzip answer truncated, or more than one gzip member"
            )
        return out


def already_read(r: httpx.Response, registry: str) -> bytes | None:
    """The body of an answer httpx holds already (one a transport built in memory, as a
    MockTransport does: httpx read and decoded it when it was made), within the cap; None
    for an answer still to be read from the network."""
    if not r.is_stream_consumed:
        return None
    if len(r.content) > MAX_RESPONSE_BYTES:
        raise _too_large(registry)
    return r.content


def response(r: httpx.Response, content: bytes) -> Response:
    return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, content)


def http_options(timeout: float, transport: Any) -> dict[str, Any]:
    """The httpx client's options: ``timeout`` bounds each operation too (the call's deadline
    also applies with a transport of the caller's, checked between reads)."""
    return {
        "timeout": timeout,
        "transport": transport,
        "follow_redirects": False,
        "headers": {"user-agent": USER_AGENT, "accept-encoding": "identity"},
    }
