"""``endorse demo`` (the README's first command): a real registry, every verdict of the story,
and nothing left behind (no registry process, no temporary directory) however it ends."""

from __future__ import annotations

import http.server
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from endorse.client import Client, cli, demo, token_from_url

VERDICTS = [
    "valid",
    "bad_signature",
    "subject_mismatch",
    "purpose_not_allowed",
    "revoked",
    "refused",
]
VERDICT_LINES = [
    "✓ valid — ",
    "✗ bad_signature — ",
    "✗ subject_mismatch — ",
    "✗ purpose_not_allowed — ",
    "✗ revoked — ",
    "✗ refused — Alice Smith states that they do not give a reference for Dan Brown",
    "answer: policy — references from Alice Smith come only as signed endorse tokens",
]
STARTED = re.compile(r"at (http://127\.0\.0\.1:[0-9]+) \(process ([0-9]+)\), .* in (\S+)\.$", re.M)


def _endorse() -> str:
    found = shutil.which("endorse", path=str(Path(sys.executable).parent))
    assert found is not None, "the endorse console script is not installed in this environment"
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli.app, ["demo", *args])


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's ENDORSE_HOME: the demo must leave it alone (no pinned demo registries)."""
    path = tmp_path / "home"
    monkeypatch.setenv("ENDORSE_HOME", str(path))
    return path


@pytest.fixture
def registries(monkeypatch: pytest.MonkeyPatch) -> list[demo.DemoRegistry]:
    """Every registry the demo starts in this test (in this process)."""
    started: list[demo.DemoRegistry] = []
    start = demo.DemoRegistry.start

    def recording_start(self: demo.DemoRegistry) -> demo.DemoRegistry:
        started.append(self)
        return start(self)

    monkeypatch.setattr(demo.DemoRegistry, "start", recording_start)
    return started


def assert_gone(pid: int, directory: Path) -> None:
    """The registry process and its whole process group have exited, its files are gone."""
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert not directory.exists(), directory


def assert_all_gone(registries: list[demo.DemoRegistry]) -> None:
    assert registries, "the demo started no registry"
    for registry in registries:
        assert registry.process is not None and registry.process.returncode is not None
        assert registry.directory is not None
        assert_gone(registry.pid, registry.directory)


def assert_story(out: str) -> None:
    positions = [out.find(line) for line in VERDICT_LINES]
    assert -1 not in positions, out
    assert positions == sorted(positions), "the verdicts are not told in the story's order"
    assert "Every verdict came out as expected." in out
    assert "UNEXPECTED" not in out


