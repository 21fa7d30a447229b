"""Messages and exit codes a person meets, through the installed ``endorse`` command against a
real registry: ``verify --file`` interrupted by Ctrl-C keeps every line it wrote, registry
refusals say what happened and what to do with the right exit code, codes are accepted with
spaces or dashes, times are ISO 8601 UTC."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sdk_helpers import CONFIRM_SUBJECT, LiveServer, code_from_outbox, live_registry
from test_cli_paste import endorse
from test_cli_registry import endorse_executable, issue_args, issue_json, new_endorser, tamper


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_registry("sqlite", tmp_path_factory.mktemp("sqlite")) as server:
        yield server


@pytest.fixture
def issued(registry: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    reference = issue_json(new_endorser(registry, tmp_path))
    monkeypatch.delenv("ENDORSE_REGISTRY")
    return reference


ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")

LINES = 20_000
"""Tokens in the file that is interrupted: far more than are verified between the first
result line and the signal, so the signal always arrives mid-run."""


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_ctrl_c_during_verify_file_keeps_every_line_written(
    as_json: bool,
    registry: LiveServer,
    issued: dict[str, Any],
    endorse_home: Path,
    tmp_path: Path,
) -> None:
    tokens = tmp_path / "tokens.txt"
    forged = tamper(issued["token"])
    tokens.write_text(
        "".join(f"{forged if n % 7 == 0 else issued['token']}\n" for n in range(LINES))
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENDORSE_")}
    env |= {"ENDORSE_HOME": str(endorse_home), "ENDORSE_REGISTRY": registry.url}
    env["PYTHONIOENCODING"] = "utf-8"
    args = [endorse_executable(), "verify", "--file", str(tokens)] + (["--json"] if as_json else [])
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        try:
            # The first result is written as soon as its batch is verified, long before the
            # end; then Ctrl-C.
            first = process.stdout.readline()
            if as_json:  # the document's head, then the first result's first line
                first += process.stdout.readline() + process.stdout.readline()
            process.send_signal(signal.SIGINT)
            # Read on through the same buffered reader (communicate() would bypass it).
            rest = process.stdout.read()
            err = process.stderr.read()
            process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
    out = first + rest
    assert process.returncode == 130, err
    if as_json:
        doc = json.loads(out)  # still exactly one document, closed
        assert doc["interrupted"] is True
        done = doc["total"]
        assert 0 < done < LINES
        assert [r["line"] for r in doc["results"]] == list(range(1, done + 1))
        assert doc["valid"] == sum(r["valid"] for r in doc["results"])
    else:
        lines = out.splitlines()
        done = len(lines)
        assert 0 < done < LINES
        for n, line in enumerate(lines, start=1):
            verdict = "✗ bad_signature" if (n - 1) % 7 == 0 else "✓ valid"
            assert line.startswith(f"line {n}: {verdict} — "), line
    assert f"interrupted after {done} of {LINES} tokens" in err
    assert "Traceback" not in err


def test_every_problem_type_of_the_registry_has_advice_and_its_exit_code() -> None:
    """Every problem type the registry can answer maps to what happened and what to do;
    a person's mistake exits 2, the registry's trouble 3."""
    import endorse.server.endorsements
    import endorse.server.routes.pages
    import endorse.server.routes.verify  # noqa: F401 - the modules that define problems
    from endorse.client.cli._problems import ADVICE, PERSON, REGISTRY
    from endorse.server.problems import Problem

    def subclasses(cls: type[Problem]) -> set[type[Problem]]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(c) for c in found))

    slugs = {c.slug for c in subclasses(Problem)} | {Problem.slug}
    page_only = {"qr-too-long", "not-valid", "bad-request"}  # the check page's, or generic
    assert slugs - page_only <= set(ADVICE), sorted(slugs - page_only - set(ADVICE))
    assert ADVICE["invalid-code"][0] == ADVICE["issuer-not-bound"][0] == PERSON
    assert ADVICE["rate-limited"][0] == ADVICE["unavailable"][0] == REGISTRY
    assert all(code in (PERSON, REGISTRY) and advice for code, advice in ADVICE.values())


def test_an_unregistered_key_is_told_to_register(
    registry: LiveServer, endorse_home: Path, tmp_path: Path
) -> None:
    key = tmp_path / "new.pem"
    assert endorse("key", "new", "--out", str(key), home=endorse_home).returncode == 0
    args = issue_args(key)
    run = endorse(*args, home=endorse_home, registry=registry.url)
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith(
        "endorse: error: this key is not registered with the registry yet: run endorse"
        " register --email EMAIL --name NAME, then endorse confirm"
    )
    assert "issuer-not-bound" in run.stderr


def test_codes_with_dashes_and_iso_times(
    registry: LiveServer, endorse_home: Path, tmp_path: Path
) -> None:
    key = tmp_path / "alice.pem"
    assert endorse("key", "new", "--out", str(key), home=endorse_home).returncode == 0
    email = f"{secrets.token_hex(4)}@example.com"
    registered = endorse(
        "register",
        "--key",
        str(key),
        "--email",
        email,
        "--name",
        "Alice Smith",
        "--json",
        home=endorse_home,
        registry=registry.url,
    )
    pending = json.loads(registered.stdout)
    assert ISO.fullmatch(pending["expires_at"]), pending
    code = code_from_outbox(registry, email, CONFIRM_SUBJECT)
    confirmed = endorse(
        "confirm",
        f"{code[:4]}-{code[4:]}",
        "--pending",
        pending["pending"],
        "--key",
        str(key),
        "--json",
        home=endorse_home,
        registry=registry.url,
    )
    assert confirmed.returncode == 0, confirmed.stderr
    assert ISO.fullmatch(json.loads(confirmed.stdout)["since"])

    issued = json.loads(
        endorse(*issue_args(key), "--json", home=endorse_home, registry=registry.url).stdout
    )
    assert ISO.fullmatch(issued["registered_at"])
    doc = json.loads(
        endorse("verify", issued["url"], "--json", home=endorse_home, registry=registry.url).stdout
    )
    assert ISO.fullmatch(doc["checked_at"]) and ISO.fullmatch(doc["issuer"]["since"])


def test_times_in_a_checks_detail_are_iso() -> None:
    from endorse.client.cli.verifying import readable

    assert readable("revoked (list of 1796308230)") == "revoked (list of 2026-12-03T14:30:30Z)"
    assert readable("expired at 1700000000") == "expired at 2023-11-14T22:13:20Z"
    assert readable("not before 0") == "not before 1970-01-01T00:00:00Z"
    assert readable("issuer key not revoked") == "issuer key not revoked"


def test_registering_a_registered_key_again_says_so_and_asks_for_no_code(
    registry: LiveServer, endorse_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    registered = new_endorser(registry, tmp_path)
    monkeypatch.delenv("ENDORSE_REGISTRY")
    bound = endorse("key", "show", str(registered), home=endorse_home).stdout.strip()
    outbox = registry.data_dir / "outbox"
    mails = len(list(outbox.glob("*.eml")))

    def register(*extra: str) -> subprocess.CompletedProcess[str]:
        args = ["register", "--key", str(registered), "--email", "alice@example.org"]
        return endorse(
            *args, "--name", "Alice Smith", *extra, home=endorse_home, registry=registry.url
        )

    text = register()
    assert text.returncode == 0, text.stderr
    first, second, third = text.stdout.splitlines()
    assert re.fullmatch(
        r"✓ this key is already registered as Alice Smith <[0-9a-f]{8}@example\.com>"
        r" — nothing to confirm",
        first,
    ), first
    assert second.startswith(f"  registry      {registry.url} (since ")
    assert "not alice@example.org: a key is bound to one address" in third
    assert "e-mailed" not in text.stdout and "confirm --pending" not in text.stdout

    doc = json.loads(register("--json").stdout)
    assert doc["already_registered"] is True
    assert (doc["key"], doc["name"], doc["registry"]) == (bound, "Alice Smith", registry.url)
    assert ISO.fullmatch(doc["since"])
    assert len(list(outbox.glob("*.eml"))) == mails  # nothing was sent

    revoked = endorse(
        "key", "revoke", "--key", str(registered), "--yes", home=endorse_home, registry=registry.url
    )
    assert revoked.returncode == 0, revoked.stderr
    after = register()
    assert after.returncode == 2, after.stdout
    assert after.stderr.startswith("endorse: error: this key was registered as Alice Smith <"), (
        after.stderr
    )
    assert "a revoked key cannot be registered again; make a new key" in after.stderr
    failed = json.loads(register("--json").stdout)["error"]
    assert (failed["kind"], failed["exit_code"]) == ("key_revoked", 2)
    assert failed["key_revocation"]["key"] == bound
