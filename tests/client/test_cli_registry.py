"""The ``endorse`` CLI's registry verbs against a real registry process (SQLite, PostgreSQL).

Most runs are in-process (typer's CliRunner); a few go through the installed console script in
a subprocess, one of them with stderr on a pseudo-terminal to see the progress bar. Every
``--json`` output is parsed whole: it must be exactly one JSON document.
"""

from __future__ import annotations

import json
import os
import pty
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import free_port  # tests/server, put on sys.path by sdk_helpers
from sdk_helpers import CONFIRM_SUBJECT, MAX_AGE, LiveServer, code_from_outbox
from typer.testing import CliRunner, Result

from endorse.client import cli, qr_text
from endorse.client import config as client_config
from endorse.protocol import SigningKey

runner = CliRunner()
EMPLOYMENT = "employment-reference"


@pytest.fixture(autouse=True)
def no_registry_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry comes from each test (ENDORSE_HOME, so the config file, is per test)."""
    for name in ("ENDORSE_REGISTRY", "ENDORSE_CONFIG", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def configured(registry: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    """The live registry as the default one, through $ENDORSE_REGISTRY."""
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    return registry


def run(*args: str, code: int | None = 0, input: str | None = None) -> Result:
    """Run the CLI in-process; check its exit status unless ``code`` is None."""
    result = runner.invoke(cli.app, list(args), input=input)
    if code is not None:
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    return result


def run_json(*args: str, code: int | None = 0, input: str | None = None) -> Any:
    """Run with --json: stdout must be exactly one JSON document (json.loads refuses more)."""
    return json.loads(run(*args, "--json", code=code, input=input).stdout)


def registry_key(server: LiveServer) -> str:
    key: str = httpx.get(server.url + "/.well-known/endorse-registry").json()["key"]
    return key


def new_endorser(server: LiveServer, directory: Path, name: str = "Alice Smith") -> Path:
    """A key file, registered and confirmed through the CLI (the code read from the outbox)."""
    path = directory / f"{secrets.token_hex(4)}.pem"
    did = run_json("key", "new", "--out", str(path))["key"]
    email = f"{secrets.token_hex(4)}@example.com"
    pending = run_json("register", "--key", str(path), "--email", email, "--name", name)
    assert (pending["key"], pending["email"]) == (did, email)
    code = code_from_outbox(server, email, CONFIRM_SUBJECT)
    binding = run_json("confirm", code, "--pending", pending["pending"], "--key", str(path))
    assert (binding["key"], binding["email"], binding["name"]) == (did, email, name)
    assert binding["registry"] == server.url
    return path


def issue_args(key: Path, *extra: str) -> list[str]:
    return [
        "issue",
        "--key",
        str(key),
        "--name",
        "Alice Smith",
        "--subject",
        "Bob Jones",
        "--subject-email",
        "bob@example.com",
        "--relationship",
        "manager",
        "--org",
        "Acme",
        "--period",
        "2019..2023",
        "--purpose",
        EMPLOYMENT,
        *extra,
    ]


def issue_json(key: Path, *extra: str) -> dict[str, Any]:
    issued: dict[str, Any] = run_json(*issue_args(key, *extra))
    return issued


def tamper(token: str) -> str:
    """The token (or URL) with one character of its signature changed: a forged copy."""
    prefix, payload, signature = token.rsplit(".", 2)  # a URL has dots before the token
    middle = len(signature) // 2
    flipped = "B" if signature[middle] == "A" else "A"
    return f"{prefix}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"


# --- the endorser and the verifier ------------------------------------------------------------


def test_register_issue_list_verify_revoke(configured: LiveServer, tmp_path: Path) -> None:
    # register (human output) tells the next step; the first contact shows the registry's key.
    key = tmp_path / "alice.pem"
    did = run("key", "new", "--out", str(key)).stdout.strip()
    registered = run(
        "register", "--key", str(key), "--email", "alice@example.com", "--name", "Alice Smith"
    )
    assert registered.stdout.startswith("✓ a confirmation code was e-mailed to alice@example.com")
    assert "endorse confirm --pending " in registered.stdout
    assert f"first contact with {configured.url}" in registered.stderr
    assert registry_key(configured) in registered.stderr
    pending = registered.stdout.split("endorse confirm --pending ")[1].split()[0]
    code = code_from_outbox(configured, "alice@example.com", CONFIRM_SUBJECT)
    # A wrong code is the person's to correct (exit 2), with what to do next.
    wrong = run_json("confirm", "00000000", "--pending", pending, "--key", str(key), code=2)
    assert wrong["error"]["kind"] == "registry_error"
    assert wrong["error"]["problem"] == "invalid-code"
    assert "ask for a new one with endorse register" in wrong["error"]["message"]
    # As written in a mail or read aloud: groups with a space or a dash.
    confirmed = run("confirm", f"{code[:4]} {code[4:]}", "--pending", pending, "--key", str(key))
    assert confirmed.stdout.startswith(f"✓ {did} is bound to Alice Smith <alice@example.com>")
    assert "first contact" not in confirmed.stderr  # pinned now

    # issue: the token, then its verification URL (human); the same as one JSON document.
    human = run(*issue_args(key))
    token, url = human.stdout.splitlines()
    assert url == f"{configured.url}/v#{token}"
    assert "endorse revoke -- " in human.stderr
    issued = issue_json(key, "--audience", "acme-hr")
    assert issued["url"] == f"{configured.url}/v#{issued['token']}"
    assert issued["registry"] == configured.url and isinstance(issued["index"], int)

    listed = run_json("list", "--key", str(key))
    assert listed["key"] == did
    assert sorted(e["token"] for e in listed["endorsements"]) == sorted([token, issued["token"]])
    assert all(e["revoked_at"] is None for e in listed["endorsements"])
    lines = run("list", "--key", str(key)).stdout.splitlines()
    assert len(lines) == 2 and all("active" in line and "Bob Jones" in line for line in lines)

    # verify, by token and by URL: valid, with the issuer's verified identity.
    ok = run("verify", token, "--subject", "bob@example.com", "--purpose", EMPLOYMENT)
    first = ok.stdout.splitlines()[0]
    assert first.startswith("✓ valid — ")
    assert "Alice Smith <alice@example.com>, verified by " + configured.url in ok.stdout
    assert "revocation    checked" in ok.stdout
    doc = run_json("verify", url)
    assert (doc["verdict"], doc["valid"], doc["revocation_checked"]) == ("valid", True, True)
    assert doc["issuer"]["identity"] == "alice@example.com"
    assert doc["claims"]["iss"] == did

    # Verified but not valid: exit 1, the verdict's sentence on the first line.
    forged = run("verify", tamper(token), code=1)
    assert forged.stdout.startswith("✗ bad_signature — ")
    assert run_json("verify", tamper(url), code=1)["verdict"] == "bad_signature"
    mismatch = run_json("verify", url, "--subject", "Carol King", code=1)
    assert mismatch["verdict"] == "subject_mismatch"
    tenancy = run("verify", url, "--purpose", "tenancy-reference", code=1)
    assert tenancy.stdout.startswith("✗ purpose_not_allowed — ")
    assert run_json("verify", issued["token"], code=1)["verdict"] == "audience_mismatch"
    assert run_json("verify", issued["url"], "--audience", "acme-hr")["verdict"] == "valid"

    # Online: the registry's verdict with its signed receipt.
    online = run_json("verify", url, "--online")
    assert online["verdict"] == "valid" and online["receipt"]["verdict"] == "valid"
    assert online["receipt"]["registry"] == configured.url
    assert online["receipt_token"].startswith("receipt-v1.")
    assert "receipt       signed by" in run("verify", token, "--online").stdout

    # Bad input: exit 2, with the malformed verdict (JSON) or one line.
    for garbage in ("garbage", f"{configured.url}/v#garbage", "endorsement-v1.e30.AAAA"):
        assert run_json("verify", garbage, code=2)["verdict"] == "malformed"
        assert run("verify", garbage, code=2).stdout.startswith("✗ malformed — ")

    # Revoke: the registry says so at once; every verifier within the list's max-age.
    # An id may start with "-": after "--" it is never taken for an option.
    revoke = ["revoke", "--key", str(key), "--reason", "left Acme", "--json", "--", issued["id"]]
    revoked = json.loads(run(*revoke).stdout)
    acknowledged = time.time()
    assert (revoked["id"], revoked["reason"]) == (issued["id"], "left Acme")
    assert run_json("verify", issued["url"], "--online", code=1)["verdict"] == "revoked"
    while run_json("verify", issued["url"], "--audience", "acme-hr", code=None)["valid"]:
        assert time.time() - acknowledged <= MAX_AGE + 1.5, "revocation not seen in max-age"
        time.sleep(0.2)
    late = run("verify", issued["url"], "--audience", "acme-hr", code=1)
    assert late.stdout.startswith("✗ revoked — ")
    again = run("revoke", issued["token"], "--key", str(key))  # by token: the same record
    assert again.stdout.startswith(f"✓ revoked {issued['id']} at ")
    states = {e["id"]: e["revoked_at"] for e in run_json("list", "--key", str(key))["endorsements"]}
    assert states[issued["id"]] == revoked["revoked_at"] and len(states) == 2
    assert [v for k, v in states.items() if k != issued["id"]] == [None]


def test_key_list_rotate_and_revoke(configured: LiveServer, tmp_path: Path) -> None:
    old = new_endorser(configured, tmp_path)
    issued = issue_json(old)
    successor = tmp_path / "successor.pem"
    new_did = run_json("key", "new", "--out", str(successor))["key"]
    assert run_json("key", "show", str(successor))["key"] == new_did
    shown = run_json("key", "list")  # the default directory: nothing there yet
    assert shown["keys"] == []
    default = run_json("key", "new")
    listed = run_json("key", "list")["keys"]
    assert [(k["key"], k["encrypted"]) for k in listed] == [(default["key"], False)]

    rotated = run_json("key", "rotate", "--key", str(old), "--new", str(successor))
    assert rotated["key"] == new_did and rotated["email"].endswith("@example.com")
    assert run_json("verify", issued["url"])["verdict"] == "valid"  # what it issued stays
    refused = run_json(*issue_args(old), code=2)  # the retired key issues nothing more
    assert refused["error"]["problem"] == "issuer-key-retired"
    issue_json(successor)

    # Revoking a key cannot be undone: it needs --yes.
    assert "--yes" in run("key", "revoke", "--key", str(successor), code=2).stderr
    revocation = run_json(
        "key", "revoke", "--key", str(successor), "--reason", "laptop lost", "--yes"
    )
    assert (revocation["key"], revocation["reason"]) == (new_did, "laptop lost")
    assert revocation["revoked_from"] <= time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    assert run(*issue_args(successor), code=2).stderr.startswith(
        "endorse: error: this key was revoked or rotated: sign with your current key"
    )


def test_verify_file_of_mixed_tokens(configured: LiveServer, tmp_path: Path) -> None:
    key = new_endorser(configured, tmp_path)
    good, other = issue_json(key), issue_json(key)
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(
        f"# from the applications inbox\n{good['token']}\n\n{other['url']}\n"
        f"{tamper(good['token'])}\nnot a token\n  {good['url']}  \n"
    )
    human = run("verify", "--file", str(tokens), "--purpose", EMPLOYMENT, code=1)
    marks = [line.split(": ", 1)[1].split(" — ")[0] for line in human.stdout.splitlines()]
    numbers = [line.split(":")[0] for line in human.stdout.splitlines()]
    assert marks == ["✓ valid", "✓ valid", "✗ bad_signature", "✗ malformed", "✓ valid"]
    assert numbers == ["line 2", "line 4", "line 5", "line 6", "line 7"]
    assert "5 tokens: 3 valid, 2 not valid" in human.stderr
    assert "verifying" not in human.stderr  # no progress bar when stderr is no terminal

    doc = run_json("verify", "--file", str(tokens), "--subject", "Carol King", code=1)
    assert (doc["total"], doc["valid"]) == (5, 0)
    assert [r["line"] for r in doc["results"]] == [2, 4, 5, 6, 7]
    assert [r["verdict"] for r in doc["results"]] == [
        "subject_mismatch",
        "subject_mismatch",
        "bad_signature",
        "malformed",
        "subject_mismatch",
    ]

    only_valid = tmp_path / "valid.txt"
    only_valid.write_text(f"{good['token']}\n{other['token']}\n")
    assert run_json("verify", "--file", str(only_valid))["valid"] == 2
    from_stdin = run_json("verify", "--file", "-", input=only_valid.read_text())
    assert from_stdin["total"] == 2

    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    assert run_json("verify", "--file", str(empty), code=2)["error"]["kind"] == "usage"
    assert run("verify", "--file", str(tmp_path / "missing.txt"), code=2).stderr.count("\n") == 1
    run("verify", good["token"], "--file", str(only_valid), code=2)


def test_verify_file_on_several_workers_keeps_the_order(
    configured: LiveServer, tmp_path: Path
) -> None:
    key = new_endorser(configured, tmp_path)
    good = issue_json(key)
    lines = [tamper(good["token"]) if i % 3 == 0 else good["token"] for i in range(60)]
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(lines) + "\n")
    expected = ["bad_signature" if i % 3 == 0 else "valid" for i in range(60)]
    for workers in ("1", "2", "3"):
        doc = run_json("verify", "--file", str(tokens), "--workers", workers, code=1)
        assert [r["verdict"] for r in doc["results"]] == expected
        assert [r["line"] for r in doc["results"]] == list(range(1, 61))
    run("verify", "--file", str(tokens), "--workers", "0", code=2)
    run("verify", good["token"], "--workers", "2", code=2)


# --- failures of the registry: exit 3 ---------------------------------------------------------


def test_unreachable_and_impostor_registries_exit_3(
    configured: LiveServer, tmp_path: Path, endorse_home: Path
) -> None:
    key = new_endorser(configured, tmp_path)
    issued = issue_json(key)
    assert run_json("verify", issued["url"])["valid"]

    # A registry that presents another key than the pinned one is refused.
    impostor = SigningKey.generate().did
    refused = run_json("verify", issued["url"], "--registry-key", impostor, code=3)
    assert refused["error"]["kind"] == "pin_mismatch"
    assert impostor in refused["error"]["message"]
    pins = endorse_home / "known_registries.json"
    assert json.loads(pins.read_text()) == {configured.url: registry_key(configured)}
    pins.write_text(json.dumps({configured.url: impostor}))
    line = run("verify", issued["url"], code=3).stderr.strip()
    assert line.startswith("endorse: error: registry ") and "refusing to trust it" in line
    assert run("list", "--key", str(key), code=3).stdout == ""
    pins.unlink()

    # Nothing listening: unreachable (the CLI has no cache to fall back on).
    nowhere = f"http://127.0.0.1:{free_port()}"
    down = run_json("verify", issued["token"], "--registry", nowhere, code=3)
    assert down["error"]["kind"] == "registry_unreachable"
    assert down["error"]["exit_code"] == 3

    # The registry stopped: unreachable; started again (same port and database): valid.
    configured.stop()
    try:
        stopped = run("verify", issued["url"], code=3)
        assert stopped.stdout == ""
        assert stopped.stderr.startswith(f"endorse: error: {configured.url}: unreachable")
        run("register", "--key", str(key), "--email", "x@example.com", "--name", "X", code=3)
    finally:
        configured.start()
    assert run_json("verify", issued["url"])["valid"]


# --- where the registry comes from ----------------------------------------------------------


def test_registry_from_option_environment_or_config_file(
    registry: LiveServer, tmp_path: Path, endorse_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    issued = issue_json(new_endorser(registry, tmp_path))
    monkeypatch.delenv("ENDORSE_REGISTRY")
    nowhere = f"http://127.0.0.1:{free_port()}"

    # Nowhere configured, and a token that names no registry: a usage error naming the three
    # places (a token with a status entry names its own registry: spec §11.5).
    none = run_json("verify", "endorsement-v1.e30.c2ln", code=2)
    assert none["error"]["kind"] == "config_error"
    for place in ("--registry", "$ENDORSE_REGISTRY", str(endorse_home / "config.toml")):
        assert place in none["error"]["message"]

    # The config file ($ENDORSE_HOME/config.toml by default), with the registry's key pinned.
    config = endorse_home / "config.toml"
    (endorse_home / "known_registries.json").unlink()  # pinned on first contact above
    config.write_text(f'registry = "{registry.url}"\nregistry_key = "{registry_key(registry)}"\n')
    assert run_json("verify", issued["token"])["valid"]
    assert not (endorse_home / "known_registries.json").exists()  # pinned by the config
    # $ENDORSE_REGISTRY comes before the config file, --registry before both.
    monkeypatch.setenv("ENDORSE_REGISTRY", nowhere)
    assert run_json("verify", issued["token"], code=3)["error"]["kind"] == "registry_unreachable"
    assert run_json("verify", issued["token"], "--registry", registry.url)["valid"]
    monkeypatch.delenv("ENDORSE_REGISTRY")
    # The config's registry_key pins its registry: a wrong one is refused.
    config.write_text(
        f'registry = "{registry.url}"\nregistry_key = "{SigningKey.generate().did}"\n'
    )
    assert run_json("verify", issued["token"], code=3)["error"]["kind"] == "pin_mismatch"

    # $ENDORSE_CONFIG names another file; a file that is wrong is a usage error naming it.
    elsewhere = tmp_path / "endorse.toml"
    monkeypatch.setenv("ENDORSE_CONFIG", str(elsewhere))
    assert str(elsewhere) in run("verify", issued["token"], code=2).stderr  # missing
    elsewhere.write_text(f'registry = "{registry.url}"\n')
    assert run_json("verify", issued["token"])["valid"]
    for content, message in [
        ("registry = ", "not a TOML file"),
        (f'registry = "{registry.url}"\ncolour = "blue"\n', "unknown setting 'colour'"),
        ("registry = 42\n", "registry must be a string"),
        ('registry = "ftp://example.com"\n', "must be an https URL"),
        (f'registry_key = "{SigningKey.generate().did}"\n', "registry_key pins"),
        (f'registry = "{registry.url}"\nregistry_key = "did:key:zNope"\n', "registry_key"),
    ]:
        elsewhere.write_text(content)
        line = run("verify", issued["token"], code=2).stderr.strip()
        assert line.startswith(f"endorse: error: {elsewhere}") and message in line, line


def test_config_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ENDORSE_HOME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert client_config.config_path() == tmp_path / "xdg" / "endorse" / "config.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert client_config.config_path() == tmp_path / "h" / ".config" / "endorse" / "config.toml"
    monkeypatch.setenv("ENDORSE_CONFIG", str(tmp_path / "c.toml"))
    assert client_config.config_path() == tmp_path / "c.toml"


# --- the subject: url, qr, present ------------------------------------------------------------


def test_url_qr_and_present(
    configured: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_endorser(configured, tmp_path)
    bob = tmp_path / "bob.pem"
    bob_did = run_json("key", "new", "--out", str(bob))["key"]
    issued = issue_json(key, "--subject-key", bob_did)

    assert run("url", issued["token"]).stdout.strip() == issued["url"]
    assert run_json("url", issued["url"]) == {"url": issued["url"]}
    elsewhere = run("url", issued["token"], "--registry", "https://other.example", code=2)
    assert configured.url in elsewhere.stderr
    assert run_json("url", "garbage", code=2)["error"]["kind"] == "malformed_token"

    monkeypatch.setenv("COLUMNS", "200")  # a terminal wide enough for the code
    text = run("qr", issued["url"]).stdout
    assert "█" in text or "▀" in text or "▄" in text
    assert text.splitlines()[-1] == issued["url"]
    assert "\x1b" not in text
    assert run_json("qr", issued["token"])["qr"] == qr_text(issued["url"])
    png, svg = tmp_path / "bob.png", tmp_path / "bob.svg"
    assert run_json("qr", issued["token"], "--png", str(png)) == {
        "url": issued["url"],
        "format": "png",
        "file": str(png),
        "qr": None,
    }
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    run("qr", issued["token"], "--svg", str(svg))
    assert "<svg" in svg.read_text()
    run("qr", issued["token"], "--png", str(png), "--svg", str(svg), code=2)

    # Holder binding: Bob signs the recruiter's nonce; a replay over another nonce fails.
    nonce = "n0nce-from-the-recruiter"
    proof = run_json("present", issued["url"], "--key", str(bob), "--nonce", nonce)
    assert proof["nonce"] == nonce
    presented = ["--presentation", proof["presentation"], "--nonce", nonce]
    assert run_json("verify", issued["url"], *presented)["verdict"] == "valid"
    assert run_json("verify", issued["url"], *presented, "--online")["verdict"] == "valid"
    replay = ["--presentation", proof["presentation"], "--nonce", "another-nonce-value"]
    assert run_json("verify", issued["url"], *replay, code=1)["verdict"] == "subject_mismatch"
    # Carol cannot present Bob's token: her key is not the one it names.
    carol = tmp_path / "carol.pem"
    run("key", "new", "--out", str(carol))
    refused = run_json("present", issued["token"], "--key", str(carol), "--nonce", nonce, code=2)
    assert refused["error"]["kind"] == "invalid_key"
    run("verify", issued["url"], "--presentation", proof["presentation"], code=2)


# --- the installed console script -------------------------------------------------------------


def endorse_executable() -> str:
    candidate = Path(sys.executable).parent / "endorse"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("endorse")
    if found is None:
        pytest.fail("the endorse console script is not installed: install the package first")
    return found


def test_console_script_verifies_with_a_progress_bar_on_a_terminal(
    configured: LiveServer, tmp_path: Path, endorse_home: Path
) -> None:
    key = new_endorser(configured, tmp_path)
    issued = issue_json(key)
    env = {**os.environ, "ENDORSE_HOME": str(endorse_home), "PYTHONIOENCODING": "utf-8"}
    env["ENDORSE_REGISTRY"] = configured.url

    verified = subprocess.run(
        [endorse_executable(), "verify", issued["url"], "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["verdict"] == "valid"
    forged = subprocess.run(
        [endorse_executable(), "verify", tamper(issued["token"])],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert forged.returncode == 1
    assert forged.stdout.startswith("✗ bad_signature — ")

    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"{issued['token']}\n{issued['url']}\n")
    primary, secondary = pty.openpty()  # stderr on a terminal, stdout on a pipe
    try:
        process = subprocess.Popen(
            [endorse_executable(), "verify", "--file", str(tokens)],
            stdout=subprocess.PIPE,
            stderr=secondary,
            env=env,
        )
        os.close(secondary)
        stdout, _ = process.communicate(timeout=60)
        terminal = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(primary)
    assert process.returncode == 0, terminal
    assert stdout.decode().splitlines()[0].startswith("line 1: ✓ valid — ")
    assert "verifying" in terminal.decode(errors="replace")
    assert "2 tokens: 2 valid, 0 not valid" in terminal.decode(errors="replace")
