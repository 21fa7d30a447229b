"""``endorse url|qr|present``: the subject shares a reference."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Annotated

import typer

from endorse.client.cli._input import (
    KEY_FILE_HELP,
    TOKEN_OR_URL_HELP,
    load_signing_key,
    token_arg,
)
from endorse.client.cli._output import (
    JsonOption,
    echo,
    echo_err,
    json_aware,
    json_document,
    reported,
    terminal_qr,
    usage_error,
)
from endorse.client.cli._registry import (
    RegistryOption,
    registry_choice,
)
from endorse.client.share import (
    check_challenge,
    present,
    qr_png,
    qr_svg,
    qr_text,
    verification_url,
)
from endorse.protocol.objects import (
    Endorsement,
    check_registry,
)
from endorse.protocol.token import decode_unverified


def _link(token: str, registry: str | None) -> str:
    """The verification URL of ``token``: at the registry its status entry names (its check
    page can see a withdrawal), or for a token without one at the configured registry."""
    with reported():
        status = decode_unverified(token, Endorsement).object.status
    if status is None:
        url = registry_choice(registry, None).url
    else:
        url = status.registry
        if registry is not None:
            with reported("--registry: "):
                given = check_registry(registry, "registry")
            if given != url:
                usage_error(f"--registry: this token's status lives at {url}; its URL is there")
    with reported():
        return verification_url(url, token)


@json_aware
def url_command(
    token: Annotated[str, typer.Argument(help=TOKEN_OR_URL_HELP, metavar="TOKEN_OR_URL")],
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the verification URL of a token: a recruiter opens it to check the reference.

    The token is in the URL's fragment, which browsers never send to a server."""
    link = _link(token_arg(token), registry)
    echo(json_document({"url": link}) if as_json else link)


@json_aware
def qr_command(
    token: Annotated[str, typer.Argument(help=TOKEN_OR_URL_HELP, metavar="TOKEN_OR_URL")],
    png: Annotated[
        Path | None, typer.Option("--png", metavar="FILE", help="Write a PNG image to FILE.")
    ] = None,
    svg: Annotated[
        Path | None, typer.Option("--svg", metavar="FILE", help="Write an SVG image to FILE.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace an existing --png/--svg FILE (never through a symlink)."
        ),
    ] = False,
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a QR code of the token's verification URL in the terminal, or write it as an
    image with --png / --svg (an existing file is kept unless --force)."""
    if png is not None and svg is not None:
        usage_error("--png and --svg: choose one")
    link = _link(token_arg(token), registry)
    target, kind = (png, "png") if png is not None else (svg, "svg")
    if target is None:
        if as_json:
            text = qr_text(link)
            echo(json_document({"url": link, "format": "text", "file": None, "qr": text}))
        else:
            for line in terminal_qr(link):
                echo(line)
            echo(link)
        return
    data = qr_png(link) if kind == "png" else qr_svg(link).encode("utf-8")
    _write_image(target, data, force=force)
    if as_json:
        echo(json_document({"url": link, "format": kind, "file": str(target), "qr": None}))
    else:
        echo(link)
        echo_err(f"QR code written to {target}")


IMAGE_MODE = 0o644
"""An image of a link meant to be shared: readable by all (the umask still applies)."""


def _write_image(path: Path, data: bytes, *, force: bool) -> None:
    """Write ``data`` to ``path``: a new file, or with ``force`` an existing regular file
    replaced. A symlink is never followed (a planted link cannot redirect the write), and a
    FIFO or device is refused without blocking. Problems are usage errors (exit 2)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    if not force:
        flags |= os.O_EXCL
    try:
        fd = os.open(path, flags, IMAGE_MODE)
    except FileExistsError:
        usage_error(f"{path}: already exists; pass --force to replace it")
    except OSError as e:
        if e.errno == errno.ELOOP:
            usage_error(f"{path}: is a symlink; refusing to write through it")
        usage_error(f"{path}: cannot write: {e.strerror or type(e).__name__}")
    try:
        with os.fdopen(fd, "wb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                usage_error(f"{path}: not a regular file; refusing to write to it")
            f.truncate()
            f.write(data)
    except OSError as e:
        usage_error(f"{path}: cannot write: {e.strerror or type(e).__name__}")


@json_aware
def present_command(
    token: Annotated[str, typer.Argument(help=TOKEN_OR_URL_HELP, metavar="TOKEN_OR_URL")],
    nonce: Annotated[
        str,
        typer.Option("--nonce", metavar="NONCE", help="The verifier's nonce (16-128 base64url)."),
    ],
    audience: Annotated[
        str | None,
        typer.Option("--audience", metavar="AUDIENCE", help="The verifier's audience."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            metavar="FILE",
            help=f"Your own key, the subject key the endorsement names. {KEY_FILE_HELP}",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Prove you are the endorsement's subject: sign the verifier's nonce with the subject key
    it names. Give the printed presentation to the verifier (endorse verify --presentation)."""
    text = token_arg(token)
    with reported("--nonce: "):  # before the key's passphrase is asked for
        check_challenge(nonce)
    subject_key = load_signing_key(key)
    with reported():
        proof = present(subject_key, text, nonce, audience)
    if as_json:
        echo(json_document({"presentation": proof, "nonce": nonce, "audience": audience}))
    else:
        echo(proof)
