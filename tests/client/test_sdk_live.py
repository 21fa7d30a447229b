"""The SDK end to end against a real registry process, on SQLite and PostgreSQL, with the sync
and the async client: every endorser, subject and verifier flow."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sdk_helpers import (
    MAX_AGE,
    RECOVERY_SUBJECT,
    Counting,
    LiveServer,
    ServerClock,
    VirtualClock,
    clocked_registry,
    code_from_outbox,
    new_endorser,
)

from endorse.client import (
    AlreadyRegistered,
    Issued,
    OnlineResult,
    Pending,
    RegistryError,
    RegistryStatementInvalid,
    present,
    token_from_url,
    write_key,
)
from endorse.protocol import (
    InvalidKey,
    PublicKey,
    Relationship,
    SigningKey,
    StatusRef,
    Subject,
    Verdict,
    issue,
    token_hash,
    verify_key_binding,
    verify_token,
)
from endorse.protocol.objects import Endorsement

BOB = Subject("Bob Jones", email="bob@example.com")
MANAGER = Relationship("work", "manager", org="Acme", start="2019", end="2023")
EMPLOYMENT = "employment-reference"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def clocked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, ServerClock]]:
    """The module's registry process, whose clock the tests move (on each database)."""
    with clocked_registry(request.param, tmp_path_factory.mktemp(request.param)) as pair:
        yield pair


@pytest.fixture
def registry(clocked: tuple[LiveServer, ServerClock], clock: VirtualClock) -> LiveServer:
    """The module's registry; the clients' clock starts where the registry's is."""
    server, server_clock = clocked
    clock.offset = float(server_clock.offset)
    return server


TimePasses = Callable[[int], None]


@pytest.fixture
def time_passes(clocked: tuple[LiveServer, ServerClock], clock: VirtualClock) -> TimePasses:
    """``time_passes(seconds)``: the registry's time and the clients' move on together."""

    def later(seconds: int) -> None:
        clocked[1].advance(seconds)
        clock.advance(seconds)

    return later


def issue_one(client: Any, key: SigningKey, subject: Subject = BOB, **options: Any) -> Issued:
    issued: Issued = client.issue(key, "Alice Smith", subject, MANAGER, [EMPLOYMENT], **options)
    return issued


