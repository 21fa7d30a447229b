"""Adversarial requests, on SQLite and PostgreSQL: each gets its documented 4xx problem.

Every refusal is an RFC 9457 ``application/problem+json`` document with a stable ``type``;
nothing an attacker sends makes the registry answer 500. A token that is not a readable
endorsement is not a request error at ``/verify``: the answer is the verdict ``malformed``.

The last test fuzzes every POST endpoint the OpenAPI document lists with random JSON values and
random bytes (hypothesis), signed and unsigned.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from _clock import Clock
from endorsers import BOB, EMPLOYMENT, MANAGER, REGISTRY_URL, Endorser, context
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from endorse.protocol import (
    Endorsement,
    KeyBinding,
    KeyRevocation,
    KeyRotation,
    PublicKey,
    Receipt,
    Registration,
    Revocation,
    SigningKey,
    StatusRef,
    decode_unverified,
    issue,
    sign,
    token_hash,
    verify_receipt,
)
from endorse.protocol.canonical import encode as canonical_json
from endorse.protocol.encoding import b64url_decode, b64url_encode
from endorse.protocol.requests import (
    HEADER_KEY,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIME,
    REQUEST_MAX_SKEW,
    new_nonce,
    sign_request,
)
from endorse.server.app import create_app
from endorse.server.settings import Settings

PROBLEM = "application/problem+json"
JSON = "application/json"
IDENTITIES = "/api/v1/identities"
ROTATION_CONSENT_CONTEXT = b"endorse/v1/rotation-consent\0"
MAX_BODY: int = Settings.model_fields["max_body_bytes"].default  # as the client fixture runs
MAX_DEPTH: int = Settings.model_fields["max_json_depth"].default


def _post_paths() -> list[str]:
    """Every POST operation of the API, read from the app's own OpenAPI document."""
    app = create_app(Settings(registry_url=REGISTRY_URL, database_url="sqlite://"))
    return sorted(path for path, ops in app.openapi()["paths"].items() if "post" in ops)


POST_PATHS = _post_paths()


# --- helpers ---------------------------------------------------------------------------------


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """Assert ``response`` is the problem document ``slug`` with ``status``; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:endorse:problem:{slug}", body
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def send(
    client: TestClient,
    path: str,
    content: bytes,
    *,
    signer: SigningKey | None = None,
    content_type: str | None = JSON,
    method: str = "POST",
) -> httpx.Response:
    headers: dict[str, str] = {}
    if content_type is not None:
        headers["content-type"] = content_type
    if signer is not None:
        headers |= sign_request(signer, REGISTRY_URL, method, path, content, now=now(client))
    return client.request(method, path, content=content, headers=headers)


def send_json(
    client: TestClient, path: str, body: Any, *, signer: SigningKey | None = None
) -> httpx.Response:
    return send(client, path, json.dumps(body).encode(), signer=signer)


def now(client: TestClient) -> int:
    return context(client).clock()


def registry_public_key(client: TestClient) -> PublicKey:
    return context(client).key.public_key


def verify(client: TestClient, token: Any, **expect: Any) -> dict[str, Any]:
    r = client.post("/api/v1/verify", json={"token": token, **expect})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == JSON
    answer: dict[str, Any] = r.json()
    receipt = verify_receipt(answer["receipt"], registry_public_key(client), REGISTRY_URL)
    assert receipt.verdict == answer["verdict"]
    if type(token) is str:
        assert receipt.token_hash == token_hash(token)
    return answer


def rotation_consent(successor: SigningKey, rotation: str) -> str:
    message = ROTATION_CONSENT_CONTEXT + hashlib.sha256(rotation.encode()).digest()
    return b64url_encode(successor.sign(message))


def concurrently(n: int, call: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """``n`` calls at once from ``n`` threads (a barrier lines them up)."""
    barrier = threading.Barrier(n)
    results: list[httpx.Response | BaseException] = [RuntimeError("no answer")] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except BaseException as e:  # reported below, in the test's thread
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    answers = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        answers.append(result)
    return answers


class Outbox:
    """The registry's outbox (the default mailer): codes read out of the ``.eml`` files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.seen: set[str] = set()

    def code(self) -> str:
        paths = sorted(self.directory.glob("*.eml")) if self.directory.exists() else []
        fresh = [p for p in paths if p.name not in self.seen]
        assert len(fresh) == 1, f"expected one new message, found {len(fresh)}"
        self.seen.add(fresh[0].name)
        message = BytesParser(policy=policy.default).parsebytes(fresh[0].read_bytes())
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        match = re.search(r"^\s+([0-9]{8})$", text, re.MULTILINE)
        assert match is not None
        return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


@pytest.fixture
def alice(client: TestClient) -> Endorser:
    return Endorser(client, 1, "Alice Smith").bind()


@pytest.fixture
def carol(client: TestClient) -> Endorser:
    return Endorser(client, 3, "Carol Chen").bind()


@pytest.fixture
def outbox(settings: Settings) -> Outbox:
    return Outbox(settings.outbox_path)


def concrete(path: str, alice: Endorser, endorsement_id: str = "A" * 22) -> str:
    path = path.replace("{key}", alice.did).replace("{endorsement_id}", endorsement_id)
    return path.replace("{request_id}", "A" * 22)


def test_the_post_endpoints_are_all_known() -> None:
    # The fuzzing and the body-limit tests below cover exactly these (from the OpenAPI).
    assert (
        sorted(
            [
                f"{IDENTITIES}/confirm",
                f"{IDENTITIES}/register",
                f"{IDENTITIES}/{{key}}/recover",
                f"{IDENTITIES}/{{key}}/recover/confirm",
                f"{IDENTITIES}/{{key}}/revoke",
                f"{IDENTITIES}/{{key}}/rotate",
                "/api/v1/endorsements",
                "/api/v1/endorsements/{endorsement_id}/revoke",
                "/api/v1/links",
                "/api/v1/links/resolve",
                "/api/v1/links/revoke",
                "/api/v1/links/revoke-all",
                "/api/v1/qr",
                "/api/v1/requests",
                "/api/v1/requests/confirm",
                "/api/v1/requests/{request_id}/answer",
                "/api/v1/requests/{request_id}/block",
                "/api/v1/slots",
                "/api/v1/standing-refusals",
                "/api/v1/statements",
                "/api/v1/verify",
                "/api/v1/verify/batch",
            ]
        )
        == POST_PATHS
    )


# --- bodies that are not JSON, not JSON at all, too big or too deep ----------------------------

