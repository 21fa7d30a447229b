"""The offline side of the ``endorse`` command: keys, ``issue --offline``, inspect,
``verify --issuer`` and their exit codes (the registry verbs: tests/client/test_cli_registry.py)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from endorse.client import _clock, cli, keystore
from endorse.client.cli import _output
from endorse.protocol import (
    KeyFileError,
    Relationship,
    SigningKey,
    StatusRef,
    Subject,
    canonical,
    issue,
)
from endorse.protocol.encoding import b64url_encode

runner = CliRunner()

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own ENDORSE_HOME (so its own config file), no passphrase and no
    registry in the environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("ENDORSE_HOME", str(home))
    for name in ("ENDORSE_PASSPHRASE", "ENDORSE_REGISTRY", "ENDORSE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return home


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(cli.app, list(args), input=input, env=env)


def new_key(path: Path) -> str:
    result = run("key", "new", "--out", str(path))
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def issue_token(key: Path, *extra: str, email: str | None = "bob@example.com") -> str:
    args = [
        "issue",
        "--offline",
        "--key",
        str(key),
        "--name",
        "Alice Smith",
        "--subject",
        "Bob Jones",
    ]
    if email is not None:
        args += ["--subject-email", email]
    args += ["--relationship", "manager", "--org", "Acme", "--period", "2019-01..2023-06"]
    args += ["--purpose", "employment-reference", *extra]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "no revocation status" in result.stderr
    return result.stdout.strip()


def verify_json(token: str, *args: str) -> tuple[int, dict[str, object]]:
    result = run("verify", token, *args, "--json")
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def key_file(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "alice.pem"
    return path, new_key(path)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- keys ----------------------------------------------------------------------------------


def test_key_new_default_location_is_0600_and_never_overwritten(isolated_home: Path) -> None:
    result = run("key", "new")
    assert result.exit_code == 0, result.output
    did = result.stdout.strip()
    assert did.startswith("did:key:z6Mk")
    path = isolated_home / "keys" / "default.pem"
    assert str(path) in result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    content = path.read_bytes()
    assert content.startswith(b"-----BEGIN PRIVATE KEY-----")

    again = run("key", "new")
    assert "already exists" in one_line_error(again)
    assert path.read_bytes() == content

    shown = run("key", "show")
    assert shown.exit_code == 0
    assert shown.stdout.strip() == did


def test_key_new_out_refuses_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    path.write_text("precious")
    result = run("key", "new", "--out", str(path))
    assert "already exists" in one_line_error(result)
    assert path.read_text() == "precious"


def test_write_key_does_not_follow_a_planted_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    link = tmp_path / "key.pem"
    link.symlink_to(target)
    with pytest.raises(KeyFileError, match="already exists"):
        keystore.write_key(SigningKey.generate(), link)
    assert not target.exists()


def test_write_key_refuses_an_empty_passphrase(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="empty passphrase") as info:
        keystore.write_key(SigningKey.generate(), tmp_path / "k.pem", b"")
    assert str(tmp_path / "k.pem") in str(info.value)  # every keystore error names the file
    assert not (tmp_path / "k.pem").exists()
    with pytest.raises(KeyFileError, match="must be bytes"):
        keystore.write_key(SigningKey.generate(), tmp_path / "k.pem", "text")  # type: ignore[arg-type]
    assert not (tmp_path / "k.pem").exists()


def test_read_key_file_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "key.pem"
    os.mkfifo(fifo)
    # Without O_NONBLOCK, open() of a FIFO waits for a writer forever: run it in a thread.
    outcome: list[BaseException | bytes] = []

    def read() -> None:
        try:
            outcome.append(keystore.read_key_file(fifo))
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(timeout=5)
    if thread.is_alive():  # unblock the reader so the test run can end
        with open(fifo, "wb"):
            pass
        thread.join(timeout=5)
        pytest.fail("read_key_file blocked on a FIFO")
    assert len(outcome) == 1 and isinstance(outcome[0], KeyFileError), outcome
    assert "not a regular file" in str(outcome[0])


def test_data_dir_honours_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ENDORSE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert keystore.default_key_path() == tmp_path / "xdg" / "endorse" / "keys" / "default.pem"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert keystore.data_dir() == tmp_path / "h" / ".local" / "share" / "endorse"


def test_encrypted_key_with_passphrase_from_env(tmp_path: Path) -> None:
    path = tmp_path / "enc.pem"
    env = {"ENDORSE_PASSPHRASE": PASSPHRASE}
    result = run("key", "new", "--out", str(path), "--passphrase", env=env)
    assert result.exit_code == 0, result.output
    did = result.stdout.strip()
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    shown = run("key", "show", str(path), env=env)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.strip() == did

    # An encrypted key is usable for issuing with the passphrase from the environment.
    token = run(
        "issue",
        "--offline",
        "--key",
        str(path),
        "--name",
        "Alice Smith",
        "--subject",
        "Bob Jones",
        "--subject-handle",
        "bobj",
        "--relationship",
        "manager",
        "--purpose",
        "employment-reference",
        env=env,
    )
    assert token.exit_code == 0, token.output
    code, doc = verify_json(token.stdout.strip(), "--issuer", did)
    assert (code, doc["verdict"]) == (0, "valid")

    wrong = run("key", "show", str(path), env={"ENDORSE_PASSPHRASE": "wrong"})
    assert "passphrase" in one_line_error(wrong)

    # No passphrase and nothing to read from stdin: a usage error, never a traceback.
    missing = run("key", "show", str(path), input="")
    assert missing.exit_code == 2
    assert "Traceback" not in missing.output


def test_encrypted_key_with_prompted_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "enc.pem"
    result = run("key", "new", "--out", str(path), "--passphrase", input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    did = result.stdout.strip()
    assert did.startswith("did:key:z")  # prompts go to stderr: stdout is only the did
    assert "Passphrase" in result.stderr
    assert "s3cret" not in result.output
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")

    mismatch = run("key", "new", "--out", str(tmp_path / "x.pem"), "--passphrase", input="a\nb\n")
    assert mismatch.exit_code == 2
    assert not (tmp_path / "x.pem").exists()

    shown = run("key", "show", str(path), input="s3cret\n")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.strip() == did
    assert keystore.load_key(path, b"s3cret").did == did


def test_unencrypted_key_ignores_passphrase_env(key_file: tuple[Path, str]) -> None:
    path, did = key_file
    shown = run("key", "show", str(path), env={"ENDORSE_PASSPHRASE": PASSPHRASE})
    assert shown.exit_code == 0
    assert shown.stdout.strip() == did


@pytest.mark.parametrize("problem", ["missing", "directory", "garbage", "empty"])
def test_unreadable_key_file_is_a_usage_error(tmp_path: Path, problem: str) -> None:
    path = tmp_path / "key.pem"
    if problem == "directory":
        path.mkdir()
    elif problem == "garbage":
        path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    elif problem == "empty":
        path.write_bytes(b"")
    for args in (
        ["key", "show", str(path)],
        [
            "issue",
            "--offline",
            "--key",
            str(path),
            "--name",
            "A",
            "--subject",
            "B",
            "--subject-email",
            "b@example.com",
            "--relationship",
            "manager",
            "--purpose",
            "employment-reference",
        ],
    ):
        line = one_line_error(run(*args))
        assert line.startswith("endorse: error: ")
        assert str(path) in line


def test_oversized_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.pem"
    path.write_bytes(b"x" * (keystore.MAX_KEY_FILE_BYTES + 1))
    assert "too large" in one_line_error(run("key", "show", str(path)))


# --- issue and verify ----------------------------------------------------------------------


def test_issue_then_verify_is_valid(key_file: tuple[Path, str]) -> None:
    path, did = key_file
    token = issue_token(path, "--contact", "--audience", "acme-hr")
    assert token.startswith("endorsement-v1.")

    human = run("verify", token, "--issuer", did, "--audience", "acme-hr")
    assert human.exit_code == 0, human.output
    lines = human.stdout.splitlines()
    assert lines[0].startswith("✓ valid — The endorser signed this reference")
    assert any("Bob Jones" in line and "bob@example.com" in line for line in lines)
    assert any(
        "manager" in line and "Acme" in line and "2019-01..2023-06" in line for line in lines
    )
    assert any("employment-reference" in line for line in lines)
    assert "revocation could not be checked" in human.stdout

    code, doc = verify_json(
        token,
        "--issuer",
        did,
        "--subject",
        "bob@example.com",
        "--purpose",
        "employment-reference",
        "--audience",
        "acme-hr",
    )
    assert code == 0
    assert doc["verdict"] == "valid"
    assert doc["valid"] is True
    assert doc["revocation_checked"] is False
    assert isinstance(doc["message"], str)
    assert doc["detail"] == "all checks passed"
    checks = doc["checks"]
    assert isinstance(checks, list)
    assert all(set(c) == {"name", "passed", "detail"} for c in checks)
    assert all(c["passed"] for c in checks)
    claims = doc["claims"]
    assert isinstance(claims, dict)
    assert claims["iss"] == did
    assert claims["sub"] == {"name": "Bob Jones", "email": "bob@example.com"}
    assert claims["rel"] == {
        "context": "work",
        "role": "manager",
        "org": "Acme",
        "from": "2019-01",
        "to": "2023-06",
    }
    assert claims["contact"] is True
    assert claims["aud"] == "acme-hr"


def test_verify_reads_token_from_stdin(key_file: tuple[Path, str]) -> None:
    path, did = key_file
    token = issue_token(path)
    result = run("verify", "-", "--issuer", did, input=f"\n  {token}  \n\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("✓ valid")


def test_oversized_stdin_is_malformed(key_file: tuple[Path, str]) -> None:
    _, did = key_file
    result = run("verify", "-", "--issuer", did, "--json", input="a" * 1_000_000)
    assert result.exit_code == 2  # bad input
    assert json.loads(result.stdout)["verdict"] == "malformed"


def test_tampered_signature_is_bad_signature(key_file: tuple[Path, str]) -> None:
    path, did = key_file
    token = issue_token(path)
    prefix, payload, signature = token.split(".")
    middle = len(signature) // 2
    flipped = "B" if signature[middle] == "A" else "A"
    forged = f"{prefix}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"
    code, doc = verify_json(forged, "--issuer", did)
    assert (code, doc["verdict"], doc["claims"]) == (1, "bad_signature", None)

    human = run("verify", forged, "--issuer", did)
    assert human.exit_code == 1
    assert human.stdout.startswith("✗ bad_signature — ")


def test_tampered_payload_fails(key_file: tuple[Path, str]) -> None:
    path, did = key_file
    token = issue_token(path)
    prefix, _, signature = token.split(".")
    claims = json.loads(run("inspect", token, "--json").stdout)["payload"]
    claims["sub"]["name"] = "Mallory"
    forged = f"{prefix}.{b64url_encode(canonical.encode(claims))}.{signature}"
    code, doc = verify_json(forged, "--issuer", did)
    # Still a canonical, well-formed endorsement: only the signature can tell.
    assert code == 1
    assert doc["verdict"] == "bad_signature"
    assert doc["claims"] is None


def test_wrong_issuer_is_unknown_issuer(key_file: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = key_file
    other = new_key(tmp_path / "other.pem")
    token = issue_token(path)
    code, doc = verify_json(token, "--issuer", other)
    assert (code, doc["verdict"]) == (1, "unknown_issuer")
    human = run("verify", token, "--issuer", other)
    assert human.exit_code == 1
    assert human.stdout.startswith("✗ unknown_issuer — ")
    assert "not by the --issuer key" in human.stdout


@pytest.mark.parametrize(
    ("args", "verdict"),
    [
        (["--subject", "Carol King"], "subject_mismatch"),
        (["--subject", "  BOB   jones "], "valid"),
        (["--subject", "bob@example.com"], "valid"),
        (["--purpose", "tenancy-reference"], "purpose_not_allowed"),
        (["--purpose", "x-custom-use"], "purpose_not_allowed"),
        (["--purpose", "employment-reference"], "valid"),
    ],
)
def test_scope_checks(key_file: tuple[Path, str], args: list[str], verdict: str) -> None:
    path, did = key_file
    token = issue_token(path)
    code, doc = verify_json(token, "--issuer", did, *args)
    assert doc["verdict"] == verdict
    assert code == (0 if verdict == "valid" else 1)


def test_audience_restricted_token(key_file: tuple[Path, str]) -> None:
    path, did = key_file
    token = issue_token(path, "--audience", "acme-hr")
    assert verify_json(token, "--issuer", did)[1]["verdict"] == "audience_mismatch"
    assert verify_json(token, "--issuer", did, "--audience", "other")[0] == 1
    assert verify_json(token, "--issuer", did, "--audience", "acme-hr")[0] == 0


def test_unknown_verifier_purpose_is_a_usage_error(key_file: tuple[Path, str]) -> None:
    path, did = key_file
    token = issue_token(path)
    assert "--purpose" in one_line_error(run("verify", token, "--issuer", did, "--purpose", "job"))


def test_expired_token(key_file: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    path, did = key_file
    # Issued in 2020 (the protocol refuses nbf before iat, so the clock is moved back),
    # valid from and until dates that are in the past now.
    monkeypatch.setattr(_clock, "now", lambda: int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()))
    token = issue_token(path, "--not-before", "2020-01-02", "--expires", "2020-06-30T12:00:00Z")
    monkeypatch.undo()
    code, doc = verify_json(token, "--issuer", did)
    assert (code, doc["verdict"]) == (1, "expired")
    claims = doc["claims"]
    assert isinstance(claims, dict)
    assert claims["nbf"] == int(datetime(2020, 1, 2, tzinfo=UTC).timestamp())
    assert claims["exp"] == int(datetime(2020, 6, 30, 12, tzinfo=UTC).timestamp())
    human = run("verify", token, "--issuer", did)
    assert human.exit_code == 1
    assert human.stdout.startswith("✗ expired — ")
    assert "2020-06-30T12:00:00Z" in human.stdout


def test_not_yet_valid_token(key_file: tuple[Path, str]) -> None:
    path, did = key_file
    year = datetime.now(UTC).year + 1
    token = issue_token(path, "--not-before", f"{year}-06-01T09:30:00+02:00")
    code, doc = verify_json(token, "--issuer", did)
    assert (code, doc["verdict"]) == (1, "not_yet_valid")


def test_backdated_not_before_is_a_usage_error(key_file: tuple[Path, str]) -> None:
    path, _ = key_file
    result = run(
        "issue",
        "--offline",
        "--key",
        str(path),
        "--name",
        "A",
        "--subject",
        "B",
        "--subject-email",
        "b@example.com",
        "--relationship",
        "manager",
        "--purpose",
        "employment-reference",
        "--not-before",
        "2020-01-01",
    )
    assert "--not-before" in one_line_error(result)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--expires", "next tuesday"], "--expires"),
        (["--expires", "2020-02-30"], "--expires"),
        (["--not-before", "soon"], "--not-before"),
        (["--period", "2019"], "--period"),
        (["--period", "2019-13..2020"], "rel.from"),
        (["--period", "2023..2019"], "ends before it starts"),
        (["--purpose", "spying"], "unknown purpose"),
        (["--subject-key", "did:key:nope"], "sub.key"),
        (["--statement", "trailing space "], "stmt"),
        (["--expires", "2000-01-01"], "exp"),
    ],
)
def test_bad_issue_input_is_a_usage_error(
    key_file: tuple[Path, str], extra: list[str], message: str
) -> None:
    path, _ = key_file
    result = run(
        "issue",
        "--offline",
        "--key",
        str(path),
        "--name",
        "A",
        "--subject",
        "B",
        "--subject-email",
        "b@example.com",
        "--relationship",
        "manager",
        "--purpose",
        "employment-reference",
        *extra,
    )
    assert message in one_line_error(result)


def test_issue_needs_an_email_or_handle(key_file: tuple[Path, str]) -> None:
    path, _ = key_file
    result = run(
        "issue",
        "--offline",
        "--key",
        str(path),
        "--name",
        "Alice Smith",
        "--subject",
        "Bob Jones",
        "--relationship",
        "manager",
        "--purpose",
        "employment-reference",
    )
    assert "needs an email or a handle" in one_line_error(result)


def test_issue_missing_required_option_is_a_usage_error(key_file: tuple[Path, str]) -> None:
    path, _ = key_file
    result = run("issue", "--offline", "--key", str(path), "--name", "A", "--subject", "B")
    assert result.exit_code == 2
    assert "Missing option" in result.stderr


def test_token_with_status_entry_is_status_unavailable_offline(
    key_file: tuple[Path, str],
) -> None:
    path, did = key_file
    key = keystore.load_key(path)
    token = issue(
        key,
        "Alice Smith",
        Subject("Bob Jones", email="bob@example.com"),
        Relationship("work", "manager"),
        ["employment-reference"],
        now=int(time.time()),
        status=StatusRef("https://registry.example", "list-1", 42),
    )
    code, doc = verify_json(token, "--issuer", did)
    assert (code, doc["verdict"], doc["outcome"]) == (
        1,
        "status_unavailable",
        "signature_and_scope_valid",
    )
    # Its own outcome, never "valid": revocation was not checked (README, verify --issuer).
    human = run("verify", token, "--issuer", did)
    assert human.stdout.startswith("~ signature_and_scope_valid — ")
    assert "revocation NOT checked" in human.stdout.splitlines()[0]
    assert "https://registry.example" in human.stdout


@pytest.mark.parametrize("garbage", ["garbage", "", "a.b.c", "endorsement-v1.e30." + "A" * 86])
def test_garbage_token_is_malformed(key_file: tuple[Path, str], garbage: str) -> None:
    _, did = key_file
    code, doc = verify_json(garbage, "--issuer", did)
    assert (code, doc["verdict"], doc["claims"]) == (2, "malformed", None)  # bad input
    assert doc["detail"]
    human = run("verify", garbage, "--issuer", did)
    assert human.exit_code == 2
    assert human.stdout.startswith("✗ malformed — ")


def test_verify_usage_errors(key_file: tuple[Path, str]) -> None:
    path, _ = key_file
    token = issue_token(path)
    # Without --issuer the registry verifies; none is configured: each place is named.
    missing = run("verify", token)
    for place in ("--registry", "ENDORSE_REGISTRY", "config.toml"):
        assert place in one_line_error(missing)
    assert "--issuer" in one_line_error(run("verify", token, "--issuer", "did:key:zNotAKey"))
    assert run("verify").exit_code == 2


# --- inspect -------------------------------------------------------------------------------


def test_inspect_is_marked_unverified(key_file: tuple[Path, str]) -> None:
    path, did = key_file
    token = issue_token(path)
    human = run("inspect", token)
    assert human.exit_code == 0
    assert "UNVERIFIED — signature not checked" in human.stderr
    assert json.loads(human.stdout)["iss"] == did

    doc = json.loads(run("inspect", token, "--json").stdout)
    assert doc["verified"] is False
    assert doc["type"] == "endorsement"
    assert doc["payload"]["sub"]["name"] == "Bob Jones"

    bad = run("inspect", "garbage", "--json")
    assert bad.exit_code == 2
    assert json.loads(bad.stdout)["verdict"] == "malformed"


def test_statement_with_markup_round_trips_as_text(key_file: tuple[Path, str]) -> None:
    path, did = key_file
    statement = 'Bob is great <script>alert("x")</script> & reliable.\nWould hire again.'
    token = issue_token(path, "--statement", statement)
    inspected = json.loads(run("inspect", token, "--json").stdout)
    assert inspected["payload"]["stmt"] == statement
    code, doc = verify_json(token, "--issuer", did)
    assert code == 0
    claims = doc["claims"]
    assert isinstance(claims, dict)
    assert claims["stmt"] == statement
    human = run("verify", token, "--issuer", did)
    assert '<script>alert("x")</script>' in human.stdout
    assert "Would hire again." in human.stdout


def test_unicode_names_are_normalized_to_nfc(key_file: tuple[Path, str]) -> None:
    path, did = key_file
    decomposed = "Jose\u0301 Nun\u0303ez"
    result = run(
        "issue",
        "--offline",
        "--key",
        str(path),
        "--name",
        decomposed,
        "--subject",
        "Bob Jones",
        "--subject-email",
        "bob@example.com",
        "--relationship",
        "manager",
        "--purpose",
        "employment-reference",
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    claims = verify_json(token, "--issuer", did)[1]["claims"]
    assert isinstance(claims, dict)
    assert claims["iss_name"] == "José Nuñez"


def test_terminal_escapes_are_neutralized() -> None:
    assert _output.safe("a\x1b[31mb\u202ec\x9bd\ne") == "a\\u001b[31mb\\u202ec\\u009bd\ne"


# --- the installed entry point -------------------------------------------------------------


def endorse_executable() -> str:
    candidate = Path(sys.executable).parent / "endorse"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("endorse")
    if found is None:
        pytest.fail("the endorse console script is not installed: install the package first")
    return found


def test_console_script_end_to_end(tmp_path: Path) -> None:
    exe = endorse_executable()
    env = {**os.environ, "ENDORSE_HOME": str(tmp_path / "home"), "PYTHONIOENCODING": "utf-8"}
    for name in ("ENDORSE_PASSPHRASE", "ENDORSE_REGISTRY", "ENDORSE_CONFIG"):
        env.pop(name, None)

    def sh(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [exe, *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
            encoding="utf-8",
        )

    created = sh("key", "new")
    assert created.returncode == 0, created.stderr
    did = created.stdout.strip()
    key_path = tmp_path / "home" / "keys" / "default.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600

    issued = sh(
        "issue",
        "--offline",
        "--name",
        "Alice Smith",
        "--subject",
        "Bob Jones",
        "--subject-email",
        "bob@example.com",
        "--relationship",
        "manager",
        "--purpose",
        "employment-reference",
    )
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()

    verified = sh("verify", "-", "--issuer", did, "--json", input=token + "\n")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["verdict"] == "valid"

    malformed = sh("verify", "nonsense", "--issuer", did)
    assert malformed.returncode == 2
    assert malformed.stdout.startswith("✗ malformed")

    usage = sh("verify", token)
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr

    unreadable = sh("key", "show", str(tmp_path / "missing.pem"))
    assert unreadable.returncode == 2
    assert unreadable.stderr.startswith("endorse: error: ")
    assert "Traceback" not in unreadable.stderr


# --- the entry point: click's own errors, Ctrl-C, broken pipes ------------------------------


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the console script's entry point in-process: its status, stdout and stderr."""
    with pytest.raises(SystemExit) as exited:
        cli.main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    assert isinstance(code, int), code
    return code, out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--json", "--bogus"], "No such option: --bogus"),
        (["issue", "--json", "--name", "Alice"], "Missing option '--subject'"),
        (["demo", "--json", "--port", "0"], "Invalid value for '--port'"),
        (["key", "new", "--json", "--out"], "Option '--out' requires an argument"),
    ],
    ids=["unknown_option", "missing_option", "out_of_range", "missing_value"],
)
def test_click_usage_errors_print_the_json_error_document(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run_main(capsys, *args)
    assert code == 2
    doc = json.loads(out)  # exactly one document
    assert doc["error"]["kind"] == "usage"
    assert doc["error"]["exit_code"] == 2
    assert message in doc["error"]["message"]
    assert f"Error: {message}" in err
    assert "Traceback" not in err


def test_click_usage_errors_without_json_print_only_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_main(capsys, "verify", "--bogus")
    assert (code, out) == (2, "")
    assert "Try 'endorse verify --help' for help." in err
    # After "--", "--json" is an argument (here: a reason), not the option.
    code, out, err = run_main(capsys, "revoke", "--bogus", "--", "--json")
    assert (code, out) == (2, "")


def test_help_still_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "--help")
    assert code == 0 and out.startswith("Usage: endorse [OPTIONS] COMMAND")
    code, out, _ = run_main(capsys, "verify", "--help")
    assert code == 0 and out.startswith("Usage: endorse verify [OPTIONS] [TOKEN_OR_URL]")
    code, out, err = run_main(capsys)  # no command: the help, as a usage error
    assert code == 2 and "Commands:" in out + err


