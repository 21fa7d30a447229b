"""The subject's side: verification URLs, QR codes, presentations; and the module examples."""

from __future__ import annotations

import doctest
import importlib
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest

from endorse.client import present, qr_png, qr_svg, qr_text, token_from_url, verification_url
from endorse.protocol import (
    BadSignature,
    InvalidArgument,
    InvalidKey,
    MalformedToken,
    Presentation,
    Relationship,
    SigningKey,
    Subject,
    issue,
    token_hash,
    verify_token,
)

REGISTRY = "https://registry.example"
ALICE = SigningKey.from_seed(b"\x31" * 32)
BOB_KEY = SigningKey.from_seed(b"\x32" * 32)
BOB = Subject("Bob Jones", email="bob@example.com", key=BOB_KEY.did)
NOW = 1_767_225_600
TOKEN = issue(
    ALICE, "Alice Smith", BOB, Relationship("work", "manager"), ["employment-reference"], now=NOW
)
NONCE = "recruiter-nonce-0001"


def test_verification_url_keeps_the_token_in_the_fragment() -> None:
    url = verification_url(REGISTRY, TOKEN)
    assert url == f"{REGISTRY}/v#{TOKEN}"
    assert "?" not in url
    assert token_from_url(url) == TOKEN
    assert token_from_url(f"  {TOKEN}\n") == TOKEN
    assert verification_url("http://127.0.0.1:8080", TOKEN).startswith("http://127.0.0.1:8080/v#")
    with pytest.raises(MalformedToken):
        verification_url(REGISTRY, "not-a-token")
    with pytest.raises(InvalidArgument):
        verification_url("http://registry.example", TOKEN)  # http only on loopback


def _png_chunks(data: bytes) -> dict[bytes, bytes]:
    chunks, offset = {}, 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc
        chunks[kind] = body
        offset += 12 + length
    return chunks


def test_qr_outputs_parse() -> None:
    url = verification_url(REGISTRY, TOKEN)
    png = qr_png(url)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks = _png_chunks(png)
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert width == height > 100 and b"IEND" in chunks

    svg = qr_svg(url)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert int(root.attrib["width"]) == int(root.attrib["height"]) > 100

    text = qr_text(url)
    lines = text.splitlines()
    assert len(lines) > 20 and len({len(line) for line in lines}) == 1
    assert "\x1b" not in text and set(text) <= set("█▀▄ \n")
    with pytest.raises(InvalidArgument):
        qr_png("")


def test_present_signs_over_the_nonce_with_the_subject_key() -> None:
    proof = present(BOB_KEY, TOKEN, NONCE, audience="acme-hr", now=NOW + 10)
    p = verify_token(proof, Presentation).object
    assert (p.key, p.token_hash, p.nonce, p.audience, p.issued_at) == (
        BOB_KEY.did,
        token_hash(TOKEN),
        NONCE,
        "acme-hr",
        NOW + 10,
    )


def test_present_refuses_what_it_cannot_honestly_sign() -> None:
    with pytest.raises(InvalidKey, match="another subject key"):
        present(SigningKey.from_seed(b"\x33" * 32), TOKEN, NONCE)
    keyless = issue(
        ALICE,
        "Alice Smith",
        Subject("Bob Jones", email="bob@example.com"),
        Relationship("work", "manager"),
        ["employment-reference"],
        now=NOW,
    )
    with pytest.raises(InvalidKey, match="names no subject key"):
        present(BOB_KEY, keyless, NONCE)
    tampered = TOKEN[:-2] + ("AA" if not TOKEN.endswith("AA") else "BA")
    with pytest.raises(BadSignature):
        present(BOB_KEY, tampered, NONCE)
    with pytest.raises(MalformedToken):
        present(BOB_KEY, TOKEN, "short")
    with pytest.raises(InvalidArgument):
        present(BOB_KEY, TOKEN, NONCE, now="soon")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "module", ["endorse.client.share", "endorse.client.cache", "endorse.client.pins"]
)
def test_module_examples_run(module: str) -> None:
    failures, tried = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
