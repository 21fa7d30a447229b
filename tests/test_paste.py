"""Reading a token out of a paste (spec §11.5): the vectors, and properties of the rule."""

from __future__ import annotations

import base64
import json
import pathlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from endorse.protocol import MalformedToken
from endorse.protocol.paste import (
    MAX_PASTE_CHARS,
    Paste,
    ShortLinkPaste,
    UnreadablePaste,
    read_paste,
)

VECTORS = json.loads(
    (pathlib.Path(__file__).resolve().parents[1] / "spec" / "vectors" / "paste.json").read_text(
        encoding="utf-8"
    )
)["cases"]


@pytest.mark.parametrize("case", VECTORS, ids=lambda c: c["name"])
def test_paste_vector(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(UnreadablePaste):
            read_paste(case["input"])
        return
    read = read_paste(case["input"])
    if case["link"] is not None:
        assert read == ShortLinkPaste(case["link"], case["registry"])
        assert case["token"] is None
    else:
        assert read == Paste(case["token"], case["registry"])


def _token(text: str) -> str:
    """The token read from ``text`` (UnreadablePaste, or a short link's AssertionError)."""
    read = read_paste(text)
    assert isinstance(read, Paste)
    return read.token


def test_vectors_cover_both_outcomes_with_unique_names() -> None:
    names = [c["name"] for c in VECTORS]
    assert len(names) == len(set(names)) >= 30
    assert sum("error" in c for c in VECTORS) >= 10
    assert sum(c.get("link") is not None for c in VECTORS) >= 5


def test_an_unreadable_paste_is_a_malformed_token_and_not_text_is_refused() -> None:
    assert issubclass(UnreadablePaste, MalformedToken)
    with pytest.raises(UnreadablePaste, match="is text"):
        read_paste(b"endorsement-v1.e30.c2ln")
    with pytest.raises(UnreadablePaste, match="too long"):
        read_paste("a" * (MAX_PASTE_CHARS + 1))


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
tokens = st.builds(
    lambda kind, payload, sig: f"{kind}.{payload}.{sig}",
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20).filter(
        lambda k: k[0].isalnum()
    ),
    st.text(_B64, max_size=200),
    st.text(_B64, min_size=1, max_size=100),
)
carriers = st.sampled_from(
    [
        ("{}", None),
        ("https://registry.example/v#{}", "https://registry.example"),
        ("https://registry.example/v/{}", "https://registry.example"),
        ("http://localhost:8000/v#{}", "http://localhost:8000"),
    ]
)
wrappers = st.sampled_from(["{}", "<{}>", '"{}"', "'{}'.", "({}),", "\u201c{}\u201d!", " \n{}\n"])
breaks = st.sampled_from(["\n", "\r\n", "\r", "=\r\n", "=\n", "\n   ", " \r\n\t", "\n\n"])


@given(tokens, carriers, wrappers, st.lists(st.tuples(st.integers(0, 10_000), breaks)))
def test_what_a_carrier_adds_is_taken_off_and_the_token_comes_back_exactly(
    token: str, carrier: tuple[str, str | None], wrapper: str, cuts: list[tuple[int, str]]
) -> None:
    form, registry = carrier
    text = wrapper.format(form.format(token))
    # A mail client wraps anywhere in the text, the link's own characters included (cut
    # from the end, so every break goes between two characters of the original).
    places = sorted(((at % (len(text) + 1), brk) for at, brk in cuts), reverse=True)
    for at, brk in places:
        text = text[:at] + brk + text[at:]
    read = read_paste(text)
    assert read == Paste(token, registry)


short_ids = st.binary(min_size=16, max_size=16).map(
    lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
)
short_carriers = st.sampled_from(
    [
        ("https://registry.example/s#{}", "https://registry.example"),
        ("HTTPS://Registry.Example/s#{}", "https://registry.example"),
        ("https://example.org/endorse/s#{}", "https://example.org/endorse"),
        ("http://localhost:8000/s#{}", "http://localhost:8000"),
    ]
)


@given(short_ids, short_carriers, wrappers, st.lists(st.tuples(st.integers(0, 10_000), breaks)))
def test_a_short_link_is_read_through_any_carrier_with_its_id_exactly(
    link_id: str, carrier: tuple[str, str], wrapper: str, cuts: list[tuple[int, str]]
) -> None:
    form, registry = carrier
    text = wrapper.format(form.format(link_id))
    places = sorted(((at % (len(text) + 1), brk) for at, brk in cuts), reverse=True)
    for at, brk in places:
        text = text[:at] + brk + text[at:]
    assert read_paste(text) == ShortLinkPaste(link_id, registry)


@given(short_ids, st.integers(min_value=0), st.sampled_from("!$%&*+/:;<=>?@[]^`{|}~é\u00a0 =#"))
def test_a_changed_character_in_a_short_link_is_never_read_as_its_id(
    link_id: str, at: int, bad: str
) -> None:
    at %= len(link_id)
    damaged = link_id[:at] + bad + link_id[at + 1 :]
    try:
        read = read_paste(f"https://registry.example/s#{damaged}")
    except UnreadablePaste:
        return
    assert read != ShortLinkPaste(link_id, "https://registry.example")


@given(st.text(max_size=300))
def test_nothing_inside_a_token_is_repaired(text: str) -> None:
    """Whatever is read is the paste with only carrier characters taken away: the token is
    a run of the paste in which only line breaks, the spaces and tabs around them and
    soft-break "=" were skipped."""
    try:
        read = read_paste(text)
    except UnreadablePaste:
        return
    token = read.token if isinstance(read, Paste) else read.id
    start = text.find(token[0])
    assert start >= 0
    i = start
    for ch in token:
        while text[i] != ch:
            assert text[i] in " \t\r\n="
            i += 1
        i += 1


@given(tokens, st.integers(min_value=0), st.sampled_from("!$%&*+/:;<=>?@[]^`{|}~é\u00a0 "))
def test_a_changed_character_is_never_read_as_the_token(token: str, at: int, bad: str) -> None:
    at %= len(token)
    damaged = token[:at] + bad + token[at + 1 :]
    try:
        read = read_paste(f"https://registry.example/v#{damaged}")
    except UnreadablePaste:
        return
    assert read != Paste(token, "https://registry.example")


@given(st.text(max_size=200))
def test_reading_is_idempotent(text: str) -> None:
    try:
        read = read_paste(text)
    except UnreadablePaste:
        return
    if isinstance(read, ShortLinkPaste):  # an id alone is no paste: read again as a link
        assert read_paste(f"{read.registry}/s#{read.id}") == read
        return
    assert _token(read.token) == read.token