def test_the_entry_point_keeps_each_commands_status(
    capsys: pytest.CaptureFixture[str], key_file: tuple[Path, str]
) -> None:
    path, did = key_file
    token = issue_token(path)
    capsys.readouterr()
    code, out, _ = run_main(capsys, "verify", token, "--issuer", did, "--json")
    assert (code, json.loads(out)["verdict"]) == (0, "valid")
    code, out, _ = run_main(capsys, "verify", token, "--issuer", did, "--purpose", "x-other")
    assert code == 1 and out.startswith("✗ purpose_not_allowed")


def test_ctrl_c_exits_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from endorse.client.cli import verifying

    def interrupted(token: str) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(verifying, "read_token", interrupted)
    code, out, err = run_main(capsys, "verify", "x", "--issuer", SigningKey.generate().did)
    assert (code, out) == (130, "")
    assert "Traceback" not in err


def test_a_pipe_broken_where_the_status_is_unknown_exits_141(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from endorse.client.cli import verifying

    def broken(token: str) -> str:
        raise BrokenPipeError

    monkeypatch.setattr(verifying, "read_token", broken)
    code, _, err = run_main(capsys, "verify", "x", "--issuer", SigningKey.generate().did)
    assert code == 141
    assert "Traceback" not in err


@pytest.mark.parametrize("tampered", [False, True], ids=["valid", "bad_signature"])
def test_stdout_closed_early_keeps_the_verdicts_status(
    tmp_path: Path, key_file: tuple[Path, str], tampered: bool
) -> None:
    path, did = key_file
    token = issue_token(path)
    if tampered:
        # A character of R changed: still canonical base64url (the last characters of a
        # signature carry zero bits, so changing those could make it malformed instead).
        at = len(token) - 86 + 5
        token = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]
    env = {**os.environ, "ENDORSE_HOME": str(tmp_path / "home")}
    for _ in range(3):  # the reader is gone before the first line, every time
        process = subprocess.Popen(
            [endorse_executable(), "verify", token, "--issuer", did],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # like `| head -c0`: nobody reads what the verdict prints
        errors = process.stderr.read().decode()
        process.stderr.close()
        assert process.wait(timeout=60) == (1 if tampered else 0), errors
        assert errors == ""  # no "Exception ignored … BrokenPipeError"


# --- endorse qr: the terminal's width, image files ------------------------------------------


def test_terminal_qr_fits_or_says_how_to_get_an_image() -> None:
    url = "http://127.0.0.1:45678/v#endorsement-v1." + "a" * 850  # a demo link's length
    lines = _output.terminal_qr(url, columns=200)
    width = max(len(line) for line in lines)
    assert width == 109  # version 21 at level L (101 modules) and the 4-module quiet zone
    assert len(lines) == 55  # two modules per character row
    assert set("".join(lines)) <= set("█▀▄ ")
    assert _output.terminal_qr(url, columns=109) == lines
    (note,) = _output.terminal_qr(url, columns=108)
    assert "109 columns wide and this terminal 108" in note
    assert "endorse qr --png FILE" in note
    short = _output.terminal_qr("http://127.0.0.1:1/v#x", columns=80)
    assert len(short) > 1 and max(map(len, short)) <= 80


def test_qr_in_a_narrow_terminal_prints_one_line_instead(key_file: tuple[Path, str]) -> None:
    path, _ = key_file
    token = issue_token(path)
    args = ("qr", token, "--registry", "http://127.0.0.1:9")
    narrow = run(*args, env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    note, link = narrow.stdout.splitlines()
    assert "endorse qr --png FILE" in note and "this terminal 80" in note
    assert link.startswith("http://127.0.0.1:9/v#endorsement-v1.")
    wide = run(*args, env={"COLUMNS": "300"})
    assert wide.exit_code == 0, wide.output
    *code, link = wide.stdout.splitlines()
    assert len(code) > 20 and "▀" in wide.stdout
    assert max(map(len, code)) <= 300


def test_qr_image_never_overwrites_nor_follows_a_symlink(
    key_file: tuple[Path, str], tmp_path: Path
) -> None:
    path, _ = key_file
    token = issue_token(path)
    registry = ("--registry", "http://127.0.0.1:9")

    made = run("qr", token, *registry, "--png", str(tmp_path / "new.png"))
    assert made.exit_code == 0, made.output
    assert (tmp_path / "new.png").read_bytes().startswith(b"\x89PNG")
    assert stat.S_IMODE((tmp_path / "new.png").stat().st_mode) == 0o644 & ~current_umask()

    existing = tmp_path / "existing.svg"
    existing.write_text("precious")
    refused = run("qr", token, *registry, "--svg", str(existing))
    assert "already exists; pass --force" in one_line_error(refused)
    assert existing.read_text() == "precious"
    forced = run("qr", token, *registry, "--svg", str(existing), "--force")
    assert forced.exit_code == 0, forced.output
    assert existing.read_text().startswith("<svg")

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "planted.png"
    link.symlink_to(victim)
    for extra in ([], ["--force"]):
        result = run("qr", token, *registry, "--png", str(link), *extra)
        one_line_error(result)
        assert victim.read_text() == "precious", extra
    dangling = tmp_path / "dangling.png"
    dangling.symlink_to(tmp_path / "nowhere.png")
    for extra in ([], ["--force"]):
        one_line_error(run("qr", token, *registry, "--png", str(dangling), *extra))
        assert not (tmp_path / "nowhere.png").exists()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- registry verbs refusing before any network or key ---------------------------------------


def test_revoke_refuses_a_malformed_id_plainly(key_file: tuple[Path, str]) -> None:
    path, _ = key_file
    result = run("revoke", "--key", str(path), "--registry", "http://127.0.0.1:9", "--", "-bad")
    line = one_line_error(result)
    assert "'-bad' is not an endorsement id or token" in line
    assert "Expected" not in line and "regex" not in line


def test_key_revoke_without_yes_refuses_before_asking_for_a_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "enc.pem"
    made = run("key", "new", "--out", str(path), "--passphrase", input="s3cret\ns3cret\n")
    assert made.exit_code == 0, made.output
    result = run("key", "revoke", "--key", str(path), "--registry", "http://127.0.0.1:9", input="")
    line = one_line_error(result)
    assert "pass --yes to confirm" in line
    assert "Passphrase" not in result.output


def test_timeout_bounds_the_wait_for_a_silent_registry(key_file: tuple[Path, str]) -> None:
    path, _ = key_file
    token = issue_token(path)
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        result = run("verify", token, "--registry", url, "--timeout", "0.5", "--json")
        elapsed = time.monotonic() - started
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["error"]["kind"] == "registry_unreachable"
    assert elapsed < 5, elapsed
    too_small = run("verify", token, "--registry", url, "--timeout", "0")
    assert too_small.exit_code == 2