NESTED = b'{"token": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}"
BAD_BODIES = {
    "truncated": (b'{"token": ', 400, "malformed-json"),
    "trailing_garbage": (b'{"token": "x"} x', 400, "malformed-json"),
    "single_quotes": (b"{'token': 'x'}", 400, "malformed-json"),
    "nan": (b'{"token": NaN}', 400, "malformed-json"),
    "infinity": (b'{"revoked_from": 1e400}', 400, "malformed-json"),
    "bom": (b'\xef\xbb\xbf{"token": "x"}', 400, "malformed-json"),
    "invalid_utf8": (b'{"token": "\xff\xfe"}', 400, "malformed-json"),
    "lone_surrogate": (b'{"token": "\\ud800"}', 400, "malformed-json"),
    "nested_too_deep": (NESTED, 400, "malformed-json"),
    "nested_20000": (b"[" * 20_000 + b"]" * 20_000, 400, "malformed-json"),
    "huge": (b'{"token": "' + b"x" * MAX_BODY + b'"}', 413, "payload-too-large"),
}


WRONG_CONTENT_TYPES = [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "application/jsonx",
]


def _streamed() -> Iterator[bytes]:
    """A body without Content-Length, four times the cap."""
    for _ in range(4 * MAX_BODY // 1024):
        yield b" " * 1024


@pytest.mark.parametrize("path", POST_PATHS)
def test_bad_bodies_at_every_post_endpoint(client: TestClient, alice: Endorser, path: str) -> None:
    target = concrete(path, alice)
    for case, (content, status, slug) in BAD_BODIES.items():
        # Signed, so that nothing but the body can be refused.
        r = send(client, target, content, signer=alice.key)
        assert (r.status_code, r.headers["content-type"]) == (status, PROBLEM), (case, r.text)
        problem(r, status, slug)
    for content_type in WRONG_CONTENT_TYPES:
        r = send(client, target, b'{"token": "x"}', content_type=content_type)
        assert r.status_code == 415, (content_type, r.text)
        problem(r, 415, "unsupported-media-type")
    # No Content-Length: the registry counts what arrives and stops at the cap.
    r = client.post(target, content=_streamed(), headers={"content-type": JSON})
    problem(r, 413, "payload-too-large")


def test_a_body_at_the_cap_is_read(client: TestClient) -> None:
    padding = MAX_BODY - len(b'{"token": ""}')
    body = b'{"token": "' + b"x" * padding + b'"}'
    assert len(body) == MAX_BODY
    # Read and parsed: a body exactly at the cap is not refused for its size.
    r = send(client, "/api/v1/verify", body)
    assert r.status_code == 200
    assert r.json()["verdict"] == "malformed"


def test_nesting_at_the_cap_is_read(client: TestClient) -> None:
    depth = b'{"token": "x", "subject": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    problem(send(client, "/api/v1/verify", depth), 422, "invalid-request")


# --- bodies that do not match the schema ------------------------------------------------------


def _schema_cases(alice: Endorser, carol: Endorser) -> list[tuple[str, Any, SigningKey | None]]:
    """(path, body, signer) for a body with one unknown member, per endpoint with a body."""
    pending = {"pending": "A" * 22, "code": "12345678"}
    return [
        (
            f"{IDENTITIES}/register",
            {"email": "a@example.com", "name": "A", "admin": True},
            carol.key,
        ),
        (f"{IDENTITIES}/confirm", {**pending, "admin": True}, carol.key),
        (
            f"{IDENTITIES}/{alice.did}/rotate",
            {"rotation": "x", "successor_proof": "A" * 86, "force": True},
            alice.key,
        ),
        (f"{IDENTITIES}/{alice.did}/revoke", {"revocation": "x", "force": True}, alice.key),
        (f"{IDENTITIES}/{alice.did}/recover", {"email": "attacker@example.com"}, None),
        (f"{IDENTITIES}/{alice.did}/recover/confirm", {**pending, "key": alice.did}, None),
        ("/api/v1/endorsements", {"token": "x", "issuer": alice.did}, None),
        (f"/api/v1/endorsements/{'A' * 22}/revoke", {"revocation": "x", "by": "me"}, None),
        ("/api/v1/verify", {"token": "x", "verdict": "valid"}, None),
        ("/api/v1/verify/batch", {"items": [{"token": "x"}], "fast": True}, None),
        ("/api/v1/verify/batch", {"items": [{"token": "x", "verdict": "valid"}]}, None),
    ]


def test_unknown_members_are_refused(client: TestClient, alice: Endorser, carol: Endorser) -> None:
    for path, body, signer in _schema_cases(alice, carol):
        r = send_json(client, path, body, signer=signer)
        assert "Extra inputs are not permitted" in problem(r, 422, "invalid-request")["detail"]


def test_unknown_members_are_refused_at_slots(client: TestClient, alice: Endorser) -> None:
    r = send_json(client, "/api/v1/slots", {"list_id": "mine", "index": 7}, signer=alice.key)
    problem(r, 422, "invalid-request")


WRONG_SHAPES: list[tuple[str, Any]] = [
    ("/api/v1/verify", {"token": 5}),
    ("/api/v1/verify", {"token": None}),
    ("/api/v1/verify", {"token": "x", "purpose": ["a"]}),
    ("/api/v1/verify", ["x"]),
    ("/api/v1/verify", "x"),
    ("/api/v1/verify", None),
    ("/api/v1/verify/batch", {"items": []}),
    ("/api/v1/verify/batch", {"items": "x"}),
    ("/api/v1/verify/batch", {"items": [5]}),
    ("/api/v1/endorsements", {"token": ""}),
    ("/api/v1/endorsements", {"token": True}),
    ("/api/v1/endorsements", {}),
    ("/api/v1/endorsements", []),
    ("/api/v1/endorsements/{endorsement_id}/revoke", {"revocation": ""}),
    ("/api/v1/endorsements/{endorsement_id}/revoke", {"revocation": 1}),
    (f"{IDENTITIES}/{{key}}/recover", []),
    (f"{IDENTITIES}/{{key}}/recover", "x"),
    (f"{IDENTITIES}/{{key}}/recover/confirm", {"pending": "A" * 22, "code": "1234567"}),
    (f"{IDENTITIES}/{{key}}/recover/confirm", {"pending": "A" * 22, "code": 12345678}),
    (f"{IDENTITIES}/{{key}}/recover/confirm", {"pending": "A" * 23, "code": "12345678"}),
    (f"{IDENTITIES}/{{key}}/recover/confirm", {"pending": "A" * 22, "code": "١٢٣٤٥٦٧٨"}),
    (
        f"{IDENTITIES}/{{key}}/recover/confirm",
        {"pending": "A" * 22, "code": "12345678", "revoked_from": -1},
    ),
    (
        f"{IDENTITIES}/{{key}}/recover/confirm",
        {"pending": "A" * 22, "code": "12345678", "revoked_from": 10**30},
    ),
    (
        f"{IDENTITIES}/{{key}}/recover/confirm",
        {"pending": "A" * 22, "code": "12345678", "revoked_from": "1"},
    ),
]
SIGNED_WRONG_SHAPES: list[tuple[str, Any]] = [
    (f"{IDENTITIES}/register", {"email": 5, "name": "A"}),
    (f"{IDENTITIES}/register", {"email": "a@example.com"}),
    (f"{IDENTITIES}/register", {"email": "a@example.com", "name": "A" * 129}),
    (f"{IDENTITIES}/confirm", {"pending": "A" * 22}),
    (f"{IDENTITIES}/confirm", {"pending": "A" * 22, "code": "1234567a"}),
    (f"{IDENTITIES}/{{key}}/rotate", {"rotation": "x", "successor_proof": "A" * 85}),
    (f"{IDENTITIES}/{{key}}/rotate", {"rotation": "x" * 8193, "successor_proof": "A" * 86}),
    (f"{IDENTITIES}/{{key}}/revoke", {"revocation": ["x"]}),
    (f"{IDENTITIES}/{{key}}/revoke", {}),
]


def test_wrong_shapes_are_422(client: TestClient, alice: Endorser) -> None:
    cases = [(path, body, None) for path, body in WRONG_SHAPES]
    cases += [(path, body, alice.key) for path, body in SIGNED_WRONG_SHAPES]
    for path, body, signer in cases:
        r = send_json(client, concrete(path, alice), body, signer=signer)
        assert r.status_code == 422, (path, body, r.text)
        problem(r, 422, "invalid-request")


BAD_PATHS = [
    ("POST", f"{IDENTITIES}/did:key:zzz/recover", 400, "malformed"),
    ("POST", f"{IDENTITIES}/did:key:z6Mk{'1' * 44}/recover", 400, "malformed"),
    ("POST", f"{IDENTITIES}/%00/recover", 400, "malformed"),
    ("POST", "/api/v1/endorsements/short/revoke", 422, "invalid-request"),
    ("POST", f"/api/v1/endorsements/{'A' * 21}B/revoke", 422, "invalid-request"),
    ("POST", "/api/v1/nowhere", 404, "not-found"),
    ("GET", f"{IDENTITIES}/did:key:zzz", 400, "malformed"),
    ("GET", f"{IDENTITIES}/did:key:z6Mk{'1' * 44}", 400, "malformed"),
    ("GET", "/api/v1/registrations/xyz", 422, "invalid-request"),
    ("GET", "/api/v1/status-lists/%21%21", 422, "invalid-request"),
    ("GET", f"/api/v1/status-lists/{'a' * 65}", 422, "invalid-request"),
    ("GET", f"/api/v1/status-lists/{'a' * 22}", 404, "not-found"),
    ("GET", f"/api/v1/registrations/{'A' * 43}", 404, "not-found"),
    ("GET", "/api/v1/endorsements?limit=0", 401, "unauthorized"),
    ("GET", "/api/v1/verify", 405, "method-not-allowed"),
    ("PUT", "/api/v1/verify", 405, "method-not-allowed"),
    ("DELETE", "/api/v1/endorsements", 405, "method-not-allowed"),
    ("PATCH", f"{IDENTITIES}/register", 405, "method-not-allowed"),
]


def test_bad_paths_and_methods(client: TestClient) -> None:
    for method, path, status, slug in BAD_PATHS:
        content = b"{}" if method in ("POST", "PUT", "PATCH") else b""
        r = send(client, path, content, method=method)
        assert r.status_code == status, (method, path, r.text)
        problem(r, status, slug)


# --- signed requests: forged, replayed, stale ---------------------------------------------


NONCE = "forgery-nonce-0000000000"


def _forgeries(alice: Endorser) -> dict[str, Callable[[int], dict[str, str]]]:
    """Ways to get the headers of ``POST /api/v1/slots`` (empty body) wrong, at ``t``.

    All use the nonce :data:`NONCE`, which none of them may use up.
    """
    mallory = SigningKey.from_seed(b"\x66" * 32)
    path = "/api/v1/slots"

    def signed(
        t: int,
        *,
        key: SigningKey = alice.key,
        registry: str = REGISTRY_URL,
        method: str = "POST",
        target: str = path,
        body: bytes = b"",
    ) -> dict[str, str]:
        return sign_request(key, registry, method, target, body, now=t, nonce=NONCE)

    def without(name: str) -> Callable[[int], dict[str, str]]:
        return lambda t: {k: v for k, v in signed(t).items() if k != name}

    def replace(name: str, value: str) -> Callable[[int], dict[str, str]]:
        return lambda t: signed(t) | {name: value}

    def flipped(t: int) -> dict[str, str]:
        h = signed(t)
        s = h[HEADER_SIGNATURE]
        h[HEADER_SIGNATURE] = ("B" if s[0] == "A" else "A") + s[1:]
        return h

    return {
        "unsigned": lambda t: {},
        "no_key": without(HEADER_KEY),
        "no_time": without(HEADER_TIME),
        "no_nonce": without(HEADER_NONCE),
        "no_signature": without(HEADER_SIGNATURE),
        "signed_by_another_key": lambda t: signed(t, key=mallory) | {HEADER_KEY: alice.did},
        "another_key_named": lambda t: signed(t) | {HEADER_KEY: mallory.did},
        "flipped_signature": flipped,
        "short_signature": lambda t: (
            signed(t) | {HEADER_SIGNATURE: signed(t)[HEADER_SIGNATURE][:-2]}
        ),
        "long_signature": lambda t: (
            signed(t) | {HEADER_SIGNATURE: signed(t)[HEADER_SIGNATURE] + "AA"}
        ),
        "zero_signature": replace(HEADER_SIGNATURE, "A" * 86),
        "signature_not_base64url": replace(HEADER_SIGNATURE, "+" * 86),
        "signature_padded": lambda t: (
            signed(t) | {HEADER_SIGNATURE: signed(t)[HEADER_SIGNATURE] + "=="}
        ),
        "another_registry": lambda t: signed(t, registry="https://registry.example"),
        "another_path": lambda t: signed(t, target="/api/v1/endorsements"),
        "another_method": lambda t: signed(t, method="GET"),
        "another_body": lambda t: signed(t, body=b"{}"),
        "with_a_query": lambda t: signed(t, target=path + "?x=1"),
        "key_not_a_did": replace(HEADER_KEY, "alice"),
        "key_not_ed25519": replace(
            HEADER_KEY, "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"
        ),
        "key_upper_case": lambda t: signed(t) | {HEADER_KEY: alice.did.upper()},
        "time_leading_zero": lambda t: signed(t) | {HEADER_TIME: "0" + str(t)},
        "time_signed": lambda t: signed(t) | {HEADER_TIME: "+" + str(t)},
        "time_float": lambda t: signed(t) | {HEADER_TIME: f"{t}.0"},
        "time_spaces": lambda t: signed(t) | {HEADER_TIME: f" {t} "},
        "time_text": replace(HEADER_TIME, "now"),
        "time_huge": replace(HEADER_TIME, "9" * 40),
        "time_stale": lambda t: signed(t - REQUEST_MAX_SKEW - 1),
        "time_future": lambda t: signed(t + REQUEST_MAX_SKEW + 1),
        "time_zero": lambda t: signed(0),
        "nonce_short": replace(HEADER_NONCE, "A" * 15),
        "nonce_long": replace(HEADER_NONCE, "A" * 65),
        "nonce_not_base64url": replace(HEADER_NONCE, "A" * 15 + "/"),
        "nonce_changed": lambda t: signed(t) | {HEADER_NONCE: new_nonce()},
    }


def test_forged_request_signatures_are_401(client: TestClient, alice: Endorser) -> None:
    t = now(client)
    for name, forge in _forgeries(alice).items():
        r = client.post("/api/v1/slots", headers=forge(t))
        assert r.status_code == 401, (name, r.text)
        problem(r, 401, "unauthorized")
    # The genuine request, with the nonce every forgery used, still works: none used it up.
    headers = sign_request(
        alice.key, REGISTRY_URL, "POST", "/api/v1/slots", b"", now=t, nonce=NONCE
    )
    assert client.post("/api/v1/slots", headers=headers).status_code == 201


def test_a_signature_does_not_move_to_another_body(client: TestClient, carol: Endorser) -> None:
    path = f"{IDENTITIES}/register"
    signed = json.dumps({"email": "carol@example.com", "name": "Carol"}).encode()
    sent = json.dumps({"email": "mallory@example.com", "name": "Carol"}).encode()
    headers = sign_request(carol.key, REGISTRY_URL, "POST", path, signed, now=now(client))
    r = client.post(path, content=sent, headers=headers | {"content-type": JSON})
    problem(r, 401, "unauthorized")


@pytest.mark.parametrize("skew", [-REQUEST_MAX_SKEW, REQUEST_MAX_SKEW])
def test_timestamps_at_the_edge_of_the_window_are_accepted(
    client: TestClient, alice: Endorser, skew: int
) -> None:
    headers = sign_request(
        alice.key, REGISTRY_URL, "POST", "/api/v1/slots", b"", now=now(client) + skew
    )
    assert client.post("/api/v1/slots", headers=headers).status_code == 201


def test_a_replayed_request_is_401(client: TestClient, alice: Endorser, clock: Clock) -> None:
    headers = sign_request(alice.key, REGISTRY_URL, "POST", "/api/v1/slots", b"", now=clock.now)
    assert client.post("/api/v1/slots", headers=headers).status_code == 201
    problem(client.post("/api/v1/slots", headers=headers), 401, "unauthorized")
    # Later, still within the window.
    clock.advance(REQUEST_MAX_SKEW)
    problem(client.post("/api/v1/slots", headers=headers), 401, "unauthorized")
    # The same nonce, freshly signed at another time: still a replay of the nonce.
    again = sign_request(
        alice.key,
        REGISTRY_URL,
        "POST",
        "/api/v1/slots",
        b"",
        now=clock.now,
        nonce=headers[HEADER_NONCE],
    )
    problem(client.post("/api/v1/slots", headers=again), 401, "unauthorized")
    # Once outside the window, the old request is stale, whether or not its nonce is kept.
    clock.advance(REQUEST_MAX_SKEW + 1)
    problem(client.post("/api/v1/slots", headers=headers), 401, "unauthorized")


def test_a_replayed_body_changing_request_is_401(client: TestClient, alice: Endorser) -> None:
    # A key revocation replayed: the second copy must not pass as a new request.
    revocation = sign(
        KeyRevocation(key=alice.did, revoked_from=now(client), by=alice.did, issued_at=now(client)),
        alice.key,
    )
    path = f"{IDENTITIES}/{alice.did}/revoke"
    content = json.dumps({"revocation": revocation}).encode()
    headers = sign_request(alice.key, REGISTRY_URL, "POST", path, content, now=now(client))
    headers["content-type"] = JSON
    assert client.post(path, content=content, headers=headers).status_code == 200
    problem(client.post(path, content=content, headers=headers), 401, "unauthorized")


def test_concurrent_replays_succeed_once(client: TestClient, alice: Endorser) -> None:
    headers = sign_request(alice.key, REGISTRY_URL, "POST", "/api/v1/slots", b"", now=now(client))
    answers = concurrently(8, lambda: client.post("/api/v1/slots", headers=headers))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] + [401] * 7, [r.text for r in answers]
    for r in answers:
        if r.status_code == 401:
            problem(r, 401, "unauthorized")


