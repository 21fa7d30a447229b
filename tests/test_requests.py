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


@pytest.mark.parametrize("value", ["0" + str(NOW), "+" + str(NOW), " " + str(NOW), "00"])
def test_timestamp_has_one_spelling(value: str) -> None:
    # A leading zero (or sign, or space) would be a second spelling of the same moment.
    headers = {**_signed(), HEADER_TIME: value}
    with pytest.raises(MalformedToken, match=HEADER_TIME):
        verify_request(REGISTRY, "POST", "/api/v1/revoke", BODY, headers, now=NOW)


def test_timestamp_zero_is_spelled_0() -> None:
    headers = sign_request(ALICE, REGISTRY, "POST", "/x", b"", now=0, nonce="A" * 22)
    assert headers[HEADER_TIME] == "0"
    assert verify_request(REGISTRY, "POST", "/x", b"", headers, now=0).timestamp == 0


@pytest.mark.parametrize("header", [HEADER_KEY, HEADER_TIME, "Endorse-Nonce", "Endorse-Signature"])
@pytest.mark.parametrize("value", [None, 5, b"x", ["x"]])
def test_non_text_header_values_are_malformed(header: str, value: object) -> None:
    headers = {**_signed(), header: value}
    with pytest.raises(MalformedToken):
        verify_request(REGISTRY, "POST", "/api/v1/revoke", BODY, headers, now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [(["POST"], "/api/v1/revoke", BODY), ("POST", b"/api/v1/revoke", BODY), ("POST", "/x", "{}")],
    ids=["method_list", "path_bytes", "body_text"],
)
def test_non_text_method_path_or_body_are_malformed(
    method: object, path: object, body: object
) -> None:
    with pytest.raises(MalformedToken):
        verify_request(REGISTRY, method, path, body, _signed(), now=NOW)  # type: ignore[arg-type]
