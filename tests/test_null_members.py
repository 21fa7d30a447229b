"""Null members are refused in every token (spec §4.1), on the decoder's fast path too.

Token decoding skips the walk for nulls when the canonical payload holds no ``:null`` bytes;
these tokens are correctly signed and canonical, so only that rule can refuse them, and a
statement that merely contains the text ``:null`` must still verify.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from helpers import ALICE, EMPLOYMENT, NOW, alice_token, status_list, trusted_alice

from endorse.protocol import (
    Endorsement,
    MalformedToken,
    Revocation,
    Verdict,
    decode_unverified,
    inspect,
    sign,
    signing_context,
    verify_endorsement,
    verify_token,
)
from endorse.protocol.encoding import b64url_encode


def _resigned(payload: dict[str, Any], type_name: str = "endorsement") -> str:
    # A token of exactly this payload, canonical and correctly signed by Alice.
    data = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    signature = ALICE.sign(signing_context(type_name) + data)
    return f"{type_name}-v1.{b64url_encode(data)}.{b64url_encode(signature)}"


def _verify(token: str) -> Any:
    lists = status_list()
    return verify_endorsement(
        token,
        now=NOW + 60,
        issuers=trusted_alice(),
        status_lists={(lists.registry, lists.list_id): lists},
        purpose=EMPLOYMENT,
    )


def _payload() -> dict[str, Any]:
    return inspect(alice_token()).object.to_payload()


@pytest.mark.parametrize(
    ("where", "member"),
    [
        (None, "aud"),
        (None, "stmt"),
        ("sub", "handle"),
        ("sub", "key"),
        ("rel", "org"),
        ("rel", "to"),
    ],
)
def test_null_member_is_malformed(where: str | None, member: str) -> None:
    payload = _payload()
    (payload if where is None else payload[where])[member] = None
    token = _resigned(payload)
    result = _verify(token)
    assert result.verdict is Verdict.MALFORMED
    assert "null is not allowed" in result.detail
    with pytest.raises(MalformedToken, match="null is not allowed"):
        decode_unverified(token, Endorsement)


def test_null_member_of_another_type_is_malformed() -> None:
    payload = {
        "type": "revocation",
        "v": 1,
        "id": inspect(alice_token()).object.id,
        "iss": ALICE.did,
        "by": ALICE.did,
        "iat": NOW,
        "reason": None,
    }
    with pytest.raises(MalformedToken, match="null is not allowed"):
        verify_token(_resigned(payload, "revocation"), Revocation)


def test_text_that_spells_null_is_not_a_null() -> None:
    statement = 'She wrote {"a":null} and "b":null, twice:null'
    token = alice_token(statement=statement)
    assert b":null" in inspect(token).payload
    result = _verify(token)
    assert result.verdict is Verdict.VALID, result.detail
    assert result.endorsement is not None and result.endorsement.statement == statement
    assert sign(result.endorsement, ALICE) == token
