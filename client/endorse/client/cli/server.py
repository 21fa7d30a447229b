"""``endorse serve|db upgrade|demo``: the registry, started by module path (the client never
imports the server)."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Annotated, NoReturn

import typer

from endorse.client.cli._output import (
    EXIT_USAGE,
    echo,
    echo_err,
)


def _run_server_module(args: list[str]) -> NoReturn:
    # The client never imports the server: this process becomes it, by module path in this
    # interpreter (exec, not a child), so that what stops `endorse serve` (SIGTERM from a
    # service manager or `kill PID`, Ctrl-C) reaches the registry itself. A child would be
    # left running without its parent, holding the port and the database.
    if importlib.util.find_spec("fastapi") is None:
        echo_err(
            "endorse: error: the registry needs the server extra: pip install 'endorse[server]'"
        )
        raise typer.Exit(EXIT_USAGE)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "endorse.server", *args])  # noqa: S606


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="TCP port (0: one the system picks).")
    ] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    database_url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL; default: SQLite in $ENDORSE_DATA_DIR."),
    ] = None,
    dev: Annotated[
        bool, typer.Option("--dev", help="Log confirmation codes (never in production).")
    ] = False,
    check_config: Annotated[
        bool,
        typer.Option(
            "--check-config",
            help="Check the configuration, database and Redis, print what would be served,"
            " and exit (0 good, 2 a problem) without migrating or serving.",
        ),
    ] = False,
) -> None:
    """Run the registry (migrating its database first).

    Every ENDORSE_* setting is checked before anything starts: each problem is one line
    (setting, value, what is wrong, an example) and the exit status is 2. Without
    ENDORSE_REGISTRY_URL the registry must listen on loopback, and its URL is the address
    it listens on."""
    args = ["serve", "--host", host, "--port", str(port), "--workers", str(workers)]
    if database_url:
        args += ["--database-url", database_url]
    if dev:
        args.append("--dev")
    if check_config:
        args.append("--check-config")
    _run_server_module(args)


def db_upgrade_command(
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL; default: SQLite in $ENDORSE_DATA_DIR.")
    ] = None,
) -> None:
    """Bring the registry's database to the newest schema."""
    _run_server_module(
        ["db", "upgrade", *(["--database-url", database_url] if database_url else [])]
    )


def db_backup_command(
    file: Annotated[str, typer.Argument(help="The new backup file (never overwritten).")],
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL; default: SQLite in $ENDORSE_DATA_DIR.")
    ] = None,
) -> None:
    """Back the registry's SQLite database up, consistently, while it runs (PostgreSQL: use
    pg_dump). The key-encryption key is not in it: back it up separately."""
    _run_server_module(
        ["db", "backup", file, *(["--database-url", database_url] if database_url else [])]
    )


def db_restore_command(
    file: Annotated[str, typer.Argument(help="A backup made by `endorse db backup`.")],
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL; default: SQLite in $ENDORSE_DATA_DIR.")
    ] = None,
) -> None:
    """Replace the registry's SQLite database with a backup (stop the registry first)."""
    _run_server_module(
        ["db", "restore", file, *(["--database-url", database_url] if database_url else [])]
    )


def registry_key_command(
    action: Annotated[
        str,
        typer.Argument(
            help="show | rotate (every instance stopped) | export FILE | import FILE",
        ),
    ],
    file: Annotated[str | None, typer.Argument(help="The export file.")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL; default: SQLite in $ENDORSE_DATA_DIR.")
    ] = None,
) -> None:
    """The registry's own signing keys: show the one in force, rotate to a new one (the old
    key signs the new one, spec §4.14), export them to move the registry, import them."""
    if action not in {"show", "rotate", "export", "import"}:
        echo_err("endorse: error: the action is one of show, rotate, export, import")
        raise typer.Exit(EXIT_USAGE)
    args = ["key", action, *([file] if file else [])]
    _run_server_module(args + (["--database-url", database_url] if database_url else []))


def demo_command(
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Loopback port of the demo's registry; default: free."),
    ] = None,
    keep_serving: Annotated[
        bool,
        typer.Option("--keep-serving", help="Leave the registry running until Ctrl-C."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout, nothing else.")
    ] = False,
) -> None:
    """Tell the story of one reference, from issuing to withdrawal, against a real registry
    started for the demo (it needs the server extra)."""
    from endorse.client import demo

    code = demo.main(port=port, keep_serving=keep_serving, as_json=as_json, out=echo, err=echo_err)
    raise typer.Exit(code)
