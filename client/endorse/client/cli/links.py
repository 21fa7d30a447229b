"""``endorse link``: a short link for a reference (spec §11.6), and its withdrawal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from endorse.client.cli._input import KEY_FILE_HELP, load_signing_key, read_token, token_arg
from endorse.client.cli._output import (
    JsonOption,
    echo,
    iso,
    json_aware,
    json_document,
    reported,
    terminal_qr,
    usage_error,
    when,
)
from endorse.client.cli._registry import (
    DEFAULT_TIMEOUT,
    RegistryKeyOption,
    RegistryOption,
    TimeoutOption,
    connected,
    registry_choice,
    registry_for,
)
from endorse.client.config import RegistryChoice
from endorse.client.share import short_link_in
from endorse.protocol.objects import Endorsement
from endorse.protocol.token import decode_unverified

_TOKEN_HELP = "The reference: its token, its link, or - to read it from stdin."  # noqa: S105


@json_aware
def link_command(
    token: Annotated[
        str | None,
        typer.Argument(help=_TOKEN_HELP, metavar="TOKEN_OR_URL", show_default=False),
    ] = None,
    revoke: Annotated[
        str | None,
        typer.Option(
            "--revoke",
            metavar="ID_OR_URL",
            help="Withdraw this short link (the link, or its id) instead of making one.",
            show_default=False,
        ),
    ] = None,
    revoke_all: Annotated[
        bool,
        typer.Option(
            "--revoke-all",
            help="Withdraw every short link of the reference TOKEN_OR_URL, whoever made it, by"
            " a request signed by your endorser key (--key).",
        ),
    ] = False,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            metavar="SECRET",
            help="With --revoke: the revocation secret printed when the link was made."
            " Without it the withdrawal is signed by your endorser key (--key).",
            show_default=False,
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            metavar="FILE",
            help="With --revoke and no --secret, or --revoke-all: the key that signed the"
            " reference."
            f" {KEY_FILE_HELP}",
            show_default=False,
        ),
    ] = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Make a short link for a reference registered at its registry (…/s#ID), and print it
    with its QR code and the secret that withdraws it; or, with --revoke, withdraw one; or,
    with --revoke-all, every one of the reference (the endorser's key).

    Anyone holding the reference may make one (the endorser or the candidate). The registry
    keeps the reference for the link and sees each time it is opened; the full verification
    link keeps working, and needs no JavaScript. Withdrawing a short link does not withdraw
    the reference (endorse revoke does)."""
    if revoke_all and (revoke is not None or secret is not None):
        usage_error("--revoke-all withdraws by your key: no --revoke or --secret with it")
    if revoke is not None:
        if token is not None:
            usage_error("--revoke ID_OR_URL withdraws a short link: give no TOKEN_OR_URL with it")
        if secret is not None and key is not None:
            usage_error("--secret or --key: the secret withdraws the link, or your key does")
        _withdraw(revoke, secret, key, registry, registry_key, timeout, as_json)
        return
    if secret is not None or (key is not None and not revoke_all):
        usage_error("--secret and --key go with --revoke (--key with --revoke-all too)")
    if token is None:
        usage_error("give the reference's TOKEN_OR_URL (or --revoke ID_OR_URL)")
    text = token_arg(token)
    with reported():
        status = decode_unverified(text, Endorsement).object.status
    if status is None:
        usage_error(
            "this reference carries no status entry (issued with --offline), so no registry"
            " holds it: share its full link (endorse url)"
        )
    doing = "making a short link" if not revoke_all else "withdrawing its short links"
    choice = registry_for(
        status.registry,
        registry,
        registry_key,
        doing=doing + " at {registry}, the registry the reference names",
    )
    if choice.url != status.registry:
        usage_error(
            f"this reference is registered at {status.registry}: its short links are made and"
            f" withdrawn there (--registry {status.registry})"
        )
    if revoke_all:
        _withdraw_all(text, key, choice, timeout, as_json)
        return
    with connected(choice, timeout) as client:
        made = client.shorten(text)
    if as_json:
        echo(
            json_document(
                {
                    "id": made.id,
                    "url": made.url,
                    "revocation_secret": made.revocation_secret,
                    "created_at": iso(made.created_at),
                }
            )
        )
        return
    echo(made.url)
    for line in terminal_qr(made.url):
        echo(line)
    echo(f"revocation secret  {made.revocation_secret}")
    echo("  keep it: it withdraws this short link (the endorser's key can too), with")
    echo(f"  endorse link --revoke {made.url} --secret SECRET")
    echo("  The full verification link keeps working.")


def _withdraw_all(
    token: str, key: Path | None, choice: RegistryChoice, timeout: float, as_json: bool
) -> None:
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        done = client.revoke_links(signing_key, token)
    if as_json:
        doc = {"token_hash": done.token_hash, "withdrawn": done.withdrawn}
        echo(json_document({**doc, "revoked_at": iso(done.revoked_at)}))
        return
    links = "short link" if done.withdrawn == 1 else "short links"
    echo(f"✓ {done.withdrawn} {links} of this reference withdrawn")
    echo("  the reference itself is not withdrawn: its full link still works (endorse revoke")
    echo("  withdraws the reference)")


def _withdraw(
    target: str,
    secret: str | None,
    key: Path | None,
    registry: str | None,
    registry_key: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    pasted = read_token(target)
    link = short_link_in(pasted)
    choice: RegistryChoice
    if link is None:
        choice = registry_choice(registry, registry_key)  # an id alone names no registry
        link_id = pasted.strip()
    else:
        withdrawing = "withdrawing the short link at {registry}, the registry it names"
        choice = registry_for(link.registry, registry, registry_key, doing=withdrawing)
        if choice.url != link.registry:
            usage_error(
                f"this short link belongs to {link.registry}: withdraw it there"
                f" (--registry {link.registry})"
            )
        link_id = link.id
    signing_key = None if secret is not None else load_signing_key(key)
    with connected(choice, timeout) as client:
        done = client.revoke_link(link_id, revocation_secret=secret, key=signing_key)
    url = f"{choice.url}/s#{done.id}"
    if as_json:
        echo(json_document({"id": done.id, "url": url, "revoked_at": iso(done.revoked_at)}))
        return
    echo(f"✓ short link withdrawn  {url}")
    echo(f"  since {when(done.revoked_at)}; the reference itself is not withdrawn: its full")
    echo("  link still works (endorse revoke withdraws the reference)")