def test_non_ascii_headers_are_401(client: TestClient) -> None:
    headers = {
        HEADER_KEY: b"did:key:\xe9",
        HEADER_TIME: b"\xe9",
        HEADER_NONCE: b"\xff" * 22,
        HEADER_SIGNATURE: b"\xe9" * 86,
    }
    problem(client.post("/api/v1/slots", headers=headers), 401, "unauthorized")  # type: ignore[arg-type]


def test_signed_by_another_key_than_the_path_names_is_403(
    client: TestClient, alice: Endorser, carol: Endorser
) -> None:
    # Carol signs, correctly, a request about Alice's key.
    revocation = sign(
        KeyRevocation(key=alice.did, revoked_from=now(client), by=alice.did, issued_at=now(client)),
        alice.key,
    )
    r = send_json(
        client, f"{IDENTITIES}/{alice.did}/revoke", {"revocation": revocation}, signer=carol.key
    )
    problem(r, 403, "forbidden")
    successor = SigningKey.from_seed(b"\x77" * 32)
    rotation = sign(
        KeyRotation(key=alice.did, successor=successor.did, issued_at=now(client)), alice.key
    )
    body = {"rotation": rotation, "successor_proof": rotation_consent(successor, rotation)}
    r = send_json(client, f"{IDENTITIES}/{alice.did}/rotate", body, signer=carol.key)
    problem(r, 403, "forbidden")
    # Nothing changed for Alice.
    assert "revoked_from" not in client.get(f"{IDENTITIES}/{alice.did}").json()
    assert "successor" not in client.get(f"{IDENTITIES}/{alice.did}").json()


