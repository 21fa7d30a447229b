"""The candidate's holder binding as a recruiter meets it (spec §4.8), through the installed
``endorse`` command and the SDK against a real registry: the recruiter makes a challenge,
the candidate answers it with ``endorse present``, the recruiter checks the answer and is
told what it proved; a garbage presentation or challenge is a clear error."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sdk_helpers import LiveServer, live_registry
from test_cli_paste import endorse
from test_cli_registry import issue_args, new_endorser, run_json

from endorse.client import Client, new_challenge, present
from endorse.protocol import MalformedToken, SigningKey


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_registry("sqlite", tmp_path_factory.mktemp("sqlite")) as server:
        yield server


@pytest.fixture
def bound(
    registry: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], Path]:
    """A reference naming the candidate's key, and the candidate's key file."""
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    bob = tmp_path / "bob.pem"
    did = run_json("key", "new", "--out", str(bob))["key"]
    issued: dict[str, Any] = run_json(
        *issue_args(new_endorser(registry, tmp_path)), "--subject-key", did
    )
    monkeypatch.delenv("ENDORSE_REGISTRY")
    return issued, bob


def test_challenge_present_verify(
    registry: LiveServer, bound: tuple[dict[str, Any], Path], endorse_home: Path
) -> None:
    issued, bob = bound
    made = endorse("verify", "--challenge", "--json", home=endorse_home)
    assert made.returncode == 0, made.stderr
    challenge = json.loads(made.stdout)
    nonce = challenge["nonce"]
    assert len(nonce) == 22 and challenge["present"].endswith(f"--nonce {nonce}")
    text = endorse("verify", issued["url"], "--challenge", home=endorse_home).stdout
    assert (
        text.startswith("challenge     ")
        and f"endorse present {shlex.quote(issued['url'])} --nonce" in text
    )

    presented = endorse(
        "present", issued["url"], "--nonce", nonce, "--key", str(bob), "--json", home=endorse_home
    )
    assert presented.returncode == 0, presented.stderr
    proof = json.loads(presented.stdout)["presentation"]

    run = endorse(
        "verify",
        issued["url"],
        "--nonce",
        nonce,
        "--presentation",
        proof,
        home=endorse_home,
        registry=registry.url,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("✓ valid — ")
    assert (
        "  holder        proven: whoever sent the presentation holds the subject key this"
        " reference names (did:key:"
    ) in run.stdout
    assert "did not prove" not in run.stdout
    # Without a presentation, the page and the CLI say the holder was not proven.
    bare = endorse("verify", issued["url"], home=endorse_home, registry=registry.url)
    assert "The candidate did not prove that they hold the key this reference names" in bare.stdout
    assert "(verify --challenge)" in bare.stdout


@pytest.mark.parametrize(
    ("presentation", "nonce", "says"),
    [
        ("garbage", "AAAAAAAAAAAAAAAAAAAAAA", "--presentation: that is not a presentation"),
        ("endorsement-v1.e30.c2ln", "AAAAAAAAAAAAAAAAAAAAAA", "that is not a presentation"),
        ("presentation-v1.e30.c2ln", "n-12345", "--nonce: a challenge (nonce) is 16-128"),
    ],
    ids=["garbage", "another-token", "bad-nonce"],
)
def test_a_bad_presentation_or_challenge_is_a_clear_error(
    presentation: str,
    nonce: str,
    says: str,
    registry: LiveServer,
    bound: tuple[dict[str, Any], Path],
    endorse_home: Path,
) -> None:
    issued, _ = bound
    run = endorse(
        "verify",
        issued["url"],
        "--nonce",
        nonce,
        "--presentation",
        presentation,
        home=endorse_home,
        registry=registry.url,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert says in run.stderr
    assert "subject_mismatch" not in run.stdout + run.stderr


def test_present_refuses_a_made_up_nonce_plainly(
    bound: tuple[dict[str, Any], Path], endorse_home: Path
) -> None:
    issued, bob = bound
    run = endorse(
        "present", issued["url"], "--nonce", "n-12345", "--key", str(bob), home=endorse_home
    )
    assert run.returncode == 2
    assert run.stderr.startswith(
        "endorse: error: --nonce: a challenge (nonce) is 16-128 characters of A-Z a-z 0-9 - _"
        " (make one with endorse verify --challenge)"
    )
    # Refused before the key is read: a missing key file is not what is reported.
    nokey = endorse("present", issued["url"], "--nonce", "n-12345", home=endorse_home)
    assert nokey.returncode == 2 and "--nonce: a challenge" in nokey.stderr


def test_the_sdk_challenge(
    registry: LiveServer, bound: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    issued, bob = bound
    from endorse.client import load_key

    nonce = new_challenge()
    proof = present(load_key(bob), issued["token"], nonce)
    with Client(registry.url, pin_store=tmp_path / "pins.json") as client:
        result = client.verify(issued["url"], presentation=proof, nonce=nonce)
        assert result.valid
        assert any(c.name == "holder" and c.passed for c in result.checks)
        with pytest.raises(MalformedToken, match="not a presentation"):
            client.verify(issued["url"], presentation="garbage", nonce=nonce)
        # Signed by another key than the subject's: a verdict about the candidate.
        mallory = SigningKey.generate()
        forged = present(load_key(bob), issued["token"], new_challenge())  # another challenge
        assert client.verify(issued["url"], presentation=forged, nonce=nonce).verdict.value == (
            "subject_mismatch"
        )
        assert mallory.did not in proof
