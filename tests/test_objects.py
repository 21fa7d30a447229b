"""Object schemas and value rules (spec §2.3, §4): one encoding per object, text rules."""

from __future__ import annotations

import copy
import unicodedata

import msgspec
import pytest
from helpers import alice_token

from endorse.protocol import (
    Endorsement,
    MalformedToken,
    Relationship,
    StatusRef,
    Subject,
    inspect,
)
from endorse.protocol._rules import check_text
from endorse.protocol.objects import OBJECT_TYPES, check_registry

STRUCTS = [*OBJECT_TYPES.values(), Subject, Relationship, StatusRef]
"""Every struct that is written to a payload, the nested ones included."""


@pytest.mark.parametrize("cls", STRUCTS, ids=lambda c: c.__name__)
def test_no_field_has_a_default_other_than_none(cls: type[msgspec.Struct]) -> None:
    # Structs are written with omit_defaults: a member equal to its default is left out. With
    # any default but None, an object would have two encodings (with and without the member).
    for field in msgspec.structs.fields(cls):
        assert field.default_factory is msgspec.NODEFAULT, (cls.__name__, field.name)
        assert field.default is msgspec.NODEFAULT or field.default is None, (
            cls.__name__,
            field.name,
            field.default,
        )


def test_from_payload_does_not_change_its_argument() -> None:
    payload = inspect(alice_token()).object.to_payload()
    before = copy.deepcopy(payload)
    Endorsement.from_payload(payload)
    assert payload == before
    assert Endorsement.from_payload(payload) == Endorsement.from_payload(before)


# --- text (spec §2.3) ------------------------------------------------------------------------

DEFAULT_IGNORABLE_RANGES = [
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
]
"""Default_Ignorable_Code_Point of Unicode's DerivedCoreProperties.txt, as spec §2.3 lists it."""


def test_every_default_ignorable_character_is_refused() -> None:
    let_through = []
    for first, last in DEFAULT_IGNORABLE_RANGES:
        for cp in range(first, last + 1):
            for multiline in (False, True):
                try:
                    check_text(f"Bob{chr(cp)}Jones", "name", multiline=multiline)
                except MalformedToken:
                    continue
                let_through.append(f"U+{cp:04X} {unicodedata.name(chr(cp), '?')}")
    assert not let_through, let_through


@pytest.mark.parametrize(
    "char",
    ["\u3164", "\u115f", "\u1160", "\uffa0", "\u034f", "\ufe0f", "\U000e0100", "\u17b4"],
    ids=lambda c: f"U+{ord(c):04X}",
)
def test_fillers_and_selectors_that_isprintable_lets_through_are_refused(char: str) -> None:
    assert char.isprintable()  # why a separate rule is needed
    with pytest.raises(MalformedToken, match="default-ignorable"):
        check_text(f"Bob{char}Jones", "name")


@pytest.mark.parametrize(
    "text",
    ["José Núñez", "李小龍", "Ωмега ж", "Café ☕", "Zoë O'Brien-Smith", "a\nb"],
)
def test_ordinary_text_is_accepted(text: str) -> None:
    check_text(text, "stmt", multiline=True)


# --- registry ids (spec §2.3): one spelling per registry ------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://registry.example:443",
        "https://registry.example:443/v1",
        "http://localhost:80",
        "http://127.0.0.1:80/x",
        "http://[::1]:80",
    ],
)
def test_explicit_default_port_refused(url: str) -> None:
    with pytest.raises(MalformedToken):
        check_registry(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://registry.example",
        "https://registry.example:4430",
        "https://registry.example:8443/v1",
        "https://registry.example:80",
        "http://localhost:8080",
        "http://localhost:443",
        "http://127.0.0.1:800",
    ],
)
def test_other_ports_accepted(url: str) -> None:
    assert check_registry(url) == url