# --- e-mailed codes ---------------------------------------------------------------------------


def _register(client: TestClient, key: SigningKey, email: str = "dana@example.com") -> str:
    r = send_json(
        client, f"{IDENTITIES}/register", {"email": email, "name": "Dana Doe"}, signer=key
    )
    assert r.status_code == 202, r.text
    pending: str = r.json()["pending"]
    return pending


def _confirm(client: TestClient, key: SigningKey, pending: str, code: str) -> httpx.Response:
    return send_json(
        client, f"{IDENTITIES}/confirm", {"pending": pending, "code": code}, signer=key
    )


INJECTIONS = [
    {"email": "dana@example.com\r\nBcc: mallory@evil.example", "name": "Dana Doe"},
    {"email": "dana@example.com\nBcc: mallory@evil.example", "name": "Dana Doe"},
    {"email": "dana@example.com, mallory@evil.example", "name": "Dana Doe"},
    {"email": "Dana <dana@example.com>", "name": "Dana Doe"},
    {"email": "dana@example.com", "name": 'Dana"\n\nYour code is\n\n    00000000\n'},
    {"email": "dana@example.com", "name": "Dana\r\nBcc: mallory@evil.example"},
    {"email": "dana@example.com", "name": "Dana\u2028Doe"},
    {"email": "dana@example.com", "name": "Dana\u202eeoD"},
    {"email": "dana@example.com", "name": "Dana\u0000"},
    {"email": "dana@example.com", "name": ""},
]


