"""Signed requests: bound to registry, method, path, body and time; nothing else verifies."""

from __future__ import annotations

import pytest
from helpers import ALICE, MALLORY, NOW, REGISTRY

from endorse.protocol import BadSignature, MalformedToken
from endorse.protocol.requests import HEADER_KEY, HEADER_TIME, sign_request, verify_request

BODY = b'{"id":"x"}'


def _signed() -> dict[str, str]:
    return sign_request(ALICE, REGISTRY, "POST", "/api/v1/revoke", BODY, now=NOW)


def test_round_trip() -> None:
    headers = _signed()
    signed = verify_request(REGISTRY, "POST", "/api/v1/revoke", BODY, headers, now=NOW + 5)
    assert signed.did == ALICE.did
    assert signed.timestamp == NOW


@pytest.mark.parametrize(
    ("registry", "method", "path", "body"),
    [
        ("https://other.example", "POST", "/api/v1/revoke", BODY),
        (REGISTRY, "PUT", "/api/v1/revoke", BODY),
        (REGISTRY, "POST", "/api/v1/revoke?x=1", BODY),
        (REGISTRY, "POST", "/api/v1/revoke", BODY + b" "),
    ],
    ids=["other_registry", "other_method", "other_path", "other_body"],
)
def test_any_change_breaks_the_signature(
    registry: str, method: str, path: str, body: bytes
) -> None:
    with pytest.raises(BadSignature):
        verify_request(registry, method, path, body, _signed(), now=NOW)


def test_claiming_another_key_fails() -> None:
    headers = {**_signed(), HEADER_KEY: MALLORY.did}
    with pytest.raises(BadSignature):
        verify_request(REGISTRY, "POST", "/api/v1/revoke", BODY, headers, now=NOW)


@pytest.mark.parametrize("delta", [-301, 301, 10**9])
def test_stale_or_future_timestamp_refused(delta: int) -> None:
    with pytest.raises(MalformedToken, match="clock"):
        verify_request(REGISTRY, "POST", "/api/v1/revoke", BODY, _signed(), now=NOW + delta)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (HEADER_TIME, "-5"),
        (HEADER_TIME, "\uff11\uff12"),  # full-width digits: isdigit() but not ASCII
        (HEADER_KEY, "did:key:nope"),
        ("Endorse-Nonce", "short"),
        ("Endorse-Signature", "A" * 85),
    ],
)
def test_malformed_headers_refused(header: str, value: str) -> None:
    with pytest.raises(MalformedToken):
        verify_request(
            REGISTRY, "POST", "/api/v1/revoke", BODY, {**_signed(), header: value}, now=NOW
        )


def test_missing_header_named() -> None:
    headers = _signed()
    del headers[HEADER_TIME]
    with pytest.raises(MalformedToken, match=HEADER_TIME):
        verify_request(REGISTRY, "POST", "/api/v1/revoke", BODY, headers, now=NOW)
