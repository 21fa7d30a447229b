"""``endorse serve`` checks its whole configuration first: one line per problem, exit 2, no
traceback; on loopback the registry URL is where it listens; one start-up line; --check-config
and --version. Real processes, as an operator runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from live import START_TIMEOUT

from endorse.server.configuration import check, loopback_url, startup_line

SERVE = [sys.executable, "-m", "endorse.server", "serve"]


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENDORSE_")}
    env["ENDORSE_DATA_DIR"] = str(tmp_path / "data")
    env.update(settings)
    return env


def _run(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERVE, *args],
        env=_env(tmp_path, **settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("settings", "setting", "words"),
    [
        pytest.param(
            {"ENDORSE_MAILER": "smpt"}, "ENDORSE_MAILER", "'outbox' or 'smtp'", id="mailer_typo"
        ),
        pytest.param(
            {"ENDORSE_REGISTRY_URL": "https://registry.example.org/"},
            "ENDORSE_REGISTRY_URL",
            "no trailing slash",
            id="registry_url_trailing_slash",
        ),
        pytest.param(
            {"ENDORSE_SMTP_PORT": "70000"}, "ENDORSE_SMTP_PORT", "65535", id="port_out_of_range"
        ),
        pytest.param(
            {"ENDORSE_STATUS_MAX_AGE": "five"}, "ENDORSE_STATUS_MAX_AGE", "integer", id="not_int"
        ),
        pytest.param(
            {"ENDORSE_TRUSTED_PROXIES": "*"}, "ENDORSE_TRUSTED_PROXIES", "not an IP", id="proxy_*"
        ),
        pytest.param(
            {"ENDORSE_DATABASE_URL": "mysql://u:secret@h/db"},
            "ENDORSE_DATABASE_URL",
            "SQLite or PostgreSQL",
            id="database_kind",
        ),
        pytest.param(
            {"ENDORSE_REDIS_URL": "http://cache"}, "ENDORSE_REDIS_URL", "redis://", id="redis"
        ),
        pytest.param(
            {"ENDORSE_MAILR": "smtp"}, "ENDORSE_MAILR", "did you mean ENDORSE_MAILER", id="typo"
        ),
        pytest.param(
            {"ENDORSE_SMTP_PASSWORD": "pw", "ENDORSE_SMTP_STARTTLS": "false"},
            "ENDORSE_SMTP_STARTTLS",
            "in clear",
            id="password_without_tls",
        ),
    ],
)
def test_each_problem_is_one_line_naming_setting_value_reason_and_example(
    settings: dict[str, str], setting: str, words: str
) -> None:
    problems = check(settings, host="127.0.0.1").problems
    assert len(problems) == 1, problems
    line = str(problems[0])
    assert line.startswith(f"{setting}=")
    assert words in line
    assert "(example: ENDORSE_" in line
    assert "\n" not in line
    assert "secret" not in line  # a password in a URL is never shown


def test_client_and_test_variables_are_not_taken_for_misspelt_settings() -> None:
    environ = {
        "ENDORSE_REGISTRY": "https://registry.example.org",
        "ENDORSE_HOME": "/home/a/.endorse",
        "ENDORSE_TEST_POSTGRES_URL": "postgresql+psycopg://postgres@127.0.0.1/test",
    }
    assert check(environ, host="127.0.0.1").problems == []


def test_registry_url_required_off_loopback_and_derived_on_it() -> None:
    off = check({}, host="0.0.0.0")
    assert [p.setting for p in off.problems] == ["ENDORSE_REGISTRY_URL"]
    assert "0.0.0.0" in off.problems[0].message
    assert check({}, host="::1").problems == []
    assert check({}, host="localhost").problems == []
    assert check({"ENDORSE_REGISTRY_URL": "https://r.example.org"}, host="0.0.0.0").problems == []
    assert loopback_url("127.0.0.1", 8091) == "http://127.0.0.1:8091"
    assert loopback_url("::1", 8091) == "http://[::1]:8091"


def test_startup_line_names_everything_and_no_password() -> None:
    settings = check(
        {
            "ENDORSE_REGISTRY_URL": "https://registry.example.org",
            "ENDORSE_DATABASE_URL": "postgresql+psycopg://endorse:hunter2@db.internal:5433/reg",
            "ENDORSE_MAILER": "smtp",
            "ENDORSE_SMTP_HOST": "smtp.example.org",
            "ENDORSE_REDIS_URL": "redis://:pw@cache.internal:6380/1",
            "ENDORSE_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16",
        },
        host="0.0.0.0",
    ).settings
    assert settings is not None
    line = startup_line(settings, key_id="did:key:z6MkExample", workers=4)
    assert line == (
        "registry https://registry.example.org key did:key:z6MkExample"
        " database postgresql:db.internal:5433/reg as endorse mailer smtp:smtp.example.org:587"
        " workers 4 limits redis:cache.internal:6380 trusted-proxies 10.0.0.5/32,10.1.0.0/16"
    )
    assert "hunter2" not in line and "pw" not in line


def test_broken_configuration_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        ENDORSE_MAILER="smpt",
        ENDORSE_STATUS_MAX_AGE="0",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert [line.split("=", 1)[0] for line in lines[:-1]] == [
        "endorse serve: ENDORSE_STATUS_MAX_AGE",
        "endorse serve: ENDORSE_MAILER",
        "endorse serve: ENDORSE_REGISTRY_URL",
    ]
    assert lines[-1] == "endorse serve: 3 configuration problem(s); nothing was started"
    # Nothing was made: no database, no data directory.
    assert not (tmp_path / "data").exists()


def test_unreachable_database_is_one_line_too(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "--check-config",
        ENDORSE_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/no_such_database",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert 'database "no_such_database" does not exist' in result.stderr
    assert result.stderr.startswith("endorse serve: ENDORSE_DATABASE_URL=")


def test_check_config_prints_what_would_be_served_and_starts_nothing(
    tmp_path: Path, database_url: str
) -> None:
    result = _run(tmp_path, "--port", "0", "--check-config", ENDORSE_DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"configuration OK: registry http://127\.0\.0\.1:\d+ key \(made on first start\)"
        r" database \S+ .*mailer outbox:\S+ workers 1 limits database trusted-proxies none\n",
        result.stdout,
    ), result.stdout


def test_loopback_registry_url_is_the_address_bound(tmp_path: Path) -> None:
    """``--port 0`` and no ENDORSE_REGISTRY_URL: the registry names the port it got."""
    env = _env(tmp_path)
    process = subprocess.Popen(
        [*SERVE, "--port", "0"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"starting: registry (http://127\.0\.0\.1:(\d+)) key (\S+) ", line)
        assert match, line
        url, key = match.group(1), match.group(3)
        _wait_ready(url)
        info = httpx.get(url + "/.well-known/endorse-registry", timeout=10).json()
        assert info["registry"] == url
        assert info["key"] == key
    finally:
        process.terminate()
        process.wait(30)
        assert process.stderr is not None
        process.stderr.close()


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} never became ready")


def test_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    result = subprocess.run(
        [sys.executable, "-c", "from endorse.client.cli import main; main()", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"endorse {version('endorse')} (protocol v1)\n"