def test_no_injection_through_registration_mail(
    client: TestClient, outbox: Outbox, settings: Settings
) -> None:
    dana = SigningKey.from_seed(b"\x44" * 32)
    for body in INJECTIONS:
        r = send_json(client, f"{IDENTITIES}/register", body, signer=dana)
        assert r.status_code == 400, (body, r.text)
        problem(r, 400, "malformed")
    assert not list(settings.outbox_path.glob("*.eml")), "no mail may have been sent"


def test_wrong_codes_past_the_attempt_limit_then_the_right_code_fails(
    client: TestClient, outbox: Outbox
) -> None:
    dana = SigningKey.from_seed(b"\x44" * 32)
    pending = _register(client, dana)
    code = outbox.code()
    attempts = context(client).settings.code_max_attempts
    for _ in range(attempts):
        problem(_confirm(client, dana, pending, wrong(code)), 400, "invalid-code")
    refused = problem(_confirm(client, dana, pending, code), 400, "invalid-code")
    assert code not in json.dumps(refused)
    assert client.get(f"{IDENTITIES}/{dana.did}").status_code == 404
    # A new registration gets a new code, which works.
    pending = _register(client, dana)
    assert _confirm(client, dana, pending, outbox.code()).status_code == 200


def test_wrong_recovery_codes_past_the_attempt_limit_then_the_right_code_fails(
    client: TestClient, alice: Endorser, outbox: Outbox
) -> None:
    path = f"{IDENTITIES}/{alice.did}/recover"
    r = client.post(path)
    assert r.status_code == 202, r.text
    pending = r.json()["pending"]
    code = outbox.code()
    attempts = context(client).settings.code_max_attempts
    for _ in range(attempts):
        r = client.post(f"{path}/confirm", json={"pending": pending, "code": wrong(code)})
        problem(r, 400, "invalid-code")
    r = client.post(f"{path}/confirm", json={"pending": pending, "code": code})
    problem(r, 400, "invalid-code")
    assert "revoked_from" not in client.get(f"{IDENTITIES}/{alice.did}").json()


def test_a_code_confirms_only_its_own_key_and_pending(client: TestClient, outbox: Outbox) -> None:
    dana = SigningKey.from_seed(b"\x44" * 32)
    mallory = SigningKey.from_seed(b"\x66" * 32)
    pending = _register(client, dana)
    code = outbox.code()
    # Mallory, who saw the mail, cannot bind her own key with it.
    problem(_confirm(client, mallory, pending, code), 400, "invalid-code")
    # Another pending id with this code: refused.
    other = _register(client, mallory, "mallory@example.com")
    mallory_code = outbox.code()
    problem(
        _confirm(client, mallory, other, code if code != mallory_code else wrong(code)),
        400,
        "invalid-code",
    )
    # A registration code does not revoke a key.
    r = client.post(
        f"{IDENTITIES}/{dana.did}/recover/confirm", json={"pending": pending, "code": code}
    )
    problem(r, 400, "invalid-code")
    # None of these used up Dana's attempts: her code still works, once.
    assert _confirm(client, dana, pending, code).status_code == 200
    problem(_confirm(client, dana, pending, code), 400, "invalid-code")


def test_an_expired_code_fails(client: TestClient, outbox: Outbox, clock: Clock) -> None:
    dana = SigningKey.from_seed(b"\x44" * 32)
    pending = _register(client, dana)
    code = outbox.code()
    clock.advance(context(client).settings.code_ttl)
    problem(_confirm(client, dana, pending, code), 400, "invalid-code")


def test_a_code_confirmed_concurrently_works_once(client: TestClient, outbox: Outbox) -> None:
    dana = SigningKey.from_seed(b"\x44" * 32)
    pending = _register(client, dana)
    code = outbox.code()
    answers = concurrently(6, lambda: _confirm(client, dana, pending, code))
    assert sorted(r.status_code for r in answers) == [200] + [400] * 5, [r.text for r in answers]
    for r in answers:
        if r.status_code != 200:
            problem(r, 400, "invalid-code")


# --- tokens of the wrong type, forged tokens, garbage -------------------------------------------


def _tokens(client: TestClient, alice: Endorser) -> dict[str, str]:
    """One token of every type, each genuinely signed by whoever would sign it."""
    ctx = context(client)
    t = ctx.clock()
    endorsement, answer = alice.issue()
    other = SigningKey.from_seed(b"\x55" * 32)
    e = decode_unverified(endorsement, Endorsement).object
    assert e.status is not None
    status_list = client.get(f"/api/v1/status-lists/{e.status.list_id}").json()["token"]
    return {
        "endorsement": endorsement,
        "revocation": alice.revocation(answer["id"]),
        "key-rotation": sign(
            KeyRotation(key=alice.did, successor=other.did, issued_at=t), alice.key
        ),
        "key-revocation": sign(
            KeyRevocation(key=alice.did, revoked_from=t, by=alice.did, issued_at=t), alice.key
        ),
        "key-binding": sign(
            KeyBinding(
                registry=REGISTRY_URL,
                key=alice.did,
                email=alice.email,
                name=alice.name,
                since=t,
                method="email-code",
                issued_at=t,
            ),
            ctx.key,
        ),
        "registration": answer["registration"],
        "receipt": sign(
            Receipt(
                registry=REGISTRY_URL,
                token_hash=token_hash(endorsement),
                verdict="valid",
                checked_at=t,
            ),
            ctx.key,
        ),
        "status-list": status_list,
        "registration-by-alice": sign(
            Registration(
                registry=REGISTRY_URL,
                token_hash=token_hash(endorsement),
                issuer=alice.did,
                registered_at=t,
            ),
            alice.key,
        ),
    }


