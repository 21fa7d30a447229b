"""The portable form end to end (spec §13): credentials exported through the SDK from a real
registry, verified by Digital Bazaar's VC 2.0 verifier (Node.js) and by our SDK, revoked, and
a credential signed by that library verified by ours."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
import vc_node
from sdk_helpers import LiveServer, new_endorser

from endorse.client import _clock
from endorse.protocol import (
    Bitstring,
    InvalidKey,
    Relationship,
    SigningKey,
    Subject,
    Verdict,
)
from endorse.protocol.vc import decode_list, sign_jcs, status_list_credential

BOB = Subject("Bob Jones", email="bob@example.com")
MANAGER = Relationship("work", "manager", org="Acme", start="2019", end="2023")
EMPLOYMENT = "employment-reference"
JSON = {"content-type": "application/json"}


def _issue_and_export(
    client: Any, registry: LiveServer, **options: Any
) -> tuple[SigningKey, Any, dict[str, Any]]:
    alice = new_endorser(client, registry)
    issued = client.issue(alice, "Alice Smith", BOB, MANAGER, [EMPLOYMENT], **options)
    credential: dict[str, Any] = client.export_vc(alice, issued.token)
    return alice, issued, credential


def _resigned(credential: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    return sign_jcs(unsigned, key, created=credential["proof"]["created"])


def test_issued_credential_verifies_there_and_here_until_revoked(
    registry: LiveServer, connect: Any
) -> None:
    client = connect(registry.url)
    alice, issued, credential = _issue_and_export(client, registry, statement="Steady and kind.")
    assert credential["issuer"]["id"] == alice.did
    assert credential["credentialStatus"]["statusListCredential"].startswith(registry.url)

    there = vc_node.verify(credential)
    assert there["verified"] is True, there["error"]
    assert there["expanded"] is True, there["expandError"]
    assert there["statusVerified"] is True and there["revoked"] is False

    verifier = connect(registry.url)
    here = verifier.verify_vc(credential, subject="bob@example.com", purpose=EMPLOYMENT)
    assert here.verdict is Verdict.VALID, here.detail
    assert here.issuer is not None and here.issuer.identity is not None
    assert here.message == Verdict.VALID.sentence

    client.revoke(alice, issued.token)
    there = vc_node.verify(credential)
    # The trap: the library's status check says "verified" for a set bit; the bit is the answer.
    assert there["revoked"] is True, there
    fresh = connect(registry.url)
    assert fresh.verify_vc(credential).verdict is Verdict.REVOKED


def test_revoked_by_id_reaches_the_status_list_credential(
    registry: LiveServer, connect: Any
) -> None:
    client = connect(registry.url)
    alice, issued, credential = _issue_and_export(client, registry)
    # A second endorsement in the same list stays clear when the first is revoked.
    other = client.issue(alice, "Alice Smith", BOB, MANAGER, [EMPLOYMENT])
    client.revoke(alice, issued.id)
    assert vc_node.verify(credential)["revoked"] is True
    second = client.export_vc(alice, other.token)
    if (
        second["credentialStatus"]["statusListCredential"]
        == (credential["credentialStatus"]["statusListCredential"])
    ):
        answer = vc_node.verify(second)
        assert answer["verified"] is True and answer["revoked"] is False, answer


def test_defects_fail_there_and_here(registry: LiveServer, connect: Any) -> None:
    client = connect(registry.url)
    alice, _, credential = _issue_and_export(client, registry)
    mallory = new_endorser(client, registry, name="Mallory")
    documents = vc_node.documents_for(credential)
    verifier = connect(registry.url)

    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["allowedPurposes"] = ["tenancy-reference"]
    undefined = copy.deepcopy(credential)
    undefined["credentialSubject"]["subjectNme"] = undefined["credentialSubject"].pop("subjectName")
    undefined = _resigned(undefined, alice)
    wrong_issuer = _resigned(credential, mallory)  # names Alice, signed by Mallory's key

    cases = {
        "tampered": (tampered, Verdict.BAD_SIGNATURE),
        "undefined_term": (undefined, Verdict.MALFORMED),
        "wrong_issuer": (wrong_issuer, Verdict.BAD_SIGNATURE),
    }
    for name, (bad, verdict) in cases.items():
        there = vc_node.verify(bad, documents=documents)
        assert not (there["verified"] and there["expanded"]), (name, there)
        assert verifier.verify_vc(bad).verdict is verdict, name
    # The library alone "verifies" the undefined term (eddsa-jcs-2022 never applies the
    # context): only the safe-mode expansion catches it.
    there = vc_node.verify(undefined, documents=documents)
    assert there["verified"] is True and there["expanded"] is False
    assert "subjectNme" in there["expandError"]

    later = "2035-01-01T00:00:00Z"
    there = vc_node.verify(credential, documents=documents, now=later)
    assert there["verified"] is False and "validUntil" in there["error"]


def test_expired_credential_in_the_sdk(
    registry: LiveServer, connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = connect(registry.url)
    _, _, credential = _issue_and_export(client, registry)
    verifier = connect(registry.url)
    real = _clock.now()
    monkeypatch.setattr(_clock, "now", lambda: real + 2 * 366 * 86_400)
    result = verifier.verify_vc(credential)
    assert result.verdict is Verdict.EXPIRED
    assert result.message == Verdict.EXPIRED.sentence


def test_credential_signed_by_the_node_library_verifies_here(
    registry: LiveServer, connect: Any
) -> None:
    client = connect(registry.url)
    alice, _, credential = _issue_and_export(client, registry)
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    theirs = vc_node.sign(unsigned, alice.seed(), credential["proof"]["created"])
    # Same key, same document, same suite: Ed25519 is deterministic, so the same proof.
    assert theirs["proof"] == credential["proof"]
    result = connect(registry.url).verify_vc(theirs, purpose=EMPLOYMENT)
    assert result.verdict is Verdict.VALID, result.detail


def test_registry_refuses_a_status_list_credential_it_cannot_vouch_for(
    registry: LiveServer, connect: Any
) -> None:
    client = connect(registry.url)
    alice, issued, credential = _issue_and_export(client, registry)
    url = credential["credentialStatus"]["statusListCredential"]
    list_id = url.rsplit("/", 1)[1]
    index = int(credential["credentialStatus"]["statusListIndex"])
    size = decode_list(httpx.get(url).json()["credentialSubject"]["encodedList"]).size

    def put(body: Any) -> httpx.Response:
        return httpx.put(url, json=body)

    now = _clock.now()
    bits = Bitstring(size)
    bits.set(index)  # not revoked at the registry
    lying = status_list_credential(alice, registry.url, list_id, bits, valid_from=now)
    answer = put(lying)
    assert answer.status_code in (409,), answer.text
    mallory = new_endorser(client, registry, name="Mallory")
    forged = status_list_credential(mallory, registry.url, list_id, Bitstring(size), valid_from=now)
    assert put(forged).status_code == 400
    assert httpx.put(url, content=b"{", headers=JSON).status_code == 400
    older = status_list_credential(
        alice, registry.url, list_id, Bitstring(size), valid_from=now - 3600
    )
    assert put(older).status_code == 409
    # Nothing was replaced: the served list is still the endorser's last good one.
    served = httpx.get(url).json()
    assert served["credentialSubject"]["encodedList"] != lying["credentialSubject"]["encodedList"]
    with pytest.raises(InvalidKey):
        client.export_vc(mallory, issued.token)
