"""Hostile and slow clients against a real ``endorse serve`` process on loopback: oversized and
too many headers (431), headers sent too slowly or never (408), a body that stops coming
(dropped), too many connections at once (503); and forwarded headers honoured only from
ENDORSE_TRUSTED_PROXIES. The timeouts are the server's own, set short; the tests never sleep."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live import LiveServer

BOUND = {
    "ENDORSE_HEADER_TIMEOUT": "0.5",
    "ENDORSE_BODY_TIMEOUT": "0.5",
    "ENDORSE_MAX_HEADER_BYTES": "8192",
    "ENDORSE_MAX_HEADER_COUNT": "50",
    "ENDORSE_LIMIT_VERIFY_PER_CLIENT": "2",
}


def _server(tmp: Path, name: str, **env: str) -> LiveServer:
    return LiveServer(f"sqlite:///{tmp / name / 'db.sqlite3'}", tmp / name, env=env)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with _server(tmp_path_factory.mktemp("hostile"), "guarded", **BOUND) as server:
        yield server


def _connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port or 0), timeout=30)
    sock.settimeout(30)  # a bound for a broken server; the server's own timeouts are 0.5 s
    return sock


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset ends it too)."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def _send_all(sock: socket.socket, data: bytes) -> None:
    """Send ``data``, stopping quietly when the server has closed the connection."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def _healthy(server: LiveServer) -> None:
    assert httpx.get(server.url + "/healthz", timeout=30).status_code == 200


def test_too_many_headers_is_431_and_closed(guarded: LiveServer) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-H%d: v\r\n" % i for i in range(5000)
    )
    with _connect(guarded) as sock:
        _send_all(sock, head + b"\r\n")
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"connection: close" in answer
    _healthy(guarded)


def test_a_one_megabyte_header_is_refused_without_being_read(guarded: LiveServer) -> None:
    with _connect(guarded) as sock:
        _send_all(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        _send_all(sock, b"a" * 1_000_000 + b"\r\n\r\n")
        answer = _answer(sock)
    # The server answers 431 and closes as soon as the head passes its bound; the bytes still
    # in flight then make the kernel reset the connection, which may discard the answer.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    _healthy(guarded)


def test_a_long_url_is_431(guarded: LiveServer) -> None:
    with _connect(guarded) as sock:
        _send_all(sock, b"GET /v/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _answer(sock)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_headers_sent_too_slowly_are_408_and_dropped(guarded: LiveServer) -> None:
    with _connect(guarded) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_a_connection_that_sends_nothing_is_dropped(guarded: LiveServer) -> None:
    with _connect(guarded) as sock:
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_a_body_that_stops_coming_is_dropped_unanswered(guarded: LiveServer) -> None:
    with _connect(guarded) as sock:
        sock.sendall(
            b"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"token": "'
        )
        answer = _answer(sock)
    assert answer == b""
    _healthy(guarded)


def test_keep_alive_requests_within_the_bounds_are_served(guarded: LiveServer) -> None:
    with httpx.Client(base_url=guarded.url, timeout=30) as client:
        for _ in range(3):
            r = client.get("/healthz", headers={f"x-h{i}": "v" * 50 for i in range(40)})
            assert r.status_code == 200


def _verify_statuses(server: LiveServer, forwarded: list[str]) -> list[int]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return [
            client.post(
                "/api/v1/verify", json={"token": "x"}, headers={"x-forwarded-for": address}
            ).status_code
            for address in forwarded
        ]


def test_forwarded_for_from_loopback_is_not_trusted_by_default(guarded: LiveServer) -> None:
    """A local process cannot escape its rate limit by naming other clients."""
    statuses = _verify_statuses(guarded, ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
    assert statuses == [200, 200, 429]


def test_forwarded_for_from_a_trusted_proxy_is_the_client(tmp_path: Path) -> None:
    env = {"ENDORSE_TRUSTED_PROXIES": "127.0.0.1", "ENDORSE_LIMIT_VERIFY_PER_CLIENT": "2"}
    with _server(tmp_path, "proxied", **env) as server:
        assert "trusted-proxies 127.0.0.1/32" in server.log_text()
        separate = _verify_statuses(server, ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
        same = _verify_statuses(server, ["198.51.100.7"] * 3)
    assert separate == [200, 200, 200]
    assert same == [200, 200, 429]


def test_connections_past_the_bound_are_answered_503(tmp_path: Path) -> None:
    with _server(tmp_path, "bounded", ENDORSE_MAX_CONNECTIONS="3") as server:
        idle = [_connect(server) for _ in range(3)]
        try:
            with _connect(server) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
        finally:
            for sock in idle:
                sock.close()
        # Once they are gone the server answers again (as soon as it has seen them close).
        with httpx.Client(base_url=server.url, timeout=30) as client:
            statuses = [client.get("/healthz").status_code for _ in range(50)]
        assert statuses[-1] == 200
        assert set(statuses) <= {200, 503}
