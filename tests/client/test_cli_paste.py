"""Links and tokens as people paste them (spec §11.5), through the installed ``endorse``
command in a subprocess and the SDK, against real registry processes: a link wrapped by a
mail client, the ``/v/`` form, angle brackets and punctuation, and the registry a link or
token names when none is configured or another one is."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sdk_helpers import LiveServer, live_registry
from test_cli_registry import endorse_executable, issue_json, new_endorser, tamper

from endorse.client import Client, registry_of, token_from_url


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One SQLite registry for the module (the pasting is the same on any database)."""
    with live_registry("sqlite", tmp_path_factory.mktemp("sqlite")) as server:
        yield server


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A second registry, to configure while checking a reference of the first."""
    with live_registry("sqlite", tmp_path_factory.mktemp("other")) as server:
        yield server


@pytest.fixture
def issued(registry: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A reference registered at ``registry`` (the endorser's configuration only)."""
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    reference = issue_json(new_endorser(registry, tmp_path))
    monkeypatch.delenv("ENDORSE_REGISTRY")
    return reference


def mail_wrapped(url: str) -> str:
    """``url`` as a quoted-printable mail body shows it: 76-column lines ending in "=", in
    angle brackets, at the end of a sentence."""
    text = f"<{url}>."
    lines = [text[i : i + 75] for i in range(0, len(text), 75)]
    return "=\r\n".join(lines) + "\r\n"


def endorse(
    *args: str, home: Path, registry: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENDORSE_")}
    env |= {"ENDORSE_HOME": str(home), "PYTHONIOENCODING": "utf-8"}
    env.pop("XDG_CONFIG_HOME", None)
    if registry is not None:
        env["ENDORSE_REGISTRY"] = registry
    return subprocess.run(
        [endorse_executable(), *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=60,
        check=False,
    )


def test_a_wrapped_link_from_a_mail_is_verified(
    registry: LiveServer, issued: dict[str, Any], endorse_home: Path
) -> None:
    wrapped = mail_wrapped(issued["url"])
    assert wrapped.count("\r\n") >= 10
    run = endorse("verify", "-", "--json", home=endorse_home, registry=registry.url, stdin=wrapped)
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout)["verdict"] == "valid"


@pytest.mark.parametrize(
    "form",
    ["{url_path}", "<{url}>", "{url}.", "“{url}”,", "({token})"],
    ids=["path-form", "angle-brackets", "full-stop", "quotes", "parentheses"],
)
def test_either_link_form_and_what_surrounds_it(
    form: str, registry: LiveServer, issued: dict[str, Any], endorse_home: Path
) -> None:
    path_form = issued["url"].replace("/v#", "/v/")
    pasted = form.format(url=issued["url"], url_path=path_form, token=issued["token"])
    run = endorse("verify", pasted, home=endorse_home, registry=registry.url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("✓ valid — ")


def test_nothing_inside_the_token_is_repaired(
    registry: LiveServer, issued: dict[str, Any], endorse_home: Path
) -> None:
    run = endorse(
        "verify", mail_wrapped(tamper(issued["url"])), home=endorse_home, registry=registry.url
    )
    assert run.returncode == 1
    assert run.stdout.startswith("✗ bad_signature — ")


def test_with_no_registry_configured_the_link_names_it(
    registry: LiveServer, issued: dict[str, Any], tmp_path: Path
) -> None:
    recruiter = tmp_path / "recruiter"  # a home of its own: no pin, no configuration
    run = endorse("verify", issued["url"], home=recruiter)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("✓ valid — ")
    assert f"no registry configured: checking at {registry.url}, the registry it names" in (
        run.stderr
    )
    # Trusted on first use, its key shown.
    assert f"first contact with {registry.url}: trusting its key did:key:" in run.stderr
    # A bare token names its registry too (its status list's).
    bare = endorse("verify", issued["token"], "--json", home=recruiter)
    assert bare.returncode == 0, bare.stdout + bare.stderr
    assert json.loads(bare.stdout)["verdict"] == "valid"
    assert f"{registry.url}'s key did:key:" in bare.stderr  # pinned now, still shown
    assert "key None" not in run.stderr + bare.stderr
    # With nothing named, the message says where the registry comes from.
    nothing = endorse("verify", "endorsement-v1.e30.c2ln", home=recruiter)
    assert nothing.returncode == 2
    assert "no registry configured" in nothing.stderr
    assert "pass the whole link" in nothing.stderr


def test_a_reference_of_another_registry_is_said_to_be_so(
    registry: LiveServer, other: LiveServer, issued: dict[str, Any], tmp_path: Path
) -> None:
    """The configured registry trusts its own keys only: a reference of another one is
    neither checked there silently (unknown_issuer, blaming the endorser) nor elsewhere
    without being asked, but said to belong to its registry, with the command to check it."""
    home = tmp_path / "recruiter"
    for pasted in (issued["url"], issued["token"]):
        run = endorse("verify", pasted, home=home, registry=other.url)
        assert run.returncode == 2, run.stdout + run.stderr
        assert "unknown_issuer" not in run.stdout + run.stderr
        assert (
            f"this reference belongs to the registry {registry.url}, not to {other.url}"
            f" (configured), which does not know its endorser or its status: check it there"
            f" with --registry {registry.url}"
        ) in run.stderr
    doc = json.loads(
        endorse("verify", issued["url"], "--json", home=home, registry=other.url).stdout
    )
    assert (doc["error"]["kind"], doc["error"]["registry"]) == ("other_registry", registry.url)
    there = endorse("verify", issued["url"], "--registry", registry.url, home=home)
    assert there.returncode == 0, there.stdout + there.stderr


def test_the_sdk_reads_pastes_alike(
    registry: LiveServer, issued: dict[str, Any], tmp_path: Path
) -> None:
    path_form = issued["url"].replace("/v#", "/v/")
    wrapped = mail_wrapped(issued["url"])
    assert token_from_url(path_form) == token_from_url(wrapped) == issued["token"]
    assert registry_of(wrapped) == registry_of(issued["token"]) == registry.url
    with Client(registry.url, pin_store=tmp_path / "pins.json") as client:
        for pasted in (path_form, wrapped, issued["url"]):
            assert client.verify(pasted).verdict.value == "valid"
            assert client.verify_online(pasted).verdict.value == "valid"
        forged = mail_wrapped(tamper(issued["url"]))
        assert client.verify(forged).verdict.value == "bad_signature"
