"""The text rules of the registry's claims mail, and its stop links (no database)."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from endorse.server.claims_mail import (
    MAX_SHOWN,
    address_mac,
    read_stop_token,
    shown,
    stop_token,
)

SEED = bytes(range(32))
# Text a phisher would type: letters, digits, the separators of phone numbers and URLs.
LURES = st.text(
    alphabet=st.sampled_from([*"abcxyz019 .:/@+-()_\t\n", "\u202e", "\u200b", "é"]),
    max_size=200,
)


@given(LURES)
def test_shown_values_carry_no_link_address_or_phone_number(value: str) -> None:
    out = shown(value)
    assert out.startswith("«") and out.endswith("»")
    inner = out[1:-1]
    assert "@" not in inner
    assert "://" not in inner
    assert not re.search(r"\w\.\w", inner.replace("[.]", "_"))
    assert not re.search(r"\d(?:[\s().+/-]*\d){4,}", inner)
    assert not any(unicodedata.category(ch)[0] == "C" for ch in inner)
    assert "\n" not in inner


@given(st.text(max_size=500))
def test_shown_values_are_bounded(value: str) -> None:
    # Each neutralisation at most multiplies a character by the length of its replacement.
    assert len(shown(value)) <= 2 + len(" [at] ") * (MAX_SHOWN + 1)


def test_named_cases() -> None:
    assert shown("Bob Jones") == "«Bob Jones»"
    assert shown("tel: 0049 30 1234567") == "«tel: [digits]»"
    assert shown("since 2019") == "«since 2019»"
    assert shown("x\u202egnp.exe") == "«xgnp[.]exe»"
    assert shown("hxxp://a.b") == "«hxxp[:]//a[.]b»"


@given(st.emails())
def test_stop_links_round_trip_and_name_no_address(address: str) -> None:
    mac = address_mac(SEED, address)
    assert mac == address_mac(SEED, address.upper())  # addresses compare case-insensitively
    t = stop_token(SEED, mac)
    assert read_stop_token(SEED, t) == mac
    assert address.split("@")[0] not in t or len(address.split("@")[0]) < 4


def test_stop_links_cannot_be_forged_or_moved() -> None:
    mac = address_mac(SEED, "alice@example.com")
    t = stop_token(SEED, mac)
    assert read_stop_token(bytes(32), t) is None  # another registry's secret
    head, tag = t.split(".")
    for i in range(len(tag)):
        flipped = "A" if tag[i] != "A" else "B"
        assert read_stop_token(SEED, f"{head}.{tag[:i]}{flipped}{tag[i + 1 :]}") is None
    other = stop_token(SEED, address_mac(SEED, "bob@example.com"))
    assert read_stop_token(SEED, f"{other.split('.')[0]}.{tag}") is None
    for bad in ("", "x", t + "A", t.replace(".", ""), "=" * 66):
        assert read_stop_token(SEED, bad) is None
