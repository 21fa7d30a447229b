"""``endorse export TOKEN --vc``: an endorsement as a W3C Verifiable Credential (spec §13)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from endorse.client.cli._input import TOKEN_OR_URL_HELP, KeyFileOption, load_signing_key, token_arg
from endorse.client.cli._output import JsonOption, echo, echo_err, json_aware, usage_error
from endorse.client.cli._registry import (
    DEFAULT_TIMEOUT,
    RegistryKeyOption,
    RegistryOption,
    TimeoutOption,
    connected,
    registry_choice,
)
from endorse.client.cli.sharing import _write_image

VcFileOption = Annotated[
    Path | None,
    typer.Option(
        "--vc",
        metavar="FILE",
        help="Also write the endorsement as a W3C VC 2.0 / Open Badges 3.0"
        " EndorsementCredential (JSON) to FILE (a new file).",
    ),
]
"""``endorse issue --vc FILE``."""


def credential_bytes(credential: dict[str, Any]) -> bytes:
    """The credential as a file holds it: indented JSON, one trailing newline (the proof covers
    its canonical form, not these bytes)."""
    return orjson.dumps(credential, option=orjson.OPT_INDENT_2) + b"\n"


def refuse_existing(path: Path | None) -> None:
    """A usage error before any work when ``path`` exists: nothing is issued that cannot be
    written."""
    if path is not None and (path.exists() or path.is_symlink()):
        usage_error(f"{path}: already exists; choose a new file for the credential")


def write_credential(path: Path, credential: dict[str, Any]) -> None:
    """Write the credential to a new file (never through a symlink)."""
    _write_image(path, credential_bytes(credential), force=False)


@json_aware
def export_command(
    token: Annotated[str, typer.Argument(help=TOKEN_OR_URL_HELP, metavar="TOKEN_OR_URL")],
    vc: Annotated[
        bool,
        typer.Option(
            "--vc",
            help="As a W3C VC 2.0 / Open Badges 3.0 EndorsementCredential with an"
            " eddsa-jcs-2022 proof by your key (the only export format).",
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write to FILE (a new file), not stdout."),
    ] = None,
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Export one of your registered endorsements, signed by your key, for wallets and
    applicant-tracking systems that speak W3C Verifiable Credentials. Withdrawing the
    endorsement (endorse revoke) withdraws the credential too."""
    if not vc:
        usage_error("name the format: endorse export TOKEN --vc")
    choice = registry_choice(registry, registry_key)
    target = token_arg(token)
    refuse_existing(out)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        credential = client.export_vc(signing_key, target)
    if out is None:
        echo(credential_bytes(credential).decode("utf-8").rstrip("\n"))
        return
    write_credential(out, credential)
    if as_json:
        echo(orjson.dumps({"file": str(out), "id": credential["id"]}).decode())
    else:
        echo_err(f"credential written to {out}")
