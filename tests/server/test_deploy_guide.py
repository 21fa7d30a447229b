"""docs/deploy.md's commands, run: every ``sh`` block of the guide, in order, against the
machine's PostgreSQL and Redis (``<!-- test: postgresql -->``) or SQLite
(``<!-- test: sqlite -->``), with the settings the guide describes pointing at them. The
registry is started once where the guide starts it (after its configuration check, §5-§6:
systemd here stands for this test's process)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from _databases import postgres_schema
from live import LiveServer, free_port

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
BLOCK = re.compile(r"(?:<!-- test: (\w+) -->\n)?```(\w+)\n(.*?)```", re.S)
REDIS_URL = os.environ.get("ENDORSE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _blocks() -> list[tuple[str | None, str, str]]:
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(GUIDE.read_text())]


def test_every_shell_block_is_run_and_only_those() -> None:
    blocks = _blocks()
    assert len(blocks) >= 15
    for marker, language, code in blocks:
        if language == "sh":
            assert marker in {"postgresql", "sqlite"}, code
        else:
            assert marker is None, code


def _run(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_guides_commands_run(tmp_path: Path) -> None:
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("ENDORSE_")}
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    (tmp_path / "etc").mkdir()
    with postgres_schema() as database:
        environments = {
            "postgresql": base
            | {
                "ENDORSE_REGISTRY_URL": f"http://127.0.0.1:{port}",
                "ENDORSE_DATABASE_URL": database,
                "ENDORSE_REDIS_URL": REDIS_URL,
                "ENDORSE_KEY_ENCRYPTION_KEY_FILE": str(tmp_path / "etc" / "registry-kek"),
                "ENDORSE_DATA_DIR": str(tmp_path / "pg-data"),
                "ENDORSE_TRUSTED_PROXIES": "127.0.0.1",
            },
            "sqlite": base | {"ENDORSE_DATA_DIR": str(tmp_path / "sqlite-data")},
        }
        ran = []
        for marker, language, code in _blocks():
            if language != "sh":
                continue
            assert marker is not None
            env = environments[marker]
            if marker == "sqlite" and "sqlite" not in ran:
                # The database a backup is made of: a registry's, at the newest schema.
                made = _run("endorse db upgrade", env, tmp_path)
                assert made.returncode == 0, made.stderr
            result = _run(code, env, tmp_path)
            assert result.returncode == 0, f"{code}\n{result.stdout}\n{result.stderr}"
            ran.append(marker)
            if "rotate" in code:
                shown = [line for line in result.stdout.splitlines() if line.startswith("did:")]
                assert len(shown) == 2 and shown[0] != shown[1], result.stdout
            if "--check-config" in code:
                assert result.stdout.startswith("configuration OK: registry "), result.stdout
                assert "limits redis:" in result.stdout
                # The registry's first start (the guide's §6), which makes its key.
                server = LiveServer(database, tmp_path / "serve", env=env)
                server.port = port
                with server:
                    pass
        assert ran.count("sqlite") == 1
        assert ran.count("postgresql") >= 5
        exported = Path(environments["postgresql"]["ENDORSE_DATA_DIR"]) / "registry-keys.json"
        assert oct(exported.stat().st_mode & 0o777) == "0o600"
        assert oct((tmp_path / "etc" / "registry-kek").stat().st_mode & 0o777) == "0o600"