def test_demo_tells_the_whole_story(
    registries: list[demo.DemoRegistry], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for the QR code of Bob's link
    result = invoke()
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert_story(out)
    registry = registries[0].url
    # The confirmation code came from the outbox, and the registry bound Alice's key to her.
    assert re.search(r"e-mails her a code \([0-9]{8}, read here from its outbox\)", out), out
    assert "Alice Smith <alice@example.com>" in out
    (url,) = re.findall(rf"^   ({re.escape(registry)}/v#endorsement-v1\.\S+)$", out, re.M)
    token = token_from_url(url)
    assert token != url and token.count(".") == 2
    assert "▀" in out or "▄" in out, "no QR code was printed"
    assert "endorse qr --png" not in out
    # The second half: Alice was told by mail that she was named, and by whom.
    assert "   mail          'A reference in your name was asked about'" in out
    assert "   asked by      recruiter@example.com (verified)" in out
    assert result.stderr == ""
    assert_all_gone(registries)
    assert not home.exists(), "the demo wrote into the user's ENDORSE_HOME"


def test_demo_json_is_one_document_with_every_verdict(
    registries: list[demo.DemoRegistry],
) -> None:
    result = invoke("--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [step["verdict"] for step in doc["steps"]] == VERDICTS
    assert [step["expected"] for step in doc["steps"]] == VERDICTS
    assert all(step["ok"] and step["message"] for step in doc["steps"])
    assert doc["ok"] is True
    assert doc["registry"] == registries[0].url
    assert doc["registry_key"].startswith("did:key:z")
    assert doc["endorser"]["email"] == "alice@example.com"
    assert doc["verification_url"].startswith(f"{doc['registry']}/v#endorsement-v1.")
    claimed = doc["claimed"]
    assert claimed["alert"] == "A reference in your name was asked about"
    assert claimed["refusal"]["verdict"] == "refused" and claimed["refusal"]["ok"]
    assert claimed["policy"]["answer"] == "policy" and claimed["policy"]["ok"]
    assert claimed["request"] != claimed["policy"]["request"]
    assert "serving" not in doc
    assert result.stderr == ""
    assert_all_gone(registries)


def test_an_unexpected_verdict_exits_1(
    registries: list[demo.DemoRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "forge", lambda token: token)  # a "forgery" that changes nothing
    result = invoke("--json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    forged = doc["steps"][1]
    assert (forged["expected"], forged["verdict"]) == ("bad_signature", "valid")
    assert forged["ok"] is False
    assert_all_gone(registries)


def test_the_forgery_changes_one_byte_and_still_parses() -> None:
    from endorse.protocol import Relationship, SigningKey, Subject, inspect, issue
    from endorse.protocol.encoding import b64url_decode

    token = issue(
        SigningKey.generate(),
        "Alice Smith",
        Subject("Bob Jones", email="bob@example.com"),
        Relationship("work", "manager", org="Acme", start="2019", end="2023"),
        ["employment-reference"],
        now=1_767_225_600,
    )
    forged = demo.forge(token)
    original, changed = (b64url_decode(t.split(".")[1], what="payload") for t in (token, forged))
    assert len(original) == len(changed)
    assert sum(a != b for a, b in zip(original, changed, strict=True)) == 1
    assert forged.split(".")[2] == token.split(".")[2]  # Alice's signature, kept
    assert inspect(forged).object.to_payload()["rel"]["from"] == "2009"


def test_without_the_server_extra_one_line_says_what_to_install(
    registries: list[demo.DemoRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # find_spec answers None: not installed
    result = invoke()
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "server extra" in lines[0] and "fastapi" in lines[0]
    assert "pip install -e '.[server]'" in lines[0]
    assert result.stdout == ""
    assert registries == []

    as_json = invoke("--json")
    assert as_json.exit_code == 2, as_json.output
    error = json.loads(as_json.stdout)["error"]
    assert error["kind"] == "server_extra_missing" and error["exit_code"] == 2
    assert "fastapi" in error["message"]


def test_a_port_in_use_is_refused_clearly(registries: list[demo.DemoRegistry]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("--port", str(port))
    assert result.exit_code == 2, result.output
    assert f"port {port} is in use" in result.stderr
    assert registries  # refused when binding: no registry process was started
    assert all(r.process is None and r.directory is None for r in registries)


class _Ready(http.server.BaseHTTPRequestHandler):
    """Another registry, as far as /readyz can tell."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_port_another_registry_serves_is_refused(registries: list[demo.DemoRegistry]) -> None:
    # Another registry (here: anything answering /readyz) on the port: the demo must not
    # take it for its own, tell its story against it and fail later with exit 3.
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=other.serve_forever)
    thread.start()
    try:
        port = other.server_address[1]
        result = invoke("--port", str(port), "--json")
    finally:
        other.shutdown()
        other.server_close()
        thread.join()
    assert result.exit_code == 2, result.output
    assert f"port {port} is in use" in result.stderr
    error = json.loads(result.stdout)["error"]
    assert (error["kind"], error["exit_code"]) == ("port_in_use", 2)
    assert f"port {port} is in use" in error["message"]


def test_a_registry_that_dies_once_ready_is_not_used(
    registries: list[demo.DemoRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = "print('ready, then gone')"
    monkeypatch.setattr(
        demo.DemoRegistry, "_command", lambda self, *fds: [sys.executable, "-c", script]
    )

    def answered_then_died(self: demo.DemoRegistry) -> bool:
        assert self.process is not None
        self.process.wait()
        return True

    monkeypatch.setattr(demo.DemoRegistry, "_wait_ready", answered_then_died)
    result = invoke("--json")
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert (error["kind"], error["exit_code"]) == ("demo_error", 3)
    assert "it exited (0)" in error["message"] and "ready, then gone" in error["message"]
    assert_all_gone(registries)


def test_a_registry_that_cannot_start_shows_its_log(
    registries: list[demo.DemoRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = "import sys; print('cannot open the database: disk on fire'); sys.exit(1)"
    monkeypatch.setattr(
        demo.DemoRegistry, "_command", lambda self, *fds: [sys.executable, "-c", script]
    )
    result = invoke()
    assert result.exit_code == 3, result.output
    assert "did not become ready" in result.stderr
    assert "cannot open the database: disk on fire" in result.stderr
    assert_all_gone(registries)


def test_the_console_script_runs_the_demo(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    done = subprocess.run(
        [_endorse(), "demo"], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert_story(done.stdout)
    # Not a terminal: 80 columns are assumed, too narrow for the code of a link this long.
    assert "this terminal 80: widen it, or write the code as an image" in done.stdout
    started = STARTED.search(done.stdout)
    assert started is not None, done.stdout
    assert_gone(int(started.group(2)), Path(started.group(3)))


def _lines(stream: queue.Queue[str], until: str, timeout: float = 60) -> list[str]:
    """Lines from ``stream`` up to the first that contains ``until``."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while not seen or until not in seen[-1]:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no line with {until!r} in:\n" + "".join(seen)
        try:
            seen.append(stream.get(timeout=remaining))
        except queue.Empty:
            continue
    return seen


def test_keep_serving_until_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [_endorse(), "demo", "--keep-serving", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()])
    reader.start()
    try:
        out = "".join(_lines(lines, "Press Ctrl-C"))
        assert_story(out)
        started = STARTED.search(out)
        assert started is not None, out
        base, directory = started.group(1), Path(started.group(3))
        assert base == f"http://127.0.0.1:{port}"
        valid_url = re.search(r"^  valid: +(\S+)$", out, re.M)
        revoked_url = re.search(r"^  revoked: +(\S+)$", out, re.M)
        assert valid_url is not None and revoked_url is not None, out

        # The registry is up at the printed address, and the links say what they claim.
        described = httpx.get(f"{base}/.well-known/endorse-registry", timeout=10)
        assert described.status_code == 200
        assert described.json()["registry"] == base
        with Client(base, pin_store=tmp_path / "pins.json") as recruiter:
            for url, verdict in ((valid_url[1], "valid"), (revoked_url[1], "revoked")):
                assert url.startswith(f"{base}/v#")
                result = recruiter.verify(
                    token_from_url(url), subject="bob@example.com", purpose="employment-reference"
                )
                assert result.verdict.value == verdict, url

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        assert process.stderr is not None
        errors = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    rest = "".join(lines.get_nowait() for _ in range(lines.qsize()))
    assert "Stopping the registry." in rest, rest + errors
    assert errors == ""
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))
    assert_gone(int(started.group(2)), directory)


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_keep_serving_until_the_terminal_closes(signum: signal.Signals) -> None:
    # The registry runs in a session of its own, so the terminal's SIGHUP reaches only the
    # demo: it must stop its registry and remove its files, as for Ctrl-C.
    process = subprocess.Popen(
        [_endorse(), "demo", "--keep-serving"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None and process.stderr is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()])
    reader.start()
    try:
        out = "".join(_lines(lines, "Press Ctrl-C"))
        started = STARTED.search(out)
        assert started is not None, out
        pid, directory = int(started.group(2)), Path(started.group(3))
        os.killpg(pid, 0)  # running
        assert directory.is_dir()
        process.send_signal(signum)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        errors = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert errors == ""
    assert_gone(pid, directory)


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs (an exited one nobody reaped yet, a zombie, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_killed_demo_leaves_no_registry_behind() -> None:
    # SIGKILL: the demo cannot stop its registry; the registry sees its lifeline close. (A
    # process that exited holds no socket: its port is not probed, which another process on
    # this shared machine may have bound meanwhile.)
    process = subprocess.Popen(
        [_endorse(), "demo", "--keep-serving"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()])
    reader.start()
    try:
        started = STARTED.search("".join(_lines(lines, "Press Ctrl-C")))
        assert started is not None
        pid, directory = int(started.group(2)), Path(started.group(3))
        assert _running(pid) and directory.is_dir()
        process.kill()
        process.wait(timeout=30)
        killed = time.monotonic()
        while _running(pid) and time.monotonic() - killed < demo.ORPHAN_GRACE + 25:
            time.sleep(0.05)
        assert not _running(pid), "the registry outlived the demo"
        # It stopped, however slowly the machine runs, within its grace (plus scheduling).
        assert time.monotonic() - killed < demo.ORPHAN_GRACE + 25
        assert not directory.exists(), "the orphaned registry left its directory"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        process.stdout.close()


def test_the_registry_stops_promptly_on_sigterm() -> None:
    registry = demo.DemoRegistry().start()
    try:
        with httpx.Client(timeout=10) as client:  # a kept-alive connection does not hold it
            assert client.get(f"{registry.url}/readyz").status_code == 200
            assert registry.process is not None
            os.kill(registry.pid, signal.SIGTERM)
            registry.process.wait(timeout=10)
    finally:
        registry.stop()
    assert registry.directory is not None
    assert_gone(registry.pid, registry.directory)
