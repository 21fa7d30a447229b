"""What a result says was and was not checked (spec §6.5), through the installed ``endorse``
command and the SDK against a real registry: expectations compared and not, the same facts
``--online``, a signed endorser name unlike the verified one, the relationship as stated,
and ``--issuer``'s own outcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sdk_helpers import LiveServer, live_registry
from test_cli_paste import endorse
from test_cli_registry import issue_args, new_endorser, run_json

from endorse.client import Client
from endorse.protocol.findings import findings


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_registry("sqlite", tmp_path_factory.mktemp("sqlite")) as server:
        yield server


@pytest.fixture
def famous(registry: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A reference signed as "Famous Person", CEO of Big Corp, by a key registered as
    "Alice Smith"."""
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    key = new_endorser(registry, tmp_path)
    args = issue_args(key)
    args[args.index("--name") + 1] = "Famous Person"
    args[args.index("--relationship") + 1] = "CEO"
    args[args.index("--org") + 1] = "Big Corp"
    issued: dict[str, Any] = run_json(*args)
    monkeypatch.delenv("ENDORSE_REGISTRY")
    return issued


WARNING = (
    "⚠ WARNING     the endorser signed as “Famous Person”, but the registry verified this key"
    " as “Alice Smith”: the signed name is not checked"
)
CANDIDATE = "NOT compared  The candidate was not compared: check that the name and e-mail in it"


@pytest.mark.parametrize("online", [False, True], ids=["offline", "online"])
def test_text_says_what_was_not_compared_and_warns_of_the_name(
    online: bool, registry: LiveServer, famous: dict[str, Any], endorse_home: Path
) -> None:
    extra = ["--online"] if online else []
    run = endorse("verify", famous["url"], *extra, home=endorse_home, registry=registry.url)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [line.strip() for line in run.stdout.splitlines()]
    assert lines[0].startswith("✓ valid — ")
    assert WARNING in lines
    assert any(line.startswith(CANDIDATE) for line in lines)
    assert any(line.startswith("NOT compared  The purpose was not compared") for line in lines)
    # The same facts offline and online: the claims, the verified identity, labelled.
    assert any(line.startswith("identity      Alice Smith <") for line in lines)
    rel = lines.index("relationship  CEO — work, Big Corp, 2019..2023")
    assert any(
        line.startswith("as stated by the endorser (not verified); their verified e-mail is at")
        for line in lines
    )
    assert "contact       no, the endorser has not agreed to be contacted" in lines[rel:]

    given = endorse(
        "verify",
        famous["url"],
        *extra,
        "--subject",
        "bob@example.com",
        "--purpose",
        "employment-reference",
        home=endorse_home,
        registry=registry.url,
    )
    assert given.returncode == 0, given.stdout + given.stderr
    assert "  compared      subject, purpose" in given.stdout.splitlines()
    assert "NOT compared" not in given.stdout


@pytest.mark.parametrize("online", [False, True], ids=["offline", "online"])
def test_json_says_the_same(
    online: bool, registry: LiveServer, famous: dict[str, Any], endorse_home: Path
) -> None:
    extra = ["--online"] if online else []
    run = endorse(
        "verify",
        famous["url"],
        "--json",
        "--subject",
        "Bob Jones",
        *extra,
        home=endorse_home,
        registry=registry.url,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    doc = json.loads(run.stdout)
    assert doc["expectations"] == {"compared": ["subject"], "not_compared": ["purpose"]}
    assert doc["warnings"] == [
        {"kind": "name_mismatch", "signed_name": "Famous Person", "verified_name": "Alice Smith"}
    ]


def test_issuer_gives_its_own_outcome(
    registry: LiveServer, famous: dict[str, Any], endorse_home: Path
) -> None:
    did = famous["claims"]["iss"] if "claims" in famous else None
    if did is None:
        did = json.loads(endorse("inspect", famous["token"], "--json", home=endorse_home).stdout)[
            "payload"
        ]["iss"]
    run = endorse("verify", famous["token"], "--issuer", did, home=endorse_home)
    assert run.returncode == 1
    assert run.stdout.startswith(
        "~ signature_and_scope_valid — the pinned key signed it, and it is in force and in"
        " scope; revocation NOT checked"
    )
    doc = json.loads(
        endorse("verify", famous["token"], "--issuer", did, "--json", home=endorse_home).stdout
    )
    assert (doc["verdict"], doc["outcome"]) == ("status_unavailable", "signature_and_scope_valid")
    # A forged copy is not that outcome.
    forged = famous["token"][:-4] + ("AAAA" if famous["token"][-4:] != "AAAA" else "BBBB")
    bad = endorse("verify", forged, "--issuer", did, home=endorse_home)
    assert bad.stdout.startswith("✗ bad_signature")


def test_the_sdk_result_says_it(
    registry: LiveServer, famous: dict[str, Any], tmp_path: Path
) -> None:
    with Client(registry.url, pin_store=tmp_path / "pins.json") as client:
        result = client.verify(famous["url"], purpose="employment-reference")
        online = client.verify_online(famous["url"])
    f = findings(result)
    assert (f.checked, f.not_checked) == (("purpose",), ("subject",))
    assert f.name_mismatch == ("Famous Person", "Alice Smith")
    assert online.findings.not_checked == ("subject", "purpose")
    assert online.findings.name_mismatch == ("Famous Person", "Alice Smith")
