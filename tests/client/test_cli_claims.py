"""The claimed-reference verbs of the ``endorse`` CLI against a real registry process (SQLite,
PostgreSQL): ``ask``, ``ask-confirm``, ``request``, ``requests``, ``answer``, ``policy``,
``refuse``, ``block``, ``mute``/``unmute``, ``checks``, and ``verify`` of a refusal token.
The requester's whole flow runs through the installed console script in subprocesses; the
rest in-process. Every ``--json`` output is parsed whole (exactly one JSON document), and
every exit status is checked: 0 success, 1 a refusal or a policy (verified, not valid), 2
usage, 3 the registry refused."""

from __future__ import annotations

import json
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from sdk_helpers import CONFIRM_SUBJECT, LiveServer, code_from_outbox, live_registry
from typer.testing import CliRunner

from endorse.client import cli
from endorse.protocol import SigningKey, Subject, sign_refusal

ASK_SUBJECT = "Your endorse request code"
EMPLOYMENT = "employment-reference"
LIMITS = {
    "ENDORSE_LIMIT_ASK_PER_CLIENT": "100000",
    "ENDORSE_LIMIT_ASK_PER_REQUESTER": "100000",
    "ENDORSE_LIMIT_ASK_PER_REFEREE": "100000",
}
runner = CliRunner()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with live_registry(request.param, tmp_path_factory.mktemp(request.param), **LIMITS) as s:
        yield s