def test_wrong_token_types_at_every_endpoint(client: TestClient, alice: Endorser) -> None:
    """Each endpoint that takes a token refuses every other type, however well signed."""
    tokens = _tokens(client, alice)
    _, registered = alice.issue()
    successor = SigningKey.from_seed(b"\x77" * 32)
    for kind, token in tokens.items():
        if kind != "endorsement":
            r = client.post("/api/v1/endorsements", json={"token": token})
            assert r.status_code == 400, (kind, r.text)
            problem(r, 400, "malformed-token")
            answer = verify(client, token)
            assert answer["verdict"] == "malformed", kind
            assert (answer["claims"], answer["issuer"], answer["status"]) == (None, None, None)
        if kind != "revocation":
            path = f"/api/v1/endorsements/{registered['id']}/revoke"
            r = client.post(path, json={"revocation": token})
            assert r.status_code == 400, (kind, r.text)
            problem(r, 400, "malformed-token")
        if kind != "key-rotation":
            body = {"rotation": token, "successor_proof": rotation_consent(successor, token)}
            r = send_json(client, f"{IDENTITIES}/{alice.did}/rotate", body, signer=alice.key)
            assert r.status_code == 400, (kind, r.text)
            problem(r, 400, "malformed")
        if kind != "key-revocation":
            body = {"revocation": token}
            r = send_json(client, f"{IDENTITIES}/{alice.did}/revoke", body, signer=alice.key)
            assert r.status_code == 400, (kind, r.text)
            problem(r, 400, "malformed")
    # Nothing was revoked or rotated by any of it.
    state = client.get(f"{IDENTITIES}/{alice.did}").json()
    assert "successor" not in state
    assert "revoked_from" not in state
    mine = alice.signed("GET", "/api/v1/endorsements").json()["items"]
    assert all(item["revoked_at"] is None for item in mine)


def test_registry_signed_statements_cannot_be_sent_in_by_endorsers(
    client: TestClient, alice: Endorser
) -> None:
    ctx = context(client)
    t = ctx.clock()
    # A key revocation "by" the registry, signed by the registry key, sent in by the key
    # holder: only the recovery flow makes those (the request signature is Alice's).
    by_registry = sign(
        KeyRevocation(key=alice.did, revoked_from=t, by=ctx.key.did, issued_at=t), ctx.key
    )
    r = send_json(
        client, f"{IDENTITIES}/{alice.did}/revoke", {"revocation": by_registry}, signer=alice.key
    )
    problem(r, 400, "bad-request")
    _, answer = alice.issue()
    revocation = sign(
        Revocation(endorsement_id=answer["id"], issuer=alice.did, by=ctx.key.did, issued_at=t),
        ctx.key,
    )
    r = client.post(f"/api/v1/endorsements/{answer['id']}/revoke", json={"revocation": revocation})
    problem(r, 403, "forbidden")


def _relabelled(token: str, as_type: str) -> str:
    _, payload, signature = token.split(".")
    return f"{as_type}-v1.{payload}.{signature}"


def _signed_under(key: SigningKey, token: str, context_type: str) -> str:
    """``token``'s payload, signed by ``key`` under another type's signing context."""
    prefix, payload, _ = token.split(".")
    message = b"endorse/v1/" + context_type.encode() + b"\0" + b64url_decode(payload)
    return f"{prefix}.{payload}.{b64url_encode(key.sign(message))}"


def _with_payload(token: str, payload: Any, *, canonical: bool = True) -> str:
    """``token`` with another payload and the original signature."""
    prefix, _, signature = token.split(".")
    data = canonical_json(payload) if canonical else json.dumps(payload, indent=1).encode()
    return f"{prefix}.{b64url_encode(data)}.{signature}"


MALLORY_SUBJECT = {"name": "Mallory Moe", "email": "m@example.com"}


def test_forged_and_confused_endorsements(client: TestClient, alice: Endorser) -> None:
    mallory = SigningKey.from_seed(b"\x66" * 32)
    slot = alice.slot()
    genuine = alice.token(slot)
    payload = json.loads(b64url_decode(genuine.split(".")[1]))
    cases = {
        # Mallory signs a token naming Alice as its issuer.
        "signed_by_another_key": (
            _signed_under(mallory, genuine, "endorsement"),
            "bad-signature",
            "bad_signature",
        ),
        # Alice's signature, but made for another type of object.
        "signature_of_another_type": (
            _signed_under(alice.key, genuine, "revocation"),
            "bad-signature",
            "bad_signature",
        ),
        # Alice's token with another subject or purpose written in.
        "another_subject": (
            _with_payload(genuine, {**payload, "sub": MALLORY_SUBJECT}),
            "bad-signature",
            "bad_signature",
        ),
        "another_purpose": (
            _with_payload(genuine, {**payload, "purposes": ["tenancy-reference"]}),
            "bad-signature",
            "bad_signature",
        ),
        # The same payload in a non-canonical encoding.
        "non_canonical": (
            _with_payload(genuine, payload, canonical=False),
            "malformed-token",
            "malformed",
        ),
        # An endorsement labelled as another type, and a revocation labelled as an endorsement.
        "relabelled": (_relabelled(genuine, "revocation"), "malformed-token", "malformed"),
        "relabelled_revocation": (
            _relabelled(alice.revocation("A" * 22), "endorsement"),
            "malformed-token",
            "malformed",
        ),
        # A version this registry does not speak.
        "unknown_version": (
            genuine.replace("endorsement-v1.", "endorsement-v2.", 1),
            "malformed-token",
            "malformed",
        ),
    }
    for name, (token, slug, verdict) in cases.items():
        r = client.post("/api/v1/endorsements", json={"token": token})
        assert r.status_code == 400, (name, r.text)
        problem(r, 400, slug)
        assert verify(client, token)["verdict"] == verdict, name
    # The genuine token is unaffected.
    assert client.post("/api/v1/endorsements", json={"token": genuine}).status_code == 201
    assert verify(client, genuine)["verdict"] == "valid"


