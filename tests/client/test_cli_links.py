"""``endorse link`` and ``endorse verify <short link>`` (spec §11.6) through the installed
``endorse`` command in subprocesses, against real registry processes: make a short link,
verify it with no registry configured (trust on first use), with its own and with another
registry configured, withdraw it by secret and by the endorser's key, and the messages and
exit statuses of what goes wrong."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sdk_helpers import LiveServer, live_registry
from test_cli_paste import endorse
from test_cli_registry import issue_json, new_endorser


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_registry("sqlite", tmp_path_factory.mktemp("sqlite")) as server:
        yield server


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_registry("sqlite", tmp_path_factory.mktemp("other")) as server:
        yield server


@pytest.fixture
def key(registry: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    path = new_endorser(registry, tmp_path)
    monkeypatch.delenv("ENDORSE_REGISTRY")
    return path


@pytest.fixture
def issued(key: Path, registry: LiveServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    reference = issue_json(key)
    monkeypatch.delenv("ENDORSE_REGISTRY")
    return reference


def _made(issued: dict[str, Any], home: Path) -> dict[str, Any]:
    run = endorse("link", issued["url"], "--json", home=home)
    assert run.returncode == 0, run.stdout + run.stderr
    made: dict[str, Any] = json.loads(run.stdout)
    return made


def test_link_prints_the_short_url_its_qr_code_and_the_secret(
    registry: LiveServer, issued: dict[str, Any], endorse_home: Path
) -> None:
    run = endorse("link", issued["token"], home=endorse_home, registry=registry.url)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert re.fullmatch(re.escape(registry.url) + r"/s#[A-Za-z0-9_-]{21}[AQgw]", lines[0])
    assert any("█" in line or "▀" in line or "▄" in line for line in lines[1:-4])
    assert re.fullmatch(r"revocation secret  [A-Za-z0-9_-]{43}", lines[-4])
    assert "keep it" in lines[-3]
    assert lines[-2] == f"  endorse link --revoke {lines[0]} --secret SECRET"
    assert len(lines[0]) < 60 < len(issued["url"])
    made = _made(issued, endorse_home)
    assert set(made) == {"id", "url", "revocation_secret", "created_at"}
    assert made["created_at"].endswith("Z")
    # With no registry configured, the stderr line says what the command does there.
    unconfigured = endorse("link", issued["url"], home=endorse_home)
    assert unconfigured.returncode == 0, unconfigured.stdout + unconfigured.stderr
    assert unconfigured.stderr.startswith(
        f"endorse: no registry configured: making a short link at {registry.url}, the"
        " registry the reference names\n"
    )
    assert "checking" not in unconfigured.stderr


def test_verify_a_short_link_with_no_registry_configured(
    registry: LiveServer, issued: dict[str, Any], endorse_home: Path
) -> None:
    made = _made(issued, endorse_home)
    run = endorse("verify", f"<{made['url']}>.", home=endorse_home)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("✓ valid — ")
    assert f"{made['url']} is a short link" in run.stderr
    assert "verified below as any reference" in run.stderr
    assert "no registry configured: checking at" in run.stderr
    as_json = endorse("verify", made["url"], "--json", home=endorse_home)
    document = json.loads(as_json.stdout)
    assert document["verdict"] == "valid" and document["short_link"] == made["url"]
    online = endorse("verify", made["url"], "--online", "--json", home=endorse_home)
    assert json.loads(online.stdout)["short_link"] == made["url"]


def test_a_short_link_of_another_registry_is_not_opened_at_the_configured_one(
    registry: LiveServer, other: LiveServer, issued: dict[str, Any], endorse_home: Path
) -> None:
    made = _made(issued, endorse_home)
    run = endorse("verify", made["url"], home=endorse_home, registry=other.url)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"belongs to the registry {registry.url}" in run.stderr
    assert f"--registry {registry.url}" in run.stderr
    made_there = endorse("link", issued["token"], home=endorse_home, registry=other.url)
    assert made_there.returncode == 2
    assert f"registered at {registry.url}" in made_there.stderr


def test_withdrawn_by_secret_then_verify_says_so(
    registry: LiveServer, issued: dict[str, Any], endorse_home: Path
) -> None:
    made = _made(issued, endorse_home)
    wrong = endorse("link", "--revoke", made["url"], "--secret", "A" * 43, home=endorse_home)
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    done = endorse(
        "link", "--revoke", made["url"], "--secret", made["revocation_secret"], home=endorse_home
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"✓ short link withdrawn  {made['url']}")
    assert (
        f"no registry configured: withdrawing the short link at {registry.url}, the registry"
        " it names" in done.stderr
    )
    assert "full" in done.stdout and "still works" in done.stdout
    run = endorse("verify", made["url"], home=endorse_home)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "this short link does not open" in run.stderr
    assert "withdrawn, or never existed" in run.stderr
    assert "full verification link" in run.stderr
    assert "Traceback" not in run.stderr
    as_json = endorse("verify", made["url"], "--json", home=endorse_home)
    assert json.loads(as_json.stdout)["error"]["exit_code"] == 2
    # The reference itself is untouched.
    assert endorse("verify", issued["url"], home=endorse_home).returncode == 0


def test_withdrawn_by_the_endorser_key(
    registry: LiveServer,
    key: Path,
    issued: dict[str, Any],
    endorse_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = _made(issued, endorse_home)
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    stranger = new_endorser(registry, tmp_path, "Mallory")
    monkeypatch.delenv("ENDORSE_REGISTRY")
    refused = endorse(
        "link", "--revoke", made["url"], "--key", str(stranger), "--json", home=endorse_home
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert json.loads(refused.stdout)["error"]["exit_code"] == 2
    done = endorse(
        "link",
        "--revoke",
        made["id"],
        "--key",
        str(key),
        "--json",
        home=endorse_home,
        registry=registry.url,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["url"] == made["url"]
    gone = endorse("verify", made["url"], home=endorse_home)
    assert gone.returncode == 2 and "withdrawn" in gone.stderr


def test_mistakes_are_usage_errors_and_a_registry_down_is_3(
    issued: dict[str, Any], endorse_home: Path
) -> None:
    for args in (
        ["link"],
        ["link", "not a token"],
        ["link", issued["token"], "--secret", "A" * 43],
        ["link", issued["token"], "--revoke", "A" * 22],
    ):
        run = endorse(*args, home=endorse_home)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr
    down = endorse("verify", "http://127.0.0.1:9/s#" + "A" * 22, home=endorse_home)
    assert down.returncode == 3, down.stdout + down.stderr


def test_verify_file_opens_the_short_links_in_it_and_goes_on_past_those_that_do_not_open(
    registry: LiveServer, other: LiveServer, issued: dict[str, Any], endorse_home: Path
) -> None:
    made, withdrawn = _made(issued, endorse_home), _made(issued, endorse_home)
    secret = withdrawn["revocation_secret"]
    gone = endorse("link", "--revoke", withdrawn["url"], "--secret", secret, home=endorse_home)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    elsewhere = f"{other.url}/s#{'A' * 22}"
    lines = endorse_home.parent / "references.txt"
    lines.write_text(
        f"{issued['token']}\n<{made['url']}>.\n# withdrawn, another registry's, never made\n"
        f"{withdrawn['url']}\n{elsewhere}\n{registry.url}/s#{'A' * 22}\n{issued['url']}\n"
    )
    run = endorse("verify", "--file", str(lines), home=endorse_home, registry=registry.url)
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout.splitlines()
    assert [line.split(": ", 1)[0] for line in out] == [f"line {n}" for n in (1, 2, 4, 5, 6, 7)]
    assert out[0].startswith("line 1: ✓ valid — ") and "short link" not in out[0]
    assert out[1].startswith("line 2: ✓ valid — ")
    assert out[1].endswith(f" (from the short link {made['url']})")
    assert out[2].startswith(f"line 4: ✗ short link not opened — {withdrawn['url']}: it was")
    assert "withdrawn, or never existed" in out[2] and "full verification link" in out[2]
    assert out[3].startswith(f"line 5: ✗ short link not opened — {elsewhere}: ")
    assert f"belongs to the registry {other.url}" in out[3]
    assert f"--registry {other.url}" in out[3]
    assert "withdrawn, or never existed" in out[4]
    assert out[5].startswith("line 7: ✓ valid — ")  # the run went on past them
    assert "malformed" not in run.stdout
    assert "the link itself proves nothing" in run.stderr
    assert "6 tokens: 3 valid, 3 not valid; 4 short links, of which 3 did not open" in run.stderr

    as_json = endorse(
        "verify", "--file", str(lines), "--json", home=endorse_home, registry=registry.url
    )
    assert as_json.returncode == 1, as_json.stdout + as_json.stderr
    doc = json.loads(as_json.stdout)
    assert (doc["total"], doc["valid"], doc["interrupted"]) == (6, 3, False)
    results = {r["line"]: r for r in doc["results"]}
    assert "short_link" not in results[1] and results[1]["verdict"] == "valid"
    assert (results[2]["short_link"], results[2]["verdict"]) == (made["url"], "valid")
    assert results[2]["token_hash"] == results[1]["token_hash"]
    for n, kind in ((4, "registry_error"), (5, "other_registry"), (6, "registry_error")):
        assert (results[n]["verdict"], results[n]["valid"]) == (None, False)
        assert results[n]["error"]["kind"] == kind
    assert results[4]["short_link"] == withdrawn["url"]
    assert results[4]["error"]["problem"] == results[6]["error"]["problem"] == "no-short-link"
    assert results[5]["error"]["registry"] == other.url

    only_good = endorse(
        "verify", "--file", "-", home=endorse_home, registry=registry.url, stdin=made["url"]
    )
    assert only_good.returncode == 0, only_good.stdout + only_good.stderr


def test_the_endorser_withdraws_every_short_link_of_a_reference(
    registry: LiveServer,
    key: Path,
    issued: dict[str, Any],
    endorse_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    links = [_made(issued, endorse_home) for _ in range(2)]  # made by anyone holding it
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    stranger = new_endorser(registry, tmp_path, "Mallory")
    monkeypatch.delenv("ENDORSE_REGISTRY")
    refused = endorse(
        "link", issued["url"], "--revoke-all", "--key", str(stranger), home=endorse_home
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    done = endorse("link", issued["url"], "--revoke-all", "--key", str(key), home=endorse_home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("✓ 2 short links of this reference withdrawn\n")
    assert "full link still works" in done.stdout
    assert (
        f"no registry configured: withdrawing its short links at {registry.url}, the registry"
        " the reference names" in done.stderr
    )
    for link in links:
        gone = endorse("verify", link["url"], home=endorse_home)
        assert gone.returncode == 2 and "withdrawn" in gone.stderr
    again = endorse(
        "link", issued["token"], "--revoke-all", "--key", str(key), "--json", home=endorse_home
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["withdrawn"] == 0
    for args in (["--secret", "A" * 43], ["--revoke", links[0]["url"]]):
        wrong = endorse("link", issued["url"], "--revoke-all", *args, home=endorse_home)
        assert wrong.returncode == 2 and "--revoke-all" in wrong.stderr, wrong.stderr
    assert endorse("verify", issued["url"], home=endorse_home).returncode == 0
