"""Checking a registry's whole configuration before it starts, and saying what it runs with.

``endorse serve`` (``python -m endorse.server serve``) calls :func:`check` before it binds
anything: every problem becomes one :class:`Problem` line naming the setting, the value, what
is wrong and an example of a good value, and the command exits 2 without a traceback. A
configuration that passes is summed up by :func:`startup_line`, logged once at start::

    >>> problems = check({"ENDORSE_MAILER": "smpt"}, host="127.0.0.1").problems
    >>> print(problems[0])
    ENDORSE_MAILER='smpt': must be one of 'outbox', 'smtp' (example: ENDORSE_MAILER=smtp)

The registry URL is the registry's id, written in every token it records: serving on any
address but loopback it must be given (``ENDORSE_REGISTRY_URL``); on loopback it may be left
out and is then derived from the address actually bound (:func:`loopback_url`).
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from endorse.server.settings import Settings

PREFIX = "ENDORSE_"
_OTHER_VARIABLES = frozenset({"home", "registry", "passphrase", "config"})
"""The client's own ``ENDORSE_*`` variables (lower case, without the prefix)."""

EXAMPLES: dict[str, str] = {
    "registry_url": "https://registry.example.org",
    "data_dir": "/var/lib/endorse",
    "database_url": "postgresql+psycopg://endorse@db.internal:5432/endorse",
    "mailer": "smtp",
    "mail_from": "endorse registry <registry@example.org>",
    "smtp_host": "smtp.example.org",
    "smtp_port": "587",
    "redis_url": "redis://127.0.0.1:6379/0",
    "trusted_proxies": "127.0.0.1,10.0.0.0/8",
}
"""A good value per setting, shown with a problem; settings not named here show their
default (a number within its range)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration: which setting, its value, why, an example."""

    setting: str
    value: str
    message: str
    example: str
    """A good setting in full, ``NAME=value``."""

    def __str__(self) -> str:
        value = "(not set)" if self.value == "" else repr(self.value)
        return f"{self.setting}={value}: {self.message} (example: {self.example})"


@dataclass(frozen=True)
class Checked:
    """The outcome of :func:`check`: settings when there was no problem, else the problems."""

    settings: Settings | None
    problems: list[Problem] = field(default_factory=list)
    registry_url_given: bool = False


def _env_name(field_name: str) -> str:
    return PREFIX + field_name.upper()


def _example(field_name: str) -> str:
    if field_name in EXAMPLES:
        value = EXAMPLES[field_name]
    else:
        default = Settings.model_fields[field_name].default
        value = str(default).lower() if isinstance(default, bool) else str(default)
    return f"{_env_name(field_name)}={value}"


def _message(name: str, error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message.removeprefix(f"{_env_name(name)}: ")
    return message.replace("Input should be", "must be", 1)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_url(host: str, port: int) -> str:
    """The registry URL of a registry bound to loopback ``host``:``port`` (an IPv6 address in
    brackets), in the one spelling spec §2.3 allows."""
    if ":" in host:
        return f"http://[{host}]:{port}"
    return f"http://{host}:{port}"


def check(environ: Mapping[str, str], *, host: str, workers: int = 1) -> Checked:
    """Check every ``ENDORSE_*`` variable of ``environ`` (and the address to serve on).

    Never raises for a bad value: each becomes a :class:`Problem`. Unknown ``ENDORSE_*``
    variables are problems too (a misspelt setting would otherwise be silently ignored).
    """
    problems: list[Problem] = []
    values = {
        key[len(PREFIX) :].lower(): value
        for key, value in environ.items()
        if key.startswith(PREFIX) and value != ""
    }
    known = {name: value for name, value in values.items() if name in Settings.model_fields}
    for name in sorted(set(values) - set(known) - _OTHER_VARIABLES):
        # The client and the tests have ENDORSE_* variables of their own: only a name close to
        # a setting's is taken for a misspelt setting (which would otherwise be ignored).
        close = difflib.get_close_matches(name, list(Settings.model_fields), n=1, cutoff=0.8)
        if close:
            problems.append(
                Problem(
                    _env_name(name),
                    values[name],
                    f"is not a setting of the registry; did you mean {_env_name(close[0])}?",
                    _example(close[0]),
                )
            )
    settings: Settings | None = None
    try:
        # Validated from the mapping given, never from the process environment.
        settings = Settings.model_validate(known)
    except ValidationError as e:
        for error in e.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else "?"
            problems.append(
                Problem(_env_name(name), known.get(name, ""), _message(name, error), _example(name))
            )
    if workers < 1:
        problems.append(Problem("--workers", str(workers), "must be at least 1", "--workers=2"))
    given = "registry_url" in known
    if not given and not _is_loopback(host):
        problems.append(
            Problem(
                "ENDORSE_REGISTRY_URL",
                "",
                f"must be set when serving on {host}, a non-loopback address: it is the"
                " registry's public URL, written in every token it records",
                _example("registry_url"),
            )
        )
    problems += _semantic_problems(known)
    if problems:
        return Checked(None, problems, given)
    return Checked(settings, [], given)


def _semantic_problems(values: Mapping[str, str]) -> list[Problem]:
    """What a setting's type cannot say: the database and Redis URLs' kinds, a password
    that would cross the network in clear."""
    problems: list[Problem] = []
    database_url = values.get("database_url")
    if database_url is not None:
        try:
            backend: str | None = make_url(database_url).get_backend_name()
        except ArgumentError:
            backend = None
        if backend not in {"sqlite", "postgresql"}:
            problems.append(
                Problem(
                    "ENDORSE_DATABASE_URL",
                    _without_password(database_url),
                    "must be a SQLAlchemy URL of SQLite or PostgreSQL",
                    _example("database_url"),
                )
            )
    redis_url = values.get("redis_url")
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        problems.append(
            Problem(
                "ENDORSE_REDIS_URL",
                _without_password(redis_url),
                "must be a redis://, rediss:// or unix:// URL",
                _example("redis_url"),
            )
        )
    starttls = values.get("smtp_starttls", "true").lower()
    if values.get("smtp_password") and starttls in {"0", "false", "off", "no"}:
        problems.append(
            Problem(
                "ENDORSE_SMTP_STARTTLS",
                values["smtp_starttls"],
                "must be true when ENDORSE_SMTP_PASSWORD is set: the password would cross"
                " the network in clear",
                "ENDORSE_SMTP_STARTTLS=true",
            )
        )
    return problems


def _without_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def describe_database(settings: Settings) -> str:
    """The database, without its password: backend, host, port and name (or SQLite's file)."""
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:{url.database}"
    where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
    user = f" as {url.username}" if url.username else ""
    return f"{url.get_backend_name()}:{where}{user}"


def startup_line(settings: Settings, *, key_id: str, workers: int) -> str:
    """The one line a registry logs when it starts: what it is and what it runs with."""
    if settings.mailer == "smtp":
        mailer = f"smtp:{settings.smtp_host}:{settings.smtp_port}"
    else:
        mailer = f"outbox:{settings.outbox_path}"
    if settings.redis_url is not None:
        redis_url = make_url(settings.redis_url.replace("rediss://", "redis://", 1))
        limits = f"redis:{redis_url.host}:{redis_url.port or 6379}"
    else:
        limits = "database"
    proxies = ",".join(settings.trusted_proxies) or "none"
    return (
        f"registry {settings.registry_url} key {key_id} database {describe_database(settings)}"
        f" mailer {mailer} workers {workers} limits {limits} trusted-proxies {proxies}"
    )


__all__ = [
    "Checked",
    "Problem",
    "check",
    "describe_database",
    "loopback_url",
    "startup_line",
]
