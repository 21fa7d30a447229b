"""The verify route's fast request parser agrees with the pydantic schema it stands in for."""

from __future__ import annotations

import json

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from endorse.server.routes.verify import parse_request
from endorse.server.schemas.verify import VerifyRequest

NAMES = ["token", "subject", "purpose", "audience", "presentation", "nonce", "extra", "Token"]
values = st.none() | st.booleans() | st.integers() | st.text(max_size=300) | st.lists(st.text())
documents = st.dictionaries(st.sampled_from(NAMES), values, max_size=7)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(documents.map(lambda d: json.dumps(d).encode()), st.binary(max_size=64)))
def test_fast_parser_accepts_exactly_what_pydantic_accepts(body: bytes) -> None:
    fast = parse_request(body)
    try:
        model = VerifyRequest.model_validate_json(body)
    except ValidationError:
        assert fast is None
        return
    if fast is not None:  # None is allowed: "not handled here", pydantic then answers
        assert fast.token == model.token
        assert (fast.subject, fast.purpose, fast.audience) == (
            model.subject,
            model.purpose,
            model.audience,
        )
        assert (fast.presentation, fast.nonce) == (model.presentation, model.nonce)


def test_fast_parser_handles_the_common_request() -> None:
    body = orjson.dumps({"token": "t" * 900, "purpose": "employment-reference"})
    item = parse_request(body)
    assert item is not None
    assert item.purpose == "employment-reference"


def test_over_long_members_fall_back_to_pydantic() -> None:
    assert parse_request(orjson.dumps({"token": "t", "purpose": "p" * 65})) is None
