"""The ``endorse`` command: a thin shell over the SDK (:mod:`endorse.client`).

Keys, registration, issuing, listing, revoking and verifying endorsements, and sharing them
as a verification URL, a QR code or a holder-binding presentation; claimed references (asking
a referee named without a token, answering, policies and standing refusals). The registry is
chosen by ``--registry``, else ``$ENDORSE_REGISTRY``, else ``registry = "…"`` in the config
file (see :func:`endorse.client.config.config_path`). Exit codes::

    0  the command succeeded (for ``verify``: the verdict is ``valid``)
    1  the token was verified and is not valid (the verdict and reason are printed; a
       refusal's verdict, ``refused``, included; for ``ask``/``request``: the referee
       answered with a refusal, a policy or an endorsement that is not valid)
    2  bad usage or input: a missing or invalid option, a malformed token or URL, an
       unreadable key file or config file, no registry configured
    3  the registry is unreachable, refused the request, or cannot be trusted (its key is
       not the pinned one, or a statement of it does not verify)
  130  interrupted (Ctrl-C)
  141  stdout was closed while the command's own status was not yet known (see :func:`main`)

With ``--json`` a command prints exactly one JSON document on stdout (on an error:
``{"error": {"kind": …, "message": …, "exit_code": …}}``); everything else goes to stderr.

This package wires the commands into one typer app; they live in :mod:`.keys`,
:mod:`.endorser`, :mod:`.claims`, :mod:`.verifying`, :mod:`.sharing`, :mod:`.links` and
:mod:`.server`, over :mod:`._output` (exit codes, printing, errors), :mod:`._input` and
:mod:`._registry`::

    from endorse.client.cli import main

    main(["verify", "--help"])  # exits 0 after printing the help
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import typer

from endorse.client.cli import (
    _output,
    claims,
    endorser,
    keys,
    links,
    portable,
    server,
    sharing,
    verifying,
)
from endorse.client.cli._output import EXIT_BROKEN_PIPE, EXIT_OK, EXIT_USAGE

__all__ = ["app", "main"]

_SETTINGS: dict[str, Any] = {
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
    "no_args_is_help": True,
}

app = typer.Typer(
    name="endorse",
    help="Issue, share, verify and revoke signed, scoped, revocable references.",
    **_SETTINGS,
)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        from endorse.protocol import PROTOCOL_VERSION

        _output.echo(f"endorse {version('endorse')} (protocol v{PROTOCOL_VERSION})")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the installed version and the protocol version, and exit.",
        ),
    ] = False,
) -> None:
    """Issue, share, verify and revoke signed, scoped, revocable references."""


key_app = typer.Typer(
    help="Create, show and list endorser keys; rotate or revoke them at the registry.",
    **_SETTINGS,
)
app.add_typer(key_app, name="key")
db_app = typer.Typer(help="Registry database maintenance.", **_SETTINGS)
app.add_typer(db_app, name="db")

key_app.command("new")(keys.key_new)
key_app.command("show")(keys.key_show)
key_app.command("list")(keys.key_list)
key_app.command("rotate")(keys.key_rotate)
key_app.command("revoke")(keys.key_revoke)
app.command("register")(endorser.register_command)
app.command("confirm")(endorser.confirm_command)
app.command("issue")(endorser.issue_command)
app.command("list")(endorser.list_command)
app.command("revoke")(endorser.revoke_command)
app.command("export")(portable.export_command)
app.command("inspect")(verifying.inspect_command)
app.command("verify")(verifying.verify_command)
app.command("url")(sharing.url_command)
app.command("qr")(sharing.qr_command)
app.command("present")(sharing.present_command)
app.command("link")(links.link_command)
app.command("ask")(claims.ask_command)
app.command("ask-confirm")(claims.ask_confirm_command)
app.command("request")(claims.request_command)
app.command("requests")(claims.requests_command)
app.command("answer")(claims.answer_command)
app.command("block")(claims.block_command)
app.command("mute")(claims.mute_command)
app.command("unmute")(claims.unmute_command)
app.command("policy")(claims.policy_command)
app.command("refuse")(claims.refuse_command)
app.command("checks")(claims.checks_command)
app.command("serve")(server.serve_command)
db_app.command("upgrade")(server.db_upgrade_command)
db_app.command("backup")(server.db_backup_command)
db_app.command("restore")(server.db_restore_command)
app.command("registry-key")(server.registry_key_command)
app.command("demo")(server.demo_command)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console script entry point: ``endorse``; ``argv`` defaults to ``sys.argv[1:]``.

    Exits with the command's status. click's own usage errors (an unknown option, a missing
    one, a value out of range) exit 2 and, with ``--json`` among the arguments, print the
    error document too, like the commands' own errors. If stdout is closed early
    (``endorse verify … | head -c1``), the command still ends with its own status (see
    :func:`~endorse.client.cli._output.echo`); when the pipe breaks where that cannot be
    caught, the status is 141 (128 + SIGPIPE, what a shell reports for a command SIGPIPE
    ended).
    """
    for stream in (sys.stdout, sys.stderr):
        # Never die on a terminal that cannot show a character; escape it instead.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    args = list(sys.argv[1:] if argv is None else argv)
    code = _run(args)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _output.silence(sys.stdout)
    sys.exit(code)


def _run(args: list[str]) -> int:
    # The options before "--" only: after it, "--json" is an argument (e.g. a reason).
    as_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
    try:
        # Not standalone: typer's own errors come here, to be reported as every other error.
        code = app(args=args, prog_name="endorse", standalone_mode=False)
    except typer.TyperException as e:
        # click's errors (typer's copy of click, whose classes typer does not export): a
        # usage error shows the usage line and a hint to --help, or the help itself.
        show = getattr(e, "show", None)
        if callable(show):
            show()
        else:
            _output.echo_err(f"endorse: error: {e.format_message()}")
        kind = "usage" if e.exit_code == EXIT_USAGE else "error"
        return _click_failure(e.exit_code, kind, e.format_message(), as_json=as_json)
    except typer.Abort:
        # End of input at a prompt nobody answered.
        _output.echo_err("endorse: error: aborted: no input")
        return _click_failure(EXIT_USAGE, "usage", "aborted: no input", as_json=as_json)
    except BrokenPipeError:
        _output.silence(sys.stdout)
        return EXIT_BROKEN_PIPE
    # typer answers the status of typer.Exit, 130 for Ctrl-C, and the command's return
    # value (None) when it returned.
    return code if isinstance(code, int) else EXIT_OK


def _click_failure(code: int, kind: str, message: str, *, as_json: bool) -> int:
    if as_json:
        _output.echo(_output.json_document(_output.error_document(kind, message, code)))
    return code


if __name__ == "__main__":
    main()