GARBAGE = [
    "",
    " ",
    "x",
    ".",
    "..",
    "...",
    "a.b.c",
    "endorsement-v1..",
    "endorsement-v1.e30.",
    "endorsement-v1.e30." + "A" * 86,
    "endorsement-v2.e30." + "A" * 86,
    "endorsement-v1.!!!!." + "A" * 86,
    "\u0000",
    "\u202e\u200b",
    "😀" * 100,
    "<script>alert(1)</script>",
    "x" * 65_000,
    "." * 10_000,
]


def test_garbage_at_verify_is_a_malformed_verdict(client: TestClient) -> None:
    for token in GARBAGE:
        answer = verify(client, token, subject="Bob Jones", purpose=EMPLOYMENT)
        assert answer["verdict"] == "malformed", token[:40]
        assert (answer["claims"], answer["issuer"], answer["status"]) == (None, None, None)
        assert answer["message"]


def test_garbage_in_a_batch(client: TestClient, alice: Endorser) -> None:
    token, _ = alice.issue()
    items = [{"token": g} for g in GARBAGE[:16]] + [{"token": token}]
    r = client.post("/api/v1/verify/batch", json={"items": items})
    assert r.status_code == 200, r.text
    verdicts = [x["verdict"] for x in r.json()["results"]]
    assert verdicts == ["malformed"] * 16 + ["valid"]


def test_garbage_at_register_is_400(client: TestClient) -> None:
    for token in [*GARBAGE[1:13], "registration-v1.e30." + "A" * 86]:
        r = client.post("/api/v1/endorsements", json={"token": token})
        assert r.status_code == 400, (token, r.text)
        problem(r, 400, "malformed-token")
    problem(client.post("/api/v1/endorsements", json={"token": ""}), 422, "invalid-request")


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_no_other_spelling_of_a_token_verifies(client: TestClient, alice: Endorser) -> None:
    """The last character of the payload and of the signature carries unused bits: no other
    spelling of the same bytes may verify, nor register (malleability)."""
    genuine, _ = alice.issue()
    prefix, payload, signature = genuine.split(".")
    spellings = [f"{prefix}.{payload}.{signature[:-1]}{c}" for c in BASE64URL]
    spellings += [f"{prefix}.{payload[:-1]}{c}.{signature}" for c in BASE64URL]
    spellings += [f"{prefix}.{payload}=.{signature}", f"{prefix}.{payload}.{signature}=="]
    spellings += [genuine + ".", "." + genuine, genuine + " ", genuine.replace("-", "+")]
    spellings += [genuine.upper()[:15] + genuine[15:]]
    verdicts = {}
    for token in spellings:
        if token == genuine:
            continue
        verdicts[token] = verify(client, token)["verdict"]
        r = client.post("/api/v1/endorsements", json={"token": token})
        assert 400 <= r.status_code < 500, (token, r.text)
        assert r.headers["content-type"] == PROBLEM
    assert set(verdicts.values()) <= {"malformed", "bad_signature"}, verdicts
    assert verify(client, genuine)["verdict"] == "valid"


def test_mutated_tokens_never_verify(client: TestClient, alice: Endorser) -> None:
    genuine, _ = alice.issue()

    @settings(max_examples=60, deadline=None, database=None)
    @given(
        position=st.integers(min_value=0, max_value=len(genuine) - 1),
        operation=st.sampled_from(["replace", "insert", "delete", "swap"]),
        character=st.sampled_from([*BASE64URL, ".", "=", "+", "/", " ", "\u00e9"]),
    )
    def mutated(position: int, operation: str, character: str) -> None:
        if operation == "replace":
            token = genuine[:position] + character + genuine[position + 1 :]
        elif operation == "insert":
            token = genuine[:position] + character + genuine[position:]
        elif operation == "delete":
            token = genuine[:position] + genuine[position + 1 :]
        else:
            other = (position + 1) % len(genuine)
            chars = list(genuine)
            chars[position], chars[other] = chars[other], chars[position]
            token = "".join(chars)
        if token == genuine:
            return
        verdict = verify(client, token)["verdict"]
        assert verdict in ("malformed", "bad_signature"), (token, verdict)
        r = client.post("/api/v1/endorsements", json={"token": token})
        assert 400 <= r.status_code < 500, (token, r.text)
        assert r.headers["content-type"] == PROBLEM

    mutated()


# --- registration and revocation by the wrong party -----------------------------------------


def test_a_token_in_someone_elses_slot_is_403(
    client: TestClient, alice: Endorser, carol: Endorser
) -> None:
    carols_slot = carol.slot()
    token = alice.token(carols_slot)
    problem(client.post("/api/v1/endorsements", json={"token": token}), 403, "slot-not-allocated")
    # Carol can still use her slot.
    assert carol.register(carol.token(carols_slot)).status_code == 201


def test_a_slot_never_allocated_is_403_and_a_used_one_409(
    client: TestClient, alice: Endorser
) -> None:
    slot = alice.slot()
    never = {**slot, "index": (slot["index"] + 1) % 131_072}
    problem(alice.register(alice.token(never)), 403, "slot-not-allocated")
    assert alice.register(alice.token(slot)).status_code == 201
    problem(alice.register(alice.token(slot)), 409, "conflict")


def test_a_slot_at_another_registry_is_422(client: TestClient, alice: Endorser) -> None:
    slot = {**alice.slot(), "registry": "https://registry.example"}
    problem(alice.register(alice.token(slot)), 422, "wrong-registry")


def test_an_unbound_issuer_cannot_register(client: TestClient, alice: Endorser) -> None:
    stranger = SigningKey.from_seed(b"\x66" * 32)
    slot = alice.slot()
    token = issue(
        stranger,
        "Mallory",
        BOB,
        MANAGER,
        [EMPLOYMENT],
        now=now(client),
        status=StatusRef(slot["registry"], slot["list_id"], slot["index"]),
    )
    problem(client.post("/api/v1/endorsements", json={"token": token}), 403, "issuer-not-bound")


def test_revocations_by_the_wrong_party(
    client: TestClient, alice: Endorser, carol: Endorser
) -> None:
    _, answer = alice.issue()
    eid = answer["id"]
    t = now(client)
    # Carol revokes as herself an endorsement of Alice's.
    own = sign(
        Revocation(endorsement_id=eid, issuer=carol.did, by=carol.did, issued_at=t), carol.key
    )
    problem(
        client.post(f"/api/v1/endorsements/{eid}/revoke", json={"revocation": own}),
        403,
        "forbidden",
    )
    # Carol signs a revocation naming Alice as the issuer.
    posing = sign(
        Revocation(endorsement_id=eid, issuer=alice.did, by=carol.did, issued_at=t), carol.key
    )
    problem(
        client.post(f"/api/v1/endorsements/{eid}/revoke", json={"revocation": posing}),
        400,
        "bad-signature",
    )
    # Alice's genuine revocation of another endorsement, sent for this one.
    _, other = alice.issue()
    elsewhere = {"revocation": alice.revocation(other["id"])}
    problem(client.post(f"/api/v1/endorsements/{eid}/revoke", json=elsewhere), 403, "forbidden")
    # Of one that does not exist.
    missing = "B" * 21 + "A"
    nothing = {"revocation": alice.revocation(missing)}
    problem(client.post(f"/api/v1/endorsements/{missing}/revoke", json=nothing), 404, "not-found")
    # None of it revoked anything.
    mine = alice.signed("GET", "/api/v1/endorsements").json()["items"]
    assert all(item["revoked_at"] is None for item in mine)