@pytest.fixture(autouse=True)
def configured(registry: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    for name in ("ENDORSE_CONFIG", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    return registry


def with_json(args: tuple[str, ...]) -> list[str]:
    """``args`` with --json among the options: before ``--`` (after it, an id that starts
    with - is an argument, and so would --json be)."""
    if "--" not in args:
        return [*args, "--json"]
    end = args.index("--")
    return [*args[:end], "--json", *args[end:]]


def run(*args: str, code: int = 0) -> Any:
    """In-process, with --json: one JSON document on stdout, the exit status checked."""
    result = runner.invoke(cli.app, with_json(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def script(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    """Through the installed console script, as a user runs it."""
    endorse = shutil.which("endorse", path=str(Path(sys.executable).parent))
    assert endorse is not None
    done = subprocess.run(
        [endorse, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done


def endorser(server: LiveServer, directory: Path, name: str = "Alice Smith") -> tuple[Path, str]:
    path = directory / f"{secrets.token_hex(4)}.pem"
    run("key", "new", "--out", str(path))
    email = f"alice-{secrets.token_hex(4)}@example.com"
    pending = run("register", "--key", str(path), "--email", email, "--name", name)
    code = code_from_outbox(server, email, CONFIRM_SUBJECT)
    run("confirm", code, "--pending", pending["pending"], "--key", str(path))
    return path, email


def ask_args(referee: str, subject_email: str, *extra: str) -> list[str]:
    return [
        "ask",
        "--referee",
        referee,
        "--subject",
        "Dan Brown",
        "--subject-email",
        subject_email,
        "--relationship",
        "manager",
        "--org",
        "Acme",
        "--period",
        "2020..2022",
        "--purpose",
        EMPLOYMENT,
        *extra,
    ]


def test_ask_refuse_and_read_the_refusal_through_the_console_script(
    registry: LiveServer, tmp_path: Path, endorse_home: Path
) -> None:
    alice, alice_email = endorser(registry, tmp_path)
    recruiter = f"recruiter-{secrets.token_hex(4)}@example.com"
    dan = f"dan-{secrets.token_hex(4)}@example.com"
    # No key of their own: the CLI makes a requester key and keeps it like an endorser key.
    asked = json.loads(script(*ask_args(alice_email, dan, "--email", recruiter, "--json")).stdout)
    key_file = endorse_home / "keys" / "requester.pem"
    assert key_file.is_file() and key_file.stat().st_mode & 0o777 == 0o600
    code = code_from_outbox(registry, recruiter, ASK_SUBJECT)
    done = script("ask-confirm", f"--pending={asked['pending']}", "--json", "--", code)
    status = json.loads(done.stdout)
    assert status["state"] == "open" and status["answer"] is None
    assert status["request"]["referee"] == alice_email
    assert status["request"]["by"] == {"email": recruiter, "method": "email-code"}
    request_id = status["id"]

    inbox = run("requests", "--key", str(alice))
    (item,) = [i for i in inbox["requests"] if i["id"] == request_id]
    assert item["state"] == "open" and item["blocked"] is False
    assert item["request"]["sub"] == {"name": "Dan Brown", "email": dan}
    text = runner.invoke(cli.app, ["requests", "--key", str(alice)]).stdout
    assert f"endorse answer (--endorse | --refuse [--reason R]) -- {request_id}" in text
    assert f"asked by      {recruiter}, verified by an e-mailed code" in text

    answered = run(
        "answer", "--refuse", "--reason", "no_reference", "--key", str(alice), "--", request_id
    )
    assert answered["state"] == "answered"
    assert answered["answer"]["kind"] == "refusal"

    # The requester reads it: verified, and exit 1 (a refusal is never a valid reference).
    seen = json.loads(script("request", "--json", "--", request_id, code=1).stdout)
    answer = seen["answer"]
    assert (answer["kind"], answer["verdict"], answer["valid"]) == ("refusal", "refused", False)
    sentence = "Alice Smith states that they do not give a reference for Dan Brown"
    assert answer["message"].startswith(sentence)
    assert answer["claims"]["reason"] == "no_reference" and answer["claims"]["req"] == request_id
    shown = script("request", "--", request_id, code=1).stdout
    assert f"answer        refusal: ✗ refused — {sentence}" in shown
    # The requester's page, as the answer's mail links it: the request and the answer.
    page = f"{registry.url}/r#{seen['request_token']}~{answer['token']}"
    assert f"  page          {page}\n" in shown
    assert page in mail_to(registry, recruiter, "Your reference request has an answer")

    # endorse verify of the refusal token: ✗ with the sentence, exit 1, never "forged".
    verified = script("verify", answer["token"], code=1).stdout
    assert verified.startswith(f"✗ refused — {sentence}")
    assert "bad_signature" not in verified and "forged" not in verified
    doc = json.loads(script("verify", answer["token"], "--json", code=1).stdout)
    assert doc["verdict"] == "refused" and doc["claims"]["type"] == "refusal"
    assert doc["issuer"]["identity"] == alice_email
    tampered = answer["token"][:-3] + ("AAA" if answer["token"][-3:] != "AAA" else "BBB")
    assert json.loads(script("verify", tampered, "--json", code=1).stdout)["verdict"] in (
        "bad_signature",
        "malformed",
    )


def test_ask_then_endorse_with_the_answer_prefilled(registry: LiveServer, tmp_path: Path) -> None:
    alice, alice_email = endorser(registry, tmp_path)
    asker, _ = endorser(registry, tmp_path, "Rita Recruiter")  # a registered key: no code
    dan = f"dan-{secrets.token_hex(4)}@example.com"
    status = run(*ask_args(alice_email, dan, "--key", str(asker), "--audience", "acme-hr"))
    assert status["request"]["by"]["method"] == "key-binding"
    rid = status["id"]
    answered = run("answer", "--endorse", "--statement", "Fine.", "--key", str(alice), "--", rid)
    assert answered["answer"]["kind"] == "endorsement"
    token = answered["endorsement"]["token"]
    seen = run("request", "--key", str(asker), "--", rid)
    assert seen["answer"]["verdict"] == "valid" and seen["answer"]["token"] == token
    claims = seen["answer"]["claims"]
    assert claims["sub"] == {"name": "Dan Brown", "email": dan}
    assert claims["rel"] == {
        "context": "work",
        "role": "manager",
        "org": "Acme",
        "from": "2020",
        "to": "2022",
    }
    assert claims["aud"] == "acme-hr" and claims["purposes"] == [EMPLOYMENT]


def test_policy_and_standing_refusals(registry: LiveServer, tmp_path: Path) -> None:
    alice, alice_email = endorser(registry, tmp_path)
    asker, _ = endorser(registry, tmp_path, "Rita Recruiter")
    candidate, candidate_email = endorser(registry, tmp_path, "Dan Brown")
    assert run("policy", "--show", "--key", str(alice)) == {"policy": None}
    made = run("policy", "--set", "--no-notify", "--key", str(alice))["policy"]
    assert made["refs"] == "signed-tokens-only" and made["notify"] is False
    assert run("policy", "--show", "--key", str(alice))["policy"] == made

    # A request naming her is answered at once with the policy: exit 1 (not a reference).
    status = run(*ask_args(alice_email, "erin@example.com", "--key", str(asker)), code=1)
    assert status["state"] == "answered" and status["answer"]["kind"] == "policy"
    message = status["answer"]["message"]
    assert "come only as signed endorse tokens: ask the candidate for one" in message
    # She asked not to be told, and is not: the requester must not read that she was.
    assert "the referee asked not to be told of requests" in message
    assert "has been told" not in message and "asked to be told" not in message
    assert not [
        p
        for p in (registry.data_dir / "outbox").glob("*.eml")
        if f"To: {alice_email}" in p.read_text() and "in your name" in p.read_text()
    ]
    # A candidate asking for themself is not told to "ask the candidate". (Another referee:
    # a second policy of Alice's signed within the same second would be refused.)
    bea, bea_email = endorser(registry, tmp_path, "Bea Smith")
    run("policy", "--set", "--notify", "--key", str(bea))
    args = ask_args(bea_email, candidate_email, "--key", str(candidate))
    message = run(*args, code=1)["answer"]["message"]
    assert "ask Bea Smith for one yourself" in message and "the candidate" not in message
    assert "the referee asked to be told of requests" in message
    text = script(*args, code=1).stdout
    assert "ask Bea Smith for one yourself (the referee asked to be told" in text
    assert run("policy", "--clear", "--key", str(alice)) == {"policy": None}

    dan = f"dan-{secrets.token_hex(4)}@example.com"
    standing = run("refuse", "--subject-email", dan, "--key", str(alice))
    assert standing["claims"]["sub"] == {"name": dan, "email": dan}
    assert [s["id"] for s in run("refuse", "--list", "--key", str(alice))["refusals"]] == [
        standing["id"]
    ]
    status = run(*ask_args(alice_email, dan, "--key", str(asker)), code=1)
    assert status["answer"]["kind"] == "refusal" and status["answer"]["standing"] is True
    assert status["answer"]["verdict"] == "refused"
    withdrawn = run("refuse", f"--withdraw={standing['id']}", "--key", str(alice))
    assert withdrawn["withdrawn"] is True
    assert run("refuse", "--list", "--key", str(alice))["refusals"] == []


def test_block_mute_and_checks(registry: LiveServer, tmp_path: Path) -> None:
    alice, alice_email = endorser(registry, tmp_path)
    asker, _ = endorser(registry, tmp_path, "Rita Recruiter")
    rid = run(*ask_args(alice_email, "dan@example.com", "--key", str(asker)))["id"]
    assert run("block", "--key", str(alice), "--", rid) == {"id": rid, "blocked": True}
    (item,) = [i for i in run("requests", "--key", str(alice))["requests"] if i["id"] == rid]
    assert item["blocked"] is True
    assert run("block", "--undo", "--key", str(alice), "--", rid) == {"id": rid, "blocked": False}
    assert run("mute", "--key", str(alice)) == {"muted": True}
    assert run("unmute", "--key", str(alice)) == {"muted": False}
    assert run("checks", "--key", str(alice)) == {"endorsements": []}


def test_usage_errors_exit_2_and_registry_refusals_exit_3(
    registry: LiveServer, tmp_path: Path
) -> None:
    alice, _ = endorser(registry, tmp_path)
    assert run("answer", "A" * 22, "--key", str(alice), code=2)["error"]["kind"] == "usage"
    assert run("answer", "A" * 22, "--endorse", "--refuse", "--key", str(alice), code=2)
    doc = run("answer", "A" * 22, "--refuse", "--reason", "dislike", "--key", str(alice), code=2)
    assert "not_known" in doc["error"]["message"]
    assert run("policy", "--key", str(alice), code=2)["error"]["kind"] == "usage"
    assert run("refuse", "--list", "--purpose", EMPLOYMENT, "--key", str(alice), code=2)
    # An id the registry does not know is the person's to correct (exit 2), said so.
    doc = run("request", "A" * 22, "--key", str(alice), code=2)
    assert doc["error"]["status"] == 404
    assert doc["error"]["message"].startswith("the registry has no such thing: check the id")
    doc = run(*ask_args("alice@example.com", "dan@example.com", "--expires", "2001-01-01"), code=2)
    assert doc["error"]["kind"] == "invalid_argument"
    # A value the registry would refuse to sign is bad input, named before anything is sent
    # (no code is mailed): not "the registry refused" (3).
    recruiter = f"recruiter-{secrets.token_hex(4)}@example.com"
    for bad, where in (
        (("--audience", "Globex Hiring"), "$.aud"),
        (("--name", "n" * 129), "$.by.name"),
        (("--email", "not-an-address"), "$.by.email"),
    ):
        args = ask_args("alice@example.com", "dan@example.com", "--email", recruiter, *bad)
        doc = run(*args, code=2)
        assert where in doc["error"]["message"], doc
    doc = run(*ask_args("not-an-address", "dan@example.com", "--email", recruiter), code=2)
    assert "$.referee" in doc["error"]["message"]
    assert not [
        p
        for p in (registry.data_dir / "outbox").glob("*.eml")
        if recruiter in p.read_text(errors="replace")
    ]


@pytest.mark.parametrize(
    "verb",
    [
        "ask",
        "ask-confirm",
        "request",
        "requests",
        "answer",
        "policy",
        "refuse",
        "block",
        "mute",
        "unmute",
        "checks",
    ],
)
def test_every_verb_has_help(verb: str) -> None:
    result = runner.invoke(cli.app, [verb, "--help"])
    assert result.exit_code == 0
    assert "--json" in result.stdout and "--registry" in result.stdout


def test_verify_a_refusal_against_a_pinned_key_offline() -> None:
    referee = SigningKey.generate()
    dan = Subject("Dan Brown", email="dan@example.com")
    token = sign_refusal(referee, "Alice Smith", dan, now=int(time.time()), purpose=EMPLOYMENT)
    doc = run("verify", "--issuer", referee.did, "--", token, code=1)
    assert (doc["verdict"], doc["valid"]) == ("refused", False)
    assert doc["message"] == (
        "Alice Smith states that they do not give a reference for Dan Brown"
        " for employment-reference."
    )
    assert doc["claims"]["iss"] == referee.did
    other = run("verify", "--issuer", SigningKey.generate().did, "--", token, code=1)
    assert other["verdict"] == "unknown_issuer"
    wrong = run(
        "verify", "--issuer", referee.did, "--subject", "eve@example.com", "--", token, code=1
    )
    assert wrong["verdict"] == "subject_mismatch"
    text = runner.invoke(cli.app, ["verify", "--issuer", referee.did, "--", token])
    assert text.exit_code == 1
    assert text.stdout.startswith("✗ refused — Alice Smith states that they do not give")
    assert "  reason" not in text.stdout and "standing      yes" in text.stdout
    # A refusal is checked offline only: not by the verification API, not with a proof.
    assert run("verify", "--online", "--", token, code=2)["error"]["kind"] == "usage"


def mail_to(server: LiveServer, email: str, subject: str) -> str:
    """The plain text of the one mail the registry's outbox holds to ``email`` about
    ``subject``."""
    found = []
    for path in (server.data_dir / "outbox").glob("*.eml"):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"] == email and message["Subject"] == subject:
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found.append(body.get_content())
    assert len(found) == 1, found
    return str(found[0])


def test_a_stranger_follows_the_invitation_to_their_request(
    registry: LiveServer, tmp_path: Path, endorse_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The invitation goes to someone who has no endorse client yet: the commands it shows,
    # run as printed (its placeholders filled in), must get them to the request, with no
    # registry configured and no key made beforehand.
    recruiter, _ = endorser(registry, tmp_path, "Rita Recruiter")
    stranger = f"stranger-{secrets.token_hex(4)}@example.org"
    dan = f"dan-{secrets.token_hex(4)}@example.com"
    asked = run(*ask_args(stranger, dan, "--key", str(recruiter)))
    assert asked["state"] == "open"
    invitation = mail_to(registry, stranger, "You were named as a reference")
    commands = [
        shlex.split(line)[1:] for line in invitation.splitlines() if line.startswith("    endorse ")
    ]
    assert commands, invitation
    monkeypatch.delenv("ENDORSE_REGISTRY")
    monkeypatch.setenv("ENDORSE_HOME", str(tmp_path / "stranger"))
    filled = {"ADDRESS": stranger, "Your Name": "Sam Stranger"}
    last: Any = None
    for words in commands:
        if "CODE" in words:
            filled["CODE"] = code_from_outbox(registry, stranger, CONFIRM_SUBJECT)
        last = run(*[filled.get(w, w) for w in words])
        if isinstance(last, dict) and "pending" in last:
            filled["PENDING"] = last["pending"]
    assert [i["id"] for i in last["requests"]] == [asked["id"]]


def test_the_referee_reads_that_their_own_mail_stop_made_a_request_unreachable(
    registry: LiveServer, tmp_path: Path
) -> None:
    alice, alice_email = endorser(registry, tmp_path)
    recruiter, _ = endorser(registry, tmp_path, "Rita Recruiter")
    first = run(
        *ask_args(alice_email, f"dan-{secrets.token_hex(4)}@example.com", "--key", str(recruiter))
    )
    alert = mail_to(registry, alice_email, "A reference in your name was asked about")
    (link,) = re.findall(r"^    (http\S+/mail/stop\?t=\S+)$", alert, re.MULTILINE)
    stopped = httpx.post(f"{registry.url}/mail/stop", data={"t": link.split("t=", 1)[1]})
    assert stopped.status_code == 200
    asked = run(
        *ask_args(alice_email, f"eve-{secrets.token_hex(4)}@example.com", "--key", str(recruiter))
    )
    assert asked["state"] == "unreachable" and asked["id"] != first["id"]
    # The requester reads that the referee cannot be reached ...
    told = script("request", "--key", str(recruiter), "--", asked["id"]).stdout
    assert "the referee cannot be reached" in told
    # ... and the referee reads that their own address stopped the mail, not that someone
    # else "cannot be reached".
    inbox = runner.invoke(cli.app, ["requests", "--key", str(alice)])
    assert inbox.exit_code == 0, inbox.stderr
    (entry,) = [e for e in inbox.stdout.split("\n\n") if e.startswith(asked["id"])]
    assert "your address stopped all mail from this registry" in entry
    assert "the referee cannot be reached" not in entry


def test_a_key_that_is_not_registered_is_exit_2_for_every_verb_of_the_endorser(
    registry: LiveServer, tmp_path: Path
) -> None:
    """A key not bound to an identity is the person's mistake (the wrong --key, or not yet
    registered): exit 2 alike from policy --set, requests and checks (README, exit codes)."""
    stray = tmp_path / "stray.pem"
    run("key", "new", "--out", str(stray))
    for verb in (("policy", "--set"), ("requests",), ("checks",)):
        done = script(*verb, "--key", str(stray), "--json", code=2)
        error = json.loads(done.stdout)["error"]
        assert error["exit_code"] == 2, (verb, error)
        assert "is not bound to an identity" in error["message"], (verb, error)
