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
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    database_url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL; default: SQLite in $ENDORSE_DATA_DIR."),
    ] = None,
    dev: Annotated[
        bool, typer.Option("--dev", help="Log confirmation codes (never in production).")
    ] = False,
) -> None:
    """Run the registry (migrating its database first)."""
    args = ["serve", "--host", host, "--port", str(port), "--workers", str(workers)]
    if database_url:
        args += ["--database-url", database_url]
    if dev:
        args.append("--dev")
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