def test_first_contact_pins_the_registry_key(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    assert client.registry_key is None
    assert client.first_contact is False
    info = client.connect()
    presented = httpx.get(registry.url + "/.well-known/endorse-registry").json()["key"]
    assert info.key == presented == client.registry_key
    assert client.first_contact is True
    assert info.status_max_age == MAX_AGE
    # The same pin store next time: no first contact, the key is known before any request.
    again = connect(registry.url)
    assert again.registry_key == presented
    again.connect()
    assert again.first_contact is False


def test_register_issue_verify_list(registry: LiveServer, connect: Any, tmp_path: Path) -> None:
    client = connect(registry.url)
    alice = new_endorser(client, registry)
    issued = issue_one(client, alice, audience="acme-hr", statement="A fine colleague.")
    assert issued.registration.token_hash == token_hash(issued.token)
    assert issued.registration.issuer == alice.did
    assert token_from_url(issued.url) == issued.token
    assert issued.url == f"{registry.url}/v#{issued.token}"

    # Offline-first verification from a fresh verifier: the registry is asked for facts only.
    count = Counting()
    verifier = connect(registry.url, count=count)
    result = verifier.verify(
        issued.token, subject="bob@example.com", purpose=EMPLOYMENT, audience="acme-hr"
    )
    assert result.verdict is Verdict.VALID, result.detail
    assert result.issuer is not None
    assert result.issuer.identity is not None and result.issuer.key == alice.did
    assert result.revocation_checked
    assert not any(path.startswith("/api/v1/verify") for _, path in count.requests)
    paths = sorted(path for _, path in count.requests)
    assert paths[0] == "/.well-known/endorse-registry"
    assert any(p.startswith("/api/v1/identities/") for p in paths)
    assert any(p.startswith("/api/v1/status-lists/") for p in paths)
    # Out of scope, with the verdict saying why; no new request (all facts are cached).
    asked = len(count.requests)
    assert (
        verifier.verify(issued.token, purpose="tenancy-reference", audience="acme-hr").verdict
        is Verdict.PURPOSE_NOT_ALLOWED
    )
    assert (
        verifier.verify(issued.token, subject="Mallory", audience="acme-hr").verdict
        is Verdict.SUBJECT_MISMATCH
    )
    assert verifier.verify(issued.token).verdict is Verdict.AUDIENCE_MISMATCH
    assert len(count.requests) == asked
    forged = issued.token[:-4] + ("AAAA" if not issued.token.endswith("AAAA") else "BBBB")
    assert verifier.verify(forged).verdict is Verdict.BAD_SIGNATURE
    assert verifier.verify("not a token").verdict is Verdict.MALFORMED

    # Online: the registry's verdict and its signed receipt.
    online = verifier.verify_online(issued.token, subject="Bob Jones", audience="acme-hr")
    assert isinstance(online, OnlineResult)
    assert online.verdict is Verdict.VALID and online.valid
    assert online.receipt.token_hash == token_hash(issued.token)
    assert online.receipt.verdict == "valid"
    assert online.issuer is not None and online.issuer.key == alice.did
    assert online.status is not None and online.claims is not None
    assert online.claims["id"] == issued.id
    assert verifier.verify_online("nonsense").verdict is Verdict.MALFORMED

    # The endorser lists what it issued (every page), signatures checked; the key may come
    # from its (encrypted) key file, opened with the passphrase the client was given.
    more = [issue_one(client, alice) for _ in range(2)]
    key_file = write_key(alice, tmp_path / "alice.pem", passphrase=b"correct horse")
    listed = connect(registry.url, key_passphrase=lambda: b"correct horse").list(key_file)
    assert sorted(x.id for x in listed) == sorted([issued.id] + [m.id for m in more])
    assert all(x.endorsement.issuer == alice.did and not x.revoked for x in listed)


class LosesFirstRegistration(Counting):
    """Sends every request on, but loses the first answer to ``POST /api/v1/endorsements``
    on its way back (the registry did register the token)."""

    lost = 0

    def _losing(self, request: httpx.Request) -> bool:
        registering = request.method == "POST" and request.url.path == "/api/v1/endorsements"
        if registering and not self.lost:
            self.lost += 1
            return True
        return False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if self._losing(request):
            response.read()
            response.close()
            raise httpx.ReadError("connection reset", request=request)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if self._losing(request):
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("connection reset", request=request)
        return response


def test_registering_a_bound_key_again_answers_its_binding_and_sends_nothing(
    registry: LiveServer, connect: Any, time_passes: TimePasses
) -> None:
    client = connect(registry.url)
    alice = new_endorser(client, registry)
    outbox = registry.data_dir / "outbox"
    mails = len(list(outbox.glob("*.eml")))

    again = client.register(alice, "someone.else@example.com", "Someone Else")
    assert isinstance(again, AlreadyRegistered)
    binding = again.binding
    assert (binding.key, binding.name, binding.registry) == (alice.did, "Alice Smith", registry.url)
    assert binding.email != "someone.else@example.com"  # the identity bound, not the one typed
    assert again.key_revocation is None
    assert len(list(outbox.glob("*.eml"))) == mails  # no code: nothing to confirm

    time_passes(1)
    revocation = client.revoke_key(alice)
    revoked = client.register(alice, binding.email, "Alice Smith")
    assert isinstance(revoked, AlreadyRegistered)
    assert revoked.binding == binding and revoked.key_revocation == revocation
    assert len(list(outbox.glob("*.eml"))) == mails


def test_a_bound_answer_for_another_key_is_refused(registry: LiveServer, connect: Any) -> None:
    """The registry's word that a key is bound is a signed binding of that very key."""
    alice = new_endorser(connect(registry.url), registry)
    carol = new_endorser(connect(registry.url), registry, "Carol Doe")
    carols = httpx.get(f"{registry.url}/api/v1/identities/{carol.did}").json()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/identities/register":
            return httpx.Response(200, json=carols)  # a genuine binding, of another key
        forwarded = httpx.request(
            request.method, str(request.url), headers=request.headers, content=request.read()
        )
        return httpx.Response(forwarded.status_code, content=forwarded.content)

    client = connect(registry.url, transport=httpx.MockTransport(answer))
    with pytest.raises(RegistryStatementInvalid, match="another key"):
        client.register(alice, "alice@example.com", "Alice Smith")


def test_a_registration_whose_answer_was_lost_is_retried(
    registry: LiveServer, connect: Any
) -> None:
    count = LosesFirstRegistration()
    client = connect(registry.url, count=count)
    alice = new_endorser(client, registry)
    issued = issue_one(client, alice)  # registered; the retry answered the same record
    assert count.lost == 1
    assert count.requests.count(("POST", "/api/v1/endorsements")) == 2
    assert count.requests.count(("POST", "/api/v1/slots")) == 1  # one slot, not two
    assert [x.id for x in client.list(alice)] == [issued.id]
    assert connect(registry.url).verify(issued.token).valid


def test_revocation_is_seen_within_max_age(
    registry: LiveServer, connect: Any, time_passes: TimePasses
) -> None:
    endorser = connect(registry.url)
    alice = new_endorser(endorser, registry)
    issued = issue_one(endorser, alice)
    verifier = connect(registry.url)
    assert verifier.verify(issued.token).verdict is Verdict.VALID  # its list is now cached

    revoked = endorser.revoke(alice, issued.id, reason="no longer accurate")
    assert revoked.id == issued.id
    assert revoked.revocation.reason == "no longer accurate"
    # The revoking client knows at once; the registry says so at once.
    assert endorser.verify(issued.token).verdict is Verdict.REVOKED
    assert endorser.verify_online(issued.token).verdict is Verdict.REVOKED
    # Any other verifier within the list's max-age (plus the second of rounding of iat), as
    # its time and the registry's pass one second at a time.
    for _ in range(MAX_AGE + 1):
        if verifier.verify(issued.token).verdict is not Verdict.VALID:
            break
        time_passes(1)
    assert verifier.verify(issued.token).verdict is Verdict.REVOKED, "not seen in max-age"
    # Revoking again answers the revocation stored first; listing shows it revoked.
    again = endorser.revoke(alice, issued.token)
    assert again.revoked_at == revoked.revoked_at
    assert [x.revoked for x in endorser.list(alice)] == [True]


def test_verify_many_fetches_each_fact_once(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice, carol = new_endorser(client, registry), new_endorser(client, registry, "Carol Doe")
    tokens = [issue_one(client, k).token for k in (alice, alice, carol, carol, alice)]
    lists = {verify_token(t, Endorsement).object.status.list_id for t in tokens}  # type: ignore[union-attr]

    count = Counting()
    verifier = connect(registry.url, count=count)
    results = verifier.verify_many([*tokens, tokens[0], "garbage"], purpose=EMPLOYMENT)
    assert [r.verdict for r in results] == [Verdict.VALID] * 6 + [Verdict.MALFORMED]
    assert count.count("/api/v1/identities/") == 2
    assert count.count("/api/v1/status-lists/") == len(lists)
    assert count.count("/.well-known/") == 1
    # Warm: nothing is fetched again while the facts are fresh.
    before = len(count.requests)
    assert all(r.valid for r in verifier.verify_many(tokens))
    assert len(count.requests) == before
    stats = verifier.cache_stats()
    assert (stats.issuers, stats.lists, stats.evictions) == (2, len(lists), 0)


def test_cache_bounds_are_respected(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    keys = [new_endorser(client, registry, f"Endorser {i}") for i in range(3)]
    tokens = [issue_one(client, k).token for k in keys]
    verifier = connect(registry.url, max_issuers=2, max_lists=1)
    assert all(r.valid for r in verifier.verify_many(tokens))
    stats = verifier.cache_stats()
    assert stats.issuers == 2 and stats.lists == 1
    assert stats.evictions >= 1
    for token in tokens:  # evicted facts are fetched again
        assert verifier.verify(token).valid
    assert verifier.cache_stats().issuers == 2


def test_unknown_issuer_and_foreign_registry(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice = new_endorser(client, registry)
    slot = verify_token(issue_one(client, alice).token, Endorsement).object.status
    assert slot is not None
    # A key the registry never bound: unknown_issuer (its 404 comes back from the registry).
    stranger = SigningKey.generate()
    unbound = issue(stranger, "Eve", BOB, MANAGER, [EMPLOYMENT], now=int(time.time()), status=slot)
    assert client.verify(unbound).verdict is Verdict.UNKNOWN_ISSUER
    # A token whose status lives at another registry: its status cannot be had here.
    elsewhere = StatusRef("https://other.example", slot.list_id, slot.index)
    foreign = issue(
        alice, "Alice Smith", BOB, MANAGER, [EMPLOYMENT], now=int(time.time()), status=elsewhere
    )
    assert client.verify(foreign).verdict is Verdict.STATUS_UNAVAILABLE
    # A token without any status entry cannot be checked for revocation either.
    bare = issue(alice, "Alice Smith", BOB, MANAGER, [EMPLOYMENT], now=int(time.time()))
    assert client.verify(bare).verdict is Verdict.STATUS_UNAVAILABLE


def test_presentation_binds_the_subject(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice = new_endorser(client, registry)
    bob_key, carol_key = SigningKey.generate(), SigningKey.generate()
    bob = Subject("Bob Jones", email="bob@example.com", key=bob_key.did)
    issued = issue_one(client, alice, subject=bob)
    nonce = "n0nce-from-the-recruiter"

    proof = present(bob_key, issued.token, nonce, audience="acme-hr")
    expect = {"presentation": proof, "nonce": nonce, "audience": "acme-hr"}
    assert client.verify(issued.token, **expect).verdict is Verdict.VALID
    assert client.verify_online(issued.token, **expect).verdict is Verdict.VALID
    # Carol presenting Bob's token: she cannot sign as Bob, and a replay answers another nonce.
    with pytest.raises(InvalidKey):
        present(carol_key, issued.token, nonce)
    replay = {"presentation": proof, "nonce": "another-nonce-value", "audience": "acme-hr"}
    assert client.verify(issued.token, **replay).verdict is Verdict.SUBJECT_MISMATCH
    assert client.verify_online(issued.token, **replay).verdict is Verdict.SUBJECT_MISMATCH


def test_key_rotation_revocation_and_recovery(
    registry: LiveServer, connect: Any, time_passes: TimePasses
) -> None:
    client = connect(registry.url)
    verifier = connect(registry.url)
    alice = new_endorser(client, registry)
    before = issue_one(client, alice)

    # Rotate: the successor is bound to the same identity; the old token stays valid.
    alice2 = SigningKey.generate()
    successor = client.rotate_key(alice, alice2)
    assert successor.key == alice2.did and successor.email is not None
    assert verifier.verify(before.token).verdict is Verdict.VALID
    with pytest.raises(RegistryError) as refused:
        issue_one(client, alice)
    assert refused.value.status == 403 and refused.value.slug == "issuer-key-retired"
    after = issue_one(client, alice2)

    # Revoke the successor: what it registered before stays valid (by its registration).
    time_passes(1)  # the key revocation starts a later second than the registration
    revocation = client.revoke_key(alice2, reason="laptop retired")
    assert (revocation.key, revocation.by) == (alice2.did, alice2.did)
    assert revocation.revoked_from > after.registration.registered_at
    result = client.verify(after.token)
    assert result.verdict is Verdict.VALID, result.detail
    assert result.issuer is not None and result.issuer.revoked_from == revocation.revoked_from
    late = issue(
        alice2,
        "Alice Smith",
        BOB,
        MANAGER,
        [EMPLOYMENT],
        now=int(time.time()),
        status=after.endorsement.status,
    )
    assert client.verify(late).verdict is Verdict.ISSUER_KEY_REVOKED

    # A lost key: the registry revokes it after re-verifying the e-mail address.
    carol = new_endorser(client, registry, "Carol Doe")
    kept = issue_one(client, carol)
    pending = client.recover(carol.did)
    assert isinstance(pending, Pending)
    state = httpx.get(f"{registry.url}/api/v1/identities/{carol.did}").json()
    pinned = PublicKey.from_did(client.registry_key)
    email = verify_key_binding(state["binding"], pinned, registry.url).email
    time_passes(1)  # the registry's key revocation starts a later second than the token's
    code = code_from_outbox(registry, email, RECOVERY_SUBJECT)
    lost = client.confirm_recovery(carol.did, pending, code)
    assert lost.key == carol.did and lost.by == client.registry_key
    assert verifier.verify(kept.token).verdict is Verdict.VALID


def test_registry_problems_are_errors_not_verdicts(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    key = SigningKey.generate()
    pending = client.register(key, "dana@example.com", "Dana Doe")
    with pytest.raises(RegistryError) as wrong:
        client.confirm(key, pending, "00000000")
    assert wrong.value.status == 400
    assert wrong.value.type == "urn:endorse:problem:invalid-code"
    assert wrong.value.detail
    with pytest.raises(RegistryError) as unbound:
        issue_one(client, SigningKey.generate())
    assert unbound.value.status in (401, 403)
    with pytest.raises(RegistryError) as missing:
        client.revoke(key, "AAAAAAAAAAAAAAAAAAAAAA")
    assert missing.value.status == 404