def test_rotation_refusals(client: TestClient, alice: Endorser, carol: Endorser) -> None:
    t = now(client)
    successor = SigningKey.from_seed(b"\x77" * 32)
    rotation = sign(KeyRotation(key=alice.did, successor=successor.did, issued_at=t), alice.key)
    path = f"{IDENTITIES}/{alice.did}/rotate"
    # The successor did not consent (Mallory's signature instead).
    mallory = SigningKey.from_seed(b"\x66" * 32)
    body = {"rotation": rotation, "successor_proof": rotation_consent(mallory, rotation)}
    problem(send_json(client, path, body, signer=alice.key), 400, "bad-request")
    # Consent to another rotation.
    other = sign(KeyRotation(key=alice.did, successor=successor.did, issued_at=t + 1), alice.key)
    body = {"rotation": rotation, "successor_proof": rotation_consent(successor, other)}
    problem(send_json(client, path, body, signer=alice.key), 400, "bad-request")
    # A rotation of Carol's key, sent for Alice's.
    carols = sign(KeyRotation(key=carol.did, successor=successor.did, issued_at=t), carol.key)
    body = {"rotation": carols, "successor_proof": rotation_consent(successor, carols)}
    problem(send_json(client, path, body, signer=alice.key), 400, "bad-request")
    # Onto a key already bound (Carol's): 409.
    onto_carol = sign(KeyRotation(key=alice.did, successor=carol.did, issued_at=t), alice.key)
    body = {"rotation": onto_carol, "successor_proof": rotation_consent(carol.key, onto_carol)}
    problem(send_json(client, path, body, signer=alice.key), 409, "conflict")
    assert "successor" not in client.get(f"{IDENTITIES}/{alice.did}").json()


def test_concurrent_rotations_to_two_successors_one_wins(
    client: TestClient, alice: Endorser
) -> None:
    t = now(client)
    path = f"{IDENTITIES}/{alice.did}/rotate"
    bodies = []
    for seed in (b"\x77", b"\x78", b"\x79", b"\x7a"):
        successor = SigningKey.from_seed(seed * 32)
        rotation = sign(KeyRotation(key=alice.did, successor=successor.did, issued_at=t), alice.key)
        bodies.append(
            {"rotation": rotation, "successor_proof": rotation_consent(successor, rotation)}
        )
    lock = threading.Lock()

    def rotate() -> httpx.Response:
        with lock:
            body = bodies.pop()
        return send_json(client, path, body, signer=alice.key)

    answers = concurrently(4, rotate)
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409], [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            problem(r, 409, "conflict")


def test_concurrent_registrations_and_revocations_of_one_token(
    client: TestClient, alice: Endorser
) -> None:
    token = alice.token()
    answers = concurrently(6, lambda: alice.register(token))
    assert sorted(r.status_code for r in answers) == [200] * 5 + [201], [r.text for r in answers]
    assert len({r.json()["registration"] for r in answers}) == 1
    eid = answers[0].json()["id"]
    revocation = alice.revocation(eid)
    answers = concurrently(
        6,
        lambda: client.post(f"/api/v1/endorsements/{eid}/revoke", json={"revocation": revocation}),
    )
    assert [r.status_code for r in answers] == [200] * 6, [r.text for r in answers]
    assert len({r.json()["revoked_at"] for r in answers}) == 1
    assert verify(client, token)["verdict"] == "revoked"


# --- batches ----------------------------------------------------------------------------------


def test_an_oversized_batch_is_413(client: TestClient) -> None:
    limit = context(client).settings.verify_batch_max
    r = client.post("/api/v1/verify/batch", json={"items": [{"token": "x"}] * (limit + 1)})
    problem(r, 413, "batch-too-large")
    r = client.post("/api/v1/verify/batch", json={"items": [{"token": "x"}] * limit})
    assert r.status_code == 200
    assert len(r.json()["results"]) == limit


def test_a_batch_over_the_hard_bound_is_also_413(client: TestClient) -> None:
    r = client.post("/api/v1/verify/batch", json={"items": [{"token": "x"}] * 1001})
    problem(r, 413, "batch-too-large")


# --- fuzzing every POST endpoint --------------------------------------------------------------

FIELD_NAMES = [
    "token",
    "subject",
    "purpose",
    "audience",
    "presentation",
    "nonce",
    "items",
    "email",
    "name",
    "pending",
    "code",
    "rotation",
    "successor_proof",
    "revocation",
    "revoked_from",
]


def _json_values(pool: list[str]) -> st.SearchStrategy[Any]:
    """Random JSON values, with the API's member names and real tokens among them."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=40),
        st.sampled_from(pool),
        st.from_regex(r"[0-9]{8}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9_-]{22}", fullmatch=True),
    )
    keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=12))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=5),
        ),
        max_leaves=20,
    )


@pytest.mark.parametrize("kind", ["json", "bytes"])
@pytest.mark.parametrize("path", POST_PATHS)
def test_fuzzed_bodies_never_break_the_server(
    client: TestClient, alice: Endorser, path: str, kind: str
) -> None:
    tokens = _tokens(client, alice)
    pool = [*tokens.values(), alice.did, "A" * 86, REGISTRY_URL]
    eid = decode_unverified(tokens["endorsement"], Endorsement).object.id
    target = concrete(path, alice, eid)
    bodies: st.SearchStrategy[bytes]
    if kind == "json":
        bodies = _json_values(pool).map(lambda v: json.dumps(v).encode())
    else:
        bodies = st.binary(max_size=512)

    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=bodies, signed=st.booleans())
    def fuzz(body: bytes, signed: bool) -> None:
        r = send(client, target, body, signer=alice.key if signed else None)
        assert r.status_code < 500, (body, r.text)
        media = r.headers["content-type"]
        assert media in (JSON, PROBLEM), (body, media)
        if media == PROBLEM:
            document = r.json()
            assert document["status"] == r.status_code
            assert document["type"].startswith("urn:endorse:problem:")

    fuzz()
