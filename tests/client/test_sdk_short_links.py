"""Short links (spec §11.6) through the SDK against a real registry process, on SQLite and
PostgreSQL, with the sync and the async client: make, resolve, verify, withdraw by secret
and by the endorser's key, and the refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sdk_helpers import Counting, LiveServer, new_endorser

from endorse.client import (
    Issued,
    RegistryError,
    RegistryStatementInvalid,
    ShortLink,
    ShortLinkRevoked,
    ShortLinksRevoked,
    VerifyItem,
)
from endorse.protocol import (
    InvalidArgument,
    MalformedToken,
    Relationship,
    SigningKey,
    Subject,
    Verdict,
    token_hash,
)

BOB = Subject("Bob Jones", email="bob@example.com")
MANAGER = Relationship("work", "manager", org="Acme", start="2019", end="2023")
EMPLOYMENT = "employment-reference"


def _issue(client: Any, key: SigningKey) -> Issued:
    issued: Issued = client.issue(key, "Alice Smith", BOB, MANAGER, [EMPLOYMENT])
    return issued


def test_a_short_link_resolves_to_the_token_and_verifies(
    registry: LiveServer, connect: Any
) -> None:
    client = connect(registry.url)
    alice = new_endorser(client, registry)
    issued = _issue(client, alice)
    link = client.shorten(issued.token)
    assert isinstance(link, ShortLink)
    assert link.url == f"{registry.url}/s#{link.id}" and len(link.id) == 22
    assert len(link.revocation_secret) == 43 and link.created_at > 0
    # A recruiter with nothing but the link: the id travels in a body, never in a path.
    count = Counting()
    recruiter = connect(registry.url, count=count)
    token = recruiter.resolve_link(f"<{link.url}>.")
    assert token == issued.token
    assert recruiter.verify(token, subject="bob@example.com").verdict is Verdict.VALID
    assert all(link.id not in path and token not in path for _, path in count.requests)
    assert ("POST", "/api/v1/links/resolve") in count.requests
    assert recruiter.resolve_link(link.id) == issued.token


def test_the_maker_withdraws_it_with_the_secret(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice = new_endorser(client, registry)
    issued = _issue(client, alice)
    candidate = connect(registry.url)  # the candidate holds only the token
    link = candidate.shorten(issued.token)
    with pytest.raises(RegistryError) as refused:
        candidate.revoke_link(link.url, revocation_secret="A" * 43)
    assert refused.value.slug == "forbidden"
    done = candidate.revoke_link(link.url, revocation_secret=link.revocation_secret)
    assert isinstance(done, ShortLinkRevoked) and done.id == link.id
    with pytest.raises(RegistryError) as gone:
        candidate.resolve_link(link.url)
    assert gone.value.slug == "no-short-link" and gone.value.status == 404
    again = candidate.revoke_link(link.id, revocation_secret=link.revocation_secret)
    assert again == done
    # The reference itself is untouched.
    assert candidate.verify(issued.token).verdict is Verdict.VALID


def test_the_endorser_withdraws_it_with_their_key(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice = new_endorser(client, registry)
    mallory = new_endorser(client, registry, "Mallory")
    issued = _issue(client, alice)
    link = client.shorten(issued.token)
    with pytest.raises(RegistryError) as refused:
        client.revoke_link(link.url, key=mallory)
    assert refused.value.slug == "forbidden"
    assert client.resolve_link(link.url) == issued.token
    client.revoke_link(link.url, key=alice)
    with pytest.raises(RegistryError, match="withdrawn"):
        client.resolve_link(link.url)


def test_the_endorser_withdraws_every_link_of_a_reference(
    registry: LiveServer, connect: Any
) -> None:
    client = connect(registry.url)
    alice = new_endorser(client, registry)
    mallory = new_endorser(client, registry, "Mallory")
    issued = _issue(client, alice)
    stranger = connect(registry.url)  # holds the token; the ids are theirs alone
    links = [stranger.shorten(issued.token) for _ in range(2)]
    with pytest.raises(RegistryError) as refused:
        client.revoke_links(mallory, issued.token)
    assert refused.value.slug == "forbidden"
    done = client.revoke_links(alice, issued.token)
    assert isinstance(done, ShortLinksRevoked)
    assert (done.token_hash, done.withdrawn) == (token_hash(issued.token), 2)
    for link in links:
        with pytest.raises(RegistryError, match="withdrawn"):
            client.resolve_link(link.url)
    assert client.revoke_links(alice, issued.token).withdrawn == 0
    with pytest.raises(MalformedToken):
        client.revoke_links(alice, "not a token")
    assert client.verify(issued.token).verdict is Verdict.VALID


class _Lying(Counting):
    """The real registry, except that every short link resolves to ``answer``."""

    def __init__(self, answer: str) -> None:
        super().__init__()
        self.answer = answer

    def _lie(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path != "/api/v1/links/resolve":
            return response
        return httpx.Response(200, json={"token": self.answer}, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._lie(request, super().handle_request(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._lie(request, await super().handle_async_request(request))


def test_a_registry_that_answers_no_token_for_a_short_link(
    registry: LiveServer, connect: Any
) -> None:
    client = connect(registry.url)
    link = client.shorten(_issue(client, new_endorser(client, registry)).token)
    for answer in (link.url, "not a token", ""):
        lying = connect(registry.url, count=_Lying(answer))
        with pytest.raises(RegistryStatementInvalid, match="no token for a short link"):
            lying.resolve_link(link.url)


def test_refusals(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice = new_endorser(client, registry)
    issued = _issue(client, alice)
    with pytest.raises(MalformedToken):
        client.shorten("not a token")
    with pytest.raises(InvalidArgument, match="another"):
        client.resolve_link(f"https://other.example/s#{'A' * 22}")
    with pytest.raises(InvalidArgument, match="not a short link"):
        client.resolve_link(issued.url)
    with pytest.raises(InvalidArgument, match="secret or a key"):
        client.revoke_link("A" * 22)
    with pytest.raises(InvalidArgument, match="secret or a key"):
        client.revoke_link("A" * 22, revocation_secret="A" * 43, key=alice)
    with pytest.raises(RegistryError) as unknown:
        client.resolve_link("A" * 22)
    assert unknown.value.slug == "no-short-link"
    # A short link given to verify is said to be one, not verified as a "malformed" token.
    link = client.shorten(issued.token)
    for verify in (client.verify, client.verify_online):
        with pytest.raises(InvalidArgument, match="resolve it first"):
            verify(link.url)
    # verify_many takes tokens: a short link among them is refused the same way, by position,
    # whether given as a string (as pasted) or in a VerifyItem; nothing is verified.
    for batch in (
        [issued.token, f"<{link.url}>."],
        [VerifyItem(issued.token), VerifyItem(link.url, subject="bob@example.com")],
    ):
        with pytest.raises(InvalidArgument, match=r"^item 1: .*short link.*resolve it first"):
            client.verify_many(batch)
    # A token and a damaged link are still verified, and found what they are.
    results = client.verify_many([issued.token, f"{registry.url}/s#{'A' * 21}B"])
    assert [r.verdict for r in results] == [Verdict.VALID, Verdict.MALFORMED]
