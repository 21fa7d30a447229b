"""schemathesis over every operation of the published OpenAPI description, against a real
registry process: every answer's status, media type, headers and body must be described, and
no input may make the registry fail (5xx). Signed operations are called as an endorser whose
key is bound at the registry, each request signed as spec §10 says (:class:`SignedRequests`).

The operations are read from the app itself, so a route added later is fuzzed too. The run is
bounded by examples per operation (``MAX_EXAMPLES``), deterministic (``derandomize``), and
takes a few minutes on an idle machine.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from live import LiveServer
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from endorse.client import Client
from endorse.protocol import SigningKey
from endorse.protocol.requests import sign_request
from endorse.server.app import create_app
from endorse.server.settings import Settings

MAX_EXAMPLES = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
GENEROUS = {  # limits high enough that the fuzzing is not all 429s
    "ENDORSE_LIMIT_VERIFY_PER_CLIENT": "1000000",
    "ENDORSE_LIMIT_QR_PER_CLIENT": "1000000",
    "ENDORSE_LIMIT_LINKS_PER_CLIENT": "1000000",
    "ENDORSE_LIMIT_REGISTER_PER_CLIENT": "1000000",
    "ENDORSE_LIMIT_REGISTER_PER_EMAIL": "1000000",
    "ENDORSE_LIMIT_CONFIRM_PER_CLIENT": "1000000",
}


def _cases() -> list[tuple[str, str, schemathesis.GenerationMode]]:
    """Every operation with valid inputs; those that take a body with invalid ones too (only
    a body's schema leaves schemathesis something to break: the query and path parameters
    here are free text or have no way to be of the wrong type on the wire)."""
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    cases = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            cases.append((method.upper(), path, schemathesis.GenerationMode.POSITIVE))
            if "requestBody" in operation:
                cases.append((method.upper(), path, schemathesis.GenerationMode.NEGATIVE))
    return sorted(cases)


class SignedRequests(requests.auth.AuthBase):
    """Signs every request as ``key`` for ``registry`` (spec §10): method, path with query,
    the exact body bytes sent, now."""

    def __init__(self, key: SigningKey, registry: str) -> None:
        self.key = key
        self.registry = registry

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        assert request.method is not None
        request.headers.update(
            sign_request(
                self.key,
                self.registry,
                request.method,
                request.path_url,
                body,
                now=int(time.time()),
            )
        )
        return request


def _code(outbox: Path, email: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for path in outbox.glob("*.eml") if outbox.is_dir() else ():
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            if message["To"] == email:
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                match = re.search(r"^\s+([0-9]{8})$", body.get_content(), re.MULTILINE)
                assert match is not None
                return match.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no code mailed to {email}")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("schemathesis")
    with LiveServer(f"sqlite:///{directory / 'r.sqlite3'}", directory, env=GENEROUS) as server:
        yield server


@pytest.fixture(scope="module")
def session(
    registry: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[requests.Session]:
    key = SigningKey.generate()
    email = "fuzzing-endorser@example.com"
    pins = tmp_path_factory.mktemp("pins") / "pins.json"
    with Client(registry.url, pin_store=pins) as client:
        pending = client.register(key, email, "Fuzzing Endorser")
        client.confirm(key, pending, _code(registry.data_dir / "outbox", email))
    with requests.Session() as s:
        s.auth = SignedRequests(key, registry.url)
        yield s


@pytest.fixture(scope="module")
def schema(registry: LiveServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(registry.url + "/openapi.json")


@pytest.mark.parametrize(("method", "path", "mode"), _cases())
def test_operation_answers_as_described(
    schema: schemathesis.BaseSchema,
    session: requests.Session,
    registry: LiveServer,
    method: str,
    path: str,
    mode: schemathesis.GenerationMode,
) -> None:
    """Valid inputs (positive) and inputs that break the schema (negative) alike."""
    operation = schema[path][method]

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=registry.url, session=session, timeout=30)
        case.validate_response(response, checks=CHECKS)

    check()
